//! The routes, one module per resource, and what they share: paging and record responses.

pub mod agenda;
pub mod calendar;
pub mod companies;
pub mod contacts;
pub mod enquiries;
pub mod events;
pub mod feed;
pub mod fields;
pub mod follow_ups;
pub mod health;
pub mod import;
pub mod me;
pub mod meetings;
pub mod oauth;
pub mod oauth_clients;
pub mod pipelines;
pub mod posts;
pub mod projects;
pub mod query;
pub mod roles;
pub mod search;
pub mod tasks;
pub mod tokens;
pub mod units;
pub mod users;
pub mod views;
pub mod webhooks;

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::{DateTime, Datelike, Utc};
use domain::FieldError;
use domain::listing::{PageSize, Position, Sort};
use persistence::activity_dates::{ActivityFilter, DateFilter};
use serde::Serialize;

use crate::error::ApiError;
use crate::extract::decode_cursor;
use crate::extract::etag;

/// Registers every route of the API.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(health::healthz)))
        .service(web::resource("/readyz").route(web::get().to(health::readyz)))
        .service(
            web::resource("/.well-known/oauth-authorization-server")
                .route(web::get().to(oauth::metadata)),
        )
        .service(web::resource("/.well-known/jwks.json").route(web::get().to(oauth::jwks)))
        .service(
            web::scope("/oauth")
                .service(
                    web::resource("/authorize")
                        .route(web::get().to(oauth::authorize))
                        .route(web::post().to(oauth::authorize_form)),
                )
                .service(web::resource("/token").route(web::post().to(oauth::token)))
                .service(web::resource("/revoke").route(web::post().to(oauth::revoke)))
                .service(web::resource("/introspect").route(web::post().to(oauth::introspect))),
        )
        .service(
            web::scope("/v1")
                .wrap(actix_web::middleware::from_fn(
                    crate::record_visibility::middleware,
                ))
                .wrap(actix_web::middleware::from_fn(
                    crate::field_security::middleware,
                ))
                .wrap(actix_web::middleware::from_fn(
                    crate::idempotency::middleware,
                ))
                .wrap(actix_web::middleware::from_fn(
                    crate::middleware::rate_limit,
                ))
                .configure(feed::configure)
                .service(
                    web::resource("/fields")
                        .route(web::get().to(fields::list))
                        .route(web::post().to(fields::create)),
                )
                .service(
                    web::resource("/fields/{id}")
                        .route(web::get().to(fields::show))
                        .route(web::patch().to(fields::update))
                        .route(web::delete().to(fields::delete)),
                )
                .service(
                    web::resource("/schema/{record_type}").route(web::get().to(fields::schema)),
                )
                .configure(search::configure)
                .service(
                    web::resource("/views")
                        .route(web::get().to(views::list_views))
                        .route(web::post().to(views::create_view)),
                )
                .service(
                    web::resource("/views/{id}")
                        .route(web::get().to(views::show_view))
                        .route(web::patch().to(views::update_view))
                        .route(web::delete().to(views::delete_view)),
                )
                .service(
                    web::resource("/lists")
                        .route(web::get().to(views::list_lists))
                        .route(web::post().to(views::create_list)),
                )
                .service(
                    web::resource("/lists/{id}")
                        .route(web::get().to(views::show_list))
                        .route(web::patch().to(views::update_list))
                        .route(web::delete().to(views::delete_list)),
                )
                .service(
                    web::resource("/lists/{id}/members")
                        .route(web::get().to(views::members))
                        .route(web::post().to(views::add_members)),
                )
                .service(
                    web::resource("/lists/{id}/members/remove")
                        .route(web::post().to(views::remove_members)),
                )
                .service(
                    web::resource("/lists/{id}/members/{record_id}")
                        .route(web::delete().to(views::remove_member)),
                )
                .service(
                    web::resource("/units")
                        .route(web::get().to(units::list))
                        .route(web::post().to(units::create)),
                )
                .service(
                    web::resource("/units/{id}")
                        .route(web::get().to(units::show))
                        .route(web::patch().to(units::update))
                        .route(web::delete().to(units::delete)),
                )
                .service(
                    web::resource("/users/{id}/units")
                        .route(web::get().to(units::memberships))
                        .route(web::put().to(units::set_memberships)),
                )
                .service(
                    web::resource("/roles")
                        .route(web::get().to(roles::list))
                        .route(web::post().to(roles::create)),
                )
                .service(
                    web::resource("/roles/{id}")
                        .route(web::get().to(roles::show))
                        .route(web::patch().to(roles::update))
                        .route(web::delete().to(roles::delete)),
                )
                .service(web::resource("/me").route(web::get().to(me::show)))
                .service(web::resource("/me/agenda").route(web::get().to(agenda::show)))
                .service(web::resource("/me/calendar.ics").route(web::get().to(calendar::show)))
                .service(web::resource("/me/password").route(web::put().to(me::change_password)))
                .service(
                    web::resource("/me/totp")
                        .route(web::get().to(me::show_totp))
                        .route(web::post().to(me::enrol_totp))
                        .route(web::delete().to(me::remove_totp)),
                )
                .service(web::resource("/me/totp/confirm").route(web::post().to(me::confirm_totp)))
                .service(
                    web::resource("/users")
                        .route(web::get().to(users::list))
                        .route(web::post().to(users::create)),
                )
                .service(
                    web::resource("/users/{id}")
                        .route(web::get().to(users::show))
                        .route(web::patch().to(users::update))
                        .route(web::delete().to(users::deactivate)),
                )
                .service(
                    web::resource("/tokens")
                        .route(web::get().to(tokens::list))
                        .route(web::post().to(tokens::create)),
                )
                .service(
                    web::resource("/tokens/{id}")
                        .route(web::get().to(tokens::show))
                        .route(web::delete().to(tokens::revoke)),
                )
                .service(
                    web::resource("/companies")
                        .route(web::get().to(companies::list))
                        .route(web::post().to(companies::create)),
                )
                .service(
                    web::resource("/companies/import").route(web::post().to(import::companies)),
                )
                .service(web::resource("/companies/query").route(web::post().to(query::companies)))
                .service(web::resource("/contacts/query").route(web::post().to(query::contacts)))
                .service(web::resource("/projects/query").route(web::post().to(query::projects)))
                .service(
                    web::resource("/companies/{id}")
                        .route(web::get().to(companies::show))
                        .route(web::patch().to(companies::update))
                        .route(web::delete().to(companies::delete)),
                )
                .service(
                    web::resource("/companies/{id}/transitions")
                        .route(web::get().to(companies::history))
                        .route(web::post().to(companies::transition)),
                )
                .service(
                    web::resource("/companies/{id}/merge").route(web::post().to(companies::merge)),
                )
                .service(
                    web::resource("/companies/{id}/projects")
                        .route(web::get().to(projects::list_of_company)),
                )
                .service(
                    web::resource("/projects")
                        .route(web::get().to(projects::list))
                        .route(web::post().to(projects::create)),
                )
                .service(web::resource("/projects/import").route(web::post().to(import::projects)))
                .service(
                    web::resource("/projects/{id}")
                        .route(web::get().to(projects::show))
                        .route(web::patch().to(projects::update))
                        .route(web::delete().to(projects::delete)),
                )
                .service(
                    web::resource("/projects/{id}/merge").route(web::post().to(projects::merge)),
                )
                .service(
                    web::resource("/projects/{id}/transitions")
                        .route(web::get().to(projects::history))
                        .route(web::post().to(projects::transition)),
                )
                .service(
                    web::resource("/projects/{id}/contacts")
                        .route(web::get().to(projects::list_contacts)),
                )
                .service(
                    web::resource("/projects/{id}/contacts/{contact_id}")
                        .route(web::put().to(projects::put_contact))
                        .route(web::delete().to(projects::remove_contact)),
                )
                .service(
                    web::resource("/projects/{id}/team").route(web::get().to(projects::list_team)),
                )
                .service(
                    web::resource("/projects/{id}/team/{user_id}")
                        .route(web::put().to(projects::put_member))
                        .route(web::delete().to(projects::remove_member)),
                )
                .service(
                    web::resource("/tasks")
                        .route(web::get().to(tasks::list))
                        .route(web::post().to(tasks::create)),
                )
                .service(
                    web::resource("/tasks/{id}")
                        .route(web::get().to(tasks::show))
                        .route(web::patch().to(tasks::update))
                        .route(web::delete().to(tasks::delete)),
                )
                .service(
                    web::resource("/tasks/{id}/complete").route(web::post().to(tasks::complete)),
                )
                .service(web::resource("/tasks/{id}/reopen").route(web::post().to(tasks::reopen)))
                .service(
                    web::resource("/enquiries")
                        .route(web::get().to(enquiries::list))
                        .route(web::post().to(enquiries::create)),
                )
                .service(
                    web::resource("/enquiries/{id}")
                        .route(web::get().to(enquiries::show))
                        .route(web::patch().to(enquiries::update))
                        .route(web::delete().to(enquiries::delete)),
                )
                .service(
                    web::resource("/enquiries/{id}/matches")
                        .route(web::get().to(enquiries::matches)),
                )
                .service(
                    web::resource("/enquiries/{id}/convert")
                        .route(web::post().to(enquiries::convert)),
                )
                .service(
                    web::resource("/enquiries/{id}/close").route(web::post().to(enquiries::close)),
                )
                .service(
                    web::resource("/enquiries/{id}/reopen")
                        .route(web::post().to(enquiries::reopen)),
                )
                .service(
                    web::resource("/posts")
                        .route(web::get().to(posts::list))
                        .route(web::post().to(posts::create)),
                )
                .service(
                    web::resource("/posts/{id}")
                        .route(web::get().to(posts::show))
                        .route(web::patch().to(posts::update))
                        .route(web::delete().to(posts::delete)),
                )
                .service(
                    web::resource("/posts/{id}/comments")
                        .route(web::get().to(posts::list_comments))
                        .route(web::post().to(posts::create_comment)),
                )
                .service(
                    web::resource("/posts/{id}/comments/{comment_id}")
                        .route(web::get().to(posts::show_comment))
                        .route(web::patch().to(posts::update_comment))
                        .route(web::delete().to(posts::delete_comment)),
                )
                .service(
                    web::resource("/meetings")
                        .route(web::get().to(meetings::list))
                        .route(web::post().to(meetings::create)),
                )
                .service(
                    web::resource("/meetings/{id}")
                        .route(web::get().to(meetings::show))
                        .route(web::patch().to(meetings::update))
                        .route(web::delete().to(meetings::delete)),
                )
                .service(
                    web::resource("/oauth-clients")
                        .route(web::get().to(oauth_clients::list))
                        .route(web::post().to(oauth_clients::create)),
                )
                .service(
                    web::resource("/oauth-clients/{id}")
                        .route(web::get().to(oauth_clients::show))
                        .route(web::patch().to(oauth_clients::update))
                        .route(web::delete().to(oauth_clients::delete)),
                )
                .service(
                    web::resource("/oauth-clients/{id}/secret")
                        .route(web::post().to(oauth_clients::rotate_secret)),
                )
                .service(
                    web::resource("/webhooks")
                        .route(web::get().to(webhooks::list))
                        .route(web::post().to(webhooks::create)),
                )
                .service(
                    web::resource("/webhooks/{id}")
                        .route(web::get().to(webhooks::show))
                        .route(web::patch().to(webhooks::update))
                        .route(web::delete().to(webhooks::delete)),
                )
                .service(web::resource("/webhooks/{id}/test").route(web::post().to(webhooks::test)))
                .service(
                    web::resource("/webhooks/{id}/secret")
                        .route(web::post().to(webhooks::rotate_secret)),
                )
                .service(
                    web::resource("/webhooks/{id}/deliveries")
                        .route(web::get().to(webhooks::deliveries)),
                )
                .service(web::resource("/follow-ups").route(web::get().to(follow_ups::list)))
                .service(web::resource("/events").route(web::get().to(events::list)))
                .service(web::resource("/events/{id}").route(web::get().to(events::show)))
                .service(
                    web::resource("/pipelines")
                        .route(web::get().to(pipelines::list))
                        .route(web::post().to(pipelines::create)),
                )
                .service(
                    web::resource("/pipelines/{id}")
                        .route(web::get().to(pipelines::show))
                        .route(web::patch().to(pipelines::update))
                        .route(web::delete().to(pipelines::delete)),
                )
                .service(
                    web::resource("/pipelines/{id}/phases")
                        .route(web::post().to(pipelines::add_phase))
                        .route(web::put().to(pipelines::reorder_phases)),
                )
                .service(
                    web::resource("/pipelines/{id}/phases/{phase_id}")
                        .route(web::get().to(pipelines::show_phase))
                        .route(web::patch().to(pipelines::update_phase))
                        .route(web::delete().to(pipelines::remove_phase)),
                )
                .service(
                    web::resource("/pipelines/{id}/board").route(web::get().to(pipelines::board)),
                )
                .service(
                    web::resource("/pipelines/{id}/stats").route(web::get().to(pipelines::stats)),
                )
                .service(
                    web::resource("/contacts")
                        .route(web::get().to(contacts::list))
                        .route(web::post().to(contacts::create)),
                )
                .service(web::resource("/contacts/import").route(web::post().to(import::contacts)))
                .service(
                    web::resource("/contacts/{id}")
                        .route(web::get().to(contacts::show))
                        .route(web::patch().to(contacts::update))
                        .route(web::delete().to(contacts::delete)),
                )
                .service(
                    web::resource("/contacts/{id}/merge").route(web::post().to(contacts::merge)),
                ),
        );
}

/// A list request's page size, order and starting point, or a 400 naming the bad parameter.
/// [`paging`] for a list that sorts by `allowed` only: any other key is a 400 naming them.
pub(crate) fn sorted_paging(
    limit: Option<i64>,
    sort: Option<&str>,
    cursor: Option<&str>,
    allowed: &[domain::listing::SortField],
) -> Result<(PageSize, Sort, Option<Position>), ApiError> {
    let paged = paging(limit, sort, cursor)?;
    if !allowed.contains(&paged.1.field) {
        let keys = domain::listing::SortField::list(allowed);
        return Err(ApiError::BadRequest(
            format!(
                "query parameter `sort` must be one of {keys}, with a leading - for descending order"
            ),
            vec![FieldError::new(
                "sort",
                "invalid_sort",
                format!("must be one of {keys}, with a leading - for descending order"),
            )],
        ));
    }
    Ok(paged)
}

pub(crate) fn paging(
    limit: Option<i64>,
    sort: Option<&str>,
    cursor: Option<&str>,
) -> Result<(PageSize, Sort, Option<Position>), ApiError> {
    let bad = |field: &str, e: domain::validation::ValueError| {
        ApiError::BadRequest(
            format!("query parameter `{field}` {}", e.message),
            vec![FieldError::new(field, e.code, e.message)],
        )
    };
    let size = match limit {
        Some(raw) => PageSize::parse(raw).map_err(|e| bad("limit", e))?,
        None => PageSize::default(),
    };
    let requested = sort
        .map(Sort::parse)
        .transpose()
        .map_err(|e| bad("sort", e))?;
    let after = cursor
        .filter(|c| !c.is_empty())
        .map(|c| decode_cursor(c, requested))
        .transpose()?;
    // A cursor alone continues in the order that made it.
    let sort = requested
        .or(after.as_ref().map(|a| a.sort))
        .unwrap_or_default();
    Ok((size, sort, after))
}

/// A query parameter whose value is refused: 400 naming it.
pub(crate) fn bad_query(field: &str, e: domain::validation::ValueError) -> ApiError {
    ApiError::BadRequest(
        format!("query parameter `{field}` {}", e.message),
        vec![domain::FieldError::new(field, e.code, e.message)],
    )
}

/// Refuses a time query parameter outside the years 1 to 9999, which both databases store
/// and compare alike.
pub(crate) fn check_times(times: &[(&str, Option<DateTime<Utc>>)]) -> Result<(), ApiError> {
    for (field, time) in times {
        if time.is_some_and(|t| !(1..=9999).contains(&t.year())) {
            return Err(ApiError::BadRequest(
                format!("query parameter `{field}` must be a time between the years 1 and 9999"),
                vec![FieldError::new(
                    *field,
                    "out_of_range",
                    "must be between the years 1 and 9999",
                )],
            ));
        }
    }
    Ok(())
}

/// The filters on last and next activity that company, contact and project lists take:
/// `(before, after, has)` of each.
pub(crate) fn activity_filter(
    last: (Option<DateTime<Utc>>, Option<DateTime<Utc>>, Option<bool>),
    next: (Option<DateTime<Utc>>, Option<DateTime<Utc>>, Option<bool>),
) -> Result<ActivityFilter, ApiError> {
    check_times(&[
        ("last_activity_before", last.0),
        ("last_activity_after", last.1),
        ("next_activity_before", next.0),
        ("next_activity_after", next.1),
    ])?;
    let range = |(before, after, present)| DateFilter {
        before,
        after,
        present,
    };
    Ok(ActivityFilter {
        last: range(last),
        next: range(next),
    })
}

/// 200 with a record and its `ETag`.
pub(crate) fn record<T: Serialize>(version: i64, body: T) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((header::ETAG, etag(version)))
        .json(body)
}

/// 201 with a new record, its `ETag` and its `Location`.
pub(crate) fn created<T: Serialize>(location: String, version: i64, body: T) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::ETAG, etag(version)))
        .insert_header((header::LOCATION, location))
        .json(body)
}

/// Ids in paths are positive integers in plain decimal (`7`, never `+7` or `07`); anything
/// else names no record.
pub(crate) fn path_id(raw: &str) -> Result<i64, ApiError> {
    let canonical =
        !raw.is_empty() && !raw.starts_with('0') && raw.bytes().all(|b| b.is_ascii_digit());
    canonical
        .then(|| raw.parse::<i64>().ok())
        .flatten()
        .ok_or(ApiError::NotFound)
}
