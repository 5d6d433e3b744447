//! Idempotency keys: the first answer to a POST, kept so that a retry with the same key gets
//! it again. A run claims its key race-free (insert if absent, else read what is there), then
//! completes the row with its answer or releases it when the answer is not to be kept. The
//! answer's body arrives sealed by the HTTP layer: nothing here sees it in clear.

use chrono::{DateTime, Duration, NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;
use rand::RngCore;

use crate::pool::on_backend;
use crate::schema::idempotency_keys as keys;
use crate::{DbConnection, StoreError, to_utc, write_transaction};

/// Which key: the account, the SHA-256 digest of the token that sent it, and the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyId {
    pub account_id: i64,
    pub token_digest: String,
    pub key: String,
}

/// A kept answer, as the HTTP layer handed it over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAnswer {
    pub status: u16,
    /// JSON list of `[name, value]`.
    pub headers: String,
    /// Sealed; opaque here.
    pub body: String,
}

/// What claiming a key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claimed {
    /// The key is this run's now: run the request, then `complete` or `release` with `run_id`.
    Started { run_id: String },
    /// The same request ran before and this was its answer.
    Replay(StoredAnswer),
    /// The key was used for another request.
    Mismatch,
    /// The same request is still running, since `since`.
    InFlight { since: DateTime<Utc> },
}

/// How long rows are kept and held.
#[derive(Debug, Clone, Copy)]
pub struct Terms {
    /// A completed key answers retries this long after it was first used.
    pub ttl: Duration,
    /// A row in flight longer than this is abandoned and may be taken over.
    pub lease: Duration,
}

#[derive(Insertable)]
#[diesel(table_name = keys)]
struct NewRow<'a> {
    account_id: i64,
    token_digest: &'a str,
    idempotency_key: &'a str,
    request_digest: &'a str,
    run_id: &'a str,
    locked_at: NaiveDateTime,
    expires_at: NaiveDateTime,
    created_at: NaiveDateTime,
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = keys)]
struct Row {
    request_digest: String,
    locked_at: NaiveDateTime,
    response_status: Option<i32>,
    response_headers: Option<String>,
    response_body: Option<String>,
}

fn stored(t: DateTime<Utc>) -> NaiveDateTime {
    t.naive_utc().trunc_subsecs(6)
}

fn new_run_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

macro_rules! this_key {
    ($id:expr) => {
        keys::table
            .filter(keys::account_id.eq($id.account_id))
            .filter(keys::token_digest.eq(&$id.token_digest))
            .filter(keys::idempotency_key.eq(&$id.key))
    };
}

/// Claims `id` for a request whose digest is `request_digest`, at `now`. An expired key, and
/// one whose run was abandoned (in flight past the lease), are taken over as if absent.
pub fn claim(
    conn: &mut DbConnection,
    id: &KeyId,
    request_digest: &str,
    now: DateTime<Utc>,
    terms: Terms,
) -> Result<Claimed, StoreError> {
    let run_id = new_run_id();
    let at = stored(now);
    let expires = stored(now + terms.ttl);
    let abandoned = stored(now - terms.lease);
    // A row can vanish between the insert and the read (its run released it, on another
    // connection); then the insert may succeed on a second try.
    for _ in 0..3 {
        let found = write_transaction(conn, |conn| -> Result<Option<Claimed>, StoreError> {
            let row = NewRow {
                account_id: id.account_id,
                token_digest: &id.token_digest,
                idempotency_key: &id.key,
                request_digest,
                run_id: &run_id,
                locked_at: at,
                expires_at: expires,
                created_at: at,
            };
            let inserted = on_backend!(conn, |c| diesel::insert_into(keys::table)
                .values(&row)
                .on_conflict_do_nothing()
                .execute(c))?;
            if inserted == 1 {
                return Ok(Some(Claimed::Started {
                    run_id: run_id.clone(),
                }));
            }
            // The WHERE is evaluated again on the row's latest version, so of two runs taking
            // over the same row only one matches.
            let taken = diesel::update(
                this_key!(id).filter(
                    keys::expires_at.le(at).or(keys::response_status
                        .is_null()
                        .and(keys::locked_at.le(abandoned))),
                ),
            )
            .set((
                keys::request_digest.eq(request_digest),
                keys::run_id.eq(&run_id),
                keys::locked_at.eq(at),
                keys::expires_at.eq(expires),
                keys::created_at.eq(at),
                keys::response_status.eq(None::<i32>),
                keys::response_headers.eq(None::<String>),
                keys::response_body.eq(None::<String>),
            ))
            .execute(conn)?;
            if taken == 1 {
                return Ok(Some(Claimed::Started {
                    run_id: run_id.clone(),
                }));
            }
            let existing: Option<Row> = this_key!(id)
                .select(Row::as_select())
                .first(conn)
                .optional()?;
            Ok(existing.map(|row| {
                if row.request_digest != request_digest {
                    return Claimed::Mismatch;
                }
                match (row.response_status, row.response_headers, row.response_body) {
                    (Some(status), Some(headers), Some(body)) => Claimed::Replay(StoredAnswer {
                        status: u16::try_from(status).unwrap_or(500),
                        headers,
                        body,
                    }),
                    _ => Claimed::InFlight {
                        since: to_utc(row.locked_at),
                    },
                }
            }))
        })?;
        if let Some(claimed) = found {
            return Ok(claimed);
        }
    }
    Ok(Claimed::InFlight { since: now })
}

/// Keeps `answer` for the run `run_id`. Returns false when the run no longer holds the key
/// (its lease ran out and another run took the key over).
pub fn complete(
    conn: &mut DbConnection,
    id: &KeyId,
    run_id: &str,
    answer: &StoredAnswer,
) -> Result<bool, StoreError> {
    let updated = diesel::update(
        this_key!(id)
            .filter(keys::run_id.eq(run_id))
            .filter(keys::response_status.is_null()),
    )
    .set((
        keys::response_status.eq(Some(i32::from(answer.status))),
        keys::response_headers.eq(Some(&answer.headers)),
        keys::response_body.eq(Some(&answer.body)),
    ))
    .execute(conn)?;
    Ok(updated == 1)
}

/// Gives the key up after an answer that is not kept, so that a retry runs the request again.
pub fn release(conn: &mut DbConnection, id: &KeyId, run_id: &str) -> Result<(), StoreError> {
    diesel::delete(
        this_key!(id)
            .filter(keys::run_id.eq(run_id))
            .filter(keys::response_status.is_null()),
    )
    .execute(conn)?;
    Ok(())
}

/// Deletes the keys that expired by `now`; returns how many.
pub fn purge_expired(conn: &mut DbConnection, now: DateTime<Utc>) -> Result<usize, StoreError> {
    Ok(diesel::delete(keys::table.filter(keys::expires_at.le(stored(now)))).execute(conn)?)
}
