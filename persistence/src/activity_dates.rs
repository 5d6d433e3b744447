//! Last and next activity of companies, contacts and projects (what they mean:
//! `domain::links::ActivityDates`): derived from the tasks, meetings and posts linked to a
//! record, kept beside its row for filters and sorts. Refreshed in the transaction of every
//! activity write that can change them (`crate::links` refreshes the records an activity
//! leaves and joins; a task's due or status and a meeting's start refresh its records), and
//! by the reminder worker as meetings start ([`pass_started`]). Derived: a refresh writes no
//! version and no event.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Timestamp};
use domain::event::RecordType;
use domain::links::{ActivityDates, LinkType, RecordRef};

use crate::prepared::{Bind, Prepared};
use crate::schema::{companies, contacts, meetings, projects, record_links};
use crate::{DbConnection, StoreError, now, to_utc, write_transaction};

/// How many started meetings one pass takes at most; the worker comes back for the rest.
pub const BATCH: i64 = 200;

/// The filters on last and next activity that company, contact and project lists take.
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    pub last: DateFilter,
    pub next: DateFilter,
}

/// A filter on one of the two dates; records without the date match only `present: false`.
#[derive(Debug, Clone, Default)]
pub struct DateFilter {
    /// Before this time.
    pub before: Option<DateTime<Utc>>,
    /// At or after this time.
    pub after: Option<DateTime<Utc>>,
    /// `true`: only records that have the date; `false`: only those without.
    pub present: Option<bool>,
}

/// Narrows a boxed list query over `$table` by an [`ActivityFilter`]: each condition a range of
/// the index `($table.account_id, <date>, id)`.
macro_rules! filter_activity {
    ($query:expr, $filter:expr, $table:ident) => {{
        let filter: &$crate::activity_dates::ActivityFilter = $filter;
        let query =
            $crate::activity_dates::filter_date!($query, filter.last, $table::last_activity_at);
        $crate::activity_dates::filter_date!(query, filter.next, $table::next_activity_at)
    }};
}
pub(crate) use filter_activity;

macro_rules! filter_date {
    ($query:expr, $filter:expr, $column:expr) => {{
        let mut query = $query;
        if let Some(before) = $filter.before {
            query = query.filter($column.lt(before.naive_utc()));
        }
        if let Some(after) = $filter.after {
            query = query.filter($column.ge(after.naive_utc()));
        }
        match $filter.present {
            Some(true) => query = query.filter($column.is_not_null()),
            Some(false) => query = query.filter($column.is_null()),
            None => {}
        }
        query
    }};
}
pub(crate) use filter_date;

/// The dates as a record's row keeps them.
pub(crate) fn read(last: Option<NaiveDateTime>, next: Option<NaiveDateTime>) -> ActivityDates {
    ActivityDates {
        last_at: last.map(to_utc),
        next_at: next.map(to_utc),
    }
}

type Stored = (Option<NaiveDateTime>, Option<NaiveDateTime>);

/// Recomputes the dates of `records` from the activities linked to them as this transaction
/// sees them, writing those that changed. Records of types that keep no dates (enquiries), and
/// records that no longer exist, are passed over.
pub(crate) fn refresh(
    conn: &mut DbConnection,
    account_id: i64,
    records: impl IntoIterator<Item = RecordRef>,
) -> Result<(), StoreError> {
    let at = now();
    // Each record once, in one order, so that concurrent refreshes lock records alike.
    let records: BTreeSet<RecordRef> = records.into_iter().collect();
    for record in records {
        // Locked before it is computed: a concurrent refresh of the same record waits, then
        // computes from what this one committed, so that neither overwrites the other's.
        let Some(stored) = lock(conn, account_id, record)? else {
            continue;
        };
        let computed = compute(conn, account_id, record, at)?;
        if computed != stored {
            store(conn, record, computed)?;
        }
    }
    Ok(())
}

/// The record's stored dates, its row locked on PostgreSQL (SQLite's write transaction holds
/// the database); `None` for a type without dates or a record that is gone.
fn lock(
    conn: &mut DbConnection,
    account_id: i64,
    record: RecordRef,
) -> Result<Option<Stored>, StoreError> {
    macro_rules! locked {
        ($table:ident) => {{
            let query = $table::table
                .filter($table::id.eq(record.id))
                .filter($table::account_id.eq(account_id))
                .select(($table::last_activity_at, $table::next_activity_at));
            match conn {
                DbConnection::Postgresql(pg) => query.for_update().first::<Stored>(pg),
                DbConnection::Sqlite(lite) => query.first::<Stored>(lite),
            }
            .optional()?
        }};
    }
    Ok(match record.record_type {
        LinkType::Company => locked!(companies),
        LinkType::Contact => locked!(contacts),
        LinkType::Project => locked!(projects),
        LinkType::Enquiry => None,
    })
}

fn store(
    conn: &mut DbConnection,
    record: RecordRef,
    (last, next): Stored,
) -> Result<(), StoreError> {
    macro_rules! set {
        ($table:ident) => {{
            diesel::update($table::table.filter($table::id.eq(record.id)))
                .set((
                    $table::last_activity_at.eq(last),
                    $table::next_activity_at.eq(next),
                ))
                .execute(conn)?;
        }};
    }
    match record.record_type {
        LinkType::Company => set!(companies),
        LinkType::Contact => set!(contacts),
        LinkType::Project => set!(projects),
        LinkType::Enquiry => {}
    }
    Ok(())
}

#[derive(Debug, QueryableByName)]
struct DatesRow {
    #[diesel(sql_type = Nullable<Timestamp>)]
    last_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    next_at: Option<NaiveDateTime>,
}

/// The record's dates at `at`, from its activities: one statement whose branches each look
/// up the record's links of one family by `record_links_record` and join their rows by id.
fn compute(
    conn: &mut DbConnection,
    account_id: i64,
    record: RecordRef,
    at: NaiveDateTime,
) -> Result<Stored, StoreError> {
    let mut sql = Prepared::new();
    let linked = |sql: &mut Prepared, owner: RecordType| {
        sql.sql(" WHERE l.account_id = ")
            .bigint(account_id)
            .sql(" AND l.record_type = ")
            .text(record.record_type.as_str())
            .sql(" AND l.record_id = ")
            .bigint(record.id)
            .sql(" AND l.owner_type = ")
            .text(owner.as_str());
    };
    sql.sql(
        "SELECT MAX(last_at) AS last_at, MIN(next_at) AS next_at FROM (\
         SELECT t.done_at AS last_at, CASE WHEN t.status = 'open' THEN t.due_at END AS next_at \
         FROM record_links l JOIN tasks t ON t.id = l.owner_id",
    );
    linked(&mut sql, RecordType::Task);
    sql.sql(" UNION ALL SELECT CASE WHEN m.starts_at <= ")
        .bind(Bind::Timestamp(at))
        .sql(" THEN m.starts_at END, CASE WHEN m.starts_at > ")
        .bind(Bind::Timestamp(at))
        .sql(" THEN m.starts_at END FROM record_links l JOIN meetings m ON m.id = l.owner_id");
    linked(&mut sql, RecordType::Meeting);
    sql.sql(" UNION ALL SELECT p.created_at, NULL FROM record_links l JOIN posts p ON p.id = l.owner_id");
    linked(&mut sql, RecordType::Post);
    sql.sql(") AS dated");
    let rows: Vec<DatesRow> = sql.load(conn)?;
    Ok(rows
        .into_iter()
        .next()
        .map_or((None, None), |row| (row.last_at, row.next_at)))
}

/// Moves the meetings that have started by `at`, on the records they are linked to, from next
/// activity to last: refreshes those records once per start time (a meeting whose start
/// changes is seen again). Replicas share the work as the reminders do. Returns how many
/// meetings it took.
pub fn pass_started(conn: &mut DbConnection, at: DateTime<Utc>) -> Result<usize, StoreError> {
    // Probed first, outside any transaction: an idle worker takes no write lock.
    let any: Option<i64> = meetings::table
        .filter(meetings::start_passed_at.is_null())
        .filter(meetings::starts_at.le(at.naive_utc()))
        .select(meetings::id)
        .first(conn)
        .optional()?;
    if any.is_none() {
        return Ok(0);
    }
    write_transaction(conn, |conn| {
        let query = meetings::table
            .filter(meetings::start_passed_at.is_null())
            .filter(meetings::starts_at.le(at.naive_utc()))
            .order(meetings::starts_at.asc())
            .select((meetings::id, meetings::account_id))
            .limit(BATCH);
        let started: Vec<(i64, i64)> = match conn {
            DbConnection::Postgresql(pg) => query.for_update().skip_locked().load(pg)?,
            DbConnection::Sqlite(lite) => query.load(lite)?,
        };
        for (id, account_id) in &started {
            diesel::update(meetings::table.filter(meetings::id.eq(id)))
                .set(meetings::start_passed_at.eq(Some(now())))
                .execute(conn)?;
            let linked: Vec<(String, i64)> = record_links::table
                .filter(record_links::owner_type.eq(RecordType::Meeting.as_str()))
                .filter(record_links::owner_id.eq(id))
                .select((record_links::record_type, record_links::record_id))
                .load(conn)?;
            let records = linked.into_iter().filter_map(|(kind, record)| {
                Some(RecordRef::new(LinkType::parse(&kind).ok()?, record))
            });
            refresh(conn, *account_id, records)?;
        }
        Ok(started.len())
    })
}
