//! The SQLite backend: one file, WAL mode, foreign keys on, a busy timeout, migrations embedded.

mod access;
mod deliveries;
mod filters;
mod group;
mod incidents;
mod sealing;

use super::{
    ClaimedDelivery, DeliveryOutcome, FilterWrite, IngestOutcome, StatusUpdate, Storage, StorageError, StorageResult,
    Vault,
};
use crate::domain::{
    Actor, ApiToken, CheckResult, Connection, ConnectionIncidentCounts, ConnectionName, DayCount, Delivery,
    Description, FilterName, FilterOwner, FilteredNotification, Incident, IncidentGrouping, IncidentPage,
    IncidentQuery, IncidentStatus, NewConnection, NotificationAddresses, StatusChange, Timestamp, TokenName, UserName,
    WebhookAddresses,
};
use crate::notifications::NotifyContext;
use async_trait::async_trait;
use sqlx::{
    Row, Sqlite,
    query::Query,
    sqlite::{
        SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
        SqliteSynchronous,
    },
};
use std::{str::FromStr, time::Duration};

/// Reads share a pool; writes go through one connection, so that writers queue in order inside
/// Tocsin instead of contending for SQLite's lock (and timing out under load).
#[derive(Clone, Debug)]
pub struct SqliteStorage {
    pool: SqlitePool,
    writer: SqlitePool,
    /// Status changes, committed in groups (see `group`).
    status_jobs: tokio::sync::mpsc::Sender<group::StatusJob>,
    /// Seals webhook addresses at rest when a key is set.
    vault: Vault,
}

const CONNECTION_COLUMNS: &str = "name, provider_type, description";
const GROUPING_COLUMNS: &str = "grouping_level, minimum_severity, divide_by_data_groups, max_incident_length_days, \
     mute_for_days, incidents_disabled, incident_opened_addresses, incident_acknowledged_addresses, \
     incident_resolved_addresses, incident_muted_addresses";

/// How long a statement waits for a lock another connection (or process) holds.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long opening the database keeps trying while another process holds it. Some of what
/// opening does (setting the journal mode, recovering the write-ahead log) fails at once on a
/// held lock instead of waiting the busy timeout, so opening is tried again until this has passed.
const OPEN_PATIENCE: Duration = Duration::from_secs(30);

impl SqliteStorage {
    /// Opens (creating if missing, with its folder) and migrates the database at `url`. Each step
    /// waits while another process holds the database, up to [`OPEN_PATIENCE`] in all.
    pub async fn open(url: &str, vault: Vault) -> StorageResult<Self> {
        let deadline = tokio::time::Instant::now() + OPEN_PATIENCE;
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        if let Some(folder) = options.get_filename().parent()
            && !folder.as_os_str().is_empty()
        {
            std::fs::create_dir_all(folder).map_err(sqlx::Error::Io)?;
        }
        let connect = |connections| {
            let options = options.clone();
            async move { Ok(SqlitePoolOptions::new().max_connections(connections).connect_with(options).await?) }
        };
        let writer = until_free(deadline, "connect to the database", || connect(1)).await?;
        until_free(deadline, "migrate the database", || async {
            Ok(sqlx::migrate!("../migrations/sqlite").run(&writer).await?)
        })
        .await?;
        let pool = until_free(deadline, "connect to the database", || connect(8)).await?;
        sealing::check_or_seal(&writer, &vault, deadline).await?;
        let status_jobs = group::spawn(writer.clone(), vault.clone());
        Ok(Self { pool, writer, status_jobs, vault })
    }
}

/// Runs `attempt` again, after a short and growing pause, for as long as it fails because another
/// connection holds the database and `deadline` has not passed.
async fn until_free<T, F, Fut>(deadline: tokio::time::Instant, what: &str, mut attempt: F) -> StorageResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = StorageResult<T>>,
{
    let mut pause = Duration::from_millis(20);
    let mut warned = false;
    loop {
        match attempt().await {
            Err(error) if is_busy(&error) && tokio::time::Instant::now() + pause < deadline => {
                if !warned {
                    tracing::warn!(%error, "the database is busy (another process holds it); waiting to {what}");
                    warned = true;
                }
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_millis(500));
            }
            outcome => return outcome,
        }
    }
}

/// Whether the error is SQLite's "database is locked" (SQLITE_BUSY) or "table is locked"
/// (SQLITE_LOCKED), with any of their extended codes.
fn is_busy(error: &StorageError) -> bool {
    let database = match error {
        StorageError::Database(sqlx::Error::Database(database))
        | StorageError::Migration(
            sqlx::migrate::MigrateError::Execute(sqlx::Error::Database(database))
            | sqlx::migrate::MigrateError::ExecuteMigration(sqlx::Error::Database(database), _),
        ) => database,
        _ => return false,
    };
    let code = database.code().and_then(|code| code.parse::<i32>().ok());
    code.is_some_and(|code| matches!(code & 0xff, SQLITE_BUSY | SQLITE_LOCKED))
}

const SQLITE_BUSY: i32 = 5;
const SQLITE_LOCKED: i32 = 6;

fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

fn corrupt(column: &'static str, reason: impl ToString) -> StorageError {
    StorageError::Corrupt { column, reason: reason.to_string() }
}

fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(db) if db.is_unique_violation())
}

/// Two filters of one owner with the same name, in a list that replaces them all.
fn name_taken(error: StorageError) -> StorageError {
    match error {
        StorageError::Database(error) if is_unique_violation(&error) => StorageError::Conflict,
        other => other,
    }
}

fn connection_from_row(row: &SqliteRow) -> StorageResult<Connection> {
    let name: String = row.try_get("name")?;
    let provider_type: String = row.try_get("provider_type")?;
    let description: String = row.try_get("description")?;
    Ok(Connection {
        name: ConnectionName::parse(&name).map_err(|e| corrupt("name", e))?,
        provider_type: provider_type.parse().map_err(|e| corrupt("provider_type", e))?,
        description: Description::parse(&description).map_err(|e| corrupt("description", e))?,
    })
}

fn addresses_from_row(row: &SqliteRow, column: &'static str, vault: &Vault) -> StorageResult<Option<WebhookAddresses>> {
    let stored: Option<String> = row.try_get(column)?;
    stored
        .map(|stored| {
            let text = vault.open(column, stored)?;
            WebhookAddresses::parse(&text).map_err(|e| corrupt(column, e))
        })
        .transpose()
}

fn grouping_from_row(row: &SqliteRow, vault: &Vault) -> StorageResult<IncidentGrouping> {
    let level: String = row.try_get("grouping_level")?;
    let severity: String = row.try_get("minimum_severity")?;
    let max_days: u32 = row.try_get("max_incident_length_days")?;
    let mute_days: u32 = row.try_get("mute_for_days")?;
    Ok(IncidentGrouping {
        grouping_level: level.parse().map_err(|e| corrupt("grouping_level", e))?,
        minimum_severity: severity.parse().map_err(|e| corrupt("minimum_severity", e))?,
        divide_by_data_groups: row.try_get("divide_by_data_groups")?,
        max_incident_length_days: DayCount::new(max_days).map_err(|e| corrupt("max_incident_length_days", e))?,
        mute_for_days: DayCount::new(mute_days).map_err(|e| corrupt("mute_for_days", e))?,
        disabled: row.try_get("incidents_disabled")?,
        notification: NotificationAddresses {
            opened: addresses_from_row(row, "incident_opened_addresses", vault)?,
            acknowledged: addresses_from_row(row, "incident_acknowledged_addresses", vault)?,
            resolved: addresses_from_row(row, "incident_resolved_addresses", vault)?,
            muted: addresses_from_row(row, "incident_muted_addresses", vault)?,
        },
    })
}

/// Binds the values of [`GROUPING_COLUMNS`], in that order.
fn bind_grouping<'q>(
    query: Query<'q, Sqlite, SqliteArguments<'q>>,
    grouping: &'q IncidentGrouping,
    vault: &Vault,
) -> Query<'q, Sqlite, SqliteArguments<'q>> {
    query
        .bind(grouping.grouping_level.as_str())
        .bind(grouping.minimum_severity.as_str())
        .bind(grouping.divide_by_data_groups)
        .bind(grouping.max_incident_length_days.get())
        .bind(grouping.mute_for_days.get())
        .bind(grouping.disabled)
        .bind(stored_addresses(grouping, IncidentStatus::Open, vault))
        .bind(stored_addresses(grouping, IncidentStatus::Acknowledged, vault))
        .bind(stored_addresses(grouping, IncidentStatus::Resolved, vault))
        .bind(stored_addresses(grouping, IncidentStatus::Muted, vault))
}

/// The stored spelling of one status's addresses: NULL when not set.
fn stored_addresses(grouping: &IncidentGrouping, status: IncidentStatus, vault: &Vault) -> Option<String> {
    stored(&grouping.notification, status, vault)
}

fn stored(addresses: &NotificationAddresses, status: IncidentStatus, vault: &Vault) -> Option<String> {
    addresses.for_status(status).map(|addresses| vault.seal(&addresses.to_string()))
}

/// The columns of `default_notifications`, which [`defaults_from_row`] reads.
const DEFAULT_COLUMNS: &str = "opened_addresses, acknowledged_addresses, resolved_addresses, muted_addresses";

fn defaults_from_row(row: &SqliteRow, vault: &Vault) -> StorageResult<NotificationAddresses> {
    Ok(NotificationAddresses {
        opened: addresses_from_row(row, "opened_addresses", vault)?,
        acknowledged: addresses_from_row(row, "acknowledged_addresses", vault)?,
        resolved: addresses_from_row(row, "resolved_addresses", vault)?,
        muted: addresses_from_row(row, "muted_addresses", vault)?,
    })
}

#[async_trait]
impl Storage for SqliteStorage {
    async fn ping(&self) -> StorageResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

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
        sqlx::query(&format!("SELECT {CONNECTION_COLUMNS} FROM connections WHERE name = ?"))
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
            "INSERT INTO connections ({CONNECTION_COLUMNS}, {GROUPING_COLUMNS}, created_at, updated_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        );
        let query =
            sqlx::query(&sql).bind(new.name.as_str()).bind(new.provider_type.as_str()).bind(new.description.as_str());
        let result = bind_grouping(query, grouping, &self.vault).bind(now).bind(now).execute(&self.writer).await;
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
        let assignments = columns.iter().map(|column| format!("{column} = ?")).collect::<Vec<_>>().join(", ");
        let sql = format!("UPDATE connections SET {assignments}, updated_at = ? WHERE name = ? RETURNING id");
        let mut query = sqlx::query(&sql).bind(connection.provider_type.as_str()).bind(connection.description.as_str());
        if let Some((grouping, _)) = settings {
            query = bind_grouping(query, grouping, &self.vault);
        }
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
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
            sqlx::query("DELETE FROM connections WHERE name = ?").bind(name.as_str()).execute(&self.writer).await?;
        Ok(result.rows_affected() == 1)
    }

    #[tracing::instrument(skip_all, fields(connection = %name))]
    async fn update_description(&self, name: &ConnectionName, description: &Description) -> StorageResult<bool> {
        let result = sqlx::query("UPDATE connections SET description = ?, updated_at = ? WHERE name = ?")
            .bind(description.as_str())
            .bind(now_millis())
            .bind(name.as_str())
            .execute(&self.writer)
            .await?;
        Ok(result.rows_affected() == 1)
    }

    #[tracing::instrument(skip_all, fields(connection = %name))]
    async fn incident_grouping(&self, name: &ConnectionName) -> StorageResult<Option<IncidentGrouping>> {
        sqlx::query(&format!("SELECT {GROUPING_COLUMNS} FROM connections WHERE name = ?"))
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
        let assignments = GROUPING_COLUMNS.split(", ").map(|column| format!("{column} = ?")).collect::<Vec<_>>();
        let sql =
            format!("UPDATE connections SET {}, updated_at = ? WHERE name = ? RETURNING id", assignments.join(", "));
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
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

    async fn filters(&self, owner: &FilterOwner) -> StorageResult<Option<Vec<FilteredNotification>>> {
        self.filters_of(owner).await
    }

    #[tracing::instrument(skip_all, fields(filter = %filter.name))]
    async fn create_filter(&self, owner: &FilterOwner, filter: &FilteredNotification) -> StorageResult<FilterWrite> {
        SqliteStorage::create_filter(self, owner, filter).await
    }

    #[tracing::instrument(skip_all, fields(filter = %name))]
    async fn update_filter(
        &self,
        owner: &FilterOwner,
        name: &FilterName,
        filter: &FilteredNotification,
    ) -> StorageResult<FilterWrite> {
        SqliteStorage::update_filter(self, owner, name, filter).await
    }

    #[tracing::instrument(skip_all, fields(filter = %name))]
    async fn delete_filter(&self, owner: &FilterOwner, name: &FilterName) -> StorageResult<FilterWrite> {
        SqliteStorage::delete_filter(self, owner, name).await
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
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "UPDATE default_notifications SET opened_addresses = ?, acknowledged_addresses = ?, \
             resolved_addresses = ?, muted_addresses = ?, updated_at = ? WHERE id = 1",
        )
        .bind(stored(defaults, IncidentStatus::Open, &self.vault))
        .bind(stored(defaults, IncidentStatus::Acknowledged, &self.vault))
        .bind(stored(defaults, IncidentStatus::Resolved, &self.vault))
        .bind(stored(defaults, IncidentStatus::Muted, &self.vault))
        .bind(now_millis())
        .execute(&mut *tx)
        .await?;
        if let Some(filters) = filters {
            filters::replace(&mut tx, None, filters, &self.vault).await.map_err(name_taken)?;
        }
        tx.commit().await?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(connection = %connection, results = results.len()))]
    async fn ingest_check_results(
        &self,
        connection: &ConnectionName,
        results: &[CheckResult],
        notify: &NotifyContext,
        now: Timestamp,
    ) -> StorageResult<Option<IngestOutcome>> {
        self.ingest(connection, results, notify, now).await
    }

    #[tracing::instrument(skip_all)]
    async fn incident_counts(&self) -> StorageResult<Vec<ConnectionIncidentCounts>> {
        self.counts().await
    }

    #[tracing::instrument(skip_all, fields(connection = %connection))]
    async fn list_incidents(
        &self,
        connection: &ConnectionName,
        query: &IncidentQuery,
        now: Timestamp,
    ) -> StorageResult<Option<IncidentPage>> {
        self.list(connection, query, now).await
    }

    #[tracing::instrument(skip_all, fields(connection = %connection, incident = id))]
    async fn find_incident(&self, connection: &ConnectionName, id: &str) -> StorageResult<Option<Incident>> {
        self.find(connection, id).await
    }

    #[tracing::instrument(skip_all, fields(connection = %connection, incident = id, status = %status))]
    async fn change_incident_status(
        &self,
        connection: &ConnectionName,
        id: &str,
        status: IncidentStatus,
        actor: &Actor,
        notify: &NotifyContext,
        now: Timestamp,
    ) -> StorageResult<StatusUpdate> {
        self.change_status(connection, id, status, actor, notify, now).await
    }

    #[tracing::instrument(skip_all, fields(connection = %connection, incident = id))]
    async fn set_issue_url(
        &self,
        connection: &ConnectionName,
        id: &str,
        issue_url: Option<&str>,
        now: Timestamp,
    ) -> StorageResult<bool> {
        SqliteStorage::set_issue_url(self, connection, id, issue_url, now).await
    }

    #[tracing::instrument(skip_all, fields(incident = id))]
    async fn incident_history(&self, id: &str) -> StorageResult<Vec<StatusChange>> {
        self.history(id).await
    }

    #[tracing::instrument(skip_all, fields(incident = id))]
    async fn incident_issues(&self, id: &str, limit: u32, offset: u32) -> StorageResult<Vec<CheckResult>> {
        self.issues(id, limit, offset).await
    }

    async fn claim_deliveries(
        &self,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
        per_address: u32,
    ) -> StorageResult<Vec<ClaimedDelivery>> {
        self.claim(owner, now, lease_until, limit, per_address).await
    }

    async fn release_deliveries(&self, url: &str, ids: &[i64], owner: &str) -> StorageResult<()> {
        self.release(url, ids, owner).await
    }

    async fn release_owner_leases(&self, owner: &str) -> StorageResult<u64> {
        self.release_owner(owner).await
    }

    async fn create_user(&self, name: &UserName, password_hash: &str, now: Timestamp) -> StorageResult<()> {
        self.insert_user(name, password_hash, now).await
    }

    async fn user_password(&self, name: &UserName) -> StorageResult<Option<(i64, String)>> {
        self.password_of(name).await
    }

    async fn user_count(&self) -> StorageResult<u64> {
        self.count_users().await
    }

    async fn create_session(
        &self,
        id_hash: &[u8],
        user_id: i64,
        expires_at: Timestamp,
        replaces: Option<&[u8]>,
        now: Timestamp,
    ) -> StorageResult<()> {
        self.start_session(id_hash, user_id, expires_at, replaces, now).await
    }

    async fn session_user(&self, id_hash: &[u8], now: Timestamp) -> StorageResult<Option<UserName>> {
        self.user_of_session(id_hash, now).await
    }

    async fn delete_session(&self, id_hash: &[u8]) -> StorageResult<()> {
        self.end_session(id_hash).await
    }

    async fn create_api_token(
        &self,
        name: &TokenName,
        hash: &[u8],
        hint: &str,
        now: Timestamp,
    ) -> StorageResult<ApiToken> {
        self.insert_token(name, hash, hint, now).await
    }

    async fn api_tokens(&self) -> StorageResult<Vec<ApiToken>> {
        self.tokens().await
    }

    async fn revoke_api_token(&self, id: i64, now: Timestamp) -> StorageResult<bool> {
        self.revoke_token(id, now).await
    }

    async fn api_token_valid(&self, hash: &[u8]) -> StorageResult<bool> {
        self.token_valid(hash).await
    }

    async fn release_abandoned_leases(&self) -> StorageResult<u64> {
        let mut tx = self.writer.begin_with("BEGIN IMMEDIATE").await?;
        let result = sqlx::query(
            "UPDATE deliveries SET lease_owner = NULL, lease_until = NULL WHERE state = 'pending' AND lease_until IS NOT NULL",
        )
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE webhook_endpoints SET busy_until = 0").execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(result.rows_affected())
    }

    #[tracing::instrument(skip_all, fields(delivery = delivery.id, attempt = delivery.attempt))]
    async fn record_delivery_attempt(
        &self,
        delivery: &ClaimedDelivery,
        owner: &str,
        outcome: &DeliveryOutcome,
    ) -> StorageResult<bool> {
        self.record(delivery, owner, outcome).await
    }

    async fn connection_deliveries(&self, connection: &ConnectionName, limit: u32) -> StorageResult<Vec<Delivery>> {
        SqliteStorage::connection_deliveries(self, connection.as_str(), limit).await
    }

    async fn incident_deliveries(&self, incident_id: &str) -> StorageResult<Vec<Delivery>> {
        SqliteStorage::incident_deliveries(self, incident_id).await
    }

    async fn retry_delivery(&self, id: i64, now: Timestamp) -> StorageResult<bool> {
        self.retry_now(id, now).await
    }

    async fn enable_delivery_address(&self, id: i64) -> StorageResult<bool> {
        self.enable_address(id).await
    }
}
