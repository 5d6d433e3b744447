-- Meetings: a time span (all-day ones also keep their dates), who attends with their
-- response, and links to records (record_links, owner_type 'meeting').
CREATE TABLE meetings (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    title TEXT NOT NULL,
    all_day BOOLEAN NOT NULL,
    -- All day: the first day's start and the last day's end in UTC.
    starts_at TIMESTAMP NOT NULL,
    ends_at TIMESTAMP NOT NULL,
    start_date DATE,
    end_date DATE,
    time_zone TEXT,
    location TEXT,
    online_url TEXT,
    agenda TEXT,
    notes TEXT,
    organiser_id BIGINT REFERENCES users (id),
    attendees TEXT NOT NULL,
    links TEXT NOT NULL,
    tags TEXT NOT NULL,
    -- When the worker recorded its `meeting.starting` (once per start time).
    starting_event_at TIMESTAMP,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (ends_at >= starts_at)
);
CREATE INDEX meetings_created ON meetings (account_id, created_at, id);
CREATE INDEX meetings_updated ON meetings (account_id, updated_at, id);
CREATE INDEX meetings_starts ON meetings (account_id, starts_at, id);
-- The reminder worker's queue: meetings whose `meeting.starting` is not yet recorded.
CREATE INDEX meetings_starting_events ON meetings (starts_at) WHERE starting_event_at IS NULL;

CREATE TABLE meeting_attendees (
    meeting_id BIGINT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL,
    -- 'user' or 'contact'.
    attendee_type TEXT NOT NULL,
    attendee_id BIGINT NOT NULL,
    response TEXT NOT NULL,
    PRIMARY KEY (meeting_id, attendee_type, attendee_id)
);
CREATE INDEX meeting_attendees_attendee ON meeting_attendees (account_id, attendee_type, attendee_id, meeting_id);

CREATE TABLE meeting_tags (
    meeting_id BIGINT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (meeting_id, tag)
);
CREATE INDEX meeting_tags_tag ON meeting_tags (account_id, tag, meeting_id);
