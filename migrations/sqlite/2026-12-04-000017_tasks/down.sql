DROP TABLE task_tags;
DROP TABLE task_assignees;
DROP TABLE tasks;
DROP TABLE record_links;
