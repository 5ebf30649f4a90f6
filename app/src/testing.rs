//! Support for Tocsin's own test suites, not for use in production: a fresh database for each
//! test, on the backend the run asks for. With `TOCSIN_TEST_DATABASE_URL` set to a PostgreSQL
//! server (any database on it that the user may connect to, and a user that may create
//! databases), each test gets a new database of its own there; without it, a new SQLite file.

use sqlx::{Connection as _, Executor as _};
use std::path::Path;

/// The variable that names the PostgreSQL server the tests use.
pub const SERVER_VARIABLE: &str = "TOCSIN_TEST_DATABASE_URL";

/// The PostgreSQL server the tests use, when the run asks for one.
pub fn postgres_server() -> Option<String> {
    std::env::var(SERVER_VARIABLE).ok().filter(|url| !url.is_empty())
}

/// A new, empty database: on the PostgreSQL server when the run names one, else the SQLite file
/// `sqlite_file` (created when first opened).
pub fn fresh_database_url(sqlite_file: &Path) -> String {
    match postgres_server() {
        Some(server) => fresh_postgres_database(&server),
        None => format!("sqlite://{}", sqlite_file.display()),
    }
}

/// Creates a database with a new name on `server` and returns its URL. Runs on a thread of its
/// own, so that callers inside or outside a runtime may use it alike.
pub fn fresh_postgres_database(server: &str) -> String {
    let name = format!("tocsin_test_{}", uuid::Uuid::new_v4().simple());
    let mut url = url::Url::parse(server).unwrap_or_else(|error| panic!("{SERVER_VARIABLE} does not parse: {error}"));
    let admin = url.to_string();
    let create = format!("CREATE DATABASE {name}");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(async {
            let mut conn = sqlx::PgConnection::connect(&admin).await?;
            conn.execute(create.as_str()).await?;
            conn.close().await
        })
    })
    .join()
    .expect("the thread creating a test database")
    .unwrap_or_else(|error| panic!("could not create a test database on {SERVER_VARIABLE}: {error}"));
    url.set_path(&name);
    url.to_string()
}
