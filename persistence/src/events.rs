//! The outbox: events written in the transaction of the change they describe, read back by
//! the events feed and handed to the webhook queue.
//!
//! Ordering: a poller reads `after=<id>`, so within an account an event must never become
//! visible after one with a higher id. On PostgreSQL, ids come from a sequence and
//! transactions commit in any order, so recording takes the account row's lock (`FOR NO KEY
//! UPDATE`, which plain inserts referencing the account do not wait for) just before the
//! insert and holds it to commit: the account's event-writing commits are serial from there
//! on. Record events last in a transaction, after every other lock. SQLite writers are serial
//! anyway.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::event::{EventType, NewEvent, Outbox, RecordType};
use domain::listing::PageSize;
use domain::webhook::TEST_EVENT_TYPE;
use serde_json::Value;

use crate::delivery_queue;
use crate::pool::on_backend;
use crate::schema::{accounts, events};
use crate::{DbConnection, StoreError, now, to_utc};

/// What [`record`] returns; defined with the queue it feeds.
pub use crate::delivery_queue::Recorded;

/// An event as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub id: i64,
    pub account_id: i64,
    pub event_type: String,
    pub record_type: String,
    pub record_id: i64,
    pub actor_user_id: Option<i64>,
    pub actor_client_id: Option<i64>,
    pub data: Value,
    pub previous: Option<Value>,
    pub occurred_at: DateTime<Utc>,
    /// For `*.merged`: the records merged into this one.
    pub merged_ids: Option<Vec<i64>>,
    /// For a `*.deleted` caused by a merge: the record this one was merged into.
    pub merged_into: Option<i64>,
}

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = events)]
struct EventRow {
    id: i64,
    account_id: i64,
    event_type: String,
    record_type: String,
    record_id: i64,
    actor_user_id: Option<i64>,
    actor_client_id: Option<i64>,
    data: String,
    previous: Option<String>,
    occurred_at: NaiveDateTime,
    merged_ids: Option<String>,
    merged_into: Option<i64>,
}

impl From<EventRow> for Event {
    fn from(r: EventRow) -> Event {
        Event {
            id: r.id,
            account_id: r.account_id,
            event_type: r.event_type,
            record_type: r.record_type,
            record_id: r.record_id,
            actor_user_id: r.actor_user_id,
            actor_client_id: r.actor_client_id,
            data: serde_json::from_str(&r.data).unwrap_or(Value::Null),
            previous: r
                .previous
                .as_deref()
                .and_then(|p| serde_json::from_str(p).ok()),
            occurred_at: to_utc(r.occurred_at),
            merged_ids: r
                .merged_ids
                .as_deref()
                .and_then(|m| serde_json::from_str(m).ok()),
            merged_into: r.merged_into,
        }
    }
}

/// Writes `new` inside the caller's transaction, in order, and queues them for the account's
/// webhooks. Call it last in the transaction (see the module comment).
pub fn record(
    conn: &mut DbConnection,
    account_id: i64,
    outbox: &Outbox<'_>,
    new: Vec<NewEvent>,
) -> Result<Vec<Recorded>, StoreError> {
    if new.is_empty() {
        return Ok(Vec::new());
    }
    lock_stream(conn, account_id)?;
    let at = now();
    let types: Vec<EventType> = new.iter().map(|e| e.event_type).collect();
    let rows: Vec<_> = new
        .into_iter()
        .map(|e| {
            (
                events::account_id.eq(account_id),
                events::event_type.eq(e.event_type.as_str()),
                events::record_type.eq(e.event_type.record_type().as_str()),
                events::record_id.eq(e.record_id),
                events::actor_user_id.eq(outbox.actor.user_id),
                events::actor_client_id.eq(outbox.actor.client_id),
                events::data.eq(e.data.to_string()),
                events::previous.eq(e.previous.map(|p| Value::Object(p).to_string())),
                events::occurred_at.eq(at),
                events::merged_ids.eq(e.merged_ids.map(|m| Value::from(m).to_string())),
                events::merged_into.eq(e.merged_into),
            )
        })
        .collect();
    let mut recorded = Vec::with_capacity(rows.len());
    // SQLite caps the variables of one statement; 11 columns × 500 rows stays well under it.
    for (chunk, types) in rows.chunks(500).zip(types.chunks(500)) {
        let ids: Vec<i64> = on_backend!(conn, |c| diesel::insert_into(events::table)
            .values(chunk)
            .returning(events::id)
            .get_results(c))?;
        recorded.extend(
            ids.into_iter()
                .zip(types)
                .map(|(id, t)| Recorded { id, event_type: *t }),
        );
    }
    // Multi-row RETURNING lists rows in insertion order on both backends; sort anyway, the
    // queue relies on it.
    recorded.sort_by_key(|r| r.id);
    delivery_queue::enqueue(conn, account_id, &recorded)?;
    Ok(recorded)
}

/// Writes one event; see [`record`].
pub fn record_one(
    conn: &mut DbConnection,
    account_id: i64,
    outbox: &Outbox<'_>,
    event: NewEvent,
) -> Result<(), StoreError> {
    record(conn, account_id, outbox, vec![event]).map(|_| ())
}

pub(crate) fn lock_stream(conn: &mut DbConnection, account_id: i64) -> Result<(), StoreError> {
    if let DbConnection::Postgresql(pg) = conn {
        accounts::table
            .filter(accounts::id.eq(account_id))
            .select(accounts::id)
            .for_no_key_update()
            .first::<i64>(pg)
            .optional()?
            .ok_or(StoreError::NotFound)?;
    }
    Ok(())
}

/// Filters of the events feed.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// Only events with a higher id.
    pub after: Option<i64>,
    /// Only these types; empty: every type.
    pub types: Vec<EventType>,
    /// Only events about these kinds of record; empty: every kind.
    pub record_types: Vec<RecordType>,
    pub record_id: Option<i64>,
}

/// The account's events after the cursor, oldest first, and whether more follow. Webhook
/// test pings are events only for their delivery: the feed leaves them out.
pub fn list(
    conn: &mut DbConnection,
    account_id: i64,
    filter: &EventFilter,
    size: PageSize,
) -> Result<(Vec<Event>, bool), StoreError> {
    let mut query = events::table
        .filter(events::account_id.eq(account_id))
        .filter(events::event_type.ne(TEST_EVENT_TYPE))
        .select(EventRow::as_select())
        .order(events::id.asc())
        .into_boxed();
    if let Some(after) = filter.after {
        query = query.filter(events::id.gt(after));
    }
    if !filter.types.is_empty() {
        let names: Vec<&'static str> = filter.types.iter().map(|t| t.as_str()).collect();
        query = query.filter(events::event_type.eq_any(names));
    }
    if !filter.record_types.is_empty() {
        let names: Vec<&'static str> = filter.record_types.iter().map(|t| t.as_str()).collect();
        query = query.filter(events::record_type.eq_any(names));
    }
    if let Some(record_id) = filter.record_id {
        query = query.filter(events::record_id.eq(record_id));
    }
    let mut rows: Vec<EventRow> = query.limit(size.get() + 1).load(conn)?;
    let more = rows.len() as i64 > size.get();
    rows.truncate(size.get() as usize);
    Ok((rows.into_iter().map(Event::from).collect(), more))
}

/// One event of the account.
pub fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Event, StoreError> {
    events::table
        .filter(events::account_id.eq(account_id))
        .filter(events::id.eq(id))
        .filter(events::event_type.ne(TEST_EVENT_TYPE))
        .select(EventRow::as_select())
        .first::<EventRow>(conn)
        .optional()?
        .map(Event::from)
        .ok_or(StoreError::NotFound)
}

/// Events by id, for the webhook worker (any account).
pub fn by_ids(conn: &mut DbConnection, ids: &[i64]) -> Result<Vec<Event>, StoreError> {
    let rows: Vec<EventRow> = events::table
        .filter(events::id.eq_any(ids))
        .select(EventRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(Event::from).collect())
}

/// Deletes events that occurred before `cutoff` (with their finished deliveries); returns
/// how many. Deletes in batches so that no transaction holds SQLite's write lock for long.
pub fn purge_before(conn: &mut DbConnection, cutoff: DateTime<Utc>) -> Result<usize, StoreError> {
    let cutoff = cutoff.naive_utc();
    let mut total = 0;
    loop {
        let ids: Vec<i64> = events::table
            .filter(events::occurred_at.lt(cutoff))
            .select(events::id)
            .order(events::id.asc())
            .limit(1000)
            .load(conn)?;
        if ids.is_empty() {
            return Ok(total);
        }
        total += crate::write_transaction(conn, |conn| {
            delivery_queue::forget_events(conn, &ids)?;
            Ok::<_, StoreError>(
                diesel::delete(events::table.filter(events::id.eq_any(&ids))).execute(conn)?,
            )
        })?;
    }
}
