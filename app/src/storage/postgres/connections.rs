//! Connections in PostgreSQL: their facts, incident settings and notification addresses, their
//! filtered notifications, and the global defaults.

use super::{PostgresStorage, filters};
use crate::{
    domain::{
        Connection, ConnectionName, Description, FilterName, FilterOwner, FilteredNotification, IncidentGrouping,
        IncidentStatus, NewConnection, NotificationAddresses,
    },
    storage::{
        ConnectionStore, FilterWrite, StorageError, StorageResult, is_unique_violation, name_taken, now_millis,
        rows::{
            CONNECTION_COLUMNS, DEFAULT_COLUMNS, GROUPING_COLUMNS, bind_grouping, connection_from_row,
            defaults_from_row, filter_spec, grouping_from_row, stored_addresses,
        },
    },
};
use async_trait::async_trait;
use sqlx::Row;

/// `column = $n, ...` for `columns`, numbered from `first`.
fn assignments<'a>(columns: impl Iterator<Item = &'a str>, first: usize) -> String {
    columns.enumerate().map(|(index, column)| format!("{column} = ${}", first + index)).collect::<Vec<_>>().join(", ")
}

/// `$first, ..., $last`.
fn placeholders(first: usize, last: usize) -> String {
    (first..=last).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

#[async_trait]
impl ConnectionStore for PostgresStorage {
    #[tracing::instrument(skip_all)]
    async fn list_connections(&self) -> StorageResult<Vec<Connection>> {
        sqlx::query(&format!("SELECT {CONNECTION_COLUMNS} FROM connections ORDER BY name"))
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(connection_from_row)
            .collect()
    }

    #[tracing::instrument(skip_all, fields(connection = %name))]
    async fn find_connection(&self, name: &ConnectionName) -> StorageResult<Option<Connection>> {
        sqlx::query(&format!("SELECT {CONNECTION_COLUMNS} FROM connections WHERE name = $1"))
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(connection_from_row)
            .transpose()
    }

    #[tracing::instrument(skip_all, fields(connection = %new.name))]
    async fn create_connection(&self, new: &NewConnection, grouping: &IncidentGrouping) -> StorageResult<Connection> {
        let now = now_millis();
        let sql = format!(
            "INSERT INTO connections ({CONNECTION_COLUMNS}, {GROUPING_COLUMNS}, created_at, updated_at) VALUES ({})",
            placeholders(1, 15)
        );
        let query =
            sqlx::query(&sql).bind(new.name.as_str()).bind(new.provider_type.as_str()).bind(new.description.as_str());
        let result = bind_grouping(query, grouping, &self.vault).bind(now).bind(now).execute(&self.pool).await;
        match result {
            Ok(_) => Ok(Connection {
                name: new.name.clone(),
                provider_type: new.provider_type,
                description: new.description.clone(),
            }),
            Err(error) if is_unique_violation(&error) => Err(StorageError::Conflict),
            Err(error) => Err(error.into()),
        }
    }

    #[tracing::instrument(skip_all, fields(connection = %connection.name))]
    async fn update_connection(
        &self,
        connection: &Connection,
        settings: Option<(&IncidentGrouping, &[FilteredNotification])>,
    ) -> StorageResult<bool> {
        let mut columns = vec!["provider_type", "description"];
        if settings.is_some() {
            columns.extend(GROUPING_COLUMNS.split(", "));
        }
        let count = columns.len();
        let sql = format!(
            "UPDATE connections SET {}, updated_at = ${} WHERE name = ${} RETURNING id",
            assignments(columns.into_iter(), 1),
            count + 1,
            count + 2
        );
        let mut query = sqlx::query(&sql).bind(connection.provider_type.as_str()).bind(connection.description.as_str());
        if let Some((grouping, _)) = settings {
            query = bind_grouping(query, grouping, &self.vault);
        }
        let mut tx = self.pool.begin().await?;
        let row = query.bind(now_millis()).bind(connection.name.as_str()).fetch_optional(&mut *tx).await?;
        let Some(row) = row else { return Ok(false) };
        if let Some((_, filters)) = settings {
            filters::replace(&mut tx, Some(row.try_get("id")?), filters, &self.vault).await.map_err(name_taken)?;
        }
        tx.commit().await?;
        Ok(true)
    }

    #[tracing::instrument(skip_all, fields(connection = %name))]
    async fn delete_connection(&self, name: &ConnectionName) -> StorageResult<bool> {
        // The foreign keys cascade to check results, incidents, transitions, deliveries and attempts.
        let result =
            sqlx::query("DELETE FROM connections WHERE name = $1").bind(name.as_str()).execute(&self.pool).await?;
        Ok(result.rows_affected() == 1)
    }

    #[tracing::instrument(skip_all, fields(connection = %name))]
    async fn update_description(&self, name: &ConnectionName, description: &Description) -> StorageResult<bool> {
        let result = sqlx::query("UPDATE connections SET description = $1, updated_at = $2 WHERE name = $3")
            .bind(description.as_str())
            .bind(now_millis())
            .bind(name.as_str())
            .execute(&self.pool)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    #[tracing::instrument(skip_all, fields(connection = %name))]
    async fn incident_grouping(&self, name: &ConnectionName) -> StorageResult<Option<IncidentGrouping>> {
        sqlx::query(&format!("SELECT {GROUPING_COLUMNS} FROM connections WHERE name = $1"))
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(|row| grouping_from_row(row, &self.vault))
            .transpose()
    }

    #[tracing::instrument(skip_all, fields(connection = %name))]
    async fn save_incident_grouping(
        &self,
        name: &ConnectionName,
        grouping: &IncidentGrouping,
        filters: Option<&[FilteredNotification]>,
    ) -> StorageResult<bool> {
        let sql = format!(
            "UPDATE connections SET {}, updated_at = $11 WHERE name = $12 RETURNING id",
            assignments(GROUPING_COLUMNS.split(", "), 1)
        );
        let mut tx = self.pool.begin().await?;
        let id: Option<i64> = bind_grouping(sqlx::query(&sql), grouping, &self.vault)
            .bind(now_millis())
            .bind(name.as_str())
            .fetch_optional(&mut *tx)
            .await?
            .map(|row| row.try_get("id"))
            .transpose()?;
        let Some(id) = id else { return Ok(false) };
        if let Some(filters) = filters {
            filters::replace(&mut tx, Some(id), filters, &self.vault).await.map_err(name_taken)?;
        }
        tx.commit().await?;
        Ok(true)
    }

    #[tracing::instrument(skip_all)]
    async fn default_notifications(&self) -> StorageResult<NotificationAddresses> {
        let row = sqlx::query(&format!("SELECT {DEFAULT_COLUMNS} FROM default_notifications WHERE id = 1"))
            .fetch_one(&self.pool)
            .await?;
        defaults_from_row(&row, &self.vault)
    }

    #[tracing::instrument(skip_all)]
    async fn save_default_notifications(
        &self,
        defaults: &NotificationAddresses,
        filters: Option<&[FilteredNotification]>,
    ) -> StorageResult<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE default_notifications SET opened_addresses = $1, acknowledged_addresses = $2, \
             resolved_addresses = $3, muted_addresses = $4, updated_at = $5 WHERE id = 1",
        )
        .bind(stored_addresses(defaults, IncidentStatus::Open, &self.vault))
        .bind(stored_addresses(defaults, IncidentStatus::Acknowledged, &self.vault))
        .bind(stored_addresses(defaults, IncidentStatus::Resolved, &self.vault))
        .bind(stored_addresses(defaults, IncidentStatus::Muted, &self.vault))
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
        if let Some(filters) = filters {
            filters::replace(&mut tx, None, filters, &self.vault).await.map_err(name_taken)?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn filters(&self, owner: &FilterOwner) -> StorageResult<Option<Vec<FilteredNotification>>> {
        let mut conn = self.pool.acquire().await?;
        let Some(id) = filters::owner_id(&mut conn, owner).await? else { return Ok(None) };
        filters::load(&mut conn, id, &self.vault).await.map(Some)
    }

    #[tracing::instrument(skip_all, fields(filter = %filter.name))]
    async fn create_filter(&self, owner: &FilterOwner, filter: &FilteredNotification) -> StorageResult<FilterWrite> {
        let mut tx = self.pool.begin().await?;
        let Some(id) = filters::owner_id(&mut tx, owner).await? else { return Ok(FilterWrite::OwnerNotFound) };
        match filters::insert(&mut tx, id, filter, &self.vault).await {
            Ok(()) => {}
            Err(StorageError::Database(error)) if is_unique_violation(&error) => {
                return Ok(FilterWrite::NameTaken);
            }
            Err(error) => return Err(error),
        }
        tx.commit().await?;
        Ok(FilterWrite::Done)
    }

    #[tracing::instrument(skip_all, fields(filter = %name))]
    async fn update_filter(
        &self,
        owner: &FilterOwner,
        name: &FilterName,
        filter: &FilteredNotification,
    ) -> StorageResult<FilterWrite> {
        let mut tx = self.pool.begin().await?;
        let Some(id) = filters::owner_id(&mut tx, owner).await? else { return Ok(FilterWrite::OwnerNotFound) };
        let result = sqlx::query(
            "UPDATE filtered_notifications SET name = $1, spec = $2, updated_at = $3 \
             WHERE connection_id IS NOT DISTINCT FROM $4 AND name = $5",
        )
        .bind(filter.name.as_str())
        .bind(filter_spec(filter, &self.vault)?)
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

    #[tracing::instrument(skip_all, fields(filter = %name))]
    async fn delete_filter(&self, owner: &FilterOwner, name: &FilterName) -> StorageResult<FilterWrite> {
        let mut tx = self.pool.begin().await?;
        let Some(id) = filters::owner_id(&mut tx, owner).await? else { return Ok(FilterWrite::OwnerNotFound) };
        let done =
            sqlx::query("DELETE FROM filtered_notifications WHERE connection_id IS NOT DISTINCT FROM $1 AND name = $2")
                .bind(id)
                .bind(name.as_str())
                .execute(&mut *tx)
                .await?;
        tx.commit().await?;
        Ok(if done.rows_affected() == 0 { FilterWrite::FilterNotFound } else { FilterWrite::Done })
    }
}
