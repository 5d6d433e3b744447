//! Meetings: when, where, who attends (team members and contacts, each with a response), and
//! the records they are about. Links, tags and the versioned update are shared plumbing.

use std::collections::BTreeMap;

use chrono::{DateTime, Days, NaiveDate, NaiveTime, Utc};

use crate::links::{Links, RecordRef};
use crate::task::TimeZoneName;
use crate::validation::ValueError;
use crate::values::{Description, Title, WebAddress};

wire_enum! {
    /// An attendee's answer to the invitation.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum Response {
        #[default]
        NeedsAction = "needs_action",
        Accepted = "accepted",
        Declined = "declined",
        Tentative = "tentative",
    }
}
parse_choice!(Response);

/// Who attends: a team member or a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Attendee {
    User(i64),
    Contact(i64),
}

/// The most attendees a meeting has.
pub const MAX_ATTENDEES: usize = 200;

/// When a meeting takes place: between two times, or over whole days (both inclusive).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    At {
        starts_at: DateTime<Utc>,
        ends_at: DateTime<Utc>,
    },
    AllDay {
        start_date: NaiveDate,
        end_date: NaiveDate,
    },
}

impl When {
    pub fn timed(starts_at: DateTime<Utc>, ends_at: DateTime<Utc>) -> Result<Self, ValueError> {
        if ends_at < starts_at {
            return Err(ValueError::new(
                "ends_before_start",
                "must not be before starts_at",
            ));
        }
        Ok(When::At { starts_at, ends_at })
    }

    pub fn all_day(start_date: NaiveDate, end_date: NaiveDate) -> Result<Self, ValueError> {
        if end_date < start_date {
            return Err(ValueError::new(
                "ends_before_start",
                "must not be before start_date",
            ));
        }
        Ok(When::AllDay {
            start_date,
            end_date,
        })
    }

    /// The instants it spans, all-day meetings from their first day's start to their last
    /// day's end in UTC: what the `between` filter and the agenda compare.
    pub fn span(self) -> (DateTime<Utc>, DateTime<Utc>) {
        match self {
            When::At { starts_at, ends_at } => (starts_at, ends_at),
            When::AllDay {
                start_date,
                end_date,
            } => {
                let start = start_date.and_time(NaiveTime::MIN).and_utc();
                let after = end_date.checked_add_days(Days::new(1)).unwrap_or(end_date);
                (start, after.and_time(NaiveTime::MIN).and_utc())
            }
        }
    }
}

/// A change of when a meeting takes place: absent parts stay. Moving a timed meeting's start
/// alone keeps its length, as calendars do; turning it all-day keeps its first day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WhenPatch {
    pub all_day: Option<bool>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
}

impl WhenPatch {
    /// The new time span, or the field it cannot be.
    pub fn apply(self, current: When) -> Result<When, (&'static str, ValueError)> {
        let (start, end) = current.span();
        let was_all_day = matches!(current, When::AllDay { .. });
        if self.all_day.unwrap_or(was_all_day) {
            let (first, last) = match current {
                When::AllDay {
                    start_date,
                    end_date,
                } => (start_date, end_date),
                When::At { .. } => (start.date_naive(), start.date_naive()),
            };
            let start_date = self.start_date.unwrap_or(first);
            let end_date = self.end_date.unwrap_or(if self.start_date.is_some() {
                start_date + (last - first)
            } else {
                last
            });
            When::all_day(start_date, end_date).map_err(|e| ("end_date", e))
        } else {
            let starts_at = self.starts_at.unwrap_or(start);
            let ends_at = self.ends_at.unwrap_or(if was_all_day {
                starts_at + chrono::Duration::hours(1)
            } else {
                starts_at + (end - start)
            });
            When::timed(starts_at, ends_at).map_err(|e| ("ends_at", e))
        }
    }
}

/// A meeting as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Meeting {
    pub id: i64,
    pub account_id: i64,
    pub title: String,
    pub when: When,
    pub time_zone: Option<TimeZoneName>,
    pub location: Option<String>,
    pub online_url: Option<String>,
    pub agenda: Option<String>,
    pub notes: Option<String>,
    pub organiser_id: Option<i64>,
    /// In order: team members by id, then contacts by id.
    pub attendees: Vec<(Attendee, Response)>,
    pub links: Vec<RecordRef>,
    pub tags: Vec<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Everything of a meeting a caller may write, valid. The organiser always attends.
#[derive(Debug, Clone, PartialEq)]
pub struct MeetingFields {
    pub title: Title,
    pub when: When,
    pub time_zone: Option<TimeZoneName>,
    pub location: Option<Description>,
    pub online_url: Option<WebAddress>,
    pub agenda: Option<Description>,
    pub notes: Option<Description>,
    pub organiser_id: Option<i64>,
    pub attendees: BTreeMap<Attendee, Response>,
    pub links: Links,
    pub tags: crate::values::Tags,
}

impl MeetingFields {
    /// The fields with the organiser among the attendees (accepted, unless they answered).
    pub fn with_organiser(mut self) -> Self {
        if let Some(organiser) = self.organiser_id {
            self.attendees
                .entry(Attendee::User(organiser))
                .or_insert(Response::Accepted);
        }
        self
    }
}

/// A partial update: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MeetingPatch {
    pub title: Option<Title>,
    pub when: Option<WhenPatch>,
    pub time_zone: Option<Option<TimeZoneName>>,
    pub location: Option<Option<Description>>,
    pub online_url: Option<Option<WebAddress>>,
    pub agenda: Option<Option<Description>>,
    pub notes: Option<Option<Description>>,
    pub organiser_id: Option<Option<i64>>,
    pub attendees: Option<BTreeMap<Attendee, Response>>,
    pub links: Option<Links>,
    pub tags: Option<crate::values::Tags>,
}

impl MeetingPatch {
    pub fn apply(self, current: &Meeting) -> Result<MeetingFields, (&'static str, ValueError)> {
        let text = |stored: &Option<String>| stored.clone().map(Description::from_stored);
        let when = match self.when {
            Some(patch) => patch.apply(current.when)?,
            None => current.when,
        };
        Ok(MeetingFields {
            title: self
                .title
                .unwrap_or_else(|| Title::from_stored(current.title.clone())),
            when,
            time_zone: self.time_zone.unwrap_or(current.time_zone),
            location: self.location.unwrap_or_else(|| text(&current.location)),
            online_url: self
                .online_url
                .unwrap_or_else(|| current.online_url.clone().map(WebAddress::from_stored)),
            agenda: self.agenda.unwrap_or_else(|| text(&current.agenda)),
            notes: self.notes.unwrap_or_else(|| text(&current.notes)),
            organiser_id: self.organiser_id.unwrap_or(current.organiser_id),
            attendees: self
                .attendees
                .unwrap_or_else(|| current.attendees.iter().copied().collect()),
            links: self
                .links
                .unwrap_or_else(|| Links::from_stored(current.links.iter().copied())),
            tags: self
                .tags
                .unwrap_or_else(|| crate::values::Tags::from_stored(current.tags.clone())),
        }
        .with_organiser())
    }
}

/// Checks the attendee list's size and that nobody is listed twice.
pub fn parse_attendees(
    raw: Vec<(Attendee, Response)>,
) -> Result<BTreeMap<Attendee, Response>, ValueError> {
    if raw.len() > MAX_ATTENDEES {
        return Err(ValueError::new(
            "too_many",
            format!(
                "must hold at most {MAX_ATTENDEES} attendees (got {})",
                raw.len()
            ),
        ));
    }
    let mut attendees = BTreeMap::new();
    for (i, (who, response)) in raw.into_iter().enumerate() {
        if attendees.insert(who, response).is_some() {
            return Err(
                ValueError::new("duplicate", "lists the same attendee twice").at(format!("[{i}]")),
            );
        }
    }
    Ok(attendees)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
    }

    #[test]
    fn an_all_day_meeting_spans_its_whole_days() {
        let Ok(when) = When::all_day(date(2026, 12, 7), date(2026, 12, 8)) else {
            panic!("a two-day meeting");
        };
        let (start, end) = when.span();
        assert_eq!((end - start).num_hours(), 48);
        assert!(When::all_day(date(2026, 12, 8), date(2026, 12, 7)).is_err());
    }

    #[test]
    fn moving_a_timed_meeting_keeps_its_length() {
        let nine = date(2026, 12, 7)
            .and_hms_opt(9, 0, 0)
            .unwrap_or_default()
            .and_utc();
        let Ok(when) = When::timed(nine, nine + chrono::Duration::minutes(30)) else {
            panic!("a half-hour meeting");
        };
        let later = nine + chrono::Duration::hours(2);
        let moved = WhenPatch {
            starts_at: Some(later),
            ..WhenPatch::default()
        }
        .apply(when);
        assert_eq!(
            moved.map(When::span),
            Ok((later, later + chrono::Duration::minutes(30)))
        );
        let backwards = WhenPatch {
            ends_at: Some(nine - chrono::Duration::hours(1)),
            ..WhenPatch::default()
        }
        .apply(when);
        assert_eq!(backwards.map_err(|(field, _)| field), Err("ends_at"));
    }

    #[test]
    fn the_organiser_always_attends() {
        let patch = MeetingPatch {
            organiser_id: Some(Some(3)),
            ..MeetingPatch::default()
        };
        let meeting = Meeting {
            id: 1,
            account_id: 1,
            title: "Kick-off".into(),
            when: When::AllDay {
                start_date: date(2026, 12, 7),
                end_date: date(2026, 12, 7),
            },
            time_zone: None,
            location: None,
            online_url: None,
            agenda: None,
            notes: None,
            organiser_id: None,
            attendees: vec![(Attendee::Contact(9), Response::Tentative)],
            links: vec![],
            tags: vec![],
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
        };
        let Ok(fields) = patch.apply(&meeting) else {
            panic!("the patch applies");
        };
        assert_eq!(
            fields.attendees.get(&Attendee::User(3)),
            Some(&Response::Accepted)
        );
        assert_eq!(fields.attendees.len(), 2);
    }
}
