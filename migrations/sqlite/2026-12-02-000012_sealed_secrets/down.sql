ALTER TABLE webhooks DROP COLUMN secret_prefix;
