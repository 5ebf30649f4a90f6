//! Persistence behind a narrow interface. SQL lives only in this module's backends; services and
//! pages see [`Storage`] and domain types. Each backend keeps its own migrations folder.

pub mod copy;
mod postgres;
mod rows;
mod sqlite;
mod vault;
mod writes;

pub use postgres::PostgresStorage;
pub use sqlite::SqliteStorage;
pub use vault::Vault;
pub use writes::{
    CandidateIncident, ConnectionPolicy, DeliveryRecord, IncidentGrowth, IncidentWrites, NewIncident, WriteWork,
};

use crate::domain::{
    ApiToken, CheckResult, Connection, ConnectionIncidentCounts, ConnectionName, Delivery, Description, FilterName,
    FilterOwner, FilteredNotification, Format, Incident, IncidentGrouping, IncidentPage, IncidentQuery, NewConnection,
    NotificationAddresses, StatusChange, Timestamp, TokenName, UserName,
};
use async_trait::async_trait;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A row with the same unique key exists.
    #[error("already exists")]
    Conflict,
    /// A stored value no longer parses as its domain type (for example, the file was edited by hand).
    #[error("stored {column} is invalid: {reason}")]
    Corrupt { column: &'static str, reason: String },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migration(#[from] sqlx::migrate::MigrateError),
    /// A stored webhook address cannot be read with the configured key.
    #[error("stored {column} cannot be read: {error}")]
    Key { column: &'static str, error: crate::crypto::SealError },
    /// The transaction a change was grouped into failed; nothing of it was written.
    #[error("the grouped transaction failed: {0}")]
    Batch(String),
}

pub type StorageResult<T> = Result<T, StorageError>;

/// Everything Tocsin stores, by concern. One implementation of each per database backend, each in
/// a file of its own.
#[async_trait]
pub trait Storage: ConnectionStore + IncidentStore + Outbox + AccessStore {
    /// Succeeds when the database answers a query.
    async fn ping(&self) -> StorageResult<()>;
}

/// Connections, their incident settings and notification addresses, filtered notifications and
/// the global defaults.
#[async_trait]
pub trait ConnectionStore: Send + Sync + 'static {
    async fn list_connections(&self) -> StorageResult<Vec<Connection>>;

    async fn find_connection(&self, name: &ConnectionName) -> StorageResult<Option<Connection>>;

    /// Inserts a connection with its initial incident settings; [`StorageError::Conflict`] if the name is taken.
    async fn create_connection(&self, new: &NewConnection, grouping: &IncidentGrouping) -> StorageResult<Connection>;

    /// Replaces the connection's provider type and description, and with `settings` its incident
    /// settings and filtered notifications too, in one transaction. Returns false when the connection does not exist.
    async fn update_connection(
        &self,
        connection: &Connection,
        settings: Option<(&IncidentGrouping, &[FilteredNotification])>,
    ) -> StorageResult<bool>;

    /// Deletes the connection with its check results, incidents, their history and deliveries.
    /// Returns false when the connection does not exist.
    async fn delete_connection(&self, name: &ConnectionName) -> StorageResult<bool>;

    /// Returns false when the connection does not exist.
    async fn update_description(&self, name: &ConnectionName, description: &Description) -> StorageResult<bool>;

    async fn incident_grouping(&self, name: &ConnectionName) -> StorageResult<Option<IncidentGrouping>>;

    /// Replaces the connection's incident settings as a whole, and with `filters` its filtered
    /// notifications too, in one transaction. Returns false when the connection does not exist.
    async fn save_incident_grouping(
        &self,
        name: &ConnectionName,
        grouping: &IncidentGrouping,
        filters: Option<&[FilteredNotification]>,
    ) -> StorageResult<bool>;

    /// The filtered notifications of `owner`, in stored order; `None` when the connection does not exist.
    async fn filters(&self, owner: &FilterOwner) -> StorageResult<Option<Vec<FilteredNotification>>>;

    async fn create_filter(&self, owner: &FilterOwner, filter: &FilteredNotification) -> StorageResult<FilterWrite>;

    /// Replaces the filter `name` with `filter`, which may carry a new name.
    async fn update_filter(
        &self,
        owner: &FilterOwner,
        name: &FilterName,
        filter: &FilteredNotification,
    ) -> StorageResult<FilterWrite>;

    async fn delete_filter(&self, owner: &FilterOwner, name: &FilterName) -> StorageResult<FilterWrite>;

    /// The global default notification addresses.
    async fn default_notifications(&self) -> StorageResult<NotificationAddresses>;

    /// Replaces the global default notification addresses as a whole, and with `filters` the
    /// global filtered notifications too, in one transaction.
    async fn save_default_notifications(
        &self,
        defaults: &NotificationAddresses,
        filters: Option<&[FilteredNotification]>,
    ) -> StorageResult<()>;
}

/// Check results, the incidents they are grouped into, and their transitions.
#[async_trait]
pub trait IncidentStore: Send + Sync + 'static {
    /// Runs `work` (the incident rules on a batch of check results) in one write transaction,
    /// committed when it succeeds and rolled back when it fails.
    async fn write_ingest(&self, work: WriteWork<Option<IngestOutcome>>) -> StorageResult<Option<IngestOutcome>>;

    /// Open and acknowledged incidents per connection and severity, for every connection.
    async fn incident_counts(&self) -> StorageResult<Vec<ConnectionIncidentCounts>>;

    /// One page of a connection's incidents. `None` when the connection does not exist.
    async fn list_incidents(
        &self,
        connection: &ConnectionName,
        query: &IncidentQuery,
        now: Timestamp,
    ) -> StorageResult<Option<IncidentPage>>;

    async fn find_incident(&self, connection: &ConnectionName, id: &str) -> StorageResult<Option<Incident>>;

    /// Runs `work` (the incident rules on one status change) in a write transaction, answered once
    /// that is committed; a backend may commit several changes together, each in its own savepoint,
    /// so that a failing one undoes only itself.
    async fn write_status_change(&self, work: WriteWork<StatusUpdate>) -> StorageResult<StatusUpdate>;

    /// Returns false when the incident does not exist.
    async fn set_issue_url(
        &self,
        connection: &ConnectionName,
        id: &str,
        issue_url: Option<&str>,
        now: Timestamp,
    ) -> StorageResult<bool>;

    /// The incident's transitions, oldest first.
    async fn incident_history(&self, id: &str) -> StorageResult<Vec<StatusChange>>;

    /// The check results that joined the incident, newest first.
    async fn incident_issues(&self, id: &str, limit: u32, offset: u32) -> StorageResult<Vec<CheckResult>>;
}

/// The deliveries waiting to be sent, and what sending them did. A claim leases deliveries to one
/// worker; its attempt is recorded only while that lease holds (fenced on owner and attempt).
#[async_trait]
pub trait Outbox: Send + Sync + 'static {
    /// Leases due deliveries for `owner` until `lease_until`: for up to `limit` free addresses, up to
    /// `per_address` each (one for Slack addresses, which are paced), in the order to send them.
    async fn claim_deliveries(
        &self,
        owner: &str,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
        per_address: u32,
    ) -> StorageResult<Vec<ClaimedDelivery>>;

    /// Frees the leases of deliveries that a previous run of this server claimed and never
    /// finished (it was killed); returns how many were freed. SQLite serves one Tocsin instance,
    /// so every lease at start-up is abandoned. On PostgreSQL a lease may be another instance's,
    /// in flight: none is freed, and an abandoned one is taken over when it expires.
    async fn release_abandoned_leases(&self) -> StorageResult<u64>;

    /// Gives back leased deliveries unsent (their batch stopped at a failure) and frees `url`.
    async fn release_deliveries(&self, url: &str, ids: &[i64], owner: &str) -> StorageResult<()>;

    /// Gives back every delivery `owner` still holds leased, and frees their addresses: its
    /// worker panicked and dropped them mid-way. Returns how many were given back.
    async fn release_owner_leases(&self, owner: &str) -> StorageResult<u64>;

    /// Records an attempt; false when the lease was lost meanwhile (nothing is written then).
    async fn record_delivery_attempt(
        &self,
        delivery: &ClaimedDelivery,
        owner: &str,
        outcome: &DeliveryOutcome,
    ) -> StorageResult<bool>;

    /// The most recent deliveries of a connection's incidents, newest first, with their attempts.
    async fn connection_deliveries(&self, connection: &ConnectionName, limit: u32) -> StorageResult<Vec<Delivery>>;

    /// An incident's deliveries, newest first, with their attempts.
    async fn incident_deliveries(&self, incident_id: &str) -> StorageResult<Vec<Delivery>>;

    /// Makes a failed or skipped delivery due at once; false when there is none to retry.
    async fn retry_delivery(&self, id: i64, now: Timestamp) -> StorageResult<bool>;

    /// Re-enables the address of a delivery; false when it was not disabled.
    async fn enable_delivery_address(&self, id: i64) -> StorageResult<bool>;

    /// Wakes `wake` whenever a change that queued deliveries commits on another instance sharing
    /// this database, until `stop` is cancelled; polling covers any wake-up lost meanwhile. A
    /// backend that serves one instance has nothing to relay.
    async fn relay_wake_ups(&self, wake: Arc<tokio::sync::Notify>, stop: tokio_util::sync::CancellationToken) {
        let _ = (wake, stop);
    }
}

/// Users, sessions and API tokens.
#[async_trait]
pub trait AccessStore: Send + Sync + 'static {
    /// Adds a user; [`StorageError::Conflict`] if the name is taken.
    async fn create_user(&self, name: &UserName, password_hash: &str, now: Timestamp) -> StorageResult<()>;

    /// The user's id and password hash, if the user exists.
    async fn user_password(&self, name: &UserName) -> StorageResult<Option<(i64, String)>>;

    async fn user_count(&self) -> StorageResult<u64>;

    /// Starts a session for `user_id`, ending the session `replaces` (the one the browser held
    /// before signing in) in the same transaction.
    async fn create_session(
        &self,
        id_hash: &[u8],
        user_id: i64,
        expires_at: Timestamp,
        replaces: Option<&[u8]>,
        now: Timestamp,
    ) -> StorageResult<()>;

    /// The user a live session belongs to.
    async fn session_user(&self, id_hash: &[u8], now: Timestamp) -> StorageResult<Option<UserName>>;

    async fn delete_session(&self, id_hash: &[u8]) -> StorageResult<()>;

    async fn create_api_token(
        &self,
        name: &TokenName,
        hash: &[u8],
        hint: &str,
        now: Timestamp,
    ) -> StorageResult<ApiToken>;

    /// Every API token, revoked ones included, newest first.
    async fn api_tokens(&self) -> StorageResult<Vec<ApiToken>>;

    /// Returns false when there is no such token, or it was revoked already.
    async fn revoke_api_token(&self, id: i64, now: Timestamp) -> StorageResult<bool>;

    /// Whether a token with this hash exists and is not revoked.
    async fn api_token_valid(&self, hash: &[u8]) -> StorageResult<bool>;

    /// Records a failed sign-in from `address`, and forgets every failure (of any address) from
    /// before `forget_before`.
    async fn record_sign_in_failure(
        &self,
        address: &str,
        now: Timestamp,
        forget_before: Timestamp,
    ) -> StorageResult<()>;

    /// When `address` failed to sign in since `since`, oldest first.
    async fn sign_in_failures(&self, address: &str, since: Timestamp) -> StorageResult<Vec<Timestamp>>;

    /// Forgets the failed sign-ins of `address` (it signed in).
    async fn forget_sign_in_failures(&self, address: &str) -> StorageResult<()>;
}

/// What storing a batch of check results did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    /// Results stored (those sent again with a known `result_id` are not).
    pub accepted: u32,
    /// Results skipped because their `result_id` was already stored.
    pub duplicates: u32,
    /// The ids of the incidents the batch opened.
    pub opened: Vec<String>,
    /// How many incidents that existed before the batch took new issues.
    pub updated: u32,
    /// How many notifications the opened incidents queued.
    pub deliveries: u32,
}

/// What writing a filtered notification did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterWrite {
    Done,
    /// The connection does not exist.
    OwnerNotFound,
    /// No filter has the name to update or delete.
    FilterNotFound,
    /// Another filter of the same owner has the name.
    NameTaken,
}

/// What a status change did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StatusUpdate {
    NotFound,
    /// The incident already had that status: nothing was written.
    Unchanged,
    /// The change, and how many notifications it queued.
    Changed(StatusChange, u32),
}

/// A delivery a worker has leased, ready to send.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedDelivery {
    pub id: i64,
    pub webhook_id: String,
    pub url: String,
    pub format: Format,
    pub payload: String,
    /// 1 for the first attempt.
    pub attempt: u32,
}

/// What happens to a delivery after an attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NextStep {
    Delivered,
    RetryAt(Timestamp),
    GiveUp,
}

/// The record of one attempt and its consequences.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryOutcome {
    pub started_at: Timestamp,
    pub finished_at: Timestamp,
    pub duration_ms: u32,
    pub http_status: Option<u16>,
    pub next: NextStep,
    /// Why it failed, in words that never contain the URL.
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
    /// The receiver said the webhook is gone: disable the address, for this reason.
    pub disable_address: Option<String>,
    /// No request to this address before then (Slack's pace).
    pub paced_until: Option<Timestamp>,
    /// The address is free once this is recorded (the last delivery of its batch).
    pub release_address: bool,
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

fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// Opens the storage a database URL names (`sqlite:` or `postgres:`), creating and migrating it
/// as needed. An error names the database without its password.
pub async fn open(database_url: &str, vault: Vault) -> anyhow::Result<Arc<dyn Storage>> {
    use anyhow::Context as _;
    if database_url.starts_with("sqlite:") {
        let storage = SqliteStorage::open(database_url, vault)
            .await
            .with_context(|| format!("could not open the SQLite database {database_url}"))?;
        Ok(Arc::new(storage))
    } else if is_postgres_url(database_url) {
        let storage = PostgresStorage::open(database_url, vault)
            .await
            .with_context(|| format!("could not open the PostgreSQL database {}", redacted_url(database_url)))?;
        Ok(Arc::new(storage))
    } else {
        anyhow::bail!(
            "unsupported database URL {:?}: Tocsin supports sqlite: and postgres: URLs",
            redacted_url(database_url)
        )
    }
}

pub fn is_postgres_url(database_url: &str) -> bool {
    database_url.starts_with("postgres:") || database_url.starts_with("postgresql:")
}

/// The URL with its password (given before the host, or as the `password` parameter) replaced
/// by `***`, fit for logs and error messages.
pub fn redacted_url(database_url: &str) -> String {
    let Ok(mut url) = url::Url::parse(database_url) else {
        return "(an address that does not parse)".to_owned();
    };
    if url.password().is_some() {
        let _ = url.set_password(Some("***"));
    }
    if url.query_pairs().any(|(name, _)| name == "password") {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(name, value)| {
                let value = if name == "password" { "***".to_owned() } else { value.into_owned() };
                (name.into_owned(), value)
            })
            .collect();
        url.query_pairs_mut().clear().extend_pairs(pairs);
    }
    url.to_string()
}

#[cfg(test)]
mod tests {
    use super::redacted_url;

    #[test]
    fn a_database_url_is_shown_without_its_password() {
        assert_eq!(redacted_url("postgres://tocsin:hunter2@db:5432/tocsin"), "postgres://tocsin:***@db:5432/tocsin");
        assert_eq!(
            redacted_url("postgres://db/tocsin?user=tocsin&password=hunter2&sslmode=require"),
            "postgres://db/tocsin?user=tocsin&password=***&sslmode=require"
        );
        assert_eq!(redacted_url("postgres://tocsin@db/tocsin"), "postgres://tocsin@db/tocsin");
        assert_eq!(redacted_url("sqlite://data/tocsin.db"), "sqlite://data/tocsin.db");
    }
}
