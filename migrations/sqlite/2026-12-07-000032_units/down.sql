DROP INDEX projects_unit;
DROP INDEX contacts_unit;
DROP INDEX companies_unit;
ALTER TABLE projects DROP COLUMN unit_id;
ALTER TABLE contacts DROP COLUMN unit_id;
ALTER TABLE companies DROP COLUMN unit_id;
DROP TABLE user_units;
DROP TABLE units;
