//! `/v1/me`: who the caller is. Integration platforms call it first, to test a token.

use actix_web::HttpResponse;

use crate::error::ApiError;
use crate::extract::Caller;
use crate::wire::me::{AccountOut, MeOut};
use crate::wire::users::UserOut;

/// Who am I
///
/// The user and account behind the token, the user's role, and the token's scopes. Any valid
/// token may call it.
#[utoipa::path(
    operation_id = "getMe", get, path = "/v1/me", tag = "me",
    responses((status = 200, description = "The caller", body = MeOut)),
    security(("bearer" = []))
)]
pub async fn show(caller: Caller) -> Result<HttpResponse, ApiError> {
    let principal = caller.0;
    let rights = principal.rights();
    Ok(HttpResponse::Ok().json(MeOut {
        role: principal.user.role.as_str().to_owned(),
        scopes: principal.scopes.names(),
        effective_scopes: rights.effective().names(),
        token_id: principal.token_id,
        account: AccountOut {
            id: principal.account_id,
            name: principal.account_name,
        },
        user: UserOut::from(principal.user),
    }))
}
