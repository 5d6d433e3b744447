//! Keyset pagination: "after this (sort value, id)" as a WHERE clause and an ORDER BY, so that
//! page 10,000 costs what page 1 costs and rows inserted meanwhile never shift a page.

/// Orders a boxed query by `$col` then `$id` in `sort`'s direction and, when a position is
/// given, keeps only the rows after it. `$value` turns the position's sort value into the
/// column's Rust type, or fails with `StoreError::Invalid`.
macro_rules! keyset_page {
    ($query:expr, $sort:expr, $after:expr, $col:expr, $id:expr, $value:expr) => {{
        let mut query = $query;
        match $sort.direction {
            domain::listing::Direction::Asc => {
                if let Some(after) = $after {
                    let value = $value(&after.value)?;
                    // `col >= v` first: a range the index can seek to, where `col > v OR
                    // (col = v AND id > i)` alone would make PostgreSQL scan from the start.
                    query = query.filter(
                        $col.ge(value.clone())
                            .and($col.gt(value).or($id.gt(after.id))),
                    );
                }
                query.order(($col.asc(), $id.asc()))
            }
            domain::listing::Direction::Desc => {
                if let Some(after) = $after {
                    let value = $value(&after.value)?;
                    query = query.filter(
                        $col.le(value.clone())
                            .and($col.lt(value).or($id.lt(after.id))),
                    );
                }
                query.order(($col.desc(), $id.desc()))
            }
        }
    }};
}
pub(crate) use keyset_page;

use chrono::NaiveDateTime;
use domain::Invalid;
use domain::listing::{Page, PageSize, Position, Sort, SortValue};

use crate::StoreError;

fn wrong_cursor() -> StoreError {
    StoreError::Invalid(Invalid::one(
        "cursor",
        "invalid_cursor",
        "does not belong to this sort order; start again without a cursor",
    ))
}

pub(crate) fn time_value(value: &SortValue) -> Result<NaiveDateTime, StoreError> {
    match value {
        SortValue::Time(t) => Ok(t.naive_utc()),
        _ => Err(wrong_cursor()),
    }
}

pub(crate) fn text_value(value: &SortValue) -> Result<String, StoreError> {
    match value {
        SortValue::Text(t) => Ok(t.clone()),
        _ => Err(wrong_cursor()),
    }
}

pub(crate) fn int_value(value: &SortValue) -> Result<i64, StoreError> {
    match value {
        SortValue::Int(n) => Ok(*n),
        _ => Err(wrong_cursor()),
    }
}

pub(crate) fn date_value(value: &SortValue) -> Result<chrono::NaiveDate, StoreError> {
    match value {
        SortValue::Date(d) => Ok(*d),
        _ => Err(wrong_cursor()),
    }
}

/// A list asked to sort by a key it has not (the routes refuse those first).
pub(crate) fn unsupported_sort() -> StoreError {
    StoreError::Invalid(Invalid::one(
        "sort",
        "invalid_sort",
        "this list does not sort by that key",
    ))
}

/// Escapes `%`, `_` and `\` so that user text matches literally inside a LIKE pattern.
pub(crate) fn contains_pattern(text: &str) -> String {
    let mut pattern = String::from("%");
    for c in text.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

diesel::define_sql_function! {
    /// SQL `lower`: Unicode lower case on both backends (on SQLite, the function the pool
    /// registers on each connection in place of the ASCII-only built-in).
    fn lower(x: diesel::sql_types::Text) -> diesel::sql_types::Text;
}

diesel::define_sql_function! {
    /// SQL `lower` over a nullable column.
    #[sql_name = "lower"]
    fn lower_nullable(x: diesel::sql_types::Nullable<diesel::sql_types::Text>) -> diesel::sql_types::Nullable<diesel::sql_types::Text>;
}

/// Turns the rows of a query limited to `size + 1` into a page of `size` records; the extra row
/// only tells that more follow, and the last kept row is where the next page starts.
pub(crate) fn into_page<R, T: From<R>>(
    mut rows: Vec<R>,
    size: PageSize,
    position_of: impl Fn(&R) -> Position,
) -> Page<T> {
    let keep = usize::try_from(size.get()).unwrap_or(usize::MAX);
    let more = rows.len() > keep;
    rows.truncate(keep);
    let next = if more {
        rows.last().map(position_of)
    } else {
        None
    };
    Page {
        items: rows.into_iter().map(T::from).collect(),
        next,
    }
}

/// As [`into_page`], for rows that read into their items with what can fail.
pub(crate) fn read_page<R, T>(
    rows: Vec<R>,
    size: PageSize,
    position_of: impl Fn(&R) -> Position,
    read: impl FnMut(R) -> Result<T, StoreError>,
) -> Result<Page<T>, StoreError> {
    let page: Page<R> = into_page(rows, size, position_of);
    Ok(Page {
        items: page.items.into_iter().map(read).collect::<Result<_, _>>()?,
        next: page.next,
    })
}

/// The position after `id` in a list ordered by id alone.
pub(crate) fn id_position(id: i64) -> Position {
    Position {
        sort: Sort::default(),
        value: SortValue::Text(String::new()),
        id,
    }
}
