DROP TABLE token_origins;
DELETE FROM api_tokens WHERE kind = 'javascript';
