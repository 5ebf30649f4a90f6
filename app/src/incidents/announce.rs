//! The deliveries that announce a transition, planned for the incident as it stands in the
//! transaction and recorded there.

use crate::{
    domain::{IncidentStatus, Routing, Timestamp},
    notifications::{NotifyContext, plan},
    storage::{DeliveryRecord, IncidentWrites, StorageResult},
};

/// The transition a message announces.
pub(super) struct Transition<'a> {
    pub connection_id: i64,
    pub incident_id: &'a str,
    pub change_id: i64,
    pub status: IncidentStatus,
    pub now: Timestamp,
}

/// Records the deliveries the routing plans for the transition; returns how many are pending.
pub(super) async fn announce(
    tx: &mut (impl IncidentWrites + ?Sized),
    routing: &Routing,
    context: &NotifyContext,
    transition: &Transition<'_>,
) -> StorageResult<u32> {
    if routing.is_silent(transition.status) {
        return Ok(0);
    }
    let incident = tx.load_incident(transition.incident_id).await?;
    let planned = plan(&incident, transition.status, routing, context);
    if planned.is_empty() {
        return Ok(0);
    }
    let record = DeliveryRecord {
        connection_id: transition.connection_id,
        incident_id: transition.incident_id,
        status_change_id: transition.change_id,
        status: transition.status,
        now: transition.now,
    };
    tx.insert_deliveries(planned, &record).await
}
