//! The Tocsin server: builds the application from its configuration and serves it until stopped.
//! `main` stays thin so that tests start exactly what production runs.
#![forbid(unsafe_code)]

pub mod admin;
pub mod api;
pub mod auth;
pub mod config;
pub mod demo;
pub mod security;
pub mod telemetry;

use anyhow::Context as _;
use app::{
    App,
    delivery::{DeliveryWorker, Outbound, Timeouts},
    notifications::{Links, NotifyContext},
    service::{AccessService, ConnectionService, IncidentService, NotificationService, system_clock},
    shell,
    state::AppState,
};
use axum::{
    Router,
    middleware::{from_fn, from_fn_with_state},
    response::Redirect,
    routing::{get, post},
    serve::ListenerExt,
};
use config::{BaseUrl, Config};
use leptos::config::{Env, LeptosOptions};
use leptos_axum::{AxumRouteListing, LeptosRoutes, generate_route_list};
use std::{
    future::Future,
    net::SocketAddr,
    sync::{Arc, LazyLock},
    time::Duration,
};
use tokio::{net::TcpListener, sync::Notify};
use tokio_util::sync::CancellationToken;
use tower_http::{compression::CompressionLayer, trace::TraceLayer};

/// A configured Tocsin, bound to its port and ready to serve.
pub struct Application {
    listener: TcpListener,
    router: Router,
    base_url: BaseUrl,
    worker: DeliveryWorker,
    /// How long shutdown waits for requests to webhooks that are in flight.
    drain: Duration,
}

impl Application {
    /// Opens (and migrates) the database and binds the listen address.
    pub async fn build(config: &Config) -> anyhow::Result<Self> {
        let storage = open_storage(config).await?;
        if config.secret_key.is_none() {
            tracing::warn!(
                "TOCSIN_SECRET_KEY is not set: webhook URLs are stored in plain text in the database; \
                 set it to encrypt them (`tocsin generate-key` prints a key)"
            );
        }
        let access = AccessService::new(storage.clone(), system_clock(), config.auth);
        if config.auth && access.user_count().await.map_err(|error| anyhow::anyhow!("{error:#}"))? == 0 {
            tracing::warn!("sign-in is on (TOCSIN_AUTH) but no user exists yet: add one with `tocsin user add NAME`");
        }
        let listener =
            TcpListener::bind(config.listen).await.with_context(|| format!("could not listen on {}", config.listen))?;
        let address = listener.local_addr().context("could not read the bound address")?;
        let site_root = config.site_root.to_string_lossy().into_owned();
        let leptos_options = LeptosOptions::builder()
            .output_name("tocsin")
            .site_root(site_root)
            .site_pkg_dir("pkg")
            .site_addr(address)
            .env(Env::PROD)
            .build();
        let base_url = config.effective_base_url(address);
        let wake = Arc::new(Notify::new());
        let outbound = outbound(config)?;
        let worker =
            DeliveryWorker::new(storage.clone(), outbound.clone(), config.delivery(), system_clock(), wake.clone());
        let notify = notify_context(config, &base_url);
        let state = AppState {
            leptos_options,
            connections: ConnectionService::new(storage.clone()),
            incidents: IncidentService::new(storage.clone(), notify.clone(), wake.clone()),
            notifications: NotificationService::new(storage, outbound, notify, wake),
            access,
        };
        let drain = config.request_timeout + config.connect_timeout;
        let protection = Protection {
            sign_in: config.auth,
            secure_cookies: base_url.as_str().starts_with("https:"),
            http_timeout: config.http_timeout,
        };
        Ok(Self { listener, router: router(state, &protection), base_url, worker, drain })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn base_url(&self) -> &BaseUrl {
        &self.base_url
    }

    /// Serves, and delivers notifications, until `shutdown` completes; then lets in-flight
    /// requests finish, webhooks included (bounded by their timeouts).
    pub async fn run_until(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let stop = CancellationToken::new();
        let worker = tokio::spawn(self.worker.run(stop.clone()));
        // Without TCP_NODELAY, a response written in two parts waits for the client's delayed
        // ACK (40 ms on Linux) before its second part leaves.
        let listener = self.listener.tap_io(|stream| {
            if let Err(error) = stream.set_nodelay(true) {
                tracing::debug!(%error, "could not set TCP_NODELAY");
            }
        });
        // The client's address is what failed sign-ins are counted by.
        let service = self.router.into_make_service_with_connect_info::<SocketAddr>();
        let served =
            axum::serve(listener, service).with_graceful_shutdown(shutdown).await.context("the HTTP server failed");
        stop.cancel();
        if tokio::time::timeout(self.drain, worker).await.is_err() {
            tracing::warn!("webhook requests were still in flight at shutdown; they will be retried");
        }
        served
    }
}

/// The outbound HTTP client, with the configured policy and timeouts.
fn outbound(config: &Config) -> anyhow::Result<Outbound> {
    let timeouts = Timeouts { connect: config.connect_timeout, request: config.request_timeout };
    Outbound::new(config.outbound_policy(), timeouts).context("could not build the HTTP client for webhooks")
}

fn notify_context(config: &Config, base_url: &BaseUrl) -> NotifyContext {
    NotifyContext { links: Links { base_url: base_url.to_string() }, slack_hosts: config.slack_hosts.clone() }
}

/// The configured database, with webhook URLs sealed by the secret key when one is set.
pub async fn open_storage(config: &Config) -> anyhow::Result<Arc<dyn app::storage::Storage>> {
    let vault = app::storage::Vault::new(config.secret_key.as_ref().map(app::crypto::Sealer::new));
    app::storage::open(&config.database_url, vault).await
}

/// `tocsin demo`: seeds the configured database with the sample connection.
pub async fn run_demo(config: &Config) -> anyhow::Result<String> {
    let storage = open_storage(config).await?;
    // The demo only queues notifications; the running server's worker sends them.
    let notify = notify_context(config, &config.effective_base_url(config.listen));
    let incidents = IncidentService::new(storage.clone(), notify, Arc::new(Notify::new()));
    demo::run(&ConnectionService::new(storage), &incidents).await
}

/// Which protections the router applies beyond those every deployment gets.
#[derive(Clone, Debug)]
pub struct Protection {
    /// Sign-in required for pages and server functions, a token for the REST API.
    pub sign_in: bool,
    pub secure_cookies: bool,
    pub http_timeout: Duration,
}

/// Every route: the pages and their server functions, the assets, `/` → `/sources`, sign-in and
/// sign-out; behind (when on) sign-in and the [`guard`] every request passes.
pub fn router(state: AppState, protection: &Protection) -> Router {
    let options = state.leptos_options.clone();
    let gate = auth::Gate::new(state.access.clone(), protection.secure_cookies);
    let sign_in = Router::new()
        .route(app::paths::SIGN_IN, post(auth::sign_in))
        .route(app::paths::SIGN_OUT, post(auth::sign_out))
        .with_state(gate.clone());
    let mut router = Router::new()
        .route("/", get(|| async { Redirect::to(app::paths::SOURCES) }))
        .merge(api::router())
        .leptos_routes(&state, page_routes(), move || shell(options.clone()))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .with_state(state)
        .merge(sign_in);
    if protection.sign_in {
        router = router.layer(from_fn_with_state(gate, auth::require_sign_in));
    }
    guard(router, protection.http_timeout)
}

/// The layers every request passes, whatever its route: the body limit, the same-origin check,
/// the time limit, the answer to a panic, the security headers, compression and tracing.
pub fn guard(routes: Router, http_timeout: Duration) -> Router {
    routes
        .layer(from_fn(security::limit_body))
        .layer(from_fn(security::same_origin))
        .layer(from_fn_with_state(http_timeout, security::time_limit))
        .layer(from_fn(security::recover_panic))
        .layer(from_fn(security::security_headers))
        .layer(CompressionLayer::new())
        .layer(TraceLayer::new_for_http())
}

/// The pages' routes, generated once per process and before any page can be served.
///
/// Generating them renders the app once with resource loading suppressed by a process-wide flag
/// (leptos_server's `SuppressResourceLoad`). A resource first polled while the flag is up waits
/// forever (leptos-rs/leptos#4773), so a page rendered by any server of the process during a
/// second generation would never answer. Generated once, the list can never overlap a render.
pub fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: LazyLock<Vec<AxumRouteListing>> = LazyLock::new(|| generate_route_list(App));
    ROUTES.clone()
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "could not listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "could not listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
