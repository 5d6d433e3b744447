-- How many companies each phase shows on its board, kept by triggers so that a board reads a
-- few rows instead of counting its pipeline's companies. SQLite writes one transaction at a
-- time, so one row per phase is updated in place. A phase's count is the sum of its rows (one
-- here; PostgreSQL keeps deltas).
CREATE TABLE phase_counts (
    phase_id BIGINT NOT NULL PRIMARY KEY REFERENCES phases (id) ON DELETE CASCADE,
    companies BIGINT NOT NULL
);

CREATE TRIGGER companies_phase_counts_insert AFTER INSERT ON companies
    WHEN NEW.phase_id IS NOT NULL AND NEW.show_in_pipeline
BEGIN
    INSERT INTO phase_counts (phase_id, companies) VALUES (NEW.phase_id, 1)
    ON CONFLICT (phase_id) DO UPDATE SET companies = phase_counts.companies + 1;
END;

CREATE TRIGGER companies_phase_counts_update AFTER UPDATE OF phase_id, show_in_pipeline ON companies
BEGIN
    UPDATE phase_counts SET companies = companies - 1
    WHERE OLD.phase_id IS NOT NULL AND OLD.show_in_pipeline AND phase_id = OLD.phase_id;
    INSERT INTO phase_counts (phase_id, companies)
    SELECT NEW.phase_id, 1 WHERE NEW.phase_id IS NOT NULL AND NEW.show_in_pipeline
    ON CONFLICT (phase_id) DO UPDATE SET companies = phase_counts.companies + 1;
END;

CREATE TRIGGER companies_phase_counts_delete AFTER DELETE ON companies
    WHEN OLD.phase_id IS NOT NULL AND OLD.show_in_pipeline
BEGIN
    UPDATE phase_counts SET companies = companies - 1 WHERE phase_id = OLD.phase_id;
END;

INSERT INTO phase_counts (phase_id, companies)
SELECT phase_id, COUNT(*) FROM companies
WHERE phase_id IS NOT NULL AND show_in_pipeline
GROUP BY phase_id;
