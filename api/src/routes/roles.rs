//! `/v1/roles`: the account's roles (the built-in `admin`, `member` and `viewer`, and custom
//! ones), with their rights, field rules and visibility. Any team member or app of the
//! account reads them; admins write them.

use actix_web::{HttpResponse, web};
use domain::access::Scope;
use persistence::roles;

use super::{created, paging, path_id, record};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, Caller, IfMatch, Query, encode_cursor};
use crate::state::AppState;
use crate::wire::roles::{RoleCreate, RoleList, RoleOut, RoleUpdate};
use crate::wire::users::PageQuery;

/// List roles
///
/// In id order: the three built-in roles first.
#[utoipa::path(
    operation_id = "listRoles", get, path = "/v1/roles", tag = "roles",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of roles", body = RoleList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = []))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let (size, _, after) = paging(q.limit, None, q.cursor.as_deref())?;
    let account = caller.account_id();
    let page = state
        .run(move |conn| roles::list(conn, account, size, after.as_ref()))
        .await?;
    Ok(HttpResponse::Ok().json(RoleList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page.items.into_iter().map(RoleOut::from).collect(),
    }))
}

/// Define a custom role
///
/// Its members get `rights` as their ceiling (their tokens' scopes narrow it), see and write
/// fields as `field_rules` say, and see the records `visibility` says.
#[utoipa::path(
    operation_id = "createRole", post, path = "/v1/roles", tag = "roles",
    request_body = RoleCreate,
    responses(
        (status = 201, description = "The role was defined", body = RoleOut,
         headers(("ETag" = String, description = "The version as an entity tag"), ("Location" = String))),
        (status = 422, description = "The name is taken, a right is unknown (or `admin`), or a rule names an unknown field", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"]))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<RoleCreate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let spec = body.0.into_spec()?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let role = state
        .run(move |conn| roles::create(conn, account, &spec, &outbox))
        .await?;
    Ok(created(
        format!("/v1/roles/{}", role.id),
        role.version,
        RoleOut::from(role),
    ))
}

/// Get a role
#[utoipa::path(
    operation_id = "getRole", get, path = "/v1/roles/{id}", tag = "roles",
    params(("id" = i64, Path, description = "The role's id")),
    responses(
        (status = 200, description = "The role", body = RoleOut, headers(("ETag" = String))),
    ),
    security(("bearer" = []))
)]
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = path_id(&id)?;
    let account = caller.account_id();
    let role = state.run(move |conn| roles::get(conn, account, id)).await?;
    Ok(record(role.version, RoleOut::from(role)))
}

/// Update a role
///
/// `field_rules` replaces the rules whole. A built-in role's name and rights never change;
/// its rules and visibility do. Members feel the change at their next request on this
/// replica, and within the auth cache's lifetime (2 s by default) on the others.
#[utoipa::path(
    operation_id = "updateRole", patch, path = "/v1/roles/{id}", tag = "roles",
    params(
        ("id" = i64, Path, description = "The role's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the role has changed since"),
    ),
    request_body = RoleUpdate,
    responses(
        (status = 200, description = "The updated role", body = RoleOut, headers(("ETag" = String))),
        (status = 412, description = "The role changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A built-in role's name or rights were changed, the name is taken, or a rule names an unknown field", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"]))
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Body<RoleUpdate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let id = path_id(&id)?;
    let change = body.0;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let role = state
        .run(move |conn| {
            roles::update(
                conn,
                account,
                id,
                if_match.0,
                |current| change.apply(current),
                &outbox,
            )
        })
        .await?;
    // Members' cached callers carry the old rights and rules.
    state.callers.clear();
    Ok(record(role.version, RoleOut::from(role)))
}

/// Delete a custom role
///
/// Refused (409) for a built-in role, and for a role team members hold, with their count.
#[utoipa::path(
    operation_id = "deleteRole", delete, path = "/v1/roles/{id}", tag = "roles",
    params(
        ("id" = i64, Path, description = "The role's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the role has changed since"),
    ),
    responses(
        (status = 204, description = "The role was deleted"),
        (status = 409, description = "The role is built in, or team members hold it (with their count)", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The role changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
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
        .run(move |conn| roles::delete(conn, account, id, if_match.0, &outbox))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
