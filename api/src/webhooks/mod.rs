//! The webhook delivery worker. It runs beside the HTTP server in every replica: it claims
//! due deliveries from the queue (`persistence::webhooks`), POSTs each event, signed, to its
//! subscription, and reports every attempt back; retries and giving up follow the settings'
//! [`RetryPolicy`](domain::webhook::RetryPolicy). About hourly it also purges events past
//! their retention. The queue's rules (order, leases) live in persistence; this is the I/O.
//!
//! The body is the event exactly as `GET /v1/events` lists it:
//! `{"id", "type", "occurred_at", "actor": {...}, "record": {...}, "data": {"object": {...},
//! "previous": {...}}}` (`previous` only for updates and moves). Headers: `Content-Type:
//! application/json`, `Clientline-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
//! "{t}.{body}">`, `Clientline-Event-Id`, `Clientline-Event-Type`, `Clientline-Delivery-Id`.

mod client;

use std::time::{Duration, Instant};

use chrono::{TimeDelta, Utc};
use domain::webhook::{SIGNATURE_HEADER, TargetUrl, signature_header};
use persistence::webhooks::{self, Attempt, Claimed, NextStep};

use crate::state::{AppState, WebhookSettings};
use crate::wire::events::EventOut;

/// The longest error text kept in the delivery log.
const MAX_ERROR_CHARS: usize = 500;

/// Starts the worker on the current tokio runtime (the one `api::serve` is called on). It
/// runs until the runtime shuts down.
pub fn start(state: AppState) {
    tokio::spawn(run(state));
}

async fn run(state: AppState) {
    let settings = state.settings.webhooks.clone();
    // Built at the first delivery: the TLS setup (the system's root certificates) costs a few
    // MiB that a service without webhooks never needs.
    let mut client: Option<reqwest::Client> = None;
    // A claim lasts twice the request's timeout and a second, room enough for the database
    // work around the request; a claim that lapses (its worker died) makes the delivery
    // claimable again, so a crash delays a delivery by about that much.
    let lease = TimeDelta::from_std(settings.request_timeout * 2 + Duration::from_secs(1))
        .unwrap_or(TimeDelta::minutes(5));
    let mut next_purge = Instant::now();
    loop {
        if Instant::now() >= next_purge {
            purge(&state, settings.event_retention).await;
            next_purge = Instant::now() + settings.purge_interval;
        }
        let batch = settings.batch_size;
        let vault = state.vault();
        match state
            .run(move |conn| webhooks::claim_due(conn, &vault, batch, lease))
            .await
        {
            Ok(claimed) if !claimed.is_empty() => {
                let client = match &client {
                    Some(client) => client.clone(),
                    None => match client::build(
                        settings.request_timeout,
                        settings.allow_private_targets,
                    ) {
                        Ok(built) => client.insert(built).clone(),
                        Err(e) => {
                            tracing::error!(error = %e, "cannot build the webhook HTTP client; webhooks are not delivered");
                            return;
                        }
                    },
                };
                // One per subscription at most (the queue sees to it), so they may go at once.
                let mut sending = tokio::task::JoinSet::new();
                for delivery in claimed {
                    sending.spawn(deliver(
                        state.clone(),
                        client.clone(),
                        settings.clone(),
                        delivery,
                    ));
                }
                while sending.join_next().await.is_some() {}
                // More may be due already: the next of each subscription's line.
                continue;
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot claim webhook deliveries"),
        }
        tokio::time::sleep(settings.poll_interval).await;
    }
}

async fn purge(state: &AppState, retention: Duration) {
    let Ok(retention) = TimeDelta::from_std(retention) else {
        return;
    };
    let cutoff = Utc::now() - retention;
    match state
        .run(move |conn| persistence::events::purge_before(conn, cutoff))
        .await
    {
        Ok(0) => {}
        Ok(purged) => tracing::info!(purged, %cutoff, "purged old events"),
        Err(e) => tracing::warn!(error = %e, "cannot purge old events"),
    }
}

/// Sends one claimed delivery and records the attempt.
async fn deliver(
    state: AppState,
    client: reqwest::Client,
    settings: WebhookSettings,
    claimed: Claimed,
) {
    let started_at = Utc::now();
    let started = Instant::now();
    let outcome = match TargetUrl::parse(&claimed.target_url, settings.allow_private_targets) {
        Ok(url) => send(&client, &claimed, url.as_str(), started_at.timestamp()).await,
        Err(e) => Err((None, format!("the target URL is refused: {}", e.message))),
    };
    let latency_ms = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    let (response_status, error) = match outcome {
        Ok(status) => (Some(status), None),
        Err((status, error)) => (status, Some(truncate(&error))),
    };
    let next = match &error {
        None => NextStep::Done,
        Some(error) => {
            let failed = u32::try_from(claimed.attempts + 1).unwrap_or(u32::MAX);
            let first = claimed.first_attempt_at.unwrap_or(started_at);
            match settings
                .retry
                .next_attempt(first, Utc::now(), failed, rand::random::<f64>())
            {
                Some(at) => NextStep::RetryAt(at),
                None => NextStep::GiveUp {
                    reason: truncate(&format!(
                        "deliveries kept failing for {} (since {}); the last attempt: {error}",
                        human(settings.retry.window),
                        first.format("%Y-%m-%d %H:%M:%S UTC"),
                    )),
                },
            }
        }
    };
    if let NextStep::GiveUp { reason } = &next {
        tracing::warn!(webhook_id = claimed.webhook_id, delivery_id = claimed.delivery_id, %reason, "disabling a webhook");
    }
    let attempt = Attempt {
        started_at,
        response_status,
        latency_ms,
        error,
    };
    let delivery_id = claimed.delivery_id;
    match state
        .run(move |conn| webhooks::record_attempt(conn, &claimed, &attempt, &next))
        .await
    {
        Ok(true) => {}
        Ok(false) => tracing::warn!(
            delivery_id,
            "a webhook delivery's claim lapsed before its attempt was recorded"
        ),
        Err(e) => tracing::warn!(delivery_id, error = %e, "cannot record a webhook attempt"),
    }
}

/// POSTs the event; `Ok` with a 2xx status, else the status (if any) and why it failed.
async fn send(
    client: &reqwest::Client,
    claimed: &Claimed,
    url: &str,
    timestamp: i64,
) -> Result<i32, (Option<i32>, String)> {
    let event = &claimed.event;
    let mut rendered = serde_json::to_value(EventOut::from(event.clone()))
        .map_err(|e| (None, format!("cannot render the event: {e}")))?;
    // What the webhook's creator may see, by their role as it is now.
    if let Some(mask) = &claimed.mask {
        crate::field_security::mask_event(mask, &mut rendered);
    }
    let body = serde_json::to_vec(&rendered)
        .map_err(|e| (None, format!("cannot render the event: {e}")))?;
    let signature = signature_header(&claimed.secret, timestamp, &body);
    let response = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .header(SIGNATURE_HEADER, signature)
        .header("Clientline-Event-Id", event.id.to_string())
        .header("Clientline-Event-Type", event.event_type.as_str())
        .header("Clientline-Delivery-Id", claimed.delivery_id.to_string())
        .body(body)
        .send()
        .await
        .map_err(|e| (None, describe(&e)))?;
    let status = i32::from(response.status().as_u16());
    if response.status().is_success() {
        Ok(status)
    } else if response.status().is_redirection() {
        Err((
            Some(status),
            format!("the receiver answered {status} (redirects are not followed)"),
        ))
    } else {
        Err((Some(status), format!("the receiver answered {status}")))
    }
}

/// A request error with its causes, which say what actually went wrong.
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "the request timed out".to_owned();
    }
    let mut text = if error.is_connect() {
        "cannot connect".to_owned()
    } else {
        "the request failed".to_owned()
    };
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn truncate(text: &str) -> String {
    text.chars().take(MAX_ERROR_CHARS).collect()
}

/// `24h`, `90m`, `300ms`: a retry window as people say it.
fn human(span: TimeDelta) -> String {
    let ms = span.num_milliseconds();
    match ms {
        _ if ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        _ if ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        _ if ms % 1_000 == 0 => format!("{}s", ms / 1_000),
        _ => format!("{ms}ms"),
    }
}
