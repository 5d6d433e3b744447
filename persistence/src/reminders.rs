//! Reminders as events: the worker records `task.due` when an open task falls due, and
//! `meeting.starting` when a meeting is about to start, once each (per due time, per start),
//! so that automations can act on them. Replicas share the work: on PostgreSQL each takes
//! its rows with `FOR UPDATE SKIP LOCKED`, and the mark it sets keeps the others off them.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use domain::event::{EventType, NewEvent, Outbox};

use crate::schema::{meetings, tasks};
use crate::{DbConnection, StoreError, events, meetings as meeting_store, tasks as task_store};
use crate::{now, write_transaction};

/// How many reminders one pass records at most; the worker comes back for the rest.
const BATCH: i64 = 200;

/// Reminders older than this are not sent any more (a task created long past its due, a
/// service that was down for days): the mark is set without an event.
const STALE_AFTER: Duration = Duration::hours(24);

/// Whether no reminder is due at `at`: a probe of each partial index, read outside any
/// transaction, so that an idle worker takes no write lock (on SQLite the one writer's,
/// which a bulk load may hold for a minute).
fn nothing_due(
    conn: &mut DbConnection,
    at: DateTime<Utc>,
    lead: Duration,
) -> Result<bool, StoreError> {
    let task: Option<i64> = tasks::table
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "tasks.status = 'open'",
        ))
        .filter(tasks::due_event_at.is_null())
        .filter(tasks::due_at.is_not_null())
        .filter(tasks::due_at.le(at.naive_utc()))
        .select(tasks::id)
        .first(conn)
        .optional()?;
    if task.is_some() {
        return Ok(false);
    }
    let meeting: Option<i64> = meetings::table
        .filter(meetings::starting_event_at.is_null())
        .filter(meetings::starts_at.le((at + lead).naive_utc()))
        .select(meetings::id)
        .first(conn)
        .optional()?;
    Ok(meeting.is_none())
}

/// Records the reminders due at `at`: tasks due by then, meetings starting within `lead`.
/// Returns how many events it recorded.
pub fn record_due(
    conn: &mut DbConnection,
    at: DateTime<Utc>,
    lead: Duration,
    outbox: &Outbox<'_>,
) -> Result<usize, StoreError> {
    if nothing_due(conn, at, lead)? {
        return Ok(0);
    }
    write_transaction(conn, |conn| {
        let mut recorded = 0;
        let cutoff = at.naive_utc();
        let task_query = tasks::table
            // A literal, as the partial index `tasks_due_events` says it: a bound value would
            // not let the planners see that the index holds every row asked for.
            .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
                "tasks.status = 'open'",
            ))
            .filter(tasks::due_event_at.is_null())
            .filter(tasks::due_at.is_not_null())
            .filter(tasks::due_at.le(cutoff))
            .order(tasks::due_at.asc())
            .select((tasks::id, tasks::account_id, tasks::due_at))
            .limit(BATCH);
        let due: Vec<(i64, i64, Option<chrono::NaiveDateTime>)> = match conn {
            DbConnection::Postgresql(pg) => task_query.for_update().skip_locked().load(pg)?,
            DbConnection::Sqlite(lite) => task_query.load(lite)?,
        };
        let stale = (at - STALE_AFTER).naive_utc();
        for (id, account_id, due_at) in due {
            diesel::update(tasks::table.filter(tasks::id.eq(id)))
                .set(tasks::due_event_at.eq(Some(now())))
                .execute(conn)?;
            if due_at.is_some_and(|d| d < stale) {
                continue;
            }
            let task = task_store::get(conn, account_id, id)?;
            let event = NewEvent::new(EventType::TaskDue, id, outbox.render.task(&task));
            events::record_one(conn, account_id, outbox, event)?;
            recorded += 1;
        }
        let horizon = (at + lead).naive_utc();
        let meeting_query = meetings::table
            .filter(meetings::starting_event_at.is_null())
            .filter(meetings::starts_at.le(horizon))
            .order(meetings::starts_at.asc())
            .select((meetings::id, meetings::account_id, meetings::starts_at))
            .limit(BATCH);
        let starting: Vec<(i64, i64, chrono::NaiveDateTime)> = match conn {
            DbConnection::Postgresql(pg) => meeting_query.for_update().skip_locked().load(pg)?,
            DbConnection::Sqlite(lite) => meeting_query.load(lite)?,
        };
        for (id, account_id, starts_at) in starting {
            diesel::update(meetings::table.filter(meetings::id.eq(id)))
                .set(meetings::starting_event_at.eq(Some(now())))
                .execute(conn)?;
            if starts_at < cutoff {
                // Started already (created late, or the service was down): no reminder.
                continue;
            }
            let meeting = meeting_store::get(conn, account_id, id)?;
            let event = NewEvent::new(
                EventType::MeetingStarting,
                id,
                outbox.render.meeting(&meeting),
            );
            events::record_one(conn, account_id, outbox, event)?;
            recorded += 1;
        }
        Ok(recorded)
    })
}
