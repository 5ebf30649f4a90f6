//! The check-results ingest API and the DQOps-compatible incidents API.

use crate::{TestApp, spawn_app};
use serde_json::{Value, json};

/// An RFC 3339 time `hours_ago` hours before now, so incidents fall in the default months window.
fn hours_ago(hours: i64) -> String {
    (chrono::Utc::now() - chrono::Duration::hours(hours)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

fn check_result(table: &str, check: &str, severity: u8, executed_at: &str) -> Value {
    json!({
        "schema": "public", "table": table, "column": "amount",
        "check_name": check, "check_category": "nulls", "check_type": "monitoring",
        "quality_dimension": "Completeness", "severity": severity, "executed_at": executed_at,
        "table_priority": 2, "actual_value": 12.5, "expected_value": 0.0, "message": "too many nulls"
    })
}

impl TestApp {
    async fn post_results(&self, connection: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}/api/connections/{connection}/checkresults", self.origin))
            .json(body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    pub async fn api(&self, method: reqwest::Method, path: &str) -> (u16, Value) {
        let response = self.client.request(method, format!("{}{path}", self.origin)).send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
    }

    async fn get_json(&self, path: &str) -> (u16, Value) {
        self.api(reqwest::Method::GET, path).await
    }

    pub async fn post_empty(&self, path: &str) -> (u16, Value) {
        self.api(reqwest::Method::POST, path).await
    }

    /// A connection `dwh` with one open incident on `fact_sales` (two issues); returns its path.
    async fn one_incident(&self) -> String {
        self.create_connection("dwh").await;
        let batch = json!([
            check_result("fact_sales", "daily_nulls_percent", 2, &hours_ago(2)),
            check_result("fact_sales", "daily_nulls_count", 3, &hours_ago(1)),
        ]);
        assert_eq!(self.post_results("dwh", &batch).await.0, 200);
        let (_, list) = self.get_json("/api/incidents/dwh").await;
        let incident = &list[0];
        format!(
            "/api/incidents/dwh/{}/{}/{}",
            incident["year"],
            incident["month"],
            incident["incidentId"].as_str().unwrap()
        )
    }
}

#[tokio::test]
async fn ingesting_check_results_reports_what_was_stored_opened_and_updated() {
    let app = spawn_app().await;
    app.create_connection("dwh").await;
    let batch = json!([
        check_result("fact_sales", "daily_nulls_percent", 2, &hours_ago(3)),
        check_result("fact_sales", "daily_nulls_count", 1, &hours_ago(2)),
        check_result("dim_customer", "daily_nulls_percent", 3, &hours_ago(2)),
        check_result("dim_customer", "daily_nulls_percent", 0, &hours_ago(1)),
    ]);
    let (status, body) = app.post_results("dwh", &batch).await;
    assert_eq!(status, 200);
    assert_eq!(body, json!({"accepted": 4, "duplicates": 0, "incidents_opened": 2, "incidents_updated": 0}));

    let again = json!({"results": [check_result("fact_sales", "x", 2, &hours_ago(1))]});
    let (_, body) = app.post_results("dwh", &again).await;
    assert_eq!(body, json!({"accepted": 1, "duplicates": 0, "incidents_opened": 0, "incidents_updated": 1}));
}

#[tokio::test]
async fn a_result_id_sent_twice_is_counted_once() {
    let app = spawn_app().await;
    app.create_connection("dwh").await;
    let mut item = check_result("t", "c", 2, &hours_ago(1));
    item["result_id"] = json!("run-7/check-3");
    let (_, body) = app.post_results("dwh", &json!([item.clone(), item.clone()])).await;
    assert_eq!((body["accepted"].clone(), body["duplicates"].clone()), (json!(1), json!(1)));
    let (_, body) = app.post_results("dwh", &json!([item])).await;
    assert_eq!((body["accepted"].clone(), body["duplicates"].clone()), (json!(0), json!(1)));
    let (_, list) = app.get_json("/api/incidents/dwh").await;
    assert_eq!(list[0]["failedChecksCount"], 1);
}

#[tokio::test]
async fn a_batch_with_one_invalid_item_stores_nothing_and_names_the_item_and_field() {
    let app = spawn_app().await;
    app.create_connection("dwh").await;
    let mut bad = check_result("t", "c", 2, &hours_ago(1));
    bad["executed_at"] = json!("last tuesday");
    let (status, body) = app.post_results("dwh", &json!([check_result("t", "c", 2, &hours_ago(1)), bad])).await;
    assert_eq!(status, 400);
    assert_eq!(
        body,
        json!({
            "error": "check result 1: executed_at must be an RFC 3339 time such as 2024-06-01T11:45:22Z",
            "field": "executed_at",
            "index": 1
        })
    );
    let (_, list) = app.get_json("/api/incidents/dwh?resolved=true&muted=true").await;
    assert_eq!(list, json!([]), "the valid first item was not stored either");
}

#[tokio::test]
async fn ingest_errors_say_what_is_wrong_with_the_right_status() {
    let app = spawn_app().await;
    app.create_connection("dwh").await;
    let url = format!("{}/api/connections/dwh/checkresults", app.origin);
    let send = |body: Vec<u8>| {
        let request = app.client.post(&url).header("content-type", "application/json").body(body);
        async move {
            let response = request.send().await.unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap()["error"].as_str().unwrap_or_default().to_owned())
        }
    };
    let (status, error) = send(b"[{".to_vec()).await;
    assert_eq!(status, 400);
    assert!(error.starts_with("the body is not valid JSON"), "{error}");
    let (status, error) = send(b"{\"schema\": \"x\"}".to_vec()).await;
    assert_eq!(
        (status, error.as_str()),
        (400, "the body must be a JSON array of check results (or an object with a \"results\" array)")
    );

    let too_many = serde_json::to_vec(&vec![json!({}); 10_001]).unwrap();
    let (status, error) = send(too_many).await;
    assert_eq!((status, error.as_str()), (413, "a request may carry at most 10000 check results; this one has 10001"));

    let huge = format!("[\"{}\"]", "x".repeat(16 * 1024 * 1024)).into_bytes();
    let (status, error) = send(huge).await;
    assert_eq!(status, 413);
    assert_eq!(error, "the request body is larger than 16 MiB; send the results in smaller batches");

    let (status, body) = app.post_results("ghost", &json!([])).await;
    assert_eq!((status, body), (404, json!({"error": "no connection named \"ghost\" exists"})));
}

#[tokio::test]
async fn an_incident_is_served_as_dqops_incident_model() {
    let app = spawn_app().await;
    app.create_connection("dwh").await;
    let first = hours_ago(2);
    let batch = json!([
        check_result("fact_sales", "daily_nulls_percent", 2, &first),
        check_result("fact_sales", "daily_nulls_count", 3, &hours_ago(1)),
    ]);
    app.post_results("dwh", &batch).await;
    let (status, list) = app.get_json("/api/incidents/dwh").await;
    assert_eq!(status, 200);
    let incident = list[0].clone();
    let id = incident["incidentId"].as_str().unwrap().to_owned();
    let first_seen = chrono::DateTime::parse_from_rfc3339(&first).unwrap();
    let until = first_seen + chrono::Duration::days(60);
    let expected = json!({
        "incidentId": id,
        "connection": "dwh",
        "year": first_seen.format("%Y").to_string().parse::<i32>().unwrap(),
        "month": first_seen.format("%m").to_string().parse::<u32>().unwrap(),
        "schema": "public",
        "table": "fact_sales",
        "tablePriority": 2,
        "incidentHash": incident["incidentHash"],
        "firstSeen": first,
        "lastSeen": incident["lastSeen"],
        "incidentUntil": until.to_utc().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "qualityDimension": "Completeness",
        "checkCategory": "nulls",
        "highestSeverity": 3,
        "minimumSeverity": 1,
        "failedChecksCount": 2,
        "status": "open"
    });
    assert_eq!(incident, expected, "keys, casing and values; absent values are omitted, never null");
    assert!(incident["incidentHash"].as_i64().unwrap() >= 0);
    let path = format!("/api/incidents/dwh/{}/{}/{id}", expected["year"], expected["month"]);
    assert_eq!(app.get_json(&path).await, (200, expected));
}

#[tokio::test]
async fn the_list_honours_every_query_parameter() {
    let app = spawn_app().await;
    app.create_connection("dwh").await;
    let mut batch = Vec::new();
    for (index, table) in ["orders", "customers", "order_lines"].into_iter().enumerate() {
        for n in 0..=index {
            let mut item = check_result(table, "c", [1, 2, 3][index], &hours_ago(5 - n as i64));
            item["check_category"] = json!(["nulls", "volume", "nulls"][index]);
            item["quality_dimension"] = json!(["Completeness", "Completeness", "Validity"][index]);
            batch.push(item);
        }
    }
    app.post_results("dwh", &json!(batch)).await;
    let (_, all) = app.get_json("/api/incidents/dwh?order=table").await;
    let customers = all.as_array().unwrap().iter().find(|i| i["table"] == "customers").unwrap();
    let path = format!(
        "/api/incidents/dwh/{}/{}/{}",
        customers["year"],
        customers["month"],
        customers["incidentId"].as_str().unwrap()
    );
    assert_eq!(app.post_empty(&format!("{path}/status?status=resolved")).await.0, 204);

    let tables = |query: &'static str| {
        let app = &app;
        async move {
            let (status, list) = app.get_json(&format!("/api/incidents/dwh?{query}")).await;
            assert_eq!(status, 200, "{query}");
            list.as_array().unwrap().iter().map(|i| i["table"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
        }
    };
    assert_eq!(tables("order=table").await, ["order_lines", "orders"], "open and acknowledged by default");
    assert_eq!(tables("").await, ["orders", "order_lines"], "by total issues, ascending, by default");
    assert_eq!(tables("order=table&resolved=true").await, ["customers", "order_lines", "orders"]);
    assert_eq!(tables("open=false&resolved=true").await, ["customers"]);
    assert_eq!(tables("open=false").await, Vec::<String>::new());
    assert_eq!(tables("muted=true&acknowledged=false&open=false").await, Vec::<String>::new());
    assert_eq!(tables("severity=3").await, ["order_lines"]);
    assert_eq!(tables("filter=lines").await, ["order_lines"]);
    assert_eq!(tables("filter=order*&order=table&direction=desc").await, ["orders", "order_lines"]);
    assert_eq!(tables("dimension=Validity").await, ["order_lines"]);
    assert_eq!(tables("category=nulls&order=failedChecksCount&direction=desc").await, ["order_lines", "orders"]);
    assert_eq!(tables("order=table&limit=1&page=2").await, ["orders"]);
    assert_eq!(tables("months=1&order=table").await.len(), 2);

    for (query, field, reason) in [
        ("months=0", "months", "must be a whole number from 1 to 120"),
        ("open=yes", "open", "must be true or false"),
        ("severity=5", "severity", "must be a whole number from 1 to 3"),
        ("page=0", "page", "must be a whole number from 1 to 4294967295"),
        ("limit=5000", "limit", "must be a whole number from 1 to 1000"),
        ("direction=up", "direction", "must be asc or desc"),
    ] {
        let (status, body) = app.get_json(&format!("/api/incidents/dwh?{query}")).await;
        assert_eq!((status, body), (400, json!({"error": format!("{field} {reason}"), "field": field})), "{query}");
    }
    let (status, body) = app.get_json("/api/incidents/dwh?order=size").await;
    assert_eq!((status, body["field"].clone()), (400, json!("order")));
    let (status, body) = app.get_json("/api/incidents/ghost").await;
    assert_eq!((status, body), (404, json!({"error": "no connection named \"ghost\" exists"})));
}

#[tokio::test]
async fn status_changes_answer_204_and_are_visible_at_once() {
    let app = spawn_app().await;
    let path = app.one_incident().await;
    assert_eq!(app.post_empty(&format!("{path}/status?status=acknowledged")).await, (204, Value::Null));
    assert_eq!(app.get_json(&path).await.1["status"], "acknowledged");
    assert_eq!(app.post_empty(&format!("{path}/status?status=acknowledged")).await.0, 204, "a repeat is harmless");

    let (status, body) = app.post_empty(&format!("{path}/status?status=closed")).await;
    assert_eq!((status, body["field"].clone()), (400, json!("status")));
    assert_eq!(body["error"], "status must be one of open, acknowledged, resolved or muted");
    let (status, body) = app.post_empty(&format!("{path}/status")).await;
    assert_eq!((status, body["error"].clone()), (400, json!("status is required")));
}

#[tokio::test]
async fn unknown_incidents_and_bad_addresses_are_404s_and_400s() {
    let app = spawn_app().await;
    let path = app.one_incident().await;
    let id = path.rsplit('/').next().unwrap();
    let (status, body) = app.get_json("/api/incidents/dwh/2024/6/00000000-0000-0000-0000-000000000000").await;
    assert_eq!(
        (status, body["error"].clone()),
        (404, json!("no incident 00000000-0000-0000-0000-000000000000 exists on this connection"))
    );
    assert_eq!(app.get_json(&format!("/api/incidents/dwh/1999/1/{id}")).await.0, 404, "the wrong month");
    assert_eq!(app.get_json(&format!("/api/incidents/lake/2024/6/{id}")).await.0, 404);
    let (status, body) = app.get_json(&format!("/api/incidents/dwh/2024/13/{id}")).await;
    assert_eq!((status, body["field"].clone()), (400, json!("month")));
    assert_eq!(app.post_empty(&format!("/api/incidents/dwh/1999/1/{id}/status?status=muted")).await.0, 404);
}

#[tokio::test]
async fn the_issue_url_can_be_linked_and_cleared() {
    let app = spawn_app().await;
    let path = app.one_incident().await;
    let url = format!("{path}/issueurl?issueUrl=https%3A%2F%2Ftickets.example.com%2FDQ-42");
    assert_eq!(app.post_empty(&url).await.0, 204);
    assert_eq!(app.get_json(&path).await.1["issueUrl"], "https://tickets.example.com/DQ-42");
    let (status, body) = app.post_empty(&format!("{path}/issueurl?issueUrl=not%20a%20link")).await;
    assert_eq!((status, body["field"].clone()), (400, json!("issueUrl")));
    assert_eq!(app.post_empty(&format!("{path}/issueurl?issueUrl=")).await.0, 204);
    assert_eq!(app.get_json(&path).await.1.get("issueUrl"), None);
}

#[tokio::test]
async fn the_issues_of_an_incident_are_listed_newest_first() {
    let app = spawn_app().await;
    let path = app.one_incident().await;
    let (status, issues) = app.get_json(&format!("{path}/issues")).await;
    assert_eq!(status, 200);
    let checks: Vec<&str> = issues.as_array().unwrap().iter().map(|i| i["check_name"].as_str().unwrap()).collect();
    assert_eq!(checks, ["daily_nulls_count", "daily_nulls_percent"]);
    assert_eq!(issues[0]["severity"], 3);
    let (_, first_page) = app.get_json(&format!("{path}/issues?limit=1&page=2")).await;
    assert_eq!(first_page[0]["check_name"], "daily_nulls_percent");
}
