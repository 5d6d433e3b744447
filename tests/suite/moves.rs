//! Stage moves: each kind of move and each refusal, the history they leave, a company's place,
//! concurrent moves, and the company list's pipeline filters.

use std::collections::HashSet;

use crate::common::pipelines::*;
use crate::common::*;
use chrono::{Duration, NaiveDateTime, SubsecRound, Utc};
use diesel::prelude::*;
use futures_util::future::join_all;
use persistence::schema::companies;
use reqwest::Method;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Helpers

fn transitions_path(company: i64) -> String {
    format!("/v1/companies/{company}/transitions")
}

/// The ids in a list's `data`, sorted.
fn sorted_ids(body: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = body["data"]
        .as_array()
        .map(|l| l.iter().filter_map(|c| c["id"].as_i64()).collect())
        .unwrap_or_default();
    ids.sort_unstable();
    ids
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

/// Asserts a refused move: 422, naming `field` with `code`.
fn assert_refused(answer: &Answer, field: &str, code: &str) {
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), vec![field], "{}", answer.body);
    assert_eq!(error_codes(answer), vec![code], "{}", answer.body);
}

fn detail(answer: &Answer) -> String {
    answer.body["detail"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// A time `by` before now, as the database keeps it.
fn ago(by: Duration) -> NaiveDateTime {
    (Utc::now() - by).naive_utc().trunc_subsecs(6)
}

/// Sets when a company entered its phase, straight in the database.
fn set_phase_entered_at(app: &TestApp, company: i64, entered: NaiveDateTime) {
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    let updated = diesel::update(companies::table.filter(companies::id.eq(company)))
        .set(companies::phase_entered_at.eq(Some(entered)))
        .execute(&mut *conn)
        .unwrap_or_else(|e| panic!("cannot backdate company {company}: {e}"));
    assert_eq!(updated, 1);
}

fn seconds_of(company: &Value, phase_id: i64) -> Option<i64> {
    company["time_in_phases"]
        .as_array()
        .and_then(|l| l.iter().find(|t| t["phase_id"] == phase_id))
        .and_then(|t| t["seconds"].as_i64())
}

// ---------------------------------------------------------------------------------------------
// A company's place

#[tokio::test]
async fn a_company_created_into_a_phase_has_its_place_and_one_history_row() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let contacted = phase(&default, "Contacted");
    let created = app
        .post(
            "/v1/companies",
            json!({"name": "Acme", "phase_id": contacted}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.id();
    let body = &created.body;
    assert_eq!(body["pipeline_id"], default["id"]);
    assert_eq!(body["phase_id"], contacted);
    assert_eq!(body["relationship_status"], "prospect");
    assert_eq!(body["outcome"], Value::Null);
    assert_eq!(body["outcome_reason"], Value::Null);
    assert!(body["phase_entered_at"].is_string(), "{body}");
    assert_eq!(body["days_in_phase"], 0);
    assert_eq!(body["follow_up_due"], false);
    assert_eq!(
        created.header("etag"),
        Some(format!("\"{}\"", body["version"]).as_str())
    );
    assert_eq!(read_company(&app, id).await["phase_id"], contacted);
    let steps = history(&app, id).await;
    assert_eq!(steps.len(), 1, "{steps:?}");
    let first = &steps[0];
    assert_eq!(first["company_id"], id);
    assert_eq!(first["from_status"], "not_set");
    assert_eq!(first["from_phase_id"], Value::Null);
    assert_eq!(first["from_pipeline_id"], Value::Null);
    assert_eq!(first["to_phase_id"], contacted);
    assert_eq!(first["to_phase_name"], "Contacted");
    assert_eq!(first["to_pipeline_id"], default["id"]);
    assert_eq!(first["to_status"], "prospect");
    assert_eq!(first["outcome"], Value::Null);
    assert_eq!(first["seconds_in_previous_phase"], Value::Null);
    assert_eq!(first["actor"], json!({"kind": "user", "id": app.admin_id}));
    assert_eq!(first["created_at"], body["phase_entered_at"]);
}

#[tokio::test]
async fn a_company_outside_every_pipeline_is_not_set() {
    let app = spawn_app().await;
    let id = app.company("Acme").await;
    let read = read_company(&app, id).await;
    assert_eq!(read["relationship_status"], "not_set");
    assert_eq!(read["pipeline_id"], Value::Null);
    assert_eq!(read["phase_id"], Value::Null);
    assert_eq!(read["outcome"], Value::Null);
    assert_eq!(read["phase_entered_at"], Value::Null);
    assert_eq!(read["days_in_phase"], Value::Null);
    assert_eq!(read["follow_up_due_at"], Value::Null);
    assert_eq!(read["follow_up_due"], false);
    assert_eq!(read["time_in_phases"], json!([]));
    assert_eq!(history(&app, id).await, Vec::<Value>::new());
}

#[tokio::test]
async fn a_company_cannot_be_created_into_a_phase_of_another_account() {
    let app = spawn_app().await;
    let other = app.other_account("Other Co");
    let theirs = default_pipeline_of(&app, &other).await;
    for phase_id in [phase(&theirs, "Contacted"), 999_999] {
        let refused = app
            .post(
                "/v1/companies",
                json!({"name": "Acme", "phase_id": phase_id}),
            )
            .await;
        refused.assert_problem(422, "validation_failed");
        assert_eq!(refused.error_fields(), vec!["phase_id"]);
    }
    assert_eq!(app.get("/v1/companies").await.body["data"], json!([]));
}

#[tokio::test]
async fn days_in_phase_counts_whole_days_in_the_current_phase() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = company_in(&app, "Acme", phase(&default, "Uncontacted")).await;
    set_phase_entered_at(&app, id, ago(Duration::days(3) + Duration::hours(2)));
    assert_eq!(read_company(&app, id).await["days_in_phase"], 3);
    let after = moved(
        &app,
        id,
        json!({"to_phase_id": phase(&default, "Contacted")}),
    )
    .await;
    assert_eq!(after["company"]["days_in_phase"], 0);
}

// ---------------------------------------------------------------------------------------------
// Each kind of move

#[tokio::test]
async fn a_move_to_a_phase_answers_201_with_its_history_row_the_company_and_an_etag() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let uncontacted = phase(&default, "Uncontacted");
    let contacted = phase(&default, "Contacted");
    let id = company_in(&app, "Acme", uncontacted).await;
    let before = read_company(&app, id).await;
    let answer = move_company(&app, id, json!({"to_phase_id": contacted})).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(answer.body["changed"], true);
    let company = &answer.body["company"];
    assert_eq!(company["id"], id);
    assert_eq!(company["phase_id"], contacted);
    assert_eq!(company["pipeline_id"], default["id"]);
    assert_eq!(company["relationship_status"], "prospect");
    assert_eq!(
        company["version"].as_i64(),
        before["version"].as_i64().map(|v| v + 1)
    );
    assert_eq!(
        answer.header("etag"),
        Some(format!("\"{}\"", company["version"]).as_str())
    );
    let row = &answer.body["transition"];
    assert_eq!(row["company_id"], id);
    assert_eq!(row["from_phase_id"], uncontacted);
    assert_eq!(row["from_phase_name"], "Uncontacted");
    assert_eq!(row["to_phase_id"], contacted);
    assert_eq!(row["to_phase_name"], "Contacted");
    assert_eq!(row["from_status"], "prospect");
    assert_eq!(row["to_status"], "prospect");
    assert_eq!(row["actor"], json!({"kind": "user", "id": app.admin_id}));
    assert_eq!(row["created_at"], company["phase_entered_at"]);
    let steps = history(&app, id).await;
    assert_eq!(steps.len(), 2);
    assert_eq!(steps[0], *row, "the answer's row is the history's newest");
    assert_eq!(read_company(&app, id).await["phase_id"], contacted);
}

#[tokio::test]
async fn a_move_by_status_goes_to_the_first_phase_with_that_status() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = company_in(&app, "Acme", phase(&default, "Proposal sent")).await;
    let latent = moved(&app, id, json!({"to_status": "latent"})).await;
    assert_eq!(latent["company"]["phase_id"], phase(&default, "Dormant"));
    assert_eq!(latent["company"]["relationship_status"], "latent");
    assert_eq!(latent["transition"]["from_status"], "prospect");
    assert_eq!(latent["transition"]["to_status"], "latent");
    assert_eq!(latent["transition"]["outcome"], Value::Null);
    let active = moved(&app, id, json!({"to_status": "active"})).await;
    assert_eq!(
        active["company"]["phase_id"],
        phase(&default, "Active client")
    );
    assert_eq!(
        active["company"]["outcome"],
        Value::Null,
        "a status move is no outcome"
    );
    let prospect = moved(&app, id, json!({"to_status": "prospect"})).await;
    assert_eq!(
        prospect["company"]["phase_id"],
        phase(&default, "Uncontacted")
    );
}

#[tokio::test]
async fn a_move_by_status_of_a_company_in_no_pipeline_uses_the_default_pipeline() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    // Another pipeline, created later, with an active phase of its own.
    create_pipeline(&app, "Sales", &[("Client", "active")]).await;
    let id = app.company("Acme").await;
    let answer = moved(&app, id, json!({"to_status": "active"})).await;
    assert_eq!(answer["company"]["pipeline_id"], default["id"]);
    assert_eq!(
        answer["company"]["phase_id"],
        phase(&default, "Active client")
    );
    assert_eq!(answer["company"]["relationship_status"], "active");
    assert_eq!(answer["transition"]["from_status"], "not_set");
    assert_eq!(answer["transition"]["from_phase_id"], Value::Null);
    assert_eq!(
        answer["transition"]["seconds_in_previous_phase"],
        Value::Null
    );
}

#[tokio::test]
async fn a_move_by_status_stays_in_the_companys_own_pipeline() {
    let app = spawn_app().await;
    let sales = create_pipeline(
        &app,
        "Sales",
        &[
            ("Lead", "prospect"),
            ("Signed", "active"),
            ("Cold", "latent"),
        ],
    )
    .await;
    let id = company_in(&app, "Acme", phase(&sales, "Lead")).await;
    let answer = moved(&app, id, json!({"to_status": "latent"})).await;
    assert_eq!(answer["company"]["pipeline_id"], sales["id"]);
    assert_eq!(answer["company"]["phase_id"], phase(&sales, "Cold"));
}

#[tokio::test]
async fn a_move_by_status_to_a_status_the_pipeline_lacks_is_refused() {
    let app = spawn_app().await;
    let sales = create_pipeline(&app, "Sales", &[("Lead", "prospect")]).await;
    let id = company_in(&app, "Acme", phase(&sales, "Lead")).await;
    let refused = move_company(&app, id, json!({"to_status": "active"})).await;
    assert_refused(&refused, "to_status", "no_such_phase");
    assert_eq!(
        read_company(&app, id).await["phase_id"],
        phase(&sales, "Lead")
    );
}

#[tokio::test]
async fn winning_moves_to_the_won_phase_with_outcome_won() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = company_in(&app, "Acme", phase(&default, "Proposal sent")).await;
    let answer = moved(&app, id, json!({"outcome": "won"})).await;
    let company = &answer["company"];
    assert_eq!(company["phase_id"], phase(&default, "Active client"));
    assert_eq!(company["relationship_status"], "active");
    assert_eq!(company["outcome"], "won");
    assert_eq!(company["outcome_reason"], Value::Null);
    assert_eq!(answer["transition"]["outcome"], "won");
    assert_eq!(answer["transition"]["to_phase_name"], "Active client");
    assert_eq!(answer["transition"]["from_status"], "prospect");
    assert_eq!(answer["transition"]["to_status"], "active");
    let again = move_company(&app, id, json!({"outcome": "won"})).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["changed"], false);
    // A company in no pipeline is won into the default pipeline.
    let outside = app.company("Outside").await;
    let won = moved(&app, outside, json!({"outcome": "won"})).await;
    assert_eq!(won["company"]["pipeline_id"], default["id"]);
    assert_eq!(won["company"]["outcome"], "won");
}

#[tokio::test]
async fn winning_goes_to_the_won_phase_the_pipeline_names() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let proposal = phase(&default, "Proposal sent");
    let dormant = phase(&default, "Dormant");
    let chosen = app
        .patch(
            &format!("/v1/pipelines/{}", default["id"]),
            json!({"won_phase_id": proposal, "lost_phase_id": dormant}),
        )
        .await;
    assert_eq!(chosen.status, 200, "{}", chosen.body);
    let a = company_in(&app, "A", phase(&default, "Uncontacted")).await;
    let b = company_in(&app, "B", phase(&default, "Uncontacted")).await;
    let won = moved(&app, a, json!({"outcome": "won"})).await;
    assert_eq!(won["company"]["phase_id"], proposal);
    assert_eq!(won["company"]["outcome"], "won");
    let lost = moved(&app, b, json!({"outcome": "lost"})).await;
    assert_eq!(lost["company"]["phase_id"], dormant);
    assert_eq!(lost["company"]["outcome"], "lost");
}

#[tokio::test]
async fn losing_records_the_outcome_and_its_reason() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = company_in(&app, "Acme", phase(&default, "Proposal sent")).await;
    let answer = moved(
        &app,
        id,
        json!({"outcome": "lost", "reason": "  Chose a cheaper supplier "}),
    )
    .await;
    let company = &answer["company"];
    assert_eq!(company["phase_id"], phase(&default, "Lost"));
    assert_eq!(company["relationship_status"], "latent");
    assert_eq!(company["outcome"], "lost");
    assert_eq!(company["outcome_reason"], "Chose a cheaper supplier");
    assert_eq!(answer["transition"]["outcome"], "lost");
    assert_eq!(answer["transition"]["reason"], "Chose a cheaper supplier");
    let read = read_company(&app, id).await;
    assert_eq!(read["outcome"], "lost");
    assert_eq!(read["outcome_reason"], "Chose a cheaper supplier");
}

#[tokio::test]
async fn reopening_goes_back_to_the_first_phase_and_clears_the_outcome() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = company_in(&app, "Acme", phase(&default, "Proposal sent")).await;
    moved(&app, id, json!({"outcome": "lost", "reason": "Timing"})).await;
    let answer = moved(&app, id, json!({"action": "reopen"})).await;
    let company = &answer["company"];
    assert_eq!(company["phase_id"], phase(&default, "Uncontacted"));
    assert_eq!(company["pipeline_id"], default["id"]);
    assert_eq!(company["relationship_status"], "prospect");
    assert_eq!(company["outcome"], Value::Null);
    assert_eq!(company["outcome_reason"], Value::Null);
    assert_eq!(
        answer["transition"]["from_phase_id"],
        phase(&default, "Lost")
    );
    assert_eq!(answer["transition"]["outcome"], Value::Null);
    assert_eq!(answer["transition"]["from_status"], "latent");
    assert_eq!(answer["transition"]["to_status"], "prospect");
    assert_eq!(history(&app, id).await.len(), 3);
}

#[tokio::test]
async fn removing_takes_the_company_out_of_every_pipeline() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let active = phase(&default, "Active client");
    let id = company_in(&app, "Acme", phase(&default, "Contacted")).await;
    moved(&app, id, json!({"outcome": "won"})).await;
    let answer = moved(&app, id, json!({"action": "remove"})).await;
    let company = &answer["company"];
    assert_eq!(company["relationship_status"], "not_set");
    assert_eq!(company["pipeline_id"], Value::Null);
    assert_eq!(company["phase_id"], Value::Null);
    assert_eq!(company["outcome"], Value::Null);
    assert_eq!(company["phase_entered_at"], Value::Null);
    assert_eq!(company["days_in_phase"], Value::Null);
    assert_eq!(company["follow_up_due_at"], Value::Null);
    let row = &answer["transition"];
    assert_eq!(row["from_phase_id"], active);
    assert_eq!(row["from_status"], "active");
    assert_eq!(row["to_phase_id"], Value::Null);
    assert_eq!(row["to_pipeline_id"], Value::Null);
    assert_eq!(row["to_status"], "not_set");
    assert!(
        company["time_in_phases"]
            .as_array()
            .is_some_and(|l| l.iter().any(|t| t["phase_id"] == active)),
        "the time spent stays on record: {company}"
    );
    let again = move_company(&app, id, json!({"action": "remove"})).await;
    assert_eq!(again.status, 200, "{}", again.body);
    assert_eq!(again.body["changed"], false);
    // Out of the pipeline, it may go into any pipeline of the account.
    let sales = create_pipeline(&app, "Sales", &[("Lead", "prospect")]).await;
    let back = moved(&app, id, json!({"to_phase_id": phase(&sales, "Lead")})).await;
    assert_eq!(back["company"]["pipeline_id"], sales["id"]);
    assert_eq!(back["transition"]["from_status"], "not_set");
}

#[tokio::test]
async fn a_move_to_the_current_phase_changes_nothing_and_says_so() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let contacted = phase(&default, "Contacted");
    let id = company_in(&app, "Acme", contacted).await;
    let before = read_company(&app, id).await;
    let answer = move_company(&app, id, json!({"to_phase_id": contacted})).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["changed"], false);
    assert_eq!(answer.body["transition"], Value::Null);
    assert_eq!(answer.body["company"]["phase_id"], contacted);
    assert_eq!(answer.body["company"]["version"], before["version"]);
    assert_eq!(
        answer.header("etag"),
        Some(format!("\"{}\"", before["version"]).as_str())
    );
    assert_eq!(
        answer.body["company"]["phase_entered_at"],
        before["phase_entered_at"]
    );
    assert_eq!(history(&app, id).await.len(), 1, "no new history row");
    // By status, too: Uncontacted is the first prospect phase.
    let first = company_in(&app, "First", phase(&default, "Uncontacted")).await;
    let same = move_company(&app, first, json!({"to_status": "prospect"})).await;
    assert_eq!(same.status, 200, "{}", same.body);
    assert_eq!(same.body["changed"], false);
    assert_eq!(history(&app, first).await.len(), 1);
}

#[tokio::test]
async fn a_move_to_the_phase_a_won_company_is_in_changes_nothing() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let active = phase(&default, "Active client");
    let id = company_in(&app, "Acme", phase(&default, "Proposal sent")).await;
    moved(&app, id, json!({"outcome": "won"})).await;
    let before = read_company(&app, id).await;
    let answer = move_company(&app, id, json!({"to_phase_id": active})).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["changed"], false);
    let after = read_company(&app, id).await;
    assert_eq!(after["outcome"], "won");
    assert_eq!(after["phase_entered_at"], before["phase_entered_at"]);
    assert_eq!(history(&app, id).await.len(), 2, "no new history row");
}

// ---------------------------------------------------------------------------------------------
// Refusals

#[tokio::test]
async fn a_phase_of_another_pipeline_is_refused_naming_the_allowed_phases() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let sales = create_pipeline(&app, "Sales", &[("Lead", "prospect")]).await;
    let lead = phase(&sales, "Lead");
    let contacted = phase(&default, "Contacted");
    let id = company_in(&app, "Acme", contacted).await;
    let refused = move_company(&app, id, json!({"to_phase_id": lead})).await;
    assert_refused(&refused, "to_phase_id", "phase_not_allowed");
    let detail = detail(&refused);
    for (allowed, name) in default["phases"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter_map(|p| Some((p["id"].as_i64()?, p["name"].as_str()?.to_owned())))
    {
        assert!(
            detail.contains(&format!("{allowed} ({name})")),
            "{allowed} ({name}) missing from: {detail}"
        );
    }
    assert!(!detail.contains("(Lead)"), "{detail}");
    let read = read_company(&app, id).await;
    assert_eq!(read["phase_id"], contacted);
    assert_eq!(history(&app, id).await.len(), 1);
}

#[tokio::test]
async fn a_phase_of_another_account_is_refused() {
    let app = spawn_app().await;
    let other = app.other_account("Other Co");
    let theirs = default_pipeline_of(&app, &other).await;
    let their_phase = phase(&theirs, "Contacted");
    let default = default_pipeline(&app).await;
    let placed = company_in(&app, "Placed", phase(&default, "Uncontacted")).await;
    let outside = app.company("Outside").await;
    for id in [placed, outside] {
        let refused = move_company(&app, id, json!({"to_phase_id": their_phase})).await;
        assert_refused(&refused, "to_phase_id", "phase_not_allowed");
        let detail = detail(&refused);
        assert!(
            detail.contains(&format!("{} (Uncontacted)", phase(&default, "Uncontacted"))),
            "names this account's phases: {detail}"
        );
        for theirs in phase_ids(&theirs) {
            assert!(
                !detail.contains(&format!("{theirs} (")),
                "leaks the other account's phase {theirs}: {detail}"
            );
        }
    }
    assert_eq!(
        read_company(&app, placed).await["phase_id"],
        phase(&default, "Uncontacted")
    );
    assert_eq!(read_company(&app, outside).await["phase_id"], Value::Null);
    let their_board = app
        .get_as(&other, &format!("/v1/pipelines/{}/board", theirs["id"]))
        .await;
    assert!(
        their_board.body["columns"]
            .as_array()
            .is_some_and(|l| l.iter().all(|c| c["count"] == 0)),
        "{}",
        their_board.body
    );
}

#[tokio::test]
async fn phase_rules_refuse_a_move_they_do_not_allow_and_list_the_allowed_phases() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let uncontacted = phase(&default, "Uncontacted");
    let contacted = phase(&default, "Contacted");
    let proposal = phase(&default, "Proposal sent");
    let ruled = app
        .patch(
            &format!("/v1/pipelines/{}/phases/{uncontacted}", default["id"]),
            json!({"allowed_next_phase_ids": [contacted]}),
        )
        .await;
    assert_eq!(ruled.status, 200, "{}", ruled.body);
    let id = company_in(&app, "Acme", uncontacted).await;
    let refused = move_company(&app, id, json!({"to_phase_id": proposal})).await;
    assert_refused(&refused, "to_phase_id", "phase_not_allowed");
    let detail = detail(&refused);
    assert!(
        detail.contains(&format!("{contacted} (Contacted)")),
        "{detail}"
    );
    assert!(!detail.contains("(Proposal sent)"), "{detail}");
    assert!(!detail.contains("(Dormant)"), "{detail}");
    let by_status = move_company(&app, id, json!({"to_status": "latent"})).await;
    assert_refused(&by_status, "to_status", "phase_not_allowed");
    assert_eq!(read_company(&app, id).await["phase_id"], uncontacted);
    assert_eq!(history(&app, id).await.len(), 1);
    let allowed = moved(&app, id, json!({"to_phase_id": contacted})).await;
    assert_eq!(allowed["company"]["phase_id"], contacted);
}

#[tokio::test]
async fn winning_and_losing_are_allowed_whatever_the_phase_rules() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let uncontacted = phase(&default, "Uncontacted");
    let ruled = app
        .patch(
            &format!("/v1/pipelines/{}/phases/{uncontacted}", default["id"]),
            json!({"allowed_next_phase_ids": [phase(&default, "Contacted")]}),
        )
        .await;
    assert_eq!(ruled.status, 200, "{}", ruled.body);
    let a = company_in(&app, "A", uncontacted).await;
    let b = company_in(&app, "B", uncontacted).await;
    moved(&app, a, json!({"outcome": "won"})).await;
    moved(&app, b, json!({"outcome": "lost"})).await;
}

#[tokio::test]
async fn a_move_must_name_exactly_one_destination() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let contacted = phase(&default, "Contacted");
    let id = company_in(&app, "Acme", phase(&default, "Uncontacted")).await;
    for body in [
        json!({"to_phase_id": contacted, "to_status": "active"}),
        json!({"outcome": "won", "action": "reopen"}),
        json!({}),
    ] {
        let refused = move_company(&app, id, body.clone()).await;
        refused.assert_problem(422, "validation_failed");
        assert_eq!(error_codes(&refused), vec!["one_move"], "{body}");
    }
    for (body, field) in [
        (json!({"to_phase_id": contacted, "reason": "x"}), "reason"),
        (json!({"to_status": "hot"}), "to_status"),
        (json!({"to_status": "not_set"}), "to_status"),
        (json!({"outcome": "draw"}), "outcome"),
        (json!({"action": "archive"}), "action"),
        (
            json!({"to_phase_id": contacted, "phase_id": contacted}),
            "phase_id",
        ),
    ] {
        let refused = move_company(&app, id, body.clone()).await;
        refused.assert_problem(422, "validation_failed");
        assert_eq!(refused.error_fields(), vec![field], "{body}");
    }
    assert_eq!(history(&app, id).await.len(), 1);
    assert_eq!(
        read_company(&app, id).await["phase_id"],
        phase(&default, "Uncontacted")
    );
}

#[tokio::test]
async fn reopening_a_company_in_no_pipeline_is_refused() {
    let app = spawn_app().await;
    let id = app.company("Acme").await;
    let refused = move_company(&app, id, json!({"action": "reopen"})).await;
    assert_refused(&refused, "action", "not_in_pipeline");
    let read = read_company(&app, id).await;
    assert_eq!(read["relationship_status"], "not_set");
    assert_eq!(history(&app, id).await, Vec::<Value>::new());
}

#[tokio::test]
async fn a_move_with_a_stale_if_match_is_412_and_changes_nothing() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let contacted = phase(&default, "Contacted");
    let id = company_in(&app, "Acme", phase(&default, "Uncontacted")).await;
    let read = app.get(&format!("/v1/companies/{id}")).await;
    let etag = read
        .header("etag")
        .unwrap_or_else(|| panic!("no etag"))
        .to_owned();
    let first = app
        .request(
            Method::POST,
            &transitions_path(id),
            Some(&app.token),
            Some(&json!({"to_phase_id": contacted})),
            &[("if-match", etag.as_str())],
        )
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let stale = app
        .request(
            Method::POST,
            &transitions_path(id),
            Some(&app.token),
            Some(&json!({"outcome": "won"})),
            &[("if-match", etag.as_str())],
        )
        .await;
    stale.assert_problem(412, "precondition_failed");
    let after = read_company(&app, id).await;
    assert_eq!(after["phase_id"], contacted);
    assert_eq!(after["outcome"], Value::Null);
    assert_eq!(history(&app, id).await.len(), 2);
    // A patch of the company makes an earlier ETag stale for moves, too.
    let fresh = first.header("etag").unwrap_or_default().to_owned();
    let patched = app
        .patch(
            &format!("/v1/companies/{id}"),
            json!({"industry": "Retail"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    app.request(
        Method::POST,
        &transitions_path(id),
        Some(&app.token),
        Some(&json!({"outcome": "won"})),
        &[("if-match", fresh.as_str())],
    )
    .await
    .assert_problem(412, "precondition_failed");
}

#[tokio::test]
async fn a_viewer_cannot_move_a_company_but_a_member_can() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let contacted = phase(&default, "Contacted");
    let id = company_in(&app, "Acme", phase(&default, "Uncontacted")).await;
    let (_, viewer) = app.member("v@acme.test", "viewer", &["admin"]).await;
    app.post_as(
        &viewer,
        &transitions_path(id),
        json!({"to_phase_id": contacted}),
    )
    .await
    .assert_problem(403, "forbidden");
    let read_only = app.token_for(app.admin_id, &["companies:read"], None);
    app.post_as(
        &read_only,
        &transitions_path(id),
        json!({"to_phase_id": contacted}),
    )
    .await
    .assert_problem(403, "insufficient_scope");
    assert_eq!(history(&app, id).await.len(), 1);
    let viewed = app.get_as(&viewer, &transitions_path(id)).await;
    assert_eq!(
        viewed.status, 200,
        "a viewer reads the history: {}",
        viewed.body
    );
    let (member_id, member) = app.member("m@acme.test", "member", &["admin"]).await;
    let answer = app
        .post_as(
            &member,
            &transitions_path(id),
            json!({"to_phase_id": contacted}),
        )
        .await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    assert_eq!(
        answer.body["transition"]["actor"],
        json!({"kind": "user", "id": member_id})
    );
}

#[tokio::test]
async fn another_accounts_company_cannot_be_moved_nor_its_history_read() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = company_in(&app, "Acme", phase(&default, "Uncontacted")).await;
    let other = app.other_account("Other Co");
    let theirs = default_pipeline_of(&app, &other).await;
    app.post_as(
        &other,
        &transitions_path(id),
        json!({"to_phase_id": phase(&theirs, "Contacted")}),
    )
    .await
    .assert_problem(404, "not_found");
    app.post_as(&other, &transitions_path(id), json!({"action": "remove"}))
        .await
        .assert_problem(404, "not_found");
    app.get_as(&other, &transitions_path(id))
        .await
        .assert_problem(404, "not_found");
    assert_eq!(history(&app, id).await.len(), 1);
}

// ---------------------------------------------------------------------------------------------
// History

#[tokio::test]
async fn history_is_newest_first_with_phases_statuses_outcome_actor_and_time_spent() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let uncontacted = phase(&default, "Uncontacted");
    let contacted = phase(&default, "Contacted");
    let active = phase(&default, "Active client");
    let id = company_in(&app, "Acme", uncontacted).await;
    set_phase_entered_at(&app, id, ago(Duration::hours(1)));
    moved(&app, id, json!({"to_phase_id": contacted})).await;
    set_phase_entered_at(&app, id, ago(Duration::hours(2)));
    moved(&app, id, json!({"outcome": "won", "reason": "Great fit"})).await;
    let steps = history(&app, id).await;
    assert_eq!(steps.len(), 3, "{steps:?}");
    let phases: Vec<(Value, Value)> = steps
        .iter()
        .map(|s| (s["from_phase_id"].clone(), s["to_phase_id"].clone()))
        .collect();
    assert_eq!(
        phases,
        vec![
            (json!(contacted), json!(active)),
            (json!(uncontacted), json!(contacted)),
            (Value::Null, json!(uncontacted)),
        ]
    );
    let statuses: Vec<(&str, &str)> = steps
        .iter()
        .filter_map(|s| Some((s["from_status"].as_str()?, s["to_status"].as_str()?)))
        .collect();
    assert_eq!(
        statuses,
        vec![
            ("prospect", "active"),
            ("prospect", "prospect"),
            ("not_set", "prospect")
        ]
    );
    assert_eq!(steps[0]["outcome"], "won");
    assert_eq!(steps[0]["reason"], "Great fit");
    assert_eq!(steps[0]["from_phase_name"], "Contacted");
    assert_eq!(steps[0]["to_phase_name"], "Active client");
    assert_eq!(steps[1]["outcome"], Value::Null);
    for step in &steps {
        assert_eq!(step["actor"], json!({"kind": "user", "id": app.admin_id}));
        assert_eq!(step["company_id"], id);
        assert_eq!(
            step["from_pipeline_id"] == Value::Null,
            step["from_phase_id"] == Value::Null
        );
    }
    let spent = |s: &Value| s["seconds_in_previous_phase"].as_i64().unwrap_or(-1);
    assert!((7200..7260).contains(&spent(&steps[0])), "{}", steps[0]);
    assert!((3600..3660).contains(&spent(&steps[1])), "{}", steps[1]);
    assert_eq!(steps[2]["seconds_in_previous_phase"], Value::Null);
    let ids: Vec<i64> = steps.iter().filter_map(|s| s["id"].as_i64()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    let times: Vec<String> = steps
        .iter()
        .filter_map(|s| s["created_at"].as_str().map(str::to_owned))
        .collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
}

#[tokio::test]
async fn history_pages_of_one_walk_every_row() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let id = company_in(&app, "Acme", phase(&default, "Uncontacted")).await;
    moved(
        &app,
        id,
        json!({"to_phase_id": phase(&default, "Contacted")}),
    )
    .await;
    moved(
        &app,
        id,
        json!({"to_phase_id": phase(&default, "Proposal sent")}),
    )
    .await;
    moved(&app, id, json!({"outcome": "lost"})).await;
    moved(&app, id, json!({"action": "reopen"})).await;
    let all: Vec<i64> = history(&app, id)
        .await
        .iter()
        .filter_map(|s| s["id"].as_i64())
        .collect();
    assert_eq!(all.len(), 5);
    let mut walked = Vec::new();
    let mut path = format!("{}?limit=1", transitions_path(id));
    for _ in 0..10 {
        let page = app.get(&path).await;
        assert_eq!(page.status, 200, "{}", page.body);
        let data = page.body["data"].as_array().cloned().unwrap_or_default();
        assert!(data.len() <= 1, "{}", page.body);
        walked.extend(data.iter().filter_map(|s| s["id"].as_i64()));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => {
                path = format!("{}?limit=1&cursor={cursor}", transitions_path(id));
            }
            None => break,
        }
    }
    assert_eq!(walked, all, "every row once, newest first");
}

#[tokio::test]
async fn time_in_phases_covers_every_visited_phase() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let uncontacted = phase(&default, "Uncontacted");
    let contacted = phase(&default, "Contacted");
    let id = company_in(&app, "Acme", uncontacted).await;
    set_phase_entered_at(&app, id, ago(Duration::hours(1)));
    moved(&app, id, json!({"to_phase_id": contacted})).await;
    set_phase_entered_at(&app, id, ago(Duration::hours(2)));
    moved(&app, id, json!({"to_phase_id": uncontacted})).await;
    set_phase_entered_at(&app, id, ago(Duration::minutes(30)));
    let read = read_company(&app, id).await;
    let visited: HashSet<i64> = read["time_in_phases"]
        .as_array()
        .map(|l| l.iter().filter_map(|t| t["phase_id"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(visited, HashSet::from([uncontacted, contacted]), "{read}");
    let first = seconds_of(&read, uncontacted).unwrap_or_default();
    assert!(
        (5400..5460).contains(&first),
        "an hour before plus half an hour now: {first}"
    );
    let second = seconds_of(&read, contacted).unwrap_or_default();
    assert!((7200..7260).contains(&second), "two hours: {second}");
    let listed = app
        .get(&format!("/v1/companies?phase_id={uncontacted}"))
        .await;
    assert_eq!(
        seconds_of(&listed.body["data"][0], contacted).map(|s| s / 60),
        Some(second / 60),
        "lists carry the same figures"
    );
}

// ---------------------------------------------------------------------------------------------
// Concurrency

#[tokio::test]
async fn concurrent_moves_of_one_company_leave_an_unbroken_history() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let contacted = phase(&default, "Contacted");
    let proposal = phase(&default, "Proposal sent");
    let id = company_in(&app, "Acme", phase(&default, "Uncontacted")).await;
    let before = read_company(&app, id).await;
    let path = transitions_path(id);
    let answers = join_all((0..10).map(|n| {
        let target = if n % 2 == 0 { contacted } else { proposal };
        app.post(&path, json!({"to_phase_id": target}))
    }))
    .await;
    let mut changed = 0;
    for answer in &answers {
        assert!(
            answer.status == 201 || answer.status == 200,
            "{}: {}",
            answer.status,
            answer.body
        );
        if answer.status == 201 {
            changed += 1;
            assert_eq!(answer.body["changed"], true);
        } else {
            assert_eq!(answer.body["changed"], false);
        }
    }
    assert!(changed >= 1);
    let steps = history(&app, id).await;
    assert_eq!(
        steps.len(),
        1 + changed,
        "one row per move that changed something"
    );
    // Oldest first, each row starts where the one before ended.
    let oldest_first: Vec<&Value> = steps.iter().rev().collect();
    for pair in oldest_first.windows(2) {
        assert_eq!(
            pair[1]["from_phase_id"], pair[0]["to_phase_id"],
            "the history forks between {} and {}",
            pair[0], pair[1]
        );
        assert_ne!(pair[1]["from_phase_id"], pair[1]["to_phase_id"]);
    }
    let company = read_company(&app, id).await;
    assert_eq!(company["phase_id"], steps[0]["to_phase_id"]);
    assert_eq!(
        company["version"].as_i64(),
        before["version"]
            .as_i64()
            .map(|v| v + i64::try_from(changed).unwrap_or_default())
    );
}

// ---------------------------------------------------------------------------------------------
// List filters

#[tokio::test]
async fn company_lists_filter_by_pipeline_phase_status_and_outcome() {
    let app = spawn_app().await;
    let default = default_pipeline(&app).await;
    let default_id = default["id"].as_i64().unwrap_or_default();
    let uncontacted = phase(&default, "Uncontacted");
    let sales = create_pipeline(&app, "Sales", &[("Lead", "prospect")]).await;
    let sales_id = sales["id"].as_i64().unwrap_or_default();
    let prospect = company_in(&app, "Prospect", uncontacted).await;
    let won = company_in(&app, "Won", uncontacted).await;
    moved(&app, won, json!({"outcome": "won"})).await;
    let lost = company_in(&app, "Lost", uncontacted).await;
    moved(&app, lost, json!({"outcome": "lost"})).await;
    let outside = app.company("Outside").await;
    let removed = company_in(&app, "Removed", uncontacted).await;
    moved(&app, removed, json!({"action": "remove"})).await;
    let lead = company_in(&app, "Lead", phase(&sales, "Lead")).await;
    let cases: Vec<(String, Vec<i64>)> = vec![
        (
            format!("pipeline_id={default_id}"),
            vec![prospect, won, lost],
        ),
        (format!("pipeline_id={sales_id}"), vec![lead]),
        (format!("phase_id={uncontacted}"), vec![prospect]),
        (
            format!("phase_id={}", phase(&default, "Active client")),
            vec![won],
        ),
        ("relationship_status=prospect".into(), vec![prospect, lead]),
        ("relationship_status=active".into(), vec![won]),
        ("relationship_status=latent".into(), vec![lost]),
        ("relationship_status=not_set".into(), vec![outside, removed]),
        ("outcome=won".into(), vec![won]),
        ("outcome=lost".into(), vec![lost]),
        (
            format!("pipeline_id={default_id}&relationship_status=prospect"),
            vec![prospect],
        ),
        (format!("pipeline_id={sales_id}&outcome=won"), vec![]),
    ];
    for (query, mut expected) in cases {
        let listed = app.get(&format!("/v1/companies?{query}")).await;
        assert_eq!(listed.status, 200, "{query}: {}", listed.body);
        expected.sort_unstable();
        assert_eq!(sorted_ids(&listed.body), expected, "{query}");
    }
}

#[tokio::test]
async fn a_bad_relationship_status_or_outcome_filter_is_400_naming_it() {
    let app = spawn_app().await;
    for (query, field) in [
        ("relationship_status=hot", "relationship_status"),
        ("relationship_status=", "relationship_status"),
        ("outcome=draw", "outcome"),
        ("phase_id=abc", "phase_id"),
    ] {
        let answer = app.get(&format!("/v1/companies?{query}")).await;
        answer.assert_problem(400, "bad_request");
        assert!(
            answer.error_fields().contains(&field.to_owned())
                || answer.body["detail"]
                    .as_str()
                    .is_some_and(|d| d.contains(field)),
            "{query}: {}",
            answer.body
        );
    }
    let named = app.get("/v1/companies?relationship_status=hot").await;
    assert_eq!(named.error_fields(), vec!["relationship_status"]);
}

// ---------------------------------------------------------------------------------------------
// Findings of the review of the pipelines change

#[tokio::test]
async fn only_a_won_or_lost_company_can_be_reopened() {
    let app = spawn_app().await;
    let pipeline = default_pipeline(&app).await;
    let id = company_in(&app, "Open", phase(&pipeline, "Proposal sent")).await;
    let refused = move_company(&app, id, json!({"action": "reopen"})).await;
    assert_refused(&refused, "action", "not_closed");
    assert_eq!(history(&app, id).await.len(), 1, "nothing was written");
}

#[tokio::test]
async fn winning_in_the_won_phase_keeps_the_stay_and_its_entry_time() {
    let app = spawn_app().await;
    let pipeline = default_pipeline(&app).await;
    let active = phase(&pipeline, "Active client");
    let id = company_in(&app, "Client", active).await;
    let entered = read_company(&app, id).await["phase_entered_at"].clone();
    let won = moved(&app, id, json!({"outcome": "won"})).await;
    assert_eq!(won["company"]["outcome"], "won");
    assert_eq!(
        won["company"]["phase_entered_at"], entered,
        "the stay goes on"
    );
    assert_eq!(won["transition"]["seconds_in_previous_phase"], Value::Null);
    let stats = app
        .get(&format!("/v1/pipelines/{}/stats", pipeline["id"]))
        .await;
    let row = stats.body["phases"]
        .as_array()
        .and_then(|l| l.iter().find(|p| p["phase_id"] == active).cloned())
        .unwrap_or_default();
    assert_eq!(row["entered"], 1, "one stay, entered once: {}", stats.body);
    assert_eq!(stats.body["won"], 1);
}

#[tokio::test]
async fn concurrent_moves_and_a_phase_status_change_leave_every_company_with_its_phase_status() {
    let app = spawn_app().await;
    let pipeline = default_pipeline(&app).await;
    let pipeline_id = pipeline["id"].as_i64().unwrap_or_default();
    let (from, to) = (
        phase(&pipeline, "Uncontacted"),
        phase(&pipeline, "Contacted"),
    );
    let mut ids = Vec::new();
    for i in 0..12 {
        ids.push(company_in(&app, &format!("C{i}"), from).await);
    }
    let moves = ids
        .iter()
        .map(|id| move_company(&app, *id, json!({"to_phase_id": to})));
    let phase_path = format!("/v1/pipelines/{pipeline_id}/phases/{to}");
    let flips = ["active", "prospect", "latent"].into_iter().map(|status| {
        let path = phase_path.clone();
        let app = &app;
        async move { app.patch(&path, json!({"status": status})).await }
    });
    let (moved, flipped) = futures_util::future::join(join_all(moves), join_all(flips)).await;
    assert!(
        moved.iter().all(|a| a.status == 201),
        "{:?}",
        moved.iter().map(|a| a.status).collect::<Vec<_>>()
    );
    assert!(flipped.iter().all(|a| a.status == 200));
    let now = app
        .get(&format!("/v1/pipelines/{pipeline_id}/phases/{to}"))
        .await;
    let status = now.body["status"].as_str().unwrap_or_default().to_owned();
    for id in ids {
        assert_eq!(
            read_company(&app, id).await["relationship_status"],
            status.as_str(),
            "company {id}"
        );
    }
}
