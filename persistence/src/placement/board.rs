//! The board of a pipeline, whatever record type it holds: every phase in order with its
//! count, its first cards and, for types with a value, its totals per currency.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use domain::pipeline::{Phase, Pipeline};
use domain::project::Money;

use super::Pipelined;
use crate::schema::{phase_counts, phases};
use crate::{DbConnection, StoreError};

/// One column of the board.
#[derive(Debug, Clone)]
pub struct Column {
    pub phase: Phase,
    pub count: i64,
    pub cards: Vec<Card>,
    /// Per currency, in code order: what the column's records are worth, and weighted by
    /// their probability. Empty for types without a value.
    pub values: Vec<ValueBucket>,
}

/// A record as the board shows it.
#[derive(Debug, Clone)]
pub struct Card {
    pub id: i64,
    pub name: String,
    pub owner_id: Option<i64>,
    pub owner_name: Option<String>,
    pub phase_id: i64,
    pub phase_entered_at: NaiveDateTime,
    pub follow_up_due_at: Option<NaiveDateTime>,
    pub detail: CardDetail,
}

/// What a card shows of its own type.
#[derive(Debug, Clone)]
pub enum CardDetail {
    Company {
        industry: Option<String>,
        size_band: Option<String>,
    },
    Project {
        company_id: Option<i64>,
        company_name: Option<String>,
        value: Option<Money>,
        /// The project's own, else its phase's.
        probability: Option<i64>,
        expected_finish_date: Option<NaiveDate>,
    },
}

/// A column's value in one currency, in ten-thousandths: the sum, and the sum weighted by each
/// record's probability (its own, else its phase's; a record with neither counts in full).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueBucket {
    pub currency: String,
    pub units: i128,
    pub weighted_units: i128,
}

/// One record's value as [`fold_values`] takes it: the bucket it goes in (a phase, a month),
/// the phase whose probability applies when the record has none, its currency, its own
/// probability, and its value (or a sum of values) in ten-thousandths.
pub(crate) type ValueRow<K> = (K, Option<i64>, String, Option<i64>, i128);

/// Sums values into buckets per key and currency (in code order), weighting each by its own
/// probability, else its phase's, else in full. Weighted sums are rounded half away from
/// zero, to ten-thousandths.
pub(crate) fn fold_values<K: Eq + std::hash::Hash>(
    pipeline: &Pipeline,
    rows: impl IntoIterator<Item = ValueRow<K>>,
) -> HashMap<K, Vec<ValueBucket>> {
    // key -> currency -> (units, units x percent)
    let mut sums: HashMap<K, HashMap<String, (i128, i128)>> = HashMap::new();
    for (key, phase_id, currency, probability, units) in rows {
        let percent = probability
            .or_else(|| {
                phase_id
                    .and_then(|id| pipeline.phase(id))
                    .and_then(|p| p.probability)
            })
            .unwrap_or(100);
        let entry = sums
            .entry(key)
            .or_default()
            .entry(currency)
            .or_insert((0, 0));
        entry.0 += units;
        entry.1 += units * i128::from(percent);
    }
    sums.into_iter()
        .map(|(key, currencies)| {
            let mut buckets: Vec<ValueBucket> = currencies
                .into_iter()
                .map(|(currency, (units, weighted))| ValueBucket {
                    currency,
                    units,
                    weighted_units: div_round(weighted, 100),
                })
                .collect();
            buckets.sort_by(|a, b| a.currency.cmp(&b.currency));
            (key, buckets)
        })
        .collect()
}

/// `n / d`, rounded half away from zero.
fn div_round(n: i128, d: i128) -> i128 {
    let half = d / 2;
    if n >= 0 {
        (n + half) / d
    } else {
        (n - half) / d
    }
}

/// A sum read as text: exact on PostgreSQL (NUMERIC); SQLite turns a sum past 64 bits into a
/// float, read here as near as it goes.
pub(crate) fn parse_sum(raw: &str) -> i128 {
    raw.parse::<i128>()
        .ok()
        .or_else(|| raw.parse::<f64>().ok().map(|f| f as i128))
        .unwrap_or(0)
}

#[derive(Debug, Clone, Default)]
pub struct BoardFilter {
    pub owner_id: Option<i64>,
    pub tag: Option<String>,
}

impl BoardFilter {
    pub fn is_empty(&self) -> bool {
        self.owner_id.is_none() && self.tag.is_none()
    }
}

/// The board: every phase in order with its count, its first `per_phase` cards (oldest in
/// the phase first) and its values. Whatever the pipeline's size: the pipeline and its
/// phases, the counts the triggers keep, one prepared statement per phase for the cards, and
/// the values the triggers keep.
pub(crate) fn board<P: Pipelined>(
    conn: &mut DbConnection,
    account_id: i64,
    pipeline: Pipeline,
    filter: &BoardFilter,
    per_phase: i64,
) -> Result<(Pipeline, Vec<Column>), StoreError> {
    let counts = if filter.is_empty() {
        kept_counts(conn, account_id, pipeline.id)?
    } else {
        P::filtered_counts(conn, account_id, pipeline.id, filter)?
    };
    let mut values = P::column_values(conn, account_id, &pipeline, filter)?;
    let mut cards_by_phase: HashMap<i64, Vec<Card>> = HashMap::new();
    if per_phase > 0 {
        // One prepared statement, run once per phase: the same text every time, so both
        // backends keep it planned (a UNION of the phases would be planned per request).
        for phase in &pipeline.phases {
            let cards = P::cards(conn, account_id, phase, filter, per_phase)?;
            cards_by_phase.insert(phase.id, cards);
        }
    }
    let columns = pipeline
        .phases
        .iter()
        .map(|phase| Column {
            phase: phase.clone(),
            count: counts.get(&phase.id).copied().unwrap_or(0),
            cards: cards_by_phase.remove(&phase.id).unwrap_or_default(),
            values: values.remove(&phase.id).unwrap_or_default(),
        })
        .collect();
    Ok((pipeline, columns))
}

/// The records each phase of a pipeline shows, from the counts the triggers keep
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
        .select((phase_counts::phase_id, phase_counts::records))
        .load(conn)?;
    let mut counts = HashMap::new();
    for (phase, n) in rows {
        *counts.entry(phase).or_insert(0) += n;
    }
    Ok(counts)
}

#[derive(QueryableByName)]
struct KeptValue {
    #[diesel(sql_type = BigInt)]
    phase_id: i64,
    #[diesel(sql_type = Text)]
    currency: String,
    #[diesel(sql_type = BigInt)]
    probability: i64,
    #[diesel(sql_type = BigInt)]
    projects: i64,
    #[diesel(sql_type = Nullable<Text>)]
    units: Option<String>,
}

/// The values each phase of a pipeline holds, from the sums the triggers keep
/// (`phase_values`): a few rows per phase and currency, whatever the pipeline's size.
pub(crate) fn kept_values(
    conn: &mut DbConnection,
    account_id: i64,
    pipeline: &Pipeline,
) -> Result<HashMap<i64, Vec<ValueBucket>>, StoreError> {
    let sql = "SELECT v.phase_id AS phase_id, v.currency AS currency, \
               v.probability AS probability, CAST(SUM(v.projects) AS BIGINT) AS projects, \
               CAST(SUM(v.units) AS TEXT) AS units \
               FROM phase_values v JOIN phases p ON p.id = v.phase_id \
               WHERE p.account_id = {account} AND p.pipeline_id = {pipeline} \
               GROUP BY v.phase_id, v.currency, v.probability";
    let rows: Vec<KeptValue> = match conn {
        DbConnection::Postgresql(pg) => {
            diesel::sql_query(sql.replace("{account}", "$1").replace("{pipeline}", "$2"))
                .bind::<BigInt, _>(account_id)
                .bind::<BigInt, _>(pipeline.id)
                .load(pg)?
        }
        DbConnection::Sqlite(lite) => diesel::sql_query(
            // One row per phase, currency and probability already: its SUM cannot overflow.
            sql.replace("{account}", "?").replace("{pipeline}", "?"),
        )
        .bind::<BigInt, _>(account_id)
        .bind::<BigInt, _>(pipeline.id)
        .load(lite)?,
    };
    Ok(fold_values(
        pipeline,
        rows.into_iter().filter(|r| r.projects > 0).map(|r| {
            (
                r.phase_id,
                Some(r.phase_id),
                r.currency,
                (r.probability >= 0).then_some(r.probability),
                r.units.as_deref().map(parse_sum).unwrap_or(0),
            )
        }),
    ))
}

/// Folds the deltas PostgreSQL's triggers leave (one row per changing statement and phase)
/// into one row per phase (and currency and probability, for values), and drops the rows of
/// removed phases. Safe beside writers and beside another replica doing the same: a row is
/// summed by whoever deletes it. SQLite keeps one row each already.
pub fn compact_phase_counts(conn: &mut DbConnection) -> Result<(), StoreError> {
    use diesel::connection::SimpleConnection;
    if let DbConnection::Postgresql(pg) = conn {
        pg.batch_execute(
            "WITH gone AS (DELETE FROM phase_counts WHERE phase_id IN \
               (SELECT phase_id FROM phase_counts GROUP BY phase_id HAVING COUNT(*) > 1) \
               RETURNING phase_id, records) \
             INSERT INTO phase_counts (phase_id, records) \
             SELECT phase_id, SUM(records) FROM gone GROUP BY phase_id; \
             DELETE FROM phase_counts k WHERE NOT EXISTS (SELECT 1 FROM phases p WHERE p.id = k.phase_id); \
             WITH gone AS (DELETE FROM phase_values WHERE (phase_id, currency, probability) IN \
               (SELECT phase_id, currency, probability FROM phase_values \
                GROUP BY phase_id, currency, probability HAVING COUNT(*) > 1) \
               RETURNING phase_id, currency, probability, projects, units) \
             INSERT INTO phase_values (phase_id, currency, probability, projects, units) \
             SELECT phase_id, currency, probability, SUM(projects), SUM(units) FROM gone \
             GROUP BY phase_id, currency, probability HAVING SUM(projects) <> 0; \
             DELETE FROM phase_values v WHERE NOT EXISTS (SELECT 1 FROM phases p WHERE p.id = v.phase_id);",
        )?;
    }
    Ok(())
}
