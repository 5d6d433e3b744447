//! Compiles a [`domain::filter::Filter`] into one SQL condition for a record table's boxed
//! query: written once for every record type, each of which gives only its [`Columns`] (which
//! field is which column). Every value is a bind; the SQL text holds only column names from
//! the schema and fixed fragments.
//!
//! Custom fields read the `custom_values` index (kept by triggers) through
//! `id IN (SELECT record_id FROM custom_values WHERE account_id = ? AND record_type = ..
//! AND field_key = ? AND value_.. <op> ?)`, tags their side table the same way.
//!
//! Indexes: every built-in field with `eq`, `in` or a range reads an `(account_id, column, ..)`
//! index, or the account's rows in the list's order when the planner finds that cheaper (a
//! column with few values: `size_band`, `show_in_pipeline`, `phase_id`). These cannot use one:
//! `contains` and `starts_with` (they ignore case, and `contains` has no prefix), which read
//! the account's rows in order and test each; `neq`, `not` and `is_null: true` on a built-in
//! column (they match most rows); the long texts `description`, `address`, `outcome_reason`
//! and `expected_duration` (no index: they are only ever searched); a project's `probability`
//! (its own or its phase's, a `COALESCE` across the join). Tags and custom fields read their
//! side table's index; custom text is indexed up to 255 characters.
//!
//! The statement is not kept prepared: filters are shaped by their callers, so caching each
//! shape would grow every connection's statement cache without bound.

use chrono::{NaiveDate, NaiveDateTime, SecondsFormat};
use diesel::backend::Backend as DieselBackend;
use diesel::expression::{
    AppearsOnTable, Expression, SelectableExpression, ValidGrouping, is_aggregate,
};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{BigInt, Bool, Date, Double, Text, Timestamp};
use diesel::{QueryResult, sql_types::HasSqlType};
use domain::filter::{Bound, Condition, Field, FieldKind, Filter, Node, Scalar, Target, Test};

use crate::StoreError;
use crate::keyset::contains_pattern;

/// How a record type's filterable fields are stored.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Columns {
    /// The table, as the record type's queries name it.
    pub(crate) table: &'static str,
    pub(crate) target: Target,
    /// Its tag table and that table's record column.
    pub(crate) tags: (&'static str, &'static str),
    /// The column of a built-in field (see `domain::filter::builtin_fields`).
    pub(crate) column: fn(&str) -> Option<Column>,
}

/// Where a built-in field lives.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Column {
    /// A column of the record's table.
    Plain(&'static str, Storage),
    /// Text compared through the column's lower-cased copy (an email and its normalized
    /// form), so that `eq` ignores case and uses the copy's index.
    Lowered(&'static str),
    /// An expression over the query's tables (fixed SQL, no index).
    Expr(&'static str, Storage),
    /// The record's tags, in the tag table.
    Tags,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Storage {
    Text,
    /// An integer, holding numbers times 10^`scale`.
    Int {
        scale: u32,
    },
    Bool,
    Date,
    Timestamp,
}

/// The name diesel's schema gives a column, so that a renamed column fails to compile here.
macro_rules! column_name {
    ($table:ident . $column:ident) => {
        <crate::schema::$table::$column as diesel::Column>::NAME
    };
}
pub(crate) use column_name;

/// A bind value.
#[derive(Debug, Clone, PartialEq)]
enum Value {
    BigInt(i64),
    Double(f64),
    Text(String),
    Bool(bool),
    Date(NaiveDate),
    Timestamp(NaiveDateTime),
}

#[derive(Debug, Clone, PartialEq)]
enum Part {
    Sql(String),
    Bind(Value),
}

/// A compiled filter: a boolean SQL condition with its binds, to put in a boxed query's
/// `filter`.
#[derive(Debug, Clone, Default)]
pub(crate) struct FilterSql {
    parts: Vec<Part>,
}

impl FilterSql {
    fn sql(&mut self, text: &str) {
        match self.parts.last_mut() {
            Some(Part::Sql(last)) => last.push_str(text),
            _ => self.parts.push(Part::Sql(text.to_owned())),
        }
    }

    fn bind(&mut self, value: Value) {
        self.parts.push(Part::Bind(value));
    }

    /// `(?, ?, ..)` for `values`.
    fn list(&mut self, values: Vec<Value>) {
        self.sql("(");
        for (i, value) in values.into_iter().enumerate() {
            if i > 0 {
                self.sql(", ");
            }
            self.bind(value);
        }
        self.sql(")");
    }
}

/// Compiles `filter` for the table `columns` describes, within `account_id`.
pub(crate) fn compile(
    filter: &Filter,
    account_id: i64,
    columns: &Columns,
) -> Result<FilterSql, StoreError> {
    let mut out = FilterSql::default();
    Compiler {
        account_id,
        columns,
    }
    .node(&filter.root, &mut out)?;
    Ok(out)
}

struct Compiler<'a> {
    account_id: i64,
    columns: &'a Columns,
}

/// A filter the column map cannot place: a field of the domain's list without a column here.
fn unplaced(what: &str) -> StoreError {
    StoreError::Task(format!("the filter cannot be compiled: {what}"))
}

/// Never true: for comparisons no stored value can meet (an `eq` of 2.5 on whole numbers).
const NEVER: &str = "1 = 0";

impl Compiler<'_> {
    fn node(&self, node: &Node, out: &mut FilterSql) -> Result<(), StoreError> {
        match node {
            Node::And(nodes) | Node::Or(nodes) => {
                let joiner = if matches!(node, Node::And(_)) {
                    " AND "
                } else {
                    " OR "
                };
                out.sql("(");
                for (i, node) in nodes.iter().enumerate() {
                    if i > 0 {
                        out.sql(joiner);
                    }
                    self.node(node, out)?;
                }
                out.sql(")");
            }
            // `IS NOT TRUE`: a condition that is unknown (SQL's NULL) counts as false, so that
            // `not` includes the records without a value.
            Node::Not(node) => {
                out.sql("((");
                self.node(node, out)?;
                out.sql(") IS NOT TRUE)");
            }
            Node::Condition(condition) => self.condition(condition, out)?,
        }
        Ok(())
    }

    fn condition(&self, condition: &Condition, out: &mut FilterSql) -> Result<(), StoreError> {
        match &condition.field {
            Field::Custom(key) => self.custom(key, &condition.kind, &condition.test, out),
            Field::Builtin(name) => {
                let column = (self.columns.column)(name)
                    .ok_or_else(|| unplaced(&format!("no column for `{name}`")))?;
                match column {
                    Column::Plain(name, storage) => {
                        let sql = format!("{}.{name}", self.columns.table);
                        compare(&sql, storage, &condition.test, out)
                    }
                    Column::Expr(sql, storage) => compare(sql, storage, &condition.test, out),
                    Column::Lowered(name) => {
                        let sql = format!("{}.{name}", self.columns.table);
                        compare(&sql, Storage::Text, &lowered(&condition.test), out)
                    }
                    Column::Tags => self.tags(&condition.test, out),
                }
            }
        }
    }

    fn id(&self) -> String {
        format!("{}.id", self.columns.table)
    }

    fn tags(&self, test: &Test, out: &mut FilterSql) -> Result<(), StoreError> {
        let (table, record) = self.columns.tags;
        match test {
            Test::HasAny(tags) => {
                out.sql(&format!(
                    "{} IN (SELECT {record} FROM {table} WHERE account_id = ",
                    self.id()
                ));
                out.bind(Value::BigInt(self.account_id));
                out.sql(" AND tag IN ");
                out.list(tags.iter().cloned().map(Value::Text).collect());
                out.sql(")");
            }
            Test::IsNull(none) => {
                out.sql(&format!(
                    "{}EXISTS (SELECT 1 FROM {table} WHERE {table}.{record} = {})",
                    if *none { "NOT " } else { "" },
                    self.id()
                ));
            }
            other => return Err(unplaced(&format!("tags cannot test {other:?}"))),
        }
        Ok(())
    }

    fn custom(
        &self,
        key: &str,
        kind: &FieldKind,
        test: &Test,
        out: &mut FilterSql,
    ) -> Result<(), StoreError> {
        let record_type = self.columns.target.as_str();
        if let Test::IsNull(none) = test {
            out.sql(&format!(
                "{}EXISTS (SELECT 1 FROM custom_values WHERE custom_values.account_id = ",
                if *none { "NOT " } else { "" },
            ));
            out.bind(Value::BigInt(self.account_id));
            out.sql(&format!(
                " AND custom_values.record_type = '{record_type}' AND custom_values.record_id = {} AND custom_values.field_key = ",
                self.id()
            ));
            out.bind(Value::Text(key.to_owned()));
            out.sql(")");
            return Ok(());
        }
        let (column, storage) = match kind {
            FieldKind::Number | FieldKind::Id => ("custom_values.value_number", None),
            _ => ("custom_values.value_text", Some(Storage::Text)),
        };
        out.sql(&format!(
            "{} IN (SELECT custom_values.record_id FROM custom_values WHERE custom_values.account_id = ",
            self.id()
        ));
        out.bind(Value::BigInt(self.account_id));
        out.sql(&format!(
            " AND custom_values.record_type = '{record_type}' AND custom_values.field_key = "
        ));
        out.bind(Value::Text(key.to_owned()));
        out.sql(" AND ");
        let test = match test {
            Test::HasAny(values) => {
                Test::In(values.iter().cloned().map(Scalar::Text).collect::<Vec<_>>())
            }
            other => other.clone(),
        };
        match storage {
            Some(storage) => compare(column, storage, &as_custom_text(&test), out)?,
            None => compare_double(column, &test, out)?,
        }
        out.sql(")");
        Ok(())
    }
}

/// A test on an email compared through its lower-cased copy.
fn lowered(test: &Test) -> Test {
    let lower = |s: &Scalar| match s {
        Scalar::Text(t) => Scalar::Text(t.to_lowercase()),
        other => other.clone(),
    };
    match test {
        Test::Eq(s) => Test::Eq(lower(s)),
        Test::In(list) => Test::In(list.iter().map(lower).collect()),
        other => other.clone(),
    }
}

/// Custom values of every kind but numbers are indexed as text: booleans as `true` and
/// `false`, dates as ISO 8601 and times as RFC 3339 in UTC (`Z`), which order as they do.
fn as_custom_text(test: &Test) -> Test {
    fn text(s: &Scalar) -> Scalar {
        Scalar::Text(match s {
            Scalar::Text(t) => t.clone(),
            Scalar::Bool(b) => b.to_string(),
            Scalar::Number(n) => n.to_string(),
            Scalar::Id(id) => id.to_string(),
            Scalar::Date(d) => d.format("%Y-%m-%d").to_string(),
            Scalar::Time(t) => t.to_rfc3339_opts(SecondsFormat::AutoSi, true),
        })
    }
    let bound = |b: &Option<Bound>| {
        b.as_ref().map(|b| Bound {
            value: text(&b.value),
            inclusive: b.inclusive,
        })
    };
    match test {
        Test::Eq(s) => Test::Eq(text(s)),
        Test::In(list) => Test::In(list.iter().map(text).collect()),
        Test::Range { from, to } => Test::Range {
            from: bound(from),
            to: bound(to),
        },
        other => other.clone(),
    }
}

/// A test on a `value_number` of the index: every number as a double.
fn compare_double(column: &str, test: &Test, out: &mut FilterSql) -> Result<(), StoreError> {
    let double = |s: &Scalar| match s {
        Scalar::Number(n) => Ok(Value::Double(*n)),
        // Ids are whole numbers well within a double's exact range.
        #[allow(clippy::cast_precision_loss)]
        Scalar::Id(id) => Ok(Value::Double(*id as f64)),
        other => Err(unplaced(&format!("{other:?} is no number"))),
    };
    match test {
        Test::Eq(s) => {
            out.sql(&format!("{column} = "));
            out.bind(double(s)?);
        }
        Test::In(list) => {
            out.sql(&format!("{column} IN "));
            out.list(list.iter().map(double).collect::<Result<_, _>>()?);
        }
        Test::Range { from, to } => {
            range(column, from, to, out, |b| double(b.value).map(Some))?;
        }
        other => return Err(unplaced(&format!("numbers cannot test {other:?}"))),
    }
    Ok(())
}

/// `column <op> ?` for a built-in column of `storage`.
fn compare(
    column: &str,
    storage: Storage,
    test: &Test,
    out: &mut FilterSql,
) -> Result<(), StoreError> {
    match test {
        Test::Eq(s) => match exact(storage, s)? {
            Some(value) => {
                out.sql(&format!("{column} = "));
                out.bind(value);
            }
            None => out.sql(NEVER),
        },
        Test::In(list) => {
            let mut values = Vec::with_capacity(list.len());
            for s in list {
                values.extend(exact(storage, s)?);
            }
            if values.is_empty() {
                out.sql(NEVER);
            } else {
                out.sql(&format!("{column} IN "));
                out.list(values);
            }
        }
        Test::Contains(text) => {
            out.sql(&format!("lower({column}) LIKE "));
            out.bind(Value::Text(contains_pattern(text)));
            out.sql(" ESCAPE '\\'");
        }
        Test::StartsWith(text) => {
            let mut pattern = contains_pattern(text);
            pattern.remove(0);
            out.sql(&format!("lower({column}) LIKE "));
            out.bind(Value::Text(pattern));
            out.sql(" ESCAPE '\\'");
        }
        Test::Range { from, to } => {
            range(column, from, to, out, |b| bound_value(storage, b))?;
        }
        Test::IsNull(none) => out.sql(&format!(
            "{column} IS {}NULL",
            if *none { "" } else { "NOT " }
        )),
        Test::HasAny(_) => return Err(unplaced("only tags hold several values")),
    }
    Ok(())
}

/// `from <(=) column <(=) to`, each end when given. `value` gives an end's bind, with its
/// inclusiveness possibly changed (whole numbers), or `None` when nothing can meet it.
fn range(
    column: &str,
    from: &Option<Bound>,
    to: &Option<Bound>,
    out: &mut FilterSql,
    value: impl Fn(&BoundAt) -> Result<Option<Value>, StoreError>,
) -> Result<(), StoreError> {
    let mut ends = Vec::new();
    if let Some(b) = from {
        let at = BoundAt::lower(b);
        ends.push((if b.inclusive { ">=" } else { ">" }, value(&at)?));
    }
    if let Some(b) = to {
        let at = BoundAt::upper(b);
        ends.push((if b.inclusive { "<=" } else { "<" }, value(&at)?));
    }
    if ends.is_empty() {
        out.sql(&format!("{column} IS NOT NULL"));
        return Ok(());
    }
    out.sql("(");
    for (i, (op, value)) in ends.into_iter().enumerate() {
        if i > 0 {
            out.sql(" AND ");
        }
        match value {
            Some(value) => {
                out.sql(&format!("{column} {op} "));
                out.bind(value);
            }
            None => out.sql(NEVER),
        }
    }
    out.sql(")");
    Ok(())
}

/// An end of a range, and which end it is.
struct BoundAt<'a> {
    value: &'a Scalar,
    inclusive: bool,
    lower: bool,
}

impl<'a> BoundAt<'a> {
    fn lower(b: &'a Bound) -> Self {
        BoundAt {
            value: &b.value,
            inclusive: b.inclusive,
            lower: true,
        }
    }

    fn upper(b: &'a Bound) -> Self {
        BoundAt {
            value: &b.value,
            inclusive: b.inclusive,
            lower: false,
        }
    }
}

/// The bind of a range's end. Whole-number columns compare with the whole number that keeps
/// the comparison exact: `> 2.5` is `> 2`, `>= 2.5` is `>= 3`, `< 2.5` is `< 3`, `<= 2.5` is
/// `<= 2` (the operator stays, the value rounds: down for `>` and `<=`, up for `>=` and `<`).
fn bound_value(storage: Storage, at: &BoundAt<'_>) -> Result<Option<Value>, StoreError> {
    if let (Storage::Int { scale }, Scalar::Number(n)) = (storage, at.value) {
        let (floor, whole) = scaled(*n, scale);
        let round_down = at.lower != at.inclusive;
        let value = if round_down || whole {
            floor
        } else {
            floor.saturating_add(1)
        };
        return Ok(Some(Value::BigInt(value)));
    }
    exact(storage, at.value)
}

/// The bind that equals `s` in a column of `storage`; `None` when no stored value can (a
/// fraction in a whole-number column).
fn exact(storage: Storage, s: &Scalar) -> Result<Option<Value>, StoreError> {
    Ok(Some(match (storage, s) {
        (Storage::Text, Scalar::Text(t)) => Value::Text(t.clone()),
        (Storage::Int { .. }, Scalar::Id(id)) => Value::BigInt(*id),
        (Storage::Int { scale }, Scalar::Number(n)) => {
            let (floor, whole) = scaled(*n, scale);
            if !whole {
                return Ok(None);
            }
            Value::BigInt(floor)
        }
        (Storage::Bool, Scalar::Bool(b)) => Value::Bool(*b),
        (Storage::Date, Scalar::Date(d)) => Value::Date(*d),
        (Storage::Timestamp, Scalar::Time(t)) => Value::Timestamp(t.naive_utc()),
        (storage, s) => return Err(unplaced(&format!("{s:?} in a {storage:?} column"))),
    }))
}

/// `n` times 10^`scale`, rounded down (saturating at the ends of i64), and whether that is
/// exact. Read from the number's shortest decimal form, so that `0.1` scales to exactly 1,000.
fn scaled(n: f64, scale: u32) -> (i64, bool) {
    let text = format!("{}", n.abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let digits = scale as usize;
    let kept: String = fraction.chars().take(digits).collect();
    let rest_is_zero = fraction.chars().skip(digits).all(|c| c == '0');
    let units = format!("{whole}{kept:0<digits$}")
        .parse::<i128>()
        .unwrap_or(i128::MAX);
    let exact = rest_is_zero;
    let signed = if n < 0.0 {
        -units - i128::from(!exact)
    } else {
        units
    };
    let clamped = i64::try_from(signed).unwrap_or(if signed < 0 { i64::MIN } else { i64::MAX });
    (clamped, exact && i128::from(clamped) == signed)
}

/// Fails (in a test) when a built-in field of the domain's list has no column in `columns`.
#[cfg(test)]
pub(crate) fn assert_complete(columns: &Columns) {
    for (name, _) in domain::filter::builtin_fields(columns.target) {
        assert!((columns.column)(name).is_some(), "{name} has no column");
    }
}

impl Expression for FilterSql {
    type SqlType = Bool;
}

impl<DB> QueryFragment<DB> for FilterSql
where
    DB: DieselBackend
        + HasSqlType<BigInt>
        + HasSqlType<Double>
        + HasSqlType<Text>
        + HasSqlType<Bool>
        + HasSqlType<Date>
        + HasSqlType<Timestamp>,
    i64: ToSql<BigInt, DB>,
    f64: ToSql<Double, DB>,
    String: ToSql<Text, DB>,
    bool: ToSql<Bool, DB>,
    NaiveDate: ToSql<Date, DB>,
    NaiveDateTime: ToSql<Timestamp, DB>,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        for part in &self.parts {
            match part {
                Part::Sql(text) => out.push_sql(text),
                Part::Bind(Value::BigInt(v)) => out.push_bind_param::<BigInt, _>(v)?,
                Part::Bind(Value::Double(v)) => out.push_bind_param::<Double, _>(v)?,
                Part::Bind(Value::Text(v)) => out.push_bind_param::<Text, _>(v)?,
                Part::Bind(Value::Bool(v)) => out.push_bind_param::<Bool, _>(v)?,
                Part::Bind(Value::Date(v)) => out.push_bind_param::<Date, _>(v)?,
                Part::Bind(Value::Timestamp(v)) => out.push_bind_param::<Timestamp, _>(v)?,
            }
        }
        Ok(())
    }
}

impl QueryId for FilterSql {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<QS> SelectableExpression<QS> for FilterSql where FilterSql: Expression {}

impl<QS> AppearsOnTable<QS> for FilterSql where FilterSql: Expression {}

impl<GroupBy> ValidGrouping<GroupBy> for FilterSql {
    type IsAggregate = is_aggregate::Never;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_scale_exactly() {
        assert_eq!(scaled(0.1, 4), (1000, true));
        assert_eq!(scaled(12500.5, 4), (125_005_000, true));
        assert_eq!(scaled(2.5, 0), (2, false));
        assert_eq!(scaled(-2.5, 0), (-3, false));
        assert_eq!(scaled(-2.0, 0), (-2, true));
        assert_eq!(scaled(0.00005, 4), (0, false));
        assert_eq!(scaled(1e30, 4), (i64::MAX, false));
    }

    #[test]
    fn whole_number_bounds_round_the_right_way() {
        let at = |value: &Scalar, inclusive, lower| {
            bound_value(
                Storage::Int { scale: 0 },
                &BoundAt {
                    value,
                    inclusive,
                    lower,
                },
            )
            .ok()
            .flatten()
        };
        let n = Scalar::Number(2.5);
        assert_eq!(at(&n, false, true), Some(Value::BigInt(2))); // > 2.5: > 2
        assert_eq!(at(&n, true, true), Some(Value::BigInt(3))); // >= 2.5: >= 3
        assert_eq!(at(&n, false, false), Some(Value::BigInt(3))); // < 2.5: < 3
        assert_eq!(at(&n, true, false), Some(Value::BigInt(2))); // <= 2.5: <= 2
        let n = Scalar::Number(2.0);
        assert_eq!(at(&n, true, true), Some(Value::BigInt(2)));
        assert_eq!(at(&n, false, false), Some(Value::BigInt(2)));
    }
}
