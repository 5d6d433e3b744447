//! The client-credentials grant: a confidential app acting for its account, with the app as the
//! token's subject, no refresh token, and no more than the scopes it was registered with.

use std::time::Duration;

use crate::common::oauth::*;
use crate::common::*;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn the_oauth2_crate_gets_a_client_credentials_token_that_acts_for_the_account() {
    use oauth2::basic::{BasicClient, BasicTokenType};
    use oauth2::{ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};

    let app = spawn_app().await;
    let registered = machine_app(&app, &["companies:read", "contacts:read"]).await;
    let client = BasicClient::new(ClientId::new(registered.client_id.clone()))
        .set_client_secret(ClientSecret::new(registered.secret().to_owned()))
        .set_token_uri(
            TokenUrl::new(format!("{}/oauth/token", app.base)).unwrap_or_else(|e| panic!("{e}")),
        );
    let http = oauth2::reqwest::Client::builder()
        .redirect(oauth2::reqwest::redirect::Policy::none())
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    let tokens = client
        .exchange_client_credentials()
        .add_scope(Scope::new("companies:read".to_owned()))
        .request_async(&http)
        .await
        .unwrap_or_else(|e| panic!("the client-credentials grant failed: {e:?}"));
    assert_eq!(*tokens.token_type(), BasicTokenType::Bearer);
    assert_eq!(tokens.expires_in(), Some(Duration::from_secs(3600)));
    assert!(tokens.refresh_token().is_none(), "never a refresh token");
    let granted: Vec<String> = tokens
        .scopes()
        .map(|s| s.iter().map(|s| s.as_str().to_owned()).collect())
        .unwrap_or_default();
    assert_eq!(granted, vec!["companies:read"]);

    let access = tokens.access_token().secret();
    let who = me(&app, access).await;
    assert_eq!(who.status, StatusCode::OK, "{}", who.body);
    assert_eq!(who.body["user"], serde_json::Value::Null, "{}", who.body);
    assert_eq!(who.body["client"]["id"], registered.id, "{}", who.body);
    assert_eq!(
        who.body["client"]["client_id"],
        registered.client_id.as_str()
    );
    assert_eq!(who.body["client"]["name"], "Acme nightly sync");
    assert_eq!(who.body["account"]["id"], app.account_id);
    assert_eq!(
        app.get_as(access, "/v1/companies").await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_client_credentials_token_has_the_app_as_subject_and_no_refresh_token() {
    let app = spawn_app().await;
    let client = register(
        &app,
        json!({
            "name": "Acme everything",
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "client_credentials", "refresh_token"],
            "scopes": ["companies:read"],
        }),
    )
    .await;
    let answer = client_credentials(&app, &client, None).await;
    assert!(
        answer
            .header("cache-control")
            .is_some_and(|c| c.contains("no-store")),
        "{:?}",
        answer.headers
    );
    let tokens = Tokens::from_answer(&answer);
    assert_eq!(tokens.refresh, None, "{}", tokens.body);
    let token = jwt(&tokens.access);
    assert_eq!(token.header["typ"], "at+jwt");
    assert_eq!(token.claims["sub"], client.client_id.as_str());
    assert_eq!(token.claims["client_id"], client.client_id.as_str());
    assert_eq!(token.claims["account_id"], app.account_id);
    assert_eq!(token.claims["iss"], app.base.as_str());
    assert_eq!(token.claims["scope"], "companies:read");
}

#[tokio::test]
async fn without_a_scope_the_token_gets_all_the_apps_scopes() {
    let app = spawn_app().await;
    let client = machine_app(&app, &["contacts:read", "companies:read"]).await;
    let tokens = Tokens::from_answer(&client_credentials(&app, &client, None).await);
    assert_eq!(
        scope_list(tokens.body["scope"].as_str().unwrap_or_default()),
        vec!["companies:read", "contacts:read"]
    );
}

#[tokio::test]
async fn a_scope_beyond_the_apps_is_invalid_scope() {
    let app = spawn_app().await;
    let client = machine_app(&app, &["companies:read"]).await;
    for scope in [
        "companies:write",
        "companies:read contacts:read",
        "admin",
        "bogus",
    ] {
        assert_oauth_error(
            &client_credentials(&app, &client, Some(scope)).await,
            400,
            "invalid_scope",
        );
    }
}

#[tokio::test]
async fn client_secret_post_is_accepted_for_client_credentials() {
    let app = spawn_app().await;
    let client = machine_app(&app, &["companies:read"]).await;
    let answer = oauth_post(
        &app,
        "/oauth/token",
        ClientAuth::Post(&client.client_id, client.secret()),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}

#[tokio::test]
async fn a_wrong_secret_is_invalid_client_with_401() {
    let app = spawn_app().await;
    let client = machine_app(&app, &["companies:read"]).await;
    for auth in [
        ClientAuth::Basic(&client.client_id, "clt_cs_not-the-secret"),
        ClientAuth::Post(&client.client_id, "clt_cs_not-the-secret"),
        ClientAuth::Public(&client.client_id),
    ] {
        let answer = oauth_post(
            &app,
            "/oauth/token",
            auth,
            &[("grant_type", "client_credentials")],
        )
        .await;
        assert_oauth_error(&answer, 401, "invalid_client");
        assert!(answer.body.get("access_token").is_none());
    }
}

#[tokio::test]
async fn the_token_does_what_its_scopes_allow_and_no_more() {
    let app = spawn_app().await;
    let client = machine_app(&app, &["companies:read", "companies:write"]).await;
    let writer = Tokens::from_answer(
        &client_credentials(&app, &client, Some("companies:read companies:write")).await,
    );
    let created = app
        .post_as(&writer.access, "/v1/companies", json!({"name": "Initech"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let reader =
        Tokens::from_answer(&client_credentials(&app, &client, Some("companies:read")).await);
    app.post_as(&reader.access, "/v1/companies", json!({"name": "Hooli"}))
        .await
        .assert_problem(403, "insufficient_scope");
    let contacts = app.get_as(&writer.access, "/v1/contacts").await;
    assert_eq!(contacts.status, StatusCode::FORBIDDEN, "{}", contacts.body);
}

#[tokio::test]
async fn the_token_sees_only_its_own_accounts_records() {
    let app = spawn_app().await;
    app.company("Acme Corp").await;
    let globex = app.other_account("Globex");
    let theirs = app
        .post_as(&globex, "/v1/companies", json!({"name": "Globex Corp"}))
        .await;
    assert_eq!(theirs.status, StatusCode::CREATED, "{}", theirs.body);
    let client = machine_app(&app, &["companies:read"]).await;
    let tokens = Tokens::from_answer(&client_credentials(&app, &client, None).await);
    let listed = app.get_as(&tokens.access, "/v1/companies").await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let names: Vec<&str> = listed.body["data"]
        .as_array()
        .map(|l| l.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, vec!["Acme Corp"]);
    app.get_as(&tokens.access, &format!("/v1/companies/{}", theirs.id()))
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn introspecting_a_client_credentials_token_names_the_app_as_subject() {
    let app = spawn_app().await;
    let client = machine_app(&app, &["companies:read"]).await;
    let tokens = Tokens::from_answer(&client_credentials(&app, &client, None).await);
    let answer = introspect(&app, &client, &tokens.access).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["active"], true, "{}", answer.body);
    assert_eq!(answer.body["sub"], client.client_id.as_str());
    assert_eq!(answer.body["client_id"], client.client_id.as_str());
    assert_eq!(answer.body["scope"], "companies:read");
    assert_eq!(answer.body["account_id"], app.account_id);
}

#[tokio::test]
async fn a_revoked_client_credentials_token_is_refused() {
    let app = spawn_app().await;
    let client = machine_app(&app, &["companies:read"]).await;
    let tokens = Tokens::from_answer(&client_credentials(&app, &client, None).await);
    let answer = revoke(&app, &client, &tokens.access, Some("access_token")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_refused(&app, &tokens.access).await;
    assert_eq!(
        introspect(&app, &client, &tokens.access).await.body,
        json!({"active": false})
    );
}

#[tokio::test]
async fn deleting_the_app_stops_its_client_credentials_tokens() {
    let app = spawn_app().await;
    let client = machine_app(&app, &["companies:read"]).await;
    let tokens = Tokens::from_answer(&client_credentials(&app, &client, None).await);
    assert_eq!(me(&app, &tokens.access).await.status, StatusCode::OK);
    assert_eq!(
        app.delete(&format!("/v1/oauth-clients/{}", client.id))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_refused(&app, &tokens.access).await;
    assert_oauth_error(
        &client_credentials(&app, &client, None).await,
        401,
        "invalid_client",
    );
}

#[tokio::test]
async fn a_rotated_secret_replaces_the_old_one_at_the_token_endpoint() {
    let app = spawn_app().await;
    let client = machine_app(&app, &["companies:read"]).await;
    let rotated = app
        .post(
            &format!("/v1/oauth-clients/{}/secret", client.id),
            json!({}),
        )
        .await;
    assert_eq!(rotated.status, StatusCode::CREATED, "{}", rotated.body);
    let new_secret = rotated.body["client_secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_oauth_error(
        &client_credentials(&app, &client, None).await,
        401,
        "invalid_client",
    );
    let answer = oauth_post(
        &app,
        "/oauth/token",
        ClientAuth::Basic(&client.client_id, &new_secret),
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
}
