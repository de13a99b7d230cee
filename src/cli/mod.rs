//! Command tree, tracing setup, and the one place exit codes are decided.

pub mod output;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use my2pg::pipeline::Cancel;
use my2pg::{commands, config, Error, ErrorKind};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  runtime failure (data that cannot be converted, a constraint violation, a lost connection, interrupted)
  2  bad config, or the plan has blocking problems (nothing was moved)

Environment:
  MY2PG_SOURCE_URL, MY2PG_TARGET_URL            override source.url / target.url
  MY2PG_SOURCE_PASSWORD, MY2PG_TARGET_PASSWORD  passwords (never printed)";

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
    Import(Common),
    /// Export and import overlapped: each chunk loads as soon as it is on disk. The cut-over command.
    #[command(after_help = EXIT_CODES)]
    Run(Common),
    /// Show exported and loaded chunks per table.
    #[command(after_help = EXIT_CODES)]
    Status(Common),
}

impl Command {
    fn common(&self) -> &Common {
        match self {
            Command::Plan(c)
            | Command::Export(c)
            | Command::Import(c)
            | Command::Run(c)
            | Command::Status(c) => c,
        }
    }
    fn name(&self) -> &'static str {
        match self {
            Command::Plan(_) => "plan",
            Command::Export(_) => "export",
            Command::Import(_) => "import",
            Command::Run(_) => "run",
            Command::Status(_) => "status",
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
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_target(false)
        .init();
}

pub fn run(cli: Cli) -> ExitCode {
    let common = cli.command.common().clone();
    let name = cli.command.name();
    let env = |k: &str| std::env::var(k).ok();
    let mut out = output::Output::new(common.json, name);
    let settings = match config::load(&common.config, common.workdir.as_deref(), &env) {
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
                Command::Import(_) => commands::import(&settings, cancel.clone()).await.map(output::Report::Run),
                Command::Run(_) => commands::run(&settings, cancel.clone()).await.map(output::Report::Run),
                Command::Status(_) => commands::status(&settings).await.map(output::Report::Status),
            }
        };
        tokio::select! {
            r = work => r,
            sig = shutdown_signal() => {
                cancel.trip();
                Err(ErrorKind::Interrupted(format!(
                    "{sig} received; in-flight chunks were rolled back. Run the same command again to resume"
                )).into())
            }
        }
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
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "SIGINT",
        _ = term.recv() => "SIGTERM",
    }
}
