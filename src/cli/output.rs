//! Human text to stderr, `--json` to stdout, and every secret scrubbed on the way out.

use std::io::Write;
use std::process::ExitCode;

use my2pg::report::{CheckReport, PlanReport, RunReport, StatusReport};
use my2pg::secret::{redact, Secret};
use my2pg::verify::VerifyReport;
use my2pg::{Error, Settings};

pub enum Report {
    Plan(PlanReport),
    Run(RunReport),
    Status(StatusReport),
    Check(CheckReport),
    Verify(VerifyReport),
}

pub struct Output {
    json: bool,
    command: &'static str,
    secrets: Vec<Secret>,
}

impl Output {
    pub fn new(json: bool, command: &'static str) -> Output {
        // Passwords from the environment are known before the config is even read.
        let secrets = ["MY2PG_SOURCE_PASSWORD", "MY2PG_TARGET_PASSWORD"]
            .iter()
            .filter_map(|k| std::env::var(k).ok())
            .filter(|v| !v.is_empty())
            .map(Secret::new)
            .collect();
        Output {
            json,
            command,
            secrets,
        }
    }

    pub fn set_secrets(&mut self, settings: &Settings) {
        self.secrets.extend(settings.secrets().into_iter().cloned());
    }

    fn clean(&self, s: &str) -> String {
        let refs: Vec<&Secret> = self.secrets.iter().collect();
        redact(s, &refs)
    }

    fn stdout(&self, s: &str) {
        let mut out = std::io::stdout().lock();
        // A closed pipe (my2pg ... | head) is not an error worth a panic.
        let _ = out.write_all(self.clean(s).as_bytes());
        let _ = out.flush();
    }

    fn stderr(&self, s: &str) {
        let _ = std::io::stderr().lock().write_all(self.clean(s).as_bytes());
    }

    pub fn success(&self, report: Report) -> ExitCode {
        let (human, json, ok) = match &report {
            Report::Plan(p) => (p.human(), serde_json::to_string_pretty(p), p.ok),
            Report::Run(r) => (r.human(), serde_json::to_string_pretty(r), r.ok),
            Report::Status(s) => (s.human(), serde_json::to_string_pretty(s), s.ok),
            Report::Check(c) => (c.human(), serde_json::to_string_pretty(c), c.ok),
            Report::Verify(v) => (v.human(), serde_json::to_string_pretty(v), v.equal),
        };
        self.stderr(&human);
        if self.json {
            match json {
                Ok(j) => self.stdout(&format!("{j}\n")),
                Err(e) => self.stderr(&format!("cannot render the JSON report: {e}\n")),
            }
        }
        match (&report, ok) {
            (_, true) => ExitCode::SUCCESS,
            // check found data that would fail the cut-over; verify (or run --verify)
            // found differences.
            (Report::Check(_) | Report::Verify(_) | Report::Run(_), false) => ExitCode::from(1),
            // plan: blocking problems.
            _ => ExitCode::from(2),
        }
    }

    pub fn fail(&self, e: &Error) -> ExitCode {
        let message = self.clean(&e.to_string());
        self.stderr(&format!(
            "my2pg {} (run {}): error: {message}\n",
            self.command,
            my2pg::run_id()
        ));
        if self.json {
            let doc = serde_json::json!({
                "command": self.command,
                "ok": false,
                "exit_code": e.exit_code(),
                "run_id": my2pg::run_id(),
                "error": { "message": message },
            });
            self.stdout(&format!(
                "{}\n",
                serde_json::to_string_pretty(&doc).unwrap_or_default()
            ));
        }
        ExitCode::from(e.exit_code())
    }
}
