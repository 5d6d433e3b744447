//! SQL written by hand that both backends keep prepared.
//!
//! diesel caches a prepared statement for its query builder's statements, and never for
//! `sql_query`. [`Prepared`] is SQL text with its bind values in order: diesel caches it by its
//! text (and bind types), so a statement whose text is fixed for a shape of request (a board
//! with or without an owner filter, say) is planned once per connection and run as prepared
//! from then on. Build the text the same way every time for the same shape: never put a value
//! into it, only binds.

use diesel::deserialize::FromSqlRow;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Text, Untyped};
use diesel::sqlite::Sqlite;
use diesel::{QueryResult, RunQueryDsl};

use crate::{Backend, DbConnection};

/// A bind value.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    BigInt(i64),
    Text(String),
    /// A list of ids as PostgreSQL takes it: a `bigint[]`.
    Ids(Vec<i64>),
    /// A list of ids as SQLite takes it: a JSON array, for `json_each`.
    JsonIds(String),
}

#[derive(Debug, Clone)]
enum Part {
    Sql(String),
    Bind(Bind),
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
