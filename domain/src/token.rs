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
    pub const ALL: [TokenKind; 2] = [TokenKind::Personal, TokenKind::Javascript];

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

/// A client app acting for its account (the client-credentials grant).
#[derive(Debug, Clone, PartialEq)]
pub struct App {
    /// The client app's row id.
    pub id: i64,
    /// Its public `client_id`.
    pub client_id: String,
    pub name: String,
    /// What an admin granted the app: the most its tokens may do.
    pub scopes: ScopeSet,
}

/// Who acts: a team member, or an app for its account.
#[derive(Debug, Clone, PartialEq)]
pub enum Actor {
    User(User),
    App(App),
}

/// The actor as history records it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ActorRef {
    pub user_id: Option<i64>,
    pub client_id: Option<i64>,
}

impl ActorRef {
    pub fn user(user_id: i64) -> Self {
        ActorRef {
            user_id: Some(user_id),
            client_id: None,
        }
    }
}

/// What the caller presented.
#[derive(Debug, Clone, PartialEq)]
pub enum Credential {
    /// A personal or JavaScript token (`/v1/tokens`).
    Token {
        id: i64,
        kind: TokenKind,
        /// For JavaScript tokens: the origins the token may be used from.
        allowed_origins: Vec<String>,
    },
    /// An OAuth access token issued to a client app.
    OAuth { jti: String, client_id: String },
}

/// Who is calling: the actor behind a valid token, their account, and the token's scopes.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    pub account_id: i64,
    pub account_name: String,
    pub actor: Actor,
    pub credential: Credential,
    pub scopes: ScopeSet,
}

impl Principal {
    /// The one permission model: the actor's ceiling (a user's role, or what the app was
    /// granted) narrowed by the token's scopes.
    pub fn rights(&self) -> Rights {
        let ceiling = match &self.actor {
            Actor::User(user) => user.role.rights(),
            Actor::App(app) => app.scopes.clone(),
        };
        Rights::new(ceiling, self.scopes.clone())
    }

    pub fn user(&self) -> Option<&User> {
        match &self.actor {
            Actor::User(user) => Some(user),
            Actor::App(_) => None,
        }
    }

    pub fn actor_ref(&self) -> ActorRef {
        match &self.actor {
            Actor::User(user) => ActorRef::user(user.id),
            Actor::App(app) => ActorRef {
                user_id: None,
                client_id: Some(app.id),
            },
        }
    }

    /// The origins a JavaScript token may be used from; `None` for any other credential.
    pub fn allowed_origins(&self) -> Option<&[String]> {
        match &self.credential {
            Credential::Token {
                kind: TokenKind::Javascript,
                allowed_origins,
                ..
            } => Some(allowed_origins),
            _ => None,
        }
    }
}
