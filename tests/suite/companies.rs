//! Companies: CRUD, validation, optimistic concurrency, tenancy, filters and keyset paging.

use std::collections::HashSet;

use crate::common::*;
use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{Value, json};

#[tokio::test]
async fn a_created_company_is_answered_with_etag_and_location_and_can_be_read() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/v1/companies",
            json!({
                "name": "  Acme Ltd ", "domain": "ACME.com", "website": "https://acme.com",
                "industry": "Engineering", "size_band": "11-50", "tags": ["vip", "uk", "vip"],
                "custom_fields": {"tier": "gold"}, "owner_id": app.admin_id
            }),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.header("etag"), Some("\"1\""));
    let id = created.id();
    assert_eq!(
        created.header("location"),
        Some(format!("/v1/companies/{id}").as_str())
    );
    assert_eq!(created.body["name"], "Acme Ltd");
    assert_eq!(created.body["domain"], "acme.com");
    assert_eq!(created.body["tags"], json!(["uk", "vip"]));
    assert_eq!(created.body["show_in_pipeline"], true);
    assert_eq!(created.body["version"], 1);
    let read = app.get(&format!("/v1/companies/{id}")).await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body, created.body);
}

#[tokio::test]
async fn validation_failures_name_every_bad_field() {
    let app = spawn_app().await;
    let answer = app
        .post(
            "/v1/companies",
            json!({"name": " ", "domain": "not a domain", "website": "ftp://x", "size_band": "huge",
                   "tags": ["ok", ""], "custom_fields": [1]}),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    let fields: HashSet<String> = answer.error_fields().into_iter().collect();
    for field in [
        "name",
        "domain",
        "website",
        "size_band",
        "tags[1]",
        "custom_fields",
    ] {
        assert!(fields.contains(field), "{field} missing from {fields:?}");
    }
}

#[tokio::test]
async fn a_missing_name_and_a_wrong_type_are_named() {
    let app = spawn_app().await;
    let missing = app.post("/v1/companies", json!({"industry": "x"})).await;
    missing.assert_problem(422, "validation_failed");
    assert_eq!(missing.error_fields(), vec!["name"]);
    let wrong = app
        .post(
            "/v1/companies",
            json!({"name": "A", "show_in_pipeline": "yes"}),
        )
        .await;
    wrong.assert_problem(422, "validation_failed");
    assert_eq!(wrong.error_fields(), vec!["show_in_pipeline"]);
}

#[tokio::test]
async fn unknown_fields_are_refused_so_nothing_is_mass_assigned() {
    let app = spawn_app().await;
    let answer = app
        .post("/v1/companies", json!({"name": "A", "account_id": 99}))
        .await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), vec!["account_id"]);
    let id = app.company("B").await;
    let patch = app
        .patch(&format!("/v1/companies/{id}"), json!({"version": 7}))
        .await;
    patch.assert_problem(422, "validation_failed");
    assert_eq!(
        app.get(&format!("/v1/companies/{id}")).await.body["version"],
        1
    );
}

#[tokio::test]
async fn broken_json_is_400_and_the_wrong_content_type_is_415() {
    let app = spawn_app().await;
    let broken = app
        .client
        .post(format!("{}/v1/companies", app.base))
        .bearer_auth(&app.token)
        .header("content-type", "application/json")
        .body("{\"name\": ")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(broken.status(), 400);
    let form = app
        .client
        .post(format!("{}/v1/companies", app.base))
        .bearer_auth(&app.token)
        .header("content-type", "text/plain")
        .body("name=A")
        .send()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(form.status(), 415);
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_and_writes_nothing() {
    let app = spawn_app().await;
    let big = json!({"name": "Big", "description": "x".repeat(300 * 1024)});
    app.post("/v1/companies", big)
        .await
        .assert_problem(413, "payload_too_large");
    assert_eq!(app.get("/v1/companies").await.body["data"], json!([]));
}

#[tokio::test]
async fn custom_fields_over_the_size_limit_are_refused() {
    let app = spawn_app().await;
    let answer = app
        .post(
            "/v1/companies",
            json!({"name": "A", "custom_fields": {"blob": "x".repeat(20 * 1024)}}),
        )
        .await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), vec!["custom_fields"]);
}

#[tokio::test]
async fn patch_changes_only_what_it_names_and_null_clears() {
    let app = spawn_app().await;
    let id = app
        .post("/v1/companies", json!({"name": "Acme", "industry": "Retail", "phone": "123", "custom_fields": {"a": 1, "b": 2}}))
        .await
        .id();
    let patched = app
        .patch(
            &format!("/v1/companies/{id}"),
            json!({"industry": null, "description": "Makes anvils", "custom_fields": {"a": null, "c": 3}}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(patched.header("etag"), Some("\"2\""));
    assert_eq!(patched.body["industry"], Value::Null);
    assert_eq!(patched.body["phone"], "123");
    assert_eq!(patched.body["description"], "Makes anvils");
    assert_eq!(patched.body["custom_fields"], json!({"b": 2, "c": 3}));
    assert_eq!(patched.body["version"], 2);
}

#[tokio::test]
async fn a_stale_if_match_is_412_and_changes_nothing() {
    let app = spawn_app().await;
    let id = app.company("Acme").await;
    let path = format!("/v1/companies/{id}");
    let first = app
        .request(
            Method::PATCH,
            &path,
            Some(&app.token),
            Some(&json!({"name": "Acme 2"})),
            &[("if-match", "\"1\"")],
        )
        .await;
    assert_eq!(first.status, 200, "{}", first.body);
    let stale = app
        .request(
            Method::PATCH,
            &path,
            Some(&app.token),
            Some(&json!({"name": "Acme 3"})),
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
    let now = app.get(&path).await;
    assert_eq!(now.body["name"], "Acme 2");
    let current = app
        .request(
            Method::DELETE,
            &path,
            Some(&app.token),
            None,
            &[("if-match", "\"2\"")],
        )
        .await;
    assert_eq!(current.status, 204);
    app.get(&path).await.assert_problem(404, "not_found");
}

#[tokio::test]
async fn deleting_a_company_keeps_its_contacts_unlinked() {
    let app = spawn_app().await;
    let company = app.company("Acme").await;
    let contact = app
        .post(
            "/v1/contacts",
            json!({"first_name": "Ana", "company_id": company}),
        )
        .await
        .id();
    assert_eq!(
        app.delete(&format!("/v1/companies/{company}")).await.status,
        204
    );
    let kept = app.get(&format!("/v1/contacts/{contact}")).await;
    assert_eq!(kept.status, 200);
    assert_eq!(kept.body["company_id"], Value::Null);
}

#[tokio::test]
async fn the_owner_must_be_an_active_team_member_of_the_account() {
    let app = spawn_app().await;
    let other = app.other_account("Globex");
    let outsider = app.get_as(&other, "/v1/me").await.body["user"]["id"]
        .as_i64()
        .unwrap_or_default();
    let answer = app
        .post("/v1/companies", json!({"name": "A", "owner_id": outsider}))
        .await;
    answer.assert_problem(422, "validation_failed");
    assert_eq!(answer.error_fields(), vec!["owner_id"]);
}

#[tokio::test]
async fn another_accounts_company_is_404_on_every_verb() {
    let app = spawn_app().await;
    let id = app.company("Ours").await;
    let other = app.other_account("Globex");
    let path = format!("/v1/companies/{id}");
    app.get_as(&other, &path)
        .await
        .assert_problem(404, "not_found");
    app.patch_as(&other, &path, json!({"name": "Theirs"}))
        .await
        .assert_problem(404, "not_found");
    app.delete_as(&other, &path)
        .await
        .assert_problem(404, "not_found");
    let contact = app
        .post_as(
            &other,
            "/v1/contacts",
            json!({"first_name": "X", "company_id": id}),
        )
        .await;
    contact.assert_problem(422, "validation_failed");
    assert_eq!(app.get(&path).await.body["name"], "Ours");
}

#[tokio::test]
async fn lists_never_show_another_accounts_companies() {
    let app = spawn_app().await;
    app.company("Ours").await;
    let other = app.other_account("Globex");
    app.post_as(
        &other,
        "/v1/companies",
        json!({"name": "Theirs", "tags": ["t"]}),
    )
    .await;
    let ours = app.get("/v1/companies?limit=200").await;
    let names: Vec<&str> = ours.body["data"]
        .as_array()
        .map(|l| l.iter().filter_map(|c| c["name"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(names, vec!["Ours"]);
    assert_eq!(app.get("/v1/companies?tag=t").await.body["data"], json!([]));
    assert_eq!(
        app.get("/v1/companies?q=theirs").await.body["data"],
        json!([])
    );
}

#[tokio::test]
async fn walking_the_list_while_rows_are_inserted_misses_none_and_repeats_none() {
    let app = spawn_app().await;
    let mut existing = HashSet::new();
    for i in 0..23 {
        existing.insert(app.company(&format!("Company {i:02}")).await);
    }
    for sort in [
        "created_at",
        "-created_at",
        "name",
        "-name",
        "updated_at",
        "-updated_at",
    ] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        let mut pages = 0;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/companies?limit=5&sort={sort}&cursor={c}"),
                None => format!("/v1/companies?limit=5&sort={sort}"),
            };
            let page = app.get(&path).await;
            assert_eq!(page.status, 200, "{}", page.body);
            let ids: Vec<i64> = page.body["data"]
                .as_array()
                .map(|l| l.iter().filter_map(|c| c["id"].as_i64()).collect())
                .unwrap_or_default();
            seen.extend(ids);
            pages += 1;
            // Someone adds a company between every two pages.
            app.company(&format!("Inserted {sort} {pages}")).await;
            match page.body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
            assert!(pages < 50, "the walk does not end");
        }
        assert!(pages > 3, "{sort}: walked only {pages} pages");
        let unique: HashSet<i64> = seen.iter().copied().collect();
        assert_eq!(
            unique.len(),
            seen.len(),
            "{sort}: a company was listed twice"
        );
        assert!(
            existing.is_subset(&unique),
            "{sort}: a company that existed at the start was missed"
        );
    }
}

#[tokio::test]
async fn sort_orders_are_honoured() {
    let app = spawn_app().await;
    for name in ["bravo", "Alpha", "charlie"] {
        app.company(name).await;
    }
    let names = |answer: &Answer| -> Vec<String> {
        answer.body["data"]
            .as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|c| c["name"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(
        names(&app.get("/v1/companies").await),
        vec!["charlie", "Alpha", "bravo"],
        "newest first by default"
    );
    assert_eq!(
        names(&app.get("/v1/companies?sort=created_at").await),
        vec!["bravo", "Alpha", "charlie"]
    );
    let by_name = names(&app.get("/v1/companies?sort=name").await);
    let mut reversed = names(&app.get("/v1/companies?sort=-name").await);
    reversed.reverse();
    assert_eq!(by_name, reversed);
}

#[tokio::test]
async fn list_filters_narrow_the_list() {
    let app = spawn_app().await;
    let (member_id, _) = app.member("m@acme.test", "member", &["admin"]).await;
    app.post(
        "/v1/companies",
        json!({"name": "Acme Anvils", "industry": "Tools", "tags": ["vip"], "owner_id": member_id}),
    )
    .await;
    app.post(
        "/v1/companies",
        json!({"name": "Globex", "email": "hello@ACMEmail.com", "industry": "Energy"}),
    )
    .await;
    app.post(
        "/v1/companies",
        json!({"name": "Initech 100%", "industry": "Tools", "tags": ["vip", "uk"]}),
    )
    .await;
    let count = |answer: Answer| answer.body["data"].as_array().map_or(0, Vec::len);
    assert_eq!(
        count(app.get("/v1/companies?q=acme").await),
        2,
        "name or email, any case"
    );
    assert_eq!(
        count(app.get("/v1/companies?q=100%25").await),
        1,
        "% matches literally"
    );
    assert_eq!(
        count(app.get("/v1/companies?q=_").await),
        0,
        "_ matches literally"
    );
    assert_eq!(count(app.get("/v1/companies?industry=Tools").await), 2);
    assert_eq!(count(app.get("/v1/companies?tag=vip").await), 2);
    assert_eq!(count(app.get("/v1/companies?tag=uk").await), 1);
    assert_eq!(
        count(
            app.get(&format!("/v1/companies?owner_id={member_id}"))
                .await
        ),
        1
    );
    assert_eq!(
        count(
            app.get("/v1/companies?created_since=2000-01-01T00:00:00Z")
                .await
        ),
        3
    );
    assert_eq!(
        count(
            app.get("/v1/companies?updated_since=2999-01-01T00:00:00Z")
                .await
        ),
        0
    );
}

#[tokio::test]
async fn bad_list_parameters_are_400_naming_the_parameter() {
    let app = spawn_app().await;
    for (query, field) in [
        ("limit=0", "limit"),
        ("limit=201", "limit"),
        ("limit=ten", "limit"),
        ("sort=size", "sort"),
        ("cursor=nonsense", "cursor"),
        ("created_since=yesterday", "created_since"),
        ("colour=red", "colour"),
        ("q=a%00b", "q"),
    ] {
        let answer = app.get(&format!("/v1/companies?{query}")).await;
        answer.assert_problem(400, "bad_request");
        assert_eq!(answer.error_fields(), vec![field], "{query}");
    }
}

#[tokio::test]
async fn a_cursor_made_for_one_sort_is_refused_for_another() {
    let app = spawn_app().await;
    for i in 0..3 {
        app.company(&format!("C{i}")).await;
    }
    let page = app.get("/v1/companies?limit=1&sort=name").await;
    let cursor = page.body["next_cursor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    app.get(&format!(
        "/v1/companies?limit=1&sort=-created_at&cursor={cursor}"
    ))
    .await
    .assert_problem(400, "bad_request");
}

#[tokio::test]
async fn blank_optional_text_means_no_value() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/v1/companies",
            json!({"name": "A", "phone": "", "domain": "  "}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    assert_eq!(created.body["phone"], Value::Null);
    assert_eq!(created.body["domain"], Value::Null);
}

#[tokio::test]
async fn ids_that_cannot_exist_are_404() {
    let app = spawn_app().await;
    for id in ["0", "-1", "abc", "99999999999999999999"] {
        app.get(&format!("/v1/companies/{id}"))
            .await
            .assert_problem(404, "not_found");
    }
}

#[tokio::test]
async fn concurrent_writes_all_land_without_lock_errors() {
    let app = spawn_app().await;
    let id = app.company("Busy").await;
    let path = format!("/v1/companies/{id}");
    let writes = (0..20).map(|i| {
        let app = &app;
        let path = path.clone();
        async move {
            app.patch(&path, json!({"description": format!("write {i}")}))
                .await
                .status
        }
    });
    let statuses = join_all(writes).await;
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    assert_eq!(app.get(&path).await.body["version"], 21);
}

#[tokio::test]
async fn of_concurrent_writes_with_the_same_if_match_exactly_one_wins() {
    let app = spawn_app().await;
    let id = app.company("Contested").await;
    let path = format!("/v1/companies/{id}");
    let writes = (0..10).map(|i| {
        let app = &app;
        let path = path.clone();
        async move {
            app.request(
                Method::PATCH,
                &path,
                Some(&app.token),
                Some(&json!({"name": format!("Winner {i}")})),
                &[("if-match", "\"1\"")],
            )
            .await
            .status
            .as_u16()
        }
    });
    let mut statuses = join_all(writes).await;
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 412, 412, 412, 412, 412, 412, 412, 412, 412]);
    assert_eq!(app.get(&path).await.body["version"], 2);
}
