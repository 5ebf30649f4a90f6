//! The PostgreSQL backend, for teams that run several Tocsin instances on one database: a pool
//! of connections, migrations embedded (applied under PostgreSQL's advisory lock, so instances
//! may start together), and writes that lock only the rows they change, so that any instance
//! may ingest, triage and send any notification.
//!
//! Locking, in the order a transaction takes it (so that no two wait on each other in a circle):
//! an ingest locks its connection's row (`FOR NO KEY UPDATE`: ingests of one connection queue,
//! while status changes and deliveries, which only refer to the row, do not), then the incidents
//! it may join; a status change locks its incident; an address's row in `webhook_endpoints` is
//! locked by the one claim that leases it (`FOR UPDATE SKIP LOCKED`), and addresses are added in
//! sorted order.

mod access;
mod connections;
mod deliveries;
mod filters;
mod incidents;
mod sealing;
mod writes;

use super::{Storage, StorageResult, Vault};
use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use std::{str::FromStr, time::Duration};

/// The channel on which a committed change that queued deliveries wakes every instance's workers.
const OUTBOX_CHANNEL: &str = "tocsin_outbox";

/// How long a request waits for a free connection, or for the server to answer a new one.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections per instance: enough for the worker, ingest and the pages at once.
const MAX_CONNECTIONS: u32 = 16;

#[derive(Clone, Debug)]
pub struct PostgresStorage {
    pub(super) pool: PgPool,
    /// Seals webhook addresses at rest when a key is set.
    vault: Vault,
}

impl PostgresStorage {
    /// Connects to and migrates the database at `url`.
    pub async fn open(url: &str, vault: Vault) -> StorageResult<Self> {
        let options = PgConnectOptions::from_str(url)?.application_name("tocsin");
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        sqlx::migrate!("../migrations/postgres").run(&pool).await?;
        sealing::check_or_seal(&pool, &vault).await?;
        Ok(Self { pool, vault })
    }
}

#[async_trait]
impl Storage for PostgresStorage {
    async fn ping(&self) -> StorageResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }
}
