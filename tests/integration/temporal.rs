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
