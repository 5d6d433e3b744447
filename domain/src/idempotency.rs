//! Idempotency keys: what a key may look like, which answers are kept for a retry to replay,
//! and how long a request may hold its key. The HTTP layer and the store apply these rules.

use crate::validation::ValueError;

/// The request header that carries the key.
pub const HEADER: &str = "Idempotency-Key";

/// The longest key accepted, in characters (Stripe's limit).
pub const MAX_KEY_LEN: usize = 255;

/// How long a running request holds its key. A row still in flight after this is taken to be
/// abandoned (its process died) and the next retry may run the request again.
pub const LEASE_SECONDS: i64 = 5 * 60;

/// A key as the client sent it: 1 to 255 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &[u8]) -> Result<Self, ValueError> {
        if raw.is_empty() {
            return Err(ValueError::new("blank", "must not be empty"));
        }
        if raw.len() > MAX_KEY_LEN {
            return Err(ValueError::new(
                "too_long",
                format!("must be at most {MAX_KEY_LEN} characters"),
            ));
        }
        if !raw.iter().all(|b| (b' '..=b'~').contains(b)) {
            return Err(ValueError::new(
                "invalid_characters",
                "must be printable ASCII characters only",
            ));
        }
        Ok(IdempotencyKey(String::from_utf8_lossy(raw).into_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether an answer with `status` is kept and replayed to retries. Successes and the
/// client's own errors are final; a failed authentication or authorization (the retry may
/// come with a better token or role), a conflict, a rate limit and every server error are not,
/// so a retry runs the request again.
pub fn is_kept(status: u16) -> bool {
    matches!(status, 200..=299 | 400..=499) && !matches!(status, 401 | 403 | 409 | 429)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_of_printable_ascii_up_to_255_characters_are_accepted() {
        for raw in [
            "a",
            "0b7f3c5e-5d1e-4c1a-9d7a-2f4a1b6c8e90",
            "with space ~!",
            &"k".repeat(255),
        ] {
            assert_eq!(
                IdempotencyKey::parse(raw.as_bytes()).map(|k| k.as_str().to_owned()),
                Ok(raw.to_owned())
            );
        }
    }

    #[test]
    fn empty_long_and_non_printable_keys_are_refused() {
        let code = |raw: &[u8]| IdempotencyKey::parse(raw).err().map(|e| e.code);
        assert_eq!(code(b""), Some("blank"));
        assert_eq!(code("k".repeat(256).as_bytes()), Some("too_long"));
        assert_eq!(code(b"tab\there"), Some("invalid_characters"));
        assert_eq!(code("caf\u{e9}".as_bytes()), Some("invalid_characters"));
        assert_eq!(code(b"del\x7f"), Some("invalid_characters"));
    }

    #[test]
    fn successes_and_client_errors_are_kept() {
        for status in [200, 201, 204, 400, 404, 412, 422] {
            assert!(is_kept(status), "{status}");
        }
    }

    #[test]
    fn auth_failures_conflicts_rate_limits_and_server_errors_are_not_kept() {
        for status in [401, 403, 409, 429, 500, 503, 302, 101] {
            assert!(!is_kept(status), "{status}");
        }
    }
}
