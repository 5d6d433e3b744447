//! Clientline's storage: one diesel connection type over PostgreSQL and SQLite, the r2d2 pool,
//! embedded migrations, and the repositories. All SQL lives here; no HTTP does.

pub mod accounts;
mod activities;
pub mod activity_dates;
pub mod agenda;
mod bulk;
pub mod calendar;
pub mod companies;
pub mod computed;
pub mod contacts;
mod delivery_queue;
pub mod enquiries;
mod error;
pub mod events;
pub mod feed;
pub mod fields;
mod filter;
pub mod idempotency;
pub mod import;
mod keyset;
mod links;
pub mod meetings;
mod memberships;
pub mod merges;
pub mod oauth;
pub mod oauth_clients;
pub mod pipelined;
pub mod pipelines;
mod placement;
mod pool;
pub mod posts;
mod prepared;
pub mod projects;
mod record;
mod references;
pub mod reminders;
pub mod roles;
pub mod schema;
pub mod search;
pub mod secrets;
pub mod seed;
pub mod signing_keys;
mod tags;
pub mod tasks;
pub mod tokens;
pub mod totp;
pub mod transitions;
pub mod units;
pub mod users;
pub mod vault;
pub mod views;
pub mod webhooks;

pub use error::StoreError;
pub use pool::{Backend, Db, DbConnection, PooledConnection, TransactionError, write_transaction};

use chrono::{DateTime, NaiveDateTime, SubsecRound, Utc};

/// The current time as stored: UTC, truncated to the microseconds PostgreSQL keeps, so that a
/// value read back equals the value written on both backends.
pub(crate) fn now() -> NaiveDateTime {
    Utc::now().naive_utc().trunc_subsecs(6)
}

pub(crate) fn to_utc(stored: NaiveDateTime) -> DateTime<Utc> {
    stored.and_utc()
}

/// Refuses a write whose `If-Match` names another version than the record's.
pub(crate) fn check_version(current: i64, expected: Option<i64>) -> Result<(), StoreError> {
    match expected {
        Some(v) if v != current => Err(StoreError::Stale { current }),
        _ => Ok(()),
    }
}

/// Serialises writes that must see a consistent account (the last admin, the org chart):
/// writing the account row takes its row lock on PostgreSQL until the transaction ends, and
/// SQLite write transactions are serial anyway.
pub(crate) fn lock_account(conn: &mut DbConnection, account_id: i64) -> Result<(), StoreError> {
    use diesel::prelude::*;
    use schema::accounts;
    let touched = diesel::update(accounts::table.filter(accounts::id.eq(account_id)))
        .set(accounts::updated_at.eq(now()))
        .execute(conn)?;
    if touched == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
