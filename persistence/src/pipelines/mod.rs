//! Pipelines and their phases: their configuration. What reaches the records in a pipeline
//! (a phase's state and follow-ups, its removal, the board, the stats) is the pipeline
//! engine's, [`crate::placement`], for whichever record type the pipeline holds.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::Invalid;
use domain::event::{EventType, NewEvent, Outbox};
use domain::listing::{Page, PageSize, Position};
use domain::pipeline::{Phase, Pipeline, RecordKind, Status, is_permutation};
use domain::values::Label;

use crate::keyset::{id_position, into_page};
use crate::schema::{phases, pipelines};
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
    probability: Option<i64>,
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
            probability: row.probability,
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

/// The most phases a pipeline may have (a board shows them all at once).
pub const MAX_PHASES: usize = 50;

/// A phase to create.
#[derive(Debug, Clone)]
pub struct NewPhase {
    pub name: Label,
    pub status: Status,
    pub follow_up_after_days: Option<i64>,
    pub allowed_next: Vec<i64>,
    pub probability: Option<i64>,
}

/// Changes to a phase: `None` leaves a field alone.
#[derive(Debug, Clone, Default)]
pub struct PhasePatch {
    pub name: Option<Label>,
    pub status: Option<Status>,
    pub follow_up_after_days: Option<Option<i64>>,
    pub allowed_next: Option<Vec<i64>>,
    pub probability: Option<Option<i64>>,
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
        .map(|(name, status, days, probability)| NewPhase {
            name: Label::from_stored((*name).to_owned()),
            status: *status,
            follow_up_after_days: *days,
            allowed_next: Vec::new(),
            probability: *probability,
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
pub(crate) fn check_states(
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
            phases::probability.eq(phase.probability),
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
    // One statement: the pipeline on every row, with one phase each (none: one row without).
    let rows: Vec<(PipelineRow, Option<PhaseRow>)> = pipelines::table
        .left_join(phases::table)
        .filter(pipelines::id.eq(id))
        .filter(pipelines::account_id.eq(account_id))
        .order((phases::position.asc(), phases::id.asc()))
        .select((PipelineRow::as_select(), Option::<PhaseRow>::as_select()))
        .load(conn)?;
    let mut rows = rows.into_iter();
    let (row, first) = rows.next().ok_or(StoreError::NotFound)?;
    let phases = first
        .into_iter()
        .chain(rows.filter_map(|(_, phase)| phase))
        .map(Phase::from)
        .collect();
    Ok(assemble(row, phases))
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
pub(crate) fn find_for_update(
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
pub(crate) fn record_pipeline_change(
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

pub(crate) fn check_allowed_next(
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

pub(crate) fn write_order(conn: &mut DbConnection, order: &[i64]) -> Result<(), StoreError> {
    for (position, id) in order.iter().enumerate() {
        diesel::update(phases::table.filter(phases::id.eq(id)))
            .set(phases::position.eq(i64::try_from(position).unwrap_or(i64::MAX)))
            .execute(conn)?;
    }
    Ok(())
}

pub(crate) fn bump(conn: &mut DbConnection, pipeline_id: i64) -> Result<(), StoreError> {
    diesel::update(pipelines::table.filter(pipelines::id.eq(pipeline_id)))
        .set((
            pipelines::version.eq(pipelines::version + 1),
            pipelines::updated_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}
