//! Export orchestration: `readers` workers, each with one (snapshot) MySQL connection,
//! take work largest-first within wave order and run a lane per segment (a key range of
//! a table; a large table is split into several so more than one reader works on it).
//! A table whose earlier export is partly on disk resumes: only the chunks that are
//! missing or changed are read again.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::read::{read_table, RowLane, Segment, SegmentStart};
use super::transform::transform_lane;
use super::write::write_chunks;
use super::{first_error, Cancel, ChunkReady, ExportEvent, Progress};
use crate::config::Queues;
use crate::error::{Error, Result};
use crate::ident::MyIdent;
use crate::plan::{Plan, TablePlan};
use crate::workdir::manifest::Manifest;
use crate::workdir::{create_dir_private, WorkDir};

pub struct ExportCtx {
    pub plan: Arc<Plan>,
    pub workdir: WorkDir,
    pub pool: Arc<rayon::ThreadPool>,
    pub queues: Queues,
    pub chunk_rows: u64,
    pub batch_rows: usize,
    /// Tables estimated larger than this are split into key ranges (None = never).
    pub split_bytes: Option<u64>,
    pub readers: usize,
    /// The readers share one snapshot: a table read in pieces is counted in it at the end.
    pub snapshot: bool,
    pub cancel: Cancel,
    pub progress: Arc<Progress>,
    /// Set in `run`: finished chunks go straight to the loader.
    pub events_tx: Option<mpsc::Sender<ExportEvent>>,
    /// Server versions, recorded in every manifest.
    pub versions: (String, String),
    /// The source database, recorded in every manifest.
    pub source_database: String,
}

/// One table's export in progress: its manifest, shared by its segments' writers.
struct TableExport {
    manifest: Mutex<Manifest>,
    segments_left: AtomicUsize,
    started: OnceLock<Instant>,
    /// Read in more than one piece (key ranges, or after chunks of an earlier export):
    /// its rows are counted in the snapshot once every piece is written.
    pieced: bool,
    /// Some of its chunks come from an earlier export.
    resumed: bool,
}

impl TableExport {
    fn manifest(&self) -> Result<std::sync::MutexGuard<'_, Manifest>> {
        self.manifest
            .lock()
            .map_err(|_| Error::internal("manifest lock poisoned"))
    }
}

/// Exports every table of the plan with the given reader connections.
pub async fn export_all(ctx: Arc<ExportCtx>, conns: Vec<Conn>) -> Result<Vec<Manifest>> {
    let n = ctx.plan.tables.len();
    let mut tables = Vec::with_capacity(n);
    let mut work: Vec<Vec<Segment>> = Vec::with_capacity(n);
    for (i, t) in ctx.plan.tables.iter().enumerate() {
        let Prepared {
            manifest,
            mut segments,
            file_hashes,
        } = prepare_table(
            &ctx.workdir,
            t,
            ctx.chunk_rows,
            &ctx.versions,
            &ctx.source_database,
        )?;
        if manifest.chunks.is_empty() && segments.len() == 1 {
            segments = split(t, ctx.chunk_rows, ctx.readers, ctx.split_bytes);
            if segments.len() > 1 {
                tracing::info!(table = %t.target.name, ranges = segments.len(), est_rows = t.est_rows, "split into key ranges");
            }
        }
        // Chunks already on disk are announced first, so `run` loads what an earlier
        // export left (the ledger skips what is already loaded).
        if let Some(tx) = &ctx.events_tx {
            for (c, &xxh3) in manifest.chunks.iter().zip(&file_hashes) {
                let ready = ChunkReady {
                    table: i,
                    chunk: c.chunk,
                    path: ctx.workdir.table_dir(&t.dir).join(&c.file),
                    rows: c.rows,
                    bytes: c.bytes,
                    sha256: c.sha256.clone(),
                    xxh3: Some(xxh3),
                    earlier_export: true,
                };
                tx.send(ExportEvent::Chunk(ready))
                    .await
                    .map_err(|_| Error::cancelled())?;
            }
            if segments.is_empty() {
                tx.send(ExportEvent::TableDone { table: i })
                    .await
                    .map_err(|_| Error::cancelled())?;
            }
        }
        if segments.is_empty() {
            tracing::info!(table = %t.target.name, rows = manifest.rows(), chunks = manifest.chunks.len(), "already exported");
        }
        let resumed = !segments.is_empty() && !manifest.chunks.is_empty();
        let pieced = resumed || segments.len() > 1;
        tables.push(Arc::new(TableExport {
            manifest: Mutex::new(manifest),
            segments_left: AtomicUsize::new(segments.len()),
            started: OnceLock::new(),
            pieced,
            resumed,
        }));
        work.push(segments);
    }
    let mut order: Vec<usize> = (0..n).collect();
    // Early waves first (the loader waits for them), then the biggest tables first.
    order.sort_by_key(|&i| {
        let t = &ctx.plan.tables[i];
        (t.wave, std::cmp::Reverse(t.est_bytes), i)
    });
    let queue: VecDeque<(usize, Segment)> = order
        .into_iter()
        .flat_map(|i| {
            std::mem::take(&mut work[i])
                .into_iter()
                .map(move |s| (i, s))
        })
        .collect();
    let queue = Arc::new(Mutex::new(queue));
    let tables = Arc::new(tables);
    let mut workers = tokio::task::JoinSet::new();
    for mut conn in conns {
        let (ctx, queue, tables) = (ctx.clone(), queue.clone(), tables.clone());
        workers.spawn(async move {
            loop {
                let next = queue
                    .lock()
                    .map_err(|_| Error::internal("queue poisoned"))?
                    .pop_front();
                let Some((i, seg)) = next else { break };
                if ctx.cancel.is_tripped() {
                    return Err(Error::cancelled());
                }
                let state = tables[i].clone();
                export_segment(&ctx, &mut conn, i, seg, &state)
                    .await
                    .inspect_err(|_| ctx.cancel.trip())?;
                if state.segments_left.fetch_sub(1, Ordering::SeqCst) == 1 {
                    finish_table(&ctx, &mut conn, i, &state)
                        .await
                        .inspect_err(|_| ctx.cancel.trip())?;
                }
            }
            // Ends the snapshot transaction; the source is only ever read.
            let _ = conn.disconnect().await;
            Ok(())
        });
    }
    let mut outcomes = Vec::new();
    while let Some(r) = workers.join_next().await {
        let r = r.map_err(Error::panicked).and_then(|r| r);
        if r.is_err() {
            ctx.cancel.trip();
        }
        outcomes.push(r);
    }
    first_error(outcomes)?;
    tables
        .iter()
        .map(|t| t.manifest().map(|m| m.clone()))
        .collect()
}

/// The key ranges a fresh export of `t` is read in: one, or up to `readers` when the
/// table is estimated larger than `split_bytes`. Ranges start at chunk boundaries
/// (counted in the snapshot by the reader), so the files do not depend on the split.
pub fn split(
    t: &TablePlan,
    chunk_rows: u64,
    readers: usize,
    split_bytes: Option<u64>,
) -> Vec<Segment> {
    let whole = vec![Segment::whole_table()];
    let Some(limit) = split_bytes else {
        return whole;
    };
    if t.ordered_by_all || readers < 2 || t.est_bytes <= limit {
        return whole;
    }
    let est_chunks = t.est_rows.div_ceil(chunk_rows);
    let parts = (readers as u64)
        .min(t.est_bytes.div_ceil(limit))
        .min(est_chunks);
    if parts < 2 {
        return whole;
    }
    let per = est_chunks.div_ceil(parts); // chunks per range
    (0..parts)
        .map(|s| Segment {
            first_chunk: (s * per + 1) as u32,
            start: if s == 0 {
                SegmentStart::Beginning
            } else {
                SegmentStart::AfterRows(s * per * chunk_rows)
            },
            limit_rows: (s + 1 < parts).then_some(per * chunk_rows),
            exact: false,
            until_key: None,
        })
        .collect()
}

async fn export_segment(
    ctx: &Arc<ExportCtx>,
    conn: &mut Conn,
    idx: usize,
    seg: Segment,
    state: &Arc<TableExport>,
) -> Result<()> {
    let t = &ctx.plan.tables[idx];
    state.started.get_or_init(Instant::now);
    let (batch_tx, batch_rx) = crossbeam_channel::bounded(ctx.queues.batches);
    let (enc_tx, enc_rx) = crossbeam_channel::bounded(ctx.queues.csv);
    // Spent row buffers go back to the reader (at most two held: bounded memory).
    let (spent_tx, spent_rx) = crossbeam_channel::bounded(2);
    let xform = {
        let (ctx, cancel) = (ctx.clone(), ctx.cancel.clone());
        tokio::task::spawn_blocking(move || {
            let t = &ctx.plan.tables[idx];
            transform_lane(&ctx.pool, t, batch_rx, enc_tx, spent_tx, &cancel)
        })
    };
    let write = {
        let (ctx, state) = (ctx.clone(), state.clone());
        tokio::task::spawn_blocking(move || {
            let t = &ctx.plan.tables[idx];
            let columns: Vec<String> = t.columns.iter().map(|c| c.source.clone()).collect();
            write_chunks(
                &ctx.workdir,
                idx,
                &t.dir,
                &columns,
                &state.manifest,
                enc_rx,
                ctx.events_tx.as_ref(),
                &ctx.progress,
                &ctx.cancel,
            )
        })
    };
    let gap = seg
        .exact
        .then(|| crate::pipeline::read::gap_changed(&seg, ctx.chunk_rows));
    let read = read_table(
        conn,
        t,
        seg,
        ctx.chunk_rows,
        ctx.batch_rows,
        RowLane {
            batches: &batch_tx,
            spent: &spent_rx,
        },
        &ctx.cancel,
    )
    .await;
    drop(batch_tx); // closing the lane lets transform, then the writer, finish
    if read.is_err() {
        ctx.cancel.trip();
    }
    let xform = xform.await.map_err(Error::panicked)?;
    if xform.is_err() {
        ctx.cancel.trip();
    }
    let written = write.await.map_err(Error::panicked)?;
    // A gap that no longer holds its rows stays refused, as a count that does not add
    // up does (the h22 attack: the next run was told to run again, and refused again).
    if let (Some(why), Err(e)) = (&gap, &read) {
        if matches!(e.kind(), crate::error::ErrorKind::Refused(_)) {
            let mut m = state.manifest()?;
            m.refused = Some(format!(
                "{why}: the source changed since the earlier export"
            ));
            m.write(&ctx.workdir.manifest_path(&t.dir))?;
        }
    }
    if let Err(e) = written {
        ctx.cancel.trip();
        first_error([read, xform, Err(e)])?;
        return Err(Error::cancelled());
    }
    first_error([read, xform])
}

/// Every segment of the table is on disk: the chunks must now be 1..=n without a gap.
async fn finish_table(
    ctx: &Arc<ExportCtx>,
    conn: &mut Conn,
    idx: usize,
    state: &TableExport,
) -> Result<()> {
    let t = &ctx.plan.tables[idx];
    if state.pieced && ctx.snapshot {
        rows_match_the_snapshot(ctx, conn, idx, state).await?;
    }
    let (rows, chunks) = {
        let mut m = state.manifest()?;
        if let Some((pos, c)) = m
            .chunks
            .iter()
            .enumerate()
            .find(|(pos, c)| c.chunk as usize != pos + 1)
        {
            // Only possible when the ranges saw different data: without a snapshot
            // (`source_consistency = "none"`) on a source that is being written.
            return Err(Error::workdir(format!(
                "table `{}` changed while it was read in key ranges (chunk {} is missing, chunk {} \
                 exists): stop the writes or use source_consistency = \"snapshot\", then run again",
                t.source,
                pos + 1,
                c.chunk
            )));
        }
        m.complete = true;
        m.write(&ctx.workdir.manifest_path(&t.dir))?;
        (m.rows(), m.chunks.len())
    };
    let seconds = state
        .started
        .get()
        .map_or(0.0, |s| s.elapsed().as_secs_f64());
    tracing::info!(
        table = %t.target.name,
        rows,
        chunks,
        seconds = format!("{seconds:.2}"),
        "exported"
    );
    if let Some(tx) = &ctx.events_tx {
        tx.send(ExportEvent::TableDone { table: idx })
            .await
            .map_err(|_| Error::cancelled())?;
    }
    Ok(())
}

/// The pieces of a table, each read after a key, must add up to the table: a key the
/// server compares differently from how it sorts, or a source changed since an earlier
/// export's chunks (a resume assumes it did not), shows here as rows missing or read
/// twice (the attack: both loaded with exit 0). Checked before the table is marked
/// complete, so the next run refuses again until a fresh export.
async fn rows_match_the_snapshot(
    ctx: &Arc<ExportCtx>,
    conn: &mut Conn,
    idx: usize,
    state: &TableExport,
) -> Result<()> {
    let t = &ctx.plan.tables[idx];
    let exported = state.manifest()?.rows();
    let held: Option<u64> = conn
        .query_first(format!(
            "SELECT COUNT(*) FROM {}",
            MyIdent(t.source.clone())
        ))
        .await
        .map_err(|e| Error::mysql(format!("count the rows of `{}`", t.source), e))?;
    let held = held.unwrap_or(0);
    if held == exported {
        return Ok(());
    }
    let why = if state.resumed {
        "the source changed since the earlier export of its first chunks (a resume assumes \
         it did not)"
    } else {
        "the key ranges read in one snapshot did not meet exactly: the key does not order the \
         rows the way the server compares them"
    };
    let why = format!(
        "{exported} rows were exported in key order, but the source holds {held} in this \
         run's snapshot: {why}"
    );
    {
        let mut m = state.manifest()?;
        m.refused = Some(why.clone());
        m.write(&ctx.workdir.manifest_path(&t.dir))?;
    }
    Err(Error::refused(format!(
        "table `{}`: {why}; export it again from scratch: `run --fresh` (with `export` alone, \
         remove the table's directory)",
        t.source
    )))
}

/// A resume reads on after the kept chunks in the key's order: under another collation
/// (`ALTER TABLE ... COLLATE` since the interrupted export) rows move across the kept
/// chunks' bounds, and are lost or read twice. Manifests of earlier versions do not
/// record the collations and are not checked.
pub(crate) fn same_key_collations(t: &TablePlan, m: &Manifest) -> Result<()> {
    if m.key_collations.is_empty() || m.key_collations == t.key_collations {
        return Ok(());
    }
    let now = |col: &str| {
        t.key_collations
            .iter()
            .find(|(c, _)| c == col)
            .map_or("no collation", |(_, coll)| coll.as_str())
    };
    let changed: Vec<String> = m
        .key_collations
        .iter()
        .filter(|(c, coll)| now(c) != coll)
        .map(|(c, coll)| format!("`{c}` from {coll} to {}", now(c)))
        .collect();
    Err(Error::refused(format!(
        "table `{}`: the collation of its key changed since the earlier export of its first \
         chunks ({}): the rest would be read in another order, losing or repeating rows; \
         export it again from scratch: `run --fresh` (with `export` alone, remove the table's \
         directory)",
        t.source,
        if changed.is_empty() {
            "its key columns differ".to_string()
        } else {
            changed.join(", ")
        }
    )))
}

/// What an export of one table starts from.
pub struct Prepared {
    pub manifest: Manifest,
    /// Key ranges still to read (none when the table is complete).
    pub segments: Vec<Segment>,
    /// xxh3 of each kept chunk file (in manifest order), taken while verifying it.
    pub file_hashes: Vec<u64>,
}

/// Reads the table's manifest, keeps the chunks whose files still match their checksum,
/// removes everything else, and says which key ranges remain to be read (none when the
/// table is complete): the gaps left by missing or changed chunks, each of a known
/// number of rows, and the rest of the table after the last chunk.
pub fn prepare_table(
    wd: &WorkDir,
    t: &TablePlan,
    chunk_rows: u64,
    versions: &(String, String),
    source_database: &str,
) -> Result<Prepared> {
    let dir = wd.table_dir(&t.dir);
    create_dir_private(&dir)?;
    let path = wd.manifest_path(&t.dir);
    let fingerprint = t.fingerprint(chunk_rows);
    let fresh = Manifest {
        format: 1,
        source_table: t.source.clone(),
        target_schema: t.target.schema.clone(),
        target_table: t.target.name.clone(),
        columns: t.columns.iter().map(|c| c.target.clone()).collect(),
        fingerprint: fingerprint.clone(),
        source_version: versions.0.clone(),
        target_version: versions.1.clone(),
        source_database: Some(source_database.to_string()),
        complete: false,
        refused: None,
        key_collations: t.key_collations.clone(),
        chunks: Vec::new(),
        checksum: None,
    };
    let mut m = match Manifest::read(&path)? {
        None => fresh,
        Some(m) if !t.wrote(&m, chunk_rows) => {
            return Err(Error::workdir(format!(
                "{} {}; otherwise use another work directory or remove {}",
                t.target.name,
                t.mismatch(&m, chunk_rows),
                dir.display()
            )))
        }
        Some(m)
            if m.source_database
                .as_deref()
                .is_some_and(|d| d != source_database) =>
        {
            return Err(crate::workdir::manifest::other_database(
                &dir,
                m.source_database.as_deref().unwrap_or_default(),
                source_database,
            ))
        }
        Some(m) if m.refused.is_some() => {
            return Err(crate::workdir::manifest::refused_earlier(
                &t.source,
                m.refused.as_deref().unwrap_or_default(),
            ))
        }
        Some(mut m) => {
            // An earlier version's fingerprint is rewritten as this one's.
            m.fingerprint.clone_from(&fingerprint);
            m.source_version.clone_from(&versions.0);
            m.target_version.clone_from(&versions.1);
            m.source_database = Some(source_database.to_string());
            m
        }
    };
    let before = m.chunks.len();
    let mut kept = Vec::with_capacity(before);
    let mut file_hashes = Vec::with_capacity(before);
    for c in std::mem::take(&mut m.chunks) {
        if let Some(xxh3) = chunk_file_matches(&dir.join(&c.file), c.bytes, &c.sha256)? {
            kept.push(c);
            file_hashes.push(xxh3);
        } else {
            tracing::warn!(table = %t.target.name, chunk = c.chunk, "chunk file missing or changed: exporting that chunk again");
        }
    }
    m.chunks = kept;
    // A gap can only be refilled when the chunk after it says where it begins (its
    // first key; manifests from before first_key): otherwise continue after the gap.
    if let Some(pos) = m
        .chunks
        .iter()
        .enumerate()
        .position(|(pos, c)| c.chunk as usize != pos + 1 && c.first_key.is_none())
    {
        m.chunks.truncate(pos);
        file_hashes.truncate(pos);
    }
    // A last chunk without its last key (an earlier version lost it when a table ended on
    // a batch boundary: the h20 trial) cannot be continued after: it is read again, after
    // the chunk before it (the same rows give the same bytes).
    if !m.complete && !t.ordered_by_all && m.chunks.last().is_some_and(|c| c.last_key.is_none()) {
        m.chunks.pop();
        file_hashes.pop();
    }
    if m.chunks.len() < before || (t.ordered_by_all && !m.complete) {
        m.complete = false;
        if t.ordered_by_all {
            // Without a key a partial export cannot continue: start that table over.
            m.chunks.clear();
            file_hashes.clear();
        }
    }
    if m.chunks.is_empty() {
        m.key_collations.clone_from(&t.key_collations);
    } else if !m.complete {
        same_key_collations(t, &m)?;
    }
    // Remove anything the manifest does not vouch for (temp files, stale chunks).
    let listed: std::collections::BTreeSet<String> =
        m.chunks.iter().map(|c| c.file.clone()).collect();
    for entry in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
        let entry = entry.map_err(|e| Error::io(&dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // Only my2pg's own names: an operator's file there stays (h19 attack).
        let stale = crate::workdir::is_own_file(&name)
            && name != "manifest.json"
            && !listed.contains(&name);
        if stale {
            std::fs::remove_file(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
            // Said (the h22 attack: files named like chunks went without a word).
            tracing::info!(
                "removed {}: not listed in the manifest (an unfinished chunk, or one of an \
                 earlier export)",
                entry.path().display()
            );
        }
    }
    let segments = if m.complete {
        Vec::new()
    } else {
        remaining_segments(t, &m, chunk_rows)?
    };
    if segments.is_empty() {
        m.complete = true;
    }
    m.write(&path)?;
    Ok(Prepared {
        manifest: m,
        segments,
        file_hashes,
    })
}

/// The key ranges an incomplete manifest still lacks, in chunk order.
fn remaining_segments(t: &TablePlan, m: &Manifest, chunk_rows: u64) -> Result<Vec<Segment>> {
    let after = |c: Option<&crate::workdir::manifest::ChunkEntry>| -> Result<SegmentStart> {
        let Some(c) = c else {
            return Ok(SegmentStart::Beginning);
        };
        // A refusal of the state found (exit 2): running again cannot help.
        let key = c.last_key.as_ref().ok_or_else(|| {
            Error::refused(format!(
                "{}: chunk {} has no last key to continue after; remove {} and export again \
                 (or `run --fresh`)",
                t.target.name, c.chunk, t.dir
            ))
        })?;
        Ok(SegmentStart::AfterKey(
            key.iter()
                .map(|v| v.to_value())
                .collect::<Result<Vec<_>>>()?,
        ))
    };
    let mut segments = Vec::new();
    let mut next = 1u32;
    let mut prev = None;
    for (pos, c) in m.chunks.iter().enumerate() {
        let last = pos + 1 == m.chunks.len();
        if !last && c.rows != chunk_rows {
            return Err(Error::refused(format!(
                "{}: chunk {} holds {} rows but is not the last chunk; remove {} and export \
                 again (or `run --fresh`)",
                t.target.name, c.chunk, c.rows, t.dir
            )));
        }
        if c.chunk > next {
            segments.push(Segment {
                first_chunk: next,
                start: after(prev)?,
                limit_rows: Some(u64::from(c.chunk - next) * chunk_rows),
                exact: true,
                until_key: c
                    .first_key
                    .as_ref()
                    .map(|k| k.iter().map(|v| v.to_value()).collect::<Result<Vec<_>>>())
                    .transpose()?,
            });
        }
        next = c.chunk + 1;
        prev = Some(c);
    }
    // Read on after the last chunk, even a short one: it ended the table when it was
    // written, but the run that wrote it stopped before counting the table in its
    // snapshot, so this run reads (usually nothing) and counts (Neutron trial: a table
    // marked complete here, unread and uncounted, lost a row with exit 0).
    segments.push(Segment {
        first_chunk: next,
        start: after(prev)?,
        limit_rows: None,
        exact: false,
        until_key: None,
    });
    Ok(segments)
}

/// The file's xxh3 when it exists with exactly these bytes (length and sha256).
pub fn chunk_file_matches(path: &std::path::Path, bytes: u64, sha256: &str) -> Result<Option<u64>> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let len = f.metadata().map_err(|e| Error::io(path, e))?.len();
    if len != bytes {
        return Ok(None);
    }
    let (sha, xxh3) = hashes_of(&mut f).map_err(|e| Error::io(path, e))?;
    Ok((sha == sha256).then_some(xxh3))
}

/// sha256 (hex) and xxh3-64 of everything `r` yields, in one pass.
pub fn hashes_of(r: &mut impl Read) -> std::io::Result<(String, u64)> {
    let mut sha = Sha256::new();
    let mut xxh3 = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
        xxh3.update(&buf[..n]);
    }
    Ok((hex::encode(sha.finalize()), xxh3.digest()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workdir::manifest::{ChunkEntry, KeyValue};

    fn table(est_rows: u64, est_bytes: u64, ordered_by_all: bool) -> TablePlan {
        TablePlan {
            key: vec!["id".into()],
            key_positions: vec![0],
            ordered_by_all,
            est_rows,
            est_bytes,
            ..TablePlan::test_table("t", vec![])
        }
    }

    fn shape(segs: &[Segment]) -> Vec<(u32, Option<u64>, Option<u64>)> {
        segs.iter()
            .map(|s| {
                let after = match s.start {
                    SegmentStart::Beginning => None,
                    SegmentStart::AfterRows(n) => Some(n),
                    SegmentStart::AfterKey(_) => Some(u64::MAX),
                };
                (s.first_chunk, after, s.limit_rows)
            })
            .collect()
    }

    #[test]
    fn split_cuts_at_chunk_boundaries_and_leaves_the_last_range_open() {
        // 1,050 rows in chunks of 100 = 11 chunks; 3 readers: 4 + 4 + rest.
        let t = table(1_050, 10_000, false);
        assert_eq!(
            shape(&split(&t, 100, 3, Some(1))),
            [
                (1, None, Some(400)),
                (5, Some(400), Some(400)),
                (9, Some(800), None)
            ]
        );
        // As many ranges as the size asks for, at most one per reader.
        assert_eq!(split(&t, 100, 8, Some(4_000)).len(), 3);
        assert_eq!(split(&t, 100, 8, Some(1)).len(), 8);
        // Not split: under the threshold, off, one reader, no key, one chunk.
        for segs in [
            split(&t, 100, 3, Some(10_000)),
            split(&t, 100, 3, None),
            split(&t, 100, 1, Some(1)),
            split(&table(1_050, 10_000, true), 100, 3, Some(1)),
            split(&t, 2_000, 3, Some(1)),
            split(&table(0, 10_000, false), 100, 3, Some(1)),
        ] {
            assert_eq!(shape(&segs), [(1, None, None)]);
        }
    }

    fn entry(chunk: u32, rows: u64, first: i64, last: i64) -> ChunkEntry {
        ChunkEntry {
            chunk,
            file: crate::workdir::chunk_file_name(chunk),
            rows,
            bytes: 1,
            sha256: String::new(),
            last_key: Some(vec![KeyValue::Int(last)]),
            first_key: Some(vec![KeyValue::Int(first)]),
            changed: Default::default(),
        }
    }

    fn manifest(chunks: Vec<ChunkEntry>) -> Manifest {
        Manifest {
            format: 1,
            source_table: "t".into(),
            target_schema: "public".into(),
            target_table: "t".into(),
            columns: vec![],
            fingerprint: String::new(),
            source_version: String::new(),
            target_version: String::new(),
            source_database: None,
            complete: false,
            refused: None,
            key_collations: vec![],
            chunks,
            checksum: None,
        }
    }

    #[test]
    fn remaining_segments_fill_gaps_exactly_and_continue_after_the_last_chunk() {
        let t = table(0, 0, false);
        let m = manifest(vec![
            entry(2, 10, 11, 20),
            entry(3, 10, 21, 30),
            entry(6, 10, 51, 60),
        ]);
        let segs = remaining_segments(&t, &m, 10).unwrap();
        let got: Vec<_> = segs
            .iter()
            .map(|s| {
                let after = match &s.start {
                    SegmentStart::AfterKey(k) => Some(k.clone()),
                    _ => None,
                };
                (
                    s.first_chunk,
                    after,
                    s.limit_rows,
                    s.exact,
                    s.until_key.clone(),
                )
            })
            .collect();
        use mysql_async::Value::Int;
        assert_eq!(
            got,
            [
                (1, None, Some(10), true, Some(vec![Int(11)])),
                (4, Some(vec![Int(30)]), Some(20), true, Some(vec![Int(51)])),
                (7, Some(vec![Int(60)]), None, false, None),
            ]
        );
        // After a short last chunk too: read on (usually nothing), so the table is counted.
        let m = manifest(vec![entry(1, 10, 1, 10), entry(2, 4, 11, 14)]);
        let segs = remaining_segments(&t, &m, 10).unwrap();
        assert_eq!(segs.len(), 1);
        let after = match &segs[0].start {
            SegmentStart::AfterKey(k) => Some(k.clone()),
            _ => None,
        };
        assert_eq!(
            (
                segs[0].first_chunk,
                after,
                segs[0].limit_rows,
                segs[0].exact
            ),
            (3, Some(vec![Int(14)]), None, false)
        );
        // A short chunk in the middle cannot be continued from.
        let m = manifest(vec![entry(1, 4, 1, 4), entry(2, 10, 5, 14)]);
        let e = remaining_segments(&t, &m, 10).unwrap_err().to_string();
        assert_eq!(
            e,
            "refused: t: chunk 1 holds 4 rows but is not the last chunk; remove t and export \
             again (or `run --fresh`)"
        );
    }
}
