//! Time-based one-time passwords (RFC 6238: HMAC-SHA1, 6 digits, 30-second steps), the
//! second factor of the sign-in page.

use totp_rs::{Builder, Secret};

/// Steps either side of now that a code may come from, for clocks that drift.
const SKEW: u16 = 1;

fn totp(secret: &[u8]) -> Option<totp_rs::Totp> {
    Builder::new()
        .with_secret(secret.to_vec())
        .with_skew(SKEW)
        .build()
        .ok()
}

/// The secret as authenticator apps take it: base32.
pub fn to_base32(secret: &[u8]) -> String {
    Secret::from(secret.to_vec()).to_base32()
}

pub fn from_base32(encoded: &str) -> Option<Vec<u8>> {
    Secret::try_from_base32(encoded)
        .ok()
        .map(|s| s.as_bytes().to_vec())
}

/// The `otpauth://` URI an authenticator app scans, for `account` (the user's email).
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'@') {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}&algorithm=SHA1&digits=6&period=30",
        enc(issuer),
        enc(account),
        to_base32(secret),
        enc(issuer)
    )
}

/// The time step `code` is valid for at `unix_seconds`, if any. Callers refuse a step that
/// was used already (RFC 6238 5.2: a code is accepted once).
pub fn matching_step(secret: &[u8], code: &str, unix_seconds: u64) -> Option<u64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    totp(secret)?.check(code, unix_seconds)
}

/// The code for `unix_seconds`.
pub fn code_at(secret: &[u8], unix_seconds: u64) -> Option<String> {
    Some(totp(secret)?.generate(unix_seconds).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_their_step_and_its_neighbours_only() {
        let secret = b"12345678901234567890".to_vec();
        // RFC 6238 appendix B, SHA1, truncated to 6 digits.
        assert_eq!(code_at(&secret, 59).as_deref(), Some("287082"));
        assert_eq!(matching_step(&secret, "287082", 59), Some(1));
        assert_eq!(matching_step(&secret, "287082", 80), Some(1));
        assert_eq!(matching_step(&secret, "287082", 200), None);
        assert_eq!(matching_step(&secret, "28708", 59), None);
        assert_eq!(from_base32(&to_base32(&secret)), Some(secret));
    }
}
