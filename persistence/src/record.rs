//! The record plumbing, written once for every record type: the versioned update (a locking
//! read, the `If-Match` check, a patch that changes nothing writing nothing, one UPDATE as the
//! next version, tags, the `*.updated` event with the previous values) and the delete with its
//! event (and the events of the records it unlinks). A record type brings only its own part
//! through [`Versioned`]: how its row is read and written, which references a patch must
//! check, and what its deletion takes along.

use domain::event::{EventType, NewEvent, Outbox};

use crate::tags::TagTable;
use crate::{DbConnection, StoreError, check_version, events, write_transaction};

/// A record type's own part of the shared update and delete.
pub(crate) trait Versioned {
    /// The record as reads answer it.
    type Record;
    /// Everything a caller may write, valid.
    type Fields;
    /// A partial change.
    type Patch: Clone;

    const UPDATED: EventType;
    const DELETED: EventType;
    /// Where its tags are kept.
    const TAGS: TagTable;

    /// The locking read: the record, its row locked for the rest of the transaction on
    /// PostgreSQL (SQLite's write transaction holds the whole database); `NotFound` when the
    /// account has no such record. It is the "before" of the update's event.
    fn lock(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Self::Record, StoreError>;

    /// The record complete (its derived parts too), as an answer or an event shows it.
    fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Self::Record, StoreError>;

    fn version(record: &Self::Record) -> i64;

    fn render(outbox: &Outbox<'_>, record: &Self::Record) -> serde_json::Value;

    /// The fields after `patch`, with every reference the patch changes checked (an owner of
    /// the account, a company, a manager without a loop...).
    fn patched(
        conn: &mut DbConnection,
        account_id: i64,
        id: i64,
        current: &Self::Record,
        patch: Self::Patch,
    ) -> Result<Self::Fields, StoreError>;

    /// Whether `fields` are the record's as they are (the patch changes nothing).
    fn unchanged(current: &Self::Record, fields: &Self::Fields) -> bool;

    /// Whether the patch sets the tags (which then replace the old ones).
    fn sets_tags(patch: &Self::Patch) -> bool;

    fn tags(fields: &Self::Fields) -> &domain::values::Tags;

    /// Writes the fields as the record's version `version`: one UPDATE (from [`row_writes!`]).
    fn write(
        conn: &mut DbConnection,
        id: i64,
        fields: &Self::Fields,
        version: i64,
    ) -> Result<(), StoreError>;

    /// After the record's row was written with `fields` (its first version, or a later one
    /// over `current`): what it keeps beside the row (assignees, links...).
    fn write_beside(
        _conn: &mut DbConnection,
        _account_id: i64,
        _id: i64,
        _current: Option<&Self::Record>,
        _fields: &Self::Fields,
    ) -> Result<(), StoreError> {
        Ok(())
    }

    /// Before the record's row goes: what its deletion changes elsewhere (others' links to
    /// it), with the events of the records it changes.
    fn unlink(
        conn: &mut DbConnection,
        account_id: i64,
        id: i64,
        outbox: &Outbox<'_>,
    ) -> Result<Vec<NewEvent>, StoreError>;

    /// What a failed UPDATE answers: a database error, unless the type knows better (a
    /// unique value taken by a concurrent write is a conflict, not a failure).
    fn write_failed(e: diesel::result::Error, _fields: &Self::Fields) -> StoreError {
        e.into()
    }

    /// Deletes the record's row; what only it owns (history, people) goes with it by
    /// `ON DELETE CASCADE` (from [`row_writes!`]).
    fn remove(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<(), StoreError>;
}

/// [`Versioned::write`] and [`Versioned::remove`] for a table whose writable columns are
/// `$values` (an `AsChangeset` made `From<&Fields>`) beside `version` and `updated_at`.
macro_rules! row_writes {
    ($table:ident, $values:ident) => {
        fn write(
            conn: &mut $crate::DbConnection,
            id: i64,
            fields: &Self::Fields,
            version: i64,
        ) -> Result<(), $crate::StoreError> {
            use diesel::prelude::*;
            diesel::update($table::table.filter($table::id.eq(id)))
                .set((
                    &$values::from(fields),
                    $table::version.eq(version),
                    $table::updated_at.eq($crate::now()),
                ))
                .execute(conn)
                .map_err(|e| Self::write_failed(e, fields))?;
            Ok(())
        }

        fn remove(
            conn: &mut $crate::DbConnection,
            account_id: i64,
            id: i64,
        ) -> Result<(), $crate::StoreError> {
            use diesel::prelude::*;
            diesel::delete(
                $table::table
                    .filter($table::id.eq(id))
                    .filter($table::account_id.eq(account_id)),
            )
            .execute(conn)?;
            Ok(())
        }
    };
}
pub(crate) use row_writes;

/// Applies `patch` when the record is at `expected_version` (if one is given), with its
/// `*.updated` event. A patch that changes nothing answers the record as it is: no new
/// version, no event.
pub(crate) fn update<R: Versioned>(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    patch: R::Patch,
    outbox: &Outbox<'_>,
) -> Result<R::Record, StoreError> {
    write_transaction(conn, |conn| {
        let (record, event) = update_in::<R>(
            conn,
            account_id,
            id,
            expected_version,
            patch.clone(),
            outbox,
        )?;
        if let Some(event) = event {
            events::record_one(conn, account_id, outbox, event)?;
        }
        Ok(record)
    })
}

/// [`update`] inside the caller's transaction (an import, a merge): the event, if any, is the
/// caller's to record, last.
pub(crate) fn update_in<R: Versioned>(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    patch: R::Patch,
    outbox: &Outbox<'_>,
) -> Result<(R::Record, Option<NewEvent>), StoreError> {
    let current = R::lock(conn, account_id, id)?;
    let version = R::version(&current);
    check_version(version, expected_version)?;
    let sets_tags = R::sets_tags(&patch);
    let fields = R::patched(conn, account_id, id, &current, patch)?;
    if R::unchanged(&current, &fields) {
        return Ok((R::get(conn, account_id, id)?, None));
    }
    R::write(conn, id, &fields, version + 1)?;
    if sets_tags {
        (R::TAGS.replace)(conn, account_id, id, R::tags(&fields))?;
    }
    R::write_beside(conn, account_id, id, Some(&current), &fields)?;
    let record = R::get(conn, account_id, id)?;
    let event = NewEvent::changed(
        R::UPDATED,
        id,
        &R::render(outbox, &current),
        R::render(outbox, &record),
    );
    Ok((record, Some(event)))
}

/// Deletes the record when it is at `expected_version` (if one is given): its `*.deleted`
/// event shows it as it was, then come the events of the records its deletion unlinked.
pub(crate) fn delete<R: Versioned>(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        let locked = R::lock(conn, account_id, id)?;
        check_version(R::version(&locked), expected_version)?;
        let data = R::render(outbox, &R::get(conn, account_id, id)?);
        let mut changes = vec![NewEvent::new(R::DELETED, id, data)];
        changes.extend(R::unlink(conn, account_id, id, outbox)?);
        (R::TAGS.remove)(conn, &[id])?;
        R::remove(conn, account_id, id)?;
        events::record(conn, account_id, outbox, changes)
    })
}
