//! `constraints = "rebuild"`: secondary indexes and foreign keys of the copied tables are
//! recorded in the target (`my2pg.rebuild_objects`, exact `pg_get_indexdef` /
//! `pg_get_constraintdef`), dropped, and rebuilt after the load: indexes in parallel
//! sessions, FKs re-added NOT VALID then VALIDATEd, so a violation still fails the run.
//! Primary keys, unique constraints and unique indexes stay: duplicates fail at once.
//! Autovacuum is switched off on the copied tables for the load (`autovacuum_enabled`
//! reloptions, recorded the same way): an insert-triggered autovacuum on a table being
//! loaded burns CPU on work the load is about to redo, and holds a lock that each index
//! build and ALTER TABLE waits for (a full `deadlock_timeout`, then it is cancelled).
//! A failure restores every recorded definition; a run after a crash finds them too.

use tokio_postgres::Client;

use crate::error::{Error, Result};
use crate::ident::{PgIdent, PgName};
use crate::pipeline::schedule::on_each_free_client;
use crate::plan::Plan;

const RECORDS: &str = "CREATE TABLE IF NOT EXISTS my2pg.rebuild_objects (
    schema_name text NOT NULL,
    table_name text NOT NULL,
    kind text NOT NULL,
    object_name text NOT NULL,
    definition text NOT NULL,
    PRIMARY KEY (schema_name, table_name, kind, object_name));
ALTER TABLE my2pg.rebuild_objects DROP CONSTRAINT IF EXISTS rebuild_objects_kind_check;
ALTER TABLE my2pg.rebuild_objects ADD CONSTRAINT rebuild_objects_kind_check
    CHECK (kind IN ('index', 'fk', 'reloption'))";

/// Per copied table: its own and its TOAST table's `autovacuum_enabled` ('' = not set).
const RELOPTIONS_SQL: &str = "
SELECT n.nspname::text, c.relname::text, o.name,
  COALESCE((SELECT option_value FROM pg_options_to_table(
    CASE o.name WHEN 'autovacuum_enabled' THEN c.reloptions ELSE t.reloptions END)
    WHERE option_name = 'autovacuum_enabled'), '')
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_class t ON t.oid = c.reltoastrelid
CROSS JOIN (VALUES ('autovacuum_enabled'), ('toast.autovacuum_enabled')) o(name)
WHERE n.nspname = $1 AND c.relname = ANY($2) AND c.relkind = 'r'
  AND (o.name = 'autovacuum_enabled' OR c.reltoastrelid <> 0)
ORDER BY 1, 2, 3";

/// Indexes that back no constraint and enforce nothing, and FKs whose child is copied.
const OBJECTS_SQL: &str = "
SELECT n.nspname::text, c.relname::text, 'index', i.relname::text, pg_get_indexdef(x.indexrelid)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class c ON c.oid = x.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = ANY($2) AND NOT x.indisunique AND NOT x.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
UNION ALL
SELECT n.nspname::text, c.relname::text, 'fk', k.conname::text, pg_get_constraintdef(k.oid)
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE k.contype = 'f' AND n.nspname = $1 AND c.relname = ANY($2)
ORDER BY 3, 1, 2, 4";

pub async fn ensure_records(client: &Client) -> Result<()> {
    client
        .batch_execute(RECORDS)
        .await
        .map_err(|e| Error::pg("create my2pg.rebuild_objects", &e))
}

/// Records, then drops, the objects rebuilt after the load. Returns (indexes, fks) dropped.
pub async fn drop_for_load(client: &mut Client, plan: &Plan, schema: &str) -> Result<(u64, u64)> {
    ensure_records(client).await?;
    let names: Vec<String> = plan.tables.iter().map(|t| t.target.name.clone()).collect();
    let rows = client
        .query(OBJECTS_SQL, &[&schema, &names])
        .await
        .map_err(|e| Error::pg("read index and FK definitions", &e))?;
    let (mut indexes, mut fks) = (0, 0);
    // One transaction: the records and the drops commit together.
    let tx = client
        .transaction()
        .await
        .map_err(|e| Error::pg("begin drop", &e))?;
    for r in &rows {
        let (s, t, kind, name, def): (String, String, String, String, String) =
            (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
        tx.execute(
            "INSERT INTO my2pg.rebuild_objects VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            &[&s, &t, &kind, &name, &def],
        )
        .await
        .map_err(|e| Error::pg("record an index or FK definition", &e))?;
        let table = PgName {
            schema: s.clone(),
            name: t.clone(),
        };
        let sql = if kind == "index" {
            indexes += 1;
            format!(
                "DROP INDEX {}.{}",
                PgIdent(s.clone()),
                PgIdent(name.clone())
            )
        } else {
            fks += 1;
            format!(
                "ALTER TABLE {table} DROP CONSTRAINT {}",
                PgIdent(name.clone())
            )
        };
        tx.batch_execute(&sql)
            .await
            .map_err(|e| Error::pg(format!("drop {kind} {name} for the load"), &e))?;
    }
    let opts = tx
        .query(RELOPTIONS_SQL, &[&schema, &names])
        .await
        .map_err(|e| Error::pg("read autovacuum settings", &e))?;
    for r in &opts {
        let (s, t, name, value): (String, String, String, String) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        // DO NOTHING: after a crash the record still holds the operator's value.
        tx.execute(
            "INSERT INTO my2pg.rebuild_objects VALUES ($1, $2, 'reloption', $3, $4) ON CONFLICT DO NOTHING",
            &[&s, &t, &name, &value],
        )
        .await
        .map_err(|e| Error::pg("record an autovacuum setting", &e))?;
        let table = PgName { schema: s, name: t };
        tx.batch_execute(&format!("ALTER TABLE {table} SET ({name} = false)"))
            .await
            .map_err(|e| Error::pg(format!("switch autovacuum off on {table}"), &e))?;
    }
    tx.commit()
        .await
        .map_err(|e| Error::pg("commit drop", &e))?;
    let autovacuum_off = opts.len();
    tracing::info!(
        indexes,
        fks,
        autovacuum_off,
        "dropped for the load (constraints = rebuild)"
    );
    Ok((indexes, fks))
}

/// Rebuilds every recorded object. The FKs come back NOT VALID first, one after another
/// on one session (metadata only; each locks two tables, so two at once could deadlock).
/// Then the sessions share one queue, biggest table first: every index build, then per
/// child table its FK validations (VALIDATE locks only the child against another
/// VALIDATE, so children proceed in parallel). Each finished object is forgotten.
/// `strict` (after a good load) makes a failed VALIDATE fail the run; otherwise (the
/// failure path) the FK stays NOT VALID and recorded for the next run.
pub async fn restore(clients: &[Client], strict: bool) -> Result<()> {
    let objects = restore_objects(clients, strict).await;
    // Autovacuum comes back even when an index or FK could not.
    let options = match clients.first() {
        Some(first) => restore_reloptions(first).await,
        None => Ok(()),
    };
    objects.and(options)
}

/// Indexes and FKs only (see `restore`); autovacuum stays off until `restore_reloptions`.
pub async fn restore_objects(clients: &[Client], strict: bool) -> Result<()> {
    let Some(first) = clients.first() else {
        return Ok(());
    };
    if !records_exist(first).await? {
        return Ok(());
    }
    let rows = first
        .query(
            "SELECT schema_name, table_name, kind, object_name, definition, \
               COALESCE(pg_total_relation_size(to_regclass(format('%I.%I', schema_name, table_name))), 0) \
             FROM my2pg.rebuild_objects ORDER BY kind DESC, 6 DESC, schema_name, table_name, object_name",
            &[],
        )
        .await
        .map_err(|e| Error::pg("read rebuild records", &e))?;
    let objs: Vec<Recorded> = rows
        .iter()
        .map(|r| Recorded {
            schema: r.get(0),
            table: r.get(1),
            kind: r.get(2),
            name: r.get(3),
            def: r.get(4),
        })
        .collect();
    let started = std::time::Instant::now();
    let indexes: Vec<&Recorded> = objs.iter().filter(|o| o.kind == "index").collect();
    let fks: Vec<&Recorded> = objs.iter().filter(|o| o.kind == "fk").collect();
    for fk in &fks {
        let present: bool = first
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = $1::text::regclass AND conname = $2)",
                &[&fk.pg_table().to_string(), &fk.name],
            )
            .await
            .map_err(|e| Error::pg("look up constraint", &e))?
            .get(0);
        if !present {
            first
                .batch_execute(&format!(
                    "ALTER TABLE {} ADD CONSTRAINT {} {} NOT VALID",
                    fk.pg_table(),
                    PgIdent(fk.name.clone()),
                    fk.def
                ))
                .await
                .map_err(|e| Error::pg(format!("re-add foreign key {}", fk.name), &e))?;
        }
    }
    // Rows come biggest table first; FKs are grouped by child table in that order.
    let mut queue: Vec<Job> = indexes.iter().map(|&o| Job::Index(o)).collect();
    let mut children: Vec<Vec<&Recorded>> = Vec::new();
    for &fk in &fks {
        match children
            .iter_mut()
            .find(|g| g[0].schema == fk.schema && g[0].table == fk.table)
        {
            Some(g) => g.push(fk),
            None => children.push(vec![fk]),
        }
    }
    queue.extend(children.into_iter().map(Job::Validate));
    on_each_free_client(clients, queue, |client, job| async move {
        match job {
            Job::Index(o) => rebuild_index(client, o).await,
            Job::Validate(group) => {
                for fk in group {
                    validate_fk(client, fk, strict).await?;
                }
                Ok(())
            }
        }
    })
    .await?;
    tracing::info!(
        indexes = indexes.len(),
        fks = fks.len(),
        seconds = format!("{:.2}", started.elapsed().as_secs_f64()),
        "indexes and foreign keys rebuilt"
    );
    Ok(())
}

/// Puts back the recorded `autovacuum_enabled` settings (RESET where none was set).
pub async fn restore_reloptions(client: &Client) -> Result<()> {
    if !records_exist(client).await? {
        return Ok(());
    }
    let rows = client
        .query(
            "SELECT schema_name, table_name, object_name, definition FROM my2pg.rebuild_objects \
             WHERE kind = 'reloption' ORDER BY 1, 2, 3",
            &[],
        )
        .await
        .map_err(|e| Error::pg("read autovacuum records", &e))?;
    for r in &rows {
        let (s, t, name, value): (String, String, String, String) =
            (r.get(0), r.get(1), r.get(2), r.get(3));
        if !matches!(
            name.as_str(),
            "autovacuum_enabled" | "toast.autovacuum_enabled"
        ) {
            return Err(Error::internal(format!(
                "unexpected reloption record {name}"
            )));
        }
        let table = PgName {
            schema: s.clone(),
            name: t.clone(),
        };
        let sql = if value.is_empty() {
            format!("ALTER TABLE {table} RESET ({name})")
        } else {
            // The value comes back as Postgres stored it; quoted as a literal.
            format!(
                "ALTER TABLE {table} SET ({name} = '{}')",
                value.replace('\'', "''")
            )
        };
        let present: bool = client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&table.to_string()])
            .await
            .map_err(|e| Error::pg("look up table", &e))?
            .get(0);
        if present {
            client
                .batch_execute(&sql)
                .await
                .map_err(|e| Error::pg(format!("restore {name} on {table}"), &e))?;
        }
        forget(client, &s, &t, "reloption", &name).await?;
    }
    Ok(())
}

enum Job<'a> {
    Index(&'a Recorded),
    /// The FKs of one child table, validated one after another.
    Validate(Vec<&'a Recorded>),
}

async fn rebuild_index(client: &Client, o: &Recorded) -> Result<()> {
    let (s, t, name) = (&o.schema, &o.table, &o.name);
    let present: bool = client
        .query_one(
            "SELECT to_regclass($1) IS NOT NULL",
            &[&format!("{}.{}", PgIdent(s.clone()), PgIdent(name.clone()))],
        )
        .await
        .map_err(|e| Error::pg("look up index", &e))?
        .get(0);
    if !present {
        if let Err(e) = client.batch_execute(&o.def).await {
            // Built meanwhile by a session that was still running it (a cleanup after a
            // failure): the index is there, which is all that was asked.
            if e.code() != Some(&tokio_postgres::error::SqlState::DUPLICATE_TABLE) {
                return Err(Error::pg(format!("rebuild index {name} on {s}.{t}"), &e));
            }
        }
    }
    forget(client, s, t, "index", name).await
}

async fn validate_fk(client: &Client, fk: &Recorded, strict: bool) -> Result<()> {
    let (table, name) = (fk.pg_table(), &fk.name);
    let validated = client
        .batch_execute(&format!(
            "ALTER TABLE {table} VALIDATE CONSTRAINT {}",
            PgIdent(name.clone())
        ))
        .await
        .map_err(|e| Error::pg(format!("validate constraint {name} on {table}"), &e));
    match validated {
        Ok(()) => forget(client, &fk.schema, &fk.table, "fk", name).await,
        Err(e) if strict => Err(e),
        // Failure path: a partial load may not satisfy it yet. It stays NOT VALID
        // (enforced for new rows) and recorded, and the next run validates it.
        Err(e) => {
            tracing::warn!("{name} left NOT VALID after the failure: {e}");
            Ok(())
        }
    }
}

async fn records_exist(client: &Client) -> Result<bool> {
    Ok(client
        .query_one(
            "SELECT to_regclass('my2pg.rebuild_objects') IS NOT NULL",
            &[],
        )
        .await
        .map_err(|e| Error::pg("look for rebuild records", &e))?
        .get(0))
}

/// One index or FK definition kept in `my2pg.rebuild_objects`.
struct Recorded {
    schema: String,
    table: String,
    kind: String,
    name: String,
    def: String,
}

impl Recorded {
    fn pg_table(&self) -> PgName {
        PgName {
            schema: self.schema.clone(),
            name: self.table.clone(),
        }
    }
}

async fn forget(c: &Client, s: &str, t: &str, kind: &str, name: &str) -> Result<()> {
    c.execute(
        "DELETE FROM my2pg.rebuild_objects WHERE schema_name = $1 AND table_name = $2 AND kind = $3 AND object_name = $4",
        &[&s, &t, &kind, &name],
    )
    .await
    .map_err(|e| Error::pg("forget a rebuilt object", &e))?;
    Ok(())
}
