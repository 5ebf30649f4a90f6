//! What a notification says: the Slack Block Kit message and DQOps' webhook JSON, built from an
//! incident as it stood at a transition. Pure functions, tested against literal JSON.

mod dqops;
pub mod mrkdwn;
mod plan;
mod slack;

pub use crate::domain::{Format, PlannedDelivery};
pub use dqops::dqops_message;
pub use plan::plan;
pub use slack::slack_message;

use crate::domain::{Incident, IncidentStatus, Timestamp};

/// Where links in messages point: the public base URL of this Tocsin, ending with `/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Links {
    pub base_url: String,
}

impl Links {
    pub fn incident(&self, incident: &Incident) -> String {
        let (year, month) = incident.year_month();
        format!(
            "{}{}",
            self.base_url,
            crate::paths::incident(&incident.connection, year, month, &incident.id).trim_start_matches('/')
        )
    }

    /// The connection's incidents, filtered to the incident's table.
    pub fn table(&self, incident: &Incident) -> String {
        format!(
            "{}{}?filter={}",
            self.base_url,
            crate::paths::incidents_of(&incident.connection).trim_start_matches('/'),
            crate::paths::encode(&incident.table)
        )
    }
}

/// What storage needs to turn a transition into deliveries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NotifyContext {
    pub links: Links,
    /// Hosts whose URLs get Slack messages (`hooks.slack.com` unless configured).
    pub slack_hosts: Vec<String>,
}

/// One notification: the incident as it stood at the transition, and the status it entered.
#[derive(Clone, Debug, PartialEq)]
pub struct Notification<'a> {
    pub incident: &'a Incident,
    pub status: IncidentStatus,
    /// A filtered notification's message, copied into the payload.
    pub message: Option<&'a str>,
}

/// The body to post for `notification` in `format`.
pub fn render(notification: &Notification<'_>, format: Format, links: &Links) -> String {
    match format {
        Format::Slack => slack_message(notification, links),
        Format::Dqops => dqops_message(notification, links),
    }
}

/// `2023-09-01 12:30:20 UTC`.
pub(crate) fn human_time(time: Timestamp) -> String {
    time.iso8601().get(..19).unwrap_or_default().replace('T', " ") + " UTC"
}

/// The facts of an incident in DQOps' order (§4.2), as (label, value) pairs; absent ones are skipped.
/// Values are plain text; each format escapes them its own way.
pub(crate) fn facts(notification: &Notification<'_>) -> Vec<(&'static str, String)> {
    let incident = notification.incident;
    let mut facts = vec![
        ("Data source", incident.connection.to_string()),
        ("Table", format!("{}.{}", incident.schema, incident.table)),
        ("First seen", human_time(incident.first_seen)),
    ];
    if notification.status != IncidentStatus::Open {
        facts.push(("Last seen", human_time(incident.last_seen)));
    }
    let mut optional = |label, value: Option<String>| {
        if let Some(value) = value.filter(|v| !v.is_empty()) {
            facts.push((label, value));
        }
    };
    optional("Quality dimension", incident.quality_dimension.clone());
    optional("Check category", incident.check_category.clone());
    optional("Highest severity", Some(incident.highest_severity.name().to_owned()));
    optional("Total data quality issues", Some(incident.failed_checks_count.to_string()));
    optional("Table priority", incident.table_priority.filter(|p| *p > 0).map(|p| p.to_string()));
    optional("Issue url", incident.issue_url.clone());
    optional("Data group name", incident.data_group.clone());
    optional("Check type", incident.check_type.map(|t| t.as_str().to_owned()));
    optional("Check name", incident.check_name.clone());
    optional("Message", notification.message.map(str::to_owned));
    facts
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::domain::{CheckType, ConnectionName, Severity, WebhookUrl};

    pub fn incident() -> Incident {
        Incident {
            id: "588af5cf-8ab9-a296-0af4-126772dbb2c7".into(),
            connection: ConnectionName::parse("first-connection").unwrap(),
            incident_hash: 6_380_182_093_858_185_878,
            schema: "maven_restaurant_ratings".into(),
            table: "consumers".into(),
            table_priority: Some(2),
            data_group: None,
            quality_dimension: Some("Reasonableness".into()),
            check_category: Some("volume".into()),
            check_type: Some(CheckType::Monitoring),
            check_name: None,
            highest_severity: Severity::Fatal,
            minimum_severity: Severity::Warning,
            first_seen: Timestamp::from_millis(1_693_822_399_255),
            last_seen: Timestamp::from_millis(1_693_830_951_327),
            incident_until: Timestamp::from_millis(1_699_006_399_255),
            failed_checks_count: 10,
            issue_url: None,
            status: IncidentStatus::Open,
            muted_until: None,
        }
    }

    pub fn links() -> Links {
        Links { base_url: "https://tocsin.example.com/".into() }
    }

    #[test]
    fn slack_hosts_get_slack_messages_and_others_dqops_json() {
        let hosts = vec!["hooks.slack.com".to_owned()];
        let url = |u: &str| WebhookUrl::parse(u).unwrap();
        assert_eq!(Format::for_url(&url("https://hooks.slack.com/services/T/B/x"), &hosts), Format::Slack);
        assert_eq!(Format::for_url(&url("https://HOOKS.SLACK.COM/services/T/B/x"), &hosts), Format::Slack);
        assert_eq!(Format::for_url(&url("https://hooks.slack.com.evil.example/x"), &hosts), Format::Dqops);
        assert_eq!(Format::for_url(&url("https://example.com/hooks.slack.com"), &hosts), Format::Dqops);
    }

    #[test]
    fn links_point_at_the_incident_and_its_table_under_the_base_url() {
        let incident = incident();
        assert_eq!(
            links().incident(&incident),
            "https://tocsin.example.com/incidents/first-connection/2023/9/588af5cf-8ab9-a296-0af4-126772dbb2c7"
        );
        assert_eq!(links().table(&incident), "https://tocsin.example.com/incidents/first-connection?filter=consumers");
    }
}
