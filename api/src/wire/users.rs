//! Team member bodies.

use chrono::{DateTime, Utc};
use domain::Invalid;
use domain::access::Role;
use domain::password::Password;
use domain::user::User;
use domain::values::{Email, Name};
use persistence::roles::RoleChoice;
use persistence::users::{NewUser, UserPatch};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::input::{Parser, validate};
use super::list_of;

/// A team member of the account.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserOut {
    #[schema(example = 1)]
    pub id: i64,
    #[schema(example = "ana@example.com")]
    pub email: String,
    #[schema(example = "Ana Lima")]
    pub name: String,
    /// The name of the role held: `admin`, `member`, `viewer` or a custom role's.
    #[schema(example = "member")]
    pub role: String,
    /// The role held (`/v1/roles/{id}`).
    #[schema(example = 2)]
    pub role_id: i64,
    /// Deactivated members cannot sign in and their tokens stop working.
    pub active: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<User> for UserOut {
    fn from(u: User) -> Self {
        UserOut {
            id: u.id,
            email: u.email,
            name: u.name,
            role: u.role.name,
            role_id: u.role.id,
            active: u.active,
            version: u.version,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

list_of!(UserList, UserOut, "team members");

/// The role a body names: a built-in one by `role`, or any by `role_id`, not both.
fn choice(p: &mut Parser, role: Option<&str>, role_id: Option<i64>) -> Option<RoleChoice> {
    match (role, role_id) {
        (Some(_), Some(_)) => {
            p.check::<()>(
                "role_id",
                Err(domain::validation::ValueError::new(
                    "conflicting",
                    "send `role` or `role_id`, not both",
                )),
            );
            None
        }
        (Some(name), None) => p
            .optional("role", Some(name), Role::parse)
            .map(RoleChoice::Builtin),
        (None, Some(id)) => Some(RoleChoice::Id(id)),
        (None, None) => None,
    }
}

/// A new team member.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserCreate {
    #[validate(email(message = "must be an email address such as ana@example.com"))]
    #[schema(example = "ana@example.com", format = Email)]
    pub email: String,
    #[validate(length(min = 1, max = 200, message = "must be 1 to 200 characters"))]
    #[schema(example = "Ana Lima")]
    #[schema(max_length = 200)]
    pub name: String,
    /// A built-in role: `admin`, `member` or `viewer`; default `member` (unless `role_id`
    /// is sent).
    #[schema(example = "member")]
    #[schema(schema_with = super::schema::role)]
    pub role: Option<String>,
    /// Any role of the account, custom ones too (`/v1/roles`); instead of `role`.
    #[schema(example = 4)]
    pub role_id: Option<i64>,
    /// An initial password for the sign-in page: at least 12 characters, not a common one.
    #[schema(format = Password, min_length = 12)]
    pub password: Option<String>,
}

impl UserCreate {
    pub fn into_new(self) -> Result<NewUser, Invalid> {
        validate(&self)?;
        let mut p = Parser::default();
        let email = p.required("email", &self.email, Email::parse);
        let name = p.required("name", &self.name, Name::parse);
        let role = choice(&mut p, self.role.as_deref(), self.role_id)
            .unwrap_or(RoleChoice::Builtin(Role::Member));
        let password = self
            .password
            .as_deref()
            .and_then(|raw| p.check("password", Password::parse(raw)));
        p.build(match (email, name) {
            (Some(email), Some(name)) => Some(NewUser {
                email,
                name,
                role,
                password,
            }),
            _ => None,
        })
    }
}

/// Changes to a team member. `active: false` deactivates; the last active admin cannot be
/// demoted or deactivated.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    #[schema(max_length = 200)]
    pub name: Option<String>,
    /// A built-in role: `admin`, `member` or `viewer`.
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    #[schema(schema_with = super::schema::role)]
    pub role: Option<String>,
    /// Any role of the account (`/v1/roles`); instead of `role`.
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, example = 4)]
    pub role_id: Option<i64>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

impl UserUpdate {
    pub fn into_patch(self) -> Result<UserPatch, Invalid> {
        let mut p = Parser::default();
        let patch = UserPatch {
            name: p.patch_required("name", self.name.as_deref(), Name::parse),
            role: choice(&mut p, self.role.as_deref(), self.role_id),
            active: self.active,
        };
        p.finish()?;
        Ok(patch)
    }
}

/// The page of a simple list ordered by id.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Records per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A new password for the caller.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// Required when a password is set already.
    #[schema(format = Password)]
    pub current_password: Option<String>,
    /// At least 12 characters, not a common one.
    #[schema(format = Password, min_length = 12)]
    pub new_password: String,
}
