//! The OAuth 2 authorization server end to end: the code flow with PKCE through the sign-in and
//! consent pages, the authorize and token endpoints' errors, refresh rotation, code reuse,
//! expiry, revocation (RFC 7009), introspection (RFC 7662), metadata (RFC 8414), the JWKS, JWT
//! access tokens (RFC 9068) and forgeries of them, key rotation, deactivated users, deleted
//! apps, secrets at rest, and the abuse limits.

use std::time::Duration;

use crate::common::oauth::*;
use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// A second redirect URI, registered beside [`REDIRECT`] where a test needs two.
const OTHER_REDIRECT: &str = "https://app.acme.test/oauth/other-callback";

async fn anonymous_get(app: &TestApp, path: &str) -> Answer {
    app.request(Method::GET, path, None, None, &[]).await
}

/// The body of `GET /.well-known/oauth-authorization-server`.
async fn metadata(app: &TestApp) -> Value {
    let answer = anonymous_get(app, "/.well-known/oauth-authorization-server").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body
}

/// The body of `GET /.well-known/jwks.json`.
async fn jwks(app: &TestApp) -> Value {
    let answer = anonymous_get(app, "/.well-known/jwks.json").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body
}

fn kids(jwks: &Value) -> Vec<String> {
    jwks["keys"]
        .as_array()
        .map(|keys| {
            keys.iter()
                .filter_map(|k| k["kid"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// GETs the authorize endpoint as an API client would (no HTML).
async fn authorize_json(app: &TestApp, request: &AuthorizeRequest) -> Answer {
    app.request(
        Method::GET,
        &request.path(),
        None,
        None,
        &[("accept", "application/json")],
    )
    .await
}

/// Asserts that the authorize endpoint answers `request` with 400 `code` and no redirect,
/// as problem+json to an API client and as an HTML page to a browser.
async fn assert_shown_not_redirected(app: &TestApp, request: &AuthorizeRequest, code: &str) {
    let answer = authorize_json(app, request).await;
    answer.assert_problem(400, code);
    assert_eq!(answer.header("location"), None, "never a redirect");
    let page = Browser::new(app).open(request).await;
    assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.html);
    assert!(
        page.header("content-type")
            .is_some_and(|c| c.starts_with("text/html")),
        "a browser gets a page: {:?}",
        page.headers
    );
    assert_eq!(page.header("location"), None, "never a redirect");
}

/// Asserts that the authorize endpoint sends `request` back to the app with `error`.
async fn assert_redirected_with(app: &TestApp, request: &AuthorizeRequest, error: &str) {
    let page = Browser::new(app).open(request).await;
    page.redirect().assert_error(app, error);
}

/// Re-signs the claims of a real token with the server's own key after `change`, and asserts
/// that `/v1` refuses the result while it accepts the unchanged re-signed token: only the
/// change can be why.
async fn assert_refused_when(
    app: &TestApp,
    access: &str,
    change: impl FnOnce(&mut Value, &mut Value),
) {
    let (kid, key) = server_key(app);
    let real = jwt(access);
    assert_eq!(real.header["kid"], kid.as_str(), "{}", real.header);
    let control = sign_with(&key, &real.header, &real.claims);
    let accepted = me(app, &control).await;
    assert_eq!(
        accepted.status,
        StatusCode::OK,
        "the unchanged token re-signed with the server's key passes: {}",
        accepted.body
    );
    let (mut header, mut claims) = (real.header.clone(), real.claims.clone());
    change(&mut header, &mut claims);
    assert_refused(app, &sign_with(&key, &header, &claims)).await;
}

// --- The oauth2 crate as a real client ------------------------------------------------------

#[tokio::test]
async fn the_oauth2_crate_runs_the_code_flow_with_pkce_then_refreshes_and_revokes() {
    use oauth2::basic::{BasicClient, BasicErrorResponseType, BasicTokenType};
    use oauth2::{
        AsyncHttpClient, AuthUrl, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
        PkceCodeChallenge, RedirectUrl, RequestTokenError, RevocationUrl, Scope,
        StandardRevocableToken, TokenResponse, TokenUrl,
    };

    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let registered = web_app(&app).await;
    // oauth2 insists on an https revocation URL (RFC 7009 2); `behind_tls` below stands for the
    // TLS-terminating proxy in front of the service and forwards it over plain HTTP.
    let https_base = app.base.replacen("http://", "https://", 1);
    let client = BasicClient::new(ClientId::new(registered.client_id.clone()))
        .set_client_secret(ClientSecret::new(registered.secret().to_owned()))
        .set_auth_uri(
            AuthUrl::new(format!("{}/oauth/authorize", app.base)).unwrap_or_else(|e| panic!("{e}")),
        )
        .set_token_uri(
            TokenUrl::new(format!("{}/oauth/token", app.base)).unwrap_or_else(|e| panic!("{e}")),
        )
        .set_redirect_uri(RedirectUrl::new(REDIRECT.to_owned()).unwrap_or_else(|e| panic!("{e}")))
        .set_revocation_url(
            RevocationUrl::new(format!("{https_base}/oauth/revoke"))
                .unwrap_or_else(|e| panic!("{e}")),
        );
    let http = oauth2::reqwest::Client::builder()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));

    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, state) = client
        .authorize_url(CsrfToken::new_random)
        .add_scope(Scope::new("companies:read".to_owned()))
        .add_scope(Scope::new("contacts:read".to_owned()))
        .set_pkce_challenge(challenge)
        .url();

    // The user's browser: the sign-in form, then the consent form, then the redirect.
    let mut browser = Browser::new(&app);
    let page = browser.get(url.as_str()).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let page = browser.sign_in(email, PASSWORD).await;
    assert_eq!(page.step().as_deref(), Some("consent"), "{}", page.html);
    let redirect = browser.decide("allow").await.redirect();
    assert_eq!(redirect.target, REDIRECT);
    assert_eq!(redirect.param("state"), Some(state.secret().as_str()));
    assert_eq!(redirect.param("iss"), Some(app.base.as_str()));
    let code = redirect
        .param("code")
        .unwrap_or_else(|| panic!("no code in {}", redirect.location))
        .to_owned();

    let tokens = client
        .exchange_code(AuthorizationCode::new(code))
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("the code exchange failed: {e:?}"));
    assert_eq!(*tokens.token_type(), BasicTokenType::Bearer);
    assert_eq!(tokens.expires_in(), Some(Duration::from_secs(3600)));
    let mut granted: Vec<String> = tokens
        .scopes()
        .map(|s| s.iter().map(|s| s.as_str().to_owned()).collect())
        .unwrap_or_default();
    granted.sort();
    assert_eq!(granted, vec!["companies:read", "contacts:read"]);

    let who = me(&app, tokens.access_token().secret()).await;
    assert_eq!(who.status, StatusCode::OK, "{}", who.body);
    assert_eq!(who.body["user"]["email"], email);
    assert_eq!(
        app.get_as(tokens.access_token().secret(), "/v1/companies")
            .await
            .status,
        StatusCode::OK
    );

    let first_refresh = tokens
        .refresh_token()
        .unwrap_or_else(|| panic!("no refresh token"));
    let refreshed = client
        .exchange_refresh_token(first_refresh)
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("the refresh failed: {e:?}"));
    let rotated = refreshed
        .refresh_token()
        .unwrap_or_else(|| panic!("a refresh answers a new refresh token"))
        .clone();
    assert_ne!(rotated.secret(), first_refresh.secret());
    assert_eq!(
        me(&app, refreshed.access_token().secret()).await.status,
        StatusCode::OK
    );

    let behind_tls = |mut request: oauth2::HttpRequest| {
        let http = http.clone();
        async move {
            let plain = request.uri().to_string().replacen("https://", "http://", 1);
            let uri: oauth2::http::Uri = match plain.parse() {
                Ok(uri) => uri,
                Err(e) => return Err(oauth2::HttpClientError::Other(format!("{e}"))),
            };
            *request.uri_mut() = uri;
            http.call(request).await
        }
    };
    client
        .revoke_token(StandardRevocableToken::RefreshToken(rotated.clone()))
        .unwrap_or_else(|e| panic!("{e:?}"))
        .request_async(&behind_tls)
        .await
        .unwrap_or_else(|e| panic!("the revocation failed: {e:?}"));

    assert_refused(&app, refreshed.access_token().secret()).await;
    match client
        .exchange_refresh_token(&rotated)
        .request_async(&http)
        .await
    {
        Err(RequestTokenError::ServerResponse(e)) => {
            assert_eq!(*e.error(), BasicErrorResponseType::InvalidGrant, "{e:?}")
        }
        other => panic!("a revoked refresh token must be refused: {other:?}"),
    }
}

// --- The sign-in and consent pages ----------------------------------------------------------

#[tokio::test]
async fn the_authorize_page_is_a_sign_in_form_tied_to_a_lax_http_only_cookie() {
    let app = spawn_app().await;
    let client = web_app(&app).await;
    let page = Browser::new(&app)
        .open(&AuthorizeRequest::new(&client, &pkce()))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert!(
        page.header("content-type")
            .is_some_and(|c| c.starts_with("text/html")),
        "{:?}",
        page.headers
    );
    let cookie = page
        .set_cookie(COOKIE)
        .unwrap_or_else(|| panic!("no {COOKIE} cookie: {:?}", page.headers));
    let attributes: Vec<String> = cookie
        .split(';')
        .skip(1)
        .map(|a| a.trim().to_ascii_lowercase())
        .collect();
    for wanted in ["path=/oauth", "httponly", "samesite=lax"] {
        assert!(
            attributes.iter().any(|a| a == wanted),
            "{wanted} in {cookie}"
        );
    }
    assert!(page.has_authorize_form(), "{}", page.html);
    assert!(page.csrf().is_some_and(|c| !c.is_empty()), "{}", page.html);
    assert_eq!(page.step().as_deref(), Some("sign_in"));
    assert!(page.has_control("email") && page.has_control("password"));
}

#[tokio::test]
async fn signing_in_shows_the_consent_page_naming_the_app_and_the_scopes_asked_for() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = web_app(&app).await;
    let mut browser = Browser::new(&app);
    browser
        .open(&AuthorizeRequest::new(&client, &pkce()).set("scope", "companies:read"))
        .await;
    let page = browser.sign_in(email, PASSWORD).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(page.step().as_deref(), Some("consent"), "{}", page.html);
    assert!(page.has_authorize_form(), "{}", page.html);
    assert!(page.html.contains("Acme reporting"), "{}", page.html);
    assert!(page.html.contains("companies"), "{}", page.html);
    assert!(
        !page.html.contains("contacts"),
        "only the scopes asked for: {}",
        page.html
    );
    let mut decisions = page.control_values("decision");
    decisions.sort();
    assert_eq!(decisions, vec!["allow", "deny"], "{}", page.html);
}

#[tokio::test]
async fn the_consent_page_escapes_the_app_name() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = web_app_with(
        &app,
        "<script>alert(1)</script> & Co",
        &WEB_SCOPES,
        &["authorization_code"],
    )
    .await;
    let mut browser = Browser::new(&app);
    browser.open(&AuthorizeRequest::new(&client, &pkce())).await;
    let page = browser.sign_in(email, PASSWORD).await;
    assert_eq!(page.step().as_deref(), Some("consent"), "{}", page.html);
    assert!(!page.html.contains("<script>alert(1)"), "{}", page.html);
    assert!(page.html.contains("&lt;script&gt;"), "{}", page.html);
}

#[tokio::test]
async fn allowing_sends_the_browser_back_with_a_code_the_state_and_the_issuer() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = web_app(&app).await;
    let authorized = authorize(&app, &client, email, None).await;
    let redirect = authorized.redirect;
    assert_eq!(redirect.target, REDIRECT);
    assert!(
        authorized.code.starts_with("clt_ac_"),
        "{}",
        authorized.code
    );
    assert_eq!(redirect.param("state"), Some(STATE));
    assert_eq!(redirect.param("iss"), Some(app.base.as_str()));
    assert_eq!(redirect.param("error"), None);
}

#[tokio::test]
async fn denying_sends_the_browser_back_with_access_denied_and_no_code() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = web_app(&app).await;
    let mut browser = Browser::new(&app);
    browser.open(&AuthorizeRequest::new(&client, &pkce())).await;
    browser.sign_in(email, PASSWORD).await;
    browser
        .decide("deny")
        .await
        .redirect()
        .assert_error(&app, "access_denied");
}

#[tokio::test]
async fn a_consent_form_is_used_up_once_answered() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = web_app(&app).await;
    let mut browser = Browser::new(&app);
    browser.open(&AuthorizeRequest::new(&client, &pkce())).await;
    browser.sign_in(email, PASSWORD).await;
    browser.decide("allow").await.redirect();
    let again = browser.decide("allow").await;
    assert_eq!(again.status, StatusCode::FORBIDDEN, "{}", again.html);
    assert_eq!(again.header("location"), None);
}

#[tokio::test]
async fn a_form_posted_without_its_cookie_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = web_app(&app).await;
    let mut browser = Browser::new(&app);
    browser.open(&AuthorizeRequest::new(&client, &pkce())).await;
    let fields = [
        ("step", "sign_in"),
        ("email", email),
        ("password", PASSWORD),
    ];
    let page = browser.post_raw(None, "text/html", &fields, true).await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.html);
    assert!(
        page.header("content-type")
            .is_some_and(|c| c.starts_with("text/html"))
            || page.json()["code"] == "csrf_failed",
        "a browser gets a page (or the csrf_failed problem): {:?} {}",
        page.headers,
        page.html
    );
    let problem = browser
        .post_raw(None, "application/json", &fields, true)
        .await;
    assert_eq!(problem.status, StatusCode::FORBIDDEN, "{}", problem.html);
    assert_eq!(problem.json()["code"], "csrf_failed", "{}", problem.html);
    let page = browser.sign_in(email, PASSWORD).await;
    assert_eq!(
        page.step().as_deref(),
        Some("consent"),
        "the form still works with its cookie: {}",
        page.html
    );
}

#[tokio::test]
async fn a_form_posted_with_another_browsers_cookie_is_refused() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = web_app(&app).await;
    let mut victim = Browser::new(&app);
    victim.open(&AuthorizeRequest::new(&client, &pkce())).await;
    let mut attacker = Browser::new(&app);
    attacker
        .open(&AuthorizeRequest::new(&client, &pkce()))
        .await;
    let page = victim
        .post_raw(
            attacker.cookie.as_deref(),
            "application/json",
            &[
                ("step", "sign_in"),
                ("email", email),
                ("password", PASSWORD),
            ],
            true,
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.html);
    assert_eq!(page.json()["code"], "csrf_failed", "{}", page.html);
}

#[tokio::test]
async fn an_unknown_csrf_token_is_refused() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = web_app(&app).await;
    let mut browser = Browser::new(&app);
    browser.open(&AuthorizeRequest::new(&client, &pkce())).await;
    let page = browser
        .post_raw(
            browser.cookie.as_deref(),
            "application/json",
            &[
                ("csrf_token", "forged-csrf-token"),
                ("step", "sign_in"),
                ("email", email),
                ("password", PASSWORD),
            ],
            false,
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.html);
    assert_eq!(page.json()["code"], "csrf_failed", "{}", page.html);
}

#[tokio::test]
async fn a_wrong_password_shows_the_form_again_with_401_and_that_form_still_works() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = web_app(&app).await;
    let mut browser = Browser::new(&app);
    let first = browser.open(&AuthorizeRequest::new(&client, &pkce())).await;
    let wrong = browser.sign_in(email, "not the password at all").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{}", wrong.html);
    assert!(wrong.has_authorize_form(), "{}", wrong.html);
    assert_eq!(wrong.step().as_deref(), Some("sign_in"));
    assert_eq!(wrong.csrf(), first.csrf(), "the same form");
    let page = browser.sign_in(email, PASSWORD).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(page.step().as_deref(), Some("consent"), "{}", page.html);
}

#[tokio::test]
async fn a_failed_sign_in_is_a_sign_in_failed_problem_for_an_api_client() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = web_app(&app).await;
    let mut browser = Browser::new(&app);
    browser.open(&AuthorizeRequest::new(&client, &pkce())).await;
    for (who, password) in [
        (email, "not the password at all"),
        ("nobody@acme.test", PASSWORD),
    ] {
        let page = browser
            .post_raw(
                browser.cookie.as_deref(),
                "application/json",
                &[("step", "sign_in"), ("email", who), ("password", password)],
                true,
            )
            .await;
        assert_eq!(
            page.status,
            StatusCode::UNAUTHORIZED,
            "{who}: {}",
            page.html
        );
        assert_eq!(page.json()["code"], "sign_in_failed", "{}", page.html);
    }
}

#[tokio::test]
async fn a_user_of_another_account_cannot_sign_in_to_this_accounts_app() {
    let app = spawn_app().await;
    let client = web_app(&app).await;
    let globex = app.other_account("Globex");
    let set = app
        .request(
            Method::PUT,
            "/v1/me/password",
            Some(&globex),
            Some(&json!({ "new_password": PASSWORD })),
            &[],
        )
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{}", set.body);
    let mut browser = Browser::new(&app);
    browser.open(&AuthorizeRequest::new(&client, &pkce())).await;
    let page = browser.sign_in("admin@globex.test", PASSWORD).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.html);
    assert_ne!(page.step().as_deref(), Some("consent"));
}

#[tokio::test]
async fn a_deactivated_user_cannot_sign_in() {
    let app = spawn_app().await;
    let client = web_app(&app).await;
    let id = user_with_password(&app, "gone@acme.test", "member").await;
    assert_eq!(
        app.delete(&format!("/v1/users/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    let mut browser = Browser::new(&app);
    browser.open(&AuthorizeRequest::new(&client, &pkce())).await;
    let page = browser.sign_in("gone@acme.test", PASSWORD).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.html);
}

#[tokio::test]
async fn five_failed_sign_ins_lock_the_user_for_five_minutes_even_with_the_right_password() {
    let app = spawn_app_with(api::Settings {
        sign_in_rate: api::RateLimit {
            per_second: 100.0,
            burst: 100,
        },
        ..Default::default()
    })
    .await;
    let email = admin_with_password(&app).await;
    let client = web_app(&app).await;
    let mut browser = Browser::new(&app);
    browser.open(&AuthorizeRequest::new(&client, &pkce())).await;
    for attempt in 1..=4 {
        let page = browser.sign_in(email, "not the password at all").await;
        assert_eq!(
            page.status,
            StatusCode::UNAUTHORIZED,
            "attempt {attempt}: {}",
            page.html
        );
    }
    // The fifth failure locks the user; its own answer may already say so.
    let fifth = browser.sign_in(email, "not the password at all").await;
    assert!(
        matches!(fifth.status.as_u16(), 401 | 429),
        "{}: {}",
        fifth.status,
        fifth.html
    );
    let locked = browser.sign_in(email, PASSWORD).await;
    assert_eq!(
        locked.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        locked.html
    );
    let retry_after: u64 = locked
        .header("retry-after")
        .and_then(|r| r.parse().ok())
        .unwrap_or_else(|| panic!("a lock says when to retry: {:?}", locked.headers));
    assert!((1..=300).contains(&retry_after), "{retry_after}");
    assert_ne!(locked.step().as_deref(), Some("consent"));
}

#[tokio::test]
async fn the_sign_in_form_is_rate_limited_per_ip() {
    let app = spawn_app_with(api::Settings {
        sign_in_rate: api::RateLimit {
            per_second: 0.001,
            burst: 3,
        },
        ..Default::default()
    })
    .await;
    let client = web_app(&app).await;
    let mut browser = Browser::new(&app);
    browser.open(&AuthorizeRequest::new(&client, &pkce())).await;
    let mut statuses = Vec::new();
    for attempt in 0..4 {
        let page = browser
            .sign_in(
                &format!("nobody{attempt}@acme.test"),
                "not the password at all",
            )
            .await;
        statuses.push(page.status);
        if page.status == StatusCode::TOO_MANY_REQUESTS {
            assert!(
                page.header("retry-after")
                    .and_then(|r| r.parse::<u64>().ok())
                    .is_some_and(|r| r > 0),
                "{:?}",
                page.headers
            );
            break;
        }
    }
    assert_eq!(statuses[0], StatusCode::UNAUTHORIZED, "{statuses:?}");
    assert_eq!(
        statuses.last(),
        Some(&StatusCode::TOO_MANY_REQUESTS),
        "a burst of 3 is all an address gets: {statuses:?}"
    );
}

// --- Errors of GET /oauth/authorize ---------------------------------------------------------

#[tokio::test]
async fn an_unknown_or_missing_client_id_is_shown_as_a_400_and_never_redirected() {
    let app = spawn_app().await;
    let client = web_app(&app).await;
    let request = AuthorizeRequest::new(&client, &pkce());
    assert_shown_not_redirected(
        &app,
        &request.clone().set("client_id", "clt_app_unknown"),
        "invalid_client",
    )
    .await;
    assert_shown_not_redirected(&app, &request.without("client_id"), "invalid_client").await;
}

#[tokio::test]
async fn a_redirect_uri_differing_in_path_query_or_case_is_shown_as_a_400_and_never_redirected() {
    let app = spawn_app().await;
    let client = web_app(&app).await;
    for uri in [
        "https://app.acme.test/oauth/callback/extra",
        "https://app.acme.test/oauth/callbac",
        "https://app.acme.test/oauth/callback/",
        "https://app.acme.test/oauth/callback?next=/admin",
        "https://app.acme.test/OAuth/callback",
        "https://APP.acme.test/oauth/callback",
        "http://app.acme.test/oauth/callback",
        "https://app.acme.test:8443/oauth/callback",
        "https://evil.test/oauth/callback",
    ] {
        let request = AuthorizeRequest::new(&client, &pkce()).set("redirect_uri", uri);
        let answer = authorize_json(&app, &request).await;
        answer.assert_problem(400, "invalid_redirect_uri");
        assert_eq!(answer.header("location"), None, "{uri}");
    }
    let request = AuthorizeRequest::new(&client, &pkce()).set(
        "redirect_uri",
        "https://app.acme.test/oauth/callback?next=/admin",
    );
    assert_shown_not_redirected(&app, &request, "invalid_redirect_uri").await;
}

#[tokio::test]
async fn response_type_token_is_refused_as_unsupported_response_type() {
    let app = spawn_app().await;
    let client = web_app(&app).await;
    for response_type in ["token", "code token", "id_token"] {
        assert_redirected_with(
            &app,
            &AuthorizeRequest::new(&client, &pkce()).set("response_type", response_type),
            "unsupported_response_type",
        )
        .await;
    }
}

#[tokio::test]
async fn pkce_is_required_and_only_s256_is_accepted() {
    let app = spawn_app().await;
    let client = web_app(&app).await;
    let request = AuthorizeRequest::new(&client, &pkce());
    for refused in [
        request.clone().without("code_challenge"),
        request.clone().without("code_challenge_method"),
        request.clone().set("code_challenge_method", "plain"),
        request.clone().set("code_challenge_method", "s256"),
        request.clone().set("code_challenge_method", "S512"),
    ] {
        assert_redirected_with(&app, &refused, "invalid_request").await;
    }
}

#[tokio::test]
async fn an_unknown_scope_or_one_the_app_was_not_granted_is_invalid_scope() {
    let app = spawn_app().await;
    let client = web_app(&app).await;
    for scope in [
        "companies:read bogus:scope",
        "pipelines:read",
        "companies:read admin",
        "contacts:write",
    ] {
        assert_redirected_with(
            &app,
            &AuthorizeRequest::new(&client, &pkce()).set("scope", scope),
            "invalid_scope",
        )
        .await;
    }
}

#[tokio::test]
async fn an_app_without_the_code_grant_is_unauthorized_client() {
    let app = spawn_app().await;
    let client = web_app_with(&app, "Acme sync", &WEB_SCOPES, &["client_credentials"]).await;
    assert_redirected_with(
        &app,
        &AuthorizeRequest::new(&client, &pkce()),
        "unauthorized_client",
    )
    .await;
}

// --- The code exchange ----------------------------------------------------------------------

#[tokio::test]
async fn a_code_is_exchanged_for_an_hour_long_bearer_token_and_a_refresh_token_not_to_be_cached() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = web_app(&app).await;
    let authorized = authorize(&app, &client, email, None).await;
    let answer = exchange(&app, &client, &authorized.code, &authorized.pkce.verifier).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert!(
        answer
            .header("content-type")
            .is_some_and(|c| c.starts_with("application/json")),
        "{:?}",
        answer.headers
    );
    assert!(
        answer
            .header("cache-control")
            .is_some_and(|c| c.contains("no-store")),
        "{:?}",
        answer.headers
    );
    assert_eq!(answer.header("pragma"), Some("no-cache"));
    assert_eq!(answer.body["token_type"], "Bearer");
    assert_eq!(answer.body["expires_in"], 3600);
    let mut all = WEB_SCOPES.map(str::to_owned).to_vec();
    all.sort();
    assert_eq!(
        scope_list(answer.body["scope"].as_str().unwrap_or_default()),
        all,
        "the app's scopes by default"
    );
    let tokens = Tokens::from_answer(&answer);
    assert!(tokens.refresh().starts_with("clt_rt_"), "{}", answer.body);
    let who = me(&app, &tokens.access).await;
    assert_eq!(who.status, StatusCode::OK, "{}", who.body);
    assert_eq!(who.body["user"]["id"], app.admin_id);
    assert_eq!(who.body["account"]["id"], app.account_id);
}

#[tokio::test]
async fn the_access_token_is_an_eddsa_at_jwt_with_the_documented_claims() {
    let app = spawn_app().await;
    let (client, tokens) = admin_tokens(&app).await;
    let token = jwt(&tokens.access);
    assert_eq!(token.header["alg"], "EdDSA");
    assert_eq!(token.header["typ"], "at+jwt");
    assert!(token.header["kid"].as_str().is_some_and(|k| !k.is_empty()));
    let claims = &token.claims;
    assert_eq!(claims["iss"], app.base.as_str());
    let audience = format!("{}/v1", app.base);
    assert!(
        claims["aud"] == audience.as_str()
            || claims["aud"]
                .as_array()
                .is_some_and(|a| a.iter().any(|x| x == audience.as_str())),
        "{claims}"
    );
    assert_eq!(claims["sub"], app.admin_id.to_string());
    assert_eq!(claims["client_id"], client.client_id.as_str());
    assert_eq!(claims["account_id"], app.account_id);
    assert_eq!(claims["scope"], tokens.body["scope"]);
    assert!(claims["jti"].as_str().is_some_and(|j| !j.is_empty()));
    let iat = claims["iat"].as_i64().unwrap_or_default();
    assert!((now() - iat).abs() < 300, "{claims}");
    assert_eq!(claims["exp"].as_i64(), Some(iat + 3600), "{claims}");
}

#[tokio::test]
async fn the_access_token_verifies_with_the_published_jwks() {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let app = spawn_app().await;
    let (_, tokens) = admin_tokens(&app).await;
    let kid = jwt(&tokens.access).header["kid"].clone();
    let keys = jwks(&app).await;
    let key = keys["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == kid))
        .cloned()
        .unwrap_or_else(|| panic!("the token's kid {kid} is not in {keys}"));
    assert_eq!(key["kty"], "OKP");
    assert_eq!(key["crv"], "Ed25519");
    assert_eq!(key["alg"], "EdDSA");
    assert_eq!(key["use"], "sig");
    assert!(key.get("d").is_none(), "never the private key: {key}");
    let decoding = DecodingKey::from_ed_components(key["x"].as_str().unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut validation = Validation::new(Algorithm::EdDSA);
    validation.set_audience(&[format!("{}/v1", app.base)]);
    validation.set_issuer(&[app.base.as_str()]);
    let verified = jsonwebtoken::decode::<Value>(&tokens.access, &decoding, &validation)
        .unwrap_or_else(|e| panic!("the JWKS does not verify the token: {e}"));
    assert_eq!(verified.claims["sub"], app.admin_id.to_string());
}

#[tokio::test]
async fn v1_takes_the_access_token_for_the_user_within_its_scopes() {
    let app = spawn_app().await;
    let member = user_with_password(&app, "mia@acme.test", "member").await;
    let client = web_app(&app).await;
    let tokens = code_flow(&app, &client, "mia@acme.test", Some("companies:read")).await;
    let who = me(&app, &tokens.access).await;
    assert_eq!(who.body["user"]["id"], member, "{}", who.body);
    assert_eq!(
        app.get_as(&tokens.access, "/v1/companies").await.status,
        StatusCode::OK
    );
    app.post_as(&tokens.access, "/v1/companies", json!({"name": "Initech"}))
        .await
        .assert_problem(403, "insufficient_scope");
}

#[tokio::test]
async fn a_missing_pkce_verifier_is_invalid_grant() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = web_app(&app).await;
    let authorized = authorize(&app, &client, email, None).await;
    let answer = token(
        &app,
        &client,
        &[
            ("grant_type", "authorization_code"),
            ("code", &authorized.code),
            ("redirect_uri", REDIRECT),
        ],
    )
    .await;
    assert_oauth_error(&answer, 400, "invalid_grant");
}

#[tokio::test]
async fn a_wrong_pkce_verifier_is_invalid_grant() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = web_app(&app).await;
    let authorized = authorize(&app, &client, email, None).await;
    let other = pkce();
    let answer = exchange(&app, &client, &authorized.code, &other.verifier).await;
    assert_oauth_error(&answer, 400, "invalid_grant");
}

#[tokio::test]
async fn the_challenge_sent_back_as_a_plain_verifier_is_invalid_grant() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = web_app(&app).await;
    let authorized = authorize(&app, &client, email, None).await;
    assert_eq!(s256(&authorized.pkce.verifier), authorized.pkce.challenge);
    let answer = exchange(&app, &client, &authorized.code, &authorized.pkce.challenge).await;
    assert_oauth_error(&answer, 400, "invalid_grant");
}

#[tokio::test]
async fn a_redirect_uri_other_than_the_authorize_requests_is_invalid_grant() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = register(
        &app,
        json!({
            "name": "Acme reporting",
            "redirect_uris": [REDIRECT, OTHER_REDIRECT],
            "scopes": WEB_SCOPES,
        }),
    )
    .await;
    for uri in [
        OTHER_REDIRECT,
        "https://app.acme.test/oauth/callback/extra",
        "https://app.acme.test/oauth/callback?next=/admin",
        "https://app.acme.test/OAuth/callback",
    ] {
        let authorized = authorize(&app, &client, email, None).await;
        let answer = token(
            &app,
            &client,
            &[
                ("grant_type", "authorization_code"),
                ("code", &authorized.code),
                ("redirect_uri", uri),
                ("code_verifier", &authorized.pkce.verifier),
            ],
        )
        .await;
        assert_oauth_error(&answer, 400, "invalid_grant");
    }
}

#[tokio::test]
async fn a_code_presented_twice_is_refused_and_every_token_it_gave_is_revoked() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = web_app(&app).await;
    let authorized = authorize(&app, &client, email, None).await;
    let first = Tokens::from_answer(
        &exchange(&app, &client, &authorized.code, &authorized.pkce.verifier).await,
    );
    assert_eq!(me(&app, &first.access).await.status, StatusCode::OK);
    let again = exchange(&app, &client, &authorized.code, &authorized.pkce.verifier).await;
    assert_oauth_error(&again, 400, "invalid_grant");
    assert_refused(&app, &first.access).await;
    assert_oauth_error(
        &refresh(&app, &client, first.refresh()).await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn an_expired_code_is_invalid_grant() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = web_app(&app).await;
    let authorized = authorize(&app, &client, email, None).await;
    expire_codes(&app);
    let answer = exchange(&app, &client, &authorized.code, &authorized.pkce.verifier).await;
    assert_oauth_error(&answer, 400, "invalid_grant");
}

#[tokio::test]
async fn a_code_issued_to_another_app_is_invalid_grant() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = web_app(&app).await;
    let thief = web_app_with(&app, "Thief", &WEB_SCOPES, &["authorization_code"]).await;
    let authorized = authorize(&app, &client, email, None).await;
    let answer = exchange(&app, &thief, &authorized.code, &authorized.pkce.verifier).await;
    assert_oauth_error(&answer, 400, "invalid_grant");
}

#[tokio::test]
async fn an_unknown_code_is_invalid_grant() {
    let app = spawn_app().await;
    let client = web_app(&app).await;
    let answer = exchange(&app, &client, "clt_ac_never-issued", &pkce().verifier).await;
    assert_oauth_error(&answer, 400, "invalid_grant");
}

#[tokio::test]
async fn the_password_implicit_and_unknown_grants_are_unsupported_grant_type() {
    let app = spawn_app().await;
    admin_with_password(&app).await;
    let client = web_app(&app).await;
    for grant in ["password", "implicit", "token", "urn:example:unknown"] {
        let answer = token(
            &app,
            &client,
            &[
                ("grant_type", grant),
                ("username", ADMIN_EMAIL),
                ("password", PASSWORD),
            ],
        )
        .await;
        assert_oauth_error(&answer, 400, "unsupported_grant_type");
        assert!(answer.body.get("access_token").is_none());
    }
}

#[tokio::test]
async fn a_grant_the_app_is_not_registered_for_is_unauthorized_client() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let web = web_app(&app).await;
    assert_oauth_error(
        &client_credentials(&app, &web, None).await,
        400,
        "unauthorized_client",
    );
    let no_refresh = web_app_with(&app, "No refresh", &WEB_SCOPES, &["authorization_code"]).await;
    let tokens = code_flow(&app, &no_refresh, email, None).await;
    assert_eq!(tokens.refresh, None, "{}", tokens.body);
    assert_oauth_error(
        &refresh(&app, &no_refresh, "clt_rt_anything").await,
        400,
        "unauthorized_client",
    );
}

#[tokio::test]
async fn a_wrong_client_secret_or_an_unknown_client_is_invalid_client_with_401() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = web_app(&app).await;
    let authorized = authorize(&app, &client, email, None).await;
    let fields = [
        ("grant_type", "authorization_code"),
        ("code", authorized.code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", authorized.pkce.verifier.as_str()),
    ];
    let wrong = "clt_cs_not-the-secret";
    for auth in [
        ClientAuth::Basic(&client.client_id, wrong),
        ClientAuth::Post(&client.client_id, wrong),
        ClientAuth::Basic("clt_app_unknown", client.secret()),
        ClientAuth::Public(&client.client_id),
        ClientAuth::Nothing,
    ] {
        let answer = oauth_post(&app, "/oauth/token", auth, &fields).await;
        assert_oauth_error(&answer, 401, "invalid_client");
    }
}

#[tokio::test]
async fn client_secret_post_is_accepted_like_basic() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = web_app(&app).await;
    let authorized = authorize(&app, &client, email, None).await;
    let answer = oauth_post(
        &app,
        "/oauth/token",
        ClientAuth::Post(&client.client_id, client.secret()),
        &[
            ("grant_type", "authorization_code"),
            ("code", &authorized.code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &authorized.pkce.verifier),
        ],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn basic_and_body_credentials_at_once_are_invalid_request() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = web_app(&app).await;
    let authorized = authorize(&app, &client, email, None).await;
    let answer = oauth_post(
        &app,
        "/oauth/token",
        ClientAuth::Both(&client.client_id, client.secret()),
        &[
            ("grant_type", "authorization_code"),
            ("code", &authorized.code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &authorized.pkce.verifier),
        ],
    )
    .await;
    assert_oauth_error(&answer, 400, "invalid_request");
}

#[tokio::test]
async fn a_public_app_exchanges_and_refreshes_with_its_client_id_only() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = public_app(&app).await;
    assert_eq!(client.secret, None);
    let tokens = code_flow(&app, &client, email, None).await;
    assert_eq!(me(&app, &tokens.access).await.status, StatusCode::OK);
    let refreshed = Tokens::from_answer(&refresh(&app, &client, tokens.refresh()).await);
    assert_eq!(me(&app, &refreshed.access).await.status, StatusCode::OK);
}

/// What Swagger UI's "Authorize" dialog on `/docs/` does with the authorization-code flow
/// (swagger-ui 5, `usePkceWithAuthorizationCodeGrant`): it opens the authorize URL with the
/// page's own redirect URI, the scopes ticked joined by spaces, a base64 `state` and an S256
/// challenge; `oauth2-redirect.html` hands the code back to the page, which POSTs it to the
/// token endpoint from the same origin with `client_id`, `redirect_uri` and `code_verifier`
/// only (empty fields are left out), as XMLHttpRequest.
#[tokio::test]
async fn the_docs_page_signs_a_team_member_in_through_its_public_client_with_pkce() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = docs_app(&app).await;
    assert_eq!(client.secret, None, "the docs page's client is public");
    let redirect_uri = docs_redirect(&app);
    let pkce = pkce();
    // btoa(new Date().toString()) has `+`, `/` and `=` in it: they must come back intact.
    let state = "V2VkIERlYyAwMiAyMDI2IDA0OjQy+/Mz=";
    let request = AuthorizeRequest::new(&client, &pkce)
        .set("redirect_uri", &redirect_uri)
        .set("scope", "companies:read contacts:read")
        .set("state", state);

    let mut browser = Browser::new(&app);
    let page = browser.open(&request).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(
        page.header("cross-origin-opener-policy"),
        None,
        "the sign-in popup keeps its opener: oauth2-redirect.html calls back into /docs/"
    );
    let page = browser.sign_in(email, PASSWORD).await;
    assert_eq!(page.step().as_deref(), Some("consent"), "{}", page.html);
    let back = browser.decide("allow").await.redirect();
    assert_eq!(back.target, redirect_uri, "{}", back.location);
    assert_eq!(back.param("state"), Some(state), "{}", back.location);
    assert_eq!(back.param("iss"), Some(app.base.as_str()));
    let code = back
        .param("code")
        .unwrap_or_else(|| panic!("no code in {}", back.location));

    // The page's fetch, as swagger-ui sends it.
    let answer = read_answer(
        app.client
            .post(format!("{}/oauth/token", app.base))
            .header("accept", "application/json, text/plain, */*")
            .header("x-requested-with", "XMLHttpRequest")
            .header("origin", app.base.as_str())
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("client_id", client.client_id.as_str()),
                ("redirect_uri", redirect_uri.as_str()),
                ("code_verifier", pkce.verifier.as_str()),
            ])
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /oauth/token failed: {e}")),
    )
    .await;
    let tokens = Tokens::from_answer(&answer);
    assert_eq!(
        scope_list(tokens.body["scope"].as_str().unwrap_or_default()),
        ["companies:read", "contacts:read"]
    );
    // "Try it out" on GET /v1/me, with the token the dialog keeps.
    let caller = me(&app, &tokens.access).await;
    assert_eq!(caller.status, StatusCode::OK, "{}", caller.body);
    assert_eq!(caller.body["user"]["email"], email, "{}", caller.body);

    // Another redirect URI, even on the same origin, is not the registered one.
    let elsewhere = AuthorizeRequest::new(&client, &crate::common::oauth::pkce())
        .set("redirect_uri", &format!("{}/docs/", app.base));
    assert_shown_not_redirected(&app, &elsewhere, "invalid_redirect_uri").await;
}

// --- Refresh tokens -------------------------------------------------------------------------

#[tokio::test]
async fn a_refresh_token_is_rotated_on_use() {
    let app = spawn_app().await;
    let (client, first) = admin_tokens(&app).await;
    let answer = refresh(&app, &client, first.refresh()).await;
    assert!(
        answer
            .header("cache-control")
            .is_some_and(|c| c.contains("no-store")),
        "{:?}",
        answer.headers
    );
    let second = Tokens::from_answer(&answer);
    assert!(second.refresh().starts_with("clt_rt_"));
    assert_ne!(second.refresh(), first.refresh());
    assert_ne!(second.access, first.access);
    assert_eq!(second.body["scope"], first.body["scope"]);
    assert_eq!(me(&app, &second.access).await.status, StatusCode::OK);
    let third = Tokens::from_answer(&refresh(&app, &client, second.refresh()).await);
    assert_ne!(third.refresh(), second.refresh());
}

#[tokio::test]
async fn a_used_refresh_token_presented_again_revokes_the_whole_family() {
    let app = spawn_app().await;
    let (client, first) = admin_tokens(&app).await;
    let second = Tokens::from_answer(&refresh(&app, &client, first.refresh()).await);
    let replayed = refresh(&app, &client, first.refresh()).await;
    assert_oauth_error(&replayed, 400, "invalid_grant");
    assert_oauth_error(
        &refresh(&app, &client, second.refresh()).await,
        400,
        "invalid_grant",
    );
    assert_refused(&app, &second.access).await;
    assert_refused(&app, &first.access).await;
}

#[tokio::test]
async fn a_refresh_may_narrow_the_scope_but_never_widen_it() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = web_app(&app).await;
    let tokens = code_flow(&app, &client, email, Some("companies:read companies:write")).await;
    let narrower = Tokens::from_answer(
        &token(
            &app,
            &client,
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", tokens.refresh()),
                ("scope", "companies:read"),
            ],
        )
        .await,
    );
    assert_eq!(narrower.body["scope"], "companies:read");
    app.post_as(
        &narrower.access,
        "/v1/companies",
        json!({"name": "Initech"}),
    )
    .await
    .assert_problem(403, "insufficient_scope");
    let wider = token(
        &app,
        &client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", narrower.refresh()),
            ("scope", "companies:read contacts:read"),
        ],
    )
    .await;
    assert_oauth_error(&wider, 400, "invalid_scope");
}

#[tokio::test]
async fn a_refresh_token_is_bound_to_its_app() {
    let app = spawn_app().await;
    let (_, tokens) = admin_tokens(&app).await;
    let thief = web_app_with(
        &app,
        "Thief",
        &WEB_SCOPES,
        &["authorization_code", "refresh_token"],
    )
    .await;
    assert_oauth_error(
        &refresh(&app, &thief, tokens.refresh()).await,
        400,
        "invalid_grant",
    );
}

// --- Revocation (RFC 7009) ------------------------------------------------------------------

#[tokio::test]
async fn revoking_a_refresh_token_revokes_its_grant_with_its_access_tokens() {
    let app = spawn_app().await;
    let (client, tokens) = admin_tokens(&app).await;
    let answer = revoke(&app, &client, tokens.refresh(), Some("refresh_token")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body, Value::Null, "an empty body");
    assert_refused(&app, &tokens.access).await;
    assert_oauth_error(
        &refresh(&app, &client, tokens.refresh()).await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn revoking_an_access_token_revokes_that_token_only() {
    let app = spawn_app().await;
    let (client, tokens) = admin_tokens(&app).await;
    let answer = revoke(&app, &client, &tokens.access, Some("access_token")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_refused(&app, &tokens.access).await;
    let refreshed = Tokens::from_answer(&refresh(&app, &client, tokens.refresh()).await);
    assert_eq!(me(&app, &refreshed.access).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_wrong_token_type_hint_does_not_stop_a_revocation() {
    let app = spawn_app().await;
    let (client, tokens) = admin_tokens(&app).await;
    let answer = revoke(&app, &client, tokens.refresh(), Some("access_token")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_oauth_error(
        &refresh(&app, &client, tokens.refresh()).await,
        400,
        "invalid_grant",
    );
    let answer = revoke(&app, &client, &tokens.access, None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_refused(&app, &tokens.access).await;
}

#[tokio::test]
async fn revoking_an_unknown_or_malformed_token_answers_200() {
    let app = spawn_app().await;
    let client = web_app(&app).await;
    for garbage in [
        "clt_rt_never-issued",
        "not a token at all",
        "eyJhbGciOiJFZERTQSJ9.e30.c2ln",
        "",
    ] {
        let answer = revoke(&app, &client, garbage, None).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "{garbage:?}: {}",
            answer.body
        );
    }
}

#[tokio::test]
async fn another_apps_token_is_left_alone_by_a_revocation() {
    let app = spawn_app().await;
    let (client, tokens) = admin_tokens(&app).await;
    let other = web_app_with(&app, "Other", &WEB_SCOPES, &["authorization_code"]).await;
    for token in [tokens.refresh(), tokens.access.as_str()] {
        let answer = revoke(&app, &other, token, None).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    assert_eq!(me(&app, &tokens.access).await.status, StatusCode::OK);
    assert_eq!(
        refresh(&app, &client, tokens.refresh()).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn revocation_needs_the_apps_credentials() {
    let app = spawn_app().await;
    let (client, tokens) = admin_tokens(&app).await;
    let answer = oauth_post(
        &app,
        "/oauth/revoke",
        ClientAuth::Basic(&client.client_id, "clt_cs_not-the-secret"),
        &[("token", tokens.refresh())],
    )
    .await;
    answer.assert_problem(401, "invalid_client");
    assert_eq!(me(&app, &tokens.access).await.status, StatusCode::OK);
}

// --- Introspection (RFC 7662) ---------------------------------------------------------------

#[tokio::test]
async fn introspecting_a_live_access_token_shows_its_claims() {
    let app = spawn_app().await;
    let (client, tokens) = admin_tokens(&app).await;
    let answer = introspect(&app, &client, &tokens.access).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let body = &answer.body;
    let claims = jwt(&tokens.access).claims;
    assert_eq!(body["active"], true, "{body}");
    assert_eq!(body["scope"], tokens.body["scope"]);
    assert_eq!(body["client_id"], client.client_id.as_str());
    assert_eq!(body["sub"], app.admin_id.to_string());
    assert_eq!(body["aud"], claims["aud"]);
    assert_eq!(body["iss"], app.base.as_str());
    assert_eq!(body["exp"], claims["exp"]);
    assert_eq!(body["iat"], claims["iat"]);
    assert_eq!(body["jti"], claims["jti"]);
    assert!(body["token_type"].is_string(), "{body}");
    assert_eq!(body["account_id"], app.account_id);
}

#[tokio::test]
async fn introspecting_a_live_refresh_token_says_it_is_active() {
    let app = spawn_app().await;
    let (client, tokens) = admin_tokens(&app).await;
    let answer = introspect(&app, &client, tokens.refresh()).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["active"], true, "{}", answer.body);
    assert_eq!(answer.body["client_id"], client.client_id.as_str());
}

#[tokio::test]
async fn introspection_answers_exactly_active_false_for_any_other_token() {
    let app = spawn_app().await;
    let (client, tokens) = admin_tokens(&app).await;
    let other = web_app_with(&app, "Other", &WEB_SCOPES, &["authorization_code"]).await;
    let (_, key) = server_key(&app);
    let real = jwt(&tokens.access);
    let mut expired_claims = real.claims.clone();
    expired_claims["iat"] = json!(now() - 7200);
    expired_claims["exp"] = json!(now() - 3600);
    let expired = sign_with(&key, &real.header, &expired_claims);
    let inactive = json!({"active": false});
    for token in ["clt_rt_never-issued", "garbage", expired.as_str()] {
        let answer = introspect(&app, &client, token).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        assert_eq!(answer.body, inactive, "{token}");
    }
    let answer = introspect(&app, &other, &tokens.access).await;
    assert_eq!(answer.body, inactive, "another app's token");
    assert_eq!(
        revoke(&app, &client, &tokens.access, None).await.status,
        StatusCode::OK
    );
    assert_eq!(
        introspect(&app, &client, &tokens.access).await.body,
        inactive,
        "a revoked token"
    );
}

#[tokio::test]
async fn introspection_needs_the_apps_credentials() {
    let app = spawn_app().await;
    let (client, tokens) = admin_tokens(&app).await;
    for auth in [
        ClientAuth::Nothing,
        ClientAuth::Basic(&client.client_id, "clt_cs_not-the-secret"),
    ] {
        let answer = oauth_post(
            &app,
            "/oauth/introspect",
            auth,
            &[("token", &tokens.access)],
        )
        .await;
        answer.assert_problem(401, "invalid_client");
        assert!(answer.body.get("active").is_none() || answer.body["active"] == false);
    }
}

// --- Metadata and keys ----------------------------------------------------------------------

#[tokio::test]
async fn the_metadata_names_the_endpoints_and_its_issuer_is_the_tokens_iss() {
    let app = spawn_app().await;
    let meta = metadata(&app).await;
    let base = app.base.as_str();
    assert_eq!(meta["issuer"], base);
    assert_eq!(
        meta["authorization_endpoint"],
        format!("{base}/oauth/authorize")
    );
    assert_eq!(meta["token_endpoint"], format!("{base}/oauth/token"));
    assert_eq!(meta["revocation_endpoint"], format!("{base}/oauth/revoke"));
    assert_eq!(
        meta["introspection_endpoint"],
        format!("{base}/oauth/introspect")
    );
    assert_eq!(meta["jwks_uri"], format!("{base}/.well-known/jwks.json"));
    assert_eq!(meta["response_types_supported"], json!(["code"]));
    assert_eq!(meta["code_challenge_methods_supported"], json!(["S256"]));
    let mut auth_methods: Vec<String> =
        serde_json::from_value(meta["token_endpoint_auth_methods_supported"].clone())
            .unwrap_or_default();
    auth_methods.sort();
    assert_eq!(
        auth_methods,
        vec!["client_secret_basic", "client_secret_post", "none"]
    );
    let grants: Vec<String> =
        serde_json::from_value(meta["grant_types_supported"].clone()).unwrap_or_default();
    for grant in ["authorization_code", "client_credentials", "refresh_token"] {
        assert!(grants.iter().any(|g| g == grant), "{grant} in {grants:?}");
    }
    for grant in ["password", "implicit"] {
        assert!(
            !grants.iter().any(|g| g == grant),
            "no {grant} in {grants:?}"
        );
    }
    let scopes: Vec<String> =
        serde_json::from_value(meta["scopes_supported"].clone()).unwrap_or_default();
    assert!(scopes.iter().any(|s| s == "companies:read"), "{scopes:?}");

    let (_, tokens) = admin_tokens(&app).await;
    assert_eq!(jwt(&tokens.access).claims["iss"], meta["issuer"]);
}

#[tokio::test]
async fn the_jwks_at_the_metadatas_jwks_uri_lists_the_signing_key() {
    let app = spawn_app().await;
    let meta = metadata(&app).await;
    let uri = meta["jwks_uri"].as_str().unwrap_or_default();
    let response = app
        .client
        .get(uri)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {uri}: {e}"));
    let answer = read_answer(response).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    let (kid, key) = server_key(&app);
    let listed = answer.body["keys"]
        .as_array()
        .and_then(|keys| keys.iter().find(|k| k["kid"] == kid.as_str()))
        .cloned()
        .unwrap_or_else(|| panic!("{kid} not in {}", answer.body));
    assert_eq!(listed["x"], b64(key.verifying_key().as_bytes()));
    for key in answer.body["keys"].as_array().cloned().unwrap_or_default() {
        assert!(key.get("d").is_none(), "never a private key: {key}");
    }
}

// --- Forged and altered access tokens -------------------------------------------------------

#[tokio::test]
async fn a_token_with_alg_none_is_refused() {
    let app = spawn_app().await;
    let (_, tokens) = admin_tokens(&app).await;
    let real = jwt(&tokens.access);
    let mut header = real.header.clone();
    header["alg"] = json!("none");
    let unsigned = format!("{}.", signing_input(&header, &real.claims));
    assert_refused(&app, &unsigned).await;
    let with_old_signature = format!(
        "{}.{}",
        signing_input(&header, &real.claims),
        b64(&real.signature)
    );
    assert_refused(&app, &with_old_signature).await;
}

#[tokio::test]
async fn a_token_hmac_signed_with_the_public_key_is_refused() {
    use jsonwebtoken::{Algorithm, EncodingKey, Header};
    let app = spawn_app().await;
    let (_, tokens) = admin_tokens(&app).await;
    let real = jwt(&tokens.access);
    let (kid, key) = server_key(&app);
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".to_owned());
    header.kid = Some(kid);
    for secret in [
        key.verifying_key().as_bytes().to_vec(),
        b64(key.verifying_key().as_bytes()).into_bytes(),
    ] {
        let forged =
            jsonwebtoken::encode(&header, &real.claims, &EncodingKey::from_secret(&secret))
                .unwrap_or_else(|e| panic!("{e}"));
        assert_refused(&app, &forged).await;
    }
}

#[tokio::test]
async fn a_token_for_another_audience_is_refused() {
    let app = spawn_app().await;
    let (_, tokens) = admin_tokens(&app).await;
    assert_refused_when(&app, &tokens.access, |_, claims| {
        claims["aud"] = json!("https://api.other.test/v1");
    })
    .await;
}

#[tokio::test]
async fn a_token_from_another_issuer_is_refused() {
    let app = spawn_app().await;
    let (_, tokens) = admin_tokens(&app).await;
    assert_refused_when(&app, &tokens.access, |_, claims| {
        claims["iss"] = json!("https://evil.test");
    })
    .await;
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let app = spawn_app().await;
    let (_, tokens) = admin_tokens(&app).await;
    assert_refused_when(&app, &tokens.access, |_, claims| {
        claims["iat"] = json!(now() - 7200);
        claims["exp"] = json!(now() - 3600);
    })
    .await;
}

#[tokio::test]
async fn a_token_typed_other_than_at_jwt_is_refused() {
    let app = spawn_app().await;
    let (_, tokens) = admin_tokens(&app).await;
    assert_refused_when(&app, &tokens.access, |header, _| {
        header["typ"] = json!("JWT");
    })
    .await;
}

#[tokio::test]
async fn a_token_with_an_unknown_kid_is_refused() {
    let app = spawn_app().await;
    let (_, tokens) = admin_tokens(&app).await;
    let real = jwt(&tokens.access);
    let mut header = real.header.clone();
    header["kid"] = json!(b64(b"a key id nobody issued"));
    assert_refused(&app, &sign_with(&foreign_key(), &header, &real.claims)).await;
    let (_, key) = server_key(&app);
    assert_refused(&app, &sign_with(&key, &header, &real.claims)).await;
}

#[tokio::test]
async fn a_token_signed_by_a_foreign_key_under_the_servers_kid_is_refused() {
    let app = spawn_app().await;
    let (_, tokens) = admin_tokens(&app).await;
    let real = jwt(&tokens.access);
    assert_refused(&app, &sign_with(&foreign_key(), &real.header, &real.claims)).await;
}

#[tokio::test]
async fn a_token_with_a_tampered_payload_or_signature_is_refused() {
    let app = spawn_app().await;
    let (_, tokens) = admin_tokens(&app).await;
    let real = jwt(&tokens.access);
    let mut claims = real.claims.clone();
    claims["scope"] = json!("admin");
    claims["exp"] = json!(now() + 86_400);
    let tampered_payload = format!(
        "{}.{}.{}",
        real.header_part,
        b64(claims.to_string().as_bytes()),
        b64(&real.signature)
    );
    assert_refused(&app, &tampered_payload).await;
    let mut signature = real.signature.clone();
    signature[10] ^= 0x01;
    let tampered_signature = format!(
        "{}.{}.{}",
        real.header_part,
        real.claims_part,
        b64(&signature)
    );
    assert_refused(&app, &tampered_signature).await;
    assert_eq!(
        me(&app, &tokens.access).await.status,
        StatusCode::OK,
        "the real token still passes"
    );
}

// --- Signing keys ---------------------------------------------------------------------------

#[tokio::test]
async fn after_a_key_rotation_old_tokens_still_pass_and_new_ones_carry_the_new_kid() {
    let app = spawn_app().await;
    let (client, before) = admin_tokens(&app).await;
    let old_kid = jwt(&before.access).header["kid"].clone();
    let rotated = {
        let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
        persistence::signing_keys::rotate(&mut conn, app.db.vault())
            .unwrap_or_else(|e| panic!("{e:?}"))
    };
    assert_ne!(old_kid, rotated.kid.as_str());
    assert_eq!(me(&app, &before.access).await.status, StatusCode::OK);
    let listed = kids(&jwks(&app).await);
    for kid in [old_kid.as_str().unwrap_or_default(), rotated.kid.as_str()] {
        assert!(listed.iter().any(|k| k == kid), "{kid} in {listed:?}");
    }
    let after = Tokens::from_answer(&refresh(&app, &client, before.refresh()).await);
    assert_eq!(jwt(&after.access).header["kid"], rotated.kid.as_str());
    assert_eq!(me(&app, &after.access).await.status, StatusCode::OK);
}

/// Starts another server on the same database, as a replica or a restart would: its key ring
/// starts empty and learns the keys from the database. Returns its base URL.
async fn replica(app: &TestApp) -> String {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("cannot bind: {e}"));
    let port = listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let settings = api::Settings {
        public_url: Some(app.base.clone()),
        ..Default::default()
    };
    let server = api::serve(
        listener,
        api::AppState::new(app.db.clone(), settings),
        Some(1),
    )
    .unwrap_or_else(|e| panic!("cannot start the replica: {e}"));
    tokio::spawn(server);
    format!("http://127.0.0.1:{port}")
}

#[tokio::test]
async fn a_server_started_after_a_key_is_retired_refuses_the_tokens_it_signed() {
    let app = spawn_app().await;
    let (client, tokens) = admin_tokens(&app).await;
    let old_kid = jwt(&tokens.access).header["kid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    {
        let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
        persistence::signing_keys::rotate(&mut conn, app.db.vault())
            .unwrap_or_else(|e| panic!("{e:?}"));
        persistence::signing_keys::retire(&mut conn, app.db.vault(), &old_kid)
            .unwrap_or_else(|e| panic!("{e:?}"));
    }
    let fresh = Tokens::from_answer(&refresh(&app, &client, tokens.refresh()).await);
    let base = replica(&app).await;
    let me_on_replica = |token: String| {
        let request = app.client.get(format!("{base}/v1/me")).bearer_auth(token);
        async move {
            let response = request
                .send()
                .await
                .unwrap_or_else(|e| panic!("GET /v1/me on the replica: {e}"));
            read_answer(response).await
        }
    };
    let live = me_on_replica(fresh.access.clone()).await;
    assert_eq!(live.status, StatusCode::OK, "{}", live.body);
    me_on_replica(tokens.access.clone())
        .await
        .assert_problem(401, "unauthorized");
}

#[tokio::test]
async fn a_retired_keys_tokens_are_refused_at_once_and_it_leaves_the_jwks() {
    let app = spawn_app().await;
    let (_, tokens) = admin_tokens(&app).await;
    let old_kid = jwt(&tokens.access).header["kid"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    {
        let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
        persistence::signing_keys::rotate(&mut conn, app.db.vault())
            .unwrap_or_else(|e| panic!("{e:?}"));
        persistence::signing_keys::retire(&mut conn, app.db.vault(), &old_kid)
            .unwrap_or_else(|e| panic!("{e:?}"));
    }
    assert_refused(&app, &tokens.access).await;
    assert!(!kids(&jwks(&app).await).contains(&old_kid));
}

// --- Users, apps and their tokens -----------------------------------------------------------

#[tokio::test]
async fn a_deactivated_users_oauth_tokens_are_refused() {
    let app = spawn_app().await;
    let id = user_with_password(&app, "mia@acme.test", "member").await;
    let client = web_app(&app).await;
    let tokens = code_flow(&app, &client, "mia@acme.test", None).await;
    assert_eq!(me(&app, &tokens.access).await.status, StatusCode::OK);
    assert_eq!(
        app.delete(&format!("/v1/users/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_refused(&app, &tokens.access).await;
    assert_oauth_error(
        &refresh(&app, &client, tokens.refresh()).await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn deleting_the_client_app_stops_its_tokens_at_once() {
    let app = spawn_app().await;
    let (client, tokens) = admin_tokens(&app).await;
    assert_eq!(
        app.delete(&format!("/v1/oauth-clients/{}", client.id))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_refused(&app, &tokens.access).await;
    assert_oauth_error(
        &refresh(&app, &client, tokens.refresh()).await,
        401,
        "invalid_client",
    );
}

// --- Secrets at rest ------------------------------------------------------------------------

#[tokio::test]
async fn the_database_holds_no_secret_or_token_in_clear() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let client = web_app(&app).await;
    let flow = pkce();
    let mut browser = Browser::new(&app);
    browser.open(&AuthorizeRequest::new(&client, &flow)).await;
    let csrf = browser.csrf.clone().unwrap_or_default();
    let cookie = browser
        .cookie
        .clone()
        .and_then(|c| c.split_once('=').map(|(_, v)| v.to_owned()))
        .unwrap_or_default();
    browser.sign_in(email, PASSWORD).await;
    let redirect = browser.decide("allow").await.redirect();
    let code = redirect.param("code").unwrap_or_default().to_owned();
    let first = Tokens::from_answer(&exchange(&app, &client, &code, &flow.verifier).await);
    let second = Tokens::from_answer(&refresh(&app, &client, first.refresh()).await);
    let machine = machine_app(&app, &["companies:read"]).await;
    let service = Tokens::from_answer(&client_credentials(&app, &machine, None).await);

    let mut needles: Vec<(&str, String)> = vec![
        ("password", PASSWORD.to_owned()),
        ("admin token", app.token.clone()),
        ("client secret", client.secret().to_owned()),
        ("machine secret", machine.secret().to_owned()),
        ("code", code.clone()),
        ("PKCE verifier", flow.verifier.clone()),
        ("csrf token", csrf),
        ("cookie", cookie),
        ("access token", first.access.clone()),
        ("refreshed access token", second.access.clone()),
        ("client-credentials token", service.access.clone()),
        ("refresh token", first.refresh().to_owned()),
        ("rotated refresh token", second.refresh().to_owned()),
    ];
    // The random part alone, without its prefix, and each JWT's signature.
    for (what, secret) in needles.clone() {
        if let Some((_, random)) = secret.strip_prefix("clt_").and_then(|s| s.split_once('_')) {
            needles.push((what, random.to_owned()));
        }
        if secret.matches('.').count() == 2
            && let Some((_, signature)) = secret.rsplit_once('.')
        {
            needles.push((what, signature.to_owned()));
        }
    }
    for (what, secret) in &needles {
        assert!(secret.len() >= 16, "{what} is a real secret: {secret:?}");
    }

    let tables = tables(&app);
    for wanted in [
        "users",
        "api_tokens",
        "oauth_clients",
        "signing_keys",
        "oauth_grants",
        "authorization_requests",
        "authorization_codes",
        "oauth_access_tokens",
        "oauth_refresh_tokens",
    ] {
        assert!(tables.iter().any(|t| t == wanted), "{wanted} in {tables:?}");
    }
    let mut scanned = 0;
    for table in &tables {
        for (column, value) in stored_values(&app, table) {
            scanned += 1;
            for (what, secret) in &needles {
                assert!(
                    !value.contains(secret.as_str()),
                    "{table}.{column} holds the {what} in clear"
                );
            }
        }
    }
    assert!(scanned > 50, "the scan read the data ({scanned} values)");

    let digests = |table: &str, column: &str| -> Vec<String> {
        stored_values(&app, table)
            .into_iter()
            .filter(|(c, _)| c == column)
            .map(|(_, v)| v)
            .collect()
    };
    let digest = persistence::secrets::digest;
    assert!(digests("authorization_codes", "code_digest").contains(&digest(&code)));
    let refresh_digests = digests("oauth_refresh_tokens", "token_digest");
    assert!(refresh_digests.contains(&digest(first.refresh())));
    assert!(refresh_digests.contains(&digest(second.refresh())));
    let jti = jwt(&first.access).claims["jti"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(digests("oauth_access_tokens", "jti").contains(&jti));
}

// --- Abuse limits ---------------------------------------------------------------------------

#[tokio::test]
async fn the_token_endpoint_is_rate_limited_per_client() {
    let app = spawn_app_with(api::Settings {
        token_rate: api::RateLimit {
            per_second: 0.001,
            burst: 3,
        },
        ..Default::default()
    })
    .await;
    let client = machine_app(&app, &["companies:read"]).await;
    for attempt in 1..=3 {
        let answer = client_credentials(&app, &client, None).await;
        assert_eq!(
            answer.status,
            StatusCode::OK,
            "attempt {attempt}: {}",
            answer.body
        );
    }
    let limited = client_credentials(&app, &client, None).await;
    assert_eq!(
        limited.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        limited.body
    );
    assert!(
        limited
            .header("retry-after")
            .and_then(|r| r.parse::<u64>().ok())
            .is_some_and(|r| r > 0),
        "{:?}",
        limited.headers
    );
    let other = machine_app(&app, &["companies:read"]).await;
    assert_eq!(
        client_credentials(&app, &other, None).await.status,
        StatusCode::OK,
        "another app has a budget of its own"
    );
}
