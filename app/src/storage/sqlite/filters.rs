//! Filtered notifications in SQLite: one row per filter, its spec as JSON, on a connection or
//! global (no connection).

use crate::storage::now_millis;
use crate::{
    domain::{FilterOwner, FilteredNotification},
    storage::{
        StorageResult, Vault,
        rows::{filter_from_row, filter_spec},
    },
};
use sqlx::SqliteConnection;

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
    rows.iter().map(|row| filter_from_row(row, vault)).collect()
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

pub(super) async fn insert(
    conn: &mut SqliteConnection,
    connection_id: Option<i64>,
    filter: &FilteredNotification,
    vault: &Vault,
) -> StorageResult<()> {
    sqlx::query("INSERT INTO filtered_notifications (connection_id, name, spec, updated_at) VALUES (?, ?, ?, ?)")
        .bind(connection_id)
        .bind(filter.name.as_str())
        .bind(filter_spec(filter, vault)?)
        .bind(now_millis())
        .execute(conn)
        .await?;
    Ok(())
}
