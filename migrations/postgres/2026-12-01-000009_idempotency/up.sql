-- Idempotency keys: the first answer to a POST sent with `Idempotency-Key`, kept so that a
-- retry with the same key gets it again. A key belongs to the account and to the exact token
-- that sent it (its SHA-256 digest; never the token).
CREATE TABLE idempotency_keys (
    account_id BIGINT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_digest TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    -- SHA-256 over method, path, query and body: a retry must send the same request.
    request_digest TEXT NOT NULL,
    -- Names the run holding the key, so that only it completes or releases the row.
    run_id TEXT NOT NULL,
    -- When the run took the key; a row still in flight long after is abandoned.
    locked_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    -- NULL while the request runs.
    response_status INTEGER,
    -- JSON list of [name, value]: the headers a replay repeats (ETag, Location, Content-Type).
    response_headers TEXT,
    -- The body sealed with ChaCha20-Poly1305 under a key derived from the token and the
    -- idempotency key, which only the retrying client holds: base64 of nonce and ciphertext.
    response_body TEXT,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, token_digest, idempotency_key)
);
CREATE INDEX idempotency_keys_expires ON idempotency_keys (expires_at);
