//! Incidents: ingesting check results, listing and reading incidents, and triaging them.
//! The web UI's server functions and the REST API both call these.

use super::{ServiceError, ServiceResult};
use crate::{
    domain::{
        Actor, CheckResult, ConnectionIncidentCounts, ConnectionName, Incident, IncidentPage, IncidentQuery,
        IncidentStatus, StatusChange, Timestamp, WebhookUrl,
    },
    incidents as rules,
    notifications::NotifyContext,
    storage::{IngestOutcome, StatusUpdate, Storage, WriteWork},
};
use std::sync::Arc;
use tokio::sync::Notify;

/// Where "now" comes from; tests fix it.
pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

pub fn system_clock() -> Clock {
    Arc::new(|| Timestamp::from_millis(chrono::Utc::now().timestamp_millis()))
}

/// DQOps' address of an incident: connection, year and month of its first issue, and id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IncidentRef {
    pub connection: ConnectionName,
    pub year: i32,
    pub month: u32,
    pub id: String,
}

#[derive(Clone)]
pub struct IncidentService {
    storage: Arc<dyn Storage>,
    clock: Clock,
    notify: NotifyContext,
    /// Wakes the delivery worker once a transition with deliveries has committed.
    wake: Arc<Notify>,
}

impl IncidentService {
    pub fn new(storage: Arc<dyn Storage>, notify: NotifyContext, wake: Arc<Notify>) -> Self {
        Self { storage, clock: system_clock(), notify, wake }
    }

    pub fn with_clock(self, clock: Clock) -> Self {
        Self { clock, ..self }
    }

    fn delivered(&self, deliveries: u32) {
        if deliveries > 0 {
            self.wake.notify_one();
        }
    }

    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// Stores the batch and groups it into incidents, atomically.
    #[tracing::instrument(skip_all, fields(connection = %connection, results = results.len()))]
    pub async fn ingest(&self, connection: &ConnectionName, results: &[CheckResult]) -> ServiceResult<IngestOutcome> {
        let (name, batch, notify, now) = (connection.clone(), results.to_vec(), self.notify.clone(), self.now());
        let work: WriteWork<Option<IngestOutcome>> =
            Box::new(move |tx| Box::pin(async move { rules::ingest(tx, &name, &batch, &notify, now).await }));
        let outcome = self
            .storage
            .write_ingest(work)
            .await?
            .ok_or_else(|| ServiceError::ConnectionNotFound(connection.clone()))?;
        self.delivered(outcome.deliveries);
        tracing::info!(
            accepted = outcome.accepted,
            duplicates = outcome.duplicates,
            opened = outcome.opened.len(),
            updated = outcome.updated,
            deliveries = outcome.deliveries,
            "check results ingested"
        );
        Ok(outcome)
    }

    pub async fn counts(&self) -> ServiceResult<Vec<ConnectionIncidentCounts>> {
        Ok(self.storage.incident_counts().await?)
    }

    pub async fn list(&self, connection: &ConnectionName, query: &IncidentQuery) -> ServiceResult<IncidentPage> {
        self.storage
            .list_incidents(connection, query, self.now())
            .await?
            .ok_or_else(|| ServiceError::ConnectionNotFound(connection.clone()))
    }

    /// The incident at `incident`'s address; the year and month must be those of its first issue.
    pub async fn get(&self, incident: &IncidentRef) -> ServiceResult<Incident> {
        let found = self.storage.find_incident(&incident.connection, &incident.id).await?;
        match found {
            Some(found) if found.year_month() == (incident.year, incident.month) => Ok(found),
            _ => Err(self.not_found(incident).await),
        }
    }

    /// Distinguishes a missing connection from a missing incident, for a precise 404.
    async fn not_found(&self, incident: &IncidentRef) -> ServiceError {
        match self.storage.find_connection(&incident.connection).await {
            Ok(None) => ServiceError::ConnectionNotFound(incident.connection.clone()),
            Ok(Some(_)) => ServiceError::IncidentNotFound(incident.id.clone()),
            Err(error) => error.into(),
        }
    }

    /// Changes the status; `None` when the incident already had it (nothing is recorded then).
    #[tracing::instrument(skip_all, fields(connection = %incident.connection, incident = %incident.id, status = %status))]
    pub async fn change_status(
        &self,
        incident: &IncidentRef,
        status: IncidentStatus,
        actor: &Actor,
    ) -> ServiceResult<Option<StatusChange>> {
        self.get(incident).await?;
        let request = rules::StatusRequest {
            connection: incident.connection.clone(),
            id: incident.id.clone(),
            status,
            actor: actor.clone(),
            notify: self.notify.clone(),
            now: self.now(),
        };
        let work: WriteWork<StatusUpdate> =
            Box::new(move |tx| Box::pin(async move { rules::change_status(tx, &request).await }));
        let update = self.storage.write_status_change(work).await?;
        match update {
            StatusUpdate::Changed(change, deliveries) => {
                self.delivered(deliveries);
                tracing::info!(from = ?change.from, by = %actor.name, source = actor.source.as_str(), deliveries, "incident status changed");
                Ok(Some(change))
            }
            StatusUpdate::Unchanged => Ok(None),
            StatusUpdate::NotFound => Err(ServiceError::IncidentNotFound(incident.id.clone())),
        }
    }

    /// Links (or, with `None`, unlinks) an external ticket.
    pub async fn set_issue_url(&self, incident: &IncidentRef, issue_url: Option<&WebhookUrl>) -> ServiceResult<()> {
        self.get(incident).await?;
        let url = issue_url.map(WebhookUrl::as_str);
        match self.storage.set_issue_url(&incident.connection, &incident.id, url, self.now()).await? {
            true => Ok(()),
            false => Err(ServiceError::IncidentNotFound(incident.id.clone())),
        }
    }

    pub async fn history(&self, incident: &IncidentRef) -> ServiceResult<Vec<StatusChange>> {
        self.get(incident).await?;
        Ok(self.storage.incident_history(&incident.id).await?)
    }

    /// The issues that joined the incident, newest first.
    pub async fn issues(&self, incident: &IncidentRef, page: u32, limit: u32) -> ServiceResult<Vec<CheckResult>> {
        self.get(incident).await?;
        let offset = page.saturating_sub(1).saturating_mul(limit);
        Ok(self.storage.incident_issues(&incident.id, limit, offset).await?)
    }
}
