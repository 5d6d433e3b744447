//! End-to-end tests of the news feed (`/v1/feed`), records' timelines
//! (`/v1/{records}/{id}/timeline`) and following records (`/v1/{records}/{id}/subscription`).

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

async fn created(app: &TestApp, token: &str, path: &str, body: Value) -> i64 {
    let answer = app.post_as(token, path, body).await;
    assert_eq!(
        answer.status,
        StatusCode::CREATED,
        "{path}: {}",
        answer.body
    );
    answer.id()
}

fn linked_to(company: i64) -> Value {
    json!([{"type": "company", "id": company}])
}

/// The entries of a page as `type record_type:record_id`, newest first.
fn entries(answer: &Answer) -> Vec<String> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body["data"]
        .as_array()
        .unwrap_or_else(|| panic!("no data in {}", answer.body))
        .iter()
        .map(|e| {
            format!(
                "{} {}:{}",
                e["type"].as_str().unwrap_or_default(),
                e["record"]["type"].as_str().unwrap_or_default(),
                e["record"]["id"]
            )
        })
        .collect()
}

async fn put(app: &TestApp, token: &str, path: &str) -> Answer {
    app.request(Method::PUT, path, Some(token), None, &[]).await
}

#[tokio::test]
async fn a_company_timeline_holds_its_changes_moves_and_linked_activities_newest_first() {
    let app = spawn_app().await;
    let token = app.token.clone();
    let acme = app.company("Acme").await;
    let other = app.company("Other").await;
    let patched = app
        .patch(
            &format!("/v1/companies/{acme}"),
            json!({"industry": "Engineering"}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let moved = app
        .post(
            &format!("/v1/companies/{acme}/transitions"),
            json!({"to_status": "prospect"}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::CREATED, "{}", moved.body);
    let task = created(
        &app,
        &token,
        "/v1/tasks",
        json!({"title": "Call back", "links": linked_to(acme)}),
    )
    .await;
    created(
        &app,
        &token,
        "/v1/tasks",
        json!({"title": "Elsewhere", "links": linked_to(other)}),
    )
    .await;
    let done = app
        .post(&format!("/v1/tasks/{task}/complete"), json!({}))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    let meeting = created(
        &app,
        &token,
        "/v1/meetings",
        json!({"title": "Kick-off", "starts_at": "2027-01-05T10:00:00Z",
               "ends_at": "2027-01-05T11:00:00Z", "links": linked_to(acme)}),
    )
    .await;
    let post = created(
        &app,
        &token,
        "/v1/posts",
        json!({"body": "Signed!", "links": linked_to(acme)}),
    )
    .await;
    let comment = created(
        &app,
        &token,
        &format!("/v1/posts/{post}/comments"),
        json!({"body": "Well done"}),
    )
    .await;

    let timeline = app.get(&format!("/v1/companies/{acme}/timeline")).await;
    assert_eq!(
        entries(&timeline),
        [
            format!("comment.created comment:{comment}"),
            format!("post.created post:{post}"),
            format!("meeting.created meeting:{meeting}"),
            format!("task.completed task:{task}"),
            format!("task.created task:{task}"),
            format!("company.phase_changed company:{acme}"),
            format!("company.updated company:{acme}"),
            format!("company.created company:{acme}"),
        ]
    );
    let update = &timeline.body["data"][6];
    assert_eq!(update["data"]["object"]["industry"], "Engineering");
    assert_eq!(update["data"]["previous"], json!({"industry": null}));
    assert_eq!(update["actor"]["user_id"], app.admin_id);
}

#[tokio::test]
async fn a_timeline_pages_newest_first_without_gaps_or_repeats() {
    let app = spawn_app().await;
    let acme = app.company("Acme").await;
    for n in 0..6 {
        let answer = app
            .patch(
                &format!("/v1/companies/{acme}"),
                json!({"description": format!("v{n}")}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    }
    let whole = entries(&app.get(&format!("/v1/companies/{acme}/timeline")).await);
    assert_eq!(whole.len(), 7);
    let mut walked = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = app
            .get(&format!(
                "/v1/companies/{acme}/timeline?limit=3&cursor={cursor}"
            ))
            .await;
        walked.extend(entries(&page));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = next.to_owned(),
            None => break,
        }
    }
    assert_eq!(walked, whole);
    let ids: Vec<i64> = app
        .get(&format!("/v1/companies/{acme}/timeline"))
        .await
        .body["data"]
        .as_array()
        .map(|l| l.iter().filter_map(|e| e["id"].as_i64()).collect())
        .unwrap_or_default();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "{ids:?}");
}

#[tokio::test]
async fn a_timeline_of_a_record_the_account_has_not_is_404() {
    let app = spawn_app().await;
    let theirs = app.other_account("Rival");
    let their_company = app
        .post_as(&theirs, "/v1/companies", json!({"name": "Theirs"}))
        .await;
    assert_eq!(their_company.status, StatusCode::CREATED);
    let id = their_company.id();
    app.get(&format!("/v1/companies/{id}/timeline"))
        .await
        .assert_problem(404, "not_found");
    app.get("/v1/projects/999/timeline")
        .await
        .assert_problem(404, "not_found");
    app.get(&format!("/v1/feed?record=company:{id}"))
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn the_timeline_filters_by_type_and_the_feed_by_record() {
    let app = spawn_app().await;
    let acme = app.company("Acme").await;
    let task = created(
        &app,
        &app.token,
        "/v1/tasks",
        json!({"title": "Call", "links": linked_to(acme)}),
    )
    .await;
    let only = app
        .get(&format!(
            "/v1/companies/{acme}/timeline?types=task.created,company.created"
        ))
        .await;
    assert_eq!(
        entries(&only),
        [
            format!("task.created task:{task}"),
            format!("company.created company:{acme}")
        ]
    );
    let by_record = app.get(&format!("/v1/feed?record=company:{acme}")).await;
    assert_eq!(
        entries(&by_record),
        entries(&app.get(&format!("/v1/companies/{acme}/timeline")).await)
    );
    app.get("/v1/feed?types=company.exploded")
        .await
        .assert_problem(400, "bad_request");
}

#[tokio::test]
async fn following_a_record_brings_its_changes_and_linked_activities_into_my_subscribed_feed() {
    let app = spawn_app().await;
    let (_, bo) = app.member("bo@example.test", "member", &["admin"]).await;
    let acme = app.company("Acme").await;
    let other = app.company("Other").await;
    let path = format!("/v1/companies/{acme}/subscription");
    let first = put(&app, &bo, &path).await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    assert_eq!(first.body["subscribed"], true);
    assert_eq!(first.body["reason"], "manual");
    assert_eq!(put(&app, &bo, &path).await.status, StatusCode::OK);
    assert_eq!(app.get_as(&bo, &path).await.body["subscribed"], true);

    let task = created(
        &app,
        &app.token,
        "/v1/tasks",
        json!({"title": "Call", "links": linked_to(acme)}),
    )
    .await;
    created(
        &app,
        &app.token,
        "/v1/tasks",
        json!({"title": "Other", "links": linked_to(other)}),
    )
    .await;
    let mine = app.get_as(&bo, "/v1/feed?subscribed=true").await;
    assert_eq!(
        entries(&mine),
        [
            format!("task.created task:{task}"),
            format!("company.created company:{acme}")
        ]
    );
    let everything = app.get_as(&bo, "/v1/feed").await;
    assert_eq!(entries(&everything).len(), 4, "{}", everything.body);

    let stopped = app.delete_as(&bo, &path).await;
    assert_eq!(stopped.status, StatusCode::NO_CONTENT);
    assert_eq!(app.get_as(&bo, &path).await.body["subscribed"], false);
    let after = app.get_as(&bo, "/v1/feed?subscribed=true").await;
    assert_eq!(entries(&after), Vec::<String>::new());
}

#[tokio::test]
async fn owners_and_project_teams_follow_what_they_become_responsible_for() {
    let app = spawn_app().await;
    let (bo_id, bo) = app.member("bo@example.test", "member", &["admin"]).await;
    let (cy_id, cy) = app.member("cy@example.test", "member", &["admin"]).await;
    let acme = created(
        &app,
        &app.token,
        "/v1/companies",
        json!({"name": "Acme", "owner_id": bo_id}),
    )
    .await;
    let following = app
        .get_as(&bo, &format!("/v1/companies/{acme}/subscription"))
        .await;
    assert_eq!(following.body["reason"], "owner", "{}", following.body);
    let project = created(&app, &app.token, "/v1/projects", json!({"name": "Fit-out"})).await;
    let joined = app
        .request(
            Method::PUT,
            &format!("/v1/projects/{project}/team/{cy_id}"),
            Some(&app.token),
            Some(&json!({"role": "Designer"})),
            &[],
        )
        .await;
    assert!(joined.status.is_success(), "{}", joined.body);
    let team = app
        .get_as(&cy, &format!("/v1/projects/{project}/subscription"))
        .await;
    assert_eq!(team.body["reason"], "team", "{}", team.body);
    assert_eq!(
        app.get_as(&cy, &format!("/v1/companies/{acme}/subscription"))
            .await
            .body["subscribed"],
        false
    );
}

#[tokio::test]
async fn a_merged_company_passes_its_timeline_and_followers_to_the_survivor() {
    let app = spawn_app().await;
    let (_, bo) = app.member("bo@example.test", "member", &["admin"]).await;
    let survivor = app.company("Acme").await;
    let duplicate = app.company("ACME Ltd").await;
    assert_eq!(
        put(
            &app,
            &bo,
            &format!("/v1/companies/{duplicate}/subscription")
        )
        .await
        .status,
        StatusCode::CREATED
    );
    let merged = app
        .post(
            &format!("/v1/companies/{survivor}/merge"),
            json!({"duplicate_ids": [duplicate]}),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.body);
    let timeline = entries(&app.get(&format!("/v1/companies/{survivor}/timeline")).await);
    assert!(
        timeline.contains(&format!("company.created company:{duplicate}")),
        "{timeline:?}"
    );
    assert!(
        timeline.contains(&format!("company.merged company:{survivor}")),
        "{timeline:?}"
    );
    let followed = app
        .get_as(&bo, &format!("/v1/companies/{survivor}/subscription"))
        .await;
    assert_eq!(followed.body["subscribed"], true, "{}", followed.body);
}

#[tokio::test]
async fn a_deleted_record_loses_its_followers_and_its_subscription_is_404() {
    let app = spawn_app().await;
    let (_, bo) = app.member("bo@example.test", "member", &["admin"]).await;
    let acme = app.company("Acme").await;
    let path = format!("/v1/companies/{acme}/subscription");
    assert_eq!(put(&app, &bo, &path).await.status, StatusCode::CREATED);
    let deleted = app.delete(&format!("/v1/companies/{acme}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    app.get_as(&bo, &path)
        .await
        .assert_problem(404, "not_found");
    let mine = app.get_as(&bo, "/v1/feed?subscribed=true").await;
    assert_eq!(entries(&mine), Vec::<String>::new());
    let everything = entries(&app.get("/v1/feed").await);
    assert_eq!(everything[0], format!("company.deleted company:{acme}"));
}

#[tokio::test]
async fn mentions_me_lists_the_posts_and_comments_that_mention_me() {
    let app = spawn_app().await;
    let (_, bo) = app.member("bo@example.test", "member", &["admin"]).await;
    let quiet = created(&app, &app.token, "/v1/posts", json!({"body": "Nothing"})).await;
    let post = created(
        &app,
        &app.token,
        "/v1/posts",
        json!({"body": "Over to @bo@example.test"}),
    )
    .await;
    let comment = created(
        &app,
        &app.token,
        &format!("/v1/posts/{quiet}/comments"),
        json!({"body": "cc @bo@example.test"}),
    )
    .await;
    let mine = app.get_as(&bo, "/v1/feed?mentions=me").await;
    assert_eq!(
        entries(&mine),
        [
            format!("comment.created comment:{comment}"),
            format!("post.created post:{post}")
        ]
    );
    app.get_as(&bo, "/v1/feed?mentions=someone")
        .await
        .assert_problem(400, "bad_request");
}

#[tokio::test]
async fn the_feed_shows_only_what_the_token_may_read() {
    let app = spawn_app().await;
    let acme = app.company("Acme").await;
    created(
        &app,
        &app.token,
        "/v1/tasks",
        json!({"title": "Call", "links": linked_to(acme)}),
    )
    .await;
    let companies_only = app.token_for(app.admin_id, &["companies:read"], None);
    let seen = app.get_as(&companies_only, "/v1/feed").await;
    assert_eq!(entries(&seen), [format!("company.created company:{acme}")]);
    let timeline = app
        .get_as(&companies_only, &format!("/v1/companies/{acme}/timeline"))
        .await;
    assert_eq!(
        entries(&timeline),
        [format!("company.created company:{acme}")]
    );
    app.get_as(&companies_only, "/v1/feed?types=task.created")
        .await
        .assert_problem(403, "insufficient_scope");
    let tasks_only = app.token_for(app.admin_id, &["tasks:read"], None);
    app.get_as(&tasks_only, &format!("/v1/companies/{acme}/timeline"))
        .await
        .assert_problem(403, "insufficient_scope");
}

#[tokio::test]
async fn feed_filters_go_one_at_a_time_and_bad_values_are_400() {
    let app = spawn_app().await;
    for bad in [
        "/v1/feed?subscribed=true&mentions=me",
        "/v1/feed?record=task:1",
        "/v1/feed?record=company",
        "/v1/feed?limit=0",
        "/v1/feed?cursor=nope",
        "/v1/feed?subscribed=maybe",
        "/v1/feed?colour=red",
    ] {
        let answer = app.get(bad).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{bad}: {}",
            answer.body
        );
        assert_eq!(
            answer.header("content-type"),
            Some("application/problem+json"),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn the_feed_keeps_its_entries_when_events_are_purged() {
    let app = spawn_app().await;
    let acme = app.company("Acme").await;
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    // PostgreSQL publishes events after their commit; only published ones are purged.
    persistence::events::publish(&mut conn).unwrap_or_else(|e| panic!("{e:?}"));
    let purged = persistence::events::purge_before(&mut conn, chrono::Utc::now())
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(purged >= 1);
    let events = app.get("/v1/events").await;
    assert_eq!(events.body["data"], json!([]), "the outbox is purged");
    let timeline = app.get(&format!("/v1/companies/{acme}/timeline")).await;
    assert_eq!(
        entries(&timeline),
        [format!("company.created company:{acme}")]
    );
}
