DROP TRIGGER companies_phase_counts_delete;
DROP TRIGGER companies_phase_counts_update;
DROP TRIGGER companies_phase_counts_insert;
DROP TABLE phase_counts;
