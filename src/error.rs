//! One error type for the library: `Error(Box<ErrorKind>)` stays one pointer wide as it
//! crosses channels, and every kind carries the context an operator needs at 3 a.m.

use std::path::PathBuf;

use crate::plan::Problem;

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct Error(Box<ErrorKind>);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    #[error("config: {0}")]
    Config(String),

    /// A refusal to go on from the state found (the source, the work directory, the
    /// target), not a config mistake: same exit code, its own label (Vendure trial: a
    /// changed source was reported as `config:`).
    #[error("refused: {0}")]
    Refused(String),

    #[error("the plan has {} blocking problem(s):\n{}", .0.len(), fmt_problems(.0))]
    Plan(Vec<Problem>),

    #[error("cannot connect to the {side} database {dsn}: {reason}")]
    Connect {
        side: &'static str,
        dsn: String,
        reason: String,
    },

    #[error("{side} query failed ({what}): {reason}")]
    Query {
        side: &'static str,
        what: String,
        reason: String,
    },

    #[error("table `{table}`, column `{column}`, {row}: cannot convert {excerpt}: {reason}")]
    Convert {
        table: String,
        column: String,
        /// The row named by its key: `primary key (id)=(5)` (see `transform::name_row`).
        row: String,
        excerpt: String,
        reason: String,
    },

    /// A statement that failed on the data (SQLSTATE class 23: an FK or unique key the
    /// rows violate); worded like `Query`.
    #[error("{side} query failed ({what}): {reason}")]
    Violated {
        side: &'static str,
        what: String,
        reason: String,
    },

    /// The load finished but its rows violate constraints put back after it (and, in
    /// `others`, objects that failed for another reason at the same time).
    #[error(
        "the load finished, but the rows violate {} constraint(s), left NOT VALID or not \
         rebuilt (`my2pg status` lists them):\n{}\n{}Fix those rows in the source (`my2pg check` \
         finds orphan FK values), then load a new export: `my2pg run --fresh --yes` (with \
         export and import: export into an empty work directory, then `import --fresh --yes`). \
         Running the same command again loads nothing new: the chunks already exported hold \
         the same rows",
        .violations.len(),
        bullets(.violations),
        if .others.is_empty() { String::new() } else {
            format!("Also failed:\n{}\n", bullets(.others))
        }
    )]
    ViolatedAfterLoad {
        violations: Vec<Error>,
        others: Vec<Error>,
    },

    /// A run that cannot continue what an earlier run with other settings left.
    #[error("cannot resume: {0}")]
    Resume(String),

    #[error("loading table {table} chunk {chunk:06} failed: {message}")]
    Load {
        table: String,
        chunk: u32,
        message: String,
        /// The server refused the rows (SQLSTATE class 22 or 23), not the connection.
        refused_rows: bool,
    },

    #[error("work directory: {0}")]
    WorkDir(String),

    #[error("target database: {0}")]
    TargetBusy(String),

    #[error("{}: {source}{}", .path.display(), io_hint(source))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("interrupted: {0}")]
    Interrupted(String),

    #[error("stopped because another worker failed")]
    Cancelled,

    #[error("internal error: {0}")]
    Internal(String),
}

fn bullets(errors: &[Error]) -> String {
    errors
        .iter()
        .map(|e| format!("  - {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn fmt_problems(problems: &[Problem]) -> String {
    crate::report::grouped_problem_lines(problems, false)
        .iter()
        .map(|p| format!("  - {}", crate::ident::one_line(p)))
        .collect::<Vec<_>>()
        .join("\n")
}

impl Error {
    pub fn kind(&self) -> &ErrorKind {
        &self.0
    }

    /// The documented exit codes: 2 = fix the config or the schema, 1 = the run failed.
    pub fn exit_code(&self) -> u8 {
        match *self.0 {
            ErrorKind::Config(_) | ErrorKind::Refused(_) | ErrorKind::Plan(_) => 2,
            _ => 1,
        }
    }

    pub fn config(msg: impl Into<String>) -> Self {
        ErrorKind::Config(msg.into()).into()
    }

    pub fn refused(msg: impl Into<String>) -> Self {
        ErrorKind::Refused(msg.into()).into()
    }

    /// The text of a refusal of the state found (exit 2, `error: refused:`).
    pub fn refusal_text(&self) -> Option<&str> {
        match &*self.0 {
            ErrorKind::Refused(m) => Some(m),
            _ => None,
        }
    }

    pub fn workdir(msg: impl Into<String>) -> Self {
        ErrorKind::WorkDir(msg.into()).into()
    }

    pub fn internal(msg: impl Into<String>) -> Self {
        ErrorKind::Internal(msg.into()).into()
    }

    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        ErrorKind::Io {
            path: path.into(),
            source,
        }
        .into()
    }

    pub fn cancelled() -> Self {
        ErrorKind::Cancelled.into()
    }

    pub fn is_cancelled(&self) -> bool {
        matches!(*self.0, ErrorKind::Cancelled)
    }

    pub fn mysql(what: impl Into<String>, e: mysql_async::Error) -> Self {
        ErrorKind::Query {
            side: "source (MySQL)",
            what: what.into(),
            reason: mysql_reason(&e),
        }
        .into()
    }

    pub fn pg(what: impl Into<String>, e: &tokio_postgres::Error) -> Self {
        ErrorKind::Query {
            side: "target (PostgreSQL)",
            what: what.into(),
            reason: pg_reason(e),
        }
        .into()
    }

    /// Like `pg`, but a data violation (class 23) is `Violated`.
    pub fn pg_data(what: impl Into<String>, e: &tokio_postgres::Error) -> Self {
        let violated = e.code().is_some_and(|c| c.code().starts_with("23"));
        if !violated {
            return Self::pg(what, e);
        }
        ErrorKind::Violated {
            side: "target (PostgreSQL)",
            what: what.into(),
            reason: pg_reason(e),
        }
        .into()
    }

    /// A catalog function that found an object dropped under it (`cache lookup failed`,
    /// SQLSTATE XX000): the target's schema changed while it was read.
    pub fn is_catalog_race(&self) -> bool {
        matches!(&*self.0, ErrorKind::Query { reason, .. }
            if reason.contains("cache lookup failed") && reason.ends_with("(SQLSTATE XX000)"))
    }

    /// A target query refused for lack of a privilege (SQLSTATE 42501).
    pub fn is_permission_denied(&self) -> bool {
        matches!(&*self.0, ErrorKind::Query { reason, .. } if reason.ends_with("(SQLSTATE 42501)"))
    }

    pub fn is_violation(&self) -> bool {
        matches!(*self.0, ErrorKind::Violated { .. })
    }

    /// The run stopped on rows the target refused: a constraint they violate (during
    /// the load or after it) or a value a column cannot take, or one my2pg cannot
    /// convert. Running again as it is fails the same way.
    pub fn is_refused_rows(&self) -> bool {
        matches!(
            &*self.0,
            ErrorKind::Violated { .. }
                | ErrorKind::ViolatedAfterLoad { .. }
                | ErrorKind::Convert { .. }
                | ErrorKind::Load {
                    refused_rows: true,
                    ..
                }
        )
    }

    pub fn is_violated_after_load(&self) -> bool {
        matches!(*self.0, ErrorKind::ViolatedAfterLoad { .. })
    }

    pub fn resume(msg: impl Into<String>) -> Self {
        ErrorKind::Resume(msg.into()).into()
    }

    /// After a complete load: when any failure is a data violation, one error names every
    /// one of them (and the other failures) and the way out; otherwise the first failure.
    /// Failures that are already such an error are merged into it.
    pub fn after_load(failures: Vec<Error>) -> Option<Self> {
        let mut failures = failures.into_iter();
        let first = failures.next()?;
        Some(Self::after_load_all(first, failures.collect()))
    }

    /// `after_load` of `first` and `rest`.
    pub fn after_load_all(first: Error, rest: Vec<Error>) -> Self {
        let (mut violations, mut others) = (Vec::new(), Vec::new());
        for e in std::iter::once(first).chain(rest) {
            match *e.0 {
                ErrorKind::ViolatedAfterLoad {
                    violations: v,
                    others: o,
                } => {
                    violations.extend(v);
                    others.extend(o);
                }
                ErrorKind::Violated { .. } => violations.push(e),
                _ => others.push(e),
            }
        }
        // An object tried twice (a deferred unique key, before and with the other
        // indexes) fails twice the same way: named once.
        let once = |errors: Vec<Error>| {
            let mut seen = std::collections::HashSet::new();
            errors
                .into_iter()
                .filter(|e| seen.insert(e.to_string()))
                .collect::<Vec<_>>()
        };
        let (violations, mut others) = (once(violations), once(others));
        if violations.is_empty() && !others.is_empty() {
            return others.swap_remove(0);
        }
        ErrorKind::ViolatedAfterLoad { violations, others }.into()
    }

    pub fn panicked(e: tokio::task::JoinError) -> Self {
        Self::internal(format!("a worker task failed: {e}"))
    }
}

/// mysql_async prints an I/O error as "Input/output error: Input/output error: bytes
/// remaining on stream"; say what happened to the connection instead.
pub fn mysql_reason(e: &mysql_async::Error) -> String {
    use std::io::ErrorKind as K;
    // As the mysql client prints it (the driver's own text leaves a quote unclosed).
    if let mysql_async::Error::Server(se) = e {
        return format!("ERROR {} ({}): {}", se.code, se.state, se.message);
    }
    let mysql_async::Error::Io(mysql_async::IoError::Io(io)) = e else {
        return e.to_string();
    };
    let closed = matches!(
        io.kind(),
        K::UnexpectedEof | K::ConnectionReset | K::ConnectionAborted | K::BrokenPipe
    ) || io.to_string() == "bytes remaining on stream";
    if closed {
        // The next step too (the h25 trial: the driver's text, and no word on what to do).
        format!(
            "the connection to the source server was closed (the server restarted, or the \
             connection was killed or timed out; driver: {io}): once the server is reachable, \
             run the same command again (a run or import resumes where it stopped)"
        )
    } else {
        format!("I/O error on the source connection: {io}")
    }
}

/// The bare Display of a tokio_postgres error hides the server's detail; spell it out.
pub fn pg_reason(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{}: {}", db.severity(), db.message());
            if let Some(d) = db.detail() {
                s.push_str(&format!("; DETAIL: {d}"));
            }
            if let Some(h) = db.hint() {
                s.push_str(&format!("; HINT: {h}"));
            }
            if let Some(c) = db.constraint() {
                s.push_str(&format!("; constraint: {c}"));
            }
            if let Some(w) = db.where_() {
                s.push_str(&format!("; CONTEXT: {w}"));
            }
            s.push_str(&format!(" (SQLSTATE {})", db.code().code()));
            s
        }
        None => {
            // Non-server errors (I/O, protocol): include the source chain.
            let mut s = e.to_string();
            let mut src = std::error::Error::source(e);
            while let Some(inner) = src {
                s.push_str(&format!(": {inner}"));
                src = inner.source();
            }
            s
        }
    }
}

impl From<ErrorKind> for Error {
    fn from(k: ErrorKind) -> Self {
        Error(Box::new(k))
    }
}

/// What to do about an I/O error an operator can fix and resume from.
fn io_hint(e: &std::io::Error) -> &'static str {
    match e.kind() {
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => {
            "; free space there (or point run.workdir at a larger disk), then run the same \
             command again: it resumes where it stopped (a `.tmp` file left there is my2pg's \
             own and is removed first)"
        }
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_says_how_to_go_on() {
        let e = Error::io(
            "/w/t/000001.csv.tmp",
            std::io::Error::from(std::io::ErrorKind::StorageFull),
        );
        assert_eq!(
            e.to_string(),
            "/w/t/000001.csv.tmp: no storage space; free space there (or point run.workdir at \
             a larger disk), then run the same command again: it resumes where it stopped (a \
             `.tmp` file left there is my2pg's own and is removed first)"
        );
        let e = Error::io("/w", std::io::Error::from(std::io::ErrorKind::NotFound));
        assert_eq!(e.to_string(), "/w: entity not found");
    }

    #[test]
    fn a_catalog_read_racing_a_drop_is_told_from_other_failures() {
        let q = |reason: &str| -> Error {
            ErrorKind::Query {
                side: "target (PostgreSQL)",
                what: "read unique constraint definitions".into(),
                reason: reason.into(),
            }
            .into()
        };
        // The Review Board trial's message.
        assert!(q(
            "ERROR: cache lookup failed for attribute 1 of relation 1180826 \
                   (SQLSTATE XX000)"
        )
        .is_catalog_race());
        assert!(!q("ERROR: could not open file (SQLSTATE XX000)").is_catalog_race());
        assert!(!q("ERROR: permission denied for table t (SQLSTATE 42501)").is_catalog_race());
    }
}
