//! Merging duplicates: every contact and history row of the duplicates ends on the survivor,
//! empty fields are filled and the survivor's own values kept, tags united, the duplicates
//! gone with their events; bad lists, stale versions and viewers change nothing.

use crate::common::pipelines::*;
use crate::common::*;
use diesel::prelude::*;
use persistence::schema::{company_transitions, contacts};
use reqwest::Method;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Helpers

fn merge_path(kind: &str, survivor: i64) -> String {
    format!("/v1/{kind}/{survivor}/merge")
}

async fn merge(app: &TestApp, kind: &str, survivor: i64, duplicates: &[i64]) -> Answer {
    app.post(
        &merge_path(kind, survivor),
        json!({ "duplicate_ids": duplicates }),
    )
    .await
}

async fn create(app: &TestApp, kind: &str, body: Value) -> i64 {
    let created = app.post(&format!("/v1/{kind}"), body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.id()
}

/// History rows per company, straight from the database: (company, rows).
fn history_rows(app: &TestApp, companies: &[i64]) -> Vec<(i64, i64)> {
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    companies
        .iter()
        .map(|id| {
            let n: i64 = company_transitions::table
                .filter(company_transitions::company_id.eq(*id))
                .count()
                .get_result(&mut *conn)
                .unwrap_or_else(|e| panic!("{e}"));
            (*id, n)
        })
        .collect()
}

/// The ids of the contacts at a company, straight from the database, sorted.
fn contacts_at(app: &TestApp, company: i64) -> Vec<i64> {
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    contacts::table
        .filter(contacts::company_id.eq(company))
        .select(contacts::id)
        .order(contacts::id.asc())
        .load(&mut *conn)
        .unwrap_or_else(|e| panic!("{e}"))
}

async fn events_after(app: &TestApp, after: i64) -> Vec<Value> {
    let page = app
        .get(&format!("/v1/events?after={after}&limit=200"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.body["data"].as_array().cloned().unwrap_or_default()
}

async fn last_event_id(app: &TestApp) -> i64 {
    let mut after = 0;
    loop {
        let page = events_after(app, after).await;
        match page.last().and_then(|e| e["id"].as_i64()) {
            Some(id) => after = id,
            None => return after,
        }
    }
}

/// A company with two contacts and a journey of three moves; returns (company, contacts).
async fn company_with_contacts_and_history(app: &TestApp, name: &str) -> (i64, Vec<i64>) {
    let default = default_pipeline(app).await;
    let company = company_in(app, name, phase(&default, "Uncontacted")).await;
    moved(
        app,
        company,
        json!({"to_phase_id": phase(&default, "Contacted")}),
    )
    .await;
    moved(app, company, json!({"outcome": "won"})).await;
    let mut people = Vec::new();
    for first in ["Ada", "Grace"] {
        people.push(
            create(
                app,
                "contacts",
                json!({"first_name": first, "last_name": name, "company_id": company}),
            )
            .await,
        );
    }
    (company, people)
}

// ---------------------------------------------------------------------------------------------
// Companies: nothing is lost

#[tokio::test]
async fn every_contact_of_the_duplicates_ends_at_the_survivor() {
    let app = spawn_app().await;
    let (survivor, mut expected) = company_with_contacts_and_history(&app, "Acme").await;
    let (a, a_people) = company_with_contacts_and_history(&app, "Acme Ltd").await;
    let (b, b_people) = company_with_contacts_and_history(&app, "ACME").await;
    expected.extend(a_people.iter().chain(&b_people));
    expected.sort_unstable();

    let merged = merge(&app, "companies", survivor, &[a, b]).await;

    assert_eq!(merged.status, 200, "{}", merged.body);
    assert_eq!(contacts_at(&app, survivor), expected);
    for person in a_people.iter().chain(&b_people) {
        let read = app.get(&format!("/v1/contacts/{person}")).await;
        assert_eq!(read.body["company_id"], survivor, "{}", read.body);
        assert_eq!(read.body["version"], 2, "a moved contact has a new version");
    }
}

#[tokio::test]
async fn every_history_row_of_the_duplicates_ends_on_the_survivor() {
    let app = spawn_app().await;
    let (survivor, _) = company_with_contacts_and_history(&app, "Acme").await;
    let (a, _) = company_with_contacts_and_history(&app, "Acme Ltd").await;
    let (b, _) = company_with_contacts_and_history(&app, "ACME").await;
    let before = history_rows(&app, &[survivor, a, b]);
    let total: i64 = before.iter().map(|(_, n)| n).sum();
    assert_eq!(total, 9, "three moves each: {before:?}");
    let place = read_company(&app, survivor).await;

    let merged = merge(&app, "companies", survivor, &[a, b]).await;

    assert_eq!(merged.status, 200, "{}", merged.body);
    assert_eq!(
        history_rows(&app, &[survivor, a, b]),
        vec![(survivor, total), (a, 0), (b, 0)]
    );
    assert_eq!(history(&app, survivor).await.len() as i64, total);
    for field in ["pipeline_id", "phase_id", "relationship_status", "outcome"] {
        assert_eq!(
            merged.body[field], place[field],
            "the survivor keeps its place"
        );
    }
}

#[tokio::test]
async fn empty_fields_are_filled_in_order_and_the_survivors_values_kept() {
    let app = spawn_app().await;
    let survivor = create(
        &app,
        "companies",
        json!({"name": "Acme", "industry": "Solar", "custom_fields": {"tier": "gold"}}),
    )
    .await;
    let a = create(
        &app,
        "companies",
        json!({"name": "Acme Ltd", "industry": "Oil", "phone": "+44 1", "owner_id": app.admin_id,
               "custom_fields": {"tier": "bronze", "region": "north"}}),
    )
    .await;
    let b = create(
        &app,
        "companies",
        json!({"name": "ACME", "phone": "+44 2", "domain": "acme.com"}),
    )
    .await;

    let merged = merge(&app, "companies", survivor, &[a, b]).await;

    assert_eq!(merged.status, 200, "{}", merged.body);
    let body = &merged.body;
    assert_eq!(body["name"], "Acme");
    assert_eq!(body["industry"], "Solar");
    assert_eq!(body["phone"], "+44 1");
    assert_eq!(body["domain"], "acme.com");
    assert_eq!(body["owner_id"], app.admin_id);
    assert_eq!(
        body["custom_fields"],
        json!({"tier": "gold", "region": "north"})
    );
    assert_eq!(body["version"], 2);
    assert_eq!(merged.header("etag"), Some("\"2\""));
}

#[tokio::test]
async fn tags_are_united() {
    let app = spawn_app().await;
    let survivor = create(
        &app,
        "companies",
        json!({"name": "Acme", "tags": ["vip", "north"]}),
    )
    .await;
    let a = create(
        &app,
        "companies",
        json!({"name": "Acme Ltd", "tags": ["north", "solar"]}),
    )
    .await;

    let merged = merge(&app, "companies", survivor, &[a]).await;

    assert_eq!(merged.status, 200, "{}", merged.body);
    assert_eq!(merged.body["tags"], json!(["north", "solar", "vip"]));
    let tagged = app.get("/v1/companies?tag=solar").await;
    assert_eq!(tagged.body["data"][0]["id"], survivor, "{}", tagged.body);
}

#[tokio::test]
async fn more_than_fifty_tags_together_are_refused_and_nothing_changes() {
    let app = spawn_app().await;
    let first: Vec<String> = (0..30).map(|i| format!("a{i}")).collect();
    let second: Vec<String> = (0..21).map(|i| format!("b{i}")).collect();
    let survivor = create(&app, "companies", json!({"name": "Acme", "tags": first})).await;
    let a = create(
        &app,
        "companies",
        json!({"name": "Acme Ltd", "tags": second}),
    )
    .await;

    let refused = merge(&app, "companies", survivor, &[a]).await;

    refused.assert_problem(422, "validation_failed");
    assert_eq!(refused.error_fields(), vec!["duplicate_ids"]);
    assert_eq!(read_company(&app, a).await["version"], 1);
    assert_eq!(read_company(&app, survivor).await["version"], 1);
}

#[tokio::test]
async fn the_duplicates_are_gone() {
    let app = spawn_app().await;
    let survivor = app.company("Acme").await;
    let a = app.company("Acme Ltd").await;
    let b = app.company("ACME").await;

    let merged = merge(&app, "companies", survivor, &[a, b]).await;

    assert_eq!(merged.status, 200, "{}", merged.body);
    for gone in [a, b] {
        app.get(&format!("/v1/companies/{gone}"))
            .await
            .assert_problem(404, "not_found");
    }
}

#[tokio::test]
async fn the_feed_says_merged_then_each_moved_contact_then_each_duplicate_deleted() {
    let app = spawn_app().await;
    let survivor = create(&app, "companies", json!({"name": "Acme"})).await;
    let a = create(
        &app,
        "companies",
        json!({"name": "Acme Ltd", "industry": "Oil"}),
    )
    .await;
    let b = app.company("ACME").await;
    let person = create(
        &app,
        "contacts",
        json!({"first_name": "Ada", "company_id": a}),
    )
    .await;
    let after = last_event_id(&app).await;

    let merged = merge(&app, "companies", survivor, &[b, a]).await;
    assert_eq!(merged.status, 200, "{}", merged.body);

    let events = events_after(&app, after).await;
    let seen: Vec<(String, i64)> = events
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap_or_default().to_owned(),
                e["record"]["id"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("company.merged".to_owned(), survivor),
            ("contact.updated".to_owned(), person),
            ("company.deleted".to_owned(), b),
            ("company.deleted".to_owned(), a),
        ]
    );
    let data = &events[0]["data"];
    assert_eq!(data["merged_ids"], json!([b, a]));
    assert_eq!(data["object"]["industry"], "Oil");
    assert_eq!(data["previous"]["industry"], Value::Null);
    assert_eq!(events[1]["data"]["previous"]["company_id"], a);
    assert_eq!(events[2]["data"]["merged_into"], survivor);
    assert_eq!(events[3]["data"]["object"]["name"], "Acme Ltd");
}

// ---------------------------------------------------------------------------------------------
// Companies: refusals change nothing

#[tokio::test]
async fn an_unknown_or_other_accounts_duplicate_is_named_and_nothing_changes() {
    let app = spawn_app().await;
    let other = app.other_account("Other Firm");
    let foreign = app
        .post_as(&other, "/v1/companies", json!({"name": "Theirs"}))
        .await
        .id();
    let survivor = app.company("Acme").await;
    let a = create(
        &app,
        "companies",
        json!({"name": "Acme Ltd", "phone": "+44 1"}),
    )
    .await;
    let person = create(
        &app,
        "contacts",
        json!({"first_name": "Ada", "company_id": a}),
    )
    .await;

    let refused = merge(&app, "companies", survivor, &[a, foreign, 999_999]).await;

    refused.assert_problem(422, "validation_failed");
    assert_eq!(
        refused.error_fields(),
        vec!["duplicate_ids[1]", "duplicate_ids[2]"]
    );
    assert!(
        refused.body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("999999")
    );
    assert_eq!(read_company(&app, a).await["version"], 1);
    assert_eq!(read_company(&app, survivor).await["phone"], Value::Null);
    assert_eq!(contacts_at(&app, a), vec![person]);
    let theirs = app
        .get_as(&other, &format!("/v1/companies/{foreign}"))
        .await;
    assert_eq!(
        theirs.status, 200,
        "the other account's company is untouched"
    );
}

#[tokio::test]
async fn the_survivor_in_its_own_duplicate_list_is_refused() {
    let app = spawn_app().await;
    let survivor = app.company("Acme").await;
    let a = app.company("Acme Ltd").await;

    let refused = merge(&app, "companies", survivor, &[a, survivor]).await;

    refused.assert_problem(422, "validation_failed");
    assert_eq!(refused.error_fields(), vec!["duplicate_ids[1]"]);
    assert_eq!(read_company(&app, a).await["version"], 1);
}

#[tokio::test]
async fn an_unknown_survivor_is_not_found() {
    let app = spawn_app().await;
    let a = app.company("Acme Ltd").await;

    merge(&app, "companies", 999_999, &[a])
        .await
        .assert_problem(404, "not_found");
    assert_eq!(read_company(&app, a).await["version"], 1);
}

#[tokio::test]
async fn a_stale_if_match_is_refused_and_nothing_changes() {
    let app = spawn_app().await;
    let survivor = app.company("Acme").await;
    let a = create(
        &app,
        "companies",
        json!({"name": "Acme Ltd", "phone": "+44 1"}),
    )
    .await;
    let edited = app
        .patch(
            &format!("/v1/companies/{survivor}"),
            json!({"industry": "Solar"}),
        )
        .await;
    assert_eq!(edited.status, 200, "{}", edited.body);

    let refused = app
        .request(
            Method::POST,
            &merge_path("companies", survivor),
            Some(&app.token),
            Some(&json!({"duplicate_ids": [a]})),
            &[("If-Match", "\"1\"")],
        )
        .await;

    refused.assert_problem(412, "precondition_failed");
    assert_eq!(read_company(&app, a).await["version"], 1);
    assert_eq!(read_company(&app, survivor).await["phone"], Value::Null);
}

#[tokio::test]
async fn a_viewer_may_not_merge() {
    let app = spawn_app().await;
    let survivor = app.company("Acme").await;
    let a = app.company("Acme Ltd").await;
    let (_, viewer) = app
        .member(
            "viewer@example.com",
            "viewer",
            &["companies:read", "companies:write"],
        )
        .await;

    app.post_as(
        &viewer,
        &merge_path("companies", survivor),
        json!({"duplicate_ids": [a]}),
    )
    .await
    .assert_problem(403, "forbidden");
    assert_eq!(read_company(&app, a).await["version"], 1);
}

// ---------------------------------------------------------------------------------------------
// Contacts

#[tokio::test]
async fn contacts_reporting_to_a_duplicate_now_report_to_the_survivor() {
    let app = spawn_app().await;
    let survivor = create(&app, "contacts", json!({"first_name": "Ada"})).await;
    let duplicate = create(
        &app,
        "contacts",
        json!({"first_name": "Ada", "job_title": "CTO", "tags": ["vip"]}),
    )
    .await;
    let report = create(
        &app,
        "contacts",
        json!({"first_name": "Grace", "reports_to_id": duplicate}),
    )
    .await;

    let merged = merge(&app, "contacts", survivor, &[duplicate]).await;

    assert_eq!(merged.status, 200, "{}", merged.body);
    assert_eq!(merged.body["job_title"], "CTO");
    assert_eq!(merged.body["tags"], json!(["vip"]));
    let read = app.get(&format!("/v1/contacts/{report}")).await;
    assert_eq!(read.body["reports_to_id"], survivor, "{}", read.body);
    app.get(&format!("/v1/contacts/{duplicate}"))
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn a_survivor_reporting_to_a_duplicate_takes_its_manager_not_itself() {
    let app = spawn_app().await;
    let boss = create(&app, "contacts", json!({"first_name": "Boss"})).await;
    let duplicate = create(
        &app,
        "contacts",
        json!({"first_name": "Ada", "reports_to_id": boss}),
    )
    .await;
    let survivor = create(
        &app,
        "contacts",
        json!({"first_name": "Ada", "reports_to_id": duplicate}),
    )
    .await;

    let merged = merge(&app, "contacts", survivor, &[duplicate]).await;

    assert_eq!(merged.status, 200, "{}", merged.body);
    assert_eq!(merged.body["reports_to_id"], boss);
}

#[tokio::test]
async fn a_manager_that_would_close_a_loop_leaves_the_survivor_reporting_to_nobody() {
    let app = spawn_app().await;
    // The survivor has no manager; the duplicate reports to someone who reports to the survivor.
    let survivor = create(&app, "contacts", json!({"first_name": "Ada"})).await;
    let middle = create(
        &app,
        "contacts",
        json!({"first_name": "Mid", "reports_to_id": survivor}),
    )
    .await;
    let duplicate = create(
        &app,
        "contacts",
        json!({"first_name": "Ada", "reports_to_id": middle}),
    )
    .await;

    let merged = merge(&app, "contacts", survivor, &[duplicate]).await;

    assert_eq!(merged.status, 200, "{}", merged.body);
    assert_eq!(merged.body["reports_to_id"], Value::Null);
    assert_eq!(
        app.get(&format!("/v1/contacts/{middle}")).await.body["reports_to_id"],
        survivor
    );
}

#[tokio::test]
async fn a_contact_merge_records_merged_and_deleted_events() {
    let app = spawn_app().await;
    let survivor = create(&app, "contacts", json!({"first_name": "Ada"})).await;
    let duplicate = create(
        &app,
        "contacts",
        json!({"first_name": "Ada", "phone": "+44 1"}),
    )
    .await;
    let after = last_event_id(&app).await;

    let merged = merge(&app, "contacts", survivor, &[duplicate]).await;
    assert_eq!(merged.status, 200, "{}", merged.body);

    let events = events_after(&app, after).await;
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types, vec!["contact.merged", "contact.deleted"]);
    assert_eq!(events[0]["data"]["merged_ids"], json!([duplicate]));
    assert_eq!(events[0]["data"]["object"]["phone"], "+44 1");
    assert_eq!(events[1]["record"]["id"], duplicate);
    assert_eq!(events[1]["data"]["merged_into"], survivor);
}

#[tokio::test]
async fn an_unknown_duplicate_contact_is_named_and_nothing_changes() {
    let app = spawn_app().await;
    let survivor = create(&app, "contacts", json!({"first_name": "Ada"})).await;
    let duplicate = create(
        &app,
        "contacts",
        json!({"first_name": "Ada", "phone": "+44 1"}),
    )
    .await;

    let refused = merge(&app, "contacts", survivor, &[duplicate, 999_999]).await;

    refused.assert_problem(422, "validation_failed");
    assert_eq!(refused.error_fields(), vec!["duplicate_ids[1]"]);
    let read = app.get(&format!("/v1/contacts/{duplicate}")).await;
    assert_eq!(read.body["version"], 1, "{}", read.body);
}

#[tokio::test]
async fn crossed_concurrent_merges_leave_one_survivor_and_no_server_error() {
    let app = spawn_app().await;
    let x = app.company("Acme").await;
    let y = app.company("Acme Ltd").await;
    let person = create(
        &app,
        "contacts",
        json!({"first_name": "Ada", "company_id": y}),
    )
    .await;

    // Each names the other as its duplicate: the locks, taken in id order, queue them.
    let (one, other) = ([y], [x]);
    let (first, second) = futures_util::future::join(
        merge(&app, "companies", x, &one),
        merge(&app, "companies", y, &other),
    )
    .await;

    let mut statuses = [first.status.as_u16(), second.status.as_u16()];
    statuses.sort_unstable();
    assert!(
        statuses == [200, 404] || statuses == [200, 422],
        "{statuses:?}: {} / {}",
        first.body,
        second.body
    );
    let winner = if first.status == 200 { x } else { y };
    let read = app.get(&format!("/v1/contacts/{person}")).await;
    assert_eq!(read.body["company_id"], winner, "{}", read.body);
}
