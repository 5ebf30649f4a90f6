//! Moving a SQLite database into an empty PostgreSQL one (`tocsin migrate-to`), table by table,
//! as it is: ids, history, sealed addresses and all. The target is written in one transaction,
//! so a copy that fails leaves it empty, to try again.

use super::{PostgresStorage, SqliteStorage, Vault, redacted_url};
use anyhow::{Context as _, bail};
use futures::TryStreamExt as _;
use sqlx::{Postgres, QueryBuilder, Row, sqlite::SqliteRow};

/// Every table, parents before children.
pub const TABLES: [&str; 13] = [
    "connections",
    "default_notifications",
    "filtered_notifications",
    "incidents",
    "check_results",
    "incident_status_changes",
    "webhook_endpoints",
    "deliveries",
    "delivery_attempts",
    "users",
    "sessions",
    "api_tokens",
    "sign_in_failures",
];

/// Rows written by one statement (PostgreSQL takes up to 65,535 values; a row has at most 22).
const ROWS_PER_STATEMENT: usize = 1_000;

/// How far a copy has come: the table, its rows copied so far, and its rows in all.
pub type Progress<'a> = &'a mut (dyn FnMut(&str, u64, u64) + Send);

/// A column as PostgreSQL types it, which says how to read the value from SQLite.
#[derive(Clone, Copy)]
enum Kind {
    Int,
    Text,
    Flag,
    Real,
    Bytes,
}

enum Value {
    Int(Option<i64>),
    Text(Option<String>),
    Flag(Option<bool>),
    Real(Option<f64>),
    Bytes(Option<Vec<u8>>),
}

fn read(row: &SqliteRow, index: usize, kind: Kind) -> Result<Value, sqlx::Error> {
    Ok(match kind {
        Kind::Int => Value::Int(row.try_get(index)?),
        Kind::Text => Value::Text(row.try_get(index)?),
        Kind::Flag => Value::Flag(row.try_get(index)?),
        Kind::Real => Value::Real(row.try_get(index)?),
        Kind::Bytes => Value::Bytes(row.try_get(index)?),
    })
}

/// Copies every row of `source` into `target`, which must be empty; returns the rows copied per
/// table. Both are opened (and migrated) with `vault`, so the key must open what is sealed.
pub async fn sqlite_to_postgres(
    source_url: &str,
    target_url: &str,
    vault: Vault,
    progress: Progress<'_>,
) -> anyhow::Result<Vec<(&'static str, u64)>> {
    let source = SqliteStorage::open(source_url, vault.clone())
        .await
        .with_context(|| format!("could not open the SQLite database {source_url}"))?;
    let target = PostgresStorage::open(target_url, vault)
        .await
        .with_context(|| format!("could not open the PostgreSQL database {}", redacted_url(target_url)))?;
    let mut tx = target.pool.begin().await?;
    for table in TABLES {
        // The migrations seed the one row of defaults; anything else means the database is in use.
        let held: i64 = sqlx::query_scalar(&format!(
            "SELECT count(*) FROM {table} WHERE {}",
            if table == "default_notifications" { "updated_at <> 0" } else { "true" }
        ))
        .fetch_one(&mut *tx)
        .await?;
        if held > 0 {
            bail!(
                "the PostgreSQL database {} is not empty ({table} has {held} rows): migrate into a new, empty database",
                redacted_url(target_url)
            );
        }
    }
    sqlx::query("DELETE FROM default_notifications").execute(&mut *tx).await?;

    // One read transaction: the copy is of one moment, even if something writes meanwhile.
    let mut reader = source.pool.begin().await?;
    let mut copied = Vec::with_capacity(TABLES.len());
    for table in TABLES {
        let columns: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT column_name::text, data_type::text, is_identity::text FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
        )
        .bind(table)
        .fetch_all(&mut *tx)
        .await?;
        let kinds = columns
            .iter()
            .map(|(name, data_type, _)| match data_type.as_str() {
                "bigint" => Ok(Kind::Int),
                "text" => Ok(Kind::Text),
                "boolean" => Ok(Kind::Flag),
                "double precision" => Ok(Kind::Real),
                "bytea" => Ok(Kind::Bytes),
                other => bail!("{table}.{name} has a type the copy does not know: {other}"),
            })
            .collect::<anyhow::Result<Vec<Kind>>>()?;
        let names = columns.iter().map(|(name, _, _)| name.as_str()).collect::<Vec<_>>().join(", ");
        let total: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}")).fetch_one(&mut *reader).await?;
        let total = total as u64;
        progress(table, 0, total);
        let select = format!("SELECT {names} FROM {table}");
        let mut rows = sqlx::query(&select).fetch(&mut *reader);
        let mut done = 0;
        let mut chunk: Vec<Vec<Value>> = Vec::with_capacity(ROWS_PER_STATEMENT);
        loop {
            let row = rows.try_next().await?;
            if let Some(row) = &row {
                let values = kinds
                    .iter()
                    .enumerate()
                    .map(|(index, kind)| read(row, index, *kind))
                    .collect::<Result<Vec<_>, _>>()
                    .with_context(|| format!("could not read a row of {table}"))?;
                chunk.push(values);
            }
            if chunk.len() == ROWS_PER_STATEMENT || (row.is_none() && !chunk.is_empty()) {
                let mut insert = QueryBuilder::<Postgres>::new(format!("INSERT INTO {table} ({names}) "));
                insert.push_values(chunk.drain(..), |mut row, values| {
                    for value in values {
                        match value {
                            Value::Int(value) => row.push_bind(value),
                            Value::Text(value) => row.push_bind(value),
                            Value::Flag(value) => row.push_bind(value),
                            Value::Real(value) => row.push_bind(value),
                            Value::Bytes(value) => row.push_bind(value),
                        };
                    }
                });
                let written = insert.build().execute(&mut *tx).await?.rows_affected();
                done += written;
                progress(table, done, total);
            }
            if row.is_none() {
                break;
            }
        }
        drop(rows);
        // New rows must not take the ids of copied ones.
        for (name, _, identity) in &columns {
            if identity == "YES" {
                sqlx::query(&format!(
                    "SELECT setval(pg_get_serial_sequence('{table}', '{name}'), \
                     (SELECT coalesce(max({name}), 0) + 1 FROM {table}), false)"
                ))
                .execute(&mut *tx)
                .await?;
            }
        }
        copied.push((table, done));
    }
    reader.rollback().await?;
    tx.commit().await?;
    Ok(copied)
}
