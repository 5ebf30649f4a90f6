//! The server as a browser and a script see it: real HTTP on loopback, a fresh database per test (a
//! SQLite file, or with `TOCSIN_TEST_DATABASE_URL` a database of its own on that PostgreSQL server).

mod access;
mod api;
mod at_rest;
mod crash;
mod filters;
mod incidents;
mod instances;
mod migrate;
mod protection;
mod robustness;
mod security;

use server::{Application, config::Config};
use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Command, Stdio},
};
use tempfile::TempDir;

pub struct TestApp {
    pub origin: String,
    pub client: reqwest::Client,
    database_url: String,
    _dir: TempDir,
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// A server on a fresh database, with the configuration `adjust` leaves.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        database_url: app::testing::fresh_database_url(&dir.path().join("tocsin.db")),
        site_root: dir.path().join("site"),
        http_timeout: std::time::Duration::from_secs(10),
        ..Config::defaults()
    };
    adjust(&mut config);
    let application = Application::build(&config).await.unwrap();
    let origin = format!("http://{}", application.local_addr());
    tokio::spawn(application.run_until(std::future::pending()));
    // A request that hangs fails its test, naming the request, instead of hanging the run.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(30))
        .build()
        .unwrap();
    TestApp { origin, client, database_url: config.database_url, _dir: dir }
}

impl TestApp {
    pub fn database_url(&self) -> String {
        self.database_url.clone()
    }

    /// A pool of its own to the server's database, to look behind the server's back.
    pub async fn raw(&self) -> sqlx::AnyPool {
        raw(&self.database_url).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.origin)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(self.url(path)).send().await.unwrap_or_else(|error| panic!("GET {path}: {error}"))
    }

    /// Calls a server function as the hydrated page does (it wants data back).
    pub async fn call(&self, function: &str, form: &[(&str, &str)]) -> serde_json::Value {
        let response = self
            .client
            .post(format!("{}/rpc/{function}", self.origin))
            .header("accept", "application/json")
            .form(form)
            .send()
            .await
            .unwrap_or_else(|error| panic!("server function {function}: {error}"));
        assert!(response.status().is_success(), "{function}: {}", response.status());
        response.json().await.unwrap()
    }

    /// Posts a form as a browser without JavaScript does, and returns where it is sent next.
    async fn post_plain_form(&self, function: &str, referer: &str, form: &[(&str, &str)]) -> String {
        let response = self
            .client
            .post(format!("{}/rpc/{function}", self.origin))
            .header("accept", "text/html,application/xhtml+xml")
            .header("referer", format!("{}{referer}", self.origin))
            .form(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 302, "{function}");
        response.headers()["location"].to_str().unwrap().to_owned()
    }

    pub async fn page(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), 200, "{path}");
        response.text().await.unwrap()
    }

    pub async fn create_connection(&self, name: &str) {
        let outcome =
            self.call("create_connection", &[("form[name]", name), ("form[provider_type]", "postgresql")]).await;
        assert_eq!(outcome, serde_json::json!("Saved"));
    }
}

pub fn settings_form<'a>(connection: &'a str, opened: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("connection", connection),
        ("form[grouping_level]", "table_dimension"),
        ("form[minimum_severity]", "fatal"),
        ("form[divide_by_data_groups]", "on"),
        ("form[max_incident_length_days]", "30"),
        ("form[mute_for_days]", "5"),
        ("form[incident_opened_addresses]", opened),
        ("form[incident_acknowledged_addresses]", ""),
        ("form[incident_resolved_addresses]", ""),
        ("form[incident_muted_addresses]", ""),
    ]
}

#[tokio::test]
async fn the_home_page_redirects_to_data_sources() {
    let app = spawn_app().await;
    let response = app.get("/").await;
    assert_eq!(response.status(), 303);
    assert_eq!(response.headers()["location"], "/sources");
}

#[tokio::test]
async fn a_created_connection_is_listed_on_the_data_sources_page() {
    let app = spawn_app().await;
    assert!(app.page("/sources").await.contains("No connections yet"));
    app.create_connection("sales_dwh").await;
    let page = app.page("/sources").await;
    assert!(page.contains(r#"href="/sources/connection/sales_dwh""#), "{page}");
    assert!(page.contains("PostgreSQL"));
}

#[tokio::test]
async fn unknown_connections_and_pages_answer_404() {
    let app = spawn_app().await;
    for path in ["/sources/connection/nope", "/sources/connection/nope/incidents", "/no/such/page"] {
        let response = app.get(path).await;
        assert_eq!(response.status(), 404, "{path}");
        assert!(response.text().await.unwrap().contains("Not found"), "{path}");
    }
}

#[tokio::test]
async fn saved_settings_are_rendered_by_the_server() {
    let app = spawn_app().await;
    app.create_connection("dwh").await;
    let outcome =
        app.call("save_incident_settings", &settings_form("dwh", "https://hooks.slack.com/services/T/B/secret")).await;
    assert_eq!(outcome, serde_json::json!("Saved"));

    let page = app.page("/sources/connection/dwh/incidents").await;
    assert!(page.contains(r#"value="https://hooks.slack.com/services/T/B/secret""#), "{page}");
    assert!(page.contains(r#"<option value="table_dimension" selected"#), "{page}");
    assert!(page.contains(r#"<option value="fatal" selected"#), "{page}");
    assert!(page.contains(r#"value="30""#) && page.contains(r#"value="5""#), "{page}");
}

#[tokio::test]
async fn a_rejected_save_names_each_field_and_changes_nothing() {
    let app = spawn_app().await;
    app.create_connection("dwh").await;
    app.call("save_incident_settings", &settings_form("dwh", "https://first.example/hook")).await;

    let mut form = settings_form("dwh", "https://second.example/hook");
    form.retain(|(key, _)| *key != "form[mute_for_days]");
    form.push(("form[mute_for_days]", "0"));
    form.retain(|(key, _)| *key != "form[incident_resolved_addresses]");
    form.push(("form[incident_resolved_addresses]", "https://user:hunter2@example.com/x"));
    let outcome = app.call("save_incident_settings", &form).await;
    assert_eq!(
        outcome,
        serde_json::json!({"Rejected": {
            "incident_resolved_addresses": "must not contain a user name or password",
            "mute_for_days": "must be between 1 and 3650 days",
        }})
    );
    let page = app.page("/sources/connection/dwh/incidents").await;
    assert!(page.contains("https://first.example/hook"));
    assert!(!page.contains("https://second.example/hook"));
}

#[tokio::test]
async fn without_javascript_a_save_redirects_back_with_its_outcome() {
    let app = spawn_app().await;
    app.create_connection("dwh").await;
    let page = "/sources/connection/dwh/incidents";
    let location =
        app.post_plain_form("save_incident_settings", page, &settings_form("dwh", "https://ok.example/")).await;
    assert_eq!(location, format!("{page}?saved=1"));
    assert!(app.page(&location).await.contains("Incident and notification settings saved."));

    let location = app.post_plain_form("save_incident_settings", page, &settings_form("dwh", "ftp://nope")).await;
    assert!(location.starts_with(&format!("{page}?error.incident_opened_addresses=")), "{location}");
    assert!(!location.contains("nope"), "the typed URL is not echoed: {location}");
    let rendered = app.page(&location).await;
    assert!(rendered.contains("must be an absolute URL starting with http:// or https://"), "{rendered}");
    assert!(rendered.contains("https://ok.example/"), "the saved value is still shown");
}

#[tokio::test]
async fn saving_settings_of_an_unknown_connection_fails_clearly() {
    let app = spawn_app().await;
    let response = app
        .client
        .post(format!("{}/rpc/save_incident_settings", app.origin))
        .header("accept", "application/json")
        .form(&settings_form("ghost", ""))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let body = response.text().await.unwrap();
    assert!(body.contains("no connection named"), "{body}");
}

pub fn tocsin() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_tocsin"));
    command.env_clear().env("PATH", std::env::var("PATH").unwrap_or_default());
    command
}

/// Runs a command to its end, `input` on its standard input, off the test's runtime thread. The
/// test's own server runs on that thread and must go on meanwhile: blocked in the middle of a
/// transaction, it would hold the database that the command waits for, until the command gave up.
pub async fn finish(mut command: Command, input: &str) -> std::process::Output {
    use std::io::Write as _;
    let input = input.to_owned();
    tokio::task::spawn_blocking(move || {
        let mut child = command.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        child.wait_with_output().unwrap()
    })
    .await
    .unwrap()
}

#[test]
fn bad_configuration_stops_start_up_with_a_clear_message() {
    let cases: [(&[&str], &str); 8] = [
        (&["--listen", "localhost"], "--listen"),
        (&["--database-url", "mysql://db/tocsin"], "sqlite:"),
        (&["--database-url", "postgres://[::1/tocsin"], "not a PostgreSQL URL"),
        (&["--base-url", "tocsin.example.com"], "--base-url"),
        (&["--allow-subnets", "10.0.0.0/33"], "invalid prefix length"),
        (&["--retry-schedule", "5s,soon"], "is not a duration"),
        (&["--slack-pace", "1 second"], "--slack-pace"),
        (&["--allow-http", "perhaps"], "--allow-http"),
    ];
    for (args, expected) in cases {
        let output = tocsin().args(args).output().unwrap();
        assert!(!output.status.success(), "{args:?} must fail");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let output = tocsin().env("TOCSIN_LISTEN", "127.0.0.1:99999").output().unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("127.0.0.1:99999"));
}

/// A pool of connections to the database at `url`, on either backend.
pub async fn raw(url: &str) -> sqlx::AnyPool {
    sqlx::any::install_default_drivers();
    sqlx::AnyPool::connect(url).await.unwrap()
}

/// Everything the database holds as text: for SQLite the bytes of its file and write-ahead log
/// (freed pages included), for PostgreSQL every row of every table.
pub async fn stored_text(url: &str) -> String {
    if let Some(path) = url.strip_prefix("sqlite://") {
        let mut bytes = std::fs::read(path).unwrap();
        bytes.extend(std::fs::read(format!("{path}-wal")).unwrap_or_default());
        return String::from_utf8_lossy(&bytes).into_owned();
    }
    let pool = raw(url).await;
    let tables: Vec<String> = sqlx::query_scalar("SELECT tablename::text FROM pg_tables WHERE schemaname = 'public'")
        .fetch_all(&pool)
        .await
        .unwrap();
    let mut text = String::new();
    for table in tables {
        let rows: Vec<String> =
            sqlx::query_scalar(&format!("SELECT t::text FROM {table} t")).fetch_all(&pool).await.unwrap();
        text.extend(rows.into_iter().map(|row| row + "\n"));
    }
    text
}

#[test]
fn an_unreachable_postgresql_database_stops_start_up_naming_it_without_its_password() {
    let url = "postgres://tocsin:hunter2@127.0.0.1:9/tocsin";
    let started = std::time::Instant::now();
    let output = tocsin().env("TOCSIN_DATABASE_URL", url).env("TOCSIN_LISTEN", "127.0.0.1:0").output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("postgres://tocsin:***@127.0.0.1:9/tocsin"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    assert!(started.elapsed() < std::time::Duration::from_secs(30), "took {:?}", started.elapsed());
}

#[test]
fn help_documents_every_setting_and_its_environment_variable() {
    let output = tocsin().arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "--listen",
        "TOCSIN_LISTEN",
        "--database-url",
        "TOCSIN_DATABASE_URL",
        "--base-url",
        "TOCSIN_BASE_URL",
        "TOCSIN_SITE_ROOT",
        "TOCSIN_SLACK_HOSTS",
        "TOCSIN_ALLOW_HTTP",
        "TOCSIN_ALLOW_SUBNETS",
        "TOCSIN_RETRY_SCHEDULE",
        "TOCSIN_THROTTLE_DELAY",
        "TOCSIN_SLACK_PACE",
        "TOCSIN_CONNECT_TIMEOUT",
        "TOCSIN_REQUEST_TIMEOUT",
        "TOCSIN_POLL_INTERVAL",
        "TOCSIN_AUTH",
        "TOCSIN_SECRET_KEY",
        "TOCSIN_HTTP_TIMEOUT",
    ] {
        assert!(help.contains(expected), "{expected} missing from:\n{help}");
    }
}

#[test]
fn by_default_the_database_is_a_sqlite_file_under_data_created_on_first_start() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = tocsin()
        .current_dir(dir.path())
        .env("TOCSIN_LISTEN", "127.0.0.1:0")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(line.starts_with("Tocsin is listening on 127.0.0.1:"), "{line}");
    assert!(line.contains("open http://127.0.0.1:"), "{line}");
    let database: PathBuf = dir.path().join("data/tocsin.db");
    assert!(database.is_file(), "{} was not created", database.display());
}

#[tokio::test]
async fn the_demo_creates_a_connection_with_grouped_and_triaged_incidents_and_can_run_twice() {
    use app::{
        domain::{ConnectionName, IncidentQuery, IncidentStatus},
        service::IncidentService,
    };
    let dir = tempfile::tempdir().unwrap();
    let database_url = app::testing::fresh_database_url(&dir.path().join("demo.db"));
    let run = || tocsin().env("TOCSIN_DATABASE_URL", &database_url).arg("demo").output().unwrap();
    let output = run();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let summary = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        summary.contains("The demo connection \"demo_shop\" received 240 check results over 5 simulated days"),
        "{summary}"
    );
    assert!(summary.contains("/incidents/demo_shop"), "{summary}");

    let incidents = IncidentService::new(
        app::storage::open(&database_url, Default::default()).await.unwrap(),
        app::notifications::NotifyContext {
            links: app::notifications::Links { base_url: "http://localhost/".into() },
            slack_hosts: vec![],
        },
        Default::default(),
    );
    let query = IncidentQuery { statuses: IncidentStatus::ALL.to_vec(), limit: 1000, ..IncidentQuery::ui_default() };
    let listed = incidents.list(&ConnectionName::parse("demo_shop").unwrap(), &query).await.unwrap();
    assert!(listed.total >= 5, "{} incidents", listed.total);
    assert!(listed.incidents.iter().any(|i| i.failed_checks_count > 1), "issues are grouped");
    for status in [IncidentStatus::Acknowledged, IncidentStatus::Resolved] {
        assert!(listed.incidents.iter().any(|i| i.status == status), "one incident is {status}");
    }

    let again = run();
    assert!(again.status.success());
    assert!(String::from_utf8_lossy(&again.stdout).contains("received 0 check results"), "results are sent with ids");
    assert_eq!(incidents.list(&ConnectionName::parse("demo_shop").unwrap(), &query).await.unwrap().total, listed.total);
}
