//! OAuth client apps: registered by admins, secrets shown once and kept as digests, rotated;
//! redirect URIs and grants checked against RFC 9700.

use crate::common::*;
use diesel::prelude::*;
use persistence::schema::oauth_clients;
use reqwest::Method;
use serde_json::{Value, json};

fn confidential() -> Value {
    json!({
        "name": "Acme reporting",
        "redirect_uris": ["https://reports.acme.test/oauth/callback"],
        "scopes": ["companies:read", "contacts:read"]
    })
}

fn stored_digest(app: &TestApp, id: i64) -> Option<String> {
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    oauth_clients::table
        .filter(oauth_clients::id.eq(id))
        .select(oauth_clients::secret_digest)
        .first::<Option<String>>(&mut conn)
        .unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn a_confidential_client_gets_an_id_and_a_secret_shown_once_and_stored_as_a_digest() {
    let app = spawn_app().await;
    let created = app.post("/v1/oauth-clients", confidential()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    let secret = created.body["client_secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(secret.starts_with("clt_cs_"));
    assert!(
        created.body["client_id"]
            .as_str()
            .is_some_and(|c| c.starts_with("clt_app_"))
    );
    assert_eq!(created.body["client_type"], "confidential");
    assert_eq!(
        created.body["grant_types"],
        json!(["authorization_code", "refresh_token"])
    );
    let id = created.id();
    assert_eq!(
        stored_digest(&app, id),
        Some(persistence::secrets::digest(&secret))
    );
    let shown = app.get(&format!("/v1/oauth-clients/{id}")).await;
    assert_eq!(shown.status, 200);
    assert!(shown.body.get("client_secret").is_none());
    assert!(
        !app.get("/v1/oauth-clients")
            .await
            .body
            .to_string()
            .contains(&secret)
    );
}

#[tokio::test]
async fn a_public_client_has_no_secret_and_no_client_credentials() {
    let app = spawn_app().await;
    let mut body = confidential();
    body["client_type"] = json!("public");
    let created = app.post("/v1/oauth-clients", body.clone()).await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["client_secret"], Value::Null);
    app.post(
        &format!("/v1/oauth-clients/{}/secret", created.id()),
        json!({}),
    )
    .await
    .assert_problem(409, "conflict");
    body["grant_types"] = json!(["client_credentials"]);
    let refused = app.post("/v1/oauth-clients", body).await;
    refused.assert_problem(422, "validation_failed");
    assert_eq!(refused.error_fields(), vec!["grant_types"]);
}

#[tokio::test]
async fn redirect_uris_and_grants_are_checked() {
    let app = spawn_app().await;
    for (uri, field) in [
        ("http://reports.acme.test/cb", "redirect_uris[0]"),
        ("https://reports.acme.test/cb#frag", "redirect_uris[0]"),
        ("reports.acme.test/cb", "redirect_uris[0]"),
    ] {
        let mut body = confidential();
        body["redirect_uris"] = json!([uri]);
        let answer = app.post("/v1/oauth-clients", body).await;
        answer.assert_problem(422, "validation_failed");
        assert_eq!(answer.error_fields(), vec![field], "{uri}");
    }
    let mut loopback = confidential();
    loopback["redirect_uris"] = json!(["http://127.0.0.1:8765/callback"]);
    assert_eq!(app.post("/v1/oauth-clients", loopback).await.status, 201);
    let mut implicit = confidential();
    implicit["grant_types"] = json!(["implicit"]);
    let answer = app.post("/v1/oauth-clients", implicit).await;
    assert_eq!(
        answer.body["errors"][0]["code"], "unsafe_grant",
        "{}",
        answer.body
    );
    let mut no_uri = confidential();
    no_uri["redirect_uris"] = json!([]);
    assert_eq!(
        app.post("/v1/oauth-clients", no_uri).await.error_fields(),
        vec!["redirect_uris"]
    );
    let mut machine = confidential();
    machine["redirect_uris"] = json!([]);
    machine["grant_types"] = json!(["client_credentials"]);
    assert_eq!(app.post("/v1/oauth-clients", machine).await.status, 201);
}

#[tokio::test]
async fn only_admins_with_the_admin_scope_manage_client_apps() {
    let app = spawn_app().await;
    let (_, member) = app.member("m@acme.test", "member", &["admin"]).await;
    app.post_as(&member, "/v1/oauth-clients", confidential())
        .await
        .assert_problem(403, "forbidden");
    app.get_as(&member, "/v1/oauth-clients")
        .await
        .assert_problem(403, "forbidden");
    let narrow = app.token_for(app.admin_id, &["companies:read", "companies:write"], None);
    app.post_as(&narrow, "/v1/oauth-clients", confidential())
        .await
        .assert_problem(403, "insufficient_scope");
}

#[tokio::test]
async fn rotating_the_secret_replaces_it_at_once() {
    let app = spawn_app().await;
    let created = app.post("/v1/oauth-clients", confidential()).await;
    let id = created.id();
    let old = created.body["client_secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let rotated = app
        .post(&format!("/v1/oauth-clients/{id}/secret"), json!({}))
        .await;
    assert_eq!(rotated.status, 201, "{}", rotated.body);
    let new = rotated.body["client_secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(new.starts_with("clt_cs_") && new != old);
    assert_eq!(
        stored_digest(&app, id),
        Some(persistence::secrets::digest(&new))
    );
    assert_ne!(rotated.body["secret_prefix"], created.body["secret_prefix"]);
}

#[tokio::test]
async fn a_client_app_is_changed_with_if_match_and_its_rules_still_hold() {
    let app = spawn_app().await;
    let id = app.post("/v1/oauth-clients", confidential()).await.id();
    let path = format!("/v1/oauth-clients/{id}");
    let changed = app
        .request(
            Method::PATCH,
            &path,
            Some(&app.token),
            Some(&json!({"name": "Reports", "redirect_uris": ["https://reports.acme.test/v2/cb"]})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(
        changed.body["redirect_uris"],
        json!(["https://reports.acme.test/v2/cb"])
    );
    let stale = app
        .request(
            Method::PATCH,
            &path,
            Some(&app.token),
            Some(&json!({"name": "X"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    stale.assert_problem(412, "precondition_failed");
    let emptied = app.patch(&path, json!({"redirect_uris": []})).await;
    emptied.assert_problem(422, "validation_failed");
    assert_eq!(emptied.error_fields(), vec!["redirect_uris"]);
}

#[tokio::test]
async fn another_accounts_client_apps_do_not_exist_and_a_deleted_one_is_gone() {
    let app = spawn_app().await;
    let id = app.post("/v1/oauth-clients", confidential()).await.id();
    let other = app.other_account("Globex");
    let path = format!("/v1/oauth-clients/{id}");
    app.get_as(&other, &path)
        .await
        .assert_problem(404, "not_found");
    app.delete_as(&other, &path)
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        app.get_as(&other, "/v1/oauth-clients").await.body["data"],
        json!([])
    );
    assert_eq!(app.delete(&path).await.status, 204);
    app.get(&path).await.assert_problem(404, "not_found");
}
