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
CREATE TABLE phases_rebuilt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    pipeline_id BIGINT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('prospect', 'active', 'latent')),
    follow_up_after_days BIGINT,
    allowed_next TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO phases_rebuilt SELECT id, account_id, pipeline_id, name, position, status, follow_up_after_days, allowed_next, created_at, updated_at FROM phases;
DROP TABLE phases;
ALTER TABLE phases_rebuilt RENAME TO phases;
CREATE INDEX phases_pipeline ON phases (pipeline_id, position);
