-- Cross-record search (GET /v1/search) on PostgreSQL: pg_trgm GIN indexes on each searchable
-- kind of record's folded text, which LIKE '% word%' (a word beginning a word of the text)
-- searches, and on its phone's digits, which LIKE '%digits%' searches. The indexes are on the
-- tables themselves, so every write path keeps them. Both extensions are trusted: the
-- database's owner may create them.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS unaccent;

-- The text as search reads it: without diacritics, in lower case, every run of characters
-- that are neither letters nor digits one space, and a space in front, so that a word's
-- beginning is a space followed by it. IMMUTABLE so that indexes can hold it: unaccent names
-- its dictionary by schema, and the function its schema, so no search_path changes it.
DO $$
DECLARE
    home TEXT;
BEGIN
    SELECT n.nspname INTO home
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'unaccent';
    EXECUTE format(
        'CREATE FUNCTION search_fold(TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE '
        'AS $f$ SELECT '' '' || regexp_replace(lower(%I.unaccent(%L::regdictionary, $1)), '
        '''[^[:alnum:]]+'', '' '', ''g'') $f$',
        home, home || '.unaccent');
END
$$;

-- The digits of a phone number.
CREATE FUNCTION search_digits(TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT regexp_replace($1, '[^0-9]', '', 'g') $$;

CREATE INDEX companies_search ON companies USING gin (search_fold(
    name || ' ' || COALESCE(domain, '') || ' ' || COALESCE(website, '') || ' '
    || COALESCE(email, '') || ' ' || COALESCE(phone, '')) gin_trgm_ops);
CREATE INDEX companies_search_phone ON companies USING gin (search_digits(phone) gin_trgm_ops)
    WHERE phone IS NOT NULL;
CREATE INDEX contacts_search ON contacts USING gin (search_fold(
    full_name || ' ' || COALESCE(email, '') || ' ' || COALESCE(job_title, '') || ' '
    || COALESCE(phone, '')) gin_trgm_ops);
CREATE INDEX contacts_search_phone ON contacts USING gin (search_digits(phone) gin_trgm_ops)
    WHERE phone IS NOT NULL;
CREATE INDEX projects_search ON projects USING gin (search_fold(
    name || ' ' || COALESCE(external_id, '')) gin_trgm_ops);
CREATE INDEX enquiries_search ON enquiries USING gin (search_fold(
    COALESCE(name, '') || ' ' || COALESCE(email, '') || ' ' || COALESCE(company_name, '') || ' '
    || COALESCE(subject, '') || ' ' || COALESCE(phone, '')) gin_trgm_ops);
CREATE INDEX enquiries_search_phone ON enquiries USING gin (search_digits(phone) gin_trgm_ops)
    WHERE phone IS NOT NULL;
CREATE INDEX tasks_search ON tasks USING gin (search_fold(title) gin_trgm_ops);
CREATE INDEX meetings_search ON meetings USING gin (search_fold(
    title || ' ' || COALESCE(location, '')) gin_trgm_ops);
