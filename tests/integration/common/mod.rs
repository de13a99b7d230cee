//! Shared fixtures for the integration tests.
//!
//! Every test gets its own MariaDB database and its own PostgreSQL database
//! (same unique name), a private temp directory holding the config file and
//! the work directory, and helpers to run SQL on both sides and to run the
//! `my2pg` binary. The servers are real: a test that cannot reach one fails.
//!
//! Server URLs come from `MY2PG_TEST_MYSQL_URL` (default
//! `mysql://root@127.0.0.1:3306`) and `MY2PG_TEST_PG_URL` (superuser; default
//! `postgres://postgres@127.0.0.1:5432`). Set `MY2PG_TEST_KEEP=1` to keep the
//! databases and the temp directory after the test.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use sha2::{Digest, Sha256};

/// The non-superuser role my2pg always runs as.
pub const OWNER_ROLE: &str = "my2pg_owner";

/// How long one my2pg invocation may take before the test fails.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(120);

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Admin URL of the MariaDB server.
pub fn mysql_admin_url() -> String {
    std::env::var("MY2PG_TEST_MYSQL_URL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "mysql://root@127.0.0.1:3306".to_string())
}

/// Superuser URL of the PostgreSQL server.
pub fn pg_admin_url() -> String {
    std::env::var("MY2PG_TEST_PG_URL")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "postgres://postgres@127.0.0.1:5432".to_string())
}

/// The parts of a `scheme://user:pass@host:port/path?query` URL.
#[derive(Clone, Debug)]
pub struct UrlParts {
    pub scheme: String,
    pub user: Option<String>,
    pub password: Option<String>,
    pub hostport: String,
    pub path: String,
    pub query: String,
}

impl UrlParts {
    pub fn parse(url: &str) -> UrlParts {
        let (scheme, rest) = url
            .split_once("://")
            .unwrap_or_else(|| panic!("not a URL: {}", redact_url(url)));
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, q.to_string()),
            None => (rest, String::new()),
        };
        let (authority, path) = match rest.split_once('/') {
            Some((a, p)) => (a, p.to_string()),
            None => (rest, String::new()),
        };
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h.to_string()),
            None => (None, authority.to_string()),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(u) => match u.split_once(':') {
                Some((u, p)) => (Some(u.to_string()), Some(p.to_string())),
                None => (Some(u.to_string()), None),
            },
        };
        UrlParts {
            scheme: scheme.to_string(),
            user,
            password,
            hostport,
            path,
            query,
        }
    }

    pub fn render(&self) -> String {
        let mut s = format!("{}://", self.scheme);
        if let Some(u) = &self.user {
            s.push_str(u);
            if let Some(p) = &self.password {
                s.push(':');
                s.push_str(p);
            }
            s.push('@');
        }
        s.push_str(&self.hostport);
        if !self.path.is_empty() {
            s.push('/');
            s.push_str(&self.path);
        }
        if !self.query.is_empty() {
            s.push('?');
            s.push_str(&self.query);
        }
        s
    }

    pub fn with_db(&self, db: &str) -> UrlParts {
        UrlParts {
            path: db.to_string(),
            ..self.clone()
        }
    }

    pub fn with_user(&self, user: &str) -> UrlParts {
        UrlParts {
            user: Some(user.to_string()),
            password: None,
            ..self.clone()
        }
    }
}

/// A URL with its password (if any) replaced by `***`, for messages.
pub fn redact_url(url: &str) -> String {
    if !url.contains("://") {
        return url.to_string();
    }
    let mut p = UrlParts::parse(url);
    if p.password.is_some() {
        p.password = Some("***".to_string());
    }
    p.render()
}

/// A `CONVERT(X'..' USING utf8mb4)` literal: the exact bytes of `s`, with no
/// client or server escaping involved.
pub fn my_str(s: &str) -> String {
    format!("CONVERT(X'{}' USING utf8mb4)", hex(s.as_bytes()))
}

/// `my_str(v)` or `NULL`.
pub fn my_opt(v: Option<&str>) -> String {
    v.map(my_str).unwrap_or_else(|| "NULL".to_string())
}

/// An `X'..'` binary literal.
pub fn my_bin(b: &[u8]) -> String {
    format!("X'{}'", hex(b))
}

/// Lower-case hex of `b`, like Postgres `encode(x, 'hex')`.
pub fn hex(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        write!(s, "{x:02x}").unwrap();
    }
    s
}

/// A Postgres string literal `'...'` (standard_conforming_strings=on).
pub fn pg_lit(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Postgres expression that is the exact UTF-8 text `s`.
pub fn pg_text_expr(s: &str) -> String {
    format!("convert_from('\\x{}'::bytea, 'UTF8')", hex(s.as_bytes()))
}

fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => write!(out, "\\u{:04X}", c as u32).unwrap(),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// SHA-256 of `b`, lower-case hex.
pub fn sha256_hex(b: &[u8]) -> String {
    hex(&Sha256::digest(b))
}

/// Recursive listing of `dir` (path, mode, size), for failure messages.
pub fn list_dir(dir: &Path) -> String {
    fn walk(dir: &Path, root: &Path, out: &mut String) {
        let mut entries: Vec<_> = match std::fs::read_dir(dir) {
            Ok(rd) => rd.filter_map(|e| e.ok()).collect(),
            Err(e) => {
                let _ = writeln!(out, "  <cannot read {}: {e}>", dir.display());
                return;
            }
        };
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let p = e.path();
            let md = match std::fs::symlink_metadata(&p) {
                Ok(m) => m,
                Err(_) => continue,
            };
            let rel = p.strip_prefix(root).unwrap_or(&p).display().to_string();
            let mode = md.permissions().mode() & 0o7777;
            if md.is_dir() {
                let _ = writeln!(out, "  {rel}/ ({mode:04o})");
                walk(&p, root, out);
            } else {
                let _ = writeln!(out, "  {rel} ({mode:04o}, {} bytes)", md.len());
            }
        }
    }
    let mut out = String::new();
    if !dir.exists() {
        return format!("  <{} does not exist>\n", dir.display());
    }
    walk(dir, dir, &mut out);
    if out.is_empty() {
        out.push_str("  <empty>\n");
    }
    out
}

fn sanitize_hint(hint: &str) -> String {
    let s: String = hint
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(30)
        .collect();
    if s.is_empty() {
        "t".to_string()
    } else {
        s
    }
}

/// One test's pair of databases plus its temp directory.
pub struct TestEnv {
    pub name: String,
    pub dir: PathBuf,
    pub workdir: PathBuf,
    mysql_admin: UrlParts,
    pg_admin: UrlParts,
    rt: tokio::runtime::Runtime,
}

pub type TestDbs = TestEnv;

impl TestEnv {
    pub fn new(name_hint: &str) -> TestEnv {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let name = format!(
            "m2p_{}_{}_{}",
            sanitize_hint(name_hint),
            std::process::id(),
            n
        );
        assert!(name.len() <= 63, "database name too long: {name}");
        let dir = std::env::temp_dir().join(format!("my2pg-it-{name}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let workdir = dir.join("work");
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let env = TestEnv {
            name,
            dir,
            workdir,
            mysql_admin: UrlParts::parse(&mysql_admin_url()),
            pg_admin: UrlParts::parse(&pg_admin_url()),
            rt,
        };
        env.create_databases();
        env
    }

    // ---- URLs ---------------------------------------------------------------

    /// Source URL (MariaDB admin user, this test's database).
    pub fn mysql_url(&self) -> String {
        self.mysql_admin.with_db(&self.name).render()
    }

    /// Target URL (my2pg_owner, this test's database, no password).
    pub fn pg_owner_url(&self) -> String {
        self.pg_admin
            .with_user(OWNER_ROLE)
            .with_db(&self.name)
            .render()
    }

    /// Target URL parts, for tests that want to tweak port/db/password.
    pub fn pg_owner_url_parts(&self) -> UrlParts {
        self.pg_admin.with_user(OWNER_ROLE).with_db(&self.name)
    }

    fn pg_admin_db_url(&self, db: Option<&str>) -> String {
        match db {
            Some(db) => self.pg_admin.with_db(db).render(),
            None => self.pg_admin.render(),
        }
    }

    // ---- setup / teardown -----------------------------------------------------

    fn create_databases(&self) {
        let name = self.name.clone();
        // MariaDB
        let murl = self.mysql_admin.clone().with_db("").render();
        self.rt.block_on(async {
            let mut conn = mysql_connect(&murl).await;
            conn.query_drop(format!(
                "DROP DATABASE IF EXISTS `{name}`; \
                 CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin"
            ))
            .await
            .unwrap_or_else(|e| {
                panic!("MariaDB {}: create database {name}: {e}", redact_url(&murl))
            });
            let _ = conn.disconnect().await;
        });
        // PostgreSQL
        let admin = self.pg_admin_db_url(None);
        let in_db = self.pg_admin_db_url(Some(&name));
        self.rt.block_on(async {
            let client = pg_connect(&admin).await;
            // Role creation races with parallel tests; duplicate_object /
            // unique_violation mean another test won, and any other transient
            // catalog conflict is retried.
            let role_sql = format!(
                "DO $$ BEGIN CREATE ROLE {OWNER_ROLE} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE; \
                 EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$"
            );
            let mut last_err = None;
            for _ in 0..10 {
                match client.batch_execute(&role_sql).await {
                    Ok(()) => {
                        last_err = None;
                        break;
                    }
                    Err(e) => {
                        last_err = Some(e);
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                }
            }
            if let Some(e) = last_err {
                panic!(
                    "PostgreSQL {}: create role {OWNER_ROLE}: {e:?}",
                    redact_url(&admin)
                );
            }
            client
                .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await
                .unwrap_or_else(|e| {
                    panic!("PostgreSQL {}: drop database: {e:?}", redact_url(&admin))
                });
            client
                .batch_execute(&format!(
                    "CREATE DATABASE \"{name}\" OWNER {OWNER_ROLE} ENCODING 'UTF8' \
                     LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
                ))
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL {}: create database {name}: {e:?}",
                        redact_url(&admin)
                    )
                });
            drop(client);
            let client = pg_connect(&in_db).await;
            client
                .batch_execute(&format!("ALTER SCHEMA public OWNER TO {OWNER_ROLE}"))
                .await
                .unwrap_or_else(|e| {
                    panic!(
                        "PostgreSQL {}: alter schema public: {e:?}",
                        redact_url(&in_db)
                    )
                });
        });
    }

    fn drop_databases(&self) {
        let name = self.name.clone();
        let murl = self.mysql_admin.clone().with_db("").render();
        let admin = self.pg_admin_db_url(None);
        self.rt.block_on(async {
            if let Ok(mut conn) = mysql_async::Conn::from_url(&murl).await {
                let _ = conn
                    .query_drop(format!("DROP DATABASE IF EXISTS `{name}`"))
                    .await;
                let _ = conn.disconnect().await;
            }
            if let Ok((client, conn)) = tokio_postgres::connect(&admin, tokio_postgres::NoTls).await
            {
                tokio::spawn(conn);
                let _ = client
                    .batch_execute(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                    .await;
            }
        });
    }

    // ---- SQL helpers ------------------------------------------------------------

    /// Runs a multi-statement batch on this test's MariaDB database.
    pub fn mysql_exec(&self, sql: &str) {
        let url = self.mysql_url();
        self.rt.block_on(async {
            let mut conn = mysql_connect(&url).await;
            if let Err(e) = conn.query_drop(sql).await {
                panic!("MariaDB {}: {e}\nSQL:\n{sql}", redact_url(&url));
            }
            let _ = conn.disconnect().await;
        });
    }

    /// Loads `data` with `LOAD DATA LOCAL INFILE` (`load` is the SQL after the file name):
    /// the one way to store a value larger than the server's max_allowed_packet, which no
    /// INSERT statement and no string function can build.
    pub fn mysql_load_local(&self, load: &str, data: Vec<u8>) {
        use futures::StreamExt;
        let url = self.mysql_url();
        self.rt.block_on(async {
            let mut conn = mysql_connect(&url).await;
            let pieces: Vec<std::io::Result<bytes::Bytes>> = data
                .chunks(1 << 20)
                .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
                .collect();
            conn.set_infile_handler(async move { Ok(futures::stream::iter(pieces).boxed()) });
            let sql = format!("LOAD DATA LOCAL INFILE 'data' {load}");
            if let Err(e) = conn.query_drop(&sql).await {
                panic!("MariaDB {}: {e}\nSQL:\n{sql}", redact_url(&url));
            }
            let _ = conn.disconnect().await;
        });
    }

    /// Runs `sql` in a transaction left open (until `mysql_rollback`): its changes are
    /// invisible to other sessions but already move InnoDB's row estimate.
    pub fn mysql_uncommitted(&self, sql: &str) -> mysql_async::Conn {
        let url = self.mysql_url();
        self.rt.block_on(async {
            let mut conn = mysql_connect(&url).await;
            for stmt in ["START TRANSACTION", sql] {
                if let Err(e) = conn.query_drop(stmt).await {
                    panic!("MariaDB {}: {e}\nSQL:\n{stmt}", redact_url(&url));
                }
            }
            conn
        })
    }

    pub fn mysql_rollback(&self, mut conn: mysql_async::Conn) {
        self.rt.block_on(async {
            conn.query_drop("ROLLBACK")
                .await
                .unwrap_or_else(|e| panic!("MariaDB ROLLBACK: {e}"));
            let _ = conn.disconnect().await;
        });
    }

    /// Rows of one query on MariaDB, every value as text (`None` = NULL).
    pub fn mysql_rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let url = self.mysql_url();
        self.rt.block_on(async {
            let mut conn = mysql_connect(&url).await;
            let rows: Vec<mysql_async::Row> = conn
                .query(sql)
                .await
                .unwrap_or_else(|e| panic!("MariaDB {}: {e}\nSQL:\n{sql}", redact_url(&url)));
            let _ = conn.disconnect().await;
            rows.into_iter()
                .map(|row| row.unwrap().into_iter().map(my_value_text).collect())
                .collect()
        })
    }

    /// Runs a batch on this test's PostgreSQL database as my2pg_owner.
    pub fn pg_exec(&self, sql: &str) {
        let url = self.pg_owner_url();
        self.rt.block_on(async {
            let client = pg_connect(&url).await;
            if let Err(e) = client.batch_execute(sql).await {
                panic!("PostgreSQL {}: {e:?}\nSQL:\n{sql}", redact_url(&url));
            }
        });
    }

    /// Opens a session as the owner, runs `sql` in it and keeps it open (locks it takes
    /// stay held) until the returned client is dropped.
    pub fn pg_session(&self, sql: &str) -> tokio_postgres::Client {
        let url = self.pg_owner_url();
        self.rt.block_on(async {
            let client = pg_connect(&url).await;
            if let Err(e) = client.batch_execute(sql).await {
                panic!("PostgreSQL {}: {e:?}\nSQL:\n{sql}", redact_url(&url));
            }
            client
        })
    }

    /// Runs `sql` in a session opened by `pg_session`.
    pub fn pg_session_exec(&self, client: &tokio_postgres::Client, sql: &str) {
        self.rt.block_on(async {
            if let Err(e) = client.batch_execute(sql).await {
                panic!("PostgreSQL session: {e:?}\nSQL:\n{sql}");
            }
        });
    }

    /// Runs a batch on this test's PostgreSQL database as the superuser.
    pub fn pg_admin_exec(&self, sql: &str) {
        let url = self.pg_admin_db_url(Some(&self.name));
        self.rt.block_on(async {
            let client = pg_connect(&url).await;
            if let Err(e) = client.batch_execute(sql).await {
                panic!("PostgreSQL {}: {e:?}\nSQL:\n{sql}", redact_url(&url));
            }
        });
    }

    /// Rows of a query (simple protocol, so every value arrives as text; the
    /// caller's SQL decides the text form). `None` = NULL. Rows of all
    /// statements in `sql` are concatenated.
    pub fn pg_rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        let url = self.pg_owner_url();
        self.rt.block_on(async {
            let client = pg_connect(&url).await;
            let msgs = client
                .simple_query(sql)
                .await
                .unwrap_or_else(|e| panic!("PostgreSQL {}: {e:?}\nSQL:\n{sql}", redact_url(&url)));
            msgs.into_iter()
                .filter_map(|m| match m {
                    tokio_postgres::SimpleQueryMessage::Row(r) => {
                        Some((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect())
                    }
                    _ => None,
                })
                .collect()
        })
    }

    /// The single value of a single-row, single-column query.
    pub fn pg_value(&self, sql: &str) -> Option<String> {
        let rows = self.pg_rows(sql);
        assert_eq!(rows.len(), 1, "expected one row from {sql}, got {rows:?}");
        assert_eq!(
            rows[0].len(),
            1,
            "expected one column from {sql}, got {rows:?}"
        );
        rows[0][0].clone()
    }

    /// `count(*)` of a target table (in schema public unless qualified).
    pub fn pg_count(&self, table: &str) -> i64 {
        self.pg_value(&format!("SELECT count(*) FROM {table}"))
            .unwrap()
            .parse()
            .unwrap()
    }

    // ---- config -------------------------------------------------------------------

    /// Writes `my2pg.toml` into the temp dir: source = this test's MariaDB
    /// database, target = this test's PostgreSQL database as my2pg_owner,
    /// schema public, workdir `<tempdir>/work`. `extra_toml` is appended; if it
    /// has its own `[run]` table the workdir key is put into that table.
    pub fn write_config(&self, extra_toml: &str) -> PathBuf {
        self.write_config_as("my2pg.toml", "public", &self.workdir, extra_toml)
    }

    /// Like `write_config` with a chosen file name, target schema and workdir.
    pub fn write_config_as(
        &self,
        file: &str,
        schema: &str,
        workdir: &Path,
        extra_toml: &str,
    ) -> PathBuf {
        let mut cfg = String::new();
        writeln!(cfg, "[source]\nurl = {}\n", toml_str(&self.mysql_url())).unwrap();
        writeln!(
            cfg,
            "[target]\nurl = {}\nschema = {}\n",
            toml_str(&self.pg_owner_url()),
            toml_str(schema)
        )
        .unwrap();
        let workdir_line = format!("workdir = {}", toml_str(&workdir.display().to_string()));
        let has_run = extra_toml.lines().any(|l| l.trim() == "[run]");
        if has_run {
            for line in extra_toml.lines() {
                cfg.push_str(line);
                cfg.push('\n');
                if line.trim() == "[run]" {
                    cfg.push_str(&workdir_line);
                    cfg.push('\n');
                }
            }
        } else {
            cfg.push_str(extra_toml);
            if !extra_toml.is_empty() && !extra_toml.ends_with('\n') {
                cfg.push('\n');
            }
            writeln!(cfg, "\n[run]\n{workdir_line}").unwrap();
        }
        let path = self.dir.join(file);
        std::fs::write(&path, cfg).unwrap();
        path
    }

    /// Writes a config with arbitrary full text (for config-error tests).
    pub fn write_raw_config(&self, file: &str, text: &str) -> PathBuf {
        let path = self.dir.join(file);
        std::fs::write(&path, text).unwrap();
        path
    }

    // ---- running my2pg ------------------------------------------------------------

    /// A my2pg command using `config` (appended as `--config <path>`).
    pub fn cmd(&self, config: &Path, args: &[&str]) -> TestCommand {
        TestCommand {
            args: args.iter().map(|s| s.to_string()).collect(),
            config: config.to_path_buf(),
            envs: Vec::new(),
            workdir: self.workdir.clone(),
        }
    }

    /// Runs my2pg with the default config (`write_config("")` if absent).
    /// `verify --level L` says equal (exit 0) at every level given.
    #[track_caller]
    pub fn assert_verifies_equal(&self, levels: &[&str]) {
        for level in levels {
            self.my2pg(&["verify", "--level", level])
                .assert_ok()
                .assert_stderr_contains(&format!("verify ({level}): equal"));
        }
    }

    pub fn my2pg(&self, args: &[&str]) -> TestOutput {
        let cfg = self.dir.join("my2pg.toml");
        let cfg = if cfg.exists() {
            cfg
        } else {
            self.write_config("")
        };
        self.cmd(&cfg, args).run()
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        if std::env::var("MY2PG_TEST_KEEP").as_deref() == Ok("1") {
            eprintln!(
                "MY2PG_TEST_KEEP=1: keeping databases `{}` and {}",
                self.name,
                self.dir.display()
            );
            return;
        }
        self.drop_databases();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn mysql_connect(url: &str) -> mysql_async::Conn {
    mysql_async::Conn::from_url(url)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to MariaDB at {}: {e}", redact_url(url)))
}

async fn pg_connect(url: &str) -> tokio_postgres::Client {
    let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to PostgreSQL at {}: {e:?}", redact_url(url)));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    client
}

fn my_value_text(v: mysql_async::Value) -> Option<String> {
    use mysql_async::Value;
    match v {
        Value::NULL => None,
        Value::Bytes(b) => Some(String::from_utf8_lossy(&b).into_owned()),
        Value::Int(i) => Some(i.to_string()),
        Value::UInt(u) => Some(u.to_string()),
        Value::Float(f) => Some(f.to_string()),
        Value::Double(f) => Some(f.to_string()),
        other => Some(format!("{other:?}")),
    }
}

/// The my2pg binary with `args` and `--config <config>`; nothing from the developer's
/// shell (URLs, passwords, log filters) leaks into the run.
pub fn my2pg_command(args: &[&str], config: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_my2pg"));
    cmd.args(args).arg("--config").arg(config);
    for k in [
        "MY2PG_SOURCE_URL",
        "MY2PG_SOURCE_PASSWORD",
        "MY2PG_TARGET_URL",
        "MY2PG_TARGET_PASSWORD",
        "RUST_LOG",
        "MY2PG_LOG",
    ] {
        cmd.env_remove(k);
    }
    cmd
}

/// A pending my2pg invocation.
pub struct TestCommand {
    args: Vec<String>,
    config: PathBuf,
    envs: Vec<(String, String)>,
    workdir: PathBuf,
}

impl TestCommand {
    pub fn env(mut self, k: &str, v: &str) -> TestCommand {
        self.envs.push((k.to_string(), v.to_string()));
        self
    }

    // The child is reaped by `wait4` (which also gives its peak RSS), not Child::wait.
    #[allow(clippy::zombie_processes)]
    pub fn run(self) -> TestOutput {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let mut cmd = my2pg_command(&args, &self.config);
        for (k, v) in &self.envs {
            cmd.env(k, v);
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let start = Instant::now();
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", env!("CARGO_BIN_EXE_my2pg")));
        let mut out = child.stdout.take().unwrap();
        let mut err = child.stderr.take().unwrap();
        let t_out = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = out.read_to_end(&mut v);
            v
        });
        let t_err = std::thread::spawn(move || {
            let mut v = Vec::new();
            let _ = err.read_to_end(&mut v);
            v
        });
        let mut timed_out = false;
        // wait4 instead of Child::wait: it also tells this child's own peak RSS.
        let pid = child.id() as libc::pid_t;
        let (status, peak_rss_kb) = loop {
            if let Some(done) = wait4(pid, libc::WNOHANG) {
                break done;
            }
            if start.elapsed() > COMMAND_TIMEOUT {
                let _ = child.kill();
                timed_out = true;
                break wait4(pid, 0).expect("a blocking wait4 returns the child");
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let stdout = String::from_utf8_lossy(&t_out.join().unwrap()).into_owned();
        let stderr = String::from_utf8_lossy(&t_err.join().unwrap()).into_owned();
        let output = TestOutput {
            args: self.args,
            config: self.config,
            code: status.code(),
            peak_rss_kb,
            stdout,
            stderr,
            workdir: self.workdir,
        };
        if timed_out {
            output.fail(&format!("my2pg did not finish within {COMMAND_TIMEOUT:?}"));
        }
        output
    }
}

/// Reaps `pid` (WNOHANG: None while it runs): its exit status and its peak RSS in KiB.
pub fn wait4(pid: libc::pid_t, flags: libc::c_int) -> Option<(std::process::ExitStatus, u64)> {
    use std::os::unix::process::ExitStatusExt;
    let mut status = 0;
    // SAFETY: plain syscall on our own child; both out-pointers are valid locals.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let got = loop {
        let got = unsafe { libc::wait4(pid, &mut status, flags, &mut usage) };
        let err = std::io::Error::last_os_error();
        if got >= 0 || err.kind() != std::io::ErrorKind::Interrupted {
            assert!(got >= 0, "wait4({pid}): {err}");
            break got;
        }
    };
    (got == pid).then(|| {
        (
            std::process::ExitStatus::from_raw(status),
            usage.ru_maxrss as u64,
        )
    })
}

/// What one my2pg invocation produced.
pub struct TestOutput {
    pub args: Vec<String>,
    pub config: PathBuf,
    /// Peak resident memory of the my2pg process, KiB.
    pub peak_rss_kb: u64,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub workdir: PathBuf,
}

impl TestOutput {
    /// Panics with the full context of the invocation.
    #[track_caller]
    pub fn fail(&self, why: &str) -> ! {
        let config = std::fs::read_to_string(&self.config).unwrap_or_default();
        panic!(
            "\n{why}\n\
             --- command: my2pg {} --config {}\n\
             --- exit code: {:?}\n\
             --- config:\n{config}\n\
             --- stdout:\n{}\n\
             --- stderr:\n{}\n\
             --- workdir {}:\n{}",
            self.args.join(" "),
            self.config.display(),
            self.code,
            self.stdout,
            self.stderr,
            self.workdir.display(),
            list_dir(&self.workdir),
        )
    }

    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        self.assert_exit(0)
    }

    #[track_caller]
    pub fn assert_exit(&self, code: i32) -> &Self {
        if self.code != Some(code) {
            self.fail(&format!("expected exit code {code}, got {:?}", self.code));
        }
        self
    }

    /// Stdout parsed as one JSON document.
    #[track_caller]
    pub fn json(&self) -> serde_json::Value {
        match serde_json::from_str(&self.stdout) {
            Ok(v) => v,
            Err(e) => self.fail(&format!("stdout is not one JSON document: {e}")),
        }
    }

    #[track_caller]
    pub fn assert_stderr_contains(&self, needle: &str) -> &Self {
        if !self.stderr.contains(needle) {
            self.fail(&format!("stderr does not contain {needle:?}"));
        }
        self
    }

    /// `check` must hold, else fail with the invocation's context.
    #[track_caller]
    pub fn check(&self, cond: bool, why: &str) -> &Self {
        if !cond {
            self.fail(why);
        }
        self
    }
}

/// `report["waves"]` as `Vec<Vec<String>>`.
pub fn waves(report: &serde_json::Value) -> Vec<Vec<String>> {
    serde_json::from_value(report["waves"].clone()).unwrap_or_else(|e| {
        panic!("`waves` is not an array of arrays of strings ({e}): {report:#}")
    })
}

/// `report["tables"]` of an export/import/run report as table -> (rows, chunks).
pub fn table_stats(report: &serde_json::Value) -> BTreeMap<String, (u64, u64)> {
    let tables = report["tables"]
        .as_array()
        .unwrap_or_else(|| panic!("`tables` is not an array: {report:#}"));
    tables
        .iter()
        .map(|t| {
            let name = t["table"]
                .as_str()
                .unwrap_or_else(|| panic!("no `table` in {t}"));
            let rows = t["rows"]
                .as_u64()
                .unwrap_or_else(|| panic!("no `rows` in {t}"));
            let chunks = t["chunks"]
                .as_u64()
                .unwrap_or_else(|| panic!("no `chunks` in {t}"));
            (name.to_string(), (rows, chunks))
        })
        .collect()
}

/// `report["problems"]` as (kind, table, column) triples, sorted.
/// The `problems` of a plan report: each one's message, in the report's order.
/// Two string fields of each entry of a JSON array (`report[list]`), in order: what a
/// test compares of findings, warnings and problems.
pub fn field_pairs(
    report: &serde_json::Value,
    list: &str,
    a: &str,
    b: &str,
) -> Vec<(String, String)> {
    report[list]
        .as_array()
        .unwrap_or_else(|| panic!("`{list}` is not an array: {report:#}"))
        .iter()
        .map(|e| {
            let field = |k: &str| {
                e[k].as_str()
                    .unwrap_or_else(|| panic!("`{list}` entry without string {k}: {e}"))
                    .to_string()
            };
            (field(a), field(b))
        })
        .collect()
}

pub fn problem_messages(report: &serde_json::Value) -> Vec<String> {
    report["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("`problems` is not an array: {report:#}"))
        .iter()
        .map(|p| {
            p["message"]
                .as_str()
                .unwrap_or_else(|| panic!("problem without message: {p}"))
                .to_string()
        })
        .collect()
}

pub fn problems(report: &serde_json::Value) -> Vec<(String, String, Option<String>)> {
    let arr = report["problems"]
        .as_array()
        .unwrap_or_else(|| panic!("`problems` is not an array: {report:#}"));
    let mut v: Vec<_> = arr
        .iter()
        .map(|p| {
            (
                p["kind"]
                    .as_str()
                    .unwrap_or_else(|| panic!("problem without kind: {p}"))
                    .to_string(),
                p["table"]
                    .as_str()
                    .unwrap_or_else(|| panic!("problem without table: {p}"))
                    .to_string(),
                p["column"].as_str().map(str::to_string),
            )
        })
        .collect();
    v.sort();
    v
}

/// `report["skipped_tables"][*].table`, sorted.
pub fn skipped_tables(report: &serde_json::Value) -> Vec<String> {
    let arr = report["skipped_tables"]
        .as_array()
        .unwrap_or_else(|| panic!("`skipped_tables` is not an array: {report:#}"));
    let mut v: Vec<String> = arr
        .iter()
        .map(|t| {
            t["table"]
                .as_str()
                .unwrap_or_else(|| panic!("skipped table without name: {t}"))
                .to_string()
        })
        .collect();
    v.sort();
    v
}

/// The messages of `report["warnings"]` of one kind, in report order.
pub fn warning_messages(report: &serde_json::Value, kind: &str) -> Vec<String> {
    report["warnings"]
        .as_array()
        .unwrap_or_else(|| panic!("`warnings` is not an array: {report:#}"))
        .iter()
        .filter(|w| w["kind"] == kind)
        .map(|w| {
            w["message"]
                .as_str()
                .unwrap_or_else(|| panic!("warning without message: {w}"))
                .to_string()
        })
        .collect()
}

/// Every plan warning as (kind, message), in report order.
pub fn warning_pairs(report: &serde_json::Value) -> Vec<(String, String)> {
    report["warnings"]
        .as_array()
        .unwrap_or_else(|| panic!("`warnings` is not an array: {report:#}"))
        .iter()
        .map(|w| {
            (
                w["kind"].as_str().unwrap_or_default().to_string(),
                w["message"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// Shorthand for building expected rows.
pub fn row(vals: &[Option<&str>]) -> Vec<Option<String>> {
    vals.iter().map(|v| v.map(str::to_string)).collect()
}

/// One `check` finding: (table, column, class, count, sample_keys, handled_by_policy).
pub type CheckFinding = (String, String, String, u64, Vec<String>, bool);

/// `findings` as sorted (table, column, class, count, sample_keys, handled_by_policy).
pub fn check_findings(report: &serde_json::Value) -> Vec<CheckFinding> {
    let mut v: Vec<CheckFinding> = report["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("`findings` is not an array: {report:#}"))
        .iter()
        .map(|f| {
            (
                f["table"].as_str().unwrap().to_string(),
                f["column"].as_str().unwrap_or("").to_string(),
                f["class"].as_str().unwrap().to_string(),
                f["count"].as_u64().unwrap(),
                f["sample_keys"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|s| s.as_str().unwrap().to_string())
                    .collect(),
                f["handled_by_policy"].as_bool().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// `rules_applied` as sorted (table, column, rule, changed_values).
pub fn rules_applied(report: &serde_json::Value) -> Vec<(String, String, String, u64)> {
    let mut v: Vec<_> = report["rules_applied"]
        .as_array()
        .unwrap_or_else(|| panic!("`rules_applied` is not an array: {report:#}"))
        .iter()
        .map(|r| {
            (
                r["table"].as_str().unwrap().to_string(),
                r["column"].as_str().unwrap().to_string(),
                r["rule"].as_str().unwrap().to_string(),
                r["changed_values"].as_u64().unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}

/// Writes a test's edit of a manifest as an earlier version's manifest would be (without
/// the checksum the edit breaks: a manifest whose checksum does not match is refused).
pub fn write_edited_manifest(path: &Path, m: &mut serde_json::Value) {
    if let Some(o) = m.as_object_mut() {
        o.remove("checksum");
    }
    std::fs::write(path, serde_json::to_vec_pretty(m).unwrap()).unwrap();
}
