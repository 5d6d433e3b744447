//! `GET /v1/search`: one search across companies, contacts, projects, enquiries, tasks and
//! meetings, ranked, keyset-paginated.

use actix_web::{HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use domain::FieldError;
use domain::listing::PageSize;
use domain::search::{SearchPosition, SearchQuery, SearchType};
use persistence::search::{self, SearchRequest};
use serde::{Deserialize, Serialize};

use super::bad_query;
use crate::error::{ApiError, Problem};
use crate::extract::{Caller, Query};
use crate::state::AppState;
use crate::wire::search::{SearchHitOut, SearchQueryParams, SearchResults};

/// Hits per page unless `limit` says otherwise: a type-ahead shows a few.
const DEFAULT_LIMIT: i64 = 20;

/// Search records
///
/// Finds the records of every kind the token may read (or of `types`) whose searchable
/// fields hold the words of `q` (each word but the last a whole word, the last the
/// beginning of one, as typed), best first: the title equal to the query, then beginning
/// with it, then containing it, then found by its words or another field; equal scores in
/// the order of `type`, then `id`. Case, diacritics and punctuation do not matter, in any
/// script. A write is found the moment it commits. Keyset-paginated with `cursor`; there is
/// no cap on hits beyond the pages. Only the records the caller's role sees are found
/// (units and record visibility), and only by the fields it sees: a field its role hides
/// neither finds a record nor shows in a hit's subtitle, and a record whose name (a
/// contact's first or last name) is hidden is not found at all.
#[utoipa::path(
    operation_id = "search", get, path = "/v1/search", tag = "search",
    params(SearchQueryParams),
    responses(
        (status = 200, description = "A page of hits, best first", body = SearchResults,
         example = json!({"data": [
             {"type": "company", "id": 7, "title": "Müller GmbH", "subtitle": "mueller.example",
              "score": 75, "url": "/v1/companies/7"},
             {"type": "contact", "id": 42, "title": "Anna Müller", "subtitle": "anna@mueller.example",
              "score": 50, "url": "/v1/contacts/42"}
         ], "next_cursor": null})),
        (status = 400, description = "`q` is missing, blank or longer than 200 characters (`blank`, `too_long`); `types` names no kind of record; `limit` or `cursor` is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The access token is missing, unknown, revoked or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "`types` names a kind of record the token may not read (`insufficient_scope`, `forbidden`), or it may read none of them", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["companies:read"]), ("bearer" = ["contacts:read"]), ("bearer" = ["projects:read"]),
             ("bearer" = ["enquiries:read"]), ("bearer" = ["tasks:read"]), ("bearer" = ["meetings:read"]))
)]
pub async fn search(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<SearchQueryParams>,
) -> Result<HttpResponse, ApiError> {
    let params = query.0;
    let types = search_types(&caller, params.types.as_deref())?;
    let text = SearchQuery::parse(params.q.as_deref().unwrap_or_default())
        .map_err(|e| bad_query("q", e))?;
    let size = PageSize::parse(params.limit.unwrap_or(DEFAULT_LIMIT))
        .map_err(|e| bad_query("limit", e))?;
    let after = params
        .cursor
        .as_deref()
        .filter(|c| !c.is_empty())
        .map(decode_cursor)
        .transpose()?;
    let (account_id, scope, mask) = (caller.account_id(), caller.records(), caller.0.field_mask());
    let hits = state
        .run(move |conn| {
            search::search(
                conn,
                &SearchRequest {
                    account_id,
                    query: &text,
                    types: &types,
                    scope: &scope,
                    mask: &mask,
                    after,
                    size,
                },
            )
        })
        .await?;
    Ok(HttpResponse::Ok().json(SearchResults {
        next_cursor: hits.next.as_ref().map(encode_cursor),
        data: hits.items.into_iter().map(SearchHitOut::from).collect(),
    }))
}

/// The kinds to search: those named (each one the caller must be able to read: 403
/// otherwise), or by default every kind it may read (403 when none).
fn search_types(caller: &Caller, raw: Option<&str>) -> Result<Vec<SearchType>, ApiError> {
    let mut named = raw
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(SearchType::parse)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad_query("types", e))?;
    if !named.is_empty() {
        for kind in &named {
            caller.require(kind.read_scope())?;
        }
        named.sort();
        named.dedup();
        return Ok(named);
    }
    let rights = caller.rights();
    let readable: Vec<SearchType> = SearchType::ALL
        .into_iter()
        .filter(|t| rights.require(t.read_scope()).is_ok())
        .collect();
    if readable.is_empty() {
        // Name the first scope that would help.
        caller.require(SearchType::Company.read_scope())?;
    }
    Ok(readable)
}

/// A cursor: the last hit's position.
#[derive(Serialize, Deserialize)]
struct Encoded {
    s: i64,
    t: String,
    i: i64,
}

fn encode_cursor(position: &SearchPosition) -> String {
    let encoded = Encoded {
        s: position.score,
        t: position.record_type.as_str().to_owned(),
        i: position.id,
    };
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&encoded).unwrap_or_default())
}

fn decode_cursor(raw: &str) -> Result<SearchPosition, ApiError> {
    let bad = || {
        ApiError::BadRequest(
            "the cursor is not one this API made; pass the next_cursor of the previous page unchanged".into(),
            vec![FieldError::new(
                "cursor",
                "invalid_cursor",
                "the cursor is not one this API made",
            )],
        )
    };
    let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad())?;
    let encoded: Encoded = serde_json::from_slice(&bytes).map_err(|_| bad())?;
    Ok(SearchPosition {
        score: encoded.s,
        record_type: SearchType::parse(&encoded.t).map_err(|_| bad())?,
        id: encoded.i,
    })
}

/// Registers the route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/search").route(web::get().to(search)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip() {
        let position = SearchPosition {
            score: 75,
            record_type: SearchType::Contact,
            id: 42,
        };
        let decoded = decode_cursor(&encode_cursor(&position)).ok();
        assert_eq!(decoded, Some(position));
        assert!(decode_cursor("garbage!").is_err());
    }
}
