//! Webhook subscriptions and their delivery queue. The queue is filled by `events::record`
//! (through `delivery_queue::enqueue`, in the change's transaction) and emptied by the
//! delivery worker in `api`, which claims due deliveries here and reports each attempt back.
//! Sending is not here.
//!
//! Order: per subscription only the oldest pending delivery may be claimed; later ones wait
//! behind it, so one subscription's events go out in the order they happened. Claims hold a
//! lease: a worker that dies mid-delivery leaves a lease that expires, and the delivery is
//! claimed again (at least once; receivers de-duplicate on the event id).

use chrono::{DateTime, NaiveDateTime, TimeDelta, Utc};
use diesel::prelude::*;
use domain::event::EventType;
use domain::listing::{Page, PageSize, Position};
use domain::token::ActorRef;
use domain::values::Description;
use domain::webhook::{
    Delivery, DeliveryStatus, SECRET_PREFIX, TEST_EVENT_TYPE, TargetUrl, Webhook,
};
use serde_json::Value;

use crate::delivery_queue::{FAILED, PENDING, SUCCEEDED, stored_types, types_json};
use crate::events::Event;
use crate::keyset::{id_position, into_page};
use crate::prepared::FixedSql;
use crate::schema::{events, webhook_deliveries as deliveries, webhooks};
use crate::vault::{Place, Vault};
use crate::{DbConnection, StoreError, check_version, now, to_utc, write_transaction};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = webhooks)]
struct WebhookRow {
    id: i64,
    account_id: i64,
    target_url: String,
    events: String,
    description: Option<String>,
    secret_prefix: String,
    active: bool,
    disabled_reason: Option<String>,
    disabled_at: Option<NaiveDateTime>,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl From<WebhookRow> for Webhook {
    fn from(r: WebhookRow) -> Webhook {
        Webhook {
            id: r.id,
            account_id: r.account_id,
            target_url: r.target_url,
            events: stored_types(&r.events),
            description: r.description,
            active: r.active,
            disabled_reason: r.disabled_reason,
            disabled_at: r.disabled_at.map(to_utc),
            secret_prefix: r.secret_prefix,
            version: r.version,
            created_at: to_utc(r.created_at),
            updated_at: to_utc(r.updated_at),
        }
    }
}

/// A subscription to create, already valid.
pub struct NewWebhook {
    pub target_url: TargetUrl,
    pub events: Vec<EventType>,
    pub description: Option<Description>,
    /// The team member who made it, whose role decides which fields deliveries show; `None`
    /// (an app, or a webhook made before roles) shows every field.
    pub created_by: Option<i64>,
}

/// Changes to a subscription: `None` leaves a field alone.
#[derive(Clone, Default)]
pub struct WebhookPatch {
    pub target_url: Option<TargetUrl>,
    pub events: Option<Vec<EventType>>,
    pub description: Option<Option<Description>>,
    /// `true` re-enables a disabled subscription (and forgets why it was disabled);
    /// `false` pauses it.
    pub active: Option<bool>,
}

/// A new signing secret: `whsec_` and 256 random bits in hex.
fn new_secret() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{SECRET_PREFIX}{}", hex::encode(bytes))
}

/// What a list shows of a secret: the prefix and four characters.
fn prefix_of(secret: &str) -> String {
    secret.chars().take(SECRET_PREFIX.len() + 4).collect()
}

/// Stores `secret` sealed as the signing secret of webhook `id`.
fn store_secret(
    conn: &mut DbConnection,
    vault: &Vault,
    id: i64,
    secret: &str,
) -> Result<(), StoreError> {
    let sealed = vault.seal(&Place::webhook_secret(id), secret.as_bytes())?;
    diesel::update(webhooks::table.filter(webhooks::id.eq(id)))
        .set((
            webhooks::secret.eq(sealed),
            webhooks::secret_prefix.eq(prefix_of(secret)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Creates a subscription; returns it with its signing secret, which is shown this once.
/// The secret is stored sealed under the operator key, bound to the new row.
pub fn create(
    conn: &mut DbConnection,
    vault: &Vault,
    account_id: i64,
    new: &NewWebhook,
) -> Result<(Webhook, String), StoreError> {
    write_transaction(conn, |conn| {
        let secret = new_secret();
        let at = now();
        let id: i64 = diesel::insert_into(webhooks::table)
            .values((
                webhooks::account_id.eq(account_id),
                webhooks::target_url.eq(new.target_url.as_str()),
                webhooks::events.eq(types_json(&new.events)),
                webhooks::description.eq(new.description.as_ref().map(Description::as_str)),
                // Sealed below, once the row has the id the seal binds it to.
                webhooks::secret.eq(""),
                webhooks::secret_prefix.eq(""),
                webhooks::created_by.eq(new.created_by),
                webhooks::active.eq(true),
                webhooks::version.eq(1),
                webhooks::created_at.eq(at),
                webhooks::updated_at.eq(at),
            ))
            .returning(webhooks::id)
            .get_result(conn)?;
        store_secret(conn, vault, id, &secret)?;
        Ok((get(conn, account_id, id)?, secret))
    })
}

pub fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Webhook, StoreError> {
    webhooks::table
        .filter(webhooks::id.eq(id))
        .filter(webhooks::account_id.eq(account_id))
        .select(WebhookRow::as_select())
        .first(conn)
        .optional()?
        .map(Webhook::from)
        .ok_or(StoreError::NotFound)
}

/// The account's subscriptions, oldest first.
pub fn list(
    conn: &mut DbConnection,
    account_id: i64,
    size: PageSize,
    after: Option<&Position>,
) -> Result<Page<Webhook>, StoreError> {
    let mut query = webhooks::table
        .filter(webhooks::account_id.eq(account_id))
        .select(WebhookRow::as_select())
        .order(webhooks::id.asc())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(webhooks::id.gt(after.id));
    }
    let rows: Vec<WebhookRow> = query.limit(size.get() + 1).load(conn)?;
    Ok(into_page(rows, size, |row| id_position(row.id)))
}

/// Applies a patch. Re-enabling clears the reason the subscription was disabled; its pending
/// deliveries then go out again, oldest first.
pub fn update(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    patch: WebhookPatch,
) -> Result<Webhook, StoreError> {
    write_transaction(conn, |conn| {
        let patch = patch.clone();
        let current = get(conn, account_id, id)?;
        check_version(current.version, expected_version)?;
        let at = now();
        let (active, reason, disabled_at) = match patch.active {
            Some(true) => (true, None, None),
            Some(false) if current.active => (
                false,
                Some("disabled by a team member".to_owned()),
                Some(at),
            ),
            _ => (
                current.active,
                current.disabled_reason.clone(),
                current.disabled_at.map(|t| t.naive_utc()),
            ),
        };
        let description = match patch.description {
            Some(new) => new.map(Description::into_inner),
            None => current.description.clone(),
        };
        let target_url = patch
            .target_url
            .map_or(current.target_url.clone(), TargetUrl::into_inner);
        let events = patch.events.unwrap_or_else(|| current.events.clone());
        if target_url == current.target_url
            && events == current.events
            && description == current.description
            && active == current.active
        {
            // Nothing changes: no new version.
            return Ok(current);
        }
        let updated = diesel::update(
            webhooks::table
                .filter(webhooks::id.eq(id))
                .filter(webhooks::version.eq(current.version)),
        )
        .set((
            webhooks::target_url.eq(target_url),
            webhooks::events.eq(types_json(&events)),
            webhooks::description.eq(description),
            webhooks::active.eq(active),
            webhooks::disabled_reason.eq(reason),
            webhooks::disabled_at.eq(disabled_at),
            webhooks::version.eq(current.version + 1),
            webhooks::updated_at.eq(at),
        ))
        .execute(conn)?;
        if updated == 0 {
            // The worker disabled it meanwhile.
            return Err(StoreError::Stale {
                current: current.version + 1,
            });
        }
        get(conn, account_id, id)
    })
}

/// Deletes a subscription (the unsubscribe) and, with it, its deliveries.
pub fn delete(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        let current = get(conn, account_id, id)?;
        check_version(current.version, expected_version)?;
        // Explicitly, not only by the foreign key's cascade: SQLite enforces it only on
        // connections that turned foreign keys on.
        diesel::delete(deliveries::table.filter(deliveries::webhook_id.eq(id))).execute(conn)?;
        diesel::delete(webhooks::table.filter(webhooks::id.eq(id))).execute(conn)?;
        Ok(())
    })
}

/// Replaces the signing secret; deliveries are signed with the new one from now on.
pub fn rotate_secret(
    conn: &mut DbConnection,
    vault: &Vault,
    account_id: i64,
    id: i64,
) -> Result<(Webhook, String), StoreError> {
    write_transaction(conn, |conn| {
        let current = get(conn, account_id, id)?;
        let secret = new_secret();
        store_secret(conn, vault, id, &secret)?;
        diesel::update(webhooks::table.filter(webhooks::id.eq(id)))
            .set((
                webhooks::version.eq(current.version + 1),
                webhooks::updated_at.eq(now()),
            ))
            .execute(conn)?;
        Ok((get(conn, account_id, id)?, secret))
    })
}

/// Queues a `webhook.test` ping for this subscription only, behind its pending deliveries.
/// The ping is stored as an event of type `webhook.test` about the subscription, so that it
/// travels and is logged like any delivery; the events feed leaves such events out.
/// `render` gives the subscription's JSON, the ping's `data.object`. Returns the delivery.
pub fn send_test(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    actor: ActorRef,
    render: impl Fn(&Webhook) -> Value,
) -> Result<Delivery, StoreError> {
    write_transaction(conn, |conn| {
        let webhook = get(conn, account_id, id)?;
        if !webhook.active {
            return Err(StoreError::Conflict(
                "the webhook is disabled; re-enable it with PATCH {\"active\": true} first".into(),
            ));
        }
        let at = now();
        let event_id: i64 = diesel::insert_into(events::table)
            .values((
                events::account_id.eq(account_id),
                events::event_type.eq(TEST_EVENT_TYPE),
                events::record_type.eq("webhook"),
                events::record_id.eq(webhook.id),
                events::actor_user_id.eq(actor.user_id),
                events::actor_client_id.eq(actor.client_id),
                events::data.eq(render(&webhook).to_string()),
                events::occurred_at.eq(at),
            ))
            .returning(events::id)
            .get_result(conn)?;
        // Published at once, so that the ping has its public id; no subscription asks for
        // pings, so publishing queues no other delivery of it.
        while crate::events::publish_batch(conn)? == crate::events::PUBLISH_BATCH {}
        let delivery_id: i64 = diesel::insert_into(deliveries::table)
            .values((
                deliveries::account_id.eq(account_id),
                deliveries::webhook_id.eq(webhook.id),
                deliveries::event_id.eq(event_id),
                deliveries::status.eq(PENDING),
                deliveries::attempts.eq(0),
                deliveries::next_attempt_at.eq(at),
                deliveries::created_at.eq(at),
            ))
            .returning(deliveries::id)
            .get_result(conn)?;
        delivery(conn, account_id, webhook.id, delivery_id)
    })
}

/// A delivery a worker has claimed: what to send, where, and how to sign it.
#[derive(Clone)]
pub struct Claimed {
    pub delivery_id: i64,
    pub webhook_id: i64,
    pub account_id: i64,
    /// Failed attempts so far.
    pub attempts: i32,
    pub first_attempt_at: Option<DateTime<Utc>>,
    /// The claim: reporting the attempt succeeds only while the claim is this worker's.
    pub lease_until: NaiveDateTime,
    pub target_url: String,
    pub secret: String,
    pub event: Event,
    /// The field-level security of the webhook's creator, applied to the body when it is
    /// sent (so that a rule changed since the event counts); `None`: every field.
    pub mask: Option<domain::roles::FieldMask>,
}

impl std::fmt::Debug for Claimed {
    /// Leaves the secret out, so that no log line can carry it.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Claimed")
            .field("delivery_id", &self.delivery_id)
            .field("webhook_id", &self.webhook_id)
            .field("account_id", &self.account_id)
            .field("attempts", &self.attempts)
            .field("first_attempt_at", &self.first_attempt_at)
            .field("lease_until", &self.lease_until)
            .field("target_url", &self.target_url)
            .field("event_id", &self.event.id)
            .finish_non_exhaustive()
    }
}

#[derive(Queryable)]
struct ClaimRow {
    delivery_id: i64,
    webhook_id: i64,
    account_id: i64,
    event_id: i64,
    attempts: i32,
    first_attempt_at: Option<NaiveDateTime>,
    target_url: String,
    secret: String,
    created_by: Option<i64>,
}

/// Claims up to `limit` due deliveries, each the oldest pending one of an active
/// subscription, for `lease`. On PostgreSQL the candidate rows are locked with
/// `FOR UPDATE SKIP LOCKED` inside the claiming transaction, so that replicas claiming at
/// once never get the same row; on SQLite the write transaction serialises claims.
pub fn claim_due(
    conn: &mut DbConnection,
    vault: &Vault,
    limit: i64,
    lease: TimeDelta,
) -> Result<Vec<Claimed>, StoreError> {
    // Events committed since the last round get their feed positions and their deliveries.
    crate::events::publish(conn)?;
    let at = now();
    // A plain read first, so that an idle poll takes no write lock.
    let any_due = deliveries::table
        .filter(deliveries::status.eq(PENDING))
        .filter(deliveries::next_attempt_at.le(at))
        .select(deliveries::id)
        .first::<i64>(conn)
        .optional()?
        .is_some();
    if !any_due {
        return Ok(Vec::new());
    }
    let lease_until = at + lease;
    let claimed: Vec<ClaimRow> = write_transaction(conn, |conn| {
        // The oldest pending delivery of each active subscription: only these may go. Each
        // head is one probe of the partial index `webhook_deliveries_pending` (webhook, id)
        // per active subscription, whatever the backlog (grouping the pending rows by
        // subscription read the whole backlog on every claim: a queue of 3,000 drained at two
        // deliveries a second).
        let heads = FixedSql::<diesel::sql_types::Bool>::new(format!(
            "webhook_deliveries.id IN (SELECT (SELECT h.id FROM webhook_deliveries h \
             WHERE h.webhook_id = w.id AND h.status = '{PENDING}' ORDER BY h.id LIMIT 1) \
             FROM webhooks w WHERE w.active)"
        ));
        macro_rules! candidates {
            () => {
                deliveries::table
                    .filter(heads.clone())
                    .filter(deliveries::status.eq(PENDING))
                    .filter(deliveries::next_attempt_at.le(at))
                    .filter(
                        deliveries::lease_until
                            .is_null()
                            .or(deliveries::lease_until.le(at)),
                    )
                    .order((deliveries::next_attempt_at.asc(), deliveries::id.asc()))
                    .limit(limit)
                    .select(deliveries::id)
            };
        }
        let ids: Vec<i64> = match conn {
            DbConnection::Postgresql(pg) => candidates!().for_update().skip_locked().load(pg)?,
            DbConnection::Sqlite(lite) => candidates!().load(lite)?,
        };
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        diesel::update(deliveries::table.filter(deliveries::id.eq_any(&ids)))
            .set(deliveries::lease_until.eq(lease_until))
            .execute(conn)?;
        Ok::<_, StoreError>(
            deliveries::table
                .inner_join(webhooks::table)
                .filter(deliveries::id.eq_any(&ids))
                .select((
                    deliveries::id,
                    deliveries::webhook_id,
                    deliveries::account_id,
                    deliveries::event_id,
                    deliveries::attempts,
                    deliveries::first_attempt_at,
                    webhooks::target_url,
                    webhooks::secret,
                    webhooks::created_by,
                ))
                .load(conn)?,
        )
    })?;
    if claimed.is_empty() {
        return Ok(Vec::new());
    }
    let event_ids: Vec<i64> = claimed.iter().map(|c| c.event_id).collect();
    // One event may go to several subscriptions at once.
    let events: std::collections::HashMap<i64, Event> = crate::events::by_ids(conn, &event_ids)?
        .into_iter()
        .map(|e| (e.row_id, e))
        .collect();
    // The creators' roles as they are now: one query for the round.
    let mut creators: Vec<i64> = claimed.iter().filter_map(|c| c.created_by).collect();
    creators.sort_unstable();
    creators.dedup();
    let roles = crate::roles::of_users(conn, &creators)?;
    let masks: std::collections::HashMap<i64, domain::roles::FieldMask> = roles
        .iter()
        .map(|(id, role)| (*id, role.field_mask()))
        .collect();
    let scopes = crate::units::scopes_of(conn, &roles)?;
    // A webhook delivers only the events its creator sees: the others are dropped from its
    // queue, as if it had never subscribed to them.
    let (claimed, hidden): (Vec<_>, Vec<_>) = claimed.into_iter().partition(|row| {
        let scope = row.created_by.and_then(|id| scopes.get(&id));
        match (scope, events.get(&row.event_id)) {
            (Some(scope), Some(event)) => scope.sees_event(&event.record_type, &event.data),
            _ => true,
        }
    });
    if !hidden.is_empty() {
        let ids: Vec<i64> = hidden.iter().map(|row| row.delivery_id).collect();
        diesel::delete(deliveries::table.filter(deliveries::id.eq_any(&ids))).execute(conn)?;
    }
    Ok(claimed
        .into_iter()
        .filter_map(|row| {
            let event = events.get(&row.event_id)?.clone();
            // Every secret opened at start-up; one that does not now was altered since. Its
            // delivery waits (its lease lapses and it is claimed again) rather than going out
            // unsigned, and the log says why.
            let secret = vault
                .open(&Place::webhook_secret(row.webhook_id), &row.secret)
                .map_err(|e| tracing::error!(error = %e, delivery_id = row.delivery_id, "cannot sign a delivery"))
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())?;
            Some(Claimed {
                delivery_id: row.delivery_id,
                webhook_id: row.webhook_id,
                account_id: row.account_id,
                attempts: row.attempts,
                first_attempt_at: row.first_attempt_at.map(to_utc),
                lease_until,
                target_url: row.target_url,
                secret,
                event,
                mask: row.created_by.and_then(|id| masks.get(&id).cloned()),
            })
        })
        .collect())
}

/// What one attempt found.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub started_at: DateTime<Utc>,
    /// The receiver's status, when it answered.
    pub response_status: Option<i32>,
    pub latency_ms: i64,
    /// Why it failed; `None` for a 2xx.
    pub error: Option<String>,
}

/// What follows an attempt.
#[derive(Debug, Clone, PartialEq)]
pub enum NextStep {
    /// It succeeded.
    Done,
    /// It failed; try again then.
    RetryAt(DateTime<Utc>),
    /// It failed for the last time: the delivery fails and the subscription is disabled,
    /// saying why.
    GiveUp { reason: String },
}

/// Records an attempt of a claimed delivery. Returns `false` when the claim had lapsed and
/// another worker holds the delivery now (nothing is written then).
pub fn record_attempt(
    conn: &mut DbConnection,
    claimed: &Claimed,
    attempt: &Attempt,
    next: &NextStep,
) -> Result<bool, StoreError> {
    write_transaction(conn, |conn| {
        let started = attempt.started_at.naive_utc();
        let first = claimed.first_attempt_at.map_or(started, |t| t.naive_utc());
        let at = now();
        let (status, next_at, completed) = match next {
            NextStep::Done => (SUCCEEDED, None, Some(at)),
            NextStep::RetryAt(when) => (PENDING, Some(when.naive_utc()), None),
            NextStep::GiveUp { .. } => (FAILED, None, Some(at)),
        };
        let target = deliveries::table
            .filter(deliveries::id.eq(claimed.delivery_id))
            .filter(deliveries::status.eq(PENDING))
            .filter(deliveries::lease_until.eq(claimed.lease_until));
        let written = match next_at {
            Some(next_at) => diesel::update(target)
                .set((
                    deliveries::status.eq(status),
                    deliveries::next_attempt_at.eq(next_at),
                    deliveries::attempts.eq(claimed.attempts + 1),
                    deliveries::lease_until.eq(None::<NaiveDateTime>),
                    deliveries::first_attempt_at.eq(first),
                    deliveries::last_attempt_at.eq(started),
                    deliveries::response_status.eq(attempt.response_status),
                    deliveries::latency_ms.eq(attempt.latency_ms),
                    deliveries::error.eq(attempt.error.as_deref()),
                ))
                .execute(conn)?,
            None => diesel::update(target)
                .set((
                    deliveries::status.eq(status),
                    deliveries::attempts.eq(claimed.attempts + 1),
                    deliveries::lease_until.eq(None::<NaiveDateTime>),
                    deliveries::first_attempt_at.eq(first),
                    deliveries::last_attempt_at.eq(started),
                    deliveries::response_status.eq(attempt.response_status),
                    deliveries::latency_ms.eq(attempt.latency_ms),
                    deliveries::error.eq(attempt.error.as_deref()),
                    deliveries::completed_at.eq(completed),
                ))
                .execute(conn)?,
        };
        if written == 0 {
            return Ok(false);
        }
        if let NextStep::GiveUp { reason } = next {
            diesel::update(
                webhooks::table
                    .filter(webhooks::id.eq(claimed.webhook_id))
                    .filter(webhooks::active.eq(true)),
            )
            .set((
                webhooks::active.eq(false),
                webhooks::disabled_reason.eq(reason),
                webhooks::disabled_at.eq(at),
                webhooks::version.eq(webhooks::version + 1),
                webhooks::updated_at.eq(at),
            ))
            .execute(conn)?;
        }
        Ok(true)
    })
}

#[derive(Debug, Queryable)]
struct DeliveryRow {
    id: i64,
    webhook_id: i64,
    event_id: i64,
    event_type: String,
    status: String,
    attempts: i32,
    next_attempt_at: NaiveDateTime,
    first_attempt_at: Option<NaiveDateTime>,
    last_attempt_at: Option<NaiveDateTime>,
    response_status: Option<i32>,
    latency_ms: Option<i64>,
    error: Option<String>,
    created_at: NaiveDateTime,
    completed_at: Option<NaiveDateTime>,
}

impl From<DeliveryRow> for Delivery {
    fn from(r: DeliveryRow) -> Delivery {
        let status = DeliveryStatus::from_stored(&r.status);
        Delivery {
            id: r.id,
            webhook_id: r.webhook_id,
            event_id: r.event_id,
            event_type: r.event_type,
            status,
            attempts: r.attempts,
            next_attempt_at: (status == DeliveryStatus::Pending).then(|| to_utc(r.next_attempt_at)),
            first_attempt_at: r.first_attempt_at.map(to_utc),
            last_attempt_at: r.last_attempt_at.map(to_utc),
            response_status: r.response_status,
            latency_ms: r.latency_ms,
            error: r.error,
            created_at: to_utc(r.created_at),
            completed_at: r.completed_at.map(to_utc),
        }
    }
}

macro_rules! delivery_columns {
    () => {
        (
            deliveries::id,
            deliveries::webhook_id,
            events::position.assume_not_null(),
            events::event_type,
            deliveries::status,
            deliveries::attempts,
            deliveries::next_attempt_at,
            deliveries::first_attempt_at,
            deliveries::last_attempt_at,
            deliveries::response_status,
            deliveries::latency_ms,
            deliveries::error,
            deliveries::created_at,
            deliveries::completed_at,
        )
    };
}

fn delivery(
    conn: &mut DbConnection,
    account_id: i64,
    webhook_id: i64,
    id: i64,
) -> Result<Delivery, StoreError> {
    deliveries::table
        .inner_join(events::table)
        .filter(deliveries::id.eq(id))
        .filter(deliveries::webhook_id.eq(webhook_id))
        .filter(deliveries::account_id.eq(account_id))
        .select(delivery_columns!())
        .first::<DeliveryRow>(conn)
        .optional()?
        .map(Delivery::from)
        .ok_or(StoreError::NotFound)
}

/// The delivery log of one subscription, newest first, optionally of one status.
pub fn deliveries(
    conn: &mut DbConnection,
    account_id: i64,
    webhook_id: i64,
    status: Option<DeliveryStatus>,
    size: PageSize,
    after: Option<&Position>,
) -> Result<Page<Delivery>, StoreError> {
    get(conn, account_id, webhook_id)?;
    let mut query = deliveries::table
        .inner_join(events::table)
        .filter(deliveries::webhook_id.eq(webhook_id))
        .filter(deliveries::account_id.eq(account_id))
        .select(delivery_columns!())
        .order(deliveries::id.desc())
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(deliveries::status.eq(status.as_str()));
    }
    if let Some(after) = after {
        query = query.filter(deliveries::id.lt(after.id));
    }
    let rows: Vec<DeliveryRow> = query.limit(size.get() + 1).load(conn)?;
    Ok(into_page(rows, size, |row| id_position(row.id)))
}
