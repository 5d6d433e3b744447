//! `/v1/projects`: projects on project pipelines, and their moves.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use domain::access::{Resource, Scope};
use domain::fields::FieldRecordType;
use domain::pipeline::{Outcome, RecordKind};
use domain::project::Project;
use persistence::computed;
use persistence::projects::people::{self, Member, Side};
use persistence::projects::{self, ProjectFilter};

use super::{
    activity_filter, bad_query, check_times, created, paging, path_id, record, sorted_paging,
};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, Caller, IfMatch, Query, encode_cursor, etag};
use crate::state::AppState;
use crate::wire::projects::{
    ProjectContactList, ProjectContactOut, ProjectContactPut, ProjectCreate, ProjectList,
    ProjectListQuery, ProjectMoveOut, ProjectOut, ProjectTransitionList, ProjectTransitionOut,
    ProjectUpdate, TeamMemberList, TeamMemberOut, TeamMemberPut, parse_state,
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
    page(state, &caller, query.0, None).await
}

/// List a company's projects
///
/// The projects whose `company_id` is this company, with the filters and sorts of
/// `GET /v1/projects`; 404 when there is no such company.
#[utoipa::path(
    operation_id = "listCompanyProjects", get, path = "/v1/companies/{id}/projects", tag = "projects",
    params(("id" = i64, Path, description = "The company's id"), ProjectListQuery),
    responses(
        (status = 200, description = "A page of the company's projects", body = ProjectList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such company", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["projects:read"]))
)]
pub async fn list_of_company(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: Query<ProjectListQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let company = path_id(&id)?;
    if query.0.company_id.is_some_and(|c| c != company) {
        return Err(bad_query(
            "company_id",
            domain::validation::ValueError::new(
                "conflicts_with_path",
                "is the company of the path already; leave it out",
            ),
        ));
    }
    page(state, &caller, query.0, Some(company)).await
}

/// A page of projects; of one company (which must exist) when `company` is given.
async fn page(
    state: web::Data<AppState>,
    caller: &Caller,
    q: ProjectListQuery,
    company: Option<i64>,
) -> Result<HttpResponse, ApiError> {
    check_times(&[
        ("created_since", q.created_since),
        ("updated_since", q.updated_since),
    ])?;
    let account = caller.account_id();
    let view =
        super::views::applied_view(&state, caller, q.view_id, FieldRecordType::Project).await?;
    let (size, sort, after) = sorted_paging(
        q.limit,
        q.sort
            .as_deref()
            .or(view.as_ref().and_then(|v| v.spec.sort.as_deref())),
        q.cursor.as_deref(),
        &domain::listing::SortField::PROJECT,
    )?;
    let amount = |field: &'static str, raw: Option<&str>| {
        raw.map(|raw| domain::project::parse_amount(raw).map_err(|e| bad_query(field, e)))
            .transpose()
    };
    let value_min = amount("value_min", q.value_min.as_deref())?;
    let value_max = amount("value_max", q.value_max.as_deref())?;
    let currency = q
        .currency
        .as_deref()
        .map(|c| domain::project::Currency::parse(c).map_err(|e| bad_query("currency", e)))
        .transpose()?
        .map(|c| c.as_str().to_owned());
    let mut filter = ProjectFilter {
        q: q.q.filter(|s| !s.trim().is_empty()),
        company_id: company.or(q.company_id),
        owner_id: q.owner_id,
        external_id: q.external_id,
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
        value_min,
        value_max,
        currency,
        activity: activity_filter(
            (
                q.last_activity_before,
                q.last_activity_after,
                q.has_last_activity,
            ),
            (
                q.next_activity_before,
                q.next_activity_after,
                q.has_next_activity,
            ),
        )?,
        matching: None,
        reach: Default::default(),
    };
    let (scope, unit, subunits) = (
        caller.records(),
        q.unit_id,
        q.include_subunits.unwrap_or(false),
    );
    // Lookup and rollup values, but none the caller may not see.
    let mask = caller.0.field_mask();
    let page = state
        .run(move |conn| {
            if let Some(company) = company {
                persistence::companies::get(conn, account, company)?;
            }
            filter.matching = super::views::view_filter(conn, account, view.as_ref())?;
            filter.reach = persistence::units::reach(conn, account, scope, unit, subunits)?;
            projects::list(conn, account, &filter, sort, size, after.as_ref())
                .and_then(|page| computed::fill_page(conn, account, &mask, page))
        })
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
    // Lookup and rollup values, but none the caller may not see.
    let mask = caller.0.field_mask();
    let project = state
        .run(move |conn| {
            projects::create(conn, account, &fields, phase, &outbox)
                .and_then(|record| computed::fill_one(conn, account, &mask, record))
        })
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
    // Lookup and rollup values, but none the caller may not see.
    let mask = caller.0.field_mask();
    let project = state
        .run(move |conn| {
            projects::get(conn, account, id)
                .and_then(|record| computed::fill_one(conn, account, &mask, record))
        })
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
    // Lookup and rollup values, but none the caller may not see.
    let mask = caller.0.field_mask();
    let project = state
        .run(move |conn| {
            projects::update(conn, account, id, if_match.0, patch, &outbox)
                .and_then(|record| computed::fill_one(conn, account, &mask, record))
        })
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

/// Merge duplicate projects into this one
///
/// In one transaction: every history row of a duplicate now belongs to this project (the
/// survivor), so its history and `time_in_phases` hold the duplicates' journeys too, while
/// the survivor keeps its own place in its pipeline; the duplicates' contacts and team join
/// it where they are not on it already (the survivor's roles stay). Tags are united (422
/// when together they are more than 50); each empty field of the survivor (`null`) takes the
/// first value the duplicates have, in the order listed (the planned start, duration and
/// finish come together from one project); custom-field keys it lacks are added the same way,
/// and an `external_id` it lacks is taken over. The duplicates are then deleted.
///
/// Events, in this order: `project.merged` for the survivor (`data.merged_ids` the
/// duplicates), then a `project.deleted` for each duplicate (`data.merged_into` the survivor).
#[utoipa::path(
    operation_id = "mergeProjects", post, path = "/v1/projects/{id}/merge", tag = "projects",
    params(
        ("id" = i64, Path, description = "The surviving project's id"),
        ("If-Match" = Option<String>, Header, description = "The survivor's ETag you last read; 412 when it has changed since"),
    ),
    request_body = crate::wire::merges::MergeRequest,
    responses(
        (status = 200, description = "The duplicates were merged: the survivor as it now is", body = ProjectOut, headers(("ETag" = String))),
        (status = 404, description = "There is no such surviving project in this account", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The projects kept changing pipeline while the merge took its locks; retry", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The survivor changed since the ETag in If-Match; nothing was merged", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`duplicate_ids` is invalid: empty, over 50, repeated, the survivor itself, an id that is no project of this account (`unknown_project`, naming it), or duplicates whose tags or custom fields together exceed one project's limits; nothing was merged", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["projects:write"]))
)]
pub async fn merge(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Body<crate::wire::merges::MergeRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let duplicates = body.0.into_duplicates(id)?;
    let scope = caller.records();
    let (account, outbox) = (caller.account_id(), caller.outbox());
    // Lookup and rollup values, but none the caller may not see.
    let mask = caller.0.field_mask();
    let project = state
        .run(move |conn| {
            // Only records the caller sees may be merged in.
            persistence::units::refuse_unseen(
                conn,
                account,
                FieldRecordType::Project,
                duplicates.as_slice(),
                &scope,
            )?;
            persistence::merges::merge_projects(conn, account, id, &duplicates, if_match.0, &outbox)
                .and_then(|record| computed::fill_one(conn, account, &mask, record))
        })
        .await?;
    Ok(record(project.version, ProjectOut::from(project)))
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
    // Lookup and rollup values, but none the caller may not see.
    let mask = caller.0.field_mask();
    let (transition, project) = state
        .run(move |conn| {
            projects::move_project(conn, account, id, if_match.0, request, &outbox).and_then(
                |(moved, record)| Ok((moved, computed::fill_one(conn, account, &mask, record)?)),
            )
        })
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

/// The people of a project on one side, as a list.
fn people_list(project: &Project, side: Side) -> HttpResponse {
    let out = ProjectOut::from(project.clone());
    let mut response = HttpResponse::Ok();
    response.insert_header((header::ETAG, etag(project.version)));
    match side {
        Side::Contacts => response.json(ProjectContactList {
            data: out.contacts,
            next_cursor: None,
        }),
        Side::Team => response.json(TeamMemberList {
            data: out.team,
            next_cursor: None,
        }),
    }
}

/// One person of a project, as written.
fn person_out(project: Project, side: Side, person: i64, created: bool) -> HttpResponse {
    let version = project.version;
    let out = ProjectOut::from(project);
    let mut response = if created {
        HttpResponse::Created()
    } else {
        HttpResponse::Ok()
    };
    response.insert_header((header::ETAG, etag(version)));
    match side {
        Side::Contacts => response.json(out.contacts.into_iter().find(|c| c.contact_id == person)),
        Side::Team => response.json(out.team.into_iter().find(|m| m.user_id == person)),
    }
}

/// A project's contacts
///
/// Its buying center: the client's people on it and their part in the decision, in contact
/// id order (at most 100, on one page). The ETag is the project's.
#[utoipa::path(
    operation_id = "listProjectContacts", get, path = "/v1/projects/{id}/contacts", tag = "projects",
    params(("id" = i64, Path, description = "The project's id")),
    responses((status = 200, description = "The project's contacts", body = ProjectContactList, headers(("ETag" = String)))),
    security(("bearer" = ["projects:read"]))
)]
pub async fn list_contacts(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    list_people(state, caller, id, Side::Contacts).await
}

/// A project's team
///
/// The firm's people on it and their roles, in user id order (at most 100, on one page). The
/// ETag is the project's.
#[utoipa::path(
    operation_id = "listProjectTeam", get, path = "/v1/projects/{id}/team", tag = "projects",
    params(("id" = i64, Path, description = "The project's id")),
    responses((status = 200, description = "The project's team", body = TeamMemberList, headers(("ETag" = String)))),
    security(("bearer" = ["projects:read"]))
)]
pub async fn list_team(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    list_people(state, caller, id, Side::Team).await
}

async fn list_people(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    side: Side,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let id = path_id(&id)?;
    let account = caller.account_id();
    let project = state
        .run(move |conn| projects::get(conn, account, id))
        .await?;
    Ok(people_list(&project, side))
}

/// Put a contact on a project
///
/// Adds a contact of the account with their part in the decision (201), or changes it
/// (200). The project takes a new version with `project.updated`; `If-Match` applies to it.
#[utoipa::path(
    operation_id = "putProjectContact", put, path = "/v1/projects/{id}/contacts/{contact_id}", tag = "projects",
    params(
        ("id" = i64, Path, description = "The project's id"),
        ("contact_id" = i64, Path, description = "A contact of the account"),
        ("If-Match" = Option<String>, Header, description = "The project's ETag you last read; 412 when it has changed since"),
    ),
    request_body = ProjectContactPut,
    responses(
        (status = 201, description = "The contact is now on the project", body = ProjectContactOut, headers(("ETag" = String))),
        (status = 200, description = "The contact's part changed, or already was this", body = ProjectContactOut, headers(("ETag" = String))),
        (status = 412, description = "The project changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["projects:write"]))
)]
pub async fn put_contact(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    body: Body<ProjectContactPut>,
) -> Result<HttpResponse, ApiError> {
    let role = body.0.into_role()?;
    put_person(state, caller, path, if_match, Side::Contacts, role).await
}

/// Put a team member on a project
///
/// Adds an active team member with a role (201), or changes it (200). The project takes a
/// new version with `project.updated`; `If-Match` applies to it.
#[utoipa::path(
    operation_id = "putProjectTeamMember", put, path = "/v1/projects/{id}/team/{user_id}", tag = "projects",
    params(
        ("id" = i64, Path, description = "The project's id"),
        ("user_id" = i64, Path, description = "An active team member of the account"),
        ("If-Match" = Option<String>, Header, description = "The project's ETag you last read; 412 when it has changed since"),
    ),
    request_body = TeamMemberPut,
    responses(
        (status = 201, description = "The team member is now on the project", body = TeamMemberOut, headers(("ETag" = String))),
        (status = 200, description = "The role changed, or already was this", body = TeamMemberOut, headers(("ETag" = String))),
        (status = 412, description = "The project changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["projects:write"]))
)]
pub async fn put_member(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    body: Body<TeamMemberPut>,
) -> Result<HttpResponse, ApiError> {
    let role = body.0.into_role()?;
    put_person(state, caller, path, if_match, Side::Team, role).await
}

async fn put_person(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    side: Side,
    role: String,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&path.0)?;
    let person = path_id(&path.1)?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let member = Member {
        side,
        id: person,
        role,
    };
    let (project, created) = state
        .run(move |conn| people::put(conn, account, id, &member, if_match.0, &outbox))
        .await?;
    Ok(person_out(project, side, person, created))
}

/// Take a contact off a project
///
/// The project takes a new version with `project.updated`; 404 when the contact is not on it.
#[utoipa::path(
    operation_id = "removeProjectContact", delete, path = "/v1/projects/{id}/contacts/{contact_id}", tag = "projects",
    params(
        ("id" = i64, Path, description = "The project's id"),
        ("contact_id" = i64, Path, description = "A contact on the project"),
        ("If-Match" = Option<String>, Header, description = "The project's ETag you last read; 412 when it has changed since"),
    ),
    responses(
        (status = 204, description = "The contact is off the project", headers(("ETag" = String))),
        (status = 412, description = "The project changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["projects:write"]))
)]
pub async fn remove_contact(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    remove_person(state, caller, path, if_match, Side::Contacts).await
}

/// Take a team member off a project
///
/// The project takes a new version with `project.updated`; 404 when the user is not on it.
#[utoipa::path(
    operation_id = "removeProjectTeamMember", delete, path = "/v1/projects/{id}/team/{user_id}", tag = "projects",
    params(
        ("id" = i64, Path, description = "The project's id"),
        ("user_id" = i64, Path, description = "A team member on the project"),
        ("If-Match" = Option<String>, Header, description = "The project's ETag you last read; 412 when it has changed since"),
    ),
    responses(
        (status = 204, description = "The team member is off the project", headers(("ETag" = String))),
        (status = 412, description = "The project changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["projects:write"]))
)]
pub async fn remove_member(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    remove_person(state, caller, path, if_match, Side::Team).await
}

async fn remove_person(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    side: Side,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&path.0)?;
    let person = path_id(&path.1)?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let project = state
        .run(move |conn| people::remove(conn, account, id, side, person, if_match.0, &outbox))
        .await?;
    Ok(HttpResponse::NoContent()
        .insert_header((header::ETAG, etag(project.version)))
        .finish())
}
