//! Webhooks: what a subscription is, where it may point, which events it asks for, when a
//! failed delivery is tried again, and how a delivery is signed. No I/O: the queue lives in
//! `persistence`, the worker that sends in `api`.

use std::net::IpAddr;

use chrono::{DateTime, TimeDelta, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::event::EventType;
use crate::validation::ValueError;

/// The type of the ping `POST /v1/webhooks/{id}/test` sends. It is not an [`EventType`]:
/// nobody subscribes to it, and the events feed never lists it.
pub const TEST_EVENT_TYPE: &str = "webhook.test";

/// What every signing secret starts with.
pub const SECRET_PREFIX: &str = "whsec_";

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "Clientline-Signature";

/// A subscription as stored and shown. Its secret is never part of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    pub id: i64,
    pub account_id: i64,
    pub target_url: String,
    pub events: Vec<EventType>,
    pub description: Option<String>,
    pub active: bool,
    pub disabled_reason: Option<String>,
    pub disabled_at: Option<DateTime<Utc>>,
    /// The first characters of the signing secret, to tell secrets apart.
    pub secret_prefix: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Webhook {
    /// Whether the subscription wants events of this type.
    pub fn wants(&self, event_type: EventType) -> bool {
        self.events.contains(&event_type)
    }
}

/// Where a delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// Not yet delivered: waiting for its first attempt, its turn, or a retry.
    Pending,
    /// A 2xx answer came back.
    Succeeded,
    /// Given up after the retry window.
    Failed,
}

impl DeliveryStatus {
    pub const ALL: [DeliveryStatus; 3] = [
        DeliveryStatus::Pending,
        DeliveryStatus::Succeeded,
        DeliveryStatus::Failed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Succeeded => "succeeded",
            DeliveryStatus::Failed => "failed",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        match raw {
            "pending" => Ok(DeliveryStatus::Pending),
            "succeeded" => Ok(DeliveryStatus::Succeeded),
            "failed" => Ok(DeliveryStatus::Failed),
            _ => Err(ValueError::new(
                "unknown_status",
                format!("`{raw}` is not a delivery status; use pending, succeeded or failed"),
            )),
        }
    }

    /// A value read back from storage, where only these names are written.
    pub fn from_stored(raw: &str) -> Self {
        Self::parse(raw).unwrap_or(DeliveryStatus::Pending)
    }
}

/// One delivery of one event to one subscription, as the delivery log shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub id: i64,
    pub webhook_id: i64,
    pub event_id: i64,
    pub event_type: String,
    pub status: DeliveryStatus,
    pub attempts: i32,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub first_attempt_at: Option<DateTime<Utc>>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub response_status: Option<i32>,
    pub latency_ms: Option<i64>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
}

/// A URL deliveries may be sent to: `https`, or `http`; no user name or password in it; and,
/// unless the operator allows private targets, no host that names this machine or a private
/// network (`localhost`, or a loopback, private, link-local, unspecified or multicast IP
/// literal). Host names are checked again when they are resolved, at each delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetUrl(String);

impl TargetUrl {
    pub const MAX_CHARS: usize = 2_000;

    pub fn parse(raw: &str, allow_private: bool) -> Result<Self, ValueError> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err(ValueError::new("blank", "must not be blank"));
        }
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(ValueError::new(
                "too_long",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        let url = url::Url::parse(raw).map_err(|e| {
            ValueError::new(
                "invalid_url",
                format!("must be an absolute URL such as https://example.com/hooks ({e})"),
            )
        })?;
        if !matches!(url.scheme(), "https" | "http") {
            return Err(ValueError::new(
                "unsupported_scheme",
                format!("must use https (or http), not `{}`", url.scheme()),
            ));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(ValueError::new(
                "credentials_in_url",
                "must not contain a user name or password; verify deliveries by their signature",
            ));
        }
        if url.fragment().is_some() {
            return Err(ValueError::new(
                "fragment",
                "must not contain a fragment (`#...`)",
            ));
        }
        if !allow_private {
            let refused = match url.host() {
                None => true,
                Some(url::Host::Domain(name)) => is_local_name(name),
                Some(url::Host::Ipv4(ip)) => !is_public_address(IpAddr::V4(ip)),
                Some(url::Host::Ipv6(ip)) => !is_public_address(IpAddr::V6(ip)),
            };
            if refused {
                return Err(ValueError::new(
                    "private_target",
                    "must point to a public host; loopback, private, link-local and `localhost` targets are refused",
                ));
            }
        }
        Ok(TargetUrl(url.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_inner(self) -> String {
        self.0
    }
}

/// `localhost` and its subdomains always name this machine (RFC 6761).
fn is_local_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Whether deliveries may go to `ip` without the operator's leave: not this machine, not a
/// private or shared network, not link-local, unspecified, broadcast or multicast.
pub fn is_public_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                // 0.0.0.0/8 ("this network") and 100.64.0.0/10 (carrier-grade NAT).
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public_address(IpAddr::V4(v4));
            }
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || v6.is_unique_local()
                || v6.is_unicast_link_local())
        }
    }
}

/// The event types a subscription names: at least one, each a known type (no wildcard: a
/// subscription says what it handles, so new types never surprise a receiver). Sorted, without
/// repeats.
pub fn parse_event_types(raw: &[String]) -> Result<Vec<EventType>, ValueError> {
    if raw.is_empty() {
        return Err(ValueError::new(
            "required",
            format!(
                "name at least one event type: {}",
                EventType::ALL.map(EventType::as_str).join(", ")
            ),
        ));
    }
    let mut types = Vec::with_capacity(raw.len());
    for (i, name) in raw.iter().enumerate() {
        let event_type = EventType::parse(name.trim()).map_err(|e| e.at(format!("[{i}]")))?;
        if types.contains(&event_type) {
            return Err(ValueError::new(
                "duplicate",
                format!(
                    "`{}` is listed twice; name each type once",
                    event_type.as_str()
                ),
            )
            .at(format!("[{i}]")));
        }
        types.push(event_type);
    }
    types.sort();
    Ok(types)
}

/// When failed deliveries are tried again: exponential backoff from `base`, capped at `cap`,
/// with jitter, until the next attempt would fall later than `window` after the first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub base: TimeDelta,
    pub cap: TimeDelta,
    pub window: TimeDelta,
}

impl Default for RetryPolicy {
    /// 10 s, 20 s, 40 s, ... at most an hour apart, for 24 hours: about 30 attempts.
    fn default() -> Self {
        RetryPolicy {
            base: TimeDelta::seconds(10),
            cap: TimeDelta::hours(1),
            window: TimeDelta::hours(24),
        }
    }
}

impl RetryPolicy {
    /// The wait after the `failed`-th failed attempt (1 for the first). `jitter` in `[0, 1]`
    /// picks a point in the upper half of the exponential step, so receivers that failed
    /// together are not retried together ("equal jitter").
    pub fn delay(&self, failed: u32, jitter: f64) -> TimeDelta {
        let exponent = failed.saturating_sub(1).min(40);
        let step = self
            .base
            .checked_mul(1_i32 << exponent.min(30))
            .unwrap_or(self.cap)
            .min(self.cap)
            .max(TimeDelta::zero());
        let half = step / 2;
        let jitter = jitter.clamp(0.0, 1.0);
        let extra_ms = (half.num_milliseconds() as f64 * jitter).round() as i64;
        step - half + TimeDelta::milliseconds(extra_ms)
    }

    /// When to try again after the `failed`-th failed attempt at `now`, or `None` to give up:
    /// the next attempt would fall past `first_attempt` plus the window.
    pub fn next_attempt(
        &self,
        first_attempt: DateTime<Utc>,
        now: DateTime<Utc>,
        failed: u32,
        jitter: f64,
    ) -> Option<DateTime<Utc>> {
        let next = now + self.delay(failed, jitter);
        (next <= first_attempt + self.window).then_some(next)
    }
}

type HmacSha256 = Hmac<Sha256>;

/// The hex HMAC-SHA256, keyed with the whole secret (`whsec_...`), of `"{timestamp}.{body}"`.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = match HmacSha256::new_from_slice(secret.as_bytes()) {
        Ok(mac) => mac,
        // HMAC takes keys of any length; this arm never runs.
        Err(_) => return String::new(),
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// The `Clientline-Signature` value: `t=<unix seconds>,v1=<hex HMAC>`. The timestamp is
/// signed with the body, so a receiver can refuse replays of old deliveries.
pub fn signature_header(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", signature(secret, timestamp, body))
}

/// Whether `header` signs `body` with `secret` at a time within `tolerance` of `now`: what a
/// receiver checks. Compares in constant time.
pub fn verify_signature(
    secret: &str,
    header: &str,
    body: &[u8],
    now: DateTime<Utc>,
    tolerance: TimeDelta,
) -> bool {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v)) => signatures.push(v),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else {
        return false;
    };
    if (now.timestamp() - timestamp).abs() > tolerance.num_seconds() {
        return false;
    }
    let Ok(mut mac) = HmacSha256::new_from_slice(secret.as_bytes()) else {
        return false;
    };
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    // `verify_slice` compares in constant time.
    signatures
        .into_iter()
        .any(|v| hex::decode(v).is_ok_and(|given| mac.clone().verify_slice(&given).is_ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Computed independently with Python's `hmac` module:
    /// `hmac.new(SECRET, b"1767225600." + BODY, hashlib.sha256).hexdigest()`.
    const SECRET: &str = "whsec_5f1c0ffee5f1c0ffee5f1c0ffee5f1c0ffee5f1c0ffee5f1c0ffee5f1c0ff";
    const BODY: &[u8] = br#"{"id":1017,"type":"company.created"}"#;
    const EXPECTED: &str = "edccc534ba3c574df2e64e5a4dc13e518c4cc0091af20b22ffcabff234e114cd";

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(seconds, 0).unwrap_or_default()
    }

    #[test]
    fn the_signature_matches_an_independent_hmac_sha256() {
        assert_eq!(signature(SECRET, 1_767_225_600, BODY), EXPECTED);
        assert_eq!(
            signature_header(SECRET, 1_767_225_600, BODY),
            format!("t=1767225600,v1={EXPECTED}")
        );
    }

    #[test]
    fn a_receiver_verifies_the_header_and_refuses_tampering_and_old_timestamps() {
        let header = signature_header(SECRET, 1_767_225_600, BODY);
        let tolerance = TimeDelta::minutes(5);
        assert!(verify_signature(
            SECRET,
            &header,
            BODY,
            at(1_767_225_660),
            tolerance
        ));
        assert!(!verify_signature(
            SECRET,
            &header,
            b"{}",
            at(1_767_225_660),
            tolerance
        ));
        assert!(!verify_signature(
            "whsec_other",
            &header,
            BODY,
            at(1_767_225_660),
            tolerance
        ));
        assert!(!verify_signature(
            SECRET,
            &header,
            BODY,
            at(1_767_226_000),
            tolerance
        ));
        assert!(!verify_signature(
            SECRET,
            "v1=00",
            BODY,
            at(1_767_225_600),
            tolerance
        ));
    }

    #[test]
    fn public_https_and_http_targets_are_accepted_and_normalised() {
        let url = TargetUrl::parse(" https://Hooks.Example.com/in?x=1 ", false)
            .unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(url.as_str(), "https://hooks.example.com/in?x=1");
        assert!(TargetUrl::parse("http://93.184.216.34/hook", false).is_ok());
    }

    #[test]
    fn private_loopback_and_local_targets_are_refused_unless_allowed() {
        for raw in [
            "http://localhost:8080/hook",
            "http://api.localhost/hook",
            "http://127.0.0.1/hook",
            "http://2130706433/hook",
            "http://10.1.2.3/hook",
            "http://172.16.0.1/hook",
            "http://192.168.1.1/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://0.0.0.0/hook",
            "http://100.64.0.1/hook",
            "http://224.0.0.1/hook",
            "http://[::1]/hook",
            "http://[fe80::1]/hook",
            "http://[fd00::1]/hook",
            "http://[::ffff:127.0.0.1]/hook",
        ] {
            assert_eq!(
                TargetUrl::parse(raw, false).map_err(|e| e.code),
                Err("private_target"),
                "{raw}"
            );
            assert!(TargetUrl::parse(raw, true).is_ok(), "{raw} when allowed");
        }
    }

    #[test]
    fn other_schemes_credentials_and_garbage_are_refused() {
        let code = |raw: &str| TargetUrl::parse(raw, true).map_err(|e| e.code).err();
        assert_eq!(code("ftp://example.com/x"), Some("unsupported_scheme"));
        assert_eq!(
            code("https://user:pw@example.com/x"),
            Some("credentials_in_url")
        );
        assert_eq!(code("https://example.com/x#frag"), Some("fragment"));
        assert_eq!(code("not a url"), Some("invalid_url"));
        assert_eq!(code("  "), Some("blank"));
    }

    #[test]
    fn event_types_must_be_known_and_listed_once() {
        let names = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        assert_eq!(
            parse_event_types(&names(&["company.won", "company.created"])),
            Ok(vec![EventType::CompanyCreated, EventType::CompanyWon])
        );
        let repeated =
            parse_event_types(&names(&["company.won", "company.created", "company.won"]))
                .err()
                .unwrap_or_else(|| panic!("a repeated type is refused"));
        assert_eq!(repeated.code, "duplicate");
        assert_eq!(repeated.field_suffix.as_deref(), Some("[2]"));
        let unknown = parse_event_types(&names(&["company.won", "*"]))
            .err()
            .unwrap_or_else(|| panic!("a wildcard is refused"));
        assert_eq!(unknown.code, "unknown_event_type");
        assert_eq!(unknown.field_suffix.as_deref(), Some("[1]"));
        assert_eq!(parse_event_types(&[]).map_err(|e| e.code), Err("required"));
    }

    #[test]
    fn retry_delays_grow_exponentially_with_jitter_up_to_the_cap() {
        let policy = RetryPolicy::default();
        assert_eq!(policy.delay(1, 0.0), TimeDelta::seconds(5));
        assert_eq!(policy.delay(1, 1.0), TimeDelta::seconds(10));
        assert_eq!(policy.delay(2, 1.0), TimeDelta::seconds(20));
        assert_eq!(policy.delay(4, 0.5), TimeDelta::seconds(60));
        assert_eq!(policy.delay(30, 1.0), TimeDelta::hours(1));
        assert_eq!(policy.delay(1_000, 0.0), TimeDelta::minutes(30));
    }

    #[test]
    fn retries_stop_when_the_next_attempt_would_pass_the_window() {
        let policy = RetryPolicy::default();
        let first = at(0);
        assert_eq!(
            policy.next_attempt(first, at(0), 1, 1.0),
            Some(at(10)),
            "the first retry comes soon"
        );
        let late = first + TimeDelta::hours(23) + TimeDelta::minutes(30);
        assert_eq!(policy.next_attempt(first, late, 20, 1.0), None);
        assert!(policy.next_attempt(first, late, 20, 0.0).is_some());
    }

    #[test]
    fn the_default_schedule_retries_for_a_whole_day() {
        let policy = RetryPolicy::default();
        let first = at(0);
        let (mut now, mut failed) = (first, 0);
        while let Some(next) = policy.next_attempt(first, now, failed + 1, 1.0) {
            now = next;
            failed += 1;
        }
        assert!(now >= first + TimeDelta::hours(23), "last try at {now}");
        assert!((20..60).contains(&failed), "{failed} retries");
    }
}
