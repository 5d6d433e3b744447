//! Random secrets (tokens) and their digests. Secrets are 256 bits from the thread's CSPRNG;
//! only their SHA-256 digest is stored, so a fast hash is right and a database leak reveals
//! nothing usable.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::password::Password;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A freshly made secret: shown to its owner once, then only its digest is kept.
pub struct NewSecret {
    pub plaintext: String,
    pub digest: String,
    /// The prefix and the first characters, enough to recognise the token in a list.
    pub display_prefix: String,
}

pub fn generate(prefix: &str) -> NewSecret {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let random = URL_SAFE_NO_PAD.encode(bytes);
    let plaintext = format!("{prefix}{random}");
    NewSecret {
        digest: digest(&plaintext),
        display_prefix: format!("{prefix}{}", &random[..6]),
        plaintext,
    }
}

/// A public identifier: `prefix` and 128 random bits, base64url.
pub fn public_id(prefix: &str) -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The prefix of client secrets.
pub const CLIENT_SECRET_PREFIX: &str = "clt_cs_";

/// The hex SHA-256 digest under which a secret is stored and looked up.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Hashes a human password with argon2id and a random salt, as a PHC string. Slow on
/// purpose: call it off the async workers (repository calls run on the blocking pool).
pub fn hash_password(password: &Password) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| e.to_string())
}

/// Whether `candidate` is the password behind a PHC string made by [`hash_password`].
pub fn verify_password(stored: &str, candidate: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(stored).is_ok_and(|hash| {
        argon2::Argon2::default()
            .verify_password(candidate.as_bytes(), &hash)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_prefixed_long_and_stored_as_digests() {
        let prefix = domain::token::TokenKind::Personal.prefix();
        let secret = generate(prefix);
        assert!(secret.plaintext.starts_with("clt_pat_"));
        assert_eq!(secret.plaintext.len(), "clt_pat_".len() + 43);
        assert_eq!(secret.digest, digest(&secret.plaintext));
        assert_ne!(secret.plaintext, generate(prefix).plaintext);
        assert!(secret.plaintext.starts_with(&secret.display_prefix));
    }

    #[test]
    fn passwords_are_stored_as_argon2id_and_verify() {
        let password = Password::parse("correct horse battery").unwrap_or_else(|e| panic!("{e:?}"));
        let hash = hash_password(&password).unwrap_or_default();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password(&hash, "correct horse battery"));
        assert!(!verify_password(&hash, "correct horse battery!"));
        assert!(!verify_password("not a hash", "x"));
    }
}
