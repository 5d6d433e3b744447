//! Writing many rows of one table at once, the way each backend does it fastest: `COPY FROM`
//! (binary) on PostgreSQL, which parses no SQL per row and binds nothing; multi-row inserts on
//! SQLite, in chunks that stay under its limit on bound variables.
//!
//! COPY returns nothing, so it serves the tables whose rows nobody reads back in the same
//! transaction: tags, and events on PostgreSQL (the publisher reads them after commit). New
//! records themselves still go by multi-row `INSERT .. RETURNING`: measured with psql on
//! 100,000 companies, a COPY of them costs PostgreSQL what multi-row inserts do (3.9 s either
//! way); their nine indexes and foreign keys are the cost, not parsing.

/// Below this many rows, PostgreSQL gets multi-row inserts too: a COPY costs a round trip
/// more than one insert, and its statement is parsed each time, so it pays only in bulk.
pub(crate) const COPY_FROM_ROWS: usize = 64;

/// Writes `$rows` (a slice of insertable values) into `$table`, returning nothing.
/// `$chunk` rows go into one multi-row insert: on SQLite, at most 32,766 bound variables.
macro_rules! insert_all {
    ($conn:expr, $table:path, $rows:expr, $chunk:expr) => {{
        let rows = $rows;
        match $conn {
            $crate::DbConnection::Postgresql(c) if rows.len() >= $crate::bulk::COPY_FROM_ROWS => {
                diesel::copy_from($table).from_insertable(rows).execute(c)?;
            }
            conn => {
                for chunk in rows.chunks($chunk) {
                    $crate::pool::on_backend!(conn, |c| diesel::insert_into($table)
                        .values(chunk)
                        .execute(c))?;
                }
            }
        }
    }};
}
pub(crate) use insert_all;
