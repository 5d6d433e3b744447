//! Cross-record search over indexes the database keeps itself (migrations 000027 and 000030):
//! on SQLite an FTS5 table per kind of record kept by triggers, on PostgreSQL pg_trgm GIN
//! indexes on each table's folded text and phone digits and a B-tree on its folded title. A
//! write is found the moment it commits, whichever path made it. What the tiers are is
//! `domain::search`'s.
//!
//! Ranked inside the indexes, bounded: a page is read tier by tier (title equal, title begins,
//! title contains, found elsewhere), kind by kind, each statement one tier of one kind in id
//! order after the cursor and cut at what the page still needs; the first that fills it ends
//! the request. So a request reads about a page of index entries however common its words
//! are, where scoring every match read up to 1,000,000 rows (BENCHMARKS.md, issue 16).
//! Each statement's index is one whose matches are (nearly) the tier itself:
//! - SQLite: FTS5 in rowid order with `LIMIT`. Equal and begins are driven by the title's
//!   marked first and last words (the `ends` column of 000030), contains by the title phrase,
//!   elsewhere by every word. The word being typed is matched through the longest prefix index
//!   that fits it, and every row is checked exactly on the record (`search_key`, the Rust
//!   `domain::search::fold` registered on each connection) before it counts.
//! - PostgreSQL: equal and begins are ranges of the B-tree on `search_key(title)` (000030);
//!   contains and elsewhere the GIN index of each record's folded words (`search_words`,
//!   000030), probed up to [`CANDIDATES`] matches that are then sorted by id, or, when the
//!   words are that common, the table in id order with the words tested on each record.
//!
//! What stays unbounded: a tier's statement skips the rows of better tiers that its index also
//! holds (the contains phrase holds every title that begins with it), so the page where one
//! tier runs out and the next begins reads the better tier's rows once more; two common
//! words that rarely meet cost what intersecting their index entries costs; and on
//! PostgreSQL the probe of a common word builds the GIN bitmap of all its matches before
//! it stops (about 300 ms at 1,000,000) and the id-order read folds each record's text.

use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Nullable, Text};
use domain::listing::PageSize;
use domain::roles::FieldMask;
use domain::search::{
    SCORE_CONTAINS, SCORE_EXACT, SCORE_OTHER, SCORE_PREFIX, SearchPosition, SearchQuery,
    SearchType, Searched,
};
use domain::units::RecordScope;

use crate::prepared::Prepared;
use crate::{Backend, DbConnection, StoreError};

/// What to search for, and for whom. It carries the rules a read obeys: record visibility
/// (units, own records) adds a predicate on the record's table to each statement's `WHERE`
/// next to `account_id` (see [`restrict`]); field-level security narrows the fields a kind of
/// record is matched by and shows (see [`source`]).
#[derive(Debug, Clone)]
pub struct SearchRequest<'a> {
    pub account_id: i64,
    pub query: &'a SearchQuery,
    /// The kinds of record to search, each one the caller may read.
    pub types: &'a [SearchType],
    /// The companies, contacts and projects the caller sees.
    pub scope: &'a RecordScope,
    /// The caller's field rules: a hidden field neither finds a record nor shows in a hit.
    pub mask: &'a FieldMask,
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

/// Where a kind of record is searched, and how its hits read, for one caller.
struct Source {
    table: &'static str,
    /// The FTS5 index (SQLite), and its column that holds the title.
    fts: &'static str,
    fts_title: &'static str,
    /// Expressions over the record `r`. The PostgreSQL title index holds exactly
    /// `search_key(title)` (migration 000030).
    title: &'static str,
    subtitle: String,
    /// The text the PostgreSQL word index folds: exactly its expression in migration 000027,
    /// or the index is not used.
    indexed_text: &'static str,
    /// The text a hit is checked against: the indexed text, or the visible part of it when
    /// the caller's role hides some of its fields.
    text: String,
    /// The FTS5 columns a word may be found in beyond the title, when the role hides some:
    /// `None` for every column.
    fts_columns: Option<Vec<&'static str>>,
    /// The phone column, whose digits a phone fragment matches, when the kind has one and
    /// the caller may see it.
    phone: Option<&'static str>,
    /// Whether the records have an owner and a unit that decide who sees them (companies,
    /// contacts, projects).
    by_unit: bool,
}

impl Source {
    /// Whether the role hides some of the fields the indexes hold, so that every word of a
    /// hit must be found again in what it sees.
    fn narrowed(&self) -> bool {
        self.fts_columns.is_some()
    }
}

/// How `kind` is searched for a caller whose field rules are `mask`; `None` when the rules
/// hide its title (`domain::search::SearchType::searched`). A narrowed kind matches and
/// shows only the fields the role sees: on SQLite an FTS5 column filter over the index's
/// per-field columns, on PostgreSQL each word checked again on the visible fields of the
/// rows the word index finds; its subtitle is the first visible field that is set.
fn source(kind: SearchType, mask: &FieldMask) -> Option<Source> {
    let base = |table, fts, fts_title, title, subtitle: &str, indexed_text, phone| Source {
        table,
        fts,
        fts_title,
        title,
        subtitle: subtitle.to_owned(),
        indexed_text,
        text: indexed_text.to_owned(),
        fts_columns: None,
        phone,
        by_unit: matches!(
            kind,
            SearchType::Company | SearchType::Contact | SearchType::Project
        ),
    };
    let mut source = match kind {
        SearchType::Company => base(
            "companies",
            "search_companies",
            "name",
            "r.name",
            "COALESCE(r.domain, r.website, r.email, r.phone)",
            "r.name || ' ' || COALESCE(r.domain, '') || ' ' || COALESCE(r.website, '') || ' ' \
             || COALESCE(r.email, '') || ' ' || COALESCE(r.phone, '')",
            Some("r.phone"),
        ),
        SearchType::Contact => base(
            "contacts",
            "search_contacts",
            "full_name",
            "r.full_name",
            "COALESCE(r.email, r.job_title, r.phone)",
            "r.full_name || ' ' || COALESCE(r.email, '') || ' ' || COALESCE(r.job_title, '') \
             || ' ' || COALESCE(r.phone, '')",
            Some("r.phone"),
        ),
        SearchType::Project => base(
            "projects",
            "search_projects",
            "name",
            "r.name",
            "r.state",
            "r.name || ' ' || COALESCE(r.external_id, '')",
            None,
        ),
        SearchType::Enquiry => base(
            "enquiries",
            "search_enquiries",
            "title",
            "COALESCE(r.name, r.email, r.company_name, r.subject, r.phone, '')",
            "COALESCE(r.company_name, r.subject, r.email)",
            "COALESCE(r.name, '') || ' ' || COALESCE(r.email, '') || ' ' \
             || COALESCE(r.company_name, '') || ' ' || COALESCE(r.subject, '') || ' ' \
             || COALESCE(r.phone, '')",
            Some("r.phone"),
        ),
        SearchType::Task => base(
            "tasks",
            "search_tasks",
            "title",
            "r.title",
            "r.status",
            "r.title",
            None,
        ),
        SearchType::Meeting => base(
            "meetings",
            "search_meetings",
            "title",
            "r.title",
            "r.location",
            "r.title || ' ' || COALESCE(r.location, '')",
            None,
        ),
    };
    match kind.searched(mask) {
        Searched::Whole => {}
        Searched::Not => return None,
        Searched::Narrowed(fields) => {
            let columns: Vec<String> = fields.iter().map(|f| format!("r.{f}")).collect();
            if kind != SearchType::Project {
                source.subtitle = match columns.as_slice() {
                    [] => "CAST(NULL AS TEXT)".to_owned(),
                    [one] => one.clone(),
                    many => format!("COALESCE({})", many.join(", ")),
                };
            }
            source.text = std::iter::once(source.title.to_owned())
                .chain(columns.iter().map(|c| format!("COALESCE({c}, '')")))
                .collect::<Vec<_>>()
                .join(" || ' ' || ");
            if !fields.contains(&"phone") {
                source.phone = None;
            }
            source.fts_columns = Some(fields);
        }
    }
    Some(source)
}

#[derive(QueryableByName)]
struct HitRow {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    title: String,
    #[diesel(sql_type = Nullable<Text>)]
    subtitle: Option<String>,
}

/// A row of a PostgreSQL word statement: a hit, or nulls when the probe found none; and how
/// many matches the probe took from the index.
#[derive(QueryableByName)]
struct WordRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    title: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    subtitle: Option<String>,
    #[diesel(sql_type = BigInt)]
    candidates: i64,
}

diesel::define_sql_function! {
    /// `domain::search::fold` on SQLite, registered on each connection (`pool`); on
    /// PostgreSQL a SQL function of the same name and meaning (migration 000030).
    fn search_key(text: Nullable<Text>) -> Nullable<Text>;
}

/// The tiers, best first.
const TIERS: [i64; 4] = [SCORE_EXACT, SCORE_PREFIX, SCORE_CONTAINS, SCORE_OTHER];

/// The best hits of `request`, best first, one page.
pub fn search(conn: &mut DbConnection, request: &SearchRequest) -> Result<Hits, StoreError> {
    let size = usize::try_from(request.size.get()).unwrap_or(usize::MAX);
    let wanted = size.saturating_add(1);
    let mut kinds = request.types.to_vec();
    kinds.sort();
    kinds.dedup();
    let sources: Vec<(SearchType, Source)> = kinds
        .into_iter()
        .filter_map(|kind| Some((kind, source(kind, request.mask)?)))
        .collect();
    let mut hits: Vec<Hit> = Vec::new();
    if !request.query.is_empty() {
        let backend = conn.backend();
        // The order is (tier, kind, id), so reading tier by tier and kind by kind, each in id
        // order, yields the hits in order: stop at the first statement that fills the page.
        'tiers: for tier in TIERS {
            for (kind, source) in &sources {
                let after_id = match request.after {
                    Some(after) if tier > after.score => continue,
                    Some(after) if tier == after.score => match kind.cmp(&after.record_type) {
                        std::cmp::Ordering::Less => continue,
                        std::cmp::Ordering::Equal => Some(after.id),
                        std::cmp::Ordering::Greater => None,
                    },
                    _ => None,
                };
                let limit = i64::try_from(wanted - hits.len()).unwrap_or(i64::MAX);
                let rows = tier_rows(conn, backend, source, tier, request, after_id, limit)?;
                hits.extend(rows.into_iter().map(|row| Hit {
                    position: SearchPosition {
                        score: tier,
                        record_type: *kind,
                        id: row.id,
                    },
                    title: row.title,
                    subtitle: row.subtitle,
                }));
                if hits.len() >= wanted {
                    break 'tiers;
                }
            }
        }
    }
    let next = (hits.len() > size).then(|| hits[size - 1].position);
    hits.truncate(size);
    Ok(Hits { items: hits, next })
}

/// The first `limit` records of `source` in `tier` after `after_id`, in id order.
fn tier_rows(
    conn: &mut DbConnection,
    backend: Backend,
    source: &Source,
    tier: i64,
    request: &SearchRequest,
    after_id: Option<i64>,
    limit: i64,
) -> Result<Vec<HitRow>, StoreError> {
    let Some(sql) = statement(backend, source, tier, request, after_id, limit) else {
        return Ok(Vec::new());
    };
    if backend == Backend::Sqlite || tier == SCORE_EXACT || tier == SCORE_PREFIX {
        return Ok(sql.load(conn)?);
    }
    let mut rows: Vec<WordRow> = sql.load(conn)?;
    if rows.first().is_some_and(|row| row.candidates > CANDIDATES) {
        let Some(scan) = postgres_word_statement(source, tier, request, after_id, limit, false)
        else {
            return Ok(Vec::new());
        };
        rows = scan.load(conn)?;
    }
    Ok(rows
        .into_iter()
        .filter_map(|row| {
            Some(HitRow {
                id: row.id?,
                title: row.title.unwrap_or_default(),
                subtitle: row.subtitle,
            })
        })
        .collect())
}

/// The statement that finds the first `limit` records of `source` in `tier` after `after_id`
/// (all of the tier without one), in id order; or none when the query cannot match this way
/// (a tier of the title without words; a phone number, and the kind has no phone).
/// Its text is fixed for its shape (backend, kind, tier, how many words, a phone or not, a
/// cursor or not), so each shape is prepared once per connection.
fn statement(
    backend: Backend,
    source: &Source,
    tier: i64,
    request: &SearchRequest,
    after_id: Option<i64>,
    limit: i64,
) -> Option<Prepared> {
    let query = request.query;
    let digits = query
        .digits
        .as_deref()
        .filter(|_| source.phone.is_some() && tier == SCORE_OTHER);
    if query.words.is_empty() && digits.is_none() {
        return None;
    }
    let mut q = Prepared::new();
    q.sql(&format!(
        "SELECT r.id AS id, {} AS title, {} AS subtitle FROM ",
        source.title, source.subtitle
    ));
    let order = match backend {
        Backend::Sqlite => {
            let fts = source.fts;
            // CROSS JOIN keeps the index the outer loop, read in rowid order up to the limit.
            q.sql(&format!(
                "{fts} CROSS JOIN {} r ON r.id = {fts}.rowid WHERE {fts} MATCH ",
                source.table
            ));
            q.text(&fts_query(source, tier, query, digits));
            restrict(&mut q, request, source, backend);
            if let Some(id) = after_id {
                q.sql(&format!(" AND {fts}.rowid > ")).bigint(id);
            }
            sqlite_check(&mut q, source, tier, query, digits);
            format!("{fts}.rowid")
        }
        Backend::Postgres => {
            if tier != SCORE_EXACT && tier != SCORE_PREFIX {
                return postgres_word_statement(source, tier, request, after_id, limit, true);
            }
            q.sql(&format!("{} r WHERE TRUE", source.table));
            restrict(&mut q, request, source, backend);
            if let Some(id) = after_id {
                q.sql(" AND r.id > ").bigint(id);
            }
            postgres_title_match(&mut q, source, tier, query);
            "r.id".to_owned()
        }
    };
    q.sql(&format!(" ORDER BY {order} LIMIT ")).bigint(limit);
    Some(q)
}

/// Which records of the table the caller may find: its account's. Record visibility (units,
/// own records) adds its predicate on `r` here, once for every statement: each statement
/// reads its index in id order and stops at its limit, so a predicate that hides a share of
/// the matches multiplies the rows read by the inverse of the share it leaves; to keep the
/// bound at any share, put the visibility key into the index (on SQLite a token column of
/// the FTS5 table matched with the words, on PostgreSQL a column of the title B-tree after
/// `account_id`).
fn restrict(q: &mut Prepared, request: &SearchRequest, source: &Source, backend: Backend) {
    q.sql(" AND r.account_id = ").bigint(request.account_id);
    if let RecordScope::Limited { user_id, units } = request.scope
        && source.by_unit
    {
        q.sql(" AND (r.owner_id = ")
            .bigint(*user_id)
            .sql(" OR r.unit_id IN (")
            .ids_in(backend, units)
            .sql("))");
    }
}

/// The FTS5 query of a tier, which no input can make a syntax error of: every word a quoted
/// string (its quotes doubled). Equal and begins find the title's first word through its
/// marked copy in `ends` (U+E001 in front), equal its last word too (U+E000 behind); the
/// title's tiers match the phrase in the title's column, anchored at its start (`^`) for
/// equal and begins; elsewhere is every word in any column, or the phone's digits as a
/// prefix of a suffix of its digits. Every word but the last is a whole word; the last is
/// the longest indexed prefix of itself, which [`sqlite_check`] then checks whole.
fn fts_query(source: &Source, tier: i64, query: &SearchQuery, digits: Option<&str>) -> String {
    let quoted = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let prefix = |s: &str| format!("{}*", quoted(indexed_prefix(s)));
    let title = source.fts_title;
    let phrase = query.phrase();
    // The digits whole: few phones share a run of digits, so their prefix is cheap unindexed.
    let digits = digits.map(|d| format!("digits : {}*", quoted(d)));
    let (Some(first), Some(last)) = (phrase.first(), phrase.last()) else {
        return digits.unwrap_or_default();
    };
    let mut title_phrase: Vec<String> = phrase[..phrase.len() - 1]
        .iter()
        .map(|w| quoted(w))
        .collect();
    let first_marked = format!("{FIRST}{first}");
    match tier {
        SCORE_EXACT => {
            title_phrase.push(quoted(last));
            format!(
                "ends : {} AND ends : {} AND {{{title}}} : ^ {}",
                quoted(&first_marked),
                quoted(&format!("{last}{LAST}")),
                title_phrase.join(" + ")
            )
        }
        SCORE_PREFIX if phrase.len() == 1 => format!("ends : {}", prefix(&first_marked)),
        SCORE_PREFIX => {
            title_phrase.push(prefix(last));
            format!(
                "ends : {} AND {{{title}}} : ^ {}",
                quoted(&first_marked),
                title_phrase.join(" + ")
            )
        }
        SCORE_CONTAINS => {
            title_phrase.push(prefix(last));
            format!("{{{title}}} : {}", title_phrase.join(" + "))
        }
        _ => {
            let words = query.words.len();
            let mut all_words = query
                .words
                .iter()
                .enumerate()
                .map(|(i, w)| if i + 1 == words { prefix(w) } else { quoted(w) })
                .collect::<Vec<_>>()
                .join(" ");
            // Only in the columns the role sees.
            if let Some(columns) = &source.fts_columns
                && !all_words.is_empty()
            {
                all_words = format!("{{{title} {}}} : ({all_words})", columns.join(" "));
            }
            match digits {
                None => all_words,
                Some(digits) => format!("({all_words}) OR ({digits})"),
            }
        }
    }
}

/// The marks of a title's first and last words in the `ends` column (migration 000030).
const FIRST: char = '\u{e001}';
const LAST: char = '\u{e000}';

/// The prefix lengths each FTS5 index keeps (`prefix=` in migration 000030), longest first.
const PREFIX_LENGTHS: [usize; 5] = [6, 4, 3, 2, 1];

/// The longest beginning of `word` that has a prefix index of its length: FTS5 reads such a
/// prefix lazily in rowid order, and any other by merging the entries of every word it
/// begins before the first row.
fn indexed_prefix(word: &str) -> &str {
    let chars = word.chars().count();
    let keep = PREFIX_LENGTHS
        .into_iter()
        .find(|n| *n <= chars)
        .unwrap_or(chars);
    word.char_indices()
        .nth(keep)
        .map_or(word, |(at, _)| &word[..at])
}

/// SQLite: the checks on the record that make an FTS5 row a hit of the tier (its folded
/// title against the folded query; elsewhere, the last word whole, not just its indexed
/// prefix) and keep out the rows of better tiers that the tier's FTS5 query also finds.
fn sqlite_check(
    q: &mut Prepared,
    source: &Source,
    tier: i64,
    query: &SearchQuery,
    digits: Option<&str>,
) {
    let title = format!("search_key({})", source.title);
    let key = &query.key;
    match tier {
        SCORE_EXACT => {
            q.sql(&format!(" AND {title} = ")).text(key);
        }
        SCORE_PREFIX => {
            q.sql(&format!(" AND {title} LIKE "))
                .text(&format!("{key}%"));
            q.sql(&format!(" AND {title} <> ")).text(key);
        }
        SCORE_CONTAINS => {
            q.sql(&format!(" AND ' ' || {title} LIKE "))
                .text(&format!("% {key}%"));
            q.sql(&format!(" AND {title} NOT LIKE "))
                .text(&format!("{key}%"));
        }
        _ => {
            // The phone first: its test is cheaper than folding the text.
            q.sql(" AND (");
            if let (Some(d), Some(phone)) = (digits, source.phone) {
                q.sql(&format!(
                    "replace(replace(replace(replace(replace(replace(replace({phone}, ' ', ''), \
                     '+', ''), '-', ''), '(', ''), ')', ''), '.', ''), '/', '') LIKE "
                ))
                .text(&format!("%{d}%"))
                .sql(" OR ");
            }
            match query.last_word() {
                Some(last) => {
                    q.sql(&format!("' ' || search_key({}) LIKE ", source.text))
                        .text(&format!("% {}%", domain::search::fold(last)));
                }
                None => {
                    q.sql("FALSE");
                }
            }
            q.sql(&format!(") AND ' ' || {title} NOT LIKE "))
                .text(&format!("% {key}%"));
        }
    }
}

/// PostgreSQL, equal and begins: an equality and a range on the title B-tree
/// (`search_key(title) COLLATE "C"`, migration 000030), read in id order.
fn postgres_title_match(q: &mut Prepared, source: &Source, tier: i64, query: &SearchQuery) {
    let title = format!("search_key({})", source.title);
    if tier == SCORE_EXACT {
        q.sql(&format!(" AND {title} COLLATE \"C\" = search_key("))
            .text(&query.text)
            .sql(")");
    } else {
        q.sql(&format!(" AND {title} COLLATE \"C\" > search_key("))
            .text(&query.text)
            .sql(")");
        q.sql(&format!(" AND {title} COLLATE \"C\" < search_key("))
            .text(&query.text)
            .sql(") || chr(1114111)");
    }
}

/// How many records a word statement on PostgreSQL takes from the word index before it
/// decides the words are common. Up to it, the matches are sorted by id (a GIN index has no
/// order); past it, the table is read in id order and each record tested, which finds a page
/// within about `limit * rows / CANDIDATES` rows. Near the square root of `limit * rows` at
/// 1,000,000 records keeps both sides of the choice small.
const CANDIDATES: i64 = 5_000;

/// PostgreSQL, contains and elsewhere: the records of the tier after `after_id`, in id order.
/// `probe`: take the word index's matches (at most [`CANDIDATES`] + 1 of them) and sort them,
/// answering also how many it took, with a row of nulls when none is a hit; otherwise read
/// the table in id order, the words tested on each record (the tests written so that no index
/// can answer them, or the planner would sort every match again). The planner cannot be left
/// to choose between the two: it estimates common words' combinations far from the truth
/// and took the id order for a rare name, reading all 1,000,000 rows.
fn postgres_word_statement(
    source: &Source,
    tier: i64,
    request: &SearchRequest,
    after_id: Option<i64>,
    limit: i64,
    probe: bool,
) -> Option<Prepared> {
    let query = request.query;
    let digits = query.digits.as_deref().filter(|_| source.phone.is_some());
    if query.words.is_empty() && digits.is_none() {
        return None;
    }
    if tier == SCORE_CONTAINS && query.words.is_empty() {
        return None;
    }
    let digits = digits.filter(|_| tier == SCORE_OTHER);
    let words = |q: &mut Prepared, indexed: bool| {
        let (open, close) = if indexed {
            ("", "")
        } else {
            ("(", ") IS TRUE")
        };
        q.sql(" AND (");
        if query.words.is_empty() {
            q.sql("FALSE");
        } else {
            q.sql(&format!("{open}search_words({}) @@ ", source.indexed_text));
            postgres_tsquery(q, query);
            q.sql(close);
        }
        if let (Some(d), Some(phone)) = (digits, source.phone) {
            q.sql(&format!(
                " OR {open}{phone} IS NOT NULL AND search_digits({phone}) LIKE "
            ));
            q.text(&format!("%{d}%")).sql(close);
        }
        q.sql(")");
    };
    let title = format!("search_key({})", source.title);
    let tier_check = |q: &mut Prepared| {
        // The word being typed, whole: the index matched a marked prefix of it. When the
        // role hides some of the indexed fields, every word, in what it sees.
        let checked = match (source.narrowed(), query.last_word()) {
            (true, _) => query.words.iter().map(String::as_str).collect(),
            (false, Some(last)) => vec![last],
            (false, None) => Vec::new(),
        };
        if !checked.is_empty() {
            q.sql(" AND (");
            for (i, word) in checked.into_iter().enumerate() {
                if i > 0 {
                    q.sql(" AND ");
                }
                q.sql(&format!(
                    "search_fold({}) LIKE '%' || search_fold(",
                    source.text
                ))
                .text(word)
                .sql(") || '%'");
            }
            if let (Some(d), Some(phone)) = (digits, source.phone) {
                q.sql(&format!(
                    " OR {phone} IS NOT NULL AND search_digits({phone}) LIKE "
                ))
                .text(&format!("%{d}%"));
            }
            q.sql(")");
        }
        if tier == SCORE_CONTAINS {
            q.sql(&format!(" AND ' ' || {title} LIKE '% ' || search_key("))
                .text(&query.text)
                .sql(") || '%'");
            q.sql(&format!(" AND NOT starts_with({title}, search_key("))
                .text(&query.text)
                .sql("))");
        } else {
            q.sql(&format!(" AND ' ' || {title} NOT LIKE '% ' || search_key("))
                .text(&query.text)
                .sql(") || '%'");
        }
    };
    let table = source.table;
    let mut q = Prepared::new();
    if probe {
        q.sql(&format!(
            "WITH c AS MATERIALIZED (SELECT r.id FROM {table} r WHERE TRUE"
        ));
        restrict(&mut q, request, source, Backend::Postgres);
        if let Some(id) = after_id {
            q.sql(" AND r.id > ").bigint(id);
        }
        words(&mut q, true);
        q.sql(" LIMIT ").bigint(CANDIDATES + 1);
        q.sql(&format!(
            "), n AS (SELECT count(*) AS candidates FROM c) \
             SELECT r.id AS id, {} AS title, {} AS subtitle, n.candidates AS candidates \
             FROM n LEFT JOIN (c JOIN {table} r ON r.id = c.id",
            source.title, source.subtitle
        ));
        tier_check(&mut q);
        q.sql(") ON TRUE ORDER BY r.id LIMIT ").bigint(limit);
    } else {
        q.sql(&format!(
            "SELECT r.id AS id, {} AS title, {} AS subtitle, CAST(0 AS BIGINT) AS candidates \
             FROM {table} r WHERE TRUE",
            source.title, source.subtitle
        ));
        restrict(&mut q, request, source, Backend::Postgres);
        if let Some(id) = after_id {
            q.sql(" AND r.id > ").bigint(id);
        }
        words(&mut q, false);
        tier_check(&mut q);
        q.sql(" ORDER BY r.id LIMIT ").bigint(limit);
    }
    Some(q)
}

/// The words as a text-search query over `search_words` (migration 000030), every lexeme
/// the word folded in SQL and quoted, so no input is tsquery syntax: each word but the last
/// a whole word; the last its marked prefix of 6 or 3 characters when it is that long (the
/// statement checks it whole), else a prefix query.
fn postgres_tsquery(q: &mut Prepared, query: &SearchQuery) {
    let words = query.words.len();
    q.sql("(");
    for (i, word) in query.words.iter().enumerate() {
        if i > 0 {
            q.sql(" && ");
        }
        // A word that folds to nothing here (symbols the SQL fold drops) is an empty
        // query, which `&&` leaves out: `''` is not tsquery syntax.
        q.sql("CAST(CASE WHEN search_key(")
            .text(word)
            .sql(") = '' THEN ''");
        if i + 1 < words {
            q.sql(" ELSE quote_literal(search_key(")
                .text(word)
                .sql(")) END AS tsquery)");
        } else {
            q.sql(" WHEN char_length(search_key(")
                .text(word)
                .sql(")) >= 6 THEN quote_literal('^' || left(search_key(")
                .text(word)
                .sql("), 6)) WHEN char_length(search_key(")
                .text(word)
                .sql(")) >= 3 THEN quote_literal('^' || left(search_key(")
                .text(word)
                .sql("), 3)) ELSE quote_literal(search_key(")
                .text(word)
                .sql(")) || ':*' END AS tsquery)");
        }
    }
    q.sql(")");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(q: &str) -> SearchQuery {
        SearchQuery::parse(q).unwrap_or_else(|e| panic!("{e:?}"))
    }

    #[test]
    fn fts_queries_quote_every_word_and_mark_the_titles_ends() {
        let all = FieldMask::unrestricted();
        let companies =
            source(SearchType::Company, &all).unwrap_or_else(|| panic!("companies are searched"));
        let q = query("a\"b near");
        assert_eq!(
            fts_query(&companies, SCORE_OTHER, &q, None),
            "\"a\" \"b\" \"near\"*"
        );
        let q = query("seed company 123456");
        assert_eq!(
            fts_query(&companies, SCORE_EXACT, &q, None),
            "ends : \"\u{e001}seed\" AND ends : \"123456\u{e000}\" \
             AND {name} : ^ \"seed\" + \"company\" + \"123456\""
        );
        assert_eq!(
            fts_query(&companies, SCORE_PREFIX, &q, None),
            "ends : \"\u{e001}seed\" AND {name} : ^ \"seed\" + \"company\" + \"123456\"*"
        );
        assert_eq!(
            fts_query(&companies, SCORE_CONTAINS, &query("the company"), None),
            "{name} : \"the\" + \"compan\"*"
        );
        assert_eq!(
            fts_query(&companies, SCORE_PREFIX, &query("seed"), None),
            "ends : \"\u{e001}see\"*"
        );
        assert_eq!(
            fts_query(&companies, SCORE_OTHER, &query("020 7946"), Some("207946")),
            "(\"020\" \"7946\"*) OR (digits : \"207946\"*)"
        );
    }

    /// Prints the statements of the benchmark's three searches (the first page, every tier
    /// of companies and contacts) with their values written in, for EXPLAIN in psql or
    /// sqlite3: `cargo test -p persistence statements_to_explain -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn statements_to_explain() {
        for (name, raw) in [
            ("name", "Seed company 123456"),
            ("email", "person123456@seed123456.example"),
            ("phone", "020 70123456"),
            ("common", "seed company"),
        ] {
            let q = query(raw);
            let size = PageSize::parse(20).unwrap_or_else(|e| panic!("{e:?}"));
            let request = SearchRequest {
                account_id: 1,
                query: &q,
                types: &[SearchType::Company, SearchType::Contact],
                scope: &RecordScope::All,
                mask: &FieldMask::unrestricted(),
                after: None,
                size,
            };
            for backend in [Backend::Sqlite, Backend::Postgres] {
                for tier in TIERS {
                    for kind in [SearchType::Company, SearchType::Contact] {
                        let Some(source) = source(kind, request.mask) else {
                            continue;
                        };
                        if let Some(sql) = statement(backend, &source, tier, &request, None, 21) {
                            println!("-- {name} {backend:?} {tier} {kind:?}\n{};", sql.inlined());
                        }
                        let scan =
                            postgres_word_statement(&source, tier, &request, None, 21, false);
                        if let Some(sql) =
                            scan.filter(|_| backend == Backend::Postgres && tier <= SCORE_CONTAINS)
                        {
                            println!(
                                "-- {name} {backend:?} {tier} {kind:?} scan\n{};",
                                sql.inlined()
                            );
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn the_word_being_typed_is_cut_to_an_indexed_prefix() {
        assert_eq!(indexed_prefix("example"), "exampl");
        assert_eq!(indexed_prefix("seeds"), "seed");
        assert_eq!(indexed_prefix("für"), "für");
        assert_eq!(indexed_prefix("müllers"), "müller");
        assert_eq!(indexed_prefix("a"), "a");
    }
}
