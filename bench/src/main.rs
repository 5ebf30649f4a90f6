//! `bench`: measures a release `tocsin` the same way every time. It starts the binary on a fresh
//! database (a SQLite file, or with `--database-url` a new database on that PostgreSQL server;
//! `--instances N` starts several processes on it) with a webhook receiver on 127.0.0.1, and reports dispatch (deliveries per second
//! and latency, at full speed and at a fixed rate), ingest, page serving and footprint as a table,
//! and as JSON with `--json`. It exits non-zero if a delivery was lost or any request failed.
//! Only loopback is contacted.
#![forbid(unsafe_code)]

mod dispatch;
mod ingest;
mod pages;
mod report;
mod tocsin;

use anyhow::Context;
use clap::Parser;
use report::{Report, kb, mb, ms};
use std::{io::Write, path::PathBuf, time::Duration};
use tocsin::{Database, Tocsin};

#[derive(Parser, Debug)]
#[command(about = "Measures Tocsin's speed and footprint against a local receiver")]
pub struct Args {
    /// The `tocsin` binary to measure (a release build for figures worth quoting).
    #[arg(long, env = "TOCSIN_BIN")]
    tocsin: PathBuf,
    /// The site folder cargo-leptos built (for the WebAssembly, JavaScript and CSS sizes).
    #[arg(long, env = "TOCSIN_SITE_ROOT")]
    site_root: Option<PathBuf>,
    /// Status changes in the full-speed dispatch run.
    #[arg(long, default_value_t = 5000)]
    transitions: usize,
    /// Webhook addresses (one connection each, unpaced generic webhooks) of the spread burst,
    /// and of the fixed-rate run.
    #[arg(long, default_value_t = 50)]
    addresses: usize,
    /// Webhook addresses of the burst to few addresses, as most teams have.
    #[arg(long, default_value_t = 2)]
    few_addresses: usize,
    /// Incidents per connection of the spread burst; the burst to few addresses has as many
    /// incidents in all.
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
    /// Check-result batches in the ingest run.
    #[arg(long, default_value_t = 20)]
    ingest_batches: usize,
    /// Check results per batch.
    #[arg(long, default_value_t = 1000)]
    ingest_batch_size: usize,
    /// Tables the ingested results are spread over.
    #[arg(long, default_value_t = 200)]
    ingest_tables: usize,
    /// Incidents on the connection whose pages are served.
    #[arg(long, default_value_t = 10_000)]
    page_incidents: usize,
    /// Requests per page.
    #[arg(long, default_value_t = 2000)]
    page_requests: usize,
    /// Page requests in flight at once.
    #[arg(long, default_value_t = 8)]
    page_concurrency: usize,
    /// A PostgreSQL server to measure on (a new database is created on it for the run, and
    /// dropped after), e.g. postgres://tocsin@127.0.0.1:5432/postgres. SQLite when not given.
    #[arg(long)]
    database_url: Option<String>,
    /// Tocsin processes sharing the database; the status changes are sent to each in turn, and
    /// any may deliver. More than one needs PostgreSQL.
    #[arg(long, default_value_t = 1)]
    instances: usize,
    /// Also write the figures to this file, as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

fn gzip_size(bytes: &[u8]) -> anyhow::Result<u64> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(bytes)?;
    Ok(encoder.finish()?.len() as u64)
}

/// The binary's size, and the site's WebAssembly, JavaScript and CSS, raw and gzip.
fn sizes(args: &Args, report: &mut Report) -> anyhow::Result<()> {
    const SECTION: &str = "footprint, files";
    let binary = std::fs::metadata(&args.tocsin).with_context(|| format!("no {}", args.tocsin.display()))?.len();
    report.add(SECTION, "server binary", mb(binary), "MB", &args.tocsin.display().to_string());
    let Some(site_root) = &args.site_root else { return Ok(()) };
    for (name, file) in [("WebAssembly", "tocsin.wasm"), ("JavaScript", "tocsin.js"), ("stylesheet", "tocsin.css")] {
        let path = site_root.join("pkg").join(file);
        let bytes = std::fs::read(&path).with_context(|| format!("could not read {}", path.display()))?;
        let parameters = path.display().to_string();
        report.add(SECTION, format!("{name}, raw"), kb(bytes.len() as u64), "KB", &parameters);
        report.add(SECTION, format!("{name}, gzip -9"), kb(gzip_size(&bytes)?), "KB", &parameters);
        if name == "WebAssembly" {
            report.against("at most 200 KB");
        }
    }
    Ok(())
}

async fn run(args: &Args, database: &Database, report: &mut Report) -> anyhow::Result<()> {
    sizes(args, report)?;
    let mut instances = Vec::with_capacity(args.instances);
    for _ in 0..args.instances.max(1) {
        instances.push(Tocsin::start(&args.tocsin, args.site_root.as_deref(), database).await?);
    }
    let tocsin = &instances[0];
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (idle, _) = tocsin.memory()?;

    let setup = format!("{} instance(s) on {}", instances.len(), database.backend());
    dispatch::run(&instances, args, &setup, report).await.context("dispatch")?;
    ingest::run(tocsin, args, report).await.context("ingest")?;
    pages::run(tocsin, database, args, report).await.context("pages")?;

    let (_, peak) = tocsin.memory()?;
    const MEMORY: &str = "footprint, process";
    let parameters = format!(
        "the first instance, on a fresh {} database; idle: 0.5 s after the first health check; peak: Linux's VmHWM",
        database.backend()
    );
    let parameters = parameters.as_str();
    report.add(MEMORY, "start-up, launch to first health check", ms(tocsin.startup), "ms", parameters);
    report.against("at most 50 ms");
    report.add(MEMORY, "memory (RSS) at idle", mb(idle), "MB", parameters);
    report.against("at most 15 MB");
    report.add(MEMORY, "memory (RSS), peak over every run above", mb(peak), "MB", parameters);
    report.against("under 64 MB");
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    if args.instances > 1 && args.database_url.is_none() {
        eprintln!("--instances {} needs --database-url: several instances share a PostgreSQL database", args.instances);
        return std::process::ExitCode::FAILURE;
    }
    let database = match Database::fresh(args.database_url.as_deref()).await {
        Ok(database) => database,
        Err(error) => {
            eprintln!("benchmark failed: {error:#}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let mut report = Report::default();
    let outcome = run(&args, &database, &mut report).await;
    if let Err(error) = database.remove().await {
        eprintln!("could not remove the benchmark's database: {error:#}");
    }
    report.print();
    if let Some(path) = &args.json {
        let written = serde_json::to_string_pretty(&report)
            .map_err(anyhow::Error::from)
            .and_then(|json| std::fs::write(path, json).map_err(Into::into));
        if let Err(error) = written {
            eprintln!("could not write {}: {error:#}", path.display());
            return std::process::ExitCode::FAILURE;
        }
    }
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("benchmark failed: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
