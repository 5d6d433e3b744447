//! OAuth 2 client apps as an account admin registers them: the rules for redirect URIs,
//! grant types and client types (RFC 6749, RFC 9700).

use chrono::{DateTime, Utc};

use crate::access::ScopeSet;
use crate::validation::ValueError;

/// Whether a client can keep a secret (a server) or not (a browser or native app).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientType {
    Confidential,
    Public,
}

impl ClientType {
    pub const ALL: [ClientType; 2] = [ClientType::Confidential, ClientType::Public];

    pub fn as_str(self) -> &'static str {
        match self {
            ClientType::Confidential => "confidential",
            ClientType::Public => "public",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        match raw {
            "confidential" => Ok(ClientType::Confidential),
            "public" => Ok(ClientType::Public),
            _ => Err(ValueError::new(
                "invalid_choice",
                "must be confidential or public",
            )),
        }
    }

    pub fn from_stored(raw: &str) -> Self {
        Self::parse(raw).unwrap_or(ClientType::Public)
    }
}

/// The grants this server offers; no implicit grant, no password grant (RFC 9700).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum GrantType {
    AuthorizationCode,
    ClientCredentials,
    RefreshToken,
}

impl GrantType {
    pub const ALL: [GrantType; 3] = [
        GrantType::AuthorizationCode,
        GrantType::ClientCredentials,
        GrantType::RefreshToken,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::RefreshToken => "refresh_token",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        match raw {
            "authorization_code" => Ok(GrantType::AuthorizationCode),
            "client_credentials" => Ok(GrantType::ClientCredentials),
            "refresh_token" => Ok(GrantType::RefreshToken),
            "implicit" | "password" => Err(ValueError::new(
                "unsafe_grant",
                format!(
                    "the {raw} grant is not offered (RFC 9700); use authorization_code with PKCE"
                ),
            )),
            _ => Err(ValueError::new(
                "invalid_choice",
                "must be authorization_code, client_credentials or refresh_token",
            )),
        }
    }
}

/// A redirect URI, matched exactly: `https`, or `http` only on a loopback host; no fragment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RedirectUri(String);

impl RedirectUri {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let value = raw.trim();
        let invalid = |why: &str| ValueError::new("invalid_redirect_uri", why.to_owned());
        if value.len() > 2_048 || value.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(invalid(
                "must be an absolute URI without spaces, at most 2048 characters",
            ));
        }
        if value.contains('#') {
            return Err(invalid("must not contain a fragment"));
        }
        let (scheme, rest) = value
            .split_once("://")
            .ok_or_else(|| invalid("must be an absolute https URI"))?;
        let authority = rest.split(['/', '?']).next().unwrap_or_default();
        let host = authority.rsplit('@').next().unwrap_or_default();
        let host = if host.starts_with('[') {
            host.split(']')
                .next()
                .map(|h| format!("{h}]"))
                .unwrap_or_default()
        } else {
            host.split(':').next().unwrap_or_default().to_owned()
        };
        if host.is_empty() {
            return Err(invalid("must name a host"));
        }
        let loopback = matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]");
        match scheme.to_ascii_lowercase().as_str() {
            "https" => Ok(Self(value.to_owned())),
            "http" if loopback => Ok(Self(value.to_owned())),
            "http" => Err(invalid(
                "must use https, or http only on a loopback host (localhost, 127.0.0.1, [::1])",
            )),
            _ => Err(invalid("must be an https URI")),
        }
    }

    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks that a client's grants fit its type and its redirect URIs.
pub fn check_grants(
    client_type: ClientType,
    grants: &[GrantType],
    redirect_uris: &[RedirectUri],
) -> Result<(), (&'static str, ValueError)> {
    if grants.is_empty() {
        return Err((
            "grant_types",
            ValueError::new("required", "name at least one grant type"),
        ));
    }
    if client_type == ClientType::Public && grants.contains(&GrantType::ClientCredentials) {
        return Err((
            "grant_types",
            ValueError::new(
                "confidential_only",
                "client_credentials needs a confidential client, which can keep a secret",
            ),
        ));
    }
    if grants.contains(&GrantType::AuthorizationCode) && redirect_uris.is_empty() {
        return Err((
            "redirect_uris",
            ValueError::new(
                "required",
                "the authorization_code grant needs at least one redirect URI",
            ),
        ));
    }
    Ok(())
}

/// A registered client app, without its secret (only a digest is stored).
#[derive(Debug, Clone, PartialEq)]
pub struct OAuthClient {
    pub id: i64,
    pub account_id: i64,
    pub client_id: String,
    pub name: String,
    pub client_type: ClientType,
    pub redirect_uris: Vec<String>,
    pub grant_types: Vec<String>,
    pub scopes: ScopeSet,
    /// The first characters of the current secret, to recognise it; `None` for public clients.
    pub secret_prefix: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How long an access token lives: an hour at most (RFC 9068 tokens are not revocable by
/// every resource server, so they stay short).
pub const ACCESS_TOKEN_SECONDS: i64 = 3_600;
/// How long an authorization code may wait for its exchange (RFC 6749 recommends 10 minutes
/// at most).
pub const CODE_SECONDS: i64 = 300;
/// How long a refresh token lives unused.
pub const REFRESH_TOKEN_DAYS: i64 = 30;
/// How long a sign-in form stays valid.
pub const SIGN_IN_FORM_SECONDS: i64 = 900;

/// Prefixes that make OAuth secrets recognisable when they leak.
pub const CODE_PREFIX: &str = "clt_ac_";
pub const REFRESH_TOKEN_PREFIX: &str = "clt_rt_";

/// Whether `verifier` is the PKCE verifier behind an `S256` `challenge` (RFC 7636 4.6).
/// A verifier is 43 to 128 unreserved characters.
pub fn pkce_matches(verifier: &str, challenge: &str) -> bool {
    use base64::Engine;
    use sha2::Digest;
    let well_formed = (43..=128).contains(&verifier.len())
        && verifier
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'));
    if !well_formed {
        return false;
    }
    let computed =
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier));
    // Both are public-length strings; a plain comparison leaks nothing the attacker lacks.
    computed == challenge
}

/// Why an authorization request is refused (RFC 6749 4.1.2.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthorizeError {
    /// The client or the redirect URI cannot be trusted: the error is shown to the user and
    /// never sent to the redirect URI.
    Show { code: &'static str, message: String },
    /// Sent back to the client's redirect URI.
    Redirect {
        error: &'static str,
        description: String,
    },
}

/// The raw parameters of `GET /oauth/authorize`.
#[derive(Debug, Clone, Default)]
pub struct AuthorizeParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
}

/// An authorization request that passed every check.
#[derive(Debug, Clone, PartialEq)]
pub struct AuthorizeRequest {
    pub redirect_uri: String,
    /// Whether the request named the redirect URI (the token request must then repeat it).
    pub redirect_uri_given: bool,
    pub scopes: ScopeSet,
    pub state: Option<String>,
    pub code_challenge: String,
}

/// The redirect URI an authorization answer goes to, once the client is known: the one
/// requested if it is registered exactly (RFC 9700 2.1), or the only one registered when
/// none is named.
pub fn redirect_uri_for(
    client: &OAuthClient,
    requested: Option<&str>,
) -> Result<(String, bool), AuthorizeError> {
    match requested {
        Some(uri) if client.redirect_uris.iter().any(|r| r == uri) => Ok((uri.to_owned(), true)),
        Some(_) => Err(AuthorizeError::Show {
            code: "invalid_redirect_uri",
            message: "the redirect_uri is not one the app registered; it must match exactly"
                .to_owned(),
        }),
        None => match client.redirect_uris.as_slice() {
            [only] => Ok((only.clone(), false)),
            _ => Err(AuthorizeError::Show {
                code: "invalid_redirect_uri",
                message: "the redirect_uri parameter is required".to_owned(),
            }),
        },
    }
}

/// Checks an authorization request for a known client (RFC 6749 4.1.1, RFC 7636, RFC 9700).
pub fn check_authorize(
    client: &OAuthClient,
    params: &AuthorizeParams,
) -> Result<AuthorizeRequest, AuthorizeError> {
    let (redirect_uri, redirect_uri_given) =
        redirect_uri_for(client, params.redirect_uri.as_deref())?;
    let refuse = |error: &'static str, description: &str| AuthorizeError::Redirect {
        error,
        description: description.to_owned(),
    };
    match params.response_type.as_deref() {
        Some("code") => {}
        Some(_) => {
            return Err(refuse(
                "unsupported_response_type",
                "only response_type=code is offered; the implicit grant is not (RFC 9700)",
            ));
        }
        None => return Err(refuse("invalid_request", "response_type=code is required")),
    }
    if !client
        .grant_types
        .iter()
        .any(|g| g == GrantType::AuthorizationCode.as_str())
    {
        return Err(refuse(
            "unauthorized_client",
            "the app is not registered for the authorization_code grant",
        ));
    }
    let challenge = params
        .code_challenge
        .as_deref()
        .filter(|c| !c.is_empty())
        .ok_or_else(|| {
            refuse(
                "invalid_request",
                "PKCE is required: send code_challenge and code_challenge_method=S256",
            )
        })?;
    match params.code_challenge_method.as_deref() {
        Some("S256") => {}
        _ => {
            return Err(refuse(
                "invalid_request",
                "code_challenge_method must be S256; plain is refused",
            ));
        }
    }
    let well_formed = challenge.len() == 43
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !well_formed {
        return Err(refuse(
            "invalid_request",
            "code_challenge must be the base64url SHA-256 of the verifier (43 characters)",
        ));
    }
    let scopes =
        requested_scopes(&client.scopes, params.scope.as_deref()).map_err(|description| {
            AuthorizeError::Redirect {
                error: "invalid_scope",
                description,
            }
        })?;
    if params.state.as_ref().is_some_and(|s| s.len() > 1_024) {
        return Err(refuse(
            "invalid_request",
            "state is longer than 1024 characters",
        ));
    }
    Ok(AuthorizeRequest {
        redirect_uri,
        redirect_uri_given,
        scopes,
        state: params.state.clone(),
        code_challenge: challenge.to_owned(),
    })
}

/// The scopes a request asks for: every one must be known and granted to the client; none
/// asked means all the client's.
pub fn requested_scopes(allowed: &ScopeSet, raw: Option<&str>) -> Result<ScopeSet, String> {
    let names: Vec<String> = raw
        .unwrap_or_default()
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if names.is_empty() {
        return Ok(allowed.clone());
    }
    let requested = ScopeSet::parse_list(&names).map_err(|e| e.message)?;
    let refused = requested.not_granted_by(allowed);
    if let Some(first) = refused.first() {
        return Err(format!("the app may not ask for the scope {first}"));
    }
    Ok(requested)
}

/// An error of the token, revocation or introspection endpoint (RFC 6749 5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        OAuthError {
            error,
            description: description.into(),
        }
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", description)
    }

    pub fn invalid_client() -> Self {
        Self::new(
            "invalid_client",
            "client authentication failed: unknown client_id or wrong client_secret",
        )
    }
}

/// Sign-in throttling: failures slow the next attempt down, then lock the user briefly.
#[derive(Debug, Clone, Copy)]
pub struct SignInPolicy {
    /// From this many consecutive failures on, each answer waits.
    pub slow_after: i32,
    /// This many consecutive failures lock the user.
    pub lock_after: i32,
    pub lock_seconds: i64,
}

impl Default for SignInPolicy {
    fn default() -> Self {
        SignInPolicy {
            slow_after: 3,
            lock_after: 5,
            lock_seconds: 300,
        }
    }
}

impl SignInPolicy {
    /// How long to wait before answering after `failures` consecutive failures.
    pub fn delay_millis(&self, failures: i32) -> u64 {
        if failures < self.slow_after {
            return 0;
        }
        let doublings = u32::try_from(failures - self.slow_after)
            .unwrap_or(0)
            .min(4);
        250 * (1 << doublings)
    }

    pub fn locks(&self, failures: i32) -> bool {
        failures >= self.lock_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_are_https_or_loopback_http_without_fragments() {
        for good in [
            "https://app.example.com/callback",
            "http://localhost:8080/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:3000/cb",
        ] {
            assert!(RedirectUri::parse(good).is_ok(), "{good}");
        }
        for bad in [
            "http://app.example.com/cb",
            "https://app.example.com/cb#x",
            "app.example.com/cb",
            "ftp://x/cb",
            "https:///cb",
            "http://localhost.evil.com/cb",
        ] {
            assert!(RedirectUri::parse(bad).is_err(), "{bad}");
        }
    }

    fn client() -> OAuthClient {
        OAuthClient {
            id: 1,
            account_id: 1,
            client_id: "clt_app_x".into(),
            name: "App".into(),
            client_type: ClientType::Public,
            redirect_uris: vec!["https://a.example/cb".into()],
            grant_types: vec!["authorization_code".into()],
            scopes: ScopeSet::from_stored("companies:read contacts:read"),
            secret_prefix: None,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn params() -> AuthorizeParams {
        AuthorizeParams {
            response_type: Some("code".into()),
            client_id: Some("clt_app_x".into()),
            redirect_uri: Some("https://a.example/cb".into()),
            scope: Some("companies:read".into()),
            state: Some("xyz".into()),
            code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
            code_challenge_method: Some("S256".into()),
        }
    }

    #[test]
    fn pkce_s256_matches_the_rfc_example() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(pkce_matches(
            verifier,
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
        assert!(!pkce_matches(
            "short",
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        ));
    }

    #[test]
    fn authorize_requests_need_exact_redirects_pkce_s256_and_granted_scopes() {
        let c = client();
        assert!(check_authorize(&c, &params()).is_ok());
        for uri in [
            "https://a.example/cb/",
            "https://A.example/cb",
            "https://a.example/cb?x=1",
        ] {
            let p = AuthorizeParams {
                redirect_uri: Some(uri.into()),
                ..params()
            };
            assert!(
                matches!(check_authorize(&c, &p), Err(AuthorizeError::Show { .. })),
                "{uri}"
            );
        }
        let error_of = |p: AuthorizeParams| match check_authorize(&c, &p) {
            Err(AuthorizeError::Redirect { error, .. }) => error,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            error_of(AuthorizeParams {
                code_challenge: None,
                ..params()
            }),
            "invalid_request"
        );
        assert_eq!(
            error_of(AuthorizeParams {
                code_challenge_method: Some("plain".into()),
                ..params()
            }),
            "invalid_request"
        );
        assert_eq!(
            error_of(AuthorizeParams {
                response_type: Some("token".into()),
                ..params()
            }),
            "unsupported_response_type"
        );
        assert_eq!(
            error_of(AuthorizeParams {
                scope: Some("admin".into()),
                ..params()
            }),
            "invalid_scope"
        );
    }

    #[test]
    fn failed_sign_ins_slow_down_then_lock() {
        let policy = SignInPolicy::default();
        assert_eq!(policy.delay_millis(2), 0);
        assert_eq!(policy.delay_millis(3), 250);
        assert_eq!(policy.delay_millis(4), 500);
        assert!(!policy.locks(4) && policy.locks(5));
    }

    #[test]
    fn grants_fit_the_client() {
        let uri = [RedirectUri("https://a.example/cb".into())];
        assert!(check_grants(ClientType::Public, &[GrantType::AuthorizationCode], &uri).is_ok());
        assert!(check_grants(ClientType::Public, &[GrantType::ClientCredentials], &[]).is_err());
        assert!(
            check_grants(
                ClientType::Confidential,
                &[GrantType::ClientCredentials],
                &[]
            )
            .is_ok()
        );
        assert!(
            check_grants(
                ClientType::Confidential,
                &[GrantType::AuthorizationCode],
                &[]
            )
            .is_err()
        );
        assert_eq!(
            GrantType::parse("implicit").map_err(|e| e.code),
            Err("unsafe_grant")
        );
    }
}
