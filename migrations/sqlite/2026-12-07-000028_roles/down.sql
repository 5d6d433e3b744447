ALTER TABLE webhooks DROP COLUMN created_by;
DROP INDEX users_role;
ALTER TABLE users DROP COLUMN role_id;
DROP TABLE roles;
