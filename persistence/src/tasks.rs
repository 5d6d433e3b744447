//! Tasks: their row, assignees and filters. Links, tags, the versioned update and the delete
//! are the shared plumbing's ([`crate::links`], [`crate::tags`], [`crate::record`]).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::event::{EventType, NewEvent, Outbox, RecordType};
use domain::links::{Links, RecordRef};
use domain::listing::{Page, PageSize, Position, Sort, SortField, SortValue};
use domain::task::{Due, Priority, Task, TaskFields, TaskPatch, TaskStatus, TimeZoneName};
use domain::values::Tags;

use crate::keyset::{into_page, keyset_page, time_value, unsupported_sort};
use crate::links::Linked;
use crate::record::{self, Versioned};
use crate::references::{Ref, check_all};
use crate::schema::{task_assignees, tasks};
use crate::tags::{self, TagTable};
use crate::{
    DbConnection, StoreError, activity_dates, check_version, events, links, now, to_utc,
    write_transaction,
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = tasks)]
struct TaskRow {
    id: i64,
    account_id: i64,
    title: String,
    notes: Option<String>,
    due_date: Option<NaiveDate>,
    due_at: Option<NaiveDateTime>,
    time_zone: Option<String>,
    priority: String,
    status: String,
    done_at: Option<NaiveDateTime>,
    done_by: Option<i64>,
    assignee_ids: String,
    links: String,
    tags: String,
    created_by: Option<i64>,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl From<TaskRow> for Task {
    fn from(row: TaskRow) -> Task {
        Task {
            id: row.id,
            account_id: row.account_id,
            title: row.title,
            notes: row.notes,
            due: match (row.due_date, row.due_at) {
                (Some(date), _) => Some(Due::On(date)),
                (None, Some(at)) => Some(Due::At(to_utc(at))),
                (None, None) => None,
            },
            time_zone: row
                .time_zone
                .and_then(|name| TimeZoneName::parse(&name).ok()),
            priority: Priority::parse(&row.priority).unwrap_or_default(),
            status: TaskStatus::parse(&row.status).unwrap_or(TaskStatus::Open),
            done_at: row.done_at.map(to_utc),
            done_by: row.done_by,
            assignee_ids: serde_json::from_str(&row.assignee_ids).unwrap_or_default(),
            links: links::links_from_stored(&row.links),
            tags: serde_json::from_str(&row.tags).unwrap_or_default(),
            created_by: row.created_by,
            version: row.version,
            created_at: to_utc(row.created_at),
            updated_at: to_utc(row.updated_at),
        }
    }
}

#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = tasks, treat_none_as_null = true)]
struct TaskValues {
    title: String,
    notes: Option<String>,
    due_date: Option<NaiveDate>,
    due_at: Option<NaiveDateTime>,
    time_zone: Option<String>,
    priority: String,
    assignee_ids: String,
    links: String,
    tags: String,
}

impl From<&TaskFields> for TaskValues {
    fn from(f: &TaskFields) -> Self {
        TaskValues {
            title: f.title.as_str().to_owned(),
            notes: f.notes.as_ref().map(|n| n.as_str().to_owned()),
            due_date: match f.due {
                Some(Due::On(date)) => Some(date),
                _ => None,
            },
            due_at: f.due.map(|due| due.sort_key().naive_utc()),
            time_zone: f.time_zone.map(|tz| tz.as_str().to_owned()),
            priority: f.priority.as_str().to_owned(),
            assignee_ids: serde_json::Value::from(Vec::from_iter(f.assignee_ids.iter().copied()))
                .to_string(),
            links: links::links_to_stored(&f.links),
            tags: serde_json::Value::from(f.tags.to_vec()).to_string(),
        }
    }
}

/// Filters of the task list; every one narrows, none is required.
#[derive(Debug, Clone, Default)]
pub struct TaskFilter {
    pub assignee_id: Option<i64>,
    pub status: Option<TaskStatus>,
    /// Open and overdue at this time, for someone whose day is this date.
    pub overdue_at: Option<(DateTime<Utc>, NaiveDate)>,
    /// Due at or after this time (all-day tasks: from their day's start in UTC).
    pub due_after: Option<DateTime<Utc>>,
    /// Due before this time.
    pub due_before: Option<DateTime<Utc>>,
    pub linked: Option<RecordRef>,
    pub tag: Option<String>,
    pub updated_since: Option<DateTime<Utc>>,
}

pub fn create(
    conn: &mut DbConnection,
    account_id: i64,
    fields: &TaskFields,
    outbox: &Outbox<'_>,
) -> Result<Task, StoreError> {
    write_transaction(conn, |conn| {
        check_references(conn, account_id, fields)?;
        let at = now();
        let id: i64 = diesel::insert_into(tasks::table)
            .values((
                &TaskValues::from(fields),
                tasks::account_id.eq(account_id),
                tasks::status.eq(TaskStatus::Open.as_str()),
                tasks::created_by.eq(outbox.actor.user_id),
                tasks::version.eq(1),
                tasks::created_at.eq(at),
                tasks::updated_at.eq(at),
            ))
            .returning(tasks::id)
            .get_result(conn)?;
        tags::tasks::write(conn, account_id, &[(id, &fields.tags)])?;
        Tasks::write_beside(conn, account_id, id, None, fields)?;
        let task = find(conn, account_id, id)?;
        let data = outbox.render.task(&task);
        events::record_one(
            conn,
            account_id,
            outbox,
            NewEvent::new(EventType::TaskCreated, id, data),
        )?;
        Ok(task)
    })
}

pub fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Task, StoreError> {
    find(conn, account_id, id)
}

pub fn update(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    patch: TaskPatch,
    outbox: &Outbox<'_>,
) -> Result<Task, StoreError> {
    record::update::<Tasks>(conn, account_id, id, expected_version, patch, outbox)
}

pub fn delete(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<(), StoreError> {
    record::delete::<Tasks>(conn, account_id, id, expected_version, outbox)
}

/// Marks the task done (`done`: by the acting user, now) or open again, with its
/// `task.completed` or `task.reopened`. A task already so is answered as it is: no new
/// version, no event.
pub fn set_status(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    status: TaskStatus,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<Task, StoreError> {
    write_transaction(conn, |conn| {
        let current = Tasks::lock(conn, account_id, id)?;
        check_version(current.version, expected_version)?;
        if current.status == status {
            return Ok(current);
        }
        let done = status == TaskStatus::Done;
        let at = now();
        diesel::update(tasks::table.filter(tasks::id.eq(id)))
            .set((
                tasks::status.eq(status.as_str()),
                tasks::done_at.eq(done.then_some(at)),
                tasks::done_by.eq(outbox.actor.user_id.filter(|_| done)),
                tasks::version.eq(current.version + 1),
                tasks::updated_at.eq(at),
            ))
            .execute(conn)?;
        diesel::update(task_assignees::table.filter(task_assignees::task_id.eq(id)))
            .set(task_assignees::status.eq(status.as_str()))
            .execute(conn)?;
        activity_dates::refresh(conn, account_id, current.links.iter().copied())?;
        let task = find(conn, account_id, id)?;
        let event_type = if done {
            EventType::TaskCompleted
        } else {
            EventType::TaskReopened
        };
        let event = NewEvent::changed(
            event_type,
            id,
            &outbox.render.task(&current),
            outbox.render.task(&task),
        );
        events::record_one(conn, account_id, outbox, event)?;
        Ok(task)
    })
}

pub fn list(
    conn: &mut DbConnection,
    account_id: i64,
    filter: &TaskFilter,
    sort: Sort,
    size: PageSize,
    after: Option<&Position>,
) -> Result<Page<Task>, StoreError> {
    let mut query = tasks::table
        .filter(tasks::account_id.eq(account_id))
        .select(TaskRow::as_select())
        .into_boxed();
    if let Some(user) = filter.assignee_id {
        query = query.filter(
            tasks::id.eq_any(
                task_assignees::table
                    .filter(task_assignees::account_id.eq(account_id))
                    .filter(task_assignees::user_id.eq(user))
                    .select(task_assignees::task_id),
            ),
        );
    }
    if let Some(status) = filter.status {
        query = query.filter(tasks::status.eq(status.as_str()));
    }
    if let Some((at, today)) = filter.overdue_at {
        query = query
            .filter(tasks::status.eq(TaskStatus::Open.as_str()))
            .filter(
                tasks::due_date
                    .is_null()
                    .and(tasks::due_at.lt(at.naive_utc()))
                    .or(tasks::due_date.lt(today)),
            );
    }
    if let Some(from) = filter.due_after {
        query = query.filter(tasks::due_at.ge(from.naive_utc()));
    }
    if let Some(until) = filter.due_before {
        query = query.filter(tasks::due_at.lt(until.naive_utc()));
    }
    if let Some(record) = filter.linked {
        query = query.filter(tasks::id.eq_any(links::linked(account_id, RecordType::Task, record)));
    }
    if let Some(tag) = &filter.tag {
        query = query.filter(tasks::id.eq_any(tags::tasks::tagged(account_id, tag)));
    }
    if let Some(since) = filter.updated_since {
        query = query.filter(tasks::updated_at.ge(since.naive_utc()));
    }
    let query = match sort.field {
        SortField::CreatedAt => {
            keyset_page!(query, sort, after, tasks::created_at, tasks::id, time_value)
        }
        SortField::UpdatedAt => {
            keyset_page!(query, sort, after, tasks::updated_at, tasks::id, time_value)
        }
        SortField::DueAt => keyset_page!(
            query.filter(tasks::due_at.is_not_null()),
            sort,
            after,
            tasks::due_at.assume_not_null(),
            tasks::id,
            time_value
        ),
        _ => return Err(unsupported_sort()),
    };
    let rows: Vec<TaskRow> = query.limit(size.get() + 1).load(conn)?;
    Ok(into_page(rows, size, |last| Position {
        sort,
        value: SortValue::Time(to_utc(match sort.field {
            SortField::UpdatedAt => last.updated_at,
            SortField::DueAt => last.due_at.unwrap_or_default(),
            _ => last.created_at,
        })),
        id: last.id,
    }))
}

/// Tasks in the shared record plumbing.
pub(crate) struct Tasks;

impl Versioned for Tasks {
    type Record = Task;
    type Fields = TaskFields;
    type Patch = TaskPatch;
    const UPDATED: EventType = EventType::TaskUpdated;
    const DELETED: EventType = EventType::TaskDeleted;
    const TAGS: TagTable = tags::tasks::TABLE;

    fn lock(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Task, StoreError> {
        match conn {
            DbConnection::Postgresql(pg) => tasks::table
                .filter(tasks::id.eq(id))
                .filter(tasks::account_id.eq(account_id))
                .select(TaskRow::as_select())
                .for_update()
                .first(pg)
                .optional()?
                .map(Task::from)
                .ok_or(StoreError::NotFound),
            // SQLite's write transaction already holds the database.
            DbConnection::Sqlite(_) => find(conn, account_id, id),
        }
    }

    fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Task, StoreError> {
        find(conn, account_id, id)
    }

    fn version(task: &Task) -> i64 {
        task.version
    }

    fn render(outbox: &Outbox<'_>, task: &Task) -> serde_json::Value {
        outbox.render.task(task)
    }

    fn patched(
        conn: &mut DbConnection,
        account_id: i64,
        _id: i64,
        current: &Task,
        patch: TaskPatch,
    ) -> Result<TaskFields, StoreError> {
        let new_assignees = patch.assignee_ids.is_some();
        let new_links = patch.links.is_some();
        let fields = patch.apply(current);
        if new_assignees || new_links {
            check_references(conn, account_id, &fields)?;
        }
        Ok(fields)
    }

    fn unchanged(current: &Task, fields: &TaskFields) -> bool {
        &TaskPatch::default().apply(current) == fields
    }

    fn sets_tags(patch: &TaskPatch) -> bool {
        patch.tags.is_some()
    }

    fn tags(fields: &TaskFields) -> &Tags {
        &fields.tags
    }

    /// Its assignees and links beside the row; a new due time waits for its own `task.due`,
    /// and moves its records' next activity.
    fn write_beside(
        conn: &mut DbConnection,
        account_id: i64,
        id: i64,
        current: Option<&Task>,
        fields: &TaskFields,
    ) -> Result<(), StoreError> {
        let assignees: Vec<i64> = fields.assignee_ids.iter().copied().collect();
        let due_at = fields.due.map(|due| due.sort_key().naive_utc());
        if current.is_none_or(|c| c.assignee_ids != assignees || c.due != fields.due) {
            let status = current.map_or(TaskStatus::Open, |c| c.status);
            diesel::delete(task_assignees::table.filter(task_assignees::task_id.eq(id)))
                .execute(conn)?;
            let rows: Vec<_> = assignees
                .iter()
                .map(|user| {
                    (
                        task_assignees::task_id.eq(id),
                        task_assignees::user_id.eq(*user),
                        task_assignees::account_id.eq(account_id),
                        task_assignees::status.eq(status.as_str()),
                        task_assignees::due_at.eq(due_at),
                    )
                })
                .collect();
            crate::bulk::insert_all!(&mut *conn, task_assignees::table, &rows, 1000);
        }
        if current.is_none_or(|c| c.links != fields.links.to_vec()) {
            links::replace(conn, account_id, RecordType::Task, id, &fields.links)?;
        } else if current.is_some_and(|c| c.due != fields.due) {
            activity_dates::refresh(conn, account_id, fields.links.iter())?;
        }
        if current.is_some_and(|c| c.due != fields.due) {
            diesel::update(tasks::table.filter(tasks::id.eq(id)))
                .set(tasks::due_event_at.eq(None::<NaiveDateTime>))
                .execute(conn)?;
        }
        Ok(())
    }

    fn unlink(
        conn: &mut DbConnection,
        account_id: i64,
        id: i64,
        _outbox: &Outbox<'_>,
    ) -> Result<Vec<NewEvent>, StoreError> {
        links::remove(conn, account_id, RecordType::Task, id)?;
        Ok(Vec::new())
    }

    record::row_writes!(tasks, TaskValues);
}

impl Linked for Tasks {
    const OWNER: RecordType = RecordType::Task;

    fn links(task: &Task) -> Links {
        Links::from_stored(task.links.iter().copied())
    }

    fn relinked(links: Links) -> TaskPatch {
        TaskPatch {
            links: Some(links),
            ..TaskPatch::default()
        }
    }
}

fn check_references(
    conn: &mut DbConnection,
    account_id: i64,
    fields: &TaskFields,
) -> Result<(), StoreError> {
    let users = fields
        .assignee_ids
        .iter()
        .map(|id| Ref::User("assignee_ids", *id));
    check_all(conn, account_id, users.collect())?;
    links::check(conn, account_id, &fields.links)
}

fn find(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Task, StoreError> {
    tasks::table
        .filter(tasks::id.eq(id))
        .filter(tasks::account_id.eq(account_id))
        .select(TaskRow::as_select())
        .first(conn)
        .optional()?
        .map(Task::from)
        .ok_or(StoreError::NotFound)
}

/// Tasks of the account by id, in the order of `ids` (unknown ones left out), without locks.
pub(crate) fn get_many(
    conn: &mut DbConnection,
    account_id: i64,
    ids: &[i64],
) -> Result<Vec<Task>, StoreError> {
    let mut found = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let rows: Vec<TaskRow> = tasks::table
            .filter(tasks::account_id.eq(account_id))
            .filter(tasks::id.eq_any(chunk))
            .select(TaskRow::as_select())
            .load(conn)?;
        found.extend(rows.into_iter().map(|row| (row.id, Task::from(row))));
    }
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}
