//! DQOps' `IncidentNotificationMessage`: the JSON every non-Slack webhook receives, so existing
//! DQOps receivers keep working. snake_case, absent values omitted, times in ISO-8601 UTC.

use super::{Links, Notification, facts, mrkdwn};
use crate::domain::IncidentStatus;
use serde::Serialize;

#[derive(Serialize)]
struct IncidentNotificationMessage<'a> {
    incident_id: &'a str,
    connection: &'a str,
    schema: &'a str,
    table: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    table_priority: Option<i32>,
    incident_hash: i64,
    first_seen: String,
    last_seen: String,
    incident_until: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_group_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quality_dimension: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    check_category: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    check_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    check_name: Option<&'a str>,
    highest_severity: u8,
    failed_checks_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    issue_url: Option<&'a str>,
    status: IncidentStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<&'a str>,
    text: String,
}

/// The JSON body, in DQOps' field order.
pub fn dqops_message(notification: &Notification<'_>, links: &Links) -> String {
    let incident = notification.incident;
    let body = IncidentNotificationMessage {
        incident_id: &incident.id,
        connection: incident.connection.as_str(),
        schema: &incident.schema,
        table: &incident.table,
        table_priority: incident.table_priority,
        incident_hash: incident.incident_hash,
        first_seen: incident.first_seen.iso8601(),
        last_seen: incident.last_seen.iso8601(),
        incident_until: incident.incident_until.iso8601(),
        data_group_name: incident.data_group.as_deref(),
        quality_dimension: incident.quality_dimension.as_deref(),
        check_category: incident.check_category.as_deref(),
        check_type: incident.check_type.map(|t| t.as_str()),
        check_name: incident.check_name.as_deref(),
        highest_severity: incident.highest_severity.level(),
        failed_checks_count: incident.failed_checks_count,
        issue_url: incident.issue_url.as_deref(),
        status: notification.status,
        message: notification.message,
        text: markdown_text(notification, links),
    };
    serde_json::to_string(&body).unwrap_or_default()
}

/// DQOps' block-quoted mrkdwn rendering (§4.2), with user text escaped and links without spaces.
pub fn markdown_text(notification: &Notification<'_>, links: &Links) -> String {
    let incident = notification.incident;
    let table = mrkdwn::link(&links.table(incident), &format!("{}.{}", incident.schema, incident.table));
    let header = match notification.status {
        IncidentStatus::Open => format!("New incident detected in {table} table."),
        status => format!("The incident in {table} table has been {status}."),
    };
    let mut lines = vec![header, String::new()];
    for (label, value) in facts(notification).into_iter().filter(|(label, _)| *label != "Table") {
        let value = if label == "Issue url" { mrkdwn::link(&value, "LINK") } else { mrkdwn::escape(&value) };
        lines.push(format!("{label}: {value}"));
    }
    lines.push(String::new());
    lines.push(mrkdwn::link(&links.incident(incident), "View in Tocsin"));
    lines.iter().map(|line| format!("> {line} \n")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notifications::tests::{incident, links};
    use serde_json::json;

    #[test]
    fn a_generic_webhook_gets_dqops_json_with_snake_case_keys_and_no_nulls() {
        let incident = incident();
        let body = dqops_message(
            &Notification { incident: &incident, status: IncidentStatus::Acknowledged, message: Some("SLA: 4 hours") },
            &links(),
        );
        let value: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(
            value,
            json!({
                "incident_id": "588af5cf-8ab9-a296-0af4-126772dbb2c7",
                "connection": "first-connection",
                "schema": "maven_restaurant_ratings",
                "table": "consumers",
                "table_priority": 2,
                "incident_hash": 6380182093858185878_i64,
                "first_seen": "2023-09-04T10:13:19.255Z",
                "last_seen": "2023-09-04T12:35:51.327Z",
                "incident_until": "2023-11-03T10:13:19.255Z",
                "quality_dimension": "Reasonableness",
                "check_category": "volume",
                "check_type": "monitoring",
                "highest_severity": 3,
                "failed_checks_count": 10,
                "status": "acknowledged",
                "message": "SLA: 4 hours",
                "text": "> The incident in <https://tocsin.example.com/incidents/first-connection?filter=consumers|maven_restaurant_ratings.consumers> table has been acknowledged. \n\
                         >  \n\
                         > Data source: first-connection \n\
                         > First seen: 2023-09-04 10:13:19 UTC \n\
                         > Last seen: 2023-09-04 12:35:51 UTC \n\
                         > Quality dimension: Reasonableness \n\
                         > Check category: volume \n\
                         > Highest severity: fatal \n\
                         > Total data quality issues: 10 \n\
                         > Table priority: 2 \n\
                         > Check type: monitoring \n\
                         > Message: SLA: 4 hours \n\
                         >  \n\
                         > <https://tocsin.example.com/incidents/first-connection/2023/9/588af5cf-8ab9-a296-0af4-126772dbb2c7|View in Tocsin> \n"
            })
        );
        assert!(body.starts_with(r#"{"incident_id":"588af5cf"#), "DQOps' field order: {body}");
        assert!(!body.contains("null"));
    }

    #[test]
    fn user_text_in_the_markdown_is_escaped() {
        let mut incident = incident();
        incident.table = "<!channel> & co".into();
        let text =
            markdown_text(&Notification { incident: &incident, status: IncidentStatus::Open, message: None }, &links());
        assert!(text.starts_with("> New incident detected in <https://tocsin.example.com/incidents/first-connection?filter=%3C%21channel%3E%20%26%20co|maven_restaurant_ratings.&lt;!channel&gt; &amp; co> table. \n"), "{text}");
        assert!(!text.contains("<!channel>"));
    }
}
