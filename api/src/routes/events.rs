//! `/v1/events`: the events feed for polling integrations, oldest first from a cursor.

use actix_web::{HttpResponse, web};
use domain::FieldError;
use domain::event::{EventType, RecordType};
use domain::listing::PageSize;
use domain::validation::ValueError;
use persistence::events::{self, EventFilter};

use super::path_id;
use crate::error::{ApiError, Problem};
use crate::extract::{Caller, Query};
use crate::state::AppState;
use crate::wire::events::{EventList, EventListQuery, EventOut};

fn bad(field: &str, e: ValueError) -> ApiError {
    ApiError::BadRequest(
        format!("query parameter `{field}` {}", e.message),
        vec![FieldError::new(field, e.code, e.message)],
    )
}

/// `types=a,b`: event types, each of a kind of record the caller may read.
pub(crate) fn event_types(caller: &Caller, raw: Option<&str>) -> Result<Vec<EventType>, ApiError> {
    let types = raw
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(EventType::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad("types", e))?;
    for t in &types {
        caller.require(t.record_type().read_scope())?;
    }
    Ok(types)
}

/// The kinds of record whose events the caller may read: those it may read.
pub(crate) fn readable(caller: &Caller) -> Result<Vec<RecordType>, ApiError> {
    let rights = caller.rights();
    let readable: Vec<RecordType> = RecordType::ALL
        .into_iter()
        .filter(|t| rights.require(t.read_scope()).is_ok())
        .collect();
    if readable.is_empty() {
        // Name the first scope that would help.
        caller.require(RecordType::Company.read_scope())?;
    }
    Ok(readable)
}

/// List events
///
/// Every create, update and delete of companies, contacts, pipelines and phases, and every
/// stage move, oldest first after `after`. Poll with `after` set to the id of the last event
/// you processed; ids increase, so nothing is skipped or seen twice. Events are kept for at
/// least 30 days. A token sees the events of the records it may read.
#[utoipa::path(
    operation_id = "listEvents", get, path = "/v1/events", tag = "events",
    params(EventListQuery),
    responses(
        (status = 200, description = "A page of events, oldest first", body = EventList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["companies:read"]), ("bearer" = ["contacts:read"]), ("bearer" = ["pipelines:read"]))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<EventListQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut record_types = readable(&caller)?;
    let q = query.0;
    let size = match q.limit {
        Some(raw) => PageSize::parse(raw).map_err(|e| bad("limit", e))?,
        None => PageSize::default(),
    };
    if q.after.is_some_and(|a| a < 0) {
        return Err(bad(
            "after",
            ValueError::new("out_of_range", "must be an event id (0 or more)"),
        ));
    }
    let types = event_types(&caller, q.types.as_deref())?;
    if let Some(raw) = q.record_type.as_deref() {
        let wanted = RecordType::parse(raw).map_err(|e| bad("record_type", e))?;
        caller.require(wanted.read_scope())?;
        record_types = vec![wanted];
    } else if q.record_id.is_some() {
        return Err(bad(
            "record_id",
            ValueError::new("needs_record_type", "goes with `record_type`"),
        ));
    }
    if record_types.len() == RecordType::ALL.len() {
        record_types.clear();
    }
    let filter = EventFilter {
        after: q.after,
        types,
        record_types,
        record_id: q.record_id,
    };
    let account = caller.account_id();
    let (page, more) = state
        .run(move |conn| events::list(conn, account, &filter, size))
        .await?;
    let next_cursor = if more {
        page.last().map(|e| e.id.to_string())
    } else {
        None
    };
    // Events about records the caller does not see are left out of the page (the cursor
    // still moves past them).
    let scope = caller.records();
    Ok(HttpResponse::Ok().json(EventList {
        data: page
            .into_iter()
            .filter(|e| scope.sees_event(&e.record_type, &e.data))
            .map(EventOut::from)
            .collect(),
        next_cursor,
    }))
}

/// Get an event
#[utoipa::path(
    operation_id = "getEvent", get, path = "/v1/events/{id}", tag = "events",
    params(("id" = i64, Path, description = "The event's id", minimum = 1)),
    responses(
        (status = 200, description = "The event", body = EventOut),
        (status = 404, description = "No such event in this account, or not one this token may read", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["companies:read"]), ("bearer" = ["contacts:read"]), ("bearer" = ["pipelines:read"]))
)]
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let readable = readable(&caller)?;
    let id = path_id(&id)?;
    let account = caller.account_id();
    let event = state
        .run(move |conn| events::get(conn, account, id))
        .await?;
    let visible = RecordType::parse(&event.record_type).is_ok_and(|t| readable.contains(&t))
        && caller.0.records.sees_event(&event.record_type, &event.data);
    if !visible {
        return Err(ApiError::NotFound);
    }
    Ok(HttpResponse::Ok().json(EventOut::from(event)))
}
