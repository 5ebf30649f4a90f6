//! The global default notification addresses, DQOps-compatible: `GET` and `PUT
//! /api/defaults/defaultwebhooks`. A connection that leaves a status unset uses these.

use super::{
    ApiError,
    body::JsonBody,
    specs::{IncidentNotificationSpec, check_policy},
};
use app::state::AppState;
use axum::{Json, extract::State, http::StatusCode};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_default_webhooks, update_default_webhooks))
}

/// The global default addresses; `{}` when none is set.
#[utoipa::path(get, path = "/api/defaults/defaultwebhooks", tag = "defaults", operation_id = "getDefaultWebhooks",
    responses((status = 200, body = IncidentNotificationSpec)))]
async fn get_default_webhooks(State(state): State<AppState>) -> Result<Json<IncidentNotificationSpec>, ApiError> {
    Ok(Json(IncidentNotificationSpec::from_domain(&state.notifications.defaults().await?)))
}

/// Replaces the global default addresses as a whole: an absent status has no default.
#[utoipa::path(put, path = "/api/defaults/defaultwebhooks", tag = "defaults", operation_id = "updateDefaultWebhooks",
    request_body = IncidentNotificationSpec,
    responses(
        (status = 204, description = "Saved"),
        (status = 400, description = "A field is wrong; `field` names it", body = ApiError),
        (status = 413, description = "The body is larger than 64 KiB", body = ApiError)))]
async fn update_default_webhooks(
    State(state): State<AppState>,
    JsonBody(spec): JsonBody<IncidentNotificationSpec>,
) -> Result<StatusCode, ApiError> {
    let defaults = spec.to_domain("")?;
    check_policy(&state, &defaults, "")?;
    state.notifications.save_defaults(&defaults).await?;
    Ok(StatusCode::NO_CONTENT)
}
