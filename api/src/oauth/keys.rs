//! Access tokens as RFC 9068 JWTs, signed with the database's newest live Ed25519 key and
//! verified with any live key. Verification pins the algorithm and checks `typ`, `kid`,
//! `iss`, `aud` and `exp`.

use std::collections::HashMap;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use domain::access::ScopeSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use persistence::oauth::Issued;
use persistence::signing_keys::SigningKey;
use serde::{Deserialize, Serialize};

/// The `typ` of access tokens (RFC 9068 2.1).
pub const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// How long verification trusts its copy of the live keys before reading them again: a key
/// retired by `clientline keys retire` stops verifying within this time on every replica.
const KEYS_TRUSTED_FOR: Duration = Duration::from_secs(60);
/// An unknown `kid` makes the ring read the keys again, at most this often.
const RELOAD_AT_MOST_EVERY: Duration = Duration::from_secs(1);

/// The claims of an access token (RFC 9068 2.2).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub client_id: String,
    pub scope: String,
    pub account_id: i64,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
}

impl AccessClaims {
    pub fn scopes(&self) -> ScopeSet {
        ScopeSet::from_stored(&self.scope)
    }
}

struct Verifiers {
    keys: HashMap<String, DecodingKey>,
    loaded_at: Option<Instant>,
}

/// The signing keys every replica shares, and a cached copy for verification.
pub struct KeyRing {
    issuer: String,
    audience: String,
    verifiers: RwLock<Verifiers>,
}

/// Why a token was not accepted; the details go to the log, not to the caller.
#[derive(Debug)]
pub struct Rejected(pub String);

impl KeyRing {
    pub fn new(issuer: &str) -> Self {
        let issuer = issuer.trim_end_matches('/').to_owned();
        KeyRing {
            audience: format!("{issuer}/v1"),
            issuer,
            verifiers: RwLock::new(Verifiers {
                keys: HashMap::new(),
                loaded_at: None,
            }),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn audience(&self) -> &str {
        &self.audience
    }

    /// Replaces the verification keys with `live` (newest first, as read from the database).
    pub fn remember(&self, live: &[SigningKey]) {
        let keys = live
            .iter()
            .filter_map(|k| {
                DecodingKey::from_ed_components(&k.public_x)
                    .ok()
                    .map(|d| (k.kid.clone(), d))
            })
            .collect();
        if let Ok(mut verifiers) = self.verifiers.write() {
            *verifiers = Verifiers {
                keys,
                loaded_at: Some(Instant::now()),
            };
        }
    }

    /// Signs the access token of `issued` with `key` (the newest live key).
    pub fn sign(&self, key: &SigningKey, issued: &Issued) -> Result<String, Rejected> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        header.kid = Some(key.kid.clone());
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            sub: issued.subject.clone(),
            aud: self.audience.clone(),
            client_id: issued.client_id.clone(),
            scope: issued.scopes.to_stored(),
            account_id: issued.account_id,
            iat: issued.issued_at.timestamp(),
            exp: issued.expires_at.timestamp(),
            jti: issued.jti.clone(),
        };
        jsonwebtoken::encode(
            &header,
            &claims,
            &EncodingKey::from_ed_der(&key.private_der),
        )
        .map_err(|e| Rejected(format!("cannot sign: {e}")))
    }

    /// Whether the ring must read the keys before verifying a token signed with `kid`.
    pub fn needs_reload(&self, kid: &str) -> bool {
        let Ok(verifiers) = self.verifiers.read() else {
            return true;
        };
        match verifiers.loaded_at {
            None => true,
            Some(at) if at.elapsed() > KEYS_TRUSTED_FOR => true,
            Some(at) => !verifiers.keys.contains_key(kid) && at.elapsed() > RELOAD_AT_MOST_EVERY,
        }
    }

    /// Verifies a compact JWS access token and returns its claims.
    pub fn verify(&self, token: &str) -> Result<AccessClaims, Rejected> {
        self.decode(token, true)
    }

    /// The claims of a token this server signed, even if it has expired: what revocation and
    /// introspection need to find it. Everything else is still checked.
    pub fn verify_ignoring_expiry(&self, token: &str) -> Result<AccessClaims, Rejected> {
        self.decode(token, false)
    }

    /// The `kid` a token names, if its header can be read.
    pub fn kid_of(token: &str) -> Option<String> {
        jsonwebtoken::decode_header(token).ok().and_then(|h| h.kid)
    }

    fn decode(&self, token: &str, check_expiry: bool) -> Result<AccessClaims, Rejected> {
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| Rejected(format!("unreadable header: {e}")))?;
        if header.alg != Algorithm::EdDSA {
            return Err(Rejected(format!(
                "algorithm {:?} is not accepted",
                header.alg
            )));
        }
        let typ_ok = header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case(ACCESS_TOKEN_TYPE)
                || t.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok {
            return Err(Rejected("typ is not at+jwt".into()));
        }
        let kid = header.kid.ok_or_else(|| Rejected("no kid".into()))?;
        let verifiers = self
            .verifiers
            .read()
            .map_err(|_| Rejected("key ring poisoned".into()))?;
        let key = verifiers
            .keys
            .get(&kid)
            .ok_or_else(|| Rejected(format!("unknown kid {kid}")))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = 0;
        validation.validate_exp = check_expiry;
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&[&self.audience]);
        if check_expiry {
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub", "iat"]);
        } else {
            validation.set_required_spec_claims(&["iss", "aud"]);
        }
        jsonwebtoken::decode::<AccessClaims>(token, key, &validation)
            .map(|data| data.claims)
            .map_err(|e| Rejected(format!("invalid token: {e}")))
    }
}
