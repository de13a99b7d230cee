//! Policies (`[run] zero_dates`) and per-column rules (`[columns."t.c"] convert = ...`):
//! exactly what they change, counted in the run report's `rules_applied`, and the
//! rule uses that cannot work refused by `plan` (invalid_rule, exit 2).

use crate::common::{my_bin, my_str, problems, row, rules_applied, write_edited_manifest, TestEnv};

/// One reader: no `FLUSH TABLES WITH READ LOCK`, so a long write by another client of the
/// shared MariaDB server cannot stall these conversion tests (snapshots are covered elsewhere).
fn config(env: &TestEnv, extra: &str) {
    env.write_config(&format!("[workers]\nreaders = 1\n{extra}"));
}

fn ra(t: &str, c: &str, rule: &str, n: u64) -> (String, String, String, u64) {
    (t.into(), c.into(), rule.into(), n)
}

/// MariaDB needs a permissive sql_mode to store zero and partial dates.
const ZERO_DATES_SOURCE: &str = "SET SESSION sql_mode = ''; \
    CREATE TABLE ev (id int NOT NULL PRIMARY KEY, d date NULL, dt datetime(6) NULL, \
      ts timestamp NULL DEFAULT NULL, fine datetime NULL); \
    SET time_zone = '+00:00'; \
    INSERT INTO ev VALUES \
      (1, '0000-00-00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '2024-01-01 00:00:00'), \
      (2, '2024-00-15', '2024-02-00 10:00:00.5', '2024-05-06 07:08:09', NULL), \
      (3, '2024-03-01', '2024-03-01 12:00:00.5', '0000-00-00 00:00:00', '2024-01-02 03:04:05'), \
      (4, '0000-01-01', '0000-00-00 00:00:00', NULL, '2024-01-03 00:00:00'), \
      (5, NULL, NULL, NULL, NULL)";

#[test]
fn policy_zero_dates_null_turns_zero_and_partial_dates_into_null() {
    let env = TestEnv::new("pol_zero_null");
    env.mysql_exec(ZERO_DATES_SOURCE);
    env.pg_exec(
        "CREATE TABLE ev (id integer PRIMARY KEY, d date, dt timestamp(6), ts timestamptz, fine timestamp)",
    );
    config(&env, "[run]\nzero_dates = \"null\"\nchunk_rows = 2");
    let out = env.my2pg(&["run", "--json"]);
    out.assert_ok();
    assert_eq!(
        rules_applied(&out.json()),
        vec![
            ra("ev", "d", "zero_date_to_null", 3),
            ra("ev", "dt", "zero_date_to_null", 3),
            ra("ev", "fine", "zero_date_to_null", 0),
            ra("ev", "ts", "zero_date_to_null", 2),
        ]
    );
    assert_eq!(
        env.pg_rows(
            "SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; \
             SELECT id::text AS k, d::text, dt::text, ts::text, fine::text FROM ev ORDER BY id"
        ),
        vec![
            row(&[Some("1"), None, None, None, Some("2024-01-01 00:00:00")]),
            row(&[Some("2"), None, None, Some("2024-05-06 07:08:09+00"), None]),
            row(&[
                Some("3"),
                Some("2024-03-01"),
                Some("2024-03-01 12:00:00.5"),
                None,
                Some("2024-01-02 03:04:05")
            ]),
            row(&[Some("4"), None, None, None, Some("2024-01-03 00:00:00")]),
            row(&[Some("5"), None, None, None, None]),
        ]
    );
    // verify names the columns the policy changed, with the counts it saw itself; `fine`,
    // which the policy covers and did not change, is not named.
    let out = env.my2pg(&["verify", "--level", "full", "--json"]);
    out.assert_ok();
    assert_eq!(
        out.json()["tables"][0]["rules"],
        serde_json::json!([
            "d (zero_date_to_null, 3 value(s))",
            "dt (zero_date_to_null, 3 value(s))",
            "ts (zero_date_to_null, 2 value(s))"
        ])
    );
}

#[test]
fn policy_zero_dates_error_is_the_default() {
    let env = TestEnv::new("pol_zero_default");
    env.mysql_exec(ZERO_DATES_SOURCE);
    env.pg_exec(
        "CREATE TABLE ev (id integer PRIMARY KEY, d date, dt timestamp(6), ts timestamptz, fine timestamp)",
    );
    config(&env, "");
    let out = env.my2pg(&["run", "--json"]);
    out.assert_exit(1).assert_stderr_contains(
        "table `ev`, column `d`, primary key (id)=(1): cannot convert 0000-00-00: \
         zero date (0000-00-00) has no PostgreSQL equivalent",
    );
    assert_eq!(env.pg_count("ev"), 0);
}

#[test]
fn policy_zero_dates_null_still_fails_a_not_null_target() {
    let env = TestEnv::new("pol_zero_notnull");
    env.mysql_exec(
        "SET SESSION sql_mode = ''; \
         CREATE TABLE ev (id int NOT NULL PRIMARY KEY, d date NOT NULL, o date NULL); \
         INSERT INTO ev VALUES (1, '2024-01-01', '0000-00-00'), (2, '0000-00-00', NULL)",
    );
    env.pg_exec("CREATE TABLE ev (id integer PRIMARY KEY, d date NOT NULL, o date)");
    config(&env, "[run]\nzero_dates = \"null\"");
    let out = env.my2pg(&["run", "--json"]);
    out.assert_exit(1).assert_stderr_contains(
        "table `ev`, column `d`, primary key (id)=(2): cannot convert 0000-00-00: \
         zero date (0000-00-00) has no PostgreSQL equivalent",
    );
    assert_eq!(env.pg_count("ev"), 0);
}

#[test]
fn rule_zero_date_to_null_applies_to_its_column_only() {
    let env = TestEnv::new("rule_zero_col");
    env.mysql_exec(
        "SET SESSION sql_mode = ''; \
         CREATE TABLE ev (id int NOT NULL PRIMARY KEY, a datetime NULL, b datetime NULL); \
         INSERT INTO ev VALUES (1, '0000-00-00 00:00:00', '2024-01-01 00:00:00'), \
         (2, '2024-13-00 00:00:00', '2024-01-02 00:00:00'), (3, '2024-01-03 00:00:00', NULL)",
    );
    env.pg_exec("CREATE TABLE ev (id integer PRIMARY KEY, a timestamp, b timestamp)");
    // 2024-13-00 is refused by MariaDB even here: it stores the zero date instead.
    let src = env.mysql_rows("SELECT CAST(a AS CHAR) FROM ev ORDER BY id");
    assert_eq!(src[0][0].as_deref(), Some("0000-00-00 00:00:00"));
    config(&env, "[columns.\"ev.a\"]\nconvert = \"zero_date_to_null\"");
    let out = env.my2pg(&["run", "--json"]);
    out.assert_ok();
    assert_eq!(
        rules_applied(&out.json()),
        vec![ra("ev", "a", "zero_date_to_null", 2)]
    );
    assert_eq!(
        env.pg_rows("SELECT a::text, b::text FROM ev ORDER BY id"),
        vec![
            row(&[None, Some("2024-01-01 00:00:00")]),
            row(&[None, Some("2024-01-02 00:00:00")]),
            row(&[Some("2024-01-03 00:00:00"), None]),
        ]
    );

    // Without the rule on `b`, a zero date there still fails the run.
    let env = TestEnv::new("rule_zero_col2");
    env.mysql_exec(
        "SET SESSION sql_mode = ''; \
         CREATE TABLE ev (id int NOT NULL PRIMARY KEY, a datetime NULL, b datetime NULL); \
         INSERT INTO ev VALUES (1, '0000-00-00 00:00:00', '0000-00-00 00:00:00')",
    );
    env.pg_exec("CREATE TABLE ev (id integer PRIMARY KEY, a timestamp, b timestamp)");
    config(&env, "[columns.\"ev.a\"]\nconvert = \"zero_date_to_null\"");
    env.my2pg(&["run", "--json"])
        .assert_exit(1)
        .assert_stderr_contains(
            "table `ev`, column `b`, primary key (id)=(1): cannot convert 0000-00-00 00:00:00: \
             zero date (0000-00-00) has no PostgreSQL equivalent",
        );
}

#[test]
fn rule_base64_and_hex_keep_binary_bytes_as_text() {
    let env = TestEnv::new("rule_b64_hex");
    let all: Vec<u8> = (0..=255u8).collect();
    let text = "héllo\0wörld 😀";
    env.mysql_exec(&format!(
        "CREATE TABLE files (id int NOT NULL PRIMARY KEY, bl blob NULL, lt longtext NULL, \
         vb varbinary(16) NULL, lh longtext NULL); \
         INSERT INTO files VALUES (1, {a}, {t}, X'00ff10', {t}), (2, X'', '', X'', ''), \
         (3, X'616263', 'ab', X'01', 'a'), (4, NULL, NULL, NULL, NULL)",
        a = my_bin(&all),
        t = my_str(text),
    ));
    env.pg_exec(
        "CREATE TABLE files (id integer PRIMARY KEY, bl text, lt text, vb varchar(64), lh text)",
    );
    config(
        &env,
        "[columns.\"files.bl\"]\nconvert = \"base64\"\n\
         [columns.\"files.lt\"]\nconvert = \"base64\"\n\
         [columns.\"files.vb\"]\nconvert = \"hex\"\n\
         [columns.\"files.lh\"]\nconvert = \"hex\"\n",
    );
    let out = env.my2pg(&["run", "--json"]);
    out.assert_ok();
    // base64/hex change every non-empty value; '' stays '' and is not counted.
    assert_eq!(
        rules_applied(&out.json()),
        vec![
            ra("files", "bl", "base64", 2),
            ra("files", "lh", "hex", 2),
            ra("files", "lt", "base64", 2),
            ra("files", "vb", "hex", 2),
        ]
    );
    // Expected text computed by Postgres from the same bytes (newlines removed from
    // its base64 output).
    let b64 = |b: &[u8]| {
        env.pg_value(&format!(
            "SELECT translate(encode('\\x{}'::bytea, 'base64'), E'\\n', '')",
            crate::common::hex(b)
        ))
        .unwrap()
    };
    let hx = crate::common::hex;
    assert_eq!(
        env.pg_rows("SELECT bl, lt, vb, lh FROM files ORDER BY id"),
        vec![
            row(&[
                Some(&b64(&all)),
                Some(&b64(text.as_bytes())),
                Some("00ff10"),
                Some(&hx(text.as_bytes()))
            ]),
            row(&[Some(""), Some(""), Some(""), Some("")]),
            row(&[Some("YWJj"), Some("YWI="), Some("01"), Some("61")]),
            row(&[None, None, None, None]),
        ]
    );
}

/// Chunks exported before a rule was set hold values the rule would change ('' here):
/// an export resumed under the rule refuses them instead of mixing '' and NULL.
#[test]
fn a_rule_set_after_an_export_does_not_mix_with_its_chunks() {
    let env = TestEnv::new("rule_after");
    env.mysql_exec(
        "CREATE TABLE t (id int NOT NULL PRIMARY KEY, note varchar(10) NULL); \
         INSERT INTO t VALUES (1, ''), (2, 'x'), (3, '')",
    );
    env.pg_exec("CREATE TABLE t (id integer PRIMARY KEY, note text)");
    config(&env, "[run]\nchunk_rows = 2");
    env.my2pg(&["export"]).assert_ok();
    config(
        &env,
        "[run]\nchunk_rows = 2\n[columns.\"t.note\"]\nconvert = \"empty_to_null\"",
    );
    env.my2pg(&["export"])
        .assert_exit(2)
        .assert_stderr_contains("was exported under a different plan or chunk size");
    env.my2pg(&["run", "--fresh", "--yes"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT id::text, note FROM t ORDER BY id"),
        vec![
            row(&[Some("1"), None]),
            row(&[Some("2"), Some("x")]),
            row(&[Some("3"), None]),
        ]
    );
}

/// Manifests of the version before rules entered the fingerprint (no checksum field)
/// still resume under the same rules: an upgrade mid-migration keeps its work directory,
/// and the manifest is rewritten with the new fingerprint and its checksum.
#[test]
fn an_earlier_versions_manifest_resumes_under_the_same_rule() {
    let env = TestEnv::new("rule_legacy");
    env.mysql_exec(
        "CREATE TABLE t (id int NOT NULL PRIMARY KEY, note varchar(10) NULL); \
         INSERT INTO t VALUES (1, ''), (2, 'x'), (3, ''), (4, 'y')",
    );
    env.pg_exec("CREATE TABLE t (id integer PRIMARY KEY, note text)");
    let manifest = |wd: &std::path::Path| -> serde_json::Value {
        let p = wd.join("t").join("manifest.json");
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    // Without a rule, the fingerprint is what the earlier version computed with one.
    config(&env, "[run]\nchunk_rows = 2");
    env.my2pg(&["export"]).assert_ok();
    let earlier = manifest(&env.workdir)["fingerprint"].clone();
    std::fs::remove_dir_all(&env.workdir).unwrap();

    let ruled = "[run]\nchunk_rows = 2\n[columns.\"t.note\"]\nconvert = \"empty_to_null\"";
    config(&env, ruled);
    env.my2pg(&["export"]).assert_ok();
    let mut m = manifest(&env.workdir);
    let current = m["fingerprint"].clone();
    assert_ne!(current, earlier);
    // As the earlier version left it: its fingerprint, no checksum, one chunk to go.
    m["fingerprint"] = earlier;
    m["chunks"].as_array_mut().unwrap().truncate(1);
    m["complete"] = serde_json::json!(false);
    write_edited_manifest(&env.workdir.join("t").join("manifest.json"), &mut m);
    env.my2pg(&["run"]).assert_ok();
    let m = manifest(&env.workdir);
    assert_eq!(m["fingerprint"], current);
    assert!(m["checksum"].is_string(), "{m}");
    assert_eq!(
        env.pg_rows("SELECT id::text, note FROM t ORDER BY id"),
        vec![
            row(&[Some("1"), None]),
            row(&[Some("2"), Some("x")]),
            row(&[Some("3"), None]),
            row(&[Some("4"), Some("y")]),
        ]
    );
}

#[test]
fn rule_empty_to_null_makes_empty_char36_a_null_uuid() {
    let env = TestEnv::new("rule_empty_null");
    env.mysql_exec(
        "CREATE TABLE acc (id int NOT NULL PRIMARY KEY, ref char(36) NULL); \
         INSERT INTO acc VALUES (1, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'), (2, ''), (3, NULL), (4, '')",
    );
    env.pg_exec("CREATE TABLE acc (id integer PRIMARY KEY, ref uuid)");
    config(&env, "[columns.\"acc.ref\"]\nconvert = \"empty_to_null\"");
    let out = env.my2pg(&["run", "--json"]);
    out.assert_ok();
    assert_eq!(
        rules_applied(&out.json()),
        vec![ra("acc", "ref", "empty_to_null", 2)]
    );
    assert_eq!(
        env.pg_rows("SELECT id::text AS k, ref::text FROM acc ORDER BY id"),
        vec![
            row(&[Some("1"), Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")]),
            row(&[Some("2"), None]),
            row(&[Some("3"), None]),
            row(&[Some("4"), None]),
        ]
    );
}

#[test]
fn rule_strip_nul_removes_nul_bytes_only() {
    let env = TestEnv::new("rule_strip_nul");
    env.mysql_exec(&format!(
        "CREATE TABLE notes (id int NOT NULL PRIMARY KEY, t text NULL, v varchar(10) NULL); \
         INSERT INTO notes VALUES (1, {}, {}), (2, 'clean', 'clean'), (3, '', ''), (4, NULL, NULL), (5, {}, 'x')",
        my_str("\0a\0b\0"),
        my_str("ü\0"),
        my_str("\0"),
    ));
    env.pg_exec("CREATE TABLE notes (id integer PRIMARY KEY, t text, v varchar(5))");
    config(&env,
        "[columns.\"notes.t\"]\nconvert = \"strip_nul\"\n[columns.\"notes.v\"]\nconvert = \"strip_nul\"\n",
    );
    // The plan shows each column's rule.
    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_ok();
    let rules: Vec<(String, serde_json::Value)> = plan.json()["tables"][0]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["source"].as_str().unwrap().to_string(), c["rule"].clone()))
        .collect();
    assert_eq!(
        rules,
        vec![
            ("id".to_string(), serde_json::Value::Null),
            ("t".to_string(), serde_json::json!("strip_nul")),
            ("v".to_string(), serde_json::json!("strip_nul")),
        ]
    );
    let text = env.my2pg(&["plan"]);
    text.assert_ok();
    text.check(
        text.stderr
            .contains("\n      t text -> t text: text (text (utf-8, no NUL)), rule strip_nul\n"),
        "the text plan shows the rule",
    );
    let out = env.my2pg(&["run", "--json"]);
    out.assert_ok();
    assert_eq!(
        rules_applied(&out.json()),
        vec![
            ra("notes", "t", "strip_nul", 2),
            ra("notes", "v", "strip_nul", 1)
        ]
    );
    assert_eq!(
        env.pg_rows("SELECT t, v FROM notes ORDER BY id"),
        vec![
            row(&[Some("ab"), Some("ü")]),
            row(&[Some("clean"), Some("clean")]),
            row(&[Some(""), Some("")]),
            row(&[None, None]),
            row(&[Some(""), Some("x")]),
        ]
    );
}

#[test]
fn rule_invalid_uses_are_blocking_plan_problems() {
    let env = TestEnv::new("rule_invalid");
    env.mysql_exec(
        "CREATE TABLE t (id int NOT NULL PRIMARY KEY, u char(36) NOT NULL, b blob NULL, \
         n int NULL, bl blob NULL, d datetime NULL); \
         INSERT INTO t VALUES (1, '', X'00', 1, X'00', NULL)",
    );
    env.pg_exec(
        "CREATE TABLE t (id integer PRIMARY KEY, u uuid NOT NULL, b bytea, n integer, bl bytea, d timestamp NOT NULL DEFAULT now())",
    );
    config(
        &env,
        "[columns.\"t.u\"]\nconvert = \"empty_to_null\"\n\
         [columns.\"t.b\"]\nconvert = \"base64\"\n\
         [columns.\"t.n\"]\nconvert = \"zero_date_to_null\"\n\
         [columns.\"t.bl\"]\nconvert = \"strip_nul\"\n\
         [columns.\"t.d\"]\nconvert = \"zero_date_to_null\"\n\
         [columns.\"t.nope\"]\nconvert = \"hex\"\n\
         [columns.\"missing.c\"]\nconvert = \"hex\"\n",
    );
    let ir = |t: &str, c: &str| {
        (
            "invalid_rule".to_string(),
            t.to_string(),
            Some(c.to_string()),
        )
    };
    let expected = vec![
        ir("missing", "c"),
        ir("t", "b"),
        ir("t", "bl"),
        ir("t", "d"),
        ir("t", "n"),
        ir("t", "nope"),
        ir("t", "u"),
    ];
    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_exit(2);
    let report = plan.json();
    assert_eq!(report["ok"], serde_json::json!(false));
    assert_eq!(problems(&report), expected);
    let msgs: Vec<&str> = report["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["message"].as_str().unwrap())
        .collect();
    for m in [
        "t.u: rule empty_to_null needs a nullable target column",
        "t.b: rule base64 needs a text target column",
        "t.n: rule zero_date_to_null needs a date, datetime or timestamp source column",
        "t.bl: rule strip_nul needs a text source column (or binary data into a text or json column)",
        "t.d: rule zero_date_to_null needs a nullable target column",
        "[columns.\"t.nope\"] names no source column",
        "[columns.\"missing.c\"] names no source column",
    ] {
        assert!(msgs.contains(&m), "no problem message {m:?} in {msgs:?}");
    }
    let run = env.my2pg(&["run", "--json"]);
    run.assert_exit(2)
        .assert_stderr_contains("rule empty_to_null needs a nullable target column");
    assert_eq!(env.pg_count("t"), 0, "nothing moves on a blocking problem");
}

/// A rule key is split after a source table name, so table (and column) names may hold
/// dots; a key two tables could claim is refused, naming both readings.
#[test]
fn rules_name_tables_and_columns_with_dots() {
    let env = TestEnv::new("rule_dots");
    env.mysql_exec(
        "CREATE TABLE `my.tab` (id int PRIMARY KEY, u char(36)); \
         INSERT INTO `my.tab` VALUES (1,''),(2,'8F14E45F-CEEA-467F-A0E6-4A1D0F1E2B3C'); \
         CREATE TABLE `plain` (id int PRIMARY KEY, `u.x` char(36)); \
         INSERT INTO `plain` VALUES (1,''),(2,'8f14e45f-ceea-467f-a0e6-4a1d0f1e2b3c')",
    );
    env.pg_exec(
        "CREATE TABLE \"my.tab\" (id int PRIMARY KEY, u uuid); \
         CREATE TABLE plain (id int PRIMARY KEY, \"u.x\" uuid)",
    );
    config(
        &env,
        "[columns.\"my.tab.u\"]\nconvert = \"empty_to_null\"\n\
         [columns.\"plain.u.x\"]\nconvert = \"empty_to_null\"\n",
    );
    let out = env.my2pg(&["run", "--json"]);
    out.assert_ok();
    assert_eq!(
        rules_applied(&out.json()),
        vec![
            ra("my.tab", "u", "empty_to_null", 1),
            ra("plain", "u.x", "empty_to_null", 1)
        ]
    );
    assert_eq!(
        env.pg_rows("SELECT id::text, u::text FROM \"my.tab\" ORDER BY id"),
        vec![
            row(&[Some("1"), None]),
            row(&[Some("2"), Some("8f14e45f-ceea-467f-a0e6-4a1d0f1e2b3c")]),
        ]
    );
    assert_eq!(
        env.pg_rows("SELECT id::text, \"u.x\"::text FROM plain ORDER BY id"),
        vec![
            row(&[Some("1"), None]),
            row(&[Some("2"), Some("8f14e45f-ceea-467f-a0e6-4a1d0f1e2b3c")]),
        ]
    );

    // `my` with a column `tab.u` makes "my.tab.u" name two columns.
    env.mysql_exec("CREATE TABLE `my` (id int PRIMARY KEY, `tab.u` char(36))");
    env.pg_exec("CREATE TABLE my (id int PRIMARY KEY, \"tab.u\" uuid)");
    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_exit(2);
    let report = plan.json();
    assert_eq!(
        problems(&report),
        vec![(
            "invalid_rule".to_string(),
            "my".to_string(),
            Some("tab.u".to_string())
        )]
    );
    assert_eq!(
        report["problems"][0]["message"],
        "[columns.\"my.tab.u\"] is ambiguous: it can mean column \"tab.u\" of table \"my\" or \
         column \"u\" of table \"my.tab\"; rename a table or column"
    );
}

/// Rule null_to_default: a NULL becomes the target column's constant default (evaluated
/// once by the target, every type's text form), counted, verified equal; a default
/// computed per row, or none, is refused by `plan`.
#[test]
fn rule_null_to_default_writes_the_targets_constant_default() {
    let env = TestEnv::new("rule_null_default");
    env.mysql_exec(
        "CREATE TABLE acct (id int NOT NULL PRIMARY KEY, status varchar(10) NULL, \
           flags json NULL, active tinyint(1) NULL, score double NULL, note varchar(40) NULL, \
           seen datetime NULL, plain int NULL); \
         INSERT INTO acct VALUES \
           (1, 'active', '{\"b\": 2}', 1, 2.5, 'hi', '2024-01-01 00:00:00', 7), \
           (2, NULL, NULL, NULL, NULL, NULL, '2024-01-02 00:00:00', NULL), \
           (3, 'new', NULL, 0, NULL, '', '2024-01-03 00:00:00', NULL)",
    );
    env.pg_exec(
        "CREATE TYPE st AS ENUM ('new', 'active'); \
         CREATE DOMAIN pos_score AS double precision DEFAULT 0.1 CHECK (VALUE > 0); \
         CREATE TABLE acct (id integer PRIMARY KEY, status st NOT NULL DEFAULT 'new', \
           flags jsonb NOT NULL DEFAULT '{\"a\": [1, \"x\\\"y\"]}', \
           active boolean NOT NULL DEFAULT false, score pos_score NOT NULL, \
           note varchar(40) DEFAULT 'it''s, \"quoted\"', seen timestamp NOT NULL DEFAULT now(), \
           plain integer)",
    );
    let rules = |cols: &[&str]| {
        cols.iter()
            .map(|c| format!("[columns.\"acct.{c}\"]\nconvert = \"null_to_default\"\n"))
            .collect::<String>()
    };
    config(
        &env,
        &rules(&["status", "flags", "active", "score", "note"]),
    );
    let out = env.my2pg(&["check", "--json"]);
    out.assert_ok();
    let handled: Vec<(String, String, u64, bool)> = out.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["column"].as_str().unwrap().to_string(),
                f["class"].as_str().unwrap().to_string(),
                f["count"].as_u64().unwrap(),
                f["handled_by_policy"].as_bool().unwrap(),
            )
        })
        .collect();
    let h = |c: &str, n| (c.to_string(), "null_into_not_null".to_string(), n, true);
    assert_eq!(
        handled,
        vec![h("status", 1), h("flags", 2), h("active", 1), h("score", 2)]
    );
    let out = env.my2pg(&["run", "--json"]);
    out.assert_ok();
    assert_eq!(
        rules_applied(&out.json()),
        vec![
            ra("acct", "active", "null_to_default", 1),
            ra("acct", "flags", "null_to_default", 2),
            ra("acct", "note", "null_to_default", 1),
            ra("acct", "score", "null_to_default", 2),
            ra("acct", "status", "null_to_default", 1),
        ]
    );
    assert_eq!(
        env.pg_rows(
            "SELECT status::text, flags::text, active::text, score::text, note, plain::text \
             FROM acct ORDER BY id"
        ),
        vec![
            row(&[
                Some("active"),
                Some("{\"b\": 2}"),
                Some("true"),
                Some("2.5"),
                Some("hi"),
                Some("7")
            ]),
            row(&[
                Some("new"),
                Some("{\"a\": [1, \"x\\\"y\"]}"),
                Some("false"),
                Some("0.1"),
                Some("it's, \"quoted\""),
                None,
            ]),
            row(&[
                Some("new"),
                Some("{\"a\": [1, \"x\\\"y\"]}"),
                Some("false"),
                Some("0.1"),
                Some(""),
                None
            ]),
        ]
    );
    env.my2pg(&["verify", "--level", "full"])
        .assert_ok()
        .assert_stderr_contains("verify (full): equal");
    // verify compares the default it wrote: another value there is a difference.
    env.pg_exec("UPDATE acct SET note = 'other' WHERE id = 2");
    let out = env.my2pg(&["verify", "--level", "full", "--json"]);
    out.assert_exit(1);
    assert_eq!(
        out.json()["tables"][0]["diffs"],
        serde_json::json!([{"kind": "changed", "key": "(id)=(2)", "columns": ["note"]}])
    );

    // A default computed per row, or none: refused.
    config(&env, &rules(&["seen", "plain"]));
    let out = env.my2pg(&["plan"]);
    out.assert_exit(2);
    out.assert_stderr_contains(
        "acct.seen: rule null_to_default needs a default that is a literal with casts (such as 0, \
         'x'::text or '{}'::jsonb); the target's default is an expression, which can differ per \
         row (now(), nextval(...)) and a COPY cannot ask for",
    );
    out.assert_stderr_contains(
        "acct.plain: rule null_to_default needs a target column with a default",
    );
}

/// null_to_default stores the default as an INSERT would: cast to the column's type
/// (numeric scale, varchar's trailing spaces, an integer rounding), in the database's own
/// TimeZone, exact for floats whatever the database's extra_float_digits; a default the
/// column cannot hold is refused by `plan`; `check` finds the key duplicates it makes.
#[test]
fn rule_null_to_default_stores_the_default_as_an_insert_would() {
    let env = TestEnv::new("rule_null_default_cast");
    env.mysql_exec(
        "CREATE TABLE t (id int NOT NULL PRIMARY KEY, n decimal(10,4) NULL, v varchar(10) NULL, \
           i int NULL, f double NULL, ts datetime NULL, u varchar(20) NULL UNIQUE, \
           w varchar(10) NULL); \
         INSERT INTO t VALUES (1, NULL, NULL, NULL, NULL, NULL, NULL, NULL), \
           (2, 1.5, 'x', 3, 2.5, '2024-05-01 00:00:00', 'a', 'b'), \
           (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    );
    env.pg_exec(
        "DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET TimeZone = ''Asia/Tokyo''', \
           current_database()); EXECUTE format('ALTER DATABASE %I SET extra_float_digits = 0', \
           current_database()); END $$",
    );
    env.pg_exec(
        "CREATE TABLE t (id integer PRIMARY KEY, n numeric(10,3) NOT NULL DEFAULT 1.0005, \
           v varchar(5) NOT NULL DEFAULT 'abcde  ', i integer NOT NULL DEFAULT 1.5, \
           f double precision NOT NULL DEFAULT 0.30000000000000004, \
           ts timestamp NOT NULL DEFAULT '2024-01-01 00:00:00+05'::timestamptz, \
           u varchar(20) DEFAULT 'zz' UNIQUE, w varchar(3) DEFAULT 'toolong')",
    );
    let rules = |cols: &[&str]| {
        cols.iter()
            .map(|c| format!("[columns.\"t.{c}\"]\nconvert = \"null_to_default\"\n"))
            .collect::<String>()
    };
    // A default the column cannot hold: refused before anything runs.
    config(&env, &rules(&["w"]));
    let out = env.my2pg(&["plan"]);
    out.assert_exit(2);
    out.assert_stderr_contains(
        "evaluate the default of \"public\".\"t\".w (rule null_to_default): the default \
         'toolong'::character varying cannot be stored in the column: ERROR: value too long \
         for type character varying(3) (SQLSTATE 22001)",
    );
    // Two NULLs of a unique column become the same default: check names the key.
    config(&env, &rules(&["n", "v", "i", "f", "ts", "u"]));
    let out = env.my2pg(&["check", "--json"]);
    out.assert_exit(1);
    let dups: Vec<_> = crate::common::check_findings(&out.json())
        .into_iter()
        .filter(|f| f.2 == "duplicate_key")
        .collect();
    assert_eq!(dups.len(), 1, "{dups:?}");
    assert_eq!(
        (dups[0].1.as_str(), dups[0].3, dups[0].4.clone()),
        ("u", 1, vec!["(u)=(\"zz\") in 2 rows".to_string()]),
        "{dups:?}"
    );
    config(&env, &rules(&["n", "v", "i", "f", "ts"]));
    // plan shows what a NULL becomes.
    let out = env.my2pg(&["plan", "--json"]);
    out.assert_ok();
    let shown: Vec<(String, Option<String>)> = out.json()["tables"][0]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["source"].as_str().unwrap().to_string(),
                c["null_default"].as_str().map(str::to_string),
            )
        })
        .collect();
    let sd = |c: &str, d: Option<&str>| (c.to_string(), d.map(str::to_string));
    assert_eq!(
        shown,
        vec![
            sd("id", None),
            sd("n", Some("1.001")),
            sd("v", Some("abcde")),
            sd("i", Some("2")),
            sd("f", Some("0.30000000000000004")),
            sd("ts", Some("2024-01-01 04:00:00")),
            sd("u", None),
            sd("w", None),
        ]
    );
    out.assert_stderr_contains("rule null_to_default: NULL is written as \"abcde\"");
    env.my2pg(&["run"]).assert_ok();
    // Rows 1 and 3 are all NULL in the source: every column gets its default.
    let defaulted = row(&[
        Some("1.001"),
        Some("abcde"),
        Some("2"),
        Some("true"),
        Some("2024-01-01 04:00:00"),
    ]);
    assert_eq!(
        env.pg_rows(
            "SELECT n::text, v, i::text, (f = '0.30000000000000004'::float8)::text, ts::text \
             FROM t ORDER BY id"
        ),
        vec![
            defaulted.clone(),
            row(&[
                Some("1.500"),
                Some("x"),
                Some("3"),
                Some("false"),
                Some("2024-05-01 00:00:00")
            ]),
            defaulted,
        ]
    );
    env.assert_verifies_equal(&["full", "load"]);
}

/// NULLs into a NOT NULL column: check offers null_to_default only where plan accepts it
/// (a constant default); for a default computed per row (RT's `current_timestamp`) it
/// names `skip` and what that means, and for no default only the source or the column.
#[test]
fn null_into_not_null_advice_follows_the_targets_default() {
    let env = TestEnv::new("null_advice");
    env.mysql_exec(
        "CREATE TABLE s (id int NOT NULL PRIMARY KEY, c int NULL, e datetime NULL, n int NULL); \
         INSERT INTO s VALUES (1, NULL, NULL, NULL), (2, 5, '2024-01-01 00:00:00', 6)",
    );
    env.pg_exec(
        "CREATE TABLE s (id integer PRIMARY KEY, c integer NOT NULL DEFAULT 0, \
           e timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP, n integer NOT NULL)",
    );
    config(&env, "");
    let out = env.my2pg(&["check", "--json"]);
    out.assert_exit(1);
    let messages: Vec<String> = out.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["message"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        messages,
        vec![
            "1 value(s) of s.c (int(11) -> integer): null_into_not_null, the cut-over would \
             fail: fix them in the source, make the target column nullable, or write its \
             default for them: convert = \"null_to_default\" (a constant default; a NULL the \
             load sends is not replaced by the default otherwise)"
                .to_string(),
            "1 value(s) of s.e (datetime -> timestamp without time zone): null_into_not_null, \
             the cut-over would fail: fix them in the source, make the target column nullable, \
             or leave the column out: convert = \"skip\" (every row then gets the target's \
             default CURRENT_TIMESTAMP, not only these; null_to_default writes only a constant \
             default)"
                .to_string(),
            "1 value(s) of s.n (int(11) -> integer): null_into_not_null, the cut-over would \
             fail: fix them in the source, or make the target column nullable (it has no \
             default to write for them)"
                .to_string(),
        ]
    );
    // The run names the same way out.
    env.mysql_exec("UPDATE s SET c = 1, n = 1");
    env.my2pg(&["run"]).assert_exit(1).assert_stderr_contains(
        "the target column \"e\" is NOT NULL (to move it: fix them in the source, make the \
         target column nullable, or leave the column out: convert = \"skip\"",
    );
}
