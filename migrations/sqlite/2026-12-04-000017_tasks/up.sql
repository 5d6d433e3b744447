-- Links from activities (tasks now; meetings and posts later) to the records they are about,
-- for every family at once: the filter `linked=company:12`, a record's timeline, and the
-- cleanup when a record is deleted or merged. Each activity also keeps its links as JSON, for
-- reads. No foreign keys: a link names a row of one of several tables.
CREATE TABLE record_links (
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    owner_type TEXT NOT NULL,
    owner_id BIGINT NOT NULL,
    record_type TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    PRIMARY KEY (owner_type, owner_id, record_type, record_id)
);
CREATE INDEX record_links_record ON record_links (account_id, record_type, record_id, owner_type, owner_id);

CREATE TABLE tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    title TEXT NOT NULL,
    notes TEXT,
    -- All day: due_date, with due_at its start in UTC (the sort key); timed: due_at alone.
    due_date DATE,
    due_at TIMESTAMP,
    time_zone TEXT,
    priority TEXT NOT NULL,
    status TEXT NOT NULL,
    done_at TIMESTAMP,
    done_by BIGINT REFERENCES users (id),
    assignee_ids TEXT NOT NULL,
    links TEXT NOT NULL,
    tags TEXT NOT NULL,
    created_by BIGINT REFERENCES users (id),
    -- When the worker recorded its `task.due` (once per due time).
    due_event_at TIMESTAMP,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    CHECK (due_date IS NULL OR due_at IS NOT NULL)
);
CREATE INDEX tasks_created ON tasks (account_id, created_at, id);
CREATE INDEX tasks_updated ON tasks (account_id, updated_at, id);
CREATE INDEX tasks_due ON tasks (account_id, due_at, id);
CREATE INDEX tasks_status_due ON tasks (account_id, status, due_at, id);
-- The reminder worker's queue: open tasks whose `task.due` is not yet recorded.
CREATE INDEX tasks_due_events ON tasks (due_at) WHERE status = 'open' AND due_event_at IS NULL AND due_at IS NOT NULL;

CREATE TABLE task_assignees (
    task_id BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id),
    account_id BIGINT NOT NULL,
    PRIMARY KEY (task_id, user_id)
);
CREATE INDEX task_assignees_user ON task_assignees (account_id, user_id, task_id);

CREATE TABLE task_tags (
    task_id BIGINT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (task_id, tag)
);
CREATE INDEX task_tags_tag ON task_tags (account_id, tag, task_id);
