//! The application state shared by the router, the pages and the server functions.

use crate::service::{AccessService, ConnectionService, IncidentService, NotificationService};
use axum::extract::FromRef;
use leptos::config::LeptosOptions;

#[derive(Clone)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub connections: ConnectionService,
    pub incidents: IncidentService,
    pub notifications: NotificationService,
    pub access: AccessService,
}

impl FromRef<AppState> for LeptosOptions {
    fn from_ref(state: &AppState) -> Self {
        state.leptos_options.clone()
    }
}
