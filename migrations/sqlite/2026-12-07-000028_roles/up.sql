-- Roles: every account's built-in admin, member and viewer, and the custom roles its admins
-- define. A role holds its rights (scope names, space-separated; empty for a built-in role,
-- whose rights the code fixes), its field rules (JSON) and the records its members see.
CREATE TABLE roles (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    builtin TEXT CHECK (builtin IN ('admin', 'member', 'viewer')),
    name TEXT NOT NULL,
    name_normalized TEXT NOT NULL,
    description TEXT,
    rights TEXT NOT NULL,
    field_rules TEXT NOT NULL,
    visibility TEXT NOT NULL CHECK (visibility IN ('own', 'unit', 'unit_and_below', 'all')),
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX roles_name ON roles (account_id, name_normalized);
CREATE UNIQUE INDEX roles_builtin ON roles (account_id, builtin);

INSERT INTO roles (account_id, builtin, name, name_normalized, description, rights, field_rules, visibility, version, created_at, updated_at)
SELECT a.id, b.name, b.name, b.name, b.description, '', '[]', 'all', 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP
FROM accounts a, (
    SELECT 'admin' AS name, 'Everything, including the team, configuration and integrations' AS description
    UNION ALL SELECT 'member', 'Works on the records: companies, contacts, projects, tasks, meetings, posts, enquiries'
    UNION ALL SELECT 'viewer', 'Reads everything, changes nothing'
) b;

-- Every user holds one role. `role` stays: the built-in role's name, or `viewer` for a
-- custom role (the least a reader of the old column would grant); `role_id` decides.
ALTER TABLE users ADD COLUMN role_id BIGINT REFERENCES roles (id);
UPDATE users SET role_id = (
    SELECT r.id FROM roles r WHERE r.account_id = users.account_id AND r.builtin = users.role
);
CREATE INDEX users_role ON users (role_id);

-- Who made a webhook: its deliveries show what that user's role may see. NULL (webhooks
-- made before, or by an app) delivers as an admin would see.
ALTER TABLE webhooks ADD COLUMN created_by BIGINT REFERENCES users (id);
