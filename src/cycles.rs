//! Carrying out cycle breaks around the load. Fill tables (`my2pg.fill_*`) receive the
//! real values of FK columns that load as NULL, in each chunk's own transaction; after
//! the last wave one UPDATE per broken FK puts them in place (the FK is checked then).
//! A constraint dropped for a NOT NULL cycle is recorded in `my2pg.dropped_constraints`
//! first, so a crash never loses its definition; it comes back NOT VALID + VALIDATE.

use tokio_postgres::Client;

use crate::error::{Error, Result};
use crate::ident::{PgIdent, PgName};
use crate::plan::waves::BreakStrategy;
use crate::plan::{Plan, TablePlan};

const RECORDS: &str = "CREATE TABLE IF NOT EXISTS my2pg.dropped_constraints (
    schema_name text NOT NULL,
    table_name text NOT NULL,
    constraint_name text NOT NULL,
    definition text NOT NULL,
    PRIMARY KEY (schema_name, table_name, constraint_name));
ALTER TABLE my2pg.dropped_constraints ADD COLUMN IF NOT EXISTS comment text";

fn fill_name(table: &str) -> PgName {
    PgName {
        schema: "my2pg".into(),
        name: table.into(),
    }
}

fn quoted(cols: &[String]) -> Vec<String> {
    cols.iter()
        .map(|c| PgIdent(c.clone()).to_string())
        .collect()
}

/// Fill tables an earlier run left with rows this plan would not put in place (a run
/// under `constraints = "keep"` broke an FK cycle and stopped before its fill; this one
/// runs under `rebuild`, or the cycle changed): its loaded rows hold NULL there, and
/// resuming without the fill would finish with those values lost. Refused before the
/// target is touched.
pub async fn pending_fills_match(
    client: &Client,
    plan: &Plan,
    schema: &str,
    fks: &[crate::catalog::ForeignKey],
) -> Result<()> {
    for name in fill_tables_of(client, schema, fks).await? {
        let planned = plan
            .tables
            .iter()
            .any(|t| t.fills.iter().any(|f| f.table == name));
        if planned {
            continue;
        }
        let held: bool = client
            .query_one(
                &format!("SELECT EXISTS (SELECT 1 FROM {})", fill_name(&name)),
                &[],
            )
            .await
            .map_err(|e| Error::pg("read a fill table", &e))?
            .get(0);
        if !held {
            continue;
        }
        let fk = fks
            .iter()
            .find(|k| crate::plan::fill_table_name(&k.child_schema, &k.child, &k.name) == name);
        let what = match fk {
            Some(k) => format!(
                "table {} was loaded with the column(s) of FK {} held back in my2pg.{name}",
                PgName {
                    schema: k.child_schema.clone(),
                    name: k.child.clone()
                },
                k.name
            ),
            None => format!("a table was loaded with FK column(s) held back in my2pg.{name}"),
        };
        return Err(Error::resume(format!(
            "{what} by an earlier run under constraints = \"keep\", which stopped before putting \
             them in place; this run would finish without them. Resume with constraints = \
             \"keep\" (the same settings), or start over with `run --fresh --yes`; nothing was \
             changed in the target"
        )));
    }
    Ok(())
}

/// The `my2pg.fill_*` tables holding values for tables of target schema `schema`: each
/// is labelled with its schema, table and constraint (a comment); one from an earlier
/// version without the label counts when its name is that of an FK of this schema.
/// Fill tables of other schemas (other tenants loaded into one database) are not ours.
async fn fill_tables_of(
    client: &Client,
    schema: &str,
    fks: &[crate::catalog::ForeignKey],
) -> Result<Vec<String>> {
    let rows = client
        .query(
            "SELECT c.relname::text, obj_description(c.oid, 'pg_class') FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = 'my2pg' AND c.relkind = 'r' AND c.relname LIKE 'fill\\_%' \
             ORDER BY 1",
            &[],
        )
        .await
        .map_err(|e| Error::pg("look for fill tables", &e))?;
    let mut out = Vec::new();
    for r in rows {
        let (name, label): (String, Option<String>) = (r.get(0), r.get(1));
        let labelled = label
            .as_deref()
            .and_then(|l| serde_json::from_str::<Vec<String>>(l).ok())
            .and_then(|l| l.first().cloned());
        let ours = match labelled {
            Some(s) => s == schema,
            None => fks.iter().any(|k| {
                k.child_schema == schema
                    && crate::plan::fill_table_name(&k.child_schema, &k.child, &k.name) == name
            }),
        };
        if ours {
            out.push(name);
        }
    }
    Ok(out)
}

/// The label `fill_tables_of` reads: `["schema", "table", "constraint"]`.
fn fill_label(schema: &str, table: &str, constraint: &str) -> String {
    serde_json::json!([schema, table, constraint]).to_string()
}

/// Before any chunk loads: fill tables exist (recreated with `fresh`), and constraints of
/// NOT NULL cycles are recorded and dropped.
pub async fn before_load(
    client: &Client,
    plan: &Plan,
    schema: &str,
    fks: &[crate::catalog::ForeignKey],
    fresh: bool,
) -> Result<()> {
    client
        .batch_execute(RECORDS)
        .await
        .map_err(|e| Error::pg("create my2pg.dropped_constraints", &e))?;
    if fresh {
        // This schema's tables were emptied: values an earlier run held back for them have
        // no rows to go to.
        for name in fill_tables_of(client, schema, fks).await? {
            client
                .batch_execute(&format!("DROP TABLE IF EXISTS {}", fill_name(&name)))
                .await
                .map_err(|e| Error::pg("drop a stale fill table", &e))?;
        }
    }
    for t in &plan.tables {
        for f in &t.fills {
            let name = fill_name(&f.table);
            let mut cols = quoted(&t.target_key);
            cols.extend(quoted(&f.columns));
            let label = fill_label(&t.target.schema, &t.target.name, &f.constraint);
            let sql = format!(
                "{}CREATE TABLE IF NOT EXISTS {name} AS SELECT {} FROM {} WITH NO DATA; \
                 COMMENT ON TABLE {name} IS {}",
                if fresh {
                    format!("DROP TABLE IF EXISTS {name}; ")
                } else {
                    String::new()
                },
                cols.join(", "),
                t.target,
                crate::ident::pg_literal(&label)
            );
            client
                .batch_execute(&sql)
                .await
                .map_err(|e| Error::pg(format!("create fill table for {}", f.constraint), &e))?;
        }
    }
    for b in plan
        .breaks
        .iter()
        .filter(|b| b.strategy == BreakStrategy::DropAndValidate)
    {
        let table = PgName {
            schema: b.schema.clone(),
            name: b.child.clone(),
        };
        let def: Option<(String, Option<String>)> = client
            .query_opt(
                "SELECT pg_get_constraintdef(c.oid), obj_description(c.oid, 'pg_constraint') \
                 FROM pg_constraint c WHERE c.conrelid = $1::text::regclass AND c.conname = $2",
                &[&table.to_string(), &b.constraint],
            )
            .await
            .map_err(|e| Error::pg("read constraint definition", &e))?
            .map(|r| (r.get(0), r.get(1)));
        // None: already dropped and recorded by an earlier run.
        let Some((def, comment)) = def else { continue };
        let tx_sql = format!(
            "ALTER TABLE {table} DROP CONSTRAINT {}",
            PgIdent(b.constraint.clone())
        );
        client
            .execute(
                "INSERT INTO my2pg.dropped_constraints (schema_name, table_name, \
                   constraint_name, definition, comment) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT DO NOTHING",
                &[&b.schema, &b.child, &b.constraint, &def, &comment],
            )
            .await
            .map_err(|e| Error::pg("record a dropped constraint", &e))?;
        client
            .batch_execute(&tx_sql)
            .await
            .map_err(|e| Error::pg(format!("drop constraint {} for the load", b.constraint), &e))?;
        tracing::info!(constraint = %b.constraint, table = %table, "dropped for the load (NOT NULL cycle)");
    }
    Ok(())
}

/// The chunk's statements for a table with fills, after it was copied into `my2pg_stage`:
/// the real FK values go to the fill tables, the rows go in with those columns NULL.
pub fn staged_insert_sql(t: &TablePlan) -> Vec<String> {
    let mut out = Vec::new();
    for f in &t.fills {
        let mut cols = quoted(&t.target_key);
        cols.extend(quoted(&f.columns));
        let any_set: Vec<String> = quoted(&f.columns)
            .iter()
            .map(|c| format!("{c} IS NOT NULL"))
            .collect();
        out.push(format!(
            "INSERT INTO {} ({}) SELECT {} FROM my2pg_stage WHERE {}",
            fill_name(&f.table),
            cols.join(", "),
            cols.join(", "),
            any_set.join(" OR ")
        ));
    }
    let nulled: Vec<&String> = t.fills.iter().flat_map(|f| f.columns.iter()).collect();
    let cols = t.quoted_target_columns();
    let values: Vec<String> = t
        .columns
        .iter()
        .map(|c| {
            if nulled.contains(&&c.target) {
                "NULL".to_string()
            } else {
                PgIdent(c.target.clone()).to_string()
            }
        })
        .collect();
    out.push(format!(
        "INSERT INTO {} ({}) OVERRIDING SYSTEM VALUE SELECT {} FROM my2pg_stage",
        t.target,
        cols.join(", "),
        values.join(", ")
    ));
    out
}

/// After the last wave: fill every broken nullable FK, then restore dropped constraints.
/// A fill or constraint the rows violate does not stop the others: every violation is
/// named in one error (`Error::after_load`).
pub async fn after_load(client: &mut Client, plan: &Plan) -> Result<()> {
    let mut violations = Vec::new();
    for t in &plan.tables {
        for f in &t.fills {
            let set: Vec<String> = quoted(&f.columns)
                .iter()
                .map(|c| format!("{c} = s.{c}"))
                .collect();
            let on: Vec<String> = quoted(&t.target_key)
                .iter()
                .map(|k| format!("t.{k} = s.{k}"))
                .collect();
            let name = fill_name(&f.table);
            let sql = format!(
                "UPDATE {} t SET {} FROM {name} s WHERE {}",
                t.target,
                set.join(", "),
                on.join(" AND ")
            );
            let tx = client
                .transaction()
                .await
                .map_err(|e| Error::pg("begin fill", &e))?;
            let filled = tx.execute(sql.as_str(), &[]).await.map_err(|e| {
                Error::pg_data(
                    format!(
                        "fill {} after the load (constraint {})",
                        t.target, f.constraint
                    ),
                    &e,
                )
            });
            // The transaction rolls back on drop: the fill table stays for the next run.
            let n = match filled {
                Ok(n) => n,
                Err(e) if e.is_violation() => {
                    violations.push(e);
                    continue;
                }
                Err(e) => return Err(Error::after_load_all(e, violations)),
            };
            // The fill rewrites loaded rows: their new xmin is still my2pg's.
            let finished = async {
                crate::ledger::record_own_write(&tx, &t.target.schema, &t.target.name).await?;
                tx.batch_execute(&format!("DROP TABLE {name}"))
                    .await
                    .map_err(|e| Error::pg("drop fill table", &e))?;
                tx.commit().await.map_err(|e| Error::pg("commit fill", &e))
            };
            // Violations found so far are not dropped by a failure here.
            if let Err(e) = finished.await {
                return Err(Error::after_load_all(e, violations));
            }
            tracing::info!(table = %t.target, constraint = %f.constraint, rows = n, "filled FK columns after the load");
        }
    }
    if let Err(e) = restore_constraints(client, true).await {
        violations.push(e);
    }
    Error::after_load(violations).map_or(Ok(()), Err)
}

/// Re-adds every recorded constraint: NOT VALID (enforced for new rows at once), then
/// VALIDATE when asked, which checks the loaded rows and fails loudly on a violation.
pub async fn restore_constraints(client: &Client, validate: bool) -> Result<()> {
    if !crate::ledger::table_exists(client, "dropped_constraints").await? {
        return Ok(());
    }
    let rows = client
        .query(
            "SELECT schema_name, table_name, constraint_name, definition, comment \
             FROM my2pg.dropped_constraints ORDER BY 1, 2, 3",
            &[],
        )
        .await
        .map_err(|e| Error::pg("read dropped constraints", &e))?;
    // With `validate`, every constraint is tried; the ones the rows violate are named
    // together at the end.
    let mut violations = Vec::new();
    for r in rows {
        let (schema, table, name, def, comment): (String, String, String, String, Option<String>) =
            (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4));
        let t = PgName {
            schema: schema.clone(),
            name: table.clone(),
        };
        let present: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = $1::text::regclass AND conname = $2)",
                &[&t.to_string(), &name],
            )
            .await
            .map_err(|e| Error::pg("look up constraint", &e))?
            .get(0);
        let q = PgIdent(name.clone());
        if !present && crate::rebuild::is_partitioned(client, &t).await? {
            // A partitioned table refuses NOT VALID (before Postgres 18): added validated.
            let added = client
                .batch_execute(&format!("ALTER TABLE {t} ADD CONSTRAINT {q} {def}"))
                .await
                .map_err(|e| Error::pg_data(format!("re-add constraint {name}"), &e));
            match added {
                Ok(()) => {}
                Err(e) if validate && e.is_violation() => {
                    violations.push(e);
                    continue;
                }
                Err(e) if validate => return Err(e),
                // Failure path: the partial load may not satisfy it; it stays recorded.
                Err(e) => {
                    tracing::warn!("{name} left out after the failure: {e}");
                    continue;
                }
            }
        } else if !present {
            client
                .batch_execute(&format!(
                    "ALTER TABLE {t} ADD CONSTRAINT {q} {def} NOT VALID"
                ))
                .await
                .map_err(|e| Error::pg(format!("re-add constraint {name}"), &e))?;
        }
        if let (false, Some(comment)) = (present, &comment) {
            client
                .batch_execute(&format!(
                    "COMMENT ON CONSTRAINT {q} ON {t} IS {}",
                    crate::ident::pg_literal(comment)
                ))
                .await
                .map_err(|e| Error::pg(format!("restore the comment of constraint {name}"), &e))?;
        }
        if validate {
            let validated = client
                .batch_execute(&format!("ALTER TABLE {t} VALIDATE CONSTRAINT {q}"))
                .await
                .map_err(|e| Error::pg_data(format!("validate constraint {name} on {t}"), &e));
            match validated {
                Ok(()) => {}
                Err(e) if e.is_violation() => {
                    violations.push(e);
                    continue;
                }
                Err(e) => return Err(e),
            }
            client
                .execute(
                    "DELETE FROM my2pg.dropped_constraints WHERE schema_name = $1 AND table_name = $2 AND constraint_name = $3",
                    &[&schema, &table, &name],
                )
                .await
                .map_err(|e| Error::pg("forget a restored constraint", &e))?;
            tracing::info!(constraint = %name, table = %t, "constraint restored and validated");
        }
    }
    Error::after_load(violations).map_or(Ok(()), Err)
}
