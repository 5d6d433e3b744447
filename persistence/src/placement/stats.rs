//! A pipeline's figures over a period, whatever record type it holds: per phase, the records
//! in it, the moves in and out, time spent and the share moving forward; for the pipeline, won,
//! lost and the win rate; for types with a value, the figures about values.

use chrono::{DateTime, Utc};
use domain::pipeline::{Pipeline, median};

use super::{Entry, Exit, Pipelined, ValueBucket};
use crate::{DbConnection, StoreError};

/// Per-phase figures of a period.
#[derive(Debug, Clone)]
pub struct PhaseStats {
    pub phase: domain::pipeline::Phase,
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
    /// For types with a value (projects).
    pub values: Option<ValueStats>,
}

/// Figures about values, per currency in code order.
#[derive(Debug, Clone, Default)]
pub struct ValueStats {
    /// Won and lost in the period: `units` the sum, `weighted_units` unused (0).
    pub won: Vec<ValueBucket>,
    pub lost: Vec<ValueBucket>,
    /// Of the records won in the period, the mean days from their first entry into the
    /// pipeline to the win.
    pub mean_days_to_won: Option<f64>,
    /// Open records' value by month of expected finish: month (`YYYY-MM`), then per currency.
    pub forecast: Vec<ForecastMonth>,
}

#[derive(Debug, Clone)]
pub struct ForecastMonth {
    pub month: String,
    pub values: Vec<ValueBucket>,
}

/// Figures of a pipeline for `[from, to)`.
pub(crate) fn stats<P: Pipelined>(
    conn: &mut DbConnection,
    account_id: i64,
    pipeline: Pipeline,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    reach: &crate::units::Reach,
) -> Result<PipelineStats, StoreError> {
    let (from, to) = (from.naive_utc(), to.naive_utc());
    let current = P::count_by_phase(conn, account_id, pipeline.id, reach)?;
    let entries: Vec<Entry> = P::entries(conn, account_id, pipeline.id, from, to, reach)?;
    let exits: Vec<Exit> = P::exits(conn, account_id, pipeline.id, from, to, reach)?;
    let values = P::value_stats(conn, account_id, &pipeline, from, to, reach)?;
    let position = |id: Option<i64>| id.and_then(|id| pipeline.phase(id)).map(|p| p.position);
    let phases = pipeline
        .phases
        .iter()
        .map(|phase| {
            let entered = entries
                .iter()
                // A stay starts when a record comes from elsewhere, not when it is won in place.
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
        values,
    })
}
