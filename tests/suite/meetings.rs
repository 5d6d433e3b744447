//! End-to-end tests of `/v1/meetings`: times and whole days, attendees with responses, the
//! organiser who always attends, filters, and attendees and links kept in step with deleted
//! and merged records.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn meeting(app: &TestApp, body: Value) -> Value {
    let answer = app.post("/v1/meetings", body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    answer.body
}

fn ids(answer: &Answer) -> Vec<i64> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body["data"]
        .as_array()
        .map(|list| list.iter().filter_map(|m| m["id"].as_i64()).collect())
        .unwrap_or_else(|| panic!("no data in {}", answer.body))
}

async fn contact(app: &TestApp, first_name: &str) -> i64 {
    let answer = app
        .post("/v1/contacts", json!({"first_name": first_name}))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    answer.id()
}

async fn event_types(app: &TestApp, id: i64) -> Vec<String> {
    let page = app
        .get(&format!("/v1/events?record_type=meeting&record_id={id}"))
        .await;
    page.body["data"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|e| e["type"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_meeting_keeps_its_times_attendees_and_the_organiser_who_always_attends() {
    let app = spawn_app().await;
    let ana = contact(&app, "Ana").await;
    let company = app.company("Acme").await;
    let created = meeting(
        &app,
        json!({
            "title": "Kick-off",
            "starts_at": "2026-12-07T10:00:00+01:00",
            "ends_at": "2026-12-07T11:30:00+01:00",
            "time_zone": "Europe/Paris",
            "location": "Acme HQ",
            "online_url": "https://meet.example.com/abc",
            "agenda": "Scope\nTimeline",
            "attendees": [{"contact_id": ana, "response": "tentative"}],
            "links": [{"type": "company", "id": company}]
        }),
    )
    .await;
    assert_eq!(created["starts_at"], "2026-12-07T09:00:00Z");
    assert_eq!(created["ends_at"], "2026-12-07T10:30:00Z");
    assert_eq!(created["all_day"], false);
    assert_eq!(created["organiser_id"], app.admin_id);
    assert_eq!(
        created["attendees"],
        json!([
            {"user_id": app.admin_id, "contact_id": null, "response": "accepted"},
            {"user_id": null, "contact_id": ana, "response": "tentative"}
        ])
    );
    let id = created["id"].as_i64().unwrap_or_default();
    assert_eq!(app.get(&format!("/v1/meetings/{id}")).await.body, created);
    assert_eq!(event_types(&app, id).await, ["meeting.created"]);
}

#[tokio::test]
async fn an_all_day_meeting_spans_whole_days_and_times_and_dates_do_not_mix() {
    let app = spawn_app().await;
    let offsite = meeting(
        &app,
        json!({"title": "Offsite", "all_day": true, "start_date": "2026-12-09", "end_date": "2026-12-10"}),
    )
    .await;
    assert_eq!(offsite["starts_at"], "2026-12-09T00:00:00Z");
    assert_eq!(offsite["ends_at"], "2026-12-11T00:00:00Z");
    assert_eq!(offsite["end_date"], "2026-12-10");
    for (body, field) in [
        (
            json!({"title": "x", "all_day": true, "starts_at": "2026-12-09T09:00:00Z"}),
            "starts_at",
        ),
        (
            json!({"title": "x", "start_date": "2026-12-09"}),
            "start_date",
        ),
        (
            json!({"title": "x", "starts_at": "2026-12-09T09:00:00Z"}),
            "ends_at",
        ),
        (
            json!({"title": "x", "starts_at": "2026-12-09T09:00:00Z", "ends_at": "2026-12-09T08:00:00Z"}),
            "ends_at",
        ),
        (
            json!({"title": "x", "all_day": true, "start_date": "2026-12-09", "end_date": "2026-12-08"}),
            "end_date",
        ),
        (
            json!({"title": "x", "all_day": true, "start_date": "2026-12-09", "attendees": [{"user_id": 1, "contact_id": 2}]}),
            "attendees[0]",
        ),
        (
            json!({"title": "x", "all_day": true, "start_date": "2026-12-09", "attendees": [{"user_id": 1, "response": "maybe"}]}),
            "attendees[0].response",
        ),
        (
            json!({"title": "x", "all_day": true, "start_date": "2026-12-09", "online_url": "ftp://x"}),
            "online_url",
        ),
    ] {
        let answer = app.post("/v1/meetings", body.clone()).await;
        answer.assert_problem(422, "validation_failed");
        assert!(
            answer.error_fields().contains(&field.to_owned()),
            "{body} names {field}: {}",
            answer.body
        );
    }
    assert_eq!(ids(&app.get("/v1/meetings").await).len(), 1);
}

#[tokio::test]
async fn moving_a_meeting_keeps_its_length_and_a_response_is_changed_by_a_patch() {
    let app = spawn_app().await;
    let ana = contact(&app, "Ana").await;
    let id = meeting(
        &app,
        json!({"title": "Review", "starts_at": "2026-12-07T09:00:00Z", "ends_at": "2026-12-07T09:45:00Z",
               "attendees": [{"contact_id": ana}]}),
    )
    .await["id"]
        .as_i64()
        .unwrap_or_default();
    let path = format!("/v1/meetings/{id}");
    let moved = app
        .patch(&path, json!({"starts_at": "2026-12-08T14:00:00Z"}))
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(moved.body["ends_at"], "2026-12-08T14:45:00Z");
    let answered = app
        .patch(
            &path,
            json!({"attendees": [{"contact_id": ana, "response": "accepted"}]}),
        )
        .await;
    assert_eq!(answered.body["attendees"][1]["response"], "accepted");
    assert_eq!(
        answered.body["attendees"][0]["user_id"], app.admin_id,
        "the organiser stays"
    );
    let backwards = app
        .patch(&path, json!({"ends_at": "2026-12-01T00:00:00Z"}))
        .await;
    backwards.assert_problem(422, "validation_failed");
    assert_eq!(
        event_types(&app, id).await,
        ["meeting.created", "meeting.updated", "meeting.updated"]
    );
}

#[tokio::test]
async fn the_meeting_list_filters_by_attendee_time_window_and_link() {
    let app = spawn_app().await;
    let (member, member_token) = app.member("m@example.test", "member", &["admin"]).await;
    let ana = contact(&app, "Ana").await;
    let company = app.company("Acme").await;
    let monday = meeting(
        &app,
        json!({"title": "Mon", "starts_at": "2026-12-07T09:00:00Z", "ends_at": "2026-12-07T10:00:00Z",
               "attendees": [{"user_id": member}], "links": [{"type": "company", "id": company}]}),
    )
    .await["id"]
        .clone();
    let tuesday = meeting(
        &app,
        json!({"title": "Tue", "starts_at": "2026-12-08T09:00:00Z", "ends_at": "2026-12-08T10:00:00Z",
               "attendees": [{"contact_id": ana}]}),
    )
    .await["id"]
        .clone();
    let week = meeting(
        &app,
        json!({"title": "Week", "all_day": true, "start_date": "2026-12-07", "end_date": "2026-12-11"}),
    )
    .await["id"]
        .clone();
    let list = |path: &str| {
        let path = path.to_owned();
        let app = &app;
        async move { json!(ids(&app.get(&path).await)) }
    };
    assert_eq!(
        json!(ids(&app
            .get_as(&member_token, "/v1/meetings?attendee=me")
            .await)),
        json!([monday])
    );
    assert_eq!(
        list(&format!("/v1/meetings?attendee_contact_id={ana}")).await,
        json!([tuesday])
    );
    assert_eq!(
        list("/v1/meetings?from=2026-12-08T00:00:00Z&to=2026-12-09T00:00:00Z&sort=starts_at").await,
        json!([week, tuesday]),
        "what is under way that day, by start"
    );
    assert_eq!(
        list(&format!("/v1/meetings?linked=company:{company}")).await,
        json!([monday])
    );
    app.get("/v1/meetings?sort=due_at")
        .await
        .assert_problem(400, "bad_request");
}

#[tokio::test]
async fn a_deleted_contact_leaves_the_meetings_it_attended_and_a_merged_one_passes_them_on() {
    let app = spawn_app().await;
    let ana = contact(&app, "Ana").await;
    let ana_again = contact(&app, "Ana (duplicate)").await;
    let bo = contact(&app, "Bo").await;
    let first = meeting(
        &app,
        json!({"title": "One", "starts_at": "2026-12-07T09:00:00Z", "ends_at": "2026-12-07T10:00:00Z",
               "attendees": [{"contact_id": ana_again, "response": "accepted"}, {"contact_id": bo}],
               "links": [{"type": "contact", "id": ana_again}]}),
    )
    .await["id"]
        .as_i64()
        .unwrap_or_default();
    let merged = app
        .post(
            &format!("/v1/contacts/{ana}/merge"),
            json!({"duplicate_ids": [ana_again]}),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.body);
    let read = app.get(&format!("/v1/meetings/{first}")).await.body;
    assert_eq!(
        read["attendees"][1],
        json!({"user_id": null, "contact_id": ana, "response": "accepted"})
    );
    assert_eq!(read["links"], json!([{"type": "contact", "id": ana}]));
    let gone = app.delete(&format!("/v1/contacts/{bo}")).await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT);
    let read = app.get(&format!("/v1/meetings/{first}")).await.body;
    assert_eq!(read["attendees"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        event_types(&app, first).await,
        [
            "meeting.created",
            "meeting.updated",
            "meeting.updated",
            "meeting.updated"
        ],
        "a link moved, an attendee moved, an attendee left"
    );
}

#[tokio::test]
async fn meetings_need_their_own_scopes_and_stay_in_their_account() {
    let app = spawn_app().await;
    let (_, tasks_only) = app
        .member("t@example.test", "member", &["tasks:read", "tasks:write"])
        .await;
    app.get_as(&tasks_only, "/v1/meetings")
        .await
        .assert_problem(403, "insufficient_scope");
    let other = app.other_account("Rival");
    let theirs = app
        .post_as(
            &other,
            "/v1/meetings",
            json!({"title": "Theirs", "all_day": true, "start_date": "2026-12-07"}),
        )
        .await
        .id();
    app.get(&format!("/v1/meetings/{theirs}"))
        .await
        .assert_problem(404, "not_found");
    app.delete(&format!("/v1/meetings/{theirs}"))
        .await
        .assert_problem(404, "not_found");
}
