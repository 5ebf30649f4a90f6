//! The one outbound HTTP client: timeouts, no redirects, no proxy, a Tocsin User-Agent, and a
//! DNS resolver that refuses blocked addresses, so the address checked is the one connected to.

use super::policy::OutboundPolicy;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::{error::Error, fmt, net::SocketAddr, sync::Arc, time::Duration};

/// Response bodies are read up to this many bytes; the rest is dropped unread.
pub const MAX_RESPONSE_BYTES: usize = 20 * 1024;

pub const USER_AGENT: &str = concat!("Tocsin/", env!("CARGO_PKG_VERSION"), " (+https://github.com/tocsin)");

/// What the receiver answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    /// At most [`MAX_RESPONSE_BYTES`] of the body, as text.
    pub body: String,
    pub retry_after: Option<String>,
}

/// Why no answer came back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendError {
    /// The policy forbids this address.
    Blocked(String),
    Timeout,
    /// Could not connect, or the connection broke.
    Connection(String),
}

impl fmt::Display for SendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Blocked(reason) => write!(f, "blocked: {reason}"),
            Self::Timeout => f.write_str("the receiver did not answer in time"),
            Self::Connection(reason) => write!(f, "connection failed: {reason}"),
        }
    }
}

#[derive(Debug)]
struct BlockedAddress(String);

impl fmt::Display for BlockedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for BlockedAddress {}

/// Resolves host names and keeps only the addresses the policy allows.
struct PolicyResolver(Arc<OutboundPolicy>);

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.0.clone();
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let resolved: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut reasons = Vec::new();
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|address| match policy.check_ip(address.ip()) {
                    Ok(()) => true,
                    Err(reason) => {
                        reasons.push(reason);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let reason = format!("the host resolves only to blocked addresses ({})", reasons.join("; "));
                return Err(Box::new(BlockedAddress(reason)) as Box<dyn Error + Send + Sync>);
            }
            Ok(Box::new(allowed.into_iter()) as Addrs)
        })
    }
}

/// Timeouts of outbound requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    pub connect: Duration,
    pub request: Duration,
}

impl Default for Timeouts {
    fn default() -> Self {
        Self { connect: Duration::from_secs(5), request: Duration::from_secs(15) }
    }
}

#[derive(Clone)]
pub struct Outbound {
    client: reqwest::Client,
    policy: Arc<OutboundPolicy>,
}

impl Outbound {
    pub fn new(policy: OutboundPolicy, timeouts: Timeouts) -> Result<Self, reqwest::Error> {
        let policy = Arc::new(policy);
        let client = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .timeout(timeouts.request)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .user_agent(USER_AGENT)
            .dns_resolver(Arc::new(PolicyResolver(policy.clone())))
            .build()?;
        Ok(Self { client, policy })
    }

    pub fn policy(&self) -> &OutboundPolicy {
        &self.policy
    }

    /// Posts `body` as JSON. `webhook_id` is the same on every attempt of one delivery.
    pub async fn post(&self, url: &str, webhook_id: &str, body: String) -> Result<Answer, SendError> {
        let url = reqwest::Url::parse(url).map_err(|_| SendError::Blocked("the address is not a valid URL".into()))?;
        self.policy.check_url(&url).map_err(SendError::Blocked)?;
        let response = self
            .client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("webhook-id", webhook_id)
            .body(body)
            .send()
            .await
            .map_err(send_error)?;
        let status = response.status().as_u16();
        let retry_after =
            response.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = read_limited(response).await.map_err(send_error)?;
        Ok(Answer { status, body, retry_after })
    }
}

/// Reads at most [`MAX_RESPONSE_BYTES`] of the body; a larger body is cut, never buffered whole.
async fn read_limited(mut response: reqwest::Response) -> Result<String, reqwest::Error> {
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        let room = MAX_RESPONSE_BYTES - bytes.len();
        bytes.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if bytes.len() >= MAX_RESPONSE_BYTES {
            break;
        }
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Describes a transport failure without the URL (reqwest's messages include it).
fn send_error(error: reqwest::Error) -> SendError {
    let mut source: Option<&(dyn Error + 'static)> = Some(&error);
    while let Some(current) = source {
        if let Some(blocked) = current.downcast_ref::<BlockedAddress>() {
            return SendError::Blocked(blocked.0.clone());
        }
        source = current.source();
    }
    if error.is_timeout() {
        return SendError::Timeout;
    }
    let kind = if error.is_connect() {
        "could not connect"
    } else if error.is_body() || error.is_decode() {
        "the response broke off"
    } else {
        "the request failed"
    };
    let cause = error.without_url().source().map(|s| s.to_string()).unwrap_or_default();
    SendError::Connection(if cause.is_empty() { kind.to_owned() } else { format!("{kind}: {cause}") })
}
