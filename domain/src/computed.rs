//! Lookup and rollup fields: custom fields whose values are computed when records are read,
//! never written. A lookup shows one field of the record a reference points at (a project's
//! company's industry); a rollup aggregates the records of another type that reference this
//! one (a company's count of open projects, the sum of its won projects' value).
//!
//! This module holds their configuration and its rules; it knows custom fields only through
//! a resolver (as the filter language does), so that `fields` can own both.

use serde_json::{Map, Value, json};

use crate::filter::{CUSTOM_PREFIX, FieldKind, Target, builtin_field};
use crate::validation::{FieldError, Invalid, ValueError};

wire_enum! {
    /// What a rollup computes over the related records.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum RollupFunction {
        Count = "count",
        Sum = "sum",
        Min = "min",
        Max = "max",
        Avg = "avg",
    }
}
parse_choice!(RollupFunction);

/// A field of a record type, as configurations name it: a built-in field by its wire name
/// (`industry`) or a custom field as `custom_fields.<key>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldRef {
    Builtin(&'static str),
    Custom(String),
}

impl FieldRef {
    pub fn name(&self) -> String {
        match self {
            FieldRef::Builtin(name) => (*name).to_owned(),
            FieldRef::Custom(key) => format!("{CUSTOM_PREFIX}{key}"),
        }
    }
}

/// A lookup: through a reference of the record, one field of the record referenced.
#[derive(Debug, Clone, PartialEq)]
pub struct Lookup {
    /// A built-in reference (`company_id`) or a custom `record` field of the same record type.
    pub through: FieldRef,
    /// The record type `through` points at (derived when the configuration is checked).
    pub target: Target,
    /// The field of the referenced record shown.
    pub field: FieldRef,
}

/// A rollup: over the records of `record_type` whose reference `through` names this record.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollup {
    pub record_type: Target,
    /// A built-in reference of the related records (`company_id`) or a custom `record` field
    /// of theirs that targets this record type.
    pub through: FieldRef,
    pub function: RollupFunction,
    /// The field aggregated; none for `count`.
    pub field: Option<FieldRef>,
    /// For money fields: the currency aggregated (values in other currencies are left out).
    pub currency: Option<String>,
    /// A filter of the filter language over the related records, as written; parsed (and its
    /// relative dates resolved) on every read.
    pub filter: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Computed {
    Lookup(Lookup),
    Rollup(Rollup),
}

/// The most lookup and rollup fields one record type may have: each is one more subquery per
/// record of every page read.
pub const MAX_COMPUTED: usize = 20;

/// What a custom field is, as far as lookups and rollups care.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomInfo {
    pub kind: ValueKind,
    /// For `record` fields: the record type referenced.
    pub references: Option<Target>,
    /// Itself a lookup or rollup (which cannot be looked up or aggregated).
    pub computed: bool,
}

/// The shape of a value, for what a rollup may compute over it and for the computed value's
/// schema.
#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    Number,
    /// An amount in a currency; `Some` when every value is in that one.
    Money(Option<String>),
    Date,
    DateTime,
    Text,
    Boolean,
    /// A record's or team member's id.
    Id,
    /// A list of values (tags, a multi-select).
    List,
    /// Any other JSON value (a custom field shown as its definition describes).
    Other,
}

impl ValueKind {
    fn of_builtin(target: Target, name: &str, kind: &FieldKind) -> ValueKind {
        match kind {
            // A project's `value` is money in its own currency.
            FieldKind::Number if target == Target::Project && name == "value" => {
                ValueKind::Money(None)
            }
            FieldKind::Number => ValueKind::Number,
            FieldKind::Date => ValueKind::Date,
            FieldKind::DateTime => ValueKind::DateTime,
            FieldKind::Boolean => ValueKind::Boolean,
            FieldKind::Id => ValueKind::Id,
            FieldKind::Text | FieldKind::Choice(_) => ValueKind::Text,
            FieldKind::Tags => ValueKind::List,
        }
    }

    fn fits(&self, function: RollupFunction) -> bool {
        match function {
            RollupFunction::Count => true,
            RollupFunction::Sum | RollupFunction::Avg => {
                matches!(self, ValueKind::Number | ValueKind::Money(_))
            }
            RollupFunction::Min | RollupFunction::Max => matches!(
                self,
                ValueKind::Number | ValueKind::Money(_) | ValueKind::Date | ValueKind::DateTime
            ),
        }
    }
}

/// The built-in references between record types: `(record type, field) -> type referenced`.
pub fn builtin_reference(on: Target, field: &str) -> Option<Target> {
    match (on, field) {
        (Target::Contact, "company_id") | (Target::Project, "company_id") => Some(Target::Company),
        (Target::Contact, "reports_to_id") => Some(Target::Contact),
        _ => None,
    }
}

/// Resolves a custom field of a record type by key.
pub type Resolver<'a> = &'a dyn Fn(Target, &str) -> Option<CustomInfo>;

/// The body of a lookup or rollup configuration as a request states it, before the check.
#[derive(Debug, Clone, Default)]
pub struct RawLookup {
    pub through: String,
    pub field: String,
}

#[derive(Debug, Clone, Default)]
pub struct RawRollup {
    pub record_type: String,
    pub through: String,
    pub function: String,
    pub field: Option<String>,
    pub currency: Option<String>,
    pub filter: Option<Value>,
}

fn field_ref(
    target: Target,
    raw: &str,
    custom: Resolver<'_>,
) -> Result<(FieldRef, ValueKind, Option<CustomInfo>), ValueError> {
    match raw.strip_prefix(CUSTOM_PREFIX) {
        Some(key) => match custom(target, key) {
            Some(info) => Ok((
                FieldRef::Custom(key.to_owned()),
                info.kind.clone(),
                Some(info),
            )),
            None => Err(ValueError::new(
                "unknown_field",
                format!("a {} has no custom field `{key}`", target.as_str()),
            )),
        },
        None => match builtin_field(target, raw) {
            Some((name, kind)) => Ok((
                FieldRef::Builtin(name),
                ValueKind::of_builtin(target, name, &kind),
                None,
            )),
            None => Err(ValueError::new(
                "unknown_field",
                format!(
                    "a {} has no field `{raw}`: name a built-in field or `{CUSTOM_PREFIX}<key>` of a defined custom field",
                    target.as_str()
                ),
            )),
        },
    }
}

/// Checks a lookup of a `record_type` record and returns it resolved.
pub fn check_lookup(
    record_type: Target,
    raw: &RawLookup,
    custom: Resolver<'_>,
) -> Result<Lookup, Invalid> {
    let mut invalid = Invalid::default();
    let through = match raw.through.strip_prefix(CUSTOM_PREFIX) {
        Some(key) => match custom(record_type, key) {
            Some(CustomInfo {
                references: Some(target),
                ..
            }) => Some((FieldRef::Custom(key.to_owned()), target)),
            _ => None,
        },
        None => builtin_field(record_type, &raw.through).and_then(|(name, _)| {
            builtin_reference(record_type, name).map(|t| (FieldRef::Builtin(name), t))
        }),
    };
    let Some((through, target)) = through else {
        let builtins: Vec<&str> = ["company_id", "reports_to_id"]
            .into_iter()
            .filter(|f| builtin_reference(record_type, f).is_some())
            .collect();
        let offered = if builtins.is_empty() {
            String::new()
        } else {
            format!("{} or ", builtins.join(", "))
        };
        invalid.push(FieldError::new(
            "lookup.through",
            "invalid_reference",
            format!(
                "must name a reference of a {}: {offered}`{CUSTOM_PREFIX}<key>` of a custom record field",
                record_type.as_str()
            ),
        ));
        return Err(invalid);
    };
    match field_ref(target, &raw.field, custom) {
        Ok((_, ValueKind::List, _)) => invalid.push(FieldError::new(
            "lookup.field",
            "not_allowed",
            "a list of values (tags, a multi_select) cannot be looked up",
        )),
        Ok((_, _, Some(info))) if info.computed => invalid.push(FieldError::new(
            "lookup.field",
            "not_allowed",
            "a lookup or rollup field cannot be looked up in turn",
        )),
        Ok((field, _, _)) => {
            return invalid.into_result().map(|()| Lookup {
                through,
                target,
                field,
            });
        }
        Err(e) => invalid.push(FieldError::new("lookup.field", e.code, e.message)),
    }
    Err(invalid)
}

/// Checks a rollup of `record_type` records (all but its filter, which `fields` parses
/// against the definitions) and returns it resolved.
pub fn check_rollup(
    record_type: Target,
    raw: &RawRollup,
    custom: Resolver<'_>,
) -> Result<Rollup, Invalid> {
    let mut invalid = Invalid::default();
    let related = invalid.check(
        "rollup.record_type",
        Target::ALL
            .into_iter()
            .find(|t| t.as_str() == raw.record_type)
            .ok_or_else(|| {
                ValueError::new("invalid_choice", "must be one of company, contact, project")
            }),
    );
    let function = invalid.check("rollup.function", RollupFunction::parse(&raw.function));
    let Some(related) = related else {
        return Err(invalid);
    };
    let through = match raw.through.strip_prefix(CUSTOM_PREFIX) {
        Some(key) => match custom(related, key) {
            Some(CustomInfo {
                references: Some(t),
                ..
            }) if t == record_type => Some(FieldRef::Custom(key.to_owned())),
            _ => None,
        },
        None => builtin_field(related, &raw.through).and_then(|(name, _)| {
            (builtin_reference(related, name) == Some(record_type))
                .then_some(FieldRef::Builtin(name))
        }),
    };
    if through.is_none() {
        invalid.push(FieldError::new(
            "rollup.through",
            "invalid_reference",
            format!(
                "must name a reference of a {related} that points at a {this}: a built-in one (a project's or contact's company_id, a contact's reports_to_id) or `{CUSTOM_PREFIX}<key>` of a custom record field of the {related} that targets a {this}",
                related = related.as_str(),
                this = record_type.as_str()
            ),
        ));
    }
    let mut currency = match &raw.currency {
        Some(c) => invalid.check(
            "rollup.currency",
            crate::project::Currency::parse(c).map(|c| c.as_str().to_owned()),
        ),
        None => None,
    };
    let mut is_money = false;
    let field = match (function, &raw.field) {
        (Some(RollupFunction::Count), Some(_)) => {
            invalid.push(FieldError::new(
                "rollup.field",
                "not_allowed",
                "count counts the related records: leave out field",
            ));
            None
        }
        (Some(RollupFunction::Count), None) | (None, _) => None,
        (Some(f), None) => {
            invalid.push(FieldError::new(
                "rollup.field",
                "required",
                format!("{} needs the field to aggregate", f.as_str()),
            ));
            None
        }
        (Some(f), Some(name)) => match field_ref(related, name, custom) {
            Err(e) => {
                invalid.push(FieldError::new("rollup.field", e.code, e.message));
                None
            }
            Ok((_, _, Some(info))) if info.computed => {
                invalid.push(FieldError::new(
                    "rollup.field",
                    "not_allowed",
                    "a lookup or rollup field cannot be aggregated",
                ));
                None
            }
            Ok((_, kind, _)) if !kind.fits(f) => {
                let wanted = match f {
                    RollupFunction::Sum | RollupFunction::Avg => "a number or money field",
                    _ => "a number, money, date or datetime field",
                };
                invalid.push(FieldError::new(
                    "rollup.field",
                    "invalid_type",
                    format!("{} takes {wanted}", f.as_str()),
                ));
                None
            }
            Ok((field, ValueKind::Money(fixed), _)) => {
                is_money = true;
                match (&fixed, &currency) {
                    (Some(fixed), Some(c)) if fixed != c => invalid.push(FieldError::new(
                        "rollup.currency",
                        "wrong_currency",
                        format!("the field's amounts are all in {fixed}"),
                    )),
                    (Some(fixed), None) => currency = Some(fixed.clone()),
                    (None, None) if raw.currency.is_none() => invalid.push(FieldError::new(
                        "rollup.currency",
                        "required",
                        "amounts in different currencies do not add up: name the currency to aggregate (values in others are left out)",
                    )),
                    _ => {}
                }
                Some(field)
            }
            Ok((field, _, _)) => Some(field),
        },
    };
    if raw.currency.is_some() && !is_money && invalid.is_empty() {
        invalid.push(FieldError::new(
            "rollup.currency",
            "not_allowed",
            "only a rollup of a money field has a currency",
        ));
    }
    match (function, through) {
        (Some(function), Some(through)) if invalid.is_empty() => Ok(Rollup {
            record_type: related,
            through,
            function,
            field,
            currency,
            filter: raw.filter.clone().filter(|f| !f.is_null()),
        }),
        _ => Err(invalid),
    }
}

/// The kind of a computed field's values, for its schema: `Other` when it shows a custom
/// field as that field's definition describes it (`shown` then names the field).
pub fn value_kind(computed: &Computed, custom: Resolver<'_>) -> ValueKind {
    let kind_of = |target: Target, field: &FieldRef| match field {
        FieldRef::Builtin(name) => builtin_field(target, name)
            .map_or(ValueKind::Other, |(n, k)| {
                ValueKind::of_builtin(target, n, &k)
            }),
        FieldRef::Custom(key) => custom(target, key).map_or(ValueKind::Other, |i| i.kind),
    };
    match computed {
        Computed::Lookup(l) => match &l.field {
            FieldRef::Custom(_) => ValueKind::Other,
            builtin => kind_of(l.target, builtin),
        },
        Computed::Rollup(r) => match (r.function, &r.field) {
            (RollupFunction::Count, _) | (_, None) => ValueKind::Number,
            (function, Some(field)) => match kind_of(r.record_type, field) {
                ValueKind::Money(_) => ValueKind::Money(r.currency.clone()),
                // An average of dates is not a date; the check refuses it anyway.
                _ if function == RollupFunction::Avg => ValueKind::Number,
                other => other,
            },
        },
    }
}

impl Computed {
    /// The configuration as stored (JSON text in the definition's row).
    pub fn to_json(&self) -> Value {
        match self {
            Computed::Lookup(l) => json!({
                "lookup": {"through": l.through.name(), "target": l.target.as_str(), "field": l.field.name()}
            }),
            Computed::Rollup(r) => json!({
                "rollup": {
                    "record_type": r.record_type.as_str(),
                    "through": r.through.name(),
                    "function": r.function.as_str(),
                    "field": r.field.as_ref().map(FieldRef::name),
                    "currency": r.currency,
                    "filter": r.filter,
                }
            }),
        }
    }

    /// Reads a stored configuration back; `None` for anything else.
    pub fn from_json(value: &Value) -> Option<Computed> {
        let target = |v: &Value| {
            let s = v.as_str()?;
            Target::ALL.into_iter().find(|t| t.as_str() == s)
        };
        let stored_ref = |on: Target, v: &Value| -> Option<FieldRef> {
            let s = v.as_str()?;
            Some(match s.strip_prefix(CUSTOM_PREFIX) {
                Some(key) => FieldRef::Custom(key.to_owned()),
                None => FieldRef::Builtin(builtin_field(on, s)?.0),
            })
        };
        if let Some(l) = value.get("lookup") {
            let t = target(&l["target"])?;
            let through = match l["through"].as_str()?.strip_prefix(CUSTOM_PREFIX) {
                Some(key) => FieldRef::Custom(key.to_owned()),
                None => FieldRef::Builtin(
                    ["company_id", "reports_to_id"]
                        .into_iter()
                        .find(|f| Some(*f) == l["through"].as_str())?,
                ),
            };
            return Some(Computed::Lookup(Lookup {
                through,
                target: t,
                field: stored_ref(t, &l["field"])?,
            }));
        }
        let r = value.get("rollup")?;
        let related = target(&r["record_type"])?;
        Some(Computed::Rollup(Rollup {
            record_type: related,
            through: stored_ref(related, &r["through"])?,
            function: RollupFunction::parse(r["function"].as_str()?).ok()?,
            field: match &r["field"] {
                Value::Null => None,
                f => Some(stored_ref(related, f)?),
            },
            currency: r["currency"].as_str().map(str::to_owned),
            filter: Some(r["filter"].clone()).filter(|f| !f.is_null()),
        }))
    }

    /// The configuration as answers show it: `{"through", "field"}` for a lookup, the rollup's
    /// parts for a rollup.
    pub fn wire(&self) -> Map<String, Value> {
        let mut out = match self.to_json() {
            Value::Object(mut map) => match map.remove("lookup").or_else(|| map.remove("rollup")) {
                Some(Value::Object(inner)) => inner,
                _ => Map::new(),
            },
            _ => Map::new(),
        };
        if let Computed::Lookup(l) = self {
            out.insert(
                "record_type".into(),
                Value::String(l.target.as_str().into()),
            );
            out.remove("target");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn custom(target: Target, key: &str) -> Option<CustomInfo> {
        match (target, key) {
            (Target::Project, "client") => Some(CustomInfo {
                kind: ValueKind::Id,
                references: Some(Target::Company),
                computed: false,
            }),
            (Target::Project, "fee") => Some(CustomInfo {
                kind: ValueKind::Money(Some("EUR".into())),
                references: None,
                computed: false,
            }),
            (Target::Company, "open_projects") => Some(CustomInfo {
                kind: ValueKind::Number,
                references: None,
                computed: true,
            }),
            _ => None,
        }
    }

    fn fields(result: Result<impl std::fmt::Debug, Invalid>) -> Vec<String> {
        match result {
            Ok(v) => panic!("expected errors, got {v:?}"),
            Err(e) => e.0.into_iter().map(|e| e.field).collect(),
        }
    }

    #[test]
    fn a_lookup_follows_a_builtin_or_custom_reference() {
        let l = check_lookup(
            Target::Project,
            &RawLookup {
                through: "company_id".into(),
                field: "industry".into(),
            },
            &custom,
        );
        assert!(matches!(
            l,
            Ok(Lookup {
                target: Target::Company,
                ..
            })
        ));
        let l = check_lookup(
            Target::Project,
            &RawLookup {
                through: "custom_fields.client".into(),
                field: "name".into(),
            },
            &custom,
        );
        assert!(l.is_ok());
        let bad = check_lookup(
            Target::Company,
            &RawLookup {
                through: "owner_id".into(),
                field: "name".into(),
            },
            &custom,
        );
        assert_eq!(fields(bad), ["lookup.through"]);
        let bad = check_lookup(
            Target::Project,
            &RawLookup {
                through: "company_id".into(),
                field: "custom_fields.open_projects".into(),
            },
            &custom,
        );
        assert_eq!(fields(bad), ["lookup.field"]);
    }

    #[test]
    fn a_rollup_checks_its_function_against_its_field() {
        let raw = |function: &str, field: Option<&str>| RawRollup {
            record_type: "project".into(),
            through: "company_id".into(),
            function: function.into(),
            field: field.map(str::to_owned),
            currency: None,
            filter: None,
        };
        assert!(check_rollup(Target::Company, &raw("count", None), &custom).is_ok());
        assert_eq!(
            fields(check_rollup(
                Target::Company,
                &raw("sum", Some("name")),
                &custom
            )),
            ["rollup.field"]
        );
        assert_eq!(
            fields(check_rollup(Target::Company, &raw("sum", None), &custom)),
            ["rollup.field"]
        );
        assert_eq!(
            fields(check_rollup(
                Target::Company,
                &raw("sum", Some("value")),
                &custom
            )),
            ["rollup.currency"]
        );
        let fee = check_rollup(
            Target::Company,
            &raw("sum", Some("custom_fields.fee")),
            &custom,
        );
        assert!(matches!(fee, Ok(Rollup { currency: Some(ref c), .. }) if c == "EUR"));
        assert!(check_rollup(Target::Company, &raw("max", Some("won_at")), &custom).is_ok());
        assert_eq!(
            fields(check_rollup(Target::Contact, &raw("count", None), &custom)),
            ["rollup.through"]
        );
    }

    #[test]
    fn a_configuration_reads_back_as_stored() {
        let rollup = Computed::Rollup(Rollup {
            record_type: Target::Project,
            through: FieldRef::Builtin("company_id"),
            function: RollupFunction::Sum,
            field: Some(FieldRef::Builtin("value")),
            currency: Some("EUR".into()),
            filter: Some(json!({"field": "state", "op": "eq", "value": "won"})),
        });
        assert_eq!(Computed::from_json(&rollup.to_json()), Some(rollup));
        let lookup = Computed::Lookup(Lookup {
            through: FieldRef::Custom("client".into()),
            target: Target::Company,
            field: FieldRef::Custom("tier".into()),
        });
        assert_eq!(Computed::from_json(&lookup.to_json()), Some(lookup));
    }
}
