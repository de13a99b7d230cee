//! Wave scheduler: chunks of the tables in the current wave load in parallel on
//! `loaders` connections; wave n+1 starts only when every chunk of wave n has committed.
//! The first failure stops everything: no new chunk starts and in-flight ones roll back.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use futures::StreamExt;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_postgres::Client;

use super::load::{load_chunk, Loaded};
use super::{Cancel, ChunkReady, ExportEvent, Progress};
use crate::config::LoadFormat;
use crate::error::{Error, Result};
use crate::plan::Plan;

/// What loading one chunk did, and whether an earlier command exported that chunk.
type ChunkLoaded = (Loaded, bool);

#[derive(Debug, Default, Clone)]
pub struct TableLoad {
    pub loaded_rows: u64,
    pub loaded_chunks: u64,
    pub skipped_chunks: u64,
    /// Chunks loaded now that an earlier command exported (a resumed or split job).
    pub earlier_export_chunks: u64,
}

struct TableState {
    /// Chunks ready to load, by chunk number: a table loads in key order, so each COPY
    /// appends to the right edge of the table's B-trees (Postgres's fast path).
    pending: BTreeMap<u32, ChunkReady>,
    export_done: bool,
    in_flight: usize,
}

/// The table whose next chunk loads on a free connection: round-robin from `start`
/// over the wave, tables nobody is loading first.
fn pick_table(members: &[usize], start: usize, state: &[TableState]) -> Option<usize> {
    let rotation = || (0..members.len()).map(|k| members[(start + k) % members.len()]);
    rotation()
        .find(|&t| !state[t].pending.is_empty() && state[t].in_flight == 0)
        .or_else(|| rotation().find(|&t| !state[t].pending.is_empty()))
}

pub async fn load_waves(
    plan: Arc<Plan>,
    mut clients: Vec<Client>,
    mut events_rx: mpsc::Receiver<ExportEvent>,
    run_id: Arc<str>,
    progress: Arc<Progress>,
    cancel: Cancel,
    format: LoadFormat,
) -> Result<(Vec<TableLoad>, Vec<Client>)> {
    let n = plan.tables.len();
    let mut state: Vec<TableState> = (0..n)
        .map(|_| TableState {
            pending: BTreeMap::new(),
            export_done: false,
            in_flight: 0,
        })
        .collect();
    let mut loads = vec![TableLoad::default(); n];
    let mut wave = 0;
    let mut events_open = true;
    let mut tasks: JoinSet<(usize, Client, Result<ChunkLoaded>)> = JoinSet::new();
    let mut next_table = 0usize; // round-robin start inside the wave
    loop {
        // Advance past every wave whose tables are fully exported and loaded.
        while wave < plan.waves.len()
            && plan.waves[wave].iter().all(|&t| {
                state[t].export_done && state[t].pending.is_empty() && state[t].in_flight == 0
            })
        {
            tracing::info!(wave = wave + 1, of = plan.waves.len(), "wave loaded");
            wave += 1;
        }
        if wave == plan.waves.len() {
            break;
        }
        // Start chunks of the current wave while connections are free: first tables no
        // connection is loading (two COPY streams into one table contend for its index
        // pages and defeat the right-edge fast path), then any table with work left.
        let members = &plan.waves[wave];
        while !clients.is_empty() && !cancel.is_tripped() {
            let Some(t) = pick_table(members, next_table, &state) else {
                break;
            };
            next_table = next_table.wrapping_add(1);
            let Some((_, chunk)) = state[t].pending.pop_first() else {
                break;
            };
            state[t].in_flight += 1;
            let mut client = clients.pop().expect("checked a free client");
            let (plan, run_id) = (plan.clone(), run_id.clone());
            tasks.spawn(async move {
                let r = load_chunk(&mut client, &plan.tables[t], &chunk, &run_id, format).await;
                (t, client, r.map(|loaded| (loaded, chunk.earlier_export)))
            });
        }
        tokio::select! {
            ev = events_rx.recv(), if events_open => match ev {
                Some(ExportEvent::Chunk(c)) => {
                    state[c.table].pending.insert(c.chunk, c);
                }
                Some(ExportEvent::TableDone { table }) => state[table].export_done = true,
                None => {
                    events_open = false;
                    if state.iter().any(|s| !s.export_done) {
                        // The export side stopped early; it reports why.
                        cancel.trip();
                        return Err(Error::cancelled());
                    }
                }
            },
            Some(done) = tasks.join_next(), if !tasks.is_empty() => {
                let (t, client, r) = done.map_err(Error::panicked)?;
                state[t].in_flight -= 1;
                clients.push(client);
                match r {
                    Ok((Loaded::Rows(rows), earlier)) => {
                        loads[t].loaded_rows += rows;
                        loads[t].loaded_chunks += 1;
                        loads[t].earlier_export_chunks += u64::from(earlier);
                        progress.rows_loaded.fetch_add(rows, Ordering::Relaxed);
                        progress.chunks_loaded.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok((Loaded::Skipped, _)) => loads[t].skipped_chunks += 1,
                    Err(e) => {
                        cancel.trip();
                        tasks.abort_all(); // dropped connections roll their transactions back
                        return Err(e);
                    }
                }
            },
            else => {
                if cancel.is_tripped() {
                    return Err(Error::cancelled());
                }
                return Err(Error::internal("loader stalled: no chunk pending and no export running"));
            }
        }
    }
    Ok((loads, clients))
}

/// Runs `job` for every item, in order, each on whichever connection is free next. The
/// first error stops new jobs, but the ones already running finish first: a statement
/// abandoned mid-flight would keep running on the server (and hold its locks) while the
/// caller goes on to clean up.
pub async fn on_each_free_client<'c, T, F, Fut>(
    clients: &'c [Client],
    items: Vec<T>,
    job: F,
) -> Result<()>
where
    F: Fn(&'c Client, T) -> Fut,
    Fut: std::future::Future<Output = Result<()>>,
{
    let queue = std::sync::Mutex::new(items.into_iter().collect::<VecDeque<T>>());
    let failed = std::sync::atomic::AtomicBool::new(false);
    let outcomes: Vec<Result<()>> = futures::stream::iter(clients.iter())
        .map(|client| {
            let (queue, job, failed) = (&queue, &job, &failed);
            async move {
                while !failed.load(Ordering::SeqCst) {
                    let next = queue
                        .lock()
                        .map_err(|_| Error::internal("work queue poisoned"))?
                        .pop_front();
                    let Some(item) = next else { break };
                    if let Err(e) = job(client, item).await {
                        failed.store(true, Ordering::SeqCst);
                        return Err(e);
                    }
                }
                Ok(())
            }
        })
        .buffer_unordered(clients.len().max(1))
        .collect()
        .await;
    outcomes.into_iter().collect()
}

/// ANALYZE every loaded table, biggest first, over all connections: the application's
/// first queries after the cut-over get plans from real statistics.
pub async fn analyze_tables(clients: &[Client], plan: &Plan) -> Result<()> {
    let started = std::time::Instant::now();
    let Some(first) = clients.first() else {
        return Ok(());
    };
    // Postgres skips a table the user may not analyze with only a WARNING, which would
    // read as done here (RT trial): those are left out and named.
    let skipped = not_analyzable(first, plan).await?;
    if !skipped.is_empty() {
        tracing::warn!(
            "ANALYZE skipped for {} table(s) the target user may not analyze (it is not their \
             owner, nor holds MAINTAIN on them): {}; run ANALYZE on them as their owner before \
             the application's first queries",
            skipped.len(),
            skipped.join(", ")
        );
    }
    let mut order: Vec<&crate::plan::TablePlan> = plan
        .tables
        .iter()
        .filter(|t| !skipped.contains(&t.target.to_string()))
        .collect();
    let analyzed = order.len();
    order.sort_by_key(|t| std::cmp::Reverse(t.est_bytes));
    on_each_free_client(clients, order, |client, t| async move {
        client
            .batch_execute(&format!("ANALYZE {}", t.target))
            .await
            .map_err(|e| Error::pg(format!("analyze {}", t.target), &e))
    })
    .await?;
    tracing::info!(
        tables = analyzed,
        seconds = format!("{:.2}", started.elapsed().as_secs_f64()),
        "statistics gathered (ANALYZE)"
    );
    Ok(())
}

/// Copied tables the target user may not ANALYZE (as `PgName` text): only a superuser,
/// the owner of the table or of the database, or (PostgreSQL 17) a holder of MAINTAIN may.
pub async fn not_analyzable(client: &Client, plan: &Plan) -> Result<Vec<String>> {
    let names: Vec<String> = plan.tables.iter().map(|t| t.target.to_string()).collect();
    let rows = client
        .query(
            "SELECT n FROM unnest($1::text[]) n \
             WHERE NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) \
               AND NOT pg_has_role((SELECT relowner FROM pg_class WHERE oid = n::regclass), 'USAGE') \
               AND NOT pg_has_role((SELECT datdba FROM pg_database \
                                    WHERE datname = current_database()), 'USAGE') \
               AND NOT CASE WHEN current_setting('server_version_num')::int >= 170000 \
                 THEN has_table_privilege(n::regclass, 'MAINTAIN') ELSE false END",
            &[&names],
        )
        .await
        .map_err(|e| Error::pg("read which tables the target user may analyze", &e))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(table: usize, chunk: u32) -> ChunkReady {
        ChunkReady {
            table,
            chunk,
            path: std::path::PathBuf::new(),
            rows: 1,
            bytes: 1,
            sha256: String::new(),
            xxh3: None,
            earlier_export: false,
        }
    }

    fn table(chunks: &[u32], in_flight: usize) -> TableState {
        TableState {
            pending: chunks.iter().map(|&c| (c, ready(0, c))).collect(),
            export_done: false,
            in_flight,
        }
    }

    #[test]
    fn idle_tables_first_then_any_with_work_and_chunks_in_key_order() {
        // Table 0 is being loaded, 1 has nothing, 2 and 3 have work.
        let mut state = vec![
            table(&[5, 2], 1),
            table(&[], 0),
            table(&[9], 0),
            table(&[4], 0),
        ];
        let members = [0, 1, 2, 3];
        assert_eq!(pick_table(&members, 0, &state), Some(2));
        assert_eq!(pick_table(&members, 3, &state), Some(3));
        state[2].in_flight = 1;
        state[3].in_flight = 1;
        // Everyone with work is busy: a second stream goes to the first in rotation.
        assert_eq!(pick_table(&members, 1, &state), Some(2));
        assert_eq!(pick_table(&members, 0, &state), Some(0));
        // Chunks leave in chunk order whatever order they arrived in.
        assert_eq!(state[0].pending.pop_first().map(|(c, _)| c), Some(2));
        assert_eq!(pick_table(&[1], 0, &state), None);
    }
}
