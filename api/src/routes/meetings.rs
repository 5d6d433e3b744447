//! `/v1/meetings`: create, read, list, update and delete meetings.

use actix_web::{HttpResponse, web};
use domain::access::{Resource, Scope};
use domain::listing::SortField;
use persistence::meetings::{self, MeetingFilter};

use super::tasks::user_filter;
use super::{bad_query, check_times, created, path_id, record, sorted_paging};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, Caller, IfMatch, Query, encode_cursor};
use crate::state::AppState;
use crate::wire::links::linked_filter;
use crate::wire::meetings::{
    MeetingCreate, MeetingList, MeetingListQuery, MeetingOut, MeetingUpdate,
};

const READ: Scope = Scope::Read(Resource::Meetings);
const WRITE: Scope = Scope::Write(Resource::Meetings);

/// List meetings
///
/// Newest first unless `sort` says otherwise (`sort=starts_at` with `from` and `to` gives a
/// calendar's view); keyset-paginated with `cursor`.
#[utoipa::path(
    operation_id = "listMeetings", get, path = "/v1/meetings", tag = "meetings",
    params(MeetingListQuery),
    responses(
        (status = 200, description = "A page of meetings", body = MeetingList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["meetings:read"]))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<MeetingListQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let q = query.0;
    check_times(&[
        ("from", q.from),
        ("to", q.to),
        ("updated_since", q.updated_since),
    ])?;
    let (size, sort, after) = sorted_paging(
        q.limit,
        q.sort.as_deref(),
        q.cursor.as_deref(),
        &SortField::MEETING,
    )?;
    let filter = MeetingFilter {
        attendee_user: user_filter(&caller, "attendee", q.attendee.as_deref())?,
        attendee_contact: q.attendee_contact_id,
        from: q.from,
        to: q.to,
        linked: linked_filter(q.linked.as_deref()).map_err(|e| bad_query("linked", e))?,
        tag: q.tag,
        updated_since: q.updated_since,
    };
    let account = caller.account_id();
    let page = state
        .run(move |conn| meetings::list(conn, account, &filter, sort, size, after.as_ref()))
        .await?;
    Ok(HttpResponse::Ok().json(MeetingList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page.items.into_iter().map(MeetingOut::from).collect(),
    }))
}

/// Create a meeting
#[utoipa::path(
    operation_id = "createMeeting", post, path = "/v1/meetings", tag = "meetings",
    request_body = MeetingCreate,
    responses(
        (status = 201, description = "The meeting was created", body = MeetingOut,
         headers(("ETag" = String, description = "The version as an entity tag"), ("Location" = String))),
    ),
    security(("bearer" = ["meetings:write"]))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<MeetingCreate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let fields = body.0.into_fields(caller.actor().user_id)?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let meeting = state
        .run(move |conn| meetings::create(conn, account, &fields, &outbox))
        .await?;
    Ok(created(
        format!("/v1/meetings/{}", meeting.id),
        meeting.version,
        MeetingOut::from(meeting),
    ))
}

/// Get a meeting
#[utoipa::path(
    operation_id = "getMeeting", get, path = "/v1/meetings/{id}", tag = "meetings",
    params(("id" = i64, Path, description = "The meeting's id")),
    responses(
        (status = 200, description = "The meeting", body = MeetingOut, headers(("ETag" = String))),
    ),
    security(("bearer" = ["meetings:read"]))
)]
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let id = path_id(&id)?;
    let account = caller.account_id();
    let meeting = state
        .run(move |conn| meetings::get(conn, account, id))
        .await?;
    Ok(record(meeting.version, MeetingOut::from(meeting)))
}

/// Update a meeting
///
/// Send `If-Match: "<version>"` to make sure nobody changed the meeting since you read it.
#[utoipa::path(
    operation_id = "updateMeeting", patch, path = "/v1/meetings/{id}", tag = "meetings",
    params(
        ("id" = i64, Path, description = "The meeting's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the meeting has changed since"),
    ),
    request_body = MeetingUpdate,
    responses(
        (status = 200, description = "The updated meeting", body = MeetingOut, headers(("ETag" = String))),
        (status = 412, description = "The meeting changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["meetings:write"]))
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Body<MeetingUpdate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let patch = body.0.into_patch()?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let meeting = state
        .run(move |conn| meetings::update(conn, account, id, if_match.0, patch, &outbox))
        .await?;
    Ok(record(meeting.version, MeetingOut::from(meeting)))
}

/// Delete a meeting
#[utoipa::path(
    operation_id = "deleteMeeting", delete, path = "/v1/meetings/{id}", tag = "meetings",
    params(
        ("id" = i64, Path, description = "The meeting's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the meeting has changed since"),
    ),
    responses(
        (status = 204, description = "The meeting was deleted"),
        (status = 412, description = "The meeting changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["meetings:write"]))
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
        .run(move |conn| meetings::delete(conn, account, id, if_match.0, &outbox))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
