//! The news feed (`GET /v1/feed`), each company's, contact's and project's timeline
//! (`GET /v1/{records}/{id}/timeline`) and following them (`/v1/{records}/{id}/subscription`).

use actix_web::{HttpResponse, web};
use domain::feed::Followable;
use domain::listing::{Direction, PageSize, Position, Sort, SortField, SortValue};
use domain::validation::ValueError;
use persistence::feed::{self, About, FeedFilter};

use super::events::{event_types, readable};
use super::{bad_query, path_id};
use crate::error::{ApiError, Problem};
use crate::extract::{Caller, Query, decode_cursor, encode_cursor};
use crate::state::AppState;
use crate::wire::events::EventOut;
use crate::wire::feed::{FeedList, FeedQuery, SubscriptionOut, TimelineQuery};

/// Entries come newest first; a cursor carries the last one's id.
const ORDER: Sort = Sort {
    field: SortField::CreatedAt,
    direction: Direction::Desc,
};

/// Reads a page of entries for `about`, as far as the caller may read.
async fn page(
    state: &AppState,
    caller: &Caller,
    about: About,
    types: Option<&str>,
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<HttpResponse, ApiError> {
    let size = match limit {
        Some(raw) => PageSize::parse(raw).map_err(|e| bad_query("limit", e))?,
        None => PageSize::default(),
    };
    let before = cursor
        .filter(|c| !c.is_empty())
        .map(|c| decode_cursor(c, Some(ORDER)))
        .transpose()?
        .map(|p| p.id);
    let filter = FeedFilter {
        about,
        readable: readable(caller)?,
        types: event_types(caller, types)?,
        before,
        scope: caller.records(),
    };
    let account = caller.account_id();
    let (entries, more) = state
        .run(move |conn| match about {
            About::Record(kind, id) => feed::timeline(conn, account, kind, id, &filter, size),
            _ => feed::list(conn, account, &filter, size),
        })
        .await?;
    let next_cursor = more.then(|| entries.last()).flatten().map(|e| {
        encode_cursor(&Position {
            sort: ORDER,
            value: SortValue::Int(e.id),
            id: e.id,
        })
    });
    Ok(HttpResponse::Ok().json(FeedList {
        data: entries.into_iter().map(EventOut::from).collect(),
        next_cursor,
    }))
}

/// The news feed
///
/// What happened in the account, newest first: posts and comments, stage moves, tasks
/// completed, meetings, and every change of companies, contacts, projects and enquiries,
/// each with the record as it then was and, for changes, what it was before. A token sees
/// the entries of the records it may read. `subscribed=true` narrows to what the caller
/// follows, `mentions=me` to posts and comments that mention them, `record=` to one record's
/// timeline (at most one of the three). Entries are kept for as long as the account.
#[utoipa::path(
    operation_id = "getFeed", get, path = "/v1/feed", tag = "feed",
    params(FeedQuery),
    responses(
        (status = 200, description = "A page of entries, newest first", body = FeedList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "`record` names a record the account does not have", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["companies:read"]), ("bearer" = ["posts:read"]), ("bearer" = ["tasks:read"]))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<FeedQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.0;
    let mut about = Vec::new();
    if q.subscribed == Some(true) {
        about.push(About::Followed(caller.user_id()?));
    }
    if let Some(who) = q.mentions.as_deref() {
        if who != "me" {
            return Err(bad_query(
                "mentions",
                ValueError::new("invalid_choice", "must be `me`"),
            ));
        }
        about.push(About::Mentioning(caller.user_id()?));
    }
    if let Some(raw) = q.record.as_deref() {
        let (kind, id) = Followable::parse_ref(raw).map_err(|e| bad_query("record", e))?;
        caller.require(kind.record_type().read_scope())?;
        about.push(About::Record(kind, id));
    }
    if about.len() > 1 {
        return Err(bad_query(
            "subscribed",
            ValueError::new(
                "conflicting_filters",
                "`subscribed=true`, `mentions` and `record` go one at a time",
            ),
        ));
    }
    let about = about.pop().unwrap_or(About::Everything);
    page(
        &state,
        &caller,
        about,
        q.types.as_deref(),
        q.limit,
        q.cursor.as_deref(),
    )
    .await
}

/// The subscription routes' shared body: the caller follows, stops or asks.
async fn subscription(
    state: &AppState,
    caller: &Caller,
    kind: Followable,
    raw_id: &str,
    change: Option<bool>,
) -> Result<HttpResponse, ApiError> {
    caller.require(kind.record_type().read_scope())?;
    let id = path_id(raw_id)?;
    let user = caller.user_id()?;
    let account = caller.account_id();
    let answer = state
        .run(move |conn| match change {
            None => feed::subscription(conn, account, user, kind, id).map(|s| (s, false)),
            Some(true) => {
                feed::follow(conn, account, user, kind, id).map(|(s, new)| (Some(s), new))
            }
            Some(false) => feed::unfollow(conn, account, user, kind, id).map(|_| (None, false)),
        })
        .await?;
    let body = SubscriptionOut::new(kind, id, answer.0);
    Ok(match (change, answer.1) {
        (Some(false), _) => HttpResponse::NoContent().finish(),
        (Some(true), true) => HttpResponse::Created().json(body),
        _ => HttpResponse::Ok().json(body),
    })
}

/// A followable record type's timeline and subscription routes, documented each.
macro_rules! record_routes {
    ($module:ident, $kind:expr, $name:literal, $scope:literal,
     $timeline_op:literal, $timeline_path:literal,
     $get_op:literal, $put_op:literal, $delete_op:literal, $subscription_path:literal) => {
        pub mod $module {
            use super::*;

            #[doc = concat!("A ", $name, "'s timeline")]
            ///
            #[doc = concat!("Everything that happened to the ", $name, ", newest first: its changes, stage")]
            /// moves and merges, and the tasks, meetings and posts (with their comments)
            /// linked to it, each as the record then was. A record merged into this one
            /// brings its timeline along.
            #[utoipa::path(
                operation_id = $timeline_op, get, path = $timeline_path, tag = "feed",
                params(("id" = i64, Path, description = "The record's id"), TimelineQuery),
                responses(
                    (status = 200, description = "A page of entries, newest first", body = FeedList),
                    (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
                ),
                security(("bearer" = [$scope]))
            )]
            pub async fn timeline(
                state: web::Data<AppState>,
                caller: Caller,
                id: web::Path<String>,
                query: Query<TimelineQuery>,
            ) -> Result<HttpResponse, ApiError> {
                caller.require($kind.record_type().read_scope())?;
                let id = path_id(&id)?;
                let q = query.0;
                let about = About::Record($kind, id);
                page(&state, &caller, about, q.types.as_deref(), q.limit, q.cursor.as_deref())
                    .await
            }

            #[doc = concat!("Whether I follow a ", $name)]
            #[utoipa::path(
                operation_id = $get_op, get, path = $subscription_path, tag = "feed",
                params(("id" = i64, Path, description = "The record's id")),
                responses(
                    (status = 200, description = "Whether the caller follows it", body = SubscriptionOut),
                ),
                security(("bearer" = [$scope]))
            )]
            pub async fn show_subscription(
                state: web::Data<AppState>,
                caller: Caller,
                id: web::Path<String>,
            ) -> Result<HttpResponse, ApiError> {
                subscription(&state, &caller, $kind, &id, None).await
            }

            #[doc = concat!("Follow a ", $name)]
            ///
            /// Its changes, and those of the tasks, meetings and posts linked to it, then
            /// show in `GET /v1/feed?subscribed=true`. Following takes only the right to
            /// read the record. Answers 201 when the caller starts following, 200 when they
            /// already did.
            #[utoipa::path(
                operation_id = $put_op, put, path = $subscription_path, tag = "feed",
                params(("id" = i64, Path, description = "The record's id")),
                responses(
                    (status = 200, description = "The caller already followed it", body = SubscriptionOut),
                    (status = 201, description = "The caller follows it now", body = SubscriptionOut),
                ),
                security(("bearer" = [$scope]))
            )]
            pub async fn follow(
                state: web::Data<AppState>,
                caller: Caller,
                id: web::Path<String>,
            ) -> Result<HttpResponse, ApiError> {
                subscription(&state, &caller, $kind, &id, Some(true)).await
            }

            #[doc = concat!("Stop following a ", $name)]
            ///
            /// Owners and team members may stop following too. Answers 204 whether or not
            /// the caller followed it.
            #[utoipa::path(
                operation_id = $delete_op, delete, path = $subscription_path, tag = "feed",
                params(("id" = i64, Path, description = "The record's id")),
                responses(
                    (status = 204, description = "The caller does not follow it"),
                ),
                security(("bearer" = [$scope]))
            )]
            pub async fn unfollow(
                state: web::Data<AppState>,
                caller: Caller,
                id: web::Path<String>,
            ) -> Result<HttpResponse, ApiError> {
                subscription(&state, &caller, $kind, &id, Some(false)).await
            }

            /// Registers the routes.
            pub fn configure(scope: &str, cfg: &mut web::ServiceConfig) {
                cfg.service(
                    web::resource(format!("/{scope}/{{id}}/timeline"))
                        .route(web::get().to(timeline)),
                )
                .service(
                    web::resource(format!("/{scope}/{{id}}/subscription"))
                        .route(web::get().to(show_subscription))
                        .route(web::put().to(follow))
                        .route(web::delete().to(unfollow)),
                );
            }
        }
    };
}

record_routes!(
    companies,
    Followable::Company,
    "company",
    "companies:read",
    "getCompanyTimeline",
    "/v1/companies/{id}/timeline",
    "getCompanySubscription",
    "followCompany",
    "unfollowCompany",
    "/v1/companies/{id}/subscription"
);
record_routes!(
    contacts,
    Followable::Contact,
    "contact",
    "contacts:read",
    "getContactTimeline",
    "/v1/contacts/{id}/timeline",
    "getContactSubscription",
    "followContact",
    "unfollowContact",
    "/v1/contacts/{id}/subscription"
);
record_routes!(
    projects,
    Followable::Project,
    "project",
    "projects:read",
    "getProjectTimeline",
    "/v1/projects/{id}/timeline",
    "getProjectSubscription",
    "followProject",
    "unfollowProject",
    "/v1/projects/{id}/subscription"
);

/// Every record type's feed routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/feed").route(web::get().to(list)));
    companies::configure("companies", cfg);
    contacts::configure("contacts", cfg);
    projects::configure("projects", cfg);
}
