-- Units: an account's teams, territories and subsidiaries, as a tree (a few hundred rows at
-- most: read whole to work out a subtree).
CREATE TABLE units (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    parent_id BIGINT REFERENCES units (id),
    name TEXT NOT NULL,
    name_normalized TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('team', 'territory', 'subsidiary', 'department', 'other')),
    description TEXT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX units_name ON units (account_id, name_normalized);
CREATE INDEX units_parent ON units (parent_id);

-- Who belongs where: one primary unit per user at most, and any secondary ones.
CREATE TABLE user_units (
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    unit_id BIGINT NOT NULL REFERENCES units (id),
    is_primary BOOLEAN NOT NULL,
    PRIMARY KEY (user_id, unit_id)
);
CREATE UNIQUE INDEX user_units_primary ON user_units (user_id) WHERE is_primary;
CREATE INDEX user_units_unit ON user_units (unit_id);

-- The unit a record belongs to (by default its owner's primary unit): what unit-limited
-- roles see by. Each index serves the visibility test and the `unit_id` filter.
ALTER TABLE companies ADD COLUMN unit_id BIGINT REFERENCES units (id);
ALTER TABLE contacts ADD COLUMN unit_id BIGINT REFERENCES units (id);
ALTER TABLE projects ADD COLUMN unit_id BIGINT REFERENCES units (id);
CREATE INDEX companies_unit ON companies (account_id, unit_id, created_at, id);
CREATE INDEX contacts_unit ON contacts (account_id, unit_id, created_at, id);
CREATE INDEX projects_unit ON projects (account_id, unit_id, created_at, id);
