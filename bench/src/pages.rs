//! Pages: a connection holding many incidents, and its pages served to a client on loopback at a
//! fixed concurrency, server-rendered.

use crate::{
    Args,
    report::Report,
    tocsin::{Database, Tocsin},
};
use anyhow::{Context, bail};
use std::time::{Duration, Instant};

/// Opens `count` incidents on connection `pages`, one per table, in batches of 1,000.
async fn seed(tocsin: &Tocsin, count: usize) -> anyhow::Result<()> {
    tocsin.create_connection("pages").await?;
    let executed_at = (chrono::Utc::now() - chrono::Duration::hours(2)).to_rfc3339();
    let mut opened = 0;
    for first in (0..count).step_by(1000) {
        let results: Vec<serde_json::Value> = (first..count.min(first + 1000))
            .map(|i| {
                serde_json::json!({"schema": "sales", "table": format!("fact_{i:05}"), "check_name": "daily_row_count",
                    "check_category": "volume", "check_type": "monitoring", "quality_dimension": "Completeness",
                    "severity": 1 + i % 3, "executed_at": executed_at})
            })
            .collect();
        let outcome = tocsin.post_json("/api/connections/pages/checkresults", &serde_json::json!(results)).await?;
        opened += outcome["incidents_opened"].as_u64().context("no incidents_opened")? as usize;
    }
    if opened != count {
        bail!("seeding opened {opened} incidents instead of {count}");
    }
    Ok(())
}

/// `requests` GETs of `path`, `concurrency` at a time; each must answer 200 with `expect` in it.
async fn load(
    tocsin: &Tocsin,
    path: &str,
    expect: &str,
    requests: usize,
    concurrency: usize,
) -> anyhow::Result<(f64, Vec<Duration>)> {
    let url = format!("{}{path}", tocsin.origin);
    let began = Instant::now();
    let lanes = (0..concurrency).map(|lane| {
        let url = url.clone();
        let client = tocsin.client.clone();
        async move {
            let mut latencies = Vec::new();
            for _ in (lane..requests).step_by(concurrency) {
                let sent = Instant::now();
                let answer = client.get(&url).send().await?;
                let status = answer.status();
                let body = answer.text().await?;
                latencies.push(sent.elapsed());
                if status != 200 || !body.contains(expect) {
                    bail!("GET {url} answered {status} without {expect:?}");
                }
            }
            Ok::<_, anyhow::Error>(latencies)
        }
    });
    let mut latencies = Vec::with_capacity(requests);
    for lane in futures::future::join_all(lanes).await {
        latencies.extend(lane?);
    }
    Ok((requests as f64 / began.elapsed().as_secs_f64(), latencies))
}

pub async fn run(tocsin: &Tocsin, database: &Database, args: &Args, report: &mut Report) -> anyhow::Result<()> {
    seed(tocsin, args.page_incidents).await?;
    database.settle().await?;
    let pages = [
        ("incidents list page (/incidents/pages)", "/incidents/pages", "fact_"),
        ("Incidents and Notifications page", "/sources/connection/pages/incidents", "Webhooks for notifications"),
        ("incidents list, REST (/api/incidents/pages, 50 a page)", "/api/incidents/pages", "incidentId"),
    ];
    // One client shows the latency of a page on its own; several, the throughput and the queueing.
    for concurrency in [1, args.page_concurrency] {
        let parameters = format!(
            "a connection holding {} incidents; {} requests per page, {concurrency} at a time, from loopback",
            args.page_incidents, args.page_requests
        );
        let section = if concurrency == 1 { "pages, one client" } else { "pages, several clients" };
        for (name, path, expect) in pages {
            // Warm up the connection pool and caches, as a browser session would.
            load(tocsin, path, expect, concurrency, concurrency).await?;
            let (rate, mut latencies) = load(tocsin, path, expect, args.page_requests, concurrency).await?;
            report.add(section, format!("{name}: requests"), rate, "per s", &parameters);
            latencies.sort();
            let p99 = crate::report::percentile(&latencies, 0.99);
            report.add(section, format!("{name}: p99"), crate::report::ms(p99), "ms", &parameters);
            if concurrency == 1 && path == "/incidents/pages" {
                report.against("at most 5 ms");
            }
        }
    }
    Ok(())
}
