//! The contract every route keeps, by the shared machinery rather than per route: problems
//! with their instance and request id, stable titles, `WWW-Authenticate` as RFC 6750 says,
//! conditional reads, one strictness rule for query strings, headers, path ids and bodies,
//! no-op patches, CORS refusals that say what was refused, and the events every visible
//! change writes.

use crate::common::pipelines::*;
use crate::common::*;
use reqwest::Method;
use serde_json::{Value, json};

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

fn of_type<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["type"] == kind).collect()
}

// ---------------------------------------------------------------------------------------------
// Problems

#[tokio::test]
async fn every_problem_names_its_instance_and_request_id() {
    let app = spawn_app().await;
    for (answer, path) in [
        (app.get("/v1/companies/999").await, "/v1/companies/999"),
        (
            app.post("/v1/companies", json!({"name": " "})).await,
            "/v1/companies",
        ),
        (app.get("/v1/no-such-thing").await, "/v1/no-such-thing"),
        (
            app.request(Method::GET, "/v1/me", None, None, &[]).await,
            "/v1/me",
        ),
    ] {
        assert_eq!(answer.body["instance"], path, "{}", answer.body);
        let id = answer.body["request_id"].as_str().unwrap_or_default();
        assert!(!id.is_empty(), "{}", answer.body);
        assert_eq!(Some(id), answer.header("x-request-id"));
    }
}

#[tokio::test]
async fn a_problem_title_is_the_same_for_every_problem_of_its_type() {
    let app = spawn_app().await;
    let blank = app.post("/v1/companies", json!({"name": " "})).await;
    assert_eq!(blank.body["title"], "Validation failed");
    let missing = app.get("/v1/companies/999").await;
    assert_eq!(missing.body["title"], "Not found");
    let stale = {
        let id = app.company("Acme").await;
        app.request(
            Method::PATCH,
            &format!("/v1/companies/{id}"),
            Some(&app.token),
            Some(&json!({"industry": "Law"})),
            &[("If-Match", "\"7\"")],
        )
        .await
    };
    assert_eq!(stale.body["title"], "Precondition failed");
}

#[tokio::test]
async fn a_request_without_credentials_gets_a_bearer_challenge_without_an_error_code() {
    let app = spawn_app().await;
    let none = app.request(Method::GET, "/v1/me", None, None, &[]).await;
    none.assert_problem(401, "unauthorized");
    assert_eq!(
        none.header("www-authenticate"),
        Some("Bearer realm=\"clientline\"")
    );
    let bad = app.get_as("clt_pat_nonsense", "/v1/me").await;
    bad.assert_problem(401, "unauthorized");
    assert!(
        bad.header("www-authenticate")
            .is_some_and(|v| v.contains("error=\"invalid_token\"")),
        "{:?}",
        bad.header("www-authenticate")
    );
}

// ---------------------------------------------------------------------------------------------
// Conditional requests

#[tokio::test]
async fn if_none_match_with_the_current_etag_answers_304_without_a_body() {
    let app = spawn_app().await;
    let id = app.company("Acme").await;
    let path = format!("/v1/companies/{id}");
    let fresh = app
        .request(
            Method::GET,
            &path,
            Some(&app.token),
            None,
            &[("If-None-Match", "\"1\"")],
        )
        .await;
    assert_eq!(fresh.status, 304);
    assert_eq!(fresh.header("etag"), Some("\"1\""));
    assert_eq!(fresh.body, Value::Null);
    let patched = app.patch(&path, json!({"industry": "Law"})).await;
    assert_eq!(patched.status, 200);
    let stale = app
        .request(
            Method::GET,
            &path,
            Some(&app.token),
            None,
            &[("If-None-Match", "\"1\"")],
        )
        .await;
    assert_eq!(stale.status, 200);
    assert_eq!(stale.body["industry"], "Law");
}

// ---------------------------------------------------------------------------------------------
// Strictness

#[tokio::test]
async fn an_unknown_query_parameter_is_refused_on_every_kind_of_operation() {
    let app = spawn_app().await;
    let id = app.company("Acme").await;
    let cases = [
        (Method::GET, format!("/v1/companies/{id}?expand=all"), None),
        (Method::GET, "/v1/me?verbose=1".to_owned(), None),
        (
            Method::PATCH,
            format!("/v1/companies/{id}?dry_run=true"),
            Some(json!({"industry": "Law"})),
        ),
        (
            Method::POST,
            format!("/v1/companies/{id}/transitions?force=1"),
            Some(json!({"outcome": "won"})),
        ),
        (
            Method::POST,
            "/v1/companies?notify=1".to_owned(),
            Some(json!({"name": "Globex"})),
        ),
        (Method::DELETE, format!("/v1/companies/{id}?hard=1"), None),
    ];
    for (method, path, body) in cases {
        let answer = app
            .request(method.clone(), &path, Some(&app.token), body.as_ref(), &[])
            .await;
        answer.assert_problem(400, "bad_request");
        assert_eq!(
            answer.body["errors"][0]["code"], "unknown_parameter",
            "{method} {path}: {}",
            answer.body
        );
    }
    // Nothing was written by the refused requests.
    let company = read_company(&app, id).await;
    assert_eq!(company["version"], 1);
    assert_eq!(company["industry"], Value::Null);
    let list = app.get("/v1/companies").await;
    assert_eq!(list.body["data"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn an_unknown_query_parameter_is_named_with_the_ones_the_operation_takes() {
    let app = spawn_app().await;
    let answer = app.get("/v1/companies?colour=red").await;
    answer.assert_problem(400, "bad_request");
    let detail = answer.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("`colour`"), "{detail}");
    assert!(
        detail.contains("limit") && detail.contains("cursor"),
        "{detail}"
    );
    let by_id = app.get("/v1/me?x=1").await;
    assert!(
        by_id.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("takes no query parameters")),
        "{}",
        by_id.body
    );
}

#[tokio::test]
async fn a_query_value_that_is_not_utf8_is_refused() {
    let app = spawn_app().await;
    let answer = app.get("/v1/companies?q=%FF%FE").await;
    answer.assert_problem(400, "bad_request");
    assert_eq!(answer.error_fields(), vec!["q".to_owned()]);
}

#[tokio::test]
async fn path_ids_are_plain_decimal() {
    let app = spawn_app().await;
    let id = app.company("Acme").await;
    assert_eq!(app.get(&format!("/v1/companies/{id}")).await.status, 200);
    for path in [
        format!("/v1/companies/+{id}"),
        format!("/v1/companies/0{id}"),
        format!("/v1/companies/{id}.0"),
    ] {
        app.get(&path).await.assert_problem(404, "not_found");
    }
}

#[tokio::test]
async fn a_malformed_if_match_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let id = app.company("Acme").await;
    let path = format!("/v1/companies/{id}");
    for value in ["", "1", "\"1", "W/1", "\"1\",,x"] {
        let answer = app
            .request(
                Method::PATCH,
                &path,
                Some(&app.token),
                Some(&json!({"industry": "Law"})),
                &[("If-Match", value)],
            )
            .await;
        answer.assert_problem(400, "bad_request");
        assert_eq!(
            answer.error_fields(),
            vec!["If-Match".to_owned()],
            "{value:?}"
        );
    }
    assert_eq!(read_company(&app, id).await["version"], 1);
}

#[tokio::test]
async fn an_invalid_body_gets_its_422_even_when_if_match_is_stale() {
    let app = spawn_app().await;
    let id = app.company("Acme").await;
    let answer = app
        .request(
            Method::PATCH,
            &format!("/v1/companies/{id}"),
            Some(&app.token),
            Some(&json!({"size_band": "huge"})),
            &[("If-Match", "\"9\"")],
        )
        .await;
    answer.assert_problem(422, "validation_failed");
}

#[tokio::test]
async fn a_patch_that_changes_nothing_keeps_the_version_and_writes_no_event() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/v1/companies",
            json!({"name": "Acme", "industry": "Law", "tags": ["vip"], "custom_fields": {"tier": 1}}),
        )
        .await;
    let id = created.id();
    let contact = app
        .post(
            "/v1/contacts",
            json!({"first_name": "Ana", "company_id": id}),
        )
        .await
        .id();
    let before = last_event_id(&app).await;
    let same = app
        .patch(
            &format!("/v1/companies/{id}"),
            json!({"name": "Acme", "industry": "Law", "tags": ["vip"], "custom_fields": {"tier": 1}}),
        )
        .await;
    assert_eq!(same.status, 200, "{}", same.body);
    assert_eq!(same.body["version"], 1);
    assert_eq!(same.header("etag"), Some("\"1\""));
    assert_eq!(same.body["updated_at"], created.body["updated_at"]);
    let empty = app.patch(&format!("/v1/companies/{id}"), json!({})).await;
    assert_eq!(empty.body["version"], 1);
    let contact_same = app
        .patch(
            &format!("/v1/contacts/{contact}"),
            json!({"first_name": "Ana"}),
        )
        .await;
    assert_eq!(contact_same.status, 200, "{}", contact_same.body);
    assert_eq!(contact_same.body["version"], 1);
    assert!(events_after(&app, before).await.is_empty());
    // A real change still writes.
    let changed = app
        .patch(&format!("/v1/companies/{id}"), json!({"industry": "Tax"}))
        .await;
    assert_eq!(changed.body["version"], 2);
    assert_eq!(events_after(&app, before).await.len(), 1);
}

/// A PATCH that sends a resource's own values back: 200 with the resource as it is, at the
/// same version, with no event.
async fn assert_no_op_patch(app: &TestApp, path: &str, same: Value) {
    let before = app.get(path).await;
    assert_eq!(before.status, 200, "{path}: {}", before.body);
    let since = last_event_id(app).await;
    let answer = app.patch(path, same).await;
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    assert_eq!(answer.body["version"], before.body["version"], "{path}");
    assert_eq!(
        answer.body["updated_at"], before.body["updated_at"],
        "{path}"
    );
    assert_eq!(answer.header("etag"), before.header("etag"), "{path}");
    let empty = app.patch(path, json!({})).await;
    assert_eq!(empty.body["version"], before.body["version"], "{path}");
    assert!(events_after(app, since).await.is_empty(), "{path}");
}

#[tokio::test]
async fn a_patch_that_changes_nothing_is_a_no_op_on_every_kind_of_resource() {
    let app = spawn_app().await;
    let pipeline = app.post("/v1/pipelines", json!({"name": "Sales"})).await;
    let pipeline_id = pipeline.id();
    assert_no_op_patch(
        &app,
        &format!("/v1/pipelines/{pipeline_id}"),
        json!({"name": "Sales", "is_default": false}),
    )
    .await;
    let with_phase = app
        .post(
            &format!("/v1/pipelines/{pipeline_id}/phases"),
            json!({"name": "Lead", "status": "prospect", "follow_up_after_days": 3}),
        )
        .await;
    assert_eq!(with_phase.status, 201, "{}", with_phase.body);
    let phase_id = with_phase.body["phases"][0]["id"]
        .as_i64()
        .unwrap_or_default();
    let since = last_event_id(&app).await;
    let version = with_phase.body["version"].clone();
    let phase = app
        .patch(
            &format!("/v1/pipelines/{pipeline_id}/phases/{phase_id}"),
            json!({"name": "Lead", "status": "prospect", "follow_up_after_days": 3}),
        )
        .await;
    assert_eq!(phase.status, 200, "{}", phase.body);
    assert_eq!(phase.body["version"], version);
    assert!(events_after(&app, since).await.is_empty());

    let user = app
        .post(
            "/v1/users",
            json!({"email": "ana@acme.test", "name": "Ana", "role": "member"}),
        )
        .await;
    assert_eq!(user.status, 201, "{}", user.body);
    assert_no_op_patch(
        &app,
        &format!("/v1/users/{}", user.id()),
        json!({"name": "Ana", "role": "member", "active": true}),
    )
    .await;

    let webhook = app
        .post(
            "/v1/webhooks",
            json!({"target_url": "https://hooks.example.com/in", "events": ["company.created"]}),
        )
        .await;
    assert_no_op_patch(
        &app,
        &format!("/v1/webhooks/{}", webhook.id()),
        json!({"target_url": "https://hooks.example.com/in", "events": ["company.created"], "active": true}),
    )
    .await;

    let client = app
        .post(
            "/v1/oauth-clients",
            json!({
                "name": "Reports",
                "redirect_uris": ["https://reports.acme.test/oauth/callback"],
                "scopes": ["companies:read"]
            }),
        )
        .await;
    assert_no_op_patch(
        &app,
        &format!("/v1/oauth-clients/{}", client.id()),
        json!({"name": "Reports", "redirect_uris": ["https://reports.acme.test/oauth/callback"], "scopes": ["companies:read"]}),
    )
    .await;
}

#[tokio::test]
async fn null_for_a_field_a_record_always_has_is_refused() {
    let app = spawn_app().await;
    let id = app.company("Acme").await;
    let answer = app
        .patch(&format!("/v1/companies/{id}"), json!({"name": null}))
        .await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), vec!["name".to_owned()]);
    assert_eq!(answer.body["errors"][0]["code"], "null_not_allowed");
    let contact = app
        .post("/v1/contacts", json!({"first_name": "Ana"}))
        .await
        .id();
    app.patch(
        &format!("/v1/contacts/{contact}"),
        json!({"first_name": null}),
    )
    .await
    .assert_problem(422, "validation_failed");
    assert_eq!(read_company(&app, id).await["name"], "Acme");
}

#[tokio::test]
async fn custom_fields_refuse_repeated_keys_and_nul_at_any_depth() {
    let app = spawn_app().await;
    let id = app.company("Acme").await;
    let bodies = [
        r#"{"name": "Globex", "custom_fields": {"a": 1, "a": 2}}"#,
        r#"{"name": "Globex", "custom_fields": {"a": {"b": [{"c": 1, "c": 1}]}}}"#,
        r#"{"name": "Globex", "custom_fields": {"a\u0000": 1}}"#,
        r#"{"name": "Globex", "custom_fields": {"a": ["x\u0000y"]}}"#,
    ];
    for body in bodies {
        for (method, path) in [
            (Method::POST, "/v1/companies".to_owned()),
            (Method::PATCH, format!("/v1/companies/{id}")),
            (Method::POST, "/v1/contacts".to_owned()),
        ] {
            let body = body.replace("\"name\"", "\"first_name\"");
            let body = if path.starts_with("/v1/companies") {
                body.replace("\"first_name\"", "\"name\"")
            } else {
                body
            };
            let answer = app
                .client
                .request(method.clone(), format!("{}{path}", app.base))
                .bearer_auth(&app.token)
                .header("content-type", "application/json")
                .body(body.clone())
                .send()
                .await
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(answer.status(), 422, "{method} {path} {body}");
            let problem: Value = answer.json().await.unwrap_or_default();
            assert!(
                problem["errors"][0]["field"]
                    .as_str()
                    .is_some_and(|f| f.starts_with("custom_fields")),
                "{problem}"
            );
        }
    }
    assert_eq!(read_company(&app, id).await["version"], 1);
    let companies = app.get("/v1/companies").await;
    assert_eq!(companies.body["data"].as_array().map(Vec::len), Some(1));
}

// ---------------------------------------------------------------------------------------------
// CORS

#[tokio::test]
async fn a_refused_preflight_says_what_was_refused() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/v1/tokens",
            json!({"name": "widget", "kind": "javascript", "allowed_origins": ["https://intranet.acme.test"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let preflight = |origin: &'static str, method: &'static str, headers: &'static str| {
        let app = &app;
        async move {
            app.request(
                Method::OPTIONS,
                "/v1/companies",
                None,
                None,
                &[
                    ("Origin", origin),
                    ("Access-Control-Request-Method", method),
                    ("Access-Control-Request-Headers", headers),
                ],
            )
            .await
        }
    };
    let ok = preflight("https://intranet.acme.test", "GET", "authorization").await;
    assert_eq!(ok.status, 204);
    let stranger = preflight("https://evil.test", "GET", "authorization").await;
    stranger.assert_problem(403, "origin_not_allowed");
    assert!(
        stranger.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("https://evil.test")),
        "{}",
        stranger.body
    );
    let write = preflight("https://intranet.acme.test", "POST", "authorization").await;
    write.assert_problem(403, "preflight_refused");
    assert!(
        write.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("`POST`")),
        "{}",
        write.body
    );
    let header = preflight("https://intranet.acme.test", "GET", "x-secret").await;
    header.assert_problem(403, "preflight_refused");
    assert!(
        header.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("`x-secret`")),
        "{}",
        header.body
    );
}

// ---------------------------------------------------------------------------------------------
// JavaScript tokens

#[tokio::test]
async fn a_javascript_token_asked_for_without_scopes_reads_crm_data_only() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/v1/tokens",
            json!({"name": "widget", "kind": "javascript", "allowed_origins": ["https://intranet.acme.test"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let mut scopes: Vec<String> =
        serde_json::from_value(created.body["scopes"].clone()).unwrap_or_default();
    scopes.sort();
    assert_eq!(
        scopes,
        [
            "companies:read",
            "contacts:read",
            "enquiries:read",
            "fields:read",
            "meetings:read",
            "pipelines:read",
            "posts:read",
            "projects:read",
            "tasks:read",
            "views:read"
        ]
    );
    let named = app
        .post(
            "/v1/tokens",
            json!({"name": "team widget", "kind": "javascript", "allowed_origins": ["https://intranet.acme.test"], "scopes": ["users:read"]}),
        )
        .await;
    assert_eq!(named.status, 201, "{}", named.body);
    assert_eq!(named.body["scopes"], json!(["users:read"]));
}

// ---------------------------------------------------------------------------------------------
// Events for every visible change

#[tokio::test]
async fn a_phase_status_change_writes_company_updated_for_each_company_in_it() {
    let app = spawn_app().await;
    let pipeline = default_pipeline(&app).await;
    let pipeline_id = pipeline["id"].as_i64().unwrap_or_default();
    let contacted = phase(&pipeline, "Contacted");
    let a = company_in(&app, "A", contacted).await;
    let b = company_in(&app, "B", contacted).await;
    let elsewhere = company_in(&app, "C", phase(&pipeline, "Uncontacted")).await;
    let before = last_event_id(&app).await;
    let patched = app
        .patch(
            &format!("/v1/pipelines/{pipeline_id}/phases/{contacted}"),
            json!({"status": "latent"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let events = events_after(&app, before).await;
    let updated = of_type(&events, "company.updated");
    let mut ids: Vec<i64> = updated
        .iter()
        .filter_map(|e| e["record"]["id"].as_i64())
        .collect();
    ids.sort();
    assert_eq!(ids, vec![a, b], "{events:?}");
    assert!(!ids.contains(&elsewhere));
    for event in updated {
        assert_eq!(event["data"]["object"]["relationship_status"], "latent");
        assert_eq!(event["data"]["previous"]["relationship_status"], "prospect");
    }
    assert_eq!(of_type(&events, "phase.updated").len(), 1);
    // A follow-up change does it too.
    let before = last_event_id(&app).await;
    app.patch(
        &format!("/v1/pipelines/{pipeline_id}/phases/{contacted}"),
        json!({"follow_up_after_days": 3}),
    )
    .await;
    let events = events_after(&app, before).await;
    assert_eq!(of_type(&events, "company.updated").len(), 2, "{events:?}");
}

#[tokio::test]
async fn deleting_a_company_writes_contact_updated_for_each_contact_it_unlinks() {
    let app = spawn_app().await;
    let id = app.company("Acme").await;
    let ana = app
        .post(
            "/v1/contacts",
            json!({"first_name": "Ana", "company_id": id}),
        )
        .await
        .id();
    let before = last_event_id(&app).await;
    assert_eq!(app.delete(&format!("/v1/companies/{id}")).await.status, 204);
    let events = events_after(&app, before).await;
    let types: Vec<&str> = events.iter().filter_map(|e| e["type"].as_str()).collect();
    assert_eq!(types, vec!["company.deleted", "contact.updated"]);
    assert_eq!(events[1]["record"]["id"], ana);
    assert_eq!(events[1]["data"]["object"]["company_id"], Value::Null);
    assert_eq!(events[1]["data"]["previous"]["company_id"], id);
}

#[tokio::test]
async fn a_move_onto_the_won_or_lost_phase_records_that_outcome() {
    let app = spawn_app().await;
    let pipeline = default_pipeline(&app).await;
    let won_phase = phase(&pipeline, "Active client");
    let lost_phase = phase(&pipeline, "Lost");
    let a = company_in(&app, "A", phase(&pipeline, "Contacted")).await;
    let won = moved(&app, a, json!({"to_phase_id": won_phase})).await;
    assert_eq!(won["transition"]["outcome"], "won");
    assert_eq!(won["company"]["outcome"], "won");
    let b = company_in(&app, "B", phase(&pipeline, "Contacted")).await;
    let lost = moved(&app, b, json!({"to_phase_id": lost_phase})).await;
    assert_eq!(lost["company"]["outcome"], "lost");
    let before = last_event_id(&app).await;
    let c = company_in(&app, "C", phase(&pipeline, "Contacted")).await;
    moved(&app, c, json!({"to_phase_id": won_phase})).await;
    let events = events_after(&app, before).await;
    assert_eq!(of_type(&events, "company.won").len(), 1, "{events:?}");
    // Moving there again changes nothing.
    let again = move_company(&app, c, json!({"to_phase_id": won_phase})).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["changed"], false);
}

// ---------------------------------------------------------------------------------------------
// Lock conflicts

/// Two writers that lock the same two rows in opposite orders deadlock on PostgreSQL; the
/// one PostgreSQL aborts is run again and both changes land. SQLite has one writer at a time
/// and cannot deadlock, so there is nothing to provoke there.
#[tokio::test]
async fn a_deadlocked_write_is_run_again_and_both_writers_succeed() {
    use diesel::connection::SimpleConnection;
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::{Arc, Barrier};

    let app = spawn_app().await;
    if app.db.backend() != persistence::Backend::Postgres {
        return;
    }
    let (a, b) = (app.company("A").await, app.company("B").await);
    let barrier = Arc::new(Barrier::new(2));
    let attempts = Arc::new(AtomicU32::new(0));
    let writer = |first: i64, second: i64| {
        let (db, barrier, attempts) = (app.db.clone(), barrier.clone(), attempts.clone());
        std::thread::spawn(move || {
            let mut conn = db.conn().unwrap_or_else(|e| panic!("{e:?}"));
            let mut tries = 0;
            persistence::write_transaction(&mut conn, |conn| {
                tries += 1;
                attempts.fetch_add(1, Ordering::SeqCst);
                let lock = |id: i64| format!("SELECT id FROM companies WHERE id = {id} FOR UPDATE");
                conn.batch_execute(&lock(first))?;
                if tries == 1 {
                    barrier.wait();
                }
                conn.batch_execute(&lock(second))?;
                conn.batch_execute(&format!(
                    "UPDATE companies SET industry = 'locked by {first}' WHERE id = {second}"
                ))?;
                Ok::<_, persistence::StoreError>(())
            })
        })
    };
    let one = writer(a, b);
    let two = writer(b, a);
    let results = [one.join(), two.join()];
    for result in &results {
        assert!(
            matches!(result, Ok(Ok(()))),
            "both writers succeed: {results:?}"
        );
    }
    assert!(
        attempts.load(Ordering::SeqCst) >= 3,
        "one writer was run again"
    );
}

// ---------------------------------------------------------------------------------------------
// Request heads

#[tokio::test]
async fn a_request_target_over_the_limit_is_414_problem_json() {
    let app = spawn_app().await;
    let long = format!("/v1/companies?q={}", "a".repeat(api::MAX_URI_BYTES));
    let answer = app.get(&long).await;
    assert_eq!(answer.status, 414, "{:?}", answer.body);
    assert_eq!(
        answer.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(answer.body["code"], "uri_too_long");
    assert!(
        answer.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("8192"))
    );
}

#[tokio::test]
async fn too_many_header_fields_are_431_problem_json() {
    let app = spawn_app().await;
    let names: Vec<String> = (0..=api::MAX_HEADER_FIELDS)
        .map(|i| format!("x-extra-{i}"))
        .collect();
    let headers: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
    let answer = app
        .request(Method::GET, "/v1/me", Some(&app.token), None, &headers)
        .await;
    assert_eq!(answer.status, 431, "{:?}", answer.body);
    assert_eq!(answer.body["code"], "header_fields_too_large");
    assert!(
        answer.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("header fields"))
    );
}

#[tokio::test]
async fn header_fields_over_the_size_limit_are_431_problem_json() {
    let app = spawn_app().await;
    let big = "a".repeat(api::MAX_HEADER_BYTES);
    let answer = app
        .request(
            Method::GET,
            "/v1/me",
            Some(&app.token),
            None,
            &[("x-big", &big)],
        )
        .await;
    assert_eq!(answer.status, 431, "{:?}", answer.body);
    assert_eq!(
        answer.header("content-type"),
        Some("application/problem+json")
    );
    assert_eq!(answer.body["code"], "header_fields_too_large");
}

#[tokio::test]
async fn a_long_unknown_query_parameter_is_not_echoed_whole() {
    let app = spawn_app().await;
    let answer = app
        .get(&format!("/v1/companies?{}=1", "z".repeat(2000)))
        .await;
    assert_eq!(answer.status, 400);
    let detail = answer.body["detail"].as_str().unwrap_or_default();
    assert!(detail.len() < 1000, "{detail}");
    assert!(detail.contains('…'), "{detail}");
}

// ---------------------------------------------------------------------------------------------
// Links between operations

#[tokio::test]
async fn the_served_spec_links_each_create_to_the_operations_on_what_it_made() {
    let app = spawn_app().await;
    let spec = app.get("/openapi.json").await;
    assert_eq!(spec.status, 200);
    let links = &spec.body["paths"]["/v1/companies"]["post"]["responses"]["201"]["links"];
    assert_eq!(links["MoveCompany"]["operationId"], "moveCompany");
    assert_eq!(
        links["MoveCompany"]["parameters"]["id"],
        "$response.body#/id"
    );
    // Followed by hand, as a stateful tester does: the id the create answered works there.
    let created = app.post("/v1/companies", json!({"name": "Linked"})).await;
    let id = created.body["id"].as_i64().unwrap_or_default();
    let history = app.get(&format!("/v1/companies/{id}/transitions")).await;
    assert_eq!(history.status, 200);
}

// ---------------------------------------------------------------------------------------------
// Slow bodies

/// A body that stops arriving is answered 408 once the body timeout passes, and the
/// connection is closed; nothing is written.
#[tokio::test]
async fn a_body_that_does_not_arrive_in_time_is_answered_408_and_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let app = spawn_app_with(api::Settings {
        body_timeout: std::time::Duration::from_secs(1),
        ..api::Settings::default()
    })
    .await;
    let address = app.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let head = format!(
        "POST /v1/companies HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\": \"Sl",
        app.token
    );
    stream
        .write_all(head.as_bytes())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let mut answer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut answer),
    )
    .await;
    assert!(read.is_ok(), "the connection was closed by the server");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("body_timeout"), "{answer}");
    let list = app.get("/v1/companies").await;
    assert_eq!(list.body["data"], json!([]));
}

// ---------------------------------------------------------------------------------------------
// Rate limits

fn quota_of(requests: u32) -> api::Settings {
    api::Settings {
        api_quota: api::Quota {
            requests,
            window: std::time::Duration::from_secs(60),
        },
        ..api::Settings::default()
    }
}

#[tokio::test]
async fn every_v1_answer_says_where_its_caller_stands_and_a_spent_quota_is_429() {
    let app = spawn_app_with(quota_of(3)).await;
    let first = app.get("/v1/me").await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.header("ratelimit-policy"),
        Some("\"default\";q=3;w=60")
    );
    assert!(
        first
            .header("ratelimit")
            .is_some_and(|v| v.starts_with("\"default\";r=2;t=")),
        "{:?}",
        first.header("ratelimit")
    );
    let missing = app.get("/v1/companies/999").await;
    assert_eq!(missing.status, 404);
    assert!(
        missing
            .header("ratelimit")
            .is_some_and(|v| v.contains("r=1;"))
    );
    assert_eq!(app.get("/v1/me").await.status, 200);
    let spent = app.get("/v1/me").await;
    spent.assert_problem(429, "rate_limited");
    let retry: u64 = spent
        .header("retry-after")
        .and_then(|v| v.parse().ok())
        .unwrap_or_default();
    assert!((1..=60).contains(&retry), "{retry}");
    assert!(
        spent
            .header("ratelimit")
            .is_some_and(|v| v.contains("r=0;"))
    );
    // Another token has a quota of its own.
    let other = app.token_for(app.admin_id, &["companies:read"], None);
    assert_eq!(app.get_as(&other, "/v1/me").await.status, 200);
}

#[tokio::test]
async fn made_up_tokens_share_their_address_quota() {
    let app = spawn_app_with(quota_of(2)).await;
    // A token that has worked once keeps its own quota whatever its address does.
    assert_eq!(app.get("/v1/me").await.status, 200);
    for n in 0..2 {
        let answer = app.get_as(&format!("clt_pat_made_up_{n}"), "/v1/me").await;
        answer.assert_problem(401, "unauthorized");
    }
    let third = app.get_as("clt_pat_made_up_3", "/v1/me").await;
    third.assert_problem(429, "rate_limited");
    let anonymous = app.request(Method::GET, "/v1/me", None, None, &[]).await;
    anonymous.assert_problem(429, "rate_limited");
    assert_eq!(app.get("/v1/me").await.status, 200);
}

// ---------------------------------------------------------------------------------------------
// Unicode case

#[tokio::test]
async fn search_and_matching_fold_case_for_all_of_unicode() {
    let app = spawn_app().await;
    let id = app
        .post(
            "/v1/companies",
            json!({"name": "École Polytechnique", "domain": "ÉCOLE.example", "email": "Info@ÉCOLE.example"}),
        )
        .await
        .id();
    for q in ["école", "ÉCOLE", "Polytechnique", "info@école"] {
        let found = app.get(&format!("/v1/companies?q={}", urlencode(q))).await;
        assert_eq!(found.status, 200, "{}", found.body);
        assert_eq!(found.body["data"][0]["id"], id, "q={q}: {}", found.body);
    }
    let ana = app
        .post(
            "/v1/contacts",
            json!({"first_name": "Zoë", "last_name": "Ñúñez", "email": "Zoë@Example.com"}),
        )
        .await
        .id();
    for (filter, value) in [("email", "ZOË@example.com"), ("q", "ñúÑez")] {
        let found = app
            .get(&format!("/v1/contacts?{filter}={}", urlencode(value)))
            .await;
        assert_eq!(
            found.body["data"][0]["id"], ana,
            "{filter}={value}: {}",
            found.body
        );
    }
    // Upserts match the domain whatever its case.
    let upsert = app
        .post(
            "/v1/companies/import?mode=upsert",
            json!([{"name": "École", "domain": "école.EXAMPLE", "industry": "Education"}]),
        )
        .await;
    assert_eq!(
        upsert.body["rows"][0]["status"], "updated",
        "{}",
        upsert.body
    );
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Every operation of the served spec is routed: it never meets the answer of a path no
/// operation has, nor 405; a path no operation has meets exactly that answer, which a missing
/// record's 404 does not.
#[tokio::test]
async fn every_operation_of_the_spec_is_routed() {
    let app = spawn_app().await;
    let spec = app.get("/openapi.json").await;
    assert_eq!(spec.status, 200);
    let paths = spec.body["paths"].as_object().cloned().unwrap_or_default();
    assert!(paths.len() > 40, "the spec has its paths");
    let mut checked = 0;
    for (path, item) in &paths {
        // Ids that name no record: an operation answers for the record, not for the route.
        let concrete: String = path
            .split('/')
            .map(|part| {
                if part.starts_with('{') {
                    "999999999"
                } else {
                    part
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        for (verb, _) in item.as_object().into_iter().flatten() {
            let method = match verb.as_str() {
                "get" => Method::GET,
                "post" => Method::POST,
                "put" => Method::PUT,
                "patch" => Method::PATCH,
                "delete" => Method::DELETE,
                _ => continue,
            };
            let body = (method != Method::GET && method != Method::DELETE).then(|| json!({}));
            let answer = app
                .request(
                    method.clone(),
                    &concrete,
                    Some(&app.token),
                    body.as_ref(),
                    &[],
                )
                .await;
            assert_ne!(answer.status, 405, "{method} {path}: {}", answer.body);
            assert_ne!(
                answer.body["detail"],
                api::NO_SUCH_OPERATION,
                "{method} {path} is in the spec but not routed"
            );
            checked += 1;
        }
    }
    assert!(checked > 60, "{checked} operations checked");
    let unknown = app.get("/v1/companies/1/nothing-here").await;
    unknown.assert_problem(404, "not_found");
    assert_eq!(unknown.body["detail"], api::NO_SUCH_OPERATION);
    let record = app.get("/v1/companies/999999999").await;
    record.assert_problem(404, "not_found");
    assert_ne!(record.body["detail"], api::NO_SUCH_OPERATION);
}
