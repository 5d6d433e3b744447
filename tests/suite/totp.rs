//! TOTP second factor (RFC 6238: SHA-1, 6 digits, 30 s): enrolment, confirmation and removal
//! through `/v1/me/totp`, and the sign-in page asking a user who has it for the code before
//! the consent page.

use crate::common::oauth::*;
use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn status(app: &TestApp, token: &str) -> Value {
    let answer = app.get_as(token, "/v1/me/totp").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body
}

async fn remove(app: &TestApp, token: &str, code: &str) -> Answer {
    app.request(
        Method::DELETE,
        "/v1/me/totp",
        Some(token),
        Some(&json!({ "code": code })),
        &[],
    )
    .await
}

/// The admin with a password and a confirmed TOTP: (email, secret).
async fn admin_with_totp(app: &TestApp) -> (&'static str, String) {
    let email = admin_with_password(app).await;
    let secret = enable_totp(app, &app.token, app.admin_id).await;
    (email, secret)
}

/// A browser signed in with the right password, at the step after it, and the PKCE pair of
/// its request.
async fn signed_in<'a>(
    app: &'a TestApp,
    client: &ClientApp,
    email: &str,
) -> (Browser<'a>, Page, Pkce) {
    let flow = pkce();
    let mut browser = Browser::new(app);
    let page = browser.open(&AuthorizeRequest::new(client, &flow)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let page = browser.sign_in(email, PASSWORD).await;
    (browser, page, flow)
}

// --- /v1/me/totp ----------------------------------------------------------------------------

#[tokio::test]
async fn totp_is_off_until_enrolled() {
    let app = spawn_app().await;
    assert_eq!(
        status(&app, &app.token).await,
        json!({"enrolled": false, "enabled": false})
    );
}

#[tokio::test]
async fn enrolling_gives_a_base32_secret_and_an_otpauth_uri_and_waits_for_confirmation() {
    let app = spawn_app().await;
    let started = app.post("/v1/me/totp", json!({})).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    let secret = started.body["secret"].as_str().unwrap_or_default();
    let bytes = totp_rs::Secret::try_from_base32(secret.trim_end_matches('='))
        .unwrap_or_else(|e| panic!("{secret} is not base32: {e:?}"));
    assert!(bytes.as_ref().len() >= 16, "at least 128 bits (RFC 4226 4)");
    let uri = started.body["otpauth_uri"].as_str().unwrap_or_default();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    let parsed = url::Url::parse(uri).unwrap_or_else(|e| panic!("{uri}: {e}"));
    let query: std::collections::HashMap<String, String> =
        parsed.query_pairs().into_owned().collect();
    assert_eq!(
        query.get("secret").map(String::as_str),
        Some(secret),
        "{uri}"
    );
    for (name, value) in [("algorithm", "SHA1"), ("digits", "6"), ("period", "30")] {
        if let Some(given) = query.get(name) {
            assert_eq!(given, value, "{uri}");
        }
    }
    assert_eq!(status(&app, &app.token).await["enabled"], false);
}

#[tokio::test]
async fn a_wrong_confirmation_code_is_refused_naming_code() {
    let app = spawn_app().await;
    let secret = start_totp(&app, &app.token).await;
    let answer = app
        .post(
            "/v1/me/totp/confirm",
            json!({ "code": wrong_totp(&secret) }),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), vec!["code"]);
    assert_eq!(status(&app, &app.token).await["enabled"], false);
}

#[tokio::test]
async fn the_current_code_confirms_and_enables_totp() {
    let app = spawn_app().await;
    let secret = start_totp(&app, &app.token).await;
    let answer = app
        .post("/v1/me/totp/confirm", json!({ "code": totp_now(&secret) }))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["enabled"], true);
    assert_eq!(
        status(&app, &app.token).await,
        json!({"enrolled": true, "enabled": true})
    );
}

#[tokio::test]
async fn removing_totp_needs_a_valid_code() {
    let app = spawn_app().await;
    let secret = enable_totp(&app, &app.token, app.admin_id).await;
    let wrong = remove(&app, &app.token, &wrong_totp(&secret)).await;
    wrong.assert_problem(422, "validation_failed");
    assert_eq!(wrong.error_fields(), vec!["code"]);
    assert_eq!(status(&app, &app.token).await["enabled"], true);
    let removed = remove(&app, &app.token, &totp_now(&secret)).await;
    assert_eq!(removed.status, StatusCode::NO_CONTENT, "{}", removed.body);
    assert_eq!(status(&app, &app.token).await["enabled"], false);
}

#[tokio::test]
async fn a_client_credentials_token_cannot_manage_totp() {
    let app = spawn_app().await;
    let machine = machine_app(&app, &["companies:read", "tokens:write"]).await;
    let tokens = Tokens::from_answer(&client_credentials(&app, &machine, None).await);
    for answer in [
        app.get_as(&tokens.access, "/v1/me/totp").await,
        app.post_as(&tokens.access, "/v1/me/totp", json!({})).await,
    ] {
        assert!(
            matches!(answer.status.as_u16(), 401 | 403),
            "{}: {}",
            answer.status,
            answer.body
        );
        assert_eq!(
            answer.header("content-type"),
            Some("application/problem+json")
        );
    }
}

// --- The sign-in page -----------------------------------------------------------------------

#[tokio::test]
async fn a_user_with_a_confirmed_totp_is_asked_for_the_code_after_the_password() {
    let app = spawn_app().await;
    let (email, _) = admin_with_totp(&app).await;
    let client = web_app(&app).await;
    let (_, page, _) = signed_in(&app, &client, email).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(page.step().as_deref(), Some("totp"), "{}", page.html);
    assert!(page.has_authorize_form(), "{}", page.html);
    assert!(page.has_control("code"), "{}", page.html);
    assert!(page.csrf().is_some_and(|c| !c.is_empty()), "{}", page.html);
    assert!(page.control_values("decision").is_empty(), "no consent yet");
}

#[tokio::test]
async fn a_wrong_totp_code_shows_the_code_form_again_with_401() {
    let app = spawn_app().await;
    let (email, secret) = admin_with_totp(&app).await;
    let client = web_app(&app).await;
    let (mut browser, _, _) = signed_in(&app, &client, email).await;
    let page = browser.enter_code(&wrong_totp(&secret)).await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED, "{}", page.html);
    assert_eq!(page.step().as_deref(), Some("totp"), "{}", page.html);
    assert!(page.has_control("code"), "{}", page.html);
}

#[tokio::test]
async fn the_right_totp_code_leads_to_consent_and_a_token_that_works() {
    let app = spawn_app().await;
    let (email, secret) = admin_with_totp(&app).await;
    let client = web_app(&app).await;
    let (mut browser, _, flow) = signed_in(&app, &client, email).await;
    let page = browser.enter_code(&totp_now(&secret)).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(page.step().as_deref(), Some("consent"), "{}", page.html);
    let redirect = browser.decide("allow").await.redirect();
    let code = redirect
        .param("code")
        .unwrap_or_else(|| panic!("no code in {}", redirect.location));
    let tokens = Tokens::from_answer(&exchange(&app, &client, code, &flow.verifier).await);
    let who = me(&app, &tokens.access).await;
    assert_eq!(who.status, StatusCode::OK, "{}", who.body);
    assert_eq!(who.body["user"]["id"], app.admin_id);
}

#[tokio::test]
async fn the_consent_step_cannot_be_reached_without_the_totp_code() {
    let app = spawn_app().await;
    let (email, _) = admin_with_totp(&app).await;
    let client = web_app(&app).await;
    let (mut browser, page, _) = signed_in(&app, &client, email).await;
    assert_eq!(page.step().as_deref(), Some("totp"), "{}", page.html);
    let skipped = browser.decide("allow").await;
    assert_ne!(skipped.status, StatusCode::SEE_OTHER, "{}", skipped.html);
    assert!(
        skipped.status.is_client_error(),
        "{}: {}",
        skipped.status,
        skipped.html
    );
    assert_eq!(skipped.header("location"), None);
}

#[tokio::test]
async fn an_unconfirmed_totp_does_not_ask_for_a_code() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    start_totp(&app, &app.token).await;
    let client = web_app(&app).await;
    let (_, page, _) = signed_in(&app, &client, email).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(page.step().as_deref(), Some("consent"), "{}", page.html);
}

#[tokio::test]
async fn a_totp_code_is_accepted_only_once() {
    let app = spawn_app().await;
    let email = admin_with_password(&app).await;
    let secret = start_totp(&app, &app.token).await;
    let code = totp_now(&secret);
    let confirmed = app
        .post("/v1/me/totp/confirm", json!({ "code": code }))
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let client = web_app(&app).await;
    let (mut browser, page, _) = signed_in(&app, &client, email).await;
    assert_eq!(page.step().as_deref(), Some("totp"), "{}", page.html);
    let replayed = browser.enter_code(&code).await;
    assert_eq!(
        replayed.status,
        StatusCode::UNAUTHORIZED,
        "the code the confirmation used is spent (RFC 6238 5.2): {}",
        replayed.html
    );
}
