//! Loader: streams one chunk file into `COPY ... FROM STDIN` and records the chunk in
//! the ledger in the same transaction. The file's CSV goes as it is, or re-encoded as
//! binary COPY (`binary`) where every column has an exact binary form. A file whose
//! bytes differ from the manifest's checksum is refused before anything commits.

use bytes::{Bytes, BytesMut};
use futures::SinkExt;
use sha2::{Digest, Sha256};
use tokio_postgres::Client;

use super::binary::{layout, EncodeError, Transcoder};
use super::ChunkReady;
use crate::config::LoadFormat;
use crate::error::{pg_reason, Error, ErrorKind, Result};
use crate::ident::{pg_literal, PgIdent};
use crate::ledger;
use crate::plan::TablePlan;

const COPY_PIECE: usize = 256 * 1024;

pub enum Loaded {
    Rows(u64),
    /// Already in the ledger with the same checksum.
    Skipped,
}

/// Proves the bytes sent are the bytes that were checksummed: against the xxh3 this
/// process took when it wrote or verified the file, else against the manifest's sha256.
enum FileCheck {
    Xxh3(Box<xxhash_rust::xxh3::Xxh3>, u64),
    Sha256(Sha256),
}

impl FileCheck {
    fn new(xxh3: Option<u64>) -> Self {
        match xxh3 {
            Some(h) => FileCheck::Xxh3(Box::new(xxhash_rust::xxh3::Xxh3::new()), h),
            None => FileCheck::Sha256(Sha256::new()),
        }
    }

    fn update(&mut self, bytes: &[u8]) {
        match self {
            FileCheck::Xxh3(h, _) => h.update(bytes),
            FileCheck::Sha256(h) => h.update(bytes),
        }
    }

    fn mismatch(self, c: &ChunkReady) -> Option<String> {
        match self {
            FileCheck::Xxh3(h, want) => {
                let got = h.digest();
                (got != want).then(|| {
                    format!(
                        "chunk file {} changed on disk while this run was using it \
                         (xxh3 {want:016x} when written or verified, {got:016x} now); run again",
                        c.path.display()
                    )
                })
            }
            FileCheck::Sha256(h) => {
                let got = hex::encode(h.finalize());
                (got != c.sha256).then(|| {
                    format!(
                        "chunk file {} changed after export (sha256 {} in the manifest, {} on disk); export it again",
                        c.path.display(), c.sha256, got
                    )
                })
            }
        }
    }
}

pub fn copy_sql(t: &TablePlan, binary: bool) -> String {
    let cols = t.quoted_target_columns();
    format!(
        "COPY {} ({}) FROM STDIN (FORMAT {})",
        t.target,
        cols.join(", "),
        if binary { "binary" } else { "csv" }
    )
}

fn load_error(t: &TablePlan, c: &ChunkReady, message: String) -> Error {
    ErrorKind::Load {
        table: t.target.to_string(),
        chunk: c.chunk,
        message,
        refused_rows: false,
    }
    .into()
}

/// The manifest lists the chunk but its file cannot be read: say which file, why that
/// happens and how to recover, not only the OS error.
fn unreadable_chunk(c: &ChunkReady, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        format!(
            "the chunk file {} is missing: the export is incomplete or the file was removed; \
             run `my2pg export` again (it exports only what is missing) and then `my2pg import`, \
             or run `my2pg run`",
            c.path.display()
        )
    } else {
        format!(
            "cannot read the chunk file {}: {e}; make it readable, or export it again \
             (`my2pg export`, or `my2pg run`)",
            c.path.display()
        )
    }
}

pub async fn load_chunk(
    pg: &mut Client,
    t: &TablePlan,
    c: &ChunkReady,
    run_id: &str,
    format: LoadFormat,
) -> Result<Loaded> {
    let (schema, table) = (t.target.schema.as_str(), t.target.name.as_str());
    let tx = pg
        .transaction()
        .await
        .map_err(|e| load_error(t, c, pg_reason(&e)))?;
    if let Some(prev) = ledger::find(&tx, schema, table, c.chunk).await? {
        if prev.sha256 != c.sha256 {
            return Err(load_error(
                t,
                c,
                format!(
                "the chunk file {} differs from the one loaded earlier (sha256 {} then, {} now; \
                 the source changed, or the files come from another export): the target already \
                 holds the earlier data, so it is not loaded again; `run --fresh` exports and \
                 loads everything from the source as it is now",
                c.path.display(), prev.sha256, c.sha256
            ),
            ));
        }
        return Ok(Loaded::Skipped);
    }
    // keep-identical: stage the chunk, then add only the rows whose key is absent.
    let mut transcoder: Option<Transcoder> = None;
    let copy_into = if t.merge_existing || !t.fills.is_empty() {
        tx.batch_execute(&format!(
            "CREATE TEMP TABLE my2pg_stage (LIKE {} INCLUDING DEFAULTS) ON COMMIT DROP",
            t.target
        ))
        .await
        .map_err(|e| load_error(t, c, pg_reason(&e)))?;
        let cols = t.quoted_target_columns();
        format!(
            "COPY my2pg_stage ({}) FROM STDIN (FORMAT csv)",
            cols.join(", ")
        )
    } else {
        transcoder = match format {
            LoadFormat::Binary => layout(t).map(Transcoder::new),
            LoadFormat::Csv => None,
        };
        copy_sql(t, transcoder.is_some())
    };
    if c.chunk <= 1 {
        let format = if transcoder.is_some() {
            "binary"
        } else {
            "csv"
        };
        tracing::info!(table = %t.target, format, "COPY format");
    }
    let sink = tx
        .copy_in::<_, Bytes>(copy_into.as_str())
        .await
        .map_err(|e| copy_error(t, c, &e, transcoder.is_some()))?;
    let mut sink = std::pin::pin!(sink);
    let binary = transcoder.is_some();
    // Reading, checking and re-encoding the file is CPU work: it runs on a blocking
    // thread and hands pieces over a short queue, so the async workers only move bytes.
    let (piece_tx, mut piece_rx) = tokio::sync::mpsc::channel::<Bytes>(2);
    let producer = {
        let c = c.clone();
        tokio::task::spawn_blocking(move || read_pieces(&c, transcoder, &piece_tx))
    };
    let mut sent = Ok(());
    while let Some(piece) = piece_rx.recv().await {
        if let Err(e) = sink.send(piece).await {
            sent = Err(copy_error(t, c, &e, binary));
            break;
        }
    }
    drop(piece_rx); // a failed send stops the producer at its next piece
    let produced = producer.await.map_err(Error::panicked)?;
    // A file problem (changed on disk, unreadable, not encodable) explains a COPY error.
    match produced {
        Err(ReadProblem::Io(e)) => return Err(load_error(t, c, unreadable_chunk(c, &e))),
        Err(ReadProblem::Changed(problem)) => return Err(load_error(t, c, problem)),
        Err(ReadProblem::Encode(e)) => return Err(encode_error(t, c, e)),
        Err(ReadProblem::Stopped) | Ok(()) => sent?,
    }
    let rows = sink
        .as_mut()
        .finish()
        .await
        .map_err(|e| copy_error(t, c, &e, binary))?;
    if rows != c.rows {
        return Err(load_error(
            t,
            c,
            format!("COPY loaded {rows} rows, the manifest says {}", c.rows),
        ));
    }
    let loaded = if t.merge_existing {
        merge_staged(&tx, t, c).await?
    } else if !t.fills.is_empty() {
        for sql in crate::cycles::staged_insert_sql(t) {
            tx.execute(sql.as_str(), &[])
                .await
                .map_err(|e| load_error(t, c, pg_reason(&e)))?;
        }
        rows
    } else {
        rows
    };
    ledger::record(&tx, schema, table, c.chunk, &c.sha256, rows, run_id).await?;
    tx.commit()
        .await
        .map_err(|e| copy_error(t, c, &e, binary))?;
    Ok(Loaded::Rows(loaded))
}

/// keep-identical: a staged row whose key is already in the target must equal it
/// (else the run fails naming the key); rows with absent keys are inserted.
/// OVERRIDING SYSTEM VALUE: the source's ids go into GENERATED ALWAYS identity columns,
/// as COPY does (and it is a no-op elsewhere).
async fn merge_staged(
    tx: &tokio_postgres::Transaction<'_>,
    t: &TablePlan,
    c: &ChunkReady,
) -> Result<u64> {
    let key_eq: Vec<String> = t
        .target_key
        .iter()
        .map(|k| format!("s.{0} = t.{0}", PgIdent(k.clone())))
        .collect();
    let differs: Vec<String> = t
        .columns
        .iter()
        .map(|col| {
            let q = PgIdent(col.target.clone());
            match col.target_base.as_str() {
                // Types whose `=` holds different values equal: json has no equality and
                // keeps its text byte for byte, citext and a nondeterministic collation
                // ignore case, -0 = 0 in floats, '1 mon' = '30 days' in interval. Their
                // text tells them apart, as verify does.
                "json" | "float4" | "float8" | "interval" => {
                    format!("s.{q}::text IS DISTINCT FROM t.{q}::text")
                }
                "text" | "varchar" | "bpchar" | "citext" => {
                    format!("s.{q}::text COLLATE \"C\" IS DISTINCT FROM t.{q}::text COLLATE \"C\"")
                }
                _ => format!("s.{q} IS DISTINCT FROM t.{q}"),
            }
        })
        .collect();
    let key_text: Vec<String> = t
        .target_key
        .iter()
        .map(|k| format!("t.{}::text", PgIdent(k.clone())))
        .collect();
    // Which columns differ, named in the error (string literals: names may hold quotes).
    let which: Vec<String> = t
        .columns
        .iter()
        .zip(&differs)
        .map(|(col, d)| format!("CASE WHEN {d} THEN {} END", pg_literal(&col.target)))
        .collect();
    // Arrays, not concat_ws: a function takes at most 100 arguments, a table more columns.
    let sql = format!(
        "SELECT ARRAY[{}]::text[], \
                array_to_string(ARRAY[{}]::text[], ', ') \
         FROM my2pg_stage s JOIN {} t ON {} WHERE {} LIMIT 1",
        key_text.join(", "),
        if which.is_empty() {
            "NULL".to_string()
        } else {
            which.join(", ")
        },
        t.target,
        key_eq.join(" AND "),
        if differs.is_empty() {
            "false".to_string()
        } else {
            differs.join(" OR ")
        }
    );
    if let Some(row) = tx
        .query_opt(sql.as_str(), &[])
        .await
        .map_err(|e| load_error(t, c, pg_reason(&e)))?
    {
        // Each value as verify shows it (ejabberd trial: an empty one read `(a, )`).
        let key: Vec<Option<String>> = row.get(0);
        let key = key
            .iter()
            .map(|v| {
                v.as_deref()
                    .map_or_else(|| "NULL".to_string(), crate::verify::scan::key_value_text)
            })
            .collect::<Vec<_>>()
            .join(", ");
        let columns: String = row.get(1);
        // The file may hold a value fixed in the source since (Kamailio trial: the
        // advice alone would have loaded the stale one).
        // Refused rows, as a violation is: running it again meets them again, which
        // `status` must say first (the h24 trial: it said "run again").
        return Err(ErrorKind::Load {
            table: t.target.to_string(),
            chunk: c.chunk,
            message: earlier_export_hint(c, format!(
                "existing_rows = \"keep-identical\": the target row with key ({})=({key}) differs from the source row in column(s) {columns} (to replace the target's rows with the source's: [tables.{}] existing_rows = \"truncate\")",
                t.target_key.join(", "),
                crate::plan::toml_key(&t.target.name)
            )),
            refused_rows: true,
        }
        .into());
    }
    let cols = t.quoted_target_columns();
    let insert = format!(
        "INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE SELECT {} FROM my2pg_stage s WHERE NOT EXISTS (SELECT 1 FROM {} t WHERE {})",
        t.target,
        cols.join(", "),
        cols.iter().map(|c| format!("s.{c}")).collect::<Vec<_>>().join(", "),
        t.target,
        key_eq.join(" AND ")
    );
    tx.execute(insert.as_str(), &[]).await.map_err(|e| {
        let mut msg = pg_reason(&e);
        if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
            msg.push_str(&format!(
                "; existing_rows = \"keep-identical\" matches rows by ({}) only: a row already \
                 in the target under another key holds this value",
                t.target_key.join(", ")
            ));
        }
        load_error(t, c, msg)
    })
}

/// Why `read_pieces` stopped early.
enum ReadProblem {
    Io(std::io::Error),
    /// The file is not the one exported (checksum).
    Changed(String),
    Encode(EncodeError),
    /// The receiver went away (the COPY failed; its error is reported).
    Stopped,
}

/// Reads the chunk file in pieces, checks every byte against the checksum, and sends the
/// pieces (re-encoded when `transcoder` is set). The end of the stream is only sent once
/// the whole file matched, so a changed file never completes a COPY.
fn read_pieces(
    c: &ChunkReady,
    mut transcoder: Option<Transcoder>,
    tx: &tokio::sync::mpsc::Sender<Bytes>,
) -> std::result::Result<(), ReadProblem> {
    let mut file = std::fs::File::open(&c.path).map_err(ReadProblem::Io)?;
    let mut check = FileCheck::new(c.xxh3);
    let mut raw = BytesMut::new();
    // One output buffer, split per piece: its memory comes back once COPY has sent it.
    let mut out = BytesMut::new();
    loop {
        raw.resize(COPY_PIECE, 0);
        let n = read_full(&mut file, &mut raw).map_err(ReadProblem::Io)?;
        raw.truncate(n);
        if n == 0 {
            break;
        }
        check.update(&raw);
        let piece = match transcoder.as_mut() {
            Some(tc) => {
                out.reserve(n + n / 4);
                if let Err(e) = tc.feed(&raw, &mut out) {
                    // A file changed on disk is the real cause: say that first.
                    return Err(match check_rest(&mut file, check, c) {
                        Some(problem) => ReadProblem::Changed(problem),
                        None => ReadProblem::Encode(e),
                    });
                }
                out.split().freeze()
            }
            None => raw.split().freeze(),
        };
        tx.blocking_send(piece).map_err(|_| ReadProblem::Stopped)?;
    }
    if let Some(problem) = check.mismatch(c) {
        // Dropping the sink and the transaction aborts the COPY: nothing commits.
        return Err(ReadProblem::Changed(problem));
    }
    if let Some(tc) = transcoder.as_mut() {
        tc.finish(&mut out).map_err(ReadProblem::Encode)?;
        tx.blocking_send(out.split().freeze())
            .map_err(|_| ReadProblem::Stopped)?;
    }
    Ok(())
}

/// Fills `buf` unless the file ends first; returns the bytes read.
fn read_full(file: &mut std::fs::File, buf: &mut [u8]) -> std::io::Result<usize> {
    use std::io::Read;
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

/// Hashes the rest of the file: Some(problem) when the file is not the one exported.
fn check_rest(file: &mut std::fs::File, mut check: FileCheck, c: &ChunkReady) -> Option<String> {
    let mut buf = vec![0u8; COPY_PIECE];
    loop {
        match read_full(file, &mut buf) {
            Ok(0) => break,
            Ok(n) => check.update(&buf[..n]),
            Err(e) => return Some(format!("cannot read {}: {e}", c.path.display())),
        }
    }
    check.mismatch(c)
}

/// A value the binary encoder could not read: named like a conversion error.
fn encode_error(t: &TablePlan, c: &ChunkReady, e: EncodeError) -> Error {
    let mut msg = String::new();
    if let Some(col) = e.column.and_then(|i| t.columns.get(i)) {
        msg.push_str(&format!("column {}: ", PgIdent(col.target.clone())));
    }
    msg.push_str(&e.message);
    if let Some(key) = key_at(t, &c.path, e.record, true) {
        msg.push_str(&row_named(t, &key));
    }
    msg.push_str(" (binary COPY; `load_format = \"csv\"` sends the file as it is)");
    load_error(t, c, earlier_export_hint(c, msg))
}

/// A data error in a file an earlier export wrote: re-running loads the same file, so a
/// fix made in the source since would fail again on the same row without this hint.
fn earlier_export_hint(c: &ChunkReady, mut msg: String) -> String {
    if c.earlier_export {
        msg.push_str(&format!(
            "; this chunk ({}) was exported by an earlier run: after fixing the source, \
             export again (`my2pg run --fresh`, or `export` into a new work directory, then \
             `import --fresh`)",
            c.path.display()
        ));
    }
    msg
}

/// Names the failing row: Postgres reports the line (CSV: the file's physical line;
/// binary: the tuple number); the chunk file tells the key.
fn copy_error(t: &TablePlan, c: &ChunkReady, e: &tokio_postgres::Error, binary: bool) -> Error {
    let mut msg = pg_reason(e);
    // A shutdown, a killed session, a lock timeout or a full disk also report the line
    // COPY was on: only an error about the data (its values, a constraint, a row too
    // large, a trigger's) names that row.
    let about_the_data = e
        .as_db_error()
        .is_some_and(|db| matches!(&db.code().code()[..2], "22" | "23" | "54" | "P0"));
    let line = e
        .as_db_error()
        .filter(|_| about_the_data)
        .and_then(|db| db.where_())
        .and_then(|w| w.split(", line ").nth(1))
        .and_then(|rest| rest.split([',', ':']).next())
        .and_then(|n| n.trim().parse::<u64>().ok());
    if let Some(line) = line {
        if let Some(key) = key_at(t, &c.path, line, binary) {
            msg.push_str(&row_named(t, &key));
        }
    }
    if e.code() == Some(&tokio_postgres::error::SqlState::UNIQUE_VIOLATION) {
        msg.push_str(
            "; `my2pg check` lists the source rows that repeat a key the source does not keep \
             unique, values that become equal in the conversion included (letter case or \
             hyphens into uuid, letter case into citext, trailing spaces into char(n)); not for \
             a partial or expression unique index, which `plan` lists",
        );
    }
    // Only the server's verdict on the data: a lost connection is not the file's fault.
    let refused_rows = e.as_db_error().is_some_and(|db| {
        let class = &db.code().code()[..2];
        class == "22" || class == "23"
    });
    if refused_rows {
        msg = earlier_export_hint(c, msg);
    }
    ErrorKind::Load {
        table: t.target.to_string(),
        chunk: c.chunk,
        message: msg,
        refused_rows,
    }
    .into()
}

/// Finds the CSV record that contains physical line `line` (1-based, as CSV COPY counts),
/// or with `by_record` the `line`-th record (binary COPY counts tuples), and formats its
/// key fields.
fn key_at(t: &TablePlan, path: &std::path::Path, line: u64, by_record: bool) -> Option<String> {
    if t.key_positions.iter().any(|&p| p >= t.columns.len()) {
        return None;
    }
    let data = std::fs::read(path).ok()?;
    let (mut cur_line, mut in_quote, mut start) = (1u64, false, 0usize);
    // Postgres counts a quoted line break as it counts the file's line ends, which it
    // learns at the end of the first record: inside that record it counts CRs, after it
    // LFs (measured on PG 17; the h23 attack: a LF inside the first record named the
    // row before the duplicate).
    let mut first_record = true;
    for (i, &b) in data.iter().enumerate() {
        match b {
            b'"' => in_quote = !in_quote,
            b'\n' if !in_quote => {
                if cur_line >= line {
                    return Some(format_fields(t, &data[start..i]));
                }
                start = i + 1;
                cur_line += 1;
                first_record = false;
                if cur_line > line {
                    return None;
                }
            }
            b'\n' if !by_record && !first_record => cur_line += 1,
            b'\r' if in_quote && !by_record && first_record => cur_line += 1,
            _ => {}
        }
    }
    None
}

/// `; row with primary key (id)=(5)`, or `; row (a, b)=(1, 2)` in a table with no key.
fn row_named(t: &TablePlan, key: &str) -> String {
    if t.ordered_by_all {
        format!("; row {key}")
    } else {
        format!("; row with {} {key}", t.key_label())
    }
}

fn format_fields(t: &TablePlan, record: &[u8]) -> String {
    let mut fields: Vec<String> = Vec::new();
    let (mut cur, mut in_quote, mut quoted) = (Vec::new(), false, false);
    let mut i = 0;
    while i < record.len() {
        let b = record[i];
        if in_quote {
            if b == b'"' && record.get(i + 1) == Some(&b'"') {
                cur.push(b'"');
                i += 1;
            } else if b == b'"' {
                in_quote = false;
            } else {
                cur.push(b);
            }
        } else if b == b'"' {
            in_quote = true;
            quoted = true;
        } else if b == b',' {
            fields.push(render(&cur, quoted));
            cur.clear();
            quoted = false;
        } else {
            cur.push(b);
        }
        i += 1;
    }
    fields.push(render(&cur, quoted));
    let names: Vec<&str> = t.key.iter().map(String::as_str).collect();
    let values: Vec<String> = t
        .key_positions
        .iter()
        .map(|&p| fields.get(p).cloned().unwrap_or_else(|| "?".into()))
        .collect();
    format!("({})=({})", names.join(", "), values.join(", "))
}

fn render(field: &[u8], quoted: bool) -> String {
    if field.is_empty() && !quoted {
        return "NULL".into();
    }
    let s = String::from_utf8_lossy(field);
    let short: String = s.chars().take(60).collect();
    short
}
