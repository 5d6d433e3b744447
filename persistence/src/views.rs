//! Saved views and lists of records, with a static list's members. Members are an
//! attachment keyed by (record_type, record_id): a deleted record leaves its lists and a
//! merged one passes its places to the survivor, both from the record's own events
//! ([`crate::memberships::keep`], called where every event is recorded).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::company::Company;
use domain::contact::Contact;
use domain::fields::FieldRecordType;
use domain::listing::{Page, PageSize, Position};
use domain::project::Project;
use domain::views::{RecordList, View, ViewSpec, Visibility};
use domain::{FieldError, Invalid};
use serde_json::Value;

use crate::keyset::{id_position, into_page};
use crate::schema::{companies, contacts, list_members, lists, projects, views};
use crate::{DbConnection, StoreError, check_version, now, to_utc, write_transaction};

// ---------------------------------------------------------------------------------------------
// Views

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = views)]
struct ViewRow {
    id: i64,
    record_type: String,
    name: String,
    filter: Option<String>,
    sort: Option<String>,
    column_list: String,
    visibility: String,
    owner_id: Option<i64>,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl From<ViewRow> for View {
    fn from(row: ViewRow) -> Self {
        View {
            id: row.id,
            // Only parsed values are written.
            record_type: FieldRecordType::parse(&row.record_type)
                .unwrap_or(FieldRecordType::Company),
            spec: ViewSpec {
                name: row.name,
                filter: row.filter.and_then(|f| serde_json::from_str(&f).ok()),
                sort: row.sort,
                columns: serde_json::from_str(&row.column_list).unwrap_or_default(),
                visibility: Visibility::parse(&row.visibility).unwrap_or_default(),
            },
            owner_id: row.owner_id,
            version: row.version,
            created_at: to_utc(row.created_at),
            updated_at: to_utc(row.updated_at),
        }
    }
}

#[derive(Debug, AsChangeset, Insertable)]
#[diesel(table_name = views, treat_none_as_null = true)]
struct ViewValues {
    name: String,
    filter: Option<String>,
    sort: Option<String>,
    column_list: String,
    visibility: String,
}

impl From<&ViewSpec> for ViewValues {
    fn from(s: &ViewSpec) -> Self {
        ViewValues {
            name: s.name.clone(),
            filter: s.filter.as_ref().map(Value::to_string),
            sort: s.sort.clone(),
            column_list: Value::from(s.columns.clone()).to_string(),
            visibility: s.visibility.as_str().to_owned(),
        }
    }
}

/// Who is asking: the team member (None for an app acting for the account) and whether
/// they administer the account. Private views and lists are their owners' (and admins').
#[derive(Debug, Clone, Copy)]
pub struct Viewer {
    pub user_id: Option<i64>,
    pub admin: bool,
}

impl Viewer {
    fn sees(&self, visibility: Visibility, owner: Option<i64>) -> bool {
        domain::views::can_see(visibility, owner, self.user_id, self.admin)
    }

    fn may_change(&self, owner: Option<i64>) -> Result<(), StoreError> {
        if domain::views::can_change(owner, self.user_id, self.admin) {
            Ok(())
        } else {
            Err(StoreError::NotOwner)
        }
    }
}

/// The views the caller sees, in id order, optionally of one record type.
pub fn list_views(
    conn: &mut DbConnection,
    account_id: i64,
    viewer: Viewer,
    record_type: Option<FieldRecordType>,
    size: PageSize,
    after: Option<&Position>,
) -> Result<Page<View>, StoreError> {
    let mut query = views::table
        .filter(views::account_id.eq(account_id))
        .select(ViewRow::as_select())
        .order(views::id.asc())
        .into_boxed();
    if let Some(t) = record_type {
        query = query.filter(views::record_type.eq(t.as_str()));
    }
    if !viewer.admin {
        let shared = views::visibility.eq(Visibility::Account.as_str());
        query = match viewer.user_id {
            Some(user) => query.filter(shared.or(views::owner_id.eq(user))),
            None => query.filter(shared),
        };
    }
    if let Some(after) = after {
        query = query.filter(views::id.gt(after.id));
    }
    let rows: Vec<ViewRow> = query.limit(size.get() + 1).load(conn)?;
    Ok(into_page(rows, size, |row| id_position(row.id)))
}

/// A view the caller sees; another's private view is not found.
pub fn get_view(
    conn: &mut DbConnection,
    account_id: i64,
    viewer: Viewer,
    id: i64,
) -> Result<View, StoreError> {
    let view: View = views::table
        .filter(views::id.eq(id))
        .filter(views::account_id.eq(account_id))
        .select(ViewRow::as_select())
        .first(conn)
        .optional()?
        .map(View::from)
        .ok_or(StoreError::NotFound)?;
    if viewer.sees(view.spec.visibility, view.owner_id) {
        Ok(view)
    } else {
        Err(StoreError::NotFound)
    }
}

/// Saves a view. Its filter must parse for the record type now (against today's field
/// definitions); `check` does that.
pub fn create_view(
    conn: &mut DbConnection,
    account_id: i64,
    viewer: Viewer,
    record_type: FieldRecordType,
    spec: &ViewSpec,
    check: &(dyn Fn(&mut DbConnection, &ViewSpec) -> Result<(), StoreError> + Sync),
) -> Result<View, StoreError> {
    write_transaction(conn, |conn| {
        check(conn, spec)?;
        let at = now();
        let id: i64 = diesel::insert_into(views::table)
            .values((
                ViewValues::from(spec),
                views::account_id.eq(account_id),
                views::record_type.eq(record_type.as_str()),
                views::owner_id.eq(viewer.user_id),
                views::version.eq(1),
                views::created_at.eq(at),
                views::updated_at.eq(at),
            ))
            .returning(views::id)
            .get_result(conn)?;
        get_view(conn, account_id, viewer, id)
    })
}

pub fn update_view(
    conn: &mut DbConnection,
    account_id: i64,
    viewer: Viewer,
    id: i64,
    expected_version: Option<i64>,
    change: &(dyn Fn(&ViewSpec) -> Result<ViewSpec, Invalid> + Sync),
    check: &(dyn Fn(&mut DbConnection, &ViewSpec) -> Result<(), StoreError> + Sync),
) -> Result<View, StoreError> {
    write_transaction(conn, |conn| {
        let current = get_view(conn, account_id, viewer, id)?;
        viewer.may_change(current.owner_id)?;
        check_version(current.version, expected_version)?;
        let spec = change(&current.spec)?;
        if spec == current.spec {
            return Ok(current);
        }
        check(conn, &spec)?;
        diesel::update(views::table.filter(views::id.eq(id)))
            .set((
                ViewValues::from(&spec),
                views::version.eq(current.version + 1),
                views::updated_at.eq(now()),
            ))
            .execute(conn)?;
        get_view(conn, account_id, viewer, id)
    })
}

/// Deletes a view; refused while a dynamic list is made of it.
pub fn delete_view(
    conn: &mut DbConnection,
    account_id: i64,
    viewer: Viewer,
    id: i64,
    expected_version: Option<i64>,
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        let current = get_view(conn, account_id, viewer, id)?;
        viewer.may_change(current.owner_id)?;
        check_version(current.version, expected_version)?;
        let used: i64 = lists::table
            .filter(lists::account_id.eq(account_id))
            .filter(lists::view_id.eq(id))
            .count()
            .get_result(conn)?;
        if used > 0 {
            return Err(StoreError::Conflict(format!(
                "{used} dynamic list{} made of this view; delete {} first",
                if used == 1 { " is" } else { "s are" },
                if used == 1 { "it" } else { "them" },
            )));
        }
        diesel::delete(views::table.filter(views::id.eq(id))).execute(conn)?;
        Ok(())
    })
}

// ---------------------------------------------------------------------------------------------
// Lists

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = lists)]
struct ListRow {
    id: i64,
    record_type: String,
    name: String,
    description: Option<String>,
    view_id: Option<i64>,
    visibility: String,
    owner_id: Option<i64>,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl From<ListRow> for RecordList {
    fn from(row: ListRow) -> Self {
        RecordList {
            id: row.id,
            record_type: FieldRecordType::parse(&row.record_type)
                .unwrap_or(FieldRecordType::Company),
            name: row.name,
            description: row.description,
            view_id: row.view_id,
            visibility: Visibility::parse(&row.visibility).unwrap_or_default(),
            owner_id: row.owner_id,
            version: row.version,
            created_at: to_utc(row.created_at),
            updated_at: to_utc(row.updated_at),
        }
    }
}

/// What a list's owner writes.
#[derive(Debug, Clone, PartialEq)]
pub struct ListSpec {
    pub name: String,
    pub description: Option<String>,
    pub visibility: Visibility,
}

pub fn list_lists(
    conn: &mut DbConnection,
    account_id: i64,
    viewer: Viewer,
    record_type: Option<FieldRecordType>,
    size: PageSize,
    after: Option<&Position>,
) -> Result<Page<RecordList>, StoreError> {
    let mut query = lists::table
        .filter(lists::account_id.eq(account_id))
        .select(ListRow::as_select())
        .order(lists::id.asc())
        .into_boxed();
    if let Some(t) = record_type {
        query = query.filter(lists::record_type.eq(t.as_str()));
    }
    if !viewer.admin {
        let shared = lists::visibility.eq(Visibility::Account.as_str());
        query = match viewer.user_id {
            Some(user) => query.filter(shared.or(lists::owner_id.eq(user))),
            None => query.filter(shared),
        };
    }
    if let Some(after) = after {
        query = query.filter(lists::id.gt(after.id));
    }
    let rows: Vec<ListRow> = query.limit(size.get() + 1).load(conn)?;
    Ok(into_page(rows, size, |row| id_position(row.id)))
}

pub fn get_list(
    conn: &mut DbConnection,
    account_id: i64,
    viewer: Viewer,
    id: i64,
) -> Result<RecordList, StoreError> {
    let list: RecordList = lists::table
        .filter(lists::id.eq(id))
        .filter(lists::account_id.eq(account_id))
        .select(ListRow::as_select())
        .first(conn)
        .optional()?
        .map(RecordList::from)
        .ok_or(StoreError::NotFound)?;
    if viewer.sees(list.visibility, list.owner_id) {
        Ok(list)
    } else {
        Err(StoreError::NotFound)
    }
}

/// Creates a list: static, or dynamic when `view_id` names a view of the same record type
/// that the caller sees.
pub fn create_list(
    conn: &mut DbConnection,
    account_id: i64,
    viewer: Viewer,
    record_type: FieldRecordType,
    spec: &ListSpec,
    view_id: Option<i64>,
) -> Result<RecordList, StoreError> {
    write_transaction(conn, |conn| {
        if let Some(view_id) = view_id {
            let view = get_view(conn, account_id, viewer, view_id).map_err(|e| match e {
                StoreError::NotFound => StoreError::Invalid(Invalid::one(
                    "view_id",
                    "unknown_view",
                    format!("there is no view {view_id} you can see"),
                )),
                other => other,
            })?;
            if view.record_type != record_type {
                return Err(StoreError::Invalid(Invalid::one(
                    "view_id",
                    "wrong_record_type",
                    format!(
                        "view {view_id} is of {}s, not {}s",
                        view.record_type.as_str(),
                        record_type.as_str()
                    ),
                )));
            }
        }
        let at = now();
        let id: i64 = diesel::insert_into(lists::table)
            .values((
                lists::account_id.eq(account_id),
                lists::record_type.eq(record_type.as_str()),
                lists::name.eq(&spec.name),
                lists::description.eq(&spec.description),
                lists::view_id.eq(view_id),
                lists::visibility.eq(spec.visibility.as_str()),
                lists::owner_id.eq(viewer.user_id),
                lists::version.eq(1),
                lists::created_at.eq(at),
                lists::updated_at.eq(at),
            ))
            .returning(lists::id)
            .get_result(conn)?;
        get_list(conn, account_id, viewer, id)
    })
}

pub fn update_list(
    conn: &mut DbConnection,
    account_id: i64,
    viewer: Viewer,
    id: i64,
    expected_version: Option<i64>,
    change: &(dyn Fn(&ListSpec) -> ListSpec + Sync),
) -> Result<RecordList, StoreError> {
    write_transaction(conn, |conn| {
        let current = get_list(conn, account_id, viewer, id)?;
        viewer.may_change(current.owner_id)?;
        check_version(current.version, expected_version)?;
        let before = ListSpec {
            name: current.name.clone(),
            description: current.description.clone(),
            visibility: current.visibility,
        };
        let spec = change(&before);
        if spec == before {
            return Ok(current);
        }
        diesel::update(lists::table.filter(lists::id.eq(id)))
            .set((
                lists::name.eq(&spec.name),
                lists::description.eq(&spec.description),
                lists::visibility.eq(spec.visibility.as_str()),
                lists::version.eq(current.version + 1),
                lists::updated_at.eq(now()),
            ))
            .execute(conn)?;
        get_list(conn, account_id, viewer, id)
    })
}

/// Deletes a list and its memberships (never its records).
pub fn delete_list(
    conn: &mut DbConnection,
    account_id: i64,
    viewer: Viewer,
    id: i64,
    expected_version: Option<i64>,
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        let current = get_list(conn, account_id, viewer, id)?;
        viewer.may_change(current.owner_id)?;
        check_version(current.version, expected_version)?;
        diesel::delete(list_members::table.filter(list_members::list_id.eq(id))).execute(conn)?;
        diesel::delete(lists::table.filter(lists::id.eq(id))).execute(conn)?;
        Ok(())
    })
}

/// A static list's records, whatever their type.
#[derive(Debug, Clone)]
pub enum Members {
    Companies(Vec<Company>),
    Contacts(Vec<Contact>),
    Projects(Vec<Project>),
}

/// A page of a static list's members, in record id order.
pub fn members(
    conn: &mut DbConnection,
    account_id: i64,
    list: &RecordList,
    size: PageSize,
    after: Option<&Position>,
) -> Result<(Members, Option<Position>), StoreError> {
    let mut query = list_members::table
        .filter(list_members::list_id.eq(list.id))
        .select(list_members::record_id)
        .order(list_members::record_id.asc())
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(list_members::record_id.gt(after.id));
    }
    let ids: Vec<i64> = query.limit(size.get() + 1).load(conn)?;
    let page = into_page::<i64, i64>(ids, size, |id| id_position(*id));
    let members = match list.record_type {
        FieldRecordType::Company => {
            Members::Companies(crate::companies::get_many(conn, account_id, &page.items)?)
        }
        FieldRecordType::Contact => {
            Members::Contacts(crate::contacts::get_many(conn, account_id, &page.items)?)
        }
        FieldRecordType::Project => {
            Members::Projects(crate::projects::get_many(conn, account_id, &page.items)?)
        }
    };
    Ok((members, page.next))
}

/// Checks that the account has these records of the list's type, naming the first it has
/// not.
fn check_records(
    conn: &mut DbConnection,
    account_id: i64,
    record_type: FieldRecordType,
    ids: &[i64],
) -> Result<(), StoreError> {
    let found: Vec<i64> = match record_type {
        FieldRecordType::Company => companies::table
            .filter(companies::account_id.eq(account_id))
            .filter(companies::id.eq_any(ids))
            .select(companies::id)
            .load(conn)?,
        FieldRecordType::Contact => contacts::table
            .filter(contacts::account_id.eq(account_id))
            .filter(contacts::id.eq_any(ids))
            .select(contacts::id)
            .load(conn)?,
        FieldRecordType::Project => projects::table
            .filter(projects::account_id.eq(account_id))
            .filter(projects::id.eq_any(ids))
            .select(projects::id)
            .load(conn)?,
    };
    let mut invalid = Invalid::default();
    for (i, id) in ids.iter().enumerate() {
        if !found.contains(id) {
            invalid.push(FieldError::new(
                format!("record_ids[{i}]"),
                "unknown_record",
                format!("there is no {} {id} in this account", record_type.as_str()),
            ));
        }
    }
    Ok(invalid.into_result()?)
}

fn static_list(list: &RecordList) -> Result<(), StoreError> {
    match list.view_id {
        Some(view) => Err(StoreError::Conflict(format!(
            "a dynamic list's members are the records of its view ({view}); change the view instead"
        ))),
        None => Ok(()),
    }
}

/// Adds records to a static list (those already in it stay as they were); answers how many
/// were added.
pub fn add_members(
    conn: &mut DbConnection,
    account_id: i64,
    viewer: Viewer,
    list_id: i64,
    ids: &[i64],
) -> Result<usize, StoreError> {
    write_transaction(conn, |conn| {
        let list = get_list(conn, account_id, viewer, list_id)?;
        static_list(&list)?;
        check_records(conn, account_id, list.record_type, ids)?;
        let held: Vec<i64> = list_members::table
            .filter(list_members::list_id.eq(list_id))
            .filter(list_members::record_id.eq_any(ids))
            .select(list_members::record_id)
            .load(conn)?;
        let mut new: Vec<i64> = ids
            .iter()
            .copied()
            .filter(|id| !held.contains(id))
            .collect();
        new.sort_unstable();
        new.dedup();
        let at = now();
        let rows: Vec<_> = new
            .iter()
            .map(|id| {
                (
                    list_members::account_id.eq(account_id),
                    list_members::list_id.eq(list_id),
                    list_members::record_type.eq(list.record_type.as_str()),
                    list_members::record_id.eq(*id),
                    list_members::added_by.eq(viewer.user_id),
                    list_members::added_at.eq(at),
                )
            })
            .collect();
        crate::bulk::insert_all!(&mut *conn, list_members::table, &rows, 500);
        Ok(new.len())
    })
}

/// Removes records from a static list; answers how many were in it.
pub fn remove_members(
    conn: &mut DbConnection,
    account_id: i64,
    viewer: Viewer,
    list_id: i64,
    ids: &[i64],
) -> Result<usize, StoreError> {
    write_transaction(conn, |conn| {
        let list = get_list(conn, account_id, viewer, list_id)?;
        static_list(&list)?;
        Ok(diesel::delete(
            list_members::table
                .filter(list_members::list_id.eq(list_id))
                .filter(list_members::record_id.eq_any(ids)),
        )
        .execute(conn)?)
    })
}
