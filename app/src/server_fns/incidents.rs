//! Server functions of the incident pages: the overview, a connection's list, an incident's
//! detail, and triage (status and issue link).

use super::FormOutcome;
#[cfg(feature = "ssr")]
use super::ssr;
use crate::domain::{CheckResult, ConnectionIncidentCounts, Incident, IncidentPage, IncidentQuery, StatusChange};
use leptos::{prelude::*, server_fn::codec::Json};
use serde::{Deserialize, Serialize};

/// An incident with its status history and its most recent issues.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IncidentDetail {
    pub incident: Incident,
    pub history: Vec<StatusChange>,
    pub issues: Vec<CheckResult>,
    pub notifications: Vec<crate::domain::Delivery>,
}

/// How many of an incident's issues its page shows.
pub const ISSUES_SHOWN: u32 = 50;

#[server(prefix = "/rpc", endpoint = "incident_overview")]
pub async fn incident_overview() -> Result<Vec<ConnectionIncidentCounts>, ServerFnError> {
    ssr::state()?.incidents.counts().await.map_err(ssr::server_error)
}

/// `None` when the connection does not exist.
#[server(prefix = "/rpc", endpoint = "list_incidents", input = Json)]
pub async fn list_incidents(connection: String, query: IncidentQuery) -> Result<Option<IncidentPage>, ServerFnError> {
    let Ok(name) = crate::domain::ConnectionName::parse(&connection) else {
        return Ok(None);
    };
    let query = IncidentQuery {
        limit: query.limit.clamp(1, IncidentQuery::MAX_LIMIT),
        months: query.months.clamp(1, IncidentQuery::MAX_MONTHS),
        page: query.page.max(1),
        ..query
    };
    ssr::found(ssr::state()?.incidents.list(&name, &query).await)
}

/// `None` when there is no such incident at this address.
#[server(prefix = "/rpc", endpoint = "load_incident")]
pub async fn load_incident(
    connection: String,
    year: i32,
    month: u32,
    id: String,
) -> Result<Option<IncidentDetail>, ServerFnError> {
    let Some(address) = ssr::incident_ref(&connection, year, month, id) else {
        return Ok(None);
    };
    let state = ssr::state()?;
    let incidents = &state.incidents;
    let Some(incident) = ssr::found(incidents.get(&address).await)? else {
        return Ok(None);
    };
    let history = incidents.history(&address).await.map_err(ssr::server_error)?;
    let issues = incidents.issues(&address, 1, ISSUES_SHOWN).await.map_err(ssr::server_error)?;
    let notifications = state.notifications.of_incident(&incident.id).await.map_err(ssr::server_error)?;
    Ok(Some(IncidentDetail { incident, history, issues, notifications }))
}

#[server(prefix = "/rpc", endpoint = "set_incident_status")]
pub async fn set_incident_status(
    connection: String,
    year: i32,
    month: u32,
    id: String,
    status: String,
) -> Result<FormOutcome, ServerFnError> {
    use crate::domain::{Actor, ChangeSource, FieldErrors, IncidentStatus};
    let address =
        ssr::incident_ref(&connection, year, month, id).ok_or_else(|| ServerFnError::new("no such incident exists"))?;
    let status = match status.parse::<IncidentStatus>() {
        Ok(status) => status,
        Err(error) => {
            return Ok(FormOutcome::Rejected(FieldErrors::one("status", error.to_string())));
        }
    };
    let actor = Actor { name: "web user".to_owned(), source: ChangeSource::Ui };
    ssr::state()?.incidents.change_status(&address, status, &actor).await.map_err(ssr::server_error)?;
    Ok(FormOutcome::Saved)
}

#[server(prefix = "/rpc", endpoint = "set_incident_issue_url")]
pub async fn set_incident_issue_url(
    connection: String,
    year: i32,
    month: u32,
    id: String,
    issue_url: String,
) -> Result<FormOutcome, ServerFnError> {
    use crate::domain::{FieldErrors, WebhookUrl};
    let address =
        ssr::incident_ref(&connection, year, month, id).ok_or_else(|| ServerFnError::new("no such incident exists"))?;
    let page = crate::paths::incident(&address.connection, address.year, address.month, &address.id);
    let url = match issue_url.trim() {
        "" => None,
        text => match WebhookUrl::parse(text) {
            Ok(url) => Some(url),
            Err(error) => {
                return Ok(ssr::rejected(&page, FieldErrors::one("issue_url", error.to_string())));
            }
        },
    };
    ssr::state()?.incidents.set_issue_url(&address, url.as_ref()).await.map_err(ssr::server_error)?;
    Ok(ssr::saved(&page))
}
