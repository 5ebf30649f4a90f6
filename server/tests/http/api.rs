//! Contract tests of the DQOps-compatible settings API: literal JSON in, literal JSON out, every
//! error path with its status and field, and the global defaults as the worker applies them.

use crate::{TestApp, spawn_app, spawn_app_with};
use axum::{Router, body::Bytes, extract::State, http::Uri, routing::post};
use reqwest::Method;
use serde_json::{Value, json};
use std::{
    collections::BTreeSet,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

const DEFAULT_GROUPING: &str = r#"{"grouping_level":"table_dimension_category","minimum_severity":"warning","max_incident_length_days":60,"mute_for_days":60}"#;

impl TestApp {
    pub async fn send_raw(&self, method: Method, path: &str, body: Option<&str>) -> (u16, Value) {
        self.send(method, path, body).await
    }

    /// Sends `body` (raw text) and returns the status and the body, parsed when it is JSON.
    async fn send(&self, method: Method, path: &str, body: Option<&str>) -> (u16, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.origin));
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_owned());
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{path} answered {status} with non-JSON {text:?}"))
        };
        (status, value)
    }

    async fn get_value(&self, path: &str) -> Value {
        let (status, value) = self.send(Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {value}");
        value
    }

    async fn put_json(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(Method::PUT, path, Some(&body.to_string())).await
    }

    async fn post_json(&self, path: &str, body: &Value) -> (u16, Value) {
        self.send(Method::POST, path, Some(&body.to_string())).await
    }

    async fn ingest_failure(&self, connection: &str, table: &str) {
        let executed_at = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
        let result = json!([{"schema": "public", "table": table, "check_name": "row_count", "check_category": "volume",
            "check_type": "monitoring", "quality_dimension": "Completeness", "severity": 2, "executed_at": executed_at}]);
        let (status, body) = self.post_json(&format!("/api/connections/{connection}/checkresults"), &result).await;
        assert_eq!((status, &body["incidents_opened"]), (200, &json!(1)), "{body}");
    }

    /// The path of the connection's only incident, under `/api/incidents`.
    async fn only_incident(&self, connection: &str) -> String {
        let list = self.get_value(&format!("/api/incidents/{connection}?resolved=true&muted=true")).await;
        let incident = &list.as_array().unwrap()[0];
        format!(
            "/api/incidents/{connection}/{}/{}/{}",
            incident["year"],
            incident["month"],
            incident["incidentId"].as_str().unwrap()
        )
    }
}

fn literal(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[tokio::test]
async fn a_new_connection_has_dqops_default_grouping_and_basic_model() {
    let app = spawn_app().await;
    let (status, body) = app.post_json("/api/connections/dwh/basic", &json!({"provider_type": "snowflake"})).await;
    assert_eq!((status, body), (201, Value::Null));

    assert_eq!(app.get_value("/api/connections/dwh/incidentgrouping").await, literal(DEFAULT_GROUPING));
    assert_eq!(
        app.get_value("/api/connections/dwh/basic").await,
        literal(r#"{"connection_name":"dwh","provider_type":"snowflake","can_edit":true}"#)
    );
    assert_eq!(
        app.get_value("/api/connections").await,
        literal(r#"[{"connection_name":"dwh","provider_type":"snowflake","can_edit":true}]"#)
    );
}

#[tokio::test]
async fn incident_grouping_round_trips_with_all_four_addresses_and_lists() {
    let app = spawn_app().await;
    app.create_connection("dwh").await;
    let mut spec = app.get_value("/api/connections/dwh/incidentgrouping").await;
    spec["grouping_level"] = json!("table_dimension_category_name");
    spec["minimum_severity"] = json!("error");
    spec["divide_by_data_groups"] = json!(true);
    spec["max_incident_length_days"] = json!(30);
    spec["mute_for_days"] = json!(7);
    spec["disabled"] = json!(true);
    spec["incident_notification"] = json!({
        "incident_opened_addresses": "https://hooks.slack.com/services/T1/B1/opened",
        "incident_acknowledged_addresses": "https://a.example/ack,https://b.example/ack",
        "incident_resolved_addresses": " https://a.example/resolved , https://b.example/resolved ",
        "incident_muted_addresses": ""
    });
    let (status, body) = app.put_json("/api/connections/dwh/incidentgrouping", &spec).await;
    assert_eq!((status, body), (204, Value::Null));

    let expected = literal(
        r#"{"grouping_level":"table_dimension_category_name","minimum_severity":"error","divide_by_data_groups":true,
            "max_incident_length_days":30,"mute_for_days":7,"disabled":true,
            "incident_notification":{
              "incident_opened_addresses":"https://hooks.slack.com/services/T1/B1/opened",
              "incident_acknowledged_addresses":"https://a.example/ack, https://b.example/ack",
              "incident_resolved_addresses":"https://a.example/resolved, https://b.example/resolved",
              "incident_muted_addresses":""}}"#,
    );
    assert_eq!(app.get_value("/api/connections/dwh/incidentgrouping").await, expected);
    // The full connection spec carries the same settings.
    let connection = app.get_value("/api/connections/dwh").await;
    assert_eq!(connection["spec"]["incident_grouping"], expected);

    // A PUT replaces the whole spec: what it leaves out returns to DQOps' defaults.
    let (status, _) = app.put_json("/api/connections/dwh/incidentgrouping", &json!({"mute_for_days": 9})).await;
    assert_eq!(status, 204);
    let mut defaults_but_mute = literal(DEFAULT_GROUPING);
    defaults_but_mute["mute_for_days"] = json!(9);
    assert_eq!(app.get_value("/api/connections/dwh/incidentgrouping").await, defaults_but_mute);
}

#[tokio::test]
async fn a_put_through_the_api_is_what_the_settings_page_shows() {
    let app = spawn_app().await;
    app.create_connection("dwh").await;
    let spec = json!({"grouping_level": "table", "minimum_severity": "fatal", "max_incident_length_days": 12,
        "mute_for_days": 3, "incident_notification": {"incident_resolved_addresses": "https://a.example/r"}});
    assert_eq!(app.put_json("/api/connections/dwh/incidentgrouping", &spec).await.0, 204);
    let page = app.page("/sources/connection/dwh/incidents").await;
    assert!(page.contains(r#"<option value="table" selected"#), "{page}");
    assert!(page.contains(r#"<option value="fatal" selected"#), "{page}");
    assert!(page.contains(r#"value="12""#) && page.contains(r#"value="3""#), "{page}");
    assert!(page.contains(r#"value="https://a.example/r""#), "{page}");
}

#[tokio::test]
async fn the_legacy_webhooks_object_is_read_into_incident_notification() {
    let app = spawn_app().await;
    app.create_connection("dwh").await;
    let legacy = json!({"grouping_level": "table", "webhooks": {
        "incident_opened_webhook_url": "https://old.example/opened",
        "incident_acknowledged_webhook_url": "https://old.example/ack",
        "incident_resolved_webhook_url": "https://old.example/resolved",
        "incident_muted_webhook_url": "https://old.example/muted"}});
    assert_eq!(app.put_json("/api/connections/dwh/incidentgrouping", &legacy).await.0, 204);
    let expected = literal(
        r#"{"grouping_level":"table","minimum_severity":"warning","max_incident_length_days":60,"mute_for_days":60,
            "incident_notification":{"incident_opened_addresses":"https://old.example/opened",
              "incident_acknowledged_addresses":"https://old.example/ack",
              "incident_resolved_addresses":"https://old.example/resolved",
              "incident_muted_addresses":"https://old.example/muted"}}"#,
    );
    assert_eq!(app.get_value("/api/connections/dwh/incidentgrouping").await, expected);

    // The legacy keys inside incident_notification too, the current key winning when both are sent.
    let mixed = json!({"incident_notification": {"incident_opened_webhook_url": "https://old.example/o2",
        "incident_muted_addresses": "https://new.example/m", "incident_muted_webhook_url": "https://old.example/m"}});
    assert_eq!(app.put_json("/api/connections/dwh/incidentgrouping", &mixed).await.0, 204);
    let spec = app.get_value("/api/connections/dwh/incidentgrouping").await;
    assert_eq!(
        spec["incident_notification"],
        json!({"incident_opened_addresses": "https://old.example/o2", "incident_muted_addresses": "https://new.example/m"})
    );
}

#[tokio::test]
async fn connections_are_created_read_updated_and_deleted_with_dqops_status_codes() {
    let app = spawn_app().await;
    let spec = json!({"provider_type": "postgresql", "postgresql": {"host": "db", "port": "5432"},
        "parallel_jobs_limit": 4, "incident_grouping": {"grouping_level": "table_dimension", "minimum_severity": "error"}});
    let (status, body) = app.post_json("/api/connections/sales", &spec).await;
    assert_eq!((status, body), (201, Value::Null));
    assert_eq!(
        app.get_value("/api/connections/sales").await,
        literal(
            r#"{"connection_name":"sales","can_edit":true,"spec":{"provider_type":"postgresql",
                "incident_grouping":{"grouping_level":"table_dimension","minimum_severity":"error",
                "max_incident_length_days":60,"mute_for_days":60}}}"#
        )
    );

    let basic = json!({"connection_name": "sales", "provider_type": "mysql", "description": "EU sales"});
    assert_eq!(app.put_json("/api/connections/sales/basic", &basic).await.0, 204);
    assert_eq!(
        app.get_value("/api/connections/sales/basic").await,
        literal(r#"{"connection_name":"sales","provider_type":"mysql","description":"EU sales","can_edit":true}"#)
    );
    // A basic update leaves the incident settings alone.
    assert_eq!(app.get_value("/api/connections/sales/incidentgrouping").await["grouping_level"], "table_dimension");

    // The full spec replaces the settings; an absent provider type and description are kept.
    let (status, _) = app.put_json("/api/connections/sales", &json!({"incident_grouping": {"mute_for_days": 2}})).await;
    assert_eq!(status, 204);
    let sales = app.get_value("/api/connections/sales").await;
    assert_eq!(sales["spec"]["provider_type"], "mysql");
    assert_eq!(sales["spec"]["description"], "EU sales");
    assert_eq!(sales["spec"]["incident_grouping"]["grouping_level"], "table_dimension_category");
    assert_eq!(sales["spec"]["incident_grouping"]["mute_for_days"], 2);

    assert_eq!(app.post_json("/api/connections/sales", &spec).await.0, 409);
    assert_eq!(app.post_json("/api/connections/sales/basic", &json!({"provider_type": "mysql"})).await.0, 409);

    let (status, body) = app.send(Method::DELETE, "/api/connections/sales", None).await;
    assert_eq!((status, body), (204, Value::Null));
    let (status, body) = app.send(Method::GET, "/api/connections/sales", None).await;
    assert_eq!((status, body), (404, json!({"error": "no connection named \"sales\" exists"})));
    assert_eq!(app.send(Method::DELETE, "/api/connections/sales", None).await.0, 404);
    assert_eq!(app.get_value("/api/connections").await, json!([]));
}

/// Loopback receivers are allowed, delivery is quick, and retries come soon.
pub fn loopback(config: &mut server::config::Config) {
    config.allow_http = true;
    config.allow_subnets = vec!["127.0.0.0/8".parse().unwrap()];
    config.poll_interval = Duration::from_millis(10);
    config.retry_schedule = app::delivery::RetrySchedule::parse("20ms,20ms,20ms,20ms,20ms").unwrap();
    config.throttle_delay = Duration::from_millis(20);
}

async fn count(pool: &sqlx::AnyPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[tokio::test]
async fn deleting_a_connection_removes_its_incidents_history_and_pending_deliveries() {
    // Retried an hour later: with the loopback schedule (20 ms), a loaded machine could run out
    // of retries, and fail a delivery, before the test counts the pending ones.
    let app = spawn_app_with(|config| {
        loopback(config);
        config.retry_schedule = app::delivery::RetrySchedule::parse("1h").unwrap();
    })
    .await;
    // Nothing listens on this port: deliveries fail and stay pending for their retries.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let hook = format!("http://127.0.0.1:{closed}/hook");
    for connection in ["doomed", "kept"] {
        app.create_connection(connection).await;
        let spec =
            json!({"incident_notification": {"incident_opened_addresses": hook, "incident_muted_addresses": hook}});
        assert_eq!(app.put_json(&format!("/api/connections/{connection}/incidentgrouping"), &spec).await.0, 204);
        app.ingest_failure(connection, "orders").await;
        let incident = app.only_incident(connection).await;
        assert_eq!(app.post_empty(&format!("{incident}/status?status=muted")).await.0, 204);
    }
    let pool = app.raw().await;
    // Per connection: one check result and incident, two transitions (opened, muted), two deliveries.
    let tables = ["check_results", "incidents", "incident_status_changes", "deliveries"];
    let per_connection = [1, 1, 2, 2];
    for (table, rows) in tables.iter().zip(per_connection) {
        assert_eq!(count(&pool, &format!("SELECT count(*) FROM {table}")).await, 2 * rows, "{table} before");
    }
    assert_eq!(count(&pool, "SELECT count(*) FROM deliveries WHERE state = 'pending'").await, 4);

    assert_eq!(app.send(Method::DELETE, "/api/connections/doomed", None).await.0, 204);
    for (table, rows) in tables.iter().zip(per_connection) {
        assert_eq!(count(&pool, &format!("SELECT count(*) FROM {table}")).await, rows, "{table} after");
    }
    let orphans = "SELECT count(*) FROM delivery_attempts WHERE delivery_id NOT IN (SELECT id FROM deliveries)";
    assert_eq!(count(&pool, orphans).await, 0);
    assert_eq!(app.get_value("/api/incidents/kept").await.as_array().unwrap().len(), 0, "muted ones are hidden");
    assert_eq!(app.get_value("/api/incidents/kept?muted=true").await.as_array().unwrap().len(), 1);
    assert_eq!(app.send(Method::GET, "/api/incidents/doomed", None).await.0, 404);
}

#[tokio::test]
async fn every_error_names_its_problem_and_changes_nothing() {
    let app = spawn_app().await;
    app.create_connection("dwh").await;
    let saved = json!({"grouping_level": "table", "mute_for_days": 5,
        "incident_notification": {"incident_opened_addresses": "https://a.example/opened"}});
    assert_eq!(app.put_json("/api/connections/dwh/incidentgrouping", &saved).await.0, 204);
    let defaults = json!({"incident_muted_addresses": "https://a.example/muted"});
    assert_eq!(app.put_json("/api/defaults/defaultwebhooks", &defaults).await.0, 204);
    let before = app.get_value("/api/connections/dwh").await;

    let grouping = "/api/connections/dwh/incidentgrouping";
    let huge = json!({"grouping_level": "table", "padding": "x".repeat(70 * 1024)}).to_string();
    // method, path, body, then the status, `field` and (the start of) `error` expected.
    type Case<'a> = (Method, &'a str, Option<String>, u16, Option<&'a str>, &'a str);
    let cases: Vec<Case> = vec![
        (Method::GET, "/api/connections/nope/incidentgrouping", None, 404, None, "no connection named \"nope\" exists"),
        (Method::PUT, "/api/connections/nope/incidentgrouping", Some("{}".into()), 404, None, "no connection named"),
        (Method::GET, "/api/connections/nope", None, 404, None, "no connection named"),
        (Method::GET, "/api/connections/nope/basic", None, 404, None, "no connection named"),
        (Method::PUT, "/api/connections/nope/basic", Some("{}".into()), 404, None, "no connection named"),
        (Method::PUT, "/api/connections/nope", Some("{}".into()), 404, None, "no connection named"),
        (Method::DELETE, "/api/connections/nope", None, 404, None, "no connection named"),
        (Method::DELETE, "/api/connections/bad%20name", None, 404, None, "no connection named"),
        (
            Method::POST,
            "/api/connections/dwh/basic",
            Some(r#"{"provider_type":"mysql"}"#.into()),
            409,
            None,
            "a connection named \"dwh\" already exists",
        ),
        (
            Method::POST,
            "/api/connections/dwh",
            Some(r#"{"provider_type":"mysql"}"#.into()),
            409,
            None,
            "already exists",
        ),
        (Method::PUT, grouping, Some(r#"{"grouping_level": "table""#.into()), 400, None, "the body is not valid JSON"),
        (Method::PUT, grouping, Some("".into()), 400, None, "the request body is empty"),
        (Method::PUT, grouping, Some("[]".into()), 400, None, "the body must be a JSON object"),
        (
            Method::PUT,
            grouping,
            Some(r#"{"grouping_level": "by_table"}"#.into()),
            400,
            Some("grouping_level"),
            "grouping_level must be one of table, table_dimension",
        ),
        (
            Method::PUT,
            grouping,
            Some(r#"{"minimum_severity": "Fatal"}"#.into()),
            400,
            Some("minimum_severity"),
            "minimum_severity must be one of warning, error or fatal",
        ),
        (
            Method::PUT,
            grouping,
            Some(r#"{"max_incident_length_days": -3}"#.into()),
            400,
            Some("max_incident_length_days"),
            "max_incident_length_days must be between 1 and 3650 days",
        ),
        (
            Method::PUT,
            grouping,
            Some(r#"{"mute_for_days": 4000}"#.into()),
            400,
            Some("mute_for_days"),
            "mute_for_days must be between 1 and 3650 days",
        ),
        (
            Method::PUT,
            grouping,
            Some(r#"{"mute_for_days": "ten"}"#.into()),
            400,
            Some("mute_for_days"),
            "mute_for_days invalid type: string \"ten\", expected i64",
        ),
        (
            Method::PUT,
            grouping,
            Some(r#"{"divide_by_data_groups": "yes"}"#.into()),
            400,
            Some("divide_by_data_groups"),
            "divide_by_data_groups invalid type",
        ),
        (
            Method::PUT,
            grouping,
            Some(
                r#"{"incident_notification": {"incident_opened_addresses": "https://ok.example/a, not a url"}}"#.into(),
            ),
            400,
            Some("incident_notification.incident_opened_addresses"),
            "incident_notification.incident_opened_addresses address 2 of 2 must not contain spaces",
        ),
        (
            Method::PUT,
            grouping,
            Some(r#"{"incident_notification": {"incident_muted_addresses": "https://10.0.0.8/x"}}"#.into()),
            400,
            Some("incident_notification.incident_muted_addresses"),
            "incident_notification.incident_muted_addresses is not allowed",
        ),
        (
            Method::PUT,
            grouping,
            Some(r#"{"webhooks": {"incident_opened_webhook_url": "mailto:a@b.c"}}"#.into()),
            400,
            Some("webhooks.incident_opened_webhook_url"),
            "webhooks.incident_opened_webhook_url must be",
        ),
        (Method::PUT, grouping, Some(huge), 413, None, "the request body is larger than 64 KiB"),
        (
            Method::PUT,
            "/api/connections/dwh",
            Some(r#"{"incident_grouping": {"mute_for_days": 0}}"#.into()),
            400,
            Some("incident_grouping.mute_for_days"),
            "incident_grouping.mute_for_days must be between",
        ),
        (
            Method::PUT,
            "/api/connections/dwh",
            Some(r#"{"provider_type": "mongodb"}"#.into()),
            400,
            Some("provider_type"),
            "provider_type must be one of postgresql",
        ),
        (
            Method::PUT,
            "/api/connections/dwh/basic",
            Some(r#"{"connection_name": "other"}"#.into()),
            400,
            Some("connection_name"),
            "connection_name must be \"dwh\", the name in the path",
        ),
        (
            Method::PUT,
            "/api/connections/dwh/basic",
            Some(format!(r#"{{"description": "{}"}}"#, "d".repeat(2001))),
            400,
            Some("description"),
            "description must be at most 2000 characters long",
        ),
        (
            Method::POST,
            "/api/connections/new",
            Some(r#"{"description": "no provider"}"#.into()),
            400,
            Some("provider_type"),
            "provider_type is required",
        ),
        (
            Method::POST,
            "/api/connections/new%20one/basic",
            Some(r#"{"provider_type": "mysql"}"#.into()),
            400,
            Some("connectionName"),
            "connectionName may only contain letters",
        ),
        (
            Method::PUT,
            "/api/defaults/defaultwebhooks",
            Some(r#"{"incident_resolved_addresses": "hooks.slack.com/x"}"#.into()),
            400,
            Some("incident_resolved_addresses"),
            "incident_resolved_addresses must be",
        ),
        (
            Method::PUT,
            "/api/defaults/defaultwebhooks",
            Some(r#"{"incident_opened_addresses": 7}"#.into()),
            400,
            Some("incident_opened_addresses"),
            "incident_opened_addresses invalid type: integer `7`, expected a string",
        ),
        (Method::GET, "/api/no/such/endpoint", None, 404, None, "no such API endpoint"),
        (Method::PATCH, grouping, Some("{}".into()), 405, None, "this endpoint does not accept this method"),
    ];
    for (method, path, body, status, field, error) in cases {
        let label = format!("{method} {path} {}", body.as_deref().unwrap_or("").chars().take(80).collect::<String>());
        let (actual, answer) = app.send(method, path, body.as_deref()).await;
        assert_eq!(actual, status, "{label}: {answer}");
        assert_eq!(answer["field"].as_str(), field, "{label}: {answer}");
        let message = answer["error"].as_str().unwrap_or_else(|| panic!("{label}: no error in {answer}"));
        assert!(message.starts_with(error) || message.contains(error), "{label}: {message}");
        assert!(!message.contains("sqlx") && !message.contains("SQLITE"), "{label}: {message}");
    }

    assert_eq!(app.get_value("/api/connections/dwh").await, before, "a rejected request changed the connection");
    assert_eq!(app.get_value("/api/defaults/defaultwebhooks").await, defaults);
    assert_eq!(app.get_value("/api/connections").await.as_array().unwrap().len(), 1, "nothing was created");
}

#[tokio::test]
async fn unknown_keys_are_accepted_and_ignored() {
    let app = spawn_app().await;
    app.create_connection("dwh").await;
    let spec = json!({"grouping_level": "table", "future_setting": {"x": 1}, "divide_by_data_groups": null,
        "incident_notification": {"incident_opened_addresses": "https://a.example/o", "email_cc": "x@y.z",
            "filtered_notifications": {}}});
    assert_eq!(app.put_json("/api/connections/dwh/incidentgrouping", &spec).await.0, 204);
    let stored = app.get_value("/api/connections/dwh/incidentgrouping").await;
    assert_eq!(stored["grouping_level"], "table");
    assert_eq!(stored["incident_notification"], json!({"incident_opened_addresses": "https://a.example/o"}));
}

/// What a receiver saw: each request's path and JSON body.
pub type Seen = Arc<Mutex<Vec<(String, Value)>>>;

/// A receiver on loopback that records the path of every request.
pub async fn recording_receiver() -> (String, Seen) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = |State(seen): State<Seen>, uri: Uri, body: Bytes| async move {
        let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
        seen.lock().unwrap().push((uri.path().to_owned(), body));
        "ok"
    };
    let app = Router::new().fallback(post(record)).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let origin = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (origin, seen)
}

/// Waits until the receiver has seen `expected` paths (and a little longer, to catch extras).
pub async fn received(seen: &Seen, expected: usize) -> Vec<(String, Value)> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while seen.lock().unwrap().len() < expected && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    seen.lock().unwrap().clone()
}

#[tokio::test]
async fn global_defaults_fill_unset_statuses_and_an_empty_string_blocks_them() {
    let (receiver, seen) = recording_receiver().await;
    let app = spawn_app_with(loopback).await;
    assert_eq!(app.get_value("/api/defaults/defaultwebhooks").await, json!({}), "no defaults at first");
    let defaults = json!({
        "incident_opened_addresses": format!("{receiver}/global/opened"),
        "incident_acknowledged_addresses": format!("{receiver}/global/acknowledged"),
        "incident_resolved_addresses": format!("{receiver}/global/resolved")
    });
    assert_eq!(app.put_json("/api/defaults/defaultwebhooks", &defaults).await.0, 204);
    assert_eq!(app.get_value("/api/defaults/defaultwebhooks").await, defaults);

    app.create_connection("dwh").await;
    // opened: absent (falls back); acknowledged: "" (blocks); resolved: its own; muted: nowhere.
    let spec = json!({"incident_notification": {
        "incident_acknowledged_addresses": "",
        "incident_resolved_addresses": format!("{receiver}/own/resolved")}});
    assert_eq!(app.put_json("/api/connections/dwh/incidentgrouping", &spec).await.0, 204);

    app.ingest_failure("dwh", "orders").await;
    let incident = app.only_incident("dwh").await;
    let opened = received(&seen, 1).await;
    assert_eq!(opened.iter().map(|(path, _)| path.as_str()).collect::<Vec<_>>(), ["/global/opened"]);
    assert_eq!(opened[0].1["status"], "open");
    assert_eq!(opened[0].1["table"], "orders");

    for status in ["acknowledged", "resolved", "muted"] {
        assert_eq!(app.post_empty(&format!("{incident}/status?status={status}")).await.0, 204);
    }
    let all = received(&seen, 2).await;
    let paths: Vec<&str> = all.iter().map(|(path, _)| path.as_str()).collect();
    assert_eq!(paths, ["/global/opened", "/own/resolved"]);
    assert_eq!(all[1].1["status"], "resolved");

    // Clearing the defaults stops the fallback for the next incident.
    assert_eq!(app.put_json("/api/defaults/defaultwebhooks", &json!({})).await.0, 204);
    app.ingest_failure("dwh", "customers").await;
    // Deliveries are written with the transition, so the table already says who will be told.
    let pool = app.raw().await;
    assert_eq!(count(&pool, "SELECT count(*) FROM deliveries").await, 2, "no default is left to notify");
    assert_eq!(received(&seen, 2).await.len(), 2);
}

#[tokio::test]
async fn the_health_check_answers_for_load_balancers() {
    let app = spawn_app().await;
    assert_eq!(app.get_value("/api/healthcheck").await, json!({"status": "ok"}));
}

/// Every route the server serves under `/api`, by method and path.
const API_ROUTES: &[(&str, &str)] = &[
    ("get", "/api/connections"),
    ("get", "/api/connections/{connectionName}"),
    ("post", "/api/connections/{connectionName}"),
    ("put", "/api/connections/{connectionName}"),
    ("delete", "/api/connections/{connectionName}"),
    ("get", "/api/connections/{connectionName}/basic"),
    ("post", "/api/connections/{connectionName}/basic"),
    ("put", "/api/connections/{connectionName}/basic"),
    ("get", "/api/connections/{connectionName}/incidentgrouping"),
    ("put", "/api/connections/{connectionName}/incidentgrouping"),
    ("post", "/api/connections/{connectionName}/checkresults"),
    ("get", "/api/connections/{connectionName}/filterednotifications"),
    ("post", "/api/connections/{connectionName}/filterednotifications"),
    ("get", "/api/connections/{connectionName}/filterednotifications/{filterName}"),
    ("put", "/api/connections/{connectionName}/filterednotifications/{filterName}"),
    ("delete", "/api/connections/{connectionName}/filterednotifications/{filterName}"),
    ("get", "/api/default/filterednotifications"),
    ("post", "/api/default/filterednotifications"),
    ("get", "/api/default/filterednotifications/{filterName}"),
    ("put", "/api/default/filterednotifications/{filterName}"),
    ("delete", "/api/default/filterednotifications/{filterName}"),
    ("get", "/api/defaults/defaultwebhooks"),
    ("put", "/api/defaults/defaultwebhooks"),
    ("get", "/api/incidents/{connectionName}"),
    ("get", "/api/incidents/{connectionName}/{year}/{month}/{incidentId}"),
    ("get", "/api/incidents/{connectionName}/{year}/{month}/{incidentId}/issues"),
    ("post", "/api/incidents/{connectionName}/{year}/{month}/{incidentId}/status"),
    ("post", "/api/incidents/{connectionName}/{year}/{month}/{incidentId}/issueurl"),
    ("get", "/api/healthcheck"),
    ("get", "/api/openapi.json"),
];

#[tokio::test]
async fn the_openapi_document_is_valid_openapi_3_and_lists_every_api_route() {
    let app = spawn_app().await;
    let response = app.get("/api/openapi.json").await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.unwrap();
    let spec = oas3::from_json(&text).unwrap_or_else(|error| panic!("not a valid OpenAPI document: {error}"));
    assert!(spec.openapi.starts_with("3."), "{}", spec.openapi);
    assert_eq!(spec.info.title, "Tocsin REST API");

    let document: Value = serde_json::from_str(&text).unwrap();
    let mut documented = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            assert!(operation["operationId"].is_string(), "{method} {path} has no operationId");
            assert!(operation["responses"].as_object().is_some_and(|r| !r.is_empty()), "{method} {path}");
            documented.insert((method.clone(), path.clone()));
        }
    }
    let expected: BTreeSet<(String, String)> =
        API_ROUTES.iter().map(|(method, path)| ((*method).to_owned(), (*path).to_owned())).collect();
    assert_eq!(documented, expected);
    // Every referenced schema is defined.
    for reference in text.split("\"$ref\": \"#/components/schemas/").skip(1) {
        let name = &reference[..reference.find('"').unwrap()];
        assert!(document["components"]["schemas"][name].is_object(), "schema {name} is referenced but missing");
    }

    // And each documented route is served: none answers with the unknown-endpoint or method errors.
    app.create_connection("dwh").await;
    for (method, path) in API_ROUTES {
        let concrete = path
            .replace("{connectionName}", "dwh")
            .replace("{year}", "2026")
            .replace("{month}", "11")
            .replace("{incidentId}", "no-such-incident")
            .replace("{filterName}", "no-such-filter");
        let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = app.client.request(method.clone(), format!("{}{concrete}", app.origin)).send().await.unwrap();
        let status = response.status().as_u16();
        let body = response.text().await.unwrap();
        assert_ne!(status, 405, "{method} {concrete}");
        assert!(!body.contains("no such API endpoint"), "{method} {concrete} is not served");
    }
}
