//! `constraints = "rebuild"`: secondary indexes and foreign keys of the copied tables are
//! recorded in the target (`my2pg.rebuild_objects`, exact `pg_get_indexdef` /
//! `pg_get_constraintdef`), dropped, and rebuilt after the load: indexes in parallel
//! sessions, FKs re-added NOT VALID then VALIDATEd, so a violation still fails the run
//! (on a partitioned table, which refuses NOT VALID, added validated in one step).
//! Objects Postgres clones onto partitions are left to their parent object.
//! Primary keys stay. Unique constraints and unique indexes stay too (a duplicate fails
//! its chunk at once), except those `deferrable_uniques` proves the source already
//! enforces: those are rebuilt with the indexes, where a duplicate would still fail
//! the run, naming the key (`[run] defer_unique`).
//! Autovacuum is switched off on the copied tables for the load (`autovacuum_enabled`
//! reloptions, recorded the same way): an insert-triggered autovacuum on a table being
//! loaded burns CPU on work the load is about to redo, and holds a lock that each index
//! build and ALTER TABLE waits for (a full `deadlock_timeout`, then it is cancelled).
//! A failure restores every recorded definition; a run after a crash finds them too.

use tokio_postgres::Client;

use crate::error::{Error, Result};
use crate::ident::{pg_literal, PgIdent, PgName};
use crate::pipeline::schedule::on_each_free_client;
use crate::plan::{Plan, TablePlan};

const RECORDS: &str = "CREATE TABLE IF NOT EXISTS my2pg.rebuild_objects (
    schema_name text NOT NULL,
    table_name text NOT NULL,
    kind text NOT NULL,
    object_name text NOT NULL,
    definition text NOT NULL,
    PRIMARY KEY (schema_name, table_name, kind, object_name));
ALTER TABLE my2pg.rebuild_objects DROP CONSTRAINT IF EXISTS rebuild_objects_kind_check;
ALTER TABLE my2pg.rebuild_objects ADD CONSTRAINT rebuild_objects_kind_check
    CHECK (kind IN ('index', 'unique', 'fk', 'reloption'));
ALTER TABLE my2pg.rebuild_objects ADD COLUMN IF NOT EXISTS tablespace text,
    ADD COLUMN IF NOT EXISTS comment text,
    ADD COLUMN IF NOT EXISTS referenced_index_schema text,
    ADD COLUMN IF NOT EXISTS referenced_index text";

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

/// Indexes that back no constraint and enforce nothing, and FKs whose child is copied,
/// with an index's tablespace (NULL: the database's default; pg_get_indexdef leaves it
/// out) and the object's comment.
/// A partition's index attached to a partitioned index (`pg_inherits`) and an FK cloned
/// onto a partition or for a referenced partition (`conparentid <> 0`) are left out: they
/// follow their parent object, which alone is dropped and re-created.
const OBJECTS_SQL: &str = "
SELECT n.nspname::text, c.relname::text, 'index', i.relname::text, pg_get_indexdef(x.indexrelid),
  (SELECT spcname::text FROM pg_tablespace WHERE oid = i.reltablespace),
  obj_description(x.indexrelid, 'pg_class')
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class c ON c.oid = x.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1 AND c.relname = ANY($2) AND NOT x.indisunique AND NOT x.indisprimary
  AND NOT x.indisclustered
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
  AND NOT EXISTS (SELECT 1 FROM pg_inherits h WHERE h.inhrelid = x.indexrelid)
UNION ALL
SELECT n.nspname::text, c.relname::text, 'fk', k.conname::text, pg_get_constraintdef(k.oid),
  NULL::text, obj_description(k.oid, 'pg_constraint')
FROM pg_constraint k
JOIN pg_class c ON c.oid = k.conrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE k.contype = 'f' AND k.conparentid = 0 AND n.nspname = $1 AND c.relname = ANY($2)
ORDER BY 3, 1, 2, 4";

/// SQL pieces shared by the catalog queries over indexes `x` (index relation `i`) of
/// tables `c` in schemas `n`: the key columns in order (a SELECT-list item), and the
/// joins that bind those names.
macro_rules! index_key_columns_and_joins {
    () => {
        "ARRAY(SELECT a.attname::text
        FROM unnest(x.indkey::int2[]) WITH ORDINALITY u(attnum, ord)
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = u.attnum
        WHERE u.ord <= x.indnkeyatts ORDER BY u.ord)
FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid
JOIN pg_class c ON c.oid = x.indrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
"
    };
}
pub(crate) use index_key_columns_and_joins;

/// Candidates for `deferrable_uniques`: unique constraints ('unique') and unique indexes
/// ('index') on plain columns of ordinary tables that no FK references and no other
/// constraint uses, whose collations compare bytes and whose NULLs are distinct. After
/// the tablespace and the comment come the index's name and the key columns' names. A
/// constraint's definition is its index's (which keeps storage parameters, not the
/// tablespace: that is recorded apart), a newline, and its deferrability:
/// `rebuild_unique` builds the index, then attaches.
const UNIQUES_SQL: &str = concat!(
    "
SELECT n.nspname::text, c.relname::text,
  CASE WHEN k.oid IS NULL THEN 'index' ELSE 'unique' END,
  COALESCE(k.conname, i.relname)::text,
  pg_get_indexdef(x.indexrelid) || CASE WHEN k.oid IS NULL THEN '' ELSE
    E'\n' || CASE WHEN k.condeferrable THEN 'DEFERRABLE' ELSE 'NOT DEFERRABLE' END
    || CASE WHEN k.condeferred THEN ' INITIALLY DEFERRED' ELSE ' INITIALLY IMMEDIATE' END END,
  (SELECT spcname::text FROM pg_tablespace WHERE oid = i.reltablespace),
  CASE WHEN k.oid IS NULL THEN obj_description(x.indexrelid, 'pg_class')
    ELSE obj_description(k.oid, 'pg_constraint') END,
  i.relname::text,
  ",
    index_key_columns_and_joins!(),
    "LEFT JOIN pg_constraint k ON k.conindid = x.indexrelid AND k.conrelid = x.indrelid AND k.contype = 'u'
WHERE n.nspname = $1 AND c.relname = ANY($2) AND c.relkind = 'r'
  AND x.indisunique AND NOT x.indisprimary AND x.indisvalid AND x.indexprs IS NULL
  AND NOT x.indisreplident AND NOT x.indisclustered
  AND NOT COALESCE((to_jsonb(x) ->> 'indnullsnotdistinct')::boolean, false)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint o
                  WHERE o.conindid = x.indexrelid AND o.oid IS DISTINCT FROM k.oid)
  AND NOT EXISTS (SELECT 1 FROM unnest(x.indcollation::oid[]) co
                  JOIN pg_collation pc ON pc.oid = co WHERE NOT pc.collisdeterministic)
ORDER BY 1, 2, 3, 4"
);

/// The source fractional-second digits of a `datetime(6)`-style column type (0 if none).
fn source_fsp(column_type: &str) -> u32 {
    column_type
        .split_once('(')
        .and_then(|(_, rest)| rest.split_once(')'))
        .and_then(|(digits, _)| digits.trim().parse().ok())
        .unwrap_or(0)
}

/// Two different source values can never become one target value: exact numbers,
/// booleans from 0/1, bytes, dates, timestamps that keep every fractional digit and
/// move no zone (a DST gap can merge two local times), enum labels, and characters
/// into text/varchar (byte-exact; not char(n), which ignores trailing spaces, nor citext
/// or a domain). UUID text is left out: with a binary collation `A...` and `a...` are
/// two source values and one uuid.
fn value_exact(c: &crate::plan::ColumnPlan) -> bool {
    use crate::convert::Converter as C;
    if c.rule.is_some() {
        return false;
    }
    match &c.converter {
        C::Int { .. }
        | C::IntToNumeric { .. }
        | C::Bool
        | C::Decimal { .. }
        | C::UuidBinary
        | C::Bytea
        | C::Date
        | C::PgEnum { .. } => true,
        // One spelling per value: integers, decimals at their column's fixed scale, and
        // dates and times at their column's fixed fraction digits.
        C::Text { .. } | C::NumberText { .. } | C::TemporalText { .. } => {
            let t = c.target_type.to_ascii_lowercase();
            t == "text" || t.starts_with("character varying")
        }
        C::Timestamp { frac_digits } => source_fsp(&c.source_type) <= *frac_digits,
        C::TimestampTz {
            frac_digits,
            zone: None,
        } => source_fsp(&c.source_type) <= *frac_digits,
        _ => false,
    }
}

/// A target unique key over `columns` can be rebuilt after the load instead of checked
/// row by row during it when the source already keeps a subset of those columns unique
/// and every column arrives value-exact: then the copied rows cannot hold a duplicate
/// (the rebuild would still fail the run if they did). Not for tables merged with rows
/// already in the target, which the source knows nothing about.
pub fn source_enforces(t: &TablePlan, columns: &[String]) -> bool {
    if t.merge_existing || t.existing_rows == crate::config::ExistingRows::KeepIdentical {
        return false;
    }
    let mut sources = Vec::with_capacity(columns.len());
    for col in columns {
        match t.columns.iter().find(|c| &c.target == col) {
            Some(c) if value_exact(c) => sources.push(c.source.as_str()),
            _ => return false,
        }
    }
    t.source_unique_keys
        .iter()
        .any(|k| !k.is_empty() && k.iter().all(|s| sources.contains(&s.as_str())))
}

/// (schema, table, kind, name, definition) of the unique keys deferred for the load.
pub async fn deferrable_uniques(
    client: &Client,
    plan: &Plan,
    schema: &str,
    names: &[String],
) -> Result<Vec<ObjectRow>> {
    let rows = client
        .query(UNIQUES_SQL, &[&schema, &names])
        .await
        .map_err(|e| Error::pg("read unique constraint definitions", &e))?;
    let referenced = recorded_fk_indexes(client).await?;
    let mut out = Vec::new();
    for r in &rows {
        let table: String = r.get(1);
        let index: String = r.get(7);
        let columns: Vec<String> = r.get(8);
        let Some(t) = plan.tables.iter().find(|t| t.target.name == table) else {
            continue;
        };
        // An FK dropped by an interrupted run still references its index: rebuilding
        // that index would bind the FK to another one (the primary key, say) when it
        // is re-added.
        let schema_name: String = r.get(0);
        if referenced.contains(&(schema_name, index)) {
            continue;
        }
        if source_enforces(t, &columns) {
            out.push((
                r.get(0),
                table,
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
            ));
        }
    }
    Ok(out)
}

/// (schema, index) of the indexes the FKs recorded by an earlier, interrupted run were
/// bound to (`conindid`). Records of an older my2pg have none; records this user cannot
/// read (another user's ledger, which `plan` reports) count as none.
async fn recorded_fk_indexes(
    client: &Client,
) -> Result<std::collections::HashSet<(String, String)>> {
    let what = "read the indexes recorded FKs reference";
    let present: bool = client
        .query_one(
            "SELECT EXISTS (SELECT FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'my2pg' AND c.relname = 'rebuild_objects' \
               AND has_schema_privilege(n.oid, 'USAGE') AND has_table_privilege(c.oid, 'SELECT'))",
            &[],
        )
        .await
        .map_err(|e| Error::pg(what, &e))?
        .get(0);
    if !present {
        return Ok(Default::default());
    }
    // to_jsonb: the columns may not exist yet (an older my2pg made the table).
    let rows = client
        .query(
            "SELECT to_jsonb(r) ->> 'referenced_index_schema', to_jsonb(r) ->> 'referenced_index' \
             FROM my2pg.rebuild_objects r WHERE kind = 'fk'",
            &[],
        )
        .await
        .map_err(|e| Error::pg(what, &e))?;
    Ok(rows
        .iter()
        .filter_map(|r| {
            Some((
                r.get::<_, Option<String>>(0)?,
                r.get::<_, Option<String>>(1)?,
            ))
        })
        .collect())
}

/// (schema, table, kind, name, definition, tablespace, comment) of an object to record.
type ObjectRow = (
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

pub async fn ensure_records(client: &Client) -> Result<()> {
    client
        .batch_execute(RECORDS)
        .await
        .map_err(|e| Error::pg("create my2pg.rebuild_objects", &e))
}

/// Records, then drops, the objects rebuilt after the load; with `defer_unique`, also
/// the unique keys the source enforces. Returns (indexes incl. unique keys, fks) dropped.
pub async fn drop_for_load(
    client: &mut Client,
    plan: &Plan,
    schema: &str,
    defer_unique: bool,
) -> Result<(u64, u64)> {
    ensure_records(client).await?;
    let names: Vec<String> = plan.tables.iter().map(|t| t.target.name.clone()).collect();
    let rows = client
        .query(OBJECTS_SQL, &[&schema, &names])
        .await
        .map_err(|e| Error::pg("read index and FK definitions", &e))?;
    let mut objects: Vec<ObjectRow> = rows
        .iter()
        .map(|r| {
            (
                r.get(0),
                r.get(1),
                r.get(2),
                r.get(3),
                r.get(4),
                r.get(5),
                r.get(6),
            )
        })
        .collect();
    let uniques = if defer_unique {
        deferrable_uniques(client, plan, schema, &names).await?
    } else {
        Vec::new()
    };
    let deferred_unique = uniques.len();
    // Unique keys first: an FK dropped below may not depend on them (excluded above).
    objects.splice(0..0, uniques);
    let (mut indexes, mut fks) = (0, 0);
    // One transaction: the records and the drops commit together.
    let tx = client
        .transaction()
        .await
        .map_err(|e| Error::pg("begin drop", &e))?;
    for (s, t, kind, name, def, tablespace, comment) in &objects {
        // An FK keeps the name of the index it is bound to, read before it is dropped.
        tx.execute(
            "INSERT INTO my2pg.rebuild_objects (schema_name, table_name, kind, object_name, \
               definition, tablespace, comment, referenced_index_schema, referenced_index) \
             SELECT $1, $2, $3, $4, $5, $6, $7, ri.nspname, ri.relname \
             FROM (SELECT 1) one LEFT JOIN ( \
               SELECT rn.nspname::text, i.relname::text FROM pg_constraint k \
               JOIN pg_class c ON c.oid = k.conrelid \
               JOIN pg_namespace n ON n.oid = c.relnamespace \
               JOIN pg_class i ON i.oid = k.conindid \
               JOIN pg_namespace rn ON rn.oid = i.relnamespace \
               WHERE $3 = 'fk' AND k.contype = 'f' AND n.nspname = $1 AND c.relname = $2 \
                 AND k.conname = $4) ri ON true \
             ON CONFLICT DO NOTHING",
            &[s, t, kind, name, def, tablespace, comment],
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
            if kind == "fk" {
                fks += 1;
            } else {
                indexes += 1;
            }
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
            "INSERT INTO my2pg.rebuild_objects (schema_name, table_name, kind, object_name, \
               definition) VALUES ($1, $2, 'reloption', $3, $4) ON CONFLICT DO NOTHING",
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
        deferred_unique,
        "dropped for the load (constraints = rebuild)"
    );
    Ok((indexes, fks))
}

/// Rebuilds every recorded object. The FKs come back NOT VALID first, one after another
/// on one session (metadata only; each locks two tables, so two at once could deadlock).
/// Then the sessions share one queue, biggest table first: every index build, then per
/// child table its FK validations (VALIDATE locks only the child against another
/// VALIDATE, so children proceed in parallel). Each finished object is forgotten.
/// `AfterLoad` makes a failed VALIDATE fail the run; otherwise (the failure path) the
/// FK stays NOT VALID and recorded for the next run.
pub async fn restore(clients: &[Client], mode: RestoreMode) -> Result<()> {
    let objects = restore_objects(clients, mode).await;
    // Autovacuum comes back even when an index or FK could not.
    let options = match clients.first() {
        Some(first) => restore_reloptions(first).await,
        None => Ok(()),
    };
    objects.and(options)
}

/// Only the deferred unique keys: before constraints dropped for FK cycles come back,
/// since such an FK may reference one. Every key is tried; the failures are returned.
pub async fn restore_unique_keys(clients: &[Client]) -> Vec<Error> {
    let Some(first) = clients.first() else {
        return Vec::new();
    };
    let objs = match records_exist(first).await {
        Ok(false) => return Vec::new(),
        Ok(true) => match read_records(first).await {
            Ok(objs) => objs,
            Err(e) => return vec![e],
        },
        Err(e) => return vec![e],
    };
    let mut errors = Vec::new();
    let mut rebuilt = 0;
    for o in objs.iter().filter(|o| o.is_unique_key()) {
        match rebuild_index(first, o).await {
            Ok(()) => rebuilt += 1,
            Err(e) => errors.push(e),
        }
    }
    if rebuilt > 0 {
        tracing::info!(unique_keys = rebuilt, "deferred unique keys rebuilt");
    }
    errors
}

/// Every record, biggest table first within a kind.
async fn read_records(client: &Client) -> Result<Vec<Recorded>> {
    let rows = client
        .query(
            "SELECT schema_name, table_name, kind, object_name, definition, \
               COALESCE(pg_total_relation_size(to_regclass(format('%I.%I', schema_name, table_name))), 0), \
               tablespace, comment \
             FROM my2pg.rebuild_objects ORDER BY kind DESC, 6 DESC, schema_name, table_name, object_name",
            &[],
        )
        .await
        .map_err(|e| Error::pg("read rebuild records", &e))?;
    Ok(rows
        .iter()
        .map(|r| Recorded {
            schema: r.get(0),
            table: r.get(1),
            kind: r.get(2),
            name: r.get(3),
            def: r.get(4),
            bytes: r.get(5),
            tablespace: r.get(6),
            comment: r.get(7),
        })
        .collect())
}

/// Why indexes and FKs are being put back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestoreMode {
    /// `keep` puts back what a crashed `rebuild` run left out: any failure fails the run.
    BeforeLoad,
    /// Every row is loaded: a constraint the rows violate fails the run.
    AfterLoad,
    /// The run failed or was interrupted: FKs the rows loaded so far do not satisfy stay
    /// NOT VALID (or out) and recorded, and the next run validates them.
    AfterFailure,
    /// The same, after `AfterLoad` failed on violating rows: its error said so already.
    AfterViolations,
}

/// Indexes and FKs only (see `restore`); autovacuum stays off until `restore_reloptions`.
pub async fn restore_objects(clients: &[Client], mode: RestoreMode) -> Result<()> {
    let strict = matches!(mode, RestoreMode::AfterLoad | RestoreMode::BeforeLoad);
    let Some(first) = clients.first() else {
        return Ok(());
    };
    if !records_exist(first).await? {
        return Ok(());
    }
    let objs = read_records(first).await?;
    if !objs
        .iter()
        .any(|o| matches!(o.kind.as_str(), "index" | "unique" | "fk"))
    {
        return Ok(());
    }
    let started = std::time::Instant::now();
    // One object that cannot come back (a duplicate in a deferred unique key) must not
    // keep the others away: every step runs, the first failure is reported after.
    let failures = std::sync::Mutex::new(Vec::new());
    let failures_ref = &failures;
    let fail = |e: Error| {
        failures_ref
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(e)
    };
    // Unique keys first, in parallel: an FK re-added below may reference one (its FK was
    // dropped by this tool when the key was chosen, so the choice could not see it).
    use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};
    #[derive(Default)]
    struct Done {
        uniques: AtomicUsize,
        indexes: AtomicUsize,
        fks: AtomicUsize,
    }
    let done = Done::default();
    let done_ref = &done;
    let mut uniques: Vec<&Recorded> = objs.iter().filter(|o| o.is_unique_key()).collect();
    let uniques_total = uniques.len();
    // After the load (and after its violations), `restore_unique_keys` has just tried
    // every deferred unique key: those still recorded failed on the rows, and another
    // full index build each could only fail again. They stay recorded for the next run.
    if matches!(mode, RestoreMode::AfterLoad | RestoreMode::AfterViolations) {
        uniques.clear();
    }
    on_each_free_client(clients, uniques, |client, o| async move {
        match rebuild_index(client, o).await {
            Ok(()) => _ = done_ref.uniques.fetch_add(1, Relaxed),
            Err(e) => fail(e),
        }
        Ok(())
    })
    .await?;
    let mut indexes: Vec<&Recorded> = objs
        .iter()
        .filter(|o| (o.kind == "index" || o.kind == "unique") && !o.is_unique_key())
        .collect();
    // Biggest table first, whatever the kind of index.
    indexes.sort_by_key(|o| std::cmp::Reverse(o.bytes));
    let mut fks: Vec<&Recorded> = objs.iter().filter(|o| o.kind == "fk").collect();
    let fk_total = fks.len();
    // An FK that could not be added has nothing to validate; it stays recorded.
    let mut not_added = Vec::new();
    for fk in &fks {
        match readd_fk(first, fk).await {
            Ok(Readd::Ready) => {}
            Ok(Readd::Unsatisfied(e)) if !strict => {
                // Failure path: the partial load may not satisfy it yet; it stays as it
                // was (absent or NOT VALID) and recorded, and the next run re-adds it.
                tracing::debug!("{} left out after the failure: {e}", fk.name);
                not_added.push(*fk);
            }
            Ok(Readd::Unsatisfied(e)) | Err(e) => {
                fail(e);
                not_added.push(*fk);
            }
        }
    }
    fks.retain(|fk| !not_added.iter().any(|n| std::ptr::eq(*n, *fk)));
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
    // Failure path: FKs the partial load does not satisfy yet, reported once (one line per
    // FK, each with Postgres's message, would bury the error that stopped the run).
    let waiting = std::sync::atomic::AtomicUsize::new(not_added.len());
    let waiting_ref = &waiting;
    on_each_free_client(clients, queue, |client, job| async move {
        match job {
            Job::Index(o) => match rebuild_index(client, o).await {
                Ok(()) => _ = done_ref.indexes.fetch_add(1, Relaxed),
                Err(e) => fail(e),
            },
            // Every FK of the child is validated, and each one that fails is reported.
            Job::Validate(group) => {
                for fk in group {
                    match validate_fk(client, fk, strict, waiting_ref).await {
                        Ok(true) => _ = done_ref.fks.fetch_add(1, Relaxed),
                        Ok(false) => {}
                        Err(e) => fail(e),
                    }
                }
            }
        }
        Ok(())
    })
    .await?;
    let waiting = waiting.into_inner();
    if mode == RestoreMode::AfterFailure && waiting > 0 {
        tracing::warn!(
            "{waiting} foreign key(s) stay NOT VALID or out: the rows loaded do not satisfy \
             them (yet, if the load did not finish); the next import/run adds and validates \
             them (`my2pg status` lists them, -v shows each)"
        );
    }
    let failures = failures
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // What came back: a failed object, or an FK left NOT VALID, is not counted.
    tracing::info!(
        indexes = done.indexes.load(Relaxed),
        fks = done.fks.load(Relaxed),
        unique_keys = done.uniques.load(Relaxed),
        not_back = (uniques_total + indexes.len() + fk_total)
            - done.uniques.load(Relaxed)
            - done.indexes.load(Relaxed)
            - done.fks.load(Relaxed),
        seconds = format!("{:.2}", started.elapsed().as_secs_f64()),
        "indexes and foreign keys rebuilt"
    );
    if mode == RestoreMode::AfterLoad {
        if let Some(e) = Error::after_load(failures) {
            return Err(e);
        }
    } else {
        // The caller reports the first failure; the others would be lost with it.
        let mut failures = failures.into_iter();
        if let Some(first) = failures.next() {
            for e in failures {
                // After violations, the run's error named every failure already.
                if mode == RestoreMode::AfterViolations {
                    tracing::debug!("stays out after the violations: {e}");
                } else {
                    tracing::error!("could not restore this either: {e}");
                }
            }
            return Err(first);
        }
    }
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
    if o.kind == "unique" {
        return rebuild_unique(client, o).await;
    }
    let present: bool = client
        .query_one(
            "SELECT to_regclass($1) IS NOT NULL",
            &[&format!("{}.{}", PgIdent(s.clone()), PgIdent(name.clone()))],
        )
        .await
        .map_err(|e| Error::pg("look up index", &e))?
        .get(0);
    if !present {
        let def = o.in_tablespace(&cascading_index_def(client, o).await?);
        if let Err(e) = client.batch_execute(&def).await {
            // Built meanwhile by a session that was still running it (a cleanup after a
            // failure): the index is there, which is all that was asked.
            if e.code() != Some(&tokio_postgres::error::SqlState::DUPLICATE_TABLE) {
                return Err(index_failed(
                    format!("rebuild index {name} on {s}.{t}"),
                    o,
                    &e,
                ));
            }
        }
    }
    // Also when it is there already: a killed run's CREATE INDEX can commit on the
    // server after its client is gone, before the COMMENT (the attack: comment lost).
    o.restore_comment(
        client,
        &format!("INDEX {}.{}", PgIdent(s.clone()), PgIdent(name.clone())),
    )
    .await?;
    forget(client, s, t, "index", name).await
}

/// An index the loaded rows violate (a duplicate) is a violation; one that cannot be
/// built for another reason (a row too large for a btree entry, an expression failing on
/// a value) stays recorded and is retried by every run: say how to give it up.
fn index_failed(what: String, o: &Recorded, e: &tokio_postgres::Error) -> Error {
    let failed = Error::pg_data(what.clone(), e);
    if failed.is_violation() {
        return failed;
    }
    // Only the rows can make a build fail for good (a value an expression rejects: class
    // 22; an entry too large: 54). A lost connection, a shutdown or a missing privilege
    // is fixed by running again once its cause is gone; giving the index up would lose it.
    let about_the_rows = e
        .as_db_error()
        .is_some_and(|db| matches!(&db.code().code()[..2], "22" | "54"));
    if !about_the_rows {
        return crate::error::ErrorKind::Query {
            side: "target (PostgreSQL)",
            what,
            reason: format!(
                "{}; its definition stays in my2pg.rebuild_objects: run again once the cause is \
                 fixed, and the run builds it",
                crate::error::pg_reason(e)
            ),
        }
        .into();
    }
    crate::error::ErrorKind::Query {
        side: "target (PostgreSQL)",
        what,
        reason: format!(
            "{}; its definition stays in my2pg.rebuild_objects and every import/run tries it \
             again: fix the rows (then `run --fresh --yes`), or give the index up with DELETE \
             FROM my2pg.rebuild_objects WHERE schema_name = {} AND table_name = {} AND kind = \
             'index' AND object_name = {}",
            crate::error::pg_reason(e),
            pg_literal(&o.schema),
            pg_literal(&o.table),
            pg_literal(&o.name)
        ),
    }
    .into()
}

/// Whether an FK (present) references a partitioned table, and whether it and every
/// clone Postgres made of it (per partition, `conparentid`) are validated.
const FK_STATE_SQL: &str = "
WITH RECURSIVE tree AS (
  SELECT k.oid, k.convalidated, k.confrelid FROM pg_constraint k
  WHERE k.conrelid = $1::text::regclass AND k.conname = $2 AND k.contype = 'f'
  UNION ALL
  SELECT c.oid, c.convalidated, c.confrelid FROM pg_constraint c JOIN tree t ON c.conparentid = t.oid)
SELECT bool_or(r.relkind = 'p'), bool_and(t.convalidated)
FROM tree t JOIN pg_class r ON r.oid = t.confrelid
HAVING count(*) > 0";

enum Readd {
    /// In place (NOT VALID or validated); the VALIDATE job finishes it and forgets it.
    Ready,
    /// Had to be validated while added, and the rows do not satisfy it (yet).
    Unsatisfied(Error),
}

/// Puts one recorded FK back, NOT VALID where Postgres allows the split, so the scans
/// run later in parallel. Two cases take the scan here, one FK at a time: Postgres
/// (before 18) refuses NOT VALID on a partitioned table, and a VALIDATE of an FK that
/// references a partitioned table leaves the clones per referenced partition marked
/// not valid (Postgres 17), unlike the FK as it was created. Keeping such FKs through
/// the load instead would check every row on its way in, which is what rebuild avoids.
async fn readd_fk(client: &Client, fk: &Recorded) -> Result<Readd> {
    let table = fk.pg_table();
    let q = PgIdent(fk.name.clone());
    let add = format!("ALTER TABLE {table} ADD CONSTRAINT {q} {}", fk.def);
    let failed =
        |e: &tokio_postgres::Error| Error::pg_data(format!("re-add foreign key {}", fk.name), e);
    // With the constraint, whether or not its rows validate later (a failed run leaves
    // it NOT VALID, and it keeps its comment then too).
    let comment_on = format!("CONSTRAINT {q} ON {table}");
    let (references_partitioned, valid) = match fk_state(client, &table, &fk.name).await? {
        // Put back by a run killed before its COMMENT: the comment too.
        Some(s) => {
            fk.restore_comment(client, &comment_on).await?;
            s
        }
        None if is_partitioned(client, &table).await? => {
            return Ok(match client.batch_execute(&add).await {
                Ok(()) => {
                    fk.restore_comment(client, &comment_on).await?;
                    Readd::Ready
                }
                Err(e) => Readd::Unsatisfied(failed(&e)),
            });
        }
        None => {
            client
                .batch_execute(&format!("{add} NOT VALID"))
                .await
                .map_err(|e| failed(&e))?;
            fk.restore_comment(client, &comment_on).await?;
            match fk_state(client, &table, &fk.name).await? {
                Some(s) => s,
                None => {
                    return Err(Error::internal(format!(
                        "{} not found after adding it",
                        fk.name
                    )))
                }
            }
        }
    };
    if references_partitioned && !valid {
        // One simple-query message is one transaction: if the rows fail the check, the
        // FK stays as it was (NOT VALID), not dropped.
        if let Err(e) = client
            .batch_execute(&format!("ALTER TABLE {table} DROP CONSTRAINT {q}; {add}"))
            .await
        {
            return Ok(Readd::Unsatisfied(failed(&e)));
        }
        fk.restore_comment(client, &comment_on).await?;
    }
    Ok(Readd::Ready)
}

/// (references a partitioned table, it and its clones validated) of an FK, if present.
async fn fk_state(client: &Client, table: &PgName, name: &str) -> Result<Option<(bool, bool)>> {
    let row = client
        .query_opt(FK_STATE_SQL, &[&table.to_string(), &name])
        .await
        .map_err(|e| Error::pg("look up constraint", &e))?;
    Ok(row.map(|r| (r.get(0), r.get(1))))
}

/// The recorded definition, except on a partitioned table: `pg_get_indexdef` prints
/// `ON ONLY` there, which builds an invalid parent index and none on the partitions.
/// Without ONLY Postgres builds (or attaches) one on every partition and the parent is
/// valid, as the index was before the load.
async fn cascading_index_def(client: &Client, o: &Recorded) -> Result<String> {
    if !is_partitioned(client, &o.pg_table()).await? {
        return Ok(o.def.clone());
    }
    // The index name as pg_get_indexdef quotes it, so a name holding "ON ONLY" is safe.
    let name: String = client
        .query_one("SELECT quote_ident($1)", &[&o.name])
        .await
        .map_err(|e| Error::pg("quote an index name", &e))?
        .get(0);
    for head in ["CREATE INDEX", "CREATE UNIQUE INDEX"] {
        let only = format!("{head} {name} ON ONLY ");
        if let Some(rest) = o.def.strip_prefix(&only) {
            return Ok(format!("{head} {name} ON {rest}"));
        }
    }
    Ok(o.def.clone())
}

/// Whether `table` is a partitioned table (false when it does not exist).
pub(crate) async fn is_partitioned(client: &Client, table: &PgName) -> Result<bool> {
    Ok(client
        .query_opt(
            "SELECT 1 FROM pg_class WHERE oid = to_regclass($1) AND relkind = 'p'",
            &[&table.to_string()],
        )
        .await
        .map_err(|e| Error::pg(format!("look up {table}"), &e))?
        .is_some())
}

/// Re-adds a deferred unique constraint: builds its index exactly as it was, then
/// attaches it (`UNIQUE USING INDEX`, the constraint takes the index's name, as it had).
/// A duplicate fails the run with Postgres's own detail, which names the key and value.
async fn rebuild_unique(client: &Client, o: &Recorded) -> Result<()> {
    let (table, name) = (o.pg_table(), &o.name);
    let failed = |e: &tokio_postgres::Error| {
        Error::pg_data(
            format!(
                "rebuild unique constraint {} on {table} after the load",
                PgIdent(name.clone())
            ),
            e,
        )
    };
    let Some((index_def, deferrability)) = o.def.rsplit_once('\n') else {
        return Err(Error::internal(format!(
            "unique constraint record {name} on {table} has no deferrability"
        )));
    };
    let present: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = $1::text::regclass AND conname = $2)",
            &[&table.to_string(), name],
        )
        .await
        .map_err(|e| Error::pg("look up constraint", &e))?
        .get(0);
    if !present {
        let index = format!("{}.{}", PgIdent(o.schema.clone()), PgIdent(name.clone()));
        let built: bool = client
            .query_one("SELECT to_regclass($1) IS NOT NULL", &[&index])
            .await
            .map_err(|e| Error::pg("look up index", &e))?
            .get(0);
        if !built {
            if let Err(e) = client.batch_execute(&o.in_tablespace(index_def)).await {
                // Built meanwhile by a session that was still running it (a cleanup).
                if e.code() != Some(&tokio_postgres::error::SqlState::DUPLICATE_TABLE) {
                    return Err(failed(&e));
                }
            }
        }
        let attach = format!(
            "ALTER TABLE {table} ADD CONSTRAINT {} UNIQUE USING INDEX {} {deferrability}",
            PgIdent(name.clone()),
            PgIdent(name.clone())
        );
        if let Err(e) = client.batch_execute(&attach).await {
            if e.code() != Some(&tokio_postgres::error::SqlState::DUPLICATE_OBJECT) {
                return Err(failed(&e));
            }
        }
    }
    // Also when it is there already (see rebuild_index).
    o.restore_comment(
        client,
        &format!("CONSTRAINT {} ON {table}", PgIdent(name.clone())),
    )
    .await?;
    forget(client, &o.schema, &o.table, "unique", name).await
}

async fn validate_fk(
    client: &Client,
    fk: &Recorded,
    strict: bool,
    waiting: &std::sync::atomic::AtomicUsize,
) -> Result<bool> {
    let (table, name) = (fk.pg_table(), &fk.name);
    let q = PgIdent(name.clone());
    // The target declared it NOT VALID (its own rows need not satisfy it): the loaded
    // rows are checked, as such an FK checks every new row, and it stays NOT VALID, as
    // it was (one transaction: the attack found it came back validated).
    let sql = if fk.def.ends_with(" NOT VALID") {
        format!(
            "ALTER TABLE {table} VALIDATE CONSTRAINT {q}; ALTER TABLE {table} DROP CONSTRAINT \
             {q}; ALTER TABLE {table} ADD CONSTRAINT {q} {}",
            fk.def
        )
    } else {
        format!("ALTER TABLE {table} VALIDATE CONSTRAINT {q}")
    };
    let validated = client
        .batch_execute(&sql)
        .await
        .map_err(|e| Error::pg_data(format!("validate constraint {name} on {table}"), &e));
    match validated {
        Ok(()) => {
            fk.restore_comment(
                client,
                &format!("CONSTRAINT {} ON {table}", PgIdent(name.clone())),
            )
            .await?;
            forget(client, &fk.schema, &fk.table, "fk", name)
                .await
                .map(|()| true)
        }
        Err(e) if strict => Err(e),
        // Failure path: a partial load may not satisfy it yet. It stays NOT VALID
        // (enforced for new rows) and recorded, and the next run validates it.
        Err(e) => {
            tracing::debug!("{name} left NOT VALID after the failure: {e}");
            waiting.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            Ok(false)
        }
    }
}

async fn records_exist(client: &Client) -> Result<bool> {
    crate::ledger::table_exists(client, "rebuild_objects").await
}

/// One index or FK definition kept in `my2pg.rebuild_objects`.
struct Recorded {
    schema: String,
    table: String,
    kind: String,
    name: String,
    def: String,
    /// Size of the table (orders the rebuild queue).
    bytes: i64,
    /// An index's tablespace; None: the database's default.
    tablespace: Option<String>,
    comment: Option<String>,
}

impl Recorded {
    /// A deferred unique constraint or unique index (an FK may need it back first).
    fn is_unique_key(&self) -> bool {
        self.kind == "unique"
            || (self.kind == "index" && self.def.starts_with("CREATE UNIQUE INDEX"))
    }

    /// `sql` (an index build) run in the index's own tablespace: pg_get_indexdef has no
    /// TABLESPACE clause, so the build would otherwise land in `default_tablespace`. In
    /// one implicit transaction, so the setting ends with the statement, failed or not.
    fn in_tablespace(&self, sql: &str) -> String {
        let ts = self
            .tablespace
            .as_ref()
            .map_or("''".to_string(), |t| PgIdent(t.clone()).to_string());
        format!("SET LOCAL default_tablespace = {ts}; {sql}")
    }

    /// Puts the object's comment back (`on`: `INDEX s.name` or `CONSTRAINT name ON t`).
    async fn restore_comment(&self, client: &Client, on: &str) -> Result<()> {
        let Some(comment) = &self.comment else {
            return Ok(());
        };
        client
            .batch_execute(&format!("COMMENT ON {on} IS {}", pg_literal(comment)))
            .await
            .map_err(|e| Error::pg(format!("restore the comment of {on}"), &e))
    }

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::convert::{Converter, Rule};
    use crate::plan::ColumnPlan;

    fn col(source_type: &str, target_type: &str, converter: Converter) -> ColumnPlan {
        ColumnPlan {
            source: "c".into(),
            source_type: source_type.into(),
            target: "c".into(),
            target_type: target_type.into(),
            target_base: String::new(),
            converter,
            rule: None,
            target_nullable: true,
            read: crate::plan::ReadAs::Column,
            null_default: None,
            target_default: None,
        }
    }

    #[test]
    fn only_conversions_that_cannot_merge_two_values_count_as_exact() {
        assert_eq!(source_fsp("datetime(6)"), 6);
        assert_eq!(source_fsp("datetime"), 0);
        assert_eq!(source_fsp("timestamp( 3 )"), 3);
        let text = |t: &str| col("varchar(40)", t, Converter::Text { max_chars: None });
        assert!(value_exact(&text("text")));
        assert!(value_exact(&text("character varying(40)")));
        // char(n) ignores trailing spaces, citext case, a domain may do anything.
        assert!(!value_exact(&text("character(40)")));
        assert!(!value_exact(&text("citext")));
        assert!(!value_exact(&text("email_domain")));
        let ts = |src: &str, digits: u32, zone: Option<&str>| {
            col(
                src,
                "timestamp with time zone",
                Converter::TimestampTz {
                    frac_digits: digits,
                    zone: zone.map(|z| {
                        std::sync::Arc::new(crate::convert::SourceZone::new(z, Vec::new()))
                    }),
                },
            )
        };
        assert!(value_exact(&ts("datetime(3)", 6, None)));
        assert!(!value_exact(&ts("datetime(6)", 3, None)));
        // A DST gap maps two local times to one instant.
        assert!(!value_exact(&ts("datetime", 6, Some("Europe/Berlin"))));
        assert!(value_exact(&col(
            "datetime(6)",
            "timestamp(6) without time zone",
            Converter::Timestamp { frac_digits: 6 }
        )));
        assert!(!value_exact(&col("char(36)", "uuid", Converter::Uuid)));
        assert!(value_exact(&col(
            "binary(16)",
            "uuid",
            Converter::UuidBinary
        )));
        assert!(!value_exact(&col(
            "double",
            "double precision",
            Converter::Float64
        )));
        let mut ruled = text("text");
        ruled.rule = Some(Rule::EmptyToNull);
        assert!(!value_exact(&ruled));
    }
}
