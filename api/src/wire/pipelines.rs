//! Pipeline, phase, board and stats bodies.

use chrono::{DateTime, Utc};
use domain::Invalid;
use domain::pipeline::{Phase, Pipeline, RecordKind, Status};
use domain::project::{Currency, format_units, parse_probability};
use domain::validation::ValueError;
use domain::values::Label;
use persistence::pipelined::{CardDetail, Column, PipelineStats, ValueBucket, ValueStats};
use persistence::pipelines::{NewPhase, PhasePatch, PipelinePatch};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::input::Parser;
use super::{double_option, list_of};

/// A phase of a pipeline.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhaseOut {
    #[schema(example = 12)]
    pub id: i64,
    #[schema(example = "Proposal sent")]
    pub name: String,
    /// 0 for the first phase.
    pub position: i64,
    /// The phase's state, one of its pipeline's record type: companies `prospect`, `active`
    /// or `latent`; projects `proposed`, `won`, `active`, `completed`, `lost` or `cancelled`.
    #[schema(example = "prospect")]
    #[schema(schema_with = super::schema::phase_status)]
    pub status: String,
    /// A record in the phase longer than this is due for follow-up.
    #[schema(example = 7)]
    #[schema(required = true)]
    pub follow_up_after_days: Option<i64>,
    /// The phases a record may move to from this one; empty: any.
    pub allowed_next_phase_ids: Vec<i64>,
    /// The chance of winning (0-100) that records in the phase have when they have none of
    /// their own (projects); `null`: none.
    #[schema(required = true, minimum = 0, maximum = 100, example = 50)]
    pub probability: Option<i64>,
}

impl From<&Phase> for PhaseOut {
    fn from(p: &Phase) -> Self {
        PhaseOut {
            id: p.id,
            name: p.name.clone(),
            position: p.position,
            status: p.status.as_str().to_owned(),
            follow_up_after_days: p.follow_up_after_days,
            allowed_next_phase_ids: p.allowed_next.clone(),
            probability: p.probability,
        }
    }
}

/// A pipeline and its phases in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct PipelineOut {
    #[schema(example = 1)]
    pub id: i64,
    #[schema(example = "Client relationship")]
    pub name: String,
    /// What the pipeline holds, fixed at creation: `company` or `project`.
    #[schema(schema_with = super::schema::pipeline_record_type)]
    pub record_type: String,
    /// The default pipeline of its record type: records moved by status, or created without
    /// a phase, go there.
    pub is_default: bool,
    /// Where `won` leads: the phase set, or else the first `active` phase.
    #[schema(required = true)]
    pub won_phase_id: Option<i64>,
    /// Where `lost` leads: the phase set, or else the first `latent` phase.
    #[schema(required = true)]
    pub lost_phase_id: Option<i64>,
    pub phases: Vec<PhaseOut>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Pipeline> for PipelineOut {
    fn from(p: Pipeline) -> Self {
        PipelineOut {
            won_phase_id: p.won_phase().map(|ph| ph.id),
            lost_phase_id: p.lost_phase().map(|ph| ph.id),
            phases: p.phases.iter().map(PhaseOut::from).collect(),
            id: p.id,
            name: p.name,
            record_type: p.record_type.as_str().to_owned(),
            is_default: p.is_default,
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

list_of!(PipelineList, PipelineOut, "pipelines");

/// A new phase.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhaseCreate {
    /// 1 to 100 characters.
    #[schema(example = "Sales meeting")]
    #[schema(max_length = 100)]
    pub name: String,
    /// A state of the pipeline's record type: companies `prospect`, `active` or `latent`;
    /// projects `proposed`, `won`, `active`, `completed`, `lost` or `cancelled`.
    #[schema(example = "prospect")]
    #[schema(schema_with = super::schema::phase_status)]
    pub status: String,
    #[schema(minimum = 1, maximum = 3650, example = 5)]
    pub follow_up_after_days: Option<i64>,
    /// Phases of the same pipeline that may follow this one; empty or absent: any.
    pub allowed_next_phase_ids: Option<Vec<i64>>,
    /// Where to insert it, 0 for first; default: last. Only when adding to a pipeline.
    #[schema(minimum = 0)]
    pub position: Option<i64>,
    /// The chance of winning (0-100) its records default to.
    #[schema(minimum = 0, maximum = 100, example = 50)]
    pub probability: Option<i64>,
}

fn follow_up_days(raw: i64) -> Result<i64, ValueError> {
    if (1..=3650).contains(&raw) {
        Ok(raw)
    } else {
        Err(ValueError::new(
            "out_of_range",
            "must be between 1 and 3650 days",
        ))
    }
}

impl PhaseCreate {
    pub fn into_new(self, p: &mut Parser, prefix: &str) -> Option<NewPhase> {
        let name = p.required(&format!("{prefix}name"), &self.name, Label::parse);
        let status = p.required(
            &format!("{prefix}status"),
            &self.status,
            Status::parse_phase,
        );
        let days = match self.follow_up_after_days {
            Some(days) => p
                .check(
                    &format!("{prefix}follow_up_after_days"),
                    follow_up_days(days),
                )
                .map(Some),
            None => Some(None),
        };
        let probability = match self.probability {
            Some(raw) => p
                .check(&format!("{prefix}probability"), parse_probability(raw))
                .map(Some),
            None => Some(None),
        };
        Some(NewPhase {
            name: name?,
            status: status?,
            follow_up_after_days: days?,
            allowed_next: self.allowed_next_phase_ids.unwrap_or_default(),
            probability: probability?,
        })
    }
}

/// A new pipeline, with its phases in order.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineCreate {
    #[schema(example = "Recruitment clients")]
    #[schema(max_length = 100)]
    pub name: String,
    /// What it holds, fixed for good: `company` (the default) or `project`.
    #[schema(schema_with = super::schema::pipeline_record_type)]
    pub record_type: Option<String>,
    /// The phases, first to last. `allowed_next_phase_ids` and `position` are set later,
    /// once the phases have ids.
    pub phases: Option<Vec<PhaseCreate>>,
}

impl PipelineCreate {
    pub fn into_parts(self) -> Result<(Label, RecordKind, Vec<NewPhase>), Invalid> {
        let mut p = Parser::default();
        let name = p.required("name", &self.name, Label::parse);
        let kind = match self.record_type.as_deref() {
            Some(raw) => p.check("record_type", RecordKind::parse(raw)),
            None => Some(RecordKind::Company),
        };
        let raw = self.phases.unwrap_or_default();
        if raw.len() > 50 {
            p.check::<()>(
                "phases",
                Err(ValueError::new(
                    "too_many",
                    "a pipeline has at most 50 phases",
                )),
            );
        }
        let mut phases = Vec::new();
        for (i, phase) in raw.into_iter().enumerate() {
            if phase
                .allowed_next_phase_ids
                .as_ref()
                .is_some_and(|l| !l.is_empty())
                || phase.position.is_some()
            {
                p.check::<()>(
                    &format!("phases[{i}]"),
                    Err(ValueError::new(
                        "not_on_create",
                        "allowed_next_phase_ids and position are set after creation, when the phases have ids",
                    )),
                );
            }
            if let Some(phase) = phase.into_new(&mut p, &format!("phases[{i}].")) {
                phases.push(phase);
            }
        }
        p.build(name.zip(kind).map(|(name, kind)| (name, kind, phases)))
    }
}

/// A page of pipelines, of one record type or all.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PipelineListQuery {
    /// Records per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only the pipelines of this record type: `company` or `project`.
    #[param(schema_with = super::schema::pipeline_record_type)]
    pub record_type: Option<String>,
}

/// Changes to a pipeline. `won_phase_id` / `lost_phase_id` set to `null` restore the default
/// (the first active / latent phase). `is_default: true` makes this the account's default.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PipelineUpdate {
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    #[schema(max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub won_phase_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub lost_phase_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    pub is_default: Option<bool>,
}

impl PipelineUpdate {
    pub fn into_patch(self) -> Result<PipelinePatch, Invalid> {
        let mut p = Parser::default();
        let patch = PipelinePatch {
            name: p.patch_required("name", self.name.as_deref(), Label::parse),
            won_phase_id: self.won_phase_id,
            lost_phase_id: self.lost_phase_id,
            is_default: self.is_default,
        };
        p.finish()?;
        Ok(patch)
    }
}

/// Changes to a phase: absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhaseUpdate {
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    #[schema(max_length = 100)]
    pub name: Option<String>,
    /// A state of the pipeline's record type (see the phase's `status`); the records in
    /// the phase take the new state.
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    #[schema(schema_with = super::schema::phase_status)]
    pub status: Option<String>,
    /// `null` turns follow-ups off for the phase.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 3650)]
    pub follow_up_after_days: Option<Option<i64>>,
    /// Phases of the same pipeline that may follow this one; empty: any.
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    pub allowed_next_phase_ids: Option<Vec<i64>>,
    /// The chance of winning (0-100) its records default to; `null`: none.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 100)]
    pub probability: Option<Option<i64>>,
}

impl PhaseUpdate {
    pub fn into_patch(self) -> Result<PhasePatch, Invalid> {
        let mut p = Parser::default();
        let patch = PhasePatch {
            name: p.patch_required("name", self.name.as_deref(), Label::parse),
            status: p.patch_required("status", self.status.as_deref(), Status::parse_phase),
            follow_up_after_days: match self.follow_up_after_days {
                None => None,
                Some(None) => Some(None),
                Some(Some(days)) => p
                    .check("follow_up_after_days", follow_up_days(days))
                    .map(Some),
            },
            allowed_next: self.allowed_next_phase_ids,
            probability: match self.probability {
                None => None,
                Some(None) => Some(None),
                Some(Some(raw)) => p.check("probability", parse_probability(raw)).map(Some),
            },
        };
        p.finish()?;
        Ok(patch)
    }
}

/// The new order of a pipeline's phases: every phase id, exactly once.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhaseOrder {
    #[schema(example = json!([3, 1, 2]))]
    pub phase_ids: Vec<i64>,
}

/// Where the records of a removed phase go.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RemovePhaseQuery {
    /// Another phase of the same pipeline; required when the phase holds records.
    pub move_to: Option<i64>,
}

/// Which cards the board shows.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BoardQuery {
    /// Cards per phase, 0 to 100 (default 20).
    #[param(minimum = 0, maximum = 100)]
    pub cards_per_phase: Option<i64>,
    pub owner_id: Option<i64>,
    pub tag: Option<String>,
    /// A saved view of the pipeline's record type (`/v1/views`): its filter narrows the
    /// counts, cards and values.
    pub view_id: Option<i64>,
    /// Only records of this unit (`/v1/units`).
    #[param(minimum = 1)]
    pub unit_id: Option<i64>,
    /// With `unit_id`: also the records of the units below it.
    pub include_subunits: Option<bool>,
}

/// A record on the board: a company or a project (see the pipeline's `record_type`). Fields
/// of the other type are `null`.
#[derive(Debug, Serialize, ToSchema)]
pub struct CardOut {
    pub id: i64,
    #[schema(example = "Acme Ltd")]
    pub name: String,
    #[schema(required = true)]
    pub owner_id: Option<i64>,
    #[schema(required = true)]
    pub owner_name: Option<String>,
    pub phase_entered_at: DateTime<Utc>,
    pub days_in_phase: i64,
    pub follow_up_due: bool,
    /// Companies: the industry.
    #[schema(required = true)]
    pub industry: Option<String>,
    /// Companies: the size band.
    #[schema(required = true)]
    #[schema(schema_with = super::schema::size_band_or_null)]
    pub size_band: Option<String>,
    /// Projects: the client company.
    #[schema(required = true)]
    pub company_id: Option<i64>,
    #[schema(required = true)]
    pub company_name: Option<String>,
    /// Projects: the value.
    #[schema(required = true)]
    pub value: Option<super::projects::MoneyOut>,
    /// Projects: the chance of winning in percent, the project's own or its phase's.
    #[schema(required = true, minimum = 0, maximum = 100)]
    pub probability: Option<i64>,
    /// Projects: when the work is expected to finish.
    #[schema(required = true)]
    pub expected_finish_date: Option<chrono::NaiveDate>,
}

/// A sum of money in one currency: the amount, and the amount weighted by each record's
/// probability (its own, else its phase's; a record with neither counts in full).
#[derive(Debug, Serialize, ToSchema)]
pub struct ValueTotalOut {
    /// An ISO 4217 code.
    #[schema(example = "EUR", min_length = 3, max_length = 3)]
    pub currency: String,
    /// A decimal string, exact.
    #[schema(example = "250000.00", max_length = 40)]
    pub amount: String,
    /// A decimal string, rounded to the currency's finest fraction (four decimals at most).
    #[schema(example = "125000.00", max_length = 40)]
    pub weighted_amount: String,
}

impl From<&ValueBucket> for ValueTotalOut {
    fn from(b: &ValueBucket) -> Self {
        let digits = Currency::minor_digits(&b.currency);
        ValueTotalOut {
            currency: b.currency.clone(),
            amount: format_units(b.units, digits),
            weighted_amount: format_units(b.weighted_units, digits),
        }
    }
}

/// One column of the board.
#[derive(Debug, Serialize, ToSchema)]
pub struct BoardColumnOut {
    pub phase: PhaseOut,
    /// Records in the phase that the board shows (for companies, those with
    /// `show_in_pipeline`).
    pub count: i64,
    /// The first cards, oldest in the phase first.
    pub cards: Vec<CardOut>,
    /// Projects: what the column's projects with a value are worth, per currency in code
    /// order; empty for companies.
    #[schema(max_items = 200)]
    pub values: Vec<ValueTotalOut>,
    /// Continues this column with GET `next_url`; `null` when all cards are shown.
    #[schema(required = true)]
    pub next_cursor: Option<String>,
    #[schema(
        example = "/v1/companies?phase_id=12&show_in_pipeline=true&sort=phase_entered_at&cursor=..."
    )]
    #[schema(required = true)]
    pub next_url: Option<String>,
}

/// A pipeline's board.
#[derive(Debug, Serialize, ToSchema)]
pub struct BoardOut {
    pub pipeline_id: i64,
    pub name: String,
    #[schema(schema_with = super::schema::pipeline_record_type)]
    pub record_type: String,
    pub columns: Vec<BoardColumnOut>,
}

impl BoardOut {
    pub fn new(
        pipeline: &Pipeline,
        columns: Vec<(Column, Option<String>, Option<String>)>,
        now: DateTime<Utc>,
    ) -> Self {
        BoardOut {
            pipeline_id: pipeline.id,
            name: pipeline.name.clone(),
            record_type: pipeline.record_type.as_str().to_owned(),
            columns: columns
                .into_iter()
                .map(|(column, next_cursor, next_url)| BoardColumnOut {
                    phase: PhaseOut::from(&column.phase),
                    count: column.count,
                    values: column.values.iter().map(ValueTotalOut::from).collect(),
                    cards: column
                        .cards
                        .into_iter()
                        .map(|card| {
                            let entered = card.phase_entered_at.and_utc();
                            let mut out = CardOut {
                                id: card.id,
                                name: card.name,
                                owner_id: card.owner_id,
                                owner_name: card.owner_name,
                                phase_entered_at: entered,
                                days_in_phase: (now - entered).num_days().max(0),
                                follow_up_due: card
                                    .follow_up_due_at
                                    .is_some_and(|t| t.and_utc() <= now),
                                industry: None,
                                size_band: None,
                                company_id: None,
                                company_name: None,
                                value: None,
                                probability: None,
                                expected_finish_date: None,
                            };
                            match card.detail {
                                CardDetail::Company {
                                    industry,
                                    size_band,
                                } => {
                                    out.industry = industry;
                                    out.size_band = size_band;
                                }
                                CardDetail::Project {
                                    company_id,
                                    company_name,
                                    value,
                                    probability,
                                    expected_finish_date,
                                } => {
                                    out.company_id = company_id;
                                    out.company_name = company_name;
                                    out.value = value.as_ref().map(super::projects::MoneyOut::from);
                                    out.probability = probability;
                                    out.expected_finish_date = expected_finish_date;
                                }
                            }
                            out
                        })
                        .collect(),
                    next_cursor,
                    next_url,
                })
                .collect(),
        }
    }
}

/// The period of the stats.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct StatsQuery {
    /// Start of the period (inclusive), RFC 3339; default: 30 days before `to`.
    pub from: Option<DateTime<Utc>>,
    /// End of the period (exclusive), RFC 3339; default: now.
    pub to: Option<DateTime<Utc>>,
    /// Only records of this unit (`/v1/units`).
    #[param(minimum = 1)]
    pub unit_id: Option<i64>,
    /// With `unit_id`: also the records of the units below it.
    pub include_subunits: Option<bool>,
}

/// Figures of one phase over the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhaseStatsOut {
    pub phase_id: i64,
    pub name: String,
    /// Records in the phase now.
    pub current: i64,
    /// Moves into the phase during the period.
    pub entered: i64,
    /// Moves out of the phase during the period.
    pub left: i64,
    /// Of the stays that ended in the period: median and mean length, in seconds.
    #[schema(required = true)]
    pub median_seconds: Option<f64>,
    #[schema(required = true)]
    pub mean_seconds: Option<f64>,
    /// Of the moves out, the share that went to a later phase of the pipeline.
    #[schema(required = true)]
    pub forward_share: Option<f64>,
}

/// A pipeline's figures over a period.
#[derive(Debug, Serialize, ToSchema)]
pub struct StatsOut {
    pub pipeline_id: i64,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub phases: Vec<PhaseStatsOut>,
    pub won: i64,
    pub lost: i64,
    /// won / (won + lost); `null` when neither happened.
    #[schema(required = true)]
    pub win_rate: Option<f64>,
    /// Projects: the figures about values; `null` for companies.
    #[schema(required = true)]
    pub values: Option<ValueStatsOut>,
}

/// The figures about a project pipeline's values over the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValueStatsOut {
    /// Value won in the period, per currency (`weighted_amount` equals `amount`).
    #[schema(max_items = 200)]
    pub won: Vec<ValueTotalOut>,
    /// Value lost in the period, per currency.
    #[schema(max_items = 200)]
    pub lost: Vec<ValueTotalOut>,
    /// Per currency: won value / (won + lost value).
    #[schema(max_items = 200)]
    pub win_rate_by_value: Vec<CurrencyRateOut>,
    /// Of the projects won in the period: the mean days from their first entry into the
    /// pipeline to the win.
    #[schema(required = true)]
    pub mean_days_to_won: Option<f64>,
    /// Open projects (proposed, not won or lost) with a value and an expected finish date:
    /// their value and weighted value by month of expected finish, earliest first.
    #[schema(max_items = 1200)]
    pub forecast: Vec<ForecastMonthOut>,
}

/// A rate in one currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct CurrencyRateOut {
    #[schema(example = "EUR", min_length = 3, max_length = 3)]
    pub currency: String,
    pub rate: f64,
}

/// A month of the forecast.
#[derive(Debug, Serialize, ToSchema)]
pub struct ForecastMonthOut {
    /// `YYYY-MM`.
    #[schema(example = "2027-03", min_length = 7, max_length = 7)]
    pub month: String,
    #[schema(max_items = 200)]
    pub values: Vec<ValueTotalOut>,
}

impl From<ValueStats> for ValueStatsOut {
    fn from(v: ValueStats) -> Self {
        let mut currencies: Vec<&String> =
            v.won.iter().chain(&v.lost).map(|b| &b.currency).collect();
        currencies.sort();
        currencies.dedup();
        let sum = |list: &[ValueBucket], currency: &str| {
            list.iter()
                .find(|b| b.currency == currency)
                .map_or(0, |b| b.units)
        };
        let win_rate_by_value = currencies
            .into_iter()
            .filter_map(|currency| {
                let won = sum(&v.won, currency);
                let total = won + sum(&v.lost, currency);
                (total > 0).then(|| CurrencyRateOut {
                    currency: currency.clone(),
                    rate: won as f64 / total as f64,
                })
            })
            .collect();
        let with_weight = |list: &[ValueBucket]| {
            list.iter()
                .map(|b| {
                    ValueTotalOut::from(&ValueBucket {
                        weighted_units: b.units,
                        ..b.clone()
                    })
                })
                .collect()
        };
        ValueStatsOut {
            won: with_weight(&v.won),
            lost: with_weight(&v.lost),
            win_rate_by_value,
            mean_days_to_won: v.mean_days_to_won,
            forecast: v
                .forecast
                .iter()
                .map(|m| ForecastMonthOut {
                    month: m.month.clone(),
                    values: m.values.iter().map(ValueTotalOut::from).collect(),
                })
                .collect(),
        }
    }
}

impl StatsOut {
    pub fn new(stats: PipelineStats, from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        StatsOut {
            pipeline_id: stats.pipeline.id,
            from,
            to,
            phases: stats
                .phases
                .into_iter()
                .map(|s| PhaseStatsOut {
                    phase_id: s.phase.id,
                    name: s.phase.name,
                    current: s.current,
                    entered: s.entered,
                    left: s.left,
                    median_seconds: s.median_seconds,
                    mean_seconds: s.mean_seconds,
                    forward_share: s.forward_share,
                })
                .collect(),
            won: stats.won,
            lost: stats.lost,
            win_rate: stats.win_rate,
            values: stats.values.map(ValueStatsOut::from),
        }
    }
}
