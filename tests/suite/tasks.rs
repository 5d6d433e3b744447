//! End-to-end tests of `/v1/tasks` and of links to records, the mechanism every family of
//! activity shares: the task record, completing and reopening, its filters, links kept in
//! step with deletes and merges, events, tenancy and scopes.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn task(app: &TestApp, body: Value) -> Value {
    let answer = app.post("/v1/tasks", body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    answer.body
}

fn ids(answer: &Answer) -> Vec<i64> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body["data"]
        .as_array()
        .map(|list| list.iter().filter_map(|t| t["id"].as_i64()).collect())
        .unwrap_or_else(|| panic!("no data in {}", answer.body))
}

async fn events_of(app: &TestApp, record_type: &str, id: i64) -> Vec<Value> {
    let page = app
        .get(&format!(
            "/v1/events?record_type={record_type}&record_id={id}&limit=200"
        ))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.body["data"].as_array().cloned().unwrap_or_default()
}

fn types(events: &[Value]) -> Vec<&str> {
    events.iter().filter_map(|e| e["type"].as_str()).collect()
}

#[tokio::test]
async fn a_task_is_created_with_its_due_time_zone_assignees_and_links_and_read_back() {
    let app = spawn_app().await;
    let company = app.company("Acme").await;
    let created = app
        .post(
            "/v1/tasks",
            json!({
                "title": "Follow up on the proposal",
                "notes": "Ask about the budget",
                "due_at": "2026-12-07T09:00:00+01:00",
                "time_zone": "Europe/Paris",
                "priority": "high",
                "links": [{"type": "company", "id": company}],
                "tags": ["sales"]
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let id = created.id();
    let location = format!("/v1/tasks/{id}");
    assert_eq!(created.header("location"), Some(location.as_str()));
    assert_eq!(created.header("etag"), Some("\"1\""));
    let read = app.get(&location).await;
    assert_eq!(read.status, StatusCode::OK);
    let t = &read.body;
    assert_eq!(t["title"], "Follow up on the proposal");
    assert_eq!(t["due_at"], "2026-12-07T08:00:00Z", "kept in UTC");
    assert_eq!(t["due_date"], Value::Null);
    assert_eq!(t["time_zone"], "Europe/Paris");
    assert_eq!(t["priority"], "high");
    assert_eq!(t["status"], "open");
    assert_eq!(
        t["assignee_ids"],
        json!([app.admin_id]),
        "the creator, by default"
    );
    assert_eq!(t["links"], json!([{"type": "company", "id": company}]));
    assert_eq!(t["created_by"], app.admin_id);
    assert_eq!(types(&events_of(&app, "task", id).await), ["task.created"]);
}

#[tokio::test]
async fn bad_task_bodies_are_refused_naming_each_field() {
    let app = spawn_app().await;
    let answer = app
        .post(
            "/v1/tasks",
            json!({
                "title": "",
                "due_date": "2026-12-07",
                "due_at": "2026-12-07T09:00:00Z",
                "time_zone": "Mars/Olympus",
                "priority": "urgent",
                "links": [{"type": "ship", "id": 1}]
            }),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    let fields = answer.error_fields();
    for field in ["title", "due_at", "time_zone", "priority", "links[0]"] {
        assert!(fields.contains(&field.to_owned()), "{field} in {fields:?}");
    }
    let unknown = app
        .post("/v1/tasks", json!({"title": "x", "owner_id": 1}))
        .await;
    unknown.assert_problem(422, "validation_failed");
    assert_eq!(
        ids(&app.get("/v1/tasks").await).len(),
        0,
        "nothing was written"
    );
}

#[tokio::test]
async fn a_link_to_another_accounts_record_or_an_inactive_assignee_is_refused() {
    let app = spawn_app().await;
    let other = app.other_account("Rival");
    let theirs = app
        .post_as(&other, "/v1/companies", json!({"name": "Theirs"}))
        .await
        .id();
    let answer = app
        .post(
            "/v1/tasks",
            json!({"title": "Spy", "links": [{"type": "company", "id": theirs}]}),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.body["errors"][0]["code"], "unknown_company");
    let answer = app
        .post(
            "/v1/tasks",
            json!({"title": "Help", "assignee_ids": [999999]}),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.body["errors"][0]["field"], "assignee_ids");
    let theirs_task = app
        .post_as(&other, "/v1/tasks", json!({"title": "Private"}))
        .await
        .id();
    app.get(&format!("/v1/tasks/{theirs_task}"))
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn completing_and_reopening_are_explicit_and_each_recorded() {
    let app = spawn_app().await;
    let id = task(&app, json!({"title": "Send the contract"})).await["id"]
        .as_i64()
        .unwrap_or_default();
    let status_in_patch = app
        .patch(&format!("/v1/tasks/{id}"), json!({"status": "done"}))
        .await;
    status_in_patch.assert_problem(422, "validation_failed");

    let done = app
        .post(&format!("/v1/tasks/{id}/complete"), json!({}))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["status"], "done");
    assert_eq!(done.body["done_by"], app.admin_id);
    assert!(done.body["done_at"].is_string());
    assert_eq!(done.body["version"], 2);
    let again = app
        .post(&format!("/v1/tasks/{id}/complete"), json!({}))
        .await;
    assert_eq!(again.body["version"], 2, "already done: nothing written");

    let reopened = app.post(&format!("/v1/tasks/{id}/reopen"), json!({})).await;
    assert_eq!(reopened.body["status"], "open");
    assert_eq!(reopened.body["done_at"], Value::Null);
    assert_eq!(reopened.body["done_by"], Value::Null);
    let stale = app
        .request(
            reqwest::Method::POST,
            &format!("/v1/tasks/{id}/complete"),
            Some(&app.token),
            Some(&json!({})),
            &[("if-match", "\"2\"")],
        )
        .await;
    stale.assert_problem(412, "precondition_failed");
    assert_eq!(
        types(&events_of(&app, "task", id).await),
        ["task.created", "task.completed", "task.reopened"]
    );
}

#[tokio::test]
async fn the_task_list_filters_by_assignee_status_overdue_due_range_link_and_tag() {
    let app = spawn_app().await;
    let (member, member_token) = app.member("m@example.test", "member", &["admin"]).await;
    let company = app.company("Acme").await;
    let now = chrono::Utc::now();
    let past = (now - chrono::Duration::hours(2)).to_rfc3339();
    let future = (now + chrono::Duration::days(3)).to_rfc3339();
    let yesterday = (now - chrono::Duration::days(1)).date_naive().to_string();
    let late = task(&app, json!({"title": "Late", "due_at": past})).await["id"].clone();
    let late_day =
        task(&app, json!({"title": "Yesterday", "due_date": yesterday})).await["id"].clone();
    let mine = task(
        &app,
        json!({"title": "Member's", "due_at": future, "assignee_ids": [member],
               "links": [{"type": "company", "id": company}], "tags": ["q4"]}),
    )
    .await["id"]
        .clone();
    let undated = task(&app, json!({"title": "Someday"})).await["id"].clone();
    let done_late = task(&app, json!({"title": "Done", "due_at": past})).await["id"].clone();
    app.post(&format!("/v1/tasks/{done_late}/complete"), json!({}))
        .await;
    let as_json = |list: Vec<i64>| json!(list);

    assert_eq!(
        as_json(ids(&app
            .get_as(&member_token, "/v1/tasks?assignee=me")
            .await)),
        json!([mine])
    );
    assert_eq!(
        as_json(ids(&app.get(&format!("/v1/tasks?assignee={member}")).await)),
        json!([mine])
    );
    assert_eq!(
        as_json(ids(&app.get("/v1/tasks?overdue=true&sort=due_at").await)),
        json!([late_day, late])
    );
    assert_eq!(
        as_json(ids(&app.get("/v1/tasks?status=done").await)),
        json!([done_late])
    );
    let after = urlencode(&now.to_rfc3339());
    assert_eq!(
        as_json(ids(&app.get(&format!("/v1/tasks?due_after={after}")).await)),
        json!([mine])
    );
    assert_eq!(
        as_json(ids(&app
            .get(&format!("/v1/tasks?linked=company:{company}"))
            .await)),
        json!([mine])
    );
    assert_eq!(
        as_json(ids(&app.get("/v1/tasks?tag=q4").await)),
        json!([mine])
    );
    let by_due = ids(&app.get("/v1/tasks?sort=-due_at").await);
    assert!(!by_due.contains(&undated.as_i64().unwrap_or_default()));
    assert_eq!(by_due.len(), 4);
    app.get("/v1/tasks?linked=company")
        .await
        .assert_problem(400, "bad_request");
    app.get("/v1/tasks?assignee=someone")
        .await
        .assert_problem(400, "bad_request");
    app.get("/v1/tasks?sort=name")
        .await
        .assert_problem(400, "bad_request");
}

fn urlencode(raw: &str) -> String {
    raw.replace('+', "%2B").replace(':', "%3A")
}

#[tokio::test]
async fn a_patch_replaces_links_and_a_no_op_patch_writes_nothing() {
    let app = spawn_app().await;
    let a = app.company("A").await;
    let b = app.company("B").await;
    let id = task(
        &app,
        json!({"title": "Call", "links": [{"type": "company", "id": a}]}),
    )
    .await["id"]
        .as_i64()
        .unwrap_or_default();
    let path = format!("/v1/tasks/{id}");
    let same = app.patch(&path, json!({"title": "Call"})).await;
    assert_eq!(same.body["version"], 1);
    let moved = app
        .patch(
            &path,
            json!({"links": [{"type": "company", "id": b}], "due_date": "2027-01-04"}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.body["links"], json!([{"type": "company", "id": b}]));
    assert_eq!(moved.body["due_date"], "2027-01-04");
    assert_eq!(moved.body["due_at"], Value::Null);
    assert_eq!(
        ids(&app.get(&format!("/v1/tasks?linked=company:{a}")).await),
        Vec::<i64>::new()
    );
    assert_eq!(
        ids(&app.get(&format!("/v1/tasks?linked=company:{b}")).await),
        [id]
    );
    let cleared = app.patch(&path, json!({"due_date": null})).await;
    assert_eq!(cleared.body["due_date"], Value::Null);
    let events = events_of(&app, "task", id).await;
    assert_eq!(
        types(&events),
        ["task.created", "task.updated", "task.updated"]
    );
    assert_eq!(
        events[1]["data"]["previous"]["links"],
        json!([{"type": "company", "id": a}])
    );
}

#[tokio::test]
async fn deleting_a_linked_record_removes_the_link_and_says_so_in_an_event() {
    let app = spawn_app().await;
    let company = app.company("Going").await;
    let project = app
        .post("/v1/projects", json!({"name": "Office move"}))
        .await
        .id();
    let id = task(
        &app,
        json!({"title": "Wrap up", "links": [{"type": "company", "id": company},
                                              {"type": "project", "id": project}]}),
    )
    .await["id"]
        .as_i64()
        .unwrap_or_default();
    let deleted = app.delete(&format!("/v1/companies/{company}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    let read = app.get(&format!("/v1/tasks/{id}")).await;
    assert_eq!(
        read.body["links"],
        json!([{"type": "project", "id": project}])
    );
    assert_eq!(read.body["version"], 2);
    let events = events_of(&app, "task", id).await;
    assert_eq!(types(&events), ["task.created", "task.updated"]);
    assert_eq!(
        ids(&app
            .get(&format!("/v1/tasks?linked=company:{company}"))
            .await),
        Vec::<i64>::new()
    );
}

#[tokio::test]
async fn merging_records_moves_their_links_to_the_survivor() {
    let app = spawn_app().await;
    let survivor = app.company("Acme").await;
    let duplicate = app.company("ACME Ltd").await;
    let both = task(
        &app,
        json!({"title": "Both", "links": [{"type": "company", "id": survivor},
                                           {"type": "company", "id": duplicate}]}),
    )
    .await["id"]
        .as_i64()
        .unwrap_or_default();
    let dup_only = task(
        &app,
        json!({"title": "Dup", "links": [{"type": "company", "id": duplicate}]}),
    )
    .await["id"]
        .as_i64()
        .unwrap_or_default();
    let merged = app
        .post(
            &format!("/v1/companies/{survivor}/merge"),
            json!({"duplicate_ids": [duplicate]}),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.body);
    for id in [both, dup_only] {
        let read = app.get(&format!("/v1/tasks/{id}")).await;
        assert_eq!(
            read.body["links"],
            json!([{"type": "company", "id": survivor}])
        );
    }
    let linked = ids(&app
        .get(&format!("/v1/tasks?linked=company:{survivor}"))
        .await);
    assert_eq!(linked.len(), 2);
    assert_eq!(
        types(&events_of(&app, "task", dup_only).await),
        ["task.created", "task.updated"]
    );
}

#[tokio::test]
async fn task_scopes_are_their_own_and_viewers_only_read() {
    let app = spawn_app().await;
    let (_, companies_only) = app
        .member(
            "c@example.test",
            "member",
            &["companies:read", "companies:write"],
        )
        .await;
    app.get_as(&companies_only, "/v1/tasks")
        .await
        .assert_problem(403, "insufficient_scope");
    let (_, viewer) = app.member("v@example.test", "viewer", &["admin"]).await;
    assert_eq!(
        app.get_as(&viewer, "/v1/tasks").await.status,
        StatusCode::OK
    );
    app.post_as(&viewer, "/v1/tasks", json!({"title": "No"}))
        .await
        .assert_problem(403, "forbidden");
    let (_, writer) = app
        .member("w@example.test", "member", &["tasks:read", "tasks:write"])
        .await;
    let created = app
        .post_as(&writer, "/v1/tasks", json!({"title": "Yes"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
}

#[tokio::test]
async fn a_deleted_task_is_gone_with_its_event_and_its_links() {
    let app = spawn_app().await;
    let company = app.company("Acme").await;
    let id = task(
        &app,
        json!({"title": "Gone", "links": [{"type": "company", "id": company}]}),
    )
    .await["id"]
        .as_i64()
        .unwrap_or_default();
    let deleted = app.delete(&format!("/v1/tasks/{id}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    app.get(&format!("/v1/tasks/{id}"))
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        types(&events_of(&app, "task", id).await),
        ["task.created", "task.deleted"]
    );
    // The company goes without touching the deleted task.
    let company_gone = app.delete(&format!("/v1/companies/{company}")).await;
    assert_eq!(company_gone.status, StatusCode::NO_CONTENT);
}
