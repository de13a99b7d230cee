//! `my2pg verify`: proves the target equals the source (or the exported chunks),
//! independently of the pipeline that did the copy.

use serde::Serialize;

use crate::config::Settings;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// Exact row counts only.
    Count,
    /// The target holds exactly the exported chunks (no source needed).
    Load,
    /// Every row of source and target compared on canonical values.
    #[default]
    Full,
}

#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    pub level: Level,
    /// Only these target tables (empty = every copied table).
    pub tables: Vec<String>,
    /// Differing keys reported per table at most.
    pub max_diffs: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub command: &'static str,
    pub level: Level,
    /// True when every compared table is equal.
    pub equal: bool,
    pub tables: Vec<serde_json::Value>,
}

impl VerifyReport {
    pub fn human(&self) -> String {
        format!(
            "verify ({:?}): {}\n",
            self.level,
            if self.equal { "equal" } else { "DIFFERENT" }
        )
    }
}

pub async fn verify(_settings: &Settings, _opts: &VerifyOptions) -> Result<VerifyReport> {
    Err(Error::internal("verify is not implemented yet"))
}
