-- Merges of duplicate records: a `*.merged` event names the records merged away (a JSON
-- array of ids), and each `*.deleted` a merge caused names the record it was merged into.
ALTER TABLE events ADD COLUMN merged_ids TEXT;
ALTER TABLE events ADD COLUMN merged_into BIGINT;
