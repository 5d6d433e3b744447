//! The webhook delivery queue's side of the outbox: what `events` needs to fill the queue in
//! the change's transaction ([`enqueue`]) and to empty it of purged events
//! ([`forget_events`]), with the stored forms both it and `webhooks` read. A leaf: it knows
//! the schema and plain types only, so that `events` can use it without depending on
//! `webhooks` (which reads events back for the delivery worker).

use diesel::prelude::*;
use domain::event::EventType;
use serde_json::Value;

use crate::pool::on_backend;
use crate::schema::{webhook_deliveries as deliveries, webhooks};
use crate::{DbConnection, StoreError, now};

/// A delivery's `status` column: waiting for its (next) attempt.
pub(crate) const PENDING: &str = "pending";
/// A delivery's `status` column: delivered.
pub(crate) const SUCCEEDED: &str = "succeeded";
/// A delivery's `status` column: given up on.
pub(crate) const FAILED: &str = "failed";

/// A subscription's `events` column read back: the types it wants (names no longer known are
/// skipped).
pub(crate) fn stored_types(json: &str) -> Vec<EventType> {
    serde_json::from_str::<Vec<String>>(json)
        .unwrap_or_default()
        .iter()
        .filter_map(|name| EventType::parse(name).ok())
        .collect()
}

/// A subscription's `events` column as written: a JSON array of the type names.
pub(crate) fn types_json(types: &[EventType]) -> String {
    Value::from(types.iter().map(|t| t.as_str()).collect::<Vec<_>>()).to_string()
}

/// A recorded event's id and type, for the webhook queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recorded {
    pub id: i64,
    pub event_type: EventType,
}

/// Queues `recorded` (in id order) for every active subscription of the account that wants
/// them. Runs inside the transaction that records the events, so a change and its deliveries
/// commit together or not at all. One query when the account has no active subscription.
pub(crate) fn enqueue(
    conn: &mut DbConnection,
    account_id: i64,
    recorded: &[Recorded],
) -> Result<(), StoreError> {
    if recorded.is_empty() {
        return Ok(());
    }
    let subscriptions: Vec<(i64, String)> = webhooks::table
        .filter(webhooks::account_id.eq(account_id))
        .filter(webhooks::active.eq(true))
        .select((webhooks::id, webhooks::events))
        .load(conn)?;
    if subscriptions.is_empty() {
        return Ok(());
    }
    let subscriptions: Vec<(i64, Vec<EventType>)> = subscriptions
        .into_iter()
        .map(|(id, json)| (id, stored_types(&json)))
        .collect();
    let at = now();
    // Event by event, so that each subscription's deliveries get ids in event order.
    let rows: Vec<_> = recorded
        .iter()
        .flat_map(|event| {
            subscriptions
                .iter()
                .filter(|(_, types)| types.contains(&event.event_type))
                .map(move |(webhook_id, _)| {
                    (
                        deliveries::account_id.eq(account_id),
                        deliveries::webhook_id.eq(*webhook_id),
                        deliveries::event_id.eq(event.id),
                        deliveries::status.eq(PENDING),
                        deliveries::attempts.eq(0),
                        deliveries::next_attempt_at.eq(at),
                        deliveries::created_at.eq(at),
                    )
                })
        })
        .collect();
    // 7 columns × 500 rows stays well under SQLite's cap on a statement's variables.
    for chunk in rows.chunks(500) {
        on_backend!(conn, |c| diesel::insert_into(deliveries::table)
            .values(chunk)
            .execute(c))?;
    }
    Ok(())
}

/// Drops the queue's rows for events about to be purged.
pub(crate) fn forget_events(conn: &mut DbConnection, ids: &[i64]) -> Result<(), StoreError> {
    diesel::delete(deliveries::table.filter(deliveries::event_id.eq_any(ids))).execute(conn)?;
    Ok(())
}
