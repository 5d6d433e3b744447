//! `/v1/me`: who the caller is. Integration platforms call it first, to test a token.

use actix_web::{HttpResponse, web};
use domain::Invalid;
use domain::access::{Resource, Scope};
use domain::password::Password;

use crate::error::ApiError;
use crate::extract::{Body, Caller};
use crate::state::AppState;
use crate::wire::me::{AccountOut, MeOut};
use crate::wire::users::{PasswordChange, UserOut};

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

/// Change your password
///
/// The password of the sign-in page. When one is set already, send it as
/// `current_password`. New passwords have at least 12 characters and are not common ones.
#[utoipa::path(
    operation_id = "changeMyPassword", put, path = "/v1/me/password", tag = "me",
    request_body(content = PasswordChange, example = json!({"current_password": "old correct horse", "new_password": "new battery staple tree"})),
    responses((status = 204, description = "The password was changed")),
    security(("bearer" = ["tokens:write"]))
)]
pub async fn change_password(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<PasswordChange>,
) -> Result<HttpResponse, ApiError> {
    // A credential of one's own, like a token: what tokens:write covers (and a read-only
    // JavaScript token does not).
    caller.require(Scope::Write(Resource::Tokens))?;
    let change = body.0;
    let new = Password::parse(&change.new_password)
        .map_err(|e| ApiError::Invalid(Invalid::default().with("new_password", e)))?;
    let (account, user) = (caller.account_id(), caller.user_id());
    state
        .run(move |conn| {
            persistence::users::change_password(
                conn,
                account,
                user,
                change.current_password.as_deref(),
                &new,
            )
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
