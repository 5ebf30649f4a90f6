//! Dispatch: status changes driven through the REST API, and the notifications they cause as a
//! local receiver sees them. Each change is matched to its delivery by incident and status.

use crate::{Args, report::Report, tocsin::Tocsin};
use anyhow::{Context, bail};
use axum::{Json, Router, extract::State, routing::post};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

type Arrivals = Arc<Mutex<Vec<(String, String, Instant)>>>;

async fn receive(State(arrivals): State<Arrivals>, Json(body): Json<serde_json::Value>) -> &'static str {
    let id = body["incident_id"].as_str().unwrap_or_default().to_owned();
    let status = body["status"].as_str().unwrap_or_default().to_owned();
    arrivals.lock().expect("arrivals lock").push((id, status, Instant::now()));
    "ok"
}

/// A receiver on 127.0.0.1 that records every notification's incident, status and arrival.
async fn receiver() -> anyhow::Result<(String, Arrivals)> {
    let arrivals: Arrivals = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let origin = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
    let app = Router::new().route("/hook/{n}", post(receive)).with_state(arrivals.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok((origin, arrivals))
}

/// One incident to change: its REST path (under any instance's origin) and id.
struct Target {
    path: String,
    id: String,
}

/// The status change `n`: sent to the instances in turn.
fn url(origins: &[String], n: usize, target: &Target, status: &str) -> String {
    format!("{}{}/status?status={status}", origins[n % origins.len()], target.path)
}

/// `addresses` connections, each notifying its own address for every status, with `incidents`
/// open incidents each.
async fn setup(tocsin: &Tocsin, addresses: usize, incidents: usize, receiver: &str) -> anyhow::Result<Vec<Target>> {
    let executed_at = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let mut targets = Vec::new();
    for c in 0..addresses {
        let name = format!("dispatch{addresses}x{c}");
        tocsin.create_connection(&name).await?;
        let address = format!("{receiver}/hook/{addresses}x{c}");
        let spec = serde_json::json!({"grouping_level": "table", "incident_notification": {
            "incident_opened_addresses": address, "incident_acknowledged_addresses": address,
            "incident_resolved_addresses": address, "incident_muted_addresses": address}});
        tocsin.put_json(&format!("/api/connections/{name}/incidentgrouping"), &spec).await?;
        let results: Vec<serde_json::Value> = (0..incidents)
            .map(|i| {
                serde_json::json!({"schema": "public", "table": format!("t{i}"), "check_name": "c", "check_category": "k",
                    "check_type": "monitoring", "quality_dimension": "Validity", "severity": 2, "executed_at": executed_at})
            })
            .collect();
        tocsin.post_json(&format!("/api/connections/{name}/checkresults"), &serde_json::json!(results)).await?;
        let list = tocsin.get_json(&format!("/api/incidents/{name}?limit=1000")).await?;
        for incident in list.as_array().context("the incidents list is not an array")? {
            let id = incident["incidentId"].as_str().unwrap_or_default().to_owned();
            let path = format!("/api/incidents/{name}/{}/{}/{id}", incident["year"], incident["month"]);
            targets.push(Target { path, id });
        }
    }
    Ok(targets)
}

const CYCLE: [&str; 4] = ["acknowledged", "resolved", "muted", "open"];

struct Sent {
    id: String,
    status: &'static str,
    at: Instant,
}

/// Matches arrivals to sent changes (per incident and status, in order); every change must have
/// arrived exactly once.
fn latencies(sent: &[Sent], arrivals: &[(String, String, Instant)]) -> anyhow::Result<Vec<Duration>> {
    if arrivals.len() != sent.len() {
        bail!("{} status changes were sent but {} notifications arrived", sent.len(), arrivals.len());
    }
    let mut queues: HashMap<(&str, &str), Vec<Instant>> = HashMap::new();
    for arrival in arrivals {
        queues.entry((arrival.0.as_str(), arrival.1.as_str())).or_default().push(arrival.2);
    }
    let mut taken: HashMap<(&str, &str), usize> = HashMap::new();
    let mut out = Vec::with_capacity(sent.len());
    for change in sent {
        let key = (change.id.as_str(), change.status);
        let index = taken.entry(key).or_default();
        let arrived = queues.get(&key).and_then(|q| q.get(*index)).context("a delivery was lost")?;
        *index += 1;
        out.push(arrived.saturating_duration_since(change.at));
    }
    Ok(out)
}

async fn wait_for(arrivals: &Arrivals, count: usize) -> anyhow::Result<Instant> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let arrived = arrivals.lock().expect("arrivals lock").len();
        if arrived >= count {
            // Anything beyond `count` (a duplicate) would show in the matching.
            tokio::time::sleep(Duration::from_millis(50)).await;
            return Ok(Instant::now());
        }
        if Instant::now() > deadline {
            bail!("only {arrived} of {count} notifications arrived within 120 s: deliveries were lost");
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

async fn change(client: &reqwest::Client, url: String) -> anyhow::Result<()> {
    let response = client.post(url).send().await?;
    if response.status() != 204 {
        bail!("a status change answered {}", response.status());
    }
    Ok(())
}

/// The server CPU time of every instance so far.
fn cpu(instances: &[Tocsin]) -> anyhow::Result<Duration> {
    instances.iter().map(Tocsin::cpu).sum()
}

pub async fn run(instances: &[Tocsin], args: &Args, setup_text: &str, report: &mut Report) -> anyhow::Result<()> {
    let (receiver, arrivals) = receiver().await?;
    // The same burst to the few addresses most teams have, and spread over many.
    let mut targets = Vec::new();
    for addresses in [args.few_addresses, args.addresses] {
        // As many incidents in all either way, so that each burst has as many lanes to fill.
        let incidents = (args.addresses * args.incidents).div_ceil(addresses);
        targets = setup(&instances[0], addresses, incidents, &receiver).await?;
        wait_for(&arrivals, targets.len()).await?;
        arrivals.lock().expect("arrivals lock").clear();
        burst(instances, args, &targets, addresses, setup_text, &arrivals, report).await?;
        arrivals.lock().expect("arrivals lock").clear();
    }
    fixed_rate(instances, args, &targets, setup_text, &arrivals, report).await
}

/// Full speed: `concurrency` changes in flight; each incident's changes stay in order.
async fn burst(
    instances: &[Tocsin],
    args: &Args,
    targets: &[Target],
    addresses: usize,
    setup_text: &str,
    arrivals: &Arrivals,
    report: &mut Report,
) -> anyhow::Result<()> {
    let client = &instances[0].client;
    let origins: Vec<String> = instances.iter().map(|instance| instance.origin.clone()).collect();
    let origins = &origins;
    let per_incident = args.transitions.div_ceil(targets.len());
    let lanes: Vec<Vec<(usize, usize)>> = (0..args.concurrency)
        .map(|lane| {
            (0..targets.len())
                .filter(|t| t % args.concurrency == lane)
                .flat_map(|t| (0..per_incident).map(move |r| (t, r)))
                .collect()
        })
        .collect();
    let cpu_before = cpu(instances)?;
    let started = Instant::now();
    let results = futures::future::join_all(lanes.into_iter().map(|lane| async move {
        let mut sent = Vec::new();
        for (t, round) in lane {
            let target = &targets[t];
            let status = CYCLE[round % CYCLE.len()];
            let at = Instant::now();
            change(client, url(origins, t + round, target, status)).await?;
            sent.push(Sent { id: target.id.clone(), status, at });
        }
        Ok::<_, anyhow::Error>(sent)
    }))
    .await;
    let mut sent = Vec::new();
    for result in results {
        sent.extend(result?);
    }
    let accepted = started.elapsed();
    let finished = wait_for(arrivals, sent.len()).await?;
    let cpu_used = cpu(instances)? - cpu_before;
    let elapsed = finished.duration_since(started) - Duration::from_millis(50);
    let mut full = latencies(&sent, &arrivals.lock().expect("arrivals lock"))?;
    let parameters = format!(
        "{} status changes over {} incidents and {addresses} unpaced webhooks, {} requests in flight, {setup_text}",
        sent.len(),
        targets.len(),
        args.concurrency
    );
    let section = format!("dispatch, full speed, {addresses} addresses");
    report.add(&section, "status changes sent", sent.len() as f64, "", &parameters);
    report.add(&section, "notifications delivered", full.len() as f64, "", &parameters);
    report.add(&section, "status changes accepted", sent.len() as f64 / accepted.as_secs_f64(), "per s", &parameters);
    report.add(&section, "deliveries end to end", sent.len() as f64 / elapsed.as_secs_f64(), "per s", &parameters);
    report.against("at least 6,000 per s");
    let per_notification = cpu_used.as_secs_f64() * 1000.0 / sent.len() as f64;
    report.add(&section, "server CPU per notification", per_notification, "ms", &parameters);
    report.against("at most 0.17 ms");
    report.latencies(&section, "latency, change request to receiver,", &mut full, &parameters, Some("at most 50 ms"));
    Ok(())
}

/// Fixed rate: one change every 1/rate seconds, round-robin over the incidents.
async fn fixed_rate(
    instances: &[Tocsin],
    args: &Args,
    targets: &[Target],
    setup_text: &str,
    arrivals: &Arrivals,
    report: &mut Report,
) -> anyhow::Result<()> {
    let client = &instances[0].client;
    let origins: Vec<String> = instances.iter().map(|instance| instance.origin.clone()).collect();
    let origins = &origins;
    let per_incident = args.transitions.div_ceil(targets.len());
    let total = (args.rate * args.seconds) as usize;
    let interval = Duration::from_secs_f64(1.0 / f64::from(args.rate));
    let mut rounds = vec![per_incident; targets.len()];
    let mut pending = Vec::new();
    let mut fixed_sent = Vec::with_capacity(total);
    let cpu_before = cpu(instances)?;
    let start = tokio::time::Instant::now();
    for n in 0..total {
        tokio::time::sleep_until(start + interval * n as u32).await;
        let t = n % targets.len();
        let status = CYCLE[rounds[t] % CYCLE.len()];
        rounds[t] += 1;
        let target = &targets[t];
        let at = Instant::now();
        // Sent now, not when awaited: each change leaves at its scheduled time.
        let request = tokio::spawn(client.post(url(origins, n, target, status)).send());
        pending.push(async move {
            let response = request.await??;
            if response.status() != 204 {
                bail!("a status change answered {}", response.status());
            }
            Ok(())
        });
        fixed_sent.push(Sent { id: target.id.clone(), status, at });
    }
    for result in futures::future::join_all(pending).await {
        result?;
    }
    wait_for(arrivals, total).await?;
    let cpu_used = cpu(instances)? - cpu_before;
    let mut fixed = latencies(&fixed_sent, &arrivals.lock().expect("arrivals lock"))?;
    let parameters =
        format!("{} status changes per s for {} s ({total} changes), {setup_text}", args.rate, args.seconds);
    const FIXED: &str = "dispatch, fixed rate";
    report.add(FIXED, "notifications delivered", fixed.len() as f64, "", &parameters);
    report.latencies(FIXED, "latency, change request to receiver,", &mut fixed, &parameters, Some("at most 3 ms"));
    let per_notification = cpu_used.as_secs_f64() * 1000.0 / total as f64;
    report.add(FIXED, "server CPU per notification", per_notification, "ms", &parameters);
    Ok(())
}
