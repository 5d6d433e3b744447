//! What every family of activity (tasks, meetings and posts) shares beyond the record
//! plumbing: its links kept in step when a linked record is deleted or merged, each change an
//! `*.updated` of the activity. (The `Linked` trait and the stored form are `crate::links`.)

use domain::event::{NewEvent, Outbox};
use domain::links::{LinkType, Links, RecordRef};

use crate::links::{self, Linked};
use crate::meetings::Meetings;
use crate::posts::Posts;
use crate::record;
use crate::tasks::Tasks;
use crate::{DbConnection, StoreError};

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
