//! A user's authenticator (TOTP): enrolled, confirmed with a first code, checked at sign-in
//! with each time step accepted once, and removed. The secret is stored sealed under the
//! operator key (`vault`).

use chrono::Utc;
use diesel::prelude::*;
use domain::Invalid;
use domain::totp;

use crate::schema::users;
use crate::vault::{Place, Vault};
use crate::{DbConnection, StoreError, now, write_transaction};

/// A user's second factor as they see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TotpStatus {
    /// A secret was issued.
    pub enrolled: bool,
    /// It was confirmed with a code: sign-in asks for one.
    pub confirmed: bool,
}

fn stored(
    conn: &mut DbConnection,
    user_id: i64,
) -> Result<(Option<String>, bool, Option<i64>), StoreError> {
    let (secret, confirmed, last) = users::table
        .filter(users::id.eq(user_id))
        .select((
            users::totp_secret,
            users::totp_confirmed_at,
            users::totp_last_step,
        ))
        .first::<(Option<String>, Option<chrono::NaiveDateTime>, Option<i64>)>(conn)
        .optional()?
        .ok_or(StoreError::NotFound)?;
    Ok((secret, confirmed.is_some(), last))
}

pub fn status(conn: &mut DbConnection, user_id: i64) -> Result<TotpStatus, StoreError> {
    let (secret, confirmed, _) = stored(conn, user_id)?;
    Ok(TotpStatus {
        enrolled: secret.is_some(),
        confirmed,
    })
}

/// Issues a new secret (160 bits) waiting for confirmation, returned base32 this once.
/// A confirmed authenticator must be removed first.
pub fn enrol(conn: &mut DbConnection, vault: &Vault, user_id: i64) -> Result<Vec<u8>, StoreError> {
    write_transaction(conn, |conn| {
        let (_, confirmed, _) = stored(conn, user_id)?;
        if confirmed {
            return Err(StoreError::Conflict(
                "an authenticator is confirmed already; remove it first".into(),
            ));
        }
        let mut secret = vec![0u8; 20];
        rand::RngCore::fill_bytes(&mut rand::rng(), &mut secret);
        diesel::update(users::table.filter(users::id.eq(user_id)))
            .set((
                users::totp_secret.eq(Some(vault.seal(&Place::totp_secret(user_id), &secret)?)),
                users::totp_confirmed_at.eq(None::<chrono::NaiveDateTime>),
                users::totp_last_step.eq(None::<i64>),
            ))
            .execute(conn)?;
        Ok(secret)
    })
}

/// Checks a code against the user's secret, accepting each time step once. `confirmed_only`:
/// only a confirmed authenticator counts (sign-in); otherwise a pending one does too.
fn check(
    conn: &mut DbConnection,
    vault: &Vault,
    user_id: i64,
    code: &str,
    confirmed_only: bool,
) -> Result<bool, StoreError> {
    let (secret, confirmed, last) = stored(conn, user_id)?;
    let Some(sealed) = secret else {
        return Ok(false);
    };
    let secret = vault.open(&Place::totp_secret(user_id), &sealed)?;
    if confirmed_only && !confirmed {
        return Ok(false);
    }
    let unix = u64::try_from(Utc::now().timestamp()).unwrap_or(0);
    let Some(step) = totp::matching_step(&secret, code, unix).and_then(|s| i64::try_from(s).ok())
    else {
        return Ok(false);
    };
    if last.is_some_and(|l| step <= l) {
        return Ok(false);
    }
    // Claim the step: of two requests with the same code, one wins.
    let claimed = diesel::update(
        users::table.filter(users::id.eq(user_id)).filter(
            users::totp_last_step
                .is_null()
                .or(users::totp_last_step.lt(step)),
        ),
    )
    .set(users::totp_last_step.eq(Some(step)))
    .execute(conn)?;
    Ok(claimed == 1)
}

/// A code at sign-in, for a confirmed authenticator.
pub fn verify(
    conn: &mut DbConnection,
    vault: &Vault,
    user_id: i64,
    code: &str,
) -> Result<bool, StoreError> {
    check(conn, vault, user_id, code, true)
}

fn wrong_code() -> StoreError {
    StoreError::Invalid(Invalid::one(
        "code",
        "wrong_code",
        "is not the current code of the authenticator",
    ))
}

/// Confirms a pending authenticator with its first code.
pub fn confirm(
    conn: &mut DbConnection,
    vault: &Vault,
    user_id: i64,
    code: &str,
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        let (secret, confirmed, _) = stored(conn, user_id)?;
        if secret.is_none() {
            return Err(StoreError::Conflict(
                "no authenticator is enrolled; POST /v1/me/totp first".into(),
            ));
        }
        if confirmed {
            return Err(StoreError::Conflict(
                "the authenticator is confirmed already".into(),
            ));
        }
        if !check(conn, vault, user_id, code, false)? {
            return Err(wrong_code());
        }
        diesel::update(users::table.filter(users::id.eq(user_id)))
            .set(users::totp_confirmed_at.eq(Some(now())))
            .execute(conn)?;
        Ok(())
    })
}

/// Removes the authenticator, proven by a current code.
pub fn remove(
    conn: &mut DbConnection,
    vault: &Vault,
    user_id: i64,
    code: &str,
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        let (secret, _, _) = stored(conn, user_id)?;
        if secret.is_none() {
            return Err(StoreError::NotFound);
        }
        if !check(conn, vault, user_id, code, false)? {
            return Err(wrong_code());
        }
        diesel::update(users::table.filter(users::id.eq(user_id)))
            .set((
                users::totp_secret.eq(None::<String>),
                users::totp_confirmed_at.eq(None::<chrono::NaiveDateTime>),
                users::totp_last_step.eq(None::<i64>),
            ))
            .execute(conn)?;
        Ok(())
    })
}
