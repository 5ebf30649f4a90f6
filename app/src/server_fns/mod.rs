//! The server functions the pages call. Each one is a public endpoint and stays thin: it parses
//! its arguments into domain types, calls one service function and maps the error.

mod access;
mod filters;
mod incidents;
mod notifications;

pub use access::*;
pub use filters::*;
pub use incidents::*;
pub use notifications::*;

use crate::{
    domain::{Connection, FieldErrors, IncidentGrouping, NotificationAddresses},
    forms::{ConnectionForm, IncidentSettingsForm},
};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// The result of submitting a form: saved, or rejected with a message per wrong field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FormOutcome {
    Saved,
    Rejected(FieldErrors),
}

/// A connection with its incident grouping and notification settings, and the global default
/// addresses that apply where it sets none.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionSettings {
    pub connection: Connection,
    pub grouping: IncidentGrouping,
    pub defaults: NotificationAddresses,
}

#[server(prefix = "/rpc", endpoint = "list_connections")]
pub async fn list_connections() -> Result<Vec<Connection>, ServerFnError> {
    ssr::state()?.connections.list().await.map_err(ssr::server_error)
}

/// `None` when no connection has this name (or the name is not a valid one).
#[server(prefix = "/rpc", endpoint = "get_connection")]
pub async fn get_connection(name: String) -> Result<Option<Connection>, ServerFnError> {
    let Ok(name) = crate::domain::ConnectionName::parse(&name) else {
        return Ok(None);
    };
    ssr::found(ssr::state()?.connections.get(&name).await)
}

#[server(prefix = "/rpc", endpoint = "create_connection")]
pub async fn create_connection(form: ConnectionForm) -> Result<FormOutcome, ServerFnError> {
    use crate::service::ServiceError;
    let new = match form.parse() {
        Ok(new) => new,
        Err(errors) => return Ok(ssr::rejected("/sources", errors)),
    };
    match ssr::state()?.connections.create(new).await {
        Ok(_) => Ok(ssr::saved("/sources")),
        Err(ServiceError::ConnectionExists(_)) => Ok(ssr::rejected(
            "/sources",
            FieldErrors::one(ConnectionForm::NAME, "is already used by another connection"),
        )),
        Err(error) => Err(ssr::server_error(error)),
    }
}

#[server(prefix = "/rpc", endpoint = "update_connection_description")]
pub async fn update_connection_description(
    connection: String,
    description: String,
) -> Result<FormOutcome, ServerFnError> {
    let name = ssr::connection_name(&connection)?;
    let page = crate::paths::connection(&name);
    let description = match crate::domain::Description::parse(&description) {
        Ok(description) => description,
        Err(error) => {
            return Ok(ssr::rejected(&page, FieldErrors::one(ConnectionForm::DESCRIPTION, error.to_string())));
        }
    };
    ssr::state()?.connections.update_description(&name, &description).await.map_err(ssr::server_error)?;
    Ok(ssr::saved(&page))
}

/// `None` when no connection has this name.
#[server(prefix = "/rpc", endpoint = "get_incident_settings")]
pub async fn get_incident_settings(connection: String) -> Result<Option<ConnectionSettings>, ServerFnError> {
    let Ok(name) = crate::domain::ConnectionName::parse(&connection) else {
        return Ok(None);
    };
    let connections = ssr::state()?.connections;
    let Some(connection) = ssr::found(connections.get(&name).await)? else {
        return Ok(None);
    };
    let grouping = connections.incident_grouping(&name).await.map_err(ssr::server_error)?;
    let defaults = ssr::state()?.notifications.defaults().await.map_err(ssr::server_error)?;
    Ok(Some(ConnectionSettings { connection, grouping, defaults }))
}

#[server(prefix = "/rpc", endpoint = "save_incident_settings")]
pub async fn save_incident_settings(
    connection: String,
    form: IncidentSettingsForm,
) -> Result<FormOutcome, ServerFnError> {
    let name = ssr::connection_name(&connection)?;
    let page = crate::paths::incident_settings(&name);
    let grouping = match form.parse() {
        Ok(grouping) => grouping,
        Err(errors) => return Ok(ssr::rejected(&page, errors)),
    };
    let state = ssr::state()?;
    if let Some(errors) = ssr::refused(&state, &grouping.notification) {
        return Ok(ssr::rejected(&page, errors));
    }
    state.connections.save_incident_grouping(&name, &grouping, None).await.map_err(ssr::server_error)?;
    Ok(ssr::saved(&page))
}

#[cfg(feature = "ssr")]
pub(crate) mod ssr {
    use super::FormOutcome;
    use crate::{
        domain::{ConnectionName, FieldErrors},
        paths,
        service::{ServiceError, ServiceResult},
        state::AppState,
    };
    use leptos::prelude::*;

    pub fn state() -> Result<AppState, ServerFnError> {
        use_context::<AppState>().ok_or_else(|| ServerFnError::new("the application state is missing"))
    }

    /// The address of an incident, or `None` when the connection name cannot exist.
    pub fn incident_ref(connection: &str, year: i32, month: u32, id: String) -> Option<crate::service::IncidentRef> {
        let connection = ConnectionName::parse(connection).ok()?;
        Some(crate::service::IncidentRef { connection, year, month, id })
    }

    /// Whose filters: an empty name means the global ones; `None` for a name that cannot exist.
    pub fn filter_owner(connection: &str) -> Option<crate::domain::FilterOwner> {
        use crate::domain::FilterOwner;
        match connection.trim() {
            "" => Some(FilterOwner::Global),
            name => ConnectionName::parse(name).ok().map(FilterOwner::Connection),
        }
    }

    pub fn connection_name(input: &str) -> Result<ConnectionName, ServerFnError> {
        ConnectionName::parse(input).map_err(|error| ServerFnError::new(format!("connection name {error}")))
    }

    /// Maps "not found" to `None`, for the loaders of pages that show a not-found page.
    pub fn found<T>(result: ServiceResult<T>) -> Result<Option<T>, ServerFnError> {
        match result {
            Ok(value) => Ok(Some(value)),
            Err(ServiceError::ConnectionNotFound(_)) => Ok(None),
            Err(error) => Err(server_error(error)),
        }
    }

    /// The message the browser sees. Internal causes are logged in full and never sent.
    pub fn server_error(error: ServiceError) -> ServerFnError {
        match error {
            ServiceError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "request failed");
                ServerFnError::new("Tocsin could not complete this request. The server log has the details.")
            }
            other => ServerFnError::new(other.to_string()),
        }
    }

    /// The address fields the outbound policy refuses, if any, with the reason for each.
    pub fn refused(state: &AppState, addresses: &crate::domain::NotificationAddresses) -> Option<FieldErrors> {
        let refused = state.notifications.refused_addresses(addresses);
        if refused.is_empty() {
            return None;
        }
        let mut errors = FieldErrors::new();
        for (status, reason) in refused {
            errors.add(crate::forms::IncidentSettingsForm::address_field(status), reason);
        }
        Some(errors)
    }

    /// True when the browser posted the form itself (JavaScript off) and expects a page back.
    fn plain_form_post() -> bool {
        use_context::<http::request::Parts>()
            .and_then(|parts| parts.headers.get(http::header::ACCEPT)?.to_str().ok().map(str::to_owned))
            .is_some_and(|accept| accept.contains("text/html"))
    }

    pub fn saved(page: &str) -> FormOutcome {
        if plain_form_post() {
            leptos_axum::redirect(&format!("{page}?{}=1", paths::SAVED_PARAM));
        }
        FormOutcome::Saved
    }

    /// Without JavaScript the browser is sent back to the form, with the messages in the query.
    pub fn rejected(page: &str, errors: FieldErrors) -> FormOutcome {
        if plain_form_post() {
            leptos_axum::redirect(&format!("{page}?{}", paths::errors_query(&errors)));
        }
        FormOutcome::Rejected(errors)
    }
}
