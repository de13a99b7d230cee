//! Decide once, then execute: `build_plan` maps source tables and columns onto the
//! pre-created target, picks one converter per column, the key each table is read in,
//! and the FK waves. Every problem is collected before anything is reported.

pub mod names;
pub mod waves;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

use serde::Serialize;

use crate::catalog::{ForeignKey, MyBase, SourceTable, TargetColumn, TargetTable};
use crate::config::Settings;
use crate::config::{ExistingRows, JsonDuplicateKeys, ZeroDates};
use crate::convert::{choose, Converter, Rule, SourceZone};
use crate::ident::{MyIdent, PgName};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    // Blocking problems.
    UnmappedSourceColumn,
    UnfilledTargetColumn,
    NoConversion,
    EnumLabelMissing,
    InvalidRule,
    /// Several source or target names match one another only case-insensitively (or
    /// only once truncated): none of them is copied.
    AmbiguousName,
    /// Blocks import/run only: the target table holds rows my2pg did not load.
    TargetNotEmpty,
    /// Blocks import/run only: the target user lacks a privilege the load needs.
    TargetPrivileges,
    /// Blocks import/run only (found by `plan` and `check`): `existing_rows =
    /// "truncate"` needs a TRUNCATE that Postgres would refuse.
    TruncateBlocked,
    // Warnings.
    TargetOnlyTable,
    SkippedColumn,
    NoPrimaryKey,
    ReferencesUnloadedTable,
    /// A source name longer than Postgres keeps matched its target once truncated.
    TruncatedName,
    /// A nullable source column feeds a NOT NULL target column: a NULL fails the run.
    NullableIntoNotNull,
    /// Blocking: nothing of the source table can be copied into its target table.
    NoCopyableColumns,
    /// A copied target table has a user trigger: it fires for every loaded row.
    UserTrigger,
    /// Warning: a unique index of a copied target table is partial or over expressions:
    /// the source does not enforce it and `check` cannot test it.
    UncheckedUniqueIndex,
    /// Blocking: `run.exclude` or a `[tables."t"]` section names a table that does not
    /// exist (a typo would otherwise copy, or truncate, what the operator meant to spare).
    UnknownConfigTable,
    /// Warning: a source enum label with `?` is missing in the target: MariaDB's catalog
    /// prints a 4-byte character (emoji) as `?`, so the label may well exist there.
    EnumLabelUnreadable,
    /// Warning: a target column no source column fills (it gets its default or NULL).
    TargetOnlyColumn,
    /// Warning: the source user lacks SELECT on the whole database: tables and columns
    /// it cannot see look absent and are not copied.
    SourcePrivileges,
    /// Blocking: the source user reads a copied table through column-level grants only:
    /// the columns it may not read would load as NULL or their defaults.
    ColumnGrantsOnly,
    /// Warning: a jsonb column's own rule replaces `json_duplicate_keys = "last"` there.
    RuleReplacesPolicy,
    /// Blocking: no table would be copied (a wrong database or schema in the config would
    /// otherwise "succeed" moving nothing).
    NothingToCopy,
    /// Warning: MySQL `timestamp` into `timestamp without time zone` on a server whose
    /// default time zone is not UTC: applications saw other wall-clock times than the
    /// UTC ones the target gets.
    TimestampZone,
    /// Warning: the source integer type holds values the target integer type cannot
    /// (`int unsigned` into integer): a larger value fails the run, naming its row.
    NarrowerTarget,
    /// Warning: a copied source table's engine (MyISAM, Aria, MEMORY) keeps no versions:
    /// the consistent snapshot does not cover it.
    OutsideSnapshot,
    /// Warning (`keep`): FKs an interrupted `rebuild` run left dropped are not in the
    /// graph the waves shown come from.
    FksLeftDropped,
    /// Warning: a sequence linked to no column is moved past the loaded values of the
    /// copied column its serial name (`<table>_<column>_seq`) points to.
    SequenceByName,
    /// Warning: a sequence linked to no column whose name points to no copied column:
    /// it is left where it is.
    UnlinkedSequence,
    /// Warning: `analyze = true`, and the target user may not ANALYZE some copied tables.
    AnalyzeNotAllowed,
    /// Warning: keep-identical merges a schema-migration bookkeeping table the target's
    /// migrations filled with the source's.
    BookkeepingMerged,
    /// Warning: truncate replaces the rows the target's migrations wrote in their
    /// bookkeeping table with the source's.
    BookkeepingReplaced,
    /// Warning: the source's AUTO_INCREMENT counter is past the bound of the sequence
    /// the run sets from it.
    SequenceAtBound,
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub kind: ProblemKind,
    pub table: String,
    pub column: Option<String>,
    pub message: String,
}

impl Plan {
    /// Tables whose `existing_rows = "truncate"` applies: they hold rows no my2pg run
    /// loaded (indexes into `tables`).
    pub fn seeded_tables_to_truncate(&self) -> Vec<usize> {
        self.tables
            .iter()
            .enumerate()
            .filter(|(_, t)| {
                t.existing_rows == ExistingRows::Truncate
                    && self
                        .non_empty
                        .iter()
                        .any(|n| n.table == t.target.name && n.chunks_in_ledger == 0)
            })
            .map(|(i, _)| i)
            .collect()
    }

    /// Source columns whose values are not copied (`convert = "skip"`, generated
    /// columns), and why.
    pub fn skipped_columns(&self) -> Vec<SkippedColumn> {
        self.warnings
            .iter()
            .filter(|w| w.kind == ProblemKind::SkippedColumn)
            .map(|w| {
                let column = w.column.clone().unwrap_or_default();
                let prefix = format!("{}.{}: ", w.table, column);
                let reason = w.message.strip_prefix(&prefix).unwrap_or(&w.message);
                SkippedColumn {
                    table: w.table.clone(),
                    column,
                    reason: reason.to_string(),
                }
            })
            .collect()
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// A default expression, as `pg_get_expr` prints it, that is one constant: a literal
/// (`0`, `-1.5`, `true`, `'x'`) followed only by casts (`'{}'::jsonb`, `'a'::"Status"`,
/// `'x'::character varying(20)`). Anything calling a function (`now()`, `nextval(...)`,
/// `gen_random_uuid()`) or naming a keyword (`CURRENT_TIMESTAMP`) is not: its value
/// differs per row or per run.
pub fn constant_default(expr: &str) -> bool {
    let b = expr.trim().as_bytes();
    let mut i = 0;
    // The literal.
    if b.first() == Some(&b'\'') {
        let Some(end) = after_quoted(b, 0) else {
            return false;
        };
        i = end;
    } else if b.starts_with(b"true") || b.starts_with(b"false") {
        i = if b[0] == b't' { 4 } else { 5 };
    } else {
        if b.first() == Some(&b'-') {
            i = 1;
        }
        let digits = i;
        while b
            .get(i)
            .is_some_and(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            i += 1;
        }
        if i == digits || !b[digits].is_ascii_digit() {
            return false;
        }
    }
    // Casts: `::` and a type name (words, quoted identifiers, `[]`, a typmod).
    while i < b.len() {
        if !b[i..].starts_with(b"::") {
            return false;
        }
        i += 2;
        let start = i;
        while i < b.len() && !b[i..].starts_with(b"::") {
            match b[i] {
                b'"' => match after_quoted(b, i) {
                    Some(end) => i = end,
                    None => return false,
                },
                c if c.is_ascii_alphanumeric() || matches!(c, b'_' | b' ' | b'.' | b'[' | b']') => {
                    i += 1
                }
                // A typmod: `(20)` or `(10,2)`, digits only.
                b'(' => {
                    i += 1;
                    while b.get(i).is_some_and(|c| c.is_ascii_digit() || *c == b',') {
                        i += 1;
                    }
                    if b.get(i) != Some(&b')') {
                        return false;
                    }
                    i += 1;
                }
                _ => return false,
            }
        }
        if i == start {
            return false;
        }
    }
    true
}

/// The position after the quoted run starting at `start` (`'it''s'`, `"a""b"`: the
/// quote doubled inside), or None when it never closes.
fn after_quoted(b: &[u8], start: usize) -> Option<usize> {
    let q = b[start];
    let mut i = start + 1;
    loop {
        match *b.get(i)? {
            c if c == q && b.get(i + 1) == Some(&q) => i += 2,
            c if c == q => return Some(i + 1),
            _ => i += 1,
        }
    }
}

/// `s` as a quoted TOML key (`"a \"b\""`), for hints that show config to paste.
pub fn toml_key(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A source column the copy leaves out (source table and column names).
#[derive(Debug, Clone, Serialize)]
pub struct SkippedColumn {
    pub table: String,
    pub column: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub table: String,
    pub reason: String,
    /// The source's row estimate (statistics, not exact): what is left behind.
    pub est_rows: u64,
}

#[derive(Debug, Clone)]
pub struct ColumnPlan {
    pub source: String,
    pub source_type: String,
    pub target: String,
    pub target_type: String,
    /// `typname` of the target's base type (domains resolved), e.g. `float8`.
    pub target_base: String,
    pub converter: Converter,
    /// A config rule applied before the converter (counted when it changes a value).
    pub rule: Option<Rule>,
    /// The target column accepts NULL.
    pub target_nullable: bool,
    /// How the reader's select list asks for the value.
    pub read: ReadAs,
    /// Rule `null_to_default`: the target default's expression (a constant), and once
    /// `prepare` has evaluated it, its text, written for every NULL.
    pub null_default: Option<NullDefault>,
    /// The target column's default expression (`pg_get_expr`), if it has one.
    pub target_default: Option<String>,
}

impl ColumnPlan {
    /// What to do about NULLs going into this NOT NULL column. Rule null_to_default only
    /// where it is accepted (a constant default): offered for a `current_timestamp`
    /// default, it was then refused by plan (RT and Superset trials).
    pub fn null_into_not_null_remedy(&self) -> String {
        match &self.target_default {
            Some(d) if constant_default(d) => crate::convert::ProblemClass::NullIntoNotNull
                .remedy()
                .to_string(),
            Some(d) => format!(
                "fix them in the source, make the target column nullable, or leave the column \
                 out: convert = \"skip\" (every row then gets the target's default {d}, not \
                 only these; null_to_default writes only a constant default)"
            ),
            None => "fix them in the source, or make the target column nullable (it has no \
                     default to write for them)"
                .into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NullDefault {
    pub expr: String,
    /// `(expr)::text` as the target computes it; empty until evaluated.
    pub text: String,
}

/// The select-list expression of a copied column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadAs {
    /// The column itself.
    Column,
    /// `CAST(c AS BINARY)`, the stored bytes: a text column in a non-UTF-8 charset whose
    /// target keeps bytes (bytea, rules hex/base64). Not for key columns: their values
    /// are also the keyset bounds, compared in the column's collation.
    StoredBytes,
    /// `CAST(c AS CHAR)`, the text MySQL shows: dates and times into text, zerofill and
    /// year columns into text (not as keys: their bounds must stay numbers).
    ServerText,
    /// `CAST(c AS UNSIGNED)`: bit(n) into a number column (the bit value, not its bytes).
    Unsigned,
}

#[derive(Debug, Clone)]
pub struct TablePlan {
    pub source: String,
    pub target: PgName,
    /// Directory name under the work directory (safe on any filesystem).
    pub dir: String,
    /// Copied columns, in source order; the select list starts with these.
    pub columns: Vec<ColumnPlan>,
    /// Key columns read but not copied (appended to the select list).
    pub extra_key_columns: Vec<String>,
    /// The source key the table is read in (primary key, or a unique NOT NULL key).
    pub key: Vec<String>,
    /// Positions of the key columns in the select list.
    pub key_positions: Vec<usize>,
    /// How each key column's bound is sent in a keyset read (same length as `key`, or
    /// empty when every bound is sent as read).
    pub key_bounds: Vec<KeyBound>,
    /// No usable key: rows are ordered by every column and the table is exported in one go.
    pub ordered_by_all: bool,
    /// `key` is the source's primary key (else a unique NOT NULL key, or every column):
    /// messages name a row by what the key is.
    pub key_is_primary: bool,
    pub wave: usize,
    /// (column, quoted sequence name) to move past the loaded maximum.
    pub sequences: Vec<(String, String)>,
    /// (target column, next value) of the source's AUTO_INCREMENT column: its sequence
    /// also moves to that value, so ids MySQL handed out and deleted do not come again.
    pub source_next_id: Option<(String, u64)>,
    pub est_rows: u64,
    pub est_bytes: u64,
    /// The target's primary key columns (keep-identical compares rows by it).
    pub target_key: Vec<String>,
    /// Policy for rows already in the target table.
    pub existing_rows: ExistingRows,
    /// The table held rows my2pg did not load when the run started: keep-identical merges.
    pub merge_existing: bool,
    /// FK columns loaded as NULL and filled after the last wave (cycle breaks).
    pub fills: Vec<Fill>,
    /// Source column sets the source keeps unique (primary key and unique indexes).
    pub source_unique_keys: Vec<Vec<String>>,
    /// Columns whose charset has bytes with no Unicode character: checked on every row.
    pub charset_checks: Vec<CharsetCheck>,
    /// Set columns into text[] whose set defines '' as a member: their bit mask is read
    /// too, since MySQL's text can leave that member out.
    pub set_member_reads: Vec<SetMemberRead>,
    /// (column, collation) of each text key column: kept chunks were read in that
    /// order, so a resume under another collation would lose or repeat rows.
    pub key_collations: Vec<(String, String)>,
}

/// A set column read with its bit mask (`c + 0`), see `convert::hidden_set_members`.
#[derive(Debug, Clone)]
pub struct SetMemberRead {
    /// Index into `columns`.
    pub column: usize,
    /// The set's members in declaration order (bit i is member i).
    pub labels: Vec<String>,
}

/// A text column in a charset where the server's conversion can lose bytes.
#[derive(Debug, Clone)]
pub struct CharsetCheck {
    /// Index into `columns`.
    pub column: usize,
    pub charset: String,
}

/// How a key value read from a row is sent back as the bound of `key > ?`. MySQL
/// sorts enum and set columns by their internal number (enum index, set bitmask) and
/// bit columns as unsigned integers, but compares them with a string or bytes
/// parameter as strings: the bound is sent as that number, so the range predicate
/// agrees with `ORDER BY` (and the index still serves the order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyBound {
    AsRead,
    /// Label -> 1-based index in declaration order ('' not declared -> 0, the error value).
    EnumIndex(Vec<String>),
    /// Comma-separated members -> bitmask by declaration order.
    SetBits(Vec<String>),
    /// Big-endian bytes -> unsigned integer.
    BitValue,
}

impl KeyBound {
    pub fn bound(&self, v: &mysql_async::Value) -> std::result::Result<mysql_async::Value, String> {
        use mysql_async::Value;
        let Value::Bytes(b) = v else {
            return Ok(v.clone());
        };
        let text = || std::str::from_utf8(b).map_err(|_| "not UTF-8".to_string());
        match self {
            KeyBound::AsRead => Ok(v.clone()),
            KeyBound::BitValue => {
                if b.len() > 8 {
                    return Err(format!("{} bytes is more than bit(64)", b.len()));
                }
                Ok(Value::UInt(
                    b.iter().fold(0u64, |n, &x| n << 8 | u64::from(x)),
                ))
            }
            KeyBound::EnumIndex(labels) => {
                let s = text()?;
                match labels.iter().position(|l| l == s) {
                    Some(i) => Ok(Value::UInt(i as u64 + 1)),
                    None if s.is_empty() => Ok(Value::UInt(0)),
                    None => Err(format!("{s:?} is not a label of the enum")),
                }
            }
            KeyBound::SetBits(labels) => {
                let s = text()?;
                let mut mask = 0u64;
                for m in s.split(',').filter(|m| !m.is_empty()) {
                    let i = labels
                        .iter()
                        .position(|l| l == m)
                        .ok_or_else(|| format!("{m:?} is not a member of the set"))?;
                    mask |= 1u64 << i;
                }
                Ok(Value::UInt(mask))
            }
        }
    }
}

/// The `my2pg` table holding the real values of FK `constraint` of `schema.child` while
/// its rows load with those columns NULL (an FK cycle broken under `constraints = "keep"`).
pub fn fill_table_name(schema: &str, child: &str, constraint: &str) -> String {
    use sha2::{Digest, Sha256};
    let id = Sha256::digest(format!("{schema}\0{child}\0{constraint}"));
    format!("fill_{}", hex::encode(&id[..8]))
}

/// One broken nullable FK of a table: its columns load as NULL; the real values are
/// kept in `my2pg.<table>` (same transaction as the chunk) and filled by one UPDATE.
#[derive(Debug, Clone)]
pub struct Fill {
    pub constraint: String,
    pub columns: Vec<String>,
    /// Unquoted table name inside the `my2pg` schema.
    pub table: String,
}

#[cfg(test)]
impl TablePlan {
    /// A plan for `name` (same name on both sides, schema public) with these columns and
    /// nothing else set: tests override what they exercise.
    pub fn test_table(name: &str, columns: Vec<ColumnPlan>) -> TablePlan {
        TablePlan {
            source: name.into(),
            target: PgName {
                schema: "public".into(),
                name: name.into(),
            },
            dir: name.into(),
            columns,
            extra_key_columns: vec![],
            key: vec![],
            key_positions: vec![],
            key_bounds: vec![],
            ordered_by_all: false,
            key_is_primary: true,
            wave: 0,
            sequences: vec![],
            source_next_id: None,
            est_rows: 0,
            est_bytes: 0,
            target_key: vec![],
            existing_rows: Default::default(),
            merge_existing: false,
            fills: vec![],
            source_unique_keys: vec![],
            charset_checks: vec![],
            set_member_reads: vec![],
            key_collations: vec![],
        }
    }
}

impl TablePlan {
    /// What the key that names a row in messages is.
    pub fn key_label(&self) -> &'static str {
        if self.ordered_by_all {
            "row"
        } else if self.key_is_primary {
            "primary key"
        } else {
            "unique key"
        }
    }

    /// The copied target columns, quoted, in CSV field order (the COPY/INSERT column list).
    pub fn quoted_target_columns(&self) -> Vec<String> {
        self.columns
            .iter()
            .map(|c| crate::ident::PgIdent(c.target.clone()).to_string())
            .collect()
    }

    /// The reader's select list: the copied columns (bytes as stored where
    /// `read_stored_bytes`), the key columns not copied, one flag per charset check, then
    /// `ISNULL(c)` per stored-bytes column: `CAST(c AS BINARY)` is NULL for a value above
    /// the server's max_allowed_packet, which must fail, never load as NULL.
    pub fn select_exprs(&self) -> Vec<String> {
        let q = |c: &str| MyIdent(c.to_string()).to_string();
        let mut out: Vec<String> = self
            .columns
            .iter()
            .map(|c| {
                let col = q(&c.source);
                match c.read {
                    ReadAs::Column => col,
                    ReadAs::StoredBytes => format!("CAST({col} AS BINARY)"),
                    ReadAs::ServerText => format!("CAST({col} AS CHAR)"),
                    ReadAs::Unsigned => format!("CAST({col} AS UNSIGNED)"),
                }
            })
            .collect();
        out.extend(self.extra_key_columns.iter().map(|c| q(c)));
        for ch in &self.charset_checks {
            let c = q(&self.columns[ch.column].source);
            // 1 when the value survives utf8mb4 and back unchanged, 0 when MariaDB put
            // `?` for a byte, NULL for NULL.
            out.push(format!(
                "CAST(CONVERT(CONVERT({c} USING utf8mb4) USING {}) AS BINARY) = CAST({c} AS BINARY)",
                ch.charset
            ));
        }
        for i in self.stored_bytes_columns() {
            out.push(format!("ISNULL({})", q(&self.columns[i].source)));
        }
        for s in &self.set_member_reads {
            out.push(format!("{} + 0", q(&self.columns[s.column].source)));
        }
        out
    }

    /// Position of set member read `k`'s bit mask in a row read with `select_exprs`.
    pub fn set_bits_position(&self, k: usize) -> usize {
        self.null_flag_position(self.stored_bytes_columns().count()) + k
    }

    /// The set labels and bit mask position of column `i`, when it is a set member read.
    pub fn set_member_read(&self, i: usize) -> Option<(&[String], usize)> {
        self.set_member_reads
            .iter()
            .enumerate()
            .find(|(_, s)| s.column == i)
            .map(|(k, s)| (s.labels.as_slice(), self.set_bits_position(k)))
    }

    /// Copied columns read as `CAST(c AS BINARY)`, in order.
    pub fn stored_bytes_columns(&self) -> impl Iterator<Item = usize> + '_ {
        self.columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.read == ReadAs::StoredBytes)
            .map(|(i, _)| i)
    }

    /// Position of the `ISNULL` flag of the `k`-th stored-bytes column.
    pub fn null_flag_position(&self, k: usize) -> usize {
        self.charset_flag_position(self.charset_checks.len()) + k
    }

    /// Position of charset check `k`'s flag in a row read with `select_exprs`.
    pub fn charset_flag_position(&self, k: usize) -> usize {
        self.columns.len() + self.extra_key_columns.len() + k
    }

    /// A fingerprint of everything that shapes the chunk bytes: a resumed export refuses
    /// files written under a different plan.
    pub fn fingerprint(&self, chunk_rows: u64) -> String {
        self.fingerprint_of(chunk_rows, true)
    }

    /// Whether the manifest's chunks were written under this plan. A manifest without
    /// its own checksum comes from a version whose fingerprint left rules out: that one
    /// is accepted too, so an upgrade mid-migration does not refuse its work directory.
    pub fn wrote(&self, m: &crate::workdir::manifest::Manifest, chunk_rows: u64) -> bool {
        m.fingerprint == self.fingerprint(chunk_rows)
            || (m.checksum.is_none() && m.fingerprint == self.fingerprint_of(chunk_rows, false))
    }

    /// The chunk size `m` was exported with, when that alone differs from this run's (its
    /// largest chunk is a full one): the message can name the setting to resume with.
    pub fn earlier_chunk_rows(
        &self,
        m: &crate::workdir::manifest::Manifest,
        chunk_rows: u64,
    ) -> Option<u64> {
        let rows = m.chunks.iter().map(|c| c.rows).max()?;
        (rows > 0 && rows != chunk_rows && self.wrote(m, rows)).then_some(rows)
    }

    /// Why files of `m` cannot be resumed under this plan, for messages.
    pub fn mismatch(&self, m: &crate::workdir::manifest::Manifest, chunk_rows: u64) -> String {
        match self.earlier_chunk_rows(m, chunk_rows) {
            Some(n) => format!(
                "was exported with chunk_rows = {n} and this run uses {chunk_rows} \
                 (`--chunk-rows {n}` or run.chunk_rows = {n} resumes it)"
            ),
            None => "was exported under a different plan or chunk size (run.chunk_rows, a rule \
                     or a column changed since)"
                .to_string(),
        }
    }

    fn fingerprint_of(&self, chunk_rows: u64, with_rules: bool) -> String {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(format!("v1|{}|{}|{chunk_rows}|", self.source, self.target));
        for c in &self.columns {
            h.update(format!(
                "{}|{}|{}|{:?}\n",
                c.source, c.source_type, c.target, c.converter
            ));
            // Only when set, so fingerprints of unaffected tables stay as they were.
            match c.read {
                ReadAs::Column => {}
                ReadAs::StoredBytes => h.update("stored bytes\n"),
                other => h.update(format!("read {other:?}\n")),
            }
            // A rule changes values (empty_to_null turns '' into NULL): chunks written
            // before it was set must not be mixed with chunks written after.
            if let Some(rule) = c.rule.filter(|_| with_rules) {
                h.update(format!("rule {}\n", rule.name()));
                // Same name, other values: the variant tells them apart.
                match rule {
                    Rule::TextToTimestampEmptyNull => h.update("empty as null\n"),
                    Rule::TextToTimestampEmptyInfinity => h.update("empty as infinity\n"),
                    _ => {}
                }
            }
            // The value written for NULL: a changed default must not mix with old chunks.
            if let Some(d) = c.null_default.as_ref().filter(|_| with_rules) {
                h.update(format!("default {:?}\n", d.text));
            }
        }
        // Sets whose '' member the text left out load with it since this was read.
        for s in &self.set_member_reads {
            h.update(format!(
                "set members of {}\n",
                self.columns[s.column].source
            ));
        }
        h.update(format!("key {:?} all {}", self.key, self.ordered_by_all));
        hex::encode(&h.finalize()[..16])
    }
}

#[derive(Debug, Clone, Default)]
pub struct Plan {
    /// Copied tables, ordered by wave, then by target name.
    pub tables: Vec<TablePlan>,
    /// Table indexes per wave.
    pub waves: Vec<Vec<usize>>,
    pub skipped: Vec<Skipped>,
    pub target_only: Vec<String>,
    pub problems: Vec<Problem>,
    pub warnings: Vec<Problem>,
    /// Copied target tables that already hold rows.
    pub non_empty: Vec<NonEmptyTable>,
    /// How each FK cycle is broken.
    pub breaks: Vec<waves::CycleBreak>,
}

#[derive(Debug, Clone, Serialize)]
pub struct NonEmptyTable {
    pub table: String,
    pub existing_rows: ExistingRows,
    /// Chunks of this table in the ledger: rows an earlier my2pg run loaded.
    pub chunks_in_ledger: i64,
}

impl Plan {
    pub fn is_runnable(&self) -> bool {
        self.problems.is_empty()
    }

    /// Export never touches the target, so a non-empty target does not block it.
    pub fn is_exportable(&self) -> bool {
        self.problems.iter().all(|p| {
            matches!(
                p.kind,
                ProblemKind::TargetNotEmpty
                    | ProblemKind::TargetPrivileges
                    | ProblemKind::TruncateBlocked
            )
        })
    }
}

/// Directory name for a table: the name itself when it is plainly safe, else a
/// sanitized form plus a hash so hostile or unicode names cannot escape or collide.
pub fn dir_name(table: &str) -> String {
    let safe = !table.is_empty()
        && table.len() <= 64
        && table
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if safe {
        return table.to_string();
    }
    hashed_dir_name(table)
}

/// A sanitized form of the name plus a hash of the exact name.
pub(crate) fn hashed_dir_name(table: &str) -> String {
    use sha2::{Digest, Sha256};
    let hash = hex::encode(&Sha256::digest(table.as_bytes())[..4]);
    let clean: String = table
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    format!("{clean}-{hash}")
}

/// Per-column rules keyed by (source table, source column).
type Rules = BTreeMap<(String, String), Rule>;

/// Resolves each `[columns."table.column"]` key against the source tables: a table
/// name may hold dots itself, so the key is split after every source table name it
/// starts with, and only a split that names an existing column counts.
fn resolve_rules(source: &[SourceTable], settings: &Settings, plan: &mut Plan) -> Rules {
    let mut rules = Rules::new();
    for (key, rule) in &settings.rules {
        let splits: Vec<(&SourceTable, &str)> = source
            .iter()
            .filter_map(|t| {
                let column = key.strip_prefix(t.name.as_str())?.strip_prefix('.')?;
                Some((t, column))
            })
            .collect();
        let found: Vec<&(&SourceTable, &str)> = splits
            .iter()
            .filter(|(t, c)| t.columns.iter().any(|sc| sc.name == *c))
            .collect();
        match found.as_slice() {
            [(t, c)] => {
                rules.insert((t.name.clone(), c.to_string()), *rule);
            }
            [] => {
                // Name the longest table the key starts with, else split at the first dot.
                let (table, column) = splits
                    .iter()
                    .max_by_key(|(t, _)| t.name.len())
                    .map(|(t, c)| (t.name.as_str(), *c))
                    .or_else(|| key.split_once('.'))
                    .unwrap_or((key.as_str(), ""));
                plan.problems.push(Problem {
                    kind: ProblemKind::InvalidRule,
                    table: table.to_string(),
                    column: Some(column.to_string()),
                    message: format!("[columns.\"{key}\"] names no source column"),
                });
            }
            several => {
                let (t, c) = several[0];
                let meanings: Vec<String> = several
                    .iter()
                    .map(|(t, c)| format!("column \"{c}\" of table \"{}\"", t.name))
                    .collect();
                plan.problems.push(Problem {
                    kind: ProblemKind::InvalidRule,
                    table: t.name.clone(),
                    column: Some(c.to_string()),
                    message: format!(
                        "[columns.\"{key}\"] is ambiguous: it can mean {}; rename a table or column",
                        meanings.join(" or ")
                    ),
                });
            }
        }
    }
    rules
}

fn how_words(how: names::How) -> &'static str {
    match how {
        names::How::Exact => "exactly",
        names::How::CaseInsensitive => "only case-insensitively",
        names::How::Truncated => "only once truncated to 63 bytes as Postgres does",
    }
}

fn ambiguous_tables(a: &names::Ambiguity, src: &[&str], tgt: &[&str]) -> String {
    format!(
        "ambiguous table names: source table{} {} and target table{} {} match {}; none is copied \
         (rename one side, or exclude the extra source tables with run.exclude)",
        if a.sources.len() > 1 { "s" } else { "" },
        names::quoted_list(a.sources.iter().map(|&i| src[i])),
        if a.targets.len() > 1 { "s" } else { "" },
        names::quoted_list(a.targets.iter().map(|&i| tgt[i])),
        how_words(a.how),
    )
}

/// Zone names MySQL/MariaDB report for UTC (`@@time_zone`, or `@@system_time_zone`
/// under `SYSTEM`). Not `GMT`: `@@system_time_zone` is the abbreviation at server start,
/// and a London host started in winter says GMT while its summer is BST.
fn is_utc(zone: &str) -> bool {
    matches!(
        zone.trim().to_ascii_lowercase().as_str(),
        "utc"
            | "uct"
            | "+00:00"
            | "-00:00"
            | "+0:00"
            | "etc/utc"
            | "etc/uct"
            | "universal"
            | "etc/universal"
            | "zulu"
            | "etc/zulu"
            | "z"
            | "coordinated universal time"
    )
}

/// MySQL `timestamp` values are instants; a session shows them in its time zone, the
/// server's default unless the application set its own. my2pg reads them in UTC, which
/// is exact for timestamptz; a `timestamp without time zone` target gets the UTC
/// wall-clock time, which is not what applications of a server running in another zone
/// saw. Nothing in the data tells which zone they used, so this is a warning.
pub fn timestamp_zone_warnings(plan: &Plan, server_zone: &str) -> Vec<Problem> {
    if is_utc(server_zone) {
        return Vec::new();
    }
    let mut out = Vec::new();
    for t in &plan.tables {
        for c in &t.columns {
            let ts_source = c.source_type.to_ascii_lowercase().starts_with("timestamp");
            // Into date too: the day is the UTC day.
            if ts_source && matches!(c.target_base.as_str(), "timestamp" | "date") {
                out.push(Problem {
                    kind: ProblemKind::TimestampZone,
                    table: t.target.name.clone(),
                    column: Some(c.target.clone()),
                    message: format!(
                        "{}.{}: MySQL timestamp values are instants and are written as UTC \
                         wall-clock times into this {} column, but the \
                         source server's time zone is {server_zone}: applications that did not \
                         set their own session zone saw them as {server_zone} times; use a \
                         timestamptz target, or make sure the application reads these as UTC",
                        t.target.name,
                        c.target,
                        if c.target_base == "date" {
                            "date"
                        } else {
                            "timestamp without time zone"
                        }
                    ),
                });
            }
        }
    }
    out
}

pub fn build_plan(
    source: &[SourceTable],
    target: &[TargetTable],
    fks: &[ForeignKey],
    settings: &Settings,
    source_zone: Option<&Arc<SourceZone>>,
) -> Plan {
    let mut plan = Plan::default();
    let mut tables = Vec::new();
    let rules = resolve_rules(source, settings, &mut plan);
    let included: Vec<&SourceTable> = source
        .iter()
        .filter(|st| {
            let excluded = settings.exclude.contains(&st.name);
            if excluded {
                plan.skipped.push(Skipped {
                    table: st.name.clone(),
                    reason: "excluded by run.exclude".into(),
                    est_rows: st.est_rows,
                });
            }
            !excluded
        })
        .collect();
    let src_names: Vec<&str> = included.iter().map(|t| t.name.as_str()).collect();
    let tgt_names: Vec<&str> = target.iter().map(|t| t.name.as_str()).collect();
    let m = names::match_names(&src_names, &tgt_names);
    for a in &m.ambiguous {
        plan.problems.push(Problem {
            kind: ProblemKind::AmbiguousName,
            table: src_names[a.sources[0]].to_string(),
            column: None,
            message: ambiguous_tables(a, &src_names, &tgt_names),
        });
    }
    for (i, st) in included.iter().enumerate() {
        if m.ambiguity_of(i).is_some() {
            continue; // reported above, as one blocking problem per group
        }
        let Some((ti, how)) = m.bound[i] else {
            // A target of the same folded name taken by an exact match says why.
            let taken = target.iter().enumerate().find(|(ti, tt)| {
                names::fold(&tt.name) == names::fold(&st.name) && m.target_is_bound(*ti)
            });
            let reason = match taken {
                Some((_, tt)) => format!(
                    "target table \"{}\" is matched exactly by another source table; \
                     names that differ only in case are never guessed",
                    tt.name
                ),
                None => format!(
                    "no table of that name in target schema \"{}\"",
                    settings.schema
                ),
            };
            plan.skipped.push(Skipped {
                table: st.name.clone(),
                reason,
                est_rows: st.est_rows,
            });
            continue;
        };
        let tt = &target[ti];
        if how == names::How::Truncated {
            plan.warnings.push(Problem {
                kind: ProblemKind::TruncatedName,
                table: st.name.clone(),
                column: None,
                message: format!(
                    "source table \"{}\" is longer than 63 bytes: copied into target table \"{}\", \
                     the name as Postgres truncates it",
                    st.name, tt.name
                ),
            });
        }
        tables.push(plan_table(st, tt, settings, source_zone, &rules, &mut plan));
    }
    for (ti, tt) in target.iter().enumerate() {
        let in_ambiguity = m.ambiguous.iter().any(|a| a.targets.contains(&ti));
        if !m.target_is_bound(ti) && !in_ambiguity {
            plan.target_only.push(tt.name.clone());
            plan.warnings.push(Problem {
                kind: ProblemKind::TargetOnlyTable,
                table: tt.name.clone(),
                column: None,
                message: match settings
                    .exclude
                    .iter()
                    .find(|x| names::fold(x) == names::fold(&tt.name))
                {
                    Some(x) => format!(
                        "target table \"{}\" is not loaded: its source table \"{x}\" is in \
                         run.exclude; my2pg leaves it as it is",
                        tt.name
                    ),
                    None => format!(
                        "target table \"{}\" has no source table; my2pg leaves it as it is",
                        tt.name
                    ),
                },
            });
        }
    }
    for name in &settings.exclude {
        if source.iter().any(|st| &st.name == name) {
            continue;
        }
        // Not a typo when the target has the table: a source user without any privilege
        // on a table does not see it (the h25 trial: a blocking "names are exact" beside
        // "its source table is in run.exclude").
        if target.iter().any(|tt| &tt.name == name) {
            plan.warnings.push(Problem {
                kind: ProblemKind::UnknownConfigTable,
                table: name.clone(),
                column: None,
                message: format!(
                    "run.exclude names \"{name}\", which the source user cannot see (it has no \
                     privilege on such a table, or there is none); target table \"{name}\" is \
                     left as it is"
                ),
            });
        } else {
            plan.problems.push(Problem {
                kind: ProblemKind::UnknownConfigTable,
                table: name.clone(),
                column: None,
                message: format!(
                    "run.exclude names \"{name}\", which is not a source table (names are exact \
                     and case-sensitive)"
                ),
            });
        }
    }
    for name in settings.table_existing_rows.keys() {
        if !target.iter().any(|tt| &tt.name == name) {
            // [columns] and run.exclude take source names; say so when that is the slip.
            let hint = match tables.iter().find(|t| &t.source == name) {
                Some(t) => format!(
                    "; \"{name}\" is a source table: [tables.*] keys are target names, here \
                     [tables.\"{}\"]",
                    t.target.name
                ),
                None => String::new(),
            };
            plan.problems.push(Problem {
                kind: ProblemKind::UnknownConfigTable,
                table: name.clone(),
                column: None,
                message: format!(
                    "[tables.\"{name}\"] names no table of target schema \"{}\" (names are \
                     exact and case-sensitive){hint}",
                    settings.schema
                ),
            });
        } else if !tables.iter().any(|t| &t.target.name == name) {
            // my2pg never touches a table it does not load: its policy does nothing.
            plan.warnings.push(Problem {
                kind: ProblemKind::TargetOnlyTable,
                table: name.clone(),
                column: None,
                message: format!(
                    "[tables.\"{name}\"] has no effect: my2pg does not load \"{name}\" \
                     (excluded, or no source table), so it never empties nor compares its rows"
                ),
            });
        }
    }
    if tables.is_empty() {
        let message = if source.is_empty() {
            "the source database has no tables: nothing would be copied (is the database in \
             source.url the right one?)"
                .to_string()
        } else if source.iter().all(|st| settings.exclude.contains(&st.name)) {
            "run.exclude names every source table: nothing would be copied".to_string()
        } else {
            format!(
                "no source table has a table to copy into in target schema \"{}\": nothing \
                 would be copied (are target.schema and the database in target.url the right \
                 ones?)",
                settings.schema
            )
        };
        plan.problems.push(Problem {
            kind: ProblemKind::NothingToCopy,
            table: String::new(),
            column: None,
            message,
        });
    }
    let update_triggered: BTreeSet<&str> = target
        .iter()
        .filter(|t| !t.update_triggers.is_empty())
        .map(|t| t.name.as_str())
        .collect();
    let mut result = waves::plan_waves(&tables, fks, &settings.schema, &update_triggered);
    if settings.constraints == crate::config::ConstraintStrategy::Rebuild {
        // Every FK of a copied table is dropped for the load: one wave, no cycle breaks.
        result.wave_of = vec![0; tables.len()];
        result.breaks.clear();
    }
    plan.warnings.extend(result.warnings);
    for b in &result.breaks {
        if b.strategy != waves::BreakStrategy::NullThenFill {
            continue;
        }
        if let Some(t) = tables.iter_mut().find(|t| t.target.name == b.child) {
            t.fills.push(Fill {
                constraint: b.constraint.clone(),
                columns: b.columns.clone(),
                table: fill_table_name(&b.schema, &b.child, &b.constraint),
            });
        }
    }
    plan.breaks = result.breaks;
    for (t, w) in tables.iter_mut().zip(&result.wave_of) {
        t.wave = *w;
    }
    tables.sort_by(|a, b| (a.wave, &a.target.name).cmp(&(b.wave, &b.target.name)));
    let mut waves: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for (i, t) in tables.iter().enumerate() {
        waves.entry(t.wave).or_default().push(i);
    }
    plan.waves = waves.into_values().collect();
    // Target tables whose names differ only in case ("Users", "users") would share one
    // directory on a case-insensitive filesystem (macOS, Windows shares): both get the
    // hashed form, which tells exact names apart. Other directories stay as they were.
    let folded: Vec<String> = tables.iter().map(|t| t.dir.to_lowercase()).collect();
    for (i, t) in tables.iter_mut().enumerate() {
        if folded.iter().filter(|f| **f == folded[i]).count() > 1 {
            t.dir = hashed_dir_name(&t.target.name);
        }
    }
    plan.tables = tables;
    plan
}

fn plan_table(
    st: &SourceTable,
    tt: &TargetTable,
    settings: &Settings,
    source_zone: Option<&Arc<SourceZone>>,
    rules: &Rules,
    plan: &mut Plan,
) -> TablePlan {
    let mut columns = Vec::new();
    let problems_before = plan.problems.len();
    let mut mapped_targets = BTreeSet::new();
    // Target columns whose matching source column a `skip` rule leaves out.
    let mut skipped_targets = BTreeSet::new();
    let problem = |plan: &mut Plan, kind, column: &str, message: String| {
        let p = Problem {
            kind,
            table: st.name.clone(),
            column: Some(column.to_string()),
            message,
        };
        if matches!(kind, ProblemKind::SkippedColumn) {
            plan.warnings.push(p);
        } else {
            plan.problems.push(p);
        }
    };
    let src_names: Vec<&str> = st.columns.iter().map(|c| c.name.as_str()).collect();
    let tgt_names: Vec<&str> = tt.columns.iter().map(|c| c.name.as_str()).collect();
    let m = names::match_names(&src_names, &tgt_names);
    for a in &m.ambiguous {
        // Target columns of an ambiguous group are not "unfilled" on top of it.
        mapped_targets.extend(a.targets.iter().map(|&i| tt.columns[i].name.clone()));
    }
    for (i, sc) in st.columns.iter().enumerate() {
        if let Some(a) = m.ambiguity_of(i) {
            problem(
                plan,
                ProblemKind::AmbiguousName,
                &sc.name,
                format!(
                    "{}.{}: ambiguous column names: source column{} {} and target column{} {} of table \"{}\" match {}; \
                     none is copied (rename one side)",
                    st.name,
                    sc.name,
                    if a.sources.len() > 1 { "s" } else { "" },
                    names::quoted_list(a.sources.iter().map(|&i| src_names[i])),
                    if a.targets.len() > 1 { "s" } else { "" },
                    names::quoted_list(a.targets.iter().map(|&i| tgt_names[i])),
                    tt.name,
                    how_words(a.how),
                ),
            );
            continue;
        }
        if rules.get(&(st.name.clone(), sc.name.clone())) == Some(&Rule::Skip) {
            if let Some((ti, _)) = m.bound[i] {
                skipped_targets.insert(tt.columns[ti].name.clone());
            }
            problem(
                plan,
                ProblemKind::SkippedColumn,
                &sc.name,
                format!(
                    "{}.{}: skipped by [columns.\"{}.{}\"] convert = \"skip\": its values are not copied",
                    st.name, sc.name, st.name, sc.name
                ),
            );
            continue;
        }
        let tc: Option<&TargetColumn> = m.bound[i].map(|(ti, how)| {
            if how == names::How::Truncated {
                plan.warnings.push(Problem {
                    kind: ProblemKind::TruncatedName,
                    table: st.name.clone(),
                    column: Some(sc.name.clone()),
                    message: format!(
                        "{}.{}: source column is longer than 63 bytes: copied into target column \"{}\", \
                         the name as Postgres truncates it",
                        st.name, sc.name, tt.columns[ti].name
                    ),
                });
            }
            &tt.columns[ti]
        });
        let Some(tc) = tc else {
            if sc.generated {
                problem(
                    plan,
                    ProblemKind::SkippedColumn,
                    &sc.name,
                    format!(
                    "{}.{}: generated source column with no target column: skipped (derived data)",
                    st.name, sc.name
                ),
                );
            } else if sc.invisible_row_id {
                problem(
                    plan,
                    ProblemKind::SkippedColumn,
                    &sc.name,
                    format!(
                        "{}.{}: MySQL's generated invisible primary key with no target column: \
                         not copied (it still orders the reads)",
                        st.name, sc.name
                    ),
                );
            } else {
                problem(
                    plan,
                    ProblemKind::UnmappedSourceColumn,
                    &sc.name,
                    format!(
                        "{}.{}: source column has no column in target table \"{}\" (to leave its \
                         values behind on purpose: [columns.\"{}.{}\"] convert = \"skip\")",
                        st.name, sc.name, tt.name, st.name, sc.name
                    ),
                );
            }
            continue;
        };
        mapped_targets.insert(tc.name.clone());
        if tc.generated {
            problem(
                plan,
                ProblemKind::SkippedColumn,
                &sc.name,
                format!(
                    "{}.{}: target column \"{}\" is generated: the source value is not copied",
                    st.name, sc.name, tc.name
                ),
            );
            continue;
        }
        let rule = rules.get(&(st.name.clone(), sc.name.clone())).copied();
        let is_date = matches!(
            sc.ty.base,
            MyBase::Date | MyBase::DateTime | MyBase::Timestamp
        );
        let rule = rule.or_else(|| {
            // zero_dates = "null" is the zero_date_to_null rule on every nullable date column.
            (settings.zero_dates == ZeroDates::Null && is_date && !tc.not_null)
                .then_some(Rule::ZeroDateToNull)
        });
        let text_target = matches!(
            tc.ty.name.as_str(),
            "text" | "varchar" | "bpchar" | "citext"
        );
        let interval_target = tc.ty.name == "interval";
        let time_target = matches!(tc.ty.name.as_str(), "timestamp" | "timestamptz" | "date");
        let string_source = sc.ty.is_text() || (sc.ty.is_bytes() && sc.ty.base != MyBase::Bit);
        let forced = match rule {
            // Read as a datetime(6) would be, in UTC: the text carries its own zone, if any.
            Some(r) if r.reads_timestamp_text() && time_target && string_source => choose(
                &crate::catalog::MyType::parse("datetime", "datetime(6)", None),
                &tc.ty,
                None,
            )
            .map(|inner| Converter::TextTimestamp {
                inner: Box::new(inner),
            }),
            Some(Rule::Base64) if text_target => Some(Converter::Base64Text),
            Some(Rule::Hex) if text_target => Some(Converter::HexText),
            Some(Rule::MicrosecondsToInterval) if interval_target && sc.ty.is_integer() => {
                Some(crate::convert::interval_count_converter(1, tc.ty.typmod))
            }
            Some(Rule::SecondsToInterval) if interval_target && sc.ty.is_integer() => Some(
                crate::convert::interval_count_converter(1_000_000, tc.ty.typmod),
            ),
            Some(Rule::EpochDatetimeToInterval)
                if interval_target && sc.ty.base == MyBase::DateTime =>
            {
                Some(crate::convert::interval_count_converter(1, tc.ty.typmod))
            }
            _ => None,
        };
        let rule_problem = match rule {
            Some(Rule::BytesAsUtf8) => match sc.ty.non_utf8_charset() {
                None => Some(
                    "needs a text source column in a charset other than UTF-8 (such as \
                     latin1): a utf8mb4 or utf8mb3 column is read as UTF-8 already",
                ),
                Some("ucs2" | "utf16" | "utf16le" | "utf32") => {
                    Some("needs a charset UTF-8 bytes can be written through: not UTF-16 or UTF-32")
                }
                Some(_) if !(text_target || matches!(tc.ty.name.as_str(), "json" | "jsonb")) => {
                    Some("needs a text or json target column")
                }
                Some(_) => None,
            },
            Some(Rule::Base64 | Rule::Hex) if !text_target => Some("needs a text target column"),
            Some(Rule::Base64 | Rule::Hex) if !(sc.ty.is_bytes() || sc.ty.is_text()) => {
                Some("needs a string or binary source column")
            }
            Some(Rule::MicrosecondsToInterval | Rule::SecondsToInterval) if !interval_target => {
                Some("needs an interval target column")
            }
            Some(Rule::MicrosecondsToInterval | Rule::SecondsToInterval) if !sc.ty.is_integer() => {
                Some("needs an integer source column")
            }
            Some(Rule::EpochDatetimeToInterval) if !interval_target => {
                Some("needs an interval target column")
            }
            Some(Rule::EpochDatetimeToInterval) if sc.ty.base != MyBase::DateTime => {
                Some("needs a datetime source column")
            }
            Some(r) if r.reads_timestamp_text() && !time_target => {
                Some("needs a timestamp, timestamptz or date target column")
            }
            Some(r) if r.reads_timestamp_text() && !string_source => {
                Some("needs a string or binary source column")
            }
            Some(Rule::TextToTimestampEmptyNull) if tc.not_null => {
                Some("with empty_as = \"null\" needs a nullable target column")
            }
            Some(Rule::EmptyToNull) if tc.not_null => Some("needs a nullable target column"),
            Some(Rule::ZeroDateToNull) if tc.not_null => Some("needs a nullable target column"),
            Some(Rule::ZeroDateToNull) if !is_date => {
                Some("needs a date, datetime or timestamp source column")
            }
            Some(Rule::NullToDefault) => match tc.default_expr.as_deref() {
                None => Some("needs a target column with a default"),
                Some(e) if e.starts_with("NULL") => Some("needs a default other than NULL"),
                Some(e) if !constant_default(e) => Some(
                    "needs a default that is a literal with casts (such as 0, 'x'::text or \
                     '{}'::jsonb); the target's default is an expression, which can differ \
                     per row (now(), nextval(...)) and a COPY cannot ask for",
                ),
                Some(_) if interval_target => Some("does not take an interval target column"),
                Some(_) => None,
            },
            Some(Rule::StripNul)
                if !(sc.ty.is_text()
                    || matches!(sc.ty.base, MyBase::Json)
                    || (sc.ty.is_bytes()
                        && sc.ty.base != MyBase::Bit
                        && (text_target || matches!(tc.ty.name.as_str(), "json" | "jsonb")))) =>
            {
                Some("needs a text source column (or binary data into a text or json column)")
            }
            _ => None,
        };
        if let (Some(r), Some(why)) = (rule, rule_problem) {
            problem(
                plan,
                ProblemKind::InvalidRule,
                &sc.name,
                format!("{}.{}: rule {} {why}", st.name, sc.name, r.name()),
            );
            continue;
        }
        let Some(mut converter) = forced.or_else(|| choose(&sc.ty, &tc.ty, source_zone)) else {
            problem(
                plan,
                ProblemKind::NoConversion,
                &sc.name,
                format!(
                    "{}.{}: no conversion from MySQL {} to PostgreSQL {}{}",
                    st.name,
                    sc.name,
                    sc.ty.column_type,
                    tc.ty.display,
                    if sc.ty.is_integer() && tc.ty.name == "interval" {
                        format!(
                            "; if the integer counts time, say in which unit: [columns.{}] \
                             convert = \"microseconds_to_interval\" (Django's DurationField) \
                             or \"seconds_to_interval\"",
                            toml_key(&format!("{}.{}", st.name, sc.name))
                        )
                    } else if sc.ty.base == MyBase::DateTime && tc.ty.name == "interval" {
                        format!(
                            "; if the datetime holds 1970-01-01 00:00:00 plus a duration \
                             (SQLAlchemy's Interval on MySQL), say so: [columns.{}] convert = \
                             \"epoch_datetime_to_interval\"",
                            toml_key(&format!("{}.{}", st.name, sc.name))
                        )
                    } else if string_source && time_target {
                        format!(
                            "; if the application keeps timestamps there as text \
                             (MediaWiki's 20240131235959, ISO 8601, infinity), say so: \
                             [columns.{}] convert = \"text_to_timestamp\"",
                            toml_key(&format!("{}.{}", st.name, sc.name))
                        )
                    } else if sc.ty.base == MyBase::Spatial {
                        "; a spatial value goes into bytea (as EWKB, which PostGIS's \
                         ST_GeomFromEWKB reads with its SRID), a Point also into point"
                            .to_string()
                    } else if tc.ty.name == "tsvector" {
                        "; a search index is rebuilt by its application after the cut-over: \
                         leave the table out (run.exclude) or the column (convert = \"skip\")"
                            .to_string()
                    } else {
                        String::new()
                    }
                ),
            );
            continue;
        };
        // Duplicate JSON keys: the converter itself accepts them under the rule (only
        // jsonb drops any; json keeps the text). json_duplicate_keys = "last" is the rule
        // on every jsonb column without a rule of its own.
        let mut rule = rule;
        match &mut converter {
            Converter::Json {
                jsonb: true,
                last_key_wins,
            } => {
                // In JSON text the NUL is mostly the `\u0000` escape: both forms go.
                if rule == Some(Rule::StripNul) {
                    rule = Some(Rule::StripNulEscapes);
                }
                if settings.json_duplicate_keys == JsonDuplicateKeys::Last {
                    match rule {
                        None => rule = Some(Rule::JsonDuplicateKeysLast),
                        Some(Rule::JsonDuplicateKeysLast) => {}
                        // A column takes one rule: say that the policy stops here.
                        Some(own) => plan.warnings.push(Problem {
                            kind: ProblemKind::RuleReplacesPolicy,
                            table: st.name.clone(),
                            column: Some(sc.name.clone()),
                            message: format!(
                                "{}.{}: its rule {} replaces run.json_duplicate_keys = \"last\" \
                                 for this column (a column takes one rule): a duplicate key there \
                                 still fails the run",
                                st.name,
                                sc.name,
                                own.name()
                            ),
                        }),
                    }
                }
                *last_key_wins = rule == Some(Rule::JsonDuplicateKeysLast);
            }
            _ if rule == Some(Rule::JsonDuplicateKeysLast) => {
                problem(
                    plan,
                    ProblemKind::InvalidRule,
                    &sc.name,
                    format!(
                        "{}.{}: rule {} needs a jsonb target column (json keeps duplicate keys as they are)",
                        st.name,
                        sc.name,
                        Rule::JsonDuplicateKeysLast.name()
                    ),
                );
                continue;
            }
            _ => {}
        }
        if let Converter::PgEnum { labels } = &converter {
            if sc.ty.base == MyBase::Enum {
                let (unreadable, missing): (Vec<&String>, Vec<&String>) = sc
                    .ty
                    .labels
                    .iter()
                    .filter(|l| !labels.contains(l))
                    .partition(|l| l.contains('?'));
                if !unreadable.is_empty() {
                    plan.warnings.push(Problem {
                        kind: ProblemKind::EnumLabelUnreadable,
                        table: st.name.clone(),
                        column: Some(sc.name.clone()),
                        message: format!(
                            "{}.{}: enum label(s) {:?} are not in target type {}; MariaDB's catalog \
                             prints 4-byte characters as '?', so they may be there: every value is \
                             still checked against the target's labels during the copy",
                            st.name, sc.name, unreadable, tc.ty.display
                        ),
                    });
                }
                if !missing.is_empty() {
                    // The statements to run (Neutron trial: the message named no remedy).
                    let add: Vec<String> = missing
                        .iter()
                        .map(|l| {
                            // A standard string: backslashes are literal, quotes doubled.
                            format!(
                                "ALTER TYPE {} ADD VALUE '{}'",
                                tc.ty.display,
                                l.replace('\'', "''")
                            )
                        })
                        .collect();
                    problem(
                        plan,
                        ProblemKind::EnumLabelMissing,
                        &sc.name,
                        format!(
                            "{}.{}: enum label(s) {:?} are missing in target type {}: add them \
                             ({}), or, where the target leaves them out on purpose, change the \
                             source rows that hold them (`my2pg check` counts them)",
                            st.name,
                            sc.name,
                            missing,
                            tc.ty.display,
                            add.join("; ")
                        ),
                    );
                }
            }
        }
        if let Converter::Int { min, max, target } = &converter {
            let (smin, smax) = sc.ty.int_range();
            if sc.ty.is_integer() && (smin < *min || smax > *max) {
                plan.warnings.push(Problem {
                    kind: ProblemKind::NarrowerTarget,
                    table: st.name.clone(),
                    column: Some(sc.name.clone()),
                    message: format!(
                        "{}.{}: MySQL {} holds {smin}..{smax}, PostgreSQL {target} only \
                         {min}..{max}: a value beyond fails the run, naming its row (`my2pg \
                         check` counts them; a wider target column takes them all)",
                        st.name, sc.name, sc.ty.column_type
                    ),
                });
            }
        }
        if sc.nullable && tc.not_null && rule != Some(Rule::NullToDefault) {
            plan.warnings.push(Problem {
                kind: ProblemKind::NullableIntoNotNull,
                table: st.name.clone(),
                column: Some(sc.name.clone()),
                message: format!(
                    "{}.{}: the source column is nullable and target column \"{}\" is NOT NULL: \
                     a NULL fails the run, naming its row (`my2pg check` counts them)",
                    st.name, sc.name, tc.name
                ),
            });
        }
        columns.push(ColumnPlan {
            source: sc.name.clone(),
            source_type: sc.ty.column_type.clone(),
            target: tc.name.clone(),
            target_type: tc.ty.display.clone(),
            target_base: tc.ty.name.clone(),
            converter,
            rule,
            target_nullable: !tc.not_null,
            read: ReadAs::Column,
            null_default: (rule == Some(Rule::NullToDefault))
                .then(|| tc.default_expr.clone())
                .flatten()
                .map(|expr| NullDefault {
                    expr,
                    text: String::new(),
                }),
            target_default: tc.default_expr.clone(),
        });
    }
    for tc in &tt.columns {
        if mapped_targets.contains(&tc.name) {
            continue;
        }
        if tc.not_null && !tc.has_default && !tc.identity && !tc.generated {
            plan.problems.push(Problem {
                kind: ProblemKind::UnfilledTargetColumn,
                table: st.name.clone(),
                column: Some(tc.name.clone()),
                message: if skipped_targets.contains(&tc.name) {
                    format!(
                        "{}.{}: target column is NOT NULL without a default and its source column is skipped",
                        tt.name, tc.name
                    )
                } else {
                    format!(
                        "{}.{}: target column is NOT NULL without a default and the source has no such column",
                        tt.name, tc.name
                    )
                },
            });
        } else if !tc.generated && !skipped_targets.contains(&tc.name) {
            // Not an error (a new schema adds columns), but never silent: a source
            // column the source user may not see lands here too.
            plan.warnings.push(Problem {
                kind: ProblemKind::TargetOnlyColumn,
                table: st.name.clone(),
                column: Some(tc.name.clone()),
                message: format!(
                    "{}.{}: target column has no source column: every row gets {}",
                    tt.name,
                    tc.name,
                    if tc.identity || tc.has_default {
                        "its default"
                    } else {
                        "NULL"
                    }
                ),
            });
        }
    }
    // Columns matched but refused (no conversion, a bad rule) say so themselves: "each is
    // unmatched or generated" would be false there, and its advice to exclude the table
    // would leave every row behind (Roundup trial: 24 link tables of varchar into integer).
    let refused_here = plan.problems[problems_before..]
        .iter()
        .any(|p| p.table == st.name && p.column.is_some());
    if columns.is_empty() && !refused_here {
        // COPY needs at least one column, and rows of nothing but defaults are not data
        // this tool can vouch for.
        plan.problems.push(Problem {
            kind: ProblemKind::NoCopyableColumns,
            table: st.name.clone(),
            column: None,
            message: format!(
                "{}: no source column can be copied into target table \"{}\" (each is \
                 unmatched or generated there): exclude the table or give the target its columns",
                st.name, tt.name
            ),
        });
    }
    // With source_consistency = "none" the operator has said the writers are stopped.
    if settings.consistency == crate::config::Consistency::Snapshot && !st.in_snapshot() {
        plan.warnings.push(Problem {
            kind: ProblemKind::OutsideSnapshot,
            table: st.name.clone(),
            column: None,
            message: format!(
                "{}: its engine ({}) keeps no row versions, so the consistent snapshot does \
                 not cover it: rows written while it is exported may be read by one chunk \
                 and not the next, or not match the other tables. Stop every writer for the \
                 export, as a cut-over does anyway",
                st.name,
                if st.engine.is_empty() {
                    "unknown"
                } else {
                    &st.engine
                }
            ),
        });
    }
    // The read key: primary key, else a unique NOT NULL key, else every column.
    // A set that defines '' as a member cannot bound a read: MySQL's text of a value
    // can leave that member out, so the bound sent back is another value (the attack:
    // rows duplicated and lost at split and resume bounds).
    let boundable = |k: &[String]| {
        !k.is_empty()
            && !k.iter().any(|c| {
                st.columns.iter().any(|s| {
                    &s.name == c
                        && s.ty.base == MyBase::Set
                        && s.ty.labels.iter().any(String::is_empty)
                })
            })
    };
    let key_is_primary = boundable(&st.primary_key);
    let (key, ordered_by_all) = if key_is_primary {
        (st.primary_key.clone(), false)
    } else if let Some(u) = st.unique_not_null.as_ref().filter(|u| boundable(u)) {
        (u.clone(), false)
    } else {
        plan.warnings.push(Problem {
            kind: ProblemKind::NoPrimaryKey,
            table: st.name.clone(),
            column: None,
            message: format!(
                "{}: no primary key or unique NOT NULL key that can order the reads (a set column \
                 defining '' as a member, or a long UNIQUE key MariaDB keeps as a hash, cannot): \
                 rows are read in the order of all their columns, in one go (the server sorts \
                 the whole table for each read)",
                st.name
            ),
        });
        (columns.iter().map(|c| c.source.clone()).collect(), true)
    };
    // Text in a non-UTF-8 charset reaches us converted by the server: bytes for a bytea
    // target are asked for as stored; where the charset has bytes with no character
    // (MariaDB would send `?`), a flag column says whether the value converted whole.
    let mut charset_checks = Vec::new();
    for c in columns.iter_mut() {
        let Some(ty) = st
            .columns
            .iter()
            .find(|s| s.name == c.source)
            .map(|s| &s.ty)
        else {
            continue;
        };
        c.read = match &c.converter {
            // Numbers into text get what MySQL shows: zerofill padding and four-digit
            // years come only with the server's own text (not for key columns: their
            // values are the keyset bounds, compared as numbers).
            Converter::NumberText { .. }
                if (ty.base == MyBase::Year
                    || ty.column_type.to_ascii_lowercase().contains("zerofill"))
                    && !key.contains(&c.source) =>
            {
                ReadAs::ServerText
            }
            // Keys too: MariaDB compares a text bound with a date or time column as a
            // date or time, the way ORDER BY sorts it.
            Converter::TemporalText { .. } => ReadAs::ServerText,
            // bit(n) into a number: its value, which is also how a bit key is bounded.
            Converter::Int { .. }
            | Converter::IntToNumeric { .. }
            | Converter::IntToFloat { .. }
                if ty.base == MyBase::Bit =>
            {
                ReadAs::Unsigned
            }
            _ => ReadAs::Column,
        };
    }
    for c in columns
        .iter()
        .filter(|c| c.rule == Some(Rule::BytesAsUtf8) && key.contains(&c.source))
    {
        plan.problems.push(Problem {
            kind: ProblemKind::InvalidRule,
            table: st.name.clone(),
            column: Some(c.source.clone()),
            message: format!(
                "{}.{}: rule bytes_as_utf8 cannot be on a column of the key the table is read \
                 in order of ({}): those values are also the bounds of each read, compared in \
                 the column's charset",
                st.name,
                c.source,
                key.join(", ")
            ),
        });
    }
    for (i, c) in columns.iter_mut().enumerate() {
        let Some(cs) = st
            .columns
            .iter()
            .find(|s| s.name == c.source)
            .and_then(|s| s.ty.non_utf8_charset())
        else {
            continue;
        };
        let wants_bytes = matches!(
            c.converter,
            Converter::Bytea | Converter::Base64Text | Converter::HexText
        ) || c.rule == Some(Rule::BytesAsUtf8);
        if wants_bytes && !key.contains(&c.source) {
            c.read = ReadAs::StoredBytes;
        } else if !crate::catalog::MyType::charset_maps_every_byte(cs) {
            charset_checks.push(CharsetCheck {
                column: i,
                charset: cs.to_string(),
            });
        }
    }
    // MySQL shows a set holding only its '' member as '', as it shows the empty set, and
    // MariaDB leaves a leading '' member out of the text (the attacks: {} loaded, verify
    // equal): the bit mask tells the members.
    let set_member_reads: Vec<SetMemberRead> = columns
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c.converter, Converter::TextArray { .. }))
        .filter_map(|(i, c)| {
            let ty = &st.columns.iter().find(|s| s.name == c.source)?.ty;
            (ty.base == MyBase::Set && ty.labels.iter().any(String::is_empty)).then(|| {
                SetMemberRead {
                    column: i,
                    labels: ty.labels.clone(),
                }
            })
        })
        .collect();
    let key_bounds = key
        .iter()
        .map(|k| {
            let ty = st.columns.iter().find(|c| &c.name == k).map(|c| &c.ty);
            match ty.map(|t| (t.base, t)) {
                Some((MyBase::Enum, t)) => KeyBound::EnumIndex(t.labels.clone()),
                Some((MyBase::Set, t)) => KeyBound::SetBits(t.labels.clone()),
                Some((MyBase::Bit, _)) => KeyBound::BitValue,
                _ => KeyBound::AsRead,
            }
        })
        .collect();
    let mut extra_key_columns = Vec::new();
    let mut key_positions = Vec::new();
    for k in &key {
        match columns.iter().position(|c| &c.source == k) {
            Some(p) => key_positions.push(p),
            None => {
                key_positions.push(columns.len() + extra_key_columns.len());
                extra_key_columns.push(k.clone());
            }
        }
    }
    let sequences = columns
        .iter()
        .filter_map(|c| {
            let tc = tt.columns.iter().find(|t| t.name == c.target)?;
            Some((c.target.clone(), tc.sequence.clone()?))
        })
        .collect();
    let source_next_id = st.auto_increment.and_then(|next| {
        let ai = st.columns.iter().find(|c| c.auto_increment)?;
        let c = columns.iter().find(|c| c.source == ai.name)?;
        Some((c.target.clone(), next))
    });
    // A key must be made of copied columns: one the load leaves to a default (a serial)
    // cannot match staged or filled rows with the target's.
    let key_collations = if ordered_by_all {
        Vec::new() // read in one go: never resumed
    } else {
        key.iter()
            .filter_map(|k| {
                let c = st.columns.iter().find(|s| &s.name == k)?;
                Some((c.name.clone(), c.collation.clone()?))
            })
            .collect()
    };
    let target_key = tt
        .row_keys
        .iter()
        .find(|k| k.iter().all(|c| columns.iter().any(|p| &p.target == c)))
        .cloned()
        .unwrap_or_default();
    TablePlan {
        source: st.name.clone(),
        target: PgName {
            schema: tt.schema.clone(),
            name: tt.name.clone(),
        },
        dir: dir_name(&tt.name),
        columns,
        extra_key_columns,
        key,
        key_positions,
        key_bounds,
        ordered_by_all,
        key_is_primary,
        wave: 0,
        sequences,
        source_next_id,
        est_rows: st.est_rows,
        est_bytes: st.est_bytes,
        target_key,
        existing_rows: settings.existing_rows_for(&tt.name),
        merge_existing: false,
        fills: Vec::new(),
        source_unique_keys: st.unique_keys.clone(),
        charset_checks,
        set_member_reads,
        key_collations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_into_naive_timestamp_warns_only_off_utc() {
        let col = |n: &str, source_type: &str, target_base: &str| ColumnPlan {
            source: n.into(),
            source_type: source_type.into(),
            target: n.into(),
            target_type: target_base.into(),
            target_base: target_base.into(),
            converter: Converter::Timestamp { frac_digits: 6 },
            rule: None,
            target_nullable: true,
            read: ReadAs::Column,
            null_default: None,
            target_default: None,
        };
        let table = TablePlan {
            ordered_by_all: true,
            ..TablePlan::test_table(
                "s",
                vec![
                    col("a", "timestamp(6)", "timestamp"),
                    col("b", "timestamp", "timestamptz"),
                    col("c", "datetime(6)", "timestamp"),
                    col("d", "timestamp", "date"),
                ],
            )
        };
        let plan = Plan {
            tables: vec![table],
            waves: vec![],
            skipped: vec![],
            target_only: vec![],
            problems: vec![],
            warnings: vec![],
            non_empty: vec![],
            breaks: vec![],
        };
        for utc in ["UTC", "+00:00", "Etc/UTC", "UCT"] {
            assert!(timestamp_zone_warnings(&plan, utc).is_empty(), "{utc}");
        }
        // GMT may be a London host's winter abbreviation.
        assert_eq!(timestamp_zone_warnings(&plan, "GMT").len(), 2);
        let w = timestamp_zone_warnings(&plan, "CET");
        assert_eq!(w.len(), 2);
        assert_eq!(w[1].column.as_deref(), Some("d"));
        assert!(
            w[1].message.contains("into this date column"),
            "{}",
            w[1].message
        );
        assert_eq!(
            (w[0].kind, w[0].table.as_str(), w[0].column.as_deref()),
            (ProblemKind::TimestampZone, "s", Some("a"))
        );
        assert_eq!(
            w[0].message,
            "s.a: MySQL timestamp values are instants and are written as UTC wall-clock times \
             into this timestamp without time zone column, but the source server's time zone is \
             CET: applications that did not set their own session zone saw them as CET times; \
             use a timestamptz target, or make sure the application reads these as UTC"
        );
    }

    #[test]
    fn dir_names_are_safe_and_distinct() {
        assert_eq!(dir_name("user_profile"), "user_profile");
        let hostile = dir_name("../etc/passwd");
        assert!(hostile.starts_with("___etc_passwd-"), "{hostile}");
        assert!(!hostile.contains('/'));
        assert_ne!(dir_name("a b"), dir_name("a_b"));
        assert_ne!(dir_name("a-b"), dir_name("a?b"));
        assert_ne!(
            hashed_dir_name("Users").to_lowercase(),
            hashed_dir_name("users").to_lowercase()
        );
        assert!(hashed_dir_name("Users").starts_with("Users-"));
    }
}

#[cfg(test)]
mod toml_key_tests {
    #[test]
    fn hint_keys_are_valid_toml() {
        let k = super::toml_key("we\"ird t.c\\o l");
        assert_eq!(k, "\"we\\\"ird t.c\\\\o l\"");
        let parsed: toml::Value =
            toml::from_str(&format!("[columns.{k}]\nconvert = \"skip\"")).unwrap();
        assert!(parsed["columns"].get("we\"ird t.c\\o l").is_some());
    }
}

#[cfg(test)]
mod constant_default_tests {
    use super::constant_default;

    #[test]
    fn literals_with_casts_are_constants_and_calls_are_not() {
        // As pg_get_expr prints them.
        for e in [
            "0",
            "-1.5",
            "1e10",
            "true",
            "false",
            "'x'::text",
            "''::character varying",
            "'it''s'::text",
            "'{}'::jsonb",
            "'{}'::text[]",
            "'active'::\"Status\"",
            "'a'::\"we\"\"ird::type\"",
            "'x'::character varying(20)",
            "'1.50'::numeric(10,2)",
            "'2024-01-01 00:00:00'::timestamp without time zone",
            "'-1'::integer",
            "'a'::public.mood",
        ] {
            assert!(constant_default(e), "{e}");
        }
        for e in [
            "now()",
            "CURRENT_TIMESTAMP",
            "nextval('s'::regclass)",
            "gen_random_uuid()",
            "('x'::text || now())",
            "'x'::text || 'y'::text",
            "ARRAY[]::text[]",
            "'unterminated",
            "-",
            "1 + 1",
            "'a'::text(now())",
            "'x'::",
            "true_x()",
            "",
        ] {
            assert!(!constant_default(e), "{e}");
        }
    }
}
