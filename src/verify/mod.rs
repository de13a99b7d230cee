//! `my2pg verify`: proves the target equals the source (or the exported chunks),
//! independently of the pipeline that did the copy.
//!
//! - `count`: exact `count(*)` on both sides.
//! - `load`: the target holds exactly the rows of the chunk files (checked against their
//!   manifest sha256 first); needs neither the source nor the plan.
//! - `full`: every row of the source against every row of the target, both reduced to
//!   one canonical text per value (`canon`, written apart from `src/convert/`).
//!
//! `load` and `full` compare by hash buckets of the canonical key and only descend to
//! rows for buckets that differ (see `scan`).

mod canon;
mod csv;
mod pgbin;
pub(crate) mod scan;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::Arc;
use std::time::Instant;

use futures::{StreamExt, TryStreamExt};
use mysql_async::prelude::Queryable;
use serde::Serialize;

use crate::config::Settings;
use crate::error::{Error, ErrorKind, Result};
use crate::ident::{MyIdent, PgIdent, PgName};
use crate::plan::TablePlan;
use crate::session;
use crate::workdir::manifest::Manifest;
use crate::workdir::WorkDir;

use canon::{Kind, SrcRule};
pub use scan::Diff;
use scan::{bucket_count, compare, ChunkFile, Col, Compared, Layout, Side};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Exact row counts only.
    Count,
    /// The target holds exactly the exported chunks (no source needed).
    Load,
    /// Every row of source and target compared on canonical values.
    #[default]
    Full,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Count => "count",
            Level::Load => "load",
            Level::Full => "full",
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    pub level: Level,
    /// Only these target tables (empty = every copied table).
    pub tables: Vec<String>,
    /// Differing keys reported per table at most.
    pub max_diffs: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub command: &'static str,
    pub level: Level,
    /// True when every compared table is equal.
    pub equal: bool,
    pub tables: Vec<TableVerify>,
    pub totals: VerifyTotals,
    /// The last import/run into the target did not finish: equal rows are not a target
    /// ready for the cut-over (indexes, constraints, autovacuum or sequences may be left).
    /// Makes the exit code 1, like a difference.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run_unfinished: Option<String>,
}

impl VerifyReport {
    /// Equal rows in a target whose last load finished.
    pub fn ok(&self) -> bool {
        self.equal && self.last_run_unfinished.is_none()
    }
}

/// Why the target is not ready although its rows may compare equal: its last import/run
/// did not finish (the h24 trial: "equal", exit 0, with FKs NOT VALID, indexes dropped
/// and sequences at 1). None when none was recorded or the ledger cannot be read.
async fn last_run_unfinished(settings: &Settings) -> Result<Option<String>> {
    let client = session::pg_connect(&settings.target).await?;
    let last = match crate::ledger::last_run(&client, &settings.schema).await {
        Ok(Some(r)) if r.finished_at.is_none() => r,
        Err(e) if !e.is_permission_denied() => return Err(e),
        _ => return Ok(None),
    };
    let left: Vec<&str> = crate::ledger::RunStep::ALL
        .iter()
        .filter(|s| !last.done.contains(s))
        .map(|s| s.name())
        .collect();
    Ok(Some(format!(
        "the last `my2pg {}` into this target (run {}, started {}) DID NOT FINISH (not done: \
         [{}]): whatever the rows, the target is not ready for the cut-over (indexes, \
         constraints, autovacuum or sequences may not be back); `my2pg status` says what is \
         left and how to complete it",
        last.command,
        last.run_id,
        last.started_at,
        left.join(", ")
    )))
}

/// One table's verdict.
#[derive(Debug, Clone, Serialize)]
pub struct TableVerify {
    /// Target table name.
    pub table: String,
    pub equal: bool,
    /// Rows read from the source (count, full).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_rows: Option<u64>,
    /// Rows in the chunk files (load).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk_rows: Option<u64>,
    pub target_rows: u64,
    /// Rows of the source (or the chunks) the target lacks.
    pub missing: u64,
    /// Rows only the target has.
    pub extra: u64,
    /// Rows with the same key and different values.
    pub changed: u64,
    /// Of `extra`, rows only the target has that its `existing_rows = "keep-identical"`
    /// keeps on purpose (seeded rows the source lacks): they do not make it different.
    #[serde(skip_serializing_if = "is_zero")]
    pub kept: u64,
    /// Columns compared after the config rule that changed them on purpose (the source
    /// value is transformed the same way first): `column (rule)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<String>,
    /// False when the counts above are a lower bound (only part of the differing rows
    /// was examined, or the level only counts rows).
    pub counts_complete: bool,
    /// Up to `--max-diffs` differing rows, by key.
    pub diffs: Vec<Diff>,
    /// Why the table is not equal besides its rows (e.g. a chunk file that changed).
    pub problems: Vec<String>,
    /// Columns this level cannot compare (`load` with run.source_timezone: timestamptz
    /// values written as local times; `--level full` checks them).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unchecked_columns: Vec<String>,
    /// Source columns the copy leaves out (`convert = "skip"`, generated columns), so
    /// not compared (full): `column (why)`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_copied: Vec<String>,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyTotals {
    pub tables: usize,
    pub different_tables: usize,
    /// Rows of the source (chunks for `load`) compared.
    pub rows: u64,
    /// Rows read on both sides.
    pub rows_read: u64,
    pub seconds: f64,
    /// `rows / seconds`.
    pub rows_per_sec: f64,
}

impl VerifyReport {
    pub fn human(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "verify ({}): {}",
            self.level.name(),
            if self.equal {
                "equal".to_string()
            } else {
                format!(
                    "DIFFERENT ({} of {} tables)",
                    self.totals.different_tables, self.totals.tables
                )
            }
        );
        for t in &self.tables {
            let (side, rows) = match (t.source_rows, t.chunk_rows) {
                (Some(r), _) => ("source", r),
                (None, Some(r)) => ("chunks", r),
                _ => ("source", 0),
            };
            if t.equal {
                let kept = if t.kept > 0 {
                    format!(
                        ", {} of them only in the target, kept by existing_rows = \"keep-identical\"",
                        t.kept
                    )
                } else {
                    String::new()
                };
                let _ = writeln!(s, "  {}: equal ({} rows{kept})", t.table, t.target_rows);
                if !t.rules.is_empty() {
                    let _ = writeln!(
                        s,
                        "    compared after the rules that changed them: {}",
                        t.rules.join(", ")
                    );
                }
                if !t.unchecked_columns.is_empty() {
                    let _ = writeln!(
                        s,
                        "    not compared at this level: {}",
                        t.unchecked_columns.join(", ")
                    );
                }
                for c in &t.not_copied {
                    let _ = writeln!(s, "    not copied, so not compared: {c}");
                }
                continue;
            }
            if t.source_rows.is_none() && t.chunk_rows.is_none() {
                // Nothing was read (no files of a loaded table): no counts to show (the
                // h23 attack: "source 0 rows, target 0 rows" beside 2003 loaded rows).
                let _ = writeln!(s, "  {}: NOT COMPARED", t.table);
                for p in &t.problems {
                    let _ = writeln!(s, "    problem: {p}");
                }
                continue;
            }
            let bound = if t.counts_complete { "" } else { "at least " };
            let _ = writeln!(
                s,
                "  {}: DIFFERENT: {side} {rows} rows, target {} rows; {bound}{} missing, {bound}{} extra, {bound}{} changed{}",
                t.table, t.target_rows, t.missing, t.extra, t.changed,
                if t.counts_complete || self.level == Level::Count {
                    ""
                } else {
                    " (only part of the differing rows was examined: --max-diffs raises how many)"
                }
            );
            for p in &t.problems {
                let _ = writeln!(s, "    problem: {p}");
            }
            if !t.unchecked_columns.is_empty() {
                let _ = writeln!(
                    s,
                    "    not compared at this level: {}",
                    t.unchecked_columns.join(", ")
                );
            }
            for c in &t.not_copied {
                let _ = writeln!(s, "    not copied, so not compared: {c}");
            }
            for d in &t.diffs {
                if d.columns.is_empty() {
                    let _ = writeln!(s, "    {:<8} {}", d.kind, d.key);
                } else {
                    let _ = writeln!(s, "    {:<8} {}: {}", d.kind, d.key, d.columns.join(", "));
                }
            }
        }
        // A next step, as every refusal gives one (the h20 trial: differences, exit 1,
        // and no word of what to do).
        if !self.equal && self.level != Level::Load {
            let _ = writeln!(
                s,
                "Next: where the source changed since the load, `my2pg run --fresh --yes` copies \
                 it as it is now; rows only in the target may be the application's, written \
                 since the load."
            );
        }
        let _ = writeln!(
            s,
            "{} tables, {} rows compared in {:.2} s ({:.0} rows/s)",
            self.totals.tables, self.totals.rows, self.totals.seconds, self.totals.rows_per_sec
        );
        if let Some(why) = &self.last_run_unfinished {
            let _ = writeln!(s, "NOT READY: {why}");
        }
        s
    }
}

pub async fn verify(settings: &Settings, opts: &VerifyOptions) -> Result<VerifyReport> {
    let started = Instant::now();
    let tables = match opts.level {
        Level::Count => count_level(settings, opts).await?,
        Level::Load => load_level(settings, opts).await?,
        Level::Full => full_level(settings, opts).await?,
    };
    let seconds = started.elapsed().as_secs_f64();
    let rows: u64 = tables
        .iter()
        .map(|t| t.source_rows.or(t.chunk_rows).unwrap_or(0))
        .sum();
    let rows_read = rows + tables.iter().map(|t| t.target_rows).sum::<u64>();
    let different_tables = tables.iter().filter(|t| !t.equal).count();
    let last_run_unfinished = last_run_unfinished(settings).await?;
    Ok(VerifyReport {
        last_run_unfinished,
        command: "verify",
        level: opts.level,
        equal: different_tables == 0,
        totals: VerifyTotals {
            tables: tables.len(),
            different_tables,
            rows,
            rows_read,
            seconds,
            rows_per_sec: rows as f64 / seconds.max(1e-6),
        },
        tables,
    })
}

fn pool(settings: &Settings) -> Result<Arc<rayon::ThreadPool>> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(settings.workers.converters.max(1))
        .thread_name(|i| format!("my2pg-verify-{i}"))
        .stack_size(canon::STACK_BYTES)
        .build()
        .map(Arc::new)
        .map_err(|e| Error::internal(format!("verify pool: {e}")))
}

/// The requested tables among `available` (target names); an unknown name is a config
/// error, which says so when `run.exclude` (`excluded`) leaves the table out.
fn select<'a>(
    available: &[&'a str],
    wanted: &[String],
    excluded: &BTreeSet<String>,
) -> Result<BTreeSet<&'a str>> {
    if wanted.is_empty() {
        return Ok(available.iter().copied().collect());
    }
    let mut out = BTreeSet::new();
    for w in wanted {
        // Exact first; else the one table that matches ignoring letter case.
        let folded: Vec<&&str> = available
            .iter()
            .filter(|a| a.to_lowercase() == w.to_lowercase())
            .collect();
        match available.iter().find(|a| **a == w.as_str()) {
            Some(a) => {
                out.insert(*a);
            }
            None if folded.len() == 1 => {
                out.insert(*folded[0]);
            }
            None if excluded.iter().any(|x| x.eq_ignore_ascii_case(w)) => {
                return Err(Error::config(format!(
                    "--table {w:?}: not a copied table: run.exclude leaves it out"
                )));
            }
            None => {
                // A long schema's every name helps nobody: the ones that look alike.
                let lw = w.to_lowercase();
                let near: Vec<&str> = available
                    .iter()
                    .filter(|a| {
                        let la = a.to_lowercase();
                        la.contains(&lw) || lw.contains(&la)
                    })
                    .copied()
                    .take(10)
                    .collect();
                let listed = if !near.is_empty() {
                    format!("similar copied tables: {}", near.join(", "))
                } else if available.len() <= 10 {
                    format!("copied tables: {}", available.join(", "))
                } else {
                    format!(
                        "{} copied tables, the first: {}, ...; `my2pg plan` lists them",
                        available.len(),
                        available[..10].join(", ")
                    )
                };
                return Err(Error::config(format!(
                    "--table {w:?}: not a copied table ({listed})"
                )));
            }
        }
    }
    Ok(out)
}

/// The copied tables of the plan, filtered by `--table`, and the source columns the plan
/// does not copy.
async fn planned_tables(
    settings: &Settings,
    opts: &VerifyOptions,
) -> Result<(Vec<TablePlan>, Vec<crate::plan::SkippedColumn>)> {
    let prepared = crate::commands::prepare(settings).await?;
    let plan = prepared.plan;
    let not_copied = plan.skipped_columns();
    // A target that already holds rows, or a user that may not load it, blocks a load,
    // not a comparison.
    let blocking: Vec<_> = plan
        .problems
        .iter()
        .filter(|p| {
            !matches!(
                p.kind,
                crate::plan::ProblemKind::TargetNotEmpty
                    | crate::plan::ProblemKind::TargetPrivileges
            )
        })
        .cloned()
        .collect();
    if !blocking.is_empty() {
        return Err(ErrorKind::Plan(blocking).into());
    }
    let names: Vec<&str> = plan.tables.iter().map(|t| t.target.name.as_str()).collect();
    let chosen: BTreeSet<String> = select(&names, &opts.tables, &settings.exclude)?
        .into_iter()
        .map(str::to_string)
        .collect();
    let tables = plan
        .tables
        .into_iter()
        .filter(|t| chosen.contains(&t.target.name))
        .collect();
    Ok((tables, not_copied))
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Extra target rows in a keep-identical table are kept, not a difference, when every
/// differing row was examined by key (`count` cannot tell a kept row from a missing one
/// replaced by another, so there they stay a difference) and none was written since the
/// load: the policy keeps rows that were there before it, and a row the application (or
/// anyone) wrote since is a difference as in any other table (Keystone and django-oscar
/// trials: the application's first rows after the cut-over were called kept).
async fn keep_identical_extra(
    r: &mut TableVerify,
    settings: &Settings,
    level: Level,
) -> Result<()> {
    let keeps = settings.existing_rows_for(&r.table) == crate::config::ExistingRows::KeepIdentical;
    let by_key = r.counts_complete && level != Level::Count;
    if keeps && by_key && r.extra > 0 && r.missing == 0 && r.changed == 0 && r.problems.is_empty() {
        let table = crate::ident::PgName {
            schema: settings.schema.clone(),
            name: r.table.clone(),
        };
        let client = session::pg_connect(&settings.target).await?;
        // A ledger the user may not read cannot tell: as before, the rows count as kept.
        let since = match crate::ledger::rows_written_since_load(&client, &table).await {
            Err(e) if e.is_permission_denied() => None,
            other => other?,
        };
        if let Some(n) = since.filter(|&n| n > 0) {
            r.problems.push(format!(
                "{n} row(s) of {table} were written since the load, not by my2pg: \
                 existing_rows = \"keep-identical\" keeps only rows that were there before \
                 it, so the rows only in the target are a difference"
            ));
            return Ok(());
        }
        r.kept = r.extra;
        r.equal = true;
    }
    Ok(())
}

fn table_verify(table: &str, opts: &VerifyOptions) -> TableVerify {
    TableVerify {
        table: table.to_string(),
        equal: true,
        source_rows: None,
        chunk_rows: None,
        target_rows: 0,
        missing: 0,
        extra: 0,
        changed: 0,
        kept: 0,
        rules: Vec::new(),
        counts_complete: opts.level != Level::Count,
        diffs: Vec::new(),
        problems: Vec::new(),
        unchecked_columns: Vec::new(),
        not_copied: Vec::new(),
        seconds: 0.0,
    }
}

// ---- count ---------------------------------------------------------------------------

async fn count_level(settings: &Settings, opts: &VerifyOptions) -> Result<Vec<TableVerify>> {
    let (tables, _) = planned_tables(settings, opts).await?;
    let mut my = session::mysql_connect(&settings.source).await?;
    let pg = session::pg_connect(&settings.target).await?;
    let mut out = Vec::new();
    for t in &tables {
        let started = Instant::now();
        let my_sql = format!("SELECT COUNT(*) FROM {}", MyIdent(t.source.clone()));
        let pg_sql = format!("SELECT count(*) FROM {}", t.target);
        let (s, g) = tokio::join!(
            my.query_first::<u64, _>(my_sql),
            pg.query_one(pg_sql.as_str(), &[])
        );
        let s = s
            .map_err(|e| Error::mysql(format!("count rows of `{}`", t.source), e))?
            .unwrap_or(0);
        let g = g.map_err(|e| Error::pg(format!("count rows of {}", t.target), &e))?;
        let g = g.get::<_, i64>(0) as u64;
        let mut r = table_verify(&t.target.name, opts);
        r.source_rows = Some(s);
        r.target_rows = g;
        r.missing = s.saturating_sub(g);
        r.extra = g.saturating_sub(s);
        r.equal = s == g;
        keep_identical_extra(&mut r, settings, opts.level).await?;
        r.seconds = started.elapsed().as_secs_f64();
        out.push(r);
    }
    let _ = my.disconnect().await;
    Ok(out)
}

// ---- target catalog ------------------------------------------------------------------

/// Column base types (domains resolved), enum-ness and primary keys of target tables,
/// read here from pg_catalog (the plan's display strings are not used).
struct TargetInfo {
    /// (table, column) -> kind.
    kinds: BTreeMap<(String, String), Kind>,
    /// table -> primary key columns.
    pks: BTreeMap<String, Vec<String>>,
}

async fn target_info(client: &tokio_postgres::Client, schema: &str) -> Result<TargetInfo> {
    let rows = client
        .query(
            "SELECT c.relname::text, a.attname::text, bt.typname::text, bt.typtype::text
             FROM pg_attribute a
             JOIN pg_class c ON c.oid = a.attrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN LATERAL (
                 -- Domains over domains: down to the base type.
                 WITH RECURSIVE chain(oid, depth) AS (
                     SELECT a.atttypid, 0
                     UNION ALL
                     SELECT d.typbasetype, chain.depth + 1
                     FROM chain JOIN pg_type d ON d.oid = chain.oid AND d.typtype = 'd'
                 )
                 SELECT oid FROM chain ORDER BY depth DESC LIMIT 1
             ) base ON true
             JOIN pg_type bt ON bt.oid = base.oid
             WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped",
            &[&schema],
        )
        .await
        .map_err(|e| Error::pg("read target column types", &e))?;
    let mut kinds = BTreeMap::new();
    for r in rows {
        let typname: String = r.get(2);
        let typtype: String = r.get(3);
        kinds.insert(
            (r.get(0), r.get(1)),
            Kind::from_pg(&typname, typtype == "e"),
        );
    }
    let rows = client
        .query(
            "SELECT c.relname::text, array_agg(a.attname::text ORDER BY k.ord)
             FROM pg_index i
             JOIN pg_class c ON c.oid = i.indrelid
             JOIN pg_namespace n ON n.oid = c.relnamespace
             CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
             WHERE n.nspname = $1 AND i.indisprimary
             GROUP BY c.relname",
            &[&schema],
        )
        .await
        .map_err(|e| Error::pg("read target primary keys", &e))?;
    let pks = rows.into_iter().map(|r| (r.get(0), r.get(1))).collect();
    Ok(TargetInfo { kinds, pks })
}

/// Session settings that fix the text form of values read back from the target.
const PG_VERIFY_INIT: &str = "SET extra_float_digits = 3; SET bytea_output = 'hex'; \
    SET IntervalStyle = 'postgres'; BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY";

async fn pg_side(settings: &Settings, table: &PgName, layout: &Layout) -> Result<Side> {
    let client = session::pg_connect(&settings.target).await?;
    client
        .batch_execute(PG_VERIFY_INIT)
        .await
        .map_err(|e| Error::pg("start a read-only transaction", &e))?;
    let exprs: Vec<String> = layout
        .cols
        .iter()
        .map(|c| c.kind.pg_binary_expr(&c.expr))
        .collect();
    let sql = format!(
        "COPY (SELECT {} FROM {table}) TO STDOUT (FORMAT binary)",
        exprs.join(", ")
    );
    Ok(Side::Pg {
        client,
        sql,
        what: format!("read {table}"),
    })
}

fn finish_table(mut r: TableVerify, c: Compared, started: Instant) -> TableVerify {
    r.target_rows = c.b_rows;
    r.missing = c.outcome.missing;
    r.extra = c.outcome.extra;
    r.changed = c.outcome.changed;
    r.counts_complete = c.outcome.complete;
    // Cut short, each count is a lower bound: the row counts give a better one for
    // missing or extra rows (Mailman trial: "at least 20 extra" beside 50 more rows).
    if !r.counts_complete {
        let source = r.source_rows.or(r.chunk_rows).unwrap_or(c.a_rows);
        r.missing = r.missing.max(source.saturating_sub(c.b_rows));
        r.extra = r.extra.max(c.b_rows.saturating_sub(source));
    }
    r.diffs = c.outcome.diffs;
    r.problems.extend(c.problems);
    let rows_differ = r.missing + r.extra + r.changed > 0 || !r.counts_complete;
    r.equal = !rows_differ && r.problems.is_empty();
    r.seconds = started.elapsed().as_secs_f64();
    r
}

// ---- full ----------------------------------------------------------------------------

async fn full_level(settings: &Settings, opts: &VerifyOptions) -> Result<Vec<TableVerify>> {
    let (tables, not_copied) = planned_tables(settings, opts).await?;
    let info = {
        let client = session::pg_connect(&settings.target).await?;
        target_info(&client, &settings.schema).await?
    };
    let pool = pool(settings)?;
    let info = &info;
    let pool = &pool;
    let mut done = biggest_first(
        &tables,
        |t| t.est_bytes.max(t.est_rows),
        settings.workers.readers,
        |t| full_table(settings, t, info, pool, opts),
    )
    .await?;
    // Equal says nothing of a column the copy left out on purpose: name it.
    for (v, t) in done.iter_mut().zip(&tables) {
        v.not_copied = not_copied
            .iter()
            .filter(|k| k.table == t.source)
            .map(|k| format!("{} ({})", k.column, k.reason))
            .collect();
    }
    Ok(done)
}

/// Runs `job` on every item, `width` at a time, biggest first (the largest table is the
/// critical path: started last, it would run alone at the end), and returns the
/// results in the items' order.
async fn biggest_first<'a, T, F, Fut>(
    items: &'a [T],
    size: impl Fn(&T) -> u64,
    width: usize,
    job: F,
) -> Result<Vec<TableVerify>>
where
    F: Fn(&'a T) -> Fut,
    Fut: std::future::Future<Output = Result<TableVerify>>,
{
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(size(&items[i])));
    let job = &job;
    let mut done: Vec<(usize, TableVerify)> = futures::stream::iter(order)
        .map(|i| async move { job(&items[i]).await.map(|r| (i, r)) })
        .buffer_unordered(width.max(1))
        .try_collect()
        .await?;
    done.sort_by_key(|(i, _)| *i);
    Ok(done.into_iter().map(|(_, r)| r).collect())
}

async fn full_table(
    settings: &Settings,
    t: &TablePlan,
    info: &TargetInfo,
    pool: &Arc<rayon::ThreadPool>,
    opts: &VerifyOptions,
) -> Result<TableVerify> {
    let started = Instant::now();
    let mut cols = Vec::with_capacity(t.columns.len());
    for (i, c) in t.columns.iter().enumerate() {
        let kind = info
            .kinds
            .get(&(t.target.name.clone(), c.target.clone()))
            .copied()
            .ok_or_else(|| {
                Error::internal(format!(
                    "target column {}.{} vanished from pg_catalog",
                    t.target, c.target
                ))
            })?;
        let mut col = Col::new(&c.target, kind);
        col.rule = c.rule.and_then(SrcRule::from_rule);
        col.null_default = c.null_default.as_ref().map(|d| d.text.clone().into_bytes());
        if matches!(c.converter, crate::convert::Converter::GeometryEwkb) {
            col.rule = Some(SrcRule::Ewkb);
        }
        col.set_members = t
            .set_member_read(i)
            .map(|(labels, at)| (labels.to_vec(), at));
        if let crate::convert::Converter::FloatToNumeric { scale, .. } = c.converter {
            col.float_scale = scale.map(usize::from);
        }
        if kind == Kind::Bit {
            col.bits = c
                .source_type
                .strip_prefix("bit(")
                .and_then(|r| r.strip_suffix(')'))
                .and_then(|n| n.parse().ok());
        }
        // datetime/date into timestamptz with run.source_timezone: the copy read the
        // value as local time there; compare it as local time there.
        let naive_source = c.source_type.to_ascii_lowercase().starts_with("date");
        if let (Kind::TimestampTz, Some(zone), true) =
            (kind, &settings.source_timezone, naive_source)
        {
            // An instant the local time does not lead back to (the daylight-time one of
            // an autumn hour that happens twice: the copy takes standard time, as
            // Postgres does) reads as infinity, which no source value equals.
            let (q, z) = (PgIdent(c.target.clone()), crate::ident::pg_literal(zone));
            col.kind = Kind::Timestamp;
            col.expr = format!(
                "(CASE WHEN {q} IS NULL OR ({q} AT TIME ZONE {z}) AT TIME ZONE {z} = {q} \
                 THEN {q} AT TIME ZONE {z} ELSE 'infinity'::timestamp END)"
            );
        }
        cols.push(col);
    }
    // The source's read key, as positions in the copied columns; every column when the
    // table has none or a key column is not copied.
    let key: Option<Vec<usize>> = if t.ordered_by_all {
        None
    } else {
        t.key
            .iter()
            .map(|k| t.columns.iter().position(|c| &c.source == k))
            .collect()
    };
    let keyless = key.is_none();
    let layout = Arc::new(Layout {
        key: key.unwrap_or_else(|| (0..cols.len()).collect()),
        cols,
        keyless,
        nbuckets: bucket_count(t.est_rows),
    });

    let mut conn = session::mysql_connect(&settings.source).await?;
    for q in [
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
        "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY",
    ] {
        conn.query_drop(q)
            .await
            .map_err(|e| Error::mysql("start a read-only snapshot", e))?;
    }
    // The copied columns exactly as the export reads them (bytes as stored included),
    // with the flags that tell a value MariaDB could not read that way: compared as read,
    // such a value (NULL from CAST above max_allowed_packet) could look equal.
    let select = t.select_exprs();
    let my = Side::My {
        conn,
        sql: format!(
            "SELECT {} FROM {}",
            select.join(", "),
            MyIdent(t.source.clone())
        ),
        what: format!("read `{}`", t.source),
        plan: Some(Arc::new(t.clone())),
    };
    let pg = pg_side(settings, &t.target, &layout).await?;
    let c = compare(my, pg, layout, pool, opts.max_diffs).await?;
    let mut r = table_verify(&t.target.name, opts);
    r.source_rows = Some(c.a_rows);
    // Only where the rule changed a value: a global policy names every column it covers.
    r.rules = t
        .columns
        .iter()
        .enumerate()
        .filter_map(|(i, col)| {
            let n = c.a_ruled.get(i).copied().unwrap_or(0);
            col.rule
                .filter(|_| n > 0)
                .map(|rule| format!("{} ({}, {n} value(s))", col.source, rule.name()))
        })
        .collect();
    let mut r = finish_table(r, c, started);
    keep_identical_extra(&mut r, settings, opts.level).await?;
    Ok(r)
}

// ---- load ----------------------------------------------------------------------------

/// Every manifest under the work directory, by target table name.
fn manifests(settings: &Settings) -> Result<Vec<(WorkDir, String, Manifest)>> {
    let wd = WorkDir::open_existing(&settings.workdir)?;
    // Another database's files would all "differ" (the h21 trial: every table DIFFERENT,
    // the wrong work directory never named).
    let (_, db) = crate::session::mysql_opts(&settings.source)?;
    crate::commands::files_are_from_database(&wd, &db, "verify")?;
    let mut out = Vec::new();
    let root = wd.root().to_path_buf();
    for entry in std::fs::read_dir(&root).map_err(|e| Error::io(&root, e))? {
        let entry = entry.map_err(|e| Error::io(&root, e))?;
        if !entry.path().is_dir() {
            continue;
        }
        let dir = entry.file_name().to_string_lossy().into_owned();
        // A copy of a table's files elsewhere (a backup) is not what was loaded.
        if let Some(m) = Manifest::read_any(&wd.manifest_path(&dir))? {
            if m.belongs_in(&dir) {
                out.push((wd.clone(), dir, m));
            }
        }
    }
    out.sort_by(|a, b| a.2.target_table.cmp(&b.2.target_table));
    Ok(out)
}

async fn load_level(settings: &Settings, opts: &VerifyOptions) -> Result<Vec<TableVerify>> {
    // Files an earlier run left for a table `run.exclude` now leaves out are not checked,
    // as `--level full` does not check the table.
    let all: Vec<_> = manifests(settings)?
        .into_iter()
        .filter(|(_, _, m)| !settings.exclude.contains(&m.source_table))
        .collect();
    let mut names: Vec<&str> = all
        .iter()
        .map(|(_, _, m)| m.target_table.as_str())
        .collect();
    // Tables the ledger holds loaded chunks of with no files here (a directory removed,
    // renamed, or a symlink to nowhere) are named, not skipped (the h22 attack: "equal",
    // exit 0, the 300,000-row table left out).
    let client = session::pg_connect(&settings.target).await?;
    let ledger_only: Vec<(String, i64, i64)> = crate::ledger::summary(&client)
        .await?
        .into_iter()
        .filter(|(schema, table, _, _)| {
            *schema == settings.schema
                && !names.contains(&table.as_str())
                && !settings.exclude.contains(table)
        })
        .map(|(_, table, chunks, rows)| (table, chunks, rows))
        .collect();
    names.extend(ledger_only.iter().map(|(t, _, _)| t.as_str()));
    let chosen: BTreeSet<String> = select(&names, &opts.tables, &settings.exclude)?
        .into_iter()
        .map(str::to_string)
        .collect();
    let pool = pool(settings)?;
    let mut infos: BTreeMap<String, TargetInfo> = BTreeMap::new();
    {
        let schemas: BTreeSet<&str> = all
            .iter()
            .map(|(_, _, m)| m.target_schema.as_str())
            .collect();
        for s in schemas {
            infos.insert(s.to_string(), target_info(&client, s).await?);
        }
    }
    let jobs: Vec<_> = all
        .iter()
        .filter(|(_, _, m)| chosen.contains(&m.target_table))
        .collect();
    let infos = &infos;
    let pool = &pool;
    let mut out = biggest_first(
        &jobs,
        |(_, _, m)| m.chunks.iter().map(|c| c.bytes).sum(),
        settings.workers.readers,
        |(wd, dir, m)| load_table(settings, wd, dir, m, &infos[&m.target_schema], pool, opts),
    )
    .await?;
    for (table, chunks, rows) in ledger_only.iter().filter(|(t, _, _)| chosen.contains(t)) {
        let mut r = table_verify(table, opts);
        r.equal = false;
        r.problems.push(format!(
            "the ledger holds {chunks} loaded chunk(s) ({rows} rows) of it, but the work \
             directory {} has no files of it (its directory is missing, renamed, or not a \
             directory): nothing was compared",
            settings.workdir.display()
        ));
        out.push(r);
    }
    Ok(out)
}

async fn load_table(
    settings: &Settings,
    wd: &WorkDir,
    dir: &str,
    m: &Manifest,
    info: &TargetInfo,
    pool: &Arc<rayon::ThreadPool>,
    opts: &VerifyOptions,
) -> Result<TableVerify> {
    let started = Instant::now();
    let target = PgName {
        schema: m.target_schema.clone(),
        name: m.target_table.clone(),
    };
    let mut r = table_verify(&m.target_table, opts);
    r.chunk_rows = Some(m.rows());
    if !m.complete {
        r.problems
            .push("the export of this table did not finish (manifest incomplete)".into());
    }
    // A table dropped since its export: one problem, not one per column.
    if !info.kinds.keys().any(|(table, _)| *table == m.target_table) {
        r.problems.push(format!(
            "target table {target} of the chunk files does not exist"
        ));
        r.equal = false;
        r.seconds = started.elapsed().as_secs_f64();
        return Ok(r);
    }
    let mut cols = Vec::with_capacity(m.columns.len());
    for name in &m.columns {
        match info.kinds.get(&(m.target_table.clone(), name.clone())) {
            Some(kind) => {
                let mut col = Col::new(name, *kind);
                if *kind == Kind::TimestampTz && settings.source_timezone.is_some() {
                    // Chunk values may be local times named by zone (run.source_timezone):
                    // reading them needs a time zone database this side does not have.
                    col.skip = true;
                    col.expr = "NULL".into();
                    r.unchecked_columns.push(name.clone());
                }
                cols.push(col);
            }
            None => r.problems.push(format!(
                "target column {name:?} of the chunk files does not exist in {target}"
            )),
        }
    }
    if cols.len() != m.columns.len() {
        r.equal = false;
        r.seconds = started.elapsed().as_secs_f64();
        return Ok(r);
    }
    let key: Option<Vec<usize>> = info.pks.get(&m.target_table).and_then(|pk| {
        pk.iter()
            .map(|k| m.columns.iter().position(|c| c == k))
            .collect()
    });
    let keyless = key.is_none();
    let layout = Arc::new(Layout {
        key: key.unwrap_or_else(|| (0..cols.len()).collect()),
        cols,
        keyless,
        nbuckets: bucket_count(m.rows()),
    });
    // Without a chunk's file its rows in the target would read as extra (the h25 trial:
    // "52 extra" that were loaded rows): the table is not compared at all.
    let missing: Vec<&str> = m
        .chunks
        .iter()
        .filter(|c| {
            matches!(std::fs::symlink_metadata(wd.table_dir(dir).join(&c.file)),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound)
        })
        .map(|c| c.file.as_str())
        .collect();
    if !missing.is_empty() {
        r.problems.push(format!(
            "chunk file(s) {} of {} listed in its manifest are missing: without them its rows \
             in the target cannot be compared, so nothing was; `my2pg export` writes them again",
            missing.join(", "),
            m.chunks.len()
        ));
        r.chunk_rows = None;
        r.equal = false;
        r.seconds = started.elapsed().as_secs_f64();
        return Ok(r);
    }
    let files = m
        .chunks
        .iter()
        .map(|c| ChunkFile {
            path: wd.table_dir(dir).join(&c.file),
            name: c.file.clone(),
            bytes: c.bytes,
            sha256: c.sha256.clone(),
            rows: c.rows,
        })
        .collect();
    let pg = pg_side(settings, &target, &layout).await?;
    let c = compare(Side::Chunks { files }, pg, layout, pool, opts.max_diffs).await?;
    let mut r = finish_table(r, c, started);
    keep_identical_extra(&mut r, settings, opts.level).await?;
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::select;

    #[test]
    fn table_names_match_exactly_then_ignoring_case_and_errors_stay_short() {
        let names = ["Users", "users_archive", "post"];
        let excluded: std::collections::BTreeSet<String> = ["alembic_version".to_string()].into();
        let pick = |w: &str| {
            select(&names, &[w.to_string()], &excluded).map(|s| s.into_iter().collect::<Vec<_>>())
        };
        assert_eq!(pick("post").unwrap(), ["post"]);
        assert_eq!(pick("USERS").unwrap(), ["Users"]);
        assert_eq!(
            pick("user").unwrap_err().to_string(),
            "config: --table \"user\": not a copied table (similar copied tables: Users, users_archive)"
        );
        let many: Vec<String> = (0..30).map(|i| format!("t{i:02}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert_eq!(
            select(&many, &["zz".to_string()], &excluded)
                .unwrap_err()
                .to_string(),
            "config: --table \"zz\": not a copied table (30 copied tables, the first: t00, t01, \
             t02, t03, t04, t05, t06, t07, t08, t09, ...; `my2pg plan` lists them)"
        );
        assert_eq!(
            pick("alembic_version").unwrap_err().to_string(),
            "config: --table \"alembic_version\": not a copied table: run.exclude leaves it out"
        );
    }
}
