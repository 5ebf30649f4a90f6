//! Tocsin's domain types. Each one is parsed once, at the edge, and is valid from then on.
//! They compile to WebAssembly too, so the browser checks input with the same code as the server.

mod connection;
mod field_errors;
mod grouping;
mod incident;
mod webhook;

pub use connection::{Connection, ConnectionName, Description, NewConnection, ProviderType};
pub use field_errors::FieldErrors;
pub use grouping::{DayCount, GroupingLevel, IncidentGrouping, MinimumSeverity};
pub use incident::IncidentStatus;
pub use webhook::{NotificationAddresses, WebhookAddresses, WebhookUrl};
