//! `bench dispatch`: starts a release `tocsin` on a fresh SQLite file and a webhook receiver on
//! 127.0.0.1, drives status changes through the REST API, and reports deliveries per second and
//! the dispatch latency (from the status change request to the receiver) at full speed and at a
//! fixed rate. Only loopback is contacted.
#![forbid(unsafe_code)]

use anyhow::{Context, bail};
use axum::{Json, Router, extract::State, routing::post};
use clap::Parser;
use std::{
    collections::HashMap,
    path::PathBuf,
    process::{Child, Command, Stdio},
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

#[derive(Parser, Debug)]
#[command(about = "Measures Tocsin's notification dispatch against a local receiver")]
struct Args {
    /// The release `tocsin` binary.
    #[arg(long, env = "TOCSIN_BIN")]
    tocsin: PathBuf,
    /// Status changes in the full-speed run.
    #[arg(long, default_value_t = 5000)]
    transitions: usize,
    /// Webhook addresses (one connection each), unpaced generic webhooks.
    #[arg(long, default_value_t = 50)]
    addresses: usize,
    /// Incidents per connection.
    #[arg(long, default_value_t = 10)]
    incidents: usize,
    /// Status changes in flight at once in the full-speed run.
    #[arg(long, default_value_t = 16)]
    concurrency: usize,
    /// The offered load of the fixed-rate run, in status changes per second.
    #[arg(long, default_value_t = 200)]
    rate: u32,
    /// How long the fixed-rate run lasts, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u32,
}

type Arrivals = Arc<Mutex<Vec<(String, String, Instant)>>>;

async fn receive(State(arrivals): State<Arrivals>, Json(body): Json<serde_json::Value>) -> &'static str {
    let id = body["incident_id"].as_str().unwrap_or_default().to_owned();
    let status = body["status"].as_str().unwrap_or_default().to_owned();
    arrivals.lock().expect("arrivals lock").push((id, status, Instant::now()));
    "ok"
}

struct Tocsin {
    child: Child,
    origin: String,
    client: reqwest::Client,
}

impl Drop for Tocsin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Tocsin {
    async fn start(binary: &PathBuf, database: &str) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let child = Command::new(binary)
            .env("TOCSIN_LISTEN", format!("127.0.0.1:{port}"))
            .env("TOCSIN_DATABASE_URL", database)
            .env("TOCSIN_ALLOW_HTTP", "true")
            .env("TOCSIN_ALLOW_SUBNETS", "127.0.0.0/8")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .with_context(|| format!("could not start {}", binary.display()))?;
        let tocsin = Self { child, origin: format!("http://127.0.0.1:{port}"), client: reqwest::Client::new() };
        let deadline = Instant::now() + Duration::from_secs(10);
        while tocsin.client.get(format!("{}/sources", tocsin.origin)).send().await.is_err() {
            if Instant::now() > deadline {
                bail!("tocsin did not start");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        Ok(tocsin)
    }

    async fn rpc(&self, function: &str, form: &[(&str, &str)]) -> anyhow::Result<()> {
        let response = self
            .client
            .post(format!("{}/rpc/{function}", self.origin))
            .header("accept", "application/json")
            .form(form)
            .send()
            .await?;
        let text = response.text().await?;
        if text != "\"Saved\"" {
            bail!("{function} answered {text}");
        }
        Ok(())
    }
}

/// One incident to change: its REST path.
struct Target {
    path: String,
    id: String,
}

async fn setup(tocsin: &Tocsin, args: &Args, receiver: &str) -> anyhow::Result<Vec<Target>> {
    let executed_at = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339();
    let mut targets = Vec::new();
    for c in 0..args.addresses {
        let name = format!("bench{c}");
        tocsin.rpc("create_connection", &[("form[name]", &name), ("form[provider_type]", "other")]).await?;
        let address = format!("{receiver}/hook/{c}");
        let fields = [
            ("connection", name.as_str()),
            ("form[grouping_level]", "table"),
            ("form[minimum_severity]", "warning"),
            ("form[max_incident_length_days]", "60"),
            ("form[mute_for_days]", "60"),
            ("form[enabled]", "on"),
            ("form[incident_opened_addresses]", address.as_str()),
            ("form[incident_acknowledged_addresses]", address.as_str()),
            ("form[incident_resolved_addresses]", address.as_str()),
            ("form[incident_muted_addresses]", address.as_str()),
        ];
        tocsin.rpc("save_incident_settings", &fields).await?;
        let results: Vec<serde_json::Value> = (0..args.incidents)
            .map(|i| {
                serde_json::json!({"schema": "public", "table": format!("t{i}"), "check_name": "c", "check_category": "k",
                    "check_type": "monitoring", "quality_dimension": "Validity", "severity": 2, "executed_at": executed_at})
            })
            .collect();
        tocsin
            .client
            .post(format!("{}/api/connections/{name}/checkresults", tocsin.origin))
            .json(&results)
            .send()
            .await?;
        let list: Vec<serde_json::Value> = tocsin
            .client
            .get(format!("{}/api/incidents/{name}?limit=1000", tocsin.origin))
            .send()
            .await?
            .json()
            .await?;
        for incident in list {
            let id = incident["incidentId"].as_str().unwrap_or_default().to_owned();
            let path =
                format!("{}/api/incidents/{name}/{}/{}/{id}", tocsin.origin, incident["year"], incident["month"]);
            targets.push(Target { path, id });
        }
    }
    Ok(targets)
}

const CYCLE: [&str; 4] = ["acknowledged", "resolved", "muted", "open"];

/// The `round`-th change of an incident: its new status.
fn status_of(round: usize) -> &'static str {
    CYCLE[round % CYCLE.len()]
}

struct Sent {
    id: String,
    status: &'static str,
    at: Instant,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Matches arrivals to sent changes (per incident and status, in order) and returns latencies.
fn latencies(sent: &[Sent], arrivals: &[(String, String, Instant)]) -> anyhow::Result<Vec<Duration>> {
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
    out.sort();
    Ok(out)
}

async fn wait_for(arrivals: &Arrivals, count: usize) -> anyhow::Result<Instant> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let arrived = arrivals.lock().expect("arrivals lock").len();
        if arrived >= count {
            return Ok(Instant::now());
        }
        if Instant::now() > deadline {
            bail!("only {arrived} of {count} deliveries arrived");
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let arrivals: Arrivals = Arc::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let receiver = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
    let app = Router::new().route("/hook/{n}", post(receive)).with_state(arrivals.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = std::env::temp_dir().join(format!("tocsin-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let database = format!("sqlite://{}", dir.join("bench.db").display());
    let tocsin = Tocsin::start(&args.tocsin, &database).await?;
    let targets = setup(&tocsin, &args, &receiver).await?;
    let opened = targets.len();
    wait_for(&arrivals, opened).await?;
    arrivals.lock().expect("arrivals lock").clear();

    // Full speed: `concurrency` changes in flight; each incident's changes stay in order.
    let started = Instant::now();
    let per_incident = args.transitions.div_ceil(targets.len());
    let lanes: Vec<Vec<(usize, usize)>> = (0..args.concurrency)
        .map(|lane| {
            (0..targets.len())
                .filter(|t| t % args.concurrency == lane)
                .flat_map(|t| (0..per_incident).map(move |r| (t, r)))
                .collect()
        })
        .collect();
    let client = &tocsin.client;
    let targets_ref = &targets;
    let results = futures::future::join_all(lanes.into_iter().map(|lane| async move {
        let mut sent = Vec::new();
        for (t, round) in lane {
            let target = &targets_ref[t];
            let status = status_of(round);
            let at = Instant::now();
            let response = client.post(format!("{}/status?status={status}", target.path)).send().await?;
            if response.status() != 204 {
                bail!("a status change answered {}", response.status());
            }
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
    let finished = wait_for(&arrivals, sent.len()).await?;
    let elapsed = finished.duration_since(started);
    let full = latencies(&sent, &arrivals.lock().expect("arrivals lock"))?;
    println!(
        "dispatch, full speed: {} status changes over {} incidents and {} addresses, {} in flight",
        sent.len(),
        targets.len(),
        args.addresses,
        args.concurrency
    );
    println!(
        "  accepted in {:.2} s; all delivered in {:.2} s: {:.0} deliveries/s end to end",
        accepted.as_secs_f64(),
        elapsed.as_secs_f64(),
        sent.len() as f64 / elapsed.as_secs_f64()
    );
    println!(
        "  latency, change request to receiver: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(percentile(&full, 0.5)),
        ms(percentile(&full, 0.99)),
        ms(*full.last().context("no deliveries")?)
    );

    // Fixed rate: one change every 1/rate seconds, round-robin over the incidents.
    arrivals.lock().expect("arrivals lock").clear();
    let total = (args.rate * args.seconds) as usize;
    let interval = Duration::from_secs_f64(1.0 / f64::from(args.rate));
    let mut rounds = vec![per_incident; targets.len()];
    let mut pending = Vec::new();
    let mut fixed_sent = Vec::with_capacity(total);
    let start = tokio::time::Instant::now();
    for n in 0..total {
        tokio::time::sleep_until(start + interval * n as u32).await;
        let t = n % targets.len();
        let status = status_of(rounds[t]);
        rounds[t] += 1;
        let target = &targets[t];
        let at = Instant::now();
        // Sent now, not when awaited: each change leaves at its scheduled time.
        let request = tokio::spawn(client.post(format!("{}/status?status={status}", target.path)).send());
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
    wait_for(&arrivals, total).await?;
    let fixed = latencies(&fixed_sent, &arrivals.lock().expect("arrivals lock"))?;
    println!("dispatch at {} status changes/s for {} s ({total} changes):", args.rate, args.seconds);
    println!(
        "  latency, change request to receiver: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        ms(percentile(&fixed, 0.5)),
        ms(percentile(&fixed, 0.99)),
        ms(*fixed.last().context("no deliveries")?)
    );
    drop(tocsin);
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
