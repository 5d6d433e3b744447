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
