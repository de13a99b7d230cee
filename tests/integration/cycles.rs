//! Foreign-key cycles (issue 4): how `plan` breaks them, exact data after `run`, every
//! constraint back and validated, and orphan values failing with the constraint named.

use crate::common::{row, warning_messages, waves, TestEnv};

/// (constraint, child, strategy) of `plan --json`'s cycle_breaks.
fn breaks(report: &serde_json::Value) -> Vec<(String, String, String)> {
    report["cycle_breaks"]
        .as_array()
        .expect("cycle_breaks array")
        .iter()
        .map(|b| {
            (
                b["constraint"].as_str().unwrap().to_string(),
                b["child"].as_str().unwrap().to_string(),
                b["strategy"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// Every FK constraint of the test database with its validated flag.
fn fk_state(env: &TestEnv) -> Vec<Vec<Option<String>>> {
    env.pg_rows(
        "SELECT conname::text, convalidated::text FROM pg_constraint WHERE contype = 'f' ORDER BY 1",
    )
}

fn s(v: &str) -> Option<String> {
    Some(v.to_string())
}

#[test]
fn cycles_self_reference_tree_loads_with_fill_and_validated_fk() {
    let env = TestEnv::new("cyc_tree");
    // Children come before their parents in key order, across chunks.
    env.mysql_exec(
        "CREATE TABLE comment (id int NOT NULL PRIMARY KEY, parentId int NULL, body varchar(40) NOT NULL); \
         INSERT INTO comment VALUES (1, 6, 'leaf under 6'), (2, 5, 'leaf under 5'), (3, NULL, 'root a'), \
           (4, NULL, 'root b'), (5, 3, 'mid under a'), (6, 5, 'mid under mid'), (7, 4, 'under b')",
    );
    env.pg_exec(
        "CREATE TABLE comment (id integer PRIMARY KEY, \"parentId\" integer \
           CONSTRAINT comment_parent_fk REFERENCES comment (id), body varchar(40) NOT NULL)",
    );
    env.write_config("[run]\nchunk_rows = 2\nconstraints = \"keep\"\n");
    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_ok();
    let report = plan.json();
    assert_eq!(
        breaks(&report),
        vec![(
            "comment_parent_fk".into(),
            "comment".into(),
            "null_then_fill".into()
        )]
    );
    assert_eq!(
        report["cycle_breaks"][0]["columns"],
        serde_json::json!(["parentId"])
    );
    assert_eq!(waves(&report), vec![vec!["comment".to_string()]]);
    plan.assert_stderr_contains(
        "comment_parent_fk (comment -> comment): comment loads with (parentId) NULL; one UPDATE fills them",
    );
    env.my2pg(&["run", "--json"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT id::text, \"parentId\"::text, body FROM comment ORDER BY id"),
        vec![
            vec![s("1"), s("6"), s("leaf under 6")],
            vec![s("2"), s("5"), s("leaf under 5")],
            vec![s("3"), None, s("root a")],
            vec![s("4"), None, s("root b")],
            vec![s("5"), s("3"), s("mid under a")],
            vec![s("6"), s("5"), s("mid under mid")],
            vec![s("7"), s("4"), s("under b")],
        ]
    );
    assert_eq!(
        fk_state(&env),
        vec![vec![s("comment_parent_fk"), s("true")]]
    );
    // The staged values are gone once filled.
    assert_eq!(
        env.pg_value("SELECT count(*)::text FROM pg_tables WHERE schemaname = 'my2pg' AND tablename LIKE 'fill_%'"),
        s("0")
    );
}

#[test]
fn cycles_two_tables_nullable_both_ways_load_exactly() {
    let env = TestEnv::new("cyc_two");
    env.mysql_exec(
        "CREATE TABLE space (id int NOT NULL PRIMARY KEY, accountId int NULL, name varchar(20)); \
         CREATE TABLE account (id int NOT NULL PRIMARY KEY, spaceId int NULL); \
         INSERT INTO space VALUES (1, 11, 's1'), (2, 10, 's2'), (3, NULL, 's3'); \
         INSERT INTO account VALUES (10, 1), (11, 2), (12, NULL)",
    );
    env.pg_exec(
        "CREATE TABLE space (id integer PRIMARY KEY, \"accountId\" integer, name varchar(20)); \
         CREATE TABLE account (id integer PRIMARY KEY, \"spaceId\" integer CONSTRAINT account_space_fk REFERENCES space (id)); \
         ALTER TABLE space ADD CONSTRAINT space_account_fk FOREIGN KEY (\"accountId\") REFERENCES account (id)",
    );
    env.write_config("[run]\nchunk_rows = 1\nconstraints = \"keep\"\n");
    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_ok();
    let report = plan.json();
    // One nullable edge is enough to break a two-table cycle.
    assert_eq!(
        breaks(&report),
        vec![(
            "account_space_fk".into(),
            "account".into(),
            "null_then_fill".into()
        )]
    );
    assert_eq!(
        waves(&report),
        vec![vec!["account".to_string()], vec!["space".to_string()]]
    );
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT id::text, \"accountId\"::text, name FROM space ORDER BY id"),
        vec![
            vec![s("1"), s("11"), s("s1")],
            vec![s("2"), s("10"), s("s2")],
            vec![s("3"), None, s("s3")]
        ]
    );
    assert_eq!(
        env.pg_rows("SELECT id::text, \"spaceId\"::text FROM account ORDER BY id"),
        vec![
            vec![s("10"), s("1")],
            vec![s("11"), s("2")],
            vec![s("12"), None]
        ]
    );
    assert_eq!(
        fk_state(&env),
        vec![
            vec![s("account_space_fk"), s("true")],
            vec![s("space_account_fk"), s("true")]
        ]
    );
}

const THREE_SOURCE: &str = "
CREATE TABLE c (id int NOT NULL PRIMARY KEY, dId int NOT NULL);
CREATE TABLE d (id int NOT NULL PRIMARY KEY, eId int NOT NULL);
CREATE TABLE e (id int NOT NULL PRIMARY KEY, cId int NULL);
INSERT INTO c VALUES (1, 20), (2, 21);
INSERT INTO d VALUES (20, 31), (21, 30);
INSERT INTO e VALUES (30, 2), (31, 1), (32, NULL);
";

const THREE_TARGET: &str = "
CREATE TABLE c (id integer PRIMARY KEY, \"dId\" integer NOT NULL);
CREATE TABLE d (id integer PRIMARY KEY, \"eId\" integer NOT NULL);
CREATE TABLE e (id integer PRIMARY KEY, \"cId\" integer);
ALTER TABLE c ADD CONSTRAINT c_d_fk FOREIGN KEY (\"dId\") REFERENCES d (id);
ALTER TABLE d ADD CONSTRAINT d_e_fk FOREIGN KEY (\"eId\") REFERENCES e (id);
ALTER TABLE e ADD CONSTRAINT e_c_fk FOREIGN KEY (\"cId\") REFERENCES c (id);
";

#[test]
fn cycles_three_tables_with_not_null_edges_break_only_the_nullable_one() {
    let env = TestEnv::new("cyc_three");
    env.mysql_exec(THREE_SOURCE);
    env.pg_exec(THREE_TARGET);
    env.write_config("[run]\nchunk_rows = 1\nconstraints = \"keep\"\n");
    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_ok();
    let report = plan.json();
    assert_eq!(
        breaks(&report),
        vec![("e_c_fk".into(), "e".into(), "null_then_fill".into())]
    );
    assert_eq!(
        waves(&report),
        vec![
            vec!["e".to_string()],
            vec!["d".to_string()],
            vec!["c".to_string()]
        ]
    );
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT id::text, \"cId\"::text FROM e ORDER BY id"),
        vec![
            vec![s("30"), s("2")],
            vec![s("31"), s("1")],
            vec![s("32"), None]
        ]
    );
    assert_eq!(
        env.pg_rows("SELECT id::text, \"dId\"::text FROM c ORDER BY id"),
        vec![vec![s("1"), s("20")], vec![s("2"), s("21")]]
    );
    assert_eq!(
        fk_state(&env),
        vec![
            vec![s("c_d_fk"), s("true")],
            vec![s("d_e_fk"), s("true")],
            vec![s("e_c_fk"), s("true")]
        ]
    );
}

#[test]
fn cycles_not_null_only_cycle_drops_and_validates_the_constraint() {
    let env = TestEnv::new("cyc_notnull");
    env.mysql_exec(
        "CREATE TABLE c (id int NOT NULL PRIMARY KEY, dId int NOT NULL); \
         CREATE TABLE d (id int NOT NULL PRIMARY KEY, cId int NOT NULL); \
         INSERT INTO c VALUES (1, 100), (2, 101); INSERT INTO d VALUES (100, 2), (101, 1)",
    );
    env.pg_exec(
        "CREATE TABLE c (id integer PRIMARY KEY, \"dId\" integer NOT NULL); \
         CREATE TABLE d (id integer PRIMARY KEY, \"cId\" integer NOT NULL CONSTRAINT d_c_fk REFERENCES c (id)); \
         ALTER TABLE c ADD CONSTRAINT c_d_fk FOREIGN KEY (\"dId\") REFERENCES d (id) ON DELETE CASCADE; \
         COMMENT ON CONSTRAINT c_d_fk ON c IS 'each c has its d'",
    );
    let before = env.pg_rows(
        "SELECT conname::text, pg_get_constraintdef(oid), obj_description(oid, 'pg_constraint') \
         FROM pg_constraint WHERE contype = 'f' ORDER BY 1",
    );
    env.write_config("[run]\nchunk_rows = 1\nconstraints = \"keep\"\n");
    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_ok();
    assert_eq!(
        breaks(&plan.json()),
        vec![("c_d_fk".into(), "c".into(), "drop_and_validate".into())]
    );
    plan.assert_stderr_contains(
        "c_d_fk (c -> d): NOT NULL cycle: the constraint is dropped for the load",
    );
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT id::text, \"dId\"::text FROM c ORDER BY id"),
        vec![vec![s("1"), s("100")], vec![s("2"), s("101")]]
    );
    // The same definition (ON DELETE CASCADE included) and comment are back, validated.
    let after = env.pg_rows(
        "SELECT conname::text, pg_get_constraintdef(oid), obj_description(oid, 'pg_constraint') \
         FROM pg_constraint WHERE contype = 'f' ORDER BY 1",
    );
    assert_eq!(after, before);
    assert_eq!(after[0][2], s("each c has its d"));
    assert_eq!(
        fk_state(&env),
        vec![vec![s("c_d_fk"), s("true")], vec![s("d_c_fk"), s("true")]]
    );
    assert_eq!(
        env.pg_value("SELECT count(*)::text FROM my2pg.dropped_constraints"),
        s("0")
    );
}

#[test]
fn cycles_orphan_in_not_null_cycle_fails_and_keeps_the_constraint() {
    let env = TestEnv::new("cyc_orphan_nn");
    env.mysql_exec(
        "CREATE TABLE c (id int NOT NULL PRIMARY KEY, dId int NOT NULL); \
         CREATE TABLE d (id int NOT NULL PRIMARY KEY, cId int NOT NULL); \
         INSERT INTO c VALUES (1, 100), (2, 999); INSERT INTO d VALUES (100, 2)",
    );
    env.pg_exec(
        "CREATE TABLE c (id integer PRIMARY KEY, \"dId\" integer NOT NULL); \
         CREATE TABLE d (id integer PRIMARY KEY, \"cId\" integer NOT NULL CONSTRAINT d_c_fk REFERENCES c (id)); \
         ALTER TABLE c ADD CONSTRAINT c_d_fk FOREIGN KEY (\"dId\") REFERENCES d (id)",
    );
    env.write_config("[run]\nconstraints = \"keep\"\n");
    let out = env.my2pg(&["run"]);
    out.assert_exit(1);
    out.assert_stderr_contains("validate constraint c_d_fk on \"public\".\"c\"");
    out.assert_stderr_contains("Key (dId)=(999) is not present in table \"d\"");
    // Never left without the constraint: it is back, NOT VALID, and recorded for the next run.
    assert_eq!(
        fk_state(&env),
        vec![vec![s("c_d_fk"), s("false")], vec![s("d_c_fk"), s("true")]]
    );
    assert_eq!(
        env.pg_rows("SELECT table_name, constraint_name FROM my2pg.dropped_constraints"),
        vec![vec![s("c"), s("c_d_fk")]]
    );
}

#[test]
fn cycles_orphan_in_self_reference_fails_naming_constraint_and_key() {
    let env = TestEnv::new("cyc_orphan_self");
    env.mysql_exec(
        "CREATE TABLE node (id int NOT NULL PRIMARY KEY, parent_id int NULL); \
         SET foreign_key_checks = 0; INSERT INTO node VALUES (1, NULL), (2, 1), (3, 77)",
    );
    env.pg_exec(
        "CREATE TABLE node (id integer PRIMARY KEY, parent_id integer CONSTRAINT node_parent_fk REFERENCES node (id))",
    );
    env.write_config("[run]\nconstraints = \"keep\"\n");
    let check = env.my2pg(&["check", "--json"]);
    check.assert_exit(1);
    let findings = check.json()["findings"].clone();
    assert_eq!(findings[0]["class"], "orphan_fk");
    assert_eq!(findings[0]["count"], 1);
    assert_eq!(
        findings[0]["sample_keys"],
        serde_json::json!(["(id)=(3) parent_id=(77)"])
    );
    let out = env.my2pg(&["run"]);
    out.assert_exit(1);
    out.assert_stderr_contains(
        "the load finished, but the rows violate 1 constraint(s), left NOT VALID or not \
         rebuilt (`my2pg status` lists them):\n  - target (PostgreSQL) query failed (fill \
         \"public\".\"node\" after the load (constraint node_parent_fk)): ",
    );
    out.assert_stderr_contains("violates foreign key constraint \"node_parent_fk\"");
    out.assert_stderr_contains("Key (parent_id)=(77) is not present in table \"node\"");
    // The loaded rows hold NULL in parent_id until the fill: a run under other settings
    // (rebuild has no fill) must not finish without the held-back values.
    let held = || env.pg_rows("SELECT id::text, parent_id::text FROM node ORDER BY id");
    let before = held();
    assert_eq!(
        before,
        vec![
            row(&[Some("1"), None]),
            row(&[Some("2"), None]),
            row(&[Some("3"), None])
        ]
    );
    env.write_config("");
    let out = env.my2pg(&["run"]);
    out.assert_exit(1);
    out.assert_stderr_contains(
        "cannot resume: table \"public\".\"node\" was loaded with the column(s) of FK \
         node_parent_fk held back in my2pg.fill_",
    );
    out.assert_stderr_contains(
        "by an earlier run under constraints = \"keep\", which stopped before putting them in \
         place; this run would finish without them. Resume with constraints = \"keep\" (the \
         same settings), or start over with `run --fresh --yes`; nothing was changed in the \
         target",
    );
    assert_eq!(held(), before, "nothing was changed in the target");
    // Fixed source, start over under rebuild: exact, and no fill table is left behind.
    env.mysql_exec("UPDATE node SET parent_id = 2 WHERE id = 3");
    env.my2pg(&["run", "--fresh", "--yes"]).assert_ok();
    assert_eq!(
        held(),
        vec![
            row(&[Some("1"), None]),
            row(&[Some("2"), Some("1")]),
            row(&[Some("3"), Some("2")])
        ]
    );
    assert_eq!(
        env.pg_value(
            "SELECT count(*)::text FROM pg_tables WHERE schemaname = 'my2pg' AND tablename LIKE 'fill%'"
        ),
        Some("0".into())
    );
}

#[test]
fn cycles_fk_to_another_schema_is_a_warning_and_loads() {
    let env = TestEnv::new("cyc_schema");
    env.mysql_exec(
        "CREATE TABLE identity_link (id int NOT NULL PRIMARY KEY, identityId int NOT NULL); \
         INSERT INTO identity_link VALUES (1, 501), (2, 502)",
    );
    env.pg_exec(
        "CREATE SCHEMA kratos; CREATE TABLE kratos.identities (id integer PRIMARY KEY); \
         INSERT INTO kratos.identities VALUES (501), (502); \
         CREATE TABLE identity_link (id integer PRIMARY KEY, \"identityId\" integer NOT NULL \
           CONSTRAINT link_identity_fk REFERENCES kratos.identities (id))",
    );
    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_ok();
    assert_eq!(
        warning_messages(&plan.json(), "references_unloaded_table"),
        vec!["identity_link references kratos.identities (constraint link_identity_fk), which my2pg does not load: those rows must already be there".to_string()]
    );
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT id::text, \"identityId\"::text FROM identity_link ORDER BY id"),
        vec![vec![s("1"), s("501")], vec![s("2"), s("502")]]
    );
}

#[test]
fn cycles_and_keep_identical_write_source_ids_into_generated_always_identity() {
    let env = TestEnv::new("cyc_identity");
    env.mysql_exec(
        "CREATE TABLE node (id int NOT NULL PRIMARY KEY, parent_id int NULL, label varchar(10) NOT NULL); \
         INSERT INTO node VALUES (1, 3, 'a'), (2, NULL, 'b'), (3, 2, 'c'); \
         CREATE TABLE kind (id int NOT NULL PRIMARY KEY, name varchar(10) NOT NULL); \
         INSERT INTO kind VALUES (1, 'password'), (2, 'oidc'), (5, 'totp')",
    );
    env.pg_exec(
        "CREATE TABLE node (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, \
           parent_id integer REFERENCES node (id), label varchar(10) NOT NULL); \
         CREATE TABLE kind (id integer GENERATED ALWAYS AS IDENTITY PRIMARY KEY, name varchar(10) NOT NULL); \
         INSERT INTO kind (id, name) OVERRIDING SYSTEM VALUE VALUES (1, 'password'), (2, 'oidc')",
    );
    env.write_config(
        "[run]\nchunk_rows = 2\nconstraints = \"keep\"\n[tables.\"kind\"]\nexisting_rows = \"keep-identical\"\n",
    );
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT id::text, parent_id::text, label FROM node ORDER BY id"),
        vec![
            vec![s("1"), s("3"), s("a")],
            vec![s("2"), None, s("b")],
            vec![s("3"), s("2"), s("c")]
        ]
    );
    assert_eq!(
        env.pg_rows("SELECT id::text, name FROM kind ORDER BY id"),
        vec![
            vec![s("1"), s("password")],
            vec![s("2"), s("oidc")],
            vec![s("5"), s("totp")]
        ]
    );
    // The identity sequences continue after the loaded ids.
    env.pg_exec("INSERT INTO kind (name) VALUES ('new'); INSERT INTO node (label) VALUES ('n')");
    assert_eq!(env.pg_value("SELECT max(id)::text FROM kind"), s("6"));
    assert_eq!(env.pg_value("SELECT max(id)::text FROM node"), s("4"));
}

/// A self-reference in a table with no primary key: the fill matches rows by a unique key
/// over copied columns, never by one the load leaves to a default (a serial code drawn
/// again for the staged rows would match nothing and leave every parent NULL).
#[test]
fn cycles_fill_keys_by_copied_columns_only() {
    let env = TestEnv::new("cyc_serial_key");
    env.mysql_exec(
        "CREATE TABLE node (id int NOT NULL PRIMARY KEY, parent int NULL, name varchar(10) NOT NULL); \
         INSERT INTO node VALUES (1, NULL, 'root'), (2, 1, 'a'), (3, 2, 'b'), (4, 1, 'c')",
    );
    env.pg_exec(
        "CREATE TABLE node (code serial NOT NULL, id integer NOT NULL, parent integer, name text NOT NULL); \
         CREATE UNIQUE INDEX a_code ON node (code); \
         ALTER TABLE node ADD CONSTRAINT zz_id UNIQUE (id); \
         ALTER TABLE node ADD CONSTRAINT node_parent_fk FOREIGN KEY (parent) REFERENCES node (id)",
    );
    env.write_config("[run]\nchunk_rows = 2\nconstraints = \"keep\"\n");
    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_ok();
    assert_eq!(
        breaks(&plan.json()),
        vec![(
            "node_parent_fk".into(),
            "node".into(),
            "null_then_fill".into()
        )]
    );
    env.my2pg(&["run", "--verify", "--json"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT id::text, parent::text, name FROM node ORDER BY id"),
        vec![
            vec![s("1"), None, s("root")],
            vec![s("2"), s("1"), s("a")],
            vec![s("3"), s("2"), s("b")],
            vec![s("4"), s("1"), s("c")],
        ]
    );
    assert_eq!(fk_state(&env), vec![vec![s("node_parent_fk"), s("true")]]);
}

/// Two target schemas in one database (two tenants): the values one schema's keep run
/// holds back are that schema's alone: another schema's run is neither refused because
/// of them nor drops them with `--fresh`.
#[test]
fn held_back_fk_values_belong_to_their_schema() {
    let env = TestEnv::new("cyc_two_schemas");
    env.mysql_exec(
        "CREATE TABLE node (id int NOT NULL PRIMARY KEY, parent_id int NULL); \
         SET foreign_key_checks = 0; INSERT INTO node VALUES (1, NULL), (2, 1), (3, 77)",
    );
    env.pg_exec(
        "CREATE SCHEMA s1; CREATE SCHEMA s2; \
         CREATE TABLE s1.node (id integer PRIMARY KEY, parent_id integer CONSTRAINT node_parent_fk REFERENCES s1.node (id)); \
         CREATE TABLE s2.node (id integer PRIMARY KEY, parent_id integer CONSTRAINT node_parent_fk REFERENCES s2.node (id))",
    );
    let config = |schema: &str| {
        env.write_raw_config(
            &format!("{schema}.toml"),
            &format!(
                "[source]\nurl = \"{}\"\n[target]\nurl = \"{}\"\nschema = \"{schema}\"\n\
                 [run]\nworkdir = \"{}\"\nconstraints = \"keep\"\n",
                env.mysql_url(),
                env.pg_owner_url(),
                env.dir.join(format!("work-{schema}")).display()
            ),
        )
    };
    let (s1, s2) = (config("s1"), config("s2"));
    // s1 stops at its fill (the orphan): its values stay held back.
    env.cmd(&s1, &["run"]).run().assert_exit(1);
    let held = |schema: &str| {
        env.pg_value(&format!(
            "SELECT count(*)::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'my2pg' AND c.relname LIKE 'fill%' \
             AND obj_description(c.oid, 'pg_class') LIKE '[\"{schema}\",%'"
        ))
    };
    assert_eq!(held("s1"), Some("1".into()));
    // s2 is not refused for s1's values, and its --fresh leaves them alone.
    let out = env.cmd(&s2, &["run"]).run();
    out.assert_exit(1)
        .assert_stderr_contains("Key (parent_id)=(77) is not present in table \"node\"");
    out.check(
        !out.stderr.contains("cannot resume"),
        "another schema's held-back values do not block this one",
    );
    env.cmd(&s2, &["run", "--fresh", "--yes"])
        .run()
        .assert_exit(1);
    assert_eq!(
        held("s1"),
        Some("1".into()),
        "s2's --fresh kept s1's values"
    );
    // And s1, resumed under rebuild, is still refused: its values are still held back.
    let rebuild = env.write_raw_config(
        "s1-rebuild.toml",
        &std::fs::read_to_string(&s1)
            .unwrap()
            .replace("constraints = \"keep\"\n", ""),
    );
    env.cmd(&rebuild, &["run"])
        .run()
        .assert_exit(1)
        .assert_stderr_contains("cannot resume: table \"s1\".\"node\"");
}

/// A cycle whose only nullable edge's child has a trigger on UPDATE (n8n's
/// `workflow_version_increment`): a fill UPDATE would fire it and change the rows
/// (exit 0, wrong data), so the FK is dropped and validated instead; the trigger is not
/// named as firing (my2pg only inserts), and the data is the source's.
#[test]
fn cycles_through_a_table_with_an_update_trigger_drop_the_fk_instead_of_filling() {
    let env = TestEnv::new("cyc_upd_trigger");
    env.mysql_exec(
        "CREATE TABLE wf (id varchar(36) NOT NULL PRIMARY KEY, active_version varchar(36) NULL, \
           version_counter int NOT NULL DEFAULT 1, parent varchar(36) NULL); \
         CREATE TABLE hist (version_id varchar(36) NOT NULL PRIMARY KEY, wf_id varchar(36) NOT NULL); \
         INSERT INTO wf VALUES ('w1', 'v1', 5, 'w2'), ('w2', NULL, 7, NULL); \
         INSERT INTO hist VALUES ('v1', 'w1')",
    );
    env.pg_exec(
        "CREATE TABLE wf (id varchar(36) PRIMARY KEY, active_version varchar(36), \
           version_counter integer NOT NULL DEFAULT 1, \
           parent varchar(36) CONSTRAINT wf_parent_fk REFERENCES wf (id)); \
         CREATE TABLE hist (version_id varchar(36) PRIMARY KEY, \
           wf_id varchar(36) NOT NULL CONSTRAINT hist_wf_fk REFERENCES wf (id)); \
         ALTER TABLE wf ADD CONSTRAINT wf_active_fk FOREIGN KEY (active_version) REFERENCES hist (version_id); \
         CREATE FUNCTION inc_version() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN \
           IF NEW.version_counter IS NOT DISTINCT FROM OLD.version_counter THEN \
             NEW.version_counter := OLD.version_counter + 1; END IF; RETURN NEW; END $$; \
         CREATE TRIGGER wf_version_increment BEFORE UPDATE ON wf FOR EACH ROW EXECUTE FUNCTION inc_version()",
    );
    env.write_config("[run]\nconstraints = \"keep\"\n");
    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_ok();
    // Neither cycle is filled: the wf <-> hist one breaks at its NOT NULL edge, wf's
    // self-reference (nullable, otherwise a fill) is dropped for the trigger.
    assert_eq!(
        breaks(&plan.json()),
        vec![
            (
                "hist_wf_fk".into(),
                "hist".into(),
                "drop_and_validate".into()
            ),
            (
                "wf_parent_fk".into(),
                "wf".into(),
                "drop_and_validate".into()
            ),
        ]
    );
    plan.assert_stderr_contains(
        "wf_parent_fk (wf -> wf): wf has a trigger on UPDATE, which filling the FK columns would \
         fire: the constraint is dropped for the load",
    );
    // An UPDATE trigger never fires during the load: not named.
    assert_eq!(
        warning_messages(&plan.json(), "user_trigger"),
        Vec::<String>::new()
    );
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT id, active_version, version_counter::text, parent FROM wf ORDER BY id"),
        vec![
            vec![s("w1"), s("v1"), s("5"), s("w2")],
            vec![s("w2"), None, s("7"), None]
        ]
    );
    assert_eq!(
        fk_state(&env),
        vec![
            vec![s("hist_wf_fk"), s("true")],
            vec![s("wf_active_fk"), s("true")],
            vec![s("wf_parent_fk"), s("true")]
        ]
    );
    env.my2pg(&["verify", "--level", "full"])
        .assert_ok()
        .assert_stderr_contains("verify (full): equal");
}
