//! The `clientline` binary itself: first start, account creation, migrations, shutdown.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::fresh_database;

fn clientline(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_clientline"));
    command
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn");
    command
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// Waits until the service answers `/healthz`: only then are its signal handlers in place, so
/// a SIGTERM sent earlier could kill it outright rather than stop it gracefully.
fn wait_until_serving(port: u16, child: &mut Child) {
    use std::io::{Read, Write};
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("clientline exited with {status} instead of serving");
        }
        let answered = std::net::TcpStream::connect(("127.0.0.1", port)).and_then(|mut stream| {
            stream.write_all(b"GET /healthz HTTP/1.0\r\n\r\n")?;
            let mut head = [0u8; 12];
            stream.read_exact(&mut head)?;
            Ok(head.ends_with(b"200"))
        });
        if answered.is_ok_and(|ok| ok) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "clientline did not start serving"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Starts `clientline serve`, waits until it answers, and returns it with the token it printed
/// on stdout (if any).
fn serve(database_url: &str, port: u16) -> (Child, Option<String>) {
    serve_with(database_url, port, &[])
}

/// [`serve`] with more environment variables.
fn serve_with(database_url: &str, port: u16, env: &[(&str, &str)]) -> (Child, Option<String>) {
    let mut child = clientline(database_url)
        .envs(env.iter().copied())
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start clientline: {e}"));
    let stdout = child.stdout.take().unwrap_or_else(|| panic!("no stdout"));
    // Read stdout to its end, as a terminal would, and hand over the first token seen.
    let (found, token_seen) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(token) = line.split_whitespace().find(|w| w.starts_with("clt_pat_")) {
                let _ = found.send(token.to_owned());
            }
        }
    });
    wait_until_serving(port, &mut child);
    // The banner is printed before the server listens, so it is there by now if at all.
    let token = token_seen.recv_timeout(Duration::from_millis(500)).ok();
    (child, token)
}

async fn me(port: u16, token: &str) -> reqwest::StatusCode {
    reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/v1/me"))
        .bearer_auth(token)
        .send()
        .await
        .map(|r| r.status())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn terminate(mut child: Child) -> std::process::ExitStatus {
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    assert!(killed.is_ok_and(|s| s.success()), "cannot send SIGTERM");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return status;
        }
        assert!(
            Instant::now() < deadline,
            "clientline did not stop after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test]
async fn the_first_start_prints_an_admin_token_that_works_and_sigterm_stops_cleanly() {
    let (url, _guard) = fresh_database();
    let port = free_port();
    let (child, token) = serve(&url, port);
    let token = token.unwrap_or_else(|| panic!("the first start printed no token"));
    assert_eq!(me(port, &token).await, 200);
    let status = terminate(child);
    assert!(status.success(), "exit status after SIGTERM: {status}");

    // A second start finds the account and prints no new token; the old one still works.
    let (child, second) = serve(&url, port);
    assert_eq!(second, None);
    assert_eq!(me(port, &token).await, 200);
    terminate(child);
}

/// Boolean settings take the spellings operators use: true/false, 1/0, yes/no, on/off.
#[tokio::test]
async fn boolean_settings_accept_yes_no_on_off_and_1_0() {
    async fn loopback_webhook(port: u16, token: &str) -> reqwest::StatusCode {
        reqwest::Client::new()
            .post(format!("http://127.0.0.1:{port}/v1/webhooks"))
            .bearer_auth(token)
            .json(&serde_json::json!({"target_url": "http://127.0.0.1:9/hook", "events": ["company.created"]}))
            .send()
            .await
            .map(|r| r.status())
            .unwrap_or_else(|e| panic!("{e}"))
    }
    let (url, _guard) = fresh_database();
    let mut token = None;
    for (value, allowed) in [
        ("yes", true),
        ("off", false),
        ("1", true),
        ("NO", false),
        ("On", true),
    ] {
        let port = free_port();
        let (child, printed) = serve_with(
            &url,
            port,
            &[("CLIENTLINE_WEBHOOK_ALLOW_PRIVATE_TARGETS", value)],
        );
        let token = token.get_or_insert_with(|| printed.unwrap_or_else(|| panic!("no token")));
        let status = loopback_webhook(port, token).await;
        terminate(child);
        assert_eq!(status.as_u16(), if allowed { 201 } else { 422 }, "{value}");
    }
}

#[tokio::test]
async fn account_create_prints_json_with_a_working_token() {
    let (url, _guard) = fresh_database();
    let output = clientline(&url)
        .args([
            "account",
            "create",
            "--name",
            "Acme Consulting",
            "--admin-email",
            "ana@acme.test",
            "--json",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    let token = created["token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token in {created}"))
        .to_owned();
    assert!(created["account_id"].as_i64().is_some() && created["user_id"].as_i64().is_some());
    let port = free_port();
    let (child, printed) = serve(&url, port);
    assert_eq!(
        printed, None,
        "an account exists, so no default one is made"
    );
    assert_eq!(me(port, &token).await, 200);
    terminate(child);
}

#[test]
fn account_create_refuses_a_bad_email() {
    let (url, _guard) = fresh_database();
    let output = clientline(&url)
        .args([
            "account",
            "create",
            "--name",
            "Acme",
            "--admin-email",
            "not-an-email",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!output.status.success());
}

#[test]
fn migrate_applies_migrations_and_exits() {
    let (url, _guard) = fresh_database();
    let output = clientline(&url)
        .arg("migrate")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let again = clientline(&url)
        .arg("migrate")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(again.status.success(), "migrating twice is harmless");
}

#[test]
fn a_closed_stdout_does_not_stop_the_first_start() {
    let (url, _guard) = fresh_database();
    let port = free_port();
    let mut child = clientline(&url)
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start clientline: {e}"));
    // Nobody reads the banner: writing it meets a closed pipe.
    drop(child.stdout.take());
    wait_until_serving(port, &mut child);
    assert!(terminate(child).success());
}

#[test]
fn account_create_sets_the_admin_password_and_refuses_a_weak_one() {
    let (url, _guard) = fresh_database();
    let weak = clientline(&url)
        .args([
            "account",
            "create",
            "--name",
            "Acme",
            "--admin-email",
            "ana@acme.test",
            "--admin-password",
            "short",
            "--json",
        ])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!weak.status.success(), "a weak password is refused");
    let output = clientline(&url)
        .args([
            "account",
            "create",
            "--name",
            "Acme",
            "--admin-email",
            "ana@acme.test",
            "--json",
        ])
        .env("CLIENTLINE_ADMIN_PASSWORD", "correct horse battery")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let created: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap_or_default();
    let db = persistence::Db::connect(&url, 1).unwrap_or_else(|e| panic!("{e:?}"));
    let mut conn = db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    use diesel::prelude::*;
    use persistence::schema::users;
    let hash: Option<String> = users::table
        .filter(users::id.eq(created["user_id"].as_i64().unwrap_or_default()))
        .select(users::password_hash)
        .first(&mut conn)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        hash.is_some_and(|h| persistence::secrets::verify_password(&h, "correct horse battery"))
    );
}

/// Webhook settings for a quick restart: short polls, retries and leases (twice the timeout
/// and a second), and the loopback receiver allowed.
const FAST_WEBHOOKS: [(&str, &str); 4] = [
    ("CLIENTLINE_WEBHOOK_POLL_MS", "20"),
    ("CLIENTLINE_WEBHOOK_RETRY_BASE_MS", "20"),
    ("CLIENTLINE_WEBHOOK_TIMEOUT_SECS", "2"),
    ("CLIENTLINE_WEBHOOK_ALLOW_PRIVATE_TARGETS", "true"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_service_killed_mid_delivery_delivers_everything_after_a_restart() {
    use common::receiver::{Received, Receiver};
    let (url, _guard) = fresh_database();
    let receiver = Receiver::start().await;
    // The first delivery is held open: the service is killed while it waits for the answer.
    receiver.hold_next(200);
    let port = free_port();
    let (child, token) = serve_with(&url, port, &FAST_WEBHOOKS);
    let token = token.unwrap_or_else(|| panic!("the first start printed no token"));
    let client = reqwest::Client::new();
    let post = |path: &str, body: serde_json::Value| {
        client
            .post(format!("http://127.0.0.1:{port}{path}"))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    let subscribed = post(
        "/v1/webhooks",
        serde_json::json!({"target_url": receiver.url, "events": ["company.created"]}),
    )
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(subscribed.status(), 201);
    for name in ["First Ltd", "Second Ltd", "Third Ltd"] {
        let created = post("/v1/companies", serde_json::json!({"name": name}))
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(created.status(), 201);
    }
    let in_flight = receiver.wait_for(1).await;
    let mut child = child;
    child
        .kill()
        .unwrap_or_else(|e| panic!("cannot SIGKILL: {e}"));
    let _ = child.wait();

    let port = free_port();
    let (child, _) = serve_with(&url, port, &FAST_WEBHOOKS);
    let received = receiver.wait_for(4).await;
    receiver.release();
    let names: Vec<String> = received
        .iter()
        .map(|r: &Received| {
            r.json()["data"]["object"]["name"]
                .as_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect();
    assert_eq!(
        names,
        ["First Ltd", "First Ltd", "Second Ltd", "Third Ltd"],
        "the cut-off delivery is sent again after the restart, then the rest in order"
    );
    assert_eq!(received[1].event_id(), in_flight[0].event_id());
    terminate(child);
}
