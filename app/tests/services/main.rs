//! The services and their SQLite storage, on a real database file, a fresh one per test.

mod connections;
mod incidents;

use app::{
    domain::{ConnectionName, Timestamp},
    service::{ConnectionService, IncidentService},
    storage::{self, Storage},
};
use std::sync::{
    Arc,
    atomic::{AtomicI64, Ordering},
};
use tempfile::TempDir;

pub struct TestDb {
    pub dir: TempDir,
}

impl Default for TestDb {
    fn default() -> Self {
        Self { dir: tempfile::tempdir().unwrap() }
    }
}

impl TestDb {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn url(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("nested/folder/tocsin.db").display())
    }

    pub async fn storage(&self) -> Arc<dyn Storage> {
        storage::open(&self.url()).await.unwrap()
    }

    pub async fn connections(&self) -> ConnectionService {
        ConnectionService::new(self.storage().await)
    }
}

/// A clock the test moves by hand.
#[derive(Clone)]
pub struct TestClock(Arc<AtomicI64>);

impl TestClock {
    pub fn at(time: Timestamp) -> Self {
        Self(Arc::new(AtomicI64::new(time.millis())))
    }

    pub fn set(&self, time: Timestamp) {
        self.0.store(time.millis(), Ordering::SeqCst);
    }

    pub fn service(&self, storage: Arc<dyn Storage>) -> IncidentService {
        let clock = self.0.clone();
        IncidentService::with_clock(storage, Arc::new(move || Timestamp::from_millis(clock.load(Ordering::SeqCst))))
    }
}

pub fn name(text: &str) -> ConnectionName {
    ConnectionName::parse(text).unwrap()
}
