//! Webhooks end to end: subscriptions over the API, and deliveries by the worker inside the
//! service to a real HTTP receiver on loopback.

use std::time::{Duration, Instant};

use crate::common::receiver::{Received, Receiver};
use crate::common::{TestApp, spawn_app, spawn_app_with};
use chrono::TimeDelta;
use domain::webhook::RetryPolicy;
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

/// Fast settings: millisecond polls and retries, receivers on loopback allowed.
fn fast(window: TimeDelta) -> api::Settings {
    api::Settings {
        webhooks: api::WebhookSettings {
            poll_interval: Duration::from_millis(10),
            retry: RetryPolicy {
                base: TimeDelta::milliseconds(5),
                cap: TimeDelta::milliseconds(40),
                window,
            },
            request_timeout: Duration::from_secs(10),
            allow_private_targets: true,
            ..api::WebhookSettings::default()
        },
        ..api::Settings::default()
    }
}

async fn fast_app() -> TestApp {
    spawn_app_with(fast(TimeDelta::hours(1))).await
}

/// Subscribes `url` to `events`; returns the subscription's id and its secret.
async fn subscribe(app: &TestApp, url: &str, events: &[&str]) -> (i64, String) {
    let created = app
        .post(
            "/v1/webhooks",
            json!({"target_url": url, "events": events, "description": "test receiver"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let secret = created.body["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("no secret in {}", created.body))
        .to_owned();
    (created.id(), secret)
}

async fn ping(app: &TestApp, id: i64) -> Value {
    let answer = app
        .post(&format!("/v1/webhooks/{id}/test"), json!({}))
        .await;
    assert_eq!(answer.status, 202, "{}", answer.body);
    answer.body
}

/// Recomputes the signature the way a receiver would, with the `hmac` crate.
fn assert_signed(received: &Received, secret: &str) {
    let header = received.header("clientline-signature");
    let mut t = None;
    let mut v1 = None;
    for part in header.split(',') {
        match part.split_once('=') {
            Some(("t", value)) => t = Some(value.to_owned()),
            Some(("v1", value)) => v1 = Some(value.to_owned()),
            _ => {}
        }
    }
    let (t, v1) = match (t, v1) {
        (Some(t), Some(v1)) => (t, v1),
        _ => panic!("malformed signature header `{header}`"),
    };
    let timestamp: i64 = t.parse().unwrap_or_else(|e| panic!("t={t}: {e}"));
    let age = chrono::Utc::now().timestamp() - timestamp;
    assert!((0..300).contains(&age), "the timestamp is the sending time");
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
    mac.update(format!("{t}.").as_bytes());
    mac.update(&received.body);
    assert_eq!(
        hex::encode(mac.finalize().into_bytes()),
        v1,
        "the signature verifies"
    );
}

async fn deliveries(app: &TestApp, id: i64) -> Vec<Value> {
    let answer = app.get(&format!("/v1/webhooks/{id}/deliveries")).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    answer.body["data"].as_array().cloned().unwrap_or_default()
}

/// Reads the subscription until `done` holds for it (failing after a minute).
async fn wait_for_webhook(app: &TestApp, id: i64, done: impl Fn(&Value) -> bool) -> Value {
    let started = Instant::now();
    loop {
        let answer = app.get(&format!("/v1/webhooks/{id}")).await;
        if done(&answer.body) {
            return answer.body;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the webhook never got there: {}",
            answer.body
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Reads the delivery log until every delivery is done (failing after a minute).
async fn wait_until_settled(app: &TestApp, id: i64) -> Vec<Value> {
    let started = Instant::now();
    loop {
        let log = deliveries(app, id).await;
        if log.iter().all(|d| d["status"] != "pending") {
            return log;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "deliveries still pending: {log:?}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// Deliveries

#[tokio::test]
async fn a_test_ping_is_delivered_signed_with_the_secret_and_all_headers() {
    let app = fast_app().await;
    let receiver = Receiver::start().await;
    let (id, secret) = subscribe(&app, &receiver.url, &["company.created"]).await;
    let queued = ping(&app, id).await;
    assert_eq!(queued["status"], "pending");
    assert_eq!(queued["event_type"], "webhook.test");

    let received = receiver.wait_for(1).await;
    let delivery = &received[0];
    assert_signed(delivery, &secret);
    assert_eq!(delivery.header("content-type"), "application/json");
    let body = delivery.json();
    assert_eq!(body["type"], "webhook.test");
    assert_eq!(body["record"], json!({"type": "webhook", "id": id}));
    assert_eq!(body["data"]["object"]["id"], id);
    assert!(body["data"]["object"].get("secret").is_none());
    assert_eq!(
        delivery.header("clientline-event-id"),
        body["id"].to_string()
    );
    assert_eq!(delivery.header("clientline-event-type"), "webhook.test");
    assert_eq!(
        delivery.header("clientline-delivery-id"),
        queued["id"].to_string()
    );
}

#[tokio::test]
async fn the_delivery_log_shows_status_attempts_code_and_latency_newest_first() {
    let app = fast_app().await;
    let receiver = Receiver::start().await;
    let (id, _) = subscribe(&app, &receiver.url, &["company.created"]).await;
    let first = ping(&app, id).await;
    let second = ping(&app, id).await;
    let log = wait_until_settled(&app, id).await;
    assert_eq!(
        log.iter().map(|d| d["id"].clone()).collect::<Vec<_>>(),
        vec![second["id"].clone(), first["id"].clone()],
        "newest first"
    );
    let newest = &log[0];
    assert_eq!(newest["status"], "succeeded");
    assert_eq!(newest["attempts"], 1);
    assert_eq!(newest["response_status"], 200);
    assert!(newest["latency_ms"].as_i64().is_some_and(|ms| ms >= 0));
    assert!(newest["error"].is_null());
    assert!(newest["completed_at"].is_string());
    assert!(newest["next_attempt_at"].is_null());

    let page = app
        .get(&format!("/v1/webhooks/{id}/deliveries?limit=1"))
        .await;
    assert_eq!(page.body["data"][0]["id"], second["id"]);
    let cursor = page.body["next_cursor"].as_str().unwrap_or_default();
    let next = app
        .get(&format!(
            "/v1/webhooks/{id}/deliveries?limit=1&cursor={cursor}"
        ))
        .await;
    assert_eq!(next.body["data"][0]["id"], first["id"]);
    assert!(next.body["next_cursor"].is_null());

    let failed = app
        .get(&format!("/v1/webhooks/{id}/deliveries?status=failed"))
        .await;
    assert_eq!(failed.body["data"], json!([]));
    app.get(&format!("/v1/webhooks/{id}/deliveries?status=lost"))
        .await
        .assert_problem(400, "bad_request");
}

#[tokio::test]
async fn a_failing_receiver_gets_retries_and_then_every_event_in_order() {
    let app = fast_app().await;
    let receiver = Receiver::start().await;
    let (id, secret) = subscribe(&app, &receiver.url, &["company.created"]).await;
    // The first attempt is held in flight while two more events queue up behind it; it
    // fails, and so do two retries.
    receiver.hold_next(500);
    receiver.answer_next(&[503, 502]);
    ping(&app, id).await;
    receiver.wait_for(1).await;
    ping(&app, id).await;
    ping(&app, id).await;
    receiver.release();

    let received = receiver.wait_for(6).await;
    let ids: Vec<i64> = received.iter().map(Received::event_id).collect();
    let statuses: Vec<u16> = received.iter().map(|r| r.answered).collect();
    assert_eq!(statuses, vec![500, 503, 502, 200, 200, 200]);
    assert!(
        ids[..4].iter().all(|e| *e == ids[0]),
        "later events wait behind the failing one: {ids:?}"
    );
    assert!(ids[3] < ids[4] && ids[4] < ids[5], "in order: {ids:?}");
    for delivery in &received {
        assert_signed(delivery, &secret);
    }

    let log = wait_until_settled(&app, id).await;
    let oldest = &log[2];
    assert_eq!(oldest["status"], "succeeded");
    assert_eq!(oldest["attempts"], 4);
    assert_eq!(oldest["response_status"], 200);
    assert!(oldest["first_attempt_at"].as_str() < oldest["last_attempt_at"].as_str());
    assert_eq!(log[0]["attempts"], 1);
}

#[tokio::test]
async fn failing_past_the_retry_window_disables_the_subscription_until_an_admin_re_enables_it() {
    let app = spawn_app_with(fast(TimeDelta::milliseconds(60))).await;
    let receiver = Receiver::start().await;
    receiver.answer_always(503);
    let (id, _) = subscribe(&app, &receiver.url, &["company.created"]).await;
    ping(&app, id).await;

    let disabled = wait_for_webhook(&app, id, |w| w["active"] == false).await;
    let reason = disabled["disabled_reason"].as_str().unwrap_or_default();
    assert!(reason.contains("503"), "the reason says why: {reason}");
    assert!(disabled["disabled_at"].is_string());
    let log = deliveries(&app, id).await;
    assert_eq!(log[0]["status"], "failed");
    assert_eq!(log[0]["response_status"], 503);
    assert!(
        log[0]["attempts"].as_i64().is_some_and(|n| n >= 2),
        "{log:?}"
    );
    let tries = receiver.received().len();
    assert!(tries >= 2, "it was retried before giving up");

    app.post(&format!("/v1/webhooks/{id}/test"), json!({}))
        .await
        .assert_problem(409, "conflict");

    receiver.answer_always(200);
    let enabled = app
        .patch(&format!("/v1/webhooks/{id}"), json!({"active": true}))
        .await;
    assert_eq!(enabled.status, 200, "{}", enabled.body);
    assert_eq!(enabled.body["active"], true);
    assert!(enabled.body["disabled_reason"].is_null());
    assert!(enabled.body["disabled_at"].is_null());
    ping(&app, id).await;
    let received = receiver.wait_for(tries + 1).await;
    assert_eq!(received[tries].answered, 200);
    assert_eq!(received[tries].json()["type"], "webhook.test");
}

#[tokio::test]
async fn a_rotated_secret_signs_the_deliveries_after_it() {
    let app = fast_app().await;
    let receiver = Receiver::start().await;
    let (id, old) = subscribe(&app, &receiver.url, &["company.created"]).await;
    let rotated = app
        .post(&format!("/v1/webhooks/{id}/secret"), json!({}))
        .await;
    assert_eq!(rotated.status, 201, "{}", rotated.body);
    let new = rotated.body["secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert!(new.starts_with("whsec_") && new != old);
    ping(&app, id).await;
    let received = receiver.wait_for(1).await;
    assert_signed(&received[0], &new);
}

#[tokio::test]
async fn test_pings_stay_out_of_the_events_feed() {
    let app = fast_app().await;
    let receiver = Receiver::start().await;
    let (id, _) = subscribe(&app, &receiver.url, &["company.created"]).await;
    ping(&app, id).await;
    let ping_id = receiver.wait_for(1).await[0].event_id();
    let feed = app.get("/v1/events").await;
    assert_eq!(feed.status, 200, "{}", feed.body);
    assert_eq!(feed.body["data"], json!([]), "only the ping happened");
    app.get(&format!("/v1/events/{ping_id}"))
        .await
        .assert_problem(404, "not_found");
}

// Subscriptions

#[tokio::test]
async fn a_subscription_shows_its_secret_once() {
    let app = fast_app().await;
    let created = app
        .post(
            "/v1/webhooks",
            json!({"target_url": "https://hooks.example.com/in", "events": ["company.won", "company.created"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.id();
    assert_eq!(
        created.header("location"),
        Some(format!("/v1/webhooks/{id}").as_str())
    );
    assert_eq!(created.header("etag"), Some("\"1\""));
    let secret = created.body["secret"].as_str().unwrap_or_default();
    assert!(secret.starts_with("whsec_"));
    assert_eq!(secret.len(), "whsec_".len() + 64, "256 random bits in hex");
    assert_eq!(
        created.body["events"],
        json!(["company.created", "company.won"])
    );
    assert_eq!(created.body["active"], true);
    let prefix = created.body["secret_prefix"].as_str().unwrap_or_default();
    assert!(secret.starts_with(prefix) && prefix.len() < secret.len());

    let shown = app.get(&format!("/v1/webhooks/{id}")).await;
    assert_eq!(shown.status, 200);
    assert!(shown.body.get("secret").is_none(), "{}", shown.body);
    assert_eq!(shown.body["secret_prefix"], prefix);
    let listed = app.get("/v1/webhooks").await;
    assert_eq!(listed.body["data"][0]["id"], id);
    assert!(listed.body["data"][0].get("secret").is_none());
}

#[tokio::test]
async fn an_event_type_listed_twice_is_refused() {
    let app = fast_app().await;
    let refused = app
        .post(
            "/v1/webhooks",
            json!({"target_url": "https://hooks.example.com/in", "events": ["company.won", "company.created", "company.won"]}),
        )
        .await;
    refused.assert_problem(422, "validation_failed");
    assert_eq!(refused.error_fields(), vec!["events[2]".to_owned()]);
    assert_eq!(app.get("/v1/webhooks").await.body["data"], json!([]));
}

#[tokio::test]
async fn private_and_loopback_targets_are_refused_unless_the_operator_allows_them() {
    let app = spawn_app().await;
    for target in [
        "http://127.0.0.1:9000/hooks",
        "http://localhost/hooks",
        "http://10.0.0.8/hooks",
        "http://169.254.169.254/latest",
        "http://[::1]/hooks",
    ] {
        let refused = app
            .post(
                "/v1/webhooks",
                json!({"target_url": target, "events": ["company.created"]}),
            )
            .await;
        refused.assert_problem(422, "validation_failed");
        assert_eq!(refused.error_fields(), vec!["target_url"], "{target}");
        assert_eq!(refused.body["errors"][0]["code"], "private_target");
    }
    let allowed = fast_app().await;
    let created = allowed
        .post(
            "/v1/webhooks",
            json!({"target_url": "http://127.0.0.1:9000/hooks", "events": ["company.created"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
}

#[tokio::test]
async fn unknown_event_types_and_bad_urls_are_refused_with_422() {
    let app = fast_app().await;
    let refused = app
        .post(
            "/v1/webhooks",
            json!({"target_url": "ftp://example.com", "events": ["company.created", "company.exploded"]}),
        )
        .await;
    refused.assert_problem(422, "validation_failed");
    assert_eq!(refused.error_fields(), vec!["target_url", "events[1]"]);
    for events in [json!([]), json!(["*"])] {
        app.post(
            "/v1/webhooks",
            json!({"target_url": "https://example.com/in", "events": events}),
        )
        .await
        .assert_problem(422, "validation_failed");
    }
    app.post(
        "/v1/webhooks",
        json!({"target_url": "https://example.com/in", "events": ["company.created"], "secret": "mine"}),
    )
    .await
    .assert_problem(422, "validation_failed");
}

#[tokio::test]
async fn only_admins_with_the_admin_scope_manage_webhooks() {
    let app = fast_app().await;
    let (_, member) = app.member("m@acme.test", "member", &["admin"]).await;
    let body = json!({"target_url": "https://example.com/in", "events": ["company.created"]});
    app.post_as(&member, "/v1/webhooks", body.clone())
        .await
        .assert_problem(403, "forbidden");
    app.get_as(&member, "/v1/webhooks")
        .await
        .assert_problem(403, "forbidden");
    let narrow = app.token_for(app.admin_id, &["companies:read", "companies:write"], None);
    app.post_as(&narrow, "/v1/webhooks", body)
        .await
        .assert_problem(403, "insufficient_scope");
}

#[tokio::test]
async fn another_accounts_webhooks_do_not_exist() {
    let app = fast_app().await;
    let (id, _) = subscribe(&app, "https://example.com/in", &["company.created"]).await;
    let other = app.other_account("Other Firm");
    let path = format!("/v1/webhooks/{id}");
    app.get_as(&other, &path)
        .await
        .assert_problem(404, "not_found");
    app.patch_as(&other, &path, json!({"description": "mine"}))
        .await
        .assert_problem(404, "not_found");
    app.post_as(&other, &format!("{path}/test"), json!({}))
        .await
        .assert_problem(404, "not_found");
    app.post_as(&other, &format!("{path}/secret"), json!({}))
        .await
        .assert_problem(404, "not_found");
    app.get_as(&other, &format!("{path}/deliveries"))
        .await
        .assert_problem(404, "not_found");
    app.delete_as(&other, &path)
        .await
        .assert_problem(404, "not_found");
    assert_eq!(
        app.get_as(&other, "/v1/webhooks").await.body["data"],
        json!([])
    );
    assert_eq!(
        app.get(&path).await.status,
        200,
        "still there for its owner"
    );
}

#[tokio::test]
async fn a_subscription_is_changed_with_if_match_and_deleted_to_unsubscribe() {
    let app = fast_app().await;
    let (id, _) = subscribe(&app, "https://example.com/in", &["company.created"]).await;
    let path = format!("/v1/webhooks/{id}");
    let changed = app
        .request(
            Method::PATCH,
            &path,
            Some(&app.token),
            Some(&json!({"target_url": "https://example.org/hooks", "events": ["contact.created"], "description": null})),
            &[("If-Match", "\"1\"")],
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["target_url"], "https://example.org/hooks");
    assert_eq!(changed.body["events"], json!(["contact.created"]));
    assert!(changed.body["description"].is_null());
    assert_eq!(changed.body["version"], 2);
    app.request(
        Method::PATCH,
        &path,
        Some(&app.token),
        Some(&json!({"description": "late"})),
        &[("If-Match", "\"1\"")],
    )
    .await
    .assert_problem(412, "precondition_failed");
    let paused = app.patch(&path, json!({"active": false})).await;
    assert_eq!(paused.body["active"], false);
    assert!(paused.body["disabled_reason"].is_string());

    assert_eq!(app.delete(&path).await.status, 204);
    app.get(&path).await.assert_problem(404, "not_found");
    app.get(&format!("{path}/deliveries"))
        .await
        .assert_problem(404, "not_found");
}

// Real events

#[tokio::test]
async fn company_changes_are_delivered_in_order_with_the_json_of_the_events_feed() {
    let app = fast_app().await;
    let receiver = Receiver::start().await;
    let (_, secret) = subscribe(
        &app,
        &receiver.url,
        &["company.created", "company.updated", "company.won"],
    )
    .await;
    let pipeline = crate::common::pipelines::default_pipeline(&app).await;
    let first = crate::common::pipelines::phase(&pipeline, "Uncontacted");
    let company = crate::common::pipelines::company_in(&app, "Acme Ltd", first).await;
    let changed = app
        .patch(
            &format!("/v1/companies/{company}"),
            json!({"industry": "Solar"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    crate::common::pipelines::moved(&app, company, json!({"outcome": "won"})).await;

    let received = receiver.wait_for(3).await;
    let types: Vec<&str> = received
        .iter()
        .map(|r| r.header("clientline-event-type"))
        .collect();
    assert_eq!(types, ["company.created", "company.updated", "company.won"]);
    for delivery in &received {
        assert_signed(delivery, &secret);
        let feed = app
            .get(&format!("/v1/events/{}", delivery.event_id()))
            .await;
        assert_eq!(feed.status, 200, "{}", feed.body);
        assert_eq!(
            delivery.json(),
            feed.body,
            "the body is the event as the feed has it"
        );
    }
    let updated = received[1].json();
    assert_eq!(updated["data"]["object"]["industry"], "Solar");
    assert_eq!(updated["data"]["previous"], json!({"industry": null}));
    assert_eq!(updated["record"], json!({"type": "company", "id": company}));
}

#[tokio::test]
async fn a_change_that_rolled_back_is_never_delivered() {
    let app = fast_app().await;
    let receiver = Receiver::start().await;
    let (id, _) = subscribe(&app, &receiver.url, &["company.created", "company.updated"]).await;
    let company = app.company("Acme Ltd").await;
    let path = format!("/v1/companies/{company}");
    app.request(
        Method::PATCH,
        &path,
        Some(&app.token),
        Some(&json!({"industry": "Stale"})),
        &[("If-Match", "\"7\"")],
    )
    .await
    .assert_problem(412, "precondition_failed");
    app.patch(&path, json!({"industry": "Invalid", "owner_id": 999_999}))
        .await
        .assert_problem(422, "validation_failed");
    // A last, good change: once it has arrived, everything before it has.
    assert_eq!(
        app.patch(&path, json!({"industry": "Solar"})).await.status,
        200
    );

    let received = receiver.wait_for(2).await;
    let log = wait_until_settled(&app, id).await;
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(received.len(), 2);
    assert_eq!(received[1].json()["data"]["object"]["industry"], "Solar");
    assert_eq!(
        received[1].json()["data"]["previous"],
        json!({"industry": null})
    );
}

#[tokio::test]
async fn only_the_subscribed_types_of_the_subscriptions_own_account_are_delivered() {
    let app = fast_app().await;
    let ours = Receiver::start().await;
    let theirs = Receiver::start().await;
    let (_, _) = subscribe(&app, &ours.url, &["company.updated"]).await;
    let other = app.other_account("Other Firm");
    let other_hook = app
        .post_as(
            &other,
            "/v1/webhooks",
            json!({"target_url": theirs.url, "events": ["company.created", "company.updated"]}),
        )
        .await;
    assert_eq!(other_hook.status, 201, "{}", other_hook.body);

    let company = app.company("Acme Ltd").await;
    let path = format!("/v1/companies/{company}");
    assert_eq!(
        app.patch(&path, json!({"industry": "Solar"})).await.status,
        200
    );
    let received = ours.wait_for(1).await;
    assert_eq!(
        received[0].header("clientline-event-type"),
        "company.updated"
    );
    // Each subscription's deliveries go out in order, so a first delivery that is the
    // other account's own ping, queued after our changes, shows none of ours were queued.
    let pinged = app
        .post_as(
            &other,
            &format!("/v1/webhooks/{}/test", other_hook.id()),
            json!({}),
        )
        .await;
    assert_eq!(pinged.status, 202, "{}", pinged.body);
    assert_eq!(theirs.wait_for(1).await[0].json()["type"], "webhook.test");
}

// Replicas and retention

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_replicas_deliver_each_event_once_and_in_order() {
    let app = fast_app().await;
    // A second service on the same database: its worker claims from the same queue.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let replica = api::serve(
        listener,
        api::AppState::new(app.db.clone(), fast(TimeDelta::hours(1))),
        Some(1),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(replica);
    let mut subscriptions = Vec::new();
    for _ in 0..4 {
        let receiver = Receiver::start().await;
        let (id, _) = subscribe(&app, &receiver.url, &["company.created"]).await;
        subscriptions.push((id, receiver));
    }
    for n in 0..8 {
        app.company(&format!("Company {n}")).await;
    }
    for (id, receiver) in &subscriptions {
        let log = wait_until_settled(&app, *id).await;
        assert_eq!(log.len(), 8);
        let ids: Vec<i64> = receiver.received().iter().map(Received::event_id).collect();
        assert_eq!(ids.len(), 8, "each event once: {ids:?}");
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "in order: {ids:?}");
    }
}

#[tokio::test]
async fn the_worker_purges_events_past_their_retention_with_their_deliveries() {
    let mut settings = fast(TimeDelta::hours(1));
    settings.webhooks.event_retention = Duration::ZERO;
    settings.webhooks.purge_interval = Duration::from_millis(10);
    let app = spawn_app_with(settings).await;
    let receiver = Receiver::start().await;
    let (id, _) = subscribe(&app, &receiver.url, &["company.created"]).await;
    app.company("Acme Ltd").await;
    let started = Instant::now();
    loop {
        let feed = app.get("/v1/events").await;
        let log = deliveries(&app, id).await;
        if feed.body["data"] == json!([]) && log.is_empty() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "not purged: {} {log:?}",
            feed.body
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

// The queue, driven directly: the service's own worker is idle (it polls hourly).

async fn idle_app() -> TestApp {
    let mut settings = fast(TimeDelta::hours(1));
    settings.webhooks.poll_interval = Duration::from_secs(3600);
    spawn_app_with(settings).await
}

fn claim(app: &TestApp, lease: TimeDelta) -> Vec<persistence::webhooks::Claimed> {
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    persistence::webhooks::claim_due(&mut conn, app.db.vault(), 10, lease)
        .unwrap_or_else(|e| panic!("{e:?}"))
}

fn report(app: &TestApp, claimed: &persistence::webhooks::Claimed) -> bool {
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    let attempt = persistence::webhooks::Attempt {
        started_at: chrono::Utc::now(),
        response_status: Some(200),
        latency_ms: 1,
        error: None,
    };
    persistence::webhooks::record_attempt(
        &mut conn,
        claimed,
        &attempt,
        &persistence::webhooks::NextStep::Done,
    )
    .unwrap_or_else(|e| panic!("{e:?}"))
}

#[tokio::test]
async fn one_event_is_claimed_once_for_each_subscription_that_wants_it() {
    let app = idle_app().await;
    let (first, _) = subscribe(&app, "http://127.0.0.1:9/a", &["company.created"]).await;
    let (second, _) = subscribe(&app, "http://127.0.0.1:9/b", &["company.created"]).await;
    subscribe(&app, "http://127.0.0.1:9/c", &["contact.created"]).await;
    app.company("Acme Ltd").await;
    let mut claimed = claim(&app, TimeDelta::minutes(1));
    claimed.sort_by_key(|c| c.webhook_id);
    assert_eq!(
        claimed.iter().map(|c| c.webhook_id).collect::<Vec<_>>(),
        vec![first, second]
    );
    assert_eq!(claimed[0].event.id, claimed[1].event.id);
    assert_eq!(claimed[0].event.event_type, "company.created");
    assert!(
        claim(&app, TimeDelta::minutes(1)).is_empty(),
        "claimed already"
    );
}

#[tokio::test]
async fn a_subscriptions_later_deliveries_wait_while_its_oldest_is_claimed() {
    let app = idle_app().await;
    subscribe(&app, "http://127.0.0.1:9/a", &["company.created"]).await;
    app.company("First Ltd").await;
    app.company("Second Ltd").await;
    let claimed = claim(&app, TimeDelta::minutes(1));
    assert_eq!(claimed.len(), 1, "only the oldest may go");
    assert_eq!(claimed[0].event.data["name"], "First Ltd");
    assert!(
        claim(&app, TimeDelta::minutes(1)).is_empty(),
        "the second waits"
    );
    assert!(report(&app, &claimed[0]));
    let next = claim(&app, TimeDelta::minutes(1));
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].event.data["name"], "Second Ltd");
}

#[tokio::test]
async fn a_lapsed_claim_is_claimed_again_and_its_late_report_is_ignored() {
    let app = idle_app().await;
    let (id, _) = subscribe(&app, "http://127.0.0.1:9/a", &["company.created"]).await;
    app.company("Acme Ltd").await;
    // A worker that claims and dies: its lease lapses at once.
    let lost = claim(&app, TimeDelta::zero());
    assert_eq!(lost.len(), 1);
    let again = claim(&app, TimeDelta::minutes(1));
    assert_eq!(again.len(), 1, "claimable again once the lease lapsed");
    assert_eq!(again[0].delivery_id, lost[0].delivery_id);
    assert!(
        !report(&app, &lost[0]),
        "the first claim is no longer its worker's"
    );
    assert!(report(&app, &again[0]));
    let log = deliveries(&app, id).await;
    assert_eq!(log[0]["status"], "succeeded");
    assert_eq!(log[0]["attempts"], 1);
}
