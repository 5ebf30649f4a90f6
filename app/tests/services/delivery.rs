//! Delivering notifications to a fake receiver on loopback, with the worker driven one round at
//! a time on a test clock.

use crate::{
    TestClock, TestDb,
    connections::new_connection,
    incidents::result,
    name,
    receiver::{Receiver, Reply},
};
use app::{
    delivery::{DeliveryConfig, DeliveryWorker, Outbound, OutboundPolicy, RetryPolicy, RetrySchedule, Timeouts},
    domain::{
        Actor, ChangeSource, Delivery, DeliveryState, IncidentGrouping, IncidentStatus, Severity, WebhookAddresses,
    },
    service::{IncidentRef, IncidentService},
    storage::Storage,
};
use std::{sync::Arc, time::Duration};

const PACE: Duration = Duration::from_secs(1);
/// Past any retry of the test schedule (at most 40 ms + 20 % jitter, counted from the end of the
/// real request, whose duration varies with the machine's load).
const RETRY_DUE: Duration = Duration::from_millis(500);

struct Harness {
    _db: TestDb,
    clock: TestClock,
    storage: Arc<dyn Storage>,
    incidents: IncidentService,
    worker: DeliveryWorker,
    receiver: Receiver,
}

fn config() -> DeliveryConfig {
    DeliveryConfig {
        retry: RetryPolicy {
            schedule: RetrySchedule([10, 20, 40].map(Duration::from_millis).to_vec()),
            throttle_delay: Duration::from_millis(500),
            retry_after_cap: Duration::from_secs(3600),
        },
        slack_pace: PACE,
        lease: Duration::from_secs(30),
        batch: 64,
        per_address: 4,
        poll_interval: Duration::from_millis(10),
    }
}

fn loopback_policy() -> OutboundPolicy {
    OutboundPolicy { allow_http: true, allow_subnets: vec!["127.0.0.0/8".parse().unwrap(), "::1/128".parse().unwrap()] }
}

/// Connection `dwh`, notifying `addresses(receiver)` for each status, with a worker on a test clock.
async fn harness_with(
    policy: OutboundPolicy,
    addresses: impl Fn(&Receiver, IncidentStatus) -> Option<String>,
) -> Harness {
    let receiver = Receiver::start().await;
    let db = TestDb::new();
    let connections = db.connections().await;
    connections.create(new_connection("dwh")).await.unwrap();
    let mut settings = IncidentGrouping::default();
    for status in IncidentStatus::ALL {
        let list = addresses(&receiver, status).map(|text| WebhookAddresses::parse(&text).unwrap());
        settings.notification.set(status, list);
    }
    connections.save_incident_grouping(&name("dwh"), &settings, None).await.unwrap();
    let clock = TestClock::at(crate::incidents::at_day(0));
    let storage = db.storage().await;
    let incidents = clock.service(storage.clone());
    let timeouts = Timeouts { connect: Duration::from_secs(2), request: Duration::from_millis(700) };
    let outbound = Outbound::new(policy, timeouts).unwrap();
    let worker = DeliveryWorker::new(storage.clone(), outbound, config(), clock.clock(), Default::default());
    Harness { _db: db, clock, storage, incidents, worker, receiver }
}

/// Every status notifies `/hook` on the receiver.
async fn harness() -> Harness {
    harness_with(loopback_policy(), |r, _| Some(r.url("/hook"))).await
}

impl Harness {
    /// Opens an incident on table `t`; returns its address.
    async fn open(&self, table: &str) -> IncidentRef {
        let outcome = self.incidents.ingest(&name("dwh"), &[result(table, 0, Severity::Error)]).await.unwrap();
        let (year, month, _) = crate::incidents::at_day(0).date();
        IncidentRef { connection: name("dwh"), year, month, id: outcome.opened[0].clone() }
    }

    async fn set(&self, incident: &IncidentRef, status: IncidentStatus) {
        let actor = Actor { name: "alice".into(), source: ChangeSource::Ui };
        self.incidents.change_status(incident, status, &actor).await.unwrap();
    }

    async fn round(&self) -> usize {
        self.worker.run_once().await.unwrap()
    }

    async fn deliveries(&self) -> Vec<Delivery> {
        self.storage.connection_deliveries(&name("dwh"), 100).await.unwrap()
    }
}

#[tokio::test]
async fn a_new_incident_is_posted_once_with_its_headers_and_recorded_as_delivered() {
    let h = harness().await;
    let incident = h.open("fact_sales").await;
    assert_eq!(h.round().await, 1);
    assert_eq!(h.round().await, 0, "nothing is sent twice");

    let received = h.receiver.received("/hook");
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(request.content_type, "application/json");
    assert!(request.user_agent.starts_with("Tocsin/"), "{}", request.user_agent);
    assert!(request.webhook_id.starts_with("msg_"), "{}", request.webhook_id);
    assert_eq!(request.body["incident_id"], incident.id.as_str());
    assert_eq!(request.body["status"], "open");
    assert_eq!(request.body["table"], "fact_sales");

    let deliveries = h.deliveries().await;
    assert_eq!(deliveries.len(), 1);
    let delivery = &deliveries[0];
    assert_eq!((delivery.state, delivery.attempts, delivery.format.as_str()), (DeliveryState::Delivered, 1, "dqops"));
    assert_eq!(delivery.history.len(), 1);
    assert_eq!((delivery.history[0].http_status, delivery.history[0].outcome.as_str()), (Some(200), "delivered"));
    assert_eq!(delivery.history[0].response_excerpt.as_deref(), Some("ok"));
}

#[tokio::test]
async fn each_status_change_notifies_its_own_addresses_and_a_repeat_notifies_nobody() {
    let h = harness_with(loopback_policy(), |r, status| Some(r.url(&format!("/{status}")))).await;
    let incident = h.open("t").await;
    h.set(&incident, IncidentStatus::Acknowledged).await;
    h.set(&incident, IncidentStatus::Acknowledged).await;
    h.set(&incident, IncidentStatus::Muted).await;
    while h.round().await > 0 {}
    for (path, count) in [("/open", 1), ("/acknowledged", 1), ("/muted", 1), ("/resolved", 0)] {
        assert_eq!(h.receiver.received(path).len(), count, "{path}");
    }
    assert_eq!(h.receiver.received("/muted")[0].body["status"], "muted");
}

#[tokio::test]
async fn server_errors_are_retried_on_the_schedule_with_the_same_webhook_id() {
    let h = harness().await;
    h.receiver.script("/hook", [Reply::Status(500, "rollup_error"), Reply::Status(503, "")]);
    h.open("t").await;
    assert_eq!(h.round().await, 1);
    assert_eq!(h.round().await, 0, "the retry is not due yet");
    h.clock.advance(RETRY_DUE);
    assert_eq!(h.round().await, 1);
    h.clock.advance(RETRY_DUE);
    assert_eq!(h.round().await, 1);

    let received = h.receiver.received("/hook");
    assert_eq!(received.len(), 3);
    assert!(received.iter().all(|r| r.webhook_id == received[0].webhook_id), "one delivery, one webhook-id");
    let delivery = &h.deliveries().await[0];
    assert_eq!((delivery.state, delivery.attempts), (DeliveryState::Delivered, 3));
    let statuses: Vec<_> = delivery.history.iter().map(|a| (a.http_status, a.outcome.as_str())).collect();
    assert_eq!(statuses, [(Some(500), "retry"), (Some(503), "retry"), (Some(200), "delivered")]);
}

#[tokio::test]
async fn a_429_waits_at_least_its_retry_after() {
    let h = harness().await;
    h.receiver.script("/hook", [Reply::TooManyRequests(30)]);
    h.open("t").await;
    h.round().await;
    let delivery = &h.deliveries().await[0];
    assert_eq!(delivery.state, DeliveryState::Pending);
    let wait = delivery.next_attempt_at.unwrap().millis() - h.clock.now().millis();
    assert!((30_000..31_000).contains(&wait), "waits {wait} ms");
    h.clock.advance(Duration::from_secs(29));
    assert_eq!(h.round().await, 0);
    h.clock.advance(Duration::from_secs(2));
    assert_eq!(h.round().await, 1);
    assert_eq!(h.deliveries().await[0].state, DeliveryState::Delivered);
}

#[tokio::test]
async fn slack_answers_that_the_webhook_is_gone_disable_the_address_and_later_ones_are_skipped() {
    for (status, body) in [(404, "no_service"), (410, "channel_is_archived"), (403, "invalid_token"), (410, "")] {
        let h = harness().await;
        h.receiver.script("/hook", [Reply::Status(status, body)]);
        let incident = h.open("t").await;
        h.round().await;
        h.set(&incident, IncidentStatus::Acknowledged).await;
        assert_eq!(h.round().await, 0, "{body}: nothing more is sent");
        let deliveries = h.deliveries().await;
        assert_eq!(deliveries[1].state, DeliveryState::Failed, "{body}");
        assert!(deliveries[1].address_disabled, "{body}");
        assert_eq!(deliveries[0].state, DeliveryState::Skipped, "{body}");
        assert_eq!(deliveries[0].last_error.as_deref().map(|e| e.starts_with("address disabled")), Some(true));
        assert_eq!(h.receiver.received("/hook").len(), 1);
    }
}

#[tokio::test]
async fn answers_a_retry_cannot_fix_fail_at_once_without_disabling_the_address() {
    for (status, body) in
        [(400, "invalid_payload"), (400, "no_text"), (403, "action_prohibited"), (404, "channel_not_found"), (401, "")]
    {
        let h = harness().await;
        h.receiver.script("/hook", [Reply::Status(status, body)]);
        let incident = h.open("t").await;
        h.round().await;
        let failed = &h.deliveries().await[0];
        assert_eq!((failed.state, failed.address_disabled), (DeliveryState::Failed, false), "{status} {body}");
        assert_eq!(failed.last_error.as_deref(), Some(format!("the receiver answered {status} {body}").trim_end()));
        h.set(&incident, IncidentStatus::Resolved).await;
        assert_eq!(h.round().await, 1, "{body}: the next notification is still sent");
    }
}

#[tokio::test]
async fn a_receiver_that_hangs_past_the_timeout_is_retried_after_the_throttle_delay() {
    let h = harness().await;
    h.receiver.script("/hook", [Reply::Hang(Duration::from_secs(3))]);
    h.open("t").await;
    h.round().await;
    let delivery = &h.deliveries().await[0];
    assert_eq!(delivery.state, DeliveryState::Pending);
    assert_eq!(delivery.history[0].error.as_deref(), Some("the receiver did not answer in time"));
    assert!(delivery.history[0].duration_ms < 2000, "gave up after the request timeout");
    let wait = delivery.next_attempt_at.unwrap().millis() - delivery.history[0].started_at.millis();
    assert!(wait >= 500, "at least the throttle delay, waited {wait} ms");
}

#[tokio::test]
async fn a_broken_connection_is_retried() {
    let h = harness().await;
    h.receiver.script("/hook", [Reply::Reset]);
    h.open("t").await;
    h.round().await;
    let delivery = &h.deliveries().await[0];
    assert_eq!(delivery.state, DeliveryState::Pending);
    assert!(
        delivery.history[0].error.as_deref().unwrap_or_default().starts_with("connection failed"),
        "{:?}",
        delivery.history
    );
    h.clock.advance(RETRY_DUE);
    h.round().await;
    assert_eq!(h.deliveries().await[0].state, DeliveryState::Delivered);
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let h = harness().await;
    h.receiver.script("/hook", [Reply::Redirect("/elsewhere")]);
    h.open("t").await;
    h.round().await;
    let delivery = &h.deliveries().await[0];
    assert_eq!(delivery.state, DeliveryState::Failed);
    assert_eq!(delivery.history[0].http_status, Some(302));
    assert!(h.receiver.received("/elsewhere").is_empty());
}

#[tokio::test]
async fn a_huge_answer_is_read_only_in_part() {
    let h = harness().await;
    h.receiver.script("/hook", [Reply::Huge(50 * 1024 * 1024)]);
    h.open("t").await;
    let started = std::time::Instant::now();
    h.round().await;
    assert!(started.elapsed() < Duration::from_secs(2), "the 50 MB body was not read whole");
    let delivery = &h.deliveries().await[0];
    assert_eq!(delivery.state, DeliveryState::Delivered);
    assert_eq!(delivery.history[0].response_excerpt.as_ref().map(String::len), Some(1024));
}

#[tokio::test]
async fn slack_addresses_are_paced() {
    let h = harness_with(loopback_policy(), |r, _| Some(r.slack_url("/slack"))).await;
    for n in 0..20 {
        h.open(&format!("table_{n}")).await;
    }
    assert_eq!(h.round().await, 1);
    assert_eq!(h.round().await, 0, "the next must wait for the pace");
    let mut rounds = 1;
    while h.receiver.received("/slack").len() < 20 {
        h.clock.advance(PACE);
        assert_eq!(h.round().await, 1, "one message per pace");
        rounds += 1;
    }
    assert_eq!(rounds, 20);
    let first = &h.receiver.received("/slack")[0];
    assert!(first.body["blocks"].is_array(), "a Slack address gets Block Kit");
}

#[tokio::test]
async fn a_hanging_address_does_not_delay_a_healthy_one() {
    let h = harness_with(loopback_policy(), |r, _| Some(format!("{}, {}", r.url("/stuck"), r.url("/healthy")))).await;
    h.receiver.script("/stuck", [Reply::Hang(Duration::from_secs(5))]);
    h.open("t").await;
    let worker = h.worker.clone();
    let round = tokio::spawn(async move { worker.run_once().await });
    let deadline = std::time::Instant::now() + Duration::from_millis(500);
    while h.receiver.received("/healthy").is_empty() {
        assert!(std::time::Instant::now() < deadline, "the healthy address waited for the stuck one");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(!round.is_finished(), "the stuck request was still in flight");
    round.await.unwrap().unwrap();
}

#[tokio::test]
async fn transitions_of_one_incident_arrive_in_order_even_when_the_first_attempt_fails() {
    let h = harness().await;
    h.receiver.script("/hook", [Reply::Status(500, "")]);
    let incident = h.open("t").await;
    h.round().await;
    h.set(&incident, IncidentStatus::Acknowledged).await;
    h.set(&incident, IncidentStatus::Resolved).await;
    assert_eq!(h.round().await, 0, "the later ones wait for the opening to get through");
    for _ in 0..5 {
        h.clock.advance(RETRY_DUE);
        h.round().await;
    }
    let statuses: Vec<String> =
        h.receiver.received("/hook").iter().map(|r| r.body["status"].as_str().unwrap().to_owned()).collect();
    assert_eq!(statuses, ["open", "open", "acknowledged", "resolved"]);
}

#[tokio::test]
async fn a_delivery_whose_retries_run_out_fails_and_can_be_retried_now() {
    let h = harness().await;
    h.receiver.script("/hook", [500, 500, 500, 500].map(|s| Reply::Status(s, "")));
    h.open("t").await;
    for _ in 0..4 {
        h.round().await;
        h.clock.advance(RETRY_DUE);
    }
    let failed = h.deliveries().await.remove(0);
    assert_eq!((failed.state, failed.attempts), (DeliveryState::Failed, 4));
    assert!(failed.last_error.unwrap().ends_with("no retries left"));
    assert!(h.storage.retry_delivery(failed.id, h.clock.now()).await.unwrap());
    assert_eq!(h.round().await, 1);
    assert_eq!(h.deliveries().await[0].state, DeliveryState::Delivered);
}

#[tokio::test]
async fn blocked_addresses_are_never_contacted() {
    // The default policy: https only, and no loopback.
    let h = harness_with(OutboundPolicy::default(), |r, _| Some(r.url("/canary"))).await;
    h.open("t").await;
    h.round().await;
    let delivery = &h.deliveries().await[0];
    assert_eq!(delivery.state, DeliveryState::Failed);
    assert!(delivery.last_error.as_deref().unwrap().starts_with("blocked: http:// addresses are not allowed"));

    let h =
        harness_with(OutboundPolicy { allow_http: true, allow_subnets: vec![] }, |r, _| Some(r.slack_url("/canary")))
            .await;
    h.open("t").await;
    h.round().await;
    let error = h.deliveries().await[0].last_error.clone().unwrap();
    assert!(error.starts_with("blocked: the host resolves only to blocked addresses"), "{error}");
    assert_eq!(h.receiver.total(), 0, "the canary saw no request");
}

#[tokio::test]
async fn the_webhook_url_never_appears_in_full_in_the_delivery_history() {
    let token = format!("SECRET{}", uuid_like());
    let h = harness_with(loopback_policy(), |r, _| Some(r.url(&format!("/services/T1/B1/{token}")))).await;
    h.receiver.script(
        &format!("/services/T1/B1/{token}"),
        [Reply::Status(500, "boom"), Reply::Status(400, "invalid_payload")],
    );
    h.open("t").await;
    h.round().await;
    h.clock.advance(RETRY_DUE);
    h.round().await;
    let deliveries = h.deliveries().await;
    let history = format!("{deliveries:?}");
    assert!(!history.contains(&token), "{history}");
    assert!(deliveries[0].address.starts_with("http://127.0.0.1/…"), "{}", deliveries[0].address);
}

fn uuid_like() -> String {
    format!("{:x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos())
}

#[tokio::test]
async fn one_round_sends_an_address_several_deliveries_in_order_and_stops_at_a_failure() {
    let h = harness().await;
    for n in 0..3 {
        h.open(&format!("t{n}")).await;
    }
    assert_eq!(h.round().await, 3, "three incidents, one address: one round");
    let tables: Vec<String> =
        h.receiver.received("/hook").iter().map(|r| r.body["table"].as_str().unwrap().to_owned()).collect();
    assert_eq!(tables, ["t0", "t1", "t2"]);

    for n in 3..6 {
        h.open(&format!("t{n}")).await;
    }
    h.receiver.script("/hook", [Reply::Status(500, "")]);
    assert_eq!(h.round().await, 1, "the first failed, and the others were given back unsent");
    let pending: Vec<Delivery> =
        h.deliveries().await.into_iter().filter(|d| d.state == DeliveryState::Pending).collect();
    assert_eq!(pending.len(), 3);
    assert_eq!(pending.iter().map(|d| d.attempts).sum::<u32>(), 1, "only the failed one counts an attempt");
    assert_eq!(h.round().await, 2, "the two given back go at once; the failed one waits for its retry");
    h.clock.advance(RETRY_DUE);
    assert_eq!(h.round().await, 1);
    assert!(h.deliveries().await.iter().all(|d| d.state == DeliveryState::Delivered));
}

/// The harness's clock, except that its `n`th reading (counting from 1) panics.
fn clock_panicking_at(clock: &TestClock, n: usize) -> app::service::Clock {
    let time = clock.clock();
    let readings = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    Arc::new(move || {
        if readings.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1 == n {
            panic!("injected panic at clock reading {n}");
        }
        time()
    })
}

/// Runs a worker whose clock panics at its `n`th reading until the opened incident's delivery
/// arrives; returns the log lines the worker wrote.
async fn deliver_through_a_panic_at_reading(n: usize) -> (Harness, String) {
    let h = harness().await;
    // Opened before the worker starts, so that the worker's clock readings come in a known order
    // on this single-threaded runtime: its first claim leases the delivery and spawns the
    // address's task; its second claim reads the clock before that task first runs; the task
    // reads it third.
    h.open("t").await;
    let logs = crate::Logs::capture();
    let timeouts = Timeouts { connect: Duration::from_secs(2), request: Duration::from_millis(700) };
    let outbound = Outbound::new(loopback_policy(), timeouts).unwrap();
    let clock = clock_panicking_at(&h.clock, n);
    let worker = DeliveryWorker::new(h.storage.clone(), outbound, config(), clock, Default::default());
    let stop = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(worker.run(stop.clone()));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while h.receiver.received("/hook").is_empty() {
        assert!(std::time::Instant::now() < deadline, "the delivery never arrived after the panic:\n{}", logs.text());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.cancel();
    running.await.expect("the worker ends normally once stopped");
    (h, logs.text())
}

#[tokio::test]
async fn a_panic_in_the_worker_loop_restarts_it_and_the_deliveries_it_held_are_sent_at_once() {
    let started = std::time::Instant::now();
    let (h, logged) = deliver_through_a_panic_at_reading(2).await;
    assert!(started.elapsed() < Duration::from_secs(5), "it waited for the lease (30 s) to run out");
    assert!(logged.contains("the delivery worker panicked"), "{logged}");
    assert!(logged.contains("injected panic at clock reading 2"), "{logged}");
    assert!(logged.contains("gave back the deliveries the panicked worker held count=1"), "{logged}");
    assert_eq!(h.receiver.received("/hook").len(), 1, "sent once");
    let deliveries = h.deliveries().await;
    assert_eq!(deliveries.len(), 1);
    assert_eq!(deliveries[0].state, DeliveryState::Delivered);
    assert_eq!(deliveries[0].attempts, 1, "the attempt the panic interrupted is not counted");
}

#[tokio::test]
async fn a_panic_while_sending_gives_back_that_addresses_deliveries_and_they_are_sent() {
    let (h, logged) = deliver_through_a_panic_at_reading(3).await;
    assert!(logged.contains("a delivery task panicked"), "{logged}");
    assert!(logged.contains("injected panic at clock reading 3"), "{logged}");
    assert!(!logged.contains("the delivery worker panicked"), "the worker itself went on: {logged}");
    let deliveries = h.deliveries().await;
    assert_eq!(deliveries[0].state, DeliveryState::Delivered);
    assert_eq!(deliveries[0].attempts, 1, "the attempt the panic interrupted is not counted");
}

/// Twenty workers claim from one outbox at once (on PostgreSQL, twenty connections at once):
/// each delivery is leased to exactly one of them and recorded once, no address is leased to two
/// at a time, and an incident's deliveries to one address go out in the order they were queued.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_claimers_deliver_four_thousand_deliveries_each_once_and_in_order() {
    use app::storage::{DeliveryOutcome, NextStep};
    use std::collections::{HashMap, HashSet};
    use std::sync::{
        Mutex,
        atomic::{AtomicUsize, Ordering},
    };
    const ADDRESSES: usize = 8;
    const INCIDENTS: usize = 250;
    let h = harness_with(loopback_policy(), |r, status| {
        let paths = (0..ADDRESSES).map(|n| r.url(&format!("/{n}"))).collect::<Vec<_>>().join(", ");
        matches!(status, IncidentStatus::Open | IncidentStatus::Acknowledged).then_some(paths)
    })
    .await;
    let results: Vec<_> = (0..INCIDENTS).map(|n| result(&format!("t{n}"), 0, Severity::Error)).collect();
    let opened = h.incidents.ingest(&name("dwh"), &results).await.unwrap().opened;
    assert_eq!(opened.len(), INCIDENTS);
    let (year, month, _) = crate::incidents::at_day(0).date();
    let acknowledge = opened.iter().map(|id| {
        let incident = IncidentRef { connection: name("dwh"), year, month, id: id.clone() };
        let h = &h;
        async move { h.set(&incident, IncidentStatus::Acknowledged).await }
    });
    futures::future::join_all(acknowledge).await;
    let total = INCIDENTS * ADDRESSES * 2;

    let now = h.clock.now();
    let sent = Arc::new(Mutex::new(Vec::<i64>::with_capacity(total)));
    let holders = Arc::new(Mutex::new(HashMap::<String, usize>::new()));
    let recorded = Arc::new(AtomicUsize::new(0));
    let claimers = (0..20).map(|claimer| {
        let (storage, sent, holders, recorded) = (h.storage.clone(), sent.clone(), holders.clone(), recorded.clone());
        tokio::spawn(async move {
            let owner = format!("claimer-{claimer}");
            let lease_until = app::domain::Timestamp::from_millis(now.millis() + 60_000);
            let deadline = std::time::Instant::now() + Duration::from_secs(120);
            while recorded.load(Ordering::SeqCst) < total {
                assert!(std::time::Instant::now() < deadline, "the outbox did not drain");
                let claimed = storage.claim_deliveries(&owner, now, lease_until, 4, 4).await.unwrap();
                if claimed.is_empty() {
                    // As a worker does between polls.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
                let mut batches: Vec<(String, Vec<app::storage::ClaimedDelivery>)> = Vec::new();
                for delivery in claimed {
                    match batches.iter_mut().find(|(url, _)| *url == delivery.url) {
                        Some((_, batch)) => batch.push(delivery),
                        None => batches.push((delivery.url.clone(), vec![delivery])),
                    }
                }
                for (url, batch) in batches {
                    let held = holders.lock().unwrap().insert(url.clone(), claimer);
                    assert_eq!(held, None, "{url} was leased to two claimers at once");
                    let last = batch.len() - 1;
                    for (index, delivery) in batch.iter().enumerate() {
                        sent.lock().unwrap().push(delivery.id);
                        tokio::task::yield_now().await;
                        if index == last {
                            // Before the record frees the address for the next claim.
                            holders.lock().unwrap().remove(&url);
                        }
                        let outcome = DeliveryOutcome {
                            started_at: now,
                            finished_at: now,
                            duration_ms: 1,
                            http_status: Some(200),
                            next: NextStep::Delivered,
                            error: None,
                            response_excerpt: None,
                            disable_address: None,
                            paced_until: None,
                            release_address: index == last,
                        };
                        assert!(storage.record_delivery_attempt(delivery, &owner, &outcome).await.unwrap());
                        recorded.fetch_add(1, Ordering::SeqCst);
                    }
                }
            }
        })
    });
    for claimer in futures::future::join_all(claimers).await {
        claimer.unwrap();
    }

    let sent = sent.lock().unwrap().clone();
    assert_eq!(sent.len(), total);
    assert_eq!(sent.iter().collect::<HashSet<_>>().len(), total, "a delivery was claimed twice");
    let pool = h._db.raw().await;
    let rows: Vec<(i64, String, String, String, i64)> =
        sqlx::query_as("SELECT id, incident_id, url, state, attempts FROM deliveries").fetch_all(&pool).await.unwrap();
    assert_eq!(rows.len(), total);
    assert!(rows.iter().all(|(_, _, _, state, attempts)| state == "delivered" && *attempts == 1));
    let key: HashMap<i64, (String, String)> =
        rows.into_iter().map(|(id, incident, url, _, _)| (id, (incident, url))).collect();
    let mut last_sent: HashMap<&(String, String), i64> = HashMap::new();
    for id in &sent {
        let previous = last_sent.insert(&key[id], *id);
        assert!(previous.is_none_or(|previous| previous < *id), "delivery {id} overtook an older one to its address");
    }
}

/// Two instances on one PostgreSQL database: a change committed through one wakes the other's
/// worker at once (LISTEN/NOTIFY), not at its next poll.
#[tokio::test]
#[ignore = "needs PostgreSQL (TOCSIN_TEST_DATABASE_URL); scripts/test runs it"]
async fn a_change_committed_by_one_instance_wakes_the_worker_of_another_at_once() {
    let h = harness().await;
    assert!(h._db.is_postgres(), "this test needs PostgreSQL: set TOCSIN_TEST_DATABASE_URL, as scripts/test does");
    let other_instance = h._db.storage().await;
    let timeouts = Timeouts { connect: Duration::from_secs(2), request: Duration::from_secs(2) };
    let outbound = Outbound::new(loopback_policy(), timeouts).unwrap();
    let poll_interval = Duration::from_secs(60);
    let config = DeliveryConfig { poll_interval, ..config() };
    // Its own wake-up, which the first instance's service never touches.
    let worker = DeliveryWorker::new(other_instance, outbound, config, h.clock.clock(), Default::default());
    let stop = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(worker.run(stop.clone()));
    // The worker's first claim finds nothing; it then waits for a wake-up or its next poll.
    tokio::time::sleep(Duration::from_millis(500)).await;

    let started = std::time::Instant::now();
    h.open("orders").await;
    while h.receiver.total() == 0 {
        assert!(started.elapsed() < Duration::from_secs(10), "the other instance's worker was not woken");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    eprintln!("delivered by the other instance {:?} after the commit", started.elapsed());
    assert!(started.elapsed() < poll_interval / 6);
    stop.cancel();
    running.await.unwrap();
}
