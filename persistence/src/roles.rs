//! Roles: the account's built-in `admin`, `member` and `viewer` and its custom roles, with
//! their rights, field rules and visibility; which role a team member holds is `users.role_id`.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::Invalid;
use domain::access::{Role, ScopeSet};
use domain::event::{EventType, NewEvent, Outbox};
use domain::fields::FieldRecordType;
use domain::listing::{Page, PageSize, Position};
use domain::roles::{Access, FieldRule, RoleDef, RoleSpec, UserRole, Visibility};
use serde_json::{Value, json};

use crate::keyset::{id_position, into_page};
use crate::schema::{roles, users};
use crate::{
    DbConnection, StoreError, check_version, events, lock_account, now, to_utc, write_transaction,
};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = roles)]
pub(crate) struct RoleRow {
    id: i64,
    builtin: Option<String>,
    name: String,
    description: Option<String>,
    rights: String,
    field_rules: String,
    visibility: String,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

fn rules_from_json(raw: &str) -> Vec<FieldRule> {
    let items: Vec<Value> = serde_json::from_str(raw).unwrap_or_default();
    items
        .iter()
        .filter_map(|r| {
            Some(FieldRule {
                record_type: FieldRecordType::parse(r["record_type"].as_str()?).ok()?,
                field: r["field"].as_str()?.to_owned(),
                access: Access::parse(r["access"].as_str()?).ok()?,
            })
        })
        .collect()
}

fn rules_to_json(rules: &[FieldRule]) -> String {
    Value::Array(
        rules
            .iter()
            .map(|r| {
                json!({"record_type": r.record_type.as_str(), "field": r.field, "access": r.access.as_str()})
            })
            .collect(),
    )
    .to_string()
}

impl RoleRow {
    fn builtin(&self) -> Option<Role> {
        self.builtin.as_deref().and_then(|b| Role::parse(b).ok())
    }

    /// A built-in role's rights are the code's, so that a new resource reaches them; a
    /// custom role's are what its admin wrote.
    fn rights(&self) -> ScopeSet {
        match self.builtin() {
            Some(role) => role.rights(),
            None => ScopeSet::from_stored(&self.rights),
        }
    }

    fn visibility(&self) -> Visibility {
        Visibility::parse(&self.visibility).unwrap_or(Visibility::All)
    }

    pub(crate) fn user_role(&self) -> UserRole {
        UserRole {
            id: self.id,
            name: self.name.clone(),
            builtin: self.builtin(),
            rights: self.rights(),
            field_rules: rules_from_json(&self.field_rules),
            visibility: self.visibility(),
        }
    }
}

impl From<RoleRow> for RoleDef {
    fn from(row: RoleRow) -> Self {
        RoleDef {
            id: row.id,
            builtin: row.builtin(),
            spec: RoleSpec {
                rights: row.rights(),
                field_rules: rules_from_json(&row.field_rules),
                visibility: row.visibility(),
                name: row.name,
                description: row.description,
            },
            version: row.version,
            created_at: to_utc(row.created_at),
            updated_at: to_utc(row.updated_at),
        }
    }
}

fn builtin_description(role: Role) -> &'static str {
    match role {
        Role::Admin => "Everything, including the team, configuration and integrations",
        Role::Member => {
            "Works on the records: companies, contacts, projects, tasks, meetings, posts, enquiries"
        }
        Role::Viewer => "Reads everything, changes nothing",
    }
}

/// Creates an account's built-in roles, inside the transaction that creates the account.
pub(crate) fn create_builtins(conn: &mut DbConnection, account_id: i64) -> Result<(), StoreError> {
    let at = now();
    for role in Role::ALL {
        diesel::insert_into(roles::table)
            .values((
                roles::account_id.eq(account_id),
                roles::builtin.eq(Some(role.as_str())),
                roles::name.eq(role.as_str()),
                roles::name_normalized.eq(role.as_str()),
                roles::description.eq(Some(builtin_description(role))),
                roles::rights.eq(""),
                roles::field_rules.eq("[]"),
                roles::visibility.eq(Visibility::All.as_str()),
                roles::version.eq(1),
                roles::created_at.eq(at),
                roles::updated_at.eq(at),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// Which role a team member is given: a built-in one by name, or any role by id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleChoice {
    Builtin(Role),
    Id(i64),
}

/// The role a choice names in the account: its id and, for a built-in role, which. An
/// unknown id is a 422 naming `role_id`.
pub(crate) fn resolve(
    conn: &mut DbConnection,
    account_id: i64,
    choice: RoleChoice,
) -> Result<(i64, Option<Role>), StoreError> {
    let query = roles::table
        .filter(roles::account_id.eq(account_id))
        .select((roles::id, roles::builtin));
    let found: Option<(i64, Option<String>)> = match choice {
        RoleChoice::Builtin(role) => query
            .filter(roles::builtin.eq(role.as_str()))
            .first(conn)
            .optional()?,
        RoleChoice::Id(id) => query.filter(roles::id.eq(id)).first(conn).optional()?,
    };
    let (id, builtin) = found.ok_or_else(|| {
        StoreError::Invalid(Invalid::one(
            "role_id",
            "unknown_role",
            "there is no such role in this account",
        ))
    })?;
    Ok((id, builtin.as_deref().and_then(|b| Role::parse(b).ok())))
}

fn normalized(name: &str) -> String {
    name.to_lowercase()
}

pub fn list(
    conn: &mut DbConnection,
    account_id: i64,
    size: PageSize,
    after: Option<&Position>,
) -> Result<Page<RoleDef>, StoreError> {
    let mut query = roles::table
        .filter(roles::account_id.eq(account_id))
        .select(RoleRow::as_select())
        .order(roles::id.asc())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(roles::id.gt(after.id));
    }
    let rows: Vec<RoleRow> = query.limit(size.get() + 1).load(conn)?;
    Ok(into_page(rows, size, |row| id_position(row.id)))
}

pub fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<RoleDef, StoreError> {
    roles::table
        .filter(roles::id.eq(id))
        .filter(roles::account_id.eq(account_id))
        .select(RoleRow::as_select())
        .first(conn)
        .optional()?
        .map(RoleDef::from)
        .ok_or(StoreError::NotFound)
}

/// The custom field keys the account defined, per record type: what rules may name.
fn defined_keys(
    conn: &mut DbConnection,
    account_id: i64,
) -> Result<Vec<(FieldRecordType, String)>, StoreError> {
    let mut keys = Vec::new();
    for t in FieldRecordType::ALL {
        for def in crate::fields::of_type(conn, account_id, t)? {
            keys.push((t, def.key));
        }
    }
    Ok(keys)
}

/// Refuses a name another role of the account has (in any case).
fn check_name(conn: &mut DbConnection, account_id: i64, name: &str) -> Result<(), StoreError> {
    let taken: Option<i64> = roles::table
        .filter(roles::account_id.eq(account_id))
        .filter(roles::name_normalized.eq(normalized(name)))
        .select(roles::id)
        .first(conn)
        .optional()?;
    if taken.is_some() {
        return Err(StoreError::Invalid(Invalid::one(
            "name",
            "taken",
            format!("a role named `{name}` already exists"),
        )));
    }
    Ok(())
}

/// Defines a custom role.
pub fn create(
    conn: &mut DbConnection,
    account_id: i64,
    spec: &RoleSpec,
    outbox: &Outbox<'_>,
) -> Result<RoleDef, StoreError> {
    write_transaction(conn, |conn| {
        check_rules(conn, account_id, spec)?;
        check_name(conn, account_id, &spec.name)?;
        let at = now();
        let id: i64 = diesel::insert_into(roles::table)
            .values((
                roles::account_id.eq(account_id),
                roles::name.eq(spec.name.as_str()),
                roles::name_normalized.eq(normalized(&spec.name)),
                roles::description.eq(spec.description.as_deref()),
                roles::rights.eq(spec.rights.to_stored()),
                roles::field_rules.eq(rules_to_json(&spec.field_rules)),
                roles::visibility.eq(spec.visibility.as_str()),
                roles::version.eq(1),
                roles::created_at.eq(at),
                roles::updated_at.eq(at),
            ))
            .returning(roles::id)
            .get_result(conn)?;
        let role = get(conn, account_id, id)?;
        let data = outbox.render.role(&role);
        events::record_one(
            conn,
            account_id,
            outbox,
            NewEvent::new(EventType::RoleCreated, id, data),
        )?;
        Ok(role)
    })
}

/// Changes a role: `change` turns the current definition into the new one (it refuses a
/// change of a built-in role's name or rights).
pub fn update(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    change: impl Fn(&RoleDef) -> Result<RoleSpec, Invalid> + Send,
    outbox: &Outbox<'_>,
) -> Result<RoleDef, StoreError> {
    write_transaction(conn, |conn| {
        lock_account(conn, account_id)?;
        let current = get(conn, account_id, id)?;
        check_version(current.version, expected_version)?;
        let spec = change(&current)?;
        if spec == current.spec {
            return Ok(current);
        }
        check_rules(conn, account_id, &spec)?;
        if normalized(&spec.name) != normalized(&current.spec.name) {
            check_name(conn, account_id, &spec.name)?;
        }
        diesel::update(roles::table.filter(roles::id.eq(id)))
            .set((
                roles::name.eq(spec.name.as_str()),
                roles::name_normalized.eq(normalized(&spec.name)),
                roles::description.eq(spec.description.as_deref()),
                roles::rights.eq(if current.builtin.is_some() {
                    String::new()
                } else {
                    spec.rights.to_stored()
                }),
                roles::field_rules.eq(rules_to_json(&spec.field_rules)),
                roles::visibility.eq(spec.visibility.as_str()),
                roles::version.eq(current.version + 1),
                roles::updated_at.eq(now()),
            ))
            .execute(conn)?;
        let role = get(conn, account_id, id)?;
        let before = outbox.render.role(&current);
        let after = outbox.render.role(&role);
        events::record_one(
            conn,
            account_id,
            outbox,
            NewEvent::changed(EventType::RoleUpdated, id, &before, after),
        )?;
        Ok(role)
    })
}

/// Refuses rules that name an unknown field (custom fields: keys the account defined).
fn check_rules(
    conn: &mut DbConnection,
    account_id: i64,
    spec: &RoleSpec,
) -> Result<(), StoreError> {
    let custom = spec
        .field_rules
        .iter()
        .any(|r| r.field.starts_with(domain::roles::CUSTOM_PREFIX));
    let keys = if custom {
        defined_keys(conn, account_id)?
    } else {
        Vec::new()
    };
    let defined = |t: FieldRecordType| {
        keys.iter()
            .filter(|(kt, _)| *kt == t)
            .map(|(_, k)| k.clone())
            .collect()
    };
    Ok(domain::roles::check_rules(&spec.field_rules, &defined)?)
}

/// Deletes a custom role that no team member holds.
pub fn delete(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        // Taken before the count, so that no one is given the role while it goes.
        lock_account(conn, account_id)?;
        let current = get(conn, account_id, id)?;
        check_version(current.version, expected_version)?;
        if let Some(builtin) = current.builtin {
            return Err(StoreError::Conflict(format!(
                "`{}` is a built-in role and cannot be deleted",
                builtin.as_str()
            )));
        }
        let holders: i64 = users::table
            .filter(users::account_id.eq(account_id))
            .filter(users::role_id.eq(id))
            .count()
            .get_result(conn)?;
        if holders > 0 {
            let who = if holders == 1 {
                "1 team member holds".to_owned()
            } else {
                format!("{holders} team members hold")
            };
            return Err(StoreError::Conflict(format!(
                "{who} this role (deactivated members count too); give them another role first"
            )));
        }
        diesel::delete(roles::table.filter(roles::id.eq(id))).execute(conn)?;
        let data = outbox.render.role(&current);
        events::record_one(
            conn,
            account_id,
            outbox,
            NewEvent::new(EventType::RoleDeleted, id, data),
        )
    })
}

/// The roles of some team members, by user id: what a webhook's deliveries may show.
pub fn of_users(
    conn: &mut DbConnection,
    user_ids: &[i64],
) -> Result<Vec<(i64, UserRole)>, StoreError> {
    if user_ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<(i64, RoleRow)> = users::table
        .inner_join(roles::table)
        .filter(users::id.eq_any(user_ids))
        .select((users::id, RoleRow::as_select()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(id, r)| (id, r.user_role()))
        .collect())
}
