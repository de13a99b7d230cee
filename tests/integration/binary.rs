//! Binary columns into bytea with every byte value.

use crate::common::{hex, my_bin, row, sha256_hex, TestEnv};

#[test]
fn binary_all_byte_values_roundtrip_into_bytea() {
    let env = TestEnv::new("binary");
    env.mysql_exec(
        "CREATE TABLE bins (id int NOT NULL PRIMARY KEY, b blob NULL, vb varbinary(300) NULL, \
         lb longblob NULL, bn binary(4) NULL)",
    );
    env.pg_exec(
        "CREATE TABLE bins (id integer PRIMARY KEY, b bytea, vb bytea, lb bytea, bn bytea)",
    );

    let all: Vec<u8> = (0..=255u8).collect();
    let rev: Vec<u8> = (0..=255u8).rev().collect();
    let big: Vec<u8> = (0..256 * 1024)
        .map(|i| ((i * 7 + i / 256) % 256) as u8)
        .collect();
    let tricky: &[&[u8]] = &[b"\\.\n", b"\r\n\"", b"\\x41", b"\\\\N,"];
    env.mysql_exec(&format!(
        "INSERT INTO bins VALUES \
         (1, {}, {}, {}, X'000D0A5C'), \
         (2, X'', X'', X'', NULL), \
         (3, NULL, NULL, NULL, NULL), \
         (4, {}, {}, {}, X'5C783431')",
        my_bin(&all),
        my_bin(&rev),
        my_bin(&big),
        my_bin(tricky[0]),
        my_bin(tricky[1]),
        my_bin(tricky[2]),
    ));

    env.write_config("[run]\nchunk_rows = 3");
    env.my2pg(&["run", "--json"]).assert_ok();

    let got = env.pg_rows(
        "SELECT id::text AS id_text, encode(b, 'hex'), encode(vb, 'hex'), encode(bn, 'hex') FROM bins ORDER BY id",
    );
    assert_eq!(
        got,
        vec![
            row(&[
                Some("1"),
                Some(&hex(&all)),
                Some(&hex(&rev)),
                Some("000d0a5c")
            ]),
            row(&[Some("2"), Some(""), Some(""), None]),
            row(&[Some("3"), None, None, None]),
            row(&[
                Some("4"),
                Some(&hex(tricky[0])),
                Some(&hex(tricky[1])),
                Some("5c783431")
            ]),
        ]
    );
    assert_eq!(
        env.pg_rows("SELECT id::text AS id_text, octet_length(lb)::text, encode(sha256(lb), 'hex') FROM bins ORDER BY id"),
        vec![
            row(&[Some("1"), Some(&big.len().to_string()), Some(&sha256_hex(&big))]),
            row(&[Some("2"), Some("0"), Some(&sha256_hex(b""))]),
            row(&[Some("3"), None, None]),
            row(&[Some("4"), Some(&tricky[2].len().to_string()), Some(&sha256_hex(tricky[2]))]),
        ]
    );
}
