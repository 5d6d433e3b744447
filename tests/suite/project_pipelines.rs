//! Pipelines of projects beside pipelines of companies: every pipeline holds one record type,
//! fixed at creation, whose states its phases take; each type has its default pipeline.

use crate::common::pipelines::*;
use crate::common::*;
use serde_json::{Value, json};

async fn pipelines_of(app: &TestApp, record_type: &str) -> Vec<Value> {
    let list = app
        .get(&format!("/v1/pipelines?record_type={record_type}"))
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    list.body["data"].as_array().cloned().unwrap_or_default()
}

async fn default_project_pipeline(app: &TestApp) -> Value {
    pipelines_of(app, "project")
        .await
        .into_iter()
        .find(|p| p["is_default"] == true)
        .unwrap_or_else(|| panic!("no default project pipeline"))
}

fn names_and_states(pipeline: &Value) -> Vec<(String, String)> {
    pipeline["phases"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| {
            (
                p["name"].as_str().unwrap_or_default().to_owned(),
                p["status"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn every_account_starts_with_the_default_project_pipeline() {
    let app = spawn_app().await;
    let pipeline = default_project_pipeline(&app).await;
    assert_eq!(pipeline["record_type"], "project");
    assert_eq!(pipeline["name"], "Projects");
    let expected = [
        ("Lead", "proposed"),
        ("Proposal in preparation", "proposed"),
        ("Proposal submitted", "proposed"),
        ("Won", "won"),
        ("In progress", "active"),
        ("Completed", "completed"),
        ("Lost", "lost"),
        ("Cancelled", "cancelled"),
    ]
    .map(|(n, s)| (n.to_owned(), s.to_owned()));
    assert_eq!(names_and_states(&pipeline), expected);
    assert_eq!(pipeline["won_phase_id"], phase(&pipeline, "Won"));
    assert_eq!(pipeline["lost_phase_id"], phase(&pipeline, "Lost"));
    // The company pipeline is still the only company pipeline.
    let companies = pipelines_of(&app, "company").await;
    assert_eq!(companies.len(), 1);
    assert_eq!(companies[0]["record_type"], "company");
}

#[tokio::test]
async fn the_pipelines_list_filters_by_record_type_and_refuses_an_unknown_one() {
    let app = spawn_app().await;
    let all = app.get("/v1/pipelines").await;
    assert_eq!(all.body["data"].as_array().map(Vec::len), Some(2));
    assert_eq!(pipelines_of(&app, "project").await.len(), 1);
    app.get("/v1/pipelines?record_type=deal")
        .await
        .assert_problem(400, "bad_request");
}

#[tokio::test]
async fn a_project_pipeline_is_created_with_project_states_only() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/v1/pipelines",
            json!({"name": "Bids", "record_type": "project", "phases": [
                {"name": "Tender", "status": "proposed"},
                {"name": "Delivery", "status": "active"},
                {"name": "Done", "status": "completed"}
            ]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["record_type"], "project");
    assert_eq!(created.body["is_default"], false);
    // With no won phase, winning leads to the first active one; losing has no phase.
    assert_eq!(
        created.body["won_phase_id"],
        phase(&created.body, "Delivery")
    );
    assert_eq!(created.body["lost_phase_id"], Value::Null);

    let refused = app
        .post(
            "/v1/pipelines",
            json!({"name": "Mixed", "record_type": "project", "phases": [
                {"name": "Tender", "status": "proposed"},
                {"name": "Dormant", "status": "latent"}
            ]}),
        )
        .await;
    refused.assert_problem(422, "validation_failed");
    assert_eq!(refused.error_fields(), vec!["phases[1].status".to_owned()]);
    assert_eq!(pipelines_of(&app, "project").await.len(), 2, "nothing more");
}

#[tokio::test]
async fn a_phase_takes_only_the_states_of_its_pipelines_record_type() {
    let app = spawn_app().await;
    let projects = default_project_pipeline(&app).await;
    let companies = default_pipeline(&app).await;
    let (projects_id, companies_id) = (projects["id"].clone(), companies["id"].clone());
    app.post(
        &format!("/v1/pipelines/{projects_id}/phases"),
        json!({"name": "Dormant", "status": "latent"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    app.post(
        &format!("/v1/pipelines/{companies_id}/phases"),
        json!({"name": "Won", "status": "won"}),
    )
    .await
    .assert_problem(422, "validation_failed");
    let lead = phase(&projects, "Lead");
    let patched = app
        .patch(
            &format!("/v1/pipelines/{projects_id}/phases/{lead}"),
            json!({"status": "prospect"}),
        )
        .await;
    patched.assert_problem(422, "validation_failed");
    assert_eq!(patched.error_fields(), vec!["status".to_owned()]);
    // A project state is taken.
    let added = app
        .post(
            &format!("/v1/pipelines/{projects_id}/phases"),
            json!({"name": "On hold", "status": "active", "position": 5}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
}

#[tokio::test]
async fn a_pipelines_record_type_cannot_be_changed() {
    let app = spawn_app().await;
    let projects = default_project_pipeline(&app).await;
    let answer = app
        .patch(
            &format!("/v1/pipelines/{}", projects["id"]),
            json!({"record_type": "company"}),
        )
        .await;
    assert_eq!(answer.status, 422, "{}", answer.body);
    assert_eq!(default_project_pipeline(&app).await, projects);
}

#[tokio::test]
async fn a_company_is_refused_by_a_project_pipeline() {
    let app = spawn_app().await;
    let projects = default_project_pipeline(&app).await;
    let lead = phase(&projects, "Lead");
    let placed = app
        .post("/v1/companies", json!({"name": "Acme", "phase_id": lead}))
        .await;
    placed.assert_problem(422, "validation_failed");
    assert_eq!(placed.error_fields(), vec!["phase_id".to_owned()]);
    assert_eq!(app.get("/v1/companies").await.body["data"], json!([]));

    let company = app.post("/v1/companies", json!({"name": "Acme"})).await;
    assert_eq!(company.status, 201, "{}", company.body);
    let id = company.id();
    let moved = app
        .post(
            &format!("/v1/companies/{id}/transitions"),
            json!({"to_phase_id": lead}),
        )
        .await;
    moved.assert_problem(422, "validation_failed");
    // Out of every pipeline, it still cannot enter one of projects.
    let removed = app
        .post(
            &format!("/v1/companies/{id}/transitions"),
            json!({"action": "remove"}),
        )
        .await;
    assert!(removed.status.is_success(), "{}", removed.body);
    let again = app
        .post(
            &format!("/v1/companies/{id}/transitions"),
            json!({"to_phase_id": lead}),
        )
        .await;
    again.assert_problem(422, "validation_failed");
    assert_eq!(again.error_fields(), vec!["to_phase_id".to_owned()]);
    let now = app.get(&format!("/v1/companies/{id}")).await;
    assert_eq!(now.body["pipeline_id"], Value::Null);
}

#[tokio::test]
async fn a_company_moves_only_to_company_states() {
    let app = spawn_app().await;
    let company = app.post("/v1/companies", json!({"name": "Acme"})).await;
    let answer = app
        .post(
            &format!("/v1/companies/{}/transitions", company.id()),
            json!({"to_status": "completed"}),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), vec!["to_status".to_owned()]);
}

#[tokio::test]
async fn the_won_state_may_be_left_without_phases() {
    let app = spawn_app().await;
    let projects = default_project_pipeline(&app).await;
    let id = projects["id"].clone();
    let won = phase(&projects, "Won");
    let removed = app
        .delete(&format!("/v1/pipelines/{id}/phases/{won}"))
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    let states: Vec<String> = names_and_states(&removed.body)
        .into_iter()
        .map(|(_, s)| s)
        .collect();
    assert!(!states.contains(&"won".to_owned()), "{states:?}");
    // Winning now leads to the first active phase.
    assert_eq!(
        removed.body["won_phase_id"],
        phase(&removed.body, "In progress")
    );
}

#[tokio::test]
async fn making_a_project_pipeline_the_default_leaves_the_company_default_alone() {
    let app = spawn_app().await;
    let companies_default = default_pipeline(&app).await;
    let other = app
        .post(
            "/v1/pipelines",
            json!({"name": "Framework agreements", "record_type": "project", "phases": [
                {"name": "Call-off", "status": "proposed"}
            ]}),
        )
        .await;
    let made = app
        .patch(
            &format!("/v1/pipelines/{}", other.id()),
            json!({"is_default": true}),
        )
        .await;
    assert_eq!(made.status, 200, "{}", made.body);
    assert_eq!(default_project_pipeline(&app).await["id"], other.body["id"]);
    assert_eq!(default_pipeline(&app).await["id"], companies_default["id"]);
    assert_eq!(
        pipelines_of(&app, "project")
            .await
            .iter()
            .filter(|p| p["is_default"] == true)
            .count(),
        1
    );
}

/// Accounts that existed before pipelines had record types get the default project pipeline
/// from the migration that adds them, once; their company pipelines are kept as they were.
#[tokio::test]
async fn the_migration_gives_existing_accounts_their_project_pipeline() {
    use diesel::prelude::*;
    use diesel_migrations::MigrationHarness;
    use persistence::schema::{phases, pipelines};

    let app = spawn_app().await;
    let company_pipeline = default_pipeline(&app).await;
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    // Back to before record types (SQLite rebuilds tables with foreign keys off, as
    // Db::migrate runs them), then forward again.
    if app.db.backend() == persistence::Backend::Sqlite {
        diesel::connection::SimpleConnection::batch_execute(
            &mut *conn,
            "PRAGMA foreign_keys = OFF",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
    }
    // Every migration after record types (000013) goes back with it, then all forward.
    loop {
        let reverted = conn
            .revert_last_migration(app.db.migrations())
            .unwrap_or_else(|e| panic!("{e}"));
        if reverted.to_string().ends_with("000013") {
            break;
        }
    }
    let count = pipelines::table
        .filter(pipelines::account_id.eq(app.account_id))
        .count()
        .get_result::<i64>(&mut *conn)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(count, 1, "only the company pipeline before");
    conn.run_pending_migrations(app.db.migrations())
        .unwrap_or_else(|e| panic!("{e}"));
    if app.db.backend() == persistence::Backend::Sqlite {
        diesel::connection::SimpleConnection::batch_execute(&mut *conn, "PRAGMA foreign_keys = ON")
            .unwrap_or_else(|e| panic!("{e:?}"));
    }
    drop(conn);

    let projects = pipelines_of(&app, "project").await;
    assert_eq!(projects.len(), 1);
    assert_eq!(projects[0]["is_default"], true);
    assert_eq!(
        names_and_states(&projects[0]),
        names_and_states(&default_project_pipeline(&spawn_app().await).await)
    );
    assert_eq!(projects[0]["won_phase_id"], phase(&projects[0], "Won"));
    assert_eq!(projects[0]["lost_phase_id"], phase(&projects[0], "Lost"));
    assert_eq!(default_pipeline(&app).await, company_pipeline);
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    let project_phases = phases::table
        .inner_join(pipelines::table)
        .filter(pipelines::record_type.eq("project"))
        .filter(pipelines::account_id.eq(app.account_id))
        .count()
        .get_result::<i64>(&mut *conn)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(project_phases, 8);
}
