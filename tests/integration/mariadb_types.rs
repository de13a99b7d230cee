//! MariaDB's own column types: `uuid` (10.7+), `inet6` (10.5+) and `inet4` (10.10+).

use crate::common::{check_findings, problems, row, TestEnv};

/// Version 1 (time-based) and version 4 UUIDs, in any case: MariaDB stores version 1
/// values with their time fields swapped, so its key order is its own.
const UUIDS: [&str; 6] = [
    "6CCD780C-BABA-1026-9564-5B8C656024DB",
    "6ccd780c-baba-1026-9564-5b8c656024dc",
    "20000000-0000-4000-8000-000000000000",
    "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
    "00000000-0000-0000-0000-000000000001",
    "ffffffff-ffff-4fff-bfff-ffffffffffff",
];

#[test]
fn mariadb_uuid_inet6_and_inet4_into_uuid_inet_and_text() {
    let env = TestEnv::new("mariadb_types");
    env.mysql_exec(
        "CREATE TABLE devices (id uuid NOT NULL PRIMARY KEY, owner uuid NULL, \
           ip inet6 NULL, ip4 inet4 NULL, ip_text inet6 NULL, n int NOT NULL)",
    );
    env.pg_exec(
        "CREATE TABLE devices (id uuid PRIMARY KEY, owner varchar(36), ip inet, ip4 inet, \
           ip_text text, n integer NOT NULL)",
    );
    let ips = [
        "::ffff:1.2.3.4",
        "2001:0db8:0000:0000:0000:0000:0000:0001",
        "::1.2.3.4",
        "2001:db8:0:1:1:1:1:1",
        "fe80::1:0:0:0:1",
        "::",
    ];
    let ip4s = ["10.0.0.1", "255.255.255.255", "0.0.0.0", "192.168.001.002"];
    let mut values = Vec::new();
    for (i, id) in UUIDS.iter().enumerate() {
        let ip4 = ip4s.get(i).map_or("NULL".to_string(), |v| format!("'{v}'"));
        let owner = if i == 0 {
            "NULL".to_string()
        } else {
            format!("'{}'", UUIDS[i - 1])
        };
        values.push(format!(
            "('{id}', {owner}, '{}', {ip4}, '{}', {i})",
            ips[i], ips[i]
        ));
    }
    // Bulk rows so the keyset read crosses many chunks in MariaDB's own uuid order.
    for i in 0..60 {
        values.push(format!(
            "('{:08x}-{:04x}-{}-8000-{:012x}', NULL, NULL, NULL, NULL, {})",
            (i * 2_654_435_761u64) & 0xffff_ffff,
            i,
            if i % 2 == 0 { "1000" } else { "4000" },
            i,
            100 + i
        ));
    }
    env.mysql_exec(&format!("INSERT INTO devices VALUES {}", values.join(", ")));
    env.write_config("[run]\nchunk_rows = 4");

    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_ok();
    let cols = plan.json()["tables"][0]["columns"].clone();
    let conv = |name: &str| -> String {
        cols.as_array()
            .and_then(|cs| cs.iter().find(|c| c["source"] == name))
            .map(|c| format!("{} {}", c["source_type"], c["converter"]))
            .unwrap_or_else(|| plan.fail(&format!("no column {name} in the plan")))
    };
    assert_eq!(
        [
            conv("id"),
            conv("owner"),
            conv("ip"),
            conv("ip4"),
            conv("ip_text")
        ],
        [
            "\"uuid\" \"uuid\"",
            "\"uuid\" \"text\"",
            "\"inet6\" \"inet\"",
            "\"inet4\" \"inet\"",
            "\"inet6\" \"text\""
        ]
    );

    env.my2pg(&["run", "--verify"]).assert_ok();
    assert_eq!(env.pg_count("devices"), 66);
    assert_eq!(
        env.pg_rows(
            "SELECT id::text, owner, host(ip), family(ip)::text, masklen(ip)::text, ip4::text, ip_text \
             FROM devices WHERE n < 100 ORDER BY n"
        ),
        vec![
            row(&[
                Some("6ccd780c-baba-1026-9564-5b8c656024db"),
                None,
                Some("::ffff:1.2.3.4"),
                Some("6"),
                Some("128"),
                Some("10.0.0.1/32"),
                Some("::ffff:1.2.3.4"),
            ]),
            row(&[
                Some("6ccd780c-baba-1026-9564-5b8c656024dc"),
                Some("6ccd780c-baba-1026-9564-5b8c656024db"),
                Some("2001:db8::1"),
                Some("6"),
                Some("128"),
                Some("255.255.255.255/32"),
                Some("2001:db8::1"),
            ]),
            row(&[
                Some("20000000-0000-4000-8000-000000000000"),
                Some("6ccd780c-baba-1026-9564-5b8c656024dc"),
                Some("::1.2.3.4"),
                Some("6"),
                Some("128"),
                Some("0.0.0.0/32"),
                Some("::1.2.3.4"),
            ]),
            // MariaDB prints this address with `::` for a single zero group; Postgres
            // does not: the address is the same, and verify compares addresses.
            row(&[
                Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
                Some("20000000-0000-4000-8000-000000000000"),
                Some("2001:db8:0:1:1:1:1:1"),
                Some("6"),
                Some("128"),
                Some("192.168.1.2/32"),
                Some("2001:db8::1:1:1:1:1"),
            ]),
            row(&[
                Some("00000000-0000-0000-0000-000000000001"),
                Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
                Some("fe80:0:0:1::1"),
                Some("6"),
                Some("128"),
                None,
                Some("fe80:0:0:1::1"),
            ]),
            row(&[
                Some("ffffffff-ffff-4fff-bfff-ffffffffffff"),
                Some("00000000-0000-0000-0000-000000000001"),
                Some("::"),
                Some("6"),
                Some("128"),
                None,
                Some("::"),
            ]),
        ]
    );
    // Every bulk row arrived once, with its own id.
    assert_eq!(
        env.pg_value(
            "SELECT count(DISTINCT id)::text || ' ' || sum(n)::text FROM devices WHERE n >= 100"
        )
        .as_deref(),
        Some("60 7770")
    );

    // Verify reads inet as addresses: a network where the source has a host differs.
    env.pg_exec("UPDATE devices SET ip = '10.0.0.1/8' WHERE n = 0");
    let out = env.my2pg(&["verify", "--json"]);
    out.assert_exit(1);
    let t = &out.json()["tables"][0];
    out.check(
        t["changed"] == 1 && t["missing"] == 0 && t["extra"] == 0,
        &format!("one changed row: {t}"),
    );
    out.check(
        t["diffs"][0]["columns"] == serde_json::json!(["ip"]),
        &format!("the changed column is ip: {t}"),
    );
}

#[test]
fn mariadb_inet6_into_cidr_and_uuid_into_integer_are_refused() {
    let env = TestEnv::new("mariadb_types_refused");
    env.mysql_exec(
        "CREATE TABLE hosts (id int NOT NULL PRIMARY KEY, net inet6 NULL, ref uuid NULL)",
    );
    env.pg_exec("CREATE TABLE hosts (id integer PRIMARY KEY, net cidr, ref bigint)");
    env.write_config("");
    let out = env.my2pg(&["plan", "--json"]);
    out.assert_exit(2);
    assert_eq!(
        problems(&out.json()),
        vec![
            (
                "no_conversion".to_string(),
                "hosts".to_string(),
                Some("net".to_string())
            ),
            (
                "no_conversion".to_string(),
                "hosts".to_string(),
                Some("ref".to_string())
            ),
        ]
    );
    out.assert_stderr_contains("no conversion from MySQL inet6 to PostgreSQL cidr");
}

#[test]
fn check_orphan_scan_compares_mariadb_types_the_way_postgres_will() {
    let env = TestEnv::new("mariadb_types_orphans");
    // inet4 = inet6 is an error in MariaDB; a uuid or inet6 compared with text is
    // converted there, while Postgres compares text targets by spelling and keeps inet
    // families apart. Same-type pairs compare as values on both sides.
    env.mysql_exec(
        "CREATE TABLE p4 (id inet4 NOT NULL PRIMARY KEY);
         CREATE TABLE pv (id varchar(40) NOT NULL PRIMARY KEY);
         CREATE TABLE pu (id char(36) NOT NULL PRIMARY KEY);
         CREATE TABLE puu (id uuid NOT NULL PRIMARY KEY);
         CREATE TABLE c (id int NOT NULL PRIMARY KEY, p4 inet6 NULL, pv inet6 NULL, pu uuid NULL,
           pu_as_uuid char(36) NULL, puu uuid NULL);
         INSERT INTO p4 VALUES ('1.2.3.4');
         INSERT INTO pv VALUES ('2001:0db8::1'), ('2001:db8::2');
         INSERT INTO pu VALUES ('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'), ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12');
         INSERT INTO puu VALUES ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a13');
         INSERT INTO c VALUES
           (1, '::ffff:1.2.3.4', '2001:db8::1', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', NULL, NULL),
           (2, NULL, '2001:db8::2', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', NULL,
              'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A13');",
    );
    env.pg_exec(
        "CREATE TABLE p4 (id inet PRIMARY KEY);
         CREATE TABLE pv (id text PRIMARY KEY);
         CREATE TABLE pu (id text PRIMARY KEY);
         CREATE TABLE puu (id uuid PRIMARY KEY);
         CREATE TABLE c (id integer PRIMARY KEY, p4 inet REFERENCES p4, pv text REFERENCES pv,
           pu text REFERENCES pu, pu_as_uuid uuid, puu uuid REFERENCES puu);",
    );
    env.write_config("");
    let out = env.my2pg(&["check", "--json"]);
    out.assert_exit(1);
    let found: Vec<(String, String, String, u64, Vec<String>)> = check_findings(&out.json())
        .into_iter()
        .map(|(t, c, class, n, samples, _)| (t, c, class, n, samples))
        .collect();
    let f = |col: &str, sample: &str| {
        (
            "c".to_string(),
            col.to_string(),
            "orphan_fk".to_string(),
            1,
            vec![sample.to_string()],
        )
    };
    assert_eq!(
        found,
        vec![
            f("p4", "(id)=(1) p4=(\"::ffff:1.2.3.4\")"),
            f(
                "pu",
                "(id)=(1) pu=(\"a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11\")"
            ),
            f("pv", "(id)=(1) pv=(\"2001:db8::1\")"),
        ]
    );
    // What check predicted is what the load meets.
    let run = env.my2pg(&["run"]);
    run.assert_exit(1);
    run.assert_stderr_contains("is not present in table");
}

#[test]
fn enum_label_with_a_4_byte_character_is_a_warning_and_its_values_are_still_checked() {
    let env = TestEnv::new("mariadb_enum_emoji");
    // information_schema prints the label as '?': the catalog cannot be trusted for it.
    env.mysql_exec(
        "CREATE TABLE e (id int NOT NULL PRIMARY KEY, m enum('a','😀') NOT NULL);
         INSERT INTO e VALUES (1, 'a'), (2, '😀'), (3, 'a');",
    );
    env.pg_exec(
        "CREATE TYPE mood AS ENUM ('a', '🙂');
         CREATE TABLE e (id integer PRIMARY KEY, m mood NOT NULL);",
    );
    env.write_config("");
    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_ok();
    let kinds: Vec<String> = plan.json()["warnings"]
        .as_array()
        .map(|w| w.iter().map(|p| p["kind"].to_string()).collect())
        .unwrap_or_default();
    assert_eq!(kinds, vec!["\"enum_label_unreadable\""]);
    plan.assert_stderr_contains(
        "e.m: enum label(s) [\"?\"] are not in target type mood; MariaDB's catalog prints \
         4-byte characters as '?', so they may be there: every value is still checked \
         against the target's labels during the copy",
    );
    // The hidden label really is missing in the target: its value is refused, row named.
    let run = env.my2pg(&["run"]);
    run.assert_exit(1);
    run.assert_stderr_contains("(id)=(2)")
        .assert_stderr_contains("label does not exist in the target enum type");
    env.pg_exec("ALTER TYPE mood ADD VALUE '😀'");
    // The target's labels are part of the plan: the files of the refused run are redone.
    env.my2pg(&["run", "--fresh", "--yes", "--verify"])
        .assert_ok();
    assert_eq!(
        env.pg_rows("SELECT id::text, m::text FROM e ORDER BY id"),
        vec![
            row(&[Some("1"), Some("a")]),
            row(&[Some("2"), Some("😀")]),
            row(&[Some("3"), Some("a")]),
        ]
    );
}
