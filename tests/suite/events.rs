//! The outbox and the events feed: every change writes its event with the change, none
//! without it; the feed pages oldest first after a cursor, filters by type and record, and
//! shows a token only the events of records it may read.

use crate::common::pipelines::*;
use crate::common::*;
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// Helpers

/// Every event the admin can see, oldest first.
async fn all_events(app: &TestApp) -> Vec<Value> {
    let page = app.get("/v1/events?limit=200").await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.body["data"].as_array().cloned().unwrap_or_default()
}

fn types(events: &[Value]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| e["type"].as_str().map(str::to_owned))
        .collect()
}

/// The id of the newest event, 0 when there is none.
async fn last_event_id(app: &TestApp) -> i64 {
    all_events(app)
        .await
        .last()
        .and_then(|e| e["id"].as_i64())
        .unwrap_or(0)
}

async fn events_after(app: &TestApp, after: i64) -> Vec<Value> {
    let page = app
        .get(&format!("/v1/events?after={after}&limit=200"))
        .await;
    assert_eq!(page.status, 200, "{}", page.body);
    page.body["data"].as_array().cloned().unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Companies and contacts

#[tokio::test]
async fn creating_updating_and_deleting_a_company_writes_three_events_in_order() {
    let app = spawn_app().await;
    let start = last_event_id(&app).await;
    let id = app.company("Acme Ltd").await;
    let patched = app
        .patch(&format!("/v1/companies/{id}"), json!({"industry": "Solar"}))
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    assert_eq!(app.delete(&format!("/v1/companies/{id}")).await.status, 204);

    let events = events_after(&app, start).await;
    assert_eq!(
        types(&events),
        ["company.created", "company.updated", "company.deleted"]
    );
    let ids: Vec<i64> = events.iter().filter_map(|e| e["id"].as_i64()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "ids increase: {ids:?}");
    for event in &events {
        assert_eq!(event["record"], json!({"type": "company", "id": id}));
        assert_eq!(event["actor"]["user_id"], app.admin_id);
    }
}

#[tokio::test]
async fn a_created_event_carries_the_record_as_get_shows_it() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/v1/companies",
            json!({"name": "Acme Ltd", "domain": "acme.com", "tags": ["vip"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let events = all_events(&app).await;
    let object = &events[0]["data"]["object"];
    for field in [
        "id",
        "name",
        "domain",
        "tags",
        "version",
        "created_at",
        "pipeline_id",
    ] {
        assert_eq!(object[field], created.body[field], "field {field}");
    }
    assert!(events[0]["data"].get("previous").is_none());
}

#[tokio::test]
async fn an_update_event_holds_the_previous_values_of_the_fields_that_changed_only() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/v1/companies",
            json!({"name": "Acme Ltd", "industry": "Oil", "phone": "+44 1"}),
        )
        .await;
    let id = created.id();
    let start = last_event_id(&app).await;
    app.patch(
        &format!("/v1/companies/{id}"),
        json!({"industry": "Solar", "phone": "+44 1", "tags": ["green"]}),
    )
    .await;

    let events = events_after(&app, start).await;
    assert_eq!(types(&events), ["company.updated"]);
    assert_eq!(
        events[0]["data"]["previous"],
        json!({"industry": "Oil", "tags": []})
    );
    assert_eq!(events[0]["data"]["object"]["industry"], "Solar");
    assert_eq!(events[0]["data"]["object"]["version"], 2);
}

#[tokio::test]
async fn contact_changes_write_contact_events() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/v1/contacts",
            json!({"first_name": "Ana", "last_name": "Lovelace"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.id();
    app.patch(&format!("/v1/contacts/{id}"), json!({"job_title": "CTO"}))
        .await;
    app.delete(&format!("/v1/contacts/{id}")).await;

    let events = all_events(&app).await;
    assert_eq!(
        types(&events),
        ["contact.created", "contact.updated", "contact.deleted"]
    );
    assert_eq!(events[1]["data"]["previous"], json!({"job_title": null}));
    assert_eq!(events[2]["data"]["object"]["job_title"], "CTO");
}

// ---------------------------------------------------------------------------------------------
// Moves, pipelines and phases

#[tokio::test]
async fn moves_write_phase_changed_won_and_lost_events_with_the_previous_place() {
    let app = spawn_app().await;
    let pipeline = default_pipeline(&app).await;
    let first = phase(&pipeline, "Uncontacted");
    let second = phase(&pipeline, "Contacted");
    let won_company = company_in(&app, "Winner", first).await;
    let lost_company = company_in(&app, "Loser", first).await;
    let start = last_event_id(&app).await;

    moved(&app, won_company, json!({"to_phase_id": second})).await;
    moved(&app, won_company, json!({"outcome": "won"})).await;
    moved(
        &app,
        lost_company,
        json!({"outcome": "lost", "reason": "Too expensive"}),
    )
    .await;

    let events = events_after(&app, start).await;
    assert_eq!(
        types(&events),
        ["company.phase_changed", "company.won", "company.lost"]
    );
    assert_eq!(events[0]["data"]["previous"]["phase_id"], first);
    assert_eq!(events[0]["data"]["object"]["phase_id"], second);
    assert_eq!(events[1]["data"]["previous"]["outcome"], Value::Null);
    assert_eq!(events[1]["data"]["object"]["outcome"], "won");
    assert_eq!(
        events[2]["data"]["object"]["outcome_reason"],
        "Too expensive"
    );
}

#[tokio::test]
async fn a_move_to_where_the_company_already_is_writes_no_event() {
    let app = spawn_app().await;
    let pipeline = default_pipeline(&app).await;
    let first = phase(&pipeline, "Uncontacted");
    let company = company_in(&app, "Acme", first).await;
    let start = last_event_id(&app).await;
    let answer = move_company(&app, company, json!({"to_phase_id": first})).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert!(events_after(&app, start).await.is_empty());
}

#[tokio::test]
async fn pipeline_and_phase_changes_write_their_events() {
    let app = spawn_app().await;
    let pipeline = create_pipeline(&app, "Projects", &[("Lead", "prospect")]).await;
    let id = pipeline["id"].as_i64().unwrap_or_default();
    let added = app
        .post(
            &format!("/v1/pipelines/{id}/phases"),
            json!({"name": "Signed", "status": "active"}),
        )
        .await;
    assert_eq!(added.status, 201, "{}", added.body);
    let signed = phase(&added.body, "Signed");
    let renamed = app
        .patch(
            &format!("/v1/pipelines/{id}/phases/{signed}"),
            json!({"name": "Contract signed"}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    app.patch(
        &format!("/v1/pipelines/{id}"),
        json!({"name": "Project work"}),
    )
    .await;

    let events = all_events(&app).await;
    assert_eq!(
        types(&events),
        [
            "pipeline.created",
            "phase.created",
            "phase.updated",
            "pipeline.updated"
        ]
    );
    assert_eq!(events[1]["data"]["object"]["pipeline_id"], id);
    assert_eq!(events[2]["data"]["previous"], json!({"name": "Signed"}));
    assert_eq!(events[3]["data"]["previous"]["name"], "Projects");
}

#[tokio::test]
async fn removing_a_phase_writes_a_move_event_for_every_company_it_held() {
    let app = spawn_app().await;
    let pipeline = create_pipeline(
        &app,
        "Projects",
        &[("Lead", "prospect"), ("Pitch", "prospect")],
    )
    .await;
    let id = pipeline["id"].as_i64().unwrap_or_default();
    let (lead, pitch) = (phase(&pipeline, "Lead"), phase(&pipeline, "Pitch"));
    let a = company_in(&app, "A", lead).await;
    let b = company_in(&app, "B", lead).await;
    let start = last_event_id(&app).await;
    let removed = app
        .delete(&format!("/v1/pipelines/{id}/phases/{lead}?move_to={pitch}"))
        .await;
    assert_eq!(removed.status, 200, "{}", removed.body);

    let events = events_after(&app, start).await;
    assert_eq!(
        types(&events),
        [
            "company.phase_changed",
            "company.phase_changed",
            "phase.deleted"
        ]
    );
    let moved: Vec<i64> = events[..2]
        .iter()
        .filter_map(|e| e["record"]["id"].as_i64())
        .collect();
    assert_eq!(moved, [a, b]);
    for event in &events[..2] {
        assert_eq!(event["data"]["previous"]["phase_id"], lead);
        assert_eq!(event["data"]["object"]["phase_id"], pitch);
    }
    assert_eq!(events[2]["data"]["object"]["id"], lead);
}

// ---------------------------------------------------------------------------------------------
// Nothing without the change

#[tokio::test]
async fn a_refused_update_writes_no_event() {
    let app = spawn_app().await;
    let id = app.company("Acme Ltd").await;
    let start = last_event_id(&app).await;
    let stale = app
        .request(
            reqwest::Method::PATCH,
            &format!("/v1/companies/{id}"),
            Some(&app.token),
            Some(&json!({"industry": "Solar"})),
            &[("If-Match", "\"7\"")],
        )
        .await;
    stale.assert_problem(412, "precondition_failed");
    let invalid = app
        .patch(&format!("/v1/companies/{id}"), json!({"owner_id": 999_999}))
        .await;
    invalid.assert_problem(422, "validation_failed");
    assert!(events_after(&app, start).await.is_empty());
}

#[tokio::test]
async fn a_refused_move_writes_no_event() {
    let app = spawn_app().await;
    let id = app.company("Outside").await;
    let start = last_event_id(&app).await;
    let refused = move_company(&app, id, json!({"action": "reopen"})).await;
    refused.assert_problem(422, "validation_failed");
    assert!(events_after(&app, start).await.is_empty());
}

// ---------------------------------------------------------------------------------------------
// The feed

#[tokio::test]
async fn the_feed_pages_oldest_first_and_the_cursor_continues_after_the_last_event() {
    let app = spawn_app().await;
    for n in 0..5 {
        app.company(&format!("Company {n}")).await;
    }
    let first = app.get("/v1/events?limit=2").await;
    assert_eq!(first.status, 200, "{}", first.body);
    let cursor = first.body["next_cursor"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut seen: Vec<i64> = first.body["data"]
        .as_array()
        .map(|l| l.iter().filter_map(|e| e["id"].as_i64()).collect())
        .unwrap_or_default();
    let rest = app
        .get(&format!("/v1/events?limit=10&after={cursor}"))
        .await;
    assert_eq!(rest.body["next_cursor"], Value::Null, "the last page");
    seen.extend(
        rest.body["data"]
            .as_array()
            .map(|l| {
                l.iter()
                    .filter_map(|e| e["id"].as_i64())
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
    );
    assert_eq!(seen.len(), 5);
    assert!(
        seen.windows(2).all(|w| w[0] < w[1]),
        "oldest first: {seen:?}"
    );
}

#[tokio::test]
async fn the_feed_filters_by_type_and_by_record() {
    let app = spawn_app().await;
    let a = app.company("A").await;
    let b = app.company("B").await;
    app.patch(&format!("/v1/companies/{a}"), json!({"industry": "Solar"}))
        .await;
    app.post("/v1/contacts", json!({"first_name": "Ana"})).await;

    let updated = app.get("/v1/events?types=company.updated").await;
    assert_eq!(
        types(updated.body["data"].as_array().map_or(&[][..], |v| v)),
        ["company.updated"]
    );
    let created = app
        .get("/v1/events?types=company.created,contact.created")
        .await;
    assert_eq!(created.body["data"].as_array().map_or(0, Vec::len), 3);
    let about_b = app
        .get(&format!("/v1/events?record_type=company&record_id={b}"))
        .await;
    let about_b = about_b.body["data"].as_array().cloned().unwrap_or_default();
    assert_eq!(types(&about_b), ["company.created"]);
    assert_eq!(about_b[0]["record"]["id"], b);
}

#[tokio::test]
async fn an_event_is_read_by_its_id() {
    let app = spawn_app().await;
    app.company("Acme").await;
    let id = last_event_id(&app).await;
    let event = app.get(&format!("/v1/events/{id}")).await;
    assert_eq!(event.status, 200, "{}", event.body);
    assert_eq!(event.body["type"], "company.created");
}

#[tokio::test]
async fn bad_feed_parameters_are_named() {
    let app = spawn_app().await;
    let unknown = app.get("/v1/events?types=company.exploded").await;
    unknown.assert_problem(400, "bad_request");
    assert_eq!(unknown.error_fields(), ["types"]);
    let kind = app.get("/v1/events?record_type=invoice").await;
    assert_eq!(kind.error_fields(), ["record_type"]);
    let alone = app.get("/v1/events?record_id=3").await;
    assert_eq!(alone.error_fields(), ["record_id"]);
    let negative = app.get("/v1/events?after=-1").await;
    assert_eq!(negative.error_fields(), ["after"]);
}

// ---------------------------------------------------------------------------------------------
// Who sees what

#[tokio::test]
async fn another_accounts_events_do_not_exist_for_the_caller() {
    let app = spawn_app().await;
    let other = app.other_account("Other Firm");
    app.post_as(&other, "/v1/companies", json!({"name": "Secret"}))
        .await;
    let theirs = app.get_as(&other, "/v1/events").await.body["data"][0]["id"]
        .as_i64()
        .unwrap_or_default();
    assert!(all_events(&app).await.is_empty());
    app.get(&format!("/v1/events/{theirs}"))
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn a_token_sees_only_the_events_of_records_it_may_read() {
    let app = spawn_app().await;
    app.company("Acme").await;
    app.post("/v1/contacts", json!({"first_name": "Ana"})).await;
    let contacts_only = app.token_for(app.admin_id, &["contacts:read"], None);

    let seen = app.get_as(&contacts_only, "/v1/events").await;
    assert_eq!(seen.status, 200, "{}", seen.body);
    assert_eq!(
        types(seen.body["data"].as_array().map_or(&[][..], |v| v)),
        ["contact.created"]
    );
    app.get_as(&contacts_only, "/v1/events?types=company.created")
        .await
        .assert_problem(403, "insufficient_scope");
    let company_event = all_events(&app).await[0]["id"].as_i64().unwrap_or_default();
    app.get_as(&contacts_only, &format!("/v1/events/{company_event}"))
        .await
        .assert_problem(404, "not_found");
}

#[tokio::test]
async fn a_token_without_any_read_scope_is_refused() {
    let app = spawn_app().await;
    let tokens_only = app.token_for(app.admin_id, &["tokens:read"], None);
    app.get_as(&tokens_only, "/v1/events")
        .await
        .assert_problem(403, "insufficient_scope");
}

// ---------------------------------------------------------------------------------------------
// The feed's guarantee under concurrent writers (persistence/src/events.rs explains it)

/// Reads the feed from `after` to its end, page by page; returns the events and the cursor.
async fn drain_feed(app: &TestApp, mut after: i64) -> (Vec<Value>, i64) {
    let mut seen = Vec::new();
    loop {
        let page = events_after(app, after).await;
        if page.is_empty() {
            return (seen, after);
        }
        after = page.last().and_then(|e| e["id"].as_i64()).unwrap_or(after);
        seen.extend(page);
    }
}

/// Eight writers create companies at once while a poller follows the feed: every event
/// arrives exactly once, in increasing id order, with none skipped.
#[tokio::test]
async fn a_poller_following_concurrent_writers_gets_every_event_once_in_order() {
    let app = spawn_app().await;
    let start = last_event_id(&app).await;
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writers = (0..8).map(|w| {
        let app = &app;
        async move {
            let mut ids = Vec::new();
            for i in 0..15 {
                let created = app
                    .post(
                        "/v1/companies",
                        json!({"name": format!("Writer {w} no. {i}")}),
                    )
                    .await;
                assert_eq!(created.status, 201, "{}", created.body);
                ids.push(created.body["id"].as_i64().unwrap_or_default());
            }
            ids
        }
    });
    let poller = async {
        let mut seen = Vec::new();
        let mut after = start;
        while !done.load(std::sync::atomic::Ordering::SeqCst) {
            let (page, cursor) = drain_feed(&app, after).await;
            seen.extend(page);
            after = cursor;
        }
        // The writers have finished: one more pass reads what committed last.
        seen.extend(drain_feed(&app, after).await.0);
        seen
    };
    let writing = async {
        let ids = futures_util::future::join_all(writers).await;
        done.store(true, std::sync::atomic::Ordering::SeqCst);
        ids
    };
    let (created, seen) = tokio::join!(writing, poller);

    let feed_ids: Vec<i64> = seen.iter().filter_map(|e| e["id"].as_i64()).collect();
    assert!(
        feed_ids.windows(2).all(|w| w[0] < w[1]),
        "ids increase with no repeat: {feed_ids:?}"
    );
    let mut got: Vec<i64> = seen
        .iter()
        .filter(|e| e["type"] == "company.created")
        .filter_map(|e| e["data"]["object"]["id"].as_i64())
        .collect();
    let mut wanted: Vec<i64> = created.into_iter().flatten().collect();
    got.sort_unstable();
    wanted.sort_unstable();
    assert_eq!(got, wanted, "every company's event, once");
}

/// On PostgreSQL a transaction that recorded its event first may commit last. The poller
/// reads past the later one meanwhile and still gets the earlier one afterwards, with a
/// higher id. (SQLite has one writer at a time: there, the open transaction would hold up
/// the other writer, so the interleaving cannot happen.)
#[tokio::test]
async fn an_event_that_commits_late_is_not_skipped_by_a_poller_that_read_past_it() {
    use domain::event::{EventType, NewEvent, Outbox};
    use domain::token::ActorRef;
    let app = spawn_app().await;
    if app.db.backend() != persistence::Backend::Postgres {
        return;
    }
    let start = last_event_id(&app).await;
    let company = app.post("/v1/companies", json!({"name": "Late"})).await;
    let company_id = company.body["id"].as_i64().unwrap_or_default();
    let (_, after_create) = drain_feed(&app, start).await;

    // A transaction records an event, then waits before committing.
    let (recorded_tx, recorded_rx) = std::sync::mpsc::channel();
    let (commit_tx, commit_rx) = std::sync::mpsc::channel::<()>();
    let db = app.db.clone();
    let account_id = app.account_id;
    let slow = std::thread::spawn(move || {
        let mut conn = db.conn().unwrap_or_else(|e| panic!("{e:?}"));
        diesel::Connection::transaction(&mut *conn, |conn| {
            let outbox = Outbox {
                actor: ActorRef::default(),
                render: &api::wire::events::WireJson,
            };
            let event = NewEvent {
                event_type: EventType::CompanyUpdated,
                record_id: company_id,
                data: json!({"slow": true}),
                previous: None,
                merged_ids: None,
                merged_into: None,
            };
            persistence::events::record_one(conn, account_id, &outbox, event)?;
            recorded_tx.send(()).ok();
            commit_rx.recv().ok();
            Ok::<_, persistence::StoreError>(())
        })
        .unwrap_or_else(|e| panic!("{e:?}"));
    });
    recorded_rx
        .recv()
        .unwrap_or_else(|e| panic!("the slow writer stopped: {e}"));

    // Another change records and commits after it; the poller reads past it.
    let patched = app
        .patch(
            &format!("/v1/companies/{company_id}"),
            json!({"industry": "Law"}),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.body);
    let (fast, cursor) = drain_feed(&app, after_create).await;
    assert_eq!(types(&fast), ["company.updated"]);
    assert_eq!(fast[0]["data"]["object"]["industry"], "Law");

    // The slow one commits: the poller gets it after its cursor.
    commit_tx.send(()).ok();
    slow.join()
        .unwrap_or_else(|_| panic!("the slow writer panicked"));
    let (late, _) = drain_feed(&app, cursor).await;
    assert_eq!(late.len(), 1, "{late:?}");
    assert_eq!(late[0]["data"]["object"], json!({"slow": true}));
    assert!(late[0]["id"].as_i64() > Some(cursor));
}
