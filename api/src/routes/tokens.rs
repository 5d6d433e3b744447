//! `/v1/tokens`: the caller's own tokens (personal, JavaScript and calendar).

use actix_web::{HttpResponse, web};
use chrono::Utc;
use domain::Invalid;
use domain::access::{Resource, Scope, ScopeSet};
use domain::token::{TokenKind, calendar_feed_scopes};
use persistence::tokens::{self, NewToken};

use super::{paging, path_id};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, Caller, Query, encode_cursor};
use crate::state::AppState;
use crate::wire::tokens::{CreatedTokenOut, TokenCreate, TokenList, TokenOut};
use crate::wire::users::PageQuery;

const READ: Scope = Scope::Read(Resource::Tokens);
const WRITE: Scope = Scope::Write(Resource::Tokens);

/// List your tokens
///
/// Your live tokens, without their secrets, oldest first.
#[utoipa::path(
    operation_id = "listTokens", get, path = "/v1/tokens", tag = "tokens",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of your tokens", body = TokenList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tokens:read"]))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let (size, _, after) = paging(query.0.limit, None, query.0.cursor.as_deref())?;
    let (account, user) = (caller.account_id(), caller.user_id()?);
    let page = state
        .run(move |conn| tokens::list(conn, account, user, size, after.as_ref()))
        .await?;
    Ok(HttpResponse::Ok().json(TokenList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page.items.into_iter().map(TokenOut::from).collect(),
    }))
}

/// Create a token
///
/// The secret is in this answer only: store it now. Its scopes must be among your own rights
/// (your role narrowed by the token you call with); without `scopes` a personal token gets
/// all of them, and a JavaScript token the reads of CRM data (`companies:read`,
/// `contacts:read`, `pipelines:read`): `users:read` and `tokens:read` must be named. A
/// calendar token (`kind: calendar`) carries no scopes: it reads your calendar feed
/// (`GET /v1/me/calendar.ics`, also with the token in its URL) and nothing else, so issuing
/// one needs `tasks:read` and `meetings:read`.
#[utoipa::path(
    operation_id = "createToken", post, path = "/v1/tokens", tag = "tokens",
    request_body = TokenCreate,
    responses(
        (status = 201, description = "The token, with its secret", body = CreatedTokenOut, headers(("Location" = String))),
    ),
    security(("bearer" = ["tokens:write"]))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<TokenCreate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let request = body.0.into_request(Utc::now())?;
    let javascript = request.kind == TokenKind::Javascript;
    let mut allowed = caller.rights().effective();
    let intake = request.scopes.as_ref().is_some_and(ScopeSet::is_intake);
    if javascript && !intake {
        // A token embedded in a page is readable by anyone who opens the page: reads only,
        // or (a web form's intake token) creating enquiries and nothing else.
        allowed = allowed.read_only();
        if let Some(writes) = request
            .scopes
            .as_ref()
            .map(ScopeSet::writes)
            .filter(|w| !w.is_empty())
        {
            let names: Vec<String> = writes.iter().map(ToString::to_string).collect();
            return Err(ApiError::Invalid(Invalid::one(
                "scopes",
                "read_only",
                format!(
                    "JavaScript tokens carry read scopes only, or enquiries:create alone (a web form's intake token); remove {}",
                    names.join(", ")
                ),
            )));
        }
    }
    let calendar = request.kind == TokenKind::Calendar;
    if calendar {
        // What the feed shows must be within the issuer's rights, as any token's scopes are.
        let beyond = calendar_feed_scopes().not_granted_by(&allowed);
        if !beyond.is_empty() {
            let names: Vec<String> = beyond.iter().map(ToString::to_string).collect();
            return Err(ApiError::Invalid(Invalid::one(
                "kind",
                "beyond_your_rights",
                format!(
                    "a calendar token reads your tasks and meetings: you need {} to issue one",
                    names.join(", ")
                ),
            )));
        }
    }
    let scopes = match request.scopes {
        Some(asked) => asked,
        // Its kind is its one grant: the calendar feed.
        None if calendar => ScopeSet::default(),
        // A page's token reads CRM data unless more was asked for by name.
        None if javascript => allowed.crm_reads(),
        None => allowed.clone(),
    };
    let beyond = scopes.not_granted_by(&allowed);
    if !beyond.is_empty() {
        let names: Vec<String> = beyond.iter().map(ToString::to_string).collect();
        return Err(ApiError::Invalid(Invalid::one(
            "scopes",
            "beyond_your_rights",
            format!(
                "you cannot grant {} (your rights: {})",
                names.join(", "),
                allowed.names().join(", ")
            ),
        )));
    }
    let (account, user) = (caller.account_id(), caller.user_id()?);
    let (token, secret) = state
        .run(move |conn| {
            tokens::create(
                conn,
                account,
                &NewToken {
                    kind: request.kind,
                    origins: &request.origins,
                    user_id: user,
                    name: &request.name,
                    scopes: &scopes,
                    expires_at: request.expires_at,
                },
            )
        })
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/v1/tokens/{}", token.id)))
        .insert_header(("Cache-Control", "no-store"))
        .json(CreatedTokenOut {
            token: TokenOut::from(token),
            token_secret: secret,
        }))
}

/// Get one of your tokens
#[utoipa::path(
    operation_id = "getToken", get, path = "/v1/tokens/{id}", tag = "tokens",
    params(("id" = i64, Path, description = "The token's id")),
    responses((status = 200, description = "The token, without its secret", body = TokenOut)),
    security(("bearer" = ["tokens:read"]))
)]
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let id = path_id(&id)?;
    let (account, user) = (caller.account_id(), caller.user_id()?);
    let token = state
        .run(move |conn| tokens::get(conn, account, user, id))
        .await?;
    Ok(HttpResponse::Ok().json(TokenOut::from(token)))
}

/// Revoke one of your tokens
///
/// It stops working at once, including for requests already queued behind this one.
#[utoipa::path(
    operation_id = "revokeToken", delete, path = "/v1/tokens/{id}", tag = "tokens",
    params(("id" = i64, Path, description = "The token's id")),
    responses((status = 204, description = "The token was revoked")),
    security(("bearer" = ["tokens:write"]))
)]
pub async fn revoke(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let (account, user) = (caller.account_id(), caller.user_id()?);
    state
        .run(move |conn| tokens::revoke(conn, account, user, id))
        .await?;
    // The change may end or narrow tokens: look callers up again.
    state.callers.clear();
    Ok(HttpResponse::NoContent().finish())
}
