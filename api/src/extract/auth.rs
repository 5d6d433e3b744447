//! The caller: the user and account behind the bearer token, with the token's scopes.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use domain::access::{Rights, Scope};
use domain::token::{Principal, TokenKind};

use crate::error::ApiError;
use crate::state::AppState;

/// The origin a JavaScript token's response may be shared with.
#[derive(Debug, Clone)]
pub struct CorsOrigin(pub String);

/// A request's authenticated caller. Extracting it answers 401 when the token is missing,
/// malformed, unknown, revoked or expired.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl Caller {
    pub fn account_id(&self) -> i64 {
        self.0.account_id
    }

    pub fn user_id(&self) -> i64 {
        self.0.user.id
    }

    pub fn rights(&self) -> Rights {
        self.0.rights()
    }

    /// Refuses with 403 unless both the role and the token allow `scope`.
    pub fn require(&self, scope: Scope) -> Result<(), ApiError> {
        self.rights().require(scope).map_err(ApiError::from)
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let state = req.app_data::<web::Data<AppState>>().cloned();
        let presented = bearer_token(req);
        let origin = req
            .headers()
            .get(header::ORIGIN)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let req = req.clone();
        Box::pin(async move {
            let state =
                state.ok_or_else(|| ApiError::Internal("application state missing".into()))?;
            let token = presented?;
            let principal = state
                .run(move |conn| persistence::tokens::authenticate(conn, &token))
                .await?
                .ok_or(ApiError::Unauthorized(
                    "the access token is unknown, revoked or expired",
                ))?;
            if principal.token_kind == TokenKind::Javascript {
                let origin = origin
                    .filter(|o| {
                        principal
                            .allowed_origins
                            .iter()
                            .any(|allowed| allowed.eq_ignore_ascii_case(o))
                    })
                    .ok_or(ApiError::OriginNotAllowed)?;
                // The response may be read by that page: the CORS middleware says so.
                req.extensions_mut().insert(CorsOrigin(origin));
            }
            Ok(Caller(principal))
        })
    }
}

fn bearer_token(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::Unauthorized("no access token was sent"))?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthorized("the Authorization header is not readable text"))?;
    let (scheme, token) = value.split_once(' ').ok_or(ApiError::Unauthorized(
        "the Authorization header must be `Bearer <token>`",
    ))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(ApiError::Unauthorized(
            "the Authorization header must be `Bearer <token>`",
        ));
    }
    Ok(token.trim().to_owned())
}
