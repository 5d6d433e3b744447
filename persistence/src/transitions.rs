//! Moving companies between phases: the company, its history row and (later) its event are
//! written in one transaction, with the company's row locked so that moves never interleave.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::Invalid;
use domain::company::{Company, PhaseTime};
use domain::event::{EventType, NewEvent, Outbox};
use domain::listing::{Page, PageSize, Position};
use domain::pipeline::{
    Destination, Move, MoveRefused, Outcome, Pipeline, Place, RecordKind, Status, Transition,
    is_no_change, plan_move,
};
use domain::token::ActorRef;

use crate::companies;
use crate::keyset::{id_position, into_page};
use crate::pipelines;
use crate::schema::{companies as companies_table, company_transitions};
use crate::{DbConnection, StoreError, check_version, events, now, to_utc, write_transaction};

/// What moves a company.
#[derive(Debug, Clone)]
pub enum MoveKind {
    /// A caller's move, checked against the phase rules.
    Requested(Move),
    /// A new company placed straight into this phase.
    Initial(i64),
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = company_transitions)]
struct TransitionRow {
    id: i64,
    company_id: i64,
    from_pipeline_id: Option<i64>,
    to_pipeline_id: Option<i64>,
    from_phase_id: Option<i64>,
    from_phase_name: Option<String>,
    to_phase_id: Option<i64>,
    to_phase_name: Option<String>,
    from_status: String,
    to_status: String,
    outcome: Option<String>,
    reason: Option<String>,
    actor_user_id: Option<i64>,
    actor_client_id: Option<i64>,
    seconds_in_previous: Option<i64>,
    created_at: NaiveDateTime,
}

impl From<TransitionRow> for Transition {
    fn from(r: TransitionRow) -> Transition {
        Transition {
            id: r.id,
            company_id: r.company_id,
            from_pipeline_id: r.from_pipeline_id,
            to_pipeline_id: r.to_pipeline_id,
            from_phase_id: r.from_phase_id,
            from_phase_name: r.from_phase_name,
            to_phase_id: r.to_phase_id,
            to_phase_name: r.to_phase_name,
            from_status: Status::from_stored(&r.from_status),
            to_status: Status::from_stored(&r.to_status),
            outcome: Outcome::from_stored(r.outcome.as_deref()),
            reason: r.reason,
            actor_user_id: r.actor_user_id,
            actor_client_id: r.actor_client_id,
            seconds_in_previous: r.seconds_in_previous,
            created_at: to_utc(r.created_at),
        }
    }
}

/// Moves a company in its own transaction, with its history row and its event; `None` when
/// it is already where the move leads.
pub fn move_company(
    conn: &mut DbConnection,
    account_id: i64,
    company_id: i64,
    expected_version: Option<i64>,
    request: Move,
    outbox: &Outbox<'_>,
) -> Result<(Option<Transition>, Company), StoreError> {
    write_transaction(conn, |conn| {
        let moved = apply(
            conn,
            account_id,
            company_id,
            expected_version,
            MoveKind::Requested(request.clone()),
            outbox.actor,
        )?;
        let company = companies::get(conn, account_id, company_id)?;
        let Some((transition, before)) = moved else {
            return Ok((None, company));
        };
        let event = NewEvent::changed(
            move_event_type(&transition),
            company_id,
            &outbox.render.company(&before),
            outbox.render.company(&company),
        );
        events::record_one(conn, account_id, outbox, event)?;
        Ok((Some(transition), company))
    })
}

/// `company.won` and `company.lost` for the moves that win or lose; every other move is
/// `company.phase_changed`.
pub(crate) fn move_event_type(transition: &Transition) -> EventType {
    match transition.outcome {
        Some(Outcome::Won) => EventType::CompanyWon,
        Some(Outcome::Lost) => EventType::CompanyLost,
        None => EventType::CompanyPhaseChanged,
    }
}

/// How often a move re-reads a company that changed pipeline while it took its locks.
const LOCK_ATTEMPTS: usize = 5;

/// Moves a company inside the caller's transaction; returns the history row and the company
/// as it was before, or `None` when nothing moved.
///
/// Lock order, the same as configuration changes take: first the pipelines involved
/// (shared, so moves run side by side but not beside a change of those pipelines' phases),
/// then the company's row.
pub(crate) fn apply(
    conn: &mut DbConnection,
    account_id: i64,
    company_id: i64,
    expected_version: Option<i64>,
    kind: MoveKind,
    actor: ActorRef,
) -> Result<Option<(Transition, Company)>, StoreError> {
    let target_phase = match &kind {
        MoveKind::Requested(Move::ToPhase(phase)) | MoveKind::Initial(phase) => Some(*phase),
        MoveKind::Requested(_) => None,
    };
    let mut attempts = 0;
    let company = loop {
        attempts += 1;
        let seen = companies::pipeline_of(conn, account_id, company_id)?;
        let involved = match seen {
            Some(pipeline) => Some(pipeline),
            None => match target_phase {
                Some(phase) => pipelines::pipeline_id_of_phase(conn, account_id, phase)?,
                None => pipelines::default_id(conn, account_id, RecordKind::Company)?,
            },
        };
        pipelines::lock_shared(conn, involved)?;
        let company = companies::find_for_update(conn, account_id, company_id)?;
        if company.place.pipeline_id == seen {
            break company;
        }
        if attempts >= LOCK_ATTEMPTS {
            return Err(StoreError::Conflict(
                "the company keeps changing pipeline; retry the move".into(),
            ));
        }
    };
    check_version(company.version, expected_version)?;
    let place = Place {
        pipeline_id: company.place.pipeline_id,
        phase_id: company.place.phase_id,
        outcome: company.place.outcome,
    };
    let current = match company.place.pipeline_id {
        Some(id) => Some(pipelines::find(conn, account_id, id)?),
        None => None,
    };
    let (destination, pipeline, records_outcome) = match kind {
        MoveKind::Requested(request) => {
            let default = match &current {
                Some(_) => None,
                None => pipelines::find_default(conn, account_id, RecordKind::Company)?,
            };
            let target = match (&request, &current) {
                (Move::ToPhase(phase), None) => pipelines::find_by_phase(conn, account_id, *phase)?,
                _ => None,
            };
            if let Some(target) = &target {
                holds_companies(target, "to_phase_id")?;
            }
            let destination = plan_move(
                &place,
                current.as_ref(),
                default.as_ref(),
                target.as_ref(),
                &request,
            )
            .map_err(|refused| refusal(&request, refused))?;
            // A move that wins or loses (by outcome, or onto the won or lost phase).
            let records_outcome = matches!(request, Move::Outcome(..))
                || (destination.outcome.is_some() && destination.outcome != place.outcome);
            (destination, current.or(target).or(default), records_outcome)
        }
        MoveKind::Initial(phase_id) => {
            let pipeline =
                pipelines::find_by_phase(conn, account_id, phase_id)?.ok_or_else(|| {
                    StoreError::Invalid(Invalid::one(
                        "phase_id",
                        "unknown_phase",
                        format!("there is no phase {phase_id} in this account"),
                    ))
                })?;
            holds_companies(&pipeline, "phase_id")?;
            let phase = pipeline.phase(phase_id).ok_or(StoreError::NotFound)?;
            let destination = Destination {
                pipeline_id: Some(pipeline.id),
                phase_id: Some(phase.id),
                status: phase.status,
                outcome: None,
                reason: None,
            };
            (destination, Some(pipeline), false)
        }
    };
    if is_no_change(&place, &destination) {
        return Ok(None);
    }
    let at = now();
    let phase_of = |id: Option<i64>| id.and_then(|id| pipeline.as_ref().and_then(|p| p.phase(id)));
    let name_of = |id: Option<i64>| phase_of(id).map(|p| p.name.clone());
    // Winning or losing in the phase the company is in does not start a new stay there.
    let stays = destination.phase_id.is_some() && destination.phase_id == place.phase_id;
    let (entered_at, follow_up_due_at, seconds_in_previous) = if stays {
        (
            company.place.phase_entered_at.map(|t| t.naive_utc()),
            company.place.follow_up_due_at.map(|t| t.naive_utc()),
            None,
        )
    } else {
        (
            destination.phase_id.map(|_| at),
            phase_of(destination.phase_id)
                .and_then(|phase| phase.follow_up_due_at(at.and_utc()))
                .map(|t| t.naive_utc()),
            company
                .place
                .phase_entered_at
                .map(|t| (at.and_utc() - t).num_seconds().max(0)),
        )
    };
    // The history row records an outcome only for the move that won or lost.
    let (row_outcome, row_reason) = if records_outcome {
        (destination.outcome, destination.reason.clone())
    } else {
        (None, None)
    };
    let id: i64 = diesel::insert_into(company_transitions::table)
        .values((
            company_transitions::account_id.eq(account_id),
            company_transitions::company_id.eq(company_id),
            company_transitions::from_pipeline_id.eq(place.pipeline_id),
            company_transitions::to_pipeline_id.eq(destination.pipeline_id),
            company_transitions::from_phase_id.eq(place.phase_id),
            company_transitions::from_phase_name.eq(name_of(place.phase_id)),
            company_transitions::to_phase_id.eq(destination.phase_id),
            company_transitions::to_phase_name.eq(name_of(destination.phase_id)),
            company_transitions::from_status.eq(company.place.status.as_str()),
            company_transitions::to_status.eq(destination.status.as_str()),
            company_transitions::outcome.eq(row_outcome.map(Outcome::as_str)),
            company_transitions::reason.eq(row_reason),
            company_transitions::actor_user_id.eq(actor.user_id),
            company_transitions::actor_client_id.eq(actor.client_id),
            company_transitions::seconds_in_previous.eq(seconds_in_previous),
            company_transitions::created_at.eq(at),
        ))
        .returning(company_transitions::id)
        .get_result(conn)?;
    diesel::update(companies_table::table.filter(companies_table::id.eq(company_id)))
        .set((
            companies_table::pipeline_id.eq(destination.pipeline_id),
            companies_table::phase_id.eq(destination.phase_id),
            companies_table::relationship_status.eq(destination.status.as_str()),
            companies_table::outcome.eq(destination.outcome.map(Outcome::as_str)),
            companies_table::outcome_reason.eq(&destination.reason),
            companies_table::phase_entered_at.eq(entered_at),
            companies_table::follow_up_due_at.eq(follow_up_due_at),
            companies_table::version.eq(company.version + 1),
            companies_table::updated_at.eq(at),
        ))
        .execute(conn)?;
    Ok(Some((find(conn, id)?, company)))
}

/// A company is placed only in a pipeline of companies.
fn holds_companies(pipeline: &Pipeline, field: &str) -> Result<(), StoreError> {
    if pipeline.record_type == RecordKind::Company {
        return Ok(());
    }
    Err(StoreError::Invalid(Invalid::one(
        field,
        "wrong_record_type",
        format!(
            "pipeline {} holds {}s; a company moves only through a company pipeline's phases",
            pipeline.id,
            pipeline.record_type.as_str()
        ),
    )))
}

fn refusal(request: &Move, refused: MoveRefused) -> StoreError {
    let field = match request {
        Move::ToPhase(_) => "to_phase_id",
        Move::ToStatus(_) => "to_status",
        Move::Outcome(..) => "outcome",
        Move::Reopen | Move::Remove => "action",
    };
    let (code, message) = match refused {
        MoveRefused::PhaseNotAllowed { phase_id, allowed } => (
            "phase_not_allowed",
            format!(
                "phase {phase_id} cannot be reached from where the company is; allowed phases: {}",
                if allowed.is_empty() {
                    "none".to_owned()
                } else {
                    allowed
                        .iter()
                        .map(|(id, name)| format!("{id} ({name})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            ),
        ),
        MoveRefused::NoSuchPhase(why) => ("no_such_phase", why),
        MoveRefused::NotClosed => (
            "not_closed",
            "only a won or lost company is reopened; move it to a phase instead".to_owned(),
        ),
        MoveRefused::NotInPipeline => (
            "not_in_pipeline",
            "the company is in no pipeline; move it to a phase instead".to_owned(),
        ),
    };
    StoreError::Invalid(Invalid::one(field, code, message))
}

fn find(conn: &mut DbConnection, id: i64) -> Result<Transition, StoreError> {
    Ok(company_transitions::table
        .filter(company_transitions::id.eq(id))
        .select(TransitionRow::as_select())
        .first::<TransitionRow>(conn)?
        .into())
}

/// A company's history, newest first.
pub fn history(
    conn: &mut DbConnection,
    account_id: i64,
    company_id: i64,
    size: PageSize,
    after: Option<&Position>,
) -> Result<Page<Transition>, StoreError> {
    if !companies::exists(conn, account_id, company_id)? {
        return Err(StoreError::NotFound);
    }
    let mut query = company_transitions::table
        .filter(company_transitions::account_id.eq(account_id))
        .filter(company_transitions::company_id.eq(company_id))
        .select(TransitionRow::as_select())
        .order(company_transitions::id.desc())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(company_transitions::id.lt(after.id));
    }
    let rows: Vec<TransitionRow> = query.limit(size.get() + 1).load(conn)?;
    Ok(into_page(rows, size, |row: &TransitionRow| {
        id_position(row.id)
    }))
}

/// Fills `time_in_phases` of some companies from their history, plus their current stay:
/// one query for all of them.
pub(crate) fn attach_times(
    conn: &mut DbConnection,
    account_id: i64,
    companies: &mut [Company],
) -> Result<(), StoreError> {
    let ids: Vec<i64> = companies.iter().map(|c| c.id).collect();
    if ids.is_empty() {
        return Ok(());
    }
    let query = company_transitions::table
        .filter(company_transitions::account_id.eq(account_id))
        .filter(company_transitions::from_phase_id.is_not_null())
        .into_boxed();
    // One company (a GET) asks with `=`: SQLite cannot keep a prepared `IN (..)`, whose
    // length varies, so it would parse and plan the statement again on every request.
    let query = match ids.as_slice() {
        [one] => query.filter(company_transitions::company_id.eq(*one)),
        many => query.filter(company_transitions::company_id.eq_any(many.to_vec())),
    };
    let rows: Vec<(i64, Option<i64>, Option<i64>)> = query
        .select((
            company_transitions::company_id,
            company_transitions::from_phase_id,
            company_transitions::seconds_in_previous,
        ))
        .order(company_transitions::id.asc())
        .load(conn)?;
    let mut totals: HashMap<i64, Vec<PhaseTime>> = HashMap::new();
    let mut add = |company: i64, phase: i64, seconds: i64| {
        let times = totals.entry(company).or_default();
        match times.iter_mut().find(|t| t.phase_id == phase) {
            Some(t) => t.seconds += seconds,
            None => times.push(PhaseTime {
                phase_id: phase,
                seconds,
            }),
        }
    };
    for (company, phase, seconds) in rows {
        if let Some(phase) = phase {
            add(company, phase, seconds.unwrap_or(0));
        }
    }
    let at = now().and_utc();
    for company in companies.iter() {
        if let (Some(phase), Some(entered)) =
            (company.place.phase_id, company.place.phase_entered_at)
        {
            add(company.id, phase, (at - entered).num_seconds().max(0));
        }
    }
    for company in companies.iter_mut() {
        company.time_in_phases = totals.remove(&company.id).unwrap_or_default();
    }
    Ok(())
}
