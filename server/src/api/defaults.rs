//! The global default notification addresses, DQOps-compatible: `GET` and `PUT
//! /api/defaults/defaultwebhooks`. A connection that leaves a status unset uses these.

use super::{
    ApiError,
    body::JsonBody,
    specs::{IncidentNotificationSpec, check_filters_policy, check_policy},
};
use app::{domain::FilterOwner, state::AppState};
use axum::{Json, extract::State, http::StatusCode};
use utoipa_axum::{router::OpenApiRouter, routes};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_default_webhooks, update_default_webhooks))
}

/// The global default addresses; `{}` when none is set.
#[utoipa::path(get, path = "/api/defaults/defaultwebhooks", tag = "defaults", operation_id = "getDefaultWebhooks",
    responses((status = 200, body = IncidentNotificationSpec)))]
async fn get_default_webhooks(State(state): State<AppState>) -> Result<Json<IncidentNotificationSpec>, ApiError> {
    let defaults = state.notifications.defaults().await?;
    let filters = state.notifications.filters(&FilterOwner::Global).await?;
    Ok(Json(IncidentNotificationSpec::from_domain(&defaults, &filters)))
}

/// Replaces the global default addresses and the global filtered notifications as a whole: an
/// absent status has no default, an absent `filtered_notifications` leaves none.
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
    let filters = spec.filters("")?;
    check_policy(&state, &defaults, "")?;
    check_filters_policy(&state, &filters, "")?;
    state.notifications.save_defaults(&defaults, Some(&filters)).await?;
    Ok(StatusCode::NO_CONTENT)
}
