//! Contacts: CRUD, filtered keyset lists, links to a company and to the contact they report to.

use crate::activities;
use domain::fields::FieldRecordType;
use domain::links::{LinkType, RecordRef};
use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::Invalid;
use domain::contact::{Contact, ContactFields, ContactPatch, ReportingError, check_reporting_line};
use domain::event::{EventType, NewEvent, Outbox};
use domain::filter::Target;
use domain::listing::{Page, PageSize, Position, Sort, SortField, SortValue};

use crate::activity_dates::{self, ActivityFilter, filter_activity};
use crate::filter::{Column, Columns, Storage, column_name, compile};
use crate::import::{self, ImportMode, ImportRow, Ref, RowOutcome};
use crate::keyset::{
    contains_pattern, into_page, keyset_page, lower, lower_nullable, text_value, time_value,
    unsupported_sort,
};
use crate::pool::on_backend;
use crate::record::{self, Versioned};
use crate::references::{check_company, check_owner};
use crate::schema::{companies, contacts};
use crate::tags::{self, TagTable};
use crate::{DbConnection, StoreError, events, lock_account, now, to_utc, write_transaction};

/// How far up an org chart the cycle check walks; deeper charts are refused.
pub(crate) const MAX_REPORTING_DEPTH: usize = 200;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = contacts)]
pub(crate) struct ContactRow {
    id: i64,
    account_id: i64,
    first_name: String,
    last_name: Option<String>,
    full_name: String,
    email: Option<String>,
    phone: Option<String>,
    job_title: Option<String>,
    company_id: Option<i64>,
    reports_to_id: Option<i64>,
    owner_id: Option<i64>,
    unit_id: Option<i64>,
    tags: String,
    custom_fields: String,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    last_activity_at: Option<NaiveDateTime>,
    next_activity_at: Option<NaiveDateTime>,
}

impl From<ContactRow> for Contact {
    fn from(row: ContactRow) -> Contact {
        Contact {
            id: row.id,
            account_id: row.account_id,
            first_name: row.first_name,
            last_name: row.last_name,
            email: row.email,
            phone: row.phone,
            job_title: row.job_title,
            company_id: row.company_id,
            reports_to_id: row.reports_to_id,
            owner_id: row.owner_id,
            unit_id: row.unit_id,
            tags: serde_json::from_str(&row.tags).unwrap_or_default(),
            custom_fields: serde_json::from_str(&row.custom_fields).unwrap_or_default(),
            version: row.version,
            created_at: to_utc(row.created_at),
            updated_at: to_utc(row.updated_at),
            activity: activity_dates::read(row.last_activity_at, row.next_activity_at),
        }
    }
}

#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = contacts, treat_none_as_null = true)]
pub(crate) struct ContactValues {
    first_name: String,
    last_name: Option<String>,
    full_name: String,
    email: Option<String>,
    email_normalized: Option<String>,
    phone: Option<String>,
    job_title: Option<String>,
    company_id: Option<i64>,
    reports_to_id: Option<i64>,
    owner_id: Option<i64>,
    unit_id: Option<i64>,
    tags: String,
    custom_fields: String,
}

impl From<&ContactFields> for ContactValues {
    fn from(f: &ContactFields) -> Self {
        let first = f.first_name.as_str().to_owned();
        let last = f.last_name.as_ref().map(|v| v.as_str().to_owned());
        ContactValues {
            full_name: match &last {
                Some(last) => format!("{first} {last}"),
                None => first.clone(),
            },
            first_name: first,
            last_name: last,
            email: f.email.as_ref().map(|v| v.as_str().to_owned()),
            email_normalized: f.email.as_ref().map(|v| v.normalized()),
            phone: f.phone.as_ref().map(|v| v.as_str().to_owned()),
            job_title: f.job_title.as_ref().map(|v| v.as_str().to_owned()),
            company_id: f.company_id,
            reports_to_id: f.reports_to_id,
            owner_id: f.owner_id,
            unit_id: f.unit_id,
            tags: serde_json::Value::from(f.tags.to_vec()).to_string(),
            custom_fields: f.custom_fields.to_json_string(),
        }
    }
}

/// Filters of the contact list; every one narrows, none is required.
#[derive(Debug, Clone, Default)]
pub struct ContactFilter {
    /// Name or email contains this, ignoring case.
    pub q: Option<String>,
    pub owner_id: Option<i64>,
    pub tag: Option<String>,
    pub company_id: Option<i64>,
    /// Exactly this email, ignoring case.
    pub email: Option<String>,
    /// Works at a company of this industry.
    pub industry: Option<String>,
    pub created_since: Option<DateTime<Utc>>,
    pub updated_since: Option<DateTime<Utc>>,
    pub activity: ActivityFilter,
    /// A filter of the filter language (`POST /v1/contacts/query`).
    pub matching: Option<domain::filter::Filter>,
    /// The records the caller sees, and the unit filter.
    pub reach: crate::units::Reach,
}

/// Where a filter finds each field of a contact.
pub(crate) const FILTER_COLUMNS: Columns = Columns {
    table: "contacts",
    target: Target::Contact,
    tags: ("contact_tags", column_name!(contact_tags.contact_id)),
    column: |field| {
        use Storage::*;
        let plain = |column, storage| Some(Column::Plain(column, storage));
        match field {
            "id" => plain(column_name!(contacts.id), Int { scale: 0 }),
            "name" => plain(column_name!(contacts.full_name), Text),
            "first_name" => plain(column_name!(contacts.first_name), Text),
            "last_name" => plain(column_name!(contacts.last_name), Text),
            "email" => Some(Column::Lowered(column_name!(contacts.email_normalized))),
            "phone" => plain(column_name!(contacts.phone), Text),
            "job_title" => plain(column_name!(contacts.job_title), Text),
            "company_id" => plain(column_name!(contacts.company_id), Int { scale: 0 }),
            "reports_to_id" => plain(column_name!(contacts.reports_to_id), Int { scale: 0 }),
            "owner_id" => plain(column_name!(contacts.owner_id), Int { scale: 0 }),
            "unit_id" => plain(column_name!(contacts.unit_id), Int { scale: 0 }),
            "tags" => Some(Column::Tags),
            "created_at" => plain(column_name!(contacts.created_at), Timestamp),
            "updated_at" => plain(column_name!(contacts.updated_at), Timestamp),
            "last_activity_at" => plain(column_name!(contacts.last_activity_at), Timestamp),
            "next_activity_at" => plain(column_name!(contacts.next_activity_at), Timestamp),
            _ => None,
        }
    },
};

pub fn create(
    conn: &mut DbConnection,
    account_id: i64,
    fields: &ContactFields,
    outbox: &Outbox<'_>,
) -> Result<Contact, StoreError> {
    write_transaction(conn, |conn| {
        check_links(conn, account_id, None, fields)?;
        let mut fields = fields.clone();
        fields.unit_id = crate::units::place_new(
            conn,
            account_id,
            fields.unit_id,
            fields.owner_id,
            outbox.actor,
        )?;
        fields.custom_fields = crate::fields::check(
            conn,
            account_id,
            FieldRecordType::Contact,
            &[],
            &fields.custom_fields,
            None,
        )?;
        let fields = &fields;
        let at = now();
        let id: i64 = diesel::insert_into(contacts::table)
            .values((
                &ContactValues::from(fields),
                contacts::account_id.eq(account_id),
                contacts::version.eq(1),
                contacts::created_at.eq(at),
                contacts::updated_at.eq(at),
            ))
            .returning(contacts::id)
            .get_result(conn)?;
        tags::contacts::write(conn, account_id, &[(id, &fields.tags)])?;
        let contact = find_row(conn, account_id, id)?;
        let data = outbox.render.contact(&contact);
        events::record_one(
            conn,
            account_id,
            outbox,
            NewEvent::new(EventType::ContactCreated, id, data),
        )?;
        Ok(contact)
    })
}

pub fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Contact, StoreError> {
    find_row(conn, account_id, id)
}

/// Applies `patch` when the contact is at `expected_version` (if one is given). A patch that
/// changes nothing writes nothing: no new version, no event.
pub fn update(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    patch: ContactPatch,
    outbox: &Outbox<'_>,
) -> Result<Contact, StoreError> {
    record::update::<Contacts>(conn, account_id, id, expected_version, patch, outbox)
}

/// Contacts in the shared record plumbing ([`crate::record`]) and imports.
pub(crate) struct Contacts;

impl Versioned for Contacts {
    type Record = Contact;
    type Fields = ContactFields;
    type Patch = ContactPatch;
    const UPDATED: EventType = EventType::ContactUpdated;
    const DELETED: EventType = EventType::ContactDeleted;
    const TAGS: TagTable = tags::contacts::TABLE;

    fn lock(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Contact, StoreError> {
        find_row_for_update(conn, account_id, id)
    }

    fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Contact, StoreError> {
        find_row(conn, account_id, id)
    }

    fn version(contact: &Contact) -> i64 {
        contact.version
    }

    fn render(outbox: &Outbox<'_>, contact: &Contact) -> serde_json::Value {
        outbox.render.contact(contact)
    }

    fn patched(
        conn: &mut DbConnection,
        account_id: i64,
        id: i64,
        current: &Contact,
        patch: ContactPatch,
    ) -> Result<ContactFields, StoreError> {
        let reporting_change = patch.reports_to_id.is_some();
        if reporting_change {
            // Two concurrent edits could each pass the cycle check and together close a
            // loop. The account's lock comes after the contact's row, as in every write that
            // records an event (which takes the account's lock last).
            lock_account(conn, account_id)?;
        }
        let owner_change = patch.owner_id.is_some();
        if let Some(unit) = patch.unit_id {
            crate::units::check_unit(conn, account_id, unit)?;
        }
        let company_change = patch.company_id.is_some();
        let mut fields = patch
            .apply(current)
            .map_err(|e| Invalid::default().with("custom_fields", e))?;
        fields.custom_fields = crate::fields::check(
            conn,
            account_id,
            FieldRecordType::Contact,
            &[id],
            &fields.custom_fields,
            Some(&current.custom_fields),
        )?;
        if owner_change {
            check_owner(conn, account_id, "owner_id", fields.owner_id)?;
        }
        if company_change {
            check_company(conn, account_id, "company_id", fields.company_id)?;
        }
        if reporting_change {
            check_reports_to(conn, account_id, Some(id), fields.reports_to_id)?;
        }
        Ok(fields)
    }

    fn unchanged(current: &Contact, fields: &ContactFields) -> bool {
        ContactPatch::default().apply(current).as_ref() == Ok(fields)
    }

    fn sets_tags(patch: &ContactPatch) -> bool {
        patch.tags.is_some()
    }

    fn tags(fields: &ContactFields) -> &domain::values::Tags {
        &fields.tags
    }

    /// Whoever reported to the contact now reports to nobody; the projects it was on go on
    /// without it, each with its `project.updated`.
    fn unlink(
        conn: &mut DbConnection,
        account_id: i64,
        id: i64,
        outbox: &Outbox<'_>,
    ) -> Result<Vec<NewEvent>, StoreError> {
        diesel::update(
            contacts::table
                .filter(contacts::account_id.eq(account_id))
                .filter(contacts::reports_to_id.eq(id)),
        )
        .set((
            contacts::reports_to_id.eq(None::<i64>),
            contacts::version.eq(contacts::version + 1),
            contacts::updated_at.eq(now()),
        ))
        .execute(conn)?;
        let mut unlinked = crate::projects::people::drop_contact(conn, account_id, id, outbox)?;
        let record = RecordRef::new(LinkType::Contact, id);
        unlinked.extend(activities::relink_all(
            conn, account_id, record, None, outbox,
        )?);
        unlinked.extend(crate::meetings::relink_contact(
            conn, account_id, id, None, outbox,
        )?);
        Ok(unlinked)
    }

    record::row_writes!(contacts, ContactValues);
}

/// Imports contacts; upserts match on the email, ignoring case. See [`crate::import`].
pub fn import(
    conn: &mut DbConnection,
    account_id: i64,
    rows: Vec<ImportRow<ContactFields, ContactPatch>>,
    mode: ImportMode,
    atomic: bool,
    outbox: &Outbox<'_>,
) -> Result<Vec<RowOutcome>, StoreError> {
    import::run::<Contacts>(conn, account_id, rows, mode, atomic, outbox)
}

impl import::Target for Contacts {
    type Create = ContactFields;
    const CREATED: EventType = EventType::ContactCreated;

    fn id_of(contact: &Contact) -> i64 {
        contact.id
    }
    const KEY_FIELD: &'static str = "email";

    fn custom_fields(
        create: &mut ContactFields,
    ) -> (FieldRecordType, &mut domain::values::CustomFields) {
        (FieldRecordType::Contact, &mut create.custom_fields)
    }

    fn unit(create: &mut ContactFields) -> (Option<i64>, &mut Option<i64>) {
        (create.owner_id, &mut create.unit_id)
    }

    fn refs_of_create(create: &ContactFields) -> Vec<Ref> {
        [
            create.owner_id.map(|id| Ref::User("owner_id", id)),
            create.company_id.map(|id| Ref::Company("company_id", id)),
            create
                .reports_to_id
                .map(|id| Ref::Contact("reports_to_id", id)),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    fn refs_of_patch(patch: &ContactPatch) -> Vec<Ref> {
        // A new manager is checked by the update itself, which also looks for loops.
        [
            patch.owner_id.flatten().map(|id| Ref::User("owner_id", id)),
            patch
                .company_id
                .flatten()
                .map(|id| Ref::Company("company_id", id)),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    fn existing(
        conn: &mut DbConnection,
        account_id: i64,
        keys: &[String],
    ) -> Result<HashMap<String, Vec<i64>>, StoreError> {
        let mut found: HashMap<String, Vec<i64>> = HashMap::new();
        if keys.is_empty() {
            return Ok(found);
        }
        let rows: Vec<(Option<String>, i64)> = contacts::table
            .filter(contacts::account_id.eq(account_id))
            .filter(contacts::email_normalized.eq_any(keys))
            .select((contacts::email_normalized, contacts::id))
            .order(contacts::id.asc())
            .load(conn)?;
        for (email, id) in rows {
            if let Some(email) = email {
                found.entry(email).or_default().push(id);
            }
        }
        Ok(found)
    }

    fn lock_all(conn: &mut DbConnection, account_id: i64, ids: &[i64]) -> Result<(), StoreError> {
        if let DbConnection::Postgresql(pg) = conn {
            for chunk in ids.chunks(1000) {
                contacts::table
                    .filter(contacts::account_id.eq(account_id))
                    .filter(contacts::id.eq_any(chunk))
                    .order(contacts::id.asc())
                    .select(contacts::id)
                    .for_update()
                    .load::<i64>(pg)?;
            }
        }
        Ok(())
    }

    fn insert(
        conn: &mut DbConnection,
        account_id: i64,
        rows: &[&ContactFields],
        _outbox: &Outbox<'_>,
    ) -> Result<Vec<Contact>, StoreError> {
        let at = now();
        let values: Vec<_> = rows
            .iter()
            .map(|fields| {
                (
                    ContactValues::from(*fields),
                    contacts::account_id.eq(account_id),
                    contacts::version.eq(1),
                    contacts::created_at.eq(at),
                    contacts::updated_at.eq(at),
                )
            })
            .collect();
        let written: Vec<ContactRow> = on_backend!(conn, |c| diesel::insert_into(contacts::table)
            .values(&values)
            .returning(ContactRow::as_returning())
            .get_results(c))?;
        let contacts: Vec<Contact> = written.into_iter().map(Contact::from).collect();
        let tagged: Vec<_> = contacts
            .iter()
            .zip(rows)
            .map(|(c, f)| (c.id, &f.tags))
            .collect();
        tags::contacts::write(conn, account_id, &tagged)?;
        Ok(contacts)
    }
}

/// Deletes a contact; whoever reported to them now reports to nobody.
pub fn delete(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<(), StoreError> {
    record::delete::<Contacts>(conn, account_id, id, expected_version, outbox)
}

pub fn list(
    conn: &mut DbConnection,
    account_id: i64,
    filter: &ContactFilter,
    sort: Sort,
    size: PageSize,
    after: Option<&Position>,
) -> Result<Page<Contact>, StoreError> {
    let mut query = contacts::table
        .filter(contacts::account_id.eq(account_id))
        .select(ContactRow::as_select())
        .into_boxed();
    if let Some(q) = &filter.q {
        let pattern = contains_pattern(q);
        query = query.filter(
            lower(contacts::full_name)
                .like(pattern.clone())
                .escape('\\')
                .or(lower_nullable(contacts::email)
                    .like(pattern)
                    .escape('\\')
                    .assume_not_null()),
        );
    }
    if let Some(owner) = filter.owner_id {
        query = query.filter(contacts::owner_id.eq(owner));
    }
    if let Some(company) = filter.company_id {
        query = query.filter(contacts::company_id.eq(company));
    }
    if let Some(email) = &filter.email {
        query = query.filter(contacts::email_normalized.eq(email.trim().to_lowercase()));
    }
    if let Some(industry) = &filter.industry {
        query = query.filter(
            contacts::company_id.eq_any(
                companies::table
                    .filter(companies::account_id.eq(account_id))
                    .filter(companies::industry.eq(industry.clone()))
                    .select(companies::id.nullable()),
            ),
        );
    }
    if let Some(tag) = &filter.tag {
        query = query.filter(contacts::id.eq_any(tags::contacts::tagged(account_id, tag)));
    }
    if let Some(since) = filter.created_since {
        query = query.filter(contacts::created_at.ge(since.naive_utc()));
    }
    if let Some(since) = filter.updated_since {
        query = query.filter(contacts::updated_at.ge(since.naive_utc()));
    }
    if let Some(matching) = &filter.matching {
        query = query.filter(compile(matching, account_id, &FILTER_COLUMNS)?);
    }
    let query = filter_activity!(query, &filter.activity, contacts);
    let query = crate::units::filter_reach!(query, &filter.reach, contacts);
    let query = match sort.field {
        SortField::CreatedAt => keyset_page!(
            query,
            sort,
            after,
            contacts::created_at,
            contacts::id,
            time_value
        ),
        SortField::UpdatedAt => keyset_page!(
            query,
            sort,
            after,
            contacts::updated_at,
            contacts::id,
            time_value
        ),
        SortField::Name => keyset_page!(
            query,
            sort,
            after,
            contacts::full_name,
            contacts::id,
            text_value
        ),
        SortField::LastActivityAt => keyset_page!(
            query.filter(contacts::last_activity_at.is_not_null()),
            sort,
            after,
            contacts::last_activity_at.assume_not_null(),
            contacts::id,
            time_value
        ),
        SortField::NextActivityAt => keyset_page!(
            query.filter(contacts::next_activity_at.is_not_null()),
            sort,
            after,
            contacts::next_activity_at.assume_not_null(),
            contacts::id,
            time_value
        ),
        // Contacts have no place in a pipeline: those orders mean creation order here.
        SortField::PhaseEnteredAt | SortField::FollowUpDueAt => keyset_page!(
            query,
            sort,
            after,
            contacts::created_at,
            contacts::id,
            time_value
        ),
        SortField::Value
        | SortField::ExpectedFinishDate
        | SortField::DueAt
        | SortField::StartsAt
        | SortField::ReceivedAt => {
            return Err(unsupported_sort());
        }
    };
    let rows: Vec<ContactRow> = query.limit(size.get() + 1).load(conn)?;
    Ok(into_page(rows, size, |last| Position {
        sort,
        value: match sort.field {
            SortField::CreatedAt => SortValue::Time(to_utc(last.created_at)),
            SortField::UpdatedAt => SortValue::Time(to_utc(last.updated_at)),
            SortField::Name => SortValue::Text(last.full_name.clone()),
            SortField::LastActivityAt => {
                SortValue::Time(to_utc(last.last_activity_at.unwrap_or_default()))
            }
            SortField::NextActivityAt => {
                SortValue::Time(to_utc(last.next_activity_at.unwrap_or_default()))
            }
            SortField::PhaseEnteredAt | SortField::FollowUpDueAt => {
                SortValue::Time(to_utc(last.created_at))
            }
            SortField::Value
            | SortField::ExpectedFinishDate
            | SortField::DueAt
            | SortField::StartsAt
            | SortField::ReceivedAt => SortValue::Int(0),
        },
        id: last.id,
    }))
}

/// Reads the record for a write: on PostgreSQL the row stays locked until the transaction
/// ends, so concurrent writers queue instead of failing the version check; SQLite's immediate
/// transaction already holds the database's write lock.
fn find_row_for_update(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
) -> Result<Contact, StoreError> {
    match conn {
        DbConnection::Postgresql(pg) => contacts::table
            .filter(contacts::id.eq(id))
            .filter(contacts::account_id.eq(account_id))
            .select(ContactRow::as_select())
            .for_update()
            .first(pg)
            .optional()?
            .map(Contact::from)
            .ok_or(StoreError::NotFound),
        DbConnection::Sqlite(_) => find_row(conn, account_id, id),
    }
}

fn find_row(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Contact, StoreError> {
    contacts::table
        .filter(contacts::id.eq(id))
        .filter(contacts::account_id.eq(account_id))
        .select(ContactRow::as_select())
        .first(conn)
        .optional()?
        .map(Contact::from)
        .ok_or(StoreError::NotFound)
}

fn check_links(
    conn: &mut DbConnection,
    account_id: i64,
    contact: Option<i64>,
    fields: &ContactFields,
) -> Result<(), StoreError> {
    check_owner(conn, account_id, "owner_id", fields.owner_id)?;
    check_company(conn, account_id, "company_id", fields.company_id)?;
    check_reports_to(conn, account_id, contact, fields.reports_to_id)
}

/// The manager must be a contact of the account, and not below `contact` in the org chart.
fn check_reports_to(
    conn: &mut DbConnection,
    account_id: i64,
    contact: Option<i64>,
    manager: Option<i64>,
) -> Result<(), StoreError> {
    let Some(manager) = manager else {
        return Ok(());
    };
    let refuse = |code: &'static str, message: String| {
        StoreError::Invalid(Invalid::one("reports_to_id", code, message))
    };
    let mut chain = Vec::new();
    let mut next = Some(manager);
    let mut first = true;
    while let Some(current) = next {
        let above = contacts::table
            .filter(contacts::id.eq(current))
            .filter(contacts::account_id.eq(account_id))
            .select(contacts::reports_to_id)
            .first::<Option<i64>>(conn)
            .optional()?;
        let Some(above) = above else {
            if first {
                return Err(refuse(
                    "unknown_contact",
                    format!("there is no contact {manager} in this account"),
                ));
            }
            break;
        };
        first = false;
        if current != manager {
            chain.push(current);
        }
        if chain.len() > MAX_REPORTING_DEPTH
            || above.is_some_and(|a| chain.contains(&a) || a == manager)
        {
            break;
        }
        next = above;
    }
    match check_reporting_line(contact, manager, &chain) {
        Ok(()) => Ok(()),
        Err(ReportingError::SelfReport) => Err(refuse(
            "self_report",
            "a contact cannot report to themselves".into(),
        )),
        Err(ReportingError::Cycle) => Err(refuse(
            "reporting_cycle",
            format!("contact {manager} already reports, directly or not, to this contact"),
        )),
    }
}

/// Contacts of the account by id, in id order, without locks.
pub(crate) fn get_many(
    conn: &mut DbConnection,
    account_id: i64,
    ids: &[i64],
) -> Result<Vec<Contact>, StoreError> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let rows: Vec<ContactRow> = contacts::table
            .filter(contacts::account_id.eq(account_id))
            .filter(contacts::id.eq_any(chunk))
            .select(ContactRow::as_select())
            .load(conn)?;
        found.extend(rows.into_iter().map(Contact::from));
    }
    found.sort_by_key(|c| c.id);
    Ok(found)
}

/// A `contact.updated` for each contact that changed, `before` and `after` in id order.
pub(crate) fn updated_events(
    outbox: &Outbox<'_>,
    before: &[Contact],
    after: &[Contact],
) -> Vec<NewEvent> {
    before
        .iter()
        .zip(after)
        .map(|(was, is)| {
            NewEvent::changed(
                EventType::ContactUpdated,
                is.id,
                &outbox.render.contact(was),
                outbox.render.contact(is),
            )
        })
        .collect()
}

/// Unlinks every contact from a company that is going away; returns their
/// `contact.updated` events, for the caller to record last.
pub(crate) fn unlink_company(
    conn: &mut DbConnection,
    account_id: i64,
    company_id: i64,
    outbox: &Outbox<'_>,
) -> Result<Vec<NewEvent>, StoreError> {
    let linked: Vec<i64> = contacts::table
        .filter(contacts::account_id.eq(account_id))
        .filter(contacts::company_id.eq(company_id))
        .select(contacts::id)
        .order(contacts::id.asc())
        .load(conn)?;
    if linked.is_empty() {
        return Ok(Vec::new());
    }
    let before = get_many(conn, account_id, &linked)?;
    diesel::update(
        contacts::table
            .filter(contacts::account_id.eq(account_id))
            .filter(contacts::company_id.eq(company_id)),
    )
    .set((
        contacts::company_id.eq(None::<i64>),
        contacts::version.eq(contacts::version + 1),
        contacts::updated_at.eq(now()),
    ))
    .execute(conn)?;
    let after = get_many(conn, account_id, &linked)?;
    Ok(updated_events(outbox, &before, &after))
}

#[cfg(test)]
mod filter_columns {
    #[test]
    fn every_filterable_field_has_a_column() {
        crate::filter::assert_complete(&super::FILTER_COLUMNS);
    }
}
