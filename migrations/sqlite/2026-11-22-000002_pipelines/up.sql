-- Pipelines, their phases, a company's place in one, and the history of its moves.

CREATE TABLE pipelines (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    is_default BOOLEAN NOT NULL,
    won_phase_id BIGINT,
    lost_phase_id BIGINT,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX pipelines_account ON pipelines (account_id, id);
CREATE UNIQUE INDEX pipelines_one_default ON pipelines (account_id) WHERE is_default;

CREATE TABLE phases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    pipeline_id BIGINT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position BIGINT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('prospect', 'active', 'latent')),
    follow_up_after_days BIGINT,
    -- JSON list of phase ids that may follow this one; empty: any.
    allowed_next TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX phases_pipeline ON phases (pipeline_id, position);

-- A company's place: denormalised status and follow-up time, so that lists filter and sort
-- on indexed columns of the company alone.
ALTER TABLE companies ADD COLUMN pipeline_id BIGINT REFERENCES pipelines (id);
ALTER TABLE companies ADD COLUMN phase_id BIGINT REFERENCES phases (id);
ALTER TABLE companies ADD COLUMN relationship_status TEXT NOT NULL DEFAULT 'not_set';
ALTER TABLE companies ADD COLUMN outcome TEXT;
ALTER TABLE companies ADD COLUMN outcome_reason TEXT;
ALTER TABLE companies ADD COLUMN phase_entered_at TIMESTAMP;
ALTER TABLE companies ADD COLUMN follow_up_due_at TIMESTAMP;
CREATE INDEX companies_phase ON companies (account_id, phase_id, phase_entered_at, id);
CREATE INDEX companies_pipeline ON companies (account_id, pipeline_id);
CREATE INDEX companies_status ON companies (account_id, relationship_status);
CREATE INDEX companies_follow_up ON companies (account_id, follow_up_due_at, id);

-- Append-only. Phase ids are kept without foreign keys, with the names they had, so that the
-- history outlives a removed phase.
CREATE TABLE company_transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    company_id BIGINT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    from_pipeline_id BIGINT,
    to_pipeline_id BIGINT,
    from_phase_id BIGINT,
    from_phase_name TEXT,
    to_phase_id BIGINT,
    to_phase_name TEXT,
    from_status TEXT NOT NULL,
    to_status TEXT NOT NULL,
    outcome TEXT,
    reason TEXT,
    actor_user_id BIGINT,
    actor_client_id BIGINT,
    seconds_in_previous BIGINT,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX company_transitions_company ON company_transitions (company_id, id);
CREATE INDEX company_transitions_entered ON company_transitions (account_id, to_pipeline_id, created_at);
CREATE INDEX company_transitions_left ON company_transitions (account_id, from_pipeline_id, created_at);

-- Accounts that exist already get the default pipeline new accounts are created with.
INSERT INTO pipelines (account_id, name, is_default, version, created_at, updated_at)
SELECT id, 'Client relationship', TRUE, 1, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM accounts;
INSERT INTO phases (account_id, pipeline_id, name, position, status, follow_up_after_days, allowed_next, created_at, updated_at)
SELECT account_id, id, 'Uncontacted', 0, 'prospect', NULL, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM pipelines;
INSERT INTO phases (account_id, pipeline_id, name, position, status, follow_up_after_days, allowed_next, created_at, updated_at)
SELECT account_id, id, 'Contacted', 1, 'prospect', 5, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM pipelines;
INSERT INTO phases (account_id, pipeline_id, name, position, status, follow_up_after_days, allowed_next, created_at, updated_at)
SELECT account_id, id, 'Proposal sent', 2, 'prospect', 7, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM pipelines;
INSERT INTO phases (account_id, pipeline_id, name, position, status, follow_up_after_days, allowed_next, created_at, updated_at)
SELECT account_id, id, 'Active client', 3, 'active', 90, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM pipelines;
INSERT INTO phases (account_id, pipeline_id, name, position, status, follow_up_after_days, allowed_next, created_at, updated_at)
SELECT account_id, id, 'Dormant', 4, 'latent', 180, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM pipelines;
INSERT INTO phases (account_id, pipeline_id, name, position, status, follow_up_after_days, allowed_next, created_at, updated_at)
SELECT account_id, id, 'Lost', 5, 'latent', NULL, '[]', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM pipelines;
UPDATE pipelines SET
    won_phase_id = (SELECT id FROM phases WHERE phases.pipeline_id = pipelines.id AND phases.name = 'Active client'),
    lost_phase_id = (SELECT id FROM phases WHERE phases.pipeline_id = pipelines.id AND phases.name = 'Lost');
