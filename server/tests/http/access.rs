//! Sign-in when `TOCSIN_AUTH=on`: pages, server functions and the REST API refuse strangers;
//! sessions start with a fresh id and end on the server; tokens stop working when revoked;
//! failed sign-ins are limited per address. Also the `tocsin user` and `tocsin token` commands.

use crate::{TestApp, spawn_app_with, tocsin};
use app::{
    domain::{TokenName, UserName},
    service::{AccessService, system_clock},
};
use reqwest::{Method, StatusCode, header};
use serde_json::{Value, json};

const PASSWORD: &str = "correct horse battery";

async fn signed_in_app() -> (TestApp, AccessService) {
    let app = spawn_app_with(|config| config.auth = true).await;
    let storage = app::storage::open(&app.database_url(), Default::default()).await.unwrap();
    let access = AccessService::new(storage, system_clock(), true);
    access.add_user(&UserName::parse("admin").unwrap(), PASSWORD).await.unwrap();
    (app, access)
}

impl TestApp {
    /// Posts the sign-in form; returns the status, where it redirects and the session cookie set.
    async fn sign_in(&self, user: &str, password: &str, cookie: Option<&str>) -> (StatusCode, String, Option<String>) {
        let mut request = self.client.post(format!("{}/sign-in", self.origin)).form(&[
            ("user", user),
            ("password", password),
            ("next", "/incidents?page=2"),
        ]);
        if let Some(cookie) = cookie {
            request = request.header(header::COOKIE, format!("tocsin_session={cookie}"));
        }
        let response = request.send().await.unwrap();
        let location = response.headers().get(header::LOCATION).map(|l| l.to_str().unwrap().to_owned());
        let cookie = response.headers().get(header::SET_COOKIE).map(|c| c.to_str().unwrap().to_owned());
        if let Some(cookie) = &cookie {
            for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
                assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
            }
        }
        let session = cookie
            .and_then(|cookie| cookie.split(';').next().map(str::to_owned))
            .and_then(|pair| pair.strip_prefix("tocsin_session=").map(str::to_owned));
        (response.status(), location.unwrap_or_default(), session)
    }

    async fn get_with_session(&self, path: &str, session: &str) -> reqwest::Response {
        self.client
            .get(format!("{}{path}", self.origin))
            .header(header::COOKIE, format!("tocsin_session={session}"))
            .send()
            .await
            .unwrap()
    }

    async fn api_with_token(&self, path: &str, token: &str) -> StatusCode {
        let response = self.client.get(format!("{}{path}", self.origin)).bearer_auth(token).send().await.unwrap();
        response.status()
    }
}

#[tokio::test]
async fn with_sign_in_on_strangers_are_sent_to_sign_in_or_refused() {
    let (app, _) = signed_in_app().await;
    for (path, next) in [("/sources", "%2Fsources"), ("/incidents?resolved=true", "%2Fincidents%3Fresolved%3Dtrue")] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 303, "{path}");
        assert_eq!(response.headers()[header::LOCATION], format!("/sign-in?next={next}"), "{path}");
    }
    let page = app.page("/sign-in?next=%2Fsources").await;
    assert!(page.contains(r#"action="/sign-in""#) && page.contains(r#"value="/sources""#), "{page}");

    let response = app.client.post(format!("{}/rpc/list_connections", app.origin)).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert!(response.text().await.unwrap().starts_with("sign in first"));

    for (method, path) in [(Method::GET, "/api/connections"), (Method::POST, "/api/connections/x/checkresults")] {
        let response = app.client.request(method, format!("{}{path}", app.origin)).send().await.unwrap();
        assert_eq!(response.status(), 401, "{path}");
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], "Bearer");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"error": "send an API token: Authorization: Bearer tocsin_…"}));
    }
    assert_eq!(app.api_with_token("/api/connections", "tocsin_made-up").await, 401);
    // Load balancers still see whether Tocsin is up.
    assert_eq!(app.get("/api/healthcheck").await.status(), 200);
}

#[tokio::test]
async fn a_session_starts_with_a_new_id_at_each_sign_in_and_ends_at_sign_out() {
    let (app, _) = signed_in_app().await;
    let (status, location, session) = app.sign_in("admin", "wrong password!", None).await;
    assert_eq!((status, session), (StatusCode::SEE_OTHER, None));
    assert_eq!(location, "/sign-in?error=invalid&user=admin&next=%2Fincidents%3Fpage%3D2");
    let page = app.page(&location).await;
    assert!(page.contains("The user name or the password is wrong.") && page.contains(r#"value="admin""#));

    let (status, location, first) = app.sign_in("admin", PASSWORD, None).await;
    assert_eq!((status, location.as_str()), (StatusCode::SEE_OTHER, "/incidents?page=2"));
    let first = first.expect("a session cookie");
    assert_eq!(app.get_with_session("/sources", &first).await.status(), 200);

    // Signing in again (say, on a shared computer) replaces the session id the browser held.
    let (_, _, second) = app.sign_in("admin", PASSWORD, Some(&first)).await;
    let second = second.expect("a session cookie");
    assert_ne!(first, second);
    assert_eq!(app.get_with_session("/sources", &first).await.status(), 303, "the old id no longer works");
    let page = app.get_with_session("/settings/access", &second).await.text().await.unwrap();
    assert!(page.contains("Signed in as") && page.contains("admin"), "{page}");

    let response = app
        .client
        .post(format!("{}/sign-out", app.origin))
        .header(header::COOKIE, format!("tocsin_session={second}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 303);
    assert!(response.headers()[header::SET_COOKIE].to_str().unwrap().contains("Max-Age=0"));
    assert_eq!(app.get_with_session("/sources", &second).await.status(), 303, "the session ended on the server");
    let pool = app.raw().await;
    let sessions: i64 = sqlx::query_scalar("SELECT count(*) FROM sessions").fetch_one(&pool).await.unwrap();
    assert_eq!(sessions, 0);
}

#[tokio::test]
async fn server_functions_work_with_a_session() {
    let (app, _) = signed_in_app().await;
    let (_, _, session) = app.sign_in("admin", PASSWORD, None).await;
    let response = app
        .client
        .post(format!("{}/rpc/create_connection", app.origin))
        .header(header::COOKIE, format!("tocsin_session={}", session.unwrap()))
        .header(header::ACCEPT, "application/json")
        .form(&[("form[name]", "dwh"), ("form[provider_type]", "postgresql")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.json::<Value>().await.unwrap(), json!("Saved"));
}

#[tokio::test]
async fn an_api_token_works_until_it_is_revoked_and_only_its_hash_is_stored() {
    let (app, access) = signed_in_app().await;
    let (token, secret) = access.create_token(&TokenName::parse("dqops").unwrap()).await.unwrap();
    assert!(secret.starts_with("tocsin_") && secret.ends_with(&token.hint));
    assert_eq!(app.api_with_token("/api/connections", &secret).await, 200);
    assert_eq!(app.api_with_token("/api/connections", &format!("{secret}x")).await, 401);

    // Tokens made on the access page work the same.
    let (_, _, session) = app.sign_in("admin", PASSWORD, None).await;
    let response = app
        .client
        .post(format!("{}/rpc/create_api_token", app.origin))
        .header(header::COOKIE, format!("tocsin_session={}", session.clone().unwrap()))
        .header(header::ACCEPT, "application/json")
        .form(&[("name", "ci")])
        .send()
        .await
        .unwrap();
    let created: Value = response.json().await.unwrap();
    let from_page = created["Created"]["secret"].as_str().unwrap().to_owned();
    assert_eq!(app.api_with_token("/api/connections", &from_page).await, 200);

    assert!(access.revoke_token(token.id).await.unwrap());
    assert_eq!(app.api_with_token("/api/connections", &secret).await, 401, "a revoked token stops working");
    assert_eq!(app.api_with_token("/api/connections", &from_page).await, 200, "the other still works");

    let text = crate::stored_text(&app.database_url()).await;
    assert!(text.contains("admin"), "the stored text is read");
    assert!(!text.contains(&secret) && !text.contains(&from_page), "a token is stored in plain text");
    assert!(!text.contains(PASSWORD), "the password is stored in plain text");
}

#[tokio::test]
async fn the_sixth_failed_sign_in_within_a_minute_is_refused_with_429() {
    let (app, _) = signed_in_app().await;
    for attempt in 1..=5 {
        let (status, location, _) = app.sign_in("admin", "wrong password!", None).await;
        assert_eq!(status, 303, "attempt {attempt}");
        assert!(location.contains("error=invalid"), "attempt {attempt}");
    }
    let response = app
        .client
        .post(format!("{}/sign-in", app.origin))
        .form(&[("user", "admin"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 429, "even the right password waits");
    let wait: u64 = response.headers()[header::RETRY_AFTER].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(response.text().await.unwrap().starts_with("too many failed sign-in attempts from your address;"));
}

#[tokio::test]
async fn failed_sign_ins_spread_over_two_instances_on_one_database_are_limited_together() {
    let (first, _) = signed_in_app().await;
    let second = spawn_app_with(|config| {
        config.auth = true;
        config.database_url = first.database_url();
    })
    .await;
    for attempt in 1..=5 {
        let app = if attempt % 2 == 0 { &first } else { &second };
        let (status, location, _) = app.sign_in("admin", "wrong password!", None).await;
        assert_eq!((status, location.contains("error=invalid")), (StatusCode::SEE_OTHER, true), "attempt {attempt}");
    }
    for app in [&first, &second] {
        let response = app
            .client
            .post(app.url("/sign-in"))
            .form(&[("user", "admin"), ("password", PASSWORD)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 429, "the sixth attempt waits, on either instance");
    }
}

#[tokio::test]
async fn users_and_tokens_are_managed_from_the_command_line() {
    let app = spawn_app_with(|config| config.auth = true).await;
    let database = app.database_url();
    let run = async |args: &[&str], input: &str| {
        let mut command = tocsin();
        command.env("TOCSIN_DATABASE_URL", &database).args(args);
        let output = crate::finish(command, input).await;
        (
            output.status.success(),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let (ok, _, error) = run(&["user", "add", "ops"], "short\n").await;
    assert!(!ok && error.contains("the password must be at least 10 characters long"), "{error}");
    let (ok, out, error) = run(&["user", "add", "ops"], &format!("{PASSWORD}\n")).await;
    assert!(ok && out.contains("Added user ops."), "{out}{error}");
    let (ok, _, error) = run(&["user", "add", "ops"], &format!("{PASSWORD}\n")).await;
    assert!(!ok && error.contains("a user named \"ops\" already exists"), "{error}");
    assert_eq!(app.sign_in("ops", PASSWORD, None).await.0, 303);
    assert!(app.sign_in("ops", PASSWORD, None).await.2.is_some());

    let (ok, token, error) = run(&["token", "create", "dqops production"], "").await;
    assert!(ok, "{error}");
    let token = token.trim().to_owned();
    assert!(token.starts_with("tocsin_"), "{token}");
    assert_eq!(app.api_with_token("/api/connections", &token).await, 200);
    let (_, list, _) = run(&["token", "list"], "").await;
    assert!(list.contains("dqops production") && list.contains(&token[token.len() - 4..]) && !list.contains(&token));
    let id = list.split_whitespace().next().unwrap().to_owned();
    let (ok, out, _) = run(&["token", "revoke", &id], "").await;
    assert!(ok && out.contains("Revoked"), "{out}");
    assert_eq!(app.api_with_token("/api/connections", &token).await, 401);
    let (ok, _, error) = run(&["token", "revoke", &id], "").await;
    assert!(!ok && error.contains("no active token"), "{error}");
}
