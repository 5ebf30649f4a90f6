//! Tocsin's domain types. Each one is parsed once, at the edge, and is valid from then on.
//! They compile to WebAssembly too, so the browser checks input with the same code as the server.

mod access;
mod check;
mod connection;
mod delivery;
mod field_errors;
mod grouping;
mod incident;
mod routing;
mod time;
mod webhook;

pub use access::{ApiToken, MAX_NAME_CHARS, MIN_PASSWORD_CHARS, TokenName, UserName};
pub use check::{CheckResult, CheckType, Severity};
pub use connection::{Connection, ConnectionName, Description, NewConnection, ProviderType};
pub use delivery::{Delivery, DeliveryAttempt, DeliveryState, Format, PlannedDelivery, TestOutcome};
pub use field_errors::FieldErrors;
pub use grouping::{
    DayCount, DayCountError, GroupingKey, GroupingLevel, IncidentGrouping, IncidentWindow, MinimumSeverity,
};
pub use incident::{
    Actor, ChangeSource, ConnectionIncidentCounts, Incident, IncidentOrder, IncidentPage, IncidentQuery,
    IncidentStatus, SeverityCounts, StatusChange,
};
pub use routing::{
    FilterName, FilterOwner, FilterScope, FilteredNotification, IncidentFacts, NotificationFilter, Route, RouteSource,
    Routing, SearchPattern, TextError, parse_exact, parse_message,
};
pub use time::{MILLIS_PER_DAY, Timestamp};
pub use webhook::{NotificationAddresses, WebhookAddresses, WebhookUrl};
