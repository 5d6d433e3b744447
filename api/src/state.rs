//! What every handler shares: the database pool and the settings, and the one way to run
//! blocking database work off the actix workers.

use std::sync::Arc;
use std::time::Duration;

use domain::oauth::SignInPolicy;
use domain::webhook::RetryPolicy;
use persistence::{Db, DbConnection, StoreError};
use tokio::sync::Semaphore;

use crate::auth_cache::AuthCache;
use crate::error::ApiError;
use crate::oauth::keys::KeyRing;
use crate::oauth::limits::{Limiter, RateLimit};
use crate::rate_limit::{Quota, RateLimiter};

/// Settings the HTTP layer needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
    /// The largest body of an import request (`/v1/companies/import`), in bytes.
    pub import_body_limit: usize,
    /// How long a request's whole body may take to arrive; a slower one is answered 408 and
    /// its connection closed.
    pub body_timeout: Duration,
    /// The URL clients reach the service at: the OAuth issuer (`iss`), and the base of the
    /// endpoints in the server metadata. `None`: `http://localhost:8080`.
    pub public_url: Option<String>,
    /// Requests to `/oauth/token` per client (or per IP address for unknown clients).
    pub token_rate: RateLimit,
    /// Posts of the sign-in form per IP address.
    pub sign_in_rate: RateLimit,
    /// Enquiries sent through a web form's intake token, per client address.
    pub intake_rate: RateLimit,
    /// How failed sign-ins slow down and lock a user.
    pub sign_in_policy: SignInPolicy,
    /// How long an `Idempotency-Key` answers retries after its first use (at least 24 hours).
    pub idempotency_ttl: std::time::Duration,
    /// The webhook delivery worker and the events' retention.
    pub webhooks: WebhookSettings,
    /// The reminder worker (`task.due`, `meeting.starting`).
    pub reminders: ReminderSettings,
    /// How long a looked-up token is trusted without asking the database again: the most a
    /// token revoked through another replica lives on here. Zero: every request asks.
    pub auth_cache_ttl: Duration,
    /// The API-wide quota of each token (and, without a valid token, each client address).
    pub api_quota: Quota,
}

/// When the reminder worker records `task.due` and `meeting.starting`.
#[derive(Debug, Clone, Copy)]
pub struct ReminderSettings {
    /// How often it looks for reminders due.
    pub interval: Duration,
    /// How long before a meeting starts its `meeting.starting` is recorded.
    pub meeting_lead: Duration,
}

impl Default for ReminderSettings {
    fn default() -> Self {
        ReminderSettings {
            interval: Duration::from_secs(30),
            meeting_lead: Duration::from_secs(15 * 60),
        }
    }
}

/// How webhooks are delivered, and how long events are kept.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// How often the worker looks for due deliveries when it found none.
    pub poll_interval: Duration,
    /// The backoff of failed deliveries and how long they are retried.
    pub retry: RetryPolicy,
    /// How long one delivery request may take, connecting included.
    pub request_timeout: Duration,
    /// Allow targets on loopback, private and link-local addresses (and `localhost`): for
    /// development, tests and receivers inside the operator's own network.
    pub allow_private_targets: bool,
    /// Deliveries claimed per poll; they go out concurrently, one per subscription.
    pub batch_size: i64,
    /// Events older than this are purged (with their deliveries), about hourly.
    pub event_retention: Duration,
    /// How often the worker purges old events.
    pub purge_interval: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        WebhookSettings {
            poll_interval: Duration::from_secs(1),
            retry: RetryPolicy::default(),
            request_timeout: Duration::from_secs(10),
            allow_private_targets: false,
            batch_size: 20,
            event_retention: Duration::from_secs(30 * 24 * 3600),
            purge_interval: Duration::from_secs(3600),
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            body_limit: 256 * 1024,
            // 10,000 rows of about 3 KiB each.
            import_body_limit: 32 * 1024 * 1024,
            body_timeout: Duration::from_secs(30),
            public_url: None,
            token_rate: RateLimit {
                per_second: 50.0,
                burst: 100,
            },
            sign_in_rate: RateLimit {
                per_second: 0.5,
                burst: 20,
            },
            intake_rate: RateLimit {
                per_second: 0.1,
                burst: 10,
            },
            sign_in_policy: SignInPolicy::default(),
            idempotency_ttl: std::time::Duration::from_secs(24 * 60 * 60),
            webhooks: WebhookSettings::default(),
            reminders: ReminderSettings::default(),
            auth_cache_ttl: Duration::from_secs(2),
            api_quota: Quota::default(),
        }
    }
}

/// The authorization server's shared parts.
pub struct OAuthState {
    pub keys: KeyRing,
    pub token_limiter: Limiter,
    pub sign_in_limiter: Limiter,
}

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Settings,
    pub oauth: Arc<OAuthState>,
    /// Callers recently looked up by their token.
    pub callers: Arc<AuthCache>,
    /// Requests counted against each caller's quota.
    pub rate_limiter: Arc<RateLimiter>,
    /// Enquiries from web forms, by client address.
    pub intake_limiter: Arc<Limiter>,
    /// One permit per pooled connection: database work waits here, on the async side,
    /// rather than as a blocked thread waiting for a connection.
    permits: Arc<Semaphore>,
}

impl AppState {
    pub fn new(db: Db, settings: Settings) -> Self {
        let issuer = settings
            .public_url
            .clone()
            .unwrap_or_else(|| "http://localhost:8080".to_owned());
        let oauth = Arc::new(OAuthState {
            keys: KeyRing::new(&issuer),
            token_limiter: Limiter::new(settings.token_rate),
            sign_in_limiter: Limiter::new(settings.sign_in_rate),
        });
        let callers = Arc::new(AuthCache::new(settings.auth_cache_ttl));
        let permits = Arc::new(Semaphore::new(db.max_size() as usize));
        let rate_limiter = Arc::new(RateLimiter::new(settings.api_quota));
        let intake_limiter = Arc::new(Limiter::new(settings.intake_rate));
        AppState {
            db,
            settings,
            oauth,
            callers,
            rate_limiter,
            intake_limiter,
            permits,
        }
    }

    /// Makes sure the key ring can verify `token`: reads the live signing keys again when the
    /// token names a key the ring does not know, or its copy is old. Returns the token's `kid`.
    pub async fn keys_for(&self, token: &str) -> Result<Option<String>, ApiError> {
        let keys = &self.oauth.keys;
        let Some(kid) = KeyRing::kid_of(token) else {
            return Ok(None);
        };
        if keys.needs_reload(&kid) {
            let vault = self.vault();
            let live = self
                .run(move |conn| persistence::signing_keys::live(conn, &vault))
                .await?;
            keys.remember(&live);
        }
        Ok(Some(kid))
    }

    /// The operator key's vault, which seals and opens the stored secrets.
    pub fn vault(&self) -> persistence::vault::Vault {
        self.db.vault().clone()
    }

    /// Runs `f` with a pooled connection on the blocking thread pool, so that no actix worker
    /// ever waits on the database.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
    {
        let db = self.db.clone();
        // With a permit, a connection is free (or being opened): the blocking thread does
        // not queue for one, so at most pool-size threads are busy however many requests
        // wait. Without this, every waiting request holds a thread parked on the pool.
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| ApiError::Internal(format!("database permits closed: {e}")))?;
        actix_web::web::block(move || {
            let mut conn = db.conn()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?
        .map_err(|e| match e {
            StoreError::Database(_) => {
                ApiError::Internal(format!("{} in {}", e.log_detail(), operation::<F>()))
            }
            other => ApiError::from(other),
        })
    }
}

/// The handler a closure was written in, for the log of a failure inside it: the closure's
/// type path without its `{{closure}}` segments, such as `api::routes::projects::update`.
fn operation<F>() -> String {
    std::any::type_name::<F>()
        .split("::")
        .filter(|segment| !segment.starts_with('{'))
        .collect::<Vec<_>>()
        .join("::")
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_closure_is_named_after_the_function_it_is_written_in() {
        let closure = |n: i64| n + 1;
        fn name_of<F>(_: &F) -> String {
            super::operation::<F>()
        }
        assert_eq!(
            name_of(&closure),
            "api::state::tests::a_closure_is_named_after_the_function_it_is_written_in"
        );
    }
}
