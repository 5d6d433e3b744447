//! Record visibility on the wire, for every route that names one company, contact or project
//! in its path (`/v1/{companies,contacts,projects}/{id}` and everything below it: reads,
//! writes, moves, timelines, subscriptions, people): a caller whose role sees only some
//! records (their own, their units', their units' and those below) gets the 404 a record of
//! another account gets. Lists, boards, search and the feed narrow their own queries (see
//! `persistence::units::Reach`); this is the one check for the rest. A caller who sees every
//! record pays nothing; the others one primary-key read.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, web};
use domain::fields::FieldRecordType;

use crate::error::ApiError;
use crate::extract::Caller;
use crate::state::AppState;

/// The record a path names: `/v1/<records>/<id>...`.
fn addressed(path: &str) -> Option<(FieldRecordType, i64)> {
    let mut parts = path.trim_start_matches('/').split('/');
    if parts.next() != Some("v1") {
        return None;
    }
    let record_type = match parts.next()? {
        "companies" => FieldRecordType::Company,
        "contacts" => FieldRecordType::Contact,
        "projects" => FieldRecordType::Project,
        _ => return None,
    };
    let id = parts.next()?.parse::<i64>().ok().filter(|id| *id > 0)?;
    Some((record_type, id))
}

/// The middleware.
pub async fn middleware(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let pass = |req| async move {
        next.call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body)
    };
    let Some((record_type, id)) = addressed(req.path()) else {
        return pass(req).await;
    };
    let known = req.extensions().get::<Caller>().cloned();
    let caller = match known {
        Some(caller) => caller,
        None => match Caller::authenticate(req.request()).await {
            Ok(caller) => {
                req.extensions_mut().insert(caller.clone());
                caller
            }
            // The handler answers 401 itself.
            Err(_) => return pass(req).await,
        },
    };
    let scope = caller.records();
    if scope.is_all() {
        return pass(req).await;
    }
    let Some(state) = req.app_data::<web::Data<AppState>>().cloned() else {
        return pass(req).await;
    };
    let account = caller.account_id();
    let seen = state
        .run(move |conn| persistence::units::in_sight(conn, account, record_type, id, &scope))
        .await;
    match seen {
        Ok(true) => pass(req).await,
        Ok(false) => Ok(req.error_response(ApiError::NotFound)),
        Err(e) => Ok(req.error_response(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_below_a_record_names_it() {
        assert_eq!(
            addressed("/v1/companies/7/timeline"),
            Some((FieldRecordType::Company, 7))
        );
        assert_eq!(
            addressed("/v1/projects/3"),
            Some((FieldRecordType::Project, 3))
        );
        assert_eq!(addressed("/v1/companies/query"), None);
        assert_eq!(addressed("/v1/companies"), None);
        assert_eq!(addressed("/v1/tasks/3"), None);
    }
}
