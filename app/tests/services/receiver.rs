//! A fake webhook receiver on 127.0.0.1 that behaves like Slack when told to: it answers each
//! request with the next scripted reply for its path (200 `ok` by default) and records it.

use axum::{
    Router,
    body::{Body, Bytes},
    extract::State,
    http::{HeaderMap, StatusCode, Uri},
    response::{IntoResponse, Response},
};
use std::{
    collections::{HashMap, VecDeque},
    sync::{Arc, Mutex},
    time::Duration,
};

#[derive(Clone, Debug)]
pub enum Reply {
    Ok,
    /// A status and a body, as Slack's errors come.
    Status(u16, &'static str),
    /// 429 with `Retry-After: <seconds>`.
    TooManyRequests(u64),
    /// Answers only after this long.
    Hang(Duration),
    /// 302 to another path of this receiver.
    Redirect(&'static str),
    /// 200 with a body of this many bytes.
    Huge(usize),
    /// Breaks the connection after the headers.
    Reset,
}

#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub webhook_id: String,
    pub user_agent: String,
    pub content_type: String,
    pub body: serde_json::Value,
}

#[derive(Default)]
struct Inner {
    scripts: HashMap<String, VecDeque<Reply>>,
    received: Vec<Received>,
}

#[derive(Clone)]
pub struct Receiver {
    pub port: u16,
    inner: Arc<Mutex<Inner>>,
}

impl Receiver {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let app = Router::new().fallback(receive).with_state(inner.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { port, inner }
    }

    /// A generic webhook address on this receiver.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// A Slack address on this receiver (the tests treat host `localhost` as Slack).
    pub fn slack_url(&self, path: &str) -> String {
        format!("http://localhost:{}{path}", self.port)
    }

    pub fn script(&self, path: &str, replies: impl IntoIterator<Item = Reply>) {
        self.inner.lock().unwrap().scripts.entry(path.to_owned()).or_default().extend(replies);
    }

    pub fn received(&self, path: &str) -> Vec<Received> {
        self.inner.lock().unwrap().received.iter().filter(|r| r.path == path).cloned().collect()
    }

    pub fn total(&self) -> usize {
        self.inner.lock().unwrap().received.len()
    }
}

async fn receive(State(inner): State<Arc<Mutex<Inner>>>, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let path = uri.path().to_owned();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    let reply = {
        let mut inner = inner.lock().unwrap();
        inner.received.push(Received {
            path: path.clone(),
            webhook_id: header("webhook-id"),
            user_agent: header("user-agent"),
            content_type: header("content-type"),
            body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
        });
        inner.scripts.get_mut(&path).and_then(VecDeque::pop_front).unwrap_or(Reply::Ok)
    };
    match reply {
        Reply::Ok => (StatusCode::OK, "ok").into_response(),
        Reply::Status(status, body) => (StatusCode::from_u16(status).unwrap(), body).into_response(),
        Reply::TooManyRequests(seconds) => {
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", seconds.to_string())], "{\"ok\":false}").into_response()
        }
        Reply::Hang(duration) => {
            tokio::time::sleep(duration).await;
            (StatusCode::OK, "ok").into_response()
        }
        Reply::Redirect(to) => (StatusCode::FOUND, [("location", to)]).into_response(),
        Reply::Huge(bytes) => {
            let chunk = Bytes::from(vec![b'x'; 64 * 1024]);
            let chunks = bytes.div_ceil(chunk.len());
            let stream = futures::stream::iter((0..chunks).map(move |_| Ok::<_, std::io::Error>(chunk.clone())));
            (StatusCode::OK, Body::from_stream(stream)).into_response()
        }
        Reply::Reset => {
            let stream = futures::stream::iter([
                Ok(Bytes::from_static(b"partial")),
                Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset")),
            ]);
            (StatusCode::OK, Body::from_stream(stream)).into_response()
        }
    }
}
