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
