//! Project bodies and the project list's query string.

use chrono::{DateTime, NaiveDate, Utc};
use domain::Invalid;
use domain::project::{
    ContactRole, DateDuration, Money, PlanGiven, Project, ProjectFields, ProjectPatch, Schedule,
    parse_probability,
};
use domain::validation::ValueError;
use domain::values::{Description, ExternalId, Name};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::companies::PhaseTimeOut;
use super::input::Parser;
use super::transitions::TransitionStepOut;
use super::{double_option, list_of};

/// An amount of money: a decimal string, exact, in an ISO 4217 currency.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MoneyOut {
    /// A decimal with at most 4 places, as a string so that no float rounds it.
    #[schema(
        example = "12500.00",
        pattern = r"^[0-9]{1,13}(\.[0-9]{1,4})?$",
        max_length = 18
    )]
    pub amount: String,
    /// An ISO 4217 currency code.
    #[schema(example = "EUR", pattern = "^[A-Z]{3}$", max_length = 3)]
    pub currency: String,
}

impl From<&Money> for MoneyOut {
    fn from(m: &Money) -> Self {
        MoneyOut {
            amount: m.amount(),
            currency: m.currency.clone(),
        }
    }
}

fn money(p: &mut Parser, raw: &MoneyOut) -> Option<Money> {
    match Money::parse(raw.amount.trim(), raw.currency.trim()) {
        Ok(m) => Some(m),
        Err((part, e)) => p.check(&format!("value.{part}"), Err(e)),
    }
}

/// A project.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectOut {
    #[schema(example = 7)]
    pub id: i64,
    #[schema(example = "Office move 2027")]
    pub name: String,
    #[schema(required = true)]
    pub description: Option<String>,
    /// The client company.
    #[schema(required = true)]
    pub company_id: Option<i64>,
    /// The team member responsible.
    #[schema(required = true)]
    pub owner_id: Option<i64>,
    /// The unit it belongs to (`/v1/units`): what unit-limited roles see it by.
    #[schema(required = true)]
    pub unit_id: Option<i64>,
    /// Its id in another system (an ERP, a spreadsheet); unique in the account. Imports with
    /// `mode=upsert` match on it.
    #[schema(required = true, example = "ERP-2027-014")]
    pub external_id: Option<String>,
    #[schema(required = true)]
    pub value: Option<MoneyOut>,
    /// The chance of winning, in percent: the project's own, or else its phase's.
    #[schema(required = true, minimum = 0, maximum = 100)]
    pub probability: Option<i64>,
    /// Where `probability` comes from: `project` (set on it), `phase` (its phase's default,
    /// which follows the phase), or `null` (neither has one). PATCH `probability: null` returns
    /// to the phase's.
    #[schema(required = true)]
    pub probability_source: Option<ProbabilitySource>,
    #[schema(required = true)]
    pub expected_start_date: Option<NaiveDate>,
    /// An ISO 8601 duration such as `P3M`.
    #[schema(required = true, example = "P3M")]
    pub expected_duration: Option<String>,
    #[schema(required = true)]
    pub expected_finish_date: Option<NaiveDate>,
    #[schema(required = true)]
    pub proposal_received_date: Option<NaiveDate>,
    #[schema(required = true)]
    pub proposal_due_date: Option<NaiveDate>,
    #[schema(required = true)]
    pub start_date: Option<NaiveDate>,
    #[schema(required = true)]
    pub end_date: Option<NaiveDate>,
    /// Set by the move that wins the project.
    #[schema(required = true)]
    pub won_at: Option<DateTime<Utc>>,
    /// Set by the move that wins, loses or cancels it.
    #[schema(required = true)]
    pub close_date: Option<NaiveDate>,
    /// Set by the move into a completed phase.
    #[schema(required = true)]
    pub completed_date: Option<NaiveDate>,
    pub tags: Vec<String>,
    /// The custom fields' values, by key. Lookup and rollup fields are computed when the
    /// record is read (read-only: a write that names one is refused with 422).
    #[schema(value_type = Object)]
    pub custom_fields: Map<String, Value>,
    /// Increases with every change; send it back in `If-Match` as `"<version>"`.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The project pipeline it is in; `null` outside every pipeline.
    #[schema(required = true)]
    pub pipeline_id: Option<i64>,
    #[schema(required = true)]
    pub phase_id: Option<i64>,
    /// Its phase's state: `proposed`, `won`, `active`, `completed`, `lost`, `cancelled`;
    /// `not_set` outside every pipeline.
    #[schema(schema_with = super::schema::project_state)]
    pub state: String,
    /// `won`, `lost`, or `null`.
    #[schema(required = true)]
    #[schema(schema_with = super::schema::outcome_or_null)]
    pub outcome: Option<String>,
    #[schema(required = true)]
    pub outcome_reason: Option<String>,
    #[schema(required = true)]
    pub phase_entered_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub days_in_phase: Option<i64>,
    /// Total time in each phase so far, the current stay included.
    pub time_in_phases: Vec<PhaseTimeOut>,
    /// The client's people on the project (its buying center), in contact id order; changed
    /// at `/v1/projects/{id}/contacts`.
    #[schema(max_items = 100)]
    pub contacts: Vec<ProjectContactOut>,
    /// The firm's people on it, in user id order; changed at `/v1/projects/{id}/team`.
    #[schema(max_items = 100)]
    pub team: Vec<TeamMemberOut>,
    /// When somebody last did something about the project: the latest of a linked task's
    /// completion, a linked meeting's start that has passed and a linked post's creation
    /// ("last contacted"); `null` when none. Derived from its activities: not part of
    /// `version`, so a change of activity does not change the ETag.
    #[schema(required = true)]
    pub last_activity_at: Option<DateTime<Utc>>,
    /// What is planned next about the project: the earliest of a linked open task's due time
    /// (overdue ones included) and a linked meeting's start still to come; `null` when
    /// nothing is. Derived, as `last_activity_at`.
    #[schema(required = true)]
    pub next_activity_at: Option<DateTime<Utc>>,
}

/// A contact on a project.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectContactOut {
    #[schema(example = 31)]
    pub contact_id: i64,
    /// Their part in the decision.
    #[schema(schema_with = super::schema::contact_role)]
    pub role: String,
}

/// A team member on a project.
#[derive(Debug, Serialize, ToSchema)]
pub struct TeamMemberOut {
    #[schema(example = 7)]
    pub user_id: i64,
    #[schema(example = "Project lead", max_length = 100)]
    pub role: String,
}

list_of!(
    ProjectContactList,
    ProjectContactOut,
    "contacts on a project"
);
list_of!(TeamMemberList, TeamMemberOut, "team members on a project");

/// A contact's part in a project's decision.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectContactPut {
    /// `decision_maker`, `influencer`, `user` or `other`.
    #[schema(schema_with = super::schema::contact_role)]
    pub role: String,
}

impl ProjectContactPut {
    pub fn into_role(self) -> Result<String, Invalid> {
        let mut p = Parser::default();
        let role = p.required("role", &self.role, ContactRole::parse);
        p.build(role.map(|r| r.as_str().to_owned()))
    }
}

/// A team member's role on a project.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamMemberPut {
    /// 1 to 100 characters, such as `Project lead`.
    #[schema(example = "Project lead", max_length = 100)]
    pub role: String,
}

impl TeamMemberPut {
    pub fn into_role(self) -> Result<String, Invalid> {
        let mut p = Parser::default();
        let role = p.required("role", &self.role, domain::values::Label::parse);
        p.build(role.map(domain::values::Label::into_inner))
    }
}

/// Where a project's probability comes from.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProbabilitySource {
    Project,
    Phase,
}

impl From<Project> for ProjectOut {
    fn from(p: Project) -> Self {
        let probability = p.effective_probability();
        let s = p.schedule;
        ProjectOut {
            id: p.id,
            name: p.name,
            description: p.description,
            company_id: p.company_id,
            owner_id: p.owner_id,
            unit_id: p.unit_id,
            external_id: p.external_id,
            value: p.value.as_ref().map(MoneyOut::from),
            probability,
            probability_source: match (p.probability, p.phase_probability) {
                (Some(_), _) => Some(ProbabilitySource::Project),
                (None, Some(_)) => Some(ProbabilitySource::Phase),
                (None, None) => None,
            },
            expected_start_date: s.expected_start_date,
            expected_duration: s.expected_duration.map(DateDuration::to_iso),
            expected_finish_date: s.expected_finish_date,
            proposal_received_date: s.proposal_received_date,
            proposal_due_date: s.proposal_due_date,
            start_date: s.start_date,
            end_date: s.end_date,
            won_at: s.won_at,
            close_date: s.close_date,
            completed_date: s.completed_date,
            tags: p.tags,
            custom_fields: p.custom_fields,
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
            pipeline_id: p.place.pipeline_id,
            phase_id: p.place.phase_id,
            state: p.place.status.as_str().to_owned(),
            outcome: p.place.outcome.map(|o| o.as_str().to_owned()),
            outcome_reason: p.place.outcome_reason.clone(),
            phase_entered_at: p.place.phase_entered_at,
            days_in_phase: p.place.days_in_phase(Utc::now()),
            last_activity_at: p.activity.last_at,
            next_activity_at: p.activity.next_at,
            contacts: p
                .contacts
                .iter()
                .map(|c| ProjectContactOut {
                    contact_id: c.contact_id,
                    role: c.role.as_str().to_owned(),
                })
                .collect(),
            team: p
                .team
                .iter()
                .map(|m| TeamMemberOut {
                    user_id: m.user_id,
                    role: m.role.clone(),
                })
                .collect(),
            time_in_phases: p
                .time_in_phases
                .into_iter()
                .map(|t| PhaseTimeOut {
                    phase_id: t.phase_id,
                    seconds: t.seconds,
                })
                .collect(),
        }
    }
}

list_of!(ProjectList, ProjectOut, "projects");

/// A new project. Only `name` is required. Of `expected_start_date`, `expected_duration`
/// and `expected_finish_date`, any two give the third.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectCreate {
    /// 1 to 200 characters.
    #[schema(example = "Office move 2027", max_length = 200)]
    pub name: String,
    /// Up to 10,000 characters; line breaks allowed.
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    /// A company of the account.
    #[schema(minimum = 1)]
    pub company_id: Option<i64>,
    /// An active team member of the account.
    #[schema(minimum = 1)]
    pub owner_id: Option<i64>,
    /// A unit of the account (`/v1/units`). Defaults to the owner's primary unit, else
    /// yours.
    #[schema(minimum = 1)]
    pub unit_id: Option<i64>,
    /// Its id in another system: 1 to 255 characters on one line, unique in the account
    /// (another project's answers 409).
    #[schema(example = "ERP-2027-014", max_length = 255)]
    pub external_id: Option<String>,
    pub value: Option<MoneyOut>,
    #[schema(minimum = 0, maximum = 100)]
    pub probability: Option<i64>,
    pub expected_start_date: Option<NaiveDate>,
    /// An ISO 8601 duration of years, months, weeks and days: `P3M`, `P2W`, `P1Y6M`.
    #[schema(example = "P3M", max_length = 40)]
    pub expected_duration: Option<String>,
    pub expected_finish_date: Option<NaiveDate>,
    pub proposal_received_date: Option<NaiveDate>,
    pub proposal_due_date: Option<NaiveDate>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    /// At most 50 tags of 1 to 50 characters, without commas.
    #[schema(schema_with = super::schema::tags)]
    pub tags: Option<Vec<String>>,
    /// A JSON object of at most 100 keys and 16 KiB.
    #[serde(default, deserialize_with = "super::strict_json::optional")]
    #[schema(value_type = Option<Object>)]
    pub custom_fields: Option<Value>,
    /// The phase of a project pipeline to start in; default: the first phase of the default
    /// project pipeline.
    #[schema(minimum = 1)]
    pub phase_id: Option<i64>,
}

impl ProjectCreate {
    pub fn into_fields(self) -> Result<(ProjectFields, Option<i64>), Invalid> {
        let mut p = Parser::default();
        let name = p.required("name", &self.name, Name::parse);
        let description = p.optional(
            "description",
            self.description.as_deref(),
            Description::parse,
        );
        let company_id = p.id("company_id", self.company_id);
        let owner_id = p.id("owner_id", self.owner_id);
        let unit_id = p.id("unit_id", self.unit_id);
        let external_id = p.optional(
            "external_id",
            self.external_id.as_deref(),
            ExternalId::parse,
        );
        let phase_id = p.id("phase_id", self.phase_id);
        let value = self.value.as_ref().and_then(|v| money(&mut p, v));
        let probability = self
            .probability
            .and_then(|raw| p.check("probability", parse_probability(raw)));
        let expected_duration = p.optional(
            "expected_duration",
            self.expected_duration.as_deref(),
            DateDuration::parse,
        );
        let mut schedule = Schedule {
            expected_start_date: self.expected_start_date,
            expected_duration,
            expected_finish_date: self.expected_finish_date,
            proposal_received_date: self.proposal_received_date,
            proposal_due_date: self.proposal_due_date,
            start_date: self.start_date,
            end_date: self.end_date,
            ..Schedule::default()
        };
        if let Err((field, e)) = schedule.complete_plan(PlanGiven {
            start: true,
            duration: true,
            finish: true,
        }) {
            p.check::<()>(field, Err(e));
        }
        let tags = p.tags(self.tags.as_deref());
        let custom_fields = p.custom_fields(self.custom_fields.as_ref());
        p.build(match (name, tags, custom_fields) {
            (Some(name), Some(tags), Some(custom_fields)) => Some((
                ProjectFields {
                    name,
                    description,
                    company_id,
                    owner_id,
                    unit_id,
                    external_id,
                    value,
                    probability,
                    schedule,
                    tags,
                    custom_fields,
                },
                phase_id,
            )),
            _ => None,
        })
    }
}

/// Changes to a project: absent fields stay as they are, `null` clears a field.
/// `custom_fields` is merged key by key; `tags` replaces the list. Changing one of the
/// planned dates works out the one not sent again (a new start moves the finish).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectUpdate {
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 10000)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub company_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub owner_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub unit_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 255)]
    pub external_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<MoneyOut>)]
    pub value: Option<Option<MoneyOut>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 100)]
    pub probability: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub expected_start_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 40)]
    pub expected_duration: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub expected_finish_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub proposal_received_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub proposal_due_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub start_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub end_date: Option<Option<NaiveDate>>,
    /// A correction of the date the project was won.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub won_at: Option<Option<DateTime<Utc>>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub close_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<NaiveDate>)]
    pub completed_date: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = super::schema::tags)]
    pub tags: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "super::strict_json::patch")]
    #[schema(value_type = Option<Object>)]
    pub custom_fields: Option<Option<Value>>,
}

impl ProjectUpdate {
    pub fn into_patch(self) -> Result<ProjectPatch, Invalid> {
        let mut p = Parser::default();
        let id =
            |p: &mut Parser, field: &str, raw: Option<Option<i64>>| raw.map(|id| p.id(field, id));
        let patch = ProjectPatch {
            name: p.patch_required("name", self.name.as_deref(), Name::parse),
            description: p.patch(
                "description",
                self.description.as_ref().map(Option::as_deref),
                Description::parse,
            ),
            company_id: id(&mut p, "company_id", self.company_id),
            owner_id: id(&mut p, "owner_id", self.owner_id),
            unit_id: id(&mut p, "unit_id", self.unit_id),
            external_id: p.patch(
                "external_id",
                self.external_id.as_ref().map(Option::as_deref),
                ExternalId::parse,
            ),
            value: self
                .value
                .map(|v| v.as_ref().and_then(|v| money(&mut p, v))),
            probability: self
                .probability
                .map(|raw| raw.and_then(|raw| p.check("probability", parse_probability(raw)))),
            expected_start_date: self.expected_start_date,
            expected_duration: p.patch(
                "expected_duration",
                self.expected_duration.as_ref().map(Option::as_deref),
                DateDuration::parse,
            ),
            expected_finish_date: self.expected_finish_date,
            proposal_received_date: self.proposal_received_date,
            proposal_due_date: self.proposal_due_date,
            start_date: self.start_date,
            end_date: self.end_date,
            won_at: self.won_at,
            close_date: self.close_date,
            completed_date: self.completed_date,
            tags: p.tags_patch(self.tags.as_ref().map(Option::as_deref)),
            custom_fields: p.custom_fields_patch(self.custom_fields),
        };
        p.finish()?;
        Ok(patch)
    }
}

/// Filters, order and page of the project list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ProjectListQuery {
    /// Records per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// A saved view of this record type (`/v1/views`): its filter narrows the list beside
    /// the other parameters, and its sort applies unless `sort` is given.
    pub view_id: Option<i64>,
    /// Only records of this unit (`/v1/units`).
    #[param(minimum = 1)]
    pub unit_id: Option<i64>,
    /// With `unit_id`: also the records of the units below it.
    pub include_subunits: Option<bool>,
    /// `created_at`, `updated_at`, `name`, `last_activity_at`, `next_activity_at`,
    /// `phase_entered_at` (time entered in the phase), `value` (the amount, whatever the
    /// currency) or `expected_finish_date`; prefix `-` for descending. Sorting by a field
    /// leaves out the projects without it. Default `-created_at`.
    #[param(schema_with = super::schema::project_sort)]
    pub sort: Option<String>,
    /// The name contains this text, ignoring case.
    pub q: Option<String>,
    pub company_id: Option<i64>,
    pub owner_id: Option<i64>,
    /// Has exactly this external id.
    #[param(max_length = 255)]
    pub external_id: Option<String>,
    /// Has this tag (exact match).
    pub tag: Option<String>,
    pub pipeline_id: Option<i64>,
    pub phase_id: Option<i64>,
    /// `proposed`, `won`, `active`, `completed`, `lost`, `cancelled` or `not_set`.
    #[param(schema_with = super::schema::project_state)]
    pub state: Option<String>,
    /// `won` or `lost`.
    #[param(schema_with = super::schema::outcome)]
    pub outcome: Option<String>,
    /// Created at or after this RFC 3339 time.
    pub created_since: Option<DateTime<Utc>>,
    /// Changed at or after this RFC 3339 time.
    pub updated_since: Option<DateTime<Utc>>,
    /// Expected to finish before this date.
    pub expected_finish_before: Option<NaiveDate>,
    /// Expected to finish after this date.
    pub expected_finish_after: Option<NaiveDate>,
    /// The value's amount is at least this decimal (`"10000"`); combine with `currency`.
    #[param(
        pattern = r"^[0-9]{1,13}(\.[0-9]{1,4})?$",
        max_length = 18,
        example = "10000"
    )]
    pub value_min: Option<String>,
    /// The value's amount is at most this decimal.
    #[param(
        pattern = r"^[0-9]{1,13}(\.[0-9]{1,4})?$",
        max_length = 18,
        example = "50000"
    )]
    pub value_max: Option<String>,
    /// The value is in this ISO 4217 currency.
    #[param(pattern = "^[A-Z]{3}$", max_length = 3, example = "EUR")]
    pub currency: Option<String>,
    /// Last activity (see the record's `last_activity_at`) before this RFC 3339 time: not
    /// contacted since. Records without one are left out (see `has_last_activity`).
    pub last_activity_before: Option<DateTime<Utc>>,
    /// Last activity at or after this RFC 3339 time.
    pub last_activity_after: Option<DateTime<Utc>>,
    /// `true`: only records with a last activity; `false`: only those without ("never
    /// contacted").
    pub has_last_activity: Option<bool>,
    /// Next activity (see the record's `next_activity_at`) before this RFC 3339 time. Records
    /// without one are left out (see `has_next_activity`).
    pub next_activity_before: Option<DateTime<Utc>>,
    /// Next activity at or after this RFC 3339 time.
    pub next_activity_after: Option<DateTime<Utc>>,
    /// `true`: only records with a next activity; `false`: only those with nothing planned.
    pub has_next_activity: Option<bool>,
}

/// The answer to a move: the history row it wrote and the project as it now is.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectMoveOut {
    /// `false` when the project already was where the move leads: nothing was written.
    pub changed: bool,
    #[schema(required = true)]
    pub transition: Option<ProjectTransitionOut>,
    pub project: ProjectOut,
}

/// One step of a project's history.
#[derive(Debug, Serialize, ToSchema)]
pub struct ProjectTransitionOut {
    pub project_id: i64,
    #[serde(flatten)]
    pub step: TransitionStepOut,
}

impl From<domain::pipeline::Transition> for ProjectTransitionOut {
    fn from(t: domain::pipeline::Transition) -> Self {
        ProjectTransitionOut {
            project_id: t.record_id,
            step: TransitionStepOut::from(t),
        }
    }
}

list_of!(
    ProjectTransitionList,
    ProjectTransitionOut,
    "history steps, newest first"
);

/// A project state in a query, refused with what it may be.
pub fn parse_state(raw: &str) -> Result<domain::pipeline::Status, ValueError> {
    if raw == "not_set" {
        return Ok(domain::pipeline::Status::NotSet);
    }
    domain::pipeline::Status::parse_phase(raw)
        .and_then(|s| domain::pipeline::RecordKind::Project.check_phase_state(s))
}
