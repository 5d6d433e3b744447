//! The agenda ("For Me") on the wire.

use chrono::{DateTime, NaiveDate, Utc};
use persistence::agenda::{Agenda, Bounded, FollowUp};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::enquiries::EnquiryOut;
use super::links::LinkOut;
use super::meetings::MeetingOut;
use super::tasks::TaskOut;

/// The day and zone the agenda is drawn for.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AgendaQuery {
    /// The IANA time zone whose day "today" is (default UTC).
    #[param(example = "Europe/London")]
    pub time_zone: Option<String>,
    /// The most items of each list, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
}

/// A record the caller owns whose follow-up is due.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgendaFollowUpOut {
    pub record: LinkOut,
    pub name: String,
    pub follow_up_due_at: DateTime<Utc>,
}

macro_rules! agenda_list {
    ($name:ident, $item:ty, $what:literal) => {
        #[doc = concat!("At most `limit` ", $what, "; `has_more` when some were left out.")]
        #[derive(Debug, Serialize, ToSchema)]
        pub struct $name {
            pub data: Vec<$item>,
            pub has_more: bool,
        }
    };
}
agenda_list!(AgendaTasks, TaskOut, "tasks");
agenda_list!(AgendaMeetings, MeetingOut, "meetings");
agenda_list!(AgendaFollowUps, AgendaFollowUpOut, "records");
agenda_list!(AgendaEnquiries, EnquiryOut, "enquiries");

/// The caller's day: what is late, what is due, who to meet, whom to follow up, what came in.
#[derive(Debug, Serialize, ToSchema)]
pub struct AgendaOut {
    /// The caller's date today, in `time_zone`.
    pub date: NaiveDate,
    #[schema(example = "Europe/London")]
    pub time_zone: String,
    /// Open tasks assigned to the caller past their due (all-day ones from the day after),
    /// oldest due first.
    pub overdue_tasks: AgendaTasks,
    /// Open tasks assigned to the caller due today, by due.
    pub today_tasks: AgendaTasks,
    /// Meetings the caller attends under way today or in the next seven days, by start.
    pub meetings: AgendaMeetings,
    /// Companies and projects the caller owns whose follow-up falls due by the end of today,
    /// soonest first.
    pub follow_ups: AgendaFollowUps,
    /// Open enquiries assigned to the caller, oldest first.
    pub enquiries: AgendaEnquiries,
}

fn list<T, O: From<T>>(bounded: Bounded<T>) -> (Vec<O>, bool) {
    (
        bounded.items.into_iter().map(O::from).collect(),
        bounded.more,
    )
}

impl From<FollowUp> for AgendaFollowUpOut {
    fn from(f: FollowUp) -> Self {
        AgendaFollowUpOut {
            record: LinkOut {
                r#type: f.record_type.to_owned(),
                id: f.id,
            },
            name: f.name,
            follow_up_due_at: f.follow_up_due_at,
        }
    }
}

impl AgendaOut {
    pub fn new(date: NaiveDate, time_zone: &str, agenda: Agenda) -> Self {
        let (overdue, overdue_more) = list(agenda.overdue_tasks);
        let (today, today_more) = list(agenda.today_tasks);
        let (meetings, meetings_more) = list(agenda.meetings);
        let (follow_ups, follow_ups_more) = list(agenda.follow_ups);
        let (enquiries, enquiries_more) = list(agenda.enquiries);
        AgendaOut {
            date,
            time_zone: time_zone.to_owned(),
            overdue_tasks: AgendaTasks {
                data: overdue,
                has_more: overdue_more,
            },
            today_tasks: AgendaTasks {
                data: today,
                has_more: today_more,
            },
            meetings: AgendaMeetings {
                data: meetings,
                has_more: meetings_more,
            },
            follow_ups: AgendaFollowUps {
                data: follow_ups,
                has_more: follow_ups_more,
            },
            enquiries: AgendaEnquiries {
                data: enquiries,
                has_more: enquiries_more,
            },
        }
    }
}
