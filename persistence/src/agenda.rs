//! "For Me": a team member's day in one call. Each list is one range of one index (the
//! assignee's tasks by status and due, the attendee's meetings by start, the owner's records
//! by follow-up, the assignee's enquiries by status and receipt), bounded and sorted.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::enquiry::{Enquiry, EnquiryStatus};
use domain::meeting::Meeting;
use domain::task::{Due, Task, TaskStatus};

use crate::schema::{
    companies, enquiries, meeting_attendees, projects, task_assignees, tasks as task_rows,
};
use crate::{DbConnection, StoreError, enquiries as enquiry_store, meetings, tasks, to_utc};

/// The instants and the day the agenda is drawn for, in the caller's time zone.
#[derive(Debug, Clone, Copy)]
pub struct Day {
    pub now: DateTime<Utc>,
    /// The caller's date today.
    pub today: NaiveDate,
    /// When today begins and ends, in UTC.
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// When the seventh day after today ends.
    pub week_end: DateTime<Utc>,
}

/// One list of the agenda: at most `limit` items, and whether more were left out.
#[derive(Debug, Clone)]
pub struct Bounded<T> {
    pub items: Vec<T>,
    pub more: bool,
}

/// A task's id and due as its agenda range reads them.
type DueRow = (i64, Option<NaiveDate>, Option<NaiveDateTime>);

fn due_of(date: Option<NaiveDate>, at: Option<NaiveDateTime>) -> Option<Due> {
    match (date, at) {
        (Some(date), _) => Some(Due::On(date)),
        (None, Some(at)) => Some(Due::At(to_utc(at))),
        (None, None) => None,
    }
}

/// How many more rows a task range reads than it keeps, for the tasks the caller's day
/// leaves out of it.
const SLACK: i64 = 200;

fn bounded<T>(mut items: Vec<T>, limit: i64) -> Bounded<T> {
    let keep = usize::try_from(limit).unwrap_or(0);
    let more = items.len() > keep;
    items.truncate(keep);
    Bounded { items, more }
}

/// A record owned by the caller whose follow-up is due.
#[derive(Debug, Clone)]
pub struct FollowUp {
    /// `company` or `project`.
    pub record_type: &'static str,
    pub id: i64,
    pub name: String,
    pub follow_up_due_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct Agenda {
    /// Open tasks past their due, oldest due first.
    pub overdue_tasks: Bounded<Task>,
    /// Open tasks due today, by due.
    pub today_tasks: Bounded<Task>,
    /// Meetings under way today or in the next seven days, by start.
    pub meetings: Bounded<Meeting>,
    /// Records the caller owns whose follow-up is due by the end of today, soonest first.
    pub follow_ups: Bounded<FollowUp>,
    /// Open enquiries assigned to the caller, oldest first.
    pub enquiries: Bounded<Enquiry>,
}

/// The agenda of team member `user` for `day`, each list at most `limit` long.
pub fn agenda(
    conn: &mut DbConnection,
    account_id: i64,
    user: i64,
    day: Day,
    limit: i64,
) -> Result<Agenda, StoreError> {
    let take = limit + 1;
    // All-day tasks sort at their day's start in UTC, while the caller's zone decides
    // which are late and which are today's: each range reads a day (and a few rows) more
    // than it keeps, as ids and dues only, applies the rule, and reads whole only the tasks
    // it keeps.
    let slack = chrono::Duration::days(1);
    let mine = || {
        task_assignees::table
            .inner_join(task_rows::table)
            .filter(task_assignees::account_id.eq(account_id))
            .filter(task_assignees::user_id.eq(user))
            .filter(task_assignees::status.eq(TaskStatus::Open.as_str()))
            .order((task_assignees::due_at.asc(), task_assignees::task_id.asc()))
            .select((
                task_assignees::task_id,
                task_rows::due_date,
                task_rows::due_at,
            ))
            .limit(take + SLACK)
    };
    let keep = |rows: Vec<DueRow>, rule: &dyn Fn(Due) -> bool| -> Vec<i64> {
        rows.into_iter()
            .filter(|(_, date, at)| due_of(*date, *at).is_some_and(rule))
            .map(|(id, _, _)| id)
            .take(usize::try_from(take).unwrap_or(0))
            .collect()
    };
    let late: Vec<DueRow> = mine()
        .filter(task_assignees::due_at.lt(day.now.max(day.start).naive_utc()))
        .load(conn)?;
    let late_ids = keep(late, &|due| due.is_overdue(day.now, day.today));
    let overdue = tasks::get_many(conn, account_id, &late_ids)?;
    let around: Vec<DueRow> = mine()
        .filter(task_assignees::due_at.ge((day.start - slack).naive_utc()))
        .filter(task_assignees::due_at.lt((day.end + slack).naive_utc()))
        .load(conn)?;
    let today_ids = keep(around, &|due| {
        !due.is_overdue(day.now, day.today) && due.falls_on(day.today, day.start, day.end)
    });
    let today = tasks::get_many(conn, account_id, &today_ids)?;
    let meeting_ids: Vec<i64> = meeting_attendees::table
        .filter(meeting_attendees::account_id.eq(account_id))
        .filter(meeting_attendees::attendee_type.eq("user"))
        .filter(meeting_attendees::attendee_id.eq(user))
        .filter(meeting_attendees::starts_at.lt(day.week_end.naive_utc()))
        .filter(meeting_attendees::ends_at.gt(day.start.naive_utc()))
        .order((
            meeting_attendees::starts_at.asc(),
            meeting_attendees::meeting_id.asc(),
        ))
        .select(meeting_attendees::meeting_id)
        .limit(take)
        .load(conn)?;
    let meetings = meetings::get_many(conn, account_id, &meeting_ids)?;
    let due_by = day.end.naive_utc();
    let companies_due: Vec<(i64, String, Option<chrono::NaiveDateTime>)> = companies::table
        .filter(companies::account_id.eq(account_id))
        .filter(companies::owner_id.eq(user))
        .filter(companies::follow_up_due_at.lt(due_by))
        .order((companies::follow_up_due_at.asc(), companies::id.asc()))
        .select((companies::id, companies::name, companies::follow_up_due_at))
        .limit(take)
        .load(conn)?;
    let projects_due: Vec<(i64, String, Option<chrono::NaiveDateTime>)> = projects::table
        .filter(projects::account_id.eq(account_id))
        .filter(projects::owner_id.eq(user))
        .filter(projects::follow_up_due_at.lt(due_by))
        .order((projects::follow_up_due_at.asc(), projects::id.asc()))
        .select((projects::id, projects::name, projects::follow_up_due_at))
        .limit(take)
        .load(conn)?;
    let mut follow_ups: Vec<FollowUp> = companies_due
        .into_iter()
        .map(|row| ("company", row))
        .chain(projects_due.into_iter().map(|row| ("project", row)))
        .filter_map(|(record_type, (id, name, due))| {
            due.map(|due| FollowUp {
                record_type,
                id,
                name,
                follow_up_due_at: to_utc(due),
            })
        })
        .collect();
    follow_ups.sort_by_key(|f| (f.follow_up_due_at, f.record_type, f.id));
    let enquiry_ids: Vec<i64> = enquiries::table
        .filter(enquiries::account_id.eq(account_id))
        .filter(enquiries::assignee_id.eq(user))
        .filter(enquiries::status.eq(EnquiryStatus::Open.as_str()))
        .order((enquiries::received_at.asc(), enquiries::id.asc()))
        .select(enquiries::id)
        .limit(take)
        .load(conn)?;
    let enquiries = enquiry_store::get_many(conn, account_id, &enquiry_ids)?;
    Ok(Agenda {
        overdue_tasks: bounded(overdue, limit),
        today_tasks: bounded(today, limit),
        meetings: bounded(meetings, limit),
        follow_ups: bounded(follow_ups, limit),
        enquiries: bounded(enquiries, limit),
    })
}
