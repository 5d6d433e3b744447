//! Cross-record search over indexes the database keeps itself (migration 000027): on SQLite
//! an FTS5 table per kind of record kept by triggers, on PostgreSQL pg_trgm GIN indexes on
//! each table's folded text and phone digits. A write is found the moment it commits,
//! whichever path made it. Ranking and the order of hits are `domain::search`'s.
//!
//! One statement per kind of record asked for, each bounded: the best `limit + 1` hits of the
//! caller's account after the cursor; the pages are merged here.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Nullable, Text};
use domain::listing::PageSize;
use domain::search::{
    SCORE_CONTAINS, SCORE_EXACT, SCORE_OTHER, SCORE_PREFIX, SearchPosition, SearchQuery, SearchType,
};

use crate::prepared::Prepared;
use crate::{Backend, DbConnection, StoreError};

/// What to search for, and for whom. It grows with the rules a read obeys: record visibility
/// (units, own records) adds a predicate on the record's table to each statement's `WHERE`
/// next to `account_id` (see [`statement`]); field-level security narrows the fields a kind
/// of record is matched by (on SQLite an FTS5 column filter, `{name domain} : (...)`, over
/// the index's per-field columns; on PostgreSQL the folded text of the visible fields, which
/// needs its own index) and blanks a hidden field out of `subtitle`.
#[derive(Debug, Clone)]
pub struct SearchRequest<'a> {
    pub account_id: i64,
    pub query: &'a SearchQuery,
    /// The kinds of record to search, each one the caller may read.
    pub types: &'a [SearchType],
    /// The last hit of the previous page.
    pub after: Option<SearchPosition>,
    pub size: PageSize,
}

/// A record found.
#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub position: SearchPosition,
    pub title: String,
    pub subtitle: Option<String>,
}

/// A page of hits, best first, and where the next starts.
#[derive(Debug, Clone)]
pub struct Hits {
    pub items: Vec<Hit>,
    pub next: Option<SearchPosition>,
}

/// Where a kind of record is searched, and how its hits read.
struct Source {
    table: &'static str,
    /// The FTS5 index (SQLite).
    fts: &'static str,
    /// Expressions over the record `r`.
    title: &'static str,
    subtitle: &'static str,
    /// The text the PostgreSQL index folds: exactly its expression in migration 000027, or
    /// the index is not used.
    text: &'static str,
    /// The phone column, whose digits a phone fragment matches.
    phone: Option<&'static str>,
}

fn source(kind: SearchType) -> Source {
    match kind {
        SearchType::Company => Source {
            table: "companies",
            fts: "search_companies",
            title: "r.name",
            subtitle: "COALESCE(r.domain, r.website, r.email, r.phone)",
            text: "r.name || ' ' || COALESCE(r.domain, '') || ' ' || COALESCE(r.website, '') || ' ' \
                   || COALESCE(r.email, '') || ' ' || COALESCE(r.phone, '')",
            phone: Some("r.phone"),
        },
        SearchType::Contact => Source {
            table: "contacts",
            fts: "search_contacts",
            title: "r.full_name",
            subtitle: "COALESCE(r.email, r.job_title, r.phone)",
            text: "r.full_name || ' ' || COALESCE(r.email, '') || ' ' || COALESCE(r.job_title, '') \
                   || ' ' || COALESCE(r.phone, '')",
            phone: Some("r.phone"),
        },
        SearchType::Project => Source {
            table: "projects",
            fts: "search_projects",
            title: "r.name",
            subtitle: "r.state",
            text: "r.name || ' ' || COALESCE(r.external_id, '')",
            phone: None,
        },
        SearchType::Enquiry => Source {
            table: "enquiries",
            fts: "search_enquiries",
            title: "COALESCE(r.name, r.email, r.company_name, r.subject, r.phone, '')",
            subtitle: "COALESCE(r.company_name, r.subject, r.email)",
            text: "COALESCE(r.name, '') || ' ' || COALESCE(r.email, '') || ' ' \
                   || COALESCE(r.company_name, '') || ' ' || COALESCE(r.subject, '') || ' ' \
                   || COALESCE(r.phone, '')",
            phone: Some("r.phone"),
        },
        SearchType::Task => Source {
            table: "tasks",
            fts: "search_tasks",
            title: "r.title",
            subtitle: "r.status",
            text: "r.title",
            phone: None,
        },
        SearchType::Meeting => Source {
            table: "meetings",
            fts: "search_meetings",
            title: "r.title",
            subtitle: "r.location",
            text: "r.title || ' ' || COALESCE(r.location, '')",
            phone: None,
        },
    }
}

#[derive(QueryableByName)]
struct HitRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Nullable<Text>)]
    subtitle: Option<String>,
    #[diesel(sql_type = BigInt)]
    score: i64,
}

/// The best hits of `request`, best first, one page.
pub fn search(conn: &mut DbConnection, request: &SearchRequest) -> Result<Hits, StoreError> {
    let size = usize::try_from(request.size.get()).unwrap_or(usize::MAX);
    let mut hits: Vec<Hit> = Vec::new();
    if !request.query.is_empty() {
        let backend = conn.backend();
        for kind in request.types {
            let Some(sql) = statement(backend, *kind, request) else {
                continue;
            };
            let rows: Vec<HitRow> = sql.load(conn)?;
            hits.extend(rows.into_iter().map(|row| Hit {
                position: SearchPosition {
                    score: row.score,
                    record_type: *kind,
                    id: row.id,
                },
                title: row.title,
                subtitle: row.subtitle,
            }));
        }
    }
    hits.sort_by_key(|hit| hit.position);
    let next = (hits.len() > size).then(|| hits[size - 1].position);
    hits.truncate(size);
    Ok(Hits { items: hits, next })
}

/// The statement that finds the best `size + 1` records of `kind` after the cursor, or none
/// when the query cannot match this kind (a phone number, and the kind has no phone).
/// Its text is fixed for its shape (backend, kind, how many words, a phone or not, where the
/// cursor's kind stands), so each shape is prepared once per connection.
fn statement(backend: Backend, kind: SearchType, request: &SearchRequest) -> Option<Prepared> {
    let source = source(kind);
    let query = request.query;
    let digits = query.digits.as_deref().filter(|_| source.phone.is_some());
    if query.words.is_empty() && digits.is_none() {
        return None;
    }
    let title = source.title;
    let mut q = Prepared::new();
    q.sql("SELECT id, title, subtitle, score FROM (SELECT r.id AS id, ")
        .sql(title)
        .sql(" AS title, ")
        .sql(source.subtitle)
        .sql(" AS subtitle, CAST(CASE WHEN lower(")
        .sql(title)
        .sql(") = ");
    q.text(&query.text)
        .sql(&format!(" THEN {SCORE_EXACT} WHEN lower({title}) LIKE "));
    q.text(&format!("{}%", like_escape(&query.text)))
        .sql(&format!(
            " ESCAPE '\\' THEN {SCORE_PREFIX} WHEN lower({title}) LIKE "
        ));
    q.text(&format!("%{}%", like_escape(&query.text)))
        .sql(&format!(
            " ESCAPE '\\' THEN {SCORE_CONTAINS} ELSE {SCORE_OTHER} END AS BIGINT) AS score FROM "
        ));
    match backend {
        Backend::Sqlite => {
            // CROSS JOIN keeps the index the outer loop: the account's records are many, the
            // query's matches few.
            let fts = source.fts;
            q.sql(&format!(
                "{fts} CROSS JOIN {} r ON r.id = {fts}.rowid WHERE {fts} MATCH ",
                source.table
            ));
            q.text(&fts_query(&query.words, digits));
            q.sql(" AND r.account_id = ");
            q.bigint(request.account_id);
        }
        Backend::Postgres => {
            q.sql(&format!("{} r WHERE r.account_id = ", source.table));
            q.bigint(request.account_id);
            q.sql(" AND (");
            if !query.words.is_empty() {
                q.sql("(");
                for (i, word) in query.words.iter().enumerate() {
                    if i > 0 {
                        q.sql(" AND ");
                    }
                    // A word begins a word of the text: search_fold puts a space before each.
                    q.sql(&format!(
                        "search_fold({}) LIKE '%' || search_fold(",
                        source.text
                    ));
                    q.text(word).sql(") || '%'");
                }
                q.sql(")");
            }
            if let (Some(digits), Some(phone)) = (digits, source.phone) {
                if !query.words.is_empty() {
                    q.sql(" OR ");
                }
                q.sql(&format!(
                    "({phone} IS NOT NULL AND search_digits({phone}) LIKE "
                ));
                q.text(&format!("%{digits}%")).sql(")");
            }
            q.sql(")");
        }
    }
    q.sql(") hits");
    if let Some(after) = request.after {
        // After the cursor in (score descending, kind, id): a kind before the cursor's
        // continues below its score, the cursor's own after its id, a later one from it.
        match kind.cmp(&after.record_type) {
            std::cmp::Ordering::Less => {
                q.sql(" WHERE score < ").bigint(after.score);
            }
            std::cmp::Ordering::Equal => {
                q.sql(" WHERE (score < ").bigint(after.score);
                q.sql(" OR (score = ").bigint(after.score);
                q.sql(" AND id > ").bigint(after.id).sql("))");
            }
            std::cmp::Ordering::Greater => {
                q.sql(" WHERE score <= ").bigint(after.score);
            }
        }
    }
    q.sql(" ORDER BY score DESC, id LIMIT ")
        .bigint(request.size.get() + 1);
    Some(q)
}

/// An FTS5 query that no input can make a syntax error of: every word a quoted string (its
/// quotes doubled), matched as a prefix of a token of any column, all of them; or, for a
/// phone fragment, the digits as a prefix of a suffix of the phone's digits.
fn fts_query(words: &[String], digits: Option<&str>) -> String {
    let quoted = |s: &str| format!("\"{}\"*", s.replace('"', "\"\""));
    let all_words = words
        .iter()
        .map(|w| quoted(w))
        .collect::<Vec<_>>()
        .join(" ");
    match (all_words.is_empty(), digits) {
        (false, None) => all_words,
        (true, Some(d)) => format!("digits : {}", quoted(d)),
        (false, Some(d)) => format!("({all_words}) OR (digits : {})", quoted(d)),
        (true, None) => String::new(),
    }
}

/// `text` with LIKE's wildcards and the escape character escaped (by `\`).
fn like_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fts_queries_quote_every_word() {
        let words = vec!["a\"b".to_owned(), "near".to_owned()];
        assert_eq!(fts_query(&words, None), "\"a\"\"b\"* \"near\"*");
        assert_eq!(
            fts_query(&words[1..], Some("207946")),
            "(\"near\"*) OR (digits : \"207946\"*)"
        );
        assert_eq!(like_escape("50%_\\"), "50\\%\\_\\\\");
    }
}
