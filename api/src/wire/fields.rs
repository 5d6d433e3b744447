//! Field definition bodies: the account's typed custom fields.

use chrono::{DateTime, Utc};
use domain::Invalid;
use domain::computed::{Computed, RawLookup, RawRollup};
use domain::fields::{
    self, Bounds, FieldDefinition, FieldOption, FieldRecordType, FieldSpec, FieldType, RawComputed,
};
use domain::validation::ValueError;
use domain::values::{Description, Label};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{double_option, list_of};

/// One choice of a select or multi-select field (a tiny+ category).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptionBody {
    /// What records hold: 1 to 100 characters, unique within the field; never changes once
    /// records hold it (archive an option instead of removing it).
    #[schema(example = "architecture", max_length = 100)]
    pub value: String,
    /// What people see; defaults to the value.
    #[schema(example = "Architecture", max_length = 100)]
    pub label: Option<String>,
    /// Order in forms; defaults to the option's place in the list.
    pub position: Option<i32>,
    /// An archived option is no longer offered, but records that hold it keep it.
    #[serde(default)]
    pub archived: bool,
}

/// What a lookup field shows: through a reference of the record, one field of the record
/// referenced.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"through": "company_id", "field": "industry"}))]
pub struct LookupBody {
    /// The reference followed: a built-in one (a project's or contact's `company_id`, a
    /// contact's `reports_to_id`) or `custom_fields.<key>` of a `record` field of the same
    /// record type.
    #[schema(example = "company_id", max_length = 100)]
    pub through: String,
    /// The field of the referenced record shown: a built-in field (`industry`) or
    /// `custom_fields.<key>`; not tags, a multi_select, nor another lookup or rollup.
    #[schema(example = "industry", max_length = 100)]
    pub field: String,
}

/// A lookup as answers show it.
#[derive(Debug, Serialize, ToSchema)]
pub struct LookupOut {
    #[schema(example = "company_id")]
    pub through: String,
    /// The record type `through` points at.
    #[schema(schema_with = super::schema::field_record_type)]
    pub record_type: String,
    #[schema(example = "industry")]
    pub field: String,
}

/// What a rollup field aggregates: the records of `record_type` whose reference `through`
/// points at this record, narrowed by `filter`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"record_type": "project", "through": "company_id", "function": "sum", "field": "value", "currency": "EUR", "filter": {"field": "state", "op": "eq", "value": "won"}}))]
pub struct RollupBody {
    /// The related records' type.
    #[schema(schema_with = super::schema::field_record_type)]
    pub record_type: String,
    /// Their reference to this record: a built-in one (`company_id` of projects or contacts
    /// for a company, `reports_to_id` of contacts for a contact) or `custom_fields.<key>` of
    /// their `record` field that targets this record type.
    #[schema(example = "company_id", max_length = 100)]
    pub through: String,
    /// `count` counts the related records; `sum` and `avg` take a number or money field,
    /// `min` and `max` a number, money, date or datetime field.
    #[schema(schema_with = super::schema::rollup_function)]
    pub function: String,
    /// The related records' field aggregated (built-in or `custom_fields.<key>`); none for
    /// `count`.
    #[schema(example = "value", max_length = 100)]
    pub field: Option<String>,
    /// For a money field: the currency aggregated (amounts in other currencies are left
    /// out). Required unless the field fixes one.
    #[schema(example = "EUR")]
    pub currency: Option<String>,
    /// A filter of the filter language over the related records (as in
    /// `POST /v1/{records}/query`), such as open or won projects; relative dates move with
    /// the clock.
    #[serde(default, deserialize_with = "super::strict_json::optional")]
    #[schema(value_type = Object, nullable = true)]
    pub filter: Option<Value>,
}

impl LookupBody {
    fn raw(&self) -> RawComputed {
        RawComputed::Lookup(RawLookup {
            through: self.through.clone(),
            field: self.field.clone(),
        })
    }
}

impl RollupBody {
    fn raw(&self) -> RawComputed {
        RawComputed::Rollup(RawRollup {
            record_type: self.record_type.clone(),
            through: self.through.clone(),
            function: self.function.clone(),
            field: self.field.clone(),
            currency: self.currency.clone(),
            filter: self.filter.clone(),
        })
    }
}

/// A typed custom field of a record type. Values live in the records' `custom_fields` under
/// `key`, and every write of a record is checked against the definition. A `lookup` or
/// `rollup` field's value is computed whenever a record is read and answered under its key
/// (read-only: a write that names it is refused with 422; it cannot be filtered or sorted on).
#[derive(Debug, Serialize, ToSchema)]
pub struct FieldOut {
    #[schema(example = 4)]
    pub id: i64,
    #[schema(schema_with = super::schema::field_record_type)]
    pub record_type: String,
    /// The field's key in `custom_fields`; never changes.
    #[schema(example = "sector")]
    pub key: String,
    #[schema(example = "Sector")]
    pub label: String,
    #[schema(required = true)]
    pub description: Option<String>,
    /// A heading that forms group fields under.
    #[schema(required = true, example = "Classification")]
    pub group: Option<String>,
    #[serde(rename = "type")]
    #[schema(schema_with = super::schema::field_type)]
    pub field_type: String,
    /// For select and multi-select fields; empty otherwise.
    pub options: Vec<OptionBody>,
    pub required: bool,
    pub unique: bool,
    /// Taken by a record created without a value.
    #[schema(required = true, value_type = Object, nullable = true)]
    pub default: Option<Value>,
    #[schema(required = true, value_type = Object, nullable = true)]
    pub min: Option<Value>,
    #[schema(required = true, value_type = Object, nullable = true)]
    pub max: Option<Value>,
    #[schema(required = true)]
    pub max_length: Option<u32>,
    #[schema(required = true)]
    pub pattern: Option<String>,
    #[schema(required = true, schema_with = super::schema::field_record_type_or_null)]
    pub target_record_type: Option<String>,
    #[schema(required = true, example = "EUR")]
    pub currency: Option<String>,
    pub position: i32,
    /// For lookup fields: the reference followed and the field shown.
    #[schema(required = true, nullable = true)]
    pub lookup: Option<LookupOut>,
    /// For rollup fields: what is aggregated, how.
    #[schema(required = true, nullable = true)]
    pub rollup: Option<RollupBody>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

fn option_out(o: FieldOption) -> OptionBody {
    OptionBody {
        value: o.value,
        label: Some(o.label),
        position: Some(o.position),
        archived: o.archived,
    }
}

impl From<FieldDefinition> for FieldOut {
    fn from(d: FieldDefinition) -> Self {
        let s = d.spec;
        let (lookup, rollup) = match &s.computed {
            Some(Computed::Lookup(l)) => (
                Some(LookupOut {
                    through: l.through.name(),
                    record_type: FieldRecordType::of_target(l.target).as_str().to_owned(),
                    field: l.field.name(),
                }),
                None,
            ),
            Some(Computed::Rollup(r)) => (
                None,
                Some(RollupBody {
                    record_type: r.record_type.as_str().to_owned(),
                    through: r.through.name(),
                    function: r.function.as_str().to_owned(),
                    field: r.field.as_ref().map(|f| f.name()),
                    currency: r.currency.clone(),
                    filter: r.filter.clone(),
                }),
            ),
            None => (None, None),
        };
        let mut options: Vec<OptionBody> = s.options.into_iter().map(option_out).collect();
        options.sort_by_key(|o| o.position);
        FieldOut {
            id: d.id,
            record_type: d.record_type.as_str().to_owned(),
            key: d.key,
            label: s.label,
            description: s.description,
            group: s.group,
            field_type: s.field_type.as_str().to_owned(),
            options,
            required: s.required,
            unique: s.unique,
            default: s.default,
            min: s.bounds.min,
            max: s.bounds.max,
            max_length: s.bounds.max_length,
            pattern: s.bounds.pattern,
            target_record_type: s.target.map(|t| t.as_str().to_owned()),
            currency: s.currency,
            position: s.position,
            lookup,
            rollup,
            version: d.version,
            created_at: d.created_at,
            updated_at: d.updated_at,
        }
    }
}

list_of!(FieldList, FieldOut, "field definitions");

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FieldListQuery {
    /// Only the fields of this record type.
    #[param(schema_with = super::schema::field_record_type)]
    pub record_type: Option<String>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// A new field. `record_type`, `key`, `label` and `type` are required; select and
/// multi-select fields need `options`; record fields need `target_record_type`; lookup
/// fields `lookup`, rollup fields `rollup` (and none of `required`, `default`, bounds or
/// `currency`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldCreate {
    #[schema(schema_with = super::schema::field_record_type)]
    pub record_type: String,
    /// A lowercase letter, then lowercase letters, digits and underscores; at most 50
    /// characters. It never changes.
    #[schema(example = "sector", max_length = 50, pattern = "^[a-z][a-z0-9_]*$")]
    pub key: String,
    #[schema(example = "Sector", max_length = 100)]
    pub label: String,
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    #[schema(max_length = 100)]
    pub group: Option<String>,
    #[serde(rename = "type")]
    #[schema(schema_with = super::schema::field_type)]
    pub field_type: String,
    #[schema(max_items = 500)]
    pub options: Option<Vec<OptionBody>>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub unique: bool,
    /// A valid value of the field.
    #[serde(default, deserialize_with = "super::strict_json::optional")]
    #[schema(value_type = Object, nullable = true)]
    pub default: Option<Value>,
    /// For number fields a number, for money fields an amount string, for date and datetime
    /// fields a date or date-time.
    #[serde(default, deserialize_with = "super::strict_json::optional")]
    #[schema(value_type = Object, nullable = true)]
    pub min: Option<Value>,
    #[serde(default, deserialize_with = "super::strict_json::optional")]
    #[schema(value_type = Object, nullable = true)]
    pub max: Option<Value>,
    /// For text, long_text, url, email and phone fields.
    #[schema(minimum = 1)]
    pub max_length: Option<u32>,
    /// A regular expression (Rust regex syntax) textual values must match.
    #[schema(max_length = 500)]
    pub pattern: Option<String>,
    /// For record fields: the type of record referenced.
    #[schema(schema_with = super::schema::field_record_type_or_null)]
    pub target_record_type: Option<String>,
    /// For money fields: the ISO 4217 currency every amount is in. Without it, each value
    /// names its own.
    #[schema(example = "EUR")]
    pub currency: Option<String>,
    /// Order in forms; default 0.
    pub position: Option<i32>,
    /// For lookup fields.
    pub lookup: Option<LookupBody>,
    /// For rollup fields.
    pub rollup: Option<RollupBody>,
}

/// Collects the errors of a definition body.
#[derive(Default)]
struct Errors(Invalid);

impl Errors {
    fn check<T>(&mut self, field: &str, r: Result<T, ValueError>) -> Option<T> {
        self.0.check(field, r)
    }
}

fn text_or_none(raw: Option<&str>) -> Option<&str> {
    raw.filter(|s| !s.trim().is_empty())
}

fn parse_options(e: &mut Errors, raw: &[OptionBody]) -> Vec<FieldOption> {
    let mut options = Vec::with_capacity(raw.len());
    for (i, o) in raw.iter().enumerate() {
        let value = e.check(&format!("options[{i}].value"), Label::parse(&o.value));
        let label = match text_or_none(o.label.as_deref()) {
            Some(l) => e.check(&format!("options[{i}].label"), Label::parse(l)),
            None => value.clone(),
        };
        if let (Some(value), Some(label)) = (value, label) {
            options.push(FieldOption {
                value: value.as_str().to_owned(),
                label: label.as_str().to_owned(),
                position: o.position.unwrap_or(i32::try_from(i).unwrap_or(i32::MAX)),
                archived: o.archived,
            });
        }
    }
    options
}

/// The context a lookup or rollup configuration is checked in: the account's definitions
/// (of every record type), and the time its filter's relative dates are resolved at.
pub struct Context<'a> {
    pub definitions: &'a [FieldDefinition],
    pub now: DateTime<Utc>,
}

/// Resolves the configuration a body gives (or keeps `current` when it gives none and the
/// type stays computed).
fn computed(
    e: &mut Errors,
    at: (&Context<'_>, FieldRecordType, &str),
    given: (Option<&LookupBody>, Option<&RollupBody>),
    field_type: Option<FieldType>,
    current: Option<&Computed>,
) -> Option<Computed> {
    let (cx, record_type, key) = at;
    let raw = match given {
        (Some(l), None) if field_type == Some(FieldType::Lookup) => l.raw(),
        (None, Some(r)) if field_type == Some(FieldType::Rollup) => r.raw(),
        (None, None) => {
            // Kept while the type stays the same kind; check_spec reports a missing one.
            return current
                .filter(|c| {
                    matches!(
                        (c, field_type),
                        (Computed::Lookup(_), Some(FieldType::Lookup))
                            | (Computed::Rollup(_), Some(FieldType::Rollup))
                    )
                })
                .cloned();
        }
        (l, _) => {
            let field = if l.is_some() { "lookup" } else { "rollup" };
            e.0.push(domain::FieldError::new(
                field,
                "not_allowed",
                format!("only a {field} field has a {field} configuration"),
            ));
            return None;
        }
    };
    match fields::resolve_computed(record_type, key, &raw, cx.definitions, cx.now) {
        Ok(c) => Some(c),
        Err(more) => {
            e.0.0.extend(more.0);
            None
        }
    }
}

fn finish(mut e: Errors, spec: Option<FieldSpec>) -> Result<FieldSpec, Invalid> {
    if let Some(spec) = &spec
        && !e.0.is_empty()
        && spec.field_type.is_computed()
        && spec.computed.is_none()
    {
        // The configuration's own errors say what to fix.
        return Err(e.0);
    }
    if let Some(spec) = &spec
        && let Err(more) = fields::check_spec(spec)
    {
        e.0.0.extend(more.0);
    }
    match spec {
        Some(spec) if e.0.is_empty() => Ok(spec),
        _ => Err(e.0),
    }
}

impl FieldCreate {
    pub fn into_parts(
        self,
        cx: &Context<'_>,
    ) -> Result<(FieldRecordType, String, FieldSpec), Invalid> {
        let mut e = Errors::default();
        let record_type = e.check("record_type", FieldRecordType::parse(&self.record_type));
        let key = e.check("key", fields::parse_key(&self.key));
        let label = e.check("label", Label::parse(&self.label));
        let description = text_or_none(self.description.as_deref())
            .and_then(|d| e.check("description", Description::parse(d)));
        let group =
            text_or_none(self.group.as_deref()).and_then(|g| e.check("group", Label::parse(g)));
        let field_type = e.check("type", FieldType::parse(&self.field_type));
        let options = parse_options(&mut e, self.options.as_deref().unwrap_or_default());
        let target = text_or_none(self.target_record_type.as_deref())
            .and_then(|t| e.check("target_record_type", FieldRecordType::parse(t)));
        let currency = text_or_none(self.currency.as_deref())
            .and_then(|c| e.check("currency", fields::parse_currency(c)));
        let computed = match (record_type, &key) {
            (Some(t), Some(k)) => computed(
                &mut e,
                (cx, t, k),
                (self.lookup.as_ref(), self.rollup.as_ref()),
                field_type,
                None,
            ),
            _ => None,
        };
        let spec = match (label, field_type) {
            (Some(label), Some(field_type)) => Some(FieldSpec {
                label: label.as_str().to_owned(),
                description: description.map(|d| d.as_str().to_owned()),
                group: group.map(|g| g.as_str().to_owned()),
                field_type,
                options,
                required: self.required,
                unique: self.unique,
                default: self.default,
                bounds: Bounds {
                    min: self.min,
                    max: self.max,
                    max_length: self.max_length,
                    pattern: text_or_none(self.pattern.as_deref()).map(str::to_owned),
                },
                target,
                currency,
                position: self.position.unwrap_or(0),
                computed,
            }),
            _ => None,
        };
        // Every error so far is in `e`; without one, the record type and key parsed.
        let spec = finish(e, spec)?;
        match (record_type, key) {
            (Some(t), Some(k)) => Ok((t, k, spec)),
            _ => Err(Invalid::one("key", "invalid_key", "is invalid")),
        }
    }
}

/// Changes to a field: absent parts stay, `null` clears an optional part. `options`
/// replaces the list (keep the values records hold; archive instead of removing). A change
/// of `type`, `options` or bounds that values records already hold do not fit is refused
/// with their count (409). `key` and `record_type` never change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FieldUpdate {
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, max_length = 100)]
    pub label: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 10000)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub group: Option<Option<String>>,
    #[serde(default, rename = "type", deserialize_with = "super::not_null")]
    #[schema(nullable = false, schema_with = super::schema::field_type)]
    pub field_type: Option<String>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, max_items = 500)]
    pub options: Option<Vec<OptionBody>>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    pub required: Option<bool>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    pub unique: Option<bool>,
    #[serde(default, deserialize_with = "super::strict_json::patch")]
    #[schema(value_type = Object, nullable = true)]
    pub default: Option<Option<Value>>,
    #[serde(default, deserialize_with = "super::strict_json::patch")]
    #[schema(value_type = Object, nullable = true)]
    pub min: Option<Option<Value>>,
    #[serde(default, deserialize_with = "super::strict_json::patch")]
    #[schema(value_type = Object, nullable = true)]
    pub max: Option<Option<Value>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<u32>, minimum = 1)]
    pub max_length: Option<Option<u32>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub pattern: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = super::schema::field_record_type_or_null)]
    pub target_record_type: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub currency: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    pub position: Option<i32>,
    /// Replaces a lookup field's configuration.
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    pub lookup: Option<LookupBody>,
    /// Replaces a rollup field's configuration.
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    pub rollup: Option<RollupBody>,
}

impl FieldUpdate {
    /// The spec after this change of the field `key` of `record_type`, checked whole.
    pub fn apply(
        &self,
        current: &FieldSpec,
        cx: &Context<'_>,
        record_type: FieldRecordType,
        key: &str,
    ) -> Result<FieldSpec, Invalid> {
        let mut e = Errors::default();
        let mut spec = current.clone();
        if let Some(label) = &self.label
            && let Some(l) = e.check("label", Label::parse(label))
        {
            spec.label = l.as_str().to_owned();
        }
        if let Some(description) = &self.description {
            spec.description = text_or_none(description.as_deref())
                .and_then(|d| e.check("description", Description::parse(d)))
                .map(|d| d.as_str().to_owned());
        }
        if let Some(group) = &self.group {
            spec.group = text_or_none(group.as_deref())
                .and_then(|g| e.check("group", Label::parse(g)))
                .map(|g| g.as_str().to_owned());
        }
        if let Some(t) = &self.field_type
            && let Some(t) = e.check("type", FieldType::parse(t))
        {
            spec.field_type = t;
        }
        if let Some(options) = &self.options {
            spec.options = parse_options(&mut e, options);
        }
        if let Some(required) = self.required {
            spec.required = required;
        }
        if let Some(unique) = self.unique {
            spec.unique = unique;
        }
        if let Some(default) = &self.default {
            spec.default = default.clone();
        }
        if let Some(min) = &self.min {
            spec.bounds.min = min.clone();
        }
        if let Some(max) = &self.max {
            spec.bounds.max = max.clone();
        }
        if let Some(max_length) = self.max_length {
            spec.bounds.max_length = max_length;
        }
        if let Some(pattern) = &self.pattern {
            spec.bounds.pattern = text_or_none(pattern.as_deref()).map(str::to_owned);
        }
        if let Some(target) = &self.target_record_type {
            spec.target = text_or_none(target.as_deref())
                .and_then(|t| e.check("target_record_type", FieldRecordType::parse(t)));
        }
        if let Some(currency) = &self.currency {
            spec.currency = text_or_none(currency.as_deref())
                .and_then(|c| e.check("currency", fields::parse_currency(c)));
        }
        if let Some(position) = self.position {
            spec.position = position;
        }
        spec.computed = computed(
            &mut e,
            (cx, record_type, key),
            (self.lookup.as_ref(), self.rollup.as_ref()),
            Some(spec.field_type),
            current.computed.as_ref(),
        );
        finish(e, Some(spec))
    }
}
