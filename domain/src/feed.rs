//! The news feed and records' timelines: which changes they tell, what a change is filed
//! under, which records people follow and why. Storage keeps them (`persistence::feed`).

use crate::event::{EventType, RecordType};
use crate::validation::ValueError;

wire_enum! {
    /// The records a team member can follow, and that have a timeline.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
    pub enum Followable {
        Company = "company",
        Contact = "contact",
        Project = "project",
    }
}
parse_choice!(Followable);

impl Followable {
    pub fn record_type(self) -> RecordType {
        match self {
            Followable::Company => RecordType::Company,
            Followable::Contact => RecordType::Contact,
            Followable::Project => RecordType::Project,
        }
    }

    pub fn of(record_type: RecordType) -> Option<Followable> {
        Followable::ALL
            .into_iter()
            .find(|f| f.record_type() == record_type)
    }

    /// A reference read as a followable record: `company:12`, `contact:3`, `project:7`.
    pub fn parse_ref(raw: &str) -> Result<(Followable, i64), ValueError> {
        let bad = || {
            ValueError::new(
                "invalid_record",
                format!(
                    "must be <type>:<id>, such as company:12, the type one of {}",
                    Followable::ALL.map(Followable::as_str).join(", ")
                ),
            )
        };
        let (kind, id) = raw.split_once(':').ok_or_else(bad)?;
        let kind = Followable::parse(kind).map_err(|_| bad())?;
        match id.parse::<i64>() {
            Ok(id) if id > 0 => Ok((kind, id)),
            _ => Err(bad()),
        }
    }
}

wire_enum! {
    /// Why a team member follows a record: they asked to, or they own it, or they are on
    /// its team (a project's). Owners and team members follow from when they become so, and
    /// may stop like anyone.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum FollowReason {
        Manual = "manual",
        Owner = "owner",
        Team = "team",
    }
}
parse_choice!(FollowReason);

/// A team member following a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    pub user_id: i64,
    pub record: Followable,
    pub record_id: i64,
    pub reason: FollowReason,
    pub created_at: chrono::DateTime<chrono::Utc>,
}

/// Whether the feed and timelines tell of this change: every change of a company, contact,
/// project, enquiry, task, meeting, post or comment; not the account's configuration
/// (pipelines, phases, field definitions, roles, units), nor reminders (`task.due`, `meeting.starting`), which are signals
/// for automations, not news.
pub fn in_feed(event_type: EventType) -> bool {
    !matches!(event_type, EventType::TaskDue | EventType::MeetingStarting)
        && !matches!(
            event_type.record_type(),
            RecordType::Pipeline
                | RecordType::Phase
                | RecordType::Field
                | RecordType::Role
                | RecordType::Unit
        )
}

/// What a change is filed under: its record, but a comment's change goes under its post,
/// so that whoever reaches the post (a follower of a record it is linked to, a timeline)
/// reaches its discussion too.
pub fn subject(record_type: RecordType, record_id: i64, post_id: Option<i64>) -> (RecordType, i64) {
    match (record_type, post_id) {
        (RecordType::Comment, Some(post)) => (RecordType::Post, post),
        _ => (record_type, record_id),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_feed_tells_record_changes_not_configuration_or_reminders() {
        assert!(in_feed(EventType::CompanyPhaseChanged));
        assert!(in_feed(EventType::TaskCompleted));
        assert!(in_feed(EventType::CommentCreated));
        assert!(in_feed(EventType::CompanyMerged));
        assert!(!in_feed(EventType::PhaseUpdated));
        assert!(!in_feed(EventType::PipelineCreated));
        assert!(!in_feed(EventType::TaskDue));
        assert!(!in_feed(EventType::MeetingStarting));
    }

    #[test]
    fn a_comment_is_filed_under_its_post() {
        assert_eq!(
            subject(RecordType::Comment, 9, Some(4)),
            (RecordType::Post, 4)
        );
        assert_eq!(
            subject(RecordType::Company, 9, None),
            (RecordType::Company, 9)
        );
    }

    #[test]
    fn a_followable_reference_reads_as_type_colon_id() {
        assert_eq!(
            Followable::parse_ref("project:7"),
            Ok((Followable::Project, 7))
        );
        for bad in ["task:1", "company:0", "company", "company:x"] {
            assert!(Followable::parse_ref(bad).is_err(), "{bad}");
        }
    }
}
