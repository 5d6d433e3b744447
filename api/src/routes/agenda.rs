//! `GET /v1/me/agenda`: the caller's day in one call ("For Me").

use actix_web::{HttpResponse, web};
use chrono::{Days, Utc};
use domain::access::{Resource, Scope};
use domain::task::TimeZoneName;
use domain::validation::ValueError;
use persistence::agenda::{self, Day};

use super::bad_query;
use crate::error::{ApiError, Problem};
use crate::extract::{Caller, Query};
use crate::state::AppState;
use crate::wire::agenda::{AgendaOut, AgendaQuery};

/// What the agenda shows, each needing its read scope.
const READS: [Resource; 5] = [
    Resource::Tasks,
    Resource::Meetings,
    Resource::Companies,
    Resource::Projects,
    Resource::Enquiries,
];

/// My agenda
///
/// In one call, for the calling team member: open tasks assigned to them that are overdue
/// and due today, meetings they attend today and in the next seven days, companies and
/// projects they own whose follow-up is due by the end of today, and open enquiries assigned
/// to them; each list sorted and at most `limit` long, with `has_more`. "Today" is the date
/// in `time_zone`. Needs `tasks:read`, `meetings:read`, `companies:read`, `projects:read`
/// and `enquiries:read`.
#[utoipa::path(
    operation_id = "getMyAgenda", get, path = "/v1/me/agenda", tag = "me",
    params(AgendaQuery),
    responses(
        (status = 200, description = "The caller's agenda", body = AgendaOut),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tasks:read", "meetings:read", "companies:read", "projects:read", "enquiries:read"]))
)]
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<AgendaQuery>,
) -> Result<HttpResponse, ApiError> {
    for resource in READS {
        caller.require(Scope::Read(resource))?;
    }
    let user = caller.user_id()?;
    let zone = query
        .0
        .time_zone
        .as_deref()
        .map(TimeZoneName::parse)
        .transpose()
        .map_err(|e| bad_query("time_zone", e))?
        .unwrap_or(TimeZoneName(chrono_tz::UTC));
    let limit = match query.0.limit {
        None => 50,
        Some(n) if (1..=200).contains(&n) => n,
        Some(_) => {
            return Err(bad_query(
                "limit",
                ValueError::new("out_of_range", "must be between 1 and 200"),
            ));
        }
    };
    let now = Utc::now();
    let today = zone.today(now);
    let (start, end) = zone.day_bounds(today);
    let week_end = zone
        .day_bounds(today.checked_add_days(Days::new(7)).unwrap_or(today))
        .1;
    let day = Day {
        now,
        today,
        start,
        end,
        week_end,
    };
    let account = caller.account_id();
    let found = state
        .run(move |conn| agenda::agenda(conn, account, user, day, limit))
        .await?;
    Ok(HttpResponse::Ok().json(AgendaOut::new(today, zone.as_str(), found)))
}
