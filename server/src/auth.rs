//! Sign-in, when `TOCSIN_AUTH=on`: every page needs a session (else a redirect to the sign-in
//! page), every server function a session (else 401), and every REST call a bearer API token
//! (else 401). Also the sign-in and sign-out handlers, and the limit on failed sign-ins.

use crate::security::refusal;
use app::{
    paths,
    service::{AccessService, SESSION_DAYS, SignedIn},
};
use axum::{
    Form,
    extract::{ConnectInfo, Request, State},
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    middleware::Next,
    response::{IntoResponse, Redirect, Response},
};
use serde::Deserialize;
use std::net::SocketAddr;

/// The cookie that carries the session id.
pub const SESSION_COOKIE: &str = "tocsin_session";
/// What the sign-in checks need: the service (which also limits failed sign-ins, see
/// `app::service::access::MAX_FAILURES`) and how to write the cookie.
#[derive(Clone)]
pub struct Gate {
    access: AccessService,
    /// Cookies get `Secure` when Tocsin is served over https.
    secure_cookies: bool,
}

impl Gate {
    pub fn new(access: AccessService, secure_cookies: bool) -> Self {
        Self { access, secure_cookies }
    }

    fn session_cookie(&self, id: &str, max_age: u64) -> HeaderValue {
        let secure = if self.secure_cookies { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{SESSION_COOKIE}={id}; Path=/; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}"
        ))
        .expect("a session id is a valid header value")
    }
}

/// What anyone may reach without signing in: the sign-in page and its assets, and the health check.
fn is_public(method: &Method, path: &str) -> bool {
    matches!(path, "/sign-in" | "/sign-out" | "/favicon.svg" | "/api/healthcheck")
        || (path.starts_with("/pkg/") && matches!(*method, Method::GET | Method::HEAD))
}

/// Lets a request through only with a valid session (pages, server functions) or API token (`/api`).
pub async fn require_sign_in(State(gate): State<Gate>, mut request: Request, next: Next) -> Response {
    let path = request.uri().path().to_owned();
    if is_public(request.method(), &path) {
        return next.run(request).await;
    }
    if path == "/api" || path.starts_with("/api/") {
        return match bearer_token(request.headers()) {
            None => unauthorized(&path, "send an API token: Authorization: Bearer tocsin_…"),
            Some(token) => match gate.access.token_valid(token).await {
                Ok(true) => next.run(request).await,
                Ok(false) => unauthorized(&path, "the API token is not valid, or it was revoked"),
                Err(error) => internal(&path, error),
            },
        };
    }
    let user = match cookie(request.headers(), SESSION_COOKIE) {
        Some(id) => match gate.access.session_user(id).await {
            Ok(user) => user,
            Err(error) => return internal(&path, error),
        },
        None => None,
    };
    match user {
        Some(user) => {
            request.extensions_mut().insert(SignedIn(user));
            next.run(request).await
        }
        None if matches!(*request.method(), Method::GET | Method::HEAD) && !path.starts_with("/rpc/") => {
            let target = request.uri().path_and_query().map_or(path.as_str(), |target| target.as_str());
            Redirect::to(&sign_in_page(&[("next", target)])).into_response()
        }
        None => refusal(&path, StatusCode::UNAUTHORIZED, "sign in first: there is no session, or it has ended"),
    }
}

fn unauthorized(path: &str, message: &str) -> Response {
    let mut response = refusal(path, StatusCode::UNAUTHORIZED, message);
    response.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

fn internal(path: &str, error: app::service::ServiceError) -> Response {
    tracing::error!(error = format!("{:#}", anyhow::Error::from(error)), "could not check the credentials");
    refusal(
        path,
        StatusCode::INTERNAL_SERVER_ERROR,
        "Tocsin could not check the credentials; the server log has the details",
    )
}

fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim())
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn sign_in_page(params: &[(&str, &str)]) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (name, value) in params.iter().filter(|(_, value)| !value.is_empty()) {
        query.append_pair(name, value);
    }
    let query = query.finish();
    if query.is_empty() { paths::SIGN_IN.to_owned() } else { format!("{}?{query}", paths::SIGN_IN) }
}

/// Where to go after signing in: a path on this site, never another site (`//evil.example`).
fn safe_next(next: &str) -> &str {
    let local = next.starts_with('/') && !next.starts_with("//") && !next.starts_with("/\\");
    if local && !next.starts_with(paths::SIGN_IN) { next } else { paths::SOURCES }
}

#[derive(Deserialize)]
pub struct SignInForm {
    #[serde(default)]
    user: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
}

/// `POST /sign-in`: starts a session and sends the browser on, or back to the form with the reason.
pub async fn sign_in(
    State(gate): State<Gate>,
    ConnectInfo(client): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    Form(form): Form<SignInForm>,
) -> Response {
    let address = client.ip();
    let wait = match gate.access.sign_in_wait(address).await {
        Ok(wait) => wait,
        Err(error) => return internal(paths::SIGN_IN, error),
    };
    if let Some(wait) = wait {
        tracing::warn!(%address, "sign-in refused: too many failed attempts");
        let mut response = refusal(
            paths::SIGN_IN,
            StatusCode::TOO_MANY_REQUESTS,
            format!(
                "too many failed sign-in attempts from your address; wait {} s and try again",
                wait.as_secs().max(1)
            ),
        );
        response.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait.as_secs().max(1)));
        return response;
    }
    let previous = cookie(&headers, SESSION_COOKIE);
    match gate.access.sign_in(&form.user, &form.password, previous).await {
        Ok(Some(session)) => {
            if let Err(error) = gate.access.sign_in_succeeded(address).await {
                tracing::warn!(%address, error = format!("{error:#}"), "could not forget the failed sign-ins");
            }
            tracing::info!(user = %session.user, "signed in");
            let mut response = Redirect::to(safe_next(&form.next)).into_response();
            let max_age = u64::from(SESSION_DAYS) * 86_400;
            response.headers_mut().insert(header::SET_COOKIE, gate.session_cookie(&session.id, max_age));
            response
        }
        Ok(None) => {
            if let Err(error) = gate.access.sign_in_failed(address).await {
                return internal(paths::SIGN_IN, error);
            }
            tracing::warn!(%address, "sign-in failed: wrong user name or password");
            Redirect::to(&sign_in_page(&[("error", "invalid"), ("user", &form.user), ("next", &form.next)]))
                .into_response()
        }
        Err(error) => internal(paths::SIGN_IN, error),
    }
}

/// `POST /sign-out`: ends the session on the server and clears the cookie.
pub async fn sign_out(State(gate): State<Gate>, headers: HeaderMap) -> Response {
    if let Some(id) = cookie(&headers, SESSION_COOKIE)
        && let Err(error) = gate.access.sign_out(id).await
    {
        return internal(paths::SIGN_OUT, error);
    }
    let mut response = Redirect::to(&sign_in_page(&[("error", "signed-out")])).into_response();
    response.headers_mut().insert(header::SET_COOKIE, gate.session_cookie("", 0));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed_after_sign_in() {
        assert_eq!(safe_next("/incidents/x?page=2"), "/incidents/x?page=2");
        assert_eq!(safe_next("//evil.example/"), "/sources");
        assert_eq!(safe_next("/\\evil.example"), "/sources");
        assert_eq!(safe_next("https://evil.example/"), "/sources");
        assert_eq!(safe_next(""), "/sources");
        assert_eq!(safe_next("/sign-in?x"), "/sources");
    }

    #[test]
    fn bearer_tokens_and_cookies_are_read_from_their_headers() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer tocsin_abc"));
        headers.insert(header::COOKIE, HeaderValue::from_static("a=1; tocsin_session=xyz; b=2"));
        assert_eq!(bearer_token(&headers), Some("tocsin_abc"));
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("xyz"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), None);
    }
}
