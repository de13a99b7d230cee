//! Chunk writer: bytes go to `<chunk>.csv.tmp` (0600) while being hashed; at the end of
//! a chunk the file is fsynced, renamed, recorded in the manifest, and only then announced.
//! The manifest is rewritten whole, so it is written at most every MANIFEST_EVERY with
//! every chunk committed since (each rewrite costs time in proportion to the chunks it
//! lists: once per chunk, 20,000 small chunks took minutes).

use std::fs::{self, File};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};
use mysql_async::Value;
use sha2::{Digest, Sha256};
use tokio::sync::mpsc;
use xxhash_rust::xxh3::Xxh3;

use super::{Cancel, ChunkReady, EncodedBatch, ExportEvent, Progress};
use crate::error::{Error, Result};
use crate::workdir::manifest::{ChunkEntry, KeyValue, Manifest};
use crate::workdir::{chunk_file_name, create_private, sync_parent, WorkDir};

struct OpenChunk {
    chunk: u32,
    tmp: PathBuf,
    /// Unbuffered: pieces arrive as tens of KB, so a buffer would only add a copy.
    out: File,
    sha: Sha256,
    xxh3: Xxh3,
    rows: u64,
    bytes: u64,
    changed: Vec<u64>,
    first_key: Option<Vec<KeyValue>>,
}

impl OpenChunk {
    fn create(wd: &WorkDir, dir: &str, chunk: u32, first_key: Option<&[Value]>) -> Result<Self> {
        let tmp = wd
            .table_dir(dir)
            .join(format!("{}.tmp", chunk_file_name(chunk)));
        let file = create_private(&tmp)?;
        Ok(OpenChunk {
            chunk,
            tmp,
            out: file,
            sha: Sha256::new(),
            xxh3: Xxh3::new(),
            rows: 0,
            bytes: 0,
            changed: Vec::new(),
            first_key: first_key.map(|k| k.iter().map(KeyValue::from_value).collect()),
        })
    }

    fn append(&mut self, csv: &[Vec<u8>], rows: u64, changed: &[u64]) -> Result<()> {
        if self.changed.len() < changed.len() {
            self.changed.resize(changed.len(), 0);
        }
        self.changed
            .iter_mut()
            .zip(changed)
            .for_each(|(a, b)| *a += b);
        for piece in csv {
            self.out
                .write_all(piece)
                .map_err(|e| Error::io(&self.tmp, e))?;
            self.sha.update(piece);
            self.xxh3.update(piece);
            self.bytes += piece.len() as u64;
        }
        self.rows += rows;
        Ok(())
    }

    /// Durable before it has a name: the final name is only ever a complete file.
    fn commit(self, columns: &[String]) -> Result<(PathBuf, ChunkEntry, u64)> {
        let file = self.out;
        file.sync_all().map_err(|e| Error::io(&self.tmp, e))?;
        let path = self.tmp.with_extension(""); // 000001.csv.tmp -> 000001.csv
        fs::rename(&self.tmp, &path).map_err(|e| Error::io(&path, e))?;
        sync_parent(&path)?;
        Ok((
            path,
            ChunkEntry {
                chunk: self.chunk,
                file: chunk_file_name(self.chunk),
                rows: self.rows,
                bytes: self.bytes,
                sha256: hex::encode(self.sha.finalize()),
                last_key: None,
                first_key: self.first_key,
                changed: columns
                    .iter()
                    .zip(&self.changed)
                    .filter(|(_, n)| **n > 0)
                    .map(|(c, n)| (c.clone(), *n))
                    .collect(),
            },
            self.xxh3.digest(),
        ))
    }
}

/// Writes one segment's chunks. The table's manifest is shared by its segments: each
/// committed chunk is inserted in chunk order and the manifest rewritten atomically.
#[allow(clippy::too_many_arguments)]
pub fn write_chunks(
    wd: &WorkDir,
    table: usize,
    dir: &str,
    source_columns: &[String],
    manifest: &Mutex<Manifest>,
    enc_rx: Receiver<EncodedBatch>,
    events_tx: Option<&mpsc::Sender<ExportEvent>>,
    progress: &Progress,
    cancel: &Cancel,
) -> Result<()> {
    let manifest_path = wd.manifest_path(dir);
    let mut recorder = Recorder {
        manifest,
        path: manifest_path,
        pending: Vec::new(),
        last_write: None,
        events_tx,
    };
    let written = write_loop(
        wd,
        table,
        dir,
        source_columns,
        &mut recorder,
        enc_rx,
        progress,
        cancel,
    );
    // Chunks committed before an error or a cancel are recorded all the same: a resume
    // keeps them.
    match written {
        Ok(()) => recorder.flush(),
        Err(e) => {
            let _ = recorder.record();
            Err(e)
        }
    }
}

/// Committed chunks waiting to be recorded in the manifest, then announced.
struct Recorder<'a> {
    manifest: &'a Mutex<Manifest>,
    path: PathBuf,
    pending: Vec<ChunkReady>,
    last_write: Option<Instant>,
    events_tx: Option<&'a mpsc::Sender<ExportEvent>>,
}

/// How often a table's manifest is rewritten at most while chunks keep coming.
const MANIFEST_EVERY: Duration = Duration::from_millis(250);

impl Recorder<'_> {
    fn due(&self) -> bool {
        self.last_write
            .is_none_or(|t| t.elapsed() >= MANIFEST_EVERY)
    }

    /// Time left before the pending chunks are due.
    fn wait(&self) -> Duration {
        self.last_write.map_or(Duration::ZERO, |t| {
            MANIFEST_EVERY.saturating_sub(t.elapsed())
        })
    }

    /// Writes the manifest (it already holds the pending chunks).
    fn record(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let m = self
            .manifest
            .lock()
            .map_err(|_| Error::internal("manifest lock poisoned"))?;
        m.write(&self.path)?;
        self.last_write = Some(Instant::now());
        Ok(())
    }

    /// Records the pending chunks, then announces them to the loaders.
    fn flush(&mut self) -> Result<()> {
        self.record()?;
        for ready in self.pending.drain(..) {
            if let Some(tx) = self.events_tx {
                tx.blocking_send(ExportEvent::Chunk(ready))
                    .map_err(|_| Error::cancelled())?;
            }
        }
        Ok(())
    }
}

#[allow(clippy::too_many_arguments)]
fn write_loop(
    wd: &WorkDir,
    table: usize,
    dir: &str,
    source_columns: &[String],
    recorder: &mut Recorder<'_>,
    enc_rx: Receiver<EncodedBatch>,
    progress: &Progress,
    cancel: &Cancel,
) -> Result<()> {
    let mut open: Option<OpenChunk> = None;
    let mut segment_done = false;
    loop {
        let b = if recorder.pending.is_empty() {
            match enc_rx.recv() {
                Ok(b) => b,
                Err(_) => break,
            }
        } else {
            // Chunks wait at most MANIFEST_EVERY for company, even when no batch comes.
            match enc_rx.recv_timeout(recorder.wait()) {
                Ok(b) => b,
                Err(RecvTimeoutError::Timeout) => {
                    recorder.flush()?;
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            }
        };
        cancel.check()?;
        if b.rows > 0 || b.ends_chunk {
            let chunk = match open.take() {
                Some(c) => c,
                None => OpenChunk::create(wd, dir, b.chunk, b.first_key.as_deref())?,
            };
            let mut chunk = chunk;
            chunk.append(&b.csv, b.rows, &b.changed)?;
            progress.rows_exported.fetch_add(b.rows, Ordering::Relaxed);
            progress.bytes_exported.fetch_add(
                b.csv.iter().map(|p| p.len() as u64).sum(),
                Ordering::Relaxed,
            );
            if b.ends_chunk {
                let (path, mut entry, xxh3) = chunk.commit(source_columns)?;
                entry.last_key = b
                    .last_key
                    .as_ref()
                    .map(|k| k.iter().map(KeyValue::from_value).collect());
                let ready = ChunkReady {
                    table,
                    chunk: entry.chunk,
                    path,
                    rows: entry.rows,
                    bytes: entry.bytes,
                    sha256: entry.sha256.clone(),
                    xxh3: Some(xxh3),
                    earlier_export: false,
                };
                {
                    let mut m = recorder
                        .manifest
                        .lock()
                        .map_err(|_| Error::internal("manifest lock poisoned"))?;
                    m.insert_chunk(entry);
                    tracing::debug!(table = %m.target_table, chunk = ready.chunk, rows = ready.rows, "chunk written");
                }
                recorder.pending.push(ready);
                if recorder.due() {
                    recorder.flush()?;
                }
            } else {
                open = Some(chunk);
            }
        }
        if b.ends_segment {
            segment_done = true;
        }
    }
    if !segment_done {
        // The reader stopped early; its error is reported by the lane. An unfinished
        // chunk leaves only a .tmp file, which is never trusted.
        return Err(Error::cancelled());
    }
    Ok(())
}
