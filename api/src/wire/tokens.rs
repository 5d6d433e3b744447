//! Personal access token bodies.

use chrono::{DateTime, Datelike, Utc};
use domain::Invalid;
use domain::access::ScopeSet;
use domain::token::{ApiToken, TokenKind};
use domain::validation::ValueError;
use domain::values::{Label, WebOrigin};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::input::{Parser, validate};
use super::list_of;

/// An access token of yours: personal, JavaScript or calendar. Its secret is shown only in
/// the answer that created it.
#[derive(Debug, Serialize, ToSchema)]
pub struct TokenOut {
    #[schema(example = 3)]
    pub id: i64,
    /// `personal`, `javascript` or `calendar`.
    #[schema(example = "personal")]
    #[schema(schema_with = super::schema::token_kind)]
    pub kind: String,
    /// JavaScript tokens: the origins they may be used from. Empty for the other kinds.
    #[schema(example = json!(["https://intranet.acme.com"]))]
    pub allowed_origins: Vec<String>,
    #[schema(example = "Nightly sync")]
    pub name: String,
    /// The token's first characters, to recognise it.
    #[schema(example = "clt_pat_Xy12ab")]
    pub prefix: String,
    /// Empty for a calendar token, whose kind is its one grant: the calendar feed.
    #[schema(example = json!(["companies:read", "companies:write"]))]
    #[schema(schema_with = super::schema::scopes)]
    pub scopes: Vec<String>,
    #[schema(required = true)]
    pub expires_at: Option<DateTime<Utc>>,
    /// When the token was last used, to the minute.
    #[schema(required = true)]
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

impl From<ApiToken> for TokenOut {
    fn from(t: ApiToken) -> Self {
        TokenOut {
            id: t.id,
            kind: t.kind.as_str().to_owned(),
            allowed_origins: t.allowed_origins,
            name: t.name,
            prefix: t.display_prefix,
            scopes: t.scopes.names(),
            expires_at: t.expires_at,
            last_used_at: t.last_used_at,
            created_at: t.created_at,
        }
    }
}

/// A token just created, with its secret: store it now, it is never shown again.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedTokenOut {
    #[serde(flatten)]
    pub token: TokenOut,
    /// The secret to send as `Authorization: Bearer <token>`.
    #[schema(example = "clt_pat_Xy12ab...")]
    pub token_secret: String,
}

list_of!(TokenList, TokenOut, "your access tokens");

/// A new token for the caller: personal, JavaScript or calendar.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenCreate {
    /// What the token is for, 1 to 100 characters on one line.
    #[schema(example = "Nightly sync")]
    #[schema(max_length = 100)]
    pub name: String,
    /// `personal` (the default) for scripts and servers; `javascript` for pages in a
    /// browser: read scopes only, usable only from `allowed_origins`; or `calendar` for
    /// calendar apps subscribed to your feed: it reads `GET /v1/me/calendar.ics` (also as
    /// `?token=` in the URL) and nothing else, and takes no `scopes`.
    #[schema(example = "personal")]
    #[schema(schema_with = super::schema::token_kind)]
    pub kind: Option<String>,
    /// JavaScript tokens only, and required for them: 1 to 20 origins such as
    /// `https://intranet.acme.com`.
    pub allowed_origins: Option<Vec<String>>,
    /// A subset of the caller's rights; default: all of them. Not for calendar tokens.
    #[validate(length(min = 1, max = 20, message = "must list 1 to 20 scopes"))]
    #[schema(example = json!(["companies:read"]))]
    #[schema(schema_with = super::schema::scopes)]
    pub scopes: Option<Vec<String>>,
    /// When the token stops working; must be in the future. Default: never.
    pub expires_at: Option<DateTime<Utc>>,
}

pub struct TokenRequest {
    pub kind: TokenKind,
    pub origins: Vec<WebOrigin>,
    pub name: String,
    pub scopes: Option<ScopeSet>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl TokenCreate {
    pub fn into_request(self, now: DateTime<Utc>) -> Result<TokenRequest, Invalid> {
        validate(&self)?;
        let mut p = Parser::default();
        let kind = match self.kind.as_deref() {
            None => Some(TokenKind::Personal),
            Some(raw) => p.check("kind", TokenKind::parse(raw)),
        };
        let mut origins = Vec::new();
        match (kind, self.allowed_origins.as_deref()) {
            (Some(TokenKind::Javascript), None | Some([])) => {
                p.check::<()>(
                    "allowed_origins",
                    Err(ValueError::new(
                        "required",
                        "a JavaScript token needs the origins it may be used from",
                    )),
                );
            }
            (Some(TokenKind::Javascript), Some(raw)) if raw.len() > 20 => {
                p.check::<()>(
                    "allowed_origins",
                    Err(ValueError::new("too_many", "at most 20 origins")),
                );
            }
            (Some(TokenKind::Javascript), Some(raw)) => {
                for (i, origin) in raw.iter().enumerate() {
                    if let Some(origin) =
                        p.check(&format!("allowed_origins[{i}]"), WebOrigin::parse(origin))
                    {
                        origins.push(origin);
                    }
                }
                origins.sort();
                origins.dedup();
            }
            (Some(TokenKind::Personal | TokenKind::Calendar), Some(raw)) if !raw.is_empty() => {
                p.check::<()>(
                    "allowed_origins",
                    Err(ValueError::new(
                        "javascript_only",
                        "only JavaScript tokens have allowed origins",
                    )),
                );
            }
            _ => {}
        }
        if kind == Some(TokenKind::Calendar) && self.scopes.is_some() {
            p.check::<()>(
                "scopes",
                Err(ValueError::new(
                    "calendar_token",
                    "a calendar token takes no scopes: it reads your calendar feed (GET /v1/me/calendar.ics) and nothing else",
                )),
            );
        }
        let name = p.required("name", &self.name, Label::parse);
        let scopes = self
            .scopes
            .as_deref()
            .and_then(|raw| p.check("scopes", ScopeSet::parse_list(raw)));
        if self.expires_at.is_some_and(|at| at.year() > 9999) {
            p.check::<()>(
                "expires_at",
                Err(domain::validation::ValueError::new(
                    "out_of_range",
                    "must be before the year 10000",
                )),
            );
        }
        if self.expires_at.is_some_and(|at| at <= now) {
            p.check::<()>(
                "expires_at",
                Err(domain::validation::ValueError::new(
                    "in_the_past",
                    "must be in the future",
                )),
            );
        }
        p.finish()?;
        Ok(TokenRequest {
            kind: kind.unwrap_or(TokenKind::Personal),
            origins,
            name: name.map(Label::into_inner).unwrap_or_default(),
            scopes,
            expires_at: self.expires_at,
        })
    }
}
