//! `/v1/contacts`: create, read, list, update and delete contacts.

use actix_web::{HttpResponse, web};
use domain::access::{Resource, Scope};
use domain::fields::FieldRecordType;
use domain::listing::SortField;
use persistence::computed;
use persistence::contacts::{self, ContactFilter};
use persistence::merges;

use super::{activity_filter, check_times, created, path_id, record, sorted_paging};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, Caller, IfMatch, Query, encode_cursor};
use crate::state::AppState;
use crate::wire::contacts::{
    ContactCreate, ContactList, ContactListQuery, ContactOut, ContactUpdate,
};
use crate::wire::merges::MergeRequest;

const READ: Scope = Scope::Read(Resource::Contacts);
const WRITE: Scope = Scope::Write(Resource::Contacts);

/// List contacts
///
/// Newest first unless `sort` says otherwise; keyset-paginated with `cursor`.
#[utoipa::path(
    operation_id = "listContacts", get, path = "/v1/contacts", tag = "contacts",
    params(ContactListQuery),
    responses(
        (status = 200, description = "A page of contacts", body = ContactList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["contacts:read"]))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<ContactListQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let q = query.0;
    check_times(&[
        ("created_since", q.created_since),
        ("updated_since", q.updated_since),
    ])?;
    let view =
        super::views::applied_view(&state, &caller, q.view_id, FieldRecordType::Contact).await?;
    let (size, sort, after) = sorted_paging(
        q.limit,
        q.sort
            .as_deref()
            .or(view.as_ref().and_then(|v| v.spec.sort.as_deref())),
        q.cursor.as_deref(),
        &SortField::COMMON,
    )?;
    let mut filter = ContactFilter {
        q: q.q.filter(|s| !s.trim().is_empty()),
        owner_id: q.owner_id,
        tag: q.tag,
        company_id: q.company_id,
        email: q.email.filter(|s| !s.trim().is_empty()),
        industry: q.industry,
        created_since: q.created_since,
        updated_since: q.updated_since,
        activity: activity_filter(
            (
                q.last_activity_before,
                q.last_activity_after,
                q.has_last_activity,
            ),
            (
                q.next_activity_before,
                q.next_activity_after,
                q.has_next_activity,
            ),
        )?,
        matching: None,
        reach: Default::default(),
    };
    let account = caller.account_id();
    let (scope, unit, subunits) = (
        caller.records(),
        q.unit_id,
        q.include_subunits.unwrap_or(false),
    );
    // Lookup and rollup values, but none the caller may not see.
    let mask = caller.0.field_mask();
    let page = state
        .run(move |conn| {
            filter.matching = super::views::view_filter(conn, account, view.as_ref())?;
            filter.reach = persistence::units::reach(conn, account, scope, unit, subunits)?;
            contacts::list(conn, account, &filter, sort, size, after.as_ref())
                .and_then(|page| computed::fill_page(conn, account, &mask, page))
        })
        .await?;
    Ok(HttpResponse::Ok().json(ContactList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page.items.into_iter().map(ContactOut::from).collect(),
    }))
}

/// Create a contact
#[utoipa::path(
    operation_id = "createContact", post, path = "/v1/contacts", tag = "contacts",
    request_body = ContactCreate,
    responses(
        (status = 201, description = "The contact was created", body = ContactOut,
         headers(("ETag" = String, description = "The version as an entity tag"), ("Location" = String))),
    ),
    security(("bearer" = ["contacts:write"]))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<ContactCreate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let fields = body.0.into_fields()?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    // Lookup and rollup values, but none the caller may not see.
    let mask = caller.0.field_mask();
    let contact = state
        .run(move |conn| {
            contacts::create(conn, account, &fields, &outbox)
                .and_then(|record| computed::fill_one(conn, account, &mask, record))
        })
        .await?;
    Ok(created(
        format!("/v1/contacts/{}", contact.id),
        contact.version,
        ContactOut::from(contact),
    ))
}

/// Get a contact
#[utoipa::path(
    operation_id = "getContact", get, path = "/v1/contacts/{id}", tag = "contacts",
    params(("id" = i64, Path, description = "The contact's id")),
    responses(
        (status = 200, description = "The contact", body = ContactOut, headers(("ETag" = String))),
    ),
    security(("bearer" = ["contacts:read"]))
)]
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let id = path_id(&id)?;
    let account = caller.account_id();
    // Lookup and rollup values, but none the caller may not see.
    let mask = caller.0.field_mask();
    let contact = state
        .run(move |conn| {
            contacts::get(conn, account, id)
                .and_then(|record| computed::fill_one(conn, account, &mask, record))
        })
        .await?;
    Ok(record(contact.version, ContactOut::from(contact)))
}

/// Update a contact
///
/// Send `If-Match: "<version>"` to make sure nobody changed the contact since you read it.
#[utoipa::path(
    operation_id = "updateContact", patch, path = "/v1/contacts/{id}", tag = "contacts",
    params(
        ("id" = i64, Path, description = "The contact's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the contact has changed since"),
    ),
    request_body = ContactUpdate,
    responses(
        (status = 200, description = "The updated contact", body = ContactOut, headers(("ETag" = String))),
        (status = 412, description = "The contact changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["contacts:write"]))
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Body<ContactUpdate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let patch = body.0.into_patch()?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    // Lookup and rollup values, but none the caller may not see.
    let mask = caller.0.field_mask();
    let contact = state
        .run(move |conn| {
            contacts::update(conn, account, id, if_match.0, patch, &outbox)
                .and_then(|record| computed::fill_one(conn, account, &mask, record))
        })
        .await?;
    Ok(record(contact.version, ContactOut::from(contact)))
}

/// Delete a contact
///
/// Contacts who reported to it now report to nobody.
#[utoipa::path(
    operation_id = "deleteContact", delete, path = "/v1/contacts/{id}", tag = "contacts",
    params(
        ("id" = i64, Path, description = "The contact's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the contact has changed since"),
    ),
    responses(
        (status = 204, description = "The contact was deleted"),
        (status = 412, description = "The contact changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["contacts:write"]))
)]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    state
        .run(move |conn| contacts::delete(conn, account, id, if_match.0, &outbox))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Merge duplicate contacts into this one
///
/// In one transaction: whoever reported to a duplicate now reports to this contact (the
/// survivor), each with a new version; tags are united (422 when together they are more than
/// 50); each empty field of the survivor (`null`, including `company_id` and `owner_id`) takes
/// the first value the duplicates have, in the order listed; custom-field keys the survivor
/// lacks are added the same way. Its manager stays its own, or else is the first
/// duplicate's; a survivor that reported to one of the duplicates takes that duplicate's
/// manager instead (it never reports to itself), and a manager that would close a loop in
/// the org chart leaves it reporting to nobody. The duplicates are then deleted.
///
/// Events, in this order: one `contact.merged` for the survivor (`data.merged_ids` the
/// duplicates), a `contact.updated` for each contact whose manager changed, and a
/// `contact.deleted` for each duplicate (`data.merged_into` the survivor's id).
#[utoipa::path(
    operation_id = "mergeContacts", post, path = "/v1/contacts/{id}/merge", tag = "contacts",
    params(
        ("id" = i64, Path, description = "The surviving contact's id"),
        ("If-Match" = Option<String>, Header, description = "The survivor's ETag you last read; 412 when it has changed since"),
    ),
    request_body = MergeRequest,
    responses(
        (status = 200, description = "The duplicates were merged: the survivor as it now is", body = ContactOut, headers(("ETag" = String))),
        (status = 404, description = "There is no such surviving contact in this account", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The survivor changed since the ETag in If-Match; nothing was merged", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`duplicate_ids` is invalid: empty, over 50, repeated, the survivor itself, an id that is no contact of this account (`unknown_contact`, naming it), or duplicates whose tags or custom fields together exceed one contact's limits; nothing was merged", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["contacts:write"]))
)]
pub async fn merge(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Body<MergeRequest>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let duplicates = body.0.into_duplicates(id)?;
    let scope = caller.records();
    let (account, outbox) = (caller.account_id(), caller.outbox());
    // Lookup and rollup values, but none the caller may not see.
    let mask = caller.0.field_mask();
    let contact = state
        .run(move |conn| {
            // Only records the caller sees may be merged in.
            persistence::units::refuse_unseen(
                conn,
                account,
                FieldRecordType::Contact,
                duplicates.as_slice(),
                &scope,
            )?;
            merges::merge_contacts(conn, account, id, &duplicates, if_match.0, &outbox)
                .and_then(|record| computed::fill_one(conn, account, &mask, record))
        })
        .await?;
    Ok(record(contact.version, ContactOut::from(contact)))
}
