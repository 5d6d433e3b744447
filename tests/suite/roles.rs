//! Roles (`/v1/roles`) and field-level security: the built-in roles as rows, custom roles whose
//! rights are their members' ceiling, held roles that cannot go, and fields hidden from or
//! read-only for a role in responses, lists, filters, writes, events, webhook deliveries and
//! the record schema.

use crate::common::receiver::Receiver;
use crate::common::roles::{role_id, set_field_rules};
use crate::common::*;
use serde_json::{Value, json};

async fn roles(app: &TestApp) -> Vec<Value> {
    let answer = app.get("/v1/roles").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["data"].as_array().cloned().unwrap_or_default()
}

/// A viewer whose role hides companies' `industry`, and a company that has one.
async fn viewer_without_industry(app: &TestApp) -> (String, i64) {
    set_field_rules(
        app,
        "viewer",
        json!([{"record_type": "company", "field": "industry", "access": "hidden"}]),
    )
    .await;
    let (_, token) = app.member("vera@acme.test", "viewer", &["admin"]).await;
    let created = app
        .post(
            "/v1/companies",
            json!({"name": "Acme", "industry": "Engineering"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    (token, created.id())
}

#[tokio::test]
async fn every_account_has_the_three_built_in_roles() {
    let app = spawn_app().await;
    let all = roles(&app).await;
    let names: Vec<&str> = all.iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(names, ["admin", "member", "viewer"]);
    assert!(
        all.iter()
            .all(|r| r["builtin"] == true && r["visibility"] == "all")
    );
    assert!(
        all[0]["rights"]
            .as_array()
            .is_some_and(|r| r.contains(&json!("admin")))
    );
    let me = app.get("/v1/me").await;
    assert_eq!(me.body["user"]["role"], "admin");
    assert_eq!(me.body["user"]["role_id"], all[0]["id"]);
}

#[tokio::test]
async fn built_in_roles_cannot_be_deleted_nor_their_rights_changed() {
    let app = spawn_app().await;
    let viewer = role_id(&app, "viewer").await;
    app.delete(&format!("/v1/roles/{viewer}"))
        .await
        .assert_problem(409, "conflict");
    let answer = app
        .patch(
            &format!("/v1/roles/{viewer}"),
            json!({"rights": ["companies:write"]}),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), ["rights"]);
    let visibility = app
        .patch(&format!("/v1/roles/{viewer}"), json!({"visibility": "own"}))
        .await;
    assert_eq!(visibility.status, 200, "{}", visibility.body);
    assert_eq!(visibility.body["visibility"], "own");
}

#[tokio::test]
async fn a_custom_roles_rights_limit_its_member() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/v1/roles",
            json!({"name": "Sales", "description": "Account managers",
                   "rights": ["companies:read", "companies:write", "contacts:read"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["builtin"], false);
    let sales = created.id();
    let user = app
        .post(
            "/v1/users",
            json!({"email": "sam@acme.test", "name": "Sam", "role_id": sales}),
        )
        .await;
    assert_eq!(user.status, 201, "{}", user.body);
    assert_eq!(user.body["role"], "Sales");
    assert_eq!(user.body["role_id"], sales);
    let token = app.token_for(user.id(), &["admin"], None);
    let company = app
        .post_as(&token, "/v1/companies", json!({"name": "Acme"}))
        .await;
    assert_eq!(company.status, 201, "{}", company.body);
    app.post_as(&token, "/v1/contacts", json!({"first_name": "Ana"}))
        .await
        .assert_problem(403, "forbidden");
    app.get_as(&token, "/v1/projects")
        .await
        .assert_problem(403, "forbidden");
    let me = app.get_as(&token, "/v1/me").await;
    assert_eq!(me.body["role"], "Sales");
}

#[tokio::test]
async fn a_rights_change_reaches_members_at_once() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/v1/roles",
            json!({"name": "Readers", "rights": ["companies:read"]}),
        )
        .await;
    let readers = created.id();
    let user = app
        .post(
            "/v1/users",
            json!({"email": "rita@acme.test", "name": "Rita", "role_id": readers}),
        )
        .await;
    let token = app.token_for(user.id(), &["admin"], None);
    assert_eq!(app.get_as(&token, "/v1/companies").await.status, 200);
    let changed = app
        .patch(
            &format!("/v1/roles/{readers}"),
            json!({"rights": ["contacts:read"]}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    app.get_as(&token, "/v1/companies")
        .await
        .assert_problem(403, "forbidden");
}

#[tokio::test]
async fn a_role_that_team_members_hold_cannot_be_deleted() {
    let app = spawn_app().await;
    let role = app
        .post(
            "/v1/roles",
            json!({"name": "Temps", "rights": ["companies:read"]}),
        )
        .await
        .id();
    let user = app
        .post(
            "/v1/users",
            json!({"email": "tim@acme.test", "name": "Tim", "role_id": role}),
        )
        .await
        .id();
    let refused = app.delete(&format!("/v1/roles/{role}")).await;
    refused.assert_problem(409, "conflict");
    assert!(
        refused.body["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("1 team member")),
        "{}",
        refused.body
    );
    let moved = app
        .patch(&format!("/v1/users/{user}"), json!({"role": "viewer"}))
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert_eq!(app.delete(&format!("/v1/roles/{role}")).await.status, 204);
    let events = app.get("/v1/events?types=role.deleted").await;
    assert_eq!(events.body["data"][0]["data"]["object"]["name"], "Temps");
}

#[tokio::test]
async fn role_names_are_unique_and_rights_are_scopes_without_admin() {
    let app = spawn_app().await;
    app.post("/v1/roles", json!({"name": "Member", "rights": []}))
        .await
        .assert_problem(422, "validation_failed");
    let answer = app
        .post(
            "/v1/roles",
            json!({"name": "Boss", "rights": ["companies:read", "admin", "ships:sail"]}),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), ["rights[1]", "rights[2]"]);
    let unknown = app
        .post(
            "/v1/roles",
            json!({"name": "X", "rights": [], "field_rules": [
                {"record_type": "company", "field": "colour", "access": "hidden"},
                {"record_type": "company", "field": "custom_fields.tier", "access": "read"}]}),
        )
        .await;
    unknown.assert_problem(422, "validation_failed");
    assert_eq!(
        unknown.error_fields(),
        ["field_rules[0].field", "field_rules[1].field"]
    );
}

#[tokio::test]
async fn only_admins_write_roles_and_everyone_reads_them() {
    let app = spawn_app().await;
    let (_, member) = app.member("mia@acme.test", "member", &["admin"]).await;
    app.post_as(&member, "/v1/roles", json!({"name": "Mine", "rights": []}))
        .await
        .assert_problem(403, "forbidden");
    let (_, narrow) = app
        .member("ned@acme.test", "admin", &["companies:read"])
        .await;
    app.post_as(&narrow, "/v1/roles", json!({"name": "Mine", "rights": []}))
        .await
        .assert_problem(403, "insufficient_scope");
    let read = app.get_as(&member, "/v1/roles").await;
    assert_eq!(read.status, 200, "{}", read.body);
}

#[tokio::test]
async fn another_accounts_role_does_not_exist_for_the_caller() {
    let app = spawn_app().await;
    let other = app.other_account("Globex");
    let theirs = app.get_as(&other, "/v1/roles").await.body["data"][2]["id"]
        .as_i64()
        .unwrap_or_default();
    app.get(&format!("/v1/roles/{theirs}"))
        .await
        .assert_problem(404, "not_found");
    app.delete(&format!("/v1/roles/{theirs}"))
        .await
        .assert_problem(404, "not_found");
    let answer = app
        .post(
            "/v1/users",
            json!({"email": "x@acme.test", "name": "X", "role_id": theirs}),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), ["role_id"]);
}

#[tokio::test]
async fn the_last_admin_cannot_leave_the_admin_role_for_a_custom_one() {
    let app = spawn_app().await;
    let role = app
        .post(
            "/v1/roles",
            json!({"name": "Ops", "rights": ["companies:read"]}),
        )
        .await
        .id();
    app.patch(
        &format!("/v1/users/{}", app.admin_id),
        json!({"role_id": role}),
    )
    .await
    .assert_problem(409, "last_admin");
}

#[tokio::test]
async fn a_viewer_does_not_see_a_hidden_field_in_a_get_or_a_list() {
    let app = spawn_app().await;
    let (viewer, id) = viewer_without_industry(&app).await;
    let one = app.get_as(&viewer, &format!("/v1/companies/{id}")).await;
    assert_eq!(one.status, 200, "{}", one.body);
    assert_eq!(one.body["name"], "Acme");
    assert!(one.body.get("industry").is_none(), "{}", one.body);
    let list = app.get_as(&viewer, "/v1/companies").await;
    assert!(
        list.body["data"][0].get("industry").is_none(),
        "{}",
        list.body
    );
    assert_eq!(list.body["data"][0]["name"], "Acme");
    // The admin still sees it.
    let admin = app.get(&format!("/v1/companies/{id}")).await;
    assert_eq!(admin.body["industry"], "Engineering");
}

#[tokio::test]
async fn a_viewer_cannot_filter_or_sort_on_a_hidden_field() {
    let app = spawn_app().await;
    let (viewer, _) = viewer_without_industry(&app).await;
    let answer = app
        .get_as(&viewer, "/v1/companies?industry=Engineering")
        .await;
    answer.assert_problem(400, "bad_request");
    assert_eq!(answer.error_fields(), ["industry"]);
    set_field_rules(
        &app,
        "viewer",
        json!([{"record_type": "company", "field": "name", "access": "hidden"}]),
    )
    .await;
    let sorted = app.get_as(&viewer, "/v1/companies?sort=-name").await;
    sorted.assert_problem(400, "bad_request");
    assert_eq!(sorted.error_fields(), ["sort"]);
}

#[tokio::test]
async fn a_viewer_does_not_see_a_hidden_field_in_events() {
    let app = spawn_app().await;
    let (viewer, id) = viewer_without_industry(&app).await;
    app.patch(
        &format!("/v1/companies/{id}"),
        json!({"industry": "Retail"}),
    )
    .await;
    let events = app.get_as(&viewer, "/v1/events?record_type=company").await;
    assert_eq!(events.status, 200, "{}", events.body);
    let data = events.body["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(data.len(), 2, "{}", events.body);
    for event in &data {
        assert_eq!(event["data"]["object"]["name"], "Acme");
        assert!(event["data"]["object"].get("industry").is_none(), "{event}");
        if let Some(previous) = event["data"].get("previous") {
            assert!(previous.get("industry").is_none(), "{event}");
        }
    }
    let admin = app.get("/v1/events?record_type=company").await;
    assert_eq!(
        admin.body["data"][1]["data"]["previous"]["industry"],
        "Engineering"
    );
}

#[tokio::test]
async fn a_webhook_delivers_what_its_creators_role_may_see() {
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
    let (ops, token) = app.member("ops@acme.test", "admin", &["admin"]).await;
    let created = app
        .post_as(
            &token,
            "/v1/webhooks",
            json!({"target_url": receiver.url, "events": ["company.created"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    // The creator becomes a viewer, whose role hides `industry`: later deliveries obey it.
    app.patch(&format!("/v1/users/{ops}"), json!({"role": "viewer"}))
        .await;
    viewer_without_industry(&app).await;
    let received = receiver.wait_for(1).await;
    let body = received[0].json();
    assert_eq!(body["data"]["object"]["name"], "Acme");
    assert!(body["data"]["object"].get("industry").is_none(), "{body}");
}

#[tokio::test]
async fn writing_a_read_only_field_is_403_naming_it() {
    let app = spawn_app().await;
    let field = app
        .post(
            "/v1/fields",
            json!({"record_type": "company", "key": "tier", "label": "Tier", "type": "number"}),
        )
        .await;
    assert_eq!(field.status, 201, "{}", field.body);
    set_field_rules(
        &app,
        "member",
        json!([{"record_type": "company", "field": "custom_fields.tier", "access": "read"},
               {"record_type": "company", "field": "industry", "access": "read"}]),
    )
    .await;
    let (_, member) = app.member("mo@acme.test", "member", &["admin"]).await;
    let refused = app
        .post_as(
            &member,
            "/v1/companies",
            json!({"name": "Acme", "custom_fields": {"tier": 2}}),
        )
        .await;
    refused.assert_problem(403, "field_forbidden");
    assert_eq!(refused.error_fields(), ["custom_fields.tier"]);
    let id = app
        .post_as(&member, "/v1/companies", json!({"name": "Acme"}))
        .await
        .id();
    let patch = app
        .patch_as(
            &member,
            &format!("/v1/companies/{id}"),
            json!({"industry": "Retail"}),
        )
        .await;
    patch.assert_problem(403, "field_forbidden");
    assert_eq!(patch.error_fields(), ["industry"]);
    let import = app
        .post_as(
            &member,
            "/v1/companies/import",
            json!([{"name": "B"}, {"name": "C", "industry": "Retail"}]),
        )
        .await;
    import.assert_problem(403, "field_forbidden");
    assert_eq!(import.error_fields(), ["[1].industry"]);
    // The read-only field is still shown.
    let admin_sets = app
        .patch(
            &format!("/v1/companies/{id}"),
            json!({"industry": "Retail"}),
        )
        .await;
    assert_eq!(admin_sets.status, 200);
    let shown = app.get_as(&member, &format!("/v1/companies/{id}")).await;
    assert_eq!(shown.body["industry"], "Retail");
}

#[tokio::test]
async fn converting_an_enquiry_refuses_a_read_only_field_of_a_new_record_and_converts_nothing() {
    let app = spawn_app().await;
    set_field_rules(
        &app,
        "member",
        json!([{"record_type": "company", "field": "industry", "access": "read"},
               {"record_type": "project", "field": "value", "access": "read"}]),
    )
    .await;
    let (_, member) = app.member("mo@acme.test", "member", &["admin"]).await;
    let enquiry = app
        .post_as(
            &member,
            "/v1/enquiries",
            json!({"name": "Ana Lima", "company_name": "Acme Ltd"}),
        )
        .await;
    assert_eq!(enquiry.status, 201, "{}", enquiry.body);
    let convert = format!("/v1/enquiries/{}/convert", enquiry.id());
    let refused = app
        .post_as(
            &member,
            &convert,
            json!({"company": {"name": "Acme Ltd", "industry": "Retail"},
                   "project": {"name": "Office move", "value": {"amount": "100.00", "currency": "EUR"}}}),
        )
        .await;
    refused.assert_problem(403, "field_forbidden");
    assert_eq!(
        refused.error_fields(),
        ["company.industry", "project.value"]
    );
    let companies = app.get("/v1/companies").await;
    assert_eq!(companies.body["data"], json!([]), "{}", companies.body);
    // Without the read-only fields it converts.
    let converted = app
        .post_as(
            &member,
            &convert,
            json!({"company": {"name": "Acme Ltd"}, "project": {"name": "Office move"}}),
        )
        .await;
    assert_eq!(converted.status, 200, "{}", converted.body);
    assert_eq!(converted.body["status"], "converted");
}

#[tokio::test]
async fn the_schema_leaves_hidden_fields_out_and_marks_read_only_ones() {
    let app = spawn_app().await;
    for key in ["tier", "secret"] {
        let field = app
            .post(
                "/v1/fields",
                json!({"record_type": "company", "key": key, "label": key, "type": "text"}),
            )
            .await;
        assert_eq!(field.status, 201, "{}", field.body);
    }
    set_field_rules(
        &app,
        "viewer",
        json!([{"record_type": "company", "field": "custom_fields.secret", "access": "hidden"},
               {"record_type": "company", "field": "industry", "access": "hidden"}]),
    )
    .await;
    let (_, viewer) = app.member("vic@acme.test", "viewer", &["admin"]).await;
    let schema = app.get_as(&viewer, "/v1/schema/company").await;
    assert_eq!(schema.status, 200, "{}", schema.body);
    let custom = &schema.body["properties"]["custom_fields"]["properties"];
    assert!(custom.get("secret").is_none(), "{custom}");
    assert_eq!(custom["tier"]["readOnly"], true);
    assert!(schema.body["properties"].get("industry").is_none());
    assert_eq!(schema.body["properties"]["name"]["readOnly"], true);
    let admin = app.get("/v1/schema/company").await;
    assert!(admin.body["properties"]["custom_fields"]["properties"]["secret"].is_object());
}

#[tokio::test]
async fn a_hidden_field_cannot_be_filtered_on_in_a_query_nor_through_a_shared_view() {
    let app = spawn_app().await;
    let (viewer, _) = viewer_without_industry(&app).await;
    let query = app
        .post_as(
            &viewer,
            "/v1/companies/query",
            json!({"filter": {"and": [
                {"field": "name", "op": "starts_with", "value": "a"},
                {"field": "industry", "op": "eq", "value": "Engineering"}
            ]}}),
        )
        .await;
    query.assert_problem(422, "validation_failed");
    assert_eq!(query.error_fields(), ["filter.and[1].field"]);
    // An admin's shared view on the field is not one the viewer can apply.
    let view = app
        .post(
            "/v1/views",
            json!({"record_type": "company", "name": "Engineers", "visibility": "account",
                   "filter": {"field": "industry", "op": "eq", "value": "Engineering"}}),
        )
        .await;
    assert_eq!(view.status, 201, "{}", view.body);
    let id = view.id();
    app.get_as(&viewer, &format!("/v1/companies?view_id={id}"))
        .await
        .assert_problem(400, "bad_request");
}

#[tokio::test]
async fn a_hidden_field_is_absent_from_query_answers_and_list_members() {
    let app = spawn_app().await;
    let (viewer, company) = viewer_without_industry(&app).await;
    let found = app
        .post_as(
            &viewer,
            "/v1/companies/query",
            json!({"filter": {"field": "name", "op": "eq", "value": "Acme"}}),
        )
        .await;
    assert_eq!(found.status, 200, "{}", found.body);
    assert_eq!(found.body["data"][0]["name"], "Acme");
    assert!(
        found.body["data"][0].get("industry").is_none(),
        "{}",
        found.body
    );
    let list = app
        .post(
            "/v1/lists",
            json!({"record_type": "company", "name": "Key", "visibility": "account"}),
        )
        .await;
    let list_id = list.id();
    app.post(
        &format!("/v1/lists/{list_id}/members"),
        json!({"record_ids": [company]}),
    )
    .await;
    let members = app
        .get_as(&viewer, &format!("/v1/lists/{list_id}/members"))
        .await;
    assert_eq!(members.status, 200, "{}", members.body);
    assert_eq!(members.body["data"][0]["name"], "Acme");
    assert!(
        members.body["data"][0].get("industry").is_none(),
        "{}",
        members.body
    );
    let admin = app.get(&format!("/v1/lists/{list_id}/members")).await;
    assert_eq!(admin.body["data"][0]["industry"], "Engineering");
}

#[tokio::test]
async fn a_viewers_board_cards_leave_out_a_hidden_field() {
    let app = spawn_app().await;
    let (token, _) = viewer_without_industry(&app).await;
    let pipeline = crate::common::pipelines::default_pipeline(&app).await;
    let first = crate::common::pipelines::phase_ids(&pipeline)[0];
    let placed = app
        .post(
            "/v1/companies",
            json!({"name": "Placed", "industry": "Engineering", "phase_id": first}),
        )
        .await;
    assert_eq!(placed.status, 201, "{}", placed.body);
    let path = format!("/v1/pipelines/{}/board", pipeline["id"]);
    let seen = app.get_as(&token, &path).await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    let card = &seen.body["columns"][0]["cards"][0];
    assert_eq!(card["name"], "Placed", "{}", seen.body);
    assert!(card.get("industry").is_none(), "{}", seen.body);
    let admin = app.get(&path).await;
    assert_eq!(
        admin.body["columns"][0]["cards"][0]["industry"],
        "Engineering"
    );
}
