//! The news feed, records' timelines and who follows what. Every change the feed tells of
//! (`domain::feed::in_feed`) becomes an entry, written by [`record`] in the transaction of the
//! change beside its event; unlike events (an outbox, purged after their retention) entries
//! stay. Followers are kept in step from the same changes: owners and project teams follow
//! from when they become so, a deleted record loses its followers, a merged one passes them
//! and its history to the survivor.
//!
//! Reads are one statement a page, newest first by entry id. A record's entries are those
//! filed under it and those of the activities (tasks, meetings, posts) linked to it now
//! (`record_links`), each branch one index range cut at the page size before they are merged.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use domain::event::{Event, EventType, NewEvent, RecordType};
use domain::feed::{self, FollowReason, Followable, Subscription};
use domain::listing::PageSize;
use domain::token::ActorRef;
use domain::units::RecordScope;
use serde_json::Value;

use crate::pool::on_backend;
use crate::prepared::Prepared;
use crate::schema::{companies, contacts, feed_items, projects, subscriptions};
use crate::{Backend, DbConnection, StoreError, now, to_utc};

/// Writes the entries of the changes `events` describe, and keeps followers in step with
/// them; inside the caller's transaction, beside the events.
pub(crate) fn record(
    conn: &mut DbConnection,
    account_id: i64,
    actor: ActorRef,
    events: &[NewEvent],
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    let rows: Vec<_> = events
        .iter()
        .filter(|e| feed::in_feed(e.event_type))
        .map(|e| {
            let record_type = e.event_type.record_type();
            let post_id = e.data.get("post_id").and_then(Value::as_i64);
            let (subject_type, subject_id) = feed::subject(record_type, e.record_id, post_id);
            (
                feed_items::account_id.eq(account_id),
                feed_items::event_type.eq(e.event_type.as_str()),
                feed_items::record_type.eq(record_type.as_str()),
                feed_items::record_id.eq(e.record_id),
                feed_items::subject_type.eq(subject_type.as_str()),
                feed_items::subject_id.eq(subject_id),
                feed_items::actor_user_id.eq(actor.user_id),
                feed_items::actor_client_id.eq(actor.client_id),
                feed_items::data.eq(e.data.to_string()),
                feed_items::previous.eq(e.previous.clone().map(|p| Value::Object(p).to_string())),
                feed_items::merged_ids.eq(e.merged_ids.clone().map(|m| Value::from(m).to_string())),
                feed_items::merged_into.eq(e.merged_into),
                feed_items::occurred_at.eq(at),
            )
        })
        .collect();
    crate::bulk::insert_all!(&mut *conn, feed_items::table, &rows, 500);
    keep_followers(conn, account_id, events, at)
}

/// Owners and project teams follow from when they become so; a deleted record's followers
/// go, a merged one's follow the survivor, and its history is filed under the survivor.
fn keep_followers(
    conn: &mut DbConnection,
    account_id: i64,
    events: &[NewEvent],
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    let mut joining: Vec<(i64, Followable, i64, FollowReason)> = Vec::new();
    for event in events {
        let Some(kind) = Followable::of(event.event_type.record_type()) else {
            continue;
        };
        let id = event.record_id;
        if is_deletion(event.event_type) {
            match event.merged_into {
                Some(survivor) => pass_on(conn, account_id, kind, id, survivor)?,
                None => forget(conn, account_id, kind, id)?,
            }
            continue;
        }
        // A create has no `previous`; an update names what changed.
        let changed = |field: &str| {
            event
                .previous
                .as_ref()
                .is_none_or(|p| p.contains_key(field))
        };
        if changed("owner_id")
            && let Some(owner) = event.data.get("owner_id").and_then(Value::as_i64)
        {
            joining.push((owner, kind, id, FollowReason::Owner));
        }
        if kind == Followable::Project
            && changed("team")
            && let Some(team) = event.data.get("team").and_then(Value::as_array)
        {
            let members = team
                .iter()
                .filter_map(|m| m.get("user_id").and_then(Value::as_i64));
            joining.extend(members.map(|user| (user, kind, id, FollowReason::Team)));
        }
    }
    for (user, kind, id, reason) in joining {
        add(conn, account_id, user, kind, id, reason, at)?;
    }
    Ok(())
}

fn is_deletion(event_type: EventType) -> bool {
    matches!(
        event_type,
        EventType::CompanyDeleted | EventType::ContactDeleted | EventType::ProjectDeleted
    )
}

/// Follows a record unless already following it (for whatever reason).
fn add(
    conn: &mut DbConnection,
    account_id: i64,
    user_id: i64,
    kind: Followable,
    record_id: i64,
    reason: FollowReason,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    let row = (
        subscriptions::account_id.eq(account_id),
        subscriptions::user_id.eq(user_id),
        subscriptions::record_type.eq(kind.as_str()),
        subscriptions::record_id.eq(record_id),
        subscriptions::reason.eq(reason.as_str()),
        subscriptions::created_at.eq(at),
    );
    on_backend!(conn, |c| diesel::insert_into(subscriptions::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(c))?;
    Ok(())
}

/// A deleted record's followers go.
fn forget(
    conn: &mut DbConnection,
    account_id: i64,
    kind: Followable,
    record_id: i64,
) -> Result<(), StoreError> {
    diesel::delete(
        subscriptions::table
            .filter(subscriptions::account_id.eq(account_id))
            .filter(subscriptions::record_type.eq(kind.as_str()))
            .filter(subscriptions::record_id.eq(record_id)),
    )
    .execute(conn)?;
    Ok(())
}

/// A record merged into `survivor`: its followers follow the survivor (those who already
/// did keep their own reason), and its history is filed under the survivor.
fn pass_on(
    conn: &mut DbConnection,
    account_id: i64,
    kind: Followable,
    merged: i64,
    survivor: i64,
) -> Result<(), StoreError> {
    let followers: Vec<(i64, String, NaiveDateTime)> = subscriptions::table
        .filter(subscriptions::account_id.eq(account_id))
        .filter(subscriptions::record_type.eq(kind.as_str()))
        .filter(subscriptions::record_id.eq(merged))
        .select((
            subscriptions::user_id,
            subscriptions::reason,
            subscriptions::created_at,
        ))
        .load(conn)?;
    forget(conn, account_id, kind, merged)?;
    for (user, reason, at) in followers {
        let reason = FollowReason::parse(&reason).unwrap_or(FollowReason::Manual);
        add(conn, account_id, user, kind, survivor, reason, at)?;
    }
    diesel::update(
        feed_items::table
            .filter(feed_items::account_id.eq(account_id))
            .filter(feed_items::subject_type.eq(kind.as_str()))
            .filter(feed_items::subject_id.eq(merged)),
    )
    .set(feed_items::subject_id.eq(survivor))
    .execute(conn)?;
    Ok(())
}

/// Whether the account has this record (a follow of another account's is a 404).
fn exists(
    conn: &mut DbConnection,
    account_id: i64,
    kind: Followable,
    id: i64,
) -> Result<bool, StoreError> {
    let found: Option<i64> = match kind {
        Followable::Company => companies::table
            .filter(companies::account_id.eq(account_id))
            .filter(companies::id.eq(id))
            .select(companies::id)
            .first(conn)
            .optional()?,
        Followable::Contact => contacts::table
            .filter(contacts::account_id.eq(account_id))
            .filter(contacts::id.eq(id))
            .select(contacts::id)
            .first(conn)
            .optional()?,
        Followable::Project => projects::table
            .filter(projects::account_id.eq(account_id))
            .filter(projects::id.eq(id))
            .select(projects::id)
            .first(conn)
            .optional()?,
    };
    Ok(found.is_some())
}

/// The user's subscription to a record of the account, if they follow it; `NotFound` when
/// the account has no such record.
pub fn subscription(
    conn: &mut DbConnection,
    account_id: i64,
    user_id: i64,
    kind: Followable,
    record_id: i64,
) -> Result<Option<Subscription>, StoreError> {
    if !exists(conn, account_id, kind, record_id)? {
        return Err(StoreError::NotFound);
    }
    let row: Option<(String, NaiveDateTime)> = subscriptions::table
        .filter(subscriptions::user_id.eq(user_id))
        .filter(subscriptions::record_type.eq(kind.as_str()))
        .filter(subscriptions::record_id.eq(record_id))
        .filter(subscriptions::account_id.eq(account_id))
        .select((subscriptions::reason, subscriptions::created_at))
        .first(conn)
        .optional()?;
    Ok(row.map(|(reason, at)| Subscription {
        user_id,
        record: kind,
        record_id,
        reason: FollowReason::parse(&reason).unwrap_or(FollowReason::Manual),
        created_at: to_utc(at),
    }))
}

/// Follows a record of the account (a second follow changes nothing). Returns the
/// subscription and whether it is new.
pub fn follow(
    conn: &mut DbConnection,
    account_id: i64,
    user_id: i64,
    kind: Followable,
    record_id: i64,
) -> Result<(Subscription, bool), StoreError> {
    crate::write_transaction(conn, |conn| {
        if let Some(existing) = subscription(conn, account_id, user_id, kind, record_id)? {
            return Ok((existing, false));
        }
        let at = now();
        add(
            conn,
            account_id,
            user_id,
            kind,
            record_id,
            FollowReason::Manual,
            at,
        )?;
        let created = Subscription {
            user_id,
            record: kind,
            record_id,
            reason: FollowReason::Manual,
            created_at: to_utc(at),
        };
        Ok((created, true))
    })
}

/// Stops following a record of the account (whatever the reason one followed it); `false`
/// when one did not.
pub fn unfollow(
    conn: &mut DbConnection,
    account_id: i64,
    user_id: i64,
    kind: Followable,
    record_id: i64,
) -> Result<bool, StoreError> {
    crate::write_transaction(conn, |conn| {
        if !exists(conn, account_id, kind, record_id)? {
            return Err(StoreError::NotFound);
        }
        let gone = diesel::delete(
            subscriptions::table
                .filter(subscriptions::user_id.eq(user_id))
                .filter(subscriptions::record_type.eq(kind.as_str()))
                .filter(subscriptions::record_id.eq(record_id))
                .filter(subscriptions::account_id.eq(account_id)),
        )
        .execute(conn)?;
        Ok(gone > 0)
    })
}

/// Which entries a feed page holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum About {
    /// Every entry of the account.
    Everything,
    /// A record's timeline: entries filed under it and under the activities linked to it.
    Record(Followable, i64),
    /// Entries of the records the user follows, and of the activities linked to them.
    Followed(i64),
    /// Posts and comments that mention the user.
    Mentioning(i64),
}

/// What a feed page is about and what the reader may see.
#[derive(Debug, Clone)]
pub struct FeedFilter {
    pub about: About,
    /// The kinds of record the reader may read (what entries are filed under); never empty.
    pub readable: Vec<RecordType>,
    /// Only these kinds of change; empty: every kind.
    pub types: Vec<EventType>,
    /// Only entries older than this one (the cursor).
    pub before: Option<i64>,
    /// The companies, contacts and projects the reader sees: entries filed under others
    /// are left out.
    pub scope: domain::units::RecordScope,
}

#[derive(QueryableByName)]
struct ItemRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = BigInt)]
    account_id: i64,
    #[diesel(sql_type = Text)]
    event_type: String,
    #[diesel(sql_type = Text)]
    record_type: String,
    #[diesel(sql_type = BigInt)]
    record_id: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    actor_user_id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    actor_client_id: Option<i64>,
    #[diesel(sql_type = Text)]
    data: String,
    #[diesel(sql_type = Nullable<Text>)]
    previous: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    merged_ids: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    merged_into: Option<i64>,
    #[diesel(sql_type = Timestamp)]
    occurred_at: NaiveDateTime,
}

impl From<ItemRow> for Event {
    fn from(r: ItemRow) -> Event {
        Event {
            id: r.id,
            row_id: r.id,
            account_id: r.account_id,
            event_type: r.event_type,
            record_type: r.record_type,
            record_id: r.record_id,
            actor_user_id: r.actor_user_id,
            actor_client_id: r.actor_client_id,
            data: serde_json::from_str(&r.data).unwrap_or(Value::Null),
            previous: r.previous.and_then(|p| serde_json::from_str(&p).ok()),
            occurred_at: to_utc(r.occurred_at),
            merged_ids: r.merged_ids.and_then(|m| serde_json::from_str(&m).ok()),
            merged_into: r.merged_into,
        }
    }
}

const COLUMNS: &str = "f.id, f.account_id, f.type AS event_type, f.record_type, f.record_id, \
    f.actor_user_id, f.actor_client_id, f.data, f.previous, f.merged_ids, f.merged_into, \
    f.occurred_at";

/// A page of entries, newest first, and whether older ones follow.
pub fn list(
    conn: &mut DbConnection,
    account_id: i64,
    filter: &FeedFilter,
    size: PageSize,
) -> Result<(Vec<Event>, bool), StoreError> {
    let limit = size.get() + 1;
    let backend = conn.backend();
    let mut q = Prepared::new();
    q.sql("SELECT ").sql(COLUMNS).sql(" FROM ");
    match filter.about {
        About::Everything => {
            q.sql("feed_items f WHERE f.account_id = ")
                .bigint(account_id);
            narrow(&mut q, "f", filter, backend);
        }
        About::Mentioning(user) => {
            q.sql("mentions m JOIN feed_items f ON f.account_id = m.account_id")
                .sql(" AND f.record_type = m.owner_type AND f.record_id = m.owner_id")
                .sql(" WHERE m.account_id = ")
                .bigint(account_id)
                .sql(" AND m.user_id = ")
                .bigint(user);
            narrow(&mut q, "f", filter, backend);
        }
        About::Record(kind, id) => {
            q.sql("feed_items f WHERE f.id IN (SELECT id FROM (SELECT i.id FROM feed_items i")
                .sql(" WHERE i.account_id = ")
                .bigint(account_id)
                .sql(" AND i.subject_type = ")
                .text(kind.as_str())
                .sql(" AND i.subject_id = ")
                .bigint(id);
            cut(&mut q, filter, limit, "own", backend);
            q.sql(" UNION SELECT id FROM (SELECT i.id FROM record_links l")
                .sql(LINKED_ITEMS)
                .sql(" WHERE l.account_id = ")
                .bigint(account_id)
                .sql(" AND l.record_type = ")
                .text(kind.as_str())
                .sql(" AND l.record_id = ")
                .bigint(id);
            cut(&mut q, filter, limit, "linked", backend);
            q.sql(")");
        }
        About::Followed(user) => {
            q.sql("feed_items f WHERE f.id IN (SELECT id FROM (SELECT i.id FROM subscriptions s")
                .sql(" JOIN feed_items i ON i.account_id = s.account_id")
                .sql(" AND i.subject_type = s.record_type AND i.subject_id = s.record_id")
                .sql(" WHERE s.account_id = ")
                .bigint(account_id)
                .sql(" AND s.user_id = ")
                .bigint(user);
            cut(&mut q, filter, limit, "own", backend);
            q.sql(" UNION SELECT id FROM (SELECT i.id FROM subscriptions s")
                .sql(" JOIN record_links l ON l.account_id = s.account_id")
                .sql(" AND l.record_type = s.record_type AND l.record_id = s.record_id")
                .sql(LINKED_ITEMS)
                .sql(" WHERE s.account_id = ")
                .bigint(account_id)
                .sql(" AND s.user_id = ")
                .bigint(user);
            cut(&mut q, filter, limit, "linked", backend);
            q.sql(")");
        }
    }
    q.sql(" ORDER BY f.id DESC LIMIT ").bigint(limit);
    let mut rows: Vec<ItemRow> = q.load(conn)?;
    let more = rows.len() as i64 > size.get();
    rows.truncate(size.get() as usize);
    Ok((rows.into_iter().map(Event::from).collect(), more))
}

/// A page of a record's timeline ([`list`] about it); `NotFound` when the account has no
/// such record.
pub fn timeline(
    conn: &mut DbConnection,
    account_id: i64,
    kind: Followable,
    id: i64,
    filter: &FeedFilter,
    size: PageSize,
) -> Result<(Vec<Event>, bool), StoreError> {
    if !exists(conn, account_id, kind, id)? {
        return Err(StoreError::NotFound);
    }
    list(conn, account_id, filter, size)
}

/// The entries filed under the activities `l` (a `record_links` row) names.
const LINKED_ITEMS: &str = " JOIN feed_items i ON i.account_id = l.account_id \
    AND i.subject_type = l.owner_type AND i.subject_id = l.owner_id";

/// A branch of a union: narrowed as the page is, newest first, cut at the page size.
fn cut(q: &mut Prepared, filter: &FeedFilter, limit: i64, name: &str, backend: Backend) {
    narrow(q, "i", filter, backend);
    q.sql(" ORDER BY i.id DESC LIMIT ")
        .bigint(limit)
        .sql(") ")
        .sql(name);
}

/// What every statement keeps: entries the reader may read, of the kinds asked for, older
/// than the cursor.
fn narrow(q: &mut Prepared, alias: &str, filter: &FeedFilter, backend: Backend) {
    if let RecordScope::Limited { user_id, units } = &filter.scope {
        // An entry filed under a company, contact or project shows when the reader sees the
        // record now: one primary-key read per entry the page scans.
        q.sql(&format!(
            " AND ({alias}.subject_type NOT IN ('company', 'contact', 'project')"
        ));
        for (kind, table) in [
            ("company", "companies"),
            ("contact", "contacts"),
            ("project", "projects"),
        ] {
            q.sql(&format!(
                " OR ({alias}.subject_type = '{kind}' AND EXISTS (SELECT 1 FROM {table} v \
                 WHERE v.id = {alias}.subject_id AND (v.owner_id = "
            ))
            .bigint(*user_id)
            .sql(" OR v.unit_id IN (")
            .ids_in(backend, units)
            .sql("))))");
        }
        q.sql(")");
    }
    in_list(
        q,
        &format!(" AND {alias}.subject_type IN ("),
        filter.readable.iter().map(|t| t.as_str()),
    );
    if !filter.types.is_empty() {
        in_list(
            q,
            &format!(" AND {alias}.type IN ("),
            filter.types.iter().map(|t| t.as_str()),
        );
    }
    if let Some(before) = filter.before {
        q.sql(&format!(" AND {alias}.id < ")).bigint(before);
    }
}

fn in_list<'a>(q: &mut Prepared, open: &str, values: impl Iterator<Item = &'a str>) {
    q.sql(open);
    for (i, value) in values.enumerate() {
        if i > 0 {
            q.sql(", ");
        }
        q.text(value);
    }
    q.sql(")");
}
