-- Lookup and rollup fields (issue 16): a field definition of type `lookup` or `rollup` keeps
-- its configuration (the reference followed and the field shown; or the related records, the
-- function, the field aggregated and a filter) as JSON text. Their values are computed when
-- records are read, never stored, so no record table changes.
ALTER TABLE field_definitions ADD COLUMN computed TEXT;
