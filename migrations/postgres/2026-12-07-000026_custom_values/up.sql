-- The index of custom field values (issue 16): one row per scalar value of a record's
-- `custom_fields` (a multi-select array gives a row per element; booleans as the text 'true'
-- or 'false'; a money object {"amount": "12500.50", "currency": "EUR"} its amount as a number;
-- other objects and null no row), so that a filter on a custom field reads an index range
-- instead of parsing every record's JSON. Text is indexed up to its first 255 characters.
--
-- Kept by triggers on companies, contacts and projects, so that every write path (create,
-- patch, import, merge, conversion) keeps it without code; filled here for existing rows.
CREATE TABLE custom_values (
    account_id BIGINT NOT NULL,
    record_type TEXT NOT NULL,
    record_id BIGINT NOT NULL,
    field_key TEXT NOT NULL,
    value_text TEXT,
    value_number DOUBLE PRECISION
);
CREATE INDEX custom_values_text ON custom_values (account_id, record_type, field_key, value_text, record_id);
CREATE INDEX custom_values_number ON custom_values (account_id, record_type, field_key, value_number, record_id);
-- For the triggers' deletes and `is_null`: a record's values.
CREATE INDEX custom_values_record ON custom_values (account_id, record_type, record_id, field_key);

-- The rows of one `custom_fields` object (JSON text). Amounts are decimal strings of bounded
-- length, so that a cast never fails a write.
CREATE FUNCTION custom_value_rows(fields TEXT)
RETURNS TABLE (field_key TEXT, value_text TEXT, value_number DOUBLE PRECISION)
LANGUAGE sql IMMUTABLE AS $$
    SELECT f.key,
        CASE jsonb_typeof(v.value) WHEN 'string' THEN left(v.value #>> '{}', 255)
            WHEN 'boolean' THEN v.value #>> '{}' END,
        CASE jsonb_typeof(v.value) WHEN 'number' THEN (v.value #>> '{}')::DOUBLE PRECISION END
    FROM jsonb_each(fields::jsonb) AS f
    CROSS JOIN LATERAL jsonb_array_elements(
        CASE WHEN jsonb_typeof(f.value) = 'array' THEN f.value ELSE jsonb_build_array(f.value) END
    ) AS v (value)
    WHERE jsonb_typeof(v.value) IN ('string', 'number', 'boolean')
    UNION ALL
    SELECT f.key, NULL, (f.value ->> 'amount')::DOUBLE PRECISION
    FROM jsonb_each(fields::jsonb) AS f
    WHERE jsonb_typeof(f.value) = 'object'
        AND jsonb_typeof(f.value -> 'currency') = 'string'
        AND jsonb_typeof(f.value -> 'amount') IN ('string', 'number')
        AND (f.value ->> 'amount') ~ '^-?[0-9]{1,20}(\.[0-9]{1,20})?$'
$$;

-- Statement triggers with transition tables: an import's COPY or a multi-row insert is one
-- INSERT .. SELECT here. TG_ARGV[0] is the record type.
CREATE FUNCTION custom_values_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO custom_values (account_id, record_type, record_id, field_key, value_text, value_number)
    SELECT n.account_id, TG_ARGV[0], n.id, r.field_key, r.value_text, r.value_number
    FROM new_rows AS n CROSS JOIN LATERAL custom_value_rows(n.custom_fields) AS r
    WHERE n.custom_fields <> '{}';
    RETURN NULL;
END
$$;

CREATE FUNCTION custom_values_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM custom_values AS v
    USING old_rows AS o JOIN new_rows AS n ON n.id = o.id
    WHERE o.custom_fields IS DISTINCT FROM n.custom_fields
        AND v.account_id = o.account_id AND v.record_type = TG_ARGV[0] AND v.record_id = o.id;
    INSERT INTO custom_values (account_id, record_type, record_id, field_key, value_text, value_number)
    SELECT n.account_id, TG_ARGV[0], n.id, r.field_key, r.value_text, r.value_number
    FROM new_rows AS n JOIN old_rows AS o ON o.id = n.id
    CROSS JOIN LATERAL custom_value_rows(n.custom_fields) AS r
    WHERE o.custom_fields IS DISTINCT FROM n.custom_fields AND n.custom_fields <> '{}';
    RETURN NULL;
END
$$;

CREATE FUNCTION custom_values_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM custom_values AS v
    USING old_rows AS o
    WHERE v.account_id = o.account_id AND v.record_type = TG_ARGV[0] AND v.record_id = o.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER companies_custom_values_insert AFTER INSERT ON companies
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION custom_values_after_insert('company');
CREATE TRIGGER companies_custom_values_update AFTER UPDATE ON companies
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION custom_values_after_update('company');
CREATE TRIGGER companies_custom_values_delete AFTER DELETE ON companies
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION custom_values_after_delete('company');

INSERT INTO custom_values (account_id, record_type, record_id, field_key, value_text, value_number)
SELECT c.account_id, 'company', c.id, r.field_key, r.value_text, r.value_number
FROM companies AS c CROSS JOIN LATERAL custom_value_rows(c.custom_fields) AS r
WHERE c.custom_fields <> '{}';

CREATE TRIGGER contacts_custom_values_insert AFTER INSERT ON contacts
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION custom_values_after_insert('contact');
CREATE TRIGGER contacts_custom_values_update AFTER UPDATE ON contacts
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION custom_values_after_update('contact');
CREATE TRIGGER contacts_custom_values_delete AFTER DELETE ON contacts
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION custom_values_after_delete('contact');

INSERT INTO custom_values (account_id, record_type, record_id, field_key, value_text, value_number)
SELECT c.account_id, 'contact', c.id, r.field_key, r.value_text, r.value_number
FROM contacts AS c CROSS JOIN LATERAL custom_value_rows(c.custom_fields) AS r
WHERE c.custom_fields <> '{}';

CREATE TRIGGER projects_custom_values_insert AFTER INSERT ON projects
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION custom_values_after_insert('project');
CREATE TRIGGER projects_custom_values_update AFTER UPDATE ON projects
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION custom_values_after_update('project');
CREATE TRIGGER projects_custom_values_delete AFTER DELETE ON projects
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION custom_values_after_delete('project');

INSERT INTO custom_values (account_id, record_type, record_id, field_key, value_text, value_number)
SELECT c.account_id, 'project', c.id, r.field_key, r.value_text, r.value_number
FROM projects AS c CROSS JOIN LATERAL custom_value_rows(c.custom_fields) AS r
WHERE c.custom_fields <> '{}';

-- Filters on these built-in fields read an index range of the account's records (the other
-- filterable fields had one already, or cannot use one: see persistence/src/filter.rs).
CREATE INDEX companies_website_filter ON companies (account_id, website, id);
CREATE INDEX companies_email_filter ON companies (account_id, email, id);
CREATE INDEX companies_phone_filter ON companies (account_id, phone, id);
CREATE INDEX companies_size_band_filter ON companies (account_id, size_band, id);
CREATE INDEX companies_outcome_filter ON companies (account_id, outcome, id);
CREATE INDEX contacts_phone_filter ON contacts (account_id, phone, id);
CREATE INDEX contacts_job_title_filter ON contacts (account_id, job_title, id);
CREATE INDEX contacts_reports_to_id_filter ON contacts (account_id, reports_to_id, id);
CREATE INDEX contacts_first_name_filter ON contacts (account_id, first_name, id);
CREATE INDEX contacts_last_name_filter ON contacts (account_id, last_name, id);
CREATE INDEX projects_value_currency_filter ON projects (account_id, value_currency, id);
CREATE INDEX projects_expected_start_date_filter ON projects (account_id, expected_start_date, id);
CREATE INDEX projects_proposal_received_date_filter ON projects (account_id, proposal_received_date, id);
CREATE INDEX projects_proposal_due_date_filter ON projects (account_id, proposal_due_date, id);
CREATE INDEX projects_start_date_filter ON projects (account_id, start_date, id);
CREATE INDEX projects_end_date_filter ON projects (account_id, end_date, id);
CREATE INDEX projects_close_date_filter ON projects (account_id, close_date, id);
CREATE INDEX projects_completed_date_filter ON projects (account_id, completed_date, id);
CREATE INDEX projects_won_at_filter ON projects (account_id, won_at, id);
CREATE INDEX projects_outcome_filter ON projects (account_id, outcome, id);
