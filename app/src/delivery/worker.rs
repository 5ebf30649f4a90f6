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
use std::{collections::HashMap, sync::Arc, time::Duration};
use tokio::{
    sync::Notify,
    task::{Id as TaskId, JoinError, JoinSet},
};
use tokio_util::sync::CancellationToken;

/// At most this much of a response is kept with an attempt.
const EXCERPT_BYTES: usize = 1024;
/// How long the worker waits before it starts again after a panic; doubled at each panic that
/// follows soon after, up to the maximum.
const RESTART_BACKOFF: Duration = Duration::from_millis(100);
const RESTART_BACKOFF_MAX: Duration = Duration::from_secs(30);

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryConfig {
    pub retry: RetryPolicy,
    /// The least time between two messages to one Slack address.
    pub slack_pace: Duration,
    /// How long a claimed delivery stays leased; it must outlast the request timeout.
    pub lease: Duration,
    /// How many addresses one round serves at most.
    pub batch: u32,
    /// How many deliveries to one address are leased together and sent one after another
    /// (Slack addresses, being paced, get one at a time).
    pub per_address: u32,
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
            per_address: 16,
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

    /// Sends what is due now, and returns how many deliveries it attempted.
    pub async fn run_once(&self) -> anyhow::Result<usize> {
        let batches = by_address(self.claim(self.config.batch).await?);
        let attempts = futures::future::join_all(batches.into_iter().map(|batch| self.deliver_batch(batch))).await;
        attempts.into_iter().sum()
    }

    /// Sends one address's deliveries in order. At the first one not delivered, the rest are
    /// given back unsent, so that order holds and a failing address is not hammered.
    async fn deliver_batch(&self, batch: Vec<ClaimedDelivery>) -> anyhow::Result<usize> {
        let mut deliveries = batch.into_iter();
        let mut attempted = 0;
        while let Some(delivery) = deliveries.next() {
            let url = delivery.url.clone();
            let last = deliveries.len() == 0;
            attempted += 1;
            if !self.deliver(delivery, last).await? && !last {
                let rest: Vec<i64> = deliveries.map(|d| d.id).collect();
                self.storage.release_deliveries(&url, &rest, &self.owner).await?;
                break;
            }
        }
        Ok(attempted)
    }

    /// Runs until `shutdown` is cancelled, then lets the requests in flight finish (bounded by the
    /// request timeout) and claims nothing new. A panic anywhere in the worker is logged, the
    /// deliveries it held are given back, and the worker starts again: nothing it had leased
    /// waits for the lease to run out.
    pub async fn run(self, shutdown: CancellationToken) {
        tracing::info!(owner = %self.owner, "delivery worker started");
        match self.storage.release_abandoned_leases().await {
            Ok(0) => {}
            Ok(count) => tracing::warn!(count, "resending deliveries that were in flight when Tocsin last stopped"),
            Err(error) => tracing::error!(error = format!("{error:#}"), "could not release abandoned leases"),
        }
        let relay = tokio::spawn({
            let (storage, wake, stop) = (self.storage.clone(), self.wake.clone(), shutdown.clone());
            async move { storage.relay_wake_ups(wake, stop).await }
        });
        let mut backoff = RESTART_BACKOFF;
        loop {
            let started = tokio::time::Instant::now();
            let panic = match tokio::spawn(self.clone().serve(shutdown.clone())).await {
                Ok(()) => break,
                Err(error) if error.is_panic() => error.into_panic(),
                // Only the runtime shutting down cancels it.
                Err(_) => break,
            };
            tracing::error!(
                panic = crate::panic::message(panic.as_ref()),
                "the delivery worker panicked; giving back its deliveries and starting it again"
            );
            self.give_back_everything().await;
            // A worker that panics again at once is restarted more and more slowly.
            backoff = if started.elapsed() > RESTART_BACKOFF_MAX { RESTART_BACKOFF } else { backoff };
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(RESTART_BACKOFF_MAX);
        }
        relay.abort();
        tracing::info!("delivery worker stopped");
    }

    /// The worker's loop: claim what is due, send each address's batch in its own task.
    async fn serve(self, shutdown: CancellationToken) {
        let mut in_flight = InFlight::default();
        while !shutdown.is_cancelled() {
            // Reap every finished delivery first, so that one claim serves all the freed addresses.
            while let Some(done) = in_flight.tasks.try_join_next_with_id() {
                self.reap(&mut in_flight, done).await;
            }
            let room = (self.config.batch as usize).saturating_sub(in_flight.tasks.len()) as u32;
            let claimed = match self.claim(room).await {
                Ok(claimed) => claimed,
                Err(error) => {
                    tracing::error!(error = format!("{error:#}"), "could not claim deliveries");
                    Vec::new()
                }
            };
            let idle = claimed.is_empty();
            for batch in by_address(claimed) {
                let leased = (batch[0].url.clone(), batch.iter().map(|delivery| delivery.id).collect());
                let worker = self.clone();
                let task = in_flight.tasks.spawn(async move { worker.deliver_batch(batch).await.map(|_| ()) });
                in_flight.leased.insert(task.id(), leased);
            }
            if !idle {
                continue;
            }
            tokio::select! {
                () = shutdown.cancelled() => break,
                () = self.wake.notified() => {}
                Some(done) = in_flight.tasks.join_next_with_id(), if !in_flight.tasks.is_empty() => {
                    self.reap(&mut in_flight, done).await;
                }
                () = tokio::time::sleep(self.config.poll_interval) => {}
            }
        }
        while let Some(done) = in_flight.tasks.join_next_with_id().await {
            self.reap(&mut in_flight, done).await;
        }
    }

    /// Logs how a batch's task ended. When it failed (the database refused to record an attempt)
    /// or panicked, gives back what it had not recorded, so that it is sent again now rather
    /// than when its lease runs out.
    async fn reap(&self, in_flight: &mut InFlight, done: Result<(TaskId, anyhow::Result<()>), JoinError>) {
        let task = match done {
            Ok((task, Ok(()))) => {
                in_flight.leased.remove(&task);
                return;
            }
            Ok((task, Err(error))) => {
                tracing::error!(error = format!("{error:#}"), "could not record a delivery attempt");
                task
            }
            Err(error) => {
                let task = error.id();
                let reason = if error.is_panic() {
                    crate::panic::message(error.into_panic().as_ref()).to_owned()
                } else {
                    error.to_string()
                };
                tracing::error!(panic = reason, "a delivery task panicked; giving back its deliveries");
                task
            }
        };
        if let Some((url, ids)) = in_flight.leased.remove(&task)
            && let Err(error) = self.storage.release_deliveries(&url, &ids, &self.owner).await
        {
            tracing::error!(error = format!("{error:#}"), "could not give back the deliveries of a failed task");
        }
    }

    /// Gives back every delivery this worker holds, after a panic dropped its tasks.
    async fn give_back_everything(&self) {
        match self.storage.release_owner_leases(&self.owner).await {
            Ok(0) => {}
            Ok(count) => tracing::warn!(count, "gave back the deliveries the panicked worker held"),
            Err(error) => tracing::error!(
                error = format!("{error:#}"),
                "could not give back the deliveries of the panicked worker; they are sent when their lease ends"
            ),
        }
    }

    /// Leases up to `room` due deliveries (none when `room` is 0).
    async fn claim(&self, room: u32) -> anyhow::Result<Vec<ClaimedDelivery>> {
        if room == 0 {
            return Ok(Vec::new());
        }
        let now = (self.clock)();
        let lease_until = Timestamp::from_millis(now.millis() + self.config.lease.as_millis() as i64);
        let per_address = self.config.per_address;
        Ok(self.storage.claim_deliveries(&self.owner, now, lease_until, room, per_address).await?)
    }

    #[tracing::instrument(skip_all, fields(delivery = delivery.id, attempt = delivery.attempt))]
    /// Sends one delivery and records the attempt; returns whether it was delivered. `last` frees
    /// the address once recorded.
    async fn deliver(&self, delivery: ClaimedDelivery, last: bool) -> anyhow::Result<bool> {
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
            release_address: last || next != NextStep::Delivered,
        };
        match next {
            NextStep::Delivered => tracing::debug!(status = ?http_status, duration_ms, "delivered"),
            _ => tracing::warn!(status = ?http_status, error = ?outcome.error, "delivery attempt failed"),
        }
        if !self.storage.record_delivery_attempt(&delivery, &self.owner, &outcome).await? {
            tracing::warn!("the lease expired before the attempt was recorded; another worker owns it now");
            return Ok(false);
        }
        Ok(next == NextStep::Delivered)
    }
}

/// The batches being sent, each task with the address and deliveries it leased.
#[derive(Default)]
struct InFlight {
    tasks: JoinSet<anyhow::Result<()>>,
    leased: HashMap<TaskId, (String, Vec<i64>)>,
}

/// Groups claimed deliveries by address, keeping their order.
fn by_address(claimed: Vec<ClaimedDelivery>) -> Vec<Vec<ClaimedDelivery>> {
    let mut batches: Vec<Vec<ClaimedDelivery>> = Vec::new();
    for delivery in claimed {
        match batches.iter_mut().find(|batch| batch[0].url == delivery.url) {
            Some(batch) => batch.push(delivery),
            None => batches.push(vec![delivery]),
        }
    }
    batches
}

fn excerpt(body: &str) -> String {
    let mut end = body.len().min(EXCERPT_BYTES);
    while !body.is_char_boundary(end) {
        end -= 1;
    }
    body[..end].to_owned()
}
