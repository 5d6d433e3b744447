//! Access tokens as the API shows them, and the caller a valid token stands for.

use chrono::{DateTime, Utc};

use crate::access::{Denied, Resource, Rights, Scope, ScopeSet};
use crate::user::User;

/// The kinds of opaque token a user issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// For scripts and servers.
    Personal,
    /// For pages in a browser: read scopes only, usable only from the origins listed.
    Javascript,
    /// For calendar apps subscribed to the owner's feed (`GET /v1/me/calendar.ics`): it reads
    /// that feed and nothing else, and is the one kind a URL may carry.
    Calendar,
}

/// What the calendar feed shows, each a read right its reader needs: a calendar token holds
/// exactly these, for that feed alone.
pub const CALENDAR_FEED_READS: [Scope; 2] = [
    Scope::Read(Resource::Tasks),
    Scope::Read(Resource::Meetings),
];

/// [`CALENDAR_FEED_READS`] as a set: what a calendar token's owner must hold to issue one.
pub fn calendar_feed_scopes() -> ScopeSet {
    let mut set = ScopeSet::default();
    for scope in CALENDAR_FEED_READS {
        set.insert(scope);
    }
    set
}

impl TokenKind {
    pub const ALL: [TokenKind; 3] = [
        TokenKind::Personal,
        TokenKind::Javascript,
        TokenKind::Calendar,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Personal => "personal",
            TokenKind::Javascript => "javascript",
            TokenKind::Calendar => "calendar",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, crate::validation::ValueError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == raw)
            .ok_or_else(|| {
                crate::validation::ValueError::new(
                    "invalid_choice",
                    "must be one of personal, javascript, calendar",
                )
            })
    }

    pub fn from_stored(raw: &str) -> Self {
        Self::parse(raw).unwrap_or(TokenKind::Personal)
    }

    /// The prefix that makes a leaked token recognisable.
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::Personal => "clt_pat_",
            TokenKind::Javascript => "clt_js_",
            TokenKind::Calendar => "clt_cal_",
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
    /// A personal, JavaScript or calendar token (`/v1/tokens`).
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
    /// Which companies, contacts and projects the caller sees.
    pub records: crate::units::RecordScope,
}

impl Principal {
    /// The one permission model: the actor's ceiling (a user's role, or what the app was
    /// granted) narrowed by the token's scopes.
    pub fn rights(&self) -> Rights {
        Rights::new(self.rights_ceiling(), self.scopes.clone())
    }

    /// What the actor may do at most: a user's role, or what the app was granted.
    fn rights_ceiling(&self) -> ScopeSet {
        match &self.actor {
            Actor::User(user) => user.role.rights.clone(),
            Actor::App(app) => app.scopes.clone(),
        }
    }

    /// The caller's field-level security: their role's rules; an app acting for its
    /// account sees and writes every field.
    pub fn field_mask(&self) -> crate::roles::FieldMask {
        match &self.actor {
            Actor::User(user) => user.role.field_mask(),
            Actor::App(_) => crate::roles::FieldMask::unrestricted(),
        }
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

    /// Whether the caller presented a calendar token, which reads the calendar feed only.
    pub fn is_calendar_token(&self) -> bool {
        matches!(
            self.credential,
            Credential::Token {
                kind: TokenKind::Calendar,
                ..
            }
        )
    }

    /// Whether the caller may read its calendar feed: a calendar token may, within its
    /// owner's role (it carries no scopes, its kind is the grant); any other token needs the
    /// feed's read scopes, as every other read does.
    pub fn may_read_calendar_feed(&self) -> Result<(), Denied> {
        let rights = if self.is_calendar_token() {
            Rights::new(self.rights_ceiling(), calendar_feed_scopes())
        } else {
            self.rights()
        };
        CALENDAR_FEED_READS
            .into_iter()
            .try_for_each(|scope| rights.require(scope))
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::Role;

    fn caller(kind: TokenKind, scopes: &[&str]) -> Principal {
        let names: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        Principal {
            account_id: 1,
            account_name: "Acme".into(),
            records: Default::default(),
            actor: Actor::User(User {
                id: 1,
                account_id: 1,
                email: "ada@acme.test".into(),
                name: "Ada".into(),
                role: crate::roles::UserRole::builtin(Role::Viewer),
                active: true,
                version: 1,
                created_at: Utc::now(),
                updated_at: Utc::now(),
            }),
            credential: Credential::Token {
                id: 1,
                kind,
                allowed_origins: Vec::new(),
            },
            scopes: ScopeSet::parse_list(&names).unwrap_or_default(),
        }
    }

    #[test]
    fn a_calendar_token_reads_its_feed_and_holds_no_other_right() {
        let calendar = caller(TokenKind::Calendar, &[]);
        assert_eq!(calendar.may_read_calendar_feed(), Ok(()));
        assert!(calendar.rights().effective().is_empty());
    }

    #[test]
    fn other_tokens_read_the_feed_with_its_scopes_only() {
        let reader = caller(TokenKind::Personal, &["tasks:read", "meetings:read"]);
        assert_eq!(reader.may_read_calendar_feed(), Ok(()));
        let tasks_only = caller(TokenKind::Personal, &["tasks:read"]);
        assert_eq!(
            tasks_only.may_read_calendar_feed(),
            Err(Denied::InsufficientScope {
                needed: Scope::Read(Resource::Meetings)
            })
        );
    }

    #[test]
    fn token_kinds_round_trip_and_have_their_own_prefixes() {
        for kind in TokenKind::ALL {
            assert_eq!(TokenKind::parse(kind.as_str()), Ok(kind));
        }
        assert_eq!(TokenKind::Calendar.prefix(), "clt_cal_");
        assert!(TokenKind::parse("oauth").is_err());
    }
}
