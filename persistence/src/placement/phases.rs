//! Configuration changes that reach the records in a pipeline, whatever their type: a phase's
//! new state or follow-up time, a phase's removal with `move_to`, a pipeline's deletion.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::Invalid;
use domain::event::{EventType, NewEvent, Outbox};
use domain::pipeline::{Phase, Pipeline};
use domain::values::Label;

use super::{NewTransition, Pipelined};
use crate::pipelines::{PhasePatch, bump, check_allowed_next, check_states, find, write_order};
use crate::schema::{phases, pipelines as pipelines_table};
use crate::{DbConnection, StoreError, events, now};

/// Deletes a pipeline that holds no record; the default pipeline stays. Runs inside the
/// caller's transaction, with the pipeline locked.
pub(crate) fn delete_pipeline<P: Pipelined>(
    conn: &mut DbConnection,
    account_id: i64,
    current: &Pipeline,
    outbox: &Outbox<'_>,
) -> Result<(), StoreError> {
    if current.is_default {
        return Err(StoreError::Conflict(format!(
            "this is the account's default {} pipeline; make another pipeline the default first",
            P::KIND.as_str()
        )));
    }
    let held = P::count_in_pipeline(conn, account_id, current.id)?;
    if held > 0 {
        return Err(StoreError::Conflict(format!(
            "the pipeline holds {held} {}; move or remove {} first",
            P::KIND.count_noun(held),
            if held == 1 { "it" } else { "them" }
        )));
    }
    diesel::delete(phases::table.filter(phases::pipeline_id.eq(current.id))).execute(conn)?;
    diesel::delete(pipelines_table::table.filter(pipelines_table::id.eq(current.id)))
        .execute(conn)?;
    let data = outbox.render.pipeline(current);
    events::record_one(
        conn,
        account_id,
        outbox,
        NewEvent::new(EventType::PipelineDeleted, current.id, data),
    )
}

/// Changes a phase; the records in it follow a new state and a new follow-up time, each with
/// its `.updated` event.
pub(crate) fn update_phase<P: Pipelined>(
    conn: &mut DbConnection,
    account_id: i64,
    pipeline: Pipeline,
    phase_id: i64,
    patch: PhasePatch,
    outbox: &Outbox<'_>,
) -> Result<Pipeline, StoreError> {
    let pipeline_id = pipeline.id;
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
    let probability = patch.probability.unwrap_or(current.probability);
    let name = patch
        .name
        .map_or_else(|| current.name.clone(), Label::into_inner);
    let allowed_next = patch
        .allowed_next
        .unwrap_or_else(|| current.allowed_next.clone());
    if name == current.name
        && status == current.status
        && days == current.follow_up_after_days
        && probability == current.probability
        && allowed_next == current.allowed_next
    {
        // Nothing changes: the pipeline keeps its version, and no event is written.
        return Ok(pipeline);
    }
    // A phase's probability is a default the records show when they have none of their own.
    let records_change = status != current.status
        || days != current.follow_up_after_days
        || (P::SHOWS_PROBABILITY && probability != current.probability);
    // The records in the phase, as they were: each that changes gets its `.updated`. Moves
    // into the phase wait on the pipeline's lock, held here.
    let held: Vec<i64> = if records_change {
        P::held(conn, account_id, phase_id)?
            .into_iter()
            .map(|(id, _)| id)
            .collect()
    } else {
        Vec::new()
    };
    let before = P::get_many(conn, account_id, &held)?;
    let at = now();
    diesel::update(phases::table.filter(phases::id.eq(phase_id)))
        .set((
            phases::name.eq(name),
            phases::status.eq(status.as_str()),
            phases::follow_up_after_days.eq(days),
            phases::probability.eq(probability),
            phases::allowed_next.eq(serde_json::Value::from(allowed_next).to_string()),
            phases::updated_at.eq(at),
        ))
        .execute(conn)?;
    if status != current.status {
        P::set_state(conn, account_id, phase_id, status)?;
    }
    if days != current.follow_up_after_days {
        P::follow_ups(conn, account_id, phase_id, days)?;
    }
    if records_change {
        // The records' representation changed: a new version, and `updated_since` pollers
        // see it.
        P::touch(conn, account_id, phase_id, at)?;
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
    let now_held = P::get_many(conn, account_id, &held)?;
    changes.extend(
        before
            .iter()
            .zip(&now_held)
            .zip(&held)
            .map(|((was, is), id)| {
                NewEvent::changed(
                    P::EVENTS.updated,
                    *id,
                    &P::render(outbox, was),
                    P::render(outbox, is),
                )
            }),
    );
    events::record(conn, account_id, outbox, changes)?;
    Ok(after)
}

/// Removes a phase. Records in it move to `move_to` (a phase of the same pipeline), each
/// with a history row, in a few statements whatever their number; without `move_to`, a phase
/// that holds records stays. Phases that allowed only this phase next are pointed at
/// `move_to` instead.
pub(crate) fn remove_phase<P: Pipelined>(
    conn: &mut DbConnection,
    account_id: i64,
    pipeline: Pipeline,
    phase_id: i64,
    move_to: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<Pipeline, StoreError> {
    let pipeline_id = pipeline.id;
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
    let held = P::held(conn, account_id, phase_id)?;
    let mut moved = Vec::new();
    match &target {
        Some(target) if !held.is_empty() => {
            moved = move_all::<P>(conn, account_id, &pipeline, &removed, target, &held, outbox)?
        }
        None if !held.is_empty() => {
            let n = i64::try_from(held.len()).unwrap_or(i64::MAX);
            return Err(StoreError::Conflict(format!(
                "the phase holds {n} {}; pass move_to with another phase of the pipeline",
                P::KIND.count_noun(n)
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
        pipelines_table::table
            .filter(pipelines_table::id.eq(pipeline_id))
            .filter(pipelines_table::won_phase_id.eq(phase_id)),
    )
    .set(pipelines_table::won_phase_id.eq(None::<i64>))
    .execute(conn)?;
    diesel::update(
        pipelines_table::table
            .filter(pipelines_table::id.eq(pipeline_id))
            .filter(pipelines_table::lost_phase_id.eq(phase_id)),
    )
    .set(pipelines_table::lost_phase_id.eq(None::<i64>))
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
}

/// Moves every record of a removed phase: history rows in batches, then one update. Returns
/// the moves' `.phase_changed` events, for the caller to record last.
fn move_all<P: Pipelined>(
    conn: &mut DbConnection,
    account_id: i64,
    pipeline: &Pipeline,
    from: &Phase,
    to: &Phase,
    held: &[(i64, Option<NaiveDateTime>)],
    outbox: &Outbox<'_>,
) -> Result<Vec<NewEvent>, StoreError> {
    let ids: Vec<i64> = held.iter().map(|(id, _)| *id).collect();
    let before = P::get_many(conn, account_id, &ids)?;
    let at = now();
    let rows: Vec<NewTransition> = held
        .iter()
        .map(|(id, entered)| NewTransition {
            record_id: *id,
            from_pipeline_id: Some(pipeline.id),
            to_pipeline_id: Some(pipeline.id),
            from_phase_id: Some(from.id),
            from_phase_name: Some(from.name.clone()),
            to_phase_id: Some(to.id),
            to_phase_name: Some(to.name.clone()),
            from_status: from.status,
            to_status: to.status,
            outcome: None,
            reason: None,
            actor: outbox.actor,
            seconds_in_previous: entered.map(|t| (at - t).num_seconds().max(0)),
            created_at: at,
        })
        .collect();
    P::record(conn, account_id, &rows)?;
    P::move_phase(conn, account_id, from.id, to, at)?;
    let after = P::get_many(conn, account_id, &ids)?;
    Ok(before
        .iter()
        .zip(&after)
        .zip(&ids)
        .map(|((was, is), id)| {
            NewEvent::changed(
                P::EVENTS.phase_changed,
                *id,
                &P::render(outbox, was),
                P::render(outbox, is),
            )
        })
        .collect())
}
