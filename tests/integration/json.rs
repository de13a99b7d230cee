//! MySQL/MariaDB `json` into Postgres `json` (text kept) and `jsonb` (semantic).

use crate::common::{my_opt, pg_text_expr, row, TestEnv};

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
        Some(r#"{"dup":1,"dup":2,"z":"日本語","q":"\"","bs":"\\","slash":"\/"}"#),
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
