//! The calendar feed: a team member's meetings and tasks with a due in a window of time, each
//! list one range of an index the agenda reads too (the attendee's meetings by start, the
//! assignee's tasks by status and due), with the names and emails of the people they name.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use domain::meeting::{Attendee, Meeting, Response};
use domain::task::{Task, TaskStatus};

use crate::schema::{contacts, meeting_attendees, task_assignees, users};
use crate::{DbConnection, StoreError, meetings, tasks};

/// The instants a feed covers: meetings that start, and tasks that fall due, from `from`
/// (inclusive) to `until` (exclusive).
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

/// A person a meeting names: a team member or a contact.
#[derive(Debug, Clone, PartialEq)]
pub struct Person {
    pub name: String,
    pub email: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct CalendarFeed {
    /// Meetings the member attends (or organises) and has not declined, by start.
    pub meetings: Vec<Meeting>,
    /// Open and done tasks assigned to the member, by due.
    pub tasks: Vec<Task>,
    /// The team members the meetings name (organisers and attendees), by id.
    pub users: HashMap<i64, Person>,
    /// The contacts the meetings name, by id.
    pub contacts: HashMap<i64, Person>,
}

/// The feed of team member `user`: at most `limit` meetings and `limit` tasks in `window`,
/// the earliest first.
pub fn feed(
    conn: &mut DbConnection,
    account_id: i64,
    user: i64,
    window: Window,
    limit: i64,
) -> Result<CalendarFeed, StoreError> {
    let (from, until) = (window.from.naive_utc(), window.until.naive_utc());
    let meeting_ids: Vec<i64> = meeting_attendees::table
        .filter(meeting_attendees::account_id.eq(account_id))
        .filter(meeting_attendees::attendee_type.eq("user"))
        .filter(meeting_attendees::attendee_id.eq(user))
        .filter(meeting_attendees::starts_at.ge(from))
        .filter(meeting_attendees::starts_at.lt(until))
        // A declined invitation is not a meeting of theirs to block time for.
        .filter(meeting_attendees::response.ne(Response::Declined.as_str()))
        .order((
            meeting_attendees::starts_at.asc(),
            meeting_attendees::meeting_id.asc(),
        ))
        .select(meeting_attendees::meeting_id)
        .limit(limit)
        .load(conn)?;
    let meetings = meetings::get_many(conn, account_id, &meeting_ids)?;
    // One range per status, so that each reads one run of the index.
    let mut due: Vec<(Option<chrono::NaiveDateTime>, i64)> = Vec::new();
    for status in [TaskStatus::Open, TaskStatus::Done] {
        let rows: Vec<(Option<chrono::NaiveDateTime>, i64)> = task_assignees::table
            .filter(task_assignees::account_id.eq(account_id))
            .filter(task_assignees::user_id.eq(user))
            .filter(task_assignees::status.eq(status.as_str()))
            .filter(task_assignees::due_at.ge(from))
            .filter(task_assignees::due_at.lt(until))
            .order((task_assignees::due_at.asc(), task_assignees::task_id.asc()))
            .select((task_assignees::due_at, task_assignees::task_id))
            .limit(limit)
            .load(conn)?;
        due.extend(rows);
    }
    due.sort();
    due.truncate(usize::try_from(limit).unwrap_or(0));
    let task_ids: Vec<i64> = due.into_iter().map(|(_, id)| id).collect();
    let tasks = tasks::get_many(conn, account_id, &task_ids)?;
    let mut user_ids = Vec::new();
    let mut contact_ids = Vec::new();
    for meeting in &meetings {
        user_ids.extend(meeting.organiser_id);
        for (who, _) in &meeting.attendees {
            match who {
                Attendee::User(id) => user_ids.push(*id),
                Attendee::Contact(id) => contact_ids.push(*id),
            }
        }
    }
    user_ids.sort_unstable();
    user_ids.dedup();
    contact_ids.sort_unstable();
    contact_ids.dedup();
    let mut people = CalendarFeed {
        meetings,
        tasks,
        ..CalendarFeed::default()
    };
    for chunk in user_ids.chunks(1000) {
        let rows: Vec<(i64, String, String)> = users::table
            .filter(users::account_id.eq(account_id))
            .filter(users::id.eq_any(chunk))
            .select((users::id, users::name, users::email))
            .load(conn)?;
        people
            .users
            .extend(rows.into_iter().map(|(id, name, email)| {
                (
                    id,
                    Person {
                        name,
                        email: Some(email),
                    },
                )
            }));
    }
    for chunk in contact_ids.chunks(1000) {
        let rows: Vec<(i64, String, Option<String>)> = contacts::table
            .filter(contacts::account_id.eq(account_id))
            .filter(contacts::id.eq_any(chunk))
            .select((contacts::id, contacts::full_name, contacts::email))
            .load(conn)?;
        people.contacts.extend(
            rows.into_iter()
                .map(|(id, name, email)| (id, Person { name, email })),
        );
    }
    Ok(people)
}
