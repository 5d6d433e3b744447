//! `GET /v1/me/agenda`: the caller's day across time zones, each list bounded and sorted.

use crate::common::*;
use chrono::{Duration, Utc};
use diesel::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::{Value, json};

/// Fourteen hours ahead of UTC, and eleven behind: their dates differ at every instant.
const AHEAD: &str = "Pacific/Kiritimati";
const BEHIND: &str = "Pacific/Pago_Pago";

fn today_in(zone: &str) -> chrono::NaiveDate {
    let tz: chrono_tz::Tz = zone.parse().unwrap_or(chrono_tz::UTC);
    Utc::now().with_timezone(&tz).date_naive()
}

fn titles(list: &Value) -> Vec<String> {
    list["data"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|t| {
                    t["title"]
                        .as_str()
                        .or(t["name"].as_str())
                        .map(str::to_owned)
                })
                .collect()
        })
        .unwrap_or_default()
}

async fn agenda(app: &TestApp, query: &str) -> Value {
    let answer = app.get(&format!("/v1/me/agenda{query}")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
    answer.body
}

#[tokio::test]
async fn the_agenda_counts_days_in_the_time_zone_it_is_given() {
    let app = spawn_app().await;
    let ahead_today = today_in(AHEAD);
    let behind_today = today_in(BEHIND);
    for (title, body) in [
        ("Ahead's day", json!({"due_date": ahead_today})),
        ("Behind's day", json!({"due_date": behind_today})),
        (
            "An hour late",
            json!({"due_at": (Utc::now() - Duration::hours(1)).to_rfc3339()}),
        ),
        (
            "Next month",
            json!({"due_at": (Utc::now() + Duration::days(30)).to_rfc3339()}),
        ),
    ] {
        let mut body = body;
        body["title"] = json!(title);
        let created = app.post("/v1/tasks", body).await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    }
    let ahead = agenda(&app, &format!("?time_zone={AHEAD}")).await;
    assert_eq!(ahead["date"], ahead_today.to_string());
    assert_eq!(
        titles(&ahead["overdue_tasks"]),
        ["Behind's day", "An hour late"]
    );
    assert_eq!(titles(&ahead["today_tasks"]), ["Ahead's day"]);
    let behind = agenda(&app, &format!("?time_zone={BEHIND}")).await;
    assert_eq!(behind["date"], behind_today.to_string());
    assert_eq!(titles(&behind["overdue_tasks"]), ["An hour late"]);
    assert_eq!(titles(&behind["today_tasks"]), ["Behind's day"]);
    app.get("/v1/me/agenda?time_zone=Mars/Olympus")
        .await
        .assert_problem(400, "bad_request");
}

#[tokio::test]
async fn the_agenda_holds_my_meetings_follow_ups_and_enquiries_and_not_others() {
    let app = spawn_app().await;
    let (other, other_token) = app.member("o@example.test", "member", &["admin"]).await;
    let soon = Utc::now() + Duration::hours(2);
    let mine = json!({"title": "Kick-off", "starts_at": soon.to_rfc3339(),
                      "ends_at": (soon + Duration::hours(1)).to_rfc3339()});
    assert_eq!(
        app.post("/v1/meetings", mine).await.status,
        StatusCode::CREATED
    );
    let far = Utc::now() + Duration::days(10);
    let later = json!({"title": "Quarterly", "starts_at": far.to_rfc3339(),
                       "ends_at": (far + Duration::hours(1)).to_rfc3339()});
    app.post("/v1/meetings", later).await;
    let theirs = json!({"title": "Theirs", "starts_at": soon.to_rfc3339(),
                        "ends_at": (soon + Duration::hours(1)).to_rfc3339()});
    app.post_as(&other_token, "/v1/meetings", theirs).await;
    app.post(
        "/v1/tasks",
        json!({"title": "Their task", "due_at": Utc::now().to_rfc3339(),
                                 "assignee_ids": [other]}),
    )
    .await;
    app.post(
        "/v1/enquiries",
        json!({"subject": "Mine", "assignee_id": app.admin_id}),
    )
    .await;
    app.post(
        "/v1/enquiries",
        json!({"subject": "Theirs", "assignee_id": other}),
    )
    .await;
    let pipeline = app
        .post(
            "/v1/pipelines",
            json!({"name": "Sales", "phases": [{"name": "Lead", "status": "prospect", "follow_up_after_days": 3}]}),
        )
        .await
        .body;
    let phase = pipeline["phases"][0]["id"].as_i64().unwrap_or_default();
    let due = app
        .post(
            "/v1/companies",
            json!({"name": "Due Ltd", "owner_id": app.admin_id, "phase_id": phase}),
        )
        .await
        .id();
    app.post(
        "/v1/companies",
        json!({"name": "Not yet Ltd", "owner_id": app.admin_id, "phase_id": phase}),
    )
    .await;
    // Its follow-up fell due an hour ago (the phase's three days have passed).
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    let past = (Utc::now() - Duration::hours(1)).naive_utc();
    diesel::update(persistence::schema::companies::table)
        .filter(diesel::ExpressionMethods::eq(
            persistence::schema::companies::id,
            due,
        ))
        .set(diesel::ExpressionMethods::eq(
            persistence::schema::companies::follow_up_due_at,
            Some(past),
        ))
        .execute(&mut *conn)
        .unwrap_or_else(|e| panic!("{e:?}"));
    drop(conn);

    let mine = agenda(&app, "").await;
    assert_eq!(titles(&mine["meetings"]), ["Kick-off"]);
    assert_eq!(titles(&mine["follow_ups"]), ["Due Ltd"]);
    assert_eq!(
        mine["follow_ups"]["data"][0]["record"],
        json!({"type": "company", "id": due})
    );
    assert_eq!(mine["enquiries"]["data"][0]["subject"], "Mine");
    assert_eq!(mine["enquiries"]["data"].as_array().map(Vec::len), Some(1));
    assert!(titles(&mine["overdue_tasks"]).is_empty());
    assert!(titles(&mine["today_tasks"]).is_empty());
    let theirs = app.get_as(&other_token, "/v1/me/agenda").await.body;
    assert_eq!(titles(&theirs["meetings"]), ["Theirs"]);
}

#[tokio::test]
async fn each_agenda_list_is_bounded_and_says_so() {
    let app = spawn_app().await;
    for n in 0..3 {
        let due = (Utc::now() - Duration::hours(3 - n)).to_rfc3339();
        app.post(
            "/v1/tasks",
            json!({"title": format!("Late {n}"), "due_at": due}),
        )
        .await;
    }
    let done = app
        .post(
            "/v1/tasks",
            json!({"title": "Done", "due_at": (Utc::now() - Duration::hours(5)).to_rfc3339()}),
        )
        .await
        .id();
    app.post(&format!("/v1/tasks/{done}/complete"), json!({}))
        .await;
    let page = agenda(&app, "?limit=2").await;
    assert_eq!(titles(&page["overdue_tasks"]), ["Late 0", "Late 1"]);
    assert_eq!(page["overdue_tasks"]["has_more"], true);
    assert_eq!(page["today_tasks"]["has_more"], false);
    app.get("/v1/me/agenda?limit=0")
        .await
        .assert_problem(400, "bad_request");
    let (_, narrow) = app
        .member("n@example.test", "member", &["tasks:read"])
        .await;
    app.get_as(&narrow, "/v1/me/agenda")
        .await
        .assert_problem(403, "insufficient_scope");
}
