//! Roles and field-level security: what a team member may do at most (a role's rights, in
//! the scope vocabulary of [`crate::access`]), which fields of companies, contacts and
//! projects they see and write, and which records they see (by unit: see [`crate::units`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::access::{Resource, Role, Scope, ScopeSet};
use crate::fields::FieldRecordType;
use crate::validation::ValueError;
use crate::{FieldError, Invalid};

wire_enum! {
    /// Which records a role's members see: their own, their units', their units' and those
    /// below, or all.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Visibility {
        Own = "own",
        Unit = "unit",
        UnitAndBelow = "unit_and_below",
        All = "all",
    }
}
parse_choice!(Visibility);

wire_enum! {
    /// What a role may do with one field: not see it, see it, or also write it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum Access {
        Hidden = "hidden",
        Read = "read",
        Write = "write",
    }
}
parse_choice!(Access);

/// One rule of a role: `field` of `record_type` is `access` for its members. `field` is a
/// built-in field's name or `custom_fields.<key>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRule {
    pub record_type: FieldRecordType,
    pub field: String,
    pub access: Access,
}

/// The prefix of a custom field in a rule.
pub const CUSTOM_PREFIX: &str = "custom_fields.";

/// The most rules a role holds.
pub const MAX_RULES: usize = 500;

/// The built-in fields of a record type that rules may name: what its create and update
/// bodies write, and its responses show. Ids, versions, timestamps and pipeline placement are
/// not data a rule can hide.
pub fn builtin_fields(record_type: FieldRecordType) -> &'static [&'static str] {
    match record_type {
        FieldRecordType::Company => &[
            "name",
            "domain",
            "website",
            "email",
            "phone",
            "industry",
            "size_band",
            "address",
            "description",
            "owner_id",
            "unit_id",
            "tags",
            "show_in_pipeline",
        ],
        FieldRecordType::Contact => &[
            "first_name",
            "last_name",
            "email",
            "phone",
            "job_title",
            "company_id",
            "reports_to_id",
            "owner_id",
            "unit_id",
            "tags",
        ],
        FieldRecordType::Project => &[
            "name",
            "description",
            "company_id",
            "owner_id",
            "unit_id",
            "external_id",
            "value",
            "probability",
            "expected_start_date",
            "expected_duration",
            "expected_finish_date",
            "proposal_received_date",
            "proposal_due_date",
            "start_date",
            "end_date",
            "tags",
        ],
    }
}

/// The resource whose write right writes records of the type.
pub fn resource_of(record_type: FieldRecordType) -> Resource {
    match record_type {
        FieldRecordType::Company => Resource::Companies,
        FieldRecordType::Contact => Resource::Contacts,
        FieldRecordType::Project => Resource::Projects,
    }
}

/// A role's definition, as an admin writes it.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleSpec {
    pub name: String,
    pub description: Option<String>,
    /// The ceiling of what members may do. For a built-in role, its fixed rights.
    pub rights: ScopeSet,
    pub field_rules: Vec<FieldRule>,
    pub visibility: Visibility,
}

/// A role of an account.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleDef {
    pub id: i64,
    /// `Some` for the account's `admin`, `member` and `viewer` roles.
    pub builtin: Option<Role>,
    pub spec: RoleSpec,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a team member's principal carries of their role: enough to compute their rights and
/// field mask without another query.
#[derive(Debug, Clone, PartialEq)]
pub struct UserRole {
    pub id: i64,
    pub name: String,
    pub builtin: Option<Role>,
    pub rights: ScopeSet,
    pub field_rules: Vec<FieldRule>,
    pub visibility: Visibility,
}

impl UserRole {
    /// A built-in role without rules, for tests and places that know nothing else.
    pub fn builtin(role: Role) -> Self {
        UserRole {
            id: 0,
            name: role.as_str().to_owned(),
            builtin: Some(role),
            rights: role.rights(),
            field_rules: Vec::new(),
            visibility: Visibility::All,
        }
    }

    pub fn is_admin(&self) -> bool {
        self.builtin == Some(Role::Admin)
    }

    pub fn field_mask(&self) -> FieldMask {
        FieldMask::new(&self.rights, &self.field_rules)
    }
}

/// Parses a custom role's rights: scope names, of which `admin` is refused (only the built-in
/// admin role holds it, so that "the last active admin" stays one role's members).
pub fn parse_rights(raw: &[String]) -> Result<ScopeSet, Invalid> {
    let mut invalid = Invalid::default();
    let mut set = ScopeSet::default();
    for (i, name) in raw.iter().enumerate() {
        match Scope::parse(name.trim()) {
            Ok(Scope::Admin) => invalid.push(FieldError::new(
                format!("rights[{i}]"),
                "admin_is_builtin",
                "only the built-in admin role holds `admin`; give the team member that role",
            )),
            Ok(scope) => set.insert(scope),
            Err(e) => invalid.push(FieldError::new(format!("rights[{i}]"), e.code, e.message)),
        }
    }
    invalid.into_result().map(|()| set)
}

/// Checks the rules of a role: known built-in fields, custom fields among `defined` keys,
/// one rule per field. `defined` gives a record type's custom field keys.
pub fn check_rules(
    rules: &[FieldRule],
    defined: &dyn Fn(FieldRecordType) -> Vec<String>,
) -> Result<(), Invalid> {
    let mut invalid = Invalid::default();
    if rules.len() > MAX_RULES {
        invalid.push(FieldError::new(
            "field_rules",
            "too_many",
            format!("at most {MAX_RULES} rules"),
        ));
    }
    let mut seen = std::collections::BTreeSet::new();
    for (i, rule) in rules.iter().enumerate() {
        let at = format!("field_rules[{i}].field");
        let known = match rule.field.strip_prefix(CUSTOM_PREFIX) {
            Some(key) => defined(rule.record_type).iter().any(|k| k == key),
            None => builtin_fields(rule.record_type).contains(&rule.field.as_str()),
        };
        if !known {
            let message = match rule.field.strip_prefix(CUSTOM_PREFIX) {
                Some(key) => format!(
                    "the {} has no custom field `{key}`; define it first (POST /v1/fields)",
                    rule.record_type.as_str()
                ),
                None => format!(
                    "is not a field of a {}; its fields are {}, or custom_fields.<key>",
                    rule.record_type.as_str(),
                    builtin_fields(rule.record_type).join(", ")
                ),
            };
            invalid.push(FieldError::new(at, "unknown_field", message));
        } else if !seen.insert((rule.record_type, rule.field.clone())) {
            invalid.push(FieldError::new(
                at,
                "duplicate",
                "the field already has a rule in this role",
            ));
        }
    }
    invalid.into_result()
}

/// A role's field-level security, ready to apply: each field's access for its members.
/// Without a rule a field is `write` for a role that can write the record type, else `read`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldMask {
    rules: BTreeMap<(FieldRecordType, String), Access>,
    writes: Vec<FieldRecordType>,
}

impl FieldMask {
    pub fn new(rights: &ScopeSet, rules: &[FieldRule]) -> Self {
        FieldMask {
            rules: rules
                .iter()
                .map(|r| ((r.record_type, r.field.clone()), r.access))
                .collect(),
            writes: FieldRecordType::ALL
                .into_iter()
                .filter(|t| rights.grants(Scope::Write(resource_of(*t))))
                .collect(),
        }
    }

    /// Every field writable: an app acting for its account, or a webhook without a creator.
    pub fn unrestricted() -> Self {
        FieldMask {
            rules: BTreeMap::new(),
            writes: FieldRecordType::ALL.to_vec(),
        }
    }

    /// The access to `field` (a built-in name or `custom_fields.<key>`) of `record_type`.
    /// The one question filters, sorts, responses and writes ask.
    pub fn access(&self, record_type: FieldRecordType, field: &str) -> Access {
        match self.rules.get(&(record_type, field.to_owned())) {
            Some(access) => *access,
            None if self.writes.contains(&record_type) => Access::Write,
            None => Access::Read,
        }
    }

    fn fields_below(&self, record_type: FieldRecordType, at_most: Access) -> Vec<&str> {
        self.rules
            .iter()
            .filter(|((t, _), a)| *t == record_type && **a <= at_most)
            .map(|((_, f), _)| f.as_str())
            .collect()
    }

    /// The conditions of a filter of the filter language (its raw JSON, at `root`) that name
    /// a field hidden from this role: each refused under its path, as if it did not exist.
    pub fn refuse_hidden_in_filter(
        &self,
        record_type: FieldRecordType,
        raw: &Value,
        root: &str,
    ) -> Result<(), Invalid> {
        let mut invalid = Invalid::default();
        if self.hides_any(record_type) {
            self.walk_filter(record_type, raw, root, &mut invalid, 0);
        }
        invalid.into_result()
    }

    fn walk_filter(
        &self,
        record_type: FieldRecordType,
        raw: &Value,
        path: &str,
        invalid: &mut Invalid,
        depth: usize,
    ) {
        // The parser bounds depth; this walk only needs not to run away on deeper input.
        if depth > crate::filter::MAX_DEPTH + 1 {
            return;
        }
        let Value::Object(node) = raw else { return };
        for group in ["and", "or"] {
            if let Some(Value::Array(items)) = node.get(group) {
                for (i, item) in items.iter().enumerate() {
                    self.walk_filter(
                        record_type,
                        item,
                        &format!("{path}.{group}[{i}]"),
                        invalid,
                        depth + 1,
                    );
                }
            }
        }
        if let Some(inner) = node.get("not") {
            self.walk_filter(
                record_type,
                inner,
                &format!("{path}.not"),
                invalid,
                depth + 1,
            );
        }
        if let Some(Value::String(field)) = node.get("field")
            && self.access(record_type, field) == Access::Hidden
        {
            invalid.push(FieldError::new(
                format!("{path}.field"),
                "unknown_field",
                format!("`{field}` is not a field you can filter on"),
            ));
        }
    }

    /// Whether any field of the type is hidden: when none is, responses go out untouched.
    pub fn hides_any(&self, record_type: FieldRecordType) -> bool {
        !self.fields_below(record_type, Access::Hidden).is_empty()
    }

    /// Whether a write of the type may be refused for a field.
    pub fn limits_writes(&self, record_type: FieldRecordType) -> bool {
        self.writes.contains(&record_type)
            && !self.fields_below(record_type, Access::Read).is_empty()
    }

    /// Removes the hidden fields from a record of the type as the API shows it (or from the
    /// changed fields of an update): built-in keys, and keys of `custom_fields`.
    pub fn hide(&self, record_type: FieldRecordType, record: &mut Map<String, Value>) {
        for field in self.fields_below(record_type, Access::Hidden) {
            match field.strip_prefix(CUSTOM_PREFIX) {
                Some(key) => {
                    if let Some(Value::Object(custom)) = record.get_mut("custom_fields") {
                        custom.remove(key);
                    }
                }
                None => {
                    record.remove(field);
                }
            }
        }
    }

    /// The fields of a write body (create or update) this role may not write, each named as
    /// the body names it: 403 naming them.
    pub fn refused_writes(
        &self,
        record_type: FieldRecordType,
        body: &Map<String, Value>,
    ) -> Vec<FieldError> {
        let mut refused = Vec::new();
        let mut deny = |field: String, access: Access| {
            let message = match access {
                Access::Hidden => "your role may not see or write this field",
                _ => "your role may read this field but not write it",
            };
            refused.push(FieldError::new(field, "field_read_only", message));
        };
        for key in body.keys() {
            if key == "custom_fields" {
                continue;
            }
            let access = self.access(record_type, key);
            if access < Access::Write && builtin_fields(record_type).contains(&key.as_str()) {
                deny(key.clone(), access);
            }
        }
        if let Some(Value::Object(custom)) = body.get("custom_fields") {
            for key in custom.keys() {
                let field = format!("{CUSTOM_PREFIX}{key}");
                let access = self.access(record_type, &field);
                if access < Access::Write {
                    deny(field, access);
                }
            }
        }
        refused
    }
}

/// A role name: 1 to 100 characters after trimming.
pub fn parse_name(raw: &str) -> Result<String, ValueError> {
    let name = raw.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ValueError::new(
            "invalid_length",
            "must be 1 to 100 characters",
        ));
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(t: FieldRecordType, field: &str, access: Access) -> FieldRule {
        FieldRule {
            record_type: t,
            field: field.into(),
            access,
        }
    }

    #[test]
    fn defaults_follow_the_right_to_write_the_record_type() {
        let viewer = FieldMask::new(&Role::Viewer.rights(), &[]);
        assert_eq!(
            viewer.access(FieldRecordType::Company, "industry"),
            Access::Read
        );
        let member = FieldMask::new(&Role::Member.rights(), &[]);
        assert_eq!(
            member.access(FieldRecordType::Company, "custom_fields.tier"),
            Access::Write
        );
    }

    #[test]
    fn hidden_fields_leave_records_and_read_only_ones_refuse_writes() {
        let mask = FieldMask::new(
            &Role::Member.rights(),
            &[
                rule(FieldRecordType::Company, "industry", Access::Hidden),
                rule(FieldRecordType::Company, "custom_fields.tier", Access::Read),
            ],
        );
        let mut record =
            serde_json::json!({"name": "A", "industry": "x", "custom_fields": {"tier": 1, "b": 2}});
        if let Value::Object(map) = &mut record {
            mask.hide(FieldRecordType::Company, map);
        }
        assert_eq!(
            record,
            serde_json::json!({"name": "A", "custom_fields": {"tier": 1, "b": 2}})
        );
        let body = serde_json::json!({"name": "B", "custom_fields": {"tier": 2}});
        let refused = mask.refused_writes(
            FieldRecordType::Company,
            body.as_object().unwrap_or(&Map::new()),
        );
        assert_eq!(refused.len(), 1);
        assert_eq!(refused[0].field, "custom_fields.tier");
        assert!(!mask.hides_any(FieldRecordType::Contact));
    }

    #[test]
    fn rules_name_known_fields_once() {
        let none = |_: FieldRecordType| vec!["tier".to_owned()];
        assert!(
            check_rules(
                &[rule(FieldRecordType::Project, "value", Access::Read)],
                &none
            )
            .is_ok()
        );
        assert!(
            check_rules(
                &[rule(FieldRecordType::Project, "colour", Access::Read)],
                &none
            )
            .is_err()
        );
        assert!(
            check_rules(
                &[rule(
                    FieldRecordType::Company,
                    "custom_fields.nope",
                    Access::Read
                )],
                &none
            )
            .is_err()
        );
        let twice = [
            rule(FieldRecordType::Company, "custom_fields.tier", Access::Read),
            rule(
                FieldRecordType::Company,
                "custom_fields.tier",
                Access::Hidden,
            ),
        ];
        assert!(check_rules(&twice, &none).is_err());
    }

    #[test]
    fn custom_roles_cannot_hold_admin() {
        assert!(parse_rights(&["companies:read".into(), "admin".into()]).is_err());
        assert!(parse_rights(&["companies:write".into()]).is_ok());
    }
}
