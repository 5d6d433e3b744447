//! `/v1/fields`: the account's typed custom fields; `/v1/schema/{record_type}`: a record
//! type's JSON Schema with them, for clients that build forms.

use actix_web::{HttpResponse, web};
use domain::FieldError;
use domain::access::{Resource, Scope};
use domain::fields::FieldRecordType;
use domain::roles::{Access, CUSTOM_PREFIX};
use persistence::fields;
use serde_json::{Map, Value, json};

use super::{created, paging, path_id, record};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, Caller, IfMatch, Query, encode_cursor};
use crate::record_schemas::RecordSchemas;
use crate::state::AppState;
use crate::wire::fields::{Context, FieldCreate, FieldList, FieldListQuery, FieldOut, FieldUpdate};

const READ: Scope = Scope::Read(Resource::Fields);
const WRITE: Scope = Scope::Write(Resource::Fields);

fn record_type(raw: &str, field: &str) -> Result<FieldRecordType, ApiError> {
    FieldRecordType::parse(raw).map_err(|e| {
        ApiError::BadRequest(
            format!("`{field}` {}", e.message),
            vec![FieldError::new(field, e.code, e.message)],
        )
    })
}

/// List field definitions
///
/// In id order; `record_type` narrows to one record type's fields.
#[utoipa::path(
    operation_id = "listFields", get, path = "/v1/fields", tag = "fields",
    params(FieldListQuery),
    responses(
        (status = 200, description = "A page of field definitions", body = FieldList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["fields:read"]))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<FieldListQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let q = query.0;
    let (size, _, after) = paging(q.limit, None, q.cursor.as_deref())?;
    let only = q
        .record_type
        .as_deref()
        .map(|t| record_type(t, "record_type"))
        .transpose()?;
    let account = caller.account_id();
    let page = state
        .run(move |conn| fields::list(conn, account, only, size, after.as_ref()))
        .await?;
    Ok(HttpResponse::Ok().json(FieldList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page.items.into_iter().map(FieldOut::from).collect(),
    }))
}

/// Define a field
///
/// Records that already hold values under the key must fit the new definition (409 with
/// their count otherwise; for a lookup or rollup, no record may hold a value under it).
/// A lookup or rollup configuration is checked against the account's fields: 422 names
/// what to fix under `lookup.*` or `rollup.*`.
#[utoipa::path(
    operation_id = "createField", post, path = "/v1/fields", tag = "fields",
    request_body = FieldCreate,
    responses(
        (status = 201, description = "The field was defined", body = FieldOut,
         headers(("ETag" = String, description = "The version as an entity tag"), ("Location" = String))),
        (status = 409, description = "Values records hold under the key do not fit, or the record type has its maximum of fields", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The definition is invalid: `errors` names each part to fix (`lookup.through`, `rollup.field`, `rollup.filter.and[0].value`, ...)", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["fields:write"]))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<FieldCreate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let field = state
        .run(move |conn| {
            // A lookup or rollup resolves its references against the account's fields.
            let definitions = fields::all(conn, account)?;
            let cx = Context {
                definitions: &definitions,
                now: chrono::Utc::now(),
            };
            let (record_type, key, spec) = body.0.into_parts(&cx)?;
            fields::create(conn, account, record_type, &key, &spec, &outbox)
        })
        .await?;
    Ok(created(
        format!("/v1/fields/{}", field.id),
        field.version,
        FieldOut::from(field),
    ))
}

/// Get a field definition
#[utoipa::path(
    operation_id = "getField", get, path = "/v1/fields/{id}", tag = "fields",
    params(("id" = i64, Path, description = "The field's id")),
    responses(
        (status = 200, description = "The field", body = FieldOut, headers(("ETag" = String))),
    ),
    security(("bearer" = ["fields:read"]))
)]
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let id = path_id(&id)?;
    let account = caller.account_id();
    let field = state
        .run(move |conn| fields::get(conn, account, id))
        .await?;
    Ok(record(field.version, FieldOut::from(field)))
}

/// Update a field definition
///
/// The key and record type never change. A change of type, options or bounds is refused
/// (409, with the count) when values records hold do not fit it; archive an option rather
/// than remove it.
#[utoipa::path(
    operation_id = "updateField", patch, path = "/v1/fields/{id}", tag = "fields",
    params(
        ("id" = i64, Path, description = "The field's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the field has changed since"),
    ),
    request_body = FieldUpdate,
    responses(
        (status = 200, description = "The updated field", body = FieldOut, headers(("ETag" = String))),
        (status = 409, description = "Values records hold do not fit the changed definition", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "The changed definition is invalid: `errors` names each part to fix", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The field changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["fields:write"]))
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Body<FieldUpdate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let change = body.0;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let field = state
        .run(move |conn| {
            // The key and record type never change, so they are read before the lock.
            let current = fields::get(conn, account, id)?;
            let definitions = fields::all(conn, account)?;
            let cx = Context {
                definitions: &definitions,
                now: chrono::Utc::now(),
            };
            fields::update(
                conn,
                account,
                id,
                if_match.0,
                |spec| change.apply(spec, &cx, current.record_type, &current.key),
                &outbox,
            )
        })
        .await?;
    Ok(record(field.version, FieldOut::from(field)))
}

/// Delete a field definition
///
/// The values records hold under its key stay, untyped. A field that lookup or rollup fields
/// compute from (through it, showing it, aggregating it or filtering on it) is not deleted
/// while they exist: 409 naming them.
#[utoipa::path(
    operation_id = "deleteField", delete, path = "/v1/fields/{id}", tag = "fields",
    params(
        ("id" = i64, Path, description = "The field's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the field has changed since"),
    ),
    responses(
        (status = 204, description = "The field was deleted"),
        (status = 409, description = "Lookup or rollup fields compute from this field (`conflict`, naming them in `detail`): delete or change them first", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "The field changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["fields:write"]))
)]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    state
        .run(move |conn| fields::delete(conn, account, id, if_match.0, &outbox))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A record type's JSON Schema
///
/// The JSON Schema (draft 2020-12) of the body that creates a record of the type, with the
/// account's custom fields typed under `custom_fields`: titles, descriptions, enums of the
/// active options, bounds, defaults and which are required. `x-options` lists every option
/// with its label (archived ones too), `x-group` the form heading. Lookup and rollup fields
/// are `readOnly`, typed as what they compute (`x-field-type` says which, `x-lookup` or
/// `x-rollup` from what).
#[utoipa::path(
    operation_id = "getRecordSchema", get, path = "/v1/schema/{record_type}", tag = "fields",
    params(("record_type" = String, Path, description = "company, contact or project")),
    responses(
        (status = 200, description = "The JSON Schema", body = Object, content_type = "application/schema+json"),
    ),
    security(("bearer" = ["fields:read"]))
)]
pub async fn schema(
    state: web::Data<AppState>,
    bases: web::Data<RecordSchemas>,
    caller: Caller,
    path: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let record_type = FieldRecordType::parse(&path).map_err(|_| ApiError::NotFound)?;
    let account = caller.account_id();
    // Every type's: lookups and rollups are typed by the fields they compute from.
    let definitions = state.run(move |conn| fields::all(conn, account)).await?;
    // The caller's field-level security: hidden fields are left out, read-only ones marked.
    let mask = caller.0.field_mask();
    let mut custom = Map::new();
    let mut required = Vec::new();
    for def in definitions.iter().filter(|d| d.record_type == record_type) {
        let access = mask.access(record_type, &format!("{CUSTOM_PREFIX}{}", def.key));
        if access == Access::Hidden {
            continue;
        }
        let mut schema = domain::fields::value_schema(def, &definitions);
        if access == Access::Read {
            schema["readOnly"] = Value::Bool(true);
        }
        custom.insert(def.key.clone(), schema);
        if def.spec.required && def.spec.default.is_none() && !def.spec.field_type.is_computed() {
            required.push(Value::String(def.key.clone()));
        }
    }
    let mut document = bases.of(record_type).clone();
    for field in domain::roles::builtin_fields(record_type) {
        match mask.access(record_type, field) {
            Access::Hidden => {
                if let Some(properties) = document["properties"].as_object_mut() {
                    properties.remove(*field);
                }
                if let Some(list) = document["required"].as_array_mut() {
                    list.retain(|r| r != field);
                }
            }
            Access::Read => {
                if let Some(property) = document["properties"].get_mut(*field) {
                    property["readOnly"] = Value::Bool(true);
                }
            }
            Access::Write => {}
        }
    }
    document["$id"] = Value::String(format!("/v1/schema/{}", record_type.as_str()));
    document["properties"]["custom_fields"] = json!({
        "type": "object",
        "description": "The account's custom fields; keys without a definition are kept as written.",
        "properties": custom,
        "required": required,
        "additionalProperties": true,
    });
    if !required.is_empty() {
        let list = document["required"].as_array_mut();
        match list {
            Some(list) => list.push(Value::String("custom_fields".into())),
            None => document["required"] = json!(["custom_fields"]),
        }
    }
    Ok(HttpResponse::Ok()
        .content_type("application/schema+json")
        .json(document))
}
