//! Target introspection from `pg_catalog`: real column types (domains resolved to their
//! base, enum labels, arrays), defaults, identity and serial sequences, keys and FKs.

use std::collections::BTreeMap;

use tokio_postgres::Client;

use super::{ForeignKey, PgKind, PgType, TargetColumn, TargetTable};
use crate::error::{Error, Result};

/// The sequence (its oid) a column default of the old text form calls:
/// `nextval('s'::text)`, stored as `nextval(('s'::text)::regclass)` (Roundcube's schema,
/// dumps from before Postgres 8.1), or through `character varying` (stored as
/// `nextval('s'::character varying::text::regclass)`, the attack). That form names the sequence at run time, so
/// `pg_depend` records no link and the sequence would stay behind. The name is resolved
/// as nextval reads it (unquoted letters folded), in the table's schema first. Needs the
/// attribute default `d` and the table's schema `n`; a name that is not one or two
/// identifiers is left alone, and so is a schema the user may not use (`to_regclass`
/// raises there, and a name Postgres 15 cannot parse raises too: the review).
macro_rules! text_nextval_sequence {
    () => {
        r#"(SELECT ts.oid FROM
   (SELECT replace(substring(pg_get_expr(d.adbin, d.adrelid)
      FROM $re$^nextval\([(]*'((?:[^']|'')+)'(?:\)?::(?:text|character varying))*\)*::regclass\)$$re$),
      '''''', '''') AS name) l
   JOIN pg_class ts ON ts.relkind = 'S' AND ts.oid = COALESCE(
     CASE WHEN l.name ~ $re$^("([^"]|"")+"|[[:alpha:]_][[:alnum:]_$]*)$$re$
       THEN CASE WHEN has_schema_privilege(n.oid, 'USAGE')
         THEN to_regclass(quote_ident(n.nspname) || '.' || l.name) END END,
     CASE WHEN l.name ~ $re$^("([^"]|"")+"|[[:alpha:]_][[:alnum:]_$]*)$$re$
       THEN to_regclass(l.name) END,
     CASE WHEN l.name ~ $re$^("([^"]|"")+"|[[:alpha:]_][[:alnum:]_$]*)\.("([^"]|"")+"|[[:alpha:]_][[:alnum:]_$]*)$$re$
       THEN CASE WHEN EXISTS (SELECT FROM pg_namespace qn
                              WHERE qn.nspname = (parse_ident(l.name))[1]
                                AND has_schema_privilege(qn.oid, 'USAGE'))
         THEN to_regclass(l.name) END END))"#
    };
}

/// Column 12 names the sequence to move after the load: the identity or serial one, else
/// one a column default calls (`DEFAULT nextval('s')` without OWNED BY; the default's
/// dependency on the sequence is recorded in `pg_depend`; or the old text form,
/// `text_nextval_sequence`). Only a number column whose
/// default is the nextval call itself: in `'INV-' || nextval('s')` the loaded values are
/// not the sequence's values. Else, for a number column without a default, a sequence
/// linked to nothing that bears its serial name `<table>_<column>_seq`: the application
/// calls nextval itself (Flask-AppBuilder, SQLAlchemy's `Sequence()`), and left behind
/// it hands out ids the load already used (Superset trial).
const COLUMNS_SQL: &str = concat!(
    "
SELECT c.relname, a.attname, a.attnotnull, a.atthasdef, a.attidentity <> '', a.attgenerated <> '',
       format_type(a.atttypid, a.atttypmod),
       bt.typname, base.typmod,
       bt.typtype::text, et.typname,
       (SELECT array_agg(e.enumlabel::text ORDER BY e.enumsortorder) FROM pg_enum e WHERE e.enumtypid = bt.oid),
       COALESCE(pg_get_serial_sequence(format('%I.%I', n.nspname, c.relname), a.attname),
         (SELECT format('%I.%I', sn.nspname, s.relname)
          FROM pg_attrdef d
          JOIN pg_depend dp ON dp.classid = 'pg_attrdef'::regclass AND dp.objid = d.oid
            AND dp.refclassid = 'pg_class'::regclass
          JOIN pg_class s ON s.oid = dp.refobjid AND s.relkind = 'S'
          JOIN pg_namespace sn ON sn.oid = s.relnamespace
          WHERE d.adrelid = c.oid AND d.adnum = a.attnum
            AND bt.typname IN ('int2', 'int4', 'int8', 'numeric')
            AND pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%'
          ORDER BY 1 LIMIT 1),
         (SELECT format('%I.%I', sn.nspname, s.relname)
          FROM pg_attrdef d
          JOIN pg_class s ON s.oid = ",
    text_nextval_sequence!(),
    "
          JOIN pg_namespace sn ON sn.oid = s.relnamespace
          WHERE d.adrelid = c.oid AND d.adnum = a.attnum
            AND bt.typname IN ('int2', 'int4', 'int8', 'numeric')),
         (SELECT format('%I.%I', n.nspname, s.relname)
          FROM pg_class s
          WHERE s.relnamespace = n.oid AND s.relkind = 'S'
            AND s.relname = c.relname || '_' || a.attname || '_seq'
            AND NOT a.atthasdef AND a.attidentity = ''
            AND bt.typname IN ('int2', 'int4', 'int8', 'numeric')
            AND NOT EXISTS (SELECT FROM pg_depend dp
              WHERE dp.classid = 'pg_class'::regclass AND dp.objid = s.oid
                AND dp.refclassid = 'pg_class'::regclass AND dp.deptype IN ('a', 'i'))
            AND NOT EXISTS (SELECT FROM pg_depend dp
              WHERE dp.classid = 'pg_attrdef'::regclass
                AND dp.refclassid = 'pg_class'::regclass AND dp.refobjid = s.oid))),
       COALESCE((SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d
                 WHERE d.adrelid = c.oid AND d.adnum = a.attnum),
                CASE WHEN t.typtype = 'd' THEN pg_get_expr(t.typdefaultbin, 0) END)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
JOIN LATERAL (
    -- A domain over a domain: down to the base type, with the typmod the domain that
    -- sets one gives (a column of a domain type has none of its own).
    WITH RECURSIVE chain(oid, typmod, depth) AS (
        SELECT t.oid, a.atttypmod, 0
        UNION ALL
        SELECT d.typbasetype, CASE WHEN d.typtypmod <> -1 THEN d.typtypmod ELSE chain.typmod END,
               chain.depth + 1
        FROM chain JOIN pg_type d ON d.oid = chain.oid AND d.typtype = 'd'
    )
    SELECT oid, typmod FROM chain ORDER BY depth DESC LIMIT 1
) base ON true
JOIN pg_type bt ON bt.oid = base.oid
LEFT JOIN pg_type et ON et.oid = bt.typelem AND bt.typcategory = 'A'
WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND a.attnum > 0 AND NOT a.attisdropped
  AND NOT c.relispartition
ORDER BY c.relname, a.attnum"
);

/// Each table's candidate row keys, best first: its primary key, then unique indexes
/// (immediate, valid, not partial, no expressions) over NOT NULL columns, fewest columns
/// first (Kratos's `schema_migration` has only `UNIQUE (version)`). Key columns only,
/// never INCLUDE ones. The plan takes the first whose columns are all copied.
const PK_SQL: &str = "
SELECT c.relname,
  (SELECT array_agg(a.attname::text ORDER BY k.ord)
     FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
     WHERE k.ord <= i.indnkeyatts)
FROM pg_index i
JOIN pg_class c ON c.oid = i.indrelid
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = $1
  AND (i.indisprimary
       OR (i.indisunique AND i.indimmediate AND i.indisvalid AND i.indpred IS NULL
           AND i.indexprs IS NULL
           AND NOT EXISTS (
             SELECT 1 FROM unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
             WHERE k.ord <= i.indnkeyatts AND NOT a.attnotnull)))
ORDER BY c.relname, i.indisprimary DESC, i.indnkeyatts, ic.relname";

/// Only FKs of their own: the clones Postgres keeps per partition (`conparentid <> 0`)
/// follow their parent constraint and cannot be dropped or added on their own.
const FK_SQL: &str = "
SELECT con.conname::text, cn.nspname::text, cc.relname::text, pn.nspname::text, pc.relname::text,
       con.condeferrable,
       (SELECT array_agg(a.attname::text ORDER BY k.ord)
          FROM unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum),
       (SELECT array_agg(a.attname::text ORDER BY k.ord)
          FROM unnest(con.confkey) WITH ORDINALITY AS k(attnum, ord)
          JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum),
       con.confmatchtype = 'f'
FROM pg_constraint con
JOIN pg_class cc ON cc.oid = con.conrelid JOIN pg_namespace cn ON cn.oid = cc.relnamespace
JOIN pg_class pc ON pc.oid = con.confrelid JOIN pg_namespace pn ON pn.oid = pc.relnamespace
WHERE con.contype = 'f' AND con.conparentid = 0 AND (cn.nspname = $1 OR pn.nspname = $1)
ORDER BY cn.nspname, cc.relname, con.conname";

pub async fn read_catalog(
    client: &Client,
    schema: &str,
) -> Result<(Vec<TargetTable>, Vec<ForeignKey>)> {
    let rows = client
        .query(COLUMNS_SQL, &[&schema])
        .await
        .map_err(|e| Error::pg("read columns from pg_catalog", &e))?;
    let mut tables: BTreeMap<String, TargetTable> = BTreeMap::new();
    for r in &rows {
        let table: String = r.get(0);
        let base_kind: String = r.get(9);
        let elem: Option<String> = r.get(10);
        let labels: Option<Vec<String>> = r.get(11);
        let kind = if base_kind == "e" {
            PgKind::Enum(labels.unwrap_or_default())
        } else if let Some(e) = elem {
            PgKind::Array(e)
        } else {
            PgKind::Base
        };
        let col = TargetColumn {
            name: r.get(1),
            not_null: r.get(2),
            has_default: r.get(3),
            default_expr: r.get(13),
            identity: r.get(4),
            generated: r.get(5),
            ty: PgType {
                display: r.get(6),
                name: r.get(7),
                typmod: r.get(8),
                kind,
            },
            sequence: r.get(12),
        };
        tables
            .entry(table.clone())
            .or_insert_with(|| TargetTable {
                schema: schema.to_string(),
                name: table,
                columns: Vec::new(),
                row_keys: Vec::new(),
                update_triggers: Vec::new(),
            })
            .columns
            .push(col);
    }
    // Serial names Postgres shortened: the query above matched only those that fit.
    let unlinked = unlinked_sequence_names(client, schema).await?;
    for t in tables.values_mut() {
        for c in t.columns.iter_mut().filter(|c| {
            c.sequence.is_none()
                && !c.has_default
                && !c.identity
                && matches!(c.ty.name.as_str(), "int2" | "int4" | "int8" | "numeric")
        }) {
            let name = serial_sequence_name(&t.name, &c.name);
            if t.name.len() + c.name.len() + 5 > 63 {
                c.sequence = unlinked
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, quoted)| quoted.clone());
            }
        }
    }
    // tgtype bit 4 (TRIGGER_TYPE_UPDATE): fires on UPDATE, row or statement level.
    for (table, trigger, tgtype) in user_triggers(client, schema).await? {
        if let Some(t) = tables.get_mut(&table).filter(|_| tgtype & 16 != 0) {
            t.update_triggers.push(trigger);
        }
    }
    for r in client
        .query(PK_SQL, &[&schema])
        .await
        .map_err(|e| Error::pg("read primary keys", &e))?
    {
        let name: String = r.get(0);
        if let Some(t) = tables.get_mut(&name) {
            t.row_keys.push(r.get(1));
        }
    }
    let fks = client
        .query(FK_SQL, &[&schema])
        .await
        .map_err(|e| Error::pg("read foreign keys", &e))?
        .iter()
        .map(|r| ForeignKey {
            name: r.get(0),
            child_schema: r.get(1),
            child: r.get(2),
            parent_schema: r.get(3),
            parent: r.get(4),
            deferrable: r.get(5),
            child_columns: r.get(6),
            parent_columns: r.get(7),
            match_full: r.get(8),
        })
        .collect();
    Ok((tables.into_values().collect(), fks))
}

/// Copied tables that already hold rows (schema-first targets are often seeded).
/// User triggers (enabled, not FK/internal ones) on tables of `schema`: (table, trigger).
pub async fn user_triggers(client: &Client, schema: &str) -> Result<Vec<(String, String, i32)>> {
    let rows = client
        .query(
            "SELECT c.relname, t.tgname, t.tgtype::int FROM pg_trigger t \
             JOIN pg_class c ON c.oid = t.tgrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND NOT t.tgisinternal AND t.tgenabled <> 'D' \
             ORDER BY c.relname, t.tgname",
            &[&schema],
        )
        .await
        .map_err(|e| Error::pg("read the target's triggers", &e))?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

/// Unique indexes with a predicate or expressions: (table, index, definition).
pub async fn unique_indexes_beyond_columns(
    client: &Client,
    schema: &str,
) -> Result<Vec<(String, String, String)>> {
    let rows = client
        .query(
            "SELECT c.relname, i.relname, pg_get_indexdef(x.indexrelid) FROM pg_index x \
             JOIN pg_class c ON c.oid = x.indrelid JOIN pg_class i ON i.oid = x.indexrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND x.indisunique \
               AND (x.indpred IS NOT NULL OR x.indexprs IS NOT NULL) \
             ORDER BY c.relname, i.relname",
            &[&schema],
        )
        .await
        .map_err(|e| Error::pg("read the target's unique indexes", &e))?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect())
}

pub async fn non_empty(client: &Client, tables: &[crate::ident::PgName]) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for t in tables {
        // Rows of a table that inherits from it are that table's (ONLY); a partitioned
        // table's rows are in its partitions.
        let sql = format!(
            "SELECT CASE WHEN (SELECT relkind FROM pg_class WHERE oid = $1::text::regclass) = 'p' \
             THEN EXISTS (SELECT 1 FROM {t}) ELSE EXISTS (SELECT 1 FROM ONLY {t}) END"
        );
        let row = client
            .query_one(sql.as_str(), &[&t.to_string()])
            .await
            .map_err(|e| Error::pg(format!("check whether {t} is empty"), &e))?;
        if row.get::<_, bool>(0) {
            out.push(t.name.clone());
        }
    }
    Ok(out)
}

/// Sequences of the schema no column owns (identity, serial, OWNED BY) and no column
/// default calls, quoted: the application may take ids from them itself.
pub async fn unlinked_sequences(client: &Client, schema: &str) -> Result<Vec<String>> {
    Ok(unlinked_sequence_names(client, schema)
        .await?
        .into_iter()
        .map(|(_, quoted)| quoted)
        .collect())
}

/// `unlinked_sequences`, each as (its name, schema-qualified and quoted).
async fn unlinked_sequence_names(client: &Client, schema: &str) -> Result<Vec<(String, String)>> {
    let rows = client
        .query(
            concat!(
                "SELECT s.relname::text, format('%I.%I', sn.nspname, s.relname) FROM pg_class s \
                 JOIN pg_namespace sn ON sn.oid = s.relnamespace \
                 WHERE sn.nspname = $1 AND s.relkind = 'S' \
                   AND NOT EXISTS (SELECT FROM pg_depend dp \
                     WHERE dp.classid = 'pg_class'::regclass AND dp.objid = s.oid \
                       AND dp.refclassid = 'pg_class'::regclass AND dp.deptype IN ('a', 'i')) \
                   AND NOT EXISTS (SELECT FROM pg_depend dp \
                     WHERE dp.classid = 'pg_attrdef'::regclass \
                       AND dp.refclassid = 'pg_class'::regclass AND dp.refobjid = s.oid) \
                   AND NOT EXISTS (SELECT FROM pg_attrdef d \
                     JOIN pg_class c ON c.oid = d.adrelid \
                     JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = $1 \
                       AND pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%' AND ",
                text_nextval_sequence!(),
                " = s.oid) \
                 ORDER BY 1"
            ),
            &[&schema],
        )
        .await
        .map_err(|e| Error::pg("read the schema's sequences", &e))?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// The name Postgres gives the serial sequence of `table.column` (`makeObjectName`):
/// `<table>_<column>_seq`, the longer part shortened first until it fits in 63 bytes,
/// cut at a character boundary. The catalog query matches the names that fit as they
/// are; this one the names Postgres shortened (the attack: a 62-character table's).
pub fn serial_sequence_name(table: &str, column: &str) -> String {
    const AVAIL: usize = 63 - "_".len() - "_seq".len();
    // As Postgres does it: the longer part loses a byte, the column on a tie.
    let (mut k1, mut k2) = (table.len(), column.len());
    while k1 + k2 > AVAIL {
        if k1 > k2 {
            k1 -= 1;
        } else {
            k2 -= 1;
        }
    }
    let clip = |s: &str, mut k: usize| {
        while !s.is_char_boundary(k) {
            k -= 1;
        }
        s[..k].to_string()
    };
    format!("{}_{}_seq", clip(table, k1), clip(column, k2))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Names checked against what Postgres 17 gave `CREATE TABLE ... (id serial)`.
    #[test]
    fn serial_sequence_names_are_shortened_as_postgres_does() {
        let t62 = "q".repeat(62);
        assert_eq!(
            serial_sequence_name(&t62, "id"),
            format!("{}_id_seq", "q".repeat(56))
        );
        assert_eq!(serial_sequence_name("ab_user", "id"), "ab_user_id_seq");
        let (a, b) = ("a".repeat(40), "b".repeat(40));
        assert_eq!(
            serial_sequence_name(&a, &b),
            format!("{}_{}_seq", "a".repeat(29), "b".repeat(29))
        );
        // Cut at a character boundary (2-byte letters).
        let e = "é".repeat(31);
        assert_eq!(
            serial_sequence_name(&e, "id"),
            format!("{}_id_seq", "é".repeat(28))
        );
    }
}
