//! `tocsin demo`: creates a sample connection and feeds it five simulated days of check results,
//! with some triage along the way, so a newcomer sees grouped incidents at once.

use anyhow::Context as _;
use app::{
    domain::{
        Actor, ChangeSource, CheckResult, CheckType, ConnectionName, Description, IncidentQuery, IncidentStatus,
        MILLIS_PER_DAY, NewConnection, ProviderType, Severity, Timestamp,
    },
    service::{ConnectionService, IncidentRef, IncidentService, ServiceError},
};

/// The name of the sample connection.
pub const DEMO_CONNECTION: &str = "demo_shop";
const DAYS: u32 = 5;
const RUNS_PER_DAY: u32 = 6;

/// One check on one table, and how often it fails.
struct Check {
    table: &'static str,
    column: Option<&'static str>,
    name: &'static str,
    category: &'static str,
    dimension: &'static str,
    priority: i32,
    /// Percent of runs that fail, and the severity they fail with.
    failure_rate: u32,
    severity: Severity,
}

const CHECKS: [Check; 8] = [
    Check {
        table: "fact_sales",
        column: Some("amount"),
        name: "daily_nulls_percent",
        category: "nulls",
        dimension: "Completeness",
        priority: 1,
        failure_rate: 40,
        severity: Severity::Error,
    },
    Check {
        table: "fact_sales",
        column: None,
        name: "daily_row_count_change",
        category: "volume",
        dimension: "Consistency",
        priority: 1,
        failure_rate: 15,
        severity: Severity::Fatal,
    },
    Check {
        table: "dim_customer",
        column: Some("email"),
        name: "daily_invalid_email_format_percent",
        category: "patterns",
        dimension: "Validity",
        priority: 2,
        failure_rate: 50,
        severity: Severity::Warning,
    },
    Check {
        table: "dim_customer",
        column: Some("customer_id"),
        name: "daily_duplicate_percent",
        category: "uniqueness",
        dimension: "Uniqueness",
        priority: 2,
        failure_rate: 10,
        severity: Severity::Error,
    },
    Check {
        table: "orders",
        column: None,
        name: "daily_data_freshness",
        category: "timeliness",
        dimension: "Timeliness",
        priority: 1,
        failure_rate: 30,
        severity: Severity::Fatal,
    },
    Check {
        table: "orders",
        column: Some("status"),
        name: "daily_text_found_in_set_percent",
        category: "accepted_values",
        dimension: "Validity",
        priority: 1,
        failure_rate: 5,
        severity: Severity::Warning,
    },
    Check {
        table: "payments",
        column: Some("amount"),
        name: "daily_negative_values",
        category: "numeric",
        dimension: "Validity",
        priority: 3,
        failure_rate: 20,
        severity: Severity::Error,
    },
    Check {
        table: "payments",
        column: None,
        name: "daily_row_count_anomaly",
        category: "volume",
        dimension: "Consistency",
        priority: 3,
        failure_rate: 0,
        severity: Severity::Error,
    },
];

/// A small deterministic generator, so every demo run tells the same story.
struct Dice(u64);

impl Dice {
    fn roll(&mut self) -> u32 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        ((self.0 >> 33) % 100) as u32
    }
}

fn day_of_results(day_start: Timestamp, dice: &mut Dice) -> Vec<CheckResult> {
    let mut results = Vec::new();
    for run in 0..RUNS_PER_DAY {
        let executed_at =
            Timestamp::from_millis(day_start.millis() + i64::from(run) * MILLIS_PER_DAY / i64::from(RUNS_PER_DAY));
        for check in &CHECKS {
            let failed = dice.roll() < check.failure_rate;
            let (severity, actual) =
                if failed { (check.severity, 5.0 + f64::from(dice.roll()) / 4.0) } else { (Severity::Valid, 0.0) };
            results.push(CheckResult {
                schema: "public".into(),
                table: check.table.into(),
                column: check.column.map(Into::into),
                check_name: check.name.into(),
                check_category: check.category.into(),
                check_type: CheckType::Monitoring,
                quality_dimension: check.dimension.into(),
                severity,
                executed_at,
                data_group: None,
                table_priority: Some(check.priority),
                time_period: None,
                actual_value: Some(actual),
                expected_value: Some(0.0),
                message: failed.then(|| format!("{} is {actual:.1}, above the threshold of 0", check.name)),
                result_id: Some(format!("demo-{}-{run}-{}", executed_at.date_string(), check.name)),
            });
        }
    }
    results
}

/// Runs the demo against the services; returns a one-line summary.
pub async fn run(connections: &ConnectionService, incidents: &IncidentService) -> anyhow::Result<String> {
    let name = ConnectionName::parse(DEMO_CONNECTION).context("the demo connection name")?;
    let created = connections
        .create(NewConnection {
            name: name.clone(),
            provider_type: ProviderType::Postgresql,
            description: Description::parse(
                "A sample online shop, fed five simulated days of check results by `tocsin demo`.",
            )
            .context("the demo description")?,
        })
        .await;
    match created {
        Ok(_) | Err(ServiceError::ConnectionExists(_)) => {}
        Err(error) => return Err(anyhow::Error::new(error).context("could not create the demo connection")),
    }

    let first_day = incidents.now().start_of_day().minus_days(DAYS - 1);
    let mut dice = Dice(42);
    let (mut accepted, mut opened) = (0, 0);
    for day in 0..DAYS {
        let outcome = incidents.ingest(&name, &day_of_results(first_day.plus_days(day), &mut dice)).await?;
        accepted += outcome.accepted;
        opened += outcome.opened.len();
        if day == 1 {
            triage(incidents, &name).await?;
        }
    }
    Ok(format!(
        "The demo connection \"{name}\" received {accepted} check results over {DAYS} simulated days; {opened} incidents opened."
    ))
}

/// Someone acknowledges the worst open incident and resolves another, as a team would.
async fn triage(incidents: &IncidentService, name: &ConnectionName) -> anyhow::Result<()> {
    let actor = Actor { name: "demo".into(), source: ChangeSource::Api };
    let open = incidents
        .list(name, &IncidentQuery { statuses: vec![IncidentStatus::Open], ..IncidentQuery::ui_default() })
        .await?
        .incidents;
    for (incident, status) in open.iter().zip([IncidentStatus::Acknowledged, IncidentStatus::Resolved]) {
        let (year, month) = incident.year_month();
        let address = IncidentRef { connection: name.clone(), year, month, id: incident.id.clone() };
        incidents.change_status(&address, status, &actor).await?;
    }
    Ok(())
}
