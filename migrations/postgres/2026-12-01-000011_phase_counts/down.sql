DROP TRIGGER companies_phase_counts_delete ON companies;
DROP TRIGGER companies_phase_counts_update ON companies;
DROP TRIGGER companies_phase_counts_insert ON companies;
DROP FUNCTION phase_counts_after_delete();
DROP FUNCTION phase_counts_after_update();
DROP FUNCTION phase_counts_after_insert();
DROP TABLE phase_counts;
