//! Who is on a project: the client's contacts (its buying center, each with a part in the
//! decision) and the firm's team (users, each with a role). Both are part of the project's
//! representation: adding, changing or removing one is a new version with `project.updated`.

use diesel::prelude::*;
use domain::Invalid;
use domain::event::{EventType, NewEvent, Outbox};
use domain::project::{ContactRole, MAX_PEOPLE, Project, ProjectContact, TeamMember};

use super::{ProjectPlacement, get};
use crate::placement;
use crate::prepared::{json_rows, parse_json_rows};
use crate::references::check_owner;
use crate::schema::{contacts, project_contacts, project_members, projects};
use crate::{Backend, DbConnection, StoreError, events, now, write_transaction};

/// Which of a project's people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    /// Contacts of the client, by contact id.
    Contacts,
    /// Team members, by user id.
    Team,
}

impl Side {
    fn field(self) -> &'static str {
        match self {
            Side::Contacts => "contact_id",
            Side::Team => "user_id",
        }
    }
}

/// Two columns for a project's read that give its contacts and its team, each as
/// [`json_rows`] in id order. They name the project by its table, so the read selects from
/// `projects` itself. Read them with [`read`].
pub(crate) fn columns(backend: Backend) -> (String, String) {
    (
        json_rows(
            backend,
            "c.contact_id, c.role",
            "project_contacts c WHERE c.project_id = projects.id",
            Some("c.contact_id"),
        ),
        json_rows(
            backend,
            "m.user_id, m.role",
            "project_members m WHERE m.project_id = projects.id",
            Some("m.user_id"),
        ),
    )
}

/// A project's contacts and team, from its [`columns`].
pub(crate) fn read(
    contacts: Option<&str>,
    team: Option<&str>,
) -> Result<(Vec<ProjectContact>, Vec<TeamMember>), StoreError> {
    let contacts = parse_json_rows::<(i64, String)>(contacts)?
        .into_iter()
        .map(|(contact_id, role)| ProjectContact {
            contact_id,
            role: ContactRole::from_stored(&role),
        })
        .collect();
    let team = parse_json_rows::<(i64, String)>(team)?
        .into_iter()
        .map(|(user_id, role)| TeamMember { user_id, role })
        .collect();
    Ok((contacts, team))
}

/// A person to put on a project: which side, their id, their role.
#[derive(Debug, Clone)]
pub struct Member {
    pub side: Side,
    pub id: i64,
    pub role: String,
}

/// Puts a person on a project with a role, or changes their role. Returns the project and
/// whether the person is new on it; a role that does not change writes nothing.
pub fn put(
    conn: &mut DbConnection,
    account_id: i64,
    project_id: i64,
    member: &Member,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<(Project, bool), StoreError> {
    let (side, person, role) = (member.side, member.id, member.role.as_str());
    write_transaction(conn, |conn| {
        let version = placement::lock_record::<ProjectPlacement>(
            conn,
            account_id,
            project_id,
            expected_version,
        )?;
        let before = get(conn, account_id, project_id)?;
        let current = match side {
            Side::Contacts => before
                .contacts
                .iter()
                .find(|c| c.contact_id == person)
                .map(|c| c.role.as_str().to_owned()),
            Side::Team => before
                .team
                .iter()
                .find(|m| m.user_id == person)
                .map(|m| m.role.clone()),
        };
        match current.as_deref() {
            Some(same) if same == role => return Ok((before, false)),
            Some(_) => update_role(conn, project_id, side, person, role)?,
            None => {
                let held = match side {
                    Side::Contacts => before.contacts.len(),
                    Side::Team => before.team.len(),
                };
                if held >= MAX_PEOPLE {
                    return Err(StoreError::Invalid(Invalid::one(
                        side.field(),
                        "too_many",
                        format!("a project has at most {MAX_PEOPLE} of them; remove one first"),
                    )));
                }
                check_person(conn, account_id, side, person)?;
                insert(conn, account_id, project_id, side, person, role)?;
            }
        }
        let project = bump(conn, account_id, project_id, version, &before, outbox)?;
        Ok((project, current.is_none()))
    })
}

/// Takes a person off a project; `NotFound` when they are not on it.
pub fn remove(
    conn: &mut DbConnection,
    account_id: i64,
    project_id: i64,
    side: Side,
    person: i64,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<Project, StoreError> {
    write_transaction(conn, |conn| {
        let version = placement::lock_record::<ProjectPlacement>(
            conn,
            account_id,
            project_id,
            expected_version,
        )?;
        let before = get(conn, account_id, project_id)?;
        let removed = match side {
            Side::Contacts => diesel::delete(
                project_contacts::table
                    .filter(project_contacts::project_id.eq(project_id))
                    .filter(project_contacts::contact_id.eq(person)),
            )
            .execute(conn)?,
            Side::Team => diesel::delete(
                project_members::table
                    .filter(project_members::project_id.eq(project_id))
                    .filter(project_members::user_id.eq(person)),
            )
            .execute(conn)?,
        };
        if removed == 0 {
            return Err(StoreError::NotFound);
        }
        bump(conn, account_id, project_id, version, &before, outbox)
    })
}

/// A contact or active team member of the account, else 422 naming the field.
fn check_person(
    conn: &mut DbConnection,
    account_id: i64,
    side: Side,
    person: i64,
) -> Result<(), StoreError> {
    match side {
        Side::Team => check_owner(conn, account_id, "user_id", Some(person)),
        Side::Contacts => {
            let found = contacts::table
                .filter(contacts::id.eq(person))
                .filter(contacts::account_id.eq(account_id))
                .select(contacts::id)
                .first::<i64>(conn)
                .optional()?;
            match found {
                Some(_) => Ok(()),
                None => Err(StoreError::Invalid(Invalid::one(
                    "contact_id",
                    "unknown_contact",
                    format!("there is no contact {person} in this account"),
                ))),
            }
        }
    }
}

fn insert(
    conn: &mut DbConnection,
    account_id: i64,
    project_id: i64,
    side: Side,
    person: i64,
    role: &str,
) -> Result<(), StoreError> {
    match side {
        Side::Contacts => diesel::insert_into(project_contacts::table)
            .values((
                project_contacts::project_id.eq(project_id),
                project_contacts::contact_id.eq(person),
                project_contacts::account_id.eq(account_id),
                project_contacts::role.eq(role),
                project_contacts::created_at.eq(now()),
            ))
            .execute(conn)?,
        Side::Team => diesel::insert_into(project_members::table)
            .values((
                project_members::project_id.eq(project_id),
                project_members::user_id.eq(person),
                project_members::account_id.eq(account_id),
                project_members::role.eq(role),
                project_members::created_at.eq(now()),
            ))
            .execute(conn)?,
    };
    Ok(())
}

fn update_role(
    conn: &mut DbConnection,
    project_id: i64,
    side: Side,
    person: i64,
    role: &str,
) -> Result<(), StoreError> {
    match side {
        Side::Contacts => diesel::update(
            project_contacts::table
                .filter(project_contacts::project_id.eq(project_id))
                .filter(project_contacts::contact_id.eq(person)),
        )
        .set(project_contacts::role.eq(role))
        .execute(conn)?,
        Side::Team => diesel::update(
            project_members::table
                .filter(project_members::project_id.eq(project_id))
                .filter(project_members::user_id.eq(person)),
        )
        .set(project_members::role.eq(role))
        .execute(conn)?,
    };
    Ok(())
}

/// The project's next version after a change of its people, with its `project.updated`.
fn bump(
    conn: &mut DbConnection,
    account_id: i64,
    project_id: i64,
    version: i64,
    before: &Project,
    outbox: &Outbox<'_>,
) -> Result<Project, StoreError> {
    diesel::update(projects::table.filter(projects::id.eq(project_id)))
        .set((
            projects::version.eq(version + 1),
            projects::updated_at.eq(now()),
        ))
        .execute(conn)?;
    let project = get(conn, account_id, project_id)?;
    events::record_one(
        conn,
        account_id,
        outbox,
        NewEvent::changed(
            EventType::ProjectUpdated,
            project_id,
            &outbox.render.project(before),
            outbox.render.project(&project),
        ),
    )?;
    Ok(project)
}

/// A deleted contact leaves every project it was on: each is a new version with its
/// `project.updated`, returned for the caller to record.
pub(crate) fn drop_contact(
    conn: &mut DbConnection,
    account_id: i64,
    contact: i64,
    outbox: &Outbox<'_>,
) -> Result<Vec<NewEvent>, StoreError> {
    let on = projects_of(conn, account_id, &[contact])?;
    super::changing(conn, account_id, &on, outbox, |conn| {
        diesel::delete(
            project_contacts::table
                .filter(project_contacts::account_id.eq(account_id))
                .filter(project_contacts::contact_id.eq(contact)),
        )
        .execute(conn)?;
        Ok(())
    })
}

/// Merged contacts' places on projects go to the survivor (keeping the survivor's role where
/// it was on the project already): each project changed is a new version with its
/// `project.updated`, returned for the caller to record.
pub(crate) fn relink_contacts(
    conn: &mut DbConnection,
    account_id: i64,
    duplicates: &[i64],
    survivor: i64,
    outbox: &Outbox<'_>,
) -> Result<Vec<NewEvent>, StoreError> {
    let on = projects_of(conn, account_id, duplicates)?;
    super::changing(conn, account_id, &on, outbox, |conn| {
        // The survivor's places first, then each duplicate's in turn: on a project that
        // two duplicates are on, the first one's role stays.
        for duplicate in duplicates {
            let taken: Vec<i64> = project_contacts::table
                .filter(project_contacts::contact_id.eq(survivor))
                .select(project_contacts::project_id)
                .load(conn)?;
            diesel::delete(
                project_contacts::table
                    .filter(project_contacts::contact_id.eq(duplicate))
                    .filter(project_contacts::project_id.eq_any(&taken)),
            )
            .execute(conn)?;
            diesel::update(
                project_contacts::table.filter(project_contacts::contact_id.eq(duplicate)),
            )
            .set(project_contacts::contact_id.eq(survivor))
            .execute(conn)?;
        }
        Ok(())
    })
}

/// The projects some contacts are on, in id order.
fn projects_of(
    conn: &mut DbConnection,
    account_id: i64,
    contacts: &[i64],
) -> Result<Vec<i64>, StoreError> {
    Ok(project_contacts::table
        .filter(project_contacts::account_id.eq(account_id))
        .filter(project_contacts::contact_id.eq_any(contacts))
        .select(project_contacts::project_id)
        .distinct()
        .order(project_contacts::project_id.asc())
        .load(conn)?)
}

/// Merged projects' people join the survivor, each where it is not on it already (the
/// survivor's own roles stay; of two duplicates with one person, the first one's role).
pub(crate) fn absorb(
    conn: &mut DbConnection,
    survivor: i64,
    duplicates: &[i64],
) -> Result<(), StoreError> {
    macro_rules! absorb {
        ($table:ident, $person:ident) => {
            for duplicate in duplicates {
                let on: Vec<i64> = $table::table
                    .filter($table::project_id.eq(survivor))
                    .select($table::$person)
                    .load(conn)?;
                diesel::delete(
                    $table::table
                        .filter($table::project_id.eq(duplicate))
                        .filter($table::$person.eq_any(&on)),
                )
                .execute(conn)?;
                diesel::update($table::table.filter($table::project_id.eq(duplicate)))
                    .set($table::project_id.eq(survivor))
                    .execute(conn)?;
            }
        };
    }
    absorb!(project_contacts, contact_id);
    absorb!(project_members, user_id);
    Ok(())
}
