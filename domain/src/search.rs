//! Cross-record search: which kinds of record it finds, how a query is read, and how hits are
//! ordered. The indexes and their SQL live in `persistence::search`.

use std::cmp::Ordering;

use crate::access::Scope;
use crate::event::RecordType;
use crate::fields::FieldRecordType;
use crate::roles::{Access, FieldMask};
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

    /// The fields of a company, contact or project that search matches besides its title,
    /// by their field-security names (each the name of its column in the index too), in the
    /// order a hit's subtitle takes the first that is set (projects show their state).
    fn other_fields(self) -> &'static [&'static str] {
        match self {
            SearchType::Company => &["domain", "website", "email", "phone"],
            SearchType::Contact => &["email", "job_title", "phone"],
            SearchType::Project => &["external_id"],
            SearchType::Enquiry | SearchType::Task | SearchType::Meeting => &[],
        }
    }

    /// The fields a hit's title shows.
    fn title_fields(self) -> &'static [&'static str] {
        match self {
            SearchType::Company | SearchType::Project => &["name"],
            SearchType::Contact => &["first_name", "last_name"],
            SearchType::Enquiry | SearchType::Task | SearchType::Meeting => &[],
        }
    }

    fn field_record_type(self) -> Option<FieldRecordType> {
        match self {
            SearchType::Company => Some(FieldRecordType::Company),
            SearchType::Contact => Some(FieldRecordType::Contact),
            SearchType::Project => Some(FieldRecordType::Project),
            SearchType::Enquiry | SearchType::Task | SearchType::Meeting => None,
        }
    }

    /// What a role's field rules leave search of this kind: [`Searched::Not`] when they hide
    /// a field of the title (a hit would show it, so no record of the kind is found),
    /// [`Searched::Narrowed`] with the other fields it may still match and show when they hide
    /// some of those, else [`Searched::Whole`]. A hidden field never finds a record: a hit
    /// would tell its value.
    pub fn searched(self, mask: &FieldMask) -> Searched {
        let Some(t) = self.field_record_type() else {
            return Searched::Whole;
        };
        let hidden = |f: &&str| mask.access(t, f) == Access::Hidden;
        if self.title_fields().iter().any(hidden) {
            return Searched::Not;
        }
        let others = self.other_fields();
        if !others.iter().any(hidden) {
            return Searched::Whole;
        }
        Searched::Narrowed(others.iter().copied().filter(|f| !hidden(f)).collect())
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

/// How much of a kind of record search may match and show for a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Searched {
    /// Every field it is found by.
    Whole,
    /// The title and these other fields (by name), in subtitle order.
    Narrowed(Vec<&'static str>),
    /// None: its title is hidden.
    Not,
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
    /// The query in lower case, its whitespace collapsed.
    pub text: String,
    /// The query folded ([`fold`]): what a title's fold is compared with to rank it.
    pub key: String,
    /// Its words (letters and digits of any script, in lower case), each once, the last one
    /// last: a record matches when each word but the last is a whole word of one of its
    /// searchable fields and the last begins one (it may be the word still being typed).
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
        // The last word is kept (it is the one typed last); a repeated word is kept once, at
        // its last place; past MAX_WORDS the words before the last are dropped.
        let all: Vec<&str> = text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        let mut words: Vec<String> = Vec::new();
        for (i, word) in all.iter().enumerate() {
            if !all[i + 1..].contains(word) {
                words.push((*word).to_owned());
            }
        }
        if words.len() > MAX_WORDS {
            words.drain(MAX_WORDS - 1..words.len() - 1);
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
            key: fold(&text),
            text,
            words,
            digits,
        })
    }

    /// Whether anything can match: a query of punctuation alone finds nothing.
    pub fn is_empty(&self) -> bool {
        self.words.is_empty() && self.digits.is_none()
    }

    /// The query's words in order, repeats included: the phrase a title is matched with.
    pub fn phrase(&self) -> Vec<&str> {
        self.text
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect()
    }

    /// The word the user may still be typing, which matches as the beginning of a word.
    pub fn last_word(&self) -> Option<&str> {
        self.words.last().map(String::as_str)
    }
}

/// Text as search compares it: diacritics dropped (each character decomposed, its combining
/// marks removed), lower case, every run of characters that are neither letters nor digits
/// one space, none at either end. So `Müller & Söhne` is `muller sohne`, and a title begins
/// with a query when its fold begins with the query's.
pub fn fold(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    use unicode_normalization::char::is_combining_mark;
    let mut folded = String::with_capacity(text.len());
    let mut gap = false;
    for c in text.nfd().filter(|c| !is_combining_mark(*c)) {
        if c.is_alphanumeric() {
            if gap && !folded.is_empty() {
                folded.push(' ');
            }
            gap = false;
            folded.extend(c.to_lowercase());
        } else {
            gap = true;
        }
    }
    folded
}

/// Relevance tiers, best first, each compared folded ([`fold`]): the title is the query;
/// begins with it; has it after its first word; the record matched by its words elsewhere
/// (another field, or words in another order). Within a tier, hits are in the order of `type`
/// then `id`, which is each index's own order: a page is read tier by tier and stops when full.
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
    use crate::access::Role;
    use crate::roles::FieldRule;

    fn hiding(t: FieldRecordType, fields: &[&str]) -> FieldMask {
        let rules: Vec<FieldRule> = fields
            .iter()
            .map(|f| FieldRule {
                record_type: t,
                field: (*f).into(),
                access: Access::Hidden,
            })
            .collect();
        FieldMask::new(&Role::Viewer.rights(), &rules)
    }

    #[test]
    fn hidden_fields_narrow_what_search_matches_and_a_hidden_title_its_kind() {
        let mask = hiding(FieldRecordType::Contact, &["email", "industry"]);
        assert_eq!(
            SearchType::Contact.searched(&mask),
            Searched::Narrowed(vec!["job_title", "phone"])
        );
        assert_eq!(SearchType::Company.searched(&mask), Searched::Whole);
        assert_eq!(SearchType::Task.searched(&mask), Searched::Whole);
        let mask = hiding(FieldRecordType::Contact, &["last_name"]);
        assert_eq!(SearchType::Contact.searched(&mask), Searched::Not);
        let mask = hiding(FieldRecordType::Company, &["industry"]);
        assert_eq!(SearchType::Company.searched(&mask), Searched::Whole);
    }

    #[test]
    fn queries_are_read_into_words_and_phone_digits() {
        let q = SearchQuery::parse("  Müller   GmbH ").ok();
        assert_eq!(q.as_ref().map(|q| q.text.as_str()), Some("müller gmbh"));
        assert_eq!(q.as_ref().map(|q| q.key.as_str()), Some("muller gmbh"));
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
        let repeated = SearchQuery::parse("acme x ACME").ok();
        assert_eq!(
            repeated.as_ref().map(|q| q.words.clone()),
            Some(vec!["x".into(), "acme".into()])
        );
        assert_eq!(
            repeated.as_ref().map(|q| q.phrase()),
            Some(vec!["acme", "x", "acme"])
        );
        let many = SearchQuery::parse("a b c d e f g h i j").ok();
        assert_eq!(
            many.and_then(|q| q.words.last().cloned()),
            Some("j".to_owned())
        );
        assert!(SearchQuery::parse("  ").is_err());
        assert!(SearchQuery::parse(&"x".repeat(201)).is_err());
    }

    #[test]
    fn folding_drops_case_diacritics_and_punctuation() {
        assert_eq!(fold("  Müller & Söhne, GmbH. "), "muller sohne gmbh");
        assert_eq!(fold("ÉCOLE"), "ecole");
        assert_eq!(fold("ΑΘΗΝΑ Shipping"), "αθηνα shipping");
        assert_eq!(fold("Фёдор"), "федор");
        assert_eq!(fold("acme-anvils.example"), "acme anvils example");
        assert_eq!(fold("%_\\"), "");
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
