-- The outbox: one row per change of a company, contact, pipeline or phase, and per stage
-- move, written in the transaction of the change. Polling integrations read it through
-- /v1/events; the webhook worker delivers it.
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    type TEXT NOT NULL,
    -- `company`, `contact`, `pipeline` or `phase`, and its id.
    record_type TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    actor_user_id BIGINT,
    actor_client_id BIGINT,
    -- JSON: the record as it now is (as it was, for a deletion).
    data TEXT NOT NULL,
    -- JSON: for updates, the previous values of the fields that changed.
    previous TEXT,
    occurred_at TIMESTAMP NOT NULL
);
CREATE INDEX events_account ON events (account_id, id);
CREATE INDEX events_account_type ON events (account_id, type, id);
CREATE INDEX events_occurred ON events (occurred_at);
