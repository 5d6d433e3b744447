//! The test harness: every test gets the real actix app on a free port, over real HTTP, on a
//! database of its own: a fresh SQLite file, or a fresh PostgreSQL database when
//! `CLIENTLINE_TEST_DATABASE_URL` names a server (any database on it; tests create their own
//! beside it and drop it afterwards). Set `TEST_LOG=1` to see the service's logs.

#![allow(dead_code)]

pub mod oauth;
pub mod pipelines;
pub mod receiver;
pub mod roles;
pub mod statements;

use std::net::TcpListener;
use std::sync::Once;
use std::sync::atomic::{AtomicU32, Ordering};

use diesel::{Connection, PgConnection, RunQueryDsl};
use domain::access::ScopeSet;
use domain::values::{Email, Label, Name};
use persistence::Db;
use persistence::vault::{OperatorKey, Vault};
use reqwest::{Method, StatusCode};
use serde_json::Value;

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// The first account's admin token.
    pub token: String,
    pub account_id: i64,
    pub admin_id: i64,
    pub db: Db,
    pub database_url: String,
    _database: TestDatabase,
}

/// An HTTP answer, read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts an RFC 9457 problem with this status and code.
    pub fn assert_problem(&self, status: u16, code: &str) {
        assert_eq!(
            self.status.as_u16(),
            status,
            "unexpected status; body: {}",
            self.body
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json"),
            "errors are problem+json"
        );
        assert_eq!(self.body["status"], status, "body: {}", self.body);
        assert_eq!(self.body["code"], code, "body: {}", self.body);
        assert!(
            self.body["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "a problem says what to fix"
        );
    }

    /// The `field` of every entry in a validation problem's `errors`.
    pub fn error_fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|list| {
                list.iter()
                    .filter_map(|e| e["field"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn id(&self) -> i64 {
        self.body["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no id in {}", self.body))
    }
}

pub enum TestDatabase {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { server: String, name: String },
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { server, name } = self
            && let Ok(mut conn) = PgConnection::establish(server)
        {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .execute(&mut conn);
        }
    }
}

static LOGGING: Once = Once::new();
static DATABASES: AtomicU32 = AtomicU32::new(0);

fn init_logging() {
    LOGGING.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter("info")
                .with_test_writer()
                .try_init();
        }
    });
}

/// A fresh, empty database: its URL, and a guard that drops it.
pub fn fresh_database() -> (String, TestDatabase) {
    match std::env::var("CLIENTLINE_TEST_DATABASE_URL") {
        Ok(server) if !server.is_empty() => {
            let n = DATABASES.fetch_add(1, Ordering::SeqCst);
            let name = format!(
                "clientline_test_{}_{}_{n}",
                std::process::id(),
                rand_suffix()
            );
            let mut conn = PgConnection::establish(&server)
                .unwrap_or_else(|e| panic!("cannot reach CLIENTLINE_TEST_DATABASE_URL: {e}"));
            diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                .execute(&mut conn)
                .unwrap_or_else(|e| panic!("cannot create the test database: {e}"));
            // A test's database is thrown away: its commits need not wait for the disk
            // (durability is PostgreSQL's, not what a test checks), which keeps the suite's
            // time the service's, not fsync's.
            diesel::sql_query(format!(
                "ALTER DATABASE \"{name}\" SET synchronous_commit = off"
            ))
            .execute(&mut conn)
            .unwrap_or_else(|e| panic!("cannot set up the test database: {e}"));
            let url = match server.rfind('/') {
                Some(slash) if slash > "postgres://".len() => {
                    let query = server[slash..]
                        .find('?')
                        .map(|q| &server[slash + q..])
                        .unwrap_or("");
                    format!("{}/{name}{query}", &server[..slash])
                }
                _ => format!("{server}/{name}"),
            };
            (url, TestDatabase::Postgres { server, name })
        }
        _ => {
            let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("no temp dir: {e}"));
            let url = dir.path().join("clientline.db").display().to_string();
            (url, TestDatabase::Sqlite(dir))
        }
    }
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64)
        .unwrap_or(0)
}

/// The operator key the binary gets in tests on PostgreSQL, which has no key file.
pub const TEST_SECRET_KEY: &str =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

/// What the binary needs in its environment to open `database_url` in tests: on PostgreSQL
/// the test key; SQLite keeps a key file beside the database.
pub fn binary_env(database_url: &str) -> Vec<(&'static str, &'static str)> {
    match persistence::Backend::of(database_url) {
        persistence::Backend::Postgres => vec![("CLIENTLINE_SECRET_KEY", TEST_SECRET_KEY)],
        persistence::Backend::Sqlite => Vec::new(),
    }
}

/// The vault the binary uses for `database_url` (see [`binary_env`]).
pub fn binary_vault(database_url: &str) -> Vault {
    match persistence::Backend::of(database_url) {
        persistence::Backend::Postgres => {
            Vault::new(OperatorKey::parse(TEST_SECRET_KEY).unwrap_or_else(|e| panic!("{e}")))
        }
        persistence::Backend::Sqlite => {
            persistence::vault::source::KeySource::choose(None, None, database_url)
                .and_then(|source| source.load())
                .unwrap_or_else(|e| panic!("{e}"))
                .vault
        }
    }
}

/// Starts the app on its own database with one account whose admin token is `app.token`.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(api::Settings::default()).await
}

pub async fn spawn_app_with(settings: api::Settings) -> TestApp {
    init_logging();
    let (url, database) = fresh_database();
    let vault = Vault::new(OperatorKey::generate());
    let db = Db::connect(&url, 4, vault).unwrap_or_else(|e| panic!("cannot open {url}: {e:?}"));
    db.migrate()
        .unwrap_or_else(|e| panic!("migrations failed: {e:?}"));
    let created = {
        let mut conn = db.conn().unwrap_or_else(|e| panic!("{e:?}"));
        persistence::accounts::create(
            &mut conn,
            &label("Acme Consulting"),
            &email("admin@acme.test"),
            &name("Ada Admin"),
            None,
        )
        .unwrap_or_else(|e| panic!("cannot create the account: {e:?}"))
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("cannot bind: {e}"));
    let port = listener
        .local_addr()
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut settings = settings;
    settings.public_url = Some(format!("http://127.0.0.1:{port}"));
    let server = api::serve(listener, api::AppState::new(db.clone(), settings), Some(1))
        .unwrap_or_else(|e| panic!("cannot start the server: {e}"));
    tokio::spawn(server);
    TestApp {
        base: format!("http://127.0.0.1:{port}"),
        client: reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_else(|e| panic!("{e}")),
        token: created.secret,
        account_id: created.account.id,
        admin_id: created.admin.id,
        db,
        database_url: url,
        _database: database,
    }
}

pub fn label(s: &str) -> Label {
    Label::parse(s).unwrap_or_else(|e| panic!("{e:?}"))
}

pub fn email(s: &str) -> Email {
    Email::parse(s).unwrap_or_else(|e| panic!("{e:?}"))
}

pub fn name(s: &str) -> Name {
    Name::parse(s).unwrap_or_else(|e| panic!("{e:?}"))
}

/// A caller: a token and the app it talks to.
impl TestApp {
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("request to {path} failed: {e}"));
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap_or_default();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> Answer {
        self.request(Method::GET, path, Some(&self.token), None, &[])
            .await
    }

    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.request(Method::POST, path, Some(&self.token), Some(&body), &[])
            .await
    }

    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.request(Method::PATCH, path, Some(&self.token), Some(&body), &[])
            .await
    }

    pub async fn delete(&self, path: &str) -> Answer {
        self.request(Method::DELETE, path, Some(&self.token), None, &[])
            .await
    }

    pub async fn get_as(&self, token: &str, path: &str) -> Answer {
        self.request(Method::GET, path, Some(token), None, &[])
            .await
    }

    pub async fn post_as(&self, token: &str, path: &str, body: Value) -> Answer {
        self.request(Method::POST, path, Some(token), Some(&body), &[])
            .await
    }

    pub async fn patch_as(&self, token: &str, path: &str, body: Value) -> Answer {
        self.request(Method::PATCH, path, Some(token), Some(&body), &[])
            .await
    }

    pub async fn delete_as(&self, token: &str, path: &str) -> Answer {
        self.request(Method::DELETE, path, Some(token), None, &[])
            .await
    }

    /// Creates a company named `name` and returns its id.
    pub async fn company(&self, name: &str) -> i64 {
        let answer = self
            .post("/v1/companies", serde_json::json!({ "name": name }))
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        answer.id()
    }

    /// Creates another account and returns its admin token.
    pub fn other_account(&self, account_name: &str) -> String {
        let mut conn = self.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
        persistence::accounts::create(
            &mut conn,
            &label(account_name),
            &email(&format!(
                "admin@{}.test",
                account_name.to_lowercase().replace(' ', "-")
            )),
            &name("Other Admin"),
            None,
        )
        .unwrap_or_else(|e| panic!("{e:?}"))
        .secret
    }

    /// Adds a team member with `role` through the API and returns (user id, a token of theirs
    /// with `scopes`). The token is issued by the repository, as the user would issue it.
    pub async fn member(&self, email: &str, role: &str, scopes: &[&str]) -> (i64, String) {
        let answer = self
            .post(
                "/v1/users",
                serde_json::json!({ "email": email, "name": "Team Member", "role": role }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.body);
        let user_id = answer.id();
        (user_id, self.token_for(user_id, scopes, None))
    }

    /// Issues a token for a user of the first account, as POST /v1/tokens would.
    pub fn token_for(
        &self,
        user_id: i64,
        scopes: &[&str],
        expires_at: Option<chrono::DateTime<chrono::Utc>>,
    ) -> String {
        let owned: Vec<String> = scopes.iter().map(|s| (*s).to_owned()).collect();
        let scopes = ScopeSet::parse_list(&owned).unwrap_or_else(|e| panic!("{e:?}"));
        let mut conn = self.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
        persistence::tokens::create(
            &mut conn,
            self.account_id,
            &persistence::tokens::NewToken {
                kind: domain::token::TokenKind::Personal,
                origins: &[],
                user_id,
                name: "test token",
                scopes: &scopes,
                expires_at,
            },
        )
        .unwrap_or_else(|e| panic!("{e:?}"))
        .1
    }
}
