//! Reminders as events: the worker records `task.due` when an open task falls due and
//! `meeting.starting` within the lead time of a meeting's start, once each.

use std::time::Duration;

use crate::common::*;
use chrono::Utc;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn reminding_app() -> TestApp {
    spawn_app_with(api::Settings {
        reminders: api::ReminderSettings {
            interval: Duration::from_millis(50),
            meeting_lead: Duration::from_secs(15 * 60),
        },
        ..api::Settings::default()
    })
    .await
}

async fn events_of(app: &TestApp, types: &str) -> Vec<Value> {
    let page = app
        .get(&format!("/v1/events?types={types}&limit=200"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    page.body["data"].as_array().cloned().unwrap_or_default()
}

/// Waits up to five seconds for `count` events of `types`.
async fn wait_for(app: &TestApp, types: &str, count: usize) -> Vec<Value> {
    for _ in 0..100 {
        let found = events_of(app, types).await;
        if found.len() >= count {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    events_of(app, types).await
}

#[tokio::test]
async fn a_task_that_falls_due_is_announced_once_and_again_for_a_new_due() {
    let app = reminding_app().await;
    let due = app
        .post(
            "/v1/tasks",
            json!({"title": "Send the proposal", "due_at": (Utc::now() + chrono::Duration::milliseconds(300)).to_rfc3339()}),
        )
        .await
        .id();
    let later = app
        .post(
            "/v1/tasks",
            json!({"title": "Next week", "due_at": (Utc::now() + chrono::Duration::days(7)).to_rfc3339()}),
        )
        .await
        .id();
    let done = app
        .post(
            "/v1/tasks",
            json!({"title": "Done already", "due_at": (Utc::now() + chrono::Duration::milliseconds(200)).to_rfc3339()}),
        )
        .await
        .id();
    app.post(&format!("/v1/tasks/{done}/complete"), json!({}))
        .await;
    let announced = wait_for(&app, "task.due", 1).await;
    assert_eq!(announced.len(), 1, "{announced:?}");
    assert_eq!(announced[0]["record"]["id"], due);
    assert_eq!(announced[0]["data"]["object"]["title"], "Send the proposal");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(events_of(&app, "task.due").await.len(), 1, "once");
    let moved = app
        .patch(
            &format!("/v1/tasks/{due}"),
            json!({"due_at": (Utc::now() + chrono::Duration::milliseconds(200)).to_rfc3339()}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    let again = wait_for(&app, "task.due", 2).await;
    assert_eq!(again.len(), 2, "a new due is announced in its turn");
    assert!(again.iter().all(|e| e["record"]["id"] != later));
}

#[tokio::test]
async fn a_meeting_is_announced_within_the_lead_time_of_its_start() {
    let app = reminding_app().await;
    let soon = Utc::now() + chrono::Duration::minutes(10);
    let starting = app
        .post(
            "/v1/meetings",
            json!({"title": "Kick-off", "starts_at": soon.to_rfc3339(),
                   "ends_at": (soon + chrono::Duration::hours(1)).to_rfc3339()}),
        )
        .await
        .id();
    let tomorrow = Utc::now() + chrono::Duration::days(1);
    app.post(
        "/v1/meetings",
        json!({"title": "Tomorrow", "starts_at": tomorrow.to_rfc3339(),
               "ends_at": (tomorrow + chrono::Duration::hours(1)).to_rfc3339()}),
    )
    .await;
    let past = Utc::now() - chrono::Duration::hours(2);
    app.post(
        "/v1/meetings",
        json!({"title": "Yesterday's notes", "starts_at": past.to_rfc3339(),
               "ends_at": (past + chrono::Duration::hours(1)).to_rfc3339()}),
    )
    .await;
    let announced = wait_for(&app, "meeting.starting", 1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let announced_later = events_of(&app, "meeting.starting").await;
    assert_eq!(announced.len(), 1, "{announced:?}");
    assert_eq!(
        announced_later.len(),
        1,
        "once, and none for a meeting already held"
    );
    assert_eq!(announced[0]["record"]["id"], starting);
}

#[tokio::test]
async fn an_idle_reminder_pass_waits_for_no_writer() {
    use diesel::connection::SimpleConnection;
    let app = spawn_app().await;
    let mut writer = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    let mut worker = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    // Another writer holds what a pass would lock (SQLite's one writer; on PostgreSQL the
    // tables, against FOR UPDATE), as a bulk load does for a minute.
    let (hold, release) = match &*writer {
        persistence::DbConnection::Sqlite(_) => ("BEGIN IMMEDIATE;", "ROLLBACK;"),
        persistence::DbConnection::Postgresql(_) => {
            worker
                .batch_execute("SET lock_timeout = '2s';")
                .unwrap_or_else(|e| panic!("{e:?}"));
            (
                "BEGIN; LOCK TABLE tasks, meetings IN EXCLUSIVE MODE;",
                "ROLLBACK;",
            )
        }
    };
    writer
        .batch_execute(hold)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let outbox = domain::event::Outbox {
        actor: domain::token::ActorRef::default(),
        render: &api::wire::events::WIRE_JSON,
    };
    let lead = chrono::Duration::minutes(15);
    let reminded = persistence::reminders::record_due(&mut worker, Utc::now(), lead, &outbox);
    let passed = persistence::activity_dates::pass_started(&mut worker, Utc::now());
    writer
        .batch_execute(release)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(reminded.ok(), Some(0), "nothing due: no lock taken");
    assert_eq!(passed.ok(), Some(0), "no meeting started: no lock taken");
}
