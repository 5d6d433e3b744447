//! Callers recently looked up, so that a burst of requests with one token costs one database
//! lookup every few seconds instead of one per request.
//!
//! An entry lives `ttl` (2 s by default) and never past the token's own expiry. Changes made
//! through this process that can end or narrow a token (revoking it, deactivating or demoting
//! its user, changing a password, changing or deleting an app) forget every entry at once;
//! changes made through another replica take effect here within `ttl`.
//!
//! Keys are the SHA-256 of the presented token, so the cache holds no usable secret.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use domain::token::Principal;
use sha2::{Digest, Sha256};

/// Past this many entries the cache starts again empty: a bound on memory that costs one
/// lookup per token when it happens.
const MAX_ENTRIES: usize = 10_000;

pub struct AuthCache {
    ttl: Duration,
    entries: Mutex<HashMap<[u8; 32], Entry>>,
}

struct Entry {
    principal: Principal,
    until: Instant,
}

/// The cache key of a presented token.
pub struct TokenKey([u8; 32]);

impl TokenKey {
    pub fn of(token: &str) -> TokenKey {
        TokenKey(Sha256::digest(token.as_bytes()).into())
    }
}

impl AuthCache {
    /// A cache whose entries live `ttl`; zero turns it off.
    pub fn new(ttl: Duration) -> AuthCache {
        AuthCache {
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 32], Entry>> {
        // A panic while holding the lock cannot leave a half-written map behind.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The caller behind `key`, when it was looked up less than `ttl` ago.
    pub fn get(&self, key: &TokenKey) -> Option<Principal> {
        if self.ttl.is_zero() {
            return None;
        }
        let mut entries = self.entries();
        match entries.get(&key.0) {
            Some(entry) if entry.until > Instant::now() => Some(entry.principal.clone()),
            Some(_) => {
                entries.remove(&key.0);
                None
            }
            None => None,
        }
    }

    /// Remembers a caller found in the database, until `ttl` from now or the token's
    /// expiry, whichever comes first.
    pub fn put(&self, key: TokenKey, principal: &Principal, expires_at: Option<DateTime<Utc>>) {
        if self.ttl.is_zero() {
            return;
        }
        let mut lifetime = self.ttl;
        if let Some(expires_at) = expires_at {
            let left = (expires_at - Utc::now()).to_std().unwrap_or(Duration::ZERO);
            lifetime = lifetime.min(left);
        }
        if lifetime.is_zero() {
            return;
        }
        let mut entries = self.entries();
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(
            key.0,
            Entry {
                principal: principal.clone(),
                until: Instant::now() + lifetime,
            },
        );
    }

    /// Forgets every caller: after a change that can end or narrow a token.
    pub fn clear(&self) {
        self.entries().clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::access::ScopeSet;
    use domain::token::{Actor, App, Credential};

    fn principal() -> Principal {
        Principal {
            account_id: 1,
            account_name: "Acme".into(),
            records: Default::default(),
            actor: Actor::App(App {
                id: 1,
                client_id: "clt_app_x".into(),
                name: "App".into(),
                scopes: ScopeSet::default(),
            }),
            credential: Credential::OAuth {
                jti: "j".into(),
                client_id: "clt_app_x".into(),
            },
            scopes: ScopeSet::default(),
        }
    }

    #[test]
    fn a_remembered_caller_is_found_by_its_token_only() {
        let cache = AuthCache::new(Duration::from_secs(60));
        cache.put(TokenKey::of("one"), &principal(), None);
        assert_eq!(cache.get(&TokenKey::of("one")), Some(principal()));
        assert_eq!(cache.get(&TokenKey::of("two")), None);
    }

    #[test]
    fn an_entry_ends_with_its_ttl() {
        let cache = AuthCache::new(Duration::from_millis(20));
        cache.put(TokenKey::of("one"), &principal(), None);
        std::thread::sleep(Duration::from_millis(40));
        assert_eq!(cache.get(&TokenKey::of("one")), None);
    }

    #[test]
    fn an_entry_never_outlives_the_token() {
        let cache = AuthCache::new(Duration::from_secs(60));
        let expired = Utc::now() - chrono::Duration::seconds(1);
        cache.put(TokenKey::of("old"), &principal(), Some(expired));
        assert_eq!(cache.get(&TokenKey::of("old")), None);
        let soon = Utc::now() + chrono::Duration::milliseconds(30);
        cache.put(TokenKey::of("soon"), &principal(), Some(soon));
        assert!(cache.get(&TokenKey::of("soon")).is_some());
        std::thread::sleep(Duration::from_millis(50));
        assert_eq!(cache.get(&TokenKey::of("soon")), None);
    }

    #[test]
    fn clearing_forgets_everyone_and_a_zero_ttl_remembers_no_one() {
        let cache = AuthCache::new(Duration::from_secs(60));
        cache.put(TokenKey::of("one"), &principal(), None);
        cache.clear();
        assert_eq!(cache.get(&TokenKey::of("one")), None);
        let off = AuthCache::new(Duration::ZERO);
        off.put(TokenKey::of("one"), &principal(), None);
        assert_eq!(off.get(&TokenKey::of("one")), None);
    }
}
