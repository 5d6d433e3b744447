//! The caller: the user and account behind the bearer token, with the token's scopes.

use std::future::Future;
use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use chrono::{DateTime, Utc};
use domain::FieldError;
use domain::access::{Rights, Scope};
use domain::event::Outbox;
use domain::token::{ActorRef, Principal, TokenKind};
use persistence::tokens::Authenticated;

use crate::auth_cache::TokenKey;
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

    /// The team member calling; 403 for an app acting for its account.
    pub fn user_id(&self) -> Result<i64, ApiError> {
        self.0.user().map(|u| u.id).ok_or(ApiError::UserRequired)
    }

    /// Who acts, as history records it.
    pub fn actor(&self) -> ActorRef {
        self.0.actor_ref()
    }

    /// What a write needs to record its events: this caller as the actor, and the wire
    /// shapes of records.
    pub fn outbox(&self) -> Outbox<'static> {
        Outbox {
            actor: self.actor(),
            render: &crate::wire::events::WIRE_JSON,
        }
    }

    /// Which companies, contacts and projects the caller sees.
    pub fn records(&self) -> domain::units::RecordScope {
        self.0.records.clone()
    }

    /// Whether the caller sees a record owned by `owner` in `unit`.
    pub fn sees(&self, owner: Option<i64>, unit: Option<i64>) -> bool {
        self.0.records.sees(owner, unit)
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
        // A middleware that needed the caller first (idempotency keys) left it here.
        if let Some(caller) = req.extensions().get::<Caller>().cloned() {
            return Box::pin(std::future::ready(Ok(caller)));
        }
        Caller::authenticate(req)
    }
}

/// The path of the one operation a calendar token may call, and the one that takes a token
/// in its URL.
pub const CALENDAR_FEED_PATH: &str = "/v1/me/calendar.ics";

/// Where a token was presented, which decides what it may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Presented {
    /// `Authorization: Bearer`, on any operation but the calendar feed: any kind but a
    /// calendar token.
    Header,
    /// On the calendar feed, in `Authorization`: any kind.
    FeedHeader,
    /// On the calendar feed, in its `token` query parameter: a calendar token only.
    FeedUrl,
}

/// The caller of the calendar feed: any token in `Authorization`, or a calendar token in the
/// `token` query parameter, for calendar apps that subscribe to a URL and send no headers.
#[derive(Debug, Clone)]
pub struct FeedCaller(pub Caller);

impl FromRequest for FeedCaller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<FeedCaller, ApiError>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let in_url = url_token(req);
        let (presented, how) = match (in_url, req.headers().contains_key(header::AUTHORIZATION)) {
            (Some(_), true) => {
                let refused = ApiError::BadRequest(
                    "send the token once: in the `token` query parameter or in `Authorization`, not both".into(),
                    vec![FieldError::new(
                        "token",
                        "token_sent_twice",
                        "must not be sent when Authorization is",
                    )],
                );
                return Box::pin(std::future::ready(Err(refused)));
            }
            (Some(token), false) => (Ok(token), Presented::FeedUrl),
            (None, _) => (bearer_token(req), Presented::FeedHeader),
        };
        let found = Caller::authenticate_as(req, presented, how);
        Box::pin(async move { found.await.map(FeedCaller) })
    }
}

/// The `token` query parameter of a request for the calendar feed; `None` on any other path,
/// where no URL carries a token.
pub(crate) fn url_token(req: &HttpRequest) -> Option<String> {
    if req.path() != CALENDAR_FEED_PATH {
        return None;
    }
    form_urlencoded::parse(req.query_string().as_bytes())
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned())
}

/// The refusal of a token other than a calendar token in a URL, where it would be written
/// to logs and kept by calendar apps: before it is looked up, and after, should a prefix lie.
fn not_for_a_url() -> ApiError {
    ApiError::BadRequest(
        format!(
            "only a calendar token (`{}...`) may be sent in the URL; send other tokens in `Authorization`",
            TokenKind::Calendar.prefix()
        ),
        vec![FieldError::new(
            "token",
            "calendar_token_required",
            "must be a calendar token",
        )],
    )
}

impl Caller {
    /// Looks up the caller behind `req`'s bearer token. The future holds a clone of the
    /// request until it is done: a middleware must let it finish before passing the request
    /// on, since actix routes a request only while nothing else holds it.
    pub(crate) fn authenticate(
        req: &HttpRequest,
    ) -> Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>> {
        Caller::authenticate_as(req, bearer_token(req), Presented::Header)
    }

    fn authenticate_as(
        req: &HttpRequest,
        presented: Result<String, ApiError>,
        how: Presented,
    ) -> Pin<Box<dyn Future<Output = Result<Caller, ApiError>>>> {
        let state = req.app_data::<web::Data<AppState>>().cloned();
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
            if how == Presented::FeedUrl && !token.starts_with(TokenKind::Calendar.prefix()) {
                return Err(not_for_a_url());
            }
            let key = TokenKey::of(&token);
            let principal = match state.callers.get(&key) {
                Some(known) => known,
                None => {
                    let (principal, expires_at) = if token.starts_with("clt_") {
                        state
                            .run(move |conn| persistence::tokens::authenticate(conn, &token))
                            .await?
                    } else {
                        oauth_principal(&state, token).await?
                    }
                    .ok_or(ApiError::Unauthorized(
                        "the access token is unknown, revoked or expired",
                    ))?;
                    state.callers.put(key, &principal, expires_at);
                    principal
                }
            };
            match (how, principal.is_calendar_token()) {
                // A calendar token reads the calendar feed and nothing else.
                (Presented::Header, true) => return Err(ApiError::CalendarTokenOnly),
                (Presented::FeedUrl, false) => return Err(not_for_a_url()),
                _ => {}
            }
            if let Some(allowed) = principal.allowed_origins() {
                let origin = origin
                    .filter(|o| allowed.iter().any(|a| a.eq_ignore_ascii_case(o)))
                    .ok_or(ApiError::OriginNotAllowed)?;
                // The response may be read by that page: the CORS middleware says so.
                req.extensions_mut().insert(CorsOrigin(origin));
            }
            Ok(Caller(principal))
        })
    }
}

/// The caller behind an OAuth access token (a JWT), with the token's expiry: verified against
/// the shared signing keys, then looked up so that revocation, a deleted app or a deactivated
/// user stop it.
async fn oauth_principal(
    state: &AppState,
    token: String,
) -> Result<Option<Authenticated>, ApiError> {
    let Some(kid) = state.keys_for(&token).await? else {
        return Ok(None);
    };
    let claims = match state.oauth.keys.verify(&token) {
        Ok(claims) => claims,
        Err(rejected) => {
            tracing::debug!(reason = %rejected.0, "access token refused");
            return Ok(None);
        }
    };
    let account = claims.account_id;
    let claims_exp = claims.exp;
    let principal = state
        .run(move |conn| {
            persistence::oauth::authenticate_access(
                conn,
                &kid,
                &claims.jti,
                &claims.client_id,
                &claims.scopes(),
            )
        })
        .await?;
    let expires_at = DateTime::<Utc>::from_timestamp(claims_exp, 0);
    Ok(principal
        .filter(|p| p.account_id == account)
        .map(|p| (p, expires_at)))
}

pub(crate) fn bearer_token(req: &HttpRequest) -> Result<String, ApiError> {
    let value = req
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or(ApiError::MissingToken)?;
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
