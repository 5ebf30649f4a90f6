//! The protections every deployment gets: same-origin checks, security headers, the body limit
//! and the request timeout, seen from outside.

use crate::{spawn_app, spawn_app_with};
use reqwest::{Method, header};
use serde_json::{Value, json};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const CONNECTION_FORM: &str = "form%5Bname%5D=dwh&form%5Bprovider_type%5D=postgresql";

#[tokio::test]
async fn cross_site_requests_to_server_functions_and_the_api_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let foreign: [(&str, &str); 3] =
        [("sec-fetch-site", "cross-site"), ("sec-fetch-site", "same-site"), ("origin", "http://evil.example")];
    for (name, value) in foreign {
        let response = app
            .client
            .post(format!("{}/rpc/create_connection", app.origin))
            .header(name, value)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(CONNECTION_FORM)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{name}: {value}");
        assert!(response.text().await.unwrap().contains("cross-site request refused"), "{name}: {value}");

        let response = app
            .client
            .put(format!("{}/api/defaults/defaultwebhooks", app.origin))
            .header(name, value)
            .json(&json!({"incident_opened_addresses": "https://hooks.slack.com/services/T0/B0/x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 403, "{name}: {value}");
        let body: Value = response.json().await.unwrap();
        assert!(body["error"].as_str().unwrap().contains("cross-site request refused"), "{body}");
    }
    assert_eq!(app.send_raw(Method::GET, "/api/connections", None).await, (200, json!([])), "nothing was created");
    assert_eq!(app.send_raw(Method::GET, "/api/defaults/defaultwebhooks", None).await, (200, json!({})));

    // What the browser sends from Tocsin's own pages passes, and so does a script (no such headers).
    let same_origin = [("sec-fetch-site", "same-origin".to_owned()), ("origin", app.origin.clone())];
    for (index, (name, value)) in same_origin.iter().enumerate() {
        let form = format!("form%5Bname%5D=dwh{index}&form%5Bprovider_type%5D=postgresql");
        let response = app
            .client
            .post(format!("{}/rpc/create_connection", app.origin))
            .header(*name, value)
            .header(header::ACCEPT, "application/json")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{name}");
    }
    let (status, _) = app.send_raw(Method::PUT, "/api/defaults/defaultwebhooks", Some("{}")).await;
    assert_eq!(status, 204);
    let (_, connections) = app.send_raw(Method::GET, "/api/connections", None).await;
    assert_eq!(connections.as_array().unwrap().len(), 2, "{connections}");
}

#[tokio::test]
async fn reading_is_never_refused_as_cross_site() {
    // A link from Slack to an incident is a cross-site navigation.
    let app = spawn_app().await;
    let response =
        app.client.get(format!("{}/sources", app.origin)).header("sec-fetch-site", "cross-site").send().await.unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn every_response_carries_the_security_headers() {
    let app = spawn_app().await;
    app.create_connection("dwh").await;
    let requests = [
        (Method::GET, "/sources"),
        (Method::GET, "/sources/connection/dwh/incidents"),
        (Method::GET, "/no/such/page"),
        (Method::GET, "/"),
        (Method::GET, "/api/connections"),
        (Method::GET, "/api/no/such/thing"),
        (Method::POST, "/rpc/list_connections"),
    ];
    for (method, path) in requests {
        let response = app.client.request(method, format!("{}{path}", app.origin)).send().await.unwrap();
        let headers = response.headers();
        let csp = headers.get(header::CONTENT_SECURITY_POLICY).map(|v| v.to_str().unwrap()).unwrap_or_default();
        for directive in
            ["script-src 'self' 'wasm-unsafe-eval'", "frame-ancestors 'none'", "form-action 'self'", "base-uri 'none'"]
        {
            assert!(csp.contains(directive), "{path}: {directive} missing from {csp:?}");
        }
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp}");
        assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        assert_eq!(headers[header::REFERRER_POLICY], "no-referrer", "{path}");
    }
}

#[tokio::test]
async fn a_page_lets_only_its_own_inline_scripts_run_with_a_fresh_nonce_each_time() {
    let app = spawn_app().await;
    let mut nonces = Vec::new();
    for _ in 0..2 {
        let response = app.client.get(format!("{}/sources", app.origin)).send().await.unwrap();
        let csp = response.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
        let nonce = csp
            .split_once("'nonce-")
            .and_then(|(_, rest)| rest.split_once('\''))
            .map(|(nonce, _)| nonce.to_owned())
            .unwrap_or_else(|| panic!("a page's policy names no nonce: {csp}"));
        assert!(nonce.len() >= 16, "{nonce}");
        assert!(!csp.contains("unsafe-inline"), "no other inline script may run: {csp}");
        let html = response.text().await.unwrap();
        let inline_scripts: Vec<&str> =
            html.split("<script").skip(1).filter(|tag| !tag.split('>').next().unwrap().contains("src=")).collect();
        assert!(!inline_scripts.is_empty(), "the hydration loader is an inline script");
        for script in inline_scripts {
            let opening = script.split('>').next().unwrap();
            assert!(opening.contains(&format!("nonce=\"{nonce}\"")), "an inline script without the nonce: {opening}");
        }
        nonces.push(nonce);
    }
    assert_ne!(nonces[0], nonces[1], "every page gets a new nonce");
}

#[tokio::test]
async fn bodies_over_64_kib_are_refused_with_413_but_check_results_may_be_larger() {
    let app = spawn_app().await;
    app.create_connection("dwh").await;
    let big = "x".repeat(65 * 1024);

    let response = app
        .client
        .post(format!("{}/rpc/update_connection_description", app.origin))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!("connection=dwh&description={big}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(response.text().await.unwrap(), "the request body is larger than 64 KiB; send less at once");

    let body = json!({"incident_opened_addresses": format!("https://hooks.slack.com/services/{big}")}).to_string();
    let (status, error) = app.send_raw(Method::PUT, "/api/defaults/defaultwebhooks", Some(&body)).await;
    assert_eq!((status, error), (413, json!({"error": "the request body is larger than 64 KiB; send less at once"})));
    assert_eq!(app.send_raw(Method::GET, "/api/defaults/defaultwebhooks", None).await.1, json!({}), "nothing saved");

    // 400 check results of ~300 bytes each: over 64 KiB, well under the ingest's 16 MiB.
    let executed_at = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let results: Vec<Value> = (0..400)
        .map(|i| {
            json!({"schema": "public", "table": format!("table_{i}"), "check_name": "row_count",
                   "check_category": "volume", "check_type": "monitoring", "quality_dimension": "Completeness",
                   "severity": 0, "executed_at": executed_at, "actual_value": 1.0, "result_id": format!("r{i}")})
        })
        .collect();
    let body = Value::from(results).to_string();
    assert!(body.len() > 64 * 1024);
    let (status, outcome) = app.send_raw(Method::POST, "/api/connections/dwh/checkresults", Some(&body)).await;
    assert_eq!((status, &outcome["accepted"]), (200, &json!(400)), "{outcome}");
}

#[tokio::test]
async fn a_request_that_takes_too_long_is_answered_408_and_saves_nothing() {
    let app = spawn_app_with(|config| config.http_timeout = Duration::from_millis(300)).await;
    let address = app.origin.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    // The body promises 100 bytes and sends 10: the server waits for the rest until the timeout.
    let head = format!(
        "POST /rpc/create_connection HTTP/1.1\r\nHost: {address}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\nform%5Bnam"
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    let read = async {
        let mut buffer = [0u8; 4096];
        while !answer.contains("saved.") {
            let n = stream.read(&mut buffer).await.unwrap();
            if n == 0 {
                break;
            }
            answer.push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    };
    tokio::time::timeout(Duration::from_secs(10), read).await.expect("the server answered in time");
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("the request took longer than 0.3 s and was stopped; nothing of it was saved"), "{answer}");
    assert_eq!(app.send_raw(Method::GET, "/api/connections", None).await, (200, json!([])));
}

#[tokio::test]
async fn no_server_function_changes_anything_through_a_get() {
    // A GET can be triggered cross-site by a link or an image; state changes must not use one.
    let app = spawn_app().await;
    for path in [
        "/rpc/create_connection?form%5Bname%5D=dwh&form%5Bprovider_type%5D=postgresql",
        "/rpc/save_default_notifications?form%5Bincident_opened_addresses%5D=https%3A%2F%2Fh.example%2F",
        "/rpc/create_api_token?name=x",
    ] {
        let status = app.get(path).await.status();
        assert!(status.is_client_error(), "{path}: {status}");
    }
    assert_eq!(app.send_raw(Method::GET, "/api/connections", None).await, (200, json!([])));
    assert_eq!(app.send_raw(Method::GET, "/api/defaults/defaultwebhooks", None).await, (200, json!({})));
}
