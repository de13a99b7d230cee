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
