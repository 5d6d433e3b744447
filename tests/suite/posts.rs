//! End-to-end tests of `/v1/posts` and their comments: Markdown kept as written, @mentions
//! resolved to team members, links, pinning, who may edit, and the events.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn post(app: &TestApp, token: &str, body: Value) -> Value {
    let answer = app.post_as(token, "/v1/posts", body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    answer.body
}

fn ids(answer: &Answer) -> Vec<i64> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body["data"]
        .as_array()
        .map(|list| list.iter().filter_map(|p| p["id"].as_i64()).collect())
        .unwrap_or_else(|| panic!("no data in {}", answer.body))
}

#[tokio::test]
async fn a_post_keeps_its_markdown_as_written_and_resolves_its_mentions() {
    let app = spawn_app().await;
    let (ana, _) = app.member("ana@example.test", "member", &["admin"]).await;
    let company = app.company("Acme").await;
    let markdown = "Signed **Acme**! <script>alert(1)</script>\n\nThanks @Ana@example.test and @nobody@example.test, `@ana@example.test`";
    let created = post(
        &app,
        &app.token,
        json!({"body": markdown, "pinned": true, "links": [{"type": "company", "id": company}]}),
    )
    .await;
    assert_eq!(created["body"], markdown, "stored and answered as written");
    assert_eq!(created["mention_ids"], json!([ana]));
    assert_eq!(created["author_id"], app.admin_id);
    assert_eq!(created["pinned"], true);
    assert_eq!(created["comment_count"], 0);
    let id = created["id"].as_i64().unwrap_or_default();
    let read = app.get(&format!("/v1/posts/{id}")).await;
    assert_eq!(read.header("content-type"), Some("application/json"));
    assert_eq!(read.body, created);
    let too_long = "x".repeat(20_001);
    let answer = app.post("/v1/posts", json!({"body": too_long})).await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), ["body"]);
}

#[tokio::test]
async fn comments_count_on_their_post_and_mention_people_too() {
    let app = spawn_app().await;
    let (bo, bo_token) = app.member("bo@example.test", "member", &["admin"]).await;
    let id = post(&app, &app.token, json!({"body": "Q4 plan"})).await["id"]
        .as_i64()
        .unwrap_or_default();
    let path = format!("/v1/posts/{id}/comments");
    let first = app
        .post_as(&bo_token, &path, json!({"body": "Looks good"}))
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.body["author_id"], bo);
    let second = app
        .post(&path, json!({"body": "Over to you @bo@example.test"}))
        .await;
    assert_eq!(second.body["mention_ids"], json!([bo]));
    let page = app.get(&format!("{path}?limit=1")).await;
    assert_eq!(ids(&page), [first.id()]);
    let cursor = page.body["next_cursor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let next = app.get(&format!("{path}?limit=1&cursor={cursor}")).await;
    assert_eq!(ids(&next), [second.id()]);
    assert_eq!(
        app.get(&format!("/v1/posts/{id}")).await.body["comment_count"],
        2
    );
    assert_eq!(
        ids(&app.get_as(&bo_token, "/v1/posts?mentions=me").await),
        [id],
        "mentioned in a comment"
    );
    app.post("/v1/posts/999999/comments", json!({"body": "?"}))
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn authors_edit_and_delete_their_own_and_admins_anyones() {
    let app = spawn_app().await;
    let (_, ana) = app.member("ana@example.test", "member", &["admin"]).await;
    let (_, bo) = app.member("bo@example.test", "member", &["admin"]).await;
    let id = post(&app, &ana, json!({"body": "Draft"})).await["id"]
        .as_i64()
        .unwrap_or_default();
    let path = format!("/v1/posts/{id}");
    app.patch_as(&bo, &path, json!({"body": "Hijacked"}))
        .await
        .assert_problem(403, "not_author");
    app.delete_as(&bo, &path)
        .await
        .assert_problem(403, "not_author");
    let edited = app.patch_as(&ana, &path, json!({"body": "Final"})).await;
    assert_eq!(edited.status, StatusCode::OK, "{}", edited.body);
    assert_eq!(edited.body["body"], "Final");
    let comment = app
        .post_as(&ana, &format!("{path}/comments"), json!({"body": "mine"}))
        .await
        .id();
    let comment_path = format!("{path}/comments/{comment}");
    app.patch_as(&bo, &comment_path, json!({"body": "theirs"}))
        .await
        .assert_problem(403, "not_author");
    let by_admin = app.patch(&comment_path, json!({"body": "moderated"})).await;
    assert_eq!(by_admin.status, StatusCode::OK, "{}", by_admin.body);
    let gone = app.delete(&path).await;
    assert_eq!(
        gone.status,
        StatusCode::NO_CONTENT,
        "admins delete any post"
    );
    app.get(&comment_path)
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn the_post_list_filters_by_author_link_and_pinned_and_events_record_each_change() {
    let app = spawn_app().await;
    let (ana_id, ana) = app.member("ana@example.test", "member", &["admin"]).await;
    let company = app.company("Acme").await;
    let linked = post(
        &app,
        &ana,
        json!({"body": "About Acme", "links": [{"type": "company", "id": company}]}),
    )
    .await["id"]
        .clone();
    let pinned =
        post(&app, &app.token, json!({"body": "Read me", "pinned": true})).await["id"].clone();
    assert_eq!(
        json!(ids(&app.get(&format!("/v1/posts?author={ana_id}")).await)),
        json!([linked])
    );
    assert_eq!(
        json!(ids(&app
            .get(&format!("/v1/posts?linked=company:{company}"))
            .await)),
        json!([linked])
    );
    assert_eq!(
        json!(ids(&app.get("/v1/posts?pinned=true").await)),
        json!([pinned])
    );
    let id = linked.as_i64().unwrap_or_default();
    app.patch_as(&ana, &format!("/v1/posts/{id}"), json!({"pinned": true}))
        .await;
    let comment = app
        .post(&format!("/v1/posts/{id}/comments"), json!({"body": "Nice"}))
        .await
        .id();
    app.delete(&format!("/v1/companies/{company}")).await;
    let post_events = app
        .get(&format!("/v1/events?record_type=post&record_id={id}"))
        .await;
    let types: Vec<&str> = post_events.body["data"]
        .as_array()
        .map(|l| l.iter().filter_map(|e| e["type"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(types, ["post.created", "post.updated", "post.updated"]);
    let comment_events = app
        .get(&format!(
            "/v1/events?record_type=comment&record_id={comment}"
        ))
        .await;
    assert_eq!(comment_events.body["data"][0]["type"], "comment.created");
    assert_eq!(
        comment_events.body["data"][0]["data"]["object"]["post_id"],
        id
    );
}

#[tokio::test]
async fn posts_need_their_own_scopes_and_viewers_only_read() {
    let app = spawn_app().await;
    let (_, tasks_only) = app
        .member("t@example.test", "member", &["tasks:read"])
        .await;
    app.get_as(&tasks_only, "/v1/posts")
        .await
        .assert_problem(403, "insufficient_scope");
    let (_, viewer) = app.member("v@example.test", "viewer", &["admin"]).await;
    assert_eq!(
        app.get_as(&viewer, "/v1/posts").await.status,
        StatusCode::OK
    );
    app.post_as(&viewer, "/v1/posts", json!({"body": "hi"}))
        .await
        .assert_problem(403, "forbidden");
    let other = app.other_account("Rival");
    let theirs = post(&app, &other, json!({"body": "Private"})).await["id"]
        .as_i64()
        .unwrap_or_default();
    app.get(&format!("/v1/posts/{theirs}"))
        .await
        .assert_problem(404, "not_found");
    app.post(
        &format!("/v1/posts/{theirs}/comments"),
        json!({"body": "x"}),
    )
    .await
    .assert_problem(404, "not_found");
}
