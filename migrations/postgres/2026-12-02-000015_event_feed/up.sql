-- Feed positions. An event's public id is its position in the account's feed, given when it
-- is published: at once on SQLite (one writer at a time), by the publisher on PostgreSQL
-- after the event's transaction has committed (see persistence/src/events.rs). `id` stays
-- the row's key, which webhook deliveries refer to.
ALTER TABLE events ADD COLUMN position BIGINT;
UPDATE events SET position = id;
CREATE UNIQUE INDEX events_feed ON events (account_id, position);
CREATE INDEX events_feed_type ON events (account_id, type, position);
CREATE INDEX events_unpublished ON events (id) WHERE position IS NULL;
DROP INDEX events_account;
DROP INDEX events_account_type;
-- The last position given. Its one row's lock serialises publishers, never writers.
CREATE TABLE event_feed_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    position BIGINT NOT NULL
);
INSERT INTO event_feed_head (id, position) VALUES (1, COALESCE((SELECT MAX(id) FROM events), 0));
