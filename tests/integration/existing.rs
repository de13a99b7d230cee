//! Rows already in the target (issue 5): `non_empty_tables` in the plan, the
//! `existing_rows` policies (error / truncate / keep-identical, per table and global),
//! resumed runs not mistaken for seeded tables, TRUNCATE never cascading, and `--fresh`.

use std::path::PathBuf;

use crate::common::{problems, row, TestEnv, TestOutput};

/// accounts <- items (FK); tags on its own. Source rows: accounts 1..=9, items 1..=12, tags 1..=5.
const SOURCE: &str = "
CREATE TABLE accounts (id int NOT NULL PRIMARY KEY, name varchar(50) NOT NULL, note text NULL);
CREATE TABLE items (id int NOT NULL PRIMARY KEY, account_id int NOT NULL, qty int NOT NULL,
  CONSTRAINT fk_items_account FOREIGN KEY (account_id) REFERENCES accounts (id));
CREATE TABLE tags (id int NOT NULL PRIMARY KEY, label varchar(20) NOT NULL);
";

const TARGET: &str = "
CREATE TABLE accounts (id integer PRIMARY KEY, name varchar(50) NOT NULL, note text);
CREATE TABLE items (id integer PRIMARY KEY, account_id integer NOT NULL REFERENCES accounts (id), qty integer NOT NULL);
CREATE TABLE tags (id integer PRIMARY KEY, label varchar(20) NOT NULL);
";

fn setup(hint: &str) -> TestEnv {
    let env = TestEnv::new(hint);
    env.mysql_exec(SOURCE);
    let accounts: Vec<String> = (1..=9)
        .map(|i| {
            let note = if i % 3 == 0 {
                "NULL".to_string()
            } else {
                format!("'note {i}'")
            };
            format!("({i}, 'account {i}', {note})")
        })
        .collect();
    let items: Vec<String> = (1..=12)
        .map(|i| format!("({i}, {}, {})", i % 9 + 1, i * 10))
        .collect();
    let tags: Vec<String> = (1..=5).map(|i| format!("({i}, 'tag {i}')")).collect();
    env.mysql_exec(&format!(
        "INSERT INTO accounts VALUES {}; INSERT INTO items VALUES {}; INSERT INTO tags VALUES {}",
        accounts.join(","),
        items.join(","),
        tags.join(",")
    ));
    env.pg_exec(TARGET);
    env
}

/// Config: small chunks, one reader (no global read lock), one loader (chunks load in
/// order), plus `extra` (TOML appended after `[workers]`).
fn config(env: &TestEnv, run_extra: &str, extra: &str) -> PathBuf {
    env.write_config(&format!(
        "[run]\nchunk_rows = 3\n{run_extra}\n\n[workers]\nreaders = 1\nloaders = 1\n\n{extra}"
    ))
}

type Rows = Vec<Vec<Option<String>>>;

fn target(env: &TestEnv, table: &str) -> Rows {
    match table {
        "accounts" => env
            .pg_rows("SELECT id::text AS i, name, note FROM accounts ORDER BY accounts.id, name"),
        "items" => env.pg_rows(
            "SELECT id::text AS i, account_id::text AS a, qty::text AS q FROM items ORDER BY items.id",
        ),
        "tags" => env.pg_rows("SELECT id::text AS i, label FROM tags ORDER BY tags.id, label"),
        _ => unreachable!(),
    }
}

fn source(env: &TestEnv, table: &str) -> Rows {
    match table {
        "accounts" => env.mysql_rows("SELECT id, name, note FROM accounts ORDER BY id"),
        "items" => env.mysql_rows("SELECT id, account_id, qty FROM items ORDER BY id"),
        "tags" => env.mysql_rows("SELECT id, label FROM tags ORDER BY id"),
        _ => unreachable!(),
    }
}

#[track_caller]
fn assert_exact(env: &TestEnv, out: &TestOutput) {
    for t in ["accounts", "items", "tags"] {
        let (s, g) = (source(env, t), target(env, t));
        if s != g {
            out.fail(&format!(
                "table {t}: target differs from the source\n  source: {s:?}\n  target: {g:?}"
            ));
        }
    }
}

/// Rows in the ledger (0 when it does not exist yet).
fn ledger_rows(env: &TestEnv) -> i64 {
    let exists = env.pg_value("SELECT (to_regclass('my2pg.loaded_chunks') IS NOT NULL)::text");
    if exists.as_deref() != Some("true") {
        return 0;
    }
    env.pg_value("SELECT count(*)::text FROM my2pg.loaded_chunks")
        .unwrap()
        .parse()
        .unwrap()
}

fn run(env: &TestEnv, cfg: &std::path::Path, args: &[&str]) -> TestOutput {
    env.cmd(cfg, args).run()
}

#[test]
fn seeded_table_blocks_import_and_run_by_default() {
    let env = setup("ex_error");
    env.pg_exec("INSERT INTO tags VALUES (1, 'seeded'), (99, 'app default')");
    let cfg = config(&env, "", "");

    let plan = run(&env, &cfg, &["plan", "--json"]);
    plan.assert_exit(2);
    let report = plan.json();
    plan.check(
        report["non_empty_tables"]
            == serde_json::json!([{"table": "tags", "existing_rows": "error", "chunks_in_ledger": 0}]),
        "plan.non_empty_tables must list tags with policy error and no ledger chunks",
    );
    plan.check(
        problems(&report) == [("target_not_empty".to_string(), "tags".to_string(), None)],
        "plan must have exactly one blocking problem: target_not_empty on tags",
    );

    // check writes nothing: it still scans, and reports the seeded table as what would
    // stop the cut-over.
    let msg = "target table \"public\".\"tags\" already holds 2 row(s) my2pg did not load: \
               import and run refuse to start; set existing_rows = \"truncate\" or \
               \"keep-identical\" for it, empty it, or leave it out with run.exclude (a table \
               the target's own migrations filled, such as their bookkeeping table, keeps its \
               rows)";
    let check = run(&env, &cfg, &["check", "--json"]);
    check.assert_exit(1);
    let report = check.json();
    assert_eq!(report["rows_scanned"], 9 + 12 + 5);
    assert_eq!(
        report["findings"],
        serde_json::json!([{"table": "tags", "column": null, "class": "target_not_empty",
            "count": 2, "sample_keys": [], "handled_by_policy": false, "message": msg}])
    );
    run(&env, &cfg, &["check"])
        .assert_exit(1)
        .assert_stderr_contains(&format!("  tags target_not_empty: {msg}\n"));

    for cmd in ["run", "import"] {
        if cmd == "import" {
            // export is allowed (it writes no target rows); import is not.
            run(&env, &cfg, &["export"]).assert_ok();
        }
        let out = run(&env, &cfg, &[cmd, "--json"]);
        out.assert_exit(2)
            .assert_stderr_contains("\"public\".\"tags\" already holds rows");
        out.check(
            out.json()["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("tags")),
            "the JSON error must name the table",
        );
        out.check(
            env.pg_count("accounts") == 0 && env.pg_count("items") == 0,
            &format!("{cmd}: no other table may get rows"),
        );
        out.check(env.pg_count("tags") == 2, "the seeded rows stay");
        out.check(ledger_rows(&env) == 0, "nothing may be in the ledger");
    }

    // A per-table policy beats the global one.
    let cfg = config(
        &env,
        "existing_rows = \"truncate\"",
        "[tables.\"tags\"]\nexisting_rows = \"error\"\n",
    );
    let out = run(&env, &cfg, &["run"]);
    out.assert_exit(2).assert_stderr_contains("tags");
    assert_eq!(env.pg_count("tags"), 2);
    assert_eq!(env.pg_count("accounts"), 0);
}

#[test]
fn truncate_policy_replaces_seeded_rows_with_the_source() {
    let env = setup("ex_trunc");
    env.pg_exec(
        "INSERT INTO tags VALUES (1, 'seeded'), (99, 'app default');
         INSERT INTO accounts VALUES (1, 'seeded', NULL), (42, 'x', 'y');
         INSERT INTO items VALUES (7, 42, 1);",
    );
    // Per table for tags; accounts and items through the global setting.
    let cfg = config(
        &env,
        "existing_rows = \"truncate\"",
        "[tables.\"tags\"]\nexisting_rows = \"truncate\"\n",
    );
    let plan = run(&env, &cfg, &["plan", "--json"]);
    plan.assert_ok();
    let mut listed: Vec<(String, String, i64)> = plan.json()["non_empty_tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["table"].as_str().unwrap().to_string(),
                n["existing_rows"].as_str().unwrap().to_string(),
                n["chunks_in_ledger"].as_i64().unwrap(),
            )
        })
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            ("accounts".to_string(), "truncate".to_string(), 0),
            ("items".to_string(), "truncate".to_string(), 0),
            ("tags".to_string(), "truncate".to_string(), 0),
        ]
    );
    let out = run(&env, &cfg, &["run"]);
    out.assert_ok();
    assert_exact(&env, &out);
}

/// The `truncate` policy empties seeded tables but keeps the exported files: only
/// `--fresh` re-exports (the files were being deleted and exported again).
#[test]
fn truncate_policy_keeps_the_exported_files() {
    use std::os::unix::fs::MetadataExt;
    let env = setup("ex_trunc_files");
    env.pg_exec("INSERT INTO tags VALUES (1, 'seeded')");
    let cfg = config(
        &env,
        "",
        "[tables.\"tags\"]\nexisting_rows = \"truncate\"\n",
    );
    run(&env, &cfg, &["export"]).assert_ok();
    let files = [
        env.workdir.join("accounts").join("000001.csv"),
        env.workdir.join("tags").join("000001.csv"),
    ];
    let inodes = || -> Vec<u64> {
        files
            .iter()
            .map(|f| std::fs::metadata(f).unwrap().ino())
            .collect()
    };
    let before = inodes();
    let out = run(&env, &cfg, &["run"]);
    out.assert_ok();
    assert_eq!(inodes(), before, "the exported files were replaced");
    assert_exact(&env, &out);
}

#[test]
fn truncating_a_parent_needs_its_non_empty_copied_children_too() {
    let env = setup("ex_trunc_child");
    env.pg_exec(
        "INSERT INTO accounts VALUES (1, 'account 1', 'note 1'), (2, 'account 2', 'note 2'), (42, 'x', 'y');
         INSERT INTO items VALUES (1, 2, 10);",
    );
    // accounts would be truncated, but items (copied, holds rows) keeps its rows.
    let cfg = config(
        &env,
        "",
        "[tables.\"accounts\"]\nexisting_rows = \"truncate\"\n\n[tables.\"items\"]\nexisting_rows = \"keep-identical\"\n",
    );
    // plan says so first (blocking), then check.
    let out = run(&env, &cfg, &["plan", "--json"]);
    out.assert_exit(2);
    assert_eq!(
        problems(&out.json()),
        vec![("truncate_blocked".to_string(), "items".to_string(), None)]
    );
    out.assert_stderr_contains("cannot truncate accounts: copied table items references it");
    let out = run(&env, &cfg, &["check", "--json"]);
    out.assert_exit(1);
    let report = out.json();
    let blocked: Vec<(&str, &str)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["class"] == "truncate_blocked")
        .map(|f| (f["table"].as_str().unwrap(), f["message"].as_str().unwrap()))
        .collect();
    assert_eq!(
        blocked,
        vec![(
            "items",
            "cannot truncate accounts: copied table items references it and holds rows my2pg \
             did not load, so import and run would stop before loading; set existing_rows = \
             \"truncate\" for items too"
        )]
    );
    // run stops on the same blocking problem, before it exports anything.
    let out = run(&env, &cfg, &["run"]);
    out.assert_exit(2).assert_stderr_contains(
        "error: the plan has 1 blocking problem(s):\n  - cannot truncate accounts: copied \
         table items references it and holds rows my2pg did not load, so import and run \
         would stop before loading; set existing_rows = \"truncate\" for items too",
    );
    assert_eq!(env.pg_count("accounts"), 3, "nothing truncated");
    assert_eq!(env.pg_count("items"), 1);
    assert_eq!(env.pg_count("tags"), 0);
}

/// TRUNCATE is a privilege of its own: a user that may insert into a seeded table but
/// not truncate it is stopped by plan, check and run, before the run would fail at the
/// TRUNCATE (Superset trial: "The plan is runnable", then permission denied).
#[test]
fn truncate_policy_needs_the_truncate_privilege() {
    let env = setup("ex_trunc_priv");
    env.pg_admin_exec(
        "ALTER TABLE tags OWNER TO postgres; \
         GRANT SELECT, INSERT, UPDATE ON tags TO my2pg_owner; \
         INSERT INTO tags VALUES (42, 'seeded')",
    );
    let cfg = config(
        &env,
        "constraints = \"keep\"",
        "[tables.\"tags\"]\nexisting_rows = \"truncate\"\n",
    );
    let message = "existing_rows = \"truncate\" needs TRUNCATE on \"public\".\"tags\", which \
                   target user \"my2pg_owner\" lacks, so import and run would stop before \
                   loading: GRANT TRUNCATE ON \"public\".\"tags\" TO \"my2pg_owner\", or connect \
                   as its owner \"postgres\"";
    let out = run(&env, &cfg, &["plan", "--json"]);
    out.assert_exit(2).assert_stderr_contains(message);
    assert_eq!(
        problems(&out.json()),
        vec![("truncate_blocked".to_string(), "tags".to_string(), None)]
    );
    let out = run(&env, &cfg, &["check", "--json"]);
    out.assert_exit(1);
    let blocked: Vec<(String, String)> = out.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["class"] == "truncate_blocked")
        .map(|f| (f["table"].to_string(), f["message"].to_string()))
        .collect();
    assert_eq!(
        blocked,
        vec![(
            "\"tags\"".to_string(),
            serde_json::json!(message).to_string()
        )]
    );
    // run stops on it as on any blocking problem, before anything moves (django-oscar
    // trial: it reached the TRUNCATE and failed there with exit 1).
    run(&env, &cfg, &["run"])
        .assert_exit(2)
        .assert_stderr_contains(message);
    assert!(
        !env.workdir.join("tags").exists(),
        "a refused run exports nothing"
    );
    assert_eq!(
        target(&env, "tags"),
        vec![row(&[Some("42"), Some("seeded")])]
    );
    env.pg_admin_exec("GRANT TRUNCATE ON tags TO my2pg_owner");
    run(&env, &cfg, &["plan"]).assert_ok();
    // An empty table my2pg does not load that references tags is emptied along with it:
    // it takes SELECT (to see it is empty) and TRUNCATE on it too (the attack: plan said
    // runnable, or died counting its rows without SELECT; the run failed).
    env.pg_admin_exec(
        "CREATE TABLE kid (id integer PRIMARY KEY, tag_id integer REFERENCES tags (id)); \
         GRANT SELECT ON kid TO my2pg_owner",
    );
    let kid = |lacks: &str| {
        format!(
            "existing_rows = \"truncate\" empties \"public\".\"kid\", which my2pg does not \
             load, along with \"public\".\"tags\" (it references it: foreign key \
             kid_tag_id_fkey), which takes SELECT (to see that it is empty) and TRUNCATE on it; \
             target user \"my2pg_owner\" lacks {lacks}, so import and run would stop before \
             loading: grant it, or connect as its owner \"postgres\""
        )
    };
    run(&env, &cfg, &["plan"])
        .assert_exit(2)
        .assert_stderr_contains(&kid("TRUNCATE"));
    env.pg_admin_exec("REVOKE SELECT ON kid FROM my2pg_owner");
    run(&env, &cfg, &["plan"])
        .assert_exit(2)
        .assert_stderr_contains(&kid("SELECT and TRUNCATE"));
    env.pg_admin_exec("GRANT SELECT, TRUNCATE ON kid TO my2pg_owner");
    run(&env, &cfg, &["plan"]).assert_ok();
    run(&env, &cfg, &["run"]).assert_ok();
    assert_eq!(target(&env, "tags"), source(&env, "tags"));
}

/// `run --fresh` empties every copied table: a target user without TRUNCATE on one is
/// refused before the work directory's files go, not at the TRUNCATE with exit 1 (the
/// attack: the files were gone, and a plain run then sent the operator back to --fresh).
#[test]
fn run_fresh_needs_the_truncate_privilege_before_its_files_go() {
    let env = setup("ex_fresh_priv");
    let cfg = config(&env, "constraints = \"keep\"", "");
    run(&env, &cfg, &["run"]).assert_ok();
    let chunk = env.workdir.join("tags").join("000001.csv");
    assert!(chunk.exists());
    env.pg_admin_exec(
        "ALTER TABLE tags OWNER TO postgres; \
         GRANT SELECT, INSERT, UPDATE, DELETE ON tags TO my2pg_owner",
    );
    let out = run(&env, &cfg, &["run", "--fresh", "--yes"]);
    out.assert_exit(2).assert_stderr_contains(
        "error: refused: emptying the target tables takes privileges target user \
         \"my2pg_owner\" lacks: TRUNCATE on \"public\".\"tags\"; grant them, or connect as \
         the tables' owner; nothing was changed in the target (the work directory's files are \
         kept)",
    );
    assert!(chunk.exists(), "the files stay");
    assert_eq!(target(&env, "tags"), source(&env, "tags"));
    env.pg_admin_exec("GRANT TRUNCATE ON tags TO my2pg_owner");
    run(&env, &cfg, &["run", "--fresh", "--yes"]).assert_ok();
    assert_eq!(target(&env, "tags"), source(&env, "tags"));
    // A TRUNCATE refused by something else (a trigger) after --fresh removed its files:
    // the error says to run --fresh again (the attack: Postgres's error alone).
    env.pg_admin_exec(
        "CREATE FUNCTION no_truncate() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN RAISE EXCEPTION 'no truncate here'; END $$; \
         CREATE TRIGGER no_truncate BEFORE TRUNCATE ON tags \
           FOR EACH STATEMENT EXECUTE FUNCTION no_truncate()",
    );
    run(&env, &cfg, &["run", "--fresh", "--yes"])
        .assert_exit(1)
        .assert_stderr_contains("no truncate here")
        .assert_stderr_contains(
            "nothing was truncated, and --fresh had already removed the work directory's old \
             files: once the cause is fixed, run with --fresh again",
        );
    env.pg_admin_exec("DROP TRIGGER no_truncate ON tags; DROP FUNCTION no_truncate()");
    run(&env, &cfg, &["run", "--fresh", "--yes"]).assert_ok();
    // A row written after that finished run (the application's, after the cut-over): the
    // truncate policy consents to losing seeded rows, --yes skips the question, and
    // neither says the load went live, so --fresh refuses (Weblate and Kiwi trials: the
    // application's rows went without a word).
    env.pg_exec("INSERT INTO tags VALUES (99, 'app row')");
    let cfg = config(
        &env,
        "constraints = \"keep\"",
        "[tables.\"tags\"]\nexisting_rows = \"truncate\"\n",
    );
    let finished = env.pg_value("SELECT finished_at::text FROM my2pg.last_run");
    let at = env
        .pg_value(
            "SELECT to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') \
             FROM my2pg.last_run",
        )
        .unwrap();
    run(&env, &cfg, &["run", "--fresh", "--yes"])
        .assert_exit(2)
        .assert_stderr_contains(&format!(
            "error: refused: existing_rows = \"truncate\" would delete rows written since \
             my2pg's run into this target finished at {at}, by the application after the \
             cut-over or by anyone but my2pg: \"public\".\"tags\" (1 row(s)); if this target \
             is already in use, stop here: --fresh would replace it with the source as it is \
             now (`my2pg verify --level full` compares the two). If those rows may go (a \
             rehearsal's test writes), run the same command with --discard-rows-since-load; \
             nothing was changed in the target\n"
        ));
    assert_eq!(env.pg_count("tags"), 6, "the application's row stays");
    assert!(chunk_exists_after(&env), "the files stay");
    assert_eq!(
        env.pg_value("SELECT finished_at::text FROM my2pg.last_run"),
        finished,
        "the finished run stays recorded"
    );
    // Asked for: the list says how many of the rows go and why.
    run(
        &env,
        &cfg,
        &["run", "--fresh", "--yes", "--discard-rows-since-load"],
    )
    .assert_ok()
    .assert_stderr_contains(
        "\n  \"public\".\"tags\" (with 1 row(s) my2pg did not load, 1 of them written since \
         its run finished at ",
    );
    assert_eq!(target(&env, "tags"), source(&env, "tags"));
}

fn chunk_exists_after(env: &TestEnv) -> bool {
    env.workdir.join("tags").join("000001.csv").exists()
}

/// A plain run truncates the seeded tables it has not loaded yet: rows in them older than
/// the finished run are seeds (a table left out until now), newer ones were written after
/// the cut-over and go only when asked.
#[test]
fn a_plain_run_truncates_rows_written_since_a_finished_run_only_when_asked() {
    let env = setup("ex_since");
    env.mysql_exec(
        "CREATE TABLE notes (id int NOT NULL PRIMARY KEY, body text NOT NULL); \
         CREATE TABLE extra (id int NOT NULL PRIMARY KEY, v varchar(10) NOT NULL); \
         INSERT INTO extra VALUES (1, 'one'), (2, 'two')",
    );
    env.pg_exec(
        "CREATE TABLE notes (id integer PRIMARY KEY, body text NOT NULL); \
         CREATE TABLE extra (id integer PRIMARY KEY, v varchar(10) NOT NULL); \
         INSERT INTO extra VALUES (100, 'seed')",
    );
    let left_out = config(
        &env,
        "existing_rows = \"truncate\"\nexclude = [\"extra\"]",
        "",
    );
    run(&env, &left_out, &["run"]).assert_ok();
    // After the cut-over: the application writes into the table whose source was empty
    // and into a loaded one.
    env.pg_exec("INSERT INTO notes VALUES (1, 'app note'); INSERT INTO tags VALUES (99, 'app')");
    let all = config(&env, "existing_rows = \"truncate\"", "");
    run(&env, &all, &["run"])
        .assert_exit(2)
        .assert_stderr_contains(
            "by the application after the cut-over or by anyone but my2pg: \
             \"public\".\"notes\" (1 row(s)); leave those tables out with run.exclude or set \
             existing_rows = \"error\" for them to keep the rows, or run the same command with \
             --discard-rows-since-load if they may go; nothing was changed in the target\n",
        );
    assert_eq!(
        env.pg_rows("SELECT id::text, v FROM extra ORDER BY id"),
        vec![row(&[Some("100"), Some("seed")])],
        "nothing truncated"
    );
    assert_eq!(env.pg_count("notes"), 1);
    let out = run(&env, &all, &["run", "--discard-rows-since-load"]);
    out.assert_ok();
    // The seed predates the finished run: truncated without asking, like any seed.
    assert_eq!(
        env.pg_rows("SELECT id::text, v FROM extra ORDER BY id"),
        vec![
            row(&[Some("1"), Some("one")]),
            row(&[Some("2"), Some("two")])
        ]
    );
    assert_eq!(env.pg_count("notes"), 0);
    // A loaded table is resumed, never truncated by a plain run.
    assert_eq!(env.pg_count("tags"), 6);
    assert_exact_but_tags(&env, &out);
}

fn assert_exact_but_tags(env: &TestEnv, out: &TestOutput) {
    for t in ["accounts", "items"] {
        out.check(
            source(env, t) == target(env, t),
            &format!("table {t} differs"),
        );
    }
}

#[test]
fn truncate_never_cascades_to_a_table_my2pg_does_not_load() {
    let env = setup("ex_cascade");
    // audit exists only in the target and references a copied table.
    env.pg_exec(
        "CREATE TABLE audit (id integer PRIMARY KEY, account_id integer REFERENCES accounts (id));
         INSERT INTO accounts VALUES (42, 'seeded', NULL);
         INSERT INTO audit VALUES (1, 42);",
    );
    let cfg = config(
        &env,
        "",
        "[tables.\"accounts\"]\nexisting_rows = \"truncate\"\n",
    );
    // check sees it first.
    let out = run(&env, &cfg, &["check", "--json"]);
    out.assert_exit(1);
    let report = out.json();
    let blocked: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["class"] == "truncate_blocked")
        .collect();
    assert_eq!(blocked.len(), 1, "{blocked:?}");
    assert_eq!(blocked[0]["table"], "\"public\".\"audit\"");
    assert_eq!(
        blocked[0]["message"],
        "existing_rows = \"truncate\" needs TRUNCATE \"public\".\"accounts\", \
         \"public\".\"items\", which Postgres runs only together with every table referencing \
         them: table \"public\".\"audit\", \
         which my2pg does not load, references \"public\".\"accounts\" (foreign key \
         audit_account_id_fkey) and holds 1 row(s), so import and run would stop before \
         loading; empty \"public\".\"audit\" yourself if its rows can go, or drop that \
         foreign key for the cut-over"
    );
    // run stops on the same blocking problem, before it exports anything.
    let out = run(&env, &cfg, &["run"]);
    out.assert_exit(2).assert_stderr_contains(
        "error: the plan has 1 blocking problem(s):\n  - existing_rows = \"truncate\" needs \
         TRUNCATE \"public\".\"accounts\", \"public\".\"items\", which Postgres runs only \
         together with every table referencing them: table \"public\".\"audit\", which my2pg \
         does not load, references \"public\".\"accounts\" (foreign key \
         audit_account_id_fkey) and holds 1 row(s), so import and run would stop before \
         loading; empty \"public\".\"audit\" yourself if its rows can go, or drop that \
         foreign key for the cut-over\n",
    );
    assert_eq!(
        env.pg_rows("SELECT id::text AS i, account_id::text AS a FROM audit"),
        vec![vec![Some("1".to_string()), Some("42".to_string())]],
        "audit keeps its rows"
    );
    assert_eq!(env.pg_count("accounts"), 1, "accounts keeps its seeded row");
    assert_eq!(env.pg_count("items") + env.pg_count("tags"), 0);
    assert_eq!(ledger_rows(&env), 0);

    // Empty, audit (and audit_note, which references it) go into the same TRUNCATE,
    // which loses nothing: Postgres refuses a TRUNCATE of accounts without them.
    env.pg_exec(
        "DELETE FROM audit; \
         CREATE TABLE audit_note (id integer PRIMARY KEY, audit_id integer REFERENCES audit (id))",
    );
    run(&env, &cfg, &["check"]).assert_ok();
    run(&env, &cfg, &["run"]).assert_ok();
    assert_eq!(
        env.pg_count("accounts"),
        9,
        "the seeded row gave way to the source's"
    );
    assert_eq!(env.pg_count("audit") + env.pg_count("audit_note"), 0);
    assert_eq!(
        env.pg_rows(
            "SELECT conname::text FROM pg_constraint WHERE contype = 'f' \
             AND conrelid IN ('audit'::regclass, 'audit_note'::regclass) ORDER BY 1"
        ),
        vec![
            vec![Some("audit_account_id_fkey".to_string())],
            vec![Some("audit_note_audit_id_fkey".to_string())]
        ],
        "their foreign keys stay"
    );
}

/// TRUNCATE names each table ONLY (a table that inherits from a copied one is another
/// table, with rows my2pg never loaded), and takes along the empty tables that reference
/// the truncated ones from another schema or through a chain; a chain that holds rows
/// stops `--fresh` before its files are discarded.
#[test]
fn truncate_spares_inheriting_tables_and_follows_chains_across_schemas() {
    let env = setup("ex_inherit");
    env.pg_exec(
        "INSERT INTO accounts VALUES (42, 'seeded', NULL); \
         CREATE TABLE accounts_old (extra integer) INHERITS (accounts); \
         INSERT INTO accounts_old VALUES (100, 'archived', NULL, 7); \
         CREATE SCHEMA \"s 2\"; \
         CREATE TABLE \"s 2\".x (id integer PRIMARY KEY, account_id integer REFERENCES accounts (id)); \
         CREATE TABLE \"s 2\".y (id integer PRIMARY KEY, x_id integer REFERENCES \"s 2\".x (id))",
    );
    let cfg = config(
        &env,
        "",
        "[tables.\"accounts\"]\nexisting_rows = \"truncate\"\n",
    );
    run(&env, &cfg, &["check"]).assert_ok();
    run(&env, &cfg, &["run"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT count(*)::text FROM ONLY accounts"),
        vec![vec![Some("9".to_string())]],
        "the seeded row gave way to the source's"
    );
    assert_eq!(
        env.pg_rows("SELECT id::text, name FROM accounts_old"),
        vec![vec![Some("100".to_string()), Some("archived".to_string())]],
        "the inheriting table keeps its row"
    );
    // Now the chain holds rows: --fresh refuses before it discards anything.
    env.pg_exec("INSERT INTO \"s 2\".x VALUES (1, 4); INSERT INTO \"s 2\".y VALUES (1, 1)");
    let chunk = env.workdir.join("accounts").join("000001.csv");
    assert!(chunk.is_file());
    let out = run(&env, &cfg, &["run", "--fresh", "--yes"]);
    out.assert_exit(2).assert_stderr_contains(
        "table \"s 2\".\"x\", which my2pg does not load, references it (foreign key \
         x_account_id_fkey) and holds rows",
    );
    assert!(chunk.is_file(), "the chunk files are kept");
    assert_eq!(
        env.pg_rows("SELECT count(*)::text FROM ONLY accounts"),
        vec![vec![Some("9".to_string())]]
    );
    // Emptied, both go into the TRUNCATE; the inheriting table still keeps its row.
    env.pg_exec("DELETE FROM \"s 2\".y; DELETE FROM \"s 2\".x");
    run(&env, &cfg, &["run", "--fresh", "--yes"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT count(*)::text FROM accounts_old"),
        vec![vec![Some("1".to_string())]]
    );
}

#[test]
fn fresh_never_cascades_to_a_table_my2pg_does_not_load() {
    let env = setup("ex_fresh_cascade");
    env.pg_exec(
        "CREATE TABLE audit (id integer PRIMARY KEY, account_id integer REFERENCES accounts (id))",
    );
    let cfg = config(&env, "", "");
    run(&env, &cfg, &["run"]).assert_ok();
    // The application writes a row that references a loaded account.
    env.pg_exec("INSERT INTO audit VALUES (1, 4)");
    let chunks = ledger_rows(&env);
    let out = run(&env, &cfg, &["import", "--fresh", "--yes"]);
    out.assert_exit(2).assert_stderr_contains(
        "cannot truncate \"public\".\"accounts\": table \"public\".\"audit\", which my2pg \
         does not load, references it (foreign key audit_account_id_fkey) and holds rows",
    );
    assert_eq!(env.pg_count("audit"), 1, "audit keeps its row");
    assert_exact(&env, &out);
    assert_eq!(ledger_rows(&env), chunks, "the ledger is untouched");
}

/// `run --fresh` discards the old chunk files before it truncates: a run killed between
/// the two must never leave empty tables, an empty ledger and stale files that a plain
/// `run` would load. Shown here with a TRUNCATE that fails (a trigger refuses it): the
/// files are already gone, the target and ledger are untouched. A plain `run` would
/// export again and drop every index of the finished target (and fail on any row the
/// source changed since): it stops; `--fresh` once the TRUNCATE can run reloads.
#[test]
fn run_fresh_discards_old_files_before_it_truncates() {
    let env = setup("ex_fresh_order");
    let cfg = config(&env, "", "");
    run(&env, &cfg, &["run"]).assert_ok();
    env.pg_exec(
        "CREATE FUNCTION no_truncate() RETURNS trigger LANGUAGE plpgsql AS \
           $$BEGIN RAISE EXCEPTION 'accounts may not be truncated'; END$$; \
         CREATE TRIGGER no_truncate BEFORE TRUNCATE ON accounts \
           FOR EACH STATEMENT EXECUTE FUNCTION no_truncate()",
    );
    let chunks = ledger_rows(&env);
    let accounts_dir = env.workdir.join("accounts");
    assert!(accounts_dir.join("000001.csv").is_file());

    let out = run(&env, &cfg, &["run", "--fresh", "--yes"]);
    out.assert_exit(1)
        .assert_stderr_contains("accounts may not be truncated");
    assert!(
        !accounts_dir.exists(),
        "the old chunk files must be gone before the TRUNCATE is tried"
    );
    assert_exact(&env, &out);
    assert_eq!(ledger_rows(&env), chunks, "the ledger is untouched");

    let again = run(&env, &cfg, &["run", "--json"]);
    again.assert_exit(2).assert_stderr_contains(
        "loaded accounts, items, tags, whose files are gone from work directory",
    );
    assert_exact(&env, &again);
    assert_eq!(ledger_rows(&env), chunks, "the ledger is untouched");
    env.pg_exec("DROP TRIGGER no_truncate ON accounts");
    let fresh = run(&env, &cfg, &["run", "--fresh", "--yes"]);
    fresh.assert_ok();
    assert!(accounts_dir.join("000001.csv").is_file(), "re-exported");
    assert_exact(&env, &fresh);
}

#[test]
fn keep_identical_keeps_equal_rows_and_names_a_differing_key() {
    let env = setup("ex_keep");
    // Identical to source rows 2 and 6 (6 has a NULL note).
    env.pg_exec(
        "INSERT INTO accounts VALUES (2, 'account 2', 'note 2'), (6, 'account 6', NULL);
         INSERT INTO tags VALUES (3, 'tag 3');",
    );
    let cfg = config(&env, "existing_rows = \"keep-identical\"", "");
    let out = run(&env, &cfg, &["run", "--json"]);
    out.assert_ok();
    assert_exact(&env, &out);
    let loaded: i64 = out.json()["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "accounts")
        .unwrap()["loaded_rows"]
        .as_i64()
        .unwrap();
    out.check(
        loaded == 7,
        "keep-identical must load only the 7 absent accounts rows",
    );

    // One seeded row differs: the run fails naming its key.
    let env = setup("ex_keep_diff");
    env.pg_exec(
        "INSERT INTO accounts VALUES (2, 'account 2', 'note 2'), (7, 'account 7', 'changed')",
    );
    // keep: FK waves, so the child table's wave provably never starts.
    let cfg = config(
        &env,
        "constraints = \"keep\"",
        "[tables.\"accounts\"]\nexisting_rows = \"keep-identical\"\n",
    );
    // check does not compare them, and says so (the h24 trial: "clean").
    run(&env, &cfg, &["check"])
        .assert_ok()
        .assert_stderr_contains(
            "  not tested: the rows target table \"public\".\"accounts\" already holds: \
         existing_rows = \"keep-identical\" stops the load at the first one that differs from \
         the source row with its key\ncheck: clean, nothing it tested would fail the cut-over\n",
        );
    let out = run(&env, &cfg, &["run"]);
    out.assert_exit(1)
        .assert_stderr_contains("keep-identical")
        .assert_stderr_contains("(id)=(7)");
    assert_eq!(
        env.pg_value("SELECT note FROM accounts WHERE id = 7")
            .as_deref(),
        Some("changed"),
        "the differing row is never overwritten"
    );
    assert_eq!(env.pg_count("items"), 0, "the next wave never starts");
    // Running it again meets the same row: status leads with the way out (the h24 trial:
    // "run again").
    let st = run(&env, &cfg, &["status", "--json"]);
    st.assert_ok();
    let hint = st.json()["last_run"]["hint"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    st.check(
        hint.contains(
            "the last `my2pg run` stopped on rows the target refused or my2pg could not convert \
             (they violate a constraint, hold a value a column cannot take, or differ from a row \
             existing_rows = \"keep-identical\" keeps; its error named them). Fix those rows in \
             the source and run `my2pg run --fresh --yes`",
        ),
        &format!("status hint: {hint}"),
    );
}

#[test]
fn a_resumed_run_is_not_mistaken_for_a_seeded_table() {
    let env = setup("ex_resumed");
    // The first run stops at accounts chunk 2 (ids 4..6) on a target constraint.
    env.pg_exec("ALTER TABLE accounts ADD CONSTRAINT no_five CHECK (id <> 5)");
    let cfg = config(&env, "", "");
    let out = run(&env, &cfg, &["run"]);
    out.assert_exit(1).assert_stderr_contains("no_five");
    assert_eq!(env.pg_count("accounts"), 3, "chunk 1 committed");
    env.pg_exec("ALTER TABLE accounts DROP CONSTRAINT no_five");

    let plan = run(&env, &cfg, &["plan", "--json"]);
    plan.assert_ok();
    let report = plan.json();
    let listed = report["non_empty_tables"].as_array().unwrap();
    plan.check(
        listed.iter().any(|n| {
            n == &serde_json::json!({"table": "accounts", "existing_rows": "error", "chunks_in_ledger": 1})
        }) && listed.iter().all(|n| n["chunks_in_ledger"].as_i64() > Some(0)),
        "accounts holds my2pg's own rows: listed with 1 ledger chunk, not a problem",
    );
    plan.check(problems(&report).is_empty(), "no blocking problem");
    let out = run(&env, &cfg, &["run", "--json"]);
    out.assert_ok();
    assert_exact(&env, &out);
    assert_eq!(ledger_rows(&env), 3 + 4 + 2);
}

/// keep-identical on a table whose load stopped half-way: after the operator fixes the
/// differing row, running again must finish the merge (the seeded rows of the chunks
/// not yet loaded still have to be compared, not COPYed over).
#[test]
fn keep_identical_resumes_after_the_differing_row_is_fixed() {
    let env = setup("ex_keep_resume");
    env.pg_exec(
        "INSERT INTO accounts VALUES (2, 'account 2', 'note 2'), (5, 'account 5', 'stale')",
    );
    let cfg = config(
        &env,
        "",
        "[tables.\"accounts\"]\nexisting_rows = \"keep-identical\"\n",
    );
    let out = run(&env, &cfg, &["run"]);
    out.assert_exit(1).assert_stderr_contains("(id)=(5)");
    // The operator makes row 5 identical to the source and runs again.
    env.pg_exec("UPDATE accounts SET note = 'note 5' WHERE id = 5");
    let out = run(&env, &cfg, &["run"]);
    out.assert_ok();
    assert_exact(&env, &out);
}

#[test]
fn fresh_asks_first_and_then_reloads_everything() {
    let env = setup("ex_fresh");
    let cfg = config(&env, "", "");
    run(&env, &cfg, &["run"]).assert_ok();
    let chunks = ledger_rows(&env);
    assert_eq!(chunks, 4 + 3 + 2);
    // Someone deletes a row after the load (a row written or edited by anyone else stops
    // --fresh: `fresh_refuses_to_delete_rows_my2pg_did_not_load`).
    env.pg_exec("DELETE FROM items WHERE id = 12");

    // No terminal and no --yes: refused, nothing truncated.
    let out = run(&env, &cfg, &["import", "--fresh"]);
    out.assert_exit(2)
        .assert_stderr_contains("--yes")
        .assert_stderr_contains("\"public\".\"accounts\"");
    assert_eq!(env.pg_count("items"), 11, "nothing truncated");
    assert_eq!(env.pg_count("accounts"), 9);
    assert_eq!(ledger_rows(&env), chunks);

    // --yes: lists what it truncates, then reloads exactly.
    let out = run(&env, &cfg, &["import", "--fresh", "--yes", "--json"]);
    out.assert_ok();
    let listed: Vec<&str> = out
        .stderr
        .lines()
        .skip_while(|l| !l.contains("--fresh will TRUNCATE"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(str::trim)
        .collect();
    let mut sorted = listed.clone();
    sorted.sort();
    out.check(
        sorted
            == [
                "\"public\".\"accounts\"",
                "\"public\".\"items\"",
                "\"public\".\"tags\"",
            ],
        &format!("stderr must list the 3 truncated tables, got {listed:?}"),
    );
    assert_exact(&env, &out);
    out.check(
        out.json()["totals"]["loaded_rows"] == 9 + 12 + 5,
        "every row loaded again",
    );
    assert_eq!(ledger_rows(&env), chunks);

    // The source changes; run --fresh --yes exports again and reloads.
    env.mysql_exec(
        "INSERT INTO accounts VALUES (10, 'account 10', NULL); \
         UPDATE tags SET label = 'renamed' WHERE id = 2; DELETE FROM items WHERE id = 1",
    );
    let out = run(&env, &cfg, &["run", "--fresh", "--yes"]);
    out.assert_ok()
        .assert_stderr_contains("--fresh will TRUNCATE");
    assert_exact(&env, &out);
    assert_eq!(ledger_rows(&env), 4 + 4 + 2);
}

/// The way out of a seeded parent that stopped a run: its policy becomes `truncate`. Its
/// children already hold rows an earlier run loaded; they are truncated with it (their
/// ledger rows too) and load again from the same files, instead of a dead end asking for
/// a policy they already have.
#[test]
fn truncating_a_parent_takes_children_an_earlier_run_loaded_along() {
    let env = setup("ex_trunc_loaded");
    // The seeded parent: every account the items need, one of them different.
    env.pg_exec(
        "INSERT INTO accounts SELECT i, 'account ' || i, 'seeded' FROM generate_series(1, 9) i",
    );
    let first = config(&env, "exclude = [\"accounts\"]", "");
    run(&env, &first, &["run"]).assert_ok();
    assert_eq!(env.pg_count("items"), 12);
    let cfg = config(
        &env,
        "",
        "[tables.\"accounts\"]\nexisting_rows = \"truncate\"\n",
    );
    // A row written into items since (not in the ledger) is never truncated along.
    env.pg_exec("INSERT INTO items VALUES (100, 1, 5)");
    let out = run(&env, &cfg, &["run"]);
    out.assert_exit(2).assert_stderr_contains(
        "cannot truncate accounts: copied table items references it and holds rows my2pg did \
         not load",
    );
    assert_eq!(env.pg_count("items"), 13, "nothing truncated");
    assert_eq!(env.pg_count("accounts"), 9);
    env.pg_exec("DELETE FROM items WHERE id = 100");
    let out = run(&env, &cfg, &["run", "--json"]);
    out.assert_ok().assert_stderr_contains(
        "items references accounts, which is truncated: its rows loaded by an earlier run are truncated too and load again",
    );
    let loaded: Vec<(String, u64)> = out.json()["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["table"].as_str().unwrap().to_string(),
                t["loaded_rows"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        loaded,
        [
            ("accounts".to_string(), 9),
            ("items".to_string(), 12),
            ("tags".to_string(), 0)
        ]
    );
    assert_exact(&env, &out);
}

/// A migrations bookkeeping table has no primary key, only a unique index over a NOT NULL
/// column (Kratos's `schema_migration`): that index is its row key, so keep-identical
/// works on it, and a row the migrations seeded differently is named by that key. A
/// unique index over a nullable column is no key: the policy is refused there.
#[test]
fn keep_identical_uses_a_unique_not_null_key_when_there_is_no_primary_key() {
    let env = TestEnv::new("ex_keep_unique");
    env.mysql_exec(
        "CREATE TABLE schema_migration (version varchar(48) NOT NULL, version_self int NOT NULL DEFAULT 0, \
           UNIQUE KEY schema_migration_version_idx (version)); \
         INSERT INTO schema_migration VALUES ('20150100000001000000', 0), ('20191100000001000000', 0), \
           ('20240101000000000000', 1); \
         CREATE TABLE loose (code varchar(10) NULL, n int NOT NULL, UNIQUE KEY (code)); \
         INSERT INTO loose VALUES ('a', 1)",
    );
    env.pg_exec(
        "CREATE TABLE schema_migration (version varchar(48) NOT NULL, version_self int NOT NULL DEFAULT 0, \
           n_unused int NULL); \
         CREATE UNIQUE INDEX schema_migration_version_idx ON schema_migration (version); \
         INSERT INTO schema_migration VALUES ('20150100000001000000', 0), ('20240101000000000000', 0); \
         CREATE TABLE loose (code varchar(10) NULL UNIQUE, n int NOT NULL); \
         INSERT INTO loose VALUES ('a', 1)",
    );
    let cfg = env.write_config(
        "[run]\nexisting_rows = \"keep-identical\"\n\n[workers]\nreaders = 1\nloaders = 1\n",
    );
    let out = run(&env, &cfg, &["plan", "--json"]);
    out.assert_exit(2);
    assert_eq!(
        out.json()["problems"],
        serde_json::json!([{"kind": "invalid_rule", "table": "loose", "column": null,
            "message": "existing_rows = \"keep-identical\" needs a key of copied columns on target table \"public\".\"loose\": a primary key or a unique index over NOT NULL columns"}])
    );
    env.pg_exec("DROP TABLE loose");
    env.mysql_exec("DROP TABLE loose");
    // The seeded 2024 row differs from the source's (version_self 0 against 1).
    let out = run(&env, &cfg, &["run"]);
    out.assert_exit(1).assert_stderr_contains(
        "existing_rows = \"keep-identical\": the target row with key \
         (version)=(20240101000000000000) differs from the source row in column(s) version_self \
         (to replace the target's rows with the source's: [tables.\"schema_migration\"] \
         existing_rows = \"truncate\")",
    );
    // Again, from that run's files: the message says so, since a value fixed in the source
    // since would still fail from them (Kamailio trial: no hint, and the advice alone
    // would have loaded the stale value).
    run(&env, &cfg, &["run"])
        .assert_exit(1)
        .assert_stderr_contains(
            "was exported by an earlier run: after fixing the source, export again",
        );
    env.pg_exec(
        "UPDATE schema_migration SET version_self = 1 WHERE version = '20240101000000000000'",
    );
    run(&env, &cfg, &["run"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT version, version_self::text FROM schema_migration ORDER BY version"),
        env.mysql_rows("SELECT version, version_self FROM schema_migration ORDER BY version")
    );
}

/// A key the load leaves to a default (a serial the source does not have) cannot tell
/// which seeded row a source row is: keep-identical is refused rather than inserting a
/// second copy; a unique key over copied NOT NULL columns is used instead when there is one.
#[test]
fn keep_identical_never_keys_by_a_column_the_load_does_not_fill() {
    let env = TestEnv::new("ex_keep_serial");
    env.mysql_exec(
        "CREATE TABLE w (id int NOT NULL, v int NULL); INSERT INTO w VALUES (1, 1), (2, 2)",
    );
    env.pg_exec(
        "CREATE TABLE w (code serial NOT NULL, id integer NOT NULL, v integer); \
         CREATE UNIQUE INDEX a_code ON w (code); \
         INSERT INTO w (id, v) VALUES (1, 1)",
    );
    let cfg = env.write_config(
        "[run]\nexisting_rows = \"keep-identical\"\n\n[workers]\nreaders = 1\nloaders = 1\n",
    );
    let out = run(&env, &cfg, &["run", "--json"]);
    out.assert_exit(2).assert_stderr_contains(
        "existing_rows = \"keep-identical\" needs a key of copied columns on target table \"public\".\"w\"",
    );
    assert_eq!(env.pg_count("w"), 1);
    env.pg_exec("CREATE UNIQUE INDEX zz_id ON w (id)");
    run(&env, &cfg, &["run"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT id::text, v::text FROM w ORDER BY id"),
        vec![
            vec![Some("1".to_string()), Some("1".to_string())],
            vec![Some("2".to_string()), Some("2".to_string())]
        ]
    );
}

/// `--fresh` deletes only what my2pg loaded unless the config consents: a row written
/// after the load (found by its transaction, not by totals) stops it with nothing
/// changed; `existing_rows = "truncate"` for that table is the consent.
#[test]
fn fresh_refuses_to_delete_rows_my2pg_did_not_load() {
    let env = setup("ex_fresh_foreign");
    let cfg = config(&env, "", "");
    run(&env, &cfg, &["run"]).assert_ok();
    // As many rows deleted as written: the totals match the ledger, the rows do not.
    env.pg_exec("DELETE FROM tags WHERE id = 5; INSERT INTO tags VALUES (99, 'written later')");
    let at = env
        .pg_value(
            "SELECT to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"') \
             FROM my2pg.last_run",
        )
        .unwrap();
    let out = run(&env, &cfg, &["run", "--fresh", "--yes"]);
    // Both consents it takes, in one message (not in rounds).
    out.assert_exit(2).assert_stderr_contains(&format!(
        "--fresh would delete rows my2pg did not load (written since the load, seeded, or kept \
         by existing_rows = \"keep-identical\") in \"public\".\"tags\" (1 row(s)): set \
         existing_rows = \"truncate\" for those tables to consent, or remove the rows yourself; \
         of those, the rows written since my2pg's run into this target finished at {at} (1 in \
         \"public\".\"tags\") also need --discard-rows-since-load; nothing was changed in the \
         target"
    ));
    assert_eq!(
        env.pg_value("SELECT label FROM tags WHERE id = 99")
            .as_deref(),
        Some("written later")
    );
    assert_eq!(env.pg_count("accounts"), 9);
    let cfg = config(
        &env,
        "",
        "[tables.\"tags\"]\nexisting_rows = \"truncate\"\n",
    );
    // Written since a finished run: the policy consents to losing seeded rows, and the
    // flag to losing these (`run_fresh_needs_the_truncate_privilege_before_its_files_go`).
    run(&env, &cfg, &["run", "--fresh", "--yes"])
        .assert_exit(2)
        .assert_stderr_contains("\"public\".\"tags\" (1 row(s)); if this target is");
    let out = run(
        &env,
        &cfg,
        &["run", "--fresh", "--yes", "--discard-rows-since-load"],
    );
    out.assert_ok();
    assert_exact(&env, &out);
}

/// Files exported under another chunk size: one message names every table and the
/// earlier chunk_rows, also when a table is smaller than one chunk; when something else
/// changed too, it does not claim the chunk size would resume them.
#[test]
fn a_chunk_size_mismatch_names_every_table_and_the_earlier_size() {
    let env = setup("ex_chunk_msg");
    env.mysql_exec("DELETE FROM tags WHERE id > 2");
    let cfg = config(&env, "", "");
    run(&env, &cfg, &["export"]).assert_ok();
    let out = run(&env, &cfg, &["run", "--chunk-rows", "5"]);
    out.assert_exit(2).assert_stderr_contains(&format!(
        "tables accounts, items, tags in {} were exported with chunk_rows = 3 and this run \
         uses 5 (`--chunk-rows 3` or run.chunk_rows = 3 resumes them): run with the earlier \
         settings to resume, or `run --fresh` to export and load everything again; nothing was \
         changed in the target",
        env.workdir.display()
    ));
    // A table whose export wrote no chunk yet is counted, not named (Roundup trial: 66
    // names where one table had chunks).
    let path = env.workdir.join("tags").join("manifest.json");
    let original = std::fs::read(&path).expect("read tags' manifest");
    let mut m: serde_json::Value = serde_json::from_slice(&original).expect("manifest is JSON");
    m["chunks"] = serde_json::json!([]);
    m["complete"] = serde_json::json!(false);
    crate::common::write_edited_manifest(&path, &mut m);
    let out = run(&env, &cfg, &["run", "--chunk-rows", "5"]);
    out.assert_exit(2).assert_stderr_contains(&format!(
        "tables accounts, items (and 1 more with no chunk written yet) in {} were exported \
         with chunk_rows = 3 and this run uses 5",
        env.workdir.display()
    ));
    // None with a chunk yet: their export began under those settings (the Review Board
    // trial: "no chunk written yet ... were exported" read as a contradiction).
    let mut originals = Vec::new();
    for t in ["accounts", "items"] {
        let p = env.workdir.join(t).join("manifest.json");
        let bytes = std::fs::read(&p).expect("read a manifest");
        let mut m: serde_json::Value = serde_json::from_slice(&bytes).expect("manifest is JSON");
        m["chunks"] = serde_json::json!([]);
        m["complete"] = serde_json::json!(false);
        crate::common::write_edited_manifest(&p, &mut m);
        originals.push((p, bytes));
    }
    let out = run(&env, &cfg, &["run", "--chunk-rows", "5"]);
    out.assert_exit(2).assert_stderr_contains(&format!(
        "the 3 tables in {} (no chunk written yet) began their export under a different plan \
         or chunk size (run.chunk_rows, a rule or a column changed since): run with the \
         earlier settings to resume",
        env.workdir.display()
    ));
    for (p, bytes) in originals {
        std::fs::write(&p, bytes).expect("put a manifest back");
    }
    std::fs::write(&path, original).expect("put tags' manifest back");
    let cfg = config(
        &env,
        "",
        "[columns.\"tags.label\"]\nconvert = \"strip_nul\"\n",
    );
    let out = run(&env, &cfg, &["import", "--chunk-rows", "5"]);
    out.assert_exit(2).assert_stderr_contains(&format!(
        "tables accounts, items, tags in {} were exported under a different plan or chunk \
         size (run.chunk_rows, a rule or a column changed since): import with the settings \
         they were exported with, or export them again; nothing was changed in the target",
        env.workdir.display()
    ));
    assert_eq!(ledger_rows(&env), 0);
}

/// keep-identical keeps seeded rows the source lacks on purpose: verify counts them as
/// kept, not as a difference; a changed row is still one.
#[test]
fn verify_counts_rows_keep_identical_kept_and_still_finds_changes() {
    let env = setup("ex_keep_verify");
    env.pg_exec(
        "INSERT INTO accounts VALUES (2, 'account 2', 'note 2'), (100, 'seeded only', NULL)",
    );
    let cfg = config(
        &env,
        "",
        "[tables.\"accounts\"]\nexisting_rows = \"keep-identical\"\n",
    );
    run(&env, &cfg, &["run"]).assert_ok();
    assert_eq!(env.pg_count("accounts"), 10);
    let accounts = |out: &TestOutput| -> serde_json::Value {
        out.json()["tables"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == "accounts")
            .cloned()
            .unwrap()
    };
    // count cannot tell a kept row from a missing one replaced by another: it stays
    // a difference there.
    let out = run(&env, &cfg, &["verify", "--level", "count", "--json"]);
    out.assert_exit(1);
    let a = accounts(&out);
    assert_eq!(
        (&a["equal"], &a["extra"], a.get("kept")),
        (&serde_json::json!(false), &serde_json::json!(1), None)
    );
    for level in ["full", "load"] {
        let out = run(&env, &cfg, &["verify", "--level", level, "--json"]);
        out.assert_ok();
        let a = accounts(&out);
        assert_eq!(
            (&a["equal"], &a["extra"], &a["kept"], &a["missing"]),
            (
                &serde_json::json!(true),
                &serde_json::json!(1),
                &serde_json::json!(1),
                &serde_json::json!(0)
            ),
            "{level}: {a}"
        );
    }
    let human = run(&env, &cfg, &["verify", "--level", "full"]);
    human.assert_ok().assert_stderr_contains(
        "  accounts: equal (10 rows, 1 of them only in the target, kept by existing_rows = \
         \"keep-identical\")",
    );
    // A row written since the load (the application's first, after the cut-over) is
    // not one the policy kept: a difference, as in any other table.
    env.pg_exec("INSERT INTO accounts VALUES (200, 'written after the load', NULL)");
    for level in ["full", "load"] {
        let out = run(&env, &cfg, &["verify", "--level", level, "--json"]);
        out.assert_exit(1);
        let a = accounts(&out);
        assert_eq!(
            (&a["equal"], &a["extra"], a.get("kept"), &a["problems"]),
            (
                &serde_json::json!(false),
                &serde_json::json!(2),
                None,
                &serde_json::json!([
                    "1 row(s) of \"public\".\"accounts\" were written since the load, not by \
                     my2pg: existing_rows = \"keep-identical\" keeps only rows that were there \
                     before it, so the rows only in the target are a difference"
                ])
            ),
            "{level}: {a}"
        );
    }
    env.pg_exec("DELETE FROM accounts WHERE id = 200");
    run(&env, &cfg, &["verify", "--level", "full"]).assert_ok();
    env.pg_exec("UPDATE accounts SET name = 'changed' WHERE id = 4");
    let out = run(&env, &cfg, &["verify", "--level", "full", "--json"]);
    out.assert_exit(1);
    let a = accounts(&out);
    assert_eq!(
        (&a["equal"], &a["changed"], &a["extra"], a.get("kept")),
        (
            &serde_json::json!(false),
            &serde_json::json!(1),
            &serde_json::json!(1),
            None
        )
    );
}

/// keep-identical on a table wider than a Postgres function's 100 arguments: the check
/// for differing rows still runs, and names the differing column.
#[test]
fn keep_identical_compares_tables_of_more_than_100_columns() {
    let env = TestEnv::new("ex_keep_wide");
    let cols: Vec<String> = (1..=120).map(|i| format!("c{i}")).collect();
    let values = |id: i32, c77: i32| -> String {
        let v: Vec<String> = (1..=120)
            .map(|i| {
                if i == 77 {
                    c77.to_string()
                } else {
                    i.to_string()
                }
            })
            .collect();
        format!("({id}, {})", v.join(", "))
    };
    env.mysql_exec(&format!(
        "CREATE TABLE w (id int NOT NULL PRIMARY KEY, {}); INSERT INTO w VALUES {}, {}, {}",
        cols.iter()
            .map(|c| format!("{c} int NOT NULL"))
            .collect::<Vec<_>>()
            .join(", "),
        values(1, 77),
        values(2, 77),
        values(3, 77)
    ));
    env.pg_exec(&format!(
        "CREATE TABLE w (id integer PRIMARY KEY, {}); INSERT INTO w VALUES {}, {}",
        cols.iter()
            .map(|c| format!("{c} integer NOT NULL"))
            .collect::<Vec<_>>()
            .join(", "),
        values(1, 77),
        values(2, 999)
    ));
    let cfg = env.write_config("[run]\nexisting_rows = \"keep-identical\"\n");
    run(&env, &cfg, &["run"])
        .assert_exit(1)
        .assert_stderr_contains(
        "existing_rows = \"keep-identical\": the target row with key (id)=(2) differs from the \
         source row in column(s) c77",
    );
    env.pg_exec("UPDATE w SET c77 = 77 WHERE id = 2");
    run(&env, &cfg, &["run"]).assert_ok();
    assert_eq!(
        env.pg_value("SELECT count(*)::text || ' ' || sum(c77)::text FROM w"),
        Some("3 231".into())
    );
}

/// keep-identical compares a seeded row the way verify does: values Postgres's `=` holds
/// equal but that are not the same (letter case in citext, -0 and 0, '1 day' and
/// '24:00:00' in interval) are a difference, also in the key.
#[test]
fn keep_identical_tells_apart_values_that_postgres_equality_merges() {
    let env = TestEnv::new("ex_keep_exact");
    env.mysql_exec(
        "CREATE TABLE t (k varchar(10) COLLATE utf8mb4_bin NOT NULL PRIMARY KEY, \
           c varchar(10) NOT NULL, d double NOT NULL, iv time NOT NULL); \
         INSERT INTO t VALUES ('a', 'abc', 0, '24:00:00'), ('b', 'x', 1, '720:00:00')",
    );
    env.pg_admin_exec("CREATE EXTENSION citext");
    env.pg_exec(
        "CREATE TABLE t (k citext PRIMARY KEY, c citext NOT NULL, d double precision NOT NULL, \
           iv interval NOT NULL); \
         INSERT INTO t VALUES ('a', 'ABC', 0, '24:00:00')",
    );
    let cfg = env.write_config(
        "[run]\nexisting_rows = \"keep-identical\"\n\n[workers]\nreaders = 1\nloaders = 1\n",
    );
    for (fix, key, column) in [
        ("", "a", "c"),
        ("UPDATE t SET c = 'abc', d = '-0'", "a", "d"),
        ("UPDATE t SET d = 0, iv = '1 day'", "a", "iv"),
        ("UPDATE t SET iv = '24:00:00', k = 'A'", "A", "k"),
    ] {
        if !fix.is_empty() {
            env.pg_exec(fix);
        }
        run(&env, &cfg, &["run"])
            .assert_exit(1)
            .assert_stderr_contains(&format!(
                "existing_rows = \"keep-identical\": the target row with key (k)=({key}) \
                 differs from the source row in column(s) {column}"
            ));
        assert_eq!(env.pg_count("t"), 1, "nothing loaded after {fix:?}");
    }
    env.pg_exec("UPDATE t SET k = 'a'");
    run(&env, &cfg, &["run"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT k::text, c::text, d::text, iv::text FROM t ORDER BY k"),
        vec![
            crate::common::row(&[Some("a"), Some("abc"), Some("0"), Some("24:00:00")]),
            crate::common::row(&[Some("b"), Some("x"), Some("1"), Some("720:00:00")]),
        ]
    );

    // Rows are matched by the key only: a seeded row under another key that holds a
    // source row's unique value is named as such.
    env.mysql_exec(
        "CREATE TABLE u (id int NOT NULL PRIMARY KEY, code varchar(10) NOT NULL UNIQUE); \
         INSERT INTO u VALUES (1, 'code')",
    );
    env.pg_exec(
        "CREATE TABLE u (id integer PRIMARY KEY, code varchar(10) NOT NULL UNIQUE); \
         INSERT INTO u VALUES (99, 'code')",
    );
    run(&env, &cfg, &["run"])
        .assert_exit(1)
        .assert_stderr_contains("Key (code)=(code) already exists")
        .assert_stderr_contains(
            "; existing_rows = \"keep-identical\" matches rows by (id) only: a row already in \
             the target under another key holds this value",
        );
}

/// A child table loaded by an earlier run (its parent left out then) beside a seeded
/// row, then the parent copied too with both tables on `truncate`: the child goes into
/// the same TRUNCATE as its parent and loads again; before, the run told the operator
/// to set `truncate` on the child, which it already had.
#[test]
fn truncate_takes_along_a_partly_loaded_child_whose_own_policy_is_truncate() {
    let env = TestEnv::new("ex_trunc_partial");
    let children: Vec<String> = (1..=50).map(|i| format!("({i}, 1)")).collect();
    env.mysql_exec(&format!(
        "CREATE TABLE p (id int NOT NULL PRIMARY KEY, v varchar(10) NOT NULL); \
         INSERT INTO p VALUES (1, 'src'), (2, 'x'); \
         CREATE TABLE c (id int NOT NULL PRIMARY KEY, pid int NOT NULL); \
         INSERT INTO c VALUES {}",
        children.join(", ")
    ));
    env.pg_exec(
        "CREATE TABLE p (id integer PRIMARY KEY, v varchar(10) NOT NULL); \
         CREATE TABLE c (id integer PRIMARY KEY, pid integer NOT NULL REFERENCES p (id)); \
         INSERT INTO p VALUES (1, 'seed'); INSERT INTO c VALUES (100, 1)",
    );
    env.write_config("[run]\nexclude = [\"p\"]\nexisting_rows = \"keep-identical\"\n");
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(env.pg_count("c"), 51);
    env.write_config("[run]\nexisting_rows = \"truncate\"\n");
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT id::text, v FROM p ORDER BY id"),
        vec![row(&[Some("1"), Some("src")]), row(&[Some("2"), Some("x")])]
    );
    assert_eq!(env.pg_count("c"), 50);
    env.assert_verifies_equal(&["full"]);
}

/// `--fresh` with keep-identical: the rows my2pg did not load there are the ones the
/// policy keeps (Zabbix's dbversion, Redmine's schema_migrations), so they stay in place
/// and only my2pg's rows are deleted and loaded again (it refused before, asking for
/// truncate). A keep-identical table referencing a truncated one cannot keep its rows
/// (Postgres truncates a referenced table only with its referencing tables): refused.
#[test]
fn fresh_keeps_the_rows_keep_identical_keeps() {
    let env = setup("ex_fresh_keep");
    env.pg_exec("INSERT INTO tags VALUES (1, 'tag 1'), (100, 'local only')");
    let cfg = config(
        &env,
        "",
        "[tables.\"tags\"]\nexisting_rows = \"keep-identical\"\n",
    );
    run(&env, &cfg, &["run"]).assert_ok();
    let xmins = || {
        env.pg_rows(
            "SELECT id::text, xmin::text FROM tags WHERE id IN (1, 2, 100) ORDER BY tags.id",
        )
    };
    let before = xmins();
    let out = run(&env, &cfg, &["run", "--fresh", "--yes"]);
    out.assert_ok().assert_stderr_contains(
        "\"public\".\"tags\": deleted the 4 row(s) my2pg loaded; the rows it did not load stay \
         (existing_rows = \"keep-identical\")",
    );
    let after = xmins();
    // The seeded rows were never touched; my2pg's row 2 was loaded again.
    assert_eq!((&after[0], &after[2]), (&before[0], &before[2]));
    assert_ne!(after[1], before[1]);
    assert_eq!(
        env.pg_rows("SELECT id::text, label FROM tags ORDER BY tags.id"),
        vec![
            row(&[Some("1"), Some("tag 1")]),
            row(&[Some("2"), Some("tag 2")]),
            row(&[Some("3"), Some("tag 3")]),
            row(&[Some("4"), Some("tag 4")]),
            row(&[Some("5"), Some("tag 5")]),
            row(&[Some("100"), Some("local only")]),
        ]
    );
    assert_eq!(env.pg_count("accounts"), 9);
    assert_eq!(env.pg_count("items"), 12);
    run(&env, &cfg, &["verify", "--level", "full"]).assert_ok();

    // items references accounts, which --fresh truncates: a row of it my2pg did not load
    // (written again after the load) cannot stay, whatever its policy.
    env.pg_exec("DELETE FROM items WHERE id = 1; INSERT INTO items VALUES (1, 2, 10)");
    let cfg = config(
        &env,
        "",
        "[tables.\"tags\"]\nexisting_rows = \"keep-identical\"\n\
         [tables.\"items\"]\nexisting_rows = \"keep-identical\"\n",
    );
    let out = run(&env, &cfg, &["run", "--fresh", "--yes"]);
    out.assert_exit(2).assert_stderr_contains(
        "--fresh would delete rows my2pg did not load (written since the load, seeded, or kept \
         by existing_rows = \"keep-identical\") in \"public\".\"items\" (1 row(s)): set",
    );
    assert_eq!(env.pg_count("items"), 12);
    assert_eq!(env.pg_count("tags"), 6);
}

/// Under the default policy a filled migration bookkeeping table blocks with its one right
/// answer, run.exclude (the Prisma trial: `_prisma_migrations`, whose checksums differ per
/// provider, was offered truncate and keep-identical first); other tables keep the full
/// advice.
#[test]
fn a_filled_bookkeeping_table_is_told_to_be_left_out() {
    let env = TestEnv::new("ex_bookkeeping_default");
    let ddl = "CREATE TABLE _prisma_migrations (id varchar(36) NOT NULL PRIMARY KEY, \
               checksum varchar(64) NOT NULL); \
               CREATE TABLE settings (k varchar(20) NOT NULL PRIMARY KEY)";
    // In any letter case: an unquoted CREATE makes `sequelizemeta` in Postgres (the h19
    // attack got the generic advice, truncate first).
    env.mysql_exec(&format!(
        "{ddl}; INSERT INTO _prisma_migrations VALUES ('m1', 'aa'); \
         INSERT INTO settings VALUES ('a'); \
         CREATE TABLE `SequelizeMeta` (name varchar(255) NOT NULL PRIMARY KEY); \
         INSERT INTO `SequelizeMeta` VALUES ('1-init.js')"
    ));
    env.pg_exec(&format!(
        "{ddl}; INSERT INTO _prisma_migrations VALUES ('p1', 'bb'); \
         INSERT INTO settings VALUES ('b'); \
         CREATE TABLE SequelizeMeta (name varchar(255) PRIMARY KEY); \
         INSERT INTO SequelizeMeta VALUES ('1-init.js')"
    ));
    env.write_config("");
    let out = env.my2pg(&["plan", "--json"]);
    out.assert_exit(2);
    assert_eq!(
        crate::common::field_pairs(&out.json(), "problems", "table", "message"),
        vec![
            (
                "_prisma_migrations".to_string(),
                "target table \"public\".\"_prisma_migrations\" already holds rows that my2pg \
                 did not load: it looks like a schema-migration bookkeeping table, which the \
                 target's own migrations filled (its rows name the migrations that made this \
                 schema, the source's name its MySQL ones): leave it out with run.exclude = \
                 [\"_prisma_migrations\"]"
                    .to_string()
            ),
            (
                "sequelizemeta".to_string(),
                "target table \"public\".\"sequelizemeta\" already holds rows that my2pg \
                 did not load: it looks like a schema-migration bookkeeping table, which the \
                 target's own migrations filled (its rows name the migrations that made this \
                 schema, the source's name its MySQL ones): leave it out with run.exclude = \
                 [\"SequelizeMeta\"]"
                    .to_string()
            ),
            (
                "settings".to_string(),
                "target table \"public\".\"settings\" already holds rows that my2pg did not \
                 load; set existing_rows = \"truncate\" or \"keep-identical\" for it, empty it, \
                 or leave it out with run.exclude (a table the target's own migrations filled, \
                 such as their bookkeeping table, keeps its rows)"
                    .to_string()
            ),
        ]
    );
    let check = env.my2pg(&["check", "--json"]);
    let findings = check.json()["findings"].as_array().unwrap().clone();
    assert!(
        findings.iter().any(|f| f["table"] == "_prisma_migrations"
            && f["message"]
                == "target table \"public\".\"_prisma_migrations\" already holds 1 row(s) \
                        my2pg did not load: import and run refuse to start; it looks like a \
                        schema-migration bookkeeping table, which the target's own migrations \
                        filled: leave it out with run.exclude = [\"_prisma_migrations\"]"),
        "{}",
        check.stdout
    );
    // As it says: left out, the table keeps the target's row.
    env.write_config(
        "[run]\nexclude = [\"_prisma_migrations\", \"SequelizeMeta\"]\n\n[tables.settings]\nexisting_rows = \"truncate\"\n",
    );
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT id, checksum FROM _prisma_migrations"),
        vec![row(&[Some("p1"), Some("bb")])]
    );
    assert_eq!(
        env.pg_rows("SELECT k FROM settings"),
        vec![row(&[Some("a")])]
    );
}

/// keep-identical on a migration bookkeeping table the target's migrations filled merges
/// the source's versions with the target's (Superset, Buildbot: two Alembic heads, the
/// application would not start): plan warns and names the way out; other tables, and an
/// empty bookkeeping table, are not warned about.
#[test]
fn keep_identical_on_a_bookkeeping_table_is_warned_about() {
    let env = TestEnv::new("ex_bookkeeping");
    env.mysql_exec(
        "CREATE TABLE alembic_version (version_num varchar(32) NOT NULL PRIMARY KEY); \
         INSERT INTO alembic_version VALUES ('066'); \
         CREATE TABLE settings (k varchar(20) NOT NULL PRIMARY KEY); INSERT INTO settings VALUES ('a'); \
         CREATE TABLE schema_migrations (version varchar(20) NOT NULL PRIMARY KEY)",
    );
    env.pg_exec(
        "CREATE TABLE alembic_version (version_num varchar(32) PRIMARY KEY); \
         INSERT INTO alembic_version VALUES ('067'); \
         CREATE TABLE settings (k varchar(20) PRIMARY KEY); INSERT INTO settings VALUES ('b'); \
         CREATE TABLE schema_migrations (version varchar(20) PRIMARY KEY)",
    );
    env.write_config("[run]\nexisting_rows = \"keep-identical\"\n");
    let out = env.my2pg(&["plan", "--json"]);
    out.assert_ok();
    let warned: Vec<(String, String)> = out.json()["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["kind"] == "bookkeeping_merged")
        .map(|w| {
            (
                w["table"].as_str().unwrap().to_string(),
                w["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        warned,
        vec![(
            "alembic_version".to_string(),
            "\"public\".\"alembic_version\" looks like a schema-migration bookkeeping table, \
             which the target's own migrations filled: existing_rows = \"keep-identical\" adds \
             the source's rows beside the target's, so at another schema version it names both \
             (an Alembic application then finds two heads and will not start); at the same \
             version, rows whose timestamps or ids differ (Django's `applied`) stop the run. \
             Leave it out with run.exclude"
                .to_string()
        )]
    );
    // As the warning says: the run merges both versions.
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT version_num FROM alembic_version ORDER BY 1"),
        vec![row(&[Some("066")]), row(&[Some("067")])]
    );

    // truncate replaces the target's bookkeeping with the source's: said as well (Flowise
    // trial: TypeORM then ran its migrations again at start, and failed). Once my2pg
    // loaded the table, its rows are the source's: no warning.
    let replaced = |out: &crate::common::TestOutput| -> Vec<(String, String)> {
        let mut report = out.json();
        report["warnings"]
            .as_array_mut()
            .unwrap()
            .retain(|w| w["kind"] == "bookkeeping_replaced");
        crate::common::field_pairs(&report, "warnings", "table", "message")
    };
    env.pg_exec(
        "TRUNCATE alembic_version, settings; INSERT INTO alembic_version VALUES ('067'); \
         DROP SCHEMA my2pg CASCADE",
    );
    env.write_config("[run]\nexisting_rows = \"truncate\"\n");
    let out = env.my2pg(&["plan", "--json"]);
    out.assert_ok();
    assert_eq!(
        replaced(&out),
        vec![(
            "alembic_version".to_string(),
            "\"public\".\"alembic_version\" looks like a schema-migration bookkeeping table, \
             which the target's own migrations filled: existing_rows = \"truncate\" replaces \
             their rows with the source's, which name the source's migrations, not the ones \
             that made this schema (an application whose migrations differ per database, such \
             as a TypeORM one, then runs its own again at start and fails). Leave it out with \
             run.exclude"
                .to_string()
        )]
    );
    env.my2pg(&["run", "--fresh", "--yes"]).assert_ok();
    let out = env.my2pg(&["plan", "--json"]);
    out.assert_ok();
    assert_eq!(replaced(&out), vec![]);
}

/// A keep-identical mismatch shows the key as verify does: an empty value quoted, a NULL
/// as NULL (ejabberd trial: `(server_host, username)=(example.org, )`).
#[test]
fn a_keep_identical_mismatch_shows_key_values_as_verify_does() {
    let env = TestEnv::new("ex_keep_key_text");
    env.mysql_exec(
        "CREATE TABLE users (server_host varchar(20) NOT NULL, username varchar(20) NOT NULL, \
           n int NOT NULL, PRIMARY KEY (server_host, username)); \
         INSERT INTO users VALUES ('example.org', '', 1)",
    );
    env.pg_exec(
        "CREATE TABLE users (server_host text NOT NULL, username text NOT NULL, \
           n integer NOT NULL, PRIMARY KEY (server_host, username)); \
         INSERT INTO users VALUES ('example.org', '', 2)",
    );
    let cfg = env.write_config("[run]\nexisting_rows = \"keep-identical\"\n");
    run(&env, &cfg, &["run"])
        .assert_exit(1)
        .assert_stderr_contains(
            "existing_rows = \"keep-identical\": the target row with key (server_host, \
             username)=(example.org, \"\") differs from the source row in column(s) n",
        );
}

/// The same with a keep-identical child (Review Board trial): an earlier keep-identical
/// run loaded every row of items; truncating their parent takes them along to load again,
/// where it was refused as a table keeping "rows my2pg did not load". One the
/// application wrote to since still refuses.
#[test]
fn truncating_a_parent_takes_keep_identical_children_an_earlier_run_loaded_along() {
    let env = setup("ex_trunc_keep");
    env.pg_exec(
        "INSERT INTO accounts SELECT i, 'account ' || i, 'seeded' FROM generate_series(1, 9) i",
    );
    let keep = "existing_rows = \"keep-identical\"";
    let first = config(&env, &format!("{keep}\nexclude = [\"accounts\"]"), "");
    run(&env, &first, &["run"]).assert_ok();
    assert_eq!(env.pg_count("items"), 12);
    let cfg = config(
        &env,
        keep,
        "[tables.\"accounts\"]\nexisting_rows = \"truncate\"\n",
    );
    env.pg_exec("INSERT INTO items VALUES (100, 1, 5)");
    run(&env, &cfg, &["run"])
        .assert_exit(2)
        .assert_stderr_contains(
            "cannot truncate accounts: copied table items references it and keeps rows my2pg did \
             not load (existing_rows = \"keep-identical\"), so import and run would stop before \
             loading; set existing_rows = \"truncate\" for items too",
        );
    assert_eq!(env.pg_count("items"), 13, "nothing truncated");
    env.pg_exec("DELETE FROM items WHERE id = 100");
    let out = run(&env, &cfg, &["run"]);
    out.assert_ok().assert_stderr_contains(
        "items references accounts, which is truncated: its rows loaded by an earlier run are \
         truncated too and load again",
    );
    assert_exact(&env, &out);
}

/// A finished load whose tables were emptied, or created again by the application's
/// installer, since (the my2pg schema left as it was): "nothing to load" names them
/// (Kallithea trial: exit 0 over a target holding 2 seeded users, and not a word). Not a
/// refusal: an application may empty a table itself, and refusing advised `--fresh` over
/// live data (the attack). A table whose every row the application rewrote still holds
/// as many rows: not named.
#[test]
fn tables_emptied_or_created_again_since_the_load_are_named() {
    let env = setup("ex_recreated");
    let cfg = config(&env, "", "");
    run(&env, &cfg, &["run"]).assert_ok();
    env.pg_exec("UPDATE tags SET label = label");
    let out = run(&env, &cfg, &["run", "--json"]);
    out.assert_ok()
        .assert_stderr_contains("nothing new was loaded");
    assert_eq!(out.json()["emptied_tables"], serde_json::Value::Null);
    // As an installer would leave them: items emptied, tags with one seeded row.
    env.pg_exec("DELETE FROM items; DELETE FROM tags; INSERT INTO tags VALUES (1, 'seed')");
    for command in ["run", "import"] {
        let out = run(&env, &cfg, &[command, "--json"]);
        out.assert_ok().assert_stderr_contains(
            "  warning: \"public\".\"tags\" (1 row(s); 5 loaded) holds none of the rows my2pg \
             loaded and fewer rows than it loaded: if it was emptied or created again since \
             (an application's installer re-creating its tables leaves the my2pg schema as it \
             was), `run --fresh` loads it again; if the application deleted and rewrote its \
             rows, leave it",
        );
        assert_eq!(
            out.json()["emptied_tables"],
            serde_json::json!([
                "\"public\".\"items\" (0 row(s); 12 loaded)",
                "\"public\".\"tags\" (1 row(s); 5 loaded)"
            ])
        );
    }
    assert_eq!(env.pg_count("tags"), 1, "nothing changed");
    let cfg = config(&env, "existing_rows = \"truncate\"", "");
    run(
        &env,
        &cfg,
        &["run", "--fresh", "--yes", "--discard-rows-since-load"],
    )
    .assert_ok();
    let out = run(&env, &cfg, &["verify", "--level", "full"]);
    out.assert_ok();
    assert_exact(&env, &out);
}
