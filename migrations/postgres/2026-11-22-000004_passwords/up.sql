-- Human passwords for the sign-in page, as argon2id PHC strings; NULL: none set.
ALTER TABLE users ADD COLUMN password_hash TEXT;
