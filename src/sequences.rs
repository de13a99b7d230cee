//! After the load, every sequence a copied column takes its values from (identity,
//! serial, or a plain `DEFAULT nextval('s')`) is moved so that its next value lies past
//! every loaded value: above the maximum for an ascending sequence, below the minimum
//! for a descending one. A sequence shared by several columns takes the extreme over
//! all of them. A sequence never moves backwards (a value it already handed out, or
//! that another table not copied here holds, must not come again), nor outside its
//! own bounds (`setval` would refuse and fail the run). An ascending sequence of the
//! column the source's AUTO_INCREMENT fed also moves to that counter: MySQL would not
//! hand out ids below it again (rows deleted at the end of the table included).

use std::collections::BTreeMap;

use tokio_postgres::Client;

use crate::error::{Error, Result};
use crate::ident::{PgIdent, PgName};
use crate::plan::Plan;

/// A sequence's bounds and position, as `pg_sequence` and the sequence itself hold them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SeqState {
    pub min: i64,
    pub max: i64,
    pub increment: i64,
    pub last_value: i64,
    pub is_called: bool,
    /// CYCLE: past its bound it starts again from the other one.
    pub cycle: bool,
}

/// What to do with one sequence given the loaded values' (lowest, highest).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SeqMove {
    /// Its next value already lies past every loaded value (or nothing was loaded).
    Leave,
    /// `setval(seq, v, true)`: the next value is `v + increment`.
    Set(i64),
    /// The loaded values reach the bound it counts towards: it is set to that bound,
    /// so `nextval` fails (or wraps, with CYCLE) instead of handing out a loaded value.
    Exhausted(i64),
}

pub fn sequence_move(s: &SeqState, loaded: Option<(i64, i64)>) -> SeqMove {
    let Some((lo, hi)) = loaded else {
        return SeqMove::Leave;
    };
    let next = if s.is_called {
        s.last_value.checked_add(s.increment)
    } else {
        Some(s.last_value)
    };
    if s.increment > 0 {
        // None: past i64, so nextval already fails; nothing to move.
        match next {
            Some(n) if n <= hi => {}
            _ => return SeqMove::Leave,
        }
        if hi >= s.max {
            SeqMove::Exhausted(s.max)
        } else {
            SeqMove::Set(hi)
        }
    } else {
        match next {
            Some(n) if n >= lo => {}
            _ => return SeqMove::Leave,
        }
        if lo <= s.min {
            SeqMove::Exhausted(s.min)
        } else {
            SeqMove::Set(lo)
        }
    }
}

/// A sequence whose next step leaves its bounds (ascending: past MAXVALUE; descending:
/// below MINVALUE) while the loaded values stay short of that bound.
fn stuck_at_bound(s: &SeqState, loaded: Option<(i64, i64)>) -> bool {
    let Some((lo, hi)) = loaded else {
        return false;
    };
    let next = s.last_value.checked_add(s.increment);
    if s.increment > 0 {
        s.is_called && next.is_none_or(|n| n > s.max) && hi < s.max
    } else {
        s.is_called && next.is_none_or(|n| n < s.min) && lo > s.min
    }
}

/// A copied column drawing from a sequence: its table, its name, and the source's
/// AUTO_INCREMENT counter where that column was the source's auto-increment column.
type SequenceUser<'a> = (&'a PgName, &'a str, Option<u64>);

/// What the sequences step did: how many sequences it moved, and each one it left where
/// the application's next insert fails (also logged), for the run report.
#[derive(Debug, Default, Clone)]
pub struct SequencesMoved {
    pub count: u64,
    pub warnings: Vec<String>,
}

/// Sets every sequence of the copied columns.
pub async fn fix_sequences(client: &Client, plan: &Plan) -> Result<SequencesMoved> {
    // Quoted sequence name -> the columns that draw from it.
    let mut users: BTreeMap<&str, Vec<SequenceUser>> = BTreeMap::new();
    for t in &plan.tables {
        for (col, seq) in &t.sequences {
            let next_id = t
                .source_next_id
                .as_ref()
                .filter(|(c, _)| c == col)
                .map(|&(_, n)| n);
            users
                .entry(seq.as_str())
                .or_default()
                .push((&t.target, col.as_str(), next_id));
        }
    }
    let mut moved = 0;
    // Said in the report too: a log line was all the Kallithea trial got of a cut-over
    // whose application could not insert (exit 0, "finished").
    let mut warnings = Vec::new();
    for (seq, columns) in users {
        let state = sequence_state(client, seq).await?;
        let mut loaded: Option<(i64, i64)> = None;
        let mut counter = false;
        for (table, col, next_id) in columns {
            // The last id MySQL handed out, as if loaded (ascending sequences only).
            if let Some(last) = next_id
                .filter(|&n| n > 1 && state.increment > 0)
                .map(|n| i64::try_from(n - 1).unwrap_or(i64::MAX))
            {
                counter = true;
                loaded = Some(match loaded {
                    Some((l, h)) => (l, h.max(last)),
                    None => (last, last),
                });
            }
            // Clamped into bigint: a sequence's bounds are bigint, so nothing is lost.
            // (LEAST and GREATEST skip NULLs: an empty table gives no row instead.)
            let c = PgIdent(col.to_string());
            let sql = format!(
                "SELECT GREATEST(LEAST(lo, 9223372036854775807), -9223372036854775808)::int8, \
                        GREATEST(LEAST(hi, 9223372036854775807), -9223372036854775808)::int8 \
                 FROM (SELECT min({c})::numeric AS lo, max({c})::numeric AS hi FROM {table}) s \
                 WHERE hi IS NOT NULL"
            );
            let row = client
                .query_opt(sql.as_str(), &[])
                .await
                .map_err(|e| Error::pg(format!("read the range of {table}.{c} for {seq}"), &e))?;
            if let Some(r) = row {
                let (lo, hi): (i64, i64) = (r.get(0), r.get(1));
                loaded = Some(match loaded {
                    Some((l, h)) => (l.min(lo), h.max(hi)),
                    None => (lo, hi),
                });
            }
        }
        let at_bound = loaded.is_some_and(|(lo, hi)| {
            (state.increment > 0 && hi >= state.max) || (state.increment < 0 && lo <= state.min)
        });
        let value = match sequence_move(&state, loaded) {
            // Already set there by an earlier run (`--fresh` loads the same values): the
            // operator reads this run's log at the cut-over, so it says so again.
            SeqMove::Leave if at_bound => {
                // The counter counts as loaded (the Review Board trial: "loaded values"
                // where only the counter reached the bound).
                let what = if counter {
                    "loaded values or the source's AUTO_INCREMENT counter"
                } else {
                    "loaded values"
                };
                let w = format!(
                    "sequence {seq}: {what} reach its bound; it stands there, so its next \
                     nextval fails"
                );
                tracing::warn!("{w}");
                warnings.push(w);
                continue;
            }
            // Stuck at its bound with every loaded value below it: an earlier load (of
            // rows `--fresh` has since removed) or the application set it there, and it
            // is never moved back; the application's next insert would fail (Trac trial:
            // a rehearsal's id 2147483647, then --fresh without it, exit 0).
            SeqMove::Leave if stuck_at_bound(&state, loaded) => {
                let (lo, hi) = loaded.unwrap_or_default();
                let edge = if state.increment > 0 { hi } else { lo };
                let next = if state.cycle {
                    "starts again from its other bound (CYCLE), among ids the loaded rows may hold"
                } else {
                    "fails"
                };
                let w = format!(
                    "sequence {seq} stands at its bound {}, past every loaded value (the \
                     furthest {edge}): an earlier load or the application set it there, and \
                     my2pg never moves a sequence back, so its next nextval {next}; if no row \
                     anywhere holds the values past {edge}, set it back: SELECT setval('{}', \
                     {edge})",
                    state.last_value,
                    seq.replace('\'', "''")
                );
                tracing::warn!("{w}");
                warnings.push(w);
                continue;
            }
            SeqMove::Leave => continue,
            SeqMove::Set(v) => v,
            SeqMove::Exhausted(v) => {
                let what = if counter {
                    "loaded values or the source's AUTO_INCREMENT counter"
                } else {
                    "loaded values"
                };
                let w = format!(
                    "sequence {seq}: {what} reach its bound {v}; set there, its next nextval fails"
                );
                tracing::warn!("{w}");
                warnings.push(w);
                v
            }
        };
        client
            .query_one(
                "SELECT setval($1::text::regclass, $2, true)",
                &[&seq, &value],
            )
            .await
            .map_err(|e| Error::pg(format!("set sequence {seq}"), &e))?;
        moved += 1;
    }
    Ok(SequencesMoved {
        count: moved,
        warnings,
    })
}

async fn sequence_state(client: &Client, seq: &str) -> Result<SeqState> {
    let bounds = client
        .query_one(
            "SELECT seqmin, seqmax, seqincrement, seqcycle FROM pg_sequence \
             WHERE seqrelid = $1::text::regclass",
            &[&seq],
        )
        .await
        .map_err(|e| Error::pg(format!("read the bounds of sequence {seq}"), &e))?;
    // `seq` is quoted by Postgres (format('%I.%I') or pg_get_serial_sequence).
    let position = client
        .query_one(
            format!("SELECT last_value, is_called FROM {seq}").as_str(),
            &[],
        )
        .await
        .map_err(|e| Error::pg(format!("read the position of sequence {seq}"), &e))?;
    Ok(SeqState {
        min: bounds.get(0),
        max: bounds.get(1),
        increment: bounds.get(2),
        last_value: position.get(0),
        is_called: position.get(1),
        cycle: bounds.get(3),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seq(min: i64, max: i64, increment: i64, last_value: i64, is_called: bool) -> SeqState {
        SeqState {
            min,
            max,
            increment,
            last_value,
            is_called,
            cycle: false,
        }
    }

    /// Stuck: the next step leaves the bounds, though the loaded values stay short of
    /// them (an increment of 10 ten short of MAXVALUE included: the review).
    #[test]
    fn a_sequence_whose_next_step_leaves_its_bounds_is_stuck() {
        let max = i64::from(i32::MAX);
        assert!(stuck_at_bound(&seq(1, max, 1, max, true), Some((1, 5))));
        assert!(stuck_at_bound(
            &seq(1, max, 10, max - 7, true),
            Some((1, 5))
        ));
        assert!(!stuck_at_bound(
            &seq(1, max, 10, max - 10, true),
            Some((1, 5))
        ));
        assert!(!stuck_at_bound(&seq(1, max, 1, max, true), Some((1, max))));
        assert!(!stuck_at_bound(&seq(1, max, 1, max, false), Some((1, 5))));
        assert!(stuck_at_bound(
            &seq(-100, -1, -1, -100, true),
            Some((-50, -2))
        ));
        assert!(!stuck_at_bound(&seq(1, max, 1, 7, true), None));
    }

    #[test]
    fn next_value_lands_past_the_loaded_values_within_bounds() {
        let fresh = seq(1, i32::MAX.into(), 1, 1, false);
        assert_eq!(sequence_move(&fresh, Some((1, 42))), SeqMove::Set(42));
        assert_eq!(sequence_move(&fresh, None), SeqMove::Leave);
        // All below minvalue: the sequence's values cannot collide; setval would fail.
        assert_eq!(sequence_move(&fresh, Some((-10, -3))), SeqMove::Leave);
        assert_eq!(sequence_move(&fresh, Some((-10, 1))), SeqMove::Set(1));
        // Already past: never moved back.
        assert_eq!(
            sequence_move(&seq(1, 100, 1, 50, true), Some((1, 20))),
            SeqMove::Leave
        );
        assert_eq!(
            sequence_move(&seq(1, 100, 1, 50, true), Some((1, 50))),
            SeqMove::Leave
        );
        assert_eq!(
            sequence_move(&seq(1, 100, 1, 50, true), Some((1, 60))),
            SeqMove::Set(60)
        );
        assert_eq!(
            sequence_move(&seq(1, 100, 1, 1, false), Some((1, 100))),
            SeqMove::Exhausted(100)
        );
        assert_eq!(
            sequence_move(&seq(1, 100, 1, 1, false), Some((1, 500))),
            SeqMove::Exhausted(100)
        );
        assert_eq!(
            sequence_move(&seq(1, i64::MAX, 1, i64::MAX, true), Some((1, 5))),
            SeqMove::Leave
        );
    }

    #[test]
    fn descending_sequences_go_below_the_lowest_loaded_value() {
        let fresh = seq(-1000, -1, -1, -1, false);
        assert_eq!(sequence_move(&fresh, Some((-7, -2))), SeqMove::Set(-7));
        assert_eq!(sequence_move(&fresh, Some((3, 9))), SeqMove::Leave);
        assert_eq!(
            sequence_move(&fresh, Some((-2000, -2))),
            SeqMove::Exhausted(-1000)
        );
        assert_eq!(
            sequence_move(&seq(-1000, -1, -5, -100, true), Some((-96, -2))),
            SeqMove::Leave
        );
    }
}
