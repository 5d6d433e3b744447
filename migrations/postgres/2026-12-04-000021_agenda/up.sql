-- The agenda ("For Me"): each of its lists one range of one index. An assignee's row
-- carries its task's status and due, an attendee's its meeting's span, and owners' records
-- are indexed by follow-up.
ALTER TABLE task_assignees ADD COLUMN status TEXT NOT NULL DEFAULT 'open';
ALTER TABLE task_assignees ADD COLUMN due_at TIMESTAMP;
UPDATE task_assignees SET
    status = (SELECT status FROM tasks WHERE tasks.id = task_assignees.task_id),
    due_at = (SELECT due_at FROM tasks WHERE tasks.id = task_assignees.task_id);
CREATE INDEX task_assignees_agenda ON task_assignees (account_id, user_id, status, due_at, task_id);

ALTER TABLE meeting_attendees ADD COLUMN starts_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00';
ALTER TABLE meeting_attendees ADD COLUMN ends_at TIMESTAMP NOT NULL DEFAULT '1970-01-01 00:00:00';
UPDATE meeting_attendees SET
    starts_at = (SELECT starts_at FROM meetings WHERE meetings.id = meeting_attendees.meeting_id),
    ends_at = (SELECT ends_at FROM meetings WHERE meetings.id = meeting_attendees.meeting_id);
CREATE INDEX meeting_attendees_agenda ON meeting_attendees (account_id, attendee_type, attendee_id, starts_at, meeting_id);

CREATE INDEX companies_owner_follow_up ON companies (account_id, owner_id, follow_up_due_at, id);
CREATE INDEX projects_owner_follow_up ON projects (account_id, owner_id, follow_up_due_at, id);
