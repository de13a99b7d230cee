//! Source introspection from `information_schema`: tables, columns with the full
//! `COLUMN_TYPE`, nullability, generated columns, primary and unique keys, size estimates.

use std::collections::BTreeMap;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};

use super::{MyType, SourceColumn, SourceTable};
use crate::error::{Error, Result};

fn text(row: &Row, i: usize) -> String {
    match row.as_ref(i) {
        Some(Value::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
        Some(Value::Int(v)) => v.to_string(),
        Some(Value::UInt(v)) => v.to_string(),
        _ => String::new(),
    }
}

fn opt_text(row: &Row, i: usize) -> Option<String> {
    match row.as_ref(i) {
        None | Some(Value::NULL) => None,
        _ => Some(text(row, i)),
    }
}

fn num(row: &Row, i: usize) -> u64 {
    text(row, i).parse().unwrap_or(0)
}

pub async fn read_catalog(conn: &mut Conn, db: &str) -> Result<Vec<SourceTable>> {
    // MySQL 8 caches information_schema.TABLES (AUTO_INCREMENT included) for a day by
    // default: read the current values. MariaDB has no such cache, nor the variable.
    match conn
        .query_drop("SET SESSION information_schema_stats_expiry = 0")
        .await
    {
        Err(mysql_async::Error::Server(e)) if e.code == 1193 => {}
        other => other.map_err(|e| Error::mysql("read current table statistics", e))?,
    }
    let tables: Vec<Row> = conn
        .exec(
            "SELECT TABLE_NAME, COALESCE(TABLE_ROWS, 0), COALESCE(DATA_LENGTH, 0), AUTO_INCREMENT, \
               COALESCE(ENGINE, '') \
             FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'",
            (db,),
        )
        .await
        .map_err(|e| Error::mysql("read tables from information_schema", e))?;
    let mut out: BTreeMap<String, SourceTable> = BTreeMap::new();
    for r in &tables {
        let name = text(r, 0);
        out.insert(
            name.clone(),
            SourceTable {
                name,
                columns: Vec::new(),
                primary_key: Vec::new(),
                unique_not_null: None,
                unique_keys: Vec::new(),
                est_rows: num(r, 1),
                est_bytes: num(r, 2),
                auto_increment: opt_text(r, 3).and_then(|v| v.parse().ok()),
                engine: text(r, 4),
            },
        );
    }
    let cols: Vec<Row> = conn
        .exec(
            "SELECT TABLE_NAME, COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, \
             CHARACTER_SET_NAME, EXTRA, COLLATION_NAME \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? \
             ORDER BY TABLE_NAME, ORDINAL_POSITION",
            (db,),
        )
        .await
        .map_err(|e| Error::mysql("read columns from information_schema", e))?;
    for r in &cols {
        let Some(t) = out.get_mut(&text(r, 0)) else {
            continue; // a view's columns
        };
        let extra = text(r, 6).to_ascii_uppercase();
        let name = text(r, 1);
        t.columns.push(SourceColumn {
            auto_increment: extra.contains("AUTO_INCREMENT"),
            invisible_row_id: name == "my_row_id"
                && extra.contains("INVISIBLE")
                && extra.contains("AUTO_INCREMENT"),
            name,
            ty: MyType::parse(&text(r, 2), &text(r, 3), opt_text(r, 5).as_deref()),
            nullable: text(r, 4) == "YES",
            collation: opt_text(r, 7),
            // MySQL 8 marks expression defaults DEFAULT_GENERATED: those are plain columns.
            generated: extra.contains("VIRTUAL GENERATED") || extra.contains("STORED GENERATED"),
        });
    }
    let keys: Vec<Row> = conn
        .exec(
            "SELECT TABLE_NAME, INDEX_NAME, COLUMN_NAME, NON_UNIQUE, NULLABLE, INDEX_TYPE \
             FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? \
             ORDER BY TABLE_NAME, INDEX_NAME, SEQ_IN_INDEX",
            (db,),
        )
        .await
        .map_err(|e| Error::mysql("read keys from information_schema", e))?;
    // index name -> (columns, unique, all not null, ordered)
    type IndexFacts = (Vec<String>, bool, bool, bool);
    let mut idx: BTreeMap<(String, String), IndexFacts> = BTreeMap::new();
    for r in &keys {
        // MariaDB keeps a long UNIQUE key (text, blob, a long varchar) as a hash: it has
        // no order, so reads in its order are sorted by the server, by a prefix of each
        // value only (the attacks: rows lost and duplicated at split and resume bounds).
        let e = idx
            .entry((text(r, 0), text(r, 1)))
            .or_insert_with(|| (Vec::new(), num(r, 3) == 0, true, text(r, 5) != "HASH"));
        e.0.push(text(r, 2));
        if text(r, 4) == "YES" {
            e.2 = false;
        }
    }
    for ((table, index), (columns, unique, not_null, ordered)) in idx {
        let Some(t) = out.get_mut(&table) else {
            continue;
        };
        if unique {
            t.unique_keys.push(columns.clone());
        }
        if index == "PRIMARY" {
            t.primary_key = columns;
        } else if unique && not_null && ordered && t.unique_not_null.is_none() {
            // Index names are visited in sorted order, so the choice is deterministic.
            t.unique_not_null = Some(columns);
        }
    }
    Ok(out.into_values().collect())
}

/// Whether the connected user has SELECT on the whole database (granted globally or on
/// the database). With only table or column grants, what it cannot see is simply absent
/// from information_schema. Privileges that come through a role are not seen here.
pub async fn selects_whole_database(conn: &mut Conn, db: &str) -> Result<bool> {
    let me = "CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', \
              SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')";
    let sql = format!(
        "SELECT EXISTS (SELECT 1 FROM information_schema.USER_PRIVILEGES \
           WHERE GRANTEE = {me} AND PRIVILEGE_TYPE = 'SELECT') \
         OR EXISTS (SELECT 1 FROM information_schema.SCHEMA_PRIVILEGES \
           WHERE GRANTEE = {me} AND PRIVILEGE_TYPE = 'SELECT' \
             AND ? LIKE TABLE_SCHEMA ESCAPE '\\\\')"
    );
    let v: Option<i64> = conn
        .exec_first(sql, (db,))
        .await
        .map_err(|e| Error::mysql("read the source user's privileges", e))?;
    Ok(v == Some(1))
}

/// Tables of which the source user may read only some columns (column-level grants,
/// directly or through a role): the columns it may not read are absent from
/// information_schema, as if the table had none. `SELECT *` needs every column, so the
/// server refuses it in that case, whatever granted the rest (roles' grants are not
/// visible to the user in information_schema).
pub async fn tables_with_unreadable_columns(
    conn: &mut Conn,
    tables: &[&str],
) -> Result<Vec<String>> {
    let mut out = Vec::new();
    for t in tables {
        let probe = conn
            .query_drop(format!(
                "SELECT * FROM {} LIMIT 0",
                crate::ident::MyIdent(t.to_string())
            ))
            .await;
        match probe {
            Ok(()) => {}
            // MariaDB says 1142 (the table), MySQL 1143 (a column): the table is in the
            // catalog, so some of it may be read, and not all of it.
            Err(mysql_async::Error::Server(e)) if matches!(e.code, 1142 | 1143) => {
                out.push(t.to_string())
            }
            // Anything else about this table shows where it is read.
            Err(mysql_async::Error::Server(_)) => {}
            Err(e) => {
                return Err(Error::mysql(
                    "probe which columns the source user may read",
                    e,
                ))
            }
        }
    }
    Ok(out)
}

/// The zone sessions start in: `@@global.time_zone`, or the host's under `SYSTEM`.
pub async fn server_time_zone(conn: &mut Conn) -> Result<String> {
    let v: Option<String> = conn
        .query_first(
            "SELECT CAST(IF(@@global.time_zone = 'SYSTEM', @@system_time_zone, @@global.time_zone) AS CHAR)",
        )
        .await
        .map_err(|e| Error::mysql("server time zone", e))?;
    Ok(v.unwrap_or_default())
}

pub async fn server_version(conn: &mut Conn) -> Result<String> {
    let v: Option<String> = conn
        .query_first("SELECT VERSION()")
        .await
        .map_err(|e| Error::mysql("server version", e))?;
    Ok(v.unwrap_or_default())
}
