//! The crash test: the real `tocsin` binary is killed with SIGKILL again and again while it
//! delivers, and restarted. Every delivery must arrive at least once; duplicates may only come
//! from requests that were in flight at a kill (at most one per address).

use axum::{Router, body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post};
use std::{
    collections::HashMap,
    net::TcpListener as StdListener,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

const ADDRESSES: [&str; 3] = ["/a", "/b", "/c"];

#[derive(Default)]
struct Seen {
    /// webhook-id → how many times it arrived.
    ids: HashMap<String, u32>,
}

async fn receive(
    State(seen): State<Arc<Mutex<Seen>>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    _body: Bytes,
) -> (StatusCode, &'static str) {
    // The third address fails a fifth of the time.
    if uri.path() == "/c" && fastrand::u8(0..5) == 0 {
        return (StatusCode::INTERNAL_SERVER_ERROR, "flaky");
    }
    // A little latency keeps requests in flight when the server is killed.
    tokio::time::sleep(Duration::from_millis(fastrand::u64(1..8))).await;
    let id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    *seen.lock().unwrap().ids.entry(id).or_default() += 1;
    (StatusCode::OK, "ok")
}

struct Server {
    child: Child,
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn start(port: u16, database_url: &str) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .env_clear()
        .env("TOCSIN_LISTEN", format!("127.0.0.1:{port}"))
        .env("TOCSIN_DATABASE_URL", database_url)
        .env("TOCSIN_ALLOW_HTTP", "true")
        .env("TOCSIN_ALLOW_SUBNETS", "127.0.0.0/8")
        .env("TOCSIN_RETRY_SCHEDULE", "20ms,50ms,100ms,200ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms,300ms")
        .env("TOCSIN_THROTTLE_DELAY", "50ms")
        .env("TOCSIN_POLL_INTERVAL", "20ms")
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Server { child }
}

impl Server {
    /// Stops the server: SIGKILL (a crash), or SIGTERM (a graceful stop).
    fn stop(mut self, graceful: bool) {
        if graceful {
            let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
            assert!(status.success());
        } else {
            self.child.kill().unwrap();
        }
        self.child.wait().unwrap();
    }
}

async fn wait_until_up(client: &reqwest::Client, origin: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while client.get(format!("{origin}/sources")).send().await.is_err() {
        assert!(Instant::now() < deadline, "tocsin did not start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Sends a request until it gets an answer (the server may be down for a moment).
async fn send(request: impl Fn() -> reqwest::RequestBuilder) -> reqwest::Response {
    for _ in 0..200 {
        if let Ok(response) = request().send().await {
            return response;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the server never answered");
}

fn check_result(table: &str, id: &str) -> serde_json::Value {
    let executed_at = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    serde_json::json!({
        "schema": "public", "table": table, "check_name": "daily_nulls_percent", "check_category": "nulls",
        "check_type": "monitoring", "quality_dimension": "Completeness", "severity": 2,
        "executed_at": executed_at, "result_id": id
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_again_and_again_tocsin_loses_no_delivery_and_duplicates_only_what_was_in_flight() {
    let (stops, duplicates) = restarts_under_load(false).await;
    assert!(
        duplicates <= stops * ADDRESSES.len() as u32,
        "{duplicates} duplicates after {stops} kills: more than one in flight per address"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopped_gracefully_again_and_again_tocsin_sends_no_duplicate() {
    let (stops, duplicates) = restarts_under_load(true).await;
    assert_eq!(duplicates, 0, "{duplicates} duplicates after {stops} graceful restarts");
}

/// Drives 300 transitions while stopping and restarting the server at least five times; checks
/// that every delivery arrived, and returns the number of stops and of duplicate arrivals.
async fn restarts_under_load(graceful: bool) -> (u32, u32) {
    let began = Instant::now();
    let seen = Arc::new(Mutex::new(Seen::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver = format!("http://127.0.0.1:{}", listener.local_addr().unwrap().port());
    let app = Router::new().route("/{*path}", post(receive)).with_state(seen.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir().unwrap();
    let database_url = format!("sqlite://{}", dir.path().join("crash.db").display());
    let port = free_port();
    let origin = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let mut server = start(port, &database_url);
    wait_until_up(&client, &origin).await;

    let form = [("form[name]", "crash"), ("form[provider_type]", "sqlite")];
    send(|| client.post(format!("{origin}/rpc/create_connection")).header("accept", "application/json").form(&form))
        .await;
    let [a, b, c] = ADDRESSES.map(|path| format!("{receiver}{path}"));
    let settings = [
        ("connection", "crash"),
        ("form[grouping_level]", "table"),
        ("form[minimum_severity]", "warning"),
        ("form[max_incident_length_days]", "60"),
        ("form[mute_for_days]", "60"),
        ("form[enabled]", "on"),
        ("form[incident_opened_addresses]", a.as_str()),
        ("form[incident_acknowledged_addresses]", b.as_str()),
        ("form[incident_resolved_addresses]", c.as_str()),
        ("form[incident_muted_addresses]", ""),
    ];
    let saved = send(|| {
        client.post(format!("{origin}/rpc/save_incident_settings")).header("accept", "application/json").form(&settings)
    })
    .await;
    assert_eq!(saved.text().await.unwrap(), "\"Saved\"");

    // 100 incidents open (10 batches), then each is acknowledged, then resolved: 300 transitions.
    let mut kills = 0;
    let mut step = 0;
    let mut incidents: Vec<String> = Vec::new();
    for batch in 0..10 {
        let results: Vec<_> =
            (0..10).map(|n| check_result(&format!("t{batch}_{n}"), &format!("r{batch}_{n}"))).collect();
        let body = serde_json::Value::Array(results);
        let response = send(|| client.post(format!("{origin}/api/connections/crash/checkresults")).json(&body)).await;
        assert!(response.status().is_success());
        step += 1;
        if step % 3 == 0 {
            tokio::time::sleep(Duration::from_millis(fastrand::u64(5..40))).await;
            server.stop(graceful);
            kills += 1;
            server = start(port, &database_url);
            wait_until_up(&client, &origin).await;
        }
    }
    let list = send(|| client.get(format!("{origin}/api/incidents/crash?limit=1000"))).await;
    for incident in list.json::<Vec<serde_json::Value>>().await.unwrap() {
        incidents.push(format!(
            "{origin}/api/incidents/crash/{}/{}/{}",
            incident["year"],
            incident["month"],
            incident["incidentId"].as_str().unwrap()
        ));
    }
    assert_eq!(incidents.len(), 100);
    for status in ["acknowledged", "resolved"] {
        for (index, incident) in incidents.iter().enumerate() {
            let response = send(|| client.post(format!("{incident}/status?status={status}"))).await;
            assert_eq!(response.status(), 204);
            if index % 35 == 34 {
                tokio::time::sleep(Duration::from_millis(fastrand::u64(5..40))).await;
                server.stop(graceful);
                kills += 1;
                server = start(port, &database_url);
                wait_until_up(&client, &origin).await;
            }
        }
    }
    assert!(kills >= 5, "killed {kills} times");
    eprintln!("transitions done after {:?}", began.elapsed());

    // Let the last instance finish, then compare what was queued with what arrived.
    let pool = sqlx::SqlitePool::connect(&database_url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE state != 'delivered'")
            .fetch_one(&pool)
            .await
            .unwrap();
        if pending == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{pending} deliveries still not delivered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("delivered after {:?}", began.elapsed());
    server.stop(false);
    let transitions: i64 =
        sqlx::query_scalar("SELECT count(*) FROM incident_status_changes").fetch_one(&pool).await.unwrap();
    assert_eq!(transitions, 300);
    let ids: Vec<String> = sqlx::query_scalar("SELECT webhook_id FROM deliveries").fetch_all(&pool).await.unwrap();
    assert_eq!(ids.len(), 300, "one delivery per transition");
    let seen = seen.lock().unwrap();
    let missing: Vec<&String> = ids.iter().filter(|id| !seen.ids.contains_key(*id)).collect();
    assert!(missing.is_empty(), "{} deliveries never arrived", missing.len());
    let duplicates: u32 = seen.ids.values().map(|n| n - 1).sum();
    eprintln!("{} deliveries arrived after {kills} stops, {duplicates} of them twice", ids.len());
    (kills, duplicates)
}
