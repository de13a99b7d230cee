//! The TOML config: every key documented in `config/example.toml`. Unknown keys are an
//! error naming the key; passwords come from env vars or files, never from the log.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::convert::Rule;
use crate::error::{Error, Result};
use crate::secret::{Dsn, Secret};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    source: SourceSection,
    target: TargetSection,
    #[serde(default)]
    run: RunSection,
    #[serde(default)]
    workers: WorkersSection,
    /// Per-column rules: `[columns."table.column"] convert = "empty_to_null"`.
    #[serde(default)]
    columns: BTreeMap<String, ColumnSection>,
    /// Per-table settings: `[tables."name"] existing_rows = "keep-identical"`.
    #[serde(default)]
    tables: BTreeMap<String, TableSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TableSection {
    existing_rows: ExistingRows,
}

/// What `import`/`run` do with a copied target table that already holds rows not loaded
/// by my2pg (seeded by the application's own migrations, for example).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ExistingRows {
    /// Stop before loading anything, naming the table.
    #[default]
    Error,
    /// Empty the copied tables first (one TRUNCATE, never CASCADE).
    Truncate,
    /// Load only rows whose key is absent; a present row that differs fails the run.
    KeepIdentical,
}

impl ExistingRows {
    pub fn name(self) -> &'static str {
        match self {
            ExistingRows::Error => "error",
            ExistingRows::Truncate => "truncate",
            ExistingRows::KeepIdentical => "keep-identical",
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnSection {
    #[serde(deserialize_with = "one_rule")]
    convert: Rule,
    /// With `text_to_timestamp`: what '' and zero timestamps become.
    empty_as: Option<EmptyAs>,
}

/// `empty_as` of a `text_to_timestamp` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
enum EmptyAs {
    Null,
    Infinity,
}

/// A column takes one rule; a list would otherwise fail with serde's opaque
/// "invalid type: unit variant" message.
fn one_rule<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Rule, D::Error> {
    use serde::de::Error as _;
    let value = toml::Value::deserialize(d)?;
    if let toml::Value::Array(_) = value {
        return Err(D::Error::custom(
            "convert takes one rule name, not a list: a column takes one rule",
        ));
    }
    Rule::deserialize(value).map_err(D::Error::custom)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceSection {
    url: Option<String>,
    password_file: Option<PathBuf>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TargetSection {
    url: Option<String>,
    password_file: Option<PathBuf>,
    #[serde(default = "default_schema")]
    schema: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunSection {
    #[serde(default = "default_workdir")]
    workdir: PathBuf,
    #[serde(default)]
    exclude: Vec<String>,
    #[serde(default = "default_chunk_rows")]
    chunk_rows: u64,
    #[serde(default = "default_batch_rows")]
    batch_rows: usize,
    #[serde(default)]
    source_consistency: Consistency,
    #[serde(default = "default_snapshot_lock_wait")]
    snapshot_lock_wait_seconds: u32,
    #[serde(default)]
    zero_dates: ZeroDates,
    #[serde(default = "default_timezone")]
    source_timezone: String,
    #[serde(default)]
    existing_rows: ExistingRows,
    #[serde(default = "default_disk_margin")]
    disk_margin: f64,
    #[serde(default)]
    constraints: ConstraintStrategy,
    #[serde(default = "default_split")]
    split_tables_larger_than: ByteSize,
    #[serde(default)]
    toast_compression: ToastCompression,
    #[serde(default = "default_true")]
    analyze: bool,
    #[serde(default = "default_true")]
    defer_unique: bool,
    #[serde(default)]
    load_format: LoadFormat,
    #[serde(default)]
    json_duplicate_keys: JsonDuplicateKeys,
}

impl Default for RunSection {
    fn default() -> Self {
        RunSection {
            workdir: default_workdir(),
            exclude: Vec::new(),
            chunk_rows: default_chunk_rows(),
            batch_rows: default_batch_rows(),
            source_consistency: Consistency::default(),
            snapshot_lock_wait_seconds: default_snapshot_lock_wait(),
            zero_dates: ZeroDates::default(),
            source_timezone: default_timezone(),
            existing_rows: ExistingRows::default(),
            disk_margin: default_disk_margin(),
            constraints: ConstraintStrategy::default(),
            split_tables_larger_than: default_split(),
            toast_compression: ToastCompression::default(),
            analyze: true,
            defer_unique: true,
            load_format: LoadFormat::default(),
            json_duplicate_keys: JsonDuplicateKeys::default(),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WorkersSection {
    #[serde(default = "default_workers")]
    readers: usize,
    #[serde(default = "default_workers")]
    converters: usize,
    #[serde(default = "default_workers")]
    loaders: usize,
    #[serde(default = "default_batch_queue")]
    batch_queue: usize,
    #[serde(default = "default_batch_queue")]
    csv_queue: usize,
    #[serde(default = "default_chunk_queue")]
    chunk_queue: usize,
}

impl Default for WorkersSection {
    fn default() -> Self {
        WorkersSection {
            readers: default_workers(),
            converters: default_workers(),
            loaders: default_workers(),
            batch_queue: default_batch_queue(),
            csv_queue: default_batch_queue(),
            chunk_queue: default_chunk_queue(),
        }
    }
}

/// How the export reads a consistent state of the source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Consistency {
    /// One snapshot shared by every reader (brief global read lock when readers > 1).
    #[default]
    Snapshot,
    /// No snapshot: only safe when the application is stopped.
    None,
}

/// What happens to zero and partial dates (`0000-00-00`, `2024-00-15`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ZeroDates {
    /// The run fails on the first one, naming the row.
    #[default]
    Error,
    /// They become NULL in nullable target columns (counted); a NOT NULL column still fails.
    Null,
}

/// What happens to JSON text with a duplicate object key going into jsonb: MySQL/MariaDB
/// read the first of two equal keys, jsonb keeps the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JsonDuplicateKeys {
    /// The run fails on the first one, naming the row and the key.
    #[default]
    Error,
    /// jsonb keeps the last (rule `json_duplicate_keys_last` on every jsonb column
    /// without a rule of its own; counted in the report).
    Last,
}

/// What happens to the target's indexes and foreign keys during the load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ConstraintStrategy {
    /// Everything stays in place; tables load wave by wave; the first violation fails.
    Keep,
    /// Secondary indexes and FKs are dropped (definitions recorded in the target), all
    /// tables load in parallel, then indexes are rebuilt and FKs re-added and validated.
    /// The default: measured 1.5-2x faster than keep on the demo data, equally strict.
    #[default]
    Rebuild,
}

/// How loaded values too large to store inline (TOAST) are compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ToastCompression {
    /// lz4 in the loader sessions (columns with their own COMPRESSION keep it): pglz,
    /// PostgreSQL's default, was 7% of the target's CPU in the benchmark's load.
    #[default]
    Lz4,
    /// Whatever the server's `default_toast_compression` says.
    Server,
}

/// A size in bytes, written as a number of bytes or as "512MB", "1.5GiB", "off".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "toml::Value")]
pub struct ByteSize(pub Option<u64>);

impl TryFrom<toml::Value> for ByteSize {
    type Error = String;
    fn try_from(v: toml::Value) -> std::result::Result<Self, String> {
        match v {
            toml::Value::Integer(n) if n >= 0 => Ok(ByteSize((n > 0).then_some(n as u64))),
            toml::Value::String(s) => parse_byte_size(&s).map(ByteSize),
            other => Err(format!(
                "expected a size like \"512MB\" or \"off\", not {other}"
            )),
        }
    }
}

/// `None` for "off" (or 0). Units are powers of 1024 or 1000 as written (MiB vs MB).
pub fn parse_byte_size(s: &str) -> std::result::Result<Option<u64>, String> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("off") {
        return Ok(None);
    }
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size like \"512MB\", \"2GiB\" or \"off\""))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0f64.powi(4),
        _ => {
            return Err(format!(
                "{s:?}: unknown unit (use B, kB, MB, GB, TB, KiB, MiB, GiB, TiB)"
            ))
        }
    };
    let bytes = (n * mult).round();
    if !bytes.is_finite() || bytes > u64::MAX as f64 {
        return Err(format!("{s:?} is too large"));
    }
    Ok((bytes >= 1.0).then_some(bytes as u64))
}

fn default_true() -> bool {
    true
}

fn default_split() -> ByteSize {
    ByteSize(Some(512 * 1024 * 1024))
}
fn default_batch_queue() -> usize {
    4
}
fn default_chunk_queue() -> usize {
    64
}

fn default_snapshot_lock_wait() -> u32 {
    60
}

fn default_disk_margin() -> f64 {
    1.25
}

fn default_timezone() -> String {
    "UTC".into()
}

fn default_schema() -> String {
    "public".into()
}
fn default_workdir() -> PathBuf {
    PathBuf::from("./my2pg-work")
}
fn default_chunk_rows() -> u64 {
    100_000
}
fn default_batch_rows() -> usize {
    1_000
}
fn default_workers() -> usize {
    2
}

#[derive(Debug, Clone, Copy)]
pub struct Workers {
    pub readers: usize,
    pub converters: usize,
    pub loaders: usize,
}

/// The validated config: everything the commands need, nothing left to check.
#[derive(Debug, Clone)]
pub struct Settings {
    pub source: Dsn,
    pub target: Dsn,
    pub schema: String,
    pub workdir: PathBuf,
    pub exclude: BTreeSet<String>,
    pub chunk_rows: u64,
    pub batch_rows: usize,
    pub consistency: Consistency,
    pub workers: Workers,
    pub zero_dates: ZeroDates,
    /// Duplicate JSON object keys going into jsonb.
    pub json_duplicate_keys: JsonDuplicateKeys,
    /// The zone MySQL `datetime` values are read in for timestamptz targets (None = UTC).
    pub source_timezone: Option<String>,
    /// Per-column rules keyed by `table.column` as written; the plan resolves the key
    /// against the source tables (a table name may contain dots).
    pub rules: BTreeMap<String, Rule>,
    /// Default policy for copied target tables that already hold rows.
    pub existing_rows: ExistingRows,
    /// Per target table overrides of `existing_rows`.
    pub table_existing_rows: BTreeMap<String, ExistingRows>,
    /// Free space needed in the work directory, as a multiple of the estimated CSV size.
    pub disk_margin: f64,
    /// How long the global read lock that lines up several readers' snapshots may wait
    /// for running statements on the source.
    pub snapshot_lock_wait_seconds: u32,
    pub constraints: ConstraintStrategy,
    /// Tables whose estimated size exceeds this are read in key ranges by several
    /// readers (None = never split).
    pub split_bytes: Option<u64>,
    /// Channel capacities of the export lanes and of the chunk queue to the loaders.
    pub queues: Queues,
    pub toast_compression: ToastCompression,
    /// ANALYZE the loaded tables at the end of import/run.
    pub analyze: bool,
    /// `rebuild`: also drop and rebuild the unique constraints the source already
    /// enforces through value-exact conversions (see `rebuild::deferrable_uniques`).
    pub defer_unique: bool,
    /// What the loaders send to COPY (the chunk files are CSV either way).
    pub load_format: LoadFormat,
}

/// `binary`: each chunk's CSV is re-encoded as binary COPY on the way (tables with a
/// column that has no exact binary form still go as CSV); `csv`: the file's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LoadFormat {
    #[default]
    Binary,
    Csv,
}

/// Bounded channel capacities: memory in flight is these times the batch size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Queues {
    /// Row batches between a reader and the converters (per table lane).
    pub batches: usize,
    /// CSV batches between the converters and the chunk writer (per table lane).
    pub csv: usize,
    /// Finished chunk files waiting for a loader (`run`).
    pub chunks: usize,
}

impl Settings {
    pub fn existing_rows_for(&self, target_table: &str) -> ExistingRows {
        self.table_existing_rows
            .get(target_table)
            .copied()
            .unwrap_or(self.existing_rows)
    }
}

impl Settings {
    /// The passwords that equal their own URL's user name.
    pub fn passwords_equal_to_their_user(&self) -> Vec<&str> {
        self.passwords_where(true)
    }

    /// The passwords that differ from their own URL's user name.
    pub fn passwords_unlike_their_user(&self) -> Vec<&str> {
        self.passwords_where(false)
    }

    fn passwords_where(&self, equal: bool) -> Vec<&str> {
        [&self.source, &self.target]
            .into_iter()
            .filter_map(|d| {
                let pw = d.password()?.expose();
                ((d.user().as_deref() == Some(pw)) == equal).then_some(pw)
            })
            .collect()
    }

    pub fn secrets(&self) -> Vec<&Secret> {
        self.source
            .password()
            .into_iter()
            .chain(self.target.password())
            .collect()
    }
}

/// The keys each section accepts; anything else is named in full (`run.chunk_rowz`).
const KNOWN_KEYS: &[(&str, &[&str])] = &[
    ("source", &["url", "password_file"]),
    ("target", &["url", "password_file", "schema"]),
    (
        "run",
        &[
            "workdir",
            "exclude",
            "chunk_rows",
            "batch_rows",
            "source_consistency",
            "snapshot_lock_wait_seconds",
            "zero_dates",
            "source_timezone",
            "existing_rows",
            "disk_margin",
            "constraints",
            "split_tables_larger_than",
            "toast_compression",
            "analyze",
            "defer_unique",
            "load_format",
            "json_duplicate_keys",
        ],
    ),
    (
        "workers",
        &[
            "readers",
            "converters",
            "loaders",
            "batch_queue",
            "csv_queue",
            "chunk_queue",
        ],
    ),
];

fn check_keys(doc: &toml::Table) -> Result<()> {
    for (section, value) in doc {
        // Sections keyed by a table or column name: each entry takes one known key.
        let named: Option<&[&str]> = match section.as_str() {
            "columns" => Some(&["convert", "empty_as"]),
            "tables" => Some(&["existing_rows"]),
            _ => None,
        };
        if let Some(only) = named {
            let Some(entries) = value.as_table() else {
                return Err(Error::config(format!(
                    "config key `{section}` must be a table"
                )));
            };
            for (name, entry) in entries {
                let Some(entry) = entry.as_table() else {
                    return Err(Error::config(format!(
                        "config key `{section}.\"{name}\"` must be a table with `{} = \"...\"`",
                        only[0]
                    )));
                };
                if let Some(k) = entry.keys().find(|k| !only.contains(&k.as_str())) {
                    return Err(Error::config(format!(
                        "unknown config key `{section}.\"{name}\".{k}` (known keys: {})",
                        only.join(", ")
                    )));
                }
            }
            continue;
        }
        let Some((_, keys)) = KNOWN_KEYS.iter().find(|(s, _)| s == section) else {
            return Err(Error::config(format!(
                "unknown config key `{section}` (known sections: source, target, run, workers, columns, tables)"
            )));
        };
        let Some(table) = value.as_table() else {
            return Err(Error::config(format!(
                "config key `{section}` must be a table ([{section}])"
            )));
        };
        for key in table.keys() {
            if !keys.contains(&key.as_str()) {
                return Err(Error::config(format!(
                    "unknown config key `{section}.{key}` (known keys in [{section}]: {})",
                    keys.join(", ")
                )));
            }
        }
    }
    Ok(())
}

/// Reads and validates a config file. `env` is consulted for the documented overrides
/// (a function so tests need not touch the process environment).
pub fn load(
    path: &Path,
    workdir_override: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::config(format!("cannot read {}: {e}", path.display())))?;
    let base = path.parent().unwrap_or(Path::new("."));
    // Absolute, so reports and errors name the real place.
    let base = std::path::absolute(if base.as_os_str().is_empty() {
        Path::new(".")
    } else {
        base
    })
    .map_err(|e| Error::config(format!("cannot resolve {}: {e}", path.display())))?;
    parse(&text, &base, workdir_override, env)
}

/// A TOML error as its position and message only: TOML's own rendering quotes the config
/// line, and a line that does not parse may hold a password no scrubber can delimit (one
/// with a quote or a space in it).
fn toml_error(text: &str, e: &toml::de::Error) -> Error {
    let flat = |s: &str| s.replace('\n', " ").trim().to_string();
    match e.span().and_then(|s| text.get(..s.start)) {
        Some(before) => {
            let line = before.matches('\n').count() + 1;
            let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
            Error::config(format!(
                "TOML syntax error at line {line}, column {column}: {}",
                flat(e.message())
            ))
        }
        // No position, no quoted line: the message names the key (`in run.chunk_rows`).
        None => Error::config(flat(&e.to_string())),
    }
}

pub fn parse(
    text: &str,
    base_dir: &Path,
    workdir_override: Option<&Path>,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings> {
    let doc: toml::Table = toml::from_str(text).map_err(|e| toml_error(text, &e))?;
    check_keys(&doc)?;
    let file: ConfigFile = doc
        .try_into()
        .map_err(|e: toml::de::Error| toml_error(text, &e))?;
    // The password and where it came from.
    let password =
        |var: &str, file: &Option<PathBuf>, key: &str| -> Result<(Option<Secret>, String)> {
            if let Some(v) = env(var).filter(|v| !v.is_empty()) {
                return Ok((Some(Secret::new(v)), var.to_string()));
            }
            match file {
                Some(p) => {
                    let p = base_dir.join(p);
                    let s = std::fs::read_to_string(&p).map_err(|e| {
                        Error::config(format!("{key}: cannot read {}: {e}", p.display()))
                    })?;
                    let pw = s.trim_end_matches(['\n', '\r']);
                    // An empty file would log in without a password, and the server's
                    // refusal would not say why (the operator-night trial).
                    if pw.is_empty() {
                        return Err(Error::config(format!(
                            "{key}: {} is empty: put the password in it",
                            p.display()
                        )));
                    }
                    warn_if_others_can_read(&p, key);
                    Ok((Some(Secret::new(pw)), format!("{key} {}", p.display())))
                }
                None => Ok((None, String::new())),
            }
        };
    let src_pw = password(
        "MY2PG_SOURCE_PASSWORD",
        &file.source.password_file,
        "source.password_file",
    )?;
    let dst_pw = password(
        "MY2PG_TARGET_PASSWORD",
        &file.target.password_file,
        "target.password_file",
    )?;
    let src_url = env("MY2PG_SOURCE_URL")
        .or(file.source.url)
        .ok_or_else(|| Error::config("source.url is missing (or set MY2PG_SOURCE_URL)"))?;
    let dst_url = env("MY2PG_TARGET_URL")
        .or(file.target.url)
        .ok_or_else(|| Error::config("target.url is missing (or set MY2PG_TARGET_URL)"))?;
    if !(src_url.starts_with("mysql://") || src_url.starts_with("mariadb://")) {
        return Err(Error::config("source.url must start with mysql://"));
    }
    if !(dst_url.starts_with("postgres://") || dst_url.starts_with("postgresql://")) {
        return Err(Error::config("target.url must start with postgres://"));
    }
    let src_url = src_url.replacen("mariadb://", "mysql://", 1);
    let source = Dsn::parse(&src_url, src_pw.0)
        .map_err(|e| Error::config(format!("source.url: {e}")))?
        .password_from(src_pw.1);
    let target = Dsn::parse(&dst_url, dst_pw.0)
        .map_err(|e| Error::config(format!("target.url: {e}")))?
        .password_from(dst_pw.1);
    let run = file.run;
    if run.chunk_rows == 0 {
        return Err(Error::config("run.chunk_rows must be at least 1"));
    }
    if run.batch_rows == 0 {
        return Err(Error::config("run.batch_rows must be at least 1"));
    }
    let w = file.workers;
    for (key, v) in [
        ("workers.readers", w.readers),
        ("workers.converters", w.converters),
        ("workers.loaders", w.loaders),
    ] {
        if !(1..=64).contains(&v) {
            return Err(Error::config(format!(
                "{key} must be between 1 and 64, not {v}"
            )));
        }
    }
    for (key, v) in [
        ("workers.batch_queue", w.batch_queue),
        ("workers.csv_queue", w.csv_queue),
        ("workers.chunk_queue", w.chunk_queue),
    ] {
        if !(1..=4096).contains(&v) {
            return Err(Error::config(format!(
                "{key} must be between 1 and 4096, not {v}"
            )));
        }
    }
    if file.target.schema.is_empty() {
        return Err(Error::config("target.schema must not be empty"));
    }
    // A relative workdir is relative to the config file, so the same config means the
    // same files wherever the operator runs it from.
    // An empty path would be the config file's own directory, filled with table
    // directories (the pretalx trial); `--workdir ""` is refused too.
    if workdir_override.is_none() && run.workdir.as_os_str().is_empty() {
        return Err(Error::config(
            "run.workdir is empty: name the work directory (a relative path is relative to \
             the config file)",
        ));
    }
    let workdir = match workdir_override {
        Some(p) => p.to_path_buf(),
        None if run.workdir.is_absolute() => run.workdir,
        None => base_dir.join(run.workdir),
    };
    let mut rules = BTreeMap::new();
    for (key, col) in file.columns {
        // Split against the source tables by the plan: table names may hold dots.
        if !key.contains('.') {
            return Err(Error::config(format!(
                "columns.\"{key}\": name the column as \"table.column\" (source names)"
            )));
        }
        let rule = match (col.convert, col.empty_as) {
            (rule, None) => rule,
            (Rule::TextToTimestamp, Some(EmptyAs::Null)) => Rule::TextToTimestampEmptyNull,
            (Rule::TextToTimestamp, Some(EmptyAs::Infinity)) => Rule::TextToTimestampEmptyInfinity,
            (rule, Some(_)) => {
                return Err(Error::config(format!(
                    "columns.\"{key}\".empty_as goes with convert = \"text_to_timestamp\", not \
                     \"{}\"",
                    rule.name()
                )))
            }
        };
        rules.insert(key, rule);
    }
    let tz = run.source_timezone.trim().to_string();
    if tz.is_empty() || tz.contains(['\'', '"', '\\', '\n', ',']) {
        return Err(Error::config(format!(
            "run.source_timezone {tz:?} is not a time zone name"
        )));
    }
    let source_timezone = (!tz.eq_ignore_ascii_case("UTC")).then_some(tz);
    // 0 turns the check off: statistics can over-count a table several times.
    if !(run.disk_margin == 0.0 || (1.0..=100.0).contains(&run.disk_margin)) {
        return Err(Error::config(format!(
            "run.disk_margin must be 0 (no check) or between 1.0 and 100, not {}",
            run.disk_margin
        )));
    }
    if !(1..=86_400).contains(&run.snapshot_lock_wait_seconds) {
        return Err(Error::config(format!(
            "run.snapshot_lock_wait_seconds must be between 1 and 86400, not {}",
            run.snapshot_lock_wait_seconds
        )));
    }
    Ok(Settings {
        existing_rows: run.existing_rows,
        snapshot_lock_wait_seconds: run.snapshot_lock_wait_seconds,
        table_existing_rows: file
            .tables
            .into_iter()
            .map(|(k, v)| (k, v.existing_rows))
            .collect(),
        disk_margin: run.disk_margin,
        constraints: run.constraints,
        split_bytes: run.split_tables_larger_than.0,
        toast_compression: run.toast_compression,
        analyze: run.analyze,
        defer_unique: run.defer_unique,
        load_format: run.load_format,
        queues: Queues {
            batches: w.batch_queue,
            csv: w.csv_queue,
            chunks: w.chunk_queue,
        },
        zero_dates: run.zero_dates,
        json_duplicate_keys: run.json_duplicate_keys,
        source_timezone,
        rules,
        source,
        target,
        schema: file.target.schema,
        workdir,
        exclude: run.exclude.into_iter().collect(),
        chunk_rows: run.chunk_rows,
        batch_rows: run.batch_rows,
        consistency: run.source_consistency,
        workers: Workers {
            readers: w.readers,
            converters: w.converters,
            loaders: w.loaders,
        },
    })
}

/// A password file others may read leaks the password to every user of the host, as
/// libpq's `.pgpass` check warns: said, not refused (the operator owns the file).
fn warn_if_others_can_read(p: &Path, key: &str) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(m) = std::fs::metadata(p) {
        let mode = m.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            tracing::warn!(
                "{key}: {} can be read by other users (mode {mode:o}): `chmod 600` it",
                p.display()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: &str =
        "[source]\nurl = \"mysql://root@h/db\"\n[target]\nurl = \"postgres://o@h/db\"\n";

    fn no_env(_: &str) -> Option<String> {
        None
    }

    /// An empty run.workdir would be the config file's own directory (the pretalx trial);
    /// `--workdir` still overrides it.
    #[test]
    fn an_empty_workdir_is_refused() {
        let text = format!("{MIN}[run]\nworkdir = \"\"\n");
        let e = parse(&text, Path::new("/etc/my2pg"), None, &no_env).unwrap_err();
        assert_eq!(
            e.to_string(),
            "config: run.workdir is empty: name the work directory (a relative path is \
             relative to the config file)"
        );
        let s = parse(
            &text,
            Path::new("/etc/my2pg"),
            Some(Path::new("/w")),
            &no_env,
        )
        .unwrap();
        assert_eq!(s.workdir, PathBuf::from("/w"));
    }

    #[test]
    fn a_toml_syntax_error_gives_its_position_not_the_line() {
        let text = "[source]\nurl = \"mysql://root:Zq9\"Pw7x@h/x\"\n";
        let e = parse(text, Path::new("."), None, &no_env).unwrap_err();
        assert_eq!(
            e.to_string(),
            "config: TOML syntax error at line 2, column 25: expected newline, `#`"
        );
        let text = format!("{MIN}[run]\nchunk_rows = \"abc\"\n");
        let e = parse(&text, Path::new("."), None, &no_env).unwrap_err();
        assert_eq!(
            e.to_string(),
            "config: invalid type: string \"abc\", expected u64 in `run.chunk_rows`"
        );
    }

    #[test]
    fn config_defaults_are_applied() {
        let s = parse(MIN, Path::new("/etc/my2pg"), None, &no_env).unwrap();
        assert_eq!(s.schema, "public");
        assert_eq!(s.workdir, PathBuf::from("/etc/my2pg/./my2pg-work"));
        assert_eq!(s.chunk_rows, 100_000);
        assert_eq!(s.workers.readers, 2);
        assert_eq!(s.consistency, Consistency::Snapshot);
        assert_eq!(s.zero_dates, ZeroDates::Error);
        assert_eq!(s.json_duplicate_keys, JsonDuplicateKeys::Error);
        assert_eq!(s.source_timezone, None);
        assert!(s.rules.is_empty());
    }

    #[test]
    fn config_column_rules_and_policies() {
        let text = format!(
            "{MIN}[run]\nzero_dates = \"null\"\nsource_timezone = \"Europe/Berlin\"\n\
             json_duplicate_keys = \"last\"\n\
             [columns.\"whiteboard.content\"]\nconvert = \"base64\"\n\
             [columns.\"event.payload\"]\nconvert = \"json_duplicate_keys_last\"\n"
        );
        let s = parse(&text, Path::new("."), None, &no_env).unwrap();
        assert_eq!(s.zero_dates, ZeroDates::Null);
        assert_eq!(s.json_duplicate_keys, JsonDuplicateKeys::Last);
        assert_eq!(
            s.rules.get("event.payload"),
            Some(&Rule::JsonDuplicateKeysLast)
        );
        let bad = format!("{MIN}[run]\njson_duplicate_keys = \"first\"\n");
        let e = parse(&bad, Path::new("."), None, &no_env).unwrap_err();
        assert!(e.to_string().contains("unknown variant `first`"), "{e}");
        assert_eq!(s.source_timezone.as_deref(), Some("Europe/Berlin"));
        assert_eq!(s.rules.get("whiteboard.content"), Some(&Rule::Base64));
        let bad = format!("{MIN}[columns.\"t.c\"]\nconvert = \"rot13\"\n");
        let e = parse(&bad, Path::new("."), None, &no_env).unwrap_err();
        assert!(e.to_string().contains("unknown variant `rot13`"), "{e}");
        let bad = format!("{MIN}[columns.\"t.c\"]\nconvert = [\"strip_nul\", \"hex\"]\n");
        let e = parse(&bad, Path::new("."), None, &no_env).unwrap_err();
        assert!(
            e.to_string()
                .contains("convert takes one rule name, not a list: a column takes one rule"),
            "{e}"
        );
        let bad = format!("{MIN}[columns.\"t.c\"]\nconvrt = \"hex\"\n");
        let e = parse(&bad, Path::new("."), None, &no_env).unwrap_err();
        assert_eq!(
            e.to_string(),
            "config: unknown config key `columns.\"t.c\".convrt` (known keys: convert, empty_as)"
        );
        // empty_as belongs to text_to_timestamp; the variants it makes are not rule names.
        let ok = format!(
            "{MIN}[columns.\"t.c\"]\nconvert = \"text_to_timestamp\"\nempty_as = \"infinity\"\n"
        );
        let s = parse(&ok, Path::new("."), None, &no_env).unwrap();
        assert_eq!(
            s.rules.get("t.c"),
            Some(&Rule::TextToTimestampEmptyInfinity)
        );
        let bad = format!("{MIN}[columns.\"t.c\"]\nconvert = \"hex\"\nempty_as = \"null\"\n");
        let e = parse(&bad, Path::new("."), None, &no_env).unwrap_err();
        assert_eq!(
            e.to_string(),
            "config: columns.\"t.c\".empty_as goes with convert = \"text_to_timestamp\", not \"hex\""
        );
        let bad = format!("{MIN}[columns.\"t.c\"]\nconvert = \"text_to_timestamp_empty_null\"\n");
        let e = parse(&bad, Path::new("."), None, &no_env).unwrap_err();
        assert!(e.to_string().contains("unknown variant"), "{e}");
        let bad = format!(
            "{MIN}[columns.\"t.c\"]\nconvert = \"text_to_timestamp\"\nempty_as = \"zero\"\n"
        );
        let e = parse(&bad, Path::new("."), None, &no_env).unwrap_err();
        assert!(e.to_string().contains("unknown variant `zero`"), "{e}");
    }

    #[test]
    fn config_unknown_key_is_named() {
        let text = format!("{MIN}[run]\nchunk_rowz = 5\n");
        let e = parse(&text, Path::new("."), None, &no_env).unwrap_err();
        let msg = e.to_string();
        assert!(
            msg.starts_with("config: unknown config key `run.chunk_rowz` (known keys in [run]: workdir, exclude, chunk_rows,"),
            "{msg}"
        );
        assert_eq!(e.exit_code(), 2);
    }

    #[test]
    fn config_env_overrides_url_and_password() {
        let env = |k: &str| match k {
            "MY2PG_TARGET_URL" => Some("postgres://x@other/db2".to_string()),
            "MY2PG_TARGET_PASSWORD" => Some("hunter2".to_string()),
            _ => None,
        };
        let s = parse(MIN, Path::new("."), None, &env).unwrap();
        assert_eq!(s.target.to_string(), "postgres://x@other/db2");
        assert_eq!(s.target.full_url(), "postgres://x:hunter2@other/db2");
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn byte_sizes_parse_with_units_and_off() {
        assert_eq!(parse_byte_size("512MB"), Ok(Some(512_000_000)));
        assert_eq!(parse_byte_size("1.5 GiB"), Ok(Some(1_610_612_736)));
        assert_eq!(parse_byte_size("4096"), Ok(Some(4096)));
        assert_eq!(parse_byte_size("1kib"), Ok(Some(1024)));
        assert_eq!(parse_byte_size("off"), Ok(None));
        assert_eq!(parse_byte_size("0"), Ok(None));
        assert_eq!(
            parse_byte_size("12 parsecs"),
            Err("\"12 parsecs\": unknown unit (use B, kB, MB, GB, TB, KiB, MiB, GiB, TiB)".into())
        );
        assert_eq!(
            parse_byte_size("lots"),
            Err("\"lots\" is not a size like \"512MB\", \"2GiB\" or \"off\"".into())
        );
        let ok = |t: &str| parse(t, Path::new("/"), None, &no_env).unwrap();
        let err = |t: &str| {
            parse(t, Path::new("/"), None, &no_env)
                .unwrap_err()
                .to_string()
        };
        let s = ok(&format!(
            "{MIN}[run]\nsplit_tables_larger_than = \"2GB\"\n[workers]\nbatch_queue = 8\n"
        ));
        assert_eq!(s.split_bytes, Some(2_000_000_000));
        assert_eq!(
            s.queues,
            Queues {
                batches: 8,
                csv: 4,
                chunks: 64
            }
        );
        let s = ok(MIN);
        assert_eq!(s.split_bytes, Some(512 * 1024 * 1024));
        let e = err(&format!("{MIN}[workers]\nchunk_queue = 0\n"));
        assert_eq!(
            e,
            "config: workers.chunk_queue must be between 1 and 4096, not 0"
        );
        let e = err(&format!("{MIN}[run]\nsplit_tables_larger_than = true\n"));
        assert!(
            e.contains("expected a size like \"512MB\" or \"off\", not true"),
            "{e}"
        );
    }
}
