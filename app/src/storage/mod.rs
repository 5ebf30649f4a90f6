//! Persistence behind a narrow interface. SQL lives only in this module's backends; services and
//! pages see [`Storage`] and domain types. Each backend keeps its own migrations folder.

mod sqlite;

pub use sqlite::SqliteStorage;

use crate::domain::{Connection, ConnectionName, Description, IncidentGrouping, NewConnection};
use async_trait::async_trait;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A row with the same unique key exists.
    #[error("already exists")]
    Conflict,
    /// A stored value no longer parses as its domain type (for example, the file was edited by hand).
    #[error("stored {column} is invalid: {reason}")]
    Corrupt {
        column: &'static str,
        reason: String,
    },
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migration(#[from] sqlx::migrate::MigrateError),
}

pub type StorageResult<T> = Result<T, StorageError>;

/// Everything Tocsin stores. One implementation per database backend.
#[async_trait]
pub trait Storage: Send + Sync + 'static {
    async fn list_connections(&self) -> StorageResult<Vec<Connection>>;

    async fn find_connection(&self, name: &ConnectionName) -> StorageResult<Option<Connection>>;

    /// Inserts a connection with its initial incident settings; [`StorageError::Conflict`] if the name is taken.
    async fn create_connection(
        &self,
        new: &NewConnection,
        grouping: &IncidentGrouping,
    ) -> StorageResult<Connection>;

    /// Returns false when the connection does not exist.
    async fn update_description(
        &self,
        name: &ConnectionName,
        description: &Description,
    ) -> StorageResult<bool>;

    async fn incident_grouping(
        &self,
        name: &ConnectionName,
    ) -> StorageResult<Option<IncidentGrouping>>;

    /// Replaces the connection's incident settings as a whole. Returns false when the connection does not exist.
    async fn save_incident_grouping(
        &self,
        name: &ConnectionName,
        grouping: &IncidentGrouping,
    ) -> StorageResult<bool>;
}

/// Opens the storage a database URL names, creating and migrating it as needed.
pub async fn open(database_url: &str) -> anyhow::Result<Arc<dyn Storage>> {
    use anyhow::Context as _;
    if database_url.starts_with("sqlite:") {
        let storage = SqliteStorage::open(database_url)
            .await
            .with_context(|| format!("could not open the SQLite database {database_url}"))?;
        Ok(Arc::new(storage))
    } else {
        anyhow::bail!("unsupported database URL {database_url:?}: Tocsin supports sqlite: URLs")
    }
}
