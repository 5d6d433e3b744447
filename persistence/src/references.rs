//! Existence checks for the references a write makes (an owner, a company, a contact, a
//! phase), written once: one record at a time for single writes, or a chunk of rows with one
//! query per kind of record for imports, with the same refusals either way.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use domain::pipeline::RecordKind;
use domain::{FieldError, Invalid};

use crate::schema::{companies, contacts, enquiries, phases, pipelines, projects, users};
use crate::{DbConnection, StoreError};

/// A reference to another record of the account, with the field that makes it.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Ref {
    /// An active team member.
    User(&'static str, i64),
    Company(&'static str, i64),
    Contact(&'static str, i64),
    Project(&'static str, i64),
    Enquiry(&'static str, i64),
    /// A phase of a pipeline that holds this kind of record.
    Phase(&'static str, i64, RecordKind),
}

/// What the database holds of a referenced record.
#[derive(Debug, Clone, Copy)]
enum Found {
    Yes,
    No,
    /// A deactivated team member.
    Inactive,
    /// A phase, in a pipeline of this kind of record.
    Phase(RecordKind),
}

impl From<bool> for Found {
    fn from(found: bool) -> Self {
        if found { Found::Yes } else { Found::No }
    }
}

/// The refusal of a reference, if it is refused: the one wording of every check.
fn refusal(r: Ref, found: Found) -> Option<FieldError> {
    let (field, code, message) = match (r, found) {
        (_, Found::Yes) => return None,
        (Ref::Phase(_, _, kind), Found::Phase(holds)) if holds == kind => return None,
        (Ref::User(field, id), Found::Inactive) => (
            field,
            "inactive_user",
            format!("team member {id} is deactivated"),
        ),
        (Ref::User(field, id), _) => (
            field,
            "unknown_user",
            format!("there is no team member {id} in this account"),
        ),
        (Ref::Company(field, id), _) => (
            field,
            "unknown_company",
            format!("there is no company {id} in this account"),
        ),
        (Ref::Contact(field, id), _) => (
            field,
            "unknown_contact",
            format!("there is no contact {id} in this account"),
        ),
        (Ref::Project(field, id), _) => (
            field,
            "unknown_project",
            format!("there is no project {id} in this account"),
        ),
        (Ref::Enquiry(field, id), _) => (
            field,
            "unknown_enquiry",
            format!("there is no enquiry {id} in this account"),
        ),
        (Ref::Phase(field, id, kind), Found::Phase(holds)) => (
            field,
            "wrong_record_type",
            format!(
                "phase {id} is in a pipeline of {}s; a {} goes only into a {} pipeline's phases",
                holds.as_str(),
                kind.as_str(),
                kind.as_str()
            ),
        ),
        (Ref::Phase(field, id, _), _) => (
            field,
            "unknown_phase",
            format!("there is no phase {id} in this account"),
        ),
    };
    Some(FieldError::new(field, code, message))
}

/// Refuses an owner that is not an active team member of the account, naming the field.
pub(crate) fn check_owner(
    conn: &mut DbConnection,
    account_id: i64,
    field: &'static str,
    owner: Option<i64>,
) -> Result<(), StoreError> {
    let Some(id) = owner else {
        return Ok(());
    };
    let active = users::table
        .filter(users::id.eq(id))
        .filter(users::account_id.eq(account_id))
        .select(users::active)
        .first::<bool>(conn)
        .optional()?;
    let found = match active {
        Some(true) => Found::Yes,
        Some(false) => Found::Inactive,
        None => Found::No,
    };
    refuse(refusal(Ref::User(field, id), found))
}

/// Refuses a reference to a company outside the account, naming the field.
pub(crate) fn check_company(
    conn: &mut DbConnection,
    account_id: i64,
    field: &'static str,
    company: Option<i64>,
) -> Result<(), StoreError> {
    let Some(id) = company else { return Ok(()) };
    let found = companies::table
        .filter(companies::id.eq(id))
        .filter(companies::account_id.eq(account_id))
        .select(companies::id)
        .first::<i64>(conn)
        .optional()?;
    refuse(refusal(Ref::Company(field, id), found.is_some().into()))
}

fn refuse(refused: Option<FieldError>) -> Result<(), StoreError> {
    match refused {
        None => Ok(()),
        Some(error) => {
            let mut invalid = Invalid::default();
            invalid.push(error);
            Err(StoreError::Invalid(invalid))
        }
    }
}

/// Checks the references of many rows (an import's chunk) with one query per kind of record
/// whatever their number; returns each row's refusal, if any.
pub(crate) fn check_rows(
    conn: &mut DbConnection,
    account_id: i64,
    rows: &[Vec<Ref>],
) -> Result<Vec<Option<Invalid>>, StoreError> {
    let mut wanted: [HashSet<i64>; 6] = Default::default();
    for r in rows.iter().flatten() {
        let (kind, id) = match r {
            Ref::User(_, id) => (0, id),
            Ref::Company(_, id) => (1, id),
            Ref::Contact(_, id) => (2, id),
            Ref::Phase(_, id, _) => (3, id),
            Ref::Project(_, id) => (4, id),
            Ref::Enquiry(_, id) => (5, id),
        };
        wanted[kind].insert(*id);
    }
    let [
        user_ids,
        company_ids,
        contact_ids,
        phase_ids,
        project_ids,
        enquiry_ids,
    ] = wanted.map(|s| {
        let mut v: Vec<i64> = s.into_iter().collect();
        v.sort_unstable();
        v
    });
    let active_users: HashMap<i64, bool> = if user_ids.is_empty() {
        HashMap::new()
    } else {
        users::table
            .filter(users::account_id.eq(account_id))
            .filter(users::id.eq_any(&user_ids))
            .select((users::id, users::active))
            .load::<(i64, bool)>(conn)?
            .into_iter()
            .collect()
    };
    let known_companies: HashSet<i64> = if company_ids.is_empty() {
        HashSet::new()
    } else {
        companies::table
            .filter(companies::account_id.eq(account_id))
            .filter(companies::id.eq_any(&company_ids))
            .select(companies::id)
            .load::<i64>(conn)?
            .into_iter()
            .collect()
    };
    let known_contacts: HashSet<i64> = if contact_ids.is_empty() {
        HashSet::new()
    } else {
        contacts::table
            .filter(contacts::account_id.eq(account_id))
            .filter(contacts::id.eq_any(&contact_ids))
            .select(contacts::id)
            .load::<i64>(conn)?
            .into_iter()
            .collect()
    };
    let known_projects: HashSet<i64> = if project_ids.is_empty() {
        HashSet::new()
    } else {
        projects::table
            .filter(projects::account_id.eq(account_id))
            .filter(projects::id.eq_any(&project_ids))
            .select(projects::id)
            .load::<i64>(conn)?
            .into_iter()
            .collect()
    };
    let known_enquiries: HashSet<i64> = if enquiry_ids.is_empty() {
        HashSet::new()
    } else {
        enquiries::table
            .filter(enquiries::account_id.eq(account_id))
            .filter(enquiries::id.eq_any(&enquiry_ids))
            .select(enquiries::id)
            .load::<i64>(conn)?
            .into_iter()
            .collect()
    };
    // Each phase with the record type of its pipeline.
    let known_phases: HashMap<i64, RecordKind> = if phase_ids.is_empty() {
        HashMap::new()
    } else {
        phases::table
            .inner_join(pipelines::table.on(pipelines::id.eq(phases::pipeline_id)))
            .filter(phases::account_id.eq(account_id))
            .filter(phases::id.eq_any(&phase_ids))
            .select((phases::id, pipelines::record_type))
            .load::<(i64, String)>(conn)?
            .into_iter()
            .map(|(id, kind)| (id, RecordKind::from_stored(&kind)))
            .collect()
    };
    Ok(rows
        .iter()
        .map(|refs| {
            let mut invalid = Invalid::default();
            for r in refs {
                let found = match *r {
                    Ref::User(_, id) => match active_users.get(&id) {
                        Some(true) => Found::Yes,
                        Some(false) => Found::Inactive,
                        None => Found::No,
                    },
                    Ref::Company(_, id) => known_companies.contains(&id).into(),
                    Ref::Contact(_, id) => known_contacts.contains(&id).into(),
                    Ref::Project(_, id) => known_projects.contains(&id).into(),
                    Ref::Enquiry(_, id) => known_enquiries.contains(&id).into(),
                    Ref::Phase(_, id, _) => match known_phases.get(&id) {
                        Some(kind) => Found::Phase(*kind),
                        None => Found::No,
                    },
                };
                if let Some(error) = refusal(*r, found) {
                    invalid.push(error);
                }
            }
            invalid.into_result().err()
        })
        .collect())
}

/// Refuses the first of `refs` that names nothing in the account (one query per kind of
/// record, whatever their number).
pub(crate) fn check_all(
    conn: &mut DbConnection,
    account_id: i64,
    refs: Vec<Ref>,
) -> Result<(), StoreError> {
    match check_rows(conn, account_id, &[refs])?.pop().flatten() {
        Some(invalid) => Err(StoreError::Invalid(invalid)),
        None => Ok(()),
    }
}
