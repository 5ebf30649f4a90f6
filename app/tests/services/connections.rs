//! Connections and their incident settings.

use crate::{TestDb, name};
use app::{
    domain::{
        DayCount, Description, GroupingLevel, IncidentGrouping, IncidentStatus, MinimumSeverity, NewConnection,
        ProviderType, WebhookAddresses,
    },
    service::ServiceError,
};

pub fn new_connection(text: &str) -> NewConnection {
    NewConnection {
        name: name(text),
        provider_type: ProviderType::Postgresql,
        description: Description::parse("Sales warehouse").unwrap(),
    }
}

fn customised() -> IncidentGrouping {
    let mut grouping = IncidentGrouping {
        grouping_level: GroupingLevel::TableDimensionCategoryName,
        minimum_severity: MinimumSeverity::Fatal,
        divide_by_data_groups: true,
        max_incident_length_days: DayCount::new(3650).unwrap(),
        mute_for_days: DayCount::new(1).unwrap(),
        disabled: true,
        ..IncidentGrouping::default()
    };
    let addresses = |text: &str| Some(WebhookAddresses::parse(text).unwrap());
    grouping
        .notification
        .set(IncidentStatus::Open, addresses("https://hooks.slack.com/services/T/B/1, https://a.example/2"));
    grouping.notification.set(IncidentStatus::Resolved, addresses("http://127.0.0.1:9/r"));
    grouping.notification.set(IncidentStatus::Muted, Some(WebhookAddresses::default()));
    grouping
}

#[tokio::test]
async fn opening_a_database_creates_its_file_and_folders() {
    let db = TestDb::sqlite();
    db.connections().await;
    assert!(db.dir.path().join("nested/folder/tocsin.db").is_file());
}

#[tokio::test]
async fn a_new_connection_is_listed_and_starts_with_dqops_defaults() {
    let db = TestDb::new();
    let service = db.connections().await;
    service.create(new_connection("zeta")).await.unwrap();
    service.create(new_connection("alpha")).await.unwrap();

    let names: Vec<String> = service.list().await.unwrap().into_iter().map(|c| c.name.to_string()).collect();
    assert_eq!(names, ["alpha", "zeta"]);
    let alpha = service.get(&name("alpha")).await.unwrap();
    assert_eq!(alpha.provider_type, ProviderType::Postgresql);
    assert_eq!(alpha.description.as_str(), "Sales warehouse");
    assert_eq!(service.incident_grouping(&name("alpha")).await.unwrap(), IncidentGrouping::default());
}

#[tokio::test]
async fn a_duplicate_connection_name_is_refused_and_the_first_is_kept() {
    let db = TestDb::new();
    let service = db.connections().await;
    service.create(new_connection("dwh")).await.unwrap();
    let mut second = new_connection("dwh");
    second.provider_type = ProviderType::Mysql;
    assert!(matches!(service.create(second).await, Err(ServiceError::ConnectionExists(n)) if n.as_str() == "dwh"));
    assert_eq!(service.get(&name("dwh")).await.unwrap().provider_type, ProviderType::Postgresql);
    assert_eq!(service.list().await.unwrap().len(), 1);
}

#[tokio::test]
async fn saved_incident_settings_survive_reopening_the_database() {
    let db = TestDb::new();
    let service = db.connections().await;
    service.create(new_connection("dwh")).await.unwrap();
    service.save_incident_grouping(&name("dwh"), &customised(), None).await.unwrap();
    drop(service);

    let reopened = db.connections().await;
    let stored = reopened.incident_grouping(&name("dwh")).await.unwrap();
    assert_eq!(stored, customised());
    assert_eq!(stored.notification.acknowledged, None, "an unset address stays unset");
    assert_eq!(stored.notification.muted, Some(WebhookAddresses::default()), "an explicit empty list stays explicit");
}

#[tokio::test]
async fn settings_of_one_connection_do_not_touch_another() {
    let db = TestDb::new();
    let service = db.connections().await;
    service.create(new_connection("one")).await.unwrap();
    service.create(new_connection("two")).await.unwrap();
    service.save_incident_grouping(&name("one"), &customised(), None).await.unwrap();
    assert_eq!(service.incident_grouping(&name("two")).await.unwrap(), IncidentGrouping::default());
}

#[tokio::test]
async fn unknown_connections_are_reported_as_not_found() {
    let db = TestDb::new();
    let service = db.connections().await;
    let missing = name("missing");
    assert!(matches!(service.get(&missing).await, Err(ServiceError::ConnectionNotFound(_))));
    assert!(matches!(service.incident_grouping(&missing).await, Err(ServiceError::ConnectionNotFound(_))));
    assert!(matches!(
        service.save_incident_grouping(&missing, &customised(), None).await,
        Err(ServiceError::ConnectionNotFound(_))
    ));
    assert!(matches!(
        service.update_description(&missing, &Description::default()).await,
        Err(ServiceError::ConnectionNotFound(_))
    ));
}

#[tokio::test]
async fn a_description_can_be_edited() {
    let db = TestDb::new();
    let service = db.connections().await;
    service.create(new_connection("dwh")).await.unwrap();
    service.update_description(&name("dwh"), &Description::parse("EU sales").unwrap()).await.unwrap();
    assert_eq!(service.get(&name("dwh")).await.unwrap().description.as_str(), "EU sales");
}

#[tokio::test]
async fn a_corrupt_stored_value_is_an_internal_error_not_a_crash() {
    let db = TestDb::new();
    let service = db.connections().await;
    service.create(new_connection("dwh")).await.unwrap();
    let pool = db.raw().await;
    sqlx::query("UPDATE connections SET incident_opened_addresses = 'not a url'").execute(&pool).await.unwrap();
    assert!(matches!(service.incident_grouping(&name("dwh")).await, Err(ServiceError::Internal(_))));
}

#[tokio::test]
async fn the_database_refuses_values_the_domain_forbids() {
    let db = TestDb::new();
    let service = db.connections().await;
    service.create(new_connection("dwh")).await.unwrap();
    let pool = db.raw().await;
    for statement in [
        "UPDATE connections SET max_incident_length_days = 0",
        "UPDATE connections SET mute_for_days = 3651",
        "UPDATE connections SET grouping_level = 'schema'",
        "UPDATE connections SET minimum_severity = 'valid'",
    ] {
        assert!(sqlx::query(statement).execute(&pool).await.is_err(), "{statement}");
    }
}
