-- Search ranked inside the index (GET /v1/search) on PostgreSQL: each searchable kind of
-- record's title folded as search compares it (`search_key`: search_fold without its spaces
-- at either end, so `Müller & Söhne` is `muller sohne`), in a B-tree after `account_id` and
-- before `id`. "The title is the query" is then one range of it in id order, and "the title
-- begins with the query" one range (`> key AND < key || chr(1114111)`) that the planner
-- reads in key order when it is small, where the trigram index found every title holding the
-- query's common words and each was scored. COLLATE "C" so that the range is byte order
-- under any database collation. The indexes are on the tables: every write path keeps them.
CREATE FUNCTION search_key(TEXT) RETURNS TEXT LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT btrim(search_fold($1)) $$;

CREATE INDEX companies_search_title ON companies (account_id, (search_key(name) COLLATE "C"), id);
CREATE INDEX contacts_search_title ON contacts (account_id, (search_key(full_name) COLLATE "C"), id);
CREATE INDEX projects_search_title ON projects (account_id, (search_key(name) COLLATE "C"), id);
CREATE INDEX enquiries_search_title ON enquiries (account_id,
    (search_key(COALESCE(name, email, company_name, subject, phone, '')) COLLATE "C"), id);
CREATE INDEX tasks_search_title ON tasks (account_id, (search_key(title) COLLATE "C"), id);
CREATE INDEX meetings_search_title ON meetings (account_id, (search_key(title) COLLATE "C"), id);

-- The words of each kind of record's folded text (000027's expressions) as lexemes, verbatim,
-- and for each word its first 3 and first 6 characters marked by `^` (`^exa`, `^exampl`):
-- a query's whole words are lexemes the GIN index finds by their own entries, so a rare one
-- (`123456`, `person123456`) decides the cost, where the trigram indexes had to intersect the
-- entries of every trigram of `seed` and `company`, present in all 1,000,000 rows (70 ms a
-- statement); the word being typed is one marked prefix entry too (checked whole on the
-- record), where a prefix query (`example:*`) merges every entry of every word it begins
-- first. Words longer than 2,000 bytes are left out (a lexeme's limit is 2,047). The
-- trigram indexes of the text go; those of the phone digits stay (a fragment is a substring).
CREATE FUNCTION search_words(TEXT) RETURNS tsvector LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
    SELECT array_to_tsvector(ARRAY(
        SELECT w FROM unnest(a) w WHERE w <> '' AND octet_length(w) <= 2000
        UNION SELECT '^' || left(w, 3) FROM unnest(a) w WHERE char_length(w) >= 3
        UNION SELECT '^' || left(w, 6) FROM unnest(a) w WHERE char_length(w) >= 6))
    FROM (SELECT string_to_array(btrim(search_fold($1)), ' ') AS a) words
$$;

CREATE INDEX companies_search_words ON companies USING gin (search_words(
    name || ' ' || COALESCE(domain, '') || ' ' || COALESCE(website, '') || ' '
    || COALESCE(email, '') || ' ' || COALESCE(phone, '')));
CREATE INDEX contacts_search_words ON contacts USING gin (search_words(
    full_name || ' ' || COALESCE(email, '') || ' ' || COALESCE(job_title, '') || ' '
    || COALESCE(phone, '')));
CREATE INDEX projects_search_words ON projects USING gin (search_words(
    name || ' ' || COALESCE(external_id, '')));
CREATE INDEX enquiries_search_words ON enquiries USING gin (search_words(
    COALESCE(name, '') || ' ' || COALESCE(email, '') || ' ' || COALESCE(company_name, '') || ' '
    || COALESCE(subject, '') || ' ' || COALESCE(phone, '')));
CREATE INDEX tasks_search_words ON tasks USING gin (search_words(title));
CREATE INDEX meetings_search_words ON meetings USING gin (search_words(
    title || ' ' || COALESCE(location, '')));
DROP INDEX companies_search;
DROP INDEX contacts_search;
DROP INDEX projects_search;
DROP INDEX enquiries_search;
DROP INDEX tasks_search;
DROP INDEX meetings_search;
