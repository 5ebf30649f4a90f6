//! Deliveries: one notification to one address, the format its body takes, and the attempts
//! made to send it.

use super::{IncidentStatus, RouteSource, Timestamp, WebhookUrl};
use serde::{Deserialize, Serialize};
use std::{fmt, str::FromStr};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeliveryState {
    /// Waiting for its first or next attempt.
    Pending,
    Delivered,
    /// Given up: a permanent error, or the retries ran out.
    Failed,
    /// Not sent, because the address was disabled when the transition happened.
    Skipped,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 4] = [Self::Pending, Self::Delivered, Self::Failed, Self::Skipped];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Delivered => "delivered",
            Self::Failed => "failed",
            Self::Skipped => "skipped",
        }
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeliveryState {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|state| state.as_str() == s).ok_or_else(|| format!("unknown delivery state {s:?}"))
    }
}

/// One attempt to send a delivery.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryAttempt {
    pub attempt: u32,
    pub started_at: Timestamp,
    pub duration_ms: u32,
    pub http_status: Option<u16>,
    /// `delivered`, `retry` or `failed`.
    pub outcome: String,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
}

/// A notification to one address, as the pages show it. The address is masked.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub id: i64,
    pub incident_id: String,
    pub incident_status: IncidentStatus,
    /// Scheme, host and the last four characters: never the whole URL.
    pub address: String,
    pub format: String,
    pub state: DeliveryState,
    pub attempts: u32,
    pub next_attempt_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub created_at: Timestamp,
    /// The address was disabled after the receiver said the webhook is gone.
    pub address_disabled: bool,
    /// What routed the notification to this address; `None` for deliveries recorded before routing.
    pub route: Option<super::RouteSource>,
    pub history: Vec<DeliveryAttempt>,
}

/// What sending a test message to one address did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestOutcome {
    /// The address, masked.
    pub address: String,
    pub delivered: bool,
    /// What the receiver answered, or why nothing was sent.
    pub detail: String,
}

/// The body a webhook receives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A Slack incoming webhook: a Block Kit message.
    Slack,
    /// Any other webhook: DQOps' `IncidentNotificationMessage` JSON.
    Dqops,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Slack => "slack",
            Self::Dqops => "dqops",
        }
    }

    /// Slack for the hosts in `slack_hosts` (e.g. `hooks.slack.com`), DQOps' JSON otherwise.
    pub fn for_url(url: &WebhookUrl, slack_hosts: &[String]) -> Self {
        let host = url.host();
        if slack_hosts.iter().any(|slack| slack.eq_ignore_ascii_case(&host)) { Self::Slack } else { Self::Dqops }
    }
}

/// One message to record for sending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedDelivery {
    pub url: WebhookUrl,
    pub format: Format,
    /// The body, rendered from the incident as it stood at the transition.
    pub payload: String,
    /// What chose the address: a filtered notification, or the (default) addresses.
    pub route: RouteSource,
}
