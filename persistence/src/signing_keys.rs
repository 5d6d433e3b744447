//! The keys that sign OAuth access tokens. They live in the database so that every replica
//! signs and verifies with the same ones; the newest live key signs, every live key verifies,
//! and a retired key verifies nothing. Private keys are stored sealed under the operator key
//! (`vault`), bound to their `kid`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use sha2::{Digest, Sha256};

use crate::schema::signing_keys;
use crate::vault::{Place, Vault};
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

impl KeyRow {
    fn open(self, vault: &Vault) -> Result<SigningKey, StoreError> {
        Ok(SigningKey {
            private_der: vault.open(&Place::signing_key(&self.kid), &self.private_key)?,
            kid: self.kid,
            algorithm: self.algorithm,
            public_x: self.public_key,
            created_at: to_utc(self.created_at),
            retired_at: self.retired_at.map(to_utc),
        })
    }
}

fn open_all(rows: Vec<KeyRow>, vault: &Vault) -> Result<Vec<SigningKey>, StoreError> {
    rows.into_iter().map(|row| row.open(vault)).collect()
}

/// The RFC 7638 thumbprint of an Ed25519 public key: the key's id.
fn thumbprint(x: &str) -> String {
    let canonical = format!(r#"{{"crv":"Ed25519","kty":"OKP","x":"{x}"}}"#);
    URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
}

fn insert_new(conn: &mut DbConnection, vault: &Vault) -> Result<SigningKey, StoreError> {
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
            signing_keys::private_key.eq(vault.seal(&Place::signing_key(&kid), der.as_bytes())?),
            signing_keys::public_key.eq(&x),
            signing_keys::created_at.eq(now()),
        ))
        .execute(conn)?;
    signing_keys::table
        .filter(signing_keys::kid.eq(&kid))
        .select(KeyRow::as_select())
        .first::<KeyRow>(conn)?
        .open(vault)
}

/// The live keys, newest first: the first signs, all verify.
pub fn live(conn: &mut DbConnection, vault: &Vault) -> Result<Vec<SigningKey>, StoreError> {
    let rows = signing_keys::table
        .filter(signing_keys::retired_at.is_null())
        .select(KeyRow::as_select())
        .order(signing_keys::id.desc())
        .load(conn)?;
    open_all(rows, vault)
}

/// Every key, live and retired, newest first.
pub fn all(conn: &mut DbConnection, vault: &Vault) -> Result<Vec<SigningKey>, StoreError> {
    let rows = signing_keys::table
        .select(KeyRow::as_select())
        .order(signing_keys::id.desc())
        .load(conn)?;
    open_all(rows, vault)
}

/// Makes sure a live key exists, creating the first one; returns the live keys. Only the
/// very first call writes: every token request calls this, so it reads first.
pub fn ensure(conn: &mut DbConnection, vault: &Vault) -> Result<Vec<SigningKey>, StoreError> {
    let keys = live(conn, vault)?;
    if !keys.is_empty() {
        return Ok(keys);
    }
    write_transaction(conn, |conn| {
        let keys = live(conn, vault)?;
        if !keys.is_empty() {
            return Ok(keys);
        }
        insert_new(conn, vault)?;
        live(conn, vault)
    })
}

/// Adds a new key, which signs from now on; older live keys keep verifying.
pub fn rotate(conn: &mut DbConnection, vault: &Vault) -> Result<SigningKey, StoreError> {
    write_transaction(conn, |conn| insert_new(conn, vault))
}

/// Retires a key: tokens it signed stop verifying. The newest live key cannot be retired
/// (rotate first), so that something always signs.
pub fn retire(conn: &mut DbConnection, vault: &Vault, kid: &str) -> Result<SigningKey, StoreError> {
    write_transaction(conn, |conn| {
        let keys = live(conn, vault)?;
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
            .first::<KeyRow>(conn)?
            .open(vault)
    })
}
