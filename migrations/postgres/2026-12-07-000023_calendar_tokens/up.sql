-- Calendar tokens: a third kind of token, which reads the caller's calendar feed
-- (GET /v1/me/calendar.ics) and nothing else.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_kind_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_kind_check CHECK (kind IN ('personal', 'javascript', 'calendar'));
