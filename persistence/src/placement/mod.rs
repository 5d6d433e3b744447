//! The pipeline engine for every pipelined record type: where a record is, how it moves with
//! its history row, its history, and its time in each phase. Written once; a record type plugs
//! in with [`pipelined!`], which implements [`Pipelined`] over its table and its history table.
//!
//! Lock order, the same for every type and the same as configuration changes take: first the
//! pipelines involved (shared, so moves run side by side but not beside a change of those
//! pipelines' phases), then the record's row.

mod board;
mod phases;
mod stats;

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::deserialize::FromSqlRow;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Untyped;
use diesel::sqlite::Sqlite;
use domain::Invalid;
use domain::company::PhaseTime;
use domain::event::{EventType, NewEvent, Outbox};
use domain::listing::{Page, PageSize, Position};
use domain::pipeline::{
    Destination, Move, MoveRefused, Outcome, Phase, Pipeline, Place, RecordKind, Status,
    Transition, is_no_change, plan_move,
};
use domain::token::ActorRef;

use crate::keyset::{id_position, into_page};
use crate::pipelines;
use crate::prepared::{json_rows, parse_json_rows};
use crate::{
    Backend, DbConnection, StoreError, check_version, events, now, to_utc, write_transaction,
};

pub use board::{BoardFilter, Card, CardDetail, Column, ValueBucket, compact_phase_counts};
pub(crate) use board::{BoardSql, Cell, CellRow, board, fold_values, kept_values};
pub(crate) use phases::{delete_pipeline, remove_phase, update_phase};
pub(crate) use stats::stats;
pub use stats::{ForecastMonth, PhaseStats, PipelineStats, ValueStats};

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

/// The events a record type's moves and phase changes write.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordEvents {
    pub updated: EventType,
    pub phase_changed: EventType,
    pub won: EventType,
    pub lost: EventType,
}

/// A pipelined record type, as the engine needs it. A type writes its own parts (how it reads
/// and renders its records, its board cards, what its moves set besides the placement) and
/// takes its storage from [`storage!`].
pub(crate) trait Pipelined {
    /// Which pipelines hold it.
    const KIND: RecordKind;
    /// The events its moves write.
    const EVENTS: RecordEvents;
    /// Whether its records show their phase's probability (a change of it changes them).
    const SHOWS_PROBABILITY: bool = false;
    /// The record as its events show it.
    type Record;
    /// Its tables, as SQL names ([`storage!`] gives them).
    const TABLES: Tables;

    /// The record, for its events: read right after its row is locked, it is the record as
    /// the move found it.
    fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Self::Record, StoreError>;

    /// Several records, by id, in id order.
    fn get_many(
        conn: &mut DbConnection,
        account_id: i64,
        ids: &[i64],
    ) -> Result<Vec<Self::Record>, StoreError>;

    /// The record as its events carry it.
    fn render(outbox: &Outbox<'_>, record: &Self::Record) -> serde_json::Value;

    /// Where a record is: its id, its phase and when it entered it.
    fn stay(record: &Self::Record) -> (i64, Option<i64>, Option<NaiveDateTime>);

    /// Gives a record its time in each phase.
    fn set_times(record: &mut Self::Record, times: Vec<PhaseTime>);

    /// What a move sets besides the placement (a project's won and close dates), inside the
    /// move's transaction, before the record is read back.
    fn after_move(
        _conn: &mut DbConnection,
        _before: &Self::Record,
        _transition: &Transition,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// How the board reads its cards.
    const BOARD: BoardSql;
    /// Where the filter language finds each field of the type (a saved view on a board).
    const FILTER_COLUMNS: crate::filter::Columns;
    /// A row of the board's statement ([`CellRow`] and the card's own columns).
    type CardRow: FromSqlRow<Untyped, Pg> + FromSqlRow<Untyped, Sqlite> + 'static;
    /// The cell a row of the board's statement gives.
    fn cell(row: Self::CardRow, pipeline: &Pipeline) -> Cell;

    /// The values each phase holds, per currency (for types that carry a value).
    fn column_values(
        _conn: &mut DbConnection,
        _account_id: i64,
        _pipeline: &Pipeline,
        _filter: &BoardFilter,
    ) -> Result<HashMap<i64, Vec<ValueBucket>>, StoreError> {
        Ok(HashMap::new())
    }

    /// The figures about values of a pipeline's period (for types that carry a value).
    fn value_stats(
        _conn: &mut DbConnection,
        _account_id: i64,
        _pipeline: &Pipeline,
        _from: NaiveDateTime,
        _to: NaiveDateTime,
        _reach: &crate::units::Reach,
    ) -> Result<Option<ValueStats>, StoreError> {
        Ok(None)
    }

    // The storage, from [`storage!`].

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

    /// The pipelines some records of the account are in (records in none, and ids that are
    /// no record of the account, add nothing).
    fn pipelines_of(
        conn: &mut DbConnection,
        account_id: i64,
        ids: &[i64],
    ) -> Result<std::collections::BTreeSet<i64>, StoreError>;

    /// Locks many records' rows (PostgreSQL) in ascending id order, as imports do before they
    /// update any: the order every writer keeps, so that writers cannot deadlock.
    fn lock_many(conn: &mut DbConnection, account_id: i64, ids: &[i64]) -> Result<(), StoreError>;

    /// Puts a record where a move leads, as its next version.
    fn place(
        conn: &mut DbConnection,
        id: i64,
        version: i64,
        place: &NewPlace,
        at: NaiveDateTime,
    ) -> Result<(), StoreError>;

    /// Writes history rows; returns the id of the last when there is one row.
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

    /// The records in a phase, with the time each entered it, in id order.
    fn held(
        conn: &mut DbConnection,
        account_id: i64,
        phase_id: i64,
    ) -> Result<Vec<(i64, Option<NaiveDateTime>)>, StoreError>;

    /// How many records a pipeline holds.
    fn count_in_pipeline(
        conn: &mut DbConnection,
        account_id: i64,
        pipeline_id: i64,
    ) -> Result<i64, StoreError>;

    /// How many records each phase of a pipeline holds (`None`: in the pipeline, in no phase).
    fn count_by_phase(
        conn: &mut DbConnection,
        account_id: i64,
        pipeline_id: i64,
        reach: &crate::units::Reach,
    ) -> Result<HashMap<Option<i64>, i64>, StoreError>;

    /// Moves every record of a phase into another, each as its next version (one statement).
    fn move_phase(
        conn: &mut DbConnection,
        account_id: i64,
        from: i64,
        to: &Phase,
        at: NaiveDateTime,
    ) -> Result<(), StoreError>;

    /// Gives every record of a phase the phase's state.
    fn set_state(
        conn: &mut DbConnection,
        account_id: i64,
        phase_id: i64,
        status: Status,
    ) -> Result<(), StoreError>;

    /// Sets `follow_up_due_at` of every record in a phase from its entry time.
    fn follow_ups(
        conn: &mut DbConnection,
        account_id: i64,
        phase_id: i64,
        days: Option<i64>,
    ) -> Result<(), StoreError>;

    /// Makes every record of a phase its next version, changed now.
    fn touch(
        conn: &mut DbConnection,
        account_id: i64,
        phase_id: i64,
        at: NaiveDateTime,
    ) -> Result<(), StoreError>;

    /// The moves into a pipeline in `[from, to)`: (from phase, to phase, outcome).
    fn entries(
        conn: &mut DbConnection,
        account_id: i64,
        pipeline_id: i64,
        from: NaiveDateTime,
        to: NaiveDateTime,
        reach: &crate::units::Reach,
    ) -> Result<Vec<Entry>, StoreError>;

    /// The moves out of a pipeline's phases in `[from, to)`.
    fn exits(
        conn: &mut DbConnection,
        account_id: i64,
        pipeline_id: i64,
        from: NaiveDateTime,
        to: NaiveDateTime,
        reach: &crate::units::Reach,
    ) -> Result<Vec<Exit>, StoreError>;
}

/// The record half of [`Pipelined`] for a record type with `id`, `place` and
/// `time_in_phases`: how the engine reads (`$get`, `$get_many`) and renders (the outbox's
/// `$render`) its records. Expands to the methods, inside the type's `impl`.
macro_rules! record_access {
    ($record:ty, $get:path, $get_many:path, $render:ident) => {
        fn get(
            conn: &mut $crate::DbConnection,
            account_id: i64,
            id: i64,
        ) -> Result<$record, $crate::StoreError> {
            $get(conn, account_id, id)
        }

        fn get_many(
            conn: &mut $crate::DbConnection,
            account_id: i64,
            ids: &[i64],
        ) -> Result<Vec<$record>, $crate::StoreError> {
            $get_many(conn, account_id, ids)
        }

        fn render(outbox: &domain::event::Outbox<'_>, record: &$record) -> serde_json::Value {
            outbox.render.$render(record)
        }

        fn stay(record: &$record) -> (i64, Option<i64>, Option<chrono::NaiveDateTime>) {
            (
                record.id,
                record.place.phase_id,
                record.place.phase_entered_at.map(|t| t.naive_utc()),
            )
        }

        fn set_times(record: &mut $record, times: Vec<domain::company::PhaseTime>) {
            record.time_in_phases = times;
        }
    };
}
pub(crate) use record_access;

/// A move into a pipeline: from phase, to phase, outcome.
pub(crate) type Entry = (Option<i64>, Option<i64>, Option<String>);
/// A move out of a phase: from phase, to phase, to pipeline, seconds spent.
pub(crate) type Exit = (Option<i64>, Option<i64>, Option<i64>, Option<i64>);

/// The storage half of [`Pipelined`], for a record table with the placement columns
/// (`pipeline_id`, `phase_id`, the state column named, `outcome`, `outcome_reason`,
/// `phase_entered_at`, `follow_up_due_at`, `version`, `updated_at`) and its history table
/// (whose record column is named). Expands to the methods, inside the type's `impl`.
macro_rules! storage {
    ($records:ident . $state:ident, $history:ident . $record_id:ident) => {
        const TABLES: $crate::placement::Tables = $crate::placement::Tables {
            records: stringify!($records),
            history: stringify!($history),
            record_column: stringify!($record_id),
        };

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
                $crate::DbConnection::Postgresql(pg) => query.for_update().first(pg).optional()?,
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

        fn pipelines_of(
            conn: &mut $crate::DbConnection,
            account_id: i64,
            ids: &[i64],
        ) -> Result<std::collections::BTreeSet<i64>, $crate::StoreError> {
            use diesel::prelude::*;
            Ok($records::table
                .filter($records::account_id.eq(account_id))
                .filter($records::id.eq_any(ids))
                .select($records::pipeline_id)
                .load::<Option<i64>>(conn)?
                .into_iter()
                .flatten()
                .collect())
        }

        fn lock_many(
            conn: &mut $crate::DbConnection,
            account_id: i64,
            ids: &[i64],
        ) -> Result<(), $crate::StoreError> {
            use diesel::prelude::*;
            if let $crate::DbConnection::Postgresql(pg) = conn {
                for chunk in ids.chunks(1000) {
                    $records::table
                        .filter($records::account_id.eq(account_id))
                        .filter($records::id.eq_any(chunk))
                        .order($records::id.asc())
                        .select($records::id)
                        .for_update()
                        .load::<i64>(pg)?;
                }
            }
            Ok(())
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
            if let [one] = rows {
                return Ok(Some(
                    diesel::insert_into($history::table)
                        .values($crate::placement::history_values!(
                            $history, $record_id, account_id, one
                        ))
                        .returning($history::id)
                        .get_result::<i64>(conn)?,
                ));
            }
            for chunk in rows.chunks(500) {
                let values: Vec<_> = chunk
                    .iter()
                    .map(|row| {
                        $crate::placement::history_values!($history, $record_id, account_id, row)
                    })
                    .collect();
                $crate::pool::on_backend!(conn, |c| diesel::insert_into($history::table)
                    .values(&values)
                    .execute(c))?;
            }
            Ok(None)
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

        fn held(
            conn: &mut $crate::DbConnection,
            account_id: i64,
            phase_id: i64,
        ) -> Result<Vec<(i64, Option<chrono::NaiveDateTime>)>, $crate::StoreError> {
            use diesel::prelude::*;
            Ok($records::table
                .filter($records::account_id.eq(account_id))
                .filter($records::phase_id.eq(phase_id))
                .select(($records::id, $records::phase_entered_at))
                .order($records::id.asc())
                .load(conn)?)
        }

        fn count_in_pipeline(
            conn: &mut $crate::DbConnection,
            account_id: i64,
            pipeline_id: i64,
        ) -> Result<i64, $crate::StoreError> {
            use diesel::prelude::*;
            Ok($records::table
                .filter($records::account_id.eq(account_id))
                .filter($records::pipeline_id.eq(pipeline_id))
                .count()
                .get_result(conn)?)
        }

        fn count_by_phase(
            conn: &mut $crate::DbConnection,
            account_id: i64,
            pipeline_id: i64,
            reach: &$crate::units::Reach,
        ) -> Result<std::collections::HashMap<Option<i64>, i64>, $crate::StoreError> {
            use diesel::prelude::*;
            let query = $records::table
                .filter($records::account_id.eq(account_id))
                .filter($records::pipeline_id.eq(pipeline_id))
                .group_by($records::phase_id)
                .select(($records::phase_id, diesel::dsl::count_star()))
                .into_boxed();
            let query = $crate::units::filter_reach!(query, reach, $records);
            Ok(query
                .load::<(Option<i64>, i64)>(conn)?
                .into_iter()
                .collect())
        }

        fn move_phase(
            conn: &mut $crate::DbConnection,
            account_id: i64,
            from: i64,
            to: &domain::pipeline::Phase,
            at: chrono::NaiveDateTime,
        ) -> Result<(), $crate::StoreError> {
            use diesel::prelude::*;
            diesel::update(
                $records::table
                    .filter($records::account_id.eq(account_id))
                    .filter($records::phase_id.eq(from)),
            )
            .set((
                $records::phase_id.eq(Some(to.id)),
                $records::$state.eq(to.status.as_str()),
                $records::phase_entered_at.eq(Some(at)),
                $records::follow_up_due_at
                    .eq(to.follow_up_due_at(at.and_utc()).map(|t| t.naive_utc())),
                $records::version.eq($records::version + 1),
                $records::updated_at.eq(at),
            ))
            .execute(conn)?;
            Ok(())
        }

        fn set_state(
            conn: &mut $crate::DbConnection,
            account_id: i64,
            phase_id: i64,
            status: domain::pipeline::Status,
        ) -> Result<(), $crate::StoreError> {
            use diesel::prelude::*;
            diesel::update(
                $records::table
                    .filter($records::account_id.eq(account_id))
                    .filter($records::phase_id.eq(phase_id)),
            )
            .set($records::$state.eq(status.as_str()))
            .execute(conn)?;
            Ok(())
        }

        fn follow_ups(
            conn: &mut $crate::DbConnection,
            account_id: i64,
            phase_id: i64,
            days: Option<i64>,
        ) -> Result<(), $crate::StoreError> {
            use diesel::prelude::*;
            use diesel::sql_types::BigInt;
            let Some(days) = days else {
                diesel::update(
                    $records::table
                        .filter($records::account_id.eq(account_id))
                        .filter($records::phase_id.eq(phase_id)),
                )
                .set($records::follow_up_due_at.eq(None::<chrono::NaiveDateTime>))
                .execute(conn)?;
                return Ok(());
            };
            // Date arithmetic is the one thing the two backends spell differently.
            match conn {
                $crate::DbConnection::Postgresql(pg) => diesel::sql_query(concat!(
                    "UPDATE ",
                    stringify!($records),
                    " SET follow_up_due_at = phase_entered_at + make_interval(days => $1::int) \
                     WHERE account_id = $2 AND phase_id = $3"
                ))
                .bind::<BigInt, _>(days)
                .bind::<BigInt, _>(account_id)
                .bind::<BigInt, _>(phase_id)
                .execute(pg)?,
                $crate::DbConnection::Sqlite(lite) => diesel::sql_query(concat!(
                    "UPDATE ",
                    stringify!($records),
                    // strftime keeps whole seconds; the fraction is carried over as written.
                    " SET follow_up_due_at = strftime('%Y-%m-%d %H:%M:%S', phase_entered_at, \
                     '+' || ? || ' days') || substr(phase_entered_at, 20) \
                     WHERE account_id = ? AND phase_id = ?"
                ))
                .bind::<BigInt, _>(days)
                .bind::<BigInt, _>(account_id)
                .bind::<BigInt, _>(phase_id)
                .execute(lite)?,
            };
            Ok(())
        }

        fn touch(
            conn: &mut $crate::DbConnection,
            account_id: i64,
            phase_id: i64,
            at: chrono::NaiveDateTime,
        ) -> Result<(), $crate::StoreError> {
            use diesel::prelude::*;
            diesel::update(
                $records::table
                    .filter($records::account_id.eq(account_id))
                    .filter($records::phase_id.eq(phase_id)),
            )
            .set((
                $records::version.eq($records::version + 1),
                $records::updated_at.eq(at),
            ))
            .execute(conn)?;
            Ok(())
        }

        fn entries(
            conn: &mut $crate::DbConnection,
            account_id: i64,
            pipeline_id: i64,
            from: chrono::NaiveDateTime,
            to: chrono::NaiveDateTime,
            reach: &$crate::units::Reach,
        ) -> Result<Vec<$crate::placement::Entry>, $crate::StoreError> {
            use diesel::prelude::*;
            if reach.is_everything() {
                return Ok($history::table
                    .filter($history::account_id.eq(account_id))
                    .filter($history::to_pipeline_id.eq(pipeline_id))
                    .filter($history::created_at.ge(from))
                    .filter($history::created_at.lt(to))
                    .select((
                        $history::from_phase_id,
                        $history::to_phase_id,
                        $history::outcome,
                    ))
                    .load(conn)?);
            }
            // Only the moves of records the caller sees: each row's record by its key.
            let query = $history::table
                .inner_join($records::table.on($records::id.eq($history::$record_id)))
                .filter($history::account_id.eq(account_id))
                .filter($history::to_pipeline_id.eq(pipeline_id))
                .filter($history::created_at.ge(from))
                .filter($history::created_at.lt(to))
                .select((
                    $history::from_phase_id,
                    $history::to_phase_id,
                    $history::outcome,
                ))
                .into_boxed();
            Ok($crate::units::filter_reach!(query, reach, $records).load(conn)?)
        }

        fn exits(
            conn: &mut $crate::DbConnection,
            account_id: i64,
            pipeline_id: i64,
            from: chrono::NaiveDateTime,
            to: chrono::NaiveDateTime,
            reach: &$crate::units::Reach,
        ) -> Result<Vec<$crate::placement::Exit>, $crate::StoreError> {
            use diesel::prelude::*;
            if reach.is_everything() {
                return Ok($history::table
                    .filter($history::account_id.eq(account_id))
                    .filter($history::from_pipeline_id.eq(pipeline_id))
                    .filter($history::created_at.ge(from))
                    .filter($history::created_at.lt(to))
                    .select((
                        $history::from_phase_id,
                        $history::to_phase_id,
                        $history::to_pipeline_id,
                        $history::seconds_in_previous,
                    ))
                    .load(conn)?);
            }
            // Only the moves of records the caller sees: each row's record by its key.
            let query = $history::table
                .inner_join($records::table.on($records::id.eq($history::$record_id)))
                .filter($history::account_id.eq(account_id))
                .filter($history::from_pipeline_id.eq(pipeline_id))
                .filter($history::created_at.ge(from))
                .filter($history::created_at.lt(to))
                .select((
                    $history::from_phase_id,
                    $history::to_phase_id,
                    $history::to_pipeline_id,
                    $history::seconds_in_previous,
                ))
                .into_boxed();
            Ok($crate::units::filter_reach!(query, reach, $records).load(conn)?)
        }
    };
}
pub(crate) use storage;

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

/// Locks records for a change of many at once (a merge), in the order every writer keeps: the
/// pipelines they are in (shared, so that moves go on but a pipeline's removal waits), then
/// their rows in id order; again when one changed pipeline while the locks were taken.
pub(crate) fn lock_placed<P: Pipelined>(
    conn: &mut DbConnection,
    account_id: i64,
    ids: &[i64],
) -> Result<(), StoreError> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    for _ in 0..LOCK_ATTEMPTS {
        let seen = P::pipelines_of(conn, account_id, &ids)?;
        for pipeline in &seen {
            crate::pipelines::lock_shared(conn, Some(*pipeline))?;
        }
        P::lock_many(conn, account_id, &ids)?;
        if P::pipelines_of(conn, account_id, &ids)?.is_subset(&seen) {
            return Ok(());
        }
    }
    Err(StoreError::Conflict(format!(
        "the {} keep changing pipeline; retry",
        P::KIND.count_noun(2)
    )))
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
    let initial = matches!(kind, MoveKind::Initial(_));
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
    // A new record's first placement is part of its first version.
    let version = if initial {
        placed.version
    } else {
        placed.version + 1
    };
    let written = P::record(conn, account_id, std::slice::from_ref(&row))?
        .ok_or_else(|| StoreError::Task("the history row was not written".into()))?;
    P::place(
        conn,
        id,
        version,
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

/// Moves a record in its own transaction, with its history row, what the type's moves set
/// besides, and its event (`.won` and `.lost` for the moves that win or lose, `.phase_changed`
/// for every other); `None` when it is already where the move leads.
pub(crate) fn move_record<P: Pipelined>(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    request: Move,
    outbox: &Outbox<'_>,
) -> Result<(Option<Transition>, P::Record), StoreError> {
    write_transaction(conn, |conn| {
        let moved = apply::<P>(
            conn,
            account_id,
            id,
            expected_version,
            MoveKind::Requested(request.clone()),
            outbox.actor,
        )?;
        let Some((transition, before)) = moved else {
            return Ok((None, P::get(conn, account_id, id)?));
        };
        P::after_move(conn, &before, &transition)?;
        let record = P::get(conn, account_id, id)?;
        let event = NewEvent::changed(
            move_event_type::<P>(&transition),
            id,
            &P::render(outbox, &before),
            P::render(outbox, &record),
        );
        events::record_one(conn, account_id, outbox, event)?;
        Ok((Some(transition), record))
    })
}

/// The event of a move: won, lost, or a change of phase.
pub(crate) fn move_event_type<P: Pipelined>(transition: &Transition) -> EventType {
    match transition.outcome {
        Some(Outcome::Won) => P::EVENTS.won,
        Some(Outcome::Lost) => P::EVENTS.lost,
        None => P::EVENTS.phase_changed,
    }
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

/// A pipelined record type's tables, as SQL names.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tables {
    /// The record table.
    pub records: &'static str,
    /// Its history table.
    pub history: &'static str,
    /// The history's column naming the record.
    pub record_column: &'static str,
}

/// A column for a record's read that gives the stays in its history that ended, as
/// [`json_rows`]: the phase left and the seconds spent there, oldest first. It names the
/// record by its table, so the read selects from the record table itself. (A record's history
/// is its account's, so the record's own account check covers it.)
pub(crate) fn times_column<P: Pipelined>(backend: Backend) -> String {
    let Tables {
        records,
        history,
        record_column,
    } = P::TABLES;
    json_rows(
        backend,
        "h.from_phase_id, h.seconds_in_previous",
        &format!(
            "{history} h WHERE h.{record_column} = {records}.id AND h.from_phase_id IS NOT NULL"
        ),
        Some("h.id"),
    )
}

/// Gives a record its time in each phase: the stays a [`times_column`] read (`None`: it has
/// left no phase yet) and the one it is in.
pub(crate) fn set_times<P: Pipelined>(
    record: &mut P::Record,
    ended: Option<&str>,
) -> Result<(), StoreError> {
    let mut times: Vec<PhaseTime> = Vec::new();
    let mut add = |phase: i64, seconds: i64| match times.iter_mut().find(|t| t.phase_id == phase) {
        Some(t) => t.seconds += seconds,
        None => times.push(PhaseTime {
            phase_id: phase,
            seconds,
        }),
    };
    for (phase, seconds) in parse_json_rows::<(i64, Option<i64>)>(ended)? {
        add(phase, seconds.unwrap_or(0));
    }
    if let (_, Some(phase), Some(entered)) = P::stay(record) {
        add(phase, (now() - entered).num_seconds().max(0));
    }
    P::set_times(record, times);
    Ok(())
}
