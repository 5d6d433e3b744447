ALTER TABLE events DROP COLUMN merged_into;
ALTER TABLE events DROP COLUMN merged_ids;
