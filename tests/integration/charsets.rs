//! Text in non-UTF-8 charsets: the server converts it for the utf8mb4 connection, and
//! puts `?` for a stored byte its charset has no character for.

use crate::common::{check_findings, row, TestEnv};

#[test]
fn single_byte_charsets_convert_and_unmappable_bytes_are_refused_not_turned_into_question_marks() {
    let env = TestEnv::new("charsets_unmappable");
    env.mysql_exec(
        "CREATE TABLE c (id int NOT NULL PRIMARY KEY, w varchar(20) CHARACTER SET cp1250 NULL, \
           a varchar(20) CHARACTER SET ascii NULL, l varchar(20) CHARACTER SET latin1 NULL);
         INSERT INTO c VALUES
           (1, _binary 0x8E6C759D6F75E86BFD, 'plain', _binary 0x41807F81FF),
           (2, NULL, NULL, NULL),
           (3, _binary 0x418142, 'ok', 'ok'),
           (4, 'ok', _binary 0x41E942, 'ok');",
    );
    env.pg_exec("CREATE TABLE c (id integer PRIMARY KEY, w text, a text, l text)");
    env.write_config("[run]\nchunk_rows = 2");

    let out = env.my2pg(&["check", "--json"]);
    out.assert_exit(1);
    let found: Vec<(String, String, String, u64, Vec<String>)> = check_findings(&out.json())
        .into_iter()
        .map(|(t, c, class, n, samples, _)| (t, c, class, n, samples))
        .collect();
    assert_eq!(
        found,
        vec![
            (
                "c".to_string(),
                "a".to_string(),
                "unmappable_char".to_string(),
                1,
                vec!["(id)=(4) value \"A?B\"".to_string()]
            ),
            (
                "c".to_string(),
                "w".to_string(),
                "unmappable_char".to_string(),
                1,
                vec!["(id)=(3) value \"A?B\"".to_string()]
            ),
        ]
    );

    let run = env.my2pg(&["run"]);
    run.assert_exit(1);
    run.assert_stderr_contains(
        "the stored value has bytes with no Unicode character in charset cp1250 \
         (MariaDB sends them as '?'); fix the data, or copy the column into bytea",
    )
    .assert_stderr_contains("(id)=(3)");
    assert_eq!(env.pg_count("c"), 0, "nothing of the table is loaded");

    // Without the bad rows, every byte that has a character arrives as that character.
    env.mysql_exec("DELETE FROM c WHERE id IN (3, 4)");
    env.my2pg(&["run", "--fresh", "--yes", "--verify"])
        .assert_ok();
    assert_eq!(
        env.pg_rows(
            "SELECT id::text, w, a, encode(convert_to(l, 'UTF8'), 'hex') FROM c ORDER BY id"
        ),
        vec![
            row(&[
                Some("1"),
                Some("Žluťoučký"),
                Some("plain"),
                Some("41e282ac7fc281c3bf")
            ]),
            row(&[Some("2"), None, None, None]),
        ]
    );
}

#[test]
fn text_in_a_non_utf8_charset_into_bytea_and_hex_keeps_the_stored_bytes() {
    let env = TestEnv::new("charsets_bytes");
    env.mysql_exec(
        "CREATE TABLE w (id int NOT NULL PRIMARY KEY, l varchar(10) CHARACTER SET latin1 NULL, \
           c text CHARACTER SET cp1250 NULL, h longtext CHARACTER SET latin1 NULL, \
           u varchar(10) CHARACTER SET utf8mb4 NULL);
         INSERT INTO w VALUES (1, _binary 0x41807F81FF, _binary 0x418142, _binary 0x0001807F81FF, 'é€'),
           (2, '', NULL, '', NULL);",
    );
    env.pg_exec("CREATE TABLE w (id integer PRIMARY KEY, l bytea, c bytea, h text, u bytea)");
    env.write_config("[columns.\"w.h\"]\nconvert = \"hex\"\n");
    env.my2pg(&["check"]).assert_ok();
    env.my2pg(&["run", "--verify"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT id::text, encode(l, 'hex'), encode(c, 'hex'), h, encode(u, 'hex') FROM w ORDER BY id"),
        vec![
            row(&[
                Some("1"),
                Some("41807f81ff"),
                Some("418142"),
                Some("0001807f81ff"),
                Some("c3a9e282ac")
            ]),
            row(&[Some("2"), Some(""), None, Some(""), None]),
        ]
    );
    // verify reads the stored bytes too: a changed byte is a difference.
    env.pg_exec("UPDATE w SET l = '\\x41807f81fe' WHERE id = 1");
    let out = env.my2pg(&["verify", "--json"]);
    out.assert_exit(1);
    out.check(
        out.json()["tables"][0]["diffs"][0]["columns"] == serde_json::json!(["l"]),
        "the changed column is l",
    );
}
