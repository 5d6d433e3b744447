//! Last and next activity of companies, contacts and projects: kept up to date as the tasks,
//! meetings and posts linked to them change, moved by the worker as meetings start, without a
//! new version or an event of the record; filters and sorts on the lists.

use std::time::Duration;

use crate::common::*;
use chrono::{DateTime, Duration as Span, SecondsFormat, Utc};
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Helpers

async fn created(app: &TestApp, path: &str, body: Value) -> Value {
    let answer = app.post(path, body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    answer.body
}

fn link(kind: &str, id: i64) -> Value {
    json!([{"type": kind, "id": id}])
}

fn at(offset: Span) -> String {
    (Utc::now() + offset).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A task due at `due`, linked to `links`.
async fn task(app: &TestApp, due: &str, links: Value) -> Value {
    created(
        app,
        "/v1/tasks",
        json!({"title": "Call back", "due_at": due, "links": links}),
    )
    .await
}

/// A meeting of an hour from `start`, linked to `links`.
async fn meeting(app: &TestApp, start: DateTime<Utc>, links: Value) -> Value {
    created(
        app,
        "/v1/meetings",
        json!({
            "title": "Review",
            "starts_at": start.to_rfc3339_opts(SecondsFormat::Secs, true),
            "ends_at": (start + Span::hours(1)).to_rfc3339_opts(SecondsFormat::Secs, true),
            "links": links
        }),
    )
    .await
}

/// The record's `(last_activity_at, next_activity_at)`.
async fn dates(app: &TestApp, path: &str) -> (Value, Value) {
    let record = app.get(path).await;
    assert_eq!(record.status, StatusCode::OK, "{}", record.body);
    (
        record.body["last_activity_at"].clone(),
        record.body["next_activity_at"].clone(),
    )
}

fn ids(answer: &Answer) -> Vec<i64> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body["data"]
        .as_array()
        .map(|list| list.iter().filter_map(|r| r["id"].as_i64()).collect())
        .unwrap_or_else(|| panic!("no data in {}", answer.body))
}

fn query_time(offset: Span) -> String {
    at(offset).replace('+', "%2B")
}

// ---------------------------------------------------------------------------------------------
// Kept up to date

#[tokio::test]
async fn an_open_task_is_the_next_activity_and_completing_it_makes_it_the_last() {
    let app = spawn_app().await;
    let company = app.company("Acme").await;
    let path = format!("/v1/companies/{company}");
    assert_eq!(dates(&app, &path).await, (Value::Null, Value::Null));
    let due = at(Span::days(2));
    let task = task(&app, &due, link("company", company)).await;
    assert_eq!(
        dates(&app, &path).await,
        (Value::Null, task["due_at"].clone())
    );

    let done = app
        .post(&format!("/v1/tasks/{}/complete", task["id"]), json!({}))
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(
        dates(&app, &path).await,
        (done.body["done_at"].clone(), Value::Null)
    );

    let reopened = app
        .post(&format!("/v1/tasks/{}/reopen", task["id"]), json!({}))
        .await;
    assert_eq!(reopened.status, StatusCode::OK, "{}", reopened.body);
    assert_eq!(
        dates(&app, &path).await,
        (Value::Null, task["due_at"].clone())
    );
}

#[tokio::test]
async fn an_overdue_open_task_stays_the_next_activity() {
    let app = spawn_app().await;
    let company = app.company("Acme").await;
    let overdue = task(&app, &at(-Span::days(3)), link("company", company)).await;
    task(&app, &at(Span::days(3)), link("company", company)).await;
    assert_eq!(
        dates(&app, &format!("/v1/companies/{company}")).await,
        (Value::Null, overdue["due_at"].clone())
    );
}

#[tokio::test]
async fn a_meeting_to_come_is_the_next_activity_and_one_that_started_the_last() {
    let app = spawn_app().await;
    let contact = created(&app, "/v1/contacts", json!({"first_name": "Ana"})).await["id"]
        .as_i64()
        .unwrap_or_default();
    let past = meeting(&app, Utc::now() - Span::days(5), link("contact", contact)).await;
    let soon = meeting(&app, Utc::now() + Span::days(1), link("contact", contact)).await;
    meeting(&app, Utc::now() + Span::days(9), link("contact", contact)).await;
    assert_eq!(
        dates(&app, &format!("/v1/contacts/{contact}")).await,
        (past["starts_at"].clone(), soon["starts_at"].clone())
    );
}

#[tokio::test]
async fn a_post_is_activity_when_it_is_written() {
    let app = spawn_app().await;
    let project = created(&app, "/v1/projects", json!({"name": "Fit-out"})).await["id"]
        .as_i64()
        .unwrap_or_default();
    let post = created(
        &app,
        "/v1/posts",
        json!({"body": "Signed!", "links": link("project", project)}),
    )
    .await;
    assert_eq!(
        dates(&app, &format!("/v1/projects/{project}")).await,
        (post["created_at"].clone(), Value::Null)
    );
}

#[tokio::test]
async fn moving_a_task_or_a_meeting_moves_the_dates() {
    let app = spawn_app().await;
    let company = app.company("Acme").await;
    let path = format!("/v1/companies/{company}");
    let task = task(&app, &at(Span::days(4)), link("company", company)).await;
    let moved = app
        .patch(
            &format!("/v1/tasks/{}", task["id"]),
            json!({"due_at": at(Span::days(2))}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(dates(&app, &path).await.1, moved.body["due_at"]);

    let meeting = meeting(&app, Utc::now() + Span::days(1), link("company", company)).await;
    assert_eq!(dates(&app, &path).await.1, meeting["starts_at"]);
    let earlier = Utc::now() - Span::days(1);
    let moved = app
        .patch(
            &format!("/v1/meetings/{}", meeting["id"]),
            json!({
                "starts_at": earlier.to_rfc3339_opts(SecondsFormat::Secs, true),
                "ends_at": (earlier + Span::hours(1)).to_rfc3339_opts(SecondsFormat::Secs, true)
            }),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    assert_eq!(
        dates(&app, &path).await,
        (
            moved.body["starts_at"].clone(),
            task_due(&app, task["id"].as_i64()).await
        )
    );
}

async fn task_due(app: &TestApp, id: Option<i64>) -> Value {
    let task = app
        .get(&format!("/v1/tasks/{}", id.unwrap_or_default()))
        .await;
    task.body["due_at"].clone()
}

#[tokio::test]
async fn deleting_the_only_activity_clears_the_dates() {
    let app = spawn_app().await;
    let company = app.company("Acme").await;
    let path = format!("/v1/companies/{company}");
    let meeting = meeting(&app, Utc::now() + Span::days(1), link("company", company)).await;
    assert_ne!(dates(&app, &path).await, (Value::Null, Value::Null));
    let deleted = app.delete(&format!("/v1/meetings/{}", meeting["id"])).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    assert_eq!(dates(&app, &path).await, (Value::Null, Value::Null));
}

#[tokio::test]
async fn relinking_an_activity_moves_the_dates_from_one_record_to_another() {
    let app = spawn_app().await;
    let first = app.company("First").await;
    let second = app.company("Second").await;
    let post = created(
        &app,
        "/v1/posts",
        json!({"body": "Met them", "links": link("company", first)}),
    )
    .await;
    let relinked = app
        .patch(
            &format!("/v1/posts/{}", post["id"]),
            json!({"links": link("company", second)}),
        )
        .await;
    assert_eq!(relinked.status, StatusCode::OK, "{}", relinked.body);
    assert_eq!(
        dates(&app, &format!("/v1/companies/{first}")).await,
        (Value::Null, Value::Null)
    );
    assert_eq!(
        dates(&app, &format!("/v1/companies/{second}")).await,
        (post["created_at"].clone(), Value::Null)
    );
}

#[tokio::test]
async fn a_merge_carries_the_duplicates_dates_to_the_survivor() {
    let app = spawn_app().await;
    let survivor = app.company("Acme").await;
    let duplicate = app.company("ACME Ltd").await;
    let task = task(&app, &at(Span::days(6)), link("company", duplicate)).await;
    let merged = app
        .post(
            &format!("/v1/companies/{survivor}/merge"),
            json!({"duplicate_ids": [duplicate]}),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.body);
    assert_eq!(merged.body["next_activity_at"], task["due_at"]);
    assert_eq!(
        dates(&app, &format!("/v1/companies/{survivor}")).await,
        (Value::Null, task["due_at"].clone())
    );
}

#[tokio::test]
async fn the_dates_change_no_version_etag_or_event_of_the_record() {
    let app = spawn_app().await;
    let company = app.company("Acme").await;
    let path = format!("/v1/companies/{company}");
    let before = app.get(&path).await;
    let task = task(&app, &at(Span::days(1)), link("company", company)).await;
    app.post(&format!("/v1/tasks/{}/complete", task["id"]), json!({}))
        .await;
    let after = app.get(&path).await;
    assert!(after.body["last_activity_at"].is_string(), "{}", after.body);
    assert_eq!(after.body["version"], before.body["version"]);
    assert_eq!(after.header("etag"), before.header("etag"));
    let events = app
        .get(&format!(
            "/v1/events?record_type=company&record_id={company}"
        ))
        .await;
    let types: Vec<&str> = events.body["data"]
        .as_array()
        .map(|l| l.iter().filter_map(|e| e["type"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(types, ["company.created"]);
}

#[tokio::test]
async fn concurrent_completions_leave_the_latest_as_the_last_activity() {
    let app = spawn_app().await;
    let company = app.company("Acme").await;
    let mut tasks = Vec::new();
    for _ in 0..6 {
        tasks.push(task(&app, &at(Span::days(1)), link("company", company)).await["id"].clone());
    }
    let paths: Vec<String> = tasks
        .iter()
        .map(|id| format!("/v1/tasks/{id}/complete"))
        .collect();
    let done: Vec<Answer> = join_all(paths.iter().map(|path| app.post(path, json!({})))).await;
    let latest = done
        .iter()
        .map(|answer| {
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
            answer.body["done_at"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .filter_map(|t| DateTime::parse_from_rfc3339(&t).ok())
        .max()
        .map(|t| t.with_timezone(&Utc));
    let (last, next) = dates(&app, &format!("/v1/companies/{company}")).await;
    let last = last
        .as_str()
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    assert_eq!((last, next), (latest, Value::Null));
}

#[tokio::test]
async fn the_worker_moves_a_meeting_that_starts_from_next_activity_to_last() {
    let app = spawn_app_with(api::Settings {
        reminders: api::ReminderSettings {
            interval: Duration::from_millis(50),
            meeting_lead: Duration::from_secs(15 * 60),
        },
        ..api::Settings::default()
    })
    .await;
    let company = app.company("Acme").await;
    let path = format!("/v1/companies/{company}");
    let meeting = meeting(
        &app,
        Utc::now() + Span::seconds(2),
        link("company", company),
    )
    .await;
    let start = meeting["starts_at"].clone();
    assert_eq!(dates(&app, &path).await, (Value::Null, start.clone()));
    for _ in 0..100 {
        if dates(&app, &path).await.0 == start {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(dates(&app, &path).await, (start, Value::Null));
}

// ---------------------------------------------------------------------------------------------
// Lists

#[tokio::test]
async fn the_company_list_finds_the_stale_the_recent_and_the_never_contacted() {
    let app = spawn_app().await;
    let stale = app.company("Stale").await;
    let recent = app.company("Recent").await;
    let never = app.company("Never").await;
    meeting(&app, Utc::now() - Span::days(60), link("company", stale)).await;
    created(
        &app,
        "/v1/posts",
        json!({"body": "Called", "links": link("company", recent)}),
    )
    .await;
    let month_ago = query_time(-Span::days(30));
    let list = |query: String| {
        let app = &app;
        async move { ids(&app.get(&format!("/v1/companies?{query}")).await) }
    };
    assert_eq!(
        list(format!("last_activity_before={month_ago}")).await,
        [stale]
    );
    assert_eq!(
        list(format!("last_activity_after={month_ago}")).await,
        [recent]
    );
    assert_eq!(list("has_last_activity=false".into()).await, [never]);
    assert_eq!(list("has_last_activity=true".into()).await, [recent, stale]);
}

#[tokio::test]
async fn the_project_list_filters_by_next_activity() {
    let app = spawn_app().await;
    let mut projects = Vec::new();
    for name in ["This week", "Next month", "Nothing planned"] {
        let project = created(&app, "/v1/projects", json!({"name": name})).await;
        projects.push(project["id"].as_i64().unwrap_or_default());
    }
    task(&app, &at(Span::days(2)), link("project", projects[0])).await;
    meeting(
        &app,
        Utc::now() + Span::days(30),
        link("project", projects[1]),
    )
    .await;
    let week = query_time(Span::days(7));
    let list = |query: String| {
        let app = &app;
        async move { ids(&app.get(&format!("/v1/projects?{query}")).await) }
    };
    assert_eq!(
        list(format!("next_activity_before={week}")).await,
        [projects[0]]
    );
    assert_eq!(
        list(format!("next_activity_after={week}")).await,
        [projects[1]]
    );
    assert_eq!(list("has_next_activity=false".into()).await, [projects[2]]);
}

#[tokio::test]
async fn the_contact_list_sorts_by_last_activity_in_pages_leaving_out_those_without() {
    let app = spawn_app().await;
    let mut contacts = Vec::new();
    for (name, days_ago) in [("Ana", 3), ("Bo", 10), ("Cy", 1)] {
        let contact = created(&app, "/v1/contacts", json!({"first_name": name})).await;
        let id = contact["id"].as_i64().unwrap_or_default();
        meeting(&app, Utc::now() - Span::days(days_ago), link("contact", id)).await;
        contacts.push(id);
    }
    created(&app, "/v1/contacts", json!({"first_name": "Dee"})).await;
    let (ana, bo, cy) = (contacts[0], contacts[1], contacts[2]);

    let first = app.get("/v1/contacts?sort=-last_activity_at&limit=2").await;
    assert_eq!(ids(&first), [cy, ana]);
    let cursor = first.body["next_cursor"].as_str().unwrap_or_default();
    let second = app
        .get(&format!(
            "/v1/contacts?sort=-last_activity_at&limit=2&cursor={cursor}"
        ))
        .await;
    assert_eq!(ids(&second), [bo]);
    assert_eq!(second.body["next_cursor"], Value::Null);

    let oldest_first = app.get("/v1/contacts?sort=last_activity_at").await;
    assert_eq!(ids(&oldest_first), [bo, ana, cy]);
}

#[tokio::test]
async fn activity_filters_refuse_bad_values_and_other_lists_refuse_the_sort() {
    let app = spawn_app().await;
    for (path, field) in [
        (
            "/v1/companies?last_activity_before=yesterday",
            "last_activity_before",
        ),
        ("/v1/contacts?has_next_activity=maybe", "has_next_activity"),
        (
            "/v1/projects?next_activity_after=0000-01-01T00:00:00Z",
            "next_activity_after",
        ),
        ("/v1/tasks?sort=last_activity_at", "sort"),
    ] {
        let answer = app.get(path).await;
        answer.assert_problem(400, "bad_request");
        assert_eq!(answer.error_fields(), vec![field], "{path}");
    }
}
