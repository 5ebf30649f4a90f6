//! The protections every request passes through: same-origin checks for state-changing
//! requests, security headers on every response, the request-body limit, the request timeout,
//! and a 500 answer (not a dropped connection) when a handler panics.

use app::content_policy::CONTENT_SECURITY_POLICY;
use axum::{
    Json,
    body::Body,
    extract::{MatchedPath, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header},
    middleware::Next,
    response::{IntoResponse, Response},
};
use futures::FutureExt as _;
use http_body_util::Limited;
use std::{panic::AssertUnwindSafe, time::Duration};

/// The largest body of a form, server function or settings request.
pub const MAX_BODY_BYTES: u64 = 64 * 1024;

/// An error answer in the shape the caller reads: JSON `{"error"}` under `/api/`, plain text elsewhere.
pub fn refusal(path: &str, status: StatusCode, message: impl Into<String>) -> Response {
    let message = message.into();
    if path.starts_with("/api/") {
        (status, Json(serde_json::json!({ "error": message }))).into_response()
    } else {
        (status, [(header::CONTENT_TYPE, "text/plain; charset=utf-8")], message).into_response()
    }
}

/// Refuses a state-changing request that a browser says comes from another site, the way Go's
/// `CrossOriginProtection` and tower-http's proposed `CsrfLayer` do: `Sec-Fetch-Site` first, then
/// `Origin` against `Host`. Requests with neither header (scripts, DQOps' client) are not made with a
/// browser's credentials, and pass.
pub async fn same_origin(request: Request, next: Next) -> Response {
    if is_safe(request.method()) || is_same_origin(request.headers()) {
        return next.run(request).await;
    }
    tracing::warn!(path = request.uri().path(), "refused a cross-site request");
    refusal(
        request.uri().path(),
        StatusCode::FORBIDDEN,
        "cross-site request refused: this request came from another web site; submit the form from Tocsin's own pages",
    )
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

fn is_same_origin(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get("sec-fetch-site") {
        // "none": the user typed the address or used a bookmark.
        return matches!(site.as_bytes(), b"same-origin" | b"none");
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return true;
    };
    let Some(host) = headers.get(header::HOST).and_then(|host| host.to_str().ok()) else {
        return false;
    };
    origin
        .to_str()
        .ok()
        .and_then(|origin| origin.split_once("://"))
        .is_some_and(|(scheme, authority)| matches!(scheme, "http" | "https") && authority.eq_ignore_ascii_case(host))
}

/// Adds the security headers to every response (pages, assets, API and errors alike).
pub async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    // A page has set its own policy, naming the nonce of its inline scripts.
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// Refuses a body over [`MAX_BODY_BYTES`] with 413, by its declared length before it is read, and
/// stops reading a body without a length at the limit. The check-results ingest enforces its own,
/// larger limit ([`crate::api::INGEST_MAX_BODY_BYTES`]) with an answer that says how to split a batch.
pub async fn limit_body(request: Request, next: Next) -> Response {
    if crate::api::is_ingest(request.method(), request.uri().path()) {
        return next.run(request).await;
    }
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|length| length.to_str().ok())
        .and_then(|length| length.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES) {
        return refusal(
            request.uri().path(),
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {} KiB; send less at once", MAX_BODY_BYTES >> 10),
        );
    }
    next.run(request.map(|body| Body::new(Limited::new(body, MAX_BODY_BYTES as usize)))).await
}

/// Answers 408 when a request, its body included, takes longer than the configured time; the
/// handler is dropped, so its transaction rolls back. Pages are rendered whole before their
/// answer starts (`SsrMode::Async`), so a page that cannot finish gets this answer too.
pub async fn time_limit(State(limit): State<Duration>, request: Request, next: Next) -> Response {
    let target = Target::of(&request);
    match tokio::time::timeout(limit, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(method = %target.method, path = target.path(), route = target.route(), "request timed out");
            refusal(
                target.path(),
                StatusCode::REQUEST_TIMEOUT,
                format!(
                    "the request took longer than {} s and was stopped; nothing of it was saved",
                    limit.as_secs_f64()
                ),
            )
        }
    }
}

/// Answers 500 when a handler (a page, a server function, the API) panics, and logs the panic
/// with its route, instead of dropping the connection without an answer. Whatever the handler
/// had not committed is rolled back with it.
pub async fn recover_panic(request: Request, next: Next) -> Response {
    let target = Target::of(&request);
    match AssertUnwindSafe(next.run(request)).catch_unwind().await {
        Ok(response) => response,
        Err(panic) => {
            tracing::error!(
                method = %target.method,
                path = target.path(),
                route = target.route(),
                panic = app::panic::message(panic.as_ref()),
                "a request handler panicked"
            );
            refusal(
                target.path(),
                StatusCode::INTERNAL_SERVER_ERROR,
                "Tocsin failed while answering this request, and nothing of it was saved; the server log has the details",
            )
        }
    }
}

/// What a log line names of a request: its method, path and the route it matched. Kept as the
/// request's own shared values, so that a request that goes well costs no copy of them.
struct Target {
    method: Method,
    uri: Uri,
    route: Option<MatchedPath>,
}

impl Target {
    fn of(request: &Request) -> Self {
        Self {
            method: request.method().clone(),
            uri: request.uri().clone(),
            route: request.extensions().get::<MatchedPath>().cloned(),
        }
    }

    fn path(&self) -> &str {
        self.uri.path()
    }

    fn route(&self) -> Option<&str> {
        self.route.as_ref().map(MatchedPath::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| (header::HeaderName::from_static(name), HeaderValue::from_static(value)))
            .collect()
    }

    #[test]
    fn fetch_metadata_decides_when_present() {
        assert!(is_same_origin(&headers(&[("sec-fetch-site", "same-origin")])));
        assert!(is_same_origin(&headers(&[("sec-fetch-site", "none")])));
        assert!(!is_same_origin(&headers(&[("sec-fetch-site", "cross-site")])));
        assert!(!is_same_origin(&headers(&[("sec-fetch-site", "same-site")])));
        // A matching Origin does not override what the browser said.
        assert!(!is_same_origin(&headers(&[
            ("sec-fetch-site", "cross-site"),
            ("origin", "http://tocsin.local"),
            ("host", "tocsin.local")
        ])));
    }

    #[test]
    fn the_origin_must_match_the_host_without_fetch_metadata() {
        assert!(is_same_origin(&headers(&[("origin", "http://127.0.0.1:8888"), ("host", "127.0.0.1:8888")])));
        assert!(is_same_origin(&headers(&[("origin", "https://Tocsin.example"), ("host", "tocsin.example")])));
        assert!(!is_same_origin(&headers(&[("origin", "http://evil.example"), ("host", "127.0.0.1:8888")])));
        assert!(!is_same_origin(&headers(&[("origin", "http://127.0.0.1:9999"), ("host", "127.0.0.1:8888")])));
        assert!(!is_same_origin(&headers(&[("origin", "null"), ("host", "127.0.0.1:8888")])));
        assert!(!is_same_origin(&headers(&[("origin", "http://127.0.0.1:8888")])));
    }

    #[test]
    fn requests_without_browser_headers_pass() {
        assert!(is_same_origin(&HeaderMap::new()));
    }
}
