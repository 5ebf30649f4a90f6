//! The incident rules, written once over the write steps every backend offers
//! ([`crate::storage::IncidentWrites`]): grouping a batch of check results into incidents, and
//! changing an incident's status, each with the deliveries that announce it.

mod announce;
mod ingest;
mod transition;

pub use ingest::ingest;
pub use transition::{StatusRequest, change_status};
