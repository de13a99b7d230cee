//! Booleans, integer extremes, exact decimals and floating point.

use crate::common::{row, TestEnv};

#[test]
fn booleans_tinyint1_into_boolean_keep_null() {
    let env = TestEnv::new("booleans");
    env.mysql_exec(
        "CREATE TABLE flags (id int NOT NULL PRIMARY KEY, active tinyint(1) NOT NULL, maybe tinyint(1) NULL, b boolean NULL)",
    );
    env.pg_exec("CREATE TABLE flags (id integer PRIMARY KEY, active boolean NOT NULL, maybe boolean, b boolean)");
    env.mysql_exec("INSERT INTO flags VALUES (1, 1, 1, TRUE), (2, 0, 0, FALSE), (3, 1, NULL, NULL), (4, 0, NULL, TRUE)");

    env.write_config("");
    env.my2pg(&["run", "--json"]).assert_ok();

    assert_eq!(
        env.pg_rows("SELECT id::text AS id_text, active, maybe, b FROM flags ORDER BY id"),
        vec![
            row(&[Some("1"), Some("t"), Some("t"), Some("t")]),
            row(&[Some("2"), Some("f"), Some("f"), Some("f")]),
            row(&[Some("3"), Some("t"), None, None]),
            row(&[Some("4"), Some("f"), None, Some("t")]),
        ]
    );
}

#[test]
fn integers_signed_and_unsigned_extremes_roundtrip() {
    let env = TestEnv::new("integers");
    env.mysql_exec(
        "CREATE TABLE ints (id int NOT NULL PRIMARY KEY, \
         ti tinyint NULL, tiu tinyint unsigned NULL, si smallint NULL, siu smallint unsigned NULL, \
         mi mediumint NULL, miu mediumint unsigned NULL, i int NULL, iu int unsigned NULL, \
         bi bigint NULL, biu bigint unsigned NULL)",
    );
    env.pg_exec(
        "CREATE TABLE ints (id integer PRIMARY KEY, ti smallint, tiu smallint, si smallint, siu integer, \
         mi integer, miu integer, i integer, iu bigint, bi bigint, biu numeric(20,0))",
    );
    env.mysql_exec(
        "INSERT INTO ints VALUES \
         (1, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0), \
         (2, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615), \
         (3, 0, 1, -1, 1, -1, 1, -1, 1, -1, 9223372036854775808), \
         (4, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    );

    env.write_config("");
    env.my2pg(&["run", "--json"]).assert_ok();

    assert_eq!(
        env.pg_rows(
            "SELECT id::text AS id_text, ti::text, tiu::text, si::text, siu::text, mi::text, miu::text, i::text, iu::text, \
             bi::text, biu::text FROM ints ORDER BY id"
        ),
        vec![
            row(&[Some("1"), Some("-128"), Some("0"), Some("-32768"), Some("0"), Some("-8388608"), Some("0"),
                  Some("-2147483648"), Some("0"), Some("-9223372036854775808"), Some("0")]),
            row(&[Some("2"), Some("127"), Some("255"), Some("32767"), Some("65535"), Some("8388607"),
                  Some("16777215"), Some("2147483647"), Some("4294967295"), Some("9223372036854775807"),
                  Some("18446744073709551615")]),
            row(&[Some("3"), Some("0"), Some("1"), Some("-1"), Some("1"), Some("-1"), Some("1"), Some("-1"),
                  Some("1"), Some("-1"), Some("9223372036854775808")]),
            row(&[Some("4"), None, None, None, None, None, None, None, None, None, None]),
        ]
    );
}

#[test]
fn decimals_exact_and_floats_bit_identical() {
    let env = TestEnv::new("decimals");
    env.mysql_exec(
        "CREATE TABLE amounts (id int NOT NULL PRIMARY KEY, price decimal(10,2) NULL, \
         wide decimal(65,30) NULL, whole decimal(20,0) NULL, f float NULL, d double NULL)",
    );
    env.pg_exec(
        "CREATE TABLE amounts (id integer PRIMARY KEY, price numeric(10,2), wide numeric(65,30), \
         whole numeric(20,0), f real, d double precision)",
    );
    // (id, price, wide, whole, float literal, double literal)
    let rows: [(u32, &str, &str, &str, &str, &str); 5] = [
        (
            1,
            "-12345678.90",
            "12345678901234567890123456789012345.123456789012345678901234567890",
            "-99999999999999999999",
            "1.5",
            "3.141592653589793",
        ),
        (
            2,
            "99999999.99",
            "-0.000000000000000000000000000001",
            "0",
            "-0.25",
            "-1.7976931348623157e308",
        ),
        (
            3,
            "0.00",
            "0.000000000000000000000000000000",
            "1",
            "0.1",
            "2.2250738585072014e-308",
        ),
        (
            4,
            "0.01",
            "-99999999999999999999999999999999999.999999999999999999999999999999",
            "99999999999999999999",
            "16777216",
            "0.1",
        ),
        (
            5,
            "-0.01",
            "1.000000000000000000000000000000",
            "-1",
            "-3.0e38",
            "123456789012345680000",
        ),
    ];
    let values: Vec<String> = rows
        .iter()
        .map(|r| format!("({}, {}, {}, {}, {}, {})", r.0, r.1, r.2, r.3, r.4, r.5))
        .collect();
    env.mysql_exec(&format!(
        "INSERT INTO amounts VALUES {}, (6, NULL, NULL, NULL, NULL, NULL)",
        values.join(", ")
    ));

    env.write_config("");
    env.my2pg(&["run", "--json"]).assert_ok();

    let got = env.pg_rows(
        "SELECT id::text AS id_text, price::text, wide::text, whole::text FROM amounts ORDER BY id",
    );
    let mut expected: Vec<_> = rows
        .iter()
        .map(|r| row(&[Some(&r.0.to_string()), Some(r.1), Some(r.2), Some(r.3)]))
        .collect();
    expected.push(row(&[Some("6"), None, None, None]));
    assert_eq!(got, expected, "decimals");

    // Floating point: the loaded value is the same binary value Postgres
    // parses from the source literal (MariaDB stores float as IEEE single).
    for r in &rows {
        let got = env.pg_rows(&format!(
            "SELECT f::text, d::text, '{}'::real::text, '{}'::float8::text FROM amounts WHERE id = {}",
            r.4, r.5, r.0
        ));
        assert_eq!(got.len(), 1);
        assert_eq!(got[0][0], got[0][2], "real for id {} (source {})", r.0, r.4);
        assert_eq!(
            got[0][1], got[0][3],
            "double precision for id {} (source {})",
            r.0, r.5
        );
    }
    assert_eq!(
        env.pg_rows("SELECT f::text, d::text FROM amounts WHERE id IN (1, 2, 6) ORDER BY id"),
        vec![
            row(&[Some("1.5"), Some("3.141592653589793")]),
            row(&[Some("-0.25"), Some("-1.7976931348623157e+308")]),
            row(&[None, None]),
        ]
    );
}
