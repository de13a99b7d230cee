//! Command tree, tracing setup, and the one place exit codes are decided.

pub mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use my2pg::pipeline::Cancel;
use my2pg::{commands, config, verify, Error, ErrorKind};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  runtime failure (data that cannot be converted, a constraint violation, a lost connection, interrupted)
  2  bad config, or the plan has blocking problems (nothing was moved)

Environment:
  MY2PG_SOURCE_URL, MY2PG_TARGET_URL            override source.url / target.url
  MY2PG_SOURCE_PASSWORD, MY2PG_TARGET_PASSWORD  passwords (never printed)
  MY2PG_CONNECT_TIMEOUT                         seconds a connection may take, login included (30)";

#[derive(Parser, Debug)]
#[command(name = "my2pg", version, about = "Move a MySQL/MariaDB database into a pre-created PostgreSQL schema through chunked CSV files", after_help = EXIT_CODES)]
pub struct Cli {
    /// More detail in the log (-v debug, -vv trace).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct Common {
    /// The TOML config file (see config/example.toml).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,
    /// Use this work directory instead of run.workdir.
    #[arg(long, value_name = "DIR")]
    pub workdir: Option<PathBuf>,
    /// Print a machine-readable JSON report on stdout (human text stays on stderr).
    #[arg(long)]
    pub json: bool,
    /// Override [workers] readers (MySQL connections; tables export in parallel).
    #[arg(long, value_name = "N")]
    pub readers: Option<usize>,
    /// Override [workers] converters (threads converting and encoding CSV).
    #[arg(long, value_name = "N")]
    pub converters: Option<usize>,
    /// Override [workers] loaders (PostgreSQL connections running COPY).
    #[arg(long, value_name = "N")]
    pub loaders: Option<usize>,
    /// Override [run] chunk_rows (rows per chunk file; changing it means a new export).
    #[arg(long, value_name = "N")]
    pub chunk_rows: Option<u64>,
    /// Override [run] split_tables_larger_than ("512MB", "2GiB", "off"): larger tables
    /// are read in key ranges by several readers.
    #[arg(long, value_name = "SIZE")]
    pub split_tables_larger_than: Option<String>,
}

impl Common {
    /// Applies the command-line overrides with the same bounds as the config keys.
    fn apply(&self, s: &mut my2pg::Settings) -> Result<(), Error> {
        for (flag, v, slot) in [
            ("--readers", self.readers, &mut s.workers.readers),
            ("--converters", self.converters, &mut s.workers.converters),
            ("--loaders", self.loaders, &mut s.workers.loaders),
        ] {
            if let Some(v) = v {
                if !(1..=64).contains(&v) {
                    return Err(Error::config(format!(
                        "{flag} must be between 1 and 64, not {v}"
                    )));
                }
                *slot = v;
            }
        }
        if let Some(n) = self.chunk_rows {
            if n == 0 {
                return Err(Error::config("--chunk-rows must be at least 1"));
            }
            s.chunk_rows = n;
        }
        if let Some(size) = &self.split_tables_larger_than {
            s.split_bytes = my2pg::config::parse_byte_size(size)
                .map_err(|e| Error::config(format!("--split-tables-larger-than: {e}")))?;
        }
        Ok(())
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Introspect both databases and print the plan: tables, column conversions, FK waves,
    /// blocking problems. Exit 2 when the plan is not runnable.
    #[command(after_help = EXIT_CODES)]
    Plan(Common),
    /// MySQL -> chunked CSV files in the work directory (resumes an interrupted export).
    #[command(after_help = EXIT_CODES)]
    Export(Common),
    /// CSV files in the work directory -> PostgreSQL via COPY, in FK waves, exactly once.
    #[command(after_help = EXIT_CODES)]
    Import(LoadArgs),
    /// Export and import overlapped: each chunk loads as soon as it is on disk. The cut-over command.
    #[command(after_help = EXIT_CODES)]
    Run(RunArgs),
    /// Show exported and loaded chunks per table.
    #[command(after_help = EXIT_CODES)]
    Status(Common),
    /// Preflight data scan: run every converter over every source value, write nothing,
    /// report each problem class per column with sample keys, and orphan FK values.
    /// Exit 0 when clean, 1 when a problem would fail the cut-over.
    #[command(after_help = EXIT_CODES)]
    Check(Common),
    /// Compare target and source (or the exported chunks). Exit 0 when equal, 1 when any
    /// table differs (the report lists the differing keys) or the last import/run into
    /// the target did not finish (NOT READY), 2 on bad config.
    #[command(after_help = EXIT_CODES)]
    Verify(VerifyArgs),
}

#[derive(Args, Debug, Clone)]
pub struct LoadArgs {
    #[command(flatten)]
    pub common: Common,
    /// Truncate every copied target table and its ledger rows first (after showing them
    /// and asking; `run --fresh` also exports again from scratch).
    #[arg(long)]
    pub fresh: bool,
    /// Do not ask before --fresh truncates (required when stdin is not a terminal).
    #[arg(long)]
    pub yes: bool,
    /// Let a truncate (--fresh, or existing_rows = "truncate") delete rows written into
    /// the target since a my2pg run there finished: the application's rows after the
    /// cut-over, or a rehearsal's test writes. Without it, import and run refuse (exit 2).
    #[arg(long)]
    pub discard_rows_since_load: bool,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Verify every row (`verify --level full`) right after the load; a difference exits 1.
    #[arg(long)]
    pub verify: bool,
}

/// Shows what --fresh will truncate and asks; without a terminal, --yes is required.
fn confirm_truncate(yes: bool) -> impl Fn(&[String]) -> bool {
    move |tables: &[String]| {
        use std::io::{BufRead, IsTerminal, Write};
        // Never eprintln!: a closed stderr (`my2pg ... 2>&1 | head`) must not panic a load.
        let mut err = std::io::stderr().lock();
        let _ = writeln!(
            err,
            "--fresh will TRUNCATE these target tables and delete their ledger rows:"
        );
        for t in tables {
            let _ = writeln!(err, "  {t}");
        }
        if yes {
            return true;
        }
        if !std::io::stdin().is_terminal() {
            let _ = writeln!(err, "refusing without --yes: stdin is not a terminal");
            return false;
        }
        let _ = write!(err, "Type 'yes' to continue: ");
        let _ = err.flush();
        drop(err);
        let mut line = String::new();
        let _ = std::io::stdin().lock().read_line(&mut line);
        line.trim() == "yes"
    }
}

#[derive(Args, Debug, Clone)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub common: Common,
    /// count: exact row counts; load: the target holds exactly the exported chunks (no
    /// source needed); full: every row compared on canonical values.
    #[arg(long, value_enum, default_value = "full")]
    pub level: VerifyLevel,
    /// Only this target table (repeatable).
    #[arg(long = "table", value_name = "T")]
    pub tables: Vec<String>,
    /// Report at most this many differing keys per table.
    #[arg(long, default_value_t = 20)]
    pub max_diffs: usize,
}

#[derive(clap::ValueEnum, Debug, Clone, Copy)]
pub enum VerifyLevel {
    Count,
    Load,
    Full,
}

impl VerifyArgs {
    fn options(&self) -> verify::VerifyOptions {
        verify::VerifyOptions {
            level: match self.level {
                VerifyLevel::Count => verify::Level::Count,
                VerifyLevel::Load => verify::Level::Load,
                VerifyLevel::Full => verify::Level::Full,
            },
            tables: self.tables.clone(),
            max_diffs: self.max_diffs,
        }
    }
}

impl Command {
    fn common(&self) -> &Common {
        match self {
            Command::Plan(c) | Command::Export(c) | Command::Status(c) | Command::Check(c) => c,
            Command::Import(l) => &l.common,
            Command::Run(r) => &r.load.common,
            Command::Verify(v) => &v.common,
        }
    }
    fn name(&self) -> &'static str {
        match self {
            Command::Plan(_) => "plan",
            Command::Export(_) => "export",
            Command::Import(_) => "import",
            Command::Run(_) => "run",
            Command::Status(_) => "status",
            Command::Check(_) => "check",
            Command::Verify(_) => "verify",
        }
    }
}

pub fn init_tracing(verbose: u8) {
    let level = match verbose {
        0 => "info",
        1 => "debug",
        _ => "trace",
    };
    // Our own modules speak at the chosen level; libraries only warn.
    let filter = tracing_subscriber::EnvFilter::try_from_env("MY2PG_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(format!("warn,my2pg={level}")));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Its own report of a failed write is an eprintln!, which panics on a closed
        // stderr (`my2pg run 2>&1 | head`): a lost log line must not stop a load.
        .log_internal_errors(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .event_format(WithRunId(
            tracing_subscriber::fmt::format().with_target(false),
        ))
        .init();
}

/// Puts the run id on every log line, so logs of rehearsals and the cut-over never mix.
struct WithRunId<F>(F);

impl<S, N, F> tracing_subscriber::fmt::FormatEvent<S, N> for WithRunId<F>
where
    F: tracing_subscriber::fmt::FormatEvent<S, N>,
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        write!(writer, "run={} ", my2pg::run_id())?;
        self.0.format_event(ctx, writer, event)
    }
}

pub fn run(cli: Cli) -> ExitCode {
    let common = cli.command.common().clone();
    let name = cli.command.name();
    let env = |k: &str| std::env::var(k).ok();
    let mut out = output::Output::new(common.json, name);
    let settings = match config::load(&common.config, common.workdir.as_deref(), &env)
        .and_then(|mut s| common.apply(&mut s).map(|()| s))
    {
        Ok(s) => s,
        Err(e) => return out.fail(&e),
    };
    out.set_secrets(&settings);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("my2pg-io")
        .build()
    {
        Ok(r) => r,
        Err(e) => return out.fail(&Error::internal(format!("cannot start the runtime: {e}"))),
    };
    let cancel = Cancel::default();
    let result = runtime.block_on(async {
        let work = async {
            match &cli.command {
                Command::Plan(_) => commands::plan(&settings).await.map(output::Report::Plan),
                Command::Export(_) => commands::export(&settings, cancel.clone()).await.map(output::Report::Run),
                Command::Import(l) => {
                    let confirm = confirm_truncate(l.yes);
                    let opts = commands::LoadOptions { fresh: l.fresh, confirm: &confirm, discard_rows_since_load: l.discard_rows_since_load };
                    commands::import(&settings, cancel.clone(), opts).await.map(output::Report::Run)
                }
Command::Run(r) => {
                    let confirm = confirm_truncate(r.load.yes);
                    let opts = commands::LoadOptions { fresh: r.load.fresh, confirm: &confirm, discard_rows_since_load: r.load.discard_rows_since_load };
                    let mut report = commands::run(&settings, cancel.clone(), opts).await?;
                    if r.verify {
                        let v = verify::verify(&settings, &verify::VerifyOptions {
                            level: verify::Level::Full,
                            tables: Vec::new(),
                            max_diffs: 20,
                        })
                        .await?;
                        report.ok = v.ok();
                        report.verify = Some(v);
                    }
                    Ok(output::Report::Run(report))
                }
                Command::Status(_) => commands::status(&settings).await.map(output::Report::Status),
                Command::Check(_) => commands::check(&settings, cancel.clone()).await.map(output::Report::Check),
                Command::Verify(v) => match commands::no_load_running(&settings).await {
                    Ok(()) => verify::verify(&settings, &v.options()).await.map(output::Report::Verify),
                    Err(e) => Err(e),
                },
            }
        };
        let sig = tokio::select! {
            r = work => return r,
            sig = shutdown_signal() => sig,
        };
        // The work is dropped here: its connections close and the server rolls back
        // the chunks in flight.
        cancel.trip();
        // A global read lock still queued on the source must not outlive us.
        my2pg::session::finish_pending_kills().await;
        let loads = matches!(cli.command, Command::Import(_) | Command::Run(_));
        if !loads {
            let what = if matches!(cli.command, Command::Export(_)) {
                "stopped (finished chunk files are kept). Run the same command again to resume"
            } else {
                // plan, check, verify, status only read.
                "stopped; nothing was written. Run the same command again"
            };
            return Err(ErrorKind::Interrupted(format!("{sig} received; {what}")).into());
        }
        // Like any other failure: put back what the load dropped, so an abandoned
        // cut-over does not leave the target without its indexes and FKs.
        tracing::warn!("{sig} received: restoring any indexes and constraints dropped for the load (a second signal skips this)");
        let restored = tokio::select! {
            ok = commands::restore_after_interrupt(&settings) => if ok {
                "any indexes and constraints dropped for the load were restored (FKs NOT VALID, or left out where the partial load breaks them, until the next run validates them)"
            } else {
                "restoring the indexes and constraints dropped for the load failed (the errors are above): the next run restores them (`my2pg status` lists them)"
            },
            _ = shutdown_signal() => {
                // It may have come before anything was dropped: say only what is known.
                "a second signal skipped putting back any indexes and constraints dropped for the load: `my2pg status` lists those still dropped, and the next run restores them"
            }
        };
        let fresh = match &cli.command {
            Command::Import(l) => l.fresh,
            Command::Run(r) => r.load.fresh,
            _ => false,
        };
        // Repeating `--fresh` would start over, not resume; but before its TRUNCATE the
        // target still holds the earlier load, which a plain run would take as finished.
        let again = match (fresh, my2pg::commands::fresh_truncated()) {
            (true, true) => "Run the same command again without --fresh to resume",
            (true, false) => {
                "--fresh had not emptied the target yet (it still holds the earlier load): \
                 run the same command again, with --fresh"
            }
            (false, _) => "Run the same command again to resume",
        };
        Err(ErrorKind::Interrupted(format!(
            "{sig} received; in-flight chunks were rolled back and {restored}. {again}"
        ))
        .into())
    });
    // Give aborted tasks a moment to close their connections (rolling back) before exit.
    runtime.shutdown_timeout(std::time::Duration::from_secs(5));
    match result {
        Ok(report) => out.success(report),
        Err(e) => out.fail(&e),
    }
}

async fn shutdown_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    // A dropped ssh session sends SIGHUP: the same cleanup as an interrupt.
    let mut hup = match signal(SignalKind::hangup()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
        _ = hup.recv() => "SIGHUP",
    }
}
