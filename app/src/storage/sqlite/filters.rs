//! Filtered notifications in SQLite: one row per filter, its spec as JSON, on a connection or
//! global (no connection).

use super::{SqliteStorage, corrupt, is_unique_violation, now_millis};
use crate::{
    domain::{FilterName, FilterOwner, FilteredNotification},
    storage::{FilterWrite, StorageResult, Vault},
};
use sqlx::{Row, SqliteConnection};

/// The connection's id for `owner`: `Some(None)` for the global filters, `None` when the
/// connection does not exist.
pub(super) async fn owner_id(conn: &mut SqliteConnection, owner: &FilterOwner) -> StorageResult<Option<Option<i64>>> {
    match owner {
        FilterOwner::Global => Ok(Some(None)),
        FilterOwner::Connection(name) => Ok(sqlx::query_scalar::<_, i64>("SELECT id FROM connections WHERE name = ?")
            .bind(name.as_str())
            .fetch_optional(conn)
            .await?
            .map(Some)),
    }
}

/// The filters of a connection (`Some(id)`) or the global ones (`None`), in stored order.
pub(super) async fn load(
    conn: &mut SqliteConnection,
    connection_id: Option<i64>,
    vault: &Vault,
) -> StorageResult<Vec<FilteredNotification>> {
    let rows = sqlx::query("SELECT spec FROM filtered_notifications WHERE connection_id IS ? ORDER BY id")
        .bind(connection_id)
        .fetch_all(conn)
        .await?;
    rows.iter()
        .map(|row| {
            let spec = vault.open("filtered_notifications.spec", row.try_get("spec")?)?;
            serde_json::from_str(&spec).map_err(|e| corrupt("filtered_notifications.spec", e))
        })
        .collect()
}

/// The stored spec: the filter as JSON, sealed whole (it holds addresses).
fn spec(filter: &FilteredNotification, vault: &Vault) -> StorageResult<String> {
    let json = serde_json::to_string(filter).map_err(|e| corrupt("filtered_notifications.spec", e))?;
    Ok(vault.seal(&json))
}

/// Replaces every filter of `connection_id` (or the global ones) with `filters`, in order.
pub(super) async fn replace(
    conn: &mut SqliteConnection,
    connection_id: Option<i64>,
    filters: &[FilteredNotification],
    vault: &Vault,
) -> StorageResult<()> {
    sqlx::query("DELETE FROM filtered_notifications WHERE connection_id IS ?")
        .bind(connection_id)
        .execute(&mut *conn)
        .await?;
    for filter in filters {
        insert(conn, connection_id, filter, vault).await?;
    }
    Ok(())
}

async fn insert(
    conn: &mut SqliteConnection,
    connection_id: Option<i64>,
    filter: &FilteredNotification,
    vault: &Vault,
) -> StorageResult<()> {
    sqlx::query("INSERT INTO filtered_notifications (connection_id, name, spec, updated_at) VALUES (?, ?, ?, ?)")
        .bind(connection_id)
        .bind(filter.name.as_str())
        .bind(spec(filter, vault)?)
        .bind(now_millis())
        .execute(conn)
        .await?;
    Ok(())
}

impl SqliteStorage {
    pub(super) async fn filters_of(&self, owner: &FilterOwner) -> StorageResult<Option<Vec<FilteredNotification>>> {
        let mut conn = self.pool.acquire().await?;
        let Some(id) = owner_id(&mut conn, owner).await? else { return Ok(None) };
        load(&mut conn, id, &self.vault).await.map(Some)
    }

    pub(super) async fn create_filter(
        &self,
        owner: &FilterOwner,
        filter: &FilteredNotification,
    ) -> StorageResult<FilterWrite> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let Some(id) = owner_id(&mut tx, owner).await? else { return Ok(FilterWrite::OwnerNotFound) };
        match insert(&mut tx, id, filter, &self.vault).await {
            Ok(()) => {}
            Err(crate::storage::StorageError::Database(error)) if is_unique_violation(&error) => {
                return Ok(FilterWrite::NameTaken);
            }
            Err(error) => return Err(error),
        }
        tx.commit().await?;
        Ok(FilterWrite::Done)
    }

    /// Replaces the filter named `name` with `filter`, which may carry a new name.
    pub(super) async fn update_filter(
        &self,
        owner: &FilterOwner,
        name: &FilterName,
        filter: &FilteredNotification,
    ) -> StorageResult<FilterWrite> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let Some(id) = owner_id(&mut tx, owner).await? else { return Ok(FilterWrite::OwnerNotFound) };
        let result = sqlx::query(
            "UPDATE filtered_notifications SET name = ?, spec = ?, updated_at = ? WHERE connection_id IS ? AND name = ?",
        )
        .bind(filter.name.as_str())
        .bind(spec(filter, &self.vault)?)
        .bind(now_millis())
        .bind(id)
        .bind(name.as_str())
        .execute(&mut *tx)
        .await;
        match result {
            Ok(done) if done.rows_affected() == 0 => return Ok(FilterWrite::FilterNotFound),
            Ok(_) => {}
            Err(error) if is_unique_violation(&error) => return Ok(FilterWrite::NameTaken),
            Err(error) => return Err(error.into()),
        }
        tx.commit().await?;
        Ok(FilterWrite::Done)
    }

    pub(super) async fn delete_filter(&self, owner: &FilterOwner, name: &FilterName) -> StorageResult<FilterWrite> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let Some(id) = owner_id(&mut tx, owner).await? else { return Ok(FilterWrite::OwnerNotFound) };
        let done = sqlx::query("DELETE FROM filtered_notifications WHERE connection_id IS ? AND name = ?")
            .bind(id)
            .bind(name.as_str())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(if done.rows_affected() == 0 { FilterWrite::FilterNotFound } else { FilterWrite::Done })
    }
}
