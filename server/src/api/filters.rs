//! Filtered notifications, DQOps-compatible: `/api/connections/{connectionName}/filterednotifications`
//! and `/api/default/filterednotifications` (singular `default`, as DQOps spells it), each with
//! `/{filterName}`: list, get, create, update (which may rename) and delete.

use super::{
    ApiError,
    body::JsonBody,
    existing_connection,
    specs::{FilteredNotificationSpec, check_policy},
};
use app::{
    domain::{FilterName, FilterOwner, FilteredNotification},
    service::ServiceError,
    state::AppState,
};
use axum::{
    Json,
    extract::{Path, State},
    http::StatusCode,
};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_connection_filters, create_connection_filter))
        .routes(routes!(get_connection_filter, update_connection_filter, delete_connection_filter))
        .routes(routes!(list_default_filters, create_default_filter))
        .routes(routes!(get_default_filter, update_default_filter, delete_default_filter))
}

/// DQOps' `FilteredNotificationModel`: the spec with its `name`.
type FilteredNotificationModel = FilteredNotificationSpec;

fn model(filter: &FilteredNotification) -> FilteredNotificationModel {
    FilteredNotificationModel { name: Some(filter.name.to_string()), ..FilteredNotificationSpec::from_domain(filter) }
}

/// The filter a model describes; `path_name` is used when the body names none.
fn parse_model(
    state: &AppState,
    model: &FilteredNotificationModel,
    path_name: Option<&str>,
) -> Result<FilteredNotification, ApiError> {
    let name = match (model.name.as_deref(), path_name) {
        (Some(name), _) | (None, Some(name)) => name,
        (None, None) => return Err(ApiError::bad_request("name", "is required")),
    };
    let name = FilterName::parse(name).map_err(|reason| ApiError::bad_request("name", reason))?;
    let filter = model.to_domain(name, "")?;
    check_policy(state, &filter.target, "target.")?;
    Ok(filter)
}

fn filter_name(text: &str) -> Result<FilterName, ApiError> {
    FilterName::parse(text)
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, format!("no filtered notification named {text:?} exists")))
}

async fn list(state: &AppState, owner: FilterOwner) -> Result<Json<Vec<FilteredNotificationModel>>, ApiError> {
    let filters = state.notifications.filters(&owner).await?;
    Ok(Json(filters.iter().map(model).collect()))
}

async fn get(state: &AppState, owner: FilterOwner, name: &str) -> Result<Json<FilteredNotificationModel>, ApiError> {
    let name = filter_name(name)?;
    let filters = state.notifications.filters(&owner).await?;
    let filter = filters
        .iter()
        .find(|filter| filter.name == name)
        .ok_or_else(|| ServiceError::FilterNotFound(name.to_string()))?;
    Ok(Json(model(filter)))
}

async fn create(
    state: &AppState,
    owner: FilterOwner,
    model: FilteredNotificationModel,
) -> Result<StatusCode, ApiError> {
    let filter = parse_model(state, &model, None)?;
    state.notifications.create_filter(&owner, &filter).await?;
    Ok(StatusCode::CREATED)
}

async fn update(
    state: &AppState,
    owner: FilterOwner,
    name: &str,
    model: FilteredNotificationModel,
) -> Result<StatusCode, ApiError> {
    let name = filter_name(name)?;
    let filter = parse_model(state, &model, Some(name.as_str()))?;
    state.notifications.update_filter(&owner, &name, &filter).await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn delete(state: &AppState, owner: FilterOwner, name: &str) -> Result<StatusCode, ApiError> {
    // As in DQOps, deleting a filter that is not there is not an error.
    if let Ok(name) = FilterName::parse(name) {
        state.notifications.delete_filter(&owner, &name).await?;
    } else if let FilterOwner::Connection(connection) = &owner {
        state.connections.get(connection).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

fn connection(text: &str) -> Result<FilterOwner, ApiError> {
    existing_connection(text).map(FilterOwner::Connection)
}

/// A connection's filtered notifications, in the order they are stored.
#[utoipa::path(get, path = "/api/connections/{connectionName}/filterednotifications", tag = "filtered notifications",
    operation_id = "getConnectionFilteredNotificationsConfigurations",
    params(("connectionName" = String, Path, description = "Connection name")),
    responses(
        (status = 200, body = [FilteredNotificationModel]),
        (status = 404, description = "No such connection", body = ApiError)))]
async fn list_connection_filters(
    State(state): State<AppState>,
    Path(connection_name): Path<String>,
) -> Result<Json<Vec<FilteredNotificationModel>>, ApiError> {
    list(&state, connection(&connection_name)?).await
}

/// Adds a filtered notification to a connection.
#[utoipa::path(post, path = "/api/connections/{connectionName}/filterednotifications", tag = "filtered notifications",
    operation_id = "createConnectionFilteredNotificationConfiguration",
    params(("connectionName" = String, Path, description = "Connection name")),
    request_body = FilteredNotificationModel,
    responses(
        (status = 201, description = "Created"),
        (status = 400, description = "A field is wrong (or `name` is missing); `field` names it", body = ApiError),
        (status = 404, description = "No such connection", body = ApiError),
        (status = 409, description = "A filtered notification with this name exists", body = ApiError),
        (status = 413, description = "The body is larger than 64 KiB", body = ApiError)))]
async fn create_connection_filter(
    State(state): State<AppState>,
    Path(connection_name): Path<String>,
    JsonBody(model): JsonBody<FilteredNotificationModel>,
) -> Result<StatusCode, ApiError> {
    create(&state, connection(&connection_name)?, model).await
}

/// One filtered notification of a connection.
#[utoipa::path(get, path = "/api/connections/{connectionName}/filterednotifications/{filterName}",
    tag = "filtered notifications", operation_id = "getConnectionFilteredNotificationConfiguration",
    params(
        ("connectionName" = String, Path, description = "Connection name"),
        ("filterName" = String, Path, description = "Filtered notification name")),
    responses(
        (status = 200, body = FilteredNotificationModel),
        (status = 404, description = "No such connection or filtered notification", body = ApiError)))]
async fn get_connection_filter(
    State(state): State<AppState>,
    Path((connection_name, name)): Path<(String, String)>,
) -> Result<Json<FilteredNotificationModel>, ApiError> {
    get(&state, connection(&connection_name)?, &name).await
}

/// Replaces a connection's filtered notification; a different `name` in the body renames it.
#[utoipa::path(put, path = "/api/connections/{connectionName}/filterednotifications/{filterName}",
    tag = "filtered notifications", operation_id = "updateConnectionFilteredNotificationConfiguration",
    params(
        ("connectionName" = String, Path, description = "Connection name"),
        ("filterName" = String, Path, description = "Filtered notification name")),
    request_body = FilteredNotificationModel,
    responses(
        (status = 204, description = "Saved"),
        (status = 400, description = "A field is wrong; `field` names it", body = ApiError),
        (status = 404, description = "No such connection or filtered notification", body = ApiError),
        (status = 409, description = "The new name is taken", body = ApiError),
        (status = 413, description = "The body is larger than 64 KiB", body = ApiError)))]
async fn update_connection_filter(
    State(state): State<AppState>,
    Path((connection_name, name)): Path<(String, String)>,
    JsonBody(model): JsonBody<FilteredNotificationModel>,
) -> Result<StatusCode, ApiError> {
    update(&state, connection(&connection_name)?, &name, model).await
}

/// Deletes a connection's filtered notification (one that is not there is not an error).
#[utoipa::path(delete, path = "/api/connections/{connectionName}/filterednotifications/{filterName}",
    tag = "filtered notifications", operation_id = "deleteConnectionFilteredNotificationConfiguration",
    params(
        ("connectionName" = String, Path, description = "Connection name"),
        ("filterName" = String, Path, description = "Filtered notification name")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 404, description = "No such connection", body = ApiError)))]
async fn delete_connection_filter(
    State(state): State<AppState>,
    Path((connection_name, name)): Path<(String, String)>,
) -> Result<StatusCode, ApiError> {
    delete(&state, connection(&connection_name)?, &name).await
}

/// The global filtered notifications, in the order they are stored.
#[utoipa::path(get, path = "/api/default/filterednotifications", tag = "filtered notifications",
    operation_id = "getDefaultFilteredNotificationsConfigurations",
    responses((status = 200, body = [FilteredNotificationModel])))]
async fn list_default_filters(State(state): State<AppState>) -> Result<Json<Vec<FilteredNotificationModel>>, ApiError> {
    list(&state, FilterOwner::Global).await
}

/// Adds a global filtered notification.
#[utoipa::path(post, path = "/api/default/filterednotifications", tag = "filtered notifications",
    operation_id = "createDefaultFilteredNotificationConfiguration",
    request_body = FilteredNotificationModel,
    responses(
        (status = 201, description = "Created"),
        (status = 400, description = "A field is wrong (or `name` is missing); `field` names it", body = ApiError),
        (status = 409, description = "A filtered notification with this name exists", body = ApiError),
        (status = 413, description = "The body is larger than 64 KiB", body = ApiError)))]
async fn create_default_filter(
    State(state): State<AppState>,
    JsonBody(model): JsonBody<FilteredNotificationModel>,
) -> Result<StatusCode, ApiError> {
    create(&state, FilterOwner::Global, model).await
}

/// One global filtered notification.
#[utoipa::path(get, path = "/api/default/filterednotifications/{filterName}", tag = "filtered notifications",
    operation_id = "getDefaultFilteredNotificationConfiguration",
    params(("filterName" = String, Path, description = "Filtered notification name")),
    responses(
        (status = 200, body = FilteredNotificationModel),
        (status = 404, description = "No such filtered notification", body = ApiError)))]
async fn get_default_filter(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<Json<FilteredNotificationModel>, ApiError> {
    get(&state, FilterOwner::Global, &name).await
}

/// Replaces a global filtered notification; a different `name` in the body renames it.
#[utoipa::path(put, path = "/api/default/filterednotifications/{filterName}", tag = "filtered notifications",
    operation_id = "updateDefaultFilteredNotificationConfiguration",
    params(("filterName" = String, Path, description = "Filtered notification name")),
    request_body = FilteredNotificationModel,
    responses(
        (status = 204, description = "Saved"),
        (status = 400, description = "A field is wrong; `field` names it", body = ApiError),
        (status = 404, description = "No such filtered notification", body = ApiError),
        (status = 409, description = "The new name is taken", body = ApiError),
        (status = 413, description = "The body is larger than 64 KiB", body = ApiError)))]
async fn update_default_filter(
    State(state): State<AppState>,
    Path(name): Path<String>,
    JsonBody(model): JsonBody<FilteredNotificationModel>,
) -> Result<StatusCode, ApiError> {
    update(&state, FilterOwner::Global, &name, model).await
}

/// Deletes a global filtered notification (one that is not there is not an error).
#[utoipa::path(delete, path = "/api/default/filterednotifications/{filterName}", tag = "filtered notifications",
    operation_id = "deleteDefaultFilteredNotificationConfiguration",
    params(("filterName" = String, Path, description = "Filtered notification name")),
    responses((status = 204, description = "Deleted")))]
async fn delete_default_filter(
    State(state): State<AppState>,
    Path(name): Path<String>,
) -> Result<StatusCode, ApiError> {
    delete(&state, FilterOwner::Global, &name).await
}
