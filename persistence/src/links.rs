//! Links from activities to the records they are about, once for every family: the side
//! table behind the `linked=` filter and a record's timeline (each activity also keeps its
//! links as JSON, for reads), and the check that every linked record is the account's. A
//! change of links refreshes the last and next activity of the records it concerns.

use diesel::prelude::*;
use domain::event::RecordType;
use domain::links::{LinkType, Links, RecordRef};

use crate::record::Versioned;
use crate::references::{Ref, check_all};
use crate::schema::record_links as table;
use crate::{DbConnection, StoreError, activity_dates};

/// Refuses a link to a record the account does not have (another account's included).
pub(crate) fn check(
    conn: &mut DbConnection,
    account_id: i64,
    links: &Links,
) -> Result<(), StoreError> {
    let refs = links
        .iter()
        .map(|link| match link.record_type {
            LinkType::Company => Ref::Company("links", link.id),
            LinkType::Contact => Ref::Contact("links", link.id),
            LinkType::Project => Ref::Project("links", link.id),
            LinkType::Enquiry => Ref::Enquiry("links", link.id),
        })
        .collect();
    check_all(conn, account_id, refs)
}

/// Gives one activity exactly these links (a new activity its first ones), and refreshes
/// the last and next activity of the records it was and is linked to.
pub(crate) fn replace(
    conn: &mut DbConnection,
    account_id: i64,
    owner: RecordType,
    owner_id: i64,
    links: &Links,
) -> Result<(), StoreError> {
    let before = clear(conn, owner, owner_id)?;
    let rows: Vec<_> = links
        .iter()
        .map(|link| {
            (
                table::account_id.eq(account_id),
                table::owner_type.eq(owner.as_str()),
                table::owner_id.eq(owner_id),
                table::record_type.eq(link.record_type.as_str()),
                table::record_id.eq(link.id),
            )
        })
        .collect();
    crate::bulk::insert_all!(&mut *conn, table::table, &rows, 1000);
    activity_dates::refresh(conn, account_id, before.into_iter().chain(links.iter()))
}

/// Removes an activity's links (it is being deleted), and refreshes the last and next
/// activity of the records it was linked to.
pub(crate) fn remove(
    conn: &mut DbConnection,
    account_id: i64,
    owner: RecordType,
    owner_id: i64,
) -> Result<(), StoreError> {
    let before = clear(conn, owner, owner_id)?;
    activity_dates::refresh(conn, account_id, before)
}

/// Deletes an activity's links; returns the records they named.
fn clear(
    conn: &mut DbConnection,
    owner: RecordType,
    owner_id: i64,
) -> Result<Vec<RecordRef>, StoreError> {
    let removed: Vec<(String, i64)> = diesel::delete(
        table::table
            .filter(table::owner_type.eq(owner.as_str()))
            .filter(table::owner_id.eq(owner_id)),
    )
    .returning((table::record_type, table::record_id))
    .get_results(conn)?;
    Ok(removed
        .into_iter()
        .filter_map(|(kind, id)| Some(RecordRef::new(LinkType::parse(&kind).ok()?, id)))
        .collect())
}

/// The ids of the account's activities of one family linked to `record`, as a subquery.
#[allow(clippy::type_complexity)]
pub(crate) fn linked(
    account_id: i64,
    owner: RecordType,
    record: RecordRef,
) -> diesel::dsl::Select<
    diesel::dsl::Filter<
        diesel::dsl::Filter<
            diesel::dsl::Filter<
                diesel::dsl::Filter<table::table, diesel::dsl::Eq<table::account_id, i64>>,
                diesel::dsl::Eq<table::record_type, &'static str>,
            >,
            diesel::dsl::Eq<table::record_id, i64>,
        >,
        diesel::dsl::Eq<table::owner_type, &'static str>,
    >,
    table::owner_id,
> {
    table::table
        .filter(table::account_id.eq(account_id))
        .filter(table::record_type.eq(record.record_type.as_str()))
        .filter(table::record_id.eq(record.id))
        .filter(table::owner_type.eq(owner.as_str()))
        .select(table::owner_id)
}

/// The activities of one family linked to `record`, in id order.
pub(crate) fn owners(
    conn: &mut DbConnection,
    account_id: i64,
    owner: RecordType,
    record: RecordRef,
) -> Result<Vec<i64>, StoreError> {
    Ok(linked(account_id, owner, record)
        .order(table::owner_id.asc())
        .load(conn)?)
}

/// A family of activities that links to records.
pub(crate) trait Linked: Versioned {
    const OWNER: RecordType;

    fn links(record: &Self::Record) -> Links;

    /// The patch that gives a record these links and changes nothing else.
    fn relinked(links: Links) -> Self::Patch;
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
