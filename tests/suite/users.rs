//! End-to-end tests of `/v1/users`: team members, who may manage them, the last-admin rule,
//! deactivation, tenancy and optimistic concurrency.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The users of a list answer.
fn users(answer: &Answer) -> Vec<Value> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body["data"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| panic!("no data in {}", answer.body))
}

#[tokio::test]
async fn an_admin_lists_the_team_and_finds_themselves() {
    let app = spawn_app().await;
    let list = app.get("/v1/users").await;
    let team = users(&list);
    assert_eq!(team.len(), 1, "{}", list.body);
    assert_eq!(team[0]["id"], app.admin_id);
    assert_eq!(team[0]["email"], "admin@acme.test");
    assert_eq!(team[0]["role"], "admin");
    assert_eq!(team[0]["active"], true);
    assert_eq!(list.body["next_cursor"], Value::Null);
}

#[tokio::test]
async fn an_admin_adds_a_member_whose_role_defaults_to_member() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/v1/users",
            json!({ "email": "mia@acme.test", "name": "Mia Member" }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.id();
    assert_eq!(created.header("etag"), Some("\"1\""));
    let location = format!("/v1/users/{id}");
    assert_eq!(created.header("location"), Some(location.as_str()));
    assert_eq!(created.body["role"], "member");
    assert_eq!(created.body["active"], true);
    assert_eq!(created.body["email"], "mia@acme.test");
    assert_eq!(created.body["name"], "Mia Member");

    let read = app.get(&location).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.body["role"], "member");
    let team = users(&app.get("/v1/users").await);
    assert!(
        team.iter().any(|u| u["id"] == id),
        "the new member is listed"
    );
}

#[tokio::test]
async fn an_email_already_on_the_team_is_refused_whatever_its_case() {
    let app = spawn_app().await;
    let first = app
        .post(
            "/v1/users",
            json!({ "email": "Bea@Acme.test", "name": "Bea" }),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);

    let again = app
        .post(
            "/v1/users",
            json!({ "email": "bea@ACME.TEST", "name": "Bea Again" }),
        )
        .await;
    again.assert_problem(409, "conflict");

    let admin_again = app
        .post(
            "/v1/users",
            json!({ "email": "ADMIN@acme.test", "name": "Impostor" }),
        )
        .await;
    admin_again.assert_problem(409, "conflict");
    assert_eq!(users(&app.get("/v1/users").await).len(), 2);
}

#[tokio::test]
async fn an_invalid_email_is_refused_and_named() {
    let app = spawn_app().await;
    let answer = app
        .post(
            "/v1/users",
            json!({ "email": "not-an-email", "name": "Nobody" }),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    assert!(
        answer.error_fields().contains(&"email".to_owned()),
        "{}",
        answer.body
    );
    assert!(
        !answer.error_fields().contains(&"name".to_owned()),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn an_unknown_role_is_refused_and_named() {
    let app = spawn_app().await;
    let answer = app
        .post(
            "/v1/users",
            json!({ "email": "bob@acme.test", "name": "Bob", "role": "owner" }),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), vec!["role".to_owned()]);
    assert_eq!(
        users(&app.get("/v1/users").await).len(),
        1,
        "nothing was created"
    );
}

#[tokio::test]
async fn an_unknown_role_in_a_patch_is_refused_and_named() {
    let app = spawn_app().await;
    let (id, _) = app.member("mia@acme.test", "member", &["admin"]).await;
    let answer = app
        .patch(&format!("/v1/users/{id}"), json!({ "role": "superuser" }))
        .await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), vec!["role".to_owned()]);
}

#[tokio::test]
async fn a_member_cannot_add_team_members() {
    let app = spawn_app().await;
    let (_, member) = app.member("mia@acme.test", "member", &["admin"]).await;
    let answer = app
        .post_as(
            &member,
            "/v1/users",
            json!({ "email": "eve@acme.test", "name": "Eve" }),
        )
        .await;
    answer.assert_problem(403, "forbidden");

    let read = app.get_as(&member, "/v1/users").await;
    assert_eq!(
        read.status,
        StatusCode::OK,
        "everyone reads the team; {}",
        read.body
    );
    assert_eq!(users(&read).len(), 2);
}

#[tokio::test]
async fn an_admin_token_narrowed_to_users_read_cannot_add_team_members() {
    let app = spawn_app().await;
    let reader = app.token_for(app.admin_id, &["users:read"], None);
    let answer = app
        .post_as(
            &reader,
            "/v1/users",
            json!({ "email": "eve@acme.test", "name": "Eve" }),
        )
        .await;
    answer.assert_problem(403, "insufficient_scope");
    assert_eq!(users(&app.get_as(&reader, "/v1/users").await).len(), 1);
}

#[tokio::test]
async fn the_last_active_admin_cannot_demote_themselves() {
    let app = spawn_app().await;
    let path = format!("/v1/users/{}", app.admin_id);
    let answer = app.patch(&path, json!({ "role": "member" })).await;
    answer.assert_problem(409, "last_admin");

    let read = app.get(&path).await;
    assert_eq!(read.body["role"], "admin");
    assert_eq!(read.body["version"], 1);
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_deactivated() {
    let app = spawn_app().await;
    let path = format!("/v1/users/{}", app.admin_id);
    let answer = app.delete(&path).await;
    answer.assert_problem(409, "last_admin");

    let read = app.get(&path).await;
    assert_eq!(read.body["active"], true);
    let me = app.get("/v1/me").await;
    assert_eq!(
        me.status,
        StatusCode::OK,
        "the admin still works; {}",
        me.body
    );
}

#[tokio::test]
async fn the_last_active_admin_cannot_be_deactivated_through_patch_either() {
    let app = spawn_app().await;
    let answer = app
        .patch(
            &format!("/v1/users/{}", app.admin_id),
            json!({ "active": false }),
        )
        .await;
    answer.assert_problem(409, "last_admin");
}

#[tokio::test]
async fn with_a_second_admin_the_first_can_be_demoted() {
    let app = spawn_app().await;
    let (second, second_token) = app.member("sam@acme.test", "admin", &["admin"]).await;
    let answer = app
        .patch(
            &format!("/v1/users/{}", app.admin_id),
            json!({ "role": "member" }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.body["role"], "member");
    assert_eq!(answer.header("etag"), Some("\"2\""));

    // The demoted admin's token no longer carries admin rights...
    let demoted = app
        .patch(&format!("/v1/users/{second}"), json!({ "role": "viewer" }))
        .await;
    demoted.assert_problem(403, "forbidden");
    // ...and the second admin is now the last one.
    let last = app
        .patch_as(
            &second_token,
            &format!("/v1/users/{second}"),
            json!({ "role": "member" }),
        )
        .await;
    last.assert_problem(409, "last_admin");
}

#[tokio::test]
async fn deactivating_a_member_keeps_them_inactive_and_stops_their_tokens() {
    let app = spawn_app().await;
    let (id, token) = app.member("mia@acme.test", "member", &["admin"]).await;
    let before = app.get_as(&token, "/v1/me").await;
    assert_eq!(before.status, StatusCode::OK, "{}", before.body);

    let path = format!("/v1/users/{id}");
    let deleted = app.delete(&path).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);

    let read = app.get(&path).await;
    assert_eq!(
        read.status,
        StatusCode::OK,
        "the member is kept; {}",
        read.body
    );
    assert_eq!(read.body["active"], false);
    assert_eq!(read.body["version"], 2);

    let after = app.get_as(&token, "/v1/me").await;
    after.assert_problem(401, "unauthorized");
}

#[tokio::test]
async fn another_accounts_team_member_is_not_found() {
    let app = spawn_app().await;
    let other = app.other_account("Initech");
    let me = app.get_as(&other, "/v1/me").await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.body);
    let their_admin = me.body["user"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no user id in {}", me.body));
    let path = format!("/v1/users/{their_admin}");

    app.get(&path).await.assert_problem(404, "not_found");
    app.patch(&path, json!({ "name": "Mallory" }))
        .await
        .assert_problem(404, "not_found");
    app.delete(&path).await.assert_problem(404, "not_found");

    let theirs = app.get_as(&other, &path).await;
    assert_eq!(theirs.status, StatusCode::OK, "{}", theirs.body);
    assert_eq!(theirs.body["active"], true);
    assert_eq!(theirs.body["name"], "Other Admin");
    let our_list = users(&app.get("/v1/users").await);
    assert!(
        our_list.iter().all(|u| u["id"] != their_admin),
        "our list shows only our team"
    );
}

#[tokio::test]
async fn a_stale_if_match_on_a_team_member_is_refused() {
    let app = spawn_app().await;
    let (id, _) = app.member("mia@acme.test", "member", &["admin"]).await;
    let path = format!("/v1/users/{id}");
    let renamed = app.patch(&path, json!({ "name": "Mia Lima" })).await;
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);

    let stale = app
        .request(
            Method::PATCH,
            &path,
            Some(&app.token),
            Some(&json!({ "role": "viewer" })),
            &[("If-Match", "\"1\"")],
        )
        .await;
    stale.assert_problem(412, "precondition_failed");
    let stale_delete = app
        .request(
            Method::DELETE,
            &path,
            Some(&app.token),
            None,
            &[("If-Match", "\"1\"")],
        )
        .await;
    stale_delete.assert_problem(412, "precondition_failed");

    let read = app.get(&path).await;
    assert_eq!(read.body["role"], "member");
    assert_eq!(read.body["active"], true);

    let current = app
        .request(
            Method::PATCH,
            &path,
            Some(&app.token),
            Some(&json!({ "role": "viewer" })),
            &[("If-Match", "\"2\"")],
        )
        .await;
    assert_eq!(current.status, StatusCode::OK, "{}", current.body);
    assert_eq!(current.body["role"], "viewer");
}
