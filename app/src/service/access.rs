//! Who may use Tocsin when sign-in is on: users and their passwords, browser sessions, and API
//! tokens. Secrets are never stored, only their hashes, and a token is shown once, when created.

use super::{Clock, ServiceError, ServiceResult};
use crate::{
    crypto,
    domain::{ApiToken, MIN_PASSWORD_CHARS, Timestamp, TokenName, UserName},
    storage::{Storage, StorageError},
};
use std::{
    net::IpAddr,
    sync::{Arc, OnceLock},
    time::Duration,
};

/// How long a session lasts after sign-in.
pub const SESSION_DAYS: u32 = 7;
/// What API tokens start with, so that secret scanners and people can recognise them.
pub const TOKEN_PREFIX: &str = "tocsin_";
/// Failed sign-ins one client address may make in [`FAILURE_WINDOW`]; the next is refused. The
/// failures are stored, so the limit holds across every instance on one database.
pub const MAX_FAILURES: usize = 5;
pub const FAILURE_WINDOW: Duration = Duration::from_secs(60);

/// How long an address that failed at `failures` (oldest first) must wait at `now` before it
/// may try again; `None` when it may try now.
pub fn sign_in_wait(failures: &[Timestamp], now: Timestamp, max: usize, window: Duration) -> Option<Duration> {
    let window_ms = window.as_millis() as i64;
    let recent: Vec<&Timestamp> = failures.iter().filter(|at| now.millis() - at.millis() < window_ms).collect();
    if recent.len() < max {
        return None;
    }
    // Waiting until the oldest of the last `max` failures leaves the window.
    let oldest = recent[recent.len() - max];
    Some(Duration::from_millis((window_ms - (now.millis() - oldest.millis())).max(0) as u64))
}

/// The user a request was signed in as; the server adds it to the request's extensions.
#[derive(Clone, Debug)]
pub struct SignedIn(pub UserName);

/// A session just started: the id goes into the browser's cookie, and only its hash is stored.
#[derive(Debug)]
pub struct NewSession {
    pub id: String,
    pub user: UserName,
    pub expires_at: Timestamp,
}

#[derive(Clone)]
pub struct AccessService {
    storage: Arc<dyn Storage>,
    clock: Clock,
    /// Sign-in is required (`TOCSIN_AUTH=on`).
    enabled: bool,
    /// Checked when the user does not exist, so that a wrong name costs what a wrong password does.
    decoy: Arc<OnceLock<String>>,
}

impl AccessService {
    pub fn new(storage: Arc<dyn Storage>, clock: Clock, enabled: bool) -> Self {
        Self { storage, clock, enabled, decoy: Arc::default() }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    /// How long `address` must wait before it may try to sign in again, after too many failures.
    pub async fn sign_in_wait(&self, address: IpAddr) -> ServiceResult<Option<Duration>> {
        let now = (self.clock)();
        let since = Timestamp::from_millis(now.millis() - FAILURE_WINDOW.as_millis() as i64);
        let failures = self.storage.sign_in_failures(&address.to_string(), since).await?;
        Ok(sign_in_wait(&failures, now, MAX_FAILURES, FAILURE_WINDOW))
    }

    /// Counts a failed sign-in against `address`.
    pub async fn sign_in_failed(&self, address: IpAddr) -> ServiceResult<()> {
        let now = (self.clock)();
        let forget_before = Timestamp::from_millis(now.millis() - FAILURE_WINDOW.as_millis() as i64);
        Ok(self.storage.record_sign_in_failure(&address.to_string(), now, forget_before).await?)
    }

    /// Forgets the failures of `address`, which just signed in.
    pub async fn sign_in_succeeded(&self, address: IpAddr) -> ServiceResult<()> {
        Ok(self.storage.forget_sign_in_failures(&address.to_string()).await?)
    }

    pub async fn user_count(&self) -> ServiceResult<u64> {
        Ok(self.storage.user_count().await?)
    }

    /// Adds a user with a password of at least [`MIN_PASSWORD_CHARS`] characters.
    pub async fn add_user(&self, name: &UserName, password: &str) -> ServiceResult<()> {
        if password.chars().count() < MIN_PASSWORD_CHARS {
            return Err(ServiceError::Invalid(format!(
                "the password must be at least {MIN_PASSWORD_CHARS} characters long"
            )));
        }
        let password = password.to_owned();
        let hash = blocking(move || crypto::hash_password(&password)).await?;
        match self.storage.create_user(name, &hash, (self.clock)()).await {
            Ok(()) => Ok(()),
            Err(StorageError::Conflict) => {
                Err(ServiceError::Invalid(format!("a user named \"{name}\" already exists")))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// Starts a session when the name and password match; `None` when they do not. The session
    /// the browser held before (`replaces`) ends, so the id always changes at sign-in.
    #[tracing::instrument(skip_all)]
    pub async fn sign_in(
        &self,
        name: &str,
        password: &str,
        replaces: Option<&str>,
    ) -> ServiceResult<Option<NewSession>> {
        let user = match UserName::parse(name) {
            Ok(name) => self.storage.user_password(&name).await?.map(|(id, hash)| (name, id, hash)),
            Err(_) => None,
        };
        let hash = match &user {
            Some((_, _, hash)) => hash.clone(),
            None => self.decoy_hash().await?,
        };
        let password = password.to_owned();
        let matches = blocking(move || crypto::verify_password(&password, &hash)).await?;
        let Some((user, user_id, _)) = user.filter(|_| matches) else {
            return Ok(None);
        };
        let id = crypto::new_secret("");
        let now = (self.clock)();
        let expires_at = now.plus_days(SESSION_DAYS);
        let old = replaces.map(crypto::secret_hash);
        self.storage.create_session(&crypto::secret_hash(&id), user_id, expires_at, old.as_deref(), now).await?;
        Ok(Some(NewSession { id, user, expires_at }))
    }

    /// The user a session id belongs to, while the session lasts.
    pub async fn session_user(&self, session_id: &str) -> ServiceResult<Option<UserName>> {
        Ok(self.storage.session_user(&crypto::secret_hash(session_id), (self.clock)()).await?)
    }

    pub async fn sign_out(&self, session_id: &str) -> ServiceResult<()> {
        Ok(self.storage.delete_session(&crypto::secret_hash(session_id)).await?)
    }

    /// Creates an API token; the returned secret is the only time it is seen.
    pub async fn create_token(&self, name: &TokenName) -> ServiceResult<(ApiToken, String)> {
        let secret = crypto::new_secret(TOKEN_PREFIX);
        let hint = secret[secret.len() - 4..].to_owned();
        let token = self.storage.create_api_token(name, &crypto::secret_hash(&secret), &hint, (self.clock)()).await?;
        Ok((token, secret))
    }

    pub async fn tokens(&self) -> ServiceResult<Vec<ApiToken>> {
        Ok(self.storage.api_tokens().await?)
    }

    /// Returns false when there is no such live token.
    pub async fn revoke_token(&self, id: i64) -> ServiceResult<bool> {
        Ok(self.storage.revoke_api_token(id, (self.clock)()).await?)
    }

    pub async fn token_valid(&self, secret: &str) -> ServiceResult<bool> {
        if !secret.starts_with(TOKEN_PREFIX) {
            return Ok(false);
        }
        Ok(self.storage.api_token_valid(&crypto::secret_hash(secret)).await?)
    }

    async fn decoy_hash(&self) -> ServiceResult<String> {
        if let Some(hash) = self.decoy.get() {
            return Ok(hash.clone());
        }
        let hash = blocking(crypto::decoy_password_hash).await?;
        Ok(self.decoy.get_or_init(|| hash).clone())
    }
}

/// Runs slow hashing off the async runtime.
async fn blocking<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> ServiceResult<T> {
    tokio::task::spawn_blocking(work).await.map_err(|error| ServiceError::Internal(error.into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(second: i64) -> Timestamp {
        Timestamp::from_millis(1_800_000_000_000 + second * 1000)
    }

    #[test]
    fn the_sixth_failure_in_a_minute_waits_until_the_oldest_leaves_the_window() {
        let window = Duration::from_secs(60);
        let failures: Vec<Timestamp> = (0..5).map(at).collect();
        assert_eq!(sign_in_wait(&failures[..4], at(10), 5, window), None, "four failures may try again");
        assert_eq!(sign_in_wait(&failures, at(10), 5, window), Some(Duration::from_secs(50)));
        assert_eq!(sign_in_wait(&failures, at(60), 5, window), None, "the oldest has left the window");
        let many: Vec<Timestamp> = (0..8).map(at).collect();
        assert_eq!(sign_in_wait(&many, at(10), 5, window), Some(Duration::from_secs(53)), "the fifth newest counts");
    }
}
