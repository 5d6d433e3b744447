//! What every family of activity (tasks, meetings and posts) shares beyond the record
//! plumbing: its links kept in step when a linked record is deleted or merged, each change an
//! `*.updated` of the activity, and the stored form of links.

use domain::event::{NewEvent, Outbox, RecordType};
use domain::links::{LinkType, Links, RecordRef};

use crate::meetings::Meetings;
use crate::posts::Posts;
use crate::record::{self, Versioned};
use crate::tasks::Tasks;
use crate::{DbConnection, StoreError, links};

/// A family of activities that links to records.
pub(crate) trait Linked: Versioned {
    const OWNER: RecordType;

    fn links(record: &Self::Record) -> Links;

    /// The patch that gives a record these links and changes nothing else.
    fn relinked(links: Links) -> Self::Patch;
}

/// Before `record` goes (deleted, or merged into `into`): every activity linked to it is
/// linked to `into` instead, or loses the link. Returns their `*.updated` events, for the
/// caller to record last.
pub(crate) fn relink_all(
    conn: &mut DbConnection,
    account_id: i64,
    record: RecordRef,
    into: Option<RecordRef>,
    outbox: &Outbox<'_>,
) -> Result<Vec<NewEvent>, StoreError> {
    let change = |links: &Links| links.repointed(record, into);
    each_family(conn, account_id, record, &change, outbox)
}

/// Every activity linked to `record` is linked to `also` too (an enquiry's conversation
/// goes to the company, contact and project it became). Returns their `*.updated` events,
/// for the caller to record last.
pub(crate) fn link_also(
    conn: &mut DbConnection,
    account_id: i64,
    record: RecordRef,
    also: &[RecordRef],
    outbox: &Outbox<'_>,
) -> Result<Vec<NewEvent>, StoreError> {
    let change = |links: &Links| Links::from_stored(links.iter().chain(also.iter().copied()));
    each_family(conn, account_id, record, &change, outbox)
}

/// [`relink`] for every family of activity.
fn each_family(
    conn: &mut DbConnection,
    account_id: i64,
    record: RecordRef,
    change: &dyn Fn(&Links) -> Links,
    outbox: &Outbox<'_>,
) -> Result<Vec<NewEvent>, StoreError> {
    let mut changes = relink::<Tasks>(conn, account_id, record, change, outbox)?;
    changes.extend(relink::<Meetings>(
        conn, account_id, record, change, outbox,
    )?);
    changes.extend(relink::<Posts>(conn, account_id, record, change, outbox)?);
    Ok(changes)
}

/// Before `duplicates` of one type are merged into `survivor`: [`relink_all`] for each.
pub(crate) fn merged(
    conn: &mut DbConnection,
    account_id: i64,
    record_type: LinkType,
    duplicates: &[i64],
    survivor: i64,
    outbox: &Outbox<'_>,
) -> Result<Vec<NewEvent>, StoreError> {
    let mut changes = Vec::new();
    let into = RecordRef::new(record_type, survivor);
    for id in duplicates {
        let record = RecordRef::new(record_type, *id);
        changes.extend(relink_all(conn, account_id, record, Some(into), outbox)?);
    }
    Ok(changes)
}

/// Gives each activity of one family linked to `record` the links `change` makes of its own.
fn relink<R: Linked>(
    conn: &mut DbConnection,
    account_id: i64,
    record: RecordRef,
    change: &dyn Fn(&Links) -> Links,
    outbox: &Outbox<'_>,
) -> Result<Vec<NewEvent>, StoreError> {
    let mut changes = Vec::new();
    for id in links::owners(conn, account_id, R::OWNER, record)? {
        let current = R::get(conn, account_id, id)?;
        let patch = R::relinked(change(&R::links(&current)));
        let (_, event) = record::update_in::<R>(conn, account_id, id, None, patch, outbox)?;
        changes.extend(event);
    }
    Ok(changes)
}

/// Links as an activity's row keeps them: a JSON array of `"<type>:<id>"`.
pub(crate) fn links_to_stored(links: &Links) -> String {
    serde_json::Value::from(links.iter().map(|l| l.to_string()).collect::<Vec<_>>()).to_string()
}

pub(crate) fn links_from_stored(stored: &str) -> Vec<RecordRef> {
    serde_json::from_str::<Vec<String>>(stored)
        .unwrap_or_default()
        .iter()
        .filter_map(|raw| RecordRef::parse(raw).ok())
        .collect()
}
