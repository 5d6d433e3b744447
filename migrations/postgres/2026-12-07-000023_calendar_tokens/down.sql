DELETE FROM api_tokens WHERE kind = 'calendar';
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_kind_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_kind_check CHECK (kind IN ('personal', 'javascript'));
