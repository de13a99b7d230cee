//! Text columns survive the trip byte for byte.

use crate::common::{hex, my_opt, my_str, row, TestEnv};

/// Inserts `(id, value, value, value)` rows into `docs(id, t, v, lt)` and
/// checks every value read back from Postgres as hex of its UTF-8 bytes.
fn roundtrip_values(env: &TestEnv, values: &[&str]) {
    setup_docs(env, values);
    run_and_check_docs(env, values);
}

fn setup_docs(env: &TestEnv, values: &[&str]) {
    env.mysql_exec(
        "CREATE TABLE docs (id int NOT NULL PRIMARY KEY, t text NULL, v varchar(255) NULL, lt longtext NULL)",
    );
    env.pg_exec("CREATE TABLE docs (id integer PRIMARY KEY, t text, v varchar(255), lt text)");
    let inserts: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let l = my_str(v);
            format!("({}, {l}, {l}, {l})", i + 1)
        })
        .collect();
    env.mysql_exec(&format!(
        "INSERT INTO docs (id, t, v, lt) VALUES {}",
        inserts.join(",\n")
    ));
    // The source really holds these bytes (guards the test itself).
    let src = env.mysql_rows("SELECT id, HEX(t) FROM docs ORDER BY id");
    for (i, v) in values.iter().enumerate() {
        assert_eq!(
            src[i][1].as_deref().map(str::to_lowercase),
            Some(hex(v.as_bytes())),
            "source row {}",
            i + 1
        );
    }
}

fn run_and_check_docs(env: &TestEnv, values: &[&str]) {
    env.write_config("[run]\nchunk_rows = 4");
    env.my2pg(&["run", "--json"]).assert_ok();

    let got = env.pg_rows(
        "SELECT id::text AS id_text, encode(convert_to(t, 'UTF8'), 'hex'), encode(convert_to(v, 'UTF8'), 'hex'), \
         encode(convert_to(lt, 'UTF8'), 'hex'), t FROM docs WHERE id < 1000 ORDER BY id",
    );
    assert_eq!(got.len(), values.len(), "row count");
    for (i, v) in values.iter().enumerate() {
        let h = hex(v.as_bytes());
        let id = (i + 1).to_string();
        assert_eq!(
            got[i],
            row(&[Some(&id), Some(&h), Some(&h), Some(&h), Some(v)]),
            "row {id}: expected {v:?}"
        );
    }
}

#[test]
fn text_null_and_empty_string_stay_distinct() {
    let env = TestEnv::new("null_empty");
    env.mysql_exec(
        "CREATE TABLE notes (id int NOT NULL PRIMARY KEY, t text NULL, v varchar(255) NULL, \
         lt longtext NULL, mt mediumtext NULL, c char(10) NULL)",
    );
    env.pg_exec(
        "CREATE TABLE notes (id integer PRIMARY KEY, t text, v varchar(255), lt text, mt text, c varchar(10))",
    );
    let rows: Vec<[Option<&str>; 5]> = vec![
        [None, None, None, None, None],
        [Some(""), Some(""), Some(""), Some(""), Some("")],
        [Some(""), None, Some("x"), None, Some("")],
        [None, Some(""), None, Some(""), None],
        [
            Some("NULL"),
            Some("\\N"),
            Some("\"\""),
            Some(" "),
            Some("null"),
        ],
        [
            Some("\"\""),
            Some("''"),
            Some("\\N\n"),
            Some(","),
            Some("\\"),
        ],
        [None, None, None, None, None],
        [Some(""), Some(""), Some(""), Some(""), Some("")],
    ];
    let values: Vec<String> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            format!(
                "({}, {}, {}, {}, {}, {})",
                i + 1,
                my_opt(r[0]),
                my_opt(r[1]),
                my_opt(r[2]),
                my_opt(r[3]),
                my_opt(r[4])
            )
        })
        .collect();
    env.mysql_exec(&format!("INSERT INTO notes VALUES {}", values.join(",\n")));

    env.write_config("[run]\nchunk_rows = 3");
    env.my2pg(&["run", "--json"]).assert_ok();

    let got = env.pg_rows("SELECT id::text AS id_text, t, v, lt, mt, c FROM notes ORDER BY id");
    let expected: Vec<Vec<Option<String>>> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let id = (i + 1).to_string();
            let mut v = vec![Some(id)];
            v.extend(r.iter().map(|x| x.map(str::to_string)));
            v
        })
        .collect();
    assert_eq!(got, expected);
    // And once more with SQL predicates, so a client quirk cannot hide a swap.
    assert_eq!(
        env.pg_rows(
            "SELECT count(*) FILTER (WHERE t IS NULL)::text, count(*) FILTER (WHERE t = '')::text, \
             count(*) FILTER (WHERE v IS NULL)::text, count(*) FILTER (WHERE v = '')::text FROM notes"
        ),
        vec![row(&[Some("3"), Some("3"), Some("3"), Some("3")])]
    );
}

#[test]
fn text_multiline_markdown_roundtrips_byte_for_byte() {
    let env = TestEnv::new("markdown");
    let values = [
        "# Title\n\nSome *text* with  two  spaces.\n\n- item 1\n- item 2   \n\n```rust\nfn main() {\n    println!(\"hi\");\n}\n```\n",
        "Line one\r\nLine two\r\n\r\n    indented code\r\n> quote  \r\n",
        "a\n\r\nb\r\n\n\nc  \n   \n\t\n",
        "\n\nstarts with blank lines and ends with spaces   ",
        "\n",
        "\r\n",
        "\n\n\n",
        "   ",
        "| a | b |\n|---|---|\n| 1 | 2 |\r\n\r\n> nested\n> > quote\n\n1. one\n2. two\n",
        "trailing backslash line \\\nnext\\\r\n\\",
    ];
    setup_docs(&env, &values);
    // A ~200 KB document in one cell (crosses any internal buffer size).
    let big: String = (0..2000)
        .map(|i| format!("## Section {i}\r\n\r\nText with  spaces, \"quotes\" and trailing   \n\n"))
        .collect();
    env.mysql_exec(&format!(
        "INSERT INTO docs (id, t, v, lt) VALUES (1000, NULL, NULL, {})",
        my_str(&big)
    ));
    run_and_check_docs(&env, &values);
    assert_eq!(
        env.pg_rows(
            "SELECT octet_length(lt)::text, encode(sha256(convert_to(lt, 'UTF8')), 'hex') FROM docs WHERE id = 1000"
        ),
        vec![row(&[Some(&big.len().to_string()), Some(&crate::common::sha256_hex(big.as_bytes()))])]
    );
    assert_eq!(env.pg_count("docs"), values.len() as i64 + 1);
}

#[test]
fn text_unicode_emoji_cjk_combining_roundtrip() {
    let env = TestEnv::new("unicode");
    let values = [
        "😀",
        "👩\u{200D}👩\u{200D}👧\u{200D}👦",
        "🏳\u{FE0F}\u{200D}🌈",
        "👍🏽 thumbs",
        "日本語のテキスト、中文字符，한국어",
        "e\u{0301}",
        "\u{00E9}",
        "Z\u{0324}\u{0354}\u{0367}\u{0311}a\u{0308}\u{0356}l\u{036E}o\u{0328}",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟘𝟙𝟚 \u{1F9D1}\u{200D}\u{1F4BB}",
        "\u{FEFF}BOM at start",
        "zero\u{200B}width",
        "مرحبا بالعالم",
        "mixed: ñ ß Ω 😀\n日本\r\n👩\u{200D}💻",
    ];
    roundtrip_values(&env, &values);
    // No normalization: decomposed and precomposed stay different.
    assert_eq!(
        env.pg_rows("SELECT char_length(t)::text FROM docs WHERE id IN (6, 7) ORDER BY id"),
        vec![row(&[Some("2")]), row(&[Some("1")])]
    );
}

#[test]
fn text_csv_and_copy_special_characters_roundtrip() {
    let env = TestEnv::new("special");
    let values = [
        "it's",
        "say \"hi\"",
        "a,b,c",
        "a\rb",
        "a\nb",
        "a\r\nb",
        "back\\slash\\\\double \\n \\t \\r \\x41 \\\\N",
        "tab\there\t",
        "\\.",
        "line1\n\\.\nline3",
        "\\.\n",
        "\"",
        "\"\"",
        ",",
        "\\",
        "\\N",
        " leading and trailing ",
        "\"quoted, with comma\"\r\n\"and newline\"",
        "ctrl \u{1}\u{2}\u{1b}[31m\u{7f} end",
        "'; DROP TABLE docs; --",
        "E'\\x00'",
        "$$dollar$$",
    ];
    roundtrip_values(&env, &values);
}

#[test]
fn text_nul_byte_fails_with_table_column_and_key() {
    // Postgres text cannot hold U+0000: the row must be reported, not mangled.
    let env = TestEnv::new("nul_byte");
    env.mysql_exec("CREATE TABLE notes (id int NOT NULL PRIMARY KEY, body text NULL)");
    env.pg_exec("CREATE TABLE notes (id integer PRIMARY KEY, body text)");
    env.mysql_exec(&format!(
        "INSERT INTO notes VALUES (1, 'ok'), (2, ''), (3, NULL), (4, 'fine'), (5, {})",
        crate::common::my_bin(b"a\0b")
    ));
    env.write_config("");
    let out = env.my2pg(&["run", "--json"]);
    out.assert_exit(1);
    out.assert_stderr_contains(
        "table `notes`, column `body`, primary key (id)=(5): cannot convert",
    );
    let report = out.json();
    out.check(
        report["ok"] == serde_json::json!(false),
        "report.ok must be false",
    );
    let msg = report["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    out.check(
        msg.contains("table `notes`, column `body`, primary key (id)=(5): cannot convert"),
        "error.message must name table, column and key",
    );
}

#[test]
fn a_bad_value_names_its_row_by_the_key_the_table_has() {
    // ejabberd: a row read by a unique key was called "primary key"; a table with no key
    // said "(none: table has no key)", which no operator can find a row by.
    let env = TestEnv::new("row_names");
    env.mysql_exec(
        "CREATE TABLE uk (email varchar(64) NOT NULL, flag tinyint(1) NULL, UNIQUE KEY (email)); \
         INSERT INTO uk VALUES ('a@x', 1), ('b@x', 2); \
         CREATE TABLE nk (a int NULL, flag tinyint(1) NULL, s set('','x') NULL, \
                          nm varchar(10) CHARACTER SET latin1 NULL); \
         INSERT INTO nk VALUES (1, 0, 'x', 'plain'), (2, 2, 1, UNHEX('C3BC')), \
                               (NULL, 1, NULL, NULL)",
    );
    env.pg_exec(
        "CREATE TABLE uk (email text NOT NULL UNIQUE, flag boolean); \
         CREATE TABLE nk (a integer, flag boolean, s text[], nm text)",
    );
    env.write_config("");
    let out = env.my2pg(&["check", "--json"]);
    out.assert_exit(1);
    let samples = |list: &str| -> Vec<(String, serde_json::Value)> {
        out.json()[list]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|f| {
                        let name = format!("{}.{}", f["table"].as_str().unwrap_or("?"), f["class"]);
                        (name, f["sample_keys"].clone())
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        samples("findings"),
        vec![
            (
                "nk.\"not_boolean\"".to_string(),
                serde_json::json!(["(a, flag, s, nm)=(2, 2, \"\", \"Ã¼\") value 2"])
            ),
            (
                "uk.\"not_boolean\"".to_string(),
                serde_json::json!(["(email)=(\"b@x\") value 2"])
            ),
        ],
        "{}",
        out.stdout
    );
    // Found by a query of its own: the row is looked up again, by all its columns.
    assert_eq!(
        samples("warnings"),
        vec![(
            "nk.\"utf8_bytes\"".to_string(),
            serde_json::json!(["(a, flag, s, nm)=(2, 2, \"\", \"Ã¼\")"])
        )],
        "{}",
        out.stdout
    );
    // One failing table at a time: tables load in parallel, the first error wins.
    env.mysql_exec("UPDATE nk SET flag = 0 WHERE a = 2");
    let out = env.my2pg(&["run"]);
    out.assert_exit(1);
    out.assert_stderr_contains(
        "table `uk`, column `flag`, unique key (email)=(\"b@x\"): cannot convert 2: ",
    );
    // nk was exported and loaded by that run: --fresh reads it again.
    env.mysql_exec("UPDATE nk SET flag = 2 WHERE a = 2; UPDATE uk SET flag = 0");
    let out = env.my2pg(&["run", "--fresh", "--yes"]);
    out.assert_exit(1);
    out.assert_stderr_contains(
        "table `nk`, column `flag`, row (a, flag, s, nm)=(2, 2, \"\", \"Ã¼\"): cannot convert 2: ",
    );
}

#[test]
fn text_generated_nasty_strings_roundtrip() {
    // Deterministic proptest generation (no shrinking: one real round trip).
    use proptest::strategy::{Strategy, ValueTree};
    use proptest::test_runner::TestRunner;
    let mut runner = TestRunner::deterministic();
    let nasty = proptest::string::string_regex(
        "[\\\\\"',;\r\n\t .N|a-zé😀日\u{200D}\u{301}\u{7f}\u{1}]{0,40}",
    )
    .unwrap();
    let mut values: Vec<String> = proptest::collection::vec(nasty, 48)
        .new_tree(&mut runner)
        .unwrap()
        .current();
    let any: Vec<String> = proptest::collection::vec(proptest::arbitrary::any::<String>(), 16)
        .new_tree(&mut runner)
        .unwrap()
        .current();
    // Postgres text cannot hold U+0000; everything else must survive.
    values.extend(any.into_iter().map(|s| s.replace('\0', "0")));
    // varchar(255) counts characters.
    for v in &mut values {
        *v = v.chars().take(255).collect();
    }
    let refs: Vec<&str> = values.iter().map(String::as_str).collect();
    let env = TestEnv::new("generated");
    roundtrip_values(&env, &refs);
}

/// Large values are TOAST-compressed with lz4 by default (faster than pglz on the
/// target's CPU), except where the target column names its own method; `server` keeps
/// the server's default. The text reads back byte for byte either way.
#[test]
fn large_text_is_compressed_with_lz4_unless_the_column_or_config_says_otherwise() {
    let env = TestEnv::new("toast");
    let big: String = (0..400)
        .map(|i| format!("## Section {i}\n\nSome *markdown*, \"quoted\", line {i}.\r\n"))
        .collect();
    env.mysql_exec(&format!(
        "CREATE TABLE doc (id int NOT NULL PRIMARY KEY, body longtext NULL, pinned longtext NULL); \
         INSERT INTO doc VALUES (1, {0}, {0}), (2, 'short', 'short');",
        my_str(&big)
    ));
    let ddl = "CREATE TABLE doc (id integer PRIMARY KEY, body text, pinned text COMPRESSION pglz)";
    env.pg_exec(ddl);
    let compression = |env: &TestEnv| {
        env.pg_rows(
            "SELECT id::text AS i, pg_column_compression(body) AS b, \
             pg_column_compression(pinned) AS p, (body = pinned)::text AS same, \
             length(body)::text AS len FROM doc ORDER BY id",
        )
    };
    env.my2pg(&["run"]).assert_ok();
    let len = big.chars().count().to_string();
    assert_eq!(
        compression(&env),
        vec![
            row(&[
                Some("1"),
                Some("lz4"),
                Some("pglz"),
                Some("true"),
                Some(&len)
            ]),
            row(&[Some("2"), None, None, Some("true"), Some("5")]),
        ]
    );
    assert_eq!(
        env.pg_value("SELECT body FROM doc WHERE id = 1").as_deref(),
        Some(big.as_str())
    );

    env.pg_exec("DROP TABLE doc; DROP SCHEMA my2pg CASCADE");
    env.pg_exec(ddl);
    let cfg = env.write_config("[run]\ntoast_compression = \"server\"\n");
    let wd = env.dir.join("work_server");
    let wds = wd.display().to_string();
    env.cmd(&cfg, &["run", "--workdir", wds.as_str()])
        .run()
        .assert_ok();
    assert_eq!(
        compression(&env)[0],
        row(&[
            Some("1"),
            Some("pglz"),
            Some("pglz"),
            Some("true"),
            Some(&len)
        ])
    );
}
