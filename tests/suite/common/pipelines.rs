//! Helpers for the pipeline tests: the default pipeline, phases by name, moves.

use serde_json::{Value, json};

use super::{Answer, TestApp};

/// The account's default pipeline, as `GET /v1/pipelines` lists it.
/// The account's default company pipeline.
pub async fn default_pipeline_of(app: &TestApp, token: &str) -> Value {
    let list = app.get_as(token, "/v1/pipelines?record_type=company").await;
    assert_eq!(list.status, 200, "{}", list.body);
    list.body["data"]
        .as_array()
        .and_then(|l| l.iter().find(|p| p["is_default"] == true))
        .cloned()
        .unwrap_or_else(|| panic!("no default pipeline in {}", list.body))
}

pub async fn default_pipeline(app: &TestApp) -> Value {
    default_pipeline_of(app, &app.token).await
}

/// The id of the phase called `name`.
pub fn phase(pipeline: &Value, name: &str) -> i64 {
    pipeline["phases"]
        .as_array()
        .and_then(|l| l.iter().find(|p| p["name"] == name))
        .and_then(|p| p["id"].as_i64())
        .unwrap_or_else(|| panic!("no phase {name} in {pipeline}"))
}

pub fn phase_ids(pipeline: &Value) -> Vec<i64> {
    pipeline["phases"]
        .as_array()
        .map(|l| l.iter().filter_map(|p| p["id"].as_i64()).collect())
        .unwrap_or_default()
}

/// Creates a pipeline with `(name, status)` phases and returns it.
pub async fn create_pipeline(app: &TestApp, name: &str, phases: &[(&str, &str)]) -> Value {
    let phases: Vec<Value> = phases
        .iter()
        .map(|(n, s)| json!({"name": n, "status": s}))
        .collect();
    let created = app
        .post("/v1/pipelines", json!({"name": name, "phases": phases}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.body
}

/// Creates a company straight into a phase and returns its id.
pub async fn company_in(app: &TestApp, name: &str, phase_id: i64) -> i64 {
    let created = app
        .post("/v1/companies", json!({"name": name, "phase_id": phase_id}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.id()
}

pub async fn move_company(app: &TestApp, company: i64, body: Value) -> Answer {
    app.post(&format!("/v1/companies/{company}/transitions"), body)
        .await
}

/// Moves a company and insists that it moved.
pub async fn moved(app: &TestApp, company: i64, body: Value) -> Value {
    let answer = move_company(app, company, body).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.body
}

pub async fn read_company(app: &TestApp, id: i64) -> Value {
    let read = app.get(&format!("/v1/companies/{id}")).await;
    assert_eq!(read.status, 200, "{}", read.body);
    read.body
}

/// A company's whole history, newest first.
pub async fn history(app: &TestApp, company: i64) -> Vec<Value> {
    let page = app
        .get(&format!("/v1/companies/{company}/transitions?limit=200"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.body["data"].as_array().cloned().unwrap_or_default()
}
