//! The REST API's errors: a status and a JSON body that names the problem, never a stack trace
//! or a database message.

use app::service::ServiceError;
use axum::{
    Json,
    http::StatusCode,
    response::{IntoResponse, Response},
};
use serde::Serialize;

/// `{"error": "...", "field": "...", "index": 3}`; `field` and `index` only when they apply.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ApiError {
    #[serde(skip)]
    pub status: StatusCode,
    /// What is wrong, in words; it starts with the field's name when there is one.
    #[schema(example = "incident_grouping.mute_for_days must be between 1 and 3650 days")]
    pub error: String,
    /// The JSON path of the wrong field, or the query parameter's name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The position of the offending item in a batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
}

impl ApiError {
    pub fn new(status: StatusCode, error: impl Into<String>) -> Self {
        Self { status, error: error.into(), field: None, index: None }
    }

    pub fn bad_request(field: &str, reason: impl std::fmt::Display) -> Self {
        Self { field: Some(field.to_owned()), ..Self::new(StatusCode::BAD_REQUEST, format!("{field} {reason}")) }
    }
}

impl From<ServiceError> for ApiError {
    fn from(error: ServiceError) -> Self {
        match error {
            ServiceError::ConnectionNotFound(_)
            | ServiceError::IncidentNotFound(_)
            | ServiceError::FilterNotFound(_) => Self::new(StatusCode::NOT_FOUND, error.to_string()),
            ServiceError::ConnectionExists(_) | ServiceError::FilterExists(_) | ServiceError::Invalid(_) => {
                Self::new(StatusCode::CONFLICT, error.to_string())
            }
            ServiceError::Internal(cause) => {
                tracing::error!(error = format!("{cause:#}"), "request failed");
                Self::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Tocsin could not complete this request; the server log has the details",
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self)).into_response()
    }
}
