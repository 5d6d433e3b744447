//! End-to-end tests of `/v1/enquiries`: the enquiry as written, its matches, closing and
//! reopening, the conversion into a company, contact and project in one transaction (rolled
//! back whole when any part fails), and intake from a public web form's token.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

const FORM: &str = "https://www.acme-consulting.test";

async fn enquiry(app: &TestApp, body: Value) -> Value {
    let answer = app.post("/v1/enquiries", body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    answer.body
}

fn count(answer: &Answer) -> usize {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body["data"].as_array().map_or(0, Vec::len)
}

async fn intake_token(app: &TestApp) -> String {
    let created = app
        .post(
            "/v1/tokens",
            json!({"name": "contact form", "kind": "javascript", "allowed_origins": [FORM], "scopes": ["enquiries:create"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created.body["token_secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

async fn from_form(app: &TestApp, token: &str, method: Method, path: &str, body: Value) -> Answer {
    app.request(method, path, Some(token), Some(&body), &[("Origin", FORM)])
        .await
}

#[tokio::test]
async fn an_enquiry_is_kept_as_written_and_must_say_something() {
    let app = spawn_app().await;
    let created = enquiry(
        &app,
        json!({"name": "Ana Lima", "email": "Ana@Acme.test", "company_name": "Acme Ltd",
               "subject": "Office move", "message": "40 people\nin April", "source": "phone",
               "assignee_id": app.admin_id}),
    )
    .await;
    assert_eq!(created["email"], "Ana@Acme.test");
    assert_eq!(created["source"], "phone");
    assert_eq!(created["status"], "open");
    assert_eq!(created["message"], "40 people\nin April");
    assert!(created["received_at"].is_string());
    let empty = app.post("/v1/enquiries", json!({})).await;
    empty.assert_problem(422, "validation_failed");
    let bad = app
        .post(
            "/v1/enquiries",
            json!({"email": "not an email", "source": "pigeon"}),
        )
        .await;
    bad.assert_problem(422, "validation_failed");
    assert_eq!(bad.error_fields(), ["email", "source"]);
    let id = created["id"].as_i64().unwrap_or_default();
    let events = app
        .get(&format!("/v1/events?record_type=enquiry&record_id={id}"))
        .await;
    assert_eq!(events.body["data"][0]["type"], "enquiry.created");
}

#[tokio::test]
async fn matches_find_companies_by_domain_and_name_and_contacts_by_email() {
    let app = spawn_app().await;
    let by_domain = app
        .post(
            "/v1/companies",
            json!({"name": "Acme Group", "domain": "acme.test"}),
        )
        .await
        .id();
    let by_name = app.company("Acme Ltd").await;
    app.company("Other").await;
    let contact = app
        .post(
            "/v1/contacts",
            json!({"first_name": "Ana", "email": "ana@acme.test"}),
        )
        .await
        .id();
    let id = enquiry(
        &app,
        json!({"email": "ANA@acme.test", "company_name": "Acme Ltd"}),
    )
    .await["id"]
        .as_i64()
        .unwrap_or_default();
    let found = app.get(&format!("/v1/enquiries/{id}/matches")).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(
        found.body["companies"],
        json!([{"id": by_domain, "name": "Acme Group", "matched_on": "domain"},
               {"id": by_name, "name": "Acme Ltd", "matched_on": "name"}])
    );
    assert_eq!(
        found.body["contacts"],
        json!([{"id": contact, "name": "Ana", "matched_on": "email"}])
    );
    let free_mail = enquiry(&app, json!({"email": "someone@gmail.com"})).await["id"]
        .as_i64()
        .unwrap_or_default();
    let none = app.get(&format!("/v1/enquiries/{free_mail}/matches")).await;
    assert_eq!(none.body, json!({"companies": [], "contacts": []}));
}

#[tokio::test]
async fn converting_creates_the_company_contact_and_project_and_links_the_conversation() {
    let app = spawn_app().await;
    let id = enquiry(
        &app,
        json!({"name": "Ana Lima", "email": "ana@acme.test", "phone": "+44 20 7946 0000",
               "company_name": "Acme Ltd", "subject": "Office move"}),
    )
    .await["id"]
        .as_i64()
        .unwrap_or_default();
    let call = app
        .post(
            "/v1/tasks",
            json!({"title": "Call back", "links": [{"type": "enquiry", "id": id}]}),
        )
        .await
        .id();
    let converted = app
        .post(
            &format!("/v1/enquiries/{id}/convert"),
            json!({"project": {"name": "Acme office move"}}),
        )
        .await;
    assert_eq!(converted.status, StatusCode::OK, "{}", converted.body);
    let e = &converted.body;
    assert_eq!(e["status"], "converted");
    let company = e["company_id"].as_i64().unwrap_or_default();
    let contact = e["contact_id"].as_i64().unwrap_or_default();
    let project = e["project_id"].as_i64().unwrap_or_default();
    let company_body = app.get(&format!("/v1/companies/{company}")).await.body;
    assert_eq!(company_body["name"], "Acme Ltd");
    assert_eq!(company_body["domain"], "acme.test");
    let contact_body = app.get(&format!("/v1/contacts/{contact}")).await.body;
    assert_eq!(contact_body["first_name"], "Ana");
    assert_eq!(contact_body["last_name"], "Lima");
    assert_eq!(contact_body["company_id"], company);
    let project_body = app.get(&format!("/v1/projects/{project}")).await.body;
    assert_eq!(project_body["company_id"], company);
    let task = app.get(&format!("/v1/tasks/{call}")).await.body;
    assert_eq!(
        task["links"],
        json!([{"type": "company", "id": company}, {"type": "contact", "id": contact},
               {"type": "project", "id": project}, {"type": "enquiry", "id": id}])
    );
    let again = app
        .post(&format!("/v1/enquiries/{id}/convert"), json!({}))
        .await;
    again.assert_problem(409, "conflict");
    let close = app
        .post(&format!("/v1/enquiries/{id}/close"), json!({}))
        .await;
    close.assert_problem(409, "conflict");
}

#[tokio::test]
async fn a_conversion_that_fails_in_any_part_writes_nothing() {
    let app = spawn_app().await;
    let id = enquiry(
        &app,
        json!({"name": "Bo", "email": "bo@beta.test", "company_name": "Beta"}),
    )
    .await["id"]
        .as_i64()
        .unwrap_or_default();
    // The project's phase does not exist: the company and contact made before it go too.
    let failed = app
        .post(
            &format!("/v1/enquiries/{id}/convert"),
            json!({"project": {"name": "Beta rollout", "phase_id": 999999}}),
        )
        .await;
    failed.assert_problem(422, "validation_failed");
    assert_eq!(count(&app.get("/v1/companies").await), 0);
    assert_eq!(count(&app.get("/v1/contacts").await), 0);
    assert_eq!(count(&app.get("/v1/projects").await), 0);
    let read = app.get(&format!("/v1/enquiries/{id}")).await.body;
    assert_eq!(read["status"], "open");
    assert_eq!(read["version"], 1);
    let named = app
        .post(
            &format!("/v1/enquiries/{id}/convert"),
            json!({"company": {"name": ""}, "contact_id": 999999}),
        )
        .await;
    named.assert_problem(422, "validation_failed");
    assert_eq!(named.error_fields(), ["company.name"]);
    let unknown = app
        .post(
            &format!("/v1/enquiries/{id}/convert"),
            json!({"contact_id": 999999}),
        )
        .await;
    unknown.assert_problem(422, "validation_failed");
    assert_eq!(count(&app.get("/v1/companies").await), 0);
}

#[tokio::test]
async fn a_conversion_attaches_to_existing_records_and_honours_idempotency_keys() {
    let app = spawn_app().await;
    let company = app.company("Acme").await;
    let contact = app
        .post(
            "/v1/contacts",
            json!({"first_name": "Ana", "company_id": company}),
        )
        .await
        .id();
    let id = enquiry(&app, json!({"name": "Ana", "company_name": "Acme"})).await["id"]
        .as_i64()
        .unwrap_or_default();
    let path = format!("/v1/enquiries/{id}/convert");
    let body = json!({"company_id": company, "contact_id": contact});
    let first = app
        .request(
            Method::POST,
            &path,
            Some(&app.token),
            Some(&body),
            &[("Idempotency-Key", "convert-14")],
        )
        .await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["company_id"], company);
    assert_eq!(first.body["contact_id"], contact);
    assert_eq!(first.body["project_id"], Value::Null);
    let retried = app
        .request(
            Method::POST,
            &path,
            Some(&app.token),
            Some(&body),
            &[("Idempotency-Key", "convert-14")],
        )
        .await;
    assert_eq!(retried.status, StatusCode::OK, "the first answer, again");
    assert_eq!(retried.body, first.body);
    assert_eq!(count(&app.get("/v1/companies").await), 1);
}

#[tokio::test]
async fn closing_and_reopening_an_enquiry_are_recorded() {
    let app = spawn_app().await;
    let id = enquiry(&app, json!({"subject": "Spam?"})).await["id"]
        .as_i64()
        .unwrap_or_default();
    let closed = app
        .post(
            &format!("/v1/enquiries/{id}/close"),
            json!({"reason": "Not a fit"}),
        )
        .await;
    assert_eq!(closed.body["status"], "closed");
    assert_eq!(closed.body["close_reason"], "Not a fit");
    app.post(&format!("/v1/enquiries/{id}/close"), json!({}))
        .await
        .assert_problem(409, "conflict");
    let reopened = app
        .post(&format!("/v1/enquiries/{id}/reopen"), json!({}))
        .await;
    assert_eq!(reopened.body["status"], "open");
    assert_eq!(count(&app.get("/v1/enquiries?status=open").await), 1);
    assert_eq!(count(&app.get("/v1/enquiries?status=closed").await), 0);
}

#[tokio::test]
async fn an_intake_token_creates_enquiries_from_its_origin_and_nothing_else() {
    let app = spawn_app().await;
    let token = intake_token(&app).await;
    let sent = from_form(
        &app,
        &token,
        Method::POST,
        "/v1/enquiries",
        json!({"name": "Ana", "email": "ana@acme.test", "message": "Call me"}),
    )
    .await;
    assert_eq!(sent.status, StatusCode::CREATED, "{}", sent.body);
    assert_eq!(sent.body["source"], "web_form");
    let assigning = from_form(
        &app,
        &token,
        Method::POST,
        "/v1/enquiries",
        json!({"name": "Ana", "assignee_id": app.admin_id}),
    )
    .await;
    assigning.assert_problem(422, "validation_failed");
    assert_eq!(assigning.error_fields(), ["assignee_id"]);
    for (method, path, body) in [
        (Method::GET, "/v1/enquiries", Value::Null),
        (Method::GET, "/v1/companies", Value::Null),
        (Method::POST, "/v1/companies", json!({"name": "x"})),
        (Method::POST, "/v1/tasks", json!({"title": "x"})),
    ] {
        let answer = from_form(&app, &token, method, path, body).await;
        answer.assert_problem(403, "insufficient_scope");
    }
    let elsewhere = app
        .request(
            Method::POST,
            "/v1/enquiries",
            Some(&token),
            Some(&json!({"name": "Ana"})),
            &[("Origin", "https://evil.test")],
        )
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::FORBIDDEN,
        "{}",
        elsewhere.body
    );
    let huge = from_form(
        &app,
        &token,
        Method::POST,
        "/v1/enquiries",
        json!({"name": "Ana", "message": "x".repeat(20_000)}),
    )
    .await;
    huge.assert_problem(413, "payload_too_large");
    assert_eq!(count(&app.get("/v1/enquiries").await), 1);
}

#[tokio::test]
async fn an_intake_token_is_rate_limited_per_address() {
    let app = spawn_app().await;
    let token = intake_token(&app).await;
    let mut statuses = Vec::new();
    for i in 0..12 {
        let answer = from_form(
            &app,
            &token,
            Method::POST,
            "/v1/enquiries",
            json!({"name": format!("Sender {i}")}),
        )
        .await;
        statuses.push(answer.status.as_u16());
        if answer.status == StatusCode::TOO_MANY_REQUESTS {
            answer.assert_problem(429, "rate_limited");
            assert!(answer.header("retry-after").is_some());
        }
    }
    assert_eq!(
        statuses.iter().filter(|s| **s == 201).count(),
        10,
        "{statuses:?}"
    );
    assert_eq!(statuses[10..], [429, 429]);
}

#[tokio::test]
async fn an_intake_scope_goes_alone_on_a_javascript_token() {
    let app = spawn_app().await;
    let mixed = app
        .post(
            "/v1/tokens",
            json!({"name": "form", "kind": "javascript", "allowed_origins": [FORM],
                   "scopes": ["enquiries:create", "companies:read"]}),
        )
        .await;
    mixed.assert_problem(422, "validation_failed");
    let (_, viewer) = app.member("v@example.test", "viewer", &["admin"]).await;
    let by_viewer = app
        .post_as(
            &viewer,
            "/v1/tokens",
            json!({"name": "form", "kind": "javascript", "allowed_origins": [FORM],
                   "scopes": ["enquiries:create"]}),
        )
        .await;
    by_viewer.assert_problem(422, "validation_failed");
    let (_, reader) = app
        .member("r@example.test", "member", &["enquiries:read"])
        .await;
    app.post_as(&reader, "/v1/enquiries", json!({"name": "x"}))
        .await
        .assert_problem(403, "insufficient_scope");
}
