//! Cross-cutting request handling: a request id on every request and its log line, the
//! request's path and id in every problem, `If-None-Match` on reads, the `/v1` rate limit,
//! and problem+json for errors actix answers by itself (no route, wrong method).

use actix_web::HttpMessage;
use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::{ErrorHandlerResponse, Next};
use actix_web::{HttpRequest, HttpResponse, ResponseError, web};
use domain::token::TokenKind;
use rand::RngCore;
use tracing::Instrument;

use crate::error::{ApiError, PROBLEM_JSON};
use crate::extract::{CorsOrigin, bearer_token, url_token};
use crate::rate_limit;
use crate::state::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The longest request target (path and query) the service reads, in bytes.
pub const MAX_URI_BYTES: usize = 8 * 1024;
/// The most header fields a request may carry, and their largest total size (names and
/// values), in bytes. Both sit below actix's own parser limits (96 fields, a 32 KiB head), so
/// that a request over them gets a problem that says what to cut rather than the parser's
/// bodiless 431.
pub const MAX_HEADER_FIELDS: usize = 64;
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Refuses a request whose target or header fields exceed the limits above: 414 or 431 as
/// problem+json, before any other work.
pub async fn head_limits(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if let Err(refusal) = check_head(&req) {
        let response = refusal.error_response();
        return Ok(req.into_response(response).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}

fn check_head(req: &ServiceRequest) -> Result<(), ApiError> {
    let target = req.uri().path_and_query().map_or(0, |p| p.as_str().len());
    if target > MAX_URI_BYTES {
        return Err(ApiError::UriTooLong {
            limit: MAX_URI_BYTES,
        });
    }
    let headers = req.headers();
    if headers.len() > MAX_HEADER_FIELDS {
        return Err(ApiError::HeadersTooLarge {
            why: format!(
                "the request has {} header fields; at most {MAX_HEADER_FIELDS} are read",
                headers.len()
            ),
        });
    }
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len())
        .sum();
    if bytes > MAX_HEADER_BYTES {
        return Err(ApiError::HeadersTooLarge {
            why: format!(
                "the request's header fields take {bytes} bytes; at most {MAX_HEADER_BYTES} are read"
            ),
        });
    }
    Ok(())
}

/// Tags the request with an id (the caller's `x-request-id` if it is sane, else a new one),
/// logs one line when it completes, and echoes the id in the response.
pub async fn request_id(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        })
        .map_or_else(new_request_id, str::to_owned);
    let span = tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.path());
    let started = std::time::Instant::now();
    let response = next.call(req).instrument(span.clone()).await?;
    let mut response = complete_problem(response, &id).await;
    let status = response.status().as_u16();
    span.in_scope(|| {
        tracing::info!(
            status,
            elapsed_ms = started.elapsed().as_secs_f64() * 1000.0,
            "handled"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(response)
}

/// Adds the request's path (`instance`) and id to a problem+json answer, whoever wrote it:
/// the one place that knows both, so no handler or error has to.
async fn complete_problem<B: MessageBody + 'static>(
    response: ServiceResponse<B>,
    request_id: &str,
) -> ServiceResponse<BoxBody> {
    let is_problem = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()));
    if !is_problem {
        return response.map_into_boxed_body();
    }
    let instance = response.request().path().to_owned();
    let (req, response) = response.into_parts();
    let (head, body) = response.into_parts();
    let body = match actix_web::body::to_bytes(body).await {
        Ok(bytes) => match serde_json::from_slice::<serde_json::Value>(&bytes) {
            Ok(serde_json::Value::Object(mut problem)) => {
                problem.entry("instance").or_insert_with(|| instance.into());
                problem
                    .entry("request_id")
                    .or_insert_with(|| request_id.into());
                serde_json::to_vec(&problem).map_or(bytes, web::Bytes::from)
            }
            _ => bytes,
        },
        Err(_) => web::Bytes::new(),
    };
    ServiceResponse::new(req, head.set_body(BoxBody::new(body)))
}

/// `If-None-Match` on a read: when it names the record's current entity tag (or is `*`), the
/// answer is `304 Not Modified` with the tag and no body, for every route that sends an ETag.
pub async fn not_modified(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let tags = (req.method() == Method::GET || req.method() == Method::HEAD)
        .then(|| req.headers().get(header::IF_NONE_MATCH))
        .flatten()
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let response = next.call(req).await?;
    let current = response
        .headers()
        .get(header::ETAG)
        .and_then(|v| v.to_str().ok());
    let matched = match (tags.as_deref(), current) {
        (Some(tags), Some(current)) if response.status() == StatusCode::OK => {
            none_match_names(tags, current)
        }
        _ => false,
    };
    if !matched {
        return Ok(response.map_into_left_body());
    }
    let (req, old) = response.into_parts();
    let mut answer = HttpResponse::build(StatusCode::NOT_MODIFIED);
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.append_header((name.clone(), value.clone()));
        }
    }
    Ok(ServiceResponse::new(req, answer.finish()).map_into_right_body())
}

/// Whether an `If-None-Match` list names `current` (weak comparison, RFC 9110 §13.1.2).
fn none_match_names(tags: &str, current: &str) -> bool {
    let opaque = |tag: &str| tag.trim().trim_start_matches("W/").to_owned();
    let current = opaque(current);
    tags.trim() == "*" || tags.split(',').any(|tag| opaque(tag) == current)
}

fn new_request_id() -> String {
    let mut bytes = [0u8; 12];
    rand::rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What a page with a JavaScript token may send: reads only.
const CORS_METHODS: &str = "GET, HEAD, OPTIONS";
const CORS_HEADERS: &str = "Authorization, Content-Type, If-None-Match, x-request-id";

/// Why a CORS preflight is refused, in words that say what to change; `None` when it is not.
fn preflight_refusal(req: &ServiceRequest, origin: &str, listed: bool) -> Option<String> {
    if !listed {
        return Some(format!(
            "the origin `{origin}` is not listed by any JavaScript token; an admin lists it in a JavaScript token's `allowed_origins`"
        ));
    }
    let asked = |name| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    };
    let method = asked(header::ACCESS_CONTROL_REQUEST_METHOD);
    if !matches!(method.trim(), "GET" | "HEAD" | "OPTIONS") {
        return Some(format!(
            "the method `{}` is not allowed from a browser: JavaScript tokens only read ({CORS_METHODS})",
            method.trim()
        ));
    }
    let allowed: Vec<String> = CORS_HEADERS
        .split(", ")
        .map(str::to_ascii_lowercase)
        .collect();
    let headers = asked(header::ACCESS_CONTROL_REQUEST_HEADERS);
    let refused = headers
        .split(',')
        .map(str::trim)
        .find(|h| !h.is_empty() && !allowed.contains(&h.to_ascii_lowercase()));
    refused.map(|h| {
        format!("the request header `{h}` is not allowed from a browser; allowed: {CORS_HEADERS}")
    })
}

/// Headers a page may read from a response.
const EXPOSED_HEADERS: &str = "ETag, Location, x-request-id, Retry-After";

/// CORS for JavaScript tokens. A preflight carries no token, so it is answered for any origin
/// that a live JavaScript token lists; the real request is then checked against its own
/// token's origins, and only then does its response allow that origin.
pub async fn cors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let origin = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let preflight = req.method() == actix_web::http::Method::OPTIONS
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
    if let (true, Some(origin)) = (preflight, origin.as_ref()) {
        let listed = match req.app_data::<actix_web::web::Data<AppState>>() {
            Some(state) => {
                let lookup = origin.to_lowercase();
                state
                    .run(move |conn| persistence::tokens::origin_is_listed(conn, &lookup))
                    .await
                    .unwrap_or(false)
            }
            None => false,
        };
        let response = match preflight_refusal(&req, origin, listed) {
            None => HttpResponse::NoContent()
                .insert_header((header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.as_str()))
                .insert_header((header::ACCESS_CONTROL_ALLOW_METHODS, CORS_METHODS))
                .insert_header((header::ACCESS_CONTROL_ALLOW_HEADERS, CORS_HEADERS))
                .insert_header((header::ACCESS_CONTROL_MAX_AGE, "600"))
                .insert_header((header::VARY, "Origin"))
                .finish(),
            Some(why) => ApiError::PreflightRefused {
                origin_listed: listed,
                why,
            }
            .error_response(),
        };
        return Ok(req.into_response(response).map_into_right_body());
    }
    let mut response = next.call(req).await?;
    let allowed = response
        .request()
        .extensions()
        .get::<CorsOrigin>()
        .map(|o| o.0.clone());
    if let Some(allowed) = allowed
        && let Ok(value) = HeaderValue::from_str(&allowed)
    {
        let headers = response.headers_mut();
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
        headers.insert(header::VARY, HeaderValue::from_static("Origin"));
    }
    Ok(response.map_into_left_body())
}

/// Replaces the body of an error response that is not already problem+json.
pub fn problem_for_bare_errors<B: MessageBody + 'static>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // Problems, and the pages the sign-in flow shows people, are answers already.
    let answered = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()) || v.as_bytes().starts_with(b"text/html")
    });
    if answered {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let error = match status.as_u16() {
        404 => ApiError::NotFound,
        405 => ApiError::BadRequest(
            "this method is not allowed on this resource".into(),
            Vec::new(),
        ),
        413 => ApiError::PayloadTooLarge { limit: 0 },
        s if s >= 500 => ApiError::Internal(format!("{status}")),
        _ => ApiError::BadRequest(
            status
                .canonical_reason()
                .unwrap_or("bad request")
                .to_owned(),
            Vec::new(),
        ),
    };
    let mut problem = error.problem();
    problem.status = status.as_u16();
    if status.as_u16() == 405 {
        problem.code = "method_not_allowed".into();
        problem.r#type = "https://clientline.dev/problems/method_not_allowed".into();
        problem.title = crate::error::title(&problem.code);
    }
    let (req, old) = res.into_parts();
    let mut response = HttpResponse::build(status);
    for (name, value) in old.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            response.append_header((name.clone(), value.clone()));
        }
    }
    let response: HttpResponse<BoxBody> = response.content_type(PROBLEM_JSON).json(problem);
    Ok(ErrorHandlerResponse::Response(
        ServiceResponse::new(req, response).map_into_right_body(),
    ))
}

/// What a 404 says when no operation has the path: unlike a missing record's, so that a
/// caller (and the test that checks the router against the spec) can tell the two apart.
pub const NO_SUCH_OPERATION: &str =
    "no operation has this path; the paths are those of /openapi.json";

/// Any path the API does not have.
pub async fn not_found(_req: HttpRequest) -> HttpResponse {
    // Not a missing record: no operation has this path, or this method on it.
    let mut problem = ApiError::NotFound.problem();
    problem.detail = NO_SUCH_OPERATION.to_owned();
    HttpResponse::NotFound()
        .content_type(PROBLEM_JSON)
        .body(serde_json::to_string(&problem).unwrap_or_default())
}

/// Counts every `/v1` request against its caller's quota and says where the caller stands.
pub async fn rate_limit(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let Some(limiter) = req
        .app_data::<web::Data<AppState>>()
        .map(|s| s.rate_limiter.clone())
    else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let address = req.peer_addr().map(|a| a.ip());
    // A calendar feed's token may come in its URL: it is counted as the token it is (calendar
    // apps fetch from a few shared addresses), once its prefix says it may be one.
    let token = bearer_token(req.request()).ok().or_else(|| {
        url_token(req.request()).filter(|t| t.starts_with(TokenKind::Calendar.prefix()))
    });
    let Some(key) = rate_limit::Key::of(token.as_deref(), address) else {
        return Ok(next.call(req).await?.map_into_boxed_body());
    };
    let quota = limiter.quota();
    let (mut response, standing) = match limiter.take(key, address) {
        Ok(standing) => {
            let response = next.call(req).await?;
            limiter.settle(key, address, response.status());
            (response.map_into_boxed_body(), standing)
        }
        Err(spent) => {
            let seconds = (spent.reset.as_secs_f64().ceil() as u64).max(1);
            let refused = ApiError::TooManyRequests {
                retry_after_seconds: seconds,
                why: "this token (or, without a valid token, this address) has used its request quota for the window (see RateLimit-Policy)",
            };
            let mut response = req.into_response(refused.error_response());
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            (response.map_into_boxed_body(), spent)
        }
    };
    for (name, value) in rate_limit::headers(quota, standing) {
        if let Some(value) = value {
            response.headers_mut().insert(name, value);
        }
    }
    Ok(response)
}
