DROP TRIGGER search_companies_insert;
DROP TRIGGER search_companies_update;
DROP TRIGGER search_companies_delete;
DROP VIEW search_companies_rows;
DROP TABLE search_companies;
DROP TRIGGER search_contacts_insert;
DROP TRIGGER search_contacts_update;
DROP TRIGGER search_contacts_delete;
DROP VIEW search_contacts_rows;
DROP TABLE search_contacts;
DROP TRIGGER search_projects_insert;
DROP TRIGGER search_projects_update;
DROP TRIGGER search_projects_delete;
DROP VIEW search_projects_rows;
DROP TABLE search_projects;
DROP TRIGGER search_enquiries_insert;
DROP TRIGGER search_enquiries_update;
DROP TRIGGER search_enquiries_delete;
DROP VIEW search_enquiries_rows;
DROP TABLE search_enquiries;
DROP TRIGGER search_tasks_insert;
DROP TRIGGER search_tasks_update;
DROP TRIGGER search_tasks_delete;
DROP VIEW search_tasks_rows;
DROP TABLE search_tasks;
DROP TRIGGER search_meetings_insert;
DROP TRIGGER search_meetings_update;
DROP TRIGGER search_meetings_delete;
DROP VIEW search_meetings_rows;
DROP TABLE search_meetings;

-- 000027's indexes, as they were.
CREATE VIRTUAL TABLE search_companies USING fts5(name, domain, website, email, phone, digits, content='', contentless_delete=1,
    tokenize='unicode61 remove_diacritics 2', prefix='2 3');
CREATE VIEW search_companies_rows AS
    SELECT id, name, domain, website, email, phone,
           CASE WHEN length(d) >= 3 THEN substr(d, 1) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 4 THEN substr(d, 2) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 5 THEN substr(d, 3) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 6 THEN substr(d, 4) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 7 THEN substr(d, 5) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 8 THEN substr(d, 6) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 9 THEN substr(d, 7) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 10 THEN substr(d, 8) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 11 THEN substr(d, 9) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 12 THEN substr(d, 10) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 13 THEN substr(d, 11) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 14 THEN substr(d, 12) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 15 THEN substr(d, 13) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 16 THEN substr(d, 14) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 17 THEN substr(d, 15) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 18 THEN substr(d, 16) || ' ' ELSE '' END AS digits
    FROM (SELECT id, name, domain, website, email, phone, replace(replace(replace(replace(replace(replace(replace(phone, ' ', ''), '+', ''), '-', ''), '(', ''), ')', ''), '.', ''), '/', '') AS d FROM companies);
INSERT INTO search_companies (rowid, name, domain, website, email, phone, digits)
        SELECT id, name, domain, website, email, phone, digits FROM search_companies_rows;
CREATE TRIGGER search_companies_insert AFTER INSERT ON companies BEGIN
    INSERT INTO search_companies (rowid, name, domain, website, email, phone, digits)
        SELECT id, name, domain, website, email, phone, digits FROM search_companies_rows WHERE id = new.id;
END;
CREATE TRIGGER search_companies_update AFTER UPDATE OF name, domain, website, email, phone ON companies
WHEN old.name IS NOT new.name OR old.domain IS NOT new.domain OR old.website IS NOT new.website OR old.email IS NOT new.email OR old.phone IS NOT new.phone BEGIN
    DELETE FROM search_companies WHERE rowid = old.id;
    INSERT INTO search_companies (rowid, name, domain, website, email, phone, digits)
        SELECT id, name, domain, website, email, phone, digits FROM search_companies_rows WHERE id = new.id;
END;
CREATE TRIGGER search_companies_delete AFTER DELETE ON companies BEGIN
    DELETE FROM search_companies WHERE rowid = old.id;
END;

CREATE VIRTUAL TABLE search_contacts USING fts5(full_name, email, job_title, phone, digits, content='', contentless_delete=1,
    tokenize='unicode61 remove_diacritics 2', prefix='2 3');
CREATE VIEW search_contacts_rows AS
    SELECT id, full_name, email, job_title, phone,
           CASE WHEN length(d) >= 3 THEN substr(d, 1) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 4 THEN substr(d, 2) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 5 THEN substr(d, 3) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 6 THEN substr(d, 4) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 7 THEN substr(d, 5) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 8 THEN substr(d, 6) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 9 THEN substr(d, 7) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 10 THEN substr(d, 8) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 11 THEN substr(d, 9) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 12 THEN substr(d, 10) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 13 THEN substr(d, 11) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 14 THEN substr(d, 12) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 15 THEN substr(d, 13) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 16 THEN substr(d, 14) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 17 THEN substr(d, 15) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 18 THEN substr(d, 16) || ' ' ELSE '' END AS digits
    FROM (SELECT id, full_name, email, job_title, phone, replace(replace(replace(replace(replace(replace(replace(phone, ' ', ''), '+', ''), '-', ''), '(', ''), ')', ''), '.', ''), '/', '') AS d FROM contacts);
INSERT INTO search_contacts (rowid, full_name, email, job_title, phone, digits)
        SELECT id, full_name, email, job_title, phone, digits FROM search_contacts_rows;
CREATE TRIGGER search_contacts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO search_contacts (rowid, full_name, email, job_title, phone, digits)
        SELECT id, full_name, email, job_title, phone, digits FROM search_contacts_rows WHERE id = new.id;
END;
CREATE TRIGGER search_contacts_update AFTER UPDATE OF full_name, email, job_title, phone ON contacts
WHEN old.full_name IS NOT new.full_name OR old.email IS NOT new.email OR old.job_title IS NOT new.job_title OR old.phone IS NOT new.phone BEGIN
    DELETE FROM search_contacts WHERE rowid = old.id;
    INSERT INTO search_contacts (rowid, full_name, email, job_title, phone, digits)
        SELECT id, full_name, email, job_title, phone, digits FROM search_contacts_rows WHERE id = new.id;
END;
CREATE TRIGGER search_contacts_delete AFTER DELETE ON contacts BEGIN
    DELETE FROM search_contacts WHERE rowid = old.id;
END;

CREATE VIRTUAL TABLE search_projects USING fts5(name, external_id, content='', contentless_delete=1,
    tokenize='unicode61 remove_diacritics 2', prefix='2 3');
CREATE VIEW search_projects_rows AS SELECT id, name, external_id FROM projects;
INSERT INTO search_projects (rowid, name, external_id)
        SELECT id, name, external_id FROM search_projects_rows;
CREATE TRIGGER search_projects_insert AFTER INSERT ON projects BEGIN
    INSERT INTO search_projects (rowid, name, external_id)
        SELECT id, name, external_id FROM search_projects_rows WHERE id = new.id;
END;
CREATE TRIGGER search_projects_update AFTER UPDATE OF name, external_id ON projects
WHEN old.name IS NOT new.name OR old.external_id IS NOT new.external_id BEGIN
    DELETE FROM search_projects WHERE rowid = old.id;
    INSERT INTO search_projects (rowid, name, external_id)
        SELECT id, name, external_id FROM search_projects_rows WHERE id = new.id;
END;
CREATE TRIGGER search_projects_delete AFTER DELETE ON projects BEGIN
    DELETE FROM search_projects WHERE rowid = old.id;
END;

CREATE VIRTUAL TABLE search_enquiries USING fts5(name, email, company_name, subject, phone, digits, content='', contentless_delete=1,
    tokenize='unicode61 remove_diacritics 2', prefix='2 3');
CREATE VIEW search_enquiries_rows AS
    SELECT id, name, email, company_name, subject, phone,
           CASE WHEN length(d) >= 3 THEN substr(d, 1) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 4 THEN substr(d, 2) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 5 THEN substr(d, 3) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 6 THEN substr(d, 4) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 7 THEN substr(d, 5) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 8 THEN substr(d, 6) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 9 THEN substr(d, 7) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 10 THEN substr(d, 8) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 11 THEN substr(d, 9) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 12 THEN substr(d, 10) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 13 THEN substr(d, 11) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 14 THEN substr(d, 12) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 15 THEN substr(d, 13) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 16 THEN substr(d, 14) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 17 THEN substr(d, 15) || ' ' ELSE '' END
           || CASE WHEN length(d) >= 18 THEN substr(d, 16) || ' ' ELSE '' END AS digits
    FROM (SELECT id, name, email, company_name, subject, phone, replace(replace(replace(replace(replace(replace(replace(phone, ' ', ''), '+', ''), '-', ''), '(', ''), ')', ''), '.', ''), '/', '') AS d FROM enquiries);
INSERT INTO search_enquiries (rowid, name, email, company_name, subject, phone, digits)
        SELECT id, name, email, company_name, subject, phone, digits FROM search_enquiries_rows;
CREATE TRIGGER search_enquiries_insert AFTER INSERT ON enquiries BEGIN
    INSERT INTO search_enquiries (rowid, name, email, company_name, subject, phone, digits)
        SELECT id, name, email, company_name, subject, phone, digits FROM search_enquiries_rows WHERE id = new.id;
END;
CREATE TRIGGER search_enquiries_update AFTER UPDATE OF name, email, company_name, subject, phone ON enquiries
WHEN old.name IS NOT new.name OR old.email IS NOT new.email OR old.company_name IS NOT new.company_name OR old.subject IS NOT new.subject OR old.phone IS NOT new.phone BEGIN
    DELETE FROM search_enquiries WHERE rowid = old.id;
    INSERT INTO search_enquiries (rowid, name, email, company_name, subject, phone, digits)
        SELECT id, name, email, company_name, subject, phone, digits FROM search_enquiries_rows WHERE id = new.id;
END;
CREATE TRIGGER search_enquiries_delete AFTER DELETE ON enquiries BEGIN
    DELETE FROM search_enquiries WHERE rowid = old.id;
END;

CREATE VIRTUAL TABLE search_tasks USING fts5(title, content='', contentless_delete=1,
    tokenize='unicode61 remove_diacritics 2', prefix='2 3');
CREATE VIEW search_tasks_rows AS SELECT id, title FROM tasks;
INSERT INTO search_tasks (rowid, title)
        SELECT id, title FROM search_tasks_rows;
CREATE TRIGGER search_tasks_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO search_tasks (rowid, title)
        SELECT id, title FROM search_tasks_rows WHERE id = new.id;
END;
CREATE TRIGGER search_tasks_update AFTER UPDATE OF title ON tasks
WHEN old.title IS NOT new.title BEGIN
    DELETE FROM search_tasks WHERE rowid = old.id;
    INSERT INTO search_tasks (rowid, title)
        SELECT id, title FROM search_tasks_rows WHERE id = new.id;
END;
CREATE TRIGGER search_tasks_delete AFTER DELETE ON tasks BEGIN
    DELETE FROM search_tasks WHERE rowid = old.id;
END;

CREATE VIRTUAL TABLE search_meetings USING fts5(title, location, content='', contentless_delete=1,
    tokenize='unicode61 remove_diacritics 2', prefix='2 3');
CREATE VIEW search_meetings_rows AS SELECT id, title, location FROM meetings;
INSERT INTO search_meetings (rowid, title, location)
        SELECT id, title, location FROM search_meetings_rows;
CREATE TRIGGER search_meetings_insert AFTER INSERT ON meetings BEGIN
    INSERT INTO search_meetings (rowid, title, location)
        SELECT id, title, location FROM search_meetings_rows WHERE id = new.id;
END;
CREATE TRIGGER search_meetings_update AFTER UPDATE OF title, location ON meetings
WHEN old.title IS NOT new.title OR old.location IS NOT new.location BEGIN
    DELETE FROM search_meetings WHERE rowid = old.id;
    INSERT INTO search_meetings (rowid, title, location)
        SELECT id, title, location FROM search_meetings_rows WHERE id = new.id;
END;
CREATE TRIGGER search_meetings_delete AFTER DELETE ON meetings BEGIN
    DELETE FROM search_meetings WHERE rowid = old.id;
END;
