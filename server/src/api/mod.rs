//! The REST API under `/api`, compatible with DQOps' paths, parameters and JSON. Handlers parse
//! their input into domain types and call the same services as the web UI.

mod checkresults;
mod error;
mod incidents;

pub use error::ApiError;

use app::state::AppState;
use axum::Router;

pub fn router() -> Router<AppState> {
    Router::new().merge(checkresults::router()).merge(incidents::router())
}
