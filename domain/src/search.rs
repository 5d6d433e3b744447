//! Cross-record search: which kinds of record it finds, how a query is read, and how hits are
//! ordered. The indexes and their SQL live in `persistence::search`.

use std::cmp::Ordering;

use crate::access::Scope;
use crate::event::RecordType;
use crate::validation::ValueError;

wire_enum! {
    /// The kinds of record search finds, in the order that breaks ties between equal scores.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum SearchType {
        Company = "company",
        Contact = "contact",
        Project = "project",
        Enquiry = "enquiry",
        Task = "task",
        Meeting = "meeting",
    }
}

parse_choice!(SearchType);

impl SearchType {
    pub fn record_type(self) -> RecordType {
        match self {
            SearchType::Company => RecordType::Company,
            SearchType::Contact => RecordType::Contact,
            SearchType::Project => RecordType::Project,
            SearchType::Enquiry => RecordType::Enquiry,
            SearchType::Task => RecordType::Task,
            SearchType::Meeting => RecordType::Meeting,
        }
    }

    /// The scope that reads records of this kind, and so finds them.
    pub fn read_scope(self) -> Scope {
        self.record_type().read_scope()
    }

    /// The collection the record's URL is in (`/v1/<collection>/<id>`).
    pub fn collection(self) -> &'static str {
        match self {
            SearchType::Company => "companies",
            SearchType::Contact => "contacts",
            SearchType::Project => "projects",
            SearchType::Enquiry => "enquiries",
            SearchType::Task => "tasks",
            SearchType::Meeting => "meetings",
        }
    }

    /// The fields a record of this kind is found by, for the documentation.
    pub fn fields(self) -> &'static str {
        match self {
            SearchType::Company => "name, domain, website, email, phone",
            SearchType::Contact => "full name, email, phone, job title",
            SearchType::Project => "name, external id",
            SearchType::Enquiry => "enquirer's name, email, phone, company name, subject",
            SearchType::Task => "title",
            SearchType::Meeting => "title, location",
        }
    }
}

/// The longest query read, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// The most words a query matches by; the rest are ignored (each costs the statement a
/// condition).
pub const MAX_WORDS: usize = 8;
/// The fewest digits (after leading zeros) a phone fragment matches by.
pub const MIN_PHONE_DIGITS: usize = 3;

/// A search query as the indexes read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchQuery {
    /// The query in lower case, its whitespace collapsed: what a title is compared with to
    /// rank it.
    pub text: String,
    /// Its words (letters and digits of any script, in lower case): a record matches when
    /// every word begins a word of one of its searchable fields.
    pub words: Vec<String>,
    /// When the query is a phone number or part of one (digits and `+ - ( ) . /` and spaces
    /// only): its digits without leading zeros, which a record's phone digits must contain,
    /// so that `020 7946` finds `+44 20 7946 0000`.
    pub digits: Option<String>,
}

impl SearchQuery {
    /// Reads `q`; blank or too long is an error.
    pub fn parse(raw: &str) -> Result<SearchQuery, ValueError> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(ValueError::new(
                "blank",
                "must not be blank: give the text to search for",
            ));
        }
        if trimmed.chars().count() > MAX_QUERY_CHARS {
            return Err(ValueError::new(
                "too_long",
                format!("must be at most {MAX_QUERY_CHARS} characters"),
            ));
        }
        let text = trimmed
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase();
        let mut words: Vec<String> = Vec::new();
        for word in text.split(|c: char| !c.is_alphanumeric()) {
            if !word.is_empty() && !words.iter().any(|w| w == word) && words.len() < MAX_WORDS {
                words.push(word.to_owned());
            }
        }
        let phone_like = trimmed
            .chars()
            .all(|c| c.is_ascii_digit() || c.is_whitespace() || "+-()./".contains(c));
        let digits = phone_like
            .then(|| {
                let all: String = trimmed.chars().filter(char::is_ascii_digit).collect();
                all.trim_start_matches('0').to_owned()
            })
            .filter(|d| d.len() >= MIN_PHONE_DIGITS);
        Ok(SearchQuery {
            text,
            words,
            digits,
        })
    }

    /// Whether anything can match: a query of punctuation alone finds nothing.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty() && self.digits.is_none()
    }
}

/// Relevance tiers, best first: the title is the query; begins with it; contains it;
/// the record matched by its words elsewhere (another field, or words in another order).
pub const SCORE_EXACT: i64 = 100;
pub const SCORE_PREFIX: i64 = 75;
pub const SCORE_CONTAINS: i64 = 50;
pub const SCORE_OTHER: i64 = 25;

/// Where a hit stands in the one order of every search: score descending, then type (in
/// [`SearchType::ALL`]'s order), then id. A page continues after the last one's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SearchPosition {
    pub score: i64,
    pub record_type: SearchType,
    pub id: i64,
}

impl Ord for SearchPosition {
    fn cmp(&self, other: &Self) -> Ordering {
        other
            .score
            .cmp(&self.score)
            .then(self.record_type.cmp(&other.record_type))
            .then(self.id.cmp(&other.id))
    }
}

impl PartialOrd for SearchPosition {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_read_into_words_and_phone_digits() {
        let q = SearchQuery::parse("  Müller   GmbH ").ok();
        assert_eq!(q.as_ref().map(|q| q.text.as_str()), Some("müller gmbh"));
        assert_eq!(
            q.map(|q| q.words),
            Some(vec!["müller".into(), "gmbh".into()])
        );
        let phone = SearchQuery::parse("020 7946").ok();
        assert_eq!(phone.and_then(|q| q.digits), Some("207946".into()));
        let named = SearchQuery::parse("acme 020").ok();
        assert_eq!(named.and_then(|q| q.digits), None);
        let syntax = SearchQuery::parse("\"a\" NEAR(b*) -c:d").ok();
        assert_eq!(
            syntax.map(|q| q.words),
            Some(vec![
                "a".into(),
                "near".into(),
                "b".into(),
                "c".into(),
                "d".into()
            ])
        );
        assert!(SearchQuery::parse("*").is_ok_and(|q| q.is_empty()));
        assert!(SearchQuery::parse("  ").is_err());
        assert!(SearchQuery::parse(&"x".repeat(201)).is_err());
    }

    #[test]
    fn hits_order_by_score_then_type_then_id() {
        let at = |score, record_type, id| SearchPosition {
            score,
            record_type,
            id,
        };
        let mut hits = vec![
            at(25, SearchType::Company, 1),
            at(100, SearchType::Task, 9),
            at(100, SearchType::Company, 7),
            at(100, SearchType::Company, 3),
        ];
        hits.sort();
        assert_eq!(
            hits,
            vec![
                at(100, SearchType::Company, 3),
                at(100, SearchType::Company, 7),
                at(100, SearchType::Task, 9),
                at(25, SearchType::Company, 1),
            ]
        );
    }
}
