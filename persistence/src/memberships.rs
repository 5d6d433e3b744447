//! List memberships kept in step with the records: a deleted company, contact or project
//! leaves its lists, and a merged one passes its places to the survivor. Read from the
//! records' own events where every event is recorded, so no write path can forget it.

use diesel::prelude::*;
use domain::event::{EventType, NewEvent};
use domain::fields::FieldRecordType;

use crate::schema::list_members;
use crate::{DbConnection, StoreError};

/// A deleted company, contact or project leaves its lists; a merged one's places pass to
/// the survivor (where it is not already a member). Read from the records' own events.
pub(crate) fn keep(
    conn: &mut DbConnection,
    account_id: i64,
    events: &[NewEvent],
) -> Result<(), StoreError> {
    for event in events {
        let record_type = match event.event_type {
            EventType::CompanyDeleted => FieldRecordType::Company,
            EventType::ContactDeleted => FieldRecordType::Contact,
            EventType::ProjectDeleted => FieldRecordType::Project,
            _ => continue,
        };
        let places = list_members::table
            .filter(list_members::account_id.eq(account_id))
            .filter(list_members::record_type.eq(record_type.as_str()))
            .filter(list_members::record_id.eq(event.record_id));
        if let Some(survivor) = event.merged_into {
            let lists_of_survivor: Vec<i64> = list_members::table
                .filter(list_members::account_id.eq(account_id))
                .filter(list_members::record_type.eq(record_type.as_str()))
                .filter(list_members::record_id.eq(survivor))
                .select(list_members::list_id)
                .load(conn)?;
            diesel::update(places.filter(list_members::list_id.ne_all(&lists_of_survivor)))
                .set(list_members::record_id.eq(survivor))
                .execute(conn)?;
        }
        diesel::delete(
            list_members::table
                .filter(list_members::account_id.eq(account_id))
                .filter(list_members::record_type.eq(record_type.as_str()))
                .filter(list_members::record_id.eq(event.record_id)),
        )
        .execute(conn)?;
    }
    Ok(())
}
