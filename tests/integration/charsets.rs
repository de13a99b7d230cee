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

/// Values above the source server's max_allowed_packet (16 MiB here; LOAD DATA stores
/// them, INSERT cannot): MariaDB's CAST and CONVERT return NULL for them, so a value read
/// as stored bytes (into bytea) or checked for unmappable bytes would load as NULL or
/// with `?`. Such a value fails check, run and verify, naming its row; a plain read of a
/// value that large loads exactly.
#[test]
fn values_above_max_allowed_packet_are_read_exactly_or_refused_never_nulled() {
    let env = TestEnv::new("charsets_packet");
    let packet: usize = env
        .mysql_rows("SELECT @@max_allowed_packet")
        .remove(0)
        .remove(0)
        .unwrap()
        .parse()
        .unwrap();
    env.mysql_exec(
        "CREATE TABLE lb (id int NOT NULL PRIMARY KEY, c longtext CHARACTER SET latin1 NULL); \
         CREATE TABLE cp (id int NOT NULL PRIMARY KEY, c longtext CHARACTER SET cp1250 NULL); \
         CREATE TABLE big (id int NOT NULL PRIMARY KEY, c longblob NULL)",
    );
    env.pg_exec(
        "CREATE TABLE lb (id integer PRIMARY KEY, c bytea NOT NULL); \
         CREATE TABLE cp (id integer PRIMARY KEY, c text); \
         CREATE TABLE big (id integer PRIMARY KEY, c bytea)",
    );
    // Every byte but tab and newline (the LOAD DATA separators), past the packet size.
    let alphabet: Vec<u8> = (0u8..=255).filter(|b| *b != b'\t' && *b != b'\n').collect();
    let mut large: Vec<u8> = alphabet
        .iter()
        .copied()
        .cycle()
        .take(packet + packet / 8)
        .collect();
    let tsv = |v: &[u8]| {
        let mut d = b"1\tsmall\x81\n2\t".to_vec();
        d.extend_from_slice(v);
        d.push(b'\n');
        d
    };
    let load = |table: &str, cs: &str| {
        format!("INTO TABLE {table} CHARACTER SET {cs} FIELDS TERMINATED BY '\\t' ESCAPED BY ''")
    };
    env.mysql_load_local(&load("big", "binary"), tsv(&large));
    env.mysql_load_local(&load("lb", "latin1"), tsv(&large));
    // cp1250 has no character for 0x81: a large value holding one (and no NUL, which
    // text cannot hold anyway).
    large.retain(|b| *b != 0x81 && *b != 0);
    large.push(0x81);
    env.mysql_load_local(&load("cp", "cp1250"), tsv(&large));
    assert_eq!(
        env.mysql_rows("SELECT id, LENGTH(c) > @@max_allowed_packet FROM lb UNION ALL SELECT id, LENGTH(c) > @@max_allowed_packet FROM cp ORDER BY 1, 2"),
        vec![
            row(&[Some("1"), Some("0")]),
            row(&[Some("1"), Some("0")]),
            row(&[Some("2"), Some("1")]),
            row(&[Some("2"), Some("1")])
        ]
    );
    env.write_config("[workers]\nreaders = 1\n[run]\nchunk_rows = 1");

    let out = env.my2pg(&["check", "--json"]);
    out.assert_exit(1);
    let findings = check_findings(&out.json());
    assert_eq!(
        findings
            .iter()
            .map(|f| (f.0.as_str(), f.2.as_str(), f.3, f.4.len(), f.5))
            .collect::<Vec<_>>(),
        vec![
            ("cp", "over_max_allowed_packet", 1, 1, false),
            ("cp", "unmappable_char", 1, 1, false),
            ("lb", "over_max_allowed_packet", 1, 1, false),
        ]
    );
    assert!(
        findings[0].4[0].starts_with("(id)=(2) value "),
        "{findings:?}"
    );
    // Nor can check read its bytes to look for UTF-8: it says so (Dagster trial: a clean
    // check, then a 17 MB value loaded as mojibake).
    let warnings = out.json()["warnings"].clone();
    assert_eq!(
        warnings,
        serde_json::json!([{"table": "cp", "column": "c", "class": "utf8_bytes_unchecked",
            "count": 1, "sample_keys": ["(id)=(2)"], "handled_by_policy": false,
            "message": "1 value(s) of cp.c (longtext, charset cp1250) are longer than the \
                source's max_allowed_packet, so their bytes could not be read to tell whether \
                they are UTF-8 written through a cp1250 connection (which would load as \
                mojibake): raise max_allowed_packet on the source server and run check again"}])
    );

    // (cp's small value would fail first: the large ones are what this run is about.)
    env.write_config("[workers]\nreaders = 1\n[run]\nchunk_rows = 1\nexclude = [\"cp\"]");
    let out = env.my2pg(&["run"]);
    out.assert_exit(1).assert_stderr_contains(
        "table `lb`, column `c`, primary key (id)=(2): cannot convert its stored value: \
             the value (or its UTF-8 form) is larger than the source server's \
             max_allowed_packet, above which MariaDB's CAST and CONVERT return NULL",
    );
    assert_eq!(
        env.pg_value("SELECT count(*)::text FROM lb WHERE c IS NULL"),
        Some("0".into())
    );

    // The plain read of the large blob is exact (the client accepts the large packet).
    env.write_config("[workers]\nreaders = 1\n[run]\nchunk_rows = 1\nexclude = [\"lb\", \"cp\"]");
    env.my2pg(&["run", "--fresh", "--yes"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT id::text, md5(c), length(c)::text FROM big ORDER BY id"),
        env.mysql_rows("SELECT id, MD5(c), LENGTH(c) FROM big ORDER BY id")
    );
    env.my2pg(&["verify", "--level", "full"])
        .assert_ok()
        .assert_stderr_contains("verify (full): equal");

    // A target holding something else where the source has the large value (as an older
    // run could have loaded it) is not "equal": verify cannot read the value as stored,
    // and says so for that table while it compares the others.
    env.pg_exec("INSERT INTO lb VALUES (1, '\\x736d616c6c81'), (2, '\\x00')");
    env.write_config("[workers]\nreaders = 1\n[run]\nchunk_rows = 1\nexclude = [\"cp\"]");
    let out = env.my2pg(&["verify", "--level", "full", "--json"]);
    out.assert_exit(1);
    let tables = out.json()["tables"].clone();
    let by_name = |n: &str| {
        tables
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["table"] == n)
            .unwrap_or_else(|| panic!("no table {n}: {tables}"))
            .clone()
    };
    assert_eq!(by_name("big")["equal"], true);
    let lb = by_name("lb");
    assert_eq!(lb["equal"], false);
    let problems = lb["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{lb}");
    let p = problems[0].as_str().unwrap();
    assert!(
        p.starts_with("column `c`, primary key (id)=(2): the value (or its UTF-8 form) is larger than the source server's max_allowed_packet"),
        "{p}"
    );
}

/// An application that wrote UTF-8 through a latin1 connection stored UTF-8 bytes in a
/// latin1 column (Icinga 2 IDO): read as latin1 they load as mojibake, and verify agrees
/// with it. Rule bytes_as_utf8 reads the stored bytes as UTF-8; a value whose bytes are
/// not UTF-8 (a real latin1 `é`) is an error naming its row, never a guess; the rule is
/// refused where it cannot apply.
#[test]
fn utf8_bytes_in_a_latin1_column_load_as_text_with_bytes_as_utf8() {
    let env = TestEnv::new("charsets_utf8_bytes");
    env.mysql_exec(
        "CREATE TABLE s (id int NOT NULL PRIMARY KEY, \
           o varchar(60) CHARACTER SET latin1 NULL, n varchar(20) CHARACTER SET latin1 NULL, \
           j text CHARACTER SET latin1 NULL);
         INSERT INTO s VALUES
           (1, _binary 0x5554462D3820C3BC62657220616C6C657320F09F988020E29C93, 'plain', \
              _binary 0x7B2261223A22C3BC227D),
           (2, '', NULL, NULL),
           (3, NULL, 'x', '[]'),
           (4, 'ascii only', 'y', NULL);",
    );
    env.pg_exec("CREATE TABLE s (id integer PRIMARY KEY, o varchar(30), n text, j jsonb)");
    // Without the rule: each byte is a latin1 character.
    env.write_config("[run]\nchunk_rows = 2");
    env.my2pg(&["run"]).assert_ok();
    assert_eq!(
        env.pg_value("SELECT o FROM s WHERE id = 1").as_deref(),
        Some("UTF-8 Ã¼ber alles ðŸ˜€ âœ“")
    );
    // check warns (without failing) where the stored bytes are UTF-8.
    let out = env.my2pg(&["check", "--json"]);
    out.assert_ok();
    let warnings: Vec<(String, String, String, u64, Vec<String>)> = out.json()["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| {
            (
                w["column"].as_str().unwrap().to_string(),
                w["class"].as_str().unwrap().to_string(),
                w["message"].as_str().unwrap().to_string(),
                w["count"].as_u64().unwrap(),
                serde_json::from_value(w["sample_keys"].clone()).unwrap(),
            )
        })
        .collect();
    let warning = |column: &str, ty: &str| {
        (
            column.to_string(),
            "utf8_bytes".to_string(),
            format!(
                "1 value(s) of s.{column} ({ty}, charset latin1) hold bytes that are UTF-8 \
                 (multi-byte sequences), and 0 value(s) hold bytes that are not: read as \
                 latin1, the UTF-8 ones load as mojibake (`Ã¼` for `ü`), and verify says equal. \
                 If the application wrote UTF-8 through a latin1 connection, set convert = \
                 \"bytes_as_utf8\" for the column (values that are not UTF-8 then fail, naming \
                 their rows, to be fixed in the source); if it holds latin1 text that only \
                 looks so, leave it"
            ),
            1,
            vec!["(id)=(1)".to_string()],
        )
    };
    assert_eq!(
        warnings,
        vec![warning("o", "varchar(60)"), warning("j", "text")]
    );
    out.assert_stderr_contains("  warning: s.o utf8_bytes: 1 row(s); e.g. (id)=(1)");
    let rules = "[run]\nchunk_rows = 2\n[columns.\"s.o\"]\nconvert = \"bytes_as_utf8\"\n\
                 [columns.\"s.j\"]\nconvert = \"bytes_as_utf8\"";
    env.write_config(rules);
    // With the rule, nothing to warn of.
    let out = env.my2pg(&["check", "--json"]);
    out.assert_ok();
    assert_eq!(out.json()["warnings"], serde_json::json!([]));
    let out = env.my2pg(&["run", "--fresh", "--yes", "--json"]);
    out.assert_ok();
    assert_eq!(
        crate::common::rules_applied(&out.json()),
        vec![
            (
                "s".to_string(),
                "j".to_string(),
                "bytes_as_utf8".to_string(),
                1
            ),
            (
                "s".to_string(),
                "o".to_string(),
                "bytes_as_utf8".to_string(),
                1
            ),
        ]
    );
    assert_eq!(
        env.pg_rows("SELECT s.id::text, s.o, s.n, s.j::text FROM s ORDER BY s.id"),
        vec![
            row(&[
                Some("1"),
                Some("UTF-8 über alles 😀 ✓"),
                Some("plain"),
                Some(r#"{"a": "ü"}"#)
            ]),
            row(&[Some("2"), Some(""), None, None]),
            row(&[Some("3"), None, Some("x"), Some("[]")]),
            row(&[Some("4"), Some("ascii only"), Some("y"), None]),
        ]
    );
    let out = env.my2pg(&["verify", "--level", "full", "--json"]);
    out.assert_ok();
    assert_eq!(
        out.json()["tables"][0]["rules"],
        serde_json::json!([
            "o (bytes_as_utf8, 1 value(s))",
            "j (bytes_as_utf8, 1 value(s))"
        ])
    );
    // A changed byte in the target is a difference: verify compares the bytes read.
    env.pg_exec("UPDATE s SET o = 'UTF-8 uber alles 😀 ✓' WHERE id = 1");
    env.my2pg(&["verify", "--level", "full"]).assert_exit(1);
    // (--fresh below would refuse to delete a row written since the load.)
    env.pg_exec("DELETE FROM s WHERE id = 1");

    // A real latin1 character is not UTF-8: refused with its row, by check and by run.
    env.mysql_exec("INSERT INTO s VALUES (5, 'caf\u{e9}', NULL, NULL)");
    let out = env.my2pg(&["check", "--json"]);
    out.assert_exit(1);
    assert_eq!(
        check_findings(&out.json())
            .into_iter()
            .map(|f| (f.0, f.1, f.2, f.3, f.4))
            .collect::<Vec<_>>(),
        vec![(
            "s".to_string(),
            "o".to_string(),
            "invalid_utf8".to_string(),
            1,
            vec![r"(id)=(5) value bytes \x636166e9".to_string()]
        )]
    );
    // The advice names the rule that failed, not bytea, hex or base64 (Dagster trial).
    let advice = "fix them in the source (rule bytes_as_utf8 reads the column's stored bytes \
                  as UTF-8, and these are not: convert such a value to UTF-8 there), or drop \
                  the rule if the column holds text of its own charset";
    out.assert_stderr_contains(advice);
    env.my2pg(&["run", "--fresh", "--yes"])
        .assert_exit(1)
        .assert_stderr_contains("table `s`, column `o`, primary key (id)=(5)")
        .assert_stderr_contains(advice);

    // Where it cannot apply: a UTF-8 column, a number target, a key column.
    env.mysql_exec(
        "CREATE TABLE k (c varchar(10) CHARACTER SET latin1 NOT NULL PRIMARY KEY, \
           u varchar(10) CHARACTER SET utf8mb4 NULL, i varchar(10) CHARACTER SET latin1 NULL)",
    );
    env.pg_exec("CREATE TABLE k (c text PRIMARY KEY, u text, i integer)");
    env.write_config(
        "[columns.\"k.c\"]\nconvert = \"bytes_as_utf8\"\n[columns.\"k.u\"]\nconvert = \
         \"bytes_as_utf8\"\n[columns.\"k.i\"]\nconvert = \"bytes_as_utf8\"",
    );
    let out = env.my2pg(&["plan", "--json"]);
    out.assert_exit(2);
    // Where the rule cannot go, check's warning says what can (the review).
    env.mysql_exec(
        "CREATE TABLE kk (c varchar(10) CHARACTER SET latin1 NOT NULL PRIMARY KEY); \
         INSERT INTO kk VALUES (CONVERT(X'C3BC' USING latin1))",
    );
    env.pg_exec("CREATE TABLE kk (c text PRIMARY KEY)");
    env.write_config("[run]\nexclude = [\"k\", \"s\"]");
    let check = env.my2pg(&["check", "--json"]);
    check.assert_ok();
    // A warning is handled by nothing (Dagster trial: `true` read as dealt with).
    assert_eq!(check.json()["warnings"][0]["handled_by_policy"], false);
    assert_eq!(
        check.json()["warnings"][0]["message"],
        "1 value(s) of kk.c (varchar(10), charset latin1) hold bytes that are UTF-8 \
         (multi-byte sequences), and 0 value(s) hold bytes that are not: read as latin1, the \
         UTF-8 ones load as mojibake (`Ã¼` for `ü`), and verify says equal. The column is in \
         the key the table is read in order of, where rule bytes_as_utf8 cannot go: if the \
         application wrote UTF-8 through a latin1 connection, change the column's charset in \
         the source before the cut-over (to binary, then to utf8mb4, so MariaDB keeps the \
         bytes); if it holds latin1 text that only looks so, leave it"
    );
    assert_eq!(
        crate::common::problem_messages(&out.json()),
        vec![
            "k.u: rule bytes_as_utf8 needs a text source column in a charset other than UTF-8 \
             (such as latin1): a utf8mb4 or utf8mb3 column is read as UTF-8 already",
            "k.i: rule bytes_as_utf8 needs a text or json target column",
            "k.c: rule bytes_as_utf8 cannot be on a column of the key the table is read in \
             order of (c): those values are also the bounds of each read, compared in the \
             column's charset",
        ]
    );
}
