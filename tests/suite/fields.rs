//! The account's own fields (`/v1/fields`, `/v1/schema/{record_type}`): typed custom fields
//! whose values every write path checks (create, update, import, merge), changes that values
//! held do not fit, archived options, events, scopes and tenancy.

use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

async fn define(app: &TestApp, body: Value) -> Value {
    let answer = app.post("/v1/fields", body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    answer.body
}

async fn sector(app: &TestApp) -> Value {
    define(
        app,
        json!({
            "record_type": "company", "key": "sector", "label": "Sector", "type": "select",
            "group": "Classification",
            "options": [{"value": "architecture", "label": "Architecture"},
                        {"value": "engineering", "label": "Engineering"},
                        {"value": "retail"}]
        }),
    )
    .await
}

async fn company_with(app: &TestApp, custom: Value) -> Answer {
    app.post(
        "/v1/companies",
        json!({"name": "Acme", "custom_fields": custom}),
    )
    .await
}

#[tokio::test]
async fn a_select_field_is_defined_read_back_and_listed() {
    let app = spawn_app().await;
    let field = sector(&app).await;
    assert_eq!(field["key"], "sector");
    assert_eq!(field["type"], "select");
    assert_eq!(field["options"][1]["label"], "Engineering");
    assert_eq!(field["options"][2]["label"], "retail");
    assert_eq!(field["options"][2]["position"], 2);
    let id = field["id"].as_i64().unwrap_or_default();
    let read = app.get(&format!("/v1/fields/{id}")).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body, field);
    assert_eq!(read.header("etag"), Some("\"1\""));
    let listed = app.get("/v1/fields?record_type=company").await;
    assert_eq!(listed.body["data"][0]["id"], id);
    let none = app.get("/v1/fields?record_type=contact").await;
    assert_eq!(none.body["data"], json!([]));
}

#[tokio::test]
async fn a_value_outside_the_options_is_refused_naming_the_field() {
    let app = spawn_app().await;
    sector(&app).await;
    let refused = company_with(&app, json!({"sector": "banking"})).await;
    refused.assert_problem(422, "validation_failed");
    assert_eq!(refused.error_fields(), ["custom_fields.sector"]);
    assert_eq!(refused.body["errors"][0]["code"], "invalid_choice");
    let accepted = company_with(&app, json!({"sector": "retail", "free_key": [1, 2]})).await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.body);
    assert_eq!(
        accepted.body["custom_fields"],
        json!({"sector": "retail", "free_key": [1, 2]})
    );
}

#[tokio::test]
async fn every_type_checks_its_values() {
    let app = spawn_app().await;
    let user = app.member("ana@example.com", "member", &[]).await.0;
    let other = app.company("Other").await;
    for (key, body) in [
        ("note", json!({"type": "text", "max_length": 5})),
        ("score", json!({"type": "number", "min": 0, "max": 10})),
        ("budget", json!({"type": "money", "currency": "EUR"})),
        ("renewal", json!({"type": "date"})),
        ("kickoff", json!({"type": "datetime"})),
        ("vip", json!({"type": "boolean"})),
        (
            "labels",
            json!({"type": "multi_select", "options": [{"value": "a"}, {"value": "b"}]}),
        ),
        ("manager", json!({"type": "user"})),
        (
            "parent",
            json!({"type": "record", "target_record_type": "company"}),
        ),
        ("site", json!({"type": "url"})),
        ("billing", json!({"type": "email"})),
        ("hotline", json!({"type": "phone"})),
    ] {
        let mut body = body;
        body["record_type"] = json!("company");
        body["key"] = json!(key);
        body["label"] = json!(key);
        define(&app, body).await;
    }
    let bad = company_with(
        &app,
        json!({
            "note": "too long", "score": 11, "budget": {"amount": "x"}, "renewal": "31/12/2026",
            "kickoff": "tomorrow", "vip": "yes", "labels": ["a", "c"], "manager": 999_999,
            "parent": 999_999, "site": "acme", "billing": "nope", "hotline": "call me"
        }),
    )
    .await;
    bad.assert_problem(422, "validation_failed");
    let mut fields = bad.error_fields();
    fields.sort();
    assert_eq!(
        fields,
        [
            "custom_fields.billing",
            "custom_fields.budget.amount",
            "custom_fields.hotline",
            "custom_fields.kickoff",
            "custom_fields.labels[1]",
            "custom_fields.note",
            "custom_fields.renewal",
            "custom_fields.score",
            "custom_fields.site",
            "custom_fields.vip"
        ],
        "references are checked once the values are well-formed: {}",
        bad.body
    );
    let good = company_with(
        &app,
        json!({
            "note": "short", "score": 7.5, "budget": {"amount": "1200.5"}, "renewal": "2026-12-31",
            "kickoff": "2027-01-04T09:00:00+01:00", "vip": true, "labels": ["b", "a", "b"],
            "manager": user, "parent": other, "site": "https://acme.com", "billing": "ap@acme.com",
            "hotline": "+44 20 7946 0000"
        }),
    )
    .await;
    assert_eq!(good.status, StatusCode::CREATED, "{}", good.body);
    let custom = &good.body["custom_fields"];
    assert_eq!(
        custom["budget"],
        json!({"amount": "1200.50", "currency": "EUR"})
    );
    assert_eq!(custom["kickoff"], "2027-01-04T08:00:00Z");
    assert_eq!(custom["labels"], json!(["b", "a"]));
    let unknown = company_with(&app, json!({"manager": 999_999, "parent": 999_999})).await;
    unknown.assert_problem(422, "validation_failed");
    let mut fields = unknown.error_fields();
    fields.sort();
    assert_eq!(fields, ["custom_fields.manager", "custom_fields.parent"]);
}

#[tokio::test]
async fn required_fields_take_their_default_or_must_be_given() {
    let app = spawn_app().await;
    define(
        &app,
        json!({"record_type": "company", "key": "tier", "label": "Tier", "type": "select",
               "options": [{"value": "gold"}, {"value": "silver"}], "required": true,
               "default": "silver"}),
    )
    .await;
    define(
        &app,
        json!({"record_type": "company", "key": "region", "label": "Region", "type": "text",
               "required": true}),
    )
    .await;
    let missing = company_with(&app, json!({})).await;
    missing.assert_problem(422, "validation_failed");
    assert_eq!(missing.error_fields(), ["custom_fields.region"]);
    let created = company_with(&app, json!({"region": "EMEA"})).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["custom_fields"]["tier"], "silver");
    let id = created.id();
    let cleared = app
        .patch(
            &format!("/v1/companies/{id}"),
            json!({"custom_fields": {"region": null}}),
        )
        .await;
    cleared.assert_problem(422, "validation_failed");
    assert_eq!(cleared.error_fields(), ["custom_fields.region"]);
}

#[tokio::test]
async fn a_unique_field_refuses_a_value_another_record_holds() {
    let app = spawn_app().await;
    define(
        &app,
        json!({"record_type": "contact", "key": "employee_no", "label": "Employee number",
               "type": "text", "unique": true}),
    )
    .await;
    let first = app
        .post(
            "/v1/contacts",
            json!({"first_name": "Ana", "custom_fields": {"employee_no": "E-1"}}),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED, "{}", first.body);
    let second = app
        .post(
            "/v1/contacts",
            json!({"first_name": "Bo", "custom_fields": {"employee_no": "E-1"}}),
        )
        .await;
    second.assert_problem(422, "validation_failed");
    assert_eq!(second.body["errors"][0]["code"], "taken");
    // The record itself may keep its value.
    let id = first.id();
    let same = app
        .patch(
            &format!("/v1/contacts/{id}"),
            json!({"first_name": "Ana Maria", "custom_fields": {"employee_no": "E-1"}}),
        )
        .await;
    assert_eq!(same.status, StatusCode::OK, "{}", same.body);
}

#[tokio::test]
async fn a_change_of_type_that_held_values_do_not_fit_is_refused_with_their_count() {
    let app = spawn_app().await;
    for value in ["x", "y"] {
        let created = company_with(&app, json!({"size_code": value})).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    }
    // The free-form values are not numbers: the definition is refused.
    let refused = app
        .post(
            "/v1/fields",
            json!({"record_type": "company", "key": "size_code", "label": "Size", "type": "number"}),
        )
        .await;
    refused.assert_problem(409, "conflict");
    let detail = refused.body["detail"].as_str().unwrap_or_default();
    assert!(detail.starts_with("2 companies hold"), "{detail}");
    // As text it fits; a later change to number is refused the same way, and nothing changed.
    let field = define(
        &app,
        json!({"record_type": "company", "key": "size_code", "label": "Size", "type": "text"}),
    )
    .await;
    let id = field["id"].as_i64().unwrap_or_default();
    let change = app
        .patch(&format!("/v1/fields/{id}"), json!({"type": "number"}))
        .await;
    change.assert_problem(409, "conflict");
    assert!(
        change.body["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("2 companies")),
        "{}",
        change.body
    );
    let read = app.get(&format!("/v1/fields/{id}")).await;
    assert_eq!(read.body["type"], "text");
    assert_eq!(read.body["version"], 1);
}

#[tokio::test]
async fn an_archived_option_stays_readable_and_kept_but_cannot_be_chosen_anew() {
    let app = spawn_app().await;
    let field = sector(&app).await;
    let id = field["id"].as_i64().unwrap_or_default();
    let company = company_with(&app, json!({"sector": "retail"})).await;
    let company_id = company.id();
    // Removing an option in use is refused; archiving it is not.
    let removed = app
        .patch(
            &format!("/v1/fields/{id}"),
            json!({"options": [{"value": "architecture"}, {"value": "engineering"}]}),
        )
        .await;
    removed.assert_problem(409, "conflict");
    let archived = app
        .patch(
            &format!("/v1/fields/{id}"),
            json!({"options": [{"value": "architecture"}, {"value": "engineering"},
                               {"value": "retail", "archived": true}]}),
        )
        .await;
    assert_eq!(archived.status, StatusCode::OK, "{}", archived.body);
    let read = app.get(&format!("/v1/companies/{company_id}")).await;
    assert_eq!(read.body["custom_fields"]["sector"], "retail");
    let kept = app
        .patch(
            &format!("/v1/companies/{company_id}"),
            json!({"name": "Acme Retail", "custom_fields": {"sector": "retail"}}),
        )
        .await;
    assert_eq!(kept.status, StatusCode::OK, "{}", kept.body);
    let chosen = company_with(&app, json!({"sector": "retail"})).await;
    chosen.assert_problem(422, "validation_failed");
    assert_eq!(chosen.body["errors"][0]["code"], "archived_option");
}

#[tokio::test]
async fn imports_check_each_rows_custom_fields() {
    let app = spawn_app().await;
    sector(&app).await;
    let report = app
        .post(
            "/v1/companies/import",
            json!([
                {"name": "Good", "custom_fields": {"sector": "retail"}},
                {"name": "Bad", "custom_fields": {"sector": "banking"}}
            ]),
        )
        .await;
    assert_eq!(report.status, StatusCode::OK, "{}", report.body);
    let rows = &report.body["rows"];
    assert_eq!(rows[0]["status"], "created", "{}", report.body);
    assert_eq!(rows[1]["status"], "failed");
    assert_eq!(
        rows[1]["error"]["errors"][0]["field"],
        "custom_fields.sector"
    );
}

#[tokio::test]
async fn a_merge_checks_the_survivors_custom_fields() {
    let app = spawn_app().await;
    define(
        &app,
        json!({"record_type": "company", "key": "code", "label": "Code", "type": "text",
               "unique": true}),
    )
    .await;
    let survivor = company_with(&app, json!({})).await.id();
    let duplicate = app
        .post(
            "/v1/companies",
            json!({"name": "Acme Inc", "custom_fields": {"code": "A-1"}}),
        )
        .await
        .id();
    // The duplicate's unique value passes to the survivor: it is no one else's once merged.
    let merged = app
        .post(
            &format!("/v1/companies/{survivor}/merge"),
            json!({"duplicate_ids": [duplicate]}),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.body);
    assert_eq!(merged.body["custom_fields"]["code"], "A-1");
}

#[tokio::test]
async fn the_schema_of_a_record_type_types_its_custom_fields() {
    let app = spawn_app().await;
    sector(&app).await;
    define(
        &app,
        json!({"record_type": "company", "key": "renewal", "label": "Renewal", "type": "date",
               "required": true, "description": "When the contract renews"}),
    )
    .await;
    let answer = app.get("/v1/schema/company").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        answer.header("content-type"),
        Some("application/schema+json")
    );
    let schema = &answer.body;
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert!(schema["properties"]["name"].is_object(), "{schema}");
    let custom = &schema["properties"]["custom_fields"];
    assert_eq!(
        custom["properties"]["sector"]["enum"],
        json!(["architecture", "engineering", "retail"])
    );
    assert_eq!(custom["properties"]["renewal"]["format"], "date");
    assert_eq!(custom["required"], json!(["renewal"]));
    assert!(
        schema["required"]
            .as_array()
            .is_some_and(|r| r.contains(&json!("custom_fields")))
    );
    // Every reference resolves inside the document.
    let text = schema.to_string();
    assert!(!text.contains("#/components/"), "{text}");
    app.get("/v1/schema/task")
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn definitions_are_refused_when_their_parts_do_not_fit_together() {
    let app = spawn_app().await;
    let answer = app
        .post(
            "/v1/fields",
            json!({"record_type": "company", "key": "Bad Key", "label": "", "type": "select"}),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    let mut fields = answer.error_fields();
    fields.sort();
    assert_eq!(fields, ["key", "label"]);
    let no_options = app
        .post(
            "/v1/fields",
            json!({"record_type": "company", "key": "tier", "label": "Tier", "type": "select"}),
        )
        .await;
    assert_eq!(no_options.error_fields(), ["options"]);
    let bad_default = app
        .post(
            "/v1/fields",
            json!({"record_type": "company", "key": "score", "label": "Score", "type": "number",
                   "min": 1, "max": 5, "default": 9}),
        )
        .await;
    assert_eq!(bad_default.error_fields(), ["default"]);
    let bad_pattern = app
        .post(
            "/v1/fields",
            json!({"record_type": "company", "key": "code", "label": "Code", "type": "text",
                   "pattern": "(unclosed"}),
        )
        .await;
    assert_eq!(bad_pattern.error_fields(), ["pattern"]);
    sector(&app).await;
    let taken = app
        .post(
            "/v1/fields",
            json!({"record_type": "company", "key": "sector", "label": "Again", "type": "text"}),
        )
        .await;
    taken.assert_problem(422, "validation_failed");
    assert_eq!(taken.body["errors"][0]["code"], "taken");
}

#[tokio::test]
async fn definitions_are_written_by_admins_and_read_by_everyone_in_the_account() {
    let app = spawn_app().await;
    let (_, member) = app
        .member("mo@example.com", "member", &["fields:read", "fields:write"])
        .await;
    let refused = app
        .post_as(
            &member,
            "/v1/fields",
            json!({"record_type": "company", "key": "tier", "label": "Tier", "type": "text"}),
        )
        .await;
    refused.assert_problem(403, "forbidden");
    let field = sector(&app).await;
    let id = field["id"].as_i64().unwrap_or_default();
    let read = app.get_as(&member, &format!("/v1/fields/{id}")).await;
    assert_eq!(read.status, StatusCode::OK);
    let other = app.other_account("Other firm");
    app.get_as(&other, &format!("/v1/fields/{id}"))
        .await
        .assert_problem(404, "not_found");
    let theirs = app
        .post_as(
            &other,
            "/v1/companies",
            json!({"name": "Theirs", "custom_fields": {"sector": "banking"}}),
        )
        .await;
    assert_eq!(
        theirs.status,
        StatusCode::CREATED,
        "another account's definitions do not apply: {}",
        theirs.body
    );
}

#[tokio::test]
async fn definition_changes_are_events_with_the_previous_values() {
    let app = spawn_app().await;
    let field = sector(&app).await;
    let id = field["id"].as_i64().unwrap_or_default();
    let updated = app
        .patch(
            &format!("/v1/fields/{id}"),
            json!({"label": "Industry sector"}),
        )
        .await;
    assert_eq!(updated.status, StatusCode::OK, "{}", updated.body);
    assert_eq!(updated.body["version"], 2);
    let deleted = app.delete(&format!("/v1/fields/{id}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let events = app
        .get(&format!("/v1/events?record_type=field&record_id={id}"))
        .await;
    assert_eq!(events.status, StatusCode::OK, "{}", events.body);
    let types: Vec<&str> = events.body["data"]
        .as_array()
        .map(|l| l.iter().filter_map(|e| e["type"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(types, ["field.created", "field.updated", "field.deleted"]);
    assert_eq!(
        events.body["data"][1]["data"]["previous"],
        json!({"label": "Sector"})
    );
    // Values stay once the definition is gone, untyped.
    let free = company_with(&app, json!({"sector": "anything"})).await;
    assert_eq!(free.status, StatusCode::CREATED, "{}", free.body);
}

#[tokio::test]
async fn the_filter_language_types_custom_fields_by_their_definitions() {
    let app = spawn_app().await;
    sector(&app).await;
    define(
        &app,
        json!({"record_type": "company", "key": "budget", "label": "Budget", "type": "money",
               "currency": "EUR"}),
    )
    .await;
    for (name, sector, amount) in [
        ("Small studio", "architecture", "900"),
        ("Big studio", "architecture", "25000.50"),
        ("Big works", "engineering", "40000"),
    ] {
        let created = app
            .post(
                "/v1/companies",
                json!({"name": name, "custom_fields": {"sector": sector, "budget": {"amount": amount}}}),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    }
    let found = app
        .post(
            "/v1/companies/query",
            json!({"filter": {"and": [
                {"field": "custom_fields.sector", "op": "eq", "value": "architecture"},
                {"field": "custom_fields.budget", "op": "gte", "value": 1000}
            ]}}),
        )
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    let names: Vec<&str> = found.body["data"]
        .as_array()
        .map(|l| l.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, ["Big studio"]);
    // A select compares with its options only; an undefined key is unknown.
    let bad = app
        .post(
            "/v1/companies/query",
            json!({"filter": {"or": [
                {"field": "custom_fields.sector", "op": "eq", "value": "banking"},
                {"field": "custom_fields.nope", "op": "eq", "value": "x"}
            ]}}),
        )
        .await;
    bad.assert_problem(422, "validation_failed");
    assert_eq!(
        bad.error_fields(),
        ["filter.or[0].value", "filter.or[1].field"]
    );
}
