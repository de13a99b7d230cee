//! The load ledger in the target: `my2pg.loaded_chunks`. A chunk's rows and its ledger
//! row commit in one transaction, so a chunk is loaded exactly once, whatever crashes.

use tokio_postgres::{Client, GenericClient};

use crate::error::{Error, Result};

pub const LEDGER: &str = "my2pg.loaded_chunks";

const CREATE: &str = "
CREATE SCHEMA IF NOT EXISTS my2pg;
CREATE TABLE IF NOT EXISTS my2pg.loaded_chunks (
    schema_name text NOT NULL,
    table_name  text NOT NULL,
    chunk       integer NOT NULL,
    sha256      text NOT NULL,
    rows        bigint NOT NULL,
    run_id      text NOT NULL,
    loaded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schema_name, table_name, chunk)
);";

pub async fn ensure(client: &Client) -> Result<()> {
    client.batch_execute(CREATE).await.map_err(|e| {
        Error::pg(
            "create the ledger my2pg.loaded_chunks (the target user needs CREATE on the database)",
            &e,
        )
    })
}

pub struct LedgerRow {
    pub sha256: String,
    pub rows: i64,
}

pub async fn find<C: GenericClient>(
    c: &C,
    schema: &str,
    table: &str,
    chunk: u32,
) -> Result<Option<LedgerRow>> {
    let row = c
        .query_opt(
            "SELECT sha256, rows FROM my2pg.loaded_chunks \
             WHERE schema_name = $1 AND table_name = $2 AND chunk = $3",
            &[&schema, &table, &(chunk as i32)],
        )
        .await
        .map_err(|e| Error::pg("read the ledger", &e))?;
    Ok(row.map(|r| LedgerRow {
        sha256: r.get(0),
        rows: r.get(1),
    }))
}

pub async fn record<C: GenericClient>(
    c: &C,
    schema: &str,
    table: &str,
    chunk: u32,
    sha256: &str,
    rows: u64,
    run_id: &str,
) -> Result<()> {
    c.execute(
        "INSERT INTO my2pg.loaded_chunks (schema_name, table_name, chunk, sha256, rows, run_id) \
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &schema,
            &table,
            &(chunk as i32),
            &sha256,
            &(rows as i64),
            &run_id,
        ],
    )
    .await
    .map_err(|e| Error::pg("record the chunk in the ledger", &e))?;
    Ok(())
}

/// Loaded chunks per (schema, table): (chunks, rows).
pub async fn summary(client: &Client) -> Result<Vec<(String, String, i64, i64)>> {
    let exists: bool = client
        .query_one("SELECT to_regclass('my2pg.loaded_chunks') IS NOT NULL", &[])
        .await
        .map_err(|e| Error::pg("look for the ledger", &e))?
        .get(0);
    if !exists {
        return Ok(Vec::new());
    }
    let rows = client
        .query(
            "SELECT schema_name, table_name, count(*), coalesce(sum(rows), 0)::bigint \
             FROM my2pg.loaded_chunks GROUP BY 1, 2 ORDER BY 1, 2",
            &[],
        )
        .await
        .map_err(|e| Error::pg("read the ledger", &e))?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect())
}
