//! `GET /v1/me/calendar.ics`: the caller's meetings and due tasks as an iCalendar feed, for
//! calendar apps (Google Calendar, Outlook, Apple Calendar) subscribed to its URL.

use actix_web::http::header;
use actix_web::{HttpResponse, web};
use chrono::{Duration, Utc};
use persistence::calendar::{self, Window};
use sha2::{Digest, Sha256};

use super::bad_query;
use crate::error::{ApiError, Problem};
use crate::extract::{FeedCaller, Query};
use crate::state::AppState;
use crate::wire::calendar::{Calendar, CalendarQuery, TaskStyle, render};

/// How far back the feed reaches: last month's meetings stay visible in the app.
const PAST_DAYS: i64 = 30;
/// How far ahead it reaches.
const FUTURE_DAYS: i64 = 365;
/// The most meetings, and the most tasks, one feed holds (the earliest first): a bound on one
/// request's work and on what a calendar app is asked to take every few minutes.
const MAX_EACH: i64 = 2_000;

/// My calendar feed (iCalendar)
///
/// The calendar of the calling team member, in iCalendar (RFC 5545) for calendar apps to
/// subscribe to: a VEVENT per meeting they organise or attend (and have not declined), with
/// its attendees and organiser where their emails are known, and one per open or done task
/// assigned to them that has a due (all-day on its due day, or at its due time; a done one
/// is ticked ✓). With `tasks=todos`, tasks are VTODO to-dos instead. It covers meetings that
/// start, and tasks that fall due, from 30 days ago to 365 days ahead, at most 2,000 of each,
/// the earliest first. Times are in UTC. UIDs are stable per record and SEQUENCE follows its
/// version, so an app updates what it showed.
///
/// Calendar apps cannot send `Authorization`: create a calendar token (`POST /v1/tokens`
/// with `"kind": "calendar"`), which reads this feed and nothing else, and subscribe to
/// `/v1/me/calendar.ics?token=<secret>`; revoke it to end the subscription. Any other token
/// works in `Authorization` with `tasks:read` and `meetings:read`.
#[utoipa::path(
    operation_id = "getMyCalendarFeed", get, path = "/v1/me/calendar.ics", tag = "me",
    params(CalendarQuery),
    responses(
        (status = 200, description = "The calendar, `text/calendar; charset=utf-8`", body = String, content_type = "text/calendar",
            headers(("ETag" = String, description = "A digest of the feed: `If-None-Match` with it answers 304 while nothing in it changed"))),
        (status = 400, description = "A query parameter is invalid, a token other than a calendar token is in the URL (`calendar_token_required`), or a token is sent both in the URL and in Authorization", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "The token is missing, unknown, revoked or expired", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The token lacks `tasks:read` or `meetings:read`, or acts for an app rather than a team member", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tasks:read", "meetings:read"]), ("calendar_token" = []))
)]
pub async fn show(
    state: web::Data<AppState>,
    caller: FeedCaller,
    query: Query<CalendarQuery>,
) -> Result<HttpResponse, ApiError> {
    let caller = caller.0;
    caller.0.may_read_calendar_feed()?;
    let user = caller.user_id()?;
    let tasks = query
        .0
        .tasks
        .as_deref()
        .map(TaskStyle::parse)
        .transpose()
        .map_err(|e| bad_query("tasks", e))?
        .unwrap_or_default();
    let now = Utc::now();
    let window = Window {
        from: now - Duration::days(PAST_DAYS),
        until: now + Duration::days(FUTURE_DAYS),
    };
    let account = caller.account_id();
    let feed = state
        .run(move |conn| calendar::feed(conn, account, user, window, MAX_EACH))
        .await?;
    let owner = caller.0.user().map_or("", |u| u.name.as_str());
    let name = format!("{}: {owner}", caller.0.account_name);
    let body = render(&Calendar {
        name: &name,
        uid_domain: &uid_domain(state.settings.public_url.as_deref()),
        tasks,
        feed: &feed,
    });
    let digest = Sha256::digest(body.as_bytes());
    Ok(HttpResponse::Ok()
        .content_type("text/calendar; charset=utf-8")
        .insert_header((header::ETAG, format!("\"{}\"", hex::encode(&digest[..16]))))
        // Personal data behind a secret in the URL: no shared cache keeps it.
        .insert_header((header::CACHE_CONTROL, "private, no-cache"))
        .body(body))
}

/// The right-hand side of the feed's UIDs: the service's public host, so that two services'
/// records never share one; `clientline` when no public URL is configured.
fn uid_domain(public_url: Option<&str>) -> String {
    public_url
        .and_then(|url| url.split_once("://").map(|(_, rest)| rest))
        .map(|rest| rest.split(['/', ':', '?', '#']).next().unwrap_or_default())
        .filter(|host| !host.is_empty())
        .unwrap_or("clientline")
        .to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_name_the_public_host() {
        assert_eq!(
            uid_domain(Some("https://CRM.example.com:8443/base")),
            "crm.example.com"
        );
        assert_eq!(uid_domain(Some("http://127.0.0.1:8080")), "127.0.0.1");
        assert_eq!(uid_domain(None), "clientline");
        assert_eq!(uid_domain(Some("not a url")), "clientline");
    }
}
