//! The benchmark's own counting, on a tiny run against the `tocsin` the test command built:
//! every status change it sent must be delivered once, and every figure must be there and
//! positive. `TOCSIN_BIN` and `TOCSIN_SITE_ROOT` name the server and its site (the test command
//! sets both).

use serde_json::Value;
use std::process::Command;

fn required(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} must name the built server (scripts/test sets it)"))
}

#[test]
fn a_tiny_run_delivers_every_change_and_reports_every_figure() {
    tiny_run(&[]);
}

/// The same on PostgreSQL, with two instances sharing the database.
#[test]
#[ignore = "needs PostgreSQL (TOCSIN_TEST_DATABASE_URL); scripts/test runs it"]
fn a_tiny_run_on_postgresql_with_two_instances_delivers_every_change() {
    let server = required("TOCSIN_TEST_DATABASE_URL");
    let stdout = tiny_run(&["--database-url", &server, "--instances", "2"]);
    assert!(stdout.contains("2 instance(s) on PostgreSQL"), "{stdout}");
}

/// Runs the benchmark small, checks its figures, and returns what it printed.
fn tiny_run(extra: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("figures.json");
    let output = Command::new(env!("CARGO_BIN_EXE_bench"))
        .args(["--tocsin", &required("TOCSIN_BIN"), "--site-root", &required("TOCSIN_SITE_ROOT")])
        .args(extra)
        .args(["--transitions", "60", "--addresses", "3", "--incidents", "2", "--concurrency", "4"])
        .args(["--rate", "40", "--seconds", "1"])
        .args(["--ingest-batches", "2", "--ingest-batch-size", "40", "--ingest-tables", "10"])
        .args(["--page-incidents", "120", "--page-requests", "12", "--page-concurrency", "3"])
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&output.stderr));

    let report: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let figures = report["figures"].as_array().unwrap();
    let value = |section: &str, name: &str| -> f64 {
        let figure = figures
            .iter()
            .find(|f| f["section"] == section && f["name"] == name)
            .unwrap_or_else(|| panic!("no figure {section} / {name} in {report}"));
        assert!(!figure["parameters"].as_str().unwrap().is_empty(), "{figure}");
        figure["value"].as_f64().unwrap()
    };

    // 6 incidents either way (3 connections of 2, 2 of 3), 60 changes in whole rounds per incident.
    for section in ["dispatch, full speed, 3 addresses", "dispatch, full speed, 2 addresses"] {
        assert_eq!(value(section, "status changes sent"), 60.0, "{section}");
        assert_eq!(value(section, "notifications delivered"), 60.0, "{section}");
    }
    assert_eq!(value("dispatch, fixed rate", "notifications delivered"), 40.0);
    assert!(value("ingest", "incidents opened") > 0.0);
    for figure in figures {
        let number = figure["value"].as_f64().unwrap();
        assert!(number > 0.0 && number.is_finite(), "{figure} is not positive");
    }
    for (section, name) in [
        ("footprint, files", "server binary"),
        ("footprint, files", "WebAssembly, gzip -9"),
        ("footprint, files", "JavaScript, gzip -9"),
        ("footprint, files", "stylesheet, gzip -9"),
        ("footprint, process", "start-up, launch to first health check"),
        ("footprint, process", "memory (RSS) at idle"),
        ("footprint, process", "memory (RSS), peak over every run above"),
        ("dispatch, full speed, 2 addresses", "deliveries end to end"),
        ("dispatch, full speed, 2 addresses", "server CPU per notification"),
        ("dispatch, full speed, 3 addresses", "latency, change request to receiver, p99"),
        ("dispatch, fixed rate", "server CPU per notification"),
        ("dispatch, fixed rate", "latency, change request to receiver, p99"),
        ("ingest", "check results"),
        ("pages, one client", "incidents list page (/incidents/pages): p99"),
        ("pages, several clients", "incidents list page (/incidents/pages): p99"),
        ("pages, several clients", "Incidents and Notifications page: requests"),
    ] {
        value(section, name);
    }
    assert!(stdout.contains("deliveries end to end"), "the table is printed: {stdout}");
    stdout.into_owned()
}
