//! `my2pg check`: every source value through the chosen converters, nothing written.
//! Each problem class is counted per column with the first sample keys (in key order);
//! values a policy or rule handles are reported with handled_by_policy = true.

use crate::common::{check_findings as findings, my_str, CheckFinding, TestEnv};

/// One reader: no `FLUSH TABLES WITH READ LOCK`, so a long write by another client of the
/// shared MariaDB server cannot stall these conversion tests (snapshots are covered elsewhere).
fn config(env: &TestEnv, extra: &str) {
    env.write_config(&format!("[workers]\nreaders = 1\n{extra}"));
}

type Finding = CheckFinding;

fn f(t: &str, c: &str, class: &str, n: u64, samples: &[&str], handled: bool) -> Finding {
    (
        t.into(),
        c.into(),
        class.into(),
        n,
        samples.iter().map(|s| s.to_string()).collect(),
        handled,
    )
}

fn message<'a>(report: &'a serde_json::Value, table: &str, column: &str, class: &str) -> &'a str {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["table"] == table && x["column"] == column && x["class"] == class)
        .and_then(|x| x["message"].as_str())
        .unwrap_or_else(|| panic!("no finding {table}.{column} {class} in {report:#}"))
}

/// A source with every problem class, and its target schema.
fn seed(env: &TestEnv) {
    env.mysql_exec(&format!(
        "SET SESSION sql_mode = ''; \
         CREATE TABLE parent (id int NOT NULL PRIMARY KEY); \
         INSERT INTO parent VALUES (1), (2); \
         CREATE TABLE child (id int NOT NULL PRIMARY KEY, parentId int NULL); \
         INSERT INTO child VALUES (1, 1), (2, NULL), (3, 99), (4, 2), (5, 98); \
         CREATE TABLE dates (id int NOT NULL PRIMARY KEY, d date NULL, dt datetime NULL); \
         INSERT INTO dates VALUES (1, '0000-00-00', '2024-01-01 00:00:00'), \
           (2, '2024-00-15', '0000-00-00 00:00:00'), (3, '2024-01-01', '2024-02-00 00:00:00'), \
           (4, '0000-00-00', NULL), (5, NULL, NULL); \
         CREATE TABLE texts (id int NOT NULL PRIMARY KEY, t text NULL, m3 text CHARACTER SET utf8mb3 NULL); \
         INSERT INTO texts VALUES (1, 'ok', 'ok'), (2, {ab}, X'6162EDA080'), (3, {nul}, 'x'), (4, NULL, NULL); \
         CREATE TABLE nums (id int NOT NULL PRIMARY KEY, iu int unsigned NULL, flag tinyint(1) NULL, \
           p decimal(10,4) NULL); \
         INSERT INTO nums VALUES (1, 4294967295, 2, 1.2345), (2, 5, 1, 1.2300), (3, 2147483648, 0, NULL); \
         CREATE TABLE refs (id varchar(10) NOT NULL PRIMARY KEY, u char(36) NULL, j text NULL, \
           v varchar(50) NULL, e text NULL); \
         INSERT INTO refs VALUES ('k3', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '[1,', 'x', 'green'), \
           ('k1', 'not-a-uuid', '{{bad', 'abcdef', 'purple'), ('k2', '', '{{\"a\":1}}', 'abcde', 'red'), \
           ('k4', NULL, NULL, NULL, NULL)",
        ab = my_str("a\0b"),
        nul = my_str("\0"),
    ));
    env.pg_exec(
        "CREATE TABLE parent (id integer PRIMARY KEY); \
         CREATE TABLE child (id integer PRIMARY KEY, \"parentId\" integer \
           CONSTRAINT fk_child_parent REFERENCES parent (id)); \
         CREATE TABLE dates (id integer PRIMARY KEY, d date, dt timestamp); \
         CREATE TABLE texts (id integer PRIMARY KEY, t text, m3 text); \
         CREATE TABLE nums (id integer PRIMARY KEY, iu integer, flag boolean, p numeric(10,2)); \
         CREATE TYPE color AS ENUM ('red', 'blue'); \
         CREATE TABLE refs (id varchar(10) PRIMARY KEY, u uuid, j jsonb, v varchar(5), e color)",
    );
}

/// The findings of `seed` with no policy: every one would fail the cut-over.
/// (bit(1) cannot hold 2 in MariaDB, so not_boolean is seeded through tinyint(1).)
fn unhandled() -> Vec<Finding> {
    let mut v = vec![
        f(
            "child",
            "parentId",
            "orphan_fk",
            2,
            &["(id)=(3) parentId=(99)", "(id)=(5) parentId=(98)"],
            false,
        ),
        f(
            "nums",
            "flag",
            "not_boolean",
            1,
            &["(id)=(1) value 2"],
            false,
        ),
        f(
            "nums",
            "iu",
            "out_of_range",
            2,
            &["(id)=(1) value 4294967295", "(id)=(3) value 2147483648"],
            false,
        ),
        f(
            "nums",
            "p",
            "precision_loss",
            1,
            &["(id)=(1) value \"1.2345\""],
            false,
        ),
        f(
            "refs",
            "e",
            "enum_label_missing",
            2,
            &[
                "(id)=(\"k1\") value \"purple\"",
                "(id)=(\"k3\") value \"green\"",
            ],
            false,
        ),
        f(
            "refs",
            "j",
            "invalid_json",
            2,
            &[
                "(id)=(\"k1\") value \"{bad\"",
                "(id)=(\"k3\") value \"[1,\"",
            ],
            false,
        ),
        f(
            "refs",
            "v",
            "too_long",
            1,
            &["(id)=(\"k1\") value \"abcdef\""],
            false,
        ),
        f(
            "texts",
            "m3",
            "invalid_utf8",
            1,
            &["(id)=(2) value bytes \\x6162eda080"],
            false,
        ),
    ];
    v.sort();
    v
}

/// Nothing was written: no work directory, no ledger, empty target tables.
fn assert_wrote_nothing(env: &TestEnv) {
    assert!(
        !env.workdir.exists(),
        "check created the work directory {}",
        env.workdir.display()
    );
    assert_eq!(
        env.pg_value("SELECT count(*)::text FROM pg_namespace WHERE nspname = 'my2pg'"),
        Some("0".into()),
        "check created the ledger schema"
    );
    for t in ["parent", "child", "dates", "texts", "nums", "refs"] {
        assert_eq!(env.pg_count(t), 0, "check wrote rows into {t}");
    }
}

#[test]
fn check_counts_every_problem_class_with_sample_keys() {
    let env = TestEnv::new("check_all");
    seed(&env);
    config(&env, "");
    let out = env.my2pg(&["check", "--json"]);
    out.assert_exit(1);
    let report = out.json();
    assert_eq!(report["command"], "check");
    assert_eq!(report["ok"], false);
    assert_eq!(report["tables_scanned"], 6);
    assert_eq!(report["rows_scanned"], 2 + 5 + 5 + 4 + 3 + 4);
    let mut expected = unhandled();
    expected.extend([
        f(
            "dates",
            "d",
            "partial_date",
            1,
            &["(id)=(2) value 2024-00-15"],
            false,
        ),
        f(
            "dates",
            "d",
            "zero_date",
            2,
            &["(id)=(1) value 0000-00-00", "(id)=(4) value 0000-00-00"],
            false,
        ),
        f(
            "dates",
            "dt",
            "partial_date",
            1,
            &["(id)=(3) value 2024-02-00 00:00:00"],
            false,
        ),
        f(
            "dates",
            "dt",
            "zero_date",
            1,
            &["(id)=(2) value 0000-00-00 00:00:00"],
            false,
        ),
        f(
            "refs",
            "u",
            "invalid_uuid",
            2,
            &[
                "(id)=(\"k1\") value \"not-a-uuid\"",
                "(id)=(\"k2\") value \"\"",
            ],
            false,
        ),
        f(
            "texts",
            "t",
            "nul_byte",
            2,
            &["(id)=(2) value \"a\\0b\"", "(id)=(3) value \"\\0\""],
            false,
        ),
    ]);
    expected.sort();
    assert_eq!(findings(&report), expected);
    assert_eq!(
        message(&report, "dates", "d", "zero_date"),
        "2 value(s) of dates.d (date -> date): zero_date, the cut-over would fail: fix them in \
         the source, or turn them into NULL: [run] zero_dates = \"null\" (or convert = \
         \"zero_date_to_null\" for the column; nullable targets only)"
    );
    assert_eq!(
        message(&report, "child", "parentId", "orphan_fk"),
        "2 row(s) of child reference no row of parent (constraint fk_child_parent): the load \
         would fail; fix or delete those rows in the source (or add the missing parents)"
    );
    // The text report says the same under each finding.
    let human = env.my2pg(&["check"]);
    human.assert_exit(1).assert_stderr_contains(
        "\n      2 value(s) of dates.d (date -> date): zero_date, the cut-over would fail: fix \
         them in the source, or turn them into NULL",
    );
    assert_wrote_nothing(&env);
}

#[test]
fn check_marks_values_handled_by_policies() {
    let env = TestEnv::new("check_policies");
    seed(&env);
    config(
        &env,
        "[columns.\"texts.t\"]\nconvert = \"strip_nul\"\n\
         [columns.\"refs.u\"]\nconvert = \"empty_to_null\"\n\
         [run]\nzero_dates = \"null\"",
    );
    let out = env.my2pg(&["check", "--json"]);
    // Unhandled classes remain: the cut-over would still fail.
    out.assert_exit(1);
    let report = out.json();
    assert_eq!(report["ok"], false);
    assert_eq!(report["rows_scanned"], 23);
    let mut expected = unhandled();
    expected.extend([
        f(
            "dates",
            "d",
            "partial_date",
            1,
            &["(id)=(2) value 2024-00-15"],
            true,
        ),
        f(
            "dates",
            "d",
            "zero_date",
            2,
            &["(id)=(1) value 0000-00-00", "(id)=(4) value 0000-00-00"],
            true,
        ),
        f(
            "dates",
            "dt",
            "partial_date",
            1,
            &["(id)=(3) value 2024-02-00 00:00:00"],
            true,
        ),
        f(
            "dates",
            "dt",
            "zero_date",
            1,
            &["(id)=(2) value 0000-00-00 00:00:00"],
            true,
        ),
        // '' is handled by empty_to_null; 'not-a-uuid' is not.
        f(
            "refs",
            "u",
            "invalid_uuid",
            1,
            &["(id)=(\"k1\") value \"not-a-uuid\""],
            false,
        ),
        f(
            "refs",
            "u",
            "invalid_uuid",
            1,
            &["(id)=(\"k2\") value \"\""],
            true,
        ),
        f(
            "texts",
            "t",
            "nul_byte",
            2,
            &["(id)=(2) value \"a\\0b\"", "(id)=(3) value \"\\0\""],
            true,
        ),
    ]);
    expected.sort();
    assert_eq!(findings(&report), expected);
    assert_eq!(
        message(&report, "texts", "t", "nul_byte"),
        "2 value(s) of texts.t (text -> text): nul_byte, handled by rule strip_nul"
    );
    assert_wrote_nothing(&env);
}

#[test]
fn check_exits_0_when_every_finding_is_handled() {
    let env = TestEnv::new("check_handled");
    env.mysql_exec(
        "SET SESSION sql_mode = ''; \
         CREATE TABLE ev (id int NOT NULL PRIMARY KEY, d date NULL, u char(36) NULL); \
         INSERT INTO ev VALUES (1, '0000-00-00', ''), (2, '2024-01-01', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'), \
         (3, '2024-05-00', NULL)",
    );
    env.pg_exec("CREATE TABLE ev (id integer PRIMARY KEY, d date, u uuid)");
    config(
        &env,
        "[columns.\"ev.u\"]\nconvert = \"empty_to_null\"\n[run]\nzero_dates = \"null\"",
    );
    let out = env.my2pg(&["check", "--json"]);
    out.assert_ok();
    let report = out.json();
    assert_eq!(report["ok"], true);
    assert_eq!(report["rows_scanned"], 3);
    assert_eq!(
        findings(&report),
        vec![
            f(
                "ev",
                "d",
                "partial_date",
                1,
                &["(id)=(3) value 2024-05-00"],
                true
            ),
            f(
                "ev",
                "d",
                "zero_date",
                1,
                &["(id)=(1) value 0000-00-00"],
                true
            ),
            f("ev", "u", "invalid_uuid", 1, &["(id)=(1) value \"\""], true),
        ]
    );
    assert!(!env.workdir.exists(), "check created the work directory");
    assert_eq!(env.pg_count("ev"), 0);
}

#[test]
fn check_clean_source_exits_0_with_no_findings() {
    let env = TestEnv::new("check_clean");
    env.mysql_exec(
        "CREATE TABLE parent (id int NOT NULL PRIMARY KEY, name varchar(20) NOT NULL); \
         CREATE TABLE child (id int NOT NULL PRIMARY KEY, parentId int NULL, at datetime(6) NULL, \
           flag tinyint(1) NOT NULL, ref char(36) NULL, doc text NULL); \
         INSERT INTO parent VALUES (1, 'a'), (2, 'b'), (3, ''); \
         INSERT INTO child VALUES (1, 1, '2024-01-01 00:00:00.000001', 1, 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{\"a\":[1]}'), \
           (2, NULL, NULL, 0, NULL, NULL), (3, 3, '1970-01-01 00:00:00', 0, '00000000-0000-0000-0000-000000000000', '[]'), \
           (4, 2, '9999-12-31 23:59:59.999999', 1, NULL, 'null')",
    );
    env.pg_exec(
        "CREATE TABLE parent (id integer PRIMARY KEY, name varchar(20) NOT NULL); \
         CREATE TABLE child (id integer PRIMARY KEY, \"parentId\" integer REFERENCES parent (id), \
           at timestamp(6), flag boolean NOT NULL, ref uuid, doc jsonb)",
    );
    config(&env, "[run]\nbatch_rows = 2");
    let out = env.my2pg(&["check", "--json"]);
    out.assert_ok();
    let report = out.json();
    assert_eq!(report["command"], "check");
    assert_eq!(report["ok"], true);
    assert_eq!(report["tables_scanned"], 2);
    assert_eq!(report["rows_scanned"], 7);
    assert_eq!(findings(&report), vec![]);
    assert!(!env.workdir.exists(), "check created the work directory");
    assert_eq!(env.pg_count("parent"), 0);
    assert_eq!(env.pg_count("child"), 0);
    // Human output goes to stderr.
    out.assert_stderr_contains("check: clean, nothing would fail the cut-over");
}

/// A NULL into a NOT NULL target column and a date only ALLOW_INVALID_DATES could store
/// used to pass `check` and fail the COPY: both are now counted, and `run` names the row.
#[test]
fn check_counts_nulls_into_not_null_and_impossible_dates() {
    let env = TestEnv::new("check_null_date");
    env.mysql_exec(
        "SET SESSION sql_mode = 'ALLOW_INVALID_DATES'; \
         CREATE TABLE ev (id int NOT NULL PRIMARY KEY, name varchar(10) NULL, d date NULL); \
         INSERT INTO ev VALUES (1, 'a', '2024-02-29'), (2, NULL, '2024-02-30'), \
           (3, NULL, '2023-02-29'), (4, 'd', NULL), (5, 'e', '2024-04-31')",
    );
    env.pg_exec("CREATE TABLE ev (id integer PRIMARY KEY, name varchar(10) NOT NULL, d date)");
    config(&env, "");

    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_ok();
    let warned: Vec<(String, String)> = plan.json()["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["kind"] == "nullable_into_not_null")
        .map(|w| {
            (
                w["column"].as_str().unwrap().to_string(),
                w["message"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        warned,
        vec![(
            "name".to_string(),
            "ev.name: the source column is nullable and target column \"name\" is NOT NULL: \
             a NULL fails the run, naming its row (`my2pg check` counts them)"
                .to_string()
        )]
    );

    let out = env.my2pg(&["check", "--json"]);
    out.assert_exit(1);
    let mut want = vec![
        f(
            "ev",
            "d",
            "invalid_date",
            3,
            &[
                "(id)=(2) value 2024-02-30",
                "(id)=(3) value 2023-02-29",
                "(id)=(5) value 2024-04-31",
            ],
            false,
        ),
        f(
            "ev",
            "name",
            "null_into_not_null",
            2,
            &["(id)=(2) value NULL", "(id)=(3) value NULL"],
            false,
        ),
    ];
    want.sort();
    assert_eq!(findings(&out.json()), want);

    let run = env.my2pg(&["run", "--json"]);
    run.assert_exit(1).assert_stderr_contains(
        "table `ev`, column `name`, primary key (id)=(2): cannot convert NULL: \
         the target column \"name\" is NOT NULL",
    );
    assert_eq!(env.pg_count("ev"), 0);

    // With the NULLs fixed at the source, the impossible date is what stops the run.
    env.mysql_exec("UPDATE ev SET name = 'x' WHERE name IS NULL");
    let run = env.my2pg(&["run", "--json"]);
    run.assert_exit(1).assert_stderr_contains(
        "table `ev`, column `d`, primary key (id)=(2): cannot convert 2024-02-30: \
         2024-02-30 is not a calendar date (MySQL keeps it under ALLOW_INVALID_DATES)",
    );
    assert_eq!(env.pg_count("ev"), 0);
}

/// MySQL's usual collations let an FK value differ from its parent key in case or
/// trailing spaces; Postgres compares text exactly and the load would fail. Into a uuid
/// target the spelling does not matter (both become one uuid), so that is no orphan.
#[test]
fn orphan_scan_compares_text_keys_as_postgres_does() {
    let env = TestEnv::new("check_fk_exact");
    env.mysql_exec(
        "CREATE TABLE parent (code varchar(20) NOT NULL PRIMARY KEY, \
           ref char(36) NOT NULL UNIQUE) COLLATE utf8mb4_general_ci; \
         INSERT INTO parent VALUES ('abc', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'), \
           ('def', 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'); \
         CREATE TABLE child (id int NOT NULL PRIMARY KEY, code varchar(20) NULL, \
           ref char(36) NULL, \
           CONSTRAINT fk_code FOREIGN KEY (code) REFERENCES parent (code), \
           CONSTRAINT fk_ref FOREIGN KEY (ref) REFERENCES parent (ref)) COLLATE utf8mb4_general_ci; \
         INSERT INTO child VALUES (1, 'abc', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'), \
           (2, 'ABC', NULL), (3, 'def ', NULL), (4, NULL, 'b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')",
    );
    env.pg_exec(
        "CREATE TABLE parent (code varchar(20) PRIMARY KEY, ref uuid NOT NULL UNIQUE); \
         CREATE TABLE child (id integer PRIMARY KEY, \
           code varchar(20) CONSTRAINT fk_code REFERENCES parent (code), \
           ref uuid CONSTRAINT fk_ref REFERENCES parent (ref))",
    );
    config(&env, "");
    let out = env.my2pg(&["check", "--json"]);
    out.assert_exit(1);
    assert_eq!(
        findings(&out.json()),
        vec![f(
            "child",
            "code",
            "orphan_fk",
            2,
            &["(id)=(2) code=(\"ABC\")", "(id)=(3) code=(\"def \")"],
            false
        )]
    );
    assert_eq!(
        out.json()["findings"][0]["message"],
        "2 row(s) of child reference no row of parent (constraint fk_code): the load would \
         fail; 2 of them match a parent row only under MySQL's comparison (letter case or \
         trailing spaces differ, or the text a number or a date is written as), and \
         PostgreSQL compares the bytes; fix or delete those rows in the source (or add the \
         missing parents)"
    );
    // And the load agrees: Postgres refuses exactly those rows.
    let out = env.my2pg(&["run"]);
    out.assert_exit(1).assert_stderr_contains("fk_code");
}

/// A child table without a key is scanned too (orphans counted per FK value), and a
/// number referencing a string key compares as the text the copy writes: MySQL's
/// `'05' = 5` holds, Postgres's `'05' = '5'` does not.
#[test]
fn orphan_scan_covers_keyless_children_and_numbers_against_text() {
    let env = TestEnv::new("check_fk_keyless");
    env.mysql_exec(
        "CREATE TABLE p (id int NOT NULL PRIMARY KEY, code varchar(10) NOT NULL UNIQUE); \
         INSERT INTO p VALUES (1, '05'), (2, '7'), (3, '42'); \
         CREATE TABLE zc (code int(5) zerofill NOT NULL PRIMARY KEY); INSERT INTO zc VALUES (42); \
         CREATE TABLE pdt (d datetime NOT NULL PRIMARY KEY); \
         INSERT INTO pdt VALUES ('2024-01-01 00:00:00'), ('2024-01-02 00:00:00'); \
         CREATE TABLE cdt (id int NOT NULL PRIMARY KEY, d datetime(3) NULL); \
         INSERT INTO cdt VALUES (1, '2024-01-01 00:00:00'), (2, NULL); \
         CREATE TABLE log (pid int NULL, note varchar(10) NULL); \
         INSERT INTO log VALUES (1, 'ok'), (99, 'a'), (99, 'b'), (NULL, 'c'), (98, 'd'); \
         CREATE TABLE c (id int NOT NULL PRIMARY KEY, code int NULL); \
         INSERT INTO c VALUES (1, 5), (2, 7), (3, NULL); \
         CREATE TABLE p2 (a int NOT NULL, b int NOT NULL, PRIMARY KEY (a, b)); \
         INSERT INTO p2 VALUES (1, 1); \
         CREATE TABLE c2 (id int NOT NULL PRIMARY KEY, a int NULL, b int NULL); \
         INSERT INTO c2 VALUES (1, 1, 1), (2, 7, NULL), (3, NULL, NULL), (4, NULL, 1)",
    );
    env.pg_exec(
        "CREATE TABLE p (id integer PRIMARY KEY, code text NOT NULL UNIQUE); \
         CREATE TABLE log (pid integer REFERENCES p (id), note text); \
         CREATE TABLE c (id integer PRIMARY KEY, code text REFERENCES p (code)); \
         CREATE TABLE zc (code text PRIMARY KEY REFERENCES p (code)); \
         CREATE TABLE pdt (d text PRIMARY KEY); \
         CREATE TABLE cdt (id integer PRIMARY KEY, d varchar(30) REFERENCES pdt (d)); \
         CREATE TABLE p2 (a integer, b integer, PRIMARY KEY (a, b)); \
         CREATE TABLE c2 (id integer PRIMARY KEY, a integer, b integer, \
           CONSTRAINT c2_full FOREIGN KEY (a, b) REFERENCES p2 MATCH FULL)",
    );
    config(&env, "");
    let out = env.my2pg(&["check", "--json"]);
    out.assert_exit(1);
    assert_eq!(
        findings(&out.json()),
        vec![
            f("c", "code", "orphan_fk", 1, &["(id)=(1) code=(5)"], false),
            // MATCH FULL: all of the columns or none (MySQL knows only MATCH SIMPLE).
            f(
                "c2",
                "a, b",
                "orphan_fk",
                2,
                &["(id)=(2) a, b=(7, NULL)", "(id)=(4) a, b=(NULL, 1)"],
                false
            ),
            // The copy writes datetime(3)'s text with 3 digits: 2024-01-01 00:00:00.000 is
            // not the parent's 2024-01-01 00:00:00. (zerofill key 42 is written as 42 and
            // finds its parent.)
            f(
                "cdt",
                "d",
                "orphan_fk",
                1,
                &["(id)=(1) d=(2024-01-01 00:00:00.000000)"],
                false
            ),
            f(
                "log",
                "pid",
                "orphan_fk",
                3,
                &["pid=(98) in 1 row(s)", "pid=(99) in 2 row(s)"],
                false
            ),
        ]
    );
    assert_eq!(
        message(&out.json(), "c2", "a, b", "orphan_fk"),
        "2 row(s) of c2 mix NULL and non-NULL values in the columns of MATCH FULL foreign key \
         c2_full: the load would fail; set all of them or none in the source, or make the \
         constraint MATCH SIMPLE"
    );
    // The load agrees on both.
    env.my2pg(&["run"])
        .assert_exit(1)
        .assert_stderr_contains("is not present in table \"p\"");
    env.mysql_exec(
        "DELETE FROM log WHERE pid > 2; UPDATE c SET code = 50 WHERE id = 1; \
         UPDATE p SET code = '50' WHERE id = 1; DELETE FROM c2 WHERE id IN (2, 4); \
         DELETE FROM cdt WHERE id = 1",
    );
    env.my2pg(&["check"]).assert_ok();
    env.my2pg(&["run", "--fresh", "--yes"]).assert_ok();
}

/// Rows that repeat a value of a target primary or unique key the source does not keep
/// unique (a table without a key, a key the new schema added, NULs a rule strips) are
/// found before they fail the load; NULLs, which never collide in PostgreSQL, are not.
#[test]
fn check_finds_rows_that_repeat_a_target_key_the_source_does_not_enforce() {
    let env = TestEnv::new("check_dup_keys");
    env.mysql_exec(&format!(
        "CREATE TABLE history (itemid bigint unsigned NOT NULL, clock int NOT NULL, \
           ns int NOT NULL, value text NOT NULL, KEY history_1 (itemid, clock)); \
         INSERT INTO history VALUES (9, 10, 1, 'a'), (9, 10, 1, 'b'), (9, 10, 2, 'c'), \
           (5, 100, 7, 'x'), (5, 100, 7, 'y'), (5, 100, 7, 'z'); \
         CREATE TABLE users (id int NOT NULL PRIMARY KEY, email varchar(50) NULL, \
           nick varchar(20) NOT NULL, UNIQUE KEY users_nick (nick)); \
         INSERT INTO users VALUES (1, 'a@x', {ab}), (2, 'A@x', 'ab'), (3, 'a@x', 'c'), \
           (4, NULL, 'd'), (5, NULL, 'e'); \
         CREATE TABLE readings (v float NOT NULL); \
         INSERT INTO readings VALUES (1.0000001), (1.0000002), (16777216), (16777215), (2.5), (2.5)",
        ab = my_str("a\0b"),
    ));
    env.pg_exec(
        "CREATE TABLE history (itemid numeric(20) NOT NULL, clock integer NOT NULL, \
           ns integer NOT NULL, value text NOT NULL, PRIMARY KEY (itemid, clock, ns)); \
         CREATE TABLE users (id integer PRIMARY KEY, email varchar(50) UNIQUE, \
           nick varchar(20) NOT NULL CONSTRAINT users_nick UNIQUE); \
         CREATE TABLE readings (v real NOT NULL UNIQUE)",
    );
    config(&env, "[columns.\"users.nick\"]\nconvert = \"strip_nul\"\n");
    let out = env.my2pg(&["check", "--json"]);
    out.assert_exit(1);
    let report = out.json();
    assert_eq!(
        findings(&report),
        vec![
            f(
                "history",
                "itemid, clock, ns",
                "duplicate_key",
                3,
                &[
                    // Numbers show as numbers.
                    "(itemid, clock, ns)=(5, 100, 7) in 3 rows",
                    "(itemid, clock, ns)=(9, 10, 1) in 2 rows"
                ],
                false
            ),
            // Only the real repeat: floats are compared as values, not as display text.
            f(
                "readings",
                "v",
                "duplicate_key",
                1,
                &["(v)=(2.5) in 2 rows"],
                false
            ),
            f(
                "users",
                "email",
                "duplicate_key",
                1,
                &["(email)=(\"a@x\") in 2 rows"],
                false
            ),
            f(
                "users",
                "nick",
                "duplicate_key",
                1,
                &["(nick)=(\"ab\") in 2 rows"],
                false
            ),
            f(
                "users",
                "nick",
                "nul_byte",
                1,
                &["(id)=(1) value \"a\\0b\""],
                true
            ),
        ]
    );
    assert_eq!(
        message(&report, "history", "itemid, clock, ns", "duplicate_key"),
        "3 row(s) of history repeat a value of the target's primary key history_pkey on \
         \"public\".\"history\" (itemid, clock, ns), which the source does not keep unique: \
         the load would fail; remove or merge the duplicate rows in the source (or drop that \
         key from the target)"
    );
    assert_eq!(
        message(&report, "users", "nick", "duplicate_key"),
        "1 row(s) of users repeat a value of the target's unique key users_nick on \
         \"public\".\"users\" (nick), which the source does not keep unique once strip_nul \
         has removed NUL bytes: the load would fail; remove or merge the duplicate rows in \
         the source (or drop that key from the target)"
    );
    // The load agrees: PostgreSQL refuses the first repeated key.
    env.my2pg(&["run"])
        .assert_exit(1)
        .assert_stderr_contains("already exists.; constraint: ")
        .assert_stderr_contains(
            // After the row's key where the table has one.
            "(SQLSTATE 23505); ",
        )
        .assert_stderr_contains(
            "; `my2pg check` lists the source rows that repeat a key the source does not keep \
             unique, values that become equal in the conversion included (letter case or \
             hyphens into uuid, letter case into citext, trailing spaces into char(n)); not for \
             a partial or expression unique index, which `plan` lists\n",
        );

    // A NULLS NOT DISTINCT target key over a source unique key that lets NULLs repeat.
    env.mysql_exec(
        "DROP TABLE history, users, readings; \
         CREATE TABLE u (id int NOT NULL PRIMARY KEY, a int NULL, UNIQUE KEY u_a (a)); \
         INSERT INTO u VALUES (1, NULL), (2, NULL), (3, 5), (4, NULL)",
    );
    env.pg_exec(
        "DROP TABLE history, users, readings; \
         CREATE TABLE u (id integer PRIMARY KEY, a integer CONSTRAINT u_a UNIQUE NULLS NOT DISTINCT)",
    );
    config(&env, "");
    let out = env.my2pg(&["check", "--json"]);
    out.assert_exit(1);
    let report = out.json();
    assert_eq!(
        findings(&report),
        vec![f(
            "u",
            "a",
            "duplicate_key",
            2,
            &["(a)=(NULL) in 3 rows"],
            false
        )]
    );
    assert_eq!(
        message(&report, "u", "a", "duplicate_key"),
        "2 row(s) of u repeat a value of the target's unique key u_a on \"public\".\"u\" (a), \
         which the source does not keep unique (MySQL's unique keys let NULLs repeat; this one \
         is NULLS NOT DISTINCT): the load would fail; remove or merge the duplicate rows in \
         the source (or drop that key from the target)"
    );
}

/// Keys the source keeps unique whose values become equal in the target type: letter case
/// into citext under a `_bin` collation, letter case and hyphens into uuid (hyphens even
/// under a `_ci` collation), trailing spaces into char(n) under a NO PAD collation. Keys
/// whose collation already compares as the target does cost no scan and find nothing.
#[test]
fn check_finds_keys_that_become_equal_only_in_the_target_type() {
    let env = TestEnv::new("check_dup_converted");
    env.pg_admin_exec("CREATE EXTENSION citext");
    env.mysql_exec(
        "CREATE TABLE emails (id int NOT NULL PRIMARY KEY, \
           email varchar(50) COLLATE utf8mb4_bin NULL, UNIQUE KEY emails_email (email)); \
         INSERT INTO emails VALUES (1, 'Ann@x.org'), (2, 'ann@x.org'), (3, 'bob@x.org'), \
           (4, NULL), (5, 'ANN@X.ORG'); \
         CREATE TABLE names (id int NOT NULL PRIMARY KEY, \
           name varchar(50) COLLATE utf8mb4_general_ci NOT NULL, UNIQUE KEY names_name (name)); \
         INSERT INTO names VALUES (1, 'Ann'), (2, 'bob'); \
         CREATE TABLE tokens (id char(36) COLLATE utf8mb4_general_ci NOT NULL PRIMARY KEY, n int NOT NULL); \
         INSERT INTO tokens VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', 1), \
           ('A0EEBC999C0B4EF8BB6D6BB9BD380A11', 2), ('b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', 3); \
         CREATE TABLE tokens_ci (id char(36) COLLATE utf8mb4_general_ci NOT NULL PRIMARY KEY); \
         INSERT INTO tokens_ci VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'), \
           ('B0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A12'); \
         CREATE TABLE tokens_bin (id char(36) COLLATE utf8mb4_bin NOT NULL PRIMARY KEY); \
         INSERT INTO tokens_bin VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'), \
           ('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'), ('c0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13'); \
         CREATE TABLE codes (code varchar(10) COLLATE utf8mb4_nopad_bin NOT NULL PRIMARY KEY); \
         INSERT INTO codes VALUES ('ab'), ('ab '), ('ab  '), ('cd'); \
         CREATE TABLE codes_pad (code varchar(10) COLLATE utf8mb4_bin NOT NULL PRIMARY KEY); \
         INSERT INTO codes_pad VALUES ('ab'), ('cd '); \
         CREATE TABLE keyless (u char(36) NOT NULL); \
         INSERT INTO keyless VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'), \
           ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11')",
    );
    env.pg_exec(
        "CREATE TABLE emails (id integer PRIMARY KEY, email citext CONSTRAINT emails_email UNIQUE); \
         CREATE TABLE names (id integer PRIMARY KEY, name citext NOT NULL CONSTRAINT names_name UNIQUE); \
         CREATE TABLE tokens (id uuid PRIMARY KEY, n integer NOT NULL); \
         CREATE TABLE tokens_ci (id uuid PRIMARY KEY); \
         CREATE TABLE tokens_bin (id uuid PRIMARY KEY); \
         CREATE TABLE codes (code char(10) PRIMARY KEY); \
         CREATE TABLE codes_pad (code char(10) PRIMARY KEY); \
         CREATE TABLE keyless (u uuid PRIMARY KEY)",
    );
    config(&env, "");
    let out = env.my2pg(&["check", "--json"]);
    out.assert_exit(1);
    let report = out.json();
    assert_eq!(
        findings(&report),
        vec![
            f(
                "codes",
                "code",
                "duplicate_key",
                2,
                &["(code)=(\"ab\") in 3 rows, spelled \"ab\" to \"ab  \""],
                false
            ),
            f(
                "emails",
                "email",
                "duplicate_key",
                2,
                &["(email)=(\"ann@x.org\") in 3 rows, spelled \"ANN@X.ORG\" to \"ann@x.org\""],
                false
            ),
            // An exact repeat has one spelling.
            f(
                "keyless",
                "u",
                "duplicate_key",
                1,
                &["(u)=(\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\") in 2 rows"],
                false
            ),
            f(
                "tokens",
                "id",
                "duplicate_key",
                1,
                &["(id)=(\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\") in 2 rows, spelled \
                   \"A0EEBC999C0B4EF8BB6D6BB9BD380A11\" to \"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\""],
                false
            ),
            f(
                "tokens_bin",
                "id",
                "duplicate_key",
                1,
                &["(id)=(\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\") in 2 rows, spelled \
                   \"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11\" to \"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\""],
                false
            ),
        ]
    );
    assert_eq!(
        message(&report, "emails", "email", "duplicate_key"),
        "2 row(s) of emails repeat a value of the target's unique key emails_email on \
         \"public\".\"emails\" (email), which the source does not keep unique (its unique key \
         tells apart letter case, which citext ignores): the load would fail; remove or merge \
         the duplicate rows in the source (or drop that key from the target)"
    );
    assert_eq!(
        message(&report, "tokens", "id", "duplicate_key"),
        "1 row(s) of tokens repeat a value of the target's primary key tokens_pkey on \
         \"public\".\"tokens\" (id), which the source does not keep unique (its unique key \
         tells apart spellings of a uuid in another letter case or without hyphens, which uuid \
         reads as one value): the load would fail; remove \
         or merge the duplicate rows in the source (or drop that key from the target)"
    );
    assert_eq!(
        message(&report, "codes", "code", "duplicate_key"),
        "2 row(s) of codes repeat a value of the target's primary key codes_pkey on \
         \"public\".\"codes\" (code), which the source does not keep unique (its unique key \
         tells apart trailing spaces, which char(n) ignores): the load would fail; remove or \
         merge the duplicate rows in the source (or drop that key from the target)"
    );
    // The load agrees on the first of them it meets.
    env.my2pg(&["run"])
        .assert_exit(1)
        .assert_stderr_contains("(SQLSTATE 23505); ");
    // status leads with the violation, not with "run it again".
    let hint = env.my2pg(&["status", "--json"]).json()["last_run"]["hint"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        hint.contains(
            "still to do): the last `my2pg run` stopped on rows the target refused or my2pg \
             could not convert (they violate a constraint, hold a value a column cannot take, \
             or differ from a row existing_rows = \"keep-identical\" keeps; its error named \
             them). Fix those rows in the source and run `my2pg run --fresh \
             --yes`"
        ),
        "{hint}"
    );
    // Without the repeats, check is clean and the run loads every spelling.
    env.mysql_exec(
        "DELETE FROM emails WHERE id IN (2, 5); DELETE FROM tokens WHERE n = 2; \
         DELETE FROM tokens_bin WHERE id = 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'; \
         DELETE FROM codes WHERE code <> 'ab' AND code <> 'cd'; DELETE FROM keyless LIMIT 1",
    );
    env.my2pg(&["check"])
        .assert_ok()
        .assert_stderr_contains("check: clean, nothing would fail the cut-over\n");
    env.my2pg(&["run", "--fresh", "--yes"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT id::text FROM tokens_ci ORDER BY 1"),
        vec![
            vec![Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11".to_string())],
            vec![Some("b0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12".to_string())],
        ]
    );
}

/// A partial or expression unique index is Postgres SQL that `check` cannot evaluate in
/// MySQL: plan warns, check says what it did not test, and the load names the key.
#[test]
fn partial_and_expression_unique_indexes_are_named_as_untested() {
    let env = TestEnv::new("check_partial_unique");
    env.mysql_exec(
        "CREATE TABLE flows (id int NOT NULL PRIMARY KEY, obj int NOT NULL, \
           status varchar(10) NOT NULL, code varchar(10) NOT NULL); \
         INSERT INTO flows VALUES (1, 5, 'open', 'a'), (2, 5, 'closed', 'b')",
    );
    env.pg_exec(
        "CREATE TABLE flows (id integer PRIMARY KEY, obj integer NOT NULL, \
           status varchar(10) NOT NULL, code varchar(10) NOT NULL); \
         CREATE UNIQUE INDEX one_open_flow ON flows (obj) WHERE status = 'open'; \
         CREATE UNIQUE INDEX code_lower ON flows (lower(code))",
    );
    config(&env, "");
    let partial = "target table \"flows\" has unique index \"one_open_flow\" over a predicate \
         or expressions (CREATE UNIQUE INDEX one_open_flow ON public.flows USING btree (obj) \
         WHERE ((status)::text = 'open'::text)): MySQL does not enforce it and `check` cannot \
         test it, so source rows that repeat its key fail the load (naming the key); look for \
         them in the source before the cut-over";
    let out = env.my2pg(&["plan", "--json"]);
    out.assert_ok();
    let report = out.json();
    let warned: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["kind"] == "unchecked_unique_index")
        .map(|w| w["message"].as_str().unwrap())
        .collect();
    assert_eq!(warned.len(), 2, "{warned:?}");
    assert!(warned[0].starts_with(
        "target table \"flows\" has unique index \"code_lower\" over a predicate or expressions \
         (CREATE UNIQUE INDEX code_lower ON public.flows USING btree (lower((code)::text)))"
    ));
    assert_eq!(warned[1], partial);
    let out = env.my2pg(&["check"]);
    out.assert_ok()
        .assert_stderr_contains(&format!("  not tested: {partial}\n"))
        .assert_stderr_contains("check: clean, nothing it tested would fail the cut-over\n");
    env.mysql_exec("UPDATE flows SET status = 'open' WHERE id = 2");
    env.my2pg(&["run"])
        .assert_exit(1)
        .assert_stderr_contains("Key (obj)=(5) already exists")
        .assert_stderr_contains(
            "; not for a partial or expression unique index, which `plan` lists",
        );
}
