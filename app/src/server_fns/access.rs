//! Server functions of the access page: who is signed in, and the API tokens.

#[cfg(feature = "ssr")]
use super::ssr;
use crate::domain::ApiToken;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// What the access page shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessInfo {
    /// Sign-in is required (`TOCSIN_AUTH=on`).
    pub sign_in_required: bool,
    /// Who is signed in, when sign-in is on.
    pub user: Option<String>,
    pub tokens: Vec<ApiToken>,
}

/// The answer to "Create token".
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum NewToken {
    /// The token, shown this once.
    Created { token: ApiToken, secret: String },
    /// The name is not valid; the message says why.
    Invalid(String),
}

#[server(prefix = "/rpc", endpoint = "access_overview")]
pub async fn access_overview() -> Result<AccessInfo, ServerFnError> {
    let access = ssr::state()?.access;
    let user = use_context::<http::request::Parts>()
        .and_then(|parts| parts.extensions.get::<crate::service::SignedIn>().map(|signed_in| signed_in.0.to_string()));
    Ok(AccessInfo {
        sign_in_required: access.enabled(),
        user,
        tokens: access.tokens().await.map_err(ssr::server_error)?,
    })
}

#[server(prefix = "/rpc", endpoint = "create_api_token")]
pub async fn create_api_token(name: String) -> Result<NewToken, ServerFnError> {
    let name = match crate::domain::TokenName::parse(&name) {
        Ok(name) => name,
        Err(error) => return Ok(NewToken::Invalid(format!("Token name {error}"))),
    };
    let (token, secret) = ssr::state()?.access.create_token(&name).await.map_err(ssr::server_error)?;
    tracing::info!(token = %token.display(), name = %token.name, "API token created on the access page");
    Ok(NewToken::Created { token, secret })
}

/// Returns false when the token was revoked already.
#[server(prefix = "/rpc", endpoint = "revoke_api_token")]
pub async fn revoke_api_token(id: i64) -> Result<bool, ServerFnError> {
    let revoked = ssr::state()?.access.revoke_token(id).await.map_err(ssr::server_error)?;
    if revoked {
        tracing::info!(token = id, "API token revoked on the access page");
    }
    Ok(revoked)
}
