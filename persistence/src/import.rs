//! Bulk import: many rows of one kind of record in chunks, each row reported on its own.
//!
//! A chunk costs a fixed number of statements whatever its size (one lookup per kind of
//! reference, one for the upsert keys, one multi-row insert per table, one for the events),
//! plus a few per row that updates an existing record. Without `atomic`, each chunk commits on
//! its own and bad rows are skipped; with it, everything is one transaction and a single bad
//! row writes nothing.

use std::collections::{HashMap, HashSet};

use domain::Invalid;
use domain::event::{EventType, NewEvent, Outbox};
use domain::fields::FieldRecordType;
use domain::values::CustomFields;

use crate::references;
pub(crate) use crate::references::Ref;
use crate::{DbConnection, StoreError, write_transaction};

/// Rows per chunk: bounded so that a multi-row insert stays under SQLite's limit on bound
/// variables and one chunk holds SQLite's write lock only briefly.
pub const CHUNK_ROWS: usize = 500;

/// The most rows one import request may carry.
pub const MAX_ROWS: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportMode {
    /// Every row creates a record.
    Insert,
    /// A row whose key (a company's domain, a contact's email) names an existing record
    /// updates it; any other row creates one.
    Upsert,
}

/// One row of an import, parsed both ways: as a new record, and (for upserts) as a change to
/// an existing one. Which applies depends on what the database holds.
#[derive(Debug, Clone)]
pub struct ImportRow<C, P> {
    /// The row's number in the request or file, counted from 1.
    pub row: usize,
    /// The upsert key, normalised, when the row has a valid one.
    pub key: Option<String>,
    pub create: Result<C, Invalid>,
    /// Present in upsert mode.
    pub patch: Option<Result<P, Invalid>>,
}

/// What became of one row.
#[derive(Debug, Clone, PartialEq)]
pub enum RowOutcome {
    Created(i64),
    Updated(i64),
    Failed(Invalid),
    /// Valid, but not written: an atomic import in which another row failed.
    Skipped,
}

/// One kind of record that can be imported; its updates are the shared versioned update's.
pub(crate) trait Target: crate::record::Versioned {
    type Create: Clone;

    /// The field that holds the upsert key, for error messages.
    const KEY_FIELD: &'static str;

    /// Whether no two records may share a key (a project's `external_id`): then an insert
    /// whose key is taken fails as a row, and in upserts a key never matches several records.
    const UNIQUE_KEY: bool = false;

    fn refs_of_create(create: &Self::Create) -> Vec<Ref>;

    /// The record type whose field definitions check a created row's custom fields, and
    /// those fields.
    fn custom_fields(create: &mut Self::Create) -> (FieldRecordType, &mut CustomFields);

    /// A created row's owner, and its unit, which the import fills in when the row names
    /// none (the owner's primary unit, else the importer's).
    fn unit(create: &mut Self::Create) -> (Option<i64>, &mut Option<i64>);
    fn refs_of_patch(patch: &Self::Patch) -> Vec<Ref>;

    /// Existing records by upsert key.
    fn existing(
        conn: &mut DbConnection,
        account_id: i64,
        keys: &[String],
    ) -> Result<HashMap<String, Vec<i64>>, StoreError>;

    /// Locks the records about to be updated, in the order given (ascending ids), before any
    /// of them is updated: every write takes row locks before the account's lock (which its
    /// events take last), so writers cannot deadlock.
    fn lock_all(conn: &mut DbConnection, account_id: i64, ids: &[i64]) -> Result<(), StoreError>;

    /// The event a created record writes.
    const CREATED: EventType;

    /// A record's id.
    fn id_of(record: &Self::Record) -> i64;

    /// Inserts at most [`CHUNK_ROWS`] records, one statement per table; returns them in order,
    /// as written (from the insert's own `RETURNING` where nothing else changed them), for
    /// their `*.created` events.
    fn insert(
        conn: &mut DbConnection,
        account_id: i64,
        rows: &[&Self::Create],
        outbox: &Outbox<'_>,
    ) -> Result<Vec<Self::Record>, StoreError>;
}

/// How a transaction ends when an atomic import had a bad row.
#[derive(Debug)]
enum Abort {
    Rollback(Vec<RowOutcome>),
    Store(StoreError),
}

impl From<diesel::result::Error> for Abort {
    fn from(e: diesel::result::Error) -> Self {
        Abort::Store(e.into())
    }
}

impl From<StoreError> for Abort {
    fn from(e: StoreError) -> Self {
        Abort::Store(e)
    }
}

impl crate::TransactionError for Abort {
    fn is_lock_conflict(&self) -> bool {
        matches!(self, Abort::Store(e) if e.is_lock_conflict())
    }

    fn lock_conflict() -> Self {
        Abort::Store(StoreError::LockConflict)
    }
}

/// Imports `rows` and reports on each, in order.
pub(crate) fn run<T: Target>(
    conn: &mut DbConnection,
    account_id: i64,
    rows: Vec<ImportRow<T::Create, T::Patch>>,
    mode: ImportMode,
    atomic: bool,
    outbox: &Outbox<'_>,
) -> Result<Vec<RowOutcome>, StoreError> {
    if atomic {
        let result = write_transaction(conn, |conn| {
            let outcomes = pieces::<T>(conn, account_id, rows.clone(), mode, outbox)?;
            if outcomes.iter().any(|o| matches!(o, RowOutcome::Failed(_))) {
                return Err(Abort::Rollback(outcomes));
            }
            Ok(outcomes)
        });
        return match result {
            Ok(outcomes) => Ok(outcomes),
            Err(Abort::Rollback(outcomes)) => Ok(outcomes
                .into_iter()
                .map(|o| match o {
                    RowOutcome::Failed(why) => RowOutcome::Failed(why),
                    _ => RowOutcome::Skipped,
                })
                .collect()),
            Err(Abort::Store(e)) => Err(e),
        };
    }
    let mut outcomes = Vec::with_capacity(rows.len());
    let mut rest = rows.into_iter().peekable();
    while rest.peek().is_some() {
        let chunk: Vec<_> = rest.by_ref().take(CHUNK_ROWS).collect();
        outcomes.extend(write_transaction(conn, |conn| {
            pieces::<T>(conn, account_id, chunk.clone(), mode, outbox)
        })?);
    }
    Ok(outcomes)
}

/// Imports rows inside the caller's transaction, recording every event at the end.
fn pieces<T: Target>(
    conn: &mut DbConnection,
    account_id: i64,
    rows: Vec<ImportRow<T::Create, T::Patch>>,
    mode: ImportMode,
    outbox: &Outbox<'_>,
) -> Result<Vec<RowOutcome>, StoreError> {
    let mut outcomes = Vec::with_capacity(rows.len());
    let mut events = Vec::new();
    let mut rest = rows.into_iter().peekable();
    while rest.peek().is_some() {
        // A key that repeats starts a new piece, so that its second row updates what the
        // first one created.
        let mut piece = Vec::new();
        let mut keys = HashSet::new();
        while let Some(row) = rest.peek() {
            let keyed = mode == ImportMode::Upsert || T::UNIQUE_KEY;
            let repeats = keyed && row.key.as_ref().is_some_and(|k| keys.contains(k));
            if repeats && !piece.is_empty() {
                break;
            }
            if let Some(key) = &row.key {
                keys.insert(key.clone());
            }
            if let Some(row) = rest.next() {
                piece.push(row);
            }
        }
        let (done, written) = piece_of::<T>(conn, account_id, piece, mode, outbox)?;
        outcomes.extend(done);
        events.extend(written);
    }
    crate::events::record(conn, account_id, outbox, events)?;
    Ok(outcomes)
}

enum Plan<C, P> {
    Create(C),
    Update(i64, P),
}

/// Plans, checks and writes rows in which no upsert key repeats; returns each row's outcome
/// and the events to record.
fn piece_of<T: Target>(
    conn: &mut DbConnection,
    account_id: i64,
    rows: Vec<ImportRow<T::Create, T::Patch>>,
    mode: ImportMode,
    outbox: &Outbox<'_>,
) -> Result<(Vec<RowOutcome>, Vec<NewEvent>), StoreError> {
    let existing = if mode == ImportMode::Upsert || T::UNIQUE_KEY {
        let keys: Vec<String> = rows.iter().filter_map(|r| r.key.clone()).collect();
        T::existing(conn, account_id, &keys)?
    } else {
        HashMap::new()
    };
    let mut outcomes: Vec<Option<RowOutcome>> = Vec::with_capacity(rows.len());
    let mut plans: Vec<Option<Plan<T::Create, T::Patch>>> = Vec::with_capacity(rows.len());
    for row in rows {
        let matches = row.key.as_ref().and_then(|k| existing.get(k));
        let plan = match (mode, matches.map(Vec::as_slice)) {
            (ImportMode::Upsert, Some([id])) => match row.patch {
                Some(Ok(patch)) => Ok(Plan::Update(*id, patch)),
                Some(Err(invalid)) => Err(invalid),
                None => Err(Invalid::one(
                    T::KEY_FIELD,
                    "no_patch",
                    "the row cannot update",
                )),
            },
            (ImportMode::Insert, Some([id, ..])) => Err(Invalid::one(
                T::KEY_FIELD,
                "taken",
                format!(
                    "record {id} already has this {}; import with mode=upsert to update it",
                    T::KEY_FIELD
                ),
            )),
            (ImportMode::Upsert, Some(ids)) if ids.len() > 1 => Err(Invalid::one(
                T::KEY_FIELD,
                "ambiguous",
                format!(
                    "{} records have this {}: {}; merge them first",
                    ids.len(),
                    T::KEY_FIELD,
                    ids.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            )),
            _ => row.create.map(Plan::Create),
        };
        match plan {
            Ok(plan) => {
                outcomes.push(None);
                plans.push(Some(plan));
            }
            Err(invalid) => {
                outcomes.push(Some(RowOutcome::Failed(invalid)));
                plans.push(None);
            }
        }
    }

    let refs: Vec<Vec<Ref>> = plans
        .iter()
        .map(|plan| match plan {
            Some(Plan::Create(c)) => T::refs_of_create(c),
            Some(Plan::Update(_, p)) => T::refs_of_patch(p),
            None => Vec::new(),
        })
        .collect();
    for (i, refused) in references::check_rows(conn, account_id, &refs)?
        .into_iter()
        .enumerate()
    {
        if let Some(invalid) = refused {
            outcomes[i] = Some(RowOutcome::Failed(invalid));
            plans[i] = None;
        }
    }

    // Custom fields of created rows, against the definitions read once for the chunk.
    // (Updates go through the shared update, which checks them.)
    let mut definitions = None;
    for (i, plan) in plans.iter_mut().enumerate() {
        let Some(Plan::Create(create)) = plan else {
            continue;
        };
        let (record_type, custom) = T::custom_fields(create);
        let defs = match &definitions {
            Some(defs) => defs,
            None => definitions.insert(crate::fields::of_type(conn, account_id, record_type)?),
        };
        match crate::fields::check_with(conn, account_id, record_type, defs, &[], custom, None) {
            Ok(checked) => *custom = checked,
            Err(StoreError::Invalid(invalid)) => {
                outcomes[i] = Some(RowOutcome::Failed(invalid));
                *plan = None;
            }
            Err(e) => return Err(e),
        }
    }

    // Units by default, as a single create places them: one read for the chunk.
    let mut people: Vec<i64> = outbox.actor.user_id.into_iter().collect();
    for plan in plans.iter_mut() {
        if let Some(Plan::Create(create)) = plan
            && let (Some(owner), None) = T::unit(create)
        {
            people.push(owner);
        }
    }
    people.sort_unstable();
    people.dedup();
    let primary = crate::units::primary_units(conn, account_id, &people)?;
    let mut tree = None;
    for (i, plan) in plans.iter_mut().enumerate() {
        if let Some(Plan::Create(create)) = plan {
            let (owner, unit) = T::unit(create);
            if let Some(named) = *unit {
                let tree = match &tree {
                    Some(tree) => tree,
                    None => tree.insert(crate::units::tree(conn, account_id)?),
                };
                if !domain::units::Tree::contains(tree, named) {
                    outcomes[i] = Some(RowOutcome::Failed(domain::Invalid::one(
                        "unit_id",
                        "unknown_unit",
                        "there is no such unit in this account",
                    )));
                    *plan = None;
                }
            } else {
                *unit = [owner, outbox.actor.user_id]
                    .into_iter()
                    .flatten()
                    .find_map(|user| primary.get(&user).copied());
            }
        }
    }

    let mut events = Vec::new();
    let creates: Vec<(usize, &T::Create)> = plans
        .iter()
        .enumerate()
        .filter_map(|(i, plan)| match plan {
            Some(Plan::Create(c)) => Some((i, c)),
            _ => None,
        })
        .collect();
    for creates in creates.chunks(CHUNK_ROWS) {
        let values: Vec<&T::Create> = creates.iter().map(|(_, c)| *c).collect();
        let records = T::insert(conn, account_id, &values, outbox)?;
        for ((i, _), record) in creates.iter().zip(&records) {
            let id = T::id_of(record);
            outcomes[*i] = Some(RowOutcome::Created(id));
            events.push(NewEvent::new(T::CREATED, id, T::render(outbox, record)));
        }
    }
    // Rows to update are locked after the inserts (which lock pipelines, then their own new
    // rows, as moves do) and before any update (which may lock the account, as events do):
    // the order every writer keeps.
    let mut update_ids: Vec<i64> = plans
        .iter()
        .filter_map(|plan| match plan {
            Some(Plan::Update(id, _)) => Some(*id),
            _ => None,
        })
        .collect();
    update_ids.sort_unstable();
    T::lock_all(conn, account_id, &update_ids)?;

    // Updates lock their rows; in id order, so that concurrent imports cannot deadlock.
    let mut updates: Vec<(usize, i64, T::Patch)> = plans
        .into_iter()
        .enumerate()
        .filter_map(|(i, plan)| match plan {
            Some(Plan::Update(id, patch)) => Some((i, id, patch)),
            _ => None,
        })
        .collect();
    updates.sort_by_key(|(_, id, _)| *id);
    for (i, id, patch) in updates {
        {
            let updated = crate::record::update_in::<T>(conn, account_id, id, None, patch, outbox);
            outcomes[i] = Some(match updated.map(|(_, event)| event) {
                Ok(event) => {
                    events.extend(event);
                    RowOutcome::Updated(id)
                }
                Err(StoreError::Invalid(invalid)) => RowOutcome::Failed(invalid),
                Err(e) => return Err(e),
            });
        }
    }
    let outcomes = outcomes
        .into_iter()
        .map(|o| o.unwrap_or(RowOutcome::Skipped))
        .collect();
    Ok((outcomes, events))
}
