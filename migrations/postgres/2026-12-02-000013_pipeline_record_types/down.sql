DELETE FROM phase_counts WHERE phase_id IN (
    SELECT phases.id FROM phases JOIN pipelines ON pipelines.id = phases.pipeline_id
    WHERE pipelines.record_type = 'project');
UPDATE pipelines SET won_phase_id = NULL, lost_phase_id = NULL WHERE record_type = 'project';
DELETE FROM phases WHERE pipeline_id IN (SELECT id FROM pipelines WHERE record_type = 'project');
DELETE FROM pipelines WHERE record_type = 'project';
DROP INDEX pipelines_account_kind;
DROP INDEX pipelines_one_default;
CREATE UNIQUE INDEX pipelines_one_default ON pipelines (account_id) WHERE is_default;
ALTER TABLE pipelines DROP COLUMN record_type;
ALTER TABLE phases DROP CONSTRAINT phases_status_check;
ALTER TABLE phases ADD CONSTRAINT phases_status_check CHECK (status IN ('prospect', 'active', 'latent'));
