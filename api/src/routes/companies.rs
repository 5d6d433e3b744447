//! `/v1/companies`: create, read, list, update and delete companies.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use domain::access::{Resource, Scope};
use domain::fields::FieldRecordType;
use domain::pipeline::{Outcome, RecordKind, Status};
use domain::validation::ValueError;
use domain::{FieldError, Invalid};
use persistence::companies::{self, CompanyFilter};
use persistence::computed;
use persistence::{merges, transitions};

use super::{activity_filter, check_times, created, paging, path_id, record, sorted_paging};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, Caller, IfMatch, Query, encode_cursor, etag};
use crate::state::AppState;
use crate::wire::companies::{
    CompanyCreate, CompanyList, CompanyListQuery, CompanyOut, CompanyUpdate,
};
use crate::wire::merges::MergeRequest;
use crate::wire::transitions::{MoveOut, MoveRequest, TransitionList, TransitionOut};
use crate::wire::users::PageQuery;

const READ: Scope = Scope::Read(Resource::Companies);
const WRITE: Scope = Scope::Write(Resource::Companies);

/// List companies
///
/// Newest first unless `sort` says otherwise; keyset-paginated with `cursor`.
#[utoipa::path(
    operation_id = "listCompanies", get, path = "/v1/companies", tag = "companies",
    params(CompanyListQuery),
    responses(
        (status = 200, description = "A page of companies", body = CompanyList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["companies:read"]))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<CompanyListQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let q = query.0;
    check_times(&[
        ("created_since", q.created_since),
        ("updated_since", q.updated_since),
    ])?;
    let view =
        super::views::applied_view(&state, &caller, q.view_id, FieldRecordType::Company).await?;
    let (size, sort, after) = sorted_paging(
        q.limit,
        q.sort
            .as_deref()
            .or(view.as_ref().and_then(|v| v.spec.sort.as_deref())),
        q.cursor.as_deref(),
        &domain::listing::SortField::COMPANY,
    )?;
    let bad = |field: &str, e: ValueError| {
        ApiError::BadRequest(
            format!("query parameter `{field}` {}", e.message),
            vec![FieldError::new(field, e.code, e.message)],
        )
    };
    let mut filter = CompanyFilter {
        q: q.q.filter(|s| !s.trim().is_empty()),
        owner_id: q.owner_id,
        tag: q.tag,
        industry: q.industry,
        created_since: q.created_since,
        updated_since: q.updated_since,
        pipeline_id: q.pipeline_id,
        phase_id: q.phase_id,
        relationship_status: q
            .relationship_status
            .as_deref()
            .map(Status::parse_any)
            .transpose()
            .map_err(|e| bad("relationship_status", e))?,
        outcome: q
            .outcome
            .as_deref()
            .map(Outcome::parse)
            .transpose()
            .map_err(|e| bad("outcome", e))?,
        follow_up_due: q.follow_up_due,
        show_in_pipeline: q.show_in_pipeline,
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
    let account = caller.account_id();
    let (scope, unit, subunits) = (
        caller.records(),
        q.unit_id,
        q.include_subunits.unwrap_or(false),
    );
    // Lookup and rollup values, but none the caller may not see.
    let mask = caller.0.field_mask();
    let page = state
        .run(move |conn| {
            filter.matching = super::views::view_filter(conn, account, view.as_ref())?;
            filter.reach = persistence::units::reach(conn, account, scope, unit, subunits)?;
            companies::list(conn, account, &filter, sort, size, after.as_ref())
                .and_then(|page| computed::fill_page(conn, account, &mask, page))
        })
        .await?;
    Ok(HttpResponse::Ok().json(CompanyList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page.items.into_iter().map(CompanyOut::from).collect(),
    }))
}

/// Create a company
#[utoipa::path(
    operation_id = "createCompany", post, path = "/v1/companies", tag = "companies",
    request_body = CompanyCreate,
    responses(
        (status = 201, description = "The company was created", body = CompanyOut,
         headers(("ETag" = String, description = "The version as an entity tag"), ("Location" = String))),
    ),
    security(("bearer" = ["companies:write"]))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<CompanyCreate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let phase = body.0.phase_id;
    let fields = body.0.into_fields()?;
    if phase.is_some_and(|p| p < 1) {
        return Err(ApiError::Invalid(Invalid::one(
            "phase_id",
            "invalid_id",
            "must be a positive id",
        )));
    }
    let (account, outbox) = (caller.account_id(), caller.outbox());
    // Lookup and rollup values, but none the caller may not see.
    let mask = caller.0.field_mask();
    let company = state
        .run(move |conn| {
            companies::create(conn, account, &fields, phase, &outbox)
                .and_then(|record| computed::fill_one(conn, account, &mask, record))
        })
        .await?;
    Ok(created(
        format!("/v1/companies/{}", company.id),
        company.version,
        CompanyOut::from(company),
    ))
}

/// Get a company
#[utoipa::path(
    operation_id = "getCompany", get, path = "/v1/companies/{id}", tag = "companies",
    params(("id" = i64, Path, description = "The company's id")),
    responses(
        (status = 200, description = "The company", body = CompanyOut, headers(("ETag" = String))),
    ),
    security(("bearer" = ["companies:read"]))
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
    let company = state
        .run(move |conn| {
            companies::get(conn, account, id)
                .and_then(|record| computed::fill_one(conn, account, &mask, record))
        })
        .await?;
    Ok(record(company.version, CompanyOut::from(company)))
}

/// Update a company
///
/// Send `If-Match: "<version>"` to make sure nobody changed the company since you read it.
#[utoipa::path(
    operation_id = "updateCompany", patch, path = "/v1/companies/{id}", tag = "companies",
    params(
        ("id" = i64, Path, description = "The company's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the company has changed since"),
    ),
    request_body = CompanyUpdate,
    responses(
        (status = 200, description = "The updated company", body = CompanyOut, headers(("ETag" = String))),
        (status = 412, description = "The company changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["companies:write"]))
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Body<CompanyUpdate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let patch = body.0.into_patch()?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    // Lookup and rollup values, but none the caller may not see.
    let mask = caller.0.field_mask();
    let company = state
        .run(move |conn| {
            companies::update(conn, account, id, if_match.0, patch, &outbox)
                .and_then(|record| computed::fill_one(conn, account, &mask, record))
        })
        .await?;
    Ok(record(company.version, CompanyOut::from(company)))
}

/// Delete a company
///
/// Its contacts are kept and unlinked from it.
#[utoipa::path(
    operation_id = "deleteCompany", delete, path = "/v1/companies/{id}", tag = "companies",
    params(
        ("id" = i64, Path, description = "The company's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the company has changed since"),
    ),
    responses(
        (status = 204, description = "The company was deleted"),
        (status = 412, description = "The company changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["companies:write"]))
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
        .run(move |conn| companies::delete(conn, account, id, if_match.0, &outbox))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A company's history
///
/// Every move of the company, newest first: from and to phase and status, outcome, reason,
/// who moved it, when, and how long it had spent in the phase it left.
#[utoipa::path(
    operation_id = "listCompanyTransitions", get, path = "/v1/companies/{id}/transitions", tag = "companies",
    params(("id" = i64, Path, description = "The company's id"), PageQuery),
    responses(
        (status = 200, description = "A page of the company's history", body = TransitionList),
    ),
    security(("bearer" = ["companies:read"]))
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
        .run(move |conn| transitions::history(conn, account, id, size, after.as_ref()))
        .await?;
    Ok(HttpResponse::Ok().json(TransitionList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page.items.into_iter().map(TransitionOut::from).collect(),
    }))
}

/// Move a company
///
/// Send exactly one of `{"to_phase_id": 12}`, `{"to_status": "active"}`,
/// `{"outcome": "lost", "reason": "Went with a competitor"}`, `{"action": "reopen"}` or
/// `{"action": "remove"}`. The move, the company and its history row are written together.
/// A move to where the company already is writes nothing and answers 200 with
/// `changed: false`.
#[utoipa::path(
    operation_id = "moveCompany", post, path = "/v1/companies/{id}/transitions", tag = "companies",
    params(
        ("id" = i64, Path, description = "The company's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the company has changed since"),
    ),
    request_body(content = MoveRequest, examples(
        ("to a phase" = (value = json!({"to_phase_id": 12}))),
        ("by status" = (value = json!({"to_status": "active"}))),
        ("won" = (value = json!({"outcome": "won"}))),
        ("lost, with a reason" = (value = json!({"outcome": "lost", "reason": "Chose a cheaper supplier"}))),
        ("reopen" = (value = json!({"action": "reopen"}))),
        ("out of the pipeline" = (value = json!({"action": "remove"}))),
    )),
    responses(
        (status = 201, description = "The company moved: the history row and the company as it now is", body = MoveOut, headers(("ETag" = String))),
        (status = 200, description = "The company already was there; nothing changed", body = MoveOut, headers(("ETag" = String))),
        (status = 412, description = "The company changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["companies:write"]))
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
    let request = body.0.into_move(RecordKind::Company)?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    // Lookup and rollup values, but none the caller may not see.
    let mask = caller.0.field_mask();
    let (transition, company) = state
        .run(move |conn| {
            transitions::move_company(conn, account, id, if_match.0, request, &outbox).and_then(
                |(moved, record)| Ok((moved, computed::fill_one(conn, account, &mask, record)?)),
            )
        })
        .await?;
    let version = company.version;
    let body = MoveOut {
        changed: transition.is_some(),
        transition: transition.map(TransitionOut::from),
        company: CompanyOut::from(company),
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

/// Merge duplicate companies into this one
///
/// Everything the duplicates hold moves to this company (the survivor), in one transaction:
/// every contact of a duplicate now works at the survivor (each gets a new version); every
/// history row of a duplicate now belongs to the survivor, so its history and
/// `time_in_phases` hold the duplicates' journeys too, while the survivor keeps its own
/// current place in the pipeline. Tags are united (refused with 422 when together they are
/// more than 50, rather than dropping any); each empty field of the survivor (`null`,
/// including `owner_id`) takes the first value the duplicates have, in the order listed;
/// custom-field keys the survivor lacks are added the same way. The duplicates are then
/// deleted.
///
/// Events, in this order: one `company.merged` for the survivor (`data.object` as it now is,
/// `data.previous` its changed fields, `data.merged_ids` the duplicates); a
/// `contact.updated` for each contact that moved; and a `company.deleted` for each duplicate
/// (`data.object` as it was, `data.merged_into` the survivor's id), so that a mirror learns
/// they are gone and where their records went.
#[utoipa::path(
    operation_id = "mergeCompanies", post, path = "/v1/companies/{id}/merge", tag = "companies",
    params(
        ("id" = i64, Path, description = "The surviving company's id"),
        ("If-Match" = Option<String>, Header, description = "The survivor's ETag you last read; 412 when it has changed since"),
    ),
    request_body = MergeRequest,
    responses(
        (status = 200, description = "The duplicates were merged: the survivor as it now is", body = CompanyOut, headers(("ETag" = String))),
        (status = 404, description = "There is no such surviving company in this account", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The companies kept changing pipeline while the merge took its locks; retry", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The survivor changed since the ETag in If-Match; nothing was merged", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`duplicate_ids` is invalid: empty, over 50, repeated, the survivor itself, an id that is no company of this account (`unknown_company`, naming it), or duplicates whose tags or custom fields together exceed one company's limits; nothing was merged", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["companies:write"]))
)]
pub async fn merge(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Body<MergeRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let duplicates = body.0.into_duplicates(id)?;
    let scope = caller.records();
    let (account, outbox) = (caller.account_id(), caller.outbox());
    // Lookup and rollup values, but none the caller may not see.
    let mask = caller.0.field_mask();
    let company = state
        .run(move |conn| {
            // Only records the caller sees may be merged in.
            persistence::units::refuse_unseen(
                conn,
                account,
                FieldRecordType::Company,
                duplicates.as_slice(),
                &scope,
            )?;
            merges::merge_companies(conn, account, id, &duplicates, if_match.0, &outbox)
                .and_then(|record| computed::fill_one(conn, account, &mask, record))
        })
        .await?;
    Ok(record(company.version, CompanyOut::from(company)))
}
