//! Saved views (`/v1/views`, applied with `?view_id=`) and lists of records (`/v1/lists`):
//! filters that stay relative, visibility, static members kept in step with deletes and
//! merges, dynamic lists, tenancy.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

fn names(answer: &Answer) -> Vec<String> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body["data"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|r| r["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn created(app: &TestApp, path: &str, body: Value) -> Value {
    let answer = app.post(path, body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    answer.body
}

async fn companies(app: &TestApp) -> (i64, i64, i64) {
    let a = created(
        app,
        "/v1/companies",
        json!({"name": "Alpha", "industry": "Architecture"}),
    )
    .await;
    let b = created(
        app,
        "/v1/companies",
        json!({"name": "Beta", "industry": "Architecture"}),
    )
    .await;
    let c = created(
        app,
        "/v1/companies",
        json!({"name": "Gamma", "industry": "Retail"}),
    )
    .await;
    let id = |v: &Value| v["id"].as_i64().unwrap_or_default();
    (id(&a), id(&b), id(&c))
}

#[tokio::test]
async fn a_saved_view_narrows_the_list_it_is_applied_to_in_its_order() {
    let app = spawn_app().await;
    companies(&app).await;
    let view = created(
        &app,
        "/v1/views",
        json!({"record_type": "company", "name": "Architects",
               "filter": {"field": "industry", "op": "eq", "value": "Architecture"},
               "sort": "name", "columns": ["name", "industry"]}),
    )
    .await;
    assert_eq!(view["visibility"], "private");
    let id = view["id"].as_i64().unwrap_or_default();
    let listed = app.get(&format!("/v1/companies?view_id={id}")).await;
    assert_eq!(names(&listed), ["Alpha", "Beta"]);
    let reversed = app
        .get(&format!("/v1/companies?view_id={id}&sort=-name"))
        .await;
    assert_eq!(names(&reversed), ["Beta", "Alpha"]);
    let narrowed = app.get(&format!("/v1/companies?view_id={id}&q=bet")).await;
    assert_eq!(names(&narrowed), ["Beta"]);
}

#[tokio::test]
async fn a_view_with_a_bad_filter_or_sort_is_refused_naming_it() {
    let app = spawn_app().await;
    let bad = app
        .post(
            "/v1/views",
            json!({"record_type": "company", "name": "Bad",
                   "filter": {"field": "nope", "op": "eq", "value": 1}}),
        )
        .await;
    bad.assert_problem(422, "validation_failed");
    assert_eq!(bad.error_fields(), ["filter.field"]);
    let sort = app
        .post(
            "/v1/views",
            json!({"record_type": "contact", "name": "Bad", "sort": "phase_entered_at"}),
        )
        .await;
    sort.assert_problem(422, "validation_failed");
    assert_eq!(sort.error_fields(), ["sort"]);
}

#[tokio::test]
async fn a_private_view_is_its_owners_and_a_shared_one_is_changed_by_its_owner_only() {
    let app = spawn_app().await;
    let (_, member) = app
        .member(
            "mo@example.com",
            "member",
            &["views:read", "views:write", "companies:read"],
        )
        .await;
    let private = created(
        &app,
        "/v1/views",
        json!({"record_type": "company", "name": "Mine"}),
    )
    .await;
    let shared = created(
        &app,
        "/v1/views",
        json!({"record_type": "company", "name": "Ours", "visibility": "account"}),
    )
    .await;
    let (p, s) = (
        private["id"].as_i64().unwrap_or_default(),
        shared["id"].as_i64().unwrap_or_default(),
    );
    app.get_as(&member, &format!("/v1/views/{p}"))
        .await
        .assert_problem(404, "not_found");
    app.get_as(&member, &format!("/v1/companies?view_id={p}"))
        .await
        .assert_problem(400, "bad_request");
    let listed = app.get_as(&member, "/v1/views").await;
    assert_eq!(names(&listed), ["Ours"]);
    app.patch_as(
        &member,
        &format!("/v1/views/{s}"),
        json!({"name": "Theirs"}),
    )
    .await
    .assert_problem(403, "forbidden");
    let own = app
        .post_as(
            &member,
            "/v1/views",
            json!({"record_type": "company", "name": "Member's"}),
        )
        .await;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.body);
}

#[tokio::test]
async fn a_static_list_takes_adds_and_removes_members_in_bulk() {
    let app = spawn_app().await;
    let (a, b, c) = companies(&app).await;
    let list = created(
        &app,
        "/v1/lists",
        json!({"record_type": "company", "name": "Christmas cards"}),
    )
    .await;
    assert_eq!(list["kind"], "static");
    let id = list["id"].as_i64().unwrap_or_default();
    let added = app
        .post(
            &format!("/v1/lists/{id}/members"),
            json!({"record_ids": [c, a, a]}),
        )
        .await;
    assert_eq!(added.body["count"], 2, "{}", added.body);
    let again = app
        .post(
            &format!("/v1/lists/{id}/members"),
            json!({"record_ids": [a, b]}),
        )
        .await;
    assert_eq!(again.body["count"], 1);
    let page = app.get(&format!("/v1/lists/{id}/members?limit=2")).await;
    assert_eq!(names(&page), ["Alpha", "Beta"]);
    let cursor = page.body["next_cursor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let rest = app
        .get(&format!("/v1/lists/{id}/members?limit=2&cursor={cursor}"))
        .await;
    assert_eq!(names(&rest), ["Gamma"]);
    let removed = app
        .post(
            &format!("/v1/lists/{id}/members/remove"),
            json!({"record_ids": [a, c]}),
        )
        .await;
    assert_eq!(removed.body["count"], 2);
    let one = app.delete(&format!("/v1/lists/{id}/members/{b}")).await;
    assert_eq!(one.status, StatusCode::NO_CONTENT);
    let empty = app.get(&format!("/v1/lists/{id}/members")).await;
    assert_eq!(names(&empty), Vec::<String>::new());
}

#[tokio::test]
async fn records_of_another_type_or_account_cannot_join_a_list() {
    let app = spawn_app().await;
    let list = created(
        &app,
        "/v1/lists",
        json!({"record_type": "contact", "name": "Newsletter"}),
    )
    .await;
    let id = list["id"].as_i64().unwrap_or_default();
    let company = app.company("Acme").await;
    let refused = app
        .post(
            &format!("/v1/lists/{id}/members"),
            json!({"record_ids": [company]}),
        )
        .await;
    refused.assert_problem(422, "validation_failed");
    assert_eq!(refused.error_fields(), ["record_ids[0]"]);
    let other = app.other_account("Other firm");
    app.get_as(&other, &format!("/v1/lists/{id}"))
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn a_deleted_record_leaves_its_lists_and_a_merged_one_passes_its_place_on() {
    let app = spawn_app().await;
    let (a, b, c) = companies(&app).await;
    let list = created(
        &app,
        "/v1/lists",
        json!({"record_type": "company", "name": "Key"}),
    )
    .await;
    let id = list["id"].as_i64().unwrap_or_default();
    app.post(
        &format!("/v1/lists/{id}/members"),
        json!({"record_ids": [b, c]}),
    )
    .await;
    let deleted = app.delete(&format!("/v1/companies/{c}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let merged = app
        .post(
            &format!("/v1/companies/{a}/merge"),
            json!({"duplicate_ids": [b]}),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.body);
    let page = app.get(&format!("/v1/lists/{id}/members")).await;
    assert_eq!(names(&page), ["Alpha"]);
}

#[tokio::test]
async fn a_dynamic_list_is_its_views_records_and_holds_the_view() {
    let app = spawn_app().await;
    companies(&app).await;
    let view = created(
        &app,
        "/v1/views",
        json!({"record_type": "company", "name": "Retail",
               "filter": {"field": "industry", "op": "eq", "value": "Retail"}}),
    )
    .await;
    let view_id = view["id"].as_i64().unwrap_or_default();
    let list = created(
        &app,
        "/v1/lists",
        json!({"record_type": "company", "name": "Retail", "view_id": view_id}),
    )
    .await;
    assert_eq!(list["kind"], "dynamic");
    let id = list["id"].as_i64().unwrap_or_default();
    let page = app.get(&format!("/v1/lists/{id}/members")).await;
    assert_eq!(names(&page), ["Gamma"]);
    created(
        &app,
        "/v1/companies",
        json!({"name": "Delta", "industry": "Retail"}),
    )
    .await;
    let later = app.get(&format!("/v1/lists/{id}/members")).await;
    assert_eq!(names(&later), ["Delta", "Gamma"]);
    app.post(
        &format!("/v1/lists/{id}/members"),
        json!({"record_ids": [1]}),
    )
    .await
    .assert_problem(409, "conflict");
    app.delete(&format!("/v1/views/{view_id}"))
        .await
        .assert_problem(409, "conflict");
    let wrong = app
        .post(
            "/v1/lists",
            json!({"record_type": "contact", "name": "Wrong", "view_id": view_id}),
        )
        .await;
    wrong.assert_problem(422, "validation_failed");
    assert_eq!(wrong.error_fields(), ["view_id"]);
}

#[tokio::test]
async fn a_saved_view_narrows_a_board_of_its_record_type_only() {
    let app = spawn_app().await;
    let pipeline = crate::common::pipelines::default_pipeline(&app).await;
    let first = crate::common::pipelines::phase_ids(&pipeline)[0];
    for (name, industry) in [("Alpha", "Architecture"), ("Gamma", "Retail")] {
        created(
            &app,
            "/v1/companies",
            json!({"name": name, "industry": industry, "phase_id": first}),
        )
        .await;
    }
    let view = created(
        &app,
        "/v1/views",
        json!({"record_type": "company", "name": "Architects",
               "filter": {"field": "industry", "op": "eq", "value": "Architecture"}}),
    )
    .await;
    let (board, view) = (pipeline["id"].clone(), view["id"].clone());
    let narrowed = app
        .get(&format!("/v1/pipelines/{board}/board?view_id={view}"))
        .await;
    assert_eq!(narrowed.status, StatusCode::OK, "{}", narrowed.body);
    assert_eq!(narrowed.body["columns"][0]["count"], 1, "{}", narrowed.body);
    assert_eq!(narrowed.body["columns"][0]["cards"][0]["name"], "Alpha");
    let projects = created(
        &app,
        "/v1/views",
        json!({"record_type": "project", "name": "Big",
               "filter": {"field": "value", "op": "gt", "value": 1000}}),
    )
    .await;
    app.get(&format!(
        "/v1/pipelines/{board}/board?view_id={}",
        projects["id"]
    ))
    .await
    .assert_problem(400, "bad_request");
}

#[tokio::test]
async fn a_project_board_takes_a_view_on_the_probability_its_phase_gives() {
    let app = spawn_app().await;
    let list = app.get("/v1/pipelines?record_type=project").await;
    let pipeline = list.body["data"][0].clone();
    let board = pipeline["id"].clone();
    for (name, probability) in [("Likely", 90), ("Unlikely", 10)] {
        created(
            &app,
            "/v1/projects",
            json!({"name": name, "probability": probability,
                   "value": {"amount": "100.00", "currency": "EUR"}}),
        )
        .await;
    }
    let view = created(
        &app,
        "/v1/views",
        json!({"record_type": "project", "name": "Likely",
               "filter": {"field": "probability", "op": "gte", "value": 50}}),
    )
    .await;
    let narrowed = app
        .get(&format!(
            "/v1/pipelines/{board}/board?view_id={}",
            view["id"]
        ))
        .await;
    assert_eq!(narrowed.status, StatusCode::OK, "{}", narrowed.body);
    let counts: i64 = narrowed.body["columns"]
        .as_array()
        .map(|c| c.iter().filter_map(|c| c["count"].as_i64()).sum())
        .unwrap_or_default();
    assert_eq!(counts, 1, "{}", narrowed.body);
}
