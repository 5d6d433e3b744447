//! Projects through the one pipeline engine: the board with values per currency, phase
//! removal and phase changes in a project pipeline, probabilities from the phase, stats about
//! values, the company's view of its projects, merges, and who is on a project.

use crate::common::pipelines::*;
use crate::common::statements::{CountingConnection, Statements};
use crate::common::*;
use reqwest::Method;
use serde_json::{Value, json};

async fn project_pipeline(app: &TestApp) -> Value {
    let list = app.get("/v1/pipelines?record_type=project").await;
    assert_eq!(list.status, 200, "{}", list.body);
    list.body["data"]
        .as_array()
        .and_then(|l| l.iter().find(|p| p["is_default"] == true).cloned())
        .unwrap_or_else(|| panic!("no default project pipeline: {}", list.body))
}

async fn project(app: &TestApp, body: Value) -> Value {
    let answer = app.post("/v1/projects", body).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.body
}

async fn move_project(app: &TestApp, id: i64, body: Value) -> Answer {
    app.post(&format!("/v1/projects/{id}/transitions"), body)
        .await
}

fn column(board: &Value, phase_id: i64) -> &Value {
    board["columns"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["phase"]["id"] == phase_id))
        .unwrap_or_else(|| panic!("no column for phase {phase_id}: {board}"))
}

async fn put(app: &TestApp, path: &str, body: Value) -> Answer {
    app.request(Method::PUT, path, Some(&app.token), Some(&body), &[])
        .await
}

/// Puts a new contact, Ana, on a project as its decision maker; her id.
async fn with_decision_maker(app: &TestApp, project: &dyn std::fmt::Display) -> i64 {
    let ana = app
        .post("/v1/contacts", json!({"first_name": "Ana"}))
        .await
        .id();
    let added = put(
        app,
        &format!("/v1/projects/{project}/contacts/{ana}"),
        json!({"role": "decision_maker"}),
    )
    .await;
    assert_eq!(added.status, 201, "{}", added.body);
    ana
}

#[tokio::test]
async fn a_project_board_sums_each_column_per_currency_with_the_weighted_value() {
    let app = spawn_app().await;
    let pipeline = project_pipeline(&app).await;
    let lead = phase(&pipeline, "Lead");
    let submitted = phase(&pipeline, "Proposal submitted");
    for (name, amount, currency, probability, phase_id) in [
        ("A", "1000.00", "EUR", Some(50), lead),
        ("B", "2000.50", "EUR", None, lead),
        ("C", "300", "USD", Some(20), lead),
        ("D", "999.99", "GBP", None, submitted),
    ] {
        let mut body = json!({"name": name, "value": {"amount": amount, "currency": currency},
                              "phase_id": phase_id});
        if let Some(p) = probability {
            body["probability"] = json!(p);
        }
        project(&app, body).await;
    }
    let board = app
        .get(&format!("/v1/pipelines/{}/board", pipeline["id"]))
        .await;
    assert_eq!(board.status, 200, "{}", board.body);
    assert_eq!(board.body["record_type"], "project");
    let lead_column = column(&board.body, lead);
    assert_eq!(lead_column["count"], 3);
    // EUR: 1000.00 at 50 % and 2000.50 at the Lead phase's 10 %.
    assert_eq!(
        lead_column["values"],
        json!([
            {"currency": "EUR", "amount": "3000.50", "weighted_amount": "700.05"},
            {"currency": "USD", "amount": "300.00", "weighted_amount": "60.00"},
        ])
    );
    assert_eq!(
        column(&board.body, submitted)["values"],
        json!([{"currency": "GBP", "amount": "999.99", "weighted_amount": "499.995"}])
    );
    let card = &lead_column["cards"][1];
    assert_eq!(card["name"], "B");
    assert_eq!(
        card["value"],
        json!({"amount": "2000.50", "currency": "EUR"})
    );
    assert_eq!(
        card["probability"], 10,
        "the phase's, as the project has none"
    );
}

#[tokio::test]
async fn board_values_follow_moves_value_changes_and_deletes() {
    let app = spawn_app().await;
    let pipeline = project_pipeline(&app).await;
    let lead = phase(&pipeline, "Lead");
    let won = phase(&pipeline, "Won");
    let a = project(
        &app,
        json!({"name": "A", "value": {"amount": "100", "currency": "EUR"}, "probability": 100}),
    )
    .await;
    let b = project(
        &app,
        json!({"name": "B", "value": {"amount": "50", "currency": "EUR"}, "probability": 100}),
    )
    .await;
    let moved = move_project(
        &app,
        a["id"].as_i64().unwrap_or(0),
        json!({"outcome": "won"}),
    )
    .await;
    assert_eq!(moved.status, 201, "{}", moved.body);
    let patched = app
        .patch(
            &format!("/v1/projects/{}", b["id"]),
            json!({"value": {"amount": "70", "currency": "USD"}}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let board = app
        .get(&format!("/v1/pipelines/{}/board", pipeline["id"]))
        .await;
    assert_eq!(
        column(&board.body, lead)["values"],
        json!([{"currency": "USD", "amount": "70.00", "weighted_amount": "70.00"}])
    );
    assert_eq!(
        column(&board.body, won)["values"],
        json!([{"currency": "EUR", "amount": "100.00", "weighted_amount": "100.00"}])
    );
    let deleted = app.delete(&format!("/v1/projects/{}", b["id"])).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let board = app
        .get(&format!("/v1/pipelines/{}/board", pipeline["id"]))
        .await;
    assert_eq!(column(&board.body, lead)["values"], json!([]));
    assert_eq!(column(&board.body, lead)["count"], 0);
}

#[tokio::test]
async fn a_filtered_project_board_counts_and_sums_what_the_filter_keeps() {
    let app = spawn_app().await;
    let pipeline = project_pipeline(&app).await;
    let lead = phase(&pipeline, "Lead");
    project(
        &app,
        json!({"name": "Tagged", "tags": ["big"], "value": {"amount": "10", "currency": "EUR"}}),
    )
    .await;
    project(
        &app,
        json!({"name": "Other", "value": {"amount": "5", "currency": "EUR"}}),
    )
    .await;
    let board = app
        .get(&format!("/v1/pipelines/{}/board?tag=big", pipeline["id"]))
        .await;
    assert_eq!(board.status, 200, "{}", board.body);
    let lead_column = column(&board.body, lead);
    assert_eq!(lead_column["count"], 1);
    assert_eq!(lead_column["values"][0]["amount"], "10.00");
}

#[tokio::test]
async fn reading_a_project_board_takes_projects_read() {
    let app = spawn_app().await;
    let pipeline = project_pipeline(&app).await;
    let (_, token) = app
        .member(
            "reader@example.com",
            "member",
            &["pipelines:read", "companies:read"],
        )
        .await;
    let answer = app
        .get_as(&token, &format!("/v1/pipelines/{}/board", pipeline["id"]))
        .await;
    answer.assert_problem(403, "insufficient_scope");
}

#[tokio::test]
async fn removing_a_project_phase_moves_its_projects_with_history_and_events() {
    let app = spawn_app().await;
    let pipeline = project_pipeline(&app).await;
    let lead = phase(&pipeline, "Lead");
    let preparing = phase(&pipeline, "Proposal in preparation");
    let mut ids = Vec::new();
    for name in ["One", "Two"] {
        ids.push(project(&app, json!({"name": name})).await["id"].clone());
    }
    let refused = app
        .delete(&format!("/v1/pipelines/{}/phases/{lead}", pipeline["id"]))
        .await;
    refused.assert_problem(409, "conflict");
    assert!(
        refused.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("2 projects")),
        "{}",
        refused.body
    );
    let removed = app
        .delete(&format!(
            "/v1/pipelines/{}/phases/{lead}?move_to={preparing}",
            pipeline["id"]
        ))
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);
    for id in &ids {
        let read = app.get(&format!("/v1/projects/{id}")).await;
        assert_eq!(read.body["phase_id"], preparing, "{}", read.body);
        assert_eq!(read.body["version"], 2, "a move is a new version");
        let history = app.get(&format!("/v1/projects/{id}/transitions")).await;
        assert_eq!(history.body["data"][0]["from_phase_id"], lead);
        assert_eq!(history.body["data"][0]["to_phase_id"], preparing);
    }
    let events = app.get("/v1/events?types=project.phase_changed").await;
    assert_eq!(events.status, 200, "{}", events.body);
    assert_eq!(events.body["data"].as_array().map(Vec::len), Some(2));
}

#[tokio::test]
async fn a_phase_state_change_reaches_the_projects_in_it() {
    let app = spawn_app().await;
    let pipeline = project_pipeline(&app).await;
    let lead = phase(&pipeline, "Lead");
    let id = project(&app, json!({"name": "P"})).await["id"].clone();
    let changed = app
        .patch(
            &format!("/v1/pipelines/{}/phases/{lead}", pipeline["id"]),
            json!({"status": "cancelled"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let read = app.get(&format!("/v1/projects/{id}")).await;
    assert_eq!(read.body["state"], "cancelled", "{}", read.body);
    assert_eq!(read.body["version"], 2);
    let refused = app
        .patch(
            &format!("/v1/pipelines/{}/phases/{lead}", pipeline["id"]),
            json!({"status": "prospect"}),
        )
        .await;
    refused.assert_problem(422, "validation_failed");
}

#[tokio::test]
async fn a_project_without_a_probability_takes_its_phase_s_and_follows_it() {
    let app = spawn_app().await;
    let pipeline = project_pipeline(&app).await;
    let lead = phase(&pipeline, "Lead");
    let created = project(&app, json!({"name": "P"})).await;
    assert_eq!(created["probability"], 10);
    assert_eq!(created["probability_source"], "phase");
    let changed = app
        .patch(
            &format!("/v1/pipelines/{}/phases/{lead}", pipeline["id"]),
            json!({"probability": 30}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let read = app.get(&format!("/v1/projects/{}", created["id"])).await;
    assert_eq!(read.body["probability"], 30);
    let own = app
        .patch(
            &format!("/v1/projects/{}", created["id"]),
            json!({"probability": 75}),
        )
        .await;
    assert_eq!(own.body["probability"], 75);
    assert_eq!(own.body["probability_source"], "project");
    let back = app
        .patch(
            &format!("/v1/projects/{}", created["id"]),
            json!({"probability": null}),
        )
        .await;
    assert_eq!(back.body["probability"], 30);
    let bad = app
        .patch(
            &format!("/v1/pipelines/{}/phases/{lead}", pipeline["id"]),
            json!({"probability": 101}),
        )
        .await;
    bad.assert_problem(422, "validation_failed");
    assert_eq!(bad.error_fields(), ["probability"]);
}

#[tokio::test]
async fn project_stats_give_value_won_and_lost_and_a_forecast_by_month() {
    let app = spawn_app().await;
    let pipeline = project_pipeline(&app).await;
    let won = project(
        &app,
        json!({"name": "Won", "value": {"amount": "300", "currency": "EUR"}}),
    )
    .await;
    let lost = project(
        &app,
        json!({"name": "Lost", "value": {"amount": "100", "currency": "EUR"}}),
    )
    .await;
    project(
        &app,
        json!({"name": "Open", "value": {"amount": "1000", "currency": "USD"},
               "expected_finish_date": "2027-03-15", "probability": 40}),
    )
    .await;
    for (id, outcome) in [(&won["id"], "won"), (&lost["id"], "lost")] {
        let moved = move_project(&app, id.as_i64().unwrap_or(0), json!({"outcome": outcome})).await;
        assert_eq!(moved.status, 201, "{}", moved.body);
    }
    let stats = app
        .get(&format!("/v1/pipelines/{}/stats", pipeline["id"]))
        .await;
    assert_eq!(stats.status, 200, "{}", stats.body);
    let values = &stats.body["values"];
    assert_eq!(stats.body["won"], 1);
    assert_eq!(stats.body["win_rate"], 0.5);
    assert_eq!(values["won"][0]["amount"], "300.00");
    assert_eq!(values["lost"][0]["amount"], "100.00");
    assert_eq!(
        values["win_rate_by_value"],
        json!([{"currency": "EUR", "rate": 0.75}])
    );
    assert!(
        values["mean_days_to_won"]
            .as_f64()
            .is_some_and(|d| d >= 0.0)
    );
    assert_eq!(
        values["forecast"],
        json!([{"month": "2027-03", "values": [
            {"currency": "USD", "amount": "1000.00", "weighted_amount": "400.00"}
        ]}])
    );
    // Company pipelines have no value figures.
    let company = default_pipeline(&app).await;
    let company_stats = app
        .get(&format!("/v1/pipelines/{}/stats", company["id"]))
        .await;
    assert_eq!(company_stats.body["values"], Value::Null);
}

#[tokio::test]
async fn a_company_shows_its_open_projects_and_won_value_and_lists_its_projects() {
    let app = spawn_app().await;
    let company = app.company("Client").await;
    let other = app.company("Other").await;
    let a = project(
        &app,
        json!({"name": "A", "company_id": company, "value": {"amount": "10.5", "currency": "EUR"}}),
    )
    .await;
    project(
        &app,
        json!({"name": "B", "company_id": company, "value": {"amount": "3", "currency": "EUR"}}),
    )
    .await;
    project(&app, json!({"name": "C", "company_id": other})).await;
    let moved = move_project(
        &app,
        a["id"].as_i64().unwrap_or(0),
        json!({"outcome": "won"}),
    )
    .await;
    assert_eq!(moved.status, 201, "{}", moved.body);
    let read = app.get(&format!("/v1/companies/{company}")).await;
    assert_eq!(read.body["open_projects"], 2, "{}", read.body);
    assert_eq!(
        read.body["won_value"],
        json!([{"currency": "EUR", "amount": "10.50"}])
    );
    let list = app.get(&format!("/v1/companies/{company}/projects")).await;
    assert_eq!(list.status, 200, "{}", list.body);
    let names: Vec<&str> = list.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(names.len(), 2);
    assert!(names.contains(&"A") && names.contains(&"B"));
    let missing = app.get("/v1/companies/999999/projects").await;
    missing.assert_problem(404, "not_found");
}

#[tokio::test]
async fn merging_companies_moves_their_projects_to_the_survivor() {
    let app = spawn_app().await;
    let survivor = app.company("Survivor").await;
    let duplicate = app.company("Duplicate").await;
    let p = project(&app, json!({"name": "P", "company_id": duplicate})).await;
    let merged = app
        .post(
            &format!("/v1/companies/{survivor}/merge"),
            json!({"duplicate_ids": [duplicate]}),
        )
        .await;
    assert_eq!(merged.status, 200, "{}", merged.body);
    let read = app.get(&format!("/v1/projects/{}", p["id"])).await;
    assert_eq!(read.body["company_id"], survivor);
    assert_eq!(read.body["version"], 2);
    let events = app.get("/v1/events?types=project.updated").await;
    assert_eq!(events.body["data"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn contacts_and_team_members_go_on_a_project_with_their_roles() {
    let app = spawn_app().await;
    let p = project(&app, json!({"name": "P"})).await;
    let id = p["id"].as_i64().unwrap_or(0);
    let contact = app
        .post("/v1/contacts", json!({"first_name": "Ana"}))
        .await
        .id();
    let added = put(
        &app,
        &format!("/v1/projects/{id}/contacts/{contact}"),
        json!({"role": "decision_maker"}),
    )
    .await;
    assert_eq!(added.status, 201, "{}", added.body);
    assert_eq!(
        added.body,
        json!({"contact_id": contact, "role": "decision_maker"})
    );
    assert_eq!(added.header("etag"), Some("\"2\""));
    let again = put(
        &app,
        &format!("/v1/projects/{id}/contacts/{contact}"),
        json!({"role": "influencer"}),
    )
    .await;
    assert_eq!(again.status, 200, "{}", again.body);
    let member = put(
        &app,
        &format!("/v1/projects/{id}/team/{}", app.admin_id),
        json!({"role": "Project lead"}),
    )
    .await;
    assert_eq!(member.status, 201, "{}", member.body);
    let read = app.get(&format!("/v1/projects/{id}")).await;
    assert_eq!(
        read.body["contacts"],
        json!([{"contact_id": contact, "role": "influencer"}])
    );
    assert_eq!(
        read.body["team"],
        json!([{"user_id": app.admin_id, "role": "Project lead"}])
    );
    assert_eq!(read.body["version"], 4);
    let team = app.get(&format!("/v1/projects/{id}/team")).await;
    assert_eq!(team.body["data"][0]["role"], "Project lead");
    let removed = app
        .delete(&format!("/v1/projects/{id}/contacts/{contact}"))
        .await;
    assert_eq!(removed.status, 204, "{}", removed.body);
    let gone = app
        .delete(&format!("/v1/projects/{id}/contacts/{contact}"))
        .await;
    gone.assert_problem(404, "not_found");
    let contacts = app.get(&format!("/v1/projects/{id}/contacts")).await;
    assert_eq!(contacts.body["data"], json!([]));
}

#[tokio::test]
async fn another_account_s_contact_or_user_cannot_go_on_a_project() {
    let app = spawn_app().await;
    let id = project(&app, json!({"name": "P"})).await["id"].clone();
    let other = app.other_account("Other Firm");
    let foreign_contact = app
        .post_as(&other, "/v1/contacts", json!({"first_name": "Eve"}))
        .await
        .id();
    let refused = put(
        &app,
        &format!("/v1/projects/{id}/contacts/{foreign_contact}"),
        json!({"role": "user"}),
    )
    .await;
    refused.assert_problem(422, "validation_failed");
    assert_eq!(refused.error_fields(), ["contact_id"]);
    let me = app.get_as(&other, "/v1/me").await;
    let foreign_user = me.body["user"]["id"].as_i64().unwrap_or(0);
    let refused = put(
        &app,
        &format!("/v1/projects/{id}/team/{foreign_user}"),
        json!({"role": "Lead"}),
    )
    .await;
    refused.assert_problem(422, "validation_failed");
    assert_eq!(refused.error_fields(), ["user_id"]);
    let bad_role = put(
        &app,
        &format!("/v1/projects/{id}/contacts/1"),
        json!({"role": "boss"}),
    )
    .await;
    bad_role.assert_problem(422, "validation_failed");
    assert_eq!(bad_role.error_fields(), ["role"]);
}

fn names(list: &Answer) -> Vec<String> {
    list.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|p| p["name"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn projects_sort_by_value_and_by_expected_finish_page_by_page() {
    let app = spawn_app().await;
    for (name, amount, finish) in [
        ("Mid", "500", "2027-05-01"),
        ("Low", "20.5", "2027-09-01"),
        ("High", "9000", "2027-01-01"),
    ] {
        project(
            &app,
            json!({"name": name, "value": {"amount": amount, "currency": "EUR"},
                   "expected_finish_date": finish}),
        )
        .await;
    }
    project(&app, json!({"name": "No value"})).await;
    let first = app.get("/v1/projects?sort=-value&limit=2").await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(names(&first), ["High", "Mid"]);
    let cursor = first.body["next_cursor"].as_str().unwrap_or_default();
    let rest = app
        .get(&format!("/v1/projects?sort=-value&limit=2&cursor={cursor}"))
        .await;
    assert_eq!(
        names(&rest),
        ["Low"],
        "projects without a value are left out"
    );
    let by_finish = app.get("/v1/projects?sort=expected_finish_date").await;
    assert_eq!(names(&by_finish), ["High", "Mid", "Low"]);
}

#[tokio::test]
async fn projects_filter_by_a_value_range_in_a_currency() {
    let app = spawn_app().await;
    for (name, amount, currency) in [
        ("Small", "99.99", "EUR"),
        ("Fits", "100", "EUR"),
        ("Dollars", "150", "USD"),
        ("Big", "1000.0001", "EUR"),
    ] {
        project(
            &app,
            json!({"name": name, "value": {"amount": amount, "currency": currency}}),
        )
        .await;
    }
    let list = app
        .get("/v1/projects?value_min=100&value_max=1000&currency=EUR")
        .await;
    assert_eq!(list.status, 200, "{}", list.body);
    assert_eq!(names(&list), ["Fits"]);
    let bad = app.get("/v1/projects?value_min=1e3").await;
    bad.assert_problem(400, "bad_request");
    let bad = app.get("/v1/projects?currency=eur").await;
    bad.assert_problem(400, "bad_request");
}

#[tokio::test]
async fn a_list_refuses_a_sort_key_of_another_record_type() {
    let app = spawn_app().await;
    let companies = app.get("/v1/companies?sort=value").await;
    companies.assert_problem(400, "bad_request");
    assert_eq!(companies.error_fields(), ["sort"]);
    let projects = app.get("/v1/projects?sort=follow_up_due_at").await;
    projects.assert_problem(400, "bad_request");
}

#[tokio::test]
async fn a_project_moves_by_state_under_either_name() {
    let app = spawn_app().await;
    let pipeline = project_pipeline(&app).await;
    let id = project(&app, json!({"name": "P"})).await["id"]
        .as_i64()
        .unwrap_or(0);
    let moved = move_project(&app, id, json!({"to_state": "active"})).await;
    assert_eq!(moved.status, 201, "{}", moved.body);
    assert_eq!(
        moved.body["project"]["phase_id"],
        phase(&pipeline, "In progress")
    );
    let both = move_project(
        &app,
        id,
        json!({"to_state": "completed", "to_status": "completed"}),
    )
    .await;
    both.assert_problem(422, "validation_failed");
    let wrong = move_project(&app, id, json!({"to_state": "latent"})).await;
    wrong.assert_problem(422, "validation_failed");
    assert_eq!(wrong.error_fields(), ["to_state"]);
}

#[tokio::test]
async fn a_company_phase_s_probability_leaves_its_companies_as_they_are() {
    let app = spawn_app().await;
    let pipeline = default_pipeline(&app).await;
    let first = phase_ids(&pipeline)[0];
    let company = company_in(&app, "Acme", first).await;
    let before = read_company(&app, company).await;
    let changed = app
        .patch(
            &format!("/v1/pipelines/{}/phases/{first}", pipeline["id"]),
            json!({"probability": 40}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["phases"][0]["probability"], 40);
    let after = read_company(&app, company).await;
    assert_eq!(after["version"], before["version"]);
    let events = app.get("/v1/events?types=company.updated").await;
    assert_eq!(events.body["data"], json!([]));
}

#[tokio::test]
async fn deleting_a_contact_takes_it_off_its_projects_each_with_project_updated() {
    let app = spawn_app().await;
    let id = project(&app, json!({"name": "P"})).await["id"].clone();
    let other = project(&app, json!({"name": "Q"})).await["id"].clone();
    let ana = app
        .post("/v1/contacts", json!({"first_name": "Ana"}))
        .await
        .id();
    let ben = app
        .post("/v1/contacts", json!({"first_name": "Ben"}))
        .await
        .id();
    for (project, contact) in [(&id, ana), (&id, ben), (&other, ben)] {
        let added = put(
            &app,
            &format!("/v1/projects/{project}/contacts/{contact}"),
            json!({"role": "user"}),
        )
        .await;
        assert_eq!(added.status, 201, "{}", added.body);
    }
    let deleted = app.delete(&format!("/v1/contacts/{ana}")).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    let read = app.get(&format!("/v1/projects/{id}")).await;
    assert_eq!(
        read.body["contacts"],
        json!([{"contact_id": ben, "role": "user"}])
    );
    assert_eq!(read.body["version"], 4, "losing a contact is a new version");
    let untouched = app.get(&format!("/v1/projects/{other}")).await;
    assert_eq!(untouched.body["version"], 2);
    let events = app
        .get("/v1/events?types=project.updated,contact.deleted")
        .await;
    let last: Vec<(String, Value)> = events.body["data"]
        .as_array()
        .map(|l| {
            l.iter()
                .rev()
                .take(2)
                .rev()
                .map(|e| {
                    (
                        e["type"].as_str().unwrap_or("").to_owned(),
                        e["record"]["id"].clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(
        last,
        [
            ("contact.deleted".to_owned(), json!(ana)),
            ("project.updated".to_owned(), id.clone())
        ]
    );
    let updated = &events.body["data"]
        .as_array()
        .and_then(|l| l.last().cloned());
    assert_eq!(
        updated
            .as_ref()
            .map(|e| e["data"]["previous"]["contacts"].as_array().map(Vec::len)),
        Some(Some(2)),
        "the event says what the project had: {updated:?}"
    );
}

#[tokio::test]
async fn merging_contacts_moves_their_places_on_projects_to_the_survivor() {
    let app = spawn_app().await;
    let id = project(&app, json!({"name": "P"})).await["id"].clone();
    let both = project(&app, json!({"name": "Both"})).await["id"].clone();
    let survivor = app
        .post("/v1/contacts", json!({"first_name": "Ana"}))
        .await
        .id();
    let duplicate = app
        .post("/v1/contacts", json!({"first_name": "Ana"}))
        .await
        .id();
    for (project, contact, role) in [
        (&id, duplicate, "decision_maker"),
        (&both, survivor, "user"),
        (&both, duplicate, "influencer"),
    ] {
        let added = put(
            &app,
            &format!("/v1/projects/{project}/contacts/{contact}"),
            json!({ "role": role }),
        )
        .await;
        assert_eq!(added.status, 201, "{}", added.body);
    }
    let merged = app
        .post(
            &format!("/v1/contacts/{survivor}/merge"),
            json!({"duplicate_ids": [duplicate]}),
        )
        .await;
    assert_eq!(merged.status, 200, "{}", merged.body);
    let read = app.get(&format!("/v1/projects/{id}")).await;
    assert_eq!(
        read.body["contacts"],
        json!([{"contact_id": survivor, "role": "decision_maker"}])
    );
    let kept = app.get(&format!("/v1/projects/{both}")).await;
    assert_eq!(
        kept.body["contacts"],
        json!([{"contact_id": survivor, "role": "user"}]),
        "where the survivor was on the project already, its own role stays"
    );
    let events = app.get("/v1/events?types=project.updated").await;
    let changed: Vec<Value> = events.body["data"]
        .as_array()
        .map(|l| l.iter().map(|e| e["record"]["id"].clone()).collect())
        .unwrap_or_default();
    assert!(
        changed.ends_with(&[id.clone(), both.clone()]),
        "{changed:?}"
    );
}

#[tokio::test]
async fn merging_projects_moves_history_and_people_fills_the_survivor_and_says_so() {
    let app = spawn_app().await;
    let phases = project_pipeline(&app).await["phases"].clone();
    let survivor = project(&app, json!({"name": "Office move", "tags": ["a"]})).await;
    let duplicate = project(
        &app,
        json!({
            "name": "Office move (copy)", "external_id": "ERP-7", "tags": ["b"],
            "value": {"amount": "9000", "currency": "EUR"},
            "expected_start_date": "2027-01-01", "expected_duration": "P2M"
        }),
    )
    .await;
    let (s, d) = (survivor["id"].clone(), duplicate["id"].clone());
    let moved = move_project(
        &app,
        d.as_i64().unwrap_or(0),
        json!({"to_phase_id": phases[1]["id"]}),
    )
    .await;
    assert_eq!(moved.status, 201, "{}", moved.body);
    let ana = with_decision_maker(&app, &d).await;
    let after = app.get("/v1/events?limit=200").await.body["data"]
        .as_array()
        .and_then(|l| l.last().map(|e| e["id"].clone()))
        .unwrap_or_default();

    let merged = app
        .post(
            &format!("/v1/projects/{s}/merge"),
            json!({"duplicate_ids": [d]}),
        )
        .await;
    assert_eq!(merged.status, 200, "{}", merged.body);
    let body = &merged.body;
    assert_eq!(
        body["name"], "Office move",
        "the survivor keeps its own values"
    );
    assert_eq!(body["external_id"], "ERP-7", "and takes those it lacked");
    assert_eq!(
        body["value"],
        json!({"amount": "9000.00", "currency": "EUR"})
    );
    assert_eq!(body["expected_finish_date"], "2027-03-01");
    assert_eq!(body["tags"], json!(["a", "b"]));
    assert_eq!(body["phase_id"], phases[0]["id"], "and its own place");
    assert_eq!(
        body["contacts"],
        json!([{"contact_id": ana, "role": "decision_maker"}])
    );
    assert_eq!(merged.header("etag"), Some("\"2\""));
    let history = app.get(&format!("/v1/projects/{s}/transitions")).await;
    assert_eq!(
        history.body["data"].as_array().map(Vec::len),
        Some(3),
        "its own placement and the duplicate's two rows: {}",
        history.body
    );
    app.get(&format!("/v1/projects/{d}"))
        .await
        .assert_problem(404, "not_found");
    let events = app.get(&format!("/v1/events?after={after}")).await;
    let types: Vec<&str> = events.body["data"]
        .as_array()
        .map(|l| l.iter().filter_map(|e| e["type"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(types, ["project.merged", "project.deleted"]);
    assert_eq!(events.body["data"][0]["data"]["merged_ids"], json!([d]));
    assert_eq!(events.body["data"][1]["data"]["merged_into"], s);
}

#[tokio::test]
async fn a_project_merge_refuses_unknown_and_foreign_duplicates_and_changes_nothing() {
    let app = spawn_app().await;
    let s = project(&app, json!({"name": "Ours"})).await["id"].clone();
    let other = app.other_account("Other Firm");
    let foreign = app
        .post_as(&other, "/v1/projects", json!({"name": "Theirs"}))
        .await
        .id();
    let refused = app
        .post(
            &format!("/v1/projects/{s}/merge"),
            json!({"duplicate_ids": [foreign, 999_999]}),
        )
        .await;
    refused.assert_problem(422, "validation_failed");
    assert_eq!(
        refused.error_fields(),
        ["duplicate_ids[0]", "duplicate_ids[1]"],
        "{}",
        refused.body
    );
    assert_eq!(refused.body["errors"][0]["code"], "unknown_project");
    let theirs = app.get_as(&other, &format!("/v1/projects/{foreign}")).await;
    assert_eq!(theirs.status, 200, "another account's project is untouched");
    let ours = app.get(&format!("/v1/projects/{s}")).await;
    assert_eq!(ours.body["version"], 1);
    let dup = project(&app, json!({"name": "Dup"})).await["id"].clone();
    let stale = app
        .request(
            reqwest::Method::POST,
            &format!("/v1/projects/{s}/merge"),
            Some(&app.token),
            Some(&json!({ "duplicate_ids": [dup] })),
            &[("If-Match", "\"7\"")],
        )
        .await;
    stale.assert_problem(412, "precondition_failed");
}

/// Runs `read` twice on `conn`: the first time it is one statement, prepared then; the second
/// time the same statement, run from the cache. The first read's answer.
fn one_prepared_statement<T>(
    conn: &mut CountingConnection,
    what: &str,
    read: impl Fn(&mut persistence::DbConnection) -> Result<T, persistence::StoreError>,
) -> T {
    let (first, seen) = conn.count(&read);
    let first = first.unwrap_or_else(|e| panic!("{what}: {e:?}"));
    let once = Statements {
        run: 1,
        prepared: 1,
    };
    assert_eq!(
        seen, once,
        "{what}: one statement, prepared on the first read"
    );
    let (again, seen) = conn.count(&read);
    again.unwrap_or_else(|e| panic!("{what}: {e:?}"));
    let cached = Statements {
        run: 1,
        prepared: 0,
    };
    assert_eq!(seen, cached, "{what}: the same statement, from the cache");
    first
}

#[tokio::test]
async fn a_record_read_and_a_list_page_are_one_prepared_statement_with_what_they_carry() {
    use domain::listing::{PageSize, Sort};
    use persistence::{companies, contacts, projects};
    let app = spawn_app().await;
    let phases = project_pipeline(&app).await["phases"].clone();
    let company = app.company("Acme").await;
    let created = project(
        &app,
        json!({"name": "Office move", "company_id": company,
               "value": {"amount": "9000", "currency": "EUR"}}),
    )
    .await;
    let id = created["id"].as_i64().unwrap_or_default();
    for phase in [&phases[1], &phases[2]] {
        let moved = move_project(&app, id, json!({"to_phase_id": phase["id"]})).await;
        assert_eq!(moved.status, 201, "{}", moved.body);
    }
    let ana = with_decision_maker(&app, &id).await;
    let (member, _) = app
        .member("m@acme.test", "member", &["projects:read"])
        .await;
    let joined = put(
        &app,
        &format!("/v1/projects/{id}/team/{member}"),
        json!({"role": "lead"}),
    )
    .await;
    assert_eq!(joined.status, 201, "{}", joined.body);
    let account = app.account_id;
    let size = PageSize::parse(50).unwrap_or_else(|e| panic!("{e:?}"));
    let mut conn = CountingConnection::open(&app.database_url);

    let read = one_prepared_statement(&mut conn, "a project's GET", |c| {
        projects::get(c, account, id)
    });
    let left: Vec<i64> = read.time_in_phases.iter().map(|t| t.phase_id).collect();
    assert!(
        left.contains(&phases[1]["id"].as_i64().unwrap_or_default())
            && left.contains(&phases[2]["id"].as_i64().unwrap_or_default()),
        "time in the phase it left and in the one it is in: {left:?}"
    );
    assert_eq!(read.contacts.len(), 1, "its contact");
    assert_eq!(read.team.len(), 1, "its team");
    let page = one_prepared_statement(&mut conn, "a page of projects", |c| {
        projects::list(c, account, &Default::default(), Sort::default(), size, None)
    });
    assert_eq!(page.items.len(), 1);
    assert_eq!(
        page.items[0].team, read.team,
        "a listed project carries its team"
    );
    let acme = one_prepared_statement(&mut conn, "a company's GET", |c| {
        companies::get(c, account, company)
    });
    assert_eq!(acme.projects.open, 1, "its projects' totals");
    let filter = companies::CompanyFilter {
        industry: Some("Engineering".into()),
        ..Default::default()
    };
    one_prepared_statement(&mut conn, "a page of companies", |c| {
        companies::list(c, account, &Default::default(), Sort::default(), size, None)
    });
    one_prepared_statement(&mut conn, "a filtered page of companies", |c| {
        companies::list(c, account, &filter, Sort::default(), size, None)
    });
    one_prepared_statement(&mut conn, "a contact's GET", |c| {
        contacts::get(c, account, ana)
    });
    one_prepared_statement(&mut conn, "a page of contacts", |c| {
        contacts::list(c, account, &Default::default(), Sort::default(), size, None)
    });
}

/// SQLite's plan of a statement, one line per step (binds left unbound: the plan does not
/// depend on them, and SQLite keeps no statistics here).
fn sqlite_plan(database_url: &str, sql: &str) -> Vec<String> {
    use diesel::sql_types::Text;
    use diesel::{Connection, RunQueryDsl, SqliteConnection};
    #[derive(diesel::QueryableByName)]
    struct Step {
        #[diesel(sql_type = Text)]
        detail: String,
    }
    let path = database_url.trim_start_matches("sqlite://");
    let mut conn = SqliteConnection::establish(path).unwrap_or_else(|e| panic!("{e}"));
    diesel::sql_query(format!("EXPLAIN QUERY PLAN {sql}"))
        .load::<Step>(&mut conn)
        .unwrap_or_else(|e| panic!("{e}: {sql}"))
        .into_iter()
        .map(|s| s.detail)
        .collect()
}

#[tokio::test]
async fn record_reads_and_filtered_pages_search_an_index_for_each_table_they_read() {
    use domain::listing::{PageSize, Sort};
    use persistence::{companies, contacts, projects};
    let app = spawn_app().await;
    if persistence::Backend::of(&app.database_url) != persistence::Backend::Sqlite {
        // PostgreSQL plans by its statistics, so its plans are read at scale: BENCHMARKS.md
        // holds them at 1,000,000 companies.
        return;
    }
    let company = app.company("Acme").await;
    let id = project(&app, json!({"name": "Office move", "company_id": company})).await["id"]
        .as_i64()
        .unwrap_or_default();
    let ana = with_decision_maker(&app, &id).await;
    let account = app.account_id;
    let size = PageSize::parse(50).unwrap_or_else(|e| panic!("{e:?}"));
    let mut conn = CountingConnection::open(&app.database_url);
    let owned = companies::CompanyFilter {
        owner_id: Some(1),
        ..Default::default()
    };
    let in_industry = companies::CompanyFilter {
        industry: Some("Solar".into()),
        ..Default::default()
    };
    let tagged = companies::CompanyFilter {
        tag: Some("vip".into()),
        ..Default::default()
    };
    let of_company = projects::ProjectFilter {
        company_id: Some(company),
        ..Default::default()
    };
    let sort = Sort::default();
    let _ = conn.count(|c| companies::get(c, account, company));
    let _ = conn.count(|c| projects::get(c, account, id));
    let _ = conn.count(|c| contacts::get(c, account, ana));
    for filter in [&owned, &in_industry, &tagged] {
        let _ = conn.count(|c| companies::list(c, account, filter, sort, size, None));
    }
    let _ = conn.count(|c| projects::list(c, account, &of_company, sort, size, None));
    let statements = conn.statements();
    assert_eq!(
        statements.len(),
        7,
        "one statement per read: {statements:#?}"
    );
    // What the record table's first step searches by, read by read.
    let searched_by = [
        "rowid=?",
        "rowid=?",
        "rowid=?",
        "owner_id=?",
        "industry=?",
        // A tag's records come from the tag index, walked in the list's order.
        "account_id=?",
        "company_id=?",
    ];
    for (sql, by) in statements.iter().zip(searched_by) {
        let plan = sqlite_plan(&app.database_url, sql);
        assert!(
            plan[0].starts_with("SEARCH ") && plan[0].contains(by),
            "the record table is searched by {by}: {plan:#?}\n{sql}"
        );
        for step in &plan[1..] {
            assert!(
                !step.starts_with("SCAN ") && !step.ends_with("(account_id=?)"),
                "what a record carries is searched by the record, not read across the \
                 account: {step}\n{plan:#?}\n{sql}"
            );
        }
    }
}
