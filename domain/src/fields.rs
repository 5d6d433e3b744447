//! The account's own fields: typed definitions of the custom fields a record type carries
//! (tiny+'s categories are `select` fields), and the check of a record's values against them.
//!
//! Values stay in the record's `custom_fields` object under the definition's key. A key with
//! no definition is kept as written (free-form, as before definitions existed); a defined key
//! holds only values of its type, within its bounds. Lookup and rollup fields (see
//! [`crate::computed`]) hold nothing: their values are computed when records are read, and a
//! write that names one is refused.

use std::collections::{BTreeSet, HashSet};

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde_json::{Map, Value};

use crate::computed::{self, Computed, CustomInfo, RawLookup, RawRollup, ValueKind};
use crate::project::Currency;
use crate::validation::{FieldError, Invalid, ValueError};
use crate::values::{Email, WebAddress};

wire_enum! {
    /// The record types that carry custom fields.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum FieldRecordType {
        Company = "company",
        Contact = "contact",
        Project = "project",
    }
}
parse_choice!(FieldRecordType);

wire_enum! {
    /// What a custom field holds.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum FieldType {
        Text = "text",
        LongText = "long_text",
        Number = "number",
        Money = "money",
        Date = "date",
        DateTime = "datetime",
        Boolean = "boolean",
        Select = "select",
        MultiSelect = "multi_select",
        User = "user",
        Record = "record",
        Url = "url",
        Email = "email",
        Phone = "phone",
        /// A field of the record a reference points at, computed when read.
        Lookup = "lookup",
        /// An aggregate of the records of another type that reference this one, computed
        /// when read.
        Rollup = "rollup",
    }
}
parse_choice!(FieldType);

impl FieldType {
    /// Whether values are computed when records are read (never written).
    pub fn is_computed(self) -> bool {
        matches!(self, FieldType::Lookup | FieldType::Rollup)
    }

    /// Whether values are strings that `max_length` and `pattern` bound.
    pub fn is_textual(self) -> bool {
        matches!(
            self,
            FieldType::Text
                | FieldType::LongText
                | FieldType::Url
                | FieldType::Email
                | FieldType::Phone
        )
    }

    /// Whether `min` and `max` bound the values.
    pub fn is_ordered(self) -> bool {
        matches!(
            self,
            FieldType::Number | FieldType::Money | FieldType::Date | FieldType::DateTime
        )
    }

    pub fn has_options(self) -> bool {
        matches!(self, FieldType::Select | FieldType::MultiSelect)
    }

    /// Whether two records can be told apart by the value (`unique` makes sense).
    pub fn can_be_unique(self) -> bool {
        !matches!(
            self,
            FieldType::Boolean
                | FieldType::MultiSelect
                | FieldType::LongText
                | FieldType::Money
                | FieldType::Lookup
                | FieldType::Rollup
        )
    }

    /// The longest text a value of the type may be when the definition sets no `max_length`.
    pub fn default_max_length(self) -> usize {
        match self {
            FieldType::LongText => 10_000,
            FieldType::Url => 2_048,
            FieldType::Email => Email::MAX_CHARS,
            FieldType::Phone => 50,
            _ => 1_000,
        }
    }
}

/// One choice of a `select` or `multi_select` field. An archived option is no longer offered,
/// but the records that hold it keep it, readable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldOption {
    pub value: String,
    pub label: String,
    pub position: i32,
    pub archived: bool,
}

/// Limits on a field's values. `min` and `max` are values of the field's type (a number, a
/// date, a date-time); `max_length` and `pattern` bound textual values.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Bounds {
    pub min: Option<Value>,
    pub max: Option<Value>,
    pub max_length: Option<u32>,
    pub pattern: Option<String>,
}

/// A custom field as an admin defined it: everything but its identity and version.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSpec {
    pub label: String,
    pub description: Option<String>,
    pub group: Option<String>,
    pub field_type: FieldType,
    pub options: Vec<FieldOption>,
    pub required: bool,
    pub unique: bool,
    pub default: Option<Value>,
    pub bounds: Bounds,
    /// For `record` fields: the type of record referenced.
    pub target: Option<FieldRecordType>,
    /// For `money` fields: the currency every value is in, when the field fixes one.
    pub currency: Option<String>,
    pub position: i32,
    /// For `lookup` and `rollup` fields: what the value is computed from.
    pub computed: Option<Computed>,
}

/// A stored definition.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldDefinition {
    pub id: i64,
    pub record_type: FieldRecordType,
    pub key: String,
    pub spec: FieldSpec,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The immutable key of a field: a lowercase letter, then lowercase letters, digits and
/// underscores, at most 50 characters.
pub fn parse_key(raw: &str) -> Result<String, ValueError> {
    let ok = raw.len() <= 50
        && raw.starts_with(|c: char| c.is_ascii_lowercase())
        && raw
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(ValueError::new(
            "invalid_key",
            "must start with a lowercase letter and hold only lowercase letters, digits and underscores, at most 50 characters (such as `tier` or `contract_end`)",
        ))
    }
}

/// The most options a select field may have, and the most values a multi-select may hold.
pub const MAX_OPTIONS: usize = 500;
pub const MAX_SELECTED: usize = 100;
/// The longest `pattern`.
pub const MAX_PATTERN_CHARS: usize = 500;
/// The most fields one record type may define.
pub const MAX_FIELDS: usize = 200;

/// The raw definition of a field as a request states it, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct RawOption {
    pub value: String,
    pub label: Option<String>,
    pub position: Option<i32>,
    pub archived: bool,
}

/// Checks a definition as a whole (the parts that depend on each other: options only for
/// selects, bounds that fit the type, a default that is itself a valid value) and returns the
/// errors under their body fields.
pub fn check_spec(spec: &FieldSpec) -> Result<(), Invalid> {
    let mut invalid = Invalid::default();
    let t = spec.field_type;
    check_computed_parts(spec, &mut invalid);
    if t.has_options() {
        if spec.options.is_empty() {
            invalid.push(FieldError::new(
                "options",
                "required",
                "a select or multi_select field needs at least one option",
            ));
        }
        if spec.options.len() > MAX_OPTIONS {
            invalid.push(FieldError::new(
                "options",
                "too_many",
                format!("must hold at most {MAX_OPTIONS} options"),
            ));
        }
        let mut seen = HashSet::new();
        for (i, option) in spec.options.iter().enumerate() {
            if !seen.insert(option.value.as_str()) {
                invalid.push(FieldError::new(
                    format!("options[{i}].value"),
                    "duplicate",
                    format!("`{}` is already an option of this field", option.value),
                ));
            }
        }
    } else if !spec.options.is_empty() {
        invalid.push(FieldError::new(
            "options",
            "not_allowed",
            "only select and multi_select fields have options",
        ));
    }
    match (t, spec.target) {
        (FieldType::Record, None) => invalid.push(FieldError::new(
            "target_record_type",
            "required",
            "a record field names the type of record it references: company, contact or project",
        )),
        (FieldType::Record, Some(_)) | (_, None) => {}
        (_, Some(_)) => invalid.push(FieldError::new(
            "target_record_type",
            "not_allowed",
            "only record fields reference a record type",
        )),
    }
    if spec.currency.is_some() && t != FieldType::Money {
        invalid.push(FieldError::new(
            "currency",
            "not_allowed",
            "only money fields have a currency",
        ));
    }
    if spec.unique && !t.can_be_unique() {
        invalid.push(FieldError::new(
            "unique",
            "not_allowed",
            format!("a {} field cannot be unique", t.as_str()),
        ));
    }
    let b = &spec.bounds;
    if (b.max_length.is_some() || b.pattern.is_some()) && !t.is_textual() {
        let field = if b.max_length.is_some() {
            "max_length"
        } else {
            "pattern"
        };
        invalid.push(FieldError::new(
            field,
            "not_allowed",
            "max_length and pattern bound text, long_text, url, email and phone fields",
        ));
    }
    if let Some(pattern) = &b.pattern
        && let Err(e) = compile_pattern(pattern)
    {
        invalid.push(FieldError::new("pattern", e.code, e.message));
    }
    if b.max_length == Some(0) {
        invalid.push(FieldError::new(
            "max_length",
            "out_of_range",
            "must be at least 1",
        ));
    }
    let mut bound_values = Vec::new();
    for (name, bound) in [("min", &b.min), ("max", &b.max)] {
        let Some(bound) = bound else { continue };
        if !t.is_ordered() {
            invalid.push(FieldError::new(
                name,
                "not_allowed",
                "min and max bound number, money, date and datetime fields",
            ));
            continue;
        }
        match order_key(t, bound) {
            Ok(key) => bound_values.push(key),
            Err(e) => invalid.push(FieldError::new(name, e.code, e.message)),
        }
    }
    if let [min, max] = bound_values.as_slice()
        && min > max
    {
        invalid.push(FieldError::new(
            "max",
            "out_of_range",
            "must not be less than min",
        ));
    }
    if invalid.is_empty()
        && let Some(default) = &spec.default
    {
        if spec.unique {
            invalid.push(FieldError::new(
                "default",
                "not_allowed",
                "a unique field cannot have a default: every record would share it",
            ));
        } else if let Err(e) = check_value(spec, default, None) {
            invalid.push(FieldError::new(
                e.field_suffix
                    .map_or_else(|| "default".to_owned(), |s| format!("default{s}")),
                e.code,
                e.message,
            ));
        }
    }
    invalid.into_result()
}

/// A lookup or rollup has its configuration and none of the parts that bound written values;
/// another field has no configuration.
fn check_computed_parts(spec: &FieldSpec, invalid: &mut Invalid) {
    let t = spec.field_type;
    match (t, &spec.computed) {
        (FieldType::Lookup, Some(Computed::Lookup(_)))
        | (FieldType::Rollup, Some(Computed::Rollup(_))) => {}
        (FieldType::Lookup, _) => invalid.push(FieldError::new(
            "lookup",
            "required",
            "a lookup field names the reference it follows and the field it shows: {\"through\": \"company_id\", \"field\": \"industry\"}",
        )),
        (FieldType::Rollup, _) => invalid.push(FieldError::new(
            "rollup",
            "required",
            "a rollup field names the related records, the function and the field it aggregates: {\"record_type\": \"project\", \"through\": \"company_id\", \"function\": \"count\"}",
        )),
        (_, Some(c)) => invalid.push(FieldError::new(
            match c {
                Computed::Lookup(_) => "lookup",
                Computed::Rollup(_) => "rollup",
            },
            "not_allowed",
            "only lookup and rollup fields have a lookup or rollup configuration",
        )),
        (_, None) => {}
    }
    if !t.is_computed() {
        return;
    }
    let parts = [
        ("required", spec.required),
        ("default", spec.default.is_some()),
        ("min", spec.bounds.min.is_some()),
        ("max", spec.bounds.max.is_some()),
        ("currency", spec.currency.is_some()),
    ];
    for (field, set) in parts {
        if set {
            invalid.push(FieldError::new(
                field,
                "not_allowed",
                "a lookup or rollup field is computed, never written: it takes no required, default, bounds or currency",
            ));
        }
    }
}

/// How a `min` or `max` compares: numbers as numbers, dates and date-times as their ISO text
/// (which sorts as they do, once normalised).
#[derive(Debug, Clone, PartialEq, PartialOrd)]
enum OrderKey {
    Number(f64),
    Text(String),
}

fn order_key(t: FieldType, value: &Value) -> Result<OrderKey, ValueError> {
    match t {
        FieldType::Number => number(value).map(OrderKey::Number),
        FieldType::Money => match value {
            Value::String(s) => crate::project::parse_amount(s)
                .map(|units| OrderKey::Number(units as f64 / 10_000.0)),
            _ => Err(ValueError::new(
                "invalid_amount",
                "must be a decimal amount as a string, such as \"12500.50\"",
            )),
        },
        FieldType::Date => date(value).map(|d| OrderKey::Text(d.to_string())),
        FieldType::DateTime => date_time(value).map(OrderKey::Text),
        _ => Err(ValueError::new("not_allowed", "is not ordered")),
    }
}

fn compile_pattern(pattern: &str) -> Result<regex::Regex, ValueError> {
    if pattern.chars().count() > MAX_PATTERN_CHARS {
        return Err(ValueError::new(
            "too_long",
            format!("must be at most {MAX_PATTERN_CHARS} characters"),
        ));
    }
    regex::RegexBuilder::new(pattern)
        .size_limit(1 << 20)
        .build()
        .map_err(|_| {
            ValueError::new(
                "invalid_pattern",
                "must be a regular expression in Rust's regex syntax (no look-around or back-references), such as ^[A-Z]{2}-[0-9]{4}$",
            )
        })
}

fn number(value: &Value) -> Result<f64, ValueError> {
    value
        .as_f64()
        .filter(|n| n.is_finite())
        .ok_or_else(|| ValueError::new("not_a_number", "must be a number"))
}

fn date(value: &Value) -> Result<NaiveDate, ValueError> {
    value
        .as_str()
        .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok())
        .ok_or_else(|| ValueError::new("invalid_date", "must be a date such as \"2026-12-31\""))
}

/// A date-time as stored: UTC, to the second, `Z` (so that values sort as text).
fn date_time(value: &Value) -> Result<String, ValueError> {
    value
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| {
            t.with_timezone(&Utc)
                .to_rfc3339_opts(SecondsFormat::Secs, true)
        })
        .ok_or_else(|| {
            ValueError::new(
                "invalid_datetime",
                "must be an RFC 3339 date-time such as \"2026-12-31T09:30:00Z\"",
            )
        })
}

fn text(value: &Value) -> Result<&str, ValueError> {
    value
        .as_str()
        .ok_or_else(|| ValueError::new("not_a_string", "must be a string"))
}

fn positive_id(value: &Value) -> Result<i64, ValueError> {
    value
        .as_i64()
        .filter(|id| *id > 0)
        .ok_or_else(|| ValueError::new("invalid_id", "must be a positive integer id"))
}

fn option_value<'a>(
    spec: &'a FieldSpec,
    raw: &Value,
    held: &dyn Fn(&str) -> bool,
) -> Result<&'a FieldOption, ValueError> {
    let raw = text(raw)?;
    let offered = || {
        spec.options
            .iter()
            .filter(|o| !o.archived)
            .map(|o| o.value.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match spec.options.iter().find(|o| o.value == raw) {
        Some(option) if !option.archived || held(raw) => Ok(option),
        Some(_) => Err(ValueError::new(
            "archived_option",
            format!(
                "`{raw}` is archived: records that hold it keep it, but it cannot be chosen anew; one of {}",
                offered()
            ),
        )),
        None => Err(ValueError::new(
            "invalid_choice",
            format!("must be one of {}", offered()),
        )),
    }
}

/// Checks one value against a field and returns it as stored (a date-time in UTC, an email
/// trimmed...). `previous` is the value the record held, which may keep an archived option.
pub fn check_value(
    spec: &FieldSpec,
    value: &Value,
    previous: Option<&Value>,
) -> Result<Value, ValueError> {
    let t = spec.field_type;
    let stored = match t {
        FieldType::Text | FieldType::LongText => {
            let s = text(value)?;
            let bad = s
                .chars()
                .any(|c| c.is_control() && !(t == FieldType::LongText && c.is_whitespace()));
            if bad {
                return Err(ValueError::new(
                    "control_character",
                    "must not contain control characters",
                ));
            }
            Value::String(s.to_owned())
        }
        FieldType::Url => Value::String(WebAddress::parse(text(value)?)?.as_str().to_owned()),
        FieldType::Email => Value::String(Email::parse(text(value)?)?.as_str().to_owned()),
        FieldType::Phone => {
            let s = text(value)?.trim();
            let ok = s.chars().any(|c| c.is_ascii_digit())
                && s.chars().all(|c| {
                    c.is_ascii_digit() || " +-().#/*x".contains(c) || c == 'e' || c == 't'
                });
            if !ok {
                return Err(ValueError::new(
                    "invalid_phone",
                    "must be a phone number: digits with spaces, +, -, ( ), . and an extension (such as \"+44 20 7946 0000 ext 12\")",
                ));
            }
            Value::String(s.to_owned())
        }
        FieldType::Number => {
            number(value)?;
            value.clone()
        }
        FieldType::Money => money(spec, value)?,
        FieldType::Date => Value::String(date(value)?.to_string()),
        FieldType::DateTime => Value::String(date_time(value)?),
        FieldType::Boolean => match value {
            Value::Bool(_) => value.clone(),
            _ => return Err(ValueError::new("not_a_boolean", "must be true or false")),
        },
        FieldType::Select => {
            let held = |v: &str| previous.and_then(Value::as_str) == Some(v);
            Value::String(option_value(spec, value, &held)?.value.clone())
        }
        FieldType::MultiSelect => {
            let Value::Array(items) = value else {
                return Err(ValueError::new(
                    "not_an_array",
                    "must be an array of option values",
                ));
            };
            if items.len() > MAX_SELECTED {
                return Err(ValueError::new(
                    "too_many",
                    format!("must hold at most {MAX_SELECTED} values"),
                ));
            }
            let before: BTreeSet<&str> = previous
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let held = |v: &str| before.contains(v);
            let mut chosen = Vec::with_capacity(items.len());
            let mut seen = HashSet::new();
            for (i, item) in items.iter().enumerate() {
                let option = option_value(spec, item, &held).map_err(|e| e.at(format!("[{i}]")))?;
                if seen.insert(option.value.as_str()) {
                    chosen.push(Value::String(option.value.clone()));
                }
            }
            Value::Array(chosen)
        }
        FieldType::User | FieldType::Record => Value::from(positive_id(value)?),
        FieldType::Lookup | FieldType::Rollup => return Err(read_only(t)),
    };
    check_bounds(spec, &stored)?;
    Ok(stored)
}

fn read_only(t: FieldType) -> ValueError {
    ValueError::new(
        "read_only",
        format!(
            "is a {} field, computed when the record is read: leave it out of the write (or send null)",
            t.as_str()
        ),
    )
}

fn money(spec: &FieldSpec, value: &Value) -> Result<Value, ValueError> {
    let shape = || {
        ValueError::new(
            "invalid_money",
            "must be an object {\"amount\": \"12500.50\", \"currency\": \"EUR\"}",
        )
    };
    let Value::Object(map) = value else {
        return Err(shape());
    };
    if map.keys().any(|k| k != "amount" && k != "currency") {
        return Err(shape());
    }
    let amount = map
        .get("amount")
        .and_then(Value::as_str)
        .ok_or_else(shape)?;
    let currency = match (map.get("currency"), &spec.currency) {
        (Some(Value::String(c)), Some(fixed)) if c != fixed => {
            return Err(ValueError::new(
                "wrong_currency",
                format!("this field's amounts are in {fixed}"),
            )
            .at(".currency"));
        }
        (Some(Value::String(c)), _) => c.clone(),
        (None, Some(fixed)) => fixed.clone(),
        _ => return Err(shape()),
    };
    let money = crate::project::Money::parse(amount, &currency)
        .map_err(|(part, e)| e.at(format!(".{part}")))?;
    Ok(serde_json::json!({"amount": money.amount(), "currency": money.currency}))
}

fn check_bounds(spec: &FieldSpec, stored: &Value) -> Result<(), ValueError> {
    let b = &spec.bounds;
    let t = spec.field_type;
    if t.is_textual() {
        let s = stored.as_str().unwrap_or_default();
        let max = b.max_length.map_or(t.default_max_length(), |m| m as usize);
        let length = s.chars().count();
        if length > max {
            return Err(ValueError::new(
                "too_long",
                format!("must be at most {max} characters (got {length})"),
            ));
        }
        if let Some(pattern) = &b.pattern
            && let Ok(re) = compile_pattern(pattern)
            && !re.is_match(s)
        {
            return Err(ValueError::new(
                "pattern_mismatch",
                format!("must match the pattern {pattern}"),
            ));
        }
    }
    if t.is_ordered() && (b.min.is_some() || b.max.is_some()) {
        let key = match t {
            FieldType::Money => stored.get("amount").map_or(
                Err(ValueError::new("invalid_money", "has no amount")),
                |a| order_key(t, a),
            )?,
            _ => order_key(t, stored)?,
        };
        if let Some(min) = b.min.as_ref().and_then(|m| order_key(t, m).ok())
            && key < min
        {
            return Err(ValueError::new(
                "out_of_range",
                format!("must be at least {}", show(b.min.as_ref())),
            ));
        }
        if let Some(max) = b.max.as_ref().and_then(|m| order_key(t, m).ok())
            && key > max
        {
            return Err(ValueError::new(
                "out_of_range",
                format!("must be at most {}", show(b.max.as_ref())),
            ));
        }
    }
    Ok(())
}

fn show(value: Option<&Value>) -> String {
    match value {
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
        None => String::new(),
    }
}

/// Whether a record is written for the first time (defaults and required fields apply) or
/// changed (only the keys the change names are checked; a required field cannot be cleared).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Write {
    Create,
    Update,
}

/// A reference a value makes, which only the store can check: a team member or a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueRef {
    /// `custom_fields.<key>`
    pub field: String,
    pub target: RefTarget,
    pub id: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefTarget {
    User,
    Record(FieldRecordType),
}

/// What a unique field's value must not share with another record.
#[derive(Debug, Clone, PartialEq)]
pub struct UniqueValue {
    pub field: String,
    pub key: String,
    pub value: Value,
}

/// A record's custom fields after the check: as stored, and what the store still has to check.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Checked {
    pub values: Map<String, Value>,
    pub refs: Vec<ValueRef>,
    pub unique: Vec<UniqueValue>,
}

/// Checks a record's custom fields against the account's definitions of its type.
/// `values` is the whole object the record will hold; `previous` what it held (None on
/// create). Keys with no definition pass as they are. On create, a missing key takes its
/// field's default, and a required field without one is an error; on update, a required
/// field cannot be removed, and values that did not change are not checked again (an old value
/// stays readable under a definition that changed since).
pub fn check_values(
    definitions: &[FieldDefinition],
    values: &Map<String, Value>,
    previous: Option<&Map<String, Value>>,
    write: Write,
) -> Result<Checked, Invalid> {
    let mut invalid = Invalid::default();
    let mut checked = Checked {
        values: values.clone(),
        ..Checked::default()
    };
    for def in definitions {
        let path = format!("custom_fields.{}", def.key);
        if def.spec.field_type.is_computed() {
            // Never stored: a value sent is refused, a null (a merge patch's removal) dropped.
            match values.get(&def.key) {
                Some(Value::Null) => {
                    checked.values.remove(&def.key);
                }
                Some(_) => {
                    let e = read_only(def.spec.field_type);
                    invalid.push(FieldError::new(path, e.code, e.message));
                }
                None => {}
            }
            continue;
        }
        let before = previous.and_then(|p| p.get(&def.key));
        match values.get(&def.key).filter(|v| !v.is_null()) {
            None => {
                let default = def.spec.default.clone().filter(|_| write == Write::Create);
                if let Some(default) = default {
                    checked.values.insert(def.key.clone(), default);
                } else if def.spec.required && (write == Write::Create || before.is_some()) {
                    invalid.push(FieldError::new(
                        path,
                        "required",
                        format!("{} is required", def.spec.label),
                    ));
                }
            }
            Some(value) if before == Some(value) => {}
            Some(value) => match check_value(&def.spec, value, before) {
                Ok(stored) => {
                    match def.spec.field_type {
                        FieldType::User => checked.refs.push(ValueRef {
                            field: path.clone(),
                            target: RefTarget::User,
                            id: stored.as_i64().unwrap_or_default(),
                        }),
                        FieldType::Record => {
                            if let Some(target) = def.spec.target {
                                checked.refs.push(ValueRef {
                                    field: path.clone(),
                                    target: RefTarget::Record(target),
                                    id: stored.as_i64().unwrap_or_default(),
                                });
                            }
                        }
                        _ => {}
                    }
                    if def.spec.unique {
                        checked.unique.push(UniqueValue {
                            field: path.clone(),
                            key: def.key.clone(),
                            value: stored.clone(),
                        });
                    }
                    checked.values.insert(def.key.clone(), stored);
                }
                Err(e) => invalid.push(FieldError::new(
                    e.field_suffix
                        .map_or_else(|| path.clone(), |s| format!("{path}{s}")),
                    e.code,
                    e.message,
                )),
            },
        }
    }
    invalid.into_result().map(|()| checked)
}

/// Whether a value a record already holds fits a (changed) definition; for the count of
/// misfits that refuses a change of type, options or bounds.
pub fn fits(spec: &FieldSpec, value: &Value) -> bool {
    value.is_null()
        || (!spec.field_type.is_computed() && check_value(spec, value, Some(value)).is_ok())
}

/// A money field's currency, checked.
pub fn parse_currency(raw: &str) -> Result<String, ValueError> {
    Currency::parse(raw).map(|c| c.as_str().to_owned())
}

impl FieldRecordType {
    /// The record type a filter of the filter language speaks of.
    pub fn of_target(target: crate::filter::Target) -> Self {
        use crate::filter::Target;
        match target {
            Target::Company => FieldRecordType::Company,
            Target::Contact => FieldRecordType::Contact,
            Target::Project => FieldRecordType::Project,
        }
    }
}

/// What the filter language compares a custom field's values as.
pub fn filter_kind(spec: &FieldSpec) -> crate::filter::FieldKind {
    use crate::filter::FieldKind;
    match spec.field_type {
        FieldType::Text
        | FieldType::LongText
        | FieldType::Url
        | FieldType::Email
        | FieldType::Phone => FieldKind::Text,
        FieldType::Number | FieldType::Money => FieldKind::Number,
        FieldType::Date => FieldKind::Date,
        FieldType::DateTime => FieldKind::DateTime,
        FieldType::Boolean => FieldKind::Boolean,
        FieldType::Select => {
            FieldKind::Choice(Some(spec.options.iter().map(|o| o.value.clone()).collect()))
        }
        FieldType::MultiSelect => FieldKind::Tags,
        FieldType::User | FieldType::Record => FieldKind::Id,
        // Never reached: `parse_filter` refuses computed fields first.
        FieldType::Lookup | FieldType::Rollup => FieldKind::Text,
    }
}

/// Parses a filter of the filter language for a record type whose custom fields are
/// `definitions`.
pub fn parse_filter(
    definitions: &[FieldDefinition],
    raw: &Value,
    root: &str,
    target: crate::filter::Target,
    now: DateTime<Utc>,
) -> Result<crate::filter::Filter, Invalid> {
    refuse_computed_in_filter(definitions, raw, root)?;
    let custom = |key: &str| {
        definitions
            .iter()
            .find(|d| d.key == key && !d.spec.field_type.is_computed())
            .map(|d| filter_kind(&d.spec))
    };
    crate::filter::parse(raw, root, target, &custom, now)
}

/// The error code of a filter condition on a lookup or rollup field (answered as a 400: not
/// supported, rather than a value to fix).
pub const NOT_FILTERABLE: &str = "not_filterable";

/// The conditions of a raw filter that name a lookup or rollup field: their values are
/// computed when records are read, so no index (nor row) holds them to filter on.
fn refuse_computed_in_filter(
    definitions: &[FieldDefinition],
    raw: &Value,
    root: &str,
) -> Result<(), Invalid> {
    fn walk(defs: &[FieldDefinition], raw: &Value, path: &str, out: &mut Invalid, depth: usize) {
        if depth > crate::filter::MAX_DEPTH + 1 {
            return;
        }
        let Value::Object(node) = raw else { return };
        for group in ["and", "or"] {
            if let Some(Value::Array(items)) = node.get(group) {
                for (i, item) in items.iter().enumerate() {
                    walk(defs, item, &format!("{path}.{group}[{i}]"), out, depth + 1);
                }
            }
        }
        if let Some(inner) = node.get("not") {
            walk(defs, inner, &format!("{path}.not"), out, depth + 1);
        }
        let key = node
            .get("field")
            .and_then(Value::as_str)
            .and_then(|f| f.strip_prefix(crate::filter::CUSTOM_PREFIX));
        if let Some(def) = key.and_then(|k| defs.iter().find(|d| d.key == k))
            && def.spec.field_type.is_computed()
        {
            out.push(FieldError::new(
                format!("{path}.field"),
                NOT_FILTERABLE,
                format!(
                    "`custom_fields.{}` is a {} field, computed when records are read: it cannot be filtered or sorted on",
                    def.key,
                    def.spec.field_type.as_str()
                ),
            ));
        }
    }
    if !definitions.iter().any(|d| d.spec.field_type.is_computed()) {
        return Ok(());
    }
    let mut invalid = Invalid::default();
    walk(definitions, raw, root, &mut invalid, 0);
    invalid.into_result()
}

/// What lookups and rollups know of the custom fields `definitions` (of every record type).
pub fn resolver(
    definitions: &[FieldDefinition],
) -> impl Fn(crate::filter::Target, &str) -> Option<CustomInfo> + '_ {
    move |target, key| {
        let record_type = FieldRecordType::of_target(target);
        let def = definitions
            .iter()
            .find(|d| d.record_type == record_type && d.key == key)?;
        Some(custom_info(def))
    }
}

fn custom_info(def: &FieldDefinition) -> CustomInfo {
    let s = &def.spec;
    let kind = match s.field_type {
        FieldType::Number => ValueKind::Number,
        FieldType::Money => ValueKind::Money(s.currency.clone()),
        FieldType::Date => ValueKind::Date,
        FieldType::DateTime => ValueKind::DateTime,
        FieldType::Boolean => ValueKind::Boolean,
        FieldType::User | FieldType::Record => ValueKind::Id,
        FieldType::MultiSelect => ValueKind::List,
        FieldType::Text
        | FieldType::LongText
        | FieldType::Url
        | FieldType::Email
        | FieldType::Phone
        | FieldType::Select => ValueKind::Text,
        FieldType::Lookup | FieldType::Rollup => ValueKind::Other,
    };
    CustomInfo {
        kind,
        references: match s.field_type {
            FieldType::Record => s.target.map(|t| match t {
                FieldRecordType::Company => crate::filter::Target::Company,
                FieldRecordType::Contact => crate::filter::Target::Contact,
                FieldRecordType::Project => crate::filter::Target::Project,
            }),
            _ => None,
        },
        computed: s.field_type.is_computed(),
    }
}

impl FieldRecordType {
    /// The filter language's name for the record type.
    pub fn target(self) -> crate::filter::Target {
        use crate::filter::Target;
        match self {
            FieldRecordType::Company => Target::Company,
            FieldRecordType::Contact => Target::Contact,
            FieldRecordType::Project => Target::Project,
        }
    }
}

/// A lookup or rollup configuration as a request states it.
#[derive(Debug, Clone)]
pub enum RawComputed {
    Lookup(RawLookup),
    Rollup(RawRollup),
}

/// The lookup and rollup fields among `definitions` that compute from the custom field `key`
/// of `record_type`: a lookup through it or showing it, a rollup through it, aggregating it
/// or filtering on it. Deleting it would leave their values null, so it is refused while
/// they exist.
pub fn dependents<'a>(
    record_type: FieldRecordType,
    key: &str,
    definitions: &'a [FieldDefinition],
) -> Vec<&'a FieldDefinition> {
    let names = |on: FieldRecordType, field: &computed::FieldRef| {
        on == record_type && matches!(field, computed::FieldRef::Custom(k) if k == key)
    };
    let named_in_filter = |on: FieldRecordType, filter: &Value| {
        on == record_type && mentions_field(filter, &format!("custom_fields.{key}"))
    };
    definitions
        .iter()
        .filter(|d| match &d.spec.computed {
            Some(Computed::Lookup(l)) => {
                names(d.record_type, &l.through)
                    || names(FieldRecordType::of_target(l.target), &l.field)
            }
            Some(Computed::Rollup(r)) => {
                let related = FieldRecordType::of_target(r.record_type);
                names(related, &r.through)
                    || r.field.as_ref().is_some_and(|f| names(related, f))
                    || r.filter
                        .as_ref()
                        .is_some_and(|f| named_in_filter(related, f))
            }
            None => false,
        })
        .collect()
}

/// Whether a filter of the filter language names `field` in any of its conditions.
fn mentions_field(filter: &Value, field: &str) -> bool {
    match filter {
        Value::Object(map) => {
            map.get("field").and_then(Value::as_str) == Some(field)
                || map.values().any(|v| mentions_field(v, field))
        }
        Value::Array(items) => items.iter().any(|v| mentions_field(v, field)),
        _ => false,
    }
}

/// Checks a lookup or rollup configuration of a field `key` of `record_type` against the
/// account's definitions (of every record type): references, fields, function and filter
/// (parsed as of `now`). Errors are under `lookup.*` and `rollup.*`.
pub fn resolve_computed(
    record_type: FieldRecordType,
    key: &str,
    raw: &RawComputed,
    definitions: &[FieldDefinition],
    now: DateTime<Utc>,
) -> Result<Computed, Invalid> {
    let others = definitions
        .iter()
        .filter(|d| d.record_type == record_type && d.key != key && d.spec.field_type.is_computed())
        .count();
    if others >= computed::MAX_COMPUTED {
        let field = match raw {
            RawComputed::Lookup(_) => "lookup",
            RawComputed::Rollup(_) => "rollup",
        };
        return Err(Invalid::one(
            field,
            "too_many",
            format!(
                "a {} has at most {} lookup and rollup fields: each is computed for every record read",
                record_type.as_str(),
                computed::MAX_COMPUTED
            ),
        ));
    }
    let custom = resolver(definitions);
    let this = record_type.target();
    match raw {
        RawComputed::Lookup(l) => computed::check_lookup(this, l, &custom).map(Computed::Lookup),
        RawComputed::Rollup(r) => {
            let rollup = computed::check_rollup(this, r, &custom)?;
            if let Some(filter) = &rollup.filter {
                let related = FieldRecordType::of_target(rollup.record_type);
                let of_related: Vec<FieldDefinition> = definitions
                    .iter()
                    .filter(|d| d.record_type == related)
                    .cloned()
                    .collect();
                parse_filter(
                    &of_related,
                    filter,
                    "rollup.filter",
                    rollup.record_type,
                    now,
                )?;
            }
            Ok(Computed::Rollup(rollup))
        }
    }
}

/// The JSON Schema of one custom field's value, as `GET /v1/schema/{record_type}` serves it.
/// `definitions` (of every record type) describe what lookups and rollups compute from.
pub fn value_schema(def: &FieldDefinition, definitions: &[FieldDefinition]) -> Value {
    use serde_json::json;
    let s = &def.spec;
    if let Some(computed) = &s.computed {
        return computed_schema(def, computed, definitions);
    }
    let mut schema = match s.field_type {
        FieldType::Text | FieldType::LongText | FieldType::Phone => json!({"type": "string"}),
        FieldType::Url => json!({"type": "string", "format": "uri"}),
        FieldType::Email => json!({"type": "string", "format": "email"}),
        FieldType::Number => json!({"type": "number"}),
        FieldType::Money => json!({
            "type": "object",
            "properties": {
                "amount": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]{1,4})?$"},
                "currency": match &s.currency {
                    Some(c) => json!({"type": "string", "const": c}),
                    None => json!({"type": "string", "pattern": "^[A-Z]{3}$"}),
                },
            },
            "required": if s.currency.is_some() { json!(["amount"]) } else { json!(["amount", "currency"]) },
            "additionalProperties": false,
        }),
        FieldType::Date => json!({"type": "string", "format": "date"}),
        FieldType::DateTime => json!({"type": "string", "format": "date-time"}),
        FieldType::Boolean => json!({"type": "boolean"}),
        FieldType::Select => json!({"type": "string", "enum": active_options(s)}),
        FieldType::MultiSelect => json!({
            "type": "array",
            "items": {"type": "string", "enum": active_options(s)},
            "uniqueItems": true,
            "maxItems": MAX_SELECTED,
        }),
        FieldType::User | FieldType::Record => json!({"type": "integer", "minimum": 1}),
        FieldType::Lookup | FieldType::Rollup => json!({}),
    };
    let Some(obj) = schema.as_object_mut() else {
        return schema;
    };
    obj.insert("title".into(), Value::String(s.label.clone()));
    if let Some(d) = &s.description {
        obj.insert("description".into(), Value::String(d.clone()));
    }
    if s.field_type.is_textual() {
        let max = s
            .bounds
            .max_length
            .map_or(s.field_type.default_max_length(), |m| m as usize);
        obj.insert("maxLength".into(), Value::from(max));
        if let Some(p) = &s.bounds.pattern {
            obj.insert("pattern".into(), Value::String(p.clone()));
        }
    }
    match s.field_type {
        FieldType::Number => {
            if let Some(min) = &s.bounds.min {
                obj.insert("minimum".into(), min.clone());
            }
            if let Some(max) = &s.bounds.max {
                obj.insert("maximum".into(), max.clone());
            }
        }
        FieldType::Date | FieldType::DateTime => {
            if let Some(min) = &s.bounds.min {
                obj.insert("formatMinimum".into(), min.clone());
            }
            if let Some(max) = &s.bounds.max {
                obj.insert("formatMaximum".into(), max.clone());
            }
        }
        _ => {}
    }
    if let Some(default) = &s.default {
        obj.insert("default".into(), default.clone());
    }
    if s.field_type.has_options() {
        let labels: Vec<Value> = sorted_options(s)
            .into_iter()
            .map(|o| json!({"value": o.value, "label": o.label, "archived": o.archived}))
            .collect();
        obj.insert("x-options".into(), Value::Array(labels));
    }
    if let Some(target) = s.target {
        obj.insert(
            "x-record-type".into(),
            Value::String(target.as_str().into()),
        );
    }
    if s.field_type == FieldType::User {
        obj.insert("x-references".into(), Value::String("user".into()));
    }
    obj.insert(
        "x-field-type".into(),
        Value::String(s.field_type.as_str().into()),
    );
    obj.insert(
        "x-group".into(),
        s.group.clone().map_or(Value::Null, Value::String),
    );
    obj.insert("x-unique".into(), Value::Bool(s.unique));
    schema
}

fn money_schema(currency: Option<&String>) -> Value {
    use serde_json::json;
    json!({
        "type": "object",
        "properties": {
            "amount": {"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]{1,4})?$"},
            "currency": match currency {
                Some(c) => json!({"type": "string", "const": c}),
                None => json!({"type": "string", "pattern": "^[A-Z]{3}$"}),
            },
        },
        "required": ["amount", "currency"],
        "additionalProperties": false,
    })
}

/// A lookup's or rollup's schema: read-only, the shape of what it computes (a looked-up
/// custom field's own schema), `null` when there is nothing to compute from (no reference,
/// no related record for min, max and avg).
fn computed_schema(
    def: &FieldDefinition,
    computed: &Computed,
    definitions: &[FieldDefinition],
) -> Value {
    use serde_json::json;
    let custom = resolver(definitions);
    let shown = match computed {
        Computed::Lookup(l) => match &l.field {
            computed::FieldRef::Custom(key) => definitions
                .iter()
                .find(|d| d.record_type == FieldRecordType::of_target(l.target) && &d.key == key)
                .filter(|d| !d.spec.field_type.is_computed()),
            computed::FieldRef::Builtin(_) => None,
        },
        Computed::Rollup(_) => None,
    };
    let is_count =
        matches!(computed, Computed::Rollup(r) if r.function == computed::RollupFunction::Count);
    let mut schema = match shown {
        Some(shown) => {
            let mut schema = value_schema(shown, definitions);
            if let Some(obj) = schema.as_object_mut() {
                for k in ["default", "x-unique", "x-group"] {
                    obj.remove(k);
                }
            }
            schema
        }
        None if is_count => json!({"type": "integer", "minimum": 0}),
        None => match computed::value_kind(computed, &custom) {
            ValueKind::Number => json!({"type": "number"}),
            ValueKind::Money(c) => money_schema(c.as_ref()),
            ValueKind::Date => json!({"type": "string", "format": "date"}),
            ValueKind::DateTime => json!({"type": "string", "format": "date-time"}),
            ValueKind::Boolean => json!({"type": "boolean"}),
            ValueKind::Id => json!({"type": "integer", "minimum": 1}),
            ValueKind::Text => json!({"type": "string"}),
            ValueKind::List | ValueKind::Other => json!({}),
        },
    };
    let Some(obj) = schema.as_object_mut() else {
        return schema;
    };
    if !is_count && let Some(Value::String(t)) = obj.get("type").cloned() {
        obj.insert("type".into(), json!([t, "null"]));
    }
    obj.insert("title".into(), Value::String(def.spec.label.clone()));
    match &def.spec.description {
        Some(d) => {
            obj.insert("description".into(), Value::String(d.clone()));
        }
        None => {
            obj.remove("description");
        }
    }
    obj.insert("readOnly".into(), Value::Bool(true));
    obj.insert(
        "x-field-type".into(),
        Value::String(def.spec.field_type.as_str().into()),
    );
    obj.insert(
        format!("x-{}", def.spec.field_type.as_str()),
        Value::Object(computed.wire()),
    );
    obj.insert(
        "x-group".into(),
        def.spec.group.clone().map_or(Value::Null, Value::String),
    );
    schema
}

fn sorted_options(spec: &FieldSpec) -> Vec<&FieldOption> {
    let mut options: Vec<&FieldOption> = spec.options.iter().collect();
    options.sort_by_key(|o| o.position);
    options
}

fn active_options(spec: &FieldSpec) -> Vec<String> {
    sorted_options(spec)
        .into_iter()
        .filter(|o| !o.archived)
        .map(|o| o.value.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn spec(t: FieldType) -> FieldSpec {
        FieldSpec {
            label: "Tier".into(),
            description: None,
            group: None,
            field_type: t,
            options: Vec::new(),
            required: false,
            unique: false,
            default: None,
            bounds: Bounds::default(),
            target: None,
            currency: None,
            position: 0,
            computed: None,
        }
    }

    /// The error of a result that must be one.
    fn err<T: std::fmt::Debug, E>(result: Result<T, E>) -> E {
        match result {
            Err(e) => e,
            Ok(v) => panic!("expected an error, got {v:?}"),
        }
    }

    /// The value of a result that must be one.
    fn ok<T, E: std::fmt::Debug>(result: Result<T, E>) -> T {
        match result {
            Ok(v) => v,
            Err(e) => panic!("expected a value, got {e:?}"),
        }
    }

    fn option(value: &str, archived: bool) -> FieldOption {
        FieldOption {
            value: value.into(),
            label: value.into(),
            position: 0,
            archived,
        }
    }

    fn def(key: &str, spec: FieldSpec) -> FieldDefinition {
        FieldDefinition {
            id: 1,
            record_type: FieldRecordType::Company,
            key: key.into(),
            spec,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        }
    }

    #[test]
    fn keys_are_lowercase_identifiers() {
        assert!(parse_key("contract_end").is_ok());
        for bad in ["", "Tier", "1st", "a-b", "tier ", &"a".repeat(51)] {
            assert!(parse_key(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn a_select_takes_only_its_active_options_but_keeps_an_archived_one_it_holds() {
        let mut s = spec(FieldType::Select);
        s.options = vec![option("gold", false), option("bronze", true)];
        assert_eq!(check_value(&s, &json!("gold"), None), Ok(json!("gold")));
        assert_eq!(
            check_value(&s, &json!("bronze"), None).map_err(|e| e.code),
            Err("archived_option")
        );
        assert!(check_value(&s, &json!("bronze"), Some(&json!("bronze"))).is_ok());
        assert_eq!(
            check_value(&s, &json!("silver"), None).map_err(|e| e.code),
            Err("invalid_choice")
        );
    }

    #[test]
    fn a_multi_select_names_the_bad_element() {
        let mut s = spec(FieldType::MultiSelect);
        s.options = vec![option("a", false), option("b", false)];
        let e = err(check_value(&s, &json!(["a", "x"]), None));
        assert_eq!(
            (e.code, e.field_suffix.as_deref()),
            ("invalid_choice", Some("[1]"))
        );
        assert_eq!(check_value(&s, &json!(["b", "b"]), None), Ok(json!(["b"])));
    }

    #[test]
    fn numbers_and_dates_keep_within_their_bounds() {
        let mut s = spec(FieldType::Number);
        s.bounds.min = Some(json!(0));
        s.bounds.max = Some(json!(10));
        assert!(check_value(&s, &json!(10), None).is_ok());
        assert_eq!(
            check_value(&s, &json!(11), None).map_err(|e| e.code),
            Err("out_of_range")
        );
        let mut d = spec(FieldType::Date);
        d.bounds.min = Some(json!("2026-01-01"));
        assert!(check_value(&d, &json!("2026-06-30"), None).is_ok());
        assert!(check_value(&d, &json!("2025-12-31"), None).is_err());
        assert!(check_value(&d, &json!("30/06/2026"), None).is_err());
    }

    #[test]
    fn date_times_are_stored_in_utc() {
        let s = spec(FieldType::DateTime);
        assert_eq!(
            check_value(&s, &json!("2026-12-07T10:00:00+01:00"), None),
            Ok(json!("2026-12-07T09:00:00Z"))
        );
    }

    #[test]
    fn text_keeps_to_its_length_and_pattern() {
        let mut s = spec(FieldType::Text);
        s.bounds.max_length = Some(5);
        s.bounds.pattern = Some("^[A-Z]+$".into());
        assert!(check_value(&s, &json!("ABC"), None).is_ok());
        assert_eq!(
            check_value(&s, &json!("ABCDEF"), None).map_err(|e| e.code),
            Err("too_long")
        );
        assert_eq!(
            check_value(&s, &json!("abc"), None).map_err(|e| e.code),
            Err("pattern_mismatch")
        );
    }

    #[test]
    fn money_takes_the_fields_currency() {
        let mut s = spec(FieldType::Money);
        s.currency = Some("EUR".into());
        assert_eq!(
            check_value(&s, &json!({"amount": "12.5"}), None),
            Ok(json!({"amount": "12.50", "currency": "EUR"}))
        );
        assert!(check_value(&s, &json!({"amount": "1", "currency": "USD"}), None).is_err());
    }

    #[test]
    fn a_spec_refuses_parts_its_type_has_not() {
        let mut s = spec(FieldType::Boolean);
        s.options = vec![option("a", false)];
        s.bounds.max_length = Some(3);
        s.unique = true;
        let fields: Vec<String> = err(check_spec(&s)).0.into_iter().map(|e| e.field).collect();
        assert_eq!(fields, ["options", "unique", "max_length"]);
        let mut r = spec(FieldType::Record);
        assert!(check_spec(&r).is_err());
        r.target = Some(FieldRecordType::Company);
        assert!(check_spec(&r).is_ok());
    }

    #[test]
    fn a_default_must_be_a_valid_value() {
        let mut s = spec(FieldType::Select);
        s.options = vec![option("gold", false)];
        s.default = Some(json!("silver"));
        assert_eq!(err(check_spec(&s)).0[0].field, "default");
    }

    #[test]
    fn create_applies_defaults_and_requires_required_fields() {
        let mut tier = spec(FieldType::Select);
        tier.options = vec![option("gold", false)];
        tier.default = Some(json!("gold"));
        let mut region = spec(FieldType::Text);
        region.required = true;
        let defs = [def("tier", tier), def("region", region)];
        let errors = err(check_values(&defs, &Map::new(), None, Write::Create));
        assert_eq!(errors.0[0].field, "custom_fields.region");
        let values = json!({"region": "EMEA", "free": 1});
        let checked = ok(check_values(
            &defs,
            ok(values.as_object().ok_or(())),
            None,
            Write::Create,
        ));
        assert_eq!(
            Value::Object(checked.values),
            json!({"region": "EMEA", "free": 1, "tier": "gold"})
        );
    }

    #[test]
    fn an_update_cannot_clear_a_required_field_but_need_not_fill_one() {
        let mut region = spec(FieldType::Text);
        region.required = true;
        let defs = [def("region", region)];
        let before = json!({"region": "EMEA"});
        let cleared = check_values(&defs, &Map::new(), before.as_object(), Write::Update);
        assert!(cleared.is_err());
        assert!(check_values(&defs, &Map::new(), Some(&Map::new()), Write::Update).is_ok());
    }

    #[test]
    fn unchanged_values_are_not_checked_again() {
        let mut n = spec(FieldType::Number);
        n.bounds.max = Some(json!(5));
        let defs = [def("score", n)];
        let held = json!({"score": 9});
        assert!(
            check_values(
                &defs,
                &ok(held.as_object().cloned().ok_or(())),
                held.as_object(),
                Write::Update
            )
            .is_ok()
        );
    }
}
