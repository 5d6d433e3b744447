//! Access: bearer tokens, their scopes, the caller's role, and personal access tokens.

use crate::common::*;
use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::json;

#[tokio::test]
async fn me_tells_the_caller_who_they_are() {
    let app = spawn_app().await;
    let me = app.get("/v1/me").await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["user"]["email"], "admin@acme.test");
    assert_eq!(me.body["account"]["name"], "Acme Consulting");
    assert_eq!(me.body["role"], "admin");
    assert_eq!(me.body["scopes"], json!(["admin"]));
}

#[tokio::test]
async fn a_missing_token_is_401_with_a_bearer_challenge() {
    let app = spawn_app().await;
    let answer = app.request(Method::GET, "/v1/me", None, None, &[]).await;
    answer.assert_problem(401, "unauthorized");
    assert!(
        answer
            .header("www-authenticate")
            .is_some_and(|v| v.starts_with("Bearer"))
    );
}

#[tokio::test]
async fn an_unknown_or_malformed_token_is_401() {
    let app = spawn_app().await;
    app.get_as("clt_pat_not-a-real-token", "/v1/me")
        .await
        .assert_problem(401, "unauthorized");
    let basic = app
        .request(
            Method::GET,
            "/v1/me",
            None,
            None,
            &[("authorization", "Basic YTpi")],
        )
        .await;
    basic.assert_problem(401, "unauthorized");
}

#[tokio::test]
async fn an_expired_token_is_401() {
    let app = spawn_app().await;
    let expired = app.token_for(
        app.admin_id,
        &["admin"],
        Some(Utc::now() - Duration::minutes(1)),
    );
    app.get_as(&expired, "/v1/me")
        .await
        .assert_problem(401, "unauthorized");
}

#[tokio::test]
async fn a_created_token_is_shown_once_prefixed_and_works() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/v1/tokens",
            json!({"name": "sync", "scopes": ["companies:read"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let secret = created.body["token_secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(secret.starts_with("clt_pat_"));
    assert_eq!(created.body["scopes"], json!(["companies:read"]));
    assert_eq!(app.get_as(&secret, "/v1/companies").await.status, 200);
    let id = created.id();
    let shown = app.get(&format!("/v1/tokens/{id}")).await;
    assert_eq!(shown.status, 200);
    assert!(
        shown.body.get("token_secret").is_none(),
        "the secret is never shown again"
    );
    let listed = app.get("/v1/tokens").await;
    assert!(!listed.body.to_string().contains(&secret));
}

#[tokio::test]
async fn tokens_are_stored_only_as_digests() {
    let app = spawn_app().await;
    let created = app.post("/v1/tokens", json!({"name": "sync"})).await;
    let secret = created.body["token_secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let digest = persistence::secrets::digest(&secret);
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    use diesel::prelude::*;
    use persistence::schema::api_tokens;
    let stored: Vec<String> = api_tokens::table
        .select(api_tokens::secret_digest)
        .load(&mut conn)
        .unwrap_or_default();
    assert!(stored.contains(&digest));
    assert!(!stored.contains(&secret));
}

#[tokio::test]
async fn a_revoked_token_stops_working_at_once() {
    let app = spawn_app().await;
    let created = app.post("/v1/tokens", json!({"name": "temp"})).await;
    let secret = created.body["token_secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(app.get_as(&secret, "/v1/me").await.status, 200);
    assert_eq!(
        app.delete(&format!("/v1/tokens/{}", created.id()))
            .await
            .status,
        204
    );
    app.get_as(&secret, "/v1/me")
        .await
        .assert_problem(401, "unauthorized");
    assert!(
        app.get("/v1/tokens").await.body["data"]
            .as_array()
            .is_some_and(|l| l.len() == 1)
    );
}

#[tokio::test]
async fn a_token_cannot_carry_more_than_its_creator_may_do() {
    let app = spawn_app().await;
    let (_, member) = app.member("m@acme.test", "member", &["admin"]).await;
    let answer = app
        .post_as(
            &member,
            "/v1/tokens",
            json!({"name": "x", "scopes": ["users:write"]}),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), vec!["scopes"]);
    let narrow = app.token_for(app.admin_id, &["companies:read", "tokens:write"], None);
    let widened = app
        .post_as(
            &narrow,
            "/v1/tokens",
            json!({"name": "x", "scopes": ["companies:write"]}),
        )
        .await;
    widened.assert_problem(422, "validation_failed");
}

#[tokio::test]
async fn token_requests_with_bad_fields_name_them() {
    let app = spawn_app().await;
    let answer = app
        .post(
            "/v1/tokens",
            json!({"name": "", "scopes": ["ships:sail"], "expires_at": "2001-01-01T00:00:00Z"}),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    let fields = answer.error_fields();
    assert!(fields.contains(&"name".to_owned()), "{fields:?}");
}

#[tokio::test]
async fn a_token_name_must_be_one_line_of_text() {
    let app = spawn_app().await;
    let answer = app.post("/v1/tokens", json!({"name": "a\u{0}b"})).await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), vec!["name"]);
}

#[tokio::test]
async fn a_token_without_the_scope_gets_403_insufficient_scope() {
    let app = spawn_app().await;
    let read_only = app.token_for(app.admin_id, &["companies:read"], None);
    let answer = app
        .post_as(&read_only, "/v1/companies", json!({"name": "Acme"}))
        .await;
    answer.assert_problem(403, "insufficient_scope");
    assert!(
        answer
            .header("www-authenticate")
            .is_some_and(|v| v.contains("companies:write"))
    );
    app.get_as(&read_only, "/v1/contacts")
        .await
        .assert_problem(403, "insufficient_scope");
}

#[tokio::test]
async fn a_viewer_gets_403_forbidden_on_writes_whatever_the_token_says() {
    let app = spawn_app().await;
    let (_, viewer) = app.member("v@acme.test", "viewer", &["admin"]).await;
    assert_eq!(app.get_as(&viewer, "/v1/companies").await.status, 200);
    app.post_as(&viewer, "/v1/companies", json!({"name": "Acme"}))
        .await
        .assert_problem(403, "forbidden");
}

#[tokio::test]
async fn another_users_token_cannot_be_seen_or_revoked() {
    let app = spawn_app().await;
    let (_, member) = app.member("m@acme.test", "member", &["admin"]).await;
    let mine = app
        .post("/v1/tokens", json!({"name": "admin's"}))
        .await
        .id();
    app.get_as(&member, &format!("/v1/tokens/{mine}"))
        .await
        .assert_problem(404, "not_found");
    app.delete_as(&member, &format!("/v1/tokens/{mine}"))
        .await
        .assert_problem(404, "not_found");
}
