//! Export orchestration: `readers` workers, each with one (snapshot) MySQL connection,
//! take tables largest-first within wave order and run a lane per table. A table whose
//! earlier export is partly on disk resumes after its last verified chunk.

use std::collections::VecDeque;
use std::io::Read;
use std::sync::{Arc, Mutex};

use mysql_async::Conn;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;

use super::read::{read_table, ResumePoint};
use super::transform::transform_lane;
use super::write::write_chunks;
use super::{first_error, Cancel, Capacities, ChunkReady, ExportEvent, Progress};
use crate::error::{Error, Result};
use crate::plan::{Plan, TablePlan};
use crate::workdir::manifest::Manifest;
use crate::workdir::{create_dir_private, WorkDir};

pub struct ExportCtx {
    pub plan: Arc<Plan>,
    pub workdir: WorkDir,
    pub pool: Arc<rayon::ThreadPool>,
    pub caps: Capacities,
    pub chunk_rows: u64,
    pub batch_rows: usize,
    pub cancel: Cancel,
    pub progress: Arc<Progress>,
    /// Set in `run`: finished chunks go straight to the loader.
    pub events_tx: Option<mpsc::Sender<ExportEvent>>,
    /// Server versions, recorded in every manifest.
    pub versions: (String, String),
}

/// Exports every table of the plan with the given reader connections.
pub async fn export_all(ctx: Arc<ExportCtx>, conns: Vec<Conn>) -> Result<Vec<Manifest>> {
    let mut order: Vec<usize> = (0..ctx.plan.tables.len()).collect();
    // Early waves first (the loader waits for them), then the biggest tables first.
    order.sort_by_key(|&i| {
        let t = &ctx.plan.tables[i];
        (t.wave, std::cmp::Reverse(t.est_bytes), i)
    });
    let queue = Arc::new(Mutex::new(order.into_iter().collect::<VecDeque<usize>>()));
    let results: Arc<Mutex<Vec<Option<Manifest>>>> =
        Arc::new(Mutex::new(vec![None; ctx.plan.tables.len()]));
    let mut workers = tokio::task::JoinSet::new();
    for mut conn in conns {
        let (ctx, queue, results) = (ctx.clone(), queue.clone(), results.clone());
        workers.spawn(async move {
            loop {
                let next = queue
                    .lock()
                    .map_err(|_| Error::internal("queue poisoned"))?
                    .pop_front();
                let Some(i) = next else { break };
                if ctx.cancel.is_tripped() {
                    return Err(Error::cancelled());
                }
                let m = export_table(&ctx, &mut conn, i)
                    .await
                    .inspect_err(|_| ctx.cancel.trip())?;
                results
                    .lock()
                    .map_err(|_| Error::internal("results poisoned"))?[i] = Some(m);
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
    let results = std::mem::take(
        &mut *results
            .lock()
            .map_err(|_| Error::internal("results poisoned"))?,
    );
    results
        .into_iter()
        .map(|m| m.ok_or_else(|| Error::internal("a table was not exported")))
        .collect()
}

async fn export_table(ctx: &Arc<ExportCtx>, conn: &mut Conn, idx: usize) -> Result<Manifest> {
    let t = &ctx.plan.tables[idx];
    let (manifest, resume) = prepare_table(&ctx.workdir, t, ctx.chunk_rows, &ctx.versions)?;
    // Chunks already on disk are announced first, so `run` loads what an earlier
    // export left (the ledger skips what is already loaded).
    if let Some(tx) = &ctx.events_tx {
        for c in &manifest.chunks {
            let ready = ChunkReady {
                table: idx,
                chunk: c.chunk,
                path: ctx.workdir.table_dir(&t.dir).join(&c.file),
                rows: c.rows,
                bytes: c.bytes,
                sha256: c.sha256.clone(),
            };
            tx.send(ExportEvent::Chunk(ready))
                .await
                .map_err(|_| Error::cancelled())?;
        }
    }
    let Some(resume) = resume else {
        tracing::info!(table = %t.target.name, rows = manifest.rows(), chunks = manifest.chunks.len(), "already exported");
        if let Some(tx) = &ctx.events_tx {
            tx.send(ExportEvent::TableDone { table: idx })
                .await
                .map_err(|_| Error::cancelled())?;
        }
        return Ok(manifest);
    };
    let started = std::time::Instant::now();
    let (batch_tx, batch_rx) = crossbeam_channel::bounded(ctx.caps.batches);
    let (enc_tx, enc_rx) = crossbeam_channel::bounded(ctx.caps.encoded);
    let xform = {
        let (ctx, cancel) = (ctx.clone(), ctx.cancel.clone());
        tokio::task::spawn_blocking(move || {
            let t = &ctx.plan.tables[idx];
            transform_lane(&ctx.pool, t, batch_rx, enc_tx, &cancel)
        })
    };
    let write = {
        let ctx = ctx.clone();
        tokio::task::spawn_blocking(move || {
            let t = &ctx.plan.tables[idx];
            let columns: Vec<String> = t.columns.iter().map(|c| c.source.clone()).collect();
            write_chunks(
                &ctx.workdir,
                idx,
                &t.dir,
                &columns,
                manifest,
                enc_rx,
                ctx.events_tx.as_ref(),
                &ctx.progress,
                &ctx.cancel,
            )
        })
    };
    let read = read_table(
        conn,
        t,
        resume,
        ctx.chunk_rows,
        ctx.batch_rows,
        &batch_tx,
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
    let manifest = match written {
        Ok(m) => m,
        Err(e) => {
            ctx.cancel.trip();
            first_error([read, xform, Err(e)])?;
            return Err(Error::cancelled());
        }
    };
    first_error([read, xform])?;
    tracing::info!(
        table = %t.target.name,
        rows = manifest.rows(),
        chunks = manifest.chunks.len(),
        seconds = format!("{:.2}", started.elapsed().as_secs_f64()),
        "exported"
    );
    Ok(manifest)
}

/// Reads the table's manifest, keeps the chunks whose files still match their checksum,
/// removes everything else, and says where the export continues (`None` = complete).
pub fn prepare_table(
    wd: &WorkDir,
    t: &TablePlan,
    chunk_rows: u64,
    versions: &(String, String),
) -> Result<(Manifest, Option<ResumePoint>)> {
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
        complete: false,
        chunks: Vec::new(),
    };
    let mut m = match Manifest::read(&path)? {
        None => fresh,
        Some(m) if m.fingerprint != fingerprint => {
            return Err(Error::workdir(format!(
                "{} was exported under a different plan or chunk size; use another work directory or remove {}",
                t.target.name,
                dir.display()
            )))
        }
        Some(mut m) => {
            m.source_version.clone_from(&versions.0);
            m.target_version.clone_from(&versions.1);
            m
        }
    };
    let mut keep = 0;
    for c in &m.chunks {
        if !chunk_file_matches(&dir.join(&c.file), c.bytes, &c.sha256)? {
            tracing::warn!(table = %t.target.name, chunk = c.chunk, "chunk file missing or changed: exporting again from there");
            break;
        }
        keep += 1;
    }
    if keep < m.chunks.len() || (t.ordered_by_all && !m.complete) {
        // Without a key a partial export cannot continue: start that table over.
        let keep = if t.ordered_by_all { 0 } else { keep };
        m.chunks.truncate(keep);
        m.complete = false;
    }
    // Remove anything the manifest does not vouch for (temp files, stale chunks).
    let listed: std::collections::BTreeSet<String> =
        m.chunks.iter().map(|c| c.file.clone()).collect();
    for entry in std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))? {
        let entry = entry.map_err(|e| Error::io(&dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let stale = (name.ends_with(".csv") && !listed.contains(&name)) || name.ends_with(".tmp");
        if stale {
            std::fs::remove_file(entry.path()).map_err(|e| Error::io(entry.path(), e))?;
        }
    }
    m.write(&path)?;
    if m.complete {
        return Ok((m, None));
    }
    let resume = match m.chunks.last() {
        None => ResumePoint {
            next_chunk: 1,
            after_key: None,
        },
        Some(last) => ResumePoint {
            next_chunk: last.chunk + 1,
            after_key: match &last.last_key {
                Some(k) => Some(k.iter().map(|v| v.to_value()).collect::<Result<Vec<_>>>()?),
                None => None,
            },
        },
    };
    Ok((m, Some(resume)))
}

/// True when the file exists with exactly these bytes.
pub fn chunk_file_matches(path: &std::path::Path, bytes: u64, sha256: &str) -> Result<bool> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(path, e)),
    };
    let len = f.metadata().map_err(|e| Error::io(path, e))?.len();
    if len != bytes {
        return Ok(false);
    }
    Ok(sha256_of(&mut f).map_err(|e| Error::io(path, e))? == sha256)
}

pub fn sha256_of(r: &mut impl Read) -> std::io::Result<String> {
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = r.read(&mut buf)?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
    }
    Ok(hex::encode(sha.finalize()))
}
