-- Search ranked inside the index (GET /v1/search): each FTS5 index of 000027 made again with
--   * `ends`: the title's first word marked by U+E001 in front and its last word marked by
--     U+E000 behind (private-use characters, which unicode61 keeps in a token and no query
--     word holds), so that "the title is the query" and "the title begins with the query"
--     are FTS5 queries that rare terms drive (`"\ue001seed"` and `"123456\ue000"`), not
--     a scan of every title holding the query's common words;
--   * prefix indexes of 1, 2, 3, 4 and 6 characters: the word still being typed is matched
--     by the longest of them that fits it (`compan`* for `company`), read lazily in rowid
--     order, where a prefix without an index of its length makes FTS5 merge the doclists
--     of every word it begins into memory first (30 ms for `example`* at 1,000,000 rows);
--     the statement checks the whole word on the record itself;
--   * enquiries' title (the first of name, email, company name, subject, phone) as a column.
-- The first and last words are cut at spaces, after ASCII punctuation is trimmed from both
-- ends of the title; a title that ends otherwise ranks a tier lower, never goes unfound.
-- The triggers live on the tables: a later migration that rebuilds one of these tables
-- (create, copy, drop, rename) must create its triggers again.

DROP TRIGGER search_companies_insert;
DROP TRIGGER search_companies_update;
DROP TRIGGER search_companies_delete;
DROP VIEW search_companies_rows;
DROP TABLE search_companies;
CREATE VIRTUAL TABLE search_companies USING fts5(name, domain, website, email, phone, digits, ends, content='', contentless_delete=1,
    tokenize='unicode61 remove_diacritics 2', prefix='1 2 3 4 6');
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
           || CASE WHEN length(d) >= 18 THEN substr(d, 16) || ' ' ELSE '' END AS digits, char(57345) || substr(t, 1, instr(t || ' ', ' ') - 1) || ' '
           || substr(t, length(rtrim(t, replace(t, ' ', ''))) + 1) || char(57344) AS ends
    FROM (SELECT id, name, domain, website, email, phone, trim(name, ' !"#$%&''()*+,-./:;<=>?@[\]^_`{|}~') AS t, replace(replace(replace(replace(replace(replace(replace(phone, ' ', ''), '+', ''), '-', ''), '(', ''), ')', ''), '.', ''), '/', '') AS d FROM companies);
INSERT INTO search_companies (rowid, name, domain, website, email, phone, digits, ends)
        SELECT id, name, domain, website, email, phone, digits, ends FROM search_companies_rows;
CREATE TRIGGER search_companies_insert AFTER INSERT ON companies BEGIN
    INSERT INTO search_companies (rowid, name, domain, website, email, phone, digits, ends)
        SELECT id, name, domain, website, email, phone, digits, ends FROM search_companies_rows WHERE id = new.id;
END;
CREATE TRIGGER search_companies_update AFTER UPDATE OF name, domain, website, email, phone ON companies
WHEN old.name IS NOT new.name OR old.domain IS NOT new.domain OR old.website IS NOT new.website OR old.email IS NOT new.email OR old.phone IS NOT new.phone BEGIN
    DELETE FROM search_companies WHERE rowid = old.id;
    INSERT INTO search_companies (rowid, name, domain, website, email, phone, digits, ends)
        SELECT id, name, domain, website, email, phone, digits, ends FROM search_companies_rows WHERE id = new.id;
END;
CREATE TRIGGER search_companies_delete AFTER DELETE ON companies BEGIN
    DELETE FROM search_companies WHERE rowid = old.id;
END;

DROP TRIGGER search_contacts_insert;
DROP TRIGGER search_contacts_update;
DROP TRIGGER search_contacts_delete;
DROP VIEW search_contacts_rows;
DROP TABLE search_contacts;
CREATE VIRTUAL TABLE search_contacts USING fts5(full_name, email, job_title, phone, digits, ends, content='', contentless_delete=1,
    tokenize='unicode61 remove_diacritics 2', prefix='1 2 3 4 6');
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
           || CASE WHEN length(d) >= 18 THEN substr(d, 16) || ' ' ELSE '' END AS digits, char(57345) || substr(t, 1, instr(t || ' ', ' ') - 1) || ' '
           || substr(t, length(rtrim(t, replace(t, ' ', ''))) + 1) || char(57344) AS ends
    FROM (SELECT id, full_name, email, job_title, phone, trim(full_name, ' !"#$%&''()*+,-./:;<=>?@[\]^_`{|}~') AS t, replace(replace(replace(replace(replace(replace(replace(phone, ' ', ''), '+', ''), '-', ''), '(', ''), ')', ''), '.', ''), '/', '') AS d FROM contacts);
INSERT INTO search_contacts (rowid, full_name, email, job_title, phone, digits, ends)
        SELECT id, full_name, email, job_title, phone, digits, ends FROM search_contacts_rows;
CREATE TRIGGER search_contacts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO search_contacts (rowid, full_name, email, job_title, phone, digits, ends)
        SELECT id, full_name, email, job_title, phone, digits, ends FROM search_contacts_rows WHERE id = new.id;
END;
CREATE TRIGGER search_contacts_update AFTER UPDATE OF full_name, email, job_title, phone ON contacts
WHEN old.full_name IS NOT new.full_name OR old.email IS NOT new.email OR old.job_title IS NOT new.job_title OR old.phone IS NOT new.phone BEGIN
    DELETE FROM search_contacts WHERE rowid = old.id;
    INSERT INTO search_contacts (rowid, full_name, email, job_title, phone, digits, ends)
        SELECT id, full_name, email, job_title, phone, digits, ends FROM search_contacts_rows WHERE id = new.id;
END;
CREATE TRIGGER search_contacts_delete AFTER DELETE ON contacts BEGIN
    DELETE FROM search_contacts WHERE rowid = old.id;
END;

DROP TRIGGER search_projects_insert;
DROP TRIGGER search_projects_update;
DROP TRIGGER search_projects_delete;
DROP VIEW search_projects_rows;
DROP TABLE search_projects;
CREATE VIRTUAL TABLE search_projects USING fts5(name, external_id, ends, content='', contentless_delete=1,
    tokenize='unicode61 remove_diacritics 2', prefix='1 2 3 4 6');
CREATE VIEW search_projects_rows AS
    SELECT id, name, external_id, char(57345) || substr(t, 1, instr(t || ' ', ' ') - 1) || ' '
           || substr(t, length(rtrim(t, replace(t, ' ', ''))) + 1) || char(57344) AS ends
    FROM (SELECT id, name, external_id, trim(name, ' !"#$%&''()*+,-./:;<=>?@[\]^_`{|}~') AS t FROM projects);
INSERT INTO search_projects (rowid, name, external_id, ends)
        SELECT id, name, external_id, ends FROM search_projects_rows;
CREATE TRIGGER search_projects_insert AFTER INSERT ON projects BEGIN
    INSERT INTO search_projects (rowid, name, external_id, ends)
        SELECT id, name, external_id, ends FROM search_projects_rows WHERE id = new.id;
END;
CREATE TRIGGER search_projects_update AFTER UPDATE OF name, external_id ON projects
WHEN old.name IS NOT new.name OR old.external_id IS NOT new.external_id BEGIN
    DELETE FROM search_projects WHERE rowid = old.id;
    INSERT INTO search_projects (rowid, name, external_id, ends)
        SELECT id, name, external_id, ends FROM search_projects_rows WHERE id = new.id;
END;
CREATE TRIGGER search_projects_delete AFTER DELETE ON projects BEGIN
    DELETE FROM search_projects WHERE rowid = old.id;
END;

DROP TRIGGER search_enquiries_insert;
DROP TRIGGER search_enquiries_update;
DROP TRIGGER search_enquiries_delete;
DROP VIEW search_enquiries_rows;
DROP TABLE search_enquiries;
CREATE VIRTUAL TABLE search_enquiries USING fts5(title, name, email, company_name, subject, phone, digits, ends, content='', contentless_delete=1,
    tokenize='unicode61 remove_diacritics 2', prefix='1 2 3 4 6');
CREATE VIEW search_enquiries_rows AS
    SELECT id, t AS title, name, email, company_name, subject, phone, 
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
           || CASE WHEN length(d) >= 18 THEN substr(d, 16) || ' ' ELSE '' END AS digits, char(57345) || substr(t, 1, instr(t || ' ', ' ') - 1) || ' '
           || substr(t, length(rtrim(t, replace(t, ' ', ''))) + 1) || char(57344) AS ends
    FROM (SELECT id, name, email, company_name, subject, phone, trim(COALESCE(name, email, company_name, subject, phone, ''), ' !"#$%&''()*+,-./:;<=>?@[\]^_`{|}~') AS t, replace(replace(replace(replace(replace(replace(replace(phone, ' ', ''), '+', ''), '-', ''), '(', ''), ')', ''), '.', ''), '/', '') AS d FROM enquiries);
INSERT INTO search_enquiries (rowid, title, name, email, company_name, subject, phone, digits, ends)
        SELECT id, title, name, email, company_name, subject, phone, digits, ends FROM search_enquiries_rows;
CREATE TRIGGER search_enquiries_insert AFTER INSERT ON enquiries BEGIN
    INSERT INTO search_enquiries (rowid, title, name, email, company_name, subject, phone, digits, ends)
        SELECT id, title, name, email, company_name, subject, phone, digits, ends FROM search_enquiries_rows WHERE id = new.id;
END;
CREATE TRIGGER search_enquiries_update AFTER UPDATE OF name, email, company_name, subject, phone ON enquiries
WHEN old.name IS NOT new.name OR old.email IS NOT new.email OR old.company_name IS NOT new.company_name OR old.subject IS NOT new.subject OR old.phone IS NOT new.phone BEGIN
    DELETE FROM search_enquiries WHERE rowid = old.id;
    INSERT INTO search_enquiries (rowid, title, name, email, company_name, subject, phone, digits, ends)
        SELECT id, title, name, email, company_name, subject, phone, digits, ends FROM search_enquiries_rows WHERE id = new.id;
END;
CREATE TRIGGER search_enquiries_delete AFTER DELETE ON enquiries BEGIN
    DELETE FROM search_enquiries WHERE rowid = old.id;
END;

DROP TRIGGER search_tasks_insert;
DROP TRIGGER search_tasks_update;
DROP TRIGGER search_tasks_delete;
DROP VIEW search_tasks_rows;
DROP TABLE search_tasks;
CREATE VIRTUAL TABLE search_tasks USING fts5(title, ends, content='', contentless_delete=1,
    tokenize='unicode61 remove_diacritics 2', prefix='1 2 3 4 6');
CREATE VIEW search_tasks_rows AS
    SELECT id, title, char(57345) || substr(t, 1, instr(t || ' ', ' ') - 1) || ' '
           || substr(t, length(rtrim(t, replace(t, ' ', ''))) + 1) || char(57344) AS ends
    FROM (SELECT id, title, trim(title, ' !"#$%&''()*+,-./:;<=>?@[\]^_`{|}~') AS t FROM tasks);
INSERT INTO search_tasks (rowid, title, ends)
        SELECT id, title, ends FROM search_tasks_rows;
CREATE TRIGGER search_tasks_insert AFTER INSERT ON tasks BEGIN
    INSERT INTO search_tasks (rowid, title, ends)
        SELECT id, title, ends FROM search_tasks_rows WHERE id = new.id;
END;
CREATE TRIGGER search_tasks_update AFTER UPDATE OF title ON tasks
WHEN old.title IS NOT new.title BEGIN
    DELETE FROM search_tasks WHERE rowid = old.id;
    INSERT INTO search_tasks (rowid, title, ends)
        SELECT id, title, ends FROM search_tasks_rows WHERE id = new.id;
END;
CREATE TRIGGER search_tasks_delete AFTER DELETE ON tasks BEGIN
    DELETE FROM search_tasks WHERE rowid = old.id;
END;

DROP TRIGGER search_meetings_insert;
DROP TRIGGER search_meetings_update;
DROP TRIGGER search_meetings_delete;
DROP VIEW search_meetings_rows;
DROP TABLE search_meetings;
CREATE VIRTUAL TABLE search_meetings USING fts5(title, location, ends, content='', contentless_delete=1,
    tokenize='unicode61 remove_diacritics 2', prefix='1 2 3 4 6');
CREATE VIEW search_meetings_rows AS
    SELECT id, title, location, char(57345) || substr(t, 1, instr(t || ' ', ' ') - 1) || ' '
           || substr(t, length(rtrim(t, replace(t, ' ', ''))) + 1) || char(57344) AS ends
    FROM (SELECT id, title, location, trim(title, ' !"#$%&''()*+,-./:;<=>?@[\]^_`{|}~') AS t FROM meetings);
INSERT INTO search_meetings (rowid, title, location, ends)
        SELECT id, title, location, ends FROM search_meetings_rows;
CREATE TRIGGER search_meetings_insert AFTER INSERT ON meetings BEGIN
    INSERT INTO search_meetings (rowid, title, location, ends)
        SELECT id, title, location, ends FROM search_meetings_rows WHERE id = new.id;
END;
CREATE TRIGGER search_meetings_update AFTER UPDATE OF title, location ON meetings
WHEN old.title IS NOT new.title OR old.location IS NOT new.location BEGIN
    DELETE FROM search_meetings WHERE rowid = old.id;
    INSERT INTO search_meetings (rowid, title, location, ends)
        SELECT id, title, location, ends FROM search_meetings_rows WHERE id = new.id;
END;
CREATE TRIGGER search_meetings_delete AFTER DELETE ON meetings BEGIN
    DELETE FROM search_meetings WHERE rowid = old.id;
END;
