//! MySQL reader: one streamed keyset query per table (rows in key order, never a whole
//! table in memory), cut into chunks of `chunk_rows` and batches of `batch_rows`.

use crossbeam_channel::{Receiver, Sender};
use futures::TryStreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};

use super::{send_blocking, Cancel, RowBatch};
use crate::error::{Error, Result};
use crate::ident::MyIdent;
use crate::plan::TablePlan;

/// A key range of a table, read by one connection into consecutive chunks. A table is
/// one segment, or several when it is split or when a resume fills gaps; segment
/// boundaries fall on chunk boundaries, so the chunk files are the same bytes whatever
/// the split.
#[derive(Debug, Clone)]
pub struct Segment {
    /// Number of the segment's first chunk.
    pub first_chunk: u32,
    pub start: SegmentStart,
    /// Rows in the segment (a whole number of chunks); None = to the end of the table.
    pub limit_rows: Option<u64>,
    /// The segment fills a gap before a chunk already on disk: it must hold exactly
    /// `limit_rows` rows, followed by the row whose key is `until_key` (the next
    /// chunk's first key, when the manifest has it). Anything else means the source
    /// changed since the earlier export.
    pub exact: bool,
    pub until_key: Option<Vec<Value>>,
}

#[derive(Debug, Clone)]
pub enum SegmentStart {
    Beginning,
    /// After the row with this key (the last key of the chunk before).
    AfterKey(Vec<Value>),
    /// After the first `n` rows in key order; the reader looks up that row's key in
    /// its snapshot (a split's later segments).
    AfterRows(u64),
}

impl Segment {
    pub fn whole_table() -> Segment {
        Segment {
            first_chunk: 1,
            start: SegmentStart::Beginning,
            limit_rows: None,
            exact: false,
            until_key: None,
        }
    }
}

/// `SELECT cols FROM t [WHERE key > (...)] ORDER BY key`. A composite key is expanded
/// into OR-ed prefixes, which every MySQL/MariaDB version turns into an index range.
pub fn select_sql(t: &TablePlan, after_key: bool, limit: Option<u64>) -> String {
    let cols = t.select_exprs();
    let key: Vec<String> = t
        .key
        .iter()
        .map(|k| MyIdent(k.clone()).to_string())
        .collect();
    let mut sql = format!(
        "SELECT {} FROM {}",
        cols.join(", "),
        MyIdent(t.source.clone())
    );
    if after_key && !key.is_empty() {
        let mut ors = Vec::new();
        for i in 0..key.len() {
            let mut ands: Vec<String> = key[..i].iter().map(|k| format!("{k} = ?")).collect();
            ands.push(format!("{} > ?", key[i]));
            ors.push(format!("({})", ands.join(" AND ")));
        }
        sql.push_str(&format!(" WHERE {}", ors.join(" OR ")));
    }
    if !key.is_empty() {
        sql.push_str(&format!(" ORDER BY {}", key.join(", ")));
    }
    if let Some(n) = limit {
        sql.push_str(&format!(" LIMIT {n}"));
    }
    sql
}

/// The key of the row after the first `skip` rows in key order (None past the end).
async fn key_after_rows(conn: &mut Conn, t: &TablePlan, skip: u64) -> Result<Option<Vec<Value>>> {
    let key: Vec<String> = t
        .key
        .iter()
        .map(|k| MyIdent(k.clone()).to_string())
        .collect();
    let sql = format!(
        "SELECT {} FROM {} ORDER BY {} LIMIT 1 OFFSET {}",
        key.join(", "),
        MyIdent(t.source.clone()),
        key.join(", "),
        skip - 1
    );
    let row: Option<Row> = conn
        .exec_first(sql, ())
        .await
        .map_err(|e| Error::mysql(format!("find a split point of table `{}`", t.source), e))?;
    Ok(row.map(|r| {
        (0..r.len())
            .map(|i| r.as_ref(i).cloned().unwrap_or(Value::NULL))
            .collect()
    }))
}

/// The parameters of `select_sql`'s range predicate after the key `after`: each key
/// prefix, every value converted so that `>` compares the way `ORDER BY` sorts.
fn key_params(t: &TablePlan, after: &[Value]) -> Result<Vec<Value>> {
    let bounds: Vec<Value> = after
        .iter()
        .enumerate()
        .map(|(i, v)| match t.key_bounds.get(i) {
            Some(b) => b.bound(v).map_err(|why| {
                Error::workdir(format!(
                    "table `{}`: key column `{}`: cannot use {why} as a read bound",
                    t.source, t.key[i]
                ))
            }),
            None => Ok(v.clone()),
        })
        .collect::<Result<_>>()?;
    let mut params = Vec::new();
    for i in 0..bounds.len() {
        params.extend(bounds[..=i].iter().cloned());
    }
    Ok(params)
}

/// Where a reader's batches go, and where their spent buffers come back.
#[derive(Clone, Copy)]
pub struct RowLane<'a> {
    pub batches: &'a Sender<RowBatch>,
    pub spent: &'a Receiver<Vec<Row>>,
}

pub async fn read_table(
    conn: &mut Conn,
    t: &TablePlan,
    seg: Segment,
    chunk_rows: u64,
    batch_rows: usize,
    lane: RowLane<'_>,
    cancel: &Cancel,
) -> Result<()> {
    let RowLane {
        batches: batch_tx,
        spent: spent_rx,
    } = lane;
    let what = || format!("read table `{}`", t.source);
    let gap = gap_changed(&seg, chunk_rows);
    let after_key = match seg.start {
        SegmentStart::Beginning => None,
        SegmentStart::AfterKey(k) => Some(k),
        SegmentStart::AfterRows(0) => None,
        SegmentStart::AfterRows(n) => match key_after_rows(conn, t, n).await? {
            Some(k) => Some(k),
            None => {
                // The table is smaller than estimated: this range is empty.
                return send_blocking(
                    batch_tx,
                    RowBatch {
                        chunk: seg.first_chunk,
                        rows: Vec::new(),
                        ends_chunk: false,
                        last_key: None,
                        first_key: None,
                        ends_segment: true,
                    },
                );
            }
        },
    };
    // A gap reads one row more: the next chunk's first row proves the range is intact.
    let sentinel = seg.until_key.is_some();
    let sql = select_sql(
        t,
        after_key.is_some(),
        seg.limit_rows.map(|n| n + u64::from(sentinel)),
    );
    let params = match after_key.as_deref() {
        Some(k) => key_params(t, k)?,
        None => Vec::new(),
    };
    let mut stream = if params.is_empty() {
        conn.exec_stream::<Row, _, _>(sql, ()).await
    } else {
        conn.exec_stream::<Row, _, _>(sql, params).await
    }
    .map_err(|e| Error::mysql(what(), e))?;
    let batch_rows = batch_rows.min(chunk_rows as usize).max(1);
    let mut chunk = seg.first_chunk;
    let mut in_chunk: u64 = 0;
    let mut total: u64 = 0;
    let mut sentinel_ok = false;
    // The batch that completes a gap's last chunk waits for the sentinel: a range that
    // fails its check must leave that chunk unwritten, so the next run checks it again.
    let mut held: Option<RowBatch> = None;
    let mut first_key = None;
    let mut buf: Vec<Row> = Vec::with_capacity(batch_rows);
    let mut buf_bytes = 0usize;
    // The key of the last row sent in a batch that did not end its chunk: the closing
    // batch of a table that ends on a batch boundary is empty, and its chunk's last key
    // is this one (the h20 trial: `last_key: null`, and a resume that could not go on).
    let mut sent_key = None;
    while let Some(row) = stream
        .try_next()
        .await
        .map_err(|e| Error::mysql(what(), e))?
    {
        if sentinel {
            let key = key_of(t, Some(&row));
            if Some(total) == seg.limit_rows {
                sentinel_ok = key == seg.until_key;
                continue;
            }
            if key == seg.until_key {
                break; // the next chunk begins early: rows went missing (reported below)
            }
        }
        if in_chunk == 0 {
            first_key = key_of(t, Some(&row));
        }
        buf_bytes += row_bytes(&row);
        buf.push(row);
        in_chunk += 1;
        total += 1;
        let ends_chunk = in_chunk == chunk_rows;
        if buf.len() == batch_rows || buf_bytes >= BATCH_BYTES || ends_chunk {
            cancel.check()?;
            buf_bytes = 0;
            let last_key = key_of(t, buf.last());
            let (last_key, sent) = if ends_chunk {
                (last_key, None)
            } else {
                (None, last_key)
            };
            sent_key = sent;
            let rows = std::mem::replace(&mut buf, next_buffer(spent_rx, batch_rows));
            let batch = RowBatch {
                chunk,
                rows,
                ends_chunk,
                last_key,
                first_key: first_key.take(),
                ends_segment: false,
            };
            if sentinel && ends_chunk && Some(total) == seg.limit_rows {
                held = Some(batch);
            } else {
                send_blocking(batch_tx, batch)?;
            }
            if ends_chunk {
                chunk += 1;
                in_chunk = 0;
            }
        }
    }
    if seg.exact && (Some(total) != seg.limit_rows || (sentinel && !sentinel_ok)) {
        // A refusal of the state found, like run's count check (exit 2, nothing loaded
        // from the range).
        return Err(Error::refused(format!(
            "table `{}` changed in the source since its earlier export: {}; export it again \
             from scratch: `run --fresh` (with `export` alone, remove the table's directory)",
            t.source, gap
        )));
    }
    if let Some(batch) = held {
        send_blocking(batch_tx, batch)?;
    }
    // The closing batch carries the partial last chunk (if any) and the end of the segment.
    let ends_chunk = in_chunk > 0;
    let last_key = match (ends_chunk, buf.last()) {
        (false, _) => None,
        (true, Some(row)) => key_of(t, Some(row)),
        (true, None) => sent_key,
    };
    send_blocking(
        batch_tx,
        RowBatch {
            chunk,
            rows: buf,
            ends_chunk,
            last_key,
            first_key,
            ends_segment: true,
        },
    )
}

/// Why an exact segment (a gap between kept chunks) was refused: its range no longer
/// holds the rows it held (also recorded in the manifest as the table's refusal).
pub fn gap_changed(seg: &Segment, chunk_rows: u64) -> String {
    let n = seg.limit_rows.unwrap_or_default();
    let last = seg.first_chunk as u64 + n.div_ceil(chunk_rows.max(1)) - 1;
    let range = if last > seg.first_chunk as u64 {
        format!("chunks {}-{last}", seg.first_chunk)
    } else {
        format!("chunk {last}")
    };
    format!("the key range of {range} no longer holds the same {n} rows")
}

/// A batch also ends once its values pass this size, so memory in flight stays bounded
/// by bytes whatever the row width (1,000 rows of 1 MB blobs would be 1 GB per batch).
pub const BATCH_BYTES: usize = 4 << 20;

/// Approximate size of a row's values.
pub fn row_bytes(row: &Row) -> usize {
    (0..row.len())
        .map(|i| match row.as_ref(i) {
            Some(Value::Bytes(b)) => b.len() + 16,
            _ => 16,
        })
        .sum()
}

/// Hands a consumed batch back to its reader (see `next_buffer`). A batch of at least
/// BATCH_BYTES (one huge row, say) is freed here instead: held in the channel it would
/// double the memory of a lane of huge rows.
pub fn give_back(spent_tx: &Sender<Vec<Row>>, rows: Vec<Row>) {
    if rows.iter().map(row_bytes).sum::<usize>() < BATCH_BYTES {
        let _ = spent_tx.try_send(rows); // full: dropped here
    }
}

/// An empty row buffer: one the transform lane has finished with when there is one.
/// Clearing it here frees its rows on the thread that allocated them, which the
/// allocator does far more cheaply than a free from another thread (perf: ~3% of a run).
fn next_buffer(spent_rx: &Receiver<Vec<Row>>, batch_rows: usize) -> Vec<Row> {
    match spent_rx.try_recv() {
        Ok(mut rows) => {
            rows.clear();
            rows
        }
        Err(_) => Vec::with_capacity(batch_rows),
    }
}

fn key_of(t: &TablePlan, row: Option<&Row>) -> Option<Vec<Value>> {
    if t.ordered_by_all {
        return None;
    }
    let row = row?;
    Some(
        t.key_positions
            .iter()
            .map(|&i| row.as_ref(i).cloned().unwrap_or(Value::NULL))
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::KeyBound;

    #[test]
    fn select_sql_quotes_and_expands_composite_keys() {
        let t = TablePlan {
            source: "we`ird".into(),
            extra_key_columns: vec!["a".into(), "b`".into()],
            key: vec!["a".into(), "b`".into()],
            key_positions: vec![0, 1],
            ..TablePlan::test_table("x", vec![])
        };
        assert_eq!(
            select_sql(&t, true, Some(200)),
            "SELECT `a`, `b``` FROM `we``ird` WHERE (`a` > ?) OR (`a` = ? AND `b``` > ?) ORDER BY `a`, `b``` LIMIT 200"
        );
        assert_eq!(
            key_params(&t, &[Value::Int(1), Value::Int(2)]).unwrap(),
            vec![Value::Int(1), Value::Int(1), Value::Int(2)]
        );
        // Enum, set and bit bounds go as the numbers MySQL sorts them by.
        let t = TablePlan {
            key_bounds: vec![
                KeyBound::EnumIndex(vec!["zeta".into(), "alpha".into()]),
                KeyBound::SetBits(vec!["b".into(), "a".into(), "c".into()]),
                KeyBound::BitValue,
            ],
            key: vec!["e".into(), "s".into(), "b".into()],
            ..t
        };
        let bytes = |s: &[u8]| Value::Bytes(s.to_vec());
        assert_eq!(
            key_params(&t, &[bytes(b"alpha"), bytes(b"a,c"), bytes(&[0x01, 0x80])]).unwrap(),
            vec![
                Value::UInt(2),
                Value::UInt(2),
                Value::UInt(6),
                Value::UInt(2),
                Value::UInt(6),
                Value::UInt(384)
            ]
        );
        assert_eq!(key_params(&t, &[bytes(b"")]).unwrap(), vec![Value::UInt(0)]);
        assert!(key_params(&t, &[bytes(b"omega")]).is_err());
    }
}
