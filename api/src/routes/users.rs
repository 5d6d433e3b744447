//! `/v1/users`: the account's team members. Everyone reads; admins write.

use actix_web::{HttpResponse, web};
use domain::access::{Resource, Scope};
use persistence::users;

use super::{created, paging, path_id, record};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, Caller, IfMatch, Query, encode_cursor};
use crate::state::AppState;
use crate::wire::users::{PageQuery, UserCreate, UserList, UserOut, UserUpdate};

const READ: Scope = Scope::Read(Resource::Users);
const WRITE: Scope = Scope::Write(Resource::Users);

/// List team members
#[utoipa::path(
    operation_id = "listUsers", get, path = "/v1/users", tag = "users",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of team members, oldest first", body = UserList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:read"]))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let (size, _, after) = paging(query.0.limit, None, query.0.cursor.as_deref())?;
    let account = caller.account_id();
    let page = state
        .run(move |conn| users::list(conn, account, size, after.as_ref()))
        .await?;
    Ok(HttpResponse::Ok().json(UserList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page.items.into_iter().map(UserOut::from).collect(),
    }))
}

/// Add a team member
#[utoipa::path(
    operation_id = "createUser", post, path = "/v1/users", tag = "users",
    request_body = UserCreate,
    responses(
        (status = 201, description = "The team member was added", body = UserOut, headers(("ETag" = String), ("Location" = String))),
        (status = 409, description = "A team member with this email exists", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:write"]))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<UserCreate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let new = body.0.into_new()?;
    let account = caller.account_id();
    let user = state
        .run(move |conn| users::create(conn, account, &new))
        .await?;
    Ok(created(
        format!("/v1/users/{}", user.id),
        user.version,
        UserOut::from(user),
    ))
}

/// Get a team member
#[utoipa::path(
    operation_id = "getUser", get, path = "/v1/users/{id}", tag = "users",
    params(("id" = i64, Path, description = "The team member's id")),
    responses((status = 200, description = "The team member", body = UserOut, headers(("ETag" = String)))),
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
    let user = state.run(move |conn| users::get(conn, account, id)).await?;
    Ok(record(user.version, UserOut::from(user)))
}

/// Update a team member
///
/// Change the name or role, or deactivate with `active: false`. The last active admin cannot
/// be demoted or deactivated (409).
#[utoipa::path(
    operation_id = "updateUser", patch, path = "/v1/users/{id}", tag = "users",
    params(
        ("id" = i64, Path, description = "The team member's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read"),
    ),
    request_body = UserUpdate,
    responses(
        (status = 200, description = "The updated team member", body = UserOut, headers(("ETag" = String))),
        (status = 409, description = "The account would be left without an active admin", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The team member changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:write"]))
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Body<UserUpdate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let patch = body.0.into_patch()?;
    let account = caller.account_id();
    let user = state
        .run(move |conn| users::update(conn, account, id, if_match.0, patch))
        .await?;
    // The change may end or narrow tokens: look callers up again.
    state.callers.clear();
    Ok(record(user.version, UserOut::from(user)))
}

/// Deactivate a team member
///
/// The member is kept (records they own still name them) but can no longer act: their tokens
/// stop working at once.
#[utoipa::path(
    operation_id = "deactivateUser", delete, path = "/v1/users/{id}", tag = "users",
    params(
        ("id" = i64, Path, description = "The team member's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read"),
    ),
    responses(
        (status = 204, description = "The team member was deactivated"),
        (status = 409, description = "The account would be left without an active admin", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The team member changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["users:write"]))
)]
pub async fn deactivate(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let account = caller.account_id();
    let patch = users::UserPatch {
        active: Some(false),
        ..Default::default()
    };
    state
        .run(move |conn| users::update(conn, account, id, if_match.0, patch))
        .await?;
    // The change may end or narrow tokens: look callers up again.
    state.callers.clear();
    Ok(HttpResponse::NoContent().finish())
}
