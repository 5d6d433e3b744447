//! Secrets at rest: the operator key, and the secrets the service must read back (webhook
//! signing secrets, TOTP secrets, OAuth signing keys) sealed under it with XChaCha20-Poly1305.
//! Where the key comes from is in [`source`]; which columns hold sealed values is in [`stored`].
//!
//! A sealed value is `enc:v1:<key id>:<base64 of nonce and ciphertext>`. The key id is the
//! first 8 hex digits of the key's SHA-256, so a value names the key that sealed it (rotation
//! and a wrongly configured key are told apart). The associated data binds each value to its
//! table, column and row, so a value copied into another row does not open.

pub mod source;
pub mod stored;

use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use sha2::{Digest, Sha256};

/// What every sealed value starts with.
const ENVELOPE: &str = "enc:v1:";
const NONCE_LEN: usize = 24;

/// The 32-byte operator key. Its bytes never reach a log: `Debug` shows only its id.
#[derive(Clone, PartialEq, Eq)]
pub struct OperatorKey {
    bytes: [u8; 32],
    id: String,
}

impl std::fmt::Debug for OperatorKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "OperatorKey({})", self.id)
    }
}

/// Why a key could not be read.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

impl OperatorKey {
    fn from_bytes(bytes: [u8; 32]) -> OperatorKey {
        let id = hex::encode(&Sha256::digest(bytes)[..4]);
        OperatorKey { bytes, id }
    }

    /// A new key from the operating system's CSPRNG (through the thread's generator).
    pub fn generate() -> OperatorKey {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        OperatorKey::from_bytes(bytes)
    }

    /// Reads a key written as 64 hex digits or as base64 (standard or URL-safe, padded or
    /// not) of 32 bytes; surrounding whitespace is ignored.
    pub fn parse(text: &str) -> Result<OperatorKey, KeyError> {
        let text = text.trim();
        let decoded = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).ok()
        } else {
            [STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD]
                .iter()
                .find_map(|engine| engine.decode(text).ok())
        };
        let bytes: [u8; 32] = decoded
            .and_then(|d| d.try_into().ok())
            .ok_or_else(|| KeyError("is not 32 bytes written as 64 hex digits or base64".into()))?;
        Ok(OperatorKey::from_bytes(bytes))
    }

    /// The short public name of the key, as sealed values carry it.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The key as written to key files and printed for operators: base64.
    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.bytes)
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.bytes.into())
    }
}

/// Where a sealed value lives; it is the associated data, so a value opens only there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    table: &'static str,
    column: &'static str,
    /// The row's id (or the signing key's `kid`).
    row: String,
}

impl Place {
    pub fn webhook_secret(webhook_id: i64) -> Place {
        Place {
            table: "webhooks",
            column: "secret",
            row: webhook_id.to_string(),
        }
    }

    pub fn totp_secret(user_id: i64) -> Place {
        Place {
            table: "users",
            column: "totp_secret",
            row: user_id.to_string(),
        }
    }

    pub fn signing_key(kid: &str) -> Place {
        Place {
            table: "signing_keys",
            column: "private_key",
            row: kid.to_owned(),
        }
    }

    fn associated_data(&self) -> String {
        format!("clientline/{}.{}/{}", self.table, self.column, self.row)
    }
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{} of row {}", self.table, self.column, self.row)
    }
}

/// Why a stored secret did not open.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error(
        "{place} was sealed with operator key {key_id}, which is not configured (this key is {configured}); \
         set CLIENTLINE_SECRET_KEY or CLIENTLINE_SECRET_KEY_FILE to the key the database was sealed with"
    )]
    UnknownKey {
        place: String,
        key_id: String,
        configured: String,
    },
    #[error("{place} does not open with operator key {key_id}: it was altered or moved")]
    Corrupt { place: String, key_id: String },
    #[error("{place} is not sealed; start the service once to seal it")]
    Plaintext { place: String },
    #[error("cannot seal {place}")]
    Seal { place: String },
}

/// Seals with one operator key, and opens what that key or any other given one sealed.
#[derive(Clone)]
pub struct Vault(Arc<Keys>);

struct Keys {
    sealing: OperatorKey,
    /// Keys whose values still open (an interrupted rotation's other key).
    also_open: Vec<OperatorKey>,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("sealing", &self.0.sealing)
            .field("also_open", &self.0.also_open)
            .finish()
    }
}

impl Vault {
    pub fn new(sealing: OperatorKey) -> Vault {
        Vault(Arc::new(Keys {
            sealing,
            also_open: Vec::new(),
        }))
    }

    /// This vault, opening values sealed with `other` too.
    pub fn also_opening(self, other: OperatorKey) -> Vault {
        let mut also_open = self.0.also_open.clone();
        if other != self.0.sealing && !also_open.contains(&other) {
            also_open.push(other);
        }
        Vault(Arc::new(Keys {
            sealing: self.0.sealing.clone(),
            also_open,
        }))
    }

    /// The id of the key new values are sealed with.
    pub fn key_id(&self) -> &str {
        self.0.sealing.id()
    }

    /// Whether a stored value is sealed (rather than a plaintext left from before sealing).
    pub fn is_sealed(stored: &str) -> bool {
        stored.starts_with(ENVELOPE)
    }

    /// The key id a sealed value names.
    pub fn key_id_of(stored: &str) -> Option<&str> {
        stored.strip_prefix(ENVELOPE)?.split(':').next()
    }

    pub fn seal(&self, place: &Place, plaintext: &[u8]) -> Result<String, SealError> {
        let key = &self.0.sealing;
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let aad = place.associated_data();
        let ciphertext = key
            .cipher()
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| SealError::Seal {
                place: place.to_string(),
            })?;
        let mut raw = nonce.to_vec();
        raw.extend_from_slice(&ciphertext);
        Ok(format!("{ENVELOPE}{}:{}", key.id(), STANDARD.encode(raw)))
    }

    pub fn open(&self, place: &Place, stored: &str) -> Result<Vec<u8>, SealError> {
        let Some((key_id, body)) = stored
            .strip_prefix(ENVELOPE)
            .and_then(|rest| rest.split_once(':'))
        else {
            return Err(SealError::Plaintext {
                place: place.to_string(),
            });
        };
        let key = std::iter::once(&self.0.sealing)
            .chain(&self.0.also_open)
            .find(|k| k.id() == key_id)
            .ok_or_else(|| SealError::UnknownKey {
                place: place.to_string(),
                key_id: key_id.to_owned(),
                configured: self.key_id().to_owned(),
            })?;
        let corrupt = || SealError::Corrupt {
            place: place.to_string(),
            key_id: key_id.to_owned(),
        };
        let raw = STANDARD.decode(body).map_err(|_| corrupt())?;
        if raw.len() < NONCE_LEN {
            return Err(corrupt());
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let aad = place.associated_data();
        key.cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| corrupt())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(row: i64) -> Place {
        Place::webhook_secret(row)
    }

    #[test]
    fn a_sealed_value_opens_only_in_its_place_and_under_its_key() {
        let vault = Vault::new(OperatorKey::generate());
        let sealed = vault
            .seal(&at(1), b"whsec_abc")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(Vault::is_sealed(&sealed));
        assert!(!sealed.contains("whsec_abc"));
        assert_eq!(Vault::key_id_of(&sealed), Some(vault.key_id()));
        assert_eq!(
            vault.open(&at(1), &sealed).ok(),
            Some(b"whsec_abc".to_vec())
        );
        assert!(matches!(
            vault.open(&at(2), &sealed),
            Err(SealError::Corrupt { .. })
        ));
        let other = Vault::new(OperatorKey::generate());
        assert!(matches!(
            other.open(&at(1), &sealed),
            Err(SealError::UnknownKey { .. })
        ));
        assert!(matches!(
            vault.open(&at(1), "whsec_abc"),
            Err(SealError::Plaintext { .. })
        ));
        // Two seals of one value differ (random nonces).
        assert_ne!(vault.seal(&at(1), b"x").ok(), vault.seal(&at(1), b"x").ok());
    }

    #[test]
    fn a_vault_opens_what_its_other_keys_sealed() {
        let old = OperatorKey::generate();
        let sealed = Vault::new(old.clone())
            .seal(&at(1), b"s")
            .unwrap_or_else(|e| panic!("{e}"));
        let both = Vault::new(OperatorKey::generate()).also_opening(old);
        assert_eq!(both.open(&at(1), &sealed).ok(), Some(b"s".to_vec()));
    }

    #[test]
    fn keys_parse_from_hex_and_base64_and_hide_in_debug() {
        let key = OperatorKey::generate();
        let hex = hex::encode(key.bytes);
        assert_eq!(OperatorKey::parse(&hex).ok(), Some(key.clone()));
        assert_eq!(OperatorKey::parse(&key.to_base64()).ok(), Some(key.clone()));
        assert_eq!(
            OperatorKey::parse(&format!(" {}\n", URL_SAFE_NO_PAD.encode(key.bytes))).ok(),
            Some(key.clone())
        );
        assert!(OperatorKey::parse("too short").is_err());
        assert!(OperatorKey::parse(&STANDARD.encode([0u8; 31])).is_err());
        let shown = format!("{key:?} {:?}", Vault::new(key.clone()));
        assert!(!shown.contains(&hex) && !shown.contains(&key.to_base64()));
        assert!(shown.contains(key.id()));
    }
}
