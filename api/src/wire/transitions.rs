//! Stage moves and the history they leave.

use chrono::{DateTime, Utc};
use domain::Invalid;
use domain::pipeline::{Move, Outcome, RecordKind, Status, Transition};
use domain::validation::ValueError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::companies::CompanyOut;
use super::list_of;

/// A move: exactly one of `to_phase_id`, `to_status` (or its synonym `to_state`), `outcome`
/// (with an optional `reason`) or `action` (`reopen` or `remove`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"to_phase_id": 12}))]
pub struct MoveRequest {
    /// A phase of the company's pipeline (any pipeline of the account when it is in none).
    #[schema(minimum = 1)]
    pub to_phase_id: Option<i64>,
    /// A state of the record's type (companies `prospect`, `active` or `latent`; projects
    /// `proposed`, `won`, `active`, `completed`, `lost` or `cancelled`): the first phase of
    /// the pipeline in that state.
    #[schema(schema_with = super::schema::phase_status)]
    pub to_status: Option<String>,
    /// The same as `to_status`, in the words projects use (`state`).
    #[schema(schema_with = super::schema::phase_status)]
    pub to_state: Option<String>,
    /// `won` or `lost`: to the pipeline's won or lost phase.
    #[schema(schema_with = super::schema::outcome)]
    pub outcome: Option<String>,
    /// Why it was won or lost; only with `outcome`.
    #[schema(example = "Chose a cheaper supplier")]
    #[schema(max_length = 10000)]
    pub reason: Option<String>,
    /// `reopen`: back to the first phase, outcome cleared; `remove`: out of the pipeline.
    #[schema(schema_with = super::schema::move_action)]
    pub action: Option<String>,
}

impl MoveRequest {
    /// The move it asks for, of a record of `kind` (whose states `to_status` names).
    pub fn into_move(self, kind: RecordKind) -> Result<Move, Invalid> {
        let given = [
            self.to_phase_id.is_some(),
            self.to_status.is_some(),
            self.to_state.is_some(),
            self.outcome.is_some(),
            self.action.is_some(),
        ]
        .iter()
        .filter(|g| **g)
        .count();
        if given != 1 {
            return Err(Invalid::one(
                "",
                "one_move",
                "send exactly one of to_phase_id, to_status (or to_state), outcome or action",
            ));
        }
        if self.reason.is_some() && self.outcome.is_none() {
            return Err(Invalid::one(
                "reason",
                "outcome_only",
                "a reason goes with an outcome",
            ));
        }
        let mut invalid = Invalid::default();
        let result = if let Some(phase) = self.to_phase_id {
            Ok(Move::ToPhase(phase))
        } else if let Some((field, status)) = self
            .to_status
            .map(|s| ("to_status", s))
            .or(self.to_state.map(|s| ("to_state", s)))
        {
            Status::parse_phase(&status)
                .and_then(|s| kind.check_phase_state(s))
                .map(Move::ToStatus)
                .map_err(|e| (field, e))
        } else if let Some(outcome) = self.outcome {
            let reason = self
                .reason
                .map(|r| r.trim().to_owned())
                .filter(|r| !r.is_empty());
            match reason
                .as_ref()
                .map(|r| domain::values::Description::parse(r))
            {
                Some(Err(e)) => Err(("reason", e)),
                _ => Outcome::parse(&outcome)
                    .map(|o| Move::Outcome(o, reason))
                    .map_err(|e| ("outcome", e)),
            }
        } else {
            match self.action.as_deref() {
                Some("reopen") => Ok(Move::Reopen),
                Some("remove") => Ok(Move::Remove),
                _ => Err((
                    "action",
                    ValueError::new("invalid_choice", "must be reopen or remove"),
                )),
            }
        };
        result.map_err(|(field, e)| {
            invalid.check::<()>(field, Err(e));
            invalid
        })
    }
}

/// One step of a company's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransitionOut {
    pub company_id: i64,
    #[serde(flatten)]
    pub step: TransitionStepOut,
}

/// One step of a pipelined record's history, whatever the record.
#[derive(Debug, Serialize, ToSchema)]
pub struct TransitionStepOut {
    pub id: i64,
    #[schema(required = true)]
    pub from_pipeline_id: Option<i64>,
    #[schema(required = true)]
    pub to_pipeline_id: Option<i64>,
    #[schema(required = true)]
    pub from_phase_id: Option<i64>,
    /// The phase's name when the move happened.
    #[schema(required = true)]
    pub from_phase_name: Option<String>,
    #[schema(required = true)]
    pub to_phase_id: Option<i64>,
    #[schema(required = true)]
    pub to_phase_name: Option<String>,
    /// The state left: a phase state of the record's type, or `not_set` outside every
    /// pipeline.
    #[schema(schema_with = super::schema::any_state)]
    pub from_status: String,
    #[schema(schema_with = super::schema::any_state)]
    pub to_status: String,
    /// `won` or `lost` when the move was one.
    #[schema(required = true)]
    #[schema(schema_with = super::schema::outcome_or_null)]
    pub outcome: Option<String>,
    #[schema(required = true)]
    pub reason: Option<String>,
    pub actor: ActorOut,
    /// How long the record had been in the phase it left.
    #[schema(required = true)]
    pub seconds_in_previous_phase: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// Who made a move: a team member or a client app.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActorOut {
    /// `user` or `client_app`.
    #[schema(example = "user")]
    #[schema(schema_with = super::schema::actor_kind)]
    pub kind: String,
    #[schema(required = true)]
    pub id: Option<i64>,
}

impl From<Transition> for TransitionOut {
    fn from(t: Transition) -> Self {
        TransitionOut {
            company_id: t.record_id,
            step: TransitionStepOut::from(t),
        }
    }
}

impl From<Transition> for TransitionStepOut {
    fn from(t: Transition) -> Self {
        TransitionStepOut {
            id: t.id,
            from_pipeline_id: t.from_pipeline_id,
            to_pipeline_id: t.to_pipeline_id,
            from_phase_id: t.from_phase_id,
            from_phase_name: t.from_phase_name,
            to_phase_id: t.to_phase_id,
            to_phase_name: t.to_phase_name,
            from_status: t.from_status.as_str().to_owned(),
            to_status: t.to_status.as_str().to_owned(),
            outcome: t.outcome.map(|o| o.as_str().to_owned()),
            reason: t.reason,
            actor: match t.actor_client_id {
                Some(id) => ActorOut {
                    kind: "client_app".into(),
                    id: Some(id),
                },
                None => ActorOut {
                    kind: "user".into(),
                    id: t.actor_user_id,
                },
            },
            seconds_in_previous_phase: t.seconds_in_previous,
            created_at: t.created_at,
        }
    }
}

list_of!(TransitionList, TransitionOut, "history steps, newest first");

/// The answer to a move: the history row it wrote and the company as it now is.
#[derive(Debug, Serialize, ToSchema)]
pub struct MoveOut {
    /// `false` when the company already was where the move leads: nothing was written.
    pub changed: bool,
    #[schema(required = true)]
    pub transition: Option<TransitionOut>,
    pub company: CompanyOut,
}
