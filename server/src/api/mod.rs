//! The REST API under `/api`, compatible with DQOps' paths, parameters and JSON. Handlers parse
//! their input into domain types and call the same services as the web UI. Every route is
//! registered with its OpenAPI description, so `/api/openapi.json` cannot drift from what is
//! served.

mod body;
mod checkresults;
mod connections;
mod defaults;
mod error;
mod filters;
mod incidents;
mod specs;

pub use checkresults::MAX_BODY_BYTES as INGEST_MAX_BODY_BYTES;
pub use error::ApiError;

use app::{domain::ConnectionName, state::AppState};
use axum::{
    Extension, Json, Router,
    extract::State,
    http::{StatusCode, header},
    response::IntoResponse,
    routing::any,
};
use serde::Serialize;
use std::sync::Arc;
use utoipa::{OpenApi, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tocsin REST API",
        description = "Data quality incidents and their notifications, compatible with DQOps' REST API. \
                       Every 4xx and 5xx answer has a JSON body `{\"error\": …, \"field\": …}`."
    ),
    tags(
        (name = "connections", description = "Connections and their incident grouping and notification settings"),
        (name = "defaults", description = "Global default notification addresses"),
        (name = "filtered notifications", description = "Routing incidents by filters, per connection and globally"),
        (name = "checkresults", description = "Sending check results"),
        (name = "incidents", description = "Incidents and their triage"),
        (name = "health", description = "Health and the API description"),
    )
)]
struct ApiDoc;

/// The API's routes, and the OpenAPI document that describes exactly them.
pub fn router() -> Router<AppState> {
    let (router, api) = routes().split_for_parts();
    let document = Arc::new(api.to_pretty_json().expect("the OpenAPI document serialises"));
    router
        .layer(Extension(document))
        .route("/api", any(unknown_endpoint))
        .route("/api/{*rest}", any(unknown_endpoint))
        .method_not_allowed_fallback(method_not_allowed)
}

/// The documented routes; `openapi()` is their description.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(connections::router())
        .merge(defaults::router())
        .merge(filters::router())
        .merge(checkresults::router())
        .merge(incidents::router())
        .routes(routes!(healthcheck))
        .routes(routes!(openapi_json))
}

/// Whether the request sends check results, which may be larger than anything else.
pub fn is_ingest(method: &axum::http::Method, path: &str) -> bool {
    method == axum::http::Method::POST
        && path
            .strip_prefix("/api/connections/")
            .and_then(|rest| rest.strip_suffix("/checkresults"))
            .is_some_and(|connection| !connection.is_empty() && !connection.contains('/'))
}

/// The OpenAPI document of every `/api` route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().into_openapi()
}

/// A connection that must exist: a name that cannot exist is not found either.
fn existing_connection(text: &str) -> Result<ConnectionName, ApiError> {
    ConnectionName::parse(text)
        .map_err(|_| ApiError::new(StatusCode::NOT_FOUND, format!("no connection named {text:?} exists")))
}

#[derive(Serialize, ToSchema)]
struct Health {
    #[schema(example = "ok")]
    status: &'static str,
}

/// Answers 200 when Tocsin serves and its database answers, for load balancers and scripts.
#[utoipa::path(get, path = "/api/healthcheck", tag = "health", operation_id = "isHealthy",
    responses(
        (status = 200, body = Health),
        (status = 503, description = "The database does not answer", body = ApiError)))]
async fn healthcheck(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    match state.connections.check_storage().await {
        Ok(()) => Ok(Json(Health { status: "ok" })),
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "health check failed");
            Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "the database does not answer"))
        }
    }
}

/// This document: OpenAPI 3, generated from the handlers' annotations.
#[utoipa::path(get, path = "/api/openapi.json", tag = "health", operation_id = "getOpenApi",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
async fn openapi_json(Extension(document): Extension<Arc<String>>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], document.as_str().to_owned())
}

async fn unknown_endpoint() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "no such API endpoint; /api/openapi.json lists them all")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, "this endpoint does not accept this method")
}
