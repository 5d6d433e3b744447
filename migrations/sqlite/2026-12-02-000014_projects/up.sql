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
