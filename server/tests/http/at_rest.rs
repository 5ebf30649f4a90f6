//! Webhook URLs at rest: with `TOCSIN_SECRET_KEY` the database file holds none of them, and
//! notifications are still delivered; without the key, such a database is refused at start-up.

use crate::{
    api::{loopback, received, recording_receiver},
    spawn_app_with, stored_text,
};
use reqwest::Method;
use serde_json::json;

fn key() -> app::crypto::SecretKey {
    app::crypto::SecretKey::parse(&app::crypto::SecretKey::generate()).unwrap()
}

#[tokio::test]
async fn with_a_secret_key_the_database_file_holds_no_webhook_url_and_delivery_still_works() {
    let (receiver, seen) = recording_receiver().await;
    let secret = format!("token-{}", uuid::Uuid::new_v4().simple());
    let key = key();
    let app = spawn_app_with(|config| {
        loopback(config);
        config.secret_key = Some(key.clone());
    })
    .await;
    app.create_connection("dwh").await;
    let spec = json!({"incident_notification": {
        "incident_opened_addresses": format!("{receiver}/opened/{secret}"),
        "incident_acknowledged_addresses": format!("{receiver}/acknowledged/{secret}"),
        "filtered_notifications": {"finance": {"filter": {"table": "ledger*"}, "target": {
            "incident_opened_addresses": format!("{receiver}/finance/{secret}")}}}}});
    let (status, body) =
        app.send_raw(Method::PUT, "/api/connections/dwh/incidentgrouping", Some(&spec.to_string())).await;
    assert_eq!(status, 204, "{body}");
    let defaults = json!({"incident_resolved_addresses": format!("{receiver}/resolved/{secret}")});
    assert_eq!(app.send_raw(Method::PUT, "/api/defaults/defaultwebhooks", Some(&defaults.to_string())).await.0, 204);

    // A signed-in user (here: sign-in is off) still sees the addresses as typed.
    let (_, shown) = app.send_raw(Method::GET, "/api/connections/dwh/incidentgrouping", None).await;
    assert_eq!(shown["incident_notification"]["incident_opened_addresses"], format!("{receiver}/opened/{secret}"));
    assert!(app.page("/sources/connection/dwh/incidents").await.contains(&format!("/acknowledged/{secret}")));

    let executed_at = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    for table in ["orders", "ledger_2026"] {
        let result = json!([{"schema": "public", "table": table, "check_name": "row_count", "check_category": "volume",
            "check_type": "monitoring", "quality_dimension": "Completeness", "severity": 2, "executed_at": executed_at}]);
        let path = "/api/connections/dwh/checkresults";
        assert_eq!(app.send_raw(Method::POST, path, Some(&result.to_string())).await.0, 200);
    }
    let paths: Vec<String> = received(&seen, 2).await.into_iter().map(|(path, _)| path).collect();
    assert!(paths.contains(&format!("/opened/{secret}")) && paths.contains(&format!("/finance/{secret}")), "{paths:?}");

    let text = stored_text(&app.database_url()).await;
    assert!(!text.contains(&secret), "a webhook URL is stored in plain text");
    assert!(!text.contains(&receiver), "a webhook host is stored in plain text");
    assert!(text.contains("tocsin:v1:"), "the addresses are stored sealed");

    // Without the key (or with another) the database is refused, not misread.
    for wrong in [None, Some(key_text())] {
        let mut command = crate::tocsin();
        command
            .env("TOCSIN_DATABASE_URL", app.database_url())
            .env("TOCSIN_LISTEN", "127.0.0.1:0")
            .envs(wrong.iter().map(|key| ("TOCSIN_SECRET_KEY", key.as_str())));
        let output = crate::finish(command, "").await;
        assert!(!output.status.success());
        let error = String::from_utf8_lossy(&output.stderr);
        let expected = if wrong.is_none() { "TOCSIN_SECRET_KEY is not set" } else { "could not be decrypted" };
        assert!(error.contains(expected), "{error}");
        assert!(!error.contains(&secret), "{error}");
    }
}

fn key_text() -> String {
    app::crypto::SecretKey::generate()
}

#[tokio::test]
async fn addresses_saved_before_the_key_was_set_are_sealed_at_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let url = app::testing::fresh_database_url(&dir.path().join("tocsin.db"));
    let secret = format!("token-{}", uuid::Uuid::new_v4().simple());
    {
        let storage = app::storage::open(&url, Default::default()).await.unwrap();
        let notifications = app::service::NotificationService::new(
            storage,
            app::delivery::Outbound::new(Default::default(), Default::default()).unwrap(),
            app::notifications::NotifyContext {
                links: app::notifications::Links { base_url: "http://localhost/".into() },
                slack_hosts: vec![],
            },
            Default::default(),
        );
        let addresses = app::domain::NotificationAddresses {
            opened: Some(app::domain::WebhookAddresses::parse(&format!("https://hooks.example/{secret}")).unwrap()),
            ..Default::default()
        };
        notifications.save_defaults(&addresses, None).await.unwrap();
    }
    assert!(stored_text(&url).await.contains(&secret));
    let vault = app::storage::Vault::new(Some(app::crypto::Sealer::new(&key())));
    let storage = app::storage::open(&url, vault).await.unwrap();
    let defaults = storage.default_notifications().await.unwrap();
    assert_eq!(defaults.opened.unwrap().to_string(), format!("https://hooks.example/{secret}"));
    drop(storage);
    assert!(!stored_text(&url).await.contains(&secret), "the plain address is gone from the database");
}
