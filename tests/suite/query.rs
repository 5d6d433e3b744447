//! The filter language and `POST /v1/{records}/query`: each op on each kind, nesting,
//! relative dates, limits and wrong kinds refused with their path, pages, tenants and scopes;
//! and the index of custom field values, kept by every write path.

use chrono::{Days, Utc};
use diesel::prelude::*;
use domain::filter::{self, FieldKind, Target};
use domain::listing::{PageSize, Sort};
use persistence::schema::custom_values;
use serde_json::{Value, json};

use crate::common::*;

/// The names of a page's records, in order.
fn names(answer: &Answer) -> Vec<String> {
    assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);
    answer.body["data"]
        .as_array()
        .map(|list| {
            list.iter()
                .filter_map(|r| {
                    r["name"]
                        .as_str()
                        .or(r["first_name"].as_str())
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn companies_matching(app: &TestApp, filter: Value) -> Vec<String> {
    let answer = app
        .post(
            "/v1/companies/query",
            json!({"filter": filter, "sort": "name"}),
        )
        .await;
    names(&answer)
}

/// Three companies that differ in every kind of field.
async fn three_companies(app: &TestApp) -> (i64, i64, i64) {
    let (owner, _) = app
        .member("owner@acme.test", "member", &["companies:read"])
        .await;
    let acme = app
        .post(
            "/v1/companies",
            json!({"name": "Acme Ltd", "industry": "Engineering", "size_band": "11-50",
                   "owner_id": owner, "tags": ["vip", "emea"], "domain": "acme.com"}),
        )
        .await
        .id();
    let globex = app
        .post(
            "/v1/companies",
            json!({"name": "Globex", "industry": "Energy", "size_band": "51-200",
                   "tags": ["emea"], "show_in_pipeline": false}),
        )
        .await
        .id();
    let initech = app
        .post("/v1/companies", json!({"name": "initech"}))
        .await
        .id();
    (acme, globex, initech)
}

#[tokio::test]
async fn text_fields_take_each_of_their_ops() {
    let app = spawn_app().await;
    three_companies(&app).await;
    let cases = [
        (
            json!({"field": "industry", "op": "eq", "value": "Energy"}),
            vec!["Globex"],
        ),
        // `neq` includes the records without a value.
        (
            json!({"field": "industry", "op": "neq", "value": "Energy"}),
            vec!["Acme Ltd", "initech"],
        ),
        (
            json!({"field": "industry", "op": "in", "value": ["Energy", "Engineering"]}),
            vec!["Acme Ltd", "Globex"],
        ),
        (
            json!({"field": "name", "op": "contains", "value": "EX"}),
            vec!["Globex"],
        ),
        (
            json!({"field": "name", "op": "starts_with", "value": "INI"}),
            vec!["initech"],
        ),
        (
            json!({"field": "name", "op": "contains", "value": "%"}),
            vec![],
        ),
        (
            json!({"field": "industry", "op": "is_null", "value": true}),
            vec!["initech"],
        ),
        (
            json!({"field": "domain", "op": "is_null", "value": false}),
            vec!["Acme Ltd"],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            companies_matching(&app, filter.clone()).await,
            expected,
            "{filter}"
        );
    }
}

#[tokio::test]
async fn choice_id_boolean_and_tags_fields_take_their_ops() {
    let app = spawn_app().await;
    let (acme, globex, _) = three_companies(&app).await;
    let owner = app.get(&format!("/v1/companies/{acme}")).await.body["owner_id"].clone();
    let cases = [
        (
            json!({"field": "size_band", "op": "eq", "value": "51-200"}),
            vec!["Globex"],
        ),
        (
            json!({"field": "size_band", "op": "in", "value": ["11-50", "51-200"]}),
            vec!["Acme Ltd", "Globex"],
        ),
        (
            json!({"field": "relationship_status", "op": "eq", "value": "not_set"}),
            vec!["Acme Ltd", "Globex", "initech"],
        ),
        (
            json!({"field": "owner_id", "op": "eq", "value": owner}),
            vec!["Acme Ltd"],
        ),
        (
            json!({"field": "owner_id", "op": "is_null", "value": true}),
            vec!["Globex", "initech"],
        ),
        (
            json!({"field": "id", "op": "in", "value": [acme, globex]}),
            vec!["Acme Ltd", "Globex"],
        ),
        (
            json!({"field": "show_in_pipeline", "op": "eq", "value": false}),
            vec!["Globex"],
        ),
        (
            json!({"field": "show_in_pipeline", "op": "neq", "value": false}),
            vec!["Acme Ltd", "initech"],
        ),
        (
            json!({"field": "tags", "op": "contains", "value": "vip"}),
            vec!["Acme Ltd"],
        ),
        (
            json!({"field": "tags", "op": "in", "value": ["emea", "apac"]}),
            vec!["Acme Ltd", "Globex"],
        ),
        (
            json!({"field": "tags", "op": "is_null", "value": true}),
            vec!["initech"],
        ),
        (
            json!({"field": "tags", "op": "is_null", "value": false}),
            vec!["Acme Ltd", "Globex"],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(
            companies_matching(&app, filter.clone()).await,
            expected,
            "{filter}"
        );
    }
}

#[tokio::test]
async fn and_or_not_nest() {
    let app = spawn_app().await;
    three_companies(&app).await;
    let filter = json!({"or": [
        {"and": [
            {"field": "tags", "op": "contains", "value": "emea"},
            {"not": {"field": "tags", "op": "contains", "value": "vip"}},
        ]},
        {"field": "name", "op": "eq", "value": "initech"},
    ]});
    assert_eq!(
        companies_matching(&app, filter).await,
        ["Globex", "initech"]
    );
    let filter = json!({"not": {"or": [
        {"field": "industry", "op": "eq", "value": "Energy"},
        {"field": "size_band", "op": "eq", "value": "11-50"},
    ]}});
    assert_eq!(companies_matching(&app, filter).await, ["initech"]);
}

#[tokio::test]
async fn numbers_dates_and_relative_dates() {
    let app = spawn_app().await;
    let today = Utc::now().date_naive();
    let in_40_days = today.checked_add_days(Days::new(40)).unwrap_or(today);
    for (name, amount, finish) in [
        ("Small", "999.99", today),
        ("Medium", "12500.50", in_40_days),
        ("Unvalued", "", today),
    ] {
        let mut body = json!({"name": name, "expected_finish_date": finish.to_string()});
        if !amount.is_empty() {
            body["value"] = json!({"amount": amount, "currency": "EUR"});
        }
        let answer = app.post("/v1/projects", body).await;
        assert_eq!(answer.status.as_u16(), 201, "{}", answer.body);
    }
    let projects = |filter: Value| {
        let app = &app;
        async move {
            let answer = app
                .post(
                    "/v1/projects/query",
                    json!({"filter": filter, "sort": "name"}),
                )
                .await;
            names(&answer)
        }
    };
    let cases = [
        (
            json!({"field": "value", "op": "gt", "value": 999.99}),
            vec!["Medium"],
        ),
        (
            json!({"field": "value", "op": "gte", "value": "999.99"}),
            vec!["Medium", "Small"],
        ),
        (
            json!({"field": "value", "op": "lt", "value": 1000}),
            vec!["Small"],
        ),
        (
            json!({"field": "value", "op": "eq", "value": 12500.5}),
            vec!["Medium"],
        ),
        (
            json!({"field": "value", "op": "eq", "value": 12500.50001}),
            vec![],
        ),
        (
            json!({"field": "value", "op": "between", "value": [500, 13000]}),
            vec!["Medium", "Small"],
        ),
        (
            json!({"field": "value", "op": "is_null", "value": true}),
            vec!["Unvalued"],
        ),
        (
            json!({"field": "expected_finish_date", "op": "eq", "value": "today"}),
            vec!["Small", "Unvalued"],
        ),
        (
            json!({"field": "expected_finish_date", "op": "eq", "value": in_40_days.to_string()}),
            vec!["Medium"],
        ),
        (
            json!({"field": "expected_finish_date", "op": "gt", "value": "next_30_days"}),
            vec!["Medium"],
        ),
        (
            json!({"field": "expected_finish_date", "op": "neq", "value": "last_7_days"}),
            vec!["Medium"],
        ),
        (
            json!({"field": "created_at", "op": "eq", "value": "today"}),
            vec!["Medium", "Small", "Unvalued"],
        ),
        (
            json!({"field": "created_at", "op": "lte", "value": "yesterday"}),
            vec![],
        ),
        (
            json!({"field": "created_at", "op": "between", "value": ["last_7_days", "next_7_days"]}),
            vec!["Medium", "Small", "Unvalued"],
        ),
        (
            json!({"field": "created_at", "op": "gt", "value": Utc::now().checked_add_days(Days::new(1)).unwrap_or_default().to_rfc3339()}),
            vec![],
        ),
        (
            json!({"field": "state", "op": "in", "value": ["proposed", "not_set"]}),
            vec!["Medium", "Small", "Unvalued"],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(projects(filter.clone()).await, expected, "{filter}");
    }
}

#[tokio::test]
async fn contacts_are_queried_by_their_own_fields() {
    let app = spawn_app().await;
    let acme = app.company("Acme Ltd").await;
    for (first, email, company) in [
        ("Ada", "Ada@Example.com", Some(acme)),
        ("Grace", "grace@example.com", None),
    ] {
        let answer = app
            .post(
                "/v1/contacts",
                json!({"first_name": first, "email": email, "company_id": company}),
            )
            .await;
        assert_eq!(answer.status.as_u16(), 201, "{}", answer.body);
    }
    let contacts = |filter: Value| {
        let app = &app;
        async move {
            names(
                &app.post(
                    "/v1/contacts/query",
                    json!({"filter": filter, "sort": "name"}),
                )
                .await,
            )
        }
    };
    assert_eq!(
        contacts(json!({"field": "email", "op": "eq", "value": "ADA@example.COM"})).await,
        ["Ada"],
        "an email matches whatever its case"
    );
    assert_eq!(
        contacts(json!({"field": "company_id", "op": "eq", "value": acme})).await,
        ["Ada"]
    );
    assert_eq!(
        contacts(json!({"field": "name", "op": "starts_with", "value": "gr"})).await,
        ["Grace"]
    );
}

#[tokio::test]
async fn limits_and_wrong_kinds_are_refused_with_their_path() {
    let app = spawn_app().await;
    let refused = |body: Value| {
        let app = &app;
        async move { app.post("/v1/companies/query", body).await }
    };
    let mut deep = json!({"field": "name", "op": "eq", "value": "a"});
    for _ in 0..filter::MAX_DEPTH {
        deep = json!({ "not": deep });
    }
    let answer = refused(json!({ "filter": deep })).await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.body["errors"][0]["code"], "too_deep");

    let many: Vec<Value> = (0..=filter::MAX_CONDITIONS)
        .map(|i| json!({"field": "name", "op": "eq", "value": i.to_string()}))
        .collect();
    let answer = refused(json!({"filter": {"or": many}})).await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.body["errors"][0]["code"], "too_many_conditions");

    let ids: Vec<i64> = (1..=filter::MAX_IN_VALUES as i64 + 1).collect();
    let answer = refused(json!({"filter": {"and": [
        {"field": "name", "op": "eq", "value": "a"},
        {"field": "owner_id", "op": "in", "value": ids},
    ]}}))
    .await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), ["filter.and[1].value"]);
    assert_eq!(answer.body["errors"][0]["code"], "too_many_values");

    let answer = refused(json!({"filter":
        {"field": "name", "op": "contains", "value": "x".repeat(filter::MAX_STRING_CHARS + 1)}}))
    .await;
    assert_eq!(answer.body["errors"][0]["code"], "too_long");

    for (filter, path, code) in [
        (
            json!({"and": [{"field": "name", "op": "eq", "value": "a"}, {"field": "name", "op": "gt", "value": "b"}]}),
            "filter.and[1].op",
            "invalid_op",
        ),
        (
            json!({"field": "show_in_pipeline", "op": "eq", "value": "yes"}),
            "filter.value",
            "invalid_value",
        ),
        (
            json!({"field": "size_band", "op": "eq", "value": "huge"}),
            "filter.value",
            "invalid_choice",
        ),
        (
            json!({"field": "created_at", "op": "gt", "value": "someday"}),
            "filter.value",
            "invalid_value",
        ),
        (
            json!({"field": "vat_number", "op": "eq", "value": "1"}),
            "filter.field",
            "unknown_field",
        ),
        // No custom field is defined in this account: each is unknown.
        (
            json!({"field": "custom_fields.tier", "op": "eq", "value": "gold"}),
            "filter.field",
            "unknown_field",
        ),
        (
            json!({"or": {"field": "name"}}),
            "filter.or",
            "invalid_filter",
        ),
    ] {
        let answer = refused(json!({ "filter": filter })).await;
        answer.assert_problem(422, "validation_failed");
        assert_eq!(answer.error_fields(), [path], "{filter}");
        assert_eq!(answer.body["errors"][0]["code"], code, "{filter}");
    }
    // The page and order are fields of the body like the filter.
    let answer = refused(json!({"sort": "value"})).await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), ["sort"]);
    let answer = refused(json!({"limit": 0})).await;
    assert_eq!(answer.error_fields(), ["limit"]);
    let answer = refused(json!({"filters": {}})).await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.body["errors"][0]["code"], "unknown_field");
}

#[tokio::test]
async fn pages_follow_the_cursor() {
    let app = spawn_app().await;
    for name in ["A1", "A2", "A3", "A4", "A5", "B1"] {
        app.company(name).await;
    }
    let filter = json!({"field": "name", "op": "starts_with", "value": "a"});
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut body = json!({"filter": filter, "sort": "-name", "limit": 2});
        if let Some(c) = &cursor {
            body["cursor"] = json!(c);
        }
        let answer = app.post("/v1/companies/query", body).await;
        seen.extend(names(&answer));
        match answer.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, ["A5", "A4", "A3", "A2", "A1"]);
}

#[tokio::test]
async fn another_accounts_records_never_match_and_scopes_are_checked() {
    let app = spawn_app().await;
    app.company("Ours").await;
    let theirs = app.other_account("Other Firm");
    let answer = app
        .post_as(&theirs, "/v1/companies", json!({"name": "Theirs"}))
        .await;
    assert_eq!(answer.status.as_u16(), 201);
    let everything = json!({"filter": {"field": "name", "op": "is_null", "value": false}});
    assert_eq!(
        names(&app.post("/v1/companies/query", everything.clone()).await),
        ["Ours"]
    );
    assert_eq!(
        names(
            &app.post_as(&theirs, "/v1/companies/query", everything.clone())
                .await
        ),
        ["Theirs"]
    );
    let (_, contacts_only) = app
        .member("reader@acme.test", "viewer", &["contacts:read"])
        .await;
    app.post_as(&contacts_only, "/v1/companies/query", everything.clone())
        .await
        .assert_problem(403, "insufficient_scope");
    app.post_as(&contacts_only, "/v1/projects/query", json!({}))
        .await
        .assert_problem(403, "insufficient_scope");
    let answer = app
        .post_as(&contacts_only, "/v1/contacts/query", json!({}))
        .await;
    assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);
    let (_, reader) = app
        .member("viewer@acme.test", "viewer", &["companies:read"])
        .await;
    assert_eq!(
        names(
            &app.post_as(&reader, "/v1/companies/query", everything)
                .await
        ),
        ["Ours"],
        "a viewer with the read scope queries"
    );
}

// ---------------------------------------------------------------------------------------------
// The index of custom field values

/// The kinds a test account gives its custom fields, as field definitions will.
fn kinds(key: &str) -> Option<FieldKind> {
    match key {
        "tier" => Some(FieldKind::Text),
        "seats" => Some(FieldKind::Number),
        "budget" => Some(FieldKind::Number),
        "regions" => Some(FieldKind::Tags),
        "renewal" => Some(FieldKind::Date),
        "active" => Some(FieldKind::Boolean),
        _ => None,
    }
}

/// The names of the account's companies that match `filter`, read through the repository
/// with custom fields defined by [`kinds`].
fn matching_custom(app: &TestApp, filter: Value) -> Vec<String> {
    let parsed = filter::parse(&filter, "filter", Target::Company, &kinds, Utc::now())
        .unwrap_or_else(|e| panic!("{filter}: {e}"));
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    let page = persistence::companies::list(
        &mut conn,
        app.account_id,
        &persistence::companies::CompanyFilter {
            matching: Some(parsed),
            ..Default::default()
        },
        Sort::default(),
        PageSize::default(),
        None,
    )
    .unwrap_or_else(|e| panic!("{filter}: {e:?}"));
    let mut names: Vec<String> = page.items.into_iter().map(|c| c.name).collect();
    names.sort();
    names
}

/// The index rows of one company: (key, text, number), in order.
fn index_of(app: &TestApp, id: i64) -> Vec<(String, Option<String>, Option<f64>)> {
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    let mut rows: Vec<(String, Option<String>, Option<f64>)> = custom_values::table
        .filter(custom_values::account_id.eq(app.account_id))
        .filter(custom_values::record_type.eq("company"))
        .filter(custom_values::record_id.eq(id))
        .select((
            custom_values::field_key,
            custom_values::value_text,
            custom_values::value_number,
        ))
        .load(&mut *conn)
        .unwrap_or_else(|e| panic!("{e:?}"));
    rows.sort_by(|a, b| format!("{a:?}").cmp(&format!("{b:?}")));
    rows
}

fn text(key: &str, value: &str) -> (String, Option<String>, Option<f64>) {
    (key.to_owned(), Some(value.to_owned()), None)
}

fn number(key: &str, value: f64) -> (String, Option<String>, Option<f64>) {
    (key.to_owned(), None, Some(value))
}

#[tokio::test]
async fn the_custom_value_index_follows_create_patch_import_and_delete() {
    let app = spawn_app().await;
    // Create.
    let created = app
        .post(
            "/v1/companies",
            json!({"name": "Created", "custom_fields": {
                "tier": "gold", "seats": 12, "regions": ["emea", "apac"], "active": true,
                "budget": {"amount": "12500.50", "currency": "EUR"},
                "renewal": "2027-03-01", "notes": {"free": "form"}, "gone": null}}),
        )
        .await
        .id();
    assert_eq!(
        index_of(&app, created),
        [
            text("active", "true"),
            number("budget", 12500.5),
            text("regions", "apac"),
            text("regions", "emea"),
            text("renewal", "2027-03-01"),
            number("seats", 12.0),
            text("tier", "gold"),
        ]
    );
    // Patch: a merge patch; a removed key leaves the index.
    let patched = app.company("Patched").await;
    let answer = app
        .patch(
            &format!("/v1/companies/{patched}"),
            json!({"custom_fields": {"tier": "silver", "seats": 3}}),
        )
        .await;
    assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);
    app.patch(
        &format!("/v1/companies/{patched}"),
        json!({"custom_fields": {"seats": null}}),
    )
    .await;
    assert_eq!(index_of(&app, patched), [text("tier", "silver")]);
    // Import.
    let answer = app
        .post(
            "/v1/companies/import",
            json!([{"name": "Imported", "custom_fields": {"tier": "gold", "seats": 250}}]),
        )
        .await;
    assert_eq!(answer.status.as_u16(), 200, "{}", answer.body);
    assert_eq!(
        matching_custom(
            &app,
            json!({"field": "custom_fields.tier", "op": "eq", "value": "gold"})
        ),
        ["Created", "Imported"]
    );

    let cases = [
        (
            json!({"field": "custom_fields.tier", "op": "neq", "value": "gold"}),
            vec!["Patched"],
        ),
        (
            json!({"field": "custom_fields.tier", "op": "in", "value": ["silver", "bronze"]}),
            vec!["Patched"],
        ),
        (
            json!({"field": "custom_fields.tier", "op": "starts_with", "value": "GO"}),
            vec!["Created", "Imported"],
        ),
        (
            json!({"field": "custom_fields.seats", "op": "gt", "value": 12}),
            vec!["Imported"],
        ),
        (
            json!({"field": "custom_fields.seats", "op": "between", "value": [1, 12]}),
            vec!["Created"],
        ),
        (
            json!({"field": "custom_fields.seats", "op": "is_null", "value": true}),
            vec!["Patched"],
        ),
        (
            json!({"field": "custom_fields.budget", "op": "gte", "value": "12500.5"}),
            vec!["Created"],
        ),
        (
            json!({"field": "custom_fields.regions", "op": "contains", "value": "apac"}),
            vec!["Created"],
        ),
        (
            json!({"field": "custom_fields.regions", "op": "in", "value": ["emea", "latam"]}),
            vec!["Created"],
        ),
        (
            json!({"field": "custom_fields.active", "op": "eq", "value": true}),
            vec!["Created"],
        ),
        (
            json!({"field": "custom_fields.renewal", "op": "lt", "value": "2027-03-02"}),
            vec!["Created"],
        ),
        (
            json!({"field": "custom_fields.renewal", "op": "eq", "value": "this_year"}),
            vec![],
        ),
        (
            json!({"and": [
                {"field": "custom_fields.tier", "op": "eq", "value": "gold"},
                {"not": {"field": "custom_fields.seats", "op": "lt", "value": 100}},
            ]}),
            vec!["Imported"],
        ),
    ];
    for (filter, expected) in cases {
        assert_eq!(matching_custom(&app, filter.clone()), expected, "{filter}");
    }

    // Another account's values never match.
    let theirs = app.other_account("Other Firm");
    app.post_as(
        &theirs,
        "/v1/companies",
        json!({"name": "Theirs", "custom_fields": {"tier": "gold"}}),
    )
    .await;
    assert_eq!(
        matching_custom(
            &app,
            json!({"field": "custom_fields.tier", "op": "eq", "value": "gold"})
        ),
        ["Created", "Imported"]
    );
    // Delete.
    app.delete(&format!("/v1/companies/{created}")).await;
    assert_eq!(index_of(&app, created), []);
}
