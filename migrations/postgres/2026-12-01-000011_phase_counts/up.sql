-- How many companies each phase shows on its board, kept by triggers so that a board reads a
-- few rows instead of counting its pipeline's companies.
--
-- On PostgreSQL the table holds deltas: every statement that adds, moves or removes companies
-- inserts one row per phase it changed, and the service compacts a phase's rows into one from
-- time to time. Inserts never wait on each other, so counting adds no lock that concurrent
-- moves could deadlock on. A phase's count is the sum of its rows. No foreign key: rows of
-- removed phases are dropped by the compaction.
CREATE TABLE phase_counts (
    phase_id BIGINT NOT NULL,
    companies BIGINT NOT NULL
);
CREATE INDEX phase_counts_phase ON phase_counts (phase_id);

CREATE FUNCTION phase_counts_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO phase_counts (phase_id, companies)
    SELECT phase_id, COUNT(*) FROM new_rows
    WHERE phase_id IS NOT NULL AND show_in_pipeline
    GROUP BY phase_id;
    RETURN NULL;
END
$$;

CREATE FUNCTION phase_counts_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO phase_counts (phase_id, companies)
    SELECT phase_id, SUM(delta) FROM (
        SELECT phase_id, -1 AS delta FROM old_rows WHERE phase_id IS NOT NULL AND show_in_pipeline
        UNION ALL
        SELECT phase_id, 1 AS delta FROM new_rows WHERE phase_id IS NOT NULL AND show_in_pipeline
    ) AS changes
    GROUP BY phase_id
    HAVING SUM(delta) <> 0;
    RETURN NULL;
END
$$;

CREATE FUNCTION phase_counts_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO phase_counts (phase_id, companies)
    SELECT phase_id, -COUNT(*) FROM old_rows
    WHERE phase_id IS NOT NULL AND show_in_pipeline
    GROUP BY phase_id;
    RETURN NULL;
END
$$;

CREATE TRIGGER companies_phase_counts_insert AFTER INSERT ON companies
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION phase_counts_after_insert();
CREATE TRIGGER companies_phase_counts_update AFTER UPDATE ON companies
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION phase_counts_after_update();
CREATE TRIGGER companies_phase_counts_delete AFTER DELETE ON companies
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION phase_counts_after_delete();

INSERT INTO phase_counts (phase_id, companies)
SELECT phase_id, COUNT(*) FROM companies
WHERE phase_id IS NOT NULL AND show_in_pipeline
GROUP BY phase_id;
