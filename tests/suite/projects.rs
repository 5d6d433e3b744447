//! Projects over HTTP: create and read with every field, exact money values, planned dates,
//! validation, optimistic concurrency, keyset lists with their filters and sorts, moves and
//! their history, the events they write, companies deleted under them, scopes and tenancy.

use std::collections::HashSet;

use crate::common::pipelines::*;
use crate::common::*;
use chrono::{SecondsFormat, Utc};
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Helpers

/// The account's default project pipeline.
async fn project_pipeline(app: &TestApp) -> Value {
    let list = app.get("/v1/pipelines?record_type=project").await;
    assert_eq!(list.status, 200, "{}", list.body);
    list.body["data"]
        .as_array()
        .and_then(|l| l.iter().find(|p| p["is_default"] == true))
        .cloned()
        .unwrap_or_else(|| panic!("no default project pipeline in {}", list.body))
}

/// Creates a project from `body` and insists that it was created.
async fn create(app: &TestApp, body: Value) -> Answer {
    let created = app.post("/v1/projects", body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created
}

/// Creates a project called `name` and returns its id.
async fn project(app: &TestApp, name: &str) -> i64 {
    create(app, json!({ "name": name })).await.id()
}

fn path(id: i64) -> String {
    format!("/v1/projects/{id}")
}

fn transitions(id: i64) -> String {
    format!("/v1/projects/{id}/transitions")
}

async fn read(app: &TestApp, id: i64) -> Value {
    let read = app.get(&path(id)).await;
    assert_eq!(read.status, 200, "{}", read.body);
    read.body
}

async fn move_project(app: &TestApp, id: i64, body: Value) -> Answer {
    app.post(&transitions(id), body).await
}

/// Moves a project and insists that it moved; the answer's body.
async fn moved(app: &TestApp, id: i64, body: Value) -> Value {
    let answer = move_project(app, id, body).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.body
}

/// A project's whole history, newest first.
async fn project_history(app: &TestApp, id: i64) -> Vec<Value> {
    let page = app.get(&format!("{}?limit=200", transitions(id))).await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.body["data"].as_array().cloned().unwrap_or_default()
}

/// A write with an `If-Match` header.
async fn with_if_match(
    app: &TestApp,
    method: Method,
    path: &str,
    body: Option<Value>,
    version: &str,
) -> Answer {
    app.request(
        method,
        path,
        Some(&app.token),
        body.as_ref(),
        &[("if-match", version)],
    )
    .await
}

/// The ids in a list's `data`, in the order listed.
fn ids(body: &Value) -> Vec<i64> {
    body["data"]
        .as_array()
        .map(|l| l.iter().filter_map(|p| p["id"].as_i64()).collect())
        .unwrap_or_default()
}

fn sorted(mut ids: Vec<i64>) -> Vec<i64> {
    ids.sort_unstable();
    ids
}

/// The ids a list query answers, sorted.
async fn listed(app: &TestApp, query: &str) -> Vec<i64> {
    let page = app.get(&format!("/v1/projects?limit=200&{query}")).await;
    assert_eq!(page.status, 200, "{query}: {}", page.body);
    sorted(ids(&page.body))
}

fn error_codes(answer: &Answer) -> Vec<String> {
    answer.body["errors"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|e| e["code"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Asserts a 422 problem naming exactly `field`, with `code`.
fn assert_invalid(answer: &Answer, field: &str, code: &str) {
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), vec![field], "{}", answer.body);
    assert_eq!(error_codes(answer), vec![code], "{}", answer.body);
}

/// Asserts a 422 problem that names `field` (among others, perhaps).
fn assert_names(answer: &Answer, field: &str) {
    answer.assert_problem(422, "validation_failed");
    assert!(
        answer.error_fields().iter().any(|f| f == field),
        "{field} not named in {}",
        answer.body
    );
}

/// The projects list answers nothing: nothing was written.
async fn assert_no_projects(app: &TestApp) {
    assert_eq!(app.get("/v1/projects").await.body["data"], json!([]));
}

/// A project without the figures that grow with the clock (days and seconds in phases).
fn without_clock(project: &Value) -> Value {
    let mut project = project.clone();
    if let Some(fields) = project.as_object_mut() {
        fields.remove("days_in_phase");
        fields.remove("time_in_phases");
    }
    project
}

fn today() -> String {
    Utc::now().date_naive().to_string()
}

fn now_rfc3339() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// A pause long enough for the clock to move past the last write.
async fn tick() {
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
}

async fn all_events(app: &TestApp) -> Vec<Value> {
    let page = app.get("/v1/events?limit=200").await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.body["data"].as_array().cloned().unwrap_or_default()
}

async fn last_event_id(app: &TestApp) -> i64 {
    all_events(app)
        .await
        .last()
        .and_then(|e| e["id"].as_i64())
        .unwrap_or(0)
}

async fn events_after(app: &TestApp, after: i64) -> Vec<Value> {
    let page = app
        .get(&format!("/v1/events?after={after}&limit=200"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.body["data"].as_array().cloned().unwrap_or_default()
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| e["type"].as_str().map(str::to_owned))
        .collect()
}

/// The user id behind a token.
async fn user_of(app: &TestApp, token: &str) -> i64 {
    app.get_as(token, "/v1/me").await.body["user"]["id"]
        .as_i64()
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Create and read

#[tokio::test]
async fn a_project_created_with_every_field_reads_back_as_sent() {
    let app = spawn_app().await;
    let company = app.company("Acme Ltd").await;
    let created = create(
        &app,
        json!({
            "name": "  Office move 2027 ",
            "description": "Move 40 desks\nto the new floor",
            "company_id": company,
            "owner_id": app.admin_id,
            "value": {"amount": "12500.50", "currency": "EUR"},
            "probability": 40,
            "expected_start_date": "2027-03-01",
            "expected_duration": "P3M",
            "proposal_received_date": "2026-12-01",
            "proposal_due_date": "2027-01-15",
            "start_date": "2027-03-02",
            "end_date": "2027-06-30",
            "tags": ["relocation", "uk", "relocation"],
            "custom_fields": {"po_number": "PO-7", "desks": 40}
        }),
    )
    .await;
    let id = created.id();
    assert_eq!(
        created.header("location"),
        Some(path(id).as_str()),
        "Location names the new project"
    );
    let body = &created.body;
    assert_eq!(body["name"], "Office move 2027");
    assert_eq!(body["description"], "Move 40 desks\nto the new floor");
    assert_eq!(body["company_id"], company);
    assert_eq!(body["owner_id"], app.admin_id);
    assert_eq!(
        body["value"],
        json!({"amount": "12500.50", "currency": "EUR"})
    );
    assert_eq!(body["probability"], 40);
    assert_eq!(body["expected_start_date"], "2027-03-01");
    assert_eq!(body["expected_duration"], "P3M");
    assert_eq!(body["expected_finish_date"], "2027-06-01");
    assert_eq!(body["proposal_received_date"], "2026-12-01");
    assert_eq!(body["proposal_due_date"], "2027-01-15");
    assert_eq!(body["start_date"], "2027-03-02");
    assert_eq!(body["end_date"], "2027-06-30");
    assert_eq!(body["won_at"], Value::Null);
    assert_eq!(body["close_date"], Value::Null);
    assert_eq!(body["completed_date"], Value::Null);
    assert_eq!(body["tags"], json!(["relocation", "uk"]));
    assert_eq!(
        body["custom_fields"],
        json!({"po_number": "PO-7", "desks": 40})
    );
    assert_eq!(body["version"], 1);
    assert!(body["created_at"].is_string(), "{body}");
    assert_eq!(
        without_clock(&read(&app, id).await),
        without_clock(&created.body)
    );
}

#[tokio::test]
async fn a_new_project_starts_in_the_first_phase_of_the_default_project_pipeline() {
    let app = spawn_app().await;
    let pipeline = project_pipeline(&app).await;
    let created = create(&app, json!({"name": "Fit-out"})).await;
    let id = created.id();
    assert_eq!(created.body["pipeline_id"], pipeline["id"]);
    assert_eq!(created.body["phase_id"], phase(&pipeline, "Lead"));
    assert_eq!(created.body["state"], "proposed");
    assert_eq!(created.body["outcome"], Value::Null);
    assert_eq!(created.body["days_in_phase"], 0);
    let steps = project_history(&app, id).await;
    assert_eq!(steps.len(), 1, "{steps:?}");
    assert_eq!(steps[0]["project_id"], id);
    assert_eq!(steps[0]["from_status"], "not_set");
    assert_eq!(steps[0]["to_phase_id"], phase(&pipeline, "Lead"));
    assert_eq!(steps[0]["to_status"], "proposed");
}

#[tokio::test]
async fn a_project_created_into_a_phase_starts_there() {
    let app = spawn_app().await;
    let pipeline = project_pipeline(&app).await;
    let submitted = phase(&pipeline, "Proposal submitted");
    let created = create(&app, json!({"name": "Fit-out", "phase_id": submitted})).await;
    assert_eq!(created.body["phase_id"], submitted);
    assert_eq!(created.body["version"], 1);
}

#[tokio::test]
async fn only_the_name_is_required_and_the_rest_is_null_or_empty() {
    let app = spawn_app().await;
    let created = create(&app, json!({"name": "Bare"})).await;
    let body = &created.body;
    for field in [
        "description",
        "company_id",
        "owner_id",
        "value",
        "expected_start_date",
        "expected_duration",
        "expected_finish_date",
        "proposal_received_date",
        "proposal_due_date",
        "start_date",
        "end_date",
    ] {
        assert_eq!(body[field], Value::Null, "{field}: {body}");
    }
    // Without one of its own, its probability is its phase's (Lead: 10).
    assert_eq!(body["probability"], 10);
    assert_eq!(body["probability_source"], "phase");
    assert_eq!(body["tags"], json!([]));
    assert_eq!(body["custom_fields"], json!({}));
}

// ---------------------------------------------------------------------------------------------
// Versions and entity tags

#[tokio::test]
async fn a_project_carries_its_version_as_etag() {
    let app = spawn_app().await;
    let created = create(&app, json!({"name": "Fit-out"})).await;
    assert_eq!(created.header("etag"), Some("\"1\""));
    let id = created.id();
    assert_eq!(app.get(&path(id)).await.header("etag"), Some("\"1\""));
    let patched = app.patch(&path(id), json!({"probability": 50})).await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.header("etag"), Some("\"2\""));
    assert_eq!(patched.body["version"], 2);
    assert_eq!(app.get(&path(id)).await.header("etag"), Some("\"2\""));
}

#[tokio::test]
async fn if_none_match_with_the_current_etag_is_304_without_a_body() {
    let app = spawn_app().await;
    let id = project(&app, "Fit-out").await;
    let cached = app
        .request(
            Method::GET,
            &path(id),
            Some(&app.token),
            None,
            &[("if-none-match", "\"1\"")],
        )
        .await;
    assert_eq!(cached.status, 304);
    assert_eq!(cached.body, Value::Null);
    assert_eq!(cached.header("etag"), Some("\"1\""));
    app.patch(&path(id), json!({"probability": 10})).await;
    let changed = app
        .request(
            Method::GET,
            &path(id),
            Some(&app.token),
            None,
            &[("if-none-match", "\"1\"")],
        )
        .await;
    assert_eq!(changed.status, 200, "a stale tag gets the project");
    assert_eq!(changed.body["probability"], 10);
}

#[tokio::test]
async fn a_patch_with_a_stale_if_match_is_412_and_changes_nothing() {
    let app = spawn_app().await;
    let id = project(&app, "Fit-out").await;
    let first = with_if_match(
        &app,
        Method::PATCH,
        &path(id),
        Some(json!({"name": "Fit-out 2"})),
        "\"1\"",
    )
    .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let stale = with_if_match(
        &app,
        Method::PATCH,
        &path(id),
        Some(json!({"name": "Fit-out 3"})),
        "\"1\"",
    )
    .await;
    stale.assert_problem(412, "precondition_failed");
    let now = read(&app, id).await;
    assert_eq!(now["name"], "Fit-out 2");
    assert_eq!(now["version"], 2);
}

#[tokio::test]
async fn a_delete_with_a_stale_if_match_is_412_and_a_current_one_deletes() {
    let app = spawn_app().await;
    let id = project(&app, "Fit-out").await;
    app.patch(&path(id), json!({"probability": 5})).await;
    with_if_match(&app, Method::DELETE, &path(id), None, "\"1\"")
        .await
        .assert_problem(412, "precondition_failed");
    assert_eq!(read(&app, id).await["version"], 2);
    let deleted = with_if_match(&app, Method::DELETE, &path(id), None, "\"2\"").await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    app.get(&path(id)).await.assert_problem(404, "not_found");
    app.get(&transitions(id))
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn a_patch_that_changes_nothing_keeps_the_version_and_writes_no_event() {
    let app = spawn_app().await;
    let created = create(
        &app,
        json!({"name": "Fit-out", "value": {"amount": "10", "currency": "EUR"},
               "tags": ["a"], "expected_start_date": "2027-01-01", "expected_duration": "P1M"}),
    )
    .await;
    let id = created.id();
    let start = last_event_id(&app).await;
    let same = app
        .patch(
            &path(id),
            json!({"name": "Fit-out", "value": {"amount": "10.00", "currency": "EUR"},
                   "tags": ["a"], "expected_duration": "P1M"}),
        )
        .await;
    assert_eq!(same.status, 200, "{}", same.body);
    assert_eq!(same.header("etag"), Some("\"1\""));
    assert_eq!(without_clock(&same.body), without_clock(&created.body));
    assert!(events_after(&app, start).await.is_empty());
}

#[tokio::test]
async fn patch_changes_only_what_it_names_and_null_clears() {
    let app = spawn_app().await;
    let id = create(
        &app,
        json!({"name": "Fit-out", "description": "x", "probability": 30,
               "value": {"amount": "5", "currency": "GBP"}, "custom_fields": {"a": 1, "b": 2}}),
    )
    .await
    .id();
    let patched = app
        .patch(
            &path(id),
            json!({"description": null, "value": null, "custom_fields": {"a": null, "c": 3}}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["description"], Value::Null);
    assert_eq!(patched.body["value"], Value::Null);
    assert_eq!(patched.body["probability"], 30);
    assert_eq!(patched.body["custom_fields"], json!({"b": 2, "c": 3}));
}

// ---------------------------------------------------------------------------------------------
// Money

#[tokio::test]
async fn a_value_round_trips_as_the_exact_decimal_sent() {
    let app = spawn_app().await;
    let created = create(
        &app,
        json!({"name": "Big", "value": {"amount": "1234567.8901", "currency": "EUR"}}),
    )
    .await;
    assert_eq!(created.body["value"]["amount"], "1234567.8901");
    let id = created.id();
    assert_eq!(read(&app, id).await["value"]["amount"], "1234567.8901");
    let listed = app.get("/v1/projects").await;
    assert_eq!(listed.body["data"][0]["value"]["amount"], "1234567.8901");
}

#[tokio::test]
async fn amounts_have_no_float_artefacts_and_the_currencys_decimals() {
    let app = spawn_app().await;
    for (amount, currency, shown) in [
        ("0.1", "EUR", "0.10"),
        ("0.3", "USD", "0.30"),
        ("10.1", "EUR", "10.10"),
        ("0.0001", "EUR", "0.0001"),
        ("999999999999.9999", "EUR", "999999999999.9999"),
        ("900719925474.0993", "EUR", "900719925474.0993"),
        ("1200", "JPY", "1200"),
        ("1.5", "KWD", "1.500"),
    ] {
        let created = app
            .post(
                "/v1/projects",
                json!({"name": "V", "value": {"amount": amount, "currency": currency}}),
            )
            .await;
        assert_eq!(created.status, 201, "{amount}: {}", created.body);
        assert_eq!(
            created.body["value"],
            json!({"amount": shown, "currency": currency}),
            "{amount} {currency}"
        );
        let again = read(&app, created.id()).await;
        assert_eq!(again["value"]["amount"], shown, "{amount} {currency} read");
    }
}

#[tokio::test]
async fn a_currency_must_be_an_iso_4217_code_in_capitals() {
    let app = spawn_app().await;
    for currency in ["eur", "ABC", "EURO", "", "€"] {
        let answer = app
            .post(
                "/v1/projects",
                json!({"name": "V", "value": {"amount": "10", "currency": currency}}),
            )
            .await;
        assert_invalid(&answer, "value.currency", "invalid_currency");
    }
    assert_no_projects(&app).await;
}

#[tokio::test]
async fn an_amount_without_a_currency_is_refused() {
    let app = spawn_app().await;
    let answer = app
        .post(
            "/v1/projects",
            json!({"name": "V", "value": {"amount": "10"}}),
        )
        .await;
    assert_invalid(&answer, "value.currency", "required");
    assert_no_projects(&app).await;
}

#[tokio::test]
async fn an_amount_with_more_than_four_decimals_is_refused() {
    let app = spawn_app().await;
    let answer = app
        .post(
            "/v1/projects",
            json!({"name": "V", "value": {"amount": "1.23456", "currency": "EUR"}}),
        )
        .await;
    assert_invalid(&answer, "value.amount", "invalid_amount");
    assert_no_projects(&app).await;
}

#[tokio::test]
async fn an_amount_that_is_not_a_plain_decimal_string_is_refused() {
    let app = spawn_app().await;
    for amount in [
        json!("-1"),
        json!("1e3"),
        json!("1,000"),
        json!(""),
        json!("1000000000000"),
    ] {
        let answer = app
            .post(
                "/v1/projects",
                json!({"name": "V", "value": {"amount": amount, "currency": "EUR"}}),
            )
            .await;
        assert_invalid(&answer, "value.amount", "invalid_amount");
    }
    let number = app
        .post(
            "/v1/projects",
            json!({"name": "V", "value": {"amount": 0.1, "currency": "EUR"}}),
        )
        .await;
    assert_invalid(&number, "value.amount", "invalid_type");
    assert_no_projects(&app).await;
}

// ---------------------------------------------------------------------------------------------
// Planned dates

#[tokio::test]
async fn a_start_and_a_duration_give_the_finish() {
    let app = spawn_app().await;
    let created = create(
        &app,
        json!({"name": "P", "expected_start_date": "2027-01-31", "expected_duration": "P1M"}),
    )
    .await;
    assert_eq!(created.body["expected_finish_date"], "2027-02-28");
    assert_eq!(created.body["expected_duration"], "P1M");
}

#[tokio::test]
async fn a_start_and_a_finish_give_the_duration() {
    let app = spawn_app().await;
    let created = create(
        &app,
        json!({"name": "P", "expected_start_date": "2027-03-01", "expected_finish_date": "2027-03-31"}),
    )
    .await;
    assert_eq!(created.body["expected_duration"], "P30D");
}

#[tokio::test]
async fn a_duration_and_a_finish_give_the_start() {
    let app = spawn_app().await;
    let created = create(
        &app,
        json!({"name": "P", "expected_duration": "P2W", "expected_finish_date": "2027-03-15"}),
    )
    .await;
    assert_eq!(created.body["expected_start_date"], "2027-03-01");
    assert_eq!(created.body["expected_duration"], "P14D");
}

#[tokio::test]
async fn three_planned_dates_that_agree_are_taken() {
    let app = spawn_app().await;
    let created = create(
        &app,
        json!({"name": "P", "expected_start_date": "2027-03-01", "expected_duration": "P1Y6M",
               "expected_finish_date": "2028-09-01"}),
    )
    .await;
    assert_eq!(created.body["expected_duration"], "P1Y6M");
    assert_eq!(created.body["expected_finish_date"], "2028-09-01");
}

#[tokio::test]
async fn three_planned_dates_that_disagree_are_refused() {
    let app = spawn_app().await;
    let answer = app
        .post(
            "/v1/projects",
            json!({"name": "P", "expected_start_date": "2027-03-01", "expected_duration": "P1M",
                   "expected_finish_date": "2027-05-01"}),
        )
        .await;
    assert_invalid(&answer, "expected_finish_date", "inconsistent_schedule");
    assert_no_projects(&app).await;
}

#[tokio::test]
async fn a_planned_finish_before_the_planned_start_is_refused() {
    let app = spawn_app().await;
    let answer = app
        .post(
            "/v1/projects",
            json!({"name": "P", "expected_start_date": "2027-03-01", "expected_finish_date": "2027-02-01"}),
        )
        .await;
    assert_invalid(&answer, "expected_finish_date", "before_start");
}

#[tokio::test]
async fn a_duration_that_is_not_iso_8601_is_refused() {
    let app = spawn_app().await;
    for duration in ["3 months", "P", "PT3H", "P3", "P3D2M", "P-1D", "3M"] {
        let answer = app
            .post(
                "/v1/projects",
                json!({"name": "P", "expected_duration": duration}),
            )
            .await;
        assert_invalid(&answer, "expected_duration", "invalid_duration");
    }
    assert_no_projects(&app).await;
}

#[tokio::test]
async fn a_date_that_is_not_a_calendar_date_is_refused() {
    let app = spawn_app().await;
    for date in ["2027-02-30", "01/03/2027", "2027-03-01T00:00:00Z"] {
        let answer = app
            .post(
                "/v1/projects",
                json!({"name": "P", "proposal_due_date": date}),
            )
            .await;
        assert_names(&answer, "proposal_due_date");
    }
    assert_no_projects(&app).await;
}

#[tokio::test]
async fn changing_the_planned_start_moves_the_planned_finish() {
    let app = spawn_app().await;
    let id = create(
        &app,
        json!({"name": "P", "expected_start_date": "2027-03-01", "expected_duration": "P1M"}),
    )
    .await
    .id();
    let patched = app
        .patch(&path(id), json!({"expected_start_date": "2027-04-01"}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.body["expected_finish_date"], "2027-05-01");
    assert_eq!(patched.body["expected_duration"], "P1M");
}

// ---------------------------------------------------------------------------------------------
// Validation

#[tokio::test]
async fn a_project_needs_a_name() {
    let app = spawn_app().await;
    let answer = app
        .post("/v1/projects", json!({"description": "No name"}))
        .await;
    assert_invalid(&answer, "name", "required");
    assert_no_projects(&app).await;
}

#[tokio::test]
async fn a_blank_name_is_refused() {
    let app = spawn_app().await;
    let answer = app.post("/v1/projects", json!({"name": "   "})).await;
    assert_invalid(&answer, "name", "blank");
    let id = project(&app, "Named").await;
    let patched = app.patch(&path(id), json!({"name": ""})).await;
    assert_invalid(&patched, "name", "blank");
    assert_eq!(read(&app, id).await["name"], "Named");
}

#[tokio::test]
async fn a_name_over_200_characters_is_refused() {
    let app = spawn_app().await;
    let answer = app
        .post("/v1/projects", json!({"name": "x".repeat(201)}))
        .await;
    assert_invalid(&answer, "name", "too_long");
    let longest = create(&app, json!({"name": "é".repeat(200)})).await;
    assert_eq!(longest.body["name"], "é".repeat(200));
}

#[tokio::test]
async fn a_null_name_in_a_patch_is_refused() {
    let app = spawn_app().await;
    let id = project(&app, "Named").await;
    let answer = app.patch(&path(id), json!({"name": null})).await;
    assert_invalid(&answer, "name", "null_not_allowed");
}

#[tokio::test]
async fn a_probability_outside_0_to_100_is_refused() {
    let app = spawn_app().await;
    for probability in [-1, 101] {
        let answer = app
            .post(
                "/v1/projects",
                json!({"name": "P", "probability": probability}),
            )
            .await;
        assert_invalid(&answer, "probability", "out_of_range");
    }
    for probability in [0, 100] {
        let created = create(&app, json!({"name": "P", "probability": probability})).await;
        assert_eq!(created.body["probability"], probability);
    }
    let id = project(&app, "Patched").await;
    let patched = app.patch(&path(id), json!({"probability": 150})).await;
    assert_invalid(&patched, "probability", "out_of_range");
}

#[tokio::test]
async fn an_unknown_company_is_refused() {
    let app = spawn_app().await;
    let answer = app
        .post("/v1/projects", json!({"name": "P", "company_id": 999_999}))
        .await;
    assert_invalid(&answer, "company_id", "unknown_company");
    assert_no_projects(&app).await;
}

#[tokio::test]
async fn a_company_of_another_account_is_refused() {
    let app = spawn_app().await;
    let other = app.other_account("Globex");
    let theirs = app
        .post_as(&other, "/v1/companies", json!({"name": "Theirs"}))
        .await
        .id();
    let answer = app
        .post("/v1/projects", json!({"name": "P", "company_id": theirs}))
        .await;
    assert_invalid(&answer, "company_id", "unknown_company");
    let id = project(&app, "Ours").await;
    let patched = app.patch(&path(id), json!({"company_id": theirs})).await;
    assert_invalid(&patched, "company_id", "unknown_company");
    assert_eq!(read(&app, id).await["company_id"], Value::Null);
}

#[tokio::test]
async fn an_owner_of_another_account_is_refused() {
    let app = spawn_app().await;
    let other = app.other_account("Globex");
    let outsider = user_of(&app, &other).await;
    assert!(outsider > 0);
    let answer = app
        .post("/v1/projects", json!({"name": "P", "owner_id": outsider}))
        .await;
    assert_invalid(&answer, "owner_id", "unknown_user");
    assert_no_projects(&app).await;
}

#[tokio::test]
async fn unknown_fields_are_refused_so_nothing_is_mass_assigned() {
    let app = spawn_app().await;
    for field in ["account_id", "version", "state", "won_at", "created_at"] {
        let answer = app
            .post("/v1/projects", json!({"name": "P", field: 1}))
            .await;
        assert_invalid(&answer, field, "unknown_field");
    }
    assert_no_projects(&app).await;
    let id = project(&app, "P").await;
    let answer = app.patch(&path(id), json!({"version": 7})).await;
    assert_invalid(&answer, "version", "unknown_field");
    let nested = app
        .post(
            "/v1/projects",
            json!({"name": "P", "value": {"amount": "1", "currency": "EUR", "rate": 1}}),
        )
        .await;
    assert_names(&nested, "value.rate");
    assert_eq!(read(&app, id).await["version"], 1);
}

#[tokio::test]
async fn every_bad_field_of_a_body_is_named_at_once() {
    let app = spawn_app().await;
    let answer = app
        .post(
            "/v1/projects",
            json!({"name": " ", "probability": 200, "expected_duration": "soon",
                   "value": {"amount": "x", "currency": "EUR"}, "tags": ["ok", ""]}),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    let fields: HashSet<String> = answer.error_fields().into_iter().collect();
    for field in [
        "name",
        "probability",
        "expected_duration",
        "value.amount",
        "tags[1]",
    ] {
        assert!(fields.contains(field), "{field} missing from {fields:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Lists: paging, filters, sorts

#[tokio::test]
async fn the_list_pages_with_limit_and_next_cursor_and_misses_none() {
    let app = spawn_app().await;
    let mut made = Vec::new();
    for i in 0..7 {
        made.push(project(&app, &format!("Project {i}")).await);
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut pages = 0;
    loop {
        let query = match &cursor {
            Some(c) => format!("/v1/projects?limit=3&cursor={c}"),
            None => "/v1/projects?limit=3".to_owned(),
        };
        let page = app.get(&query).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let on_page = ids(&page.body);
        assert!(on_page.len() <= 3, "{on_page:?}");
        seen.extend(on_page);
        pages += 1;
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(pages < 10, "the walk does not end");
    }
    assert_eq!(pages, 3);
    made.reverse();
    assert_eq!(seen, made, "newest first, each once");
}

#[tokio::test]
async fn bad_list_parameters_are_400_naming_the_parameter() {
    let app = spawn_app().await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("sort=size", "sort"),
        ("cursor=nonsense", "cursor"),
        ("state=hot", "state"),
        ("state=prospect", "state"),
        ("outcome=draw", "outcome"),
        ("created_since=yesterday", "created_since"),
        ("expected_finish_before=soon", "expected_finish_before"),
        ("colour=red", "colour"),
    ] {
        let answer = app.get(&format!("/v1/projects?{query}")).await;
        answer.assert_problem(400, "bad_request");
        assert_eq!(answer.error_fields(), vec![field], "{query}");
    }
}

#[tokio::test]
async fn the_list_filters_by_company_owner_tag_and_text() {
    let app = spawn_app().await;
    let acme = app.company("Acme").await;
    let globex = app.company("Globex").await;
    let (member, _) = app.member("m@acme.test", "member", &["admin"]).await;
    let a = create(
        &app,
        json!({"name": "Office Move", "company_id": acme, "owner_id": member, "tags": ["vip"]}),
    )
    .await
    .id();
    let b = create(
        &app,
        json!({"name": "Data centre move", "company_id": acme, "tags": ["vip", "uk"]}),
    )
    .await
    .id();
    let c = create(
        &app,
        json!({"name": "Audit 100%", "company_id": globex, "owner_id": member}),
    )
    .await
    .id();
    let cases: Vec<(String, Vec<i64>)> = vec![
        (format!("company_id={acme}"), vec![a, b]),
        (format!("company_id={globex}"), vec![c]),
        (format!("owner_id={member}"), vec![a, c]),
        (format!("owner_id={}", app.admin_id), vec![]),
        ("tag=vip".into(), vec![a, b]),
        ("tag=uk".into(), vec![b]),
        ("tag=VIP".into(), vec![]),
        ("q=MOVE".into(), vec![a, b]),
        ("q=100%25".into(), vec![c]),
        ("q=_".into(), vec![]),
        (format!("company_id={acme}&tag=uk"), vec![b]),
    ];
    for (query, expected) in cases {
        assert_eq!(listed(&app, &query).await, sorted(expected), "{query}");
    }
}

#[tokio::test]
async fn the_list_filters_by_pipeline_phase_state_and_outcome() {
    let app = spawn_app().await;
    let pipeline = project_pipeline(&app).await;
    let pipeline_id = pipeline["id"].as_i64().unwrap_or_default();
    let other = app
        .post(
            "/v1/pipelines",
            json!({"name": "Tenders", "record_type": "project",
                   "phases": [{"name": "Tender", "status": "proposed"}]}),
        )
        .await;
    assert_eq!(other.status, 201, "{}", other.body);
    let other_id = other.id();
    let lead = project(&app, "Lead").await;
    let won = project(&app, "Won").await;
    moved(&app, won, json!({"outcome": "won"})).await;
    let lost = project(&app, "Lost").await;
    moved(&app, lost, json!({"outcome": "lost"})).await;
    let running = project(&app, "Running").await;
    moved(
        &app,
        running,
        json!({"to_phase_id": phase(&pipeline, "In progress")}),
    )
    .await;
    let removed = project(&app, "Removed").await;
    moved(&app, removed, json!({"action": "remove"})).await;
    let tender = create(
        &app,
        json!({"name": "Tender", "phase_id": phase(&other.body, "Tender")}),
    )
    .await
    .id();
    let cases: Vec<(String, Vec<i64>)> = vec![
        (
            format!("pipeline_id={pipeline_id}"),
            vec![lead, won, lost, running],
        ),
        (format!("pipeline_id={other_id}"), vec![tender]),
        (format!("phase_id={}", phase(&pipeline, "Lead")), vec![lead]),
        (format!("phase_id={}", phase(&pipeline, "Won")), vec![won]),
        ("state=proposed".into(), vec![lead, tender]),
        ("state=won".into(), vec![won]),
        ("state=lost".into(), vec![lost]),
        ("state=active".into(), vec![running]),
        ("state=not_set".into(), vec![removed]),
        ("outcome=won".into(), vec![won]),
        ("outcome=lost".into(), vec![lost]),
        (format!("pipeline_id={other_id}&state=won"), vec![]),
    ];
    for (query, expected) in cases {
        assert_eq!(listed(&app, &query).await, sorted(expected), "{query}");
    }
}

#[tokio::test]
async fn the_list_filters_by_expected_finish_before_and_after() {
    let app = spawn_app().await;
    let march = create(
        &app,
        json!({"name": "March", "expected_finish_date": "2027-03-31"}),
    )
    .await
    .id();
    let june = create(
        &app,
        json!({"name": "June", "expected_start_date": "2027-03-01", "expected_duration": "P3M"}),
    )
    .await
    .id();
    project(&app, "Unplanned").await;
    assert_eq!(
        listed(&app, "expected_finish_before=2027-05-01").await,
        vec![march]
    );
    assert_eq!(
        listed(&app, "expected_finish_after=2027-05-01").await,
        vec![june]
    );
    assert_eq!(
        listed(
            &app,
            "expected_finish_after=2027-01-01&expected_finish_before=2028-01-01"
        )
        .await,
        sorted(vec![march, june])
    );
}

#[tokio::test]
async fn the_list_filters_by_created_since_and_updated_since() {
    let app = spawn_app().await;
    let old = project(&app, "Old").await;
    tick().await;
    let between = now_rfc3339();
    tick().await;
    let new = project(&app, "New").await;
    tick().await;
    let later = now_rfc3339();
    tick().await;
    let patched = app.patch(&path(old), json!({"probability": 10})).await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(
        listed(&app, &format!("created_since={between}")).await,
        vec![new]
    );
    assert_eq!(
        listed(&app, &format!("updated_since={between}")).await,
        sorted(vec![old, new])
    );
    assert_eq!(
        listed(&app, &format!("updated_since={later}")).await,
        vec![old]
    );
    assert_eq!(
        listed(&app, "created_since=2999-01-01T00:00:00Z").await,
        Vec::<i64>::new()
    );
}

#[tokio::test]
async fn the_list_filters_by_a_value_range() {
    let app = spawn_app().await;
    let small = create(
        &app,
        json!({"name": "Small", "value": {"amount": "999.99", "currency": "EUR"}}),
    )
    .await
    .id();
    let middle = create(
        &app,
        json!({"name": "Middle", "value": {"amount": "5000", "currency": "EUR"}}),
    )
    .await
    .id();
    let large = create(
        &app,
        json!({"name": "Large", "value": {"amount": "25000.0001", "currency": "EUR"}}),
    )
    .await
    .id();
    project(&app, "No value").await;
    assert_eq!(
        listed(&app, "value_min=1000").await,
        sorted(vec![middle, large])
    );
    assert_eq!(
        listed(&app, "value_max=5000").await,
        sorted(vec![small, middle])
    );
    assert_eq!(
        listed(&app, "value_min=1000&value_max=25000").await,
        vec![middle]
    );
}

fn names(answer: &Answer) -> Vec<String> {
    answer.body["data"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn the_list_sorts_by_created_at_newest_first_by_default() {
    let app = spawn_app().await;
    for name in ["bravo", "Alpha", "charlie"] {
        project(&app, name).await;
    }
    assert_eq!(
        names(&app.get("/v1/projects").await),
        ["charlie", "Alpha", "bravo"]
    );
    assert_eq!(
        names(&app.get("/v1/projects?sort=created_at").await),
        ["bravo", "Alpha", "charlie"]
    );
}

#[tokio::test]
async fn the_list_sorts_by_name_both_ways_and_pages_in_that_order() {
    let app = spawn_app().await;
    for name in ["delta", "bravo", "echo", "alpha", "charlie"] {
        project(&app, name).await;
    }
    let by_name = names(&app.get("/v1/projects?sort=name").await);
    assert_eq!(by_name, ["alpha", "bravo", "charlie", "delta", "echo"]);
    let mut reversed = names(&app.get("/v1/projects?sort=-name").await);
    reversed.reverse();
    assert_eq!(reversed, by_name);
    let first = app.get("/v1/projects?sort=name&limit=2").await;
    assert_eq!(names(&first), ["alpha", "bravo"]);
    let cursor = first.body["next_cursor"].as_str().unwrap_or_default();
    let second = app
        .get(&format!("/v1/projects?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(
        names(&second),
        ["charlie", "delta"],
        "the cursor keeps the sort"
    );
}

#[tokio::test]
async fn the_list_sorts_by_updated_at() {
    let app = spawn_app().await;
    let a = project(&app, "A").await;
    let b = project(&app, "B").await;
    let c = project(&app, "C").await;
    tick().await;
    app.patch(&path(a), json!({"probability": 1})).await;
    assert_eq!(
        ids(&app.get("/v1/projects?sort=updated_at").await.body),
        [b, c, a]
    );
    assert_eq!(
        ids(&app.get("/v1/projects?sort=-updated_at").await.body),
        [a, c, b]
    );
}

#[tokio::test]
async fn the_list_sorts_by_value() {
    let app = spawn_app().await;
    for (name, amount) in [("mid", "500"), ("low", "9.99"), ("high", "1000.5")] {
        create(
            &app,
            json!({"name": name, "value": {"amount": amount, "currency": "EUR"}}),
        )
        .await;
    }
    let answer = app.get("/v1/projects?sort=value").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(names(&answer), ["low", "mid", "high"]);
    assert_eq!(
        names(&app.get("/v1/projects?sort=-value").await),
        ["high", "mid", "low"]
    );
}

#[tokio::test]
async fn the_list_sorts_by_expected_finish_date() {
    let app = spawn_app().await;
    for (name, finish) in [
        ("june", "2027-06-30"),
        ("march", "2027-03-31"),
        ("may", "2027-05-31"),
    ] {
        create(&app, json!({"name": name, "expected_finish_date": finish})).await;
    }
    let answer = app.get("/v1/projects?sort=expected_finish_date").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(names(&answer), ["march", "may", "june"]);
    assert_eq!(
        names(&app.get("/v1/projects?sort=-expected_finish_date").await),
        ["june", "may", "march"]
    );
}

// ---------------------------------------------------------------------------------------------
// Moves and history

#[tokio::test]
async fn a_move_to_a_phase_answers_201_with_its_history_row_and_the_project() {
    let app = spawn_app().await;
    let pipeline = project_pipeline(&app).await;
    let (lead, submitted) = (
        phase(&pipeline, "Lead"),
        phase(&pipeline, "Proposal submitted"),
    );
    let id = project(&app, "Fit-out").await;
    let answer = move_project(&app, id, json!({"to_phase_id": submitted})).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.header("etag"), Some("\"2\""));
    let body = &answer.body;
    assert_eq!(body["changed"], true);
    assert_eq!(body["transition"]["project_id"], id);
    assert_eq!(body["transition"]["from_phase_id"], lead);
    assert_eq!(body["transition"]["to_phase_id"], submitted);
    assert_eq!(body["transition"]["to_phase_name"], "Proposal submitted");
    assert_eq!(body["transition"]["from_status"], "proposed");
    assert_eq!(body["transition"]["to_status"], "proposed");
    assert_eq!(
        body["transition"]["actor"],
        json!({"kind": "user", "id": app.admin_id})
    );
    assert_eq!(body["project"]["phase_id"], submitted);
    assert_eq!(body["project"]["version"], 2);
    assert_eq!(read(&app, id).await["phase_id"], submitted);
    let steps = project_history(&app, id).await;
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0], body["transition"], "newest first");
    assert_eq!(steps[1]["to_phase_id"], lead);
}

#[tokio::test]
async fn a_move_to_where_the_project_already_is_answers_200_and_writes_nothing() {
    let app = spawn_app().await;
    let pipeline = project_pipeline(&app).await;
    let id = project(&app, "Fit-out").await;
    let answer = move_project(&app, id, json!({"to_phase_id": phase(&pipeline, "Lead")})).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["changed"], false);
    assert_eq!(answer.body["transition"], Value::Null);
    assert_eq!(read(&app, id).await["version"], 1);
    assert_eq!(project_history(&app, id).await.len(), 1);
}

#[tokio::test]
async fn a_project_moves_to_the_first_phase_of_a_state() {
    let app = spawn_app().await;
    let pipeline = project_pipeline(&app).await;
    let id = project(&app, "Fit-out").await;
    let body = moved(&app, id, json!({"to_status": "active"})).await;
    assert_eq!(body["project"]["phase_id"], phase(&pipeline, "In progress"));
    assert_eq!(body["project"]["state"], "active");
    assert_eq!(body["transition"]["to_status"], "active");
}

#[tokio::test]
async fn a_project_cannot_move_to_a_company_state() {
    let app = spawn_app().await;
    let id = project(&app, "Fit-out").await;
    let answer = move_project(&app, id, json!({"to_status": "prospect"})).await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), vec!["to_status"]);
    assert_eq!(project_history(&app, id).await.len(), 1);
}

#[tokio::test]
async fn winning_a_project_sets_won_at_and_close_date() {
    let app = spawn_app().await;
    let pipeline = project_pipeline(&app).await;
    let id = project(&app, "Fit-out").await;
    let before = Utc::now();
    let body = moved(&app, id, json!({"outcome": "won"})).await;
    let project = &body["project"];
    assert_eq!(project["phase_id"], phase(&pipeline, "Won"));
    assert_eq!(project["state"], "won");
    assert_eq!(project["outcome"], "won");
    assert_eq!(body["transition"]["outcome"], "won");
    let won_at = project["won_at"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .unwrap_or_else(|| panic!("no won_at in {project}"));
    assert!(
        won_at >= before - chrono::Duration::seconds(1) && won_at <= Utc::now(),
        "{won_at}"
    );
    assert_eq!(project["close_date"], today());
    assert_eq!(project["completed_date"], Value::Null);
    assert_eq!(read(&app, id).await["won_at"], project["won_at"]);
}

#[tokio::test]
async fn losing_a_project_sets_close_date_and_keeps_the_reason() {
    let app = spawn_app().await;
    let pipeline = project_pipeline(&app).await;
    let id = project(&app, "Fit-out").await;
    let body = moved(
        &app,
        id,
        json!({"outcome": "lost", "reason": "Budget withdrawn"}),
    )
    .await;
    let project = &body["project"];
    assert_eq!(project["phase_id"], phase(&pipeline, "Lost"));
    assert_eq!(project["state"], "lost");
    assert_eq!(project["outcome"], "lost");
    assert_eq!(project["outcome_reason"], "Budget withdrawn");
    assert_eq!(project["close_date"], today());
    assert_eq!(project["won_at"], Value::Null);
    let steps = project_history(&app, id).await;
    assert_eq!(steps[0]["outcome"], "lost");
    assert_eq!(steps[0]["reason"], "Budget withdrawn");
}

#[tokio::test]
async fn cancelling_a_project_sets_close_date() {
    let app = spawn_app().await;
    let id = project(&app, "Fit-out").await;
    let body = moved(&app, id, json!({"to_status": "cancelled"})).await;
    assert_eq!(body["project"]["state"], "cancelled");
    assert_eq!(body["project"]["close_date"], today());
    assert_eq!(body["project"]["won_at"], Value::Null);
}

#[tokio::test]
async fn moving_a_project_to_a_completed_phase_sets_completed_date() {
    let app = spawn_app().await;
    let pipeline = project_pipeline(&app).await;
    let id = project(&app, "Fit-out").await;
    moved(
        &app,
        id,
        json!({"to_phase_id": phase(&pipeline, "In progress")}),
    )
    .await;
    assert_eq!(read(&app, id).await["completed_date"], Value::Null);
    let body = moved(
        &app,
        id,
        json!({"to_phase_id": phase(&pipeline, "Completed")}),
    )
    .await;
    assert_eq!(body["project"]["state"], "completed");
    assert_eq!(body["project"]["completed_date"], today());
    assert_eq!(read(&app, id).await["completed_date"], today());
}

#[tokio::test]
async fn the_answer_to_a_move_shows_the_dates_it_set_and_its_etag_matches() {
    let app = spawn_app().await;
    let id = project(&app, "Fit-out").await;
    let answer = move_project(&app, id, json!({"outcome": "won"})).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    let now = app.get(&path(id)).await;
    assert_eq!(answer.header("etag"), now.header("etag"));
    assert_eq!(
        without_clock(&answer.body["project"]),
        without_clock(&now.body)
    );
}

#[tokio::test]
async fn reopening_a_won_project_puts_it_back_in_the_first_phase() {
    let app = spawn_app().await;
    let pipeline = project_pipeline(&app).await;
    let id = project(&app, "Fit-out").await;
    let won = moved(&app, id, json!({"outcome": "won"})).await;
    let body = moved(&app, id, json!({"action": "reopen"})).await;
    let project = &body["project"];
    assert_eq!(project["phase_id"], phase(&pipeline, "Lead"));
    assert_eq!(project["state"], "proposed");
    assert_eq!(project["outcome"], Value::Null);
    assert_eq!(project["outcome_reason"], Value::Null);
    assert_eq!(
        project["won_at"], won["project"]["won_at"],
        "reopening clears no date"
    );
    assert_eq!(project_history(&app, id).await.len(), 3);
}

#[tokio::test]
async fn only_a_won_or_lost_project_can_be_reopened() {
    let app = spawn_app().await;
    let id = project(&app, "Fit-out").await;
    let answer = move_project(&app, id, json!({"action": "reopen"})).await;
    assert_invalid(&answer, "action", "not_closed");
    assert_eq!(project_history(&app, id).await.len(), 1);
}

#[tokio::test]
async fn removing_a_project_takes_it_out_of_every_pipeline() {
    let app = spawn_app().await;
    let id = project(&app, "Fit-out").await;
    let body = moved(&app, id, json!({"action": "remove"})).await;
    let project = &body["project"];
    assert_eq!(project["pipeline_id"], Value::Null);
    assert_eq!(project["phase_id"], Value::Null);
    assert_eq!(project["state"], "not_set");
    assert_eq!(body["transition"]["to_status"], "not_set");
    assert_eq!(body["transition"]["to_phase_id"], Value::Null);
    assert_eq!(read(&app, id).await["state"], "not_set");
}

#[tokio::test]
async fn a_move_must_name_exactly_one_destination() {
    let app = spawn_app().await;
    let id = project(&app, "Fit-out").await;
    for body in [json!({}), json!({"to_status": "won", "outcome": "won"})] {
        let answer = move_project(&app, id, body).await;
        answer.assert_problem(422, "validation_failed");
        assert_eq!(error_codes(&answer), vec!["one_move"], "{}", answer.body);
    }
    let reason = move_project(&app, id, json!({"to_status": "won", "reason": "x"})).await;
    assert_invalid(&reason, "reason", "outcome_only");
    assert_eq!(project_history(&app, id).await.len(), 1);
}

#[tokio::test]
async fn a_move_with_a_stale_if_match_is_412_and_a_current_one_moves() {
    let app = spawn_app().await;
    let pipeline = project_pipeline(&app).await;
    let id = project(&app, "Fit-out").await;
    app.patch(&path(id), json!({"probability": 20})).await;
    let stale = with_if_match(
        &app,
        Method::POST,
        &transitions(id),
        Some(json!({"outcome": "won"})),
        "\"1\"",
    )
    .await;
    stale.assert_problem(412, "precondition_failed");
    let now = read(&app, id).await;
    assert_eq!(now["phase_id"], phase(&pipeline, "Lead"));
    assert_eq!(now["won_at"], Value::Null);
    assert_eq!(project_history(&app, id).await.len(), 1);
    let current = with_if_match(
        &app,
        Method::POST,
        &transitions(id),
        Some(json!({"outcome": "won"})),
        "\"2\"",
    )
    .await;
    assert_eq!(current.status, 201, "{}", current.body);
    assert_eq!(current.header("etag"), Some("\"3\""));
}

#[tokio::test]
async fn of_concurrent_moves_with_the_same_if_match_exactly_one_lands() {
    let app = spawn_app().await;
    let pipeline = project_pipeline(&app).await;
    let targets: Vec<i64> = phase_ids(&pipeline).into_iter().skip(1).collect();
    let id = project(&app, "Contested").await;
    let path = transitions(id);
    let answers = join_all((0..8).map(|n| {
        let target = targets[n % targets.len()];
        with_if_match(
            &app,
            Method::POST,
            &path,
            Some(json!({"to_phase_id": target})),
            "\"1\"",
        )
    }))
    .await;
    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [201, 412, 412, 412, 412, 412, 412, 412]);
    for answer in answers.iter().filter(|a| a.status != 201) {
        answer.assert_problem(412, "precondition_failed");
    }
    let steps = project_history(&app, id).await;
    assert_eq!(steps.len(), 2, "{steps:?}");
    assert_eq!(read(&app, id).await["version"], 2);
}

#[tokio::test]
async fn concurrent_moves_of_one_project_answer_cleanly_and_leave_an_unbroken_history() {
    let app = spawn_app().await;
    let pipeline = project_pipeline(&app).await;
    let preparing = phase(&pipeline, "Proposal in preparation");
    let submitted = phase(&pipeline, "Proposal submitted");
    let id = project(&app, "Busy").await;
    let path = transitions(id);
    let answers = join_all((0..8).map(|n| {
        let app = &app;
        let path = path.clone();
        let body = match n % 4 {
            0 => json!({"to_phase_id": preparing}),
            1 => json!({"to_phase_id": submitted}),
            2 => json!({"outcome": "won"}),
            _ => json!({"outcome": "lost", "reason": format!("race {n}")}),
        };
        async move { app.post(&path, body).await }
    }))
    .await;
    let mut changed = 0;
    for answer in &answers {
        match answer.status.as_u16() {
            201 => {
                changed += 1;
                assert_eq!(answer.body["changed"], true);
            }
            200 => assert_eq!(answer.body["changed"], false),
            409 => answer.assert_problem(409, "conflict"),
            other => panic!("{other}: {}", answer.body),
        }
    }
    assert!(changed >= 1);
    let steps = project_history(&app, id).await;
    assert_eq!(steps.len(), 1 + changed, "one row per move that changed");
    let oldest_first: Vec<&Value> = steps.iter().rev().collect();
    for pair in oldest_first.windows(2) {
        assert_eq!(
            pair[1]["from_phase_id"], pair[0]["to_phase_id"],
            "the history forks between {} and {}",
            pair[0], pair[1]
        );
    }
    let now = read(&app, id).await;
    assert_eq!(now["phase_id"], steps[0]["to_phase_id"]);
    assert_eq!(
        now["version"].as_i64(),
        Some(1 + i64::try_from(changed).unwrap_or_default())
    );
}

#[tokio::test]
async fn a_project_is_refused_a_company_pipelines_phase() {
    let app = spawn_app().await;
    let companies = default_pipeline(&app).await;
    let uncontacted = phase(&companies, "Uncontacted");
    let created = app
        .post(
            "/v1/projects",
            json!({"name": "Fit-out", "phase_id": uncontacted}),
        )
        .await;
    assert_invalid(&created, "phase_id", "wrong_record_type");
    assert_no_projects(&app).await;
    // Out of every pipeline, it still cannot enter a company pipeline.
    let id = project(&app, "Fit-out").await;
    moved(&app, id, json!({"action": "remove"})).await;
    let answer = move_project(&app, id, json!({"to_phase_id": uncontacted})).await;
    assert_invalid(&answer, "to_phase_id", "wrong_record_type");
    assert_eq!(read(&app, id).await["pipeline_id"], Value::Null);
}

#[tokio::test]
async fn a_project_in_its_pipeline_cannot_move_to_a_company_phase() {
    let app = spawn_app().await;
    let companies = default_pipeline(&app).await;
    let id = project(&app, "Fit-out").await;
    let answer = move_project(
        &app,
        id,
        json!({"to_phase_id": phase(&companies, "Uncontacted")}),
    )
    .await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), vec!["to_phase_id"]);
    assert_eq!(project_history(&app, id).await.len(), 1);
}

#[tokio::test]
async fn a_company_is_refused_a_project_pipelines_phase() {
    let app = spawn_app().await;
    let projects = project_pipeline(&app).await;
    let lead = phase(&projects, "Lead");
    let created = app
        .post("/v1/companies", json!({"name": "Acme", "phase_id": lead}))
        .await;
    assert_invalid(&created, "phase_id", "wrong_record_type");
    let company = app.company("Acme").await;
    move_company(&app, company, json!({"action": "remove"})).await;
    let answer = move_company(&app, company, json!({"to_phase_id": lead})).await;
    assert_invalid(&answer, "to_phase_id", "wrong_record_type");
}

#[tokio::test]
async fn the_history_pages_newest_first() {
    let app = spawn_app().await;
    let pipeline = project_pipeline(&app).await;
    let id = project(&app, "Fit-out").await;
    for name in ["Proposal in preparation", "Proposal submitted", "Won"] {
        moved(&app, id, json!({"to_phase_id": phase(&pipeline, name)})).await;
    }
    let first = app.get(&format!("{}?limit=3", transitions(id))).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let step_ids = ids(&first.body);
    assert_eq!(step_ids.len(), 3);
    assert!(step_ids.windows(2).all(|w| w[0] > w[1]), "{step_ids:?}");
    assert_eq!(first.body["data"][0]["to_phase_name"], "Won");
    let cursor = first.body["next_cursor"].as_str().unwrap_or_default();
    let rest = app
        .get(&format!("{}?limit=3&cursor={cursor}", transitions(id)))
        .await;
    assert_eq!(rest.body["data"].as_array().map(Vec::len), Some(1));
    assert_eq!(rest.body["data"][0]["from_status"], "not_set");
    assert_eq!(rest.body["next_cursor"], Value::Null);
}

// ---------------------------------------------------------------------------------------------
// Events

#[tokio::test]
async fn creating_changing_moving_and_deleting_projects_writes_their_events_in_order() {
    let app = spawn_app().await;
    let pipeline = project_pipeline(&app).await;
    let start = last_event_id(&app).await;
    let won = project(&app, "Winner").await;
    app.patch(&path(won), json!({"probability": 90})).await;
    moved(
        &app,
        won,
        json!({"to_phase_id": phase(&pipeline, "Proposal submitted")}),
    )
    .await;
    moved(&app, won, json!({"outcome": "won"})).await;
    let lost = project(&app, "Loser").await;
    moved(&app, lost, json!({"outcome": "lost", "reason": "Price"})).await;
    assert_eq!(app.delete(&path(won)).await.status, 204);

    let events = events_after(&app, start).await;
    assert_eq!(
        types(&events),
        [
            "project.created",
            "project.updated",
            "project.phase_changed",
            "project.won",
            "project.created",
            "project.lost",
            "project.deleted",
        ]
    );
    let records: Vec<i64> = events
        .iter()
        .filter_map(|e| e["record"]["id"].as_i64())
        .collect();
    assert_eq!(records, [won, won, won, won, lost, lost, won]);
    for event in &events {
        assert_eq!(event["record"]["type"], "project", "{event}");
        assert_eq!(event["actor"]["user_id"], app.admin_id, "{event}");
    }
}

#[tokio::test]
async fn project_events_carry_the_project_and_what_changed() {
    let app = spawn_app().await;
    let created = create(
        &app,
        json!({"name": "Fit-out", "value": {"amount": "10.5", "currency": "EUR"}}),
    )
    .await;
    let id = created.id();
    app.patch(&path(id), json!({"probability": 75})).await;
    moved(&app, id, json!({"outcome": "won"})).await;
    let events = events_after(&app, 0).await;
    let of = |kind: &str| {
        events
            .iter()
            .find(|e| e["type"] == kind)
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} in {events:?}"))
    };
    let created_event = of("project.created");
    for field in ["id", "name", "value", "version", "created_at", "phase_id"] {
        assert_eq!(
            created_event["data"]["object"][field], created.body[field],
            "{field}"
        );
    }
    let updated = of("project.updated");
    // The project had no probability of its own: it showed its phase's.
    assert_eq!(
        updated["data"]["previous"],
        json!({"probability": 10, "probability_source": "phase"})
    );
    assert_eq!(updated["data"]["object"]["probability"], 75);
    let won = of("project.won");
    assert_eq!(won["data"]["previous"]["outcome"], Value::Null);
    assert_eq!(won["data"]["object"]["outcome"], "won");
    assert!(won["data"]["object"]["won_at"].is_string(), "{won}");
}

#[tokio::test]
async fn project_events_are_shown_only_to_tokens_that_read_projects() {
    let app = spawn_app().await;
    let id = project(&app, "Fit-out").await;
    app.company("Acme").await;
    let projects_reader = narrowed_token(&app, "p@acme.test", &["projects:read"]).await;
    let companies_reader = narrowed_token(&app, "c@acme.test", &["companies:read"]).await;
    let seen = |token: String| {
        let app = &app;
        async move {
            let page = app.get_as(&token, "/v1/events?limit=200").await;
            assert_eq!(page.status, 200, "{}", page.body);
            types(page.body["data"].as_array().map_or(&[][..], Vec::as_slice))
        }
    };
    assert_eq!(seen(projects_reader).await, ["project.created"]);
    assert_eq!(seen(companies_reader).await, ["company.created"]);
    assert_eq!(read(&app, id).await["version"], 1);
}

#[tokio::test]
async fn deleting_a_company_unlinks_its_projects_and_writes_project_updated_for_each() {
    let app = spawn_app().await;
    let acme = app.company("Acme").await;
    let globex = app.company("Globex").await;
    let first = create(&app, json!({"name": "One", "company_id": acme}))
        .await
        .id();
    let second = create(&app, json!({"name": "Two", "company_id": acme}))
        .await
        .id();
    let elsewhere = create(&app, json!({"name": "Three", "company_id": globex}))
        .await
        .id();
    let start = last_event_id(&app).await;
    assert_eq!(
        app.delete(&format!("/v1/companies/{acme}")).await.status,
        204
    );
    for id in [first, second] {
        let now = read(&app, id).await;
        assert_eq!(now["company_id"], Value::Null, "{now}");
        assert_eq!(now["version"], 2, "{now}");
    }
    assert_eq!(read(&app, elsewhere).await["company_id"], globex);
    let events = events_after(&app, start).await;
    assert_eq!(
        types(&events),
        ["company.deleted", "project.updated", "project.updated"]
    );
    let mut unlinked: Vec<i64> = events[1..]
        .iter()
        .filter_map(|e| e["record"]["id"].as_i64())
        .collect();
    unlinked.sort_unstable();
    assert_eq!(unlinked, sorted(vec![first, second]));
    for event in &events[1..] {
        assert_eq!(
            event["data"]["previous"],
            json!({"company_id": acme}),
            "{event}"
        );
        assert_eq!(event["data"]["object"]["company_id"], Value::Null);
    }
    assert_eq!(
        listed(&app, &format!("company_id={acme}")).await,
        Vec::<i64>::new()
    );
}

// ---------------------------------------------------------------------------------------------
// Scopes and tenancy

/// A token of an admin (whose role may do everything) narrowed to `scopes`: what it may do
/// is what the scopes say.
async fn narrowed_token(app: &TestApp, email: &str, scopes: &[&str]) -> String {
    app.member(email, "admin", scopes).await.1
}

#[tokio::test]
async fn a_token_with_projects_read_lists_and_reads_but_cannot_write() {
    let app = spawn_app().await;
    let id = project(&app, "Fit-out").await;
    let reader = narrowed_token(&app, "reader@acme.test", &["projects:read"]).await;
    let list = app.get_as(&reader, "/v1/projects").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(ids(&list.body), [id]);
    assert_eq!(app.get_as(&reader, &path(id)).await.status, 200);
    assert_eq!(app.get_as(&reader, &transitions(id)).await.status, 200);
    app.post_as(&reader, "/v1/projects", json!({"name": "Nope"}))
        .await
        .assert_problem(403, "insufficient_scope");
    app.patch_as(&reader, &path(id), json!({"name": "Nope"}))
        .await
        .assert_problem(403, "insufficient_scope");
    app.post_as(&reader, &transitions(id), json!({"outcome": "won"}))
        .await
        .assert_problem(403, "insufficient_scope");
    app.delete_as(&reader, &path(id))
        .await
        .assert_problem(403, "insufficient_scope");
    let now = read(&app, id).await;
    assert_eq!(now["name"], "Fit-out");
    assert_eq!(now["version"], 1);
    assert_eq!(listed(&app, "").await, vec![id]);
}

#[tokio::test]
async fn a_token_without_projects_scopes_gets_403_on_the_list() {
    let app = spawn_app().await;
    let id = project(&app, "Fit-out").await;
    let token = narrowed_token(&app, "c@acme.test", &["companies:read", "companies:write"]).await;
    app.get_as(&token, "/v1/projects")
        .await
        .assert_problem(403, "insufficient_scope");
    app.get_as(&token, &path(id))
        .await
        .assert_problem(403, "insufficient_scope");
    app.get_as(&token, &transitions(id))
        .await
        .assert_problem(403, "insufficient_scope");
    app.post_as(&token, "/v1/projects", json!({"name": "Nope"}))
        .await
        .assert_problem(403, "insufficient_scope");
    assert_eq!(listed(&app, "").await, vec![id]);
}

#[tokio::test]
async fn a_token_with_projects_write_creates_changes_and_moves() {
    let app = spawn_app().await;
    let writer = narrowed_token(&app, "w@acme.test", &["projects:read", "projects:write"]).await;
    let created = app
        .post_as(&writer, "/v1/projects", json!({"name": "Fit-out"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.id();
    let patched = app
        .patch_as(&writer, &path(id), json!({"probability": 60}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let moved = app
        .post_as(&writer, &transitions(id), json!({"outcome": "won"}))
        .await;
    assert_eq!(moved.status, 201, "{}", moved.body);
}

#[tokio::test]
async fn a_member_creates_changes_and_moves_projects() {
    let app = spawn_app().await;
    let (_, member) = app
        .member(
            "m@acme.test",
            "member",
            &["projects:read", "projects:write"],
        )
        .await;
    let created = app
        .post_as(&member, "/v1/projects", json!({"name": "Fit-out"}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.id();
    let patched = app
        .patch_as(&member, &path(id), json!({"probability": 60}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let moved = app
        .post_as(&member, &transitions(id), json!({"outcome": "won"}))
        .await;
    assert_eq!(moved.status, 201, "{}", moved.body);
}

#[tokio::test]
async fn a_viewer_reads_projects_but_gets_403_forbidden_on_writes() {
    let app = spawn_app().await;
    let id = project(&app, "Fit-out").await;
    let (_, viewer) = app
        .member(
            "v@acme.test",
            "viewer",
            &["projects:read", "projects:write"],
        )
        .await;
    assert_eq!(app.get_as(&viewer, "/v1/projects").await.status, 200);
    app.post_as(&viewer, "/v1/projects", json!({"name": "Nope"}))
        .await
        .assert_problem(403, "forbidden");
    app.post_as(&viewer, &transitions(id), json!({"outcome": "won"}))
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(read(&app, id).await["version"], 1);
}

#[tokio::test]
async fn another_accounts_project_is_404_on_every_verb() {
    let app = spawn_app().await;
    let id = project(&app, "Ours").await;
    let other = app.other_account("Globex");
    app.get_as(&other, &path(id))
        .await
        .assert_problem(404, "not_found");
    app.patch_as(&other, &path(id), json!({"name": "Theirs"}))
        .await
        .assert_problem(404, "not_found");
    app.delete_as(&other, &path(id))
        .await
        .assert_problem(404, "not_found");
    app.get_as(&other, &transitions(id))
        .await
        .assert_problem(404, "not_found");
    app.post_as(&other, &transitions(id), json!({"outcome": "won"}))
        .await
        .assert_problem(404, "not_found");
    let now = read(&app, id).await;
    assert_eq!(now["name"], "Ours");
    assert_eq!(now["version"], 1);
}

#[tokio::test]
async fn lists_never_show_another_accounts_projects() {
    let app = spawn_app().await;
    let ours = project(&app, "Ours").await;
    let other = app.other_account("Globex");
    let theirs = app
        .post_as(
            &other,
            "/v1/projects",
            json!({"name": "Theirs", "tags": ["t"]}),
        )
        .await;
    assert_eq!(theirs.status, 201, "{}", theirs.body);
    assert_eq!(listed(&app, "").await, vec![ours]);
    assert_eq!(listed(&app, "tag=t").await, Vec::<i64>::new());
    assert_eq!(listed(&app, "q=theirs").await, Vec::<i64>::new());
    assert_eq!(
        ids(&app.get_as(&other, "/v1/projects").await.body),
        [theirs.id()]
    );
}

#[tokio::test]
async fn ids_that_cannot_exist_are_404() {
    let app = spawn_app().await;
    for id in ["0", "-1", "abc", "99999999999999999999", "424242"] {
        app.get(&format!("/v1/projects/{id}"))
            .await
            .assert_problem(404, "not_found");
    }
    app.post("/v1/projects/424242/transitions", json!({"outcome": "won"}))
        .await
        .assert_problem(404, "not_found");
}

// ---------------------------------------------------------------------------------------------
// External ids

#[tokio::test]
async fn an_external_id_is_unique_in_the_account_and_a_second_one_is_409() {
    let app = spawn_app().await;
    let first = create(&app, json!({"name": "Office move", "external_id": "ERP-1"})).await;
    assert_eq!(first.body["external_id"], "ERP-1");
    let again = app
        .post(
            "/v1/projects",
            json!({"name": "Again", "external_id": "ERP-1"}),
        )
        .await;
    again.assert_problem(409, "conflict");
    assert!(
        again.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains(&first.id().to_string())),
        "{}",
        again.body
    );
    let other = project(&app, "Audit").await;
    app.patch(&path(other), json!({"external_id": "ERP-1"}))
        .await
        .assert_problem(409, "conflict");
    assert_eq!(read(&app, other).await["version"], 1, "nothing was written");
}

#[tokio::test]
async fn another_account_may_use_the_same_external_id() {
    let app = spawn_app().await;
    create(&app, json!({"name": "Ours", "external_id": "ERP-1"})).await;
    let other = app.other_account("Other Firm");
    let theirs = app
        .post_as(
            &other,
            "/v1/projects",
            json!({"name": "Theirs", "external_id": "ERP-1"}),
        )
        .await;
    assert_eq!(theirs.status, 201, "{}", theirs.body);
}

#[tokio::test]
async fn an_external_id_can_be_changed_cleared_and_listed_by() {
    let app = spawn_app().await;
    let id = create(&app, json!({"name": "Office move", "external_id": "ERP-1"}))
        .await
        .id();
    project(&app, "Audit").await;
    assert_eq!(listed(&app, "external_id=ERP-1").await, [id]);
    let changed = app.patch(&path(id), json!({"external_id": "ERP-9"})).await;
    assert_eq!(changed.body["external_id"], "ERP-9", "{}", changed.body);
    assert_eq!(listed(&app, "external_id=ERP-1").await, Vec::<i64>::new());
    let cleared = app.patch(&path(id), json!({"external_id": null})).await;
    assert_eq!(cleared.body["external_id"], Value::Null);
    let reused = create(&app, json!({"name": "Reuse", "external_id": "ERP-9"})).await;
    assert_eq!(reused.status, 201, "a cleared id is free again");
}

#[tokio::test]
async fn an_external_id_must_be_one_line_of_at_most_255_characters() {
    // A blank one is no external id, as blank optional text is elsewhere.
    let app = spawn_app().await;
    for bad in [json!("a\nb"), json!("x".repeat(256))] {
        let answer = app
            .post("/v1/projects", json!({"name": "P", "external_id": bad}))
            .await;
        assert_names(&answer, "external_id");
    }
    assert_no_projects(&app).await;
}

#[tokio::test]
async fn concurrent_creates_with_one_external_id_make_one_project_and_409s() {
    let app = spawn_app().await;
    let attempts = (0..8).map(|n| {
        app.post(
            "/v1/projects",
            json!({"name": format!("Attempt {n}"), "external_id": "ERP-RACE"}),
        )
    });
    let answers = join_all(attempts).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.status.as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        7,
        "{statuses:?}"
    );
    assert_eq!(listed(&app, "external_id=ERP-RACE").await.len(), 1);
}
