//! The OpenAPI `webhooks` section: one entry per event type, each the POST a subscription's
//! target receives, with the signature headers and an example body. utoipa has no model for
//! OpenAPI 3.1 webhooks, so the section is written as JSON into the document's top level.

use domain::event::{EventType, RecordType};
use serde_json::{Value, json};
use utoipa::Modify;
use utoipa::openapi::extensions::Extensions;

pub(super) struct Webhooks;

impl Modify for Webhooks {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let section: serde_json::Map<String, Value> = EventType::ALL
            .into_iter()
            .map(|t| (t.as_str().to_owned(), webhook(t)))
            .collect();
        let extensions = openapi.extensions.get_or_insert_with(Extensions::default);
        // Not an `x-` extension: `webhooks` is a field of OpenAPI 3.1 itself.
        extensions.insert("webhooks".to_owned(), Value::Object(section));
    }
}

const SIGNATURE: &str = "`t=<unix seconds>,v1=<hex>`: the HMAC-SHA256, keyed with the subscription's \
    signing secret, of the timestamp, a full stop and the raw body (`{t}.{body}`). Recompute it \
    over the bytes received, compare in constant time, and refuse a timestamp more than five \
    minutes old.";

fn webhook(event_type: EventType) -> Value {
    let name = event_type.as_str();
    let header = |name: &str, description: &str, example: Value| {
        json!({
            "name": name,
            "in": "header",
            "required": true,
            "description": description,
            "schema": {"type": "string"},
            "example": example,
        })
    };
    json!({
        "post": {
            "operationId": format!("webhook.{name}"),
            "tags": ["webhooks"],
            "summary": format!("`{name}` delivered to a subscription"),
            "description": format!(
                "{} The body is the event exactly as `GET /v1/events/{{id}}` shows it. Answer any \
                 2xx within the timeout; anything else is retried with exponential backoff for at \
                 least 24 hours, in order: a subscription's later events wait behind a failing one. \
                 Deliveries are at least once: de-duplicate on `Clientline-Event-Id`.",
                describe(event_type)
            ),
            "parameters": [
                header("Clientline-Signature", SIGNATURE, json!("t=1764604800,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd")),
                header("Clientline-Event-Id", "The event's id; the same on every attempt.", json!("1017")),
                header("Clientline-Event-Type", "The event's type.", json!(name)),
                header("Clientline-Delivery-Id", "This subscription's delivery of the event, as `GET /v1/webhooks/{id}/deliveries` lists it.", json!("88")),
            ],
            "requestBody": {
                "required": true,
                "content": {
                    "application/json": {
                        "schema": {"$ref": "#/components/schemas/EventOut"},
                        "example": example(event_type),
                    }
                }
            },
            "responses": {
                "2XX": {"description": "Received; the delivery succeeded."},
                "default": {"description": "Any other answer, or none within the timeout, is a failed attempt and is retried."}
            }
        }
    })
}

fn describe(event_type: EventType) -> &'static str {
    use EventType::*;
    match event_type {
        CompanyCreated => "A company was created, through `POST /v1/companies` or an import.",
        CompanyUpdated => {
            "A company's fields changed; `data.previous` holds the old values of the fields that changed."
        }
        CompanyDeleted => {
            "A company was deleted; `data.object` is the company as it was. After a merge, `data.merged_into` names the survivor."
        }
        CompanyPhaseChanged => {
            "A company moved in its pipeline (to a phase, by status, reopened, taken out, or carried by a removed phase); `data.previous` holds its old place."
        }
        CompanyWon => "A company was won: it moved to its pipeline's won phase.",
        CompanyLost => {
            "A company was lost: it moved to its pipeline's lost phase, with the reason given."
        }
        CompanyMerged => {
            "Duplicates were merged into this company; `data.merged_ids` names them (each also has its `company.deleted`)."
        }
        ContactCreated => "A contact was created.",
        ContactUpdated => "A contact's fields changed; `data.previous` holds the old values.",
        ContactDeleted => {
            "A contact was deleted; after a merge, `data.merged_into` names the survivor."
        }
        ContactMerged => "Duplicates were merged into this contact; `data.merged_ids` names them.",
        PipelineCreated => "A pipeline was created, with its phases.",
        PipelineUpdated => {
            "A pipeline changed (its name, default, won or lost phase, or the order of its phases)."
        }
        PipelineDeleted => "A pipeline was deleted.",
        PhaseCreated => "A phase was added to a pipeline.",
        PhaseUpdated => "A phase changed; `data.previous` holds the old values.",
        PhaseDeleted => {
            "A phase was removed; the companies it held each have a `company.phase_changed`."
        }
        ProjectCreated => "A project was created, placed in its first phase.",
        ProjectUpdated => {
            "A project's fields or people changed (also when its company or one of its contacts was deleted or merged); `data.previous` holds the old values."
        }
        ProjectDeleted => {
            "A project was deleted; `data.object` is the project as it was; after a merge, `data.merged_into` names the survivor."
        }
        ProjectPhaseChanged => {
            "A project moved in its pipeline; `data.previous` holds its old place."
        }
        ProjectWon => "A project was won: `won_at` and `close_date` are set.",
        ProjectLost => "A project was lost, with the reason given; `close_date` is set.",
        ProjectMerged => {
            "Duplicates were merged into this project; `data.merged_ids` names them (each also has its `project.deleted`)."
        }
        TaskCreated => "A task was created.",
        TaskUpdated => {
            "A task's fields changed (also when a record it was linked to was deleted or merged); `data.previous` holds the old values."
        }
        TaskCompleted => "A task was completed: `status` is `done`, with `done_at` and `done_by`.",
        TaskReopened => "A completed task was reopened.",
        TaskDeleted => "A task was deleted; `data.object` is the task as it was.",
        EnquiryCreated => "An enquiry came in (through the API, or a web form's intake token).",
        EnquiryUpdated => {
            "An enquiry's fields or assignee changed; `data.previous` holds the old values."
        }
        EnquiryClosed => "An enquiry was closed, with its `close_reason`.",
        EnquiryReopened => "A closed enquiry was opened again.",
        EnquiryConverted => {
            "An enquiry was converted: `company_id`, `contact_id` and `project_id` name what it became (each new one has its own `*.created` just before)."
        }
        EnquiryDeleted => "An enquiry was deleted.",
        PostCreated => "A post was written on the news feed.",
        PostUpdated => {
            "A post was edited, pinned or unpinned, or lost a link to a deleted record; `data.previous` holds the old values."
        }
        PostDeleted => "A post was deleted, with its comments.",
        CommentCreated => "A comment was added to a post (`data.object.post_id`).",
        CommentUpdated => "A comment was edited; `data.previous` holds the old body.",
        CommentDeleted => "A comment was deleted.",
        MeetingCreated => "A meeting was created.",
        MeetingUpdated => {
            "A meeting changed (its time, attendees or their responses, also when a linked record or an attending contact was deleted or merged); `data.previous` holds the old values."
        }
        MeetingDeleted => "A meeting was deleted; `data.object` is the meeting as it was.",
        MeetingStarting => {
            "A meeting starts within the configured lead time (`CLIENTLINE_MEETING_REMINDER_MINUTES`, default 15): recorded once per start time, for automations to act on."
        }
        FieldCreated => "A custom field was defined (`POST /v1/fields`).",
        FieldUpdated => "A field definition changed; `data.previous` holds the old values.",
        FieldDeleted => {
            "A field definition was deleted; the values records hold under its key stay, untyped."
        }
        RoleCreated => "A custom role was defined (`POST /v1/roles`).",
        RoleUpdated => {
            "A role changed (its rights, field rules, visibility, name or description); `data.previous` holds the old values."
        }
        RoleDeleted => "A custom role was deleted.",
        UnitCreated => "A unit was created (`POST /v1/units`).",
        UnitUpdated => {
            "A unit changed (its name, kind, description or parent); `data.previous` holds the old values."
        }
        UnitDeleted => "A unit was deleted.",
        TaskDue => {
            "An open task fell due (its `due_at`, or the start of its `due_date` in UTC): recorded once per due, for automations to act on."
        }
    }
}

fn project(phase_id: i64, state: &str, outcome: Value) -> Value {
    json!({
        "id": 7, "name": "Office move 2027", "description": null, "company_id": 42,
        "owner_id": 7, "value": {"amount": "12500.00", "currency": "EUR"}, "probability": 40,
        "expected_start_date": "2027-03-01", "expected_duration": "P3M",
        "expected_finish_date": "2027-06-01", "proposal_received_date": null,
        "proposal_due_date": "2027-01-15", "start_date": null, "end_date": null,
        "won_at": null, "close_date": null, "completed_date": null, "tags": [],
        "custom_fields": {}, "version": 3,
        "created_at": "2026-11-20T09:00:00Z", "updated_at": "2026-12-01T10:00:00Z",
        "pipeline_id": 2, "phase_id": phase_id, "state": state, "outcome": outcome,
        "outcome_reason": null, "phase_entered_at": "2026-12-01T10:00:00Z",
        "days_in_phase": 0, "time_in_phases": []
    })
}

fn enquiry(status: &str) -> Value {
    let converted = status == "converted";
    let id = |id: i64| if converted { json!(id) } else { Value::Null };
    json!({
        "id": 14, "name": "Ana Lima", "email": "ana@acme.com", "phone": null,
        "company_name": "Acme Ltd", "subject": "Office move next spring",
        "message": "We are 40 people and move in April.", "source": "web_form",
        "received_at": "2026-12-01T09:00:00Z", "assignee_id": 7, "status": status,
        "close_reason": if status == "closed" { json!("Outside our area") } else { Value::Null },
        "company_id": id(42), "contact_id": id(9), "project_id": id(7),
        "converted_at": if converted { json!("2026-12-01T10:00:00Z") } else { Value::Null },
        "version": 2, "created_at": "2026-12-01T09:00:00Z", "updated_at": "2026-12-01T10:00:00Z"
    })
}

fn post() -> Value {
    json!({
        "id": 8, "body": "Signed the **Acme** renewal. Thanks @ana@example.com!",
        "author_id": 7, "pinned": true, "links": [{"type": "company", "id": 42}],
        "mention_ids": [9], "comment_count": 2, "version": 1,
        "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-01T10:00:00Z"
    })
}

fn comment() -> Value {
    json!({
        "id": 21, "post_id": 8, "body": "Well done!", "author_id": 9, "mention_ids": [],
        "version": 1, "created_at": "2026-12-01T10:05:00Z", "updated_at": "2026-12-01T10:05:00Z"
    })
}

fn meeting() -> Value {
    json!({
        "id": 5, "title": "Kick-off with Acme", "all_day": false,
        "starts_at": "2026-12-07T09:00:00Z", "ends_at": "2026-12-07T10:00:00Z",
        "start_date": null, "end_date": null, "time_zone": "Europe/London",
        "location": "Acme HQ, room 4", "online_url": "https://meet.example.com/abc",
        "agenda": "Scope and timeline", "notes": null, "organiser_id": 7,
        "attendees": [{"user_id": 7, "contact_id": null, "response": "accepted"},
                      {"user_id": null, "contact_id": 9, "response": "needs_action"}],
        "links": [{"type": "company", "id": 42}], "tags": [], "version": 1,
        "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-01T10:00:00Z"
    })
}

fn task(status: &str) -> Value {
    let done = status == "done";
    json!({
        "id": 31, "title": "Follow up on the proposal", "notes": null, "due_date": null,
        "due_at": "2026-12-07T09:00:00Z", "time_zone": "Europe/London", "priority": "high",
        "status": status, "done_at": if done { json!("2026-12-07T10:00:00Z") } else { Value::Null },
        "done_by": if done { json!(7) } else { Value::Null }, "assignee_ids": [7],
        "links": [{"type": "company", "id": 42}], "tags": [], "created_by": 7, "version": 2,
        "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-01T10:00:00Z"
    })
}

fn company(phase_id: i64, status: &str, outcome: Value) -> Value {
    json!({
        "id": 42, "name": "Acme Ltd", "domain": "acme.com", "website": "https://acme.com",
        "email": null, "phone": null, "industry": "Engineering", "size_band": "11-50",
        "address": null, "description": null, "owner_id": 7, "tags": ["vip"],
        "custom_fields": {}, "show_in_pipeline": true, "version": 5,
        "created_at": "2026-11-20T09:00:00Z", "updated_at": "2026-12-01T10:00:00Z",
        "pipeline_id": 1, "phase_id": phase_id, "relationship_status": status,
        "outcome": outcome, "outcome_reason": null,
        "phase_entered_at": "2026-12-01T10:00:00Z", "days_in_phase": 0,
        "follow_up_due_at": null, "follow_up_due": false, "time_in_phases": []
    })
}

fn example(event_type: EventType) -> Value {
    use EventType::*;
    let (object, previous) = match event_type {
        CompanyCreated | CompanyDeleted => (company(2, "prospect", Value::Null), None),
        CompanyUpdated => (
            company(2, "prospect", Value::Null),
            Some(json!({"industry": "Manufacturing"})),
        ),
        CompanyPhaseChanged => (
            company(3, "prospect", Value::Null),
            Some(json!({"phase_id": 2, "phase_entered_at": "2026-11-25T08:00:00Z"})),
        ),
        CompanyWon => (
            company(4, "active", json!("won")),
            Some(json!({"phase_id": 3, "relationship_status": "prospect", "outcome": null})),
        ),
        CompanyLost => (
            company(6, "latent", json!("lost")),
            Some(json!({"phase_id": 3, "relationship_status": "prospect", "outcome": null})),
        ),
        CompanyMerged => (
            company(2, "prospect", Value::Null),
            Some(json!({"phone": null})),
        ),
        ContactCreated | ContactDeleted | ContactUpdated | ContactMerged => (
            json!({
                "id": 9, "first_name": "Ana", "last_name": "Lovelace", "email": "ana@acme.com",
                "phone": null, "job_title": "CTO", "company_id": 42, "reports_to_id": null,
                "owner_id": 7, "tags": [], "custom_fields": {}, "version": 2,
                "created_at": "2026-11-20T09:00:00Z", "updated_at": "2026-12-01T10:00:00Z"
            }),
            (event_type == ContactUpdated).then(|| json!({"job_title": "Head of IT"})),
        ),
        PipelineCreated | PipelineUpdated | PipelineDeleted => (
            json!({
                "id": 3, "name": "Projects", "is_default": false, "won_phase_id": 12,
                "lost_phase_id": null, "version": 1,
                "phases": [{"id": 11, "name": "Lead", "position": 0, "status": "prospect",
                            "follow_up_after_days": 3, "allowed_next_phase_ids": []},
                           {"id": 12, "name": "Signed", "position": 1, "status": "active",
                            "follow_up_after_days": null, "allowed_next_phase_ids": []}],
                "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-01T10:00:00Z"
            }),
            (event_type == PipelineUpdated).then(|| json!({"name": "Project work"})),
        ),
        UnitCreated | UnitUpdated | UnitDeleted => (
            json!({
                "id": 3, "name": "Nordics", "kind": "territory", "parent_id": 1,
                "description": null, "version": 1,
                "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-01T10:00:00Z"
            }),
            (event_type == UnitUpdated).then(|| json!({"parent_id": null})),
        ),
        RoleCreated | RoleUpdated | RoleDeleted => (
            json!({
                "id": 4, "name": "Sales", "description": "Account managers", "builtin": false,
                "rights": ["companies:read", "companies:write", "contacts:read", "projects:read"],
                "field_rules": [{"record_type": "project", "field": "custom_fields.fee_rate", "access": "hidden"}],
                "visibility": "all", "version": 1,
                "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-01T10:00:00Z"
            }),
            (event_type == RoleUpdated).then(|| json!({"visibility": "all"})),
        ),
        FieldCreated | FieldUpdated | FieldDeleted => (
            json!({
                "id": 4, "record_type": "company", "key": "sector", "label": "Sector",
                "description": null, "group": "Classification", "type": "select",
                "options": [{"value": "architecture", "label": "Architecture", "position": 0, "archived": false},
                            {"value": "engineering", "label": "Engineering", "position": 1, "archived": false}],
                "required": false, "unique": false, "default": null, "min": null, "max": null,
                "max_length": null, "pattern": null, "target_record_type": null, "currency": null,
                "position": 0, "version": 1,
                "created_at": "2026-12-01T10:00:00Z", "updated_at": "2026-12-01T10:00:00Z"
            }),
            (event_type == FieldUpdated).then(|| json!({"label": "Industry sector"})),
        ),
        PhaseCreated | PhaseUpdated | PhaseDeleted => (
            json!({"id": 12, "pipeline_id": 3, "name": "Signed", "position": 1, "status": "active",
                   "follow_up_after_days": null, "allowed_next_phase_ids": []}),
            (event_type == PhaseUpdated).then(|| json!({"name": "Contract signed"})),
        ),
        ProjectCreated | ProjectDeleted => (project(7, "proposed", Value::Null), None),
        ProjectUpdated => (
            project(7, "proposed", Value::Null),
            Some(json!({"probability": 20})),
        ),
        ProjectPhaseChanged => (
            project(9, "proposed", Value::Null),
            Some(json!({"phase_id": 8})),
        ),
        ProjectWon => (
            project(10, "won", json!("won")),
            Some(json!({"phase_id": 9, "state": "proposed", "outcome": null})),
        ),
        ProjectLost => (
            project(13, "lost", json!("lost")),
            Some(json!({"phase_id": 9, "state": "proposed", "outcome": null})),
        ),
        ProjectMerged => (
            project(7, "proposed", Value::Null),
            Some(json!({"description": null})),
        ),
        EnquiryCreated | EnquiryDeleted => (enquiry("open"), None),
        EnquiryUpdated => (enquiry("open"), Some(json!({"assignee_id": null}))),
        EnquiryClosed => (
            enquiry("closed"),
            Some(json!({"status": "open", "close_reason": null})),
        ),
        EnquiryReopened => (enquiry("open"), Some(json!({"status": "closed"}))),
        EnquiryConverted => (
            enquiry("converted"),
            Some(
                json!({"status": "open", "company_id": null, "contact_id": null, "project_id": null}),
            ),
        ),
        PostCreated | PostDeleted => (post(), None),
        PostUpdated => (post(), Some(json!({"pinned": false}))),
        CommentCreated | CommentDeleted => (comment(), None),
        CommentUpdated => (comment(), Some(json!({"body": "Well done"}))),
        MeetingCreated | MeetingDeleted | MeetingStarting => (meeting(), None),
        MeetingUpdated => (meeting(), Some(json!({"location": null}))),
        TaskCreated | TaskDeleted | TaskDue => (task("open"), None),
        TaskUpdated => (task("open"), Some(json!({"priority": "normal"}))),
        TaskCompleted => (
            task("done"),
            Some(json!({"status": "open", "done_at": null, "done_by": null})),
        ),
        TaskReopened => (task("open"), Some(json!({"status": "done"}))),
    };
    let record = event_type.record_type();
    let mut data = json!({"object": object});
    if let Some(previous) = previous {
        data["previous"] = previous;
    }
    if matches!(event_type, CompanyMerged | ContactMerged | ProjectMerged) {
        data["merged_ids"] = json!([43, 44]);
    }
    json!({
        "id": 1017,
        "type": event_type.as_str(),
        "occurred_at": "2026-12-01T10:00:00Z",
        "actor": {"user_id": 7, "client_id": null},
        "record": {"type": record.as_str(), "id": object_id(record)},
        "data": data,
    })
}

fn object_id(record: RecordType) -> i64 {
    match record {
        RecordType::Company => 42,
        RecordType::Contact => 9,
        RecordType::Pipeline => 3,
        RecordType::Phase => 12,
        RecordType::Project => 7,
        RecordType::Task => 31,
        RecordType::Meeting => 5,
        RecordType::Post => 8,
        RecordType::Comment => 21,
        RecordType::Enquiry => 14,
        RecordType::Field => 4,
        RecordType::Role => 4,
        RecordType::Unit => 3,
    }
}
