//! The outbox: events written in the transaction of the change they describe, published to
//! the account's feed in commit order, read back by the events feed and handed to the
//! webhook queue.
//!
//! # The feed's guarantee, and how it holds without queueing writers
//!
//! A poller reads `GET /v1/events?after=<id>` with the id of the last event it processed.
//! It must never miss an event, nor get one twice. Row ids cannot be the feed's order on
//! PostgreSQL: they are taken from a sequence during the transaction, and transactions commit
//! in any order, so an event with a lower id can become visible after a poller has moved past
//! it. (Until issue 14 every event-writing commit of an account waited for a lock on the
//! account row so that ids committed in order; one account's writes queued behind each
//! other's WAL flush.)
//!
//! Instead, an event's public id is its **feed position**, given after its transaction has
//! committed by a **publisher** ([`publish`]):
//!
//! 1. A change inserts its events with no position, in its own transaction, taking no lock
//!    beyond its rows. Writers never wait for each other here.
//! 2. A publisher transaction first locks the one row of `event_feed_head` (`FOR UPDATE`),
//!    then reads the events that have no position, oldest row first, gives them the next
//!    positions in that order, moves the head past them, queues their webhook deliveries,
//!    and commits. The webhook worker publishes before each claim, and a feed read publishes
//!    first when anything is waiting, so a poller sees every event committed before its
//!    request (read-your-writes).
//!
//! Proof of "none skipped, none twice":
//! - *Publishers are serial*, and each sees all that came before it: the head's row lock is
//!   held to commit, and under READ COMMITTED the statement that reads unpublished events
//!   takes its snapshot after the lock was granted, so after the previous publisher's commit.
//!   Hence positions only grow from one publisher to the next, and no event is given a
//!   position twice (the next publisher sees it as published; the first cannot see it twice).
//! - *What a reader sees is a prefix.* A reader's snapshot either includes a publisher's
//!   commit or not, all of it (one transaction). If it includes publisher k+1, it includes
//!   publisher k, which committed before k+1 was granted the lock. So the positions visible to
//!   any reader are exactly those of publishers 1..k for some k: no visible position has an
//!   invisible one below it. (Positions come from the head, not from a sequence: a publisher
//!   that rolls back gives its positions back unseen, and the next one gives them again.)
//! - Therefore a poller that has read up to position p (every visible position ≤ p) will only
//!   ever see new events above p: none skipped. And it asks for positions above p: none twice.
//!
//! On SQLite one transaction writes at a time, so `record` gives positions at once (moving
//! the head in the same transaction) and no event is ever waiting.
//!
//! An event's row `id` stays its storage key: webhook deliveries refer to it.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::event::{EventType, NewEvent, Outbox, RecordType};
use domain::listing::PageSize;
use domain::webhook::TEST_EVENT_TYPE;
use serde_json::Value;

use crate::pool::on_backend;
use crate::schema::{event_feed_head, events};
use crate::{DbConnection, StoreError, now, to_utc};
use crate::{bulk, delivery_queue};

/// What [`record`] returns; defined with the queue it feeds.
pub use crate::delivery_queue::Recorded;

/// An event as stored; defined with the events it was made from.
pub use domain::event::Event;

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = events)]
struct EventRow {
    id: i64,
    position: Option<i64>,
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
            // Only published events are read back (by the feed, by position; by the webhook
            // worker, whose deliveries are queued when their event is published).
            id: r.position.unwrap_or_default(),
            row_id: r.id,
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

/// Writes `new` inside the caller's transaction, in order, with their entries in the news
/// feed ([`crate::feed::record`]). On SQLite they are published at once (positions given,
/// webhook deliveries queued); on PostgreSQL the publisher does that after commit (see the
/// module comment). Takes no lock beyond the rows it inserts.
pub fn record(
    conn: &mut DbConnection,
    account_id: i64,
    outbox: &Outbox<'_>,
    new: Vec<NewEvent>,
) -> Result<(), StoreError> {
    if new.is_empty() {
        return Ok(());
    }
    let count = new.len() as i64;
    // SQLite: this transaction is the only writer, so it publishes its own events.
    let first_position = match conn {
        DbConnection::Sqlite(_) => Some(advance_head(conn, count)? - count + 1),
        DbConnection::Postgresql(_) => None,
    };
    let at = now();
    crate::feed::record(conn, account_id, outbox.actor, &new, at)?;
    crate::memberships::keep(conn, account_id, &new)?;
    let types: Vec<EventType> = new.iter().map(|e| e.event_type).collect();
    let rows: Vec<_> = new
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
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
                events::position.eq(first_position.map(|p| p + i as i64)),
            )
        })
        .collect();
    let DbConnection::Sqlite(c) = conn else {
        // PostgreSQL: the publisher reads them back; nothing to return. One COPY.
        bulk::insert_all!(conn, events::table, &rows, 500);
        return Ok(());
    };
    let mut recorded = Vec::with_capacity(rows.len());
    // SQLite caps the variables of one statement; 12 columns × 500 rows stays well under it.
    for (chunk, types) in rows.chunks(500).zip(types.chunks(500)) {
        let ids: Vec<i64> = diesel::insert_into(events::table)
            .values(chunk)
            .returning(events::id)
            .get_results(c)?;
        recorded.extend(
            ids.into_iter()
                .zip(types)
                .map(|(id, t)| Recorded { id, event_type: *t }),
        );
    }
    // Multi-row RETURNING lists rows in insertion order; sort anyway, the queue relies on it.
    recorded.sort_by_key(|r| r.id);
    delivery_queue::enqueue(conn, account_id, &recorded)?;
    Ok(())
}

/// Writes one event; see [`record`].
pub fn record_one(
    conn: &mut DbConnection,
    account_id: i64,
    outbox: &Outbox<'_>,
    event: NewEvent,
) -> Result<(), StoreError> {
    record(conn, account_id, outbox, vec![event])
}

/// Moves the feed's head `count` positions on, locking it to this transaction's end (on
/// PostgreSQL; SQLite's writer is alone anyway). Returns the new head: the last position
/// given.
fn advance_head(conn: &mut DbConnection, count: i64) -> Result<i64, StoreError> {
    Ok(on_backend!(conn, |c| diesel::update(
        event_feed_head::table
    )
    .set(event_feed_head::position.eq(event_feed_head::position + count))
    .returning(event_feed_head::position)
    .get_result::<i64>(c))?)
}

/// How many events one publisher transaction publishes at most.
pub(crate) const PUBLISH_BATCH: usize = 2_000;

/// Publishes every event that has committed without a position, in batches, each batch in
/// its own transaction (see the module comment for why this keeps the feed's guarantee).
/// Returns how many it published. Cheap when nothing waits: one index probe.
pub fn publish(conn: &mut DbConnection) -> Result<usize, StoreError> {
    let mut total = 0;
    loop {
        if !any_unpublished(conn)? {
            return Ok(total);
        }
        let done = crate::write_transaction(conn, publish_batch)?;
        total += done;
        if done == 0 {
            return Ok(total);
        }
    }
}

fn any_unpublished(conn: &mut DbConnection) -> Result<bool, StoreError> {
    Ok(events::table
        .filter(events::position.is_null())
        .select(events::id)
        .first::<i64>(conn)
        .optional()?
        .is_some())
}

/// One publisher transaction's work, inside the caller's transaction: lock the head, give
/// the oldest unpublished events their positions, queue their deliveries. Returns how many.
pub(crate) fn publish_batch(conn: &mut DbConnection) -> Result<usize, StoreError> {
    // The lock first: the statement below then reads with a snapshot taken after it.
    let head: i64 = match conn {
        DbConnection::Postgresql(pg) => event_feed_head::table
            .select(event_feed_head::position)
            .for_update()
            .first(pg)?,
        DbConnection::Sqlite(lite) => event_feed_head::table
            .select(event_feed_head::position)
            .first(lite)?,
    };
    let waiting: Vec<(i64, i64, String)> = events::table
        .filter(events::position.is_null())
        .select((events::id, events::account_id, events::event_type))
        .order(events::id.asc())
        .limit(PUBLISH_BATCH as i64)
        .load(conn)?;
    if waiting.is_empty() {
        return Ok(0);
    }
    let ids: Vec<i64> = waiting.iter().map(|(id, _, _)| *id).collect();
    match conn {
        DbConnection::Postgresql(pg) => {
            // One statement for the batch: each id gets the head plus its rank.
            diesel::sql_query(
                "UPDATE events SET position = $1 + w.rank \
                 FROM unnest($2::bigint[]) WITH ORDINALITY AS w(id, rank) \
                 WHERE events.id = w.id",
            )
            .bind::<diesel::sql_types::BigInt, _>(head)
            .bind::<diesel::sql_types::Array<diesel::sql_types::BigInt>, _>(&ids)
            .execute(pg)?;
        }
        DbConnection::Sqlite(lite) => {
            for (rank, id) in ids.iter().enumerate() {
                diesel::update(events::table.filter(events::id.eq(id)))
                    .set(events::position.eq(head + 1 + rank as i64))
                    .execute(lite)?;
            }
        }
    }
    on_backend!(conn, |c| diesel::update(event_feed_head::table)
        .set(event_feed_head::position.eq(head + ids.len() as i64))
        .execute(c))?;
    // Deliveries in feed order, account by account.
    let mut by_account: std::collections::BTreeMap<i64, Vec<Recorded>> = Default::default();
    for (id, account_id, event_type) in waiting {
        // Webhook test pings carry their own delivery and no subscription asks for them.
        if let Ok(event_type) = EventType::parse(&event_type) {
            by_account
                .entry(account_id)
                .or_default()
                .push(Recorded { id, event_type });
        }
    }
    for (account_id, recorded) in by_account {
        delivery_queue::enqueue(conn, account_id, &recorded)?;
    }
    Ok(ids.len())
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

/// The account's events after the cursor (a feed position), oldest first, and whether more follow. Webhook
/// test pings are events only for their delivery: the feed leaves them out.
pub fn list(
    conn: &mut DbConnection,
    account_id: i64,
    filter: &EventFilter,
    size: PageSize,
) -> Result<(Vec<Event>, bool), StoreError> {
    // What has committed is in the feed before the read (read-your-writes on PostgreSQL).
    // A publisher that fails (a subscription deleted as its delivery was queued) is tried
    // again by the next read or worker round; the feed is whole up to what was published.
    if matches!(conn, DbConnection::Postgresql(_))
        && let Err(e) = publish(conn)
    {
        tracing::warn!(error = ?e, "publishing events before a feed read failed");
    }
    let mut query = events::table
        .filter(events::account_id.eq(account_id))
        .filter(events::position.is_not_null())
        .filter(events::event_type.ne(TEST_EVENT_TYPE))
        .select(EventRow::as_select())
        .order(events::position.asc())
        .into_boxed();
    if let Some(after) = filter.after {
        query = query.filter(events::position.gt(after));
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
        .filter(events::position.eq(id))
        .filter(events::event_type.ne(TEST_EVENT_TYPE))
        .select(EventRow::as_select())
        .first::<EventRow>(conn)
        .optional()?
        .map(Event::from)
        .ok_or(StoreError::NotFound)
}

/// Events by row id (their storage key), for the webhook worker (any account).
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
            .filter(events::position.is_not_null())
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
