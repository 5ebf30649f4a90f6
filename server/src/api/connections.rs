//! Connections and their incident grouping, DQOps-compatible: `/api/connections`,
//! `/api/connections/{connectionName}` (full spec), `…/basic` and `…/incidentgrouping`.

use super::{
    ApiError,
    body::JsonBody,
    existing_connection,
    specs::{IncidentGroupingSpec, check_filters_policy, check_policy},
};
use app::{
    domain::{
        Connection, ConnectionName, Description, FilterOwner, FilteredNotification, IncidentGrouping, NewConnection,
        ProviderType,
    },
    state::AppState,
};
use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_connections))
        .routes(routes!(get_connection, create_connection, update_connection, delete_connection))
        .routes(routes!(get_connection_basic, create_connection_basic, update_connection_basic))
        .routes(routes!(get_incident_grouping, update_incident_grouping))
}

/// DQOps' `ConnectionModel`: the basic facts of a connection. `description` is Tocsin's own.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct ConnectionModel {
    /// Letters, digits, `_`, `-` and `.`; at most 200 characters. On `PUT`, when present, it must
    /// be the name in the path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "sales_dwh")]
    pub connection_name: Option<String>,
    /// DQOps' provider type, such as `postgresql`, `snowflake` or `bigquery`. Required to create.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "postgresql")]
    pub provider_type: Option<String>,
    /// Free text, at most 2000 characters. Omitted when empty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Always true: whoever reaches the API may edit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(read_only)]
    pub can_edit: Option<bool>,
}

/// DQOps' `ConnectionSpec`, the part Tocsin keeps; other keys are accepted and ignored.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
pub struct ConnectionSpec {
    /// Required to create; on `PUT`, an absent value keeps the stored one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "postgresql")]
    pub provider_type: Option<String>,
    /// Tocsin's own. On `PUT`, an absent value keeps the stored one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// On `PUT`, an absent value resets the settings to DQOps' defaults, as DQOps does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_grouping: Option<IncidentGroupingSpec>,
}

/// DQOps' `ConnectionSpecificationModel`: a connection's name and full spec.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionSpecificationModel {
    pub connection_name: String,
    pub spec: ConnectionSpec,
    pub can_edit: bool,
}

fn model(connection: &Connection) -> ConnectionModel {
    ConnectionModel {
        connection_name: Some(connection.name.to_string()),
        provider_type: Some(connection.provider_type.as_str().to_owned()),
        description: description(&connection.description),
        can_edit: Some(true),
    }
}

fn description(description: &Description) -> Option<String> {
    (!description.is_empty()).then(|| description.as_str().to_owned())
}

/// The name of a connection to create, from the path.
fn new_name(connection: &str) -> Result<ConnectionName, ApiError> {
    ConnectionName::parse(connection).map_err(|reason| ApiError::bad_request("connectionName", reason))
}

fn provider_type(text: Option<&str>, field: &str) -> Result<Option<ProviderType>, ApiError> {
    text.map(|text| text.parse().map_err(|reason| ApiError::bad_request(field, reason))).transpose()
}

fn parse_description(text: Option<&str>) -> Result<Option<Description>, ApiError> {
    text.map(|text| Description::parse(text).map_err(|reason| ApiError::bad_request("description", reason))).transpose()
}

/// The connection `name` with the provider type and description a body gives, the stored ones
/// kept where it gives none.
async fn changed(
    state: &AppState,
    name: ConnectionName,
    provider: Option<&str>,
    description: Option<&str>,
) -> Result<Connection, ApiError> {
    let provider = provider_type(provider, "provider_type")?;
    let description = parse_description(description)?;
    let stored = state.connections.get(&name).await?;
    Ok(Connection {
        name,
        provider_type: provider.unwrap_or(stored.provider_type),
        description: description.unwrap_or(stored.description),
    })
}

/// The body's `connection_name`, when present, must be the path's.
fn same_name(body: Option<&str>, path: &ConnectionName) -> Result<(), ApiError> {
    match body {
        Some(name) if name.trim() != path.as_str() => {
            Err(ApiError::bad_request("connection_name", format!("must be {:?}, the name in the path", path.as_str())))
        }
        _ => Ok(()),
    }
}

/// The incident settings and filtered notifications of `spec` (DQOps' defaults and no filters
/// when absent), every address checked against the outbound policy.
fn grouping(
    state: &AppState,
    spec: Option<&IncidentGroupingSpec>,
    prefix: &str,
) -> Result<(IncidentGrouping, Vec<FilteredNotification>), ApiError> {
    let Some(spec) = spec else { return Ok((IncidentGrouping::default(), Vec::new())) };
    let grouping = spec.to_domain(prefix)?;
    let filters = spec.filters(prefix)?;
    check_policy(state, &grouping.notification, &format!("{prefix}incident_notification."))?;
    check_filters_policy(state, &filters, &format!("{prefix}incident_notification."))?;
    Ok((grouping, filters))
}

/// Every connection, by name.
#[utoipa::path(get, path = "/api/connections", tag = "connections", operation_id = "getAllConnections",
    responses((status = 200, description = "The connections, sorted by name", body = [ConnectionModel])))]
async fn list_connections(State(state): State<AppState>) -> Result<Json<Vec<ConnectionModel>>, ApiError> {
    Ok(Json(state.connections.list().await?.iter().map(model).collect()))
}

/// A connection with its full spec, incident grouping included.
#[utoipa::path(get, path = "/api/connections/{connectionName}", tag = "connections", operation_id = "getConnection",
    params(("connectionName" = String, Path, description = "Connection name")),
    responses(
        (status = 200, body = ConnectionSpecificationModel),
        (status = 404, description = "No such connection", body = ApiError)))]
async fn get_connection(
    State(state): State<AppState>,
    Path(connection): Path<String>,
) -> Result<Json<ConnectionSpecificationModel>, ApiError> {
    let name = existing_connection(&connection)?;
    let found = state.connections.get(&name).await?;
    let grouping = state.connections.incident_grouping(&name).await?;
    let filters = state.notifications.filters(&FilterOwner::Connection(name.clone())).await?;
    Ok(Json(ConnectionSpecificationModel {
        connection_name: found.name.to_string(),
        spec: ConnectionSpec {
            provider_type: Some(found.provider_type.as_str().to_owned()),
            description: description(&found.description),
            incident_grouping: Some(IncidentGroupingSpec::from_domain(&grouping, &filters)),
        },
        can_edit: true,
    }))
}

/// Creates a connection from a full spec.
#[utoipa::path(post, path = "/api/connections/{connectionName}", tag = "connections", operation_id = "createConnection",
    params(("connectionName" = String, Path, description = "Connection name")),
    request_body = ConnectionSpec,
    responses(
        (status = 201, description = "Created"),
        (status = 400, description = "A field is wrong; `field` names it", body = ApiError),
        (status = 409, description = "A connection with this name exists", body = ApiError),
        (status = 413, description = "The body is larger than 64 KiB", body = ApiError)))]
async fn create_connection(
    State(state): State<AppState>,
    Path(connection): Path<String>,
    JsonBody(spec): JsonBody<ConnectionSpec>,
) -> Result<StatusCode, ApiError> {
    let name = new_name(&connection)?;
    let provider_type = provider_type(spec.provider_type.as_deref(), "provider_type")?
        .ok_or_else(|| ApiError::bad_request("provider_type", "is required"))?;
    let description = parse_description(spec.description.as_deref())?.unwrap_or_default();
    let (grouping, filters) = grouping(&state, spec.incident_grouping.as_ref(), "incident_grouping.")?;
    let name = state.connections.create_with(NewConnection { name, provider_type, description }, &grouping).await?.name;
    if !filters.is_empty() {
        state.connections.save_incident_grouping(&name, &grouping, Some(&filters)).await?;
    }
    Ok(StatusCode::CREATED)
}

/// Replaces a connection's spec. An absent `incident_grouping` resets it to DQOps' defaults.
#[utoipa::path(put, path = "/api/connections/{connectionName}", tag = "connections", operation_id = "updateConnection",
    params(("connectionName" = String, Path, description = "Connection name")),
    request_body = ConnectionSpec,
    responses(
        (status = 204, description = "Saved"),
        (status = 400, description = "A field is wrong; `field` names it", body = ApiError),
        (status = 404, description = "No such connection", body = ApiError),
        (status = 413, description = "The body is larger than 64 KiB", body = ApiError)))]
async fn update_connection(
    State(state): State<AppState>,
    Path(connection): Path<String>,
    JsonBody(spec): JsonBody<ConnectionSpec>,
) -> Result<StatusCode, ApiError> {
    let name = existing_connection(&connection)?;
    let (grouping, filters) = grouping(&state, spec.incident_grouping.as_ref(), "incident_grouping.")?;
    let updated = changed(&state, name, spec.provider_type.as_deref(), spec.description.as_deref()).await?;
    state.connections.update(&updated, Some((&grouping, &filters))).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Deletes a connection with its check results, incidents, their history and pending
/// notifications. Everything is gone when the answer arrives.
#[utoipa::path(delete, path = "/api/connections/{connectionName}", tag = "connections", operation_id = "deleteConnection",
    params(("connectionName" = String, Path, description = "Connection name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such connection", body = ApiError)))]
async fn delete_connection(
    State(state): State<AppState>,
    Path(connection): Path<String>,
) -> Result<StatusCode, ApiError> {
    state.connections.delete(&existing_connection(&connection)?).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A connection's basic facts.
#[utoipa::path(get, path = "/api/connections/{connectionName}/basic", tag = "connections", operation_id = "getConnectionBasic",
    params(("connectionName" = String, Path, description = "Connection name")),
    responses(
        (status = 200, body = ConnectionModel),
        (status = 404, description = "No such connection", body = ApiError)))]
async fn get_connection_basic(
    State(state): State<AppState>,
    Path(connection): Path<String>,
) -> Result<Json<ConnectionModel>, ApiError> {
    Ok(Json(model(&state.connections.get(&existing_connection(&connection)?).await?)))
}

/// Creates a connection from its basic facts, with DQOps' default incident settings.
#[utoipa::path(post, path = "/api/connections/{connectionName}/basic", tag = "connections", operation_id = "createConnectionBasic",
    params(("connectionName" = String, Path, description = "Connection name")),
    request_body = ConnectionModel,
    responses(
        (status = 201, description = "Created"),
        (status = 400, description = "A field is wrong; `field` names it", body = ApiError),
        (status = 409, description = "A connection with this name exists", body = ApiError),
        (status = 413, description = "The body is larger than 64 KiB", body = ApiError)))]
async fn create_connection_basic(
    State(state): State<AppState>,
    Path(connection): Path<String>,
    JsonBody(body): JsonBody<ConnectionModel>,
) -> Result<StatusCode, ApiError> {
    let name = new_name(&connection)?;
    same_name(body.connection_name.as_deref(), &name)?;
    let provider_type = provider_type(body.provider_type.as_deref(), "provider_type")?
        .ok_or_else(|| ApiError::bad_request("provider_type", "is required"))?;
    let description = parse_description(body.description.as_deref())?.unwrap_or_default();
    state.connections.create(NewConnection { name, provider_type, description }).await?;
    Ok(StatusCode::CREATED)
}

/// Updates a connection's basic facts; absent ones keep their values.
#[utoipa::path(put, path = "/api/connections/{connectionName}/basic", tag = "connections", operation_id = "updateConnectionBasic",
    params(("connectionName" = String, Path, description = "Connection name")),
    request_body = ConnectionModel,
    responses(
        (status = 204, description = "Saved"),
        (status = 400, description = "A field is wrong; `field` names it", body = ApiError),
        (status = 404, description = "No such connection", body = ApiError),
        (status = 413, description = "The body is larger than 64 KiB", body = ApiError)))]
async fn update_connection_basic(
    State(state): State<AppState>,
    Path(connection): Path<String>,
    JsonBody(body): JsonBody<ConnectionModel>,
) -> Result<StatusCode, ApiError> {
    let name = existing_connection(&connection)?;
    same_name(body.connection_name.as_deref(), &name)?;
    let updated = changed(&state, name, body.provider_type.as_deref(), body.description.as_deref()).await?;
    state.connections.update(&updated, None).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A connection's incident grouping and notification settings, as the UI page shows them.
#[utoipa::path(get, path = "/api/connections/{connectionName}/incidentgrouping", tag = "connections",
    operation_id = "getConnectionIncidentGrouping",
    params(("connectionName" = String, Path, description = "Connection name")),
    responses(
        (status = 200, body = IncidentGroupingSpec),
        (status = 404, description = "No such connection", body = ApiError)))]
async fn get_incident_grouping(
    State(state): State<AppState>,
    Path(connection): Path<String>,
) -> Result<Json<IncidentGroupingSpec>, ApiError> {
    let name = existing_connection(&connection)?;
    let grouping = state.connections.incident_grouping(&name).await?;
    let filters = state.notifications.filters(&FilterOwner::Connection(name)).await?;
    Ok(Json(IncidentGroupingSpec::from_domain(&grouping, &filters)))
}

/// Replaces a connection's incident grouping and notification settings as a whole: an absent
/// field takes DQOps' default, an absent address is not set.
#[utoipa::path(put, path = "/api/connections/{connectionName}/incidentgrouping", tag = "connections",
    operation_id = "updateConnectionIncidentGrouping",
    params(("connectionName" = String, Path, description = "Connection name")),
    request_body = IncidentGroupingSpec,
    responses(
        (status = 204, description = "Saved"),
        (status = 400, description = "A field is wrong; `field` names it", body = ApiError),
        (status = 404, description = "No such connection", body = ApiError),
        (status = 413, description = "The body is larger than 64 KiB", body = ApiError)))]
async fn update_incident_grouping(
    State(state): State<AppState>,
    Path(connection): Path<String>,
    JsonBody(spec): JsonBody<IncidentGroupingSpec>,
) -> Result<StatusCode, ApiError> {
    let name = existing_connection(&connection)?;
    let (grouping, filters) = grouping(&state, Some(&spec), "")?;
    state.connections.save_incident_grouping(&name, &grouping, Some(&filters)).await?;
    Ok(StatusCode::NO_CONTENT)
}
