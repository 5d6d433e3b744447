//! Access tokens as the API shows them, and the caller a valid token stands for.

use chrono::{DateTime, Utc};

use crate::access::{Rights, ScopeSet};
use crate::user::User;

/// A personal access token, without its secret (which is never stored).
#[derive(Debug, Clone, PartialEq)]
pub struct ApiToken {
    pub id: i64,
    pub user_id: i64,
    pub kind: String,
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
    pub scopes: ScopeSet,
}

impl Principal {
    pub fn rights(&self) -> Rights {
        Rights::new(self.user.role, self.scopes.clone())
    }
}
