DROP TRIGGER projects_phase_values_insert;
DROP TRIGGER projects_phase_values_update;
DROP TRIGGER projects_phase_values_delete;
DROP TABLE phase_values;
DROP TRIGGER projects_phase_counts_insert;
DROP TRIGGER projects_phase_counts_update;
DROP TRIGGER projects_phase_counts_delete;
DELETE FROM phase_counts WHERE phase_id IN
    (SELECT p.id FROM phases p JOIN pipelines l ON l.id = p.pipeline_id WHERE l.record_type = 'project');
ALTER TABLE phase_counts RENAME COLUMN records TO companies;
ALTER TABLE phases DROP COLUMN probability;
DROP TABLE project_members;
DROP TABLE project_contacts;
DROP TABLE project_transitions;
DROP TABLE project_tags;
DROP TABLE projects;
