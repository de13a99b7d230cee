//! `my2pg verify`: equal databases verify equal at every level; each kind of difference
//! made directly in the target is found and reported by its primary key.

use crate::common::{my_bin, my_str, TestEnv, TestOutput};

/// The report entry of `table`.
#[track_caller]
fn table_of(out: &TestOutput, table: &str) -> serde_json::Value {
    let report = out.json();
    report["tables"]
        .as_array()
        .and_then(|ts| ts.iter().find(|t| t["table"] == table))
        .cloned()
        .unwrap_or_else(|| out.fail(&format!("no table `{table}` in the verify report")))
}

/// The diff of `key` in the entry of `table`.
#[track_caller]
fn diff_of(out: &TestOutput, table: &str, key: &str) -> serde_json::Value {
    table_of(out, table)["diffs"]
        .as_array()
        .and_then(|ds| ds.iter().find(|d| d["key"] == key))
        .cloned()
        .unwrap_or_else(|| out.fail(&format!("no diff with key {key} for `{table}`")))
}

#[track_caller]
fn assert_diff(out: &TestOutput, table: &str, key: &str, kind: &str, columns: &[&str]) {
    let d = diff_of(out, table, key);
    let expected = serde_json::json!({"key": key, "kind": kind, "columns": columns});
    out.check(d == expected, &format!("diff {d} should be {expected}"));
}

const KINDS_MYSQL: &str = "
CREATE TABLE kinds (
  id int unsigned NOT NULL PRIMARY KEY,
  i8 tinyint NULL, u8 tinyint unsigned NULL, i64 bigint NULL, u64 bigint unsigned NULL,
  flag tinyint(1) NULL, amount decimal(14,3) NULL, f float NULL, d double NULL,
  name varchar(100) NULL, body text NULL, ref char(36) NULL,
  doc json NULL, doc_text json NULL, data blob NULL,
  kind enum('draft','published','it''s') NULL,
  day date NULL, at datetime(6) NULL, ts timestamp(6) NULL);
CREATE TABLE owners (id char(36) NOT NULL PRIMARY KEY, label varchar(20) NOT NULL);
";

const KINDS_PG: &str = "
CREATE TYPE kind_t AS ENUM ('draft', 'published', 'it''s');
CREATE TABLE kinds (
  id bigint PRIMARY KEY,
  i8 smallint, u8 smallint, i64 bigint, u64 numeric(20,0),
  flag boolean, amount numeric(14,3), f real, d double precision,
  name varchar(100), body text, ref uuid,
  doc jsonb, doc_text json, data bytea,
  kind kind_t,
  day date, at timestamp(6), ts timestamptz(6));
CREATE TABLE owners (id uuid PRIMARY KEY, label text NOT NULL);
";

fn fill_kinds(env: &TestEnv) {
    let all: Vec<u8> = (0..=255u8).collect();
    env.mysql_exec(&format!(
        "INSERT INTO kinds VALUES \
         (1, -128, 255, -9223372036854775808, 18446744073709551615, 1, '-12345678901.125', 0.1, 1.7976931348623157e308, \
          {}, {}, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', {}, {}, {}, 'it''s', \
          '2024-02-29', '2024-02-29 23:59:59.999999', '2038-01-19 03:14:07.000001'), \
         (2, 0, 0, 0, 0, 0, '0.000', -0.5, 2.5e-300, '', '', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', \
          '[]', '\"\"', X'', 'draft', '1000-01-01', '1000-01-01 00:00:00', '2000-01-01 00:00:00'), \
         (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
        my_str("Zoë \"Z\" 😀, \\."),
        my_str("# Title\n\nline two\r\nline \"three\"\n\\.\n"),
        // Key order, spacing and number spelling that jsonb normalizes.
        my_str(r#"{"b": 1.0, "a": {"y": [1, 2.50, 1e2, -0.0], "x": "é\n\u00e9"}, "n": null}"#),
        my_str(r#"{"z":1,  "a": [true, null, 1.10]}"#),
        my_bin(&all),
    ));
    // More rows, so the chunks and buckets have something to do.
    env.mysql_exec(
        "INSERT INTO kinds (id, i8, u8, i64, flag, amount, f, d, name, body, ref, doc, kind, day, at, ts) \
         SELECT seq, seq % 100, seq % 200, seq * 1000003, seq % 2, seq / 7, seq / 3, seq / 9, \
                CONCAT('name ', seq), CONCAT('line 1\nline ', seq), \
                CONCAT('0000', LPAD(HEX(seq), 4, '0'), '-0000-4000-8000-', LPAD(HEX(seq), 12, '0')), \
                CONCAT('{\"n\": ', seq, ', \"s\": \"v', seq, '\"}'), IF(seq % 2, 'draft', 'published'), \
                '2020-01-01' + INTERVAL seq DAY, '2020-01-01 00:00:00' + INTERVAL seq SECOND, \
                '2020-01-01 00:00:00.5' + INTERVAL seq MINUTE \
         FROM seq_10_to_60",
    );
    env.mysql_exec(
        "INSERT INTO owners VALUES ('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 'upper'), \
         ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', 'lower'), ('FFFFFFFF-ffff-FFFF-ffff-FFFFFFFFFFFF', 'mixed')",
    );
}

#[test]
fn equal_databases_verify_equal_at_every_level() {
    let env = TestEnv::new("verify_equal");
    env.mysql_exec(KINDS_MYSQL);
    env.pg_exec(KINDS_PG);
    fill_kinds(&env);
    env.write_config("[run]\nchunk_rows = 7");
    env.my2pg(&["run", "--json"]).assert_ok();

    for level in ["count", "load", "full"] {
        let out = env.my2pg(&["verify", "--level", level, "--json"]);
        out.assert_ok();
        let report = out.json();
        out.check(report["command"] == "verify", "command must be verify");
        out.check(report["level"] == level, "level must be echoed");
        out.check(report["equal"] == true, "equal must be true");
        // The keys every report and the error document share.
        out.check(
            report["ok"] == true && report["exit_code"] == 0,
            "ok must be true and exit_code 0",
        );
        let kinds = table_of(&out, "kinds");
        let rows_key = if level == "load" {
            "chunk_rows"
        } else {
            "source_rows"
        };
        out.check(
            kinds[rows_key] == 54 && kinds["target_rows"] == 54 && kinds["equal"] == true,
            &format!("kinds: 54 {rows_key} and 54 target rows, equal: {kinds}"),
        );
        let owners = table_of(&out, "owners");
        out.check(
            owners[rows_key] == 3 && owners["equal"] == true,
            &format!("owners: {owners}"),
        );
        out.check(
            report["totals"]["rows"] == 57 && report["totals"]["rows_per_sec"].as_f64().is_some(),
            "totals.rows must be 57 with a rows_per_sec",
        );
        out.assert_stderr_contains(&format!("verify ({level}): equal"));
    }
    // --table narrows the comparison to one table.
    let out = env.my2pg(&["verify", "--table", "owners", "--json"]);
    out.assert_ok();
    out.check(
        out.json()["tables"].as_array().map(Vec::len) == Some(1),
        "only owners is verified",
    );
}

#[test]
fn full_verify_reports_each_kind_of_difference_by_key() {
    let env = TestEnv::new("verify_diffs");
    env.mysql_exec(
        "CREATE TABLE posts (id int NOT NULL PRIMARY KEY, title varchar(50) NOT NULL, body text NULL, \
           note varchar(20) NULL, at datetime(6) NOT NULL, meta json NULL, data blob NULL);
         CREATE TABLE tags (id int NOT NULL PRIMARY KEY, name varchar(20) NOT NULL);",
    );
    env.pg_exec(
        "CREATE TABLE posts (id integer PRIMARY KEY, title varchar(50) NOT NULL, body text, \
           note varchar(20), at timestamp(6) NOT NULL, meta jsonb, data bytea);
         CREATE TABLE tags (id integer PRIMARY KEY, name text NOT NULL);",
    );
    let mut values = Vec::new();
    for id in 1..=10 {
        let note = match id {
            4 => "''".to_string(),
            5 => "NULL".to_string(),
            _ => format!("'n{id}'"),
        };
        values.push(format!(
            "({id}, 'title {id}', {}, {note}, '2024-05-0{} 10:20:30.123456', {}, {})",
            my_str(&format!("# Post {id}\n\nfirst line\r\nsecond line\n")),
            id % 9 + 1,
            my_str(&format!(r#"{{"a": {{"b": [1, {id}]}}, "c": "x"}}"#)),
            my_bin(&[0, 1, 2, 3, id as u8]),
        ));
    }
    env.mysql_exec(&format!("INSERT INTO posts VALUES {}", values.join(", ")));
    env.mysql_exec("INSERT INTO tags VALUES (1, 'a'), (2, 'b')");
    env.write_config("[run]\nchunk_rows = 4");
    env.my2pg(&["run"]).assert_ok();
    env.my2pg(&["verify"]).assert_ok();

    env.pg_exec(
        "UPDATE posts SET body = regexp_replace(body, E'\\r?\\n', ' ', 'g') WHERE id = 1;
         UPDATE posts SET title = 'title two' WHERE id = 2;
         DELETE FROM posts WHERE id = 3;
         UPDATE posts SET note = NULL WHERE id = 4;
         UPDATE posts SET note = '' WHERE id = 5;
         UPDATE posts SET at = at + interval '1 microsecond' WHERE id = 6;
         UPDATE posts SET meta = jsonb_set(meta, '{a,b,1}', '70') WHERE id = 7;
         UPDATE posts SET data = set_byte(data, 2, get_byte(data, 2) # 1) WHERE id = 8;
         INSERT INTO posts VALUES (100, 'extra', NULL, NULL, '2024-01-01', NULL, NULL);",
    );
    // Sanity: the newline flattening really happened.
    assert_eq!(
        env.pg_value("SELECT body FROM posts WHERE id = 1")
            .as_deref(),
        Some("# Post 1  first line second line ")
    );

    let out = env.my2pg(&["verify", "--json", "--max-diffs", "50"]);
    out.assert_exit(1);
    let report = out.json();
    out.check(report["equal"] == false, "equal must be false");
    out.check(
        report["ok"] == false && report["exit_code"] == 1,
        "ok must be false and exit_code 1",
    );
    let posts = table_of(&out, "posts");
    out.check(
        posts["equal"] == false
            && posts["source_rows"] == 10
            && posts["target_rows"] == 10
            && posts["missing"] == 1
            && posts["extra"] == 1
            && posts["changed"] == 7
            && posts["counts_complete"] == true,
        &format!("posts counts: {posts}"),
    );
    out.check(table_of(&out, "tags")["equal"] == true, "tags is equal");
    assert_diff(&out, "posts", "(id)=(1)", "changed", &["body"]);
    assert_diff(&out, "posts", "(id)=(2)", "changed", &["title"]);
    assert_diff(&out, "posts", "(id)=(3)", "missing", &[]);
    assert_diff(&out, "posts", "(id)=(4)", "changed", &["note"]);
    assert_diff(&out, "posts", "(id)=(5)", "changed", &["note"]);
    assert_diff(&out, "posts", "(id)=(6)", "changed", &["at"]);
    assert_diff(&out, "posts", "(id)=(7)", "changed", &["meta"]);
    assert_diff(&out, "posts", "(id)=(8)", "changed", &["data"]);
    assert_diff(&out, "posts", "(id)=(100)", "extra", &[]);
    out.assert_stderr_contains("verify (full): DIFFERENT")
        .assert_stderr_contains("missing  (id)=(3)")
        .assert_stderr_contains("changed  (id)=(7): meta")
        .assert_stderr_contains(
            "Next: where the source changed since the load, `my2pg run --fresh --yes` copies \
             it as it is now; rows only in the target may be the application's, written since \
             the load.\n",
        );

    // --max-diffs bounds the list, not the verdict.
    let out = env.my2pg(&["verify", "--json", "--max-diffs", "2"]);
    out.assert_exit(1);
    let posts = table_of(&out, "posts");
    out.check(
        posts["diffs"].as_array().map(Vec::len) == Some(2),
        &format!("two diffs listed: {posts}"),
    );
    // The counts are then a lower bound, and the text says why.
    out.check(
        posts["counts_complete"] == false,
        &format!("counts are a lower bound: {posts}"),
    );
    // Every count is a lower bound then, not only the first (Keystone trial: "0 extra"
    // read as exact).
    out.assert_stderr_contains(&format!(
        "  posts: DIFFERENT: source 10 rows, target 10 rows; at least {} missing, at least {} \
         extra, at least {} changed (only part of the differing rows was examined: \
         --max-diffs raises how many)",
        posts["missing"], posts["extra"], posts["changed"]
    ));
    // Cut short, the row counts bound the extra rows better than the few examined
    // (Mailman trial: "at least 20 extra" beside 50 more target rows).
    env.pg_exec(
        "INSERT INTO posts SELECT g, 'more', NULL, NULL, '2024-01-01', NULL, NULL \
         FROM generate_series(101, 105) g",
    );
    let out = env.my2pg(&["verify", "--json", "--max-diffs", "1"]);
    out.assert_exit(1);
    let posts = table_of(&out, "posts");
    out.check(
        posts["counts_complete"] == false && posts["target_rows"] == 15 && posts["extra"] == 5,
        &format!("15 target rows against 10: at least 5 extra: {posts}"),
    );
}

#[test]
fn load_verify_needs_no_source_and_catches_a_changed_row() {
    let env = TestEnv::new("verify_load");
    env.mysql_exec(
        "CREATE TABLE items (id char(36) NOT NULL PRIMARY KEY, price decimal(10,2) NOT NULL, \
           ratio double NULL, meta json NULL, at timestamp(6) NULL, raw varbinary(16) NULL, label text NULL)",
    );
    env.pg_exec(
        "CREATE TABLE items (id uuid PRIMARY KEY, price numeric(10,2) NOT NULL, ratio double precision, \
           meta jsonb, at timestamptz, raw bytea, label text)",
    );
    env.mysql_exec(&format!(
        "INSERT INTO items VALUES \
         ('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', '10.50', 0.1, '{{\"k\": [1.0, {{\"z\": 1, \"a\": 2}}]}}', '2024-01-02 03:04:05.000600', X'00ff', {}), \
         ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', '0.00', NULL, NULL, NULL, NULL, ''), \
         ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13', '-1.25', 1e300, '[]', '2030-12-31 23:59:59', X'', NULL), \
         ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a14', '99999999.99', -0.5, '\"s\"', '1999-01-01 00:00:00.5', X'7f', {})",
        my_str("multi\nline \"quoted\", comma"),
        my_str("ünïcödé ✓"),
    ));
    env.write_config("[run]\nchunk_rows = 2");
    env.my2pg(&["run"]).assert_ok();

    // The source is gone: load must not need it.
    env.mysql_exec(&format!("DROP DATABASE `{}`", env.name));
    let out = env.my2pg(&["verify", "--level", "load", "--json"]);
    out.assert_ok();
    let items = table_of(&out, "items");
    out.check(
        items["chunk_rows"] == 4 && items["target_rows"] == 4 && items["equal"] == true,
        &format!("items: {items}"),
    );
    // ... while full does need it, and says so: a database the server does not have is
    // a config mistake (exit 2).
    env.my2pg(&["verify", "--level", "full"])
        .assert_exit(2)
        .assert_stderr_contains(&format!("Unknown database '{}'", env.name));

    env.pg_exec(
        "UPDATE items SET meta = jsonb_set(meta, '{k,1,z}', '5') WHERE id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'",
    );
    let out = env.my2pg(&["verify", "--level", "load", "--json"]);
    out.assert_exit(1);
    assert_diff(
        &out,
        "items",
        "(id)=(a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11)",
        "changed",
        &["meta"],
    );
    out.check(
        table_of(&out, "items")["problems"] == serde_json::json!([]),
        "no chunk file problem",
    );

    // A chunk file edited after the export is named.
    let chunk = env.workdir.join("items").join("000002.csv");
    let text = std::fs::read_to_string(&chunk).unwrap();
    std::fs::write(&chunk, text.replace("ünïcödé", "unicode")).unwrap();
    let out = env.my2pg(&["verify", "--level", "load", "--json"]);
    out.assert_exit(1);
    let problems = table_of(&out, "items")["problems"].to_string();
    out.check(
        problems.contains("000002.csv") && problems.contains("checksum"),
        &format!("the changed chunk file is named: {problems}"),
    );
}

/// A table a failed run exported part of, then left out with `run.exclude`: its files stay
/// in the work directory, and `--level load` leaves it out as `--level full` does (it
/// reported it DIFFERENT, "manifest incomplete").
#[test]
fn load_verify_leaves_out_a_table_run_exclude_now_leaves_out() {
    let env = TestEnv::new("verify_load_excl");
    env.mysql_exec(
        "CREATE TABLE good (id int NOT NULL PRIMARY KEY, v varchar(10) NULL); \
         INSERT INTO good VALUES (1, 'a'), (2, 'b'), (3, 'c'); \
         CREATE TABLE bad (id int NOT NULL PRIMARY KEY, vb varbinary(20) NULL); \
         INSERT INTO bad VALUES (1, 'good'), (2, 'also'), (3, X'FF')",
    );
    env.pg_exec(
        "CREATE TABLE good (id integer PRIMARY KEY, v text); \
         CREATE TABLE bad (id integer PRIMARY KEY, vb text)",
    );
    env.write_config("[run]\nchunk_rows = 2");
    env.my2pg(&["run"])
        .assert_exit(1)
        .assert_stderr_contains("table `bad`, column `vb`, primary key (id)=(3)");
    assert!(env.workdir.join("bad").is_dir(), "bad's files are kept");
    env.write_config("[run]\nchunk_rows = 2\nexclude = [\"bad\"]");
    env.my2pg(&["run"]).assert_ok();
    let out = env.my2pg(&["verify", "--level", "load", "--json"]);
    out.assert_ok();
    let tables: Vec<String> = out.json()["tables"]
        .as_array()
        .expect("tables")
        .iter()
        .map(|t| t["table"].as_str().unwrap_or_default().to_string())
        .collect();
    assert_eq!(tables, vec!["good".to_string()]);
    out.check(
        table_of(&out, "good")["chunk_rows"] == 3 && table_of(&out, "good")["equal"] == true,
        "good is checked and equal",
    );
}

#[test]
fn count_verify_catches_a_missing_row_and_rejects_unknown_tables() {
    let env = TestEnv::new("verify_count");
    env.mysql_exec("CREATE TABLE a (id int NOT NULL PRIMARY KEY); CREATE TABLE b (id int NOT NULL PRIMARY KEY);");
    env.pg_exec(
        "CREATE TABLE a (id integer PRIMARY KEY); CREATE TABLE b (id integer PRIMARY KEY);",
    );
    env.mysql_exec("INSERT INTO a SELECT seq FROM seq_1_to_5; INSERT INTO b VALUES (1)");
    env.write_config("");
    env.my2pg(&["run"]).assert_ok();
    env.my2pg(&["verify", "--level", "count"]).assert_ok();

    env.pg_exec("DELETE FROM a WHERE id = 3");
    let out = env.my2pg(&["verify", "--level", "count", "--json"]);
    out.assert_exit(1);
    let a = table_of(&out, "a");
    out.check(
        a["source_rows"] == 5 && a["target_rows"] == 4 && a["missing"] == 1 && a["equal"] == false,
        &format!("a: {a}"),
    );
    out.check(table_of(&out, "b")["equal"] == true, "b is equal");
    out.assert_stderr_contains("verify (count): DIFFERENT");

    // Only b: equal again.
    env.my2pg(&["verify", "--level", "count", "--table", "b"])
        .assert_ok();
    let out = env.my2pg(&["verify", "--table", "nope", "--json"]);
    out.assert_exit(2);
    out.assert_stderr_contains("nope");
}

/// Values Postgres's `=` holds equal but that the copy would not have written are
/// differences: an interval with days or months ('1 day' for a MySQL time 24:00:00),
/// varbit digits ('1' for bit(4) 0001), and the daylight-time instant of an autumn hour
/// that happens twice (the copy takes standard time, as Postgres does).
#[test]
fn verify_sees_values_that_postgres_equality_merges() {
    let env = TestEnv::new("verify_merged");
    env.mysql_exec(
        "CREATE TABLE t (id int NOT NULL PRIMARY KEY, iv time NULL, b4 bit(4) NULL, \
           dt datetime NULL); \
         INSERT INTO t VALUES (1, '24:00:00', b'0001', '2024-11-03 01:30:00'), \
           (2, '720:00:00', b'1000', '2024-11-03 00:30:00'), (3, NULL, NULL, NULL)",
    );
    env.pg_exec(
        "CREATE TABLE t (id integer PRIMARY KEY, iv interval, b4 varbit(8), dt timestamptz)",
    );
    env.write_config("[run]\nsource_timezone = \"America/New_York\"\n");
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(
        env.pg_rows("SET TimeZone = 'UTC'; SELECT iv::text, b4::text, dt::text FROM t ORDER BY id"),
        vec![
            crate::common::row(&[
                Some("24:00:00"),
                Some("0001"),
                Some("2024-11-03 06:30:00+00")
            ]),
            crate::common::row(&[
                Some("720:00:00"),
                Some("1000"),
                Some("2024-11-03 04:30:00+00")
            ]),
            crate::common::row(&[None, None, None]),
        ]
    );
    for level in ["full", "load"] {
        env.my2pg(&["verify", "--level", level])
            .assert_ok()
            .assert_stderr_contains(&format!("verify ({level}): equal"));
    }
    env.pg_exec(
        "UPDATE t SET iv = '1 day', b4 = '1', dt = '2024-11-03 05:30:00+00' WHERE id = 1; \
         UPDATE t SET iv = '1 mon' WHERE id = 2",
    );
    assert_eq!(
        env.pg_value("SELECT count(*)::text FROM t WHERE iv IN ('24:00:00', '720:00:00')")
            .as_deref(),
        Some("2"),
        "Postgres's = holds them equal"
    );
    let out = env.my2pg(&["verify", "--level", "full", "--json"]);
    out.assert_exit(1);
    assert_diff(&out, "t", "(id)=(1)", "changed", &["iv", "b4", "dt"]);
    assert_diff(&out, "t", "(id)=(2)", "changed", &["iv"]);
    // The load level compares the chunk files (its timestamptz values are local times
    // it cannot read without a time zone database, and are left out).
    let out = env.my2pg(&["verify", "--level", "load", "--json"]);
    out.assert_exit(1);
    assert_diff(&out, "t", "(id)=(1)", "changed", &["iv", "b4"]);
    assert_diff(&out, "t", "(id)=(2)", "changed", &["iv"]);
}

/// jsonb as deep as Postgres takes it (thousands of levels) loads and verifies equal.
#[test]
fn deeply_nested_json_verifies_equal() {
    let env = TestEnv::new("verify_deep_json");
    let arrays = "[".repeat(5000) + "1,2" + &"]".repeat(5000);
    let objects = "{\"a\":".repeat(3000) + "[1,{\"b\":2}]" + &"}".repeat(3000);
    env.mysql_exec(&format!(
        "CREATE TABLE j (id int NOT NULL PRIMARY KEY, doc longtext NULL); \
         INSERT INTO j VALUES (1, {}), (2, {})",
        my_str(&arrays),
        my_str(&objects)
    ));
    env.pg_exec("CREATE TABLE j (id integer PRIMARY KEY, doc jsonb)");
    env.write_config("");
    env.my2pg(&["run"]).assert_ok();
    for level in ["full", "load"] {
        env.my2pg(&["verify", "--level", level])
            .assert_ok()
            .assert_stderr_contains(&format!("verify ({level}): equal"));
    }
    // One value deep inside differs, and is found.
    env.pg_exec(&format!(
        "UPDATE j SET doc = {} WHERE id = 1",
        crate::common::pg_lit(&("[".repeat(5000) + "1,3" + &"]".repeat(5000)))
    ));
    let out = env.my2pg(&["verify", "--level", "full", "--json"]);
    out.assert_exit(1);
    assert_diff(&out, "j", "(id)=(1)", "changed", &["doc"]);
}
