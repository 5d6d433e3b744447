//! `/v1/units`: the account's tree of teams, territories, subsidiaries and departments, and
//! `/v1/users/{id}/units`: the units a team member belongs to. Whoever reads the team reads
//! them; admins write them. A role's `visibility` decides what a unit means for the records
//! its members see.

use actix_web::{HttpResponse, web};
use domain::access::{Resource, Scope};
use persistence::units;

use super::{created, paging, path_id, record};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, Caller, IfMatch, Query, encode_cursor};
use crate::state::AppState;
use crate::wire::units::{
    MembershipsBody, UnitCreate, UnitList, UnitListQuery, UnitOut, UnitUpdate,
};

const READ: Scope = Scope::Read(Resource::Users);

/// List units
///
/// In id order; `parent_id` keeps the units directly below one unit.
#[utoipa::path(
    operation_id = "listUnits", get, path = "/v1/units", tag = "units",
    params(UnitListQuery),
    responses(
        (status = 200, description = "A page of units", body = UnitList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:read"]))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<UnitListQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let q = query.0;
    let (size, _, after) = paging(q.limit, None, q.cursor.as_deref())?;
    let account = caller.account_id();
    let page = state
        .run(move |conn| units::list(conn, account, q.parent_id, size, after.as_ref()))
        .await?;
    Ok(HttpResponse::Ok().json(UnitList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page.items.into_iter().map(UnitOut::from).collect(),
    }))
}

/// Create a unit
#[utoipa::path(
    operation_id = "createUnit", post, path = "/v1/units", tag = "units",
    request_body(content = UnitCreate, example = json!({"name": "Nordics", "kind": "territory", "parent_id": 1})),
    responses(
        (status = 201, description = "The unit was created", body = UnitOut,
         headers(("ETag" = String, description = "The version as an entity tag"), ("Location" = String))),
        (status = 409, description = "The account holds 1,000 units already", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The name is taken, the parent unknown, or the tree would be more than 16 deep", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"]))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<UnitCreate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let spec = body.0.into_spec()?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let unit = state
        .run(move |conn| units::create(conn, account, &spec, &outbox))
        .await?;
    Ok(created(
        format!("/v1/units/{}", unit.id),
        unit.version,
        UnitOut::from(unit),
    ))
}

/// Get a unit
#[utoipa::path(
    operation_id = "getUnit", get, path = "/v1/units/{id}", tag = "units",
    params(("id" = i64, Path, description = "The unit's id")),
    responses(
        (status = 200, description = "The unit", body = UnitOut, headers(("ETag" = String))),
    ),
    security(("bearer" = ["users:read"]))
)]
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let id = path_id(&id)?;
    let account = caller.account_id();
    let unit = state.run(move |conn| units::get(conn, account, id)).await?;
    Ok(record(unit.version, UnitOut::from(unit)))
}

/// Update a unit
///
/// A new `parent_id` moves the unit and everything below it; members of roles that see
/// `unit_and_below` see the records of the new subtree from their next request on this
/// replica (within the auth cache's lifetime, 2 s by default, on the others).
#[utoipa::path(
    operation_id = "updateUnit", patch, path = "/v1/units/{id}", tag = "units",
    params(
        ("id" = i64, Path, description = "The unit's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the unit has changed since"),
    ),
    request_body = UnitUpdate,
    responses(
        (status = 200, description = "The updated unit", body = UnitOut, headers(("ETag" = String))),
        (status = 412, description = "The unit changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The name is taken, or the parent is unknown, the unit itself or below it", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"]))
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Body<UnitUpdate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let id = path_id(&id)?;
    let change = body.0;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let unit = state
        .run(move |conn| units::update(conn, account, id, if_match.0, |u| change.apply(u), &outbox))
        .await?;
    // Cached callers carry the units they see.
    state.callers.clear();
    Ok(record(unit.version, UnitOut::from(unit)))
}

/// Delete a unit
///
/// Refused (409) while units sit below it or records belong to it; its members leave it.
#[utoipa::path(
    operation_id = "deleteUnit", delete, path = "/v1/units/{id}", tag = "units",
    params(
        ("id" = i64, Path, description = "The unit's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the unit has changed since"),
    ),
    responses(
        (status = 204, description = "The unit was deleted"),
        (status = 409, description = "Units sit below it, or companies, contacts or projects belong to it (with their count)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The unit changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"]))
)]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let id = path_id(&id)?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    state
        .run(move |conn| units::delete(conn, account, id, if_match.0, &outbox))
        .await?;
    state.callers.clear();
    Ok(HttpResponse::NoContent().finish())
}

/// A team member's units
#[utoipa::path(
    operation_id = "getUserUnits", get, path = "/v1/users/{id}/units", tag = "units",
    params(("id" = i64, Path, description = "The team member's id")),
    responses(
        (status = 200, description = "Their primary and other units", body = MembershipsBody),
    ),
    security(("bearer" = ["users:read"]))
)]
pub async fn memberships(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let id = path_id(&id)?;
    let account = caller.account_id();
    let found = state
        .run(move |conn| {
            persistence::users::get(conn, account, id)?;
            units::memberships(conn, account, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(MembershipsBody::from(found)))
}

/// Set a team member's units
///
/// Replaces them whole. What they see changes from their next request on this replica
/// (within the auth cache's lifetime, 2 s by default, on the others).
#[utoipa::path(
    operation_id = "setUserUnits", put, path = "/v1/users/{id}/units", tag = "units",
    params(("id" = i64, Path, description = "The team member's id")),
    request_body(content = MembershipsBody, example = json!({"primary_unit_id": 3, "unit_ids": [5]})),
    responses(
        (status = 200, description = "Their units now", body = MembershipsBody),
        (status = 422, description = "A unit is unknown or named twice", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"]))
)]
pub async fn set_memberships(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Body<MembershipsBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let id = path_id(&id)?;
    let wanted = body.0.into();
    let account = caller.account_id();
    let now = state
        .run(move |conn| units::set_memberships(conn, account, id, &wanted))
        .await?;
    state.callers.clear();
    Ok(HttpResponse::Ok().json(MembershipsBody::from(now)))
}
