DROP TABLE project_transitions;
DROP TABLE project_tags;
DROP TABLE projects;
