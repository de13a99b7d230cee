//! The data path. Each exported table is a lane: `read` (async, one MySQL connection)
//! -> bounded channel -> `transform` (rayon) -> bounded channel -> `write` (chunk files).
//! Finished chunks go to `schedule`, which feeds `load` wave by wave. Memory in flight is
//! the channel capacities times the batch size, never the table size.

pub mod binary;
pub mod export;
pub mod load;
pub mod read;
pub mod schedule;
pub mod transform;
pub mod write;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam_channel::{Sender, TrySendError};
use mysql_async::{Row, Value};

use crate::error::{Error, Result};

/// Rows read from MySQL, in key order.
pub struct RowBatch {
    pub chunk: u32,
    pub rows: Vec<Row>,
    /// The chunk is complete after these rows; `last_key` is its last row's key.
    pub ends_chunk: bool,
    pub last_key: Option<Vec<Value>>,
    /// Key of the chunk's first row, on the batch that starts a chunk.
    pub first_key: Option<Vec<Value>>,
    /// The table is complete after this batch.
    pub ends_segment: bool,
}

/// The same rows as Postgres CSV bytes.
pub struct EncodedBatch {
    pub chunk: u32,
    pub rows: u64,
    /// The CSV text in consecutive pieces.
    pub csv: Vec<Vec<u8>>,
    /// Values changed by a config rule, per column.
    pub changed: Vec<u64>,
    pub ends_chunk: bool,
    pub last_key: Option<Vec<Value>>,
    pub first_key: Option<Vec<Value>>,
    pub ends_segment: bool,
}

/// A chunk file that is durable on disk and recorded in its table's manifest.
#[derive(Debug, Clone)]
pub struct ChunkReady {
    pub table: usize,
    pub chunk: u32,
    pub path: PathBuf,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
    /// xxh3-64 of the file, taken by this process when it wrote or verified the file
    /// against `sha256`. The loader then checks the bytes it sends against this cheap
    /// hash (~10x faster) instead of recomputing sha256; `import` has no such hash
    /// and checks sha256.
    pub xxh3: Option<u64>,
    /// The file was written by an earlier export, not by this process: an error in its
    /// data may be one the operator has since fixed in the source.
    pub earlier_export: bool,
}

/// What the export side tells the loader.
#[derive(Debug)]
pub enum ExportEvent {
    Chunk(ChunkReady),
    /// Every chunk of the table has been announced.
    TableDone {
        table: usize,
    },
}

/// Shared stop flag: the first error trips it and every stage stops at its next check.
#[derive(Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    pub fn trip(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
    pub fn is_tripped(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
    pub fn check(&self) -> Result<()> {
        if self.is_tripped() {
            Err(Error::cancelled())
        } else {
            Ok(())
        }
    }
}

/// Counters for progress lines.
#[derive(Default)]
pub struct Progress {
    pub rows_exported: AtomicU64,
    pub bytes_exported: AtomicU64,
    pub rows_loaded: AtomicU64,
    pub chunks_loaded: AtomicU64,
}

/// Async side of a sync channel: the fast path never blocks; a full channel parks
/// only this worker thread (needs the multi-thread runtime).
pub fn send_blocking<T>(tx: &Sender<T>, v: T) -> Result<()> {
    match tx.try_send(v) {
        Ok(()) => Ok(()),
        Err(TrySendError::Full(v)) => {
            tokio::task::block_in_place(|| tx.send(v)).map_err(|_| Error::cancelled())
        }
        Err(TrySendError::Disconnected(_)) => Err(Error::cancelled()),
    }
}

/// The most useful error of several: a real failure wins over "cancelled".
pub fn first_error(results: impl IntoIterator<Item = Result<()>>) -> Result<()> {
    let mut cancelled = None;
    for r in results {
        match r {
            Ok(()) => {}
            Err(e) if e.is_cancelled() => cancelled = Some(e),
            Err(e) => return Err(e),
        }
    }
    cancelled.map_or(Ok(()), Err)
}
