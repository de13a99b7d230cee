//! MySQL/MariaDB `json` into Postgres `json` (text kept) and `jsonb` (semantic).

use crate::common::{
    check_findings, my_opt, my_str, pg_text_expr, problems, row, rules_applied, warning_messages,
    TestEnv,
};

#[test]
fn json_nested_unicode_and_escapes_into_jsonb_and_json() {
    let env = TestEnv::new("json");
    env.mysql_exec(
        "CREATE TABLE payloads (id int NOT NULL PRIMARY KEY, j json NULL, jb json NULL)",
    );
    env.pg_exec("CREATE TABLE payloads (id integer PRIMARY KEY, j json, jb jsonb)");
    let docs: Vec<Option<&str>> = vec![
        Some(r#"{"a":{"b":"é\n\"x\" \u00e9 😀"},"arr":[1,2.5,null,true]}"#),
        Some("null"),
        None,
        Some(r#""just a string with \\ backslash and \t tab escape""#),
        Some("[]"),
        Some(
            r#"{ "k" : "line1\nline2", "emoji": "\ud83d\ude00", "big": 12345678901234567890, "small": -0.0001e-5 }"#,
        ),
        Some("{\r\n  \"a\": 1,\r\n  \"b\": [\r\n    \"x,y\",\r\n    \"\\\\.\"\r\n  ]\r\n}"),
        Some(r#"{"dup":1,"dup2":2,"z":"日本語","q":"\"","bs":"\\","slash":"\/"}"#),
        Some("{}"),
    ];
    let values: Vec<String> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| format!("({}, {}, {})", i + 1, my_opt(*d), my_opt(*d)))
        .collect();
    env.mysql_exec(&format!(
        "INSERT INTO payloads VALUES {}",
        values.join(",\n")
    ));

    env.write_config("[run]\nchunk_rows = 4");
    env.my2pg(&["run", "--json"]).assert_ok();

    // json keeps the text exactly.
    let got = env.pg_rows("SELECT id::text AS id_text, j::text FROM payloads ORDER BY id");
    let expected: Vec<_> = docs
        .iter()
        .enumerate()
        .map(|(i, d)| row(&[Some(&(i + 1).to_string()), *d]))
        .collect();
    assert_eq!(got, expected, "json column text");

    // jsonb equals the source document parsed by Postgres.
    for (i, d) in docs.iter().enumerate() {
        let id = i + 1;
        let sql = match d {
            Some(d) => format!(
                "SELECT (jb IS NOT NULL AND jb = ({})::jsonb)::text FROM payloads WHERE id = {id}",
                pg_text_expr(d)
            ),
            None => format!("SELECT (jb IS NULL)::text FROM payloads WHERE id = {id}"),
        };
        assert_eq!(
            env.pg_value(&sql).as_deref(),
            Some("true"),
            "jsonb row {id}: {d:?}"
        );
    }
    // Spot checks on decoded values.
    assert_eq!(
        env.pg_value("SELECT jb #>> '{a,b}' FROM payloads WHERE id = 1")
            .as_deref(),
        Some("é\n\"x\" é 😀")
    );
    assert_eq!(
        env.pg_value("SELECT jb::text FROM payloads WHERE id = 1")
            .as_deref(),
        Some(r#"{"a": {"b": "é\n\"x\" é 😀"}, "arr": [1, 2.5, null, true]}"#)
    );
    assert_eq!(
        env.pg_rows("SELECT jsonb_typeof(jb), (j IS NULL)::text FROM payloads WHERE id IN (2, 3) ORDER BY id"),
        vec![row(&[Some("null"), Some("false")]), row(&[None, Some("true")])]
    );
    assert_eq!(
        env.pg_value("SELECT jb ->> 'emoji' FROM payloads WHERE id = 6")
            .as_deref(),
        Some("😀")
    );
    assert_eq!(
        env.pg_value("SELECT (jb -> 'big')::text FROM payloads WHERE id = 6")
            .as_deref(),
        Some("12345678901234567890")
    );
}

/// MariaDB keeps duplicate keys in JSON text and reads the first; jsonb would keep the
/// last, so by default the value is refused (run and check); `json_duplicate_keys =
/// "last"` lets jsonb keep the last (counted), and verify agrees; json keeps the text.
#[test]
fn json_duplicate_keys_into_jsonb_are_refused_unless_last_is_chosen() {
    let env = TestEnv::new("json_dupes");
    let dup = r#"{"a":1,"b":{"c":1,"c":2}}"#;
    env.mysql_exec(&format!(
        "CREATE TABLE docs (id int NOT NULL PRIMARY KEY, jb longtext NULL, j json NULL); \
         INSERT INTO docs VALUES (1, '{{\"c\":1,\"d\":{{\"c\":2}}}}', '[]'), (2, {0}, {0}), (3, NULL, NULL)",
        my_str(dup)
    ));
    env.pg_exec("CREATE TABLE docs (id integer PRIMARY KEY, jb jsonb, j json)");
    // What the application reads from MariaDB today: the first "c".
    assert_eq!(
        env.mysql_rows("SELECT JSON_VALUE(jb, '$.b.c') FROM docs WHERE id = 2"),
        vec![row(&[Some("1")])]
    );

    env.write_config("[workers]\nreaders = 1\n[run]\nchunk_rows = 2");
    let out = env.my2pg(&["run", "--json"]);
    out.assert_exit(1).assert_stderr_contains(
        r#"table `docs`, column `jb`, primary key (id)=(2): cannot convert "{\"a\":1,\"b\":{\"c\":1,\"c\":2}}": duplicate key "c" in a JSON object: MySQL/MariaDB read the first value, jsonb would keep the last"#,
    );
    assert_eq!(env.pg_count("docs"), 0);

    let out = env.my2pg(&["check", "--json"]);
    out.assert_exit(1);
    let report = out.json();
    assert_eq!(report["ok"], false);
    assert_eq!(
        check_findings(&report),
        vec![(
            "docs".into(),
            "jb".into(),
            "duplicate_json_key".into(),
            1,
            vec![r#"(id)=(2) value "{\"a\":1,\"b\":{\"c\":1,\"c\":2}}""#.to_string()],
            false
        )]
    );

    // The escape hatch: jsonb keeps the last "c", counted; json keeps the text.
    env.write_config(
        "[workers]\nreaders = 1\n[run]\nchunk_rows = 2\njson_duplicate_keys = \"last\"",
    );
    let out = env.my2pg(&["check", "--json"]);
    out.assert_ok();
    assert_eq!(
        check_findings(&out.json()),
        vec![(
            "docs".into(),
            "jb".into(),
            "duplicate_json_key".into(),
            1,
            vec![r#"(id)=(2) value "{\"a\":1,\"b\":{\"c\":1,\"c\":2}}""#.to_string()],
            true
        )]
    );
    // The failed run's files were exported under the other plan: --fresh starts over.
    let out = env.my2pg(&["run", "--fresh", "--yes", "--json"]);
    out.assert_ok();
    assert_eq!(
        rules_applied(&out.json()),
        vec![(
            "docs".to_string(),
            "jb".to_string(),
            "json_duplicate_keys_last".to_string(),
            1
        )]
    );
    assert_eq!(
        env.pg_rows("SELECT id::text, jb::text, j::text FROM docs ORDER BY id"),
        vec![
            row(&[Some("1"), Some(r#"{"c": 1, "d": {"c": 2}}"#), Some("[]")]),
            row(&[Some("2"), Some(r#"{"a": 1, "b": {"c": 2}}"#), Some(dup)]),
            row(&[Some("3"), None, None]),
        ]
    );
    // verify reads the source with jsonb's rule for this column (the last key wins), and
    // counts the documents it changed as the run did.
    let out = env.my2pg(&["verify", "--level", "full", "--json"]);
    out.assert_ok()
        .assert_stderr_contains("verify (full): equal");
    assert_eq!(
        out.json()["tables"][0]["rules"],
        serde_json::json!(["jb (json_duplicate_keys_last, 1 value(s))"])
    );
}

/// The per-column rule: only that jsonb column takes the last key; on a json column it
/// is a blocking plan problem (json keeps duplicates anyway).
#[test]
fn rule_json_duplicate_keys_last_is_per_column_and_needs_jsonb() {
    let env = TestEnv::new("json_dupes_rule");
    env.mysql_exec(
        r#"CREATE TABLE docs (id int NOT NULL PRIMARY KEY, a longtext NULL, b longtext NULL);
           INSERT INTO docs VALUES (1, '{"k":1,"\\u006b":2}', '{"k":1}'), (2, '{"k":1}', '[{"x":1,"x":2}]')"#,
    );
    env.pg_exec("CREATE TABLE docs (id integer PRIMARY KEY, a jsonb, b jsonb)");
    env.write_config(
        "[workers]\nreaders = 1\n[columns.\"docs.a\"]\nconvert = \"json_duplicate_keys_last\"",
    );
    env.my2pg(&["run"]).assert_exit(1).assert_stderr_contains(
        r#"table `docs`, column `b`, primary key (id)=(2): cannot convert "[{\"x\":1,\"x\":2}]": duplicate key "x" in a JSON object"#,
    );
    assert_eq!(env.pg_count("docs"), 0);
    env.mysql_exec("UPDATE docs SET b = '[{\"x\":2}]' WHERE id = 2");
    env.my2pg(&["run", "--fresh", "--yes"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT id::text, a::text, b::text FROM docs ORDER BY id"),
        vec![
            row(&[Some("1"), Some(r#"{"k": 2}"#), Some(r#"{"k": 1}"#)]),
            row(&[Some("2"), Some(r#"{"k": 1}"#), Some(r#"[{"x": 2}]"#)]),
        ]
    );

    let env = TestEnv::new("json_dupes_rule_json");
    env.mysql_exec("CREATE TABLE docs (id int NOT NULL PRIMARY KEY, a longtext NULL)");
    env.pg_exec("CREATE TABLE docs (id integer PRIMARY KEY, a json)");
    env.write_config("[columns.\"docs.a\"]\nconvert = \"json_duplicate_keys_last\"");
    let out = env.my2pg(&["plan", "--json"]);
    out.assert_exit(2);
    assert_eq!(
        problems(&out.json()),
        vec![("invalid_rule".into(), "docs".into(), Some("a".into()))]
    );
    env.my2pg(&["run"]).assert_exit(2).assert_stderr_contains(
        "docs.a: rule json_duplicate_keys_last needs a jsonb target column",
    );
}

/// jsonb stores numbers as numeric, whose range is finite, and cannot store `\u0000`:
/// both are found by `check` and by the run's converter (naming the row), never left to
/// the server; `strip_nul` on a jsonb column removes the escapes (counted), and verify
/// compares the source as the rule made it.
#[test]
fn jsonb_numbers_beyond_numeric_and_nul_escapes() {
    let env = TestEnv::new("json_range");
    env.mysql_exec(&format!(
        "CREATE TABLE docs (id int NOT NULL PRIMARY KEY, jb longtext NULL); \
         INSERT INTO docs VALUES (1, {}), (2, {}), (3, {}), (4, {}), (5, NULL)",
        my_str(r#"{"n":1e-1000000}"#),
        my_str(r#"{"a":"x\u0000y","b":["\u0000"]}"#),
        my_str(r#"{"n":1e131071,"m":[-1e-16383]}"#),
        my_str(r#"["\\u0000"]"#),
    ));
    env.pg_exec("CREATE TABLE docs (id integer PRIMARY KEY, jb jsonb)");
    env.write_config("[run]\nchunk_rows = 2");

    let out = env.my2pg(&["check", "--json"]);
    out.assert_exit(1);
    assert_eq!(
        check_findings(&out.json()),
        vec![
            (
                "docs".into(),
                "jb".into(),
                "nul_byte".into(),
                1,
                vec![r#"(id)=(2) value "{\"a\":\"x\\u0000y\",\"b\":[\"\\u0000\"]}""#.to_string()],
                false
            ),
            (
                "docs".into(),
                "jb".into(),
                "out_of_range".into(),
                1,
                vec![r#"(id)=(1) value "{\"n\":1e-1000000}""#.to_string()],
                false
            ),
        ]
    );
    let out = env.my2pg(&["run"]);
    out.assert_exit(1).assert_stderr_contains(
        r#"table `docs`, column `jb`, primary key (id)=(1): cannot convert "{\"n\":1e-1000000}": jsonb cannot store it: the number at byte 5 is beyond numeric's range"#,
    );
    assert_eq!(env.pg_count("docs"), 0);

    env.mysql_exec(&format!(
        "UPDATE docs SET jb = {} WHERE id = 1",
        my_str(r#"{"n":1e-16383}"#)
    ));
    env.write_config("[run]\nchunk_rows = 2\n[columns.\"docs.jb\"]\nconvert = \"strip_nul\"");
    let out = env.my2pg(&["check", "--json"]);
    out.assert_ok();
    assert_eq!(
        check_findings(&out.json()),
        vec![(
            "docs".into(),
            "jb".into(),
            "nul_byte".into(),
            1,
            vec![r#"(id)=(2) value "{\"a\":\"x\\u0000y\",\"b\":[\"\\u0000\"]}""#.to_string()],
            true
        )]
    );
    let out = env.my2pg(&["run", "--fresh", "--yes", "--json"]);
    out.assert_ok();
    assert_eq!(
        rules_applied(&out.json()),
        vec![(
            "docs".to_string(),
            "jb".to_string(),
            "strip_nul".to_string(),
            1
        )]
    );
    assert_eq!(
        env.pg_rows(
            "SELECT id::text, CASE WHEN id IN (1, 3) THEN md5(jb::text) ELSE jb::text END \
             FROM docs ORDER BY id"
        ),
        vec![
            row(&[Some("1"), env.pg_value("SELECT md5('{\"n\": ' || 1e-16383::numeric || '}')").as_deref()]),
            row(&[Some("2"), Some(r#"{"a": "xy", "b": [""]}"#)]),
            row(&[
                Some("3"),
                env.pg_value(
                    "SELECT md5('{\"m\": [' || (-1e-16383)::numeric || '], \"n\": ' || 1e131071::numeric || '}')"
                )
                .as_deref()
            ]),
            row(&[Some("4"), Some(r#"["\\u0000"]"#)]),
            row(&[Some("5"), None]),
        ]
    );
    env.my2pg(&["verify", "--level", "full"])
        .assert_ok()
        .assert_stderr_contains("verify (full): equal");
    // The run-wide duplicate-key policy stops at a column with its own rule: plan says so.
    env.write_config(
        "[run]\nchunk_rows = 2\njson_duplicate_keys = \"last\"\n[columns.\"docs.jb\"]\nconvert = \"strip_nul\"",
    );
    let out = env.my2pg(&["plan", "--json"]);
    out.assert_ok();
    assert_eq!(
        warning_messages(&out.json(), "rule_replaces_policy"),
        vec![
            "docs.jb: its rule strip_nul replaces run.json_duplicate_keys = \"last\" for this \
              column (a column takes one rule): a duplicate key there still fails the run"
                .to_string()
        ]
    );
    // A changed value is still found with the rule in place.
    env.pg_exec("UPDATE docs SET jb = '{\"a\": \"xy\", \"b\": [\"z\"]}' WHERE id = 2");
    env.my2pg(&["verify", "--level", "full"])
        .assert_exit(1)
        .assert_stderr_contains("(id)=(2)");
}
