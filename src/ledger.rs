//! The load ledger in the target: `my2pg.loaded_chunks`. A chunk's rows and its ledger
//! row commit in one transaction, so a chunk is loaded exactly once, whatever crashes.
//! `my2pg.last_run` records how far the last `import`/`run` into a schema got after the
//! load: every chunk in the ledger does not mean the sequences are set.

use tokio_postgres::{Client, GenericClient};

use crate::error::{Error, Result};

pub const LEDGER: &str = "my2pg.loaded_chunks";

// CREATE SCHEMA IF NOT EXISTS needs CREATE on the database even when the schema exists
// (RT trial: a user given USAGE and CREATE on an existing my2pg schema was refused).
const CREATE: &str = "
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_namespace WHERE nspname = 'my2pg') THEN
    CREATE SCHEMA my2pg;
  END IF;
EXCEPTION WHEN duplicate_schema THEN NULL;
END $$;
CREATE TABLE IF NOT EXISTS my2pg.loaded_chunks (
    schema_name text NOT NULL,
    table_name  text NOT NULL,
    chunk       integer NOT NULL,
    sha256      text NOT NULL,
    rows        bigint NOT NULL,
    run_id      text NOT NULL,
    loaded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (schema_name, table_name, chunk)
);
CREATE TABLE IF NOT EXISTS my2pg.last_run (
    schema_name             text PRIMARY KEY,
    run_id                  text NOT NULL,
    command                 text NOT NULL,
    started_at              timestamptz NOT NULL DEFAULT now(),
    loaded_at               timestamptz,
    constraints_restored_at timestamptz,
    analyzed_at             timestamptz,
    sequences_set_at        timestamptz,
    finished_at             timestamptz
);
ALTER TABLE my2pg.last_run ADD COLUMN IF NOT EXISTS chunk_rows bigint;
-- Set when the run stopped on rows the target refused (a constraint, a value a column
-- cannot take): running it again without --fresh fails the same way, which `status`
-- must say first.
ALTER TABLE my2pg.last_run ADD COLUMN IF NOT EXISTS rows_refused_at timestamptz;
-- The run's first transaction, and the last finished run's (kept when a later run starts):
-- rows newer than it that my2pg did not write were written after a finished load, which
-- a truncate deletes only when asked (the Weblate and Kiwi trials: `run --fresh --yes`
-- under existing_rows = truncate deleted the application's rows since the cut-over).
ALTER TABLE my2pg.last_run ADD COLUMN IF NOT EXISTS started_xid xid8;
ALTER TABLE my2pg.last_run ADD COLUMN IF NOT EXISTS last_finished_xid xid8;
ALTER TABLE my2pg.last_run ADD COLUMN IF NOT EXISTS last_finished_at timestamptz;
-- The transaction that loaded the chunk: its rows carry it as xmin, so rows anyone else
-- wrote (or changed) since can be told apart (NULL in ledgers of earlier versions).
ALTER TABLE my2pg.loaded_chunks ADD COLUMN IF NOT EXISTS xid xid8;
-- Other transactions of my2pg that write loaded rows (the fill of a broken FK cycle).
CREATE TABLE IF NOT EXISTS my2pg.own_writes (
    schema_name text NOT NULL,
    table_name  text NOT NULL,
    xid         xid8 NOT NULL,
    PRIMARY KEY (schema_name, table_name, xid)
);";

pub async fn ensure(client: &Client) -> Result<()> {
    client.batch_execute(CREATE).await.map_err(|e| {
        // Made read-only after `plan` checked it (the h19 attack: the hint blamed CREATE).
        let why = if e.code() == Some(&tokio_postgres::error::SqlState::READ_ONLY_SQL_TRANSACTION) {
            "create the ledger my2pg.loaded_chunks (the target is read-only for this user: \
             default_transaction_read_only is on for the role or database, or the server is a \
             standby)"
        } else {
            "create the ledger my2pg.loaded_chunks (the target user needs CREATE on the database)"
        };
        Error::pg(why, &e)
    })
}

/// What an `import`/`run` does after its last chunk, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStep {
    Load,
    RestoreConstraints,
    Analyze,
    SetSequences,
}

impl RunStep {
    pub const ALL: [RunStep; 4] = [
        RunStep::Load,
        RunStep::RestoreConstraints,
        RunStep::Analyze,
        RunStep::SetSequences,
    ];

    /// The name in `status --json`.
    pub fn name(self) -> &'static str {
        match self {
            RunStep::Load => "load",
            RunStep::RestoreConstraints => "restore_constraints",
            RunStep::Analyze => "analyze",
            RunStep::SetSequences => "set_sequences",
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            RunStep::Load => "load every chunk",
            RunStep::RestoreConstraints => {
                "restore indexes and constraints (and fill the columns of any broken FK cycle)"
            }
            RunStep::Analyze => "ANALYZE the tables",
            RunStep::SetSequences => "set the sequences",
        }
    }

    fn column(self) -> &'static str {
        match self {
            RunStep::Load => "loaded_at",
            RunStep::RestoreConstraints => "constraints_restored_at",
            RunStep::Analyze => "analyzed_at",
            RunStep::SetSequences => "sequences_set_at",
        }
    }
}

/// A new run starts loading: whatever an earlier run finished no longer describes the
/// target. Also run inside the TRUNCATE's transaction, so emptied tables are never
/// reported as a finished run.
pub async fn run_started<C: GenericClient>(
    c: &C,
    schema: &str,
    run_id: &str,
    command: &str,
    chunk_rows: u64,
) -> Result<()> {
    c.execute(
        "INSERT INTO my2pg.last_run (schema_name, run_id, command, chunk_rows, started_xid) \
         VALUES ($1, $2, $3, $4, pg_current_xact_id()) \
         ON CONFLICT (schema_name) DO UPDATE SET run_id = excluded.run_id, \
           command = excluded.command, chunk_rows = excluded.chunk_rows, started_at = now(), \
           started_xid = excluded.started_xid, \
           loaded_at = NULL, constraints_restored_at = NULL, analyzed_at = NULL, \
           sequences_set_at = NULL, finished_at = NULL, rows_refused_at = NULL",
        &[&schema, &run_id, &command, &(chunk_rows as i64)],
    )
    .await
    .map_err(|e| Error::pg("record the run in my2pg.last_run", &e))?;
    Ok(())
}

pub async fn run_step(c: &Client, schema: &str, run_id: &str, step: RunStep) -> Result<()> {
    let sql = format!(
        "UPDATE my2pg.last_run SET {} = now() WHERE schema_name = $1 AND run_id = $2",
        step.column()
    );
    c.execute(sql.as_str(), &[&schema, &run_id])
        .await
        .map_err(|e| Error::pg("record the step in my2pg.last_run", &e))?;
    Ok(())
}

/// Written only after the last step succeeded.
pub async fn run_finished(c: &Client, schema: &str, run_id: &str) -> Result<()> {
    c.execute(
        "UPDATE my2pg.last_run SET finished_at = now(), last_finished_at = now(), \
           last_finished_xid = started_xid \
         WHERE schema_name = $1 AND run_id = $2",
        &[&schema, &run_id],
    )
    .await
    .map_err(|e| Error::pg("record the finished run in my2pg.last_run", &e))?;
    Ok(())
}

/// The unfinished run into `schema` stopped on rows the target refused.
pub async fn run_refused_rows(c: &Client, schema: &str) -> Result<()> {
    c.execute(
        "UPDATE my2pg.last_run SET rows_refused_at = now() \
         WHERE schema_name = $1 AND finished_at IS NULL",
        &[&schema],
    )
    .await
    .map_err(|e| Error::pg("record the violation in my2pg.last_run", &e))?;
    Ok(())
}

/// The last run's row; times as ISO 8601 UTC text.
pub struct LastRun {
    pub run_id: String,
    pub command: String,
    pub started_at: String,
    /// The steps done, in order.
    pub done: Vec<RunStep>,
    pub finished_at: Option<String>,
    /// The chunk size the loaded chunks were cut at (None before my2pg recorded it).
    pub chunk_rows: Option<i64>,
    /// It stopped on rows the target refused (`Error::is_refused_rows`).
    pub rows_refused: bool,
}

pub async fn last_run(client: &Client, schema: &str) -> Result<Option<LastRun>> {
    if !table_exists(client, "last_run").await? {
        return Ok(None);
    }
    let iso =
        |col: &str| format!("to_char({col} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");
    let sql = format!(
        "SELECT run_id, command, {}, {}, loaded_at IS NOT NULL, \
                constraints_restored_at IS NOT NULL, analyzed_at IS NOT NULL, \
                sequences_set_at IS NOT NULL, chunk_rows, \
                to_jsonb(l) ->> 'rows_refused_at' IS NOT NULL \
         FROM my2pg.last_run l WHERE schema_name = $1",
        iso("started_at"),
        iso("finished_at")
    );
    let row = client
        .query_opt(sql.as_str(), &[&schema])
        .await
        .map_err(|e| Error::pg("read my2pg.last_run", &e))?;
    Ok(row.map(|r| LastRun {
        run_id: r.get(0),
        command: r.get(1),
        started_at: r.get(2),
        finished_at: r.get(3),
        chunk_rows: r.get(8),
        // Read through jsonb: a ledger of an earlier version has no such column until
        // the next import/run adds it, and `status` must still read it.
        rows_refused: r.get(9),
        done: RunStep::ALL
            .iter()
            .enumerate()
            .filter(|(i, _)| r.get::<_, bool>(4 + i))
            .map(|(_, s)| *s)
            .collect(),
    }))
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
        "INSERT INTO my2pg.loaded_chunks (schema_name, table_name, chunk, sha256, rows, run_id, xid) \
         VALUES ($1, $2, $3, $4, $5, $6, pg_current_xact_id())",
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
/// Whether `my2pg.<table>` exists, from the catalog: unlike `to_regclass`, this needs no
/// USAGE on the schema (a ledger another role made must not break every command).
pub async fn table_exists<C: GenericClient>(client: &C, table: &str) -> Result<bool> {
    Ok(client
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'my2pg' AND c.relname = $1)",
            &[&table],
        )
        .await
        .map_err(|e| Error::pg(format!("look for my2pg.{table}"), &e))?
        .get(0))
}

/// Whether the ledger holds loaded chunks of target schema `schema`.
pub async fn holds_chunks_of(client: &Client, schema: &str) -> Result<bool> {
    Ok(summary(client)
        .await?
        .iter()
        .any(|(s, _, chunks, _)| s == schema && *chunks > 0))
}

pub async fn summary(client: &Client) -> Result<Vec<(String, String, i64, i64)>> {
    if !table_exists(client, "loaded_chunks").await? {
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

/// Records that the current transaction writes loaded rows of `schema.table` (outside a
/// chunk's own transaction, which the ledger row records).
pub async fn record_own_write<C: GenericClient>(c: &C, schema: &str, table: &str) -> Result<()> {
    c.execute(
        "INSERT INTO my2pg.own_writes VALUES ($1, $2, pg_current_xact_id()) ON CONFLICT DO NOTHING",
        &[&schema, &table],
    )
    .await
    .map_err(|e| Error::pg("record a write of loaded rows", &e))?;
    Ok(())
}

/// The transactions that wrote my2pg's rows of a table ($1 schema, $2 name): its chunk
/// loads and cycle fills. xmin is the 32-bit part of the 64-bit transaction id (kept when
/// a row is frozen).
const MY2PG_XMINS: &str = "SELECT (xid::text::numeric % 4294967296)::bigint \
    FROM my2pg.loaded_chunks WHERE schema_name = $1 AND table_name = $2 AND xid IS NOT NULL \
    UNION ALL SELECT (xid::text::numeric % 4294967296)::bigint \
    FROM my2pg.own_writes WHERE schema_name = $1 AND table_name = $2";

/// Whether the ledger records the transaction of every chunk of `table` (a ledger of an
/// older version does not: then rows my2pg loaded are known only by their count).
pub async fn tells_rows_apart(client: &Client, table: &crate::ident::PgName) -> Result<bool> {
    Ok(!client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM my2pg.loaded_chunks \
             WHERE schema_name = $1 AND table_name = $2 AND xid IS NULL)",
            &[&table.schema, &table.name],
        )
        .await
        .map_err(|e| Error::pg("read the ledger", &e))?
        .get::<_, bool>(0))
}

/// Deletes the rows of `table` that my2pg wrote, leaving every other row; returns how
/// many went. Only for a ledger that `tells_rows_apart`.
pub async fn delete_loaded_rows(
    client: &impl tokio_postgres::GenericClient,
    table: &crate::ident::PgName,
) -> Result<u64> {
    client
        .execute(
            format!("DELETE FROM {table} t WHERE t.xmin::text::bigint IN ({MY2PG_XMINS})").as_str(),
            &[&table.schema, &table.name],
        )
        .await
        .map_err(|e| Error::pg(format!("delete the rows my2pg loaded into {table}"), &e))
}

/// Rows of `table` written after its first chunk loaded, by anyone but my2pg (the
/// application, since the cut-over): None when the ledger cannot tell (none, or one
/// without transaction ids). xmin is compared by age, as Postgres orders transactions.
pub async fn rows_written_since_load(
    client: &Client,
    table: &crate::ident::PgName,
) -> Result<Option<i64>> {
    let what = || format!("count the rows written into {table} since the load");
    let ledger: bool = client
        .query_one(
            "SELECT to_regclass('my2pg.loaded_chunks') IS NOT NULL \
               AND to_regclass('my2pg.own_writes') IS NOT NULL",
            &[],
        )
        .await
        .map_err(|e| Error::pg(what(), &e))?
        .get(0);
    if !ledger || !tells_rows_apart(client, table).await? {
        return Ok(None);
    }
    let sql = format!(
        "SELECT count(*) FROM {table} t, \
           (SELECT (min(xid::text::numeric) % 4294967296)::text::xid AS x FROM my2pg.loaded_chunks \
            WHERE schema_name = $1 AND table_name = $2 AND xid IS NOT NULL) f \
         WHERE f.x IS NOT NULL AND age(t.xmin) < age(f.x) \
           AND t.xmin::text::bigint NOT IN ({MY2PG_XMINS})"
    );
    Ok(Some(
        client
            .query_one(sql.as_str(), &[&table.schema, &table.name])
            .await
            .map_err(|e| Error::pg(what(), &e))?
            .get(0),
    ))
}

/// Rows of `table` written since the last finished run into `table.schema` started, by
/// anyone but my2pg (inserted or changed by the application after the cut-over), with
/// when that run finished; None when no run finished there. A ledger of an earlier
/// version (no transaction ids) counts every row my2pg did not load, which errs on the
/// side of asking.
pub async fn rows_since_finished_run(
    client: &Client,
    table: &crate::ident::PgName,
) -> Result<Option<(i64, String)>> {
    let what = || format!("count the rows written into {table} since the last finished run");
    let finished = client
        .query_opt(
            "SELECT to_char(coalesce(to_jsonb(l) ->> 'last_finished_at',                       to_jsonb(l) ->> 'finished_at')::timestamptz AT TIME ZONE 'UTC',                     'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),                     to_jsonb(l) ->> 'last_finished_xid'              FROM my2pg.last_run l WHERE schema_name = $1",
            &[&table.schema],
        )
        .await
        .map_err(|e| Error::pg(what(), &e))?;
    let (at, xid) = match finished {
        Some(r) => match r.get::<_, Option<String>>(0) {
            Some(at) => (at, r.get::<_, Option<String>>(1)),
            None => return Ok(None),
        },
        None => return Ok(None),
    };
    let n = match xid {
        Some(xid) if tells_rows_apart(client, table).await? => {
            // By age, as Postgres orders transactions: 32-bit xmin against the run's xid.
            let sql = format!(
                "SELECT count(*) FROM {table} t \
                 WHERE age(t.xmin) < age(($3::text::numeric % 4294967296)::text::xid) \
                   AND t.xmin::text::bigint NOT IN ({MY2PG_XMINS})"
            );
            client
                .query_one(sql.as_str(), &[&table.schema, &table.name, &xid])
                .await
                .map_err(|e| Error::pg(what(), &e))?
                .get(0)
        }
        _ => rows_not_loaded(client, table).await?,
    };
    Ok(Some((n, at)))
}

/// Whether `table` still holds at least one row my2pg wrote (stops at the first).
pub async fn holds_a_loaded_row(client: &Client, table: &crate::ident::PgName) -> Result<bool> {
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM {table} t WHERE t.xmin::text::bigint IN ({MY2PG_XMINS}))"
    );
    Ok(client
        .query_one(sql.as_str(), &[&table.schema, &table.name])
        .await
        .map_err(|e| Error::pg(format!("look for the rows my2pg loaded into {table}"), &e))?
        .get(0))
}

/// Rows of `table` that my2pg did not write: rows whose inserting (or last updating)
/// transaction is none of its chunk loads or fills. A ledger from an earlier version
/// (no transaction ids) is counted by totals: rows beyond the ledger's row count.
pub async fn rows_not_loaded(client: &Client, table: &crate::ident::PgName) -> Result<i64> {
    let sql = if tells_rows_apart(client, table).await? {
        format!("SELECT count(*) FROM {table} t WHERE t.xmin::text::bigint NOT IN ({MY2PG_XMINS})")
    } else {
        format!(
            "SELECT (SELECT count(*) FROM {table}) - (SELECT coalesce(sum(rows), 0)::bigint \
             FROM my2pg.loaded_chunks WHERE schema_name = $1 AND table_name = $2)"
        )
    };
    Ok(client
        .query_one(sql.as_str(), &[&table.schema, &table.name])
        .await
        .map_err(|e| Error::pg(format!("count the rows of {table} my2pg did not load"), &e))?
        .get(0))
}
