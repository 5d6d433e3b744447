DROP TABLE meeting_tags;
DROP TABLE meeting_attendees;
DROP TABLE meetings;
