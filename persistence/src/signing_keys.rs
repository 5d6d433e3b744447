//! The keys that sign OAuth access tokens. They live in the database so that every replica
//! signs and verifies with the same ones; the newest live key signs, every live key verifies,
//! and a retired key verifies nothing.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use sha2::{Digest, Sha256};

use crate::schema::signing_keys;
use crate::{DbConnection, StoreError, now, to_utc, write_transaction};

/// The one algorithm keys are made for (RFC 8037).
pub const ALGORITHM: &str = "EdDSA";

/// A signing key pair.
#[derive(Clone, PartialEq, Eq)]
pub struct SigningKey {
    /// RFC 7638 thumbprint of the public key.
    pub kid: String,
    pub algorithm: String,
    /// PKCS#8 DER of the private key.
    pub private_der: Vec<u8>,
    /// The raw 32-byte Ed25519 public key, base64url (the JWK `x`).
    pub public_x: String,
    pub created_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("private_der", &"[redacted]")
            .field("created_at", &self.created_at)
            .field("retired_at", &self.retired_at)
            .finish()
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = signing_keys)]
struct KeyRow {
    kid: String,
    algorithm: String,
    private_key: String,
    public_key: String,
    created_at: NaiveDateTime,
    retired_at: Option<NaiveDateTime>,
}

impl From<KeyRow> for SigningKey {
    fn from(row: KeyRow) -> SigningKey {
        SigningKey {
            kid: row.kid,
            algorithm: row.algorithm,
            private_der: STANDARD.decode(row.private_key).unwrap_or_default(),
            public_x: row.public_key,
            created_at: to_utc(row.created_at),
            retired_at: row.retired_at.map(to_utc),
        }
    }
}

/// The RFC 7638 thumbprint of an Ed25519 public key: the key's id.
fn thumbprint(x: &str) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

fn insert_new(conn: &mut DbConnection) -> Result<SigningKey, StoreError> {
    let mut seed = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut seed);
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    let der = key
        .to_pkcs8_der()
        .map_err(|e| StoreError::Task(format!("cannot encode a signing key: {e}")))?;
    let x = URL_SAFE_NO_PAD.encode(key.verifying_key().as_bytes());
    let kid = thumbprint(&x);
    diesel::insert_into(signing_keys::table)
        .values((
            signing_keys::kid.eq(&kid),
            signing_keys::algorithm.eq(ALGORITHM),
            signing_keys::private_key.eq(STANDARD.encode(der.as_bytes())),
            signing_keys::public_key.eq(&x),
            signing_keys::created_at.eq(now()),
        ))
        .execute(conn)?;
    signing_keys::table
        .filter(signing_keys::kid.eq(&kid))
        .select(KeyRow::as_select())
        .first(conn)
        .map(SigningKey::from)
        .map_err(StoreError::from)
}

/// The live keys, newest first: the first signs, all verify.
pub fn live(conn: &mut DbConnection) -> Result<Vec<SigningKey>, StoreError> {
    Ok(signing_keys::table
        .filter(signing_keys::retired_at.is_null())
        .select(KeyRow::as_select())
        .order(signing_keys::id.desc())
        .load(conn)?
        .into_iter()
        .map(SigningKey::from)
        .collect())
}

/// Every key, live and retired, newest first.
pub fn all(conn: &mut DbConnection) -> Result<Vec<SigningKey>, StoreError> {
    Ok(signing_keys::table
        .select(KeyRow::as_select())
        .order(signing_keys::id.desc())
        .load(conn)?
        .into_iter()
        .map(SigningKey::from)
        .collect())
}

/// Makes sure a live key exists, creating the first one; returns the live keys. Only the
/// very first call writes: every token request calls this, so it reads first.
pub fn ensure(conn: &mut DbConnection) -> Result<Vec<SigningKey>, StoreError> {
    let keys = live(conn)?;
    if !keys.is_empty() {
        return Ok(keys);
    }
    write_transaction(conn, |conn| {
        let keys = live(conn)?;
        if !keys.is_empty() {
            return Ok(keys);
        }
        insert_new(conn)?;
        live(conn)
    })
}

/// Adds a new key, which signs from now on; older live keys keep verifying.
pub fn rotate(conn: &mut DbConnection) -> Result<SigningKey, StoreError> {
    write_transaction(conn, insert_new)
}

/// Retires a key: tokens it signed stop verifying. The newest live key cannot be retired
/// (rotate first), so that something always signs.
pub fn retire(conn: &mut DbConnection, kid: &str) -> Result<SigningKey, StoreError> {
    write_transaction(conn, |conn| {
        let keys = live(conn)?;
        let position = keys
            .iter()
            .position(|k| k.kid == kid)
            .ok_or(StoreError::NotFound)?;
        if position == 0 {
            return Err(StoreError::Conflict(
                "the newest key signs new tokens; rotate before retiring it".into(),
            ));
        }
        diesel::update(signing_keys::table.filter(signing_keys::kid.eq(kid)))
            .set(signing_keys::retired_at.eq(now()))
            .execute(conn)?;
        signing_keys::table
            .filter(signing_keys::kid.eq(kid))
            .select(KeyRow::as_select())
            .first(conn)
            .map(SigningKey::from)
            .map_err(StoreError::from)
    })
}
