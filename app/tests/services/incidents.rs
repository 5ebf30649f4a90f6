//! Ingesting check results, grouping them into incidents, and triaging the incidents.

use crate::{TestClock, TestDb, connections::new_connection, name};
use app::{
    domain::{
        Actor, ChangeSource, CheckResult, CheckType, DayCount, GroupingLevel, Incident, IncidentGrouping,
        IncidentOrder, IncidentQuery, IncidentStatus, MinimumSeverity, Severity, Timestamp,
    },
    service::{IncidentRef, IncidentService, ServiceError},
};

const DAY: u32 = 1;

fn start() -> Timestamp {
    Timestamp::from_date(2024, 6, 3).plus_days(0)
}

pub fn at_day(day: u32) -> Timestamp {
    Timestamp::from_millis(start().millis() + 3_600_000).plus_days(day)
}

pub fn result(table: &str, day: u32, severity: Severity) -> CheckResult {
    CheckResult {
        schema: "public".into(),
        table: table.into(),
        column: Some("amount".into()),
        check_name: "daily_nulls_percent".into(),
        check_category: "nulls".into(),
        check_type: CheckType::Monitoring,
        quality_dimension: "Completeness".into(),
        severity,
        executed_at: at_day(day),
        data_group: None,
        table_priority: Some(2),
        time_period: None,
        actual_value: Some(12.5),
        expected_value: Some(0.0),
        message: Some("too many nulls".into()),
        result_id: None,
    }
}

struct Setup {
    _db: TestDb,
    clock: TestClock,
    incidents: IncidentService,
}

/// A database with connection `dwh` using `settings`, and a clock at day 0.
async fn setup(settings: IncidentGrouping) -> Setup {
    let db = TestDb::new();
    let connections = db.connections().await;
    connections.create(new_connection("dwh")).await.unwrap();
    connections.save_incident_grouping(&name("dwh"), &settings, None).await.unwrap();
    let clock = TestClock::at(at_day(0));
    let incidents = clock.service(db.storage().await);
    Setup { _db: db, clock, incidents }
}

fn all_statuses() -> IncidentQuery {
    IncidentQuery { statuses: IncidentStatus::ALL.to_vec(), months: 12, limit: 1000, ..IncidentQuery::ui_default() }
}

impl Setup {
    async fn ingest(&self, results: &[CheckResult]) -> app::storage::IngestOutcome {
        self.incidents.ingest(&name("dwh"), results).await.unwrap()
    }

    /// Every incident of `dwh`, oldest first.
    async fn incidents(&self) -> Vec<Incident> {
        let query = IncidentQuery { order: IncidentOrder::FirstSeen, descending: false, ..all_statuses() };
        self.incidents.list(&name("dwh"), &query).await.unwrap().incidents
    }

    async fn set_status(&self, incident: &Incident, status: IncidentStatus) {
        let actor = Actor { name: "alice".into(), source: ChangeSource::Ui };
        self.incidents.change_status(&address(incident), status, &actor).await.unwrap();
    }
}

fn address(incident: &Incident) -> IncidentRef {
    let (year, month) = incident.year_month();
    IncidentRef { connection: incident.connection.clone(), year, month, id: incident.id.clone() }
}

#[tokio::test]
async fn a_failed_result_opens_an_incident_with_its_first_transition() {
    let s = setup(IncidentGrouping::default()).await;
    let outcome = s.ingest(&[result("fact_sales", 0, Severity::Error)]).await;
    assert_eq!((outcome.accepted, outcome.opened.len(), outcome.updated), (1, 1, 0));

    let incidents = s.incidents().await;
    assert_eq!(incidents.len(), 1);
    let incident = &incidents[0];
    assert_eq!(incident.id, outcome.opened[0]);
    assert_eq!(incident.status, IncidentStatus::Open);
    assert_eq!((incident.schema.as_str(), incident.table.as_str()), ("public", "fact_sales"));
    assert_eq!(incident.quality_dimension.as_deref(), Some("Completeness"));
    assert_eq!(incident.check_category.as_deref(), Some("nulls"));
    assert_eq!(incident.check_name, None, "not part of the default grouping level");
    assert_eq!(incident.highest_severity, Severity::Error);
    assert_eq!(incident.minimum_severity, Severity::Warning);
    assert_eq!(incident.failed_checks_count, 1);
    assert_eq!(incident.table_priority, Some(2));
    assert_eq!(incident.first_seen, at_day(0));
    assert_eq!(incident.incident_until, at_day(60));
    assert!(uuid_like(&incident.id), "{}", incident.id);

    let history = s.incidents.history(&address(incident)).await.unwrap();
    assert_eq!(history.len(), 1);
    assert_eq!((history[0].from, history[0].to), (None, IncidentStatus::Open));
    assert_eq!(history[0].by.source, ChangeSource::Checks);

    let issues = s.incidents.issues(&address(incident), 1, 50).await.unwrap();
    assert_eq!(issues, vec![result("fact_sales", 0, Severity::Error)]);
}

fn uuid_like(id: &str) -> bool {
    let parts: Vec<usize> = id.split('-').map(str::len).collect();
    parts == [8, 4, 4, 4, 12] && id.chars().all(|c| c == '-' || c.is_ascii_hexdigit())
}

#[tokio::test]
async fn matching_results_join_the_incident_and_raise_its_severity_and_last_seen() {
    let s = setup(IncidentGrouping::default()).await;
    let outcome = s.ingest(&[result("t", 2, Severity::Warning), result("t", 1, Severity::Warning)]).await;
    assert_eq!(
        (outcome.opened.len(), outcome.updated),
        (1, 0),
        "joining an incident opened in the same batch is not an update"
    );
    let outcome = s.ingest(&[result("t", 3, Severity::Fatal)]).await;
    assert_eq!((outcome.opened.len(), outcome.updated), (0, 1));

    let incidents = s.incidents().await;
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].failed_checks_count, 3);
    assert_eq!(incidents[0].highest_severity, Severity::Fatal);
    assert_eq!(incidents[0].first_seen, at_day(1), "the earliest result opened it");
    assert_eq!(incidents[0].last_seen, at_day(3));
    let issues = s.incidents.issues(&address(&incidents[0]), 1, 50).await.unwrap();
    let days: Vec<Timestamp> = issues.iter().map(|issue| issue.executed_at).collect();
    assert_eq!(days, [at_day(3), at_day(2), at_day(1)], "newest first");
    let history = s.incidents.history(&address(&incidents[0])).await.unwrap();
    assert_eq!(history.len(), 1, "joining issues is not a transition");
}

#[tokio::test]
async fn each_grouping_level_splits_incidents_by_its_components() {
    let variants = || {
        let base = result("t", 0, Severity::Error);
        let other_dimension = CheckResult { quality_dimension: "Validity".into(), ..base.clone() };
        let other_category = CheckResult { check_category: "volume".into(), ..base.clone() };
        let other_type = CheckResult {
            check_type: CheckType::Partitioned,
            time_period: Some(at_day(0).start_of_day()),
            ..base.clone()
        };
        let other_name = CheckResult { check_name: "daily_row_count".into(), ..base.clone() };
        vec![base, other_dimension, other_category, other_type, other_name]
    };
    let expected = [
        (GroupingLevel::Table, 1),
        (GroupingLevel::TableDimension, 2),
        (GroupingLevel::TableDimensionCategory, 3),
        (GroupingLevel::TableDimensionCategoryType, 4),
        (GroupingLevel::TableDimensionCategoryName, 5),
    ];
    for (level, count) in expected {
        let s = setup(IncidentGrouping { grouping_level: level, ..IncidentGrouping::default() }).await;
        let outcome = s.ingest(&variants()).await;
        assert_eq!(outcome.opened.len(), count, "{level}");
        let total: u32 = s.incidents().await.iter().map(|i| i.failed_checks_count).sum();
        assert_eq!(total, 5, "{level}: every result joined an incident");
    }
}

#[tokio::test]
async fn the_minimum_severity_decides_which_results_count() {
    let s = setup(IncidentGrouping { minimum_severity: MinimumSeverity::Error, ..IncidentGrouping::default() }).await;
    let outcome = s
        .ingest(&[result("t", 0, Severity::Valid), result("t", 0, Severity::Warning), result("u", 0, Severity::Error)])
        .await;
    assert_eq!(outcome.accepted, 3, "every result is stored");
    let incidents = s.incidents().await;
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].table, "u");
    assert_eq!(incidents[0].minimum_severity, Severity::Error);
}

#[tokio::test]
async fn valid_results_never_open_incidents() {
    let s = setup(IncidentGrouping::default()).await;
    let outcome = s.ingest(&[result("t", 0, Severity::Valid)]).await;
    assert_eq!((outcome.accepted, outcome.opened.len()), (1, 0));
    assert!(s.incidents().await.is_empty());
}

#[tokio::test]
async fn data_groups_divide_incidents_only_when_enabled() {
    let grouped = |group: &str| CheckResult { data_group: Some(group.into()), ..result("t", 0, Severity::Error) };
    let s = setup(IncidentGrouping { divide_by_data_groups: true, ..IncidentGrouping::default() }).await;
    s.ingest(&[grouped("EU"), grouped("US"), grouped("EU")]).await;
    let mut groups: Vec<Option<String>> = s.incidents().await.into_iter().map(|i| i.data_group).collect();
    groups.sort();
    assert_eq!(groups, [Some("EU".to_owned()), Some("US".to_owned())]);

    let s = setup(IncidentGrouping::default()).await;
    s.ingest(&[grouped("EU"), grouped("US")]).await;
    let incidents = s.incidents().await;
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].data_group, None, "the data group is not part of an undivided incident");
}

#[tokio::test]
async fn an_issue_after_the_maximum_incident_length_opens_a_new_incident() {
    let s =
        setup(IncidentGrouping { max_incident_length_days: DayCount::new(5).unwrap(), ..IncidentGrouping::default() })
            .await;
    s.ingest(&[result("t", 0, Severity::Error)]).await;
    s.ingest(&[result("t", 5, Severity::Error)]).await;
    assert_eq!(s.incidents().await.len(), 1, "day 5 is still inside a 5-day incident");
    s.ingest(&[result("t", 6, Severity::Error)]).await;
    let incidents = s.incidents().await;
    assert_eq!(incidents.len(), 2);
    assert_eq!(incidents[0].failed_checks_count, 2);
    assert_eq!(incidents[1].first_seen, at_day(6));
}

#[tokio::test]
async fn a_resolved_incident_is_not_reopened_by_a_new_issue() {
    let s = setup(IncidentGrouping::default()).await;
    s.ingest(&[result("t", 0, Severity::Error)]).await;
    let first = s.incidents().await.remove(0);
    s.set_status(&first, IncidentStatus::Resolved).await;

    let outcome = s.ingest(&[result("t", 1, Severity::Error)]).await;
    assert_eq!(outcome.opened.len(), 1);
    let incidents = s.incidents().await;
    assert_eq!(incidents.len(), 2);
    assert_eq!((incidents[0].status, incidents[0].failed_checks_count), (IncidentStatus::Resolved, 1));
    assert_eq!((incidents[1].status, incidents[1].failed_checks_count), (IncidentStatus::Open, 1));
}

#[tokio::test]
async fn a_muted_incident_absorbs_issues_until_its_mute_window_ends() {
    let s = setup(IncidentGrouping {
        max_incident_length_days: DayCount::new(5).unwrap(),
        mute_for_days: DayCount::new(10).unwrap(),
        ..IncidentGrouping::default()
    })
    .await;
    s.ingest(&[result("t", 0, Severity::Error)]).await;
    s.clock.set(at_day(1));
    let incident = s.incidents().await.remove(0);
    s.set_status(&incident, IncidentStatus::Muted).await;

    s.clock.set(at_day(8));
    let outcome = s.ingest(&[result("t", 8, Severity::Fatal)]).await;
    assert_eq!((outcome.opened.len(), outcome.updated), (0, 1), "inside the mute window, past the incident's length");
    let muted = s.incidents().await.remove(0);
    assert_eq!((muted.status, muted.failed_checks_count), (IncidentStatus::Muted, 2));
    assert_eq!(muted.muted_until, Some(at_day(11)));

    s.clock.set(at_day(12));
    let outcome = s.ingest(&[result("t", 12, Severity::Error)]).await;
    assert_eq!(outcome.opened.len(), 1, "after the mute window a new incident opens");
    assert_eq!(s.incidents().await.len(), 2);
}

#[tokio::test]
async fn disabled_incident_creation_stores_results_but_opens_nothing() {
    let s = setup(IncidentGrouping { disabled: true, ..IncidentGrouping::default() }).await;
    let outcome = s.ingest(&[result("t", 0, Severity::Fatal)]).await;
    assert_eq!((outcome.accepted, outcome.opened.len()), (1, 0));
    assert!(s.incidents().await.is_empty());
}

#[tokio::test]
async fn profiling_results_and_old_partitions_open_nothing() {
    let s = setup(IncidentGrouping::default()).await;
    let profiling = CheckResult { check_type: CheckType::Profiling, ..result("t", 0, Severity::Fatal) };
    let old_partition = CheckResult {
        check_type: CheckType::Partitioned,
        time_period: Some(at_day(0).minus_days(46)),
        ..result("u", 0, Severity::Fatal)
    };
    let recent_partition = CheckResult { time_period: Some(at_day(0).minus_days(45)), ..old_partition.clone() };
    let outcome = s.ingest(&[profiling, old_partition, recent_partition]).await;
    assert_eq!((outcome.accepted, outcome.opened.len()), (3, 1));
}

#[tokio::test]
async fn a_result_sent_twice_with_the_same_id_is_counted_once() {
    let s = setup(IncidentGrouping::default()).await;
    let with_id = |id: &str, day| CheckResult { result_id: Some(id.into()), ..result("t", day, Severity::Error) };
    let outcome = s.ingest(&[with_id("a", 0), with_id("b", 0)]).await;
    assert_eq!((outcome.accepted, outcome.duplicates), (2, 0));
    let outcome = s.ingest(&[with_id("a", 0), with_id("c", 1), with_id("c", 1)]).await;
    assert_eq!((outcome.accepted, outcome.duplicates), (1, 2));
    assert_eq!(s.incidents().await[0].failed_checks_count, 3);
}

#[tokio::test]
async fn ingesting_into_an_unknown_connection_fails() {
    let s = setup(IncidentGrouping::default()).await;
    let error = s.incidents.ingest(&name("ghost"), &[result("t", 0, Severity::Error)]).await.unwrap_err();
    assert!(matches!(error, ServiceError::ConnectionNotFound(n) if n.as_str() == "ghost"));
}

#[tokio::test]
async fn status_changes_are_recorded_with_who_when_and_where_and_a_repeat_records_nothing() {
    let s = setup(IncidentGrouping::default()).await;
    s.ingest(&[result("t", 0, Severity::Error)]).await;
    let incident = s.incidents().await.remove(0);
    let api = Actor { name: "ci-bot".into(), source: ChangeSource::Api };
    s.clock.set(at_day(2));
    let change = s.incidents.change_status(&address(&incident), IncidentStatus::Acknowledged, &api).await.unwrap();
    assert_eq!(
        change.map(|c| (c.from, c.to, c.at)),
        Some((Some(IncidentStatus::Open), IncidentStatus::Acknowledged, at_day(2)))
    );
    let repeat = s.incidents.change_status(&address(&incident), IncidentStatus::Acknowledged, &api).await.unwrap();
    assert_eq!(repeat, None);
    s.set_status(&incident, IncidentStatus::Open).await;

    let history = s.incidents.history(&address(&incident)).await.unwrap();
    let rows: Vec<_> = history.iter().map(|h| (h.from, h.to, h.by.name.as_str(), h.by.source)).collect();
    assert_eq!(
        rows,
        [
            (None, IncidentStatus::Open, "check results", ChangeSource::Checks),
            (Some(IncidentStatus::Open), IncidentStatus::Acknowledged, "ci-bot", ChangeSource::Api),
            (Some(IncidentStatus::Acknowledged), IncidentStatus::Open, "alice", ChangeSource::Ui),
        ]
    );
}

#[tokio::test]
async fn an_incident_is_addressed_by_connection_year_month_and_id() {
    let s = setup(IncidentGrouping::default()).await;
    s.ingest(&[result("t", 0, Severity::Error)]).await;
    let incident = s.incidents().await.remove(0);
    assert_eq!(incident.year_month(), (2024, 6));
    assert_eq!(s.incidents.get(&address(&incident)).await.unwrap(), incident);

    let wrong_month = IncidentRef { month: 7, ..address(&incident) };
    assert!(matches!(s.incidents.get(&wrong_month).await, Err(ServiceError::IncidentNotFound(_))));
    let wrong_id = IncidentRef { id: "00000000-0000-0000-0000-000000000000".into(), ..address(&incident) };
    assert!(matches!(s.incidents.get(&wrong_id).await, Err(ServiceError::IncidentNotFound(_))));
    let wrong_connection = IncidentRef { connection: name("lake"), ..address(&incident) };
    assert!(matches!(s.incidents.get(&wrong_connection).await, Err(ServiceError::ConnectionNotFound(_))));
}

#[tokio::test]
async fn the_issue_url_can_be_set_and_cleared() {
    let s = setup(IncidentGrouping::default()).await;
    s.ingest(&[result("t", 0, Severity::Error)]).await;
    let incident = s.incidents().await.remove(0);
    let url = app::domain::WebhookUrl::parse("https://tickets.example.com/DQ-42").unwrap();
    s.incidents.set_issue_url(&address(&incident), Some(&url)).await.unwrap();
    assert_eq!(s.incidents().await[0].issue_url.as_deref(), Some("https://tickets.example.com/DQ-42"));
    s.incidents.set_issue_url(&address(&incident), None).await.unwrap();
    assert_eq!(s.incidents().await[0].issue_url, None);
}

#[tokio::test]
async fn the_incident_list_filters_sorts_and_pages() {
    let s = setup(IncidentGrouping { grouping_level: GroupingLevel::Table, ..IncidentGrouping::default() }).await;
    s.clock.set(at_day(40));
    let mut batch = Vec::new();
    for (index, table) in ["orders", "customers", "order_lines", "payments"].into_iter().enumerate() {
        let severity = [Severity::Warning, Severity::Error, Severity::Fatal, Severity::Error][index];
        for day in 0..=index as u32 {
            batch.push(result(table, 30 + day * DAY, severity));
        }
    }
    let old = CheckResult { executed_at: Timestamp::from_date(2024, 1, 15), ..result("archive", 0, Severity::Error) };
    batch.push(old);
    s.ingest(&batch).await;
    let all = s.incidents().await;
    let payments = all.iter().find(|i| i.table == "payments").unwrap();
    s.set_status(payments, IncidentStatus::Acknowledged).await;
    let customers = all.iter().find(|i| i.table == "customers").unwrap();
    s.set_status(customers, IncidentStatus::Resolved).await;

    let tables = |query: IncidentQuery| {
        let incidents = s.incidents.clone();
        async move {
            let page = incidents.list(&name("dwh"), &query).await.unwrap();
            (page.total, page.incidents.into_iter().map(|i| i.table).collect::<Vec<_>>())
        }
    };
    let base =
        IncidentQuery { order: IncidentOrder::Table, descending: false, months: 3, ..IncidentQuery::rest_default() };
    assert_eq!(tables(base.clone()).await, (3, vec!["order_lines".into(), "orders".into(), "payments".into()]));
    assert_eq!(
        tables(IncidentQuery { statuses: vec![IncidentStatus::Resolved], ..base.clone() }).await,
        (1, vec!["customers".into()])
    );
    // Now is mid-July: six months start in February, seven reach the January incident.
    assert_eq!(tables(IncidentQuery { months: 6, ..all_statuses_like(&base) }).await.0, 4);
    assert_eq!(tables(IncidentQuery { months: 7, ..all_statuses_like(&base) }).await.0, 5);
    assert_eq!(tables(IncidentQuery { months: 1, ..all_statuses_like(&base) }).await.0, 4, "this month only");
    assert_eq!(
        tables(IncidentQuery { severity: Some(Severity::Error), ..base.clone() }).await,
        (1, vec!["payments".into()])
    );
    assert_eq!(
        tables(IncidentQuery { filter: Some("order".into()), ..base.clone() }).await,
        (2, vec!["order_lines".into(), "orders".into()])
    );
    assert_eq!(
        tables(IncidentQuery { filter: Some("ORDER* lines".into()), ..base.clone() }).await,
        (1, vec!["order_lines".into()]),
        "every token must match, case-insensitively, with * as a wildcard"
    );
    assert_eq!(tables(IncidentQuery { filter: Some("%".into()), ..base.clone() }).await.0, 0, "% is not a wildcard");
    assert_eq!(
        tables(IncidentQuery { order: IncidentOrder::FailedChecksCount, descending: true, ..base.clone() }).await.1,
        ["payments", "order_lines", "orders"]
    );
    assert_eq!(
        tables(IncidentQuery { limit: 2, page: 2, ..base.clone() }).await,
        (3, vec!["payments".into()]),
        "the second page of two"
    );
    assert_eq!(tables(IncidentQuery { dimension: Some("Validity".into()), ..base.clone() }).await.0, 0);
    assert_eq!(tables(IncidentQuery { statuses: vec![], ..base.clone() }).await.0, 0);
}

fn all_statuses_like(query: &IncidentQuery) -> IncidentQuery {
    IncidentQuery { statuses: IncidentStatus::ALL.to_vec(), ..query.clone() }
}

#[tokio::test]
async fn the_overview_counts_open_and_acknowledged_incidents_by_severity() {
    let s = setup(IncidentGrouping { grouping_level: GroupingLevel::Table, ..IncidentGrouping::default() }).await;
    s.ingest(&[result("a", 0, Severity::Warning), result("b", 0, Severity::Fatal), result("c", 0, Severity::Fatal)])
        .await;
    let incidents = s.incidents().await;
    s.set_status(incidents.iter().find(|i| i.table == "b").unwrap(), IncidentStatus::Acknowledged).await;
    s.set_status(incidents.iter().find(|i| i.table == "a").unwrap(), IncidentStatus::Resolved).await;
    let counts = s.incidents.counts().await.unwrap();
    assert_eq!(counts.len(), 1);
    assert_eq!((counts[0].open.warning, counts[0].open.fatal), (0, 1));
    assert_eq!(counts[0].acknowledged.fatal, 1);
    assert_eq!(counts[0].open.total() + counts[0].acknowledged.total(), 2);
}

#[tokio::test]
async fn a_failed_transition_leaves_the_incident_and_its_history_untouched() {
    let db = TestDb::new();
    let connections = db.connections().await;
    connections.create(new_connection("dwh")).await.unwrap();
    let clock = TestClock::at(at_day(0));
    let incidents = clock.service(db.storage().await);
    incidents.ingest(&name("dwh"), &[result("t", 0, Severity::Error)]).await.unwrap();

    // Make the history insert fail: the status update before it must roll back with it.
    db.refuse_transitions_when("refuse_mutes", "NEW.to_status = 'muted'").await;
    let query = all_statuses();
    let incident = incidents.list(&name("dwh"), &query).await.unwrap().incidents.remove(0);
    let actor = Actor { name: "alice".into(), source: ChangeSource::Ui };
    assert!(incidents.change_status(&address(&incident), IncidentStatus::Muted, &actor).await.is_err());
    let after = incidents.get(&address(&incident)).await.unwrap();
    assert_eq!((after.status, after.muted_until), (IncidentStatus::Open, None));
    assert_eq!(incidents.history(&address(&incident)).await.unwrap().len(), 1);

    // And a batch whose second incident cannot record its transition stores nothing at all.
    db.refuse_transitions_when("refuse_second", "(SELECT count(*) FROM incidents) > 2").await;
    let batch = [result("u", 1, Severity::Error), result("v", 1, Severity::Error)];
    assert!(incidents.ingest(&name("dwh"), &batch).await.is_err());
    let stored: i64 =
        sqlx::query_scalar("SELECT count(*) FROM check_results").fetch_one(&db.raw().await).await.unwrap();
    assert_eq!(stored, 1, "only the first batch's result");
    assert_eq!(incidents.list(&name("dwh"), &query).await.unwrap().total, 1);
}

#[tokio::test]
async fn concurrent_batches_and_status_changes_all_succeed() {
    let s = setup(IncidentGrouping { grouping_level: GroupingLevel::Table, ..IncidentGrouping::default() }).await;
    s.ingest(&[result("t0", 0, Severity::Error)]).await;
    let first = s.incidents().await.remove(0);
    let mut tasks = Vec::new();
    for worker in 0..8u32 {
        let incidents = s.incidents.clone();
        let incident = address(&first);
        tasks.push(tokio::spawn(async move {
            for round in 0..5u32 {
                let batch: Vec<CheckResult> = (0..20)
                    .map(|n| result(&format!("t{}", (worker * 7 + round + n) % 12), 1, Severity::Error))
                    .collect();
                incidents.ingest(&name("dwh"), &batch).await?;
                let status = [IncidentStatus::Acknowledged, IncidentStatus::Open][(round % 2) as usize];
                let actor = Actor { name: format!("worker {worker}"), source: ChangeSource::Api };
                incidents.change_status(&incident, status, &actor).await?;
            }
            Ok::<_, ServiceError>(())
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let total: u32 = s.incidents().await.iter().map(|i| i.failed_checks_count).sum();
    assert_eq!(total, 1 + 8 * 5 * 20, "every result joined exactly one incident");
    assert_eq!(s.incidents().await.len(), 12, "one incident per table, never two");
}

#[tokio::test]
async fn concurrent_changes_are_committed_together_and_a_failing_one_undoes_only_itself() {
    let db = TestDb::new();
    let connections = db.connections().await;
    connections.create(new_connection("dwh")).await.unwrap();
    let clock = TestClock::at(at_day(0));
    let incidents = clock.service(db.storage().await);
    let tables: Vec<String> = (0..30).map(|n| format!("t{n}")).collect();
    let results: Vec<CheckResult> = tables.iter().map(|t| result(t, 0, Severity::Error)).collect();
    incidents.ingest(&name("dwh"), &results).await.unwrap();
    db.refuse_transitions_when("refuse_mutes", "NEW.to_status = 'muted'").await;
    let all = incidents.list(&name("dwh"), &all_statuses()).await.unwrap().incidents;
    assert_eq!(all.len(), 30);

    // Every third change is refused by the trigger; the others must all be committed.
    let actor = Actor { name: "alice".into(), source: ChangeSource::Api };
    let wanted = |n: usize| if n.is_multiple_of(3) { IncidentStatus::Muted } else { IncidentStatus::Acknowledged };
    let changes = all.iter().enumerate().map(|(n, incident)| {
        let (incidents, actor) = (&incidents, &actor);
        async move { incidents.change_status(&address(incident), wanted(n), actor).await }
    });
    let outcomes = futures::future::join_all(changes).await;

    for (n, (incident, outcome)) in all.iter().zip(outcomes).enumerate() {
        let after = incidents.get(&address(incident)).await.unwrap();
        let history = incidents.history(&address(incident)).await.unwrap();
        if wanted(n) == IncidentStatus::Muted {
            assert!(outcome.is_err(), "change {n} should have been refused");
            assert_eq!((after.status, history.len()), (IncidentStatus::Open, 1), "change {n} left a trace");
        } else {
            assert!(outcome.is_ok(), "change {n}: {outcome:?}");
            assert_eq!((after.status, history.len()), (IncidentStatus::Acknowledged, 2), "change {n} was lost");
        }
    }
}
