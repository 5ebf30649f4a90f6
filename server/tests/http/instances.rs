//! Several `tocsin` processes on one PostgreSQL database, as a team runs them for availability:
//! any instance takes check results and triage, any instance sends any notification, and one of
//! them may be killed at any moment. These tests need PostgreSQL (`TOCSIN_TEST_DATABASE_URL`);
//! `scripts/test` runs them in its PostgreSQL pass.

use axum::{Router, body::Bytes, extract::State, http::HeaderMap, http::StatusCode, routing::post};
use std::{
    collections::HashMap,
    net::TcpListener as StdListener,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

/// Slack's pace as the instances are configured, between two requests to one Slack address.
const PACE: Duration = Duration::from_millis(300);

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
struct Arrival {
    path: String,
    webhook_id: String,
    at: Instant,
    incident: String,
    status: String,
}

#[derive(Default)]
struct Seen {
    arrivals: Vec<Arrival>,
    /// Requests being answered now, and the most ever at once, per path.
    in_flight: HashMap<String, (u32, u32)>,
}

async fn receive(
    State(seen): State<Arc<Mutex<Seen>>>,
    uri: axum::http::Uri,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let path = uri.path().to_owned();
    let at = Instant::now();
    {
        let mut seen = seen.lock().unwrap();
        let (now, most) = seen.in_flight.entry(path.clone()).or_default();
        *now += 1;
        *most = (*most).max(*now);
    }
    // A little latency keeps requests in flight when an instance is killed.
    tokio::time::sleep(Duration::from_millis(fastrand::u64(1..8))).await;
    let body: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let text = |pointer: &str| body.pointer(pointer).and_then(|v| v.as_str()).unwrap_or_default().to_owned();
    // Generic webhooks carry DQOps' JSON; Slack messages carry the incident in their metadata.
    let (incident, status) = if body.get("incident_id").is_some() {
        (text("/incident_id"), text("/status"))
    } else {
        (text("/metadata/event_payload/incident_id"), text("/metadata/event_payload/status"))
    };
    let webhook_id = headers.get("webhook-id").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let mut seen = seen.lock().unwrap();
    seen.in_flight.get_mut(&path).unwrap().0 -= 1;
    seen.arrivals.push(Arrival { path, webhook_id, at, incident, status });
    (StatusCode::OK, "ok")
}

/// A receiver on loopback; returns its origin and what it saw. The instances take addresses on
/// host `localhost` for Slack's, on 127.0.0.1 for generic webhooks.
async fn receiver() -> (u16, Arc<Mutex<Seen>>) {
    let seen = Arc::new(Mutex::new(Seen::default()));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let app = Router::new().route("/{*path}", post(receive)).with_state(seen.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (port, seen)
}

struct Instance {
    child: Child,
    port: u16,
}

impl Instance {
    fn start(port: u16, database_url: &str) -> Self {
        let child = Command::new(env!("CARGO_BIN_EXE_tocsin"))
            .env_clear()
            .env("TOCSIN_LISTEN", format!("127.0.0.1:{port}"))
            .env("TOCSIN_DATABASE_URL", database_url)
            .env("TOCSIN_ALLOW_HTTP", "true")
            .env("TOCSIN_ALLOW_SUBNETS", "127.0.0.0/8,::1/128")
            .env("TOCSIN_SLACK_HOSTS", "localhost")
            .env("TOCSIN_SLACK_PACE", format!("{}ms", PACE.as_millis()))
            .env("TOCSIN_RETRY_SCHEDULE", "20ms,50ms,100ms,200ms,300ms,300ms,300ms,300ms,300ms,300ms")
            // A short lease: a killed instance's deliveries are taken over after about 7 s.
            .env("TOCSIN_CONNECT_TIMEOUT", "1s")
            .env("TOCSIN_REQUEST_TIMEOUT", "1s")
            // Wake-ups come from the database (LISTEN); polling is only the fallback.
            .env("TOCSIN_POLL_INTERVAL", "2s")
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        Self { child, port }
    }

    fn origin(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// SIGKILL, and a new process on the same port.
    fn kill_and_restart(&mut self, database_url: &str) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        *self = Self::start(self.port, database_url);
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn wait_until_up(client: &reqwest::Client, origin: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while client.get(format!("{origin}/api/healthcheck")).send().await.is_err() {
        assert!(Instant::now() < deadline, "tocsin did not start");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// `count` instances on a fresh PostgreSQL database, up and answering.
async fn instances(count: usize) -> (String, Vec<Instance>) {
    let server = app::testing::postgres_server()
        .expect("this test needs PostgreSQL: set TOCSIN_TEST_DATABASE_URL, as scripts/test does");
    let database_url = app::testing::fresh_postgres_database(&server);
    let client = reqwest::Client::new();
    let mut started = Vec::new();
    for _ in 0..count {
        let instance = Instance::start(free_port(), &database_url);
        wait_until_up(&client, &instance.origin()).await;
        started.push(instance);
    }
    (database_url, started)
}

/// Connection `shop`, each status notifying the addresses `routes` gives it.
async fn create_connection(client: &reqwest::Client, origin: &str, routes: [(&str, String); 4]) {
    let created = client
        .post(format!("{origin}/api/connections/shop"))
        .json(&serde_json::json!({"provider_type": "postgresql"}))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.text().await.unwrap());
    let mut notification = serde_json::Map::new();
    for (status, addresses) in routes {
        notification.insert(format!("incident_{status}_addresses"), addresses.into());
    }
    let spec = serde_json::json!({"grouping_level": "table", "minimum_severity": "warning",
        "max_incident_length_days": 60, "mute_for_days": 60, "incident_notification": notification});
    let saved = client.put(format!("{origin}/api/connections/shop/incidentgrouping")).json(&spec).send().await.unwrap();
    assert_eq!(saved.status(), 204, "{}", saved.text().await.unwrap());
}

fn check_result(table: &str) -> serde_json::Value {
    let executed_at = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    serde_json::json!({
        "schema": "public", "table": table, "check_name": "daily_nulls_percent", "check_category": "nulls",
        "check_type": "monitoring", "quality_dimension": "Completeness", "severity": 2,
        "executed_at": executed_at, "result_id": format!("r-{table}")
    })
}

/// Sends a request to one live instance after another until one answers.
async fn send_to_any(
    origins: &[String],
    turn: &mut usize,
    request: impl Fn(&str) -> reqwest::RequestBuilder,
) -> reqwest::Response {
    for _ in 0..400 {
        *turn += 1;
        if let Ok(response) = request(&origins[*turn % origins.len()]).send().await {
            return response;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("no instance answered");
}

/// The incidents of `shop`, as addresses for their status changes.
async fn incident_paths(client: &reqwest::Client, origin: &str) -> Vec<String> {
    let list: Vec<serde_json::Value> =
        client.get(format!("{origin}/api/incidents/shop?limit=1000")).send().await.unwrap().json().await.unwrap();
    list.iter()
        .map(|incident| {
            let id = incident["incidentId"].as_str().unwrap();
            format!("/api/incidents/shop/{}/{}/{id}", incident["year"], incident["month"])
        })
        .collect()
}

/// Waits until every delivery in the database is delivered; returns their webhook ids.
async fn all_delivered(database_url: &str) -> Vec<String> {
    let pool = crate::raw(database_url).await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let waiting: i64 = sqlx::query_scalar("SELECT count(*) FROM deliveries WHERE state <> 'delivered'")
            .fetch_one(&pool)
            .await
            .unwrap();
        if waiting == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "{waiting} deliveries still not delivered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    sqlx::query_scalar("SELECT webhook_id FROM deliveries").fetch_all(&pool).await.unwrap()
}

/// Per incident, the statuses `path` received, in order of arrival (a repeat counted once).
fn statuses_by_incident(arrivals: &[Arrival], path: &str) -> HashMap<String, Vec<String>> {
    let mut seen_ids = std::collections::HashSet::new();
    let mut statuses: HashMap<String, Vec<String>> = HashMap::new();
    for arrival in arrivals.iter().filter(|arrival| arrival.path == path) {
        if seen_ids.insert(arrival.webhook_id.clone()) {
            statuses.entry(arrival.incident.clone()).or_default().push(arrival.status.clone());
        }
    }
    statuses
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (TOCSIN_TEST_DATABASE_URL); scripts/test runs it"]
async fn three_instances_lose_nothing_while_one_after_another_is_killed() {
    let (port, seen) = receiver().await;
    let receiver = format!("http://127.0.0.1:{port}");
    let (database_url, mut running) = instances(3).await;
    let client = reqwest::Client::new();
    let origins: Vec<String> = running.iter().map(Instance::origin).collect();
    let all = format!("{receiver}/all");
    create_connection(
        &client,
        &origins[0],
        [
            ("opened", format!("{receiver}/opened, {all}")),
            ("acknowledged", format!("{receiver}/acknowledged, {all}")),
            ("resolved", format!("{receiver}/resolved, {all}")),
            ("muted", String::new()),
        ],
    )
    .await;

    // 60 incidents open (6 batches), then each is acknowledged, then resolved, through whichever
    // instance answers, while every 25th step kills one instance (in turn) and starts it again.
    let mut turn = 0;
    let mut kills = 0;
    let mut step = 0;
    let mut victim = 0;
    let mut kill_one = async |step: usize| {
        if step.is_multiple_of(25) {
            tokio::time::sleep(Duration::from_millis(fastrand::u64(1..20))).await;
            running[victim].kill_and_restart(&database_url);
            victim = (victim + 1) % running.len();
            kills += 1;
        }
    };
    for batch in 0..6 {
        let body: Vec<_> = (0..10).map(|n| check_result(&format!("t{batch}_{n}"))).collect();
        let answer = send_to_any(&origins, &mut turn, |origin| {
            client.post(format!("{origin}/api/connections/shop/checkresults")).json(&body)
        })
        .await;
        assert!(answer.status().is_success());
        step += 5;
        kill_one(step).await;
    }
    let incidents = incident_paths(&client, &origins[1]).await;
    assert_eq!(incidents.len(), 60);
    for status in ["acknowledged", "resolved"] {
        for incident in &incidents {
            let answer = send_to_any(&origins, &mut turn, |origin| {
                client.post(format!("{origin}{incident}/status?status={status}"))
            })
            .await;
            assert_eq!(answer.status(), 204);
            step += 1;
            kill_one(step).await;
        }
    }
    assert!(kills >= 4, "killed {kills} times");

    let ids = all_delivered(&database_url).await;
    assert_eq!(ids.len(), 60 * 3 * 2, "two deliveries per transition");
    let seen = seen.lock().unwrap();
    let mut arrived: HashMap<&str, u32> = HashMap::new();
    for arrival in &seen.arrivals {
        *arrived.entry(arrival.webhook_id.as_str()).or_default() += 1;
    }
    let missing = ids.iter().filter(|id| !arrived.contains_key(id.as_str())).count();
    assert_eq!(missing, 0, "{missing} deliveries never arrived");
    let duplicates: u32 = arrived.values().map(|n| n - 1).sum();
    eprintln!("{} deliveries arrived after {kills} kills, {duplicates} of them twice", ids.len());
    assert!(duplicates <= kills * 4, "{duplicates} duplicates after {kills} kills: more than was in flight");
    // Whichever instance sent them, each incident's messages reached /all in the order of its changes.
    for (incident, statuses) in statuses_by_incident(&seen.arrivals, "/all") {
        assert_eq!(statuses, ["open", "acknowledged", "resolved"], "incident {incident}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (TOCSIN_TEST_DATABASE_URL); scripts/test runs it"]
async fn across_instances_a_slack_address_keeps_its_pace_and_no_address_gets_two_requests_at_once() {
    let (port, seen) = receiver().await;
    let (database_url, running) = instances(3).await;
    let client = reqwest::Client::new();
    let origins: Vec<String> = running.iter().map(Instance::origin).collect();
    let slack = format!("http://localhost:{port}/services/T000/B000/slack");
    let generic = format!("http://127.0.0.1:{port}/generic");
    create_connection(
        &client,
        &origins[0],
        [
            ("opened", format!("{slack}, {generic}")),
            ("acknowledged", format!("{slack}, {generic}")),
            ("resolved", String::new()),
            ("muted", String::new()),
        ],
    )
    .await;
    let mut turn = 0;
    // Sent through the instances in turn, at once: each instance's worker competes for both addresses.
    let results: Vec<_> = (0..12).map(|n| check_result(&format!("t{n}"))).collect();
    for result in &results {
        let body = [result];
        let answer = send_to_any(&origins, &mut turn, |origin| {
            client.post(format!("{origin}/api/connections/shop/checkresults")).json(&body)
        })
        .await;
        assert!(answer.status().is_success());
    }
    for incident in incident_paths(&client, &origins[0]).await {
        let answer = send_to_any(&origins, &mut turn, |origin| {
            client.post(format!("{origin}{incident}/status?status=acknowledged"))
        })
        .await;
        assert_eq!(answer.status(), 204);
    }
    assert_eq!(all_delivered(&database_url).await.len(), 12 * 2 * 2);

    let seen = seen.lock().unwrap();
    let slack_times: Vec<Instant> =
        seen.arrivals.iter().filter(|arrival| arrival.path.ends_with("/slack")).map(|arrival| arrival.at).collect();
    assert_eq!(slack_times.len(), 24);
    let mut sorted = slack_times.clone();
    sorted.sort();
    // The pace counts from the start of one request to the start of the next; the receiver's
    // clock sees each a little after it was sent, by a loopback latency that varies by a few ms.
    let closest = sorted.windows(2).map(|pair| pair[1] - pair[0]).min().unwrap();
    assert!(closest >= PACE - Duration::from_millis(10), "two Slack requests {closest:?} apart");
    for (path, (_, most)) in &seen.in_flight {
        assert_eq!(*most, 1, "{path} had {most} requests in flight at once");
    }
    assert_eq!(seen.arrivals.iter().filter(|arrival| arrival.path == "/generic").count(), 24);
}
