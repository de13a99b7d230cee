//! What the two databases say about themselves. The MySQL side keeps `COLUMN_TYPE`
//! verbatim; the Postgres side resolves domains to their base type and keeps enum labels.

pub mod mysql;
pub mod postgres;

/// The MySQL type family of a source column, parsed once from `DATA_TYPE`/`COLUMN_TYPE`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MyBase {
    TinyInt,
    SmallInt,
    MediumInt,
    Int,
    BigInt,
    Decimal,
    Float,
    Double,
    Bit,
    Char,
    VarChar,
    Text,
    Binary,
    VarBinary,
    Blob,
    Json,
    Enum,
    Set,
    Date,
    DateTime,
    Timestamp,
    Time,
    Year,
    /// MariaDB's native `uuid` (10.7+): sent as its 36-character text.
    Uuid,
    /// MariaDB's `inet4` / `inet6` (10.10+ / 10.5+): sent as address text.
    Inet,
    /// geometry, point, linestring, polygon, multi*, geometrycollection: the server's
    /// internal form (SRID + WKB).
    Spatial,
    Other,
}

#[derive(Clone, Debug)]
pub struct MyType {
    pub base: MyBase,
    /// `COLUMN_TYPE` exactly as the server reports it, e.g. `tinyint(1)`, `int(10) unsigned`.
    pub column_type: String,
    pub unsigned: bool,
    /// Display width / length / precision from the parentheses, when present.
    pub len: Option<u32>,
    /// Enum and set labels, in declaration order.
    pub labels: Vec<String>,
    /// The column stores bytes, not characters (binary charset).
    pub binary: bool,
    /// `CHARACTER_SET_NAME`, lower-case (None for non-text columns).
    pub charset: Option<String>,
}

impl MyType {
    /// D of a FLOAT(M,D) / DOUBLE(M,D) column (MySQL rounds its values to D decimals).
    pub fn float_scale(&self) -> Option<u8> {
        if !matches!(self.base, MyBase::Float | MyBase::Double) {
            return None;
        }
        let inner = self.column_type.split_once('(')?.1.split_once(')')?.0;
        inner.split_once(',')?.1.trim().parse().ok()
    }

    pub fn parse(data_type: &str, column_type: &str, charset: Option<&str>) -> MyType {
        let dt = data_type.to_ascii_lowercase();
        let ct = column_type.to_ascii_lowercase();
        let base = match dt.as_str() {
            "tinyint" => MyBase::TinyInt,
            "smallint" => MyBase::SmallInt,
            "mediumint" => MyBase::MediumInt,
            "int" | "integer" => MyBase::Int,
            "bigint" => MyBase::BigInt,
            "decimal" | "numeric" => MyBase::Decimal,
            "float" => MyBase::Float,
            "double" | "real" => MyBase::Double,
            "bit" => MyBase::Bit,
            "char" => MyBase::Char,
            "varchar" => MyBase::VarChar,
            "tinytext" | "text" | "mediumtext" | "longtext" => MyBase::Text,
            "binary" => MyBase::Binary,
            "varbinary" => MyBase::VarBinary,
            "tinyblob" | "blob" | "mediumblob" | "longblob" => MyBase::Blob,
            "json" => MyBase::Json,
            "enum" => MyBase::Enum,
            "set" => MyBase::Set,
            "date" => MyBase::Date,
            "datetime" => MyBase::DateTime,
            "timestamp" => MyBase::Timestamp,
            "time" => MyBase::Time,
            "year" => MyBase::Year,
            "uuid" => MyBase::Uuid,
            "inet4" | "inet6" => MyBase::Inet,
            "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring"
            | "multipolygon" | "geometrycollection" | "geomcollection" => MyBase::Spatial,
            _ => MyBase::Other,
        };
        let len = ct
            .find('(')
            .and_then(|i| {
                let rest = &ct[i + 1..];
                let end = rest.find([',', ')'])?;
                rest[..end].trim().parse().ok()
            })
            .filter(|_| !matches!(base, MyBase::Enum | MyBase::Set));
        let labels = if matches!(base, MyBase::Enum | MyBase::Set) {
            parse_labels(column_type)
        } else {
            Vec::new()
        };
        let binary = matches!(base, MyBase::Binary | MyBase::VarBinary | MyBase::Blob)
            || charset.is_some_and(|c| c.eq_ignore_ascii_case("binary"));
        MyType {
            base,
            column_type: column_type.to_string(),
            unsigned: ct.contains("unsigned"),
            len,
            labels,
            binary,
            charset: charset.map(str::to_ascii_lowercase),
        }
    }

    pub fn is_integer(&self) -> bool {
        matches!(
            self.base,
            MyBase::TinyInt | MyBase::SmallInt | MyBase::MediumInt | MyBase::Int | MyBase::BigInt
        )
    }

    pub fn is_text(&self) -> bool {
        matches!(self.base, MyBase::Char | MyBase::VarChar | MyBase::Text) && !self.binary
    }

    /// A text column whose stored bytes are not UTF-8: MariaDB converts them for the
    /// `utf8mb4` connection, and the charset is named so the reader can ask for them as
    /// stored or check the conversion. Only names of letters, digits and `_` (they are
    /// written into SQL).
    pub fn non_utf8_charset(&self) -> Option<&str> {
        let cs = self.charset.as_deref()?;
        let utf8 = matches!(cs, "utf8mb4" | "utf8mb3" | "utf8" | "binary");
        let safe = cs.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        (self.is_text() && !utf8 && safe).then_some(cs)
    }

    /// Charsets where every byte sequence MariaDB stores has a Unicode character, so the
    /// conversion for the connection never writes `?` for a stored byte: latin1 (MariaDB's
    /// is cp1252 with the five unassigned bytes mapped to C1 controls) and the UTF-16/32
    /// family (validated on insert).
    pub fn charset_maps_every_byte(cs: &str) -> bool {
        matches!(cs, "latin1" | "ucs2" | "utf16" | "utf16le" | "utf32")
    }

    pub fn is_bytes(&self) -> bool {
        matches!(
            self.base,
            MyBase::Binary | MyBase::VarBinary | MyBase::Blob | MyBase::Bit
        ) || (self.binary && matches!(self.base, MyBase::Char | MyBase::VarChar | MyBase::Text))
    }

    /// The inclusive value range of a MySQL integer type.
    pub fn int_range(&self) -> (i128, i128) {
        let bits = match self.base {
            MyBase::TinyInt => 8,
            MyBase::SmallInt => 16,
            MyBase::MediumInt => 24,
            MyBase::Int => 32,
            _ => 64,
        };
        if self.unsigned {
            (0, (1i128 << bits) - 1)
        } else {
            (-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
        }
    }
}

/// `enum('a','b''c')` -> ["a", "b'c"]; MySQL doubles quotes inside labels.
fn parse_labels(column_type: &str) -> Vec<String> {
    let Some(start) = column_type.find('(') else {
        return Vec::new();
    };
    let body = &column_type[start + 1..];
    let mut labels = Vec::new();
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            continue;
        }
        let mut label = String::new();
        loop {
            match chars.next() {
                Some('\'') if chars.peek() == Some(&'\'') => {
                    chars.next();
                    label.push('\'');
                }
                Some('\'') | None => break,
                Some('\\') => {
                    if let Some(n) = chars.next() {
                        label.push(n);
                    }
                }
                Some(ch) => label.push(ch),
            }
        }
        labels.push(label);
    }
    labels
}

#[derive(Clone, Debug)]
pub struct SourceColumn {
    pub name: String,
    pub ty: MyType,
    pub nullable: bool,
    /// `COLLATION_NAME` (None for non-text columns): how the server orders and compares
    /// the column's values, which a keyset read depends on.
    pub collation: Option<String>,
    /// VIRTUAL or STORED generated: holds derived data.
    pub generated: bool,
    /// MySQL 8's generated invisible primary key (`my_row_id`, added by
    /// `sql_generate_invisible_primary_key`): a row id the application never saw.
    pub invisible_row_id: bool,
    /// The table's AUTO_INCREMENT column.
    pub auto_increment: bool,
}

#[derive(Clone, Debug)]
pub struct SourceTable {
    pub name: String,
    pub columns: Vec<SourceColumn>,
    /// Primary key column names, in key order (empty when the table has none).
    pub primary_key: Vec<String>,
    /// A unique key whose columns are all NOT NULL and whose index has an order (not
    /// MariaDB's hash of a long UNIQUE key), used when there is no primary key.
    pub unique_not_null: Option<Vec<String>>,
    /// Columns of the primary key and of every unique index (what the source enforces).
    pub unique_keys: Vec<Vec<String>>,
    /// Row estimate and data bytes from the server's statistics (not exact).
    pub est_rows: u64,
    pub est_bytes: u64,
    /// The next AUTO_INCREMENT value MySQL would hand out (ids below it may have been
    /// handed out and deleted since).
    pub auto_increment: Option<u64>,
    /// `ENGINE` as the server reports it (`InnoDB`, `MyISAM`, `Aria`, ...).
    pub engine: String,
}

impl SourceTable {
    /// The engine keeps versions a consistent snapshot reads (InnoDB, MyRocks, TokuDB).
    /// MyISAM, Aria, MEMORY and the rest show every reader the rows as they are now.
    pub fn in_snapshot(&self) -> bool {
        matches!(
            self.engine.to_ascii_lowercase().as_str(),
            "innodb" | "xtradb" | "rocksdb" | "tokudb"
        )
    }
}

/// The kind of a Postgres column type after resolving domains.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PgKind {
    Base,
    Enum(Vec<String>),
    Array(String),
}

#[derive(Clone, Debug)]
pub struct PgType {
    /// `format_type()` of the declared type (a domain keeps its own name here).
    pub display: String,
    /// `typname` of the base type, e.g. `int4`, `varchar`, `timestamptz`, `_text`.
    pub name: String,
    /// The base type's typmod (-1 when none).
    pub typmod: i32,
    pub kind: PgKind,
}

impl PgType {
    /// Declared length of varchar(n)/char(n)/bit(n), in characters (or bits).
    pub fn char_len(&self) -> Option<u32> {
        match self.name.as_str() {
            "varchar" | "bpchar" if self.typmod >= 4 => Some((self.typmod - 4) as u32),
            "bit" | "varbit" if self.typmod >= 0 => Some(self.typmod as u32),
            _ => None,
        }
    }

    /// numeric(p, s) -> (p, s). Since PostgreSQL 15 the scale may be negative (rounds
    /// to tens, hundreds, ...) or larger than p; it is stored as an 11-bit signed field.
    pub fn numeric_precision(&self) -> Option<(i32, i32)> {
        if self.name == "numeric" && self.typmod >= 4 {
            let m = self.typmod - 4;
            Some(((m >> 16) & 0xffff, ((m & 0x7ff) ^ 1024) - 1024))
        } else {
            None
        }
    }
}

#[derive(Clone, Debug)]
pub struct TargetColumn {
    pub name: String,
    pub ty: PgType,
    pub not_null: bool,
    pub has_default: bool,
    /// The default expression as Postgres prints it (`pg_get_expr`): the column's own,
    /// else its domain's.
    pub default_expr: Option<String>,
    pub identity: bool,
    pub generated: bool,
    /// The identity or serial sequence, or one its default calls, already quoted.
    pub sequence: Option<String>,
}

#[derive(Clone, Debug)]
pub struct TargetTable {
    pub schema: String,
    pub name: String,
    pub columns: Vec<TargetColumn>,
    /// Candidate row keys, best first: the primary key, then unique indexes over NOT
    /// NULL columns, fewest columns first.
    pub row_keys: Vec<Vec<String>>,
    /// Enabled user triggers that fire on UPDATE (a cycle's fill UPDATE would fire them).
    pub update_triggers: Vec<String>,
}

#[derive(Clone, Debug)]
pub struct ForeignKey {
    pub name: String,
    pub child_schema: String,
    pub child: String,
    pub child_columns: Vec<String>,
    pub parent_schema: String,
    pub parent: String,
    pub parent_columns: Vec<String>,
    pub deferrable: bool,
    /// MATCH FULL: a row may not mix NULL and non-NULL values in the FK columns.
    pub match_full: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_column_types() {
        let t = MyType::parse("tinyint", "tinyint(1)", None);
        assert_eq!(
            (t.base, t.len, t.unsigned),
            (MyBase::TinyInt, Some(1), false)
        );
        let t = MyType::parse("int", "int(10) unsigned", None);
        assert_eq!(
            (t.base, t.unsigned, t.int_range()),
            (MyBase::Int, true, (0, 4294967295))
        );
        let t = MyType::parse("enum", "enum('a','it''s','x,y')", None);
        assert_eq!(t.labels, vec!["a", "it's", "x,y"]);
        let t = MyType::parse("varchar", "varchar(36)", Some("binary"));
        assert!(t.binary && t.is_bytes() && !t.is_text());
        let t = MyType::parse("bigint", "bigint(20)", None);
        assert_eq!(t.int_range(), (i64::MIN as i128, i64::MAX as i128));
    }
}
