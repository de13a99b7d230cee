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

/// The keys added to a report's own: flattened, so the report's keys keep their order.
#[derive(serde::Serialize)]
struct Envelope {
    #[serde(skip_serializing_if = "Option::is_none")]
    ok: Option<bool>,
    exit_code: u8,
}

impl Envelope {
    fn render<T: serde::Serialize>(&self, report: &T) -> serde_json::Result<String> {
        #[derive(serde::Serialize)]
        struct WithEnvelope<'a, T> {
            #[serde(flatten)]
            report: &'a T,
            #[serde(flatten)]
            extra: &'a Envelope,
        }
        serde_json::to_string_pretty(&WithEnvelope {
            report,
            extra: self,
        })
    }
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
        // A password equal to its own URL's user name is shown with that name anyway
        // (URLs, the servers' "denied for user" messages); scrubbing it would hide the
        // name and tell that it is the password (Vendure trial: root/root). Only there:
        // the other URL's user name may be this password by chance.
        let named = settings.passwords_equal_to_their_user();
        let kept = settings.passwords_unlike_their_user();
        self.secrets
            .retain(|s| !named.contains(&s.expose()) || kept.contains(&s.expose()));
    }

    fn clean(&self, s: &str) -> String {
        let refs: Vec<&Secret> = self.secrets.iter().collect();
        redact(s, &refs)
    }

    /// The JSON report: scrubbed inside its strings only, so it stays valid JSON.
    fn stdout(&self, s: &str) {
        let refs: Vec<&Secret> = self.secrets.iter().collect();
        let mut out = std::io::stdout().lock();
        // A closed pipe (my2pg ... | head) is not an error worth a panic.
        let _ = out.write_all(my2pg::secret::redact_json(s, &refs).as_bytes());
        let _ = out.flush();
    }

    fn stderr(&self, s: &str) {
        let _ = std::io::stderr().lock().write_all(self.clean(s).as_bytes());
    }

    pub fn success(&self, report: Report) -> ExitCode {
        let (ok, has_ok) = match &report {
            Report::Plan(p) => (p.ok, true),
            Report::Run(r) => (r.ok, true),
            Report::Status(s) => (s.ok, true),
            Report::Check(c) => (c.ok, true),
            Report::Verify(v) => (v.ok(), false),
        };
        let code: u8 = match (&report, ok) {
            (_, true) => 0,
            // check found data that would fail the cut-over; verify (or run --verify)
            // found differences.
            (Report::Check(_) | Report::Verify(_) | Report::Run(_), false) => 1,
            // plan: blocking problems.
            _ => 2,
        };
        // Every report, like the error document, carries `ok` and `exit_code`, so a
        // script reads one pair of keys whatever the command.
        let extra = Envelope {
            ok: (!has_ok).then_some(ok),
            exit_code: code,
        };
        let (human, json) = match &report {
            Report::Plan(p) => (p.human(), extra.render(p)),
            Report::Run(r) => (r.human(), extra.render(r)),
            Report::Status(s) => (s.human(), extra.render(s)),
            Report::Check(c) => (c.human(), extra.render(c)),
            Report::Verify(v) => (v.human(), extra.render(v)),
        };
        self.stderr(&human);
        if self.json {
            match json {
                Ok(j) => self.stdout(&format!("{j}\n")),
                Err(e) => self.stderr(&format!("cannot render the JSON report: {e}\n")),
            }
        }
        ExitCode::from(code)
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
