//! A webhook receiver for tests: a real HTTP server on 127.0.0.1 that records every request
//! and answers with the statuses a test scripts (200 when nothing is scripted). A scripted
//! answer can be held until the test releases it, to keep a delivery in flight.

use std::collections::{HashMap, VecDeque};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::http::StatusCode;
use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::Value;
use tokio::sync::Notify;

/// One request as it arrived, and the status it was answered with.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HashMap<String, String>,
    pub body: Vec<u8>,
    pub answered: u16,
}

impl Received {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map_or("", String::as_str)
    }

    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON: {e}"))
    }

    /// The event id the body carries.
    pub fn event_id(&self) -> i64 {
        self.json()["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("no event id in {}", self.json()))
    }
}

#[derive(Clone, Copy)]
struct Reply {
    status: u16,
    hold: bool,
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    script: Mutex<VecDeque<Reply>>,
    default_status: Mutex<u16>,
    release: Notify,
}

pub struct Receiver {
    /// The URL to subscribe: `http://127.0.0.1:<port>/hooks`.
    pub url: String,
    shared: Arc<Shared>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

async fn receive(req: HttpRequest, body: web::Bytes, shared: web::Data<Shared>) -> HttpResponse {
    let reply = lock(&shared.script).pop_front().unwrap_or(Reply {
        status: *lock(&shared.default_status),
        hold: false,
    });
    let headers = req
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                v.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    lock(&shared.received).push(Received {
        headers,
        body: body.to_vec(),
        answered: reply.status,
    });
    if reply.hold {
        shared.release.notified().await;
    }
    HttpResponse::build(StatusCode::from_u16(reply.status).unwrap_or(StatusCode::OK)).finish()
}

impl Receiver {
    pub async fn start() -> Receiver {
        let shared = Arc::new(Shared {
            default_status: Mutex::new(200),
            ..Shared::default()
        });
        let data = web::Data::from(shared.clone());
        let listener =
            TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("cannot bind: {e}"));
        let port = listener
            .local_addr()
            .map(|a| a.port())
            .unwrap_or_else(|e| panic!("{e}"));
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .default_service(web::to(receive))
        })
        .workers(1)
        .disable_signals()
        .listen(listener)
        .unwrap_or_else(|e| panic!("cannot listen: {e}"))
        .run();
        tokio::spawn(server);
        Receiver {
            url: format!("http://127.0.0.1:{port}/hooks"),
            shared,
        }
    }

    /// Answers the next requests with these statuses, in order.
    pub fn answer_next(&self, statuses: &[u16]) {
        lock(&self.shared.script).extend(statuses.iter().map(|&status| Reply {
            status,
            hold: false,
        }));
    }

    /// Answers the next request with `status`, but only once [`Receiver::release`] is called.
    pub fn hold_next(&self, status: u16) {
        lock(&self.shared.script).push_back(Reply { status, hold: true });
    }

    pub fn release(&self) {
        self.shared.release.notify_one();
    }

    /// Answers every unscripted request with `status` from now on.
    pub fn answer_always(&self, status: u16) {
        *lock(&self.shared.default_status) = status;
    }

    pub fn received(&self) -> Vec<Received> {
        lock(&self.shared.received).clone()
    }

    /// Waits until `n` requests have arrived (failing after a minute) and returns them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Received> {
        let started = Instant::now();
        loop {
            let received = self.received();
            if received.len() >= n {
                return received;
            }
            assert!(
                started.elapsed() < Duration::from_secs(60),
                "expected {n} requests, got {}",
                received.len()
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
