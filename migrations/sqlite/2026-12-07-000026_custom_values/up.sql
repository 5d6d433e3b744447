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
    value_number REAL
);
CREATE INDEX custom_values_text ON custom_values (account_id, record_type, field_key, value_text, record_id);
CREATE INDEX custom_values_number ON custom_values (account_id, record_type, field_key, value_number, record_id);
-- For the triggers' deletes and `is_null`: a record's values.
CREATE INDEX custom_values_record ON custom_values (account_id, record_type, record_id, field_key);

CREATE TRIGGER companies_custom_values_insert AFTER INSERT ON companies
    WHEN NEW.custom_fields <> '{}'
BEGIN
    INSERT INTO custom_values (account_id, record_type, record_id, field_key, value_text, value_number)
    SELECT NEW.account_id, 'company', NEW.id, f.key,
        CASE WHEN v.type = 'text' THEN substr(v.value, 1, 255) WHEN v.type IN ('true', 'false') THEN v.type END,
        CASE WHEN v.type IN ('integer', 'real') THEN v.value END
    FROM json_each(NEW.custom_fields) AS f
    JOIN json_each(NEW.custom_fields, f.fullkey) AS v
    WHERE f.type <> 'object' AND v.type IN ('text', 'integer', 'real', 'true', 'false')
    UNION ALL
    SELECT NEW.account_id, 'company', NEW.id, f.key, NULL, CAST(json_extract(f.value, '$.amount') AS REAL)
    FROM json_each(NEW.custom_fields) AS f
    WHERE f.type = 'object' AND json_type(f.value, '$.currency') = 'text'
        AND json_type(f.value, '$.amount') IN ('text', 'integer', 'real')
        AND json_extract(f.value, '$.amount') NOT GLOB '*[^0-9.-]*'
        AND json_extract(f.value, '$.amount') GLOB '*[0-9]*';
END;

CREATE TRIGGER companies_custom_values_update AFTER UPDATE OF custom_fields ON companies
    WHEN OLD.custom_fields IS NOT NEW.custom_fields
BEGIN
    DELETE FROM custom_values
    WHERE account_id = OLD.account_id AND record_type = 'company' AND record_id = OLD.id;
    INSERT INTO custom_values (account_id, record_type, record_id, field_key, value_text, value_number)
    SELECT NEW.account_id, 'company', NEW.id, f.key,
        CASE WHEN v.type = 'text' THEN substr(v.value, 1, 255) WHEN v.type IN ('true', 'false') THEN v.type END,
        CASE WHEN v.type IN ('integer', 'real') THEN v.value END
    FROM json_each(NEW.custom_fields) AS f
    JOIN json_each(NEW.custom_fields, f.fullkey) AS v
    WHERE f.type <> 'object' AND v.type IN ('text', 'integer', 'real', 'true', 'false')
    UNION ALL
    SELECT NEW.account_id, 'company', NEW.id, f.key, NULL, CAST(json_extract(f.value, '$.amount') AS REAL)
    FROM json_each(NEW.custom_fields) AS f
    WHERE f.type = 'object' AND json_type(f.value, '$.currency') = 'text'
        AND json_type(f.value, '$.amount') IN ('text', 'integer', 'real')
        AND json_extract(f.value, '$.amount') NOT GLOB '*[^0-9.-]*'
        AND json_extract(f.value, '$.amount') GLOB '*[0-9]*';
END;

CREATE TRIGGER companies_custom_values_delete AFTER DELETE ON companies
BEGIN
    DELETE FROM custom_values
    WHERE account_id = OLD.account_id AND record_type = 'company' AND record_id = OLD.id;
END;

INSERT INTO custom_values (account_id, record_type, record_id, field_key, value_text, value_number)
    SELECT c.account_id, 'company', c.id, f.key,
        CASE WHEN v.type = 'text' THEN substr(v.value, 1, 255) WHEN v.type IN ('true', 'false') THEN v.type END,
        CASE WHEN v.type IN ('integer', 'real') THEN v.value END
    FROM companies AS c
    JOIN json_each(c.custom_fields) AS f
    JOIN json_each(c.custom_fields, f.fullkey) AS v
    WHERE c.custom_fields <> '{}' AND f.type <> 'object' AND v.type IN ('text', 'integer', 'real', 'true', 'false')
    UNION ALL
    SELECT c.account_id, 'company', c.id, f.key, NULL, CAST(json_extract(f.value, '$.amount') AS REAL)
    FROM companies AS c
    JOIN json_each(c.custom_fields) AS f
    WHERE c.custom_fields <> '{}' AND f.type = 'object' AND json_type(f.value, '$.currency') = 'text'
        AND json_type(f.value, '$.amount') IN ('text', 'integer', 'real')
        AND json_extract(f.value, '$.amount') NOT GLOB '*[^0-9.-]*'
        AND json_extract(f.value, '$.amount') GLOB '*[0-9]*';

CREATE TRIGGER contacts_custom_values_insert AFTER INSERT ON contacts
    WHEN NEW.custom_fields <> '{}'
BEGIN
    INSERT INTO custom_values (account_id, record_type, record_id, field_key, value_text, value_number)
    SELECT NEW.account_id, 'contact', NEW.id, f.key,
        CASE WHEN v.type = 'text' THEN substr(v.value, 1, 255) WHEN v.type IN ('true', 'false') THEN v.type END,
        CASE WHEN v.type IN ('integer', 'real') THEN v.value END
    FROM json_each(NEW.custom_fields) AS f
    JOIN json_each(NEW.custom_fields, f.fullkey) AS v
    WHERE f.type <> 'object' AND v.type IN ('text', 'integer', 'real', 'true', 'false')
    UNION ALL
    SELECT NEW.account_id, 'contact', NEW.id, f.key, NULL, CAST(json_extract(f.value, '$.amount') AS REAL)
    FROM json_each(NEW.custom_fields) AS f
    WHERE f.type = 'object' AND json_type(f.value, '$.currency') = 'text'
        AND json_type(f.value, '$.amount') IN ('text', 'integer', 'real')
        AND json_extract(f.value, '$.amount') NOT GLOB '*[^0-9.-]*'
        AND json_extract(f.value, '$.amount') GLOB '*[0-9]*';
END;

CREATE TRIGGER contacts_custom_values_update AFTER UPDATE OF custom_fields ON contacts
    WHEN OLD.custom_fields IS NOT NEW.custom_fields
BEGIN
    DELETE FROM custom_values
    WHERE account_id = OLD.account_id AND record_type = 'contact' AND record_id = OLD.id;
    INSERT INTO custom_values (account_id, record_type, record_id, field_key, value_text, value_number)
    SELECT NEW.account_id, 'contact', NEW.id, f.key,
        CASE WHEN v.type = 'text' THEN substr(v.value, 1, 255) WHEN v.type IN ('true', 'false') THEN v.type END,
        CASE WHEN v.type IN ('integer', 'real') THEN v.value END
    FROM json_each(NEW.custom_fields) AS f
    JOIN json_each(NEW.custom_fields, f.fullkey) AS v
    WHERE f.type <> 'object' AND v.type IN ('text', 'integer', 'real', 'true', 'false')
    UNION ALL
    SELECT NEW.account_id, 'contact', NEW.id, f.key, NULL, CAST(json_extract(f.value, '$.amount') AS REAL)
    FROM json_each(NEW.custom_fields) AS f
    WHERE f.type = 'object' AND json_type(f.value, '$.currency') = 'text'
        AND json_type(f.value, '$.amount') IN ('text', 'integer', 'real')
        AND json_extract(f.value, '$.amount') NOT GLOB '*[^0-9.-]*'
        AND json_extract(f.value, '$.amount') GLOB '*[0-9]*';
END;

CREATE TRIGGER contacts_custom_values_delete AFTER DELETE ON contacts
BEGIN
    DELETE FROM custom_values
    WHERE account_id = OLD.account_id AND record_type = 'contact' AND record_id = OLD.id;
END;

INSERT INTO custom_values (account_id, record_type, record_id, field_key, value_text, value_number)
    SELECT c.account_id, 'contact', c.id, f.key,
        CASE WHEN v.type = 'text' THEN substr(v.value, 1, 255) WHEN v.type IN ('true', 'false') THEN v.type END,
        CASE WHEN v.type IN ('integer', 'real') THEN v.value END
    FROM contacts AS c
    JOIN json_each(c.custom_fields) AS f
    JOIN json_each(c.custom_fields, f.fullkey) AS v
    WHERE c.custom_fields <> '{}' AND f.type <> 'object' AND v.type IN ('text', 'integer', 'real', 'true', 'false')
    UNION ALL
    SELECT c.account_id, 'contact', c.id, f.key, NULL, CAST(json_extract(f.value, '$.amount') AS REAL)
    FROM contacts AS c
    JOIN json_each(c.custom_fields) AS f
    WHERE c.custom_fields <> '{}' AND f.type = 'object' AND json_type(f.value, '$.currency') = 'text'
        AND json_type(f.value, '$.amount') IN ('text', 'integer', 'real')
        AND json_extract(f.value, '$.amount') NOT GLOB '*[^0-9.-]*'
        AND json_extract(f.value, '$.amount') GLOB '*[0-9]*';

CREATE TRIGGER projects_custom_values_insert AFTER INSERT ON projects
    WHEN NEW.custom_fields <> '{}'
BEGIN
    INSERT INTO custom_values (account_id, record_type, record_id, field_key, value_text, value_number)
    SELECT NEW.account_id, 'project', NEW.id, f.key,
        CASE WHEN v.type = 'text' THEN substr(v.value, 1, 255) WHEN v.type IN ('true', 'false') THEN v.type END,
        CASE WHEN v.type IN ('integer', 'real') THEN v.value END
    FROM json_each(NEW.custom_fields) AS f
    JOIN json_each(NEW.custom_fields, f.fullkey) AS v
    WHERE f.type <> 'object' AND v.type IN ('text', 'integer', 'real', 'true', 'false')
    UNION ALL
    SELECT NEW.account_id, 'project', NEW.id, f.key, NULL, CAST(json_extract(f.value, '$.amount') AS REAL)
    FROM json_each(NEW.custom_fields) AS f
    WHERE f.type = 'object' AND json_type(f.value, '$.currency') = 'text'
        AND json_type(f.value, '$.amount') IN ('text', 'integer', 'real')
        AND json_extract(f.value, '$.amount') NOT GLOB '*[^0-9.-]*'
        AND json_extract(f.value, '$.amount') GLOB '*[0-9]*';
END;

CREATE TRIGGER projects_custom_values_update AFTER UPDATE OF custom_fields ON projects
    WHEN OLD.custom_fields IS NOT NEW.custom_fields
BEGIN
    DELETE FROM custom_values
    WHERE account_id = OLD.account_id AND record_type = 'project' AND record_id = OLD.id;
    INSERT INTO custom_values (account_id, record_type, record_id, field_key, value_text, value_number)
    SELECT NEW.account_id, 'project', NEW.id, f.key,
        CASE WHEN v.type = 'text' THEN substr(v.value, 1, 255) WHEN v.type IN ('true', 'false') THEN v.type END,
        CASE WHEN v.type IN ('integer', 'real') THEN v.value END
    FROM json_each(NEW.custom_fields) AS f
    JOIN json_each(NEW.custom_fields, f.fullkey) AS v
    WHERE f.type <> 'object' AND v.type IN ('text', 'integer', 'real', 'true', 'false')
    UNION ALL
    SELECT NEW.account_id, 'project', NEW.id, f.key, NULL, CAST(json_extract(f.value, '$.amount') AS REAL)
    FROM json_each(NEW.custom_fields) AS f
    WHERE f.type = 'object' AND json_type(f.value, '$.currency') = 'text'
        AND json_type(f.value, '$.amount') IN ('text', 'integer', 'real')
        AND json_extract(f.value, '$.amount') NOT GLOB '*[^0-9.-]*'
        AND json_extract(f.value, '$.amount') GLOB '*[0-9]*';
END;

CREATE TRIGGER projects_custom_values_delete AFTER DELETE ON projects
BEGIN
    DELETE FROM custom_values
    WHERE account_id = OLD.account_id AND record_type = 'project' AND record_id = OLD.id;
END;

INSERT INTO custom_values (account_id, record_type, record_id, field_key, value_text, value_number)
    SELECT c.account_id, 'project', c.id, f.key,
        CASE WHEN v.type = 'text' THEN substr(v.value, 1, 255) WHEN v.type IN ('true', 'false') THEN v.type END,
        CASE WHEN v.type IN ('integer', 'real') THEN v.value END
    FROM projects AS c
    JOIN json_each(c.custom_fields) AS f
    JOIN json_each(c.custom_fields, f.fullkey) AS v
    WHERE c.custom_fields <> '{}' AND f.type <> 'object' AND v.type IN ('text', 'integer', 'real', 'true', 'false')
    UNION ALL
    SELECT c.account_id, 'project', c.id, f.key, NULL, CAST(json_extract(f.value, '$.amount') AS REAL)
    FROM projects AS c
    JOIN json_each(c.custom_fields) AS f
    WHERE c.custom_fields <> '{}' AND f.type = 'object' AND json_type(f.value, '$.currency') = 'text'
        AND json_type(f.value, '$.amount') IN ('text', 'integer', 'real')
        AND json_extract(f.value, '$.amount') NOT GLOB '*[^0-9.-]*'
        AND json_extract(f.value, '$.amount') GLOB '*[0-9]*';

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
