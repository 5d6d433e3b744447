-- JavaScript tokens: a second kind of token, usable only from the origins listed for it.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_kind_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_kind_check CHECK (kind IN ('personal', 'javascript'));

CREATE TABLE token_origins (
    token_id BIGINT NOT NULL REFERENCES api_tokens (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL,
    origin TEXT NOT NULL,
    PRIMARY KEY (token_id, origin)
);
-- CORS preflights carry no token: they ask whether any live JavaScript token lists the origin.
CREATE INDEX token_origins_origin ON token_origins (origin, token_id);
