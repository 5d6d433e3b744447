//! Accounts: created with their first admin and that admin's first token.

use diesel::prelude::*;
use domain::access::{Role, Scope, ScopeSet};
use domain::password::Password;
use domain::token::ApiToken;
use domain::user::{Account, User};
use domain::values::{Email, Label, Name};

use crate::schema::accounts;
use crate::users::{self, NewUser};
use crate::{DbConnection, StoreError, now, to_utc, tokens, write_transaction};

/// A new account, its admin, and the admin's token with the secret shown this once.
pub struct CreatedAccount {
    pub account: Account,
    pub admin: User,
    pub token: ApiToken,
    pub secret: String,
}

pub fn create(
    conn: &mut DbConnection,
    name: &Label,
    admin_email: &Email,
    admin_name: &Name,
    admin_password: Option<&Password>,
) -> Result<CreatedAccount, StoreError> {
    write_transaction(conn, |conn| {
        insert(conn, name, admin_email, admin_name, admin_password)
    })
}

/// On a database without any account, creates the default one; `None` when accounts exist.
/// On PostgreSQL the table lock makes replicas that start together create it only once.
pub fn create_default_if_empty(
    conn: &mut DbConnection,
) -> Result<Option<CreatedAccount>, StoreError> {
    write_transaction(conn, |conn| {
        if let DbConnection::Postgresql(_) = conn {
            diesel::sql_query("LOCK TABLE accounts IN SHARE ROW EXCLUSIVE MODE").execute(conn)?;
        }
        let existing: i64 = accounts::table.count().get_result(conn)?;
        if existing > 0 {
            return Ok(None);
        }
        let name = Label::from_stored("Default account".to_owned());
        let email = Email::from_stored("admin@example.com".to_owned());
        let admin = Name::from_stored("Admin".to_owned());
        insert(conn, &name, &email, &admin, None).map(Some)
    })
}

/// The id of the only account, when there is exactly one.
pub fn sole(conn: &mut DbConnection) -> Result<Option<i64>, StoreError> {
    let ids: Vec<i64> = accounts::table.select(accounts::id).limit(2).load(conn)?;
    Ok(match ids.as_slice() {
        [only] => Some(*only),
        _ => None,
    })
}

pub fn get(conn: &mut DbConnection, id: i64) -> Result<Account, StoreError> {
    accounts::table
        .filter(accounts::id.eq(id))
        .select((accounts::id, accounts::name, accounts::created_at))
        .first::<(i64, String, chrono::NaiveDateTime)>(conn)
        .optional()?
        .map(|(id, name, created_at)| Account {
            id,
            name,
            created_at: to_utc(created_at),
        })
        .ok_or(StoreError::NotFound)
}

fn insert(
    conn: &mut DbConnection,
    name: &Label,
    admin_email: &Email,
    admin_name: &Name,
    admin_password: Option<&Password>,
) -> Result<CreatedAccount, StoreError> {
    let at = now();
    let account_id: i64 = diesel::insert_into(accounts::table)
        .values((
            accounts::name.eq(name.as_str()),
            accounts::created_at.eq(at),
            accounts::updated_at.eq(at),
        ))
        .returning(accounts::id)
        .get_result(conn)?;
    crate::roles::create_builtins(conn, account_id)?;
    let admin = users::insert(
        conn,
        account_id,
        &NewUser {
            email: admin_email.clone(),
            name: admin_name.clone(),
            role: crate::roles::RoleChoice::Builtin(Role::Admin),
            password: admin_password.cloned(),
        },
    )?;
    crate::pipelines::create_defaults(conn, account_id)?;
    let mut scopes = ScopeSet::default();
    scopes.insert(Scope::Admin);
    let (token, secret) = tokens::create(
        conn,
        account_id,
        &tokens::NewToken {
            kind: domain::token::TokenKind::Personal,
            origins: &[],
            user_id: admin.id,
            name: "First admin token",
            scopes: &scopes,
            expires_at: None,
        },
    )?;
    Ok(CreatedAccount {
        account: get(conn, account_id)?,
        admin,
        token,
        secret,
    })
}
