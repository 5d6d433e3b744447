//! `/v1/oauth-clients`: the client apps an account admin registers.

use actix_web::{HttpResponse, web};
use domain::Invalid;
use domain::access::Scope;
use domain::oauth::check_grants;
use persistence::StoreError;
use persistence::oauth_clients;

use super::{paging, path_id, record};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, Caller, IfMatch, Query, encode_cursor, etag};
use crate::state::AppState;
use crate::wire::oauth_clients::{
    OAuthClientCreate, OAuthClientList, OAuthClientOut, OAuthClientUpdate, OAuthClientWithSecretOut,
};
use crate::wire::users::PageQuery;

/// List client apps
#[utoipa::path(
    operation_id = "listOAuthClients", get, path = "/v1/oauth-clients", tag = "oauth",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of client apps, oldest first", body = OAuthClientList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"]))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let (size, _, after) = paging(query.0.limit, None, query.0.cursor.as_deref())?;
    let account = caller.account_id();
    let page = state
        .run(move |conn| oauth_clients::list(conn, account, size, after.as_ref()))
        .await?;
    Ok(HttpResponse::Ok().json(OAuthClientList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page.items.into_iter().map(OAuthClientOut::from).collect(),
    }))
}

/// Register a client app
///
/// A confidential client gets a secret, in this answer only.
#[utoipa::path(
    operation_id = "createOAuthClient", post, path = "/v1/oauth-clients", tag = "oauth",
    request_body = OAuthClientCreate,
    responses((status = 201, description = "The client app, with its secret", body = OAuthClientWithSecretOut, headers(("ETag" = String), ("Location" = String)))),
    security(("bearer" = ["admin"]))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<OAuthClientCreate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let new = body.0.into_new()?;
    let account = caller.account_id();
    let (client, secret) = state
        .run(move |conn| oauth_clients::create(conn, account, &new))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/v1/oauth-clients/{}", client.id)))
        .insert_header(("ETag", etag(client.version)))
        .insert_header(("Cache-Control", "no-store"))
        .json(OAuthClientWithSecretOut {
            client: OAuthClientOut::from(client),
            client_secret: secret,
        }))
}

/// Get a client app
#[utoipa::path(
    operation_id = "getOAuthClient", get, path = "/v1/oauth-clients/{id}", tag = "oauth",
    params(("id" = i64, Path, description = "The client app's id")),
    responses((status = 200, description = "The client app, without its secret", body = OAuthClientOut, headers(("ETag" = String)))),
    security(("bearer" = ["admin"]))
)]
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let id = path_id(&id)?;
    let account = caller.account_id();
    let client = state
        .run(move |conn| oauth_clients::get(conn, account, id))
        .await?;
    Ok(record(client.version, OAuthClientOut::from(client)))
}

/// Change a client app
#[utoipa::path(
    operation_id = "updateOAuthClient", patch, path = "/v1/oauth-clients/{id}", tag = "oauth",
    params(
        ("id" = i64, Path, description = "The client app's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read"),
    ),
    request_body = OAuthClientUpdate,
    responses((status = 200, description = "The client app", body = OAuthClientOut, headers(("ETag" = String)))),
    security(("bearer" = ["admin"]))
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Body<OAuthClientUpdate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let id = path_id(&id)?;
    let patch = body.0.into_patch()?;
    let account = caller.account_id();
    let client = state
        .run(move |conn| {
            oauth_clients::update(
                conn,
                account,
                id,
                if_match.0,
                patch,
                |client_type, grants, uris| {
                    check_grants(client_type, grants, uris).map_err(|(field, e)| {
                        StoreError::Invalid(Invalid::default().with(field, e))
                    })
                },
            )
        })
        .await?;
    // The change may end or narrow tokens: look callers up again.
    state.callers.clear();
    Ok(record(client.version, OAuthClientOut::from(client)))
}

/// Delete a client app
#[utoipa::path(
    operation_id = "deleteOAuthClient", delete, path = "/v1/oauth-clients/{id}", tag = "oauth",
    params(
        ("id" = i64, Path, description = "The client app's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read"),
    ),
    responses((status = 204, description = "The client app was deleted")),
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
    let account = caller.account_id();
    state
        .run(move |conn| oauth_clients::delete(conn, account, id, if_match.0))
        .await?;
    // The change may end or narrow tokens: look callers up again.
    state.callers.clear();
    Ok(HttpResponse::NoContent().finish())
}

/// Rotate a client app's secret
///
/// The new secret is in this answer only; the old one stops working at once.
#[utoipa::path(
    operation_id = "rotateOAuthClientSecret", post, path = "/v1/oauth-clients/{id}/secret", tag = "oauth",
    params(("id" = i64, Path, description = "The client app's id")),
    responses(
        (status = 201, description = "The client app with its new secret", body = OAuthClientWithSecretOut),
        (status = 409, description = "A public client has no secret", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"]))
)]
pub async fn rotate_secret(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let id = path_id(&id)?;
    let account = caller.account_id();
    let (client, secret) = state
        .run(move |conn| oauth_clients::rotate_secret(conn, account, id))
        .await?;
    // The change may end or narrow tokens: look callers up again.
    state.callers.clear();
    Ok(HttpResponse::Created()
        .insert_header(("ETag", etag(client.version)))
        .insert_header(("Cache-Control", "no-store"))
        .json(OAuthClientWithSecretOut {
            client: OAuthClientOut::from(client),
            client_secret: Some(secret),
        }))
}
