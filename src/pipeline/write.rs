//! Chunk writer: bytes go to `<chunk>.csv.tmp` (0600) while being hashed; at the end of
//! a chunk the file is fsynced, renamed, recorded in the manifest, and only then announced.

use std::fs::{self, File};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

use crossbeam_channel::Receiver;
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
    let mut open: Option<OpenChunk> = None;
    let mut segment_done = false;
    for b in enc_rx {
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
                    let mut m = manifest
                        .lock()
                        .map_err(|_| Error::internal("manifest lock poisoned"))?;
                    m.insert_chunk(entry);
                    m.write(&manifest_path)?;
                    tracing::debug!(table = %m.target_table, chunk = ready.chunk, rows = ready.rows, "chunk written");
                }
                if let Some(tx) = events_tx {
                    tx.blocking_send(ExportEvent::Chunk(ready))
                        .map_err(|_| Error::cancelled())?;
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
