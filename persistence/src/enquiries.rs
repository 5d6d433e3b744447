//! Enquiries: their row, their matches among companies and contacts, closing and reopening,
//! and the conversion that turns one into a company, contact and project in one transaction.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::company::CompanyFields;
use domain::contact::ContactFields;
use domain::enquiry::{
    Enquirer, Enquiry, EnquiryFields, EnquiryPatch, EnquiryStatus, Source, check_transition,
};
use domain::event::{EventType, NewEvent, Outbox};
use domain::links::{LinkType, RecordRef};
use domain::listing::{Page, PageSize, Position, Sort, SortField, SortValue};
use domain::project::ProjectFields;
use domain::values::{Email, Tags};
use serde_json::Value;

use crate::activities;
use crate::keyset::{into_page, keyset_page, time_value, unsupported_sort};
use crate::record::{self, Versioned};
use crate::references::{Ref, check_all};
use crate::schema::{companies, contacts, enquiries};
use crate::tags::{self, TagTable};
use crate::{DbConnection, StoreError, check_version, events, now, to_utc, write_transaction};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = enquiries)]
struct EnquiryRow {
    id: i64,
    account_id: i64,
    name: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    company_name: Option<String>,
    subject: Option<String>,
    message: Option<String>,
    source: String,
    received_at: NaiveDateTime,
    assignee_id: Option<i64>,
    status: String,
    close_reason: Option<String>,
    company_id: Option<i64>,
    contact_id: Option<i64>,
    project_id: Option<i64>,
    converted_at: Option<NaiveDateTime>,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl From<EnquiryRow> for Enquiry {
    fn from(row: EnquiryRow) -> Enquiry {
        Enquiry {
            id: row.id,
            account_id: row.account_id,
            name: row.name,
            email: row.email,
            phone: row.phone,
            company_name: row.company_name,
            subject: row.subject,
            message: row.message,
            source: Source::parse(&row.source).unwrap_or_default(),
            received_at: to_utc(row.received_at),
            assignee_id: row.assignee_id,
            status: EnquiryStatus::parse(&row.status).unwrap_or_default(),
            close_reason: row.close_reason,
            company_id: row.company_id,
            contact_id: row.contact_id,
            project_id: row.project_id,
            converted_at: row.converted_at.map(to_utc),
            version: row.version,
            created_at: to_utc(row.created_at),
            updated_at: to_utc(row.updated_at),
        }
    }
}

#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = enquiries, treat_none_as_null = true)]
struct EnquiryValues {
    name: Option<String>,
    email: Option<String>,
    email_normalized: Option<String>,
    phone: Option<String>,
    company_name: Option<String>,
    subject: Option<String>,
    message: Option<String>,
    source: String,
    received_at: NaiveDateTime,
    assignee_id: Option<i64>,
}

impl From<&EnquiryFields> for EnquiryValues {
    fn from(f: &EnquiryFields) -> Self {
        let e = &f.enquirer;
        let text = |t: Option<&str>| t.map(str::to_owned);
        EnquiryValues {
            name: text(e.name.as_ref().map(|v| v.as_str())),
            email: text(e.email.as_ref().map(|v| v.as_str())),
            email_normalized: e.email.as_ref().map(Email::normalized),
            phone: text(e.phone.as_ref().map(|v| v.as_str())),
            company_name: text(e.company_name.as_ref().map(|v| v.as_str())),
            subject: text(e.subject.as_ref().map(|v| v.as_str())),
            message: text(e.message.as_ref().map(|v| v.as_str())),
            source: f.source.as_str().to_owned(),
            received_at: f.received_at.naive_utc(),
            assignee_id: f.assignee_id,
        }
    }
}

/// Filters of the enquiry list; every one narrows, none is required.
#[derive(Debug, Clone, Default)]
pub struct EnquiryFilter {
    pub status: Option<EnquiryStatus>,
    pub assignee_id: Option<i64>,
    pub source: Option<Source>,
    pub received_since: Option<DateTime<Utc>>,
    pub updated_since: Option<DateTime<Utc>>,
}

pub fn create(
    conn: &mut DbConnection,
    account_id: i64,
    fields: &EnquiryFields,
    outbox: &Outbox<'_>,
) -> Result<Enquiry, StoreError> {
    write_transaction(conn, |conn| {
        check_assignee(conn, account_id, fields.assignee_id)?;
        let at = now();
        let id: i64 = diesel::insert_into(enquiries::table)
            .values((
                &EnquiryValues::from(fields),
                enquiries::account_id.eq(account_id),
                enquiries::status.eq(EnquiryStatus::Open.as_str()),
                enquiries::version.eq(1),
                enquiries::created_at.eq(at),
                enquiries::updated_at.eq(at),
            ))
            .returning(enquiries::id)
            .get_result(conn)?;
        let enquiry = find(conn, account_id, id)?;
        let data = outbox.render.enquiry(&enquiry);
        events::record_one(
            conn,
            account_id,
            outbox,
            NewEvent::new(EventType::EnquiryCreated, id, data),
        )?;
        Ok(enquiry)
    })
}

pub fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Enquiry, StoreError> {
    find(conn, account_id, id)
}

pub fn update(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    patch: EnquiryPatch,
    outbox: &Outbox<'_>,
) -> Result<Enquiry, StoreError> {
    record::update::<Enquiries>(conn, account_id, id, expected_version, patch, outbox)
}

pub fn delete(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<(), StoreError> {
    record::delete::<Enquiries>(conn, account_id, id, expected_version, outbox)
}

/// Closes an open enquiry (with a reason) or reopens a closed one, with `enquiry.closed` or
/// `enquiry.reopened`; a converted enquiry, or one already so, is a conflict.
pub fn set_status(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    status: EnquiryStatus,
    reason: Option<String>,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<Enquiry, StoreError> {
    write_transaction(conn, |conn| {
        let current = Enquiries::lock(conn, account_id, id)?;
        check_version(current.version, expected_version)?;
        check_transition(current.status, status).map_err(StoreError::Conflict)?;
        diesel::update(enquiries::table.filter(enquiries::id.eq(id)))
            .set((
                enquiries::status.eq(status.as_str()),
                enquiries::close_reason.eq(reason.clone()),
                enquiries::version.eq(current.version + 1),
                enquiries::updated_at.eq(now()),
            ))
            .execute(conn)?;
        let enquiry = find(conn, account_id, id)?;
        let event_type = if status == EnquiryStatus::Closed {
            EventType::EnquiryClosed
        } else {
            EventType::EnquiryReopened
        };
        let event = NewEvent::changed(
            event_type,
            id,
            &outbox.render.enquiry(&current),
            outbox.render.enquiry(&enquiry),
        );
        events::record_one(conn, account_id, outbox, event)?;
        Ok(enquiry)
    })
}

/// An existing record to attach to, or one to create.
#[derive(Debug, Clone)]
pub enum Party<F> {
    Existing(i64),
    New(F),
    None,
}

/// What a conversion makes of an enquiry.
#[derive(Debug, Clone)]
pub struct Conversion {
    /// A new company, with the phase to place it in.
    pub company: Party<(CompanyFields, Option<i64>)>,
    /// A new contact works at the company unless it names another.
    pub contact: Party<ContactFields>,
    /// A new project, for the company unless it names another, in this phase (default: its
    /// pipeline's first).
    pub project: Option<(ProjectFields, Option<i64>)>,
}

/// Converts an open or closed enquiry in one transaction: attaches to or creates its
/// company and contact, creates its project, links what was linked to the enquiry to them
/// too, and marks it `converted` with their ids. Any refusal leaves nothing written.
pub fn convert(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    conversion: Conversion,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<Enquiry, StoreError> {
    write_transaction(conn, |conn| {
        let current = Enquiries::lock(conn, account_id, id)?;
        check_version(current.version, expected_version)?;
        check_transition(current.status, EnquiryStatus::Converted).map_err(StoreError::Conflict)?;
        let company_id = match conversion.company.clone() {
            Party::Existing(company) => {
                check_all(conn, account_id, vec![Ref::Company("company_id", company)])?;
                Some(company)
            }
            Party::New((fields, phase)) => {
                Some(crate::companies::create(conn, account_id, &fields, phase, outbox)?.id)
            }
            Party::None => None,
        };
        let contact_id = match conversion.contact.clone() {
            Party::Existing(contact) => {
                check_all(conn, account_id, vec![Ref::Contact("contact_id", contact)])?;
                Some(contact)
            }
            Party::New(mut fields) => {
                fields.company_id = fields.company_id.or(company_id);
                Some(crate::contacts::create(conn, account_id, &fields, outbox)?.id)
            }
            Party::None => None,
        };
        let project_id = match conversion.project.clone() {
            Some((mut fields, phase)) => {
                fields.company_id = fields.company_id.or(company_id);
                Some(crate::projects::create(conn, account_id, &fields, phase, outbox)?.id)
            }
            None => None,
        };
        let became: Vec<RecordRef> = [
            company_id.map(|i| RecordRef::new(LinkType::Company, i)),
            contact_id.map(|i| RecordRef::new(LinkType::Contact, i)),
            project_id.map(|i| RecordRef::new(LinkType::Project, i)),
        ]
        .into_iter()
        .flatten()
        .collect();
        let enquiry_ref = RecordRef::new(LinkType::Enquiry, id);
        let linked = activities::link_also(conn, account_id, enquiry_ref, &became, outbox)?;
        diesel::update(enquiries::table.filter(enquiries::id.eq(id)))
            .set((
                enquiries::status.eq(EnquiryStatus::Converted.as_str()),
                enquiries::close_reason.eq(None::<String>),
                enquiries::company_id.eq(company_id),
                enquiries::contact_id.eq(contact_id),
                enquiries::project_id.eq(project_id),
                enquiries::converted_at.eq(Some(now())),
                enquiries::version.eq(current.version + 1),
                enquiries::updated_at.eq(now()),
            ))
            .execute(conn)?;
        let enquiry = find(conn, account_id, id)?;
        let mut changes = linked;
        changes.push(NewEvent::changed(
            EventType::EnquiryConverted,
            id,
            &outbox.render.enquiry(&current),
            outbox.render.enquiry(&enquiry),
        ));
        events::record(conn, account_id, outbox, changes)?;
        Ok(enquiry)
    })
}

/// A possible match of an enquiry: a record and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Match {
    pub id: i64,
    pub name: String,
    /// `domain`, `name` or `email`.
    pub on: &'static str,
}

/// The account's companies whose domain is the enquirer's email domain or whose name is
/// exactly the company name they gave (by `companies_name`: a case-insensitive match would
/// scan, and waits for search), and its contacts with the enquirer's email; at
/// most 20 of each, oldest first.
pub fn matches(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
) -> Result<(Vec<Match>, Vec<Match>), StoreError> {
    let enquiry = find(conn, account_id, id)?;
    let enquirer = Enquirer {
        email: enquiry.email.clone().map(Email::from_stored),
        ..Enquirer::default()
    };
    let mut companies_found: Vec<Match> = Vec::new();
    if let Some(domain) = enquirer.company_domain() {
        let rows: Vec<(i64, String)> = companies::table
            .filter(companies::account_id.eq(account_id))
            .filter(companies::domain.eq(domain))
            .select((companies::id, companies::name))
            .order(companies::id.asc())
            .limit(MATCHES)
            .load(conn)?;
        companies_found.extend(rows.into_iter().map(|(id, name)| Match {
            id,
            name,
            on: "domain",
        }));
    }
    if let Some(name) = &enquiry.company_name {
        let rows: Vec<(i64, String)> = companies::table
            .filter(companies::account_id.eq(account_id))
            .filter(companies::name.eq(name.trim()))
            .select((companies::id, companies::name))
            .order(companies::id.asc())
            .limit(MATCHES)
            .load(conn)?;
        for (id, name) in rows {
            if !companies_found.iter().any(|m| m.id == id) {
                companies_found.push(Match {
                    id,
                    name,
                    on: "name",
                });
            }
        }
    }
    let mut contacts_found = Vec::new();
    if let Some(email) = &enquirer.email {
        let rows: Vec<(i64, String)> = contacts::table
            .filter(contacts::account_id.eq(account_id))
            .filter(contacts::email_normalized.eq(email.normalized()))
            .select((contacts::id, contacts::full_name))
            .order(contacts::id.asc())
            .limit(MATCHES)
            .load(conn)?;
        contacts_found.extend(rows.into_iter().map(|(id, name)| Match {
            id,
            name,
            on: "email",
        }));
    }
    companies_found.truncate(usize::try_from(MATCHES).unwrap_or(20));
    Ok((companies_found, contacts_found))
}

const MATCHES: i64 = 20;

pub fn list(
    conn: &mut DbConnection,
    account_id: i64,
    filter: &EnquiryFilter,
    sort: Sort,
    size: PageSize,
    after: Option<&Position>,
) -> Result<Page<Enquiry>, StoreError> {
    let mut query = enquiries::table
        .filter(enquiries::account_id.eq(account_id))
        .select(EnquiryRow::as_select())
        .into_boxed();
    if let Some(status) = filter.status {
        query = query.filter(enquiries::status.eq(status.as_str()));
    }
    if let Some(user) = filter.assignee_id {
        query = query.filter(enquiries::assignee_id.eq(user));
    }
    if let Some(source) = filter.source {
        query = query.filter(enquiries::source.eq(source.as_str()));
    }
    if let Some(since) = filter.received_since {
        query = query.filter(enquiries::received_at.ge(since.naive_utc()));
    }
    if let Some(since) = filter.updated_since {
        query = query.filter(enquiries::updated_at.ge(since.naive_utc()));
    }
    let query = match sort.field {
        SortField::ReceivedAt => keyset_page!(
            query,
            sort,
            after,
            enquiries::received_at,
            enquiries::id,
            time_value
        ),
        SortField::CreatedAt => keyset_page!(
            query,
            sort,
            after,
            enquiries::created_at,
            enquiries::id,
            time_value
        ),
        SortField::UpdatedAt => keyset_page!(
            query,
            sort,
            after,
            enquiries::updated_at,
            enquiries::id,
            time_value
        ),
        _ => return Err(unsupported_sort()),
    };
    let rows: Vec<EnquiryRow> = query.limit(size.get() + 1).load(conn)?;
    Ok(into_page(rows, size, |last| Position {
        sort,
        value: SortValue::Time(to_utc(match sort.field {
            SortField::ReceivedAt => last.received_at,
            SortField::UpdatedAt => last.updated_at,
            _ => last.created_at,
        })),
        id: last.id,
    }))
}

/// Enquiries in the shared record plumbing.
pub(crate) struct Enquiries;

impl Versioned for Enquiries {
    type Record = Enquiry;
    type Fields = EnquiryFields;
    type Patch = EnquiryPatch;
    const UPDATED: EventType = EventType::EnquiryUpdated;
    const DELETED: EventType = EventType::EnquiryDeleted;
    const TAGS: TagTable = tags::NONE;

    fn lock(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Enquiry, StoreError> {
        match conn {
            DbConnection::Postgresql(pg) => enquiries::table
                .filter(enquiries::id.eq(id))
                .filter(enquiries::account_id.eq(account_id))
                .select(EnquiryRow::as_select())
                .for_update()
                .first(pg)
                .optional()?
                .map(Enquiry::from)
                .ok_or(StoreError::NotFound),
            // SQLite's write transaction already holds the database.
            DbConnection::Sqlite(_) => find(conn, account_id, id),
        }
    }

    fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Enquiry, StoreError> {
        find(conn, account_id, id)
    }

    fn version(enquiry: &Enquiry) -> i64 {
        enquiry.version
    }

    fn render(outbox: &Outbox<'_>, enquiry: &Enquiry) -> Value {
        outbox.render.enquiry(enquiry)
    }

    fn patched(
        conn: &mut DbConnection,
        account_id: i64,
        _id: i64,
        current: &Enquiry,
        patch: EnquiryPatch,
    ) -> Result<EnquiryFields, StoreError> {
        let new_assignee = patch.assignee_id.is_some();
        let fields = patch.apply(current);
        if new_assignee {
            check_assignee(conn, account_id, fields.assignee_id)?;
        }
        Ok(fields)
    }

    fn unchanged(current: &Enquiry, fields: &EnquiryFields) -> bool {
        &EnquiryPatch::default().apply(current) == fields
    }

    fn sets_tags(_patch: &EnquiryPatch) -> bool {
        false
    }

    fn tags(_fields: &EnquiryFields) -> &Tags {
        tags::EMPTY
    }

    /// Activities linked to it lose the link.
    fn unlink(
        conn: &mut DbConnection,
        account_id: i64,
        id: i64,
        outbox: &Outbox<'_>,
    ) -> Result<Vec<NewEvent>, StoreError> {
        let record = RecordRef::new(LinkType::Enquiry, id);
        activities::relink_all(conn, account_id, record, None, outbox)
    }

    record::row_writes!(enquiries, EnquiryValues);
}

fn check_assignee(
    conn: &mut DbConnection,
    account_id: i64,
    assignee: Option<i64>,
) -> Result<(), StoreError> {
    check_all(
        conn,
        account_id,
        assignee
            .map(|id| Ref::User("assignee_id", id))
            .into_iter()
            .collect(),
    )
}

fn find(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Enquiry, StoreError> {
    enquiries::table
        .filter(enquiries::id.eq(id))
        .filter(enquiries::account_id.eq(account_id))
        .select(EnquiryRow::as_select())
        .first(conn)
        .optional()?
        .map(Enquiry::from)
        .ok_or(StoreError::NotFound)
}

/// Enquiries of the account by id, in the order of `ids` (unknown ones left out), without locks.
pub(crate) fn get_many(
    conn: &mut DbConnection,
    account_id: i64,
    ids: &[i64],
) -> Result<Vec<Enquiry>, StoreError> {
    let mut found = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let rows: Vec<EnquiryRow> = enquiries::table
            .filter(enquiries::account_id.eq(account_id))
            .filter(enquiries::id.eq_any(chunk))
            .select(EnquiryRow::as_select())
            .load(conn)?;
        found.extend(rows.into_iter().map(|row| (row.id, Enquiry::from(row))));
    }
    Ok(ids.iter().filter_map(|id| found.remove(id)).collect())
}
