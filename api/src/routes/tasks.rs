//! `/v1/tasks`: create, read, list, update, complete, reopen and delete tasks.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use domain::access::{Resource, Scope};
use domain::listing::SortField;
use domain::task::{TaskStatus, TimeZoneName};
use domain::validation::ValueError;
use persistence::tasks::{self, TaskFilter};

use super::{bad_query, check_times, created, path_id, record, sorted_paging};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, Caller, IfMatch, Query, encode_cursor};
use crate::state::AppState;
use crate::wire::links::linked_filter;
use crate::wire::tasks::{TaskCreate, TaskList, TaskListQuery, TaskOut, TaskUpdate};

const READ: Scope = Scope::Read(Resource::Tasks);
const WRITE: Scope = Scope::Write(Resource::Tasks);

/// A user filter: a team member's id, or `me` for the caller.
pub(crate) fn user_filter(
    caller: &Caller,
    field: &str,
    raw: Option<&str>,
) -> Result<Option<i64>, ApiError> {
    match raw {
        None => Ok(None),
        Some("me") => caller.user_id().map(Some),
        Some(raw) => raw
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
            .map(Some)
            .ok_or_else(|| {
                bad_query(
                    field,
                    ValueError::new("invalid_user", "must be a team member's id, or `me`"),
                )
            }),
    }
}

/// List tasks
///
/// Newest first unless `sort` says otherwise; keyset-paginated with `cursor`.
#[utoipa::path(
    operation_id = "listTasks", get, path = "/v1/tasks", tag = "tasks",
    params(TaskListQuery),
    responses(
        (status = 200, description = "A page of tasks", body = TaskList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tasks:read"]))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<TaskListQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let q = query.0;
    check_times(&[
        ("due_after", q.due_after),
        ("due_before", q.due_before),
        ("updated_since", q.updated_since),
    ])?;
    let (size, sort, after) = sorted_paging(
        q.limit,
        q.sort.as_deref(),
        q.cursor.as_deref(),
        &SortField::TASK,
    )?;
    let zone = q
        .time_zone
        .as_deref()
        .map(TimeZoneName::parse)
        .transpose()
        .map_err(|e| bad_query("time_zone", e))?
        .unwrap_or(TimeZoneName(chrono_tz::UTC));
    let now = Utc::now();
    let filter = TaskFilter {
        assignee_id: user_filter(&caller, "assignee", q.assignee.as_deref())?,
        status: q
            .status
            .as_deref()
            .map(TaskStatus::parse)
            .transpose()
            .map_err(|e| bad_query("status", e))?,
        overdue_at: q
            .overdue
            .filter(|overdue| *overdue)
            .map(|_| (now, zone.today(now))),
        due_after: q.due_after,
        due_before: q.due_before,
        linked: linked_filter(q.linked.as_deref()).map_err(|e| bad_query("linked", e))?,
        tag: q.tag,
        updated_since: q.updated_since,
    };
    let account = caller.account_id();
    let page = state
        .run(move |conn| tasks::list(conn, account, &filter, sort, size, after.as_ref()))
        .await?;
    Ok(HttpResponse::Ok().json(TaskList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page.items.into_iter().map(TaskOut::from).collect(),
    }))
}

/// Create a task
#[utoipa::path(
    operation_id = "createTask", post, path = "/v1/tasks", tag = "tasks",
    request_body = TaskCreate,
    responses(
        (status = 201, description = "The task was created", body = TaskOut,
         headers(("ETag" = String, description = "The version as an entity tag"), ("Location" = String))),
    ),
    security(("bearer" = ["tasks:write"]))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<TaskCreate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let fields = body.0.into_fields(caller.actor().user_id)?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let task = state
        .run(move |conn| tasks::create(conn, account, &fields, &outbox))
        .await?;
    Ok(created(
        format!("/v1/tasks/{}", task.id),
        task.version,
        TaskOut::from(task),
    ))
}

/// Get a task
#[utoipa::path(
    operation_id = "getTask", get, path = "/v1/tasks/{id}", tag = "tasks",
    params(("id" = i64, Path, description = "The task's id")),
    responses(
        (status = 200, description = "The task", body = TaskOut, headers(("ETag" = String))),
    ),
    security(("bearer" = ["tasks:read"]))
)]
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let id = path_id(&id)?;
    let account = caller.account_id();
    let task = state.run(move |conn| tasks::get(conn, account, id)).await?;
    Ok(record(task.version, TaskOut::from(task)))
}

/// Update a task
///
/// Send `If-Match: "<version>"` to make sure nobody changed the task since you read it.
#[utoipa::path(
    operation_id = "updateTask", patch, path = "/v1/tasks/{id}", tag = "tasks",
    params(
        ("id" = i64, Path, description = "The task's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the task has changed since"),
    ),
    request_body = TaskUpdate,
    responses(
        (status = 200, description = "The updated task", body = TaskOut, headers(("ETag" = String))),
        (status = 412, description = "The task changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tasks:write"]))
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Body<TaskUpdate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let patch = body.0.into_patch()?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let task = state
        .run(move |conn| tasks::update(conn, account, id, if_match.0, patch, &outbox))
        .await?;
    Ok(record(task.version, TaskOut::from(task)))
}

async fn set_status(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
    status: TaskStatus,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let task = state
        .run(move |conn| tasks::set_status(conn, account, id, status, if_match.0, &outbox))
        .await?;
    Ok(record(task.version, TaskOut::from(task)))
}

/// Complete a task
///
/// Marks it `done`, with `done_at` now and `done_by` the caller, and records
/// `task.completed`. A task already done is answered as it is.
#[utoipa::path(
    operation_id = "completeTask", post, path = "/v1/tasks/{id}/complete", tag = "tasks",
    params(
        ("id" = i64, Path, description = "The task's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the task has changed since"),
    ),
    responses(
        (status = 200, description = "The task, done", body = TaskOut, headers(("ETag" = String))),
        (status = 412, description = "The task changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tasks:write"]))
)]
pub async fn complete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    set_status(state, caller, id, if_match, TaskStatus::Done).await
}

/// Reopen a task
///
/// Marks it `open` again (clearing `done_at` and `done_by`) and records `task.reopened`. A
/// task already open is answered as it is.
#[utoipa::path(
    operation_id = "reopenTask", post, path = "/v1/tasks/{id}/reopen", tag = "tasks",
    params(
        ("id" = i64, Path, description = "The task's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the task has changed since"),
    ),
    responses(
        (status = 200, description = "The task, open", body = TaskOut, headers(("ETag" = String))),
        (status = 412, description = "The task changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tasks:write"]))
)]
pub async fn reopen(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    set_status(state, caller, id, if_match, TaskStatus::Open).await
}

/// Delete a task
#[utoipa::path(
    operation_id = "deleteTask", delete, path = "/v1/tasks/{id}", tag = "tasks",
    params(
        ("id" = i64, Path, description = "The task's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the task has changed since"),
    ),
    responses(
        (status = 204, description = "The task was deleted"),
        (status = 412, description = "The task changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tasks:write"]))
)]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    state
        .run(move |conn| tasks::delete(conn, account, id, if_match.0, &outbox))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
