//! Access tokens as the API shows them, and the caller a valid token stands for.

use chrono::{DateTime, Utc};

use crate::access::{Rights, ScopeSet};
use crate::user::User;

/// The kinds of opaque token a user issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// For scripts and servers.
    Personal,
    /// For pages in a browser: read scopes only, usable only from the origins listed.
    Javascript,
}

impl TokenKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Personal => "personal",
            TokenKind::Javascript => "javascript",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, crate::validation::ValueError> {
        match raw {
            "personal" => Ok(TokenKind::Personal),
            "javascript" => Ok(TokenKind::Javascript),
            _ => Err(crate::validation::ValueError::new(
                "invalid_choice",
                "must be personal or javascript",
            )),
        }
    }

    pub fn from_stored(raw: &str) -> Self {
        Self::parse(raw).unwrap_or(TokenKind::Personal)
    }

    /// The prefix that makes a leaked token recognisable.
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::Personal => "clt_pat_",
            TokenKind::Javascript => "clt_js_",
        }
    }
}

/// An access token, without its secret (which is never stored).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub kind: TokenKind,
    /// For JavaScript tokens: the origins the token may be used from.
    pub allowed_origins: Vec<String>,
    pub name: String,
    pub display_prefix: String,
    pub scopes: ScopeSet,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
}

/// Who is calling: the user behind a valid token, their account, and the token's scopes.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub account_id: i64,
    pub account_name: String,
    pub user: User,
    pub token_id: i64,
    pub token_kind: TokenKind,
    /// For JavaScript tokens: the origins the token may be used from.
    pub allowed_origins: Vec<String>,
    pub scopes: ScopeSet,
}

impl Principal {
    pub fn rights(&self) -> Rights {
        Rights::new(self.user.role, self.scopes.clone())
    }
}
