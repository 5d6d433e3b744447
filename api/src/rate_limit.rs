//! The API-wide rate limit: a quota of requests per window for each token, and for each
//! client address for requests without a valid token. Every `/v1` answer says where its caller
//! stands in the IETF HTTPAPI rate-limit header fields (`RateLimit-Policy`, `RateLimit`); a
//! caller past its quota gets 429 with `Retry-After`. Counted in memory by each replica, so
//! with N replicas behind a balancer a caller may make up to N quotas.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::http::header::{HeaderName, HeaderValue};
use sha2::{Digest, Sha256};

pub const RATE_LIMIT: HeaderName = HeaderName::from_static("ratelimit");
pub const RATE_LIMIT_POLICY: HeaderName = HeaderName::from_static("ratelimit-policy");

/// How many requests a caller may make per window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub requests: u32,
    pub window: Duration,
}

impl Default for Quota {
    fn default() -> Self {
        Quota {
            requests: 6_000,
            window: Duration::from_secs(60),
        }
    }
}

/// Whose quota a request is counted against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Key {
    /// A presented token, by its digest (the token itself is never kept).
    Token([u8; 32]),
    /// A client address, for requests without a token or with one that was refused.
    Address(IpAddr),
}

impl Key {
    /// The key of a request: its bearer token when it sends one, else its address.
    pub(crate) fn of(token: Option<&str>, address: Option<IpAddr>) -> Option<Key> {
        match token {
            Some(token) => Some(Key::Token(Sha256::digest(token.as_bytes()).into())),
            None => address.map(Key::Address),
        }
    }
}

struct Window {
    started: Instant,
    used: u32,
    /// A token that has been accepted at least once: its requests no longer also need room
    /// in its address's quota.
    vouched: bool,
}

/// Where a caller stands after a request was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Standing {
    pub remaining: u32,
    pub reset: Duration,
}

/// Fixed windows per key.
pub struct RateLimiter {
    quota: Quota,
    windows: Mutex<HashMap<Key, Window>>,
}

/// Windows kept before expired ones are swept.
const MAX_KEYS: usize = 100_000;

impl RateLimiter {
    pub fn new(quota: Quota) -> Self {
        RateLimiter {
            quota,
            windows: Mutex::new(HashMap::new()),
        }
    }

    pub fn quota(&self) -> Quota {
        self.quota
    }

    fn windows(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Window>> {
        self.windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn current<'a>(
        &self,
        windows: &'a mut HashMap<Key, Window>,
        key: Key,
        now: Instant,
    ) -> &'a mut Window {
        if windows.len() >= MAX_KEYS {
            let window = self.quota.window;
            windows.retain(|_, w| now.duration_since(w.started) < window);
        }
        let entry = windows.entry(key).or_insert(Window {
            started: now,
            used: 0,
            vouched: false,
        });
        if now.duration_since(entry.started) >= self.quota.window {
            entry.started = now;
            entry.used = 0;
        }
        entry
    }

    fn standing(&self, window: &Window, now: Instant) -> Standing {
        Standing {
            remaining: self.quota.requests.saturating_sub(window.used),
            reset: self
                .quota
                .window
                .saturating_sub(now.duration_since(window.started)),
        }
    }

    /// Counts one request of `key`. A token not yet vouched for also needs room in its
    /// address's quota, so that made-up tokens cannot each get a quota of their own.
    /// `Err` carries the standing of the quota that is spent.
    pub(crate) fn take(&self, key: Key, address: Option<IpAddr>) -> Result<Standing, Standing> {
        let now = Instant::now();
        let mut windows = self.windows();
        let vouched = match key {
            Key::Token(_) => self.current(&mut windows, key, now).vouched,
            Key::Address(_) => true,
        };
        if !vouched && let Some(address) = address {
            let by_address = self.current(&mut windows, Key::Address(address), now);
            if by_address.used >= self.quota.requests {
                let spent = self.standing(by_address, now);
                return Err(spent);
            }
        }
        let window = self.current(&mut windows, key, now);
        if window.used >= self.quota.requests {
            return Err(self.standing(window, now));
        }
        window.used += 1;
        Ok(self.standing(window, now))
    }

    /// After the answer: an accepted token is vouched for; a refused one (401) is counted
    /// against its address too.
    pub(crate) fn settle(&self, key: Key, address: Option<IpAddr>, status: StatusCode) {
        let Key::Token(_) = key else { return };
        let now = Instant::now();
        let mut windows = self.windows();
        if status == StatusCode::UNAUTHORIZED {
            if let Some(address) = address {
                let by_address = self.current(&mut windows, Key::Address(address), now);
                by_address.used = by_address.used.saturating_add(1);
            }
        } else {
            self.current(&mut windows, key, now).vouched = true;
        }
    }
}

pub(crate) fn headers(quota: Quota, standing: Standing) -> [(HeaderName, Option<HeaderValue>); 2] {
    let policy = format!(
        "\"default\";q={};w={}",
        quota.requests,
        quota.window.as_secs()
    );
    let now = format!(
        "\"default\";r={};t={}",
        standing.remaining,
        standing.reset.as_secs_f64().ceil() as u64
    );
    [
        (RATE_LIMIT_POLICY, HeaderValue::from_str(&policy).ok()),
        (RATE_LIMIT, HeaderValue::from_str(&now).ok()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(requests: u32) -> RateLimiter {
        RateLimiter::new(Quota {
            requests,
            window: Duration::from_secs(60),
        })
    }

    const HOME: Option<IpAddr> = Some(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));

    #[test]
    fn a_quota_counts_down_then_refuses() {
        let limiter = limiter(2);
        let key = Key::Address(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        assert_eq!(limiter.take(key, HOME).map(|s| s.remaining), Ok(1));
        assert_eq!(limiter.take(key, HOME).map(|s| s.remaining), Ok(0));
        assert!(limiter.take(key, HOME).is_err());
    }

    #[test]
    fn tokens_have_their_own_quota_once_accepted() {
        let limiter = limiter(1);
        let (a, b) = (Key::Token([1; 32]), Key::Token([2; 32]));
        assert!(limiter.take(a, HOME).is_ok());
        limiter.settle(a, HOME, StatusCode::OK);
        // Token b is new: it needs room in the address's quota, which a did not use.
        assert!(limiter.take(b, HOME).is_ok());
        limiter.settle(b, HOME, StatusCode::UNAUTHORIZED);
        // b was refused: its address has spent its quota, so another unknown token is refused.
        assert!(limiter.take(Key::Token([3; 32]), HOME).is_err());
    }
}
