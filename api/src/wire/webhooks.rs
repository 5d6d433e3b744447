//! Webhook subscription bodies and the delivery log.

use chrono::{DateTime, Utc};
use domain::Invalid;
use domain::event::EventType;
use domain::values::Description;
use domain::webhook::{Delivery, TargetUrl, Webhook, parse_event_types};
use persistence::webhooks::{NewWebhook, WebhookPatch};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::input::Parser;
use super::{double_option, list_of};

/// A webhook subscription. Its signing secret is shown only when created or rotated.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookOut {
    #[schema(example = 7)]
    pub id: i64,
    #[schema(example = "https://hooks.example.com/clientline")]
    pub target_url: String,
    /// The event types delivered.
    #[schema(example = json!(["company.created", "company.won"]))]
    #[schema(schema_with = super::schema::event_types)]
    pub events: Vec<String>,
    #[schema(required = true)]
    pub description: Option<String>,
    /// Whether events are delivered. A subscription whose deliveries keep failing for the
    /// retry window is disabled; PATCH `{"active": true}` re-enables it.
    pub active: bool,
    /// Why the subscription was disabled; `null` while active.
    #[schema(required = true)]
    pub disabled_reason: Option<String>,
    #[schema(required = true)]
    pub disabled_at: Option<DateTime<Utc>>,
    /// The first characters of the signing secret, to tell secrets apart.
    #[schema(example = "whsec_5f1c")]
    pub secret_prefix: String,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Webhook> for WebhookOut {
    fn from(w: Webhook) -> Self {
        WebhookOut {
            id: w.id,
            target_url: w.target_url,
            events: w.events.iter().map(|t| t.as_str().to_owned()).collect(),
            description: w.description,
            active: w.active,
            disabled_reason: w.disabled_reason,
            disabled_at: w.disabled_at,
            secret_prefix: w.secret_prefix,
            version: w.version,
            created_at: w.created_at,
            updated_at: w.updated_at,
        }
    }
}

/// A subscription with its signing secret: store it now, it is never shown again.
#[derive(Debug, Serialize, ToSchema)]
pub struct WebhookWithSecretOut {
    #[serde(flatten)]
    pub webhook: WebhookOut,
    /// The HMAC-SHA256 key that signs every delivery (`Clientline-Signature`).
    #[schema(example = "whsec_5f1c0ffee5f1c0ffee5f1c0ffee5f1c0ffee5f1c0ffee5f1c0ffee5f1c0ff")]
    pub secret: String,
}

list_of!(
    WebhookList,
    WebhookOut,
    "webhook subscriptions, oldest first"
);

/// A subscription to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "target_url": "https://hooks.example.com/clientline",
    "events": ["company.created", "company.phase_changed", "company.won"],
    "description": "Zap: new clients to the onboarding board"
}))]
pub struct WebhookCreate {
    /// `https` (or `http`). Hosts on loopback, private or link-local addresses are refused
    /// unless the operator allows private targets.
    #[schema(max_length = 2048)]
    pub target_url: String,
    /// The event types to deliver, at least one.
    #[schema(schema_with = super::schema::event_types)]
    pub events: Vec<String>,
    #[schema(max_length = 10000)]
    pub description: Option<String>,
}

fn event_types(p: &mut Parser, raw: &[String]) -> Option<Vec<EventType>> {
    p.check("events", parse_event_types(raw))
}

impl WebhookCreate {
    pub fn into_new(self, allow_private: bool) -> Result<NewWebhook, Invalid> {
        let mut p = Parser::default();
        let target_url = p.required("target_url", &self.target_url, |raw| {
            TargetUrl::parse(raw, allow_private)
        });
        let events = event_types(&mut p, &self.events);
        let description = p.optional(
            "description",
            self.description.as_deref(),
            Description::parse,
        );
        p.build(match (target_url, events) {
            (Some(target_url), Some(events)) => Some(NewWebhook {
                target_url,
                events,
                description,
                // The route names the creator.
                created_by: None,
            }),
            _ => None,
        })
    }
}

/// Changes to a subscription: absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookUpdate {
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    #[schema(max_length = 2048)]
    pub target_url: Option<String>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    #[schema(schema_with = super::schema::event_types)]
    pub events: Option<Vec<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    #[schema(max_length = 10000)]
    pub description: Option<Option<String>>,
    /// `true` re-enables a disabled subscription and clears `disabled_reason`; `false`
    /// pauses it.
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    pub active: Option<bool>,
}

impl WebhookUpdate {
    pub fn into_patch(self, allow_private: bool) -> Result<WebhookPatch, Invalid> {
        let mut p = Parser::default();
        let patch = WebhookPatch {
            target_url: p.patch_required("target_url", self.target_url.as_deref(), |raw| {
                TargetUrl::parse(raw, allow_private)
            }),
            events: self.events.and_then(|raw| event_types(&mut p, &raw)),
            description: p.patch(
                "description",
                self.description.as_ref().map(Option::as_deref),
                Description::parse,
            ),
            active: self.active,
        };
        p.finish()?;
        Ok(patch)
    }
}

/// One delivery of one event to the subscription.
#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryOut {
    #[schema(example = 311)]
    pub id: i64,
    pub webhook_id: i64,
    /// The event delivered (`Clientline-Event-Id`).
    #[schema(example = 1017)]
    pub event_id: i64,
    #[schema(example = "company.won")]
    #[schema(schema_with = super::schema::delivery_event_type)]
    pub event_type: String,
    /// `pending` (waiting for its first attempt, its turn or a retry), `succeeded` or
    /// `failed` (given up after the retry window).
    #[schema(example = "succeeded")]
    #[schema(schema_with = super::schema::delivery_status)]
    pub status: String,
    /// Attempts made so far.
    pub attempts: i32,
    /// For pending deliveries: when the next attempt is due (it may wait longer behind an
    /// older delivery of the same subscription).
    #[schema(required = true)]
    pub next_attempt_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub first_attempt_at: Option<DateTime<Utc>>,
    #[schema(required = true)]
    pub last_attempt_at: Option<DateTime<Utc>>,
    /// The receiver's HTTP status at the last attempt; `null` when it did not answer.
    #[schema(example = 200)]
    #[schema(required = true)]
    pub response_status: Option<i32>,
    /// How long the last attempt took, in milliseconds.
    #[schema(example = 84)]
    #[schema(required = true)]
    pub latency_ms: Option<i64>,
    /// Why the last attempt failed.
    #[schema(required = true)]
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    #[schema(required = true)]
    pub completed_at: Option<DateTime<Utc>>,
}

impl From<Delivery> for DeliveryOut {
    fn from(d: Delivery) -> Self {
        DeliveryOut {
            id: d.id,
            webhook_id: d.webhook_id,
            event_id: d.event_id,
            event_type: d.event_type,
            status: d.status.as_str().to_owned(),
            attempts: d.attempts,
            next_attempt_at: d.next_attempt_at,
            first_attempt_at: d.first_attempt_at,
            last_attempt_at: d.last_attempt_at,
            response_status: d.response_status,
            latency_ms: d.latency_ms,
            error: d.error,
            created_at: d.created_at,
            completed_at: d.completed_at,
        }
    }
}

list_of!(DeliveryList, DeliveryOut, "deliveries, newest first");

/// The delivery log's query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeliveryQuery {
    /// Only deliveries in this status: `pending`, `succeeded` or `failed`.
    #[param(schema_with = super::schema::delivery_status)]
    pub status: Option<String>,
    /// Deliveries per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}
