//! Value conversion, chosen once per column from the pair (MySQL type, Postgres type).
//! A `Converter` is a pure function from one MySQL value (binary protocol) to the text of
//! one Postgres CSV field, or a `ConvertError` saying exactly why the value cannot move.
//! Nothing here changes data silently: a value the target cannot hold exactly is an error.

use std::borrow::Cow;
use std::fmt;

use mysql_async::Value;

use crate::catalog::{MyBase, MyType, PgKind, PgType};
use crate::encode::{put_bytea, put_hex_lower, put_padded, put_text};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertError(pub Cow<'static, str>);

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn err<T>(msg: impl Into<Cow<'static, str>>) -> Result<T, ConvertError> {
    Err(ConvertError(msg.into()))
}

#[derive(Debug, Clone, PartialEq)]
pub enum Converter {
    /// Integer into smallint/integer/bigint, range-checked.
    Int {
        min: i128,
        max: i128,
        target: &'static str,
    },
    /// Integer into numeric(p,s): at most `int_digits` digits (None = unlimited).
    IntToNumeric { int_digits: Option<u32> },
    /// tinyint(1) / bit(1) into boolean: 0 or 1 only.
    Bool,
    /// decimal into numeric: exact digits; digits the target scale would round away are an error.
    Decimal {
        scale: Option<u32>,
        int_digits: Option<u32>,
    },
    /// float into real or double precision: the shortest text that reads back as the same f32.
    Float32,
    /// double into double precision: the shortest text that reads back as the same f64.
    Float64,
    /// Character data into text/varchar(n)/char(n)/citext: valid UTF-8, no NUL, length-checked.
    Text { max_chars: Option<u32> },
    /// char(36)-style UUID text (any case) into uuid.
    Uuid,
    /// binary(16) into uuid, bytes in MySQL's `UUID_TO_BIN(x)` order.
    UuidBinary,
    /// JSON text into json or jsonb, validated; jsonb cannot hold `\u0000`.
    Json { jsonb: bool },
    /// Any bytes into bytea.
    Bytea,
    /// date into date.
    Date,
    /// date/datetime/timestamp into timestamp(p).
    Timestamp { frac_digits: u32 },
    /// date/datetime/timestamp into timestamptz(p), the value read as UTC.
    TimestampTz { frac_digits: u32 },
    /// time into time(p): 00:00:00 to 23:59:59.999999 only.
    Time { frac_digits: u32 },
    /// time into interval (MySQL time spans -838:59:59 to 838:59:59).
    Interval,
    /// enum label (or text) into a Postgres enum: the label must exist there.
    PgEnum { labels: Vec<String> },
}

impl Converter {
    /// The converter's stable name, as `plan --json` reports it.
    pub fn name(&self) -> &'static str {
        match self {
            Converter::Int { .. } => "int",
            Converter::IntToNumeric { .. } => "int_to_numeric",
            Converter::Bool => "bool",
            Converter::Decimal { .. } => "decimal",
            Converter::Float32 => "float32",
            Converter::Float64 => "float64",
            Converter::Text { .. } => "text",
            Converter::Uuid => "uuid",
            Converter::UuidBinary => "uuid_binary",
            Converter::Json { jsonb: false } => "json",
            Converter::Json { jsonb: true } => "jsonb",
            Converter::Bytea => "bytea",
            Converter::Date => "date",
            Converter::Timestamp { .. } => "timestamp",
            Converter::TimestampTz { .. } => "timestamptz",
            Converter::Time { .. } => "time",
            Converter::Interval => "interval",
            Converter::PgEnum { .. } => "pg_enum",
        }
    }

    /// What the converter checks, for people reading `plan`.
    pub fn describe(&self) -> String {
        match self {
            Converter::Int { target, .. } => format!("int->{target} (range-checked)"),
            Converter::IntToNumeric { .. } => "int->numeric".into(),
            Converter::Bool => "bool (0/1 only)".into(),
            Converter::Decimal { .. } => "decimal->numeric (exact)".into(),
            Converter::Float32 => "float (shortest f32)".into(),
            Converter::Float64 => "double (shortest f64)".into(),
            Converter::Text { max_chars: None } => "text (utf-8, no NUL)".into(),
            Converter::Text { max_chars: Some(n) } => format!("text (utf-8, no NUL, <= {n} chars)"),
            Converter::Uuid => "uuid (text)".into(),
            Converter::UuidBinary => "uuid (binary(16))".into(),
            Converter::Json { jsonb: false } => "json (validated)".into(),
            Converter::Json { jsonb: true } => "jsonb (validated)".into(),
            Converter::Bytea => "bytea".into(),
            Converter::Date => "date".into(),
            Converter::Timestamp { .. } => "timestamp".into(),
            Converter::TimestampTz { .. } => "timestamptz (UTC)".into(),
            Converter::Time { .. } => "time".into(),
            Converter::Interval => "time->interval".into(),
            Converter::PgEnum { .. } => "enum label".into(),
        }
    }

    /// Appends the CSV field for a non-NULL value.
    pub fn convert(&self, v: &Value, out: &mut Vec<u8>) -> Result<(), ConvertError> {
        match self {
            Converter::Int { min, max, target } => {
                let n = int_value(v)?;
                if n < *min || n > *max {
                    return err(format!("{n} is out of range for {target}"));
                }
                put_i128(out, n);
            }
            Converter::IntToNumeric { int_digits } => {
                let n = int_value(v)?;
                if let Some(d) = int_digits {
                    if digits(n.unsigned_abs()) > *d {
                        return err(format!(
                            "{n} has more integer digits than the target numeric allows ({d})"
                        ));
                    }
                }
                put_i128(out, n);
            }
            Converter::Bool => {
                let n = match v {
                    Value::Bytes(b) if b.len() == 1 => match b[0] {
                        0 | b'0' => 0,
                        1 | b'1' => 1,
                        x => x as i128,
                    },
                    _ => int_value(v)?,
                };
                match n {
                    0 => out.push(b'f'),
                    1 => out.push(b't'),
                    _ => return err(format!("{n} is not a boolean (only 0 and 1 are)")),
                }
            }
            Converter::Decimal { scale, int_digits } => {
                let b = bytes(v)?;
                put_decimal(out, b, *scale, *int_digits)?;
            }
            Converter::Float32 => match v {
                Value::Float(f) => put_float(out, *f as f64, Some(*f)),
                Value::Double(d) => put_float(out, *d, None),
                _ => return unexpected(v),
            },
            Converter::Float64 => match v {
                Value::Double(d) => put_float(out, *d, None),
                Value::Float(f) => put_float(out, *f as f64, Some(*f)),
                _ => return unexpected(v),
            },
            Converter::Text { max_chars } => {
                let b = bytes(v)?;
                check_text(b, *max_chars)?;
                put_text(out, b);
            }
            Converter::Uuid => {
                let b = bytes(v)?;
                put_uuid_text(out, b)?;
            }
            Converter::UuidBinary => {
                let b = bytes(v)?;
                if b.len() != 16 {
                    return err(format!("{} bytes is not a 16-byte binary UUID", b.len()));
                }
                for (i, chunk) in [&b[0..4], &b[4..6], &b[6..8], &b[8..10], &b[10..16]]
                    .iter()
                    .enumerate()
                {
                    if i > 0 {
                        out.push(b'-');
                    }
                    put_hex_lower(out, chunk);
                }
            }
            Converter::Json { jsonb } => {
                let b = bytes(v)?;
                check_json(b, *jsonb)?;
                put_text(out, b);
            }
            Converter::Bytea => {
                let b = bytes(v)?;
                put_bytea(out, b);
            }
            Converter::Date => {
                let (y, m, d, h, mi, s, us) = date_value(v)?;
                if h != 0 || mi != 0 || s != 0 || us != 0 {
                    return err("a time of day does not fit a date column");
                }
                put_date(out, y, m, d);
            }
            Converter::Timestamp { frac_digits } | Converter::TimestampTz { frac_digits } => {
                let (y, m, d, h, mi, s, us) = date_value(v)?;
                check_frac(us, *frac_digits)?;
                put_date(out, y, m, d);
                out.push(b' ');
                put_clock(out, h as u32, mi, s, us);
                if matches!(self, Converter::TimestampTz { .. }) {
                    out.extend_from_slice(b"+00");
                }
            }
            Converter::Time { frac_digits } => {
                let (neg, days, h, mi, s, us) = time_value(v)?;
                if neg || days > 0 {
                    return err("a time outside 00:00:00..24:00:00 needs an interval column");
                }
                check_frac(us, *frac_digits)?;
                put_clock(out, h as u32, mi, s, us);
            }
            Converter::Interval => {
                let (neg, days, h, mi, s, us) = time_value(v)?;
                if neg {
                    out.push(b'-');
                }
                let hours = days * 24 + h as u32;
                out.extend_from_slice(itoa::Buffer::new().format(hours).as_bytes());
                out.push(b':');
                put_padded(out, mi as u32, 2);
                out.push(b':');
                put_padded(out, s as u32, 2);
                if us != 0 {
                    out.push(b'.');
                    put_padded(out, us, 6);
                }
            }
            Converter::PgEnum { labels } => {
                let b = bytes(v)?;
                if !labels.iter().any(|l| l.as_bytes() == b) {
                    return err("this label does not exist in the target enum type");
                }
                put_text(out, b);
            }
        }
        Ok(())
    }
}

/// Chooses the converter for a (MySQL type, Postgres type) pair; `None` = no safe conversion.
pub fn choose(src: &MyType, dst: &PgType) -> Option<Converter> {
    use MyBase::*;
    let t = dst.name.as_str();
    if let PgKind::Enum(labels) = &dst.kind {
        return (matches!(src.base, Enum) || src.is_text()).then(|| Converter::PgEnum {
            labels: labels.clone(),
        });
    }
    if let PgKind::Array(_) = &dst.kind {
        return None;
    }
    let text_target = matches!(t, "text" | "varchar" | "bpchar" | "citext");
    let frac = |default: u32| {
        if dst.typmod >= 0 {
            dst.typmod as u32
        } else {
            default
        }
    };
    let int_target = |t: &str| -> Option<Converter> {
        let (min, max, target) = match t {
            "int2" => (i16::MIN as i128, i16::MAX as i128, "smallint"),
            "int4" => (i32::MIN as i128, i32::MAX as i128, "integer"),
            "int8" => (i64::MIN as i128, i64::MAX as i128, "bigint"),
            _ => return None,
        };
        Some(Converter::Int { min, max, target })
    };
    match src.base {
        TinyInt if src.len == Some(1) && t == "bool" => Some(Converter::Bool),
        Bit if src.len == Some(1) && t == "bool" => Some(Converter::Bool),
        TinyInt | SmallInt | MediumInt | Int | BigInt | Year => match t {
            "numeric" => Some(Converter::IntToNumeric {
                int_digits: dst.numeric_precision().map(|(p, s)| p - s),
            }),
            _ => int_target(t),
        },
        Decimal => (t == "numeric").then(|| {
            let ps = dst.numeric_precision();
            Converter::Decimal {
                scale: ps.map(|(_, s)| s),
                int_digits: ps.map(|(p, s)| p - s),
            }
        }),
        Float => matches!(t, "float4" | "float8").then_some(Converter::Float32),
        Double => (t == "float8").then_some(Converter::Float64),
        Bit => (t == "bytea").then_some(Converter::Bytea),
        Binary | VarBinary | Blob => match t {
            "bytea" => Some(Converter::Bytea),
            "uuid" if src.base == Binary && src.len == Some(16) => Some(Converter::UuidBinary),
            _ => None,
        },
        Char | VarChar | Text if src.binary => (t == "bytea").then_some(Converter::Bytea),
        Char | VarChar | Text | Json | Enum | Set => match t {
            _ if text_target => Some(Converter::Text {
                max_chars: dst.char_len(),
            }),
            "uuid" if !matches!(src.base, Json | Enum | Set) => Some(Converter::Uuid),
            "json" => Some(Converter::Json { jsonb: false }),
            "jsonb" => Some(Converter::Json { jsonb: true }),
            "bytea" => Some(Converter::Bytea),
            _ => None,
        },
        Date => match t {
            "date" => Some(Converter::Date),
            "timestamp" => Some(Converter::Timestamp { frac_digits: 6 }),
            "timestamptz" => Some(Converter::TimestampTz { frac_digits: 6 }),
            _ => None,
        },
        DateTime | Timestamp => match t {
            "timestamp" => Some(Converter::Timestamp {
                frac_digits: frac(6),
            }),
            "timestamptz" => Some(Converter::TimestampTz {
                frac_digits: frac(6),
            }),
            _ => None,
        },
        Time => match t {
            "time" => Some(Converter::Time {
                frac_digits: frac(6),
            }),
            "interval" => Some(Converter::Interval),
            _ => None,
        },
        Other => None,
    }
}

fn unexpected<T>(v: &Value) -> Result<T, ConvertError> {
    err(format!(
        "unexpected {} value from the server",
        match v {
            Value::NULL => "NULL",
            Value::Bytes(_) => "string",
            Value::Int(_) | Value::UInt(_) => "integer",
            Value::Float(_) | Value::Double(_) => "floating-point",
            Value::Date(..) => "date",
            Value::Time(..) => "time",
        }
    ))
}

#[inline]
fn bytes(v: &Value) -> Result<&[u8], ConvertError> {
    match v {
        Value::Bytes(b) => Ok(b),
        _ => unexpected(v),
    }
}

#[inline]
fn int_value(v: &Value) -> Result<i128, ConvertError> {
    match v {
        Value::Int(i) => Ok(*i as i128),
        Value::UInt(u) => Ok(*u as i128),
        Value::Bytes(b) => std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse::<i128>().ok())
            .map_or_else(|| err("not an integer"), Ok),
        _ => unexpected(v),
    }
}

type DateParts = (u16, u8, u8, u8, u8, u8, u32);

#[inline]
fn date_value(v: &Value) -> Result<DateParts, ConvertError> {
    match v {
        Value::Date(y, m, d, h, mi, s, us) => {
            if *y == 0 && *m == 0 && *d == 0 {
                return err("zero date (0000-00-00) has no PostgreSQL equivalent");
            }
            if *m == 0 || *d == 0 {
                return err("partial date (month or day 0) has no PostgreSQL equivalent");
            }
            if *y == 0 {
                return err("year 0 does not exist in PostgreSQL");
            }
            Ok((*y, *m, *d, *h, *mi, *s, *us))
        }
        _ => unexpected(v),
    }
}

type TimeParts = (bool, u32, u8, u8, u8, u32);

#[inline]
fn time_value(v: &Value) -> Result<TimeParts, ConvertError> {
    match v {
        Value::Time(neg, d, h, mi, s, us) => Ok((*neg, *d, *h, *mi, *s, *us)),
        _ => unexpected(v),
    }
}

fn check_frac(us: u32, frac_digits: u32) -> Result<(), ConvertError> {
    if frac_digits < 6 && us % 10u32.pow(6 - frac_digits) != 0 {
        return err(format!(
            "fractional seconds .{us:06} would be rounded by the target's precision ({frac_digits})"
        ));
    }
    Ok(())
}

#[inline]
fn put_date(out: &mut Vec<u8>, y: u16, m: u8, d: u8) {
    put_padded(out, y as u32, 4);
    out.push(b'-');
    put_padded(out, m as u32, 2);
    out.push(b'-');
    put_padded(out, d as u32, 2);
}

#[inline]
fn put_clock(out: &mut Vec<u8>, h: u32, mi: u8, s: u8, us: u32) {
    put_padded(out, h, 2);
    out.push(b':');
    put_padded(out, mi as u32, 2);
    out.push(b':');
    put_padded(out, s as u32, 2);
    if us != 0 {
        out.push(b'.');
        put_padded(out, us, 6);
    }
}

#[inline]
fn put_i128(out: &mut Vec<u8>, n: i128) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn digits(mut n: u128) -> u32 {
    let mut d = 1;
    while n >= 10 {
        n /= 10;
        d += 1;
    }
    d
}

fn put_float(out: &mut Vec<u8>, d: f64, single: Option<f32>) {
    if d.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if d.is_infinite() {
        out.extend_from_slice(if d > 0.0 { b"Infinity" } else { b"-Infinity" });
    } else {
        let mut buf = ryu::Buffer::new();
        let s = match single {
            Some(f) => buf.format_finite(f),
            None => buf.format_finite(d),
        };
        out.extend_from_slice(s.as_bytes());
    }
}

/// Copies a MySQL decimal's text, refusing digits that a smaller target scale would round.
fn put_decimal(
    out: &mut Vec<u8>,
    b: &[u8],
    scale: Option<u32>,
    int_digits: Option<u32>,
) -> Result<(), ConvertError> {
    let s = std::str::from_utf8(b).map_err(|_| ConvertError("not a decimal number".into()))?;
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
    if int_part.is_empty()
        || !int_part.bytes().all(|c| c.is_ascii_digit())
        || !frac_part.bytes().all(|c| c.is_ascii_digit())
    {
        return err("not a decimal number");
    }
    if let Some(sc) = scale {
        if frac_part.len() as u32 > sc && frac_part[sc as usize..].bytes().any(|c| c != b'0') {
            return err(format!(
                "digits beyond the target scale ({sc}) would be rounded away"
            ));
        }
    }
    if let Some(d) = int_digits {
        let significant = int_part.trim_start_matches('0').len() as u32;
        if significant > d {
            return err(format!(
                "too many integer digits for the target numeric ({d})"
            ));
        }
    }
    out.extend_from_slice(b);
    Ok(())
}

fn check_text(b: &[u8], max_chars: Option<u32>) -> Result<(), ConvertError> {
    let s = match std::str::from_utf8(b) {
        Ok(s) => s,
        Err(e) => {
            return err(format!(
                "invalid UTF-8 at byte {} (PostgreSQL text cannot hold it)",
                e.valid_up_to()
            ))
        }
    };
    if b.contains(&0) {
        return err("contains a NUL byte (PostgreSQL text cannot hold it)");
    }
    if let Some(max) = max_chars {
        if b.len() > max as usize {
            let n = s.chars().count();
            if n > max as usize {
                return err(format!("{n} characters do not fit the target's {max}"));
            }
        }
    }
    Ok(())
}

fn check_json(b: &[u8], jsonb: bool) -> Result<(), ConvertError> {
    if std::str::from_utf8(b).is_err() {
        return err("invalid UTF-8 in JSON");
    }
    if let Err(e) = serde_json::from_slice::<serde::de::IgnoredAny>(b) {
        return err(format!("invalid JSON: {e}"));
    }
    if b.contains(&0) {
        return err("contains a NUL byte (PostgreSQL json cannot hold it)");
    }
    if jsonb && has_escaped_nul(b) {
        return err("JSON holds \\u0000, which jsonb cannot store");
    }
    Ok(())
}

/// True when the JSON text has a `\u0000` escape (not a literal backslash before `u0000`).
fn has_escaped_nul(b: &[u8]) -> bool {
    let pat = b"u0000";
    let mut i = 0;
    while i + 6 <= b.len() {
        if b[i] == b'\\' {
            if &b[i + 1..i + 6] == pat {
                return true;
            }
            i += 2; // skip the escaped character, whatever it is
        } else {
            i += 1;
        }
    }
    false
}

fn put_uuid_text(out: &mut Vec<u8>, b: &[u8]) -> Result<(), ConvertError> {
    let hex_ok = |c: u8| c.is_ascii_hexdigit();
    let canonical = b.len() == 36
        && b.iter().enumerate().all(|(i, &c)| match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => hex_ok(c),
        });
    let plain = b.len() == 32 && b.iter().all(|&c| hex_ok(c));
    if !canonical && !plain {
        return err("not a UUID");
    }
    for (n, &c) in b.iter().filter(|&&c| c != b'-').enumerate() {
        if matches!(n, 8 | 12 | 16 | 20) {
            out.push(b'-');
        }
        out.push(c.to_ascii_lowercase());
    }
    Ok(())
}

/// A short, printable rendering of a value for error messages.
pub fn excerpt(v: &Value) -> String {
    match v {
        Value::NULL => "NULL".into(),
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) => {
                let short: String = s.chars().take(60).collect();
                let more = if short.len() < s.len() { "…" } else { "" };
                format!("{:?}{more}", short)
            }
            Err(_) => {
                let mut out = Vec::new();
                put_bytea(&mut out, &b[..b.len().min(32)]);
                let more = if b.len() > 32 { "…" } else { "" };
                format!("bytes {}{more}", String::from_utf8_lossy(&out))
            }
        },
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => f.to_string(),
        Value::Double(d) => d.to_string(),
        Value::Date(y, m, d, h, mi, s, us) => {
            format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}")
        }
        Value::Time(neg, d, h, mi, s, us) => format!(
            "{}{}:{mi:02}:{s:02}.{us:06}",
            if *neg { "-" } else { "" },
            *d * 24 + *h as u32
        ),
    }
}

#[cfg(test)]
mod tests;
