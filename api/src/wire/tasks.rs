//! Task bodies and the task list's query string.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use domain::Invalid;
use domain::task::{Due, Priority, Task, TaskFields, TaskPatch, TimeZoneName, parse_assignees};
use domain::validation::ValueError;
use domain::values::{Description, Title};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::input::Parser;
use super::links::{LinkOut, links_out};
use super::{double_option, list_of};

/// A task: something someone must do, by a day or a time, about any number of records.
#[derive(Debug, Serialize, ToSchema)]
pub struct TaskOut {
    #[schema(example = 31)]
    pub id: i64,
    #[schema(example = "Follow up on the proposal")]
    pub title: String,
    #[schema(required = true)]
    pub notes: Option<String>,
    /// Due on this day, all day (then `due_at` is null).
    #[schema(required = true, example = "2026-12-07")]
    pub due_date: Option<NaiveDate>,
    /// Due at this time (then `due_date` is null).
    #[schema(required = true)]
    pub due_at: Option<DateTime<Utc>>,
    /// The IANA time zone the client gave with the due time.
    #[schema(required = true, example = "Europe/London")]
    pub time_zone: Option<String>,
    #[schema(schema_with = super::schema::priority)]
    pub priority: String,
    /// `open`, or `done` once completed (`POST /v1/tasks/{id}/complete`).
    #[schema(schema_with = super::schema::task_status)]
    pub status: String,
    #[schema(required = true)]
    pub done_at: Option<DateTime<Utc>>,
    /// The team member who completed it.
    #[schema(required = true)]
    pub done_by: Option<i64>,
    /// The team members who must do it, in id order.
    pub assignee_ids: Vec<i64>,
    /// The records it is about.
    pub links: Vec<LinkOut>,
    pub tags: Vec<String>,
    /// The team member who created it (`null` for an app acting for the account).
    #[schema(required = true)]
    pub created_by: Option<i64>,
    /// Increases with every change; send it back in `If-Match` as `"<version>"`.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Task> for TaskOut {
    fn from(t: Task) -> Self {
        TaskOut {
            id: t.id,
            title: t.title,
            notes: t.notes,
            due_date: match t.due {
                Some(Due::On(date)) => Some(date),
                _ => None,
            },
            due_at: match t.due {
                Some(Due::At(at)) => Some(at),
                _ => None,
            },
            time_zone: t.time_zone.map(|tz| tz.as_str().to_owned()),
            priority: t.priority.as_str().to_owned(),
            status: t.status.as_str().to_owned(),
            done_at: t.done_at,
            done_by: t.done_by,
            assignee_ids: t.assignee_ids,
            links: links_out(t.links),
            tags: t.tags,
            created_by: t.created_by,
            version: t.version,
            created_at: t.created_at,
            updated_at: t.updated_at,
        }
    }
}

list_of!(TaskList, TaskOut, "tasks");

/// A new task. Only `title` is required. Give `due_date` for a day, or `due_at` for a time,
/// not both. Without `assignee_ids`, the task is the creating team member's.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskCreate {
    /// 1 to 500 characters, one line.
    #[schema(example = "Follow up on the proposal", max_length = 500)]
    pub title: String,
    /// Up to 10,000 characters.
    #[schema(max_length = 10000)]
    pub notes: Option<String>,
    #[schema(example = "2026-12-07")]
    pub due_date: Option<NaiveDate>,
    /// An RFC 3339 time with its offset; kept in UTC.
    pub due_at: Option<DateTime<Utc>>,
    /// An IANA time zone name such as `Europe/London`.
    #[schema(example = "Europe/London")]
    pub time_zone: Option<String>,
    /// Default `normal`.
    #[schema(schema_with = super::schema::priority)]
    pub priority: Option<String>,
    /// Active team members of the account, at most 20.
    #[schema(max_items = 20)]
    pub assignee_ids: Option<Vec<i64>>,
    /// Companies, contacts and projects of the account, at most 50.
    #[schema(max_items = 50)]
    pub links: Option<Vec<LinkOut>>,
    #[schema(schema_with = super::schema::tags)]
    pub tags: Option<Vec<String>>,
}

impl TaskCreate {
    /// The task's fields; `creator` is assigned when the body names nobody.
    pub fn into_fields(self, creator: Option<i64>) -> Result<TaskFields, Invalid> {
        let mut p = Parser::default();
        let title = p.required("title", &self.title, Title::parse);
        let notes = p.optional("notes", self.notes.as_deref(), Description::parse);
        let due = p.due(Some(self.due_date), Some(self.due_at)).flatten();
        let time_zone = p.optional("time_zone", self.time_zone.as_deref(), TimeZoneName::parse);
        let priority = p
            .optional("priority", self.priority.as_deref(), Priority::parse)
            .unwrap_or_default();
        let assignees = match self.assignee_ids {
            Some(ids) => p.check("assignee_ids", parse_assignees(&ids)),
            None => Some(creator.into_iter().collect()),
        };
        let links = p.links(self.links.as_deref());
        let tags = p.tags(self.tags.as_deref());
        p.build(match (title, assignees, links, tags) {
            (Some(title), Some(assignee_ids), Some(links), Some(tags)) => Some(TaskFields {
                title,
                notes,
                due,
                time_zone,
                priority,
                assignee_ids,
                links,
                tags,
            }),
            _ => None,
        })
    }
}

/// Changes to a task: absent fields stay as they are, `null` clears a field. Setting
/// `due_date` or `due_at` replaces the due of either kind; `null` in either clears it.
/// `assignee_ids`, `links` and `tags` replace the lists. The status changes only through
/// `/complete` and `/reopen`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskUpdate {
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, max_length = 500)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 10000)]
    pub notes: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub due_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub due_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub time_zone: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, schema_with = super::schema::priority)]
    pub priority: Option<String>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, max_items = 20)]
    pub assignee_ids: Option<Vec<i64>>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, max_items = 50)]
    pub links: Option<Vec<LinkOut>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = super::schema::tags)]
    pub tags: Option<Option<Vec<String>>>,
}

impl TaskUpdate {
    pub fn into_patch(self) -> Result<TaskPatch, Invalid> {
        let mut p = Parser::default();
        let patch = TaskPatch {
            title: p.patch_required("title", self.title.as_deref(), Title::parse),
            notes: p.patch(
                "notes",
                self.notes.as_ref().map(Option::as_deref),
                Description::parse,
            ),
            due: p.due(self.due_date, self.due_at),
            time_zone: p.patch(
                "time_zone",
                self.time_zone.as_ref().map(Option::as_deref),
                TimeZoneName::parse,
            ),
            priority: p.patch_required("priority", self.priority.as_deref(), Priority::parse),
            assignee_ids: self
                .assignee_ids
                .and_then(|ids| p.check("assignee_ids", parse_assignees(&ids))),
            links: self.links.and_then(|links| p.links(Some(links.as_slice()))),
            tags: p.tags_patch(self.tags.as_ref().map(Option::as_deref)),
        };
        p.finish()?;
        Ok(patch)
    }
}

impl Parser {
    /// A due day or time: `None` leaves it alone, `Some(None)` clears it.
    fn due(
        &mut self,
        date: Option<Option<NaiveDate>>,
        at: Option<Option<DateTime<Utc>>>,
    ) -> Option<Option<Due>> {
        let in_range = |year: i32| (1..=9999).contains(&year);
        let out_of_range =
            || ValueError::new("out_of_range", "must be between the years 1 and 9999");
        match (date.flatten(), at.flatten()) {
            (Some(_), Some(_)) => {
                self.check::<()>(
                    "due_at",
                    Err(ValueError::new(
                        "conflicting_due",
                        "give due_date (a day) or due_at (a time), not both",
                    )),
                );
                None
            }
            (Some(date), None) if !in_range(date.year()) => {
                self.check::<()>("due_date", Err(out_of_range()));
                None
            }
            (None, Some(at)) if !in_range(at.year()) => {
                self.check::<()>("due_at", Err(out_of_range()));
                None
            }
            (Some(date), None) => Some(Some(Due::On(date))),
            (None, Some(at)) => Some(Some(Due::At(at))),
            (None, None) if date.is_some() || at.is_some() => Some(None),
            (None, None) => None,
        }
    }
}

/// Filters, order and page of the task list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TaskListQuery {
    /// Records per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `due_at`, `created_at` or `updated_at`; prefix `-` for descending. Default
    /// `-created_at`. By `due_at`, tasks without a due are left out (all-day tasks sort at
    /// their day's start in UTC).
    #[param(schema_with = super::schema::task_sort)]
    pub sort: Option<String>,
    /// Assigned to this team member; `me` for the caller.
    #[param(example = "me")]
    pub assignee: Option<String>,
    #[param(schema_with = super::schema::task_status)]
    pub status: Option<String>,
    /// `true`: only open tasks past their due (all-day tasks from the day after theirs, in
    /// `time_zone`).
    pub overdue: Option<bool>,
    /// The IANA time zone whose day `overdue` counts in (default UTC).
    #[param(example = "Europe/London")]
    pub time_zone: Option<String>,
    /// Due at or after this RFC 3339 time.
    pub due_after: Option<DateTime<Utc>>,
    /// Due before this RFC 3339 time.
    pub due_before: Option<DateTime<Utc>>,
    /// Linked to this record, as `<type>:<id>`.
    #[param(example = "company:12")]
    pub linked: Option<String>,
    /// Has this tag (exact match).
    pub tag: Option<String>,
    /// Changed at or after this RFC 3339 time.
    pub updated_since: Option<DateTime<Utc>>,
}
