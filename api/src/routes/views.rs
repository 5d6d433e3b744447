//! `/v1/views` (saved views) and `/v1/lists` (static and dynamic lists of records, with
//! their members).

use actix_web::{HttpResponse, web};
use domain::access::{Resource, Scope};
use domain::fields::FieldRecordType;
use domain::filter::Target;
use domain::listing::{PageSize, Position, Sort, SortField};
use domain::views::{View, ViewSpec};
use domain::{FieldError, Invalid};
use persistence::companies::{self, CompanyFilter};
use persistence::computed;
use persistence::contacts::{self, ContactFilter};
use persistence::projects::{self, ProjectFilter};
use persistence::views::{self, Members, Viewer};
use persistence::{DbConnection, StoreError, fields};
use serde_json::Value;

use super::{created, paging, path_id, record, sorted_paging};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, Caller, IfMatch, Query, encode_cursor};
use crate::state::AppState;
use crate::wire::companies::CompanyOut;
use crate::wire::contacts::ContactOut;
use crate::wire::projects::ProjectOut;
use crate::wire::views::{
    ByRecordTypeQuery, ListCreate, ListList, ListOut, ListUpdate, MemberPage, MembersBody,
    MembersChanged, ViewCreate, ViewList, ViewOut, ViewUpdate,
};

const READ: Scope = Scope::Read(Resource::Views);
const WRITE: Scope = Scope::Write(Resource::Views);

fn viewer(caller: &Caller) -> Viewer {
    Viewer {
        user_id: caller.0.user().map(|u| u.id),
        admin: caller.require(Scope::Admin).is_ok(),
    }
}

fn target(record_type: FieldRecordType) -> Target {
    match record_type {
        FieldRecordType::Company => Target::Company,
        FieldRecordType::Contact => Target::Contact,
        FieldRecordType::Project => Target::Project,
    }
}

fn sort_fields(record_type: FieldRecordType) -> &'static [SortField] {
    match record_type {
        FieldRecordType::Company => &SortField::COMPANY,
        FieldRecordType::Contact => &SortField::COMMON,
        FieldRecordType::Project => &SortField::PROJECT,
    }
}

fn record_type_query(raw: Option<&str>) -> Result<Option<FieldRecordType>, ApiError> {
    raw.map(|t| {
        FieldRecordType::parse(t).map_err(|e| {
            ApiError::BadRequest(
                format!("query parameter `record_type` {}", e.message),
                vec![FieldError::new("record_type", e.code, e.message)],
            )
        })
    })
    .transpose()
}

/// A view's sort must be one of its record type's list orders.
fn check_sort(record_type: FieldRecordType, spec: &ViewSpec) -> Result<(), ApiError> {
    sorted_paging(None, spec.sort.as_deref(), None, sort_fields(record_type))
        .map(|_| ())
        .map_err(|e| match e {
            ApiError::BadRequest(_, _) => ApiError::Invalid(Invalid::one(
                "sort",
                "invalid_sort",
                "must be one of the record type's list orders (see its list's `sort`)",
            )),
            other => other,
        })
}

/// A view's filter must parse for its record type now.
fn filter_check(
    account: i64,
    record_type: FieldRecordType,
) -> impl Fn(&mut DbConnection, &ViewSpec) -> Result<(), StoreError> + Sync {
    move |conn, spec| match &spec.filter {
        Some(raw) => {
            fields::parse_filter(conn, account, target(record_type), raw, "filter").map(|_| ())
        }
        None => Ok(()),
    }
}

/// List saved views
///
/// The caller's own views and the shared ones (admins see every view).
#[utoipa::path(
    operation_id = "listViews", get, path = "/v1/views", tag = "views",
    params(ByRecordTypeQuery),
    responses(
        (status = 200, description = "A page of views", body = ViewList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["views:read"]))
)]
pub async fn list_views(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<ByRecordTypeQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let q = query.0;
    let (size, _, after) = paging(q.limit, None, q.cursor.as_deref())?;
    let only = record_type_query(q.record_type.as_deref())?;
    let (account, who) = (caller.account_id(), viewer(&caller));
    let page = state
        .run(move |conn| views::list_views(conn, account, who, only, size, after.as_ref()))
        .await?;
    Ok(HttpResponse::Ok().json(ViewList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page.items.into_iter().map(ViewOut::from).collect(),
    }))
}

/// Save a view
///
/// The filter is checked against the record type's fields now, and kept as written.
#[utoipa::path(
    operation_id = "createView", post, path = "/v1/views", tag = "views",
    request_body = ViewCreate,
    responses(
        (status = 201, description = "The view was saved", body = ViewOut,
         headers(("ETag" = String), ("Location" = String))),
    ),
    security(("bearer" = ["views:write"]))
)]
pub async fn create_view(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<ViewCreate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let (record_type, spec) = body.0.into_parts()?;
    check_sort(record_type, &spec)?;
    super::query::refuse_hidden(&caller, record_type, spec.filter.as_ref(), "filter")?;
    let (account, who) = (caller.account_id(), viewer(&caller));
    let view = state
        .run(move |conn| {
            views::create_view(
                conn,
                account,
                who,
                record_type,
                &spec,
                &filter_check(account, record_type),
            )
        })
        .await?;
    Ok(created(
        format!("/v1/views/{}", view.id),
        view.version,
        ViewOut::from(view),
    ))
}

/// Get a view
#[utoipa::path(
    operation_id = "getView", get, path = "/v1/views/{id}", tag = "views",
    params(("id" = i64, Path, description = "The view's id")),
    responses((status = 200, description = "The view", body = ViewOut, headers(("ETag" = String)))),
    security(("bearer" = ["views:read"]))
)]
pub async fn show_view(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let id = path_id(&id)?;
    let (account, who) = (caller.account_id(), viewer(&caller));
    let view = state
        .run(move |conn| views::get_view(conn, account, who, id))
        .await?;
    Ok(record(view.version, ViewOut::from(view)))
}

/// Update a view
///
/// Its owner or an admin may change it.
#[utoipa::path(
    operation_id = "updateView", patch, path = "/v1/views/{id}", tag = "views",
    params(
        ("id" = i64, Path, description = "The view's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the view has changed since"),
    ),
    request_body = ViewUpdate,
    responses(
        (status = 200, description = "The updated view", body = ViewOut, headers(("ETag" = String))),
        (status = 412, description = "The view changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["views:write"]))
)]
pub async fn update_view(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Body<ViewUpdate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let change = body.0;
    let (account, who) = (caller.account_id(), viewer(&caller));
    let current = state
        .run(move |conn| views::get_view(conn, account, who, id))
        .await?;
    let record_type = current.record_type;
    let changed = change.apply(&current.spec)?;
    check_sort(record_type, &changed)?;
    super::query::refuse_hidden(&caller, record_type, changed.filter.as_ref(), "filter")?;
    let view = state
        .run(move |conn| {
            views::update_view(
                conn,
                account,
                who,
                id,
                if_match.0,
                &|spec| change.apply(spec),
                &filter_check(account, record_type),
            )
        })
        .await?;
    Ok(record(view.version, ViewOut::from(view)))
}

/// Delete a view
///
/// Refused (409) while a dynamic list is made of it.
#[utoipa::path(
    operation_id = "deleteView", delete, path = "/v1/views/{id}", tag = "views",
    params(
        ("id" = i64, Path, description = "The view's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read"),
    ),
    responses(
        (status = 204, description = "The view was deleted"),
        (status = 409, description = "A dynamic list is made of the view", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The view changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["views:write"]))
)]
pub async fn delete_view(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let (account, who) = (caller.account_id(), viewer(&caller));
    state
        .run(move |conn| views::delete_view(conn, account, who, id, if_match.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The view a list route's `view_id` names, if any: one of the record type the caller sees;
/// anything else is a bad query parameter.
pub(crate) async fn applied_view(
    state: &web::Data<AppState>,
    caller: &Caller,
    view_id: Option<i64>,
    record_type: FieldRecordType,
) -> Result<Option<View>, ApiError> {
    let Some(id) = view_id else {
        return Ok(None);
    };
    let (account, who) = (caller.account_id(), viewer(caller));
    let found = state
        .run(move |conn| views::get_view(conn, account, who, id))
        .await;
    let refused = |message: String| {
        ApiError::BadRequest(
            format!("query parameter `view_id` {message}"),
            vec![FieldError::new("view_id", "unknown_view", message)],
        )
    };
    match found {
        Ok(view) if view.record_type == record_type => {
            // A shared view may filter on a field this caller's role hides.
            super::query::refuse_hidden(
                caller,
                record_type,
                view.spec.filter.as_ref(),
                "view.filter",
            )
            .map_err(|_| {
                refused(format!(
                    "names a view that filters on a field you cannot see ({id})"
                ))
            })?;
            Ok(Some(view))
        }
        Ok(view) => Err(refused(format!(
            "names a view of {}s",
            view.record_type.as_str()
        ))),
        Err(ApiError::NotFound) => Err(refused(format!("names no view you can see ({id})"))),
        Err(e) => Err(e),
    }
}

/// A view's filter, parsed against the account's fields as they are now.
pub(crate) fn view_filter(
    conn: &mut DbConnection,
    account: i64,
    view: Option<&View>,
) -> Result<Option<domain::filter::Filter>, StoreError> {
    match view {
        Some(view) => match &view.spec.filter {
            Some(raw) => {
                fields::parse_filter(conn, account, target(view.record_type), raw, "view.filter")
                    .map(Some)
            }
            None => Ok(None),
        },
        None => Ok(None),
    }
}

// ---------------------------------------------------------------------------------------------
// Lists

/// List lists
#[utoipa::path(
    operation_id = "listLists", get, path = "/v1/lists", tag = "views",
    params(ByRecordTypeQuery),
    responses(
        (status = 200, description = "A page of lists", body = ListList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["views:read"]))
)]
pub async fn list_lists(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<ByRecordTypeQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let q = query.0;
    let (size, _, after) = paging(q.limit, None, q.cursor.as_deref())?;
    let only = record_type_query(q.record_type.as_deref())?;
    let (account, who) = (caller.account_id(), viewer(&caller));
    let page = state
        .run(move |conn| views::list_lists(conn, account, who, only, size, after.as_ref()))
        .await?;
    Ok(HttpResponse::Ok().json(ListList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page.items.into_iter().map(ListOut::from).collect(),
    }))
}

/// Create a list
///
/// Static, or dynamic with `view_id`.
#[utoipa::path(
    operation_id = "createList", post, path = "/v1/lists", tag = "views",
    request_body = ListCreate,
    responses(
        (status = 201, description = "The list was created", body = ListOut,
         headers(("ETag" = String), ("Location" = String))),
    ),
    security(("bearer" = ["views:write"]))
)]
pub async fn create_list(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<ListCreate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let (record_type, spec, view_id) = body.0.into_parts()?;
    let (account, who) = (caller.account_id(), viewer(&caller));
    let list = state
        .run(move |conn| views::create_list(conn, account, who, record_type, &spec, view_id))
        .await?;
    Ok(created(
        format!("/v1/lists/{}", list.id),
        list.version,
        ListOut::from(list),
    ))
}

/// Get a list
#[utoipa::path(
    operation_id = "getList", get, path = "/v1/lists/{id}", tag = "views",
    params(("id" = i64, Path, description = "The list's id")),
    responses((status = 200, description = "The list", body = ListOut, headers(("ETag" = String)))),
    security(("bearer" = ["views:read"]))
)]
pub async fn show_list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let id = path_id(&id)?;
    let (account, who) = (caller.account_id(), viewer(&caller));
    let list = state
        .run(move |conn| views::get_list(conn, account, who, id))
        .await?;
    Ok(record(list.version, ListOut::from(list)))
}

/// Update a list
#[utoipa::path(
    operation_id = "updateList", patch, path = "/v1/lists/{id}", tag = "views",
    params(
        ("id" = i64, Path, description = "The list's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read"),
    ),
    request_body = ListUpdate,
    responses(
        (status = 200, description = "The updated list", body = ListOut, headers(("ETag" = String))),
        (status = 412, description = "The list changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["views:write"]))
)]
pub async fn update_list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Body<ListUpdate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let change = body.0.checked()?;
    let (account, who) = (caller.account_id(), viewer(&caller));
    let list = state
        .run(move |conn| {
            views::update_list(conn, account, who, id, if_match.0, &|s| change.apply(s))
        })
        .await?;
    Ok(record(list.version, ListOut::from(list)))
}

/// Delete a list
///
/// Its records stay.
#[utoipa::path(
    operation_id = "deleteList", delete, path = "/v1/lists/{id}", tag = "views",
    params(
        ("id" = i64, Path, description = "The list's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read"),
    ),
    responses(
        (status = 204, description = "The list was deleted"),
        (status = 412, description = "The list changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["views:write"]))
)]
pub async fn delete_list(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let (account, who) = (caller.account_id(), viewer(&caller));
    state
        .run(move |conn| views::delete_list(conn, account, who, id, if_match.0))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MembersQuery {
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    pub cursor: Option<String>,
}

fn to_values<T: serde::Serialize>(items: Vec<T>) -> Vec<Value> {
    items
        .into_iter()
        .filter_map(|i| serde_json::to_value(i).ok())
        .collect()
}

/// A dynamic list's members: its view's records, in the view's order.
fn view_members(
    conn: &mut DbConnection,
    account: i64,
    view: &View,
    (size, sort, after): (PageSize, Sort, Option<Position>),
    reach: persistence::units::Reach,
    mask: &domain::roles::FieldMask,
) -> Result<(Vec<Value>, Option<Position>), StoreError> {
    let matching = view_filter(conn, account, Some(view))?;
    Ok(match view.record_type {
        FieldRecordType::Company => {
            let filter = CompanyFilter {
                matching,
                reach: reach.clone(),
                ..CompanyFilter::default()
            };
            let page = companies::list(conn, account, &filter, sort, size, after.as_ref())?;
            let page = computed::fill_page(conn, account, mask, page)?;
            (
                to_values(page.items.into_iter().map(CompanyOut::from).collect()),
                page.next,
            )
        }
        FieldRecordType::Contact => {
            let filter = ContactFilter {
                matching,
                reach: reach.clone(),
                ..ContactFilter::default()
            };
            let page = contacts::list(conn, account, &filter, sort, size, after.as_ref())?;
            let page = computed::fill_page(conn, account, mask, page)?;
            (
                to_values(page.items.into_iter().map(ContactOut::from).collect()),
                page.next,
            )
        }
        FieldRecordType::Project => {
            let filter = ProjectFilter {
                matching,
                reach: reach.clone(),
                ..ProjectFilter::default()
            };
            let page = projects::list(conn, account, &filter, sort, size, after.as_ref())?;
            let page = computed::fill_page(conn, account, mask, page)?;
            (
                to_values(page.items.into_iter().map(ProjectOut::from).collect()),
                page.next,
            )
        }
    })
}

/// A list's members
///
/// The records of the list's type, as their own `GET` shows them: a static list's in id order,
/// a dynamic list's in its view's order. Reading them needs the record type's read scope too.
#[utoipa::path(
    operation_id = "listListMembers", get, path = "/v1/lists/{id}/members", tag = "views",
    params(("id" = i64, Path, description = "The list's id"), MembersQuery),
    responses(
        (status = 200, description = "A page of the list's records", body = MemberPage),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["views:read"]))
)]
pub async fn members(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: Query<MembersQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let id = path_id(&id)?;
    let q = query.0;
    let (account, who) = (caller.account_id(), viewer(&caller));
    let list = state
        .run(move |conn| views::get_list(conn, account, who, id))
        .await?;
    let record_type = list.record_type.as_str().to_owned();
    let resource = match list.record_type {
        FieldRecordType::Company => Resource::Companies,
        FieldRecordType::Contact => Resource::Contacts,
        FieldRecordType::Project => Resource::Projects,
    };
    caller.require(Scope::Read(resource))?;
    // Lookup and rollup values, but none the caller may not see.
    let mask = caller.0.field_mask();
    let (data, next) = match list.view_id {
        None => {
            let (size, _, after) = paging(q.limit, None, q.cursor.as_deref())?;
            let (found, next) = state
                .run(move |conn| {
                    let (mut found, next) =
                        views::members(conn, account, &list, size, after.as_ref())?;
                    match &mut found {
                        Members::Companies(c) => computed::fill(conn, account, &mask, c)?,
                        Members::Contacts(c) => computed::fill(conn, account, &mask, c)?,
                        Members::Projects(p) => computed::fill(conn, account, &mask, p)?,
                    }
                    Ok((found, next))
                })
                .await?;
            // Members the caller does not see are left out of the page (its cursor still
            // moves past them).
            let seen = |owner, unit| caller.sees(owner, unit);
            let data = match found {
                Members::Companies(c) => to_values(
                    c.into_iter()
                        .filter(|c| seen(c.owner_id, c.unit_id))
                        .map(CompanyOut::from)
                        .collect(),
                ),
                Members::Contacts(c) => to_values(
                    c.into_iter()
                        .filter(|c| seen(c.owner_id, c.unit_id))
                        .map(ContactOut::from)
                        .collect(),
                ),
                Members::Projects(p) => to_values(
                    p.into_iter()
                        .filter(|p| seen(p.owner_id, p.unit_id))
                        .map(ProjectOut::from)
                        .collect(),
                ),
            };
            (data, next)
        }
        Some(view_id) => {
            let view = state
                .run(move |conn| views::get_view(conn, account, who, view_id))
                .await?;
            let reach = persistence::units::Reach {
                scope: caller.records(),
                units: None,
            };
            let paged = sorted_paging(
                q.limit,
                view.spec.sort.as_deref(),
                q.cursor.as_deref(),
                sort_fields(view.record_type),
            )?;
            state
                .run(move |conn| view_members(conn, account, &view, paged, reach, &mask))
                .await?
        }
    };
    Ok(HttpResponse::Ok().json(MemberPage {
        record_type,
        data,
        next_cursor: next.as_ref().map(encode_cursor),
    }))
}

/// Add records to a static list
///
/// Records already in it stay as they were; `count` is how many were added.
#[utoipa::path(
    operation_id = "addListMembers", post, path = "/v1/lists/{id}/members", tag = "views",
    params(("id" = i64, Path, description = "The list's id")),
    request_body = MembersBody,
    responses(
        (status = 200, description = "The records were added", body = MembersChanged),
        (status = 409, description = "The list is dynamic: its members are its view's records", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["views:write"]))
)]
pub async fn add_members(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Body<MembersBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let ids = body.0.ids()?;
    let (account, who) = (caller.account_id(), viewer(&caller));
    let count = state
        .run(move |conn| views::add_members(conn, account, who, id, &ids))
        .await?;
    Ok(HttpResponse::Ok().json(MembersChanged { count }))
}

/// Remove records from a static list
///
/// `count` is how many were in it.
#[utoipa::path(
    operation_id = "removeListMembers", post, path = "/v1/lists/{id}/members/remove", tag = "views",
    params(("id" = i64, Path, description = "The list's id")),
    request_body = MembersBody,
    responses(
        (status = 200, description = "The records were removed", body = MembersChanged),
        (status = 409, description = "The list is dynamic", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["views:write"]))
)]
pub async fn remove_members(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Body<MembersBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let ids = body.0.ids()?;
    let (account, who) = (caller.account_id(), viewer(&caller));
    let count = state
        .run(move |conn| views::remove_members(conn, account, who, id, &ids))
        .await?;
    Ok(HttpResponse::Ok().json(MembersChanged { count }))
}

/// Remove one record from a static list
#[utoipa::path(
    operation_id = "removeListMember", delete, path = "/v1/lists/{id}/members/{record_id}", tag = "views",
    params(
        ("id" = i64, Path, description = "The list's id"),
        ("record_id" = i64, Path, description = "The record's id"),
    ),
    responses(
        (status = 204, description = "The record is not in the list (any more)"),
        (status = 409, description = "The list is dynamic", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["views:write"]))
)]
pub async fn remove_member(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let (id, record_id) = path.into_inner();
    let (id, record_id) = (path_id(&id)?, path_id(&record_id)?);
    let (account, who) = (caller.account_id(), viewer(&caller));
    state
        .run(move |conn| views::remove_members(conn, account, who, id, &[record_id]))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
