//! Role bodies: a role's rights, field rules and visibility.

use chrono::{DateTime, Utc};
use domain::Invalid;
use domain::access::ScopeSet;
use domain::fields::FieldRecordType;
use domain::roles::{self, Access, FieldRule, RoleDef, RoleSpec, Visibility};
use domain::values::Description;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::double_option;
use super::list_of;

/// What a role's members may do with one field of a record type.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldRuleBody {
    #[schema(schema_with = super::schema::field_record_type)]
    pub record_type: String,
    /// A built-in field (`industry`, `value`, `email`, ...) or `custom_fields.<key>` of a
    /// defined custom field.
    #[schema(example = "custom_fields.fee_rate", max_length = 70)]
    pub field: String,
    /// `hidden`: absent from every response, event, feed entry and webhook delivery the
    /// members see, refused in filters and sorts; `read`: shown, but writing it is 403;
    /// `write`: shown and writable (with the right to write the record type).
    #[schema(schema_with = super::schema::field_access)]
    pub access: String,
}

/// A role: the most its members may do (a token's scopes narrow it further), which fields
/// they see and write, and which records they see.
#[derive(Debug, Serialize, ToSchema)]
pub struct RoleOut {
    #[schema(example = 4)]
    pub id: i64,
    #[schema(example = "Sales")]
    pub name: String,
    #[schema(required = true)]
    pub description: Option<String>,
    /// Whether this is the account's `admin`, `member` or `viewer` role, which cannot be
    /// deleted and whose rights never change.
    pub builtin: bool,
    /// The ceiling of what members may do, as scopes (`<resource>:read`, `<resource>:write`,
    /// `admin`).
    #[schema(schema_with = super::schema::role_rights)]
    pub rights: Vec<String>,
    /// Rules by field; a field without one is `write` when the role may write its record
    /// type, else `read`.
    pub field_rules: Vec<FieldRuleBody>,
    /// Which companies, contacts and projects members see: `own` (those they own),
    /// `unit` (also those of their units, primary and secondary), `unit_and_below` (also
    /// those of the units below theirs) or `all`. Enforced on every read, list, board,
    /// search, feed entry, event and webhook delivery.
    #[schema(schema_with = super::schema::visibility)]
    pub visibility: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn rule_out(r: FieldRule) -> FieldRuleBody {
    FieldRuleBody {
        record_type: r.record_type.as_str().to_owned(),
        field: r.field,
        access: r.access.as_str().to_owned(),
    }
}

impl From<RoleDef> for RoleOut {
    fn from(r: RoleDef) -> Self {
        RoleOut {
            id: r.id,
            name: r.spec.name,
            description: r.spec.description,
            builtin: r.builtin.is_some(),
            rights: r.spec.rights.names(),
            field_rules: r.spec.field_rules.into_iter().map(rule_out).collect(),
            visibility: r.spec.visibility.as_str().to_owned(),
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

list_of!(RoleList, RoleOut, "roles");

/// A new custom role.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleCreate {
    /// Unique in the account, whatever the case.
    #[schema(example = "Sales", max_length = 100)]
    pub name: String,
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    /// Scopes, such as `["companies:read", "companies:write", "contacts:read"]`. `admin` is
    /// the built-in admin role's alone.
    #[schema(schema_with = super::schema::role_rights)]
    pub rights: Vec<String>,
    #[serde(default)]
    #[schema(max_items = 500)]
    pub field_rules: Vec<FieldRuleBody>,
    /// Default `all`.
    #[schema(schema_with = super::schema::visibility)]
    pub visibility: Option<String>,
}

fn parse_rules(invalid: &mut Invalid, raw: &[FieldRuleBody]) -> Vec<FieldRule> {
    let mut rules = Vec::with_capacity(raw.len());
    for (i, r) in raw.iter().enumerate() {
        let record_type = invalid.check(
            &format!("field_rules[{i}].record_type"),
            FieldRecordType::parse(&r.record_type),
        );
        let access = invalid.check(
            &format!("field_rules[{i}].access"),
            Access::parse(&r.access),
        );
        if let (Some(record_type), Some(access)) = (record_type, access) {
            rules.push(FieldRule {
                record_type,
                field: r.field.trim().to_owned(),
                access,
            });
        }
    }
    rules
}

fn parse_description(invalid: &mut Invalid, raw: Option<&str>) -> Option<String> {
    raw.filter(|d| !d.trim().is_empty())
        .and_then(|d| invalid.check("description", Description::parse(d)))
        .map(|d| d.as_str().to_owned())
}

fn parse_rights(invalid: &mut Invalid, raw: &[String]) -> ScopeSet {
    match roles::parse_rights(raw) {
        Ok(set) => set,
        Err(e) => {
            invalid.0.extend(e.0);
            ScopeSet::default()
        }
    }
}

impl RoleCreate {
    pub fn into_spec(self) -> Result<RoleSpec, Invalid> {
        let mut invalid = Invalid::default();
        let name = invalid.check("name", roles::parse_name(&self.name));
        let description = parse_description(&mut invalid, self.description.as_deref());
        let rights = parse_rights(&mut invalid, &self.rights);
        let field_rules = parse_rules(&mut invalid, &self.field_rules);
        let visibility = match self.visibility.as_deref() {
            Some(v) => invalid.check("visibility", Visibility::parse(v)),
            None => Some(Visibility::All),
        };
        match (name, visibility) {
            (Some(name), Some(visibility)) if invalid.is_empty() => Ok(RoleSpec {
                name,
                description,
                rights,
                field_rules,
                visibility,
            }),
            _ => Err(invalid),
        }
    }
}

/// Changes to a role: absent parts stay. `field_rules` replaces the rules whole. A built-in
/// role's name and rights never change (422); its rules and visibility do.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoleUpdate {
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 10000)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, schema_with = super::schema::role_rights)]
    pub rights: Option<Vec<String>>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, max_items = 500)]
    pub field_rules: Option<Vec<FieldRuleBody>>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, schema_with = super::schema::visibility)]
    pub visibility: Option<String>,
}

impl RoleUpdate {
    /// The definition after this change, checked whole.
    pub fn apply(&self, current: &RoleDef) -> Result<RoleSpec, Invalid> {
        let mut invalid = Invalid::default();
        let mut spec = current.spec.clone();
        if let Some(name) = &self.name
            && let Some(name) = invalid.check("name", roles::parse_name(name))
        {
            if current.builtin.is_some() && name != spec.name {
                invalid.push(domain::FieldError::new(
                    "name",
                    "builtin_role",
                    "a built-in role keeps its name",
                ));
            }
            spec.name = name;
        }
        if let Some(description) = &self.description {
            spec.description = parse_description(&mut invalid, description.as_deref());
        }
        if let Some(rights) = &self.rights {
            let rights = match current.builtin {
                // Sending a built-in role's own rights back (admin's hold `admin`) is no change.
                Some(_) => invalid
                    .check("rights", ScopeSet::parse_list(rights))
                    .unwrap_or_default(),
                None => parse_rights(&mut invalid, rights),
            };
            if current.builtin.is_some() && rights != spec.rights {
                invalid.push(domain::FieldError::new(
                    "rights",
                    "builtin_role",
                    "a built-in role's rights never change; define a custom role instead",
                ));
            }
            spec.rights = rights;
        }
        if let Some(rules) = &self.field_rules {
            spec.field_rules = parse_rules(&mut invalid, rules);
        }
        if let Some(v) = &self.visibility
            && let Some(v) = invalid.check("visibility", Visibility::parse(v))
        {
            spec.visibility = v;
        }
        invalid.into_result().map(|()| spec)
    }
}
