//! Value conversion, chosen once per column from the pair (MySQL type, Postgres type).
//! A `Converter` is a pure function from one MySQL value (binary protocol) to the text of
//! one Postgres CSV field, or a `ConvertError` saying exactly why the value cannot move.
//! Nothing here changes data silently: a value the target cannot hold exactly is an error.

use std::borrow::Cow;
use std::fmt;

use mysql_async::Value;

use crate::catalog::{MyBase, MyType, PgKind, PgType};
pub mod geometry;
pub mod json;
pub mod real;
mod zone;
pub use zone::SourceZone;

use crate::encode::{put_bytea, put_hex_lower, put_padded, put_text};

/// The kind of value that cannot move, as `check` counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemClass {
    ZeroDate,
    PartialDate,
    NulByte,
    InvalidUtf8,
    UnmappableChar,
    OutOfRange,
    NotBoolean,
    InvalidUuid,
    InvalidInet,
    InvalidJson,
    DuplicateJsonKey,
    /// A spatial value that is not well-formed WKB, or not a Point for a point column.
    InvalidGeometry,
    TooLong,
    EnumLabelMissing,
    PrecisionLoss,
    /// A calendar date that does not exist (2024-02-30, kept by ALLOW_INVALID_DATES).
    InvalidDate,
    /// NULL in a source column whose target column is NOT NULL.
    NullIntoNotNull,
    /// A datetime in run.source_timezone that a daylight-saving change skipped.
    NonexistentLocalTime,
    /// Text that rule `text_to_timestamp` cannot read as a timestamp.
    NotATimestamp,
    /// Text going into an integer column that is not an integer in plain decimal form.
    NotAnInteger,
    /// A value MariaDB's string functions cannot handle (CAST, CONVERT return NULL above
    /// the server's max_allowed_packet), so it cannot be read as stored or checked.
    OverMaxAllowedPacket,
    OrphanFk,
    /// Source rows that share a value of a target primary or unique key the source does
    /// not enforce.
    DuplicateKey,
    Other,
}

impl ProblemClass {
    pub fn name(self) -> &'static str {
        match self {
            ProblemClass::ZeroDate => "zero_date",
            ProblemClass::PartialDate => "partial_date",
            ProblemClass::NulByte => "nul_byte",
            ProblemClass::InvalidUtf8 => "invalid_utf8",
            ProblemClass::UnmappableChar => "unmappable_char",
            ProblemClass::OutOfRange => "out_of_range",
            ProblemClass::NotBoolean => "not_boolean",
            ProblemClass::InvalidUuid => "invalid_uuid",
            ProblemClass::InvalidInet => "invalid_inet",
            ProblemClass::InvalidJson => "invalid_json",
            ProblemClass::DuplicateJsonKey => "duplicate_json_key",
            ProblemClass::InvalidGeometry => "invalid_geometry",
            ProblemClass::TooLong => "too_long",
            ProblemClass::EnumLabelMissing => "enum_label_missing",
            ProblemClass::PrecisionLoss => "precision_loss",
            ProblemClass::InvalidDate => "invalid_date",
            ProblemClass::NotATimestamp => "not_a_timestamp",
            ProblemClass::NotAnInteger => "not_an_integer",
            ProblemClass::NullIntoNotNull => "null_into_not_null",
            ProblemClass::NonexistentLocalTime => "nonexistent_local_time",
            ProblemClass::OverMaxAllowedPacket => "over_max_allowed_packet",
            ProblemClass::OrphanFk => "orphan_fk",
            ProblemClass::DuplicateKey => "duplicate_key",
            ProblemClass::Other => "other",
        }
    }

    /// What an operator can do about such values, for `check`'s findings.
    pub fn remedy(self) -> &'static str {
        match self {
            ProblemClass::ZeroDate | ProblemClass::PartialDate => {
                "fix them in the source, or turn them into NULL: [run] zero_dates = \"null\" \
                 (or convert = \"zero_date_to_null\" for the column; nullable targets only)"
            }
            ProblemClass::NulByte => {
                "fix them in the source, or drop the NUL bytes: convert = \"strip_nul\" (for \
                 text that should not hold them: UTF-16 text or binary data loses its meaning)"
            }
            ProblemClass::InvalidUtf8 => {
                "fix them in the source; bytes that are not text go into bytea, or into text \
                 with convert = \"hex\" or \"base64\" (the application then reads that text, \
                 not the bytes, unless it decodes it: an application that keeps an encoding \
                 column, such as RT's ContentEncoding, needs that column set to match)"
            }
            ProblemClass::UnmappableChar => {
                "fix them in the source: the column's charset has no character for a stored byte"
            }
            ProblemClass::NotAnInteger => {
                "fix them in the source (only an integer in plain decimal form, such as `-12`, \
                 loads into an integer column: not `012`, `+12`, ` 12` or ``, which the \
                 application may tell apart), or make the target column text"
            }
            ProblemClass::OutOfRange | ProblemClass::PrecisionLoss => {
                "widen the target column (e.g. bigint, numeric, text), or fix them in the source"
            }
            ProblemClass::TooLong => {
                "widen the target column (a longer varchar(n) or char(n), or text), or fix them \
                 in the source"
            }
            ProblemClass::NotBoolean => {
                "fix them in the source, or make the target column a number (smallint)"
            }
            ProblemClass::InvalidUuid => {
                "fix them in the source ('' can become NULL: convert = \"empty_to_null\"), or \
                 make the target column text"
            }
            ProblemClass::InvalidInet => {
                "fix them in the source ('' can become NULL: convert = \"empty_to_null\"), or \
                 make the target column text"
            }
            ProblemClass::InvalidJson => "fix them in the source, or make the target column text",
            ProblemClass::NotATimestamp => {
                "fix them in the source, or make the target column text (rule text_to_timestamp \
                 reads YYYYMMDDHHMMSS, ISO 8601 and infinity)"
            }
            ProblemClass::InvalidGeometry => {
                "fix them in the source, or make the target column bytea (EWKB holds any \
                 geometry)"
            }
            ProblemClass::DuplicateJsonKey => {
                "let jsonb keep the last key: [run] json_duplicate_keys = \"last\" (MySQL reads \
                 the first), make the target column json, or fix them in the source"
            }
            ProblemClass::EnumLabelMissing => {
                "add the label to the target enum type, or fix them in the source (an empty \
                 value is MariaDB's mark for an invalid value a non-strict insert stored)"
            }
            ProblemClass::InvalidDate => "fix them in the source",
            ProblemClass::NullIntoNotNull => {
                "fix them in the source, make the target column nullable, or write its default \
                 for them: convert = \"null_to_default\" (a constant default; a NULL the load \
                 sends is not replaced by the default otherwise)"
            }
            ProblemClass::NonexistentLocalTime => {
                "check run.source_timezone (the zone the source's datetimes were written in), or \
                 fix them in the source"
            }
            ProblemClass::OverMaxAllowedPacket => "raise max_allowed_packet on the source server",
            ProblemClass::OrphanFk => {
                "fix or delete those rows in the source (or add the missing parents)"
            }
            ProblemClass::Other => "fix them in the source",
            ProblemClass::DuplicateKey => {
                "remove or merge the duplicate rows in the source (or drop that key from the \
                 target)"
            }
        }
    }

    /// `remedy`, for values going through `converter`: a number inside a JSON document
    /// is not helped by a wider column type.
    pub fn remedy_for(
        self,
        converter: &Converter,
        nullable: bool,
        rule: Option<Rule>,
    ) -> &'static str {
        // The text was read; what remains is the timestamp's own fit.
        if let (Converter::TextTimestamp { inner }, false) =
            (converter, self == ProblemClass::NotATimestamp)
        {
            return self.remedy_for(inner, nullable, None);
        }
        match (self, converter) {
            // The rule made the column's bytes UTF-8 text (Dagster trial: the advice named
            // bytea, hex and base64, and not the rule that failed).
            (ProblemClass::InvalidUtf8, _) if rule == Some(Rule::BytesAsUtf8) => {
                "fix them in the source (rule bytes_as_utf8 reads the column's stored bytes as \
                 UTF-8, and these are not: convert such a value to UTF-8 there), or drop the \
                 rule if the column holds text of its own charset"
            }
            // The column's own rule (strip_nul) replaces the policy there.
            (ProblemClass::DuplicateJsonKey, _)
                if rule.is_some_and(|r| r != Rule::JsonDuplicateKeysLast) =>
            {
                "make the target column json, or fix them in the source (a column takes one \
                 rule: this column's own rule replaces json_duplicate_keys, so its \"last\" \
                 does not apply here)"
            }
            // A duration's datetime (rule epoch_datetime_to_interval): the column's one
            // rule is taken, and zero_dates does not apply to it (the attack: the advice
            // pointed at a setting already on).
            (
                ProblemClass::ZeroDate | ProblemClass::PartialDate,
                Converter::IntervalCount { .. },
            ) => {
                "fix them in the source (rule epoch_datetime_to_interval reads the datetime as \
                 a duration since 1970-01-01 00:00:00, which such a date is not)"
            }
            // Rules that make NULLs need a nullable target: do not offer them otherwise.
            (ProblemClass::ZeroDate | ProblemClass::PartialDate, _) if !nullable => {
                "fix them in the source (the target column is NOT NULL, so they cannot become \
                 NULL)"
            }
            (ProblemClass::InvalidUuid | ProblemClass::InvalidInet, _) if !nullable => {
                "fix them in the source, or make the target column text"
            }
            // Already bytea: only the value can change.
            (ProblemClass::InvalidGeometry, Converter::GeometryEwkb) => {
                "fix them in the source (SET c = ST_GeomFromWKB(ST_AsWKB(c), ST_SRID(c)) \
                 rewrites a value as MariaDB reads it)"
            }
            (ProblemClass::OutOfRange, Converter::IntervalCount { .. }) => {
                "fix them in the source, or check the rule's unit (the rule writes up to \
                 106751991 days either way)"
            }
            (ProblemClass::PrecisionLoss, Converter::IntervalCount { .. }) => {
                "make the target column a plain interval (no field list, no precision), or fix \
                 them in the source"
            }
            // An escape, not a byte: json and text keep it.
            (ProblemClass::NulByte, Converter::Json { .. }) => {
                "make the target column json or text (they keep \\u0000), drop the escapes: \
                 convert = \"strip_nul\", or fix them in the source"
            }
            (ProblemClass::OutOfRange | ProblemClass::PrecisionLoss, Converter::Json { .. }) => {
                "make the target column json or text (jsonb holds only numbers PostgreSQL's \
                 numeric can), or fix them in the source"
            }
            (ProblemClass::OutOfRange, Converter::Time { .. }) => {
                "make the target column interval (it holds any MySQL time), or fix them in the \
                 source"
            }
            (
                ProblemClass::PrecisionLoss,
                Converter::Time { .. }
                | Converter::Timestamp { .. }
                | Converter::TimestampTz { .. },
            ) => {
                "give the target column more fractional digits (time(6), timestamp(6)), or fix \
                 them in the source"
            }
            (ProblemClass::PrecisionLoss, Converter::Interval { .. }) => {
                "make the target column a plain interval (no field list, no precision), or fix \
                 them in the source"
            }
            (ProblemClass::PrecisionLoss, Converter::Date) => {
                "make the target column timestamp (a date has no time of day), or fix them in \
                 the source"
            }
            (
                ProblemClass::OutOfRange,
                Converter::Int { .. }
                | Converter::DecimalToInt { .. }
                | Converter::TextToInt { .. },
            ) => {
                "widen the target column (a wider integer type, or numeric), or fix them in the \
                 source"
            }
            (
                ProblemClass::PrecisionLoss,
                Converter::DecimalToInt { .. }
                | Converter::IntToFloat { .. }
                | Converter::DecimalToFloat { .. },
            ) => "make the target column numeric (exact), or fix them in the source",
            (ProblemClass::PrecisionLoss, Converter::DoubleToReal) => {
                "make the target column double precision (as the source's), or fix them in the \
                 source"
            }
            (
                ProblemClass::OutOfRange | ProblemClass::PrecisionLoss,
                Converter::Decimal { .. }
                | Converter::IntToNumeric { .. }
                | Converter::FloatToNumeric { .. },
            ) => {
                "widen the target's numeric(p,s) (or make it plain numeric), or fix them in the \
                 source"
            }
            _ => self.remedy(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConvertError {
    pub class: ProblemClass,
    pub message: Cow<'static, str>,
}

impl fmt::Display for ConvertError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

fn err<T>(class: ProblemClass, msg: impl Into<Cow<'static, str>>) -> Result<T, ConvertError> {
    Err(ConvertError {
        class,
        message: msg.into(),
    })
}

#[derive(Debug, Clone, PartialEq)]
pub enum Converter {
    /// Integer into smallint/integer/bigint, range-checked.
    Int {
        min: i128,
        max: i128,
        target: &'static str,
    },
    /// Integer into real/double precision: only integers the float holds exactly
    /// (|n| <= 2^24 in real, 2^53 in double precision, and larger ones that happen to be
    /// representable); any other would be rounded by Postgres, so it is an error.
    IntToFloat { single: bool },
    /// Integer into numeric(p,s) (None = unconstrained numeric).
    IntToNumeric { bounds: Option<NumericBounds> },
    /// Any integer or bit(1) into boolean: 0 or 1 only (MySQL 8 shows TypeORM's and
    /// most apps' flag columns as plain `tinyint`, MariaDB as `tinyint(4)`).
    Bool,
    /// decimal into numeric: exact digits; digits the target scale would round away are an error.
    Decimal { bounds: Option<NumericBounds> },
    /// decimal into smallint/integer/bigint: whole numbers only (`12.00` is 12; `12.50`
    /// would be rounded by Postgres, so it is an error), range-checked.
    DecimalToInt {
        min: i128,
        max: i128,
        target: &'static str,
    },
    /// float into real or double precision: the shortest text that reads back as the same f32.
    Float32,
    /// double into double precision: the shortest text that reads back as the same f64.
    Float64,
    /// float/double into numeric(p,s): the shortest decimal that reads back as the same
    /// binary value (what MySQL prints), digits the target would round are an error.
    /// A FLOAT(M,D) / DOUBLE(M,D) column (`scale` D) holds D-decimal values: the value
    /// rounded to D decimals, as MySQL shows it.
    FloatToNumeric {
        bounds: Option<NumericBounds>,
        scale: Option<u8>,
    },
    /// decimal into real/double precision: only values the binary type holds exactly as
    /// written (`0.10` yes, `1234567890.1234567891` no: it would read back shorter).
    DecimalToFloat { single: bool },
    /// Character data into text/varchar(n)/char(n)/citext: valid UTF-8, no NUL, length-checked.
    Text { max_chars: Option<u32> },
    /// Integer, year or decimal into a text-like column: the decimal digits MySQL prints
    /// (a decimal keeps its scale: `1.50`), length-checked. Non-key zerofill and year
    /// columns are read as `CAST(c AS CHAR)` (the plan's `ReadAs::ServerText`), the text
    /// MySQL shows: zerofill padding `000042`, years as four digits `0000`.
    NumberText { max_chars: Option<u32> },
    /// date, datetime, timestamp or time into a text-like column: the text MySQL shows
    /// (`2024-01-02 03:04:05.120` for datetime(3), `-838:59:59`, `0000-00-00` as it
    /// is), read as `CAST(c AS CHAR)`; length-checked.
    TemporalText { max_chars: Option<u32> },
    /// char(36)-style UUID text (any case) into uuid.
    Uuid,
    /// MariaDB inet4/inet6 address text, or an address kept in a text column, into inet
    /// (checked to be one host address).
    Inet,
    /// binary(16) into uuid, bytes in MySQL's `UUID_TO_BIN(x)` order.
    UuidBinary,
    /// JSON text into json or jsonb, validated; jsonb cannot hold `\u0000`. jsonb also
    /// refuses duplicate object keys (MySQL reads the first, jsonb keeps the last) unless
    /// `last_key_wins` (rule `json_duplicate_keys_last`).
    Json { jsonb: bool, last_key_wins: bool },
    /// Any bytes into bytea.
    Bytea,
    /// date into date.
    Date,
    /// date/datetime/timestamp into timestamp(p).
    Timestamp { frac_digits: u32 },
    /// date/datetime/timestamp into timestamptz(p). MySQL `timestamp` is read in UTC;
    /// `datetime` carries no zone and is read in `zone` (source_timezone; None = UTC).
    TimestampTz {
        frac_digits: u32,
        zone: Option<std::sync::Arc<SourceZone>>,
    },
    /// Rule `text_to_timestamp`: a timestamp held as text (`parse_timestamp_text`), then
    /// `inner`, the converter a datetime(6) would take into the target (date,
    /// timestamp or timestamptz read as UTC).
    TextTimestamp { inner: Box<Converter> },
    /// bit(n) bytes (big-endian) into bit(m)/varbit(m) as a string of n bits.
    BitString { bits: u32 },
    /// set / TypeORM simple-array text ("a,b") into text[]; '' is the empty array.
    /// Comma list into text[]/varchar(n)[]: `max_chars` bounds each element.
    TextArray { max_chars: Option<u32> },
    /// Bytes kept in a text target as base64 (rule `base64`).
    Base64Text,
    /// Bytes kept in a text target as lower-case hex (rule `hex`).
    HexText,
    /// time into time(p): 00:00:00 to 23:59:59.999999 only.
    Time { frac_digits: u32 },
    /// time into interval (MySQL time spans -838:59:59 to 838:59:59). `keep_us`: the
    /// unit the column's fields keep (1 = every microsecond, 0 = no time at all);
    /// values the field list or precision would truncate are refused.
    Interval { keep_us: u64, frac_digits: u32 },
    /// An integer count of `unit_us` microseconds (rules `microseconds_to_interval`,
    /// `seconds_to_interval`: Django keeps a DurationField so in MySQL) into interval.
    IntervalCount {
        unit_us: u64,
        keep_us: u64,
        frac_digits: u32,
    },
    /// Text holding integers (Roundup keeps its link ids so in MySQL) into an integer
    /// column: only plain decimal form (`-12`; not `012`, `+12`, ` 12`), range-checked,
    /// so the integer's text is the source's text.
    TextToInt {
        min: i128,
        max: i128,
        target: &'static str,
    },
    /// double into real: only values real holds exactly (Roundup's `_order`).
    DoubleToReal,
    /// enum label (or text) into a Postgres enum: the label must exist there.
    PgEnum { labels: Vec<String> },
    /// A MySQL spatial value into bytea, as EWKB (see `geometry`).
    GeometryEwkb,
    /// A MySQL Point into Postgres's `point`.
    GeometryPoint,
}

impl Converter {
    /// The converter's stable name, as `plan --json` reports it.
    pub fn name(&self) -> &'static str {
        match self {
            Converter::Int { .. } => "int",
            Converter::IntToNumeric { .. } => "int_to_numeric",
            Converter::IntToFloat { .. } => "int_to_float",
            Converter::Bool => "bool",
            Converter::Decimal { .. } => "decimal",
            Converter::DecimalToInt { .. } => "decimal_to_int",
            Converter::TextToInt { .. } => "text_to_int",
            Converter::DoubleToReal => "double_to_real",
            Converter::Float32 => "float32",
            Converter::Float64 => "float64",
            Converter::FloatToNumeric { .. } => "float_to_numeric",
            Converter::DecimalToFloat { .. } => "decimal_to_float",
            Converter::Text { .. } => "text",
            Converter::NumberText { .. } => "number_text",
            Converter::TemporalText { .. } => "temporal_text",
            Converter::Uuid => "uuid",
            Converter::Inet => "inet",
            Converter::UuidBinary => "uuid_binary",
            Converter::Json { jsonb: false, .. } => "json",
            Converter::Json { jsonb: true, .. } => "jsonb",
            Converter::Bytea => "bytea",
            Converter::Date => "date",
            Converter::Timestamp { .. } => "timestamp",
            Converter::TimestampTz { .. } => "timestamptz",
            Converter::TextTimestamp { .. } => "text_timestamp",
            Converter::BitString { .. } => "bit_string",
            Converter::TextArray { .. } => "text_array",
            Converter::Base64Text => "base64",
            Converter::HexText => "hex",
            Converter::Time { .. } => "time",
            Converter::Interval { .. } => "interval",
            Converter::IntervalCount { .. } => "interval_count",
            Converter::PgEnum { .. } => "pg_enum",
            Converter::GeometryEwkb => "geometry_ewkb",
            Converter::GeometryPoint => "geometry_point",
        }
    }

    /// What the converter checks, for people reading `plan`.
    pub fn describe(&self) -> String {
        match self {
            Converter::Int { target, .. } => format!("int->{target} (range-checked)"),
            Converter::IntToNumeric { .. } => "int->numeric".into(),
            Converter::IntToFloat { single: true } => "int->real (exact values only)".into(),
            Converter::IntToFloat { single: false } => {
                "int->double precision (exact values only)".into()
            }
            Converter::Bool => "bool (0/1 only)".into(),
            Converter::Decimal { .. } => "decimal->numeric (exact)".into(),
            Converter::DecimalToInt { target, .. } => {
                format!("decimal->{target} (whole numbers only, range-checked)")
            }
            Converter::Float32 => "float (shortest f32)".into(),
            Converter::Float64 => "double (shortest f64)".into(),
            Converter::TextToInt { target, .. } => {
                format!("integer text->{target} (plain decimal form, range-checked)")
            }
            Converter::DoubleToReal => "double->real (exact values only)".into(),
            Converter::FloatToNumeric { scale: None, .. } => {
                "float->numeric (shortest decimal, exact)".into()
            }
            Converter::FloatToNumeric { scale: Some(d), .. } => {
                format!("float->numeric (rounded to the source's {d} decimals, as MySQL shows it)")
            }
            Converter::DecimalToFloat { single: true } => {
                "decimal->real (exact values only)".into()
            }
            Converter::DecimalToFloat { single: false } => {
                "decimal->double precision (exact values only)".into()
            }
            Converter::Text { max_chars: None } => "text (utf-8, no NUL)".into(),
            Converter::Text { max_chars: Some(n) } => format!("text (utf-8, no NUL, <= {n} chars)"),
            Converter::NumberText { max_chars: None } => "number as text".into(),
            Converter::NumberText { max_chars: Some(n) } => {
                format!("number as text (<= {n} chars)")
            }
            Converter::TemporalText { max_chars: None } => "date/time as MySQL shows it".into(),
            Converter::TemporalText { max_chars: Some(n) } => {
                format!("date/time as MySQL shows it (<= {n} chars)")
            }
            Converter::Uuid => "uuid (text)".into(),
            Converter::Inet => "inet (one address)".into(),
            Converter::UuidBinary => "uuid (binary(16))".into(),
            Converter::Json { jsonb: false, .. } => "json (validated)".into(),
            Converter::Json {
                jsonb: true,
                last_key_wins: false,
            } => "jsonb (validated, no duplicate keys)".into(),
            Converter::Json {
                jsonb: true,
                last_key_wins: true,
            } => "jsonb (validated, last duplicate key wins)".into(),
            Converter::Bytea => "bytea".into(),
            Converter::Date => "date".into(),
            Converter::Timestamp { .. } => "timestamp".into(),
            Converter::TimestampTz { zone: None, .. } => "timestamptz (read as UTC)".into(),
            Converter::TimestampTz { zone: Some(z), .. } => {
                format!("timestamptz (read in {})", z.name)
            }
            Converter::TextTimestamp { inner } => format!(
                "text -> {} (rule text_to_timestamp: YYYYMMDDHHMMSS or ISO 8601, UTC unless \
                 it has an offset; infinity)",
                inner.describe()
            ),
            Converter::BitString { bits } => format!("bit({bits}) as a bit string"),
            Converter::TextArray { .. } => "comma list -> text[]".into(),
            Converter::Base64Text => "bytes -> base64 text (rule base64)".into(),
            Converter::HexText => "bytes -> hex text (rule hex)".into(),
            Converter::Time { .. } => "time".into(),
            Converter::Interval { .. } => "time->interval".into(),
            Converter::IntervalCount { unit_us: 1, .. } => {
                "microseconds->interval (range-checked)".into()
            }
            Converter::IntervalCount { .. } => "seconds->interval (range-checked)".into(),
            Converter::PgEnum { .. } => "enum label".into(),
            Converter::GeometryEwkb => "geometry -> EWKB (SRID kept)".into(),
            Converter::GeometryPoint => "point coordinates (points only)".into(),
        }
    }

    /// Appends the CSV field for a non-NULL value.
    pub fn convert(&self, v: &Value, out: &mut Vec<u8>) -> Result<(), ConvertError> {
        match self {
            Converter::Int { min, max, target } => {
                let n = int_value(v)?;
                if n < *min || n > *max {
                    return err(
                        ProblemClass::OutOfRange,
                        format!("{n} is out of range for {target}"),
                    );
                }
                put_i128(out, n);
            }
            Converter::IntToFloat { single } => {
                let n = int_value(v)?;
                let exact = if *single {
                    (n as f32) as i128 == n
                } else {
                    (n as f64) as i128 == n
                };
                if !exact {
                    let target = if *single { "real" } else { "double precision" };
                    return err(
                        ProblemClass::PrecisionLoss,
                        format!("{target} cannot hold {n} exactly"),
                    );
                }
                // The integer's digits: Postgres reads them as exactly this float.
                put_i128(out, n);
            }
            Converter::IntToNumeric { bounds } => {
                let n = int_value(v)?;
                let start = out.len();
                put_i128(out, n);
                if let Some(b) = bounds {
                    b.check(&out[start..])?;
                }
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
                    _ => {
                        return err(
                            ProblemClass::NotBoolean,
                            format!("{n} is not a boolean (only 0 and 1 are)"),
                        )
                    }
                }
            }
            Converter::Decimal { bounds } => {
                let b = bytes(v)?;
                put_decimal(out, b, *bounds)?;
            }
            Converter::DecimalToInt { min, max, target } => {
                let b = bytes(v)?;
                if !is_decimal_text(b) {
                    return unexpected(v);
                }
                let (whole, frac) = match memchr::memchr(b'.', b) {
                    Some(p) => (&b[..p], &b[p + 1..]),
                    None => (b, &b[b.len()..]),
                };
                if frac.iter().any(|&d| d != b'0') {
                    return err(
                        ProblemClass::PrecisionLoss,
                        format!("{target} has no fraction: Postgres would round it"),
                    );
                }
                // Up to 65 digits: beyond i128 is out of range for any integer type too.
                let n = std::str::from_utf8(whole)
                    .ok()
                    .and_then(|s| s.parse::<i128>().ok())
                    .filter(|n| (*min..=*max).contains(n));
                match n {
                    Some(n) => put_i128(out, n),
                    None => {
                        return err(
                            ProblemClass::OutOfRange,
                            format!("out of range for {target}"),
                        )
                    }
                }
            }
            Converter::FloatToNumeric { bounds, scale } => {
                let d = match v {
                    Value::Float(f) => FloatText::Single(*f),
                    Value::Double(d) => FloatText::Double(*d),
                    _ => return unexpected(v),
                };
                if !d.is_finite() {
                    return err(ProblemClass::OutOfRange, "not a finite number");
                }
                let start = out.len();
                match scale.and_then(|s| float_at_scale(v, s.into())) {
                    Some(text) => out.extend_from_slice(text.as_bytes()),
                    None => {
                        // Display is the shortest round-trip digits, never in exponent form.
                        use std::io::Write as _;
                        let _ = write!(out, "{d}");
                    }
                }
                if let Some(b) = bounds {
                    if let Err(e) = b.check(&out[start..]) {
                        out.truncate(start);
                        return Err(e);
                    }
                }
            }
            Converter::DecimalToFloat { single } => {
                let b = bytes(v)?;
                let text = std::str::from_utf8(b)
                    .ok()
                    .filter(|t| is_decimal_text(t.as_bytes()))
                    .ok_or_else(|| ConvertError {
                        class: ProblemClass::Other,
                        message: "not a decimal number".into(),
                    })?;
                // Rust's parse rounds correctly, as Postgres's float input does.
                let read_back = if *single {
                    text.parse::<f32>().map(FloatText::Single)
                } else {
                    text.parse::<f64>().map(FloatText::Double)
                }
                .map_err(|_| ConvertError {
                    class: ProblemClass::Other,
                    message: "not a decimal number".into(),
                })?;
                let target = if *single { "real" } else { "double precision" };
                if !read_back.is_finite() {
                    return err(
                        ProblemClass::OutOfRange,
                        format!("out of range for {target}"),
                    );
                }
                // Held as written: it reads back as the same number (0.10 -> 0.1), or the
                // float is exactly this number (2^60 = 1152921504606846976, which reads
                // back as 1152921504606847000).
                let shortest = read_back.to_string();
                if !same_decimal(b, shortest.as_bytes())
                    && !same_decimal(b, read_back.exact_text().as_bytes())
                {
                    return err(
                        ProblemClass::PrecisionLoss,
                        format!(
                            "{target} cannot hold it exactly: it would read back as {shortest}"
                        ),
                    );
                }
                out.extend_from_slice(shortest.as_bytes());
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
            Converter::DoubleToReal => {
                let d = match v {
                    Value::Double(d) => *d,
                    Value::Float(f) => f64::from(*f),
                    _ => return unexpected(v),
                };
                let f = d as f32;
                // Beyond real's range is out of range, as Postgres says (the attack).
                if d.is_finite() && d.abs() > f64::from(f32::MAX) {
                    return err(
                        ProblemClass::OutOfRange,
                        format!("{d:e} is out of range for real"),
                    );
                }
                if !d.is_finite() || f64::from(f) != d {
                    return err(
                        ProblemClass::PrecisionLoss,
                        format!("real cannot hold {d:e} exactly"),
                    );
                }
                put_float(out, d, Some(f));
            }
            Converter::TextToInt { min, max, target } => {
                let b = bytes(v)?;
                let digits = b.strip_prefix(b"-").unwrap_or(b);
                let plain = !digits.is_empty()
                    && digits.iter().all(u8::is_ascii_digit)
                    && (digits[0] != b'0' || b == b"0");
                if !plain {
                    return err(
                        ProblemClass::NotAnInteger,
                        format!("not an integer in plain decimal form for {target}"),
                    );
                }
                // Plain digits beyond i128 are beyond every target too (the attack: 40
                // digits were called "not an integer").
                let n = std::str::from_utf8(b)
                    .ok()
                    .and_then(|t| t.parse::<i128>().ok())
                    .ok_or_else(|| ConvertError {
                        class: ProblemClass::OutOfRange,
                        message: format!("{} digits are out of range for {target}", digits.len())
                            .into(),
                    })?;
                if n < *min || n > *max {
                    return err(
                        ProblemClass::OutOfRange,
                        format!("{n} is out of range for {target}"),
                    );
                }
                out.extend_from_slice(b);
            }
            Converter::Text { max_chars } | Converter::TemporalText { max_chars } => {
                let b = bytes(v)?;
                check_text(b, *max_chars)?;
                put_text(out, b);
            }
            Converter::NumberText { max_chars } => {
                let start = out.len();
                match v {
                    // decimal arrives as its digits; check them rather than trust them.
                    Value::Bytes(b) => {
                        if !is_decimal_text(b) {
                            return unexpected(v);
                        }
                        out.extend_from_slice(b);
                    }
                    _ => put_i128(out, int_value(v)?),
                }
                // Digits, sign and point are one byte each, and need no CSV quoting.
                if let Some(n) = max_chars {
                    let len = out.len() - start;
                    if len > *n as usize {
                        out.truncate(start);
                        return err(
                            ProblemClass::TooLong,
                            format!("{len} characters do not fit the target's {n}"),
                        );
                    }
                }
            }
            Converter::Uuid => {
                let b = bytes(v)?;
                put_uuid_text(out, b)?;
            }
            Converter::Inet => {
                let b = bytes(v)?;
                // One host address, as MariaDB prints them; a network or garbage would
                // be parsed by COPY with an error that names no row.
                let ok = std::str::from_utf8(b)
                    .ok()
                    .and_then(|s| s.parse::<std::net::IpAddr>().ok())
                    .is_some();
                if !ok {
                    return err(ProblemClass::InvalidInet, "not an IPv4 or IPv6 address");
                }
                out.extend_from_slice(b);
            }
            Converter::UuidBinary => {
                let b = bytes(v)?;
                if b.len() != 16 {
                    return err(
                        ProblemClass::InvalidUuid,
                        format!("{} bytes is not a 16-byte binary UUID", b.len()),
                    );
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
            Converter::Json {
                jsonb,
                last_key_wins,
            } => {
                put_json(out, bytes(v)?, *jsonb && !*last_key_wins, *jsonb)?;
            }
            Converter::Bytea => {
                let b = bytes(v)?;
                put_bytea(out, b);
            }
            Converter::GeometryEwkb => geometry::put_ewkb(out, bytes(v)?)?,
            Converter::GeometryPoint => {
                let (x, y) = geometry::point(bytes(v)?)?;
                // Quoted: the comma would otherwise end the CSV field.
                out.extend_from_slice(b"\"(");
                put_float(out, x, None);
                out.push(b',');
                put_float(out, y, None);
                out.extend_from_slice(b")\"");
            }
            Converter::Date => {
                let (y, m, d, h, mi, s, us) = date_value(v)?;
                if h != 0 || mi != 0 || s != 0 || us != 0 {
                    return err(
                        ProblemClass::PrecisionLoss,
                        "a time of day does not fit a date column",
                    );
                }
                put_date(out, y, m, d);
            }
            Converter::Timestamp { frac_digits } | Converter::TimestampTz { frac_digits, .. } => {
                let (y, m, d, h, mi, s, us) = date_value(v)?;
                check_frac(us, *frac_digits)?;
                put_date(out, y, m, d);
                out.push(b' ');
                put_clock(out, h as u32, mi, s, us);
                match self {
                    Converter::TimestampTz { zone: None, .. } => out.extend_from_slice(b"+00"),
                    // Postgres resolves the zone name (DST included) with its own tz database.
                    Converter::TimestampTz { zone: Some(z), .. } => {
                        if z.gap_at(zone::local_micros(y, m, d, h, mi, s, us))
                            .is_some()
                        {
                            return err(
                                ProblemClass::NonexistentLocalTime,
                                format!(
                                    "this local time does not exist in {}: a daylight-saving \
                                     change skipped it, and Postgres would store it as another \
                                     time's instant",
                                    z.name
                                ),
                            );
                        }
                        out.push(b' ');
                        out.extend_from_slice(z.name.as_bytes());
                    }
                    _ => {}
                }
            }
            Converter::TextTimestamp { inner } => {
                let text = match parse_timestamp_text(bytes(v)?) {
                    Ok(t) => t,
                    Err(why) => return err(ProblemClass::NotATimestamp, why),
                };
                match text {
                    TimestampText::Infinity { negative } => {
                        out.extend_from_slice(if negative { b"-infinity" } else { b"infinity" })
                    }
                    TimestampText::At {
                        parts,
                        offset: None,
                    } => {
                        let (y, m, d, h, mi, s, us) = parts;
                        inner.convert(&Value::Date(y, m, d, h, mi, s, us), out)?;
                    }
                    TimestampText::At {
                        parts,
                        offset: Some(secs),
                    } => {
                        let Converter::TimestampTz { frac_digits, .. } = **inner else {
                            return err(
                                ProblemClass::NotATimestamp,
                                "it has a UTC offset, which this column cannot keep (a \
                                 timestamptz column can)",
                            );
                        };
                        let (y, m, d, h, mi, s, us) = parts;
                        Converter::Timestamp { frac_digits }
                            .convert(&Value::Date(y, m, d, h, mi, s, us), out)?;
                        put_offset(out, secs);
                    }
                }
            }
            Converter::BitString { bits } => {
                let b = bytes(v)?;
                let total = b.len() as u32 * 8;
                if total < *bits {
                    return err(ProblemClass::Other, "bit value shorter than the column");
                }
                // The top (total - bits) bits must be zero: they are padding.
                for i in 0..total {
                    let bit = (b[(i / 8) as usize] >> (7 - i % 8)) & 1;
                    if i < total - bits {
                        if bit != 0 {
                            return err(
                                ProblemClass::OutOfRange,
                                "bit value wider than the column",
                            );
                        }
                    } else {
                        out.push(b'0' + bit);
                    }
                }
            }
            Converter::TextArray { max_chars } => {
                let b = bytes(v)?;
                check_text(b, None)?;
                if let Some(max) = max_chars {
                    for part in b.split(|&c| c == b',') {
                        // Valid UTF-8 already; a comma never splits a character.
                        check_text(part, Some(*max))?;
                    }
                }
                put_text_array(out, b);
            }
            Converter::Base64Text => {
                let b = bytes(v)?;
                out.push(b'"');
                put_base64(out, b);
                out.push(b'"');
            }
            Converter::HexText => {
                let b = bytes(v)?;
                out.push(b'"');
                put_hex_lower(out, b);
                out.push(b'"');
            }
            Converter::Time { frac_digits } => {
                let (neg, days, h, mi, s, us) = time_value(v)?;
                let hours = days * 24 + h as u32;
                // Postgres's time holds 24:00:00 itself, nothing past it.
                if neg || hours > 24 || (hours == 24 && (mi, s, us) != (0, 0, 0)) {
                    return err(
                        ProblemClass::OutOfRange,
                        "a time outside 00:00:00..24:00:00 needs an interval column",
                    );
                }
                check_frac(us, *frac_digits)?;
                put_clock(out, hours, mi, s, us);
            }
            Converter::Interval {
                keep_us,
                frac_digits,
            } => {
                let (neg, days, h, mi, s, us) = time_value(v)?;
                let total = ((u64::from(days) * 24 + u64::from(h)) * 3600
                    + u64::from(mi) * 60
                    + u64::from(s))
                    * 1_000_000
                    + u64::from(us);
                if *keep_us != 1 && total != 0 && (*keep_us == 0 || total % keep_us != 0) {
                    let keeps = match keep_us {
                        0 => "no hours, minutes or seconds",
                        3_600_000_000 => "whole hours only",
                        _ => "whole minutes only",
                    };
                    return err(
                        ProblemClass::PrecisionLoss,
                        format!(
                            "the target interval column keeps {keeps}: this value would be truncated"
                        ),
                    );
                }
                check_frac(us, *frac_digits)?;
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
            Converter::IntervalCount {
                unit_us,
                keep_us,
                frac_digits,
            } => {
                // A datetime (rule epoch_datetime_to_interval) is its distance from
                // 1970-01-01 00:00:00; a zero or partial one is refused as a date.
                let n = match v {
                    Value::Date(..) => {
                        let (y, m, d, h, mi, s, us) = date_value(v)?;
                        i128::from(epoch_micros(y, m, d, h, mi, s, us))
                    }
                    _ => int_value(v)?,
                };
                // Postgres keeps an interval's time in 64-bit microseconds (and reads no
                // text for i64::MIN).
                let total = n
                    .checked_mul(i128::from(*unit_us))
                    .filter(|t| t.unsigned_abs() <= i64::MAX as u128)
                    .ok_or_else(|| ConvertError {
                        class: ProblemClass::OutOfRange,
                        message: format!("{n} is beyond the range of interval").into(),
                    })?;
                let (neg, total) = (total < 0, total.unsigned_abs() as u64);
                if *keep_us != 1 && total != 0 && (*keep_us == 0 || total % keep_us != 0) {
                    return err(
                        ProblemClass::PrecisionLoss,
                        "the target interval column keeps less than this value: it would be truncated",
                    );
                }
                check_frac((total % 1_000_000) as u32, *frac_digits)?;
                put_duration(neg, total, out);
            }
            Converter::PgEnum { labels } => {
                let b = bytes(v)?;
                if !labels.iter().any(|l| l.as_bytes() == b) {
                    return err(
                        ProblemClass::EnumLabelMissing,
                        "this label does not exist in the target enum type",
                    );
                }
                put_text(out, b);
            }
        }
        Ok(())
    }
}

/// A duration of `total` microseconds as interval text: whole days in the day field,
/// sharing the time's sign (as justify_hours splits them), where the application's own
/// driver puts a duration's days, so extract(day ...), day-wise arithmetic and an
/// `interval day` column read them. `verify` compares this very text.
pub fn put_duration(neg: bool, total: u64, out: &mut Vec<u8>) {
    let (secs, us) = (total / 1_000_000, (total % 1_000_000) as u32);
    let days = secs / 86_400;
    if days != 0 {
        if neg {
            out.push(b'-');
        }
        out.extend_from_slice(itoa::Buffer::new().format(days).as_bytes());
        out.extend_from_slice(b" days ");
    }
    if neg {
        out.push(b'-');
    }
    put_padded(out, (secs / 3600 % 24) as u32, 2);
    out.push(b':');
    put_padded(out, (secs / 60 % 60) as u32, 2);
    out.push(b':');
    put_padded(out, (secs % 60) as u32, 2);
    if us != 0 {
        out.push(b'.');
        put_padded(out, us, 6);
    }
}

/// Chooses the converter for a (MySQL type, Postgres type) pair; `None` = no safe conversion.
pub fn choose(
    src: &MyType,
    dst: &PgType,
    source_zone: Option<&std::sync::Arc<SourceZone>>,
) -> Option<Converter> {
    use MyBase::*;
    let t = dst.name.as_str();
    let zone = source_zone.cloned();
    if let PgKind::Enum(labels) = &dst.kind {
        return (matches!(src.base, Enum) || src.is_text()).then(|| Converter::PgEnum {
            labels: labels.clone(),
        });
    }
    if let PgKind::Array(elem) = &dst.kind {
        let text_elem = matches!(elem.as_str(), "text" | "varchar");
        // An array column's typmod is its element's: varchar(n)[] holds n - 4 + 4.
        let max_chars = (elem == "varchar" && dst.typmod >= 4).then(|| (dst.typmod - 4) as u32);
        return (text_elem && (src.base == Set || src.is_text()))
            .then_some(Converter::TextArray { max_chars });
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
        // Every value is checked to be 0 or 1, so the declared width does not matter.
        TinyInt | SmallInt | MediumInt | Int | BigInt if t == "bool" => Some(Converter::Bool),
        Bit if src.len == Some(1) && t == "bool" => Some(Converter::Bool),
        TinyInt | SmallInt | MediumInt | Int | BigInt | Year => match t {
            "numeric" => Some(Converter::IntToNumeric {
                bounds: NumericBounds::of(dst),
            }),
            "float4" | "float8" => Some(Converter::IntToFloat {
                single: t == "float4",
            }),
            _ if text_target => Some(Converter::NumberText {
                max_chars: dst.char_len(),
            }),
            _ => int_target(t),
        },
        Decimal => match t {
            "numeric" => Some(Converter::Decimal {
                bounds: NumericBounds::of(dst),
            }),
            "float4" => Some(Converter::DecimalToFloat { single: true }),
            "float8" => Some(Converter::DecimalToFloat { single: false }),
            _ if text_target => Some(Converter::NumberText {
                max_chars: dst.char_len(),
            }),
            _ => match int_target(t)? {
                Converter::Int { min, max, target } => {
                    Some(Converter::DecimalToInt { min, max, target })
                }
                _ => None,
            },
        },
        Float | Double if t == "numeric" => Some(Converter::FloatToNumeric {
            bounds: NumericBounds::of(dst),
            scale: src.float_scale(),
        }),
        Float => matches!(t, "float4" | "float8").then_some(Converter::Float32),
        Double => match t {
            "float8" => Some(Converter::Float64),
            "float4" => Some(Converter::DoubleToReal),
            _ => None,
        },
        // bit(n) read as `CAST(c AS UNSIGNED)` (the plan does): its value as a number.
        Bit => match t {
            "bytea" => Some(Converter::Bytea),
            "numeric" => Some(Converter::IntToNumeric {
                bounds: NumericBounds::of(dst),
            }),
            "float4" | "float8" => Some(Converter::IntToFloat {
                single: t == "float4",
            }),
            "int2" | "int4" | "int8" => int_target(t),
            "bit" if dst.char_len() == src.len => src.len.map(|bits| Converter::BitString { bits }),
            "varbit" if dst.char_len().is_none() || dst.char_len() >= src.len => {
                src.len.map(|bits| Converter::BitString { bits })
            }
            _ => None,
        },
        Binary | VarBinary | Blob => match t {
            "bytea" => Some(Converter::Bytea),
            "uuid" if src.base == Binary && src.len == Some(16) => Some(Converter::UuidBinary),
            _ => bytes_as_text(t, text_target, dst),
        },
        Char | VarChar | Text if src.binary => match t {
            "bytea" => Some(Converter::Bytea),
            _ => bytes_as_text(t, text_target, dst),
        },
        Char | VarChar | Text | Json | Enum | Set => match t {
            _ if text_target => Some(Converter::Text {
                max_chars: dst.char_len(),
            }),
            "uuid" if !matches!(src.base, Json | Enum | Set) => Some(Converter::Uuid),
            // An address kept as text (`varchar(45)`): one host address per value.
            "inet" if !matches!(src.base, Json | Enum | Set) => Some(Converter::Inet),
            "json" => Some(Converter::Json {
                jsonb: false,
                last_key_wins: false,
            }),
            "jsonb" => Some(Converter::Json {
                jsonb: true,
                last_key_wins: false,
            }),
            "bytea" => Some(Converter::Bytea),
            "int2" | "int4" | "int8" if !matches!(src.base, Json | Enum | Set) => {
                match int_target(t)? {
                    Converter::Int { min, max, target } => {
                        Some(Converter::TextToInt { min, max, target })
                    }
                    _ => None,
                }
            }
            _ => None,
        },
        // MariaDB's own types arrive as their text form.
        Uuid => match t {
            "uuid" => Some(Converter::Uuid),
            _ if text_target => Some(Converter::Text {
                max_chars: dst.char_len(),
            }),
            _ => None,
        },
        Inet => match t {
            "inet" => Some(Converter::Inet),
            _ if text_target => Some(Converter::Text {
                max_chars: dst.char_len(),
            }),
            _ => None,
        },
        Date | DateTime | Timestamp | Time if text_target => Some(Converter::TemporalText {
            max_chars: dst.char_len(),
        }),
        Date => match t {
            "date" => Some(Converter::Date),
            "timestamp" => Some(Converter::Timestamp { frac_digits: 6 }),
            "timestamptz" => Some(Converter::TimestampTz {
                frac_digits: 6,
                zone,
            }),
            _ => None,
        },
        DateTime | Timestamp => match t {
            // Midnight only: a time of day is an error, never dropped.
            "date" => Some(Converter::Date),
            "timestamp" => Some(Converter::Timestamp {
                frac_digits: frac(6),
            }),
            // MySQL timestamp values are UTC instants (the session runs in UTC).
            "timestamptz" => Some(Converter::TimestampTz {
                frac_digits: frac(6),
                zone: if src.base == DateTime { zone } else { None },
            }),
            _ => None,
        },
        Time => match t {
            "time" => Some(Converter::Time {
                frac_digits: frac(6),
            }),
            "interval" => Some(interval_converter(dst.typmod)),
            _ => None,
        },
        // SRID + WKB as stored (the plan reads the column as it is).
        Spatial => match t {
            "bytea" => Some(Converter::GeometryEwkb),
            "point"
                if matches!(
                    src.column_type.to_ascii_lowercase().as_str(),
                    "point" | "geometry"
                ) =>
            {
                Some(Converter::GeometryPoint)
            }
            _ => None,
        },
        Other => None,
    }
}

/// Binary data (blob, varbinary, binary, a binary-charset string) into a text-like, json
/// or jsonb column: the application kept text in it, so each value must be UTF-8 text
/// without NUL, exactly as from a text column; bytes that are not are an error naming the
/// row (the `hex` / `base64` rules keep arbitrary bytes as text instead).
fn bytes_as_text(t: &str, text_target: bool, dst: &PgType) -> Option<Converter> {
    match t {
        _ if text_target => Some(Converter::Text {
            max_chars: dst.char_len(),
        }),
        "json" | "jsonb" => Some(Converter::Json {
            jsonb: t == "jsonb",
            last_key_wins: false,
        }),
        _ => None,
    }
}

/// time into interval(typmod): what the field list (`interval hour to minute`, ...) and
/// the seconds precision keep. Postgres truncates the rest silently when it stores the
/// value (AdjustIntervalForTypmod), so the converter must know it to refuse instead.
/// The converter of rules `microseconds_to_interval` / `seconds_to_interval`.
pub fn interval_count_converter(unit_us: u64, typmod: i32) -> Converter {
    match interval_converter(typmod) {
        Converter::Interval {
            keep_us,
            frac_digits,
        } => Converter::IntervalCount {
            unit_us,
            // The count's whole days go into the day field, which `interval day` keeps
            // (it zeroes only the time); YEAR and MONTH lists zero both.
            keep_us: if keep_us == 0 && typmod >= 0 && (typmod >> 16) & INTERVAL_DAY != 0 {
                86_400_000_000
            } else {
                keep_us
            },
            frac_digits,
        },
        other => other,
    }
}

/// The DAY bit of an interval typmod's field list (Postgres's INTERVAL_MASK(DAY)).
const INTERVAL_DAY: i32 = 1 << 3;

fn interval_converter(typmod: i32) -> Converter {
    const MONTH: i32 = 1 << 1;
    const YEAR: i32 = 1 << 2;
    const DAY: i32 = INTERVAL_DAY;
    const HOUR: i32 = 1 << 10;
    const MINUTE: i32 = 1 << 11;
    const SECOND: i32 = 1 << 12;
    const FULL_RANGE: i32 = 0x7fff;
    const FULL_PRECISION: i32 = 0xffff;
    if typmod < 0 {
        return Converter::Interval {
            keep_us: 1,
            frac_digits: 6,
        };
    }
    let range = (typmod >> 16) & 0x7fff;
    let precision = typmod & 0xffff;
    let keep_us = if range == FULL_RANGE || range & SECOND != 0 {
        1
    } else if range & MINUTE != 0 {
        60_000_000
    } else if range & HOUR != 0 {
        3_600_000_000
    } else {
        debug_assert!(range & (YEAR | MONTH | DAY) != 0);
        0
    };
    Converter::Interval {
        keep_us,
        frac_digits: if precision == FULL_PRECISION {
            6
        } else {
            precision.clamp(0, 6) as u32
        },
    }
}

fn unexpected<T>(v: &Value) -> Result<T, ConvertError> {
    err(
        ProblemClass::Other,
        format!(
            "unexpected {} value from the server",
            match v {
                Value::NULL => "NULL",
                Value::Bytes(_) => "string",
                Value::Int(_) | Value::UInt(_) => "integer",
                Value::Float(_) | Value::Double(_) => "floating-point",
                Value::Date(..) => "date",
                Value::Time(..) => "time",
            }
        ),
    )
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
            .map_or_else(|| err(ProblemClass::Other, "not an integer"), Ok),
        _ => unexpected(v),
    }
}

pub type DateParts = (u16, u8, u8, u8, u8, u8, u32);

/// Microseconds from 1970-01-01 00:00:00 to a calendar date and time (no zone).
pub fn epoch_micros(y: u16, m: u8, d: u8, h: u8, mi: u8, s: u8, us: u32) -> i64 {
    zone::local_micros(y, m, d, h, mi, s, us)
}

#[inline]
fn date_value(v: &Value) -> Result<DateParts, ConvertError> {
    match v {
        Value::Date(y, m, d, h, mi, s, us) => {
            if *y == 0 && *m == 0 && *d == 0 {
                return err(
                    ProblemClass::ZeroDate,
                    "zero date (0000-00-00) has no PostgreSQL equivalent",
                );
            }
            if *m == 0 || *d == 0 {
                return err(
                    ProblemClass::PartialDate,
                    "partial date (month or day 0) has no PostgreSQL equivalent",
                );
            }
            if *y == 0 {
                return err(
                    ProblemClass::PartialDate,
                    "year 0 does not exist in PostgreSQL",
                );
            }
            if *m > 12 || *d > days_in_month(*y, *m) {
                return err(
                    ProblemClass::InvalidDate,
                    format!(
                        "{y:04}-{m:02}-{d:02} is not a calendar date (MySQL keeps it under ALLOW_INVALID_DATES)"
                    ),
                );
            }
            Ok((*y, *m, *d, *h, *mi, *s, *us))
        }
        _ => unexpected(v),
    }
}

fn days_in_month(y: u16, m: u8) -> u8 {
    match m {
        2 if y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
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
        return err(
            ProblemClass::PrecisionLoss,
            format!(
            "fractional seconds .{us:06} would be rounded by the target's precision ({frac_digits})"
        ),
        );
    }
    Ok(())
}

/// Writes the last N decimal digits of `v` into `t` (fixed sizes: built on the stack and
/// appended once, which perf showed cheaper than a push per piece).
#[inline(always)]
fn digits_into<const N: usize>(t: &mut [u8], mut v: u32) {
    for d in t[..N].iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
}

/// `YYYY-MM-DD`, each part zero-padded (MySQL years have four digits).
#[inline]
fn put_date(out: &mut Vec<u8>, y: u16, m: u8, d: u8) {
    let mut t = *b"0000-00-00";
    digits_into::<4>(&mut t[0..4], y as u32);
    digits_into::<2>(&mut t[5..7], m as u32);
    digits_into::<2>(&mut t[8..10], d as u32);
    out.extend_from_slice(&t);
}

/// `HH:MM:SS[.ffffff]`; hours below 100 (times of day only).
#[inline]
fn put_clock(out: &mut Vec<u8>, h: u32, mi: u8, s: u8, us: u32) {
    let mut t = *b"00:00:00.000000";
    digits_into::<2>(&mut t[0..2], h);
    digits_into::<2>(&mut t[3..5], mi as u32);
    digits_into::<2>(&mut t[6..8], s as u32);
    if us == 0 {
        out.extend_from_slice(&t[..8]);
    } else {
        digits_into::<6>(&mut t[9..15], us);
        out.extend_from_slice(&t);
    }
}

/// A float or double, displayed as the shortest decimal that reads back as it.
#[derive(Clone, Copy)]
enum FloatText {
    Single(f32),
    Double(f64),
}

impl FloatText {
    /// The float's exact value in decimal: every binary fraction ends within 149 (f32)
    /// or 1074 (f64) decimal places, and Rust formats a fixed precision exactly.
    fn exact_text(self) -> String {
        match self {
            FloatText::Single(x) => format!("{x:.149}"),
            FloatText::Double(x) => format!("{x:.1074}"),
        }
    }

    fn is_finite(self) -> bool {
        match self {
            FloatText::Single(f) => f.is_finite(),
            FloatText::Double(d) => d.is_finite(),
        }
    }
}

impl fmt::Display for FloatText {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // The digits Postgres prints for the real or double, as the float converter
            // writes them (Rust's own formatting differs where two decimals are equally
            // short).
            FloatText::Single(x) if x.is_finite() => {
                f.write_str(&plain_decimal(&real::pg_real_text(*x)))
            }
            FloatText::Single(x) => write!(f, "{x}"),
            FloatText::Double(x) if x.is_finite() => {
                f.write_str(&plain_decimal(&real::pg_double_text(*x)))
            }
            FloatText::Double(x) => write!(f, "{x}"),
        }
    }
}

/// Ryu's `1.5e-7` as `0.00000015`, `1e30` as `1` and 30 zeros, `16.0` as `16` (the
/// scale numeric keeps is the one Postgres's text of the real gives): numeric(p,s)
/// bounds are checked on plain digits.
fn plain_decimal(s: &str) -> String {
    let Some((mantissa, exp)) = s.split_once(['e', 'E']) else {
        return s.strip_suffix(".0").unwrap_or(s).to_string();
    };
    let exp: i64 = exp.parse().unwrap_or(0);
    let (neg, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => (true, m),
        None => (false, mantissa),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let digits = format!("{int}{frac}");
    let point = int.len() as i64 + exp;
    let mut out = String::with_capacity(digits.len() + exp.unsigned_abs() as usize + 3);
    if neg {
        out.push('-');
    }
    if point <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-point) as usize));
        out.push_str(&digits);
    } else if point as usize >= digits.len() {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', point as usize - digits.len()));
    } else {
        out.push_str(&digits[..point as usize]);
        out.push('.');
        out.push_str(&digits[point as usize..]);
    }
    out
}

/// Two plain decimals (`-?digits(.digits)?`) with the same value: `1.50` = `1.5`,
/// `-0` = `0`, `007` = `7`.
fn same_decimal(a: &[u8], b: &[u8]) -> bool {
    // (negative, significant digits, power of ten of the first of them)
    fn norm(t: &[u8]) -> (bool, Vec<u8>, i64) {
        let neg = t.first() == Some(&b'-');
        let t = t.strip_prefix(b"-").unwrap_or(t);
        let dot = memchr::memchr(b'.', t).unwrap_or(t.len());
        let digits: Vec<u8> = t.iter().copied().filter(|&c| c != b'.').collect();
        let lead = digits.iter().take_while(|&&c| c == b'0').count();
        let trail = digits[lead..]
            .iter()
            .rev()
            .take_while(|&&c| c == b'0')
            .count();
        let sig = digits[lead..digits.len() - trail].to_vec();
        if sig.is_empty() {
            return (false, sig, 0);
        }
        (neg, sig, dot as i64 - lead as i64)
    }
    norm(a) == norm(b)
}

/// `-?digits(.digits)?`: how MySQL sends a decimal.
fn is_decimal_text(b: &[u8]) -> bool {
    let b = b.strip_prefix(b"-").unwrap_or(b);
    let (int, frac) = match memchr::memchr(b'.', b) {
        Some(p) => (&b[..p], Some(&b[p + 1..])),
        None => (b, None),
    };
    let digits = |d: &[u8]| !d.is_empty() && d.iter().all(u8::is_ascii_digit);
    digits(int) && frac.is_none_or(digits)
}

#[inline]
fn put_i128(out: &mut Vec<u8>, n: i128) {
    out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
}

fn put_float(out: &mut Vec<u8>, d: f64, single: Option<f32>) {
    if d.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if d.is_infinite() {
        out.extend_from_slice(if d > 0.0 { b"Infinity" } else { b"-Infinity" });
    } else {
        match single {
            Some(f) => out.extend_from_slice(real::pg_real_text(f).as_bytes()),
            None => out.extend_from_slice(ryu::Buffer::new().format_finite(d).as_bytes()),
        }
    }
}

/// What numeric(p, s) holds without rounding: no non-zero digit below 10^-s and none at
/// or above 10^(p-s). Both may be negative or exceed p (PostgreSQL 15+), so digits are
/// checked by position rather than by counting integer and fraction digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NumericBounds {
    pub scale: i32,
    /// p - s: every non-zero digit sits below 10^int_limit.
    pub int_limit: i32,
}

impl NumericBounds {
    pub fn of(dst: &crate::catalog::PgType) -> Option<NumericBounds> {
        dst.numeric_precision().map(|(p, s)| NumericBounds {
            scale: s,
            int_limit: p - s,
        })
    }

    /// `text` is a plain decimal (`-?digits(.digits)?`), already validated.
    fn check(&self, text: &[u8]) -> Result<(), ConvertError> {
        let body = text.strip_prefix(b"-").unwrap_or(text);
        let (int_part, frac_part) = match body.iter().position(|&c| c == b'.') {
            Some(dot) => (&body[..dot], &body[dot + 1..]),
            None => (body, &body[body.len()..]),
        };
        let int_part = &int_part[int_part.iter().take_while(|&&c| c == b'0').count()..];
        // Positions as powers of ten: int digit i (from the right) is 10^i, fraction digit
        // j (from the left, 0-based) is 10^-(j+1).
        let highest = if !int_part.is_empty() {
            Some(int_part.len() as i64 - 1)
        } else {
            frac_part
                .iter()
                .position(|&c| c != b'0')
                .map(|j| -(j as i64) - 1)
        };
        let Some(highest) = highest else {
            return Ok(()); // zero fits every numeric
        };
        let lowest = match frac_part.iter().rposition(|&c| c != b'0') {
            Some(j) => -(j as i64) - 1,
            None => int_part.iter().rev().take_while(|&&c| c == b'0').count() as i64,
        };
        if lowest < -i64::from(self.scale) {
            return err(
                ProblemClass::PrecisionLoss,
                format!(
                    "digits beyond the target scale ({}) would be rounded away",
                    self.scale
                ),
            );
        }
        if highest >= i64::from(self.int_limit) {
            return err(
                ProblemClass::OutOfRange,
                if self.int_limit > 0 {
                    format!(
                        "too many integer digits for the target numeric ({})",
                        self.int_limit
                    )
                } else {
                    format!(
                        "too large for the target numeric (must be below 1e{})",
                        self.int_limit
                    )
                },
            );
        }
        Ok(())
    }
}

/// Copies a MySQL decimal's text, refusing digits that the target numeric would round
/// or could not hold.
fn put_decimal(
    out: &mut Vec<u8>,
    b: &[u8],
    bounds: Option<NumericBounds>,
) -> Result<(), ConvertError> {
    let s = match std::str::from_utf8(b) {
        Ok(s) => s,
        Err(_) => return err(ProblemClass::Other, "not a decimal number"),
    };
    let body = s.strip_prefix('-').unwrap_or(s);
    let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
    if int_part.is_empty()
        || !int_part.bytes().all(|c| c.is_ascii_digit())
        || !frac_part.bytes().all(|c| c.is_ascii_digit())
    {
        return err(ProblemClass::Other, "not a decimal number");
    }
    if let Some(bounds) = bounds {
        bounds.check(b)?;
    }
    out.extend_from_slice(b);
    Ok(())
}

/// UTF-8 check: simdutf8 for the common valid case (~3x std's speed on non-ASCII text),
/// std only to locate the first invalid byte for the message.
#[inline]
fn utf8(b: &[u8]) -> Result<&str, std::str::Utf8Error> {
    match simdutf8::basic::from_utf8(b) {
        Ok(s) => Ok(s),
        Err(_) => std::str::from_utf8(b),
    }
}

fn check_text(b: &[u8], max_chars: Option<u32>) -> Result<(), ConvertError> {
    let s = match utf8(b) {
        Ok(s) => s,
        Err(e) => {
            return err(
                ProblemClass::InvalidUtf8,
                format!(
                    "invalid UTF-8 at byte {} (PostgreSQL text cannot hold it)",
                    e.valid_up_to()
                ),
            )
        }
    };
    if memchr::memchr(0, b).is_some() {
        return err(
            ProblemClass::NulByte,
            "contains a NUL byte (PostgreSQL text cannot hold it)",
        );
    }
    if let Some(max) = max_chars {
        if b.len() > max as usize {
            let n = s.chars().count();
            if n > max as usize {
                return err(
                    ProblemClass::TooLong,
                    format!("{n} characters do not fit the target's {max}"),
                );
            }
        }
    }
    Ok(())
}

thread_local! {
    /// The duplicate-key checker's stacks, reused so a document allocates nothing.
    static JSON_KEYS: std::cell::RefCell<json::Keys> = std::cell::RefCell::default();
}

/// Checks jsonb text for a duplicate key in any object, `check` with one checker per thread.
fn check_unique_keys(b: &[u8], sink: &mut impl json::QuoteSink) -> Result<(), json::JsonError> {
    JSON_KEYS.with(|keys| match keys.try_borrow_mut() {
        Ok(mut keys) => {
            keys.reset();
            json::check(b, true, sink, &mut *keys)
        }
        // Not reached (nothing here re-enters), but a fresh checker is always correct.
        Err(_) => json::check(b, true, sink, &mut json::Keys::default()),
    })
}

/// Whether jsonb text (valid or not) holds an object with a duplicate key: what rule
/// `json_duplicate_keys_last` changes, counted in the run report.
pub fn json_has_duplicate_key(b: &[u8]) -> bool {
    struct NoQuotes;
    impl json::QuoteSink for NoQuotes {
        fn quote(&mut self, _: usize) {}
    }
    matches!(
        check_unique_keys(b, &mut NoQuotes),
        Err(json::JsonError::DuplicateKey { .. })
    )
}

/// Checks JSON text and appends it as a quoted CSV field, in one pass over the text.
/// `unique_keys`: refuse an object with a duplicate key (jsonb unless told otherwise).
fn put_json(
    out: &mut Vec<u8>,
    b: &[u8],
    unique_keys: bool,
    jsonb: bool,
) -> Result<(), ConvertError> {
    if utf8(b).is_err() {
        return err(ProblemClass::InvalidUtf8, "invalid UTF-8 in JSON");
    }
    // Valid JSON text holds no raw NUL byte (not even inside a string), so the syntax
    // check covers that too.
    let mut field = json::CsvField::new(b, out);
    let checked = if unique_keys {
        check_unique_keys(b, &mut field)
    } else {
        json::check(b, jsonb, &mut field, &mut json::AnyKeys)
    };
    match checked {
        Ok(()) => {
            field.finish();
            Ok(())
        }
        Err(e) => {
            field.discard();
            match e {
                json::JsonError::EscapedNul { .. } => err(
                    ProblemClass::NulByte,
                    "JSON holds \\u0000, which jsonb cannot store",
                ),
                json::JsonError::NumberOutOfRange { .. } => err(
                    ProblemClass::OutOfRange,
                    format!("jsonb cannot store it: {e}"),
                ),
                json::JsonError::DuplicateKey { key: (s, e), .. } => {
                    let key = String::from_utf8_lossy(&b[s..e]);
                    let short: String = key.chars().take(60).collect();
                    let more = if short.len() < key.len() { "…" } else { "" };
                    err(
                        ProblemClass::DuplicateJsonKey,
                        format!(
                            "duplicate key \"{short}{more}\" in a JSON object: MySQL/MariaDB \
                             read the first value, jsonb would keep the last"
                        ),
                    )
                }
                e => err(ProblemClass::InvalidJson, format!("invalid JSON: {e}")),
            }
        }
    }
}

/// Hex digit -> its lower-case form; anything else -> 0.
const HEX_LOWER: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut c = 0;
    while c < 256 {
        t[c] = match c as u8 {
            b'0'..=b'9' | b'a'..=b'f' => c as u8,
            b'A'..=b'F' => c as u8 + 32,
            _ => 0,
        };
        c += 1;
    }
    t
};

/// Canonical 8-4-4-4-12 (or 32 plain hex digits), any case -> lower-case canonical form.
/// A table lookup per byte: UUID keys are in nearly every column of a TypeORM schema.
fn put_uuid_text(out: &mut Vec<u8>, b: &[u8]) -> Result<(), ConvertError> {
    let start = out.len();
    let ok = match b.len() {
        // Built on the stack and appended once: a push per byte was a third of the
        // converter's time in `perf` (a capacity check each).
        36 => {
            let mut t = [b'-'; 36];
            let mut hex = 0u8;
            let mut ok = b[8] == b'-' && b[13] == b'-' && b[18] == b'-' && b[23] == b'-';
            for (i, &c) in b.iter().enumerate() {
                if !matches!(i, 8 | 13 | 18 | 23) {
                    let l = HEX_LOWER[c as usize];
                    ok &= l != 0;
                    t[i] = l;
                    hex += 1;
                }
            }
            debug_assert_eq!(hex, 32);
            if ok {
                out.extend_from_slice(&t);
            }
            ok
        }
        32 => {
            let mut t = [b'-'; 36];
            let mut ok = true;
            let mut j = 0;
            for (i, &c) in b.iter().enumerate() {
                if matches!(i, 8 | 12 | 16 | 20) {
                    j += 1;
                }
                let l = HEX_LOWER[c as usize];
                ok &= l != 0;
                t[j] = l;
                j += 1;
            }
            if ok {
                out.extend_from_slice(&t);
            }
            ok
        }
        _ => false,
    };
    if !ok {
        out.truncate(start);
        return err(ProblemClass::InvalidUuid, "not a UUID");
    }
    Ok(())
}

/// `a,b` -> `{"a","b"}`: every element quoted, `"` and `\` escaped, then CSV-quoted.
fn put_text_array(out: &mut Vec<u8>, b: &[u8]) {
    if b.is_empty() {
        put_array_of(out, std::iter::empty());
    } else {
        put_array_of(out, b.split(|&c| c == b','));
    }
}

/// `{"a","b"}` as a CSV field, every element quoted.
fn put_array_of<'a>(out: &mut Vec<u8>, elements: impl Iterator<Item = &'a [u8]>) {
    let mut lit = Vec::with_capacity(64);
    lit.push(b'{');
    for (i, part) in elements.enumerate() {
        if i > 0 {
            lit.push(b',');
        }
        lit.push(b'"');
        for &c in part {
            if c == b'"' || c == b'\\' {
                lit.push(b'\\');
            }
            lit.push(c);
        }
        lit.push(b'"');
    }
    lit.push(b'}');
    put_text(out, &lit);
}

/// The members of a set value whose text, as MySQL sends it, leaves out the set's ''
/// member: alone it reads as '' (as the empty set), and MariaDB drops it when it comes
/// first (`'',a` reads `a`). `bits` is `c + 0`, the value's bit mask by declaration
/// order. None when the text shows as many members as the mask holds (it is then
/// exact: labels hold no comma).
pub fn hidden_set_members<'a>(
    labels: &'a [String],
    text: &[u8],
    bits: Option<&Value>,
) -> Option<Vec<&'a str>> {
    let mask = match bits? {
        // MariaDB sends a mask with bit 63 set as a negative number (the attack: a 64th
        // member lost): the same 64 bits.
        Value::Int(n) => *n as u64,
        Value::UInt(n) => *n,
        Value::Bytes(b) => std::str::from_utf8(b).ok()?.parse().ok()?,
        _ => return None,
    };
    let shown = if text.is_empty() {
        0
    } else {
        memchr::memchr_iter(b',', text).count() as u32 + 1
    };
    if shown == mask.count_ones() {
        return None;
    }
    Some(
        labels
            .iter()
            .enumerate()
            .filter(|(i, _)| *i < 64 && mask >> i & 1 == 1)
            .map(|(_, l)| l.as_str())
            .collect(),
    )
}

/// A set's members as a text[] value (the same bytes `TextArray` writes for the text
/// that shows them all), each checked like that converter's elements.
pub fn put_set_members(
    out: &mut Vec<u8>,
    members: &[&str],
    max_chars: Option<u32>,
) -> Result<(), ConvertError> {
    for m in members {
        check_text(m.as_bytes(), max_chars)?;
    }
    put_array_of(out, members.iter().map(|m| m.as_bytes()));
    Ok(())
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn put_base64(out: &mut Vec<u8>, b: &[u8]) {
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        out.push(B64[(n >> 18) as usize & 63]);
        out.push(B64[(n >> 12) as usize & 63]);
        out.push(if c.len() > 1 {
            B64[(n >> 6) as usize & 63]
        } else {
            b'='
        });
        out.push(if c.len() > 2 {
            B64[n as usize & 63]
        } else {
            b'='
        });
    }
}

/// A per-column rule, chosen in config, applied before the converter. Each one says
/// exactly what it changes, and every value it changes is counted in the run report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    /// `''` becomes NULL (e.g. an empty char(36) whose target is uuid). Nullable targets only.
    EmptyToNull,
    /// NUL bytes are removed from the text.
    StripNul,
    /// `strip_nul` into jsonb: NUL bytes and the `\u0000` escapes in JSON strings are
    /// removed (jsonb cannot store that character). Set by the plan, never written in
    /// config.
    #[serde(rename = "strip_nul", skip_deserializing)]
    StripNulEscapes,
    /// Zero and partial dates (`0000-00-00`, `2024-00-15`) become NULL. Nullable targets only.
    ZeroDateToNull,
    /// The bytes are stored as base64 text (binary data held in a text column, into text).
    Base64,
    /// The bytes are stored as lower-case hex text.
    Hex,
    /// A text column in another charset (latin1) holds UTF-8 bytes: the application
    /// wrote UTF-8 over a connection in that charset (Icinga 2 IDO, older PHP
    /// applications). Its stored bytes are read and must be UTF-8, instead of each byte
    /// being read as a character of the charset (which loads `Ã¼` for `ü`).
    BytesAsUtf8,
    /// jsonb keeps the last of duplicate object keys (MySQL/MariaDB read the first).
    /// jsonb targets only; `[run] json_duplicate_keys = "last"` sets it on all of them.
    JsonDuplicateKeysLast,
    /// The source column is not copied at all (a leftover the new schema dropped); the
    /// plan leaves it out, so no value ever reaches a converter.
    Skip,
    /// An integer counts microseconds of an interval target (Django's DurationField).
    MicrosecondsToInterval,
    /// An integer counts seconds of an interval target.
    SecondsToInterval,
    /// A datetime holds 1970-01-01 00:00:00 plus a duration (SQLAlchemy's `Interval` on
    /// MySQL, e.g. Mailman's grace periods): the duration goes into an interval target.
    EpochDatetimeToInterval,
    /// Text (or binary) holding a timestamp (`parse_timestamp_text`) into date, timestamp
    /// or timestamptz; without an offset it is read as UTC.
    TextToTimestamp,
    /// `text_to_timestamp` with `empty_as = "null"`: '' and zero timestamps become NULL.
    #[serde(skip_deserializing)]
    TextToTimestampEmptyNull,
    /// `text_to_timestamp` with `empty_as = "infinity"` (MediaWiki reads an empty expiry
    /// as infinity).
    #[serde(skip_deserializing)]
    TextToTimestampEmptyInfinity,
    /// A NULL becomes the target column's default, which must be a constant (`0`,
    /// `'active'::status`, `'{}'::jsonb`): the plan evaluates it once, so every such
    /// row gets the same value and the files stay deterministic.
    NullToDefault,
}

/// A timestamp held as text, as rule `text_to_timestamp` reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampText {
    /// `infinity`, `-infinity` (Postgres's own; MediaWiki's rows that never expire).
    Infinity { negative: bool },
    /// Date and time of day as written, and the UTC offset in seconds if one was given.
    At {
        parts: DateParts,
        offset: Option<i32>,
    },
}

/// Reads the text forms applications keep timestamps in: `YYYYMMDDHHMMSS` (MediaWiki's
/// binary(14) columns), ISO 8601 / MySQL's own `YYYY-MM-DD[ T]HH:MM[:SS[.ffffff]]` with
/// an optional `Z` or `±HH[:MM]`, a bare `YYYY-MM-DD` (midnight), and `infinity` /
/// `-infinity`. Trailing NUL bytes (binary(n) padding) are ignored. Anything else, and a
/// date or time that does not exist, is refused with the reason.
pub fn parse_timestamp_text(raw: &[u8]) -> Result<TimestampText, String> {
    let mut end = raw.len();
    while end > 0 && raw[end - 1] == 0 {
        end -= 1;
    }
    let b = &raw[..end];
    if b.eq_ignore_ascii_case(b"infinity") || b.eq_ignore_ascii_case(b"+infinity") {
        return Ok(TimestampText::Infinity { negative: false });
    }
    if b.eq_ignore_ascii_case(b"-infinity") {
        return Ok(TimestampText::Infinity { negative: true });
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let d = b.get(r)?;
        d.iter()
            .all(u8::is_ascii_digit)
            .then(|| d.iter().fold(0u32, |n, c| n * 10 + u32::from(c - b'0')))
    };
    let shape = "not a timestamp this rule reads (YYYYMMDDHHMMSS, YYYY-MM-DD HH:MM:SS[.ffffff] \
                 with an optional Z or +HH:MM, YYYY-MM-DD, infinity)";
    let (mut h, mut mi, mut s, mut us) = (0u32, 0u32, 0u32, 0u32);
    let mut offset: Option<i32> = None;
    let (y, mo, d) = if b.len() == 14 && b.iter().all(u8::is_ascii_digit) {
        (h, mi, s) = (
            num(8..10).unwrap_or(0),
            num(10..12).unwrap_or(0),
            num(12..14).unwrap_or(0),
        );
        (
            num(0..4).unwrap_or(0),
            num(4..6).unwrap_or(0),
            num(6..8).unwrap_or(0),
        )
    } else {
        let (Some(yy), Some(mm), Some(dd)) = (num(0..4), num(5..7), num(8..10)) else {
            return Err(shape.into());
        };
        if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
            return Err(shape.into());
        }
        let mut i = 10;
        if i < b.len() {
            if !matches!(b[i], b' ' | b'T' | b't') {
                return Err(shape.into());
            }
            let (Some(hh), Some(mn)) = (num(i + 1..i + 3), num(i + 4..i + 6)) else {
                return Err(shape.into());
            };
            if b.get(i + 3) != Some(&b':') {
                return Err(shape.into());
            }
            (h, mi) = (hh, mn);
            i += 6;
            if b.get(i) == Some(&b':') {
                s = num(i + 1..i + 3).ok_or(shape)?;
                i += 3;
                if b.get(i) == Some(&b'.') {
                    let digits = b[i + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
                    if digits == 0 {
                        return Err(shape.into());
                    }
                    if digits > 6 {
                        return Err(
                            "more than 6 fractional digits (Postgres keeps microseconds)".into(),
                        );
                    }
                    us = num(i + 1..i + 1 + digits).unwrap_or(0) * 10u32.pow(6 - digits as u32);
                    i += 1 + digits;
                }
            }
            match b.get(i) {
                None => {}
                Some(b'Z' | b'z') if i + 1 == b.len() => offset = Some(0),
                Some(&sign @ (b'+' | b'-')) => {
                    let oh = num(i + 1..i + 3).ok_or(shape)?;
                    let om = match &b[i + 3..] {
                        [] => 0,
                        [b':', _, _] => num(i + 4..i + 6).ok_or(shape)?,
                        [_, _] => num(i + 3..i + 5).ok_or(shape)?,
                        _ => return Err(shape.into()),
                    };
                    if oh > 15 || om > 59 {
                        return Err("a UTC offset beyond ±15:59".into());
                    }
                    let secs = (oh * 3600 + om * 60) as i32;
                    offset = Some(if sign == b'-' { -secs } else { secs });
                }
                Some(_) => return Err(shape.into()),
            }
        }
        (yy, mm, dd)
    };
    if y == 0 {
        return Err(if mo == 0 && d == 0 {
            "zero date (0000-00-00) has no PostgreSQL equivalent".into()
        } else {
            "year 0 does not exist in PostgreSQL".into()
        });
    }
    if !(1..=12).contains(&mo) || d == 0 || d > u32::from(days_in_month(y as u16, mo as u8)) {
        return Err(format!("{y:04}-{mo:02}-{d:02} is not a calendar date"));
    }
    if h > 23 || mi > 59 || s > 59 {
        return Err(format!("{h:02}:{mi:02}:{s:02} is not a time of day"));
    }
    Ok(TimestampText::At {
        parts: (y as u16, mo as u8, d as u8, h as u8, mi as u8, s as u8, us),
        offset,
    })
}

/// What `empty_as` replaces in a `text_to_timestamp` column: '' (or only binary(n) NUL
/// padding), `00000000000000`, `0000-00-00` and `0000-00-00 00:00:00[.000000]`.
pub fn empty_timestamp_text(raw: &[u8]) -> bool {
    let mut end = raw.len();
    while end > 0 && raw[end - 1] == 0 {
        end -= 1;
    }
    let b = &raw[..end];
    let zeros = |s: &[u8]| s.iter().all(|&c| c == b'0');
    if b.is_empty() || (b.len() == 14 && zeros(b)) {
        return true;
    }
    let Some(rest) = b.strip_prefix(b"0000-00-00") else {
        return false;
    };
    let Some(time) = rest.strip_prefix(b" 00:00:00") else {
        return rest.is_empty();
    };
    time.is_empty()
        || time
            .strip_prefix(b".")
            .is_some_and(|f| !f.is_empty() && zeros(f))
}

/// `+05:30`, `-08:00`, `+00:00`: the offset of a timestamptz value, for Postgres.
fn put_offset(out: &mut Vec<u8>, secs: i32) {
    let a = secs.unsigned_abs();
    out.push(if secs < 0 { b'-' } else { b'+' });
    out.extend_from_slice(format!("{:02}:{:02}", a / 3600, a / 60 % 60).as_bytes());
}

/// `0000-00-00 ...`, `2024-00-15`, `0000-05-01`: MySQL's text of a zero or partial date
/// (the same dates `zero_date_to_null` turns into NULL when read as dates).
pub fn zero_or_partial_date_text(b: &[u8]) -> bool {
    let field = |r: std::ops::Range<usize>| {
        b.get(r)
            .filter(|d| d.iter().all(u8::is_ascii_digit))
            .map(|d| d.iter().all(|&c| c == b'0'))
    };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return false;
    }
    match (field(0..4), field(5..7), field(8..10)) {
        (Some(y), Some(m), Some(d)) => y || m || d,
        _ => false,
    }
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Rule::EmptyToNull => "empty_to_null",
            Rule::StripNul | Rule::StripNulEscapes => "strip_nul",
            Rule::ZeroDateToNull => "zero_date_to_null",
            Rule::Base64 => "base64",
            Rule::Hex => "hex",
            Rule::BytesAsUtf8 => "bytes_as_utf8",
            Rule::JsonDuplicateKeysLast => "json_duplicate_keys_last",
            Rule::Skip => "skip",
            Rule::MicrosecondsToInterval => "microseconds_to_interval",
            Rule::SecondsToInterval => "seconds_to_interval",
            Rule::EpochDatetimeToInterval => "epoch_datetime_to_interval",
            Rule::NullToDefault => "null_to_default",
            Rule::TextToTimestamp
            | Rule::TextToTimestampEmptyNull
            | Rule::TextToTimestampEmptyInfinity => "text_to_timestamp",
        }
    }

    /// `text_to_timestamp`, with or without `empty_as`.
    pub fn reads_timestamp_text(self) -> bool {
        matches!(
            self,
            Rule::TextToTimestamp
                | Rule::TextToTimestampEmptyNull
                | Rule::TextToTimestampEmptyInfinity
        )
    }

    /// The problem a rule lets the converter accept as it is (rather than by changing
    /// the value first): `check` reports those values as handled.
    pub fn accepts(self) -> Option<ProblemClass> {
        match self {
            Rule::JsonDuplicateKeysLast => Some(ProblemClass::DuplicateJsonKey),
            _ => None,
        }
    }

    /// What the rule makes of a non-NULL value: None = NULL, Some(v) = convert v.
    /// The flag says whether the value was changed (and so counted).
    pub fn apply<'a>(self, v: &'a Value) -> (Option<Cow<'a, Value>>, bool) {
        match (self, v) {
            (Rule::EmptyToNull, Value::Bytes(b)) if b.is_empty() => (None, true),
            (Rule::StripNul, Value::Bytes(b)) if b.contains(&0) => (
                Some(Cow::Owned(Value::Bytes(
                    b.iter().copied().filter(|&c| c != 0).collect(),
                ))),
                true,
            ),
            (Rule::StripNulEscapes, Value::Bytes(b)) => match json::strip_nul_escapes(b) {
                Some(stripped) => (Some(Cow::Owned(Value::Bytes(stripped))), true),
                None => (Some(Cow::Borrowed(v)), false),
            },
            (Rule::ZeroDateToNull, Value::Date(y, m, d, ..)) if *m == 0 || *d == 0 || *y == 0 => {
                (None, true)
            }
            // A date going into a text column arrives as the text MySQL shows.
            (Rule::ZeroDateToNull, Value::Bytes(b)) if zero_or_partial_date_text(b) => (None, true),
            (Rule::TextToTimestampEmptyNull, Value::Bytes(b)) if empty_timestamp_text(b) => {
                (None, true)
            }
            (Rule::TextToTimestampEmptyInfinity, Value::Bytes(b)) if empty_timestamp_text(b) => {
                (Some(Cow::Owned(Value::Bytes(b"infinity".to_vec()))), true)
            }
            // base64/hex re-encode every value (the converter does it); '' stays ''.
            (Rule::Base64 | Rule::Hex, Value::Bytes(b)) => (Some(Cow::Borrowed(v)), !b.is_empty()),
            // The converter reads every such datetime or count as a duration (the attack:
            // the count rules reported 0 changed values where verify counted them all).
            (Rule::EpochDatetimeToInterval, Value::Date(..))
            | (
                Rule::MicrosecondsToInterval | Rule::SecondsToInterval,
                Value::Int(_) | Value::UInt(_),
            ) => (Some(Cow::Borrowed(v)), true),
            // The read changed it: an ASCII value reads the same either way.
            (Rule::BytesAsUtf8, Value::Bytes(b)) => (Some(Cow::Borrowed(v)), !b.is_ascii()),
            // The converter keeps the text; jsonb drops the earlier duplicates. Counting
            // them costs a second pass over this column's values (this rule's only).
            (Rule::JsonDuplicateKeysLast, Value::Bytes(b)) => {
                (Some(Cow::Borrowed(v)), json_has_duplicate_key(b))
            }
            _ => (Some(Cow::Borrowed(v)), false),
        }
    }
}

/// A FLOAT(M,D) / DOUBLE(M,D) value as MySQL shows it (`my_fcvt`, dtoa mode 5): the
/// shortest decimal that reads back as the value when it has at most D decimals,
/// padded with zeros (`798051223108.154` is `798051223108.1540`, though the binary value
/// is 798051223108.154052734375; `3.333333333333333e19` is `33333333333333330000.0000`),
/// else the value correctly rounded to D decimals; zero without a sign. MySQL rounds to
/// D on store but keeps a binary value only near the decimal (25.9276 in a double(16,4)
/// is 25.927599999999998), so the shortest text alone would show digits the column does
/// not mean. None for a value that is not a finite float.
pub fn float_at_scale(v: &Value, scale: usize) -> Option<String> {
    let d = match v {
        Value::Float(f) if f.is_finite() => f64::from(*f),
        Value::Double(d) if d.is_finite() => *d,
        _ => return None,
    };
    let shortest = plain_decimal(ryu::Buffer::new().format_finite(d));
    let decimals = shortest.split_once('.').map_or(0, |(_, f)| f.len());
    let text = if decimals <= scale {
        let mut t = shortest;
        if scale > 0 {
            if decimals == 0 {
                t.push('.');
            }
            t.extend(std::iter::repeat_n('0', scale - decimals));
        }
        t
    } else {
        format!("{d:.scale$}")
    };
    Some(match text.strip_prefix('-') {
        Some(abs) if abs.bytes().all(|b| matches!(b, b'0' | b'.')) => abs.to_string(),
        _ => text,
    })
}

/// A short, printable rendering of a value for error messages.
fn short_float(plain: String, scientific: impl FnOnce() -> String) -> String {
    if plain.len() > 24 {
        scientific()
    } else {
        plain
    }
}

/// `excerpt`, with a date or time shown as the source column's type shows it: a `date`
/// without a time of day, `datetime(3)` with three fractional digits.
pub fn excerpt_as(v: &Value, source_type: &str) -> String {
    let fsp = |t: &str| {
        t.split_once('(')
            .and_then(|(_, n)| n.trim_end_matches(')').parse::<usize>().ok())
            .unwrap_or(0)
            .min(6)
    };
    let t = source_type.trim().to_ascii_lowercase();
    match v {
        Value::Date(y, m, d, ..) if t == "date" => format!("{y:04}-{m:02}-{d:02}"),
        Value::Date(y, m, d, h, mi, s, us)
            if t.starts_with("datetime") || t.starts_with("timestamp") =>
        {
            let whole = format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}");
            match fsp(&t) {
                0 => whole,
                n => format!("{whole}.{}", &format!("{us:06}")[..n]),
            }
        }
        _ => excerpt(v),
    }
}

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
        // 1e300 is 301 digits in plain notation: long ones are shown as 1e300.
        Value::Float(f) => short_float(f.to_string(), || format!("{f:e}")),
        Value::Double(d) => short_float(d.to_string(), || format!("{d:e}")),
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
