//! my2pg moves a MySQL/MariaDB database into a pre-created PostgreSQL schema:
//! export -> transform -> chunked CSV files on local disk -> `COPY FROM`, in FK waves.
//!
//! The library does the work; the binary (`src/main.rs`, `src/cli/`) does the talking.

pub mod catalog;
pub mod check;
pub mod commands;
pub mod config;
pub mod convert;
pub mod cycles;
pub mod encode;
pub mod error;
pub mod heartbeat;
pub mod ident;
pub mod ledger;
pub mod pipeline;
pub mod plan;
pub mod rebuild;
pub mod report;
pub mod secret;
pub mod sequences;
pub mod session;
pub mod verify;
pub mod workdir;

pub use config::Settings;
pub use error::{Error, ErrorKind, Result};
pub use plan::Plan;

static RUN_ID: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The id of this process's run: on every log line and in every report.
pub fn run_id() -> &'static str {
    RUN_ID.get_or_init(commands::new_run_id)
}
