//! Pipeline, phase, board and stats bodies.

use chrono::{DateTime, Utc};
use domain::Invalid;
use domain::pipeline::{Phase, Pipeline, RecordKind, Status};
use domain::validation::ValueError;
use domain::values::Label;
use persistence::pipelines::{Column, NewPhase, PhasePatch, PipelinePatch, PipelineStats};
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
    /// A company in the phase longer than this is due for follow-up.
    #[schema(example = 7)]
    #[schema(required = true)]
    pub follow_up_after_days: Option<i64>,
    /// The phases a company may move to from this one; empty: any.
    pub allowed_next_phase_ids: Vec<i64>,
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
        Some(NewPhase {
            name: name?,
            status: status?,
            follow_up_after_days: days?,
            allowed_next: self.allowed_next_phase_ids.unwrap_or_default(),
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
    /// `prospect`, `active` or `latent`; companies in the phase take the new status.
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

/// Where the companies of a removed phase go.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct RemovePhaseQuery {
    /// Another phase of the same pipeline; required when the phase holds companies.
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
}

/// A company on the board.
#[derive(Debug, Serialize, ToSchema)]
pub struct CardOut {
    pub id: i64,
    #[schema(example = "Acme Ltd")]
    pub name: String,
    #[schema(required = true)]
    pub industry: Option<String>,
    #[schema(required = true)]
    #[schema(schema_with = super::schema::size_band_or_null)]
    pub size_band: Option<String>,
    #[schema(required = true)]
    pub owner_id: Option<i64>,
    #[schema(required = true)]
    pub owner_name: Option<String>,
    pub phase_entered_at: DateTime<Utc>,
    pub days_in_phase: i64,
    pub follow_up_due: bool,
}

/// One column of the board.
#[derive(Debug, Serialize, ToSchema)]
pub struct BoardColumnOut {
    pub phase: PhaseOut,
    /// Companies in the phase that the board shows (those with `show_in_pipeline`).
    pub count: i64,
    /// The first cards, oldest in the phase first.
    pub cards: Vec<CardOut>,
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
            columns: columns
                .into_iter()
                .map(|(column, next_cursor, next_url)| BoardColumnOut {
                    phase: PhaseOut::from(&column.phase),
                    count: column.count,
                    cards: column
                        .cards
                        .into_iter()
                        .map(|card| {
                            let entered = card.phase_entered_at.and_utc();
                            CardOut {
                                id: card.id,
                                name: card.name,
                                industry: card.industry,
                                size_band: card.size_band,
                                owner_id: card.owner_id,
                                owner_name: card.owner_name,
                                phase_entered_at: entered,
                                days_in_phase: (now - entered).num_days().max(0),
                                follow_up_due: card
                                    .follow_up_due_at
                                    .is_some_and(|t| t.and_utc() <= now),
                            }
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
}

/// Figures of one phase over the period.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhaseStatsOut {
    pub phase_id: i64,
    pub name: String,
    /// Companies in the phase now.
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
        }
    }
}
