//! Meeting bodies and the meeting list's query string.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use domain::Invalid;
use domain::meeting::{
    Attendee, Meeting, MeetingFields, MeetingPatch, Response, When, WhenPatch, parse_attendees,
};
use domain::task::TimeZoneName;
use domain::validation::ValueError;
use domain::values::{Description, Title, WebAddress};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::input::Parser;
use super::links::{LinkOut, links_out};
use super::{double_option, list_of};

/// Someone at a meeting: a team member (`user_id`) or a contact (`contact_id`), with their
/// answer.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AttendeeOut {
    #[schema(required = true, minimum = 1)]
    pub user_id: Option<i64>,
    #[schema(required = true, minimum = 1)]
    pub contact_id: Option<i64>,
    /// Default `needs_action` (the organiser: `accepted`).
    #[schema(schema_with = super::schema::response)]
    #[serde(default)]
    pub response: Option<String>,
}

/// A meeting: a time span or whole days, where, who attends, about which records.
#[derive(Debug, Serialize, ToSchema)]
pub struct MeetingOut {
    #[schema(example = 5)]
    pub id: i64,
    #[schema(example = "Kick-off with Acme")]
    pub title: String,
    pub all_day: bool,
    /// For an all-day meeting, its first day's start in UTC.
    pub starts_at: DateTime<Utc>,
    /// For an all-day meeting, its last day's end in UTC.
    pub ends_at: DateTime<Utc>,
    /// All-day meetings: the first day.
    #[schema(required = true)]
    pub start_date: Option<NaiveDate>,
    /// All-day meetings: the last day (inclusive).
    #[schema(required = true)]
    pub end_date: Option<NaiveDate>,
    #[schema(required = true, example = "Europe/London")]
    pub time_zone: Option<String>,
    #[schema(required = true, example = "Acme HQ, room 4")]
    pub location: Option<String>,
    #[schema(required = true, example = "https://meet.example.com/abc")]
    pub online_url: Option<String>,
    #[schema(required = true)]
    pub agenda: Option<String>,
    #[schema(required = true)]
    pub notes: Option<String>,
    /// The team member who organises it; they always attend.
    #[schema(required = true)]
    pub organiser_id: Option<i64>,
    /// Team members by id, then contacts by id.
    pub attendees: Vec<AttendeeOut>,
    pub links: Vec<LinkOut>,
    pub tags: Vec<String>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Meeting> for MeetingOut {
    fn from(m: Meeting) -> Self {
        let (starts_at, ends_at) = m.when.span();
        let (start_date, end_date) = match m.when {
            When::AllDay {
                start_date,
                end_date,
            } => (Some(start_date), Some(end_date)),
            When::At { .. } => (None, None),
        };
        MeetingOut {
            id: m.id,
            title: m.title,
            all_day: start_date.is_some(),
            starts_at,
            ends_at,
            start_date,
            end_date,
            time_zone: m.time_zone.map(|tz| tz.as_str().to_owned()),
            location: m.location,
            online_url: m.online_url,
            agenda: m.agenda,
            notes: m.notes,
            organiser_id: m.organiser_id,
            attendees: m
                .attendees
                .into_iter()
                .map(|(who, response)| {
                    let (user_id, contact_id) = match who {
                        Attendee::User(id) => (Some(id), None),
                        Attendee::Contact(id) => (None, Some(id)),
                    };
                    AttendeeOut {
                        user_id,
                        contact_id,
                        response: Some(response.as_str().to_owned()),
                    }
                })
                .collect(),
            links: links_out(m.links),
            tags: m.tags,
            version: m.version,
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

list_of!(MeetingList, MeetingOut, "meetings");

/// A new meeting: `title`, and `starts_at` with `ends_at`, or `all_day: true` with
/// `start_date` (and `end_date`, default the same day). Without `organiser_id`, the creating
/// team member organises it.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingCreate {
    #[schema(example = "Kick-off with Acme", max_length = 500)]
    pub title: String,
    #[serde(default)]
    pub all_day: bool,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub start_date: Option<NaiveDate>,
    pub end_date: Option<NaiveDate>,
    /// An IANA time zone name such as `Europe/London`.
    pub time_zone: Option<String>,
    #[schema(max_length = 10000)]
    pub location: Option<String>,
    /// An http or https address.
    #[schema(max_length = 2048)]
    pub online_url: Option<String>,
    #[schema(max_length = 10000)]
    pub agenda: Option<String>,
    #[schema(max_length = 10000)]
    pub notes: Option<String>,
    #[schema(minimum = 1)]
    pub organiser_id: Option<i64>,
    /// At most 200; each names exactly one of `user_id` and `contact_id`.
    #[schema(max_items = 200)]
    pub attendees: Option<Vec<AttendeeOut>>,
    #[schema(max_items = 50)]
    pub links: Option<Vec<LinkOut>>,
    #[schema(schema_with = super::schema::tags)]
    pub tags: Option<Vec<String>>,
}

impl MeetingCreate {
    pub fn into_fields(self, creator: Option<i64>) -> Result<MeetingFields, Invalid> {
        let mut p = Parser::default();
        let title = p.required("title", &self.title, Title::parse);
        let when = p.when(
            self.all_day,
            self.starts_at,
            self.ends_at,
            self.start_date,
            self.end_date,
        );
        let time_zone = p.optional("time_zone", self.time_zone.as_deref(), TimeZoneName::parse);
        let location = p.optional("location", self.location.as_deref(), Description::parse);
        let online_url = p.optional("online_url", self.online_url.as_deref(), WebAddress::parse);
        let agenda = p.optional("agenda", self.agenda.as_deref(), Description::parse);
        let notes = p.optional("notes", self.notes.as_deref(), Description::parse);
        let organiser_id = p.id("organiser_id", self.organiser_id).or(creator);
        let attendees = p.attendees(self.attendees.unwrap_or_default());
        let links = p.links(self.links.as_deref());
        let tags = p.tags(self.tags.as_deref());
        p.build(match (title, when, attendees, links, tags) {
            (Some(title), Some(when), Some(attendees), Some(links), Some(tags)) => Some(
                MeetingFields {
                    title,
                    when,
                    time_zone,
                    location,
                    online_url,
                    agenda,
                    notes,
                    organiser_id,
                    attendees,
                    links,
                    tags,
                }
                .with_organiser(),
            ),
            _ => None,
        })
    }
}

/// Changes to a meeting: absent fields stay as they are, `null` clears a field. Moving
/// `starts_at` alone keeps the meeting's length; `all_day` switches between times and days.
/// `attendees`, `links` and `tags` replace the lists (the organiser always attends).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeetingUpdate {
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, max_length = 500)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    pub all_day: Option<bool>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    pub starts_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    pub start_date: Option<NaiveDate>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    pub end_date: Option<NaiveDate>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub time_zone: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 10000)]
    pub location: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 2048)]
    pub online_url: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 10000)]
    pub agenda: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 10000)]
    pub notes: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub organiser_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, max_items = 200)]
    pub attendees: Option<Vec<AttendeeOut>>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, max_items = 50)]
    pub links: Option<Vec<LinkOut>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = super::schema::tags)]
    pub tags: Option<Option<Vec<String>>>,
}

impl MeetingUpdate {
    pub fn into_patch(self) -> Result<MeetingPatch, Invalid> {
        let mut p = Parser::default();
        let when = WhenPatch {
            all_day: self.all_day,
            starts_at: self.starts_at,
            ends_at: self.ends_at,
            start_date: self.start_date,
            end_date: self.end_date,
        };
        p.in_years("starts_at", self.starts_at.map(|t| t.year()));
        p.in_years("ends_at", self.ends_at.map(|t| t.year()));
        p.in_years("start_date", self.start_date.map(|d| d.year()));
        p.in_years("end_date", self.end_date.map(|d| d.year()));
        let text = |p: &mut Parser, field: &str, raw: &Option<Option<String>>| {
            p.patch(
                field,
                raw.as_ref().map(Option::as_deref),
                Description::parse,
            )
        };
        let patch = MeetingPatch {
            title: p.patch_required("title", self.title.as_deref(), Title::parse),
            when: (when != WhenPatch::default()).then_some(when),
            time_zone: p.patch(
                "time_zone",
                self.time_zone.as_ref().map(Option::as_deref),
                TimeZoneName::parse,
            ),
            location: text(&mut p, "location", &self.location),
            online_url: p.patch(
                "online_url",
                self.online_url.as_ref().map(Option::as_deref),
                WebAddress::parse,
            ),
            agenda: text(&mut p, "agenda", &self.agenda),
            notes: text(&mut p, "notes", &self.notes),
            organiser_id: self.organiser_id.map(|id| p.id("organiser_id", id)),
            attendees: self.attendees.and_then(|list| p.attendees(list)),
            links: self.links.and_then(|links| p.links(Some(links.as_slice()))),
            tags: p.tags_patch(self.tags.as_ref().map(Option::as_deref)),
        };
        p.finish()?;
        Ok(patch)
    }
}

impl Parser {
    /// Refuses a year both databases would not store and compare alike.
    pub(crate) fn in_years(&mut self, field: &str, year: Option<i32>) -> bool {
        if year.is_some_and(|y| !(1..=9999).contains(&y)) {
            self.check::<()>(
                field,
                Err(ValueError::new(
                    "out_of_range",
                    "must be between the years 1 and 9999",
                )),
            );
            return false;
        }
        true
    }

    fn when(
        &mut self,
        all_day: bool,
        starts_at: Option<DateTime<Utc>>,
        ends_at: Option<DateTime<Utc>>,
        start_date: Option<NaiveDate>,
        end_date: Option<NaiveDate>,
    ) -> Option<When> {
        let in_range = [
            self.in_years("starts_at", starts_at.map(|t| t.year())),
            self.in_years("ends_at", ends_at.map(|t| t.year())),
            self.in_years("start_date", start_date.map(|d| d.year())),
            self.in_years("end_date", end_date.map(|d| d.year())),
        ];
        if in_range.contains(&false) {
            return None;
        }
        let missing = |p: &mut Parser, field: &str, message: &'static str| {
            p.check::<()>(field, Err(ValueError::new("required", message)));
            None
        };
        let extra = |p: &mut Parser, field: &str, message: &'static str| {
            p.check::<()>(field, Err(ValueError::new("not_allowed", message)));
            None
        };
        if all_day {
            if starts_at.is_some() || ends_at.is_some() {
                return extra(
                    self,
                    "starts_at",
                    "an all-day meeting takes start_date and end_date, not times",
                );
            }
            let Some(start) = start_date else {
                return missing(self, "start_date", "an all-day meeting needs its first day");
            };
            self.check("end_date", When::all_day(start, end_date.unwrap_or(start)))
        } else {
            if start_date.is_some() || end_date.is_some() {
                return extra(
                    self,
                    "start_date",
                    "dates are for all-day meetings (all_day: true); give starts_at and ends_at",
                );
            }
            match (starts_at, ends_at) {
                (Some(start), Some(end)) => self.check("ends_at", When::timed(start, end)),
                (None, _) => missing(self, "starts_at", "a meeting needs its start time"),
                (_, None) => missing(self, "ends_at", "a meeting needs its end time"),
            }
        }
    }

    fn attendees(
        &mut self,
        raw: Vec<AttendeeOut>,
    ) -> Option<std::collections::BTreeMap<Attendee, Response>> {
        let mut list = Vec::with_capacity(raw.len());
        let mut ok = true;
        for (i, a) in raw.into_iter().enumerate() {
            let who = match (a.user_id, a.contact_id) {
                (Some(id), None) if id > 0 => Ok(Attendee::User(id)),
                (None, Some(id)) if id > 0 => Ok(Attendee::Contact(id)),
                _ => Err(ValueError::new(
                    "invalid_attendee",
                    "must name exactly one of user_id and contact_id, a positive id",
                )),
            };
            let response = a
                .response
                .as_deref()
                .map_or(Ok(Response::default()), Response::parse);
            match (
                self.check("attendees", who.map_err(|e| e.at(format!("[{i}]")))),
                self.check(
                    "attendees",
                    response.map_err(|e| e.at(format!("[{i}].response"))),
                ),
            ) {
                (Some(who), Some(response)) => list.push((who, response)),
                _ => ok = false,
            }
        }
        let attendees = self.check("attendees", parse_attendees(list));
        attendees.filter(|_| ok)
    }
}

/// Filters, order and page of the meeting list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MeetingListQuery {
    /// Records per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `starts_at`, `created_at` or `updated_at`; prefix `-` for descending. Default
    /// `-created_at`.
    #[param(schema_with = super::schema::meeting_sort)]
    pub sort: Option<String>,
    /// Attended by this team member (the organiser attends); `me` for the caller.
    #[param(example = "me")]
    pub attendee: Option<String>,
    /// Attended by this contact.
    pub attendee_contact_id: Option<i64>,
    /// Under way at or after this RFC 3339 time (it ends after it).
    pub from: Option<DateTime<Utc>>,
    /// Under way before this RFC 3339 time (it starts before it).
    pub to: Option<DateTime<Utc>>,
    /// Linked to this record, as `<type>:<id>`.
    #[param(example = "company:12")]
    pub linked: Option<String>,
    /// Has this tag (exact match).
    pub tag: Option<String>,
    /// Changed at or after this RFC 3339 time.
    pub updated_since: Option<DateTime<Utc>>,
}
