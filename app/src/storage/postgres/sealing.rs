//! Start-up care of the sealed columns, as in SQLite: with a key, addresses stored in plain text
//! before the key was set are sealed now, and the key must open what is sealed; without one, a
//! database that holds sealed addresses is refused. Instances starting together take turns.

use crate::storage::{
    StorageResult, Vault,
    vault::{SEALED, SEALED_COLUMNS},
};
use sqlx::{PgPool, Row};

/// The advisory lock the sealing transaction holds (any constant that no other code uses).
const SEALING_LOCK: i64 = 0x746f_6373_696e_5345;

pub(super) async fn check_or_seal(pool: &PgPool, vault: &Vault) -> StorageResult<()> {
    let sealed_now = seal(pool, vault).await?;
    if sealed_now > 0 {
        // The plain text lingers in the old row versions until they are rewritten. (PostgreSQL's
        // write-ahead log and any backups hold it still: rotate those as the operator's policy says.)
        for table in
            ["connections", "default_notifications", "filtered_notifications", "deliveries", "webhook_endpoints"]
        {
            sqlx::query(&format!("VACUUM FULL {table}")).execute(pool).await?;
        }
        tracing::info!(values = sealed_now, "sealed the webhook addresses stored before TOCSIN_SECRET_KEY was set");
    }
    Ok(())
}

/// Checks that the key opens what is sealed, and seals what is not, in one transaction; returns
/// how many values it sealed.
async fn seal(pool: &PgPool, vault: &Vault) -> StorageResult<u64> {
    let mut sealed_now = 0;
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(SEALING_LOCK).execute(&mut *tx).await?;
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
        let update = format!("UPDATE {table} SET {column} = $1 WHERE {key} = $2");
        for row in plain {
            let sealed = vault.seal(&row.try_get::<String, _>("v")?);
            let query = sqlx::query(&update).bind(&sealed);
            // Rows are keyed by an integer id, or (webhook_endpoints) by the address itself; then
            // a row already sealed for that address gives way to this one.
            match row.try_get::<i64, _>("k") {
                Ok(id) => query.bind(id),
                Err(_) => {
                    sqlx::query(&format!("DELETE FROM {table} WHERE {key} = $1"))
                        .bind(&sealed)
                        .execute(&mut *tx)
                        .await?;
                    query.bind(row.try_get::<String, _>("k")?)
                }
            }
            .execute(&mut *tx)
            .await?;
            sealed_now += 1;
        }
    }
    tx.commit().await?;
    Ok(sealed_now)
}
