//! The heartbeat of `import` and `run` on the target. Outside the load (which has its
//! progress ticker) the target work is a few long statements: TRUNCATE, dropping and
//! rebuilding indexes and FKs, VALIDATE, ANALYZE, setval. Each may wait on a lock held
//! by another session for as long as that session lives (my2pg's sessions never time
//! out on locks: a cut-over should wait, not fail). So every few seconds this says
//! which phase is running, for how long, and which backend blocks it, read from
//! `pg_stat_activity` and `pg_blocking_pids()` over a connection of its own.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use crate::secret::Dsn;
use crate::session;

/// The same cadence as the load's progress ticker.
pub const INTERVAL: Duration = Duration::from_secs(5);

/// This run's active backends (found by their application_name, which carries the run
/// id), with how long their statement has run and who blocks it: other sessions, and
/// this run's own (each once: `pg_blocking_pids` repeats a pid per lock). Not the
/// parallel workers of an index build, which carry their leader's name and statement
/// (the h24 trial: one CREATE INDEX named twice).
const ACTIVE_SQL: &str = "\
    SELECT a.pid, coalesce(extract(epoch FROM clock_timestamp() - a.query_start), 0)::float8, \
           left(regexp_replace(a.query, '\\s+', ' ', 'g'), 160), \
           ARRAY(SELECT DISTINCT b FROM unnest(pg_blocking_pids(a.pid)) b \
                 WHERE b NOT IN (SELECT o.pid FROM pg_stat_activity o \
                                 WHERE o.application_name = $1) ORDER BY b), \
           ARRAY(SELECT DISTINCT b FROM unnest(pg_blocking_pids(a.pid)) b \
                 WHERE b IN (SELECT o.pid FROM pg_stat_activity o \
                             WHERE o.application_name = $1) ORDER BY b) \
    FROM pg_stat_activity a \
    WHERE a.application_name = $1 AND a.pid <> pg_backend_pid() AND a.state = 'active' \
      AND a.datname = current_database() AND a.backend_type = 'client backend' \
    ORDER BY a.pid";

struct Phase {
    /// None while loading: the progress ticker speaks, only lock waits are added.
    name: Option<String>,
    since: Instant,
}

/// Logs until dropped.
pub struct Heartbeat {
    phase: Arc<Mutex<Phase>>,
    task: tokio::task::JoinHandle<()>,
}

impl Heartbeat {
    pub fn start(target: &Dsn) -> Heartbeat {
        let phase = Arc::new(Mutex::new(Phase {
            name: None,
            since: Instant::now(),
        }));
        let task = tokio::spawn(watch(target.clone(), phase.clone()));
        Heartbeat { phase, task }
    }

    /// Names the phase that starts now (logged as "<name>: N s so far").
    pub fn phase(&self, name: &str) {
        let mut p = lock(&self.phase);
        p.name = Some(name.to_string());
        p.since = Instant::now();
    }

    /// The load: only backends waiting on a lock are reported.
    pub fn loading(&self) {
        let mut p = lock(&self.phase);
        p.name = None;
        p.since = Instant::now();
    }
}

impl Drop for Heartbeat {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A poisoned phase is still a valid phase (a name and an instant).
fn lock(m: &Mutex<Phase>) -> MutexGuard<'_, Phase> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// One backend of this run, as `pg_stat_activity` shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Backend {
    pub pid: i32,
    pub running_secs: f64,
    pub query: String,
    /// Other sessions holding a lock it waits for.
    pub blocked_by: Vec<i32>,
    /// This run's own sessions holding a lock it waits for (another of its steps on the
    /// same table): nothing for the operator to end.
    pub blocked_by_own: Vec<i32>,
}

async fn watch(target: Dsn, phase: Arc<Mutex<Phase>>) {
    let app = session::pg_application_name();
    let mut client: Option<tokio_postgres::Client> = None;
    let mut tick = tokio::time::interval(INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    tick.tick().await;
    loop {
        tick.tick().await;
        // Reconnects after a lost connection; a failure here never fails the run.
        if client.as_ref().is_none_or(|c| c.is_closed()) {
            match session::pg_connect(&target).await {
                Ok(c) => client = Some(c),
                Err(e) => {
                    tracing::debug!("heartbeat: cannot connect to the target: {e}");
                    continue;
                }
            }
        }
        let Some(c) = client.as_ref() else { continue };
        let backends = match c.query(ACTIVE_SQL, &[&app]).await {
            Ok(rows) => rows
                .iter()
                .map(|r| Backend {
                    pid: r.get(0),
                    running_secs: r.get(1),
                    query: r.get::<_, Option<String>>(2).unwrap_or_default(),
                    blocked_by: r.get::<_, Option<Vec<i32>>>(3).unwrap_or_default(),
                    blocked_by_own: r.get::<_, Option<Vec<i32>>>(4).unwrap_or_default(),
                })
                .collect::<Vec<_>>(),
            Err(e) => {
                tracing::debug!(
                    "heartbeat: cannot read pg_stat_activity: {}",
                    crate::error::pg_reason(&e)
                );
                continue;
            }
        };
        let (name, elapsed) = {
            let p = lock(&phase);
            (p.name.clone(), p.since.elapsed())
        };
        for (waiting, line) in lines(name.as_deref(), elapsed, &backends) {
            if waiting {
                tracing::warn!("{line}");
            } else {
                tracing::info!("{line}");
            }
        }
    }
}

/// What one tick says: (waits on a lock, line). In a named phase, one line per active
/// backend (or one line when none is active); while loading, only lock waits.
pub fn lines(phase: Option<&str>, elapsed: Duration, backends: &[Backend]) -> Vec<(bool, String)> {
    let prefix = match phase {
        Some(p) => format!("{p}: {:.0} s so far", elapsed.as_secs_f64()),
        None => "loading".to_string(),
    };
    let mut out = Vec::new();
    for b in backends {
        let waiting = !b.blocked_by.is_empty();
        let own = !b.blocked_by_own.is_empty();
        if phase.is_none() && !waiting && !own {
            continue;
        }
        let mut line = format!(
            "{prefix}; backend {} running for {:.0} s",
            b.pid, b.running_secs
        );
        let pids = |p: &[i32]| p.iter().map(i32::to_string).collect::<Vec<_>>().join(", ");
        if waiting {
            line.push_str(&format!(
                ", waiting for a lock held by PostgreSQL backend pid(s) {} (my2pg waits until it is released)",
                pids(&b.blocked_by)
            ));
        }
        // The operator-night trial took such a pid for a session to end.
        if own {
            line.push_str(&format!(
                ", {} this run's own backend pid(s) {} (another of its steps on the same \
                 table; it goes on when that one ends)",
                if waiting { "and for" } else { "waiting for" },
                pids(&b.blocked_by_own)
            ));
        }
        line.push_str(&format!(": {}", b.query));
        out.push((waiting, line));
    }
    if out.is_empty() && phase.is_some() {
        out.push((false, prefix));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backend(pid: i32, blocked_by: Vec<i32>) -> Backend {
        Backend {
            pid,
            running_secs: 12.4,
            query: "SELECT setval($1::text::regclass, $2, true)".into(),
            blocked_by,
            blocked_by_own: vec![],
        }
    }

    #[test]
    fn names_the_phase_and_the_blocking_backends() {
        let t = Duration::from_secs(15);
        assert_eq!(
            lines(Some("setting sequences"), t, &[backend(7, vec![42, 43])]),
            vec![(
                true,
                "setting sequences: 15 s so far; backend 7 running for 12 s, waiting for a lock \
                 held by PostgreSQL backend pid(s) 42, 43 (my2pg waits until it is released): \
                 SELECT setval($1::text::regclass, $2, true)"
                    .to_string()
            )]
        );
        assert_eq!(
            lines(Some("analyzing"), t, &[]),
            vec![(false, "analyzing: 15 s so far".to_string())]
        );
        assert_eq!(
            lines(Some("analyzing"), t, &[backend(7, vec![])])[0].1,
            "analyzing: 15 s so far; backend 7 running for 12 s: SELECT setval($1::text::regclass, $2, true)"
        );
        // While loading only a lock wait is news.
        assert!(lines(None, t, &[backend(7, vec![])]).is_empty());
        assert_eq!(lines(None, t, &[backend(7, vec![9])]).len(), 1);
        // A wait on this run's own session is told apart: nothing to end.
        let own = Backend {
            blocked_by_own: vec![8],
            ..backend(7, vec![])
        };
        assert_eq!(
            lines(None, t, std::slice::from_ref(&own)),
            vec![(
                false,
                "loading; backend 7 running for 12 s, waiting for this run's own backend \
                 pid(s) 8 (another of its steps on the same table; it goes on when that one \
                 ends): SELECT setval($1::text::regclass, $2, true)"
                    .to_string()
            )]
        );
        let both = Backend {
            blocked_by: vec![42],
            ..own
        };
        assert!(lines(None, t, &[both])[0].1.contains(
            "waiting for a lock held by PostgreSQL backend pid(s) 42 (my2pg waits until it is \
             released), and for this run's own backend pid(s) 8 (another"
        ));
    }
}
