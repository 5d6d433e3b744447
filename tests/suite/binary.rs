//! The `clientline` binary itself: first start, account creation, migrations, shutdown.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::fresh_database;

fn clientline(database_url: &str) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_clientline"));
    command
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .envs(crate::common::binary_env(database_url));
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
    serve_logging_to(database_url, port, env, Stdio::null())
}

/// [`serve_with`], its log going to `stderr`.
fn serve_logging_to(
    database_url: &str,
    port: u16,
    env: &[(&str, &str)],
    stderr: Stdio,
) -> (Child, Option<String>) {
    let mut child = clientline(database_url)
        .envs(env.iter().copied())
        .args(["serve", "--bind", &format!("127.0.0.1:{port}")])
        .stdout(Stdio::piped())
        .stderr(stderr)
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
    let db = persistence::Db::connect(&url, 1, crate::common::binary_vault(&url))
        .unwrap_or_else(|e| panic!("{e:?}"));
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
    use crate::common::receiver::{Received, Receiver};
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

// --- The operator key ---------------------------------------------------------------------

fn is_sqlite(url: &str) -> bool {
    persistence::Backend::of(url) == persistence::Backend::Sqlite
}

#[cfg(unix)]
fn mode_of(path: &str) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{path}: {e}"))
        .permissions()
        .mode()
        & 0o777
}

#[cfg(unix)]
#[tokio::test]
async fn the_first_start_creates_a_private_key_file_beside_the_database_and_says_so_once() {
    let (url, _guard) = fresh_database();
    if !is_sqlite(&url) {
        return;
    }
    let key_file = format!("{url}.key");
    assert!(!std::path::Path::new(&key_file).exists());
    let log = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
    let port = free_port();
    let stderr = log.reopen().unwrap_or_else(|e| panic!("{e}"));
    let (child, token) = serve_logging_to(&url, port, &[], Stdio::from(stderr));
    let token = token.unwrap_or_else(|| panic!("the first start printed no token"));
    assert_eq!(me(port, &token).await, 200);
    terminate(child);
    let first_log = std::fs::read_to_string(log.path()).unwrap_or_default();
    assert_eq!(mode_of(&key_file), 0o600, "the key file is private");
    let key = std::fs::read_to_string(&key_file).unwrap_or_default();
    let key = persistence::vault::OperatorKey::parse(&key).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        first_log.matches("created the operator key file").count(),
        1,
        "{first_log}"
    );
    assert!(first_log.contains(&key_file), "{first_log}");
    assert!(
        !first_log.contains(&key.to_base64()),
        "the key is not logged"
    );

    let second = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
    let stderr = second.reopen().unwrap_or_else(|e| panic!("{e}"));
    let (child, printed) = serve_logging_to(&url, port, &[], Stdio::from(stderr));
    assert_eq!(printed, None);
    assert_eq!(me(port, &token).await, 200);
    terminate(child);
    let second_log = std::fs::read_to_string(second.path()).unwrap_or_default();
    assert!(!second_log.contains("operator key"), "{second_log}");
    let again = std::fs::read_to_string(&key_file).unwrap_or_default();
    assert_eq!(
        persistence::vault::OperatorKey::parse(&again).ok(),
        Some(key),
        "the key file is kept"
    );
}

#[cfg(unix)]
#[test]
fn a_key_file_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt;
    let (url, _guard) = fresh_database();
    if !is_sqlite(&url) {
        return;
    }
    let migrate = || {
        clientline(&url)
            .arg("migrate")
            .output()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    assert!(migrate().status.success());
    let key_file = format!("{url}.key");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644))
        .unwrap_or_else(|e| panic!("{e}"));
    let refused = migrate();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("chmod 600"), "{stderr}");
    std::fs::write(&key_file, "not a key").unwrap_or_else(|e| panic!("{e}"));
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600))
        .unwrap_or_else(|e| panic!("{e}"));
    let malformed = migrate();
    assert!(!malformed.status.success());
    let stderr = String::from_utf8_lossy(&malformed.stderr);
    assert!(stderr.contains("32 bytes"), "{stderr}");
}

#[test]
fn postgres_without_an_operator_key_refuses_to_start() {
    let (url, _guard) = fresh_database();
    if is_sqlite(&url) {
        return;
    }
    let output = clientline(&url)
        .env_remove("CLIENTLINE_SECRET_KEY")
        .arg("migrate")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("CLIENTLINE_SECRET_KEY"), "{stderr}");
}

/// Secrets of each kind, written as the service writes them: (webhook id, its secret, the
/// admin's id, the TOTP secret, the signing keys' private documents).
struct Stored {
    webhook: (i64, String),
    totp: (i64, Vec<u8>),
    keys: Vec<Vec<u8>>,
}

fn store_secrets(url: &str, env: &[(&str, &str)], vault: &persistence::vault::Vault) -> Stored {
    let output = clientline(url)
        .envs(env.iter().copied())
        .args([
            "account",
            "create",
            "--name",
            "Acme",
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
    let (account, user) = (
        created["account_id"].as_i64().unwrap_or_default(),
        created["user_id"].as_i64().unwrap_or_default(),
    );
    let db = persistence::Db::connect(url, 1, vault.clone()).unwrap_or_else(|e| panic!("{e:?}"));
    let mut conn = db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    let new = persistence::webhooks::NewWebhook {
        target_url: domain::webhook::TargetUrl::parse("https://hooks.example.com/in", false)
            .unwrap_or_else(|e| panic!("{e:?}")),
        events: vec![
            domain::event::EventType::parse("company.created").unwrap_or_else(|e| panic!("{e:?}")),
        ],
        description: None,
        created_by: None,
    };
    let (webhook, secret) = persistence::webhooks::create(&mut conn, vault, account, &new)
        .unwrap_or_else(|e| panic!("{e:?}"));
    let totp = persistence::totp::enrol(&mut conn, vault, user).unwrap_or_else(|e| panic!("{e:?}"));
    persistence::signing_keys::ensure(&mut conn, vault).unwrap_or_else(|e| panic!("{e:?}"));
    persistence::signing_keys::rotate(&mut conn, vault).unwrap_or_else(|e| panic!("{e:?}"));
    let keys = persistence::signing_keys::all(&mut conn, vault)
        .unwrap_or_else(|e| panic!("{e:?}"))
        .into_iter()
        .map(|k| k.private_der)
        .collect();
    Stored {
        webhook: (webhook.id, secret),
        totp: (user, totp),
        keys,
    }
}

/// Asserts that every secret of `stored` opens with `vault` to what it was, and that none
/// opens with `stale`.
fn assert_opens(
    url: &str,
    stored: &Stored,
    vault: &persistence::vault::Vault,
    stale: &persistence::vault::Vault,
) {
    use diesel::prelude::*;
    use persistence::schema::{users, webhooks};
    use persistence::vault::Place;
    let db = persistence::Db::connect(url, 1, vault.clone()).unwrap_or_else(|e| panic!("{e:?}"));
    let mut conn = db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    let sealed: String = webhooks::table
        .filter(webhooks::id.eq(stored.webhook.0))
        .select(webhooks::secret)
        .first(&mut conn)
        .unwrap_or_else(|e| panic!("{e}"));
    let place = Place::webhook_secret(stored.webhook.0);
    assert_eq!(
        vault.open(&place, &sealed).ok(),
        Some(stored.webhook.1.clone().into_bytes())
    );
    assert!(stale.open(&place, &sealed).is_err());
    let totp: Option<String> = users::table
        .filter(users::id.eq(stored.totp.0))
        .select(users::totp_secret)
        .first(&mut conn)
        .unwrap_or_else(|e| panic!("{e}"));
    let place = Place::totp_secret(stored.totp.0);
    assert_eq!(
        vault.open(&place, &totp.unwrap_or_default()).ok(),
        Some(stored.totp.1.clone())
    );
    let keys: Vec<Vec<u8>> = persistence::signing_keys::all(&mut conn, vault)
        .unwrap_or_else(|e| panic!("{e:?}"))
        .into_iter()
        .map(|k| k.private_der)
        .collect();
    assert_eq!(keys, stored.keys);
    assert!(persistence::signing_keys::all(&mut conn, stale).is_err());
}

fn key_file_vault(path: &str) -> persistence::vault::Vault {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    persistence::vault::Vault::new(
        persistence::vault::OperatorKey::parse(&text).unwrap_or_else(|e| panic!("{e}")),
    )
}

#[cfg(unix)]
#[test]
fn secret_key_rotate_reseals_every_secret_and_replaces_the_key_file() {
    let (url, _guard) = fresh_database();
    if !is_sqlite(&url) {
        return;
    }
    let key_file = format!("{url}.key");
    assert!(
        clientline(&url)
            .arg("migrate")
            .status()
            .is_ok_and(|s| s.success())
    );
    let old = key_file_vault(&key_file);
    let stored = store_secrets(&url, &[], &old);

    let output = clientline(&url)
        .args(["secret-key", "rotate"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("Re-sealed 4 secrets"), "{stdout}");
    let new = key_file_vault(&key_file);
    assert_ne!(new.key_id(), old.key_id());
    assert!(stdout.contains(new.key_id()), "{stdout}");
    assert_eq!(mode_of(&key_file), 0o600);
    assert!(!std::path::Path::new(&format!("{key_file}.new")).exists());
    assert_opens(&url, &stored, &new, &old);
    // The service starts with the new key.
    assert!(
        clientline(&url)
            .arg("migrate")
            .status()
            .is_ok_and(|s| s.success())
    );
}

#[cfg(unix)]
#[test]
fn an_interrupted_rotation_still_starts_and_the_next_rotate_finishes_it() {
    let (url, _guard) = fresh_database();
    if !is_sqlite(&url) {
        return;
    }
    let key_file = format!("{url}.key");
    assert!(
        clientline(&url)
            .arg("migrate")
            .status()
            .is_ok_and(|s| s.success())
    );
    let old = key_file_vault(&key_file);
    let stored = store_secrets(&url, &[], &old);
    // A rotation that wrote its new key and re-sealed, then died before replacing the file.
    let next = persistence::vault::OperatorKey::generate();
    let pending = format!("{key_file}.new");
    persistence::vault::source::write_key_file(std::path::Path::new(&pending), &next)
        .unwrap_or_else(|e| panic!("{e}"));
    {
        let db = persistence::Db::connect(&url, 1, old.clone()).unwrap_or_else(|e| panic!("{e:?}"));
        let mut conn = db.conn().unwrap_or_else(|e| panic!("{e:?}"));
        persistence::vault::stored::reseal(
            &mut conn,
            &old,
            &persistence::vault::Vault::new(next.clone()),
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
    }
    let started = clientline(&url)
        .arg("migrate")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        started.status.success(),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    assert!(
        String::from_utf8_lossy(&started.stderr).contains("rotation did not finish"),
        "{}",
        String::from_utf8_lossy(&started.stderr)
    );
    let finished = clientline(&url)
        .args(["secret-key", "rotate"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        finished.status.success(),
        "{}",
        String::from_utf8_lossy(&finished.stderr)
    );
    let new = key_file_vault(&key_file);
    assert_eq!(new.key_id(), next.id(), "the pending key is the one kept");
    assert!(!std::path::Path::new(&pending).exists());
    assert_opens(&url, &stored, &new, &old);
}

#[test]
fn secret_key_rotate_with_keys_from_the_environment() {
    let (url, _guard) = fresh_database();
    let old_key = persistence::vault::OperatorKey::generate();
    let new_key = persistence::vault::OperatorKey::generate();
    let old_text = old_key.to_base64();
    let new_hex = {
        // Hex is accepted as well as base64.
        let b64 = new_key.to_base64();
        let bytes = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, b64)
            .unwrap_or_default();
        hex::encode(bytes)
    };
    let env = [("CLIENTLINE_SECRET_KEY", old_text.as_str())];
    let old = persistence::vault::Vault::new(old_key);
    let stored = store_secrets(&url, &env, &old);
    assert!(
        !std::path::Path::new(&format!("{url}.key")).exists(),
        "with a key configured, no key file is made"
    );
    let output = clientline(&url)
        .envs(env)
        .env("CLIENTLINE_NEW_SECRET_KEY", &new_hex)
        .args(["secret-key", "rotate"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let new = persistence::vault::Vault::new(new_key);
    assert_opens(&url, &stored, &new, &old);
    // The old key no longer starts the service; the new one does.
    let stale = clientline(&url)
        .envs(env)
        .arg("migrate")
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(!stale.status.success());
    assert!(
        String::from_utf8_lossy(&stale.stderr).contains("not configured"),
        "{}",
        String::from_utf8_lossy(&stale.stderr)
    );
    let fresh = clientline(&url)
        .env("CLIENTLINE_SECRET_KEY", &new_hex)
        .arg("migrate")
        .status();
    assert!(fresh.is_ok_and(|s| s.success()));

    // Without a new key given, one is generated and printed before anything changes.
    let output = clientline(&url)
        .env("CLIENTLINE_SECRET_KEY", &new_hex)
        .args(["secret-key", "rotate"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    let printed = stdout
        .lines()
        .map(str::trim)
        .find(|l| persistence::vault::OperatorKey::parse(l).is_ok())
        .unwrap_or_else(|| panic!("no new key printed: {stdout}"));
    let third = persistence::vault::Vault::new(
        persistence::vault::OperatorKey::parse(printed).unwrap_or_else(|e| panic!("{e}")),
    );
    assert_opens(&url, &stored, &third, &new);
}

/// Bytes actix's parser refuses are the client's error: answered 400 and logged at INFO,
/// never at ERROR.
#[tokio::test]
async fn a_request_the_parser_refuses_is_not_logged_as_an_error() {
    use std::io::{Read, Write};
    let (url, _guard) = fresh_database();
    let log = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
    let port = free_port();
    let stderr = log.reopen().unwrap_or_else(|e| panic!("{e}"));
    let (child, _) = serve_logging_to(&url, port, &[("RUST_LOG", "info")], Stdio::from(stderr));
    for bad in [
        &b"NOT A REQUEST LINE\r\n\r\n"[..],
        b"GET /v1/me HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n",
        b"POST /v1/companies HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    ] {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("{e}"));
        stream.write_all(bad).unwrap_or_else(|e| panic!("{e}"));
        let mut answer = Vec::new();
        let _ = stream.read_to_end(&mut answer);
        assert!(
            answer.starts_with(b"HTTP/1.1 400"),
            "{}",
            String::from_utf8_lossy(&answer)
        );
    }
    terminate(child);
    let logged = std::fs::read_to_string(log.path()).unwrap_or_default();
    assert!(!logged.contains("ERROR"), "{logged}");
    assert!(
        logged.contains("INFO clientline::http: a connection ended on the client's error"),
        "{logged}"
    );
}
