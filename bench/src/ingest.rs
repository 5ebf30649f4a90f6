//! Ingest: batches of check results sent one after another, a mix of severities and dimensions
//! over a set of tables, so incidents open and then grow.

use crate::{Args, report::Report, tocsin::Tocsin};
use anyhow::bail;
use std::time::{Duration, Instant};

const DIMENSIONS: [&str; 4] = ["Completeness", "Validity", "Consistency", "Timeliness"];

fn batch(first: usize, size: usize, tables: usize, start: chrono::DateTime<chrono::Utc>) -> serde_json::Value {
    let results: Vec<serde_json::Value> = (first..first + size)
        .map(|i| {
            let executed_at = start + chrono::Duration::seconds(i as i64);
            serde_json::json!({
                "schema": "public", "table": format!("table_{}", i % tables), "column": format!("column_{}", i % 7),
                "check_name": format!("daily_check_{}", i % 5), "check_category": "nulls", "check_type": "monitoring",
                "quality_dimension": DIMENSIONS[i % 4], "severity": i % 4,
                "executed_at": executed_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                "actual_value": 1.5, "expected_value": 0, "result_id": format!("r{i}")
            })
        })
        .collect();
    serde_json::Value::Array(results)
}

pub async fn run(tocsin: &Tocsin, args: &Args, report: &mut Report) -> anyhow::Result<()> {
    tocsin.create_connection("ingest").await?;
    let start = chrono::Utc::now() - chrono::Duration::days(1);
    let bodies: Vec<serde_json::Value> = (0..args.ingest_batches)
        .map(|b| batch(b * args.ingest_batch_size, args.ingest_batch_size, args.ingest_tables, start))
        .collect();
    let (mut opened, mut updated) = (0_u64, 0_u64);
    let mut latencies: Vec<Duration> = Vec::with_capacity(bodies.len());
    let began = Instant::now();
    for body in &bodies {
        let sent = Instant::now();
        let outcome = tocsin.post_json("/api/connections/ingest/checkresults", body).await?;
        latencies.push(sent.elapsed());
        if outcome["accepted"].as_u64() != Some(args.ingest_batch_size as u64) {
            bail!("a batch was not fully accepted: {outcome}");
        }
        opened += outcome["incidents_opened"].as_u64().unwrap_or_default();
        updated += outcome["incidents_updated"].as_u64().unwrap_or_default();
    }
    let elapsed = began.elapsed();
    let total = args.ingest_batches * args.ingest_batch_size;
    let parameters = format!(
        "{total} results in {} batches of {}, one after another, over {} tables",
        args.ingest_batches, args.ingest_batch_size, args.ingest_tables
    );
    const INGEST: &str = "ingest";
    report.add(INGEST, "check results", total as f64 / elapsed.as_secs_f64(), "per s", &parameters);
    report.against("at least 50,000 per s");
    report.add(INGEST, "incidents opened", opened as f64, "", &parameters);
    report.add(INGEST, "updates to open incidents", updated as f64, "", &parameters);
    report.latencies(INGEST, "batch latency", &mut latencies, &parameters, None);
    Ok(())
}
