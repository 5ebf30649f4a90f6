//! Server functions of notifications: test messages, recent deliveries, retry and re-enable.

use super::FormOutcome;
#[cfg(feature = "ssr")]
use super::ssr;
use crate::{
    domain::{Delivery, NotificationAddresses, TestOutcome},
    forms::DefaultNotificationsForm,
};
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
/// saved yet), through the same client and policy as real notifications. An empty `connection`
/// stands for the global defaults; the sample then names a sample connection.
#[server(prefix = "/rpc", endpoint = "send_test_message")]
pub async fn send_test_message(
    connection: String,
    status: String,
    addresses: String,
) -> Result<TestMessage, ServerFnError> {
    let global = connection.is_empty();
    let name = ssr::connection_name(if global { "sample_connection" } else { &connection })?;
    let status = status.parse::<crate::domain::IncidentStatus>().map_err(|e| ServerFnError::new(e.to_string()))?;
    let addresses = match crate::domain::WebhookAddresses::parse(&addresses) {
        Ok(addresses) if addresses.is_empty() => return Ok(TestMessage::Invalid("enter a webhook URL first".into())),
        Ok(addresses) => addresses,
        Err(error) => return Ok(TestMessage::Invalid(error.to_string())),
    };
    let state = ssr::state()?;
    if !global {
        state.connections.get(&name).await.map_err(ssr::server_error)?;
    }
    Ok(TestMessage::Sent(state.notifications.send_test(&name, status, &addresses).await))
}

#[server(prefix = "/rpc", endpoint = "get_default_notifications")]
pub async fn get_default_notifications() -> Result<NotificationAddresses, ServerFnError> {
    ssr::state()?.notifications.defaults().await.map_err(ssr::server_error)
}

#[server(prefix = "/rpc", endpoint = "save_default_notifications")]
pub async fn save_default_notifications(form: DefaultNotificationsForm) -> Result<FormOutcome, ServerFnError> {
    let page = crate::paths::DEFAULT_NOTIFICATIONS;
    let defaults = match form.parse() {
        Ok(defaults) => defaults,
        Err(errors) => return Ok(ssr::rejected(page, errors)),
    };
    let state = ssr::state()?;
    if let Some(errors) = ssr::refused(&state, &defaults) {
        return Ok(ssr::rejected(page, errors));
    }
    state.notifications.save_defaults(&defaults, None).await.map_err(ssr::server_error)?;
    Ok(ssr::saved(page))
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
