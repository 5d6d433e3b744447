//! Merging duplicates into a survivor, each merge in one write transaction: for companies
//! their contacts, projects, history and tags move over; for contacts, whoever reported to
//! them and their places on projects; for projects, their history and people. The
//! rules for the survivor's fields live in `domain::merge`.
//!
//! Lock order, as every other write takes it: pipelines (shared) before company rows, record
//! rows before the account's row (recording events takes no lock). Rows of one kind are locked in id
//! order, so two merges that share records queue instead of deadlocking.

use crate::activities;
use diesel::prelude::*;
use domain::company::Company;
use domain::contact::{Contact, check_reporting_line};
use domain::event::{EventType, NewEvent, Outbox};
use domain::fields::FieldRecordType;
use domain::links::LinkType;
use domain::merge::{
    DuplicateIds, check_known, merge_company, merge_contact, merge_project, merged_manager,
};
use domain::project::Project;

use crate::companies::CompanyPlacement;
use crate::companies::{self, CompanyRow, CompanyValues};
use crate::contacts::{self, ContactRow, ContactValues, MAX_REPORTING_DEPTH};
use crate::placement;
use crate::projects::{self, ProjectPlacement};
use crate::schema::{
    companies as companies_table, company_transitions, contacts as contacts_table,
};
use crate::{
    DbConnection, StoreError, check_version, events, lock_account, now, tags, write_transaction,
};

/// Merges `duplicates` into the company `survivor_id` (at `expected_version`, if given) and
/// returns the survivor as it now is. Events: `company.merged` for the survivor (with the
/// merged ids), `contact.updated` for each contact that moved, and `company.deleted` for each
/// duplicate (with `merged_into`).
pub fn merge_companies(
    conn: &mut DbConnection,
    account_id: i64,
    survivor_id: i64,
    duplicates: &DuplicateIds,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<Company, StoreError> {
    write_transaction(conn, |conn| {
        let dups = duplicates.as_slice();
        let locked = lock_companies(conn, account_id, survivor_id, dups)?;
        let survivor = locked
            .iter()
            .find(|c| c.id == survivor_id)
            .cloned()
            .ok_or(StoreError::NotFound)?;
        check_known(dups, |id| locked.iter().any(|c| c.id == id), "company")?;
        check_version(survivor.version, expected_version)?;
        let in_order: Vec<Company> = dups
            .iter()
            .filter_map(|id| locked.iter().find(|c| c.id == *id).cloned())
            .collect();
        let mut fields = merge_company(&survivor, &in_order)?;
        let before = companies::get(conn, account_id, survivor_id)?;
        let gone = companies::get_many(conn, account_id, dups)?;
        let moved: Vec<i64> = contacts_table::table
            .filter(contacts_table::account_id.eq(account_id))
            .filter(contacts_table::company_id.eq_any(dups))
            .select(contacts_table::id)
            .order(contacts_table::id.asc())
            .load(conn)?;
        let contacts_before = contacts::get_many(conn, account_id, &moved)?;
        let at = now();
        diesel::update(
            contacts_table::table
                .filter(contacts_table::account_id.eq(account_id))
                .filter(contacts_table::company_id.eq_any(dups)),
        )
        .set((
            contacts_table::company_id.eq(Some(survivor_id)),
            contacts_table::version.eq(contacts_table::version + 1),
            contacts_table::updated_at.eq(at),
        ))
        .execute(conn)?;
        let projects_moved =
            crate::projects::relink_companies(conn, account_id, dups, Some(survivor_id), outbox)?;
        let activities_moved = activities::merged(
            conn,
            account_id,
            LinkType::Company,
            dups,
            survivor_id,
            outbox,
        )?;
        // Before the duplicates go: their history rows would go with them (ON DELETE CASCADE).
        diesel::update(
            company_transitions::table
                .filter(company_transitions::account_id.eq(account_id))
                .filter(company_transitions::company_id.eq_any(dups)),
        )
        .set(company_transitions::company_id.eq(survivor_id))
        .execute(conn)?;
        tags::companies::remove(conn, dups)?;
        diesel::delete(
            companies_table::table
                .filter(companies_table::account_id.eq(account_id))
                .filter(companies_table::id.eq_any(dups)),
        )
        .execute(conn)?;
        let mut except = dups.to_vec();
        except.push(survivor_id);
        fields.custom_fields = crate::fields::check(
            conn,
            account_id,
            FieldRecordType::Company,
            &except,
            &fields.custom_fields,
            Some(&survivor.custom_fields),
        )?;
        diesel::update(
            companies_table::table
                .filter(companies_table::account_id.eq(account_id))
                .filter(companies_table::id.eq(survivor_id)),
        )
        .set((
            &CompanyValues::from(&fields),
            companies_table::version.eq(survivor.version + 1),
            companies_table::updated_at.eq(at),
        ))
        .execute(conn)?;
        tags::companies::replace(conn, account_id, survivor_id, &fields.tags)?;
        let company = companies::get(conn, account_id, survivor_id)?;
        let contacts_after = contacts::get_many(conn, account_id, &moved)?;
        let render = outbox.render;
        let mut new = vec![
            NewEvent::changed(
                EventType::CompanyMerged,
                survivor_id,
                &render.company(&before),
                render.company(&company),
            )
            .with_merged_ids(dups.to_vec()),
        ];
        new.extend(contacts::updated_events(
            outbox,
            &contacts_before,
            &contacts_after,
        ));
        new.extend(projects_moved);
        new.extend(activities_moved);
        new.extend(
            dups.iter()
                .filter_map(|id| gone.iter().find(|c| c.id == *id))
                .map(|c| {
                    NewEvent::new(EventType::CompanyDeleted, c.id, render.company(c))
                        .with_merged_into(survivor_id)
                }),
        );
        events::record(conn, account_id, outbox, new)?;
        Ok(company)
    })
}

/// Merges `duplicates` into the contact `survivor_id` and returns the survivor as it now is.
/// Whoever reported to a duplicate reports to the survivor. Events: `contact.merged` (with
/// the merged ids), `contact.updated` for each contact whose manager changed, and
/// `contact.deleted` for each duplicate (with `merged_into`).
pub fn merge_contacts(
    conn: &mut DbConnection,
    account_id: i64,
    survivor_id: i64,
    duplicates: &DuplicateIds,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<Contact, StoreError> {
    write_transaction(conn, |conn| {
        let dups = duplicates.as_slice();
        let mut ids = dups.to_vec();
        ids.push(survivor_id);
        ids.sort_unstable();
        let locked = lock_contacts(conn, account_id, &ids)?;
        let survivor = locked
            .iter()
            .find(|c| c.id == survivor_id)
            .cloned()
            .ok_or(StoreError::NotFound)?;
        check_known(dups, |id| locked.iter().any(|c| c.id == id), "contact")?;
        check_version(survivor.version, expected_version)?;
        let in_order: Vec<Contact> = dups
            .iter()
            .filter_map(|id| locked.iter().find(|c| c.id == *id).cloned())
            .collect();
        let mut fields = merge_contact(&survivor, &in_order)?;
        // The duplicates' reports are locked before the account, as a change of their
        // reporting line takes them: its row first, then the account.
        // While the duplicates are locked nobody can start reporting to one (the reference
        // waits for their rows), so the reports found here are all there will be.
        let candidates: Vec<i64> = contacts_table::table
            .filter(contacts_table::account_id.eq(account_id))
            .filter(contacts_table::reports_to_id.eq_any(dups))
            .filter(contacts_table::id.ne_all(&ids))
            .select(contacts_table::id)
            .load(conn)?;
        let reports_before: Vec<Contact> = lock_contacts(conn, account_id, &candidates)?
            .into_iter()
            .filter(|c| c.reports_to_id.is_some_and(|m| dups.contains(&m)))
            .collect();
        // No reporting line of the account changes while the survivor's is decided.
        lock_account(conn, account_id)?;
        let managers: Vec<(i64, Option<i64>)> =
            in_order.iter().map(|c| (c.id, c.reports_to_id)).collect();
        fields.reports_to_id = match merged_manager(survivor_id, survivor.reports_to_id, &managers)
        {
            Some(manager) => {
                let chain = chain_above(conn, account_id, manager, survivor_id, dups)?;
                check_reporting_line(Some(survivor_id), manager, &chain)
                    .ok()
                    .map(|()| manager)
            }
            None => None,
        };
        let at = now();
        let report_ids: Vec<i64> = reports_before.iter().map(|c| c.id).collect();
        diesel::update(
            contacts_table::table
                .filter(contacts_table::account_id.eq(account_id))
                .filter(contacts_table::id.eq_any(&report_ids)),
        )
        .set((
            contacts_table::reports_to_id.eq(Some(survivor_id)),
            contacts_table::version.eq(contacts_table::version + 1),
            contacts_table::updated_at.eq(at),
        ))
        .execute(conn)?;
        // The survivor first: it may report to a duplicate until now.
        let mut except = dups.to_vec();
        except.push(survivor_id);
        fields.custom_fields = crate::fields::check(
            conn,
            account_id,
            FieldRecordType::Contact,
            &except,
            &fields.custom_fields,
            Some(&survivor.custom_fields),
        )?;
        diesel::update(
            contacts_table::table
                .filter(contacts_table::account_id.eq(account_id))
                .filter(contacts_table::id.eq(survivor_id)),
        )
        .set((
            &ContactValues::from(&fields),
            contacts_table::version.eq(survivor.version + 1),
            contacts_table::updated_at.eq(at),
        ))
        .execute(conn)?;
        tags::contacts::remove(conn, dups)?;
        // Their places on projects go to the survivor (they would go with them otherwise).
        let projects_changed =
            crate::projects::people::relink_contacts(conn, account_id, dups, survivor_id, outbox)?;
        let mut activities_moved = activities::merged(
            conn,
            account_id,
            LinkType::Contact,
            dups,
            survivor_id,
            outbox,
        )?;
        for dup in dups {
            activities_moved.extend(crate::meetings::relink_contact(
                conn,
                account_id,
                *dup,
                Some(survivor_id),
                outbox,
            )?);
        }
        // Duplicates that report to one another go in the same statement, so no row is left
        // pointing at a deleted one.
        diesel::delete(
            contacts_table::table
                .filter(contacts_table::account_id.eq(account_id))
                .filter(contacts_table::id.eq_any(dups)),
        )
        .execute(conn)?;
        tags::contacts::replace(conn, account_id, survivor_id, &fields.tags)?;
        let contact = contacts::get(conn, account_id, survivor_id)?;
        let reports_after = contacts::get_many(conn, account_id, &report_ids)?;
        let render = outbox.render;
        let mut new = vec![
            NewEvent::changed(
                EventType::ContactMerged,
                survivor_id,
                &render.contact(&survivor),
                render.contact(&contact),
            )
            .with_merged_ids(dups.to_vec()),
        ];
        new.extend(contacts::updated_events(
            outbox,
            &reports_before,
            &reports_after,
        ));
        new.extend(projects_changed);
        new.extend(activities_moved);
        new.extend(in_order.iter().map(|c| {
            NewEvent::new(EventType::ContactDeleted, c.id, render.contact(c))
                .with_merged_into(survivor_id)
        }));
        events::record(conn, account_id, outbox, new)?;
        Ok(contact)
    })
}

/// The survivor and the duplicates, locked (see [`placement::lock_placed`]), as stored;
/// ids of other accounts are left out.
fn lock_companies(
    conn: &mut DbConnection,
    account_id: i64,
    survivor_id: i64,
    dups: &[i64],
) -> Result<Vec<Company>, StoreError> {
    let mut ids = dups.to_vec();
    ids.push(survivor_id);
    placement::lock_placed::<CompanyPlacement>(conn, account_id, &ids)?;
    let rows: Vec<CompanyRow> = companies_table::table
        .filter(companies_table::account_id.eq(account_id))
        .filter(companies_table::id.eq_any(&ids))
        .order(companies_table::id.asc())
        .select(CompanyRow::as_select())
        .load(conn)?;
    Ok(rows.into_iter().map(Company::from).collect())
}

/// Contacts of the account by id, in id order; on PostgreSQL locked until the transaction
/// ends. Ids of other accounts are left out.
fn lock_contacts(
    conn: &mut DbConnection,
    account_id: i64,
    ids: &[i64],
) -> Result<Vec<Contact>, StoreError> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    let mut found = Vec::with_capacity(ids.len());
    // Ascending chunks keep the id order of the locks; bounded ones keep each statement under
    // SQLite's limit on bound variables.
    for chunk in ids.chunks(1000) {
        macro_rules! query {
            () => {
                contacts_table::table
                    .filter(contacts_table::account_id.eq(account_id))
                    .filter(contacts_table::id.eq_any(chunk))
                    .order(contacts_table::id.asc())
                    .select(ContactRow::as_select())
            };
        }
        let rows: Vec<ContactRow> = match conn {
            DbConnection::Postgresql(pg) => query!().for_update().load(pg)?,
            DbConnection::Sqlite(_) => query!().load(conn)?,
        };
        found.extend(rows.into_iter().map(Contact::from));
    }
    Ok(found)
}

/// The managers above `manager`, nearest first, as the org chart will be after the merge:
/// a duplicate stands for the survivor, and the walk stops there.
fn chain_above(
    conn: &mut DbConnection,
    account_id: i64,
    manager: i64,
    survivor_id: i64,
    dups: &[i64],
) -> Result<Vec<i64>, StoreError> {
    let mut chain = Vec::new();
    let mut current = manager;
    while chain.len() <= MAX_REPORTING_DEPTH {
        let above = contacts_table::table
            .filter(contacts_table::id.eq(current))
            .filter(contacts_table::account_id.eq(account_id))
            .select(contacts_table::reports_to_id)
            .first::<Option<i64>>(conn)
            .optional()?
            .flatten();
        let Some(above) = above else {
            break;
        };
        if above == survivor_id || dups.contains(&above) {
            chain.push(survivor_id);
            break;
        }
        if above == manager || chain.contains(&above) {
            break;
        }
        chain.push(above);
        current = above;
    }
    Ok(chain)
}

/// Merges `duplicates` into the project `survivor_id` (at `expected_version`, if given) and
/// returns the survivor as it now is. Their history rows and people move to the survivor,
/// which keeps its own place and, where it is on the project already, its people's roles.
/// Events: `project.merged` for the survivor (with the merged ids) and `project.deleted` for
/// each duplicate (with `merged_into`).
pub fn merge_projects(
    conn: &mut DbConnection,
    account_id: i64,
    survivor_id: i64,
    duplicates: &DuplicateIds,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<Project, StoreError> {
    write_transaction(conn, |conn| {
        let dups = duplicates.as_slice();
        let mut ids = dups.to_vec();
        ids.push(survivor_id);
        placement::lock_placed::<ProjectPlacement>(conn, account_id, &ids)?;
        let found = projects::get_many(conn, account_id, &ids)?;
        let survivor = found
            .iter()
            .find(|p| p.id == survivor_id)
            .cloned()
            .ok_or(StoreError::NotFound)?;
        check_known(dups, |id| found.iter().any(|p| p.id == id), "project")?;
        check_version(survivor.version, expected_version)?;
        let in_order: Vec<Project> = dups
            .iter()
            .filter_map(|id| found.iter().find(|p| p.id == *id).cloned())
            .collect();
        let mut fields = merge_project(&survivor, &in_order)?;
        let mut except = dups.to_vec();
        except.push(survivor_id);
        fields.custom_fields = crate::fields::check(
            conn,
            account_id,
            FieldRecordType::Project,
            &except,
            &fields.custom_fields,
            Some(&survivor.custom_fields),
        )?;
        let activities_moved = activities::merged(
            conn,
            account_id,
            LinkType::Project,
            dups,
            survivor_id,
            outbox,
        )?;
        projects::absorb(conn, account_id, &survivor, dups, &fields)?;
        let project = projects::get(conn, account_id, survivor_id)?;
        let render = outbox.render;
        let mut new = vec![
            NewEvent::changed(
                EventType::ProjectMerged,
                survivor_id,
                &render.project(&survivor),
                render.project(&project),
            )
            .with_merged_ids(dups.to_vec()),
        ];
        new.extend(activities_moved);
        new.extend(in_order.iter().map(|p| {
            NewEvent::new(EventType::ProjectDeleted, p.id, render.project(p))
                .with_merged_into(survivor_id)
        }));
        events::record(conn, account_id, outbox, new)?;
        Ok(project)
    })
}
