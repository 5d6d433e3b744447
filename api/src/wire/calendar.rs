//! The calendar feed on the wire: a VCALENDAR with a VEVENT per meeting and one per task
//! (or, on request, a VTODO), as calendar apps subscribed to a URL read it.

use chrono::{DateTime, Days, Utc};
use domain::meeting::{Attendee, Meeting, Response, When};
use domain::task::{Due, Priority, Task, TaskStatus};
use persistence::calendar::{CalendarFeed, Person};
use serde::Deserialize;
use utoipa::IntoParams;

use super::ical::{Ical, param_value};

/// The feed's query string.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CalendarQuery {
    /// A calendar token (`clt_cal_...`), for calendar apps that subscribe to a URL and cannot
    /// send `Authorization`. Only calendar tokens are accepted here, and only on this
    /// operation; any other token goes in `Authorization`. Do not send both.
    #[param(example = "clt_cal_Xy12ab...")]
    pub token: Option<String>,
    /// How tasks appear (described in [`tasks_style`], since a `schema_with` parameter
    /// shows no doc comment).
    #[param(inline, schema_with = tasks_style)]
    pub tasks: Option<String>,
}

fn tasks_style() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(TaskStyle::ALL.iter().map(|s| s.as_str())))
        .default(Some(serde_json::json!("events")))
        .description(Some(
            "How tasks appear: `events` (the default), as events on their due day or at their due time, which every calendar app shows (Google Calendar and Outlook ignore to-dos); or `todos`, as VTODO to-dos with their due, status, completion and priority, for apps that list to-dos (Apple Reminders, Thunderbird).",
        ))
        .build()
}

/// How tasks are written into the feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TaskStyle {
    /// VEVENT: shown by every calendar app.
    #[default]
    Events,
    /// VTODO: the RFC's to-do, with DUE, STATUS, COMPLETED.
    Todos,
}

impl TaskStyle {
    pub const ALL: [TaskStyle; 2] = [TaskStyle::Events, TaskStyle::Todos];

    pub fn as_str(self) -> &'static str {
        match self {
            TaskStyle::Events => "events",
            TaskStyle::Todos => "todos",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, domain::validation::ValueError> {
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == raw)
            .ok_or_else(|| {
                domain::validation::ValueError::new("invalid_choice", "must be events or todos")
            })
    }
}

/// Everything a feed is written from.
pub struct Calendar<'a> {
    /// What the calendar is called in the app (`X-WR-CALNAME`).
    pub name: &'a str,
    /// The right-hand side of every UID: the service's host.
    pub uid_domain: &'a str,
    pub tasks: TaskStyle,
    pub feed: &'a CalendarFeed,
}

/// The priority of a task, as RFC 5545 counts it: 1 the highest, 9 the lowest.
fn priority(p: Priority) -> u8 {
    match p {
        Priority::High => 1,
        Priority::Normal => 5,
        Priority::Low => 9,
    }
}

fn partstat(response: Response) -> &'static str {
    match response {
        Response::NeedsAction => "NEEDS-ACTION",
        Response::Accepted => "ACCEPTED",
        Response::Declined => "DECLINED",
        Response::Tentative => "TENTATIVE",
    }
}

/// The properties every component of the feed has: UID, the stamps, SEQUENCE. With no METHOD
/// in the object, DTSTAMP is when the record was last changed (RFC 5545 §3.8.7.2), so that an
/// unchanged record is written the same way every time.
fn stamps(
    ical: &mut Ical,
    uid: String,
    version: i64,
    created: DateTime<Utc>,
    updated: DateTime<Utc>,
) {
    ical.value("UID", &uid);
    ical.utc("DTSTAMP", updated);
    ical.utc("CREATED", created);
    ical.utc("LAST-MODIFIED", updated);
    ical.value("SEQUENCE", &(version - 1).max(0).to_string());
}

/// `ORGANIZER` or `ATTENDEE` for someone whose email is known (a calendar address is a
/// `mailto:` URI; without an email there is none to write).
fn person_line(ical: &mut Ical, property: &str, person: &Person, params: &str) {
    if let Some(email) = person.email.as_deref().filter(|e| !e.is_empty()) {
        ical.value(
            &format!("{property};CN={}{params}", param_value(&person.name)),
            &format!("mailto:{email}"),
        );
    }
}

fn meeting(ical: &mut Ical, calendar: &Calendar<'_>, m: &Meeting) {
    ical.begin("VEVENT");
    stamps(
        ical,
        format!("meeting-{}@{}", m.id, calendar.uid_domain),
        m.version,
        m.created_at,
        m.updated_at,
    );
    match m.when {
        When::At { starts_at, ends_at } => {
            ical.utc("DTSTART", starts_at);
            // DTEND must be after DTSTART: a meeting of no length has none (it ends as it
            // starts, RFC 5545 §3.6.1).
            if ends_at > starts_at {
                ical.utc("DTEND", ends_at);
            }
        }
        When::AllDay {
            start_date,
            end_date,
        } => {
            ical.date("DTSTART", start_date);
            // The last day is inclusive here, DTEND is not.
            ical.date(
                "DTEND",
                end_date.checked_add_days(Days::new(1)).unwrap_or(end_date),
            );
        }
    }
    ical.text("SUMMARY", &m.title);
    let description = match (m.agenda.as_deref(), m.notes.as_deref()) {
        (Some(agenda), Some(notes)) => Some(format!("{agenda}\n\nNotes:\n{notes}")),
        (Some(text), None) | (None, Some(text)) => Some(text.to_owned()),
        (None, None) => None,
    };
    if let Some(description) = description {
        ical.text("DESCRIPTION", &description);
    }
    if let Some(location) = &m.location {
        ical.text("LOCATION", location);
    }
    if let Some(url) = &m.online_url {
        ical.value("URL", url);
    }
    ical.value("STATUS", "CONFIRMED");
    if !m.tags.is_empty() {
        ical.text_list("CATEGORIES", &m.tags);
    }
    if let Some(organiser) = m.organiser_id.and_then(|id| calendar.feed.users.get(&id)) {
        person_line(ical, "ORGANIZER", organiser, "");
    }
    for (who, response) in &m.attendees {
        let person = match who {
            Attendee::User(id) => calendar.feed.users.get(id),
            Attendee::Contact(id) => calendar.feed.contacts.get(id),
        };
        if let Some(person) = person {
            let params = format!(
                ";CUTYPE=INDIVIDUAL;ROLE=REQ-PARTICIPANT;PARTSTAT={}",
                partstat(*response)
            );
            person_line(ical, "ATTENDEE", person, &params);
        }
    }
    ical.end("VEVENT");
}

fn task(ical: &mut Ical, calendar: &Calendar<'_>, t: &Task) {
    let Some(due) = t.due else { return };
    let done = t.status == TaskStatus::Done;
    let component = match calendar.tasks {
        TaskStyle::Events => "VEVENT",
        TaskStyle::Todos => "VTODO",
    };
    ical.begin(component);
    stamps(
        ical,
        format!("task-{}@{}", t.id, calendar.uid_domain),
        t.version,
        t.created_at,
        t.updated_at,
    );
    match (calendar.tasks, due) {
        (TaskStyle::Events, Due::On(day)) => {
            ical.date("DTSTART", day);
            ical.date("DTEND", day.checked_add_days(Days::new(1)).unwrap_or(day));
        }
        // A moment, not a stretch of time: no DTEND (RFC 5545 §3.6.1).
        (TaskStyle::Events, Due::At(at)) => ical.utc("DTSTART", at),
        (TaskStyle::Todos, Due::On(day)) => ical.date("DUE", day),
        (TaskStyle::Todos, Due::At(at)) => ical.utc("DUE", at),
    }
    match calendar.tasks {
        // An event has no "completed": a done task says so in its title.
        TaskStyle::Events if done => ical.text("SUMMARY", &format!("✓ {}", t.title)),
        _ => ical.text("SUMMARY", &t.title),
    }
    if let Some(notes) = &t.notes {
        ical.text("DESCRIPTION", notes);
    }
    ical.value("PRIORITY", &priority(t.priority).to_string());
    match calendar.tasks {
        // A task does not make its assignee busy.
        TaskStyle::Events => ical.value("TRANSP", "TRANSPARENT"),
        TaskStyle::Todos if done => {
            ical.value("STATUS", "COMPLETED");
            if let Some(at) = t.done_at {
                ical.utc("COMPLETED", at);
            }
            ical.value("PERCENT-COMPLETE", "100");
        }
        TaskStyle::Todos => ical.value("STATUS", "NEEDS-ACTION"),
    }
    if !t.tags.is_empty() {
        ical.text_list("CATEGORIES", &t.tags);
    }
    ical.end(component);
}

/// The whole feed.
pub fn render(calendar: &Calendar<'_>) -> String {
    let mut ical = Ical::default();
    ical.begin("VCALENDAR");
    ical.value("VERSION", "2.0");
    ical.value("PRODID", "-//Clientline//Clientline CRM//EN");
    ical.value("CALSCALE", "GREGORIAN");
    ical.text("X-WR-CALNAME", calendar.name);
    ical.text("NAME", calendar.name);
    // How often a subscriber should read it again (RFC 7986, and Outlook's own property).
    ical.value("REFRESH-INTERVAL;VALUE=DURATION", "PT15M");
    ical.value("X-PUBLISHED-TTL", "PT15M");
    for m in &calendar.feed.meetings {
        meeting(&mut ical, calendar, m);
    }
    for t in &calendar.feed.tasks {
        task(&mut ical, calendar, t);
    }
    ical.end("VCALENDAR");
    ical.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(h: u32) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(2026, 12, 7)
            .and_then(|d| d.and_hms_opt(h, 0, 0))
            .unwrap_or_default()
            .and_utc()
    }

    fn task_due(due: Due, status: TaskStatus) -> Task {
        Task {
            id: 7,
            account_id: 1,
            title: "Send the proposal".into(),
            notes: None,
            due: Some(due),
            time_zone: None,
            priority: Priority::High,
            status,
            done_at: (status == TaskStatus::Done).then(|| at(11)),
            done_by: None,
            assignee_ids: vec![1],
            links: vec![],
            tags: vec![],
            created_by: Some(1),
            version: 3,
            created_at: at(8),
            updated_at: at(9),
        }
    }

    fn written(tasks: TaskStyle, feed: &CalendarFeed) -> String {
        render(&Calendar {
            name: "Acme: Ada",
            uid_domain: "crm.example.com",
            tasks,
            feed,
        })
    }

    #[test]
    fn an_all_day_meeting_ends_the_day_after_its_last() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 7).unwrap_or_default();
        let feed = CalendarFeed {
            meetings: vec![Meeting {
                id: 12,
                account_id: 1,
                title: "Offsite".into(),
                when: When::AllDay {
                    start_date: day,
                    end_date: day + chrono::Duration::days(1),
                },
                time_zone: None,
                location: None,
                online_url: None,
                agenda: None,
                notes: None,
                organiser_id: None,
                attendees: vec![],
                links: vec![],
                tags: vec![],
                version: 1,
                created_at: at(8),
                updated_at: at(8),
            }],
            ..CalendarFeed::default()
        };
        let ics = written(TaskStyle::Events, &feed);
        assert!(ics.contains("UID:meeting-12@crm.example.com\r\n"), "{ics}");
        assert!(ics.contains("DTSTART;VALUE=DATE:20261207\r\n"), "{ics}");
        assert!(ics.contains("DTEND;VALUE=DATE:20261209\r\n"), "{ics}");
        assert!(ics.contains("SEQUENCE:0\r\n"), "{ics}");
    }

    #[test]
    fn a_done_task_is_a_completed_todo_or_a_ticked_event() {
        let feed = CalendarFeed {
            tasks: vec![task_due(Due::At(at(17)), TaskStatus::Done)],
            ..CalendarFeed::default()
        };
        let todo = written(TaskStyle::Todos, &feed);
        for line in [
            "BEGIN:VTODO",
            "DUE:20261207T170000Z",
            "STATUS:COMPLETED",
            "COMPLETED:20261207T110000Z",
            "PRIORITY:1",
            "SEQUENCE:2",
        ] {
            assert!(todo.contains(&format!("{line}\r\n")), "{line} in {todo}");
        }
        let event = written(TaskStyle::Events, &feed);
        assert!(event.contains("SUMMARY:✓ Send the proposal\r\n"), "{event}");
        assert!(event.contains("DTSTART:20261207T170000Z\r\n"), "{event}");
        assert!(!event.contains("DTEND"), "{event}");
        assert!(event.contains("TRANSP:TRANSPARENT\r\n"), "{event}");
        assert!(!event.contains("VTODO"), "{event}");
    }

    #[test]
    fn the_calendar_names_itself_and_its_scale() {
        let ics = written(TaskStyle::Events, &CalendarFeed::default());
        assert!(
            ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:"),
            "{ics}"
        );
        assert!(ics.contains("CALSCALE:GREGORIAN\r\n"));
        assert!(ics.contains("X-WR-CALNAME:Acme: Ada\r\n"));
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
    }
}
