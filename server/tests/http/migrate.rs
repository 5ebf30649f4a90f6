//! `tocsin migrate-to`: a SQLite database, with incidents, their history, deliveries, sealed
//! addresses, users and tokens, copied into an empty PostgreSQL database that then holds the same.
//! Needs PostgreSQL (`TOCSIN_TEST_DATABASE_URL`); `scripts/test` runs it in its PostgreSQL pass.

use crate::{
    api::{loopback, received, recording_receiver},
    finish, spawn_app_with, stored_text, tocsin,
};
use app::{
    domain::{IncidentQuery, IncidentStatus, Timestamp},
    service::{AccessService, system_clock},
    storage::{Storage, Vault},
};
use reqwest::Method;
use serde_json::json;

async fn run(args: &[&str], database_url: &str, key: &str) -> (bool, String, String) {
    let mut command = tocsin();
    command.env("TOCSIN_DATABASE_URL", database_url).env("TOCSIN_SECRET_KEY", key).args(args);
    let output = finish(command, "").await;
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Everything the two databases hold that a user sees, compared one by one.
async fn assert_same(source: &dyn Storage, target: &dyn Storage) {
    let connections = source.list_connections().await.unwrap();
    assert_eq!(target.list_connections().await.unwrap(), connections);
    assert_eq!(target.default_notifications().await.unwrap(), source.default_notifications().await.unwrap());
    assert_eq!(target.api_tokens().await.unwrap(), source.api_tokens().await.unwrap());
    let query = IncidentQuery { statuses: IncidentStatus::ALL.to_vec(), limit: 1000, ..IncidentQuery::ui_default() };
    let now = Timestamp::from_millis(chrono::Utc::now().timestamp_millis());
    let mut incidents = 0;
    for connection in &connections {
        let grouping = source.incident_grouping(&connection.name).await.unwrap();
        assert_eq!(target.incident_grouping(&connection.name).await.unwrap(), grouping);
        let listed = source.list_incidents(&connection.name, &query, now).await.unwrap().unwrap();
        assert_eq!(target.list_incidents(&connection.name, &query, now).await.unwrap().unwrap(), listed);
        for incident in &listed.incidents {
            let id = incident.id.as_str();
            assert_eq!(target.incident_history(id).await.unwrap(), source.incident_history(id).await.unwrap());
            assert_eq!(target.incident_deliveries(id).await.unwrap(), source.incident_deliveries(id).await.unwrap());
            assert_eq!(
                target.incident_issues(id, 1000, 0).await.unwrap(),
                source.incident_issues(id, 1000, 0).await.unwrap()
            );
        }
        incidents += listed.incidents.len();
    }
    assert!(incidents >= 6, "only {incidents} incidents compared");
}

#[tokio::test]
#[ignore = "needs PostgreSQL (TOCSIN_TEST_DATABASE_URL); scripts/test runs it"]
async fn a_sqlite_database_moves_into_an_empty_postgresql_database_with_its_whole_history() {
    let server = app::testing::postgres_server()
        .expect("this test needs PostgreSQL: set TOCSIN_TEST_DATABASE_URL, as scripts/test does");
    let dir = tempfile::tempdir().unwrap();
    let sqlite = format!("sqlite://{}", dir.path().join("tocsin.db").display());
    let key = app::crypto::SecretKey::generate();
    let (receiver, seen) = recording_receiver().await;
    let secret = format!("token-{}", uuid::Uuid::new_v4().simple());

    // A SQLite database in use: sealed addresses, incidents notified and triaged, the demo's
    // incidents, and an API token.
    let app = spawn_app_with(|config| {
        loopback(config);
        config.database_url = sqlite.clone();
        config.secret_key = Some(app::crypto::SecretKey::parse(&key).unwrap());
    })
    .await;
    app.create_connection("dwh").await;
    let spec = json!({"incident_notification": {
        "incident_opened_addresses": format!("{receiver}/opened/{secret}"),
        "incident_acknowledged_addresses": format!("{receiver}/acknowledged/{secret}")}});
    assert_eq!(
        app.send_raw(Method::PUT, "/api/connections/dwh/incidentgrouping", Some(&spec.to_string())).await.0,
        204
    );
    let executed_at = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    for table in ["orders", "customers", "payments"] {
        let result = json!([{"schema": "public", "table": table, "check_name": "row_count", "check_category": "volume",
            "check_type": "monitoring", "quality_dimension": "Completeness", "severity": 2, "executed_at": executed_at}]);
        assert_eq!(
            app.send_raw(Method::POST, "/api/connections/dwh/checkresults", Some(&result.to_string())).await.0,
            200
        );
    }
    let (_, list) = app.send_raw(Method::GET, "/api/incidents/dwh", None).await;
    let first = &list.as_array().unwrap()[0];
    let path =
        format!("/api/incidents/dwh/{}/{}/{}", first["year"], first["month"], first["incidentId"].as_str().unwrap());
    assert_eq!(app.send_raw(Method::POST, &format!("{path}/status?status=acknowledged"), None).await.0, 204);
    assert_eq!(received(&seen, 4).await.len(), 4, "three opened, one acknowledged");
    let (ok, _, error) = run(&["demo"], &sqlite, &key).await;
    assert!(ok, "{error}");
    let (ok, token, error) = run(&["token", "create", "dqops"], &sqlite, &key).await;
    assert!(ok, "{error}");

    let target = app::testing::fresh_postgres_database(&server);
    let (ok, out, error) = run(&["migrate-to", &target], &sqlite, &key).await;
    assert!(ok, "{error}");
    assert!(out.starts_with("Copied "), "{out}");
    for count in ["connections 2", "api_tokens 1", "default_notifications 1"] {
        assert!(out.contains(count), "{count} missing: {out}");
    }
    assert!(error.contains("incidents") && error.contains("rows"), "the counts per table: {error}");

    let vault = || Vault::new(Some(app::crypto::Sealer::new(&app::crypto::SecretKey::parse(&key).unwrap())));
    let source = app::storage::open(&sqlite, vault()).await.unwrap();
    let copy = app::storage::open(&target, vault()).await.unwrap();
    assert_same(source.as_ref(), copy.as_ref()).await;
    let access = AccessService::new(copy.clone(), system_clock(), true);
    assert!(access.token_valid(token.trim()).await.unwrap(), "the token works on the copy");
    let text = stored_text(&target).await;
    assert!(text.contains("tocsin:v1:") && !text.contains(&secret), "the addresses stay sealed");

    // New rows on the copy take new ids; a second copy into it is refused, leaving it as it was.
    let (ok, _, error) = run(&["token", "create", "second"], &target, &key).await;
    assert!(ok, "{error}");
    let tokens = copy.api_tokens().await.unwrap();
    assert_eq!(tokens.len(), 2);
    assert!(tokens[0].id > tokens[1].id, "{tokens:?}");
    let (ok, _, error) = run(&["migrate-to", &target], &sqlite, &key).await;
    assert!(!ok);
    assert!(error.contains("is not empty (connections has 2 rows)"), "{error}");
    assert_eq!(copy.api_tokens().await.unwrap().len(), 2);
}
