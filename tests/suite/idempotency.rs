//! `Idempotency-Key` on POST under /v1: replays, refusals of reused and malformed keys, keys
//! in flight, their scope (token and account), expiry, and that kept answers hold no secret
//! in clear.

use crate::common::*;
use chrono::{Duration, Utc};
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use persistence::idempotency::{Claimed, KeyId, StoredAnswer, Terms};
use persistence::schema::idempotency_keys;
use reqwest::Method;
use serde_json::{Value, json};

/// The text columns of one stored key.
type StoredRow = (
    String,
    String,
    String,
    String,
    Option<String>,
    Option<String>,
);

const TERMS: Terms = Terms {
    ttl: Duration::hours(24),
    lease: Duration::minutes(5),
};

impl TestApp {
    async fn post_keyed(&self, token: &str, path: &str, body: &Value, key: &str) -> Answer {
        self.request(
            Method::POST,
            path,
            Some(token),
            Some(body),
            &[("Idempotency-Key", key)],
        )
        .await
    }

    async fn company_count(&self, token: &str) -> usize {
        let list = self.get_as(token, "/v1/companies").await;
        assert_eq!(list.status, 200, "{}", list.body);
        list.body["data"].as_array().map_or(0, Vec::len)
    }

    /// The key as the service stores it for `token` of the first account.
    fn key_id(&self, token: &str, key: &str) -> KeyId {
        KeyId {
            account_id: self.account_id,
            token_digest: persistence::secrets::digest(token),
            key: key.to_owned(),
        }
    }

    /// Claims `key` for the request POST `path` with `body`, as the service would at `at`.
    fn claim_at(&self, key: &str, path: &str, body: &Value, at: chrono::DateTime<Utc>) -> Claimed {
        let bytes = serde_json::to_vec(body).unwrap_or_else(|e| panic!("{e}"));
        let digest = api::idempotency::request_digest("POST", path, "", &bytes);
        let mut conn = self.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
        persistence::idempotency::claim(
            &mut conn,
            &self.key_id(&self.token, key),
            &digest,
            at,
            TERMS,
        )
        .unwrap_or_else(|e| panic!("{e:?}"))
    }

    /// Every text the idempotency table holds, row by row.
    fn stored_texts(&self) -> Vec<String> {
        let mut conn = self.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
        let rows: Vec<StoredRow> = idempotency_keys::table
            .select((
                idempotency_keys::token_digest,
                idempotency_keys::idempotency_key,
                idempotency_keys::request_digest,
                idempotency_keys::run_id,
                idempotency_keys::response_headers,
                idempotency_keys::response_body,
            ))
            .load(&mut *conn)
            .unwrap_or_else(|e| panic!("{e:?}"));
        rows.into_iter()
            .flat_map(|(a, b, c, d, e, f)| [Some(a), Some(b), Some(c), Some(d), e, f])
            .flatten()
            .collect()
    }

    fn stored_key_count(&self) -> i64 {
        let mut conn = self.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
        idempotency_keys::table
            .count()
            .get_result(&mut *conn)
            .unwrap_or_else(|e| panic!("{e:?}"))
    }
}

fn acme() -> Value {
    json!({"name": "Acme Ltd", "domain": "acme.com"})
}

#[tokio::test]
async fn a_retry_with_the_same_key_answers_the_first_status_and_body_and_creates_once() {
    let app = spawn_app().await;
    let first = app
        .post_keyed(&app.token, "/v1/companies", &acme(), "key-1")
        .await;
    let retry = app
        .post_keyed(&app.token, "/v1/companies", &acme(), "key-1")
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert_eq!(retry.body, first.body);
    assert_eq!(retry.header("etag"), first.header("etag"));
    assert_eq!(retry.header("location"), first.header("location"));
    assert_eq!(retry.header("content-type"), Some("application/json"));
    assert_eq!(app.company_count(&app.token).await, 1);
}

#[tokio::test]
async fn only_a_replayed_answer_carries_idempotent_replayed() {
    let app = spawn_app().await;
    let first = app
        .post_keyed(&app.token, "/v1/companies", &acme(), "key-1")
        .await;
    let retry = app
        .post_keyed(&app.token, "/v1/companies", &acme(), "key-1")
        .await;
    assert_eq!(first.header("idempotent-replayed"), None);
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
}

#[tokio::test]
async fn the_same_key_with_another_body_is_refused_with_422() {
    let app = spawn_app().await;
    let first = app
        .post_keyed(&app.token, "/v1/companies", &acme(), "key-1")
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let other = app
        .post_keyed(
            &app.token,
            "/v1/companies",
            &json!({"name": "Beta"}),
            "key-1",
        )
        .await;
    other.assert_problem(422, "idempotency_key_reused");
    assert_eq!(app.company_count(&app.token).await, 1);
}

#[tokio::test]
async fn the_same_key_on_another_path_is_refused_with_422() {
    let app = spawn_app().await;
    let first = app
        .post_keyed(&app.token, "/v1/companies", &acme(), "key-1")
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let other = app
        .post_keyed(
            &app.token,
            "/v1/contacts",
            &json!({"first_name": "Ana"}),
            "key-1",
        )
        .await;
    other.assert_problem(422, "idempotency_key_reused");
}

#[tokio::test]
async fn a_request_whose_key_is_still_running_is_answered_409_with_retry_after() {
    let app = spawn_app().await;
    let held = app.claim_at("key-1", "/v1/companies", &acme(), Utc::now());
    assert!(matches!(held, Claimed::Started { .. }), "{held:?}");
    let retry = app
        .post_keyed(&app.token, "/v1/companies", &acme(), "key-1")
        .await;
    retry.assert_problem(409, "idempotency_request_in_progress");
    assert!(
        retry
            .header("retry-after")
            .is_some_and(|s| s.parse::<u64>().is_ok())
    );
    assert_eq!(app.company_count(&app.token).await, 0);
}

#[tokio::test]
async fn a_key_held_past_its_lease_is_taken_over_by_the_retry() {
    let app = spawn_app().await;
    let held = app.claim_at(
        "key-1",
        "/v1/companies",
        &acme(),
        Utc::now() - Duration::minutes(10),
    );
    assert!(matches!(held, Claimed::Started { .. }), "{held:?}");
    let retry = app
        .post_keyed(&app.token, "/v1/companies", &acme(), "key-1")
        .await;
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert_eq!(retry.header("idempotent-replayed"), None);
    assert_eq!(app.company_count(&app.token).await, 1);
}

#[tokio::test]
async fn an_expired_key_serves_a_new_request() {
    let app = spawn_app().await;
    let two_days_ago = Utc::now() - Duration::days(2);
    let Claimed::Started { run_id } = app.claim_at(
        "key-1",
        "/v1/contacts",
        &json!({"first_name": "Ana"}),
        two_days_ago,
    ) else {
        panic!("the key was free");
    };
    let answer = StoredAnswer {
        status: 201,
        headers: "[]".to_owned(),
        body: String::new(),
    };
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    let kept = persistence::idempotency::complete(
        &mut conn,
        &app.key_id(&app.token, "key-1"),
        &run_id,
        &answer,
    )
    .unwrap_or_else(|e| panic!("{e:?}"));
    assert!(kept);
    drop(conn);
    let fresh = app
        .post_keyed(&app.token, "/v1/companies", &acme(), "key-1")
        .await;
    assert_eq!(fresh.status, 201, "{}", fresh.body);
    assert_eq!(app.company_count(&app.token).await, 1);
}

#[tokio::test]
async fn purging_deletes_the_expired_keys_only() {
    let app = spawn_app().await;
    app.claim_at(
        "old",
        "/v1/companies",
        &acme(),
        Utc::now() - Duration::days(2),
    );
    app.claim_at("new", "/v1/companies", &acme(), Utc::now());
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    let purged = persistence::idempotency::purge_expired(&mut conn, Utc::now())
        .unwrap_or_else(|e| panic!("{e:?}"));
    drop(conn);
    assert_eq!(purged, 1);
    assert_eq!(app.stored_key_count(), 1);
    assert!(app.stored_texts().contains(&"new".to_owned()));
}

#[tokio::test]
async fn another_token_with_the_same_key_runs_separately() {
    let app = spawn_app().await;
    let second = app.token_for(app.admin_id, &["companies:read", "companies:write"], None);
    let first = app
        .post_keyed(&app.token, "/v1/companies", &acme(), "key-1")
        .await;
    let other = app
        .post_keyed(&second, "/v1/companies", &acme(), "key-1")
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(other.status, 201, "{}", other.body);
    assert_eq!(other.header("idempotent-replayed"), None);
    assert_ne!(other.id(), first.id());
    assert_eq!(app.company_count(&app.token).await, 2);
}

#[tokio::test]
async fn another_account_with_the_same_key_runs_separately() {
    let app = spawn_app().await;
    let beta = app.other_account("Beta Partners");
    let first = app
        .post_keyed(&app.token, "/v1/companies", &acme(), "key-1")
        .await;
    let other = app
        .post_keyed(&beta, "/v1/companies", &acme(), "key-1")
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert_eq!(other.status, 201, "{}", other.body);
    assert_eq!(other.header("idempotent-replayed"), None);
    assert_eq!(app.company_count(&app.token).await, 1);
    assert_eq!(app.company_count(&beta).await, 1);
}

#[tokio::test]
async fn a_replayed_token_creation_answers_the_same_secret_and_the_database_holds_no_clear_copy() {
    let app = spawn_app().await;
    let body = json!({"name": "nightly sync", "scopes": ["companies:read"]});
    let first = app
        .post_keyed(&app.token, "/v1/tokens", &body, "key-1")
        .await;
    let retry = app
        .post_keyed(&app.token, "/v1/tokens", &body, "key-1")
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let secret = first.body["token_secret"]
        .as_str()
        .unwrap_or_else(|| panic!("no secret in {}", first.body))
        .to_owned();
    assert_eq!(retry.body["token_secret"], secret.as_str());
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
    let texts = app.stored_texts();
    assert!(!texts.is_empty(), "the answer was kept");
    for text in texts {
        assert!(
            !text.contains(&secret),
            "the new token's secret is stored in clear"
        );
        assert!(
            !text.contains(&app.token),
            "the caller's token is stored in clear"
        );
        assert!(
            !text.contains("nightly sync"),
            "the answer's body is stored in clear"
        );
    }
}

#[tokio::test]
async fn a_malformed_key_is_refused_with_400_naming_the_header() {
    let app = spawn_app().await;
    let long = "k".repeat(256);
    for key in ["", long.as_str(), "tab\there"] {
        let answer = app
            .post_keyed(&app.token, "/v1/companies", &acme(), key)
            .await;
        answer.assert_problem(400, "bad_request");
        assert_eq!(
            answer.error_fields(),
            vec!["Idempotency-Key".to_owned()],
            "{key:?}"
        );
    }
    assert_eq!(app.company_count(&app.token).await, 0);
}

#[tokio::test]
async fn a_client_error_is_kept_and_replayed_too() {
    let app = spawn_app().await;
    let blank = json!({"name": " "});
    let first = app
        .post_keyed(&app.token, "/v1/companies", &blank, "key-1")
        .await;
    let retry = app
        .post_keyed(&app.token, "/v1/companies", &blank, "key-1")
        .await;
    first.assert_problem(422, "validation_failed");
    retry.assert_problem(422, "validation_failed");
    // The kept problem, but with the id of the request that got it (as in `x-request-id`).
    let without_request_id = |body: &serde_json::Value| {
        let mut body = body.clone();
        body.as_object_mut().map(|o| o.remove("request_id"));
        body
    };
    assert_eq!(
        without_request_id(&retry.body),
        without_request_id(&first.body)
    );
    assert_eq!(
        retry.body["request_id"].as_str(),
        retry.header("x-request-id")
    );
    assert_eq!(retry.header("idempotent-replayed"), Some("true"));
}

#[tokio::test]
async fn get_ignores_the_header() {
    let app = spawn_app().await;
    let answer = app
        .request(
            Method::GET,
            "/v1/companies",
            Some(&app.token),
            None,
            &[("Idempotency-Key", "")],
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(app.stored_key_count(), 0);
}

#[tokio::test]
async fn a_server_error_is_not_kept_and_the_retry_runs_again() {
    let app = spawn_app().await;
    let sql = |statement: &str| {
        let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
        conn.batch_execute(statement)
            .unwrap_or_else(|e| panic!("{statement}: {e:?}"));
    };
    // The table the handler writes is gone for a moment: a real failure of the database.
    sql("ALTER TABLE companies RENAME TO companies_away");
    let failed = app
        .post_keyed(&app.token, "/v1/companies", &acme(), "key-1")
        .await;
    sql("ALTER TABLE companies_away RENAME TO companies");
    assert_eq!(failed.status, 500, "{}", failed.body);
    assert_eq!(app.stored_key_count(), 0, "the key was released");
    let retry = app
        .post_keyed(&app.token, "/v1/companies", &acme(), "key-1")
        .await;
    assert_eq!(retry.status, 201, "{}", retry.body);
    assert_eq!(retry.header("idempotent-replayed"), None);
    assert_eq!(app.company_count(&app.token).await, 1);
}

#[tokio::test]
async fn a_keyed_body_over_the_limit_is_refused_with_413() {
    let app = spawn_app_with(api::Settings {
        body_limit: 64,
        ..api::Settings::default()
    })
    .await;
    let big = json!({"name": "A".repeat(100)});
    let answer = app
        .post_keyed(&app.token, "/v1/companies", &big, "key-1")
        .await;
    answer.assert_problem(413, "payload_too_large");
    assert_eq!(app.stored_key_count(), 0);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_create_once() {
    let app = spawn_app().await;
    let body = acme();
    let answers = futures_util::future::join_all(
        (0..6).map(|_| app.post_keyed(&app.token, "/v1/companies", &body, "key-1")),
    )
    .await;
    for answer in &answers {
        assert!(
            answer.status == 201 || answer.status == 409,
            "{} {}",
            answer.status,
            answer.body
        );
    }
    assert!(answers.iter().any(|a| a.status == 201));
    assert_eq!(app.company_count(&app.token).await, 1);
}

#[tokio::test]
async fn a_revoked_token_cannot_replay_its_answer() {
    let app = spawn_app().await;
    let created = app
        .post(
            "/v1/tokens",
            json!({"name": "script", "scopes": ["companies:read", "companies:write"]}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let secret = created.body["token_secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let token_id = created.id();
    let first = app
        .post_keyed(&secret, "/v1/companies", &acme(), "key-1")
        .await;
    assert_eq!(first.status, 201, "{}", first.body);
    let revoked = app.delete(&format!("/v1/tokens/{token_id}")).await;
    assert!(revoked.status.is_success(), "{}", revoked.body);
    let retry = app
        .post_keyed(&secret, "/v1/companies", &acme(), "key-1")
        .await;
    retry.assert_problem(401, "unauthorized");
}
