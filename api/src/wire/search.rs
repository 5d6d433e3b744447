//! Search on the wire: the query string and the hits.

use domain::search::SearchType;
use persistence::search::Hit;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::list_of;

/// The search's query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQueryParams {
    /// What to look for, 1 to 200 characters (not blank). Each word must begin a word of
    /// one of a record's searchable fields (any order, any case, with or without
    /// diacritics); a phone number or part of one (digits and `+ - ( ) . /`) also matches
    /// the digits of a record's phone. Searchable: companies by name, domain, website,
    /// email and phone; contacts by full name, email, phone and job title; projects by name
    /// and external id; enquiries by the enquirer's name, email, phone, company name and
    /// subject; tasks by title; meetings by title and location.
    #[param(required = true, min_length = 1, max_length = 200, example = "müller")]
    pub q: Option<String>,
    /// Comma-separated kinds of record to search (a form-style array). Default: every kind
    /// the token may read; naming one it may not read is 403.
    #[param(schema_with = super::schema::search_types, style = Form, explode = false)]
    pub types: Option<String>,
    /// Hits per page, 1 to 200 (default 20).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page (of the same `q` and `types`).
    pub cursor: Option<String>,
}

/// A record found.
#[derive(Debug, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "contact", "id": 42, "title": "Anna Müller",
    "subtitle": "anna.mueller@example.com", "score": 100, "url": "/v1/contacts/42"
}))]
pub struct SearchHitOut {
    /// The kind of record.
    #[serde(rename = "type")]
    #[schema(schema_with = super::schema::search_type)]
    pub record_type: String,
    pub id: i64,
    /// Its name: a company's, contact's or project's name, an enquirer's name (or email,
    /// company name, subject), a task's or meeting's title.
    pub title: String,
    /// A line that tells it apart: a company's domain (or website, email, phone), a
    /// contact's email (or job title, phone), a project's state, an enquiry's company name
    /// (or subject, email), a task's status, a meeting's location.
    pub subtitle: Option<String>,
    /// Relevance, higher first: 100 the title is the query, 75 begins with it, 50 contains
    /// it, 25 found by its words or another field. Equal scores are in the order of `type`
    /// (as listed in its enum), then `id`.
    #[schema(minimum = 25, maximum = 100, example = 100)]
    pub score: i64,
    /// The record's path in this API.
    #[schema(example = "/v1/contacts/42")]
    pub url: String,
}

impl From<Hit> for SearchHitOut {
    fn from(hit: Hit) -> Self {
        let kind: SearchType = hit.position.record_type;
        SearchHitOut {
            record_type: kind.as_str().to_owned(),
            id: hit.position.id,
            title: hit.title,
            subtitle: hit.subtitle,
            score: hit.position.score,
            url: format!("/v1/{}/{}", kind.collection(), hit.position.id),
        }
    }
}

list_of!(SearchResults, SearchHitOut, "search hits, best first");
