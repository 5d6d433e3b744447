//! The values of lookup and rollup fields, computed when records are read and put into each
//! record's `custom_fields` under their keys. Nothing is stored: a value is as fresh as the
//! records it comes from, and no write fans out to the records that show it.
//!
//! Cost: a page of records (or one record) costs two statements whatever its size: the
//! account's field definitions, then one statement over the page's ids with one scalar
//! subquery per lookup or rollup field, each a search of an index (a referenced record by its
//! primary key; related records by `(account_id, company_id)`, `contacts_reports_to` or the
//! `custom_values` index of a custom record field). At most [`MAX_COMPUTED`] fields a record
//! type bounds the subqueries per row. Without such fields, the second statement is not run.
//!
//! [`MAX_COMPUTED`]: domain::computed::MAX_COMPUTED

use chrono::{NaiveDateTime, SecondsFormat};
use diesel::QueryableByName;
use diesel::sql_types::{BigInt, Text};
use domain::company::Company;
use domain::computed::{Computed, FieldRef, Lookup, Rollup, RollupFunction};
use domain::contact::Contact;
use domain::fields::{FieldDefinition, FieldRecordType, FieldType};
use domain::filter::Target;
use domain::listing::Page;
use domain::project::{Currency, Project, format_units};
use domain::roles::{Access, CUSTOM_PREFIX, FieldMask};
use serde_json::{Map, Value, json};

use crate::filter::{Column, Columns, Storage};
use crate::prepared::Prepared;
use crate::{Backend, DbConnection, StoreError};

/// A record whose answers carry computed values.
pub trait Computes {
    const TYPE: FieldRecordType;
    fn id(&self) -> i64;
    fn custom_fields_mut(&mut self) -> &mut Map<String, Value>;
}

impl Computes for Company {
    const TYPE: FieldRecordType = FieldRecordType::Company;
    fn id(&self) -> i64 {
        self.id
    }
    fn custom_fields_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.custom_fields
    }
}

impl Computes for Contact {
    const TYPE: FieldRecordType = FieldRecordType::Contact;
    fn id(&self) -> i64 {
        self.id
    }
    fn custom_fields_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.custom_fields
    }
}

impl Computes for Project {
    const TYPE: FieldRecordType = FieldRecordType::Project;
    fn id(&self) -> i64 {
        self.id
    }
    fn custom_fields_mut(&mut self) -> &mut Map<String, Value> {
        &mut self.custom_fields
    }
}

/// Puts the lookup and rollup values of `records` (one page, or one record) into their
/// `custom_fields`, except those `mask` hides: the field itself, or the field it shows or
/// aggregates (a lookup must not reveal what the role may not see).
pub fn fill<R: Computes>(
    conn: &mut DbConnection,
    account_id: i64,
    mask: &FieldMask,
    records: &mut [R],
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let definitions = crate::fields::all(conn, account_id)?;
    let fields: Vec<(&FieldDefinition, &Computed)> = definitions
        .iter()
        .filter(|d| d.record_type == R::TYPE && d.spec.field_type.is_computed())
        .filter_map(|d| d.spec.computed.as_ref().map(|c| (d, c)))
        .collect();
    if fields.is_empty() {
        return Ok(());
    }
    let visible: Vec<(&FieldDefinition, &Computed)> = fields
        .iter()
        .copied()
        .filter(|(d, c)| {
            let own = format!("{CUSTOM_PREFIX}{}", d.key);
            let source = match c {
                Computed::Lookup(l) => Some((l.target, l.field.name())),
                Computed::Rollup(r) => r.field.as_ref().map(|f| (r.record_type, f.name())),
            };
            mask.access(R::TYPE, &own) != Access::Hidden
                && source.is_none_or(|(t, f)| {
                    mask.access(FieldRecordType::of_target(t), &f) != Access::Hidden
                })
        })
        .collect();
    for record in records.iter_mut() {
        let custom = record.custom_fields_mut();
        for (d, _) in &fields {
            custom.remove(&d.key);
        }
    }
    if visible.is_empty() {
        return Ok(());
    }
    let backend = conn.backend();
    let this = R::TYPE.target();
    let mut sql = Prepared::new();
    sql.sql("SELECT o.id AS id, ");
    sql.sql(match backend {
        Backend::Sqlite => "json_array(",
        Backend::Postgres => "CAST(json_build_array(",
    });
    let now = chrono::Utc::now();
    let mut decoders = Vec::with_capacity(visible.len());
    for (i, (_, computed)) in visible.iter().enumerate() {
        if i > 0 {
            sql.sql(", ");
        }
        let built = match computed {
            Computed::Lookup(l) => lookup(&mut sql, backend, account_id, this, l),
            Computed::Rollup(r) => rollup(&mut sql, backend, account_id, &definitions, r, now),
        };
        decoders.push(built);
    }
    sql.sql(match backend {
        Backend::Sqlite => ") AS computed FROM ",
        Backend::Postgres => ") AS TEXT) AS computed FROM ",
    });
    let ids: Vec<i64> = records.iter().map(Computes::id).collect();
    sql.sql(columns_of(this).table)
        .sql(" o WHERE o.account_id = ")
        .bigint(account_id);
    match backend {
        Backend::Sqlite => sql
            .sql(" AND o.id IN (SELECT value FROM json_each(")
            .ids(backend, &ids)
            .sql("))"),
        Backend::Postgres => sql.sql(" AND o.id = ANY(").ids(backend, &ids).sql(")"),
    };
    let rows: Vec<Row> = sql.load(conn)?;
    for row in rows {
        let values: Vec<Value> = serde_json::from_str(&row.computed).unwrap_or_default();
        let Some(record) = records.iter_mut().find(|r| r.id() == row.id) else {
            continue;
        };
        let custom = record.custom_fields_mut();
        for (i, (def, _)) in visible.iter().enumerate() {
            let value = match (&decoders[i], values.get(i)) {
                (None, _) => Value::Null,
                (Some(d), Some(Value::String(s))) => d.read(Some(s)),
                (Some(d), Some(Value::Null) | None) => d.read(None),
                // SQLite may pass a custom field's JSON through as JSON rather than text.
                (Some(d), Some(other)) if d.decode == Decode::Json => other.clone(),
                (Some(d), Some(other)) => d.read(Some(&other.to_string())),
            };
            custom.insert(def.key.clone(), value);
        }
    }
    Ok(())
}

/// [`fill`] for one record answered.
pub fn fill_one<R: Computes>(
    conn: &mut DbConnection,
    account_id: i64,
    mask: &FieldMask,
    mut record: R,
) -> Result<R, StoreError> {
    fill(conn, account_id, mask, std::slice::from_mut(&mut record))?;
    Ok(record)
}

/// [`fill`] for a page of records.
pub fn fill_page<R: Computes>(
    conn: &mut DbConnection,
    account_id: i64,
    mask: &FieldMask,
    mut page: Page<R>,
) -> Result<Page<R>, StoreError> {
    fill(conn, account_id, mask, &mut page.items)?;
    Ok(page)
}

#[derive(QueryableByName)]
struct Row {
    #[diesel(sql_type = BigInt)]
    id: i64,
    #[diesel(sql_type = Text)]
    computed: String,
}

fn columns_of(target: Target) -> &'static Columns {
    match target {
        Target::Company => &crate::companies::FILTER_COLUMNS,
        Target::Contact => &crate::contacts::FILTER_COLUMNS,
        Target::Project => &crate::projects::FILTER_COLUMNS,
    }
}

/// A record table as a subquery reads it: a project with its phase (whose probability is the
/// project's when it has none of its own).
fn from_clause(target: Target) -> &'static str {
    match target {
        Target::Company => "companies",
        Target::Contact => "contacts",
        Target::Project => "projects LEFT JOIN phases ON phases.id = projects.phase_id",
    }
}

/// How the text a subquery gives turns into the answer's value.
#[derive(Debug, Clone, PartialEq)]
enum Decode {
    /// A custom field's JSON.
    Json,
    Text,
    Integer,
    Number,
    Bool,
    Timestamp,
    /// Ten-thousandths; `Some` the currency (every value in it), `None`: `"<units> <currency>"`.
    Money(Option<String>),
}

/// A computed value's decoder, and what a `sum` of nothing is (zero rather than null).
#[derive(Debug, Clone)]
struct Decoder {
    decode: Decode,
    zero_when_empty: bool,
}

impl Decoder {
    fn read(&self, raw: Option<&str>) -> Value {
        let raw = match raw {
            Some(raw) => raw,
            None if self.zero_when_empty => "0",
            None => return Value::Null,
        };
        match &self.decode {
            Decode::Json => serde_json::from_str(raw).unwrap_or(Value::Null),
            Decode::Text => Value::String(raw.to_owned()),
            Decode::Integer => raw.parse::<i64>().map_or(Value::Null, Value::from),
            Decode::Number => number(raw),
            Decode::Bool => Value::Bool(matches!(raw, "1" | "t" | "true")),
            Decode::Timestamp => timestamp(raw),
            Decode::Money(Some(currency)) => money(raw, currency),
            Decode::Money(None) => match raw.split_once(' ') {
                Some((units, currency)) => money(units, currency),
                None => Value::Null,
            },
        }
    }
}

fn number(raw: &str) -> Value {
    if let Ok(n) = raw.parse::<i64>() {
        return Value::from(n);
    }
    raw.parse::<f64>()
        .ok()
        .and_then(serde_json::Number::from_f64)
        .map_or(Value::Null, |n| {
            // An integral result (PostgreSQL's numeric sums end in `.0`s) reads as an integer.
            match n.as_f64() {
                #[allow(clippy::cast_possible_truncation)]
                Some(f) if f.fract() == 0.0 && f.abs() < 9e15 => Value::from(f as i64),
                _ => Value::Number(n),
            }
        })
}

fn timestamp(raw: &str) -> Value {
    ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(raw, f).ok())
        .map_or(Value::Null, |t| {
            Value::String(t.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true))
        })
}

/// Ten-thousandths (an average may have a fraction of one: it rounds) as a money value.
fn money(units: &str, currency: &str) -> Value {
    let units = match units.parse::<i128>() {
        Ok(units) => units,
        #[allow(clippy::cast_possible_truncation)]
        Err(_) => match units.parse::<f64>() {
            Ok(f) if f.is_finite() => f.round() as i128,
            _ => return Value::Null,
        },
    };
    json!({
        "amount": format_units(units, Currency::minor_digits(currency)),
        "currency": currency,
    })
}

/// Where a built-in field of `target` lives, as SQL over its unaliased table, and how its
/// text reads back.
fn builtin(target: Target, name: &str) -> Option<(String, Storage)> {
    let columns = columns_of(target);
    match (columns.column)(name)? {
        Column::Plain(column, storage) => Some((format!("{}.{column}", columns.table), storage)),
        // The lower-cased copy is for comparisons; show the address as written.
        Column::Lowered(_) => Some((format!("{}.{name}", columns.table), Storage::Text)),
        Column::Expr(sql, storage) => Some((sql.to_owned(), storage)),
        Column::Tags => None,
    }
}

fn decode_of(storage: Storage) -> Decode {
    match storage {
        Storage::Text | Storage::Date => Decode::Text,
        Storage::Int { scale: 0 } => Decode::Integer,
        Storage::Int { .. } => Decode::Number,
        Storage::Bool => Decode::Bool,
        Storage::Timestamp => Decode::Timestamp,
    }
}

/// `<table>.custom_fields` as JSON (PostgreSQL keeps it as text).
fn json_of(backend: Backend, table: &str) -> String {
    match backend {
        Backend::Sqlite => format!("{table}.custom_fields"),
        Backend::Postgres => format!("CAST({table}.custom_fields AS jsonb)"),
    }
}

/// A record id held by a custom record field of the outer record `o`, or NULL.
fn custom_id(sql: &mut Prepared, backend: Backend, key: &str) {
    match backend {
        Backend::Sqlite => {
            sql.sql("json_extract(o.custom_fields, '$.' || ")
                .text(key)
                .sql(")");
        }
        Backend::Postgres => {
            let json = json_of(backend, "o");
            sql.sql(&format!("CASE WHEN jsonb_typeof({json} -> "))
                .text(key)
                .sql(&format!(") = 'number' THEN CAST({json} ->> "))
                .text(key)
                .sql(" AS bigint) END");
        }
    }
}

/// `(SELECT <the field as text> FROM <target> WHERE <target>.id = <the reference>)`.
fn lookup(
    sql: &mut Prepared,
    backend: Backend,
    account_id: i64,
    this: Target,
    l: &Lookup,
) -> Option<Decoder> {
    let table = columns_of(l.target).table;
    let shown = match &l.field {
        FieldRef::Custom(key) => Some((None, Decode::Json, key.clone())),
        FieldRef::Builtin("value") if l.target == Target::Project => Some((
            Some("CAST(projects.value_units AS TEXT) || ' ' || projects.value_currency".to_owned()),
            Decode::Money(None),
            String::new(),
        )),
        FieldRef::Builtin(name) => builtin(l.target, name).map(|(expr, storage)| {
            (
                Some(format!("CAST({expr} AS TEXT)")),
                decode_of(storage),
                String::new(),
            )
        }),
    };
    let through = match &l.through {
        FieldRef::Builtin(name) => builtin(this, name)
            .map(|(column, _)| Some(column.replacen(columns_of(this).table, "o", 1))),
        FieldRef::Custom(_) => Some(None),
    };
    let (Some((expr, decode, key)), Some(through)) = (shown, through) else {
        sql.sql("CAST(NULL AS TEXT)");
        return None;
    };
    sql.sql("(SELECT ");
    match expr {
        Some(expr) => {
            sql.sql(&expr);
        }
        None => match backend {
            Backend::Sqlite => {
                sql.sql(&format!("{table}.custom_fields -> ('$.' || "))
                    .text(&key)
                    .sql(")");
            }
            Backend::Postgres => {
                sql.sql(&format!("CAST({} -> ", json_of(backend, table)))
                    .text(&key)
                    .sql(" AS TEXT)");
            }
        },
    }
    sql.sql(&format!(
        " FROM {} WHERE {table}.account_id = ",
        from_clause(l.target)
    ))
    .bigint(account_id)
    .sql(&format!(" AND {table}.id = "));
    match (&l.through, through) {
        (_, Some(column)) => {
            sql.sql(&column);
        }
        (FieldRef::Custom(key), None) => custom_id(sql, backend, key),
        (FieldRef::Builtin(_), None) => {
            sql.sql("NULL");
        }
    }
    sql.sql(")");
    Some(Decoder {
        decode,
        zero_when_empty: false,
    })
}

/// `(SELECT <function>(<field>) FROM <related> WHERE <its reference> = o.id AND <filter>)`.
fn rollup(
    sql: &mut Prepared,
    backend: Backend,
    account_id: i64,
    definitions: &[FieldDefinition],
    r: &Rollup,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<Decoder> {
    let related = FieldRecordType::of_target(r.record_type);
    let columns = columns_of(r.record_type);
    let table = columns.table;
    let of_related: Vec<FieldDefinition> = definitions
        .iter()
        .filter(|d| d.record_type == related)
        .cloned()
        .collect();
    // Parsed on every read: its relative dates (`last_30_days`) move with the clock. A filter
    // that no longer parses (a field it names was deleted) leaves the value null.
    let filter = match &r.filter {
        Some(raw) => {
            let parsed =
                domain::fields::parse_filter(&of_related, raw, "rollup.filter", r.record_type, now)
                    .ok()?;
            Some(crate::filter::compile(&parsed, account_id, columns).ok()?)
        }
        None => None,
    };
    let custom_type = |key: &str| {
        of_related
            .iter()
            .find(|d| d.key == key)
            .map(|d| (d.spec.field_type, d.spec.currency.clone()))
    };
    // The aggregated expression (binds of a custom field's key), its decoder, and the
    // condition on its currency.
    enum Agg {
        Column(String),
        CustomNumber(String),
        CustomText(String),
        CustomMoney(String),
    }
    let (agg, decode) = match (&r.function, &r.field) {
        (RollupFunction::Count, _) | (_, None) => (None, Decode::Integer),
        (_, Some(FieldRef::Builtin(name))) => {
            let (expr, storage) = builtin(r.record_type, name)?;
            let decode = match (storage, r.currency.as_ref()) {
                (Storage::Int { scale: 4 }, Some(c)) => Decode::Money(Some(c.clone())),
                (s, _) => decode_of(s),
            };
            let decode = match (decode, r.function) {
                (Decode::Integer, RollupFunction::Avg) => Decode::Number,
                (d, _) => d,
            };
            (Some(Agg::Column(expr)), decode)
        }
        (_, Some(FieldRef::Custom(key))) => match custom_type(key)? {
            (FieldType::Number, _) => (Some(Agg::CustomNumber(key.clone())), Decode::Number),
            (FieldType::Money, _) => (
                Some(Agg::CustomMoney(key.clone())),
                Decode::Money(Some(r.currency.clone()?)),
            ),
            (FieldType::Date | FieldType::DateTime, _) => {
                (Some(Agg::CustomText(key.clone())), Decode::Text)
            }
            _ => return None,
        },
    };
    let function = match r.function {
        RollupFunction::Count => "COUNT",
        RollupFunction::Sum => "SUM",
        RollupFunction::Min => "MIN",
        RollupFunction::Max => "MAX",
        RollupFunction::Avg => "AVG",
    };
    let json = json_of(backend, table);
    sql.sql("(SELECT CAST(");
    match &agg {
        None => {
            sql.sql("COUNT(*)");
        }
        Some(Agg::Column(expr)) => {
            sql.sql(&format!("{function}({expr})"));
        }
        Some(Agg::CustomNumber(key)) => {
            sql.sql(&format!("{function}("));
            match backend {
                Backend::Sqlite => {
                    sql.sql(&format!("json_extract({json}, '$.' || "))
                        .text(key)
                        .sql(")");
                }
                Backend::Postgres => {
                    sql.sql(&format!("CASE WHEN jsonb_typeof({json} -> "))
                        .text(key)
                        .sql(&format!(") = 'number' THEN CAST({json} ->> "))
                        .text(key)
                        .sql(" AS double precision) END");
                }
            }
            sql.sql(")");
        }
        Some(Agg::CustomText(key)) => {
            sql.sql(&format!("{function}("));
            match backend {
                Backend::Sqlite => sql.sql(&format!("json_extract({json}, '$.' || ")),
                Backend::Postgres => sql.sql(&format!("({json} ->> ")),
            };
            sql.text(key).sql("))");
        }
        Some(Agg::CustomMoney(key)) => {
            sql.sql(&format!("{function}("));
            match backend {
                Backend::Sqlite => {
                    sql.sql(&format!("CAST(ROUND(CAST(json_extract({json}, '$.' || "))
                        .text(key)
                        .sql(" || '.amount') AS REAL) * 10000) AS INTEGER)");
                }
                Backend::Postgres => {
                    sql.sql(&format!("CAST(CAST({json} -> "))
                        .text(key)
                        .sql(" ->> 'amount' AS numeric) * 10000 AS bigint)");
                }
            }
            sql.sql(")");
        }
    }
    sql.sql(&format!(
        " AS TEXT) FROM {} WHERE {table}.account_id = ",
        from_clause(r.record_type)
    ))
    .bigint(account_id)
    .sql(" AND ");
    match &r.through {
        FieldRef::Builtin(name) => {
            let (column, _) = builtin(r.record_type, name)?;
            sql.sql(&format!("{column} = o.id"));
        }
        FieldRef::Custom(key) => {
            sql.sql(&format!(
                "{table}.id IN (SELECT custom_values.record_id FROM custom_values WHERE custom_values.account_id = "
            ))
            .bigint(account_id)
            .sql(" AND custom_values.record_type = ")
            .text(related.as_str())
            .sql(" AND custom_values.field_key = ")
            .text(key)
            .sql(match backend {
                Backend::Sqlite => " AND custom_values.value_number = o.id)",
                Backend::Postgres => {
                    " AND custom_values.value_number = CAST(o.id AS DOUBLE PRECISION))"
                }
            });
        }
    }
    if let Some(currency) = &r.currency {
        match (&agg, backend) {
            (Some(Agg::Column(_)), _) => {
                // The built-in money field: a project's value, in its own currency column.
                sql.sql(&format!(" AND {table}.value_currency = "))
                    .text(currency);
            }
            (Some(Agg::CustomMoney(key)), Backend::Sqlite) => {
                sql.sql(&format!(" AND json_extract({json}, '$.' || "))
                    .text(key)
                    .sql(" || '.currency') = ")
                    .text(currency);
            }
            (Some(Agg::CustomMoney(key)), Backend::Postgres) => {
                sql.sql(&format!(" AND ({json} -> "))
                    .text(key)
                    .sql(" ->> 'currency') = ")
                    .text(currency);
            }
            _ => {}
        }
    }
    if let Some(filter) = filter {
        sql.sql(" AND ").filter(filter);
    }
    sql.sql(")");
    Some(Decoder {
        decode,
        zero_when_empty: r.function == RollupFunction::Sum,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_read_back_from_either_backend() {
        let money = Decoder {
            decode: Decode::Money(Some("EUR".into())),
            zero_when_empty: true,
        };
        assert_eq!(
            money.read(None),
            json!({"amount": "0.00", "currency": "EUR"})
        );
        assert_eq!(
            money.read(Some("125000000")),
            json!({"amount": "12500.00", "currency": "EUR"})
        );
        assert_eq!(
            money.read(Some("125000000.6666")),
            json!({"amount": "12500.0001", "currency": "EUR"})
        );
        assert_eq!(number("150"), json!(150));
        assert_eq!(number("37.5000000000000000"), json!(37.5));
        assert_eq!(number("40.0000"), json!(40));
        assert_eq!(
            timestamp("2026-12-07 10:00:00.5"),
            json!("2026-12-07T10:00:00.500Z")
        );
        assert_eq!(
            timestamp("2026-12-07 10:00:00"),
            json!("2026-12-07T10:00:00Z")
        );
    }
}
