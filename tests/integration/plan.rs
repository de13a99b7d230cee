//! Blocking plan problems (exit 2, nothing loaded) and skipped tables.

use crate::common::{problems, row, skipped_tables, warning_pairs, TestEnv};

type Problem = (String, String, Option<String>);

fn p(kind: &str, table: &str, column: Option<&str>) -> Problem {
    (
        kind.to_string(),
        table.to_string(),
        column.map(str::to_string),
    )
}

/// Runs `plan --json`, expects exit 2 and `ok: false`, returns the problems.
fn blocked_plan(env: &TestEnv) -> (Vec<Problem>, String) {
    env.write_config("");
    let out = env.my2pg(&["plan", "--json"]);
    out.assert_exit(2);
    let report = out.json();
    out.check(
        report["command"] == "plan",
        "report.command must be \"plan\"",
    );
    out.check(
        report["ok"] == false && report["exit_code"] == 2,
        "report.ok must be false and exit_code 2",
    );
    (problems(&report), out.stderr.clone())
}

#[test]
fn plan_unmapped_source_column_blocks_with_exit_2() {
    let env = TestEnv::new("unmapped");
    env.mysql_exec("CREATE TABLE users (id int NOT NULL PRIMARY KEY, name varchar(255) NOT NULL, legacy_flag tinyint(1) NULL)");
    env.pg_exec("CREATE TABLE users (id integer PRIMARY KEY, name varchar(255) NOT NULL)");
    let (problems, stderr) = blocked_plan(&env);
    assert_eq!(
        problems,
        vec![p("unmapped_source_column", "users", Some("legacy_flag"))]
    );
    assert!(
        stderr.contains(
            "users.legacy_flag: source column has no column in target table \"users\" (to leave \
             its values behind on purpose: [columns.\"users.legacy_flag\"] convert = \"skip\")"
        ),
        "stderr names the column and the way out:\n{stderr}"
    );
}

/// A leftover source column the new schema dropped: `convert = "skip"` leaves it behind
/// on purpose (a warning in every plan), the rest of the table moves and verifies equal.
/// Skipping a column whose target is NOT NULL without a default still blocks.
#[test]
fn plan_skip_rule_leaves_a_source_column_behind() {
    let env = TestEnv::new("skipcol");
    env.mysql_exec(
        "CREATE TABLE users (id int NOT NULL PRIMARY KEY, name varchar(255) NOT NULL, \
         legacy_flag tinyint NOT NULL DEFAULT 0, old_note text NULL); \
         INSERT INTO users VALUES (1, 'a', 1, 'x'), (2, 'b', 0, NULL)",
    );
    env.pg_exec(
        "CREATE TABLE users (id integer PRIMARY KEY, name varchar(255) NOT NULL, \
         old_note text NOT NULL)",
    );
    env.write_config(
        "[columns.\"users.legacy_flag\"]\nconvert = \"skip\"\n\n\
         [columns.\"users.old_note\"]\nconvert = \"skip\"\n",
    );
    let out = env.my2pg(&["plan", "--json"]);
    out.assert_exit(2).assert_stderr_contains(
        "users.old_note: target column is NOT NULL without a default and its source column is skipped",
    );
    assert_eq!(
        problems(&out.json()),
        vec![p("unfilled_target_column", "users", Some("old_note"))]
    );

    env.pg_exec("ALTER TABLE users ALTER old_note DROP NOT NULL");
    let out = env.my2pg(&["plan", "--json"]);
    out.assert_ok();
    let warnings = warning_pairs(&out.json());
    assert_eq!(
        warnings,
        [
            (
                "skipped_column".to_string(),
                "users.legacy_flag: skipped by [columns.\"users.legacy_flag\"] convert = \"skip\": its values are not copied".to_string()
            ),
            (
                "skipped_column".to_string(),
                "users.old_note: skipped by [columns.\"users.old_note\"] convert = \"skip\": its values are not copied".to_string()
            ),
        ]
    );
    // The run and verify name what they left out: "equal" is about the copied columns.
    let out = env.my2pg(&["run", "--verify", "--json"]);
    out.assert_ok()
        .assert_stderr_contains(
            "  not copied: column users.legacy_flag (skipped by [columns.\"users.legacy_flag\"] \
             convert = \"skip\": its values are not copied)\n  not copied: column \
             users.old_note (skipped by [columns.\"users.old_note\"] convert = \"skip\": its \
             values are not copied)\n",
        )
        .assert_stderr_contains(
            "  users: equal (2 rows)\n    not copied, so not compared: legacy_flag (skipped by \
             [columns.\"users.legacy_flag\"] convert = \"skip\": its values are not copied)\n",
        );
    let report = out.json();
    assert_eq!(
        report["skipped_columns"][1],
        serde_json::json!({"table": "users", "column": "old_note",
            "reason": "skipped by [columns.\"users.old_note\"] convert = \"skip\": its values are not copied"})
    );
    assert_eq!(
        report["verify"]["tables"][0]["not_copied"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(
        env.pg_rows("SELECT id::text, name, old_note FROM users ORDER BY id"),
        vec![
            row(&[Some("1"), Some("a"), None]),
            row(&[Some("2"), Some("b"), None])
        ]
    );
}

/// Every source column lands in a generated target column: nothing to COPY. It used to
/// plan as runnable and then fail with a MySQL syntax error (`SELECT  FROM`).
#[test]
fn plan_table_with_no_copyable_column_blocks_with_exit_2() {
    let env = TestEnv::new("no_cols");
    env.mysql_exec(
        "CREATE TABLE z (x int NULL); INSERT INTO z VALUES (1), (2); \
         CREATE TABLE k (id int NOT NULL PRIMARY KEY); INSERT INTO k VALUES (7)",
    );
    env.pg_exec(
        "CREATE TABLE z (x integer GENERATED ALWAYS AS (42) STORED, \
         id integer GENERATED ALWAYS AS IDENTITY); CREATE TABLE k (id integer PRIMARY KEY)",
    );
    let (problems, stderr) = blocked_plan(&env);
    assert_eq!(problems, vec![p("no_copyable_columns", "z", None)]);
    assert!(
        stderr.contains(
            "z: no source column can be copied into target table \"z\" (each is unmatched \
             or generated there): exclude the table or give the target its columns"
        ),
        "stderr: {stderr}"
    );
    // Matched columns without a conversion are not "unmatched or generated": only their
    // own problems show, and no advice to exclude the table (its rows would stay behind).
    env.mysql_exec("CREATE TABLE ml (linkid datetime NULL, nodeid datetime NULL)");
    env.pg_exec("CREATE TABLE ml (linkid integer, nodeid integer)");
    let (problems, _) = blocked_plan(&env);
    assert_eq!(
        problems,
        vec![
            p("no_conversion", "ml", Some("linkid")),
            p("no_conversion", "ml", Some("nodeid")),
            p("no_copyable_columns", "z", None),
        ]
    );
    env.mysql_exec("DROP TABLE ml");
    env.pg_exec("DROP TABLE ml");
    env.write_config("[run]\nexclude = [\"z\"]");
    let out = env.my2pg(&["plan", "--json"]);
    out.assert_ok();
    assert_eq!(
        out.json()["warnings"],
        serde_json::json!([{"kind": "target_only_table", "table": "z", "column": null,
            "message": "target table \"z\" is not loaded: its source table \"z\" is in run.exclude; my2pg leaves it as it is"}])
    );
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(
        env.pg_value("SELECT count(*)::text FROM z"),
        Some("0".into())
    );
    assert_eq!(
        env.pg_value("SELECT string_agg(id::text, ',') FROM k"),
        Some("7".into())
    );
}

/// A table the source user has no privilege on is invisible to it: excluding it is not a
/// typo when the target has the table (the h25 trial: a blocking "names are exact and
/// case-sensitive" beside "its source table is in run.exclude").
#[test]
fn excluding_a_table_the_source_user_cannot_see_is_a_warning() {
    let env = TestEnv::new("cfg_unseen");
    env.mysql_exec("CREATE TABLE account (id int NOT NULL PRIMARY KEY)");
    env.pg_exec(
        "CREATE TABLE account (id integer PRIMARY KEY); \
         CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY)",
    );
    env.write_config("[run]\nexclude = [\"alembic_version\"]\n");
    let out = env.my2pg(&["plan", "--json"]);
    out.assert_ok();
    let warnings: Vec<(String, String)> = out.json()["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["kind"].as_str().unwrap().to_string(),
                w["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        warnings,
        vec![
            (
                "target_only_table".to_string(),
                "target table \"alembic_version\" is not loaded: its source table \
                 \"alembic_version\" is in run.exclude; my2pg leaves it as it is"
                    .to_string()
            ),
            (
                "unknown_config_table".to_string(),
                "run.exclude names \"alembic_version\", which the source user cannot see (it \
                 has no privilege on such a table, or there is none); target table \
                 \"alembic_version\" is left as it is"
                    .to_string()
            ),
        ]
    );
}

/// A typo in `run.exclude` would copy the table the operator meant to leave out; one in
/// `[tables."x"]` would silently not apply its policy.
#[test]
fn plan_config_naming_a_missing_table_blocks_with_exit_2() {
    let env = TestEnv::new("cfg_typo");
    env.mysql_exec("CREATE TABLE account (id int NOT NULL PRIMARY KEY)");
    env.pg_exec("CREATE TABLE account (id integer PRIMARY KEY)");
    env.write_config(
        "[run]\nexclude = [\"migration_typeorm\"]\n\n[tables.\"acount\"]\nexisting_rows = \"truncate\"\n",
    );
    let out = env.my2pg(&["plan", "--json"]);
    out.assert_exit(2)
        .assert_stderr_contains(
            "run.exclude names \"migration_typeorm\", which is not a source table (names are \
             exact and case-sensitive)",
        )
        .assert_stderr_contains(
            "[tables.\"acount\"] names no table of target schema \"public\" (names are exact \
             and case-sensitive)",
        );
    assert_eq!(
        problems(&out.json()),
        vec![
            p("unknown_config_table", "acount", None),
            p("unknown_config_table", "migration_typeorm", None)
        ]
    );

    // [columns] and run.exclude take source names, [tables] target names: a source name
    // there is pointed at the target name it should be.
    env.mysql_exec("CREATE TABLE `Systems` (`Name` varchar(64) NOT NULL PRIMARY KEY)");
    env.pg_exec("CREATE TABLE systems (name varchar(64) PRIMARY KEY)");
    env.write_config("[tables.\"Systems\"]\nexisting_rows = \"truncate\"\n");
    let out = env.my2pg(&["plan", "--json"]);
    out.assert_exit(2).assert_stderr_contains(
        "[tables.\"Systems\"] names no table of target schema \"public\" (names are exact \
         and case-sensitive); \"Systems\" is a source table: [tables.*] keys are target \
         names, here [tables.\"systems\"]",
    );
    assert_eq!(
        problems(&out.json()),
        vec![p("unknown_config_table", "Systems", None)]
    );
    env.write_config("[tables.\"systems\"]\nexisting_rows = \"truncate\"\n");
    env.my2pg(&["plan"]).assert_ok();
}

/// A trigger on a copied table fires for every loaded row: plan says so (a warning, the
/// plan stays runnable); disabled triggers and tables my2pg does not load are not named.
#[test]
fn plan_warns_about_user_triggers_on_copied_tables() {
    let env = TestEnv::new("triggers");
    env.mysql_exec(
        "CREATE TABLE account (id int NOT NULL PRIMARY KEY); INSERT INTO account VALUES (1)",
    );
    env.pg_exec(
        "CREATE TABLE account (id integer PRIMARY KEY); \
         CREATE TABLE audit (id integer, at timestamptz DEFAULT now()); \
         CREATE FUNCTION log_it() RETURNS trigger LANGUAGE plpgsql AS \
           $$BEGIN INSERT INTO audit (id) VALUES (NEW.id); RETURN NEW; END$$; \
         CREATE TRIGGER \"Audit \"\"it\"\"\" AFTER INSERT ON account FOR EACH ROW EXECUTE FUNCTION log_it(); \
         CREATE TRIGGER off_one AFTER INSERT ON account FOR EACH ROW EXECUTE FUNCTION log_it(); \
         ALTER TABLE account DISABLE TRIGGER off_one; \
         CREATE TRIGGER on_audit BEFORE UPDATE ON audit FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()",
    );
    env.write_config("");
    let out = env.my2pg(&["plan", "--json"]);
    out.assert_ok();
    let report = out.json();
    let triggers: Vec<String> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["kind"] == "user_trigger")
        .map(|w| w["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        triggers,
        vec![
            "target table \"account\" has trigger \"Audit \"it\"\": it fires for every row my2pg \
             loads (triggers are never disabled); make sure it is meant to"
                .to_string()
        ]
    );
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(
        env.pg_count("audit"),
        1,
        "the trigger fired once per loaded row"
    );
}

#[test]
fn plan_unfilled_target_column_blocks_with_exit_2() {
    let env = TestEnv::new("unfilled");
    env.mysql_exec("CREATE TABLE users (id int NOT NULL PRIMARY KEY, name varchar(255) NOT NULL)");
    env.pg_exec(
        "CREATE TABLE users (id integer PRIMARY KEY, name varchar(255) NOT NULL, \
         required_code text NOT NULL, defaulted text NOT NULL DEFAULT 'x', optional text, \
         seq_no bigint GENERATED BY DEFAULT AS IDENTITY, created_at timestamptz NOT NULL DEFAULT now())",
    );
    let (problems, stderr) = blocked_plan(&env);
    assert_eq!(
        problems,
        vec![p("unfilled_target_column", "users", Some("required_code"))]
    );
    assert!(
        stderr.contains("required_code"),
        "stderr names the column:\n{stderr}"
    );
}

#[test]
fn plan_type_without_conversion_blocks_with_exit_2() {
    let env = TestEnv::new("noconv");
    env.mysql_exec("CREATE TABLE events (id int NOT NULL PRIMARY KEY, created_at datetime NULL, loc datetime NULL)");
    env.pg_exec("CREATE TABLE events (id integer PRIMARY KEY, created_at integer, loc point)");
    let (problems, stderr) = blocked_plan(&env);
    assert_eq!(
        problems,
        vec![
            p("no_conversion", "events", Some("created_at")),
            p("no_conversion", "events", Some("loc"))
        ]
    );
    assert!(
        stderr.contains("created_at") && stderr.contains("loc"),
        "stderr names the columns:\n{stderr}"
    );
}

#[test]
fn plan_enum_label_missing_blocks_with_exit_2() {
    let env = TestEnv::new("enum_missing");
    env.mysql_exec("CREATE TABLE posts (id int NOT NULL PRIMARY KEY, status enum('draft','published','archived') NOT NULL)");
    env.pg_exec(
        "CREATE TYPE post_status AS ENUM ('draft', 'published'); \
         CREATE TABLE posts (id integer PRIMARY KEY, status post_status NOT NULL)",
    );
    let (problems, stderr) = blocked_plan(&env);
    assert_eq!(
        problems,
        vec![p("enum_label_missing", "posts", Some("status"))]
    );
    assert!(
        stderr.contains(
            "posts.status: enum label(s) [\"archived\"] are missing in target type post_status: \
             add them (ALTER TYPE post_status ADD VALUE 'archived'), or, where the target leaves \
             them out on purpose, change the source rows that hold them (`my2pg check` counts \
             them)"
        ),
        "stderr names the missing label and the statement that adds it:\n{stderr}"
    );
}

#[test]
fn run_and_import_refuse_blocking_plan_and_load_nothing() {
    let env = TestEnv::new("refuse");
    env.mysql_exec(
        "CREATE TABLE good (id int NOT NULL PRIMARY KEY, name varchar(20) NOT NULL); \
         CREATE TABLE bad (id int NOT NULL PRIMARY KEY, extra varchar(20) NULL); \
         INSERT INTO good VALUES (1, 'a'), (2, 'b'), (3, 'c'); \
         INSERT INTO bad VALUES (1, 'x')",
    );
    env.pg_exec(
        "CREATE TABLE good (id integer PRIMARY KEY, name varchar(20) NOT NULL); \
         CREATE TABLE bad (id integer PRIMARY KEY)",
    );
    env.write_config("[run]\nchunk_rows = 2");
    for cmd in ["run", "import"] {
        let out = env.my2pg(&[cmd, "--json"]);
        out.assert_exit(2);
        let report = out.json();
        out.check(
            report["command"] == cmd,
            &format!("report.command must be {cmd:?}"),
        );
        out.check(report["ok"] == false, "report.ok must be false");
        let msg = report["error"]["message"]
            .as_str()
            .unwrap_or_else(|| out.fail("no error.message"));
        out.check(
            !msg.is_empty() && out.stderr.contains(msg),
            "stderr must carry error.message",
        );
        out.check(
            msg.contains("extra") || out.stderr.contains("extra"),
            "the blocking column `extra` must be named",
        );
        assert_eq!(env.pg_count("good"), 0, "{cmd} loaded rows into good");
        assert_eq!(env.pg_count("bad"), 0, "{cmd} loaded rows into bad");
    }
    // Nothing was exported either.
    let csvs = walk_files(&env.workdir)
        .into_iter()
        .filter(|p| p.ends_with(".csv"))
        .count();
    assert_eq!(
        csvs,
        0,
        "chunk files written for a refused plan:\n{}",
        crate::common::list_dir(&env.workdir)
    );
}

fn walk_files(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk_files(&p));
            } else {
                out.push(p.display().to_string());
            }
        }
    }
    out
}

#[test]
fn plan_lists_source_only_and_excluded_tables_as_skipped() {
    let env = TestEnv::new("skipped");
    env.mysql_exec(
        "CREATE TABLE kept (id int NOT NULL PRIMARY KEY, name varchar(20) NOT NULL); \
         CREATE TABLE legacy_only_source (id int NOT NULL PRIMARY KEY, junk text NULL); \
         CREATE TABLE migrations_typeorm (id int NOT NULL PRIMARY KEY, name varchar(255) NOT NULL); \
         INSERT INTO kept VALUES (1, 'one'), (2, 'two'); \
         INSERT INTO legacy_only_source VALUES (1, 'junk'); \
         INSERT INTO migrations_typeorm VALUES (1, 'Init1700000000000')",
    );
    env.pg_exec(
        "CREATE TABLE kept (id integer PRIMARY KEY, name varchar(20) NOT NULL); \
         CREATE TABLE migrations_typeorm (id integer PRIMARY KEY, name varchar(255) NOT NULL, extra_required text NOT NULL); \
         CREATE TABLE target_only (id integer PRIMARY KEY, must text NOT NULL)",
    );
    env.write_config("[run]\nexclude = [\"migrations_typeorm\"]");

    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_ok();
    let report = plan.json();
    assert_eq!(report["ok"], true);
    assert_eq!(report["problems"], serde_json::json!([]));
    assert_eq!(
        skipped_tables(&report),
        vec![
            "legacy_only_source".to_string(),
            "migrations_typeorm".to_string()
        ]
    );
    // Each with the rows it leaves behind, as the source's statistics count them.
    let stats = env.mysql_rows(
        "SELECT CAST(TABLE_ROWS AS CHAR) FROM information_schema.TABLES \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'legacy_only_source'",
    );
    let est = report["skipped_tables"][0]["est_rows"]
        .as_u64()
        .map(|n| n.to_string());
    assert_eq!(vec![vec![est.clone()]], stats);
    plan.assert_stderr_contains(&format!(
        "  legacy_only_source (~{} rows): no table of that name in target schema",
        est.unwrap_or_default()
    ));
    let target_only: Vec<String> =
        serde_json::from_value(report["target_only_tables"].clone()).unwrap();
    assert!(
        target_only.contains(&"target_only".to_string()),
        "target_only_tables: {target_only:?}"
    );
    assert!(
        !target_only.contains(&"kept".to_string()),
        "target_only_tables: {target_only:?}"
    );
    assert_eq!(
        crate::common::waves(&report),
        vec![vec!["kept".to_string()]]
    );

    let run = env.my2pg(&["run", "--json"]);
    run.assert_ok();
    let report = run.json();
    assert_eq!(
        skipped_tables(&report),
        vec![
            "legacy_only_source".to_string(),
            "migrations_typeorm".to_string()
        ]
    );
    assert_eq!(
        env.pg_rows("SELECT id::text AS id_text, name FROM kept ORDER BY id"),
        vec![
            row(&[Some("1"), Some("one")]),
            row(&[Some("2"), Some("two")])
        ]
    );
    assert_eq!(env.pg_count("migrations_typeorm"), 0);
    assert_eq!(env.pg_count("target_only"), 0);

    // A policy for a table my2pg does not load does nothing: plan says so.
    env.write_config(
        "[run]\nexclude = [\"migrations_typeorm\"]\n\
         [tables.\"migrations_typeorm\"]\nexisting_rows = \"truncate\"\n",
    );
    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_ok().assert_stderr_contains(
        "[tables.\"migrations_typeorm\"] has no effect: my2pg does not load \
         \"migrations_typeorm\" (excluded, or no source table), so it never empties nor \
         compares its rows",
    );
}

/// A source user with SELECT on some tables or columns only sees the rest as absent:
/// plan says so (source_privileges), a table read through column grants only blocks
/// (column_grants_only), and every target table and column nothing fills is named
/// (target_only_table, target_only_column) instead of silently left empty.
#[test]
fn plan_names_what_a_restricted_source_user_cannot_see() {
    let env = TestEnv::new("privs");
    env.mysql_exec(
        "CREATE TABLE users (id int NOT NULL PRIMARY KEY, name varchar(20) NOT NULL, phone varchar(20) NULL); \
         INSERT INTO users VALUES (1, 'a', '555'); \
         CREATE TABLE post (id int NOT NULL PRIMARY KEY); INSERT INTO post VALUES (1)",
    );
    env.pg_exec(
        "CREATE TABLE users (id integer PRIMARY KEY, name text NOT NULL, phone text, \
         created timestamptz DEFAULT now()); CREATE TABLE post (id integer PRIMARY KEY)",
    );
    let url = crate::common::UrlParts::parse(&env.mysql_url());
    let user = format!("m2p_colgrant_{}", std::process::id());
    env.mysql_exec(&format!(
        "DROP USER IF EXISTS '{user}'@'%'; CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'; \
         GRANT SELECT (id, name) ON `{db}`.users TO '{user}'@'%'",
        db = url.path
    ));
    let restricted = crate::common::UrlParts {
        user: Some(user.clone()),
        password: Some("pw".into()),
        ..url.clone()
    };
    let cfg = env.write_raw_config(
        "restricted.toml",
        &format!(
            "[source]\nurl = \"{}\"\n[target]\nurl = \"{}\"\n[run]\nworkdir = \"{}\"\n",
            restricted.render(),
            env.pg_owner_url(),
            env.workdir.display()
        ),
    );
    let out = env.cmd(&cfg, &["plan", "--json"]).run();
    env.mysql_exec(&format!("DROP USER IF EXISTS '{user}'@'%'"));
    let db = &url.path;
    // Column grants hide the rest of the table's columns: blocking (the Kallithea trial:
    // exit 0, verify "equal", three columns loaded empty).
    out.assert_exit(2);
    assert_eq!(
        crate::common::field_pairs(&out.json(), "problems", "kind", "message"),
        [(
            "column_grants_only".to_string(),
            format!(
                "users: the source user may read only some of its columns (a column-level \
                 GRANT): a column it cannot read looks absent, so its target column would be \
                 filled with NULL or its default and verify could not tell; grant SELECT ON \
                 `{db}`.`users`, or leave the table out with run.exclude"
            )
        )]
    );
    let warnings = warning_pairs(&out.json());
    assert_eq!(
        warnings,
        [
            (
                "target_only_column".to_string(),
                "users.phone: target column has no source column: every row gets NULL".to_string()
            ),
            (
                "target_only_column".to_string(),
                "users.created: target column has no source column: every row gets its default"
                    .to_string()
            ),
            (
                "target_only_table".to_string(),
                "target table \"post\" has no source table; my2pg leaves it as it is".to_string()
            ),
            (
                "source_privileges".to_string(),
                format!(
                    "the source user has no SELECT on the whole database `{db}` (only on some \
                     tables or columns, or through a role): a table or column it cannot see looks \
                     absent, so it shows as target-only here and is not copied; grant SELECT ON \
                     `{db}`.* unless that is intended"
                )
            ),
        ]
    );
    // Through a role: the same block (the attack: only direct grants were seen). And a
    // table-level SELECT through a role beside a column grant reads every column: no block.
    let pid = std::process::id();
    let (role_cols, role_table) = (format!("m2p_rc_{pid}"), format!("m2p_rt_{pid}"));
    let plan_as = |grants: &str| {
        env.mysql_exec(&format!(
            "DROP USER IF EXISTS '{user}'@'%'; DROP ROLE IF EXISTS {role_cols}; \
             DROP ROLE IF EXISTS {role_table}; CREATE ROLE {role_cols}; CREATE ROLE {role_table}; \
             GRANT SELECT (id, name) ON `{db}`.users TO {role_cols}; \
             GRANT SELECT ON `{db}`.users TO {role_table}; \
             CREATE USER '{user}'@'%' IDENTIFIED BY 'pw'; {grants}"
        ));
        let out = env.cmd(&cfg, &["plan", "--json"]).run();
        env.mysql_exec(&format!(
            "DROP USER IF EXISTS '{user}'@'%'; DROP ROLE {role_cols}; DROP ROLE {role_table}"
        ));
        out
    };
    let out = plan_as(&format!(
        "GRANT {role_cols} TO '{user}'@'%'; SET DEFAULT ROLE {role_cols} FOR '{user}'@'%'"
    ));
    out.assert_exit(2);
    assert_eq!(
        crate::common::field_pairs(&out.json(), "problems", "kind", "table"),
        [("column_grants_only".to_string(), "users".to_string())]
    );
    let out = plan_as(&format!(
        "GRANT {role_table} TO '{user}'@'%'; SET DEFAULT ROLE {role_table} FOR '{user}'@'%'; \
         GRANT SELECT (id) ON `{db}`.users TO '{user}'@'%'"
    ));
    out.assert_ok();
}

/// MySQL 8 adds an invisible `my_row_id` primary key to tables created without one
/// (`sql_generate_invisible_primary_key`). The target schema has no such column: it is
/// not copied (a note, not a blocking unmapped column) and still orders the reads.
#[test]
fn plan_skips_mysqls_generated_invisible_primary_key() {
    let env = TestEnv::new("gipk");
    env.mysql_exec(
        "CREATE TABLE g (my_row_id bigint unsigned NOT NULL AUTO_INCREMENT INVISIBLE, \
         code int NOT NULL, name varchar(10) NULL, PRIMARY KEY (my_row_id)); \
         INSERT INTO g (code, name) VALUES (3, 'c'), (1, 'a'), (2, NULL), (1, 'a')",
    );
    env.pg_exec("CREATE TABLE g (code integer NOT NULL, name text)");
    env.write_config("[run]\nchunk_rows = 1\n");
    let out = env.my2pg(&["plan", "--json"]);
    out.assert_ok();
    assert_eq!(
        out.json()["warnings"],
        serde_json::json!([{"kind": "skipped_column", "table": "g", "column": "my_row_id",
            "message": "g.my_row_id: MySQL's generated invisible primary key with no target column: not copied (it still orders the reads)"}])
    );
    env.my2pg(&["run", "--verify", "--json"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT code::text, name FROM g ORDER BY code, name"),
        vec![
            row(&[Some("1"), Some("a")]),
            row(&[Some("1"), Some("a")]),
            row(&[Some("2"), None]),
            row(&[Some("3"), Some("c")]),
        ]
    );
}

/// A config pointing at the wrong schema or database copies nothing: that is a blocking
/// problem (exit 2, nothing touched), never a run that "succeeds" with 0 tables.
#[test]
fn a_plan_that_copies_no_table_blocks_with_exit_2() {
    let env = TestEnv::new("nothing");
    env.pg_exec("CREATE SCHEMA app; CREATE TABLE app.account (id integer PRIMARY KEY)");
    // An empty source database.
    let (problems, stderr) = blocked_plan(&env);
    assert_eq!(problems, vec![p("nothing_to_copy", "", None)]);
    assert!(
        stderr.contains(
            "the source database has no tables: nothing would be copied (is the database in \
             source.url the right one?)"
        ),
        "stderr: {stderr}"
    );

    // Source tables, but the target tables are in another schema than the config says.
    env.mysql_exec(
        "CREATE TABLE account (id int NOT NULL PRIMARY KEY); INSERT INTO account VALUES (1)",
    );
    let out = env.my2pg(&["run"]);
    out.assert_exit(2).assert_stderr_contains(
        "no source table has a table to copy into in target schema \"public\": nothing would \
         be copied (are target.schema and the database in target.url the right ones?)",
    );
    env.write_config("[run]\nexclude = [\"account\"]");
    env.my2pg(&["plan"])
        .assert_exit(2)
        .assert_stderr_contains("run.exclude names every source table: nothing would be copied");

    env.write_config_as("my2pg.toml", "app", &env.workdir, "");
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(
        env.pg_value("SELECT count(*)::text FROM app.account"),
        Some("1".into())
    );
}

/// A target user that may insert but neither owns the tables nor may create in their
/// schema cannot rebuild what `rebuild` drops: plan says so (blocking import and run,
/// not export or check) before anything is dropped; `keep` needs INSERT and the ledger.
#[test]
fn a_target_user_that_cannot_rebuild_indexes_is_refused_before_anything_is_dropped() {
    let env = TestEnv::new("plan_privs");
    let role = format!("{}_loader", env.name);
    env.mysql_exec(
        "CREATE TABLE t (id int NOT NULL PRIMARY KEY, email varchar(50) NOT NULL, \
         UNIQUE KEY t_email (email)); INSERT INTO t VALUES (1, 'a'), (2, 'b')",
    );
    env.pg_exec(
        "CREATE TABLE t (id serial PRIMARY KEY, email varchar(50) NOT NULL CONSTRAINT t_email UNIQUE); \
         CREATE INDEX t_email_lower ON t (lower(email))",
    );
    env.pg_admin_exec(&format!(
        "DROP ROLE IF EXISTS \"{role}\"; CREATE ROLE \"{role}\" LOGIN; \
         GRANT USAGE ON SCHEMA public TO \"{role}\"; GRANT INSERT, SELECT ON t TO \"{role}\""
    ));
    let owner_cfg = env.write_config("");
    let text = std::fs::read_to_string(&owner_cfg).expect("config");
    let owner_at = format!("{}@", crate::common::OWNER_ROLE);
    assert!(text.contains(&owner_at), "{text}");
    let cfg = env.write_raw_config("loader.toml", &text.replace(&owner_at, &format!("{role}@")));
    let indexes =
        || env.pg_rows("SELECT indexname::text FROM pg_indexes WHERE tablename = 't' ORDER BY 1");
    let before = indexes();
    let plan = env.cmd(&cfg, &["plan", "--json"]).run();
    plan.assert_exit(2);
    let messages: Vec<(String, String)> = plan.json()["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_string(),
                p["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        messages,
        vec![
            (
                "target_privileges".to_string(),
                format!(
                    "constraints = \"rebuild\" drops and rebuilds the indexes and FKs of \
                     \"public\".\"t\", which only its owner \"my2pg_owner\" (or a member of that \
                     role) can; target user \"{role}\" is not: connect as the owner, or use \
                     constraints = \"keep\""
                )
            ),
            (
                "target_privileges".to_string(),
                format!(
                    "target user \"{role}\" cannot read and set sequence public.t_id_seq of \
                     \"public\".\"t\" (SELECT and UPDATE on it), which the run moves past the \
                     loaded values: grant them, or connect as the owner \"my2pg_owner\""
                )
            ),
            (
                "target_privileges".to_string(),
                format!(
                    "constraints = \"rebuild\" creates the dropped indexes again in schema \
                     \"public\", which needs CREATE on it; target user \"{role}\" lacks it: \
                     GRANT CREATE ON SCHEMA \"public\" TO \"{role}\", or use constraints = \
                     \"keep\""
                )
            ),
            (
                "target_privileges".to_string(),
                format!(
                    "the ledger lives in schema my2pg, which target user \"{role}\" can neither \
                     create (CREATE on the database) nor use (USAGE and CREATE on it): grant \
                     one of them"
                )
            ),
        ]
    );
    env.cmd(&cfg, &["run"])
        .run()
        .assert_exit(2)
        .assert_stderr_contains("which only its owner \"my2pg_owner\"");
    assert_eq!(indexes(), before, "nothing was dropped");
    assert_eq!(env.pg_count("t"), 0);
    // check scans without them, and lists them among what would fail the cut-over
    // (Flowise trial: a clean check, then a refused run).
    let check = env.cmd(&cfg, &["check", "--json"]).run();
    check
        .assert_exit(1)
        .assert_stderr_contains("check: problems found that would fail the cut-over");
    let privileges: Vec<String> = check.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["class"] == "target_privileges")
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        privileges,
        messages.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>()
    );
    // keep needs INSERT, SELECT, the sequences and the ledger only: a my2pg schema it may
    // use and create in does without CREATE on the database (RT trial: CREATE SCHEMA IF
    // NOT EXISTS was refused without it).
    env.pg_admin_exec(&format!(
        "CREATE SCHEMA my2pg; GRANT USAGE, CREATE ON SCHEMA my2pg TO \"{role}\"; \
         GRANT SELECT, UPDATE ON SEQUENCE t_id_seq TO \"{role}\""
    ));
    let keep_owner = env.write_config_as(
        "keep-owner.toml",
        "public",
        &env.workdir,
        "[run]\nconstraints = \"keep\"\n",
    );
    let keep_text = std::fs::read_to_string(&keep_owner).expect("config");
    let keep = env.write_raw_config(
        "keep.toml",
        &keep_text.replace(&owner_at, &format!("{role}@")),
    );
    // Postgres skips an ANALYZE the user may not run with a mere WARNING: plan names the
    // table, and the run says it left it out.
    let plan = env.cmd(&keep, &["plan", "--json"]).run();
    plan.assert_ok();
    let analyze: Vec<serde_json::Value> = plan.json()["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["kind"] == "analyze_not_allowed")
        .map(|w| w["message"].clone())
        .collect();
    assert_eq!(
        analyze,
        vec![serde_json::json!(format!(
            "target user \"{role}\" may not ANALYZE \"public\".\"t\" (it is not their owner, \
             nor holds MAINTAIN on them): the run leaves their statistics to autovacuum; run \
             ANALYZE on them as their owner before the application's first queries"
        ))]
    );
    env.cmd(&keep, &["run"])
        .run()
        .assert_ok()
        .assert_stderr_contains(
            "ANALYZE skipped for 1 table(s) the target user may not analyze (it is not their \
         owner, nor holds MAINTAIN on them): \"public\".\"t\"; run ANALYZE on them as their \
         owner before the application's first queries",
        );
    assert_eq!(
        env.pg_rows("SELECT id::text, email FROM t ORDER BY id"),
        vec![row(&[Some("1"), Some("a")]), row(&[Some("2"), Some("b")])]
    );
    assert_eq!(indexes(), before);
    env.pg_admin_exec(&format!(
        "DROP OWNED BY \"{role}\"; DROP SCHEMA my2pg CASCADE; DROP ROLE \"{role}\""
    ));
}

/// Only an index build needs CREATE on the schema: a table owner without it rebuilds a
/// schema of primary keys and FKs, and is refused (before anything is dropped) once a
/// table has another index.
#[test]
fn a_rebuild_needs_create_on_the_schema_only_for_indexes() {
    let env = TestEnv::new("plan_create");
    let role = format!("{}_owner", env.name);
    env.mysql_exec(
        "CREATE TABLE p (id int NOT NULL PRIMARY KEY, email varchar(50) NOT NULL); \
         CREATE TABLE c (id int NOT NULL PRIMARY KEY, p_id int NOT NULL, \
           FOREIGN KEY (p_id) REFERENCES p (id)); \
         INSERT INTO p VALUES (1, 'a'), (2, 'b'); INSERT INTO c VALUES (10, 2)",
    );
    env.pg_exec(
        "CREATE TABLE p (id integer PRIMARY KEY, email varchar(50) NOT NULL); \
         CREATE TABLE c (id integer PRIMARY KEY, p_id integer NOT NULL \
           CONSTRAINT c_p_fk REFERENCES p (id))",
    );
    env.pg_admin_exec(&format!(
        "DROP ROLE IF EXISTS \"{role}\"; CREATE ROLE \"{role}\" LOGIN; \
         GRANT USAGE ON SCHEMA public TO \"{role}\"; \
         ALTER TABLE p OWNER TO \"{role}\"; ALTER TABLE c OWNER TO \"{role}\"; \
         CREATE SCHEMA my2pg; GRANT USAGE, CREATE ON SCHEMA my2pg TO \"{role}\"; \
         GRANT SELECT ON p, c TO {}",
        crate::common::OWNER_ROLE
    ));
    let text = std::fs::read_to_string(env.write_config("")).expect("config");
    let owner_at = format!("{}@", crate::common::OWNER_ROLE);
    assert!(text.contains(&owner_at), "{text}");
    let cfg = env.write_raw_config(
        "table-owner.toml",
        &text.replace(&owner_at, &format!("{role}@")),
    );
    let plan = env.cmd(&cfg, &["plan", "--json"]).run();
    plan.assert_ok();
    env.cmd(&cfg, &["run"]).run().assert_ok();
    assert_eq!(
        env.pg_rows("SELECT c.id::text, p.email FROM c JOIN p ON p.id = c.p_id ORDER BY c.id"),
        vec![row(&[Some("10"), Some("b")])]
    );
    assert_eq!(
        env.pg_value("SELECT convalidated::text FROM pg_constraint WHERE conname = 'c_p_fk'"),
        Some("true".into())
    );

    env.pg_admin_exec("CREATE INDEX p_email ON p (email)");
    let plan = env.cmd(&cfg, &["plan", "--json"]).run();
    plan.assert_exit(2);
    assert_eq!(
        crate::common::problem_messages(&plan.json()),
        vec![format!(
            "constraints = \"rebuild\" creates the dropped indexes again in schema \
             \"public\", which needs CREATE on it; target user \"{role}\" lacks it: GRANT \
             CREATE ON SCHEMA \"public\" TO \"{role}\", or use constraints = \"keep\""
        )]
    );
    env.pg_admin_exec(&format!(
        "DROP TABLE c, p; DROP OWNED BY \"{role}\"; DROP SCHEMA my2pg CASCADE; \
         DROP ROLE \"{role}\""
    ));
}

/// Rows an earlier run loaded, seen by a user that may not read the ledger: plan cannot
/// tell them from anyone's and says so, instead of calling them rows my2pg did not load
/// (PowerDNS trial: that sends the operator to truncate).
#[test]
fn rows_seen_without_the_ledger_are_not_called_foreign() {
    let env = TestEnv::new("plan_noledger");
    let role = format!("{}_reader", env.name);
    env.mysql_exec(
        "CREATE TABLE t (id int NOT NULL PRIMARY KEY, v varchar(5)); INSERT INTO t VALUES (1, 'a')",
    );
    env.pg_exec("CREATE TABLE t (id integer PRIMARY KEY, v varchar(5))");
    let text =
        std::fs::read_to_string(env.write_config("[run]\nconstraints = \"keep\"")).expect("config");
    env.my2pg(&["run"]).assert_ok();
    env.pg_admin_exec(&format!(
        "DROP ROLE IF EXISTS \"{role}\"; CREATE ROLE \"{role}\" LOGIN; \
         GRANT USAGE ON SCHEMA public TO \"{role}\"; GRANT SELECT, INSERT ON t TO \"{role}\""
    ));
    let owner_at = format!("{}@", crate::common::OWNER_ROLE);
    let cfg = env.write_raw_config("reader.toml", &text.replace(&owner_at, &format!("{role}@")));
    let plan = env.cmd(&cfg, &["plan", "--json"]).run();
    plan.assert_exit(2);
    let not_empty: Vec<serde_json::Value> = plan.json()["problems"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["kind"] == "target_not_empty")
        .map(|p| p["message"].clone())
        .collect();
    assert_eq!(
        not_empty,
        vec![serde_json::json!(
            "target table \"public\".\"t\" already holds rows, and whether an earlier my2pg \
             run loaded them cannot be told: the target user may not read the ledger (schema \
             my2pg); connect as the user that ran the load, or grant USAGE on schema my2pg and \
             SELECT on its tables"
        )]
    );
    // check says the same (Vendure trial: "64 row(s) my2pg did not load").
    let check = env.cmd(&cfg, &["check", "--json"]).run();
    check.assert_exit(1);
    let findings: Vec<serde_json::Value> = check.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["class"] == "target_not_empty")
        .map(|f| f["message"].clone())
        .collect();
    assert_eq!(
        findings,
        vec![serde_json::json!(
            "target table \"public\".\"t\" already holds 1 row(s), and whether an earlier \
             my2pg run loaded them cannot be told: the target user may not read the ledger \
             (schema my2pg); import and run refuse to start: connect as the user that ran the \
             load, or grant USAGE on schema my2pg and SELECT on its tables"
        )]
    );
    // The user that ran the load sees a finished load, not a conflict.
    env.my2pg(&["plan"]).assert_ok();
    // verify, as that reader, of a keep-identical table with a row only in the target:
    // without the ledger it cannot tell when the row came, and counts it kept as before
    // rather than failing (the review: a permission error stopped verify).
    env.pg_exec("INSERT INTO t VALUES (7, 'extra')");
    let keep = env.write_raw_config(
        "reader-keep.toml",
        &format!(
            "{}\n[tables.\"t\"]\nexisting_rows = \"keep-identical\"\n",
            text.replace(&owner_at, &format!("{role}@"))
        ),
    );
    let out = env.cmd(&keep, &["verify", "--json"]).run();
    out.assert_ok();
    assert_eq!(out.json()["tables"][0]["kept"], 1);
    env.pg_admin_exec(&format!("DROP OWNED BY \"{role}\"; DROP ROLE \"{role}\""));
}

/// The same problem on many tables is one line of the human plan, which says so; each
/// other problem keeps its own text (FreeRADIUS trial: a sequence problem printed with
/// another problem's text; django-oscar: 187 lines for two messages).
#[test]
fn the_human_plan_groups_what_it_says_of_many_tables() {
    let env = TestEnv::new("plan_grouped");
    let role = format!("{}_nobody", env.name);
    env.mysql_exec(
        "CREATE TABLE a (id int NOT NULL PRIMARY KEY); CREATE TABLE `b, c` (id int NOT NULL PRIMARY KEY)",
    );
    env.pg_exec(
        "CREATE TABLE a (id serial PRIMARY KEY); CREATE TABLE \"b, c\" (id integer PRIMARY KEY)",
    );
    env.pg_admin_exec(&format!(
        "DROP ROLE IF EXISTS \"{role}\"; CREATE ROLE \"{role}\" LOGIN; \
         GRANT USAGE ON SCHEMA public TO \"{role}\""
    ));
    let text =
        std::fs::read_to_string(env.write_config("[run]\nconstraints = \"keep\"")).expect("config");
    let owner_at = format!("{}@", crate::common::OWNER_ROLE);
    let cfg = env.write_raw_config("nobody.toml", &text.replace(&owner_at, &format!("{role}@")));
    let out = env.cmd(&cfg, &["plan"]).run();
    out.assert_exit(2)
        .assert_stderr_contains(
            "Blocking problems (4, one line for those that say the same of many tables):\n",
        )
        .assert_stderr_contains(&format!(
            "  - [target_privileges] 2 tables (a, \"b, c\"), each: target user \"{role}\" \
             lacks INSERT (COPY) and SELECT (to see what it holds) on the table: grant it, or \
             connect as the table's owner \"my2pg_owner\"\n"
        ))
        .assert_stderr_contains(&format!(
            "  - [target_privileges] target user \"{role}\" cannot read and set sequence \
             public.a_id_seq of \"public\".\"a\" (SELECT and UPDATE on it)"
        ));
    // The error of a run refused by its plan groups them the same way (the h24 trial: 71
    // lines), still counting each problem.
    env.cmd(&cfg, &["run"])
        .run()
        .assert_exit(2)
        .assert_stderr_contains(&format!(
            "error: the plan has 4 blocking problem(s):\n  - 2 tables (a, \"b, c\"), each: \
             target user \"{role}\" lacks INSERT (COPY) and SELECT (to see what it holds) on \
             the table: grant it, or connect as the table's owner \"my2pg_owner\"\n"
        ));
    env.pg_admin_exec(&format!("DROP OWNED BY \"{role}\"; DROP ROLE \"{role}\""));
}

/// A ledger schema another role made, which the target user may not use, blocks import
/// and run with the reason; check scans anyway and lists it among what would fail the
/// cut-over (exit 1, not the plan's refusal; export and verify do not need it).
#[test]
fn a_ledger_schema_the_user_cannot_use_blocks_only_the_load() {
    let env = TestEnv::new("plan_foreign_ledger");
    env.mysql_exec("CREATE TABLE t (id int NOT NULL PRIMARY KEY); INSERT INTO t VALUES (1)");
    env.pg_exec("CREATE TABLE t (id integer PRIMARY KEY)");
    env.pg_admin_exec("CREATE SCHEMA my2pg; CREATE TABLE my2pg.loaded_chunks (x int)");
    env.write_config("");
    env.my2pg(&["check"])
        .assert_exit(1)
        .assert_stderr_contains(&format!(
            "  target_privileges: the ledger lives in schema my2pg, which target user \"{}\" can \
         neither create",
            crate::common::OWNER_ROLE
        ));
    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_exit(2);
    assert_eq!(
        plan.json()["problems"][0]["message"],
        format!(
            "the ledger lives in schema my2pg, which target user \"{}\" can neither create \
             (CREATE on the database) nor use (USAGE and CREATE on it): grant one of them",
            crate::common::OWNER_ROLE
        )
    );
    env.my2pg(&["run"]).assert_exit(2);
    assert_eq!(env.pg_count("t"), 0);
}

/// MediaWiki's `searchindex` is MyISAM: the consistent snapshot does not cover a table
/// whose engine keeps no row versions, so `plan` says so for each such copied table (a
/// warning; the run goes on).
#[test]
fn tables_outside_the_snapshot_are_named_by_plan() {
    let env = TestEnv::new("plan_engines");
    env.mysql_exec(
        "CREATE TABLE inno (id int NOT NULL PRIMARY KEY) ENGINE=InnoDB; \
         CREATE TABLE mi (id int NOT NULL PRIMARY KEY) ENGINE=MyISAM; \
         CREATE TABLE ar (id int NOT NULL PRIMARY KEY) ENGINE=Aria; \
         CREATE TABLE mem (id int NOT NULL PRIMARY KEY) ENGINE=MEMORY; \
         INSERT INTO inno VALUES (1); INSERT INTO mi VALUES (2); INSERT INTO ar VALUES (3); \
         INSERT INTO mem VALUES (4)",
    );
    env.pg_exec(
        "CREATE TABLE inno (id integer PRIMARY KEY); CREATE TABLE mi (id integer PRIMARY KEY); \
         CREATE TABLE ar (id integer PRIMARY KEY); CREATE TABLE mem (id integer PRIMARY KEY)",
    );
    env.write_config("");
    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_ok();
    let mut outside: Vec<(String, String)> = plan.json()["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter(|w| w["kind"] == "outside_snapshot")
        .map(|w| {
            (
                w["table"].as_str().unwrap_or_default().to_string(),
                w["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    outside.sort();
    let msg = |t: &str, engine: &str| {
        (
            t.to_string(),
            format!(
                "{t}: its engine ({engine}) keeps no row versions, so the consistent snapshot \
                 does not cover it: rows written while it is exported may be read by one chunk \
                 and not the next, or not match the other tables. Stop every writer for the \
                 export, as a cut-over does anyway"
            ),
        )
    };
    assert_eq!(
        outside,
        vec![msg("ar", "Aria"), msg("mem", "MEMORY"), msg("mi", "MyISAM")]
    );
    // source_consistency = "none": the operator has said the writers are stopped.
    env.write_config("[run]\nsource_consistency = \"none\"");
    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_ok();
    assert_eq!(
        plan.json()["warnings"]
            .as_array()
            .expect("warnings")
            .iter()
            .filter(|w| w["kind"] == "outside_snapshot")
            .count(),
        0
    );
    env.write_config("");
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT (SELECT id FROM inno)::text, (SELECT id FROM mi)::text, (SELECT id FROM ar)::text, (SELECT id FROM mem)::text"),
        vec![row(&[Some("1"), Some("2"), Some("3"), Some("4")])]
    );
}

/// A read-only target (default_transaction_read_only for a freeze, or a standby) blocks
/// import and run with that reason, not with a missing privilege at the ledger's CREATE
/// (the pretalx trial: exit 1, "the target user needs CREATE on the database"). Export,
/// which does not write to the target, goes on.
#[test]
fn a_read_only_target_is_named_as_such() {
    let env = TestEnv::new("read_only_target");
    env.mysql_exec("CREATE TABLE t (id int NOT NULL PRIMARY KEY); INSERT INTO t VALUES (1)");
    env.pg_exec(
        "CREATE TABLE t (id integer PRIMARY KEY); \
         DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET default_transaction_read_only = on', \
           current_database()); END $$",
    );
    let (problems, _) = blocked_plan(&env);
    assert_eq!(problems, vec![p("target_privileges", "", None)]);
    let out = env.my2pg(&["plan", "--json"]);
    let message = out.json()["problems"][0]["message"]
        .as_str()
        .unwrap()
        .to_string();
    let user = crate::common::UrlParts::parse(&env.pg_owner_url())
        .user
        .unwrap_or_default();
    let db = env.pg_value("SELECT current_database()").unwrap();
    let advice = format!(
        "ALTER ROLE \"{user}\" IN DATABASE \"{db}\" SET default_transaction_read_only = off"
    );
    assert_eq!(
        message,
        format!(
            "the target database is read-only for target user \"{user}\" \
             (default_transaction_read_only is on for the database, the role or the server): \
             import and run write to it; turn it off for the load: {advice} (it outranks the \
             other settings and changes only this user in this database; in a read-only \
             session itself, between BEGIN READ WRITE and COMMIT; RESET it afterwards), or \
             connect as a user it is off for"
        )
    );
    env.my2pg(&["run"]).assert_exit(2);
    env.my2pg(&["export"]).assert_ok();
    // Also on for the user in this database (the h22 attack: the advice then named a
    // setting this one outranks). The advice, as given, lets the run go on.
    env.pg_exec(&format!(
        "BEGIN READ WRITE; ALTER ROLE \"{user}\" IN DATABASE \"{db}\" SET \
         default_transaction_read_only = on; COMMIT"
    ));
    env.my2pg(&["run"]).assert_exit(2);
    env.pg_exec(&format!("BEGIN READ WRITE; {advice}; COMMIT"));
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(env.pg_count("t"), 1);
}
