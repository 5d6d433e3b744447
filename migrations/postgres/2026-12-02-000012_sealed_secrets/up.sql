-- Secrets the service reads back (webhook signing secrets, TOTP secrets, OAuth signing keys)
-- are sealed under the operator key from now on; the service seals the existing plaintext
-- values at start-up, after this migration. What a list shows of a webhook secret (its first
-- characters) can no longer be cut from the sealed value, so it gets a column of its own.
ALTER TABLE webhooks ADD COLUMN secret_prefix TEXT NOT NULL DEFAULT '';
UPDATE webhooks SET secret_prefix = substr(secret, 1, 10);
