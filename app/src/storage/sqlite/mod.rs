//! The SQLite backend: one file, WAL mode, foreign keys on, a busy timeout, migrations embedded.

mod access;
mod connections;
mod deliveries;
mod filters;
mod group;
mod incidents;
mod sealing;
mod writes;

use super::{Storage, StorageError, StorageResult, Vault};
use async_trait::async_trait;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};
use std::{str::FromStr, time::Duration};

/// Reads share a pool; writes go through one connection, so that writers queue in order inside
/// Tocsin instead of contending for SQLite's lock (and timing out under load).
#[derive(Clone, Debug)]
pub struct SqliteStorage {
    pub(super) pool: SqlitePool,
    writer: SqlitePool,
    /// Status changes, committed in groups (see `group`).
    status_jobs: tokio::sync::mpsc::Sender<group::StatusJob>,
    /// Seals webhook addresses at rest when a key is set.
    vault: Vault,
}

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

#[async_trait]
impl Storage for SqliteStorage {
    async fn ping(&self) -> StorageResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
