//! Server-side request forgery and secret leaks, end to end.

use crate::{TestApp, spawn_app};
use axum::{Router, http::StatusCode, routing::post};
use std::{
    io::Read,
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

/// A listener that only counts the connections it is offered.
async fn canary() -> (u16, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(socket);
        }
    });
    (port, connections)
}

fn hostile(canary_port: u16) -> Vec<String> {
    let mut urls: Vec<String> = include_str!("../../../app/tests/data/hostile-urls.txt")
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect();
    urls.extend([
        format!("https://127.0.0.1:{canary_port}/hook"),
        format!("http://127.0.0.1:{canary_port}/hook"),
        format!("https://[::ffff:127.0.0.1]:{canary_port}/hook"),
        format!("https://2130706433:{canary_port}/hook"),
    ]);
    urls
}

impl TestApp {
    async fn save_opened(&self, url: &str) -> serde_json::Value {
        let mut form = crate::settings_form("dwh", url);
        form.retain(|(key, _)| *key != "form[incident_opened_addresses]");
        form.push(("form[incident_opened_addresses]", url));
        self.call("save_incident_settings", &form).await
    }
}

#[tokio::test]
async fn hostile_addresses_are_refused_when_saving_and_when_testing_and_never_contacted() {
    let (port, canary) = canary().await;
    let app = spawn_app().await;
    app.create_connection("dwh").await;
    let urls = hostile(port);
    assert!(urls.len() >= 40);
    for url in &urls {
        let saved = app.save_opened(url).await;
        assert!(saved["Rejected"]["incident_opened_addresses"].is_string(), "{url} was saved: {saved}");
        let tested = app
            .call("send_test_message", &[("connection", "dwh"), ("status", "open"), ("addresses", url.as_str())])
            .await;
        let refused = tested.get("Invalid").is_some()
            || tested["Sent"][0]["detail"].as_str().is_some_and(|d| d.starts_with("blocked:"));
        assert!(refused, "{url} was tested: {tested}");
    }
    // A host name that resolves to loopback is refused when sending.
    let tested = app
        .call(
            "send_test_message",
            &[("connection", "dwh"), ("status", "open"), ("addresses", &format!("https://localhost:{port}/x"))],
        )
        .await;
    assert_eq!(tested["Sent"][0]["delivered"], false);
    assert!(tested["Sent"][0]["detail"].as_str().unwrap().contains("resolves only to blocked addresses"), "{tested}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(canary.load(Ordering::SeqCst), 0, "the canary was contacted");
}

#[tokio::test]
async fn a_webhook_token_appears_in_no_page_api_answer_log_line_or_history_row() {
    // A receiver that always fails, so the delivery is retried and its errors recorded.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let receiver_port = listener.local_addr().unwrap().port();
    let app = Router::new().fallback(post(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "nope") }));
    tokio::spawn(async move { axum::serve(listener, app).await });

    let token = format!("XOXB{}", fastrand::u64(..));
    let url = format!("http://127.0.0.1:{receiver_port}/services/T1/B1/{token}");
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("tocsin.log");
    let database_url = format!("sqlite://{}", dir.path().join("t.db").display());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = Command::new(env!("CARGO_BIN_EXE_tocsin"))
        .env_clear()
        .env("TOCSIN_LISTEN", format!("127.0.0.1:{port}"))
        .env("TOCSIN_DATABASE_URL", &database_url)
        .env("TOCSIN_ALLOW_HTTP", "true")
        .env("TOCSIN_ALLOW_SUBNETS", "127.0.0.0/8")
        .env("TOCSIN_RETRY_SCHEDULE", "10ms,10ms,10ms")
        .env("TOCSIN_POLL_INTERVAL", "10ms")
        .env("RUST_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .unwrap();
    let origin = format!("http://127.0.0.1:{port}");
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while client.get(format!("{origin}/sources")).send().await.is_err() {
        assert!(Instant::now() < deadline);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let rpc = |function: &str| client.post(format!("{origin}/rpc/{function}")).header("accept", "application/json");
    rpc("create_connection").form(&[("form[name]", "dwh"), ("form[provider_type]", "other")]).send().await.unwrap();
    let mut settings = crate::settings_form("dwh", &url);
    settings.push(("form[enabled]", "on"));
    let saved = rpc("save_incident_settings").form(&settings).send().await.unwrap();
    assert_eq!(saved.text().await.unwrap(), "\"Saved\"");
    let executed_at = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let result = serde_json::json!([{"schema": "s", "table": "t", "check_name": "c", "check_category": "k",
        "check_type": "monitoring", "quality_dimension": "Validity", "severity": 3, "executed_at": executed_at}]);
    let ingested =
        client.post(format!("{origin}/api/connections/dwh/checkresults")).json(&result).send().await.unwrap();
    assert!(ingested.status().is_success());
    let tested = rpc("send_test_message")
        .form(&[("connection", "dwh"), ("status", "open"), ("addresses", url.as_str())])
        .send()
        .await
        .unwrap();
    let tested = tested.text().await.unwrap();

    let pool = sqlx::SqlitePool::connect(&database_url).await.unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while sqlx::query_scalar::<_, String>("SELECT state FROM deliveries").fetch_one(&pool).await.unwrap() != "failed" {
        assert!(Instant::now() < deadline, "the delivery did not fail in time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let list: serde_json::Value =
        client.get(format!("{origin}/api/incidents/dwh")).send().await.unwrap().json().await.unwrap();
    let incident = &list[0];
    let path = format!("{}/{}/{}", incident["year"], incident["month"], incident["incidentId"].as_str().unwrap());
    let mut seen = vec![tested, list.to_string()];
    for page in [
        format!("/api/incidents/dwh/{path}"),
        format!("/api/incidents/dwh/{path}/issues"),
        format!("/incidents/dwh/{path}"),
        "/incidents/dwh".to_owned(),
        "/incidents".to_owned(),
        "/sources".to_owned(),
    ] {
        seen.push(client.get(format!("{origin}{page}")).send().await.unwrap().text().await.unwrap());
    }
    let recent = rpc("recent_notifications").form(&[("connection", "dwh")]).send().await.unwrap();
    seen.push(recent.text().await.unwrap());
    let rows: Vec<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT error, response_excerpt FROM delivery_attempts").fetch_all(&pool).await.unwrap();
    assert!(rows.len() >= 3, "the attempts were recorded");
    seen.push(format!("{rows:?}"));
    let last_errors: Vec<Option<String>> =
        sqlx::query_scalar("SELECT last_error FROM deliveries").fetch_all(&pool).await.unwrap();
    seen.push(format!("{last_errors:?}"));

    child.kill().unwrap();
    child.wait().unwrap();
    let mut log = String::new();
    std::fs::File::open(&log_path).unwrap().read_to_string(&mut log).unwrap();
    assert!(log.contains("delivery attempt failed"), "the failures were logged");
    seen.push(log);
    for (index, text) in seen.iter().enumerate() {
        assert!(!text.contains(&token), "the token leaked in item {index}: {text}");
    }
}
