//! The one filter language: a JSON tree of `and`, `or`, `not` and conditions on a record's
//! fields (built-in or `custom_fields.<key>`), parsed into a typed [`Filter`] that
//! `POST /v1/{records}/query`, saved views and lists share. Pure: no SQL here (persistence
//! compiles a [`Filter`]); relative dates are resolved against an injected `now`.
//!
//! ```json
//! {"and": [
//!   {"field": "industry", "op": "eq", "value": "Engineering"},
//!   {"or": [{"field": "created_at", "op": "gte", "value": "last_30_days"},
//!           {"not": {"field": "tags", "op": "contains", "value": "vip"}}]},
//!   {"field": "custom_fields.tier", "op": "in", "value": ["gold", "silver"]}
//! ]}
//! ```
//!
//! Semantics: every condition is true or false, never unknown: a record without a value (a
//! `null` field, an absent custom field) fails every op but `is_null: true`, so `neq` and
//! `not` include it.

mod dates;
mod fields;
mod parse;
#[cfg(test)]
mod tests;

use chrono::{DateTime, NaiveDate, Utc};

pub use dates::RelativeDate;
pub use fields::{builtin_field, builtin_fields};
pub use parse::parse;

/// How deep `and`, `or` and `not` may nest (a lone condition is depth 1).
pub const MAX_DEPTH: usize = 5;
/// How many conditions one filter may hold, over all its branches.
pub const MAX_CONDITIONS: usize = 20;
/// How many values an `in` (or a tags `in`) may list.
pub const MAX_IN_VALUES: usize = 100;
/// How many characters a string value may have.
pub const MAX_STRING_CHARS: usize = 200;
/// The prefix that names a custom field: `custom_fields.<key>`.
pub const CUSTOM_PREFIX: &str = "custom_fields.";

wire_enum! {
    /// The record types a filter queries.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Target {
        Company = "company",
        Contact = "contact",
        Project = "project",
    }
}

/// What a field holds, which decides the ops it takes and the values they compare with. The
/// field definitions map their types onto it: `text`, `long_text`, `url`, `email` and `phone`
/// are `Text`; `number` and `money` (its amount) `Number`; `select` a `Choice`;
/// `multi_select` `Tags`; `user` and `record` `Id`.
#[derive(Debug, Clone, PartialEq)]
pub enum FieldKind {
    Text,
    Number,
    Date,
    DateTime,
    Boolean,
    /// The id of another record or a team member.
    Id,
    /// One value out of a set: `Some` lists the allowed values; `None` takes any string.
    Choice(Option<Vec<String>>),
    /// Any number of values out of a set (tags, a multi-select).
    Tags,
}

wire_enum! {
    /// The ops of a condition.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Op {
        Eq = "eq",
        Neq = "neq",
        In = "in",
        Contains = "contains",
        StartsWith = "starts_with",
        Gt = "gt",
        Gte = "gte",
        Lt = "lt",
        Lte = "lte",
        Between = "between",
        IsNull = "is_null",
    }
}

impl FieldKind {
    /// The kind's wire name, for messages and the spec.
    pub fn as_str(&self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Number => "number",
            FieldKind::Date => "date",
            FieldKind::DateTime => "datetime",
            FieldKind::Boolean => "boolean",
            FieldKind::Id => "id",
            FieldKind::Choice(_) => "choice",
            FieldKind::Tags => "tags",
        }
    }

    /// The ops a field of this kind takes.
    pub fn ops(&self) -> &'static [Op] {
        use Op::*;
        match self {
            FieldKind::Text => &[Eq, Neq, In, Contains, StartsWith, IsNull],
            FieldKind::Number => &[Eq, Neq, In, Gt, Gte, Lt, Lte, Between, IsNull],
            FieldKind::Date | FieldKind::DateTime => &[Eq, Neq, Gt, Gte, Lt, Lte, Between, IsNull],
            FieldKind::Boolean => &[Eq, Neq, IsNull],
            FieldKind::Id | FieldKind::Choice(_) => &[Eq, Neq, In, IsNull],
            FieldKind::Tags => &[Contains, In, IsNull],
        }
    }

    /// Every kind with the ops it takes, for the spec: `text: eq, neq, ...`.
    pub fn describe_all() -> Vec<String> {
        [
            FieldKind::Text,
            FieldKind::Number,
            FieldKind::Date,
            FieldKind::DateTime,
            FieldKind::Boolean,
            FieldKind::Id,
            FieldKind::Choice(None),
            FieldKind::Tags,
        ]
        .iter()
        .map(|k| {
            let ops: Vec<&str> = k.ops().iter().map(|o| o.as_str()).collect();
            format!("{}: {}", k.as_str(), ops.join(", "))
        })
        .collect()
    }
}

/// A parsed, valid filter: what views and lists store (as the JSON it came from) and the
/// query routes run.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub root: Node,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Condition(Condition),
}

/// One test of one field.
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    pub field: Field,
    pub kind: FieldKind,
    pub test: Test,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// A built-in field, by its wire name (`industry`).
    Builtin(&'static str),
    /// A custom field, by its key (without `custom_fields.`).
    Custom(String),
}

/// A value a field is compared with, of the field's kind.
#[derive(Debug, Clone, PartialEq)]
pub enum Scalar {
    Text(String),
    Number(f64),
    Bool(bool),
    Id(i64),
    Date(NaiveDate),
    Time(DateTime<Utc>),
}

/// One end of a range.
#[derive(Debug, Clone, PartialEq)]
pub struct Bound {
    pub value: Scalar,
    pub inclusive: bool,
}

/// What a condition tests, after parsing: `neq` became `not(eq)`, and comparisons, `between`
/// and date ranges (`eq: "this_month"`) became a [`Test::Range`].
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    Eq(Scalar),
    In(Vec<Scalar>),
    /// Contains this text, ignoring case.
    Contains(String),
    /// Starts with this text, ignoring case.
    StartsWith(String),
    Range {
        from: Option<Bound>,
        to: Option<Bound>,
    },
    /// `true`: the field has no value; `false`: it has one.
    IsNull(bool),
    /// A tags field holds at least one of these.
    HasAny(Vec<String>),
}

impl Filter {
    /// Every condition of the filter, depth first.
    pub fn conditions(&self) -> Vec<&Condition> {
        fn walk<'a>(node: &'a Node, out: &mut Vec<&'a Condition>) {
            match node {
                Node::And(nodes) | Node::Or(nodes) => nodes.iter().for_each(|n| walk(n, out)),
                Node::Not(node) => walk(node, out),
                Node::Condition(c) => out.push(c),
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &mut out);
        out
    }
}

/// A resolver for accounts without field definitions: every custom field is unknown.
pub fn no_custom_fields(_key: &str) -> Option<FieldKind> {
    None
}
