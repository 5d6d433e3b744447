//! Company bodies and the company list's query string.

use chrono::{DateTime, Utc};
use domain::Invalid;
use domain::company::{Company, CompanyFields, CompanyPatch};
use domain::values::{
    Address, Description, DomainName, Email, Label, Name, Phone, SizeBand, WebAddress,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::input::Parser;
use super::{double_option, list_of};

/// A company.
#[derive(Debug, Serialize, ToSchema)]
pub struct CompanyOut {
    #[schema(example = 42)]
    pub id: i64,
    #[schema(example = "Acme Ltd")]
    pub name: String,
    #[schema(example = "acme.com")]
    #[schema(required = true)]
    pub domain: Option<String>,
    #[schema(example = "https://acme.com")]
    #[schema(required = true)]
    pub website: Option<String>,
    #[schema(required = true)]
    pub email: Option<String>,
    #[schema(required = true)]
    pub phone: Option<String>,
    #[schema(example = "Engineering")]
    #[schema(required = true)]
    pub industry: Option<String>,
    /// One of `1-10`, `11-50`, `51-200`, `201-500`, `501-1000`, `1001-5000`, `5001+`.
    #[schema(example = "11-50")]
    #[schema(required = true)]
    #[schema(schema_with = super::schema::size_band_or_null)]
    pub size_band: Option<String>,
    #[schema(required = true)]
    pub address: Option<String>,
    #[schema(required = true)]
    pub description: Option<String>,
    /// The team member who owns the relationship.
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
    /// Whether the company appears on pipeline boards.
    pub show_in_pipeline: bool,
    /// Increases with every change; send it back in `If-Match` as `"<version>"`.
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The pipeline the company is in; `null` outside every pipeline.
    #[schema(required = true)]
    pub pipeline_id: Option<i64>,
    #[schema(required = true)]
    pub phase_id: Option<i64>,
    /// The phase's status: `prospect`, `active`, `latent`; `not_set` outside every pipeline.
    #[schema(example = "prospect")]
    #[schema(schema_with = super::schema::relationship_status)]
    pub relationship_status: String,
    /// `won`, `lost`, or `null`.
    #[schema(required = true)]
    #[schema(schema_with = super::schema::outcome_or_null)]
    pub outcome: Option<String>,
    #[schema(required = true)]
    pub outcome_reason: Option<String>,
    /// When the company entered its current phase.
    #[schema(required = true)]
    pub phase_entered_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub days_in_phase: Option<i64>,
    /// When the company is due for follow-up, from its phase's `follow_up_after_days`.
    #[schema(required = true)]
    pub follow_up_due_at: Option<DateTime<Utc>>,
    pub follow_up_due: bool,
    /// Total time in each phase so far, the current stay included ("time in stage").
    pub time_in_phases: Vec<PhaseTimeOut>,
    /// The company's projects that are not completed, lost or cancelled. Derived from its
    /// projects: not part of the company's `version`, so a project's change does not change
    /// the company's ETag.
    pub open_projects: i64,
    /// The value of its won projects (won, active or completed), per currency in code order.
    /// Derived, as `open_projects`.
    #[schema(max_items = 200)]
    pub won_value: Vec<MoneySumOut>,
    /// When somebody last did something about the company: the latest of a linked task's
    /// completion, a linked meeting's start that has passed and a linked post's creation
    /// ("last contacted"); `null` when none. Derived from its activities: not part of
    /// `version`, so a change of activity does not change the ETag.
    #[schema(required = true)]
    pub last_activity_at: Option<DateTime<Utc>>,
    /// What is planned next about the company: the earliest of a linked open task's due time
    /// (overdue ones included) and a linked meeting's start still to come; `null` when
    /// nothing is. Derived, as `last_activity_at`.
    #[schema(required = true)]
    pub next_activity_at: Option<DateTime<Utc>>,
}

/// A sum of money in one currency.
#[derive(Debug, Serialize, ToSchema)]
pub struct MoneySumOut {
    /// An ISO 4217 code.
    #[schema(example = "EUR", min_length = 3, max_length = 3)]
    pub currency: String,
    /// A decimal string, exact.
    #[schema(example = "250000.00", max_length = 40)]
    pub amount: String,
}

/// Time spent in one phase, over all stays.
#[derive(Debug, Serialize, ToSchema)]
pub struct PhaseTimeOut {
    pub phase_id: i64,
    pub seconds: i64,
}

impl From<Company> for CompanyOut {
    fn from(c: Company) -> Self {
        let now = Utc::now();
        CompanyOut {
            pipeline_id: c.place.pipeline_id,
            phase_id: c.place.phase_id,
            relationship_status: c.place.status.as_str().to_owned(),
            outcome: c.place.outcome.map(|o| o.as_str().to_owned()),
            days_in_phase: c.place.days_in_phase(now),
            follow_up_due: c.place.follow_up_due(now),
            follow_up_due_at: c.place.follow_up_due_at,
            phase_entered_at: c.place.phase_entered_at,
            outcome_reason: c.place.outcome_reason,
            time_in_phases: c
                .time_in_phases
                .into_iter()
                .map(|t| PhaseTimeOut {
                    phase_id: t.phase_id,
                    seconds: t.seconds,
                })
                .collect(),
            last_activity_at: c.activity.last_at,
            next_activity_at: c.activity.next_at,
            open_projects: c.projects.open,
            won_value: c
                .projects
                .won_value
                .into_iter()
                .map(|(currency, units)| MoneySumOut {
                    amount: domain::project::format_units(
                        units,
                        domain::project::Currency::minor_digits(&currency),
                    ),
                    currency,
                })
                .collect(),
            id: c.id,
            name: c.name,
            domain: c.domain,
            website: c.website,
            email: c.email,
            phone: c.phone,
            industry: c.industry,
            size_band: c.size_band,
            address: c.address,
            description: c.description,
            owner_id: c.owner_id,
            unit_id: c.unit_id,
            tags: c.tags,
            custom_fields: c.custom_fields,
            show_in_pipeline: c.show_in_pipeline,
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

list_of!(CompanyList, CompanyOut, "companies");

/// A new company. Only `name` is required; blank optional text means no value.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyCreate {
    /// 1 to 200 characters.
    #[schema(example = "Acme Ltd")]
    #[schema(max_length = 200)]
    pub name: String,
    /// A domain name such as `acme.com`.
    #[schema(example = "acme.com")]
    #[schema(max_length = 253)]
    pub domain: Option<String>,
    /// An `http` or `https` address.
    #[schema(max_length = 2048)]
    pub website: Option<String>,
    #[schema(format = Email)]
    #[schema(schema_with = super::schema::email_input)]
    pub email: Option<String>,
    /// Up to 50 characters.
    #[schema(max_length = 50)]
    pub phone: Option<String>,
    /// Up to 100 characters.
    #[schema(max_length = 100)]
    pub industry: Option<String>,
    /// One of `1-10`, `11-50`, `51-200`, `201-500`, `501-1000`, `1001-5000`, `5001+`.
    #[schema(schema_with = super::schema::size_band_input)]
    pub size_band: Option<String>,
    /// Up to 1,000 characters; line breaks allowed.
    #[schema(max_length = 1000)]
    pub address: Option<String>,
    /// Up to 10,000 characters; line breaks allowed.
    #[schema(max_length = 10000)]
    pub description: Option<String>,
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
    /// Defaults to `true`.
    pub show_in_pipeline: Option<bool>,
    /// Place the company straight into this phase (its first history row). Later moves go
    /// through `POST /v1/companies/{id}/transitions`.
    #[schema(minimum = 1)]
    pub phase_id: Option<i64>,
}

impl CompanyCreate {
    pub fn into_fields(self) -> Result<CompanyFields, Invalid> {
        let mut p = Parser::default();
        let name = p.required("name", &self.name, Name::parse);
        let domain = p.optional("domain", self.domain.as_deref(), DomainName::parse);
        let website = p.optional("website", self.website.as_deref(), WebAddress::parse);
        let email = p.optional("email", self.email.as_deref(), Email::parse);
        let phone = p.optional("phone", self.phone.as_deref(), Phone::parse);
        let industry = p.optional("industry", self.industry.as_deref(), Label::parse);
        let size_band = p.optional("size_band", self.size_band.as_deref(), SizeBand::parse);
        let address = p.optional("address", self.address.as_deref(), Address::parse);
        let description = p.optional(
            "description",
            self.description.as_deref(),
            Description::parse,
        );
        let owner_id = p.id("owner_id", self.owner_id);
        let unit_id = p.id("unit_id", self.unit_id);
        let tags = p.tags(self.tags.as_deref());
        let custom_fields = p.custom_fields(self.custom_fields.as_ref());
        p.build(match (name, tags, custom_fields) {
            (Some(name), Some(tags), Some(custom_fields)) => Some(CompanyFields {
                name,
                domain,
                website,
                email,
                phone,
                industry,
                size_band,
                address,
                description,
                owner_id,
                unit_id,
                tags,
                custom_fields,
                show_in_pipeline: self.show_in_pipeline.unwrap_or(true),
            }),
            _ => None,
        })
    }
}

/// Changes to a company: absent fields stay as they are, `null` clears a field.
/// `custom_fields` is merged key by key (a key set to `null` is removed); `tags` replaces the list.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CompanyUpdate {
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    #[schema(max_length = 200)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    #[schema(max_length = 253)]
    pub domain: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    #[schema(max_length = 2048)]
    pub website: Option<Option<String>>,
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
    pub industry: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = super::schema::size_band_input)]
    pub size_band: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    #[schema(max_length = 1000)]
    pub address: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    #[schema(max_length = 10000)]
    pub description: Option<Option<String>>,
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
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    pub show_in_pipeline: Option<bool>,
}

impl CompanyUpdate {
    pub fn into_patch(self) -> Result<CompanyPatch, Invalid> {
        let mut p = Parser::default();
        let patch = CompanyPatch {
            name: p.patch_required("name", self.name.as_deref(), Name::parse),
            domain: p.patch(
                "domain",
                self.domain.as_ref().map(Option::as_deref),
                DomainName::parse,
            ),
            website: p.patch(
                "website",
                self.website.as_ref().map(Option::as_deref),
                WebAddress::parse,
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
            industry: p.patch(
                "industry",
                self.industry.as_ref().map(Option::as_deref),
                Label::parse,
            ),
            size_band: p.patch(
                "size_band",
                self.size_band.as_ref().map(Option::as_deref),
                SizeBand::parse,
            ),
            address: p.patch(
                "address",
                self.address.as_ref().map(Option::as_deref),
                Address::parse,
            ),
            description: p.patch(
                "description",
                self.description.as_ref().map(Option::as_deref),
                Description::parse,
            ),
            owner_id: self.owner_id.map(|owner| p.id("owner_id", owner)),
            unit_id: self.unit_id.map(|unit| p.id("unit_id", unit)),
            tags: p.tags_patch(self.tags.as_ref().map(Option::as_deref)),
            custom_fields: p.custom_fields_patch(self.custom_fields),
            show_in_pipeline: self.show_in_pipeline,
        };
        p.finish()?;
        Ok(patch)
    }
}

/// Filters, order and page of the company list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CompanyListQuery {
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
    /// `phase_entered_at` or `follow_up_due_at`; prefix `-` for descending. Sorting by one of
    /// the last four leaves out the companies without it. Default `-created_at`.
    #[param(schema_with = super::schema::company_sort)]
    pub sort: Option<String>,
    /// Name, domain or email contains this text, ignoring case.
    pub q: Option<String>,
    pub owner_id: Option<i64>,
    /// Has this tag (exact match).
    pub tag: Option<String>,
    /// Has this industry (exact match).
    pub industry: Option<String>,
    /// Created at or after this RFC 3339 time.
    pub created_since: Option<DateTime<Utc>>,
    /// Changed at or after this RFC 3339 time.
    pub updated_since: Option<DateTime<Utc>>,
    pub pipeline_id: Option<i64>,
    pub phase_id: Option<i64>,
    /// `prospect`, `active`, `latent` or `not_set`.
    #[param(schema_with = super::schema::relationship_status)]
    pub relationship_status: Option<String>,
    /// `won` or `lost`.
    #[param(schema_with = super::schema::outcome)]
    pub outcome: Option<String>,
    /// `true`: only companies due for follow-up; `false`: only those not due.
    pub follow_up_due: Option<bool>,
    /// `true`: only companies shown on boards; `false`: only hidden ones.
    pub show_in_pipeline: Option<bool>,
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
