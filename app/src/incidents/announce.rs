//! The deliveries that announce a transition, planned for the incident as it stands in the
//! transaction and recorded there.

use crate::{
    domain::Routing,
    notifications::{NotifyContext, plan},
    storage::{DeliveryRecord, IncidentWrites, StorageResult},
};

/// Records the deliveries the routing plans for the transition; returns how many are pending.
pub(super) async fn announce(
    tx: &mut (impl IncidentWrites + ?Sized),
    routing: &Routing,
    context: &NotifyContext,
    transition: &DeliveryRecord<'_>,
) -> StorageResult<u32> {
    if routing.is_silent(transition.status) {
        return Ok(0);
    }
    let incident = tx.load_incident(transition.incident_id).await?;
    let planned = plan(&incident, transition.status, routing, context);
    if planned.is_empty() {
        return Ok(0);
    }
    tx.insert_deliveries(planned, transition).await
}
