//! Units (`units`): an account's tree of teams, territories and subsidiaries; which units a
//! team member belongs to (`user_units`); and what follows for the records they see.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::Invalid;
use domain::listing::{Page, PageSize, Position};
use domain::roles::Visibility;
use domain::units::{MAX_UNITS, Memberships, RecordScope, Tree, Unit, UnitKind, UnitSpec};
use domain::user::User;

use crate::keyset::{id_position, into_page};
use crate::schema::{companies, contacts, projects, units, user_units, users};
use crate::{
    DbConnection, StoreError, check_version, events, lock_account, now, to_utc, write_transaction,
};
use domain::event::{EventType, NewEvent, Outbox};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = units)]
struct UnitRow {
    id: i64,
    parent_id: Option<i64>,
    name: String,
    kind: String,
    description: Option<String>,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl From<UnitRow> for Unit {
    fn from(row: UnitRow) -> Self {
        Unit {
            id: row.id,
            spec: UnitSpec {
                name: row.name,
                kind: UnitKind::parse(&row.kind).unwrap_or(UnitKind::Other),
                parent_id: row.parent_id,
                description: row.description,
            },
            version: row.version,
            created_at: to_utc(row.created_at),
            updated_at: to_utc(row.updated_at),
        }
    }
}

fn normalized(name: &str) -> String {
    name.trim().to_lowercase()
}

/// The account's tree: every unit's parent.
pub fn tree(conn: &mut DbConnection, account_id: i64) -> Result<Tree, StoreError> {
    let edges: Vec<(i64, Option<i64>)> = units::table
        .filter(units::account_id.eq(account_id))
        .select((units::id, units::parent_id))
        .load(conn)?;
    Ok(Tree::new(edges))
}

/// Units in id order, a keyset page at a time; `parent` keeps the children of one unit.
pub fn list(
    conn: &mut DbConnection,
    account_id: i64,
    parent: Option<i64>,
    size: PageSize,
    after: Option<&Position>,
) -> Result<Page<Unit>, StoreError> {
    let mut query = units::table
        .filter(units::account_id.eq(account_id))
        .select(UnitRow::as_select())
        .order(units::id.asc())
        .into_boxed();
    if let Some(parent) = parent {
        query = query.filter(units::parent_id.eq(parent));
    }
    if let Some(after) = after {
        query = query.filter(units::id.gt(after.id));
    }
    let rows: Vec<UnitRow> = query.limit(size.get() + 1).load(conn)?;
    Ok(into_page(rows, size, |row| id_position(row.id)))
}

pub fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Unit, StoreError> {
    units::table
        .filter(units::id.eq(id))
        .filter(units::account_id.eq(account_id))
        .select(UnitRow::as_select())
        .first(conn)
        .optional()?
        .map(Unit::from)
        .ok_or(StoreError::NotFound)
}

/// Refuses a name another unit of the account has (in any case).
fn check_name(
    conn: &mut DbConnection,
    account_id: i64,
    name: &str,
    except: Option<i64>,
) -> Result<(), StoreError> {
    let taken: Option<i64> = units::table
        .filter(units::account_id.eq(account_id))
        .filter(units::name_normalized.eq(normalized(name)))
        .select(units::id)
        .first(conn)
        .optional()?;
    if taken.is_some() && taken != except {
        return Err(StoreError::Invalid(Invalid::one(
            "name",
            "taken",
            format!("a unit named `{}` already exists", name.trim()),
        )));
    }
    Ok(())
}

/// Creates a unit, under `parent_id` when given.
pub fn create(
    conn: &mut DbConnection,
    account_id: i64,
    spec: &UnitSpec,
    outbox: &Outbox<'_>,
) -> Result<Unit, StoreError> {
    spec.check()?;
    write_transaction(conn, |conn| {
        // The tree is read whole and checked: no one else changes it meanwhile.
        lock_account(conn, account_id)?;
        let tree = tree(conn, account_id)?;
        if tree.len() >= MAX_UNITS {
            return Err(StoreError::Conflict(format!(
                "an account holds at most {MAX_UNITS} units"
            )));
        }
        tree.check_parent(None, spec.parent_id)?;
        check_name(conn, account_id, &spec.name, None)?;
        let at = now();
        let id: i64 = diesel::insert_into(units::table)
            .values((
                units::account_id.eq(account_id),
                units::parent_id.eq(spec.parent_id),
                units::name.eq(spec.name.trim()),
                units::name_normalized.eq(normalized(&spec.name)),
                units::kind.eq(spec.kind.as_str()),
                units::description.eq(spec.description.as_deref()),
                units::version.eq(1),
                units::created_at.eq(at),
                units::updated_at.eq(at),
            ))
            .returning(units::id)
            .get_result(conn)?;
        let unit = get(conn, account_id, id)?;
        let data = outbox.render.unit(&unit);
        events::record_one(
            conn,
            account_id,
            outbox,
            NewEvent::new(EventType::UnitCreated, id, data),
        )?;
        Ok(unit)
    })
}

/// Changes a unit: `change` turns the current one into the new one. Moving it under another
/// parent moves its subtree along.
pub fn update(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    change: impl Fn(&Unit) -> Result<UnitSpec, Invalid> + Send,
    outbox: &Outbox<'_>,
) -> Result<Unit, StoreError> {
    write_transaction(conn, |conn| {
        lock_account(conn, account_id)?;
        let current = get(conn, account_id, id)?;
        check_version(current.version, expected_version)?;
        let spec = change(&current)?;
        spec.check()?;
        if spec == current.spec {
            return Ok(current);
        }
        if spec.parent_id != current.spec.parent_id {
            tree(conn, account_id)?.check_parent(Some(id), spec.parent_id)?;
        }
        check_name(conn, account_id, &spec.name, Some(id))?;
        diesel::update(units::table.filter(units::id.eq(id)))
            .set((
                units::parent_id.eq(spec.parent_id),
                units::name.eq(spec.name.trim()),
                units::name_normalized.eq(normalized(&spec.name)),
                units::kind.eq(spec.kind.as_str()),
                units::description.eq(spec.description.as_deref()),
                units::version.eq(current.version + 1),
                units::updated_at.eq(now()),
            ))
            .execute(conn)?;
        let unit = get(conn, account_id, id)?;
        let before = outbox.render.unit(&current);
        let after = outbox.render.unit(&unit);
        events::record_one(
            conn,
            account_id,
            outbox,
            NewEvent::changed(EventType::UnitUpdated, id, &before, after),
        )?;
        Ok(unit)
    })
}

/// Deletes a unit without subunits or records; its members leave it.
pub fn delete(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        lock_account(conn, account_id)?;
        let current = get(conn, account_id, id)?;
        check_version(current.version, expected_version)?;
        let subunits: i64 = units::table
            .filter(units::parent_id.eq(id))
            .count()
            .get_result(conn)?;
        if subunits > 0 {
            return Err(StoreError::Conflict(format!(
                "the unit has {subunits} subunit(s); move or delete them first"
            )));
        }
        let records = count_in(conn, account_id, id)?;
        if records > 0 {
            return Err(StoreError::Conflict(format!(
                "{records} companies, contacts or projects belong to the unit; move them to another unit first"
            )));
        }
        diesel::delete(user_units::table.filter(user_units::unit_id.eq(id))).execute(conn)?;
        diesel::delete(units::table.filter(units::id.eq(id))).execute(conn)?;
        let data = outbox.render.unit(&current);
        events::record_one(
            conn,
            account_id,
            outbox,
            NewEvent::new(EventType::UnitDeleted, id, data),
        )
    })
}

/// How many companies, contacts and projects belong to a unit.
fn count_in(conn: &mut DbConnection, account_id: i64, unit: i64) -> Result<i64, StoreError> {
    let companies: i64 = companies::table
        .filter(companies::account_id.eq(account_id))
        .filter(companies::unit_id.eq(unit))
        .count()
        .get_result(conn)?;
    let contacts: i64 = contacts::table
        .filter(contacts::account_id.eq(account_id))
        .filter(contacts::unit_id.eq(unit))
        .count()
        .get_result(conn)?;
    let projects: i64 = projects::table
        .filter(projects::account_id.eq(account_id))
        .filter(projects::unit_id.eq(unit))
        .count()
        .get_result(conn)?;
    Ok(companies + contacts + projects)
}

/// The units a team member belongs to.
pub fn memberships(
    conn: &mut DbConnection,
    account_id: i64,
    user_id: i64,
) -> Result<Memberships, StoreError> {
    let rows: Vec<(i64, bool)> = user_units::table
        .filter(user_units::account_id.eq(account_id))
        .filter(user_units::user_id.eq(user_id))
        .select((user_units::unit_id, user_units::is_primary))
        .order(user_units::unit_id.asc())
        .load(conn)?;
    Ok(Memberships {
        primary: rows.iter().find(|(_, p)| *p).map(|(u, _)| *u),
        secondary: rows.iter().filter(|(_, p)| !p).map(|(u, _)| *u).collect(),
    })
}

/// Replaces the units a team member belongs to.
pub fn set_memberships(
    conn: &mut DbConnection,
    account_id: i64,
    user_id: i64,
    wanted: &Memberships,
) -> Result<Memberships, StoreError> {
    write_transaction(conn, |conn| {
        lock_account(conn, account_id)?;
        let member: Option<i64> = users::table
            .filter(users::id.eq(user_id))
            .filter(users::account_id.eq(account_id))
            .select(users::id)
            .first(conn)
            .optional()?;
        if member.is_none() {
            return Err(StoreError::NotFound);
        }
        wanted.check(&tree(conn, account_id)?)?;
        diesel::delete(user_units::table.filter(user_units::user_id.eq(user_id))).execute(conn)?;
        let rows = wanted
            .primary
            .map(|u| (u, true))
            .into_iter()
            .chain(wanted.secondary.iter().map(|u| (*u, false)));
        // One row at a time: diesel's multi-backend connection has no batch insert.
        for (unit, primary) in rows {
            diesel::insert_into(user_units::table)
                .values((
                    user_units::account_id.eq(account_id),
                    user_units::user_id.eq(user_id),
                    user_units::unit_id.eq(unit),
                    user_units::is_primary.eq(primary),
                ))
                .execute(conn)?;
        }
        memberships(conn, account_id, user_id)
    })
}

/// Which records a team member sees: nothing to read for a role that sees all.
pub fn record_scope(conn: &mut DbConnection, user: &User) -> Result<RecordScope, StoreError> {
    let visibility = user.role.visibility;
    if visibility == Visibility::All {
        return Ok(RecordScope::All);
    }
    let memberships = memberships(conn, user.account_id, user.id)?;
    let tree = if visibility == Visibility::UnitAndBelow {
        tree(conn, user.account_id)?
    } else {
        Tree::default()
    };
    Ok(RecordScope::of(visibility, user.id, &memberships, &tree))
}

/// The unit a new record goes in when its body names none: its owner's primary unit, else
/// its creator's.
pub(crate) fn default_unit(
    conn: &mut DbConnection,
    account_id: i64,
    owner: Option<i64>,
    creator: Option<i64>,
) -> Result<Option<i64>, StoreError> {
    for user in [owner, creator].into_iter().flatten() {
        let primary: Option<i64> = user_units::table
            .filter(user_units::account_id.eq(account_id))
            .filter(user_units::user_id.eq(user))
            .filter(user_units::is_primary.eq(true))
            .select(user_units::unit_id)
            .first(conn)
            .optional()?;
        if primary.is_some() {
            return Ok(primary);
        }
    }
    Ok(None)
}

/// Refuses a record's `unit_id` outside the account.
pub(crate) fn check_unit(
    conn: &mut DbConnection,
    account_id: i64,
    unit: Option<i64>,
) -> Result<(), StoreError> {
    let Some(id) = unit else {
        return Ok(());
    };
    let found: Option<i64> = units::table
        .filter(units::id.eq(id))
        .filter(units::account_id.eq(account_id))
        .select(units::id)
        .first(conn)
        .optional()?;
    if found.is_none() {
        return Err(StoreError::Invalid(Invalid::one(
            "unit_id",
            "unknown_unit",
            "there is no such unit in this account",
        )));
    }
    Ok(())
}

/// The units a `unit_id` filter keeps (with its subunits when asked); a unit outside the
/// account keeps nothing.
pub fn unit_filter(
    conn: &mut DbConnection,
    account_id: i64,
    unit: i64,
    include_subunits: bool,
) -> Result<Vec<i64>, StoreError> {
    let tree = tree(conn, account_id)?;
    if !tree.contains(unit) {
        return Ok(Vec::new());
    }
    Ok(domain::units::unit_filter(&tree, unit, include_subunits))
}

/// Which records a list, board or count may reach: those the caller sees, and of those the
/// ones in `units` when a `unit_id` filter is given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    pub scope: RecordScope,
    /// The units a `unit_id` filter keeps (its subunits included when asked).
    pub units: Option<Vec<i64>>,
}

impl Reach {
    /// Whether nothing narrows: every record of the account.
    pub fn is_everything(&self) -> bool {
        self.scope.is_all() && self.units.is_none()
    }
}

/// Narrows a boxed query of `$table` (companies, contacts, projects) to a [`Reach`]: the
/// unit filter, then the caller's own records and their units' records.
macro_rules! filter_reach {
    ($query:expr, $reach:expr, $table:ident) => {{
        let reach: &$crate::units::Reach = $reach;
        let mut query = $query;
        if let Some(units) = &reach.units {
            query = query.filter($table::unit_id.eq_any(units.clone()));
        }
        if let domain::units::RecordScope::Limited { user_id, units } = &reach.scope {
            query = query.filter(
                $table::owner_id
                    .eq(*user_id)
                    .or($table::unit_id.eq_any(units.clone())),
            );
        }
        query
    }};
}
pub(crate) use filter_reach;

/// The unit of a new record: the one its body names (checked against the account), else its
/// owner's primary unit, else its creator's.
pub(crate) fn place_new(
    conn: &mut DbConnection,
    account_id: i64,
    unit: Option<i64>,
    owner: Option<i64>,
    creator: domain::token::ActorRef,
) -> Result<Option<i64>, StoreError> {
    match unit {
        Some(_) => check_unit(conn, account_id, unit).map(|()| unit),
        None => default_unit(conn, account_id, owner, creator.user_id),
    }
}

/// The reach of a list: what `scope` sees, narrowed to `unit` (and its subunits when asked)
/// when given.
pub fn reach(
    conn: &mut DbConnection,
    account_id: i64,
    scope: RecordScope,
    unit: Option<i64>,
    include_subunits: bool,
) -> Result<Reach, StoreError> {
    let units = match unit {
        Some(unit) => Some(unit_filter(conn, account_id, unit, include_subunits)?),
        None => None,
    };
    Ok(Reach { scope, units })
}

/// Whether `scope` sees the record `id` of `record_type`; a record that does not exist is
/// "in sight", so that its own route answers the 404 it always has.
pub fn in_sight(
    conn: &mut DbConnection,
    account_id: i64,
    record_type: domain::fields::FieldRecordType,
    id: i64,
    scope: &RecordScope,
) -> Result<bool, StoreError> {
    use domain::fields::FieldRecordType as T;
    if scope.is_all() {
        return Ok(true);
    }
    let found: Option<(Option<i64>, Option<i64>)> = match record_type {
        T::Company => companies::table
            .filter(companies::id.eq(id))
            .filter(companies::account_id.eq(account_id))
            .select((companies::owner_id, companies::unit_id))
            .first(conn)
            .optional()?,
        T::Contact => contacts::table
            .filter(contacts::id.eq(id))
            .filter(contacts::account_id.eq(account_id))
            .select((contacts::owner_id, contacts::unit_id))
            .first(conn)
            .optional()?,
        T::Project => projects::table
            .filter(projects::id.eq(id))
            .filter(projects::account_id.eq(account_id))
            .select((projects::owner_id, projects::unit_id))
            .first(conn)
            .optional()?,
    };
    Ok(found.is_none_or(|(owner, unit)| scope.sees(owner, unit)))
}

/// What each of some team members sees, by user id, from their roles as
/// [`crate::roles::of_users`] reads them: nothing to read for roles that see all.
pub(crate) fn scopes_of(
    conn: &mut DbConnection,
    roles: &[(i64, domain::roles::UserRole)],
) -> Result<std::collections::HashMap<i64, RecordScope>, StoreError> {
    let mut scopes = std::collections::HashMap::new();
    for (user_id, role) in roles {
        let scope = if role.visibility == Visibility::All {
            RecordScope::All
        } else {
            let account_id: i64 = users::table
                .filter(users::id.eq(user_id))
                .select(users::account_id)
                .first(conn)?;
            let memberships = memberships(conn, account_id, *user_id)?;
            let tree = if role.visibility == Visibility::UnitAndBelow {
                tree(conn, account_id)?
            } else {
                Tree::default()
            };
            RecordScope::of(role.visibility, *user_id, &memberships, &tree)
        };
        scopes.insert(*user_id, scope);
    }
    Ok(scopes)
}

/// Refuses, as it refuses an id of no record of the account (422 naming
/// `duplicate_ids[i]`), the records among `ids` that `scope` does not see: a merge takes in
/// only records its caller sees.
pub fn refuse_unseen(
    conn: &mut DbConnection,
    account_id: i64,
    record_type: domain::fields::FieldRecordType,
    ids: &[i64],
    scope: &RecordScope,
) -> Result<(), StoreError> {
    use domain::fields::FieldRecordType as T;
    if scope.is_all() || ids.is_empty() {
        return Ok(());
    }
    let rows: Vec<(i64, Option<i64>, Option<i64>)> = match record_type {
        T::Company => companies::table
            .filter(companies::account_id.eq(account_id))
            .filter(companies::id.eq_any(ids))
            .select((companies::id, companies::owner_id, companies::unit_id))
            .load(conn)?,
        T::Contact => contacts::table
            .filter(contacts::account_id.eq(account_id))
            .filter(contacts::id.eq_any(ids))
            .select((contacts::id, contacts::owner_id, contacts::unit_id))
            .load(conn)?,
        T::Project => projects::table
            .filter(projects::account_id.eq(account_id))
            .filter(projects::id.eq_any(ids))
            .select((projects::id, projects::owner_id, projects::unit_id))
            .load(conn)?,
    };
    let seen = |id: i64| {
        rows.iter()
            .find(|(found, ..)| *found == id)
            .is_none_or(|(_, owner, unit)| scope.sees(*owner, *unit))
    };
    Ok(domain::merge::check_known(ids, seen, record_type.as_str())?)
}

/// The primary units of some team members, by user id (those without one left out).
pub(crate) fn primary_units(
    conn: &mut DbConnection,
    account_id: i64,
    users: &[i64],
) -> Result<std::collections::HashMap<i64, i64>, StoreError> {
    if users.is_empty() {
        return Ok(Default::default());
    }
    let rows: Vec<(i64, i64)> = user_units::table
        .filter(user_units::account_id.eq(account_id))
        .filter(user_units::user_id.eq_any(users))
        .filter(user_units::is_primary.eq(true))
        .select((user_units::user_id, user_units::unit_id))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}
