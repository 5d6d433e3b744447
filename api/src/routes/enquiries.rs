//! `/v1/enquiries`: inbound requests, their matches, closing, reopening and conversion into
//! a company, contact and project; and their intake from a public web form.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use chrono::Utc;
use domain::access::{INTAKE, Resource, Scope};
use domain::enquiry::{EnquiryStatus, Source};
use domain::listing::SortField;
use persistence::enquiries::{self, EnquiryFilter};

use super::tasks::user_filter;
use super::{bad_query, check_times, created, path_id, record, sorted_paging};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, Caller, IfMatch, Query, encode_cursor};
use crate::state::AppState;
use crate::wire::enquiries::{
    EnquiryClose, EnquiryConversion, EnquiryCreate, EnquiryList, EnquiryListQuery, EnquiryOut,
    EnquiryUpdate, MatchOut, MatchesOut,
};

const READ: Scope = Scope::Read(Resource::Enquiries);
const WRITE: Scope = Scope::Write(Resource::Enquiries);

/// The largest enquiry a web form's intake token may send, in bytes.
pub const INTAKE_BODY_LIMIT: usize = 16 * 1024;

/// List enquiries
///
/// Newest first unless `sort` says otherwise; keyset-paginated with `cursor`.
#[utoipa::path(
    operation_id = "listEnquiries", get, path = "/v1/enquiries", tag = "enquiries",
    params(EnquiryListQuery),
    responses(
        (status = 200, description = "A page of enquiries", body = EnquiryList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["enquiries:read"]))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<EnquiryListQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let q = query.0;
    check_times(&[
        ("received_since", q.received_since),
        ("updated_since", q.updated_since),
    ])?;
    let (size, sort, after) = sorted_paging(
        q.limit,
        q.sort.as_deref(),
        q.cursor.as_deref(),
        &SortField::ENQUIRY,
    )?;
    let filter = EnquiryFilter {
        status: q
            .status
            .as_deref()
            .map(EnquiryStatus::parse)
            .transpose()
            .map_err(|e| bad_query("status", e))?,
        assignee_id: user_filter(&caller, "assignee", q.assignee.as_deref())?,
        source: q
            .source
            .as_deref()
            .map(Source::parse)
            .transpose()
            .map_err(|e| bad_query("source", e))?,
        received_since: q.received_since,
        updated_since: q.updated_since,
    };
    let account = caller.account_id();
    let page = state
        .run(move |conn| enquiries::list(conn, account, &filter, sort, size, after.as_ref()))
        .await?;
    Ok(HttpResponse::Ok().json(EnquiryList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page.items.into_iter().map(EnquiryOut::from).collect(),
    }))
}

/// Create an enquiry
///
/// With `enquiries:write`, or from a public web form with a JavaScript token that carries
/// only `enquiries:create` (usable from its listed origins alone): such a token gives the
/// enquirer's six fields and nothing else, at most 16 KiB, and each client address may send
/// a few a minute (429 with `Retry-After` past that).
#[utoipa::path(
    operation_id = "createEnquiry", post, path = "/v1/enquiries", tag = "enquiries",
    request_body = EnquiryCreate,
    responses(
        (status = 201, description = "The enquiry was received", body = EnquiryOut,
         headers(("ETag" = String, description = "The version as an entity tag"), ("Location" = String))),
        (status = 429, description = "This address sent too many enquiries through a web form; retry after Retry-After", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["enquiries:write"]), ("bearer" = ["enquiries:create"]))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    req: HttpRequest,
    body: Body<EnquiryCreate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(INTAKE)?;
    let intake = !caller.rights().token_scopes().grants(WRITE);
    if intake {
        let length = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or_default();
        if length > INTAKE_BODY_LIMIT {
            return Err(ApiError::PayloadTooLarge {
                limit: INTAKE_BODY_LIMIT,
            });
        }
        let address = req
            .peer_addr()
            .map(|a| a.ip().to_string())
            .unwrap_or_default();
        if let Err(seconds) = state.intake_limiter.check(&address) {
            return Err(ApiError::TooManyRequests {
                retry_after_seconds: seconds,
                why: "this address has sent too many enquiries through a web form",
            });
        }
    }
    let fields = body.0.into_fields(intake, Utc::now())?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let enquiry = state
        .run(move |conn| enquiries::create(conn, account, &fields, &outbox))
        .await?;
    Ok(created(
        format!("/v1/enquiries/{}", enquiry.id),
        enquiry.version,
        EnquiryOut::from(enquiry),
    ))
}

/// Get an enquiry
#[utoipa::path(
    operation_id = "getEnquiry", get, path = "/v1/enquiries/{id}", tag = "enquiries",
    params(("id" = i64, Path, description = "The enquiry's id")),
    responses(
        (status = 200, description = "The enquiry", body = EnquiryOut, headers(("ETag" = String))),
    ),
    security(("bearer" = ["enquiries:read"]))
)]
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let id = path_id(&id)?;
    let account = caller.account_id();
    let enquiry = state
        .run(move |conn| enquiries::get(conn, account, id))
        .await?;
    Ok(record(enquiry.version, EnquiryOut::from(enquiry)))
}

/// Update an enquiry
#[utoipa::path(
    operation_id = "updateEnquiry", patch, path = "/v1/enquiries/{id}", tag = "enquiries",
    params(
        ("id" = i64, Path, description = "The enquiry's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the enquiry has changed since"),
    ),
    request_body = EnquiryUpdate,
    responses(
        (status = 200, description = "The updated enquiry", body = EnquiryOut, headers(("ETag" = String))),
        (status = 412, description = "The enquiry changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["enquiries:write"]))
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Body<EnquiryUpdate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let patch = body.0.into_patch()?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let enquiry = state
        .run(move |conn| enquiries::update(conn, account, id, if_match.0, patch, &outbox))
        .await?;
    Ok(record(enquiry.version, EnquiryOut::from(enquiry)))
}

/// Delete an enquiry
///
/// Tasks, meetings and posts linked to it lose the link.
#[utoipa::path(
    operation_id = "deleteEnquiry", delete, path = "/v1/enquiries/{id}", tag = "enquiries",
    params(
        ("id" = i64, Path, description = "The enquiry's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the enquiry has changed since"),
    ),
    responses(
        (status = 204, description = "The enquiry was deleted"),
        (status = 412, description = "The enquiry changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["enquiries:write"]))
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
        .run(move |conn| enquiries::delete(conn, account, id, if_match.0, &outbox))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Close an enquiry
///
/// With an optional reason; `enquiry.closed`. A converted enquiry, or one closed already, is
/// 409.
#[utoipa::path(
    operation_id = "closeEnquiry", post, path = "/v1/enquiries/{id}/close", tag = "enquiries",
    params(
        ("id" = i64, Path, description = "The enquiry's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the enquiry has changed since"),
    ),
    request_body = EnquiryClose,
    responses(
        (status = 200, description = "The enquiry, closed", body = EnquiryOut, headers(("ETag" = String))),
        (status = 409, description = "The enquiry is converted, or closed already", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The enquiry changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["enquiries:write"]))
)]
pub async fn close(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Body<EnquiryClose>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let reason = body.0.into_reason()?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let enquiry = state
        .run(move |conn| {
            enquiries::set_status(
                conn,
                account,
                id,
                EnquiryStatus::Closed,
                reason.clone(),
                if_match.0,
                &outbox,
            )
        })
        .await?;
    Ok(record(enquiry.version, EnquiryOut::from(enquiry)))
}

/// Reopen a closed enquiry
///
/// `enquiry.reopened`. A converted enquiry, or one open already, is 409.
#[utoipa::path(
    operation_id = "reopenEnquiry", post, path = "/v1/enquiries/{id}/reopen", tag = "enquiries",
    params(
        ("id" = i64, Path, description = "The enquiry's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the enquiry has changed since"),
    ),
    responses(
        (status = 200, description = "The enquiry, open", body = EnquiryOut, headers(("ETag" = String))),
        (status = 409, description = "The enquiry is converted, or open already", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The enquiry changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["enquiries:write"]))
)]
pub async fn reopen(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let enquiry = state
        .run(move |conn| {
            enquiries::set_status(
                conn,
                account,
                id,
                EnquiryStatus::Open,
                None,
                if_match.0,
                &outbox,
            )
        })
        .await?;
    Ok(record(enquiry.version, EnquiryOut::from(enquiry)))
}

/// What an enquiry may belong to
///
/// Existing companies whose domain is the enquirer's email domain (free mail providers
/// excepted) or whose name is the company name they gave, and contacts with their email.
#[utoipa::path(
    operation_id = "enquiryMatches", get, path = "/v1/enquiries/{id}/matches", tag = "enquiries",
    params(("id" = i64, Path, description = "The enquiry's id")),
    responses(
        (status = 200, description = "The possible matches", body = MatchesOut),
    ),
    security(("bearer" = ["enquiries:read"]))
)]
pub async fn matches(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let id = path_id(&id)?;
    let account = caller.account_id();
    let (companies, contacts) = state
        .run(move |conn| enquiries::matches(conn, account, id))
        .await?;
    Ok(HttpResponse::Ok().json(MatchesOut {
        companies: companies.into_iter().map(MatchOut::from).collect(),
        contacts: contacts.into_iter().map(MatchOut::from).collect(),
    }))
}

/// Convert an enquiry
///
/// In one transaction: attaches it to an existing company and contact or creates them,
/// optionally creates a project, links the tasks, meetings and posts linked to the enquiry
/// to what it became, and marks it `converted` with their ids (`enquiry.converted`, after
/// the new records' own `*.created`). Any refusal leaves nothing written. A second
/// conversion is 409. Needs `enquiries:write` and the rights to write what it creates.
#[utoipa::path(
    operation_id = "convertEnquiry", post, path = "/v1/enquiries/{id}/convert", tag = "enquiries",
    params(
        ("id" = i64, Path, description = "The enquiry's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the enquiry has changed since"),
    ),
    request_body = EnquiryConversion,
    responses(
        (status = 200, description = "The enquiry, converted, with the ids of what it became", body = EnquiryOut, headers(("ETag" = String))),
        (status = 409, description = "The enquiry was converted already", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The enquiry changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["enquiries:write", "companies:write", "contacts:write", "projects:write"]))
)]
pub async fn convert(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Body<EnquiryConversion>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let account = caller.account_id();
    let enquiry = state
        .run(move |conn| enquiries::get(conn, account, id))
        .await?;
    let conversion = body.0.into_conversion(&enquiry)?;
    if matches!(conversion.company, enquiries::Party::New(_)) {
        caller.require(Scope::Write(Resource::Companies))?;
    }
    if matches!(conversion.contact, enquiries::Party::New(_)) {
        caller.require(Scope::Write(Resource::Contacts))?;
    }
    if conversion.project.is_some() {
        caller.require(Scope::Write(Resource::Projects))?;
    }
    // The defaults were read from this version: a change since makes them stale.
    let expected = if_match.0.or(Some(enquiry.version));
    let outbox = caller.outbox();
    let enquiry = state
        .run(move |conn| {
            enquiries::convert(conn, account, id, conversion.clone(), expected, &outbox)
        })
        .await?;
    Ok(record(enquiry.version, EnquiryOut::from(enquiry)))
}
