//! The incidents REST API, DQOps-compatible: `GET /api/incidents/{connection}` and, per incident,
//! `GET …/{year}/{month}/{id}`, `GET …/issues`, `POST …/status` and `POST …/issueurl`.

use super::{ApiError, existing_connection};
use app::{
    domain::{
        Actor, ChangeSource, CheckResult, Incident, IncidentOrder, IncidentQuery, IncidentStatus, Severity, WebhookUrl,
    },
    service::IncidentRef,
    state::AppState,
};
use axum::{
    Json,
    extract::{Path, Query, State},
    http::StatusCode,
};
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(detail))
        .routes(routes!(issues))
        .routes(routes!(set_status))
        .routes(routes!(set_issue_url))
}

/// DQOps' `IncidentModel`: lowerCamelCase, absent values omitted, times in ISO-8601 (UTC).
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IncidentModel {
    incident_id: String,
    connection: String,
    year: i32,
    month: u32,
    schema: String,
    table: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    table_priority: Option<i32>,
    incident_hash: i64,
    first_seen: String,
    last_seen: String,
    incident_until: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quality_dimension: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    check_category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    check_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    check_name: Option<String>,
    highest_severity: u8,
    minimum_severity: u8,
    failed_checks_count: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    issue_url: Option<String>,
    /// `open`, `acknowledged`, `resolved` or `muted`.
    #[schema(value_type = String, example = "open")]
    status: IncidentStatus,
}

impl From<Incident> for IncidentModel {
    fn from(incident: Incident) -> Self {
        let (year, month) = incident.year_month();
        Self {
            incident_id: incident.id,
            connection: incident.connection.to_string(),
            year,
            month,
            schema: incident.schema,
            table: incident.table,
            table_priority: incident.table_priority,
            incident_hash: incident.incident_hash,
            first_seen: incident.first_seen.iso8601(),
            last_seen: incident.last_seen.iso8601(),
            incident_until: incident.incident_until.iso8601(),
            data_group: incident.data_group,
            quality_dimension: incident.quality_dimension,
            check_category: incident.check_category,
            check_type: incident.check_type.map(|t| t.as_str().to_owned()),
            check_name: incident.check_name,
            highest_severity: incident.highest_severity.level(),
            minimum_severity: incident.minimum_severity.level(),
            failed_checks_count: incident.failed_checks_count,
            issue_url: incident.issue_url,
            status: incident.status,
        }
    }
}

/// A check result that joined an incident, in the shape it was sent in.
#[derive(Debug, Serialize, ToSchema)]
pub struct IssueModel {
    schema: String,
    table: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    column: Option<String>,
    check_name: String,
    check_category: String,
    check_type: String,
    quality_dimension: String,
    severity: u8,
    executed_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    table_priority: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    time_period: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    actual_value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expected_value: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result_id: Option<String>,
}

impl From<CheckResult> for IssueModel {
    fn from(result: CheckResult) -> Self {
        Self {
            schema: result.schema,
            table: result.table,
            column: result.column,
            check_name: result.check_name,
            check_category: result.check_category,
            check_type: result.check_type.as_str().to_owned(),
            quality_dimension: result.quality_dimension,
            severity: result.severity.level(),
            executed_at: result.executed_at.iso8601(),
            data_group: result.data_group,
            table_priority: result.table_priority,
            time_period: result.time_period.map(|t| t.iso8601()),
            actual_value: result.actual_value,
            expected_value: result.expected_value,
            message: result.message,
            result_id: result.result_id,
        }
    }
}

type Params = Query<HashMap<String, String>>;

fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    params: &HashMap<String, String>,
    name: &str,
    range: std::ops::RangeInclusive<T>,
) -> Result<Option<T>, ApiError> {
    let Some(text) = params.get(name) else { return Ok(None) };
    match text.trim().parse::<T>() {
        Ok(value) if range.contains(&value) => Ok(Some(value)),
        _ => Err(ApiError::bad_request(
            name,
            format!("must be a whole number from {} to {}", range.start(), range.end()),
        )),
    }
}

fn flag(params: &HashMap<String, String>, name: &str, default: bool) -> Result<bool, ApiError> {
    match params.get(name).map(|v| v.trim().to_ascii_lowercase()).as_deref() {
        None => Ok(default),
        Some("true") => Ok(true),
        Some("false") => Ok(false),
        Some(_) => Err(ApiError::bad_request(name, "must be true or false")),
    }
}

fn text(params: &HashMap<String, String>, name: &str) -> Option<String> {
    params.get(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
}

/// Reads DQOps' query parameters, with DQOps' defaults.
pub fn incident_query(params: &HashMap<String, String>) -> Result<IncidentQuery, ApiError> {
    let defaults = IncidentQuery::rest_default();
    let statuses = [
        (IncidentStatus::Open, flag(params, "open", true)?),
        (IncidentStatus::Acknowledged, flag(params, "acknowledged", true)?),
        (IncidentStatus::Resolved, flag(params, "resolved", false)?),
        (IncidentStatus::Muted, flag(params, "muted", false)?),
    ]
    .into_iter()
    .filter_map(|(status, wanted)| wanted.then_some(status))
    .collect();
    let severity =
        number::<u8>(params, "severity", 1..=3)?.map(|level| Severity::try_from(level).unwrap_or(Severity::Fatal));
    let order = match params.get("order") {
        None => defaults.order,
        Some(order) => order.parse::<IncidentOrder>().map_err(|reason| ApiError::bad_request("order", reason))?,
    };
    let descending = match params.get("direction").map(|d| d.trim().to_ascii_lowercase()).as_deref() {
        None | Some("asc") => false,
        Some("desc") => true,
        Some(_) => return Err(ApiError::bad_request("direction", "must be asc or desc")),
    };
    Ok(IncidentQuery {
        months: number(params, "months", 1..=IncidentQuery::MAX_MONTHS)?.unwrap_or(defaults.months),
        statuses,
        severity,
        filter: text(params, "filter"),
        dimension: text(params, "dimension"),
        category: text(params, "category"),
        order,
        descending,
        page: number(params, "page", 1..=u32::MAX)?.unwrap_or(defaults.page),
        limit: number(params, "limit", 1..=IncidentQuery::MAX_LIMIT)?.unwrap_or(defaults.limit),
    })
}

/// A page of a connection's recent incidents, with DQOps' filters and defaults.
#[utoipa::path(get, path = "/api/incidents/{connectionName}", tag = "incidents",
    operation_id = "findRecentIncidentsOnConnection",
    params(
        ("connectionName" = String, Path, description = "Connection name"),
        ("months" = Option<u32>, Query, description = "Months back, the current one included (default 3)"),
        ("open" = Option<bool>, Query, description = "Include open incidents (default true)"),
        ("acknowledged" = Option<bool>, Query, description = "Include acknowledged incidents (default true)"),
        ("resolved" = Option<bool>, Query, description = "Include resolved incidents (default false)"),
        ("muted" = Option<bool>, Query, description = "Include muted incidents (default false)"),
        ("severity" = Option<u8>, Query, description = "Only this highest severity: 1, 2 or 3"),
        ("page" = Option<u32>, Query, description = "Page number, from 1"),
        ("limit" = Option<u32>, Query, description = "Page size (default 50)"),
        ("filter" = Option<String>, Query, description = "Text searched in the table, check and dimension names"),
        ("dimension" = Option<String>, Query, description = "Exact quality dimension"),
        ("category" = Option<String>, Query, description = "Exact check category"),
        ("order" = Option<String>, Query, description = "table, tablePriority, firstSeen, lastSeen, dataGroup, \
            qualityDimension, checkName, highestSeverity or failedChecksCount (default)"),
        ("direction" = Option<String>, Query, description = "asc (default) or desc")),
    responses(
        (status = 200, body = [IncidentModel]),
        (status = 400, description = "A parameter is wrong; `field` names it", body = ApiError),
        (status = 404, description = "No such connection", body = ApiError)))]
async fn list(
    State(state): State<AppState>,
    Path(connection): Path<String>,
    Query(params): Params,
) -> Result<Json<Vec<IncidentModel>>, ApiError> {
    let name = existing_connection(&connection)?;
    let query = incident_query(&params)?;
    let page = state.incidents.list(&name, &query).await?;
    Ok(Json(page.incidents.into_iter().map(IncidentModel::from).collect()))
}

fn incident_ref((connection, year, month, id): (String, String, String, String)) -> Result<IncidentRef, ApiError> {
    let connection = existing_connection(&connection)?;
    let year = year.parse::<i32>().map_err(|_| ApiError::bad_request("year", "must be a whole number"))?;
    let month = match month.parse::<u32>() {
        Ok(month) if (1..=12).contains(&month) => month,
        _ => return Err(ApiError::bad_request("month", "must be a whole number from 1 to 12")),
    };
    Ok(IncidentRef { connection, year, month, id })
}

type IncidentPath = Path<(String, String, String, String)>;

/// One incident.
#[utoipa::path(get, path = "/api/incidents/{connectionName}/{year}/{month}/{incidentId}", tag = "incidents",
    operation_id = "getIncident",
    params(
        ("connectionName" = String, Path, description = "Connection name"),
        ("year" = i32, Path, description = "Year the incident was first seen"),
        ("month" = u32, Path, description = "Month the incident was first seen, 1 to 12"),
        ("incidentId" = String, Path, description = "Incident id")),
    responses(
        (status = 200, body = IncidentModel),
        (status = 404, description = "No such connection or incident", body = ApiError)))]
async fn detail(State(state): State<AppState>, Path(path): IncidentPath) -> Result<Json<IncidentModel>, ApiError> {
    let incident = state.incidents.get(&incident_ref(path)?).await?;
    Ok(Json(incident.into()))
}

/// The check results that joined an incident, newest first.
#[utoipa::path(get, path = "/api/incidents/{connectionName}/{year}/{month}/{incidentId}/issues", tag = "incidents",
    operation_id = "getIncidentIssues",
    params(
        ("connectionName" = String, Path, description = "Connection name"),
        ("year" = i32, Path, description = "Year the incident was first seen"),
        ("month" = u32, Path, description = "Month the incident was first seen, 1 to 12"),
        ("incidentId" = String, Path, description = "Incident id"),
        ("page" = Option<u32>, Query, description = "Page number, from 1"),
        ("limit" = Option<u32>, Query, description = "Page size (default 50)")),
    responses(
        (status = 200, body = [IssueModel]),
        (status = 404, description = "No such connection or incident", body = ApiError)))]
async fn issues(
    State(state): State<AppState>,
    Path(path): IncidentPath,
    Query(params): Params,
) -> Result<Json<Vec<IssueModel>>, ApiError> {
    let incident = incident_ref(path)?;
    let page = number(&params, "page", 1..=u32::MAX)?.unwrap_or(1);
    let limit = number(&params, "limit", 1..=IncidentQuery::MAX_LIMIT)?.unwrap_or(50);
    let issues = state.incidents.issues(&incident, page, limit).await?;
    Ok(Json(issues.into_iter().map(IssueModel::from).collect()))
}

fn api_actor() -> Actor {
    Actor { name: "REST API client".to_owned(), source: ChangeSource::Api }
}

/// Changes an incident's status and notifies the addresses of the new status.
#[utoipa::path(post, path = "/api/incidents/{connectionName}/{year}/{month}/{incidentId}/status", tag = "incidents",
    operation_id = "setIncidentStatus",
    params(
        ("connectionName" = String, Path, description = "Connection name"),
        ("year" = i32, Path, description = "Year the incident was first seen"),
        ("month" = u32, Path, description = "Month the incident was first seen, 1 to 12"),
        ("incidentId" = String, Path, description = "Incident id"),
        ("status" = String, Query, description = "open, acknowledged, resolved or muted")),
    responses(
        (status = 204, description = "Changed, or already in that status"),
        (status = 400, description = "`status` is missing or wrong", body = ApiError),
        (status = 404, description = "No such connection or incident", body = ApiError)))]
async fn set_status(
    State(state): State<AppState>,
    Path(path): IncidentPath,
    Query(params): Params,
) -> Result<StatusCode, ApiError> {
    let incident = incident_ref(path)?;
    let status = params
        .get("status")
        .ok_or_else(|| ApiError::bad_request("status", "is required"))?
        .parse::<IncidentStatus>()
        .map_err(|reason| ApiError::bad_request("status", reason))?;
    state.incidents.change_status(&incident, status, &api_actor()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Links an incident to a ticket; an empty `issueUrl` removes the link.
#[utoipa::path(post, path = "/api/incidents/{connectionName}/{year}/{month}/{incidentId}/issueurl", tag = "incidents",
    operation_id = "setIncidentIssueUrl",
    params(
        ("connectionName" = String, Path, description = "Connection name"),
        ("year" = i32, Path, description = "Year the incident was first seen"),
        ("month" = u32, Path, description = "Month the incident was first seen, 1 to 12"),
        ("incidentId" = String, Path, description = "Incident id"),
        ("issueUrl" = String, Query, description = "An absolute http(s) URL, or empty")),
    responses(
        (status = 204, description = "Saved"),
        (status = 400, description = "`issueUrl` is missing or wrong", body = ApiError),
        (status = 404, description = "No such connection or incident", body = ApiError)))]
async fn set_issue_url(
    State(state): State<AppState>,
    Path(path): IncidentPath,
    Query(params): Params,
) -> Result<StatusCode, ApiError> {
    let incident = incident_ref(path)?;
    let text = params.get("issueUrl").ok_or_else(|| ApiError::bad_request("issueUrl", "is required"))?;
    let url = match text.trim() {
        "" => None,
        text => Some(WebhookUrl::parse(text).map_err(|reason| ApiError::bad_request("issueUrl", reason))?),
    };
    state.incidents.set_issue_url(&incident, url.as_ref()).await?;
    Ok(StatusCode::NO_CONTENT)
}
