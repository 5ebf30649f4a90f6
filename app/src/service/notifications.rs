//! Notifications as people see them: test messages, recent deliveries, and the levers to retry
//! a delivery or re-enable an address. Test messages go through the worker's client and policy.

use super::{Clock, ServiceError, ServiceResult, system_clock};
use crate::{
    delivery::{Outbound, Verdict, classify},
    domain::{
        CheckType, ConnectionName, Delivery, FilterName, FilterOwner, FilteredNotification, Incident, IncidentStatus,
        NotificationAddresses, Severity, TestOutcome, Timestamp, WebhookAddresses, WebhookUrl,
    },
    notifications::{Format, Notification, NotifyContext, render},
    storage::{FilterWrite, Storage, StorageError},
};
use std::sync::Arc;
use tokio::sync::Notify;

#[derive(Clone)]
pub struct NotificationService {
    storage: Arc<dyn Storage>,
    outbound: Outbound,
    notify: NotifyContext,
    wake: Arc<Notify>,
    clock: Clock,
}

impl NotificationService {
    pub fn new(storage: Arc<dyn Storage>, outbound: Outbound, notify: NotifyContext, wake: Arc<Notify>) -> Self {
        Self { storage, outbound, notify, wake, clock: system_clock() }
    }

    /// Why an address may not be saved, if it may not: the same policy as sending (scheme,
    /// credentials and IP literals; host names are checked when resolved at sending time).
    pub fn check_address(&self, url: &WebhookUrl) -> Result<(), String> {
        let parsed = reqwest::Url::parse(url.as_str()).map_err(|_| "is not a valid URL".to_owned())?;
        self.outbound.policy().check_url(&parsed)
    }

    /// The addresses that the policy refuses, by status.
    pub fn refused_addresses(&self, notification: &NotificationAddresses) -> Vec<(IncidentStatus, String)> {
        IncidentStatus::ALL
            .into_iter()
            .filter_map(|status| {
                let addresses = notification.for_status(status)?;
                let reason = addresses.urls().iter().enumerate().find_map(|(index, url)| {
                    self.check_address(url).err().map(|reason| match addresses.urls().len() {
                        1 => format!("is not allowed: {reason}"),
                        count => format!("address {} of {count} is not allowed: {reason}", index + 1),
                    })
                })?;
                Some((status, reason))
            })
            .collect()
    }

    /// Sends a sample notification for `status` to each address, now, and says what happened.
    #[tracing::instrument(skip_all, fields(connection = %connection, status = %status))]
    pub async fn send_test(
        &self,
        connection: &ConnectionName,
        status: IncidentStatus,
        addresses: &WebhookAddresses,
    ) -> Vec<TestOutcome> {
        let incident = sample_incident(connection, status, (self.clock)());
        let mut outcomes = Vec::new();
        for url in addresses.urls() {
            let format = Format::for_url(url, &self.notify.slack_hosts);
            let body = render(
                &Notification { incident: &incident, status, message: Some("This is a test message from Tocsin.") },
                format,
                &self.notify.links,
            );
            let webhook_id = format!("msg_test_{}", uuid::Uuid::new_v4().simple());
            let (delivered, detail) = match self.outbound.post(url.as_str(), &webhook_id, body).await {
                Ok(answer) => {
                    let excerpt: String = answer.body.chars().take(200).collect();
                    let said =
                        format!("the receiver answered {} {}", answer.status, excerpt.trim()).trim_end().to_owned();
                    match classify(answer.status, &answer.body, answer.retry_after.as_deref()) {
                        Verdict::Delivered => (true, said),
                        _ => (false, said),
                    }
                }
                Err(error) => (false, error.to_string()),
            };
            outcomes.push(TestOutcome { address: url.redacted(), delivered, detail });
        }
        outcomes
    }

    /// The global default addresses, used for each status a connection leaves unset.
    pub async fn defaults(&self) -> ServiceResult<NotificationAddresses> {
        Ok(self.storage.default_notifications().await?)
    }

    /// Replaces the global default addresses; with `filters`, the global filtered notifications too.
    #[tracing::instrument(skip_all)]
    pub async fn save_defaults(
        &self,
        defaults: &NotificationAddresses,
        filters: Option<&[FilteredNotification]>,
    ) -> ServiceResult<()> {
        match self.storage.save_default_notifications(defaults, filters).await {
            Ok(()) => {
                tracing::info!("global default notification addresses saved");
                Ok(())
            }
            Err(StorageError::Conflict) => Err(super::connections::duplicate_filter_names()),
            Err(error) => Err(error.into()),
        }
    }
    /// The filtered notifications of a connection, or the global ones, in stored order.
    pub async fn filters(&self, owner: &FilterOwner) -> ServiceResult<Vec<FilteredNotification>> {
        self.storage.filters(owner).await?.ok_or_else(|| owner_not_found(owner))
    }

    #[tracing::instrument(skip_all, fields(filter = %filter.name))]
    pub async fn create_filter(&self, owner: &FilterOwner, filter: &FilteredNotification) -> ServiceResult<()> {
        let written = self.storage.create_filter(owner, filter).await?;
        filter_written(owner, &filter.name, written)
    }

    /// Replaces the filter `name` with `filter`, which may rename it.
    #[tracing::instrument(skip_all, fields(filter = %name))]
    pub async fn update_filter(
        &self,
        owner: &FilterOwner,
        name: &FilterName,
        filter: &FilteredNotification,
    ) -> ServiceResult<()> {
        let written = self.storage.update_filter(owner, name, filter).await?;
        filter_written(owner, &filter.name, written)
    }

    /// Deletes the filter `name`; one that is not there is not an error (as in DQOps).
    #[tracing::instrument(skip_all, fields(filter = %name))]
    pub async fn delete_filter(&self, owner: &FilterOwner, name: &FilterName) -> ServiceResult<()> {
        match self.storage.delete_filter(owner, name).await? {
            FilterWrite::OwnerNotFound => Err(owner_not_found(owner)),
            _ => Ok(()),
        }
    }

    pub async fn recent(&self, connection: &ConnectionName, limit: u32) -> ServiceResult<Vec<Delivery>> {
        Ok(self.storage.connection_deliveries(connection, limit).await?)
    }

    pub async fn of_incident(&self, incident_id: &str) -> ServiceResult<Vec<Delivery>> {
        Ok(self.storage.incident_deliveries(incident_id).await?)
    }

    /// Sends a failed or skipped delivery again, at once.
    pub async fn retry(&self, delivery_id: i64) -> ServiceResult<()> {
        if self.storage.retry_delivery(delivery_id, (self.clock)()).await? {
            self.wake.notify_one();
            Ok(())
        } else {
            Err(ServiceError::Invalid("this notification is not failed or skipped".to_owned()))
        }
    }

    /// Lets the worker send to a disabled address again.
    pub async fn enable_address(&self, delivery_id: i64) -> ServiceResult<()> {
        if self.storage.enable_delivery_address(delivery_id).await? {
            Ok(())
        } else {
            Err(ServiceError::Invalid("this address is not disabled".to_owned()))
        }
    }
}

fn owner_not_found(owner: &FilterOwner) -> ServiceError {
    match owner {
        FilterOwner::Connection(name) => ServiceError::ConnectionNotFound(name.clone()),
        // The global filters always exist.
        FilterOwner::Global => ServiceError::Internal(anyhow::anyhow!("the global filters were not found")),
    }
}

fn filter_written(owner: &FilterOwner, name: &FilterName, written: FilterWrite) -> ServiceResult<()> {
    match written {
        FilterWrite::Done => Ok(()),
        FilterWrite::OwnerNotFound => Err(owner_not_found(owner)),
        FilterWrite::FilterNotFound => Err(ServiceError::FilterNotFound(name.to_string())),
        FilterWrite::NameTaken => Err(ServiceError::FilterExists(name.to_string())),
    }
}

/// An incident that looks real enough to judge the message by.
fn sample_incident(connection: &ConnectionName, status: IncidentStatus, now: Timestamp) -> Incident {
    Incident {
        id: "00000000-0000-4000-8000-000000000000".to_owned(),
        connection: connection.clone(),
        incident_hash: 0,
        schema: "public".to_owned(),
        table: "sample_table".to_owned(),
        table_priority: Some(1),
        data_group: None,
        quality_dimension: Some("Completeness".to_owned()),
        check_category: Some("nulls".to_owned()),
        check_type: Some(CheckType::Monitoring),
        check_name: Some("daily_nulls_percent".to_owned()),
        highest_severity: Severity::Error,
        minimum_severity: Severity::Warning,
        first_seen: now,
        last_seen: now,
        incident_until: now.plus_days(60),
        failed_checks_count: 1,
        issue_url: None,
        status,
        muted_until: None,
    }
}
