//! The steps the incident rules take inside one write transaction. The rules (`crate::incidents`)
//! are written once over [`IncidentWrites`]; a backend implements each step in SQL, nothing more.

use super::StorageResult;
use crate::domain::{
    CheckResult, ConnectionName, GroupingKey, Incident, IncidentGrouping, IncidentStatus, IncidentWindow,
    MinimumSeverity, PlannedDelivery, Routing, Severity, StatusChange, Timestamp,
};
use async_trait::async_trait;
use futures::future::BoxFuture;
use std::collections::HashSet;

/// A connection as the rules act on it: its id, its incident settings, and its routing, whose
/// plain addresses are the effective ones (the global defaults fill each status it leaves unset).
#[derive(Clone, Debug)]
pub struct ConnectionPolicy {
    pub id: i64,
    pub grouping: IncidentGrouping,
    pub routing: Routing,
}

/// A stored incident that a new issue with its hash may join.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CandidateIncident {
    pub id: String,
    pub window: IncidentWindow,
}

/// An incident to open, from the first issue that opens it.
#[derive(Clone, Copy, Debug)]
pub struct NewIncident<'a> {
    pub id: &'a str,
    pub connection_id: i64,
    pub hash: i64,
    pub key: &'a GroupingKey,
    pub first: &'a CheckResult,
    pub minimum_severity: MinimumSeverity,
    pub incident_until: Timestamp,
    pub now: Timestamp,
}

/// What one batch adds to an incident.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IncidentGrowth {
    pub issues: u32,
    pub highest: Severity,
    pub last_seen: Timestamp,
}

/// A transition, as the deliveries that announce it record it.
#[derive(Clone, Copy, Debug)]
pub struct DeliveryRecord<'a> {
    pub connection_id: i64,
    pub incident_id: &'a str,
    pub status_change_id: i64,
    pub status: IncidentStatus,
    pub now: Timestamp,
}

/// What the rules do in one write transaction, given its steps; the backend begins the
/// transaction, and commits it when the work succeeds.
pub type WriteWork<T> = Box<dyn for<'t> FnOnce(&'t mut dyn IncidentWrites) -> BoxFuture<'t, StorageResult<T>> + Send>;

/// One write transaction, as the incident rules use it.
#[async_trait]
pub trait IncidentWrites: Send {
    /// `None` when no connection has this name.
    async fn connection_policy(&mut self, name: &ConnectionName) -> StorageResult<Option<ConnectionPolicy>>;

    /// Which of `result_ids` are stored for the connection already.
    async fn known_results(&mut self, connection_id: i64, result_ids: &[&str]) -> StorageResult<HashSet<String>>;

    /// The incidents with this hash that are not resolved, newest first (at most 16).
    async fn candidates(&mut self, connection_id: i64, hash: i64) -> StorageResult<Vec<CandidateIncident>>;

    /// Inserts an open incident that counts its first issue.
    async fn insert_incident(&mut self, incident: &NewIncident<'_>) -> StorageResult<()>;

    /// Stores check results, each with the incident it joined (if any).
    async fn insert_check_results(
        &mut self,
        connection_id: i64,
        results: &[(&CheckResult, Option<String>)],
        now: Timestamp,
    ) -> StorageResult<()>;

    /// Adds issues to an incident: their count, a severity it may rise to, when it was last seen.
    async fn grow_incident(&mut self, id: &str, growth: &IncidentGrowth, now: Timestamp) -> StorageResult<()>;

    /// The status of the connection's incident `id`; `None` when it has no such incident.
    async fn incident_status(&mut self, connection_id: i64, id: &str) -> StorageResult<Option<IncidentStatus>>;

    /// Sets the status, and the end of the mute window (`None` unless muted).
    async fn set_status(
        &mut self,
        id: &str,
        status: IncidentStatus,
        muted_until: Option<Timestamp>,
        now: Timestamp,
    ) -> StorageResult<()>;

    /// Records a transition; returns its id, which its deliveries refer to.
    async fn insert_transition(&mut self, incident_id: &str, change: &StatusChange) -> StorageResult<i64>;

    /// The incident as it stands in this transaction.
    async fn load_incident(&mut self, id: &str) -> StorageResult<Incident>;

    /// Records the planned deliveries of one transition. Returns how many are pending: an address
    /// its receiver disabled gets its delivery recorded as skipped.
    async fn insert_deliveries(
        &mut self,
        planned: Vec<PlannedDelivery>,
        record: &DeliveryRecord<'_>,
    ) -> StorageResult<u32>;
}
