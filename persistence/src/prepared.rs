//! SQL written by hand that both backends keep prepared.
//!
//! diesel caches a prepared statement for its query builder's statements, and never for
//! `sql_query`. [`Prepared`] is SQL text with its bind values in order: diesel caches it by its
//! text (and bind types), so a statement whose text is fixed for a shape of request (a board
//! with or without an owner filter, say) is planned once per connection and run as prepared
//! from then on. Build the text the same way every time for the same shape: never put a value
//! into it, only binds.

use std::marker::PhantomData;

use diesel::deserialize::FromSqlRow;
use diesel::expression::{
    AppearsOnTable, Expression, SelectableExpression, TypedExpressionType, ValidGrouping,
    is_aggregate,
};
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Nullable, Text, Timestamp, Untyped};
use diesel::sqlite::Sqlite;
use diesel::{QueryResult, RunQueryDsl};

use crate::{Backend, DbConnection, StoreError};

/// A bind value.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    BigInt(i64),
    Text(String),
    /// A list of ids as PostgreSQL takes it: a `bigint[]`.
    Ids(Vec<i64>),
    /// A list of ids as SQLite takes it: a JSON array, for `json_each`.
    JsonIds(String),
    Timestamp(chrono::NaiveDateTime),
}

#[derive(Debug, Clone)]
enum Part {
    Sql(String),
    Bind(Bind),
    /// A compiled filter, with its own binds (it keeps the statement from being cached).
    Filter(crate::filter::FilterSql),
}

/// SQL text with its binds, in the order they appear.
#[derive(Debug, Clone, Default)]
pub(crate) struct Prepared {
    parts: Vec<Part>,
}

impl Prepared {
    pub(crate) fn new() -> Prepared {
        Prepared::default()
    }

    /// Appends SQL text.
    pub(crate) fn sql(&mut self, sql: &str) -> &mut Prepared {
        match self.parts.last_mut() {
            Some(Part::Sql(text)) => text.push_str(sql),
            _ => self.parts.push(Part::Sql(sql.to_owned())),
        }
        self
    }

    /// Appends a bind placeholder for `value`.
    pub(crate) fn bind(&mut self, value: Bind) -> &mut Prepared {
        self.parts.push(Part::Bind(value));
        self
    }

    /// Appends a compiled filter's condition. The statement is then never kept prepared:
    /// filters are shaped by their callers.
    pub(crate) fn filter(&mut self, filter: crate::filter::FilterSql) -> &mut Prepared {
        self.parts.push(Part::Filter(filter));
        self
    }

    pub(crate) fn bigint(&mut self, value: i64) -> &mut Prepared {
        self.bind(Bind::BigInt(value))
    }

    pub(crate) fn text(&mut self, value: &str) -> &mut Prepared {
        self.bind(Bind::Text(value.to_owned()))
    }

    /// Appends a list of ids, as the backend takes one: on PostgreSQL a `bigint[]` (read it
    /// with `unnest`), on SQLite a JSON array (read it with `json_each`).
    pub(crate) fn ids(&mut self, backend: Backend, ids: &[i64]) -> &mut Prepared {
        match backend {
            Backend::Postgres => self.bind(Bind::Ids(ids.to_vec())),
            Backend::Sqlite => {
                let mut text = String::with_capacity(ids.len() * 8 + 2);
                text.push('[');
                for (i, id) in ids.iter().enumerate() {
                    if i > 0 {
                        text.push(',');
                    }
                    text.push_str(&id.to_string());
                }
                text.push(']');
                self.bind(Bind::JsonIds(text))
            }
        }
    }

    /// A list of ids for `IN (...)`, as one bind whatever their number: the elements of an
    /// array on PostgreSQL, of a JSON array on SQLite.
    pub(crate) fn ids_in(&mut self, backend: Backend, ids: &[i64]) -> &mut Prepared {
        match backend {
            Backend::Postgres => self.sql("SELECT unnest(").ids(backend, ids).sql(")"),
            Backend::Sqlite => self
                .sql("SELECT value FROM json_each(")
                .ids(backend, ids)
                .sql(")"),
        }
    }

    /// The statement with its values written in as literals (text and numbers only): for
    /// reading a plan in psql or sqlite3, never for running.
    #[cfg(test)]
    pub(crate) fn inlined(&self) -> String {
        self.parts
            .iter()
            .map(|part| match part {
                Part::Sql(text) => text.clone(),
                Part::Bind(Bind::BigInt(v)) => v.to_string(),
                Part::Bind(Bind::Text(v)) => format!("'{}'", v.replace('\'', "''")),
                Part::Bind(other) => format!("{other:?}"),
                Part::Filter(filter) => format!("{filter:?}"),
            })
            .collect()
    }

    /// Runs the statement and reads its rows by column name.
    pub(crate) fn load<U>(&self, conn: &mut DbConnection) -> QueryResult<Vec<U>>
    where
        U: FromSqlRow<Untyped, Pg> + FromSqlRow<Untyped, Sqlite> + 'static,
    {
        match conn {
            DbConnection::Postgresql(pg) => PreparedQuery(self).load(pg),
            DbConnection::Sqlite(lite) => PreparedQuery(self).load(lite),
        }
    }
}

/// A [`Prepared`] statement as diesel runs it.
#[derive(Debug, Clone, Copy)]
struct PreparedQuery<'a>(&'a Prepared);

impl QueryId for PreparedQuery<'_> {
    type QueryId = ();
    // No static id: diesel keys its cache on the SQL text and the bind types.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for PreparedQuery<'_> {
    type SqlType = Untyped;
}

impl<Conn> RunQueryDsl<Conn> for PreparedQuery<'_> {}

impl QueryFragment<Pg> for PreparedQuery<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        for part in &self.0.parts {
            match part {
                Part::Sql(text) => out.push_sql(text),
                Part::Bind(Bind::BigInt(v)) => out.push_bind_param::<BigInt, _>(v)?,
                Part::Bind(Bind::Text(v)) => out.push_bind_param::<Text, _>(v)?,
                Part::Bind(Bind::Ids(v)) => out.push_bind_param::<Array<BigInt>, _>(v)?,
                Part::Bind(Bind::JsonIds(v)) => out.push_bind_param::<Text, _>(v)?,
                Part::Bind(Bind::Timestamp(v)) => out.push_bind_param::<Timestamp, _>(v)?,
                Part::Filter(f) => f.walk_ast(out.reborrow())?,
            }
        }
        Ok(())
    }
}

impl QueryFragment<Sqlite> for PreparedQuery<'_> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        for part in &self.0.parts {
            match part {
                Part::Sql(text) => out.push_sql(text),
                Part::Bind(Bind::BigInt(v)) => out.push_bind_param::<BigInt, _>(v)?,
                Part::Bind(Bind::Text(v)) | Part::Bind(Bind::JsonIds(v)) => {
                    out.push_bind_param::<Text, _>(v)?
                }
                Part::Bind(Bind::Timestamp(v)) => out.push_bind_param::<Timestamp, _>(v)?,
                Part::Filter(f) => f.walk_ast(out.reborrow())?,
                Part::Bind(Bind::Ids(_)) => {
                    return Err(diesel::result::Error::QueryBuilderError(
                        "SQLite binds no arrays: bind a list of ids with Prepared::ids".into(),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// SQL text as an expression of diesel's query builder (`ST` its type). Unlike diesel's own
/// `sql`, which marks its statement as one never to keep prepared, it lets diesel cache the
/// statement by its text: give it text fixed for the statement's shape, never a value.
#[derive(Debug, Clone)]
pub(crate) struct FixedSql<ST> {
    sql: String,
    sql_type: PhantomData<ST>,
}

impl<ST> FixedSql<ST> {
    pub(crate) fn new(sql: String) -> FixedSql<ST> {
        FixedSql {
            sql,
            sql_type: PhantomData,
        }
    }
}

impl<ST: TypedExpressionType> Expression for FixedSql<ST> {
    type SqlType = ST;
}

impl<ST, DB: diesel::backend::Backend> QueryFragment<DB> for FixedSql<ST> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        out.push_sql(&self.sql);
        Ok(())
    }
}

impl<ST> QueryId for FixedSql<ST> {
    type QueryId = ();
    // No static id: diesel keys its cache on the SQL text.
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST, QS> SelectableExpression<QS> for FixedSql<ST> where FixedSql<ST>: Expression {}

impl<ST, QS> AppearsOnTable<QS> for FixedSql<ST> where FixedSql<ST>: Expression {}

impl<ST, GroupBy> ValidGrouping<GroupBy> for FixedSql<ST> {
    type IsAggregate = is_aggregate::Never;
}

/// A [`json_rows`] column as the query builder selects it.
pub(crate) type JsonColumn = FixedSql<Nullable<Text>>;

/// A scalar subquery that gives the rows of `from` (a table and its `WHERE`, which names the
/// outer statement's row: it runs once per outer row) as one JSON array of arrays, each of
/// `columns`, in `order` when one is given: the way a record's read carries its few related
/// rows (its history's stays, its people) in the record's own statement. `NULL` (PostgreSQL)
/// or `[]` (SQLite) when there are none; read it with [`parse_json_rows`].
///
/// Keep `from` one table, without a subquery of its own: SQLite does not look up a nested
/// subquery's rows by the outer row's id (it scans them), while a correlated condition on
/// one table's index is a search.
pub(crate) fn json_rows(
    backend: Backend,
    columns: &str,
    from: &str,
    order: Option<&str>,
) -> String {
    let order = order.map(|o| format!(" ORDER BY {o}")).unwrap_or_default();
    match backend {
        Backend::Postgres => format!(
            "(SELECT CAST(json_agg(json_build_array({columns}){order}) AS TEXT) FROM {from})"
        ),
        Backend::Sqlite => {
            format!("(SELECT json_group_array(json_array({columns}){order}) FROM {from})")
        }
    }
}

/// The rows a [`json_rows`] column holds, each read as a tuple of its columns.
pub(crate) fn parse_json_rows<T: serde::de::DeserializeOwned>(
    column: Option<&str>,
) -> Result<Vec<T>, StoreError> {
    match column {
        None => Ok(Vec::new()),
        Some(text) => serde_json::from_str(text).map_err(|e| {
            StoreError::Task(format!("a record's related rows did not read back: {e}"))
        }),
    }
}
