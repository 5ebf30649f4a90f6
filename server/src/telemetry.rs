//! Logging: human-readable lines on standard error, filtered by `RUST_LOG` (default `info`).
//! Panics are logged there too, with where they happened.

use tracing_subscriber::{EnvFilter, fmt};

pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn"));
    fmt().with_env_filter(filter).with_writer(std::io::stderr).init();
    std::panic::set_hook(Box::new(|info| {
        let location = info.location().map(ToString::to_string);
        let thread = std::thread::current().name().map(str::to_owned);
        tracing::error!(
            panic = app::panic::message(info.payload()),
            location = location.as_deref(),
            thread = thread.as_deref(),
            "panicked"
        );
    }));
}
