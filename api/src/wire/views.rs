//! Saved views and lists of records.

use chrono::{DateTime, Utc};
use domain::Invalid;
use domain::fields::FieldRecordType;
use domain::values::{Description, Label};
use domain::views::{self, RecordList, View, ViewSpec, Visibility};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::input::Parser;
use super::{double_option, list_of};

/// A saved view: a record type's filter (the filter language, as `POST
/// /v1/{records}/query` takes it), sort and columns. Apply it with `?view_id=` on the
/// record type's list.
#[derive(Debug, Serialize, ToSchema)]
pub struct ViewOut {
    #[schema(example = 3)]
    pub id: i64,
    #[schema(schema_with = super::schema::field_record_type)]
    pub record_type: String,
    #[schema(example = "Architects in the pipeline")]
    pub name: String,
    /// The filter as written (relative dates stay relative).
    #[schema(required = true, value_type = Object, nullable = true)]
    pub filter: Option<Value>,
    /// The list's `sort` values; `null` for the list's default.
    #[schema(required = true, example = "-updated_at")]
    pub sort: Option<String>,
    /// The fields a client shows, in order (`name`, `custom_fields.sector`...).
    pub columns: Vec<String>,
    /// `private` (its owner and admins), `unit` (its owner's unit; its owner alone until
    /// units exist) or `account` (everyone).
    #[schema(schema_with = super::schema::view_visibility)]
    pub visibility: String,
    /// The team member who saved it (`null` for an app acting for the account).
    #[schema(required = true)]
    pub owner_id: Option<i64>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<View> for ViewOut {
    fn from(v: View) -> Self {
        ViewOut {
            id: v.id,
            record_type: v.record_type.as_str().to_owned(),
            name: v.spec.name,
            filter: v.spec.filter,
            sort: v.spec.sort,
            columns: v.spec.columns,
            visibility: v.spec.visibility.as_str().to_owned(),
            owner_id: v.owner_id,
            version: v.version,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

list_of!(ViewList, ViewOut, "saved views");

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ByRecordTypeQuery {
    /// Only those of this record type.
    #[param(schema_with = super::schema::field_record_type)]
    pub record_type: Option<String>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

/// A new view. `record_type` and `name` are required.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewCreate {
    #[schema(schema_with = super::schema::field_record_type)]
    pub record_type: String,
    #[schema(example = "Architects in the pipeline", max_length = 100)]
    pub name: String,
    /// A filter of the filter language (see `Filter`).
    #[serde(default, deserialize_with = "super::strict_json::optional")]
    #[schema(value_type = Object, nullable = true)]
    pub filter: Option<Value>,
    #[schema(example = "-updated_at")]
    pub sort: Option<String>,
    #[schema(max_items = 100)]
    pub columns: Option<Vec<String>>,
    /// Default `private`.
    #[schema(schema_with = super::schema::view_visibility)]
    pub visibility: Option<String>,
}

fn columns(p: &mut Parser, raw: &[String]) -> Vec<String> {
    if raw.len() > views::MAX_COLUMNS {
        p.invalid.push(domain::FieldError::new(
            "columns",
            "too_many",
            format!("must hold at most {} columns", views::MAX_COLUMNS),
        ));
    }
    raw.iter()
        .enumerate()
        .filter_map(|(i, c)| p.check(&format!("columns[{i}]"), views::parse_column(c)))
        .collect()
}

impl ViewCreate {
    pub fn into_parts(self) -> Result<(FieldRecordType, ViewSpec), Invalid> {
        let mut p = Parser::default();
        let record_type = p.check("record_type", FieldRecordType::parse(&self.record_type));
        let name = p.required("name", &self.name, Label::parse);
        let columns = columns(&mut p, self.columns.as_deref().unwrap_or_default());
        let visibility = p
            .optional("visibility", self.visibility.as_deref(), Visibility::parse)
            .unwrap_or_default();
        let sort = self.sort.filter(|s| !s.trim().is_empty());
        p.build(match (record_type, name) {
            (Some(t), Some(name)) => Some((
                t,
                ViewSpec {
                    name: name.as_str().to_owned(),
                    filter: self.filter,
                    sort,
                    columns,
                    visibility,
                },
            )),
            _ => None,
        })
    }
}

/// Changes to a view: absent parts stay; `null` clears the filter or the sort.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ViewUpdate {
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "super::strict_json::patch")]
    #[schema(value_type = Object, nullable = true)]
    pub filter: Option<Option<Value>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub sort: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, max_items = 100)]
    pub columns: Option<Vec<String>>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, schema_with = super::schema::view_visibility)]
    pub visibility: Option<String>,
}

impl ViewUpdate {
    pub fn apply(&self, current: &ViewSpec) -> Result<ViewSpec, Invalid> {
        let mut p = Parser::default();
        let mut spec = current.clone();
        if let Some(name) = self
            .name
            .as_deref()
            .and_then(|n| p.required("name", n, Label::parse))
        {
            spec.name = name.as_str().to_owned();
        }
        if let Some(filter) = &self.filter {
            spec.filter = filter.clone();
        }
        if let Some(sort) = &self.sort {
            spec.sort = sort.clone().filter(|s| !s.trim().is_empty());
        }
        if let Some(raw) = &self.columns {
            spec.columns = columns(&mut p, raw);
        }
        if let Some(v) = self
            .visibility
            .as_deref()
            .and_then(|v| p.check("visibility", Visibility::parse(v)))
        {
            spec.visibility = v;
        }
        p.build(Some(spec))
    }
}

/// A list of records of one type: `static` (members added and removed by hand) or `dynamic`
/// (the records of its view, whatever they are when read).
#[derive(Debug, Serialize, ToSchema)]
pub struct ListOut {
    #[schema(example = 5)]
    pub id: i64,
    #[schema(schema_with = super::schema::field_record_type)]
    pub record_type: String,
    #[schema(example = "Christmas cards 2026")]
    pub name: String,
    #[schema(required = true)]
    pub description: Option<String>,
    /// `static` or `dynamic`.
    #[schema(schema_with = super::schema::list_kind)]
    pub kind: String,
    /// A dynamic list's view.
    #[schema(required = true)]
    pub view_id: Option<i64>,
    #[schema(schema_with = super::schema::view_visibility)]
    pub visibility: String,
    #[schema(required = true)]
    pub owner_id: Option<i64>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<RecordList> for ListOut {
    fn from(l: RecordList) -> Self {
        ListOut {
            id: l.id,
            record_type: l.record_type.as_str().to_owned(),
            name: l.name,
            description: l.description,
            kind: if l.view_id.is_some() {
                "dynamic"
            } else {
                "static"
            }
            .to_owned(),
            view_id: l.view_id,
            visibility: l.visibility.as_str().to_owned(),
            owner_id: l.owner_id,
            version: l.version,
            created_at: l.created_at,
            updated_at: l.updated_at,
        }
    }
}

list_of!(ListList, ListOut, "lists");

/// A new list: static, or dynamic with `view_id` (a view of the same record type).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListCreate {
    #[schema(schema_with = super::schema::field_record_type)]
    pub record_type: String,
    #[schema(example = "Christmas cards 2026", max_length = 100)]
    pub name: String,
    #[schema(max_length = 10000)]
    pub description: Option<String>,
    pub view_id: Option<i64>,
    /// Default `private`.
    #[schema(schema_with = super::schema::view_visibility)]
    pub visibility: Option<String>,
}

impl ListCreate {
    pub fn into_parts(
        self,
    ) -> Result<(FieldRecordType, persistence::views::ListSpec, Option<i64>), Invalid> {
        let mut p = Parser::default();
        let record_type = p.check("record_type", FieldRecordType::parse(&self.record_type));
        let name = p.required("name", &self.name, Label::parse);
        let description = p.optional(
            "description",
            self.description.as_deref(),
            Description::parse,
        );
        let visibility = p
            .optional("visibility", self.visibility.as_deref(), Visibility::parse)
            .unwrap_or_default();
        let view_id = p.id("view_id", self.view_id);
        p.build(match (record_type, name) {
            (Some(t), Some(name)) => Some((
                t,
                persistence::views::ListSpec {
                    name: name.as_str().to_owned(),
                    description: description.map(|d| d.as_str().to_owned()),
                    visibility,
                },
                view_id,
            )),
            _ => None,
        })
    }
}

/// Changes to a list's name, description or visibility (its kind and view never change).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ListUpdate {
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 10000)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, schema_with = super::schema::view_visibility)]
    pub visibility: Option<String>,
}

impl ListUpdate {
    /// The change, checked: applied to the list's current spec by the store.
    pub fn checked(&self) -> Result<ListChange, Invalid> {
        let mut p = Parser::default();
        let name = self
            .name
            .as_deref()
            .and_then(|n| p.required("name", n, Label::parse))
            .map(|n| n.as_str().to_owned());
        let description = p
            .patch(
                "description",
                self.description.as_ref().map(Option::as_deref),
                Description::parse,
            )
            .map(|d| d.map(|d| d.as_str().to_owned()));
        let visibility = self
            .visibility
            .as_deref()
            .and_then(|v| p.check("visibility", Visibility::parse(v)));
        p.build(Some(ListChange {
            name,
            description,
            visibility,
        }))
    }
}

/// A checked change of a list.
#[derive(Debug, Clone)]
pub struct ListChange {
    name: Option<String>,
    description: Option<Option<String>>,
    visibility: Option<Visibility>,
}

impl ListChange {
    pub fn apply(&self, current: &persistence::views::ListSpec) -> persistence::views::ListSpec {
        persistence::views::ListSpec {
            name: self.name.clone().unwrap_or_else(|| current.name.clone()),
            description: self
                .description
                .clone()
                .unwrap_or_else(|| current.description.clone()),
            visibility: self.visibility.unwrap_or(current.visibility),
        }
    }
}

/// Records to add to or remove from a static list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MembersBody {
    /// Ids of records of the list's type, 1 to 1,000.
    #[schema(min_items = 1, max_items = 1000)]
    pub record_ids: Vec<i64>,
}

impl MembersBody {
    pub fn ids(&self) -> Result<Vec<i64>, Invalid> {
        if self.record_ids.is_empty() || self.record_ids.len() > views::MAX_MEMBERS_PER_CALL {
            return Err(Invalid::one(
                "record_ids",
                "out_of_range",
                format!("must hold 1 to {} ids", views::MAX_MEMBERS_PER_CALL),
            ));
        }
        let mut p = Parser::default();
        let ids: Vec<i64> = self
            .record_ids
            .iter()
            .enumerate()
            .filter_map(|(i, id)| p.id(&format!("record_ids[{i}]"), Some(*id)))
            .collect();
        p.build(Some(ids))
    }
}

/// How many records a call added or removed.
#[derive(Debug, Serialize, ToSchema)]
pub struct MembersChanged {
    /// Records added (those already in the list are not counted) or removed.
    pub count: usize,
}

/// A page of a list's members: records of the list's type (companies, contacts or
/// projects), as their own `GET` shows them.
#[derive(Debug, Serialize, ToSchema)]
pub struct MemberPage {
    /// The list's record type: what `data` holds.
    #[schema(schema_with = super::schema::field_record_type)]
    pub record_type: String,
    #[schema(value_type = Vec<Object>)]
    pub data: Vec<Value>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}
