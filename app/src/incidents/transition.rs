//! A status change: checked against the current status, written with its transition, and
//! announced to the addresses configured for the new status.

use super::announce::announce;
use crate::{
    domain::{Actor, ConnectionName, IncidentStatus, StatusChange, Timestamp},
    notifications::NotifyContext,
    storage::{DeliveryRecord, IncidentWrites, StatusUpdate, StorageResult},
};

/// A status change to make: which incident, the status it enters, who asks, and what the
/// messages announcing it link to.
#[derive(Clone, Debug)]
pub struct StatusRequest {
    pub connection: ConnectionName,
    pub id: String,
    pub status: IncidentStatus,
    pub actor: Actor,
    pub notify: NotifyContext,
    pub now: Timestamp,
}

/// Changes the incident's status inside `tx`: nothing when it has that status already; muting
/// starts the mute window of the connection's `mute_for_days`.
pub async fn change_status(
    tx: &mut (impl IncidentWrites + ?Sized),
    request: &StatusRequest,
) -> StorageResult<StatusUpdate> {
    let Some(policy) = tx.connection_policy(&request.connection).await? else {
        return Ok(StatusUpdate::NotFound);
    };
    let Some(current) = tx.incident_status(policy.id, &request.id).await? else {
        return Ok(StatusUpdate::NotFound);
    };
    if current == request.status {
        return Ok(StatusUpdate::Unchanged);
    }
    let now = request.now;
    let muted_until =
        (request.status == IncidentStatus::Muted).then(|| now.plus_days(policy.grouping.mute_for_days.get()));
    tx.set_status(&request.id, request.status, muted_until, now).await?;
    let change = StatusChange { from: Some(current), to: request.status, at: now, by: request.actor.clone() };
    let change_id = tx.insert_transition(&request.id, &change).await?;
    let transition = DeliveryRecord {
        connection_id: policy.id,
        incident_id: &request.id,
        status_change_id: change_id,
        status: request.status,
        now,
    };
    let deliveries = announce(tx, &policy.routing, &request.notify, &transition).await?;
    Ok(StatusUpdate::Changed(change, deliveries))
}
