//! One canonical text per value, whichever side it comes from. Written independently of
//! `src/convert/` (nothing is shared with the converters), so a converter bug shows up
//! as a difference instead of being reproduced on both sides.
//!
//! The canonical form is chosen by the *target* column type:
//!
//! | kind        | canonical text                                                     |
//! |-------------|--------------------------------------------------------------------|
//! | Bool        | `t` / `f`                                                          |
//! | Int         | decimal integer                                                    |
//! | Numeric     | exact decimal, no leading/trailing zeros (`1.50` = `1.5`), `-0` = `0` |
//! | F32 / F64   | the f32 / f64 value's shortest round-trip text (equal iff same bits) |
//! | Text        | the bytes (json too: it keeps its text); `char(n)` (Bpchar) without trailing spaces |
//! | Uuid        | lower-case 8-4-4-4-12 (a 16-byte source value is hex-encoded)      |
//! | Inet        | the address as Rust prints it (read with `abbrev`: no `/32`)       |
//! | Json (jsonb) | parsed; objects with sorted keys (last duplicate wins), numbers as exact decimals, one string escaping |
//! | Bytes       | lower-case hex                                                     |
//! | Date        | `YYYY-MM-DD`                                                       |
//! | Timestamp(Tz) | `YYYY-MM-DD HH:MM:SS.ffffff` (UTC for timestamptz)               |
//! | Time        | `HH:MM:SS.ffffff`                                                  |
//! | Interval    | signed microseconds                                                |
//! | Point       | `x,y`, each the f64's shortest round-trip text (a source value: its WKB) |
//!
//! A value that cannot be read in its kind becomes `\0invalid:` + its raw bytes, which
//! no valid canonical value equals.

use mysql_async::Value;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Bool,
    Int,
    Numeric,
    F32,
    F64,
    Text,
    Bpchar,
    Uuid,
    /// inet: one address, as std prints it (RFC 5952 for IPv6).
    Inet,
    Json,
    Bytes,
    Date,
    Timestamp,
    TimestampTz,
    Time,
    Interval,
    /// bit(n) / varbit: `0101`.
    Bit,
    /// text[] / varchar[]: the list of elements.
    TextArray,
    /// Postgres `point`; a MySQL Point's stored SRID + WKB on the source side.
    Point,
    Other,
}

/// A config rule (`[columns."t.c"] convert = ...`, `zero_dates = "null"`) the copy applied
/// on purpose: the source value is transformed the same way before it is compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SrcRule {
    EmptyToNull,
    StripNul,
    StripNulEscapes,
    ZeroDateToNull,
    Base64,
    Hex,
    /// Read as stored bytes, compared as they are: counted where not ASCII.
    BytesAsUtf8,
    /// jsonb kept the last of duplicate keys: the canonical JSON form already reads the
    /// source that way (last wins), so the value is compared as it is.
    JsonDuplicateKeysLast,
    /// An integer count of this many microseconds, compared as the interval it makes.
    IntervalCount(u64),
    /// A spatial value (SRID + WKB as MySQL stores it) copied into bytea: the EWKB the
    /// copy writes (SRID 0: the WKB itself; else the SRID in the outer header).
    Ewkb,
    /// Text holding a timestamp, read as the copy read it (`parse_timestamp_text`); with
    /// `empty_as`, what '' and zero timestamps became (None: NULL).
    TextTimestamp {
        empty: Option<Option<&'static [u8]>>,
    },
}

impl SrcRule {
    /// None for `skip`, whose column is never copied (nor compared), and for
    /// `null_to_default`, which changes only NULLs (`Col::null_default`).
    pub fn from_rule(r: crate::convert::Rule) -> Option<SrcRule> {
        use crate::convert::Rule;
        Some(match r {
            Rule::EmptyToNull => SrcRule::EmptyToNull,
            Rule::StripNul => SrcRule::StripNul,
            Rule::StripNulEscapes => SrcRule::StripNulEscapes,
            Rule::ZeroDateToNull => SrcRule::ZeroDateToNull,
            Rule::Base64 => SrcRule::Base64,
            Rule::Hex => SrcRule::Hex,
            Rule::BytesAsUtf8 => SrcRule::BytesAsUtf8,
            Rule::JsonDuplicateKeysLast => SrcRule::JsonDuplicateKeysLast,
            Rule::MicrosecondsToInterval => SrcRule::IntervalCount(1),
            Rule::SecondsToInterval => SrcRule::IntervalCount(1_000_000),
            Rule::EpochDatetimeToInterval => SrcRule::IntervalCount(1),
            Rule::TextToTimestamp => SrcRule::TextTimestamp { empty: None },
            Rule::TextToTimestampEmptyNull => SrcRule::TextTimestamp { empty: Some(None) },
            Rule::TextToTimestampEmptyInfinity => SrcRule::TextTimestamp {
                empty: Some(Some(b"infinity")),
            },
            Rule::Skip | Rule::NullToDefault => return None,
        })
    }

    /// Whether the rule changed `v` into `out`, as the run counts it: text_to_timestamp
    /// reads every text as a timestamp, but only its `empty_as` replaces a value;
    /// json_duplicate_keys_last changes the documents with a duplicate key.
    pub fn changed(self, v: &Value, out: Option<&Value>) -> bool {
        match (self, v) {
            (SrcRule::TextTimestamp { empty }, Value::Bytes(b)) => {
                empty.is_some() && crate::convert::empty_timestamp_text(b)
            }
            // Compared as it is (the canonical form reads the last key), yet jsonb kept
            // only the last of the duplicates: the run counts the documents, so does this.
            (SrcRule::JsonDuplicateKeysLast, Value::Bytes(b)) => {
                crate::convert::json_has_duplicate_key(b)
            }
            (SrcRule::BytesAsUtf8, Value::Bytes(b)) => !b.is_ascii(),
            _ => out != Some(v),
        }
    }

    /// The source value after the rule; None = NULL.
    pub fn apply(self, v: &Value) -> Option<std::borrow::Cow<'_, Value>> {
        use std::borrow::Cow;
        match (self, v) {
            (SrcRule::EmptyToNull, Value::Bytes(b)) if b.is_empty() => None,
            (SrcRule::StripNul, Value::Bytes(b)) => Some(Cow::Owned(Value::Bytes(
                b.iter().copied().filter(|&c| c != 0).collect(),
            ))),
            (SrcRule::StripNulEscapes, Value::Bytes(b)) => match json_strip(b) {
                Some(stripped) => Some(Cow::Owned(Value::Bytes(stripped))),
                None => Some(Cow::Borrowed(v)),
            },
            (SrcRule::ZeroDateToNull, Value::Date(y, m, d, ..))
                if *y == 0 || *m == 0 || *d == 0 =>
            {
                None
            }
            (SrcRule::ZeroDateToNull, Value::Bytes(b))
                if crate::convert::zero_or_partial_date_text(b) =>
            {
                None
            }
            (SrcRule::IntervalCount(unit), Value::Int(_) | Value::UInt(_) | Value::Date(..)) => {
                let n = match v {
                    Value::Int(n) => i128::from(*n),
                    Value::UInt(n) => i128::from(*n),
                    // Rule epoch_datetime_to_interval: the distance from the epoch.
                    Value::Date(y, m, d, h, mi, s, us) => {
                        i128::from(crate::convert::epoch_micros(*y, *m, *d, *h, *mi, *s, *us))
                    }
                    _ => 0,
                };
                // The text the copy writes (its day field included); a value beyond it
                // failed the run.
                let total = n.saturating_mul(i128::from(unit));
                let mut text = Vec::with_capacity(32);
                crate::convert::put_duration(
                    total < 0,
                    u64::try_from(total.unsigned_abs()).unwrap_or(u64::MAX),
                    &mut text,
                );
                Some(Cow::Owned(Value::Bytes(text)))
            }
            (SrcRule::Ewkb, Value::Bytes(b)) => Some(Cow::Owned(Value::Bytes(ewkb(b)))),
            // A value with an offset compares as the instant it names; one the copy
            // refused stays as it is (the run failed on it).
            (
                SrcRule::TextTimestamp {
                    empty: Some(instead),
                },
                Value::Bytes(b),
            ) if crate::convert::empty_timestamp_text(b) => {
                instead.map(|t| Cow::Owned(Value::Bytes(t.to_vec())))
            }
            (SrcRule::TextTimestamp { .. }, Value::Bytes(b)) => {
                use crate::convert::TimestampText;
                Some(match crate::convert::parse_timestamp_text(b) {
                    Ok(TimestampText::At {
                        parts: (y, m, d, h, mi, s, us),
                        offset: None,
                    }) => Cow::Owned(Value::Date(y, m, d, h, mi, s, us)),
                    Ok(TimestampText::At {
                        parts: (y, m, d, h, mi, s, us),
                        offset: Some(secs),
                    }) => {
                        let a = secs.unsigned_abs();
                        let sign = if secs < 0 { '-' } else { '+' };
                        Cow::Owned(Value::Bytes(
                            format!(
                                "{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}{sign}{:02}:{:02}",
                                a / 3600,
                                a / 60 % 60
                            )
                            .into_bytes(),
                        ))
                    }
                    Ok(TimestampText::Infinity { negative }) => Cow::Owned(Value::Bytes(
                        if negative {
                            &b"-infinity"[..]
                        } else {
                            &b"infinity"[..]
                        }
                        .to_vec(),
                    )),
                    Err(_) => Cow::Borrowed(v),
                })
            }
            (SrcRule::Base64, Value::Bytes(b)) => Some(Cow::Owned(Value::Bytes(base64(b)))),
            (SrcRule::Hex, Value::Bytes(b)) => {
                let mut h = Vec::with_capacity(b.len() * 2);
                hex_into(b, &mut h);
                Some(Cow::Owned(Value::Bytes(h)))
            }
            _ => Some(Cow::Borrowed(v)),
        }
    }
}

/// The copy's own `\u0000` removal: verify must see the source as the rule made it.
fn json_strip(b: &[u8]) -> Option<Vec<u8>> {
    crate::convert::json::strip_nul_escapes(b)
}

/// EWKB of a stored spatial value. Something too short to be one is kept as it is (it
/// then differs from what the target holds).
fn ewkb(b: &[u8]) -> Vec<u8> {
    if b.len() < 9 {
        return b.to_vec();
    }
    let (srid, wkb) = b.split_at(4);
    if srid == [0, 0, 0, 0] {
        return wkb.to_vec();
    }
    let mut out = Vec::with_capacity(b.len());
    out.push(wkb[0]);
    if wkb[0] == 1 {
        // Little-endian: the flag is the type's top byte, the SRID as stored (LE).
        out.extend_from_slice(&wkb[1..4]);
        out.push(wkb[4] | 0x20);
        out.extend_from_slice(srid);
    } else {
        out.push(wkb[1] | 0x20);
        out.extend_from_slice(&wkb[2..5]);
        out.extend(srid.iter().rev());
    }
    out.extend_from_slice(&wkb[5..]);
    out
}

/// Standard base64 with padding.
fn base64(b: &[u8]) -> Vec<u8> {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(b.len().div_ceil(3) * 4);
    for c in b.chunks(3) {
        let n = c
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, &x)| n | (x as u32) << (16 - 8 * i));
        for i in 0..4 {
            if i <= c.len() {
                out.push(A[(n >> (18 - 6 * i)) as usize & 63]);
            } else {
                out.push(b'=');
            }
        }
    }
    out
}

/// Where a text value comes from: Postgres output (`COPY TO`) or Postgres input (a chunk
/// file written for `COPY FROM`). Only intervals are read differently.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    PgOut,
    CsvIn,
    /// `COPY ... TO STDOUT (FORMAT binary)` of the expressions `Kind::pg_binary_expr`
    /// chooses (see `pg_binary_value`).
    PgBinary,
}

impl Kind {
    /// From the target column's base type (`pg_type.typname`, domains resolved).
    pub fn from_pg(typname: &str, is_enum: bool) -> Kind {
        if is_enum {
            return Kind::Text;
        }
        match typname {
            "_text" | "_varchar" => Kind::TextArray,
            "bit" | "varbit" => Kind::Bit,
            "bool" => Kind::Bool,
            "int2" | "int4" | "int8" | "oid" => Kind::Int,
            "numeric" => Kind::Numeric,
            "float4" => Kind::F32,
            "float8" => Kind::F64,
            "text" | "varchar" | "citext" | "name" => Kind::Text,
            "bpchar" => Kind::Bpchar,
            "uuid" => Kind::Uuid,
            "inet" => Kind::Inet,
            // json keeps its text byte for byte (duplicate keys, order, spacing): any
            // difference is one the application could read. jsonb is compared parsed.
            "json" => Kind::Text,
            "jsonb" => Kind::Json,
            "bytea" => Kind::Bytes,
            "date" => Kind::Date,
            "timestamp" => Kind::Timestamp,
            "timestamptz" => Kind::TimestampTz,
            "time" => Kind::Time,
            "interval" => Kind::Interval,
            "point" => Kind::Point,
            _ => Kind::Other,
        }
    }

    /// Kinds whose binary COPY form is not simple to read: the target sends their text
    /// output instead.
    fn read_as_text(self) -> bool {
        matches!(
            self,
            Kind::Numeric
                | Kind::Inet
                | Kind::Json
                | Kind::Bit
                | Kind::TextArray
                | Kind::Time
                | Kind::Interval
                | Kind::Point
                | Kind::Other
        )
    }

    /// `expr` as read in binary COPY: kinds whose binary form is simple come as they are
    /// (integers widened to int8), every other kind as its text output.
    pub fn pg_binary_expr(self, expr: &str) -> String {
        match self {
            _ if self.read_as_text() => format!("({expr})::text"),
            Kind::Int => format!("({expr})::int8"),
            _ => expr.to_string(),
        }
    }

    /// The select-list expression reading this column on the target (already quoted).
    pub fn pg_expr(self, quoted: &str) -> String {
        match self {
            // Microseconds, and whether the day field holds them as justify_hours splits
            // them (`j`): the copy writes a MySQL time as hours only and a count rule's
            // days in the day field, and either split of the same duration is another
            // value to extract(day ...) even where Postgres's `=` holds it equal ('24:00:00',
            // '1 day'). Any other split, or months and years ('1 mon'), reads as NaN.
            Kind::Interval => format!(
                "(CASE WHEN {quoted} IS NULL THEN NULL WHEN date_part('year', {quoted}) <> 0 \
                 OR date_part('month', {quoted}) <> 0 THEN 'NaN' \
                 WHEN date_part('day', {quoted}) = 0 \
                 THEN trunc(extract(epoch from {quoted}) * 1000000)::text \
                 WHEN justify_hours({quoted})::text = {quoted}::text \
                 THEN trunc(extract(epoch from {quoted}) * 1000000)::text || 'j' \
                 ELSE 'NaN' END)"
            ),
            // inet's output form: `::text` would add `/32` or `/128` to every address.
            Kind::Inet => format!("abbrev({quoted})"),
            _ => quoted.to_string(),
        }
    }
}

fn invalid(raw: &[u8], out: &mut Vec<u8>) {
    out.extend_from_slice(b"\0invalid:");
    out.extend_from_slice(raw);
}

const HEX: &[u8; 16] = b"0123456789abcdef";

fn hex_into(b: &[u8], out: &mut Vec<u8>) {
    out.reserve(b.len() * 2);
    for &x in b {
        out.push(HEX[(x >> 4) as usize]);
        out.push(HEX[(x & 15) as usize]);
    }
}

fn display_into(v: impl std::fmt::Display, out: &mut Vec<u8>) {
    use std::io::Write;
    let _ = write!(out, "{v}");
}

/// An integer in decimal (same text as `Display`, without the formatting machinery).
fn int_into(v: impl itoa::Integer, out: &mut Vec<u8>) {
    out.extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
}

fn f64_into(d: f64, out: &mut Vec<u8>) {
    if d.is_nan() {
        out.extend_from_slice(b"NaN");
    } else {
        // LowerExp is the shortest text that reads back as the same bits.
        use std::io::Write;
        let _ = write!(out, "{d:e}");
    }
}

fn f32_into(f: f32, out: &mut Vec<u8>) {
    if f.is_nan() {
        out.extend_from_slice(b"NaN");
    } else {
        use std::io::Write;
        let _ = write!(out, "{f:e}");
    }
}

/// The decimal text `b` is the float `v`: the same number as its shortest spelling or
/// as its exact expansion (`exact`), compared in canonical decimal form.
fn decimal_is(b: &[u8], v: impl std::fmt::Display, exact: impl FnOnce() -> String) -> bool {
    let (mut x, mut y) = (Vec::new(), Vec::new());
    if !decimal(b, &mut x) {
        return false;
    }
    if decimal(v.to_string().as_bytes(), &mut y) && x == y {
        return true;
    }
    y.clear();
    decimal(exact().as_bytes(), &mut y) && x == y
}

fn parse_float<T: std::str::FromStr>(b: &[u8]) -> Option<T> {
    let s = std::str::from_utf8(b).ok()?.trim();
    let is = |w: &str| s.eq_ignore_ascii_case(w);
    let s = if is("infinity") || is("+infinity") || is("inf") {
        "inf"
    } else if is("-infinity") || is("-inf") {
        "-inf"
    } else if is("nan") {
        "NaN"
    } else {
        s
    };
    s.parse().ok()
}

/// Canonical text of a MySQL value (binary protocol), for a column of target kind `kind`.
pub fn mysql_value(kind: Kind, v: &Value, out: &mut Vec<u8>) {
    match v {
        Value::NULL => {} // the caller encodes NULL itself
        Value::Bytes(b) => match kind {
            Kind::Bool => match b.as_slice() {
                [0] | b"0" => out.push(b'f'),
                [1] | b"1" => out.push(b't'),
                _ => invalid(b, out),
            },
            Kind::Bpchar => out.extend_from_slice(trim_end_spaces(b)),
            // Sixteen bytes can only be a binary(16) UUID: 32 or 36 characters are text.
            Kind::Uuid if b.len() == 16 => uuid_from_bytes(b, out),
            Kind::Bytes => hex_into(b, out),
            Kind::Bit => bits_into(b, out),
            // SRID (4 bytes), then a little-endian WKB Point: 1, type 1, x, y.
            Kind::Point => match b.as_slice() {
                [_, _, _, _, 1, 1, 0, 0, 0, rest @ ..] if rest.len() == 16 => {
                    let f = |s: &[u8]| {
                        let mut a = [0u8; 8];
                        a.copy_from_slice(s);
                        f64::from_le_bytes(a)
                    };
                    f64_into(f(&rest[..8]), out);
                    out.push(b',');
                    f64_into(f(&rest[8..]), out);
                }
                _ => invalid(b, out),
            },
            Kind::TextArray => {
                let parts: Vec<&[u8]> = if b.is_empty() {
                    Vec::new()
                } else {
                    b.split(|&c| c == b',').collect()
                };
                put_list(parts.iter().map(|p| Some(*p)), out);
            }
            Kind::Text | Kind::Other => out.extend_from_slice(b),
            // A decimal into an integer column: only a whole number (`12.00`) can be in the
            // target; its exact decimal form is then the integer's digits.
            Kind::Int => {
                let start = out.len();
                let whole = |d: &[u8]| {
                    d.strip_prefix(b"-")
                        .unwrap_or(d)
                        .iter()
                        .all(u8::is_ascii_digit)
                };
                if !decimal(b, out) || !whole(&out[start..]) {
                    out.truncate(start);
                    invalid(b, out);
                }
            }
            // A decimal into real/double precision: only a value the float holds (it reads
            // back as the same number, or is exactly it) can be in the target; any other
            // differs from whatever the target holds.
            Kind::F32 => match parse_float::<f32>(b) {
                Some(f) if f.is_finite() && decimal_is(b, f, || format!("{f:.149}")) => {
                    f32_into(f, out)
                }
                _ => invalid(b, out),
            },
            Kind::F64 => match parse_float::<f64>(b) {
                Some(d) if d.is_finite() && decimal_is(b, d, || format!("{d:.1074}")) => {
                    f64_into(d, out)
                }
                _ => invalid(b, out),
            },
            // Everything else arrives as text only in the text protocol: read it as text.
            _ => text_value(kind, Origin::CsvIn, b, out),
        },
        Value::Int(i) => int_value(kind, *i as i128, out),
        Value::UInt(u) => int_value(kind, *u as i128, out),
        Value::Float(f) => match kind {
            Kind::F32 => f32_into(*f, out),
            // A MySQL FLOAT written into double precision or numeric keeps its decimal
            // meaning: the digits Postgres prints for that real (see convert::real;
            // Rust's `{f}` and the ryu crate differ from it on rare values).
            Kind::F64 if f.is_finite() => {
                match crate::convert::real::pg_real_text(*f).parse::<f64>() {
                    Ok(d) => f64_into(d, out),
                    Err(_) => f64_into(*f as f64, out),
                }
            }
            Kind::F64 => f64_into(*f as f64, out),
            Kind::Numeric => {
                let s = if f.is_finite() {
                    crate::convert::real::pg_real_text(*f)
                } else {
                    format!("{f}")
                };
                if !decimal(s.as_bytes(), out) {
                    invalid(s.as_bytes(), out)
                }
            }
            _ => display_into(f, out),
        },
        Value::Double(d) => match kind {
            Kind::F64 => f64_into(*d, out),
            Kind::F32 => match format!("{d}").parse::<f32>() {
                Ok(f) => f32_into(f, out),
                Err(_) => f32_into(*d as f32, out),
            },
            Kind::Numeric => {
                // Postgres's float8 digits, as the converter writes them.
                let s = if d.is_finite() {
                    crate::convert::real::pg_double_text(*d)
                } else {
                    format!("{d}")
                };
                if !decimal(s.as_bytes(), out) {
                    invalid(s.as_bytes(), out)
                }
            }
            _ => display_into(d, out),
        },
        Value::Date(y, m, d, h, mi, s, us) => {
            let date_only = *h == 0 && *mi == 0 && *s == 0 && *us == 0;
            put_date(*y as i64, *m as u32, *d as u32, out);
            if kind != Kind::Date || !date_only {
                out.push(b' ');
                put_clock(*h as u64, *mi as u32, *s as u32, *us, out);
            }
        }
        Value::Time(neg, days, h, mi, s, us) => {
            let hours = *days as u64 * 24 + *h as u64;
            if kind == Kind::Interval {
                let micros =
                    ((hours * 60 + *mi as u64) * 60 + *s as u64) as i128 * 1_000_000 + *us as i128;
                int_into(if *neg { -micros } else { micros }, out);
            } else {
                if *neg {
                    out.push(b'-');
                }
                put_clock(hours, *mi as u32, *s as u32, *us, out);
            }
        }
    }
}

fn int_value(kind: Kind, n: i128, out: &mut Vec<u8>) {
    match kind {
        Kind::Bool => match n {
            0 => out.push(b'f'),
            1 => out.push(b't'),
            _ => invalid(itoa::Buffer::new().format(n).as_bytes(), out),
        },
        // Only an integer the float holds can be in the target (the load refuses any
        // other): a rounded one must not equal its neighbour there.
        Kind::F32 if (n as f32) as i128 == n => f32_into(n as f32, out),
        Kind::F64 if (n as f64) as i128 == n => f64_into(n as f64, out),
        Kind::F32 | Kind::F64 => invalid(itoa::Buffer::new().format(n).as_bytes(), out),
        _ => int_into(n, out),
    }
}

/// Days from 1970-01-01 to 2000-01-01, Postgres's date and timestamp epoch.
const PG_EPOCH_DAYS: i64 = 10_957;
const MICROS_PER_DAY: i64 = 86_400_000_000;

/// Canonical text of a value read in binary COPY from the expression
/// `kind.pg_binary_expr(..)`: the same text `text_value` gives for its text output.
pub fn pg_binary_value(kind: Kind, b: &[u8], out: &mut Vec<u8>) {
    let ok = match (kind, b.len()) {
        (Kind::Bool, 1) => {
            out.push(if b[0] != 0 { b't' } else { b'f' });
            true
        }
        (Kind::Int, 8) => {
            int_into(i64::from_be_bytes(b.try_into().unwrap_or_default()), out);
            true
        }
        (Kind::F32, 4) => {
            f32_into(f32::from_be_bytes(b.try_into().unwrap_or_default()), out);
            true
        }
        (Kind::F64, 8) => {
            f64_into(f64::from_be_bytes(b.try_into().unwrap_or_default()), out);
            true
        }
        (Kind::Text, _) => {
            out.extend_from_slice(b);
            true
        }
        (Kind::Bpchar, _) => {
            out.extend_from_slice(trim_end_spaces(b));
            true
        }
        (Kind::Uuid, 16) => {
            uuid_from_bytes(b, out);
            true
        }
        (Kind::Bytes, _) => {
            hex_into(b, out);
            true
        }
        (Kind::Date, 4) => {
            let days = i32::from_be_bytes(b.try_into().unwrap_or_default());
            // i32::MIN / MAX are -infinity / infinity, which no source date equals.
            let finite = days != i32::MIN && days != i32::MAX;
            if finite {
                let (y, m, d) = civil_from_days(days as i64 + PG_EPOCH_DAYS);
                put_date(y, m, d, out);
            }
            finite
        }
        (Kind::Timestamp | Kind::TimestampTz, 8) => {
            // Microseconds since 2000-01-01 (UTC for timestamptz).
            let t = i64::from_be_bytes(b.try_into().unwrap_or_default());
            let finite = t != i64::MIN && t != i64::MAX;
            if finite {
                let (y, m, d) = civil_from_days(t.div_euclid(MICROS_PER_DAY) + PG_EPOCH_DAYS);
                let us_of_day = t.rem_euclid(MICROS_PER_DAY);
                let secs = us_of_day / 1_000_000;
                put_date(y, m, d, out);
                out.push(b' ');
                put_clock(
                    (secs / 3600) as u64,
                    ((secs % 3600) / 60) as u32,
                    (secs % 60) as u32,
                    (us_of_day % 1_000_000) as u32,
                    out,
                );
            }
            finite
        }
        _ if kind.read_as_text() => {
            text_value(kind, Origin::PgOut, b, out);
            true
        }
        _ => false,
    };
    if !ok {
        // Readable in a difference report: what Postgres would print, else the bytes.
        let text: Vec<u8> = match b.len() {
            4 | 8 if matches!(kind, Kind::Date | Kind::Timestamp | Kind::TimestampTz) => {
                if b[0] & 0x80 == 0 {
                    b"infinity".to_vec()
                } else {
                    b"-infinity".to_vec()
                }
            }
            _ => {
                let mut h = b"\\x".to_vec();
                hex_into(b, &mut h);
                h
            }
        };
        invalid(&text, out);
    }
}

/// Canonical text of a Postgres text value (output of `COPY TO`, or a chunk file field).
pub fn text_value(kind: Kind, origin: Origin, b: &[u8], out: &mut Vec<u8>) {
    let ok = match kind {
        Kind::Bool => {
            let Ok(s) = std::str::from_utf8(b) else {
                return invalid(b, out);
            };
            let s = s.trim().as_bytes();
            let any = |words: &[&str]| words.iter().any(|w| s.eq_ignore_ascii_case(w.as_bytes()));
            if any(&["t", "true", "y", "yes", "on", "1"]) {
                out.push(b't');
            } else if any(&["f", "false", "n", "no", "off", "0"]) {
                out.push(b'f');
            } else {
                return invalid(b, out);
            }
            true
        }
        Kind::Int => match std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.trim().parse::<i128>().ok())
        {
            Some(n) => {
                int_into(n, out);
                true
            }
            None => false,
        },
        Kind::Numeric => decimal(b, out),
        Kind::F32 => match parse_float::<f32>(b) {
            Some(f) => {
                f32_into(f, out);
                true
            }
            None => false,
        },
        Kind::F64 => match parse_float::<f64>(b) {
            Some(d) => {
                f64_into(d, out);
                true
            }
            None => false,
        },
        Kind::Text | Kind::Other => {
            out.extend_from_slice(b);
            true
        }
        Kind::Bpchar => {
            out.extend_from_slice(trim_end_spaces(b));
            true
        }
        Kind::Uuid => uuid_text(b, out),
        Kind::Inet => match std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse::<std::net::IpAddr>().ok())
        {
            Some(ip) => {
                display_into(ip, out);
                true
            }
            None => false,
        },
        Kind::Json => json(b, out),
        Kind::Bytes => bytea_text(b, out),
        // Every digit counts: varbit '0001' is not '1' (the copy writes bit(n)'s n digits).
        Kind::Bit => {
            let t = trim_ascii(b);
            if t.is_empty() || !t.iter().all(|c| *c == b'0' || *c == b'1') {
                return invalid(b, out);
            }
            out.extend_from_slice(t);
            true
        }
        Kind::TextArray => text_array(b, out),
        Kind::Point => point_text(b, out),
        Kind::Date => date_text(b, out),
        Kind::Timestamp => timestamp_text(b, false, out),
        Kind::TimestampTz => timestamp_text(b, true, out),
        Kind::Time => time_text(b, out),
        Kind::Interval => match origin {
            Origin::PgOut | Origin::PgBinary => match b.strip_suffix(b"j") {
                Some(n) => {
                    decimal(n, out) && {
                        out.push(b'j');
                        true
                    }
                }
                None => decimal(b, out),
            },
            Origin::CsvIn => interval_text(b, out),
        },
    };
    if !ok {
        invalid(b, out);
    }
}

/// `(x,y)`, Postgres's point form.
fn point_text(b: &[u8], out: &mut Vec<u8>) -> bool {
    let inner = trim_ascii(b)
        .strip_prefix(b"(")
        .and_then(|r| r.strip_suffix(b")"));
    let Some(comma) = inner.and_then(|i| i.iter().position(|&c| c == b',')) else {
        return false;
    };
    let inner = inner.unwrap_or_default();
    match (
        parse_float::<f64>(&inner[..comma]),
        parse_float::<f64>(&inner[comma + 1..]),
    ) {
        (Some(x), Some(y)) => {
            f64_into(x, out);
            out.push(b',');
            f64_into(y, out);
            true
        }
        _ => false,
    }
}

/// A MySQL bit(n) value (big-endian bytes, padded to whole bytes) as its n `0`/`1`
/// digits, as the copy writes them.
pub fn bits_exact(b: &[u8], n: u32, out: &mut Vec<u8>) {
    let total = b.len() as u32 * 8;
    for _ in total..n {
        out.push(b'0');
    }
    for i in total.saturating_sub(n)..total {
        out.push(b'0' + ((b[(i / 8) as usize] >> (7 - i % 8)) & 1));
    }
}

/// A MySQL bit value whose width is not known, as `0`/`1` digits without leading zeros.
fn bits_into(b: &[u8], out: &mut Vec<u8>) {
    let start = out.len();
    for &x in b {
        for i in (0..8).rev() {
            out.push(b'0' + ((x >> i) & 1));
        }
    }
    strip_leading_zero_bits(out, start);
}

fn strip_leading_zero_bits(out: &mut Vec<u8>, start: usize) {
    let first = out[start..].iter().position(|&c| c == b'1');
    match first {
        Some(0) => {}
        Some(p) => {
            out.drain(start..start + p);
        }
        None => {
            out.truncate(start);
            out.push(b'0');
        }
    }
}

/// A list of (nullable) elements as one JSON array of strings.
pub fn put_list<'a>(items: impl Iterator<Item = Option<&'a [u8]>>, out: &mut Vec<u8>) {
    out.push(b'[');
    for (i, it) in items.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        match it {
            Some(s) => put_json_string(s, out),
            None => out.extend_from_slice(b"null"),
        }
    }
    out.push(b']');
}

/// A one-dimensional Postgres array literal: `{a,"b c",NULL,"x\"y"}`.
fn text_array(b: &[u8], out: &mut Vec<u8>) -> bool {
    let t = trim_ascii(b);
    let Some(inner) = t.strip_prefix(b"{").and_then(|x| x.strip_suffix(b"}")) else {
        return false;
    };
    let mut items: Vec<Option<Vec<u8>>> = Vec::new();
    let mut i = 0;
    if !inner.is_empty() {
        loop {
            if inner.get(i) == Some(&b'"') {
                i += 1;
                let mut v = Vec::new();
                loop {
                    match inner.get(i) {
                        None => return false,
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => {
                            let Some(&c) = inner.get(i + 1) else {
                                return false;
                            };
                            v.push(c);
                            i += 2;
                        }
                        Some(&c) => {
                            v.push(c);
                            i += 1;
                        }
                    }
                }
                items.push(Some(v));
            } else {
                let end = inner[i..]
                    .iter()
                    .position(|&c| c == b',')
                    .map_or(inner.len(), |p| i + p);
                let v = trim_ascii(&inner[i..end]);
                if v.contains(&b'{') || v.contains(&b'"') {
                    return false; // multi-dimensional or malformed
                }
                items.push((!v.eq_ignore_ascii_case(b"null")).then(|| v.to_vec()));
                i = end;
            }
            match inner.get(i) {
                None => break,
                Some(b',') => i += 1,
                Some(_) => return false,
            }
        }
    }
    put_list(items.iter().map(|x| x.as_deref()), out);
    true
}

fn trim_end_spaces(b: &[u8]) -> &[u8] {
    let end = b.iter().rposition(|&c| c != b' ').map_or(0, |p| p + 1);
    &b[..end]
}

// ---- uuid / bytea --------------------------------------------------------------------

/// Lower-case hex digits with dashes after the 8th, 12th, 16th and 20th digit.
fn put_uuid(hex: &[u8; 32], out: &mut Vec<u8>) {
    let mut t = [b'-'; 36];
    t[..8].copy_from_slice(&hex[..8]);
    t[9..13].copy_from_slice(&hex[8..12]);
    t[14..18].copy_from_slice(&hex[12..16]);
    t[19..23].copy_from_slice(&hex[16..20]);
    t[24..].copy_from_slice(&hex[20..]);
    out.extend_from_slice(&t);
}

/// A 16-byte (binary) UUID.
fn uuid_from_bytes(b: &[u8], out: &mut Vec<u8>) {
    let mut hex = [0u8; 32];
    for (i, &x) in b.iter().take(16).enumerate() {
        hex[2 * i] = HEX[(x >> 4) as usize];
        hex[2 * i + 1] = HEX[(x & 15) as usize];
    }
    put_uuid(&hex, out);
}

/// Per byte: its lower-case form when it is a hex digit, else 0.
const HEX_LOWER: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        t[c] = match b {
            b'0'..=b'9' | b'a'..=b'f' => b,
            b'A'..=b'F' => b + 32,
            _ => 0,
        };
        c += 1;
    }
    t
};

fn uuid_text(b: &[u8], out: &mut Vec<u8>) -> bool {
    let s = trim_ascii(b);
    let s = s
        .strip_prefix(b"{")
        .and_then(|x| x.strip_suffix(b"}"))
        .unwrap_or(s);
    let mut hex = [0u8; 32];
    let mut n = 0;
    for &c in s {
        if c == b'-' {
            continue;
        }
        let h = HEX_LOWER[c as usize];
        if h == 0 || n == 32 {
            return false;
        }
        hex[n] = h;
        n += 1;
    }
    if n != 32 {
        return false;
    }
    put_uuid(&hex, out);
    true
}

fn bytea_text(b: &[u8], out: &mut Vec<u8>) -> bool {
    if let Some(h) = b.strip_prefix(b"\\x") {
        let h: Vec<u8> = h
            .iter()
            .copied()
            .filter(|c| !c.is_ascii_whitespace())
            .collect();
        if h.len() % 2 != 0 || !h.iter().all(u8::is_ascii_hexdigit) {
            return false;
        }
        out.extend(h.iter().map(|c| c.to_ascii_lowercase()));
        return true;
    }
    // Escape format: `\\` is a backslash, `\ooo` an octal byte, anything else itself.
    let mut bytes = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            bytes.push(b[i]);
            i += 1;
        } else if b.get(i + 1) == Some(&b'\\') {
            bytes.push(b'\\');
            i += 2;
        } else if i + 4 <= b.len() && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c)) {
            let v = (b[i + 1] - b'0') as u32 * 64
                + (b[i + 2] - b'0') as u32 * 8
                + (b[i + 3] - b'0') as u32;
            if v > 255 {
                return false;
            }
            bytes.push(v as u8);
            i += 4;
        } else {
            return false;
        }
    }
    hex_into(&bytes, out);
    true
}

fn trim_ascii(b: &[u8]) -> &[u8] {
    let start = b
        .iter()
        .position(|c| !c.is_ascii_whitespace())
        .unwrap_or(b.len());
    let end = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(start, |p| p + 1);
    &b[start..end.max(start)]
}

// ---- numbers -------------------------------------------------------------------------

/// `decimal`, or the text marked as no number (never equal to a number).
pub fn decimal_or_invalid(b: &[u8], out: &mut Vec<u8>) {
    if !decimal(b, out) {
        invalid(b, out)
    }
}

/// Exact decimal normal form: `-0012.3400` -> `-12.34`, `1e2` -> `100`, `0.00` -> `0`.
/// Returns false (writing nothing) when `b` is not a number.
pub fn decimal(b: &[u8], out: &mut Vec<u8>) -> bool {
    let s = trim_ascii(b);
    if s.eq_ignore_ascii_case(b"nan") {
        out.extend_from_slice(b"NaN");
        return true;
    }
    for (txt, canon) in [
        (&b"infinity"[..], &b"Infinity"[..]),
        (b"+infinity", b"Infinity"),
        (b"inf", b"Infinity"),
        (b"-infinity", b"-Infinity"),
        (b"-inf", b"-Infinity"),
    ] {
        if s.eq_ignore_ascii_case(txt) {
            out.extend_from_slice(canon);
            return true;
        }
    }
    let (neg, s) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut digits: Vec<u8> = Vec::with_capacity(s.len());
    let mut frac_len: i64 = 0;
    let mut seen_dot = false;
    let mut i = 0;
    while i < s.len() {
        match s[i] {
            c @ b'0'..=b'9' => {
                digits.push(c);
                if seen_dot {
                    frac_len += 1;
                }
            }
            b'.' if !seen_dot => seen_dot = true,
            b'e' | b'E' => break,
            _ => return false,
        }
        i += 1;
    }
    if digits.is_empty() {
        return false;
    }
    let mut exp: i64 = 0;
    if i < s.len() {
        let e = &s[i + 1..];
        let (eneg, e) = match e.first() {
            Some(b'-') => (true, &e[1..]),
            Some(b'+') => (false, &e[1..]),
            _ => (false, e),
        };
        if e.is_empty() || !e.iter().all(u8::is_ascii_digit) {
            return false;
        }
        // Leading zeros do not make an exponent big (`1e0000000001` is 10).
        let e = &e[e.iter().position(|&c| c != b'0').unwrap_or(e.len())..];
        if e.len() > 9 {
            return false;
        }
        let v: i64 = std::str::from_utf8(e).unwrap_or("0").parse().unwrap_or(0);
        exp = if eneg { -v } else { v };
    }
    let mut e = exp - frac_len;
    let first = digits.iter().position(|&c| c != b'0');
    let Some(first) = first else {
        out.push(b'0');
        return true;
    };
    let mut digits = &digits[first..];
    while let Some((&b'0', rest)) = digits.split_last() {
        digits = rest;
        e += 1;
    }
    if neg {
        out.push(b'-');
    }
    let n = digits.len() as i64;
    if e >= 0 {
        out.extend_from_slice(digits);
        if e > 400 {
            display_into(format_args!("e{e}"), out);
        } else {
            out.extend(std::iter::repeat_n(b'0', e as usize));
        }
    } else if n + e > 0 {
        let p = (n + e) as usize;
        out.extend_from_slice(&digits[..p]);
        out.push(b'.');
        out.extend_from_slice(&digits[p..]);
    } else if -(n + e) > 400 {
        out.extend_from_slice(digits);
        display_into(format_args!("e{e}"), out);
    } else {
        out.extend_from_slice(b"0.");
        out.extend(std::iter::repeat_n(b'0', (-(n + e)) as usize));
        out.extend_from_slice(digits);
    }
    true
}

// ---- dates and times ------------------------------------------------------------------

/// `v` in decimal, zero-padded to at least `width` digits.
fn put_padded(v: u64, width: usize, out: &mut Vec<u8>) {
    const POW10: [u64; 7] = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000];
    if width < POW10.len() && v < POW10[width] {
        // The usual case (dates and clocks): exactly `width` digits.
        let mut t = [b'0'; 6];
        let mut x = v;
        for d in t[..width].iter_mut().rev() {
            *d = b'0' + (x % 10) as u8;
            x /= 10;
        }
        out.extend_from_slice(&t[..width]);
        return;
    }
    let mut buf = itoa::Buffer::new();
    let s = buf.format(v).as_bytes();
    if s.len() < width {
        out.extend(std::iter::repeat_n(b'0', width - s.len()));
    }
    out.extend_from_slice(s);
}

/// Writes `v % 10^N` as exactly N digits into `t`.
#[inline(always)]
fn digits_into<const N: usize>(t: &mut [u8], mut v: u64) {
    for d in t[..N].iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

fn put_date(y: i64, m: u32, d: u32, out: &mut Vec<u8>) {
    if (0..=9999).contains(&y) && m < 100 && d < 100 {
        // The usual case, built on the stack and appended once (fixed size: no memcpy call).
        let mut t = *b"0000-00-00";
        digits_into::<4>(&mut t[0..4], y as u64);
        digits_into::<2>(&mut t[5..7], m as u64);
        digits_into::<2>(&mut t[8..10], d as u64);
        out.extend_from_slice(&t);
        return;
    }
    if y < 0 {
        out.push(b'-');
    }
    put_padded(y.unsigned_abs(), 4, out);
    out.push(b'-');
    put_padded(m as u64, 2, out);
    out.push(b'-');
    put_padded(d as u64, 2, out);
}

fn put_clock(h: u64, mi: u32, s: u32, us: u32, out: &mut Vec<u8>) {
    if h < 100 && mi < 100 && s < 100 && us < 1_000_000 {
        let mut t = *b"00:00:00.000000";
        digits_into::<2>(&mut t[0..2], h);
        digits_into::<2>(&mut t[3..5], mi as u64);
        digits_into::<2>(&mut t[6..8], s as u64);
        digits_into::<6>(&mut t[9..15], us as u64);
        out.extend_from_slice(&t);
        return;
    }
    put_padded(h, 2, out);
    out.push(b':');
    put_padded(mi as u64, 2, out);
    out.push(b':');
    put_padded(s as u64, 2, out);
    out.push(b'.');
    put_padded(us as u64, 6, out);
}

struct Cur<'a> {
    b: &'a [u8],
    i: usize,
}

impl Cur<'_> {
    fn num(&mut self, min: usize, max: usize) -> Option<u64> {
        let start = self.i;
        while self.i < self.b.len() && self.i - start < max && self.b[self.i].is_ascii_digit() {
            self.i += 1;
        }
        if self.i - start < min {
            return None;
        }
        // At most `max` (<= 12) ASCII digits: no overflow.
        Some(
            self.b[start..self.i]
                .iter()
                .fold(0u64, |n, &c| n * 10 + (c - b'0') as u64),
        )
    }
    fn eat(&mut self, c: u8) -> bool {
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }
    fn done(&self) -> bool {
        self.i == self.b.len()
    }
    /// `.ffffff` as microseconds; more than 6 digits only when the rest are zeros.
    fn fraction(&mut self) -> Option<u32> {
        if !self.eat(b'.') {
            return Some(0);
        }
        let start = self.i;
        while self.i < self.b.len() && self.b[self.i].is_ascii_digit() {
            self.i += 1;
        }
        let f = &self.b[start..self.i];
        if f.len() > 6 && f[6..].iter().any(|&c| c != b'0') {
            return None;
        }
        let mut us = 0u32;
        for k in 0..6 {
            us = us * 10 + f.get(k).map_or(0, |c| (c - b'0') as u32);
        }
        Some(us)
    }
    /// `HH:MM[:SS[.f]]` -> (h, m, s, us).
    fn clock(&mut self, max_h_digits: usize) -> Option<(u64, u32, u32, u32)> {
        let h = self.num(1, max_h_digits)?;
        if !self.eat(b':') {
            return None;
        }
        let mi = self.num(2, 2)? as u32;
        let (s, us) = if self.eat(b':') {
            (self.num(2, 2)? as u32, self.fraction()?)
        } else {
            (0, 0)
        };
        Some((h, mi, s, us))
    }
    fn date(&mut self) -> Option<(i64, u32, u32)> {
        let y = self.num(4, 9)? as i64;
        if !self.eat(b'-') {
            return None;
        }
        let m = self.num(1, 2)? as u32;
        if !self.eat(b'-') {
            return None;
        }
        let d = self.num(1, 2)? as u32;
        Some((y, m, d))
    }
}

fn date_text(b: &[u8], out: &mut Vec<u8>) -> bool {
    let mut c = Cur {
        b: trim_ascii(b),
        i: 0,
    };
    match c.date() {
        Some((y, m, d)) if c.done() => {
            put_date(y, m, d, out);
            true
        }
        _ => false,
    }
}

fn timestamp_text(b: &[u8], tz: bool, out: &mut Vec<u8>) -> bool {
    let mut c = Cur {
        b: trim_ascii(b),
        i: 0,
    };
    let Some((y, mo, d)) = c.date() else {
        return false;
    };
    let (mut h, mut mi, mut s, mut us) = (0u64, 0u32, 0u32, 0u32);
    if c.eat(b' ') || c.eat(b'T') {
        match c.clock(2) {
            Some(t) => (h, mi, s, us) = t,
            None => return false,
        }
    }
    // Offset: Z, +HH, +HH:MM, +HH:MM:SS, +HHMM.
    let mut offset: i64 = 0;
    match c.peek() {
        Some(b'Z') | Some(b'z') => c.i += 1,
        Some(sign @ (b'+' | b'-')) => {
            c.i += 1;
            let Some(oh) = c.num(1, 2) else { return false };
            let mut secs = oh as i64 * 3600;
            c.eat(b':');
            if let Some(om) = c.num(2, 2) {
                secs += om as i64 * 60;
                c.eat(b':');
                if let Some(os) = c.num(2, 2) {
                    secs += os as i64;
                }
            }
            offset = if sign == b'-' { -secs } else { secs };
        }
        _ => {}
    }
    if !c.done() {
        return false; // BC, infinity, trailing words
    }
    let (mut y, mut mo, mut d) = (y, mo, d);
    // A timestamp without time zone ignores an offset in its input, as Postgres does.
    if tz && offset != 0 {
        let total =
            days_from_civil(y, mo, d) * 86_400 + h as i64 * 3600 + mi as i64 * 60 + s as i64
                - offset;
        let days = total.div_euclid(86_400);
        let rem = total.rem_euclid(86_400);
        (y, mo, d) = civil_from_days(days);
        h = (rem / 3600) as u64;
        mi = ((rem % 3600) / 60) as u32;
        s = (rem % 60) as u32;
    }
    put_date(y, mo, d, out);
    out.push(b' ');
    put_clock(h, mi, s, us, out);
    true
}

fn time_text(b: &[u8], out: &mut Vec<u8>) -> bool {
    let mut c = Cur {
        b: trim_ascii(b),
        i: 0,
    };
    match c.clock(2) {
        Some((h, mi, s, us)) if c.done() => {
            put_clock(h, mi, s, us, out);
            true
        }
        _ => false,
    }
}

/// `[[-]D days ][-]H:MM:SS[.ffffff]` (what my2pg writes for intervals: the count rules
/// put whole days in the day field) -> microseconds, marked `j` where the day field is
/// not 0 (as the target's side marks it).
fn interval_text(b: &[u8], out: &mut Vec<u8>) -> bool {
    fn signed(t: &[u8]) -> (bool, &[u8]) {
        match t.first() {
            Some(b'-') => (true, &t[1..]),
            _ => (false, t),
        }
    }
    let t = trim_ascii(b);
    let (days, t) = match t.iter().position(|&c| c == b' ') {
        Some(sp) if t[sp..].starts_with(b" days ") => {
            let (neg, d) = signed(&t[..sp]);
            let mut c = Cur { b: d, i: 0 };
            match c.num(1, 10) {
                Some(d) if c.done() => {
                    let d = i128::from(d) * 86_400_000_000;
                    (if neg { -d } else { d }, &t[sp + 6..])
                }
                _ => return false,
            }
        }
        Some(_) => return false,
        None => (0, t),
    };
    let (neg, t) = signed(t);
    let mut c = Cur { b: t, i: 0 };
    match c.clock(12) {
        Some((h, mi, s, us)) if c.done() => {
            let micros = ((h as i128 * 60 + mi as i128) * 60 + s as i128) * 1_000_000 + us as i128;
            int_into(days + if neg { -micros } else { micros }, out);
            if days != 0 {
                out.push(b'j');
            }
            true
        }
        _ => false,
    }
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

// ---- JSON ----------------------------------------------------------------------------

/// Canonical JSON: objects with keys sorted bytewise (the last of duplicate keys wins,
/// as in jsonb), numbers in exact decimal normal form (`1.0` = `1` = `1e0`, as jsonb
/// compares them), strings unescaped and re-escaped one way, no whitespace.
/// Returns false (writing nothing) when `b` is not JSON.
pub fn json(b: &[u8], out: &mut Vec<u8>) -> bool {
    // Reused per thread: canonicalizing a document allocates nothing once warm.
    thread_local! {
        static STACKS: std::cell::RefCell<(Vec<Member>, Vec<u8>)> =
            const { std::cell::RefCell::new((Vec::new(), Vec::new())) };
    }
    STACKS.with(|stacks| {
        let mut stacks = stacks.borrow_mut();
        let (members, scratch) = &mut *stacks;
        members.clear();
        let start = out.len();
        let mut p = Json {
            b,
            i: 0,
            members,
            scratch,
        };
        p.ws();
        let ok = p.value(out, 0) && {
            p.ws();
            p.i == b.len()
        };
        if !ok {
            out.truncate(start);
        }
        ok
    })
}

/// One object member already written to the output: `"key"` at `key..colon`, the whole
/// `"key":value` at `key..end`.
#[derive(Clone, Copy)]
struct Member {
    key: usize,
    colon: usize,
    end: usize,
}

struct Json<'a> {
    b: &'a [u8],
    i: usize,
    /// Members of the objects being parsed, innermost last.
    members: &'a mut Vec<Member>,
    /// Holds an object's members while they are written back in key order.
    scratch: &'a mut Vec<u8>,
}

/// Nesting the canonical JSON form follows. PostgreSQL's own limit is its stack
/// (`max_stack_depth`, 2 MB by default, holds about 10,000 levels of jsonb); a deeper
/// document is read as invalid, so it differs from everything.
const MAX_DEPTH: usize = 50_000;

/// The stack of a thread that canonicalizes (verify's pool): room for MAX_DEPTH levels
/// of recursion, several times over. Reserved, not used: pages are touched only as deep
/// as a document goes.
pub const STACK_BYTES: usize = 256 << 20;

/// Bytes a JSON string cannot hold raw (`"`, `\`, controls): the canonical escaping is
/// needed for exactly these, so a string without them is copied as it is.
const fn special_bytes() -> [bool; 256] {
    let mut t = [false; 256];
    let mut c = 0;
    while c < 0x20 {
        t[c] = true;
        c += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
}
static SPECIAL: [bool; 256] = special_bytes();

/// Position of the first SPECIAL byte: eight bytes at a time (an exact bit trick: the
/// high bit survives in exactly the bytes that are `"`, `\` or below 0x20), the table
/// for the tail.
#[inline]
fn first_special(b: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const LO7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let zero = |v: u64| !(((v & LO7) + LO7) | v | LO7);
    let mut at = 0;
    while let Some(w) = b.get(at..at + 8) {
        let w = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        let hits = zero(w ^ (ONES * b'"' as u64))
            | zero(w ^ (ONES * b'\\' as u64))
            | zero(w & (ONES * 0xe0));
        if hits != 0 {
            return Some(at + hits.trailing_zeros() as usize / 8);
        }
        at += 8;
    }
    b[at..]
        .iter()
        .position(|&c| SPECIAL[c as usize])
        .map(|p| at + p)
}

/// Canonical key order: jsonb's (length, then bytes), so jsonb output is already in order
/// and needs no sorting.
fn key_order(out: &[u8], a: &Member, b: &Member) -> std::cmp::Ordering {
    let (x, y) = (&out[a.key..a.colon], &out[b.key..b.colon]);
    x.len().cmp(&y.len()).then_with(|| x.cmp(y))
}

impl Json<'_> {
    fn ws(&mut self) {
        while self.i < self.b.len() && matches!(self.b[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn value(&mut self, out: &mut Vec<u8>, depth: usize) -> bool {
        if depth > MAX_DEPTH {
            return false;
        }
        match self.b.get(self.i) {
            Some(b'{') => self.object(out, depth),
            Some(b'[') => self.array(out, depth),
            Some(b'"') => self.string(out),
            Some(b't') => self.literal(b"true", out),
            Some(b'f') => self.literal(b"false", out),
            Some(b'n') => self.literal(b"null", out),
            Some(b'-' | b'0'..=b'9') => self.number(out),
            _ => false,
        }
    }

    fn literal(&mut self, lit: &[u8], out: &mut Vec<u8>) -> bool {
        if self.b[self.i..].starts_with(lit) {
            self.i += lit.len();
            out.extend_from_slice(lit);
            true
        } else {
            false
        }
    }

    fn number(&mut self, out: &mut Vec<u8>) -> bool {
        let start = self.i;
        let b = self.b;
        let digits = |i: &mut usize| {
            let s = *i;
            while *i < b.len() && b[*i].is_ascii_digit() {
                *i += 1;
            }
            *i > s
        };
        let mut i = self.i;
        if b[i] == b'-' {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
        if i < b.len() && b[i] == b'.' {
            i += 1;
            if !digits(&mut i) {
                return false;
            }
        }
        if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
            i += 1;
            if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
                i += 1;
            }
            if !digits(&mut i) {
                return false;
            }
        }
        self.i = i;
        decimal(&b[start..i], out)
    }

    fn array(&mut self, out: &mut Vec<u8>, depth: usize) -> bool {
        self.i += 1;
        out.push(b'[');
        self.ws();
        if self.b.get(self.i) == Some(&b']') {
            self.i += 1;
            out.push(b']');
            return true;
        }
        loop {
            self.ws();
            if !self.value(out, depth + 1) {
                return false;
            }
            self.ws();
            match self.b.get(self.i) {
                Some(b',') => {
                    self.i += 1;
                    out.push(b',');
                }
                Some(b']') => {
                    self.i += 1;
                    out.push(b']');
                    return true;
                }
                _ => return false,
            }
        }
    }

    /// Writes the members as they come, then puts them in key order (last duplicate
    /// wins) only if they are not in order already.
    fn object(&mut self, out: &mut Vec<u8>, depth: usize) -> bool {
        self.i += 1;
        out.push(b'{');
        let body = out.len();
        let base = self.members.len();
        self.ws();
        if self.b.get(self.i) == Some(&b'}') {
            self.i += 1;
        } else {
            loop {
                self.ws();
                if self.b.get(self.i) != Some(&b'"') {
                    return false;
                }
                if self.members.len() > base {
                    out.push(b',');
                }
                let key = out.len();
                if !self.string(out) {
                    return false;
                }
                let colon = out.len();
                self.ws();
                if self.b.get(self.i) != Some(&b':') {
                    return false;
                }
                self.i += 1;
                out.push(b':');
                self.ws();
                if !self.value(out, depth + 1) {
                    return false;
                }
                self.members.push(Member {
                    key,
                    colon,
                    end: out.len(),
                });
                self.ws();
                match self.b.get(self.i) {
                    Some(b',') => self.i += 1,
                    Some(b'}') => {
                        self.i += 1;
                        break;
                    }
                    _ => return false,
                }
            }
        }
        let ms = &mut self.members[base..];
        let ordered = ms
            .windows(2)
            .all(|w| key_order(out, &w[0], &w[1]) == std::cmp::Ordering::Less);
        if !ordered {
            // Stable: among equal keys the last one written stays last and wins.
            ms.sort_by(|a, b| key_order(out, a, b));
            self.scratch.clear();
            self.scratch.extend_from_slice(&out[body..]);
            out.truncate(body);
            let held: &[u8] = self.scratch;
            let key_of = |m: &Member| &held[m.key - body..m.colon - body];
            let mut first = true;
            for (idx, m) in ms.iter().enumerate() {
                if ms.get(idx + 1).is_some_and(|n| key_of(n) == key_of(m)) {
                    continue;
                }
                if !first {
                    out.push(b',');
                }
                first = false;
                out.extend_from_slice(&held[m.key - body..m.end - body]);
            }
        }
        self.members.truncate(base);
        out.push(b'}');
        true
    }

    /// Writes the canonical form of the string starting at `"`: escapes decoded, then
    /// only `"`, `\` and controls escaped (controls as `\u00XX`).
    fn string(&mut self, out: &mut Vec<u8>) -> bool {
        self.i += 1;
        out.push(b'"');
        loop {
            let rest = &self.b[self.i.min(self.b.len())..];
            let Some(p) = first_special(rest) else {
                return false;
            };
            out.extend_from_slice(&rest[..p]);
            let c = rest[p];
            self.i += p + 1;
            match c {
                b'"' => {
                    out.push(b'"');
                    return true;
                }
                b'\\' => {
                    let Some(&e) = self.b.get(self.i) else {
                        return false;
                    };
                    self.i += 1;
                    match e {
                        b'"' => out.extend_from_slice(b"\\\""),
                        b'\\' => out.extend_from_slice(b"\\\\"),
                        b'/' => out.push(b'/'),
                        b'b' => put_control(8, out),
                        b'f' => put_control(12, out),
                        b'n' => put_control(b'\n', out),
                        b'r' => put_control(b'\r', out),
                        b't' => put_control(b'\t', out),
                        b'u' => {
                            if !self.unicode_escape(out) {
                                return false;
                            }
                        }
                        _ => return false,
                    }
                }
                // A raw control character is not valid JSON.
                _ => return false,
            }
        }
    }

    /// `\uXXXX` (the `\u` already read), a surrogate pair taking two.
    fn unicode_escape(&mut self, out: &mut Vec<u8>) -> bool {
        let Some(hi) = self.hex4() else {
            return false;
        };
        let cp = if (0xD800..0xDC00).contains(&hi) && self.b[self.i..].starts_with(b"\\u") {
            let save = self.i;
            self.i += 2;
            let Some(lo) = self.hex4() else {
                return false;
            };
            if (0xDC00..0xE000).contains(&lo) {
                Some(0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00))
            } else {
                self.i = save;
                None
            }
        } else if (0xD800..0xE000).contains(&hi) {
            None
        } else {
            Some(hi)
        };
        match cp.and_then(char::from_u32) {
            Some(ch) if (ch as u32) < 0x20 => put_control(ch as u8, out),
            Some(ch) => {
                let mut buf = [0u8; 4];
                let enc = ch.encode_utf8(&mut buf).as_bytes();
                match enc {
                    b"\"" => out.extend_from_slice(b"\\\""),
                    b"\\" => out.extend_from_slice(b"\\\\"),
                    _ => out.extend_from_slice(enc),
                }
            }
            // A lone surrogate (json keeps it as text): kept escaped. Canonical text
            // never holds `\u` followed by anything but `00`, so this cannot collide.
            None => {
                out.extend_from_slice(b"\\u");
                for shift in [12, 8, 4, 0] {
                    out.push(HEX[((hi >> shift) & 15) as usize]);
                }
            }
        }
        true
    }

    fn hex4(&mut self) -> Option<u32> {
        let h = self.b.get(self.i..self.i + 4)?;
        let mut v = 0u32;
        for &c in h {
            v = (v << 4) | (c as char).to_digit(16)?;
        }
        self.i += 4;
        Some(v)
    }
}

fn put_control(c: u8, out: &mut Vec<u8>) {
    out.extend_from_slice(b"\\u00");
    out.push(HEX[(c >> 4) as usize]);
    out.push(HEX[(c & 15) as usize]);
}

fn put_json_string(s: &[u8], out: &mut Vec<u8>) {
    out.push(b'"');
    let mut rest = s;
    while let Some(p) = first_special(rest) {
        out.extend_from_slice(&rest[..p]);
        match rest[p] {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            c => put_control(c, out),
        }
        rest = &rest[p + 1..];
    }
    out.extend_from_slice(rest);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(kind: Kind, origin: Origin, s: &str) -> String {
        let mut out = Vec::new();
        text_value(kind, origin, s.as_bytes(), &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    fn m(kind: Kind, v: Value) -> String {
        let mut out = Vec::new();
        mysql_value(kind, &v, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    fn pg(kind: Kind, s: &str) -> String {
        t(kind, Origin::PgOut, s)
    }

    #[test]
    fn decimals_into_floats_equal_only_what_the_float_holds() {
        let dec = |kind, s: &str| m(kind, Value::Bytes(s.as_bytes().to_vec()));
        assert_eq!(
            dec(Kind::F64, "0.1000"),
            bin(Kind::F64, &0.1f64.to_be_bytes())
        );
        assert_eq!(
            dec(Kind::F64, "1152921504606846976"),
            bin(Kind::F64, &2f64.powi(60).to_be_bytes())
        );
        assert_eq!(
            dec(Kind::F32, "16777216"),
            bin(Kind::F32, &16777216f32.to_be_bytes())
        );
        // Values the load refuses differ from whatever float the target holds.
        assert_ne!(
            dec(Kind::F32, "16777217"),
            bin(Kind::F32, &16777216f32.to_be_bytes())
        );
        assert_ne!(
            dec(Kind::F64, "0.10000000000000000001"),
            bin(Kind::F64, &0.1f64.to_be_bytes())
        );
        assert!(dec(Kind::F32, &format!("1{}", "0".repeat(64))).starts_with('\0'));
    }

    #[test]
    fn decimals_into_integers_equal_only_whole_numbers() {
        let dec = |s: &str| m(Kind::Int, Value::Bytes(s.as_bytes().to_vec()));
        assert_eq!(dec("-12.00"), bin(Kind::Int, &(-12i64).to_be_bytes()));
        assert_eq!(dec("-0.00"), bin(Kind::Int, &0i64.to_be_bytes()));
        assert_eq!(
            dec("9223372036854775807"),
            bin(Kind::Int, &i64::MAX.to_be_bytes())
        );
        // A fraction the load refuses differs from whatever integer the target holds.
        assert_eq!(dec("12.50"), "\0invalid:12.50");
        // An integer into a float: only one the float holds equals it.
        assert_eq!(
            m(Kind::F32, Value::Int(16_777_216)),
            bin(Kind::F32, &16_777_216f32.to_be_bytes())
        );
        assert_eq!(m(Kind::F32, Value::Int(16_777_217)), "\0invalid:16777217");
        assert_eq!(
            m(Kind::F64, Value::UInt(9_007_199_254_740_993)),
            "\0invalid:9007199254740993"
        );
        // Addresses compare as addresses: Postgres prints IPv4-compatible and mapped IPv6
        // addresses in mixed notation, Rust may not; both sides are read the same way.
        for a in ["::1.2.3.4", "::ffff:1.2.3.4", "2001:DB8::1", "10.0.0.1"] {
            assert_eq!(
                m(Kind::Inet, Value::Bytes(a.as_bytes().to_vec())),
                pg(Kind::Inet, &a.to_ascii_lowercase()),
                "{a}"
            );
        }
        assert_eq!(Kind::from_pg("json", false), Kind::Text);
        assert_eq!(Kind::from_pg("jsonb", false), Kind::Json);
        assert!(dec("Infinity").starts_with('\0'));
    }

    fn bin(kind: Kind, b: &[u8]) -> String {
        let mut out = Vec::new();
        pg_binary_value(kind, b, &mut out);
        String::from_utf8_lossy(&out).into_owned()
    }

    proptest::proptest! {
        #[test]
        fn first_special_is_the_table_s_answer(b in proptest::collection::vec(
            proptest::sample::select(vec![b'a', b'"', b'\\', 0u8, 0x1f, 0x20, 0x7f, 0x80, 0xa2, 0xdc, 0xff]), 0..40)) {
            proptest::prop_assert_eq!(first_special(&b), b.iter().position(|&c| SPECIAL[c as usize]));
        }
    }

    #[test]
    fn inet_compares_addresses_not_spellings() {
        let my = |s: &str| m(Kind::Inet, Value::Bytes(s.as_bytes().to_vec()));
        // MariaDB and Postgres spell a single zero group differently.
        assert_eq!(
            my("2001:db8::1:1:1:1:1"),
            pg(Kind::Inet, "2001:db8:0:1:1:1:1:1")
        );
        assert_eq!(my("::1.2.3.4"), pg(Kind::Inet, "::102:304"));
        assert_eq!(my("10.0.0.1"), "10.0.0.1");
        assert_ne!(my("::ffff:10.0.0.1"), my("10.0.0.1"));
        assert_eq!(pg(Kind::Inet, "10.0.0.1/8"), "\0invalid:10.0.0.1/8");
    }

    /// Binary COPY values canonicalize exactly like the text Postgres prints for them
    /// and like the MySQL value they were copied from.
    #[test]
    fn binary_values_match_text_and_mysql() {
        // 2024-02-29 23:59:59.999999 and 1000-01-01 00:00:00 (before the epoch).
        let micros = |days: i64, us: i64| (days * 86_400_000_000 + us).to_be_bytes();
        let day = |y, m, d| days_from_civil(y, m, d) - PG_EPOCH_DAYS;
        let leap = micros(day(2024, 2, 29), 86_399_999_999);
        assert_eq!(
            bin(Kind::Timestamp, &leap),
            pg(Kind::Timestamp, "2024-02-29 23:59:59.999999")
        );
        assert_eq!(
            bin(Kind::TimestampTz, &leap),
            pg(Kind::TimestampTz, "2024-03-01 01:59:59.999999+02")
        );
        assert_eq!(
            bin(Kind::Timestamp, &leap),
            m(
                Kind::Timestamp,
                Value::Date(2024, 2, 29, 23, 59, 59, 999_999)
            )
        );
        let old = micros(day(1000, 1, 1), 0);
        assert_eq!(bin(Kind::Timestamp, &old), "1000-01-01 00:00:00.000000");
        let old_day = (day(1000, 1, 1) as i32).to_be_bytes();
        assert_eq!(bin(Kind::Date, &old_day), pg(Kind::Date, "1000-01-01"));
        assert_eq!(
            bin(Kind::Date, &0i32.to_be_bytes()),
            m(Kind::Date, Value::Date(2000, 1, 1, 0, 0, 0, 0))
        );
        // Infinities and wrong widths can never equal a source value.
        assert_eq!(
            bin(Kind::Date, &i32::MAX.to_be_bytes()),
            "\0invalid:infinity"
        );
        assert_eq!(
            bin(Kind::Timestamp, &i64::MIN.to_be_bytes()),
            "\0invalid:-infinity"
        );
        assert_eq!(bin(Kind::Uuid, &[1; 3]), "\0invalid:\\x010101");
        let u: Vec<u8> = (0xa0..0xb0).collect();
        assert_eq!(
            bin(Kind::Uuid, &u),
            pg(Kind::Uuid, "A0A1A2A3-A4A5-A6A7-A8A9-AAABACADAEAF")
        );
        assert_eq!(
            bin(Kind::Int, &(-42i64).to_be_bytes()),
            m(Kind::Int, Value::Int(-42))
        );
        assert_eq!(
            bin(Kind::Int, &i64::MAX.to_be_bytes()),
            pg(Kind::Int, "9223372036854775807")
        );
        assert_eq!(bin(Kind::F64, &0.1f64.to_be_bytes()), pg(Kind::F64, "0.1"));
        assert_eq!(
            bin(Kind::F32, &1.5e-7f32.to_be_bytes()),
            pg(Kind::F32, "1.5e-07")
        );
        assert_eq!(
            bin(Kind::F64, &f64::INFINITY.to_be_bytes()),
            pg(Kind::F64, "Infinity")
        );
        assert_eq!(bin(Kind::Bool, &[1]), pg(Kind::Bool, "t"));
        assert_eq!(bin(Kind::Bool, &[0]), m(Kind::Bool, Value::Int(0)));
        assert_eq!(bin(Kind::Bytes, &[0, 0xff]), pg(Kind::Bytes, "\\x00ff"));
        assert_eq!(bin(Kind::Bpchar, b"ab  "), "ab");
        // Kinds read as their text output go through the text rules.
        assert_eq!(bin(Kind::Numeric, b"1.50"), "1.5");
        assert_eq!(
            bin(Kind::Json, br#"{"b": 1, "a": 2}"#),
            pg(Kind::Json, r#"{"a":2,"b":1}"#)
        );
        assert_eq!(bin(Kind::Interval, b"-1500000"), "-1500000");
    }

    #[test]
    fn decimals_normalize() {
        for (a, b) in [
            ("1.50", "1.5"),
            ("-0012.3400", "-12.34"),
            ("0.00", "0"),
            ("-0.000", "0"),
            ("1e2", "100"),
            ("1.5E-3", "0.0015"),
            ("100", "100"),
            ("0.1", "0.1"),
            ("NaN", "NaN"),
            ("12345678901234567890123.000", "12345678901234567890123"),
            // Leading zeros in the exponent do not make it long.
            ("1e0000000001", "10"),
            ("2.5e-0000000007", "0.00000025"),
            ("3E+00000000000", "3"),
        ] {
            assert_eq!(pg(Kind::Numeric, a), b, "{a}");
        }
        assert!(pg(Kind::Numeric, "1.2.3").starts_with("\0invalid:"));
        assert!(pg(Kind::Numeric, "1e1234567890").starts_with("\0invalid:"));
        assert_eq!(
            pg(Kind::Json, "[1e0000000001, {\"n\": 2.5e-0000000007}]"),
            pg(Kind::Json, "[10, {\"n\": 0.00000025}]")
        );
        assert_eq!(m(Kind::Numeric, Value::Bytes(b"99.90".to_vec())), "99.9");
        assert_eq!(m(Kind::Numeric, Value::Int(-5)), "-5");
    }

    #[test]
    fn json_is_semantic_and_jsonb_compatible() {
        let a = pg(
            Kind::Json,
            "{ \"b\" : [1.0, 2.50, 1e2, -0], \"a\": {\"y\":\"\\u00e9\\n\", \"x\":null}, \"a\": 1}",
        );
        // jsonb output of the same document.
        let b = pg(Kind::Json, r#"{"a": 1, "b": [1.0, 2.50, 100, 0]}"#);
        assert_eq!(a, b);
        assert_eq!(a, r#"{"a":1,"b":[1,2.5,100,0]}"#);
        assert_eq!(
            pg(Kind::Json, r#"{"s":"\ud83d\ude00 \"q\" \/"}"#),
            "{\"s\":\"😀 \\\"q\\\" /\"}"
        );
        assert_ne!(
            pg(Kind::Json, r#"{"a":{"b":1}}"#),
            pg(Kind::Json, r#"{"a":{"b":2}}"#)
        );
        assert!(pg(Kind::Json, "{\"a\":1").starts_with("\0invalid:"));
        assert!(pg(Kind::Json, "[1] x").starts_with("\0invalid:"));
        // As deep as Postgres goes (and far beyond) on a verify thread's stack; deeper
        // than MAX_DEPTH is invalid.
        std::thread::Builder::new()
            .stack_size(STACK_BYTES)
            .spawn(|| {
                let nest = |n: usize, inner: &str| "[".repeat(n) + inner + &"]".repeat(n);
                let spaced = pg(Kind::Json, &nest(MAX_DEPTH - 1, "[1, 2]"));
                assert!(!spaced.starts_with("\0invalid:"));
                assert_eq!(spaced, pg(Kind::Json, &nest(MAX_DEPTH - 1, "[1,2]")));
                let objects = "{\"a\":".repeat(MAX_DEPTH) + "1" + &"}".repeat(MAX_DEPTH);
                assert!(!pg(Kind::Json, &objects).starts_with("\0invalid:"));
                assert!(pg(Kind::Json, &nest(MAX_DEPTH + 1, "1")).starts_with("\0invalid:"));
            })
            .unwrap()
            .join()
            .unwrap();
    }

    #[test]
    fn json_objects_are_ordered_like_jsonb_at_every_depth() {
        // jsonb's order: shorter keys first, then bytes ("b" before "aa").
        assert_eq!(
            pg(Kind::Json, r#"{"aa":{"zz":1,"y":[{"d":1,"c":2}]},"b":2}"#),
            r#"{"b":2,"aa":{"y":[{"c":2,"d":1}],"zz":1}}"#
        );
        // The last duplicate wins, wherever it sits.
        assert_eq!(
            pg(Kind::Json, r#"{"a":1,"b":{"x":1,"x":2},"a":3}"#),
            r#"{"a":3,"b":{"x":2}}"#
        );
        assert_eq!(pg(Kind::Json, r#"{"a":1,"a":2}"#), r#"{"a":2}"#);
        // Escapes are decoded before keys are compared and written once, canonically.
        assert_eq!(
            pg(Kind::Json, r#"{"\u0062":1,"a\"":"\t\u0041\/"}"#),
            pg(Kind::Json, r#"{"a\u0022":"\u0009A/","b":1}"#)
        );
        assert_eq!(
            pg(Kind::Json, r#"{"a\"":"\t\u0041\/"}"#),
            r#"{"a\"":"\u0009A/"}"#
        );
        // A lone surrogate stays escaped and differs from an escaped backslash + text.
        assert_eq!(pg(Kind::Json, r#"["\ud800"]"#), r#"["\ud800"]"#);
        assert_ne!(
            pg(Kind::Json, r#"["\ud800"]"#),
            pg(Kind::Json, r#"["\\ud800"]"#)
        );
        assert!(pg(Kind::Json, r#"["\u+abc"]"#).starts_with("\0invalid:"));
        assert!(pg(Kind::Json, "[\"a\tb\"]").starts_with("\0invalid:"));
        // A failed document leaves nothing behind for the next one on this thread.
        assert!(pg(Kind::Json, r#"{"a":{"b":1,"#).starts_with("\0invalid:"));
        assert_eq!(pg(Kind::Json, r#"{"b":1,"a":2}"#), r#"{"a":2,"b":1}"#);
    }

    #[test]
    fn timestamps_and_zones() {
        assert_eq!(
            pg(Kind::Timestamp, "2024-02-29 23:59:59.5"),
            "2024-02-29 23:59:59.500000"
        );
        assert_eq!(
            pg(Kind::TimestampTz, "2024-02-29 23:59:59.999999+00"),
            "2024-02-29 23:59:59.999999"
        );
        assert_eq!(
            pg(Kind::TimestampTz, "2024-03-01 01:30:00+02:30"),
            "2024-02-29 23:00:00.000000"
        );
        assert_eq!(
            m(
                Kind::TimestampTz,
                Value::Date(2024, 2, 29, 23, 59, 59, 999_999)
            ),
            "2024-02-29 23:59:59.999999"
        );
        assert_eq!(
            m(Kind::Timestamp, Value::Date(1000, 1, 1, 0, 0, 0, 0)),
            pg(Kind::Timestamp, "1000-01-01 00:00:00")
        );
        assert_eq!(
            m(Kind::Date, Value::Date(2024, 1, 2, 0, 0, 0, 0)),
            "2024-01-02"
        );
        assert_eq!(pg(Kind::Date, "2024-01-02"), "2024-01-02");
        assert!(pg(Kind::Timestamp, "infinity").starts_with("\0invalid:"));
        assert_eq!(
            m(Kind::Time, Value::Time(false, 0, 12, 3, 4, 5)),
            pg(Kind::Time, "12:03:04.000005")
        );
        assert_eq!(
            m(Kind::Interval, Value::Time(true, 34, 22, 59, 59, 0)),
            t(Kind::Interval, Origin::CsvIn, "-838:59:59")
        );
        assert_eq!(
            pg(Kind::Interval, "-3020399000000.000000"),
            t(Kind::Interval, Origin::CsvIn, "-838:59:59")
        );
        // The count rules' day field, with the time's sign: the same duration, another
        // value (the target marks a day field with `j`).
        assert_eq!(
            t(Kind::Interval, Origin::CsvIn, "-34 days -22:59:59"),
            "-3020399000000j"
        );
        assert_eq!(
            t(Kind::Interval, Origin::CsvIn, "1 days 00:00:00.000001"),
            pg(Kind::Interval, "86400000001j")
        );
        assert_ne!(
            t(Kind::Interval, Origin::CsvIn, "1 days 00:00:00"),
            pg(Kind::Interval, "86400000000")
        );
        // A count rule's source value reads as the text the copy writes.
        let ruled = |unit, v: Value| {
            let v = SrcRule::IntervalCount(unit).apply(&v).unwrap().into_owned();
            m(Kind::Interval, v)
        };
        assert_eq!(ruled(1_000_000, Value::Int(-90_061)), "-90061000000j");
        assert_eq!(ruled(1, Value::UInt(86_399_999_999)), "86399999999");
        assert_eq!(
            ruled(1, Value::Date(1970, 1, 2, 0, 0, 0, 1)),
            pg(Kind::Interval, "86400000001j")
        );
        for bad in [
            "1 day 00:00:00",
            "x days 00:00:00",
            "1 days",
            "1  days 00:00:00",
        ] {
            assert!(
                t(Kind::Interval, Origin::CsvIn, bad).starts_with("\0invalid:"),
                "{bad}"
            );
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(civil_from_days(days_from_civil(2000, 2, 29)), (2000, 2, 29));
    }

    #[test]
    fn floats_compare_by_bits() {
        let f = 0.1f32;
        assert_eq!(m(Kind::F32, Value::Float(f)), pg(Kind::F32, "0.1"));
        assert_ne!(m(Kind::F32, Value::Float(f)), pg(Kind::F32, "0.10000001"));
        // float -> double precision: the f32's shortest text read as f64.
        assert_eq!(m(Kind::F64, Value::Float(f)), pg(Kind::F64, "0.1"));
        assert_eq!(m(Kind::F64, Value::Double(1e300)), pg(Kind::F64, "1e+300"));
        assert_eq!(
            pg(Kind::F64, "-Infinity"),
            m(Kind::F64, Value::Double(f64::NEG_INFINITY))
        );
        assert_ne!(pg(Kind::F64, "-0"), pg(Kind::F64, "0"));
    }

    #[test]
    fn other_kinds() {
        assert_eq!(
            m(
                Kind::Uuid,
                Value::Bytes(b"A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11".to_vec())
            ),
            pg(Kind::Uuid, "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11")
        );
        assert_eq!(
            m(Kind::Uuid, Value::Bytes((0..16).collect())),
            "00010203-0405-0607-0809-0a0b0c0d0e0f"
        );
        assert_eq!(m(Kind::Bytes, Value::Bytes(vec![0, 255, 16])), "00ff10");
        assert_eq!(pg(Kind::Bytes, "\\x00FF10"), "00ff10");
        assert_eq!(pg(Kind::Bytes, "a\\\\\\001"), "615c01");
        assert_eq!(m(Kind::Bool, Value::Int(1)), "t");
        assert_eq!(m(Kind::Bool, Value::Bytes(vec![0])), "f");
        assert!(m(Kind::Bool, Value::Int(2)).starts_with("\0invalid:"));
        assert_eq!(pg(Kind::Bool, "t"), "t");
        assert_eq!(
            pg(Kind::Bpchar, "ab   "),
            m(Kind::Bpchar, Value::Bytes(b"ab".to_vec()))
        );
        assert_eq!(m(Kind::Int, Value::UInt(u64::MAX)), "18446744073709551615");
        assert_eq!(m(Kind::Bit, Value::Bytes(vec![0, 5])), pg(Kind::Bit, "101"));
        // With the source width known every digit counts: varbit '0001' is not '1'.
        let exact = |b: &[u8], n| {
            let mut out = Vec::new();
            bits_exact(b, n, &mut out);
            String::from_utf8(out).unwrap()
        };
        assert_eq!(exact(&[0x01], 4), pg(Kind::Bit, "0001"));
        assert_ne!(pg(Kind::Bit, "0001"), pg(Kind::Bit, "1"));
        assert_eq!(exact(&[0x03, 0xff], 10), "1111111111");
        assert_eq!(exact(&[0x80], 12), "000010000000");
        assert_eq!(exact(&[0x80, 0, 0, 0, 0, 0, 0, 1], 64).len(), 64);
        assert_eq!(
            m(Kind::TextArray, Value::Bytes(b"a,b c,".to_vec())),
            pg(Kind::TextArray, r#"{a,"b c",""}"#)
        );
        assert_eq!(
            m(Kind::TextArray, Value::Bytes(vec![])),
            pg(Kind::TextArray, "{}")
        );
        assert_eq!(pg(Kind::TextArray, r#"{"x\"y",NULL}"#), r#"["x\"y",null]"#);
        assert_eq!(base64(b"ab"), b"YWI=");
        assert_eq!(base64(b"abc"), b"YWJj");
        assert_eq!(base64(b"a"), b"YQ==");
    }
}
