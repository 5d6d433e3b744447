//! `/v1/pipelines`: pipelines and their phases (admins write), the board and the stats.

use actix_web::{HttpResponse, web};
use chrono::{Duration, Utc};
use domain::access::{Resource, Scope};
use domain::fields::FieldRecordType;
use domain::listing::{Position, Sort, SortValue};
use domain::pipeline::RecordKind;
use persistence::pipelined::{self, BoardFilter};
use persistence::pipelines;

use super::{bad_query, check_times, created, paging, path_id, record};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, Caller, IfMatch, Query, encode_cursor};
use crate::state::AppState;
use crate::wire::pipelines::{
    BoardOut, BoardQuery, PhaseCreate, PhaseOrder, PhaseOut, PhaseUpdate, PipelineCreate,
    PipelineList, PipelineListQuery, PipelineOut, PipelineUpdate, RemovePhaseQuery, StatsOut,
    StatsQuery,
};

const READ: Scope = Scope::Read(Resource::Pipelines);
const WRITE: Scope = Scope::Write(Resource::Pipelines);

/// List pipelines
///
/// The account's pipelines, oldest first, each with its phases in order.
#[utoipa::path(
    operation_id = "listPipelines", get, path = "/v1/pipelines", tag = "pipelines",
    params(PipelineListQuery),
    responses(
        (status = 200, description = "A page of pipelines", body = PipelineList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["pipelines:read"]))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<PipelineListQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let (size, _, after) = paging(query.0.limit, None, query.0.cursor.as_deref())?;
    let kind = query
        .0
        .record_type
        .as_deref()
        .map(RecordKind::parse)
        .transpose()
        .map_err(|e| bad_query("record_type", e))?;
    let account = caller.account_id();
    let page = state
        .run(move |conn| pipelines::list(conn, account, kind, size, after.as_ref()))
        .await?;
    Ok(HttpResponse::Ok().json(PipelineList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page.items.into_iter().map(PipelineOut::from).collect(),
    }))
}

/// Create a pipeline
#[utoipa::path(
    operation_id = "createPipeline", post, path = "/v1/pipelines", tag = "pipelines",
    request_body(content = PipelineCreate, example = json!({
        "name": "Recruitment clients",
        "phases": [
            {"name": "Prospect", "status": "prospect", "follow_up_after_days": 4},
            {"name": "Proposal sent", "status": "prospect", "follow_up_after_days": 5},
            {"name": "Active", "status": "active", "follow_up_after_days": 90},
            {"name": "Dormant", "status": "latent", "follow_up_after_days": 180},
            {"name": "Lost - proposal not accepted", "status": "latent"}
        ]
    })),
    responses((status = 201, description = "The pipeline", body = PipelineOut, headers(("ETag" = String), ("Location" = String)))),
    security(("bearer" = ["pipelines:write"]))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<PipelineCreate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let (name, kind, phases) = body.0.into_parts()?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let pipeline = state
        .run(move |conn| pipelines::create(conn, account, &name, kind, &phases, &outbox))
        .await?;
    Ok(created(
        format!("/v1/pipelines/{}", pipeline.id),
        pipeline.version,
        PipelineOut::from(pipeline),
    ))
}

/// Get a pipeline
#[utoipa::path(
    operation_id = "getPipeline", get, path = "/v1/pipelines/{id}", tag = "pipelines",
    params(("id" = i64, Path, description = "The pipeline's id")),
    responses((status = 200, description = "The pipeline", body = PipelineOut, headers(("ETag" = String)))),
    security(("bearer" = ["pipelines:read"]))
)]
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let id = path_id(&id)?;
    let account = caller.account_id();
    let pipeline = state
        .run(move |conn| pipelines::find(conn, account, id))
        .await?;
    Ok(record(pipeline.version, PipelineOut::from(pipeline)))
}

/// Update a pipeline
///
/// Rename it, choose its won and lost phases, or make it the account's default.
#[utoipa::path(
    operation_id = "updatePipeline", patch, path = "/v1/pipelines/{id}", tag = "pipelines",
    params(
        ("id" = i64, Path, description = "The pipeline's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read"),
    ),
    request_body(content = PipelineUpdate, example = json!({"won_phase_id": 4, "lost_phase_id": 6})),
    responses(
        (status = 200, description = "The pipeline", body = PipelineOut, headers(("ETag" = String))),
        (status = 412, description = "The pipeline changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["pipelines:write"]))
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Body<PipelineUpdate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let patch = body.0.into_patch()?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let pipeline = state
        .run(move |conn| pipelines::update(conn, account, id, if_match.0, patch, &outbox))
        .await?;
    Ok(record(pipeline.version, PipelineOut::from(pipeline)))
}

/// Delete a pipeline
///
/// Refused (409) while it holds records (companies or projects), and for the default
/// pipeline of its record type.
#[utoipa::path(
    operation_id = "deletePipeline", delete, path = "/v1/pipelines/{id}", tag = "pipelines",
    params(
        ("id" = i64, Path, description = "The pipeline's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read"),
    ),
    responses(
        (status = 204, description = "The pipeline was deleted"),
        (status = 409, description = "The pipeline holds records, or is the default", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The pipeline changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["pipelines:write"]))
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
        .run(move |conn| pipelined::delete(conn, account, id, if_match.0, &outbox))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Add a phase
#[utoipa::path(
    operation_id = "addPhase", post, path = "/v1/pipelines/{id}/phases", tag = "pipelines",
    params(("id" = i64, Path, description = "The pipeline's id"), ("If-Match" = Option<String>, Header, description = "The pipeline's ETag you last read; 412 when it has changed since")),
    request_body(content = PhaseCreate, example = json!({"name": "Sales meeting", "status": "prospect", "follow_up_after_days": 3, "position": 2})),
    responses((status = 201, description = "The pipeline with its new phase", body = PipelineOut, headers(("ETag" = String), ("Location" = String)))),
    security(("bearer" = ["pipelines:write"]))
)]
pub async fn add_phase(
    state: web::Data<AppState>,
    caller: Caller,
    if_match: IfMatch,
    id: web::Path<String>,
    body: Body<PhaseCreate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let position = body.0.position;
    let mut parser = crate::wire::input_parser();
    if position.is_some_and(|p| p < 0) {
        parser.check::<()>(
            "position",
            Err(domain::validation::ValueError::new(
                "out_of_range",
                "must be 0 or more",
            )),
        );
    }
    let phase = body.0.into_new(&mut parser, "");
    let phase = parser.build(phase)?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let (pipeline, phase_id) = state
        .run(move |conn| {
            pipelines::add_phase(conn, account, id, &phase, position, if_match.0, &outbox)
        })
        .await?;
    Ok(created(
        format!("/v1/pipelines/{}/phases/{phase_id}", pipeline.id),
        pipeline.version,
        PipelineOut::from(pipeline),
    ))
}

/// Reorder the phases
///
/// Takes every phase id of the pipeline, in the new order; anything else is refused.
#[utoipa::path(
    operation_id = "reorderPhases", put, path = "/v1/pipelines/{id}/phases", tag = "pipelines",
    params(("id" = i64, Path, description = "The pipeline's id"), ("If-Match" = Option<String>, Header, description = "The pipeline's ETag you last read; 412 when it has changed since")),
    request_body = PhaseOrder,
    responses((status = 200, description = "The pipeline, phases in the new order", body = PipelineOut, headers(("ETag" = String)))),
    security(("bearer" = ["pipelines:write"]))
)]
pub async fn reorder_phases(
    state: web::Data<AppState>,
    caller: Caller,
    if_match: IfMatch,
    id: web::Path<String>,
    body: Body<PhaseOrder>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let order = body.0.phase_ids;
    let pipeline = state
        .run(move |conn| pipelines::reorder(conn, account, id, &order, if_match.0, &outbox))
        .await?;
    Ok(record(pipeline.version, PipelineOut::from(pipeline)))
}

/// Get a phase
#[utoipa::path(
    operation_id = "getPhase", get, path = "/v1/pipelines/{id}/phases/{phase_id}", tag = "pipelines",
    params(("id" = i64, Path, description = "The pipeline's id"), ("phase_id" = i64, Path, description = "The phase's id")),
    responses((status = 200, description = "The phase", body = PhaseOut)),
    security(("bearer" = ["pipelines:read"]))
)]
pub async fn show_phase(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let (id, phase_id) = (path_id(&path.0)?, path_id(&path.1)?);
    let account = caller.account_id();
    let pipeline = state
        .run(move |conn| pipelines::find(conn, account, id))
        .await?;
    let phase = pipeline.phase(phase_id).ok_or(ApiError::NotFound)?;
    Ok(HttpResponse::Ok().json(PhaseOut::from(phase)))
}

/// Change a phase
///
/// Rename it, change its status (its records follow), its follow-up time, its probability
/// (projects without their own follow it), or the phases that may follow it.
#[utoipa::path(
    operation_id = "updatePhase", patch, path = "/v1/pipelines/{id}/phases/{phase_id}", tag = "pipelines",
    params(("id" = i64, Path, description = "The pipeline's id"), ("phase_id" = i64, Path, description = "The phase's id"), ("If-Match" = Option<String>, Header, description = "The pipeline's ETag you last read; 412 when it has changed since")),
    request_body(content = PhaseUpdate, example = json!({"name": "Proposal sent", "follow_up_after_days": 5, "allowed_next_phase_ids": [4, 6]})),
    responses((status = 200, description = "The pipeline", body = PipelineOut, headers(("ETag" = String)))),
    security(("bearer" = ["pipelines:write"]))
)]
pub async fn update_phase(
    state: web::Data<AppState>,
    caller: Caller,
    if_match: IfMatch,
    path: web::Path<(String, String)>,
    body: Body<PhaseUpdate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let (id, phase_id) = (path_id(&path.0)?, path_id(&path.1)?);
    let patch = body.0.into_patch()?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let pipeline = state
        .run(move |conn| {
            pipelined::update_phase(conn, account, id, phase_id, patch, if_match.0, &outbox)
        })
        .await?;
    Ok(record(pipeline.version, PipelineOut::from(pipeline)))
}

/// Remove a phase
///
/// A phase that holds records needs `move_to`, another phase of the pipeline: each
/// record moves there with a history row. Without it the answer is 409 with the count.
#[utoipa::path(
    operation_id = "removePhase", delete, path = "/v1/pipelines/{id}/phases/{phase_id}", tag = "pipelines",
    params(("id" = i64, Path, description = "The pipeline's id"), ("phase_id" = i64, Path, description = "The phase's id"), ("If-Match" = Option<String>, Header, description = "The pipeline's ETag you last read; 412 when it has changed since"), RemovePhaseQuery),
    responses(
        (status = 200, description = "The pipeline without the phase", body = PipelineOut, headers(("ETag" = String))),
        (status = 409, description = "The phase holds records and no move_to was given", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "move_to is not another phase of the pipeline", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["pipelines:write"]))
)]
pub async fn remove_phase(
    state: web::Data<AppState>,
    caller: Caller,
    if_match: IfMatch,
    path: web::Path<(String, String)>,
    query: Query<RemovePhaseQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let (id, phase_id) = (path_id(&path.0)?, path_id(&path.1)?);
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let move_to = query.0.move_to;
    let pipeline = state
        .run(move |conn| {
            pipelined::remove_phase(conn, account, id, phase_id, move_to, if_match.0, &outbox)
        })
        .await?;
    Ok(record(pipeline.version, PipelineOut::from(pipeline)))
}

/// The board
///
/// Every phase in order with its count and its first cards, oldest in the phase first, for
/// a company or a project pipeline. Companies with `show_in_pipeline: false` are left off.
/// Each column's `next_url` continues it through the company or project list. Project
/// columns give the sum of their values and the probability-weighted sum, per currency.
/// Reading a project pipeline's board takes `projects:read`.
#[utoipa::path(
    operation_id = "getBoard", get, path = "/v1/pipelines/{id}/board", tag = "pipelines",
    params(("id" = i64, Path, description = "The pipeline's id"), BoardQuery),
    responses((status = 200, description = "The board", body = BoardOut)),
    security(("bearer" = ["pipelines:read", "companies:read"]), ("bearer" = ["pipelines:read", "projects:read"]))
)]
pub async fn board(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: Query<BoardQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let id = path_id(&id)?;
    let q = query.0;
    let per_phase = q.cards_per_phase.unwrap_or(20);
    if !(0..=100).contains(&per_phase) {
        return Err(ApiError::BadRequest(
            "query parameter `cards_per_phase` must be between 0 and 100".into(),
            vec![domain::FieldError::new(
                "cards_per_phase",
                "out_of_range",
                "must be between 0 and 100",
            )],
        ));
    }
    let account = caller.account_id();
    // A view must be of the pipeline's record type: the pipeline is read first for it.
    let view = match q.view_id {
        Some(_) => {
            let pipeline = state
                .run(move |conn| pipelines::find(conn, account, id))
                .await?;
            let record_type = match pipeline.record_type {
                RecordKind::Company => FieldRecordType::Company,
                RecordKind::Project => FieldRecordType::Project,
            };
            super::views::applied_view(&state, &caller, q.view_id, record_type).await?
        }
        None => None,
    };
    let mut filter = BoardFilter {
        owner_id: q.owner_id,
        tag: q.tag.clone(),
        reach: Default::default(),
        matching: None,
    };
    let (scope, unit, subunits) = (
        caller.records(),
        q.unit_id,
        q.include_subunits.unwrap_or(false),
    );
    let (pipeline, columns) = state
        .run(move |conn| {
            filter.reach = persistence::units::reach(conn, account, scope, unit, subunits)?;
            filter.matching = super::views::view_filter(conn, account, view.as_ref())?;
            pipelined::board(conn, account, id, &filter, per_phase)
        })
        .await?;
    let (resource, list) = match pipeline.record_type {
        RecordKind::Company => (Resource::Companies, "/v1/companies"),
        RecordKind::Project => (Resource::Projects, "/v1/projects"),
    };
    caller.require(Scope::Read(resource))?;
    let shown = match pipeline.record_type {
        RecordKind::Company => "&show_in_pipeline=true",
        RecordKind::Project => "",
    };
    let sort = Sort::parse("phase_entered_at").unwrap_or_default();
    let mut extra = String::new();
    if let Some(owner) = q.owner_id {
        extra.push_str(&format!("&owner_id={owner}"));
    }
    if let Some(view) = q.view_id {
        extra.push_str(&format!("&view_id={view}"));
    }
    if let Some(unit) = q.unit_id {
        extra.push_str(&format!("&unit_id={unit}"));
        if q.include_subunits == Some(true) {
            extra.push_str("&include_subunits=true");
        }
    }
    if let Some(tag) = &q.tag {
        extra.push_str("&tag=");
        extra.extend(form_urlencoded::byte_serialize(tag.as_bytes()));
    }
    let columns = columns
        .into_iter()
        .map(|column| {
            let more = column.count > i64::try_from(column.cards.len()).unwrap_or(i64::MAX);
            let cursor = column.cards.last().filter(|_| more).map(|last| {
                encode_cursor(&Position {
                    sort,
                    value: SortValue::Time(last.phase_entered_at.and_utc()),
                    id: last.id,
                })
            });
            let url = cursor.as_ref().map(|c| {
                format!(
                    "{list}?phase_id={}{shown}&sort=phase_entered_at{extra}&cursor={c}",
                    column.phase.id
                )
            });
            (column, cursor, url)
        })
        .collect();
    Ok(HttpResponse::Ok().json(BoardOut::new(&pipeline, columns, Utc::now())))
}

/// Pipeline stats
///
/// Per phase: records in it now, entries in the period, median and mean time spent by
/// those that left, and the share that moved forward. For the pipeline: won, lost, win rate.
#[utoipa::path(
    operation_id = "getPipelineStats", get, path = "/v1/pipelines/{id}/stats", tag = "pipelines",
    params(("id" = i64, Path, description = "The pipeline's id"), StatsQuery),
    responses((status = 200, description = "The figures", body = StatsOut)),
    security(("bearer" = ["pipelines:read"]))
)]
pub async fn stats(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: Query<StatsQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let id = path_id(&id)?;
    check_times(&[("from", query.0.from), ("to", query.0.to)])?;
    let to = query.0.to.unwrap_or_else(Utc::now);
    let from = match query.0.from {
        Some(from) => from,
        None => to.checked_sub_signed(Duration::days(30)).ok_or_else(|| {
            ApiError::BadRequest(
                "`to` is too early for the default 30-day period; pass `from`".into(),
                vec![domain::FieldError::new(
                    "from",
                    "required",
                    "pass `from` with this `to`",
                )],
            )
        })?,
    };
    if from >= to {
        return Err(ApiError::BadRequest(
            "`from` must be before `to`".into(),
            vec![domain::FieldError::new(
                "from",
                "after_to",
                "must be before `to`",
            )],
        ));
    }
    let account = caller.account_id();
    let (scope, unit, subunits) = (
        caller.records(),
        query.0.unit_id,
        query.0.include_subunits.unwrap_or(false),
    );
    let stats = state
        .run(move |conn| {
            let reach = persistence::units::reach(conn, account, scope, unit, subunits)?;
            pipelined::stats(conn, account, id, from, to, &reach)
        })
        .await?;
    Ok(HttpResponse::Ok().json(StatsOut::new(stats, from, to)))
}
