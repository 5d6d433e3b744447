//! `/v1/follow-ups`: companies that have sat in their phase longer than it allows.

use actix_web::{HttpResponse, web};
use chrono::Utc;
use domain::access::{Resource, Scope};
use persistence::companies::{self, CompanyFilter};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::paging;
use crate::error::{ApiError, Problem};
use crate::extract::{Caller, Query, encode_cursor};
use crate::state::AppState;
use crate::wire::companies::CompanyOut;

/// Which follow-ups to list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FollowUpQuery {
    /// Records per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    pub owner_id: Option<i64>,
    pub pipeline_id: Option<i64>,
}

/// A company due for follow-up.
#[derive(Debug, Serialize, ToSchema)]
pub struct FollowUpOut {
    /// Whole days since the follow-up fell due.
    pub days_overdue: i64,
    pub company: CompanyOut,
}

crate::wire::list_of!(
    FollowUpList,
    FollowUpOut,
    "companies due for follow-up, most overdue first"
);

/// Companies due for follow-up
///
/// Companies that have been in their phase longer than its `follow_up_after_days`, most
/// overdue first.
#[utoipa::path(
    operation_id = "listFollowUps", get, path = "/v1/follow-ups", tag = "pipelines",
    params(FollowUpQuery),
    responses(
        (status = 200, description = "A page of companies due for follow-up", body = FollowUpList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["companies:read"]))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<FollowUpQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Read(Resource::Companies))?;
    let q = query.0;
    let (size, sort, after) = paging(q.limit, Some("follow_up_due_at"), q.cursor.as_deref())?;
    let filter = CompanyFilter {
        owner_id: q.owner_id,
        pipeline_id: q.pipeline_id,
        follow_up_due: Some(true),
        reach: persistence::units::Reach {
            scope: caller.records(),
            units: None,
        },
        ..CompanyFilter::default()
    };
    let account = caller.account_id();
    // Lookup and rollup values, but none the caller may not see.
    let mask = caller.0.field_mask();
    let page = state
        .run(move |conn| {
            companies::list(conn, account, &filter, sort, size, after.as_ref())
                .and_then(|page| persistence::computed::fill_page(conn, account, &mask, page))
        })
        .await?;
    let now = Utc::now();
    Ok(HttpResponse::Ok().json(FollowUpList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page
            .items
            .into_iter()
            .map(|company| FollowUpOut {
                days_overdue: company
                    .place
                    .follow_up_due_at
                    .map_or(0, |due| (now - due).num_days().max(0)),
                company: CompanyOut::from(company),
            })
            .collect(),
    }))
}
