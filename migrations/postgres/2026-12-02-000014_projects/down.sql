DROP TRIGGER projects_phases_insert ON projects;
DROP TRIGGER projects_phases_update ON projects;
DROP TRIGGER projects_phases_delete ON projects;
DROP FUNCTION project_phases_after_insert();
DROP FUNCTION project_phases_after_update();
DROP FUNCTION project_phases_after_delete();
DROP TABLE phase_values;
DELETE FROM phase_counts WHERE phase_id IN
    (SELECT p.id FROM phases p JOIN pipelines l ON l.id = p.pipeline_id WHERE l.record_type = 'project');
ALTER TABLE phase_counts RENAME COLUMN records TO companies;
CREATE OR REPLACE FUNCTION phase_counts_after_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO phase_counts (phase_id, companies)
    SELECT phase_id, COUNT(*) FROM new_rows
    WHERE phase_id IS NOT NULL AND show_in_pipeline
    GROUP BY phase_id;
    RETURN NULL;
END
$$;
CREATE OR REPLACE FUNCTION phase_counts_after_update() RETURNS trigger LANGUAGE plpgsql AS $$
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
CREATE OR REPLACE FUNCTION phase_counts_after_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO phase_counts (phase_id, companies)
    SELECT phase_id, -COUNT(*) FROM old_rows
    WHERE phase_id IS NOT NULL AND show_in_pipeline
    GROUP BY phase_id;
    RETURN NULL;
END
$$;
ALTER TABLE phases DROP COLUMN probability;
DROP TABLE project_members;
DROP TABLE project_contacts;
DROP TABLE project_transitions;
DROP TABLE project_tags;
DROP TABLE projects;
