DROP INDEX projects_owner_follow_up;
DROP INDEX companies_owner_follow_up;
DROP INDEX meeting_attendees_agenda;
ALTER TABLE meeting_attendees DROP COLUMN ends_at;
ALTER TABLE meeting_attendees DROP COLUMN starts_at;
DROP INDEX task_assignees_agenda;
ALTER TABLE task_assignees DROP COLUMN due_at;
ALTER TABLE task_assignees DROP COLUMN status;
