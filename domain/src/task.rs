//! Tasks: what someone must do, by when, about which records. Their own fields and rules;
//! links, tags and the versioned update are the shared plumbing's.

use std::collections::BTreeSet;

use chrono::{DateTime, Days, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;

use crate::links::{Links, RecordRef};
use crate::validation::ValueError;
use crate::values::{Description, Tags, Title};

wire_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum Priority {
        Low = "low",
        #[default]
        Normal = "normal",
        High = "high",
    }
}

wire_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum TaskStatus {
        Open = "open",
        Done = "done",
    }
}

parse_choice!(Priority);
parse_choice!(TaskStatus);

/// An IANA time zone (`Europe/Paris`), as the client gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZoneName(pub Tz);

impl TimeZoneName {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        raw.parse::<Tz>().map(Self).map_err(|_| {
            ValueError::new(
                "unknown_time_zone",
                format!("`{raw}` is not an IANA time zone name such as Europe/London"),
            )
        })
    }

    pub fn as_str(&self) -> &'static str {
        self.0.name()
    }

    /// The UTC instants at which `date` begins and ends in this zone.
    pub fn day_bounds(&self, date: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
        let start = |d: NaiveDate| {
            self.0
                .from_local_datetime(&d.and_time(NaiveTime::MIN))
                .earliest()
                // A day that begins in a gap (a DST change at midnight) begins an hour in.
                .or_else(|| {
                    self.0
                        .from_local_datetime(&d.and_hms_opt(1, 0, 0).unwrap_or_default())
                        .earliest()
                })
                .map_or_else(|| d.and_time(NaiveTime::MIN).and_utc(), |t| t.to_utc())
        };
        let next = date.checked_add_days(Days::new(1)).unwrap_or(date);
        (start(date), start(next))
    }

    /// The date it is in this zone at `now`.
    pub fn today(&self, now: DateTime<Utc>) -> NaiveDate {
        now.with_timezone(&self.0).date_naive()
    }
}

/// When a task is due: on a day (all day), or at a time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Due {
    On(NaiveDate),
    At(DateTime<Utc>),
}

impl Due {
    /// The instant the due lists sort and filter by: the time, or the day's start in UTC.
    pub fn sort_key(self) -> DateTime<Utc> {
        match self {
            Due::At(at) => at,
            Due::On(date) => date.and_time(NaiveTime::MIN).and_utc(),
        }
    }

    /// Whether it is due on `today`, a day that runs from `start` to `end`.
    pub fn falls_on(self, today: NaiveDate, start: DateTime<Utc>, end: DateTime<Utc>) -> bool {
        match self {
            Due::At(at) => start <= at && at < end,
            Due::On(date) => date == today,
        }
    }

    /// Whether an open task due so is overdue at `now`, for someone whose day is `today`: a
    /// timed task once its time has passed, an all-day one from the day after.
    pub fn is_overdue(self, now: DateTime<Utc>, today: NaiveDate) -> bool {
        match self {
            Due::At(at) => at < now,
            Due::On(date) => date < today,
        }
    }
}

/// The most assignees a task has.
pub const MAX_ASSIGNEES: usize = 20;

/// A task as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Task {
    pub id: i64,
    pub account_id: i64,
    pub title: String,
    pub notes: Option<String>,
    pub due: Option<Due>,
    pub time_zone: Option<TimeZoneName>,
    pub priority: Priority,
    pub status: TaskStatus,
    pub done_at: Option<DateTime<Utc>>,
    pub done_by: Option<i64>,
    /// Users, in id order.
    pub assignee_ids: Vec<i64>,
    pub links: Vec<RecordRef>,
    pub tags: Vec<String>,
    pub created_by: Option<i64>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Everything of a task a caller may write, valid. Its status changes only by completing
/// and reopening.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskFields {
    pub title: Title,
    pub notes: Option<Description>,
    pub due: Option<Due>,
    pub time_zone: Option<TimeZoneName>,
    pub priority: Priority,
    pub assignee_ids: BTreeSet<i64>,
    pub links: Links,
    pub tags: Tags,
}

/// A partial update: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TaskPatch {
    pub title: Option<Title>,
    pub notes: Option<Option<Description>>,
    pub due: Option<Option<Due>>,
    pub time_zone: Option<Option<TimeZoneName>>,
    pub priority: Option<Priority>,
    pub assignee_ids: Option<BTreeSet<i64>>,
    pub links: Option<Links>,
    pub tags: Option<Tags>,
}

impl TaskPatch {
    pub fn apply(self, current: &Task) -> TaskFields {
        TaskFields {
            title: self
                .title
                .unwrap_or_else(|| Title::from_stored(current.title.clone())),
            notes: self
                .notes
                .unwrap_or_else(|| current.notes.clone().map(Description::from_stored)),
            due: self.due.unwrap_or(current.due),
            time_zone: self.time_zone.unwrap_or(current.time_zone),
            priority: self.priority.unwrap_or(current.priority),
            assignee_ids: self
                .assignee_ids
                .unwrap_or_else(|| current.assignee_ids.iter().copied().collect()),
            links: self
                .links
                .unwrap_or_else(|| Links::from_stored(current.links.iter().copied())),
            tags: self
                .tags
                .unwrap_or_else(|| Tags::from_stored(current.tags.clone())),
        }
    }
}

/// Checks a set of assignees' size.
pub fn parse_assignees(raw: &[i64]) -> Result<BTreeSet<i64>, ValueError> {
    if raw.len() > MAX_ASSIGNEES {
        return Err(ValueError::new(
            "too_many",
            format!(
                "must hold at most {MAX_ASSIGNEES} users (got {})",
                raw.len()
            ),
        ));
    }
    if let Some(i) = raw.iter().position(|id| *id < 1) {
        return Err(ValueError::new("invalid_id", "must be a positive id").at(format!("[{i}]")));
    }
    Ok(raw.iter().copied().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn a_day_in_a_zone_begins_at_its_local_midnight() {
        let Ok(paris) = TimeZoneName::parse("Europe/Paris") else {
            panic!("Europe/Paris is a zone");
        };
        let (start, end) = paris.day_bounds(date(2026, 12, 4));
        assert_eq!(start.to_rfc3339(), "2026-12-03T23:00:00+00:00");
        assert_eq!(end.to_rfc3339(), "2026-12-04T23:00:00+00:00");
        // The day the clocks go forward has 23 hours.
        let (start, end) = paris.day_bounds(date(2026, 3, 29));
        assert_eq!((end - start).num_hours(), 23);
        assert!(TimeZoneName::parse("Mars/Olympus").is_err());
    }

    #[test]
    fn an_all_day_task_is_overdue_from_the_next_day() {
        let due = Due::On(date(2026, 12, 4));
        let now = date(2026, 12, 4)
            .and_hms_opt(22, 0, 0)
            .unwrap_or_default()
            .and_utc();
        assert!(!due.is_overdue(now, date(2026, 12, 4)));
        assert!(due.is_overdue(now, date(2026, 12, 5)));
        assert!(Due::At(now).is_overdue(now + chrono::Duration::seconds(1), date(2026, 12, 4)));
    }
}
