//! Companies: the record every pipeline is about.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::links::ActivityDates;
use crate::pipeline::{Outcome, Status};
use crate::validation::ValueError;
use crate::values::{
    Address, CustomFields, Description, DomainName, Email, Label, Name, Phone, SizeBand, Tags,
    WebAddress,
};

/// A company as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Company {
    pub id: i64,
    pub account_id: i64,
    pub name: String,
    pub domain: Option<String>,
    pub website: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub industry: Option<String>,
    pub size_band: Option<String>,
    pub address: Option<String>,
    pub description: Option<String>,
    pub owner_id: Option<i64>,
    /// The unit it belongs to (`/v1/units`): by default its owner's primary unit.
    pub unit_id: Option<i64>,
    pub tags: Vec<String>,
    pub custom_fields: Map<String, Value>,
    pub show_in_pipeline: bool,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub place: CompanyPlace,
    /// Total time spent in each phase so far, the current stay included.
    pub time_in_phases: Vec<PhaseTime>,
    /// What its projects add up to: derived from them, not part of the company's version.
    pub projects: ProjectTotals,
    /// Its last and next activity: derived, not part of its version.
    pub activity: ActivityDates,
}

/// What a company's projects add up to.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProjectTotals {
    /// Projects not completed, lost or cancelled.
    pub open: i64,
    /// The value of the projects won (in a won, active or completed state), per currency in
    /// code order, in ten-thousandths.
    pub won_value: Vec<(String, i128)>,
}

/// Where a company stands in the pipelines.
#[derive(Debug, Clone, PartialEq)]
pub struct CompanyPlace {
    pub pipeline_id: Option<i64>,
    pub phase_id: Option<i64>,
    pub status: Status,
    pub outcome: Option<Outcome>,
    pub outcome_reason: Option<String>,
    pub phase_entered_at: Option<DateTime<Utc>>,
    pub follow_up_due_at: Option<DateTime<Utc>>,
}

impl CompanyPlace {
    /// Whole days in the current phase at `now`.
    pub fn days_in_phase(&self, now: DateTime<Utc>) -> Option<i64> {
        self.phase_entered_at.map(|t| (now - t).num_days().max(0))
    }

    pub fn follow_up_due(&self, now: DateTime<Utc>) -> bool {
        self.follow_up_due_at.is_some_and(|t| t <= now)
    }
}

/// Time a company has spent in one phase, over all its stays there.
#[derive(Debug, Clone, PartialEq)]
pub struct PhaseTime {
    pub phase_id: i64,
    pub seconds: i64,
}

/// Everything a company holds that a caller may write, already valid.
#[derive(Debug, Clone, PartialEq)]
pub struct CompanyFields {
    pub name: Name,
    pub domain: Option<DomainName>,
    pub website: Option<WebAddress>,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub industry: Option<Label>,
    pub size_band: Option<SizeBand>,
    pub address: Option<Address>,
    pub description: Option<Description>,
    pub owner_id: Option<i64>,
    /// `None` on create: the owner's primary unit, else the creator's.
    pub unit_id: Option<i64>,
    pub tags: Tags,
    pub custom_fields: CustomFields,
    pub show_in_pipeline: bool,
}

/// A partial update: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CompanyPatch {
    pub name: Option<Name>,
    pub domain: Option<Option<DomainName>>,
    pub website: Option<Option<WebAddress>>,
    pub email: Option<Option<Email>>,
    pub phone: Option<Option<Phone>>,
    pub industry: Option<Option<Label>>,
    pub size_band: Option<Option<SizeBand>>,
    pub address: Option<Option<Address>>,
    pub description: Option<Option<Description>>,
    pub owner_id: Option<Option<i64>>,
    pub unit_id: Option<Option<i64>>,
    pub tags: Option<Tags>,
    /// A merge patch of the custom fields: `null` removes a key.
    pub custom_fields: Option<Map<String, Value>>,
    pub show_in_pipeline: Option<bool>,
}

impl CompanyPatch {
    /// The owner the patch sets, when it sets one: it must be checked against the account.
    pub fn new_owner(&self) -> Option<i64> {
        self.owner_id.flatten()
    }

    /// The company's writable fields after the patch.
    pub fn apply(self, current: &Company) -> Result<CompanyFields, ValueError> {
        fn keep<T>(
            patch: Option<Option<T>>,
            stored: &Option<String>,
            from: fn(String) -> T,
        ) -> Option<T> {
            patch.unwrap_or_else(|| stored.clone().map(from))
        }
        Ok(CompanyFields {
            name: self
                .name
                .unwrap_or_else(|| Name::from_stored(current.name.clone())),
            domain: keep(self.domain, &current.domain, DomainName::from_stored),
            website: keep(self.website, &current.website, WebAddress::from_stored),
            email: keep(self.email, &current.email, Email::from_stored),
            phone: keep(self.phone, &current.phone, Phone::from_stored),
            industry: keep(self.industry, &current.industry, Label::from_stored),
            size_band: self
                .size_band
                .unwrap_or_else(|| current.size_band.as_deref().and_then(SizeBand::from_stored)),
            address: keep(self.address, &current.address, Address::from_stored),
            description: keep(
                self.description,
                &current.description,
                Description::from_stored,
            ),
            owner_id: self.owner_id.unwrap_or(current.owner_id),
            unit_id: self.unit_id.unwrap_or(current.unit_id),
            tags: self
                .tags
                .unwrap_or_else(|| Tags::from_stored(current.tags.clone())),
            custom_fields: {
                let stored = CustomFields::from_stored(current.custom_fields.clone());
                match &self.custom_fields {
                    Some(patch) => stored.merge(patch)?,
                    None => stored,
                }
            },
            show_in_pipeline: self.show_in_pipeline.unwrap_or(current.show_in_pipeline),
        })
    }
}
