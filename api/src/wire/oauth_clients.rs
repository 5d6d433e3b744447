//! OAuth client app bodies.

use chrono::{DateTime, Utc};
use domain::Invalid;
use domain::access::ScopeSet;
use domain::oauth::{ClientType, GrantType, OAuthClient, RedirectUri, check_grants};
use domain::values::Label;
use persistence::oauth_clients::{ClientPatch, NewClient};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::input::Parser;
use super::list_of;

/// A registered client app. Its secret is shown only when created or rotated.
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthClientOut {
    pub id: i64,
    /// The public identifier the app sends as `client_id`.
    #[schema(example = "clt_app_3q2-7wEzR1mD0hLkQvN1xA")]
    pub client_id: String,
    #[schema(example = "Acme reporting")]
    pub name: String,
    /// `confidential` (can keep a secret) or `public` (browser and native apps).
    #[schema(schema_with = super::schema::client_type)]
    pub client_type: String,
    /// Matched exactly.
    pub redirect_uris: Vec<String>,
    #[schema(schema_with = super::schema::grant_types)]
    pub grant_types: Vec<String>,
    /// The most the app may be granted.
    #[schema(schema_with = super::schema::scopes)]
    pub scopes: Vec<String>,
    /// The first characters of the current secret; `null` for public clients.
    #[schema(required = true)]
    pub secret_prefix: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<OAuthClient> for OAuthClientOut {
    fn from(c: OAuthClient) -> Self {
        OAuthClientOut {
            id: c.id,
            client_id: c.client_id,
            name: c.name,
            client_type: c.client_type.as_str().to_owned(),
            redirect_uris: c.redirect_uris,
            grant_types: c.grant_types,
            scopes: c.scopes.names(),
            secret_prefix: c.secret_prefix,
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

/// A client app with its secret: store it now, it is never shown again.
#[derive(Debug, Serialize, ToSchema)]
pub struct OAuthClientWithSecretOut {
    #[serde(flatten)]
    pub client: OAuthClientOut,
    /// `null` for public clients.
    #[schema(required = true)]
    pub client_secret: Option<String>,
}

list_of!(OAuthClientList, OAuthClientOut, "client apps");

/// A client app to register.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "Acme reporting",
    "client_type": "confidential",
    "redirect_uris": ["https://reports.acme.example/oauth/callback"],
    "grant_types": ["authorization_code", "refresh_token"],
    "scopes": ["companies:read", "contacts:read"]
}))]
pub struct OAuthClientCreate {
    #[schema(max_length = 100)]
    pub name: String,
    /// `confidential` (the default) or `public`.
    #[schema(schema_with = super::schema::client_type)]
    pub client_type: Option<String>,
    /// `https`, or `http` on a loopback host; no fragment. At most 10.
    pub redirect_uris: Option<Vec<String>>,
    /// Default: `authorization_code` and `refresh_token`.
    #[schema(schema_with = super::schema::grant_types)]
    pub grant_types: Option<Vec<String>>,
    #[schema(schema_with = super::schema::scopes)]
    pub scopes: Vec<String>,
}

fn parse_uris(p: &mut Parser, raw: &[String]) -> Vec<RedirectUri> {
    if raw.len() > 10 {
        p.check::<()>(
            "redirect_uris",
            Err(domain::validation::ValueError::new(
                "too_many",
                "at most 10 redirect URIs",
            )),
        );
    }
    let mut uris: Vec<RedirectUri> = raw
        .iter()
        .enumerate()
        .filter_map(|(i, uri)| p.check(&format!("redirect_uris[{i}]"), RedirectUri::parse(uri)))
        .collect();
    uris.sort();
    uris.dedup();
    uris
}

fn parse_grants(p: &mut Parser, raw: &[String]) -> Vec<GrantType> {
    let mut grants: Vec<GrantType> = raw
        .iter()
        .enumerate()
        .filter_map(|(i, g)| p.check(&format!("grant_types[{i}]"), GrantType::parse(g)))
        .collect();
    grants.sort();
    grants.dedup();
    grants
}

fn parse_scopes(p: &mut Parser, raw: &[String]) -> Option<ScopeSet> {
    let scopes = p.check("scopes", ScopeSet::parse_list(raw))?;
    if scopes.is_empty() {
        p.check::<()>(
            "scopes",
            Err(domain::validation::ValueError::new(
                "required",
                "name at least one scope",
            )),
        );
        return None;
    }
    Some(scopes)
}

impl OAuthClientCreate {
    pub fn into_new(self) -> Result<NewClient, Invalid> {
        let mut p = Parser::default();
        let name = p.required("name", &self.name, Label::parse);
        let client_type = match self.client_type.as_deref() {
            None => Some(ClientType::Confidential),
            Some(raw) => p.check("client_type", ClientType::parse(raw)),
        };
        let redirect_uris = parse_uris(&mut p, &self.redirect_uris.unwrap_or_default());
        let grant_types = match self.grant_types {
            Some(raw) => parse_grants(&mut p, &raw),
            None => vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        };
        let scopes = parse_scopes(&mut p, &self.scopes);
        if let Some(client_type) = client_type
            && p.invalid.is_empty()
            && let Err((field, e)) = check_grants(client_type, &grant_types, &redirect_uris)
        {
            p.check::<()>(field, Err(e));
        }
        p.build(match (name, client_type, scopes) {
            (Some(name), Some(client_type), Some(scopes)) => Some(NewClient {
                name,
                client_type,
                redirect_uris,
                grant_types,
                scopes,
            }),
            _ => None,
        })
    }
}

/// Changes to a client app: absent fields stay as they are. The client type cannot change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OAuthClientUpdate {
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    #[schema(max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    pub redirect_uris: Option<Vec<String>>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    #[schema(schema_with = super::schema::grant_types)]
    pub grant_types: Option<Vec<String>>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    #[schema(schema_with = super::schema::scopes)]
    pub scopes: Option<Vec<String>>,
}

impl OAuthClientUpdate {
    pub fn into_patch(self) -> Result<ClientPatch, Invalid> {
        let mut p = Parser::default();
        let patch = ClientPatch {
            name: p.patch_required("name", self.name.as_deref(), Label::parse),
            redirect_uris: self.redirect_uris.map(|raw| parse_uris(&mut p, &raw)),
            grant_types: self.grant_types.map(|raw| parse_grants(&mut p, &raw)),
            scopes: self.scopes.and_then(|raw| parse_scopes(&mut p, &raw)),
        };
        p.finish()?;
        Ok(patch)
    }
}
