//! Every error the API answers with, rendered once as RFC 9457 `application/problem+json`.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use domain::access::Denied;
use domain::{FieldError, Invalid};
use persistence::StoreError;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa::openapi::{ContentBuilder, Ref, RefOr, Response, ResponseBuilder};

pub const PROBLEM_JSON: &str = "application/problem+json";

/// An RFC 9457 problem. `code` is stable and meant for programs; `detail` for people.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem.
    #[schema(example = "https://clientline.dev/problems/validation_failed")]
    pub r#type: String,
    /// A short summary, the same for every problem of this `type`.
    #[schema(example = "Validation failed")]
    pub title: String,
    #[schema(example = 422)]
    pub status: u16,
    #[schema(example = "name: must not be blank")]
    pub detail: String,
    /// The machine-readable code, the last segment of `type`.
    #[schema(example = "validation_failed")]
    pub code: String,
    /// The request's path: where the problem happened. On every answer (not on the problems
    /// of single rows inside an import report).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "/v1/companies")]
    pub instance: Option<String>,
    /// The request's id, as in the `x-request-id` header and the service's log. On every
    /// answer (not on the problems of single rows inside an import report).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = "4f1c2a9e0b7d3e6f5a8c1b2d")]
    pub request_id: Option<String>,
    /// Present on validation failures: one entry per bad field.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
    /// On the OAuth endpoints: the RFC 6749 error code (equal to `code`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// On the OAuth endpoints: the RFC 6749 description (equal to `detail`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_description: Option<String>,
}

/// One bad field of a request.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProblemField {
    /// The field's JSON path, or the query parameter's name.
    #[schema(example = "name")]
    pub field: String,
    #[schema(example = "blank")]
    pub code: String,
    #[schema(example = "must not be blank")]
    pub message: String,
}

/// An error answer as the OpenAPI document declares it: `description`, with a problem+json
/// body of the [`Problem`] schema. For the spec's shared errors and the idempotency layer's.
pub(crate) fn problem_response(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            )
            .build(),
    )
}

/// Why a request failed. Each variant has one status and one problem code.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String, Vec<FieldError>),
    #[error("{0}")]
    Unauthorized(&'static str),
    /// The request carries no credentials at all (RFC 6750 §3.1: no error code then).
    #[error("no access token")]
    MissingToken,
    #[error("forbidden")]
    Denied(Denied),
    #[error("origin not allowed")]
    OriginNotAllowed,
    /// A calendar token, which reads the calendar feed alone, called another operation.
    #[error("a calendar token reads the calendar feed only")]
    CalendarTokenOnly,
    /// A CORS preflight from an origin no JavaScript token lists (`origin_listed: false`), or
    /// asking for a method or header JavaScript tokens do not allow; `why` says which.
    #[error("preflight refused: {why}")]
    PreflightRefused { origin_listed: bool, why: String },
    #[error("not found")]
    NotFound,
    #[error("{0}")]
    Conflict(String),
    #[error("the account must keep at least one active admin")]
    LastAdmin,
    /// Concurrent changes kept winning the locks this change needs; retrying will pass.
    #[error("lock conflict")]
    LockConflict,
    #[error("stale version")]
    PreconditionFailed { current: i64 },
    #[error("body too large")]
    PayloadTooLarge { limit: usize },
    /// The body did not arrive whole within the configured time.
    #[error("body timed out")]
    BodyTimeout { seconds: u64 },
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// The request target (path and query) is longer than the service reads.
    #[error("URI too long")]
    UriTooLong { limit: usize },
    /// The request's header fields are too many or too large; `why` says which.
    #[error("header fields too large")]
    HeadersTooLarge { why: String },
    #[error("invalid input")]
    Invalid(Invalid),
    /// The caller's role may not write these fields (field-level security).
    #[error("field forbidden")]
    FieldForbidden(Vec<FieldError>),
    /// A refusal of the OAuth protocol (RFC 6749 5.2).
    #[error("{}", .0.description)]
    OAuth(domain::oauth::OAuthError),
    /// The `Idempotency-Key` was used before for another request.
    #[error("idempotency key reused")]
    IdempotencyKeyReused,
    /// The first request with this `Idempotency-Key` is still running.
    #[error("idempotent request in progress")]
    IdempotencyInProgress,
    #[error("too many requests")]
    TooManyRequests {
        retry_after_seconds: u64,
        why: &'static str,
    },
    /// Only its author, or an admin, may change or delete a post or comment.
    #[error("not the author")]
    NotAuthor,
    /// The operation acts for a team member, and the caller is an app.
    #[error("a team member's token is needed")]
    UserRequired,
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(..) => "bad_request",
            ApiError::Unauthorized(_) | ApiError::MissingToken => "unauthorized",
            ApiError::Denied(Denied::Forbidden { .. }) => "forbidden",
            ApiError::Denied(Denied::InsufficientScope { .. }) => "insufficient_scope",
            ApiError::OriginNotAllowed => "origin_not_allowed",
            ApiError::CalendarTokenOnly => "calendar_token_only",
            ApiError::PreflightRefused {
                origin_listed: false,
                ..
            } => "origin_not_allowed",
            ApiError::PreflightRefused { .. } => "preflight_refused",
            ApiError::NotFound => "not_found",
            ApiError::Conflict(_) => "conflict",
            ApiError::LastAdmin => "last_admin",
            ApiError::LockConflict => "lock_conflict",
            ApiError::PreconditionFailed { .. } => "precondition_failed",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::BodyTimeout { .. } => "body_timeout",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::UriTooLong { .. } => "uri_too_long",
            ApiError::HeadersTooLarge { .. } => "header_fields_too_large",
            ApiError::Invalid(_) => "validation_failed",
            ApiError::FieldForbidden(_) => "field_forbidden",
            ApiError::OAuth(e) => e.error,
            ApiError::IdempotencyKeyReused => "idempotency_key_reused",
            ApiError::IdempotencyInProgress => "idempotency_request_in_progress",
            ApiError::TooManyRequests { .. } => "rate_limited",
            ApiError::UserRequired => "user_required",
            ApiError::NotAuthor => "not_author",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal_error",
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::BadRequest(detail, _)
            | ApiError::Conflict(detail)
            | ApiError::PreflightRefused { why: detail, .. }
            | ApiError::HeadersTooLarge { why: detail } => detail.clone(),
            ApiError::UriTooLong { limit } => format!(
                "the request target (path and query) is longer than {limit} bytes; send fewer or shorter query parameters"
            ),
            ApiError::MissingToken => {
                "no access token was sent; send `Authorization: Bearer <token>` with a valid access token".to_owned()
            }
            ApiError::Unauthorized(why) => format!(
                "{why}; send `Authorization: Bearer <token>` with a valid access token"
            ),
            ApiError::Denied(Denied::Forbidden { needed }) => format!(
                "your role does not allow this; it needs the `{needed}` right, which an admin can grant by changing your role"
            ),
            ApiError::Denied(Denied::InsufficientScope { needed }) => format!(
                "this token lacks the `{needed}` scope; create a token that includes it"
            ),
            ApiError::OriginNotAllowed => {
                "this JavaScript token may only be used from the origins listed for it, sent by the browser in `Origin`".to_owned()
            }
            ApiError::CalendarTokenOnly => {
                "this is a calendar token: it reads GET /v1/me/calendar.ics and nothing else; use a personal access token for the rest of the API".to_owned()
            }
            ApiError::NotFound => "no such resource in this account".to_owned(),
            ApiError::LockConflict => {
                "concurrent changes to the same records kept conflicting with this one, which was not applied; retry after the time in Retry-After".to_owned()
            }
            ApiError::LastAdmin => {
                "this would leave the account without an active admin; make another team member admin first".to_owned()
            }
            ApiError::PreconditionFailed { current } => format!(
                "the record has changed since you read it (it is now at version {current}, ETag \"{current}\"); read it again and retry with the new ETag in If-Match"
            ),
            ApiError::PayloadTooLarge { limit } => {
                format!("the request body exceeds the limit of {limit} bytes")
            }
            ApiError::BodyTimeout { seconds } => format!(
                "the request body did not arrive whole within {seconds} seconds; send it at once, and no more bytes than Content-Length says"
            ),
            ApiError::UnsupportedMediaType => {
                "send the body as JSON with `Content-Type: application/json`".to_owned()
            }
            ApiError::Invalid(invalid) => invalid.to_string(),
            ApiError::FieldForbidden(fields) => format!(
                "your role may not write {}; leave {} out, or ask an admin to change the role's field rules",
                fields
                    .iter()
                    .map(|f| format!("`{}`", f.field))
                    .collect::<Vec<_>>()
                    .join(", "),
                if fields.len() == 1 { "it" } else { "them" }
            ),
            ApiError::OAuth(e) => e.description.clone(),
            ApiError::IdempotencyKeyReused => {
                "this Idempotency-Key was already used for a different request (method, path, query or body); use a new key for a new request, or retry with the very same request".to_owned()
            }
            ApiError::IdempotencyInProgress => {
                "the first request with this Idempotency-Key is still running; retry after the time in Retry-After to get its answer".to_owned()
            }
            ApiError::TooManyRequests { retry_after_seconds, why } => format!(
                "{why}; retry after {retry_after_seconds} seconds (see Retry-After)"
            ),
            ApiError::NotAuthor => {
                "only its author, or an admin, may change or delete this; ask them".to_owned()
            }
            ApiError::UserRequired => {
                "this acts for a team member, and the token acts for an app (client credentials); use a token of a team member".to_owned()
            }
            ApiError::Unavailable(_) => "the service is temporarily unavailable; retry shortly".to_owned(),
            ApiError::Internal(_) => "an unexpected error occurred; it has been logged".to_owned(),
        }
    }

    pub fn problem(&self) -> Problem {
        let status = self.status_code();
        let code = self.code();
        let errors = match self {
            ApiError::Invalid(invalid) => invalid.0.iter().map(ProblemField::from).collect(),
            ApiError::BadRequest(_, fields) | ApiError::FieldForbidden(fields) => {
                fields.iter().map(ProblemField::from).collect()
            }
            _ => Vec::new(),
        };
        let oauth = match self {
            ApiError::OAuth(e) => Some(e),
            _ => None,
        };
        Problem {
            r#type: format!("https://clientline.dev/problems/{code}"),
            title: title(code),
            status: status.as_u16(),
            detail: self.detail(),
            code: code.to_owned(),
            instance: None,
            request_id: None,
            errors,
            error: oauth.map(|e| e.error.to_owned()),
            error_description: oauth.map(|e| e.description.clone()),
        }
    }
}

/// The title of every problem with `code`: the code in words ("validation_failed" is
/// "Validation failed"), so that it is stable per problem type whatever the status.
pub fn title(code: &str) -> String {
    let mut words = code.replace('_', " ");
    if let Some(first) = words.get_mut(0..1) {
        first.make_ascii_uppercase();
    }
    words
}

impl From<&FieldError> for ProblemField {
    fn from(e: &FieldError) -> Self {
        ProblemField {
            field: e.field.clone(),
            code: e.code.to_owned(),
            message: e.message.clone(),
        }
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(..) => StatusCode::BAD_REQUEST,
            ApiError::Unauthorized(_) | ApiError::MissingToken => StatusCode::UNAUTHORIZED,
            ApiError::Denied(_)
            | ApiError::OriginNotAllowed
            | ApiError::CalendarTokenOnly
            | ApiError::PreflightRefused { .. }
            | ApiError::UserRequired
            | ApiError::FieldForbidden(_)
            | ApiError::NotAuthor => StatusCode::FORBIDDEN,
            ApiError::OAuth(e) if e.error == "invalid_client" => StatusCode::UNAUTHORIZED,
            ApiError::OAuth(_) => StatusCode::BAD_REQUEST,
            ApiError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::NotFound => StatusCode::NOT_FOUND,
            ApiError::Conflict(_)
            | ApiError::LastAdmin
            | ApiError::LockConflict
            | ApiError::IdempotencyInProgress => StatusCode::CONFLICT,
            ApiError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::BodyTimeout { .. } => StatusCode::REQUEST_TIMEOUT,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::UriTooLong { .. } => StatusCode::URI_TOO_LONG,
            ApiError::HeadersTooLarge { .. } => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            ApiError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            ApiError::Internal(cause) | ApiError::Unavailable(cause) => {
                tracing::error!(error = %cause, "request failed");
            }
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.content_type(PROBLEM_JSON);
        if let ApiError::BodyTimeout { .. } = self {
            // The rest of the body may still come: the connection cannot carry another request.
            response.force_close();
        }
        match self {
            ApiError::Unauthorized(_) => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(
                        "Bearer realm=\"clientline\", error=\"invalid_token\"",
                    ),
                ));
            }
            ApiError::MissingToken => {
                response.insert_header((
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"clientline\""),
                ));
            }
            ApiError::Denied(Denied::InsufficientScope { needed }) => {
                let value = format!(
                    "Bearer realm=\"clientline\", error=\"insufficient_scope\", scope=\"{needed}\""
                );
                if let Ok(value) = HeaderValue::from_str(&value) {
                    response.insert_header((header::WWW_AUTHENTICATE, value));
                }
            }
            ApiError::Unavailable(_) | ApiError::IdempotencyInProgress | ApiError::LockConflict => {
                response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("1")));
            }
            ApiError::TooManyRequests {
                retry_after_seconds,
                ..
            } => {
                response.insert_header((header::RETRY_AFTER, retry_after_seconds.to_string()));
            }
            ApiError::OAuth(e) => {
                response.insert_header((header::CACHE_CONTROL, "no-store"));
                response.insert_header((header::PRAGMA, "no-cache"));
                if e.error == "invalid_client" {
                    response.insert_header((
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"clientline\""),
                    ));
                }
            }
            _ => {}
        }
        response.json(self.problem())
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::NotFound,
            StoreError::Stale { current } => ApiError::PreconditionFailed { current },
            // A filter or sort on a lookup or rollup asks for something not supported, not
            // for a value to be fixed: 400, as an unsupported query parameter is.
            StoreError::Invalid(invalid)
                if invalid
                    .0
                    .iter()
                    .any(|e| e.code == domain::fields::NOT_FILTERABLE) =>
            {
                let detail = invalid
                    .0
                    .iter()
                    .find(|e| e.code == domain::fields::NOT_FILTERABLE)
                    .map(|e| format!("{}: {}", e.field, e.message))
                    .unwrap_or_default();
                ApiError::BadRequest(detail, invalid.0)
            }
            StoreError::Invalid(invalid) => ApiError::Invalid(invalid),
            StoreError::Conflict(message) => ApiError::Conflict(message),
            StoreError::LastAdmin => ApiError::LastAdmin,
            StoreError::NotOwner => ApiError::Denied(Denied::Forbidden {
                needed: domain::access::Scope::Admin,
            }),
            StoreError::LockConflict => ApiError::LockConflict,
            StoreError::Pool(e) => ApiError::Unavailable(format!("{e}")),
            other => ApiError::Internal(other.log_detail()),
        }
    }
}

impl From<Invalid> for ApiError {
    fn from(invalid: Invalid) -> Self {
        ApiError::Invalid(invalid)
    }
}

impl From<Denied> for ApiError {
    fn from(denied: Denied) -> Self {
        ApiError::Denied(denied)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Integrators parse this shape; a refactor must not change it.
    #[test]
    fn validation_problems_keep_their_shape() {
        let error = ApiError::Invalid(Invalid::one("name", "blank", "must not be blank"));
        let json = serde_json::to_value(error.problem()).unwrap_or_default();
        assert_eq!(
            json,
            serde_json::json!({
                "type": "https://clientline.dev/problems/validation_failed",
                "title": "Validation failed",
                "status": 422,
                "detail": "name: must not be blank",
                "code": "validation_failed",
                "errors": [{"field": "name", "code": "blank", "message": "must not be blank"}]
            })
        );
    }

    #[test]
    fn problems_without_field_errors_omit_the_list() {
        let json = serde_json::to_value(ApiError::NotFound.problem()).unwrap_or_default();
        assert_eq!(json["status"], 404);
        assert_eq!(json["code"], "not_found");
        assert!(json.get("errors").is_none());
    }

    #[test]
    fn titles_are_the_code_in_words() {
        assert_eq!(title("validation_failed"), "Validation failed");
        assert_eq!(title("not_found"), "Not found");
        assert_eq!(title("invalid_grant"), "Invalid grant");
    }
}
