//! Events: what integrations learn about changes. The kinds of event, the record an event is
//! about, and which fields an update changed. Rendering a record as JSON is the HTTP layer's
//! business (it owns the wire shapes); storage asks it through [`RecordJson`].

use serde_json::{Map, Value};

use crate::access::{Resource, Scope};
use crate::company::Company;
use crate::contact::Contact;
use crate::enquiry::Enquiry;
use crate::meeting::Meeting;
use crate::pipeline::{Phase, Pipeline};
use crate::post::{Comment, Post};
use crate::project::Project;
use crate::task::Task;
use crate::token::ActorRef;
use crate::validation::ValueError;

wire_enum! {
    /// Every kind of event, by its wire name.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum EventType {
        CompanyCreated = "company.created",
        CompanyUpdated = "company.updated",
        CompanyDeleted = "company.deleted",
        CompanyPhaseChanged = "company.phase_changed",
        CompanyWon = "company.won",
        CompanyLost = "company.lost",
        CompanyMerged = "company.merged",
        ContactCreated = "contact.created",
        ContactUpdated = "contact.updated",
        ContactDeleted = "contact.deleted",
        ContactMerged = "contact.merged",
        PipelineCreated = "pipeline.created",
        PipelineUpdated = "pipeline.updated",
        PipelineDeleted = "pipeline.deleted",
        PhaseCreated = "phase.created",
        PhaseUpdated = "phase.updated",
        PhaseDeleted = "phase.deleted",
        ProjectCreated = "project.created",
        ProjectUpdated = "project.updated",
        ProjectDeleted = "project.deleted",
        ProjectPhaseChanged = "project.phase_changed",
        ProjectWon = "project.won",
        ProjectLost = "project.lost",
        ProjectMerged = "project.merged",
        TaskCreated = "task.created",
        TaskUpdated = "task.updated",
        TaskCompleted = "task.completed",
        TaskReopened = "task.reopened",
        TaskDeleted = "task.deleted",
        TaskDue = "task.due",
        MeetingCreated = "meeting.created",
        MeetingUpdated = "meeting.updated",
        MeetingDeleted = "meeting.deleted",
        MeetingStarting = "meeting.starting",
        PostCreated = "post.created",
        PostUpdated = "post.updated",
        PostDeleted = "post.deleted",
        CommentCreated = "comment.created",
        CommentUpdated = "comment.updated",
        CommentDeleted = "comment.deleted",
        EnquiryCreated = "enquiry.created",
        EnquiryUpdated = "enquiry.updated",
        EnquiryClosed = "enquiry.closed",
        EnquiryReopened = "enquiry.reopened",
        EnquiryConverted = "enquiry.converted",
        EnquiryDeleted = "enquiry.deleted",
        FieldCreated = "field.created",
        FieldUpdated = "field.updated",
        FieldDeleted = "field.deleted",
        RoleCreated = "role.created",
        RoleUpdated = "role.updated",
        RoleDeleted = "role.deleted",
        UnitCreated = "unit.created",
        UnitUpdated = "unit.updated",
        UnitDeleted = "unit.deleted",
    }
}

impl EventType {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == raw)
            .ok_or_else(|| {
                ValueError::new(
                    "unknown_event_type",
                    format!(
                        "`{raw}` is not an event type; the types are {}",
                        Self::ALL.map(EventType::as_str).join(", ")
                    ),
                )
            })
    }

    /// The kind of record the event is about.
    pub fn record_type(self) -> RecordType {
        use EventType::*;
        match self {
            CompanyCreated | CompanyUpdated | CompanyDeleted | CompanyPhaseChanged | CompanyWon
            | CompanyLost | CompanyMerged => RecordType::Company,
            ContactCreated | ContactUpdated | ContactDeleted | ContactMerged => RecordType::Contact,
            PipelineCreated | PipelineUpdated | PipelineDeleted => RecordType::Pipeline,
            PhaseCreated | PhaseUpdated | PhaseDeleted => RecordType::Phase,
            ProjectCreated | ProjectUpdated | ProjectDeleted | ProjectPhaseChanged | ProjectWon
            | ProjectLost | ProjectMerged => RecordType::Project,
            TaskCreated | TaskUpdated | TaskCompleted | TaskReopened | TaskDeleted | TaskDue => {
                RecordType::Task
            }
            MeetingCreated | MeetingUpdated | MeetingDeleted | MeetingStarting => {
                RecordType::Meeting
            }
            PostCreated | PostUpdated | PostDeleted => RecordType::Post,
            CommentCreated | CommentUpdated | CommentDeleted => RecordType::Comment,
            EnquiryCreated | EnquiryUpdated | EnquiryClosed | EnquiryReopened
            | EnquiryConverted | EnquiryDeleted => RecordType::Enquiry,
            FieldCreated | FieldUpdated | FieldDeleted => RecordType::Field,
            RoleCreated | RoleUpdated | RoleDeleted => RecordType::Role,
            UnitCreated | UnitUpdated | UnitDeleted => RecordType::Unit,
        }
    }
}

wire_enum! {
    /// The kinds of record events speak of.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum RecordType {
        Company = "company",
        Contact = "contact",
        Pipeline = "pipeline",
        Phase = "phase",
        Project = "project",
        Task = "task",
        Meeting = "meeting",
        Post = "post",
        Comment = "comment",
        Enquiry = "enquiry",
        Field = "field",
        Role = "role",
        Unit = "unit",
    }
}

impl RecordType {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == raw)
            .ok_or_else(|| {
                ValueError::new(
                    "invalid_choice",
                    format!(
                        "must be one of {}",
                        Self::ALL.map(RecordType::as_str).join(", ")
                    ),
                )
            })
    }

    /// The scope that reads records of this kind, and so their events.
    pub fn read_scope(self) -> Scope {
        match self {
            RecordType::Company => Scope::Read(Resource::Companies),
            RecordType::Contact => Scope::Read(Resource::Contacts),
            RecordType::Pipeline | RecordType::Phase => Scope::Read(Resource::Pipelines),
            RecordType::Project => Scope::Read(Resource::Projects),
            RecordType::Task => Scope::Read(Resource::Tasks),
            RecordType::Meeting => Scope::Read(Resource::Meetings),
            RecordType::Post | RecordType::Comment => Scope::Read(Resource::Posts),
            RecordType::Enquiry => Scope::Read(Resource::Enquiries),
            RecordType::Field => Scope::Read(Resource::Fields),
            // Roles are the team's administration, read with the team.
            RecordType::Role => Scope::Read(Resource::Users),
            // Units too.
            RecordType::Unit => Scope::Read(Resource::Users),
        }
    }
}

/// Renders records as the API shows them, so that an event carries the same JSON a `GET`
/// of the record answers. Implemented by the HTTP layer, which owns the wire shapes.
pub trait RecordJson: Send + Sync {
    fn company(&self, company: &Company) -> Value;
    fn contact(&self, contact: &Contact) -> Value;
    fn pipeline(&self, pipeline: &Pipeline) -> Value;
    fn phase(&self, pipeline_id: i64, phase: &Phase) -> Value;
    fn project(&self, project: &Project) -> Value;
    fn task(&self, task: &Task) -> Value;
    fn meeting(&self, meeting: &Meeting) -> Value;
    fn post(&self, post: &Post) -> Value;
    fn comment(&self, comment: &Comment) -> Value;
    fn enquiry(&self, enquiry: &Enquiry) -> Value;
    fn field(&self, field: &crate::fields::FieldDefinition) -> Value;
    fn role(&self, role: &crate::roles::RoleDef) -> Value;
    fn unit(&self, unit: &crate::units::Unit) -> Value;
}

/// What a write needs to record its events: who acts, and how records look on the wire.
#[derive(Clone, Copy)]
pub struct Outbox<'a> {
    pub actor: ActorRef,
    pub render: &'a dyn RecordJson,
}

impl std::fmt::Debug for Outbox<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("actor", &self.actor)
            .finish()
    }
}

/// An event as recorded, as the events feed, webhooks, the news feed and timelines read it
/// back.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The public id: the event's position in the account's events feed (a news feed
    /// entry's own id, read from there).
    pub id: i64,
    /// The row's storage key, which webhook deliveries refer to.
    pub row_id: i64,
    pub account_id: i64,
    pub event_type: String,
    pub record_type: String,
    pub record_id: i64,
    pub actor_user_id: Option<i64>,
    pub actor_client_id: Option<i64>,
    pub data: Value,
    pub previous: Option<Value>,
    pub occurred_at: chrono::DateTime<chrono::Utc>,
    /// For `*.merged`: the records merged into this one.
    pub merged_ids: Option<Vec<i64>>,
    /// For a `*.deleted` caused by a merge: the record this one was merged into.
    pub merged_into: Option<i64>,
}

/// One event about to be written.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub event_type: EventType,
    pub record_id: i64,
    /// The record as it now is (as it was, for a deletion).
    pub data: Value,
    /// For updates: the previous values of the fields that changed.
    pub previous: Option<Map<String, Value>>,
    /// For `*.merged`: the records merged into this one (and deleted).
    pub merged_ids: Option<Vec<i64>>,
    /// For a `*.deleted` that a merge caused: the record this one was merged into.
    pub merged_into: Option<i64>,
}

impl NewEvent {
    pub fn new(event_type: EventType, record_id: i64, data: Value) -> Self {
        NewEvent {
            event_type,
            record_id,
            data,
            previous: None,
            merged_ids: None,
            merged_into: None,
        }
    }

    /// An update: `previous` holds the old values of the fields that differ in `after`.
    pub fn changed(event_type: EventType, record_id: i64, before: &Value, after: Value) -> Self {
        let previous = changed_fields(before, &after);
        NewEvent {
            event_type,
            record_id,
            data: after,
            previous: Some(previous),
            merged_ids: None,
            merged_into: None,
        }
    }

    /// This event (a `*.merged`) with the ids of the records merged away.
    pub fn with_merged_ids(mut self, ids: Vec<i64>) -> Self {
        self.merged_ids = Some(ids);
        self
    }

    /// This event (a `*.deleted`) as caused by merging the record into `survivor`.
    pub fn with_merged_into(mut self, survivor: i64) -> Self {
        self.merged_into = Some(survivor);
        self
    }
}

/// Fields that change on every write or with the clock, and so say nothing about what a
/// caller changed.
const NOT_COMPARED: [&str; 5] = [
    "version",
    "updated_at",
    "days_in_phase",
    "time_in_phases",
    "follow_up_due",
];

/// The previous values of the top-level fields whose value differs between `before` and
/// `after` (a field missing on one side counts as `null`).
pub fn changed_fields(before: &Value, after: &Value) -> Map<String, Value> {
    let empty = Map::new();
    let old = before.as_object().unwrap_or(&empty);
    let new = after.as_object().unwrap_or(&empty);
    let mut changed = Map::new();
    let keys = old
        .keys()
        .chain(new.keys().filter(|k| !old.contains_key(*k)));
    for key in keys {
        if NOT_COMPARED.contains(&key.as_str()) {
            continue;
        }
        let was = old.get(key).unwrap_or(&Value::Null);
        let is = new.get(key).unwrap_or(&Value::Null);
        if was != is {
            changed.insert(key.clone(), was.clone());
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn every_event_type_parses_back_from_its_name() {
        for t in EventType::ALL {
            assert_eq!(EventType::parse(t.as_str()), Ok(t));
        }
        assert!(EventType::parse("company.exploded").is_err());
    }

    #[test]
    fn changed_fields_hold_the_old_values_of_what_changed() {
        let before = json!({"name": "Acme", "industry": "Oil", "phone": null, "version": 1});
        let after = json!({"name": "Acme", "industry": "Solar", "phone": "1", "version": 2});
        assert_eq!(
            Value::Object(changed_fields(&before, &after)),
            json!({"industry": "Oil", "phone": null})
        );
    }

    #[test]
    fn clock_and_version_fields_are_not_changes() {
        let before = json!({"days_in_phase": 1, "updated_at": "a", "time_in_phases": []});
        let after = json!({"days_in_phase": 2, "updated_at": "b", "time_in_phases": [1]});
        assert!(changed_fields(&before, &after).is_empty());
    }
}
