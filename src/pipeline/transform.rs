//! Transform lane: converts and encodes each batch on the rayon pool. Rows are split into
//! tasks and joined back in order, so the chunk bytes do not depend on thread timing.

use std::borrow::Cow;

use crossbeam_channel::{Receiver, Sender};
use mysql_async::{Row, Value};
use rayon::prelude::*;

use super::read::give_back;
use super::{Cancel, EncodedBatch, RowBatch};
use crate::convert::{
    excerpt, excerpt_as, hidden_set_members, put_set_members, Converter, ProblemClass,
};
use crate::error::{Error, ErrorKind, Result};
use crate::plan::TablePlan;

/// Rows per rayon task: large enough to amortize scheduling, small enough to balance.
const TASK_ROWS: usize = 256;

pub fn transform_lane(
    pool: &rayon::ThreadPool,
    t: &TablePlan,
    batch_rx: Receiver<RowBatch>,
    enc_tx: Sender<EncodedBatch>,
    spent_tx: Sender<Vec<Row>>,
    cancel: &Cancel,
) -> Result<()> {
    for batch in batch_rx {
        cancel.check()?;
        let (csv, changed) = encode_batch(pool, t, &batch.rows)?;
        let out = EncodedBatch {
            chunk: batch.chunk,
            rows: batch.rows.len() as u64,
            csv,
            changed,
            ends_chunk: batch.ends_chunk,
            last_key: batch.last_key,
            first_key: batch.first_key,
            ends_segment: batch.ends_segment,
        };
        give_back(&spent_tx, batch.rows);
        if enc_tx.send(out).is_err() {
            return Err(crate::error::Error::cancelled()); // the writer reports the real error
        }
    }
    Ok(())
}

/// CSV bytes of the rows, and per column how many values a rule changed.
pub type Encoded = (Vec<u8>, Vec<u64>);

/// The rows' CSV in pieces (one per rayon task, in row order: the writer writes them in
/// turn instead of copying them into one buffer first), and the rule counts.
pub fn encode_batch(
    pool: &rayon::ThreadPool,
    t: &TablePlan,
    rows: &[Row],
) -> Result<(Vec<Vec<u8>>, Vec<u64>)> {
    if rows.len() <= TASK_ROWS {
        let (csv, changed) = encode_rows(t, rows)?;
        return Ok((vec![csv], changed));
    }
    let parts: Vec<Result<Encoded>> = pool.install(|| {
        rows.par_chunks(TASK_ROWS)
            .map(|r| encode_rows(t, r))
            .collect()
    });
    let mut csv = Vec::with_capacity(parts.len());
    let mut changed = vec![0u64; t.columns.len()];
    for p in parts {
        let (part, counts) = p?; // the first failing row in key order wins
        csv.push(part);
        changed.iter_mut().zip(counts).for_each(|(a, b)| *a += b);
    }
    Ok((csv, changed))
}

/// Converts rows into CSV lines: NULL is an empty unquoted field.
pub fn encode_rows(t: &TablePlan, rows: &[Row]) -> Result<Encoded> {
    let mut out = Vec::with_capacity(rows.len() * 64 * t.columns.len().max(1));
    let mut changed = vec![0u64; t.columns.len()];
    for row in rows {
        if let Some((i, class)) = source_read_problem(t, row) {
            let col = &t.columns[i];
            return Err(ErrorKind::Convert {
                table: t.source.clone(),
                column: col.source.clone(),
                row: name_row(t, row),
                // MariaDB sent NULL in its place: "cannot convert NULL" would mislead.
                excerpt: if class == ProblemClass::OverMaxAllowedPacket {
                    "its stored value".into()
                } else {
                    row.as_ref(i)
                        .map_or_else(String::new, |v| excerpt_as(v, &col.source_type))
                },
                reason: source_read_reason(t, i, class),
            }
            .into());
        }
        for (i, col) in t.columns.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            let Some(v) = row.as_ref(i).filter(|v| **v != Value::NULL) else {
                if let Some(d) = &col.null_default {
                    crate::encode::put_text(&mut out, d.text.as_bytes());
                    changed[i] += 1;
                    continue;
                }
                if !col.target_nullable {
                    return Err(null_into_not_null(t, col, row));
                }
                continue;
            };
            // A set whose text left out its '' member: written from the bit mask.
            if let (Converter::TextArray { max_chars }, Value::Bytes(text)) = (&col.converter, v) {
                let hidden = t
                    .set_member_read(i)
                    .and_then(|(labels, at)| hidden_set_members(labels, text, row.as_ref(at)));
                if let Some(members) = hidden {
                    put_set_members(&mut out, &members, *max_chars).map_err(|e| {
                        ErrorKind::Convert {
                            table: t.source.clone(),
                            column: col.source.clone(),
                            row: name_row(t, row),
                            excerpt: excerpt_as(v, &col.source_type),
                            reason: with_binary_hint(col, &e, v),
                        }
                    })?;
                    continue;
                }
            }
            let (value, was_changed) = match col.rule {
                Some(rule) => rule.apply(v),
                None => (Some(Cow::Borrowed(v)), false),
            };
            changed[i] += was_changed as u64;
            if value.is_none() && !col.target_nullable {
                return Err(null_into_not_null(t, col, row));
            }
            if let Some(value) = value {
                col.converter
                    .convert(&value, &mut out)
                    .map_err(|e| ErrorKind::Convert {
                        table: t.source.clone(),
                        column: col.source.clone(),
                        row: name_row(t, row),
                        excerpt: excerpt_as(v, &col.source_type),
                        reason: with_binary_hint(col, &e, &value),
                    })?;
            }
        }
        out.push(b'\n');
    }
    Ok((out, changed))
}

/// What the operator can do about the value: which rules help binary data that is not
/// text, else the class's remedy.
fn with_binary_hint(
    col: &crate::plan::ColumnPlan,
    e: &crate::convert::ConvertError,
    v: &Value,
) -> String {
    use crate::convert::Converter;
    let ty = col.source_type.to_ascii_lowercase();
    let binary = ty.starts_with("binary") || ty.starts_with("varbinary") || ty.ends_with("blob");
    let nul = matches!(v, Value::Bytes(b) if b.contains(&0));
    let not_text = matches!(
        e.class,
        ProblemClass::InvalidUtf8 | ProblemClass::NulByte | ProblemClass::InvalidJson
    );
    let with_remedy = || {
        format!(
            "{e} (to move it: {}; `my2pg check` counts every such value)",
            e.class
                .remedy_for(&col.converter, col.target_nullable, col.rule)
        )
    };
    if !binary || !not_text {
        return with_remedy();
    }
    match &col.converter {
        Converter::Text { .. } if e.class != ProblemClass::InvalidJson => format!(
            "{e}; the source column is binary: rule `hex` or `base64` keeps any bytes as text \
             (the application then reads that text, not the bytes, unless it decodes it), \
             `strip_nul` drops NUL bytes (UTF-16 text or binary data loses its meaning)"
        ),
        Converter::Json { .. } if nul => format!(
            "{e}; the source column is binary and the value holds NUL bytes (binary(n) pads \
             with them): rule `strip_nul` drops them"
        ),
        Converter::Json { .. } if e.class == ProblemClass::InvalidUtf8 => format!(
            "{e}; the source column is binary: json and jsonb take only UTF-8 JSON text \
             (a bytea target keeps any bytes)"
        ),
        _ => with_remedy(),
    }
}

/// The first column this row's flags say was not read as the plan asks: a charset check
/// that failed (MariaDB sent `?` for a stored byte with no Unicode character), or a value
/// MariaDB's string functions returned as NULL because it is larger than the server's
/// max_allowed_packet (the check could not run, or the stored bytes never arrived).
pub fn source_read_problem(t: &TablePlan, row: &Row) -> Option<(usize, ProblemClass)> {
    let present = |i: usize| row.as_ref(i).is_some_and(|v| *v != Value::NULL);
    let is_zero = |v: &Value| match v {
        Value::Int(n) => *n == 0,
        Value::UInt(n) => *n == 0,
        Value::Bytes(b) => b.as_slice() == b"0",
        _ => false,
    };
    for (k, ch) in t.charset_checks.iter().enumerate() {
        match row.as_ref(t.charset_flag_position(k)) {
            None | Some(Value::NULL) if present(ch.column) => {
                return Some((ch.column, ProblemClass::OverMaxAllowedPacket))
            }
            Some(flag) if is_zero(flag) => return Some((ch.column, ProblemClass::UnmappableChar)),
            _ => {}
        }
    }
    for (k, i) in t.stored_bytes_columns().enumerate() {
        let flag_not_null = row.as_ref(t.null_flag_position(k)).is_some_and(is_zero);
        if flag_not_null && !present(i) {
            return Some((i, ProblemClass::OverMaxAllowedPacket));
        }
    }
    None
}

pub fn source_read_reason(t: &TablePlan, column: usize, class: ProblemClass) -> String {
    if class == ProblemClass::OverMaxAllowedPacket {
        return "the value (or its UTF-8 form) is larger than the source server's \
                max_allowed_packet, above which MariaDB's CAST and CONVERT return NULL, so it \
                cannot be read as stored or checked for unmappable bytes (it would load as NULL \
                or with '?'); raise it on the source server (SET GLOBAL max_allowed_packet = \
                1073741824) and run again"
            .into();
    }
    let cs = t
        .charset_checks
        .iter()
        .find(|c| c.column == column)
        .map_or("?", |c| c.charset.as_str());
    format!(
        "the stored value has bytes with no Unicode character in charset {cs} \
         (MariaDB sends them as '?'); fix the data, or copy the column into bytea"
    )
}

/// Postgres would refuse the row anyway; failing here names the row the same way every
/// other bad value is named, and lets `check` count them before the cut-over.
fn null_into_not_null(t: &TablePlan, col: &crate::plan::ColumnPlan, row: &Row) -> Error {
    ErrorKind::Convert {
        table: t.source.clone(),
        column: col.source.clone(),
        row: name_row(t, row),
        excerpt: "NULL".into(),
        reason: format!(
            "the target column \"{}\" is NOT NULL (to move it: {}; `my2pg check` counts every \
             such value)",
            col.target,
            col.null_into_not_null_remedy()
        ),
    }
    .into()
}

/// `primary key (id)=(42)`, `unique key (a, b)=(1, "x")`, or for a table with no key
/// `row (a, b, c)=(...)`: the row as an operator can find it in the source.
pub fn name_row(t: &TablePlan, row: &Row) -> String {
    format!("{} {}", t.key_label(), format_key(t, row))
}

/// `(id)=(42)` or `(a, b)=(1, "x")`, from the row's key columns (every column when the
/// table has no key).
pub fn format_key(t: &TablePlan, row: &Row) -> String {
    let names: Vec<&str> = t.key.iter().map(String::as_str).collect();
    let values: Vec<String> = t
        .key_positions
        .iter()
        .map(|&i| row.as_ref(i).map_or("?".into(), excerpt))
        .collect();
    format!("({})=({})", names.join(", "), values.join(", "))
}
