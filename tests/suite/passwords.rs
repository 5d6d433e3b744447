//! Passwords for the sign-in page: set on a new team member, changed by the user with the
//! current one, refused when short or common, and stored only as argon2id hashes.

use crate::common::*;
use diesel::prelude::*;
use persistence::schema::users;
use reqwest::Method;
use serde_json::json;

fn stored_hash(app: &TestApp, user_id: i64) -> Option<String> {
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    users::table
        .filter(users::id.eq(user_id))
        .select(users::password_hash)
        .first::<Option<String>>(&mut conn)
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn change(app: &TestApp, token: &str, body: serde_json::Value) -> Answer {
    app.request(
        Method::PUT,
        "/v1/me/password",
        Some(token),
        Some(&body),
        &[],
    )
    .await
}

#[tokio::test]
async fn a_new_team_member_may_get_a_password_stored_as_an_argon2id_hash() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/v1/users",
            json!({"email": "ana@acme.test", "name": "Ana", "password": "correct horse battery"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert!(created.body.get("password").is_none() && created.body.get("password_hash").is_none());
    let hash = stored_hash(&app, created.id()).unwrap_or_default();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    assert!(!hash.contains("correct horse battery"));
}

#[tokio::test]
async fn short_and_common_passwords_are_refused_naming_the_field() {
    let app = spawn_app().await;
    for (password, code) in [("short", "too_short"), ("Password1234", "too_common")] {
        let answer = app
            .post(
                "/v1/users",
                json!({"email": "b@acme.test", "name": "B", "password": password}),
            )
            .await;
        answer.assert_problem(422, "validation_failed");
        assert_eq!(answer.error_fields(), vec!["password"]);
        assert_eq!(answer.body["errors"][0]["code"], code);
    }
    let none = app.get("/v1/users").await;
    assert_eq!(
        none.body["data"].as_array().map(Vec::len),
        Some(1),
        "nothing was written"
    );
}

#[tokio::test]
async fn a_user_without_a_password_sets_one_and_then_changes_it_with_the_current_one() {
    let app = spawn_app().await;
    let first = change(
        &app,
        &app.token,
        json!({"new_password": "first long passphrase"}),
    )
    .await;
    assert_eq!(first.status, 204, "{}", first.body);
    let hash = stored_hash(&app, app.admin_id);
    let missing = change(
        &app,
        &app.token,
        json!({"new_password": "second long passphrase"}),
    )
    .await;
    missing.assert_problem(422, "validation_failed");
    assert_eq!(missing.error_fields(), vec!["current_password"]);
    let wrong = change(
        &app,
        &app.token,
        json!({"current_password": "not the one", "new_password": "second long passphrase"}),
    )
    .await;
    wrong.assert_problem(422, "validation_failed");
    assert_eq!(
        stored_hash(&app, app.admin_id),
        hash,
        "a refused change changes nothing"
    );
    let right = change(
        &app,
        &app.token,
        json!({"current_password": "first long passphrase", "new_password": "second long passphrase"}),
    )
    .await;
    assert_eq!(right.status, 204, "{}", right.body);
    assert_ne!(stored_hash(&app, app.admin_id), hash);
}

#[tokio::test]
async fn a_weak_new_password_is_refused() {
    let app = spawn_app().await;
    let answer = change(&app, &app.token, json!({"new_password": "qwerty123456"})).await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), vec!["new_password"]);
}

#[tokio::test]
async fn a_token_without_tokens_write_cannot_change_the_password() {
    let app = spawn_app().await;
    let read_only = app.token_for(app.admin_id, &["companies:read"], None);
    change(
        &app,
        &read_only,
        json!({"new_password": "first long passphrase"}),
    )
    .await
    .assert_problem(403, "insufficient_scope");
    assert_eq!(stored_hash(&app, app.admin_id), None);
}
