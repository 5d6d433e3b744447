//! Helpers for tests of roles: a role's id by name, and its field rules or visibility set by
//! the account's admin.

use serde_json::{Value, json};

use super::TestApp;

/// The id of the account's role called `name`.
pub async fn role_id(app: &TestApp, name: &str) -> i64 {
    let answer = app.get("/v1/roles").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["data"]
        .as_array()
        .and_then(|l| l.iter().find(|r| r["name"] == name))
        .and_then(|r| r["id"].as_i64())
        .unwrap_or_else(|| panic!("no role {name} in {}", answer.body))
}

/// Patches the role called `name` with `changes` (`field_rules`, `visibility`, ...).
pub async fn patch_role(app: &TestApp, name: &str, changes: Value) {
    let id = role_id(app, name).await;
    let answer = app.patch(&format!("/v1/roles/{id}"), changes).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

/// Sets the field rules of the role called `name`.
pub async fn set_field_rules(app: &TestApp, name: &str, rules: Value) {
    patch_role(app, name, json!({ "field_rules": rules })).await;
}
