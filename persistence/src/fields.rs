//! The account's field definitions, and the check every write of a record's custom fields
//! goes through (create, update, import, merge, conversion).

use std::collections::HashMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use domain::event::{EventType, NewEvent, Outbox};
use domain::fields::{
    Bounds, Checked, FieldDefinition, FieldOption, FieldRecordType, FieldSpec, FieldType,
    RefTarget, Write,
};
use domain::listing::{Page, PageSize, Position};
use domain::values::CustomFields;
use domain::{FieldError, Invalid};
use serde_json::{Map, Value, json};

use crate::keyset::{id_position, into_page};
use crate::prepared::Prepared;
use crate::schema::{companies, contacts, field_definitions, projects, users};
use crate::{
    Backend, DbConnection, StoreError, check_version, events, now, to_utc, write_transaction,
};

#[derive(Debug, Queryable, Selectable)]
#[diesel(table_name = field_definitions)]
struct DefinitionRow {
    id: i64,
    record_type: String,
    key: String,
    label: String,
    description: Option<String>,
    group_name: Option<String>,
    field_type: String,
    options: String,
    required: bool,
    is_unique: bool,
    default_value: Option<String>,
    min_value: Option<String>,
    max_value: Option<String>,
    max_length: Option<i32>,
    pattern: Option<String>,
    target_record_type: Option<String>,
    currency: Option<String>,
    position: i32,
    version: i64,
    created_at: chrono::NaiveDateTime,
    updated_at: chrono::NaiveDateTime,
    computed: Option<String>,
}

fn parse_json(raw: Option<String>) -> Option<Value> {
    raw.and_then(|s| serde_json::from_str(&s).ok())
}

fn options_from_json(raw: &str) -> Vec<FieldOption> {
    let items: Vec<Value> = serde_json::from_str(raw).unwrap_or_default();
    items
        .iter()
        .map(|o| FieldOption {
            value: o["value"].as_str().unwrap_or_default().to_owned(),
            label: o["label"].as_str().unwrap_or_default().to_owned(),
            position: o["position"]
                .as_i64()
                .and_then(|p| i32::try_from(p).ok())
                .unwrap_or_default(),
            archived: o["archived"].as_bool().unwrap_or_default(),
        })
        .collect()
}

fn options_to_json(options: &[FieldOption]) -> String {
    Value::Array(
        options
            .iter()
            .map(|o| {
                json!({"value": o.value, "label": o.label, "position": o.position, "archived": o.archived})
            })
            .collect(),
    )
    .to_string()
}

impl From<DefinitionRow> for FieldDefinition {
    fn from(row: DefinitionRow) -> Self {
        FieldDefinition {
            id: row.id,
            // Only parsed values are written.
            record_type: FieldRecordType::parse(&row.record_type)
                .unwrap_or(FieldRecordType::Company),
            key: row.key,
            spec: FieldSpec {
                label: row.label,
                description: row.description,
                group: row.group_name,
                field_type: FieldType::parse(&row.field_type).unwrap_or(FieldType::Text),
                options: options_from_json(&row.options),
                required: row.required,
                unique: row.is_unique,
                default: parse_json(row.default_value),
                bounds: Bounds {
                    min: parse_json(row.min_value),
                    max: parse_json(row.max_value),
                    max_length: row.max_length.and_then(|m| u32::try_from(m).ok()),
                    pattern: row.pattern,
                },
                target: row
                    .target_record_type
                    .as_deref()
                    .and_then(|t| FieldRecordType::parse(t).ok()),
                currency: row.currency,
                position: row.position,
                computed: parse_json(row.computed)
                    .as_ref()
                    .and_then(domain::computed::Computed::from_json),
            },
            version: row.version,
            created_at: to_utc(row.created_at),
            updated_at: to_utc(row.updated_at),
        }
    }
}

/// The writable columns of a definition.
#[derive(Debug, AsChangeset, Insertable)]
#[diesel(table_name = field_definitions, treat_none_as_null = true)]
struct SpecValues {
    label: String,
    description: Option<String>,
    group_name: Option<String>,
    field_type: String,
    options: String,
    required: bool,
    is_unique: bool,
    default_value: Option<String>,
    min_value: Option<String>,
    max_value: Option<String>,
    max_length: Option<i32>,
    pattern: Option<String>,
    target_record_type: Option<String>,
    currency: Option<String>,
    position: i32,
    computed: Option<String>,
}

impl From<&FieldSpec> for SpecValues {
    fn from(s: &FieldSpec) -> Self {
        SpecValues {
            label: s.label.clone(),
            description: s.description.clone(),
            group_name: s.group.clone(),
            field_type: s.field_type.as_str().to_owned(),
            options: options_to_json(&s.options),
            required: s.required,
            is_unique: s.unique,
            default_value: s.default.as_ref().map(Value::to_string),
            min_value: s.bounds.min.as_ref().map(Value::to_string),
            max_value: s.bounds.max.as_ref().map(Value::to_string),
            max_length: s.bounds.max_length.and_then(|m| i32::try_from(m).ok()),
            pattern: s.bounds.pattern.clone(),
            target_record_type: s.target.map(|t| t.as_str().to_owned()),
            currency: s.currency.clone(),
            position: s.position,
            computed: s.computed.as_ref().map(|c| c.to_json().to_string()),
        }
    }
}

/// The account's definitions, in id order, optionally of one record type.
pub fn list(
    conn: &mut DbConnection,
    account_id: i64,
    record_type: Option<FieldRecordType>,
    size: PageSize,
    after: Option<&Position>,
) -> Result<Page<FieldDefinition>, StoreError> {
    let mut query = field_definitions::table
        .filter(field_definitions::account_id.eq(account_id))
        .select(DefinitionRow::as_select())
        .order(field_definitions::id.asc())
        .into_boxed();
    if let Some(t) = record_type {
        query = query.filter(field_definitions::record_type.eq(t.as_str()));
    }
    if let Some(after) = after {
        query = query.filter(field_definitions::id.gt(after.id));
    }
    let rows: Vec<DefinitionRow> = query.limit(size.get() + 1).load(conn)?;
    Ok(into_page(rows, size, |row| id_position(row.id)))
}

/// Every definition of a record type, in form order (position, then id).
pub fn of_type(
    conn: &mut DbConnection,
    account_id: i64,
    record_type: FieldRecordType,
) -> Result<Vec<FieldDefinition>, StoreError> {
    let rows: Vec<DefinitionRow> = field_definitions::table
        .filter(field_definitions::account_id.eq(account_id))
        .filter(field_definitions::record_type.eq(record_type.as_str()))
        .select(DefinitionRow::as_select())
        .order((
            field_definitions::position.asc(),
            field_definitions::id.asc(),
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(FieldDefinition::from).collect())
}

/// Every definition of the account, of every record type, in form order: what lookups and
/// rollups resolve their references and fields against.
pub fn all(conn: &mut DbConnection, account_id: i64) -> Result<Vec<FieldDefinition>, StoreError> {
    let rows: Vec<DefinitionRow> = field_definitions::table
        .filter(field_definitions::account_id.eq(account_id))
        .select(DefinitionRow::as_select())
        .order((
            field_definitions::position.asc(),
            field_definitions::id.asc(),
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(FieldDefinition::from).collect())
}

pub fn get(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
) -> Result<FieldDefinition, StoreError> {
    field_definitions::table
        .filter(field_definitions::id.eq(id))
        .filter(field_definitions::account_id.eq(account_id))
        .select(DefinitionRow::as_select())
        .first(conn)
        .optional()?
        .map(FieldDefinition::from)
        .ok_or(StoreError::NotFound)
}

fn lock(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<FieldDefinition, StoreError> {
    match conn {
        DbConnection::Postgresql(pg) => field_definitions::table
            .filter(field_definitions::id.eq(id))
            .filter(field_definitions::account_id.eq(account_id))
            .select(DefinitionRow::as_select())
            .for_update()
            .first(pg)
            .optional()?
            .map(FieldDefinition::from)
            .ok_or(StoreError::NotFound),
        // SQLite's write transaction holds the whole database.
        DbConnection::Sqlite(_) => get(conn, account_id, id),
    }
}

/// Defines a field. Values that records already hold under the key must fit it.
pub fn create(
    conn: &mut DbConnection,
    account_id: i64,
    record_type: FieldRecordType,
    key: &str,
    spec: &FieldSpec,
    outbox: &Outbox<'_>,
) -> Result<FieldDefinition, StoreError> {
    write_transaction(conn, |conn| {
        let count: i64 = field_definitions::table
            .filter(field_definitions::account_id.eq(account_id))
            .filter(field_definitions::record_type.eq(record_type.as_str()))
            .count()
            .get_result(conn)?;
        if count >= domain::fields::MAX_FIELDS as i64 {
            return Err(StoreError::Conflict(format!(
                "a {} has at most {} fields; delete one first",
                record_type.as_str(),
                domain::fields::MAX_FIELDS
            )));
        }
        let taken: bool = diesel::select(diesel::dsl::exists(
            field_definitions::table
                .filter(field_definitions::account_id.eq(account_id))
                .filter(field_definitions::record_type.eq(record_type.as_str()))
                .filter(field_definitions::key.eq(key)),
        ))
        .get_result(conn)?;
        if taken {
            return Err(StoreError::Invalid(Invalid::one(
                "key",
                "taken",
                format!(
                    "the {} field `{key}` is already defined",
                    record_type.as_str()
                ),
            )));
        }
        check_existing(conn, account_id, record_type, key, spec)?;
        let at = now();
        let id: i64 = diesel::insert_into(field_definitions::table)
            .values((
                SpecValues::from(spec),
                field_definitions::account_id.eq(account_id),
                field_definitions::record_type.eq(record_type.as_str()),
                field_definitions::key.eq(key),
                field_definitions::version.eq(1),
                field_definitions::created_at.eq(at),
                field_definitions::updated_at.eq(at),
            ))
            .returning(field_definitions::id)
            .get_result(conn)?;
        let definition = get(conn, account_id, id)?;
        let data = outbox.render.field(&definition);
        events::record_one(
            conn,
            account_id,
            outbox,
            NewEvent::new(EventType::FieldCreated, id, data),
        )?;
        Ok(definition)
    })
}

/// Changes a definition: `change` turns the current spec into the new one. A change of type,
/// options or bounds that values records hold do not fit is refused with their count.
pub fn update(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    change: impl Fn(&FieldSpec) -> Result<FieldSpec, Invalid> + Send,
    outbox: &Outbox<'_>,
) -> Result<FieldDefinition, StoreError> {
    write_transaction(conn, |conn| {
        let current = lock(conn, account_id, id)?;
        check_version(current.version, expected_version)?;
        let spec = change(&current.spec)?;
        if spec == current.spec {
            return Ok(current);
        }
        let values_matter = spec.field_type != current.spec.field_type
            || spec.options != current.spec.options
            || spec.bounds != current.spec.bounds
            || spec.currency != current.spec.currency
            || spec.target != current.spec.target
            || (spec.unique && !current.spec.unique);
        if values_matter {
            check_existing(conn, account_id, current.record_type, &current.key, &spec)?;
        }
        diesel::update(field_definitions::table.filter(field_definitions::id.eq(id)))
            .set((
                SpecValues::from(&spec),
                field_definitions::version.eq(current.version + 1),
                field_definitions::updated_at.eq(now()),
            ))
            .execute(conn)?;
        let definition = get(conn, account_id, id)?;
        let before = outbox.render.field(&current);
        let after = outbox.render.field(&definition);
        events::record_one(
            conn,
            account_id,
            outbox,
            NewEvent::changed(EventType::FieldUpdated, id, &before, after),
        )?;
        Ok(definition)
    })
}

/// Deletes a definition. The values records hold under its key stay, untyped. A field that
/// lookup or rollup fields compute from is refused (409 naming them): delete or change them
/// first.
pub fn delete(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        let current = lock(conn, account_id, id)?;
        check_version(current.version, expected_version)?;
        let definitions = all(conn, account_id)?;
        let dependents =
            domain::fields::dependents(current.record_type, &current.key, &definitions);
        if !dependents.is_empty() {
            let named: Vec<String> = dependents
                .iter()
                .map(|d| format!("{}.custom_fields.{}", d.record_type.as_str(), d.key))
                .collect();
            return Err(StoreError::Conflict(format!(
                "lookup and rollup fields compute from this field: {}; delete or change them first",
                named.join(", ")
            )));
        }
        diesel::delete(field_definitions::table.filter(field_definitions::id.eq(id)))
            .execute(conn)?;
        let data = outbox.render.field(&current);
        events::record_one(
            conn,
            account_id,
            outbox,
            NewEvent::new(EventType::FieldDeleted, id, data),
        )
    })
}

/// A record type's name, singular and plural, for messages.
fn names(record_type: FieldRecordType) -> (&'static str, &'static str) {
    (record_type.as_str(), table_of(record_type))
}

/// Parses a filter of the filter language against the account's field definitions of the
/// target record type (custom fields are `custom_fields.<key>`).
pub fn parse_filter(
    conn: &mut DbConnection,
    account_id: i64,
    target: domain::filter::Target,
    raw: &Value,
    root: &str,
) -> Result<domain::filter::Filter, StoreError> {
    let definitions = of_type(conn, account_id, FieldRecordType::of_target(target))?;
    Ok(domain::fields::parse_filter(
        &definitions,
        raw,
        root,
        target,
        chrono::Utc::now(),
    )?)
}

/// The table of a record type, for the hand-written statements below.
fn table_of(record_type: FieldRecordType) -> &'static str {
    match record_type {
        FieldRecordType::Company => "companies",
        FieldRecordType::Contact => "contacts",
        FieldRecordType::Project => "projects",
    }
}

#[derive(QueryableByName)]
struct Held {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    custom_fields: String,
}

/// Records read per statement when every holder of a key is checked.
const SCAN_CHUNK: i64 = 1_000;

/// The values records of the type hold under `key`, by record id, read in id-ordered chunks;
/// `each` sees every one.
fn each_held(
    conn: &mut DbConnection,
    account_id: i64,
    record_type: FieldRecordType,
    key: &str,
    mut each: impl FnMut(i64, &Value),
) -> Result<(), StoreError> {
    let table = table_of(record_type);
    let has_key = match conn.backend() {
        Backend::Sqlite => "json_type(custom_fields, '$.' || ",
        Backend::Postgres => "jsonb_exists(custom_fields::jsonb, ",
    };
    let mut after = 0_i64;
    loop {
        let mut sql = Prepared::new();
        sql.sql(&format!(
            "SELECT id, custom_fields FROM {table} WHERE account_id = "
        ))
        .bigint(account_id)
        .sql(" AND id > ")
        .bigint(after)
        .sql(&format!(" AND {has_key}"))
        .text(key);
        sql.sql(match conn.backend() {
            Backend::Sqlite => ") IS NOT NULL ORDER BY id LIMIT ",
            Backend::Postgres => ") ORDER BY id LIMIT ",
        })
        .bigint(SCAN_CHUNK);
        let rows: Vec<Held> = sql.load(conn)?;
        for row in &rows {
            let fields: Map<String, Value> =
                serde_json::from_str(&row.custom_fields).unwrap_or_default();
            if let Some(value) = fields.get(key) {
                each(row.id, value);
            }
        }
        match rows.last() {
            Some(last) if rows.len() as i64 == SCAN_CHUNK => after = last.id,
            _ => return Ok(()),
        }
    }
}

/// Refuses a definition that the values records already hold under its key do not fit,
/// with their count (and, for a unique field, the count of values shared).
fn check_existing(
    conn: &mut DbConnection,
    account_id: i64,
    record_type: FieldRecordType,
    key: &str,
    spec: &FieldSpec,
) -> Result<(), StoreError> {
    let mut misfits = 0_u64;
    let mut first = None;
    let mut seen: HashMap<String, u64> = HashMap::new();
    each_held(conn, account_id, record_type, key, |id, value| {
        if !domain::fields::fits(spec, value) {
            misfits += 1;
            first.get_or_insert(id);
        } else if spec.unique && !value.is_null() {
            *seen.entry(value.to_string()).or_default() += 1;
        }
    })?;
    if let Some(first) = first {
        let (one, many) = names(record_type);
        let (what, verb) = if misfits == 1 {
            (one, "holds")
        } else {
            (many, "hold")
        };
        return Err(StoreError::Conflict(format!(
            "{misfits} {what} {verb} a `{key}` value that does not fit this definition (the first is {one} {first}); change or clear those values first"
        )));
    }
    let shared: u64 = seen.values().filter(|n| **n > 1).sum();
    if shared > 0 {
        return Err(StoreError::Conflict(format!(
            "{shared} {} share a `{key}` value with another, so it cannot be unique; make their values distinct first",
            names(record_type).1
        )));
    }
    Ok(())
}

/// Checks a record's custom fields against the account's definitions of its type, with the
/// references they make and unique values, and returns them as the record will hold them.
/// `except` are the records no unique value is compared with: the record itself once it exists,
/// and the records a merge folds into it; `previous` what it held (None while it is created).
pub(crate) fn check(
    conn: &mut DbConnection,
    account_id: i64,
    record_type: FieldRecordType,
    except: &[i64],
    values: &CustomFields,
    previous: Option<&Map<String, Value>>,
) -> Result<CustomFields, StoreError> {
    let definitions = of_type(conn, account_id, record_type)?;
    check_with(
        conn,
        account_id,
        record_type,
        &definitions,
        except,
        values,
        previous,
    )
}

/// [`check`] against definitions already read.
pub(crate) fn check_with(
    conn: &mut DbConnection,
    account_id: i64,
    record_type: FieldRecordType,
    definitions: &[FieldDefinition],
    except: &[i64],
    values: &CustomFields,
    previous: Option<&Map<String, Value>>,
) -> Result<CustomFields, StoreError> {
    if definitions.is_empty() {
        return Ok(values.clone());
    }
    let write = if previous.is_some() {
        Write::Update
    } else {
        Write::Create
    };
    let checked = domain::fields::check_values(definitions, values.as_map(), previous, write)?;
    check_stored(conn, account_id, record_type, except, &checked)?;
    Ok(CustomFields::from_stored(checked.values))
}

/// The checks only the database can make: referenced team members and records exist, and no
/// other record holds a unique value.
fn check_stored(
    conn: &mut DbConnection,
    account_id: i64,
    record_type: FieldRecordType,
    except: &[i64],
    checked: &Checked,
) -> Result<(), StoreError> {
    let mut invalid = Invalid::default();
    for r in &checked.refs {
        let found: bool = match r.target {
            RefTarget::User => diesel::select(diesel::dsl::exists(
                users::table
                    .filter(users::account_id.eq(account_id))
                    .filter(users::id.eq(r.id)),
            ))
            .get_result(conn)?,
            RefTarget::Record(FieldRecordType::Company) => diesel::select(diesel::dsl::exists(
                companies::table
                    .filter(companies::account_id.eq(account_id))
                    .filter(companies::id.eq(r.id)),
            ))
            .get_result(conn)?,
            RefTarget::Record(FieldRecordType::Contact) => diesel::select(diesel::dsl::exists(
                contacts::table
                    .filter(contacts::account_id.eq(account_id))
                    .filter(contacts::id.eq(r.id)),
            ))
            .get_result(conn)?,
            RefTarget::Record(FieldRecordType::Project) => diesel::select(diesel::dsl::exists(
                projects::table
                    .filter(projects::account_id.eq(account_id))
                    .filter(projects::id.eq(r.id)),
            ))
            .get_result(conn)?,
        };
        if !found {
            let what = match r.target {
                RefTarget::User => "team member".to_owned(),
                RefTarget::Record(t) => t.as_str().to_owned(),
            };
            invalid.push(FieldError::new(
                r.field.clone(),
                "unknown_reference",
                format!("there is no {what} {} in this account", r.id),
            ));
        }
    }
    for u in &checked.unique {
        if let Some(other) = holder_of(conn, account_id, record_type, &u.key, &u.value, except)? {
            invalid.push(FieldError::new(
                u.field.clone(),
                "taken",
                format!(
                    "{} {other} already has this value, and the field is unique",
                    record_type.as_str()
                ),
            ));
        }
    }
    Ok(invalid.into_result()?)
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = BigInt)]
    id: i64,
}

/// Another record of the type that holds `value` under `key`, if one does.
fn holder_of(
    conn: &mut DbConnection,
    account_id: i64,
    record_type: FieldRecordType,
    key: &str,
    value: &Value,
    except: &[i64],
) -> Result<Option<i64>, StoreError> {
    let table = table_of(record_type);
    let backend = conn.backend();
    let mut sql = Prepared::new();
    sql.sql(&format!("SELECT id FROM {table} WHERE account_id = "))
        .bigint(account_id);
    match backend {
        Backend::Sqlite => sql
            .sql(" AND id NOT IN (SELECT value FROM json_each(")
            .ids(backend, except)
            .sql("))"),
        Backend::Postgres => sql.sql(" AND id <> ALL(").ids(backend, except).sql(")"),
    };
    match conn.backend() {
        // `json_extract` gives SQL values; `json_quote` turns them back into JSON text, which
        // compares with the value's own JSON text.
        Backend::Sqlite => {
            sql.sql(" AND json_quote(json_extract(custom_fields, '$.' || ")
                .text(key)
                .sql(")) = ")
                .text(&value.to_string());
        }
        Backend::Postgres => {
            sql.sql(" AND (custom_fields::jsonb -> ")
                .text(key)
                .sql(") = CAST(")
                .text(&value.to_string())
                .sql(" AS jsonb)");
        }
    }
    sql.sql(" LIMIT 1");
    let found: Vec<Id> = sql.load(conn)?;
    Ok(found.first().map(|r| r.id))
}
