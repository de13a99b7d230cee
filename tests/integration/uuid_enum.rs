//! char(36) UUIDs into uuid; MySQL enums into Postgres enum, text and varchar.

use crate::common::{my_opt, row, TestEnv};

#[test]
fn uuid_char36_upper_and_lower_case_into_uuid() {
    let env = TestEnv::new("uuid");
    env.mysql_exec(
        "CREATE TABLE accounts (id char(36) NOT NULL PRIMARY KEY, parent_id char(36) NULL, name varchar(255) NOT NULL)",
    );
    env.pg_exec(
        "CREATE TABLE accounts (id uuid PRIMARY KEY, parent_id uuid, name varchar(255) NOT NULL)",
    );
    env.mysql_exec(
        "INSERT INTO accounts VALUES \
         ('A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', NULL, 'upper'), \
         ('a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11', 'lower'), \
         ('00000000-0000-0000-0000-000000000000', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12', 'nil'), \
         ('FFFFFFFF-ffff-FFFF-ffff-FFFFFFFFFFFF', NULL, 'max mixed')",
    );

    env.write_config("");
    let plan = env.my2pg(&["plan", "--json"]);
    plan.assert_ok();
    let report = plan.json();
    let table = report["tables"]
        .as_array()
        .and_then(|t| t.iter().find(|t| t["target"] == "accounts"))
        .unwrap_or_else(|| plan.fail("plan has no table `accounts`"))
        .clone();
    let id_col = table["columns"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["source"] == "id"))
        .unwrap_or_else(|| plan.fail("plan table `accounts` has no column `id`"))
        .clone();
    assert_eq!(
        id_col,
        serde_json::json!({"source":"id","source_type":"char(36)","target":"id","target_type":"uuid","converter":"uuid","converter_detail":"uuid (text)"}),
        "plan column entry for accounts.id"
    );

    env.my2pg(&["run", "--json"]).assert_ok();
    assert_eq!(
        env.pg_rows(
            "SELECT id::text AS id_text, parent_id::text, name FROM accounts ORDER BY name"
        ),
        vec![
            row(&[
                Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12"),
                Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
                Some("lower")
            ]),
            row(&[
                Some("ffffffff-ffff-ffff-ffff-ffffffffffff"),
                None,
                Some("max mixed")
            ]),
            row(&[
                Some("00000000-0000-0000-0000-000000000000"),
                Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a12"),
                Some("nil")
            ]),
            row(&[
                Some("a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"),
                None,
                Some("upper")
            ]),
        ]
    );
}

#[test]
fn enum_into_pg_enum_text_and_varchar() {
    let env = TestEnv::new("enums");
    let labels = "'draft','published','archived','ünïcode label','with space','it''s'";
    env.mysql_exec(&format!(
        "CREATE TABLE posts (id int NOT NULL PRIMARY KEY, status enum({labels}) NOT NULL, \
         as_text enum({labels}) NULL, as_varchar enum({labels}) NULL)"
    ));
    env.pg_exec(&format!(
        "CREATE TYPE post_status AS ENUM ({labels}); \
         CREATE TABLE posts (id integer PRIMARY KEY, status post_status NOT NULL, as_text text, as_varchar varchar(20))"
    ));
    let rows: [(&str, Option<&str>, Option<&str>); 6] = [
        ("draft", Some("published"), Some("archived")),
        ("published", None, None),
        ("archived", Some("draft"), Some("draft")),
        (
            "ünïcode label",
            Some("ünïcode label"),
            Some("ünïcode label"),
        ),
        ("with space", Some("with space"), Some("with space")),
        ("it's", Some("it's"), None),
    ];
    let values: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            format!(
                "({}, {}, {}, {})",
                i + 1,
                my_opt(Some(r.0)),
                my_opt(r.1),
                my_opt(r.2)
            )
        })
        .collect();
    env.mysql_exec(&format!("INSERT INTO posts VALUES {}", values.join(", ")));

    env.write_config("");
    env.my2pg(&["run", "--json"]).assert_ok();

    let expected: Vec<_> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| row(&[Some(&(i + 1).to_string()), Some(r.0), r.1, r.2]))
        .collect();
    assert_eq!(
        env.pg_rows(
            "SELECT id::text AS id_text, status::text, as_text, as_varchar FROM posts ORDER BY id"
        ),
        expected
    );
    // The enum column really is the enum type (ordering by label position).
    assert_eq!(
        env.pg_rows("SELECT string_agg(id::text, ',' ORDER BY status, id) FROM posts"),
        vec![row(&[Some("1,2,3,4,5,6")])]
    );
}
