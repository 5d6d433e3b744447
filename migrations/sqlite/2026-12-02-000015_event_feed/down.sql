DROP TABLE event_feed_head;
DROP INDEX events_unpublished;
DROP INDEX events_feed_type;
DROP INDEX events_feed;
CREATE INDEX events_account ON events (account_id, id);
CREATE INDEX events_account_type ON events (account_id, type, id);
ALTER TABLE events DROP COLUMN position;
