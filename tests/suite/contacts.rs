//! End-to-end tests of `/v1/contacts`: the contact record, its links (company, owner, the org
//! chart), list filters, optimistic concurrency, tenancy and access.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// Creates a contact from `body` and returns its id.
async fn contact(app: &TestApp, body: Value) -> i64 {
    let answer = app.post("/v1/contacts", body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    answer.id()
}

/// The ids of a list answer, in order.
fn ids(answer: &Answer) -> Vec<i64> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body["data"]
        .as_array()
        .map(|list| list.iter().filter_map(|c| c["id"].as_i64()).collect())
        .unwrap_or_else(|| panic!("no data in {}", answer.body))
}

/// The `code` of the validation error naming `field`, if any.
fn error_code<'a>(answer: &'a Answer, field: &str) -> Option<&'a str> {
    answer.body["errors"]
        .as_array()?
        .iter()
        .find(|e| e["field"] == field)
        .and_then(|e| e["code"].as_str())
}

#[tokio::test]
async fn a_created_contact_is_answered_with_etag_and_location_and_can_be_read_back() {
    let app = spawn_app().await;
    let company = app.company("Globex").await;
    let created = app
        .post(
            "/v1/contacts",
            json!({
                "first_name": "Ana",
                "last_name": "Lima",
                "email": "ana@globex.test",
                "phone": "+44 20 7946 0000",
                "job_title": "Head of Operations",
                "company_id": company,
                "owner_id": app.admin_id,
                "tags": ["vip", "board"],
                "custom_fields": {"linkedin": "ana-lima"}
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.header("etag"), Some("\"1\""));
    let id = created.id();
    let location = format!("/v1/contacts/{id}");
    assert_eq!(created.header("location"), Some(location.as_str()));
    assert_eq!(created.body["first_name"], "Ana");
    assert_eq!(created.body["version"], 1);

    let read = app.get(&location).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.header("etag"), Some("\"1\""));
    assert_eq!(read.body["id"], id);
    assert_eq!(read.body["first_name"], "Ana");
    assert_eq!(read.body["last_name"], "Lima");
    assert_eq!(read.body["email"], "ana@globex.test");
    assert_eq!(read.body["job_title"], "Head of Operations");
    assert_eq!(read.body["company_id"], company);
    assert_eq!(read.body["owner_id"], app.admin_id);
    assert_eq!(read.body["reports_to_id"], Value::Null);
    assert_eq!(
        read.body["tags"],
        json!(["board", "vip"]),
        "tags come back in their stable, sorted order"
    );
    assert_eq!(read.body["custom_fields"], json!({"linkedin": "ana-lima"}));
}

#[tokio::test]
async fn only_the_first_name_is_required() {
    let app = spawn_app().await;
    let created = app
        .post("/v1/contacts", json!({ "first_name": "Ana" }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["first_name"], "Ana");
    for field in [
        "last_name",
        "email",
        "phone",
        "job_title",
        "company_id",
        "reports_to_id",
        "owner_id",
    ] {
        assert_eq!(
            created.body[field],
            Value::Null,
            "{field} in {}",
            created.body
        );
    }
    assert_eq!(created.body["tags"], json!([]));
    assert_eq!(created.body["custom_fields"], json!({}));

    let missing = app
        .post("/v1/contacts", json!({ "last_name": "Lima" }))
        .await;
    missing.assert_problem(422, "validation_failed");
    assert_eq!(missing.error_fields(), vec!["first_name".to_owned()]);
}

#[tokio::test]
async fn every_bad_field_of_a_new_contact_is_named() {
    let app = spawn_app().await;
    let answer = app
        .post(
            "/v1/contacts",
            json!({ "first_name": "   ", "email": "not-an-email" }),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    let fields = answer.error_fields();
    assert!(fields.contains(&"first_name".to_owned()), "{}", answer.body);
    assert!(fields.contains(&"email".to_owned()), "{}", answer.body);
    assert_eq!(fields.len(), 2, "{}", answer.body);
}

#[tokio::test]
async fn an_unknown_field_such_as_account_id_is_refused_and_named() {
    let app = spawn_app().await;
    let answer = app
        .post(
            "/v1/contacts",
            json!({ "first_name": "Ana", "account_id": 999 }),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), vec!["account_id".to_owned()]);
    assert_eq!(error_code(&answer, "account_id"), Some("unknown_field"));

    let list = app.get("/v1/contacts").await;
    assert!(ids(&list).is_empty(), "a refused body creates nothing");
}

#[tokio::test]
async fn blank_optional_strings_mean_no_value() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/v1/contacts",
            json!({ "first_name": "Ana", "last_name": "", "email": "  ", "phone": "", "job_title": " " }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    for field in ["last_name", "email", "phone", "job_title"] {
        assert_eq!(
            created.body[field],
            Value::Null,
            "{field} in {}",
            created.body
        );
    }
}

#[tokio::test]
async fn patching_with_null_clears_a_field_and_leaving_it_out_keeps_it() {
    let app = spawn_app().await;
    let id = contact(
        &app,
        json!({ "first_name": "Ana", "last_name": "Lima", "email": "ana@globex.test", "job_title": "CFO" }),
    )
    .await;
    let patched = app
        .patch(
            &format!("/v1/contacts/{id}"),
            json!({ "email": null, "job_title": "CEO" }),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(patched.header("etag"), Some("\"2\""));
    assert_eq!(patched.body["email"], Value::Null);
    assert_eq!(patched.body["job_title"], "CEO");
    assert_eq!(patched.body["first_name"], "Ana");
    assert_eq!(patched.body["last_name"], "Lima");

    let read = app.get(&format!("/v1/contacts/{id}")).await;
    assert_eq!(read.body["email"], Value::Null);
    assert_eq!(read.body["last_name"], "Lima");
    assert_eq!(read.body["version"], 2);
}

#[tokio::test]
async fn custom_fields_are_merged_and_a_key_set_to_null_is_removed() {
    let app = spawn_app().await;
    let id = contact(
        &app,
        json!({ "first_name": "Ana", "custom_fields": {"linkedin": "ana-lima", "shoe_size": 38, "source": "fair"} }),
    )
    .await;
    let patched = app
        .patch(
            &format!("/v1/contacts/{id}"),
            json!({ "custom_fields": {"shoe_size": null, "source": "referral", "birthday": "05-12"} }),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(
        patched.body["custom_fields"],
        json!({"linkedin": "ana-lima", "source": "referral", "birthday": "05-12"})
    );
    let read = app.get(&format!("/v1/contacts/{id}")).await;
    assert_eq!(read.body["custom_fields"], patched.body["custom_fields"]);
}

#[tokio::test]
async fn a_contact_cannot_work_at_another_accounts_company() {
    let app = spawn_app().await;
    let other = app.other_account("Initech");
    let theirs = app
        .post_as(&other, "/v1/companies", json!({ "name": "Initech" }))
        .await;
    assert_eq!(theirs.status, StatusCode::CREATED, "{}", theirs.body);
    let their_company = theirs.id();

    let created = app
        .post(
            "/v1/contacts",
            json!({ "first_name": "Ana", "company_id": their_company }),
        )
        .await;
    created.assert_problem(422, "validation_failed");
    assert_eq!(created.error_fields(), vec!["company_id".to_owned()]);

    let id = contact(&app, json!({ "first_name": "Bruno" })).await;
    let patched = app
        .patch(
            &format!("/v1/contacts/{id}"),
            json!({ "company_id": their_company }),
        )
        .await;
    patched.assert_problem(422, "validation_failed");
    assert_eq!(patched.error_fields(), vec!["company_id".to_owned()]);
    assert_eq!(
        app.get(&format!("/v1/contacts/{id}")).await.body["company_id"],
        Value::Null
    );
}

#[tokio::test]
async fn a_contact_cannot_report_to_themselves() {
    let app = spawn_app().await;
    let id = contact(&app, json!({ "first_name": "Ana" })).await;
    let answer = app
        .patch(
            &format!("/v1/contacts/{id}"),
            json!({ "reports_to_id": id }),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), vec!["reports_to_id".to_owned()]);
    assert_eq!(error_code(&answer, "reports_to_id"), Some("self_report"));
}

#[tokio::test]
async fn a_contact_cannot_report_to_someone_below_them() {
    let app = spawn_app().await;
    let boss = contact(&app, json!({ "first_name": "Bea" })).await;
    let report = contact(&app, json!({ "first_name": "Ana", "reports_to_id": boss })).await;
    assert_eq!(
        app.get(&format!("/v1/contacts/{report}")).await.body["reports_to_id"],
        boss
    );

    let answer = app
        .patch(
            &format!("/v1/contacts/{boss}"),
            json!({ "reports_to_id": report }),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(
        error_code(&answer, "reports_to_id"),
        Some("reporting_cycle"),
        "{}",
        answer.body
    );
    assert_eq!(
        app.get(&format!("/v1/contacts/{boss}")).await.body["reports_to_id"],
        Value::Null
    );
}

#[tokio::test]
async fn a_longer_reporting_loop_is_refused_too() {
    let app = spawn_app().await;
    let ceo = contact(&app, json!({ "first_name": "Carla" })).await;
    let manager = contact(&app, json!({ "first_name": "Bea", "reports_to_id": ceo })).await;
    let clerk = contact(
        &app,
        json!({ "first_name": "Ana", "reports_to_id": manager }),
    )
    .await;

    let answer = app
        .patch(
            &format!("/v1/contacts/{ceo}"),
            json!({ "reports_to_id": clerk }),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(
        error_code(&answer, "reports_to_id"),
        Some("reporting_cycle"),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn a_contact_cannot_report_to_an_unknown_contact() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/v1/contacts",
            json!({ "first_name": "Ana", "reports_to_id": 987_654 }),
        )
        .await;
    created.assert_problem(422, "validation_failed");
    assert_eq!(created.error_fields(), vec!["reports_to_id".to_owned()]);

    let id = contact(&app, json!({ "first_name": "Bruno" })).await;
    let patched = app
        .patch(
            &format!("/v1/contacts/{id}"),
            json!({ "reports_to_id": 987_654 }),
        )
        .await;
    patched.assert_problem(422, "validation_failed");
    assert_eq!(patched.error_fields(), vec!["reports_to_id".to_owned()]);
}

#[tokio::test]
async fn a_contact_cannot_report_to_another_accounts_contact() {
    let app = spawn_app().await;
    let other = app.other_account("Initech");
    let theirs = app
        .post_as(&other, "/v1/contacts", json!({ "first_name": "Peter" }))
        .await;
    assert_eq!(theirs.status, StatusCode::CREATED, "{}", theirs.body);

    let answer = app
        .post(
            "/v1/contacts",
            json!({ "first_name": "Ana", "reports_to_id": theirs.id() }),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), vec!["reports_to_id".to_owned()]);
}

#[tokio::test]
async fn deleting_a_manager_leaves_their_reports_reporting_to_nobody() {
    let app = spawn_app().await;
    let boss = contact(&app, json!({ "first_name": "Bea" })).await;
    let report = contact(&app, json!({ "first_name": "Ana", "reports_to_id": boss })).await;

    let deleted = app.delete(&format!("/v1/contacts/{boss}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    app.get(&format!("/v1/contacts/{boss}"))
        .await
        .assert_problem(404, "not_found");

    let read = app.get(&format!("/v1/contacts/{report}")).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.body["reports_to_id"], Value::Null);
    assert_eq!(read.body["first_name"], "Ana");
}

#[tokio::test]
async fn deleting_a_company_keeps_its_contacts_without_a_company() {
    let app = spawn_app().await;
    let company = app.company("Globex").await;
    let id = contact(&app, json!({ "first_name": "Ana", "company_id": company })).await;

    let deleted = app.delete(&format!("/v1/companies/{company}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);

    let read = app.get(&format!("/v1/contacts/{id}")).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(read.body["company_id"], Value::Null);
    assert_eq!(read.body["first_name"], "Ana");
}

#[tokio::test]
async fn the_list_filters_by_company() {
    let app = spawn_app().await;
    let globex = app.company("Globex").await;
    let initech = app.company("Initech").await;
    let ana = contact(&app, json!({ "first_name": "Ana", "company_id": globex })).await;
    let _bruno = contact(
        &app,
        json!({ "first_name": "Bruno", "company_id": initech }),
    )
    .await;
    let _carla = contact(&app, json!({ "first_name": "Carla" })).await;

    let list = app.get(&format!("/v1/contacts?company_id={globex}")).await;
    assert_eq!(ids(&list), vec![ana]);
}

#[tokio::test]
async fn the_list_filters_by_exact_email_ignoring_case() {
    let app = spawn_app().await;
    let ana = contact(
        &app,
        json!({ "first_name": "Ana", "email": "Ana.Lima@Globex.test" }),
    )
    .await;
    let _anabel = contact(
        &app,
        json!({ "first_name": "Anabel", "email": "ana.lima@globex.test.example" }),
    )
    .await;
    let _bruno = contact(
        &app,
        json!({ "first_name": "Bruno", "email": "bruno@globex.test" }),
    )
    .await;

    let list = app.get("/v1/contacts?email=ANA.LIMA@globex.TEST").await;
    assert_eq!(ids(&list), vec![ana]);
}

#[tokio::test]
async fn the_text_search_looks_into_names_and_emails_ignoring_case() {
    let app = spawn_app().await;
    let by_name = contact(
        &app,
        json!({ "first_name": "Ana", "last_name": "Lima", "email": "ana@globex.test" }),
    )
    .await;
    let by_email = contact(
        &app,
        json!({ "first_name": "Bruno", "last_name": "Souza", "email": "bruno@LIMAcorp.test" }),
    )
    .await;
    let _neither = contact(
        &app,
        json!({ "first_name": "Carla", "last_name": "Diaz", "email": "carla@globex.test" }),
    )
    .await;

    let mut found = ids(&app.get("/v1/contacts?q=lIMa").await);
    found.sort_unstable();
    assert_eq!(found, vec![by_name, by_email]);

    let full_name = ids(&app.get("/v1/contacts?q=na%20li").await);
    assert_eq!(
        full_name,
        vec![by_name],
        "the search covers first and last name together"
    );
}

#[tokio::test]
async fn the_list_filters_by_tag() {
    let app = spawn_app().await;
    let vip = contact(
        &app,
        json!({ "first_name": "Ana", "tags": ["vip", "board"] }),
    )
    .await;
    let _other = contact(&app, json!({ "first_name": "Bruno", "tags": ["board"] })).await;
    let _none = contact(&app, json!({ "first_name": "Carla" })).await;

    assert_eq!(ids(&app.get("/v1/contacts?tag=vip").await), vec![vip]);
    assert_eq!(ids(&app.get("/v1/contacts?tag=board").await).len(), 2);
}

#[tokio::test]
async fn the_list_filters_by_owner() {
    let app = spawn_app().await;
    let (member, _) = app.member("mia@acme.test", "member", &["admin"]).await;
    let mine = contact(
        &app,
        json!({ "first_name": "Ana", "owner_id": app.admin_id }),
    )
    .await;
    let theirs = contact(&app, json!({ "first_name": "Bruno", "owner_id": member })).await;
    let _nobodys = contact(&app, json!({ "first_name": "Carla" })).await;

    assert_eq!(
        ids(&app
            .get(&format!("/v1/contacts?owner_id={}", app.admin_id))
            .await),
        vec![mine]
    );
    assert_eq!(
        ids(&app.get(&format!("/v1/contacts?owner_id={member}")).await),
        vec![theirs]
    );
}

#[tokio::test]
async fn sorting_by_name_lists_contacts_alphabetically() {
    let app = spawn_app().await;
    let carla = contact(&app, json!({ "first_name": "Carla", "last_name": "Diaz" })).await;
    let ana = contact(&app, json!({ "first_name": "Ana", "last_name": "Lima" })).await;
    let bruno = contact(&app, json!({ "first_name": "Bruno", "last_name": "Souza" })).await;

    assert_eq!(
        ids(&app.get("/v1/contacts?sort=name").await),
        vec![ana, bruno, carla]
    );
}

#[tokio::test]
async fn a_stale_if_match_on_patch_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let id = contact(&app, json!({ "first_name": "Ana" })).await;
    let path = format!("/v1/contacts/{id}");
    let first = app.patch(&path, json!({ "job_title": "CFO" })).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);

    let stale = app
        .request(
            Method::PATCH,
            &path,
            Some(&app.token),
            Some(&json!({ "job_title": "CEO" })),
            &[("If-Match", "\"1\"")],
        )
        .await;
    stale.assert_problem(412, "precondition_failed");
    assert_eq!(app.get(&path).await.body["job_title"], "CFO");
}

#[tokio::test]
async fn a_matching_if_match_on_patch_is_accepted() {
    let app = spawn_app().await;
    let id = contact(&app, json!({ "first_name": "Ana" })).await;
    let path = format!("/v1/contacts/{id}");
    let answer = app
        .request(
            Method::PATCH,
            &path,
            Some(&app.token),
            Some(&json!({ "job_title": "CEO" })),
            &[("If-Match", "\"1\"")],
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(answer.header("etag"), Some("\"2\""));
    assert_eq!(answer.body["job_title"], "CEO");
}

#[tokio::test]
async fn a_stale_if_match_on_delete_is_refused_and_keeps_the_contact() {
    let app = spawn_app().await;
    let id = contact(&app, json!({ "first_name": "Ana" })).await;
    let path = format!("/v1/contacts/{id}");
    let first = app.patch(&path, json!({ "job_title": "CFO" })).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);

    let stale = app
        .request(
            Method::DELETE,
            &path,
            Some(&app.token),
            None,
            &[("If-Match", "\"1\"")],
        )
        .await;
    stale.assert_problem(412, "precondition_failed");
    assert_eq!(app.get(&path).await.status, StatusCode::OK);

    let current = app
        .request(
            Method::DELETE,
            &path,
            Some(&app.token),
            None,
            &[("If-Match", "\"2\"")],
        )
        .await;
    assert_eq!(current.status, StatusCode::NO_CONTENT, "{}", current.body);
    app.get(&path).await.assert_problem(404, "not_found");
}

#[tokio::test]
async fn another_accounts_contact_is_not_found() {
    let app = spawn_app().await;
    let other = app.other_account("Initech");
    let id = contact(&app, json!({ "first_name": "Ana" })).await;
    let path = format!("/v1/contacts/{id}");

    app.get_as(&other, &path)
        .await
        .assert_problem(404, "not_found");
    app.patch_as(&other, &path, json!({ "first_name": "Mallory" }))
        .await
        .assert_problem(404, "not_found");
    app.delete_as(&other, &path)
        .await
        .assert_problem(404, "not_found");

    let ours = app.get(&path).await;
    assert_eq!(ours.status, StatusCode::OK, "{}", ours.body);
    assert_eq!(ours.body["first_name"], "Ana");
    assert_eq!(ours.body["version"], 1);
}

#[tokio::test]
async fn another_accounts_list_never_shows_our_contacts() {
    let app = spawn_app().await;
    let other = app.other_account("Initech");
    let _ours = contact(
        &app,
        json!({ "first_name": "Ana", "email": "ana@globex.test", "tags": ["vip"] }),
    )
    .await;
    let theirs = app
        .post_as(&other, "/v1/contacts", json!({ "first_name": "Peter" }))
        .await;
    assert_eq!(theirs.status, StatusCode::CREATED, "{}", theirs.body);

    assert_eq!(
        ids(&app.get_as(&other, "/v1/contacts").await),
        vec![theirs.id()]
    );
    assert!(ids(&app.get_as(&other, "/v1/contacts?q=ana").await).is_empty());
    assert!(
        ids(&app
            .get_as(&other, "/v1/contacts?email=ana@globex.test")
            .await)
        .is_empty()
    );
    assert!(ids(&app.get_as(&other, "/v1/contacts?tag=vip").await).is_empty());
}

#[tokio::test]
async fn a_viewer_cannot_create_contacts() {
    let app = spawn_app().await;
    let (_, viewer) = app.member("vic@acme.test", "viewer", &["admin"]).await;
    let answer = app
        .post_as(&viewer, "/v1/contacts", json!({ "first_name": "Ana" }))
        .await;
    answer.assert_problem(403, "forbidden");
    assert!(ids(&app.get("/v1/contacts").await).is_empty());

    let read = app.get_as(&viewer, "/v1/contacts").await;
    assert_eq!(
        read.status,
        StatusCode::OK,
        "a viewer still reads; {}",
        read.body
    );
}

#[tokio::test]
async fn a_token_with_only_contacts_read_cannot_create_contacts() {
    let app = spawn_app().await;
    let reader = app.token_for(app.admin_id, &["contacts:read"], None);
    let answer = app
        .post_as(&reader, "/v1/contacts", json!({ "first_name": "Ana" }))
        .await;
    answer.assert_problem(403, "insufficient_scope");
    assert!(ids(&app.get("/v1/contacts").await).is_empty());

    let read = app.get_as(&reader, "/v1/contacts").await;
    assert_eq!(
        read.status,
        StatusCode::OK,
        "the token still reads; {}",
        read.body
    );
}

#[tokio::test]
async fn a_member_can_write_contacts() {
    let app = spawn_app().await;
    let (_, member) = app
        .member(
            "mia@acme.test",
            "member",
            &["contacts:read", "contacts:write"],
        )
        .await;
    let created = app
        .post_as(&member, "/v1/contacts", json!({ "first_name": "Ana" }))
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let path = format!("/v1/contacts/{}", created.id());
    let patched = app
        .patch_as(&member, &path, json!({ "last_name": "Lima" }))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    let deleted = app.delete_as(&member, &path).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
}

#[tokio::test]
async fn the_list_filters_by_the_industry_of_the_contacts_company() {
    let app = spawn_app().await;
    let tools = app
        .post(
            "/v1/companies",
            json!({"name": "Anvils", "industry": "Tools"}),
        )
        .await
        .id();
    let energy = app
        .post(
            "/v1/companies",
            json!({"name": "Globex", "industry": "Energy"}),
        )
        .await
        .id();
    app.post(
        "/v1/contacts",
        json!({"first_name": "Ana", "company_id": tools}),
    )
    .await;
    app.post(
        "/v1/contacts",
        json!({"first_name": "Ben", "company_id": energy}),
    )
    .await;
    app.post("/v1/contacts", json!({"first_name": "Cy"})).await;
    let listed = app.get("/v1/contacts?industry=Tools").await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let names: Vec<&str> = listed.body["data"]
        .as_array()
        .map(|l| l.iter().filter_map(|c| c["first_name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, vec!["Ana"]);
}
