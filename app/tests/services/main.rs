//! The services and their SQLite storage, on a real database file, a fresh one per test.

mod connections;
mod delivery;
mod incidents;
mod receiver;

use app::{
    domain::{ConnectionName, Timestamp},
    notifications::{Links, NotifyContext},
    service::{Clock, ConnectionService, IncidentService},
    storage::{self, Storage},
};
use std::sync::{
    Arc, Mutex,
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
        storage::open(&self.url(), Default::default()).await.unwrap()
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

    pub fn clock(&self) -> Clock {
        let clock = self.0.clone();
        Arc::new(move || Timestamp::from_millis(clock.load(Ordering::SeqCst)))
    }

    pub fn service(&self, storage: Arc<dyn Storage>) -> IncidentService {
        IncidentService::new(storage, notify_context(), Default::default()).with_clock(self.clock())
    }

    pub fn advance(&self, by: std::time::Duration) {
        self.0.fetch_add(by.as_millis() as i64, Ordering::SeqCst);
    }

    pub fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::SeqCst))
    }
}

/// Links under http://tocsin.test/, and Slack messages for the host `localhost` (the fake Slack).
pub fn notify_context() -> NotifyContext {
    NotifyContext { links: Links { base_url: "http://tocsin.test/".into() }, slack_hosts: vec!["localhost".into()] }
}

pub fn name(text: &str) -> ConnectionName {
    ConnectionName::parse(text).unwrap()
}

/// Log lines written on this thread while it lives: tests run on a single-threaded runtime, so
/// the worker's tasks write here too.
pub struct Logs {
    lines: Arc<Mutex<Vec<u8>>>,
    _guard: tracing::subscriber::DefaultGuard,
}

#[derive(Clone)]
struct SharedBuffer(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for SharedBuffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Logs {
    pub fn capture() -> Self {
        let lines = Arc::new(Mutex::new(Vec::new()));
        let buffer = SharedBuffer(lines.clone());
        let subscriber = tracing_subscriber::fmt()
            .with_ansi(false)
            .with_max_level(tracing::Level::INFO)
            .with_writer(move || buffer.clone())
            .finish();
        Self { lines, _guard: tracing::subscriber::set_default(subscriber) }
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.lines.lock().unwrap()).into_owned()
    }
}
