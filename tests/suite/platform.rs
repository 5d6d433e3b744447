//! The service around the API: health, request ids, the OpenAPI document and its page, errors
//! for routes that do not exist, and the two migration folders.

use crate::common::*;
use reqwest::Method;

#[tokio::test]
async fn healthz_and_readyz_answer_without_a_token() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz"] {
        let answer = app.request(Method::GET, path, None, None, &[]).await;
        assert_eq!(answer.status, 200, "{path}");
        assert_eq!(answer.body["status"], "ok");
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_a_sane_one_is_echoed() {
    let app = spawn_app().await;
    let generated = app.request(Method::GET, "/healthz", None, None, &[]).await;
    assert!(
        generated
            .header("x-request-id")
            .is_some_and(|id| id.len() >= 16)
    );
    let echoed = app
        .request(
            Method::GET,
            "/healthz",
            None,
            None,
            &[("x-request-id", "abc-123")],
        )
        .await;
    assert_eq!(echoed.header("x-request-id"), Some("abc-123"));
    let unsafe_id = app
        .request(
            Method::GET,
            "/healthz",
            None,
            None,
            &[("x-request-id", "a b\"c")],
        )
        .await;
    assert_ne!(unsafe_id.header("x-request-id"), Some("a b\"c"));
}

#[tokio::test]
async fn the_openapi_document_is_served_and_is_the_committed_one() {
    let app = spawn_app().await;
    let answer = app
        .request(Method::GET, "/openapi.json", None, None, &[])
        .await;
    assert_eq!(answer.status, 200);
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .unwrap_or_default(),
    )
    .unwrap_or_default();
    assert_eq!(
        answer.body, committed,
        "regenerate with: cargo run -p openapi --bin generate-openapi"
    );
    assert!(answer.body["components"]["securitySchemes"]["bearer"].is_object());
}

#[tokio::test]
async fn the_api_reference_page_is_served_from_the_binary() {
    let app = spawn_app().await;
    let redirect = app.request(Method::GET, "/docs", None, None, &[]).await;
    assert!(redirect.status.is_redirection(), "{}", redirect.status);
    let page = app.request(Method::GET, "/docs/", None, None, &[]).await;
    assert_eq!(page.status, 200);
    assert!(
        page.body
            .as_str()
            .is_some_and(|html| html.contains("swagger")),
        "{}",
        page.body
    );
}

/// The settings Swagger UI starts with, from the initializer script `/docs/` loads: the
/// object literal given to `SwaggerUIBundle({...})` (its JSON part) and the one given to
/// `ui.initOAuth(...)`.
fn initializer_settings(script: &str) -> (serde_json::Value, serde_json::Value) {
    let between = |start: &str, end: &str| -> String {
        let from = script
            .find(start)
            .map(|i| i + start.len())
            .unwrap_or_else(|| panic!("no `{start}` in {script}"));
        let to = script[from..]
            .find(end)
            .map(|i| from + i)
            .unwrap_or_else(|| panic!("no `{end}` after `{start}` in {script}"));
        script[from..to].trim().trim_end_matches(',').to_owned()
    };
    let parse = |json: String| -> serde_json::Value {
        serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"))
    };
    let bundle = parse(format!("{{{}}}", between("SwaggerUIBundle({", "presets:")));
    let oauth = parse(between("ui.initOAuth(", ");"));
    (bundle, oauth)
}

#[tokio::test]
async fn the_api_reference_page_authorizes_with_the_code_flow_and_pkce_back_to_itself() {
    let app = spawn_app().await;
    let script = app
        .request(Method::GET, "/docs/swagger-initializer.js", None, None, &[])
        .await;
    assert_eq!(script.status, 200);
    let script = script.body.as_str().unwrap_or_default().to_owned();
    let (bundle, oauth) = initializer_settings(&script);
    assert_eq!(bundle["url"], "/openapi.json", "{script}");
    let redirect = format!("{}/docs/oauth2-redirect.html", app.base);
    assert_eq!(bundle["oauth2RedirectUrl"], redirect.as_str(), "{script}");
    assert_eq!(oauth["usePkceWithAuthorizationCodeGrant"], true, "{script}");
    assert_eq!(oauth["scopeSeparator"], " ", "{script}");
    assert!(oauth["appName"].is_string(), "{script}");
    for left_to_the_reader in ["clientId", "clientSecret"] {
        assert!(oauth[left_to_the_reader].is_null(), "{script}");
    }
    assert_ne!(
        oauth["useBasicAuthenticationWithAccessCodeGrant"], true,
        "a public client sends its client_id in the body: {script}"
    );

    // The redirect page the popup comes back to is served beside the page.
    let back = app
        .request(Method::GET, "/docs/oauth2-redirect.html", None, None, &[])
        .await;
    assert_eq!(back.status, 200);
    assert!(
        back.header("content-type")
            .is_some_and(|c| c.starts_with("text/html"))
    );
    assert!(
        back.body
            .as_str()
            .is_some_and(|html| html.contains("swaggerUIRedirectOauth2")),
        "{}",
        back.body
    );

    // The dialog's endpoints are this server's, same origin as the page.
    let spec = app
        .request(Method::GET, "/openapi.json", None, None, &[])
        .await;
    let flow = &spec.body["components"]["securitySchemes"]["oauth2"]["flows"]["authorizationCode"];
    assert_eq!(flow["authorizationUrl"], "/oauth/authorize", "{flow}");
    assert_eq!(flow["tokenUrl"], "/oauth/token", "{flow}");
}

#[tokio::test]
async fn unknown_routes_and_methods_answer_problem_json() {
    let app = spawn_app().await;
    app.get("/v1/nothing-here")
        .await
        .assert_problem(404, "not_found");
    app.request(Method::PUT, "/v1/companies", Some(&app.token), None, &[])
        .await
        .assert_problem(405, "method_not_allowed");
}

#[test]
fn both_migration_folders_hold_the_same_migrations() {
    let names = |backend: &str| {
        let dir = format!("{}/migrations/{backend}", env!("CARGO_MANIFEST_DIR"));
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {dir}: {e}"))
            .filter_map(|entry| entry.ok())
            .map(|entry| entry.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let postgres = names("postgres");
    assert!(!postgres.is_empty());
    assert_eq!(
        postgres,
        names("sqlite"),
        "every migration needs a PostgreSQL and a SQLite version of the same name"
    );
}
