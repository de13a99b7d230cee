//! Streaming comparison of two sides of one table.
//!
//! Pass 1: each side is streamed (never collected), cut into batches, and every batch is
//! canonicalized and hashed on the rayon pool while the reader keeps reading. A row's
//! bucket is a hash of its canonical key; per bucket each side keeps the row count and
//! the wrapping sum of 128-bit row hashes (commutative, so row order does not matter and
//! MySQL and Postgres collations never need to agree). Memory: the bucket arrays plus a
//! few batches in flight per side.
//!
//! Pass 2 (only when buckets differ): both sides are streamed again and only the rows of
//! a bounded selection of differing buckets are kept, as (key, row hash, column hashes),
//! then matched by key into missing / extra / changed rows with the differing columns.
//!
//! Both sides run as separate tokio tasks, so the source and the target are read at once.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;

use futures::TryStreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncReadExt;
use xxhash_rust::xxh3::{xxh3_128, xxh3_64};

use super::canon::{self, Kind, Origin, SrcRule};
use super::csv::{CsvParser, TextBatch, BATCH_BYTES, BATCH_ROWS};
use super::pgbin::BinaryParser;
use crate::error::{Error, Result};
use crate::pipeline::read::row_bytes;
use crate::plan::TablePlan;

/// Batches in flight per side (hashing on the pool while the reader reads on).
const WINDOW: usize = 4;
/// ... and bytes: beyond this, one batch at a time. A batch holds at least one row, so
/// rows of tens of MB would otherwise keep WINDOW of them (and their canonical forms)
/// alive per side (a 60 MB bytea table peaked at 2.2 GB).
/// (A batch ends once it passes BATCH_BYTES, so WINDOW ordinary ones fit with room.)
const WINDOW_BYTES: usize = (WINDOW + 1) * BATCH_BYTES;
/// Pass 2 keeps at most about this many rows per side (whole buckets).
const PASS2_ROW_BUDGET: u64 = 100_000;

#[derive(Debug, Clone)]
pub struct Col {
    /// Target column name (what reports show).
    pub name: String,
    pub kind: Kind,
    /// The select-list expression that reads it on the target.
    pub expr: String,
    /// A config rule the copy applied to the source value on purpose.
    pub rule: Option<SrcRule>,
    /// Not compared (read as NULL on the target, ignored on both sides).
    pub skip: bool,
    /// The source's bit(n) width, for a bit or varbit target: all n digits compare.
    pub bits: Option<u32>,
    /// A FLOAT(M,D) / DOUBLE(M,D) source into numeric: the copy rounded to D decimals.
    pub float_scale: Option<usize>,
    /// Rule null_to_default: the text the copy wrote for a source NULL.
    pub null_default: Option<Vec<u8>>,
    /// A set whose '' member its text can leave out: its labels and where the row holds
    /// its bit mask (`TablePlan::set_member_read`).
    pub set_members: Option<(Vec<String>, usize)>,
}

impl Col {
    pub fn new(name: &str, kind: Kind) -> Col {
        Col {
            name: name.to_string(),
            kind,
            expr: kind.pg_expr(&crate::ident::PgIdent(name.to_string()).to_string()),
            rule: None,
            skip: false,
            bits: None,
            float_scale: None,
            null_default: None,
            set_members: None,
        }
    }
}

/// What is compared: the columns (same order on both sides) and the key positions.
#[derive(Debug)]
pub struct Layout {
    pub cols: Vec<Col>,
    pub key: Vec<usize>,
    /// No usable key: the key is every column (rows are matched as a multiset).
    pub keyless: bool,
    /// A power of two.
    pub nbuckets: usize,
}

/// Bucket count for a table of about `rows` rows: ~128 rows per bucket, 4096 to 1 Mi.
pub fn bucket_count(rows: u64) -> usize {
    ((rows / 128).max(1) as usize)
        .next_power_of_two()
        .clamp(4096, 1 << 20)
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bucket {
    pub rows: u64,
    pub sum: u128,
}

#[derive(Debug)]
pub enum Mode {
    Buckets,
    /// Keep the rows of these buckets.
    Collect(Vec<bool>),
}

/// One row kept in pass 2.
#[derive(Debug)]
pub struct RowDigest {
    key: Vec<u8>,
    key_text: String,
    row: u128,
    cols: Vec<u64>,
}

pub enum Batch {
    My(Vec<Row>),
    Text(TextBatch, Origin),
}

impl Batch {
    fn rows(&self) -> usize {
        match self {
            Batch::My(r) => r.len(),
            Batch::Text(t, _) => t.rows(),
        }
    }

    fn bytes(&self) -> usize {
        match self {
            Batch::My(r) => r.iter().map(row_bytes).sum(),
            Batch::Text(t, _) => t.data.len(),
        }
    }
}

#[derive(Default)]
struct Part {
    rows: u64,
    pairs: Vec<(u32, u128)>,
    digests: Vec<RowDigest>,
    /// Per column: source values its rule changed (empty for other sides).
    ruled: Vec<u64>,
}

/// What one side yields in one pass.
#[derive(Default, Debug)]
pub struct Scanned {
    pub rows: u64,
    pub buckets: Vec<Bucket>,
    pub digests: Vec<RowDigest>,
    /// Per column: source values its config rule changed before the comparison.
    pub ruled: Vec<u64>,
    /// Problems that do not stop the scan (a chunk file missing or changed).
    pub problems: Vec<String>,
}

/// One more source value of column `c` changed by its rule.
fn count_ruled(ruled: &mut Vec<u64>, ncols: usize, c: usize) {
    if ruled.is_empty() {
        ruled.resize(ncols, 0);
    }
    ruled[c] += 1;
}

/// Canonicalizes and hashes one batch (runs on the rayon pool).
fn process(batch: &Batch, layout: &Layout, mode: &Mode) -> Part {
    let ncols = layout.cols.len();
    let n = batch.rows();
    let mut part = Part {
        rows: n as u64,
        ..Default::default()
    };
    if let Mode::Buckets = mode {
        part.pairs.reserve(n);
    }
    let mut buf: Vec<u8> = Vec::with_capacity(1024);
    // Per column: the range of its encoding (tag, length, bytes) in `buf`.
    let mut enc: Vec<(usize, usize)> = vec![(0, 0); ncols];
    // The key's encodings, concatenated (when the key is not one column).
    let mut kbuf: Vec<u8> = Vec::new();
    let mask = layout.nbuckets - 1;
    for r in 0..n {
        buf.clear();
        for (c, col) in layout.cols.iter().enumerate() {
            let start = buf.len();
            if col.skip {
                buf.push(2);
                enc[c] = (start, buf.len());
                continue;
            }
            let present = match batch {
                Batch::My(rows) => {
                    // Rule null_to_default: the copy wrote the default's text (Postgres's
                    // output form) for NULL.
                    if let (None | Some(Value::NULL), Some(d)) =
                        (rows[r].as_ref(c), &col.null_default)
                    {
                        count_ruled(&mut part.ruled, ncols, c);
                        buf.push(1);
                        buf.extend_from_slice(&[0; 4]);
                        canon::text_value(col.kind, Origin::PgOut, d, &mut buf);
                        let len = (buf.len() - start - 5) as u32;
                        buf[start + 1..start + 5].copy_from_slice(&len.to_le_bytes());
                        enc[c] = (start, buf.len());
                        continue;
                    }
                    let v = match (rows[r].as_ref(c), col.rule) {
                        (None | Some(Value::NULL), _) => None,
                        (Some(v), None) => Some(std::borrow::Cow::Borrowed(v)),
                        (Some(v), Some(rule)) => {
                            let out = rule.apply(v);
                            if rule.changed(v, out.as_deref()) {
                                count_ruled(&mut part.ruled, ncols, c);
                            }
                            out
                        }
                    };
                    let hidden = match (&col.set_members, v.as_deref()) {
                        (Some((labels, at)), Some(Value::Bytes(text))) => {
                            crate::convert::hidden_set_members(labels, text, rows[r].as_ref(*at))
                        }
                        _ => None,
                    };
                    match (v, hidden) {
                        (None, _) => false,
                        // Compared as the copy wrote it: every member the mask holds.
                        (Some(_), Some(members)) => {
                            buf.push(1);
                            buf.extend_from_slice(&[0; 4]);
                            canon::put_list(members.iter().map(|m| Some(m.as_bytes())), &mut buf);
                            true
                        }
                        (Some(v), None) => {
                            buf.push(1);
                            buf.extend_from_slice(&[0; 4]);
                            // FLOAT(M,D) into numeric: the D-decimal value the copy wrote.
                            let scaled = match (col.kind, col.float_scale) {
                                (Kind::Numeric, Some(d)) => {
                                    crate::convert::float_at_scale(v.as_ref(), d)
                                }
                                _ => None,
                            };
                            match (col.kind, col.bits, v.as_ref(), scaled) {
                                (Kind::Bit, Some(n), Value::Bytes(b), _) => {
                                    canon::bits_exact(b, n, &mut buf)
                                }
                                (.., Some(text)) => {
                                    canon::decimal_or_invalid(text.as_bytes(), &mut buf)
                                }
                                _ => canon::mysql_value(col.kind, &v, &mut buf),
                            }
                            true
                        }
                    }
                }
                Batch::Text(t, origin) => match t.field(r, c) {
                    None => false,
                    Some(f) => {
                        buf.push(1);
                        buf.extend_from_slice(&[0; 4]);
                        match origin {
                            Origin::PgBinary => canon::pg_binary_value(col.kind, f, &mut buf),
                            _ => canon::text_value(col.kind, *origin, f, &mut buf),
                        }
                        true
                    }
                },
            };
            if present {
                let len = (buf.len() - start - 5) as u32;
                buf[start + 1..start + 5].copy_from_slice(&len.to_le_bytes());
            } else {
                buf.push(0);
            }
            enc[c] = (start, buf.len());
        }
        let kh = match layout.key.as_slice() {
            &[k] => xxh3_64(&buf[enc[k].0..enc[k].1]),
            key => {
                kbuf.clear();
                for &k in key {
                    kbuf.extend_from_slice(&buf[enc[k].0..enc[k].1]);
                }
                xxh3_64(&kbuf)
            }
        };
        let bucket = (kh as usize) & mask;
        if let Mode::Collect(sel) = mode {
            if !sel[bucket] {
                continue;
            }
        }
        // Verify guards against accidental differences, not adversaries: a fast
        // non-cryptographic 128-bit hash is enough.
        let row = xxh3_128(&buf);
        match mode {
            Mode::Buckets => part.pairs.push((bucket as u32, row)),
            Mode::Collect(_) => {
                let mut key = Vec::new();
                for &k in &layout.key {
                    key.extend_from_slice(&buf[enc[k].0..enc[k].1]);
                }
                let cols = enc.iter().map(|&(s, e)| xxh3_64(&buf[s..e])).collect();
                part.digests.push(RowDigest {
                    key,
                    key_text: key_text(layout, &buf, &enc),
                    row,
                    cols,
                });
            }
        }
    }
    part
}

/// `(id)=(5)`, `(a, b)=(1, x)`: canonical values, unquoted like Postgres' key messages
/// unless a value could be misread.
fn key_text(layout: &Layout, buf: &[u8], enc: &[(usize, usize)]) -> String {
    let names: Vec<&str> = layout
        .key
        .iter()
        .map(|&k| layout.cols[k].name.as_str())
        .collect();
    let values: Vec<String> = layout
        .key
        .iter()
        .map(|&k| {
            let (s, e) = enc[k];
            if buf[s] == 0 {
                return "NULL".to_string();
            }
            let v = String::from_utf8_lossy(&buf[s + 5..e]);
            let v = v.strip_prefix("\0invalid:").unwrap_or(&v);
            // Floats compare as `1e-1`: shown as an operator would type them (`0.1`).
            let float = match layout.cols[k].kind {
                Kind::F64 | Kind::F32 => v.parse::<f64>().ok().map(|f| match f {
                    f if f.is_nan() => "NaN".to_string(),
                    f if f.is_infinite() && f > 0.0 => "Infinity".to_string(),
                    f if f.is_infinite() => "-Infinity".to_string(),
                    // An f32's shortest text, read as f64, prints back the same digits.
                    f => ryu::Buffer::new().format_finite(f).to_string(),
                }),
                _ => None,
            };
            key_value_text(float.as_deref().unwrap_or(v))
        })
        .collect();
    format!("({})=({})", names.join(", "), values.join(", "))
}

/// One key value as reports show it: unquoted like Postgres' key messages unless it could
/// be misread; past 200 characters, its first 120 and last 60 around a `…`.
pub fn key_value_text(v: &str) -> String {
    // Long enough to copy a hash or token key (an 86-character JWT signature). Longer
    // keys keep their end too: the attack's 1,105-character keys differed only there,
    // and every line of the report showed the same cut key.
    let n = v.chars().count();
    let cut = n > 200;
    let short: String = if cut {
        let head: String = v.chars().take(120).collect();
        let tail: String = v.chars().skip(n - 60).collect();
        format!("{head}…{tail}")
    } else {
        v.to_string()
    };
    // Quoted (with escapes) when it could be misread: empty, the word NULL, edge
    // spaces, separators, quotes, control characters (a newline would break the line).
    let ambiguous = v.is_empty()
        || v == "NULL"
        || v.starts_with(' ')
        || v.ends_with(' ')
        || v.chars()
            .any(|c| matches!(c, ',' | '(' | ')' | '"' | '=') || c.is_control() || unseen(c));
    if ambiguous {
        // Debug escapes controls; the unseen characters are escaped here.
        format!("{short:?}")
            .chars()
            .map(|c| {
                if unseen(c) {
                    format!("\\u{{{:x}}}", c as u32)
                } else {
                    c.to_string()
                }
            })
            .collect()
    } else {
        short
    }
}

/// Characters a terminal shows as nothing or as part of their neighbour: combining marks
/// (`e` + U+0301 prints as `é`, the Neutron trial's "missing (15, é)" beside "extra (15,
/// é)"), Unicode's default-ignorable code points (zero-width and direction marks, Hangul
/// fillers, Mongolian and other variation selectors, tags: the h16 attack), no-break
/// space and line/paragraph separators. Escaped in keys.
fn unseen(c: char) -> bool {
    matches!(c as u32,
        0x00A0 | 0x00AD | 0x034F | 0x061C | 0x0300..=0x036F | 0x115F..=0x1160
        | 0x17B4..=0x17B5 | 0x180B..=0x180F | 0x1AB0..=0x1AFF | 0x1DC0..=0x1DFF
        | 0x200B..=0x200F | 0x2028..=0x202E | 0x2060..=0x206F | 0x20D0..=0x20FF
        | 0x3164 | 0xFE00..=0xFE0F | 0xFE20..=0xFE2F | 0xFEFF | 0xFFA0 | 0xFFF0..=0xFFF8
        | 0x1BCA0..=0x1BCA3 | 0x1D173..=0x1D17A | 0xE0000..=0xE0FFF)
}

/// Feeds batches to the pool, a bounded number at a time, and gathers the results.
pub struct Pipe {
    pool: Arc<rayon::ThreadPool>,
    layout: Arc<Layout>,
    mode: Arc<Mode>,
    inflight: VecDeque<tokio::sync::oneshot::Receiver<(Part, Batch)>>,
    /// Bytes of each batch in flight, in the same order.
    inflight_bytes: VecDeque<usize>,
    out: Scanned,
}

impl Pipe {
    pub fn new(pool: Arc<rayon::ThreadPool>, layout: Arc<Layout>, mode: Arc<Mode>) -> Pipe {
        let buckets = match *mode {
            Mode::Buckets => vec![Bucket::default(); layout.nbuckets],
            Mode::Collect(_) => Vec::new(),
        };
        Pipe {
            pool,
            layout,
            mode,
            inflight: VecDeque::new(),
            inflight_bytes: VecDeque::new(),
            out: Scanned {
                buckets,
                ..Default::default()
            },
        }
    }

    async fn push(&mut self, batch: Batch) -> Result<()> {
        if batch.rows() == 0 {
            return Ok(());
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let layout = self.layout.clone();
        let mode = self.mode.clone();
        self.inflight_bytes.push_back(batch.bytes());
        self.pool.spawn(move || {
            // The batch comes back with its result: freed by the reading task, which
            // allocated it (a cross-thread free costs the allocator several times more).
            let part = process(&batch, &layout, &mode);
            let _ = tx.send((part, batch));
        });
        self.inflight.push_back(rx);
        while self.inflight.len() > WINDOW
            || (self.inflight.len() > 1 && self.inflight_bytes.iter().sum::<usize>() > WINDOW_BYTES)
        {
            self.merge_one().await?;
        }
        Ok(())
    }

    async fn merge_one(&mut self) -> Result<()> {
        let Some(rx) = self.inflight.pop_front() else {
            return Ok(());
        };
        self.inflight_bytes.pop_front();
        let (part, batch) = rx
            .await
            .map_err(|_| Error::internal("a verify hashing worker stopped"))?;
        drop(batch);
        self.out.rows += part.rows;
        if self.out.ruled.len() < part.ruled.len() {
            self.out.ruled.resize(part.ruled.len(), 0);
        }
        for (total, n) in self.out.ruled.iter_mut().zip(&part.ruled) {
            *total += n;
        }
        for (b, h) in part.pairs {
            let bucket = &mut self.out.buckets[b as usize];
            bucket.rows += 1;
            bucket.sum = bucket.sum.wrapping_add(h);
        }
        self.out.digests.extend(part.digests);
        Ok(())
    }

    async fn finish(mut self) -> Result<Scanned> {
        while !self.inflight.is_empty() {
            self.merge_one().await?;
        }
        Ok(self.out)
    }
}

/// Streams `sql` (binary protocol, row by row) from MySQL into the pipe.
pub async fn scan_mysql(
    conn: &mut Conn,
    sql: &str,
    what: &str,
    plan: Option<&TablePlan>,
    mut pipe: Pipe,
) -> Result<Scanned> {
    let mut stream = conn
        .exec_stream::<Row, _, _>(sql, ())
        .await
        .map_err(|e| Error::mysql(what, e))?;
    let mut buf = Vec::with_capacity(BATCH_ROWS);
    let mut bytes = 0;
    // Values MariaDB could not read as the copy reads them: compared as read (NULL), they
    // could look equal to a wrong target, so each one makes the table differ.
    let mut unreadable: Vec<String> = Vec::new();
    let mut unreadable_count = 0u64;
    while let Some(row) = stream.try_next().await.map_err(|e| Error::mysql(what, e))? {
        if let Some(t) = plan {
            if let Some((i, class)) = crate::pipeline::transform::source_read_problem(t, &row) {
                unreadable_count += 1;
                if unreadable.len() < 5 {
                    unreadable.push(format!(
                        "column `{}`, {}: {}",
                        t.columns[i].source,
                        crate::pipeline::transform::name_row(t, &row),
                        crate::pipeline::transform::source_read_reason(t, i, class)
                    ));
                }
            }
        }
        bytes += row_bytes(&row);
        buf.push(row);
        if buf.len() >= BATCH_ROWS || bytes >= BATCH_BYTES {
            bytes = 0;
            let rows = std::mem::replace(&mut buf, Vec::with_capacity(BATCH_ROWS));
            pipe.push(Batch::My(rows)).await?;
        }
    }
    drop(stream);
    pipe.push(Batch::My(buf)).await?;
    let mut out = pipe.finish().await?;
    if unreadable_count > unreadable.len() as u64 {
        unreadable.push(format!(
            "and {} more such value(s)",
            unreadable_count - unreadable.len() as u64
        ));
    }
    out.problems = unreadable;
    Ok(out)
}

/// Streams `COPY (...) TO STDOUT (FORMAT binary)` from Postgres into the pipe.
pub async fn scan_pg(
    client: &tokio_postgres::Client,
    copy_sql: &str,
    what: &str,
    ncols: usize,
    mut pipe: Pipe,
) -> Result<Scanned> {
    let stream = client
        .copy_out(copy_sql)
        .await
        .map_err(|e| Error::pg(what, &e))?;
    futures::pin_mut!(stream);
    let mut parser = BinaryParser::new(ncols);
    while let Some(bytes) = stream.try_next().await.map_err(|e| Error::pg(what, &e))? {
        parser
            .feed(&bytes)
            .map_err(|e| Error::internal(format!("{what}: {e}")))?;
        for b in parser.take_ready() {
            pipe.push(Batch::Text(b, Origin::PgBinary)).await?;
        }
    }
    if let Some(b) = parser
        .finish()
        .map_err(|e| Error::internal(format!("{what}: {e}")))?
    {
        pipe.push(Batch::Text(b, Origin::PgBinary)).await?;
    }
    pipe.finish().await
}

/// One chunk file and what its manifest says about it.
#[derive(Debug, Clone)]
pub struct ChunkFile {
    pub path: PathBuf,
    pub name: String,
    pub bytes: u64,
    pub sha256: String,
    pub rows: u64,
}

/// Streams the chunk files into the pipe. With `check`, each file's size and sha256 are
/// compared with the manifest (computed while the file is parsed: one read per file).
pub async fn scan_chunks(
    files: &[ChunkFile],
    ncols: usize,
    check: bool,
    mut pipe: Pipe,
) -> Result<Scanned> {
    let mut problems = Vec::new();
    let mut buf = vec![0u8; 256 << 10];
    'files: for f in files {
        let mut file = match tokio::fs::File::open(&f.path).await {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                if check {
                    problems.push(format!("chunk file {} is missing", f.name));
                }
                continue;
            }
            Err(e) => return Err(Error::io(&f.path, e)),
        };
        let mut sha = Sha256::new();
        let mut len = 0u64;
        let mut parser = CsvParser::new(ncols);
        let bad = |e: String| Error::workdir(format!("{}: {e}", f.path.display()));
        // A file that changed since export may not parse: its checksum says so, as for
        // one that still parses (the h24 trial: "malformed CSV" alone). The rest of it is
        // read for the checksum only.
        let mut broken = None;
        loop {
            let n = file
                .read(&mut buf)
                .await
                .map_err(|e| Error::io(&f.path, e))?;
            if n == 0 {
                break;
            }
            if check {
                sha.update(&buf[..n]);
            }
            len += n as u64;
            if broken.is_some() {
                continue;
            }
            if let Err(e) = parser.feed(&buf[..n]) {
                // The second pass reads again only files the first one parsed or found
                // changed (a problem already recorded).
                if !check {
                    continue 'files;
                }
                broken = Some(e);
                continue;
            }
            for b in parser.take_ready() {
                pipe.push(Batch::Text(b, Origin::CsvIn)).await?;
            }
        }
        let records = parser.records;
        let last = match broken {
            Some(e) => Err(e),
            None => parser.finish(),
        };
        let digest = check.then(|| hex::encode(sha.finalize()));
        let changed = digest
            .as_deref()
            .is_some_and(|d| len != f.bytes || d != f.sha256);
        match last {
            Ok(Some(b)) => pipe.push(Batch::Text(b, Origin::CsvIn)).await?,
            Ok(None) => {}
            Err(_) if changed || !check => {}
            Err(e) => return Err(bad(e)),
        }
        if let Some(digest) = digest {
            if changed {
                problems.push(changed_file(f, len, &digest));
            } else if records != f.rows {
                problems.push(format!(
                    "chunk file {} holds {records} rows, its manifest says {}",
                    f.name, f.rows
                ));
            }
        }
    }
    let mut out = pipe.finish().await?;
    out.problems = problems;
    Ok(out)
}

fn changed_file(f: &ChunkFile, len: u64, digest: &str) -> String {
    format!(
        "chunk file {} does not match its manifest checksum ({} bytes, sha256 {}; manifest: {} \
         bytes, sha256 {}): it changed since it was exported; remove it and `my2pg export` \
         writes it again",
        f.name,
        len,
        &digest[..12],
        f.bytes,
        f.sha256.get(..12).unwrap_or(&f.sha256)
    )
}

// ---- comparing ------------------------------------------------------------------------

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Diff {
    pub key: String,
    /// missing (in the source / chunks, not in the target), extra (only in the target),
    /// changed (same key, different values).
    pub kind: &'static str,
    /// Target columns whose values differ (changed rows only).
    pub columns: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub missing: u64,
    pub extra: u64,
    pub changed: u64,
    /// The counts above cover every differing bucket.
    pub complete: bool,
    pub diffs: Vec<Diff>,
}

/// Differing buckets, in order.
pub fn differing(a: &[Bucket], b: &[Bucket]) -> Vec<usize> {
    (0..a.len()).filter(|&i| a[i] != b[i]).collect()
}

/// The differing buckets pass 2 looks into: at least one, at most `max_diffs` (each
/// holds at least one difference) and about `PASS2_ROW_BUDGET` rows per side.
pub fn select_buckets(bad: &[usize], a: &[Bucket], b: &[Bucket], max_diffs: usize) -> Vec<usize> {
    let mut rows = 0u64;
    let mut out = Vec::new();
    for &i in bad {
        let n = a[i].rows.max(b[i].rows);
        if !out.is_empty() && (out.len() >= max_diffs || rows + n > PASS2_ROW_BUDGET) {
            break;
        }
        rows += n;
        out.push(i);
    }
    out
}

/// Matches the kept rows of both sides by key. `a` is the side that should be complete
/// (source or chunks), `b` the target.
pub fn diff_rows(
    a: Vec<RowDigest>,
    b: Vec<RowDigest>,
    layout: &Layout,
    max_diffs: usize,
) -> Outcome {
    let mut by_key: HashMap<Vec<u8>, (Vec<RowDigest>, Vec<RowDigest>)> = HashMap::new();
    for d in a {
        by_key.entry(d.key.clone()).or_default().0.push(d);
    }
    for d in b {
        by_key.entry(d.key.clone()).or_default().1.push(d);
    }
    let mut out = Outcome::default();
    for (_, (mut xs, mut ys)) in by_key {
        // Identical rows cancel out pairwise (rows are a multiset without a key).
        xs.retain(|x| match ys.iter().position(|y| y.row == x.row) {
            Some(p) => {
                ys.swap_remove(p);
                false
            }
            None => true,
        });
        let paired = if layout.keyless {
            0
        } else {
            xs.len().min(ys.len())
        };
        for (x, y) in xs.iter().zip(ys.iter()).take(paired) {
            out.changed += 1;
            let columns = layout
                .cols
                .iter()
                .zip(x.cols.iter().zip(&y.cols))
                .filter(|(_, (p, q))| p != q)
                .map(|(c, _)| c.name.clone())
                .collect();
            out.diffs.push(Diff {
                key: x.key_text.clone(),
                kind: "changed",
                columns,
            });
        }
        for x in &xs[paired..] {
            out.missing += 1;
            out.diffs.push(Diff {
                key: x.key_text.clone(),
                kind: "missing",
                columns: Vec::new(),
            });
        }
        for y in &ys[paired.min(ys.len())..] {
            out.extra += 1;
            out.diffs.push(Diff {
                key: y.key_text.clone(),
                kind: "extra",
                columns: Vec::new(),
            });
        }
    }
    out.diffs
        .sort_by(|p, q| natural(&p.key, &q.key).then(p.kind.cmp(q.kind)));
    out.diffs.truncate(max_diffs);
    out
}

/// Orders `(id)=(2)` before `(id)=(10)`: digit runs compare by value.
fn natural(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, _) => return std::cmp::Ordering::Less,
            (_, None) => return std::cmp::Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let n = x.iter().take_while(|c| c.is_ascii_digit()).count();
                let m = y.iter().take_while(|c| c.is_ascii_digit()).count();
                let (p, q) = (&x[..n], &y[..m]);
                let strip = |s: &[u8]| -> usize { s.iter().take_while(|&&c| c == b'0').count() };
                let (p, q) = (&p[strip(p)..], &q[strip(q)..]);
                let o = p.len().cmp(&q.len()).then(p.cmp(q));
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
                x = &x[n..];
                y = &y[m..];
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(d);
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

/// A side of the comparison, handed to its own task and given back for the next pass.
pub enum Side {
    My {
        conn: Conn,
        sql: String,
        what: String,
        /// The table plan whose flags each row carries (see `source_read_problem`).
        plan: Option<Arc<TablePlan>>,
    },
    Pg {
        client: tokio_postgres::Client,
        sql: String,
        what: String,
    },
    Chunks {
        files: Vec<ChunkFile>,
    },
}

impl Side {
    async fn scan(mut self, pipe: Pipe, ncols: usize, first_pass: bool) -> (Side, Result<Scanned>) {
        let r = match &mut self {
            Side::My {
                conn,
                sql,
                what,
                plan,
            } => scan_mysql(conn, sql, what, plan.as_deref(), pipe).await,
            Side::Pg { client, sql, what } => scan_pg(client, sql, what, ncols, pipe).await,
            Side::Chunks { files } => scan_chunks(files, ncols, first_pass, pipe).await,
        };
        (self, r)
    }

    /// Ends the read-only transaction and closes the connection.
    pub async fn close(self) {
        match self {
            Side::My { mut conn, .. } => {
                let _ = conn.query_drop("COMMIT").await;
                let _ = conn.disconnect().await;
            }
            Side::Pg { client, .. } => {
                let _ = client.batch_execute("COMMIT").await;
            }
            Side::Chunks { .. } => {}
        }
    }
}

/// The result of comparing two sides.
#[derive(Debug, Default)]
pub struct Compared {
    pub a_rows: u64,
    /// Per column of side `a`: values its config rule changed (empty: none).
    pub a_ruled: Vec<u64>,
    pub b_rows: u64,
    pub outcome: Outcome,
    pub problems: Vec<String>,
}

async fn both(
    a: Side,
    b: Side,
    layout: &Arc<Layout>,
    mode: Mode,
    pool: &Arc<rayon::ThreadPool>,
    first_pass: bool,
) -> Result<((Side, Scanned), (Side, Scanned))> {
    let mode = Arc::new(mode);
    let ncols = layout.cols.len();
    let pa = Pipe::new(pool.clone(), layout.clone(), mode.clone());
    let pb = Pipe::new(pool.clone(), layout.clone(), mode);
    let ta = tokio::spawn(a.scan(pa, ncols, first_pass));
    let tb = tokio::spawn(b.scan(pb, ncols, first_pass));
    let (ra, rb) = tokio::join!(ta, tb);
    let (sa, ra) = ra.map_err(Error::panicked)?;
    let (sb, rb) = rb.map_err(Error::panicked)?;
    match (ra, rb) {
        (Ok(x), Ok(y)) => Ok(((sa, x), (sb, y))),
        (Err(e), _) | (_, Err(e)) => {
            sa.close().await;
            sb.close().await;
            Err(e)
        }
    }
}

/// Compares side `a` (source or chunks) with side `b` (target): bucket pass, then the
/// rows of differing buckets.
pub async fn compare(
    a: Side,
    b: Side,
    layout: Arc<Layout>,
    pool: &Arc<rayon::ThreadPool>,
    max_diffs: usize,
) -> Result<Compared> {
    let ((a, sa), (b, sb)) = both(a, b, &layout, Mode::Buckets, pool, true).await?;
    let mut problems = sa.problems;
    problems.extend(sb.problems);
    let bad = differing(&sa.buckets, &sb.buckets);
    let mut c = Compared {
        a_rows: sa.rows,
        a_ruled: sa.ruled,
        b_rows: sb.rows,
        outcome: Outcome {
            complete: true,
            ..Default::default()
        },
        problems,
    };
    if bad.is_empty() || max_diffs == 0 {
        c.outcome.complete = bad.is_empty();
        a.close().await;
        b.close().await;
        return Ok(c);
    }
    let chosen = select_buckets(&bad, &sa.buckets, &sb.buckets, max_diffs);
    let mut sel = vec![false; layout.nbuckets];
    for &i in &chosen {
        sel[i] = true;
    }
    drop((sa.buckets, sb.buckets));
    let ((a, da), (b, db)) = both(a, b, &layout, Mode::Collect(sel), pool, false).await?;
    a.close().await;
    b.close().await;
    let mut outcome = diff_rows(da.digests, db.digests, &layout, max_diffs);
    outcome.complete = chosen.len() == bad.len();
    if outcome.missing + outcome.extra + outcome.changed == 0 {
        // The buckets differ but the kept rows match: the data changed between passes.
        c.problems.push(
            "rows differed in the first pass but not in the second: the data is changing while it is verified"
                .into(),
        );
    }
    c.outcome = outcome;
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout() -> Layout {
        Layout {
            cols: vec![Col::new("id", Kind::Int), Col::new("body", Kind::Text)],
            key: vec![0],
            keyless: false,
            nbuckets: 4096,
        }
    }

    fn batch(csv: &str, origin: Origin) -> Batch {
        let mut p = CsvParser::new(2);
        p.feed(csv.as_bytes()).unwrap();
        Batch::Text(p.finish().unwrap().unwrap(), origin)
    }

    #[test]
    fn buckets_ignore_order_and_diffs_name_columns() {
        let l = layout();
        let a = process(
            &batch("1,\"a\"\n2,\"b\"\n3,\"c\"\n", Origin::CsvIn),
            &l,
            &Mode::Buckets,
        );
        let b = process(
            &batch("3,\"c\"\n1,\"a\"\n2,\"b\"\n", Origin::PgOut),
            &l,
            &Mode::Buckets,
        );
        let sum = |p: &Part| {
            let mut v = vec![Bucket::default(); l.nbuckets];
            for &(i, h) in &p.pairs {
                v[i as usize].rows += 1;
                v[i as usize].sum = v[i as usize].sum.wrapping_add(h);
            }
            v
        };
        assert!(differing(&sum(&a), &sum(&b)).is_empty());
        let all = Mode::Collect(vec![true; l.nbuckets]);
        let a = process(
            &batch("1,\"a\"\n2,\"b\"\n3,\"c\"\n", Origin::CsvIn),
            &l,
            &all,
        );
        let b = process(&batch("1,\"a\"\n2,\n4,\"d\"\n", Origin::PgOut), &l, &all);
        let o = diff_rows(a.digests, b.digests, &l, 10);
        assert_eq!((o.missing, o.extra, o.changed), (1, 1, 1));
        assert_eq!(
            o.diffs,
            vec![
                Diff {
                    key: "(id)=(2)".into(),
                    kind: "changed",
                    columns: vec!["body".into()]
                },
                Diff {
                    key: "(id)=(3)".into(),
                    kind: "missing",
                    columns: vec![]
                },
                Diff {
                    key: "(id)=(4)".into(),
                    kind: "extra",
                    columns: vec![]
                },
            ]
        );
    }

    /// The key texts of `csv` rows of two key columns, as a difference report shows them.
    fn key_texts(a: Col, b: Col, csv: &str) -> Vec<String> {
        let l = Layout {
            cols: vec![a, b],
            key: vec![0, 1],
            keyless: false,
            nbuckets: 4096,
        };
        let all = Mode::Collect(vec![true; l.nbuckets]);
        let p = process(&batch(csv, Origin::CsvIn), &l, &all);
        p.digests.iter().map(|d| d.key_text.clone()).collect()
    }

    #[test]
    fn keys_that_could_be_misread_are_quoted() {
        let keys = key_texts(
            Col::new("a", Kind::Text),
            Col::new("b", Kind::Text),
            "\",1050,\",\" %13%\"\nplain,\"two\nlines\"\n\"\",NULL\n,x\n",
        );
        assert_eq!(
            keys,
            [
                r#"(a, b)=(",1050,", " %13%")"#,
                r#"(a, b)=(plain, "two\nlines")"#,
                r#"(a, b)=("", "NULL")"#,
                "(a, b)=(NULL, x)",
            ]
        );
        // The same letter composed and decomposed, and a zero-width space, are told apart.
        let keys = key_texts(
            Col::new("a", Kind::Text),
            Col::new("b", Kind::Text),
            "15,\u{e9}\n15,e\u{301}\n16,a\u{200b}b\n17,hangul\u{1160}\n18,tag\u{e0041}\n",
        );
        assert_eq!(
            keys,
            [
                "(a, b)=(15, \u{e9})",
                r#"(a, b)=(15, "e\u{301}")"#,
                r#"(a, b)=(16, "a\u{200b}b")"#,
                r#"(a, b)=(17, "hangul\u{1160}")"#,
                r#"(a, b)=(18, "tag\u{e0041}")"#,
            ]
        );
        // A token or signature key is shown whole (up to 200 characters), so it can be
        // copied; a longer one keeps its start and its end (keys that differ only at the
        // end stay apart).
        let token = "eyJhbGciOiJSUzI1NiJ9".repeat(5);
        let long = |end: &str| format!("{}{end}", "p".repeat(1100));
        let keys = key_texts(
            Col::new("a", Kind::Text),
            Col::new("b", Kind::Text),
            &format!("{token},1\n{},2\n{},3\n", long("00001"), long("00002")),
        );
        let cut = |end: &str| format!("{}…{}{end}", "p".repeat(120), "p".repeat(55));
        assert_eq!(
            keys,
            [
                format!("(a, b)=({token}, 1)"),
                format!("(a, b)=({}, 2)", cut("00001")),
                format!("(a, b)=({}, 3)", cut("00002")),
            ]
        );
    }

    #[test]
    fn float_keys_are_shown_as_they_are_typed() {
        let keys = key_texts(
            Col::new("d", Kind::F64),
            Col::new("f", Kind::F32),
            "0.1,42.5\n1e300,-0.25\nNaN,Infinity\n",
        );
        assert_eq!(
            keys,
            [
                "(d, f)=(0.1, 42.5)",
                "(d, f)=(1e300, -0.25)",
                "(d, f)=(NaN, Infinity)"
            ]
        );
    }

    #[test]
    fn duplicates_count_as_extra_rows() {
        let l = layout();
        let all = Mode::Collect(vec![true; l.nbuckets]);
        let a = process(&batch("1,\"a\"\n", Origin::CsvIn), &l, &all);
        let b = process(&batch("1,\"a\"\n1,\"a\"\n", Origin::PgOut), &l, &all);
        let o = diff_rows(a.digests, b.digests, &l, 10);
        assert_eq!((o.missing, o.extra, o.changed), (0, 1, 0));
    }

    #[test]
    fn keys_sort_naturally() {
        let mut v = vec![
            "(id)=(100)",
            "(id)=(2)",
            "(id)=(10)",
            "(id)=(b)",
            "(id)=(a)",
        ];
        v.sort_by(|a, b| natural(a, b));
        assert_eq!(
            v,
            [
                "(id)=(2)",
                "(id)=(10)",
                "(id)=(100)",
                "(id)=(a)",
                "(id)=(b)"
            ]
        );
    }

    #[test]
    fn bucket_counts_scale() {
        assert_eq!(bucket_count(0), 4096);
        assert_eq!(bucket_count(1_000_000), 8192);
        assert_eq!(bucket_count(u64::MAX), 1 << 20);
    }
}
