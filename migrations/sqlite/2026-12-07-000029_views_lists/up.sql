-- Saved views: a record type's filter (the filter language, stored as written so that
-- relative dates stay relative), sort and columns, private to their owner, shared with the
-- owner's unit, or with the whole account.
CREATE TABLE views (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    record_type TEXT NOT NULL,
    name TEXT NOT NULL,
    filter TEXT,
    sort TEXT,
    columns TEXT NOT NULL,
    visibility TEXT NOT NULL,
    owner_id BIGINT REFERENCES users (id),
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX views_account ON views (account_id, record_type, id);

-- Lists of records: static (members added and removed by hand) or dynamic (a view's
-- records, whatever they are when read).
CREATE TABLE lists (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    record_type TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    view_id BIGINT REFERENCES views (id),
    visibility TEXT NOT NULL,
    owner_id BIGINT REFERENCES users (id),
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX lists_account ON lists (account_id, record_type, id);
CREATE INDEX lists_view ON lists (view_id);

-- A static list's members, keyed like every attachment by (record_type, record_id), so that a
-- deleted record leaves its lists and a merged one passes its places to the survivor.
CREATE TABLE list_members (
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    list_id BIGINT NOT NULL REFERENCES lists (id) ON DELETE CASCADE,
    record_type TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    added_by BIGINT,
    added_at TIMESTAMP NOT NULL,
    PRIMARY KEY (list_id, record_id)
);
CREATE INDEX list_members_record ON list_members (account_id, record_type, record_id);
