//! Filtered notifications over REST (DQOps' JSON, camelCase inside `filter`) and routing as the
//! worker sends it.

use crate::{TestApp, api::loopback, api::received, api::recording_receiver, spawn_app, spawn_app_with};
use reqwest::Method;
use serde_json::{Value, json};

const FINANCE: &str = r#"{"name": "finance_tables",
    "filter": {"schema": "finance", "table": "fact_*", "qualityDimension": "Completeness", "highestSeverity": 2,
               "checkType": "monitoring", "tablePriority": 1, "dataGroupName": "*", "checkCategory": "nulls",
               "checkName": "*nulls*", "connection": "dwh"},
    "target": {"incident_opened_addresses": "https://finance.example/opened"},
    "priority": 100, "process_additional_filters": true, "message": "SLA: 4 hours"}"#;

impl TestApp {
    async fn json(&self, method: Method, path: &str, body: Option<&str>) -> (u16, Value) {
        self.send_raw(method, path, body).await
    }
}

#[tokio::test]
async fn filters_are_listed_created_read_renamed_and_deleted_as_dqops_does() {
    let app = spawn_app().await;
    app.create_connection("dwh").await;
    let base = "/api/connections/dwh/filterednotifications";
    assert_eq!(app.json(Method::GET, base, None).await, (200, json!([])));
    assert_eq!(app.json(Method::POST, base, Some(FINANCE)).await, (201, Value::Null));
    assert_eq!(app.json(Method::POST, base, Some(FINANCE)).await.0, 409, "the name is taken");

    let expected: Value = serde_json::from_str(
        r#"{"name": "finance_tables",
            "filter": {"connection": "dwh", "schema": "finance", "table": "fact_*", "tablePriority": 1,
                       "dataGroupName": "*", "qualityDimension": "Completeness", "checkCategory": "nulls",
                       "checkType": "monitoring", "checkName": "*nulls*", "highestSeverity": 2},
            "target": {"incident_opened_addresses": "https://finance.example/opened"},
            "priority": 100, "process_additional_filters": true, "message": "SLA: 4 hours"}"#,
    )
    .unwrap();
    assert_eq!(app.json(Method::GET, &format!("{base}/finance_tables"), None).await, (200, expected.clone()));
    assert_eq!(app.json(Method::GET, base, None).await, (200, json!([expected])));

    // The grouping spec carries the same filters, keyed by name.
    let grouping = app.json(Method::GET, "/api/connections/dwh/incidentgrouping", None).await.1;
    let mut keyed = expected.clone();
    keyed.as_object_mut().unwrap().remove("name");
    assert_eq!(grouping["incident_notification"], json!({"filtered_notifications": {"finance_tables": keyed}}));

    // A PUT with another name renames; defaults fill what the body leaves out.
    let renamed = r#"{"name": "ledger", "filter": {"table": "ledger"}, "disabled": true}"#;
    assert_eq!(app.json(Method::PUT, &format!("{base}/finance_tables"), Some(renamed)).await, (204, Value::Null));
    assert_eq!(app.json(Method::GET, &format!("{base}/finance_tables"), None).await.0, 404);
    assert_eq!(
        app.json(Method::GET, &format!("{base}/ledger"), None).await,
        (
            200,
            json!({"name": "ledger", "filter": {"table": "ledger"}, "target": {}, "priority": 1000, "disabled": true})
        )
    );
    assert_eq!(app.json(Method::POST, base, Some(FINANCE)).await.0, 201);
    let clash = r#"{"name": "finance_tables"}"#;
    assert_eq!(app.json(Method::PUT, &format!("{base}/ledger"), Some(clash)).await.0, 409, "rename onto a taken name");
    assert_eq!(app.json(Method::PUT, &format!("{base}/missing"), Some("{}")).await.0, 404);

    assert_eq!(app.json(Method::DELETE, &format!("{base}/ledger"), None).await, (204, Value::Null));
    assert_eq!(app.json(Method::DELETE, &format!("{base}/ledger"), None).await.0, 204, "a missing one is no error");
    let names: Vec<Value> =
        app.json(Method::GET, base, None).await.1.as_array().unwrap().iter().map(|f| f["name"].clone()).collect();
    assert_eq!(names, [json!("finance_tables")]);
    assert_eq!(app.json(Method::GET, "/api/connections/nope/filterednotifications", None).await.0, 404);
}

#[tokio::test]
async fn global_filters_live_under_the_singular_default_path_and_in_defaultwebhooks() {
    let app = spawn_app().await;
    let base = "/api/default/filterednotifications";
    let on_call = r#"{"name": "on-call", "filter": {"highestSeverity": 3},
        "target": {"incident_opened_addresses": "https://oncall.example/page"}, "priority": 1}"#;
    assert_eq!(app.json(Method::POST, base, Some(on_call)).await.0, 201);
    let defaults = app.json(Method::GET, "/api/defaults/defaultwebhooks", None).await.1;
    assert_eq!(
        defaults,
        json!({"filtered_notifications": {"on-call": {"filter": {"highestSeverity": 3},
            "target": {"incident_opened_addresses": "https://oncall.example/page"}, "priority": 1}}})
    );
    // Replacing the defaults without filtered_notifications removes them, as in DQOps.
    let (status, _) = app.json(Method::PUT, "/api/defaults/defaultwebhooks", Some("{}")).await;
    assert_eq!(status, 204);
    assert_eq!(app.json(Method::GET, base, None).await, (200, json!([])));
}

#[tokio::test]
async fn filter_errors_name_their_field() {
    let app = spawn_app().await;
    app.create_connection("dwh").await;
    let base = "/api/connections/dwh/filterednotifications";
    let cases = [
        (r#"{"filter": {}}"#, "name", "name is required"),
        (r#"{"name": "a/b"}"#, "name", "name must not contain '/'"),
        (r#"{"name": "x", "filter": {"checkType": "daily"}}"#, "filter.checkType", "filter.checkType must be"),
        (
            r#"{"name": "x", "filter": {"highestSeverity": 0}}"#,
            "filter.highestSeverity",
            "filter.highestSeverity must be 1",
        ),
        (
            r#"{"name": "x", "filter": {"tablePriority": "high"}}"#,
            "filter.tablePriority",
            "filter.tablePriority invalid type",
        ),
        (
            r#"{"name": "x", "target": {"incident_muted_addresses": "nope"}}"#,
            "target.incident_muted_addresses",
            "target.incident_muted_addresses must be",
        ),
        (r#"{"name": "x", "priority": 99999999999}"#, "priority", "priority must be a whole number"),
    ];
    for (body, field, error) in cases {
        let (status, answer) = app.json(Method::POST, base, Some(body)).await;
        assert_eq!(status, 400, "{body}: {answer}");
        assert_eq!(answer["field"], field, "{body}: {answer}");
        assert!(answer["error"].as_str().unwrap().starts_with(error), "{body}: {answer}");
    }
    let grouping = r#"{"incident_notification": {"filtered_notifications": {"f": {"filter": {"checkType": "x"}}}}}"#;
    let (status, answer) = app.json(Method::PUT, "/api/connections/dwh/incidentgrouping", Some(grouping)).await;
    assert_eq!(
        (status, answer["field"].as_str()),
        (400, Some("incident_notification.filtered_notifications.f.filter.checkType"))
    );
    assert_eq!(app.json(Method::GET, base, None).await, (200, json!([])), "nothing was stored");
}

/// Ingests one failed monitoring check on `table` with `severity`.
async fn fail(app: &TestApp, schema: &str, table: &str, severity: u8) -> Value {
    let executed_at = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let body = json!([{"schema": schema, "table": table, "check_name": "daily_nulls_percent", "check_category": "nulls",
        "check_type": "monitoring", "quality_dimension": "Completeness", "severity": severity, "executed_at": executed_at}]);
    let (status, answer) = app.json(Method::POST, "/api/connections/dwh/checkresults", Some(&body.to_string())).await;
    assert_eq!(status, 200, "{answer}");
    answer
}

#[tokio::test]
async fn incidents_are_routed_by_filters_connection_first_then_global_then_the_defaults() {
    let (receiver, seen) = recording_receiver().await;
    let app = spawn_app_with(loopback).await;
    app.create_connection("dwh").await;
    // (A PUT of the grouping replaces the filters too, so it comes first.)
    let spec = json!({"incident_notification": {"incident_opened_addresses": format!("{receiver}/defaults")}});
    assert_eq!(app.json(Method::PUT, "/api/connections/dwh/incidentgrouping", Some(&spec.to_string())).await.0, 204);
    let finance = json!({"name": "finance", "filter": {"schema": "finance"}, "priority": 10,
        "target": {"incident_opened_addresses": format!("{receiver}/finance")}});
    let (status, _) =
        app.json(Method::POST, "/api/connections/dwh/filterednotifications", Some(&finance.to_string())).await;
    assert_eq!(status, 201);
    let on_call = json!({"name": "on-call", "filter": {"highestSeverity": 3}, "message": "Page the on-call engineer",
        "target": {"incident_opened_addresses": format!("{receiver}/oncall")}});
    assert_eq!(app.json(Method::POST, "/api/default/filterednotifications", Some(&on_call.to_string())).await.0, 201);

    // An error on a finance table goes to finance only (the first match does not go on).
    fail(&app, "finance", "ledger", 2).await;
    let first = received(&seen, 1).await;
    assert_eq!(first.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(), ["/finance"]);

    // Now finance asks to go on: a fatal one also reaches on-call, with its message, and not the defaults.
    let going_on = json!({"name": "finance", "filter": {"schema": "finance"}, "priority": 10,
        "process_additional_filters": true, "target": {"incident_opened_addresses": format!("{receiver}/finance")}});
    let path = "/api/connections/dwh/filterednotifications/finance";
    assert_eq!(app.json(Method::PUT, path, Some(&going_on.to_string())).await.0, 204);
    fail(&app, "finance", "payments", 3).await;
    let second = received(&seen, 3).await;
    let paths: Vec<&str> = second.iter().skip(1).map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths.len(), 2, "{paths:?}");
    assert!(paths.contains(&"/finance") && paths.contains(&"/oncall"), "{paths:?}");
    let on_call_body = &second.iter().find(|(p, _)| p == "/oncall").unwrap().1;
    assert_eq!(on_call_body["message"], "Page the on-call engineer");
    assert_eq!(on_call_body["table"], "payments");

    // A table no filter matches goes to the connection's addresses.
    fail(&app, "sales", "orders", 2).await;
    let third = received(&seen, 4).await;
    assert_eq!(third.last().unwrap().0, "/defaults");
    assert_eq!(third.len(), 4);

    // The incident's deliveries say what routed them.
    let list = app.json(Method::GET, "/api/incidents/dwh?severity=3", None).await.1;
    assert_eq!(list.as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn a_filter_with_do_not_create_incidents_stores_the_results_but_opens_nothing() {
    let app = spawn_app().await;
    app.create_connection("dwh").await;
    let noisy = r#"{"name": "noisy", "filter": {"table": "tmp_*"}, "do_not_create_incidents": true}"#;
    assert_eq!(app.json(Method::POST, "/api/connections/dwh/filterednotifications", Some(noisy)).await.0, 201);
    let answer = fail(&app, "staging", "tmp_load", 3).await;
    assert_eq!(answer, json!({"accepted": 1, "duplicates": 0, "incidents_opened": 0, "incidents_updated": 0}));
    let answer = fail(&app, "staging", "orders", 3).await;
    assert_eq!(answer["incidents_opened"], 1);
    let pool = app.raw().await;
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM check_results").fetch_one(&pool).await.unwrap();
    assert_eq!(stored, 2, "the suppressed result is stored all the same");
}
