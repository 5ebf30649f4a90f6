//! Server functions of notifications: test messages, recent deliveries, retry and re-enable.

use super::FormOutcome;
#[cfg(feature = "ssr")]
use super::ssr;
use crate::domain::{Delivery, TestOutcome};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The answer to "Send test message".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TestMessage {
    Sent(Vec<TestOutcome>),
    /// The field holds no valid address; the message says why.
    Invalid(String),
}

/// Sends a sample notification for `status` to the addresses typed in the field (not necessarily
/// saved yet), through the same client and policy as real notifications.
#[server(prefix = "/rpc", endpoint = "send_test_message")]
pub async fn send_test_message(
    connection: String,
    status: String,
    addresses: String,
) -> Result<TestMessage, ServerFnError> {
    let name = ssr::connection_name(&connection)?;
    let status = status.parse::<crate::domain::IncidentStatus>().map_err(|e| ServerFnError::new(e.to_string()))?;
    let addresses = match crate::domain::WebhookAddresses::parse(&addresses) {
        Ok(addresses) if addresses.is_empty() => return Ok(TestMessage::Invalid("enter a webhook URL first".into())),
        Ok(addresses) => addresses,
        Err(error) => return Ok(TestMessage::Invalid(error.to_string())),
    };
    let state = ssr::state()?;
    state.connections.get(&name).await.map_err(ssr::server_error)?;
    Ok(TestMessage::Sent(state.notifications.send_test(&name, status, &addresses).await))
}

#[server(prefix = "/rpc", endpoint = "recent_notifications")]
pub async fn recent_notifications(connection: String) -> Result<Vec<Delivery>, ServerFnError> {
    let name = ssr::connection_name(&connection)?;
    ssr::state()?.notifications.recent(&name, 20).await.map_err(ssr::server_error)
}

#[server(prefix = "/rpc", endpoint = "retry_notification")]
pub async fn retry_notification(id: i64) -> Result<FormOutcome, ServerFnError> {
    ssr::state()?.notifications.retry(id).await.map_err(ssr::server_error)?;
    Ok(FormOutcome::Saved)
}

#[server(prefix = "/rpc", endpoint = "enable_notification_address")]
pub async fn enable_notification_address(id: i64) -> Result<FormOutcome, ServerFnError> {
    ssr::state()?.notifications.enable_address(id).await.map_err(ssr::server_error)?;
    Ok(FormOutcome::Saved)
}
