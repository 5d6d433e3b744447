//! Events on the wire: the envelope the feed lists and webhooks deliver, the feed's query,
//! and the renderer that gives an event the same record JSON a `GET` answers.

use chrono::{DateTime, Utc};
use domain::company::Company;
use domain::contact::Contact;
use domain::event::RecordJson;
use domain::pipeline::{Phase, Pipeline};
use persistence::events::Event;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::companies::CompanyOut;
use super::contacts::ContactOut;
use super::list_of;
use super::pipelines::{PhaseOut, PipelineOut};

/// Renders records for events exactly as the API's responses show them.
#[derive(Debug, Clone, Copy, Default)]
pub struct WireJson;

/// The renderer every write hands to storage.
pub static WIRE_JSON: WireJson = WireJson;

fn to_value<T: Serialize>(value: T) -> Value {
    // Serializing these plain structs cannot fail; a null would show if it ever did.
    serde_json::to_value(value).unwrap_or(Value::Null)
}

impl RecordJson for WireJson {
    fn company(&self, company: &Company) -> Value {
        to_value(CompanyOut::from(company.clone()))
    }

    fn contact(&self, contact: &Contact) -> Value {
        to_value(ContactOut::from(contact.clone()))
    }

    fn pipeline(&self, pipeline: &Pipeline) -> Value {
        to_value(PipelineOut::from(pipeline.clone()))
    }

    fn phase(&self, pipeline_id: i64, phase: &Phase) -> Value {
        let mut value = to_value(PhaseOut::from(phase));
        if let Value::Object(map) = &mut value {
            map.insert("pipeline_id".into(), Value::from(pipeline_id));
        }
        value
    }

    fn project(&self, project: &domain::project::Project) -> Value {
        to_value(super::projects::ProjectOut::from(project.clone()))
    }

    fn meeting(&self, meeting: &domain::meeting::Meeting) -> Value {
        to_value(super::meetings::MeetingOut::from(meeting.clone()))
    }

    fn post(&self, post: &domain::post::Post) -> Value {
        to_value(super::posts::PostOut::from(post.clone()))
    }

    fn comment(&self, comment: &domain::post::Comment) -> Value {
        to_value(super::posts::CommentOut::from(comment.clone()))
    }

    fn enquiry(&self, enquiry: &domain::enquiry::Enquiry) -> Value {
        to_value(super::enquiries::EnquiryOut::from(enquiry.clone()))
    }

    fn field(&self, field: &domain::fields::FieldDefinition) -> Value {
        to_value(super::fields::FieldOut::from(field.clone()))
    }

    fn role(&self, role: &domain::roles::RoleDef) -> Value {
        to_value(super::roles::RoleOut::from(role.clone()))
    }

    fn unit(&self, unit: &domain::units::Unit) -> Value {
        to_value(super::units::UnitOut::from(unit.clone()))
    }

    fn task(&self, task: &domain::task::Task) -> Value {
        to_value(super::tasks::TaskOut::from(task.clone()))
    }
}

/// Who made the change: a team member, a client app acting for the account, or neither
/// (the service itself, e.g. a command-line import).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventActorOut {
    pub user_id: Option<i64>,
    /// The client app's row id (`/v1/oauth-clients/{id}`).
    pub client_id: Option<i64>,
}

/// The record an event is about.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventRecordOut {
    /// `company`, `contact`, `pipeline` or `phase`.
    #[schema(example = "company")]
    #[schema(schema_with = super::schema::record_type)]
    pub r#type: String,
    #[schema(example = 42)]
    pub id: i64,
}

/// The record as it was after the change, and for updates what it was before.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventDataOut {
    /// The record as `GET` showed it right after the change (as it was, for a deletion).
    #[schema(value_type = Object)]
    pub object: Value,
    /// For `*.updated` and stage moves: the previous values of the fields that changed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub previous: Option<Map<String, Value>>,
    /// For `company.merged` and `contact.merged`: the ids of the records merged into this
    /// one. Each of them also has its own `*.deleted` event, with `merged_into`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = json!([17, 23]))]
    pub merged_ids: Option<Vec<i64>>,
    /// For a `company.deleted` or `contact.deleted` caused by a merge: the id of the record
    /// this one was merged into, which now holds its contacts, history and values.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(example = 42)]
    pub merged_into: Option<i64>,
}

/// One event: a change of a company, contact, pipeline or phase, or a stage move. Webhooks
/// deliver this same JSON as their body.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventOut {
    /// Increases with every event of the account; de-duplicate on it.
    #[schema(example = 1017)]
    pub id: i64,
    #[schema(example = "company.phase_changed")]
    #[schema(schema_with = super::schema::delivery_event_type)]
    pub r#type: String,
    pub occurred_at: DateTime<Utc>,
    pub actor: EventActorOut,
    pub record: EventRecordOut,
    pub data: EventDataOut,
}

impl From<Event> for EventOut {
    fn from(e: Event) -> Self {
        EventOut {
            id: e.id,
            r#type: e.event_type,
            occurred_at: e.occurred_at,
            actor: EventActorOut {
                user_id: e.actor_user_id,
                client_id: e.actor_client_id,
            },
            record: EventRecordOut {
                r#type: e.record_type,
                id: e.record_id,
            },
            data: EventDataOut {
                object: e.data,
                previous: match e.previous {
                    Some(Value::Object(map)) => Some(map),
                    _ => None,
                },
                merged_ids: e.merged_ids,
                merged_into: e.merged_into,
            },
        }
    }
}

list_of!(EventList, EventOut, "events, oldest first");

/// The events feed's query: where to start, which events, how many.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventListQuery {
    /// Only events with a higher id: the id of the last event you processed (or the
    /// previous page's `next_cursor`). Absent: from the oldest event kept.
    #[param(minimum = 0)]
    pub after: Option<i64>,
    /// Comma-separated event types, e.g. `company.won,company.lost` (a form-style array).
    #[param(schema_with = super::schema::event_types, style = Form, explode = false)]
    pub types: Option<String>,
    /// Only events about one kind of record: `company`, `contact`, `pipeline` or `phase`.
    #[param(schema_with = super::schema::record_type)]
    pub record_type: Option<String>,
    /// With `record_type`: only events about this record.
    #[param(minimum = 1)]
    pub record_id: Option<i64>,
    /// Events per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}
