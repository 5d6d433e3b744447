//! Meetings: their row, attendees and filters. Links, tags, the versioned update and the
//! delete are the shared plumbing's ([`crate::links`], [`crate::tags`], [`crate::record`]).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::event::{EventType, NewEvent, Outbox, RecordType};
use domain::links::{Links, RecordRef};
use domain::listing::{Page, PageSize, Position, Sort, SortField, SortValue};
use domain::meeting::{Attendee, Meeting, MeetingFields, MeetingPatch, Response, When};
use domain::task::TimeZoneName;
use domain::values::Tags;
use serde_json::{Value, json};

use crate::keyset::{into_page, keyset_page, time_value, unsupported_sort};
use crate::links::Linked;
use crate::record::{self, Versioned};
use crate::references::{Ref, check_all};
use crate::schema::{meeting_attendees, meetings};
use crate::tags::{self, TagTable};
use crate::{
    DbConnection, StoreError, activity_dates, events, links, now, to_utc, write_transaction,
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = meetings)]
struct MeetingRow {
    id: i64,
    account_id: i64,
    title: String,
    all_day: bool,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    time_zone: Option<String>,
    location: Option<String>,
    online_url: Option<String>,
    agenda: Option<String>,
    notes: Option<String>,
    organiser_id: Option<i64>,
    attendees: String,
    links: String,
    tags: String,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

fn attendee_key(who: Attendee) -> (&'static str, i64) {
    match who {
        Attendee::User(id) => ("user", id),
        Attendee::Contact(id) => ("contact", id),
    }
}

fn attendees_to_stored(attendees: &BTreeMap<Attendee, Response>) -> String {
    let list: Vec<Value> = attendees
        .iter()
        .map(|(who, response)| {
            let (kind, id) = attendee_key(*who);
            json!([kind, id, response.as_str()])
        })
        .collect();
    Value::from(list).to_string()
}

fn attendees_from_stored(stored: &str) -> Vec<(Attendee, Response)> {
    serde_json::from_str::<Vec<(String, i64, String)>>(stored)
        .unwrap_or_default()
        .into_iter()
        .map(|(kind, id, response)| {
            let who = if kind == "contact" {
                Attendee::Contact(id)
            } else {
                Attendee::User(id)
            };
            (who, Response::parse(&response).unwrap_or_default())
        })
        .collect()
}

impl From<MeetingRow> for Meeting {
    fn from(row: MeetingRow) -> Meeting {
        let when = match (row.all_day, row.start_date, row.end_date) {
            (true, Some(start_date), Some(end_date)) => When::AllDay {
                start_date,
                end_date,
            },
            _ => When::At {
                starts_at: to_utc(row.starts_at),
                ends_at: to_utc(row.ends_at),
            },
        };
        Meeting {
            id: row.id,
            account_id: row.account_id,
            title: row.title,
            when,
            time_zone: row
                .time_zone
                .and_then(|name| TimeZoneName::parse(&name).ok()),
            location: row.location,
            online_url: row.online_url,
            agenda: row.agenda,
            notes: row.notes,
            organiser_id: row.organiser_id,
            attendees: attendees_from_stored(&row.attendees),
            links: links::links_from_stored(&row.links),
            tags: serde_json::from_str(&row.tags).unwrap_or_default(),
            version: row.version,
            created_at: to_utc(row.created_at),
            updated_at: to_utc(row.updated_at),
        }
    }
}

#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = meetings, treat_none_as_null = true)]
struct MeetingValues {
    title: String,
    all_day: bool,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    time_zone: Option<String>,
    location: Option<String>,
    online_url: Option<String>,
    agenda: Option<String>,
    notes: Option<String>,
    organiser_id: Option<i64>,
    attendees: String,
    links: String,
    tags: String,
}

impl From<&MeetingFields> for MeetingValues {
    fn from(f: &MeetingFields) -> Self {
        let (starts_at, ends_at) = f.when.span();
        let (start_date, end_date) = match f.when {
            When::AllDay {
                start_date,
                end_date,
            } => (Some(start_date), Some(end_date)),
            When::At { .. } => (None, None),
        };
        let text =
            |t: &Option<domain::values::Description>| t.as_ref().map(|t| t.as_str().to_owned());
        MeetingValues {
            title: f.title.as_str().to_owned(),
            all_day: start_date.is_some(),
            starts_at: starts_at.naive_utc(),
            ends_at: ends_at.naive_utc(),
            start_date,
            end_date,
            time_zone: f.time_zone.map(|tz| tz.as_str().to_owned()),
            location: text(&f.location),
            online_url: f.online_url.as_ref().map(|u| u.as_str().to_owned()),
            agenda: text(&f.agenda),
            notes: text(&f.notes),
            organiser_id: f.organiser_id,
            attendees: attendees_to_stored(&f.attendees),
            links: links::links_to_stored(&f.links),
            tags: Value::from(f.tags.to_vec()).to_string(),
        }
    }
}

/// Filters of the meeting list; every one narrows, none is required.
#[derive(Debug, Clone, Default)]
pub struct MeetingFilter {
    /// Attended (or organised) by this team member.
    pub attendee_user: Option<i64>,
    pub attendee_contact: Option<i64>,
    /// Under way at some time from this one on: it ends after it.
    pub from: Option<DateTime<Utc>>,
    /// Under way at some time before this one: it starts before it.
    pub to: Option<DateTime<Utc>>,
    pub linked: Option<RecordRef>,
    pub tag: Option<String>,
    pub updated_since: Option<DateTime<Utc>>,
}

pub fn create(
    conn: &mut DbConnection,
    account_id: i64,
    fields: &MeetingFields,
    outbox: &Outbox<'_>,
) -> Result<Meeting, StoreError> {
    write_transaction(conn, |conn| {
        check_references(conn, account_id, fields)?;
        let at = now();
        let id: i64 = diesel::insert_into(meetings::table)
            .values((
                &MeetingValues::from(fields),
                meetings::account_id.eq(account_id),
                meetings::version.eq(1),
                meetings::created_at.eq(at),
                meetings::updated_at.eq(at),
            ))
            .returning(meetings::id)
            .get_result(conn)?;
        tags::meetings::write(conn, account_id, &[(id, &fields.tags)])?;
        Meetings::write_beside(conn, account_id, id, None, fields)?;
        let meeting = find(conn, account_id, id)?;
        let data = outbox.render.meeting(&meeting);
        events::record_one(
            conn,
            account_id,
            outbox,
            NewEvent::new(EventType::MeetingCreated, id, data),
        )?;
        Ok(meeting)
    })
}

pub fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Meeting, StoreError> {
    find(conn, account_id, id)
}

pub fn update(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    patch: MeetingPatch,
    outbox: &Outbox<'_>,
) -> Result<Meeting, StoreError> {
    record::update::<Meetings>(conn, account_id, id, expected_version, patch, outbox)
}

pub fn delete(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<(), StoreError> {
    record::delete::<Meetings>(conn, account_id, id, expected_version, outbox)
}

pub fn list(
    conn: &mut DbConnection,
    account_id: i64,
    filter: &MeetingFilter,
    sort: Sort,
    size: PageSize,
    after: Option<&Position>,
) -> Result<Page<Meeting>, StoreError> {
    let mut query = meetings::table
        .filter(meetings::account_id.eq(account_id))
        .select(MeetingRow::as_select())
        .into_boxed();
    for (kind, who) in [
        ("user", filter.attendee_user),
        ("contact", filter.attendee_contact),
    ] {
        if let Some(id) = who {
            query = query.filter(
                meetings::id.eq_any(
                    meeting_attendees::table
                        .filter(meeting_attendees::account_id.eq(account_id))
                        .filter(meeting_attendees::attendee_type.eq(kind))
                        .filter(meeting_attendees::attendee_id.eq(id))
                        .select(meeting_attendees::meeting_id),
                ),
            );
        }
    }
    if let Some(from) = filter.from {
        query = query.filter(meetings::ends_at.gt(from.naive_utc()));
    }
    if let Some(to) = filter.to {
        query = query.filter(meetings::starts_at.lt(to.naive_utc()));
    }
    if let Some(record) = filter.linked {
        query = query.filter(meetings::id.eq_any(links::linked(
            account_id,
            RecordType::Meeting,
            record,
        )));
    }
    if let Some(tag) = &filter.tag {
        query = query.filter(meetings::id.eq_any(tags::meetings::tagged(account_id, tag)));
    }
    if let Some(since) = filter.updated_since {
        query = query.filter(meetings::updated_at.ge(since.naive_utc()));
    }
    let query = match sort.field {
        SortField::StartsAt => keyset_page!(
            query,
            sort,
            after,
            meetings::starts_at,
            meetings::id,
            time_value
        ),
        SortField::CreatedAt => keyset_page!(
            query,
            sort,
            after,
            meetings::created_at,
            meetings::id,
            time_value
        ),
        SortField::UpdatedAt => keyset_page!(
            query,
            sort,
            after,
            meetings::updated_at,
            meetings::id,
            time_value
        ),
        _ => return Err(unsupported_sort()),
    };
    let rows: Vec<MeetingRow> = query.limit(size.get() + 1).load(conn)?;
    Ok(into_page(rows, size, |last| Position {
        sort,
        value: SortValue::Time(to_utc(match sort.field {
            SortField::StartsAt => last.starts_at,
            SortField::UpdatedAt => last.updated_at,
            _ => last.created_at,
        })),
        id: last.id,
    }))
}

/// Before a contact goes (or is merged into `into`): the meetings it attends lose it (or
/// have `into` instead, keeping a response `into` already gave), each with its
/// `meeting.updated`, for the caller to record last.
pub(crate) fn relink_contact(
    conn: &mut DbConnection,
    account_id: i64,
    contact: i64,
    into: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<Vec<NewEvent>, StoreError> {
    let ids: Vec<i64> = meeting_attendees::table
        .filter(meeting_attendees::account_id.eq(account_id))
        .filter(meeting_attendees::attendee_type.eq("contact"))
        .filter(meeting_attendees::attendee_id.eq(contact))
        .select(meeting_attendees::meeting_id)
        .order(meeting_attendees::meeting_id.asc())
        .load(conn)?;
    let mut changes = Vec::new();
    for id in ids {
        let current = find(conn, account_id, id)?;
        let mut attendees: BTreeMap<Attendee, Response> =
            current.attendees.iter().copied().collect();
        if let Some(response) = attendees.remove(&Attendee::Contact(contact))
            && let Some(into) = into
        {
            attendees.entry(Attendee::Contact(into)).or_insert(response);
        }
        let patch = MeetingPatch {
            attendees: Some(attendees),
            ..MeetingPatch::default()
        };
        let (_, event) = record::update_in::<Meetings>(conn, account_id, id, None, patch, outbox)?;
        changes.extend(event);
    }
    Ok(changes)
}

/// Meetings in the shared record plumbing.
pub(crate) struct Meetings;

impl Versioned for Meetings {
    type Record = Meeting;
    type Fields = MeetingFields;
    type Patch = MeetingPatch;
    const UPDATED: EventType = EventType::MeetingUpdated;
    const DELETED: EventType = EventType::MeetingDeleted;
    const TAGS: TagTable = tags::meetings::TABLE;

    fn lock(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Meeting, StoreError> {
        match conn {
            DbConnection::Postgresql(pg) => meetings::table
                .filter(meetings::id.eq(id))
                .filter(meetings::account_id.eq(account_id))
                .select(MeetingRow::as_select())
                .for_update()
                .first(pg)
                .optional()?
                .map(Meeting::from)
                .ok_or(StoreError::NotFound),
            // SQLite's write transaction already holds the database.
            DbConnection::Sqlite(_) => find(conn, account_id, id),
        }
    }

    fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Meeting, StoreError> {
        find(conn, account_id, id)
    }

    fn version(meeting: &Meeting) -> i64 {
        meeting.version
    }

    fn render(outbox: &Outbox<'_>, meeting: &Meeting) -> Value {
        outbox.render.meeting(meeting)
    }

    fn patched(
        conn: &mut DbConnection,
        account_id: i64,
        _id: i64,
        current: &Meeting,
        patch: MeetingPatch,
    ) -> Result<MeetingFields, StoreError> {
        let new_people = patch.attendees.is_some() || patch.organiser_id.is_some();
        let new_links = patch.links.is_some();
        let fields = patch
            .apply(current)
            .map_err(|(field, e)| domain::Invalid::default().with(field, e))?;
        if new_people || new_links {
            check_references(conn, account_id, &fields)?;
        }
        Ok(fields)
    }

    fn unchanged(current: &Meeting, fields: &MeetingFields) -> bool {
        MeetingPatch::default().apply(current).as_ref() == Ok(fields)
    }

    fn sets_tags(patch: &MeetingPatch) -> bool {
        patch.tags.is_some()
    }

    fn tags(fields: &MeetingFields) -> &Tags {
        &fields.tags
    }

    /// Its attendees and links beside the row; a new start waits for its own
    /// `meeting.starting`, and moves its records' last or next activity.
    fn write_beside(
        conn: &mut DbConnection,
        account_id: i64,
        id: i64,
        current: Option<&Meeting>,
        fields: &MeetingFields,
    ) -> Result<(), StoreError> {
        let attendees: Vec<(Attendee, Response)> =
            fields.attendees.iter().map(|(w, r)| (*w, *r)).collect();
        let (starts_at, ends_at) = fields.when.span();
        if current.is_none_or(|c| c.attendees != attendees || c.when != fields.when) {
            diesel::delete(meeting_attendees::table.filter(meeting_attendees::meeting_id.eq(id)))
                .execute(conn)?;
            let rows: Vec<_> = attendees
                .iter()
                .map(|(who, response)| {
                    let (kind, attendee) = attendee_key(*who);
                    (
                        meeting_attendees::meeting_id.eq(id),
                        meeting_attendees::account_id.eq(account_id),
                        meeting_attendees::attendee_type.eq(kind),
                        meeting_attendees::attendee_id.eq(attendee),
                        meeting_attendees::response.eq(response.as_str()),
                        meeting_attendees::starts_at.eq(starts_at.naive_utc()),
                        meeting_attendees::ends_at.eq(ends_at.naive_utc()),
                    )
                })
                .collect();
            crate::bulk::insert_all!(&mut *conn, meeting_attendees::table, &rows, 1000);
        }
        let new_start = current.is_some_and(|c| c.when.span().0 != fields.when.span().0);
        if current.is_none_or(|c| c.links != fields.links.to_vec()) {
            links::replace(conn, account_id, RecordType::Meeting, id, &fields.links)?;
        } else if new_start {
            activity_dates::refresh(conn, account_id, fields.links.iter())?;
        }
        if new_start {
            // Both marks are per start time: the new start is reminded of and seen to pass.
            diesel::update(meetings::table.filter(meetings::id.eq(id)))
                .set((
                    meetings::starting_event_at.eq(None::<NaiveDateTime>),
                    meetings::start_passed_at.eq(None::<NaiveDateTime>),
                ))
                .execute(conn)?;
        }
        Ok(())
    }

    fn unlink(
        conn: &mut DbConnection,
        account_id: i64,
        id: i64,
        _outbox: &Outbox<'_>,
    ) -> Result<Vec<NewEvent>, StoreError> {
        links::remove(conn, account_id, RecordType::Meeting, id)?;
        Ok(Vec::new())
    }

    record::row_writes!(meetings, MeetingValues);
}

impl Linked for Meetings {
    const OWNER: RecordType = RecordType::Meeting;

    fn links(meeting: &Meeting) -> Links {
        Links::from_stored(meeting.links.iter().copied())
    }

    fn relinked(links: Links) -> MeetingPatch {
        MeetingPatch {
            links: Some(links),
            ..MeetingPatch::default()
        }
    }
}

fn check_references(
    conn: &mut DbConnection,
    account_id: i64,
    fields: &MeetingFields,
) -> Result<(), StoreError> {
    let mut refs: Vec<Ref> = fields
        .organiser_id
        .map(|id| Ref::User("organiser_id", id))
        .into_iter()
        .collect();
    refs.extend(fields.attendees.keys().map(|who| match who {
        Attendee::User(id) => Ref::User("attendees", *id),
        Attendee::Contact(id) => Ref::Contact("attendees", *id),
    }));
    check_all(conn, account_id, refs)?;
    links::check(conn, account_id, &fields.links)
}

fn find(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Meeting, StoreError> {
    meetings::table
        .filter(meetings::id.eq(id))
        .filter(meetings::account_id.eq(account_id))
        .select(MeetingRow::as_select())
        .first(conn)
        .optional()?
        .map(Meeting::from)
        .ok_or(StoreError::NotFound)
}

/// Meetings of the account by id, in the order of `ids` (unknown ones left out), without locks.
pub(crate) fn get_many(
    conn: &mut DbConnection,
    account_id: i64,
    ids: &[i64],
) -> Result<Vec<Meeting>, StoreError> {
    let mut found = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let rows: Vec<MeetingRow> = meetings::table
            .filter(meetings::account_id.eq(account_id))
            .filter(meetings::id.eq_any(chunk))
            .select(MeetingRow::as_select())
            .load(conn)?;
        found.extend(rows.into_iter().map(|row| (row.id, Meeting::from(row))));
    }
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}
