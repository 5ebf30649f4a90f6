//! Logging: human-readable lines on standard error, filtered by `RUST_LOG` (default `info`).

use tracing_subscriber::{EnvFilter, fmt};

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
}
