-- The account's own fields: typed definitions of the custom fields a record type carries.
-- Values stay in each record's custom_fields object under the definition's key; options
-- (tiny+'s categories), bounds and the default are metadata, kept as JSON text here.
CREATE TABLE field_definitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    record_type TEXT NOT NULL,
    key TEXT NOT NULL,
    label TEXT NOT NULL,
    description TEXT,
    group_name TEXT,
    field_type TEXT NOT NULL,
    options TEXT NOT NULL,
    required BOOLEAN NOT NULL,
    is_unique BOOLEAN NOT NULL,
    default_value TEXT,
    min_value TEXT,
    max_value TEXT,
    max_length INTEGER,
    pattern TEXT,
    target_record_type TEXT,
    currency TEXT,
    position INTEGER NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
-- A key is a field's identity within its record type, for good.
CREATE UNIQUE INDEX field_definitions_key ON field_definitions (account_id, record_type, key);
