//! Bulk import of companies and contacts: JSON and CSV, the per-row report on mixed good and
//! bad rows, upsert on the key, atomic all-or-nothing, and the events of written rows.

use crate::common::pipelines::*;
use crate::common::*;
use reqwest::Method;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Helpers

async fn import_json(app: &TestApp, path: &str, rows: Value) -> Answer {
    app.post(path, rows).await
}

async fn import_csv(app: &TestApp, path: &str, csv: &str) -> Answer {
    let response = app
        .client
        .post(format!("{}{path}", app.base))
        .bearer_auth(&app.token)
        .header("Content-Type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

fn statuses(report: &Value) -> Vec<String> {
    report["rows"]
        .as_array()
        .map(|rows| {
            rows.iter()
                .filter_map(|r| r["status"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn company_count(app: &TestApp) -> usize {
    let page = app.get("/v1/companies?limit=200").await;
    page.body["data"].as_array().map_or(0, Vec::len)
}

async fn event_types(app: &TestApp) -> Vec<String> {
    let page = app.get("/v1/events?limit=200").await;
    page.body["data"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|e| e["type"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Reports on mixed rows

#[tokio::test]
async fn a_json_import_writes_the_good_rows_and_reports_the_bad_ones() {
    let app = spawn_app().await;
    let answer = import_json(
        &app,
        "/v1/companies/import",
        json!([
            {"name": "Acme Ltd", "domain": "acme.com", "tags": ["vip"]},
            {"name": ""},
            {"name": "Globex", "size_band": "huge"},
            {"name": "Initech", "owner_id": 999_999},
            "not an object",
            {"name": "Umbrella", "account_id": 2},
            {"name": "Hooli"}
        ]),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        statuses(&answer.body),
        [
            "created", "failed", "failed", "failed", "failed", "failed", "created"
        ]
    );
    assert_eq!(answer.body["created"], 2);
    assert_eq!(answer.body["failed"], 5);
    let rows = &answer.body["rows"];
    assert_eq!(rows[1]["error"]["errors"][0]["field"], "name");
    assert_eq!(rows[2]["error"]["errors"][0]["field"], "size_band");
    assert_eq!(rows[3]["error"]["errors"][0]["code"], "unknown_user");
    assert_eq!(rows[5]["error"]["errors"][0]["code"], "unknown_field");
    assert_eq!(
        rows[1]["error"]["status"], 422,
        "each row's problem as a create answers it"
    );
    assert_eq!(company_count(&app).await, 2);
    let acme = app.get(&format!("/v1/companies/{}", rows[0]["id"])).await;
    assert_eq!(acme.body["tags"], json!(["vip"]));
}

#[tokio::test]
async fn a_csv_import_reads_columns_tags_and_custom_fields() {
    let app = spawn_app().await;
    let csv = "name,domain,tags,custom_fields.region,show_in_pipeline,owner_id\n\
               Acme Ltd,acme.com,\"vip, key account\",EMEA,false,\n\
               Globex,,,,,not-a-number\n";
    let answer = import_csv(&app, "/v1/companies/import", csv).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(statuses(&answer.body), ["created", "failed"]);
    assert_eq!(answer.body["rows"][1]["row"], 2);
    assert_eq!(
        answer.body["rows"][1]["error"]["errors"][0]["field"],
        "owner_id"
    );
    let id = answer.body["rows"][0]["id"].as_i64().unwrap_or_default();
    let acme = app.get(&format!("/v1/companies/{id}")).await;
    assert_eq!(acme.body["tags"], json!(["key account", "vip"]));
    assert_eq!(acme.body["custom_fields"], json!({"region": "EMEA"}));
    assert_eq!(acme.body["show_in_pipeline"], false);
    assert_eq!(acme.body["owner_id"], Value::Null);
}

#[tokio::test]
async fn an_unknown_csv_column_is_refused_whole_and_names_it() {
    let app = spawn_app().await;
    let answer = import_csv(&app, "/v1/companies/import", "name,vat_number\nAcme,123\n").await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), ["vat_number"]);
    assert_eq!(company_count(&app).await, 0);
}

#[tokio::test]
async fn imported_rows_can_be_placed_straight_into_a_phase() {
    let app = spawn_app().await;
    let pipeline = default_pipeline(&app).await;
    let contacted = phase(&pipeline, "Contacted");
    let answer = import_json(
        &app,
        "/v1/companies/import",
        json!([{"name": "Acme", "phase_id": contacted}, {"name": "Nowhere", "phase_id": 999_999}]),
    )
    .await;
    assert_eq!(statuses(&answer.body), ["created", "failed"]);
    assert_eq!(
        answer.body["rows"][1]["error"]["errors"][0]["code"],
        "unknown_phase"
    );
    let id = answer.body["rows"][0]["id"].as_i64().unwrap_or_default();
    assert_eq!(read_company(&app, id).await["phase_id"], contacted);
    assert_eq!(
        history(&app, id).await.len(),
        1,
        "the placement is in the history"
    );
}

// ---------------------------------------------------------------------------------------------
// Upsert

#[tokio::test]
async fn upsert_updates_the_company_with_the_same_domain_and_creates_the_rest() {
    let app = spawn_app().await;
    let existing = app
        .post(
            "/v1/companies",
            json!({"name": "Acme Ltd", "domain": "acme.com", "phone": "+44 1"}),
        )
        .await
        .id();
    let answer = import_json(
        &app,
        "/v1/companies/import?mode=upsert",
        json!([
            {"name": "ACME Limited", "domain": "ACME.com", "industry": "Solar"},
            {"name": "Globex", "domain": "globex.com"}
        ]),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(statuses(&answer.body), ["updated", "created"]);
    assert_eq!(answer.body["rows"][0]["id"], existing);
    let acme = read_company(&app, existing).await;
    assert_eq!(acme["name"], "ACME Limited");
    assert_eq!(acme["industry"], "Solar");
    assert_eq!(acme["phone"], "+44 1", "fields the row leaves out are kept");
    assert_eq!(acme["version"], 2);
}

#[tokio::test]
async fn upsert_of_a_csv_row_needs_only_the_key_and_the_changed_cells() {
    let app = spawn_app().await;
    let existing = app
        .post(
            "/v1/companies",
            json!({"name": "Acme Ltd", "domain": "acme.com"}),
        )
        .await
        .id();
    let answer = import_csv(
        &app,
        "/v1/companies/import?mode=upsert",
        "domain,industry\nacme.com,Solar\n",
    )
    .await;
    assert_eq!(statuses(&answer.body), ["updated"], "{}", answer.body);
    let acme = read_company(&app, existing).await;
    assert_eq!(
        (acme["name"].clone(), acme["industry"].clone()),
        (json!("Acme Ltd"), json!("Solar"))
    );
}

#[tokio::test]
async fn a_domain_repeated_in_one_upsert_updates_what_its_first_row_created() {
    let app = spawn_app().await;
    let answer = import_json(
        &app,
        "/v1/companies/import?mode=upsert",
        json!([
            {"name": "Acme", "domain": "acme.com"},
            {"name": "Acme Ltd", "domain": "acme.com", "industry": "Solar"}
        ]),
    )
    .await;
    assert_eq!(
        statuses(&answer.body),
        ["created", "updated"],
        "{}",
        answer.body
    );
    assert_eq!(answer.body["rows"][0]["id"], answer.body["rows"][1]["id"]);
    assert_eq!(company_count(&app).await, 1);
}

#[tokio::test]
async fn upsert_refuses_a_domain_that_names_several_companies() {
    let app = spawn_app().await;
    for name in ["Acme UK", "Acme US"] {
        app.post("/v1/companies", json!({"name": name, "domain": "acme.com"}))
            .await;
    }
    let answer = import_json(
        &app,
        "/v1/companies/import?mode=upsert",
        json!([{"name": "Acme", "domain": "acme.com"}]),
    )
    .await;
    assert_eq!(statuses(&answer.body), ["failed"]);
    assert_eq!(
        answer.body["rows"][0]["error"]["errors"][0]["code"],
        "ambiguous"
    );
}

#[tokio::test]
async fn insert_mode_creates_even_when_the_domain_exists() {
    let app = spawn_app().await;
    app.post(
        "/v1/companies",
        json!({"name": "Acme", "domain": "acme.com"}),
    )
    .await;
    let answer = import_json(
        &app,
        "/v1/companies/import",
        json!([{"name": "Acme again", "domain": "acme.com"}]),
    )
    .await;
    assert_eq!(statuses(&answer.body), ["created"]);
    assert_eq!(company_count(&app).await, 2);
}

// ---------------------------------------------------------------------------------------------
// Atomic

#[tokio::test]
async fn an_atomic_import_with_a_bad_row_writes_nothing_and_reports_why() {
    let app = spawn_app().await;
    let answer = import_json(
        &app,
        "/v1/companies/import?atomic=true",
        json!([{"name": "Acme"}, {"name": "Globex", "owner_id": 999_999}, {"name": "Hooli"}]),
    )
    .await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(statuses(&answer.body), ["skipped", "failed", "skipped"]);
    assert_eq!(answer.body["rows"][0]["id"], Value::Null);
    assert_eq!(company_count(&app).await, 0);
    assert!(
        event_types(&app).await.is_empty(),
        "no event for rolled-back rows"
    );
}

#[tokio::test]
async fn an_atomic_import_of_good_rows_writes_them_all() {
    let app = spawn_app().await;
    let answer = import_json(
        &app,
        "/v1/companies/import?atomic=true",
        json!([{"name": "Acme"}, {"name": "Globex"}]),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(statuses(&answer.body), ["created", "created"]);
    assert_eq!(company_count(&app).await, 2);
}

#[tokio::test]
async fn an_import_larger_than_one_chunk_reports_every_row() {
    let app = spawn_app().await;
    let rows: Vec<Value> = (0..1_201)
        .map(|n| {
            if n == 700 {
                json!({"name": ""})
            } else {
                json!({"name": format!("Company {n}"), "tags": ["bulk"]})
            }
        })
        .collect();
    let answer = import_json(&app, "/v1/companies/import", Value::Array(rows)).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["created"], 1_200);
    assert_eq!(answer.body["failed"], 1);
    assert_eq!(answer.body["rows"][700]["status"], "failed");
    assert_eq!(tagged_count(&app, "bulk").await, 1_200);
}

/// How many companies carry `tag`, counted over every page.
async fn tagged_count(app: &TestApp, tag: &str) -> usize {
    let (mut count, mut path) = (0, format!("/v1/companies?tag={tag}&limit=200"));
    loop {
        let page = app.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        count += page.body["data"].as_array().map_or(0, Vec::len);
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/companies?tag={tag}&limit=200&cursor={cursor}"),
            None => return count,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Events, limits, access

#[tokio::test]
async fn every_written_row_records_its_event() {
    let app = spawn_app().await;
    let existing = app
        .post(
            "/v1/companies",
            json!({"name": "Acme", "domain": "acme.com"}),
        )
        .await
        .id();
    import_json(
        &app,
        "/v1/companies/import?mode=upsert",
        json!([{"name": "Acme", "domain": "acme.com", "industry": "Solar"}, {"name": "Globex"}, {"name": ""}]),
    )
    .await;
    assert_eq!(
        event_types(&app).await,
        ["company.created", "company.created", "company.updated"],
        "the direct create, then the import's create and update"
    );
    let updated = app
        .get(&format!(
            "/v1/events?types=company.updated&record_type=company&record_id={existing}"
        ))
        .await;
    assert_eq!(
        updated.body["data"][0]["data"]["previous"],
        json!({"industry": null})
    );
}

#[tokio::test]
async fn bodies_that_are_not_arrays_or_too_large_are_refused() {
    let app = spawn_app().await;
    let object = import_json(&app, "/v1/companies/import", json!({"name": "Acme"})).await;
    object.assert_problem(422, "validation_failed");
    let too_many: Vec<Value> = (0..10_001).map(|_| json!({})).collect();
    let answer = import_json(&app, "/v1/companies/import", Value::Array(too_many)).await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.body["errors"][0]["code"], "too_many_rows");
    let mode = app
        .request(
            Method::POST,
            "/v1/companies/import?mode=merge",
            Some(&app.token),
            Some(&json!([])),
            &[],
        )
        .await;
    mode.assert_problem(400, "bad_request");
    let xml = app
        .client
        .post(format!("{}/v1/companies/import", app.base))
        .bearer_auth(&app.token)
        .header("Content-Type", "application/xml")
        .body("<companies/>")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(xml.status(), 415);
}

#[tokio::test]
async fn a_viewer_cannot_import() {
    let app = spawn_app().await;
    let (_, viewer) = app
        .member(
            "viewer@acme.test",
            "viewer",
            &["companies:read", "companies:write"],
        )
        .await;
    app.post_as(&viewer, "/v1/companies/import", json!([{"name": "Acme"}]))
        .await
        .assert_problem(403, "forbidden");
}

// ---------------------------------------------------------------------------------------------
// Contacts

#[tokio::test]
async fn contacts_import_links_companies_and_reports_unknown_ones() {
    let app = spawn_app().await;
    let acme = app.company("Acme").await;
    let answer = import_json(
        &app,
        "/v1/contacts/import",
        json!([
            {"first_name": "Ana", "email": "ana@acme.com", "company_id": acme},
            {"first_name": "Bo", "company_id": 999_999},
            {"first_name": "Cy", "reports_to_id": 999_999}
        ]),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(statuses(&answer.body), ["created", "failed", "failed"]);
    assert_eq!(
        answer.body["rows"][1]["error"]["errors"][0]["code"],
        "unknown_company"
    );
    assert_eq!(
        answer.body["rows"][2]["error"]["errors"][0]["code"],
        "unknown_contact"
    );
}

#[tokio::test]
async fn contacts_upsert_matches_the_email_ignoring_case() {
    let app = spawn_app().await;
    let ana = app
        .post(
            "/v1/contacts",
            json!({"first_name": "Ana", "email": "Ana@Acme.com"}),
        )
        .await
        .id();
    let answer = import_csv(
        &app,
        "/v1/contacts/import?mode=upsert",
        "first_name,email,job_title\n,ana@acme.com,CTO\nBo,bo@acme.com,\n",
    )
    .await;
    assert_eq!(
        statuses(&answer.body),
        ["updated", "created"],
        "{}",
        answer.body
    );
    let read = app.get(&format!("/v1/contacts/{ana}")).await;
    assert_eq!(read.body["job_title"], "CTO");
    assert_eq!(read.body["first_name"], "Ana");
}

#[tokio::test]
async fn a_retried_import_with_the_same_idempotency_key_imports_once() {
    let app = spawn_app().await;
    // Larger than the ordinary body limit: imports have their own, idempotent or not.
    let rows: Vec<Value> = (0..3_000)
        .map(|n| json!({"name": format!("Company {n}"), "description": "x".repeat(100)}))
        .collect();
    let body = Value::Array(rows);
    let send = || {
        app.request(
            Method::POST,
            "/v1/companies/import",
            Some(&app.token),
            Some(&body),
            &[("Idempotency-Key", "nightly-2026-12-01")],
        )
    };
    let first = send().await;
    assert_eq!(first.status, 200, "{}", first.body);
    let again = send().await;
    assert_eq!(again.status, 200);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body);
    let page = app.get("/v1/companies?limit=1").await;
    assert!(page.body["next_cursor"].is_string());
    let events = app.get("/v1/events?limit=200&after=0").await;
    let mut seen = events.body["data"].as_array().map_or(0, Vec::len);
    let mut cursor = events.body["next_cursor"].clone();
    while let Some(after) = cursor.as_str() {
        let next = app
            .get(&format!("/v1/events?limit=200&after={after}"))
            .await;
        seen += next.body["data"].as_array().map_or(0, Vec::len);
        cursor = next.body["next_cursor"].clone();
    }
    assert_eq!(seen, 3_000, "one import, one event per company");
}

// ---------------------------------------------------------------------------------------------
// CSV that breaks its own rules is refused whole, naming where

#[tokio::test]
async fn a_malformed_csv_is_refused_naming_its_line_and_column_and_writes_nothing() {
    let app = spawn_app().await;
    let cases = [
        (
            "name,industry\nAcme,Law\nGlo\"bex,Tax\n",
            "malformed_csv",
            "line 3, column 1",
        ),
        (
            "name,industry\n\"Acme\" Ltd,Law\n",
            "malformed_csv",
            "line 2, column 1",
        ),
        (
            "name,industry\nAcme,\"Law\n",
            "malformed_csv",
            "line 2, column 2",
        ),
        (
            "name,industry,name\nAcme,Law,Acme\n",
            "duplicate_column",
            "line 1, column 3",
        ),
        ("industry\nLaw\n", "missing_column", "line 1"),
        ("", "empty_csv", "line 1"),
        (
            "name,custom_fields.\nAcme,x\n",
            "invalid_column",
            "line 1, column 2",
        ),
    ];
    for (csv, code, at) in cases {
        let answer = import_csv(&app, "/v1/companies/import", csv).await;
        assert_eq!(answer.status, 422, "{csv:?}: {}", answer.body);
        let error = &answer.body["errors"][0];
        assert_eq!(error["code"], code, "{csv:?}: {}", answer.body);
        assert_eq!(error["field"], at, "{csv:?}: {}", answer.body);
    }
    assert_eq!(company_count(&app).await, 0);
}

#[tokio::test]
async fn quotes_that_follow_the_rules_are_read_as_written() {
    let app = spawn_app().await;
    let answer = import_csv(
        &app,
        "/v1/companies/import",
        "\u{feff}\"name\",industry\n\"Acme \"\"Best\"\" Ltd\",\"Law, Tax\"\r\n",
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let list = app.get("/v1/companies").await;
    assert_eq!(list.body["data"][0]["name"], "Acme \"Best\" Ltd");
    assert_eq!(list.body["data"][0]["industry"], "Law, Tax");
}

// ---------------------------------------------------------------------------------------------
// Projects

/// The account's default project pipeline.
async fn project_pipeline(app: &TestApp) -> Value {
    let list = app.get("/v1/pipelines?record_type=project").await;
    list.body["data"]
        .as_array()
        .and_then(|l| l.iter().find(|p| p["is_default"] == true))
        .cloned()
        .unwrap_or_else(|| panic!("no default project pipeline in {}", list.body))
}

async fn read_project(app: &TestApp, id: i64) -> Value {
    let read = app.get(&format!("/v1/projects/{id}")).await;
    assert_eq!(read.status, 200, "{}", read.body);
    read.body
}

fn row_id(report: &Value, index: usize) -> i64 {
    report["rows"][index]["id"].as_i64().unwrap_or_default()
}

#[tokio::test]
async fn a_project_csv_import_reads_the_value_dates_and_tags_and_places_each_project() {
    let app = spawn_app().await;
    let acme = app.company("Acme Ltd").await;
    let csv = format!(
        "name,external_id,company_id,value.amount,value.currency,expected_start_date,expected_duration,tags\n\
         Office move,ERP-1,{acme},12500.50,EUR,2027-01-01,P3M,\"fit-out,london\"\n\
         Audit,ERP-2,,900,USD,,,\n"
    );
    let answer = import_csv(&app, "/v1/projects/import", &csv).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(statuses(&answer.body), ["created", "created"]);
    let office = read_project(&app, row_id(&answer.body, 0)).await;
    assert_eq!(office["external_id"], "ERP-1");
    assert_eq!(office["company_id"], acme);
    assert_eq!(
        office["value"],
        json!({"amount": "12500.50", "currency": "EUR"})
    );
    assert_eq!(
        office["expected_finish_date"], "2027-04-01",
        "any two planned dates give the third, as a single create"
    );
    assert_eq!(office["tags"], json!(["fit-out", "london"]));
    let first = project_pipeline(&app).await["phases"][0]["id"].clone();
    assert_eq!(
        office["phase_id"], first,
        "a row without a phase starts where a single create would"
    );
    let audit = read_project(&app, row_id(&answer.body, 1)).await;
    assert_eq!(audit["value"]["currency"], "USD");
}

#[tokio::test]
async fn a_project_upsert_updates_the_project_with_the_same_external_id_and_creates_the_rest() {
    let app = spawn_app().await;
    let first = import_json(
        &app,
        "/v1/projects/import",
        json!([{"name": "Office move", "external_id": "ERP-1", "probability": 20}]),
    )
    .await;
    let id = row_id(&first.body, 0);
    let answer = import_json(
        &app,
        "/v1/projects/import?mode=upsert",
        json!([
            {"external_id": "ERP-1", "probability": 60},
            {"name": "Audit", "external_id": "ERP-2"},
        ]),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(statuses(&answer.body), ["updated", "created"]);
    assert_eq!(row_id(&answer.body, 0), id);
    let office = read_project(&app, id).await;
    assert_eq!(office["probability"], 60);
    assert_eq!(
        office["name"], "Office move",
        "cells left out stay as they were"
    );
    assert_eq!(office["version"], 2);
    let types = event_types(&app).await;
    assert_eq!(types.iter().filter(|t| *t == "project.created").count(), 2);
    assert_eq!(types.iter().filter(|t| *t == "project.updated").count(), 1);
}

#[tokio::test]
async fn an_insert_of_a_taken_external_id_fails_as_a_row_and_says_to_upsert() {
    let app = spawn_app().await;
    let existing = import_json(
        &app,
        "/v1/projects/import",
        json!([{"name": "Office move", "external_id": "ERP-1"}]),
    )
    .await;
    let answer = import_json(
        &app,
        "/v1/projects/import",
        json!([
            {"name": "Again", "external_id": "ERP-1"},
            {"name": "New", "external_id": "ERP-2"},
            {"name": "New twice", "external_id": "ERP-2"},
        ]),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(statuses(&answer.body), ["failed", "created", "failed"]);
    let error = &answer.body["rows"][0]["error"];
    assert_eq!(error["errors"][0]["field"], "external_id");
    assert_eq!(error["errors"][0]["code"], "taken");
    assert!(
        error["errors"][0]["message"].as_str().is_some_and(|m| m
            .contains(&row_id(&existing.body, 0).to_string())
            && m.contains("upsert")),
        "{error}"
    );
    let listed = app.get("/v1/projects?external_id=ERP-2").await;
    assert_eq!(listed.body["data"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_project_row_is_refused_a_phase_of_a_company_pipeline() {
    let app = spawn_app().await;
    let company_phase = phase(&default_pipeline(&app).await, "Contacted");
    let answer = import_json(
        &app,
        "/v1/projects/import",
        json!([{"name": "Misplaced", "phase_id": company_phase}, {"name": "Fine"}]),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(statuses(&answer.body), ["failed", "created"]);
    assert_eq!(
        answer.body["rows"][0]["error"]["errors"][0]["code"],
        "wrong_record_type"
    );
}

#[tokio::test]
async fn a_company_row_is_refused_a_phase_of_a_project_pipeline_and_the_rest_are_written() {
    let app = spawn_app().await;
    let project_phase = project_pipeline(&app).await["phases"][0]["id"].clone();
    let answer = import_json(
        &app,
        "/v1/companies/import",
        json!([{"name": "Misplaced", "phase_id": project_phase}, {"name": "Fine"}]),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(statuses(&answer.body), ["failed", "created"]);
    assert_eq!(
        answer.body["rows"][0]["error"]["errors"][0]["field"],
        "phase_id"
    );
}

#[tokio::test]
async fn a_project_import_refuses_references_outside_the_account() {
    let app = spawn_app().await;
    let other = app.other_account("Other Firm");
    let foreign = app
        .post_as(&other, "/v1/companies", json!({"name": "Theirs"}))
        .await
        .id();
    let answer = import_json(
        &app,
        "/v1/projects/import?atomic=true",
        json!([{"name": "Ours"}, {"name": "Theirs", "company_id": foreign}]),
    )
    .await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(statuses(&answer.body), ["skipped", "failed"]);
    let listed = app.get("/v1/projects").await;
    assert_eq!(
        listed.body["data"],
        json!([]),
        "atomic: nothing was written"
    );
}

#[tokio::test]
async fn an_upserted_row_keeps_its_project_where_it_is_whatever_its_phase_id() {
    let app = spawn_app().await;
    let phases = project_pipeline(&app).await["phases"].clone();
    let (first, second) = (phases[0]["id"].clone(), phases[1]["id"].clone());
    let created = import_json(
        &app,
        "/v1/projects/import",
        json!([{"name": "Office move", "external_id": "ERP-1"}]),
    )
    .await;
    let answer = import_json(
        &app,
        "/v1/projects/import?mode=upsert",
        json!([{"external_id": "ERP-1", "name": "Office move 2027", "phase_id": second}]),
    )
    .await;
    assert_eq!(statuses(&answer.body), ["updated"], "{}", answer.body);
    let project = read_project(&app, row_id(&created.body, 0)).await;
    assert_eq!(project["name"], "Office move 2027");
    assert_eq!(project["phase_id"], first, "moves are transitions");
}

#[tokio::test]
async fn a_viewer_cannot_import_projects() {
    let app = spawn_app().await;
    let (_, viewer) = app
        .member(
            "vera@acme.test",
            "viewer",
            &["projects:read", "projects:write"],
        )
        .await;
    app.post_as(&viewer, "/v1/projects/import", json!([{"name": "Nope"}]))
        .await
        .assert_problem(403, "forbidden");
}

/// A record as a GET shows it, with its time in each phase down to the phases (the seconds
/// go on between reads).
fn without_clock(record: &Value) -> Value {
    let mut record = record.clone();
    if let Some(times) = record
        .get_mut("time_in_phases")
        .and_then(Value::as_array_mut)
    {
        for time in times {
            if let Some(time) = time.as_object_mut() {
                time.retain(|key, _| key == "phase_id");
            }
        }
    }
    record
}

#[tokio::test]
async fn an_imported_record_s_created_event_carries_it_as_a_get_shows_it() {
    let app = spawn_app().await;
    let contacted = phase(&default_pipeline(&app).await, "Contacted");
    let imports = [
        (
            "companies",
            "company",
            json!([{"name": "Acme", "domain": "acme.com", "industry": "Solar", "tags": ["a", "b"],
                    "custom_fields": {"region": "EMEA"}},
                   {"name": "Placed", "phase_id": contacted}]),
        ),
        (
            "contacts",
            "contact",
            json!([{"first_name": "Ana", "last_name": "Lima", "email": "ana@acme.com",
                    "tags": ["x"]}]),
        ),
        (
            "projects",
            "project",
            json!([{"name": "Office move", "value": {"amount": "100", "currency": "EUR"},
                    "tags": ["y"]}]),
        ),
    ];
    for (records, record_type, rows) in imports {
        let answer = import_json(&app, &format!("/v1/{records}/import"), rows).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        for row in answer.body["rows"].as_array().cloned().unwrap_or_default() {
            assert_eq!(row["status"], "created", "{row}");
            let id = &row["id"];
            let read = app.get(&format!("/v1/{records}/{id}")).await;
            assert_eq!(read.status, 200, "{}", read.body);
            let events = app
                .get(&format!(
                    "/v1/events?types={record_type}.created&record_type={record_type}&record_id={id}"
                ))
                .await;
            let object = &events.body["data"][0]["data"]["object"];
            assert_eq!(
                without_clock(object),
                without_clock(&read.body),
                "{record_type} {id}: the event shows the record as written"
            );
        }
    }
}
