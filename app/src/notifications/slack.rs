//! The Slack Block Kit message: a header that says what happened, the incident's facts in DQOps'
//! order, a "View incident" button, and a one-line `text` fallback. User text is escaped and
//! truncated so that the message stays within every Block Kit limit.

use super::{Links, Notification, facts, mrkdwn};
use crate::domain::IncidentStatus;
use serde_json::{Value, json};

const HEADER_MAX: usize = 150;
const SECTION_TEXT_MAX: usize = 3000;
const FIELD_MAX: usize = 2000;
const FIELDS_PER_SECTION: usize = 10;
/// Each fact's value is cut well below the field limit, so that a long check name stays readable.
const FACT_VALUE_MAX: usize = 300;
const MESSAGE_MAX: usize = 2800;

fn title(status: IncidentStatus) -> &'static str {
    match status {
        IncidentStatus::Open => "New data quality incident",
        IncidentStatus::Acknowledged => "Incident acknowledged",
        IncidentStatus::Resolved => "Incident resolved",
        IncidentStatus::Muted => "Incident muted",
    }
}

fn emoji(status: IncidentStatus) -> &'static str {
    match status {
        IncidentStatus::Open => ":rotating_light:",
        IncidentStatus::Acknowledged => ":eyes:",
        IncidentStatus::Resolved => ":white_check_mark:",
        IncidentStatus::Muted => ":mute:",
    }
}

/// The JSON body of the Block Kit message.
pub fn slack_message(notification: &Notification<'_>, links: &Links) -> String {
    let incident = notification.incident;
    let status = notification.status;
    let table = format!("{}.{}", incident.schema, incident.table);
    let incident_url = links.incident(incident);

    // Slack decodes &amp; &lt; &gt; in every text object, plain_text included, so escape there too.
    let prefix = format!("{} {}: ", emoji(status), title(status));
    let header = prefix.clone() + &mrkdwn::escape_truncated(&table, HEADER_MAX - prefix.chars().count());
    let summary = mrkdwn::truncate(
        &format!(
            "{} on {} in {}: {} severity, {} issues",
            title(status),
            mrkdwn::escape(&table),
            mrkdwn::escape(incident.connection.as_str()),
            incident.highest_severity.name(),
            incident.failed_checks_count
        ),
        SECTION_TEXT_MAX,
    );
    let intro = format!(
        "*{}* in *{}*",
        mrkdwn::link(&incident_url, &mrkdwn::truncate(&table, 400)),
        mrkdwn::escape_truncated(incident.connection.as_str(), 200)
    );

    let fields: Vec<Value> = facts(notification)
        .into_iter()
        .filter(|(label, _)| !matches!(*label, "Table" | "Message"))
        .map(|(label, value)| {
            let value = if label == "Issue url" {
                mrkdwn::link(&mrkdwn::truncate(&value, 1500), "Open the issue")
            } else {
                mrkdwn::escape_truncated(&value, FACT_VALUE_MAX)
            };
            json!({"type": "mrkdwn", "text": mrkdwn::truncate(&format!("*{label}*\n{value}"), FIELD_MAX)})
        })
        .collect();

    let mut blocks = vec![
        json!({"type": "header", "text": {"type": "plain_text", "text": header, "emoji": true}}),
        json!({"type": "section", "text": {"type": "mrkdwn", "text": intro}}),
    ];
    for chunk in fields.chunks(FIELDS_PER_SECTION) {
        blocks.push(json!({"type": "section", "fields": chunk}));
    }
    if let Some(message) = notification.message.filter(|m| !m.is_empty()) {
        let text = format!("*Message*\n{}", mrkdwn::escape_truncated(message, MESSAGE_MAX));
        blocks.push(json!({"type": "section", "text": {"type": "mrkdwn", "text": text}}));
    }
    blocks.push(json!({
        "type": "actions",
        "elements": [{
            "type": "button",
            "text": {"type": "plain_text", "text": "View incident"},
            "url": incident_url,
        }],
    }));
    serde_json::to_string(&json!({"text": summary, "blocks": blocks})).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notifications::tests::{incident, links};

    fn message(status: IncidentStatus) -> Value {
        let incident = incident();
        serde_json::from_str(&slack_message(&Notification { incident: &incident, status, message: None }, &links()))
            .unwrap()
    }

    #[test]
    fn a_new_incident_is_announced_with_its_facts_and_a_link() {
        assert_eq!(
            message(IncidentStatus::Open),
            json!({
                "text": "New data quality incident on maven_restaurant_ratings.consumers in first-connection: fatal severity, 10 issues",
                "blocks": [
                    {"type": "header", "text": {"type": "plain_text", "text": ":rotating_light: New data quality incident: maven_restaurant_ratings.consumers", "emoji": true}},
                    {"type": "section", "text": {"type": "mrkdwn", "text": "*<https://tocsin.example.com/incidents/first-connection/2023/9/588af5cf-8ab9-a296-0af4-126772dbb2c7|maven_restaurant_ratings.consumers>* in *first-connection*"}},
                    {"type": "section", "fields": [
                        {"type": "mrkdwn", "text": "*Data source*\nfirst-connection"},
                        {"type": "mrkdwn", "text": "*First seen*\n2023-09-04 10:13:19 UTC"},
                        {"type": "mrkdwn", "text": "*Quality dimension*\nReasonableness"},
                        {"type": "mrkdwn", "text": "*Check category*\nvolume"},
                        {"type": "mrkdwn", "text": "*Highest severity*\nfatal"},
                        {"type": "mrkdwn", "text": "*Total data quality issues*\n10"},
                        {"type": "mrkdwn", "text": "*Table priority*\n2"},
                        {"type": "mrkdwn", "text": "*Check type*\nmonitoring"}
                    ]},
                    {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "View incident"}, "url": "https://tocsin.example.com/incidents/first-connection/2023/9/588af5cf-8ab9-a296-0af4-126772dbb2c7"}]}
                ]
            })
        );
    }

    #[test]
    fn each_status_has_its_own_header_and_later_ones_show_last_seen() {
        for (status, header, fallback) in [
            (
                IncidentStatus::Acknowledged,
                ":eyes: Incident acknowledged: maven_restaurant_ratings.consumers",
                "Incident acknowledged on ",
            ),
            (
                IncidentStatus::Resolved,
                ":white_check_mark: Incident resolved: maven_restaurant_ratings.consumers",
                "Incident resolved on ",
            ),
            (IncidentStatus::Muted, ":mute: Incident muted: maven_restaurant_ratings.consumers", "Incident muted on "),
        ] {
            let message = message(status);
            assert_eq!(message["blocks"][0]["text"]["text"], header);
            assert_eq!(message["blocks"][2]["fields"][2]["text"], "*Last seen*\n2023-09-04 12:35:51 UTC");
            assert!(message["text"].as_str().unwrap().starts_with(fallback), "{}", message["text"]);
        }
    }

    #[test]
    fn user_text_cannot_ping_the_channel_or_inject_links() {
        let mut incident = incident();
        incident.table = "<!channel> & <https://evil.example|click>".into();
        let body = slack_message(
            &Notification { incident: &incident, status: IncidentStatus::Open, message: Some("<!here>") },
            &links(),
        );
        let message: Value = serde_json::from_str(&body).unwrap();
        assert!(!body.contains("<!channel>") && !body.contains("<!here>") && !body.contains("<https://evil"), "{body}");
        assert_eq!(
            message["blocks"][1]["text"]["text"],
            "*<https://tocsin.example.com/incidents/first-connection/2023/9/588af5cf-8ab9-a296-0af4-126772dbb2c7|maven_restaurant_ratings.&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;>* in *first-connection*"
        );
        assert_eq!(message["blocks"][3]["text"]["text"], "*Message*\n&lt;!here&gt;");
        assert_eq!(
            message["blocks"][0]["text"]["text"],
            ":rotating_light: New data quality incident: maven_restaurant_ratings.&lt;!channel&gt; &amp; &lt;https://evil.example|click&gt;"
        );
    }

    #[test]
    fn long_fields_are_truncated_to_stay_within_block_kit_limits() {
        let mut incident = incident();
        incident.table = "t".repeat(5000);
        incident.schema = "s&".repeat(3000);
        incident.check_name = Some("c".repeat(10_000));
        incident.data_group = Some("<".repeat(3000));
        incident.issue_url = Some(format!("https://tickets.example.com/{}", "x".repeat(2500)));
        let long = "m&".repeat(5000);
        for status in IncidentStatus::ALL {
            let header = slack_message(&Notification { incident: &incident, status, message: None }, &links());
            let header: Value = serde_json::from_str(&header).unwrap();
            assert!(header["blocks"][0]["text"]["text"].as_str().unwrap().chars().count() <= 150, "{status}");
        }
        let body = slack_message(
            &Notification { incident: &incident, status: IncidentStatus::Muted, message: Some(&long) },
            &links(),
        );
        let message: Value = serde_json::from_str(&body).unwrap();
        let blocks = message["blocks"].as_array().unwrap();
        assert!(blocks.len() <= 50);
        assert!(message["text"].as_str().unwrap().chars().count() <= 3000);
        assert!(blocks[0]["text"]["text"].as_str().unwrap().chars().count() <= 150);
        for block in blocks {
            if let Some(text) = block["text"]["text"].as_str().filter(|_| block["type"] == "section") {
                assert!(
                    (1..=3000).contains(&text.chars().count()),
                    "section text of {} characters",
                    text.chars().count()
                );
            }
            if let Some(fields) = block["fields"].as_array() {
                assert!(fields.len() <= 10);
                for field in fields {
                    assert!(field["text"].as_str().unwrap().chars().count() <= 2000);
                }
            }
            if let Some(elements) = block["elements"].as_array() {
                assert!(elements[0]["url"].as_str().unwrap().len() <= 3000);
            }
        }
        assert!(body.contains('…'), "cut text ends with an ellipsis");
    }
}
