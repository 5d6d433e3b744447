-- Last and next activity of companies, contacts and projects: derived from the tasks,
-- meetings and posts linked to them (record_links), kept up to date on every activity write
-- and, as meetings start, by the reminder worker. Not part of a record's version.
--   last: the latest of a linked completed task's done_at, a linked meeting's start that has
--         passed, a linked post's created_at;
--   next: the earliest of a linked open task's due (overdue included) and a linked meeting's
--         start still to come.
ALTER TABLE companies ADD COLUMN last_activity_at TIMESTAMP;
ALTER TABLE companies ADD COLUMN next_activity_at TIMESTAMP;
ALTER TABLE contacts ADD COLUMN last_activity_at TIMESTAMP;
ALTER TABLE contacts ADD COLUMN next_activity_at TIMESTAMP;
ALTER TABLE projects ADD COLUMN last_activity_at TIMESTAMP;
ALTER TABLE projects ADD COLUMN next_activity_at TIMESTAMP;
-- When the worker saw the meeting's start pass and moved it, on its records, from next
-- activity to last (once per start time).
ALTER TABLE meetings ADD COLUMN start_passed_at TIMESTAMP;

-- A filter or a sort on either is one range of one index.
CREATE INDEX companies_last_activity ON companies (account_id, last_activity_at, id);
CREATE INDEX companies_next_activity ON companies (account_id, next_activity_at, id);
CREATE INDEX contacts_last_activity ON contacts (account_id, last_activity_at, id);
CREATE INDEX contacts_next_activity ON contacts (account_id, next_activity_at, id);
CREATE INDEX projects_last_activity ON projects (account_id, last_activity_at, id);
CREATE INDEX projects_next_activity ON projects (account_id, next_activity_at, id);
-- The worker's queue: meetings whose start has not yet been seen to pass.
CREATE INDEX meetings_start_passes ON meetings (starts_at) WHERE start_passed_at IS NULL;

-- The records' dates as of now.
CREATE TEMP TABLE activity_dates_now AS
SELECT record_type, record_id, MAX(last_at) AS last_at, MIN(next_at) AS next_at FROM (
    SELECT l.record_type, l.record_id, t.done_at AS last_at,
           CASE WHEN t.status = 'open' THEN t.due_at END AS next_at
      FROM record_links l JOIN tasks t ON t.id = l.owner_id
     WHERE l.owner_type = 'task'
    UNION ALL
    SELECT l.record_type, l.record_id,
           CASE WHEN m.starts_at <= CURRENT_TIMESTAMP THEN m.starts_at END,
           CASE WHEN m.starts_at > CURRENT_TIMESTAMP THEN m.starts_at END
      FROM record_links l JOIN meetings m ON m.id = l.owner_id
     WHERE l.owner_type = 'meeting'
    UNION ALL
    SELECT l.record_type, l.record_id, p.created_at, NULL
      FROM record_links l JOIN posts p ON p.id = l.owner_id
     WHERE l.owner_type = 'post'
) AS dated
GROUP BY record_type, record_id;
UPDATE companies SET
    last_activity_at = (SELECT last_at FROM activity_dates_now d WHERE d.record_type = 'company' AND d.record_id = companies.id),
    next_activity_at = (SELECT next_at FROM activity_dates_now d WHERE d.record_type = 'company' AND d.record_id = companies.id)
WHERE id IN (SELECT record_id FROM activity_dates_now WHERE record_type = 'company');
UPDATE contacts SET
    last_activity_at = (SELECT last_at FROM activity_dates_now d WHERE d.record_type = 'contact' AND d.record_id = contacts.id),
    next_activity_at = (SELECT next_at FROM activity_dates_now d WHERE d.record_type = 'contact' AND d.record_id = contacts.id)
WHERE id IN (SELECT record_id FROM activity_dates_now WHERE record_type = 'contact');
UPDATE projects SET
    last_activity_at = (SELECT last_at FROM activity_dates_now d WHERE d.record_type = 'project' AND d.record_id = projects.id),
    next_activity_at = (SELECT next_at FROM activity_dates_now d WHERE d.record_type = 'project' AND d.record_id = projects.id)
WHERE id IN (SELECT record_id FROM activity_dates_now WHERE record_type = 'project');
DROP TABLE activity_dates_now;
-- Meetings that have started are counted as past already.
UPDATE meetings SET start_passed_at = CURRENT_TIMESTAMP WHERE starts_at <= CURRENT_TIMESTAMP;
