//! The SQLite backend: one file, WAL mode, foreign keys on, a busy timeout, migrations embedded.

mod access;
mod connections;
mod deliveries;
mod filters;
mod group;
mod incidents;
mod rows;
mod sealing;
mod writes;

use super::{Storage, StorageError, StorageResult, Vault};
use crate::domain::{
    Connection, ConnectionName, DayCount, Description, IncidentGrouping, IncidentStatus, NotificationAddresses,
    WebhookAddresses,
};
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
}
