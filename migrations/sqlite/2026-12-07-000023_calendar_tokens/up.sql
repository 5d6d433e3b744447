-- Calendar tokens: a third kind of token, which reads the caller's calendar feed
-- (GET /v1/me/calendar.ics) and nothing else. SQLite cannot alter a CHECK constraint, so the
-- table is rebuilt with the wider one (migrations run with foreign keys off, and are checked
-- after; see Db::migrate): token_origins keeps its rows and its reference by name.
CREATE TABLE api_tokens_rebuilt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL CHECK (kind IN ('personal', 'javascript', 'calendar')),
    name TEXT NOT NULL,
    display_prefix TEXT NOT NULL,
    secret_digest TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    expires_at TIMESTAMP,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO api_tokens_rebuilt (id, account_id, user_id, kind, name, display_prefix, secret_digest, scopes, expires_at, last_used_at, revoked_at, created_at)
SELECT id, account_id, user_id, kind, name, display_prefix, secret_digest, scopes, expires_at, last_used_at, revoked_at, created_at FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_rebuilt RENAME TO api_tokens;
CREATE INDEX api_tokens_user ON api_tokens (account_id, user_id, id);
