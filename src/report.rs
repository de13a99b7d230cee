//! What commands return: serializable reports for `--json`, and their human rendering.

use std::fmt::Write as _;

use serde::Serialize;

use crate::plan::waves::{BreakStrategy, CycleBreak};
use crate::plan::{NonEmptyTable, Plan, Problem, ProblemKind, Skipped};

#[derive(Debug, Serialize)]
pub struct ColumnReport {
    pub source: String,
    pub source_type: String,
    pub target: String,
    pub target_type: String,
    pub converter: &'static str,
    pub converter_detail: String,
    /// The config rule applied to the values first (`convert = ...`), if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule: Option<&'static str>,
    /// Rule null_to_default: the text written for every NULL.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub null_default: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct TablePlanReport {
    pub source: String,
    pub target: String,
    pub wave: usize,
    pub key: Vec<String>,
    pub est_rows: u64,
    pub columns: Vec<ColumnReport>,
}

#[derive(Debug, Serialize)]
pub struct PlanReport {
    pub command: &'static str,
    pub ok: bool,
    pub tables: Vec<TablePlanReport>,
    pub waves: Vec<Vec<String>>,
    pub skipped_tables: Vec<Skipped>,
    pub target_only_tables: Vec<String>,
    pub problems: Vec<Problem>,
    pub warnings: Vec<Problem>,
    /// Copied target tables that already hold rows, with their policy.
    pub non_empty_tables: Vec<NonEmptyTable>,
    /// How each FK cycle (self-references included) is broken.
    pub cycle_breaks: Vec<CycleBreak>,
}

pub fn waves_of(plan: &Plan) -> Vec<Vec<String>> {
    plan.waves
        .iter()
        .map(|w| {
            w.iter()
                .map(|&i| plan.tables[i].target.name.clone())
                .collect()
        })
        .collect()
}

impl PlanReport {
    pub fn new(plan: &Plan) -> PlanReport {
        PlanReport {
            command: "plan",
            ok: plan.is_runnable(),
            tables: plan
                .tables
                .iter()
                .map(|t| TablePlanReport {
                    source: t.source.clone(),
                    target: t.target.name.clone(),
                    wave: t.wave,
                    key: t.key.clone(),
                    est_rows: t.est_rows,
                    columns: t
                        .columns
                        .iter()
                        .map(|c| ColumnReport {
                            source: c.source.clone(),
                            source_type: c.source_type.clone(),
                            target: c.target.clone(),
                            target_type: c.target_type.clone(),
                            converter: c.converter.name(),
                            converter_detail: c.converter.describe(),
                            rule: c.rule.map(|r| r.name()),
                            null_default: c.null_default.as_ref().map(|d| d.text.clone()),
                        })
                        .collect(),
                })
                .collect(),
            waves: waves_of(plan),
            skipped_tables: plan.skipped.clone(),
            target_only_tables: plan.target_only.clone(),
            problems: plan.problems.clone(),
            warnings: plan.warnings.clone(),
            non_empty_tables: plan.non_empty.clone(),
            cycle_breaks: plan.breaks.clone(),
        }
    }

    pub fn human(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "Tables to copy: {}", self.tables.len());
        for t in &self.tables {
            let _ = writeln!(
                s,
                "  {} -> {} (wave {}, key ({}), ~{} rows)",
                t.source,
                t.target,
                t.wave + 1,
                t.key.join(", "),
                t.est_rows
            );
            for c in &t.columns {
                let _ = writeln!(
                    s,
                    "      {} {} -> {} {}: {} ({}){}{}",
                    c.source,
                    c.source_type,
                    c.target,
                    c.target_type,
                    c.converter,
                    c.converter_detail,
                    c.rule.map_or(String::new(), |r| format!(", rule {r}")),
                    c.null_default
                        .as_ref()
                        .map_or(String::new(), |d| format!(": NULL is written as {d:?}"))
                );
            }
        }
        let _ = writeln!(s, "Load waves (parents first):");
        for (i, w) in self.waves.iter().enumerate() {
            let _ = writeln!(s, "  wave {}: {}", i + 1, w.join(", "));
        }
        if !self.cycle_breaks.is_empty() {
            let _ = writeln!(s, "Foreign-key cycles and how they are broken:");
            for b in &self.cycle_breaks {
                let how = match b.strategy {
                    BreakStrategy::NullThenFill => format!(
                        "{} loads with ({}) NULL; one UPDATE fills them from staged values after the last wave, and the FK is checked then",
                        b.child,
                        b.columns.join(", ")
                    ),
                    BreakStrategy::DropAndValidate => format!("{}: the constraint is dropped for the load (its definition recorded in my2pg.dropped_constraints), then re-added NOT VALID and VALIDATEd; a violation fails the run", b.why_dropped),
                };
                let _ = writeln!(s, "  {} ({} -> {}): {how}", b.constraint, b.child, b.parent);
            }
        }
        if !self.skipped_tables.is_empty() {
            let _ = writeln!(s, "Source tables not copied:");
            for k in &self.skipped_tables {
                let _ = writeln!(
                    s,
                    "  {} (~{} rows): {}",
                    crate::ident::one_line(&k.table),
                    k.est_rows,
                    crate::ident::one_line(&k.reason)
                );
            }
        }
        if !self.non_empty_tables.is_empty() {
            let _ = writeln!(s, "Target tables that already hold rows:");
            for n in &self.non_empty_tables {
                let _ = writeln!(
                    s,
                    "  {} (existing_rows = {}{})",
                    n.table,
                    n.existing_rows.name(),
                    if n.chunks_in_ledger > 0 {
                        format!(
                            ", {} chunks loaded by an earlier my2pg run",
                            n.chunks_in_ledger
                        )
                    } else {
                        String::new()
                    }
                );
            }
        }
        if !self.warnings.is_empty() {
            let _ = writeln!(s, "Warnings:");
            for line in grouped_warnings(&self.warnings) {
                let _ = writeln!(s, "  - {}", crate::ident::one_line(&line));
            }
        }
        if self.problems.is_empty() {
            let _ = writeln!(s, "The plan is runnable.");
        } else {
            let lines = grouped_problems(&self.problems);
            // The count is per table: say why the list is shorter (Mailman trial).
            let grouped = if lines.len() < self.problems.len() {
                ", one line for those that say the same of many tables"
            } else {
                ""
            };
            let _ = writeln!(s, "Blocking problems ({}{grouped}):", self.problems.len());
            for line in lines {
                let _ = writeln!(s, "  - {}", crate::ident::one_line(&line));
            }
        }
        s
    }
}

#[derive(Debug, Serialize, Default, Clone)]
pub struct TableRunReport {
    pub table: String,
    pub rows: u64,
    pub bytes: u64,
    pub chunks: u64,
    pub loaded_rows: u64,
    pub loaded_chunks: u64,
    pub skipped_chunks: u64,
    /// Chunks loaded now that an earlier command exported.
    pub earlier_export_chunks: u64,
}

#[derive(Debug, Serialize, Default)]
pub struct Totals {
    pub tables: usize,
    pub rows: u64,
    pub bytes: u64,
    pub loaded_rows: u64,
    pub seconds: f64,
    pub rows_per_sec: f64,
}

/// A config rule that changed values: nothing is ever changed silently.
#[derive(Debug, Serialize, Clone)]
pub struct RuleApplied {
    pub table: String,
    pub column: String,
    pub rule: &'static str,
    pub changed_values: u64,
}

#[derive(Debug, Serialize)]
pub struct RunReport {
    pub command: &'static str,
    pub ok: bool,
    pub run_id: String,
    pub workdir: String,
    pub tables: Vec<TableRunReport>,
    pub waves: Vec<Vec<String>>,
    pub skipped_tables: Vec<Skipped>,
    /// Source columns whose values are not copied (`convert = "skip"`, generated
    /// columns).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_columns: Vec<crate::plan::SkippedColumn>,
    pub sequences_set: u64,
    pub rules_applied: Vec<RuleApplied>,
    pub totals: Totals,
    /// `run --verify`: the full verification done right after the load.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verify: Option<crate::verify::VerifyReport>,
    /// Every chunk was loaded by an earlier run that stopped after its load: this one
    /// did the rest (indexes and FKs back, ANALYZE, sequences).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub finished_earlier_run: bool,
    /// Sequences the application may not be able to draw from after the run: linked to
    /// no column and left where they are (Roundup trial: exit 0, and no new user could
    /// be added), or set at their bound by the source's AUTO_INCREMENT counter (ejabberd).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub sequence_warnings: Vec<String>,
    /// A repeat that found nothing to load: copied tables holding none of the rows my2pg
    /// loaded and fewer rows than it loaded (emptied or created again since, as an
    /// installer does; or emptied by the application, which no check can tell apart).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub emptied_tables: Vec<String>,
    /// Chunk files the manifests list that the disk lacks, of chunks an earlier run
    /// loaded (a chunk still to load fails the run instead): nothing is lost, but they
    /// cannot be compared or loaded again (the h25 trial: exit 0 without a word).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_files: Vec<String>,
}

impl RunReport {
    pub fn human(&self) -> String {
        let mut s = String::new();
        let export = self.command == "export";
        for t in &self.tables {
            let _ = write!(
                s,
                "  {:<32} {:>10} rows {:>8} chunks {:>12} bytes",
                t.table, t.rows, t.chunks, t.bytes
            );
            if !export {
                let _ = write!(
                    s,
                    "  loaded {} rows ({} chunks already loaded)",
                    t.loaded_rows, t.skipped_chunks
                );
            }
            s.push('\n');
        }
        for k in &self.skipped_tables {
            let _ = writeln!(
                s,
                "  not copied: {} (~{} rows; {})",
                crate::ident::one_line(&k.table),
                k.est_rows,
                crate::ident::one_line(&k.reason)
            );
        }
        for c in &self.skipped_columns {
            let _ = writeln!(
                s,
                "  not copied: column {}.{} ({})",
                crate::ident::one_line(&c.table),
                crate::ident::one_line(&c.column),
                crate::ident::one_line(&c.reason)
            );
        }
        // A rule that changed nothing is in the JSON report only.
        for r in self.rules_applied.iter().filter(|r| r.changed_values > 0) {
            let _ = writeln!(
                s,
                "  rule {} changed {} value(s) in {}.{} (over all exported chunks)",
                r.rule, r.changed_values, r.table, r.column
            );
        }
        for w in &self.sequence_warnings {
            let _ = writeln!(s, "  warning: {w}");
        }
        for t in &self.emptied_tables {
            let _ = writeln!(
                s,
                "  warning: {t} holds none of the rows my2pg loaded and fewer rows than it \
                 loaded: if it was emptied or created again since (an application's installer \
                 re-creating its tables leaves the my2pg schema as it was), `run --fresh` loads \
                 it again; if the application deleted and rewrote its rows, leave it"
            );
        }
        if let Some(first) = self.missing_files.first() {
            let more = match self.missing_files.len() {
                1 => String::new(),
                n => format!(" and {} more", n - 1),
            };
            let _ = writeln!(
                s,
                "  warning: chunk file {first}{more} listed in the manifests is missing; its \
                 rows were loaded by an earlier run (the ledger holds them), so nothing is \
                 lost, but `verify --level load` cannot compare them and `import --fresh` \
                 refuses until `my2pg export` writes the file again"
            );
        }
        // A rate over rows an earlier run loaded would only flatter this one.
        let rate = if export || self.totals.loaded_rows == self.totals.rows {
            format!(" ({:.0} rows/s)", self.totals.rows_per_sec)
        } else {
            String::new()
        };
        let loaded = if export {
            String::new()
        } else {
            format!("; {} rows loaded now", self.totals.loaded_rows)
        };
        let _ = writeln!(
            s,
            "{} done (run {}): {} tables, {} rows, {} bytes in {:.2} s{rate}{loaded}",
            self.command,
            self.run_id,
            self.totals.tables,
            self.totals.rows,
            self.totals.bytes,
            self.totals.seconds,
        );
        // An import loads what an earlier export wrote by design; a run says so.
        let kept: u64 = self.tables.iter().map(|t| t.skipped_chunks).sum();
        let earlier: u64 = match self.command {
            "run" => self.tables.iter().map(|t| t.earlier_export_chunks).sum(),
            _ => 0,
        };
        if !export && self.totals.loaded_rows > 0 && kept + earlier > 0 {
            let mut what = Vec::new();
            if kept > 0 {
                what.push(format!("{kept} chunk(s) an earlier run loaded were kept"));
            }
            if earlier > 0 {
                what.push(format!(
                    "{earlier} chunk(s) an earlier export wrote were loaded"
                ));
            }
            let _ = writeln!(
                s,
                "resumed: {}. Rows written to the source after those chunks were exported are \
                 not in them: `my2pg verify --level full` compares every row",
                what.join(" and ")
            );
        }
        if !export && self.totals.loaded_rows == 0 && self.totals.rows > 0 {
            // A run that only finished an earlier one's last steps did work: say so
            // (Placement trial: the report read as if nothing had been done).
            let finished = if self.finished_earlier_run {
                ", and stopped in the steps after its load (indexes and FKs, ANALYZE, \
                 sequences): this run finished them"
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "nothing new was loaded: an earlier run loaded every chunk{finished}. Rows \
                 written to the source after those chunks were exported are not in them: \
                 `my2pg verify --level full` compares every row, `run --fresh` copies the source \
                 as it is now"
            );
        }
        if let Some(v) = &self.verify {
            s.push_str(&v.human());
        }
        s
    }
}

#[derive(Debug, Serialize)]
pub struct TableStatus {
    pub table: String,
    pub exported_chunks: u64,
    pub exported_rows: u64,
    pub export_complete: bool,
    pub loaded_chunks: u64,
    pub loaded_rows: u64,
    /// Why a run refused the table's files (they stay refused until exported again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refused: Option<String>,
    /// Why the table directory's manifest cannot be read (edited, not JSON): `table` is
    /// then the directory's name, and the figures are unknown (0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub damaged: Option<String>,
    /// The source table whose files this directory holds, when it is not the directory
    /// my2pg writes them to (a copy): `table` is the directory's name; never loaded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub copy_of: Option<String>,
    /// Chunk files the manifest lists that are not on disk (removed by hand).
    #[serde(skip_serializing_if = "is_zero")]
    pub missing_files: u64,
    /// No work directory to read: the table is known from the target's ledger only, and
    /// the exported figures are unknown (0).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub files_unknown: bool,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl TableStatus {
    /// A table's exported files, nothing loaded or wrong with them.
    pub fn exported(table: String, chunks: u64, rows: u64, complete: bool) -> TableStatus {
        TableStatus {
            table,
            exported_chunks: chunks,
            exported_rows: rows,
            export_complete: complete,
            loaded_chunks: 0,
            loaded_rows: 0,
            refused: None,
            damaged: None,
            copy_of: None,
            missing_files: 0,
            files_unknown: false,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct StatusReport {
    pub command: &'static str,
    pub ok: bool,
    pub workdir: String,
    pub tables: Vec<TableStatus>,
    /// Indexes and constraints dropped for a load and not yet restored (an interrupted
    /// or failed run); the next import/run restores them.
    pub pending_restore: Vec<String>,
    /// PostgreSQL backend pid of the session holding the my2pg target lock: an import
    /// or run is working on this target now, whatever `last_run` says.
    pub running_pid: Option<i32>,
    /// How far the last `import`/`run` into the target schema got (`my2pg.last_run`);
    /// null when none has started loading.
    pub last_run: Option<LastRunStatus>,
}

/// The last `import`/`run`: every chunk loaded is not the end of it (constraints,
/// ANALYZE and sequences follow), so only `finished` says the target is ready.
#[derive(Debug, Serialize)]
pub struct LastRunStatus {
    pub run_id: String,
    pub command: String,
    pub started_at: String,
    pub finished: bool,
    pub finished_at: Option<String>,
    /// Steps completed, in order: load, restore_constraints, analyze, set_sequences.
    pub done: Vec<&'static str>,
    /// Steps still to do (empty once finished); `analyze` only with `run.analyze`.
    pub outstanding: Vec<&'static str>,
    /// What to do about an unfinished run.
    pub hint: Option<String>,
    /// PostgreSQL backend pid of the session holding the my2pg target lock: a load is
    /// running right now (then `outstanding` is its progress, not a failure).
    pub running_pid: Option<i32>,
    /// The run holding the lock has not recorded its start yet: the fields above are
    /// the previous run's, which finished; `finished` is false all the same.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub starting: bool,
}

impl StatusReport {
    pub fn human(&self) -> String {
        let mut s = format!("Work directory {}\n", self.workdir);
        for t in self.tables.iter().filter(|t| t.files_unknown) {
            let _ = writeln!(
                s,
                "  {:<32} exported ? (no files in the work directory)   loaded {:>6} chunks / {:>10} rows",
                t.table, t.loaded_chunks, t.loaded_rows
            );
        }
        for t in self.tables.iter().filter(|t| !t.files_unknown) {
            let _ = writeln!(
                s,
                "  {:<32} exported {:>6} chunks / {:>10} rows{}  loaded {:>6} chunks / {:>10} rows",
                t.table,
                t.exported_chunks,
                t.exported_rows,
                match (
                    t.refused.is_some() || t.damaged.is_some() || t.copy_of.is_some(),
                    t.export_complete,
                    t.exported_chunks
                ) {
                    (true, ..) if t.damaged.is_some() => " (damaged) ",
                    (true, ..) if t.copy_of.is_some() => " (a copy)  ",
                    (true, ..) => " (refused) ",
                    (_, true, _) => " (complete)",
                    (_, false, 0) => " (none yet)",
                    (_, false, _) => " (partial) ",
                },
                t.loaded_chunks,
                t.loaded_rows
            );
        }
        let refused: Vec<&TableStatus> =
            self.tables.iter().filter(|t| t.refused.is_some()).collect();
        if !refused.is_empty() {
            let _ = writeln!(
                s,
                "Refused by an earlier run; their files stay refused until exported again from \
                 scratch (`run --fresh`; with `export` alone, remove the table's directory):"
            );
            for t in refused {
                let _ = writeln!(s, "  {}: {}", t.table, t.refused.as_deref().unwrap_or(""));
            }
        }
        for t in self.tables.iter().filter(|t| t.damaged.is_some()) {
            let _ = writeln!(s, "Damaged: {}", t.damaged.as_deref().unwrap_or_default());
        }
        for t in self.tables.iter().filter(|t| t.missing_files > 0) {
            let _ = writeln!(
                s,
                "Missing: {} chunk file(s) of {} listed in its manifest are not on disk: `my2pg \
                 export` writes them again (a finished load keeps its rows; `verify --level \
                 load` needs the files)",
                t.missing_files, t.table
            );
        }
        for t in self.tables.iter() {
            if let Some(of) = &t.copy_of {
                let _ = writeln!(
                    s,
                    "Not used: {} holds a copy of table `{of}`'s files; my2pg loads nothing \
                     from it (where it is another table's own directory, that table is \
                     refused until it is removed)",
                    t.table
                );
            }
        }
        if !self.pending_restore.is_empty() {
            let _ = writeln!(
                s,
                "{}",
                if self.running_pid.is_some() {
                    // The h23 attack: a healthy run's drops read as a failure's leftovers.
                    "Dropped for the load that is running (it restores them when it finishes):"
                } else {
                    "Recorded by an unfinished load (the next import/run restores what is dropped and validates what is NOT VALID):"
                }
            );
            for p in &self.pending_restore {
                let _ = writeln!(s, "  {p}");
            }
        }
        match &self.last_run {
            None if self.running_pid.is_some() => {
                let _ = writeln!(
                    s,
                    "An import or run IS RUNNING (PostgreSQL backend pid {} holds the my2pg \
                     lock) and has not started loading yet.",
                    self.running_pid.unwrap_or_default()
                );
            }
            None => {
                let _ = writeln!(s, "No import or run has loaded into this target yet.");
            }
            Some(r) if r.starting => {
                let _ = writeln!(
                    s,
                    "A new import or run IS RUNNING (PostgreSQL backend pid {} holds the my2pg \
                     lock) and has not started loading yet: the target is not ready until it \
                     finishes. The last {} (run {}) finished at {}.",
                    r.running_pid.unwrap_or_default(),
                    r.command,
                    r.run_id,
                    r.finished_at.as_deref().unwrap_or("?")
                );
            }
            Some(r) if r.finished => {
                let _ = writeln!(
                    s,
                    "Last {} (run {}) finished at {}: {}.",
                    r.command,
                    r.run_id,
                    r.finished_at.as_deref().unwrap_or("?"),
                    r.done.join(", ")
                );
            }
            Some(r) if r.running_pid.is_some() => {
                let _ = writeln!(
                    s,
                    "{} (run {}, started {}) IS RUNNING (PostgreSQL backend pid {} holds the my2pg lock): done [{}], still to do [{}].",
                    r.command,
                    r.run_id,
                    r.started_at,
                    r.running_pid.unwrap_or_default(),
                    r.done.join(", "),
                    r.outstanding.join(", ")
                );
            }
            Some(r) => {
                let _ = writeln!(
                    s,
                    "Last {} (run {}, started {}) DID NOT FINISH: done [{}], outstanding [{}]. {}",
                    r.command,
                    r.run_id,
                    r.started_at,
                    r.done.join(", "),
                    r.outstanding.join(", "),
                    r.hint.as_deref().unwrap_or("")
                );
            }
        }
        s
    }
}

/// One problem class found by `check` in one column.
#[derive(Debug, Serialize, Clone)]
pub struct CheckFinding {
    pub table: String,
    pub column: Option<String>,
    pub class: String,
    pub count: u64,
    /// A few primary keys of affected rows, formatted `(id)=(...)`.
    pub sample_keys: Vec<String>,
    /// True when the configured policies let the cut-over pass anyway.
    pub handled_by_policy: bool,
    pub message: String,
}

#[derive(Debug, Serialize)]
pub struct CheckReport {
    pub command: &'static str,
    /// No finding would fail the cut-over.
    pub ok: bool,
    pub tables_scanned: usize,
    pub rows_scanned: u64,
    pub findings: Vec<CheckFinding>,
    /// What would not fail the cut-over but may not be what the application meant
    /// (`utf8_bytes`: UTF-8 stored in a latin1 column).
    pub warnings: Vec<CheckFinding>,
    /// What could fail the cut-over that `check` cannot test (partial or expression
    /// unique indexes of the target).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_tested: Vec<String>,
}

impl CheckReport {
    pub fn human(&self) -> String {
        let mut s = format!(
            "Scanned {} rows in {} tables.\n",
            self.rows_scanned, self.tables_scanned
        );
        for f in &self.findings {
            if f.sample_keys.is_empty() {
                let _ = match f.table.as_str() {
                    "" => writeln!(s, "  {}: {}", f.class, f.message),
                    table => writeln!(s, "  {table} {}: {}", f.class, f.message),
                };
                continue;
            }
            let handled = if f.handled_by_policy {
                " (handled by policy)"
            } else {
                ""
            };
            finding_lines(&mut s, "", f, handled);
        }
        for w in &self.warnings {
            if w.sample_keys.is_empty() {
                let _ = writeln!(s, "  warning: {}: {}", w.class, w.message);
            } else {
                finding_lines(&mut s, "warning: ", w, "");
            }
        }
        for n in &self.not_tested {
            let _ = writeln!(s, "  not tested: {n}");
        }
        let _ = writeln!(
            s,
            "{}",
            match (self.ok, self.not_tested.is_empty()) {
                (true, true) => "check: clean, nothing would fail the cut-over",
                (true, false) => "check: clean, nothing it tested would fail the cut-over",
                (false, _) => "check: problems found that would fail the cut-over",
            }
        );
        s
    }
}

/// A finding with sample keys: where, how many, then the type pair and what to do.
fn finding_lines(s: &mut String, label: &str, f: &CheckFinding, note: &str) {
    let _ = writeln!(
        s,
        "  {label}{}{} {}: {} row(s){note}; e.g. {}\n      {}",
        f.table,
        f.column
            .as_deref()
            .map(|c| format!(".{c}"))
            .unwrap_or_default(),
        f.class,
        f.count,
        f.sample_keys.join(", "),
        f.message
    );
}

/// Warnings for the human report: those that say the same of several columns (Strapi:
/// 135 `int unsigned` ids into integer, 650 lines that buried the rest) become one line
/// naming the columns (the first 10; `--json` lists each).
fn grouped_warnings(warnings: &[Problem]) -> Vec<String> {
    // (kind, text after "table.column: ") -> the columns, in order of appearance.
    let mut groups: Vec<((ProblemKind, String), Vec<String>)> = Vec::new();
    let mut lines: Vec<Result<String, usize>> = Vec::new();
    for w in warnings {
        let split = w.column.as_ref().and_then(|c| {
            let name = format!("{}.{c}", w.table);
            w.message
                .strip_prefix(&format!("{name}: "))
                .map(|tail| (name, tail.to_string()))
        });
        let Some((name, tail)) = split else {
            lines.push(Ok(w.message.clone()));
            continue;
        };
        let key = (w.kind, tail);
        match groups.iter().position(|(k, _)| *k == key) {
            Some(i) => groups[i].1.push(name),
            None => {
                lines.push(Err(groups.len()));
                groups.push((key, vec![name]));
            }
        }
    }
    lines
        .into_iter()
        .map(|l| match l {
            Ok(line) => line,
            Err(i) => {
                let ((_, tail), names) = &groups[i];
                match names.len() {
                    1 => format!("{}: {tail}", names[0]),
                    n => {
                        let shown = names
                            .iter()
                            .take(10)
                            .cloned()
                            .collect::<Vec<_>>()
                            .join(", ");
                        let more = if n > 10 {
                            format!(" and {} more (--json lists each)", n - 10)
                        } else {
                            String::new()
                        };
                        format!("{n} columns ({shown}{more}): {tail}")
                    }
                }
            }
        })
        .collect()
}

/// Blocking problems for the human report: those that say the same of several tables
/// (the same kind, and the same text once the table's quoted name is taken out) become
/// one line naming the tables (the first 10; `--json` lists each). A target user short of
/// privileges on 93 tables got 187 lines (django-oscar trial).
fn grouped_problems(problems: &[Problem]) -> Vec<String> {
    grouped_problem_lines(problems, true)
}

/// As `grouped_problems`, each line led by its kind in brackets when `kinds`; the error
/// of an import or run refused by its plan lists them without (the h24 trial: 71 lines).
pub(crate) fn grouped_problem_lines(problems: &[Problem], kinds: bool) -> Vec<String> {
    let kind_name = |k: ProblemKind| {
        if !kinds {
            return String::new();
        }
        let name = serde_json::to_value(k)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default();
        format!("[{name}] ")
    };
    // (kind, text with the table's name as `{}`) -> the tables, in order of appearance,
    // and the first one's own text (a group of one prints it as it is).
    let mut groups: Vec<((ProblemKind, String), Vec<String>, String)> = Vec::new();
    let mut lines: Vec<Result<String, usize>> = Vec::new();
    for p in problems {
        let Some(template) = without_table_name(&p.message, &p.table) else {
            lines.push(Ok(format!("{}{}", kind_name(p.kind), p.message)));
            continue;
        };
        let key = (p.kind, template);
        match groups.iter().position(|(k, _, _)| *k == key) {
            Some(i) => groups[i].1.push(p.table.clone()),
            None => {
                lines.push(Err(groups.len()));
                groups.push((key, vec![p.table.clone()], p.message.clone()));
            }
        }
    }
    lines
        .into_iter()
        .map(|l| match l {
            Ok(line) => line,
            Err(i) => {
                let ((kind, template), tables, first) = &groups[i];
                if tables.len() == 1 {
                    return format!("{}{first}", kind_name(*kind));
                }
                let shown = tables
                    .iter()
                    .take(10)
                    .map(|t| listed_name(t))
                    .collect::<Vec<_>>()
                    .join(", ");
                let more = if tables.len() > 10 {
                    format!(" and {} more; --json lists each", tables.len() - 10)
                } else {
                    String::new()
                };
                format!(
                    "{}{} tables ({shown}{more}), each: {}",
                    kind_name(*kind),
                    tables.len(),
                    said_of_each(template)
                )
            }
        })
        .collect()
}

/// `message` with the quoted, schema-qualified name of `table` (`"public"."t"`) put as
/// `TABLE_MARK`; None when the message does not name it so.
fn without_table_name(message: &str, table: &str) -> Option<String> {
    if table.is_empty() {
        return None;
    }
    let tail = format!("\".\"{}\"", table.replace('"', "\"\""));
    let mut out = String::new();
    let mut rest = message;
    while let Some(at) = rest.find(&tail) {
        // The schema's opening quote: the first one back that is not a doubled one inside
        // the name (`"my""s"."t"`).
        let mut start = rest[..at].rfind('"')?;
        while start > 0 && rest[..start].ends_with('"') {
            start = rest[..start - 1].rfind('"')?;
        }
        out.push_str(&rest[..start]);
        out.push(TABLE_MARK);
        rest = &rest[at + tail.len()..];
    }
    if out.is_empty() {
        return None;
    }
    out.push_str(rest);
    Some(out)
}

/// A group's text, said of "the table" each line names: `target table {}` reads "the
/// target table", any other `{}` "the table".
fn said_of_each(template: &str) -> String {
    template
        .replace(&format!("target table {TABLE_MARK}"), "the target table")
        .replace(TABLE_MARK, "the table")
}

/// Where a table's name stood in a grouped text: a character no message holds (a `{}`
/// may, as in a `'{}'::jsonb` default).
const TABLE_MARK: char = '\u{1}';

/// A table name in a list: quoted (as Postgres quotes) when it holds anything but
/// letters, digits and `_`, so a name with a comma or a quote cannot blur the list.
fn listed_name(name: &str) -> String {
    if !name.is_empty() && name.chars().all(|c| c.is_alphanumeric() || c == '_') {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Problems saying the same of several tables are one line; the rest stay as they are.
    #[test]
    fn problems_that_say_the_same_of_many_tables_are_one_line() {
        let p = |table: &str, kind, message: String| Problem {
            kind,
            table: table.into(),
            column: None,
            message,
        };
        let lacks = |t: &str| {
            format!(
                "target user \"u\" lacks INSERT (COPY) on \"public\".\"{t}\": grant it, or \
                 connect as the table's owner \"o\""
            )
        };
        let mut problems = vec![p("", ProblemKind::TargetPrivileges, "no ledger".into())];
        for i in 0..12 {
            let t = format!("t{i}");
            problems.push(p(&t, ProblemKind::TargetPrivileges, lacks(&t)));
        }
        problems.push(p(
            "odd\"one",
            ProblemKind::TargetPrivileges,
            lacks("odd\"\"one"),
        ));
        problems.push(p("x", ProblemKind::TargetNotEmpty, lacks("x")));
        // Named twice in one text, and a hostile name: quoted in the list.
        let twice = |t: &str| {
            format!(
                "existing_rows = \"truncate\" needs TRUNCATE on \"public\".\"{t}\": GRANT \
                 TRUNCATE ON \"public\".\"{t}\" TO u"
            )
        };
        problems.push(p("a, b", ProblemKind::TruncateBlocked, twice("a, b")));
        problems.push(p("plain", ProblemKind::TruncateBlocked, twice("plain")));
        let not_empty = |t: &str| {
            format!("target table \"public\".\"{t}\" already holds rows that my2pg did not load")
        };
        // Two texts of one kind for one table, each alone: each printed as it is (the
        // FreeRADIUS trial: the second printed the first's text).
        problems.push(p(
            "solo",
            ProblemKind::TargetPrivileges,
            "lacks INSERT on \"public\".\"solo\"".into(),
        ));
        problems.push(p(
            "solo",
            ProblemKind::TargetPrivileges,
            "sequence of \"public\".\"solo\"".into(),
        ));
        problems.push(p("n1", ProblemKind::TargetNotEmpty, not_empty("n1")));
        problems.push(p("n2", ProblemKind::TargetNotEmpty, not_empty("n2")));
        // A `{}` of the text stays; a schema name holding a quote is taken out whole.
        let odd_schema =
            |t: &str| format!("default '{{}}'::jsonb of \"my\"\"s\".\"{t}\" cannot be stored");
        problems.push(p("j1", ProblemKind::InvalidRule, odd_schema("j1")));
        problems.push(p("j2", ProblemKind::InvalidRule, odd_schema("j2")));
        assert_eq!(
            grouped_problems(&problems),
            vec![
                "[target_privileges] no ledger".to_string(),
                "[target_privileges] 13 tables (t0, t1, t2, t3, t4, t5, t6, t7, t8, t9 and 3 \
                 more; --json lists each), each: target user \"u\" lacks INSERT (COPY) on the \
                 table: grant it, or connect as the table's owner \"o\""
                    .to_string(),
                format!("[target_not_empty] {}", lacks("x")),
                "[truncate_blocked] 2 tables (\"a, b\", plain), each: existing_rows = \
                 \"truncate\" needs TRUNCATE on the table: GRANT TRUNCATE ON the table TO u"
                    .to_string(),
                "[target_privileges] lacks INSERT on \"public\".\"solo\"".to_string(),
                "[target_privileges] sequence of \"public\".\"solo\"".to_string(),
                "[target_not_empty] 2 tables (n1, n2), each: the target table already holds \
                 rows that my2pg did not load"
                    .to_string(),
                "[invalid_rule] 2 tables (j1, j2), each: default '{}'::jsonb of the table \
                 cannot be stored"
                    .to_string(),
            ]
        );
    }

    /// Warnings saying the same of several columns are one line; others stay as they are.
    #[test]
    fn warnings_that_say_the_same_of_many_columns_are_one_line() {
        let w = |table: &str, column: Option<&str>, kind, message: &str| Problem {
            kind,
            table: table.into(),
            column: column.map(String::from),
            message: message.into(),
        };
        let tail = "MySQL int(10) unsigned holds 0..4294967295, PostgreSQL integer only ...";
        let mut warnings = vec![w("", None, ProblemKind::SourcePrivileges, "no SELECT")];
        for i in 0..12 {
            let t = format!("t{i}");
            warnings.push(w(
                &t,
                Some("id"),
                ProblemKind::NarrowerTarget,
                &format!("{t}.id: {tail}"),
            ));
        }
        warnings.push(w(
            "a",
            Some("b"),
            ProblemKind::NullableIntoNotNull,
            "a.b: the source column is nullable",
        ));
        // Another kind with the same text stays apart.
        warnings.push(w(
            "t0",
            Some("x"),
            ProblemKind::TargetOnlyColumn,
            &format!("t0.x: {tail}"),
        ));
        assert_eq!(
            grouped_warnings(&warnings),
            vec![
                "no SELECT".to_string(),
                format!(
                    "12 columns (t0.id, t1.id, t2.id, t3.id, t4.id, t5.id, t6.id, t7.id, \
                     t8.id, t9.id and 2 more (--json lists each)): {tail}"
                ),
                "a.b: the source column is nullable".to_string(),
                format!("t0.x: {tail}"),
            ]
        );
    }

    /// A table whose export has not written a chunk yet is not called partial.
    #[test]
    fn status_tells_an_export_not_begun_from_a_partial_one() {
        let table = |name: &str, chunks: u64, complete: bool| {
            TableStatus::exported(name.into(), chunks, chunks * 10, complete)
        };
        let report = StatusReport {
            command: "status",
            ok: true,
            workdir: "/w".into(),
            tables: vec![
                table("a", 0, false),
                table("b", 2, false),
                table("c", 3, true),
            ],
            pending_restore: vec![],
            running_pid: None,
            last_run: None,
        };
        let lines: Vec<String> = report
            .human()
            .lines()
            .skip(1)
            .take(3)
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(
            lines,
            [
                "a exported 0 chunks / 0 rows (none yet) loaded 0 chunks / 0 rows",
                "b exported 2 chunks / 20 rows (partial) loaded 0 chunks / 0 rows",
                "c exported 3 chunks / 30 rows (complete) loaded 0 chunks / 0 rows",
            ]
        );
    }
}
