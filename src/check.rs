//! `my2pg check`: runs every chosen converter over every source value, writes nothing.

use crate::config::Settings;
use crate::error::{Error, Result};
use crate::pipeline::Cancel;
use crate::report::CheckReport;

pub async fn check(_settings: &Settings, _cancel: Cancel) -> Result<CheckReport> {
    Err(Error::internal("check is not implemented yet"))
}
