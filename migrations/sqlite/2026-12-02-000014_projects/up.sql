-- Projects: the work a firm pitches for and delivers, on a project pipeline. The placement
-- columns are the ones every pipelined record has (see persistence/src/placement.rs); the
-- value is exact, in ten-thousandths of its currency's unit.
CREATE TABLE projects (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    description TEXT,
    company_id BIGINT REFERENCES companies (id),
    owner_id BIGINT REFERENCES users (id),
    value_units BIGINT,
    value_currency TEXT,
    probability BIGINT,
    expected_start_date DATE,
    expected_duration TEXT,
    expected_finish_date DATE,
    proposal_received_date DATE,
    proposal_due_date DATE,
    start_date DATE,
    end_date DATE,
    won_at TIMESTAMP,
    close_date DATE,
    completed_date DATE,
    tags TEXT NOT NULL,
    custom_fields TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    pipeline_id BIGINT REFERENCES pipelines (id),
    phase_id BIGINT REFERENCES phases (id),
    state TEXT NOT NULL DEFAULT 'not_set',
    outcome TEXT,
    outcome_reason TEXT,
    phase_entered_at TIMESTAMP,
    follow_up_due_at TIMESTAMP,
    external_id TEXT,
    CHECK ((value_units IS NULL) = (value_currency IS NULL))
);
CREATE INDEX projects_created ON projects (account_id, created_at, id);
CREATE INDEX projects_updated ON projects (account_id, updated_at, id);
CREATE INDEX projects_name ON projects (account_id, name, id);
CREATE INDEX projects_company ON projects (account_id, company_id, id);
CREATE INDEX projects_owner ON projects (account_id, owner_id, id);
CREATE INDEX projects_pipeline ON projects (account_id, pipeline_id, id);
CREATE INDEX projects_phase ON projects (account_id, phase_id, phase_entered_at, id);
CREATE INDEX projects_state ON projects (account_id, state, id);
CREATE INDEX projects_finish ON projects (account_id, expected_finish_date, id);
CREATE INDEX projects_value ON projects (account_id, value_units, id);
-- An import's upsert key, as companies have.
CREATE UNIQUE INDEX projects_external_id ON projects (account_id, external_id) WHERE external_id IS NOT NULL;

CREATE TABLE project_tags (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (project_id, tag)
);
CREATE INDEX project_tags_tag ON project_tags (account_id, tag, project_id);

-- Append-only, as company_transitions: phase ids without foreign keys, with their names.
CREATE TABLE project_transitions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
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
CREATE INDEX project_transitions_project ON project_transitions (project_id, id);
CREATE INDEX project_transitions_entered ON project_transitions (account_id, to_pipeline_id, created_at);
CREATE INDEX project_transitions_left ON project_transitions (account_id, from_pipeline_id, created_at);

-- Who is on a project: its buying center (contacts, by role) and its team (users, by role).
CREATE TABLE project_contacts (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    contact_id BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL,
    role TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (project_id, contact_id)
);
CREATE INDEX project_contacts_contact ON project_contacts (account_id, contact_id, project_id);
CREATE TABLE project_members (
    project_id BIGINT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL,
    role TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (project_id, user_id)
);
CREATE INDEX project_members_user ON project_members (account_id, user_id, project_id);

-- A phase may carry the probability of winning that its records default to (0-100).
ALTER TABLE phases ADD COLUMN probability BIGINT CHECK (probability BETWEEN 0 AND 100);
UPDATE phases SET probability = CASE name
    WHEN 'Lead' THEN 10 WHEN 'Proposal in preparation' THEN 25 WHEN 'Proposal submitted' THEN 50
    WHEN 'Won' THEN 100 WHEN 'In progress' THEN 100 WHEN 'Completed' THEN 100
    WHEN 'Lost' THEN 0 WHEN 'Cancelled' THEN 0 END
WHERE pipeline_id IN (SELECT id FROM pipelines WHERE record_type = 'project' AND is_default);

-- The board's counts are of any pipelined record: companies' triggers (000011) and projects'.
ALTER TABLE phase_counts RENAME COLUMN companies TO records;

CREATE TRIGGER projects_phase_counts_insert AFTER INSERT ON projects
    WHEN NEW.phase_id IS NOT NULL
BEGIN
    INSERT INTO phase_counts (phase_id, records) VALUES (NEW.phase_id, 1)
    ON CONFLICT (phase_id) DO UPDATE SET records = phase_counts.records + 1;
END;

CREATE TRIGGER projects_phase_counts_update AFTER UPDATE OF phase_id ON projects
BEGIN
    UPDATE phase_counts SET records = records - 1
    WHERE OLD.phase_id IS NOT NULL AND phase_id = OLD.phase_id;
    INSERT INTO phase_counts (phase_id, records)
    SELECT NEW.phase_id, 1 WHERE NEW.phase_id IS NOT NULL
    ON CONFLICT (phase_id) DO UPDATE SET records = phase_counts.records + 1;
END;

CREATE TRIGGER projects_phase_counts_delete AFTER DELETE ON projects
    WHEN OLD.phase_id IS NOT NULL
BEGIN
    UPDATE phase_counts SET records = records - 1 WHERE phase_id = OLD.phase_id;
END;

-- The values each phase of a project pipeline holds, per currency and per project
-- probability (-1: none set, the phase's applies), kept by triggers like phase_counts, so that
-- a board's column totals read a few rows. Past 2^63 ten-thousandths SQLite's sum turns to a
-- float; the service reads it as text.
CREATE TABLE phase_values (
    phase_id BIGINT NOT NULL REFERENCES phases (id) ON DELETE CASCADE,
    currency TEXT NOT NULL,
    probability BIGINT NOT NULL,
    projects BIGINT NOT NULL,
    units BIGINT NOT NULL,
    PRIMARY KEY (phase_id, currency, probability)
);

CREATE TRIGGER projects_phase_values_insert AFTER INSERT ON projects
    WHEN NEW.phase_id IS NOT NULL AND NEW.value_units IS NOT NULL
BEGIN
    INSERT INTO phase_values (phase_id, currency, probability, projects, units)
    VALUES (NEW.phase_id, NEW.value_currency, COALESCE(NEW.probability, -1), 1, NEW.value_units)
    ON CONFLICT (phase_id, currency, probability) DO UPDATE
    SET projects = phase_values.projects + 1, units = phase_values.units + excluded.units;
END;

CREATE TRIGGER projects_phase_values_update
    AFTER UPDATE OF phase_id, value_units, value_currency, probability ON projects
BEGIN
    UPDATE phase_values SET projects = projects - 1, units = units - OLD.value_units
    WHERE OLD.phase_id IS NOT NULL AND OLD.value_units IS NOT NULL
      AND phase_id = OLD.phase_id AND currency = OLD.value_currency
      AND probability = COALESCE(OLD.probability, -1);
    INSERT INTO phase_values (phase_id, currency, probability, projects, units)
    SELECT NEW.phase_id, NEW.value_currency, COALESCE(NEW.probability, -1), 1, NEW.value_units
    WHERE NEW.phase_id IS NOT NULL AND NEW.value_units IS NOT NULL
    ON CONFLICT (phase_id, currency, probability) DO UPDATE
    SET projects = phase_values.projects + 1, units = phase_values.units + excluded.units;
END;

CREATE TRIGGER projects_phase_values_delete AFTER DELETE ON projects
    WHEN OLD.phase_id IS NOT NULL AND OLD.value_units IS NOT NULL
BEGIN
    UPDATE phase_values SET projects = projects - 1, units = units - OLD.value_units
    WHERE phase_id = OLD.phase_id AND currency = OLD.value_currency
      AND probability = COALESCE(OLD.probability, -1);
END;
