//! `POST /v1/{records}/query`: a page of companies, contacts or projects that match a filter
//! of the filter language (`domain::filter`), in the list routes' orders and page shapes.

use actix_web::{HttpResponse, web};
use domain::Invalid;
use domain::access::{Resource, Scope};
use domain::filter::{Filter, Target};
use domain::listing::{PageSize, Position, Sort, SortField};
use persistence::companies::{self, CompanyFilter};
use persistence::computed;
use persistence::contacts::{self, ContactFilter};
use persistence::projects::{self, ProjectFilter};
use serde_json::Value;

use super::sorted_paging;
use crate::error::{ApiError, Problem};
use crate::extract::{Body, Caller, encode_cursor};
use crate::state::AppState;
use crate::wire::companies::{CompanyList, CompanyOut};
use crate::wire::contacts::{ContactList, ContactOut};
use crate::wire::projects::{ProjectList, ProjectOut};
use crate::wire::query::{CompanyQuery, ContactQuery, ProjectQuery};

/// The page, order and filter of a query body, or a 422 naming the bad field.
fn prepare(
    filter: Option<&Value>,
    (limit, sort, cursor): (Option<i64>, Option<&str>, Option<&str>),
    sorts: &[SortField],
) -> Result<(PageSize, Sort, Option<Position>, Option<Value>), ApiError> {
    // In a body, a bad page or order is a bad field like any other (422), not a query
    // parameter (400).
    let (size, sort, after) = sorted_paging(limit, sort, cursor, sorts).map_err(|e| match e {
        ApiError::BadRequest(_, fields) => ApiError::Invalid(Invalid(fields)),
        other => other,
    })?;
    // The filter is parsed where the account's field definitions are read: they type the
    // custom fields.
    Ok((size, sort, after, filter.cloned()))
}

/// A filter may not name a field the caller's role hides: it is unknown to them.
pub(crate) fn refuse_hidden(
    caller: &Caller,
    record_type: domain::fields::FieldRecordType,
    raw: Option<&Value>,
    root: &str,
) -> Result<(), ApiError> {
    match raw {
        Some(raw) => Ok(caller
            .0
            .field_mask()
            .refuse_hidden_in_filter(record_type, raw, root)?),
        None => Ok(()),
    }
}

/// The body's filter, typed by the account's field definitions.
fn parsed(
    conn: &mut persistence::DbConnection,
    account: i64,
    target: Target,
    raw: Option<&Value>,
) -> Result<Option<Filter>, persistence::StoreError> {
    raw.map(|raw| persistence::fields::parse_filter(conn, account, target, raw, "filter"))
        .transpose()
}

/// Query companies
///
/// The companies that match `filter` (see the `Filter` schema: its fields, ops, relative
/// dates and limits), a page at a time, in any order the company list takes. Send the same
/// filter and sort with `cursor` for the next page.
#[utoipa::path(
    operation_id = "queryCompanies", post, path = "/v1/companies/query", tag = "companies",
    request_body(content = CompanyQuery, example = json!({
        "filter": {"and": [
            {"field": "industry", "op": "eq", "value": "Engineering"},
            {"field": "created_at", "op": "gte", "value": "last_30_days"},
            {"not": {"field": "tags", "op": "contains", "value": "churned"}}
        ]},
        "sort": "-created_at",
        "limit": 50
    })),
    responses(
        (status = 200, description = "A page of the matching companies", body = CompanyList),
        (status = 422, description = "The filter, `sort`, `limit` or `cursor` is invalid: each error names its path (`filter.and[2].value`) and code (`unknown_field`, `invalid_op`, `invalid_value`, `invalid_choice`, `too_deep`, `too_many_conditions`, `too_many_values`, `too_long`, `invalid_filter`, `invalid_sort`, `invalid_cursor`)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["companies:read"]))
)]
pub async fn companies(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<CompanyQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Read(Resource::Companies))?;
    let q = body.0;
    refuse_hidden(
        &caller,
        domain::fields::FieldRecordType::Company,
        q.filter.as_ref(),
        "filter",
    )?;
    let (size, sort, after, matching) = prepare(
        q.filter.as_ref(),
        (q.limit, q.sort.as_deref(), q.cursor.as_deref()),
        &SortField::COMPANY,
    )?;
    let (account, scope) = (caller.account_id(), caller.records());
    // Lookup and rollup values, but none the caller may not see.
    let mask = caller.0.field_mask();
    let page = state
        .run(move |conn| {
            let filter = CompanyFilter {
                matching: parsed(conn, account, Target::Company, matching.as_ref())?,
                reach: persistence::units::Reach { scope, units: None },
                ..CompanyFilter::default()
            };
            companies::list(conn, account, &filter, sort, size, after.as_ref())
                .and_then(|page| computed::fill_page(conn, account, &mask, page))
        })
        .await?;
    Ok(HttpResponse::Ok().json(CompanyList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page.items.into_iter().map(CompanyOut::from).collect(),
    }))
}

/// Query contacts
///
/// The contacts that match `filter` (see the `Filter` schema), a page at a time, in any
/// order the contact list takes.
#[utoipa::path(
    operation_id = "queryContacts", post, path = "/v1/contacts/query", tag = "contacts",
    request_body(content = ContactQuery, example = json!({
        "filter": {"or": [
            {"field": "email", "op": "eq", "value": "ada@example.com"},
            {"field": "job_title", "op": "starts_with", "value": "head of"}
        ]},
        "sort": "name"
    })),
    responses(
        (status = 200, description = "A page of the matching contacts", body = ContactList),
        (status = 422, description = "The filter, `sort`, `limit` or `cursor` is invalid: each error names its path and code", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["contacts:read"]))
)]
pub async fn contacts(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<ContactQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Read(Resource::Contacts))?;
    let q = body.0;
    refuse_hidden(
        &caller,
        domain::fields::FieldRecordType::Contact,
        q.filter.as_ref(),
        "filter",
    )?;
    let (size, sort, after, matching) = prepare(
        q.filter.as_ref(),
        (q.limit, q.sort.as_deref(), q.cursor.as_deref()),
        &SortField::COMMON,
    )?;
    let (account, scope) = (caller.account_id(), caller.records());
    // Lookup and rollup values, but none the caller may not see.
    let mask = caller.0.field_mask();
    let page = state
        .run(move |conn| {
            let filter = ContactFilter {
                matching: parsed(conn, account, Target::Contact, matching.as_ref())?,
                reach: persistence::units::Reach { scope, units: None },
                ..ContactFilter::default()
            };
            contacts::list(conn, account, &filter, sort, size, after.as_ref())
                .and_then(|page| computed::fill_page(conn, account, &mask, page))
        })
        .await?;
    Ok(HttpResponse::Ok().json(ContactList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page.items.into_iter().map(ContactOut::from).collect(),
    }))
}

/// Query projects
///
/// The projects that match `filter` (see the `Filter` schema), a page at a time, in any
/// order the project list takes.
#[utoipa::path(
    operation_id = "queryProjects", post, path = "/v1/projects/query", tag = "projects",
    request_body(content = ProjectQuery, example = json!({
        "filter": {"and": [
            {"field": "state", "op": "in", "value": ["proposed", "won"]},
            {"field": "value", "op": "gte", "value": "10000"},
            {"field": "expected_finish_date", "op": "eq", "value": "this_quarter"}
        ]},
        "sort": "-value"
    })),
    responses(
        (status = 200, description = "A page of the matching projects", body = ProjectList),
        (status = 422, description = "The filter, `sort`, `limit` or `cursor` is invalid: each error names its path and code", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["projects:read"]))
)]
pub async fn projects(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<ProjectQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Read(Resource::Projects))?;
    let q = body.0;
    refuse_hidden(
        &caller,
        domain::fields::FieldRecordType::Project,
        q.filter.as_ref(),
        "filter",
    )?;
    let (size, sort, after, matching) = prepare(
        q.filter.as_ref(),
        (q.limit, q.sort.as_deref(), q.cursor.as_deref()),
        &SortField::PROJECT,
    )?;
    let (account, scope) = (caller.account_id(), caller.records());
    // Lookup and rollup values, but none the caller may not see.
    let mask = caller.0.field_mask();
    let page = state
        .run(move |conn| {
            let filter = ProjectFilter {
                matching: parsed(conn, account, Target::Project, matching.as_ref())?,
                reach: persistence::units::Reach { scope, units: None },
                ..ProjectFilter::default()
            };
            projects::list(conn, account, &filter, sort, size, after.as_ref())
                .and_then(|page| computed::fill_page(conn, account, &mask, page))
        })
        .await?;
    Ok(HttpResponse::Ok().json(ProjectList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page.items.into_iter().map(ProjectOut::from).collect(),
    }))
}
