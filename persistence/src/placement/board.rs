//! The board of a pipeline, whatever record type it holds: every phase in order with its
//! count, its first cards and, for types with a value, its totals per currency.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};
use domain::pipeline::{Phase, Pipeline};
use domain::project::Money;

use super::Pipelined;
use crate::prepared::Prepared;
use crate::{Backend, DbConnection, StoreError};

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
    /// The records the caller sees, and the unit filter.
    pub reach: crate::units::Reach,
    /// A saved view's filter (`view_id`).
    pub matching: Option<domain::filter::Filter>,
}

impl BoardFilter {
    pub fn is_empty(&self) -> bool {
        self.owner_id.is_none()
            && self.tag.is_none()
            && self.reach.is_everything()
            && self.matching.is_none()
    }
}

/// How a record type's cards are read: the pieces of SQL the board's statement is made of,
/// with `r` and `c` the record, `u` its owner.
pub(crate) struct BoardSql {
    /// The record table.
    pub table: &'static str,
    /// The tag table and its record column.
    pub tags: (&'static str, &'static str),
    /// What a record needs besides its phase to show on boards: empty, or ` AND r.…`.
    pub on_board: &'static str,
    /// The card's own columns after the shared ones, each named as its row reads it.
    pub columns: &'static str,
    /// The joins those columns need.
    pub joins: &'static str,
    /// What a saved view's compiled filter reads from (the record table by its own name,
    /// with what its columns need).
    pub view_from: &'static str,
}

/// The part of a board row every record type has: the phase, its count and, unless the phase
/// shows no card, one card's shared fields.
#[derive(Debug, QueryableByName)]
pub(crate) struct CellRow {
    #[diesel(sql_type = BigInt)]
    board_phase: i64,
    #[diesel(sql_type = BigInt)]
    board_count: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    name: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    owner_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    owner_name: Option<String>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    phase_entered_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    follow_up_due_at: Option<NaiveDateTime>,
}

/// One row of the board's statement: a phase with its count, and one of its cards.
pub(crate) struct Cell {
    pub phase_id: i64,
    pub count: i64,
    pub card: Option<Card>,
}

impl CellRow {
    pub(crate) fn phase_id(&self) -> i64 {
        self.board_phase
    }

    /// The cell, with the card's own detail.
    pub(crate) fn into_cell(self, detail: CardDetail) -> Cell {
        let card = match (self.id, self.name, self.phase_entered_at) {
            (Some(id), Some(name), Some(entered)) => Some(Card {
                id,
                name,
                owner_id: self.owner_id,
                owner_name: self.owner_name,
                phase_id: self.board_phase,
                phase_entered_at: entered,
                follow_up_due_at: self.follow_up_due_at,
                detail,
            }),
            _ => None,
        };
        Cell {
            phase_id: self.board_phase,
            count: self.board_count,
            card,
        }
    }
}

/// The board: every phase in order with its count, its first `per_phase` cards (oldest in
/// the phase first) and its values. Whatever the pipeline's size and its number of phases:
/// one statement for the counts and the cards (its text fixed for each backend and shape of
/// filter, so both keep it prepared), and for types with a value one for the values (the
/// sums the triggers keep, when unfiltered).
pub(crate) fn board<P: Pipelined>(
    conn: &mut DbConnection,
    account_id: i64,
    pipeline: Pipeline,
    filter: &BoardFilter,
    per_phase: i64,
) -> Result<(Pipeline, Vec<Column>), StoreError> {
    let phase_ids: Vec<i64> = pipeline.phases.iter().map(|p| p.id).collect();
    let matching = match &filter.matching {
        Some(m) => Some(crate::filter::compile(m, account_id, &P::FILTER_COLUMNS)?),
        None => None,
    };
    let statement = columns_statement(
        &P::BOARD,
        conn.backend(),
        account_id,
        &phase_ids,
        (filter, matching.as_ref()),
        per_phase.max(0),
    );
    let rows: Vec<P::CardRow> = statement.load(conn)?;
    let mut counts: HashMap<i64, i64> = HashMap::new();
    let mut cards_by_phase: HashMap<i64, Vec<Card>> = HashMap::new();
    for row in rows {
        let cell = P::cell(row, &pipeline);
        counts.insert(cell.phase_id, cell.count);
        if let Some(card) = cell.card {
            cards_by_phase.entry(cell.phase_id).or_default().push(card);
        }
    }
    let mut values = P::column_values(conn, account_id, &pipeline, filter)?;
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

/// The board's statement: for each phase, in the order given, its count (the one the triggers
/// keep, or counted under the filter) and its first `limit` cards, oldest in the phase first;
/// a phase without cards gives one row without a card.
///
/// The phases go as one bind (an array on PostgreSQL, a JSON array on SQLite), so the text
/// does not depend on how many there are. PostgreSQL reads each phase's cards with a lateral
/// join on the phase index; SQLite, which has no lateral join, with a correlated `IN` that it
/// runs per phase on the same index and then looks the cards up by rowid. The counts are
/// worked out once per phase, in a materialised CTE, not once per card.
fn columns_statement(
    sql: &BoardSql,
    backend: Backend,
    account_id: i64,
    phase_ids: &[i64],
    (filter, matching): (&BoardFilter, Option<&crate::filter::FilterSql>),
    limit: i64,
) -> Prepared {
    // `r` is a record of the phase `p.id` that the filter keeps.
    let kept = |q: &mut Prepared| {
        q.sql(" WHERE r.account_id = ")
            .bigint(account_id)
            .sql(" AND r.phase_id = p.id")
            .sql(sql.on_board);
        if let Some(owner) = filter.owner_id {
            q.sql(" AND r.owner_id = ").bigint(owner);
        }
        if let Some(units) = &filter.reach.units {
            q.sql(" AND r.unit_id IN (").ids_in(backend, units).sql(")");
        }
        if let domain::units::RecordScope::Limited { user_id, units } = &filter.reach.scope {
            q.sql(" AND (r.owner_id = ")
                .bigint(*user_id)
                .sql(" OR r.unit_id IN (")
                .ids_in(backend, units)
                .sql("))");
        }
        if let Some(matching) = matching {
            q.sql(&format!(
                " AND r.id IN (SELECT {table}.id FROM {} WHERE {table}.account_id = ",
                sql.view_from,
                table = sql.table
            ))
            .bigint(account_id)
            .sql(" AND ")
            .filter(matching.clone())
            .sql(")");
        }
        if let Some(tag) = &filter.tag {
            let (tags, column) = sql.tags;
            q.sql(&format!(
                " AND r.id IN (SELECT t.{column} FROM {tags} t WHERE t.account_id = "
            ))
            .bigint(account_id)
            .sql(" AND t.tag = ")
            .text(tag)
            .sql(")");
        }
    };
    let table = sql.table;
    let mut q = Prepared::new();
    q.sql("WITH cols AS MATERIALIZED (SELECT p.ord AS ord, p.id AS id, ");
    if filter.is_empty() {
        q.sql(
            "COALESCE((SELECT CAST(SUM(k.records) AS BIGINT) FROM phase_counts k \
             WHERE k.phase_id = p.id), 0)",
        );
    } else {
        q.sql(&format!("(SELECT COUNT(*) FROM {table} r"));
        kept(&mut q);
        q.sql(")");
    }
    q.sql(" AS n FROM ");
    match backend {
        Backend::Postgres => {
            q.sql("unnest(")
                .ids(backend, phase_ids)
                .sql(") WITH ORDINALITY AS p(id, ord)");
        }
        Backend::Sqlite => {
            q.sql("(SELECT j.key AS ord, j.value AS id FROM json_each(")
                .ids(backend, phase_ids)
                .sql(") j) p");
        }
    }
    q.sql(
        ") SELECT p.id AS board_phase, p.n AS board_count, c.id AS id, c.name AS name, \
         c.owner_id AS owner_id, u.name AS owner_name, c.phase_entered_at AS phase_entered_at, \
         c.follow_up_due_at AS follow_up_due_at, ",
    )
    .sql(sql.columns)
    .sql(" FROM cols p ");
    match backend {
        Backend::Postgres => {
            q.sql(&format!("LEFT JOIN LATERAL (SELECT r.* FROM {table} r"));
            kept(&mut q);
            q.sql(" ORDER BY r.phase_entered_at, r.id LIMIT ")
                .bigint(limit)
                .sql(") c ON TRUE ");
        }
        Backend::Sqlite => {
            q.sql(&format!(
                "LEFT JOIN {table} c ON c.id IN (SELECT r.id FROM {table} r"
            ));
            kept(&mut q);
            q.sql(" ORDER BY r.phase_entered_at, r.id LIMIT ")
                .bigint(limit)
                .sql(") ");
        }
    }
    q.sql("LEFT JOIN users u ON u.id = c.owner_id ")
        .sql(sql.joins)
        .sql(" ORDER BY p.ord, c.phase_entered_at, c.id");
    q
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
    // One row per phase, currency and probability already (folded on PostgreSQL by the
    // compaction, on SQLite kept so): its SUM cannot overflow.
    let mut q = Prepared::new();
    q.sql(
        "SELECT v.phase_id AS phase_id, v.currency AS currency, \
         v.probability AS probability, CAST(SUM(v.projects) AS BIGINT) AS projects, \
         CAST(SUM(v.units) AS TEXT) AS units \
         FROM phase_values v JOIN phases p ON p.id = v.phase_id WHERE p.account_id = ",
    )
    .bigint(account_id)
    .sql(" AND p.pipeline_id = ")
    .bigint(pipeline.id)
    .sql(" GROUP BY v.phase_id, v.currency, v.probability");
    let rows: Vec<KeptValue> = q.load(conn)?;
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
