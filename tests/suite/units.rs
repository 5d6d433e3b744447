//! Units (`/v1/units`), team members' units and record visibility: a role that sees its own
//! records, its units' or its units' and those below finds no other record through a GET, a
//! write, a list, a filtered query (custom fields too), a board, the feed, the events or a
//! webhook delivery.

use crate::common::pipelines::{default_pipeline, phase_ids};
use crate::common::receiver::Receiver;
use crate::common::roles::patch_role;
use crate::common::*;
use reqwest::Method;
use serde_json::{Value, json};

async fn unit(app: &TestApp, name: &str, parent: Option<i64>) -> i64 {
    let created = app
        .post("/v1/units", json!({"name": name, "parent_id": parent}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.id()
}

async fn set_units(app: &TestApp, user: i64, primary: i64, others: &[i64]) {
    let answer = app
        .request(
            Method::PUT,
            &format!("/v1/users/{user}/units"),
            Some(&app.token),
            Some(&json!({"primary_unit_id": primary, "unit_ids": others})),
            &[],
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
}

async fn set_visibility(app: &TestApp, role: &str, visibility: &str) {
    patch_role(app, role, json!({"visibility": visibility})).await;
}

/// North (with North East below it) and South; a member whose role sees `visibility`, in
/// North; and a company in each unit, in the default pipeline's first phase.
struct World {
    north: i64,
    north_east: i64,
    south: i64,
    rep: String,
    rep_id: i64,
    northwind: i64,
    eastwind: i64,
    southwind: i64,
}

async fn world(app: &TestApp, visibility: &str) -> World {
    let north = unit(app, "North", None).await;
    let north_east = unit(app, "North East", Some(north)).await;
    let south = unit(app, "South", None).await;
    set_visibility(app, "member", visibility).await;
    let (rep_id, rep) = app.member("rep@acme.test", "member", &["admin"]).await;
    set_units(app, rep_id, north, &[]).await;
    let first = phase_ids(&default_pipeline(app).await)[0];
    let company = |name: &'static str, unit: i64| {
        app.post(
            "/v1/companies",
            json!({"name": name, "unit_id": unit, "phase_id": first, "industry": "Retail",
                   "custom_fields": {"tier": "gold"}}),
        )
    };
    let northwind = company("Northwind", north).await.id();
    let eastwind = company("Eastwind", north_east).await.id();
    let southwind = company("Southwind", south).await.id();
    World {
        north,
        north_east,
        south,
        rep,
        rep_id,
        northwind,
        eastwind,
        southwind,
    }
}

fn names(page: &Answer) -> Vec<String> {
    assert_eq!(page.status, 200, "{}", page.body);
    let mut names: Vec<String> = page.body["data"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|c| c["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

#[tokio::test]
async fn units_form_a_tree_that_refuses_cycles_and_taken_names() {
    let app = spawn_app().await;
    let north = unit(&app, "North", None).await;
    let east = unit(&app, "North East", Some(north)).await;
    let below = app.get(&format!("/v1/units?parent_id={north}")).await;
    assert_eq!(names(&below), ["North East"]);
    let cycle = app
        .patch(&format!("/v1/units/{north}"), json!({"parent_id": east}))
        .await;
    cycle.assert_problem(422, "validation_failed");
    assert_eq!(cycle.error_fields(), ["parent_id"]);
    app.post("/v1/units", json!({"name": "north"}))
        .await
        .assert_problem(422, "validation_failed");
    app.post("/v1/units", json!({"name": "Lost", "parent_id": 999_999}))
        .await
        .assert_problem(422, "validation_failed");
    app.post("/v1/units", json!({"name": "Odd", "kind": "galaxy"}))
        .await
        .assert_problem(422, "validation_failed");
    let moved = app
        .patch(
            &format!("/v1/units/{east}"),
            json!({"parent_id": null, "kind": "territory"}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(moved.body["parent_id"], Value::Null);
    assert_eq!(moved.body["kind"], "territory");
    let events = app.get("/v1/events?record_type=unit").await;
    let types: Vec<&str> = events.body["data"]
        .as_array()
        .map(|l| l.iter().filter_map(|e| e["type"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(
        types,
        ["unit.created", "unit.created", "unit.updated"],
        "{}",
        events.body
    );
}

#[tokio::test]
async fn a_unit_with_subunits_or_records_cannot_be_deleted() {
    let app = spawn_app().await;
    let north = unit(&app, "North", None).await;
    let east = unit(&app, "North East", Some(north)).await;
    app.delete(&format!("/v1/units/{north}"))
        .await
        .assert_problem(409, "conflict");
    let company = app
        .post("/v1/companies", json!({"name": "Acme", "unit_id": east}))
        .await
        .id();
    app.delete(&format!("/v1/units/{east}"))
        .await
        .assert_problem(409, "conflict");
    app.patch(
        &format!("/v1/companies/{company}"),
        json!({"unit_id": null}),
    )
    .await;
    assert_eq!(app.delete(&format!("/v1/units/{east}")).await.status, 204);
    assert_eq!(app.delete(&format!("/v1/units/{north}")).await.status, 204);
}

#[tokio::test]
async fn only_admins_write_units_and_memberships() {
    let app = spawn_app().await;
    let north = unit(&app, "North", None).await;
    let (member_id, member) = app.member("mo@acme.test", "member", &["admin"]).await;
    app.post_as(&member, "/v1/units", json!({"name": "Mine"}))
        .await
        .assert_problem(403, "forbidden");
    let put = app
        .request(
            Method::PUT,
            &format!("/v1/users/{member_id}/units"),
            Some(&member),
            Some(&json!({"primary_unit_id": north})),
            &[],
        )
        .await;
    put.assert_problem(403, "forbidden");
    let listed = app.get_as(&member, "/v1/units").await;
    assert_eq!(names(&listed), ["North"]);
}

#[tokio::test]
async fn memberships_name_known_units_once() {
    let app = spawn_app().await;
    let north = unit(&app, "North", None).await;
    let south = unit(&app, "South", None).await;
    let (user, _) = app.member("mo@acme.test", "member", &["admin"]).await;
    let path = format!("/v1/users/{user}/units");
    let refused = app
        .request(
            Method::PUT,
            &path,
            Some(&app.token),
            Some(&json!({"primary_unit_id": north, "unit_ids": [north, 999_999]})),
            &[],
        )
        .await;
    refused.assert_problem(422, "validation_failed");
    assert_eq!(refused.error_fields(), ["unit_ids[0]", "unit_ids[1]"]);
    set_units(&app, user, north, &[south]).await;
    let read = app.get(&path).await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert_eq!(read.body["primary_unit_id"], north);
    assert_eq!(read.body["unit_ids"], json!([south]));
}

#[tokio::test]
async fn a_new_record_goes_in_its_owners_primary_unit_unless_it_names_one() {
    let app = spawn_app().await;
    let north = unit(&app, "North", None).await;
    let south = unit(&app, "South", None).await;
    let (owner, _) = app.member("olga@acme.test", "member", &["admin"]).await;
    set_units(&app, owner, north, &[south]).await;
    let owned = app
        .post("/v1/companies", json!({"name": "Acme", "owner_id": owner}))
        .await;
    assert_eq!(owned.body["unit_id"], north, "{}", owned.body);
    let contact = app
        .post(
            "/v1/contacts",
            json!({"first_name": "Ana", "owner_id": owner}),
        )
        .await;
    assert_eq!(contact.body["unit_id"], north, "{}", contact.body);
    let project = app
        .post(
            "/v1/projects",
            json!({"name": "Move", "owner_id": owner, "unit_id": south}),
        )
        .await;
    assert_eq!(project.body["unit_id"], south, "{}", project.body);
    let unowned = app.post("/v1/companies", json!({"name": "Nobody's"})).await;
    assert_eq!(unowned.body["unit_id"], Value::Null, "{}", unowned.body);
    let foreign = app
        .post(
            "/v1/companies",
            json!({"name": "Elsewhere", "unit_id": 999_999}),
        )
        .await;
    foreign.assert_problem(422, "validation_failed");
    assert_eq!(foreign.error_fields(), ["unit_id"]);
}

#[tokio::test]
async fn a_unit_limited_member_cannot_read_or_write_another_units_company() {
    let app = spawn_app().await;
    let w = world(&app, "unit").await;
    let theirs = format!("/v1/companies/{}", w.southwind);
    app.get_as(&w.rep, &theirs)
        .await
        .assert_problem(404, "not_found");
    app.patch_as(&w.rep, &theirs, json!({"name": "Mine now"}))
        .await
        .assert_problem(404, "not_found");
    app.get_as(&w.rep, &format!("{theirs}/timeline"))
        .await
        .assert_problem(404, "not_found");
    app.delete_as(&w.rep, &theirs)
        .await
        .assert_problem(404, "not_found");
    let merged = app
        .post_as(
            &w.rep,
            &format!("/v1/companies/{}/merge", w.northwind),
            json!({"duplicate_ids": [w.southwind]}),
        )
        .await;
    merged.assert_problem(422, "validation_failed");
    assert_eq!(merged.error_fields(), ["duplicate_ids[0]"]);
    let ours = app
        .get_as(&w.rep, &format!("/v1/companies/{}", w.northwind))
        .await;
    assert_eq!(ours.status, 200, "{}", ours.body);
    // A subunit is not the unit.
    app.get_as(&w.rep, &format!("/v1/companies/{}", w.eastwind))
        .await
        .assert_problem(404, "not_found");
    assert_eq!(app.get(&theirs).await.body["name"], "Southwind");
}

#[tokio::test]
async fn a_unit_limited_member_lists_and_queries_only_their_units_companies() {
    let app = spawn_app().await;
    let field = app
        .post(
            "/v1/fields",
            json!({"record_type": "company", "key": "tier", "label": "Tier", "type": "text"}),
        )
        .await;
    assert_eq!(field.status, 201, "{}", field.body);
    let w = world(&app, "unit").await;
    let listed = app.get_as(&w.rep, "/v1/companies").await;
    assert_eq!(names(&listed), ["Northwind"]);
    let by_industry = app.get_as(&w.rep, "/v1/companies?industry=Retail").await;
    assert_eq!(names(&by_industry), ["Northwind"]);
    let by_custom_field = app
        .post_as(
            &w.rep,
            "/v1/companies/query",
            json!({"filter": {"field": "custom_fields.tier", "op": "eq", "value": "gold"}}),
        )
        .await;
    assert_eq!(names(&by_custom_field), ["Northwind"]);
    let everyone = app
        .post(
            "/v1/companies/query",
            json!({"filter": {"field": "custom_fields.tier", "op": "eq", "value": "gold"}}),
        )
        .await;
    assert_eq!(names(&everyone), ["Eastwind", "Northwind", "Southwind"]);
}

#[tokio::test]
async fn a_unit_limited_member_cannot_find_another_units_company_by_search() {
    let app = spawn_app().await;
    let w = world(&app, "unit").await;
    let found = app.get_as(&w.rep, "/v1/search?q=northwind").await;
    assert_eq!(found.status, 200, "{}", found.body);
    let titles: Vec<&str> = found.body["data"]
        .as_array()
        .map(|l| l.iter().filter_map(|h| h["title"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(titles, ["Northwind"], "{}", found.body);
    let exact = app.get_as(&w.rep, "/v1/search?q=southwind").await;
    assert_eq!(exact.body["data"], json!([]), "{}", exact.body);
    let admin = app.get("/v1/search?q=southwind").await;
    assert_eq!(
        admin.body["data"][0]["title"], "Southwind",
        "{}",
        admin.body
    );
}

#[tokio::test]
async fn a_unit_limited_members_board_and_stats_count_only_their_units_companies() {
    let app = spawn_app().await;
    let w = world(&app, "unit").await;
    let pipeline = default_pipeline(&app).await;
    let id = pipeline["id"].as_i64().unwrap_or_default();
    let path = format!("/v1/pipelines/{id}/board");
    let board = app.get_as(&w.rep, &path).await;
    assert_eq!(board.status, 200, "{}", board.body);
    let first = &board.body["columns"][0];
    assert_eq!(first["count"], 1, "{}", board.body);
    assert_eq!(first["cards"][0]["name"], "Northwind");
    let all = app.get(&path).await;
    assert_eq!(all.body["columns"][0]["count"], 3, "{}", all.body);
    let stats_path = format!("/v1/pipelines/{id}/stats");
    let stats = app.get_as(&w.rep, &stats_path).await;
    assert_eq!(stats.status, 200, "{}", stats.body);
    assert_eq!(stats.body["phases"][0]["current"], 1, "{}", stats.body);
    assert_eq!(stats.body["phases"][0]["entered"], 1, "{}", stats.body);
    let everyone = app.get(&stats_path).await;
    assert_eq!(
        everyone.body["phases"][0]["current"], 3,
        "{}",
        everyone.body
    );
    assert_eq!(
        everyone.body["phases"][0]["entered"], 3,
        "{}",
        everyone.body
    );
}

#[tokio::test]
async fn a_unit_limited_members_feed_and_events_leave_out_other_units_companies() {
    let app = spawn_app().await;
    let w = world(&app, "unit").await;
    let feed = app.get_as(&w.rep, "/v1/feed").await;
    assert_eq!(feed.status, 200, "{}", feed.body);
    let shown: Vec<i64> = feed.body["data"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter(|e| e["record"]["type"] == "company")
                .filter_map(|e| e["record"]["id"].as_i64())
                .collect()
        })
        .unwrap_or_default();
    assert!(shown.contains(&w.northwind), "{}", feed.body);
    assert!(!shown.contains(&w.southwind), "{}", feed.body);
    let events = app.get_as(&w.rep, "/v1/events?record_type=company").await;
    assert_eq!(events.status, 200, "{}", events.body);
    let ids: Vec<i64> = events.body["data"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|e| e["record"]["id"].as_i64())
                .collect()
        })
        .unwrap_or_default();
    assert!(ids.contains(&w.northwind), "{}", events.body);
    assert!(!ids.contains(&w.southwind), "{}", events.body);
}

#[tokio::test]
async fn unit_and_below_sees_the_subunits_and_own_sees_only_what_one_owns() {
    let app = spawn_app().await;
    let w = world(&app, "unit_and_below").await;
    let listed = app.get_as(&w.rep, "/v1/companies").await;
    assert_eq!(names(&listed), ["Eastwind", "Northwind"]);
    set_visibility(&app, "member", "own").await;
    app.patch(
        &format!("/v1/companies/{}", w.southwind),
        json!({"owner_id": w.rep_id}),
    )
    .await;
    let listed = app.get_as(&w.rep, "/v1/companies").await;
    assert_eq!(names(&listed), ["Southwind"]);
}

#[tokio::test]
async fn lists_and_boards_filter_by_unit_with_or_without_subunits() {
    let app = spawn_app().await;
    let w = world(&app, "all").await;
    let only = app.get(&format!("/v1/companies?unit_id={}", w.north)).await;
    assert_eq!(names(&only), ["Northwind"]);
    let below = app
        .get(&format!(
            "/v1/companies?unit_id={}&include_subunits=true",
            w.north
        ))
        .await;
    assert_eq!(names(&below), ["Eastwind", "Northwind"]);
    let east = app
        .get(&format!("/v1/companies?unit_id={}", w.north_east))
        .await;
    assert_eq!(names(&east), ["Eastwind"]);
    let queried = app
        .post(
            "/v1/companies/query",
            json!({"filter": {"field": "unit_id", "op": "in", "value": [w.north_east, w.south]}}),
        )
        .await;
    assert_eq!(names(&queried), ["Eastwind", "Southwind"]);
    let pipeline = default_pipeline(&app).await;
    let id = pipeline["id"].as_i64().unwrap_or_default();
    let board = app
        .get(&format!(
            "/v1/pipelines/{id}/board?unit_id={}&include_subunits=true",
            w.north
        ))
        .await;
    assert_eq!(board.body["columns"][0]["count"], 2, "{}", board.body);
    let south = app
        .get(&format!("/v1/pipelines/{id}/board?unit_id={}", w.south))
        .await;
    assert_eq!(south.body["columns"][0]["count"], 1, "{}", south.body);
}

#[tokio::test]
async fn a_webhook_delivers_only_the_records_its_creator_sees() {
    let settings = api::Settings {
        webhooks: api::WebhookSettings {
            poll_interval: std::time::Duration::from_millis(10),
            allow_private_targets: true,
            ..api::WebhookSettings::default()
        },
        ..api::Settings::default()
    };
    let app = spawn_app_with(settings).await;
    let receiver = Receiver::start().await;
    let north = unit(&app, "North", None).await;
    let south = unit(&app, "South", None).await;
    // Webhooks are an admin's: here admins see their units' records only.
    let (rep_id, rep) = app.member("rep@acme.test", "admin", &["admin"]).await;
    set_units(&app, rep_id, north, &[]).await;
    set_visibility(&app, "admin", "unit").await;
    let created = app
        .post_as(
            &rep,
            "/v1/webhooks",
            json!({"target_url": receiver.url, "events": ["company.created"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    app.post(
        "/v1/companies",
        json!({"name": "Southwind", "unit_id": south}),
    )
    .await;
    app.post(
        "/v1/companies",
        json!({"name": "Northwind", "unit_id": north}),
    )
    .await;
    let received = receiver.wait_for(1).await;
    assert_eq!(received[0].json()["data"]["object"]["name"], "Northwind");
    // The South company's delivery was dropped, not queued behind: nothing else arrives.
    let deliveries = app
        .get(&format!("/v1/webhooks/{}/deliveries", created.id()))
        .await;
    assert_eq!(deliveries.status, 200, "{}", deliveries.body);
    assert_eq!(
        deliveries.body["data"].as_array().map(Vec::len),
        Some(1),
        "{}",
        deliveries.body
    );
}

#[tokio::test]
async fn imported_rows_go_in_their_owners_primary_unit_and_name_only_known_units() {
    let app = spawn_app().await;
    let north = unit(&app, "North", None).await;
    let (owner, _) = app.member("olga@acme.test", "member", &["admin"]).await;
    set_units(&app, owner, north, &[]).await;
    let report = app
        .post(
            "/v1/companies/import",
            json!([{"name": "Owned", "owner_id": owner},
                   {"name": "Placed", "unit_id": north},
                   {"name": "Lost", "unit_id": 999_999}]),
        )
        .await;
    assert_eq!(report.status, 200, "{}", report.body);
    let rows = report.body["rows"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows[2]["status"], "failed", "{}", report.body);
    for row in &rows[..2] {
        assert_eq!(row["status"], "created", "{}", report.body);
        let read = app.get(&format!("/v1/companies/{}", row["id"])).await;
        assert_eq!(read.body["unit_id"], north, "{}", read.body);
    }
}
