DROP INDEX companies_search_title;
DROP INDEX contacts_search_title;
DROP INDEX projects_search_title;
DROP INDEX enquiries_search_title;
DROP INDEX tasks_search_title;
DROP INDEX meetings_search_title;
DROP FUNCTION search_key(TEXT);
DROP INDEX companies_search_words;
DROP INDEX contacts_search_words;
DROP INDEX projects_search_words;
DROP INDEX enquiries_search_words;
DROP INDEX tasks_search_words;
DROP INDEX meetings_search_words;
DROP FUNCTION search_words(TEXT);
-- 000027's trigram indexes of the text, as they were.
CREATE INDEX companies_search ON companies USING gin (search_fold(
    name || ' ' || COALESCE(domain, '') || ' ' || COALESCE(website, '') || ' '
    || COALESCE(email, '') || ' ' || COALESCE(phone, '')) gin_trgm_ops);
CREATE INDEX contacts_search ON contacts USING gin (search_fold(
    full_name || ' ' || COALESCE(email, '') || ' ' || COALESCE(job_title, '') || ' '
    || COALESCE(phone, '')) gin_trgm_ops);
CREATE INDEX projects_search ON projects USING gin (search_fold(
    name || ' ' || COALESCE(external_id, '')) gin_trgm_ops);
CREATE INDEX enquiries_search ON enquiries USING gin (search_fold(
    COALESCE(name, '') || ' ' || COALESCE(email, '') || ' ' || COALESCE(company_name, '') || ' '
    || COALESCE(subject, '') || ' ' || COALESCE(phone, '')) gin_trgm_ops);
CREATE INDEX tasks_search ON tasks USING gin (search_fold(title) gin_trgm_ops);
CREATE INDEX meetings_search ON meetings USING gin (search_fold(
    title || ' ' || COALESCE(location, '')) gin_trgm_ops);
