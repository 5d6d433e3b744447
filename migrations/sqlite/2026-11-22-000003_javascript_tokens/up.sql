-- JavaScript tokens: a second kind of token, usable only from the origins listed for it.
-- SQLite cannot alter a CHECK constraint, so the table is rebuilt with the wider one.
CREATE TABLE api_tokens_new (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL CHECK (kind IN ('personal', 'javascript')),
    name TEXT NOT NULL,
    display_prefix TEXT NOT NULL,
    secret_digest TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    expires_at TIMESTAMP,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
INSERT INTO api_tokens_new SELECT * FROM api_tokens;
DROP TABLE api_tokens;
ALTER TABLE api_tokens_new RENAME TO api_tokens;
CREATE INDEX api_tokens_user ON api_tokens (account_id, user_id, id);

CREATE TABLE token_origins (
    token_id BIGINT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL,
    origin TEXT NOT NULL,
    PRIMARY KEY (token_id, origin)
);
-- CORS preflights carry no token: they ask whether any live JavaScript token lists the origin.
CREATE INDEX token_origins_origin ON token_origins (origin, token_id);
