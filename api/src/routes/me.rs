//! `/v1/me`: who the caller is. Integration platforms call it first, to test a token.

use actix_web::{HttpResponse, web};
use domain::Invalid;
use domain::access::{Resource, Scope};
use domain::password::Password;

use crate::error::ApiError;
use crate::error::Problem;
use crate::extract::{Body, Caller};
use crate::state::AppState;
use crate::wire::me::{AccountOut, MeClientOut, MeOut, TotpCode, TotpEnrolment, TotpOut};
use crate::wire::users::{PasswordChange, UserOut};
use domain::token::{Actor, Credential};

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
    let (token_type, token_id, client_id) = match &principal.credential {
        Credential::Token { id, kind, .. } => (kind.as_str(), Some(*id), None),
        Credential::OAuth { client_id, .. } => ("oauth", None, Some(client_id.clone())),
    };
    let (user, client) = match principal.actor {
        Actor::User(user) => (Some(user), None),
        Actor::App(app) => (
            None,
            Some(MeClientOut {
                id: app.id,
                client_id: app.client_id,
                name: app.name,
            }),
        ),
    };
    Ok(HttpResponse::Ok().json(MeOut {
        role: user.as_ref().map(|u| u.role.name.clone()),
        scopes: principal.scopes.names(),
        effective_scopes: rights.effective().names(),
        token_type: token_type.to_owned(),
        token_id,
        client_id,
        account: AccountOut {
            id: principal.account_id,
            name: principal.account_name,
        },
        user: user.map(UserOut::from),
        client,
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
    let (account, user) = (caller.account_id(), caller.user_id()?);
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
    // The change may end or narrow tokens: look callers up again.
    state.callers.clear();
    Ok(HttpResponse::NoContent().finish())
}

/// Your authenticator
///
/// Whether an authenticator app (TOTP) is enrolled and confirmed; when it is, the OAuth
/// sign-in page asks for its code after the password.
#[utoipa::path(
    operation_id = "getMyTotp", get, path = "/v1/me/totp", tag = "me",
    responses((status = 200, description = "The authenticator's state", body = TotpOut)),
    security(("bearer" = ["tokens:read"]))
)]
pub async fn show_totp(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Read(Resource::Tokens))?;
    let user = caller.user_id()?;
    let status = state
        .run(move |conn| persistence::totp::status(conn, user))
        .await?;
    Ok(HttpResponse::Ok().json(TotpOut {
        enrolled: status.enrolled,
        enabled: status.confirmed,
    }))
}

/// Enrol an authenticator
///
/// Issues a new secret (RFC 6238: SHA-1, 6 digits, 30 seconds), shown this once. It takes
/// effect when confirmed with a code. A confirmed authenticator must be removed first (409).
#[utoipa::path(
    operation_id = "enrolMyTotp", post, path = "/v1/me/totp", tag = "me",
    responses(
        (status = 201, description = "The secret, to enter in an authenticator app", body = TotpEnrolment),
        (status = 409, description = "An authenticator is confirmed already", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tokens:write"]))
)]
pub async fn enrol_totp(
    state: web::Data<AppState>,
    caller: Caller,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Write(Resource::Tokens))?;
    let user = caller.user_id()?;
    let email = caller.0.user().map(|u| u.email.clone()).unwrap_or_default();
    let vault = state.vault();
    let secret = state
        .run(move |conn| persistence::totp::enrol(conn, &vault, user))
        .await?;
    Ok(HttpResponse::Created()
        .insert_header(("Cache-Control", "no-store"))
        .json(TotpEnrolment {
            secret: domain::totp::to_base32(&secret),
            otpauth_uri: domain::totp::otpauth_uri(&secret, "Clientline", &email),
            enrolled: true,
            enabled: false,
        }))
}

/// Confirm your authenticator
///
/// The first code from the app proves it was set up; from then on sign-in asks for a code.
#[utoipa::path(
    operation_id = "confirmMyTotp", post, path = "/v1/me/totp/confirm", tag = "me",
    request_body(content = TotpCode, example = json!({"code": "123456"})),
    responses(
        (status = 200, description = "The authenticator is enabled", body = TotpOut),
        (status = 409, description = "Nothing to confirm", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tokens:write"]))
)]
pub async fn confirm_totp(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<TotpCode>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Write(Resource::Tokens))?;
    let user = caller.user_id()?;
    let code = body.0.code;
    let vault = state.vault();
    state
        .run(move |conn| persistence::totp::confirm(conn, &vault, user, &code))
        .await?;
    Ok(HttpResponse::Ok().json(TotpOut {
        enrolled: true,
        enabled: true,
    }))
}

/// Remove your authenticator
///
/// Needs a current code from it, so that a stolen token alone cannot turn it off.
#[utoipa::path(
    operation_id = "removeMyTotp", delete, path = "/v1/me/totp", tag = "me",
    request_body(content = TotpCode, example = json!({"code": "123456"})),
    responses(
        (status = 204, description = "The authenticator was removed"),
        (status = 404, description = "No authenticator is enrolled", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["tokens:write"]))
)]
pub async fn remove_totp(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<TotpCode>,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Write(Resource::Tokens))?;
    let user = caller.user_id()?;
    let code = body.0.code;
    let vault = state.vault();
    state
        .run(move |conn| persistence::totp::remove(conn, &vault, user, &code))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
