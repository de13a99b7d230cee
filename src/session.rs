//! Opening connections: MySQL pinned to utf8mb4 and UTC and read-only snapshots;
//! Postgres with TLS when the server offers it and predictable session settings.

use std::str::FromStr;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Opts, OptsBuilder};

use crate::config::Consistency;
use crate::error::{Error, ErrorKind, Result};
use crate::secret::Dsn;

/// `: thread 12 (user app, 75 s, Updating), ...`: the longest statements running on
/// the source besides ours, for an operator to look up (`SHOW PROCESSLIST`, `KILL`);
/// only those running about as long as the lock waited could have held it back, and
/// not those waiting for a global read lock themselves (another one's, or ours).
/// Their text is not shown: it can hold literals such as passwords. Empty when the
/// processlist cannot be read.
async fn running_statements(dsn: &Dsn, ours: u32, waited_secs: u32) -> String {
    let Ok(mut c) = mysql_connect(dsn).await else {
        return String::new();
    };
    let rows: mysql_async::Result<Vec<(u64, String, u64, String)>> = c
        .exec(
            "SELECT ID, USER, TIME, COALESCE(STATE, '') FROM information_schema.PROCESSLIST \
             WHERE COMMAND NOT IN ('Sleep', 'Daemon', 'Binlog Dump') AND ID <> CONNECTION_ID() \
             AND ID <> ? AND INFO IS NOT NULL AND TIME >= ? \
             AND COALESCE(STATE, '') NOT IN ('Waiting for backup lock', \
               'Waiting for global read lock') \
             AND INFO NOT LIKE 'FLUSH TABLES WITH READ LOCK%' \
             ORDER BY TIME DESC, ID LIMIT 5",
            (ours, waited_secs.saturating_sub(1)),
        )
        .await;
    let _ = c.disconnect().await;
    let Ok(rows) = rows else {
        return String::new();
    };
    if rows.is_empty() {
        return ": none is running now, so an idle session holding LOCK TABLES or a table \
                lock of an open transaction is the likely one (SHOW PROCESSLIST lists the \
                sessions; information_schema.METADATA_LOCK_INFO shows their locks where its \
                plugin is loaded)"
            .into();
    }
    let list: Vec<String> = rows
        .iter()
        .map(|(id, user, time, state)| {
            let state = if state.is_empty() {
                String::new()
            } else {
                format!(", {state}")
            };
            format!("thread {id} (user {user}, {time} s{state})")
        })
        .collect();
    format!(": {}", list.join(", "))
}

/// Session settings every source connection gets, so that values arrive the same way
/// whatever the server's defaults are.
const MYSQL_INIT: &[&str] = &[
    "SET NAMES utf8mb4",
    // timestamp columns are read in UTC; datetime carries no zone and is not affected.
    "SET time_zone = '+00:00'",
    // The server's modes change what a read returns (PAD_CHAR_TO_FULL_LENGTH pads
    // char(n)) and how SQL parses (ANSI_QUOTES, NO_BACKSLASH_ESCAPES, ORACLE): none.
    "SET SESSION sql_mode = ''",
    // A reader stalled by back-pressure must not be cut off by the server.
    "SET SESSION net_write_timeout = 3600",
    "SET SESSION net_read_timeout = 3600",
];

/// The largest packet the MySQL protocol allows (1 GiB).
const MAX_PACKET: usize = 1 << 30;

pub fn mysql_opts(dsn: &Dsn) -> Result<(OptsBuilder, String)> {
    let opts = Opts::from_url(dsn.full_url()).map_err(|e| {
        Error::config(format!(
            "source.url {dsn}: {}",
            redact_url_error(&e, &dsn.to_string())
        ))
    })?;
    let db = opts
        .db_name()
        .filter(|d| !d.is_empty())
        .ok_or_else(|| Error::config(format!("source.url {dsn}: names no database")))?
        .to_string();
    // Without a client value mysql_async takes the server's (often 16 MiB) and refuses a
    // larger row with "Packet is larger than max_allowed_packet", though the server sends
    // stored values of any size: accept up to the protocol's 1 GiB unless the URL says.
    let packet = opts.max_allowed_packet().unwrap_or(MAX_PACKET);
    // mysql_async hands the URL's host to the resolver as written: an IPv6 address keeps
    // its brackets (`[::1]`) and is not found.
    let unbracketed = opts
        .ip_or_hostname()
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .map(str::to_string);
    let mut builder = OptsBuilder::from_opts(opts);
    if let Some(host) = unbracketed {
        builder = builder.ip_or_hostname(host);
    }
    let builder = builder
        .init(MYSQL_INIT.to_vec())
        .stmt_cache_size(16usize)
        .max_allowed_packet(Some(packet));
    Ok((builder, db))
}

fn redact_url_error(e: &mysql_async::UrlError, shown: &str) -> String {
    use mysql_async::UrlError;
    // A parameter's name is the operator's own text, never a secret; its value may be.
    // (The Kallithea trial: SQLAlchemy's `?charset=utf8mb4` printed a Rust debug form.)
    match e {
        UrlError::UnknownParameter { param } if param == "charset" => {
            return "the URL parameter `charset` is not one my2pg takes: remove it (every \
                    source session reads in utf8mb4)"
                .into()
        }
        UrlError::UnknownParameter { param } => {
            return format!("the URL parameter `{param}` is not one my2pg takes: remove it")
        }
        UrlError::InvalidParamValue { param, .. } => {
            return format!("the URL parameter `{param}` has a value it cannot take")
        }
        UrlError::UnsupportedScheme { scheme } => {
            return format!("the scheme `{scheme}` is not mysql:// (nor mariadb://)")
        }
        _ => {}
    }
    // UrlError variants can echo URL parts; keep only the kind of problem.
    let s = format!("{e:?}");
    let kind = s.split('(').next().unwrap_or("invalid URL");
    if kind.trim() == "Parse" {
        format!("Parse ({})", url_parse_hint(shown))
    } else {
        kind.to_string()
    }
}

/// Why a URL did not parse, read from its shown (password-free) form: a host or port
/// that is wrong in itself is named; anything else may owe it to an unencoded password
/// (the attack: port 99999 got the advice to percent-encode the password).
fn url_parse_hint(shown: &str) -> String {
    let rest = shown.split_once("://").map_or(shown, |(_, r)| r);
    let authority = &rest[..rest.find(['/', '?']).unwrap_or(rest.len())];
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    if host.starts_with('[') && !host.contains(']') {
        return "an IPv6 host needs its closing `]`".into();
    }
    let after_host = match host.rfind(']') {
        Some(i) => &host[i + 1..],
        None => host,
    };
    if let Some((_, port)) = after_host.rsplit_once(':') {
        if !port.is_empty() && port.chars().all(|c| c.is_ascii_digit()) {
            if !port.parse::<u32>().is_ok_and(|p| (1..=65535).contains(&p)) {
                return format!("port {port} is not one from 1 to 65535");
            }
        } else if !port.contains(['@', '/', '?', '#']) {
            return format!("port `{port}` is not a number");
        }
    }
    crate::secret::ENCODE_HINT.to_string()
}

/// How long a connection may take, handshake and login included (30 s, or
/// `MY2PG_CONNECT_TIMEOUT` seconds). Neither client bounds the handshake itself: a server
/// (or a proxy) that accepts the TCP connection and then says nothing would hang a run at
/// its start with no message.
pub fn connect_timeout() -> std::time::Duration {
    static SECS: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    let secs = *SECS.get_or_init(|| match std::env::var("MY2PG_CONNECT_TIMEOUT") {
        Err(_) => 30,
        Ok(v) => match v.trim().parse::<u64>() {
            Ok(n) if n > 0 => n,
            _ => {
                tracing::warn!(
                    "MY2PG_CONNECT_TIMEOUT={v:?} is not a whole number of seconds above 0: \
                     connections time out after 30 s"
                );
                30
            }
        },
    });
    std::time::Duration::from_secs(secs)
}

fn connect_timed_out(side: &'static str, dsn: &Dsn) -> Error {
    ErrorKind::Connect {
        side,
        dsn: dsn.to_string(),
        reason: format!(
            "no answer within {} s (the host is unreachable, or something accepted the \
             connection and never completed the handshake: check the host and port)",
            connect_timeout().as_secs()
        ),
    }
    .into()
}

pub async fn mysql_connect(dsn: &Dsn) -> Result<Conn> {
    let (opts, _) = mysql_opts(dsn)?;
    tokio::time::timeout(connect_timeout(), Conn::new(opts))
        .await
        .map_err(|_| connect_timed_out("source", dsn))?
        .map_err(|e| {
            // Unknown database (1049), access denied (1044, 1045, 1698).
            let config = matches!(&e, mysql_async::Error::Server(se)
                if matches!(se.code, 1044 | 1045 | 1049 | 1698));
            let denied = matches!(&e, mysql_async::Error::Server(se)
                if matches!(se.code, 1045 | 1698));
            let mut reason = crate::error::mysql_reason(&e);
            if denied {
                reason.push_str(&password_source_note("source", dsn));
            }
            connect_failed("source", dsn, reason, config)
        })
}

/// Which password the server refused: with an env var, a file and the URL all able to
/// give one, the operator must know which to fix (never the password itself).
fn password_source_note(side: &str, dsn: &Dsn) -> String {
    match dsn.password_source() {
        "" => format!(
            " (no password was given: set MY2PG_{}_PASSWORD or {side}.password_file)",
            side.to_ascii_uppercase()
        ),
        from => format!(" (the password came from {from})"),
    }
}

/// A database the server does not have, or credentials it refuses, is a config mistake
/// (exit 2, as a wrong schema name is); anything else may pass (exit 1).
fn connect_failed(side: &'static str, dsn: &Dsn, reason: String, config: bool) -> Error {
    let e = ErrorKind::Connect {
        side,
        dsn: dsn.to_string(),
        reason,
    };
    if config {
        Error::config(e.to_string())
    } else {
        e.into()
    }
}

/// Opens the reader connections. With `snapshot`, every connection sees one consistent
/// state of the source: a brief global read lock holds writers back while each reader
/// starts its snapshot transaction (the approach mydumper uses); a single reader needs no lock.
/// Also returns the source's binlog/GTID position matching the snapshot, when the server
/// has one (so a later catch-up or audit knows exactly which state was copied).
pub async fn open_readers(
    dsn: &Dsn,
    n: usize,
    consistency: Consistency,
    lock_wait_secs: u32,
) -> Result<(Vec<Conn>, Option<String>)> {
    let mut conns = Vec::with_capacity(n);
    for _ in 0..n {
        conns.push(mysql_connect(dsn).await?);
    }
    if consistency == Consistency::None {
        return Ok((conns, None));
    }
    let mut position = None;
    let mut lock_conn = None;
    if n > 1 {
        let mut c = mysql_connect(dsn).await?;
        // While FTWRL waits for running statements it also holds back every writer:
        // bound that wait instead of stalling a live source.
        c.query_drop(format!("SET SESSION lock_wait_timeout = {lock_wait_secs}"))
            .await
            .map_err(|e| Error::mysql("set lock_wait_timeout", e))?;
        // MariaDB also bounds the whole statement on the server, so a waiting FTWRL ends
        // even when my2pg was killed and its watchdog with it (MySQL has no such bound
        // for FTWRL; the variable is unknown there, hence the ignored error).
        let _ = c
            .query_drop(format!("SET SESSION max_statement_time = {lock_wait_secs}"))
            .await;
        tracing::info!(
            "taking a global read lock to start {n} consistent snapshots \
             (waits for running writes, at most {lock_wait_secs} s)"
        );
        let t0 = std::time::Instant::now();
        // lock_wait_timeout does not bound every stage of FTWRL ("Waiting for table
        // flush" behind a long query): a watchdog kills our own statement at the limit.
        let lock_id = c.id();
        let watchdog = {
            let dsn = dsn.clone();
            tokio::spawn(async move {
                tokio::time::sleep(std::time::Duration::from_secs(lock_wait_secs as u64)).await;
                if let Ok(mut k) = mysql_connect(&dsn).await {
                    let _ = k.query_drop(format!("KILL QUERY {lock_id}")).await;
                    let _ = k.disconnect().await;
                }
            })
        };
        // Interrupted (SIGINT/SIGTERM drop this future): the queued FTWRL would go on
        // holding back every writer of the source; kill it on the way out.
        let mut on_drop = KillQueryOnDrop {
            dsn: Some(dsn.clone()),
            id: lock_id,
        };
        let locked = c.query_drop("FLUSH TABLES WITH READ LOCK").await;
        on_drop.dsn = None;
        watchdog.abort();
        if let Err(e) = locked {
            // No RELOAD privilege is the config's to fix; a lock that timed out behind
            // running statements is a moment of the source's: name them and go on later.
            let denied = matches!(&e, mysql_async::Error::Server(s) if s.code == 1227);
            if denied {
                return Err(Error::config(format!(
                    "source_consistency = \"snapshot\" with {n} readers needs a brief global \
                     read lock (RELOAD privilege), which the source did not grant: {e}. Grant \
                     RELOAD, use readers = 1, or set source_consistency = \"none\" when the \
                     application is already stopped"
                )));
            }
            let running = running_statements(dsn, lock_id, lock_wait_secs).await;
            return Err(Error::mysql(
                format!(
                    "take the brief global read lock that lines up {n} readers' snapshots \
                     (source_consistency = \"snapshot\"): it waited {lock_wait_secs} s \
                     (run.snapshot_lock_wait_seconds) for the source's running statements or \
                     table locks{running}. \
                     Nothing was read; run again once they finish, or use readers = 1 (no \
                     lock), or source_consistency = \"none\" when the application is already \
                     stopped"
                ),
                e,
            ));
        }
        tracing::info!(
            "global read lock taken after {:.1} s",
            t0.elapsed().as_secs_f64()
        );
        position = binlog_position(&mut c).await;
        lock_conn = Some(c);
    }
    for c in conns.iter_mut() {
        c.query_drop("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            .await
            .map_err(|e| Error::mysql("set isolation level", e))?;
        c.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            .await
            .map_err(|e| Error::mysql("start snapshot transaction", e))?;
    }
    if let Some(mut c) = lock_conn {
        c.query_drop("UNLOCK TABLES")
            .await
            .map_err(|e| Error::mysql("unlock tables", e))?;
        let _ = c.disconnect().await;
    } else if let Some(c) = conns.first_mut() {
        // One reader: MariaDB reports the binlog position of the snapshot itself.
        let snap: Vec<(String, String)> = c
            .query("SHOW STATUS LIKE 'binlog_snapshot_%'")
            .await
            .unwrap_or_default();
        let get = |k: &str| snap.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
        if let (Some(f), Some(p)) = (get("binlog_snapshot_file"), get("binlog_snapshot_position")) {
            if !f.is_empty() {
                position = Some(format!("{f}:{p}"));
            }
        }
    }
    Ok((conns, position))
}

/// Kills the statement of session `id` when dropped while armed (`dsn` set).
struct KillQueryOnDrop {
    dsn: Option<Dsn>,
    id: u32,
}

impl Drop for KillQueryOnDrop {
    fn drop(&mut self) {
        let (Some(dsn), Ok(rt)) = (self.dsn.take(), tokio::runtime::Handle::try_current()) else {
            return;
        };
        let id = self.id;
        let kill = rt.spawn(async move {
            if let Ok(mut k) = mysql_connect(&dsn).await {
                let _ = k.query_drop(format!("KILL QUERY {id}")).await;
                let _ = k.disconnect().await;
            }
        });
        // The interrupt handler awaits it: the runtime would drop it at its next await.
        if let Ok(mut pending) = PENDING_KILLS.lock() {
            pending.push(kill);
        }
    }
}

static PENDING_KILLS: std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>> =
    std::sync::Mutex::new(Vec::new());

/// Waits (at most 5 s each) for the kills that interrupted work left behind.
pub async fn finish_pending_kills() {
    let pending = match PENDING_KILLS.lock() {
        Ok(mut p) => std::mem::take(&mut *p),
        Err(_) => return,
    };
    for kill in pending {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(5), kill).await;
    }
}

/// `file:position` and the GTID set, when binary logging is on and we may read them.
async fn binlog_position(c: &mut Conn) -> Option<String> {
    let status: Option<mysql_async::Row> = c.query_first("SHOW MASTER STATUS").await.ok().flatten();
    let file_pos = status.and_then(|r| {
        let f: Option<String> = r.get(0);
        let p: Option<u64> = r.get(1);
        Some(format!("{}:{}", f?, p?))
    });
    // MariaDB names its GTID position differently from MySQL.
    let mut gtid: Option<String> = c
        .query_first("SELECT @@GLOBAL.gtid_binlog_pos")
        .await
        .ok()
        .flatten();
    if gtid.is_none() {
        gtid = c
            .query_first("SELECT @@GLOBAL.gtid_executed")
            .await
            .ok()
            .flatten();
    }
    match (file_pos, gtid.filter(|g| !g.is_empty())) {
        (None, None) => None,
        (f, g) => Some(format!(
            "{}{}",
            f.unwrap_or_default(),
            g.map(|g| format!(" gtid {g}")).unwrap_or_default()
        )),
    }
}

/// Session settings for the target: ISO dates and UTC so text input is read one way.
/// `client_connection_check_interval`: when my2pg is gone (SIGKILL, a second signal that
/// skips the cleanup, a lost network), the server stops this session's running
/// statement within a second instead of finishing an index build or a COPY for no one
/// while holding its locks (PostgreSQL 14+, which my2pg requires). No timeout of the
/// database's or role's ends a session: a loader waits idle for the slow table of its
/// wave (the operator-night trial: `idle_session_timeout` failed runs with "connection
/// closed").
const PG_INIT: &str = "SET client_encoding = 'UTF8'; SET DateStyle = 'ISO, YMD'; \
    SET TimeZone = 'UTC'; SET extra_float_digits = 3; SET bytea_output = 'hex'; \
    SET statement_timeout = 0; SET lock_timeout = 0; \
    SET idle_in_transaction_session_timeout = 0; SET idle_session_timeout = 0; \
    SET client_connection_check_interval = 1000";

/// Every target session of this process carries the run id, so the heartbeat can find
/// exactly this run's backends in `pg_stat_activity` (loaders, restore, the lock holder).
pub fn pg_application_name() -> String {
    format!("my2pg run={}", crate::run_id())
}

/// libpq's `sslmode` on top of tokio-postgres: `disable`; `allow`/`prefer` (default) and
/// `require` encrypt without verifying the certificate, exactly as libpq does;
/// `verify-ca` checks the chain; `verify-full` checks the chain and the host name.
/// `sslrootcert=FILE` adds a trusted CA. Returns the URL tokio-postgres understands.
fn pg_tls(url: &str) -> Result<(String, native_tls::TlsConnector), String> {
    let (base, query) = url.split_once('?').unwrap_or((url, ""));
    let mut kept = Vec::new();
    let mut mode = "prefer".to_string();
    let mut root_cert = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sslmode", v)) => mode = v.to_string(),
            Some(("sslrootcert", v)) => root_cert = Some(v.to_string()),
            _ => kept.push(pair),
        }
    }
    let (pg_mode, verify_chain, verify_host) = match mode.as_str() {
        "disable" => ("disable", false, false),
        "allow" | "prefer" => ("prefer", false, false),
        "require" => ("require", false, false),
        "verify-ca" => ("require", true, false),
        "verify-full" => ("require", true, true),
        other => return Err(format!("unknown sslmode {other:?}")),
    };
    kept.push(match pg_mode {
        "disable" => "sslmode=disable",
        "require" => "sslmode=require",
        _ => "sslmode=prefer",
    });
    // Building a connector loads the system CA store: do it once per TLS setting, not
    // once per connection (every loader and verify worker connects).
    static CONNECTORS: std::sync::Mutex<Vec<(TlsKey, native_tls::TlsConnector)>> =
        std::sync::Mutex::new(Vec::new());
    let key: TlsKey = (verify_chain, verify_host, root_cert.clone());
    let mut cache = CONNECTORS
        .lock()
        .map_err(|_| "TLS cache poisoned".to_string())?;
    let tls = match cache.iter().find(|(k, _)| *k == key) {
        Some((_, tls)) => tls.clone(),
        None => {
            let mut b = native_tls::TlsConnector::builder();
            b.danger_accept_invalid_certs(!verify_chain);
            b.danger_accept_invalid_hostnames(!verify_host);
            if let Some(path) = &root_cert {
                let pem = std::fs::read(path).map_err(|e| format!("sslrootcert {path}: {e}"))?;
                let cert = native_tls::Certificate::from_pem(&pem)
                    .map_err(|e| format!("sslrootcert {path}: {e}"))?;
                b.add_root_certificate(cert);
            }
            let tls = b.build().map_err(|e| format!("TLS setup: {e}"))?;
            cache.push((key, tls.clone()));
            tls
        }
    };
    Ok((format!("{base}?{}", kept.join("&")), tls))
}

/// (verify the chain, verify the host name, extra root certificate file)
type TlsKey = (bool, bool, Option<String>);

pub async fn pg_connect(dsn: &Dsn) -> Result<tokio_postgres::Client> {
    let (url, tls) =
        pg_tls(dsn.full_url()).map_err(|e| Error::config(format!("target.url {dsn}: {e}")))?;
    let config = tokio_postgres::Config::from_str(&url)
        .map_err(|e| Error::config(format!("target.url {dsn}: {}", crate::error::pg_reason(&e))))?;
    let (client, connection) = tokio::time::timeout(
        connect_timeout(),
        config.connect(postgres_native_tls::MakeTlsConnector::new(tls)),
    )
    .await
    .map_err(|_| connect_timed_out("target", dsn))?
    .map_err(|e| {
        // invalid_catalog_name, invalid_password, invalid_authorization_specification.
        let config = e
            .code()
            .is_some_and(|c| matches!(c.code(), "3D000" | "28P01" | "28000"));
        let mut reason = crate::error::pg_reason(&e);
        if e.code().is_some_and(|c| c.code() == "28P01") {
            reason.push_str(&password_source_note("target", dsn));
        }
        connect_failed("target", dsn, reason, config)
    })?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("target connection closed: {}", crate::error::pg_reason(&e));
        }
    });
    // The run id is hex digits and a dash: nothing to quote.
    client
        .batch_execute(&format!(
            "{PG_INIT}; SET application_name = '{}'",
            pg_application_name()
        ))
        .await
        .map_err(|e| Error::pg("session settings", &e))?;
    Ok(client)
}

pub async fn pg_server_version(client: &tokio_postgres::Client) -> Result<(i32, String)> {
    let row = client
        .query_one(
            "SELECT current_setting('server_version_num')::int, current_setting('server_version')",
            &[],
        )
        .await
        .map_err(|e| Error::pg("server version", &e))?;
    Ok((row.get(0), row.get(1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The target's refused password is named the same way as the source's (the
    /// integration tests' Postgres trusts every login, so only here).
    #[test]
    fn a_refused_password_is_named_by_where_it_came_from() {
        use crate::secret::Secret;
        let url = "postgres://u:inurl@h/db";
        let note = |d: Dsn| password_source_note("target", &d);
        assert_eq!(
            note(Dsn::parse(url, None).unwrap()),
            " (the password came from the URL)"
        );
        assert_eq!(
            note(
                Dsn::parse(url, Some(Secret::new("x")))
                    .unwrap()
                    .password_from("MY2PG_TARGET_PASSWORD")
            ),
            " (the password came from MY2PG_TARGET_PASSWORD)"
        );
        assert_eq!(
            note(Dsn::parse("postgres://u@h/db?password=q", None).unwrap()),
            " (the password came from the URL's `password` parameter)"
        );
        assert_eq!(
            note(
                Dsn::parse("postgres://u@h/db", None)
                    .unwrap()
                    .password_from("ignored")
            ),
            " (no password was given: set MY2PG_TARGET_PASSWORD or target.password_file)"
        );
    }

    /// A bad port or an unclosed IPv6 bracket is named; only what is left points at the
    /// password (the attack: port 99999 was told to percent-encode the password).
    #[test]
    fn a_url_that_does_not_parse_is_explained_by_its_host_part() {
        assert_eq!(
            url_parse_hint("mysql://u@127.0.0.1:99999/db"),
            "port 99999 is not one from 1 to 65535"
        );
        assert_eq!(
            url_parse_hint("mysql://u@h:0/db"),
            "port 0 is not one from 1 to 65535"
        );
        assert_eq!(
            url_parse_hint("mysql://u@h:x1/db"),
            "port `x1` is not a number"
        );
        assert_eq!(
            url_parse_hint("mysql://u@[::1/db"),
            "an IPv6 host needs its closing `]`"
        );
        assert_eq!(
            url_parse_hint("mysql://u@h:3306/db"),
            crate::secret::ENCODE_HINT
        );
        assert_eq!(
            url_parse_hint("mysql://u@[::1]:3306/db"),
            crate::secret::ENCODE_HINT
        );
    }

    #[test]
    fn pg_tls_maps_libpq_sslmodes() {
        let (u, _) = pg_tls("postgres://a@h/db").unwrap();
        assert_eq!(u, "postgres://a@h/db?sslmode=prefer");
        let (u, _) = pg_tls("postgres://a@h/db?application_name=x&sslmode=verify-full").unwrap();
        assert_eq!(u, "postgres://a@h/db?application_name=x&sslmode=require");
        assert!(pg_tls("postgres://a@h/db?sslmode=bogus").is_err());
    }

    /// The attack: `mysql://root@[::1]:3306/db` went to the resolver as `[::1]`.
    #[test]
    fn a_bracketed_ipv6_source_host_reaches_the_driver_bare() {
        for (url, host) in [
            ("mysql://root@[::1]:33999/db", "::1"),
            ("mysql://root@[fe80::1]/db", "fe80::1"),
            ("mysql://root@db.example:3306/db", "db.example"),
        ] {
            let dsn = Dsn::parse(url, None).unwrap();
            let (builder, db) = mysql_opts(&dsn).unwrap();
            assert_eq!(Opts::from(builder).ip_or_hostname(), host, "{url}");
            assert_eq!(db, "db");
        }
    }

    #[test]
    fn url_parameters_the_driver_refuses_are_named_never_their_values() {
        let refused = |url: &str| match mysql_opts(&Dsn::parse(url, None).unwrap()) {
            Err(e) => e.to_string(),
            Ok(_) => String::from("accepted"),
        };
        assert_eq!(
            refused("mysql://u:secret@h/db?charset=utf8mb4"),
            "config: source.url mysql://u@h/db?charset=utf8mb4: the URL parameter \
             `charset` is not one my2pg takes: remove it (every source session reads in utf8mb4)"
        );
        assert_eq!(
            refused("mysql://u@h/db?colour=red"),
            "config: source.url mysql://u@h/db?colour=red: the URL parameter `colour` is not \
             one my2pg takes: remove it"
        );
        let bad_value = refused("mysql://u@h/db?prefer_socket=hunter2");
        assert_eq!(
            bad_value,
            "config: source.url mysql://u@h/db?prefer_socket=hunter2: the URL parameter \
             `prefer_socket` has a value it cannot take"
        );
    }
}
