//! Contact bodies and the contact list's query string.

use chrono::{DateTime, Utc};
use domain::Invalid;
use domain::contact::{Contact, ContactFields, ContactPatch};
use domain::values::{Email, Label, Name, Phone};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::input::Parser;
use super::{double_option, list_of};

/// A contact: a person, usually at a company.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactOut {
    #[schema(example = 7)]
    pub id: i64,
    #[schema(example = "Ana")]
    pub first_name: String,
    #[schema(example = "Lima")]
    #[schema(required = true)]
    pub last_name: Option<String>,
    #[schema(example = "ana@acme.com")]
    #[schema(required = true)]
    pub email: Option<String>,
    #[schema(required = true)]
    pub phone: Option<String>,
    #[schema(example = "Head of Operations")]
    #[schema(required = true)]
    pub job_title: Option<String>,
    /// The company the contact works at.
    #[schema(required = true)]
    pub company_id: Option<i64>,
    /// The contact this one reports to (the org chart).
    #[schema(required = true)]
    pub reports_to_id: Option<i64>,
    #[schema(required = true)]
    pub owner_id: Option<i64>,
    /// The unit it belongs to (`/v1/units`): what unit-limited roles see it by.
    #[schema(required = true)]
    pub unit_id: Option<i64>,
    pub tags: Vec<String>,
    /// The custom fields' values, by key. Lookup and rollup fields are computed when the
    /// record is read (read-only: a write that names one is refused with 422).
    #[schema(value_type = Object)]
    pub custom_fields: Map<String, Value>,
    /// Increases with every change; send it back in `If-Match` as `"<version>"`.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When somebody last did something about the contact: the latest of a linked task's
    /// completion, a linked meeting's start that has passed and a linked post's creation
    /// ("last contacted"); `null` when none. Derived from its activities: not part of
    /// `version`, so a change of activity does not change the ETag.
    #[schema(required = true)]
    pub last_activity_at: Option<DateTime<Utc>>,
    /// What is planned next about the contact: the earliest of a linked open task's due time
    /// (overdue ones included) and a linked meeting's start still to come; `null` when
    /// nothing is. Derived, as `last_activity_at`.
    #[schema(required = true)]
    pub next_activity_at: Option<DateTime<Utc>>,
}

impl From<Contact> for ContactOut {
    fn from(c: Contact) -> Self {
        ContactOut {
            id: c.id,
            first_name: c.first_name,
            last_name: c.last_name,
            email: c.email,
            phone: c.phone,
            job_title: c.job_title,
            company_id: c.company_id,
            reports_to_id: c.reports_to_id,
            owner_id: c.owner_id,
            unit_id: c.unit_id,
            tags: c.tags,
            custom_fields: c.custom_fields,
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
            last_activity_at: c.activity.last_at,
            next_activity_at: c.activity.next_at,
        }
    }
}

list_of!(ContactList, ContactOut, "contacts");

/// A new contact. Only `first_name` is required; blank optional text means no value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactCreate {
    /// 1 to 200 characters.
    #[schema(example = "Ana")]
    #[schema(max_length = 200)]
    pub first_name: String,
    #[schema(max_length = 200)]
    pub last_name: Option<String>,
    #[schema(format = Email)]
    #[schema(schema_with = super::schema::email_input)]
    pub email: Option<String>,
    #[schema(max_length = 50)]
    pub phone: Option<String>,
    /// Up to 100 characters.
    #[schema(max_length = 100)]
    pub job_title: Option<String>,
    /// A company of the account.
    #[schema(minimum = 1)]
    pub company_id: Option<i64>,
    /// A contact of the account; the org chart may not loop.
    #[schema(minimum = 1)]
    pub reports_to_id: Option<i64>,
    /// An active team member of the account.
    #[schema(minimum = 1)]
    pub owner_id: Option<i64>,
    /// A unit of the account (`/v1/units`). Defaults to the owner's primary unit, else
    /// yours.
    #[schema(minimum = 1)]
    pub unit_id: Option<i64>,
    /// At most 50 tags of 1 to 50 characters, without commas.
    #[schema(schema_with = super::schema::tags)]
    pub tags: Option<Vec<String>>,
    /// A JSON object of at most 100 keys and 16 KiB.
    #[serde(default, deserialize_with = "super::strict_json::optional")]
    #[schema(value_type = Option<Object>)]
    pub custom_fields: Option<Value>,
}

impl ContactCreate {
    pub fn into_fields(self) -> Result<ContactFields, Invalid> {
        let mut p = Parser::default();
        let first_name = p.required("first_name", &self.first_name, Name::parse);
        let last_name = p.optional("last_name", self.last_name.as_deref(), Name::parse);
        let email = p.optional("email", self.email.as_deref(), Email::parse);
        let phone = p.optional("phone", self.phone.as_deref(), Phone::parse);
        let job_title = p.optional("job_title", self.job_title.as_deref(), Label::parse);
        let company_id = p.id("company_id", self.company_id);
        let reports_to_id = p.id("reports_to_id", self.reports_to_id);
        let owner_id = p.id("owner_id", self.owner_id);
        let unit_id = p.id("unit_id", self.unit_id);
        let tags = p.tags(self.tags.as_deref());
        let custom_fields = p.custom_fields(self.custom_fields.as_ref());
        p.build(match (first_name, tags, custom_fields) {
            (Some(first_name), Some(tags), Some(custom_fields)) => Some(ContactFields {
                first_name,
                last_name,
                email,
                phone,
                job_title,
                company_id,
                reports_to_id,
                owner_id,
                unit_id,
                tags,
                custom_fields,
            }),
            _ => None,
        })
    }
}

/// Changes to a contact: absent fields stay as they are, `null` clears a field.
/// `custom_fields` is merged key by key (a key set to `null` is removed); `tags` replaces the list.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ContactUpdate {
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    #[schema(max_length = 200)]
    pub first_name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    #[schema(max_length = 200)]
    pub last_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = super::schema::email_input)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    #[schema(max_length = 50)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    #[schema(max_length = 100)]
    pub job_title: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub company_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub reports_to_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub owner_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub unit_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = super::schema::tags)]
    pub tags: Option<Option<Vec<String>>>,
    #[serde(default, deserialize_with = "super::strict_json::patch")]
    #[schema(value_type = Option<Object>)]
    pub custom_fields: Option<Option<Value>>,
}

impl ContactUpdate {
    pub fn into_patch(self) -> Result<ContactPatch, Invalid> {
        let mut p = Parser::default();
        let patch = ContactPatch {
            first_name: p.patch_required("first_name", self.first_name.as_deref(), Name::parse),
            last_name: p.patch(
                "last_name",
                self.last_name.as_ref().map(Option::as_deref),
                Name::parse,
            ),
            email: p.patch(
                "email",
                self.email.as_ref().map(Option::as_deref),
                Email::parse,
            ),
            phone: p.patch(
                "phone",
                self.phone.as_ref().map(Option::as_deref),
                Phone::parse,
            ),
            job_title: p.patch(
                "job_title",
                self.job_title.as_ref().map(Option::as_deref),
                Label::parse,
            ),
            company_id: self.company_id.map(|id| p.id("company_id", id)),
            reports_to_id: self.reports_to_id.map(|id| p.id("reports_to_id", id)),
            owner_id: self.owner_id.map(|id| p.id("owner_id", id)),
            unit_id: self.unit_id.map(|id| p.id("unit_id", id)),
            tags: p.tags_patch(self.tags.as_ref().map(Option::as_deref)),
            custom_fields: p.custom_fields_patch(self.custom_fields),
        };
        p.finish()?;
        Ok(patch)
    }
}

/// Filters, order and page of the contact list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ContactListQuery {
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
    /// `created_at`, `updated_at`, `name`, `last_activity_at` or `next_activity_at`; prefix
    /// `-` for descending. Sorting by an activity leaves out the contacts without one.
    /// Default `-created_at`.
    #[param(schema_with = super::schema::record_sort)]
    pub sort: Option<String>,
    /// Name or email contains this text, ignoring case.
    pub q: Option<String>,
    pub owner_id: Option<i64>,
    /// Has this tag (exact match).
    pub tag: Option<String>,
    /// Works at this company.
    pub company_id: Option<i64>,
    /// Has exactly this email, ignoring case.
    pub email: Option<String>,
    /// Works at a company of this industry (exact match).
    pub industry: Option<String>,
    /// Created at or after this RFC 3339 time.
    pub created_since: Option<DateTime<Utc>>,
    /// Changed at or after this RFC 3339 time.
    pub updated_since: Option<DateTime<Utc>>,
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
