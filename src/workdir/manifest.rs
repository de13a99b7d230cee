//! `manifest.json` per table: for each complete chunk its rows, bytes, sha256 and the key
//! of its last row (where a resumed export continues). No timestamps: the same source
//! and config give the same manifest, byte for byte.

use std::collections::BTreeMap;
use std::path::Path;

use mysql_async::Value;
use serde::{Deserialize, Serialize};

use super::write_atomic;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Manifest {
    pub format: u32,
    pub source_table: String,
    pub target_schema: String,
    pub target_table: String,
    /// Target columns, in CSV field order (the COPY column list).
    pub columns: Vec<String>,
    /// Plan fingerprint: files written under another plan are not reused.
    pub fingerprint: String,
    /// Server versions the chunks were exported between (traceability).
    #[serde(default)]
    pub source_version: String,
    #[serde(default)]
    pub target_version: String,
    /// The source database the chunks were read from: a table directory copied from
    /// another database's export is refused (the h22 attack: `run.json` alone named it,
    /// and a copied-in table directory loaded with exit 0). Absent in earlier versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_database: Option<String>,
    /// Every row of the table is in the chunks below.
    pub complete: bool,
    /// Why a run refused these files (their rows did not add up to the source's in its
    /// snapshot): kept until the table is exported again from scratch, so no later run
    /// completes the table from them (Neutron trial: the second try found nothing left
    /// to read, marked it complete and exited 0 without the changed row).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// (column, collation) of the text key columns the chunks were read in order of
    /// (absent for other keys, and in manifests of earlier versions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_collations: Vec<(String, String)>,
    pub chunks: Vec<ChunkEntry>,
    /// sha256 of the manifest itself (written with this field absent): the chunk files
    /// are checksummed, but an edited `last_key` or row count would silently move where
    /// a resumed export continues. Absent in manifests of earlier versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ChunkEntry {
    pub chunk: u32,
    pub file: String,
    pub rows: u64,
    pub bytes: u64,
    pub sha256: String,
    /// Key of the chunk's last row; None for tables read without a key.
    pub last_key: Option<Vec<KeyValue>>,
    /// Key of the chunk's first row: bounds a resumed read of the chunks before it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_key: Option<Vec<KeyValue>>,
    /// Values changed by a config rule, per source column (absent when none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub changed: BTreeMap<String, u64>,
}

/// The refusal of a table whose files an earlier run refused (`Manifest::refused`).
pub fn refused_earlier(source_table: &str, why: &str) -> Error {
    Error::refused(format!(
        "table `{source_table}`: an earlier run refused its files ({why}), and they stay \
         refused: export it again from scratch: `run --fresh` (with `export` alone, remove the \
         table's directory)"
    ))
}

/// A table directory whose files were exported from another source database.
pub fn other_database(dir: &Path, theirs: &str, ours: &str) -> Error {
    Error::refused(format!(
        "table directory {} holds files exported from source database `{theirs}`, but \
         source.url names `{ours}`: remove that directory to export the table again (or \
         `run --fresh` to start over); nothing was changed in the target",
        dir.display()
    ))
}

/// A key value as MySQL returned it, kept exactly (bytes as hex) so it can be sent back.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case")]
pub enum KeyValue {
    Null,
    Int(i64),
    Uint(u64),
    Float(f32),
    Double(f64),
    Hex(String),
    Date(u16, u8, u8, u8, u8, u8, u32),
    Time(bool, u32, u8, u8, u8, u32),
}

impl KeyValue {
    pub fn from_value(v: &Value) -> KeyValue {
        match v {
            Value::NULL => KeyValue::Null,
            Value::Int(i) => KeyValue::Int(*i),
            Value::UInt(u) => KeyValue::Uint(*u),
            Value::Float(f) => KeyValue::Float(*f),
            Value::Double(d) => KeyValue::Double(*d),
            Value::Bytes(b) => KeyValue::Hex(hex::encode(b)),
            Value::Date(a, b, c, d, e, f, g) => KeyValue::Date(*a, *b, *c, *d, *e, *f, *g),
            Value::Time(a, b, c, d, e, f) => KeyValue::Time(*a, *b, *c, *d, *e, *f),
        }
    }

    pub fn to_value(&self) -> Result<Value> {
        Ok(match self {
            KeyValue::Null => Value::NULL,
            KeyValue::Int(i) => Value::Int(*i),
            KeyValue::Uint(u) => Value::UInt(*u),
            KeyValue::Float(f) => Value::Float(*f),
            KeyValue::Double(d) => Value::Double(*d),
            KeyValue::Hex(h) => {
                Value::Bytes(hex::decode(h).map_err(|_| Error::workdir("manifest: bad key bytes"))?)
            }
            KeyValue::Date(a, b, c, d, e, f, g) => Value::Date(*a, *b, *c, *d, *e, *f, *g),
            KeyValue::Time(a, b, c, d, e, f) => Value::Time(*a, *b, *c, *d, *e, *f),
        })
    }
}

impl Manifest {
    /// The manifest of the table whose directory `path` is in: one found there that
    /// belongs to another table (copied over by hand) is refused, naming the copy (the
    /// h19 attack: it was refused as "exported under a different plan").
    pub fn read(path: &Path) -> Result<Option<Manifest>> {
        let Some(m) = Manifest::read_any(path)? else {
            return Ok(None);
        };
        let dir = path
            .parent()
            .and_then(Path::file_name)
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default();
        if !m.belongs_in(&dir) {
            // The owner's directory is not named: tables whose names differ only in case
            // get hashed names the manifest alone cannot tell (the h22 attack).
            return Err(Error::refused(format!(
                "{} is the manifest of table `{}` (kept in that table's own directory), not of \
                 the table whose directory this is: a copy; remove {} to export this table \
                 again (or `run --fresh` to start over)",
                path.display(),
                m.source_table,
                path.parent().unwrap_or(path).display()
            )));
        }
        Ok(Some(m))
    }

    /// Whether `dir` is the directory my2pg writes this manifest's table to (a copy
    /// elsewhere is an operator's).
    pub fn belongs_in(&self, dir: &str) -> bool {
        dir == crate::plan::dir_name(&self.target_table)
            || dir == crate::plan::hashed_dir_name(&self.target_table)
    }

    /// A manifest wherever it is, for listings of every directory (status, verify).
    pub fn read_any(path: &Path) -> Result<Option<Manifest>> {
        // A refusal of the state found, like the README's others (exit 2): the way out is
        // named, and running again cannot help (the h16 attack: exit 1, read as "retry").
        let damaged = |why: String| {
            Error::refused(format!(
                "{} {why}; remove its table's directory to export that table again (or \
                 `run --fresh` to start over)",
                path.display()
            ))
        };
        match std::fs::read(path) {
            Ok(bytes) => {
                let m: Manifest = serde_json::from_slice(&bytes)
                    .map_err(|e| damaged(format!("is not a valid manifest: {e}")))?;
                if let Some(recorded) = &m.checksum {
                    if *recorded != m.own_checksum()? {
                        return Err(damaged(
                            "was changed after my2pg wrote it (its checksum does not match)".into(),
                        ));
                    }
                }
                Ok(Some(m))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            // Something else in its place (the h19 attack: a bare OS error, exit 1).
            Err(e) if e.raw_os_error() == Some(libc::EISDIR) => {
                Err(damaged("is a directory, not a manifest".into()))
            }
            // Its table directory is a link to a file, or a loop (the h22 attack: exit 1).
            Err(e) if matches!(e.raw_os_error(), Some(libc::ENOTDIR | libc::ELOOP)) => {
                Err(damaged(format!(
                    "cannot be read ({e}): its table directory is not a directory"
                )))
            }
            Err(e) => Err(Error::io(path, e)),
        }
    }

    pub fn write(&self, path: &Path) -> Result<()> {
        let mut sealed = self.clone();
        sealed.checksum = Some(self.own_checksum()?);
        let mut bytes = serde_json::to_vec_pretty(&sealed)
            .map_err(|e| Error::internal(format!("manifest serialization: {e}")))?;
        bytes.push(b'\n');
        write_atomic(path, &bytes)
    }

    /// sha256 of the compact JSON of the manifest without its checksum.
    fn own_checksum(&self) -> Result<String> {
        use sha2::{Digest, Sha256};
        let mut unsealed = self.clone();
        unsealed.checksum = None;
        let bytes = serde_json::to_vec(&unsealed)
            .map_err(|e| Error::internal(format!("manifest serialization: {e}")))?;
        Ok(hex::encode(Sha256::digest(&bytes)))
    }

    /// Adds a chunk keeping the list in chunk order (segments finish in any order).
    pub fn insert_chunk(&mut self, entry: ChunkEntry) {
        match self.chunks.binary_search_by_key(&entry.chunk, |c| c.chunk) {
            Ok(i) => self.chunks[i] = entry,
            Err(i) => self.chunks.insert(i, entry),
        }
    }

    pub fn rows(&self) -> u64 {
        self.chunks.iter().map(|c| c.rows).sum()
    }

    pub fn bytes(&self) -> u64 {
        self.chunks.iter().map(|c| c.bytes).sum()
    }
}
