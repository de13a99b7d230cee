use super::*;
use crate::catalog::{MyType, PgKind, PgType};
use std::borrow::Cow;

fn pg(name: &str, typmod: i32) -> PgType {
    PgType {
        display: name.into(),
        name: name.into(),
        typmod,
        kind: PgKind::Base,
    }
}

fn my(dt: &str, ct: &str) -> MyType {
    MyType::parse(dt, ct, Some("utf8mb4"))
}

fn choose_utc(src: &MyType, dst: &PgType) -> Option<Converter> {
    choose(src, dst, None)
}

fn field(c: &Converter, v: Value) -> Result<String, ConvertError> {
    let mut out = Vec::new();
    c.convert(&v, &mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

#[test]
fn choose_tinyint1_bool_only_into_boolean() {
    assert_eq!(
        choose_utc(&my("tinyint", "tinyint(1)"), &pg("bool", -1)),
        Some(Converter::Bool)
    );
    assert!(matches!(
        choose_utc(&my("tinyint", "tinyint(1)"), &pg("int2", -1)),
        Some(Converter::Int { .. })
    ));
    // MySQL 8 shows a flag column declared `tinyint` without a width, MariaDB as
    // tinyint(4): every integer goes into boolean, each value checked to be 0 or 1.
    for (dt, ct) in [
        ("tinyint", "tinyint"),
        ("tinyint", "tinyint(4)"),
        ("smallint", "smallint(6)"),
        ("int", "int(10) unsigned"),
        ("bigint", "bigint(20)"),
    ] {
        let c = choose_utc(&my(dt, ct), &pg("bool", -1));
        assert_eq!(c, Some(Converter::Bool), "{ct}");
        let c = c.unwrap();
        assert_eq!(field(&c, Value::Int(1)).unwrap(), "t");
        assert_eq!(field(&c, Value::UInt(0)).unwrap(), "f");
        assert_eq!(
            field(&c, Value::Int(-1)).unwrap_err().message,
            "-1 is not a boolean (only 0 and 1 are)"
        );
    }
    assert_eq!(choose_utc(&my("year", "year(4)"), &pg("bool", -1)), None);
    assert_eq!(choose_utc(&my("bit", "bit(2)"), &pg("bool", -1)), None);
    assert_eq!(
        choose_utc(&my("datetime", "datetime(6)"), &pg("int4", -1)),
        None
    );
    assert_eq!(choose_utc(&my("double", "double"), &pg("int4", -1)), None);
    assert_eq!(
        choose_utc(&my("enum", "enum('1','2')"), &pg("int4", -1)),
        None
    );
    assert_eq!(choose_utc(&my("json", "json"), &pg("int8", -1)), None);
}

/// Roundup keeps link ids as varchar in MySQL, integer in Postgres: only an integer's
/// plain decimal form loads, so the text is the integer's (`012`, `+12`, ` 12` would be
/// another value to the application), range-checked.
#[test]
fn integer_text_into_integer_columns() {
    let c = choose_utc(&my("varchar", "varchar(255)"), &pg("int4", -1)).unwrap();
    assert_eq!(
        c,
        Converter::TextToInt {
            min: i32::MIN as i128,
            max: i32::MAX as i128,
            target: "integer"
        }
    );
    let b = |s: &str| Value::Bytes(s.as_bytes().to_vec());
    for ok in ["0", "7", "-12", "2147483647", "-2147483648"] {
        assert_eq!(field(&c, b(ok)).unwrap(), ok);
    }
    for bad in [
        "", "012", "+12", " 12", "12 ", "-0", "-", "1e3", "1.0", "0x1f", "١٢",
    ] {
        assert_eq!(
            field(&c, b(bad)).unwrap_err().class,
            ProblemClass::NotAnInteger,
            "{bad:?}"
        );
    }
    assert_eq!(
        field(&c, b("2147483648")).unwrap_err().message,
        "2147483648 is out of range for integer"
    );
    let big = choose_utc(&my("char", "char(30)"), &pg("int8", -1)).unwrap();
    // Plain digits past any integer are out of range, not "not an integer" (the attack).
    assert_eq!(
        field(&big, b("99999999999999999999999999999999999999999"))
            .unwrap_err()
            .message,
        "41 digits are out of range for bigint"
    );
    assert_eq!(
        field(&big, b("-9223372036854775808")).unwrap(),
        "-9223372036854775808"
    );
}

/// double into real: a value real holds exactly loads as real's shortest digits; any
/// other is refused, never rounded.
#[test]
fn double_into_real_only_when_exact() {
    let c = choose_utc(&my("double", "double"), &pg("float4", -1)).unwrap();
    assert_eq!(c, Converter::DoubleToReal);
    for (d, text) in [(0.5, "0.5"), (-3.0, "-3.0"), (16777216.0, "16777216.0")] {
        assert_eq!(field(&c, Value::Double(d)).unwrap(), text);
    }
    assert_eq!(field(&c, Value::Double(0.1f32 as f64)).unwrap(), "0.1");
    for bad in [0.1, 16777217.0, 5e-324] {
        let e = field(&c, Value::Double(bad)).unwrap_err();
        assert_eq!(e.class, ProblemClass::PrecisionLoss, "{bad}");
    }
    // Beyond real's range, as Postgres says it (the attack: called precision_loss).
    let e = field(&c, Value::Double(1e300)).unwrap_err();
    assert_eq!(
        (e.class, e.message.as_ref()),
        (ProblemClass::OutOfRange, "1e300 is out of range for real")
    );
    assert_eq!(
        field(&c, Value::Double(0.1)).unwrap_err().message,
        "real cannot hold 1e-1 exactly"
    );
}

#[test]
fn numbers_into_text_keep_the_digits_mysql_prints() {
    let c = choose_utc(&my("bigint", "bigint(20) unsigned"), &pg("text", -1)).unwrap();
    assert_eq!(c, Converter::NumberText { max_chars: None });
    assert_eq!(
        field(&c, Value::UInt(u64::MAX)).unwrap(),
        "18446744073709551615"
    );
    assert_eq!(
        field(&c, Value::Int(i64::MIN)).unwrap(),
        "-9223372036854775808"
    );
    let c = choose_utc(&my("year", "year(4)"), &pg("varchar", 4 + 4)).unwrap();
    assert_eq!(field(&c, Value::Int(1901)).unwrap(), "1901");
    let c = choose_utc(&my("decimal", "decimal(10,2)"), &pg("varchar", 5 + 4)).unwrap();
    assert_eq!(c, Converter::NumberText { max_chars: Some(5) });
    assert_eq!(field(&c, Value::Bytes(b"-1.50".to_vec())).unwrap(), "-1.50");
    let e = field(&c, Value::Bytes(b"100.00".to_vec())).unwrap_err();
    assert_eq!(
        (e.class, e.message.as_ref()),
        (
            ProblemClass::TooLong,
            "6 characters do not fit the target's 5"
        )
    );
    let e = field(&c, Value::Bytes(b"1e5".to_vec())).unwrap_err();
    assert_eq!(e.message, "unexpected string value from the server");
    let c = choose_utc(&my("int", "int(11)"), &pg("bpchar", 3 + 4)).unwrap();
    assert_eq!(
        field(&c, Value::Int(-100)).unwrap_err().message,
        "4 characters do not fit the target's 3"
    );
    assert_eq!(field(&c, Value::Int(-10)).unwrap(), "-10");
    // What a display read (CAST AS CHAR) of a zerofill or year column sends.
    assert_eq!(field(&c, Value::Bytes(b"007".to_vec())).unwrap(), "007");
    // Floats have no single decimal spelling: refused, as before.
    assert_eq!(choose_utc(&my("double", "double"), &pg("text", -1)), None);
    assert_eq!(choose_utc(&my("float", "float"), &pg("varchar", -1)), None);
}

#[test]
fn floats_into_numeric_and_decimals_into_floats_only_when_exact() {
    let c = choose_utc(&my("double", "double"), &pg("numeric", -1)).unwrap();
    assert_eq!(field(&c, Value::Double(0.1)).unwrap(), "0.1");
    assert_eq!(field(&c, Value::Double(-1e-7)).unwrap(), "-0.0000001");
    assert_eq!(
        field(&c, Value::Double(1e21)).unwrap(),
        "1000000000000000000000"
    );
    // A MySQL FLOAT is its shortest f32 digits, not the f64 widening's.
    let c = choose_utc(&my("float", "float"), &pg("numeric", -1)).unwrap();
    assert_eq!(field(&c, Value::Float(0.1)).unwrap(), "0.1");
    // numeric(5,2) = 4 + (5 << 16 | 2)
    let c = choose_utc(&my("double", "double"), &pg("numeric", (5 << 16 | 2) + 4)).unwrap();
    assert_eq!(field(&c, Value::Double(123.45)).unwrap(), "123.45");
    let e = field(&c, Value::Double(0.125)).unwrap_err();
    assert_eq!(
        (e.class, e.message.as_ref()),
        (
            ProblemClass::PrecisionLoss,
            "digits beyond the target scale (2) would be rounded away"
        )
    );
    assert_eq!(
        field(&c, Value::Double(1000.0)).unwrap_err().class,
        ProblemClass::OutOfRange
    );

    let c = choose_utc(&my("decimal", "decimal(30,10)"), &pg("float8", -1)).unwrap();
    assert_eq!(c, Converter::DecimalToFloat { single: false });
    assert_eq!(
        field(&c, Value::Bytes(b"0.1000000000".to_vec())).unwrap(),
        "0.1"
    );
    assert_eq!(
        field(&c, Value::Bytes(b"-0.0000000000".to_vec())).unwrap(),
        "-0"
    );
    assert_eq!(
        field(&c, Value::Bytes(b"12345.5000000000".to_vec())).unwrap(),
        "12345.5"
    );
    let e = field(&c, Value::Bytes(b"1234567890.1234567891".to_vec())).unwrap_err();
    assert_eq!(
        (e.class, e.message.as_ref()),
        (
            ProblemClass::PrecisionLoss,
            "double precision cannot hold it exactly: it would read back as 1234567890.1234567"
        )
    );
    // Exactly representable, though it reads back with other digits: 2^60.
    assert_eq!(
        field(&c, Value::Bytes(b"1152921504606846976".to_vec())).unwrap(),
        "1152921504606847000"
    );
    let c = choose_utc(&my("decimal", "decimal(10,4)"), &pg("float4", -1)).unwrap();
    assert_eq!(field(&c, Value::Bytes(b"0.1000".to_vec())).unwrap(), "0.1");
    // 2^-20, exact in real.
    assert_eq!(
        field(&c, Value::Bytes(b"0.0000009536743164062500000".to_vec())).unwrap(),
        "0.0000009536743"
    );
    let e = field(
        &c,
        Value::Bytes(format!("1{}", "0".repeat(64)).into_bytes()),
    )
    .unwrap_err();
    assert_eq!(
        (e.class, e.message.as_ref()),
        (ProblemClass::OutOfRange, "out of range for real")
    );
    assert_eq!(
        field(&c, Value::Bytes(b"16777217.0000".to_vec()))
            .unwrap_err()
            .message,
        "real cannot hold it exactly: it would read back as 16777216"
    );
    assert!(same_decimal(b"007.50", b"7.5"));
    assert!(same_decimal(b"-0.00", b"0"));
    assert!(!same_decimal(b"75", b"7.5"));
    assert!(!same_decimal(b"-1", b"1"));
    assert!(same_decimal(b"100", b"100.000"));
    assert!(!same_decimal(b"100", b"10"));
}

#[test]
fn datetime_into_date_keeps_midnight_only() {
    for (dt, ct) in [("datetime", "datetime(6)"), ("timestamp", "timestamp")] {
        let c = choose_utc(&my(dt, ct), &pg("date", -1)).unwrap();
        assert_eq!(c, Converter::Date);
        assert_eq!(
            field(&c, Value::Date(2024, 2, 29, 0, 0, 0, 0)).unwrap(),
            "2024-02-29"
        );
        assert_eq!(
            field(&c, Value::Date(2024, 2, 29, 0, 0, 0, 1))
                .unwrap_err()
                .message,
            "a time of day does not fit a date column"
        );
    }
}

#[test]
fn int_out_of_range_is_an_error() {
    let c = choose_utc(&my("int", "int(10) unsigned"), &pg("int4", -1)).unwrap();
    assert_eq!(field(&c, Value::UInt(2147483647)).unwrap(), "2147483647");
    assert_eq!(
        field(&c, Value::UInt(4294967295)).unwrap_err().message,
        "4294967295 is out of range for integer"
    );
    let c = choose_utc(&my("bigint", "bigint(20) unsigned"), &pg("numeric", -1)).unwrap();
    assert_eq!(
        field(&c, Value::UInt(u64::MAX)).unwrap(),
        "18446744073709551615"
    );
}

#[test]
fn bool_accepts_only_zero_and_one() {
    let c = Converter::Bool;
    assert_eq!(field(&c, Value::Int(0)).unwrap(), "f");
    assert_eq!(field(&c, Value::Int(1)).unwrap(), "t");
    assert_eq!(field(&c, Value::Bytes(vec![1])).unwrap(), "t");
    assert_eq!(
        field(&c, Value::Int(2)).unwrap_err().message,
        "2 is not a boolean (only 0 and 1 are)"
    );
}

#[test]
fn decimal_is_exact_and_refuses_rounding() {
    let c = choose_utc(
        &my("decimal", "decimal(12,4)"),
        &pg("numeric", ((10 << 16) | 2) + 4),
    )
    .unwrap();
    assert_eq!(
        field(&c, Value::Bytes(b"-12345678.9000".to_vec())).unwrap(),
        "-12345678.9000"
    );
    assert_eq!(
        field(&c, Value::Bytes(b"1.2345".to_vec()))
            .unwrap_err()
            .message,
        "digits beyond the target scale (2) would be rounded away"
    );
}

/// typmod of numeric(p, s), as Postgres stores it (an 11-bit signed scale).
fn numeric_typmod(p: i32, s: i32) -> i32 {
    ((p << 16) | (s & 0x7ff)) + 4
}

#[test]
fn numeric_negative_scale_and_scale_above_precision_refuse_rounding() {
    let dec = |p, s| {
        choose_utc(
            &my("decimal", "decimal(20,6)"),
            &pg("numeric", numeric_typmod(p, s)),
        )
        .unwrap()
    };
    let hundreds = dec(8, -2);
    assert_eq!(
        field(&hundreds, Value::Bytes(b"-12300.000000".to_vec())).unwrap(),
        "-12300.000000"
    );
    assert_eq!(
        field(&hundreds, Value::Bytes(b"9999999900".to_vec())).unwrap(),
        "9999999900"
    );
    assert_eq!(
        field(&hundreds, Value::Bytes(b"0.000000".to_vec())).unwrap(),
        "0.000000"
    );
    assert_eq!(
        field(&hundreds, Value::Bytes(b"12345.000000".to_vec()))
            .unwrap_err()
            .message,
        "digits beyond the target scale (-2) would be rounded away"
    );
    assert_eq!(
        field(&hundreds, Value::Bytes(b"10000000000".to_vec()))
            .unwrap_err()
            .message,
        "too many integer digits for the target numeric (10)"
    );
    let tiny = dec(3, 5);
    assert_eq!(
        field(&tiny, Value::Bytes(b"-0.00999".to_vec())).unwrap(),
        "-0.00999"
    );
    assert_eq!(
        field(&tiny, Value::Bytes(b"0.01".to_vec()))
            .unwrap_err()
            .message,
        "too large for the target numeric (must be below 1e-2)"
    );
    assert_eq!(
        field(&tiny, Value::Bytes(b"0.000001".to_vec()))
            .unwrap_err()
            .message,
        "digits beyond the target scale (5) would be rounded away"
    );
    let int = choose_utc(
        &my("int", "int(11)"),
        &pg("numeric", numeric_typmod(10, -2)),
    )
    .unwrap();
    assert_eq!(field(&int, Value::Int(-12300)).unwrap(), "-12300");
    assert_eq!(
        field(&int, Value::Int(12345)).unwrap_err().message,
        "digits beyond the target scale (-2) would be rounded away"
    );
}

#[test]
fn interval_typmod_fields_and_precision() {
    let time = my("time", "time(6)");
    let iv = |typmod| choose_utc(&time, &pg("interval", typmod)).unwrap();
    let hour_to_minute = (((1 << 10) | (1 << 11)) << 16) | 0xffff;
    assert_eq!(
        iv(-1),
        Converter::Interval {
            keep_us: 1,
            frac_digits: 6
        }
    );
    assert_eq!(
        iv(hour_to_minute),
        Converter::Interval {
            keep_us: 60_000_000,
            frac_digits: 6
        }
    );
    assert_eq!(
        iv((0x7fff << 16) | 3),
        Converter::Interval {
            keep_us: 1,
            frac_digits: 3
        }
    );
    assert_eq!(
        iv(((1 << 3) << 16) | 0xffff),
        Converter::Interval {
            keep_us: 0,
            frac_digits: 6
        }
    );
    let c = iv(hour_to_minute);
    assert_eq!(
        field(&c, Value::Time(true, 34, 22, 59, 0, 0)).unwrap(),
        "-838:59:00"
    );
    assert_eq!(
        field(&c, Value::Time(false, 0, 1, 0, 1, 0))
            .unwrap_err()
            .message,
        "the target interval column keeps whole minutes only: this value would be truncated"
    );
}

#[test]
fn varchar_array_elements_are_bounded_by_the_element_length() {
    let src = my("varchar", "varchar(50)");
    let mut dst = pg("_varchar", 4 + 2);
    dst.kind = crate::catalog::PgKind::Array("varchar".into());
    let c = choose_utc(&src, &dst).unwrap();
    assert_eq!(c, Converter::TextArray { max_chars: Some(2) });
    assert_eq!(
        field(&c, Value::Bytes(b"ab,c,".to_vec())).unwrap(),
        "\"{\"\"ab\"\",\"\"c\"\",\"\"\"\"}\""
    );
    assert_eq!(
        field(&c, Value::Bytes("ab,äöü".as_bytes().to_vec()))
            .unwrap_err()
            .message,
        "3 characters do not fit the target's 2"
    );
}

#[test]
fn floats_use_shortest_round_trip() {
    assert_eq!(
        field(&Converter::Float32, Value::Float(0.1)).unwrap(),
        "0.1"
    );
    assert_eq!(
        field(&Converter::Float64, Value::Double(0.1)).unwrap(),
        "0.1"
    );
    assert_eq!(
        field(&Converter::Float64, Value::Double(-0.0)).unwrap(),
        "-0.0"
    );
    assert_eq!(
        field(&Converter::Float64, Value::Double(f64::NAN)).unwrap(),
        "NaN"
    );
    assert_eq!(
        field(&Converter::Float64, Value::Double(f64::NEG_INFINITY)).unwrap(),
        "-Infinity"
    );
    let x = 1.0e-7f64 / 3.0;
    let s = field(&Converter::Float64, Value::Double(x)).unwrap();
    assert_eq!(s.parse::<f64>().unwrap().to_bits(), x.to_bits());
}

#[test]
fn text_is_quoted_checked_and_length_limited() {
    let c = Converter::Text { max_chars: Some(3) };
    assert_eq!(
        field(&c, Value::Bytes("é\"x".as_bytes().to_vec())).unwrap(),
        "\"é\"\"x\""
    );
    assert_eq!(field(&c, Value::Bytes(Vec::new())).unwrap(), "\"\"");
    assert_eq!(
        field(&c, Value::Bytes(b"abcd".to_vec()))
            .unwrap_err()
            .message,
        "4 characters do not fit the target's 3"
    );
    let c = Converter::Text { max_chars: None };
    assert_eq!(
        field(&c, Value::Bytes(b"a\0b".to_vec()))
            .unwrap_err()
            .message,
        "contains a NUL byte (PostgreSQL text cannot hold it)"
    );
    assert_eq!(
        field(&c, Value::Bytes(vec![b'a', 0xff]))
            .unwrap_err()
            .message,
        "invalid UTF-8 at byte 1 (PostgreSQL text cannot hold it)"
    );
}

#[test]
fn inet_takes_one_address_and_refuses_networks_and_garbage() {
    for ok in ["10.0.0.1", "::ffff:1.2.3.4", "2001:db8::1:1:1:1:1", "::"] {
        assert_eq!(
            field(&Converter::Inet, Value::Bytes(ok.as_bytes().to_vec())).unwrap(),
            ok
        );
    }
    for bad in [
        "10.0.0.0/8",
        "",
        "1.2.3",
        "2001:db8::1::1",
        "localhost",
        "10.0.0.1 ",
    ] {
        let e = field(&Converter::Inet, Value::Bytes(bad.as_bytes().to_vec())).unwrap_err();
        assert_eq!(
            (e.class, e.message.as_ref()),
            (ProblemClass::InvalidInet, "not an IPv4 or IPv6 address"),
            "{bad:?}"
        );
    }
    assert_eq!(
        choose_utc(&my("inet6", "inet6"), &pg("inet", -1)),
        Some(Converter::Inet)
    );
    assert_eq!(
        choose_utc(&my("uuid", "uuid"), &pg("uuid", -1)),
        Some(Converter::Uuid)
    );
    assert_eq!(choose_utc(&my("inet4", "inet4"), &pg("cidr", -1)), None);
}

#[test]
fn uuid_text_any_case_and_binary() {
    let v = Value::Bytes(b"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11".to_vec());
    assert_eq!(
        field(&Converter::Uuid, v).unwrap(),
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    );
    assert_eq!(
        field(&Converter::Uuid, Value::Bytes(b"".to_vec()))
            .unwrap_err()
            .message,
        "not a UUID"
    );
    assert_eq!(
        field(
            &Converter::Uuid,
            Value::Bytes(b"A0EEBC999C0B4EF8BB6D6BB9BD380A11".to_vec())
        )
        .unwrap(),
        "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    );
    for bad in [
        &b"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A1G"[..],
        b"A0EEBC99X9C0B-4EF8-BB6D-6BB9BD380A11",
        b"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A1-",
        b"A0EEBC999C0B4EF8BB6D6BB9BD380A1-",
    ] {
        assert_eq!(
            field(&Converter::Uuid, Value::Bytes(bad.to_vec()))
                .unwrap_err()
                .message,
            "not a UUID"
        );
    }
    let b: Vec<u8> = (0u8..16).collect();
    assert_eq!(
        field(&Converter::UuidBinary, Value::Bytes(b)).unwrap(),
        "00010203-0405-0607-0809-0a0b0c0d0e0f"
    );
}

#[test]
fn json_is_validated_and_jsonb_refuses_nul_escape() {
    let c = Converter::Json {
        jsonb: true,
        last_key_wins: false,
    };
    assert_eq!(
        field(&c, Value::Bytes(br#"{"a":"\"x\""}"#.to_vec())).unwrap(),
        r#""{""a"":""\""x\""""}""#
    );
    assert!(field(&c, Value::Bytes(b"{nope".to_vec()))
        .unwrap_err()
        .message
        .starts_with("invalid JSON"));
    assert_eq!(
        field(&c, Value::Bytes(br#"{"a":"\u0000"}"#.to_vec()))
            .unwrap_err()
            .message,
        "JSON holds \\u0000, which jsonb cannot store"
    );
    // An escaped backslash followed by u0000 is literal text, not a NUL.
    assert!(field(&c, Value::Bytes(br#"{"a":"\\u0000"}"#.to_vec())).is_ok());
    assert!(field(&c, Value::Bytes(br#"{"a\\":"\\\u0000"}"#.to_vec())).is_err());
    assert!(field(&c, Value::Bytes(br#"["\\","x\u0000"]"#.to_vec())).is_err());
    assert!(field(&c, Value::Bytes(br#"["\\\\u0000"]"#.to_vec())).is_ok());
    assert!(field(
        &Converter::Json {
            jsonb: false,
            last_key_wins: false
        },
        Value::Bytes(br#"{"a":"\u0000"}"#.to_vec())
    )
    .is_ok());
}

#[test]
fn dates_and_times_exact_to_the_microsecond() {
    let ts = Converter::Timestamp { frac_digits: 6 };
    assert_eq!(
        field(&ts, Value::Date(2024, 2, 29, 23, 59, 59, 999_999)).unwrap(),
        "2024-02-29 23:59:59.999999"
    );
    assert_eq!(
        field(&ts, Value::Date(1000, 1, 1, 0, 0, 0, 0)).unwrap(),
        "1000-01-01 00:00:00"
    );
    let tz = Converter::TimestampTz {
        frac_digits: 6,
        zone: None,
    };
    assert_eq!(
        field(&tz, Value::Date(1970, 1, 1, 0, 0, 0, 1)).unwrap(),
        "1970-01-01 00:00:00.000001+00"
    );
    assert_eq!(
        field(&ts, Value::Date(0, 0, 0, 0, 0, 0, 0))
            .unwrap_err()
            .message,
        "zero date (0000-00-00) has no PostgreSQL equivalent"
    );
    assert_eq!(
        field(
            &Converter::Timestamp { frac_digits: 3 },
            Value::Date(2024, 1, 1, 0, 0, 0, 1500)
        )
        .unwrap_err()
        .message,
        "fractional seconds .001500 would be rounded by the target's precision (3)"
    );
    assert_eq!(
        field(&Converter::Date, Value::Date(2024, 1, 5, 0, 0, 0, 0)).unwrap(),
        "2024-01-05"
    );
    assert_eq!(
        field(
            &Converter::Interval {
                keep_us: 1,
                frac_digits: 6
            },
            Value::Time(true, 34, 22, 59, 59, 0)
        )
        .unwrap(),
        "-838:59:59"
    );
    // Postgres's time holds 24:00:00, nothing past it.
    let time = Converter::Time { frac_digits: 6 };
    assert_eq!(
        field(&time, Value::Time(false, 1, 0, 0, 0, 0)).unwrap(),
        "24:00:00"
    );
    for past in [
        Value::Time(false, 1, 0, 0, 0, 1),
        Value::Time(false, 1, 0, 0, 1, 0),
        Value::Time(false, 1, 1, 0, 0, 0),
        Value::Time(false, 2, 0, 0, 0, 0),
        Value::Time(true, 0, 0, 0, 0, 1),
    ] {
        assert_eq!(
            field(&time, past.clone()).unwrap_err().class,
            ProblemClass::OutOfRange,
            "{past:?}"
        );
    }
}

#[test]
fn pg_enum_requires_known_label() {
    let c = Converter::PgEnum {
        labels: vec!["a".into(), "b c".into()],
    };
    assert_eq!(field(&c, Value::Bytes(b"b c".to_vec())).unwrap(), "\"b c\"");
    assert_eq!(
        field(&c, Value::Bytes(b"".to_vec())).unwrap_err().message,
        "this label does not exist in the target enum type"
    );
}

#[test]
fn bytea_all_256_values() {
    let all: Vec<u8> = (0..=255).collect();
    let s = field(&Converter::Bytea, Value::Bytes(all)).unwrap();
    assert_eq!(s.len(), 514);
    assert!(s.starts_with("\\x00010203"));
}

proptest::proptest! {
    #[test]
    fn text_converter_never_emits_a_null_field(s in "\\PC*") {
        let out = field(&Converter::Text { max_chars: None }, Value::Bytes(s.as_bytes().to_vec()));
        let out = out.unwrap();
        proptest::prop_assert!(out.starts_with('"') && out.ends_with('"'));
    }

    #[test]
    fn float64_round_trips(x in proptest::num::f64::NORMAL | proptest::num::f64::SUBNORMAL) {
        let s = field(&Converter::Float64, Value::Double(x)).unwrap();
        proptest::prop_assert_eq!(s.parse::<f64>().unwrap().to_bits(), x.to_bits());
    }

    #[test]
    fn int_into_integer_matches_range(n in proptest::num::i64::ANY) {
        let c = Converter::Int { min: i32::MIN as i128, max: i32::MAX as i128, target: "integer" };
        let r = field(&c, Value::Int(n));
        if n >= i32::MIN as i64 && n <= i32::MAX as i64 {
            proptest::prop_assert_eq!(r.unwrap(), n.to_string());
        } else {
            proptest::prop_assert!(r.is_err());
        }
    }
}

#[test]
fn bit_strings_set_arrays_base64_hex() {
    assert_eq!(
        field(
            &Converter::BitString { bits: 10 },
            Value::Bytes(vec![0b10, 0b1100_0001])
        )
        .unwrap(),
        "1011000001"
    );
    assert_eq!(
        field(
            &Converter::BitString { bits: 4 },
            Value::Bytes(vec![0b1_0001])
        )
        .unwrap_err()
        .message,
        "bit value wider than the column"
    );
    assert_eq!(
        field(
            &Converter::TextArray { max_chars: None },
            Value::Bytes(b"a,b \"c\\".to_vec())
        )
        .unwrap(),
        r#""{""a"",""b \""c\\""}""#
    );
    assert_eq!(
        field(
            &Converter::TextArray { max_chars: None },
            Value::Bytes(Vec::new())
        )
        .unwrap(),
        "\"{}\""
    );
    assert_eq!(
        field(&Converter::Base64Text, Value::Bytes(vec![0, 0xff, 0x10, 1])).unwrap(),
        "\"AP8QAQ==\""
    );
    assert_eq!(
        field(&Converter::HexText, Value::Bytes(vec![0, 0xff])).unwrap(),
        "\"00ff\""
    );
}

#[test]
fn timestamptz_in_source_zone_names_the_zone() {
    let c = choose(
        &my("datetime", "datetime(6)"),
        &pg("timestamptz", -1),
        Some(&std::sync::Arc::new(SourceZone::new(
            "Europe/Berlin",
            vec![],
        ))),
    )
    .unwrap();
    assert_eq!(
        field(&c, Value::Date(2024, 7, 1, 12, 0, 0, 0)).unwrap(),
        "2024-07-01 12:00:00 Europe/Berlin"
    );
    // MySQL timestamp values are UTC whatever source_timezone says.
    let c = choose(
        &my("timestamp", "timestamp(6)"),
        &pg("timestamptz", -1),
        Some(&std::sync::Arc::new(SourceZone::new(
            "Europe/Berlin",
            vec![],
        ))),
    )
    .unwrap();
    assert_eq!(
        field(&c, Value::Date(2024, 7, 1, 12, 0, 0, 0)).unwrap(),
        "2024-07-01 12:00:00+00"
    );
}

#[test]
fn rules_change_only_what_they_name() {
    let empty = Value::Bytes(Vec::new());
    assert_eq!(Rule::EmptyToNull.apply(&empty).0, None);
    let x = Value::Bytes(b"x".to_vec());
    assert_eq!(
        Rule::EmptyToNull.apply(&x),
        (Some(Cow::Borrowed(&x)), false)
    );
    let nul = Value::Bytes(b"a\0b\0".to_vec());
    assert_eq!(
        Rule::StripNul.apply(&nul),
        (Some(Cow::Owned(Value::Bytes(b"ab".to_vec()))), true)
    );
    // Into jsonb the NUL is the \u0000 escape; an escaped backslash before "u0000" is not one.
    let doc = Value::Bytes(br#"{"a":"x\u0000y\\u0000","\u0000":[" \"\u0000\u00000"]}"#.to_vec());
    assert_eq!(
        Rule::StripNulEscapes.apply(&doc),
        (
            Some(Cow::Owned(Value::Bytes(
                br#"{"a":"xy\\u0000","":[" \"0"]}"#.to_vec()
            ))),
            true
        )
    );
    // JSON kept in a text column may also hold raw NUL bytes: those go too.
    let raw = Value::Bytes(b"{\"a\":\"x\0y\"}\0".to_vec());
    assert_eq!(
        Rule::StripNulEscapes.apply(&raw),
        (
            Some(Cow::Owned(Value::Bytes(br#"{"a":"xy"}"#.to_vec()))),
            true
        )
    );
    let plain = Value::Bytes(br#"{"a":"\\u0000 \\\\u0000","b":"\u0001"}"#.to_vec());
    assert_eq!(
        Rule::StripNulEscapes.apply(&plain),
        (Some(Cow::Borrowed(&plain)), false)
    );
    assert_eq!(
        serde_json::to_string(&Rule::StripNulEscapes).unwrap(),
        "\"strip_nul\""
    );
    let zero = Value::Date(0, 0, 0, 0, 0, 0, 0);
    assert_eq!(Rule::ZeroDateToNull.apply(&zero), (None, true));
    let partial = Value::Date(2024, 0, 15, 0, 0, 0, 0);
    assert_eq!(Rule::ZeroDateToNull.apply(&partial), (None, true));
    let fine = Value::Date(2024, 1, 15, 0, 0, 0, 0);
    assert!(!Rule::ZeroDateToNull.apply(&fine).1);
}

#[test]
fn jsonb_refuses_duplicate_keys_json_and_last_key_wins_keep_them() {
    let doc = br#"{"a":1,"b":{"c":1,"c":2}}"#;
    let strict = Converter::Json {
        jsonb: true,
        last_key_wins: false,
    };
    let e = field(&strict, Value::Bytes(doc.to_vec())).unwrap_err();
    assert_eq!(e.class, ProblemClass::DuplicateJsonKey);
    assert_eq!(
        e.message,
        "duplicate key \"c\" in a JSON object: MySQL/MariaDB read the first value, \
         jsonb would keep the last"
    );
    // The key as written in the text (here escaped), long ones shortened.
    let e = field(
        &strict,
        Value::Bytes(br#"{"\u0061":1,"\u0061":2}"#.to_vec()),
    )
    .unwrap_err();
    assert!(
        e.message.starts_with(r#"duplicate key "\u0061" in"#),
        "{}",
        e.message
    );
    let long = "k".repeat(100);
    let e = field(
        &strict,
        Value::Bytes(format!(r#"{{"{long}":1,"{long}":2}}"#).into_bytes()),
    )
    .unwrap_err();
    assert!(
        e.message
            .starts_with(&format!("duplicate key \"{}…\" in", &long[..60])),
        "{}",
        e.message
    );
    // A refused value leaves nothing in the output; the next one converts.
    let mut out = b"x,".to_vec();
    assert!(strict
        .convert(&Value::Bytes(doc.to_vec()), &mut out)
        .is_err());
    assert_eq!(out, b"x,");
    strict
        .convert(&Value::Bytes(br#"{"c":1,"d":{"c":2}}"#.to_vec()), &mut out)
        .unwrap();
    assert_eq!(out, br#"x,"{""c"":1,""d"":{""c"":2}}""#);
    // json keeps the text byte for byte; last_key_wins lets jsonb take it.
    let want = r#""{""a"":1,""b"":{""c"":1,""c"":2}}""#;
    for c in [
        Converter::Json {
            jsonb: false,
            last_key_wins: false,
        },
        Converter::Json {
            jsonb: true,
            last_key_wins: true,
        },
    ] {
        assert_eq!(
            field(&c, Value::Bytes(doc.to_vec())).unwrap(),
            want,
            "{c:?}"
        );
    }
    // Other jsonb checks still apply with last_key_wins.
    let last = Converter::Json {
        jsonb: true,
        last_key_wins: true,
    };
    assert!(field(&last, Value::Bytes(br#"{"a":"\u0000","a":1}"#.to_vec())).is_err());
}

#[test]
fn rule_json_duplicate_keys_last_counts_the_documents_it_lets_through() {
    let r = Rule::JsonDuplicateKeysLast;
    assert_eq!(r.name(), "json_duplicate_keys_last");
    assert_eq!(r.accepts(), Some(ProblemClass::DuplicateJsonKey));
    assert_eq!(Rule::StripNul.accepts(), None);
    for (doc, changed) in [
        (&br#"{"a":1,"a":2}"#[..], true),
        (br#"[{"a":1},{"b":{"x":1,"\u0078":2}}]"#, true),
        (br#"{"a":1,"b":{"a":2}}"#, false),
        (b"not json", false),
    ] {
        let v = Value::Bytes(doc.to_vec());
        assert_eq!(r.apply(&v), (Some(Cow::Borrowed(&v)), changed), "{doc:?}");
    }
}

proptest::proptest! {
    #[test]
    fn timestamp_matches_the_iso_text(y in 1u16..=9999, m in 1u8..=12, d in 1u8..=28,
                                      h in 0u8..24, mi in 0u8..60, s in 0u8..60, us in 0u32..1_000_000) {
        let out = field(&Converter::Timestamp { frac_digits: 6 }, Value::Date(y, m, d, h, mi, s, us)).unwrap();
        let mut want = format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}");
        if us != 0 {
            want.push_str(&format!(".{us:06}"));
        }
        proptest::prop_assert_eq!(out, want);
    }

    #[test]
    fn uuid_text_is_canonical_lower_case(b in proptest::collection::vec(proptest::num::u8::ANY, 16), upper in proptest::bool::ANY) {
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        let canonical = format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32]);
        let input = if upper { canonical.to_uppercase() } else { canonical.clone() };
        proptest::prop_assert_eq!(field(&Converter::Uuid, Value::Bytes(input.into_bytes())).unwrap(), canonical.clone());
        proptest::prop_assert_eq!(field(&Converter::UuidBinary, Value::Bytes(b)).unwrap(), canonical);
    }

    #[test]
    fn bytea_is_backslash_x_and_hex(b in proptest::collection::vec(proptest::num::u8::ANY, 0..64)) {
        let want: String = std::iter::once("\\x".to_string()).chain(b.iter().map(|x| format!("{x:02x}"))).collect();
        proptest::prop_assert_eq!(field(&Converter::Bytea, Value::Bytes(b)).unwrap(), want);
    }

    #[test]
    fn json_field_parses_back_to_the_same_document(keys in proptest::collection::vec("\\PC{0,8}", 0..4), n in proptest::num::i64::ANY) {
        let doc = serde_json::Value::Object(keys.into_iter().map(|k| (k, serde_json::json!([n, "x\"\n\\"]))).collect());
        let text = doc.to_string();
        let out = field(&Converter::Json { jsonb: true, last_key_wins: false }, Value::Bytes(text.clone().into_bytes())).unwrap();
        // Read the CSV field back the way COPY does, then parse the JSON.
        let line = format!("{out}
");
        let mut r = csv::ReaderBuilder::new().has_headers(false).from_reader(line.as_bytes());
        let rec = r.records().next().unwrap().unwrap();
        let back: serde_json::Value = serde_json::from_str(&rec[0]).unwrap();
        proptest::prop_assert_eq!(back, doc);
    }
}

#[test]
fn decimals_into_integers_take_whole_numbers_only() {
    let c = choose_utc(&my("decimal", "decimal(20,0)"), &pg("int8", -1)).unwrap();
    assert_eq!(c.name(), "decimal_to_int");
    let b = |s: &str| Value::Bytes(s.as_bytes().to_vec());
    assert_eq!(
        field(&c, b("-9223372036854775808")).unwrap(),
        "-9223372036854775808"
    );
    assert_eq!(field(&c, b("0")).unwrap(), "0");
    assert_eq!(
        field(&c, b("9223372036854775808")).unwrap_err().message,
        "out of range for bigint"
    );
    let c = choose_utc(&my("decimal", "decimal(12,2)"), &pg("int2", -1)).unwrap();
    assert_eq!(field(&c, b("-12.00")).unwrap(), "-12");
    assert_eq!(field(&c, b("-0.00")).unwrap(), "0");
    assert_eq!(field(&c, b("32767.00")).unwrap(), "32767");
    let e = field(&c, b("12.50")).unwrap_err();
    assert_eq!(e.class, ProblemClass::PrecisionLoss);
    assert_eq!(
        e.message,
        "smallint has no fraction: Postgres would round it"
    );
    let e = field(&c, b("32768.00")).unwrap_err();
    assert_eq!(e.class, ProblemClass::OutOfRange);
    assert_eq!(e.message, "out of range for smallint");
    // 65 digits: beyond i128, still an out-of-range error and not a parse failure.
    let c = choose_utc(&my("decimal", "decimal(65,0)"), &pg("int4", -1)).unwrap();
    let e = field(&c, b(&"9".repeat(65))).unwrap_err();
    assert_eq!(e.message, "out of range for integer");
    assert_eq!(
        choose_utc(&my("decimal", "decimal(10,2)"), &pg("bool", -1)),
        None
    );
}

#[test]
fn binary_data_into_text_and_json_must_be_utf8_text() {
    for (dt, ct, cs) in [
        ("blob", "blob", None),
        ("longblob", "longblob", None),
        ("varbinary", "varbinary(100)", None),
        ("binary", "binary(4)", None),
        ("varchar", "varchar(20)", Some("binary")),
    ] {
        let src = MyType::parse(dt, ct, cs);
        assert_eq!(
            choose_utc(&src, &pg("varchar", 4 + 4)),
            Some(Converter::Text { max_chars: Some(4) }),
            "{ct}"
        );
        assert_eq!(
            choose_utc(&src, &pg("jsonb", -1)),
            Some(Converter::Json {
                jsonb: true,
                last_key_wins: false
            }),
            "{ct}"
        );
        assert_eq!(choose_utc(&src, &pg("bytea", -1)), Some(Converter::Bytea));
        // Bytes are not integer text (a binary collation's text is bytes too).
        assert_eq!(choose_utc(&src, &pg("int4", -1)), None, "{ct}");
    }
    let c = choose_utc(&my("blob", "blob"), &pg("text", -1)).unwrap();
    let b = |s: &[u8]| Value::Bytes(s.to_vec());
    assert_eq!(
        field(&c, b("héllo, \"x\"".as_bytes())).unwrap(),
        "\"héllo, \"\"x\"\"\""
    );
    assert_eq!(
        field(&c, b(b"\xe9t\xe9")).unwrap_err().class,
        ProblemClass::InvalidUtf8
    );
    assert_eq!(
        field(&c, b(b"ab\0\0")).unwrap_err().class,
        ProblemClass::NulByte
    );
    // bit(n) is a number, not text.
    assert_eq!(choose_utc(&my("bit", "bit(8)"), &pg("text", -1)), None);
}

#[test]
fn addresses_kept_as_text_go_into_inet_one_host_each() {
    let c = choose_utc(&my("varchar", "varchar(45)"), &pg("inet", -1)).unwrap();
    assert_eq!(c, Converter::Inet);
    let b = |s: &str| Value::Bytes(s.as_bytes().to_vec());
    assert_eq!(field(&c, b("10.0.0.1")).unwrap(), "10.0.0.1");
    assert_eq!(field(&c, b("FE80::1")).unwrap(), "FE80::1");
    for bad in ["10.0.0.0/8", "", " 10.0.0.1", "010.0.0.1", "fe80::1%eth0"] {
        let e = field(&c, b(bad)).unwrap_err();
        assert_eq!(e.class, ProblemClass::InvalidInet, "{bad}");
    }
    assert_eq!(choose_utc(&my("json", "json"), &pg("inet", -1)), None);
    assert_eq!(
        choose_utc(&my("varchar", "varchar(45)"), &pg("cidr", -1)),
        None
    );
}

#[test]
fn integers_into_floats_only_when_held_exactly() {
    let c = choose_utc(&my("int", "int(11)"), &pg("float4", -1)).unwrap();
    assert_eq!(c, Converter::IntToFloat { single: true });
    assert_eq!(field(&c, Value::Int(16_777_216)).unwrap(), "16777216");
    assert_eq!(field(&c, Value::Int(-16_777_216)).unwrap(), "-16777216");
    // 2^25 is a float too; 2^24 + 1 is not.
    assert_eq!(field(&c, Value::Int(33_554_432)).unwrap(), "33554432");
    let e = field(&c, Value::Int(16_777_217)).unwrap_err();
    assert_eq!(e.class, ProblemClass::PrecisionLoss);
    assert_eq!(e.message, "real cannot hold 16777217 exactly");
    let c = choose_utc(&my("bigint", "bigint(20) unsigned"), &pg("float8", -1)).unwrap();
    assert_eq!(
        field(&c, Value::UInt(9_007_199_254_740_992)).unwrap(),
        "9007199254740992"
    );
    assert_eq!(
        field(&c, Value::UInt(1 << 63)).unwrap(),
        "9223372036854775808"
    );
    assert_eq!(
        field(&c, Value::UInt(9_007_199_254_740_993))
            .unwrap_err()
            .message,
        "double precision cannot hold 9007199254740993 exactly"
    );
    assert_eq!(
        field(&c, Value::UInt(u64::MAX)).unwrap_err().message,
        "double precision cannot hold 18446744073709551615 exactly"
    );
}

#[test]
fn bits_into_numbers_and_dates_into_text_have_converters() {
    // bit(n) is read as CAST(c AS UNSIGNED): the converters are the integer ones.
    assert_eq!(
        choose_utc(&my("bit", "bit(10)"), &pg("int2", -1)),
        Some(Converter::Int {
            min: i16::MIN as i128,
            max: i16::MAX as i128,
            target: "smallint"
        })
    );
    assert!(matches!(
        choose_utc(&my("bit", "bit(64)"), &pg("numeric", -1)),
        Some(Converter::IntToNumeric { bounds: None })
    ));
    assert_eq!(
        choose_utc(&my("bit", "bit(64)"), &pg("float8", -1)),
        Some(Converter::IntToFloat { single: false })
    );
    // bit has no single text form (MySQL shows its bytes): no conversion into text.
    assert_eq!(choose_utc(&my("bit", "bit(8)"), &pg("text", -1)), None);
    for (dt, ct) in [
        ("date", "date"),
        ("datetime", "datetime(6)"),
        ("timestamp", "timestamp"),
        ("time", "time(2)"),
    ] {
        assert_eq!(
            choose_utc(&my(dt, ct), &pg("varchar", 14)),
            Some(Converter::TemporalText {
                max_chars: Some(10)
            }),
            "{ct}"
        );
    }
    let c = Converter::TemporalText {
        max_chars: Some(10),
    };
    assert_eq!(
        field(&c, Value::Bytes(b"2024-01-02".to_vec())).unwrap(),
        "\"2024-01-02\""
    );
    let e = field(&c, Value::Bytes(b"2024-01-02 00:00:00".to_vec())).unwrap_err();
    assert_eq!(
        (e.class, e.message.as_ref()),
        (
            ProblemClass::TooLong,
            "19 characters do not fit the target's 10"
        )
    );
}

#[test]
fn zero_date_text_is_recognized_only_in_the_date_fields() {
    for zero in [
        "0000-00-00",
        "0000-00-00 00:00:00",
        "0000-00-00 00:00:00.000000",
        "2024-00-15",
        "2024-02-00 10:00:00",
        "0000-05-01",
    ] {
        assert!(zero_or_partial_date_text(zero.as_bytes()), "{zero}");
        let value = Value::Bytes(zero.as_bytes().to_vec());
        let (v, changed) = Rule::ZeroDateToNull.apply(&value);
        assert!(v.is_none() && changed, "{zero}");
    }
    for date in [
        "2024-01-01",
        "2024-01-01 00:00:00",
        "0001-01-01",
        "1000-01-01 00:00:00.000",
        "00:00:00",
        "-838:59:59",
        "2024-1-01",
        "",
        "0000",
        "abcd-00-00",
    ] {
        assert!(!zero_or_partial_date_text(date.as_bytes()), "{date}");
        let value = Value::Bytes(date.as_bytes().to_vec());
        let (v, changed) = Rule::ZeroDateToNull.apply(&value);
        assert!(v.is_some() && !changed, "{date}");
    }
}

#[test]
fn dates_are_excerpted_as_their_source_type_shows_them() {
    let v = Value::Date(2024, 2, 0, 10, 0, 0, 500_000);
    let zero = Value::Date(0, 0, 0, 0, 0, 0, 0);
    assert_eq!(excerpt_as(&zero, "date"), "0000-00-00");
    assert_eq!(excerpt_as(&zero, "datetime"), "0000-00-00 00:00:00");
    assert_eq!(excerpt_as(&v, "datetime(3)"), "2024-02-00 10:00:00.500");
    assert_eq!(excerpt_as(&v, "TIMESTAMP(6)"), "2024-02-00 10:00:00.500000");
    assert_eq!(excerpt_as(&v, "timestamp"), "2024-02-00 10:00:00");
    // Another source type (a string read as a date) keeps the full form.
    assert_eq!(excerpt_as(&v, "varchar(20)"), "2024-02-00 10:00:00.500000");
}

#[test]
fn long_floats_are_excerpted_in_scientific_notation() {
    assert_eq!(excerpt(&Value::Double(1e300)), "1e300");
    assert_eq!(excerpt(&Value::Double(-1.5e-300)), "-1.5e-300");
    assert_eq!(excerpt(&Value::Float(3.4028235e38)), "3.4028235e38");
    assert_eq!(excerpt(&Value::Double(0.1)), "0.1");
    assert_eq!(excerpt(&Value::Double(123456.789)), "123456.789");
    assert_eq!(excerpt(&Value::Float(-0.5)), "-0.5");
}

#[test]
fn remedies_offer_null_rules_only_for_nullable_targets() {
    let date = Converter::Date;
    assert!(ProblemClass::ZeroDate
        .remedy_for(&date, true, None)
        .contains("zero_dates = \"null\""));
    assert_eq!(
        ProblemClass::ZeroDate.remedy_for(&date, false, None),
        "fix them in the source (the target column is NOT NULL, so they cannot become NULL)"
    );
    assert_eq!(
        ProblemClass::PartialDate.remedy_for(&date, false, None),
        ProblemClass::ZeroDate.remedy_for(&date, false, None)
    );
    assert!(ProblemClass::InvalidUuid
        .remedy_for(&Converter::Uuid, true, None)
        .contains("empty_to_null"));
    assert_eq!(
        ProblemClass::InvalidUuid.remedy_for(&Converter::Uuid, false, None),
        "fix them in the source, or make the target column text"
    );
    // A duplicate JSON key where the column's own rule replaces the policy.
    let jsonb = Converter::Json {
        jsonb: true,
        last_key_wins: false,
    };
    assert!(ProblemClass::DuplicateJsonKey
        .remedy_for(&jsonb, true, None)
        .contains("json_duplicate_keys = \"last\" (MySQL reads"));
    // text_to_timestamp: a timestamp too fine for the column is the column's matter.
    let text_ts = Converter::TextTimestamp {
        inner: Box::new(Converter::Timestamp { frac_digits: 0 }),
    };
    assert_eq!(
        ProblemClass::PrecisionLoss.remedy_for(&text_ts, true, Some(Rule::TextToTimestamp)),
        "give the target column more fractional digits (time(6), timestamp(6)), or fix them in \
         the source"
    );
    assert!(ProblemClass::NotATimestamp
        .remedy_for(&text_ts, true, Some(Rule::TextToTimestamp))
        .contains("rule text_to_timestamp reads YYYYMMDDHHMMSS"));
    // `\u0000` into jsonb is an escape, not a NUL byte.
    assert_eq!(
        ProblemClass::NulByte.remedy_for(&jsonb, true, None),
        "make the target column json or text (they keep \\u0000), drop the escapes: convert = \
         \"strip_nul\", or fix them in the source"
    );
    assert_eq!(
        ProblemClass::DuplicateJsonKey.remedy_for(&jsonb, true, Some(Rule::StripNulEscapes)),
        "make the target column json, or fix them in the source (a column takes one rule: \
         this column's own rule replaces json_duplicate_keys, so its \"last\" does not apply \
         here)"
    );
}

#[test]
fn integer_counts_into_interval() {
    // No conversion of its own: the unit is a rule.
    assert_eq!(
        choose_utc(&my("bigint", "bigint(20)"), &pg("interval", -1)),
        None
    );
    let us = interval_count_converter(1, -1);
    let s = interval_count_converter(1_000_000, -1);
    assert_eq!(field(&us, Value::Int(0)).unwrap(), "00:00:00");
    assert_eq!(field(&us, Value::Int(-1)).unwrap(), "-00:00:00.000001");
    assert_eq!(
        field(&us, Value::Int(90_061_000_001)).unwrap(),
        "1 days 01:01:01.000001"
    );
    assert_eq!(
        field(&us, Value::Int(i64::MAX)).unwrap(),
        "106751991 days 04:00:54.775807"
    );
    assert_eq!(
        field(&us, Value::Int(-i64::MAX)).unwrap(),
        "-106751991 days -04:00:54.775807"
    );
    // Postgres reads no text for i64::MIN microseconds.
    assert_eq!(
        field(&us, Value::Int(i64::MIN)).unwrap_err().class,
        ProblemClass::OutOfRange
    );
    assert_eq!(field(&s, Value::Int(-90_061)).unwrap(), "-1 days -01:01:01");
    // Whole days alone keep a zero time; under a day there is no day field.
    assert_eq!(field(&s, Value::Int(-86_400)).unwrap(), "-1 days -00:00:00");
    assert_eq!(field(&s, Value::Int(86_399)).unwrap(), "23:59:59");
    assert_eq!(
        field(&s, Value::UInt(9_223_372_036_854)).unwrap(),
        "106751991 days 04:00:54"
    );
    assert_eq!(
        field(&s, Value::Int(9_223_372_036_855))
            .unwrap_err()
            .message,
        "9223372036855 is beyond the range of interval"
    );
    // interval hour keeps whole hours; interval(0) no fraction.
    let hours = interval_count_converter(1_000_000, ((1 << 10) << 16) | 0xffff);
    assert_eq!(field(&hours, Value::Int(7200)).unwrap(), "02:00:00");
    assert_eq!(
        field(&hours, Value::Int(90_000)).unwrap(),
        "1 days 01:00:00"
    );
    assert_eq!(
        field(&hours, Value::Int(7201)).unwrap_err().class,
        ProblemClass::PrecisionLoss
    );
    let p0 = interval_count_converter(1, 0x7fff << 16); // full range, precision 0
    assert_eq!(
        field(&p0, Value::Int(1_500_000)).unwrap_err().class,
        ProblemClass::PrecisionLoss
    );
    // interval day keeps whole days (the day field), interval month nothing.
    let days = interval_count_converter(1_000_000, ((1 << 3) << 16) | 0xffff);
    assert_eq!(
        field(&days, Value::Int(-172_800)).unwrap(),
        "-2 days -00:00:00"
    );
    assert_eq!(
        field(&days, Value::Int(86_401)).unwrap_err().class,
        ProblemClass::PrecisionLoss
    );
    let months = interval_count_converter(1_000_000, ((1 << 1) << 16) | 0xffff);
    assert_eq!(field(&months, Value::Int(0)).unwrap(), "00:00:00");
    assert_eq!(
        field(&months, Value::Int(86_400)).unwrap_err().class,
        ProblemClass::PrecisionLoss
    );
}

#[test]
fn float_into_numeric_takes_postgres_digits_in_plain_form() {
    use super::plain_decimal;
    for (ryu, plain) in [
        ("1.5e-7", "0.00000015"),
        ("1e30", "1000000000000000000000000000000"),
        ("-3.4028235e38", "-340282350000000000000000000000000000000"),
        ("1e-45", "0.000000000000000000000000000000000000000000001"),
        ("1.25e2", "125"),
        ("1.2345e2", "123.45"),
        ("16777216.0", "16777216"),
        ("0.0", "0"),
        ("-0.1", "-0.1"),
    ] {
        assert_eq!(plain_decimal(ryu), plain, "{ryu}");
    }
    // 299.640625 exactly, halfway between two shortest decimals: the one Postgres prints.
    let mut out = Vec::new();
    Converter::FloatToNumeric {
        bounds: None,
        scale: None,
    }
    .convert(&Value::Float(f32::from_bits(0x4395_d200)), &mut out)
    .unwrap();
    assert_eq!(out, b"299.64062");
}

#[test]
fn timestamp_text_forms_the_rule_reads_and_refuses() {
    use super::{parse_timestamp_text as p, TimestampText as T};
    let at = |parts, offset| Ok(T::At { parts, offset });
    assert_eq!(p(b"20240131235959"), at((2024, 1, 31, 23, 59, 59, 0), None));
    // binary(14) pads a shorter value with NUL bytes.
    assert_eq!(
        p(b"2024-01-31\0\0\0\0"),
        at((2024, 1, 31, 0, 0, 0, 0), None)
    );
    assert_eq!(p(b"2024-01-31t10:05"), at((2024, 1, 31, 10, 5, 0, 0), None));
    assert_eq!(
        p(b"2024-01-31 10:05:06.5z"),
        at((2024, 1, 31, 10, 5, 6, 500_000), Some(0))
    );
    assert_eq!(
        p(b"2024-01-31T10:05:06.000001+0530"),
        at((2024, 1, 31, 10, 5, 6, 1), Some(19_800))
    );
    assert_eq!(
        p(b"2024-01-31 10:05:06-08"),
        at((2024, 1, 31, 10, 5, 6, 0), Some(-28_800))
    );
    assert_eq!(p(b"INFINITY"), Ok(T::Infinity { negative: false }));
    assert_eq!(p(b"-infinity"), Ok(T::Infinity { negative: true }));
    for (text, why) in [
        (&b"2024-01-31 24:00:00"[..], "24:00:00 is not a time of day"),
        (b"20241301000000", "2024-13-01 is not a calendar date"),
        (b"2023-02-29", "2023-02-29 is not a calendar date"),
        (
            b"00000000000000",
            "zero date (0000-00-00) has no PostgreSQL equivalent",
        ),
        (
            b"2024-01-31 10:05:06.1234567",
            "more than 6 fractional digits (Postgres keeps microseconds)",
        ),
        (b"2024-01-31 10:05+16:00", "a UTC offset beyond ±15:59"),
    ] {
        assert_eq!(
            p(text),
            Err(why.to_string()),
            "{}",
            String::from_utf8_lossy(text)
        );
    }
    for text in [
        &b""[..],
        b" 2024-01-31",
        b"2024-01-31 ",
        b"2024-1-31",
        b"2024-01-31 10",
        b"2024-01-31 10:05:",
        b"2024-01-31 10:05:06.",
        b"2024-01-31 10:05Z ",
        b"1706745600",
        b"2024013123595",
    ] {
        let got = p(text);
        assert!(
            matches!(&got, Err(e) if e.starts_with("not a timestamp this rule reads")),
            "{:?}: {got:?}",
            String::from_utf8_lossy(text)
        );
    }
}

#[test]
fn set_members_the_text_leaves_out_come_from_the_bit_mask() {
    let labels: Vec<String> = ["", "a", "b"].iter().map(|s| s.to_string()).collect();
    let hidden =
        |text: &str, bits: Value| hidden_set_members(&labels, text.as_bytes(), Some(&bits));
    // MariaDB's text of `'',a` is `a`, of the '' member alone ''.
    assert_eq!(hidden("a", Value::UInt(3)), Some(vec!["", "a"]));
    assert_eq!(hidden("", Value::Int(1)), Some(vec![""]));
    assert_eq!(
        hidden("a,b", Value::Bytes(b"7".to_vec())),
        Some(vec!["", "a", "b"])
    );
    // The text shows every member: it is used as it is.
    assert_eq!(hidden(",a", Value::UInt(3)), None);
    assert_eq!(hidden("a,b", Value::UInt(6)), None);
    assert_eq!(hidden("", Value::UInt(0)), None);
    // A 64-member set whose '' member is the last: bit 63, sent as a negative number.
    let wide: Vec<String> = (0..63)
        .map(|i| format!("m{i}"))
        .chain([String::new()])
        .collect();
    assert_eq!(
        hidden_set_members(&wide, b"m1", Some(&Value::Int(2 | i64::MIN))),
        Some(vec!["m1", ""])
    );
    // No mask read (NULL): nothing to restore.
    assert_eq!(hidden_set_members(&labels, b"a", None), None);
    assert_eq!(hidden("a", Value::NULL), None);
    // Written as the converter writes the full text.
    let (mut from_members, mut from_text) = (Vec::new(), Vec::new());
    put_set_members(&mut from_members, &["", "a"], None).unwrap();
    put_text_array(&mut from_text, b",a");
    assert_eq!(from_members, from_text);
    assert_eq!(from_members, b"\"{\"\"\"\",\"\"a\"\"}\"".to_vec());
    let mut alone = Vec::new();
    put_set_members(&mut alone, &[""], None).unwrap();
    assert_eq!(alone, b"\"{\"\"\"\"}\"".to_vec());
    // Each member is checked like the converter's elements.
    let mut out = Vec::new();
    let e = put_set_members(&mut out, &["", "ab"], Some(1)).unwrap_err();
    assert_eq!(e.class, ProblemClass::TooLong);
}
