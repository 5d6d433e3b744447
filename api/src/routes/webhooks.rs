//! `/v1/webhooks`: REST-hook subscriptions, their test ping and their delivery log. Admins
//! only: a subscription receives every record its events carry. Delivery itself is the
//! worker's (`crate::webhooks`).

use actix_web::{HttpResponse, web};
use domain::FieldError;
use domain::access::Scope;
use domain::webhook::DeliveryStatus;
use persistence::webhooks;

use super::{paging, path_id, record};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, Caller, IfMatch, Query, encode_cursor, etag};
use crate::state::AppState;
use crate::wire::users::PageQuery;
use crate::wire::webhooks::{
    DeliveryList, DeliveryOut, DeliveryQuery, WebhookCreate, WebhookList, WebhookOut,
    WebhookUpdate, WebhookWithSecretOut,
};

/// List webhook subscriptions
#[utoipa::path(
    operation_id = "listWebhooks", get, path = "/v1/webhooks", tag = "webhooks",
    params(PageQuery),
    responses(
        (status = 200, description = "A page of subscriptions, oldest first", body = WebhookList),
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
        .run(move |conn| webhooks::list(conn, account, size, after.as_ref()))
        .await?;
    Ok(HttpResponse::Ok().json(WebhookList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page.items.into_iter().map(WebhookOut::from).collect(),
    }))
}

/// Subscribe
///
/// Deliveries of the named event types start with the next change. The answer carries the
/// signing `secret`, this once.
#[utoipa::path(
    operation_id = "createWebhook", post, path = "/v1/webhooks", tag = "webhooks",
    request_body = WebhookCreate,
    responses((status = 201, description = "The subscription, with its signing secret", body = WebhookWithSecretOut, headers(("ETag" = String), ("Location" = String)))),
    security(("bearer" = ["admin"]))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<WebhookCreate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let mut new = body
        .0
        .into_new(state.settings.webhooks.allow_private_targets)?;
    // Deliveries show what the creator's role may see.
    new.created_by = caller.user_id().ok();
    let account = caller.account_id();
    let vault = state.vault();
    let (webhook, secret) = state
        .run(move |conn| webhooks::create(conn, &vault, account, &new))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Location", format!("/v1/webhooks/{}", webhook.id)))
        .insert_header(("ETag", etag(webhook.version)))
        .insert_header(("Cache-Control", "no-store"))
        .json(WebhookWithSecretOut {
            webhook: WebhookOut::from(webhook),
            secret,
        }))
}

/// Get a webhook subscription
#[utoipa::path(
    operation_id = "getWebhook", get, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(("id" = i64, Path, description = "The subscription's id")),
    responses((status = 200, description = "The subscription, without its secret", body = WebhookOut, headers(("ETag" = String)))),
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
    let webhook = state
        .run(move |conn| webhooks::get(conn, account, id))
        .await?;
    Ok(record(webhook.version, WebhookOut::from(webhook)))
}

/// Change a webhook subscription
///
/// `{"active": true}` re-enables a disabled subscription: its pending deliveries resume,
/// oldest first.
#[utoipa::path(
    operation_id = "updateWebhook", patch, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(
        ("id" = i64, Path, description = "The subscription's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read"),
    ),
    request_body = WebhookUpdate,
    responses((status = 200, description = "The subscription", body = WebhookOut, headers(("ETag" = String)))),
    security(("bearer" = ["admin"]))
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Body<WebhookUpdate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let id = path_id(&id)?;
    let patch = body
        .0
        .into_patch(state.settings.webhooks.allow_private_targets)?;
    let account = caller.account_id();
    let webhook = state
        .run(move |conn| webhooks::update(conn, account, id, if_match.0, patch))
        .await?;
    Ok(record(webhook.version, WebhookOut::from(webhook)))
}

/// Unsubscribe
///
/// Deletes the subscription and its delivery log; nothing more is sent to it.
#[utoipa::path(
    operation_id = "deleteWebhook", delete, path = "/v1/webhooks/{id}", tag = "webhooks",
    params(
        ("id" = i64, Path, description = "The subscription's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read"),
    ),
    responses((status = 204, description = "The subscription was deleted")),
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
        .run(move |conn| webhooks::delete(conn, account, id, if_match.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Send a test ping
///
/// Queues a `webhook.test` event for this subscription only, behind its pending deliveries;
/// `data.object` is the subscription. The ping is not in the events feed.
#[utoipa::path(
    operation_id = "testWebhook", post, path = "/v1/webhooks/{id}/test", tag = "webhooks",
    params(("id" = i64, Path, description = "The subscription's id")),
    responses(
        (status = 202, description = "The ping's delivery, queued", body = DeliveryOut),
        (status = 409, description = "The subscription is disabled; re-enable it first", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"]))
)]
pub async fn test(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let id = path_id(&id)?;
    let account = caller.account_id();
    let actor = caller.actor();
    let delivery = state
        .run(move |conn| {
            webhooks::send_test(conn, account, id, actor, |webhook| {
                serde_json::to_value(WebhookOut::from(webhook.clone()))
                    .unwrap_or(serde_json::Value::Null)
            })
        })
        .await?;
    Ok(HttpResponse::Accepted().json(DeliveryOut::from(delivery)))
}

/// Rotate a subscription's signing secret
///
/// The new secret is in this answer only; deliveries are signed with it from now on.
#[utoipa::path(
    operation_id = "rotateWebhookSecret", post, path = "/v1/webhooks/{id}/secret", tag = "webhooks",
    params(("id" = i64, Path, description = "The subscription's id")),
    responses((status = 201, description = "The subscription with its new secret", body = WebhookWithSecretOut, headers(("ETag" = String)))),
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
    let vault = state.vault();
    let (webhook, secret) = state
        .run(move |conn| webhooks::rotate_secret(conn, &vault, account, id))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("ETag", etag(webhook.version)))
        .insert_header(("Cache-Control", "no-store"))
        .json(WebhookWithSecretOut {
            webhook: WebhookOut::from(webhook),
            secret,
        }))
}

/// List a subscription's deliveries
///
/// The delivery log, newest first: each event sent (or to be sent), its status, attempts,
/// the receiver's last status code, latency and error.
#[utoipa::path(
    operation_id = "listWebhookDeliveries", get, path = "/v1/webhooks/{id}/deliveries", tag = "webhooks",
    params(("id" = i64, Path, description = "The subscription's id"), DeliveryQuery),
    responses(
        (status = 200, description = "A page of deliveries, newest first", body = DeliveryList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["admin"]))
)]
pub async fn deliveries(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: Query<DeliveryQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Admin)?;
    let id = path_id(&id)?;
    let status = query
        .0
        .status
        .as_deref()
        .map(DeliveryStatus::parse)
        .transpose()
        .map_err(|e| {
            ApiError::BadRequest(
                format!("query parameter `status` {}", e.message),
                vec![FieldError::new("status", e.code, e.message)],
            )
        })?;
    let (size, _, after) = paging(query.0.limit, None, query.0.cursor.as_deref())?;
    let account = caller.account_id();
    let page = state
        .run(move |conn| webhooks::deliveries(conn, account, id, status, size, after.as_ref()))
        .await?;
    Ok(HttpResponse::Ok().json(DeliveryList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page.items.into_iter().map(DeliveryOut::from).collect(),
    }))
}
