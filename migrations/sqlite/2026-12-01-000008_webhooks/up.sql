-- Webhook subscriptions (REST hooks) and their delivery queue: one delivery per subscription
-- and event, written in the transaction that records the event.
CREATE TABLE webhooks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    target_url TEXT NOT NULL,
    -- JSON: the event type names subscribed to.
    events TEXT NOT NULL,
    description TEXT,
    -- The HMAC-SHA256 signing key, as is: signing needs to read it, so unlike a token it
    -- cannot be kept as a digest.
    secret TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    -- Why and when the subscription stopped receiving (repeated failure, or an admin).
    disabled_reason TEXT,
    disabled_at TIMESTAMP,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX webhooks_account ON webhooks (account_id, id);

CREATE TABLE webhook_deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    webhook_id BIGINT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_id BIGINT NOT NULL REFERENCES events (id),
    -- pending | succeeded | failed
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    -- When a pending delivery is due; a worker that claims it holds it until lease_until,
    -- after which another may claim it again (the first one died).
    next_attempt_at TIMESTAMP NOT NULL,
    lease_until TIMESTAMP,
    first_attempt_at TIMESTAMP,
    last_attempt_at TIMESTAMP,
    response_status INTEGER,
    latency_ms BIGINT,
    error TEXT,
    created_at TIMESTAMP NOT NULL,
    completed_at TIMESTAMP
);
-- The queue: the oldest pending delivery of each subscription, and which of them are due.
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (webhook_id, id) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
-- The delivery log, newest first per subscription.
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (webhook_id, id);
-- Purging old events drops their deliveries.
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id);
