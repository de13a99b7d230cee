//! Durability (issue 5): deterministic exports, resumable exports, exactly-once imports,
//! SIGKILL at random points of `export`/`import`/`run` followed by a resume, SIGTERM and
//! SIGINT, the work-directory lock, the disk-space check, `status`, the source snapshot
//! seen by several readers, the run id on every log line, the heartbeat naming a backend
//! that blocks the steps after the load, and `status` telling a finished run from one
//! killed before its sequences.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::common::{sha256_hex, wait4, write_edited_manifest, TestEnv, TestOutput};

// ---- running my2pg as a child we can signal ----------------------------------------

/// A my2pg process started in the background, so the test can kill or signal it.
struct Running {
    child: Child,
    args: Vec<String>,
    config: PathBuf,
    workdir: PathBuf,
    out: Option<JoinHandle<Vec<u8>>>,
    err: Option<JoinHandle<Vec<u8>>>,
    /// stderr as read so far, for tests that wait for a log line.
    err_live: Arc<std::sync::Mutex<Vec<u8>>>,
}

/// Starts `my2pg <args> --config <config>` with the same environment hygiene as the
/// harness (nothing from the developer's shell leaks in; stdin is not a terminal).
fn spawn(config: &Path, workdir: &Path, args: &[&str]) -> Running {
    let mut cmd = crate::common::my2pg_command(args, config);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", env!("CARGO_BIN_EXE_my2pg")));
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let err_live = Arc::new(std::sync::Mutex::new(Vec::new()));
    let live = err_live.clone();
    let err = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = err.read(&mut buf) {
            if n == 0 {
                break;
            }
            live.lock().unwrap().extend_from_slice(&buf[..n]);
        }
        let v = live.lock().unwrap().clone();
        v
    });
    Running {
        child,
        args: args.iter().map(|s| s.to_string()).collect(),
        config: config.to_path_buf(),
        workdir: workdir.to_path_buf(),
        out: Some(out),
        err: Some(err),
        err_live,
    }
}

impl Running {
    fn stderr_so_far(&self) -> String {
        String::from_utf8_lossy(&self.err_live.lock().unwrap()).into_owned()
    }

    /// Peeks without reaping (WNOWAIT): `finish` reaps the child with wait4, which also
    /// reads its peak RSS; std's `try_wait` would reap a child that just exited, and that
    /// wait4 then failed with ECHILD.
    fn is_running(&mut self) -> bool {
        // SAFETY: waitid on our own child with a zeroed, valid siginfo out-pointer.
        let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                self.child.id() as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            )
        };
        assert_eq!(rc, 0, "waitid({})", self.child.id());
        // SAFETY: si_pid is set by waitid (0 while the child runs).
        unsafe { info.si_pid() == 0 }
    }

    /// SIGKILL (std's `Child::kill`).
    fn kill(&mut self) {
        let _ = self.child.kill();
    }

    fn signal(&self, sig: libc::c_int) {
        // SAFETY: plain kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(self.child.id() as libc::pid_t, sig) };
        assert_eq!(rc, 0, "kill({}, {sig}) failed", self.child.id());
    }

    /// Waits for the process (at most `timeout`, then SIGKILL and fail).
    fn finish(mut self, timeout: Duration) -> TestOutput {
        let start = Instant::now();
        let mut timed_out = false;
        let pid = self.child.id() as libc::pid_t;
        let (status, peak_rss_kb) = loop {
            if let Some(done) = wait4(pid, libc::WNOHANG) {
                break done;
            }
            if start.elapsed() > timeout {
                let _ = self.child.kill();
                timed_out = true;
                break wait4(pid, 0).expect("a blocking wait4 returns the child");
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        let stdout = self.out.take().unwrap().join().unwrap();
        let stderr = self.err.take().unwrap().join().unwrap();
        let out = TestOutput {
            args: std::mem::take(&mut self.args),
            config: self.config.clone(),
            code: status.code(),
            peak_rss_kb,
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
            workdir: self.workdir.clone(),
        };
        if timed_out {
            out.fail(&format!("my2pg did not finish within {timeout:?}"));
        }
        out
    }
}

const TIMEOUT: Duration = Duration::from_secs(60);

/// Runs my2pg to completion with an explicit work directory.
pub(crate) fn my2pg_in(config: &Path, workdir: &Path, args: &[&str]) -> TestOutput {
    let wd = workdir.display().to_string();
    let mut all: Vec<&str> = args.to_vec();
    all.extend(["--workdir", wd.as_str()]);
    spawn(config, workdir, &all).finish(TIMEOUT)
}

/// Fixed-seed PRNG (splitmix64): the same trials on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }
}

// ---- work directory inspection -------------------------------------------------------

/// sha256 of every file under `dir` (relative path -> hash), except the run metadata
/// and the lock file, which are allowed to differ between runs.
pub(crate) fn workdir_hashes(dir: &Path) -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, root, out);
            } else {
                let rel = p.strip_prefix(root).unwrap().display().to_string();
                // Run records, not exported data (loaded.json: which run loaded them).
                if matches!(rel.as_str(), "run.json" | "my2pg.lock" | "loaded.json") {
                    continue;
                }
                out.insert(rel, sha256_hex(&std::fs::read(&p).unwrap()));
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

pub(crate) fn read_manifest(workdir: &Path, table: &str) -> Option<serde_json::Value> {
    let p = workdir.join(table).join("manifest.json");
    let text = std::fs::read_to_string(p).ok()?;
    Some(serde_json::from_str(&text).expect("manifest.json is JSON"))
}

/// Chunk entries listed in the table's manifest.
fn manifest_chunk_count(workdir: &Path, table: &str) -> usize {
    read_manifest(workdir, table)
        .and_then(|m| m["chunks"].as_array().map(Vec::len))
        .unwrap_or(0)
}

/// `*.csv` files in the table's directory.
pub(crate) fn csv_files(workdir: &Path, table: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(workdir.join(table))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".csv"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

// ---- the kill-test dataset -------------------------------------------------------------

const KILL_TABLES: [&str; 3] = ["parent", "child", "events"];

const KILL_SOURCE_DDL: &str = "
CREATE TABLE parent (id int NOT NULL PRIMARY KEY, name varchar(100) NOT NULL,
  created datetime(6) NOT NULL, score decimal(10,2) NULL);
CREATE TABLE child (id int NOT NULL PRIMARY KEY, parent_id int NOT NULL, body text NULL,
  flag tinyint(1) NOT NULL, CONSTRAINT fk_child_parent FOREIGN KEY (parent_id) REFERENCES parent (id));
-- No primary key: read by its unique NOT NULL key.
CREATE TABLE events (code varchar(40) NOT NULL, seq int NOT NULL, payload varchar(200) NULL,
  UNIQUE KEY uq_events_code (code));
";

/// `child` and `events` have neither a primary key nor a unique constraint in the
/// target: a chunk loaded twice would show up as duplicate rows.
const KILL_TARGET_DDL: &str = "
CREATE TABLE parent (id integer PRIMARY KEY, name varchar(100) NOT NULL,
  created timestamp(6) NOT NULL, score numeric(10,2));
CREATE TABLE child (id integer NOT NULL, parent_id integer NOT NULL REFERENCES parent (id),
  body text, flag boolean NOT NULL);
CREATE TABLE events (code text NOT NULL, seq integer NOT NULL, payload text);
";

/// Inserts `n_parent` parents, `n_child` children and `n_events` events (deterministic
/// values with NULLs, quotes, commas and newlines), in multi-row INSERTs.
fn fill_kill_source(env: &TestEnv, n_parent: usize, n_child: usize, n_events: usize) {
    fn batched(env: &TestEnv, head: &str, rows: Vec<String>) {
        for part in rows.chunks(500) {
            env.mysql_exec(&format!("{head} {}", part.join(",")));
        }
    }
    let parents = (1..=n_parent)
        .map(|i| {
            let score = if i % 7 == 0 {
                "NULL".to_string()
            } else {
                format!("'{}.{:02}'", (i * 37) % 100_000, i % 100)
            };
            format!(
                "({i}, 'parent \\'{i}\\', \"x\"', '2024-{:02}-{:02} {:02}:{:02}:{:02}.{:06}', {score})",
                i % 12 + 1,
                i % 28 + 1,
                i % 24,
                i % 60,
                (i * 7) % 60,
                (i * 7919) % 1_000_000
            )
        })
        .collect();
    batched(env, "INSERT INTO parent VALUES", parents);
    let children = (1..=n_child)
        .map(|i| {
            let body = match i % 5 {
                0 => "NULL".to_string(),
                1 => "''".to_string(),
                2 => format!("'line one {i}\\nline two, \"quoted\"'"),
                _ => format!("'body {i} {}'", "y".repeat(i % 40)),
            };
            format!("({i}, {}, {body}, {})", (i * 13) % n_parent + 1, i % 2)
        })
        .collect();
    batched(env, "INSERT INTO child VALUES", children);
    let events = (1..=n_events)
        .map(|i| {
            let payload = if i % 9 == 0 {
                "NULL".to_string()
            } else {
                format!("'payload {i}'")
            };
            // Codes are not in insertion order: the read order is the key's.
            format!(
                "('ev-{:08x}', {i}, {payload})",
                (i as u64 * 2_654_435_761) % (1 << 32)
            )
        })
        .collect();
    batched(env, "INSERT INTO events VALUES", events);
}

type Rows = Vec<Vec<Option<String>>>;

fn kill_source_rows(env: &TestEnv) -> BTreeMap<&'static str, Rows> {
    [
        (
            "parent",
            env.mysql_rows(
                "SELECT id, name, DATE_FORMAT(created, '%Y-%m-%d %H:%i:%s.%f'), CAST(score AS CHAR) \
                 FROM parent ORDER BY id",
            ),
        ),
        (
            "child",
            env.mysql_rows("SELECT id, parent_id, body, flag FROM child ORDER BY id"),
        ),
        (
            "events",
            env.mysql_rows("SELECT code, seq, payload FROM events ORDER BY code"),
        ),
    ]
    .into()
}

fn kill_target_rows(env: &TestEnv) -> BTreeMap<&'static str, Rows> {
    [
        (
            "parent",
            env.pg_rows(
                "SELECT id::text AS i, name, to_char(created, 'YYYY-MM-DD HH24:MI:SS.US'), \
                 score::text AS s FROM parent ORDER BY parent.id",
            ),
        ),
        (
            "child",
            env.pg_rows(
                "SELECT id::text AS i, parent_id::text AS p, body, flag::int::text AS f FROM child \
                 ORDER BY child.id, child.parent_id, child.body, child.flag",
            ),
        ),
        (
            "events",
            env.pg_rows(
                "SELECT code, seq::text AS s, payload FROM events \
                 ORDER BY events.code, events.seq, events.payload",
            ),
        ),
    ]
    .into()
}

/// Describes how two table snapshots differ (first differing row, counts).
fn diff_rows(expected: &BTreeMap<&str, Rows>, actual: &BTreeMap<&str, Rows>) -> Option<String> {
    let mut s = String::new();
    for (t, e) in expected {
        let a = &actual[t];
        if a == e {
            continue;
        }
        let first = e
            .iter()
            .zip(a.iter())
            .position(|(x, y)| x != y)
            .unwrap_or(e.len().min(a.len()));
        let _ = writeln!(
            s,
            "table {t}: expected {} rows, got {}; first difference at row {first}: expected {:?}, got {:?}",
            e.len(),
            a.len(),
            e.get(first),
            a.get(first)
        );
    }
    (!s.is_empty()).then_some(s)
}

/// The ledger invariants: every chunk file is in the ledger exactly once and nothing else is.
/// Returns an explanation when they do not hold.
fn ledger_problem(env: &TestEnv, workdir: &Path, source: &BTreeMap<&str, Rows>) -> Option<String> {
    let got = env.pg_rows(
        "SELECT table_name, count(*)::text AS n, count(DISTINCT chunk)::text AS d, \
         sum(rows)::text AS r, min(chunk)::text AS lo, max(chunk)::text AS hi \
         FROM my2pg.loaded_chunks WHERE schema_name = 'public' GROUP BY table_name \
         UNION ALL SELECT '*', count(*)::text, count(DISTINCT (table_name, chunk))::text, \
         coalesce(sum(rows), 0)::text, '', '' FROM my2pg.loaded_chunks ORDER BY 1",
    );
    let mut want: Rows = Vec::new();
    let mut files = 0;
    for t in KILL_TABLES {
        let n = csv_files(workdir, t).len();
        files += n;
        want.push(vec![
            Some(t.to_string()),
            Some(n.to_string()),
            Some(n.to_string()),
            Some(source[t].len().to_string()),
            Some("1".to_string()),
            Some(n.to_string()),
        ]);
    }
    let rows: usize = source.values().map(Vec::len).sum();
    want.push(vec![
        Some("*".to_string()),
        Some(files.to_string()),
        Some(files.to_string()),
        Some(rows.to_string()),
        Some(String::new()),
        Some(String::new()),
    ]);
    want.sort();
    (got != want).then(|| {
        format!(
            "ledger (table, count(*), count(distinct chunk), sum(rows), min, max; '*' = all, \
             distinct (table_name, chunk)) is\n  {got:?}\nexpected (from the chunk files and the source)\n  {want:?}"
        )
    })
}

/// One query: per table its row count and the md5 of all its rows as text in key order
/// (child and events have no key in the target: duplicates change both).
fn target_fingerprint(env: &TestEnv) -> Rows {
    env.pg_rows(
        "SELECT 'parent', count(*)::text, md5(coalesce(string_agg(format('%s|%L|%s|%L', id, name, \
           to_char(created, 'YYYY-MM-DD HH24:MI:SS.US'), score), E'\\n' ORDER BY id), '')) FROM parent \
         UNION ALL SELECT 'child', count(*)::text, md5(coalesce(string_agg(format('%s|%s|%L|%s', id, \
           parent_id, body, flag), E'\\n' ORDER BY id, parent_id, body, flag), '')) FROM child \
         UNION ALL SELECT 'events', count(*)::text, md5(coalesce(string_agg(format('%L|%s|%L', code, \
           seq, payload), E'\\n' ORDER BY code, seq, payload), '')) FROM events",
    )
}

/// The target's constraints (with their validation state) and indexes: a run that
/// drops constraints or indexes for the load must leave them exactly as they were,
/// whatever killed it in between, once the same command has been run again.
fn target_schema(env: &TestEnv) -> Rows {
    env.pg_rows(
        "SELECT conrelid::regclass::text AS t, conname::text AS n, pg_get_constraintdef(oid) AS d, \
           convalidated::text AS v FROM pg_constraint WHERE connamespace = 'public'::regnamespace \
         UNION ALL SELECT tablename::text, indexname::text, indexdef, '' FROM pg_indexes \
           WHERE schemaname = 'public' ORDER BY 1, 2",
    )
}

/// Every keyed table is split into two key ranges, so kills also land while two readers
/// fill one table's manifest out of order (the keyless `events` is never split).
fn kill_config(env: &TestEnv) -> PathBuf {
    env.write_config(
        "[run]\nchunk_rows = 100\nsplit_tables_larger_than = 1\n\n[workers]\nreaders = 2\nloaders = 2\n",
    )
}

fn reset_target(env: &TestEnv) {
    env.pg_exec(
        "TRUNCATE parent, child, events; \
         DO $$ BEGIN IF to_regclass('my2pg.loaded_chunks') IS NOT NULL THEN \
         DELETE FROM my2pg.loaded_chunks; END IF; END $$;",
    );
}

fn reset_dir(dir: &Path) {
    if dir.exists() {
        std::fs::remove_dir_all(dir).unwrap();
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Cmd {
    Export,
    Import,
    Run,
}

impl Cmd {
    fn name(self) -> &'static str {
        match self {
            Cmd::Export => "export",
            Cmd::Import => "import",
            Cmd::Run => "run",
        }
    }
}

#[derive(Default, Debug)]
struct KillStats {
    trials: u32,
    /// The process was still running when SIGKILL hit it (it died of the signal).
    killed_running: u32,
    /// ... and had already done part of its work (chunks written or loaded, not all).
    killed_partway: u32,
    /// The process had already finished (successfully) when the kill came.
    finished_first: u32,
    /// Resumes that were themselves killed (a second SIGKILL in the same trial).
    killed_resumes: u32,
    /// Leftover `.tmp` files found right after a kill.
    tmp_left: u32,
    /// Resume invocations (the same command run again until it succeeded).
    resumes: u32,
    /// Trials killed once some chunks were done (the others: after a random delay).
    progress_trials: u32,
    /// Kill delays were drawn from 0..d, d between these (the measured duration).
    duration_min_ms: u64,
    duration_ms: u64,
    ms: u128,
}

/// Progress a killed process left behind: (chunks listed in manifests, chunks in the ledger).
fn progress_after_kill(env: &TestEnv, workdir: &Path) -> (usize, i64) {
    let listed = KILL_TABLES
        .iter()
        .map(|t| manifest_chunk_count(workdir, t))
        .sum();
    let loaded = env
        .pg_value(
            "SELECT (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'my2pg' AND c.relname = 'loaded_chunks')::text",
        )
        .filter(|n| n != "0")
        .map_or(0, |_| {
            env.pg_value("SELECT count(*)::text FROM my2pg.loaded_chunks")
                .unwrap()
                .parse()
                .unwrap()
        });
    (listed, loaded)
}

/// Right after a kill: every manifest parses, and every chunk it lists is on disk with
/// exactly the recorded bytes and sha256 (a manifest never vouches for a partial file).
fn manifest_problem(workdir: &Path) -> Option<String> {
    let mut s = String::new();
    for t in KILL_TABLES {
        let path = workdir.join(t).join("manifest.json");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        let m: serde_json::Value = match serde_json::from_str(&text) {
            Ok(m) => m,
            Err(e) => {
                let _ = writeln!(s, "{}: not JSON ({e})", path.display());
                continue;
            }
        };
        for c in m["chunks"].as_array().into_iter().flatten() {
            let file = workdir.join(t).join(c["file"].as_str().unwrap_or("?"));
            match std::fs::read(&file) {
                Ok(data)
                    if Some(data.len() as u64) == c["bytes"].as_u64()
                        && Some(sha256_hex(&data).as_str()) == c["sha256"].as_str() => {}
                Ok(data) => {
                    let _ = writeln!(
                        s,
                        "{} does not match its manifest entry: {} bytes and sha256 {} on disk, \
                         {} bytes and sha256 {} listed",
                        file.display(),
                        data.len(),
                        sha256_hex(&data),
                        c["bytes"],
                        c["sha256"]
                    );
                }
                Err(e) => {
                    let _ = writeln!(s, "{} is listed but cannot be read: {e}", file.display());
                }
            }
        }
    }
    (!s.is_empty()).then_some(s)
}

pub(crate) fn count_tmp_files(dir: &Path) -> u32 {
    let mut n = 0;
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                n += count_tmp_files(&p);
            } else if p.to_string_lossy().ends_with(".tmp") {
                n += 1;
            }
        }
    }
    n
}

/// A persistent target connection for polling the ledger while my2pg runs.
struct LedgerPoll {
    rt: tokio::runtime::Runtime,
    client: tokio_postgres::Client,
}

impl LedgerPoll {
    fn new(url: &str) -> LedgerPoll {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let client = rt.block_on(async {
            let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(async move {
                let _ = conn.await;
            });
            client
        });
        LedgerPoll { rt, client }
    }

    fn count(&self) -> usize {
        self.rt.block_on(async {
            let row = self
                .client
                .query_one("SELECT count(*) FROM my2pg.loaded_chunks", &[])
                .await
                .unwrap();
            row.get::<_, i64>(0) as usize
        })
    }
}

const KILL_TRIALS: u32 = 20;

/// `KILL_TRIALS` trials of one command in its own pair of databases: SIGKILL after a
/// random delay, resume until success, check the target, the ledger and the files.
fn kill_trials(cmd: Cmd, seed: u64) -> (KillStats, Vec<String>) {
    let env = TestEnv::new(&format!("kill_{}", cmd.name()));
    env.mysql_exec(KILL_SOURCE_DDL);
    fill_kill_source(&env, 1000, 2000, 1000);
    env.pg_exec(KILL_TARGET_DDL);
    let cfg = kill_config(&env);
    let source = kill_source_rows(&env);
    let total_chunks: usize = source.values().map(|r| r.len().div_ceil(100)).sum();
    let schema = target_schema(&env);

    // Reference: an uninterrupted export and import, checked row by row.
    let reference = env.dir.join("work_ref");
    let timed = |wd: &Path, args: &[&str]| {
        let t0 = Instant::now();
        my2pg_in(&cfg, wd, args).assert_ok();
        t0.elapsed().as_millis() as u64
    };
    let t0 = Instant::now();
    let out = my2pg_in(&cfg, &reference, &["export"]);
    out.assert_ok();
    let mut durations = vec![t0.elapsed().as_millis() as u64];
    for t in ["parent", "child"] {
        out.assert_stderr_contains(&format!("split into key ranges table={t} ranges=2"));
    }
    let import_ms = timed(&reference, &["import"]);
    assert_eq!(diff_rows(&source, &kill_target_rows(&env)), None);
    assert_eq!(ledger_problem(&env, &reference, &source), None);
    assert_eq!(target_schema(&env), schema);
    let fingerprint = target_fingerprint(&env);
    let reference_files = workdir_hashes(&reference);
    let csvs = reference_files.keys().filter(|k| k.ends_with(".csv"));
    assert_eq!(csvs.count(), total_chunks);
    // The normal duration of the command under test (the faster of two runs).
    match cmd {
        Cmd::Export => {
            durations.push(timed(&env.workdir, &["export"]));
            assert_eq!(workdir_hashes(&env.workdir), reference_files);
        }
        Cmd::Import => {
            durations = vec![import_ms];
            reset_target(&env);
            durations.push(timed(&reference, &["import"]));
        }
        Cmd::Run => {
            durations.clear();
            for _ in 0..2 {
                reset_target(&env);
                reset_dir(&env.workdir);
                durations.push(timed(&env.workdir, &["run"]));
                assert_eq!(target_fingerprint(&env), fingerprint);
            }
        }
    }
    // Kill delays are drawn from 0..duration: the faster of the two runs at first, then
    // the median of the last uninterrupted full runs (a resume after a kill that left
    // nothing done is one), so the delays follow the machine's current speed.
    let mut duration = *durations.iter().min().unwrap();
    let workdir = if cmd == Cmd::Import {
        reference.clone()
    } else {
        env.workdir.clone()
    };

    let poll = LedgerPoll::new(&env.pg_owner_url());
    let mut rng = Rng(seed);
    let mut st = KillStats {
        duration_ms: duration,
        ..KillStats::default()
    };
    let mut delays: Vec<u64> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let started = Instant::now();
    for trial in 0..KILL_TRIALS {
        reset_target(&env);
        if cmd != Cmd::Import {
            reset_dir(&workdir);
        }
        // Even trials: SIGKILL after a random delay in 0..duration (much of which is
        // start-up: catalogs, connections, the snapshot). Odd trials: SIGKILL once a
        // random number of chunks is done (written for export, loaded otherwise), plus
        // 0..10 ms, so that kills also land all over the work itself.
        let by_progress = trial % 2 == 1;
        let mut p = spawn_in(&cfg, &workdir, cmd.name());
        let t0 = Instant::now();
        let what = if by_progress {
            st.progress_trials += 1;
            let k = 1 + rng.below(total_chunks as u64 - 1) as usize;
            let jitter = rng.below(10);
            while p.is_running() && t0.elapsed() < TIMEOUT {
                let done = match cmd {
                    Cmd::Export => KILL_TABLES
                        .iter()
                        .map(|t| csv_files(&workdir, t).len())
                        .sum::<usize>(),
                    Cmd::Import | Cmd::Run => poll.count(),
                };
                if done >= k {
                    break;
                }
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::sleep(Duration::from_millis(jitter));
            format!(
                "{} trial {trial} (SIGKILL after {k} chunks + {jitter} ms, at {} ms)",
                cmd.name(),
                t0.elapsed().as_millis()
            )
        } else {
            let delay = rng.below(duration);
            delays.push(duration);
            std::thread::sleep(Duration::from_millis(delay));
            format!("{} trial {trial} (SIGKILL after {delay} ms)", cmd.name())
        };
        p.kill();
        let killed = p.finish(TIMEOUT);
        st.trials += 1;
        match killed.code {
            None => st.killed_running += 1,
            Some(0) => st.finished_first += 1,
            Some(_) => failures.push(format!(
                "{what}: exited on its own before the kill, with {:?}:\n{}",
                killed.code, killed.stderr
            )),
        }
        st.tmp_left += count_tmp_files(&workdir);
        if let Some(d) = manifest_problem(&workdir) {
            failures.push(format!("{what}: right after the kill: {d}"));
        }
        let (listed, loaded) = progress_after_kill(&env, &workdir);
        let partway = match cmd {
            Cmd::Export => listed > 0 && listed < total_chunks,
            Cmd::Import | Cmd::Run => loaded > 0 && (loaded as usize) < total_chunks,
        };
        if killed.code.is_none() && partway {
            st.killed_partway += 1;
        }
        let nothing_done = match cmd {
            Cmd::Export => listed == 0,
            Cmd::Import => loaded == 0,
            Cmd::Run => listed == 0 && loaded == 0,
        };
        // One resume in four is itself killed at a random moment first.
        let kill_resume = rng.below(4) == 0;
        if kill_resume {
            let mut p = spawn_in(&cfg, &workdir, cmd.name());
            std::thread::sleep(Duration::from_millis(rng.below(duration)));
            p.kill();
            if p.finish(TIMEOUT).code.is_none() {
                st.killed_resumes += 1;
            }
        }
        // Resume: the same command again until it succeeds (at most 3 times).
        let mut resumed = false;
        for attempt in 1..=3 {
            st.resumes += 1;
            let t0 = Instant::now();
            let out = my2pg_in(&cfg, &workdir, &[cmd.name()]);
            if out.code == Some(0) {
                if nothing_done && !kill_resume && attempt == 1 {
                    durations.push(t0.elapsed().as_millis() as u64);
                    let mut last: Vec<u64> = durations.iter().rev().take(5).copied().collect();
                    last.sort();
                    duration = last[last.len() / 2];
                }
                resumed = true;
                break;
            }
            failures.push(format!(
                "{what}: resume #{attempt} exited {:?}:\n{}",
                out.code, out.stderr
            ));
        }
        if !resumed {
            continue;
        }
        if cmd == Cmd::Export {
            let out = my2pg_in(&cfg, &workdir, &["import"]);
            if out.code != Some(0) {
                failures.push(format!(
                    "{what}: import after the resumed export exited {:?}:\n{}",
                    out.code, out.stderr
                ));
                continue;
            }
        }
        if target_fingerprint(&env) != fingerprint {
            let d = diff_rows(&source, &kill_target_rows(&env));
            failures.push(format!(
                "{what}: the target differs from the source:\n{}",
                d.unwrap_or_else(|| "(same rows, other fingerprint?)".into())
            ));
        }
        if let Some(d) = ledger_problem(&env, &workdir, &source) {
            failures.push(format!("{what}: {d}"));
        }
        let now = target_schema(&env);
        if now != schema {
            failures.push(format!(
                "{what}: the target's constraints/indexes changed:\n  before: {schema:?}\n  after:  {now:?}"
            ));
        }
        if cmd != Cmd::Import {
            let files = workdir_hashes(&workdir);
            if files != reference_files {
                let differing: Vec<&String> = reference_files
                    .keys()
                    .chain(files.keys())
                    .filter(|k| reference_files.get(*k) != files.get(*k))
                    .collect();
                failures.push(format!(
                    "{what}: the resumed work directory differs from an uninterrupted export in {differing:?}"
                ));
            }
        }
    }
    st.ms = started.elapsed().as_millis();
    st.duration_ms = *delays.iter().max().unwrap();
    st.duration_min_ms = *delays.iter().min().unwrap();
    (st, failures)
}

/// The heart of issue 5: SIGKILL `export`, `import` and `run` at random moments (20
/// trials each, fixed seeds; the three commands run side by side in their own
/// databases), resume by running the same command again, and check that the target
/// equals the source, every chunk is in the ledger exactly once and no row arrived twice.
#[test]
fn sigkill_at_random_points_then_resume_is_exact() {
    let started = Instant::now();
    let workers: Vec<_> = [
        (Cmd::Export, 0x6d79_3270_6721_0001u64),
        (Cmd::Import, 0x6d79_3270_6721_0002),
        (Cmd::Run, 0x6d79_3270_6721_0003),
    ]
    .into_iter()
    .map(|(cmd, seed)| (cmd, std::thread::spawn(move || kill_trials(cmd, seed))))
    .collect();
    let mut results = Vec::new();
    for (cmd, h) in workers {
        match h.join() {
            Ok(r) => results.push((cmd, r)),
            Err(e) => std::panic::resume_unwind(e),
        }
    }
    let mut summary = format!(
        "kill test: {:.1} s in all\n",
        started.elapsed().as_secs_f64()
    );
    for (cmd, (st, _)) in &results {
        let _ = writeln!(
            summary,
            "  {}: {} trials ({} by progress, the others after a delay in 0..d, d = {}..{} ms), {} killed while running ({} after part of the \
             work was done), {} had finished before the kill, {} resumes killed too, \
             {} .tmp files left by kills, {} resume runs, {:.1} s of trials",
            cmd.name(),
            st.trials,
            st.progress_trials,
            st.duration_min_ms,
            st.duration_ms,
            st.killed_running,
            st.killed_partway,
            st.finished_first,
            st.killed_resumes,
            st.tmp_left,
            st.resumes,
            st.ms as f64 / 1000.0
        );
    }
    eprintln!("{summary}");
    let failures: Vec<&String> = results.iter().flat_map(|(_, (_, f))| f).collect();
    assert!(
        failures.is_empty(),
        "{} failure(s) after SIGKILL + resume:\n{}\n{summary}",
        failures.len(),
        failures
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join("\n")
    );
    for (cmd, (st, _)) in &results {
        assert!(
            st.trials >= KILL_TRIALS,
            "{}: only {} trials",
            cmd.name(),
            st.trials
        );
        assert!(
            st.killed_running * 2 > st.trials,
            "{}: most trials must kill a running process:\n{summary}",
            cmd.name()
        );
    }
}

fn spawn_in(config: &Path, workdir: &Path, command: &str) -> Running {
    let wd = workdir.display().to_string();
    spawn(config, workdir, &[command, "--workdir", wd.as_str()])
}

// ---- deterministic export ------------------------------------------------------------

/// Three read keys: a primary key, a unique NOT NULL key (the nullable unique key must
/// not be chosen), and none at all (ordered by every column, with duplicate rows).
const KEYS_SOURCE: &str = "
CREATE TABLE keyed (id int NOT NULL PRIMARY KEY, name varchar(50) NULL, at datetime(6) NULL);
CREATE TABLE uniq (maybe int NULL, code varchar(20) NOT NULL, qty int NOT NULL,
  UNIQUE KEY uq_maybe (maybe), UNIQUE KEY uq_code (code));
CREATE TABLE nokey (a int NOT NULL, b varchar(20) NULL);
";

const KEYS_TARGET: &str = "
CREATE TABLE keyed (id integer PRIMARY KEY, name text, at timestamp(6));
CREATE TABLE uniq (maybe integer UNIQUE, code text NOT NULL UNIQUE, qty integer NOT NULL);
CREATE TABLE nokey (a integer NOT NULL, b text);
";

fn fill_keys_source(env: &TestEnv) {
    let keyed: Vec<String> = (1..=23)
        .map(|i| {
            format!(
                "({i}, {}, '2023-05-{:02} 10:00:{:02}.{:06}')",
                if i % 4 == 0 {
                    "NULL".to_string()
                } else {
                    format!("'n,\"{i}\"\\n'")
                },
                i % 28 + 1,
                i % 60,
                i * 1013
            )
        })
        .collect();
    // Codes inserted out of key order; `maybe` is NULL on several rows.
    let uniq: Vec<String> = (1..=17)
        .map(|i| {
            format!(
                "({}, 'c{:03}', {i})",
                if i % 3 == 0 {
                    "NULL".to_string()
                } else {
                    (100 - i).to_string()
                },
                (i * 7) % 17
            )
        })
        .collect();
    // Duplicate rows and NULLs: only the whole row orders them.
    let nokey: Vec<String> = (1..=19)
        .map(|i| {
            format!(
                "({}, {})",
                i % 5,
                if i % 6 == 0 {
                    "NULL".to_string()
                } else {
                    format!("'b{}'", i % 3)
                }
            )
        })
        .collect();
    env.mysql_exec(&format!(
        "INSERT INTO keyed VALUES {}; INSERT INTO uniq VALUES {}; INSERT INTO nokey VALUES {}",
        keyed.join(","),
        uniq.join(","),
        nokey.join(",")
    ));
}

#[test]
fn export_is_byte_identical_and_keys_are_chosen_as_documented() {
    let env = TestEnv::new("determ");
    env.mysql_exec(KEYS_SOURCE);
    fill_keys_source(&env);
    env.pg_exec(KEYS_TARGET);
    let cfg = env.write_config("[run]\nchunk_rows = 4\n\n[workers]\nreaders = 2\n");

    let plan = env.cmd(&cfg, &["plan", "--json"]).run();
    plan.assert_ok();
    let report = plan.json();
    let keys: BTreeMap<String, Vec<String>> = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["target"].as_str().unwrap().to_string(),
                serde_json::from_value(t["key"].clone()).unwrap(),
            )
        })
        .collect();
    assert_eq!(keys["keyed"], ["id"], "{report:#}");
    assert_eq!(
        keys["uniq"],
        ["code"],
        "the unique NOT NULL key: {report:#}"
    );
    assert_eq!(keys["nokey"], ["a", "b"], "every column: {report:#}");
    let no_pk: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| w["kind"] == "no_primary_key")
        .map(|w| w["table"].as_str().unwrap())
        .collect();
    assert_eq!(no_pk, ["nokey"], "no_primary_key warnings: {report:#}");

    let a = env.dir.join("work_a");
    let b = env.dir.join("work_b");
    my2pg_in(&cfg, &a, &["export"]).assert_ok();
    my2pg_in(&cfg, &b, &["export"]).assert_ok();
    let ha = workdir_hashes(&a);
    let hb = workdir_hashes(&b);
    for t in ["keyed", "uniq", "nokey"] {
        assert!(
            ha.contains_key(&format!("{t}/manifest.json")),
            "no manifest for {t}: {ha:#?}"
        );
        assert!(
            csv_files(&a, t).len() >= 4,
            "{t}: expected several chunks, got {:?}",
            csv_files(&a, t)
        );
    }
    assert_eq!(ha, hb, "two exports of the same source and config differ");
    // run.json is run metadata: it exists, and is the only file allowed to differ.
    assert!(a.join("run.json").is_file() && b.join("run.json").is_file());

    // The same bytes with other worker counts (parallelism must not leak into the data).
    let cfg1 = env.write_config_as(
        "one.toml",
        "public",
        &env.workdir,
        "[run]\nchunk_rows = 4\n\n[workers]\nreaders = 1\nconverters = 1\nloaders = 1\n",
    );
    let c = env.dir.join("work_c");
    my2pg_in(&cfg1, &c, &["export"]).assert_ok();
    assert_eq!(
        workdir_hashes(&c),
        ha,
        "readers = 1 / converters = 1 gives other bytes than readers = 2"
    );

    // The uniq table's chunks end at its code key, and its rows are in code order.
    let m = read_manifest(&a, "uniq").unwrap();
    let last = &m["chunks"][0]["last_key"];
    assert_eq!(
        last,
        &serde_json::json!([{ "hex": hex_of("c003") }]),
        "uniq chunk 1 must end at code c003: {m:#}"
    );
    // And the whole thing loads to exactly the source.
    my2pg_in(&cfg, &a, &["import"]).assert_ok();
    assert_eq!(
        env.pg_rows("SELECT code, qty::text AS q, maybe::text AS m FROM uniq ORDER BY uniq.code"),
        env.mysql_rows("SELECT code, qty, maybe FROM uniq ORDER BY code")
    );
    assert_eq!(
        env.pg_rows("SELECT a::text AS x, b FROM nokey ORDER BY nokey.a, nokey.b"),
        env.mysql_rows("SELECT a, b FROM nokey ORDER BY a, b IS NULL, b")
    );
}

fn hex_of(s: &str) -> String {
    crate::common::hex(s.as_bytes())
}

// ---- resumable export ----------------------------------------------------------------

const OLD: Duration = Duration::from_secs(1_000_000_000); // 2001-09-09

/// Sets every chunk file's mtime to 2001, so files a later export rewrites stand out.
pub(crate) fn age_chunk_files(workdir: &Path, table: &str) {
    for f in csv_files(workdir, table) {
        let file = std::fs::File::options()
            .write(true)
            .open(workdir.join(table).join(&f))
            .unwrap();
        file.set_modified(std::time::UNIX_EPOCH + OLD).unwrap();
    }
}

/// Chunk files of `table` that still carry the 2001 mtime (kept, not rewritten).
pub(crate) fn kept_chunk_files(workdir: &Path, table: &str) -> Vec<String> {
    csv_files(workdir, table)
        .into_iter()
        .filter(|f| {
            let md = std::fs::metadata(workdir.join(table).join(f)).unwrap();
            md.mtime() == OLD.as_secs() as i64
        })
        .collect()
}

/// Rewrites a manifest as an interrupted export would have left it: only the first
/// `keep` chunks, not complete.
fn truncate_manifest(workdir: &Path, table: &str, keep: usize) {
    let path = workdir.join(table).join("manifest.json");
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    m["chunks"].as_array_mut().unwrap().truncate(keep);
    m["complete"] = serde_json::Value::Bool(false);
    write_edited_manifest(&path, &mut m);
}

#[test]
fn export_resumes_after_the_last_verified_chunk() {
    let env = TestEnv::new("resume_exp");
    env.mysql_exec(KEYS_SOURCE);
    fill_keys_source(&env);
    env.pg_exec(KEYS_TARGET);
    let cfg = env.write_config("[run]\nchunk_rows = 4\n\n[workers]\nreaders = 1\n");
    let reference = env.dir.join("work_ref");
    my2pg_in(&cfg, &reference, &["export"]).assert_ok();
    let want = workdir_hashes(&reference);
    let wd = env.workdir.clone();
    my2pg_in(&cfg, &wd, &["export"]).assert_ok();
    let chunks = |t: &str| csv_files(&wd, t);
    let (n_keyed, n_uniq, n_nokey) = (
        chunks("keyed").len(),
        chunks("uniq").len(),
        chunks("nokey").len(),
    );
    assert!(n_keyed >= 5 && n_uniq >= 4 && n_nokey >= 4);

    // keyed: interrupted after chunk 3 — chunk 4 renamed but not yet in the manifest,
    // chunk 5 only a .tmp, the rest never written.
    truncate_manifest(&wd, "keyed", 3);
    for f in chunks("keyed").iter().skip(4) {
        std::fs::remove_file(wd.join("keyed").join(f)).unwrap();
    }
    std::fs::write(wd.join("keyed").join("000005.csv.tmp"), b"1,\"half a ro").unwrap();
    // uniq: chunk 2 damaged on disk (same length, other bytes): only that chunk is read
    // again (a gap of exactly chunk_rows rows between chunks 1 and 3).
    let p2 = wd.join("uniq").join("000002.csv");
    let mut bytes = std::fs::read(&p2).unwrap();
    bytes[0] ^= 0x01;
    std::fs::write(&p2, bytes).unwrap();
    // nokey: ordered by every column, so a partial export cannot continue mid-table.
    truncate_manifest(&wd, "nokey", 2);
    std::fs::write(wd.join("keyed").join("manifest.json.tmp"), b"{").unwrap();
    for t in ["keyed", "uniq", "nokey"] {
        age_chunk_files(&wd, t);
    }

    let out = my2pg_in(&cfg, &wd, &["export", "--json"]);
    out.assert_ok();
    assert_eq!(
        workdir_hashes(&wd),
        want,
        "the resumed export must end byte-identical to an uninterrupted one"
    );
    assert_eq!(
        count_tmp_files(&wd.join("keyed")),
        0,
        "the .tmp chunk must be removed"
    );
    assert_eq!(
        kept_chunk_files(&wd, "keyed"),
        ["000001.csv", "000002.csv", "000003.csv"],
        "keyed: the 3 verified chunks are kept, the rest written after chunk 3's key"
    );
    let uniq_kept: Vec<String> = chunks("uniq")
        .into_iter()
        .filter(|f| f != "000002.csv")
        .collect();
    assert_eq!(
        kept_chunk_files(&wd, "uniq"),
        uniq_kept,
        "uniq: every verified chunk kept, only the damaged chunk 2 exported again"
    );
    assert_eq!(
        kept_chunk_files(&wd, "nokey"),
        Vec::<String>::new(),
        "nokey (no key): an incomplete export starts over"
    );
    out.assert_stderr_contains("chunk file missing or changed");
    // A complete export is kept as it is.
    for t in ["keyed", "uniq", "nokey"] {
        age_chunk_files(&wd, t);
    }
    my2pg_in(&cfg, &wd, &["export"]).assert_ok();
    for t in ["keyed", "uniq", "nokey"] {
        assert_eq!(
            kept_chunk_files(&wd, t),
            chunks(t),
            "{t}: complete export rewritten"
        );
    }
    assert_eq!(chunks("keyed").len(), n_keyed);
    assert_eq!(chunks("uniq").len(), n_uniq);
    assert_eq!(chunks("nokey").len(), n_nokey);
}

// ---- exactly-once import and tampered chunks ------------------------------------------

const ITEMS_SOURCE: &str =
    "CREATE TABLE items (id int NOT NULL PRIMARY KEY, name varchar(20) NULL)";
/// No key in the target: a chunk loaded twice would be visible.
const ITEMS_TARGET: &str = "CREATE TABLE items (id integer NOT NULL, name varchar(20))";

fn fill_items(env: &TestEnv, n: usize) {
    let rows: Vec<String> = (1..=n).map(|i| format!("({i}, 'item {i}')")).collect();
    env.mysql_exec(&format!("INSERT INTO items VALUES {}", rows.join(",")));
}

fn items_target(env: &TestEnv) -> Rows {
    env.pg_rows("SELECT id::text AS i, name FROM items ORDER BY items.id, items.name")
}

fn items_source(env: &TestEnv) -> Rows {
    env.mysql_rows("SELECT id, name FROM items ORDER BY id")
}

fn ledger_chunks(env: &TestEnv, table: &str) -> Vec<String> {
    env.pg_rows(&format!(
        "SELECT chunk::text FROM my2pg.loaded_chunks WHERE table_name = '{table}' ORDER BY chunk"
    ))
    .into_iter()
    .map(|r| r[0].clone().unwrap())
    .collect()
}

#[test]
fn import_is_exactly_once_and_refuses_changed_chunks() {
    let env = TestEnv::new("tamper");
    env.mysql_exec(ITEMS_SOURCE);
    fill_items(&env, 10);
    env.pg_exec(ITEMS_TARGET);
    let cfg = env.write_config("[run]\nchunk_rows = 3\n\n[workers]\nreaders = 1\nloaders = 1\n");
    let wd = env.workdir.clone();

    my2pg_in(&cfg, &wd, &["run"]).assert_ok();
    assert_eq!(items_target(&env), items_source(&env));
    let ledger_cols = env.pg_rows(
        "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM information_schema.columns \
         WHERE table_schema = 'my2pg' AND table_name = 'loaded_chunks'",
    );
    assert_eq!(
        ledger_cols[0][0].as_deref(),
        Some("schema_name,table_name,chunk,sha256,rows,run_id,loaded_at,xid")
    );
    // The ledger holds each chunk once, with the file's sha256 and row count.
    let m = read_manifest(&wd, "items").unwrap();
    let ledger = env.pg_rows(
        "SELECT chunk::text, sha256, rows::text FROM my2pg.loaded_chunks \
         WHERE schema_name = 'public' AND table_name = 'items' ORDER BY chunk",
    );
    let from_manifest: Rows = m["chunks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            vec![
                Some(c["chunk"].to_string()),
                Some(c["sha256"].as_str().unwrap().to_string()),
                Some(c["rows"].to_string()),
            ]
        })
        .collect();
    assert_eq!(ledger, from_manifest);

    // Re-running import and run loads nothing twice.
    for cmd in ["import", "run"] {
        let out = my2pg_in(&cfg, &wd, &[cmd, "--json"]);
        out.assert_ok();
        let r = out.json();
        out.check(
            r["tables"][0]["loaded_chunks"] == 0 && r["tables"][0]["skipped_chunks"] == 4,
            &format!("{cmd} again must skip all 4 chunks"),
        );
        assert_eq!(items_target(&env), items_source(&env), "after {cmd} again");
    }

    // A loaded chunk whose file (and manifest entry) changed afterwards is refused.
    let p2 = wd.join("items").join("000002.csv");
    let tampered = std::fs::read_to_string(&p2)
        .unwrap()
        .replace("item 5", "item X");
    std::fs::write(&p2, &tampered).unwrap();
    let mpath = wd.join("items").join("manifest.json");
    let mut m = read_manifest(&wd, "items").unwrap();
    m["chunks"][1]["sha256"] = sha256_hex(tampered.as_bytes()).into();
    m["chunks"][1]["bytes"] = (tampered.len() as u64).into();
    write_edited_manifest(&mpath, &mut m);
    // import compares the manifests with the ledger first: refused before any index or
    // FK is dropped for the load (pretix trial: it dropped 402 indexes and 255 FKs, then
    // failed on the first chunk).
    let out = my2pg_in(&cfg, &wd, &["import"]);
    out.assert_exit(2)
        .assert_stderr_contains(&format!(
            "chunk files in {} differ from the ones already loaded into items (1 chunk(s)): \
             the source changed since, or they come from another export; the target holds the \
             earlier data. `import --fresh` loads these files instead, `run --fresh` exports and \
             loads everything from the source as it is now; nothing was changed in the target",
            wd.display()
        ))
        .check(
            !out.stderr.contains("dropped for the load"),
            "nothing is dropped before the refusal",
        );
    assert_eq!(
        items_target(&env),
        items_source(&env),
        "the target must be untouched"
    );

    // A file changed after export (manifest not) is refused before anything commits.
    env.pg_exec("TRUNCATE items; DELETE FROM my2pg.loaded_chunks");
    let wd2 = env.dir.join("work2");
    my2pg_in(&cfg, &wd2, &["export"]).assert_ok();
    let p3 = wd2.join("items").join("000003.csv");
    let bad = std::fs::read_to_string(&p3)
        .unwrap()
        .replace("item 8", "item Y");
    std::fs::write(&p3, bad).unwrap();
    let out = my2pg_in(&cfg, &wd2, &["import"]);
    out.assert_exit(1)
        .assert_stderr_contains("changed after export")
        .assert_stderr_contains("000003.csv");
    let loaded = ledger_chunks(&env, "items");
    out.check(
        !loaded.contains(&"3".to_string()),
        &format!("chunk 3 must not be in the ledger: {loaded:?}"),
    );
    let ids: Vec<String> = items_target(&env)
        .into_iter()
        .map(|r| r[0].clone().unwrap())
        .collect();
    out.check(
        !ids.iter().any(|i| ["7", "8", "9"].contains(&i.as_str())),
        &format!("rows of the refused chunk were loaded: {ids:?}"),
    );
    // A file damaged so that binary COPY cannot even encode it (a letter in the integer
    // key) is still reported as the file having changed, which is what to fix.
    my2pg_in(&cfg, &wd2, &["export"]).assert_ok(); // rewrites chunk 3
    let p4 = wd2.join("items").join("000004.csv");
    let mut cut = std::fs::read(&p4).unwrap();
    assert!(cut[0].is_ascii_digit(), "the chunk starts with the id");
    cut[0] = b'x';
    std::fs::write(&p4, &cut).unwrap();
    let out = my2pg_in(&cfg, &wd2, &["import"]);
    out.assert_exit(1)
        .assert_stderr_contains("changed after export")
        .assert_stderr_contains("000004.csv");
    out.check(
        !out.stderr.contains("not an integer"),
        "the encoder's complaint hides the checksum mismatch",
    );
    // Exporting again rewrites the damaged chunks; import then finishes exactly.
    my2pg_in(&cfg, &wd2, &["export"]).assert_ok();
    my2pg_in(&cfg, &wd2, &["import"]).assert_ok();
    assert_eq!(items_target(&env), items_source(&env));
    assert_eq!(ledger_chunks(&env, "items"), ["1", "2", "3", "4"]);
}

/// A chunk file the manifest lists but the disk lacks names the table, the chunk and the
/// way out; a work directory path that is a file is a config error (exit 2).
#[test]
fn a_missing_chunk_file_and_a_workdir_that_is_a_file_are_explained() {
    let env = TestEnv::new("missing_chunk");
    env.mysql_exec(ITEMS_SOURCE);
    fill_items(&env, 10);
    env.pg_exec(ITEMS_TARGET);
    let cfg = env.write_config("[run]\nchunk_rows = 3\n\n[workers]\nreaders = 1\nloaders = 1\n");
    let wd = env.workdir.clone();
    my2pg_in(&cfg, &wd, &["export"]).assert_ok();
    let gone = wd.join("items").join("000003.csv");
    std::fs::remove_file(&gone).unwrap();
    // status says so (the h20 trial: `(complete)`, nothing else).
    let st = my2pg_in(&cfg, &wd, &["status", "--json"]);
    st.assert_ok().assert_stderr_contains(
        "Missing: 1 chunk file(s) of items listed in its manifest are not on disk: `my2pg \
         export` writes them again (a finished load keeps its rows; `verify --level load` \
         needs the files)",
    );
    assert_eq!(
        st.json()["tables"][0]["missing_files"],
        serde_json::json!(1)
    );
    my2pg_in(&cfg, &wd, &["import"])
        .assert_exit(1)
        .assert_stderr_contains(&format!(
            "loading table \"public\".\"items\" chunk 000003 failed: the chunk file {} is \
             missing: the export is incomplete or the file was removed; run `my2pg export` again \
             (it exports only what is missing) and then `my2pg import`, or run `my2pg run`",
            gone.display()
        ));
    // As the message says.
    my2pg_in(&cfg, &wd, &["export"]).assert_ok();
    my2pg_in(&cfg, &wd, &["import"]).assert_ok();
    assert_eq!(items_target(&env), items_source(&env));
    // The file of a chunk already loaded: nothing to load, nothing lost, and said (the h25
    // trial: exit 0 without a word).
    std::fs::remove_file(&gone).unwrap();
    let out = my2pg_in(&cfg, &wd, &["import", "--json"]);
    out.assert_ok().assert_stderr_contains(&format!(
        "  warning: chunk file {} listed in the manifests is missing; its rows were loaded by \
         an earlier run (the ledger holds them), so nothing is lost, but `verify --level load` \
         cannot compare them and `import --fresh` refuses until `my2pg export` writes the file \
         again\n",
        gone.display()
    ));
    assert_eq!(
        out.json()["missing_files"],
        serde_json::json!([gone.display().to_string()])
    );
    // verify cannot compare the table: its loaded rows are not "extra" (the h25 trial).
    let out = my2pg_in(&cfg, &wd, &["verify", "--level", "load", "--json"]);
    out.assert_exit(1).assert_stderr_contains(
        "  items: NOT COMPARED\n    problem: chunk file(s) 000003.csv of 4 listed in its \
         manifest are missing: without them its rows in the target cannot be compared, so \
         nothing was; `my2pg export` writes them again\n",
    );
    let t = &out.json()["tables"][0];
    assert_eq!(
        (
            t["extra"].clone(),
            t["equal"].clone(),
            t["chunk_rows"].clone()
        ),
        (
            serde_json::json!(0),
            serde_json::json!(false),
            serde_json::Value::Null
        )
    );
    my2pg_in(&cfg, &wd, &["export"]).assert_ok();
    assert!(gone.exists(), "export writes it again");
    my2pg_in(&cfg, &wd, &["verify", "--level", "load"]).assert_ok();
    // A file changed so that it no longer parses is named by its checksum, as one that
    // still parses is (the h24 trial: "malformed CSV" and no next step).
    let good = std::fs::read(&gone).unwrap();
    let broken = b"\"7\"x,\"y\"\n";
    std::fs::write(&gone, broken).unwrap();
    let manifest = std::fs::read_to_string(wd.join("items").join("manifest.json")).unwrap();
    let m: serde_json::Value = serde_json::from_str(&manifest).unwrap();
    let chunk = &m["chunks"][2];
    my2pg_in(&cfg, &wd, &["verify", "--level", "load"])
        .assert_exit(1)
        .assert_stderr_contains(&format!(
            "    problem: chunk file 000003.csv does not match its manifest checksum ({} bytes, \
             sha256 {}; manifest: {} bytes, sha256 {}): it changed since it was exported; \
             remove it and `my2pg export` writes it again\n",
            broken.len(),
            &sha256_hex(broken)[..12],
            chunk["bytes"],
            &chunk["sha256"].as_str().unwrap()[..12]
        ));
    std::fs::write(&gone, good).unwrap();
    let out = my2pg_in(&cfg, &wd, &["import", "--json"]);
    out.assert_ok();
    assert_eq!(out.json()["missing_files"], serde_json::Value::Null);
    assert_eq!(items_target(&env), items_source(&env));

    let file = env.dir.join("not-a-dir");
    std::fs::write(&file, "x").unwrap();
    for cmd in ["export", "import", "run", "status"] {
        my2pg_in(&cfg, &file, &[cmd])
            .assert_exit(2)
            .assert_stderr_contains(&format!(
                "work directory {} is not a directory: point run.workdir (or --workdir) at a \
                 directory, or remove the file",
                file.display()
            ));
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
    // A work directory that does not exist is the operator's to fix too (Buildbot trial:
    // exit 1).
    let missing = env.dir.join("no-such-work");
    my2pg_in(&cfg, &missing, &["import"])
        .assert_exit(2)
        .assert_stderr_contains(&format!(
            "work directory {} does not exist: run `my2pg export` first, or point run.workdir \
             (or --workdir) at the export's directory",
            missing.display()
        ));
    // One this user may not create (sysfs refuses even root: EPERM, or EROFS where it is
    // mounted read-only) is named with the way out, exit 2 (operator-night trial: a bare
    // "Operation not permitted (os error 1)", exit 1).
    // An existing directory keeps its mode (a shared one stays usable by others: the
    // pretalx trial's 1777 and 2775 became 0700); what my2pg writes in it is private.
    let shared = env.dir.join("shared");
    std::fs::create_dir(&shared).unwrap();
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o1777)).unwrap();
    my2pg_in(&cfg, &shared, &["export"]).assert_ok();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o7777;
    assert_eq!(mode(&shared), 0o1777);
    assert_eq!(mode(&shared.join("items")), 0o700);
    assert_eq!(mode(&shared.join("items").join("000001.csv")), 0o600);
    // A path through a file (ENOTDIR) is one too (the h16 attack: exit 1).
    let through_file = file.join("work");
    // A symlink loop (the h19 attack: exit 1, "File exists") and a dangling symlink.
    let looped = env.dir.join("loop");
    std::os::unix::fs::symlink(&looped, &looped).unwrap();
    let dangling = env.dir.join("dangling");
    std::os::unix::fs::symlink(env.dir.join("nowhere"), &dangling).unwrap();
    for (denied, cmd) in [
        (Path::new("/sys/my2pg-it-workdir"), "export"),
        (Path::new("/sys/my2pg-it-workdir"), "run"),
        (through_file.as_path(), "export"),
        (looped.as_path(), "run"),
        (looped.as_path(), "status"),
        (dangling.as_path(), "export"),
    ] {
        // A link is named as one, with where it points (the h22 attack).
        if denied == dangling.as_path() {
            my2pg_in(&cfg, denied, &[cmd]).assert_stderr_contains(&format!(
                "error: config: work directory {}: File exists (os error 17) (a symbolic link \
                 to {}): ",
                denied.display(),
                env.dir.join("nowhere").display()
            ));
        }
        let out = my2pg_in(&cfg, denied, &[cmd]);
        out.assert_exit(2)
            .assert_stderr_contains(&format!(
                "error: config: work directory {}: ",
                denied.display()
            ))
            .assert_stderr_contains(
                ": my2pg creates it (mode 0700, its files hold the source's data) and writes \
                 to it: use a directory this user owns on a writable filesystem (run.workdir \
                 or --workdir)",
            );
    }
}

// ---- SIGTERM / SIGINT ------------------------------------------------------------------

/// Waits until `path` exists (the command has made progress), at most 30 s.
fn wait_for_file(p: &mut Running, path: &Path) {
    let start = Instant::now();
    while !path.exists() {
        assert!(
            p.is_running(),
            "my2pg ended before {} appeared",
            path.display()
        );
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{} never appeared",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(2));
    }
}

#[test]
fn sigterm_and_sigint_stop_cleanly_and_the_same_command_resumes() {
    let env = TestEnv::new("sigterm");
    env.mysql_exec(KILL_SOURCE_DDL);
    fill_kill_source(&env, 1500, 3000, 1500);
    env.pg_exec(KILL_TARGET_DDL);
    let cfg = kill_config(&env);
    let source = kill_source_rows(&env);
    let schema = target_schema(&env);
    let wd = env.workdir.clone();

    // SIGTERM during run, once the first chunk is on disk.
    let mut p = spawn_in(&cfg, &wd, "run");
    wait_for_file(&mut p, &wd.join("parent").join("000002.csv"));
    p.signal(libc::SIGTERM);
    let out = p.finish(TIMEOUT);
    out.assert_exit(1)
        .assert_stderr_contains("SIGTERM")
        .assert_stderr_contains("Run the same command again to resume");
    let (listed, loaded) = progress_after_kill(&env, &wd);
    eprintln!("SIGTERM left {listed} chunks exported and {loaded} loaded (of 60)");
    out.check(
        loaded < 60,
        "run finished before SIGTERM: the test needs a slower run",
    );
    // Like any other failure, the interrupt put back what the load dropped: every index
    // and constraint (FKs NOT VALID until the next run) and autovacuum.
    out.assert_stderr_contains("indexes and constraints dropped for the load were restored");
    let shape = |rows: Rows| -> Rows {
        rows.into_iter()
            .map(|mut r| {
                r.truncate(3);
                r[2] = r[2]
                    .as_deref()
                    .map(|d| d.trim_end_matches(" NOT VALID").to_string());
                r
            })
            .collect()
    };
    assert_eq!(
        shape(target_schema(&env)),
        shape(schema.clone()),
        "the interrupt restored every index and constraint"
    );
    assert_eq!(
        env.pg_value(
            "SELECT count(*)::text FROM pg_class WHERE relnamespace = 'public'::regnamespace \
             AND array_to_string(reloptions, ',') LIKE '%autovacuum_enabled=false%'"
        )
        .as_deref(),
        Some("0"),
        "autovacuum is back on"
    );
    // status tells FKs waiting as NOT VALID from dropped objects.
    let not_valid: Vec<String> = env
        .pg_rows(
            "SELECT 'fk ' || conname || ' on public.' || conrelid::regclass::text \
             FROM pg_constraint WHERE contype = 'f' AND NOT convalidated \
             AND connamespace = 'public'::regnamespace ORDER BY 1",
        )
        .into_iter()
        .map(|r| {
            format!(
                "{} (present, NOT VALID: the next import/run validates it)",
                r[0].as_deref().unwrap()
            )
        })
        .collect();
    // One line says so, not one per FK. (Whether the rows loaded before the signal leave
    // any FK unsatisfied depends on where it landed: with none, no such line.)
    if not_valid.is_empty() {
        out.check(
            !out.stderr.contains("stay NOT VALID or out"),
            "no FK is said to stay NOT VALID when all validated",
        );
    } else {
        out.assert_stderr_contains(&format!(
            "{} foreign key(s) stay NOT VALID or out: the rows loaded do not satisfy them \
             (yet, if the load did not finish); the next import/run adds and validates them",
            not_valid.len()
        ));
    }
    out.check(
        !out.stderr.contains("left NOT VALID after the failure"),
        "no line per FK without -v",
    );
    let status = my2pg_in(&cfg, &wd, &["status", "--json"]);
    status.assert_ok();
    assert_eq!(
        status.json()["pending_restore"],
        serde_json::json!(not_valid)
    );
    my2pg_in(&cfg, &wd, &["run"]).assert_ok();
    assert_eq!(diff_rows(&source, &kill_target_rows(&env)), None);
    assert_eq!(ledger_problem(&env, &wd, &source), None);
    assert_eq!(
        target_schema(&env),
        schema,
        "constraints and indexes as before"
    );

    // SIGINT during export; export again, then import.
    reset_target(&env);
    reset_dir(&wd);
    let mut p = spawn_in(&cfg, &wd, "export");
    wait_for_file(&mut p, &wd.join("parent").join("000002.csv"));
    p.signal(libc::SIGINT);
    let out = p.finish(TIMEOUT);
    out.assert_exit(1)
        .assert_stderr_contains("SIGINT")
        .assert_stderr_contains("Run the same command again to resume");
    let complete = KILL_TABLES
        .iter()
        .filter(|t| read_manifest(&wd, t).is_some_and(|m| m["complete"] == true))
        .count();
    out.check(complete < 3, "export finished before SIGINT");
    my2pg_in(&cfg, &wd, &["export"]).assert_ok();
    my2pg_in(&cfg, &wd, &["import"]).assert_ok();
    assert_eq!(diff_rows(&source, &kill_target_rows(&env)), None);
    assert_eq!(ledger_problem(&env, &wd, &source), None);
    assert_eq!(
        target_schema(&env),
        schema,
        "constraints and indexes as before"
    );

    // SIGINT during `run --fresh`: repeating that command would start over, so the
    // message says how to resume instead; the plain run then finishes the load.
    // (The old files go first, so the wait below sees this run's chunk.)
    reset_dir(&wd);
    let wd_s = wd.display().to_string();
    let mut p = spawn(
        &cfg,
        &wd,
        &["run", "--fresh", "--yes", "--workdir", wd_s.as_str()],
    );
    wait_for_file(&mut p, &wd.join("parent").join("000002.csv"));
    p.signal(libc::SIGINT);
    let out = p.finish(TIMEOUT);
    out.assert_exit(1)
        .assert_stderr_contains("Run the same command again without --fresh to resume");
    my2pg_in(&cfg, &wd, &["run"]).assert_ok();
    assert_eq!(diff_rows(&source, &kill_target_rows(&env)), None);
    assert_eq!(ledger_problem(&env, &wd, &source), None);

    // SIGINT while `run --fresh` waits for its TRUNCATE (another session holds a lock):
    // the target still holds the earlier load, which a plain run would call finished
    // (pretix trial), so the advice is --fresh again.
    let blocker = env.pg_session("BEGIN; LOCK TABLE parent IN ACCESS SHARE MODE");
    let p = spawn(
        &cfg,
        &wd,
        &["run", "--fresh", "--yes", "--workdir", wd_s.as_str()],
    );
    let start = Instant::now();
    while env
        .pg_value(
            "SELECT count(*)::text FROM pg_stat_activity WHERE application_name LIKE 'my2pg run=%' \
             AND wait_event_type = 'Lock' AND datname = current_database()",
        )
        .as_deref()
        != Some("1")
    {
        assert!(start.elapsed() < TIMEOUT, "the fresh run never waited for its TRUNCATE");
        std::thread::sleep(Duration::from_millis(20));
    }
    p.signal(libc::SIGINT);
    let out = p.finish(TIMEOUT);
    env.pg_session_exec(&blocker, "COMMIT");
    out.assert_exit(1).assert_stderr_contains(
        "--fresh had not emptied the target yet (it still holds the earlier load): run the \
         same command again, with --fresh",
    );
    my2pg_in(&cfg, &wd, &["run", "--fresh", "--yes"]).assert_ok();
    assert_eq!(diff_rows(&source, &kill_target_rows(&env)), None);
}

/// The target lock's session can end under a run (idle_session_timeout, an administrator):
/// the run must stop, not go on unprotected, and still put back what it dropped.
#[test]
fn a_run_whose_target_lock_session_ends_stops_and_restores() {
    let env = TestEnv::new("lock_lost");
    env.mysql_exec(KILL_SOURCE_DDL);
    fill_kill_source(&env, 300, 600, 300);
    env.pg_exec(KILL_TARGET_DDL);
    let cfg = kill_config(&env);
    let source = kill_source_rows(&env);
    let schema = target_schema(&env);
    let wd = env.workdir.clone();

    // Hold the run in its preparation: it waits for this lock on `child`.
    let blocker = env.pg_session("BEGIN; LOCK TABLE child IN SHARE MODE");
    let p = spawn_in(&cfg, &wd, "run");
    let lock_pid = || {
        env.pg_rows(
            "SELECT pid::text FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND classid = 1836659312 AND objid = 1 \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .first()
        .and_then(|r| r[0].clone())
    };
    let start = Instant::now();
    let pid = loop {
        if let Some(pid) = lock_pid() {
            break pid;
        }
        assert!(
            start.elapsed() < TIMEOUT,
            "the run never took the target lock"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // status tells this running load from one that stopped.
    let start = Instant::now();
    let running = loop {
        let st = my2pg_in(&cfg, &wd, &["status", "--json"]);
        st.assert_ok();
        let lr = st.json()["last_run"].clone();
        if !lr.is_null() {
            break lr;
        }
        assert!(start.elapsed() < TIMEOUT, "the run never recorded itself");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(
        running["running_pid"].as_i64().map(|p| p.to_string()),
        Some(pid.clone()),
        "status: {running}"
    );
    assert_eq!(running["hint"], serde_json::Value::Null);
    my2pg_in(&cfg, &wd, &["status"])
        .assert_ok()
        .assert_stderr_contains(&format!(
            "IS RUNNING (PostgreSQL backend pid {pid} holds the my2pg lock)"
        ));
    env.pg_exec(&format!("SELECT pg_terminate_backend({pid})"));
    // The watchdog looks every 2 s.
    std::thread::sleep(Duration::from_secs(3));
    env.pg_session_exec(&blocker, "COMMIT");
    let out = p.finish(TIMEOUT);
    out.assert_exit(1).assert_stderr_contains(
        "the session holding the my2pg lock on the target database ended during the load",
    );
    assert_eq!(lock_pid(), None, "no lock is left behind");
    assert_eq!(
        target_schema(&env)
            .into_iter()
            .map(|mut r| {
                r.truncate(3);
                r[2] = r[2]
                    .as_deref()
                    .map(|d| d.trim_end_matches(" NOT VALID").to_string());
                r
            })
            .collect::<Rows>(),
        schema
            .iter()
            .cloned()
            .map(|mut r| {
                r.truncate(3);
                r
            })
            .collect::<Rows>(),
        "what the load dropped is back"
    );
    my2pg_in(&cfg, &wd, &["run"]).assert_ok();
    assert_eq!(diff_rows(&source, &kill_target_rows(&env)), None);
    assert_eq!(target_schema(&env), schema);
}

// ---- the work-directory lock ------------------------------------------------------------

/// Two runs into one database from different work directories would truncate, drop and
/// re-add each other's indexes and FKs: the target itself is locked (an advisory lock
/// held by a session, so a crash releases it).
#[test]
fn a_second_run_into_the_same_target_database_is_refused() {
    let env = TestEnv::new("target_lock");
    env.mysql_exec(ITEMS_SOURCE);
    fill_items(&env, 500);
    env.pg_exec(ITEMS_TARGET);
    let cfg = env.write_config("[run]\nchunk_rows = 50\n\n[workers]\nreaders = 1\n");
    let other_wd = env.dir.join("other-work");
    my2pg_in(&cfg, &other_wd, &["export"]).assert_ok();

    // Hold the lock ourselves, the way another my2pg session would: deterministic.
    let holder = env.pg_session("SELECT pg_advisory_lock(1836659312, 1)");
    let holder_pid = env
        .pg_value(
            "SELECT pid::text FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND classid = 1836659312 AND objid = 1 \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
        )
        .expect("the test session holds the lock");
    for (cmd, wd) in [("run", &env.workdir), ("import", &other_wd)] {
        let out = my2pg_in(&cfg, wd, &[cmd, "--json"]);
        out.assert_exit(1).assert_stderr_contains(&format!(
            "target database: another my2pg import or run is loading this database \
             (PostgreSQL backend pid {holder_pid}); wait for it to finish or stop it, then run again"
        ));
        assert_eq!(out.json()["ok"], serde_json::json!(false));
    }
    // Said before the plan is read (the h21 trial: the plan's catalog reads met the
    // other run's index drops): even a plan that would be refused names the other run.
    env.pg_exec("ALTER TABLE items ADD COLUMN extra int NOT NULL");
    my2pg_in(&cfg, &env.workdir, &["plan"]).assert_exit(2);
    my2pg_in(&cfg, &env.workdir, &["run"])
        .assert_exit(1)
        .assert_stderr_contains(&format!(
            "target database: another my2pg import or run is loading this database \
             (PostgreSQL backend pid {holder_pid}); wait for it to finish or stop it, then run again"
        ));
    env.pg_exec("ALTER TABLE items DROP COLUMN extra");
    assert_eq!(env.pg_count("items"), 0);
    assert_eq!(
        env.pg_value("SELECT count(*)::text FROM pg_namespace WHERE nspname = 'my2pg'")
            .as_deref(),
        Some("0"),
        "a refused run must stop before it touches the target (even the ledger)"
    );
    // A verify now would call the rows still to come differences (the operator-night
    // trial): it is refused, naming the run.
    for level in ["count", "load", "full"] {
        my2pg_in(&cfg, &other_wd, &["verify", "--level", level])
            .assert_exit(2)
            .assert_stderr_contains(&format!(
                "error: refused: a my2pg import or run is loading into this target database \
                 now (PostgreSQL backend pid {holder_pid} holds the my2pg lock): a comparison \
                 would report the rows still to come as differences; verify once it has \
                 finished (`my2pg status` says when)"
            ));
    }

    // status names the run holding the lock before it records its start.
    let st = my2pg_in(&cfg, &other_wd, &["status", "--json"]);
    st.assert_ok().assert_stderr_contains(&format!(
        "An import or run IS RUNNING (PostgreSQL backend pid {holder_pid} holds the my2pg \
         lock) and has not started loading yet."
    ));
    assert_eq!(st.json()["running_pid"].to_string(), holder_pid);

    env.pg_session_exec(&holder, "SELECT pg_advisory_unlock(1836659312, 1)");
    my2pg_in(&cfg, &other_wd, &["import"]).assert_ok();
    assert_eq!(items_target(&env), items_source(&env));
    my2pg_in(&cfg, &other_wd, &["verify", "--level", "full"]).assert_ok();
    // A new run holding the lock after a finished one (a --fresh waiting for its
    // TRUNCATE): not ready (the h22 attack: `finished: true`).
    env.pg_session_exec(&holder, "SELECT pg_advisory_lock(1836659312, 1)");
    let st = my2pg_in(&cfg, &other_wd, &["status", "--json"]);
    st.assert_ok().assert_stderr_contains(&format!(
        "A new import or run IS RUNNING (PostgreSQL backend pid {holder_pid} holds the my2pg \
         lock) and has not started loading yet: the target is not ready until it finishes. \
         The last import (run "
    ));
    assert_eq!(st.json()["last_run"]["finished"], serde_json::json!(false));
    assert_eq!(st.json()["last_run"]["starting"], serde_json::json!(true));
    env.pg_session_exec(&holder, "SELECT pg_advisory_unlock(1836659312, 1)");
    assert_eq!(
        my2pg_in(&cfg, &other_wd, &["status", "--json"]).json()["last_run"]["finished"],
        serde_json::json!(true)
    );
}

#[test]
fn a_second_my2pg_on_the_same_workdir_is_refused() {
    let env = TestEnv::new("lock");
    env.mysql_exec(ITEMS_SOURCE);
    fill_items(&env, 2000);
    env.pg_exec(ITEMS_TARGET);
    // One reader: no global read lock on the shared source while a process is stopped.
    let cfg = env.write_config("[run]\nchunk_rows = 50\n\n[workers]\nreaders = 1\n");
    let wd = env.workdir.clone();
    std::fs::create_dir_all(&wd).unwrap();

    // Hold the flock ourselves: deterministic.
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(wd.join("my2pg.lock"))
        .unwrap();
    // SAFETY: flock on a file descriptor we own.
    assert_eq!(
        unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
        0
    );
    for cmd in ["export", "run", "import"] {
        let out = my2pg_in(&cfg, &wd, &[cmd]);
        out.assert_exit(1)
            .assert_stderr_contains("is in use by another my2pg process");
    }
    assert_eq!(env.pg_count("items"), 0);
    drop(lock); // closing the descriptor releases the flock
    my2pg_in(&cfg, &wd, &["export"]).assert_ok();

    // A real my2pg holding it: stopped (SIGSTOP) right after it took the lock.
    let mut p = spawn_in(&cfg, &wd, "run");
    let start = Instant::now();
    let pid = p.child.id();
    loop {
        let holder = std::fs::read_to_string(wd.join("my2pg.lock")).unwrap_or_default();
        if holder.starts_with(&format!("pid {pid} ")) {
            break;
        }
        assert!(
            p.is_running(),
            "run ended before it was seen holding the lock"
        );
        assert!(start.elapsed() < Duration::from_secs(30));
        std::thread::sleep(Duration::from_millis(1));
    }
    p.signal(libc::SIGSTOP);
    let second = my2pg_in(&cfg, &wd, &["run"]);
    p.signal(libc::SIGCONT);
    second
        .assert_exit(1)
        .assert_stderr_contains("is in use by another my2pg process")
        .assert_stderr_contains(&format!("pid {pid}"));
    p.finish(TIMEOUT).assert_ok();
    assert_eq!(items_target(&env), items_source(&env));
}

// ---- disk space --------------------------------------------------------------------------

/// A 1 MB tmpfs, unmounted on drop.
struct TinyFs(PathBuf);

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn disk_space_is_checked_before_exporting() {
    let env = TestEnv::new("disk");
    // MyISAM: DATA_LENGTH is exact at once (InnoDB statistics may lag).
    env.mysql_exec(
        "CREATE TABLE big (id int NOT NULL PRIMARY KEY, pad varchar(1000) NOT NULL) ENGINE=MyISAM",
    );
    let rows: Vec<String> = (1..=3000)
        .map(|i| format!("({i}, REPEAT('p', 1000))"))
        .collect();
    env.mysql_exec(&format!("INSERT INTO big VALUES {}", rows.join(",")));
    env.pg_exec("CREATE TABLE big (id integer PRIMARY KEY, pad text NOT NULL)");

    // A margin below 1 is a config error naming the key; nothing runs.
    let bad = env.write_config_as(
        "bad.toml",
        "public",
        &env.workdir,
        "[run]\ndisk_margin = 0.5\n",
    );
    let out = env.cmd(&bad, &["export"]).run();
    out.assert_exit(2).assert_stderr_contains("run.disk_margin");
    assert!(
        !env.workdir.exists(),
        "a config error must not create the work directory"
    );

    // On a filesystem with room the check passes (default margin 1.25).
    let cfg = env.write_config("[run]\nchunk_rows = 1000\n");
    my2pg_in(&cfg, &env.workdir, &["export"]).assert_ok();

    // On a 1 MB tmpfs the ~3 MB export is refused before anything is written.
    let tiny = env.dir.join("tiny");
    std::fs::create_dir_all(&tiny).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs"])
        .arg(&tiny)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !mounted {
        eprintln!("disk test: cannot mount a tmpfs here (not root?): the refusal is not exercised");
        return;
    }
    let _guard = TinyFs(tiny.clone());
    let small_wd = tiny.join("work");
    let out = my2pg_in(&cfg, &small_wd, &["export"]);
    out.assert_exit(1)
        .assert_stderr_contains("needs about")
        .assert_stderr_contains("run.disk_margin");
    assert!(
        csv_files(&small_wd, "big").is_empty(),
        "nothing may be exported: {:?}",
        csv_files(&small_wd, "big")
    );
    // run refuses too, and loads nothing.
    let out = my2pg_in(&cfg, &small_wd, &["run"]);
    out.assert_exit(1).assert_stderr_contains("needs about");
    assert_eq!(env.pg_count("big"), 0);
    // disk_margin = 0 skips the check: the disk fills, and the error says how to go on.
    let unchecked = env.write_config_as(
        "unchecked.toml",
        "public",
        &env.workdir,
        "[run]\nchunk_rows = 1000\ndisk_margin = 0\n",
    );
    let out = my2pg_in(&unchecked, &small_wd, &["export"]);
    out.assert_exit(1)
        .assert_stderr_contains("disk space not checked (run.disk_margin = 0)")
        .assert_stderr_contains(
            "No space left on device (os error 28); free space there (or point run.workdir at \
             a larger disk), then run the same command again: it resumes where it stopped (a \
             `.tmp` file left there is my2pg's own and is removed first)",
        );
    // Room made (the tmpfs grown), the same command resumes: the files are the same bytes
    // as an export that never ran out of space.
    let remount = |size: &str| {
        let ok = Command::new("mount")
            .args(["-o", &format!("remount,size={size}")])
            .arg(&tiny)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "remount the tmpfs with size={size}");
    };
    remount("16m");
    my2pg_in(&unchecked, &small_wd, &["export"]).assert_ok();
    let files = csv_files(&small_wd, "big");
    assert_eq!(files, csv_files(&env.workdir, "big"));
    for f in &files {
        assert_eq!(
            std::fs::read(small_wd.join("big").join(f)).expect("resumed chunk"),
            std::fs::read(env.workdir.join("big").join(f)).expect("reference chunk"),
            "{f}"
        );
    }
    std::fs::remove_dir_all(&small_wd).expect("clear the tiny work directory");
    remount("1m");

    // bytea is written as hex, twice the stored bytes: ~600 KB of blobs fit the 1 MB
    // tmpfs by their stored size x 1.25, not by their CSV size; refused before writing.
    env.mysql_exec(
        "CREATE TABLE blobs (id int NOT NULL PRIMARY KEY, b blob NOT NULL) ENGINE=MyISAM",
    );
    let rows: Vec<String> = (1..=300)
        .map(|i| format!("({i}, REPEAT('b', 2000))"))
        .collect();
    env.mysql_exec(&format!("INSERT INTO blobs VALUES {}", rows.join(",")));
    env.pg_exec("CREATE TABLE blobs (id integer PRIMARY KEY, b bytea NOT NULL)");
    let blobs_cfg = env.write_config_as(
        "blobs.toml",
        "public",
        &env.workdir,
        "[run]\nchunk_rows = 1000\nexclude = [\"big\"]\n",
    );
    let blobs_wd = tiny.join("blobs");
    let out = my2pg_in(&blobs_cfg, &blobs_wd, &["export"]);
    out.assert_exit(1)
        .assert_stderr_contains("needs about")
        .assert_stderr_contains("run.disk_margin");
    assert!(csv_files(&blobs_wd, "blobs").is_empty());

    // A full disk leaves temp files behind; the export deletes them before writing, so
    // their space counts as free: ~500 KB needed, ~300 KB free plus a 700 KB temp file.
    env.mysql_exec(
        "CREATE TABLE mid (id int NOT NULL PRIMARY KEY, pad varchar(1000) NOT NULL) ENGINE=MyISAM",
    );
    let rows: Vec<String> = (1..=400)
        .map(|i| format!("({i}, REPEAT('m', 1000))"))
        .collect();
    env.mysql_exec(&format!("INSERT INTO mid VALUES {}", rows.join(",")));
    env.pg_exec("CREATE TABLE mid (id integer PRIMARY KEY, pad text NOT NULL)");
    let mid_cfg = env.write_config_as(
        "mid.toml",
        "public",
        &env.workdir,
        "[run]\nchunk_rows = 1000\nexclude = [\"big\", \"blobs\"]\n",
    );
    let mid_wd = tiny.join("mid");
    std::fs::create_dir_all(mid_wd.join("mid")).unwrap();
    let leftover = mid_wd.join("mid").join("000001.csv.tmp");
    std::fs::write(&leftover, vec![b'x'; 700 * 1024]).unwrap();
    my2pg_in(&mid_cfg, &mid_wd, &["run"]).assert_ok();
    assert!(!leftover.exists());
    assert_eq!(env.pg_count("mid"), 400);

    // run --fresh is refused for lack of disk before it empties anything: `big`, loaded
    // from a roomier work directory, keeps its rows (it was emptied, then refused).
    let big_cfg = env.write_config_as(
        "big.toml",
        "public",
        &env.workdir,
        "[run]\nchunk_rows = 1000\nexclude = [\"blobs\", \"mid\"]\n",
    );
    my2pg_in(&big_cfg, &env.workdir, &["run"]).assert_ok();
    assert_eq!(env.pg_count("big"), 3000);
    let out = my2pg_in(&big_cfg, &tiny.join("fresh"), &["run", "--fresh", "--yes"]);
    out.assert_exit(1).assert_stderr_contains("needs about");
    assert_eq!(env.pg_count("big"), 3000);
    // The old files count as free only for the blocks deleting them frees: a sparse
    // 100 MB file frees nothing.
    let sparse_dir = tiny.join("sparse").join("big");
    std::fs::create_dir_all(&sparse_dir).unwrap();
    std::fs::File::create(sparse_dir.join("000001.csv"))
        .and_then(|f| f.set_len(100 << 20))
        .unwrap();
    let out = my2pg_in(&big_cfg, &tiny.join("sparse"), &["run", "--fresh", "--yes"]);
    out.assert_exit(1).assert_stderr_contains("needs about");
    assert_eq!(env.pg_count("big"), 3000);
}

// ---- status ------------------------------------------------------------------------------

fn status_of(cfg: &Path, wd: &Path) -> BTreeMap<String, serde_json::Value> {
    let out = my2pg_in(cfg, wd, &["status", "--json"]);
    out.assert_ok();
    let r = out.json();
    r["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            let mut t = t.clone();
            let name = t["table"].as_str().unwrap().to_string();
            t.as_object_mut().unwrap().remove("table");
            (name, t)
        })
        .collect()
}

#[test]
fn status_counts_exported_and_loaded_chunks_exactly() {
    let env = TestEnv::new("status");
    env.mysql_exec(KILL_SOURCE_DDL);
    fill_kill_source(&env, 250, 410, 99);
    env.pg_exec(KILL_TARGET_DDL);
    let cfg = kill_config(&env);
    let wd = env.workdir.clone();
    my2pg_in(&cfg, &wd, &["export"]).assert_ok();
    let expect = |loaded: bool| -> BTreeMap<String, serde_json::Value> {
        [
            ("parent", 250u64, 3u64),
            ("child", 410, 5),
            ("events", 99, 1),
        ]
        .into_iter()
        .map(|(t, rows, chunks)| {
            (
                t.to_string(),
                serde_json::json!({
                    "exported_chunks": chunks, "exported_rows": rows, "export_complete": true,
                    "loaded_chunks": if loaded { chunks } else { 0 },
                    "loaded_rows": if loaded { rows } else { 0 },
                }),
            )
        })
        .collect()
    };
    assert_eq!(status_of(&cfg, &wd), expect(false), "after export only");
    my2pg_in(&cfg, &wd, &["import"]).assert_ok();
    assert_eq!(status_of(&cfg, &wd), expect(true), "after import");
    // A partial export shows as incomplete.
    truncate_manifest(&wd, "child", 2);
    let st = status_of(&cfg, &wd);
    assert_eq!(st["child"]["export_complete"], false);
    assert_eq!(st["child"]["exported_chunks"], 2);
    assert_eq!(st["child"]["exported_rows"], 200);
    assert_eq!(st["child"]["loaded_chunks"], 5);
}

// ---- after the load: lock waits are reported, and only a finished run says so ------------

const COUNTED_SOURCE: &str =
    "CREATE TABLE counted (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, name varchar(20) NOT NULL)";
const COUNTED_TARGET: &str = "CREATE TABLE counted (id serial PRIMARY KEY, name text NOT NULL)";

/// 40 rows whose ids the target's sequence must move past.
fn counted_env(hint: &str) -> (TestEnv, PathBuf) {
    let env = TestEnv::new(hint);
    env.mysql_exec(COUNTED_SOURCE);
    let rows: Vec<String> = (1..=40).map(|i| format!("({i}, 'c{i}')")).collect();
    env.mysql_exec(&format!("INSERT INTO counted VALUES {}", rows.join(",")));
    env.pg_exec(COUNTED_TARGET);
    let cfg = env.write_config("[run]\nchunk_rows = 10\n\n[workers]\nreaders = 1\nloaders = 2\n");
    (env, cfg)
}

/// counted_env with an index on `name`, after a finished run: (env, config, work
/// directory, the run's id).
fn finished_counted_run(hint: &str) -> (TestEnv, PathBuf, PathBuf, String) {
    let (env, cfg) = counted_env(hint);
    env.pg_exec("CREATE INDEX counted_name ON counted (name)");
    let wd = env.workdir.clone();
    my2pg_in(&cfg, &wd, &["run"]).assert_ok();
    let run_id = last_run(&cfg, &wd)["run_id"]
        .as_str()
        .expect("run id")
        .to_string();
    (env, cfg, wd, run_id)
}

/// The oid of counted's index: a new one means it was dropped and built again.
fn counted_index_oid(env: &TestEnv) -> Option<String> {
    env.pg_value("SELECT 'counted_name'::regclass::oid::text")
}

fn counted_rows(env: &TestEnv) -> Rows {
    env.pg_rows("SELECT id::text, name FROM counted ORDER BY counted.id")
}

fn counted_source(env: &TestEnv) -> Rows {
    env.mysql_rows("SELECT id, name FROM counted ORDER BY id")
}

/// A session that holds, in an open transaction, a lock that conflicts with `lock_sql`'s
/// target for my2pg (`mode` is what it holds); returns it and its backend pid.
fn hold_lock(
    env: &TestEnv,
    lock_sql: &str,
    relation: &str,
    mode: &str,
) -> (tokio_postgres::Client, String) {
    let session = env.pg_session(&format!("BEGIN; {lock_sql}"));
    let pid = env
        .pg_value(&format!(
            "SELECT pid::text FROM pg_locks WHERE relation = '{relation}'::regclass \
             AND granted AND mode = '{mode}'"
        ))
        .expect("the test session holds the lock");
    (session, pid)
}

/// Waits (at most 15 s) until a my2pg backend waits for a lock on `relation`.
fn wait_for_lock_wait(env: &TestEnv, p: &mut Running, relation: &str) {
    let start = Instant::now();
    loop {
        let waiting = env.pg_value(&format!(
            "SELECT count(*)::text FROM pg_locks WHERE relation = '{relation}'::regclass AND NOT granted"
        ));
        if waiting.as_deref() != Some("0") {
            return;
        }
        assert!(
            p.is_running(),
            "my2pg ended before it waited for {relation}:\n{}",
            p.stderr_so_far()
        );
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "my2pg never waited for {relation}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// After a SIGKILL the backend waiting for the lock lives on until it gets it (and would
/// then run the statement): end every backend of the killed run, as an operator would.
fn end_killed_backends(env: &TestEnv) {
    env.pg_rows(
        "SELECT pg_terminate_backend(pid, 5000)::text FROM pg_stat_activity \
         WHERE datname = current_database() AND application_name LIKE 'my2pg run=%'",
    );
}

/// Starts `command` while the test holds a lock it will wait for, SIGKILLs it once it
/// waits, ends its backends and releases the lock.
fn kill_while_waiting(
    env: &TestEnv,
    cfg: &Path,
    command: &str,
    lock_sql: &str,
    relation: &str,
    mode: &str,
) {
    let (blocker, _) = hold_lock(env, lock_sql, relation, mode);
    let mut p = spawn_in(cfg, &env.workdir, command);
    wait_for_lock_wait(env, &mut p, relation);
    p.kill();
    p.finish(TIMEOUT);
    end_killed_backends(env);
    env.pg_session_exec(&blocker, "ROLLBACK");
}

fn last_run(cfg: &Path, wd: &Path) -> serde_json::Value {
    let out = my2pg_in(cfg, wd, &["status", "--json"]);
    out.assert_ok();
    out.json()["last_run"].clone()
}

/// The last run as `status --json` shows it: (finished, done, outstanding, hint).
fn run_steps(v: &serde_json::Value) -> (bool, Vec<String>, Vec<String>, Option<String>) {
    let names = |k: &str| -> Vec<String> {
        v[k].as_array()
            .unwrap_or_else(|| panic!("last_run.{k} is an array: {v}"))
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    (
        v["finished"]
            .as_bool()
            .unwrap_or_else(|| panic!("last_run.finished: {v}")),
        names("done"),
        names("outstanding"),
        v["hint"].as_str().map(str::to_string),
    )
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// A session holding a lock setval needs stalls the run after the load; the heartbeat
/// names the phase and the blocking backend every 5 s, and the run completes once the
/// lock is released.
#[test]
fn a_lock_wait_after_the_load_names_the_blocking_backend() {
    let (env, cfg) = counted_env("heartbeat");
    let (blocker, pid) = hold_lock(
        &env,
        "ALTER SEQUENCE counted_id_seq INCREMENT BY 1",
        "counted_id_seq",
        "ShareRowExclusiveLock",
    );
    let mut p = spawn_in(&cfg, &env.workdir, "run");
    let tail = format!(
        " s, waiting for a lock held by PostgreSQL backend pid(s) {pid} (my2pg waits until it \
         is released): SELECT setval($1::text::regclass, $2, true)"
    );
    let start = Instant::now();
    let line = loop {
        let err = p.stderr_so_far();
        if let Some(l) = err.lines().find(|l| l.ends_with(&tail)) {
            break l.to_string();
        }
        assert!(
            p.is_running(),
            "run ended before the heartbeat named pid {pid}:\n{err}"
        );
        assert!(
            start.elapsed() < Duration::from_secs(12),
            "no heartbeat line naming pid {pid} within 12 s:\n{err}"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    // "... WARN setting sequences: 5 s so far; backend 123 running for 4 s, waiting ..."
    let msg = line
        .split_once(" WARN ")
        .unwrap_or_else(|| panic!("a warning: {line}"))
        .1;
    let rest = msg
        .strip_prefix("setting sequences: ")
        .unwrap_or_else(|| panic!("phase: {msg}"));
    let (secs, rest) = rest
        .split_once(" s so far; backend ")
        .unwrap_or_else(|| panic!("{msg}"));
    let (backend, rest) = rest
        .split_once(" running for ")
        .unwrap_or_else(|| panic!("{msg}"));
    let running = rest
        .strip_suffix(tail.as_str())
        .unwrap_or_else(|| panic!("{msg}"));
    for n in [secs, backend, running] {
        assert!(n.parse::<u64>().is_ok(), "{n:?} is a number in {msg}");
    }
    assert_ne!(
        backend, pid,
        "the waiting backend is my2pg's, not the blocker"
    );
    env.pg_session_exec(&blocker, "ROLLBACK");
    p.finish(TIMEOUT).assert_ok();
    assert_eq!(counted_rows(&env), counted_source(&env));
    assert_eq!(
        env.pg_value("SELECT nextval('counted_id_seq')::text")
            .as_deref(),
        Some("41")
    );
}

/// Killed while it waits to set a sequence, every chunk is loaded and nothing is left to
/// restore, yet the run did not finish: `status` says so and which step is left, and the
/// same command completes it. A later run that stops early is not reported finished.
#[test]
fn status_tells_a_finished_run_from_one_killed_before_its_sequences() {
    let (env, cfg) = counted_env("unfinished");
    let wd = env.workdir.clone();
    std::fs::create_dir_all(&wd).unwrap();
    assert_eq!(
        last_run(&cfg, &wd),
        serde_json::Value::Null,
        "nothing ran yet"
    );

    kill_while_waiting(
        &env,
        &cfg,
        "run",
        "ALTER SEQUENCE counted_id_seq INCREMENT BY 1",
        "counted_id_seq",
        "ShareRowExclusiveLock",
    );
    assert_eq!(
        env.pg_value("SELECT last_value || ' ' || is_called FROM counted_id_seq")
            .as_deref(),
        Some("1 false"),
        "the sequence was not set"
    );
    let out = my2pg_in(&cfg, &wd, &["status", "--json"]);
    out.assert_ok();
    let st = out.json();
    assert_eq!(st["pending_restore"], serde_json::json!([]));
    assert_eq!(st["tables"][0]["loaded_rows"], 40);
    let killed = st["last_run"].clone();
    assert_eq!(killed["command"], "run");
    assert_eq!(killed["finished_at"], serde_json::Value::Null);
    assert_eq!(
        run_steps(&killed),
        (
            false,
            strings(&["load", "restore_constraints", "analyze"]),
            strings(&["set_sequences"]),
            Some(
                "The target is not ready for the cut-over (set the sequences still to do): \
                 run `my2pg run` again, with the same config and tuning options but \
                 without --fresh (which starts over), to complete it (loaded chunks are \
                 skipped)."
                    .to_string()
            )
        )
    );
    let human = env
        .cmd(&cfg, &["status", "--workdir", wd.to_str().unwrap()])
        .run();
    human.assert_ok().assert_stderr_contains(&format!(
        "Last run (run {}, started {}) DID NOT FINISH: done [load, restore_constraints, analyze], \
         outstanding [set_sequences]. The target is not ready",
        killed["run_id"].as_str().unwrap(),
        killed["started_at"].as_str().unwrap()
    ));
    // Every row is there, but the target is not ready: verify says so, exit 1 (the h24
    // trial: "equal", exit 0, sequences at 1).
    let v = my2pg_in(&cfg, &wd, &["verify", "--level", "full", "--json"]);
    let not_ready = format!(
        "the last `my2pg run` into this target (run {}, started {}) DID NOT FINISH (not done: \
         [set_sequences]): whatever the rows, the target is not ready for the cut-over \
         (indexes, constraints, autovacuum or sequences may not be back); `my2pg status` says \
         what is left and how to complete it",
        killed["run_id"].as_str().unwrap(),
        killed["started_at"].as_str().unwrap()
    );
    v.assert_exit(1)
        .assert_stderr_contains("verify (full): equal\n")
        .assert_stderr_contains(&format!("\nNOT READY: {not_ready}\n"));
    assert_eq!(
        (
            v.json()["equal"].clone(),
            v.json()["ok"].clone(),
            v.json()["last_run_unfinished"].clone()
        ),
        (
            serde_json::json!(true),
            serde_json::json!(false),
            serde_json::json!(not_ready)
        )
    );

    my2pg_in(&cfg, &wd, &["run"]).assert_ok();
    my2pg_in(&cfg, &wd, &["verify", "--level", "full"]).assert_ok();
    let done = last_run(&cfg, &wd);
    assert_ne!(done["run_id"], killed["run_id"]);
    assert!(done["finished_at"].is_string(), "{done}");
    assert_eq!(
        run_steps(&done),
        (
            true,
            strings(&["load", "restore_constraints", "analyze", "set_sequences"]),
            vec![],
            None
        )
    );
    assert_eq!(counted_rows(&env), counted_source(&env));
    assert_eq!(
        env.pg_value("SELECT nextval('counted_id_seq')::text")
            .as_deref(),
        Some("41")
    );

    // After a finished run there is nothing to load: a second import changes nothing
    // (it does not even start a run in my2pg.last_run).
    let again = my2pg_in(&cfg, &wd, &["import", "--json"]);
    again.assert_ok().assert_stderr_contains("nothing to load");
    assert_eq!(again.json()["tables"][0]["skipped_chunks"], 4);
    assert_eq!(again.json()["tables"][0]["loaded_rows"], 0);
    assert_eq!(last_run(&cfg, &wd)["run_id"], done["run_id"]);

    // A later import (with a chunk to load again) stopped before its load: the earlier
    // finish no longer counts.
    env.pg_exec(
        "DELETE FROM counted WHERE id > 30; \
         DELETE FROM my2pg.loaded_chunks WHERE table_name = 'counted' AND chunk = 4",
    );
    kill_while_waiting(
        &env,
        &cfg,
        "import",
        "LOCK TABLE counted IN SHARE UPDATE EXCLUSIVE MODE",
        "counted",
        "ShareUpdateExclusiveLock",
    );
    let stopped = last_run(&cfg, &wd);
    assert_eq!(stopped["command"], "import");
    assert_eq!(
        run_steps(&stopped),
        (
            false,
            vec![],
            strings(&["load", "restore_constraints", "analyze", "set_sequences"]),
            Some(
                "The target is not ready for the cut-over (load every chunk, restore indexes \
                 and constraints (and fill the columns of any broken FK cycle), ANALYZE the \
                 tables, set the sequences still to do): run `my2pg import` again, with the same \
                 config and tuning options but without --fresh (which starts over), to complete \
                 it (loaded chunks are skipped)."
                    .to_string()
            )
        )
    );
    my2pg_in(&cfg, &wd, &["import"]).assert_ok();
    assert!(run_steps(&last_run(&cfg, &wd)).0, "the import finished");
    assert_eq!(counted_rows(&env), counted_source(&env));
}

// ---- consistent snapshot ----------------------------------------------------------------

#[test]
fn readers_share_one_snapshot_while_the_source_is_written() {
    let env = TestEnv::new("snapshot");
    // Sizes chosen so that the two readers read a and b at different times: reader 1
    // takes a (largest) and reads it for the whole export; reader 2 takes big, and only
    // then b. Both must still see the one state lined up under the global read lock.
    env.mysql_exec(
        "CREATE TABLE a (id int NOT NULL PRIMARY KEY, v varchar(20) NOT NULL, pad varchar(3000) NOT NULL);
         CREATE TABLE big (id int NOT NULL PRIMARY KEY, pad varchar(300) NOT NULL);
         CREATE TABLE b (id int NOT NULL PRIMARY KEY, v varchar(20) NOT NULL);",
    );
    let big: Vec<String> = (1..=2000)
        .map(|i| format!("({i}, REPEAT('x', 300))"))
        .collect();
    for part in big.chunks(2000) {
        env.mysql_exec(&format!("INSERT INTO big VALUES {}", part.join(",")));
    }
    let a: Vec<String> = (1..=1000)
        .map(|i| format!("({i}, 'v{i}', REPEAT('a', 3000))"))
        .collect();
    let b: Vec<String> = (1..=1000).map(|i| format!("({i}, 'v{i}')")).collect();
    env.mysql_exec(&format!(
        "INSERT INTO a VALUES {}; INSERT INTO b VALUES {}; ANALYZE TABLE a, big, b",
        a.join(","),
        b.join(",")
    ));
    env.pg_exec(
        "CREATE TABLE big (id integer PRIMARY KEY, pad text NOT NULL);
         CREATE TABLE a (id integer PRIMARY KEY, v text NOT NULL, pad text NOT NULL);
         CREATE TABLE b (id integer PRIMARY KEY, v text NOT NULL);",
    );
    let cfg = env.write_config("[run]\nchunk_rows = 500\n\n[workers]\nreaders = 2\n");

    // The writer: each transaction inserts the same id into a and b.
    let stop = Arc::new(AtomicBool::new(false));
    let committed = Arc::new(AtomicU64::new(1000));
    let writer = {
        let (stop, committed, url) = (stop.clone(), committed.clone(), env.mysql_url());
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                use mysql_async::prelude::Queryable;
                let mut conn = mysql_async::Conn::from_url(url.as_str()).await.unwrap();
                let mut id = 1000u64;
                while !stop.load(Ordering::SeqCst) {
                    id += 1;
                    conn.query_drop(format!(
                        "START TRANSACTION; INSERT INTO a VALUES ({id}, 'w{id}', ''); \
                         DO SLEEP(0.001); INSERT INTO b VALUES ({id}, 'w{id}'); COMMIT"
                    ))
                    .await
                    .unwrap();
                    committed.store(id, Ordering::SeqCst);
                }
                let _ = conn.disconnect().await;
            })
        })
    };
    // Let the writer get going, then export while it runs.
    while committed.load(Ordering::SeqCst) < 1020 {
        std::thread::sleep(Duration::from_millis(5));
    }
    let before = committed.load(Ordering::SeqCst);
    let t0 = Instant::now();
    let export = my2pg_in(&cfg, &env.workdir, &["export"]);
    let export_ms = t0.elapsed().as_millis();
    let after = committed.load(Ordering::SeqCst);
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    export.assert_ok();
    my2pg_in(&cfg, &env.workdir, &["import"]).assert_ok();

    let ids = |t: &str| -> Vec<u64> {
        env.pg_rows(&format!("SELECT id::text AS i FROM {t} ORDER BY {t}.id"))
            .into_iter()
            .map(|r| r[0].as_deref().unwrap().parse().unwrap())
            .collect()
    };
    let (ia, ib) = (ids("a"), ids("b"));
    let finished: Vec<&str> = export
        .stderr
        .lines()
        .filter(|l| l.contains(" exported") && l.contains("table="))
        .collect();
    eprintln!(
        "snapshot test: tables in the order they finished:\n{}",
        finished.join("\n")
    );
    let max = *ia.last().unwrap();
    eprintln!(
        "snapshot test: export took {export_ms} ms; writer had committed up to id {before} before \
         the export and {after} after it; the export holds ids up to {max} ({} rows in a, {} in b)",
        ia.len(),
        ib.len()
    );
    assert!(
        after > before + 5,
        "the writer did not run during the export ({before} -> {after})"
    );
    assert_eq!(
        ia, ib,
        "a and b must hold the same ids: no half transaction"
    );
    assert_eq!(
        ia,
        (1..=max).collect::<Vec<u64>>(),
        "ids must be contiguous"
    );
    assert!(
        (before..=after).contains(&max),
        "the snapshot ({max}) must lie between {before} and {after}"
    );
    assert_eq!(env.pg_count("big"), 2000);
}

// ---- run id --------------------------------------------------------------------------------

#[test]
fn run_id_is_on_every_log_line_and_in_run_json() {
    let env = TestEnv::new("runid");
    env.mysql_exec(ITEMS_SOURCE);
    fill_items(&env, 7);
    env.pg_exec(ITEMS_TARGET);
    let cfg = env.write_config("[run]\nchunk_rows = 3\n");
    let wd = env.workdir.clone();
    let out = my2pg_in(&cfg, &wd, &["run", "--json", "-v"]);
    out.assert_ok();
    let report = out.json();
    let run_id = report["run_id"].as_str().unwrap().to_string();
    assert!(!run_id.is_empty());
    let prefix = format!("run={run_id} ");
    let mut log_lines = 0;
    for line in out.stderr.lines() {
        let is_log = [" INFO ", " WARN ", " ERROR ", " DEBUG ", " TRACE "]
            .iter()
            .any(|l| line.contains(l));
        if is_log {
            log_lines += 1;
            out.check(
                line.starts_with(&prefix),
                &format!("log line without {prefix:?}: {line:?}"),
            );
        }
    }
    out.check(
        log_lines >= 3,
        &format!("expected several log lines, got {log_lines}"),
    );
    out.check(
        out.stderr.lines().any(|l| l.contains(" DEBUG ")),
        "-v must show debug lines",
    );
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(wd.join("run.json")).unwrap()).unwrap();
    assert_eq!(meta["run_id"], run_id.as_str(), "{meta:#}");
    assert!(
        meta["source_version"].as_str().is_some_and(
            |v| v.contains("MariaDB") || v.chars().next().is_some_and(|c| c.is_ascii_digit())
        ),
        "{meta:#}"
    );
    assert!(
        meta["target_version"]
            .as_str()
            .is_some_and(|v| v.starts_with("17") || v.starts_with('1')),
        "{meta:#}"
    );
    // The ledger records the run that loaded each chunk.
    assert_eq!(
        env.pg_rows("SELECT DISTINCT run_id FROM my2pg.loaded_chunks"),
        vec![vec![Some(run_id.clone())]]
    );
    // A failing command names its run too.
    let out = my2pg_in(&cfg, &env.dir.join("missing"), &["import"]);
    out.assert_exit(2);
    out.check(
        out.stderr
            .lines()
            .any(|l| l.contains("(run ") && l.contains("error:")),
        "the error line must name the run",
    );
}

/// Within one `run`, the loader checks each chunk against the xxh3 the writer took: a
/// file changed between export and load fails that chunk, and the next run re-exports it.
#[test]
fn run_refuses_a_chunk_changed_between_export_and_load() {
    let env = TestEnv::new("xxh3_guard");
    env.mysql_exec(
        "CREATE TABLE parent (id int NOT NULL PRIMARY KEY, name varchar(20) NOT NULL); \
         CREATE TABLE child (id int NOT NULL PRIMARY KEY, parent_id int NOT NULL, note text NULL, \
           CONSTRAINT child_parent FOREIGN KEY (parent_id) REFERENCES parent (id));",
    );
    let parents: Vec<String> = (1..=10).map(|i| format!("({i}, 'p{i}')")).collect();
    let children: Vec<String> = (1..=30)
        .map(|i| format!("({i}, {}, 'note {i}, \"q\"')", i % 10 + 1))
        .collect();
    env.mysql_exec(&format!(
        "INSERT INTO parent VALUES {}; INSERT INTO child VALUES {};",
        parents.join(","),
        children.join(",")
    ));
    // keep: child loads in the wave after parent, and parent's COPY is slowed by a
    // statement trigger, so the test can change child's chunk file in between.
    env.pg_exec(
        "CREATE TABLE parent (id integer PRIMARY KEY, name varchar(20) NOT NULL); \
         CREATE TABLE child (id integer PRIMARY KEY, parent_id integer NOT NULL \
           REFERENCES parent (id), note text); \
         CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN PERFORM pg_sleep(4); RETURN NULL; END $$; \
         CREATE TRIGGER slow BEFORE INSERT ON parent FOR EACH STATEMENT EXECUTE FUNCTION slow();",
    );
    let cfg = env.write_config("[run]\nconstraints = \"keep\"\nchunk_rows = 100\n");
    let wd = env.workdir.clone();
    let wds = wd.display().to_string();
    let mut running = spawn(&cfg, &wd, &["run", "--workdir", wds.as_str()]);
    let chunk = wd.join("child").join("000001.csv");
    let deadline = Instant::now() + Duration::from_secs(20);
    while manifest_chunk_count(&wd, "child") == 0 {
        assert!(running.is_running(), "run ended before child was exported");
        assert!(
            Instant::now() < deadline,
            "child was not exported within 20 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut bytes = std::fs::read(&chunk).unwrap();
    let at = bytes.iter().position(|&b| b == b'q').unwrap();
    bytes[at] = b'Q'; // same length: only a checksum can tell
    std::fs::write(&chunk, &bytes).unwrap();
    let out = running.finish(TIMEOUT);
    out.assert_exit(1);
    out.assert_stderr_contains(&format!(
        "chunk file {} changed on disk while this run was using it",
        chunk.display()
    ));
    assert_eq!(
        env.pg_count("child"),
        0,
        "nothing of the changed chunk committed"
    );

    env.pg_exec("DROP TRIGGER slow ON parent");
    let out = my2pg_in(&cfg, &wd, &["run"]);
    out.assert_ok();
    out.assert_stderr_contains("chunk file missing or changed: exporting that chunk again");
    assert_eq!(
        env.pg_rows("SELECT id::text AS i, parent_id::text AS p, note FROM child ORDER BY id"),
        env.mysql_rows(
            "SELECT CAST(id AS char), CAST(parent_id AS char), note FROM child ORDER BY id"
        )
    );
}

/// A second `run` after a finished one loads nothing and leaves the schema alone; with
/// --fresh it reloads everything as asked.
#[test]
fn a_run_after_a_finished_run_has_nothing_to_load_and_drops_nothing() {
    let (env, cfg) = counted_env("nothing_to_load");
    // A secondary index: rebuild mode drops it for a load and builds it again after.
    env.pg_exec("CREATE INDEX counted_name ON counted (name)");
    let wd = env.workdir.clone();
    my2pg_in(&cfg, &wd, &["run"]).assert_ok();
    let finished = last_run(&cfg, &wd)["run_id"].clone();
    let index_oid = || env.pg_value("SELECT 'counted_name'::regclass::oid::text");
    let before = index_oid();
    let again = my2pg_in(&cfg, &wd, &["run", "--json"]);
    again.assert_ok().assert_stderr_contains(
        "nothing to load: every chunk is in the ledger and the last run finished",
    );
    let t = &again.json()["tables"][0];
    assert_eq!(
        (t["loaded_rows"].clone(), t["skipped_chunks"].clone()),
        (serde_json::json!(0), serde_json::json!(4))
    );
    assert_eq!(index_oid(), before, "the index was not dropped and rebuilt");
    assert_eq!(
        last_run(&cfg, &wd)["run_id"],
        finished,
        "no new run was started"
    );
    assert_eq!(counted_rows(&env), counted_source(&env));

    let fresh = my2pg_in(&cfg, &wd, &["run", "--fresh", "--yes", "--json"]);
    fresh.assert_ok();
    assert_eq!(fresh.json()["tables"][0]["loaded_rows"], 40);
    assert_ne!(index_oid(), before, "--fresh reloads and rebuilds");
    assert_eq!(counted_rows(&env), counted_source(&env));
}

/// A run whose chunk size (or plan) differs from the files already in the work directory
/// cannot resume them: it says so before it touches the target, so a finished load keeps
/// its indexes, FKs and `last_run`; `--fresh` is the way on.
#[test]
fn a_run_with_another_chunk_size_stops_before_touching_the_target() {
    let (env, cfg) = counted_env("other_chunk_size");
    env.pg_exec("CREATE INDEX counted_name ON counted (name)");
    let wd = env.workdir.clone();
    my2pg_in(&cfg, &wd, &["run"]).assert_ok();
    let finished = last_run(&cfg, &wd);
    let index_oid = || env.pg_value("SELECT 'counted_name'::regclass::oid::text");
    let before = index_oid();
    let other = my2pg_in(&cfg, &wd, &["run", "--chunk-rows", "7", "--json"]);
    other.assert_exit(2).assert_stderr_contains(&format!(
        "table counted in {} was exported with chunk_rows = 10 and this run uses 7 \
         (`--chunk-rows 10` or run.chunk_rows = 10 resumes it): run with the earlier settings \
         to resume, or `run --fresh` to export and load everything again; nothing was \
         changed in the target",
        wd.join("counted").display()
    ));
    assert_eq!(index_oid(), before, "the index was not dropped");
    assert_eq!(
        last_run(&cfg, &wd),
        finished,
        "last_run is the finished run's"
    );
    assert_eq!(
        env.pg_value("SELECT count(*)::text FROM my2pg.loaded_chunks"),
        Some("4".into())
    );
    // A new work directory does not get around it: the ledger's chunks were cut at 10.
    let other_wd = env.dir.join("other-work");
    my2pg_in(&cfg, &other_wd, &["run", "--chunk-rows", "7"])
        .assert_exit(2)
        .assert_stderr_contains(
            "the target holds chunks an earlier run loaded cut at chunk_rows = 10; this run \
             cuts at 7, so it cannot resume them: run with --chunk-rows 10 (run.chunk_rows), or \
             `run --fresh` to load everything again; nothing was changed in the target",
        );
    assert_eq!(index_oid(), before, "the index was not dropped");
    assert_eq!(
        last_run(&cfg, &wd),
        finished,
        "last_run is still the finished run's"
    );
    let fresh = my2pg_in(
        &cfg,
        &wd,
        &["run", "--chunk-rows", "7", "--fresh", "--yes", "--json"],
    );
    fresh.assert_ok();
    assert_eq!(
        env.pg_value("SELECT count(*)::text FROM my2pg.loaded_chunks"),
        Some("6".into())
    );
    assert_eq!(counted_rows(&env), counted_source(&env));
}

/// `my2pg run 2>&1 | head` closes stderr early: a log line that cannot be written must
/// not stop the load (it used to panic with exit 101 after the indexes were dropped).
#[test]
fn a_closed_stderr_does_not_stop_a_run() {
    let (env, cfg) = counted_env("closed_stderr");
    let wd = env.workdir.clone();
    let wd_s = wd.display().to_string();
    let mut cmd = crate::common::my2pg_command(&["run", "-vv", "--workdir", wd_s.as_str()], &cfg);
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("start my2pg");
    {
        use std::io::BufRead;
        let mut err = std::io::BufReader::new(child.stderr.take().expect("stderr"));
        let mut first = String::new();
        err.read_line(&mut first).expect("first log line");
        assert!(!first.is_empty(), "my2pg wrote no log line");
    } // the read end closes here
    let status = child.wait().expect("wait for my2pg");
    assert_eq!(status.code(), Some(0), "exit status {status:?}");
    assert_eq!(counted_rows(&env), counted_source(&env));
    assert!(run_steps(&last_run(&cfg, &wd)).0, "the run finished");
}

/// A work directory holds one source database's files. Pointed at another database
/// (a leftover rehearsal directory, a mistyped --workdir), run, import and export refuse
/// before touching anything instead of loading the other database's rows.
#[test]
fn a_work_directory_of_another_source_database_is_refused() {
    let (env, cfg) = counted_env("other_db");
    let wd = env.workdir.clone();
    my2pg_in(&cfg, &wd, &["run"]).assert_ok();
    let url = crate::common::UrlParts::parse(&env.mysql_url());
    let other = format!("{}_b", url.path);
    env.mysql_exec(&format!(
        "DROP DATABASE IF EXISTS `{other}`; CREATE DATABASE `{other}`; \
         CREATE TABLE `{other}`.counted (id int NOT NULL AUTO_INCREMENT PRIMARY KEY, name varchar(20) NOT NULL); \
         INSERT INTO `{other}`.counted VALUES (1, 'other one'), (2, 'other two')"
    ));
    let text = std::fs::read_to_string(&cfg).expect("config");
    let other_cfg = env.write_raw_config(
        "other.toml",
        &text.replace(&url.render(), &url.with_db(&other).render()),
    );
    let before = counted_rows(&env);
    for cmd in ["run", "import", "export"] {
        let out = my2pg_in(&other_cfg, &wd, &[cmd]);
        out.assert_exit(2).assert_stderr_contains(&format!(
            "work directory {} holds files exported from source database `{}`, but source.url \
             names `{other}`",
            wd.display(),
            url.path
        ));
        assert_eq!(counted_rows(&env), before, "{cmd} changed the target");
    }
    // verify of the files would call every table different; status lists them, said to
    // be the other database's (the h21 trial: neither named the wrong work directory).
    my2pg_in(&other_cfg, &wd, &["verify", "--level", "load"])
        .assert_exit(2)
        .assert_stderr_contains(&format!(
            "error: refused: work directory {} holds files exported from source database \
             `{}`, but source.url names `{other}`: use another work directory (or remove this \
             one)",
            wd.display(),
            url.path
        ));
    my2pg_in(&other_cfg, &wd, &["status"])
        .assert_ok()
        .assert_stderr_contains(&format!(
            "work directory {} holds files exported from source database `{}`, but source.url \
             names `{other}`: the tables listed below are `{}`'s",
            wd.display(),
            url.path,
            url.path
        ));
    // One table directory of the other database's export copied in (the h22 attack: it
    // loaded with exit 0; run.json still named this database).
    let other_wd = env.dir.join("work-b");
    my2pg_in(&other_cfg, &other_wd, &["export"]).assert_ok();
    std::fs::remove_dir_all(wd.join("counted")).unwrap();
    std::fs::create_dir(wd.join("counted")).unwrap();
    for f in std::fs::read_dir(other_wd.join("counted")).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), wd.join("counted").join(f.file_name())).unwrap();
    }
    for args in [
        &["run"][..],
        &["import"],
        &["export"],
        &["verify", "--level", "load"],
    ] {
        my2pg_in(&cfg, &wd, args)
            .assert_exit(2)
            .assert_stderr_contains(&format!(
                "error: refused: table directory {} holds files exported from source database \
                 `{other}`, but source.url names `{}`: remove that directory to export the \
                 table again (or `run --fresh` to start over); nothing was changed in the target",
                wd.join("counted").display(),
                url.path
            ));
        assert_eq!(counted_rows(&env), before, "{args:?} changed the target");
    }
    // status marks it (the h23 attack: listed as complete).
    my2pg_in(&cfg, &wd, &["status"])
        .assert_ok()
        .assert_stderr_contains(&format!(
            "Damaged: table directory {} holds files exported from source database `{other}`, \
             but source.url names `{}`: remove that directory",
            wd.join("counted").display(),
            url.path
        ));
    my2pg_in(&other_cfg, &wd, &["run", "--fresh", "--yes"]).assert_ok();
    assert_eq!(
        counted_rows(&env),
        vec![
            vec![Some("1".to_string()), Some("other one".to_string())],
            vec![Some("2".to_string()), Some("other two".to_string())]
        ]
    );
    env.mysql_exec(&format!("DROP DATABASE `{other}`"));
}

/// check and verify only read: an interrupt says so, not that chunk files were kept.
#[test]
fn an_interrupted_check_says_nothing_was_written() {
    let (env, cfg) = counted_env("check_sigint");
    let wd = env.workdir.clone();
    // The scan waits on this table lock until the signal comes.
    let lock = env.mysql_uncommitted("LOCK TABLES counted WRITE");
    let p = spawn_in(&cfg, &wd, "check");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    p.signal(libc::SIGINT);
    let out = p.finish(TIMEOUT);
    env.mysql_rollback(lock);
    out.assert_exit(1).assert_stderr_contains(
        "SIGINT received; stopped; nothing was written. Run the same command again",
    );
    out.check(
        !out.stderr.contains("chunk files are kept"),
        "check wrote no chunk files",
    );
}

/// A damaged manifest stops every command with the way out; `run --fresh` is one.
#[test]
fn a_damaged_manifest_names_the_way_out_and_fresh_recovers() {
    let (env, cfg) = counted_env("bad_manifest");
    let wd = env.workdir.clone();
    my2pg_in(&cfg, &wd, &["run"]).assert_ok();
    let manifest = wd.join("counted").join("manifest.json");
    // Valid JSON, edited: a changed last_key would move where a resumed export continues
    // (rows silently skipped); the manifest's own checksum refuses it.
    let mut m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&manifest).unwrap()).unwrap();
    assert!(m["checksum"].is_string(), "{m}");
    let key = &mut m["chunks"][0]["last_key"][0]["int"];
    *key = serde_json::json!(key.as_i64().unwrap() + 5000);
    std::fs::write(&manifest, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    let edited = format!(
        "{} was changed after my2pg wrote it (its checksum does not match); remove its \
         table's directory to export that table again (or `run --fresh` to start over)",
        manifest.display()
    );
    // A refusal of the state found (exit 2): running again cannot help.
    for cmd in ["export", "import", "run"] {
        my2pg_in(&cfg, &wd, &[cmd])
            .assert_exit(2)
            .assert_stderr_contains(&format!("error: refused: {edited}"));
    }
    // `status` still gives the overview, the damaged table among the others.
    let status = my2pg_in(&cfg, &wd, &["status", "--json"]);
    status.assert_ok();
    let tables = status.json()["tables"].as_array().unwrap().clone();
    assert_eq!(tables.len(), 1);
    assert_eq!(tables[0]["table"], "counted");
    assert_eq!(tables[0]["damaged"], serde_json::json!(edited));
    // With what the ledger holds of it (every chunk and row loaded by the run above).
    assert_eq!(
        (
            tables[0]["loaded_chunks"].clone(),
            tables[0]["loaded_rows"].clone()
        ),
        (
            serde_json::json!(env
                .pg_value("SELECT count(*)::text FROM my2pg.loaded_chunks")
                .unwrap()
                .parse::<u64>()
                .unwrap()),
            serde_json::json!(counted_rows(&env).len())
        )
    );
    my2pg_in(&cfg, &wd, &["status"])
        .assert_ok()
        .assert_stderr_contains(&format!("Damaged: {edited}\n"));
    std::fs::write(&manifest, b"{ not json").expect("damage the manifest");
    let hint = format!(
        "{} is not a valid manifest: key must be a string at line 1 column 3; remove its \
         table's directory to export that table again (or `run --fresh` to start over)",
        manifest.display()
    );
    my2pg_in(&cfg, &wd, &["run"])
        .assert_exit(2)
        .assert_stderr_contains(&format!("error: refused: {hint}"));
    my2pg_in(&cfg, &wd, &["status"])
        .assert_ok()
        .assert_stderr_contains(&format!("Damaged: {hint}\n"));
    // A directory in its place (the h19 attack: a bare OS error, exit 1, and status left
    // the table out).
    std::fs::remove_file(&manifest).unwrap();
    std::fs::create_dir(&manifest).unwrap();
    let dir = format!(
        "{} is a directory, not a manifest; remove its table's directory to export that \
         table again (or `run --fresh` to start over)",
        manifest.display()
    );
    my2pg_in(&cfg, &wd, &["export"])
        .assert_exit(2)
        .assert_stderr_contains(&format!("error: refused: {dir}"));
    my2pg_in(&cfg, &wd, &["status"])
        .assert_ok()
        .assert_stderr_contains(&format!("Damaged: {dir}\n"));
    my2pg_in(&cfg, &wd, &["run", "--fresh", "--yes"]).assert_ok();
    assert_eq!(counted_rows(&env), counted_source(&env));
}

/// Another table's manifest copied into a table's directory is refused as a copy (the
/// h19 attack: "exported under a different plan"), and `status` lists each table once;
/// `--fresh` and a resumed export leave an operator's files in a table directory alone
/// (the h19 attack: `--fresh` deleted them without a word).
#[test]
fn a_copied_manifest_is_named_and_operator_files_stay() {
    let env = TestEnv::new("copied_manifest");
    env.mysql_exec(
        "CREATE TABLE a (id int NOT NULL PRIMARY KEY, v varchar(10)); \
         CREATE TABLE b (id int NOT NULL PRIMARY KEY, v varchar(10)); \
         INSERT INTO a VALUES (1, 'a1'), (2, 'a2'), (3, 'a3'); \
         INSERT INTO b VALUES (10, 'b10'), (20, 'b20')",
    );
    env.pg_exec(
        "CREATE TABLE a (id integer PRIMARY KEY, v varchar(10)); \
         CREATE TABLE b (id integer PRIMARY KEY, v varchar(10))",
    );
    let cfg = env.write_config("[run]\nchunk_rows = 2\n");
    let wd = env.workdir.clone();
    my2pg_in(&cfg, &wd, &["run"]).assert_ok();
    let b_manifest = wd.join("b").join("manifest.json");
    std::fs::copy(wd.join("a").join("manifest.json"), &b_manifest).unwrap();
    let copied = format!(
        "error: refused: {} is the manifest of table `a` (kept in that table's own \
         directory), not of the table whose directory this is: a copy; remove {} to export \
         this table again (or `run --fresh` to start over)",
        b_manifest.display(),
        wd.join("b").display()
    );
    for cmd in ["export", "import", "run"] {
        my2pg_in(&cfg, &wd, &[cmd])
            .assert_exit(2)
            .assert_stderr_contains(&copied);
    }
    // A backup of a table's directory, beside the copy.
    std::fs::create_dir(wd.join("a.bak")).unwrap();
    for f in ["manifest.json", "000001.csv", "000002.csv"] {
        std::fs::copy(wd.join("a").join(f), wd.join("a.bak").join(f)).unwrap();
    }
    let status = my2pg_in(&cfg, &wd, &["status", "--json"]);
    status.assert_ok();
    let listed: Vec<(String, serde_json::Value, u64)> = status.json()["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["table"].as_str().unwrap().to_string(),
                t["copy_of"].clone(),
                t["exported_rows"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        listed,
        vec![
            ("a".to_string(), serde_json::Value::Null, 3),
            ("a.bak".to_string(), serde_json::json!("a"), 3),
            ("b".to_string(), serde_json::json!("a"), 3),
            // b's own files are not there: the ledger says what was loaded (h22 attack).
            ("b".to_string(), serde_json::Value::Null, 0),
        ]
    );
    assert_eq!(
        status.json()["tables"][3]["loaded_rows"],
        serde_json::json!(2)
    );
    assert_eq!(
        status.json()["tables"][3]["files_unknown"],
        serde_json::json!(true)
    );
    my2pg_in(&cfg, &wd, &["status"])
        .assert_ok()
        .assert_stderr_contains(
            "Not used: b holds a copy of table `a`'s files; my2pg loads nothing from it (where \
             it is another table's own directory, that table is refused until it is removed)",
        );
    // --fresh starts over; an operator's files in a table directory stay, and are named;
    // a table directory that is a symlink (a big table on another disk) stays one.
    let elsewhere = env.dir.join("b-disk");
    std::fs::rename(wd.join("b"), &elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, wd.join("b")).unwrap();
    std::fs::write(wd.join("a").join("notes.txt"), "mine").unwrap();
    std::fs::write(wd.join("a").join("ids.csv"), "1\n").unwrap();
    my2pg_in(&cfg, &wd, &["run", "--fresh", "--yes"])
        .assert_ok()
        .assert_stderr_contains(&format!(
            "--fresh: kept ids.csv, notes.txt in {}: not my2pg's files (move them out of the \
             work directory)",
            wd.join("a").display()
        ))
        // a: two chunks and the manifest; b: its chunk and the copied manifest.
        .assert_stderr_contains(&format!(
            "--fresh: removed the earlier export's 5 file(s) of 2 table(s) from {}",
            wd.display()
        ));
    assert_eq!(
        std::fs::read_to_string(wd.join("a").join("notes.txt")).unwrap(),
        "mine"
    );
    assert_eq!(
        std::fs::read_to_string(wd.join("a").join("ids.csv")).unwrap(),
        "1\n"
    );
    assert!(std::fs::symlink_metadata(wd.join("b"))
        .unwrap()
        .file_type()
        .is_symlink());
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(elsewhere.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["source_table"], "b");
    assert_eq!(
        std::fs::read_to_string(elsewhere.join("000001.csv")).unwrap(),
        "10,\"b10\"\n20,\"b20\"\n"
    );
    assert_eq!(
        env.pg_rows("SELECT id::text, v FROM a UNION ALL SELECT id::text, v FROM b ORDER BY 1"),
        env.mysql_rows("SELECT CAST(id AS char), v FROM a UNION ALL SELECT CAST(id AS char), v FROM b ORDER BY 1")
    );
    // A resumed export removes only its own stale files, not a `.csv` of the operator's.
    std::fs::write(wd.join("b").join("000009.csv.tmp"), "partial").unwrap();
    my2pg_in(&cfg, &wd, &["export"])
        .assert_ok()
        .assert_stderr_contains(&format!(
            "removed {}: not listed in the manifest (an unfinished chunk, or one of an earlier \
             export)",
            wd.join("b").join("000009.csv.tmp").display()
        ));
    assert!(!wd.join("b").join("000009.csv.tmp").exists());
    assert_eq!(
        std::fs::read_to_string(wd.join("a").join("ids.csv")).unwrap(),
        "1\n"
    );
    // The backup was never read: the verify of the loaded files passes.
    my2pg_in(&cfg, &wd, &["verify", "--level", "load"]).assert_ok();
    // A table directory renamed away: verify names the loaded table it cannot check
    // (the h22 attack: "equal", exit 0), status lists it from the ledger.
    std::fs::rename(wd.join("a"), wd.join("a-moved")).unwrap();
    my2pg_in(&cfg, &wd, &["verify", "--level", "load"])
        .assert_exit(1)
        .assert_stderr_contains("\n  a: NOT COMPARED\n    problem: ")
        .assert_stderr_contains(&format!(
            "the ledger holds 2 loaded chunk(s) (3 rows) of it, but the work directory {} has \
             no files of it (its directory is missing, renamed, or not a directory): nothing \
             was compared",
            wd.display()
        ));
    my2pg_in(&cfg, &wd, &["verify", "--level", "load", "--table", "a"]).assert_exit(1);
    my2pg_in(&cfg, &wd, &["status"])
        .assert_ok()
        .assert_stderr_contains(
            "  a                                exported ? (no files in the work directory)   \
             loaded      2 chunks /          3 rows",
        );
    std::fs::rename(wd.join("a-moved"), wd.join("a")).unwrap();
    // A table directory that is a link to a disk not mounted, or to a file: exit 2, named
    // (the h22 attack: exit 1, "File exists (os error 17)").
    std::fs::remove_file(wd.join("b")).unwrap();
    let unmounted = env.dir.join("unmounted");
    std::os::unix::fs::symlink(&unmounted, wd.join("b")).unwrap();
    my2pg_in(&cfg, &wd, &["export"])
        .assert_exit(2)
        .assert_stderr_contains(&format!(
            "error: refused: {}: File exists (os error 17) (a symbolic link to {}): a table \
             directory must be a directory (or a symbolic link to one); fix or remove it",
            wd.join("b").display(),
            unmounted.display()
        ));
    // --fresh refuses before it empties the target.
    my2pg_in(&cfg, &wd, &["run", "--fresh", "--yes"])
        .assert_exit(2)
        .assert_stderr_contains(&format!(
            "error: refused: {}: No such file or directory (os error 2) (a symbolic link to \
             {}): a table directory must be a directory",
            wd.join("b").display(),
            unmounted.display()
        ));
    assert_eq!(env.pg_count("b"), 2);
    std::fs::remove_file(wd.join("b")).unwrap();
    let file = env.dir.join("a-file");
    std::fs::write(&file, "x").unwrap();
    std::os::unix::fs::symlink(&file, wd.join("b")).unwrap();
    my2pg_in(&cfg, &wd, &["run"])
        .assert_exit(2)
        .assert_stderr_contains(&format!(
            "error: refused: {} cannot be read (Not a directory (os error 20)): its table \
             directory is not a directory;",
            wd.join("b").join("manifest.json").display()
        ));
    my2pg_in(&cfg, &wd, &["run", "--fresh", "--yes"])
        .assert_exit(2)
        .assert_stderr_contains(&format!(
            "error: refused: {}: Not a directory (os error 20) (a symbolic link to {}): a \
             table directory must be a directory",
            wd.join("b").display(),
            file.display()
        ));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
    assert_eq!(env.pg_count("b"), 2);
}

/// my2pg killed while one of its statements waits (here for a lock): the server ends that
/// statement within seconds (client_connection_check_interval) instead of running it for
/// no one when the lock comes free, holding locks the next run would wait for.
#[test]
fn a_killed_run_leaves_no_statement_running_on_the_target() {
    let env = TestEnv::new("kill_stmt");
    env.mysql_exec(KILL_SOURCE_DDL);
    fill_kill_source(&env, 100, 200, 100);
    env.pg_exec(KILL_TARGET_DDL);
    let cfg = kill_config(&env);
    let wd = env.workdir.clone();
    let blocker = env.pg_session("BEGIN; LOCK TABLE child IN SHARE MODE");
    let p = spawn_in(&cfg, &wd, "run");
    let waiting = || {
        env.pg_value(
            "SELECT count(*)::text FROM pg_stat_activity WHERE application_name LIKE 'my2pg run=%' \
             AND state = 'active' AND datname = current_database()",
        )
        .unwrap_or_default()
    };
    let start = Instant::now();
    while waiting() == "0" {
        assert!(start.elapsed() < TIMEOUT, "my2pg never ran a statement");
        std::thread::sleep(Duration::from_millis(50));
    }
    p.signal(libc::SIGKILL);
    let _ = p.finish(TIMEOUT);
    let start = Instant::now();
    while waiting() != "0" {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "a statement of the killed run is still running on the target"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    env.pg_session_exec(&blocker, "COMMIT");
    my2pg_in(&cfg, &wd, &["run"]).assert_ok();
}

/// A source connection that dies mid-export (a server restart, a KILL) is reported as a
/// closed connection, not as mysql_async's doubled "Input/output error: Input/output
/// error: bytes remaining on stream"; nothing is loaded and a rerun completes.
#[test]
fn a_killed_source_connection_is_reported_as_closed() {
    let env = TestEnv::new("lost_source");
    env.mysql_exec(
        "CREATE TABLE t (id int NOT NULL PRIMARY KEY) ENGINE=MyISAM; \
         INSERT INTO t VALUES (1), (2), (3)",
    );
    env.pg_exec("CREATE TABLE t (id integer PRIMARY KEY)");
    let cfg = env.write_config("[workers]\nreaders = 1\n");
    // Another session's WRITE lock makes the export's read of `t` wait.
    let lock = env.mysql_uncommitted("LOCK TABLES t WRITE");
    let run = spawn(&cfg, &env.workdir, &["run"]);
    let started = Instant::now();
    let waiting = loop {
        let ids = env.mysql_rows(&format!(
            "SELECT id FROM information_schema.processlist WHERE db = '{}' \
             AND state LIKE 'Waiting for table%'",
            env.name
        ));
        if let Some(id) = ids.first().and_then(|r| r[0].clone()) {
            break id;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the export never waited for the lock: {}",
            run.stderr_so_far()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    env.mysql_exec(&format!("KILL CONNECTION {waiting}"));
    let out = run.finish(TIMEOUT);
    out.assert_exit(1).assert_stderr_contains(
        "error: source (MySQL) query failed (read table `t`): the connection to the source \
         server was closed (the server restarted, or the connection was killed or timed out; \
         driver: ",
    );
    // The driver's words vary with where the read was ("connection closed", "bytes
    // remaining on stream"); the next step does not.
    out.assert_stderr_contains(
        "): once the server is reachable, run the same command again (a run or import \
         resumes where it stopped)\n",
    );
    assert!(
        !out.stderr
            .contains("Input/output error: Input/output error"),
        "{}",
        out.stderr
    );
    assert_eq!(env.pg_count("t"), 0);
    env.mysql_rollback(lock);
    my2pg_in(&cfg, &env.workdir, &["run"]).assert_ok();
    assert_eq!(env.pg_count("t"), 3);
}

/// A target session terminated during COPY (a shutdown, pg_terminate_backend) reports
/// the line COPY was on; my2pg must not name that row as if its data were bad.
#[test]
fn a_terminated_copy_does_not_blame_a_row() {
    let env = TestEnv::new("copy_killed");
    env.mysql_exec(
        "CREATE TABLE t (id int NOT NULL PRIMARY KEY); \
         INSERT INTO t SELECT seq FROM seq_1_to_50",
    );
    env.pg_exec(
        "CREATE TABLE t (id integer PRIMARY KEY); \
         CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN PERFORM pg_sleep(0.2); RETURN NEW; END $$; \
         CREATE TRIGGER slow BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION slow()",
    );
    let cfg = env.write_config("[workers]\nreaders = 1\nloaders = 1\n");
    let run = spawn(&cfg, &env.workdir, &["run"]);
    let started = Instant::now();
    loop {
        let killed = env.pg_value(&format!(
            "SELECT count(pg_terminate_backend(pid))::text FROM pg_stat_activity \
             WHERE datname = '{}' AND query LIKE 'COPY%' \
             AND now() - query_start > interval '500 milliseconds'",
            env.name
        ));
        if killed.as_deref() != Some("0") {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "no COPY to terminate: {}",
            run.stderr_so_far()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = run.finish(TIMEOUT);
    out.assert_exit(1)
        .assert_stderr_contains("terminating connection due to administrator command");
    assert!(
        !out.stderr.contains("row with primary key"),
        "{}",
        out.stderr
    );
    assert_eq!(env.pg_count("t"), 0);
}

/// The tests that keep a statement running for seconds on the shared source run one at
/// a time: each names or waits for its own.
static LONG_STATEMENTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Tables `t` and `u` (one row each) on both sides, two readers (so the snapshots need
/// the global read lock).
fn two_table_env(name: &str, extra: &str) -> (TestEnv, PathBuf) {
    let env = TestEnv::new(name);
    env.mysql_exec(
        "CREATE TABLE t (id int NOT NULL PRIMARY KEY); INSERT INTO t VALUES (1); \
         CREATE TABLE u (id int NOT NULL PRIMARY KEY); INSERT INTO u VALUES (1)",
    );
    env.pg_exec("CREATE TABLE t (id integer PRIMARY KEY); CREATE TABLE u (id integer PRIMARY KEY)");
    let cfg = env.write_config(&format!("[workers]\nreaders = 2\n{extra}"));
    (env, cfg)
}

/// Runs `sql` on its own source connection in a thread; returns the thread and the
/// connection's id.
fn long_update(env: &TestEnv, sql: &str) -> (std::thread::JoinHandle<()>, u32) {
    let (url, sql) = (env.mysql_url(), sql.to_string());
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            use mysql_async::prelude::Queryable;
            let mut c = mysql_async::Conn::from_url(url).await.unwrap();
            tx.send(c.id()).unwrap();
            c.query_drop(sql).await.unwrap();
            let _ = c.disconnect().await;
        });
    });
    (handle, rx.recv().unwrap())
}

/// A global read lock that waits past run.snapshot_lock_wait_seconds behind a running
/// statement: a runtime failure (exit 1, not a config error) naming the source thread it
/// waited for, never its statement text; nothing is read or loaded.
#[test]
fn a_global_read_lock_that_times_out_names_the_statements_it_waited_for() {
    let _serial = LONG_STATEMENTS.lock().unwrap_or_else(|e| e.into_inner());
    let (env, cfg) = two_table_env("ftwrl_timeout", "[run]\nsnapshot_lock_wait_seconds = 3\n");
    let (long_query, thread) = long_update(
        &env,
        "UPDATE t SET id = id WHERE SLEEP(8) = 0 /* secret 'pw' */",
    );
    let started = Instant::now();
    while env
        .mysql_rows(&format!(
            "SELECT 1 FROM information_schema.processlist WHERE id = {thread} AND info IS NOT NULL"
        ))
        .is_empty()
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the long query never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let out = env.cmd(&cfg, &["run"]).run();
    out.assert_exit(1)
        .assert_stderr_contains(
            "take the brief global read lock that lines up 2 readers' snapshots \
             (source_consistency = \"snapshot\"): it waited 3 s (run.snapshot_lock_wait_seconds) \
             for the source's running statements or table locks: thread ",
        )
        .assert_stderr_contains(&format!("thread {thread} (user "))
        .assert_stderr_contains("Nothing was read; run again once they finish");
    out.check(
        !out.stderr.contains("secret"),
        "the statement text was printed",
    );
    out.check(!out.stderr.contains("config"), "reported as a config error");
    long_query.join().unwrap();
    assert_eq!(env.pg_count("t"), 0);
    // An idle session holding LOCK TABLES runs nothing to name: the message says where
    // to look instead. (A longer wait: only statements running that long are named, so
    // other tests' statements on the shared server stay out of it.)
    let idle_cfg =
        env.write_config("[workers]\nreaders = 2\n[run]\nsnapshot_lock_wait_seconds = 6\n");
    // Another test's statement that runs as long (a CREATE TABLE on a loaded machine)
    // is rightly named instead: try again, at most three times.
    let mut attempt = 0;
    let out = loop {
        attempt += 1;
        let held = env.mysql_uncommitted("LOCK TABLES t WRITE");
        let out = env.cmd(&idle_cfg, &["run"]).run();
        env.mysql_rollback(held);
        if attempt == 3
            || !out
                .stderr
                .contains("running statements or table locks: thread ")
        {
            break out;
        }
    };
    out.assert_exit(1).assert_stderr_contains(
        "table locks: none is running now, so an idle session holding LOCK TABLES or a table \
         lock of an open transaction is the likely one (SHOW PROCESSLIST lists the sessions",
    );
    assert_eq!(env.pg_count("t"), 0);
    // The snapshot comes before the target is touched: a `run --fresh` that cannot take
    // the lock leaves the loaded tables as they were.
    env.cmd(&cfg, &["run"]).run().assert_ok();
    let held = env.mysql_uncommitted("LOCK TABLES u WRITE");
    let out = env.cmd(&cfg, &["run", "--fresh", "--yes"]).run();
    env.mysql_rollback(held);
    out.assert_exit(1)
        .assert_stderr_contains("take the brief global read lock");
    out.check(
        !out.stderr.contains("TRUNCATE"),
        "the target was truncated first",
    );
    assert_eq!((env.pg_count("t"), env.pg_count("u")), (1, 1));
    // Out of range: a config error naming the key.
    let bad = env.write_config("[run]\nsnapshot_lock_wait_seconds = 0\n");
    env.cmd(&bad, &["plan"])
        .run()
        .assert_exit(2)
        .assert_stderr_contains(
            "run.snapshot_lock_wait_seconds must be between 1 and 86400, not 0",
        );
}

/// An interrupt while `FLUSH TABLES WITH READ LOCK` waits behind a long write must not
/// leave the queued FTWRL on the source, where it would hold back every writer until
/// that write ends: the interrupt kills it before my2pg exits (MariaDB itself drops it
/// only about a second after the closed connection, MySQL not at all; the session's
/// max_statement_time bounds it even for a killed my2pg). `export` is the case where
/// nothing else keeps the process alive for the kill.
#[test]
fn an_interrupt_while_the_global_read_lock_waits_withdraws_it() {
    let _serial = LONG_STATEMENTS.lock().unwrap_or_else(|e| e.into_inner());
    let (env, cfg) = two_table_env("ftwrl_int", "");
    // A long write on `t`: FTWRL waits for it (and holds back every other writer).
    let (long_query, _) = long_update(&env, "UPDATE t SET id = id WHERE SLEEP(8) = 0");
    let processes = |info: &str| {
        env.mysql_rows(&format!(
            "SELECT id FROM information_schema.processlist WHERE db = '{}' AND info LIKE '{info}%'",
            env.name
        ))
        .len()
    };
    let started = Instant::now();
    while processes("UPDATE t SET") == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the long query never started"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let run = spawn(&cfg, &env.workdir, &["export"]);
    while processes("FLUSH TABLES WITH READ LOCK") == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the global read lock never queued: {}",
            run.stderr_so_far()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    run.signal(libc::SIGTERM);
    let out = run.finish(TIMEOUT);
    out.assert_exit(1)
        .assert_stderr_contains("SIGTERM received");
    let gone = Instant::now();
    while processes("FLUSH TABLES WITH READ LOCK") > 0 {
        assert!(
            gone.elapsed() < Duration::from_millis(300),
            "the queued FLUSH TABLES WITH READ LOCK outlived my2pg"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // Withdrawn, not merely done: the query it waited for still runs.
    assert_eq!(processes("UPDATE t SET"), 1);
    long_query.join().unwrap();
    assert_eq!(env.pg_count("t"), 0);
}

/// SIGTERM while the rebuild builds the indexes: the restore first ends the interrupted
/// builds (their sessions are only closing), then puts back what is missing, without
/// racing them for the same names; the message says what happened.
#[test]
fn sigterm_during_the_index_rebuild_restores_without_racing_the_builds() {
    let env = TestEnv::new("sigterm_rebuild");
    env.mysql_exec(
        "CREATE TABLE t (id int NOT NULL PRIMARY KEY, v int NOT NULL); \
         INSERT INTO t SELECT seq, seq FROM seq_1_to_300",
    );
    // An index whose build takes about 3 s (a deliberately slow IMMUTABLE function).
    env.pg_exec(
        "CREATE TABLE t (id integer PRIMARY KEY, v integer NOT NULL); \
         CREATE FUNCTION slow_id(integer) RETURNS integer IMMUTABLE LANGUAGE plpgsql AS \
           $$ BEGIN PERFORM pg_sleep(0.01); RETURN $1; END $$; \
         CREATE INDEX t_slow ON t (slow_id(v)); CREATE INDEX t_v ON t (v)",
    );
    let catalog = "SELECT string_agg(c.relname || ' ' || i.indisvalid, ', ' ORDER BY c.relname) \
                   FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                   WHERE i.indrelid = 't'::regclass";
    let before = env.pg_value(catalog);
    assert_eq!(
        before.as_deref(),
        Some("t_pkey true, t_slow true, t_v true")
    );
    let cfg = env.write_config("[workers]\nreaders = 1\n");
    let run = spawn(&cfg, &env.workdir, &["run"]);
    let started = Instant::now();
    while !run.stderr_so_far().contains("wave loaded") {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{}",
            run.stderr_so_far()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(500));
    run.signal(libc::SIGTERM);
    let out = run.finish(TIMEOUT);
    out.assert_exit(1)
        .assert_stderr_contains("indexes and constraints dropped for the load were restored");
    assert!(!out.stderr.contains("could not restore"), "{}", out.stderr);
    assert_eq!(env.pg_value(catalog), before);
    my2pg_in(&cfg, &env.workdir, &["run"]).assert_ok();
    assert_eq!(env.pg_value(catalog), before);
    assert_eq!(env.pg_count("t"), 300);
}

/// SIGKILL while the rebuild builds the indexes, every chunk loaded: the resumed run
/// builds only the index still missing. The one the killed run had built keeps its oid
/// (dropping and building everything again cost the pretix trial the whole rebuild twice).
#[test]
fn a_run_killed_in_its_index_rebuild_builds_only_what_is_missing() {
    let env = TestEnv::new("kill_rebuild");
    env.mysql_exec(
        "CREATE TABLE t (id int NOT NULL PRIMARY KEY, v int NOT NULL); \
         INSERT INTO t SELECT seq, seq * 7 FROM seq_1_to_300",
    );
    // One index whose build takes about 3 s (a deliberately slow IMMUTABLE function), one
    // that is built at once beside it.
    env.pg_exec(
        "CREATE TABLE t (id integer PRIMARY KEY, v integer NOT NULL); \
         CREATE FUNCTION slow_id(integer) RETURNS integer IMMUTABLE LANGUAGE plpgsql AS \
           $$ BEGIN PERFORM pg_sleep(0.01); RETURN $1; END $$; \
         CREATE INDEX t_slow ON t (slow_id(v)); CREATE INDEX t_v ON t (v); \
         COMMENT ON INDEX t_slow IS 'slow one'",
    );
    let catalog = "SELECT string_agg(c.relname || ' ' || i.indisvalid || ' ' \
                     || COALESCE(obj_description(c.oid, 'pg_class'), '-'), ', ' ORDER BY c.relname) \
                   FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid \
                   WHERE i.indrelid = 't'::regclass";
    let before = env.pg_value(catalog);
    assert_eq!(
        before.as_deref(),
        Some("t_pkey true -, t_slow true slow one, t_v true -")
    );
    let cfg = env.write_config("[workers]\nreaders = 1\n");
    let mut run = spawn(&cfg, &env.workdir, &["run"]);
    let started = Instant::now();
    // t_v is dropped before the load, and back once the rebuild built it; its record
    // goes a moment after its build commits (on a loaded machine the kill fell between).
    let t_v = || env.pg_value("SELECT to_regclass('t_v')::oid::text");
    let recorded = || {
        env.pg_value(
            "SELECT string_agg(object_name, ', ' ORDER BY object_name) \
             FROM my2pg.rebuild_objects WHERE kind = 'index'",
        )
    };
    while !run.stderr_so_far().contains("wave loaded")
        || t_v().is_none()
        || recorded().as_deref() != Some("t_slow")
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{}",
            run.stderr_so_far()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    run.kill();
    let killed = run.finish(TIMEOUT);
    assert_eq!(killed.code, None, "{}", killed.stderr);
    let built = t_v();
    assert_eq!(
        recorded(),
        Some("t_slow".into()),
        "the killed run stopped with t_v built and t_slow not"
    );
    let out = my2pg_in(&cfg, &env.workdir, &["run", "--json"]);
    out.assert_ok().assert_stderr_contains(
        "every chunk is loaded and the last run stopped while it put indexes and foreign keys \
         back: only the ones still missing are built, then the final steps; nothing is dropped",
    );
    assert_eq!(out.json()["totals"]["loaded_rows"], serde_json::json!(0));
    assert_eq!(t_v(), built, "t_v was dropped and built again");
    assert_eq!(env.pg_value(catalog), before);
    assert!(last_run(&cfg, &env.workdir)["finished_at"].is_string());
    assert_eq!(
        env.pg_value("SELECT count(*)::text || ' ' || sum(v)::text FROM t"),
        Some(format!("300 {}", 7 * 300 * 301 / 2))
    );
    // Nothing is left recorded, and the next run has nothing to do.
    assert_eq!(
        env.pg_value("SELECT count(*)::text FROM my2pg.rebuild_objects"),
        Some("0".into())
    );
    my2pg_in(&cfg, &env.workdir, &["run"])
        .assert_ok()
        .assert_stderr_contains("nothing to load");
}

/// A finished load seen from a work directory without its files: the run would export
/// everything again and drop the target's indexes and FKs while it found every row
/// loaded; it stops before touching the target, and `--fresh` is the way to reload.
#[test]
fn a_finished_load_is_not_reworked_from_an_empty_work_directory() {
    let (env, cfg, wd, run_id) = finished_counted_run("finished_elsewhere");
    let index_oid = || counted_index_oid(&env);
    let before = index_oid();
    let other = env.dir.join("empty-work");
    let out = my2pg_in(&cfg, &other, &["run"]);
    out.assert_exit(2)
        .assert_stderr_contains(&format!("the target's last run ({run_id}, finished "));
    out.assert_stderr_contains(&format!(
        ") loaded every table, and work directory {} is new (none of its files): this run would \
         export everything again and drop the target's indexes and foreign keys while it \
         found every row already loaded; use that run's work directory (--workdir), or `run \
         --fresh --yes` to load everything again; nothing was changed in the target",
        other.display()
    ));
    assert_eq!(index_oid(), before, "the index was not dropped");
    // The run's own work directory still finds nothing to do; --fresh reloads.
    my2pg_in(&cfg, &wd, &["run"])
        .assert_ok()
        .assert_stderr_contains("nothing to load");
    my2pg_in(&cfg, &other, &["run", "--fresh", "--yes"]).assert_ok();
    assert_eq!(counted_rows(&env).len(), 40);
    assert_eq!(counted_rows(&env), counted_source(&env));
}

/// A run stopped after its indexes and constraints came back (in ANALYZE or the
/// sequences step): the next run does only what is left, without dropping and
/// rebuilding every index and FK again.
#[test]
fn a_run_stopped_in_its_final_steps_resumes_without_rebuilding() {
    let (env, cfg) = counted_env("final_steps");
    env.pg_exec("CREATE INDEX counted_name ON counted (name)");
    let wd = env.workdir.clone();
    my2pg_in(&cfg, &wd, &["run"]).assert_ok();
    let index_oid = || env.pg_value("SELECT 'counted_name'::regclass::oid::text");
    let before = index_oid();
    // As a run killed while it set the sequences leaves it.
    env.pg_exec(
        "UPDATE my2pg.last_run SET sequences_set_at = NULL, finished_at = NULL; \
         SELECT setval('counted_id_seq', 1, false)",
    );
    let out = my2pg_in(&cfg, &wd, &["run", "--json"]);
    out.assert_ok().assert_stderr_contains(
        "every chunk is loaded and the indexes and constraints are back: only the final steps \
         are left (ANALYZE, autovacuum settings, sequences); nothing is dropped",
    );
    assert_eq!(out.json()["totals"]["loaded_rows"], serde_json::json!(0));
    // The report says this run did something (Placement trial: it read as if nothing).
    assert_eq!(out.json()["finished_earlier_run"], serde_json::json!(true));
    out.assert_stderr_contains(
        "nothing new was loaded: an earlier run loaded every chunk, and stopped in the steps \
         after its load (indexes and FKs, ANALYZE, sequences): this run finished them.",
    );
    assert_eq!(index_oid(), before, "the index was not rebuilt");
    assert_eq!(
        env.pg_value("SELECT nextval('counted_id_seq')::text"),
        Some("41".into())
    );
    let status = last_run(&cfg, &wd);
    assert!(status["finished_at"].is_string(), "{status}");
    assert_eq!(counted_rows(&env), counted_source(&env));
}

/// A killed run's statement can still be running when the next run starts (the server
/// notices a gone client only at client_connection_check_interval): a CREATE INDEX of it
/// committing after the new run rebuilt that index lost the index's comment. The run that
/// takes the lock ends every other my2pg session holding a transaction id first; read-only
/// ones (another process's verify) are left alone.
#[test]
fn a_run_ends_the_writing_sessions_an_earlier_run_left() {
    let env = TestEnv::new("orphan_writer");
    env.mysql_exec(KILL_SOURCE_DDL);
    fill_kill_source(&env, 10, 20, 10);
    env.pg_exec(KILL_TARGET_DDL);
    let cfg = kill_config(&env);
    let wd = env.workdir.clone();
    // An orphan of a "dead" run: a transaction with an id, as a CREATE INDEX or COPY has.
    let _orphan = env
        .pg_session("SET application_name = 'my2pg run=00dead-0001'; BEGIN; SELECT txid_current()");
    // A reader of another my2pg process (verify): no transaction id, left alone.
    let _reader = env.pg_session("SET application_name = 'my2pg run=00live-0002'; BEGIN");
    let sessions = |app: &str| {
        env.pg_value(&format!(
            "SELECT count(*)::text FROM pg_stat_activity WHERE application_name = '{app}'"
        ))
    };
    assert_eq!(sessions("my2pg run=00dead-0001"), Some("1".into()));
    let out = my2pg_in(&cfg, &wd, &["run"]);
    out.assert_ok().assert_stderr_contains(
        "ended target sessions an earlier, interrupted my2pg run left writing",
    );
    assert_eq!(sessions("my2pg run=00dead-0001"), Some("0".into()));
    assert_eq!(sessions("my2pg run=00live-0002"), Some("1".into()));
    assert_eq!(
        (
            env.pg_count("parent"),
            env.pg_count("child"),
            env.pg_count("events")
        ),
        (10, 20, 10)
    );
}

/// A rehearsal's work directory used again at the cut-over (RT trial): its complete
/// exports are not read again, so the run would load, or keep, the rehearsal's rows with
/// exit 0. A table whose source row count changed since stops the run before the target
/// is touched, into a loaded target or a new one; `--fresh` exports the source as it is.
#[test]
fn a_run_refuses_complete_exports_the_source_has_outgrown() {
    let (env, cfg) = counted_env("stale_export");
    let wd = env.workdir.clone();
    my2pg_in(&cfg, &wd, &["run"]).assert_ok();
    // Unchanged: the repeat finds nothing to do.
    my2pg_in(&cfg, &wd, &["run"])
        .assert_ok()
        .assert_stderr_contains("nothing to load");
    env.mysql_exec("INSERT INTO counted VALUES (41, 'after the rehearsal')");
    let message = format!(
        "the source changed since the files in {} were exported (counted holds 41 row(s) now \
         and 40 in its files): this run would load, or keep, the earlier rows. `run --fresh` \
         exports and loads the source as it is now; `import` loads these files as they are; \
         nothing was changed in the target",
        wd.display()
    );
    let out = my2pg_in(&cfg, &wd, &["run"]);
    // A refusal of the state found, labelled so: not a config mistake (Vendure trial).
    out.assert_exit(2)
        .assert_stderr_contains(&format!("error: refused: {message}"));
    assert_eq!(counted_rows(&env).len(), 40);
    // The same with the target emptied (a new target database for the cut-over).
    env.pg_exec("TRUNCATE counted; DROP SCHEMA my2pg CASCADE");
    my2pg_in(&cfg, &wd, &["run"])
        .assert_exit(2)
        .assert_stderr_contains(&message);
    assert_eq!(env.pg_count("counted"), 0);
    my2pg_in(&cfg, &wd, &["run", "--fresh", "--yes"]).assert_ok();
    assert_eq!(counted_rows(&env), counted_source(&env));
    assert_eq!(counted_rows(&env).len(), 41);
    // A row changed in place keeps every count (Buildbot trial): files a finished run
    // loaded, against a target holding none of them, are a rehearsal's.
    env.pg_exec("TRUNCATE counted; DROP SCHEMA my2pg CASCADE");
    env.mysql_exec("UPDATE counted SET name = 'edited since' WHERE id = 5");
    let out = my2pg_in(&cfg, &wd, &["run"]);
    out.assert_exit(2).assert_stderr_contains(&format!(
        "the files in {} were loaded by a finished run (",
        wd.display()
    ));
    out.assert_stderr_contains(
        ") into a target, and this target holds none of them: they are that run's data (a \
         rehearsal's), and the source may have changed since, row counts alike. `run --fresh` \
         exports and loads the source as it is now; `import` loads these files as they are; \
         nothing was changed in the target",
    );
    assert_eq!(env.pg_count("counted"), 0);
    // import loads the files as they are, as asked.
    my2pg_in(&cfg, &wd, &["import"]).assert_ok();
    assert_eq!(counted_rows(&env).len(), 41);
    assert_ne!(
        counted_rows(&env),
        counted_source(&env),
        "the files predate the edit"
    );
    my2pg_in(&cfg, &wd, &["run", "--fresh", "--yes"]).assert_ok();
    assert_eq!(counted_rows(&env), counted_source(&env));
    // status without the work directory (RT trial: exit 1) still shows the target's run.
    let gone = env.dir.join("elsewhere");
    let out = my2pg_in(&cfg, &gone, &["status", "--json"]);
    out.assert_ok().assert_stderr_contains(&format!(
        "work directory {} does not exist: no exported files to list; the target's state \
         follows",
        gone.display()
    ));
    // The ledger still says what was loaded (Dagster trial: no table at all).
    assert_eq!(
        out.json()["tables"],
        serde_json::json!([{"table": "counted", "exported_chunks": 0, "exported_rows": 0,
            "export_complete": false, "loaded_chunks": 5, "loaded_rows": 41,
            "files_unknown": true}])
    );
    out.assert_stderr_contains(
        "  counted                          exported ? (no files in the work directory)",
    );
    assert_eq!(out.json()["last_run"]["finished"], serde_json::json!(true));
    assert!(!gone.exists(), "status created the work directory");
}

/// After a finished run, a work directory missing the files of loaded tables (an
/// interrupted `--fresh` removes them before its TRUNCATE): a plain run would export them
/// again and drop the target's indexes, to fail on the first chunk the source changed
/// (Strapi trial). It stops first; `--fresh` reloads.
#[test]
fn a_finished_target_is_not_reworked_from_a_work_directory_missing_its_files() {
    let (env, cfg, wd, run_id) = finished_counted_run("files_gone");
    let index_oid = || counted_index_oid(&env);
    let before = index_oid();
    std::fs::remove_dir_all(wd.join("counted")).unwrap();
    env.mysql_exec("UPDATE counted SET name = 'changed' WHERE id = 3");
    let out = my2pg_in(&cfg, &wd, &["run"]);
    out.assert_exit(2)
        .assert_stderr_contains(&format!("the target's last run ({run_id}, finished "));
    out.assert_stderr_contains(&format!(
        ") loaded counted, whose files are gone from work directory {} (an interrupted `run \
         --fresh` removes them before its TRUNCATE): this run would export them again and drop \
         the target's indexes and foreign keys, to fail on any row the source changed since; \
         `run --fresh --yes` loads everything again; nothing was changed in the target",
        wd.display()
    ));
    assert_eq!(index_oid(), before, "the index was not dropped");
    my2pg_in(&cfg, &wd, &["run", "--fresh", "--yes"]).assert_ok();
    assert_eq!(counted_rows(&env), counted_source(&env));
}

/// A killed run's CREATE INDEX (or ADD CONSTRAINT) can commit on the server after its
/// client is gone, before the COMMENT that follows it (the attack: the index came back
/// without its comment, exit 0). The resumed rebuild finds it present, still recorded,
/// and puts the comment back. The state is made here as such a kill leaves it.
#[test]
fn a_resumed_rebuild_puts_back_the_comments_of_objects_already_present() {
    let env = TestEnv::new("comment_resume");
    env.mysql_exec(
        "CREATE TABLE p (id int NOT NULL PRIMARY KEY); \
         CREATE TABLE c (id int NOT NULL PRIMARY KEY, p_id int NOT NULL, u varchar(10) NOT NULL); \
         INSERT INTO p VALUES (1), (2); INSERT INTO c VALUES (1, 1, 'a'), (2, 2, 'b')",
    );
    env.pg_exec(
        "CREATE TABLE p (id integer PRIMARY KEY); \
         CREATE TABLE c (id integer PRIMARY KEY, p_id integer NOT NULL, u text NOT NULL, \
           CONSTRAINT c_p FOREIGN KEY (p_id) REFERENCES p (id)); \
         CREATE INDEX c_u ON c (u); \
         COMMENT ON INDEX c_u IS 'lookup by u'; COMMENT ON CONSTRAINT c_p ON c IS 'its parent'",
    );
    let comments = "SELECT obj_description('c_u'::regclass, 'pg_class') || ' / ' || \
                    (SELECT obj_description(oid, 'pg_constraint') FROM pg_constraint \
                     WHERE conname = 'c_p')";
    assert_eq!(
        env.pg_value(comments).as_deref(),
        Some("lookup by u / its parent")
    );
    let cfg = env.write_config("");
    my2pg_in(&cfg, &env.workdir, &["run"]).assert_ok();
    // As a run killed right after CREATE INDEX c_u and ADD CONSTRAINT c_p committed, and
    // before their comments, leaves it.
    env.pg_exec(
        "INSERT INTO my2pg.rebuild_objects (schema_name, table_name, kind, object_name, \
           definition, tablespace, comment) VALUES \
           ('public', 'c', 'index', 'c_u', 'CREATE INDEX c_u ON public.c USING btree (u)', \
            NULL, 'lookup by u'), \
           ('public', 'c', 'fk', 'c_p', 'FOREIGN KEY (p_id) REFERENCES p(id)', NULL, \
            'its parent'); \
         COMMENT ON INDEX c_u IS NULL; COMMENT ON CONSTRAINT c_p ON c IS NULL; \
         UPDATE my2pg.last_run SET constraints_restored_at = NULL, analyzed_at = NULL, \
           sequences_set_at = NULL, finished_at = NULL",
    );
    let index_oid = env.pg_value("SELECT 'c_u'::regclass::oid::text");
    my2pg_in(&cfg, &env.workdir, &["run"])
        .assert_ok()
        .assert_stderr_contains("only the ones still missing are built");
    assert_eq!(
        env.pg_value(comments).as_deref(),
        Some("lookup by u / its parent")
    );
    assert_eq!(
        env.pg_value("SELECT 'c_u'::regclass::oid::text"),
        index_oid,
        "the index was kept"
    );
    assert_eq!(
        env.pg_value("SELECT count(*)::text FROM my2pg.rebuild_objects"),
        Some("0".into())
    );
}

/// `import --fresh` empties the target before its first chunk: a chunk file changed after
/// export is found before the TRUNCATE (NocoDB trial: the target was emptied, then the
/// load failed on the tampered file).
#[test]
fn import_fresh_checks_every_file_before_it_truncates() {
    let (env, cfg) = counted_env("fresh_tampered");
    let wd = env.workdir.clone();
    my2pg_in(&cfg, &wd, &["run"]).assert_ok();
    let file = wd.join("counted").join("000002.csv");
    let mut bytes = std::fs::read(&file).unwrap();
    bytes[0] ^= 1;
    std::fs::write(&file, &bytes).unwrap();
    let out = my2pg_in(&cfg, &wd, &["import", "--fresh", "--yes"]);
    out.assert_exit(2).assert_stderr_contains(&format!(
        "chunk files do not match their manifests: {} changed after export (sha256 ",
        file.display()
    ));
    out.assert_stderr_contains(
        "export them again (`run --fresh` exports and loads everything); nothing was changed \
         in the target",
    );
    assert_eq!(
        counted_rows(&env),
        counted_source(&env),
        "nothing was truncated"
    );
    my2pg_in(&cfg, &wd, &["run", "--fresh", "--yes"]).assert_ok();
    assert_eq!(counted_rows(&env), counted_source(&env));
}

/// The mark that the files were loaded (`loaded.json`) is written last: when it cannot be
/// (a full disk, the work directory removed, here a directory in its place), the target
/// is complete all the same, so the run says so and exits 0 (the operator-night trial:
/// exit 1, and `status` said "not ready ( still to do)" over a finished target).
#[test]
fn a_mark_that_cannot_be_written_does_not_fail_a_finished_run() {
    let env = TestEnv::new("mark_unwritable");
    env.mysql_exec(
        "CREATE TABLE t (id int NOT NULL PRIMARY KEY, v varchar(10)); \
         INSERT INTO t VALUES (1, 'a'), (2, NULL)",
    );
    env.pg_exec("CREATE TABLE t (id integer PRIMARY KEY, v text)");
    let cfg = env.write_config("");
    let wd = env.workdir.clone();
    std::fs::create_dir_all(wd.join("loaded.json")).unwrap();
    let out = my2pg_in(&cfg, &wd, &["run"]);
    out.assert_ok();
    out.assert_stderr_contains(
        "the target is complete, but the mark that this work directory's files were loaded \
         could not be written (",
    );
    out.assert_stderr_contains(
        "a later run from this work directory into another target will not recognise them \
         as already loaded",
    );
    assert!(!wd.join("loaded.json.tmp").exists(), "no temp file left");
    assert_eq!(
        env.pg_rows("SELECT id::text, v FROM t ORDER BY t.id"),
        vec![
            vec![Some("1".to_string()), Some("a".to_string())],
            vec![Some("2".to_string()), None]
        ]
    );
    let status = my2pg_in(&cfg, &wd, &["status", "--json"]);
    status.assert_ok();
    assert_eq!(
        status.json()["last_run"]["finished"],
        serde_json::Value::Bool(true)
    );
}
