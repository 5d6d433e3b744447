//! Unit bodies: an account's teams, territories and subsidiaries, and a team member's units.

use chrono::{DateTime, Utc};
use domain::Invalid;
use domain::units::{Memberships, Unit, UnitKind, UnitSpec};
use domain::values::Description;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{double_option, list_of};

/// A unit: a team, territory, subsidiary or department, in a tree.
#[derive(Debug, Serialize, ToSchema)]
pub struct UnitOut {
    #[schema(example = 3)]
    pub id: i64,
    #[schema(example = "Nordics")]
    pub name: String,
    #[schema(schema_with = super::schema::unit_kind)]
    pub kind: String,
    /// The unit above it; `null` for a root.
    #[schema(required = true)]
    pub parent_id: Option<i64>,
    #[schema(required = true)]
    pub description: Option<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Unit> for UnitOut {
    fn from(u: Unit) -> Self {
        UnitOut {
            id: u.id,
            name: u.spec.name,
            kind: u.spec.kind.as_str().to_owned(),
            parent_id: u.spec.parent_id,
            description: u.spec.description,
            version: u.version,
            created_at: u.created_at,
            updated_at: u.updated_at,
        }
    }
}

list_of!(UnitList, UnitOut, "units");

/// A new unit.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitCreate {
    /// Unique in the account, whatever the case; 1 to 100 characters.
    #[schema(example = "Nordics", max_length = 100)]
    pub name: String,
    /// Default `team`.
    #[schema(schema_with = super::schema::unit_kind)]
    pub kind: Option<String>,
    /// The unit to hang it under; absent for a root. Units nest at most 16 deep.
    #[schema(minimum = 1)]
    pub parent_id: Option<i64>,
    #[schema(max_length = 10000)]
    pub description: Option<String>,
}

fn parse_kind(invalid: &mut Invalid, raw: Option<&str>, default: UnitKind) -> UnitKind {
    raw.and_then(|k| invalid.check("kind", UnitKind::parse(k)))
        .unwrap_or(default)
}

fn parse_description(invalid: &mut Invalid, raw: Option<&str>) -> Option<String> {
    raw.filter(|d| !d.trim().is_empty())
        .and_then(|d| invalid.check("description", Description::parse(d)))
        .map(|d| d.as_str().to_owned())
}

impl UnitCreate {
    pub fn into_spec(self) -> Result<UnitSpec, Invalid> {
        let mut invalid = Invalid::default();
        let spec = UnitSpec {
            kind: parse_kind(&mut invalid, self.kind.as_deref(), UnitKind::Team),
            description: parse_description(&mut invalid, self.description.as_deref()),
            name: self.name,
            parent_id: self.parent_id,
        };
        invalid.into_result()?;
        spec.check()?;
        Ok(spec)
    }
}

/// Changes to a unit: absent parts stay. A new `parent_id` moves the unit with its subtree;
/// `null` makes it a root.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitUpdate {
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, schema_with = super::schema::unit_kind)]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub parent_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 10000)]
    pub description: Option<Option<String>>,
}

impl UnitUpdate {
    /// The unit after this change.
    pub fn apply(&self, current: &Unit) -> Result<UnitSpec, Invalid> {
        let mut invalid = Invalid::default();
        let mut spec = current.spec.clone();
        if let Some(name) = &self.name {
            spec.name = name.clone();
        }
        spec.kind = parse_kind(&mut invalid, self.kind.as_deref(), spec.kind);
        if let Some(parent) = self.parent_id {
            spec.parent_id = parent;
        }
        if let Some(description) = &self.description {
            spec.description = parse_description(&mut invalid, description.as_deref());
        }
        invalid.into_result().map(|()| spec)
    }
}

/// Which units list: the children of one unit, or every unit.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct UnitListQuery {
    /// Records per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Only the units directly below this one.
    #[param(minimum = 1)]
    pub parent_id: Option<i64>,
}

/// The units a team member belongs to: what a role that sees `unit` or `unit_and_below`
/// shows them, and where the records they own go by default.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembershipsBody {
    /// Their primary unit: new records they own go in it unless the body names one.
    #[schema(required = true, minimum = 1)]
    pub primary_unit_id: Option<i64>,
    /// Their other units, each once; at most 50.
    #[serde(default)]
    #[schema(max_items = 50)]
    pub unit_ids: Vec<i64>,
}

impl From<Memberships> for MembershipsBody {
    fn from(m: Memberships) -> Self {
        MembershipsBody {
            primary_unit_id: m.primary,
            unit_ids: m.secondary,
        }
    }
}

impl From<MembershipsBody> for Memberships {
    fn from(b: MembershipsBody) -> Self {
        Memberships {
            primary: b.primary_unit_id,
            secondary: b.unit_ids,
        }
    }
}
