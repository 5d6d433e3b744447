//! Schemas of the fixed value sets, built from the domain's own lists, for `schema_with` on
//! the wire fields that carry them: the spec's `enum`s cannot drift from what the server
//! accepts and sends.

use domain::access::{Role, Scope};
use domain::event::{EventType, RecordType};
use domain::listing::SortField;
use domain::oauth::{ClientType, GrantType};
use domain::pipeline::{Outcome, RecordKind, Status};
use domain::token::TokenKind;
use domain::values::SizeBand;
use domain::webhook::DeliveryStatus;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{Array, Object};

/// A string that is one of `values`; with `nullable`, `null` too.
fn one_of<S: Into<String>>(values: impl IntoIterator<Item = S>, nullable: bool) -> Object {
    let mut values: Vec<serde_json::Value> = values
        .into_iter()
        .map(|v| serde_json::Value::String(v.into()))
        .collect();
    let schema_type = if nullable {
        values.push(serde_json::Value::Null);
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::Type(Type::String)
    };
    ObjectBuilder::new()
        .schema_type(schema_type)
        .enum_values(Some(values))
        .build()
}

/// A list of distinct strings, each one of `values`.
fn list_of<S: Into<String>>(values: impl IntoIterator<Item = S>, max_items: usize) -> Array {
    ArrayBuilder::new()
        .items(one_of(values, false))
        .unique_items(true)
        .max_items(Some(max_items))
        .build()
}

fn statuses(list: &[Status]) -> impl Iterator<Item = &'static str> + '_ {
    list.iter().map(|s| s.as_str())
}

pub(crate) fn size_band_or_null() -> Object {
    one_of(SizeBand::ALL.iter().map(|b| b.as_str()), true)
}
pub(crate) fn phase_status() -> Object {
    one_of(statuses(&Status::PHASE), false)
}
pub(crate) fn relationship_status() -> Object {
    one_of(statuses(&Status::RELATIONSHIP), false)
}
pub(crate) fn outcome() -> Object {
    one_of(Outcome::ALL.iter().map(|o| o.as_str()), false)
}
pub(crate) fn outcome_or_null() -> Object {
    one_of(Outcome::ALL.iter().map(|o| o.as_str()), true)
}
pub(crate) fn role() -> Object {
    one_of(Role::ALL.iter().map(|r| r.as_str()), false)
}
pub(crate) fn token_kind() -> Object {
    one_of(TokenKind::ALL.iter().map(|k| k.as_str()), false)
}
/// The credentials `/v1/me` may report: the token kinds (but calendar tokens, which read
/// their feed alone), and OAuth access tokens.
pub(crate) fn credential_kind() -> Object {
    one_of(
        TokenKind::ALL
            .iter()
            .filter(|k| **k != TokenKind::Calendar)
            .map(|k| k.as_str())
            .chain(std::iter::once("oauth")),
        false,
    )
}
pub(crate) fn scopes() -> Array {
    list_of(
        Scope::all().iter().map(ToString::to_string),
        Scope::all().len(),
    )
}
pub(crate) fn client_type() -> Object {
    one_of(ClientType::ALL.iter().map(|c| c.as_str()), false)
}
pub(crate) fn grant_types() -> Array {
    list_of(
        GrantType::ALL.iter().map(|g| g.as_str()),
        GrantType::ALL.len(),
    )
}
/// An event's type: one of the feed's, or `webhook.test` for a subscription's test ping.
pub(crate) fn delivery_event_type() -> Object {
    one_of(
        EventType::ALL
            .iter()
            .map(|e| e.as_str())
            .chain(std::iter::once(domain::webhook::TEST_EVENT_TYPE)),
        false,
    )
}
pub(crate) fn event_types() -> Array {
    list_of(
        EventType::ALL.iter().map(|e| e.as_str()),
        EventType::ALL.len(),
    )
}
/// Any state a record may be in: every phase state, and `not_set` outside every pipeline.
pub(crate) fn any_state() -> Object {
    one_of(
        statuses(&Status::PHASE).chain(std::iter::once(Status::NotSet.as_str())),
        false,
    )
}
/// A project's state: a project phase's, or `not_set` outside every pipeline.
pub(crate) fn project_state() -> Object {
    one_of(
        statuses(RecordKind::Project.phase_states())
            .chain(std::iter::once(Status::NotSet.as_str())),
        false,
    )
}
pub(crate) fn contact_role() -> Object {
    one_of(
        domain::project::ContactRole::ALL.iter().map(|r| r.as_str()),
        false,
    )
}
pub(crate) fn pipeline_record_type() -> Object {
    one_of(RecordKind::ALL.iter().map(|k| k.as_str()), false)
}
pub(crate) fn record_type() -> Object {
    one_of(RecordType::ALL.iter().map(|r| r.as_str()), false)
}
pub(crate) fn link_type() -> Object {
    one_of(
        domain::links::LinkType::ALL.iter().map(|t| t.as_str()),
        false,
    )
}
pub(crate) fn priority() -> Object {
    one_of(
        domain::task::Priority::ALL.iter().map(|p| p.as_str()),
        false,
    )
}
pub(crate) fn task_status() -> Object {
    one_of(
        domain::task::TaskStatus::ALL.iter().map(|s| s.as_str()),
        false,
    )
}
pub(crate) fn task_sort() -> Object {
    one_of(SortField::sort_keys(&SortField::TASK), false)
}
pub(crate) fn response() -> Object {
    one_of(
        domain::meeting::Response::ALL.iter().map(|r| r.as_str()),
        false,
    )
}
pub(crate) fn meeting_sort() -> Object {
    one_of(SortField::sort_keys(&SortField::MEETING), false)
}
pub(crate) fn post_sort() -> Object {
    one_of(SortField::sort_keys(&SortField::POST), false)
}
pub(crate) fn enquiry_source() -> Object {
    one_of(
        domain::enquiry::Source::ALL.iter().map(|s| s.as_str()),
        false,
    )
}
pub(crate) fn enquiry_status() -> Object {
    one_of(
        domain::enquiry::EnquiryStatus::ALL
            .iter()
            .map(|s| s.as_str()),
        false,
    )
}
pub(crate) fn enquiry_sort() -> Object {
    one_of(SortField::sort_keys(&SortField::ENQUIRY), false)
}
pub(crate) fn delivery_status() -> Object {
    one_of(DeliveryStatus::ALL.iter().map(|d| d.as_str()), false)
}
pub(crate) fn company_sort() -> Object {
    one_of(SortField::sort_keys(&SortField::COMPANY), false)
}
pub(crate) fn project_sort() -> Object {
    one_of(SortField::sort_keys(&SortField::PROJECT), false)
}
pub(crate) fn record_sort() -> Object {
    one_of(SortField::sort_keys(&SortField::COMMON), false)
}

/// A request field that takes one of `values`, or blank or `null` for none (integration
/// platforms send `""` for an unmapped field).
fn one_of_or_blank<S: Into<String>>(values: impl IntoIterator<Item = S>) -> Object {
    one_of(
        values
            .into_iter()
            .map(Into::into)
            .chain(std::iter::once(String::new())),
        true,
    )
}

pub(crate) fn size_band_input() -> Object {
    one_of_or_blank(SizeBand::ALL.iter().map(|b| b.as_str()))
}

/// An email address, or blank or `null` for none.
pub(crate) fn email_input() -> utoipa::openapi::schema::Schema {
    let any = utoipa::openapi::schema::AnyOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::String))
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::Email,
                )))
                .max_length(Some(domain::values::Email::MAX_CHARS)),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::String))
                .max_length(Some(0)),
        )
        .item(ObjectBuilder::new().schema_type(SchemaType::Type(Type::Null)))
        .description(Some("An email address; blank or `null` for none"))
        .build();
    utoipa::openapi::schema::Schema::AnyOf(any)
}

/// `action` of a move (`wire::transitions::MoveRequest::into_move` reads them).
pub(crate) fn move_action() -> Object {
    one_of(["reopen", "remove"], false)
}
/// Who made a move (`wire::transitions::ActorOut`).
pub(crate) fn actor_kind() -> Object {
    one_of(["user", "client_app"], false)
}
/// An import's mode (`wire::import::ImportQuery::mode`).
pub(crate) fn import_mode() -> Object {
    one_of(["insert", "upsert"], false)
}
/// What became of an import row (`wire::import::ImportRowOut`).
pub(crate) fn import_row_status() -> Object {
    one_of(["created", "updated", "failed", "skipped"], false)
}

/// A record's tags: at most `Tags::MAX`, each 1 to 50 characters without commas; `null` on
/// create means none, in a patch it clears them.
pub(crate) fn tags() -> Array {
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::String))
                .min_length(Some(1))
                .max_length(Some(50))
                .pattern(Some("^[^,]*$")),
        )
        .max_items(Some(domain::values::Tags::MAX))
        .build()
}
/// Why a team member follows a record; `null` when they do not.
pub(crate) fn follow_reason_or_null() -> Object {
    one_of(
        domain::feed::FollowReason::ALL.iter().map(|r| r.as_str()),
        true,
    )
}
pub(crate) fn followable() -> Object {
    one_of(
        domain::feed::Followable::ALL.iter().map(|r| r.as_str()),
        false,
    )
}
pub(crate) fn field_record_type() -> Object {
    one_of(
        domain::fields::FieldRecordType::ALL
            .iter()
            .map(|t| t.as_str()),
        false,
    )
}
pub(crate) fn field_record_type_or_null() -> Object {
    one_of(
        domain::fields::FieldRecordType::ALL
            .iter()
            .map(|t| t.as_str()),
        true,
    )
}
pub(crate) fn field_type() -> Object {
    one_of(
        domain::fields::FieldType::ALL.iter().map(|t| t.as_str()),
        false,
    )
}
pub(crate) fn search_type() -> Object {
    one_of(
        domain::search::SearchType::ALL.iter().map(|t| t.as_str()),
        false,
    )
}
pub(crate) fn search_types() -> Array {
    list_of(
        domain::search::SearchType::ALL.iter().map(|t| t.as_str()),
        domain::search::SearchType::ALL.len(),
    )
}
pub(crate) fn view_visibility() -> Object {
    one_of(
        domain::views::Visibility::ALL.iter().map(|v| v.as_str()),
        false,
    )
}
pub(crate) fn list_kind() -> Object {
    one_of(["static", "dynamic"], false)
}
pub(crate) fn visibility() -> Object {
    one_of(
        domain::roles::Visibility::ALL.iter().map(|v| v.as_str()),
        false,
    )
}
pub(crate) fn unit_kind() -> Object {
    one_of(
        domain::units::UnitKind::ALL.iter().map(|k| k.as_str()),
        false,
    )
}
pub(crate) fn field_access() -> Object {
    one_of(domain::roles::Access::ALL.iter().map(|a| a.as_str()), false)
}
/// The rights a role may hold: every scope; `admin` only the built-in admin role holds.
pub(crate) fn role_rights() -> Array {
    scopes()
}
pub(crate) fn rollup_function() -> Object {
    one_of(
        domain::computed::RollupFunction::ALL
            .iter()
            .map(|f| f.as_str()),
        false,
    )
}
