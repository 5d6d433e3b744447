//! Lookup and rollup fields: their definitions checked against the account's fields, their
//! values computed in every record answer (one, a list page, a query), read-only, hidden by
//! field-level security with what they show, refused in filters, and a page's cost bounded.

use crate::common::roles::set_field_rules;
use crate::common::statements::CountingConnection;
use crate::common::*;
use serde_json::{Value, json};

async fn define(app: &TestApp, body: Value) -> Value {
    let answer = app.post("/v1/fields", body).await;
    assert_eq!(answer.status, 201, "{}", answer.body);
    answer.body
}

async fn company(app: &TestApp, name: &str, industry: &str) -> i64 {
    let created = app
        .post("/v1/companies", json!({"name": name, "industry": industry}))
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.id()
}

async fn project(app: &TestApp, name: &str, company_id: i64, amount: &str) -> i64 {
    let created = app
        .post(
            "/v1/projects",
            json!({"name": name, "company_id": company_id,
                   "value": {"amount": amount, "currency": "EUR"}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.id()
}

async fn win(app: &TestApp, id: i64) {
    let moved = app
        .post(
            &format!("/v1/projects/{id}/transitions"),
            json!({"outcome": "won"}),
        )
        .await;
    assert!(moved.status.is_success(), "{}", moved.body);
}

/// A project's company's industry, a company's open projects and its won value.
async fn define_all(app: &TestApp) {
    define(
        app,
        json!({"record_type": "project", "key": "company_industry", "label": "Company industry",
               "type": "lookup", "lookup": {"through": "company_id", "field": "industry"}}),
    )
    .await;
    define(
        app,
        json!({"record_type": "company", "key": "open_projects", "label": "Open projects",
               "type": "rollup",
               "rollup": {"record_type": "project", "through": "company_id", "function": "count",
                          "filter": {"field": "state", "op": "eq", "value": "proposed"}}}),
    )
    .await;
    define(
        app,
        json!({"record_type": "company", "key": "won_value", "label": "Won value",
               "type": "rollup",
               "rollup": {"record_type": "project", "through": "company_id", "function": "sum",
                          "field": "value", "currency": "EUR",
                          "filter": {"field": "state", "op": "eq", "value": "won"}}}),
    )
    .await;
}

#[tokio::test]
async fn a_definition_names_what_to_fix_in_its_configuration() {
    let app = spawn_app().await;
    let bad = |body: Value| {
        let app = &app;
        async move {
            let answer = app.post("/v1/fields", body).await;
            answer.assert_problem(422, "validation_failed");
            answer.error_fields()
        }
    };
    let base = |t: &str, extra: Value| {
        let mut body = json!({"record_type": "company", "key": "x", "label": "X", "type": t});
        if let (Some(b), Value::Object(e)) = (body.as_object_mut(), extra) {
            b.extend(e);
        }
        body
    };
    assert_eq!(bad(base("lookup", json!({}))).await, ["lookup"]);
    assert_eq!(
        bad(base(
            "lookup",
            json!({"lookup": {"through": "owner_id", "field": "name"}})
        ))
        .await,
        ["lookup.through"]
    );
    let on_project = json!({"record_type": "project", "key": "x", "label": "X", "type": "lookup",
                            "lookup": {"through": "company_id", "field": "nope"}});
    assert_eq!(bad(on_project).await, ["lookup.field"]);
    assert_eq!(
        bad(base(
            "rollup",
            json!({"rollup": {"record_type": "project", "through": "company_id", "function": "sum", "field": "name"}})
        ))
        .await,
        ["rollup.field"]
    );
    assert_eq!(
        bad(base(
            "rollup",
            json!({"rollup": {"record_type": "project", "through": "company_id", "function": "sum", "field": "value"}})
        ))
        .await,
        ["rollup.currency"]
    );
    assert_eq!(
        bad(base(
            "rollup",
            json!({"rollup": {"record_type": "project", "through": "company_id", "function": "median"}})
        ))
        .await,
        ["rollup.function"]
    );
    assert_eq!(
        bad(base(
            "rollup",
            json!({"rollup": {"record_type": "project", "through": "company_id", "function": "count",
                              "filter": {"field": "state", "op": "eq", "value": "sold"}}})
        ))
        .await,
        ["rollup.filter.value"]
    );
    assert_eq!(
        bad(base(
            "text",
            json!({"lookup": {"through": "company_id", "field": "name"}})
        ))
        .await,
        ["lookup"]
    );
    assert_eq!(
        bad(base(
            "rollup",
            json!({"required": true, "rollup": {"record_type": "project", "through": "company_id", "function": "count"}})
        ))
        .await,
        ["required"]
    );
}

#[tokio::test]
async fn lookups_and_rollups_are_computed_in_every_answer_and_follow_changes() {
    let app = spawn_app().await;
    define_all(&app).await;
    let acme = company(&app, "Acme", "Engineering").await;
    let other = company(&app, "Other", "Retail").await;
    let bridge = project(&app, "Bridge", acme, "1000.50").await;
    let tower = project(&app, "Tower", acme, "2000").await;
    project(&app, "Shed", acme, "5").await;
    project(&app, "Kiosk", other, "7").await;
    win(&app, bridge).await;
    win(&app, tower).await;

    let one = app.get(&format!("/v1/projects/{bridge}")).await;
    assert_eq!(one.body["custom_fields"]["company_industry"], "Engineering");
    let list = app.get("/v1/projects?limit=10").await;
    let industries: Vec<&Value> = list.body["data"]
        .as_array()
        .map(|d| {
            d.iter()
                .map(|p| &p["custom_fields"]["company_industry"])
                .collect()
        })
        .unwrap_or_default();
    assert_eq!(industries.len(), 4);
    assert!(industries.contains(&&json!("Retail")), "{}", list.body);

    let read = app.get(&format!("/v1/companies/{acme}")).await;
    assert_eq!(
        read.body["custom_fields"]["open_projects"], 1,
        "{}",
        read.body
    );
    assert_eq!(
        read.body["custom_fields"]["won_value"],
        json!({"amount": "3000.50", "currency": "EUR"})
    );
    let page = app.get("/v1/companies?limit=10").await;
    let other_row = page.body["data"]
        .as_array()
        .and_then(|d| d.iter().find(|c| c["id"] == other).cloned())
        .unwrap_or_default();
    assert_eq!(other_row["custom_fields"]["open_projects"], 1);
    assert_eq!(
        other_row["custom_fields"]["won_value"],
        json!({"amount": "0.00", "currency": "EUR"})
    );
    let queried = app
        .post(
            "/v1/companies/query",
            json!({"filter": {"field": "name", "op": "eq", "value": "Acme"}}),
        )
        .await;
    assert_eq!(queried.status, 200, "{}", queried.body);
    assert_eq!(queried.body["data"][0]["custom_fields"]["open_projects"], 1);

    // A related record changes: the next read shows it, and the company's version did not move.
    let version = read.body["version"].clone();
    let kiosk = project(&app, "Annex", acme, "1").await;
    win(&app, kiosk).await;
    let changed = app
        .patch(
            &format!("/v1/companies/{acme}"),
            json!({"industry": "Civil"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let again = app.get(&format!("/v1/companies/{acme}")).await;
    assert_eq!(
        again.body["custom_fields"]["won_value"],
        json!({"amount": "3001.50", "currency": "EUR"})
    );
    assert_eq!(
        again.body["version"],
        version.as_i64().unwrap_or_default() + 1
    );
    let project_now = app.get(&format!("/v1/projects/{bridge}")).await;
    assert_eq!(
        project_now.body["custom_fields"]["company_industry"],
        "Civil"
    );
}

#[tokio::test]
async fn writing_one_is_refused_and_filtering_on_one_is_a_400() {
    let app = spawn_app().await;
    define_all(&app).await;
    let acme = company(&app, "Acme", "Engineering").await;
    let write = app
        .patch(
            &format!("/v1/companies/{acme}"),
            json!({"custom_fields": {"open_projects": 3}}),
        )
        .await;
    write.assert_problem(422, "validation_failed");
    assert_eq!(write.error_fields(), ["custom_fields.open_projects"]);
    let create = app
        .post(
            "/v1/companies",
            json!({"name": "B", "custom_fields": {"won_value": {"amount": "1", "currency": "EUR"}}}),
        )
        .await;
    assert_eq!(create.error_fields(), ["custom_fields.won_value"]);
    // null is a merge patch's removal: nothing to refuse.
    let cleared = app
        .patch(
            &format!("/v1/companies/{acme}"),
            json!({"custom_fields": {"open_projects": null}}),
        )
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    let filtered = app
        .post(
            "/v1/companies/query",
            json!({"filter": {"field": "custom_fields.open_projects", "op": "gt", "value": 1}}),
        )
        .await;
    filtered.assert_problem(400, "bad_request");
    assert_eq!(filtered.body["errors"][0]["code"], "not_filterable");
    assert_eq!(filtered.body["errors"][0]["field"], "filter.field");
}

#[tokio::test]
async fn field_security_hides_a_lookup_and_one_that_shows_a_hidden_field() {
    let app = spawn_app().await;
    define_all(&app).await;
    let acme = company(&app, "Acme", "Engineering").await;
    let bridge = project(&app, "Bridge", acme, "10").await;
    // Hides the company's industry (which the projects' lookup shows) and the rollup itself.
    set_field_rules(
        &app,
        "viewer",
        json!([
            {"record_type": "company", "field": "industry", "access": "hidden"},
            {"record_type": "company", "field": "custom_fields.open_projects", "access": "hidden"}
        ]),
    )
    .await;
    let (_, token) = app.member("vera@acme.test", "viewer", &["admin"]).await;
    let project = app.get_as(&token, &format!("/v1/projects/{bridge}")).await;
    assert!(
        project.body["custom_fields"]
            .get("company_industry")
            .is_none(),
        "{}",
        project.body
    );
    let companies = app.get_as(&token, "/v1/companies").await;
    let fields = &companies.body["data"][0]["custom_fields"];
    assert!(fields.get("open_projects").is_none(), "{fields}");
    assert!(fields.get("won_value").is_some(), "{fields}");
    let admin = app.get(&format!("/v1/projects/{bridge}")).await;
    assert_eq!(
        admin.body["custom_fields"]["company_industry"],
        "Engineering"
    );
}

#[tokio::test]
async fn the_schema_marks_them_read_only_and_typed() {
    let app = spawn_app().await;
    define_all(&app).await;
    let schema = app.get("/v1/schema/company").await;
    assert_eq!(schema.status, 200, "{}", schema.body);
    let custom = &schema.body["properties"]["custom_fields"]["properties"];
    assert_eq!(custom["open_projects"]["readOnly"], true);
    assert_eq!(custom["open_projects"]["type"], "integer");
    assert_eq!(custom["won_value"]["x-field-type"], "rollup");
    assert_eq!(
        custom["won_value"]["properties"]["currency"]["const"],
        "EUR"
    );
    let projects = app.get("/v1/schema/project").await;
    let lookup = &projects.body["properties"]["custom_fields"]["properties"]["company_industry"];
    assert_eq!(lookup["type"], json!(["string", "null"]));
    assert_eq!(lookup["x-lookup"]["record_type"], "company");
}

#[tokio::test]
async fn a_page_costs_two_statements_whatever_its_size() {
    let app = spawn_app().await;
    define_all(&app).await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let id = company(&app, &format!("C{i}"), "Engineering").await;
        project(&app, &format!("P{i}"), id, "1").await;
        ids.push(id);
    }
    let mut conn = CountingConnection::open(&app.database_url);
    let mask = domain::roles::FieldMask::unrestricted();
    let mut counts = Vec::new();
    for take in [1, 12] {
        let mut records: Vec<domain::company::Company> = ids[..take]
            .iter()
            .map(|id| {
                conn.count(|c| persistence::companies::get(c, app.account_id, *id))
                    .0
                    .unwrap_or_else(|e| panic!("{e:?}"))
            })
            .collect();
        let (filled, seen) =
            conn.count(|c| persistence::computed::fill(c, app.account_id, &mask, &mut records));
        filled.unwrap_or_else(|e| panic!("{e:?}"));
        assert!(
            records
                .iter()
                .all(|r| r.custom_fields["open_projects"] == 1)
        );
        counts.push(seen.run);
    }
    assert_eq!(
        counts,
        [2, 2],
        "definitions, then one statement for the page"
    );
}

#[tokio::test]
async fn list_members_and_a_dynamic_lists_records_carry_them_too() {
    let app = spawn_app().await;
    define_all(&app).await;
    let acme = company(&app, "Acme", "Engineering").await;
    project(&app, "Shed", acme, "5").await;
    let list = app
        .post(
            "/v1/lists",
            json!({"record_type": "company", "name": "Key accounts"}),
        )
        .await;
    assert_eq!(list.status, 201, "{}", list.body);
    let id = list.id();
    let added = app
        .post(
            &format!("/v1/lists/{id}/members"),
            json!({"record_ids": [acme]}),
        )
        .await;
    assert_eq!(added.status, 200, "{}", added.body);
    let members = app.get(&format!("/v1/lists/{id}/members")).await;
    assert_eq!(
        members.body["data"][0]["custom_fields"]["open_projects"], 1,
        "{}",
        members.body
    );
    let view = app
        .post(
            "/v1/views",
            json!({"record_type": "company", "name": "Engineers",
                   "filter": {"field": "industry", "op": "eq", "value": "Engineering"}}),
        )
        .await;
    let dynamic = app
        .post(
            "/v1/lists",
            json!({"record_type": "company", "name": "Engineers", "view_id": view.id()}),
        )
        .await;
    assert_eq!(dynamic.status, 201, "{}", dynamic.body);
    let members = app
        .get(&format!("/v1/lists/{}/members", dynamic.id()))
        .await;
    assert_eq!(
        members.body["data"][0]["custom_fields"]["open_projects"], 1,
        "{}",
        members.body
    );
}

#[tokio::test]
async fn a_field_that_lookups_or_rollups_compute_from_cannot_be_deleted_until_they_go() {
    let app = spawn_app().await;
    let tier = define(
        &app,
        json!({"record_type": "company", "key": "tier", "label": "Tier", "type": "number"}),
    )
    .await;
    let budget = define(
        &app,
        json!({"record_type": "project", "key": "budget", "label": "Budget", "type": "number"}),
    )
    .await;
    let shown = define(
        &app,
        json!({"record_type": "project", "key": "company_tier", "label": "Company tier",
               "type": "lookup", "lookup": {"through": "company_id", "field": "custom_fields.tier"}}),
    )
    .await;
    let filtered = define(
        &app,
        json!({"record_type": "company", "key": "big_projects", "label": "Big projects",
               "type": "rollup",
               "rollup": {"record_type": "project", "through": "company_id", "function": "count",
                          "filter": {"and": [{"field": "custom_fields.budget", "op": "gt", "value": 100}]}}}),
    )
    .await;
    let refused = app.delete(&format!("/v1/fields/{}", tier["id"])).await;
    refused.assert_problem(409, "conflict");
    assert!(
        refused.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("project.custom_fields.company_tier")),
        "{}",
        refused.body
    );
    let refused = app.delete(&format!("/v1/fields/{}", budget["id"])).await;
    refused.assert_problem(409, "conflict");
    assert!(
        refused.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("company.custom_fields.big_projects")),
        "{}",
        refused.body
    );
    // Once what computes from them is gone, they go too.
    for field in [&shown, &filtered, &tier, &budget] {
        let deleted = app.delete(&format!("/v1/fields/{}", field["id"])).await;
        assert_eq!(deleted.status, 204, "{}", deleted.body);
    }
}
