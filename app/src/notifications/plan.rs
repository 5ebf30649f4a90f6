//! Which messages a transition sends: the routing's addresses for the status the incident
//! entered, each with the format its address gets and the body rendered then. Pure, so that every
//! storage backend records the same plan inside the transition's transaction.

use super::{Format, Notification, NotifyContext, render};
use crate::domain::{Incident, IncidentFacts, IncidentStatus, PlannedDelivery, Routing};

/// The messages announcing that `incident` entered `status`, in the routing's order: none when
/// nothing is configured for the status.
pub fn plan(
    incident: &Incident,
    status: IncidentStatus,
    routing: &Routing,
    context: &NotifyContext,
) -> Vec<PlannedDelivery> {
    routing
        .route(&IncidentFacts::of_incident(incident), status)
        .into_iter()
        .map(|route| {
            let format = Format::for_url(&route.url, &context.slack_hosts);
            let notification = Notification { incident, status, message: route.message.as_deref() };
            let payload = render(&notification, format, &context.links);
            PlannedDelivery { url: route.url, format, payload, route: route.source }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        domain::{
            FilterName, FilterScope, FilteredNotification, NotificationAddresses, NotificationFilter, RouteSource,
            WebhookAddresses,
        },
        notifications::{Links, tests::incident},
    };

    fn context() -> NotifyContext {
        NotifyContext {
            links: Links { base_url: "https://tocsin.example.com/".into() },
            slack_hosts: vec!["hooks.slack.com".into()],
        }
    }

    fn addresses(text: &str) -> Option<WebhookAddresses> {
        Some(WebhookAddresses::parse(text).unwrap())
    }

    fn urls(planned: &[PlannedDelivery]) -> Vec<&str> {
        planned.iter().map(|delivery| delivery.url.as_str()).collect()
    }

    #[test]
    fn each_address_of_the_status_gets_the_body_its_format_takes() {
        let routing = Routing {
            addresses: NotificationAddresses {
                opened: addresses("https://hooks.slack.com/services/T/B/x, https://hooks.example.com/dq"),
                resolved: addresses("https://hooks.example.com/resolved"),
                ..Default::default()
            },
            ..Default::default()
        };
        let incident = incident();
        let planned = plan(&incident, IncidentStatus::Open, &routing, &context());
        assert_eq!(urls(&planned), ["https://hooks.slack.com/services/T/B/x", "https://hooks.example.com/dq"]);
        assert_eq!(planned[0].format, Format::Slack);
        let slack: serde_json::Value = serde_json::from_str(&planned[0].payload).unwrap();
        assert!(slack["blocks"].is_array(), "{slack}");
        assert_eq!(planned[1].format, Format::Dqops);
        let dqops: serde_json::Value = serde_json::from_str(&planned[1].payload).unwrap();
        assert_eq!(dqops["incident_id"], incident.id.as_str());
        assert_eq!(dqops["status"], "open");
        assert!(planned.iter().all(|delivery| delivery.route == RouteSource::Defaults));

        assert_eq!(
            urls(&plan(&incident, IncidentStatus::Resolved, &routing, &context())),
            ["https://hooks.example.com/resolved"]
        );
        assert!(plan(&incident, IncidentStatus::Acknowledged, &routing, &context()).is_empty(), "nothing configured");
    }

    #[test]
    fn a_matching_filter_routes_and_its_message_is_in_the_body() {
        let filter = FilteredNotification {
            name: FilterName::parse("volume").unwrap(),
            priority: 100,
            disabled: false,
            process_additional_filters: false,
            do_not_create_incidents: false,
            message: Some("Volume checks: call the on-call engineer".into()),
            filter: NotificationFilter { check_category: Some("volume".into()), ..Default::default() },
            target: NotificationAddresses {
                opened: addresses("https://hooks.example.com/volume"),
                ..Default::default()
            },
        };
        let routing = Routing {
            connection_filters: vec![filter],
            addresses: NotificationAddresses {
                opened: addresses("https://hooks.example.com/dq"),
                ..Default::default()
            },
            ..Default::default()
        };
        let planned = plan(&incident(), IncidentStatus::Open, &routing, &context());
        assert_eq!(urls(&planned), ["https://hooks.example.com/volume"], "the filter stops the defaults");
        assert_eq!(
            planned[0].route,
            RouteSource::Filter(FilterScope::Connection, FilterName::parse("volume").unwrap())
        );
        let body: serde_json::Value = serde_json::from_str(&planned[0].payload).unwrap();
        assert_eq!(body["message"], "Volume checks: call the on-call engineer");
    }
}
