//! Start-up care of the sealed columns: with a key, addresses stored in plain text before the
//! key was set are sealed now, and the key must open what is sealed; without one, a database
//! that holds sealed addresses is refused instead of failing later, request by request.

use crate::storage::{
    StorageResult, Vault,
    vault::{SEALED, SEALED_COLUMNS},
};
use sqlx::{Row, SqlitePool};
use tokio::time::Instant;

pub(super) async fn check_or_seal(writer: &SqlitePool, vault: &Vault, deadline: Instant) -> StorageResult<()> {
    let sealed_now = super::until_free(deadline, "seal the webhook addresses", || seal(writer, vault)).await?;
    if sealed_now > 0 {
        // The plain text may linger in freed pages and in the write-ahead log: rewrite the file
        // and empty the log. Tried again while the database is busy: once the addresses are
        // sealed, a later start-up would find nothing to seal, and not vacuum.
        super::until_free(deadline, "vacuum the database", || async {
            sqlx::query("VACUUM").execute(writer).await?;
            sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)").execute(writer).await?;
            Ok(())
        })
        .await?;
        tracing::info!(values = sealed_now, "sealed the webhook addresses stored before TOCSIN_SECRET_KEY was set");
    }
    Ok(())
}

/// Checks that the key opens what is sealed, and seals what is not, in one transaction; returns
/// how many values it sealed.
async fn seal(writer: &SqlitePool, vault: &Vault) -> StorageResult<u64> {
    let mut sealed_now = 0;
    let mut tx = writer.begin_with("BEGIN IMMEDIATE").await?;
    for (table, key, column) in SEALED_COLUMNS {
        let one_sealed: Option<String> =
            sqlx::query_scalar(&format!("SELECT {column} FROM {table} WHERE {column} LIKE {SEALED} LIMIT 1"))
                .fetch_optional(&mut *tx)
                .await?;
        vault.check_sealed(column, one_sealed)?;
        if !vault.is_sealing() {
            continue;
        }
        let plain = sqlx::query(&format!(
            "SELECT {key} AS k, {column} AS v FROM {table} WHERE {column} IS NOT NULL AND {column} NOT LIKE {SEALED}"
        ))
        .fetch_all(&mut *tx)
        .await?;
        let update = format!("UPDATE OR REPLACE {table} SET {column} = ? WHERE {key} = ?");
        for row in plain {
            let text: String = row.try_get("v")?;
            let query = sqlx::query(&update).bind(vault.seal(&text));
            // Rows are keyed by an integer id, or (webhook_endpoints) by the address itself.
            match row.try_get::<i64, _>("k") {
                Ok(id) => query.bind(id),
                Err(_) => query.bind(row.try_get::<String, _>("k")?),
            }
            .execute(&mut *tx)
            .await?;
            sealed_now += 1;
        }
    }
    tx.commit().await?;
    Ok(sealed_now)
}
