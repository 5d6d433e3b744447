//! `/v1/projects`: projects on project pipelines, and their moves.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use domain::access::{Resource, Scope};
use domain::pipeline::{Outcome, RecordKind};
use persistence::projects::{self, ProjectFilter};

use super::{bad_query, check_times, created, paging, path_id, record};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, Caller, IfMatch, Query, encode_cursor, etag};
use crate::state::AppState;
use crate::wire::projects::{
    ProjectCreate, ProjectList, ProjectListQuery, ProjectMoveOut, ProjectOut,
    ProjectTransitionList, ProjectTransitionOut, ProjectUpdate, parse_state,
};
use crate::wire::transitions::MoveRequest;
use crate::wire::users::PageQuery;

const READ: Scope = Scope::Read(Resource::Projects);
const WRITE: Scope = Scope::Write(Resource::Projects);

/// List projects
///
/// Newest first unless `sort` says otherwise; keyset-paginated with `cursor`.
#[utoipa::path(
    operation_id = "listProjects", get, path = "/v1/projects", tag = "projects",
    params(ProjectListQuery),
    responses(
        (status = 200, description = "A page of projects", body = ProjectList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["projects:read"]))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<ProjectListQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let q = query.0;
    check_times(&[
        ("created_since", q.created_since),
        ("updated_since", q.updated_since),
    ])?;
    let (size, sort, after) = paging(q.limit, q.sort.as_deref(), q.cursor.as_deref())?;
    let filter = ProjectFilter {
        q: q.q.filter(|s| !s.trim().is_empty()),
        company_id: q.company_id,
        owner_id: q.owner_id,
        tag: q.tag,
        pipeline_id: q.pipeline_id,
        phase_id: q.phase_id,
        state: q
            .state
            .as_deref()
            .map(parse_state)
            .transpose()
            .map_err(|e| bad_query("state", e))?,
        outcome: q
            .outcome
            .as_deref()
            .map(Outcome::parse)
            .transpose()
            .map_err(|e| bad_query("outcome", e))?,
        created_since: q.created_since,
        updated_since: q.updated_since,
        expected_finish_before: q.expected_finish_before,
        expected_finish_after: q.expected_finish_after,
    };
    let account = caller.account_id();
    let page = state
        .run(move |conn| projects::list(conn, account, &filter, sort, size, after.as_ref()))
        .await?;
    Ok(HttpResponse::Ok().json(ProjectList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page.items.into_iter().map(ProjectOut::from).collect(),
    }))
}

/// Create a project
///
/// It starts in `phase_id` (a phase of a project pipeline), or else in the first phase of
/// the account's default project pipeline: its first history row.
#[utoipa::path(
    operation_id = "createProject", post, path = "/v1/projects", tag = "projects",
    request_body(content = ProjectCreate, example = json!({
        "name": "Office move 2027",
        "company_id": 42,
        "value": {"amount": "12500.00", "currency": "EUR"},
        "probability": 40,
        "expected_start_date": "2027-03-01",
        "expected_duration": "P3M",
        "proposal_due_date": "2027-01-15",
        "tags": ["relocation"]
    })),
    responses(
        (status = 201, description = "The project was created", body = ProjectOut,
         headers(("ETag" = String, description = "The version as an entity tag"), ("Location" = String))),
    ),
    security(("bearer" = ["projects:write"]))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<ProjectCreate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let (fields, phase) = body.0.into_fields()?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let project = state
        .run(move |conn| projects::create(conn, account, &fields, phase, &outbox))
        .await?;
    Ok(created(
        format!("/v1/projects/{}", project.id),
        project.version,
        ProjectOut::from(project),
    ))
}

/// Get a project
#[utoipa::path(
    operation_id = "getProject", get, path = "/v1/projects/{id}", tag = "projects",
    params(("id" = i64, Path, description = "The project's id")),
    responses(
        (status = 200, description = "The project", body = ProjectOut, headers(("ETag" = String))),
    ),
    security(("bearer" = ["projects:read"]))
)]
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let id = path_id(&id)?;
    let account = caller.account_id();
    let project = state
        .run(move |conn| projects::get(conn, account, id))
        .await?;
    Ok(record(project.version, ProjectOut::from(project)))
}

/// Update a project
///
/// Send `If-Match: "<version>"` to make sure nobody changed the project since you read it.
#[utoipa::path(
    operation_id = "updateProject", patch, path = "/v1/projects/{id}", tag = "projects",
    params(
        ("id" = i64, Path, description = "The project's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the project has changed since"),
    ),
    request_body = ProjectUpdate,
    responses(
        (status = 200, description = "The updated project", body = ProjectOut, headers(("ETag" = String))),
        (status = 412, description = "The project changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["projects:write"]))
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Body<ProjectUpdate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let patch = body.0.into_patch()?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let project = state
        .run(move |conn| projects::update(conn, account, id, if_match.0, patch, &outbox))
        .await?;
    Ok(record(project.version, ProjectOut::from(project)))
}

/// Delete a project
///
/// Its history goes with it.
#[utoipa::path(
    operation_id = "deleteProject", delete, path = "/v1/projects/{id}", tag = "projects",
    params(
        ("id" = i64, Path, description = "The project's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the project has changed since"),
    ),
    responses(
        (status = 204, description = "The project was deleted"),
        (status = 412, description = "The project changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["projects:write"]))
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
        .run(move |conn| projects::delete(conn, account, id, if_match.0, &outbox))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A project's history
///
/// Every move of the project, newest first.
#[utoipa::path(
    operation_id = "listProjectTransitions", get, path = "/v1/projects/{id}/transitions", tag = "projects",
    params(("id" = i64, Path, description = "The project's id"), PageQuery),
    responses(
        (status = 200, description = "A page of the project's history", body = ProjectTransitionList),
    ),
    security(("bearer" = ["projects:read"]))
)]
pub async fn history(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let id = path_id(&id)?;
    let (size, _, after) = paging(query.0.limit, None, query.0.cursor.as_deref())?;
    let account = caller.account_id();
    let page = state
        .run(move |conn| projects::history(conn, account, id, size, after.as_ref()))
        .await?;
    Ok(HttpResponse::Ok().json(ProjectTransitionList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page
            .items
            .into_iter()
            .map(ProjectTransitionOut::from)
            .collect(),
    }))
}

/// Move a project
///
/// The same moves as a company's: `to_phase_id`, `to_state` by its `to_status` name,
/// `outcome` won or lost with a reason, `reopen` and `remove`. Winning sets `won_at` and
/// `close_date`, losing and cancelling `close_date`, completing `completed_date`.
#[utoipa::path(
    operation_id = "moveProject", post, path = "/v1/projects/{id}/transitions", tag = "projects",
    params(
        ("id" = i64, Path, description = "The project's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the project has changed since"),
    ),
    request_body(content = MoveRequest, examples(
        ("to a phase" = (value = json!({"to_phase_id": 12}))),
        ("by state" = (value = json!({"to_status": "active"}))),
        ("won" = (value = json!({"outcome": "won"}))),
        ("lost, with a reason" = (value = json!({"outcome": "lost", "reason": "Budget withdrawn"}))),
    )),
    responses(
        (status = 201, description = "The project moved: the history row and the project as it now is", body = ProjectMoveOut, headers(("ETag" = String))),
        (status = 200, description = "The project already was there; nothing changed", body = ProjectMoveOut, headers(("ETag" = String))),
        (status = 412, description = "The project changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["projects:write"]))
)]
pub async fn transition(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Body<MoveRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let request = body.0.into_move(RecordKind::Project)?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let (transition, project) = state
        .run(move |conn| projects::move_project(conn, account, id, if_match.0, request, &outbox))
        .await?;
    let version = project.version;
    let body = ProjectMoveOut {
        changed: transition.is_some(),
        transition: transition.map(ProjectTransitionOut::from),
        project: ProjectOut::from(project),
    };
    let mut response = if body.changed {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    Ok(response
        .insert_header((header::ETAG, etag(version)))
        .json(body))
}
