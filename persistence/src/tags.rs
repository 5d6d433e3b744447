//! Tag storage, once for every record type that carries tags: a table of
//! `(record id, account_id, tag)` rows beside the record (whose own `tags` column keeps the
//! list as JSON, for reads), written with the record and read by the `tag=` filter.
//!
//! Each record type's table gets a module of the same four functions from [`tag_table!`]:
//! `write` (many records' tags, a few statements whatever their number), `replace` (one
//! record's), `remove` (some records') and `tagged` (the ids that carry a tag, as a subquery).

use domain::values::Tags;

use crate::{DbConnection, StoreError};

/// A record type's tag table, for code written once over record types
/// ([`crate::record::Versioned::TAGS`]).
#[derive(Clone, Copy)]
pub(crate) struct TagTable {
    pub(crate) replace: fn(&mut DbConnection, i64, i64, &Tags) -> Result<(), StoreError>,
    pub(crate) remove: fn(&mut DbConnection, &[i64]) -> Result<(), StoreError>,
}

/// For record types without tags: writes and removes nothing.
pub(crate) const NONE: TagTable = TagTable {
    replace: |_, _, _, _| Ok(()),
    remove: |_, _| Ok(()),
};

/// The tags of a record type without tags.
pub(crate) static EMPTY: &Tags = &Tags::EMPTY;

macro_rules! tag_table {
    ($(#[$doc:meta])* $module:ident, $table:ident . $record:ident) => {
        $(#[$doc])*
        pub(crate) mod $module {
            use diesel::prelude::*;

            use super::{TagTable, Tags};
            use crate::schema::$table as table;
            use crate::{DbConnection, StoreError};

            /// This table, for code written once over record types.
            pub(crate) const TABLE: TagTable = TagTable { replace, remove };

            /// Writes the tags of records just created (or whose tags were removed): one
            /// statement per 5,000 tags, or one COPY on PostgreSQL.
            pub(crate) fn write(
                conn: &mut DbConnection,
                account_id: i64,
                records: &[(i64, &Tags)],
            ) -> Result<(), StoreError> {
                let rows: Vec<_> = records
                    .iter()
                    .flat_map(|(id, tags)| {
                        tags.iter().map(move |tag| {
                            (
                                table::$record.eq(*id),
                                table::account_id.eq(account_id),
                                table::tag.eq(tag.to_owned()),
                            )
                        })
                    })
                    .collect();
                crate::bulk::insert_all!(conn, table::table, &rows, 5000);
                Ok(())
            }

            /// Gives one record exactly these tags.
            pub(crate) fn replace(
                conn: &mut DbConnection,
                account_id: i64,
                id: i64,
                tags: &Tags,
            ) -> Result<(), StoreError> {
                remove(conn, &[id])?;
                write(conn, account_id, &[(id, tags)])
            }

            /// Removes every tag of these records.
            pub(crate) fn remove(conn: &mut DbConnection, ids: &[i64]) -> Result<(), StoreError> {
                if let [id] = ids {
                    // One record: a statement of fixed shape, which stays prepared.
                    diesel::delete(table::table.filter(table::$record.eq(*id))).execute(conn)?;
                    return Ok(());
                }
                for chunk in ids.chunks(1000) {
                    diesel::delete(table::table.filter(table::$record.eq_any(chunk)))
                        .execute(conn)?;
                }
                Ok(())
            }

            /// The ids of the account's records that carry `tag`, as a subquery.
            pub(crate) fn tagged(
                account_id: i64,
                tag: &str,
            ) -> diesel::dsl::Select<
                diesel::dsl::Filter<
                    diesel::dsl::Filter<table::table, diesel::dsl::Eq<table::account_id, i64>>,
                    diesel::dsl::Eq<table::tag, String>,
                >,
                table::$record,
            > {
                table::table
                    .filter(table::account_id.eq(account_id))
                    .filter(table::tag.eq(tag.to_owned()))
                    .select(table::$record)
            }
        }
    };
}

tag_table!(
    /// Companies' tags.
    companies, company_tags.company_id
);
tag_table!(
    /// Contacts' tags.
    contacts, contact_tags.contact_id
);
tag_table!(
    /// Projects' tags.
    projects, project_tags.project_id
);
tag_table!(
    /// Tasks' tags.
    tasks, task_tags.task_id
);
tag_table!(
    /// Meetings' tags.
    meetings, meeting_tags.meeting_id
);
