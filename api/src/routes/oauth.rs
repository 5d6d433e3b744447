//! The OAuth 2 authorization server: the authorization endpoint with its sign-in, second
//! factor and consent pages (RFC 6749, RFC 7636, RFC 9700), the token endpoint, revocation
//! (RFC 7009), introspection (RFC 7662), server metadata (RFC 8414) and the public keys.

use std::collections::HashMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chrono::Utc;
use domain::access::Scope;
use domain::oauth::{
    AuthorizeError, AuthorizeParams, OAuthClient, OAuthError, REFRESH_TOKEN_PREFIX,
    check_authorize, redirect_uri_for,
};
use persistence::oauth::{self as store, PendingAuthorization, SignIn, Step};
use persistence::signing_keys;
use serde_json::json;

use crate::error::{ApiError, PROBLEM_JSON, Problem};
use crate::oauth::keys::{AccessClaims, KeyRing};
use crate::oauth::pages;
use crate::state::AppState;

/// The cookie that ties a sign-in form to the browser it was shown in.
const FORM_COOKIE: &str = "clientline_authorize";

// ---------------------------------------------------------------------------------------------
// Small helpers

/// Form or query parameters; a parameter sent twice is refused (RFC 6749 3.1, 3.2).
fn parameters(raw: &[u8]) -> Result<HashMap<String, String>, String> {
    let mut params = HashMap::new();
    for (name, value) in form_urlencoded::parse(raw) {
        if params
            .insert(name.clone().into_owned(), value.into_owned())
            .is_some()
        {
            return Err(format!("the parameter `{name}` was sent more than once"));
        }
    }
    Ok(params)
}

fn wants_html(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ))
        .body(body)
}

/// An error shown to the person at the browser: a page for browsers, a problem otherwise.
fn shown(req: &HttpRequest, status: StatusCode, code: &str, message: &str) -> HttpResponse {
    if wants_html(req) {
        return html(status, pages::error("Something is wrong", message));
    }
    HttpResponse::build(status)
        .content_type(PROBLEM_JSON)
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(Problem {
            r#type: format!("https://clientline.dev/problems/{code}"),
            title: crate::error::title(code),
            status: status.as_u16(),
            detail: message.to_owned(),
            code: code.to_owned(),
            instance: None,
            request_id: None,
            errors: Vec::new(),
            error: None,
            error_description: None,
        })
}

fn too_many(req: &HttpRequest, seconds: u64, why: &'static str) -> HttpResponse {
    let mut response = if wants_html(req) {
        html(
            StatusCode::TOO_MANY_REQUESTS,
            pages::error(
                "Too many attempts",
                &format!("{why}. Try again in {seconds} seconds."),
            ),
        )
    } else {
        actix_web::ResponseError::error_response(&ApiError::TooManyRequests {
            retry_after_seconds: seconds,
            why,
        })
    };
    if let Ok(value) = header::HeaderValue::from_str(&seconds.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// `uri` with `pairs` added to its query.
fn with_query(uri: &str, pairs: &[(&str, &str)]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in pairs {
        query.append_pair(name, value);
    }
    let separator = if uri.contains('?') { '&' } else { '?' };
    format!("{uri}{separator}{}", query.finish())
}

fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// The value of the form cookie, from any `Cookie` header.
fn form_cookie(req: &HttpRequest) -> Option<String> {
    req.headers()
        .get_all(header::COOKIE)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == FORM_COOKIE)
        .map(|(_, value)| value.trim_matches('"').to_owned())
}

fn client_ip(req: &HttpRequest) -> String {
    req.peer_addr()
        .map(|a| a.ip().to_string())
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// The authorization endpoint

/// `GET /oauth/authorize`: checks the request and shows the sign-in form.
pub async fn authorize(state: web::Data<AppState>, req: HttpRequest) -> HttpResponse {
    let params = match parameters(req.query_string().as_bytes()) {
        Ok(params) => params,
        Err(message) => return shown(&req, StatusCode::BAD_REQUEST, "invalid_request", &message),
    };
    let get = |name: &str| params.get(name).cloned();
    let params = AuthorizeParams {
        response_type: get("response_type"),
        client_id: get("client_id"),
        redirect_uri: get("redirect_uri"),
        scope: get("scope"),
        state: get("state"),
        code_challenge: get("code_challenge"),
        code_challenge_method: get("code_challenge_method"),
    };
    let Some(client_id) = params.client_id.clone() else {
        return shown(
            &req,
            StatusCode::BAD_REQUEST,
            "invalid_client",
            "the client_id parameter is missing; the app that sent you here is misconfigured",
        );
    };
    let client = match state.run(move |conn| store::client(conn, &client_id)).await {
        Ok(Some(client)) => client,
        Ok(None) => {
            return shown(
                &req,
                StatusCode::BAD_REQUEST,
                "invalid_client",
                "no app is registered with this client_id",
            );
        }
        Err(e) => return actix_web::ResponseError::error_response(&e),
    };
    let request = match check_authorize(&client, &params) {
        Ok(request) => request,
        Err(AuthorizeError::Show { code, message }) => {
            return shown(&req, StatusCode::BAD_REQUEST, code, &message);
        }
        Err(AuthorizeError::Redirect { error, description }) => {
            let Ok((uri, _)) = redirect_uri_for(&client, params.redirect_uri.as_deref()) else {
                return shown(&req, StatusCode::BAD_REQUEST, error, &description);
            };
            return redirect_error(&state, &uri, error, &description, params.state.as_deref());
        }
    };
    let (app, stored_client) = (client.name.clone(), client.clone());
    let started = state
        .run(move |conn| store::start_authorization(conn, &stored_client, &request))
        .await;
    match started {
        Ok(secrets) => {
            let mut response = html(
                StatusCode::OK,
                pages::sign_in(&app, &secrets.csrf_token, "", None),
            );
            let cookie = format!(
                "{FORM_COOKIE}={}; Path=/oauth; HttpOnly; SameSite=Lax; Max-Age={}",
                secrets.cookie,
                domain::oauth::SIGN_IN_FORM_SECONDS
            );
            if let Ok(value) = header::HeaderValue::from_str(&cookie) {
                response.headers_mut().append(header::SET_COOKIE, value);
            }
            response
        }
        Err(e) => actix_web::ResponseError::error_response(&e),
    }
}

fn redirect_error(
    state: &AppState,
    redirect_uri: &str,
    error: &str,
    description: &str,
    client_state: Option<&str>,
) -> HttpResponse {
    let mut pairs = vec![("error", error), ("error_description", description)];
    if let Some(s) = client_state {
        pairs.push(("state", s));
    }
    pairs.push(("iss", state.oauth.keys.issuer()));
    see_other(&with_query(redirect_uri, &pairs))
}

/// `POST /oauth/authorize`: the sign-in, second-factor and consent forms.
pub async fn authorize_form(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    if let Err(seconds) = state.oauth.sign_in_limiter.check(&client_ip(&req)) {
        return too_many(&req, seconds, "Too many sign-in attempts from this address");
    }
    let form = match parameters(&body) {
        Ok(form) => form,
        Err(message) => return shown(&req, StatusCode::BAD_REQUEST, "invalid_request", &message),
    };
    let field = |name: &str| form.get(name).cloned().unwrap_or_default();
    let csrf = field("csrf_token");
    let cookie = form_cookie(&req).unwrap_or_default();
    let pending = if csrf.is_empty() || cookie.is_empty() {
        Ok(None)
    } else {
        let csrf = csrf.clone();
        state
            .run(move |conn| store::pending_authorization(conn, &csrf, &cookie))
            .await
    };
    let pending = match pending {
        Ok(Some(pending)) => pending,
        Ok(None) => {
            return shown(
                &req,
                StatusCode::FORBIDDEN,
                "csrf_failed",
                "this form has expired, was used already, or was not sent from the page this browser was shown; go back to the app and start again",
            );
        }
        Err(e) => return actix_web::ResponseError::error_response(&e),
    };
    let result = match (field("step").as_str(), pending.step) {
        ("sign_in", Step::SignIn) => {
            sign_in_step(
                &state,
                &req,
                pending,
                &csrf,
                &field("email"),
                &field("password"),
            )
            .await
        }
        ("totp", Step::Totp) => totp_step(&state, &req, pending, &csrf, &field("code")).await,
        ("consent", Step::Consent) => consent_step(&state, pending, &field("decision")).await,
        _ => Ok(shown(
            &req,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the form was sent out of order; go back to the app and start again",
        )),
    };
    result.unwrap_or_else(|e| actix_web::ResponseError::error_response(&e))
}

async fn sign_in_step(
    state: &AppState,
    req: &HttpRequest,
    pending: PendingAuthorization,
    csrf: &str,
    email: &str,
    password: &str,
) -> Result<HttpResponse, ApiError> {
    let policy = state.settings.sign_in_policy;
    let account = pending.client.account_id;
    let (email_owned, password) = (email.to_owned(), password.to_owned());
    let outcome = state
        .run(move |conn| store::sign_in(conn, account, &email_owned, &password, &policy))
        .await?;
    match outcome {
        SignIn::Accepted { user, needs_totp } => {
            let step = if needs_totp {
                Step::Totp
            } else {
                Step::Consent
            };
            let (id, user_id) = (pending.id, user.id);
            state
                .run(move |conn| store::advance(conn, id, step, user_id))
                .await?;
            Ok(if needs_totp {
                html(
                    StatusCode::OK,
                    pages::totp(&pending.client.name, csrf, None),
                )
            } else {
                consent_page(&pending.client, &user.name, &pending, csrf)
            })
        }
        SignIn::Refused { failures } => {
            let delay = policy.delay_millis(failures);
            if delay > 0 {
                actix_web::rt::time::sleep(std::time::Duration::from_millis(delay)).await;
            }
            let message = "The email or password is wrong.";
            Ok(if wants_html(req) {
                html(
                    StatusCode::UNAUTHORIZED,
                    pages::sign_in(&pending.client.name, csrf, email, Some(message)),
                )
            } else {
                shown(
                    req,
                    StatusCode::UNAUTHORIZED,
                    "sign_in_failed",
                    "the email or password is wrong",
                )
            })
        }
        SignIn::Locked { until } => {
            let seconds = u64::try_from((until - Utc::now()).num_seconds().max(1)).unwrap_or(1);
            Ok(too_many(
                req,
                seconds,
                "Too many failed sign-ins; this user is locked for a while",
            ))
        }
    }
}

async fn totp_step(
    state: &AppState,
    req: &HttpRequest,
    pending: PendingAuthorization,
    csrf: &str,
    code: &str,
) -> Result<HttpResponse, ApiError> {
    let user_id = pending
        .user_id
        .ok_or_else(|| ApiError::Internal("a second-factor step without a user".into()))?;
    let (id, account, code) = (pending.id, pending.client.account_id, code.to_owned());
    let vault = state.vault();
    let user = state
        .run(move |conn| {
            if persistence::totp::verify(conn, &vault, user_id, &code)? {
                store::advance(conn, id, Step::Consent, user_id)?;
                persistence::users::get(conn, account, user_id).map(Some)
            } else {
                Ok(None)
            }
        })
        .await?;
    Ok(match user {
        Some(user) => consent_page(&pending.client, &user.name, &pending, csrf),
        None if wants_html(req) => html(
            StatusCode::UNAUTHORIZED,
            pages::totp(
                &pending.client.name,
                csrf,
                Some("That code is not right; enter the current one."),
            ),
        ),
        None => shown(
            req,
            StatusCode::UNAUTHORIZED,
            "wrong_code",
            "the authenticator code is not right",
        ),
    })
}

fn consent_page(
    client: &OAuthClient,
    user_name: &str,
    pending: &PendingAuthorization,
    csrf: &str,
) -> HttpResponse {
    html(
        StatusCode::OK,
        pages::consent(&client.name, user_name, &pending.request.scopes, csrf),
    )
}

async fn consent_step(
    state: &AppState,
    pending: PendingAuthorization,
    decision: &str,
) -> Result<HttpResponse, ApiError> {
    let allow = decision == "allow";
    let redirect_uri = pending.request.redirect_uri.clone();
    let client_state = pending.request.state.clone();
    let code = state
        .run(move |conn| store::finish(conn, &pending, allow))
        .await?;
    let issuer = state.oauth.keys.issuer();
    Ok(match code {
        Some(code) => {
            let mut pairs = vec![("code", code.as_str())];
            if let Some(s) = client_state.as_deref() {
                pairs.push(("state", s));
            }
            pairs.push(("iss", issuer));
            see_other(&with_query(&redirect_uri, &pairs))
        }
        None => redirect_error(
            state,
            &redirect_uri,
            "access_denied",
            "the user did not allow access",
            client_state.as_deref(),
        ),
    })
}

// ---------------------------------------------------------------------------------------------
// Client-authenticated endpoints

fn oauth_error(error: &'static str, description: impl Into<String>) -> ApiError {
    ApiError::OAuth(OAuthError::new(error, description))
}

/// The form of a token, revocation or introspection request.
fn form_of(req: &HttpRequest, body: &[u8]) -> Result<HashMap<String, String>, ApiError> {
    let form_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| {
            t.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    if !form_type {
        return Err(oauth_error(
            "invalid_request",
            "send the parameters as application/x-www-form-urlencoded",
        ));
    }
    parameters(body).map_err(|m| oauth_error("invalid_request", m))
}

/// The client's credentials: HTTP Basic (`client_secret_basic`, the id and secret
/// form-urlencoded first, RFC 6749 2.3.1) or the body (`client_secret_post`, or `client_id`
/// alone for a public client). Using both is refused.
fn client_credentials_of(
    req: &HttpRequest,
    form: &HashMap<String, String>,
) -> Result<(String, Option<String>), ApiError> {
    let basic = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
        .map(|(_, encoded)| {
            let decoded = STANDARD
                .decode(encoded.trim())
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(OAuthError::invalid_client)?;
            let (id, secret) = decoded
                .split_once(':')
                .ok_or_else(OAuthError::invalid_client)?;
            let unescape = |part: &str| -> String {
                form_urlencoded::parse(format!("v={part}").as_bytes())
                    .next()
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default()
            };
            Ok::<_, OAuthError>((unescape(id), unescape(secret)))
        })
        .transpose()
        .map_err(ApiError::OAuth)?;
    let body_id = form.get("client_id").cloned();
    let body_secret = form.get("client_secret").cloned();
    match basic {
        Some((id, secret)) => {
            if body_secret.is_some() {
                return Err(oauth_error(
                    "invalid_request",
                    "authenticate the client one way: HTTP Basic or client_secret in the body, not both",
                ));
            }
            if body_id.as_ref().is_some_and(|b| *b != id) {
                return Err(oauth_error(
                    "invalid_request",
                    "client_id in the body differs from the one in HTTP Basic",
                ));
            }
            Ok((id, Some(secret)))
        }
        None => {
            let id = body_id.filter(|i| !i.is_empty()).ok_or_else(|| {
                ApiError::OAuth(OAuthError::new(
                    "invalid_client",
                    "authenticate the client with HTTP Basic, or send client_id (and client_secret) in the body",
                ))
            })?;
            Ok((id, body_secret))
        }
    }
}

async fn authenticated_client(
    state: &AppState,
    req: &HttpRequest,
    form: &HashMap<String, String>,
) -> Result<OAuthClient, ApiError> {
    let (client_id, secret) = client_credentials_of(req, form)?;
    state
        .run(move |conn| store::authenticate_client(conn, &client_id, secret.as_deref()))
        .await?
        .map_err(ApiError::OAuth)
}

fn no_store(mut response: HttpResponse) -> HttpResponse {
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
        .headers_mut()
        .insert(header::PRAGMA, header::HeaderValue::from_static("no-cache"));
    response
}

/// A token request's grant, with its parameters.
enum Grant {
    Code {
        code: String,
        redirect_uri: Option<String>,
        verifier: Option<String>,
    },
    Refresh {
        token: String,
        scope: Option<String>,
    },
    ClientCredentials {
        scope: Option<String>,
    },
}

/// `POST /oauth/token`
pub async fn token(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let form = form_of(&req, &body)?;
    // Per client and address: someone who knows a client_id (it is public) cannot use up
    // the bucket of the client's own servers.
    let ip = client_ip(&req);
    let limiter_key = client_credentials_of(&req, &form)
        .map(|(id, _)| format!("client:{id}@{ip}"))
        .unwrap_or_else(|_| format!("ip:{ip}"));
    if let Err(seconds) = state.oauth.token_limiter.check(&limiter_key) {
        return Err(ApiError::TooManyRequests {
            retry_after_seconds: seconds,
            why: "too many token requests for this client",
        });
    }
    let client = authenticated_client(&state, &req, &form).await?;
    let get = |name: &str| form.get(name).cloned();
    let grant_type = get("grant_type").unwrap_or_default();
    let (code, redirect_uri, verifier, refresh_token, scope) = (
        get("code"),
        get("redirect_uri"),
        get("code_verifier"),
        get("refresh_token"),
        get("scope"),
    );
    let missing = |name: &str| {
        oauth_error(
            "invalid_request",
            format!("the {name} parameter is missing"),
        )
    };
    let grant = match grant_type.as_str() {
        "authorization_code" => Grant::Code {
            code: code.ok_or_else(|| missing("code"))?,
            redirect_uri,
            verifier,
        },
        "refresh_token" => Grant::Refresh {
            token: refresh_token.ok_or_else(|| missing("refresh_token"))?,
            scope,
        },
        "client_credentials" => Grant::ClientCredentials { scope },
        "" => return Err(missing("grant_type")),
        other => {
            return Err(oauth_error(
                "unsupported_grant_type",
                format!(
                    "the grant type `{other}` is not offered; use authorization_code (with PKCE), refresh_token or client_credentials"
                ),
            ));
        }
    };
    let vault = state.vault();
    let (live, outcome) = state
        .run(move |conn| {
            let live = signing_keys::ensure(conn, &vault)?;
            let outcome = match grant {
                Grant::Code {
                    code,
                    redirect_uri,
                    verifier,
                } => store::exchange_code(
                    conn,
                    &client,
                    &code,
                    redirect_uri.as_deref(),
                    verifier.as_deref(),
                )?,
                Grant::Refresh { token, scope } => {
                    store::refresh(conn, &client, &token, scope.as_deref())?
                }
                Grant::ClientCredentials { scope } => {
                    store::client_credentials(conn, &client, scope.as_deref())?
                }
            };
            Ok((live, outcome))
        })
        .await?;
    if outcome.is_err() {
        // A refused code or refresh token may have been a replay, which revokes its grant
        // and every token the grant gave: look callers up again.
        state.callers.clear();
    }
    let issued = outcome.map_err(ApiError::OAuth)?;
    let keys = &state.oauth.keys;
    keys.remember(&live);
    let signer = live
        .first()
        .ok_or_else(|| ApiError::Internal("no signing key".into()))?;
    let access_token = keys
        .sign(signer, &issued)
        .map_err(|e| ApiError::Internal(e.0))?;
    let mut answer = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": (issued.expires_at - issued.issued_at).num_seconds(),
        "scope": issued.scopes.to_stored(),
    });
    if let Some(refresh) = issued.refresh_token {
        answer["refresh_token"] = json!(refresh);
    }
    Ok(no_store(HttpResponse::Ok().json(answer)))
}

/// Reads a JWT this server signed (expired or not), reloading the keys when its `kid` is new.
async fn signed_claims(state: &AppState, token: &str) -> Result<Option<AccessClaims>, ApiError> {
    if state.keys_for(token).await?.is_none() {
        return Ok(None);
    }
    Ok(state.oauth.keys.verify_ignoring_expiry(token).ok())
}

/// `POST /oauth/revoke` (RFC 7009): 200 whether or not the token was known.
pub async fn revoke(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let form = form_of(&req, &body)?;
    let client = authenticated_client(&state, &req, &form).await?;
    let token = form
        .get("token")
        .cloned()
        .ok_or_else(|| oauth_error("invalid_request", "the token parameter is missing"))?;
    if token.starts_with(REFRESH_TOKEN_PREFIX) {
        state
            .run(move |conn| store::revoke_refresh_token(conn, &client, &token))
            .await?;
    } else if let Some(claims) = signed_claims(&state, &token).await?
        && claims.client_id == client.client_id
    {
        state
            .run(move |conn| store::revoke_access_token(conn, &client, &claims.jti))
            .await?;
    }
    // The change may end or narrow tokens: look callers up again.
    state.callers.clear();
    Ok(no_store(HttpResponse::Ok().finish()))
}

/// `POST /oauth/introspect` (RFC 7662): what a live token of this client is; anything else
/// is `{"active": false}` and nothing more.
pub async fn introspect(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let form = form_of(&req, &body)?;
    let client = authenticated_client(&state, &req, &form).await?;
    let token = form
        .get("token")
        .cloned()
        .ok_or_else(|| oauth_error("invalid_request", "the token parameter is missing"))?;
    let inactive = || no_store(HttpResponse::Ok().json(json!({"active": false})));
    let keys = &state.oauth.keys;
    if token.starts_with(REFRESH_TOKEN_PREFIX) {
        let found_client = client.clone();
        let info = state
            .run(move |conn| store::refresh_token_info(conn, &found_client, &token))
            .await?;
        return Ok(match info {
            Some(info) => no_store(HttpResponse::Ok().json(json!({
                "active": true,
                "token_type": "refresh_token",
                "scope": info.scopes.to_stored(),
                "client_id": client.client_id,
                "sub": info.subject,
                "account_id": info.account_id,
                "iss": keys.issuer(),
                "iat": info.issued_at.timestamp(),
                "exp": info.expires_at.timestamp(),
            }))),
            None => inactive(),
        });
    }
    let Some(claims) = signed_claims(&state, &token).await? else {
        return Ok(inactive());
    };
    if claims.client_id != client.client_id || keys.verify(&token).is_err() {
        return Ok(inactive());
    }
    let (jti, client_id, scopes) = (
        claims.jti.clone(),
        claims.client_id.clone(),
        claims.scopes(),
    );
    let kid = KeyRing::kid_of(&token).unwrap_or_default();
    let live = state
        .run(move |conn| store::authenticate_access(conn, &kid, &jti, &client_id, &scopes))
        .await?;
    Ok(match live {
        Some(principal) => no_store(HttpResponse::Ok().json(json!({
            "active": true,
            "token_type": "Bearer",
            "scope": principal.scopes.to_stored(),
            "client_id": claims.client_id,
            "sub": claims.sub,
            "aud": claims.aud,
            "iss": claims.iss,
            "iat": claims.iat,
            "exp": claims.exp,
            "jti": claims.jti,
            "account_id": claims.account_id,
            "username": principal.user().map(|u| u.email.clone()),
        }))),
        None => inactive(),
    })
}

// ---------------------------------------------------------------------------------------------
// Discovery

/// `GET /.well-known/oauth-authorization-server` (RFC 8414)
pub async fn metadata(state: web::Data<AppState>) -> HttpResponse {
    let issuer = state.oauth.keys.issuer();
    let scopes: Vec<String> = Scope::all().iter().map(ToString::to_string).collect();
    HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
        .json(json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/oauth/authorize"),
            "token_endpoint": format!("{issuer}/oauth/token"),
            "revocation_endpoint": format!("{issuer}/oauth/revoke"),
            "introspection_endpoint": format!("{issuer}/oauth/introspect"),
            "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
            "scopes_supported": scopes,
            "response_types_supported": ["code"],
            "response_modes_supported": ["query"],
            "grant_types_supported": ["authorization_code", "client_credentials", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
            "authorization_response_iss_parameter_supported": true,
            "service_documentation": format!("{issuer}/docs/"),
        }))
}

/// `GET /.well-known/jwks.json`: the live public keys.
pub async fn jwks(state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let vault = state.vault();
    let live = state
        .run(move |conn| signing_keys::ensure(conn, &vault))
        .await?;
    state.oauth.keys.remember(&live);
    let keys: Vec<_> = live
        .iter()
        .map(|k| {
            json!({
                "kty": "OKP",
                "crv": "Ed25519",
                "x": k.public_x,
                "kid": k.kid,
                "alg": k.algorithm,
                "use": "sig",
            })
        })
        .collect();
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "public, max-age=60"))
        .json(json!({ "keys": keys })))
}
