//! The pipeline operations that reach the records a pipeline holds, for whichever record type
//! it is: each finds the pipeline, then runs the engine ([`crate::placement`]) over that
//! type. The one place that lists the pipelined record types.

use chrono::{DateTime, Utc};
use domain::event::Outbox;
use domain::pipeline::{Pipeline, RecordKind};

use crate::companies::CompanyPlacement;
use crate::pipelines::{self, PhasePatch};
use crate::placement;
use crate::projects::ProjectPlacement;
use crate::{DbConnection, StoreError, write_transaction};

pub use crate::placement::{
    BoardFilter, Card, CardDetail, Column, ForecastMonth, PhaseStats, PipelineStats, ValueBucket,
    ValueStats, compact_phase_counts,
};

/// Runs an engine function over the record type a pipeline holds.
macro_rules! for_kind {
    ($kind:expr, $f:ident($($arg:expr),* $(,)?)) => {
        match $kind {
            RecordKind::Company => placement::$f::<CompanyPlacement>($($arg),*),
            RecordKind::Project => placement::$f::<ProjectPlacement>($($arg),*),
        }
    };
}

/// Deletes a pipeline that holds no record; the default pipeline of each type stays.
pub fn delete(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        let current = pipelines::find_for_update(conn, account_id, id, expected_version)?;
        for_kind!(
            current.record_type,
            delete_pipeline(conn, account_id, &current, outbox)
        )
    })
}

/// Changes a phase; the records in it follow a new state, follow-up time or probability.
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
        let pipeline = pipelines::find_for_update(conn, account_id, pipeline_id, expected_version)?;
        for_kind!(
            pipeline.record_type,
            update_phase(conn, account_id, pipeline, phase_id, patch.clone(), outbox)
        )
    })
}

/// Removes a phase; the records in it move to `move_to`.
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
        let pipeline = pipelines::find_for_update(conn, account_id, pipeline_id, expected_version)?;
        for_kind!(
            pipeline.record_type,
            remove_phase(conn, account_id, pipeline, phase_id, move_to, outbox)
        )
    })
}

/// A pipeline's board.
pub fn board(
    conn: &mut DbConnection,
    account_id: i64,
    pipeline_id: i64,
    filter: &BoardFilter,
    per_phase: i64,
) -> Result<(Pipeline, Vec<Column>), StoreError> {
    let pipeline = pipelines::find(conn, account_id, pipeline_id)?;
    for_kind!(
        pipeline.record_type,
        board(conn, account_id, pipeline, filter, per_phase)
    )
}

/// A pipeline's figures for `[from, to)`.
pub fn stats(
    conn: &mut DbConnection,
    account_id: i64,
    pipeline_id: i64,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    reach: &crate::units::Reach,
) -> Result<PipelineStats, StoreError> {
    let pipeline = pipelines::find(conn, account_id, pipeline_id)?;
    for_kind!(
        pipeline.record_type,
        stats(conn, account_id, pipeline, from, to, reach)
    )
}
