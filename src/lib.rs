//! my2pg moves a MySQL/MariaDB database into a pre-created PostgreSQL schema:
//! export -> transform -> chunked CSV files on local disk -> `COPY FROM`, in FK waves.
//!
//! The library does the work; the binary (`src/main.rs`, `src/cli/`) does the talking.

pub mod catalog;
pub mod check;
pub mod commands;
pub mod config;
pub mod convert;
pub mod encode;
pub mod error;
pub mod ident;
pub mod ledger;
pub mod pipeline;
pub mod plan;
pub mod report;
pub mod secret;
pub mod session;
pub mod verify;
pub mod workdir;

pub use config::Settings;
pub use error::{Error, ErrorKind, Result};
pub use plan::Plan;
