//! Tocsin's configuration: command-line flags, each with an environment-variable equivalent.

use app::crypto::SecretKey;
use app::delivery::{RetrySchedule, Subnet, parse_duration};
use clap::{ArgAction, Parser, Subcommand, builder::BoolishValueParser};
use std::time::Duration;
use std::{fmt, net::SocketAddr, path::PathBuf};

#[derive(Clone, Debug, Parser)]
#[command(
    name = "tocsin",
    version,
    about = "Tocsin: data quality incidents and Slack and webhook notifications, compatible with DQOps."
)]
pub struct Config {
    /// The address and port to listen on.
    #[arg(long, env = "TOCSIN_LISTEN", default_value = "127.0.0.1:8888")]
    pub listen: SocketAddr,

    /// Where Tocsin stores its data: a `sqlite:` URL (one instance), or a `postgres:` URL
    /// (several instances may share it). The default is a SQLite file under ./data/, created with
    /// its folder on first start.
    #[arg(long, env = "TOCSIN_DATABASE_URL", default_value = "sqlite://data/tocsin.db", value_parser = parse_database_url)]
    pub database_url: String,

    /// The public base URL of this Tocsin, used in the links that notifications carry.
    /// The default is derived from the listen address, e.g. http://127.0.0.1:8888/.
    #[arg(long, env = "TOCSIN_BASE_URL", value_parser = BaseUrl::parse)]
    pub base_url: Option<BaseUrl>,

    /// The folder holding the compiled web assets (the `pkg/` folder with the WebAssembly,
    /// JavaScript and CSS), as built by cargo-leptos.
    #[arg(long, env = "TOCSIN_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,

    /// Hosts whose webhook URLs get Slack messages (comma-separated); every other URL gets
    /// DQOps' JSON.
    #[arg(long, env = "TOCSIN_SLACK_HOSTS", default_value = "hooks.slack.com", value_delimiter = ',')]
    pub slack_hosts: Vec<String>,

    /// Allow plain http:// webhook addresses (only https:// otherwise).
    #[arg(long, env = "TOCSIN_ALLOW_HTTP", default_value = "false", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub allow_http: bool,

    /// Subnets that webhooks may reach although they are private or reserved (comma-separated
    /// CIDRs, e.g. 10.20.0.0/16), for receivers inside your network. Empty by default.
    #[arg(long, env = "TOCSIN_ALLOW_SUBNETS", value_delimiter = ',')]
    pub allow_subnets: Vec<Subnet>,

    /// The waits before each retry of a failed notification (comma-separated).
    #[arg(long, env = "TOCSIN_RETRY_SCHEDULE", default_value = "5s,30s,5m,30m,2h,5h,10h", value_parser = RetrySchedule::parse)]
    pub retry_schedule: RetrySchedule,

    /// The least wait after a receiver answered 429 or did not answer in time.
    #[arg(long, env = "TOCSIN_THROTTLE_DELAY", default_value = "60s", value_parser = parse_duration)]
    pub throttle_delay: Duration,

    /// The least time between two messages to one Slack webhook.
    #[arg(long, env = "TOCSIN_SLACK_PACE", default_value = "1s", value_parser = parse_duration)]
    pub slack_pace: Duration,

    /// How long connecting to a webhook may take.
    #[arg(long, env = "TOCSIN_CONNECT_TIMEOUT", default_value = "5s", value_parser = parse_duration)]
    pub connect_timeout: Duration,

    /// How long a whole webhook request may take.
    #[arg(long, env = "TOCSIN_REQUEST_TIMEOUT", default_value = "15s", value_parser = parse_duration)]
    pub request_timeout: Duration,

    /// Require sign-in for the web UI and a bearer API token for the REST API. Off by default,
    /// for a single user on their own machine; turn it on wherever others can reach the port.
    #[arg(long, env = "TOCSIN_AUTH", default_value = "false", action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub auth: bool,

    /// The key webhook URLs are encrypted with in the database: 32 bytes, base64
    /// (`tocsin generate-key` prints one). Without it they are stored in plain text.
    #[arg(long, env = "TOCSIN_SECRET_KEY", hide_env_values = true, value_parser = SecretKey::parse)]
    pub secret_key: Option<SecretKey>,

    /// How long one HTTP request to Tocsin may take, its body included, before it is answered 408.
    #[arg(long, env = "TOCSIN_HTTP_TIMEOUT", default_value = "30s", value_parser = parse_duration)]
    pub http_timeout: Duration,

    /// How often the delivery worker looks for due notifications when nothing woke it.
    #[arg(long, env = "TOCSIN_POLL_INTERVAL", default_value = "1s", value_parser = parse_duration)]
    pub poll_interval: Duration,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Clone, Debug, Subcommand)]
pub enum Command {
    /// Create the sample connection "demo_shop" in the configured database and feed it five
    /// simulated days of check results, then exit. Works while Tocsin runs.
    Demo,
    /// Manage the accounts that sign in when TOCSIN_AUTH=on.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the API tokens the REST API accepts when TOCSIN_AUTH=on.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Print a new random key for TOCSIN_SECRET_KEY.
    GenerateKey,
    /// Copy this database (TOCSIN_DATABASE_URL, a SQLite file) with its whole history into an
    /// empty PostgreSQL database, then exit. Stop Tocsin first; keep TOCSIN_SECRET_KEY as it is.
    MigrateTo {
        /// The PostgreSQL database to fill, e.g. postgres://tocsin@db.example/tocsin.
        #[arg(value_parser = parse_database_url)]
        target: String,
    },
}

#[derive(Clone, Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user. The password is read from the terminal, or from standard input when piped.
    Add {
        /// The sign-in name.
        name: String,
    },
}

#[derive(Clone, Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it (it is shown only this once).
    Create {
        /// What the token is for, e.g. "dqops-production".
        name: String,
    },
    /// List the tokens (their names and last characters).
    List,
    /// Revoke a token by its number, as `list` shows it.
    Revoke { id: i64 },
}

impl Config {
    /// The configuration with every setting at its default, as `tocsin` alone would run.
    pub fn defaults() -> Self {
        Self::parse_from(["tocsin"])
    }

    pub fn outbound_policy(&self) -> app::delivery::OutboundPolicy {
        app::delivery::OutboundPolicy { allow_http: self.allow_http, allow_subnets: self.allow_subnets.clone() }
    }

    pub fn delivery(&self) -> app::delivery::DeliveryConfig {
        app::delivery::DeliveryConfig {
            retry: app::delivery::RetryPolicy {
                schedule: self.retry_schedule.clone(),
                throttle_delay: self.throttle_delay,
                ..app::delivery::RetryPolicy::default()
            },
            slack_pace: self.slack_pace,
            lease: self.request_timeout + self.connect_timeout + Duration::from_secs(5),
            poll_interval: self.poll_interval,
            ..app::delivery::DeliveryConfig::default()
        }
    }

    /// The base URL links point at: the configured one, or one derived from the listen address.
    pub fn effective_base_url(&self, bound: SocketAddr) -> BaseUrl {
        self.base_url.clone().unwrap_or_else(|| BaseUrl::from_listen_address(bound))
    }
}

fn parse_database_url(input: &str) -> Result<String, String> {
    let url = input.trim();
    if url.starts_with("sqlite:") {
        Ok(url.to_owned())
    } else if app::storage::is_postgres_url(url) {
        match url::Url::parse(url) {
            Ok(_) => Ok(url.to_owned()),
            Err(error) => Err(format!("is not a PostgreSQL URL such as postgres://tocsin@db.example/tocsin: {error}")),
        }
    } else {
        Err("must be a sqlite: URL such as sqlite://data/tocsin.db, or a postgres: URL such as \
             postgres://tocsin@db.example/tocsin"
            .to_owned())
    }
}

/// An absolute `http` or `https` URL that ends with `/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BaseUrl(String);

impl BaseUrl {
    pub fn parse(input: &str) -> Result<Self, String> {
        let url = app::domain::WebhookUrl::parse(input)
            .map_err(|error| format!("{error} (for example https://tocsin.example.com/)"))?;
        let text = url.as_str();
        if text.contains(['?', '#']) {
            return Err("must not contain a query or a fragment".to_owned());
        }
        Ok(Self(if text.ends_with('/') { text.to_owned() } else { format!("{text}/") }))
    }

    pub fn from_listen_address(address: SocketAddr) -> Self {
        let host = match address.ip() {
            ip if ip.is_unspecified() => "localhost".to_owned(),
            std::net::IpAddr::V6(ip) => format!("[{ip}]"),
            ip => ip.to_string(),
        };
        Self(format!("http://{host}:{}/", address.port()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_end_with_a_slash_and_must_be_http() {
        assert_eq!(BaseUrl::parse("https://tocsin.example.com").unwrap().as_str(), "https://tocsin.example.com/");
        assert_eq!(BaseUrl::parse("http://h:8080/tocsin/").unwrap().as_str(), "http://h:8080/tocsin/");
        assert!(BaseUrl::parse("tocsin.example.com").is_err());
        assert!(BaseUrl::parse("https://h/?x=1").is_err());
    }

    #[test]
    fn the_default_base_url_follows_the_listen_address() {
        let url = |address: &str| BaseUrl::from_listen_address(address.parse().unwrap()).0;
        assert_eq!(url("127.0.0.1:8888"), "http://127.0.0.1:8888/");
        assert_eq!(url("0.0.0.0:80"), "http://localhost:80/");
        assert_eq!(url("[::1]:9000"), "http://[::1]:9000/");
    }

    #[test]
    fn sqlite_and_postgres_database_urls_are_accepted() {
        assert!(parse_database_url("sqlite://data/tocsin.db").is_ok());
        assert!(parse_database_url("sqlite::memory:").is_ok());
        assert!(parse_database_url("postgres://tocsin@localhost/tocsin").is_ok());
        assert!(parse_database_url("postgresql://tocsin:secret@db:5433/tocsin?sslmode=require").is_ok());
        assert!(parse_database_url("postgres://[::1/tocsin").unwrap_err().contains("not a PostgreSQL URL"));
        assert!(parse_database_url("mysql://x").is_err());
    }
}
