//! `/v1/companies`: create, read, list, update and delete companies.

use actix_web::{HttpResponse, web};
use domain::access::{Resource, Scope};
use persistence::companies::{self, CompanyFilter};

use super::{created, paging, path_id, record};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, Caller, IfMatch, Query, encode_cursor};
use crate::state::AppState;
use crate::wire::companies::{
    CompanyCreate, CompanyList, CompanyListQuery, CompanyOut, CompanyUpdate,
};

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
    let (size, sort, after) = paging(q.limit, q.sort.as_deref(), q.cursor.as_deref())?;
    let filter = CompanyFilter {
        q: q.q.filter(|s| !s.trim().is_empty()),
        owner_id: q.owner_id,
        tag: q.tag,
        industry: q.industry,
        created_since: q.created_since,
        updated_since: q.updated_since,
    };
    let account = caller.account_id();
    let page = state
        .run(move |conn| companies::list(conn, account, &filter, sort, size, after.as_ref()))
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
    let fields = body.0.into_fields()?;
    let account = caller.account_id();
    let company = state
        .run(move |conn| companies::create(conn, account, &fields))
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
    let company = state
        .run(move |conn| companies::get(conn, account, id))
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
    let account = caller.account_id();
    let company = state
        .run(move |conn| companies::update(conn, account, id, if_match.0, patch))
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
    let account = caller.account_id();
    state
        .run(move |conn| companies::delete(conn, account, id, if_match.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
