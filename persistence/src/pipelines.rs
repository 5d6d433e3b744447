//! Pipelines and their phases: configuration, the board, follow-ups and stats.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use domain::Invalid;
use domain::event::{EventType, NewEvent, Outbox};
use domain::listing::{Page, PageSize, Position};
use domain::pipeline::{Phase, Pipeline, RecordKind, Status, is_permutation, median};
use domain::values::Label;

use crate::keyset::{id_position, into_page};
use crate::pool::on_backend;
use crate::schema::{companies, company_transitions, phase_counts, phases, pipelines, users};
use crate::{DbConnection, StoreError, check_version, events, now, to_utc, write_transaction};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pipelines)]
struct PipelineRow {
    id: i64,
    account_id: i64,
    name: String,
    record_type: String,
    is_default: bool,
    won_phase_id: Option<i64>,
    lost_phase_id: Option<i64>,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = phases)]
struct PhaseRow {
    id: i64,
    pipeline_id: i64,
    name: String,
    position: i64,
    status: String,
    follow_up_after_days: Option<i64>,
    allowed_next: String,
}

impl From<PhaseRow> for Phase {
    fn from(row: PhaseRow) -> Phase {
        Phase {
            id: row.id,
            pipeline_id: row.pipeline_id,
            name: row.name,
            position: row.position,
            status: Status::from_stored(&row.status),
            follow_up_after_days: row.follow_up_after_days,
            allowed_next: serde_json::from_str(&row.allowed_next).unwrap_or_default(),
        }
    }
}

fn assemble(row: PipelineRow, phases: Vec<Phase>) -> Pipeline {
    Pipeline {
        id: row.id,
        account_id: row.account_id,
        name: row.name,
        record_type: RecordKind::from_stored(&row.record_type),
        is_default: row.is_default,
        won_phase_id: row.won_phase_id,
        lost_phase_id: row.lost_phase_id,
        phases,
        version: row.version,
        created_at: to_utc(row.created_at),
        updated_at: to_utc(row.updated_at),
    }
}

/// The most phases a pipeline may have: a board is one statement with a part per phase.
pub const MAX_PHASES: usize = 50;

/// A phase to create.
#[derive(Debug, Clone)]
pub struct NewPhase {
    pub name: Label,
    pub status: Status,
    pub follow_up_after_days: Option<i64>,
    pub allowed_next: Vec<i64>,
}

/// Changes to a phase: `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct PhasePatch {
    pub name: Option<Label>,
    pub status: Option<Status>,
    pub follow_up_after_days: Option<Option<i64>>,
    pub allowed_next: Option<Vec<i64>>,
}

/// Changes to a pipeline: `None` leaves a field alone, `Some(None)` restores the default.
#[derive(Debug, Clone, Default)]
pub struct PipelinePatch {
    pub name: Option<Label>,
    pub won_phase_id: Option<Option<i64>>,
    pub lost_phase_id: Option<Option<i64>>,
    pub is_default: Option<bool>,
}

/// Creates a new account's default pipelines, one per record kind, inside the caller's
/// transaction.
pub(crate) fn create_defaults(conn: &mut DbConnection, account_id: i64) -> Result<(), StoreError> {
    for kind in RecordKind::ALL {
        create_default(conn, account_id, kind)?;
    }
    Ok(())
}

fn create_default(
    conn: &mut DbConnection,
    account_id: i64,
    kind: RecordKind,
) -> Result<Pipeline, StoreError> {
    let template = kind.default_pipeline();
    let phases: Vec<NewPhase> = template
        .phases
        .iter()
        .map(|(name, status, days)| NewPhase {
            name: Label::from_stored((*name).to_owned()),
            status: *status,
            follow_up_after_days: *days,
            allowed_next: Vec::new(),
        })
        .collect();
    let pipeline = insert(
        conn,
        account_id,
        &Label::from_stored(template.name.to_owned()),
        kind,
        true,
        &phases,
    )?;
    let named = |name: &str| {
        pipeline
            .phases
            .iter()
            .find(|p| p.name == name)
            .map(|p| p.id)
    };
    diesel::update(pipelines::table.filter(pipelines::id.eq(pipeline.id)))
        .set((
            pipelines::won_phase_id.eq(named(template.won_phase)),
            pipelines::lost_phase_id.eq(named(template.lost_phase)),
        ))
        .execute(conn)?;
    find(conn, account_id, pipeline.id)
}

pub fn create(
    conn: &mut DbConnection,
    account_id: i64,
    name: &Label,
    kind: RecordKind,
    phases: &[NewPhase],
    outbox: &Outbox<'_>,
) -> Result<Pipeline, StoreError> {
    check_states(kind, phases.iter().map(|p| p.status), |i| {
        format!("phases[{i}].status")
    })?;
    write_transaction(conn, |conn| {
        let pipeline = insert(conn, account_id, name, kind, false, phases)?;
        let data = outbox.render.pipeline(&pipeline);
        events::record_one(
            conn,
            account_id,
            outbox,
            NewEvent::new(EventType::PipelineCreated, pipeline.id, data),
        )?;
        Ok(pipeline)
    })
}

/// Each phase state must be one of the pipeline kind's; `field` names the i-th in the error.
fn check_states(
    kind: RecordKind,
    states: impl IntoIterator<Item = Status>,
    field: impl Fn(usize) -> String,
) -> Result<(), StoreError> {
    let mut invalid = Invalid::default();
    for (i, state) in states.into_iter().enumerate() {
        if let Err(e) = kind.check_phase_state(state) {
            invalid.push(domain::FieldError::new(field(i), e.code, e.message));
        }
    }
    Ok(invalid.into_result()?)
}

fn insert(
    conn: &mut DbConnection,
    account_id: i64,
    name: &Label,
    kind: RecordKind,
    is_default: bool,
    new_phases: &[NewPhase],
) -> Result<Pipeline, StoreError> {
    let at = now();
    let id: i64 = diesel::insert_into(pipelines::table)
        .values((
            pipelines::account_id.eq(account_id),
            pipelines::name.eq(name.as_str()),
            pipelines::record_type.eq(kind.as_str()),
            pipelines::is_default.eq(is_default),
            pipelines::version.eq(1),
            pipelines::created_at.eq(at),
            pipelines::updated_at.eq(at),
        ))
        .returning(pipelines::id)
        .get_result(conn)?;
    for (position, phase) in new_phases.iter().enumerate() {
        insert_phase(
            conn,
            account_id,
            id,
            i64::try_from(position).unwrap_or(i64::MAX),
            phase,
        )?;
    }
    find(conn, account_id, id)
}

fn insert_phase(
    conn: &mut DbConnection,
    account_id: i64,
    pipeline_id: i64,
    position: i64,
    phase: &NewPhase,
) -> Result<i64, StoreError> {
    let at = now();
    Ok(diesel::insert_into(phases::table)
        .values((
            phases::account_id.eq(account_id),
            phases::pipeline_id.eq(pipeline_id),
            phases::name.eq(phase.name.as_str()),
            phases::position.eq(position),
            phases::status.eq(phase.status.as_str()),
            phases::follow_up_after_days.eq(phase.follow_up_after_days),
            phases::allowed_next
                .eq(serde_json::Value::from(phase.allowed_next.clone()).to_string()),
            phases::created_at.eq(at),
            phases::updated_at.eq(at),
        ))
        .returning(phases::id)
        .get_result(conn)?)
}

/// A pipeline of the account, with its phases in order.
pub fn find(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Pipeline, StoreError> {
    let row = pipelines::table
        .filter(pipelines::id.eq(id))
        .filter(pipelines::account_id.eq(account_id))
        .select(PipelineRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(StoreError::NotFound)?;
    let phases = phases::table
        .filter(phases::pipeline_id.eq(id))
        .order((phases::position.asc(), phases::id.asc()))
        .select(PhaseRow::as_select())
        .load(conn)?;
    Ok(assemble(row, phases.into_iter().map(Phase::from).collect()))
}

/// The account's default pipeline for `kind`, if it has one.
pub(crate) fn find_default(
    conn: &mut DbConnection,
    account_id: i64,
    kind: RecordKind,
) -> Result<Option<Pipeline>, StoreError> {
    default_id(conn, account_id, kind)?
        .map(|id| find(conn, account_id, id))
        .transpose()
}

/// The id of the account's default pipeline for `kind`.
pub(crate) fn default_id(
    conn: &mut DbConnection,
    account_id: i64,
    kind: RecordKind,
) -> Result<Option<i64>, StoreError> {
    Ok(pipelines::table
        .filter(pipelines::account_id.eq(account_id))
        .filter(pipelines::record_type.eq(kind.as_str()))
        .filter(pipelines::is_default.eq(true))
        .select(pipelines::id)
        .first::<i64>(conn)
        .optional()?)
}

/// The id of the pipeline that holds a phase of the account.
pub(crate) fn pipeline_id_of_phase(
    conn: &mut DbConnection,
    account_id: i64,
    phase_id: i64,
) -> Result<Option<i64>, StoreError> {
    Ok(phases::table
        .filter(phases::id.eq(phase_id))
        .filter(phases::account_id.eq(account_id))
        .select(phases::pipeline_id)
        .first::<i64>(conn)
        .optional()?)
}

/// Takes a pipeline's row lock in shared mode for a move: moves run side by side, but not
/// beside a change of the pipeline's phases, which takes it exclusively. (SQLite's write
/// transactions are serial already.)
pub(crate) fn lock_shared(
    conn: &mut DbConnection,
    pipeline_id: Option<i64>,
) -> Result<(), StoreError> {
    if let (DbConnection::Postgresql(pg), Some(id)) = (conn, pipeline_id) {
        pipelines::table
            .filter(pipelines::id.eq(id))
            .select(pipelines::id)
            .for_share()
            .load::<i64>(pg)?;
    }
    Ok(())
}

/// Reads a pipeline for a change of it or its phases, holding its row lock exclusively until
/// the transaction ends, and checks `If-Match`.
fn find_for_update(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
) -> Result<Pipeline, StoreError> {
    if let DbConnection::Postgresql(pg) = conn {
        pipelines::table
            .filter(pipelines::id.eq(id))
            .filter(pipelines::account_id.eq(account_id))
            .select(pipelines::id)
            .for_update()
            .first::<i64>(pg)
            .optional()?
            .ok_or(StoreError::NotFound)?;
    }
    let pipeline = find(conn, account_id, id)?;
    check_version(pipeline.version, expected_version)?;
    Ok(pipeline)
}

/// The pipeline that holds a phase of the account, if the phase exists.
pub(crate) fn find_by_phase(
    conn: &mut DbConnection,
    account_id: i64,
    phase_id: i64,
) -> Result<Option<Pipeline>, StoreError> {
    let pipeline = phases::table
        .filter(phases::id.eq(phase_id))
        .filter(phases::account_id.eq(account_id))
        .select(phases::pipeline_id)
        .first::<i64>(conn)
        .optional()?;
    pipeline.map(|id| find(conn, account_id, id)).transpose()
}

/// The account's pipelines, oldest first, each with its phases: two queries per page.
pub fn list(
    conn: &mut DbConnection,
    account_id: i64,
    kind: Option<RecordKind>,
    size: PageSize,
    after: Option<&Position>,
) -> Result<Page<Pipeline>, StoreError> {
    let mut query = pipelines::table
        .filter(pipelines::account_id.eq(account_id))
        .select(PipelineRow::as_select())
        .order(pipelines::id.asc())
        .into_boxed();
    if let Some(kind) = kind {
        query = query.filter(pipelines::record_type.eq(kind.as_str()));
    }
    if let Some(after) = after {
        query = query.filter(pipelines::id.gt(after.id));
    }
    let rows: Vec<PipelineRow> = query.limit(size.get() + 1).load(conn)?;
    let page: Page<PipelineRow> = into_page(rows, size, |row: &PipelineRow| id_position(row.id));
    let ids: Vec<i64> = page.items.iter().map(|p| p.id).collect();
    let mut by_pipeline: HashMap<i64, Vec<Phase>> = HashMap::new();
    for phase in phases::table
        .filter(phases::pipeline_id.eq_any(&ids))
        .order((
            phases::pipeline_id.asc(),
            phases::position.asc(),
            phases::id.asc(),
        ))
        .select(PhaseRow::as_select())
        .load::<PhaseRow>(conn)?
    {
        by_pipeline
            .entry(phase.pipeline_id)
            .or_default()
            .push(Phase::from(phase));
    }
    Ok(Page {
        items: page
            .items
            .into_iter()
            .map(|row| {
                let phases = by_pipeline.remove(&row.id).unwrap_or_default();
                assemble(row, phases)
            })
            .collect(),
        next: page.next,
    })
}

pub fn update(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    patch: PipelinePatch,
    outbox: &Outbox<'_>,
) -> Result<Pipeline, StoreError> {
    write_transaction(conn, |conn| {
        let patch = patch.clone();
        let current = find_for_update(conn, account_id, id, expected_version)?;
        let mut invalid = Invalid::default();
        for (field, phase) in [
            ("won_phase_id", patch.won_phase_id.flatten()),
            ("lost_phase_id", patch.lost_phase_id.flatten()),
        ] {
            if let Some(phase) = phase.filter(|p| current.phase(*p).is_none()) {
                invalid.push(domain::FieldError::new(
                    field,
                    "unknown_phase",
                    format!("phase {phase} is not a phase of this pipeline"),
                ));
            }
        }
        if patch.is_default == Some(false) && current.is_default {
            invalid.push(domain::FieldError::new(
                "is_default",
                "default_required",
                "an account always has a default pipeline: make another pipeline the default instead",
            ));
        }
        invalid.into_result()?;
        let name = patch
            .name
            .map_or_else(|| current.name.clone(), Label::into_inner);
        let won_phase_id = patch.won_phase_id.unwrap_or(current.won_phase_id);
        let lost_phase_id = patch.lost_phase_id.unwrap_or(current.lost_phase_id);
        let is_default = patch.is_default.unwrap_or(current.is_default);
        if name == current.name
            && won_phase_id == current.won_phase_id
            && lost_phase_id == current.lost_phase_id
            && is_default == current.is_default
        {
            // Nothing changes: no new version, no event.
            return Ok(current);
        }
        if patch.is_default == Some(true) && !current.is_default {
            diesel::update(
                pipelines::table
                    .filter(pipelines::account_id.eq(account_id))
                    .filter(pipelines::record_type.eq(current.record_type.as_str()))
                    .filter(pipelines::is_default.eq(true)),
            )
            .set((
                pipelines::is_default.eq(false),
                pipelines::version.eq(pipelines::version + 1),
                pipelines::updated_at.eq(now()),
            ))
            .execute(conn)?;
        }
        diesel::update(pipelines::table.filter(pipelines::id.eq(id)))
            .set((
                pipelines::name.eq(name),
                pipelines::won_phase_id.eq(won_phase_id),
                pipelines::lost_phase_id.eq(lost_phase_id),
                pipelines::is_default.eq(is_default),
                pipelines::version.eq(current.version + 1),
                pipelines::updated_at.eq(now()),
            ))
            .execute(conn)?;
        let pipeline = find(conn, account_id, id)?;
        record_pipeline_change(conn, account_id, outbox, &current, &pipeline)?;
        Ok(pipeline)
    })
}

/// `pipeline.updated`, with the previous values of what changed.
fn record_pipeline_change(
    conn: &mut DbConnection,
    account_id: i64,
    outbox: &Outbox<'_>,
    before: &Pipeline,
    after: &Pipeline,
) -> Result<(), StoreError> {
    let event = NewEvent::changed(
        EventType::PipelineUpdated,
        after.id,
        &outbox.render.pipeline(before),
        outbox.render.pipeline(after),
    );
    events::record_one(conn, account_id, outbox, event)
}

/// Deletes a pipeline that holds no company; the default pipeline stays.
pub fn delete(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        let current = find_for_update(conn, account_id, id, expected_version)?;
        if current.is_default {
            return Err(StoreError::Conflict(
                "this is the account's default pipeline; make another pipeline the default first"
                    .into(),
            ));
        }
        let held: i64 = companies::table
            .filter(companies::account_id.eq(account_id))
            .filter(companies::pipeline_id.eq(id))
            .count()
            .get_result(conn)?;
        if held > 0 {
            return Err(StoreError::Conflict(format!(
                "the pipeline holds {held} compan{}; move or remove {} first",
                if held == 1 { "y" } else { "ies" },
                if held == 1 { "it" } else { "them" }
            )));
        }
        diesel::delete(phases::table.filter(phases::pipeline_id.eq(id))).execute(conn)?;
        diesel::delete(pipelines::table.filter(pipelines::id.eq(id))).execute(conn)?;
        let data = outbox.render.pipeline(&current);
        events::record_one(
            conn,
            account_id,
            outbox,
            NewEvent::new(EventType::PipelineDeleted, id, data),
        )
    })
}

/// Adds a phase at `position` (0 is first; default: last).
pub fn add_phase(
    conn: &mut DbConnection,
    account_id: i64,
    pipeline_id: i64,
    phase: &NewPhase,
    position: Option<i64>,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<(Pipeline, i64), StoreError> {
    write_transaction(conn, |conn| {
        let pipeline = find_for_update(conn, account_id, pipeline_id, expected_version)?;
        if pipeline.phases.len() >= MAX_PHASES {
            return Err(StoreError::Invalid(Invalid::one(
                "name",
                "too_many_phases",
                format!("a pipeline has at most {MAX_PHASES} phases; remove one first"),
            )));
        }
        check_states(pipeline.record_type, [phase.status], |_| "status".into())?;
        check_allowed_next(&pipeline, None, &phase.allowed_next)?;
        let count = i64::try_from(pipeline.phases.len()).unwrap_or(i64::MAX);
        let position = position.unwrap_or(count).clamp(0, count);
        let id = insert_phase(conn, account_id, pipeline_id, count, phase)?;
        let mut order: Vec<i64> = pipeline.phases.iter().map(|p| p.id).collect();
        order.insert(usize::try_from(position).unwrap_or(order.len()), id);
        write_order(conn, &order)?;
        bump(conn, pipeline_id)?;
        let pipeline = find(conn, account_id, pipeline_id)?;
        if let Some(added) = pipeline.phase(id) {
            let data = outbox.render.phase(pipeline_id, added);
            events::record_one(
                conn,
                account_id,
                outbox,
                NewEvent::new(EventType::PhaseCreated, id, data),
            )?;
        }
        Ok((pipeline, id))
    })
}

/// Changes a phase; companies in it follow a new status and a new follow-up time.
pub fn update_phase(
    conn: &mut DbConnection,
    account_id: i64,
    pipeline_id: i64,
    phase_id: i64,
    patch: PhasePatch,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<Pipeline, StoreError> {
    write_transaction(conn, |conn| {
        let patch = patch.clone();
        let pipeline = find_for_update(conn, account_id, pipeline_id, expected_version)?;
        let current = pipeline
            .phase(phase_id)
            .ok_or(StoreError::NotFound)?
            .clone();
        if let Some(next) = &patch.allowed_next {
            check_allowed_next(&pipeline, Some(phase_id), next)?;
        }
        if let Some(status) = patch.status {
            check_states(pipeline.record_type, [status], |_| "status".into())?;
        }
        let status = patch.status.unwrap_or(current.status);
        let days = patch
            .follow_up_after_days
            .unwrap_or(current.follow_up_after_days);
        let name = patch
            .name
            .map_or_else(|| current.name.clone(), Label::into_inner);
        let allowed_next = patch
            .allowed_next
            .unwrap_or_else(|| current.allowed_next.clone());
        if name == current.name
            && status == current.status
            && days == current.follow_up_after_days
            && allowed_next == current.allowed_next
        {
            // Nothing changes: the pipeline keeps its version, and no event is written.
            return Ok(pipeline);
        }
        let companies_change = status != current.status || days != current.follow_up_after_days;
        // The companies in the phase, as they were: each that changes gets its
        // `company.updated`. Moves into the phase wait on the pipeline's lock, held here.
        let held: Vec<i64> = if companies_change {
            companies::table
                .filter(companies::account_id.eq(account_id))
                .filter(companies::phase_id.eq(phase_id))
                .select(companies::id)
                .load(conn)?
        } else {
            Vec::new()
        };
        let before = crate::companies::get_many(conn, account_id, &held)?;
        diesel::update(phases::table.filter(phases::id.eq(phase_id)))
            .set((
                phases::name.eq(name),
                phases::status.eq(status.as_str()),
                phases::follow_up_after_days.eq(days),
                phases::allowed_next.eq(serde_json::Value::from(allowed_next).to_string()),
                phases::updated_at.eq(now()),
            ))
            .execute(conn)?;
        if status != current.status {
            diesel::update(
                companies::table
                    .filter(companies::account_id.eq(account_id))
                    .filter(companies::phase_id.eq(phase_id)),
            )
            .set(companies::relationship_status.eq(status.as_str()))
            .execute(conn)?;
        }
        if days != current.follow_up_after_days {
            recompute_follow_ups(conn, account_id, phase_id, days)?;
        }
        if companies_change {
            // The companies' representation changed: a new version, and `updated_since`
            // pollers see it.
            diesel::update(
                companies::table
                    .filter(companies::account_id.eq(account_id))
                    .filter(companies::phase_id.eq(phase_id)),
            )
            .set((
                companies::version.eq(companies::version + 1),
                companies::updated_at.eq(now()),
            ))
            .execute(conn)?;
        }
        bump(conn, pipeline_id)?;
        let after = find(conn, account_id, pipeline_id)?;
        let mut changes = Vec::with_capacity(held.len() + 1);
        if let Some(changed) = after.phase(phase_id) {
            changes.push(NewEvent::changed(
                EventType::PhaseUpdated,
                phase_id,
                &outbox.render.phase(pipeline_id, &current),
                outbox.render.phase(pipeline_id, changed),
            ));
        }
        let now_held = crate::companies::get_many(conn, account_id, &held)?;
        changes.extend(before.iter().zip(&now_held).map(|(was, is)| {
            NewEvent::changed(
                EventType::CompanyUpdated,
                is.id,
                &outbox.render.company(was),
                outbox.render.company(is),
            )
        }));
        events::record(conn, account_id, outbox, changes)?;
        Ok(after)
    })
}

/// Puts the phases in the given order, which must name each phase exactly once.
pub fn reorder(
    conn: &mut DbConnection,
    account_id: i64,
    pipeline_id: i64,
    order: &[i64],
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<Pipeline, StoreError> {
    write_transaction(conn, |conn| {
        let pipeline = find_for_update(conn, account_id, pipeline_id, expected_version)?;
        let current: Vec<i64> = pipeline.phases.iter().map(|p| p.id).collect();
        if !is_permutation(&current, order) {
            return Err(StoreError::Invalid(Invalid::one(
                "phase_ids",
                "not_a_permutation",
                format!(
                    "must list every phase of the pipeline exactly once: {}",
                    current
                        .iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )));
        }
        write_order(conn, order)?;
        bump(conn, pipeline_id)?;
        let after = find(conn, account_id, pipeline_id)?;
        record_pipeline_change(conn, account_id, outbox, &pipeline, &after)?;
        Ok(after)
    })
}

/// Removes a phase. Companies in it move to `move_to` (a phase of the same pipeline), each
/// with a history row, in three statements whatever their number; without `move_to`, a phase
/// that holds companies stays. Phases that allowed only this phase next are pointed at
/// `move_to` instead.
pub fn remove_phase(
    conn: &mut DbConnection,
    account_id: i64,
    pipeline_id: i64,
    phase_id: i64,
    move_to: Option<i64>,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<Pipeline, StoreError> {
    write_transaction(conn, |conn| {
        let pipeline = find_for_update(conn, account_id, pipeline_id, expected_version)?;
        let removed = pipeline
            .phase(phase_id)
            .ok_or(StoreError::NotFound)?
            .clone();
        let target = match move_to {
            Some(target) if target == phase_id || pipeline.phase(target).is_none() => {
                return Err(StoreError::Invalid(Invalid::one(
                    "move_to",
                    "unknown_phase",
                    "must be another phase of the same pipeline",
                )));
            }
            Some(target) => pipeline.phase(target).cloned(),
            None => None,
        };
        let held: Vec<(i64, Option<NaiveDateTime>)> = companies::table
            .filter(companies::account_id.eq(account_id))
            .filter(companies::phase_id.eq(phase_id))
            .select((companies::id, companies::phase_entered_at))
            .load(conn)?;
        let mut moved = Vec::new();
        match &target {
            Some(target) if !held.is_empty() => {
                moved = move_all(conn, account_id, &pipeline, &removed, target, &held, outbox)?
            }
            None if !held.is_empty() => {
                return Err(StoreError::Conflict(format!(
                    "the phase holds {} compan{}; pass move_to with another phase of the pipeline",
                    held.len(),
                    if held.len() == 1 { "y" } else { "ies" }
                )));
            }
            _ => {}
        }
        for other in pipeline
            .phases
            .iter()
            .filter(|p| p.id != phase_id && p.allowed_next.contains(&phase_id))
        {
            let mut next: Vec<i64> = other
                .allowed_next
                .iter()
                .copied()
                .filter(|id| *id != phase_id)
                .collect();
            if let Some(target) = target
                .as_ref()
                .filter(|t| t.id != other.id && !next.contains(&t.id))
            {
                next.push(target.id);
            }
            if next.is_empty() {
                // An empty list means "any phase": removing the only allowed one must not widen it.
                return Err(StoreError::Conflict(format!(
                    "phase {} ({}) allows only this phase next; pass move_to or change its allowed phases first",
                    other.id, other.name
                )));
            }
            diesel::update(phases::table.filter(phases::id.eq(other.id)))
                .set(phases::allowed_next.eq(serde_json::Value::from(next).to_string()))
                .execute(conn)?;
        }
        diesel::update(
            pipelines::table
                .filter(pipelines::id.eq(pipeline_id))
                .filter(pipelines::won_phase_id.eq(phase_id)),
        )
        .set(pipelines::won_phase_id.eq(None::<i64>))
        .execute(conn)?;
        diesel::update(
            pipelines::table
                .filter(pipelines::id.eq(pipeline_id))
                .filter(pipelines::lost_phase_id.eq(phase_id)),
        )
        .set(pipelines::lost_phase_id.eq(None::<i64>))
        .execute(conn)?;
        diesel::delete(phases::table.filter(phases::id.eq(phase_id))).execute(conn)?;
        let order: Vec<i64> = pipeline
            .phases
            .iter()
            .map(|p| p.id)
            .filter(|id| *id != phase_id)
            .collect();
        write_order(conn, &order)?;
        bump(conn, pipeline_id)?;
        moved.push(NewEvent::new(
            EventType::PhaseDeleted,
            phase_id,
            outbox.render.phase(pipeline_id, &removed),
        ));
        events::record(conn, account_id, outbox, moved)?;
        find(conn, account_id, pipeline_id)
    })
}

/// Moves every company of a removed phase: history rows in batches, then one update. Returns
/// the moves' `company.phase_changed` events, for the caller to record last.
fn move_all(
    conn: &mut DbConnection,
    account_id: i64,
    pipeline: &Pipeline,
    from: &Phase,
    to: &Phase,
    held: &[(i64, Option<NaiveDateTime>)],
    outbox: &Outbox<'_>,
) -> Result<Vec<NewEvent>, StoreError> {
    let actor = outbox.actor;
    let ids: Vec<i64> = held.iter().map(|(id, _)| *id).collect();
    let before = crate::companies::get_many(conn, account_id, &ids)?;
    let at = now();
    for chunk in held.chunks(500) {
        let rows: Vec<_> = chunk
            .iter()
            .map(|(company, entered)| {
                (
                    company_transitions::account_id.eq(account_id),
                    company_transitions::company_id.eq(*company),
                    company_transitions::from_pipeline_id.eq(Some(pipeline.id)),
                    company_transitions::to_pipeline_id.eq(Some(pipeline.id)),
                    company_transitions::from_phase_id.eq(Some(from.id)),
                    company_transitions::from_phase_name.eq(Some(from.name.clone())),
                    company_transitions::to_phase_id.eq(Some(to.id)),
                    company_transitions::to_phase_name.eq(Some(to.name.clone())),
                    company_transitions::from_status.eq(from.status.as_str()),
                    company_transitions::to_status.eq(to.status.as_str()),
                    company_transitions::actor_user_id.eq(actor.user_id),
                    company_transitions::actor_client_id.eq(actor.client_id),
                    company_transitions::seconds_in_previous
                        .eq(entered.map(|t| (at - t).num_seconds().max(0))),
                    company_transitions::created_at.eq(at),
                )
            })
            .collect();
        on_backend!(conn, |c| diesel::insert_into(company_transitions::table)
            .values(&rows)
            .execute(c))?;
    }
    diesel::update(
        companies::table
            .filter(companies::account_id.eq(account_id))
            .filter(companies::phase_id.eq(from.id)),
    )
    .set((
        companies::phase_id.eq(Some(to.id)),
        companies::relationship_status.eq(to.status.as_str()),
        companies::phase_entered_at.eq(Some(at)),
        companies::follow_up_due_at.eq(to.follow_up_due_at(at.and_utc()).map(|t| t.naive_utc())),
        companies::version.eq(companies::version + 1),
        companies::updated_at.eq(at),
    ))
    .execute(conn)?;
    let after = crate::companies::get_many(conn, account_id, &ids)?;
    Ok(before
        .iter()
        .zip(&after)
        .map(|(was, is)| {
            NewEvent::changed(
                EventType::CompanyPhaseChanged,
                is.id,
                &outbox.render.company(was),
                outbox.render.company(is),
            )
        })
        .collect())
}

fn check_allowed_next(
    pipeline: &Pipeline,
    phase: Option<i64>,
    next: &[i64],
) -> Result<(), StoreError> {
    match next
        .iter()
        .find(|id| pipeline.phase(**id).is_none() || Some(**id) == phase)
    {
        Some(bad) => Err(StoreError::Invalid(Invalid::one(
            "allowed_next_phase_ids",
            "unknown_phase",
            format!("phase {bad} is not another phase of this pipeline"),
        ))),
        None => Ok(()),
    }
}

fn write_order(conn: &mut DbConnection, order: &[i64]) -> Result<(), StoreError> {
    for (position, id) in order.iter().enumerate() {
        diesel::update(phases::table.filter(phases::id.eq(id)))
            .set(phases::position.eq(i64::try_from(position).unwrap_or(i64::MAX)))
            .execute(conn)?;
    }
    Ok(())
}

fn bump(conn: &mut DbConnection, pipeline_id: i64) -> Result<(), StoreError> {
    diesel::update(pipelines::table.filter(pipelines::id.eq(pipeline_id)))
        .set((
            pipelines::version.eq(pipelines::version + 1),
            pipelines::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// Sets `follow_up_due_at` of every company in a phase from its entry time: date arithmetic
/// is the one thing the two backends spell differently.
fn recompute_follow_ups(
    conn: &mut DbConnection,
    account_id: i64,
    phase_id: i64,
    days: Option<i64>,
) -> Result<(), StoreError> {
    let Some(days) = days else {
        diesel::update(
            companies::table
                .filter(companies::account_id.eq(account_id))
                .filter(companies::phase_id.eq(phase_id)),
        )
        .set(companies::follow_up_due_at.eq(None::<NaiveDateTime>))
        .execute(conn)?;
        return Ok(());
    };
    match conn {
        DbConnection::Postgresql(pg) => diesel::sql_query(
            "UPDATE companies SET follow_up_due_at = phase_entered_at + make_interval(days => $1::int) \
             WHERE account_id = $2 AND phase_id = $3",
        )
        .bind::<BigInt, _>(days)
        .bind::<BigInt, _>(account_id)
        .bind::<BigInt, _>(phase_id)
        .execute(pg)?,
        DbConnection::Sqlite(lite) => diesel::sql_query(
            // strftime keeps whole seconds; the fraction is carried over as written.
            "UPDATE companies SET follow_up_due_at = \
             strftime('%Y-%m-%d %H:%M:%S', phase_entered_at, '+' || ? || ' days') || substr(phase_entered_at, 20) \
             WHERE account_id = ? AND phase_id = ?",
        )
        .bind::<BigInt, _>(days)
        .bind::<BigInt, _>(account_id)
        .bind::<BigInt, _>(phase_id)
        .execute(lite)?,
    };
    Ok(())
}

/// One column of the board.
#[derive(Debug, Clone)]
pub struct Column {
    pub phase: Phase,
    pub count: i64,
    pub cards: Vec<Card>,
}

/// A company as the board shows it.
#[derive(Debug, Clone, Queryable)]
pub struct Card {
    pub id: i64,
    pub name: String,
    pub industry: Option<String>,
    pub size_band: Option<String>,
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    pub phase_id: i64,
    pub phase_entered_at: NaiveDateTime,
    pub follow_up_due_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Default)]
pub struct BoardFilter {
    pub owner_id: Option<i64>,
    pub tag: Option<String>,
}

/// The board: every phase in order with its count and its first `per_phase` cards, oldest in
/// the phase first. Four queries whatever the size: the pipeline, its phases, the counts, and
/// one UNION ALL of a LIMITed index scan per phase.
pub fn board(
    conn: &mut DbConnection,
    account_id: i64,
    pipeline_id: i64,
    filter: &BoardFilter,
    per_phase: i64,
) -> Result<(Pipeline, Vec<Column>), StoreError> {
    let pipeline = find(conn, account_id, pipeline_id)?;
    let counts = if filter.owner_id.is_none() && filter.tag.is_none() {
        kept_counts(conn, account_id, pipeline_id)?
    } else {
        filtered_counts(conn, account_id, pipeline_id, filter)?
    };
    let mut cards_by_phase: HashMap<i64, Vec<Card>> = HashMap::new();
    if !pipeline.phases.is_empty() && per_phase > 0 {
        // One prepared statement, run once per phase: the same text every time, so both
        // backends keep it planned (a UNION of the phases would be planned per request).
        for phase in &pipeline.phases {
            let mut query = companies::table
                .left_join(users::table)
                .filter(companies::account_id.eq(account_id))
                .filter(companies::phase_id.eq(phase.id))
                .filter(companies::show_in_pipeline.eq(true))
                .select((
                    companies::id,
                    companies::name,
                    companies::industry,
                    companies::size_band,
                    companies::owner_id,
                    users::name.nullable(),
                    companies::phase_id.assume_not_null(),
                    companies::phase_entered_at.assume_not_null(),
                    companies::follow_up_due_at,
                ))
                .order((companies::phase_entered_at.asc(), companies::id.asc()))
                .limit(per_phase)
                .into_boxed();
            if let Some(owner) = filter.owner_id {
                query = query.filter(companies::owner_id.eq(owner));
            }
            if let Some(tag) = &filter.tag {
                query =
                    query.filter(companies::id.eq_any(crate::companies::tagged(account_id, tag)));
            }
            cards_by_phase.insert(phase.id, query.load::<Card>(conn)?);
        }
    }
    let columns = pipeline
        .phases
        .iter()
        .map(|phase| Column {
            phase: phase.clone(),
            count: counts.get(&phase.id).copied().unwrap_or(0),
            cards: cards_by_phase.remove(&phase.id).unwrap_or_default(),
        })
        .collect();
    Ok((pipeline, columns))
}

/// The companies each phase of a pipeline shows, from the counts the triggers keep
/// (`phase_counts`): a few rows per phase, whatever the pipeline's size.
fn kept_counts(
    conn: &mut DbConnection,
    account_id: i64,
    pipeline_id: i64,
) -> Result<HashMap<i64, i64>, StoreError> {
    let rows: Vec<(i64, i64)> = phase_counts::table
        .inner_join(phases::table.on(phases::id.eq(phase_counts::phase_id)))
        .filter(phases::account_id.eq(account_id))
        .filter(phases::pipeline_id.eq(pipeline_id))
        .select((phase_counts::phase_id, phase_counts::companies))
        .load(conn)?;
    let mut counts = HashMap::new();
    for (phase, n) in rows {
        *counts.entry(phase).or_insert(0) += n;
    }
    Ok(counts)
}

/// The companies each phase of a pipeline shows among those an owner or tag filter keeps,
/// counted from the companies themselves.
fn filtered_counts(
    conn: &mut DbConnection,
    account_id: i64,
    pipeline_id: i64,
    filter: &BoardFilter,
) -> Result<HashMap<i64, i64>, StoreError> {
    let mut counts_query = companies::table
        .filter(companies::account_id.eq(account_id))
        .filter(companies::pipeline_id.eq(pipeline_id))
        .filter(companies::show_in_pipeline.eq(true))
        .group_by(companies::phase_id)
        .select((companies::phase_id, diesel::dsl::count_star()))
        .into_boxed();
    if let Some(owner) = filter.owner_id {
        counts_query = counts_query.filter(companies::owner_id.eq(owner));
    }
    if let Some(tag) = &filter.tag {
        counts_query =
            counts_query.filter(companies::id.eq_any(crate::companies::tagged(account_id, tag)));
    }
    Ok(counts_query
        .load::<(Option<i64>, i64)>(conn)?
        .into_iter()
        .filter_map(|(phase, n)| phase.map(|p| (p, n)))
        .collect())
}

/// Folds the count deltas PostgreSQL's triggers leave (one row per changing statement and
/// phase) into one row per phase, and drops the rows of removed phases. Safe beside writers
/// and beside another replica doing the same: a row is summed by whoever deletes it. SQLite
/// keeps one row per phase already.
pub fn compact_phase_counts(conn: &mut DbConnection) -> Result<(), StoreError> {
    use diesel::connection::SimpleConnection;
    if let DbConnection::Postgresql(pg) = conn {
        pg.batch_execute(
            "WITH gone AS (DELETE FROM phase_counts WHERE phase_id IN \
               (SELECT phase_id FROM phase_counts GROUP BY phase_id HAVING COUNT(*) > 1) \
               RETURNING phase_id, companies) \
             INSERT INTO phase_counts (phase_id, companies) \
             SELECT phase_id, SUM(companies) FROM gone GROUP BY phase_id; \
             DELETE FROM phase_counts k WHERE NOT EXISTS (SELECT 1 FROM phases p WHERE p.id = k.phase_id);",
        )?;
    }
    Ok(())
}

/// Per-phase figures of a period.
#[derive(Debug, Clone)]
pub struct PhaseStats {
    pub phase: Phase,
    pub current: i64,
    pub entered: i64,
    pub left: i64,
    pub median_seconds: Option<f64>,
    pub mean_seconds: Option<f64>,
    /// Of those that left, the share that went to a later phase of the pipeline.
    pub forward_share: Option<f64>,
}

#[derive(Debug, Clone)]
pub struct PipelineStats {
    pub pipeline: Pipeline,
    pub phases: Vec<PhaseStats>,
    pub won: i64,
    pub lost: i64,
    pub win_rate: Option<f64>,
}

/// A move out of a phase: from phase, to phase, to pipeline, seconds spent.
type Exit = (Option<i64>, Option<i64>, Option<i64>, Option<i64>);

/// Figures of a pipeline for `[from, to)`.
pub fn stats(
    conn: &mut DbConnection,
    account_id: i64,
    pipeline_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<PipelineStats, StoreError> {
    let pipeline = find(conn, account_id, pipeline_id)?;
    let (from, to) = (from.naive_utc(), to.naive_utc());
    let current: HashMap<Option<i64>, i64> = companies::table
        .filter(companies::account_id.eq(account_id))
        .filter(companies::pipeline_id.eq(pipeline_id))
        .group_by(companies::phase_id)
        .select((companies::phase_id, diesel::dsl::count_star()))
        .load::<(Option<i64>, i64)>(conn)?
        .into_iter()
        .collect();
    let entries: Vec<(Option<i64>, Option<i64>, Option<String>)> = company_transitions::table
        .filter(company_transitions::account_id.eq(account_id))
        .filter(company_transitions::to_pipeline_id.eq(pipeline_id))
        .filter(company_transitions::created_at.ge(from))
        .filter(company_transitions::created_at.lt(to))
        .select((
            company_transitions::from_phase_id,
            company_transitions::to_phase_id,
            company_transitions::outcome,
        ))
        .load(conn)?;
    let exits: Vec<Exit> = company_transitions::table
        .filter(company_transitions::account_id.eq(account_id))
        .filter(company_transitions::from_pipeline_id.eq(pipeline_id))
        .filter(company_transitions::created_at.ge(from))
        .filter(company_transitions::created_at.lt(to))
        .select((
            company_transitions::from_phase_id,
            company_transitions::to_phase_id,
            company_transitions::to_pipeline_id,
            company_transitions::seconds_in_previous,
        ))
        .load(conn)?;
    let position = |id: Option<i64>| id.and_then(|id| pipeline.phase(id)).map(|p| p.position);
    let phases = pipeline
        .phases
        .iter()
        .map(|phase| {
            let entered = entries
                .iter()
                // A stay starts when a company comes from elsewhere, not when it is won in place.
                .filter(|(from, to, _)| *to == Some(phase.id) && *from != Some(phase.id))
                .count();
            let left: Vec<_> = exits
                .iter()
                .filter(|(from, to, ..)| *from == Some(phase.id) && *to != Some(phase.id))
                .collect();
            let mut durations: Vec<i64> =
                left.iter().filter_map(|(.., seconds)| *seconds).collect();
            let mean = (!durations.is_empty())
                .then(|| durations.iter().sum::<i64>() as f64 / durations.len() as f64);
            let forward = left
                .iter()
                .filter(|(_, to, to_pipeline, _)| {
                    *to_pipeline == Some(pipeline.id) && position(*to) > Some(phase.position)
                })
                .count();
            PhaseStats {
                phase: phase.clone(),
                current: current.get(&Some(phase.id)).copied().unwrap_or(0),
                entered: i64::try_from(entered).unwrap_or(i64::MAX),
                left: i64::try_from(left.len()).unwrap_or(i64::MAX),
                median_seconds: median(&mut durations),
                mean_seconds: mean,
                forward_share: (!left.is_empty()).then(|| forward as f64 / left.len() as f64),
            }
        })
        .collect();
    let won = entries
        .iter()
        .filter(|(.., o)| o.as_deref() == Some("won"))
        .count();
    let lost = entries
        .iter()
        .filter(|(.., o)| o.as_deref() == Some("lost"))
        .count();
    Ok(PipelineStats {
        pipeline,
        phases,
        won: i64::try_from(won).unwrap_or(i64::MAX),
        lost: i64::try_from(lost).unwrap_or(i64::MAX),
        win_rate: (won + lost > 0).then(|| won as f64 / (won + lost) as f64),
    })
}
