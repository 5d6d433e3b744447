//! Cross-record search (`GET /v1/search`): what each kind of record is found by, case,
//! diacritics and scripts, the kinds a token may read, tenants, every write path seen at once,
//! pages that return every hit once, and queries that look like FTS syntax.

use crate::common::roles::set_field_rules;
use crate::common::*;
use reqwest::StatusCode;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Helpers

fn encode(q: &str) -> String {
    q.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn search_as(app: &TestApp, token: &str, query: &str) -> Answer {
    app.get_as(token, &format!("/v1/search?{query}")).await
}

/// The hits of `q` as `(type, id)`, one page of up to 200.
async fn found(app: &TestApp, q: &str) -> Vec<(String, i64)> {
    found_as(app, &app.token, q).await
}

async fn found_as(app: &TestApp, token: &str, q: &str) -> Vec<(String, i64)> {
    let answer = search_as(app, token, &format!("q={}&limit=200", encode(q))).await;
    assert_eq!(answer.status, StatusCode::OK, "{q}: {}", answer.body);
    hits(&answer)
}

fn hits(answer: &Answer) -> Vec<(String, i64)> {
    answer.body["data"]
        .as_array()
        .map(|data| {
            data.iter()
                .map(|h| {
                    (
                        h["type"].as_str().unwrap_or_default().to_owned(),
                        h["id"].as_i64().unwrap_or_default(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn create(app: &TestApp, collection: &str, body: Value) -> i64 {
    let answer = app.post(&format!("/v1/{collection}"), body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
    answer.id()
}

fn company(id: i64) -> (String, i64) {
    ("company".to_owned(), id)
}

fn contact(id: i64) -> (String, i64) {
    ("contact".to_owned(), id)
}

// ---------------------------------------------------------------------------------------------
// Finding

#[tokio::test]
async fn a_hit_carries_its_type_title_subtitle_score_and_url() {
    let app = spawn_app().await;
    let id = create(
        &app,
        "companies",
        json!({"name": "Acme Anvils", "domain": "acme.example"}),
    )
    .await;
    let answer = search_as(&app, &app.token, "q=acme%20anvils").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    assert_eq!(
        answer.body,
        json!({"data": [{"type": "company", "id": id, "title": "Acme Anvils",
                          "subtitle": "acme.example", "score": 100,
                          "url": format!("/v1/companies/{id}")}],
               "next_cursor": null})
    );
}

#[tokio::test]
async fn companies_and_contacts_are_found_by_name_email_domain_and_phone() {
    let app = spawn_app().await;
    let acme = create(
        &app,
        "companies",
        json!({"name": "Acme Anvils", "domain": "acme-anvils.example", "website": "https://www.anvilworks.example",
               "email": "sales@acmemail.example", "phone": "+44 20 7946 0000"}),
    )
    .await;
    let ana = create(
        &app,
        "contacts",
        json!({"first_name": "Ana", "last_name": "Lima", "email": "ana.lima@mailbox.example",
               "phone": "(555) 010-4477", "job_title": "Purchasing lead"}),
    )
    .await;
    create(&app, "companies", json!({"name": "Unrelated"})).await;
    assert_eq!(found(&app, "acme").await, vec![company(acme)]);
    assert_eq!(
        found(&app, "acme-anvils.example").await,
        vec![company(acme)]
    );
    assert_eq!(found(&app, "anvilworks").await, vec![company(acme)]);
    assert_eq!(found(&app, "acmemail").await, vec![company(acme)]);
    assert_eq!(found(&app, "020 7946").await, vec![company(acme)]);
    assert_eq!(found(&app, "+44 20 7946 0000").await, vec![company(acme)]);
    assert_eq!(found(&app, "7946 0000").await, vec![company(acme)]);
    assert_eq!(found(&app, "lima ana").await, vec![contact(ana)]);
    assert_eq!(
        found(&app, "ana.lima@mailbox.example").await,
        vec![contact(ana)]
    );
    assert_eq!(found(&app, "555 0104477").await, vec![contact(ana)]);
    assert_eq!(found(&app, "purchasing").await, vec![contact(ana)]);
    // Words begin words: the middle of one finds nothing.
    assert_eq!(found(&app, "nvils").await, vec![]);
}

#[tokio::test]
async fn case_and_diacritics_do_not_matter() {
    let app = spawn_app().await;
    let lower = app.company("müller gmbh").await;
    let upper = app.company("MÜLLER AG").await;
    let mixed = app.company("Müller & Söhne").await;
    let plain = app.company("Muller Logistics").await;
    let mut wanted = vec![
        company(lower),
        company(upper),
        company(mixed),
        company(plain),
    ];
    wanted.sort();
    for q in ["müller", "MÜLLER", "Muller", "mull"] {
        let mut hits = found(&app, q).await;
        hits.sort();
        assert_eq!(hits, wanted, "{q}");
    }
    assert_eq!(found(&app, "söhne").await, vec![company(mixed)]);
    assert_eq!(found(&app, "sohne").await, vec![company(mixed)]);
}

#[tokio::test]
async fn greek_and_cyrillic_names_are_found_in_either_case() {
    let app = spawn_app().await;
    let athens = app.company("ΑΘΗΝΑ Shipping").await;
    let moscow = create(
        &app,
        "contacts",
        json!({"first_name": "Фёдор", "last_name": "Достоевский"}),
    )
    .await;
    assert_eq!(found(&app, "αθηνα").await, vec![company(athens)]);
    assert_eq!(found(&app, "αθη").await, vec![company(athens)]);
    assert_eq!(found(&app, "ДОСТОЕВСКИЙ").await, vec![contact(moscow)]);
    assert_eq!(found(&app, "фёдор").await, vec![contact(moscow)]);
}

#[tokio::test]
async fn projects_enquiries_tasks_and_meetings_are_found_too() {
    let app = spawn_app().await;
    let project = create(&app, "projects", json!({"name": "Zephyr office move"})).await;
    let enquiry = create(
        &app,
        "enquiries",
        json!({"name": "Zephyr Holdings", "email": "hello@zephyr.example", "phone": "0161 496 0123"}),
    )
    .await;
    let task = create(&app, "tasks", json!({"title": "Call Zephyr back"})).await;
    let meeting = create(
        &app,
        "meetings",
        json!({"title": "Kick-off", "location": "Zephyr HQ",
               "starts_at": "2026-12-07T10:00:00Z", "ends_at": "2026-12-07T11:00:00Z"}),
    )
    .await;
    let mut hits = found(&app, "zephyr").await;
    hits.sort();
    let mut wanted = vec![
        ("enquiry".to_owned(), enquiry),
        ("meeting".to_owned(), meeting),
        ("project".to_owned(), project),
        ("task".to_owned(), task),
    ];
    wanted.sort();
    assert_eq!(hits, wanted);
    assert_eq!(
        found(&app, "161 496").await,
        vec![("enquiry".to_owned(), enquiry)]
    );
}

#[tokio::test]
async fn hits_are_ranked_exact_then_prefix_then_contained_then_elsewhere() {
    let app = spawn_app().await;
    let elsewhere = create(
        &app,
        "companies",
        json!({"name": "Other", "domain": "acme.example"}),
    )
    .await;
    let contains = app.company("The Acme").await;
    let prefix = app.company("Acme Anvils").await;
    let exact = app.company("Acme").await;
    let answer = search_as(&app, &app.token, "q=acme").await;
    assert_eq!(
        hits(&answer),
        vec![
            company(exact),
            company(prefix),
            company(contains),
            company(elsewhere)
        ]
    );
    let scores: Vec<i64> = answer.body["data"]
        .as_array()
        .map(|d| d.iter().filter_map(|h| h["score"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(scores, vec![100, 75, 50, 25]);
}

#[tokio::test]
async fn tiers_compare_titles_folded_so_accents_case_and_punctuation_do_not_lower_a_rank() {
    let app = spawn_app().await;
    let elsewhere = create(
        &app,
        "companies",
        json!({"name": "Lager", "domain": "muller.example"}),
    )
    .await;
    let contains = create(
        &app,
        "contacts",
        json!({"first_name": "Anna", "last_name": "Müller"}),
    )
    .await;
    let prefix = app.company("MÜLLER & Söhne").await;
    let exact = app.company("(Müller.)").await;
    let answer = search_as(&app, &app.token, "q=muller").await;
    assert_eq!(
        hits(&answer),
        vec![
            company(exact),
            company(prefix),
            contact(contains),
            company(elsewhere)
        ]
    );
    let scores: Vec<i64> = answer.body["data"]
        .as_array()
        .map(|d| d.iter().filter_map(|h| h["score"].as_i64()).collect())
        .unwrap_or_default();
    assert_eq!(scores, vec![100, 75, 50, 25]);
    // The whole title, in another case and without its punctuation, is still equal.
    assert_eq!(
        found(&app, "muller sohne").await,
        vec![company(prefix)],
        "the words of a title in order"
    );
    let answer = search_as(&app, &app.token, "q=M%C3%BCller%20%26%20S%C3%B6hne").await;
    assert_eq!(
        answer.body["data"][0]["score"],
        json!(100),
        "{}",
        answer.body
    );
}

#[tokio::test]
async fn every_word_but_the_last_is_a_whole_word_and_the_last_may_be_cut_short() {
    let app = spawn_app().await;
    let acme = app.company("Acme Anvilworks").await;
    assert_eq!(found(&app, "acme anv").await, vec![company(acme)]);
    assert_eq!(found(&app, "acme anvilwork").await, vec![company(acme)]);
    assert_eq!(found(&app, "anvilworks ac").await, vec![company(acme)]);
    assert_eq!(
        found(&app, "anv acme").await,
        vec![],
        "anv is no whole word"
    );
    // A last word longer than the longest prefix index is still matched whole.
    assert_eq!(found(&app, "acme anvilwerks").await, vec![]);
    assert_eq!(found(&app, "anvilwerks").await, vec![]);
}

#[tokio::test]
async fn pages_cross_tiers_and_kinds_one_hit_at_a_time() {
    let app = spawn_app().await;
    let exact = app.company("Vela").await;
    let exact_contact = create(&app, "contacts", json!({"first_name": "Vela"})).await;
    let prefix = app.company("Vela Systems").await;
    let prefix_2 = app.company("Véla Labs").await;
    let contains = app.company("The Vela Group").await;
    let contains_contact = create(
        &app,
        "contacts",
        json!({"first_name": "Ana", "last_name": "Vela"}),
    )
    .await;
    let elsewhere = create(
        &app,
        "companies",
        json!({"name": "Other", "email": "hi@vela.example"}),
    )
    .await;
    let task = create(&app, "tasks", json!({"title": "Call Vela"})).await;
    let mut seen = Vec::new();
    let mut scores = Vec::new();
    let mut path = "/v1/search?q=vela&limit=1".to_owned();
    loop {
        let page = app.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        seen.extend(hits(&page));
        scores.extend(
            page.body["data"]
                .as_array()
                .map(|d| d.iter().filter_map(|h| h["score"].as_i64()).collect())
                .unwrap_or_else(Vec::new),
        );
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/search?q=vela&limit=1&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(
        seen,
        vec![
            company(exact),
            contact(exact_contact),
            company(prefix),
            company(prefix_2),
            company(contains),
            contact(contains_contact),
            ("task".to_owned(), task),
            company(elsewhere),
        ]
    );
    assert_eq!(scores, vec![100, 100, 75, 75, 50, 50, 50, 25]);
    assert_eq!(
        found(&app, "vela").await,
        seen,
        "one page or many, one order"
    );
}

// ---------------------------------------------------------------------------------------------
// Kinds, scopes and tenants

#[tokio::test]
async fn types_narrows_the_kinds_searched() {
    let app = spawn_app().await;
    let acme = app.company("Nimbus").await;
    let ana = create(&app, "contacts", json!({"first_name": "Nimbus"})).await;
    let task = create(&app, "tasks", json!({"title": "Nimbus"})).await;
    let only = |types: &str| format!("q=nimbus&types={types}");
    let answer = search_as(&app, &app.token, &only("contact")).await;
    assert_eq!(hits(&answer), vec![contact(ana)]);
    let answer = search_as(&app, &app.token, &only("task,company")).await;
    assert_eq!(hits(&answer), vec![company(acme), ("task".into(), task)]);
    search_as(&app, &app.token, &only("company,planet"))
        .await
        .assert_problem(400, "bad_request");
}

#[tokio::test]
async fn a_token_finds_only_the_kinds_it_may_read_and_is_refused_others_by_name() {
    let app = spawn_app().await;
    let acme = app.company("Quasar").await;
    create(&app, "contacts", json!({"first_name": "Quasar"})).await;
    let (_, token) = app
        .member("reader@example.com", "member", &["companies:read"])
        .await;
    assert_eq!(found_as(&app, &token, "quasar").await, vec![company(acme)]);
    search_as(&app, &token, "q=quasar&types=contact")
        .await
        .assert_problem(403, "insufficient_scope");
    let (_, none) = app
        .member("tokens@example.com", "member", &["tokens:read"])
        .await;
    search_as(&app, &none, "q=quasar")
        .await
        .assert_problem(403, "insufficient_scope");
    let anonymous = app
        .client
        .get(format!("{}/v1/search?q=quasar", app.base))
        .send()
        .await
        .map(|r| r.status());
    assert_eq!(anonymous.ok(), Some(StatusCode::UNAUTHORIZED));
}

#[tokio::test]
async fn another_accounts_records_are_never_found() {
    let app = spawn_app().await;
    let ours = app.company("Pulsar Ours").await;
    let theirs = app.other_account("Elsewhere");
    let created = app
        .post_as(&theirs, "/v1/companies", json!({"name": "Pulsar Theirs"}))
        .await;
    assert_eq!(created.status, StatusCode::CREATED);
    assert_eq!(found(&app, "pulsar").await, vec![company(ours)]);
    assert_eq!(
        found_as(&app, &theirs, "pulsar").await,
        vec![company(created.id())]
    );
}

// ---------------------------------------------------------------------------------------------
// Field-level security

/// A viewer whose role hides contacts' `email` and `phone`, and a contact who has both.
async fn viewer_without_contact_email(app: &TestApp) -> (String, i64) {
    set_field_rules(
        app,
        "viewer",
        json!([{"record_type": "contact", "field": "email", "access": "hidden"},
               {"record_type": "contact", "field": "phone", "access": "hidden"}]),
    )
    .await;
    let (_, viewer) = app.member("vera@acme.test", "viewer", &["admin"]).await;
    let anna = create(
        app,
        "contacts",
        json!({"first_name": "Anna", "last_name": "Quist", "email": "anna@hushhush.example",
               "phone": "+44 20 7946 0123", "job_title": "Buyer"}),
    )
    .await;
    (viewer, anna)
}

#[tokio::test]
async fn a_hidden_field_does_not_find_a_record_for_the_role_that_may_not_see_it() {
    let app = spawn_app().await;
    let (viewer, anna) = viewer_without_contact_email(&app).await;
    assert_eq!(found(&app, "hushhush").await, vec![contact(anna)]);
    assert_eq!(found(&app, "7946 0123").await, vec![contact(anna)]);
    assert_eq!(found_as(&app, &viewer, "hushhush").await, vec![]);
    assert_eq!(found_as(&app, &viewer, "anna hushhush").await, vec![]);
    assert_eq!(found_as(&app, &viewer, "7946 0123").await, vec![]);
    // What the role sees still finds her: her name and her job title.
    assert_eq!(
        found_as(&app, &viewer, "anna quist").await,
        vec![contact(anna)]
    );
    assert_eq!(
        found_as(&app, &viewer, "quist buyer").await,
        vec![contact(anna)]
    );
}

#[tokio::test]
async fn a_hits_subtitle_shows_only_fields_the_role_may_see() {
    let app = spawn_app().await;
    let (viewer, _) = viewer_without_contact_email(&app).await;
    let theirs = search_as(&app, &viewer, "q=anna").await;
    assert_eq!(theirs.status, StatusCode::OK, "{}", theirs.body);
    assert_eq!(
        theirs.body["data"][0]["subtitle"], "Buyer",
        "{}",
        theirs.body
    );
    let admins = search_as(&app, &app.token, "q=anna").await;
    assert_eq!(admins.body["data"][0]["subtitle"], "anna@hushhush.example");
}

#[tokio::test]
async fn a_record_whose_name_is_hidden_is_not_found_by_the_role() {
    let app = spawn_app().await;
    set_field_rules(
        &app,
        "viewer",
        json!([{"record_type": "company", "field": "name", "access": "hidden"}]),
    )
    .await;
    let (_, viewer) = app.member("vera@acme.test", "viewer", &["admin"]).await;
    let acme = create(
        &app,
        "companies",
        json!({"name": "Zephyr Works", "domain": "zephyr.example"}),
    )
    .await;
    let contact_id = create(
        &app,
        "contacts",
        json!({"first_name": "Zephyr", "last_name": "Smith"}),
    )
    .await;
    assert_eq!(
        found(&app, "zephyr").await,
        vec![company(acme), contact(contact_id)]
    );
    // Neither its name nor its other fields find it: a hit would show the name.
    assert_eq!(
        found_as(&app, &viewer, "zephyr").await,
        vec![contact(contact_id)]
    );
    assert_eq!(found_as(&app, &viewer, "zephyr.example").await, vec![]);
}

// ---------------------------------------------------------------------------------------------
// Every write path, at once

#[tokio::test]
async fn a_create_a_patch_and_a_delete_are_seen_at_once() {
    let app = spawn_app().await;
    let id = app.company("Orion Freight").await;
    assert_eq!(found(&app, "orion").await, vec![company(id)]);
    let patched = app
        .patch(
            &format!("/v1/companies/{id}"),
            json!({"name": "Vega Freight", "phone": "+1 415 555 0199"}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.body);
    assert_eq!(found(&app, "orion").await, vec![]);
    assert_eq!(found(&app, "vega").await, vec![company(id)]);
    assert_eq!(found(&app, "415 555").await, vec![company(id)]);
    // A change to another field keeps it found.
    let other = app
        .patch(
            &format!("/v1/companies/{id}"),
            json!({"industry": "Retail"}),
        )
        .await;
    assert_eq!(other.status, StatusCode::OK);
    assert_eq!(found(&app, "vega").await, vec![company(id)]);
    assert_eq!(
        app.delete(&format!("/v1/companies/{id}")).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(found(&app, "vega").await, vec![]);
}

#[tokio::test]
async fn imported_merged_and_converted_records_are_found_at_once() {
    let app = spawn_app().await;
    let imported = app
        .post(
            "/v1/companies/import",
            json!([{"name": "Lyra Imports"}, {"name": "Lyra Imports (dup)"}]),
        )
        .await;
    assert_eq!(imported.status, StatusCode::OK, "{}", imported.body);
    let mut ids: Vec<i64> = found(&app, "lyra").await.into_iter().map(|h| h.1).collect();
    ids.sort();
    assert_eq!(ids.len(), 2, "both imported rows are found");
    let merged = app
        .post(
            &format!("/v1/companies/{}/merge", ids[0]),
            json!({"duplicate_ids": [ids[1]]}),
        )
        .await;
    assert_eq!(merged.status, StatusCode::OK, "{}", merged.body);
    assert_eq!(found(&app, "lyra").await, vec![company(ids[0])]);

    let enquiry = create(
        &app,
        "enquiries",
        json!({"name": "Cygnus Person", "company_name": "Cygnus Ltd"}),
    )
    .await;
    let converted = app
        .post(
            &format!("/v1/enquiries/{enquiry}/convert"),
            json!({"project": {"name": "Cygnus rollout"}}),
        )
        .await;
    assert_eq!(converted.status, StatusCode::OK, "{}", converted.body);
    let mut kinds: Vec<String> = found(&app, "cygnus")
        .await
        .into_iter()
        .map(|h| h.0)
        .collect();
    kinds.sort();
    assert_eq!(kinds, vec!["company", "contact", "enquiry", "project"]);
}

// ---------------------------------------------------------------------------------------------
// Pages

#[tokio::test]
async fn pages_return_every_hit_once_in_one_order() {
    let app = spawn_app().await;
    let mut made = Vec::new();
    for i in 0..7 {
        made.push(company(app.company(&format!("Draco {i}")).await));
        made.push(company(app.company(&format!("The Draco {i}")).await));
        made.push(contact(
            create(
                &app,
                "contacts",
                json!({"first_name": "Draco", "last_name": format!("{i}")}),
            )
            .await,
        ));
    }
    made.push(company(app.company("Draco").await));
    let all = found(&app, "draco").await;
    let mut seen = Vec::new();
    let mut path = "/v1/search?q=draco&limit=4".to_owned();
    let mut pages = 0;
    loop {
        let page = app.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        seen.extend(hits(&page));
        pages += 1;
        match page.body["next_cursor"].as_str() {
            Some(cursor) => path = format!("/v1/search?q=draco&limit=4&cursor={cursor}"),
            None => break,
        }
    }
    assert_eq!(pages, 6, "22 hits at 4 a page");
    assert_eq!(seen, all, "pages follow the one order");
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    made.sort();
    assert_eq!(sorted, made, "every hit once");
    app.get("/v1/search?q=draco&cursor=nonsense")
        .await
        .assert_problem(400, "bad_request");
}

// ---------------------------------------------------------------------------------------------
// Bad and hostile queries

#[tokio::test]
async fn a_missing_blank_or_overlong_query_is_400_naming_q() {
    let app = spawn_app().await;
    for query in ["", "q=", "q=%20%20", &format!("q={}", "x".repeat(201))] {
        let answer = search_as(&app, &app.token, query).await;
        answer.assert_problem(400, "bad_request");
        assert_eq!(answer.error_fields(), vec!["q"], "{query}");
    }
    let answer = search_as(&app, &app.token, "q=x&limit=201").await;
    assert_eq!(answer.error_fields(), vec!["limit"]);
}

#[tokio::test]
async fn fts_syntax_in_the_query_is_text_and_never_an_error() {
    let app = spawn_app().await;
    let id = app.company("Near Quotes Ltd").await;
    for q in [
        "\"",
        "\"near",
        "*",
        "near*",
        "NEAR(a b)",
        "NEAR",
        "-",
        "-quotes",
        ":",
        "name:near",
        "{name}: near",
        "near OR",
        "AND",
        "a^b",
        "(",
        ")",
        "near AND NOT",
        "%",
        "_",
        "\\",
        "'",
        "''; DROP TABLE companies; --",
        "😀",
        "́",
        "+",
        "0",
        "000",
        "³¶É",
        "¶",
        "½ ¶",
        "ⅷ",
    ] {
        let answer = search_as(&app, &app.token, &format!("q={}", encode(q))).await;
        assert_eq!(answer.status, StatusCode::OK, "{q}: {}", answer.body);
    }
    assert_eq!(found(&app, "\"near\" quotes*").await, vec![company(id)]);
    assert_eq!(found(&app, "near:quotes").await, vec![company(id)]);
    assert_eq!(found(&app, "%").await, vec![]);
}
