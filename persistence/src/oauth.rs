//! The OAuth 2 authorization server's records: sign-in forms in progress, authorization
//! codes, grants (one family of tokens each), access tokens (known by their `jti`) and
//! rotating refresh tokens. Codes and refresh tokens are stored only as SHA-256 digests.
//!
//! Calls that can be refused under the protocol answer `Ok(Err(OAuthError))`, so that what a
//! refusal must write (revoking the family of a replayed code or refresh token) still commits.

use chrono::{DateTime, Duration, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::access::ScopeSet;
use domain::oauth::{
    ACCESS_TOKEN_SECONDS, AuthorizeRequest, CODE_PREFIX, CODE_SECONDS, ClientType, GrantType,
    OAuthClient, OAuthError, REFRESH_TOKEN_DAYS, REFRESH_TOKEN_PREFIX, SIGN_IN_FORM_SECONDS,
    SignInPolicy, pkce_matches, requested_scopes,
};
use domain::token::{Actor, App, Credential, Principal};
use domain::user::User;
use subtle::ConstantTimeEq;

use crate::oauth_clients;
use crate::roles::RoleRow;
use crate::schema::{
    accounts, authorization_codes, authorization_requests, oauth_access_tokens,
    oauth_clients as clients, oauth_grants, oauth_refresh_tokens, signing_keys, users,
};
use crate::secrets;
use crate::users::UserRow;
use crate::{DbConnection, StoreError, now, to_utc, write_transaction};

/// A protocol answer: the value, or the OAuth error to send.
pub type Outcome<T> = Result<T, OAuthError>;

fn same_digest(stored: &str, presented: &str) -> bool {
    bool::from(stored.as_bytes().ct_eq(presented.as_bytes()))
}

/// Authenticates a client at the token, revocation or introspection endpoint: a confidential
/// client by its secret, a public client by its id alone.
pub fn authenticate_client(
    conn: &mut DbConnection,
    client_id: &str,
    secret: Option<&str>,
) -> Result<Outcome<OAuthClient>, StoreError> {
    let Some((client, stored)) = oauth_clients::by_client_id(conn, client_id)? else {
        return Ok(Err(OAuthError::invalid_client()));
    };
    let accepted = match (client.client_type, stored, secret) {
        (ClientType::Confidential, Some(stored), Some(secret)) => {
            same_digest(&stored, &secrets::digest(secret))
        }
        (ClientType::Public, _, None) => true,
        _ => false,
    };
    Ok(if accepted {
        Ok(client)
    } else {
        Err(OAuthError::invalid_client())
    })
}

/// A client by its public id, for the authorization endpoint.
pub fn client(conn: &mut DbConnection, client_id: &str) -> Result<Option<OAuthClient>, StoreError> {
    Ok(oauth_clients::by_client_id(conn, client_id)?.map(|(client, _)| client))
}

// ---------------------------------------------------------------------------------------------
// The sign-in and consent forms

/// Where a sign-in form stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    SignIn,
    Totp,
    Consent,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::SignIn => "sign_in",
            Step::Totp => "totp",
            Step::Consent => "consent",
        }
    }

    fn from_stored(raw: &str) -> Step {
        match raw {
            "totp" => Step::Totp,
            "consent" => Step::Consent,
            _ => Step::SignIn,
        }
    }
}

/// The secrets that tie a form to the browser that asked for it: the form carries the CSRF
/// token, the browser's cookie the other. Both are stored only as digests.
pub struct FormSecrets {
    pub csrf_token: String,
    pub cookie: String,
}

/// An authorization request waiting for the user.
#[derive(Debug, Clone)]
pub struct PendingAuthorization {
    pub id: i64,
    pub client: OAuthClient,
    pub request: AuthorizeRequest,
    pub step: Step,
    /// The user who signed in (after the password step).
    pub user_id: Option<i64>,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = authorization_requests)]
struct RequestRow {
    id: i64,
    account_id: i64,
    client_id: i64,
    cookie_digest: String,
    redirect_uri: String,
    redirect_uri_given: bool,
    scopes: String,
    state: Option<String>,
    code_challenge: String,
    step: String,
    user_id: Option<i64>,
    expires_at: NaiveDateTime,
}

/// Records a checked authorization request and returns the secrets of its form.
pub fn start_authorization(
    conn: &mut DbConnection,
    client: &OAuthClient,
    request: &AuthorizeRequest,
) -> Result<FormSecrets, StoreError> {
    let csrf = secrets::generate("");
    let cookie = secrets::generate("");
    let at = now();
    diesel::delete(authorization_requests::table.filter(authorization_requests::expires_at.lt(at)))
        .execute(conn)?;
    diesel::insert_into(authorization_requests::table)
        .values((
            authorization_requests::account_id.eq(client.account_id),
            authorization_requests::client_id.eq(client.id),
            authorization_requests::csrf_digest.eq(&csrf.digest),
            authorization_requests::cookie_digest.eq(&cookie.digest),
            authorization_requests::redirect_uri.eq(&request.redirect_uri),
            authorization_requests::redirect_uri_given.eq(request.redirect_uri_given),
            authorization_requests::scopes.eq(request.scopes.to_stored()),
            authorization_requests::state.eq(&request.state),
            authorization_requests::code_challenge.eq(&request.code_challenge),
            authorization_requests::step.eq(Step::SignIn.as_str()),
            authorization_requests::expires_at.eq(at + Duration::seconds(SIGN_IN_FORM_SECONDS)),
            authorization_requests::created_at.eq(at),
        ))
        .execute(conn)?;
    Ok(FormSecrets {
        csrf_token: csrf.plaintext,
        cookie: cookie.plaintext,
    })
}

/// The request a posted form belongs to, if its CSRF token is known, the browser's cookie is
/// the one issued with it, and it has not expired.
pub fn pending_authorization(
    conn: &mut DbConnection,
    csrf_token: &str,
    cookie: &str,
) -> Result<Option<PendingAuthorization>, StoreError> {
    let row = authorization_requests::table
        .filter(authorization_requests::csrf_digest.eq(secrets::digest(csrf_token)))
        .select(RequestRow::as_select())
        .first(conn)
        .optional()?;
    let Some(row) = row else { return Ok(None) };
    if !same_digest(&row.cookie_digest, &secrets::digest(cookie)) || row.expires_at <= now() {
        return Ok(None);
    }
    let client = match oauth_clients::get(conn, row.account_id, row.client_id) {
        Ok(client) => client,
        Err(StoreError::NotFound) => return Ok(None),
        Err(e) => return Err(e),
    };
    Ok(Some(PendingAuthorization {
        id: row.id,
        client,
        request: AuthorizeRequest {
            redirect_uri: row.redirect_uri,
            redirect_uri_given: row.redirect_uri_given,
            scopes: ScopeSet::from_stored(&row.scopes),
            state: row.state,
            code_challenge: row.code_challenge,
        },
        step: Step::from_stored(&row.step),
        user_id: row.user_id,
    }))
}

/// Moves a form to its next step, for the user who signed in.
pub fn advance(
    conn: &mut DbConnection,
    pending_id: i64,
    step: Step,
    user_id: i64,
) -> Result<(), StoreError> {
    diesel::update(authorization_requests::table.filter(authorization_requests::id.eq(pending_id)))
        .set((
            authorization_requests::step.eq(step.as_str()),
            authorization_requests::user_id.eq(Some(user_id)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Ends a consented form: uses it up and, when the user allowed it, issues an authorization
/// code. `Err(NotFound)` when the form was used already.
pub fn finish(
    conn: &mut DbConnection,
    pending: &PendingAuthorization,
    allow: bool,
) -> Result<Option<String>, StoreError> {
    write_transaction(conn, |conn| {
        let removed = diesel::delete(
            authorization_requests::table.filter(authorization_requests::id.eq(pending.id)),
        )
        .execute(conn)?;
        let user_id = pending
            .user_id
            .filter(|_| removed == 1)
            .ok_or(StoreError::NotFound)?;
        if !allow {
            return Ok(None);
        }
        let code = secrets::generate(CODE_PREFIX);
        let at = now();
        diesel::delete(
            authorization_codes::table
                .filter(authorization_codes::expires_at.lt(at - Duration::days(1))),
        )
        .execute(conn)?;
        diesel::insert_into(authorization_codes::table)
            .values((
                authorization_codes::code_digest.eq(&code.digest),
                authorization_codes::account_id.eq(pending.client.account_id),
                authorization_codes::client_id.eq(pending.client.id),
                authorization_codes::user_id.eq(user_id),
                authorization_codes::redirect_uri.eq(&pending.request.redirect_uri),
                authorization_codes::redirect_uri_given.eq(pending.request.redirect_uri_given),
                authorization_codes::scopes.eq(pending.request.scopes.to_stored()),
                authorization_codes::code_challenge.eq(&pending.request.code_challenge),
                authorization_codes::expires_at.eq(at + Duration::seconds(CODE_SECONDS)),
                authorization_codes::created_at.eq(at),
            ))
            .execute(conn)?;
        Ok(Some(code.plaintext))
    })
}

// ---------------------------------------------------------------------------------------------
// Signing in

/// The result of a password check.
#[derive(Debug, Clone)]
pub enum SignIn {
    Accepted {
        user: User,
        /// The user confirmed an authenticator: the form asks for a code next.
        needs_totp: bool,
    },
    /// Wrong email or password; `failures` counts the user's consecutive failures (0 when
    /// no such user exists).
    Refused { failures: i32 },
    /// Too many failures: refused until then, whatever the password.
    Locked { until: DateTime<Utc> },
}

/// A password hash to verify against when no user matches, so that an unknown email costs
/// the same time as a wrong password.
fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        domain::password::Password::parse("a decoy that nobody signs in with")
            .ok()
            .and_then(|p| secrets::hash_password(&p).ok())
            .unwrap_or_default()
    })
}

/// Checks a user's email and password within an account, with the throttling of `policy`.
/// Slow on purpose (argon2id): the caller runs it on the blocking pool.
pub fn sign_in(
    conn: &mut DbConnection,
    account_id: i64,
    email: &str,
    password: &str,
    policy: &SignInPolicy,
) -> Result<SignIn, StoreError> {
    let normalized = email.trim().to_lowercase();
    let found = users::table
        .inner_join(crate::schema::roles::table)
        .filter(users::account_id.eq(account_id))
        .filter(users::email_normalized.eq(&normalized))
        .select((
            crate::users::UserWithRole::as_select(),
            users::password_hash,
            users::locked_until,
            users::totp_confirmed_at,
        ))
        .first::<(
            crate::users::UserWithRole,
            Option<String>,
            Option<NaiveDateTime>,
            Option<NaiveDateTime>,
        )>(conn)
        .optional()?;
    let Some((row, hash, locked_until, totp_confirmed)) = found else {
        secrets::verify_password(decoy_hash(), password);
        return Ok(SignIn::Refused { failures: 0 });
    };
    let user = User::from(row);
    let at = now();
    if let Some(until) = locked_until.filter(|u| *u > at) {
        return Ok(SignIn::Locked {
            until: to_utc(until),
        });
    }
    let hash = hash.filter(|_| user.active);
    let accepted = match &hash {
        Some(hash) => secrets::verify_password(hash, password),
        None => {
            secrets::verify_password(decoy_hash(), password);
            false
        }
    };
    if accepted {
        diesel::update(users::table.filter(users::id.eq(user.id)))
            .set((
                users::failed_sign_ins.eq(0),
                users::locked_until.eq(None::<NaiveDateTime>),
            ))
            .execute(conn)?;
        return Ok(SignIn::Accepted {
            user,
            needs_totp: totp_confirmed.is_some(),
        });
    }
    let failures: i32 = diesel::update(users::table.filter(users::id.eq(user.id)))
        .set(users::failed_sign_ins.eq(users::failed_sign_ins + 1))
        .returning(users::failed_sign_ins)
        .get_result(conn)?;
    if policy.locks(failures) {
        let until = at + Duration::seconds(policy.lock_seconds);
        diesel::update(users::table.filter(users::id.eq(user.id)))
            .set((
                users::failed_sign_ins.eq(0),
                users::locked_until.eq(Some(until)),
            ))
            .execute(conn)?;
        return Ok(SignIn::Locked {
            until: to_utc(until),
        });
    }
    Ok(SignIn::Refused { failures })
}

// ---------------------------------------------------------------------------------------------
// Grants and tokens

/// What a token request produced; the HTTP layer signs the access token from it.
#[derive(Debug, Clone)]
pub struct Issued {
    pub jti: String,
    pub account_id: i64,
    /// The user id, or the client id for client credentials.
    pub subject: String,
    pub client_id: String,
    pub scopes: ScopeSet,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub refresh_token: Option<String>,
}

fn has_grant(client: &OAuthClient, grant: GrantType) -> bool {
    client.grant_types.iter().any(|g| g == grant.as_str())
}

fn create_grant(
    conn: &mut DbConnection,
    client: &OAuthClient,
    user_id: Option<i64>,
    grant: GrantType,
    scopes: &ScopeSet,
) -> Result<i64, StoreError> {
    Ok(diesel::insert_into(oauth_grants::table)
        .values((
            oauth_grants::account_id.eq(client.account_id),
            oauth_grants::client_id.eq(client.id),
            oauth_grants::user_id.eq(user_id),
            oauth_grants::grant_type.eq(grant.as_str()),
            oauth_grants::scopes.eq(scopes.to_stored()),
            oauth_grants::created_at.eq(now()),
        ))
        .returning(oauth_grants::id)
        .get_result(conn)?)
}

/// Issues an access token (and, when asked, a refresh token carrying `refresh_scopes`) under
/// a grant.
fn issue(
    conn: &mut DbConnection,
    client: &OAuthClient,
    grant_id: i64,
    user_id: Option<i64>,
    scopes: &ScopeSet,
    refresh_scopes: Option<&ScopeSet>,
) -> Result<Issued, StoreError> {
    let at = now();
    let expires = at + Duration::seconds(ACCESS_TOKEN_SECONDS);
    let jti = secrets::public_id("");
    diesel::insert_into(oauth_access_tokens::table)
        .values((
            oauth_access_tokens::jti.eq(&jti),
            oauth_access_tokens::grant_id.eq(grant_id),
            oauth_access_tokens::expires_at.eq(expires),
            oauth_access_tokens::created_at.eq(at),
        ))
        .execute(conn)?;
    let refresh_token = match refresh_scopes {
        Some(refresh_scopes) => {
            let secret = secrets::generate(REFRESH_TOKEN_PREFIX);
            diesel::insert_into(oauth_refresh_tokens::table)
                .values((
                    oauth_refresh_tokens::grant_id.eq(grant_id),
                    oauth_refresh_tokens::token_digest.eq(&secret.digest),
                    oauth_refresh_tokens::scopes.eq(refresh_scopes.to_stored()),
                    oauth_refresh_tokens::expires_at.eq(at + Duration::days(REFRESH_TOKEN_DAYS)),
                    oauth_refresh_tokens::created_at.eq(at),
                ))
                .execute(conn)?;
            Some(secret.plaintext)
        }
        None => None,
    };
    Ok(Issued {
        jti,
        account_id: client.account_id,
        subject: user_id.map_or_else(|| client.client_id.clone(), |id| id.to_string()),
        client_id: client.client_id.clone(),
        scopes: scopes.clone(),
        issued_at: to_utc(at),
        expires_at: to_utc(expires),
        refresh_token,
    })
}

/// Revokes a grant: every access and refresh token of the family stops working.
fn revoke_grant(conn: &mut DbConnection, grant_id: i64) -> Result<(), StoreError> {
    diesel::update(
        oauth_grants::table
            .filter(oauth_grants::id.eq(grant_id))
            .filter(oauth_grants::revoked_at.is_null()),
    )
    .set(oauth_grants::revoked_at.eq(now()))
    .execute(conn)?;
    Ok(())
}

fn user_is_active(conn: &mut DbConnection, user_id: i64) -> Result<bool, StoreError> {
    Ok(users::table
        .filter(users::id.eq(user_id))
        .select(users::active)
        .first::<bool>(conn)
        .optional()?
        .unwrap_or(false))
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = authorization_codes)]
struct CodeRow {
    id: i64,
    client_id: i64,
    user_id: i64,
    redirect_uri: String,
    redirect_uri_given: bool,
    scopes: String,
    code_challenge: String,
    grant_id: Option<i64>,
    expires_at: NaiveDateTime,
    used_at: Option<NaiveDateTime>,
}

/// The authorization_code grant (RFC 6749 4.1.3, RFC 7636 4.6). A code comes back at most
/// once: the second time, every token issued from it is revoked.
pub fn exchange_code(
    conn: &mut DbConnection,
    client: &OAuthClient,
    code: &str,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> Result<Outcome<Issued>, StoreError> {
    if !has_grant(client, GrantType::AuthorizationCode) {
        return Ok(Err(OAuthError::new(
            "unauthorized_client",
            "the app is not registered for the authorization_code grant",
        )));
    }
    write_transaction(conn, |conn| {
        let row = authorization_codes::table
            .filter(authorization_codes::code_digest.eq(secrets::digest(code)))
            .select(CodeRow::as_select())
            .first(conn)
            .optional()?;
        let Some(row) = row.filter(|r| r.client_id == client.id) else {
            return Ok(Err(OAuthError::invalid_grant(
                "the authorization code is unknown or was issued to another client",
            )));
        };
        if row.used_at.is_some() {
            if let Some(grant) = row.grant_id {
                revoke_grant(conn, grant)?;
            }
            return Ok(Err(OAuthError::invalid_grant(
                "the authorization code was used already; the tokens issued from it are revoked",
            )));
        }
        if row.expires_at <= now() {
            return Ok(Err(OAuthError::invalid_grant(
                "the authorization code has expired",
            )));
        }
        let redirect_ok = match redirect_uri {
            Some(given) => given == row.redirect_uri,
            None => !row.redirect_uri_given,
        };
        if !redirect_ok {
            return Ok(Err(OAuthError::invalid_grant(
                "redirect_uri must be the one sent to the authorization endpoint",
            )));
        }
        let Some(verifier) = verifier.filter(|v| !v.is_empty()) else {
            return Ok(Err(OAuthError::invalid_grant(
                "code_verifier is required: the code was issued with a PKCE challenge",
            )));
        };
        if !pkce_matches(verifier, &row.code_challenge) {
            return Ok(Err(OAuthError::invalid_grant(
                "the code_verifier does not match the code_challenge",
            )));
        }
        if !user_is_active(conn, row.user_id)? {
            return Ok(Err(OAuthError::invalid_grant(
                "the user is no longer active",
            )));
        }
        let scopes = ScopeSet::from_stored(&row.scopes);
        let grant_id = create_grant(
            conn,
            client,
            Some(row.user_id),
            GrantType::AuthorizationCode,
            &scopes,
        )?;
        let claimed = diesel::update(
            authorization_codes::table
                .filter(authorization_codes::id.eq(row.id))
                .filter(authorization_codes::used_at.is_null()),
        )
        .set((
            authorization_codes::used_at.eq(now()),
            authorization_codes::grant_id.eq(Some(grant_id)),
        ))
        .execute(conn)?;
        if claimed == 0 {
            return Err(StoreError::Conflict(
                "the authorization code was used concurrently".into(),
            ));
        }
        let refresh = has_grant(client, GrantType::RefreshToken).then_some(&scopes);
        Ok(Ok(issue(
            conn,
            client,
            grant_id,
            Some(row.user_id),
            &scopes,
            refresh,
        )?))
    })
}

/// The refresh_token grant (RFC 6749 6): single use and rotated; a used token coming back
/// revokes its whole family (RFC 9700 4.14.2).
pub fn refresh(
    conn: &mut DbConnection,
    client: &OAuthClient,
    token: &str,
    scope: Option<&str>,
) -> Result<Outcome<Issued>, StoreError> {
    if !has_grant(client, GrantType::RefreshToken) {
        return Ok(Err(OAuthError::new(
            "unauthorized_client",
            "the app is not registered for the refresh_token grant",
        )));
    }
    write_transaction(conn, |conn| {
        let found = oauth_refresh_tokens::table
            .inner_join(oauth_grants::table)
            .filter(oauth_refresh_tokens::token_digest.eq(secrets::digest(token)))
            .select((
                oauth_refresh_tokens::id,
                oauth_refresh_tokens::scopes,
                oauth_refresh_tokens::expires_at,
                oauth_refresh_tokens::used_at,
                oauth_grants::id,
                oauth_grants::client_id,
                oauth_grants::user_id,
                oauth_grants::revoked_at,
            ))
            .first::<(
                i64,
                String,
                NaiveDateTime,
                Option<NaiveDateTime>,
                i64,
                i64,
                Option<i64>,
                Option<NaiveDateTime>,
            )>(conn)
            .optional()?;
        let Some((id, scopes, expires_at, used_at, grant_id, grant_client, user_id, revoked)) =
            found.filter(|f| f.5 == client.id)
        else {
            return Ok(Err(OAuthError::invalid_grant(
                "the refresh token is unknown or was issued to another client",
            )));
        };
        if used_at.is_some() {
            revoke_grant(conn, grant_id)?;
            return Ok(Err(OAuthError::invalid_grant(
                "the refresh token was used already; every token of its grant is revoked",
            )));
        }
        if revoked.is_some() || expires_at <= now() {
            return Ok(Err(OAuthError::invalid_grant(
                "the refresh token has expired or was revoked",
            )));
        }
        debug_assert_eq!(grant_client, client.id);
        if let Some(user) = user_id
            && !user_is_active(conn, user)?
        {
            return Ok(Err(OAuthError::invalid_grant(
                "the user is no longer active",
            )));
        }
        let granted = ScopeSet::from_stored(&scopes).intersect(&client.scopes);
        let narrowed = match requested_scopes(&granted, scope) {
            Ok(narrowed) => narrowed,
            Err(description) => return Ok(Err(OAuthError::new("invalid_scope", description))),
        };
        let claimed = diesel::update(
            oauth_refresh_tokens::table
                .filter(oauth_refresh_tokens::id.eq(id))
                .filter(oauth_refresh_tokens::used_at.is_null()),
        )
        .set(oauth_refresh_tokens::used_at.eq(now()))
        .execute(conn)?;
        if claimed == 0 {
            revoke_grant(conn, grant_id)?;
            return Ok(Err(OAuthError::invalid_grant(
                "the refresh token was used already; every token of its grant is revoked",
            )));
        }
        let keep = ScopeSet::from_stored(&scopes);
        Ok(Ok(issue(
            conn,
            client,
            grant_id,
            user_id,
            &narrowed,
            Some(&keep),
        )?))
    })
}

/// The client_credentials grant (RFC 6749 4.4): the app acts for its account.
pub fn client_credentials(
    conn: &mut DbConnection,
    client: &OAuthClient,
    scope: Option<&str>,
) -> Result<Outcome<Issued>, StoreError> {
    if client.client_type != ClientType::Confidential
        || !has_grant(client, GrantType::ClientCredentials)
    {
        return Ok(Err(OAuthError::new(
            "unauthorized_client",
            "the app is not registered for the client_credentials grant",
        )));
    }
    let scopes = match requested_scopes(&client.scopes, scope) {
        Ok(scopes) => scopes,
        Err(description) => return Ok(Err(OAuthError::new("invalid_scope", description))),
    };
    write_transaction(conn, |conn| {
        let grant_id = create_grant(conn, client, None, GrantType::ClientCredentials, &scopes)?;
        Ok(Ok(issue(conn, client, grant_id, None, &scopes, None)?))
    })
}

/// Revokes a refresh token (and its whole grant) issued to `client` (RFC 7009). Unknown
/// tokens and other clients' tokens are left alone.
pub fn revoke_refresh_token(
    conn: &mut DbConnection,
    client: &OAuthClient,
    token: &str,
) -> Result<bool, StoreError> {
    let grant = oauth_refresh_tokens::table
        .inner_join(oauth_grants::table)
        .filter(oauth_refresh_tokens::token_digest.eq(secrets::digest(token)))
        .filter(oauth_grants::client_id.eq(client.id))
        .select(oauth_grants::id)
        .first::<i64>(conn)
        .optional()?;
    match grant {
        Some(grant) => {
            revoke_grant(conn, grant)?;
            Ok(true)
        }
        None => Ok(false),
    }
}

/// Revokes one access token issued to `client`.
pub fn revoke_access_token(
    conn: &mut DbConnection,
    client: &OAuthClient,
    jti: &str,
) -> Result<bool, StoreError> {
    let grants_of_client = oauth_grants::table
        .filter(oauth_grants::client_id.eq(client.id))
        .select(oauth_grants::id);
    let revoked = diesel::update(
        oauth_access_tokens::table
            .filter(oauth_access_tokens::jti.eq(jti))
            .filter(oauth_access_tokens::grant_id.eq_any(grants_of_client))
            .filter(oauth_access_tokens::revoked_at.is_null()),
    )
    .set(oauth_access_tokens::revoked_at.eq(now()))
    .execute(conn)?;
    Ok(revoked > 0)
}

/// What introspection tells about a live refresh token.
#[derive(Debug, Clone)]
pub struct RefreshTokenInfo {
    pub scopes: ScopeSet,
    pub account_id: i64,
    pub subject: String,
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

/// A live refresh token issued to `client`, for introspection.
pub fn refresh_token_info(
    conn: &mut DbConnection,
    client: &OAuthClient,
    token: &str,
) -> Result<Option<RefreshTokenInfo>, StoreError> {
    let found = oauth_refresh_tokens::table
        .inner_join(oauth_grants::table)
        .filter(oauth_refresh_tokens::token_digest.eq(secrets::digest(token)))
        .filter(oauth_grants::client_id.eq(client.id))
        .filter(oauth_refresh_tokens::used_at.is_null())
        .filter(oauth_grants::revoked_at.is_null())
        .filter(oauth_refresh_tokens::expires_at.gt(now()))
        .select((
            oauth_refresh_tokens::scopes,
            oauth_grants::account_id,
            oauth_grants::user_id,
            oauth_refresh_tokens::created_at,
            oauth_refresh_tokens::expires_at,
        ))
        .first::<(String, i64, Option<i64>, NaiveDateTime, NaiveDateTime)>(conn)
        .optional()?;
    let Some((scopes, account_id, user_id, created, expires)) = found else {
        return Ok(None);
    };
    if let Some(user) = user_id
        && !user_is_active(conn, user)?
    {
        return Ok(None);
    }
    Ok(Some(RefreshTokenInfo {
        scopes: ScopeSet::from_stored(&scopes).intersect(&client.scopes),
        account_id,
        subject: user_id.map_or_else(|| client.client_id.clone(), |id| id.to_string()),
        issued_at: to_utc(created),
        expires_at: to_utc(expires),
    }))
}

/// The caller behind a live access token: `None` when the token was revoked or expired, its
/// grant revoked, its client deleted, its user deactivated, or the key `kid` that signed it
/// retired. `claimed_scopes` are the signed token's scopes; the result holds those the grant
/// and the client still allow.
pub fn authenticate_access(
    conn: &mut DbConnection,
    kid: &str,
    jti: &str,
    claimed_client_id: &str,
    claimed_scopes: &ScopeSet,
) -> Result<Option<Principal>, StoreError> {
    let key_is_live = diesel::dsl::exists(
        signing_keys::table
            .filter(signing_keys::kid.eq(kid))
            .filter(signing_keys::retired_at.is_null()),
    );
    let found = oauth_access_tokens::table
        .inner_join(
            oauth_grants::table
                .inner_join(clients::table.on(clients::id.eq(oauth_grants::client_id)))
                .inner_join(accounts::table.on(accounts::id.eq(oauth_grants::account_id)))
                .left_join(users::table.on(users::id.nullable().eq(oauth_grants::user_id)))
                .left_join(
                    crate::schema::roles::table.on(crate::schema::roles::id
                        .nullable()
                        .eq(users::role_id.nullable())),
                ),
        )
        .filter(oauth_access_tokens::jti.eq(jti))
        .filter(key_is_live)
        .select((
            oauth_access_tokens::expires_at,
            oauth_access_tokens::revoked_at,
            oauth_grants::account_id,
            oauth_grants::scopes,
            oauth_grants::revoked_at,
            clients::id,
            clients::client_id,
            clients::name,
            clients::scopes,
            accounts::name,
            Option::<UserRow>::as_select(),
            Option::<RoleRow>::as_select(),
        ))
        .first::<(
            NaiveDateTime,
            Option<NaiveDateTime>,
            i64,
            String,
            Option<NaiveDateTime>,
            i64,
            String,
            String,
            String,
            String,
            Option<UserRow>,
            Option<RoleRow>,
        )>(conn)
        .optional()?;
    let Some((
        expires_at,
        revoked_at,
        account_id,
        grant_scopes,
        grant_revoked,
        client_row_id,
        client_id,
        client_name,
        client_scopes,
        account_name,
        user,
        role,
    )) = found
    else {
        return Ok(None);
    };
    if revoked_at.is_some()
        || grant_revoked.is_some()
        || expires_at <= now()
        || client_id != claimed_client_id
    {
        return Ok(None);
    }
    let client_scopes = ScopeSet::from_stored(&client_scopes);
    let scopes = claimed_scopes
        .intersect(&ScopeSet::from_stored(&grant_scopes))
        .intersect(&client_scopes);
    let actor = match user
        .zip(role)
        .map(|(user, role)| User::from(crate::users::UserWithRole { user, role }))
    {
        Some(user) if user.active && user.account_id == account_id => Actor::User(user),
        Some(_) => return Ok(None),
        None => Actor::App(App {
            id: client_row_id,
            client_id: client_id.clone(),
            name: client_name,
            scopes: client_scopes,
        }),
    };
    let records = match &actor {
        Actor::User(user) => crate::units::record_scope(conn, user)?,
        Actor::App(_) => domain::units::RecordScope::All,
    };
    Ok(Some(Principal {
        account_id,
        account_name,
        records,
        actor,
        credential: Credential::OAuth {
            jti: jti.to_owned(),
            client_id,
        },
        scopes,
    }))
}
