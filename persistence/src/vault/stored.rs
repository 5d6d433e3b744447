//! The columns that hold sealed secrets, and the two passes over all of them: sealing what a
//! database from before sealing still holds in plaintext (at every start, after the
//! migrations), and re-sealing everything under a new operator key (rotation).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use super::{Place, Vault};
use crate::schema::{signing_keys, users, webhooks};
use crate::{DbConnection, StoreError, write_transaction};

/// How many values a pass wrote, per column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Resealed {
    pub webhook_secrets: usize,
    pub totp_secrets: usize,
    pub signing_keys: usize,
}

impl Resealed {
    pub fn total(&self) -> usize {
        self.webhook_secrets + self.totp_secrets + self.signing_keys
    }
}

enum Row {
    Webhook(i64),
    User(i64),
    SigningKey(String),
}

struct Change {
    row: Row,
    sealed: String,
}

/// The new stored form of one value, if it needs one. A plaintext value (from before
/// sealing) is read with `legacy`; a sealed one must open with `from`, or the pass fails.
fn next_value(
    place: &Place,
    stored: &str,
    legacy: impl Fn(&str) -> Option<Vec<u8>>,
    from: &Vault,
    to: &Vault,
    reseal_sealed: bool,
) -> Result<Option<String>, StoreError> {
    let plaintext = if Vault::is_sealed(stored) {
        let opened = from.open(place, stored)?;
        if !reseal_sealed {
            return Ok(None);
        }
        opened
    } else {
        legacy(stored).ok_or_else(|| {
            StoreError::Task(format!("{place} holds neither a sealed value nor a secret"))
        })?
    };
    Ok(Some(to.seal(place, &plaintext)?))
}

fn changes(
    conn: &mut DbConnection,
    from: &Vault,
    to: &Vault,
    reseal_sealed: bool,
) -> Result<Vec<Change>, StoreError> {
    let mut out = Vec::new();
    let secrets: Vec<(i64, String)> = webhooks::table
        .select((webhooks::id, webhooks::secret))
        .order(webhooks::id)
        .load(conn)?;
    for (id, stored) in secrets {
        let place = Place::webhook_secret(id);
        let legacy = |s: &str| Some(s.as_bytes().to_vec());
        if let Some(sealed) = next_value(&place, &stored, legacy, from, to, reseal_sealed)? {
            out.push(Change {
                row: Row::Webhook(id),
                sealed,
            });
        }
    }
    let totp: Vec<(i64, Option<String>)> = users::table
        .filter(users::totp_secret.is_not_null())
        .select((users::id, users::totp_secret))
        .order(users::id)
        .load(conn)?;
    for (id, stored) in totp {
        let Some(stored) = stored else { continue };
        let place = Place::totp_secret(id);
        if let Some(sealed) = next_value(
            &place,
            &stored,
            domain::totp::from_base32,
            from,
            to,
            reseal_sealed,
        )? {
            out.push(Change {
                row: Row::User(id),
                sealed,
            });
        }
    }
    let keys: Vec<(String, String)> = signing_keys::table
        .select((signing_keys::kid, signing_keys::private_key))
        .order(signing_keys::id)
        .load(conn)?;
    for (kid, stored) in keys {
        let place = Place::signing_key(&kid);
        let legacy = |s: &str| STANDARD.decode(s).ok();
        if let Some(sealed) = next_value(&place, &stored, legacy, from, to, reseal_sealed)? {
            out.push(Change {
                row: Row::SigningKey(kid),
                sealed,
            });
        }
    }
    Ok(out)
}

fn apply(conn: &mut DbConnection, changes: Vec<Change>) -> Result<Resealed, StoreError> {
    let mut done = Resealed::default();
    for change in changes {
        match change.row {
            Row::Webhook(id) => {
                diesel::update(webhooks::table.filter(webhooks::id.eq(id)))
                    .set(webhooks::secret.eq(change.sealed))
                    .execute(conn)?;
                done.webhook_secrets += 1;
            }
            Row::User(id) => {
                diesel::update(users::table.filter(users::id.eq(id)))
                    .set(users::totp_secret.eq(Some(change.sealed)))
                    .execute(conn)?;
                done.totp_secrets += 1;
            }
            Row::SigningKey(kid) => {
                diesel::update(signing_keys::table.filter(signing_keys::kid.eq(kid)))
                    .set(signing_keys::private_key.eq(change.sealed))
                    .execute(conn)?;
                done.signing_keys += 1;
            }
        }
    }
    Ok(done)
}

/// Keeps other writers of these columns out until the pass commits (PostgreSQL; SQLite's
/// write transaction is exclusive anyway), so no value is written under the old key meanwhile.
fn lock_columns(conn: &mut DbConnection) -> Result<(), StoreError> {
    if let DbConnection::Postgresql(_) = conn {
        conn.batch_execute("LOCK TABLE webhooks, users, signing_keys IN EXCLUSIVE MODE")?;
    }
    Ok(())
}

/// Seals every secret still in plaintext, and checks that every sealed one opens with
/// `vault`: a wrongly configured key stops the start here rather than at the first delivery.
/// Writes (in one transaction) only when something is in plaintext.
pub fn seal_plaintext(conn: &mut DbConnection, vault: &Vault) -> Result<Resealed, StoreError> {
    if changes(conn, vault, vault, false)?.is_empty() {
        return Ok(Resealed::default());
    }
    write_transaction(conn, |conn| {
        lock_columns(conn)?;
        let changes = changes(conn, vault, vault, false)?;
        apply(conn, changes)
    })
}

/// Opens every secret with `from` and seals it again with `to`, in one transaction: either
/// every value is under the new key afterwards, or none is.
pub fn reseal(conn: &mut DbConnection, from: &Vault, to: &Vault) -> Result<Resealed, StoreError> {
    write_transaction(conn, |conn| {
        lock_columns(conn)?;
        let changes = changes(conn, from, to, true)?;
        apply(conn, changes)
    })
}
