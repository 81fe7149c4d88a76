//! Whole-instance backup and restore: every row of every table, in one file, between
//! any two databases the admin runs on (SQLite or PostgreSQL, in either direction).
//! It is also how an install moves from the embedded SQLite file to PostgreSQL.
//!
//! The file is JSON lines (`docs/backup.md`): a header naming the format and the
//! schema version (the newest migration applied), then per table a line with its name
//! and columns followed by one JSON array per row, and a closing line with the counts,
//! so a truncated file is refused. Values are written as the database holds them:
//! SDK, API and ingestion keys, sessions and invitations as hashes, passwords as
//! argon2 PHC strings, private signing keys sealed with the master key (which is not in
//! the file: the target needs the same `EDGEFLAG_MASTER_KEY`).
//!
//! Tables are read from the database's own catalog rather than listed here, and put in
//! an order where every table comes after the tables its foreign keys name, so a table
//! a later migration adds is backed up and restored with no change to this module.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, Write};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{Any, AnyPool, Row, Transaction, any::AnyRow};

use crate::db::{self, Backend};
use crate::error::{Error, Result};

/// The first line's `format`.
pub const FORMAT: &str = "edgeflag-backup";
/// The version of the file layout (not of the schema): bumped on an incompatible change.
pub const FORMAT_VERSION: u32 = 1;

/// Tables of the database's own bookkeeping, never backed up: the target's migrations
/// are applied by `restore` itself, and SQLite keeps its own sequences. Leases and
/// rate-limit counters are the running processes' coordination (`lease`, `counters`):
/// restored elsewhere they would only hold work up until they expire.
const SKIPPED: &[&str] = &[
    "_sqlx_migrations",
    "sqlite_sequence",
    "leases",
    "rate_counters",
];

/// The first line of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Header {
    pub format: String,
    pub format_version: u32,
    /// The newest migration applied to the database the backup was taken from.
    pub schema_version: i64,
    /// `sqlite` or `postgres`.
    pub source: String,
    /// When the backup was taken, RFC 3339.
    pub created_at: String,
}

/// One table's line, before its rows.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct TableLine {
    table: String,
    columns: Vec<String>,
}

/// The last line: what the file holds, so a truncated file is recognised.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct EndLine {
    end: Summary,
}

/// What a backup holds or a restore wrote.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub tables: usize,
    pub rows: usize,
}

/// How a column's values are read and bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Real,
    Text,
}

impl Kind {
    /// From the declared type (SQLite) or `data_type` (PostgreSQL).
    fn of(declared: &str) -> Self {
        let t = declared.to_ascii_uppercase();
        if t.contains("INT") || t.contains("SERIAL") {
            Self::Integer
        } else if t.contains("REAL") || t.contains("DOUBLE") || t.contains("FLOAT") {
            Self::Real
        } else {
            Self::Text
        }
    }
}

#[derive(Debug, Clone)]
struct Column {
    name: String,
    kind: Kind,
}

/// Writes every table of `pool` to `out`, from one consistent snapshot of the database.
pub async fn write(pool: &AnyPool, url: &str, out: &mut impl Write) -> Result<Summary> {
    let backend = Backend::of(url);
    let mut tx = pool.begin().await?;
    if backend == Backend::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await?;
    }
    let header = Header {
        format: FORMAT.to_string(),
        format_version: FORMAT_VERSION,
        schema_version: schema_version(&mut tx).await?,
        source: match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
        .to_string(),
        created_at: db::rfc3339(db::now_ms()),
    };
    line(out, &header)?;
    let mut summary = Summary::default();
    for table in ordered_tables(&mut tx, backend).await? {
        let columns = columns(&mut tx, backend, &table).await?;
        let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
        line(
            out,
            &TableLine {
                table: table.clone(),
                columns: names.clone(),
            },
        )?;
        let select = format!(
            "SELECT {} FROM {} ORDER BY 1",
            names
                .iter()
                .map(|n| quote(n))
                .collect::<Vec<_>>()
                .join(", "),
            quote(&table)
        );
        for row in sqlx::query(&select).fetch_all(&mut *tx).await? {
            line(out, &row_values(&row, &columns)?)?;
            summary.rows += 1;
        }
        summary.tables += 1;
    }
    line(
        out,
        &EndLine {
            end: summary.clone(),
        },
    )?;
    tx.rollback().await?;
    Ok(summary)
}

/// Reads a backup into `pool`, which must be migrated to the backup's schema version
/// and hold no rows. Everything is written in one transaction: a failure leaves the
/// database as empty as it was.
pub async fn restore(pool: &AnyPool, url: &str, input: impl BufRead) -> Result<Summary> {
    let backend = Backend::of(url);
    let mut lines = input.lines().enumerate();
    let mut next = move || -> Result<Option<(usize, String)>> {
        match lines.next() {
            None => Ok(None),
            Some((n, Ok(text))) => Ok(Some((n + 1, text))),
            Some((n, Err(e))) => Err(invalid(n + 1, &format!("cannot be read: {e}"))),
        }
    };
    let (_, first) = next()?.ok_or_else(|| invalid(1, "the file is empty"))?;
    let header: Header = serde_json::from_str(&first)
        .map_err(|e| invalid(1, &format!("is not a backup header: {e}")))?;
    let mut tx = db::begin(pool).await?;
    check_header(&header, schema_version(&mut tx).await?)?;
    let tables = ordered_tables(&mut tx, backend).await?;
    refuse_non_empty(&mut tx, &tables).await?;
    let mut summary = Summary::default();
    let mut current: Option<(String, Vec<Column>, String)> = None;
    while let Some((n, text)) = next()? {
        let value: Value =
            serde_json::from_str(&text).map_err(|e| invalid(n, &format!("is not JSON: {e}")))?;
        match value {
            Value::Array(row) => {
                let Some((table, columns, insert)) = &current else {
                    return Err(invalid(n, "a row before any table line"));
                };
                insert_row(&mut tx, insert, columns, row, table, n).await?;
                summary.rows += 1;
            }
            Value::Object(ref map) if map.contains_key("end") => {
                let end: EndLine = serde_json::from_value(value)
                    .map_err(|e| invalid(n, &format!("is not a closing line: {e}")))?;
                if end.end != summary {
                    return Err(invalid(
                        n,
                        &format!(
                            "the backup says it holds {} tables and {} rows, but {} and {} were read",
                            end.end.tables, end.end.rows, summary.tables, summary.rows
                        ),
                    ));
                }
                reset_sequences(&mut tx, backend).await?;
                tx.commit().await?;
                return Ok(summary);
            }
            Value::Object(_) => {
                let line: TableLine = serde_json::from_value(value)
                    .map_err(|e| invalid(n, &format!("is not a table line: {e}")))?;
                current = Some(prepare_table(&mut tx, backend, &tables, line, n).await?);
                summary.tables += 1;
            }
            _ => return Err(invalid(n, "is neither a table line nor a row")),
        }
    }
    Err(Error::invalid(
        "",
        "the backup ends before its closing line: the file is truncated",
    ))
}

fn invalid(line: usize, message: &str) -> Error {
    Error::invalid(format!("line {line}"), format!("line {line} {message}"))
}

fn check_header(header: &Header, target_schema: i64) -> Result<()> {
    if header.format != FORMAT || header.format_version != FORMAT_VERSION {
        return Err(invalid(
            1,
            &format!(
                "names format `{}` version {}; this edgeflag reads `{FORMAT}` version {FORMAT_VERSION}",
                header.format, header.format_version
            ),
        ));
    }
    if header.schema_version != target_schema {
        return Err(Error::Conflict(format!(
            "the backup was taken at schema version {}, this edgeflag's database is at {}: \
             restore with the edgeflag release that took the backup, then upgrade",
            header.schema_version, target_schema
        )));
    }
    Ok(())
}

async fn refuse_non_empty(tx: &mut Transaction<'static, Any>, tables: &[String]) -> Result<()> {
    for table in tables {
        let sql = format!("SELECT COUNT(*) AS n FROM {}", quote(table));
        let n: i64 = sqlx::query(&sql).fetch_one(&mut **tx).await?.try_get("n")?;
        if n > 0 {
            return Err(Error::Conflict(format!(
                "the target database is not empty (table `{table}` has {n} rows): \
                 restore only into a new database"
            )));
        }
    }
    Ok(())
}

/// Checks a table line against the target's schema and builds its `INSERT`.
async fn prepare_table(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    tables: &[String],
    line: TableLine,
    n: usize,
) -> Result<(String, Vec<Column>, String)> {
    if !tables.contains(&line.table) {
        return Err(invalid(
            n,
            &format!(
                "names table `{}`, which this database does not have",
                line.table
            ),
        ));
    }
    let target = columns(tx, backend, &line.table).await?;
    let mut columns = Vec::with_capacity(line.columns.len());
    for name in &line.columns {
        let column = target.iter().find(|c| &c.name == name).ok_or_else(|| {
            invalid(
                n,
                &format!(
                    "names column `{}.{name}`, which this database does not have",
                    line.table
                ),
            )
        })?;
        columns.push(column.clone());
    }
    let placeholders: Vec<String> = (1..=columns.len()).map(|i| format!("${i}")).collect();
    let insert = format!(
        "INSERT INTO {} ({}) VALUES ({})",
        quote(&line.table),
        line.columns
            .iter()
            .map(|c| quote(c))
            .collect::<Vec<_>>()
            .join(", "),
        placeholders.join(", ")
    );
    Ok((line.table, columns, insert))
}

async fn insert_row(
    tx: &mut Transaction<'static, Any>,
    insert: &str,
    columns: &[Column],
    row: Vec<Value>,
    table: &str,
    n: usize,
) -> Result<()> {
    if row.len() != columns.len() {
        return Err(invalid(
            n,
            &format!(
                "has {} values; table `{table}` has {} columns",
                row.len(),
                columns.len()
            ),
        ));
    }
    let mut query = sqlx::query(insert);
    for (value, column) in row.into_iter().zip(columns) {
        let wrong =
            |what: &str| invalid(n, &format!("column `{table}.{}` holds {what}", column.name));
        query = match (column.kind, value) {
            (Kind::Integer, Value::Null) => query.bind(None::<i64>),
            (Kind::Real, Value::Null) => query.bind(None::<f64>),
            (Kind::Text, Value::Null) => query.bind(None::<String>),
            (Kind::Integer, Value::Number(v)) => query.bind(
                v.as_i64()
                    .ok_or_else(|| wrong("a number that is not an integer"))?,
            ),
            (Kind::Real, Value::Number(v)) => {
                query.bind(v.as_f64().ok_or_else(|| wrong("an unreadable number"))?)
            }
            (Kind::Text, Value::String(v)) => query.bind(v),
            (_, other) => return Err(wrong(&format!("an unexpected value `{other}`"))),
        };
    }
    query.execute(&mut **tx).await?;
    Ok(())
}

fn row_values(row: &AnyRow, columns: &[Column]) -> Result<Vec<Value>> {
    columns
        .iter()
        .enumerate()
        .map(|(i, column)| {
            Ok(match column.kind {
                Kind::Integer => row.try_get::<Option<i64>, _>(i)?.map(Value::from),
                Kind::Real => row.try_get::<Option<f64>, _>(i)?.map(Value::from),
                Kind::Text => row.try_get::<Option<String>, _>(i)?.map(Value::from),
            }
            .unwrap_or(Value::Null))
        })
        .collect()
}

fn line(out: &mut impl Write, value: &impl Serialize) -> Result<()> {
    let text = serde_json::to_string(value).map_err(Error::internal)?;
    writeln!(out, "{text}").map_err(|e| Error::Internal(format!("cannot write the backup: {e}")))
}

/// A quoted identifier; names come from the catalog, quoting keeps keywords (`key`) safe.
fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The newest migration applied.
async fn schema_version(tx: &mut Transaction<'static, Any>) -> Result<i64> {
    let row = sqlx::query("SELECT MAX(version) AS v FROM _sqlx_migrations WHERE success")
        .fetch_one(&mut **tx)
        .await?;
    Ok(row.try_get::<Option<i64>, _>("v")?.unwrap_or(0))
}

/// The tables to back up, each after the tables its foreign keys reference.
async fn ordered_tables(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
) -> Result<Vec<String>> {
    let sql = match backend {
        Backend::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name",
        Backend::Postgres => {
            "SELECT table_name::text AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        }
    };
    let mut names = Vec::new();
    for row in sqlx::query(sql).fetch_all(&mut **tx).await? {
        let name: String = row.try_get("name")?;
        if !SKIPPED.contains(&name.as_str()) {
            names.push(name);
        }
    }
    let mut parents: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for table in &names {
        parents.insert(table.clone(), references(tx, backend, table).await?);
    }
    topological(parents)
}

/// Tables in an order where each follows those it references (self-references aside).
fn topological(mut parents: BTreeMap<String, BTreeSet<String>>) -> Result<Vec<String>> {
    let mut order = Vec::with_capacity(parents.len());
    while !parents.is_empty() {
        let ready: Vec<String> = parents
            .iter()
            .filter(|(table, refs)| refs.iter().all(|r| r == *table || !parents.contains_key(r)))
            .map(|(table, _)| table.clone())
            .collect();
        if ready.is_empty() {
            return Err(Error::Internal(format!(
                "the foreign keys of {:?} form a cycle",
                parents.keys().collect::<Vec<_>>()
            )));
        }
        for table in ready {
            parents.remove(&table);
            order.push(table);
        }
    }
    Ok(order)
}

async fn references(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    table: &str,
) -> Result<BTreeSet<String>> {
    let sql = match backend {
        Backend::Sqlite => "SELECT \"table\" AS parent FROM pragma_foreign_key_list($1)",
        Backend::Postgres => {
            "SELECT ccu.table_name::text AS parent \
             FROM information_schema.table_constraints tc \
             JOIN information_schema.constraint_column_usage ccu \
               ON ccu.constraint_name = tc.constraint_name AND ccu.constraint_schema = tc.constraint_schema \
             WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.table_schema = current_schema() \
               AND tc.table_name = $1"
        }
    };
    sqlx::query(sql)
        .bind(table)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| r.try_get("parent").map_err(Error::from))
        .collect()
}

async fn columns(
    tx: &mut Transaction<'static, Any>,
    backend: Backend,
    table: &str,
) -> Result<Vec<Column>> {
    let sql = match backend {
        Backend::Sqlite => "SELECT name, type AS kind FROM pragma_table_info($1) ORDER BY cid",
        Backend::Postgres => {
            "SELECT column_name::text AS name, data_type::text AS kind FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
        }
    };
    sqlx::query(sql)
        .bind(table)
        .fetch_all(&mut **tx)
        .await?
        .iter()
        .map(|r| {
            Ok(Column {
                name: r.try_get("name")?,
                kind: Kind::of(&r.try_get::<String, _>("kind")?),
            })
        })
        .collect()
}

/// After rows were inserted with their ids, PostgreSQL's sequences (`BIGSERIAL`) must
/// continue after the largest id; SQLite's `AUTOINCREMENT` follows inserted ids itself.
async fn reset_sequences(tx: &mut Transaction<'static, Any>, backend: Backend) -> Result<()> {
    if backend != Backend::Postgres {
        return Ok(());
    }
    let serials = sqlx::query(
        "SELECT table_name::text AS t, column_name::text AS c FROM information_schema.columns \
         WHERE table_schema = current_schema() AND column_default LIKE 'nextval(%'",
    )
    .fetch_all(&mut **tx)
    .await?;
    for row in serials {
        let (table, column): (String, String) = (row.try_get("t")?, row.try_get("c")?);
        let sql = format!(
            "SELECT setval(pg_get_serial_sequence($1, $2), COALESCE(MAX({c}), 0) + 1, false) FROM {t}",
            c = quote(&column),
            t = quote(&table)
        );
        sqlx::query(&sql)
            .bind(&table)
            .bind(&column)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_follow_the_tables_they_reference() {
        let mut parents = BTreeMap::new();
        parents.insert(
            "a_child".to_string(),
            BTreeSet::from(["z_parent".to_string()]),
        );
        parents.insert("z_parent".to_string(), BTreeSet::new());
        parents.insert("self".to_string(), BTreeSet::from(["self".to_string()]));
        assert_eq!(
            topological(parents).unwrap(),
            ["self", "z_parent", "a_child"]
        );
        let mut cycle = BTreeMap::new();
        cycle.insert("a".to_string(), BTreeSet::from(["b".to_string()]));
        cycle.insert("b".to_string(), BTreeSet::from(["a".to_string()]));
        assert!(topological(cycle).is_err());
    }

    #[test]
    fn column_kinds_from_declared_types() {
        assert_eq!(Kind::of("BIGINT"), Kind::Integer);
        assert_eq!(Kind::of("integer"), Kind::Integer);
        assert_eq!(Kind::of("double precision"), Kind::Real);
        assert_eq!(Kind::of("TEXT"), Kind::Text);
        assert_eq!(Kind::of(""), Kind::Text);
    }
}
