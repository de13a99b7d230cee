//! MySQL reader: one streamed keyset query per table (rows in key order, never a whole
//! table in memory), cut into chunks of `chunk_rows` and batches of `batch_rows`.

use crossbeam_channel::Sender;
use futures::TryStreamExt;
use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};

use super::{send_blocking, Cancel, RowBatch};
use crate::error::{Error, Result};
use crate::ident::MyIdent;
use crate::plan::TablePlan;

/// Where a table's export starts: after the last complete chunk of an earlier run.
pub struct ResumePoint {
    pub next_chunk: u32,
    pub after_key: Option<Vec<Value>>,
}

/// `SELECT cols FROM t [WHERE key > (...)] ORDER BY key`. A composite key is expanded
/// into OR-ed prefixes, which every MySQL/MariaDB version turns into an index range.
pub fn select_sql(t: &TablePlan, after_key: bool) -> String {
    let cols: Vec<String> = t
        .select_columns()
        .map(|c| MyIdent(c.to_string()).to_string())
        .collect();
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
    sql
}

fn key_params(after: &[Value]) -> Vec<Value> {
    let mut params = Vec::new();
    for i in 0..after.len() {
        params.extend(after[..=i].iter().cloned());
    }
    params
}

pub async fn read_table(
    conn: &mut Conn,
    t: &TablePlan,
    start: ResumePoint,
    chunk_rows: u64,
    batch_rows: usize,
    batch_tx: &Sender<RowBatch>,
    cancel: &Cancel,
) -> Result<()> {
    let sql = select_sql(t, start.after_key.is_some());
    let params = start
        .after_key
        .as_deref()
        .map(key_params)
        .unwrap_or_default();
    let what = || format!("read table `{}`", t.source);
    let mut stream = if params.is_empty() {
        conn.exec_stream::<Row, _, _>(sql, ()).await
    } else {
        conn.exec_stream::<Row, _, _>(sql, params).await
    }
    .map_err(|e| Error::mysql(what(), e))?;
    let batch_rows = batch_rows.min(chunk_rows as usize).max(1);
    let mut chunk = start.next_chunk;
    let mut in_chunk: u64 = 0;
    let mut buf: Vec<Row> = Vec::with_capacity(batch_rows);
    while let Some(row) = stream
        .try_next()
        .await
        .map_err(|e| Error::mysql(what(), e))?
    {
        buf.push(row);
        in_chunk += 1;
        let ends_chunk = in_chunk == chunk_rows;
        if buf.len() == batch_rows || ends_chunk {
            cancel.check()?;
            let last_key = ends_chunk.then(|| key_of(t, buf.last()));
            let rows = std::mem::replace(&mut buf, Vec::with_capacity(batch_rows));
            send_blocking(
                batch_tx,
                RowBatch {
                    chunk,
                    rows,
                    ends_chunk,
                    last_key: last_key.flatten(),
                    ends_table: false,
                },
            )?;
            if ends_chunk {
                chunk += 1;
                in_chunk = 0;
            }
        }
    }
    // The closing batch carries the partial last chunk (if any) and the end of the table.
    let ends_chunk = in_chunk > 0;
    let last_key = if ends_chunk {
        key_of(t, buf.last())
    } else {
        None
    };
    send_blocking(
        batch_tx,
        RowBatch {
            chunk,
            rows: buf,
            ends_chunk,
            last_key,
            ends_table: true,
        },
    )
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
    use crate::ident::PgName;

    #[test]
    fn select_sql_quotes_and_expands_composite_keys() {
        let t = TablePlan {
            source: "we`ird".into(),
            target: PgName {
                schema: "public".into(),
                name: "x".into(),
            },
            dir: "x".into(),
            columns: vec![],
            extra_key_columns: vec!["a".into(), "b`".into()],
            key: vec!["a".into(), "b`".into()],
            key_positions: vec![0, 1],
            ordered_by_all: false,
            wave: 0,
            sequences: vec![],
            est_rows: 0,
            est_bytes: 0,
            target_key: vec![],
            existing_rows: Default::default(),
            merge_existing: false,
            fills: vec![],
        };
        assert_eq!(
            select_sql(&t, true),
            "SELECT `a`, `b``` FROM `we``ird` WHERE (`a` > ?) OR (`a` = ? AND `b``` > ?) ORDER BY `a`, `b```"
        );
        assert_eq!(
            key_params(&[Value::Int(1), Value::Int(2)]),
            vec![Value::Int(1), Value::Int(1), Value::Int(2)]
        );
    }
}
