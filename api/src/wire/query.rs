//! `POST /v1/{records}/query` bodies, and the one `Filter` schema of the filter language
//! (`domain::filter`), documented here once and referenced by every operation that takes one.

use std::borrow::Cow;

use domain::filter::{
    FieldKind, MAX_CONDITIONS, MAX_DEPTH, MAX_IN_VALUES, MAX_STRING_CHARS, Op, RelativeDate,
    Target, builtin_fields,
};
use serde::Deserialize;
use serde_json::{Value, json};
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{
    AdditionalProperties, ArrayBuilder, ObjectBuilder, Schema, SchemaType, Type,
};
use utoipa::{PartialSchema, ToSchema};

/// The filter language's schema (a recursive `oneOf`), for `value_type` on the fields that
/// carry a filter.
pub struct Filter;

fn names<'a>(items: impl IntoIterator<Item = &'a str>) -> String {
    items
        .into_iter()
        .map(|s| format!("`{s}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn description() -> String {
    let kinds = FieldKind::describe_all()
        .into_iter()
        .map(|k| format!("- {k}"))
        .collect::<Vec<_>>()
        .join("\n");
    let fields = Target::ALL
        .iter()
        .map(|t| {
            let list: Vec<String> = builtin_fields(*t)
                .iter()
                .map(|(name, kind)| format!("`{name}` ({})", kind.as_str()))
                .collect();
            format!("- {}: {}", t.as_str(), list.join(", "))
        })
        .collect::<Vec<_>>()
        .join("\n");
    format!(
        "A filter: `{{\"and\": [filters]}}`, `{{\"or\": [filters]}}`, `{{\"not\": filter}}`, or a \
condition `{{\"field\": name, \"op\": op, \"value\": value}}`. The one filter language of \
`POST /v1/{{records}}/query` (and of saved views and lists).\n\n\
**Fields** are a record's built-in fields or `custom_fields.<key>` of a custom field the account \
defines (whose type gives its kind); not a `lookup` or `rollup` field, whose values are computed \
when records are read (400 `not_filterable`; lists do not sort on custom fields either). Built-in \
fields and their kinds:\n{fields}\n\n\
**Ops** by kind:\n{kinds}\n\n\
**Values**: text and choice a string (choices one of the field's values); number a JSON number \
or a decimal string (a money field compares its amount); boolean `true`/`false`; id a positive \
integer; tags a string (`contains`: has the tag; `in`: has any of them). `in` takes an array, \
`between` an array of two (both ends included), `is_null` `true` (no value) or `false` (has \
one). `contains` and `starts_with` ignore case.\n\n\
**Dates**: a date field takes `YYYY-MM-DD`; a datetime field an RFC 3339 time or a date (that \
whole day, UTC). Both take relative dates, resolved in UTC when the request runs: {relative}. \
`last_N_days` ends today and `next_N_days` starts today (today included); weeks start on \
Monday. A date or relative date is a span of days: `eq` is within it, `neq` outside it, `gt` \
after it, `gte` from its start, `lt` before its start, `lte` up to its end.\n\n\
**Missing values**: a condition on a field without a value (`null`, an absent custom field) is \
false for every op but `is_null: true`, so `neq` and `not` include such records.\n\n\
**Limits** (422 `validation_failed`, naming the path, e.g. `filter.and[2].value`): and/or/not \
nest at most {MAX_DEPTH} levels (`too_deep`); at most {MAX_CONDITIONS} conditions in all \
(`too_many_conditions`); at most {MAX_IN_VALUES} values in an `in` (`too_many_values`); \
strings at most {MAX_STRING_CHARS} characters (`too_long`). An unknown field is \
`unknown_field`, an op the field's kind does not take `invalid_op`, a value of the wrong type \
`invalid_value` or `invalid_choice`.",
        relative = names(RelativeDate::ALL.iter().map(|r| r.as_str())),
    )
}

impl PartialSchema for Filter {
    fn schema() -> RefOr<Schema> {
        // One object with every key optional (a condition's, or one of `and`, `or`, `not`),
        // nested filters free-form: client generators read it, where a recursive `oneOf`
        // stops some of them. The description says which keys go together.
        let free = || {
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::Object))
                .additional_properties(Some(AdditionalProperties::FreeForm(true)))
                .build()
        };
        let nested = || {
            RefOr::T(Schema::Array(
                ArrayBuilder::new()
                    .items(free())
                    .min_items(Some(1))
                    .max_items(Some(MAX_CONDITIONS))
                    .build(),
            ))
        };
        RefOr::T(Schema::Object(
            ObjectBuilder::new()
                .schema_type(SchemaType::Type(Type::Object))
                .property("and", nested())
                .property("or", nested())
                .property("not", free())
                .property(
                    "field",
                    ObjectBuilder::new()
                        .schema_type(SchemaType::Type(Type::String))
                        .max_length(Some(64 + domain::filter::CUSTOM_PREFIX.len()))
                        .description(Some("A built-in field's name, or `custom_fields.<key>`")),
                )
                .property("op", op_schema())
                .property(
                    "value",
                    ObjectBuilder::new().schema_type(SchemaType::AnyValue).description(Some(
                        "Of the field's kind: a string, number, boolean, id, date, an array (`in`, `between`), or `true`/`false` (`is_null`)",
                    )),
                )
                .additional_properties(Some(AdditionalProperties::FreeForm(false)))
                .description(Some(description()))
                .examples([
                    json!({"field": "industry", "op": "eq", "value": "Engineering"}),
                    json!({"and": [
                        {"field": "owner_id", "op": "eq", "value": 7},
                        {"field": "created_at", "op": "gte", "value": "last_30_days"},
                        {"not": {"field": "tags", "op": "contains", "value": "churned"}}
                    ]}),
                ])
                .build(),
        ))
    }
}

fn op_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::Type(Type::String))
        .enum_values(Some(Op::ALL.iter().map(|o| o.as_str())))
}

impl ToSchema for Filter {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Filter")
    }
}

/// The body of a record type's query: a filter, an order and a page. One struct per record
/// type, for its `sort` values.
macro_rules! query_body {
    ($(#[$doc:meta])* $name:ident, $sort:path) => {
        $(#[$doc])*
        #[derive(Debug, Deserialize, ToSchema)]
        #[serde(deny_unknown_fields)]
        pub struct $name {
            /// Which records; all of them when left out.
            #[schema(value_type = Option<Filter>)]
            pub filter: Option<Value>,
            /// The order, as the list route takes it: a key, with a leading `-` for
            /// descending order. Newest first when left out.
            #[schema(schema_with = $sort)]
            pub sort: Option<String>,
            /// Records per page: 1 to 200, 50 when left out.
            #[schema(minimum = 1, maximum = 200, example = 50)]
            pub limit: Option<i64>,
            /// The previous page's `next_cursor`; send the same filter and sort with it.
            pub cursor: Option<String>,
        }
    };
}

query_body!(
    /// A query of companies.
    CompanyQuery,
    super::schema::company_sort
);
query_body!(
    /// A query of contacts.
    ContactQuery,
    super::schema::record_sort
);
query_body!(
    /// A query of projects.
    ProjectQuery,
    super::schema::project_sort
);
