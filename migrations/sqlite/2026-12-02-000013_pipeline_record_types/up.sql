-- A pipeline holds one kind of record, fixed when it is created: companies (every pipeline so
-- far) or projects. Each kind has its default pipeline, and its own phase states.
ALTER TABLE pipelines ADD COLUMN record_type TEXT NOT NULL DEFAULT 'company'
    CHECK (record_type IN ('company', 'project'));
DROP INDEX pipelines_one_default;
CREATE UNIQUE INDEX pipelines_one_default ON pipelines (account_id, record_type) WHERE is_default;
CREATE INDEX pipelines_account_kind ON pipelines (account_id, record_type, id);

-- Phase states of both kinds. SQLite cannot change a CHECK constraint: the table is rebuilt
-- (migrations run with foreign keys off, and are checked after; see Db::migrate).
CREATE TABLE phases_rebuilt (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    pipeline_id BIGINT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('prospect', 'active', 'latent', 'proposed', 'won', 'completed', 'lost', 'cancelled')),
    follow_up_after_days BIGINT,
    -- JSON list of phase ids that may follow this one; empty: any.
    allowed_next TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
INSERT INTO phases_rebuilt (id, account_id, pipeline_id, name, position, status, follow_up_after_days, allowed_next, created_at, updated_at)
SELECT id, account_id, pipeline_id, name, position, status, follow_up_after_days, allowed_next, created_at, updated_at FROM phases;
DROP TABLE phases;
ALTER TABLE phases_rebuilt RENAME TO phases;
CREATE INDEX phases_pipeline ON phases (pipeline_id, position);

-- Every account gets the default project pipeline new accounts are created with.
INSERT INTO pipelines (account_id, name, record_type, is_default, version, created_at, updated_at)
SELECT id, 'Projects', 'project', TRUE, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM accounts;
INSERT INTO phases (account_id, pipeline_id, name, position, status, follow_up_after_days, allowed_next, created_at, updated_at)
SELECT account_id, id, 'Lead', 0, 'proposed', NULL, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM pipelines WHERE record_type = 'project';
INSERT INTO phases (account_id, pipeline_id, name, position, status, follow_up_after_days, allowed_next, created_at, updated_at)
SELECT account_id, id, 'Proposal in preparation', 1, 'proposed', NULL, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM pipelines WHERE record_type = 'project';
INSERT INTO phases (account_id, pipeline_id, name, position, status, follow_up_after_days, allowed_next, created_at, updated_at)
SELECT account_id, id, 'Proposal submitted', 2, 'proposed', NULL, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM pipelines WHERE record_type = 'project';
INSERT INTO phases (account_id, pipeline_id, name, position, status, follow_up_after_days, allowed_next, created_at, updated_at)
SELECT account_id, id, 'Won', 3, 'won', NULL, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM pipelines WHERE record_type = 'project';
INSERT INTO phases (account_id, pipeline_id, name, position, status, follow_up_after_days, allowed_next, created_at, updated_at)
SELECT account_id, id, 'In progress', 4, 'active', NULL, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM pipelines WHERE record_type = 'project';
INSERT INTO phases (account_id, pipeline_id, name, position, status, follow_up_after_days, allowed_next, created_at, updated_at)
SELECT account_id, id, 'Completed', 5, 'completed', NULL, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM pipelines WHERE record_type = 'project';
INSERT INTO phases (account_id, pipeline_id, name, position, status, follow_up_after_days, allowed_next, created_at, updated_at)
SELECT account_id, id, 'Lost', 6, 'lost', NULL, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM pipelines WHERE record_type = 'project';
INSERT INTO phases (account_id, pipeline_id, name, position, status, follow_up_after_days, allowed_next, created_at, updated_at)
SELECT account_id, id, 'Cancelled', 7, 'cancelled', NULL, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM pipelines WHERE record_type = 'project';
UPDATE pipelines SET
    won_phase_id = (SELECT id FROM phases WHERE phases.pipeline_id = pipelines.id AND phases.name = 'Won'),
    lost_phase_id = (SELECT id FROM phases WHERE phases.pipeline_id = pipelines.id AND phases.name = 'Lost')
WHERE record_type = 'project';
