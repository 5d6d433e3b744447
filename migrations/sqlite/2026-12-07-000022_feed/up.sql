-- The news feed and each record's timeline: one entry per change worth telling the team
-- about, written in the transaction of the change beside its event. Events are an outbox,
-- purged after their retention; these entries are the account's history and stay.
-- record_* is the record the change is about (a comment for comment.*); subject_* is what
-- it is filed under (the comment's post), which links and subscriptions reach.
CREATE TABLE feed_items (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    type TEXT NOT NULL,
    record_type TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    subject_type TEXT NOT NULL,
    subject_id BIGINT NOT NULL,
    actor_user_id BIGINT,
    actor_client_id BIGINT,
    data TEXT NOT NULL,
    previous TEXT,
    merged_ids TEXT,
    merged_into BIGINT,
    occurred_at TIMESTAMP NOT NULL
);
-- The whole feed, newest first; a subject's entries (a timeline, a followed record, an
-- activity linked to one); a record's own entries (what mentions me).
CREATE INDEX feed_items_account ON feed_items (account_id, id);
CREATE INDEX feed_items_subject ON feed_items (account_id, subject_type, subject_id, id);
CREATE INDEX feed_items_record ON feed_items (account_id, record_type, record_id, id);

-- Who follows which company, contact or project: by hand ('manual'), or as its owner
-- ('owner') or a member of a project's team ('team'), set when they become so.
CREATE TABLE subscriptions (
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    record_type TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    reason TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (user_id, record_type, record_id)
);
CREATE INDEX subscriptions_record ON subscriptions (account_id, record_type, record_id);
CREATE INDEX subscriptions_user ON subscriptions (account_id, user_id, record_type, record_id);

-- The history the outbox still holds becomes the feed's first entries.
INSERT INTO feed_items (account_id, type, record_type, record_id, subject_type, subject_id,
    actor_user_id, actor_client_id, data, previous, merged_ids, merged_into, occurred_at)
SELECT account_id, type, record_type, record_id,
    CASE WHEN record_type = 'comment' THEN 'post' ELSE record_type END,
    CASE WHEN record_type = 'comment' THEN COALESCE(CAST(json_extract(data, '$.post_id') AS BIGINT), record_id) ELSE record_id END,
    actor_user_id, actor_client_id, data, previous, merged_ids, merged_into, occurred_at
FROM events
WHERE position IS NOT NULL
  AND record_type IN ('company', 'contact', 'project', 'task', 'meeting', 'post', 'comment', 'enquiry')
  AND type NOT IN ('task.due', 'meeting.starting')
ORDER BY position;

-- Owners follow what they own, and project teams their projects.
INSERT INTO subscriptions (account_id, user_id, record_type, record_id, reason, created_at)
SELECT account_id, owner_id, 'company', id, 'owner', CURRENT_TIMESTAMP FROM companies WHERE owner_id IS NOT NULL;
INSERT INTO subscriptions (account_id, user_id, record_type, record_id, reason, created_at)
SELECT account_id, owner_id, 'contact', id, 'owner', CURRENT_TIMESTAMP FROM contacts WHERE owner_id IS NOT NULL;
INSERT INTO subscriptions (account_id, user_id, record_type, record_id, reason, created_at)
SELECT account_id, owner_id, 'project', id, 'owner', CURRENT_TIMESTAMP FROM projects WHERE owner_id IS NOT NULL;
INSERT INTO subscriptions (account_id, user_id, record_type, record_id, reason, created_at)
SELECT m.account_id, m.user_id, 'project', m.project_id, 'team', CURRENT_TIMESTAMP FROM project_members m
WHERE NOT EXISTS (SELECT 1 FROM subscriptions s WHERE s.user_id = m.user_id
    AND s.record_type = 'project' AND s.record_id = m.project_id);
