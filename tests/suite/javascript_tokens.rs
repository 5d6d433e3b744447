//! JavaScript tokens: read scopes only, usable only from the origins listed for them, with CORS
//! that allows exactly those origins.

use crate::common::*;
use reqwest::Method;
use serde_json::json;

const INTRANET: &str = "https://intranet.acme.test";

/// Creates a JavaScript token for `origins` and returns its secret.
async fn javascript_token(app: &TestApp, origins: &[&str]) -> String {
    let created = app
        .post(
            "/v1/tokens",
            json!({"name": "widget", "kind": "javascript", "allowed_origins": origins}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.body["token_secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[tokio::test]
async fn a_javascript_token_is_prefixed_read_only_and_lists_its_origins() {
    let app = spawn_app().await;
    let created = app
        .post("/v1/tokens", json!({"name": "widget", "kind": "javascript", "allowed_origins": ["HTTPS://Intranet.Acme.test/"]}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert!(
        created.body["token_secret"]
            .as_str()
            .is_some_and(|s| s.starts_with("clt_js_"))
    );
    assert_eq!(created.body["kind"], "javascript");
    assert_eq!(created.body["allowed_origins"], json!([INTRANET]));
    let scopes: Vec<String> =
        serde_json::from_value(created.body["scopes"].clone()).unwrap_or_default();
    assert!(
        !scopes.is_empty() && scopes.iter().all(|s| s.ends_with(":read")),
        "{scopes:?}"
    );
    let listed = app.get("/v1/tokens").await;
    assert!(
        listed.body["data"]
            .as_array()
            .is_some_and(|l| l.iter().any(|t| t["allowed_origins"] == json!([INTRANET])))
    );
}

#[tokio::test]
async fn a_javascript_token_with_a_write_scope_is_refused() {
    let app = spawn_app().await;
    let answer = app
        .post(
            "/v1/tokens",
            json!({"name": "w", "kind": "javascript", "allowed_origins": [INTRANET], "scopes": ["companies:read", "companies:write"]}),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), vec!["scopes"]);
}

#[tokio::test]
async fn origins_are_required_valid_and_only_for_javascript_tokens() {
    let app = spawn_app().await;
    let missing = app
        .post("/v1/tokens", json!({"name": "w", "kind": "javascript"}))
        .await;
    assert_eq!(missing.error_fields(), vec!["allowed_origins"]);
    let bad = app
        .post("/v1/tokens", json!({"name": "w", "kind": "javascript", "allowed_origins": [INTRANET, "https://acme.test/page"]}))
        .await;
    assert_eq!(bad.error_fields(), vec!["allowed_origins[1]"]);
    let personal = app
        .post(
            "/v1/tokens",
            json!({"name": "p", "allowed_origins": [INTRANET]}),
        )
        .await;
    assert_eq!(personal.error_fields(), vec!["allowed_origins"]);
    let kind = app
        .post("/v1/tokens", json!({"name": "k", "kind": "magic"}))
        .await;
    assert_eq!(kind.error_fields(), vec!["kind"]);
}

#[tokio::test]
async fn a_request_from_a_listed_origin_is_answered_with_cors_headers() {
    let app = spawn_app().await;
    let token = javascript_token(&app, &[INTRANET]).await;
    let answer = app
        .request(
            Method::GET,
            "/v1/companies",
            Some(&token),
            None,
            &[("origin", INTRANET)],
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("access-control-allow-origin"), Some(INTRANET));
    assert_eq!(answer.header("vary"), Some("Origin"));
    assert!(
        answer
            .header("access-control-expose-headers")
            .is_some_and(|h| h.contains("ETag"))
    );
}

#[tokio::test]
async fn a_request_from_another_origin_or_none_is_refused() {
    let app = spawn_app().await;
    let token = javascript_token(&app, &[INTRANET]).await;
    let other = app
        .request(
            Method::GET,
            "/v1/companies",
            Some(&token),
            None,
            &[("origin", "https://evil.test")],
        )
        .await;
    other.assert_problem(403, "origin_not_allowed");
    assert_eq!(other.header("access-control-allow-origin"), None);
    let none = app.get_as(&token, "/v1/companies").await;
    none.assert_problem(403, "origin_not_allowed");
}

#[tokio::test]
async fn a_javascript_token_cannot_write() {
    let app = spawn_app().await;
    let token = javascript_token(&app, &[INTRANET]).await;
    let answer = app
        .request(
            Method::POST,
            "/v1/companies",
            Some(&token),
            Some(&json!({"name": "X"})),
            &[("origin", INTRANET)],
        )
        .await;
    answer.assert_problem(403, "insufficient_scope");
}

async fn preflight(app: &TestApp, origin: &str) -> Answer {
    let headers = [
        ("origin", origin),
        ("access-control-request-method", "GET"),
        ("access-control-request-headers", "authorization"),
    ];
    app.request(Method::OPTIONS, "/v1/companies", None, None, &headers)
        .await
}

#[tokio::test]
async fn a_preflight_allows_exactly_the_listed_origins() {
    let app = spawn_app().await;
    javascript_token(&app, &[INTRANET]).await;
    let allowed = preflight(&app, INTRANET).await;
    assert_eq!(allowed.status, 204);
    assert_eq!(
        allowed.header("access-control-allow-origin"),
        Some(INTRANET)
    );
    assert!(
        allowed
            .header("access-control-allow-headers")
            .is_some_and(|h| h.contains("Authorization"))
    );
    let refused = preflight(&app, "https://evil.test").await;
    refused.assert_problem(403, "origin_not_allowed");
    assert_eq!(refused.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn a_revoked_javascript_token_no_longer_opens_its_origin() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/v1/tokens",
            json!({"name": "widget", "kind": "javascript", "allowed_origins": [INTRANET]}),
        )
        .await;
    assert_eq!(
        app.delete(&format!("/v1/tokens/{}", created.id()))
            .await
            .status,
        204
    );
    let preflight = app
        .request(
            Method::OPTIONS,
            "/v1/companies",
            None,
            None,
            &[
                ("origin", INTRANET),
                ("access-control-request-method", "GET"),
            ],
        )
        .await;
    preflight.assert_problem(403, "origin_not_allowed");
}

#[tokio::test]
async fn personal_tokens_get_no_cors_headers() {
    let app = spawn_app().await;
    let answer = app
        .request(
            Method::GET,
            "/v1/me",
            Some(&app.token),
            None,
            &[("origin", INTRANET)],
        )
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("access-control-allow-origin"), None);
}
