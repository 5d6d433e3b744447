//! The pipeline engine for every pipelined record type: where a record is, how it moves with
//! its history row, its history, and its time in each phase. Written once; a record type plugs
//! in with [`pipelined!`], which implements [`Pipelined`] over its table and its history table.
//!
//! Lock order, the same for every type and the same as configuration changes take: first the
//! pipelines involved (shared, so moves run side by side but not beside a change of those
//! pipelines' phases), then the record's row.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::Invalid;
use domain::company::PhaseTime;
use domain::listing::{Page, PageSize, Position};
use domain::pipeline::{
    Destination, Move, MoveRefused, Outcome, Pipeline, Place, RecordKind, Status, Transition,
    is_no_change, plan_move,
};
use domain::token::ActorRef;

use crate::keyset::{id_position, into_page};
use crate::pipelines;
use crate::{DbConnection, StoreError, check_version, now, to_utc};

/// Where a record is, as its row holds it, with its version.
#[derive(Debug, Clone)]
pub(crate) struct Placed {
    pub version: i64,
    pub pipeline_id: Option<i64>,
    pub phase_id: Option<i64>,
    pub status: Status,
    pub outcome: Option<Outcome>,
    pub phase_entered_at: Option<NaiveDateTime>,
    pub follow_up_due_at: Option<NaiveDateTime>,
}

/// Where a move puts a record.
#[derive(Debug, Clone)]
pub(crate) struct NewPlace {
    pub pipeline_id: Option<i64>,
    pub phase_id: Option<i64>,
    pub status: Status,
    pub outcome: Option<Outcome>,
    pub reason: Option<String>,
    pub phase_entered_at: Option<NaiveDateTime>,
    pub follow_up_due_at: Option<NaiveDateTime>,
}

/// A history row to write.
#[derive(Debug, Clone)]
pub(crate) struct NewTransition {
    pub record_id: i64,
    pub from_pipeline_id: Option<i64>,
    pub to_pipeline_id: Option<i64>,
    pub from_phase_id: Option<i64>,
    pub from_phase_name: Option<String>,
    pub to_phase_id: Option<i64>,
    pub to_phase_name: Option<String>,
    pub from_status: Status,
    pub to_status: Status,
    pub outcome: Option<Outcome>,
    pub reason: Option<String>,
    pub actor: ActorRef,
    pub seconds_in_previous: Option<i64>,
    pub created_at: NaiveDateTime,
}

/// A history row as stored, whatever the record type (the columns every history table has,
/// in this order).
#[derive(Debug, Clone, Queryable)]
pub(crate) struct TransitionRow {
    id: i64,
    record_id: i64,
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
            record_id: r.record_id,
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

/// A stay that ended: the record, the phase it left and the seconds it spent there.
pub(crate) type Stay = (i64, Option<i64>, Option<i64>);

/// A pipelined record type's storage, as the engine needs it. Implemented by [`pipelined!`].
pub(crate) trait Pipelined {
    /// Which pipelines hold it.
    const KIND: RecordKind;
    /// The record as its events show it.
    type Record;

    /// The record, for its events: read right after its row is locked, it is the record as
    /// the move found it.
    fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Self::Record, StoreError>;

    /// The pipeline a record of this account is in, read without a lock (`NotFound` when
    /// there is no such record).
    fn pipeline_of(
        conn: &mut DbConnection,
        account_id: i64,
        id: i64,
    ) -> Result<Option<i64>, StoreError>;

    /// Where a record is, its row locked for the rest of the transaction (on PostgreSQL;
    /// SQLite's write transaction holds the database).
    fn lock(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Placed, StoreError>;

    /// Puts a record where a move leads, as its next version.
    fn place(
        conn: &mut DbConnection,
        id: i64,
        version: i64,
        place: &NewPlace,
        at: NaiveDateTime,
    ) -> Result<(), StoreError>;

    /// Writes history rows; returns the id of the last.
    fn record(
        conn: &mut DbConnection,
        account_id: i64,
        rows: &[NewTransition],
    ) -> Result<Option<i64>, StoreError>;

    /// A history row by id.
    fn transition(conn: &mut DbConnection, id: i64) -> Result<Transition, StoreError>;

    /// A record's history, newest first, by id.
    fn history_page(
        conn: &mut DbConnection,
        account_id: i64,
        id: i64,
        size: PageSize,
        before: Option<i64>,
    ) -> Result<Vec<TransitionRow>, StoreError>;

    /// The stays that ended of some records, oldest first: (record, phase left, seconds).
    fn stays(
        conn: &mut DbConnection,
        account_id: i64,
        ids: &[i64],
    ) -> Result<Vec<Stay>, StoreError>;
}

/// Implements [`Pipelined`] for a record table with the placement columns (`pipeline_id`,
/// `phase_id`, the state column named, `outcome`, `outcome_reason`, `phase_entered_at`,
/// `follow_up_due_at`, `version`, `updated_at`) and its history table (whose record column is
/// named).
macro_rules! pipelined {
    (
        $name:ident, $kind:expr, $records:ident . $state:ident, $history:ident . $record_id:ident,
        $record:ty, $get:path
    ) => {
        pub(crate) struct $name;

        impl $crate::placement::Pipelined for $name {
            const KIND: domain::pipeline::RecordKind = $kind;
            type Record = $record;

            fn get(
                conn: &mut $crate::DbConnection,
                account_id: i64,
                id: i64,
            ) -> Result<$record, $crate::StoreError> {
                $get(conn, account_id, id)
            }

            fn pipeline_of(
                conn: &mut $crate::DbConnection,
                account_id: i64,
                id: i64,
            ) -> Result<Option<i64>, $crate::StoreError> {
                use diesel::prelude::*;
                $records::table
                    .filter($records::id.eq(id))
                    .filter($records::account_id.eq(account_id))
                    .select($records::pipeline_id)
                    .first::<Option<i64>>(conn)
                    .optional()?
                    .ok_or($crate::StoreError::NotFound)
            }

            fn lock(
                conn: &mut $crate::DbConnection,
                account_id: i64,
                id: i64,
            ) -> Result<$crate::placement::Placed, $crate::StoreError> {
                use diesel::prelude::*;
                type Row = (
                    i64,
                    Option<i64>,
                    Option<i64>,
                    String,
                    Option<String>,
                    Option<chrono::NaiveDateTime>,
                    Option<chrono::NaiveDateTime>,
                );
                let query = $records::table
                    .filter($records::id.eq(id))
                    .filter($records::account_id.eq(account_id))
                    .select((
                        $records::version,
                        $records::pipeline_id,
                        $records::phase_id,
                        $records::$state,
                        $records::outcome,
                        $records::phase_entered_at,
                        $records::follow_up_due_at,
                    ));
                let row: Option<Row> = match conn {
                    $crate::DbConnection::Postgresql(pg) => {
                        query.for_update().first(pg).optional()?
                    }
                    $crate::DbConnection::Sqlite(lite) => query.first(lite).optional()?,
                };
                let (version, pipeline_id, phase_id, status, outcome, entered, due) =
                    row.ok_or($crate::StoreError::NotFound)?;
                Ok($crate::placement::Placed {
                    version,
                    pipeline_id,
                    phase_id,
                    status: domain::pipeline::Status::from_stored(&status),
                    outcome: domain::pipeline::Outcome::from_stored(outcome.as_deref()),
                    phase_entered_at: entered,
                    follow_up_due_at: due,
                })
            }

            fn place(
                conn: &mut $crate::DbConnection,
                id: i64,
                version: i64,
                place: &$crate::placement::NewPlace,
                at: chrono::NaiveDateTime,
            ) -> Result<(), $crate::StoreError> {
                use diesel::prelude::*;
                diesel::update($records::table.filter($records::id.eq(id)))
                    .set((
                        $records::pipeline_id.eq(place.pipeline_id),
                        $records::phase_id.eq(place.phase_id),
                        $records::$state.eq(place.status.as_str()),
                        $records::outcome.eq(place.outcome.map(domain::pipeline::Outcome::as_str)),
                        $records::outcome_reason.eq(&place.reason),
                        $records::phase_entered_at.eq(place.phase_entered_at),
                        $records::follow_up_due_at.eq(place.follow_up_due_at),
                        $records::version.eq(version),
                        $records::updated_at.eq(at),
                    ))
                    .execute(conn)?;
                Ok(())
            }

            fn record(
                conn: &mut $crate::DbConnection,
                account_id: i64,
                rows: &[$crate::placement::NewTransition],
            ) -> Result<Option<i64>, $crate::StoreError> {
                use diesel::prelude::*;
                let mut last = None;
                if let [one] = rows {
                    last = Some(
                        diesel::insert_into($history::table)
                            .values($crate::placement::history_values!(
                                $history, $record_id, account_id, one
                            ))
                            .returning($history::id)
                            .get_result::<i64>(conn)?,
                    );
                    return Ok(last);
                }
                for chunk in rows.chunks(500) {
                    let values: Vec<_> = chunk
                        .iter()
                        .map(|row| {
                            $crate::placement::history_values!(
                                $history, $record_id, account_id, row
                            )
                        })
                        .collect();
                    $crate::pool::on_backend!(conn, |c| diesel::insert_into($history::table)
                        .values(&values)
                        .execute(c))?;
                    last = None;
                }
                Ok(last)
            }

            fn transition(
                conn: &mut $crate::DbConnection,
                id: i64,
            ) -> Result<domain::pipeline::Transition, $crate::StoreError> {
                use diesel::prelude::*;
                Ok($history::table
                    .filter($history::id.eq(id))
                    .select($crate::placement::history_columns!($history, $record_id))
                    .first::<$crate::placement::TransitionRow>(conn)?
                    .into())
            }

            fn history_page(
                conn: &mut $crate::DbConnection,
                account_id: i64,
                id: i64,
                size: domain::listing::PageSize,
                before: Option<i64>,
            ) -> Result<Vec<$crate::placement::TransitionRow>, $crate::StoreError> {
                use diesel::prelude::*;
                let mut query = $history::table
                    .filter($history::account_id.eq(account_id))
                    .filter($history::$record_id.eq(id))
                    .select($crate::placement::history_columns!($history, $record_id))
                    .order($history::id.desc())
                    .into_boxed();
                if let Some(before) = before {
                    query = query.filter($history::id.lt(before));
                }
                Ok(query.limit(size.get() + 1).load(conn)?)
            }

            fn stays(
                conn: &mut $crate::DbConnection,
                account_id: i64,
                ids: &[i64],
            ) -> Result<Vec<$crate::placement::Stay>, $crate::StoreError> {
                use diesel::prelude::*;
                let query = $history::table
                    .filter($history::account_id.eq(account_id))
                    .filter($history::from_phase_id.is_not_null())
                    .into_boxed();
                // One record (a GET) asks with `=`: SQLite cannot keep a prepared `IN (..)`,
                // whose length varies, so it would parse and plan it again on every request.
                let query = match ids {
                    [one] => query.filter($history::$record_id.eq(*one)),
                    many => query.filter($history::$record_id.eq_any(many.to_vec())),
                };
                Ok(query
                    .select((
                        $history::$record_id,
                        $history::from_phase_id,
                        $history::seconds_in_previous,
                    ))
                    .order($history::id.asc())
                    .load(conn)?)
            }
        }
    };
}
pub(crate) use pipelined;

/// The columns of a history row, in [`TransitionRow`]'s order.
macro_rules! history_columns {
    ($history:ident, $record_id:ident) => {
        (
            $history::id,
            $history::$record_id,
            $history::from_pipeline_id,
            $history::to_pipeline_id,
            $history::from_phase_id,
            $history::from_phase_name,
            $history::to_phase_id,
            $history::to_phase_name,
            $history::from_status,
            $history::to_status,
            $history::outcome,
            $history::reason,
            $history::actor_user_id,
            $history::actor_client_id,
            $history::seconds_in_previous,
            $history::created_at,
        )
    };
}
pub(crate) use history_columns;

/// The values of a history row to insert.
macro_rules! history_values {
    ($history:ident, $record_id:ident, $account_id:expr, $row:expr) => {
        (
            $history::account_id.eq($account_id),
            $history::$record_id.eq($row.record_id),
            $history::from_pipeline_id.eq($row.from_pipeline_id),
            $history::to_pipeline_id.eq($row.to_pipeline_id),
            $history::from_phase_id.eq($row.from_phase_id),
            $history::from_phase_name.eq($row.from_phase_name.clone()),
            $history::to_phase_id.eq($row.to_phase_id),
            $history::to_phase_name.eq($row.to_phase_name.clone()),
            $history::from_status.eq($row.from_status.as_str()),
            $history::to_status.eq($row.to_status.as_str()),
            $history::outcome.eq($row.outcome.map(domain::pipeline::Outcome::as_str)),
            $history::reason.eq($row.reason.clone()),
            $history::actor_user_id.eq($row.actor.user_id),
            $history::actor_client_id.eq($row.actor.client_id),
            $history::seconds_in_previous.eq($row.seconds_in_previous),
            $history::created_at.eq($row.created_at),
        )
    };
}
pub(crate) use history_values;

/// Locks a record's row for a write and checks `If-Match` against its version: the locking
/// read every record type's update and delete begin with. Returns the version.
pub(crate) fn lock_record<P: Pipelined>(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
) -> Result<i64, StoreError> {
    let placed = P::lock(conn, account_id, id)?;
    check_version(placed.version, expected_version)?;
    Ok(placed.version)
}

/// What moves a record.
#[derive(Debug, Clone)]
pub enum MoveKind {
    /// A caller's move, checked against the phase rules.
    Requested(Move),
    /// A new record placed straight into this phase.
    Initial(i64),
}

/// How often a move re-reads a record that changed pipeline while it took its locks.
const LOCK_ATTEMPTS: usize = 5;

/// Moves a record inside the caller's transaction; returns the history row and the record as
/// it was, or `None` when it already is where the move leads.
pub(crate) fn apply<P: Pipelined>(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    kind: MoveKind,
    actor: ActorRef,
) -> Result<Option<(Transition, P::Record)>, StoreError> {
    let noun = P::KIND.as_str();
    let target_phase = match &kind {
        MoveKind::Requested(Move::ToPhase(phase)) | MoveKind::Initial(phase) => Some(*phase),
        MoveKind::Requested(_) => None,
    };
    let mut attempts = 0;
    let placed = loop {
        attempts += 1;
        let seen = P::pipeline_of(conn, account_id, id)?;
        let involved = match seen {
            Some(pipeline) => Some(pipeline),
            None => match target_phase {
                Some(phase) => pipelines::pipeline_id_of_phase(conn, account_id, phase)?,
                None => pipelines::default_id(conn, account_id, P::KIND)?,
            },
        };
        pipelines::lock_shared(conn, involved)?;
        let placed = P::lock(conn, account_id, id)?;
        if placed.pipeline_id == seen {
            break placed;
        }
        if attempts >= LOCK_ATTEMPTS {
            return Err(StoreError::Conflict(format!(
                "the {noun} keeps changing pipeline; retry the move"
            )));
        }
    };
    check_version(placed.version, expected_version)?;
    let place = Place {
        pipeline_id: placed.pipeline_id,
        phase_id: placed.phase_id,
        outcome: placed.outcome,
    };
    let current = match placed.pipeline_id {
        Some(id) => Some(pipelines::find(conn, account_id, id)?),
        None => None,
    };
    let (destination, pipeline, records_outcome) = match kind {
        MoveKind::Requested(request) => {
            let default = match &current {
                Some(_) => None,
                None => pipelines::find_default(conn, account_id, P::KIND)?,
            };
            let target = match (&request, &current) {
                (Move::ToPhase(phase), None) => pipelines::find_by_phase(conn, account_id, *phase)?,
                _ => None,
            };
            if let Some(target) = &target {
                holds(P::KIND, target, "to_phase_id")?;
            }
            let destination = plan_move(
                &place,
                current.as_ref(),
                default.as_ref(),
                target.as_ref(),
                &request,
            )
            .map_err(|refused| refusal(noun, &request, refused))?;
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
            holds(P::KIND, &pipeline, "phase_id")?;
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
    let before = P::get(conn, account_id, id)?;
    let at = now();
    let phase_of = |id: Option<i64>| id.and_then(|id| pipeline.as_ref().and_then(|p| p.phase(id)));
    let name_of = |id: Option<i64>| phase_of(id).map(|p| p.name.clone());
    // Winning or losing in the phase the record is in does not start a new stay there.
    let stays = destination.phase_id.is_some() && destination.phase_id == place.phase_id;
    let (entered_at, follow_up_due_at, seconds_in_previous) = if stays {
        (placed.phase_entered_at, placed.follow_up_due_at, None)
    } else {
        (
            destination.phase_id.map(|_| at),
            phase_of(destination.phase_id)
                .and_then(|phase| phase.follow_up_due_at(at.and_utc()))
                .map(|t| t.naive_utc()),
            placed
                .phase_entered_at
                .map(|t| (at - t).num_seconds().max(0)),
        )
    };
    // The history row records an outcome only for the move that won or lost.
    let (row_outcome, row_reason) = if records_outcome {
        (destination.outcome, destination.reason.clone())
    } else {
        (None, None)
    };
    let row = NewTransition {
        record_id: id,
        from_pipeline_id: place.pipeline_id,
        to_pipeline_id: destination.pipeline_id,
        from_phase_id: place.phase_id,
        from_phase_name: name_of(place.phase_id),
        to_phase_id: destination.phase_id,
        to_phase_name: name_of(destination.phase_id),
        from_status: placed.status,
        to_status: destination.status,
        outcome: row_outcome,
        reason: row_reason,
        actor,
        seconds_in_previous,
        created_at: at,
    };
    let written = P::record(conn, account_id, std::slice::from_ref(&row))?
        .ok_or_else(|| StoreError::Task("the history row was not written".into()))?;
    P::place(
        conn,
        id,
        placed.version + 1,
        &NewPlace {
            pipeline_id: destination.pipeline_id,
            phase_id: destination.phase_id,
            status: destination.status,
            outcome: destination.outcome,
            reason: destination.reason,
            phase_entered_at: entered_at,
            follow_up_due_at,
        },
        at,
    )?;
    Ok(Some((P::transition(conn, written)?, before)))
}

/// A record is placed only in a pipeline of its own type.
fn holds(kind: RecordKind, pipeline: &Pipeline, field: &str) -> Result<(), StoreError> {
    if pipeline.record_type == kind {
        return Ok(());
    }
    Err(StoreError::Invalid(Invalid::one(
        field,
        "wrong_record_type",
        format!(
            "pipeline {} holds {}s; a {} moves only through a {} pipeline's phases",
            pipeline.id,
            pipeline.record_type.as_str(),
            kind.as_str(),
            kind.as_str()
        ),
    )))
}

fn refusal(noun: &str, request: &Move, refused: MoveRefused) -> StoreError {
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
                "phase {phase_id} cannot be reached from where the {noun} is; allowed phases: {}",
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
            format!("only a won or lost {noun} is reopened; move it to a phase instead"),
        ),
        MoveRefused::NotInPipeline => (
            "not_in_pipeline",
            format!("the {noun} is in no pipeline; move it to a phase instead"),
        ),
    };
    StoreError::Invalid(Invalid::one(field, code, message))
}

/// A record's history, newest first; `NotFound` when there is no such record.
pub(crate) fn history<P: Pipelined>(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    size: PageSize,
    after: Option<&Position>,
) -> Result<Page<Transition>, StoreError> {
    P::pipeline_of(conn, account_id, id)?;
    let rows = P::history_page(conn, account_id, id, size, after.map(|a| a.id))?;
    Ok(into_page(rows, size, |row: &TransitionRow| {
        id_position(row.id)
    }))
}

/// Each record's time in each phase, from its history and its current stay (`records`: id,
/// phase, entered at): one query for all of them.
pub(crate) fn times_in_phases<P: Pipelined>(
    conn: &mut DbConnection,
    account_id: i64,
    records: &[(i64, Option<i64>, Option<NaiveDateTime>)],
) -> Result<HashMap<i64, Vec<PhaseTime>>, StoreError> {
    let ids: Vec<i64> = records.iter().map(|(id, _, _)| *id).collect();
    let mut totals: HashMap<i64, Vec<PhaseTime>> = HashMap::new();
    if ids.is_empty() {
        return Ok(totals);
    }
    let mut add = |record: i64, phase: i64, seconds: i64| {
        let times = totals.entry(record).or_default();
        match times.iter_mut().find(|t| t.phase_id == phase) {
            Some(t) => t.seconds += seconds,
            None => times.push(PhaseTime {
                phase_id: phase,
                seconds,
            }),
        }
    };
    for (record, phase, seconds) in P::stays(conn, account_id, &ids)? {
        if let Some(phase) = phase {
            add(record, phase, seconds.unwrap_or(0));
        }
    }
    let at = now();
    for (record, phase, entered) in records {
        if let (Some(phase), Some(entered)) = (phase, entered) {
            add(*record, *phase, (at - *entered).num_seconds().max(0));
        }
    }
    Ok(totals)
}
