//! Helpers for the OAuth 2 suites: client apps, a browser that drives the sign-in, TOTP and
//! consent pages (carrying the `clientline_authorize` cookie by hand), the token, revocation
//! and introspection endpoints, JWTs taken apart and forged, TOTP codes, and a scan of every
//! value the database holds.

use std::collections::HashMap;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use diesel::prelude::*;
use persistence::DbConnection;
use persistence::schema::{authorization_codes, users};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{Answer, TestApp};

/// The one redirect URI the test apps register.
pub const REDIRECT: &str = "https://app.acme.test/oauth/callback";
/// The password every signed-in test user has.
pub const PASSWORD: &str = "correct horse battery staple";
/// The first admin's email (spawn_app creates them without a password).
pub const ADMIN_EMAIL: &str = "admin@acme.test";
/// The `state` the test apps send.
pub const STATE: &str = "af0ifjsldkj-state";
/// The scopes a test web app is registered with.
pub const WEB_SCOPES: [&str; 3] = ["companies:read", "companies:write", "contacts:read"];
/// The name of the cookie that ties a sign-in form to its browser.
pub const COOKIE: &str = "clientline_authorize";

/// A registered client app, with its secret when it has one.
#[derive(Debug, Clone)]
pub struct ClientApp {
    pub id: i64,
    pub client_id: String,
    pub secret: Option<String>,
    pub name: String,
}

/// How a request to the token, revocation or introspection endpoint authenticates the client.
#[derive(Debug, Clone, Copy)]
pub enum ClientAuth<'a> {
    /// `Authorization: Basic` (client_secret_basic).
    Basic(&'a str, &'a str),
    /// `client_id` and `client_secret` in the body (client_secret_post).
    Post(&'a str, &'a str),
    /// Both at once, which is refused.
    Both(&'a str, &'a str),
    /// A public client: `client_id` only.
    Public(&'a str),
    /// No client authentication at all.
    Nothing,
}

impl ClientApp {
    /// Basic for a confidential client, `client_id` only for a public one.
    pub fn auth(&self) -> ClientAuth<'_> {
        match &self.secret {
            Some(secret) => ClientAuth::Basic(&self.client_id, secret),
            None => ClientAuth::Public(&self.client_id),
        }
    }

    /// The secret of a confidential client.
    pub fn secret(&self) -> &str {
        self.secret
            .as_deref()
            .unwrap_or_else(|| panic!("{} is a public client", self.client_id))
    }
}

/// Registers a client app through `/v1/oauth-clients` with the admin token.
pub async fn register(app: &TestApp, body: Value) -> ClientApp {
    let created = app.post("/v1/oauth-clients", body).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    ClientApp {
        id: created.id(),
        client_id: created.body["client_id"]
            .as_str()
            .unwrap_or_else(|| panic!("no client_id in {}", created.body))
            .to_owned(),
        secret: created.body["client_secret"].as_str().map(str::to_owned),
        name: created.body["name"].as_str().unwrap_or_default().to_owned(),
    }
}

/// A confidential web app with the code and refresh grants, [`REDIRECT`] and [`WEB_SCOPES`].
pub async fn web_app(app: &TestApp) -> ClientApp {
    web_app_with(
        app,
        "Acme reporting",
        &WEB_SCOPES,
        &["authorization_code", "refresh_token"],
    )
    .await
}

pub async fn web_app_with(
    app: &TestApp,
    name: &str,
    scopes: &[&str],
    grants: &[&str],
) -> ClientApp {
    register(
        app,
        json!({
            "name": name,
            "client_type": "confidential",
            "redirect_uris": [REDIRECT],
            "grant_types": grants,
            "scopes": scopes,
        }),
    )
    .await
}

/// A public (browser or native) app with the code and refresh grants.
pub async fn public_app(app: &TestApp) -> ClientApp {
    register(
        app,
        json!({
            "name": "Acme mobile",
            "client_type": "public",
            "redirect_uris": [REDIRECT],
            "grant_types": ["authorization_code", "refresh_token"],
            "scopes": WEB_SCOPES,
        }),
    )
    .await
}

/// The redirect URI of the API reference page's "Authorize" dialog: Swagger UI's
/// `oauth2-redirect.html` under `/docs/`, at the server's public URL.
pub fn docs_redirect(app: &TestApp) -> String {
    format!("{}/docs/oauth2-redirect.html", app.base)
}

/// The public client the README registers for trying the API from `/docs/`.
pub async fn docs_app(app: &TestApp) -> ClientApp {
    register(
        app,
        json!({
            "name": "API reference (/docs/)",
            "client_type": "public",
            "redirect_uris": [docs_redirect(app)],
            "grant_types": ["authorization_code", "refresh_token"],
            "scopes": WEB_SCOPES,
        }),
    )
    .await
}

/// A confidential app with only the client-credentials grant.
pub async fn machine_app(app: &TestApp, scopes: &[&str]) -> ClientApp {
    register(
        app,
        json!({
            "name": "Acme nightly sync",
            "client_type": "confidential",
            "redirect_uris": [],
            "grant_types": ["client_credentials"],
            "scopes": scopes,
        }),
    )
    .await
}

/// Gives the first admin [`PASSWORD`] and returns their email.
pub async fn admin_with_password(app: &TestApp) -> &'static str {
    let set = app
        .request(
            reqwest::Method::PUT,
            "/v1/me/password",
            Some(&app.token),
            Some(&json!({ "new_password": PASSWORD })),
            &[],
        )
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{}", set.body);
    ADMIN_EMAIL
}

/// Adds a team member with `role` and [`PASSWORD`]; returns their id.
pub async fn user_with_password(app: &TestApp, email: &str, role: &str) -> i64 {
    let created = app
        .post(
            "/v1/users",
            json!({ "email": email, "name": "Pat Person", "role": role, "password": PASSWORD }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    created.id()
}

/// A PKCE verifier and its S256 challenge.
#[derive(Debug, Clone)]
pub struct Pkce {
    pub verifier: String,
    pub challenge: String,
}

pub fn pkce() -> Pkce {
    let (challenge, verifier) = oauth2::PkceCodeChallenge::new_random_sha256();
    Pkce {
        verifier: verifier.secret().clone(),
        challenge: challenge.as_str().to_owned(),
    }
}

/// The S256 challenge of a verifier (RFC 7636 4.2).
pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

/// The query of a `GET /oauth/authorize`, as pairs that tests change one at a time.
#[derive(Debug, Clone)]
pub struct AuthorizeRequest(Vec<(String, String)>);

impl AuthorizeRequest {
    /// A valid code request: response_type=code, the app's client_id, [`REDIRECT`], [`STATE`],
    /// and the S256 challenge of `pkce`. No scope: the app's scopes are the default.
    pub fn new(client: &ClientApp, pkce: &Pkce) -> Self {
        Self(
            [
                ("response_type", "code"),
                ("client_id", client.client_id.as_str()),
                ("redirect_uri", REDIRECT),
                ("state", STATE),
                ("code_challenge", pkce.challenge.as_str()),
                ("code_challenge_method", "S256"),
            ]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
        )
    }

    /// Sets `key` to `value`, replacing what it was.
    pub fn set(mut self, key: &str, value: &str) -> Self {
        self.0.retain(|(k, _)| k != key);
        self.0.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Leaves `key` out.
    pub fn without(mut self, key: &str) -> Self {
        self.0.retain(|(k, _)| k != key);
        self
    }

    /// `/oauth/authorize?...`
    pub fn path(&self) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(self.0.iter())
            .finish();
        format!("/oauth/authorize?{query}")
    }
}

/// An HTML answer of the authorize endpoint, read whole.
#[derive(Debug)]
pub struct Page {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub html: String,
}

/// Where a 303 from the authorize endpoint sends the browser.
#[derive(Debug, Clone)]
pub struct Redirect {
    /// The URI without its query.
    pub target: String,
    pub params: HashMap<String, String>,
    pub location: String,
}

impl Redirect {
    pub fn parse(location: &str) -> Self {
        let url = url::Url::parse(location)
            .unwrap_or_else(|e| panic!("the Location {location} is no URL: {e}"));
        let mut target = url.clone();
        target.set_query(None);
        Redirect {
            target: target.to_string(),
            params: url.query_pairs().into_owned().collect(),
            location: location.to_owned(),
        }
    }

    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// Asserts an RFC 6749 4.1.2.1 error sent to [`REDIRECT`] with [`STATE`] and the issuer.
    pub fn assert_error(&self, app: &TestApp, error: &str) {
        assert_eq!(self.target, REDIRECT, "{}", self.location);
        assert_eq!(self.param("error"), Some(error), "{}", self.location);
        assert!(
            self.param("error_description")
                .is_some_and(|d| !d.is_empty()),
            "an error says why: {}",
            self.location
        );
        assert_eq!(self.param("state"), Some(STATE), "{}", self.location);
        assert_eq!(
            self.param("iss"),
            Some(app.base.as_str()),
            "{}",
            self.location
        );
        assert_eq!(self.param("code"), None, "{}", self.location);
    }
}

/// The attributes of every `<tag ...>` in `html`, names lower-cased, values unescaped.
pub fn tags(html: &str, tag: &str) -> Vec<HashMap<String, String>> {
    let lower = html.to_ascii_lowercase();
    let opening = format!("<{tag}");
    let mut found = Vec::new();
    let mut from = 0;
    while let Some(start) = lower[from..].find(&opening).map(|i| from + i) {
        let after = start + opening.len();
        from = after;
        // `<input` must not match `<inputs`.
        if !lower[after..].starts_with(|c: char| c.is_whitespace() || c == '>' || c == '/') {
            continue;
        }
        let end = lower[after..]
            .find('>')
            .map(|i| after + i)
            .unwrap_or(html.len());
        found.push(attributes(&html[after..end]));
        from = end;
    }
    found
}

fn attributes(raw: &str) -> HashMap<String, String> {
    let mut attrs = HashMap::new();
    let chars: Vec<char> = raw.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        while i < chars.len() && (chars[i].is_whitespace() || chars[i] == '/') {
            i += 1;
        }
        let name_start = i;
        while i < chars.len() && !chars[i].is_whitespace() && chars[i] != '=' && chars[i] != '/' {
            i += 1;
        }
        let name: String = chars[name_start..i].iter().collect::<String>();
        if name.is_empty() {
            i += 1;
            continue;
        }
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        let mut value = String::new();
        if i < chars.len() && chars[i] == '=' {
            i += 1;
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            if i < chars.len() && (chars[i] == '"' || chars[i] == '\'') {
                let quote = chars[i];
                i += 1;
                while i < chars.len() && chars[i] != quote {
                    value.push(chars[i]);
                    i += 1;
                }
                i += 1;
            } else {
                while i < chars.len() && !chars[i].is_whitespace() {
                    value.push(chars[i]);
                    i += 1;
                }
            }
        }
        attrs.insert(name.to_ascii_lowercase(), unescape(&value));
    }
    attrs
}

fn unescape(value: &str) -> String {
    value
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&#x2F;", "/")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl Page {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The value of the form control (`input` or `button`) named `name`.
    pub fn control(&self, name: &str) -> Option<String> {
        tags(&self.html, "input")
            .into_iter()
            .chain(tags(&self.html, "button"))
            .find(|a| a.get("name").is_some_and(|n| n == name))
            .map(|a| a.get("value").cloned().unwrap_or_default())
    }

    pub fn has_control(&self, name: &str) -> bool {
        self.control(name).is_some()
    }

    /// The values of every control named `name` (the consent page's two buttons).
    pub fn control_values(&self, name: &str) -> Vec<String> {
        tags(&self.html, "input")
            .into_iter()
            .chain(tags(&self.html, "button"))
            .filter(|a| a.get("name").is_some_and(|n| n == name))
            .map(|a| a.get("value").cloned().unwrap_or_default())
            .collect()
    }

    pub fn csrf(&self) -> Option<String> {
        self.control("csrf_token")
    }

    /// The `step` of the page's form: sign_in, totp or consent.
    pub fn step(&self) -> Option<String> {
        self.control("step")
    }

    /// Whether the page holds `<form method="post" action="/oauth/authorize">`.
    pub fn has_authorize_form(&self) -> bool {
        tags(&self.html, "form").iter().any(|f| {
            f.get("method")
                .is_some_and(|m| m.eq_ignore_ascii_case("post"))
                && f.get("action").is_some_and(|a| a == "/oauth/authorize")
        })
    }

    /// The `Set-Cookie` header that sets `name`, whole.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.trim_start().starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    /// The 303 this page is, parsed.
    pub fn redirect(&self) -> Redirect {
        assert_eq!(
            self.status,
            StatusCode::SEE_OTHER,
            "expected a 303; got {}: {}",
            self.status,
            self.html
        );
        Redirect::parse(
            self.header("location")
                .unwrap_or_else(|| panic!("a 303 without a Location: {:?}", self.headers)),
        )
    }

    /// The JSON body, for answers given as problem+json.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.html).unwrap_or(Value::Null)
    }
}

/// A browser on the authorize pages: it keeps the `clientline_authorize` cookie the server
/// set and the csrf_token of the last form it was shown.
pub struct Browser<'a> {
    app: &'a TestApp,
    pub cookie: Option<String>,
    pub csrf: Option<String>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            cookie: None,
            csrf: None,
        }
    }

    async fn read(response: reqwest::Response) -> Page {
        let status = response.status();
        let headers = response.headers().clone();
        let html = response.text().await.unwrap_or_default();
        Page {
            status,
            headers,
            html,
        }
    }

    fn remember(&mut self, page: &Page) {
        if let Some(set) = page.set_cookie(COOKIE) {
            self.cookie = set.split(';').next().map(|c| c.trim().to_owned());
        }
        if let Some(csrf) = page.csrf() {
            self.csrf = Some(csrf);
        }
    }

    /// GETs a path (or an absolute URL) with `Accept: text/html`.
    pub async fn get(&mut self, path_or_url: &str) -> Page {
        self.get_accepting(path_or_url, "text/html,application/xhtml+xml")
            .await
    }

    pub async fn get_accepting(&mut self, path_or_url: &str, accept: &str) -> Page {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            format!("{}{path_or_url}", self.app.base)
        };
        let mut request = self.app.client.get(&url).header("accept", accept);
        if let Some(cookie) = &self.cookie {
            request = request.header("cookie", cookie.as_str());
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url} failed: {e}"));
        let page = Self::read(response).await;
        self.remember(&page);
        page
    }

    /// Opens the authorize page for `request`.
    pub async fn open(&mut self, request: &AuthorizeRequest) -> Page {
        self.get(&request.path()).await
    }

    /// Posts the form: `fields`, and the csrf_token of the last form unless `fields` name one.
    pub async fn post(&mut self, fields: &[(&str, &str)]) -> Page {
        let cookie = self.cookie.clone();
        let page = self
            .post_raw(cookie.as_deref(), "text/html", fields, true)
            .await;
        self.remember(&page);
        page
    }

    /// Posts `fields` with exactly this cookie and Accept; `with_csrf` adds the last csrf_token
    /// when `fields` has none.
    pub async fn post_raw(
        &self,
        cookie: Option<&str>,
        accept: &str,
        fields: &[(&str, &str)],
        with_csrf: bool,
    ) -> Page {
        let mut form: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        if with_csrf
            && !fields.iter().any(|(k, _)| *k == "csrf_token")
            && let Some(csrf) = &self.csrf
        {
            form.insert(0, ("csrf_token".to_owned(), csrf.clone()));
        }
        let mut request = self
            .app
            .client
            .post(format!("{}/oauth/authorize", self.app.base))
            .header("accept", accept)
            .form(&form);
        if let Some(cookie) = cookie {
            request = request.header("cookie", cookie);
        }
        let response = request
            .send()
            .await
            .unwrap_or_else(|e| panic!("POST /oauth/authorize failed: {e}"));
        Self::read(response).await
    }

    pub async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        self.post(&[
            ("step", "sign_in"),
            ("email", email),
            ("password", password),
        ])
        .await
    }

    pub async fn enter_code(&mut self, code: &str) -> Page {
        self.post(&[("step", "totp"), ("code", code)]).await
    }

    pub async fn decide(&mut self, decision: &str) -> Page {
        self.post(&[("step", "consent"), ("decision", decision)])
            .await
    }
}

/// A code the user allowed, with the verifier that goes with it.
#[derive(Debug, Clone)]
pub struct Authorized {
    pub code: String,
    pub pkce: Pkce,
    pub redirect: Redirect,
}

/// Runs the browser part of the code flow for `request`: sign in, allow, and the code.
pub async fn authorize_request(
    app: &TestApp,
    request: &AuthorizeRequest,
    email: &str,
    password: &str,
) -> Redirect {
    let mut browser = Browser::new(app);
    let page = browser.open(request).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    let page = browser.sign_in(email, password).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(page.step().as_deref(), Some("consent"), "{}", page.html);
    browser.decide("allow").await.redirect()
}

/// Signs `email` in to `client` with `scope` (the app's scopes when `None`) and allows it.
pub async fn authorize(
    app: &TestApp,
    client: &ClientApp,
    email: &str,
    scope: Option<&str>,
) -> Authorized {
    let pkce = pkce();
    let mut request = AuthorizeRequest::new(client, &pkce);
    if let Some(scope) = scope {
        request = request.set("scope", scope);
    }
    let redirect = authorize_request(app, &request, email, PASSWORD).await;
    let code = redirect
        .param("code")
        .unwrap_or_else(|| panic!("no code in {}", redirect.location))
        .to_owned();
    Authorized {
        code,
        pkce,
        redirect,
    }
}

/// Reads an HTTP answer whole, as the common harness does.
pub async fn read_answer(response: reqwest::Response) -> Answer {
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

fn form_encoded(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// `Basic base64(urlencode(id):urlencode(secret))` (RFC 6749 2.3.1).
pub fn basic(client_id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        STANDARD.encode(format!(
            "{}:{}",
            form_encoded(client_id),
            form_encoded(secret)
        ))
    )
}

/// POSTs a form to an OAuth endpoint (`/oauth/token`, `/oauth/revoke`, `/oauth/introspect`).
pub async fn oauth_post(
    app: &TestApp,
    path: &str,
    auth: ClientAuth<'_>,
    fields: &[(&str, &str)],
) -> Answer {
    let mut form: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut authorization = None;
    match auth {
        ClientAuth::Basic(id, secret) => authorization = Some(basic(id, secret)),
        ClientAuth::Post(id, secret) => {
            form.push(("client_id".to_owned(), id.to_owned()));
            form.push(("client_secret".to_owned(), secret.to_owned()));
        }
        ClientAuth::Both(id, secret) => {
            authorization = Some(basic(id, secret));
            form.push(("client_id".to_owned(), id.to_owned()));
            form.push(("client_secret".to_owned(), secret.to_owned()));
        }
        ClientAuth::Public(id) => form.push(("client_id".to_owned(), id.to_owned())),
        ClientAuth::Nothing => {}
    }
    let mut request = app
        .client
        .post(format!("{}{path}", app.base))
        .header("accept", "application/json")
        .form(&form);
    if let Some(authorization) = authorization {
        request = request.header("authorization", authorization);
    }
    let response = request
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path} failed: {e}"));
    read_answer(response).await
}

pub async fn token(app: &TestApp, client: &ClientApp, fields: &[(&str, &str)]) -> Answer {
    oauth_post(app, "/oauth/token", client.auth(), fields).await
}

/// Exchanges a code at the token endpoint with [`REDIRECT`] and `verifier`.
pub async fn exchange(app: &TestApp, client: &ClientApp, code: &str, verifier: &str) -> Answer {
    token(
        app,
        client,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", verifier),
        ],
    )
    .await
}

pub async fn refresh(app: &TestApp, client: &ClientApp, refresh_token: &str) -> Answer {
    token(
        app,
        client,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

pub async fn client_credentials(app: &TestApp, client: &ClientApp, scope: Option<&str>) -> Answer {
    let mut fields = vec![("grant_type", "client_credentials")];
    if let Some(scope) = scope {
        fields.push(("scope", scope));
    }
    token(app, client, &fields).await
}

pub async fn revoke(app: &TestApp, client: &ClientApp, token: &str, hint: Option<&str>) -> Answer {
    let mut fields = vec![("token", token)];
    if let Some(hint) = hint {
        fields.push(("token_type_hint", hint));
    }
    oauth_post(app, "/oauth/revoke", client.auth(), &fields).await
}

pub async fn introspect(app: &TestApp, client: &ClientApp, token: &str) -> Answer {
    oauth_post(app, "/oauth/introspect", client.auth(), &[("token", token)]).await
}

/// The tokens of a successful token answer.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access: String,
    pub refresh: Option<String>,
    pub body: Value,
}

impl Tokens {
    pub fn from_answer(answer: &Answer) -> Self {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.body);
        Tokens {
            access: answer.body["access_token"]
                .as_str()
                .unwrap_or_else(|| panic!("no access_token in {}", answer.body))
                .to_owned(),
            refresh: answer.body["refresh_token"].as_str().map(str::to_owned),
            body: answer.body.clone(),
        }
    }

    pub fn refresh(&self) -> &str {
        self.refresh
            .as_deref()
            .unwrap_or_else(|| panic!("no refresh_token in {}", self.body))
    }
}

/// The whole code flow for `email` (whose password is [`PASSWORD`]): tokens.
pub async fn code_flow(
    app: &TestApp,
    client: &ClientApp,
    email: &str,
    scope: Option<&str>,
) -> Tokens {
    let authorized = authorize(app, client, email, scope).await;
    Tokens::from_answer(&exchange(app, client, &authorized.code, &authorized.pkce.verifier).await)
}

/// The usual start: the admin gets a password, a web app is registered, and the admin signs
/// in to it and allows it.
pub async fn admin_tokens(app: &TestApp) -> (ClientApp, Tokens) {
    let email = admin_with_password(app).await;
    let client = web_app(app).await;
    let tokens = code_flow(app, &client, email, None).await;
    (client, tokens)
}

pub async fn me(app: &TestApp, token: &str) -> Answer {
    app.get_as(token, "/v1/me").await
}

/// Asserts that `/v1` refuses `token` with 401 `unauthorized`.
pub async fn assert_refused(app: &TestApp, token: &str) {
    me(app, token).await.assert_problem(401, "unauthorized");
}

/// Asserts an error of the token endpoint: RFC 6749 5.2 members, problem members, no-store.
pub fn assert_oauth_error(answer: &Answer, status: u16, error: &str) {
    answer.assert_problem(status, error);
    assert_eq!(answer.body["error"], error, "{}", answer.body);
    assert!(
        answer.body["error_description"]
            .as_str()
            .is_some_and(|d| !d.is_empty()),
        "error_description says why: {}",
        answer.body
    );
    assert!(
        answer.body["type"].is_string() && answer.body["title"].is_string(),
        "problem members: {}",
        answer.body
    );
    assert!(
        answer
            .header("cache-control")
            .is_some_and(|c| c.contains("no-store")),
        "token errors are not cached: {:?}",
        answer.headers
    );
}

/// Scopes as a sorted list, from a space-separated string.
pub fn scope_list(scope: &str) -> Vec<String> {
    let mut list: Vec<String> = scope.split_whitespace().map(str::to_owned).collect();
    list.sort();
    list
}

// --- JWTs ---------------------------------------------------------------------------------

pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn unb64(part: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD
        .decode(part)
        .unwrap_or_else(|e| panic!("{part} is not base64url: {e}"))
}

/// A compact JWS taken apart.
#[derive(Debug, Clone)]
pub struct Jwt {
    pub header: Value,
    pub claims: Value,
    pub header_part: String,
    pub claims_part: String,
    pub signature: Vec<u8>,
}

pub fn jwt(token: &str) -> Jwt {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "a JWS has three parts: {token}");
    let json = |part: &str| -> Value {
        serde_json::from_slice(&unb64(part))
            .unwrap_or_else(|e| panic!("a JWT part is not JSON: {e}"))
    };
    Jwt {
        header: json(parts[0]),
        claims: json(parts[1]),
        header_part: parts[0].to_owned(),
        claims_part: parts[1].to_owned(),
        signature: unb64(parts[2]),
    }
}

/// `header.claims`, base64url, for signing.
pub fn signing_input(header: &Value, claims: &Value) -> String {
    format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    )
}

/// A JWS signed with `key` (Ed25519).
pub fn sign_with(key: &ed25519_dalek::SigningKey, header: &Value, claims: &Value) -> String {
    use ed25519_dalek::Signer;
    let input = signing_input(header, claims);
    let signature = key.sign(input.as_bytes());
    format!("{input}.{}", b64(&signature.to_bytes()))
}

/// The key the server signs with now, and its kid, read from the database.
pub fn server_key(app: &TestApp) -> (String, ed25519_dalek::SigningKey) {
    use ed25519_dalek::pkcs8::DecodePrivateKey;
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    let keys = persistence::signing_keys::live(&mut conn, app.db.vault())
        .unwrap_or_else(|e| panic!("{e:?}"));
    let newest = keys
        .first()
        .unwrap_or_else(|| panic!("no live signing key"));
    let key = ed25519_dalek::SigningKey::from_pkcs8_der(&newest.private_der)
        .unwrap_or_else(|e| panic!("the signing key is not PKCS#8 Ed25519: {e}"));
    (newest.kid.clone(), key)
}

/// An Ed25519 key the server has never seen.
pub fn foreign_key() -> ed25519_dalek::SigningKey {
    let seed: [u8; 32] = Sha256::digest(b"a key that Clientline never issued").into();
    ed25519_dalek::SigningKey::from_bytes(&seed)
}

// --- TOTP ----------------------------------------------------------------------------------

pub fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The RFC 6238 code (SHA-1, 6 digits, 30 s) of a base32 secret at `time`.
pub fn totp_at(secret_base32: &str, time: u64) -> String {
    let secret = totp_rs::Secret::try_from_base32(secret_base32.trim_end_matches('='))
        .unwrap_or_else(|e| panic!("the TOTP secret {secret_base32} is not base32: {e:?}"));
    totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(secret)
        .build()
        .unwrap_or_else(|e| panic!("not an RFC 6238 secret: {e:?}"))
        .generate(time)
        .to_string()
}

pub fn totp_now(secret_base32: &str) -> String {
    totp_at(secret_base32, now_seconds())
}

/// A six-digit code that is none of the codes of the steps around now.
pub fn wrong_totp(secret_base32: &str) -> String {
    let now = now_seconds();
    let near: Vec<String> = (0..=4)
        .map(|i| totp_at(secret_base32, (now + 60).saturating_sub(i * 30)))
        .collect();
    (0..10u32)
        .map(|d| format!("{d}{d}{d}{d}{d}{d}"))
        .find(|c| !near.contains(c))
        .unwrap_or_else(|| panic!("every candidate is a live code"))
}

/// Starts TOTP enrolment for the caller of `token`: its base32 secret.
pub async fn start_totp(app: &TestApp, token: &str) -> String {
    let started = app.post_as(token, "/v1/me/totp", json!({})).await;
    assert_eq!(started.status, StatusCode::CREATED, "{}", started.body);
    started.body["secret"]
        .as_str()
        .unwrap_or_else(|| panic!("no secret in {}", started.body))
        .to_owned()
}

/// Enrols and confirms TOTP for `user_id` (the caller of `token`), then forgets the step the
/// confirmation used, as if it had happened in an earlier 30-second window, so that the
/// current code can be used once more. Returns the secret.
pub async fn enable_totp(app: &TestApp, token: &str, user_id: i64) -> String {
    let secret = start_totp(app, token).await;
    let confirmed = app
        .post_as(
            token,
            "/v1/me/totp/confirm",
            json!({ "code": totp_now(&secret) }),
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    forget_totp_step(app, user_id);
    secret
}

/// Clears the last TOTP step a user used, so that the current code counts as unused.
pub fn forget_totp_step(app: &TestApp, user_id: i64) {
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    diesel::update(users::table.filter(users::id.eq(user_id)))
        .set(users::totp_last_step.eq(None::<i64>))
        .execute(&mut conn)
        .unwrap_or_else(|e| panic!("{e}"));
}

// --- The database --------------------------------------------------------------------------

/// Moves every authorization code's expiry an hour into the past.
pub fn expire_codes(app: &TestApp) {
    let past = (chrono::Utc::now() - chrono::Duration::hours(1)).naive_utc();
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    let changed = diesel::update(authorization_codes::table)
        .set(authorization_codes::expires_at.eq(past))
        .execute(&mut conn)
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(changed > 0, "there was a code to expire");
}

#[derive(QueryableByName)]
struct Named {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

#[derive(QueryableByName)]
struct Cell {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    value: Option<String>,
}

fn names(conn: &mut DbConnection, sql: &str) -> Vec<String> {
    let rows: Vec<Named> = match conn {
        DbConnection::Postgresql(pg) => diesel::sql_query(sql).load(pg),
        DbConnection::Sqlite(lite) => diesel::sql_query(sql).load(lite),
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"));
    rows.into_iter().map(|r| r.name).collect()
}

#[derive(QueryableByName)]
struct BytesCell {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Binary>)]
    value: Option<Vec<u8>>,
}

/// The cells `sql` selects as `value`. SQLite's are read as bytes, decoded lossily: the search
/// indexes' tables (FTS5) hold binary blobs, where a secret in clear would still show.
fn cells(conn: &mut DbConnection, sql: &str) -> Vec<String> {
    match conn {
        DbConnection::Postgresql(pg) => diesel::sql_query(sql)
            .load::<Cell>(pg)
            .map(|rows| rows.into_iter().filter_map(|r| r.value).collect()),
        DbConnection::Sqlite(lite) => diesel::sql_query(sql.replace(" AS TEXT)", " AS BLOB)"))
            .load::<BytesCell>(lite)
            .map(|rows| {
                rows.into_iter()
                    .filter_map(|r| r.value)
                    .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
                    .collect()
            }),
    }
    .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// The database's tables.
pub fn tables(app: &TestApp) -> Vec<String> {
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    let sql = match &*conn {
        DbConnection::Postgresql(_) => {
            "SELECT CAST(table_name AS TEXT) AS name FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        }
        DbConnection::Sqlite(_) => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
        }
    };
    names(&mut conn, sql)
}

/// Every value stored in `table`, each column read as text: (column, value).
pub fn stored_values(app: &TestApp, table: &str) -> Vec<(String, String)> {
    let mut conn = app.db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    let columns_sql = match &*conn {
        DbConnection::Postgresql(_) => format!(
            "SELECT CAST(column_name AS TEXT) AS name FROM information_schema.columns \
             WHERE table_schema = current_schema() AND table_name = '{table}'"
        ),
        DbConnection::Sqlite(_) => format!("SELECT name FROM pragma_table_info('{table}')"),
    };
    let columns = names(&mut conn, &columns_sql);
    assert!(!columns.is_empty(), "{table} has columns");
    let mut values = Vec::new();
    for column in columns {
        let sql = format!("SELECT CAST(\"{column}\" AS TEXT) AS value FROM \"{table}\"");
        for value in cells(&mut conn, &sql) {
            values.push((column.clone(), value));
        }
    }
    values
}
