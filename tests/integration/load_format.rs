//! `load_format = "binary"` (the default) against `"csv"`: the same source rows, loaded
//! both ways, read back identically from Postgres; tables with a column that has no exact
//! binary form go as CSV; a value the binary encoder refuses names its row.

use crate::common::TestEnv;

const SOURCE: &str = "
CREATE TABLE every_kind (id int NOT NULL PRIMARY KEY, s smallint NULL, i int NULL, b bigint NULL,
  flag tinyint(1) NULL, f float NULL, d double NULL, fd float NULL, v varchar(50) NULL,
  c char(5) NULL, tx mediumtext NULL, e enum('a','b c','d''e') NULL, j json NULL, jb json NULL,
  u char(36) NULL, ub binary(16) NULL, raw varbinary(20) NULL, dt date NULL,
  ts datetime(6) NULL, ts3 datetime(3) NULL, tz timestamp(6) NULL);
CREATE TABLE priced (id int NOT NULL PRIMARY KEY, amount decimal(10,2) NULL, label varchar(10) NULL);
INSERT INTO every_kind VALUES
 (1, -32768, -2147483648, -9223372036854775808, 0, -3.4e38, -1.7976931348623157e308, 0.1,
  '', '', '', 'a', '{}', '[]', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11',
  X'00112233445566778899AABBCCDDEEFF', X'', '1000-01-01', '1000-01-01 00:00:00',
  '1000-01-01 00:00:00.001', '1970-01-01 00:00:01'),
 (2, 32767, 2147483647, 9223372036854775807, 1, 3.4e38, 2.2250738585072014e-308, -0,
  'comma, \"quote\" and\\nnewline\\r\\n', 'ab  ', 'é ✓ 😀 \\\\ back\\\\slash \\\\.\\n',
  'b c', '{\"b\": [1, 2.50, {\"é\": \"\\\\u00e9 \\\\\\\" q\"}], \"a\": null}',
  '{\"z\": 1, \"a\": {\"y\": true}}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12',
  X'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF', X'00FF5C0D0A2C22', '2024-02-29',
  '9999-12-31 23:59:59.999999', '2024-02-29 12:34:56.789', '2038-01-19 03:14:07.999999'),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL),
 (4, 0, 0, 0, 0, 0, 0, 1.5, '\"', 'x', '\"\"\"', 'd''e', '\"s\"', 'null',
  '00000000-0000-0000-0000-000000000000', X'00000000000000000000000000000000', X'5C78',
  '1999-12-31', '2000-01-01 00:00:00', '2000-01-01 00:00:00.5', '2000-01-01 00:00:00.000001');
INSERT INTO priced VALUES (1, 12.50, 'a'), (2, NULL, 'b'), (3, -0.01, NULL);
";

const TARGET: &str = "
CREATE TYPE mood AS ENUM ('a', 'b c', 'd''e');
CREATE TABLE every_kind (id integer PRIMARY KEY, s smallint, i integer, b bigint, flag boolean,
  f real, d double precision, fd double precision, v varchar(50), c character(5), tx text,
  e mood, j json, jb jsonb, u uuid, ub uuid, raw bytea, dt date, ts timestamp(6),
  ts3 timestamp(3), tz timestamptz);
CREATE TABLE priced (id integer PRIMARY KEY, amount numeric(10,2), label text);
";

fn load(name: &str, format: &str) -> (TestEnv, Vec<Vec<Option<String>>>) {
    let env = TestEnv::new(name);
    env.mysql_exec(SOURCE);
    env.pg_exec(TARGET);
    env.write_config(&format!(
        "[run]\nload_format = \"{format}\"\nchunk_rows = 3\n"
    ));
    let out = env.my2pg(&["run"]);
    out.assert_ok();
    if format == "binary" {
        out.assert_stderr_contains("table=\"public\".\"every_kind\" format=\"binary\"");
    } else {
        out.assert_stderr_contains("table=\"public\".\"every_kind\" format=\"csv\"");
    }
    // numeric has no binary encoder here: that table goes as CSV either way.
    out.assert_stderr_contains("table=\"public\".\"priced\" format=\"csv\"");
    let rows = env.pg_rows(
        "SELECT e::text FROM every_kind e UNION ALL SELECT p::text FROM priced p ORDER BY 1",
    );
    (env, rows)
}

#[test]
fn binary_and_csv_loads_read_back_identically() {
    let (env, binary) = load("lf_bin", "binary");
    let (_csv_env, csv) = load("lf_csv", "csv");
    assert_eq!(binary, csv);
    assert_eq!(binary.len(), 7);
    // A few values spelled out, so "identical" cannot mean "identically wrong".
    assert_eq!(
        env.pg_rows(
            "SELECT ts::text, ts3::text, tz AT TIME ZONE 'UTC', dt::text, u::text, ub::text, \
             encode(raw, 'hex'), c, v, jb::text FROM every_kind WHERE id = 2"
        ),
        vec![vec![
            Some("9999-12-31 23:59:59.999999".into()),
            Some("2024-02-29 12:34:56.789".into()),
            Some("2038-01-19 03:14:07.999999".into()),
            Some("2024-02-29".into()),
            Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12".into()),
            Some("ffffffff-ffff-ffff-ffff-ffffffffffff".into()),
            Some("00ff5c0d0a2c22".into()),
            Some("ab   ".into()),
            Some("comma, \"quote\" and\nnewline\r\n".into()),
            Some("{\"a\": {\"y\": true}, \"z\": 1}".into()),
        ]]
    );
    assert_eq!(
        env.pg_rows(
            "SELECT f::text, d::text, fd::text, s, b::text, tx, e::text FROM every_kind \
             WHERE id IN (1, 4) ORDER BY id"
        ),
        vec![
            vec![
                Some("-3.4e+38".into()),
                Some("-1.7976931348623157e+308".into()),
                Some("0.1".into()),
                Some("-32768".into()),
                Some("-9223372036854775808".into()),
                Some("".into()),
                Some("a".into()),
            ],
            vec![
                Some("0".into()),
                Some("0".into()),
                Some("1.5".into()),
                Some("0".into()),
                Some("0".into()),
                Some("\"\"\"".into()),
                Some("d'e".into()),
            ],
        ]
    );
    let verify = env.my2pg(&["verify", "--level", "full"]);
    verify.assert_ok();
    verify.assert_stderr_contains("every_kind: equal (4 rows)");
}

/// An impossible date (ALLOW_INVALID_DATES) is refused at export, naming its row, before
/// either load format sees it (the binary encoder's own refusal is unit-tested in
/// src/pipeline/binary.rs); nothing of its chunk commits.
#[test]
fn an_impossible_date_names_its_row_and_nothing_of_its_chunk_commits() {
    let env = TestEnv::new("lf_bad");
    env.mysql_exec(
        "CREATE TABLE days (id int NOT NULL PRIMARY KEY, at datetime NOT NULL); \
         SET SESSION sql_mode = 'ALLOW_INVALID_DATES'; \
         INSERT INTO days VALUES (1, '2023-02-28 10:00:00'), (2, '2023-02-28 11:00:00'), \
           (3, '2023-02-30 12:00:00'), (4, '2023-03-01 00:00:00');",
    );
    env.pg_exec("CREATE TABLE days (id integer PRIMARY KEY, at timestamp NOT NULL)");
    env.write_config("[run]\nchunk_rows = 2\n");
    let out = env.my2pg(&["run"]);
    out.assert_exit(1);
    out.assert_stderr_contains(
        "table `days`, column `at`, primary key (id)=(3): cannot convert 2023-02-30 12:00:00: \
         2023-02-30 is not a calendar date (MySQL keeps it under ALLOW_INVALID_DATES)",
    );
    // The failing chunk left nothing (chunk 1, on the other loader, may or may not have
    // committed before the run stopped).
    assert_eq!(
        env.pg_value("SELECT count(*)::text FROM days WHERE id >= 3"),
        Some("0".into())
    );
    // Fixed at the source and exported again, the next run loads exactly the rest.
    env.mysql_exec("UPDATE days SET at = '2023-03-02 12:00:00' WHERE id = 3");
    std::fs::remove_dir_all(env.dir.join("work").join("days")).expect("remove the export");
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT id, at::text FROM days ORDER BY id"),
        vec![
            vec![Some("1".into()), Some("2023-02-28 10:00:00".into())],
            vec![Some("2".into()), Some("2023-02-28 11:00:00".into())],
            vec![Some("3".into()), Some("2023-03-02 12:00:00".into())],
            vec![Some("4".into()), Some("2023-03-01 00:00:00".into())],
        ]
    );
}

/// A unique violation in a CSV load names the row Postgres stopped on, also after rows
/// whose text holds line breaks: Postgres counts a line break inside the first record as
/// a CR (it learns the file's line ends there), after it as a LF (the h23 attack: a LF in
/// the first record named the row before the duplicate).
#[test]
fn a_duplicate_after_quoted_line_breaks_names_its_own_row() {
    for (case, first, second) in [
        ("lf_first", "a\\nb", "c"),
        ("lf_second", "a", "c\\nd"),
        ("lf_both", "a\\nb", "c\\nd"),
        ("crlf_both", "a\\r\\nb", "c\\r\\nd"),
        ("cr_first", "a\\rb", "c\\rd"),
    ] {
        let env = TestEnv::new(&format!("csv_line_{case}"));
        env.mysql_exec(&format!(
            "CREATE TABLE t (id int NOT NULL PRIMARY KEY, email varchar(20) NOT NULL, \
               note text NOT NULL); \
             INSERT INTO t VALUES (1, 'x1', '{first}'), (2, 'x2', '{second}'), (3, 'x3', 'e'), \
               (4, 'x1', 'dup')"
        ));
        env.pg_exec(
            "CREATE TABLE t (id integer PRIMARY KEY, email varchar(20) NOT NULL, \
               note text NOT NULL); \
             CREATE UNIQUE INDEX t_email ON t (email)",
        );
        env.write_config("[run]\nload_format = \"csv\"\ndefer_unique = false\n");
        let out = env.my2pg(&["run"]);
        out.assert_exit(1)
            .assert_stderr_contains("duplicate key value violates unique constraint \"t_email\"")
            .assert_stderr_contains("row with primary key (id)=(4)");
    }
}
