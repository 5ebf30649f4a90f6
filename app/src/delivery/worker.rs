//! The delivery worker. It claims due deliveries with a lease, sends them outside any
//! transaction, and records each attempt fenced on the lease. It wakes when a transition commits,
//! and polls as a fallback.

use super::{
    classify::{Verdict, classify},
    client::{Outbound, SendError},
    schedule::RetryPolicy,
};
use crate::{
    domain::Timestamp,
    notifications::Format,
    service::Clock,
    storage::{ClaimedDelivery, DeliveryOutcome, NextStep, Storage},
};
use std::{sync::Arc, time::Duration};
use tokio::{sync::Notify, task::JoinSet};
use tokio_util::sync::CancellationToken;

/// At most this much of a response is kept with an attempt.
const EXCERPT_BYTES: usize = 1024;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryConfig {
    pub retry: RetryPolicy,
    /// The least time between two messages to one Slack address.
    pub slack_pace: Duration,
    /// How long a claimed delivery stays leased; it must outlast the request timeout.
    pub lease: Duration,
    /// How many deliveries one round claims at most (one per address).
    pub batch: u32,
    /// How often the worker looks for due deliveries when nothing woke it.
    pub poll_interval: Duration,
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            slack_pace: Duration::from_secs(1),
            lease: Duration::from_secs(60),
            batch: 64,
            poll_interval: Duration::from_secs(1),
        }
    }
}

#[derive(Clone)]
pub struct DeliveryWorker {
    storage: Arc<dyn Storage>,
    outbound: Outbound,
    config: DeliveryConfig,
    clock: Clock,
    wake: Arc<Notify>,
    owner: String,
}

impl DeliveryWorker {
    pub fn new(
        storage: Arc<dyn Storage>,
        outbound: Outbound,
        config: DeliveryConfig,
        clock: Clock,
        wake: Arc<Notify>,
    ) -> Self {
        let owner = format!("worker-{}", uuid::Uuid::new_v4().simple());
        Self { storage, outbound, config, clock, wake, owner }
    }

    /// Sends every delivery that is due now (one per address), and returns how many it attempted.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        let claimed = self.claim(self.config.batch).await?;
        let count = claimed.len();
        let results = futures::future::join_all(claimed.into_iter().map(|delivery| self.deliver(delivery))).await;
        for result in results {
            result?;
        }
        Ok(count)
    }

    /// Runs until `shutdown` is cancelled, then lets the requests in flight finish (bounded by the
    /// request timeout) and claims nothing new. Each address's next delivery is claimed as soon as
    /// its previous one is recorded, so a slow address never holds up the others.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!(owner = %self.owner, "delivery worker started");
        match self.storage.release_abandoned_leases().await {
            Ok(0) => {}
            Ok(count) => tracing::warn!(count, "resending deliveries that were in flight when Tocsin last stopped"),
            Err(error) => tracing::error!(error = format!("{error:#}"), "could not release abandoned leases"),
        }
        let mut in_flight: JoinSet<anyhow::Result<()>> = JoinSet::new();
        while !shutdown.is_cancelled() {
            // Reap every finished delivery first, so that one claim serves all the freed addresses.
            while let Some(done) = in_flight.try_join_next() {
                log_failure(done);
            }
            let room = (self.config.batch as usize).saturating_sub(in_flight.len()) as u32;
            let claimed = match self.claim(room).await {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::error!(error = format!("{error:#}"), "could not claim deliveries");
                    Vec::new()
                }
            };
            let idle = claimed.is_empty();
            for delivery in claimed {
                let worker = self.clone();
                in_flight.spawn(async move { worker.deliver(delivery).await });
            }
            if !idle {
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.wake.notified() => {}
                Some(done) = in_flight.join_next(), if !in_flight.is_empty() => log_failure(done),
                () = tokio::time::sleep(self.config.poll_interval) => {}
            }
        }
        while let Some(done) = in_flight.join_next().await {
            log_failure(done);
        }
        tracing::info!("delivery worker stopped");
    }

    /// Leases up to `room` due deliveries (none when `room` is 0).
    async fn claim(&self, room: u32) -> anyhow::Result<Vec<ClaimedDelivery>> {
        if room == 0 {
            return Ok(Vec::new());
        }
        let now = (self.clock)();
        let lease_until = Timestamp::from_millis(now.millis() + self.config.lease.as_millis() as i64);
        Ok(self.storage.claim_deliveries(&self.owner, now, lease_until, room).await?)
    }

    #[tracing::instrument(skip_all, fields(delivery = delivery.id, attempt = delivery.attempt))]
    async fn deliver(&self, delivery: ClaimedDelivery) -> anyhow::Result<()> {
        let started_at = (self.clock)();
        let timer = std::time::Instant::now();
        let sent = self.outbound.post(&delivery.url, &delivery.webhook_id, delivery.payload.clone()).await;
        let duration_ms = timer.elapsed().as_millis().min(u128::from(u32::MAX)) as u32;
        let finished_at = Timestamp::from_millis(started_at.millis() + i64::from(duration_ms));
        let (verdict, http_status, excerpt) = match &sent {
            Ok(answer) => (
                classify(answer.status, &answer.body, answer.retry_after.as_deref()),
                Some(answer.status),
                Some(excerpt(&answer.body)).filter(|e| !e.is_empty()),
            ),
            Err(SendError::Blocked(reason)) => {
                (Verdict::Permanent { disable: false, reason: format!("blocked: {reason}") }, None, None)
            }
            Err(SendError::Timeout) => (
                Verdict::Retry { throttled: true, retry_after: None, reason: SendError::Timeout.to_string() },
                None,
                None,
            ),
            Err(error @ SendError::Connection(_)) => {
                (Verdict::Retry { throttled: false, retry_after: None, reason: error.to_string() }, None, None)
            }
        };
        let (next, error, disable_address) = match verdict {
            Verdict::Delivered => (NextStep::Delivered, None, None),
            Verdict::Permanent { disable, reason } => {
                (NextStep::GiveUp, Some(reason.clone()), disable.then_some(reason))
            }
            Verdict::Retry { throttled, retry_after, reason } => {
                let jitter = fastrand::f64() * 2.0 - 1.0;
                match self.config.retry.next_delay(delivery.attempt, throttled, retry_after, jitter) {
                    Some(delay) => (
                        NextStep::RetryAt(Timestamp::from_millis(finished_at.millis() + delay.as_millis() as i64)),
                        Some(reason),
                        None,
                    ),
                    None => (NextStep::GiveUp, Some(format!("{reason}; no retries left")), None),
                }
            }
        };
        let paced_until = (delivery.format == Format::Slack)
            .then(|| Timestamp::from_millis(started_at.millis() + self.config.slack_pace.as_millis() as i64));
        let outcome = DeliveryOutcome {
            started_at,
            finished_at,
            duration_ms,
            http_status,
            next,
            error,
            response_excerpt: excerpt,
            disable_address,
            paced_until,
        };
        match next {
            NextStep::Delivered => tracing::debug!(status = ?http_status, duration_ms, "delivered"),
            _ => tracing::warn!(status = ?http_status, error = ?outcome.error, "delivery attempt failed"),
        }
        if !self.storage.record_delivery_attempt(&delivery, &self.owner, &outcome).await? {
            tracing::warn!("the lease expired before the attempt was recorded; another worker owns it now");
        }
        Ok(())
    }
}

fn log_failure(done: Result<anyhow::Result<()>, tokio::task::JoinError>) {
    match done {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::error!(error = format!("{error:#}"), "could not record a delivery attempt"),
        Err(error) => tracing::error!(%error, "a delivery task failed"),
    }
}

fn excerpt(body: &str) -> String {
    let mut end = body.len().min(EXCERPT_BYTES);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    body[..end].to_owned()
}
