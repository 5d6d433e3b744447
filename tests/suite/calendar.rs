//! `GET /v1/me/calendar.ics` and calendar tokens: my meetings and due tasks in iCalendar, read
//! with a token that reads nothing else, also from the URL; and read back by a real parser.

use std::process::Command;

use crate::common::*;
use chrono::{Duration, NaiveDate, Utc};
use reqwest::Method;
use serde_json::{Value, json};

const FEED: &str = "/v1/me/calendar.ics";

/// Creates a calendar token for the caller of `as_token` and returns (its id, its secret).
async fn calendar_token(app: &TestApp, as_token: &str) -> (i64, String) {
    let created = app
        .post_as(
            as_token,
            "/v1/tokens",
            json!({"name": "Google Calendar", "kind": "calendar"}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let secret = created.body["token_secret"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    (created.id(), secret)
}

/// The feed as a calendar app reads it: the token in the URL, no header.
async fn feed_by_url(app: &TestApp, token: &str, query: &str) -> Answer {
    app.request(
        Method::GET,
        &format!("{FEED}?token={token}{query}"),
        None,
        None,
        &[],
    )
    .await
}

/// The body of a 200 feed, checked for what every feed holds.
fn ics(answer: &Answer) -> String {
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.header("content-type"),
        Some("text/calendar; charset=utf-8")
    );
    let body = answer.body.as_str().unwrap_or_default().to_owned();
    assert!(
        body.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"),
        "{body}"
    );
    assert!(body.ends_with("END:VCALENDAR\r\n"), "{body}");
    body
}

/// Each component's SUMMARY, unfolded and unescaped enough for plain titles.
fn summaries(body: &str) -> Vec<String> {
    body.replace("\r\n ", "")
        .split("\r\n")
        .filter_map(|l| l.strip_prefix("SUMMARY:"))
        .map(str::to_owned)
        .collect()
}

/// The lines of the component whose SUMMARY is `title`, unfolded.
fn component(body: &str, title: &str) -> Vec<String> {
    let unfolded = body.replace("\r\n ", "");
    let mut current = Vec::new();
    for line in unfolded.split("\r\n") {
        if line == "BEGIN:VEVENT" || line == "BEGIN:VTODO" {
            current.clear();
        }
        current.push(line.to_owned());
        if (line == "END:VEVENT" || line == "END:VTODO")
            && current.iter().any(|l| *l == format!("SUMMARY:{title}"))
        {
            return current;
        }
    }
    panic!("no component titled {title} in {body}");
}

async fn created(app: &TestApp, token: &str, path: &str, body: Value) -> i64 {
    let answer = app.post_as(token, path, body).await;
    assert_eq!(answer.status, 201, "{path}: {}", answer.body);
    answer.id()
}

fn in_days(days: i64) -> String {
    (Utc::now() + Duration::days(days)).to_rfc3339()
}

fn day_in(days: i64) -> NaiveDate {
    (Utc::now() + Duration::days(days)).date_naive()
}

#[tokio::test]
async fn a_calendar_token_is_prefixed_listed_and_carries_no_scopes() {
    let app = spawn_app().await;
    let (id, secret) = calendar_token(&app, &app.token).await;
    assert!(secret.starts_with("clt_cal_"), "{secret}");
    let shown = app.get(&format!("/v1/tokens/{id}")).await;
    assert_eq!(shown.body["kind"], "calendar");
    assert_eq!(shown.body["scopes"], json!([]));
    let listed = app.get("/v1/tokens").await;
    assert!(
        listed.body["data"]
            .as_array()
            .is_some_and(|l| l.iter().any(|t| t["id"] == id && t["kind"] == "calendar"))
    );
    let scoped = app
        .post(
            "/v1/tokens",
            json!({"name": "cal", "kind": "calendar", "scopes": ["tasks:read"]}),
        )
        .await;
    scoped.assert_problem(422, "validation_failed");
    assert_eq!(scoped.error_fields(), ["scopes"]);
    let with_origins = app
        .post(
            "/v1/tokens",
            json!({"name": "cal", "kind": "calendar", "allowed_origins": ["https://a.test"]}),
        )
        .await;
    assert_eq!(with_origins.error_fields(), ["allowed_origins"]);
}

#[tokio::test]
async fn issuing_a_calendar_token_needs_the_reads_it_grants() {
    let app = spawn_app().await;
    let narrow = app.token_for(app.admin_id, &["tokens:write", "tasks:read"], None);
    let refused = app
        .post_as(
            &narrow,
            "/v1/tokens",
            json!({"name": "cal", "kind": "calendar"}),
        )
        .await;
    refused.assert_problem(422, "validation_failed");
    assert!(
        refused.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("meetings:read")),
        "{}",
        refused.body
    );
}

#[tokio::test]
async fn the_feed_lists_my_meetings_and_due_tasks_and_not_others() {
    let app = spawn_app().await;
    let (other, theirs) = app.member("o@acme.test", "member", &["admin"]).await;
    let me = app.admin_id;
    let meeting = |title: &str, days: i64| json!({"title": title, "starts_at": in_days(days), "ends_at": in_days(days)});
    let token = app.token.clone();
    created(&app, &token, "/v1/meetings", meeting("Mine", 2)).await;
    created(&app, &token, "/v1/meetings", meeting("Last week", -7)).await;
    created(&app, &token, "/v1/meetings", meeting("Long ago", -60)).await;
    created(&app, &token, "/v1/meetings", meeting("Years ahead", 500)).await;
    let mut invited = meeting("Invited", 3);
    invited["attendees"] = json!([{"user_id": me, "response": "accepted"}]);
    created(&app, &theirs, "/v1/meetings", invited).await;
    let mut declined = meeting("Declined", 3);
    declined["attendees"] = json!([{"user_id": me, "response": "declined"}]);
    created(&app, &theirs, "/v1/meetings", declined).await;
    created(&app, &theirs, "/v1/meetings", meeting("Theirs", 2)).await;
    for (title, due, assignee) in [
        ("My task", json!({"due_date": day_in(1)}), me),
        ("Their task", json!({"due_date": day_in(1)}), other),
        ("No due", json!({}), me),
    ] {
        let mut body = due;
        body["title"] = json!(title);
        body["assignee_ids"] = json!([assignee]);
        created(&app, &token, "/v1/tasks", body).await;
    }
    let done = created(
        &app,
        &token,
        "/v1/tasks",
        json!({"title": "Done task", "due_at": in_days(-1)}),
    )
    .await;
    let completed = app
        .post(&format!("/v1/tasks/{done}/complete"), json!({}))
        .await;
    assert_eq!(completed.status, 200, "{}", completed.body);
    let (_, secret) = calendar_token(&app, &app.token).await;
    let body = ics(&feed_by_url(&app, &secret, "").await);
    let mut titles = summaries(&body);
    titles.sort();
    assert_eq!(
        titles,
        ["Invited", "Last week", "Mine", "My task", "✓ Done task"]
    );
    assert!(
        body.contains("X-WR-CALNAME:Acme Consulting: Ada Admin\r\n"),
        "{body}"
    );
}

#[tokio::test]
async fn all_day_items_are_dates_ending_the_next_day_and_timed_ones_utc_times() {
    let app = spawn_app().await;
    let start = day_in(5);
    app.post(
        "/v1/meetings",
        json!({"title": "Offsite", "all_day": true, "start_date": start,
               "end_date": day_in(6)}),
    )
    .await;
    app.post(
        "/v1/meetings",
        json!({"title": "Call", "starts_at": "2027-01-12T14:00:00+01:00",
               "ends_at": "2027-01-12T15:30:00+01:00"}),
    )
    .await;
    app.post(
        "/v1/tasks",
        json!({"title": "All-day task", "due_date": start}),
    )
    .await;
    app.post(
        "/v1/tasks",
        json!({"title": "Timed task", "due_at": "2027-01-13T09:00:00Z", "time_zone": "Europe/Paris"}),
    )
    .await;
    let body = ics(&app.get(FEED).await);
    let date = |d: NaiveDate| d.format("%Y%m%d").to_string();
    let offsite = component(&body, "Offsite");
    assert!(offsite.contains(&format!("DTSTART;VALUE=DATE:{}", date(start))));
    assert!(offsite.contains(&format!("DTEND;VALUE=DATE:{}", date(day_in(7)))));
    let call = component(&body, "Call");
    assert!(
        call.contains(&"DTSTART:20270112T130000Z".to_owned()),
        "{call:?}"
    );
    assert!(
        call.contains(&"DTEND:20270112T143000Z".to_owned()),
        "{call:?}"
    );
    let all_day = component(&body, "All-day task");
    assert!(all_day.contains(&format!("DTSTART;VALUE=DATE:{}", date(start))));
    assert!(all_day.contains(&format!("DTEND;VALUE=DATE:{}", date(day_in(6)))));
    assert!(all_day.contains(&"TRANSP:TRANSPARENT".to_owned()));
    let timed = component(&body, "Timed task");
    assert!(
        timed.contains(&"DTSTART:20270113T090000Z".to_owned()),
        "{timed:?}"
    );
    assert!(!timed.iter().any(|l| l.starts_with("DTEND")), "{timed:?}");
}

#[tokio::test]
async fn tasks_as_todos_carry_their_due_status_completion_and_priority() {
    let app = spawn_app().await;
    let id = app
        .post(
            "/v1/tasks",
            json!({"title": "Send the proposal", "due_at": "2027-01-13T09:00:00Z", "priority": "high"}),
        )
        .await
        .id();
    app.post(
        "/v1/tasks",
        json!({"title": "Open one", "due_date": day_in(2), "priority": "low"}),
    )
    .await;
    app.post(&format!("/v1/tasks/{id}/complete"), json!({}))
        .await;
    let body = ics(&app.get(&format!("{FEED}?tasks=todos")).await);
    let done = component(&body, "Send the proposal");
    assert_eq!(done[0], "BEGIN:VTODO");
    for line in [
        "DUE:20270113T090000Z",
        "STATUS:COMPLETED",
        "PRIORITY:1",
        "SEQUENCE:1",
    ] {
        assert!(done.contains(&line.to_owned()), "{line} in {done:?}");
    }
    assert!(done.iter().any(|l| l.starts_with("COMPLETED:")), "{done:?}");
    let open = component(&body, "Open one");
    assert!(open.contains(&"STATUS:NEEDS-ACTION".to_owned()), "{open:?}");
    assert!(open.contains(&"PRIORITY:9".to_owned()), "{open:?}");
    app.get(&format!("{FEED}?tasks=chores"))
        .await
        .assert_problem(400, "bad_request");
}

#[tokio::test]
async fn a_calendar_token_reads_the_feed_from_its_url_and_from_authorization() {
    let app = spawn_app().await;
    app.post(
        "/v1/tasks",
        json!({"title": "Call Bo", "due_date": day_in(1)}),
    )
    .await;
    let (_, secret) = calendar_token(&app, &app.token).await;
    let by_url = ics(&feed_by_url(&app, &secret, "").await);
    let by_header = ics(&app.get_as(&secret, FEED).await);
    assert_eq!(summaries(&by_url), ["Call Bo"]);
    assert_eq!(by_url, by_header);
    let both = app
        .request(
            Method::GET,
            &format!("{FEED}?token={secret}"),
            Some(&secret),
            None,
            &[],
        )
        .await;
    both.assert_problem(400, "bad_request");
}

#[tokio::test]
async fn a_calendar_token_is_refused_everywhere_else() {
    let app = spawn_app().await;
    let (_, secret) = calendar_token(&app, &app.token).await;
    for path in [
        "/v1/me",
        "/v1/companies",
        "/v1/tasks",
        "/v1/me/agenda",
        "/v1/tokens",
    ] {
        let answer = app.get_as(&secret, path).await;
        answer.assert_problem(403, "calendar_token_only");
    }
    let write = app
        .post_as(&secret, "/v1/tokens", json!({"name": "escalate"}))
        .await;
    write.assert_problem(403, "calendar_token_only");
    // Nor does a URL carry it anywhere but to the feed.
    let elsewhere = app
        .request(
            Method::GET,
            &format!("/v1/tasks?token={secret}"),
            None,
            None,
            &[],
        )
        .await;
    assert_eq!(elsewhere.status, 400, "{}", elsewhere.body);
}

#[tokio::test]
async fn a_revoked_calendar_token_is_401() {
    let app = spawn_app().await;
    let (id, secret) = calendar_token(&app, &app.token).await;
    ics(&feed_by_url(&app, &secret, "").await);
    assert_eq!(app.delete(&format!("/v1/tokens/{id}")).await.status, 204);
    feed_by_url(&app, &secret, "")
        .await
        .assert_problem(401, "unauthorized");
}

#[tokio::test]
async fn a_personal_token_reads_the_feed_with_tasks_and_meetings_read_and_only_in_a_header() {
    let app = spawn_app().await;
    let reader = app.token_for(app.admin_id, &["tasks:read", "meetings:read"], None);
    ics(&app.get_as(&reader, FEED).await);
    let tasks_only = app.token_for(app.admin_id, &["tasks:read"], None);
    app.get_as(&tasks_only, FEED)
        .await
        .assert_problem(403, "insufficient_scope");
    // A broader token in a URL would end up in logs and in the calendar app's settings.
    let in_url = feed_by_url(&app, &reader, "").await;
    in_url.assert_problem(400, "bad_request");
    assert_eq!(in_url.body["errors"][0]["code"], "calendar_token_required");
}

#[tokio::test]
async fn an_unchanged_feed_answers_304_to_its_etag() {
    let app = spawn_app().await;
    app.post(
        "/v1/tasks",
        json!({"title": "Call Bo", "due_date": day_in(1)}),
    )
    .await;
    let first = app.get(FEED).await;
    let etag = first.header("etag").unwrap_or_default().to_owned();
    assert!(etag.starts_with('"'), "{etag}");
    let again = app
        .request(
            Method::GET,
            FEED,
            Some(&app.token),
            None,
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(again.status, 304);
    app.post(
        "/v1/tasks",
        json!({"title": "Another", "due_date": day_in(1)}),
    )
    .await;
    let changed = app
        .request(
            Method::GET,
            FEED,
            Some(&app.token),
            None,
            &[("if-none-match", &etag)],
        )
        .await;
    assert_eq!(changed.status, 200);
}

#[tokio::test]
async fn every_line_ends_with_crlf_and_fits_75_octets() {
    let app = spawn_app().await;
    let long = "Ünïcödé agenda, with commas; semicolons \\ and more. ".repeat(20);
    app.post(
        "/v1/meetings",
        json!({"title": "€".repeat(60), "starts_at": in_days(1), "ends_at": in_days(1),
               "agenda": long}),
    )
    .await;
    let body = ics(&app.get(FEED).await);
    assert!(!body.replace("\r\n", "").contains('\n'), "bare LF");
    for line in body.split("\r\n") {
        assert!(line.len() <= 75, "{} octets: {line}", line.len());
    }
}

// ---------------------------------------------------------------------------------------------
// A real parser: Python's `icalendar`

/// The Python that has `icalendar`: `CLIENTLINE_TEST_PYTHON` (CI points it at its venv), else
/// `python3`. Without the module the round trip is noted and skipped on a developer's machine,
/// where the README's `cargo test` needs only Rust and a C compiler; under CI it fails.
fn icalendar_python() -> Option<String> {
    let python = std::env::var("CLIENTLINE_TEST_PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let probe = Command::new(&python)
        .args(["-c", "import icalendar"])
        .output();
    let why = match probe {
        Ok(out) if out.status.success() => return Some(python),
        Ok(out) => String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        Err(e) => e.to_string(),
    };
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must have Python's icalendar for the round trip ({python}: {why}); .ci/run sets CLIENTLINE_TEST_PYTHON to its venv"
    );
    println!(
        "note: icalendar round trip skipped: `{python}` cannot import icalendar ({why}); `pip install icalendar==7.3.2` or set CLIENTLINE_TEST_PYTHON to run it"
    );
    None
}

/// Every VEVENT and VTODO of `ics` as the `icalendar` package reads them, with any parse
/// error it recorded.
const PARSE: &str = r#"
import json, sys, icalendar
cal = icalendar.Calendar.from_ical(open(sys.argv[1], "rb").read())
def text(c, name):
    v = c.get(name)
    return None if v is None else str(v)
def when(c, name):
    v = c.get(name)
    return None if v is None else v.dt.isoformat()
def people(c, name):
    v = c.get(name)
    v = [] if v is None else (v if isinstance(v, list) else [v])
    return [{"address": str(p), "cn": p.params.get("CN"), "partstat": p.params.get("PARTSTAT")} for p in v]
out = {"name": text(cal, "X-WR-CALNAME"), "errors": [str(e) for e in cal.errors], "items": []}
for c in cal.walk():
    if c.name not in ("VEVENT", "VTODO"):
        continue
    cats = c.get("CATEGORIES")
    out["items"].append({
        "type": c.name,
        "uid": text(c, "UID"), "summary": text(c, "SUMMARY"),
        "description": text(c, "DESCRIPTION"), "location": text(c, "LOCATION"),
        "url": text(c, "URL"), "status": text(c, "STATUS"), "sequence": text(c, "SEQUENCE"),
        "dtstart": when(c, "DTSTART"), "dtend": when(c, "DTEND"), "due": when(c, "DUE"),
        "categories": None if cats is None else [str(x) for x in cats.cats],
        "organizer": people(c, "ORGANIZER"), "attendees": people(c, "ATTENDEE"),
        "errors": [str(e) for e in c.errors],
    })
print(json.dumps(out))
"#;

fn parse_with_icalendar(python: &str, ics: &str) -> Value {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("feed.ics");
    std::fs::write(&path, ics).unwrap_or_else(|e| panic!("{e}"));
    let out = Command::new(python)
        .arg("-c")
        .arg(PARSE)
        .arg(&path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {python}: {e}"));
    assert!(
        out.status.success(),
        "icalendar could not read the feed: {}\n{ics}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"))
}

#[tokio::test]
async fn the_feed_survives_a_round_trip_through_a_real_icalendar_parser() {
    let Some(python) = icalendar_python() else {
        return;
    };
    let app = spawn_app().await;
    let bo = app
        .post(
            "/v1/contacts",
            json!({"first_name": "Bo", "last_name": "Chen", "email": "bo@globex.example"}),
        )
        .await
        .id();
    let title = "Kick-off; scope, fees \\ timing: Zoë's 🎉";
    let agenda = format!(
        "1. Welcome, intros\n2. Scope; fees\r\n3. {}",
        "Größenordnung und Zeitplan – ".repeat(8)
    );
    let meeting = app
        .post(
            "/v1/meetings",
            json!({"title": title, "starts_at": "2027-01-12T14:00:00Z",
                   "ends_at": "2027-01-12T15:00:00Z", "agenda": agenda,
                   "location": "Globex, 12 High St; 3rd floor",
                   "online_url": "https://meet.example.com/abc?x=1,2",
                   "tags": ["vip", "q1"],
                   "attendees": [{"contact_id": bo, "response": "tentative"}]}),
        )
        .await;
    assert_eq!(meeting.status, 201, "{}", meeting.body);
    let meeting_id = meeting.id();
    let task = app
        .post(
            "/v1/tasks",
            json!({"title": "Send the proposal, v2", "due_date": day_in(3),
                   "notes": "Ask about: budget; timing\nand scope"}),
        )
        .await
        .id();
    let (_, secret) = calendar_token(&app, &app.token).await;
    let events = parse_with_icalendar(&python, &ics(&feed_by_url(&app, &secret, "").await));
    assert_eq!(events["errors"], json!([]), "{events}");
    assert_eq!(events["name"], "Acme Consulting: Ada Admin");
    let items = events["items"].as_array().cloned().unwrap_or_default();
    assert_eq!(items.len(), 2, "{events}");
    let m = &items[0];
    assert_eq!(m["errors"], json!([]), "{m}");
    assert_eq!(m["type"], "VEVENT");
    assert_eq!(m["uid"], format!("meeting-{meeting_id}@127.0.0.1"));
    assert_eq!(m["summary"], title);
    // As stored (trimmed), a CRLF being one line break as any other.
    assert_eq!(m["description"], agenda.trim_end().replace("\r\n", "\n"));
    assert_eq!(m["location"], "Globex, 12 High St; 3rd floor");
    assert_eq!(m["url"], "https://meet.example.com/abc?x=1,2");
    assert_eq!(m["status"], "CONFIRMED");
    assert_eq!(m["sequence"], "0");
    assert_eq!(m["dtstart"], "2027-01-12T14:00:00+00:00");
    assert_eq!(m["dtend"], "2027-01-12T15:00:00+00:00");
    assert_eq!(m["categories"], json!(["q1", "vip"]));
    assert_eq!(
        m["organizer"],
        json!([{"address": "mailto:admin@acme.test", "cn": "Ada Admin", "partstat": null}])
    );
    let mut attendees = m["attendees"].as_array().cloned().unwrap_or_default();
    attendees.sort_by_key(|a| a["address"].to_string());
    assert_eq!(
        attendees,
        [
            json!({"address": "mailto:admin@acme.test", "cn": "Ada Admin", "partstat": "ACCEPTED"}),
            json!({"address": "mailto:bo@globex.example", "cn": "Bo Chen", "partstat": "TENTATIVE"}),
        ]
    );
    let t = &items[1];
    assert_eq!(t["errors"], json!([]), "{t}");
    assert_eq!(t["uid"], format!("task-{task}@127.0.0.1"));
    assert_eq!(t["summary"], "Send the proposal, v2");
    assert_eq!(t["description"], "Ask about: budget; timing\nand scope");
    assert_eq!(t["dtstart"], day_in(3).to_string());
    assert_eq!(t["dtend"], day_in(4).to_string());
    let todos = parse_with_icalendar(
        &python,
        &ics(&feed_by_url(&app, &secret, "&tasks=todos").await),
    );
    let todo = &todos["items"][1];
    assert_eq!(todo["type"], "VTODO", "{todos}");
    assert_eq!(todo["due"], day_in(3).to_string());
    assert_eq!(todo["status"], "NEEDS-ACTION");
}

/// The migration that admits calendar tokens rebuilds the token table on SQLite: tokens
/// issued before it keep working, JavaScript tokens keep their origins, and going back
/// removes calendar tokens alone.
#[tokio::test]
async fn tokens_issued_before_calendar_tokens_survive_the_migration_both_ways() {
    use diesel::prelude::*;
    use diesel_migrations::MigrationHarness;
    use persistence::schema::{api_tokens, token_origins};

    let app = spawn_app().await;
    let widget = app
        .post(
            "/v1/tokens",
            json!({"name": "widget", "kind": "javascript", "allowed_origins": ["https://intranet.acme.test"]}),
        )
        .await
        .id();
    calendar_token(&app, &app.token).await;
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    let sqlite = app.db.backend() == persistence::Backend::Sqlite;
    // SQLite rebuilds tables with foreign keys off, as Db::migrate runs migrations.
    let foreign_keys = |conn: &mut persistence::PooledConnection, on: bool| {
        if sqlite {
            let pragma = format!("PRAGMA foreign_keys = {}", if on { "ON" } else { "OFF" });
            diesel::connection::SimpleConnection::batch_execute(&mut **conn, &pragma)
                .unwrap_or_else(|e| panic!("{e:?}"));
        }
    };
    foreign_keys(&mut conn, false);
    loop {
        let reverted = conn
            .revert_last_migration(app.db.migrations())
            .unwrap_or_else(|e| panic!("{e}"));
        if reverted.to_string().ends_with("000023") {
            break;
        }
    }
    let kinds: Vec<String> = api_tokens::table
        .select(api_tokens::kind)
        .order(api_tokens::id)
        .load(&mut *conn)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(kinds, ["personal", "javascript"], "calendar tokens go back");
    conn.run_pending_migrations(app.db.migrations())
        .unwrap_or_else(|e| panic!("{e}"));
    foreign_keys(&mut conn, true);
    let origins: Vec<String> = token_origins::table
        .filter(token_origins::token_id.eq(widget))
        .select(token_origins::origin)
        .load(&mut *conn)
        .unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(origins, ["https://intranet.acme.test"]);
    drop(conn);
    assert_eq!(app.get("/v1/me").await.status, 200);
    calendar_token(&app, &app.token).await;
}
