//! A batch of check results into incidents, as DQOps groups them: each result that may open an
//! incident joins the newest incident of its grouping key whose window takes it, or opens one,
//! unless a filtered notification asks for none. Results sent again (same `result_id`) are
//! skipped; each opened incident is announced once, as it stands after the whole batch.

use super::announce::announce;
use crate::{
    domain::{
        Actor, ChangeSource, CheckResult, ConnectionName, IncidentFacts, IncidentStatus, StatusChange, Timestamp,
    },
    grouping::{GroupingKey, IncidentWindow, is_incident_candidate, joins},
    notifications::NotifyContext,
    storage::{
        CandidateIncident, DeliveryRecord, IncidentGrowth, IncidentWrites, IngestOutcome, NewIncident, StorageResult,
    },
};
use std::collections::{HashMap, HashSet, hash_map::Entry};

/// Who opens incidents, in their history.
const CHECKS_ACTOR: &str = "check results";

/// Stores the batch and groups its results inside `tx`. `None` when the connection does not exist.
pub async fn ingest(
    tx: &mut (impl IncidentWrites + ?Sized),
    connection: &ConnectionName,
    results: &[CheckResult],
    notify: &NotifyContext,
    now: Timestamp,
) -> StorageResult<Option<IngestOutcome>> {
    let Some(policy) = tx.connection_policy(connection).await? else {
        return Ok(None);
    };
    let settings = &policy.grouping;
    // Issues join incidents in the order they were executed.
    let mut ordered: Vec<&CheckResult> = results.iter().collect();
    ordered.sort_by_key(|result| result.executed_at);

    let mut outcome = IngestOutcome::default();
    // The incidents each hash may join, as loaded or opened during this batch.
    let mut candidates: HashMap<i64, Vec<CandidateIncident>> = HashMap::new();
    // What the batch adds to each incident, written once at the end.
    let mut growth: HashMap<String, IncidentGrowth> = HashMap::new();
    let mut opened_changes: Vec<(String, i64)> = Vec::new();
    // The ids stored before, and (as the batch goes on) those of this batch: a result sent twice
    // in one batch is stored once.
    let result_ids: Vec<&str> = ordered.iter().filter_map(|result| result.result_id.as_deref()).collect();
    let mut known =
        if result_ids.is_empty() { HashSet::new() } else { tx.known_results(policy.id, &result_ids).await? };
    let mut stored: Vec<(&CheckResult, Option<String>)> = Vec::with_capacity(ordered.len());
    for result in ordered {
        if let Some(result_id) = &result.result_id
            && !known.insert(result_id.clone())
        {
            outcome.duplicates += 1;
            continue;
        }
        outcome.accepted += 1;
        let incident_id = if is_incident_candidate(result, settings, now) {
            let key = GroupingKey::of(result, settings);
            let hash = key.hash(connection);
            let loaded = match candidates.entry(hash) {
                Entry::Occupied(entry) => entry.into_mut(),
                Entry::Vacant(entry) => entry.insert(tx.candidates(policy.id, hash).await?),
            };
            let joined = loaded.iter().find(|c| joins(c.window, result.executed_at)).map(|c| c.id.clone());
            let suppressed =
                || policy.routing.suppresses_incident(&IncidentFacts::of_result(connection.as_str(), result));
            let id = match joined {
                Some(id) => Some(id),
                // A filter asks for no incident: the result is stored, ungrouped (DQOps checks
                // this only when an incident would open).
                None if suppressed() => None,
                None => {
                    let id = uuid::Uuid::new_v4().to_string();
                    let incident_until = result.executed_at.plus_days(settings.max_incident_length_days.get());
                    let incident = NewIncident {
                        id: &id,
                        connection_id: policy.id,
                        hash,
                        key: &key,
                        first: result,
                        minimum_severity: settings.minimum_severity,
                        incident_until,
                        now,
                    };
                    tx.insert_incident(&incident).await?;
                    let opened = StatusChange {
                        from: None,
                        to: IncidentStatus::Open,
                        at: now,
                        by: Actor { name: CHECKS_ACTOR.to_owned(), source: ChangeSource::Checks },
                    };
                    opened_changes.push((id.clone(), tx.insert_transition(&id, &opened).await?));
                    let window = IncidentWindow {
                        status: IncidentStatus::Open,
                        first_seen: result.executed_at,
                        incident_until,
                        muted_until: None,
                    };
                    loaded.insert(0, CandidateIncident { id: id.clone(), window });
                    outcome.opened.push(id.clone());
                    Some(id)
                }
            };
            if let Some(id) = &id {
                match growth.entry(id.clone()) {
                    Entry::Occupied(mut grown) => add_issue(grown.get_mut(), result),
                    Entry::Vacant(entry) => {
                        entry.insert(IncidentGrowth {
                            issues: 1,
                            highest: result.severity,
                            last_seen: result.executed_at,
                        });
                    }
                }
            }
            id
        } else {
            None
        };
        stored.push((result, incident_id));
    }
    tx.insert_check_results(policy.id, &stored, now).await?;
    for (id, grown) in &growth {
        // An incident opened by this batch already counts its first issue.
        let opened_here = outcome.opened.contains(id);
        let added = IncidentGrowth { issues: grown.issues - u32::from(opened_here), ..*grown };
        tx.grow_incident(id, &added, now).await?;
        if !opened_here {
            outcome.updated += 1;
        }
    }
    // Each opened incident is announced as it stands after the whole batch, as DQOps does.
    for (id, change_id) in &opened_changes {
        let transition = DeliveryRecord {
            connection_id: policy.id,
            incident_id: id,
            status_change_id: *change_id,
            status: IncidentStatus::Open,
            now,
        };
        outcome.deliveries += announce(tx, &policy.routing, notify, &transition).await?;
    }
    Ok(Some(outcome))
}

fn add_issue(growth: &mut IncidentGrowth, result: &CheckResult) {
    growth.issues += 1;
    growth.highest = growth.highest.max(result.severity);
    growth.last_seen = growth.last_seen.max(result.executed_at);
}
