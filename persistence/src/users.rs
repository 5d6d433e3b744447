//! Team members: list, create, update, deactivate, with the last-admin rule enforced under a
//! per-account lock.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::Invalid;
use domain::access::Role;
use domain::listing::{Page, PageSize, Position};
use domain::password::Password;
use domain::user::{User, check_admin_remains};
use domain::values::{Email, Name};

use crate::keyset::{id_position, into_page};
use crate::roles::{RoleChoice, RoleRow};
use crate::schema::{roles, users};
use crate::secrets;
use crate::{
    DbConnection, StoreError, check_version, lock_account, now, to_utc, write_transaction,
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub(crate) struct UserRow {
    id: i64,
    account_id: i64,
    email: String,
    name: String,
    active: bool,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

/// A user as read with the role they hold (`users` joined with `roles`).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub(crate) struct UserWithRole {
    #[diesel(embed)]
    pub(crate) user: UserRow,
    #[diesel(embed)]
    pub(crate) role: RoleRow,
}

impl From<UserWithRole> for User {
    fn from(UserWithRole { user: row, role }: UserWithRole) -> User {
        User {
            id: row.id,
            account_id: row.account_id,
            email: row.email,
            name: row.name,
            role: role.user_role(),
            active: row.active,
            version: row.version,
            created_at: to_utc(row.created_at),
            updated_at: to_utc(row.updated_at),
        }
    }
}

pub struct NewUser {
    pub email: Email,
    pub name: Name,
    pub role: RoleChoice,
    /// An initial password for the sign-in page.
    pub password: Option<Password>,
}

#[derive(Debug, Clone, Default)]
pub struct UserPatch {
    pub name: Option<Name>,
    pub role: Option<RoleChoice>,
    pub active: Option<bool>,
}

/// The old `role` column: the built-in role's name, or `viewer` for a custom role, the
/// least any reader of the column would grant. `role_id` is what counts.
fn legacy_role(builtin: Option<Role>) -> &'static str {
    builtin.unwrap_or(Role::Viewer).as_str()
}

/// Inserts a user inside the caller's transaction.
pub(crate) fn insert(
    conn: &mut DbConnection,
    account_id: i64,
    user: &NewUser,
) -> Result<User, StoreError> {
    let taken = users::table
        .filter(users::account_id.eq(account_id))
        .filter(users::email_normalized.eq(user.email.normalized()))
        .select(users::id)
        .first::<i64>(conn)
        .optional()?;
    if taken.is_some() {
        return Err(StoreError::Conflict(format!(
            "a team member with email {} already exists",
            user.email.as_str()
        )));
    }
    let (role_id, builtin) = crate::roles::resolve(conn, account_id, user.role)?;
    let at = now();
    let password_hash = user
        .password
        .as_ref()
        .map(secrets::hash_password)
        .transpose()
        .map_err(StoreError::Task)?;
    let id: i64 = diesel::insert_into(users::table)
        .values((
            users::password_hash.eq(password_hash),
            users::account_id.eq(account_id),
            users::email.eq(user.email.as_str()),
            users::email_normalized.eq(user.email.normalized()),
            users::name.eq(user.name.as_str()),
            users::role.eq(legacy_role(builtin)),
            users::role_id.eq(role_id),
            users::active.eq(true),
            users::version.eq(1),
            users::created_at.eq(at),
            users::updated_at.eq(at),
        ))
        .returning(users::id)
        .get_result(conn)?;
    find(conn, account_id, id)
}

pub fn create(
    conn: &mut DbConnection,
    account_id: i64,
    user: &NewUser,
) -> Result<User, StoreError> {
    write_transaction(conn, |conn| insert(conn, account_id, user))
}

pub fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<User, StoreError> {
    find(conn, account_id, id)
}

pub fn update(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    patch: UserPatch,
) -> Result<User, StoreError> {
    write_transaction(conn, |conn| {
        let patch = patch.clone();
        lock_account(conn, account_id)?;
        let current = find(conn, account_id, id)?;
        check_version(current.version, expected_version)?;
        let (role_id, builtin) = match patch.role {
            Some(choice) => crate::roles::resolve(conn, account_id, choice)?,
            None => (current.role.id, current.role.builtin),
        };
        let active = patch.active.unwrap_or(current.active);
        let other_admins = users::table
            .inner_join(roles::table)
            .filter(users::account_id.eq(account_id))
            .filter(roles::builtin.eq(Role::Admin.as_str()))
            .filter(users::active.eq(true))
            .filter(users::id.ne(id))
            .count()
            .get_result::<i64>(conn)?;
        check_admin_remains(&current, builtin == Some(Role::Admin), active, other_admins)
            .map_err(|_| StoreError::LastAdmin)?;
        let name = patch.name.map_or(current.name.clone(), Name::into_inner);
        if name == current.name && role_id == current.role.id && active == current.active {
            // Nothing changes: no new version.
            return Ok(current);
        }
        diesel::update(
            users::table
                .filter(users::id.eq(id))
                .filter(users::account_id.eq(account_id)),
        )
        .set((
            users::name.eq(name),
            users::role.eq(legacy_role(builtin)),
            users::role_id.eq(role_id),
            users::active.eq(active),
            users::version.eq(current.version + 1),
            users::updated_at.eq(now()),
        ))
        .execute(conn)?;
        find(conn, account_id, id)
    })
}

pub fn list(
    conn: &mut DbConnection,
    account_id: i64,
    size: PageSize,
    after: Option<&Position>,
) -> Result<Page<User>, StoreError> {
    let mut query = users::table
        .inner_join(roles::table)
        .filter(users::account_id.eq(account_id))
        .select(UserWithRole::as_select())
        .order(users::id.asc())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(users::id.gt(after.id));
    }
    let rows: Vec<UserWithRole> = query.limit(size.get() + 1).load(conn)?;
    Ok(into_page(rows, size, |row| id_position(row.user.id)))
}

pub(crate) fn find(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<User, StoreError> {
    users::table
        .inner_join(roles::table)
        .filter(users::id.eq(id))
        .filter(users::account_id.eq(account_id))
        .select(UserWithRole::as_select())
        .first::<UserWithRole>(conn)
        .optional()?
        .map(User::from)
        .ok_or(StoreError::NotFound)
}

/// Sets a user's password. When one is set already, `current` must be it.
pub fn change_password(
    conn: &mut DbConnection,
    account_id: i64,
    user_id: i64,
    current: Option<&str>,
    new: &Password,
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        let stored: Option<String> = users::table
            .filter(users::id.eq(user_id))
            .filter(users::account_id.eq(account_id))
            .select(users::password_hash)
            .first::<Option<String>>(conn)
            .optional()?
            .ok_or(StoreError::NotFound)?;
        if let Some(stored) = stored {
            match current {
                None => {
                    return Err(StoreError::Invalid(Invalid::one(
                        "current_password",
                        "required",
                        "send your current password to change it",
                    )));
                }
                Some(candidate) if !secrets::verify_password(&stored, candidate) => {
                    return Err(StoreError::Invalid(Invalid::one(
                        "current_password",
                        "incorrect",
                        "is not your current password",
                    )));
                }
                Some(_) => {}
            }
        }
        let hash = secrets::hash_password(new).map_err(StoreError::Task)?;
        diesel::update(users::table.filter(users::id.eq(user_id)))
            .set((
                users::password_hash.eq(Some(hash)),
                users::version.eq(users::version + 1),
                users::updated_at.eq(now()),
            ))
            .execute(conn)?;
        Ok(())
    })
}
