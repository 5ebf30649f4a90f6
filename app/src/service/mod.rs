//! The operations pages and APIs perform. Server functions and REST handlers call these, never
//! storage directly, so the UI and the API cannot drift apart.

mod access;
mod connections;
mod incidents;
mod notifications;

pub use access::{AccessService, NewSession, SESSION_DAYS, SignedIn, TOKEN_PREFIX};
pub use connections::ConnectionService;
pub use incidents::{Clock, IncidentRef, IncidentService, system_clock};
pub use notifications::NotificationService;

use crate::domain::ConnectionName;

/// What a service call can fail with, in terms a user can act on.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("no connection named \"{0}\" exists")]
    ConnectionNotFound(ConnectionName),
    #[error("no incident {0} exists on this connection")]
    IncidentNotFound(String),
    #[error("a connection named \"{0}\" already exists")]
    ConnectionExists(ConnectionName),
    #[error("no filtered notification named \"{0}\" exists")]
    FilterNotFound(String),
    #[error("a filtered notification named \"{0}\" already exists")]
    FilterExists(String),
    /// The request makes no sense in the current state; the message says why.
    #[error("{0}")]
    Invalid(String),
    /// A failure the user cannot fix (the database is unreachable, a stored row is corrupt…).
    /// The whole cause chain is logged; the user sees a generic message.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<crate::storage::StorageError> for ServiceError {
    fn from(error: crate::storage::StorageError) -> Self {
        Self::Internal(error.into())
    }
}

pub type ServiceResult<T> = Result<T, ServiceError>;
