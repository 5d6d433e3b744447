DELETE FROM field_definitions WHERE field_type IN ('lookup', 'rollup');
ALTER TABLE field_definitions DROP COLUMN computed;
