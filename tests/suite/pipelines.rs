//! Pipelines and phases: the default pipeline, configuration by admins, the board, follow-ups
//! and stats.

use crate::common::pipelines::*;
use crate::common::statements::{CountingConnection, Statements};
use crate::common::*;
use chrono::{DateTime, Duration, NaiveDateTime, SecondsFormat, SubsecRound, Utc};
use diesel::prelude::*;
use persistence::schema::{companies, company_transitions};
use reqwest::Method;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Helpers

/// A pipeline read afresh.
async fn pipeline(app: &TestApp, id: i64) -> Value {
    let read = app.get(&format!("/v1/pipelines/{id}")).await;
    assert_eq!(read.status, 200, "{}", read.body);
    read.body
}

fn phase_names(pipeline: &Value) -> Vec<String> {
    pipeline["phases"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|p| p["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

fn positions(pipeline: &Value) -> Vec<i64> {
    pipeline["phases"]
        .as_array()
        .map(|l| l.iter().filter_map(|p| p["position"].as_i64()).collect())
        .unwrap_or_default()
}

async fn company_with(app: &TestApp, body: Value) -> i64 {
    let created = app.post("/v1/companies", body).await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.id()
}

/// The ids in a list's `data`.
fn ids(body: &Value) -> Vec<i64> {
    body["data"]
        .as_array()
        .map(|l| l.iter().filter_map(|c| c["id"].as_i64()).collect())
        .unwrap_or_default()
}

/// A time `by` before now, as the database keeps it.
fn ago(by: Duration) -> NaiveDateTime {
    (Utc::now() - by).naive_utc().trunc_subsecs(6)
}

fn time(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| panic!("not a time: {value}"))
}

fn rfc3339(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Sets when a company entered its phase and when it falls due, straight in the database, so
/// that tests need not wait for days to pass.
fn set_place_times(
    app: &TestApp,
    company: i64,
    entered: NaiveDateTime,
    due: Option<NaiveDateTime>,
) {
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    let updated = diesel::update(companies::table.filter(companies::id.eq(company)))
        .set((
            companies::phase_entered_at.eq(Some(entered)),
            companies::follow_up_due_at.eq(due),
        ))
        .execute(&mut *conn)
        .unwrap_or_else(|e| panic!("cannot backdate company {company}: {e}"));
    assert_eq!(updated, 1);
}

/// Sets how long the company had spent in the phase it left on one history row.
fn set_seconds_in_previous(app: &TestApp, company: i64, from: i64, to: i64, seconds: i64) {
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    let updated = diesel::update(
        company_transitions::table
            .filter(company_transitions::company_id.eq(company))
            .filter(company_transitions::from_phase_id.eq(from))
            .filter(company_transitions::to_phase_id.eq(to)),
    )
    .set(company_transitions::seconds_in_previous.eq(Some(seconds)))
    .execute(&mut *conn)
    .unwrap_or_else(|e| panic!("cannot set seconds_in_previous: {e}"));
    assert_eq!(
        updated, 1,
        "one row from {from} to {to} of company {company}"
    );
}

/// Moves every history row of a company back in time.
fn backdate_history(app: &TestApp, company: i64, at: NaiveDateTime) {
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    diesel::update(company_transitions::table.filter(company_transitions::company_id.eq(company)))
        .set(company_transitions::created_at.eq(at))
        .execute(&mut *conn)
        .unwrap_or_else(|e| panic!("cannot backdate history: {e}"));
}

fn column(board: &Value, phase_id: i64) -> &Value {
    board["columns"]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["phase"]["id"] == phase_id))
        .unwrap_or_else(|| panic!("no column for phase {phase_id} in {board}"))
}

fn card_ids(column: &Value) -> Vec<i64> {
    column["cards"]
        .as_array()
        .map(|l| l.iter().filter_map(|c| c["id"].as_i64()).collect())
        .unwrap_or_default()
}

fn phase_stats(stats: &Value, phase_id: i64) -> &Value {
    stats["phases"]
        .as_array()
        .and_then(|l| l.iter().find(|p| p["phase_id"] == phase_id))
        .unwrap_or_else(|| panic!("no figures for phase {phase_id} in {stats}"))
}

// ---------------------------------------------------------------------------------------------
// The default pipeline

#[tokio::test]
async fn every_account_starts_with_the_client_relationship_pipeline() {
    let app = spawn_app().await;
    let list = app.get("/v1/pipelines?record_type=company").await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(list.body["data"].as_array().map(Vec::len), Some(1));
    let default = default_pipeline(&app).await;
    assert_eq!(default["name"], "Client relationship");
    assert_eq!(default["is_default"], true);
    assert_eq!(
        phase_names(&default),
        vec![
            "Uncontacted",
            "Contacted",
            "Proposal sent",
            "Active client",
            "Dormant",
            "Lost"
        ]
    );
    let statuses: Vec<&str> = default["phases"]
        .as_array()
        .map(|l| l.iter().filter_map(|p| p["status"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        statuses,
        vec![
            "prospect", "prospect", "prospect", "active", "latent", "latent"
        ]
    );
    assert_eq!(positions(&default), vec![0, 1, 2, 3, 4, 5]);
    assert_eq!(default["won_phase_id"], phase(&default, "Active client"));
    assert_eq!(default["lost_phase_id"], phase(&default, "Lost"));
    for p in default["phases"].as_array().cloned().unwrap_or_default() {
        assert_eq!(p["allowed_next_phase_ids"], json!([]), "{p}");
    }
}

#[tokio::test]
async fn each_account_has_its_own_default_pipeline() {
    let app = spawn_app().await;
    let other = app.other_account("Other Co");
    let mine = default_pipeline(&app).await;
    let theirs = app.get_as(&other, "/v1/pipelines").await;
    assert_eq!(theirs.status, 200, "{}", theirs.body);
    let theirs = theirs.body["data"][0].clone();
    assert_eq!(theirs["name"], "Client relationship");
    assert_ne!(theirs["id"], mine["id"]);
    for id in phase_ids(&theirs) {
        assert!(!phase_ids(&mine).contains(&id), "phases are not shared");
    }
}

// ---------------------------------------------------------------------------------------------
// Pipeline CRUD and permissions

#[tokio::test]
async fn an_admin_creates_a_pipeline_with_its_phases_in_order() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/v1/pipelines",
            json!({
                "name": "Recruitment clients",
                "phases": [
                    {"name": "Prospect", "status": "prospect", "follow_up_after_days": 4},
                    {"name": "Active", "status": "active", "follow_up_after_days": 90},
                    {"name": "Dormant", "status": "latent"},
                    {"name": "Gone", "status": "latent"}
                ]
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.id();
    assert_eq!(
        created.header("location"),
        Some(format!("/v1/pipelines/{id}").as_str())
    );
    assert_eq!(created.header("etag"), Some("\"1\""));
    let body = &created.body;
    assert_eq!(body["name"], "Recruitment clients");
    assert_eq!(body["is_default"], false);
    assert_eq!(
        phase_names(body),
        vec!["Prospect", "Active", "Dormant", "Gone"]
    );
    assert_eq!(positions(body), vec![0, 1, 2, 3]);
    assert_eq!(body["phases"][0]["follow_up_after_days"], 4);
    assert_eq!(body["phases"][2]["follow_up_after_days"], Value::Null);
    // Won and lost default to the first active and the first latent phase.
    assert_eq!(body["won_phase_id"], phase(body, "Active"));
    assert_eq!(body["lost_phase_id"], phase(body, "Dormant"));
    assert_eq!(pipeline(&app, id).await, created.body);
    let list = app.get("/v1/pipelines?record_type=company").await;
    assert_eq!(list.body["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(list.body["data"][1]["id"], id, "oldest first");
}

#[tokio::test]
async fn a_pipeline_is_renamed_and_its_won_and_lost_phases_chosen_and_reset() {
    let app = spawn_app().await;
    let p = create_pipeline(
        &app,
        "Sales",
        &[
            ("Lead", "prospect"),
            ("Won", "active"),
            ("Also won", "active"),
            ("Lost", "latent"),
        ],
    )
    .await;
    let id = p["id"].as_i64().unwrap_or_default();
    let path = format!("/v1/pipelines/{id}");
    let changed = app
        .patch(
            &path,
            json!({"name": "Sales 2", "won_phase_id": phase(&p, "Also won")}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.header("etag"), Some("\"2\""));
    assert_eq!(changed.body["name"], "Sales 2");
    assert_eq!(changed.body["won_phase_id"], phase(&p, "Also won"));
    let reset = app.patch(&path, json!({"won_phase_id": null})).await;
    assert_eq!(reset.status, 200, "{}", reset.body);
    assert_eq!(reset.body["won_phase_id"], phase(&p, "Won"));
    let default = default_pipeline(&app).await;
    let foreign = app
        .patch(&path, json!({"lost_phase_id": phase(&default, "Lost")}))
        .await;
    foreign.assert_problem(422, "validation_failed");
    assert_eq!(foreign.error_fields(), vec!["lost_phase_id"]);
}

#[tokio::test]
async fn a_member_may_read_pipelines_but_not_change_them() {
    let app = spawn_app().await;
    let (_, member) = app.member("m@acme.test", "member", &["admin"]).await;
    let (_, viewer) = app.member("v@acme.test", "viewer", &["admin"]).await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let contacted = phase(&default, "Contacted");
    for token in [&member, &viewer] {
        app.post_as(
            token,
            "/v1/pipelines",
            json!({"name": "Mine", "phases": [{"name": "A", "status": "prospect"}]}),
        )
        .await
        .assert_problem(403, "forbidden");
        app.patch_as(token, &format!("/v1/pipelines/{id}"), json!({"name": "X"}))
            .await
            .assert_problem(403, "forbidden");
        app.post_as(
            token,
            &format!("/v1/pipelines/{id}/phases"),
            json!({"name": "B", "status": "prospect"}),
        )
        .await
        .assert_problem(403, "forbidden");
        app.patch_as(
            token,
            &format!("/v1/pipelines/{id}/phases/{contacted}"),
            json!({"name": "Called"}),
        )
        .await
        .assert_problem(403, "forbidden");
        app.delete_as(token, &format!("/v1/pipelines/{id}/phases/{contacted}"))
            .await
            .assert_problem(403, "forbidden");
        app.delete_as(token, &format!("/v1/pipelines/{id}"))
            .await
            .assert_problem(403, "forbidden");
        let listed = app.get_as(token, "/v1/pipelines").await;
        assert_eq!(listed.status, 200, "{}", listed.body);
        assert_eq!(listed.body["data"][0]["id"], id);
        assert_eq!(
            app.get_as(token, &format!("/v1/pipelines/{id}"))
                .await
                .status,
            200
        );
        assert_eq!(
            app.get_as(token, &format!("/v1/pipelines/{id}/board"))
                .await
                .status,
            200
        );
        assert_eq!(
            app.get_as(token, &format!("/v1/pipelines/{id}/stats"))
                .await
                .status,
            200
        );
    }
    assert_eq!(
        phase_names(&pipeline(&app, id).await),
        phase_names(&default)
    );
}

#[tokio::test]
async fn an_admin_token_without_pipelines_write_gets_insufficient_scope() {
    let app = spawn_app().await;
    let read_only = app.token_for(app.admin_id, &["pipelines:read"], None);
    let answer = app
        .post_as(&read_only, "/v1/pipelines", json!({"name": "Mine"}))
        .await;
    answer.assert_problem(403, "insufficient_scope");
    assert!(
        answer
            .header("www-authenticate")
            .is_some_and(|v| v.contains("pipelines:write"))
    );
    let id = default_pipeline(&app).await["id"]
        .as_i64()
        .unwrap_or_default();
    app.patch_as(
        &read_only,
        &format!("/v1/pipelines/{id}"),
        json!({"name": "X"}),
    )
    .await
    .assert_problem(403, "insufficient_scope");
    assert_eq!(app.get_as(&read_only, "/v1/pipelines").await.status, 200);
    let no_pipelines = app.token_for(app.admin_id, &["companies:read"], None);
    app.get_as(&no_pipelines, "/v1/pipelines")
        .await
        .assert_problem(403, "insufficient_scope");
}

#[tokio::test]
async fn pipeline_validation_names_every_bad_field_and_phase() {
    let app = spawn_app().await;
    let answer = app
        .post(
            "/v1/pipelines",
            json!({
                "name": " ",
                "phases": [
                    {"name": "Lead", "status": "hot"},
                    {"name": "  ", "status": "active"},
                    {"name": "Late", "status": "latent", "follow_up_after_days": 0}
                ]
            }),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    let fields = answer.error_fields();
    for field in [
        "name",
        "phases[0].status",
        "phases[1].name",
        "phases[2].follow_up_after_days",
    ] {
        assert!(
            fields.contains(&field.to_owned()),
            "{field} missing from {fields:?}"
        );
    }
    assert_eq!(
        app.get("/v1/pipelines?record_type=company").await.body["data"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "nothing was created"
    );
}

#[tokio::test]
async fn a_stale_if_match_on_a_pipeline_is_412_and_changes_nothing() {
    let app = spawn_app().await;
    let p = create_pipeline(&app, "Sales", &[("Lead", "prospect")]).await;
    let path = format!("/v1/pipelines/{}", p["id"]);
    let first = app
        .request(
            Method::PATCH,
            &path,
            Some(&app.token),
            Some(&json!({"name": "Sales 2"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let stale = app
        .request(
            Method::PATCH,
            &path,
            Some(&app.token),
            Some(&json!({"name": "Sales 3"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    stale.assert_problem(412, "precondition_failed");
    let stale_delete = app
        .request(
            Method::DELETE,
            &path,
            Some(&app.token),
            None,
            &[("if-match", "\"1\"")],
        )
        .await;
    stale_delete.assert_problem(412, "precondition_failed");
    assert_eq!(app.get(&path).await.body["name"], "Sales 2");
}

#[tokio::test]
async fn another_accounts_pipeline_is_not_found() {
    let app = spawn_app().await;
    let other = app.other_account("Other Co");
    let theirs = app.get_as(&other, "/v1/pipelines").await.body["data"][0].clone();
    let id = theirs["id"].as_i64().unwrap_or_default();
    let their_phase = phase_ids(&theirs)[0];
    for answer in [
        app.get(&format!("/v1/pipelines/{id}")).await,
        app.patch(&format!("/v1/pipelines/{id}"), json!({"name": "Mine"}))
            .await,
        app.delete(&format!("/v1/pipelines/{id}")).await,
        app.post(
            &format!("/v1/pipelines/{id}/phases"),
            json!({"name": "Mine", "status": "prospect"}),
        )
        .await,
        app.patch(
            &format!("/v1/pipelines/{id}/phases/{their_phase}"),
            json!({"name": "Mine"}),
        )
        .await,
        app.delete(&format!("/v1/pipelines/{id}/phases/{their_phase}"))
            .await,
        app.get(&format!("/v1/pipelines/{id}/board")).await,
        app.get(&format!("/v1/pipelines/{id}/stats")).await,
    ] {
        answer.assert_problem(404, "not_found");
    }
    let list = app.get("/v1/pipelines?record_type=company").await;
    assert!(!ids(&list.body).contains(&id));
    let still = app.get_as(&other, &format!("/v1/pipelines/{id}")).await;
    assert_eq!(still.body["name"], "Client relationship");
    assert_eq!(phase_ids(&still.body).len(), 6);
}

#[tokio::test]
async fn a_phase_of_another_pipeline_is_not_found_under_this_one() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let other = create_pipeline(&app, "Sales", &[("Lead", "prospect")]).await;
    let answer = app
        .patch(
            &format!(
                "/v1/pipelines/{}/phases/{}",
                other["id"],
                phase(&default, "Contacted")
            ),
            json!({"name": "Hijacked"}),
        )
        .await;
    answer.assert_problem(404, "not_found");
    assert_eq!(phase_names(&default_pipeline(&app).await)[1], "Contacted");
}

#[tokio::test]
async fn a_pipeline_holding_companies_cannot_be_deleted_and_the_answer_says_how_many() {
    let app = spawn_app().await;
    let p = create_pipeline(&app, "Sales", &[("Lead", "prospect"), ("Client", "active")]).await;
    let id = p["id"].as_i64().unwrap_or_default();
    let a = company_in(&app, "A", phase(&p, "Lead")).await;
    let b = company_in(&app, "B", phase(&p, "Client")).await;
    let refused = app.delete(&format!("/v1/pipelines/{id}")).await;
    refused.assert_problem(409, "conflict");
    let detail = refused.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("2 companies"), "{detail}");
    assert_eq!(app.get(&format!("/v1/pipelines/{id}")).await.status, 200);
    moved(&app, a, json!({"action": "remove"})).await;
    let one = app.delete(&format!("/v1/pipelines/{id}")).await;
    one.assert_problem(409, "conflict");
    let detail = one.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("1 company"), "{detail}");
    moved(&app, b, json!({"action": "remove"})).await;
    let deleted = app.delete(&format!("/v1/pipelines/{id}")).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    app.get(&format!("/v1/pipelines/{id}"))
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn the_default_pipeline_cannot_be_deleted() {
    let app = spawn_app().await;
    let id = default_pipeline(&app).await["id"]
        .as_i64()
        .unwrap_or_default();
    let refused = app.delete(&format!("/v1/pipelines/{id}")).await;
    refused.assert_problem(409, "conflict");
    assert!(
        refused.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("default"))
    );
    assert_eq!(app.get(&format!("/v1/pipelines/{id}")).await.status, 200);
}

#[tokio::test]
async fn another_pipeline_can_become_the_default_and_the_old_one_then_be_deleted() {
    let app = spawn_app().await;
    let old = default_pipeline(&app).await["id"]
        .as_i64()
        .unwrap_or_default();
    let p = create_pipeline(&app, "Sales", &[("Lead", "prospect")]).await;
    let made = app
        .patch(
            &format!("/v1/pipelines/{}", p["id"]),
            json!({"is_default": true}),
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    assert_eq!(made.body["is_default"], true);
    assert_eq!(default_pipeline(&app).await["id"], p["id"]);
    assert_eq!(pipeline(&app, old).await["is_default"], false);
    let deleted = app.delete(&format!("/v1/pipelines/{old}")).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
}

// ---------------------------------------------------------------------------------------------
// Phases

#[tokio::test]
async fn a_phase_is_added_at_the_position_asked_for() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let added = app
        .post(
            &format!("/v1/pipelines/{id}/phases"),
            json!({"name": "Sales meeting", "status": "prospect", "follow_up_after_days": 3, "position": 2}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    let new_id = phase(&added.body, "Sales meeting");
    assert_eq!(
        added.header("location"),
        Some(format!("/v1/pipelines/{id}/phases/{new_id}").as_str())
    );
    assert_eq!(
        phase_names(&added.body),
        vec![
            "Uncontacted",
            "Contacted",
            "Sales meeting",
            "Proposal sent",
            "Active client",
            "Dormant",
            "Lost"
        ]
    );
    assert_eq!(positions(&added.body), vec![0, 1, 2, 3, 4, 5, 6]);
    assert_eq!(added.body["phases"][2]["follow_up_after_days"], 3);
    assert_eq!(added.body["phases"][2]["status"], "prospect");
    assert!(added.body["version"].as_i64() > default["version"].as_i64());
    let last = app
        .post(
            &format!("/v1/pipelines/{id}/phases"),
            json!({"name": "Archived", "status": "latent"}),
        )
        .await;
    assert_eq!(last.status, 201, "{}", last.body);
    assert_eq!(
        phase_names(&last.body).last().map(String::as_str),
        Some("Archived"),
        "without a position a phase goes last"
    );
    let first = app
        .post(
            &format!("/v1/pipelines/{id}/phases"),
            json!({"name": "Researching", "status": "prospect", "position": 0}),
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(phase_names(&first.body)[0], "Researching");
    assert_eq!(positions(&first.body), (0..9).collect::<Vec<i64>>());
}

#[tokio::test]
async fn a_new_phase_with_bad_fields_is_refused_naming_them() {
    let app = spawn_app().await;
    let id = default_pipeline(&app).await["id"]
        .as_i64()
        .unwrap_or_default();
    let answer = app
        .post(
            &format!("/v1/pipelines/{id}/phases"),
            json!({"name": "", "status": "warm", "follow_up_after_days": 5000, "position": -1}),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    let fields = answer.error_fields();
    for field in ["name", "status", "follow_up_after_days", "position"] {
        assert!(
            fields.contains(&field.to_owned()),
            "{field} missing from {fields:?}"
        );
    }
    assert_eq!(phase_ids(&pipeline(&app, id).await).len(), 6);
}

#[tokio::test]
async fn a_phase_is_renamed_and_its_follow_up_time_and_rules_changed() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let contacted = phase(&default, "Contacted");
    let proposal = phase(&default, "Proposal sent");
    let lost = phase(&default, "Lost");
    let changed = app
        .patch(
            &format!("/v1/pipelines/{id}/phases/{contacted}"),
            json!({"name": "Called", "follow_up_after_days": 2, "allowed_next_phase_ids": [proposal, lost]}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert!(changed.header("etag").is_some());
    let called = &changed.body["phases"][1];
    assert_eq!(called["id"], contacted);
    assert_eq!(called["name"], "Called");
    assert_eq!(called["status"], "prospect");
    assert_eq!(called["follow_up_after_days"], 2);
    assert_eq!(called["allowed_next_phase_ids"], json!([proposal, lost]));
    let off = app
        .patch(
            &format!("/v1/pipelines/{id}/phases/{contacted}"),
            json!({"follow_up_after_days": null, "allowed_next_phase_ids": []}),
        )
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    assert_eq!(off.body["phases"][1]["name"], "Called");
    assert_eq!(off.body["phases"][1]["follow_up_after_days"], Value::Null);
    assert_eq!(off.body["phases"][1]["allowed_next_phase_ids"], json!([]));
}

#[tokio::test]
async fn a_phase_change_with_bad_fields_is_refused_naming_them() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let contacted = phase(&default, "Contacted");
    let path = format!("/v1/pipelines/{id}/phases/{contacted}");
    let bad = app
        .patch(
            &path,
            json!({"name": " ", "status": "cold", "follow_up_after_days": 0}),
        )
        .await;
    bad.assert_problem(422, "validation_failed");
    let fields = bad.error_fields();
    for field in ["name", "status", "follow_up_after_days"] {
        assert!(
            fields.contains(&field.to_owned()),
            "{field} missing from {fields:?}"
        );
    }
    let other = create_pipeline(&app, "Sales", &[("Lead", "prospect")]).await;
    for next in [json!([phase(&other, "Lead")]), json!([contacted])] {
        let refused = app
            .patch(&path, json!({"allowed_next_phase_ids": next}))
            .await;
        refused.assert_problem(422, "validation_failed");
        assert_eq!(refused.error_fields(), vec!["allowed_next_phase_ids"]);
    }
    assert_eq!(pipeline(&app, id).await["phases"][1], default["phases"][1]);
}

#[tokio::test]
async fn changing_a_phase_status_changes_the_relationship_status_of_its_companies() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let contacted = phase(&default, "Contacted");
    let a = company_in(&app, "A", contacted).await;
    let b = company_in(&app, "B", contacted).await;
    let elsewhere = company_in(&app, "C", phase(&default, "Uncontacted")).await;
    let changed = app
        .patch(
            &format!("/v1/pipelines/{id}/phases/{contacted}"),
            json!({"status": "active"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["phases"][1]["status"], "active");
    for company in [a, b] {
        let read = read_company(&app, company).await;
        assert_eq!(read["relationship_status"], "active", "{read}");
        assert_eq!(read["phase_id"], contacted);
    }
    assert_eq!(
        read_company(&app, elsewhere).await["relationship_status"],
        "prospect"
    );
    let active = app.get("/v1/companies?relationship_status=active").await;
    let mut listed = ids(&active.body);
    listed.sort_unstable();
    assert_eq!(listed, vec![a, b]);
}

#[tokio::test]
async fn phases_are_reordered_by_a_permutation_and_positions_follow() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let mut order = phase_ids(&default);
    order.reverse();
    let reordered = app
        .request(
            Method::PUT,
            &format!("/v1/pipelines/{id}/phases"),
            Some(&app.token),
            Some(&json!({"phase_ids": order})),
            &[],
        )
        .await;
    assert_eq!(reordered.status, 200, "{}", reordered.body);
    assert_eq!(phase_ids(&reordered.body), order);
    assert_eq!(positions(&reordered.body), vec![0, 1, 2, 3, 4, 5]);
    let read = pipeline(&app, id).await;
    assert_eq!(phase_ids(&read), order);
    assert_eq!(phase_names(&read)[0], "Lost");
    // Won and lost name phases, not places: they stay.
    assert_eq!(read["won_phase_id"], phase(&default, "Active client"));
    assert_eq!(read["lost_phase_id"], phase(&default, "Lost"));
}

#[tokio::test]
async fn a_reorder_that_is_not_a_permutation_is_refused() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let all = phase_ids(&default);
    let other = create_pipeline(&app, "Sales", &[("Lead", "prospect")]).await;
    let missing: Vec<i64> = all[1..].to_vec();
    let mut twice = all.clone();
    twice[0] = all[1];
    let mut foreign = all.clone();
    foreign[0] = phase(&other, "Lead");
    let mut extra = all.clone();
    extra.push(phase(&other, "Lead"));
    for order in [missing, twice, foreign, extra, Vec::new()] {
        let refused = app
            .request(
                Method::PUT,
                &format!("/v1/pipelines/{id}/phases"),
                Some(&app.token),
                Some(&json!({"phase_ids": order})),
                &[],
            )
            .await;
        refused.assert_problem(422, "validation_failed");
        assert_eq!(refused.error_fields(), vec!["phase_ids"], "{order:?}");
    }
    let read = pipeline(&app, id).await;
    assert_eq!(phase_ids(&read), all);
    assert_eq!(read["version"], default["version"]);
}

#[tokio::test]
async fn an_empty_phase_is_removed() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let dormant = phase(&default, "Dormant");
    let removed = app
        .delete(&format!("/v1/pipelines/{id}/phases/{dormant}"))
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert_eq!(
        phase_names(&removed.body),
        vec![
            "Uncontacted",
            "Contacted",
            "Proposal sent",
            "Active client",
            "Lost"
        ]
    );
    assert_eq!(positions(&removed.body), vec![0, 1, 2, 3, 4]);
    app.patch(
        &format!("/v1/pipelines/{id}/phases/{dormant}"),
        json!({"name": "Back"}),
    )
    .await
    .assert_problem(404, "not_found");
}

#[tokio::test]
async fn removing_a_phase_that_holds_companies_without_move_to_is_409_with_the_count() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let contacted = phase(&default, "Contacted");
    let a = company_in(&app, "A", contacted).await;
    company_in(&app, "B", contacted).await;
    let refused = app
        .delete(&format!("/v1/pipelines/{id}/phases/{contacted}"))
        .await;
    refused.assert_problem(409, "conflict");
    let detail = refused.body["detail"].as_str().unwrap_or_default();
    assert!(detail.contains("2 companies"), "{detail}");
    assert!(detail.contains("move_to"), "says how to proceed: {detail}");
    assert_eq!(phase_ids(&pipeline(&app, id).await), phase_ids(&default));
    assert_eq!(read_company(&app, a).await["phase_id"], contacted);
    assert_eq!(history(&app, a).await.len(), 1);
}

#[tokio::test]
async fn removing_a_phase_with_move_to_moves_each_company_with_a_history_row() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let contacted = phase(&default, "Contacted");
    let proposal = phase(&default, "Proposal sent");
    let a = company_in(&app, "A", contacted).await;
    let b = company_in(&app, "B", contacted).await;
    let bystander = company_in(&app, "C", phase(&default, "Uncontacted")).await;
    let removed = app
        .delete(&format!(
            "/v1/pipelines/{id}/phases/{contacted}?move_to={proposal}"
        ))
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    assert!(!phase_ids(&removed.body).contains(&contacted));
    for company in [a, b] {
        let read = read_company(&app, company).await;
        assert_eq!(read["phase_id"], proposal, "{read}");
        assert_eq!(read["pipeline_id"], id);
        assert_eq!(read["relationship_status"], "prospect");
        let steps = history(&app, company).await;
        assert_eq!(steps.len(), 2, "{steps:?}");
        assert_eq!(steps[0]["from_phase_id"], contacted);
        assert_eq!(steps[0]["from_phase_name"], "Contacted");
        assert_eq!(steps[0]["to_phase_id"], proposal);
        assert_eq!(steps[0]["to_phase_name"], "Proposal sent");
        assert_eq!(
            steps[0]["actor"],
            json!({"kind": "user", "id": app.admin_id})
        );
    }
    assert_eq!(history(&app, bystander).await.len(), 1);
    assert_eq!(
        ids(&app
            .get(&format!("/v1/companies?phase_id={contacted}"))
            .await
            .body),
        Vec::<i64>::new()
    );
}

#[tokio::test]
async fn move_to_must_be_another_phase_of_the_same_pipeline() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let contacted = phase(&default, "Contacted");
    let a = company_in(&app, "A", contacted).await;
    let other = create_pipeline(&app, "Sales", &[("Lead", "prospect")]).await;
    for target in [contacted, phase(&other, "Lead"), 999_999] {
        let refused = app
            .delete(&format!(
                "/v1/pipelines/{id}/phases/{contacted}?move_to={target}"
            ))
            .await;
        refused.assert_problem(422, "validation_failed");
        assert_eq!(refused.error_fields(), vec!["move_to"]);
    }
    assert_eq!(read_company(&app, a).await["phase_id"], contacted);
    assert_eq!(phase_ids(&pipeline(&app, id).await).len(), 6);
}

// ---------------------------------------------------------------------------------------------
// The board

#[tokio::test]
async fn the_board_shows_every_phase_in_order_with_counts_and_the_oldest_cards_first() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let contacted = phase(&default, "Contacted");
    let proposal = phase(&default, "Proposal sent");
    let a = company_in(&app, "A", contacted).await;
    let b = company_in(&app, "B", contacted).await;
    let c = company_in(&app, "C", contacted).await;
    let d = company_in(&app, "D", proposal).await;
    company_with(&app, json!({"name": "Outside"})).await;
    set_place_times(&app, c, ago(Duration::days(3)), None);
    set_place_times(&app, a, ago(Duration::days(1)), None);
    let board = app.get(&format!("/v1/pipelines/{id}/board")).await;
    assert_eq!(board.status, 200, "{}", board.body);
    assert_eq!(board.body["pipeline_id"], id);
    assert_eq!(board.body["name"], "Client relationship");
    let columns = board.body["columns"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let order: Vec<i64> = columns
        .iter()
        .filter_map(|c| c["phase"]["id"].as_i64())
        .collect();
    assert_eq!(order, phase_ids(&default));
    let counts: Vec<i64> = columns.iter().filter_map(|c| c["count"].as_i64()).collect();
    assert_eq!(counts, vec![0, 3, 1, 0, 0, 0]);
    let statuses: Vec<&str> = columns
        .iter()
        .filter_map(|c| c["phase"]["status"].as_str())
        .collect();
    assert_eq!(
        statuses,
        vec![
            "prospect", "prospect", "prospect", "active", "latent", "latent"
        ]
    );
    let contacted_column = column(&board.body, contacted);
    assert_eq!(
        card_ids(contacted_column),
        vec![c, a, b],
        "oldest in phase first"
    );
    let days: Vec<i64> = contacted_column["cards"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|c| c["days_in_phase"].as_i64())
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(days, vec![3, 1, 0]);
    assert_eq!(contacted_column["next_url"], Value::Null);
    assert_eq!(contacted_column["next_cursor"], Value::Null);
    assert_eq!(card_ids(column(&board.body, proposal)), vec![d]);
    assert_eq!(
        card_ids(column(&board.body, phase(&default, "Uncontacted"))),
        Vec::<i64>::new()
    );
}

/// The statements a board read runs, for each pipeline in turn, on a fresh connection.
fn board_statements(database_url: &str, account_id: i64, pipeline_ids: &[i64]) -> Vec<Statements> {
    let mut conn = CountingConnection::open(database_url);
    pipeline_ids
        .iter()
        .map(|&id| {
            let (board, seen) = conn.count(|conn| {
                persistence::pipelined::board(
                    conn,
                    account_id,
                    id,
                    &persistence::pipelined::BoardFilter::default(),
                    20,
                )
            });
            board.unwrap_or_else(|e| panic!("board of pipeline {id}: {e:?}"));
            seen
        })
        .collect()
}

#[tokio::test]
async fn a_board_takes_the_same_few_prepared_statements_whatever_its_number_of_phases() {
    let app = spawn_app().await;
    for record_type in ["company", "project"] {
        let phases = |n: usize| -> Vec<Value> {
            (0..n)
                .map(|i| json!({"name": format!("Phase {i}"), "status": "active"}))
                .collect()
        };
        let mut ids = Vec::new();
        for n in [3, 12] {
            let created = app
                .post(
                    "/v1/pipelines",
                    json!({"name": format!("{record_type} {n}"), "record_type": record_type,
                           "phases": phases(n)}),
                )
                .await;
            assert_eq!(created.status, 201, "{}", created.body);
            ids.push(created.id());
        }
        // The small board, the large one, and the small one again, on one fresh connection.
        let seen = board_statements(&app.database_url, app.account_id, &[ids[0], ids[1], ids[0]]);
        let first = seen[0];
        // The pipeline with its phases, the columns, and for a type with a value the values.
        let expected = if record_type == "project" { 3 } else { 2 };
        assert_eq!(first.run, expected, "{record_type}: {first:?}");
        assert_eq!(
            first.prepared, first.run,
            "{record_type}: every statement of the board is kept prepared"
        );
        assert_eq!(
            seen[1],
            Statements {
                run: first.run,
                prepared: 0
            },
            "{record_type}: four times the phases, the same statements, prepared already"
        );
        assert_eq!(seen[2].prepared, 0, "{record_type}");
    }
}

#[tokio::test]
async fn board_cards_carry_what_a_card_shows() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let contacted = phase(&default, "Contacted");
    let (member, _) = app.member("m@acme.test", "member", &["admin"]).await;
    let a = company_with(
        &app,
        json!({"name": "Acme", "industry": "Engineering", "size_band": "11-50",
               "owner_id": member, "phase_id": contacted}),
    )
    .await;
    let b = company_in(&app, "Bare", contacted).await;
    set_place_times(
        &app,
        a,
        ago(Duration::days(9) + Duration::hours(1)),
        Some(ago(Duration::days(4))),
    );
    let board = app.get(&format!("/v1/pipelines/{id}/board")).await;
    assert_eq!(board.status, 200, "{}", board.body);
    let cards = column(&board.body, contacted)["cards"].clone();
    assert_eq!(cards[0]["id"], a);
    assert_eq!(cards[0]["name"], "Acme");
    assert_eq!(cards[0]["industry"], "Engineering");
    assert_eq!(cards[0]["size_band"], "11-50");
    assert_eq!(cards[0]["owner_id"], member);
    assert_eq!(cards[0]["owner_name"], "Team Member");
    assert_eq!(cards[0]["days_in_phase"], 9);
    assert_eq!(cards[0]["follow_up_due"], true);
    assert_eq!(cards[1]["id"], b);
    assert_eq!(cards[1]["owner_id"], Value::Null);
    assert_eq!(cards[1]["owner_name"], Value::Null);
    assert_eq!(cards[1]["days_in_phase"], 0);
    assert_eq!(cards[1]["follow_up_due"], false);
}

#[tokio::test]
async fn cards_per_phase_limits_the_cards_and_next_url_continues_the_column() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let contacted = phase(&default, "Contacted");
    let proposal = phase(&default, "Proposal sent");
    let mut in_contacted = Vec::new();
    for n in 0..5 {
        let company = company_in(&app, &format!("Company {n}"), contacted).await;
        // Entered five days apart, the last created the oldest.
        set_place_times(&app, company, ago(Duration::days(n + 1)), None);
        in_contacted.push(company);
    }
    in_contacted.reverse();
    let single = company_in(&app, "Single", proposal).await;
    let board = app
        .get(&format!("/v1/pipelines/{id}/board?cards_per_phase=2"))
        .await;
    assert_eq!(board.status, 200, "{}", board.body);
    let first = column(&board.body, contacted);
    assert_eq!(first["count"], 5);
    assert_eq!(card_ids(first), in_contacted[..2].to_vec());
    assert!(first["next_cursor"].is_string(), "{first}");
    let next_url = first["next_url"]
        .as_str()
        .unwrap_or_else(|| panic!("no next_url in {first}"))
        .to_owned();
    assert!(next_url.starts_with("/v1/companies?"), "{next_url}");
    let rest = app.get(&next_url).await;
    assert_eq!(rest.status, 200, "{}", rest.body);
    assert_eq!(ids(&rest.body), in_contacted[2..].to_vec());
    assert_eq!(rest.body["next_cursor"], Value::Null);
    let short = column(&board.body, proposal);
    assert_eq!(card_ids(short), vec![single]);
    assert_eq!(short["next_url"], Value::Null);
    let none = app
        .get(&format!("/v1/pipelines/{id}/board?cards_per_phase=0"))
        .await;
    assert_eq!(none.status, 200, "{}", none.body);
    assert_eq!(column(&none.body, contacted)["count"], 5);
    assert_eq!(card_ids(column(&none.body, contacted)), Vec::<i64>::new());
}

#[tokio::test]
async fn companies_hidden_from_pipelines_are_left_off_the_board_and_its_counts() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let contacted = phase(&default, "Contacted");
    let shown = company_in(&app, "Shown", contacted).await;
    let hidden = company_with(
        &app,
        json!({"name": "Hidden", "phase_id": contacted, "show_in_pipeline": false}),
    )
    .await;
    let later_hidden = company_in(&app, "Later hidden", contacted).await;
    let patched = app
        .patch(
            &format!("/v1/companies/{later_hidden}"),
            json!({"show_in_pipeline": false}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let board = app.get(&format!("/v1/pipelines/{id}/board")).await;
    assert_eq!(board.status, 200, "{}", board.body);
    let col = column(&board.body, contacted);
    assert_eq!(col["count"], 1);
    assert_eq!(card_ids(col), vec![shown]);
    // They are still in the phase.
    let mut in_phase = ids(&app
        .get(&format!("/v1/companies?phase_id={contacted}"))
        .await
        .body);
    in_phase.sort_unstable();
    assert_eq!(in_phase, vec![shown, hidden, later_hidden]);
}

#[tokio::test]
async fn the_board_filters_by_owner_and_tag_in_cards_counts_and_next_url() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let contacted = phase(&default, "Contacted");
    let (member, _) = app.member("m@acme.test", "member", &["admin"]).await;
    let a = company_with(
        &app,
        json!({"name": "A", "phase_id": contacted, "owner_id": app.admin_id, "tags": ["vip"]}),
    )
    .await;
    let b = company_with(
        &app,
        json!({"name": "B", "phase_id": contacted, "owner_id": member, "tags": ["vip"]}),
    )
    .await;
    let c = company_with(
        &app,
        json!({"name": "C", "phase_id": contacted, "owner_id": member}),
    )
    .await;
    let d = company_with(
        &app,
        json!({"name": "D", "phase_id": contacted, "owner_id": member, "tags": ["vip", "uk"]}),
    )
    .await;
    for (n, company) in [a, b, c, d].into_iter().enumerate() {
        let n = i64::try_from(n).unwrap_or_default();
        set_place_times(&app, company, ago(Duration::days(10 - n)), None);
    }
    let by_owner = app
        .get(&format!("/v1/pipelines/{id}/board?owner_id={member}"))
        .await;
    assert_eq!(by_owner.status, 200, "{}", by_owner.body);
    assert_eq!(column(&by_owner.body, contacted)["count"], 3);
    assert_eq!(card_ids(column(&by_owner.body, contacted)), vec![b, c, d]);
    let by_tag = app.get(&format!("/v1/pipelines/{id}/board?tag=vip")).await;
    assert_eq!(column(&by_tag.body, contacted)["count"], 3);
    assert_eq!(card_ids(column(&by_tag.body, contacted)), vec![a, b, d]);
    let both = app
        .get(&format!(
            "/v1/pipelines/{id}/board?owner_id={member}&tag=vip&cards_per_phase=1"
        ))
        .await;
    assert_eq!(both.status, 200, "{}", both.body);
    let col = column(&both.body, contacted);
    assert_eq!(col["count"], 2);
    assert_eq!(card_ids(col), vec![b]);
    let next_url = col["next_url"].as_str().unwrap_or_default().to_owned();
    assert!(!next_url.is_empty(), "{col}");
    let rest = app.get(&next_url).await;
    assert_eq!(rest.status, 200, "{}", rest.body);
    assert_eq!(
        ids(&rest.body),
        vec![d],
        "the column continues with the same filters"
    );
    let nobody = app.get(&format!("/v1/pipelines/{id}/board?tag=none")).await;
    assert_eq!(column(&nobody.body, contacted)["count"], 0);
}

#[tokio::test]
async fn cards_per_phase_out_of_range_is_400() {
    let app = spawn_app().await;
    let id = default_pipeline(&app).await["id"]
        .as_i64()
        .unwrap_or_default();
    for bad in ["500", "101", "-1"] {
        let answer = app
            .get(&format!("/v1/pipelines/{id}/board?cards_per_phase={bad}"))
            .await;
        answer.assert_problem(400, "bad_request");
        assert_eq!(answer.error_fields(), vec!["cards_per_phase"]);
    }
}

// ---------------------------------------------------------------------------------------------
// Follow-ups

#[tokio::test]
async fn a_company_longer_in_its_phase_than_it_allows_is_due_for_follow_up() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let contacted = phase(&default, "Contacted");
    let company = company_in(&app, "Acme", contacted).await;
    let fresh = read_company(&app, company).await;
    // Contacted waits five days.
    let entered = time(&fresh["phase_entered_at"]);
    let due = time(&fresh["follow_up_due_at"]);
    assert_eq!(due - entered, Duration::days(5));
    assert_eq!(fresh["follow_up_due"], false);
    let none = app.get("/v1/follow-ups").await;
    assert_eq!(none.status, 200, "{}", none.body);
    assert_eq!(none.body["data"], json!([]));
    set_place_times(
        &app,
        company,
        ago(Duration::days(8) + Duration::hours(1)),
        Some(ago(Duration::days(3) + Duration::hours(1))),
    );
    let listed = app.get("/v1/follow-ups").await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    let data = listed.body["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(data.len(), 1, "{}", listed.body);
    assert_eq!(data[0]["company"]["id"], company);
    assert_eq!(data[0]["days_overdue"], 3);
    assert_eq!(data[0]["company"]["follow_up_due"], true);
    assert_eq!(data[0]["company"]["days_in_phase"], 8);
}

#[tokio::test]
async fn follow_ups_are_most_overdue_first_and_filter_by_owner_and_pipeline() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let default_id = default["id"].as_i64().unwrap_or_default();
    let contacted = phase(&default, "Contacted");
    let (member, _) = app.member("m@acme.test", "member", &["admin"]).await;
    let a = company_with(
        &app,
        json!({"name": "A", "phase_id": contacted, "owner_id": member}),
    )
    .await;
    let b = company_in(&app, "B", contacted).await;
    let not_due = company_in(&app, "Not due", contacted).await;
    let other = app
        .post(
            "/v1/pipelines",
            json!({"name": "Sales", "phases": [{"name": "Lead", "status": "prospect", "follow_up_after_days": 1}]}),
        )
        .await;
    assert_eq!(other.status, 201, "{}", other.body);
    let other_id = other.id();
    let c = company_in(&app, "C", phase(&other.body, "Lead")).await;
    set_place_times(
        &app,
        a,
        ago(Duration::days(7)),
        Some(ago(Duration::days(2) + Duration::hours(1))),
    );
    set_place_times(
        &app,
        b,
        ago(Duration::days(11)),
        Some(ago(Duration::days(6) + Duration::hours(1))),
    );
    set_place_times(
        &app,
        c,
        ago(Duration::days(5)),
        Some(ago(Duration::days(4) + Duration::hours(1))),
    );
    let all = app.get("/v1/follow-ups").await;
    assert_eq!(all.status, 200, "{}", all.body);
    let listed: Vec<(i64, i64)> = all.body["data"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|f| Some((f["company"]["id"].as_i64()?, f["days_overdue"].as_i64()?)))
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(listed, vec![(b, 6), (c, 4), (a, 2)]);
    assert!(!listed.iter().any(|(id, _)| *id == not_due));
    let mine = app.get(&format!("/v1/follow-ups?owner_id={member}")).await;
    assert_eq!(
        mine.body["data"].as_array().map(|l| l
            .iter()
            .filter_map(|f| f["company"]["id"].as_i64())
            .collect::<Vec<_>>()),
        Some(vec![a])
    );
    let in_other = app
        .get(&format!("/v1/follow-ups?pipeline_id={other_id}"))
        .await;
    assert_eq!(
        in_other.body["data"].as_array().map(|l| l
            .iter()
            .filter_map(|f| f["company"]["id"].as_i64())
            .collect::<Vec<_>>()),
        Some(vec![c])
    );
    let in_default = app
        .get(&format!("/v1/follow-ups?pipeline_id={default_id}"))
        .await;
    assert_eq!(
        in_default.body["data"].as_array().map(|l| l
            .iter()
            .filter_map(|f| f["company"]["id"].as_i64())
            .collect::<Vec<_>>()),
        Some(vec![b, a])
    );
}

#[tokio::test]
async fn the_company_list_filters_by_follow_up_due() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let contacted = phase(&default, "Contacted");
    let due = company_in(&app, "Due", contacted).await;
    let waiting = company_in(&app, "Waiting", contacted).await;
    let outside = app.company("Outside").await;
    set_place_times(
        &app,
        due,
        ago(Duration::days(6)),
        Some(ago(Duration::days(1))),
    );
    let listed = app.get("/v1/companies?follow_up_due=true").await;
    assert_eq!(listed.status, 200, "{}", listed.body);
    assert_eq!(ids(&listed.body), vec![due]);
    let mut not_due = ids(&app.get("/v1/companies?follow_up_due=false").await.body);
    not_due.sort_unstable();
    assert_eq!(not_due, vec![waiting, outside]);
}

#[tokio::test]
async fn changing_a_phase_follow_up_time_recomputes_when_its_companies_fall_due() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let uncontacted = phase(&default, "Uncontacted");
    let company = company_in(&app, "Acme", uncontacted).await;
    let outside = app.company("Outside").await;
    assert_eq!(
        read_company(&app, company).await["follow_up_due_at"],
        Value::Null
    );
    let entered = ago(Duration::days(10) + Duration::hours(1));
    set_place_times(&app, company, entered, None);
    let path = format!("/v1/pipelines/{id}/phases/{uncontacted}");
    let changed = app.patch(&path, json!({"follow_up_after_days": 3})).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let read = read_company(&app, company).await;
    let due = time(&read["follow_up_due_at"]);
    let expected = entered.and_utc() + Duration::days(3);
    assert_eq!(
        due, expected,
        "phase_entered_at + 3 days, to the microsecond"
    );
    assert_eq!(read["follow_up_due"], true);
    let listed = app.get("/v1/follow-ups").await;
    assert_eq!(listed.body["data"][0]["company"]["id"], company);
    assert_eq!(listed.body["data"][0]["days_overdue"], 7);
    let longer = app.patch(&path, json!({"follow_up_after_days": 20})).await;
    assert_eq!(longer.status, 200, "{}", longer.body);
    let read = read_company(&app, company).await;
    let due = time(&read["follow_up_due_at"]);
    let expected = entered.and_utc() + Duration::days(20);
    assert_eq!(
        due, expected,
        "phase_entered_at + 20 days, to the microsecond"
    );
    assert_eq!(read["follow_up_due"], false);
    assert_eq!(app.get("/v1/follow-ups").await.body["data"], json!([]));
    let off = app
        .patch(&path, json!({"follow_up_after_days": null}))
        .await;
    assert_eq!(off.status, 200, "{}", off.body);
    let read = read_company(&app, company).await;
    assert_eq!(read["follow_up_due_at"], Value::Null);
    assert_eq!(read["follow_up_due"], false);
    assert_eq!(
        read_company(&app, outside).await["follow_up_due_at"],
        Value::Null
    );
}

#[tokio::test]
async fn a_move_sets_when_the_company_falls_due_in_its_new_phase() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let company = company_in(&app, "Acme", phase(&default, "Uncontacted")).await;
    let answer = moved(
        &app,
        company,
        json!({"to_phase_id": phase(&default, "Proposal sent")}),
    )
    .await;
    let entered = time(&answer["company"]["phase_entered_at"]);
    let due = time(&answer["company"]["follow_up_due_at"]);
    assert_eq!(due - entered, Duration::days(7));
    let lost = moved(&app, company, json!({"outcome": "lost"})).await;
    assert_eq!(
        lost["company"]["follow_up_due_at"],
        Value::Null,
        "Lost has no follow-up"
    );
}

// ---------------------------------------------------------------------------------------------
// Stats

#[tokio::test]
async fn stats_count_entries_exits_stays_and_outcomes_of_a_known_history() {
    let app = spawn_app().await;
    let p = create_pipeline(
        &app,
        "Stats",
        &[
            ("Lead", "prospect"),
            ("Pitch", "prospect"),
            ("Client", "active"),
            ("Gone", "latent"),
        ],
    )
    .await;
    let id = p["id"].as_i64().unwrap_or_default();
    let (lead, pitch, client, gone) = (
        phase(&p, "Lead"),
        phase(&p, "Pitch"),
        phase(&p, "Client"),
        phase(&p, "Gone"),
    );
    // c1: Lead -> Pitch -> won (Client).
    let c1 = company_in(&app, "C1", lead).await;
    moved(&app, c1, json!({"to_phase_id": pitch})).await;
    moved(&app, c1, json!({"outcome": "won"})).await;
    // c2: Lead -> Pitch -> Lead (backwards) -> lost (Gone).
    let c2 = company_in(&app, "C2", lead).await;
    moved(&app, c2, json!({"to_phase_id": pitch})).await;
    moved(&app, c2, json!({"to_phase_id": lead})).await;
    moved(&app, c2, json!({"outcome": "lost", "reason": "Price"})).await;
    // c3: placed in Lead long before the period.
    let c3 = company_in(&app, "C3", lead).await;
    backdate_history(&app, c3, ago(Duration::days(40)));
    // A company of the default pipeline counts nowhere here.
    let default = default_pipeline(&app).await;
    let elsewhere = company_in(&app, "Elsewhere", phase(&default, "Uncontacted")).await;
    moved(&app, elsewhere, json!({"outcome": "won"})).await;
    set_seconds_in_previous(&app, c1, lead, pitch, 100);
    set_seconds_in_previous(&app, c2, lead, pitch, 200);
    set_seconds_in_previous(&app, c2, lead, gone, 600);
    set_seconds_in_previous(&app, c1, pitch, client, 1000);
    set_seconds_in_previous(&app, c2, pitch, lead, 3000);

    let from = Utc::now() - Duration::days(1);
    let to = Utc::now() + Duration::minutes(5);
    let stats = app
        .get(&format!(
            "/v1/pipelines/{id}/stats?from={}&to={}",
            rfc3339(from),
            rfc3339(to)
        ))
        .await;
    assert_eq!(stats.status, 200, "{}", stats.body);
    let s = &stats.body;
    assert_eq!(s["pipeline_id"], id);
    assert_eq!(
        s["phases"].as_array().map(|l| l
            .iter()
            .filter_map(|p| p["phase_id"].as_i64())
            .collect::<Vec<_>>()),
        Some(vec![lead, pitch, client, gone])
    );
    let figures = |phase_id: i64| {
        let p = phase_stats(s, phase_id);
        (
            p["current"].as_i64(),
            p["entered"].as_i64(),
            p["left"].as_i64(),
            p["median_seconds"].as_f64(),
            p["mean_seconds"].as_f64(),
            p["forward_share"].as_f64(),
        )
    };
    assert_eq!(
        figures(lead),
        (
            Some(1),
            Some(3),
            Some(3),
            Some(200.0),
            Some(300.0),
            Some(1.0)
        ),
        "{}",
        phase_stats(s, lead)
    );
    assert_eq!(
        figures(pitch),
        (
            Some(0),
            Some(2),
            Some(2),
            Some(2000.0),
            Some(2000.0),
            Some(0.5)
        ),
        "{}",
        phase_stats(s, pitch)
    );
    assert_eq!(
        figures(client),
        (Some(1), Some(1), Some(0), None, None, None),
        "{}",
        phase_stats(s, client)
    );
    assert_eq!(
        figures(gone),
        (Some(1), Some(1), Some(0), None, None, None),
        "{}",
        phase_stats(s, gone)
    );
    assert_eq!(s["won"], 1);
    assert_eq!(s["lost"], 1);
    assert_eq!(s["win_rate"].as_f64(), Some(0.5));

    // A period that only holds c3's placement.
    let old = app
        .get(&format!(
            "/v1/pipelines/{id}/stats?from={}&to={}",
            rfc3339(Utc::now() - Duration::days(60)),
            rfc3339(Utc::now() - Duration::days(20))
        ))
        .await;
    assert_eq!(old.status, 200, "{}", old.body);
    let o = &old.body;
    assert_eq!(phase_stats(o, lead)["entered"], 1);
    assert_eq!(phase_stats(o, lead)["left"], 0);
    assert_eq!(phase_stats(o, lead)["median_seconds"], Value::Null);
    assert_eq!(
        phase_stats(o, lead)["current"],
        1,
        "current is now, whatever the period"
    );
    assert_eq!(phase_stats(o, pitch)["entered"], 0);
    assert_eq!(o["won"], 0);
    assert_eq!(o["lost"], 0);
    assert_eq!(o["win_rate"], Value::Null);
}

#[tokio::test]
async fn stats_default_to_the_last_thirty_days() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let company = company_in(&app, "Acme", phase(&default, "Uncontacted")).await;
    moved(&app, company, json!({"outcome": "won"})).await;
    let stats = app.get(&format!("/v1/pipelines/{id}/stats")).await;
    assert_eq!(stats.status, 200, "{}", stats.body);
    let span = time(&stats.body["to"]) - time(&stats.body["from"]);
    assert_eq!(span, Duration::days(30));
    assert_eq!(stats.body["won"], 1);
    assert_eq!(stats.body["win_rate"].as_f64(), Some(1.0));
}

#[tokio::test]
async fn stats_with_from_not_before_to_are_400() {
    let app = spawn_app().await;
    let id = default_pipeline(&app).await["id"]
        .as_i64()
        .unwrap_or_default();
    let at = Utc::now();
    for (from, to) in [(at, at), (at, at - Duration::days(1))] {
        let answer = app
            .get(&format!(
                "/v1/pipelines/{id}/stats?from={}&to={}",
                rfc3339(from),
                rfc3339(to)
            ))
            .await;
        answer.assert_problem(400, "bad_request");
        assert_eq!(answer.error_fields(), vec!["from"]);
    }
    app.get(&format!("/v1/pipelines/{id}/stats?from=yesterday"))
        .await
        .assert_problem(400, "bad_request");
}

// ---------------------------------------------------------------------------------------------
// Findings of the review of the pipelines change

#[tokio::test]
async fn a_phase_can_be_read_on_its_own() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let contacted = phase(&default, "Contacted");
    let read = app
        .get(&format!("/v1/pipelines/{id}/phases/{contacted}"))
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body["name"], "Contacted");
    app.get(&format!("/v1/pipelines/{id}/phases/999999"))
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn phase_changes_honour_if_match_on_the_pipeline() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let version = default["version"].as_i64().unwrap_or_default();
    let contacted = phase(&default, "Contacted");
    let stale = format!("\"{}\"", version - 1);
    let path = format!("/v1/pipelines/{id}/phases/{contacted}");
    let refused = app
        .request(
            Method::PATCH,
            &path,
            Some(&app.token),
            Some(&json!({"name": "Called"})),
            &[("if-match", &stale)],
        )
        .await;
    refused.assert_problem(412, "precondition_failed");
    let current = format!("\"{version}\"");
    let accepted = app
        .request(
            Method::PATCH,
            &path,
            Some(&app.token),
            Some(&json!({"name": "Called"})),
            &[("if-match", &current)],
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    let add = app
        .request(
            Method::POST,
            &format!("/v1/pipelines/{id}/phases"),
            Some(&app.token),
            Some(&json!({"name": "Late", "status": "latent"})),
            &[("if-match", &current)],
        )
        .await;
    add.assert_problem(412, "precondition_failed");
}

#[tokio::test]
async fn concurrent_pipeline_patches_with_one_if_match_let_exactly_one_through() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let etag = format!("\"{}\"", default["version"]);
    let path = format!("/v1/pipelines/{id}");
    let patches = (0..8).map(|i| {
        let (app, path, etag) = (&app, path.clone(), etag.clone());
        async move {
            let body = json!({"name": format!("Name {i}")});
            app.request(
                Method::PATCH,
                &path,
                Some(&app.token),
                Some(&body),
                &[("if-match", etag.as_str())],
            )
            .await
        }
    });
    let mut statuses: Vec<u16> = futures_util::future::join_all(patches)
        .await
        .iter()
        .map(|a| a.status.as_u16())
        .collect();
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412, 412, 412, 412, 412, 412, 412]);
}

#[tokio::test]
async fn a_pipeline_has_at_most_fifty_phases() {
    let app = spawn_app().await;
    let created = create_pipeline(&app, "Long", &[]).await;
    let id = created["id"].as_i64().unwrap_or_default();
    for i in 0..50 {
        let added = app
            .post(
                &format!("/v1/pipelines/{id}/phases"),
                json!({"name": format!("P{i}"), "status": "prospect"}),
            )
            .await;
        assert_eq!(added.status, 201, "{}", added.body);
    }
    let refused = app
        .post(
            &format!("/v1/pipelines/{id}/phases"),
            json!({"name": "P50", "status": "prospect"}),
        )
        .await;
    refused.assert_problem(422, "validation_failed");
    assert_eq!(
        app.get(&format!("/v1/pipelines/{id}/board")).await.status,
        200
    );
}

#[tokio::test]
async fn removing_a_phase_does_not_count_a_win_twice() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let company = company_in(&app, "Won", phase(&default, "Proposal sent")).await;
    moved(&app, company, json!({"outcome": "won"})).await;
    let removed = app
        .delete(&format!(
            "/v1/pipelines/{id}/phases/{}?move_to={}",
            phase(&default, "Active client"),
            phase(&default, "Dormant")
        ))
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    let stats = app.get(&format!("/v1/pipelines/{id}/stats")).await;
    assert_eq!(stats.body["won"], 1, "{}", stats.body);
    let steps = history(&app, company).await;
    assert_eq!(
        steps[0]["outcome"],
        Value::Null,
        "the forced move is not a win"
    );
}

#[tokio::test]
async fn removing_the_only_phase_another_allows_next_points_it_at_move_to_or_is_refused() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let (first, second, third) = (
        phase(&default, "Uncontacted"),
        phase(&default, "Contacted"),
        phase(&default, "Proposal sent"),
    );
    let rule = app
        .patch(
            &format!("/v1/pipelines/{id}/phases/{first}"),
            json!({"allowed_next_phase_ids": [second]}),
        )
        .await;
    assert_eq!(rule.status, 200, "{}", rule.body);
    app.delete(&format!("/v1/pipelines/{id}/phases/{second}"))
        .await
        .assert_problem(409, "conflict");
    let removed = app
        .delete(&format!(
            "/v1/pipelines/{id}/phases/{second}?move_to={third}"
        ))
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    let now = pipeline(&app, id).await;
    let first_phase = now["phases"]
        .as_array()
        .and_then(|l| l.iter().find(|p| p["id"] == first).cloned())
        .unwrap_or_default();
    assert_eq!(first_phase["allowed_next_phase_ids"], json!([third]));
}

#[tokio::test]
async fn a_phase_status_change_gives_its_companies_a_new_version() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let contacted = phase(&default, "Contacted");
    let company = company_in(&app, "Acme", contacted).await;
    let before = read_company(&app, company).await["version"]
        .as_i64()
        .unwrap_or_default();
    app.patch(
        &format!("/v1/pipelines/{id}/phases/{contacted}"),
        json!({"status": "active"}),
    )
    .await;
    let after = read_company(&app, company).await;
    assert_eq!(after["relationship_status"], "active");
    assert_eq!(after["version"].as_i64(), Some(before + 1));
}

#[tokio::test]
async fn times_outside_the_years_one_to_9999_are_400() {
    let app = spawn_app().await;
    let id = default_pipeline(&app).await["id"]
        .as_i64()
        .unwrap_or_default();
    app.get(&format!(
        "/v1/pipelines/{id}/stats?to=-262143-01-01T00:00:00Z"
    ))
    .await
    .assert_problem(400, "bad_request");
    app.get(&format!(
        "/v1/pipelines/{id}/stats?from=2000-01-01T00:00:00Z&to=%2B10000-01-01T00:00:00Z"
    ))
    .await
    .assert_problem(400, "bad_request");
    app.get("/v1/companies?created_since=%2B10000-01-01T00:00:00Z")
        .await
        .assert_problem(400, "bad_request");
    let ok = app
        .get(&format!("/v1/pipelines/{id}/stats?to=0001-01-02T00:00:00Z"))
        .await;
    assert_ne!(ok.status.as_u16(), 500);
}

/// What the board's counts must be: each phase's shown companies, counted from a list.
async fn listed_counts(app: &TestApp, pipeline: &Value) -> Vec<i64> {
    let mut counts = Vec::new();
    for phase in phase_ids(pipeline) {
        let page = app
            .get(&format!(
                "/v1/companies?phase_id={phase}&show_in_pipeline=true&limit=100"
            ))
            .await;
        assert_eq!(page.status, 200, "{}", page.body);
        counts.push(ids(&page.body).len() as i64);
    }
    counts
}

async fn board_counts(app: &TestApp, pipeline_id: i64) -> Vec<i64> {
    let board = app.get(&format!("/v1/pipelines/{pipeline_id}/board")).await;
    assert_eq!(board.status, 200, "{}", board.body);
    board.body["columns"]
        .as_array()
        .map(|l| l.iter().filter_map(|c| c["count"].as_i64()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn board_counts_follow_every_way_a_company_enters_or_leaves_a_phase() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = default["id"].as_i64().unwrap_or_default();
    let uncontacted = phase(&default, "Uncontacted");
    let contacted = phase(&default, "Contacted");
    let proposal = phase(&default, "Proposal sent");
    let a = company_in(&app, "A", contacted).await;
    let b = company_in(&app, "B", contacted).await;
    let c = company_in(&app, "C", contacted).await;
    let d = company_in(&app, "D", uncontacted).await;
    company_with(
        &app,
        json!({"name": "Hidden", "phase_id": proposal, "show_in_pipeline": false}),
    )
    .await;
    assert_eq!(board_counts(&app, id).await, vec![1, 3, 0, 0, 0, 0]);

    // A move, a win, hiding, showing again, a removal from the pipeline, a delete, a merge.
    let moved = app
        .post(
            &format!("/v1/companies/{a}/transitions"),
            json!({"to_phase_id": proposal}),
        )
        .await;
    assert_eq!(moved.status, 201, "{}", moved.body);
    let won = app
        .post(
            &format!("/v1/companies/{b}/transitions"),
            json!({"outcome": "won"}),
        )
        .await;
    assert_eq!(won.status, 201, "{}", won.body);
    for shown in [false, true, false] {
        let patched = app
            .patch(
                &format!("/v1/companies/{c}"),
                json!({"show_in_pipeline": shown}),
            )
            .await;
        assert_eq!(patched.status, 200, "{}", patched.body);
    }
    let removed = app
        .post(
            &format!("/v1/companies/{d}/transitions"),
            json!({"action": "remove"}),
        )
        .await;
    assert_eq!(removed.status, 201, "{}", removed.body);
    let e = company_in(&app, "E", proposal).await;
    let f = company_in(&app, "F", proposal).await;
    assert_eq!(app.delete(&format!("/v1/companies/{e}")).await.status, 204);
    let merged = app
        .post(
            &format!("/v1/companies/{a}/merge"),
            json!({"duplicate_ids": [f]}),
        )
        .await;
    assert_eq!(merged.status, 200, "{}", merged.body);
    let imported = app
        .post(
            "/v1/companies/import",
            json!([
                {"name": "Imported 1", "phase_id": proposal},
                {"name": "Imported 2", "phase_id": proposal, "show_in_pipeline": false}
            ]),
        )
        .await;
    assert_eq!(imported.status, 200, "{}", imported.body);
    let listed = listed_counts(&app, &default).await;
    assert_eq!(board_counts(&app, id).await, listed);

    // Removing a phase moves its companies: the counts follow them.
    let g = company_in(&app, "G", contacted).await;
    let gone = app
        .delete(&format!(
            "/v1/pipelines/{id}/phases/{contacted}?move_to={uncontacted}"
        ))
        .await;
    assert_eq!(gone.status, 200, "{}", gone.body);
    assert_eq!(read_company(&app, g).await["phase_id"], uncontacted);
    let after = pipeline(&app, id).await;
    assert_eq!(
        board_counts(&app, id).await,
        listed_counts(&app, &after).await
    );

    // Folding PostgreSQL's deltas changes no count.
    let before = board_counts(&app, id).await;
    {
        let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
        persistence::pipelined::compact_phase_counts(&mut conn).unwrap_or_else(|e| panic!("{e:?}"));
    }
    assert_eq!(board_counts(&app, id).await, before);
}
