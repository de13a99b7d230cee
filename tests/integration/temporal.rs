//! Dates and times keep every microsecond; timestamps are instants in UTC.

use crate::common::{row, TestEnv};

#[test]
fn datetime_microseconds_and_dates_roundtrip_exactly() {
    let env = TestEnv::new("datetime");
    env.mysql_exec(
        "CREATE TABLE events (id int NOT NULL PRIMARY KEY, dt datetime(6) NULL, d date NULL, dt0 datetime NULL)",
    );
    env.pg_exec(
        "CREATE TABLE events (id integer PRIMARY KEY, dt timestamp(6), d date, dt0 timestamp(0))",
    );
    env.mysql_exec(
        "INSERT INTO events VALUES \
         (1, '2024-02-29 23:59:59.999999', '2024-02-29', '2024-02-29 23:59:59'), \
         (2, '1970-01-01 00:00:00.000001', '1970-01-01', '1970-01-01 00:00:00'), \
         (3, '9999-12-31 23:59:59.999999', '9999-12-31', '9999-12-31 23:59:59'), \
         (4, '1000-01-01 00:00:00', '1000-01-01', '1000-01-01 00:00:00'), \
         (5, '2000-01-01 12:00:00.500000', '2000-01-01', '2038-01-19 03:14:08'), \
         (6, NULL, NULL, NULL)",
    );
    // A target whose session time zone is not UTC must not shift timestamps.
    env.pg_exec(&format!(
        "ALTER DATABASE \"{}\" SET TimeZone = 'Asia/Kathmandu'",
        env.name
    ));

    env.write_config("[run]\nchunk_rows = 2");
    env.my2pg(&["run", "--json"]).assert_ok();

    let got = env.pg_rows(
        "SET DateStyle = 'ISO, YMD'; \
         SELECT id::text AS id_text, dt::text, to_char(dt, 'YYYY-MM-DD HH24:MI:SS.US'), d::text, dt0::text FROM events ORDER BY id",
    );
    assert_eq!(
        got,
        vec![
            row(&[
                Some("1"),
                Some("2024-02-29 23:59:59.999999"),
                Some("2024-02-29 23:59:59.999999"),
                Some("2024-02-29"),
                Some("2024-02-29 23:59:59")
            ]),
            row(&[
                Some("2"),
                Some("1970-01-01 00:00:00.000001"),
                Some("1970-01-01 00:00:00.000001"),
                Some("1970-01-01"),
                Some("1970-01-01 00:00:00")
            ]),
            row(&[
                Some("3"),
                Some("9999-12-31 23:59:59.999999"),
                Some("9999-12-31 23:59:59.999999"),
                Some("9999-12-31"),
                Some("9999-12-31 23:59:59")
            ]),
            row(&[
                Some("4"),
                Some("1000-01-01 00:00:00"),
                Some("1000-01-01 00:00:00.000000"),
                Some("1000-01-01"),
                Some("1000-01-01 00:00:00")
            ]),
            row(&[
                Some("5"),
                Some("2000-01-01 12:00:00.5"),
                Some("2000-01-01 12:00:00.500000"),
                Some("2000-01-01"),
                Some("2038-01-19 03:14:08")
            ]),
            row(&[Some("6"), None, None, None, None]),
        ]
    );
}

#[test]
fn timestamp6_into_timestamptz_keeps_the_utc_instant() {
    let env = TestEnv::new("timestamptz");
    env.mysql_exec(
        "CREATE TABLE stamps (id int NOT NULL PRIMARY KEY, ts timestamp(6) NULL DEFAULT NULL)",
    );
    env.pg_exec("CREATE TABLE stamps (id integer PRIMARY KEY, ts timestamptz(6))");
    // Values are written in different session time zones; MariaDB stores UTC.
    env.mysql_exec(
        "SET time_zone = '+00:00'; \
         INSERT INTO stamps VALUES (1, '2024-02-29 23:59:59.999999'), (2, '1970-01-01 00:00:01.000001'), \
                                   (3, '2038-01-19 03:14:07.999999'), (6, NULL); \
         SET time_zone = '+05:30'; \
         INSERT INTO stamps VALUES (4, '2024-07-01 05:30:00.123456'); \
         SET time_zone = '-08:00'; \
         INSERT INTO stamps VALUES (5, '2023-12-31 16:00:00')",
    );
    env.pg_exec(&format!(
        "ALTER DATABASE \"{}\" SET TimeZone = 'America/St_Johns'",
        env.name
    ));

    env.write_config("[run]\nchunk_rows = 4");
    env.my2pg(&["run", "--json"]).assert_ok();

    let got = env.pg_rows(
        "SET DateStyle = 'ISO, YMD'; SET TimeZone = 'UTC'; \
         SELECT id::text AS id_text, to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US'), ts::text FROM stamps ORDER BY id",
    );
    assert_eq!(
        got,
        vec![
            row(&[
                Some("1"),
                Some("2024-02-29 23:59:59.999999"),
                Some("2024-02-29 23:59:59.999999+00")
            ]),
            row(&[
                Some("2"),
                Some("1970-01-01 00:00:01.000001"),
                Some("1970-01-01 00:00:01.000001+00")
            ]),
            row(&[
                Some("3"),
                Some("2038-01-19 03:14:07.999999"),
                Some("2038-01-19 03:14:07.999999+00")
            ]),
            row(&[
                Some("4"),
                Some("2024-07-01 00:00:00.123456"),
                Some("2024-07-01 00:00:00.123456+00")
            ]),
            row(&[
                Some("5"),
                Some("2024-01-01 00:00:00.000000"),
                Some("2024-01-01 00:00:00+00")
            ]),
            row(&[Some("6"), None, None]),
        ]
    );
}

/// MediaWiki keeps every timestamp as binary(14) `YYYYMMDDHHMMSS` text (UTC), its expiry
/// columns also `infinity`; its Postgres schema has timestamptz. Other applications keep
/// ISO 8601 text. Rule `text_to_timestamp` reads both (an offset is kept as the instant it
/// names); without it `plan` points to the rule.
#[test]
fn rule_text_to_timestamp_reads_mediawiki_and_iso_timestamps() {
    let env = TestEnv::new("tm_text_ts");
    env.mysql_exec(
        "CREATE TABLE rev (id int NOT NULL PRIMARY KEY, ts binary(14) NOT NULL, \
           touched varbinary(14) NULL, expiry varbinary(14) NOT NULL, iso varchar(40) NULL, \
           d varchar(20) NULL, ms varchar(30) NULL); \
         INSERT INTO rev VALUES \
           (1, '20240131235959', '20000101000000', 'infinity', '2024-03-10T02:30:00Z', \
            '2024-02-29', '2024-01-01 10:00:00.123'), \
           (2, '19700101000000', NULL, '20991231235959', '2024-03-10 02:30:00+05:30', NULL, NULL), \
           (3, '20240229120000', '20240229120000', '-infinity', '2024-01-01T00:00:00.5-08:00', \
            '1000-01-01', '2024-01-01 10:00')",
    );
    env.pg_exec(
        "CREATE TABLE rev (id integer PRIMARY KEY, ts timestamptz NOT NULL, touched timestamp, \
           expiry timestamptz NOT NULL, iso timestamptz, d date, ms timestamp(3))",
    );
    let rules: String = ["ts", "touched", "expiry", "iso", "d", "ms"]
        .iter()
        .map(|c| format!("[columns.\"rev.{c}\"]\nconvert = \"text_to_timestamp\"\n"))
        .collect();
    // Without the rules: no conversion, and the way to say what the text holds.
    env.write_config("");
    let plan = env.my2pg(&["plan"]);
    plan.assert_exit(2).assert_stderr_contains(
        "rev.ts: no conversion from MySQL binary(14) to PostgreSQL timestamp with time zone; \
         if the application keeps timestamps there as text (MediaWiki's 20240131235959, ISO \
         8601, infinity), say so: [columns.\"rev.ts\"] convert = \"text_to_timestamp\"",
    );
    env.write_config(&rules);
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(
        env.pg_rows(
            "SET TimeZone = 'UTC'; SELECT id::text, ts::text, touched::text, expiry::text, \
             iso::text, d::text, ms::text FROM rev ORDER BY rev.id"
        ),
        vec![
            row(&[
                Some("1"),
                Some("2024-01-31 23:59:59+00"),
                Some("2000-01-01 00:00:00"),
                Some("infinity"),
                Some("2024-03-10 02:30:00+00"),
                Some("2024-02-29"),
                Some("2024-01-01 10:00:00.123"),
            ]),
            row(&[
                Some("2"),
                Some("1970-01-01 00:00:00+00"),
                None,
                Some("2099-12-31 23:59:59+00"),
                Some("2024-03-09 21:00:00+00"),
                None,
                None,
            ]),
            row(&[
                Some("3"),
                Some("2024-02-29 12:00:00+00"),
                Some("2024-02-29 12:00:00"),
                Some("-infinity"),
                Some("2024-01-01 08:00:00.5+00"),
                Some("1000-01-01"),
                Some("2024-01-01 10:00:00"),
            ]),
        ]
    );
    env.my2pg(&["verify", "--level", "full"])
        .assert_ok()
        .assert_stderr_contains("verify (full): equal");

    // Text it cannot read, a date that does not exist, an offset into a column without
    // a zone, digits the column would round: check counts them, run names the first.
    env.mysql_exec(
        "INSERT INTO rev VALUES \
           (4, 'yesterday', NULL, 'infinity', NULL, NULL, NULL), \
           (5, '20240230000000', NULL, 'infinity', NULL, NULL, NULL), \
           (6, '20240101000000', NULL, 'infinity', NULL, NULL, '2024-01-01 00:00Z'), \
           (7, '20240101000000', NULL, 'infinity', NULL, '2024-01-01 10:00', '2024-01-01 10:00:00.1234')",
    );
    let out = env.my2pg(&["check", "--json"]);
    out.assert_exit(1);
    assert_eq!(
        crate::common::check_findings(&out.json()),
        vec![
            (
                "rev".into(),
                "d".into(),
                "precision_loss".into(),
                1,
                vec![r#"(id)=(7) value "2024-01-01 10:00""#.to_string()],
                false
            ),
            (
                "rev".into(),
                "ms".into(),
                "not_a_timestamp".into(),
                1,
                vec![r#"(id)=(6) value "2024-01-01 00:00Z""#.to_string()],
                false
            ),
            (
                "rev".into(),
                "ms".into(),
                "precision_loss".into(),
                1,
                vec![r#"(id)=(7) value "2024-01-01 10:00:00.1234""#.to_string()],
                false
            ),
            (
                "rev".into(),
                "ts".into(),
                "not_a_timestamp".into(),
                2,
                vec![
                    // binary(14) pads with NUL bytes, which the rule ignores.
                    r#"(id)=(4) value "yesterday\0\0\0\0\0""#.to_string(),
                    r#"(id)=(5) value "20240230000000""#.to_string()
                ],
                false
            ),
        ]
    );
    let out = env.my2pg(&["run", "--fresh", "--yes"]);
    out.assert_exit(1).assert_stderr_contains(
        "table `rev`, column `ts`, primary key (id)=(4): cannot convert \"yesterday\\0\\0\\0\\0\\0\": not a \
         timestamp this rule reads (YYYYMMDDHHMMSS, YYYY-MM-DD HH:MM:SS[.ffffff] with an \
         optional Z or +HH:MM, YYYY-MM-DD, infinity)",
    );
    env.mysql_exec("DELETE FROM rev WHERE id IN (4, 6, 7)");
    env.my2pg(&["run", "--fresh", "--yes"])
        .assert_exit(1)
        .assert_stderr_contains(
            "primary key (id)=(5): cannot convert \"20240230000000\": 2024-02-30 is not a \
             calendar date",
        );
}

/// MediaWiki reads an empty expiry as infinity; other applications leave '' or a zero
/// timestamp for "none". `empty_as` says which, per `text_to_timestamp` column: those
/// values become infinity or NULL (counted, handled in `check`, compared by verify).
#[test]
fn text_to_timestamp_empty_as_infinity_or_null() {
    let env = TestEnv::new("tm_text_empty");
    env.mysql_exec(
        "CREATE TABLE ib (id int NOT NULL PRIMARY KEY, expiry varbinary(14) NOT NULL, \
           ts binary(14) NULL, d varchar(20) NULL); \
         INSERT INTO ib VALUES (1, 'infinity', '20240101000000', '2024-01-01'), \
           (2, '', '', '0000-00-00'), (3, '00000000000000', X'00', '0000-00-00 00:00:00'), \
           (4, '20250101000000', '00000000000000', NULL)",
    );
    env.pg_exec(
        "CREATE TABLE ib (id integer PRIMARY KEY, expiry timestamptz NOT NULL, ts timestamptz, \
           d date)",
    );
    let cfg = |expiry_empty: &str| {
        format!(
            "[columns.\"ib.expiry\"]\nconvert = \"text_to_timestamp\"\nempty_as = \"{expiry_empty}\"\n\
             [columns.\"ib.ts\"]\nconvert = \"text_to_timestamp\"\nempty_as = \"null\"\n\
             [columns.\"ib.d\"]\nconvert = \"text_to_timestamp\"\nempty_as = \"null\"\n"
        )
    };
    // NULL cannot go into the NOT NULL expiry column.
    env.write_config(&cfg("null"));
    env.my2pg(&["plan"]).assert_exit(2).assert_stderr_contains(
        "ib.expiry: rule text_to_timestamp with empty_as = \"null\" needs a nullable target column",
    );
    env.write_config(&cfg("infinity"));
    let out = env.my2pg(&["check", "--json"]);
    out.assert_ok();
    assert_eq!(
        crate::common::check_findings(&out.json()),
        vec![
            (
                "ib".into(),
                "d".into(),
                "not_a_timestamp".into(),
                2,
                vec![
                    r#"(id)=(2) value "0000-00-00""#.to_string(),
                    r#"(id)=(3) value "0000-00-00 00:00:00""#.to_string()
                ],
                true
            ),
            (
                "ib".into(),
                "expiry".into(),
                "not_a_timestamp".into(),
                2,
                vec![
                    r#"(id)=(2) value """#.to_string(),
                    r#"(id)=(3) value "00000000000000""#.to_string()
                ],
                true
            ),
            (
                "ib".into(),
                "ts".into(),
                "not_a_timestamp".into(),
                3,
                vec![
                    r#"(id)=(2) value "\0\0\0\0\0\0\0\0\0\0\0\0\0\0""#.to_string(),
                    r#"(id)=(3) value "\0\0\0\0\0\0\0\0\0\0\0\0\0\0""#.to_string(),
                    r#"(id)=(4) value "00000000000000""#.to_string()
                ],
                true
            ),
        ]
    );
    let out = env.my2pg(&["run", "--json"]);
    out.assert_ok();
    let mut applied: Vec<(String, String, u64)> = out.json()["rules_applied"]
        .as_array()
        .expect("rules_applied")
        .iter()
        .map(|r| {
            (
                r["column"].as_str().unwrap_or_default().to_string(),
                r["rule"].as_str().unwrap_or_default().to_string(),
                r["changed_values"].as_u64().unwrap_or_default(),
            )
        })
        .collect();
    applied.sort();
    assert_eq!(
        applied,
        vec![
            ("d".to_string(), "text_to_timestamp".to_string(), 2),
            ("expiry".to_string(), "text_to_timestamp".to_string(), 2),
            ("ts".to_string(), "text_to_timestamp".to_string(), 3),
        ]
    );
    assert_eq!(
        env.pg_rows(
            "SET TimeZone = 'UTC'; SELECT id::text, expiry::text, ts::text, d::text FROM ib \
             ORDER BY ib.id"
        ),
        vec![
            row(&[
                Some("1"),
                Some("infinity"),
                Some("2024-01-01 00:00:00+00"),
                Some("2024-01-01")
            ]),
            row(&[Some("2"), Some("infinity"), None, None]),
            row(&[Some("3"), Some("infinity"), None, None]),
            row(&[Some("4"), Some("2025-01-01 00:00:00+00"), None, None]),
        ]
    );
    env.my2pg(&["verify", "--level", "full"])
        .assert_ok()
        .assert_stderr_contains("verify (full): equal");
    // verify counts what empty_as replaced, as the run did (not every text it read).
    let out = env.my2pg(&["verify", "--level", "full", "--json"]);
    out.assert_ok();
    assert_eq!(
        out.json()["tables"][0]["rules"],
        serde_json::json!([
            "expiry (text_to_timestamp, 2 value(s))",
            "ts (text_to_timestamp, 3 value(s))",
            "d (text_to_timestamp, 2 value(s))"
        ])
    );
    // Another empty_as is another plan: the files of this one are not resumed under it.
    env.write_config(&cfg("infinity").replace(
        "[columns.\"ib.d\"]\nconvert = \"text_to_timestamp\"\nempty_as = \"null\"\n",
        "[columns.\"ib.d\"]\nconvert = \"text_to_timestamp\"\n",
    ));
    env.my2pg(&["run"])
        .assert_exit(2)
        .assert_stderr_contains("was exported under a different plan or chunk size");
}

/// Two texts can name one instant (`...T10:00:00Z`, `... 10:00:00`): a unique key over a
/// `text_to_timestamp` column is listed as not tested by `check` (MySQL cannot group
/// them), and the load names the repeated key.
#[test]
fn text_to_timestamp_keys_are_listed_as_not_tested() {
    let env = TestEnv::new("tm_text_key");
    env.mysql_exec(
        "CREATE TABLE kd (id int NOT NULL PRIMARY KEY, at varchar(30) NOT NULL, UNIQUE KEY (at)); \
         INSERT INTO kd VALUES (1, '2024-01-01T10:00:00Z'), (2, '2024-01-01 10:00:00')",
    );
    env.pg_exec("CREATE TABLE kd (id integer PRIMARY KEY, at timestamptz NOT NULL UNIQUE)");
    env.write_config("[columns.\"kd.at\"]\nconvert = \"text_to_timestamp\"\n");
    env.my2pg(&["check"])
        .assert_ok()
        .assert_stderr_contains(
            "not tested: kd: key kd_at_key (at): rule text_to_timestamp on at reads different \
             texts as one timestamp (2024-01-01T10:00:00Z and 2024-01-01 10:00:00), which check \
             cannot group in MySQL; a repeat fails the load, naming the key",
        )
        .assert_stderr_contains("check: clean, nothing it tested would fail the cut-over");
    env.my2pg(&["run"])
        .assert_exit(1)
        .assert_stderr_contains("Key (at)=(2024-01-01 10:00:00+00) already exists");
    assert_eq!(env.pg_count("kd"), 0);
}
