//! The services and their storage, on a real database, a fresh one per test: a SQLite file, or
//! with `TOCSIN_TEST_DATABASE_URL` a database of its own on that PostgreSQL server.

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
    url: String,
}

impl Default for TestDb {
    fn default() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = app::testing::fresh_database_url(&dir.path().join("nested/folder/tocsin.db"));
        Self { dir, url }
    }
}

impl TestDb {
    pub fn new() -> Self {
        Self::default()
    }

    /// A SQLite file, whatever the run's backend: for what only SQLite does.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("nested/folder/tocsin.db").display());
        Self { dir, url }
    }

    pub fn url(&self) -> String {
        self.url.clone()
    }

    pub fn is_postgres(&self) -> bool {
        app::storage::is_postgres_url(&self.url)
    }

    /// A pool of connections of its own to the test's database, to read or change it behind
    /// the services' back.
    pub async fn raw(&self) -> sqlx::AnyPool {
        sqlx::any::install_default_drivers();
        sqlx::AnyPool::connect(&self.url).await.unwrap()
    }

    /// Makes the database refuse to record a transition while `condition` (SQL that both
    /// backends read alike, on the transition `NEW`) holds, with a trigger called `name`: a test
    /// then sees what a statement failing inside a transaction undoes.
    pub async fn refuse_transitions_when(&self, name: &str, condition: &str) {
        let pool = self.raw().await;
        let statements = if self.is_postgres() {
            vec![
                format!(
                    "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS \
                     $$ BEGIN IF {condition} THEN RAISE EXCEPTION 'refused'; END IF; RETURN NEW; END $$"
                ),
                format!(
                    "CREATE TRIGGER {name} BEFORE INSERT ON incident_status_changes FOR EACH ROW \
                     EXECUTE FUNCTION {name}()"
                ),
            ]
        } else {
            vec![format!(
                "CREATE TRIGGER {name} BEFORE INSERT ON incident_status_changes WHEN {condition} \
                 BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )]
        };
        for statement in statements {
            sqlx::query(&statement).execute(&pool).await.unwrap();
        }
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
