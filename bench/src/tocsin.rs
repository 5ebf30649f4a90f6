//! The `tocsin` under test: a child process on a fresh database (a SQLite file, or a new database
//! on a PostgreSQL server), its start-up time, and its memory as Linux reports it.

use anyhow::{Context, bail};
use sqlx::{Connection as _, Executor as _};
use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

/// The fresh database the instances share: removed when the run ends.
pub struct Database {
    pub url: String,
    /// The SQLite file's folder.
    dir: Option<PathBuf>,
    /// The PostgreSQL server, and the database created on it.
    postgres: Option<(String, String)>,
}

impl Database {
    /// A new SQLite file, or with `server` (a PostgreSQL URL) a new database on that server.
    pub async fn fresh(server: Option<&str>) -> anyhow::Result<Self> {
        let suffix = format!("{}_{}", std::process::id(), fastrand_suffix());
        let Some(server) = server else {
            let dir = std::env::temp_dir().join(format!("tocsin-bench-{suffix}"));
            std::fs::create_dir_all(&dir)?;
            let url = format!("sqlite://{}", dir.join("bench.db").display());
            return Ok(Self { url, dir: Some(dir), postgres: None });
        };
        let name = format!("tocsin_bench_{suffix}");
        let mut admin = sqlx::PgConnection::connect(server).await.context("could not connect to --database-url")?;
        admin.execute(format!("CREATE DATABASE {name}").as_str()).await?;
        admin.close().await?;
        let mut url = url::Url::parse(server)?;
        url.set_path(&name);
        Ok(Self { url: url.to_string(), dir: None, postgres: Some((server.to_owned(), name)) })
    }

    pub fn backend(&self) -> &'static str {
        if self.postgres.is_some() { "PostgreSQL" } else { "SQLite" }
    }

    /// Brings the planner's statistics up to date after seeding, as PostgreSQL's autovacuum does
    /// within its minute on a database in use (a page measured the moment 10,000 rows arrived
    /// would be planned for an empty table). SQLite keeps no such statistics.
    pub async fn settle(&self) -> anyhow::Result<()> {
        if self.postgres.is_some() {
            let mut conn = sqlx::PgConnection::connect(&self.url).await?;
            conn.execute("ANALYZE").await?;
            conn.close().await?;
        }
        Ok(())
    }

    /// Removes the database (after every instance stopped).
    pub async fn remove(self) -> anyhow::Result<()> {
        if let Some(dir) = &self.dir {
            std::fs::remove_dir_all(dir)?;
        }
        if let Some((server, name)) = &self.postgres {
            let mut admin = sqlx::PgConnection::connect(server).await?;
            admin.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await?;
        }
        Ok(())
    }
}

/// Linux's `USER_HZ`, the unit of the CPU times in `/proc/<pid>/stat`: 100 on every architecture
/// Linux runs on today.
const CLOCK_TICKS_PER_SECOND: f64 = 100.0;

pub struct Tocsin {
    child: Child,
    pub origin: String,
    pub client: reqwest::Client,
    /// From launch to the first successful health check.
    pub startup: Duration,
}

impl Drop for Tocsin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Tocsin {
    /// Starts `binary` on `database`; webhooks on 127.0.0.0/8 over http are allowed.
    pub async fn start(binary: &Path, site_root: Option<&Path>, database: &Database) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let mut command = Command::new(binary);
        command
            .env("TOCSIN_LISTEN", format!("127.0.0.1:{port}"))
            .env("TOCSIN_DATABASE_URL", &database.url)
            .env("TOCSIN_ALLOW_HTTP", "true")
            .env("TOCSIN_ALLOW_SUBNETS", "127.0.0.0/8")
            .env("TOCSIN_POLL_INTERVAL", "100ms")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null());
        if let Some(site_root) = site_root {
            command.env("TOCSIN_SITE_ROOT", site_root);
        }
        let launched = Instant::now();
        let child = command.spawn().with_context(|| format!("could not start {}", binary.display()))?;
        let client = reqwest::Client::builder().pool_max_idle_per_host(64).build()?;
        let mut tocsin = Self { child, origin: format!("http://127.0.0.1:{port}"), client, startup: Duration::ZERO };
        let deadline = launched + Duration::from_secs(10);
        loop {
            let health = tocsin.client.get(format!("{}/api/healthcheck", tocsin.origin)).send().await;
            if health.is_ok_and(|answer| answer.status().is_success()) {
                break;
            }
            if Instant::now() > deadline {
                bail!("tocsin did not answer its health check within 10 s");
            }
            if let Some(status) = tocsin.child.try_wait()? {
                bail!("tocsin exited at start-up: {status}");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        tocsin.startup = launched.elapsed();
        Ok(tocsin)
    }

    /// The CPU time the process has used so far, user and system (`/proc/<pid>/stat`).
    pub fn cpu(&self) -> anyhow::Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id()))
            .context("could not read the server's CPU time from /proc")?;
        // The fields after the command name (which is in parentheses and may hold spaces).
        let fields: Vec<&str> = stat.rsplit_once(')').context("no command name")?.1.split_whitespace().collect();
        let ticks = |index: usize| -> anyhow::Result<u64> { Ok(fields.get(index).context("short stat")?.parse()?) };
        // utime and stime are fields 14 and 15 of the whole line, counted in clock ticks.
        let total = ticks(11)? + ticks(12)?;
        Ok(Duration::from_secs_f64(total as f64 / CLOCK_TICKS_PER_SECOND))
    }

    /// Resident memory now, and its peak so far, in bytes (`VmRSS` and `VmHWM`).
    pub fn memory(&self) -> anyhow::Result<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .context("could not read the server's memory from /proc")?;
        let field = |name: &str| -> anyhow::Result<u64> {
            let line = status.lines().find(|line| line.starts_with(name)).with_context(|| format!("no {name}"))?;
            let kib: u64 = line.split_whitespace().nth(1).context("no value")?.parse()?;
            Ok(kib * 1024)
        };
        Ok((field("VmRSS:")?, field("VmHWM:")?))
    }

    pub async fn post_json(&self, path: &str, body: &serde_json::Value) -> anyhow::Result<serde_json::Value> {
        let answer = self.client.post(format!("{}{path}", self.origin)).json(body).send().await?;
        let status = answer.status();
        let text = answer.text().await?;
        if !status.is_success() {
            bail!("POST {path} answered {status}: {text}");
        }
        Ok(if text.is_empty() { serde_json::Value::Null } else { serde_json::from_str(&text)? })
    }

    pub async fn put_json(&self, path: &str, body: &serde_json::Value) -> anyhow::Result<()> {
        let answer = self.client.put(format!("{}{path}", self.origin)).json(body).send().await?;
        if !answer.status().is_success() {
            bail!("PUT {path} answered {}: {}", answer.status(), answer.text().await?);
        }
        Ok(())
    }

    pub async fn get_json(&self, path: &str) -> anyhow::Result<serde_json::Value> {
        let answer = self.client.get(format!("{}{path}", self.origin)).send().await?;
        if !answer.status().is_success() {
            bail!("GET {path} answered {}", answer.status());
        }
        Ok(answer.json().await?)
    }

    /// Creates a connection with no addresses.
    pub async fn create_connection(&self, name: &str) -> anyhow::Result<()> {
        self.post_json(&format!("/api/connections/{name}/basic"), &serde_json::json!({"provider_type": "other"}))
            .await
            .map(drop)
    }
}

fn fastrand_suffix() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos().into())
}
