//! Pipelines: ordered phases, each with a relationship status, and the rules of moving a
//! company between them. Plain functions over plain data, tested without a database.

use chrono::{DateTime, Duration, Utc};

use crate::validation::ValueError;

/// The state of a pipeline phase, and so of the record in it. Each pipelined record type has
/// its own set ([`RecordKind::phase_states`]): companies `prospect | active | latent`
/// (`not_set` outside every pipeline), projects `proposed | won | active | completed | lost |
/// cancelled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Prospect,
    Active,
    Latent,
    NotSet,
    Proposed,
    Won,
    Completed,
    Lost,
    Cancelled,
}

impl Status {
    /// Every state a phase may have, of any record type.
    pub const PHASE: [Status; 8] = [
        Status::Prospect,
        Status::Active,
        Status::Latent,
        Status::Proposed,
        Status::Won,
        Status::Completed,
        Status::Lost,
        Status::Cancelled,
    ];
    /// Every status a company may have: a company phase's, or `not_set` outside every pipeline.
    pub const RELATIONSHIP: [Status; 4] = [
        Status::Prospect,
        Status::Active,
        Status::Latent,
        Status::NotSet,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Prospect => "prospect",
            Status::Active => "active",
            Status::Latent => "latent",
            Status::NotSet => "not_set",
            Status::Proposed => "proposed",
            Status::Won => "won",
            Status::Completed => "completed",
            Status::Lost => "lost",
            Status::Cancelled => "cancelled",
        }
    }

    /// A phase's state, of any record type; whether a pipeline takes it is
    /// [`RecordKind::check_phase_state`]'s question.
    pub fn parse_phase(raw: &str) -> Result<Self, ValueError> {
        Self::PHASE
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| {
                ValueError::new(
                    "invalid_choice",
                    format!(
                        "must be one of {}",
                        Self::PHASE.map(Status::as_str).join(", ")
                    ),
                )
            })
    }

    /// A company's status, which may also be `not_set`.
    pub fn parse_any(raw: &str) -> Result<Self, ValueError> {
        Self::RELATIONSHIP
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| {
                ValueError::new(
                    "invalid_choice",
                    "must be one of prospect, active, latent, not_set",
                )
            })
    }

    pub fn from_stored(raw: &str) -> Self {
        Self::PHASE
            .into_iter()
            .find(|s| s.as_str() == raw)
            .unwrap_or(Status::NotSet)
    }
}

wire_enum! {
    /// The kinds of record a pipeline holds, fixed when it is created.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum RecordKind {
        Company = "company",
        Project = "project",
    }
}

impl RecordKind {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str() == raw)
            .ok_or_else(|| {
                ValueError::new(
                    "invalid_choice",
                    format!("must be {}", Self::ALL.map(RecordKind::as_str).join(" or ")),
                )
            })
    }

    pub fn from_stored(raw: &str) -> Self {
        Self::parse(raw).unwrap_or(RecordKind::Company)
    }

    /// The kind's noun for `n` records: "1 company", "3 companies".
    pub fn count_noun(self, n: i64) -> &'static str {
        match (self, n == 1) {
            (RecordKind::Company, true) => "company",
            (RecordKind::Company, false) => "companies",
            (RecordKind::Project, true) => "project",
            (RecordKind::Project, false) => "projects",
        }
    }

    /// The states this kind's phases may have, in the order a record usually goes through
    /// them.
    pub fn phase_states(self) -> &'static [Status] {
        match self {
            RecordKind::Company => &[Status::Prospect, Status::Active, Status::Latent],
            RecordKind::Project => &[
                Status::Proposed,
                Status::Won,
                Status::Active,
                Status::Completed,
                Status::Lost,
                Status::Cancelled,
            ],
        }
    }

    /// Whether a phase of this kind's pipelines may have `state`; the error names the ones it
    /// may.
    pub fn check_phase_state(self, state: Status) -> Result<Status, ValueError> {
        if self.phase_states().contains(&state) {
            return Ok(state);
        }
        let allowed: Vec<&str> = self.phase_states().iter().map(|s| s.as_str()).collect();
        Err(ValueError::new(
            "invalid_choice",
            format!(
                "`{}` is not a state of a {} pipeline; its phases are one of {}",
                state.as_str(),
                self.as_str(),
                allowed.join(", ")
            ),
        ))
    }

    /// Where winning leads when the pipeline names no won phase: the first phase in the first
    /// of these states that has one.
    fn won_states(self) -> &'static [Status] {
        match self {
            RecordKind::Company => &[Status::Active],
            RecordKind::Project => &[Status::Won, Status::Active],
        }
    }

    /// Where losing leads when the pipeline names no lost phase.
    fn lost_states(self) -> &'static [Status] {
        match self {
            RecordKind::Company => &[Status::Latent],
            RecordKind::Project => &[Status::Lost],
        }
    }

    /// The pipeline every account starts with for this kind: its name and phases (name,
    /// state, follow-up days), and the names of its won and lost phases.
    pub fn default_pipeline(self) -> DefaultPipeline {
        match self {
            RecordKind::Company => DefaultPipeline {
                name: "Client relationship",
                phases: &[
                    ("Uncontacted", Status::Prospect, None, None),
                    ("Contacted", Status::Prospect, Some(5), None),
                    ("Proposal sent", Status::Prospect, Some(7), None),
                    ("Active client", Status::Active, Some(90), None),
                    ("Dormant", Status::Latent, Some(180), None),
                    ("Lost", Status::Latent, None, None),
                ],
                won_phase: "Active client",
                lost_phase: "Lost",
            },
            RecordKind::Project => DefaultPipeline {
                name: "Projects",
                phases: &[
                    ("Lead", Status::Proposed, None, Some(10)),
                    ("Proposal in preparation", Status::Proposed, None, Some(25)),
                    ("Proposal submitted", Status::Proposed, None, Some(50)),
                    ("Won", Status::Won, None, Some(100)),
                    ("In progress", Status::Active, None, Some(100)),
                    ("Completed", Status::Completed, None, Some(100)),
                    ("Lost", Status::Lost, None, Some(0)),
                    ("Cancelled", Status::Cancelled, None, Some(0)),
                ],
                won_phase: "Won",
                lost_phase: "Lost",
            },
        }
    }
}

/// A kind's starting pipeline (see [`RecordKind::default_pipeline`]).
#[derive(Debug, Clone, Copy)]
pub struct DefaultPipeline {
    pub name: &'static str,
    /// Name, state, follow-up after days, probability.
    pub phases: &'static [(&'static str, Status, Option<i64>, Option<i64>)],
    pub won_phase: &'static str,
    pub lost_phase: &'static str,
}

/// How a relationship ended, for now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    Won,
    Lost,
}

impl Outcome {
    pub const ALL: [Outcome; 2] = [Outcome::Won, Outcome::Lost];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Won => "won",
            Outcome::Lost => "lost",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        match raw {
            "won" => Ok(Outcome::Won),
            "lost" => Ok(Outcome::Lost),
            _ => Err(ValueError::new("invalid_choice", "must be won or lost")),
        }
    }

    pub fn from_stored(raw: Option<&str>) -> Option<Self> {
        raw.and_then(|r| Self::parse(r).ok())
    }
}

/// One phase of a pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Phase {
    pub id: i64,
    pub pipeline_id: i64,
    pub name: String,
    pub position: i64,
    pub status: Status,
    pub follow_up_after_days: Option<i64>,
    /// The phases that may follow this one; empty means any.
    pub allowed_next: Vec<i64>,
    /// The probability of winning (0-100) that records in the phase default to.
    pub probability: Option<i64>,
}

impl Phase {
    /// When a company that entered this phase at `entered` is due for follow-up.
    pub fn follow_up_due_at(&self, entered: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.follow_up_after_days
            .map(|days| entered + Duration::days(days))
    }
}

/// A pipeline with its phases in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    /// What it holds: companies or projects.
    pub record_type: RecordKind,
    /// The default pipeline of its record type.
    pub is_default: bool,
    /// Where `won` leads; `None`: the first `active` phase (projects: `won`, else `active`).
    pub won_phase_id: Option<i64>,
    /// Where `lost` leads; `None`: the first `latent` phase (projects: `lost`).
    pub lost_phase_id: Option<i64>,
    pub phases: Vec<Phase>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Pipeline {
    pub fn phase(&self, id: i64) -> Option<&Phase> {
        self.phases.iter().find(|p| p.id == id)
    }

    pub fn first_with_status(&self, status: Status) -> Option<&Phase> {
        self.phases.iter().find(|p| p.status == status)
    }

    pub fn won_phase(&self) -> Option<&Phase> {
        self.won_phase_id.and_then(|id| self.phase(id)).or_else(|| {
            self.record_type
                .won_states()
                .iter()
                .find_map(|s| self.first_with_status(*s))
        })
    }

    pub fn lost_phase(&self) -> Option<&Phase> {
        self.lost_phase_id
            .and_then(|id| self.phase(id))
            .or_else(|| {
                self.record_type
                    .lost_states()
                    .iter()
                    .find_map(|s| self.first_with_status(*s))
            })
    }
}

/// One step of a company's history: append-only.
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    pub id: i64,
    /// The record that moved (a company, a project).
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
    pub actor_user_id: Option<i64>,
    pub actor_client_id: Option<i64>,
    /// How long the company had been in the phase it left.
    pub seconds_in_previous: Option<i64>,
    pub created_at: DateTime<Utc>,
}

/// A request to move a company.
#[derive(Debug, Clone, PartialEq)]
pub enum Move {
    ToPhase(i64),
    ToStatus(Status),
    Outcome(Outcome, Option<String>),
    Reopen,
    Remove,
}

/// Where a company is now.
#[derive(Debug, Clone, PartialEq)]
pub struct Place {
    pub pipeline_id: Option<i64>,
    pub phase_id: Option<i64>,
    pub outcome: Option<Outcome>,
}

/// Where a move leads. `phase` is `None` for a company taken out of every pipeline.
#[derive(Debug, Clone, PartialEq)]
pub struct Destination {
    pub pipeline_id: Option<i64>,
    pub phase_id: Option<i64>,
    pub status: Status,
    pub outcome: Option<Outcome>,
    pub reason: Option<String>,
}

/// Why a move is refused.
#[derive(Debug, Clone, PartialEq)]
pub enum MoveRefused {
    /// The phase is not one the company may go to; `allowed` lists the ones it may.
    PhaseNotAllowed {
        phase_id: i64,
        allowed: Vec<(i64, String)>,
    },
    /// The pipeline has no phase with that status (or no won/lost/first phase).
    NoSuchPhase(String),
    /// Reopening a company that is in no pipeline.
    NotInPipeline,
    /// Reopening a company that was neither won nor lost.
    NotClosed,
}

/// Plans a move. `current` is the company's pipeline (if in one); `default` is the account's
/// default pipeline, used when the company is in none; `target_pipeline` is the pipeline of
/// the phase named by `ToPhase`, if it is one of the account's.
pub fn plan_move(
    place: &Place,
    current: Option<&Pipeline>,
    default: Option<&Pipeline>,
    target_pipeline: Option<&Pipeline>,
    request: &Move,
) -> Result<Destination, MoveRefused> {
    let home = current.or(default);
    let into = |pipeline: &Pipeline,
                phase: &Phase,
                outcome: Option<Outcome>,
                reason: Option<String>| Destination {
        pipeline_id: Some(pipeline.id),
        phase_id: Some(phase.id),
        status: phase.status,
        outcome,
        reason,
    };
    match request {
        Move::ToPhase(phase_id) => {
            let pipeline = match (current, target_pipeline) {
                (Some(current), _) => current,
                (None, Some(target)) => target,
                (None, None) => return Err(not_allowed(*phase_id, home, None)),
            };
            let Some(phase) = pipeline.phase(*phase_id) else {
                return Err(not_allowed(*phase_id, Some(pipeline), place.phase_id));
            };
            // Onto the won or lost phase is that outcome, exactly as `Move::Outcome` records
            // it (and as always allowed); staying there keeps it.
            let landing = [
                (Outcome::Won, pipeline.won_phase()),
                (Outcome::Lost, pipeline.lost_phase()),
            ]
            .into_iter()
            .find(|(_, p)| p.is_some_and(|p| p.id == phase.id))
            .map(|(outcome, _)| outcome);
            match landing {
                Some(_) if place.phase_id == Some(phase.id) && place.outcome.is_some() => {
                    Ok(into(pipeline, phase, place.outcome, None))
                }
                Some(outcome) => Ok(into(pipeline, phase, Some(outcome), None)),
                None => {
                    check_follows(pipeline, place.phase_id, phase)?;
                    Ok(into(pipeline, phase, staying(place, phase), None))
                }
            }
        }
        Move::ToStatus(status) => {
            let pipeline =
                home.ok_or_else(|| MoveRefused::NoSuchPhase("the account has no pipeline".into()))?;
            let phase = pipeline.first_with_status(*status).ok_or_else(|| {
                MoveRefused::NoSuchPhase(format!(
                    "pipeline {} has no {} phase",
                    pipeline.id,
                    status.as_str()
                ))
            })?;
            check_follows(pipeline, place.phase_id, phase)?;
            Ok(into(pipeline, phase, staying(place, phase), None))
        }
        Move::Outcome(outcome, reason) => {
            let pipeline =
                home.ok_or_else(|| MoveRefused::NoSuchPhase("the account has no pipeline".into()))?;
            let phase = match outcome {
                Outcome::Won => pipeline.won_phase(),
                Outcome::Lost => pipeline.lost_phase(),
            }
            .ok_or_else(|| {
                MoveRefused::NoSuchPhase(format!(
                    "pipeline {} has no {} phase",
                    pipeline.id,
                    outcome.as_str()
                ))
            })?;
            // Winning and losing are always allowed: they are outcomes, not steps.
            Ok(into(pipeline, phase, Some(*outcome), reason.clone()))
        }
        Move::Reopen => {
            let pipeline = current.ok_or(MoveRefused::NotInPipeline)?;
            if place.outcome.is_none() {
                return Err(MoveRefused::NotClosed);
            }
            let phase = pipeline.phases.first().ok_or_else(|| {
                MoveRefused::NoSuchPhase(format!("pipeline {} has no phases", pipeline.id))
            })?;
            Ok(into(pipeline, phase, None, None))
        }
        Move::Remove => Ok(Destination {
            pipeline_id: None,
            phase_id: None,
            status: Status::NotSet,
            outcome: None,
            reason: None,
        }),
    }
}

/// A move to the phase the company is in keeps its outcome (and so changes nothing); a move
/// to another phase clears it.
fn staying(place: &Place, phase: &Phase) -> Option<Outcome> {
    if place.phase_id == Some(phase.id) {
        place.outcome
    } else {
        None
    }
}

/// Whether a destination is where the company already is.
pub fn is_no_change(place: &Place, destination: &Destination) -> bool {
    place.pipeline_id == destination.pipeline_id
        && place.phase_id == destination.phase_id
        && place.outcome == destination.outcome
}

fn check_follows(pipeline: &Pipeline, from: Option<i64>, to: &Phase) -> Result<(), MoveRefused> {
    let Some(from) = from.and_then(|id| pipeline.phase(id)) else {
        return Ok(());
    };
    if from.id == to.id || from.allowed_next.is_empty() || from.allowed_next.contains(&to.id) {
        Ok(())
    } else {
        Err(not_allowed(to.id, Some(pipeline), Some(from.id)))
    }
}

fn not_allowed(phase_id: i64, pipeline: Option<&Pipeline>, from: Option<i64>) -> MoveRefused {
    let allowed = pipeline
        .map(|pipeline| {
            let from = from.and_then(|id| pipeline.phase(id));
            pipeline
                .phases
                .iter()
                .filter(|p| {
                    from.is_none_or(|f| {
                        f.allowed_next.is_empty() || f.allowed_next.contains(&p.id) || f.id == p.id
                    })
                })
                .map(|p| (p.id, p.name.clone()))
                .collect()
        })
        .unwrap_or_default();
    MoveRefused::PhaseNotAllowed { phase_id, allowed }
}

/// Checks that `order` names every phase id of `current` exactly once.
pub fn is_permutation(current: &[i64], order: &[i64]) -> bool {
    let mut a = current.to_vec();
    let mut b = order.to_vec();
    a.sort_unstable();
    b.sort_unstable();
    a == b
}

/// The median of some durations in seconds, `None` when there are none.
pub fn median(values: &mut [i64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len().is_multiple_of(2) {
        (values[mid - 1] as f64 + values[mid] as f64) / 2.0
    } else {
        values[mid] as f64
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn phase(id: i64, status: Status, allowed_next: Vec<i64>) -> Phase {
        Phase {
            id,
            pipeline_id: 1,
            name: format!("P{id}"),
            position: id,
            status,
            follow_up_after_days: None,
            allowed_next,
            probability: None,
        }
    }

    fn pipeline() -> Pipeline {
        Pipeline {
            id: 1,
            account_id: 1,
            name: "Sales".into(),
            record_type: RecordKind::Company,
            is_default: true,
            won_phase_id: None,
            lost_phase_id: None,
            phases: vec![
                phase(10, Status::Prospect, vec![11]),
                phase(11, Status::Prospect, vec![]),
                phase(12, Status::Active, vec![]),
                phase(13, Status::Latent, vec![]),
                phase(14, Status::Active, vec![]),
            ],
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    fn at(phase: Option<i64>) -> Place {
        Place {
            pipeline_id: phase.map(|_| 1),
            phase_id: phase,
            outcome: None,
        }
    }

    #[test]
    fn a_phase_with_rules_only_leads_to_the_phases_it_names() {
        let p = pipeline();
        assert!(plan_move(&at(Some(10)), Some(&p), None, None, &Move::ToPhase(11)).is_ok());
        let refused = plan_move(&at(Some(10)), Some(&p), None, None, &Move::ToPhase(14));
        assert!(
            matches!(refused, Err(MoveRefused::PhaseNotAllowed { phase_id: 14, ref allowed }) if allowed.iter().any(|(id, _)| *id == 11))
        );
        assert!(plan_move(&at(Some(11)), Some(&p), None, None, &Move::ToPhase(10)).is_ok());
    }

    #[test]
    fn a_move_onto_the_won_or_lost_phase_is_that_outcome_whatever_the_rules() {
        let p = pipeline();
        let won = plan_move(&at(Some(10)), Some(&p), None, None, &Move::ToPhase(12));
        let by_outcome = plan_move(
            &at(Some(10)),
            Some(&p),
            None,
            None,
            &Move::Outcome(Outcome::Won, None),
        );
        assert_eq!(won, by_outcome);
        let lost = plan_move(&at(Some(11)), Some(&p), None, None, &Move::ToPhase(13));
        assert_eq!(lost.map(|d| d.outcome), Ok(Some(Outcome::Lost)));
        let other_active = plan_move(&at(Some(11)), Some(&p), None, None, &Move::ToPhase(14));
        assert_eq!(other_active.map(|d| d.outcome), Ok(None));
    }

    #[test]
    fn a_phase_of_another_pipeline_is_refused() {
        let p = pipeline();
        let refused = plan_move(&at(Some(11)), Some(&p), None, None, &Move::ToPhase(99));
        assert!(matches!(
            refused,
            Err(MoveRefused::PhaseNotAllowed { phase_id: 99, .. })
        ));
    }

    #[test]
    fn status_moves_go_to_the_first_phase_of_that_status_in_the_default_pipeline_when_outside() {
        let p = pipeline();
        let dest = plan_move(
            &at(None),
            None,
            Some(&p),
            None,
            &Move::ToStatus(Status::Active),
        );
        assert_eq!(dest.map(|d| d.phase_id), Ok(Some(12)));
    }

    #[test]
    fn won_and_lost_default_to_the_first_active_and_latent_phases() {
        let mut p = pipeline();
        let won = plan_move(
            &at(Some(10)),
            Some(&p),
            None,
            None,
            &Move::Outcome(Outcome::Won, None),
        );
        assert_eq!(
            won.map(|d| (d.phase_id, d.outcome)),
            Ok((Some(12), Some(Outcome::Won)))
        );
        p.lost_phase_id = Some(11);
        let lost = plan_move(
            &at(Some(10)),
            Some(&p),
            None,
            None,
            &Move::Outcome(Outcome::Lost, Some("price".into())),
        );
        assert_eq!(
            lost.map(|d| (d.phase_id, d.reason)),
            Ok((Some(11), Some("price".into())))
        );
    }

    #[test]
    fn reopen_needs_a_pipeline_and_remove_leaves_it() {
        let p = pipeline();
        assert_eq!(
            plan_move(&at(None), None, Some(&p), None, &Move::Reopen),
            Err(MoveRefused::NotInPipeline)
        );
        let removed = plan_move(&at(Some(12)), Some(&p), None, None, &Move::Remove);
        assert_eq!(removed.map(|d| d.status), Ok(Status::NotSet));
    }

    #[test]
    fn moving_to_the_current_phase_is_no_change() {
        let p = pipeline();
        let place = at(Some(11));
        let dest = plan_move(&place, Some(&p), None, None, &Move::ToPhase(11));
        assert!(dest.is_ok_and(|d| is_no_change(&place, &d)));
    }

    #[test]
    fn only_a_won_or_lost_company_is_reopened() {
        let p = pipeline();
        assert_eq!(
            plan_move(&at(Some(11)), Some(&p), None, None, &Move::Reopen),
            Err(MoveRefused::NotClosed)
        );
        let won = Place {
            outcome: Some(Outcome::Won),
            ..at(Some(12))
        };
        let dest = plan_move(&won, Some(&p), None, None, &Move::Reopen);
        assert_eq!(dest.map(|d| (d.phase_id, d.outcome)), Ok((Some(10), None)));
    }

    #[test]
    fn moving_a_won_company_to_its_own_phase_is_no_change() {
        let p = pipeline();
        let place = Place {
            outcome: Some(Outcome::Won),
            ..at(Some(12))
        };
        let dest = plan_move(&place, Some(&p), None, None, &Move::ToPhase(12));
        assert!(dest.is_ok_and(|d| is_no_change(&place, &d)));
        let dest = plan_move(
            &place,
            Some(&p),
            None,
            None,
            &Move::ToStatus(Status::Active),
        );
        assert!(dest.is_ok_and(|d| is_no_change(&place, &d)));
    }

    #[test]
    fn permutations_and_medians() {
        assert!(is_permutation(&[1, 2, 3], &[3, 1, 2]));
        assert!(!is_permutation(&[1, 2, 3], &[1, 2]));
        assert!(!is_permutation(&[1, 2, 3], &[1, 2, 2]));
        assert_eq!(median(&mut [5, 1, 3]), Some(3.0));
        assert_eq!(median(&mut [4, 1, 3, 2]), Some(2.5));
        assert_eq!(median(&mut []), None);
    }
}
