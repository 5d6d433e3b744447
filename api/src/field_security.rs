//! Field-level security on the wire, in one place for every route of companies, contacts and
//! projects and for every route that shows events (the events feed, the news feed,
//! timelines): a middleware that refuses writes of fields the caller's role may only read
//! (403 naming them, in an enquiry's conversion too), list filters and sorts on hidden
//! built-in fields (400 naming the parameter), and takes hidden fields out of the JSON
//! answered. Handlers know nothing of it.
//! Webhook deliveries are masked with [`mask_event`] when they are sent.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::Method;
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse};
use domain::FieldError;
use domain::fields::FieldRecordType;
use domain::roles::{Access, FieldMask};
use serde_json::{Map, Value};

use crate::error::ApiError;
use crate::extract::{Caller, body_limit, declared_length, read_limited};

/// What a route answers and takes, as far as field security goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route {
    /// A list of records: its query may filter and sort; its body is `{data: [...]}`.
    List(FieldRecordType),
    /// One record is written (create, update): its body is checked.
    Write(FieldRecordType),
    /// Rows of records are imported: each is checked.
    Import(FieldRecordType),
    /// An enquiry is converted: its new `company`, `contact` and `project` are checked.
    Convert,
    /// One record is answered (get, merge).
    Record(FieldRecordType),
    /// A stage move answers `{transition, <key>: record}`.
    Move(FieldRecordType),
    /// Events, or news feed entries shaped as events.
    Events,
    /// A list's members: `{record_type, data: [...]}`.
    Members,
    /// A pipeline's board: `{record_type, columns: [{cards: [...], values}]}`.
    Board,
}

fn record_type_of(segment: &str) -> Option<FieldRecordType> {
    match segment {
        "companies" => Some(FieldRecordType::Company),
        "contacts" => Some(FieldRecordType::Contact),
        "projects" => Some(FieldRecordType::Project),
        _ => None,
    }
}

fn classify(method: &Method, path: &str) -> Option<Route> {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let (get, post, patch) = (
        method == Method::GET,
        method == Method::POST,
        method == Method::PATCH,
    );
    match parts.as_slice() {
        ["v1", "events"] | ["v1", "events", _] | ["v1", "feed"] if get => Some(Route::Events),
        ["v1", _, _, "timeline"] if get => Some(Route::Events),
        ["v1", "companies", _, "projects"] if get => Some(Route::List(FieldRecordType::Project)),
        ["v1", records] => {
            let t = record_type_of(records)?;
            match (get, post) {
                (true, _) => Some(Route::List(t)),
                (_, true) => Some(Route::Write(t)),
                _ => None,
            }
        }
        ["v1", records, "import"] if post => record_type_of(records).map(Route::Import),
        ["v1", "enquiries", _, "convert"] if post => Some(Route::Convert),
        // A query's body is a filter (checked by its route); its answer a page of records.
        ["v1", records, "query"] if post => record_type_of(records).map(Route::List),
        ["v1", "lists", _, "members"] if get => Some(Route::Members),
        ["v1", "pipelines", _, "board"] if get => Some(Route::Board),
        ["v1", records, _] => {
            let t = record_type_of(records)?;
            if get {
                Some(Route::Record(t))
            } else if patch {
                Some(Route::Write(t))
            } else {
                None
            }
        }
        ["v1", records, _, "merge"] if post => record_type_of(records).map(Route::Record),
        ["v1", records, _, "transitions"] if post => record_type_of(records).map(Route::Move),
        _ => None,
    }
}

/// The middleware.
pub async fn middleware(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let Some(route) = classify(req.method(), req.path()) else {
        return next
            .call(req)
            .await
            .map(ServiceResponse::map_into_boxed_body);
    };
    let known = req.extensions().get::<Caller>().cloned();
    let caller = match known {
        Some(caller) => caller,
        // The handler answers 401 itself.
        None => match Caller::authenticate(req.request()).await {
            Ok(caller) => {
                req.extensions_mut().insert(caller.clone());
                caller
            }
            Err(_) => {
                return next
                    .call(req)
                    .await
                    .map(ServiceResponse::map_into_boxed_body);
            }
        },
    };
    let mask = caller.0.field_mask();
    let checks_body = match route {
        Route::Write(t) | Route::Import(t) => mask.limits_writes(t),
        Route::Convert => FieldRecordType::ALL
            .into_iter()
            .any(|t| mask.limits_writes(t)),
        _ => false,
    };
    let refused = if let Route::List(t) = route {
        check_query(&mask, t, req.query_string())
    } else if checks_body {
        let limit = body_limit(req.request());
        let declared = declared_length(req.headers());
        let payload = req.parts_mut().1.take();
        let bytes = match read_limited(declared, payload, limit).await {
            Ok(bytes) => bytes,
            Err(e) => return Ok(req.error_response(e)),
        };
        let refused = match route {
            Route::Import(t) => check_import(&mask, t, &bytes),
            Route::Write(t) => check_write(&mask, t, &bytes),
            _ => check_conversion(&mask, &bytes),
        };
        req.set_payload(Payload::from(bytes));
        refused
    } else {
        Ok(())
    };
    if let Err(e) = refused {
        return Ok(req.error_response(e));
    }
    let masks_response = match route {
        Route::List(t) | Route::Record(t) | Route::Move(t) | Route::Write(t) => mask.hides_any(t),
        Route::Events | Route::Members | Route::Board => {
            FieldRecordType::ALL.into_iter().any(|t| mask.hides_any(t))
        }
        Route::Import(_) | Route::Convert => false,
    };
    let response = next.call(req).await?;
    if !masks_response || !response.status().is_success() {
        return Ok(response.map_into_boxed_body());
    }
    let (request, response) = response.into_parts();
    let (head, body) = response.into_parts();
    let Ok(bytes) = actix_web::body::to_bytes(body).await else {
        let failed = ApiError::Internal("a response body could not be read to mask it".into());
        return Ok(ServiceResponse::new(
            request,
            HttpResponse::from_error(failed),
        ));
    };
    let body = match serde_json::from_slice::<Value>(&bytes) {
        Ok(mut value) => {
            mask_body(&mask, route, &mut value);
            serde_json::to_vec(&value).unwrap_or_else(|_| bytes.to_vec())
        }
        Err(_) => bytes.to_vec(),
    };
    Ok(ServiceResponse::new(
        request,
        head.set_body(BoxBody::new(body)),
    ))
}

fn mask_body(mask: &FieldMask, route: Route, value: &mut Value) {
    let record = |t: FieldRecordType, v: &mut Value| {
        if let Value::Object(map) = v {
            mask.hide(t, map);
        }
    };
    match route {
        Route::List(t) => {
            if let Some(Value::Array(items)) = value.get_mut("data") {
                items.iter_mut().for_each(|item| record(t, item));
            }
        }
        Route::Record(t) | Route::Write(t) => record(t, value),
        Route::Move(t) => {
            let key = match t {
                FieldRecordType::Company => "company",
                FieldRecordType::Contact => "contact",
                FieldRecordType::Project => "project",
            };
            if let Some(inner) = value.get_mut(key) {
                record(t, inner);
            }
        }
        Route::Events => match value.get_mut("data") {
            Some(Value::Array(items)) => items.iter_mut().for_each(|e| mask_event(mask, e)),
            _ => mask_event(mask, value),
        },
        Route::Members => {
            let t = value["record_type"]
                .as_str()
                .and_then(|t| FieldRecordType::parse(t).ok());
            if let (Some(t), Some(Value::Array(items))) = (t, value.get_mut("data")) {
                items.iter_mut().for_each(|item| record(t, item));
            }
        }
        Route::Board => {
            let t = value["record_type"]
                .as_str()
                .and_then(|t| FieldRecordType::parse(t).ok());
            if let (Some(t), Some(Value::Array(columns))) = (t, value.get_mut("columns")) {
                columns
                    .iter_mut()
                    .for_each(|column| mask_column(mask, t, column));
            }
        }
        Route::Import(_) | Route::Convert => {}
    }
}

/// Takes hidden fields out of a board column's cards, with what shows them another way (an
/// owner's name, a company's name, the column's sums of a hidden value).
fn mask_column(mask: &FieldMask, t: FieldRecordType, column: &mut Value) {
    if let Some(Value::Array(cards)) = column.get_mut("cards") {
        for card in cards {
            let Value::Object(map) = card else { continue };
            mask.hide(t, map);
            for (field, shown_by) in [("owner_id", "owner_name"), ("company_id", "company_name")] {
                if !map.contains_key(field) {
                    map.remove(shown_by);
                }
            }
        }
    }
    // A project's hidden value is hidden in the column's sums too.
    let mut probe = Map::new();
    probe.insert("value".into(), Value::Null);
    mask.hide(t, &mut probe);
    if t == FieldRecordType::Project
        && probe.is_empty()
        && let Value::Object(map) = column
    {
        map.remove("values");
    }
}

/// Takes the fields `mask` hides out of one event as the API shows it (`data.object` and
/// `data.previous` of a company, contact or project event): for the events feed, the news
/// feed, timelines and webhook deliveries.
pub fn mask_event(mask: &FieldMask, event: &mut Value) {
    let Some(t) = event["record"]["type"]
        .as_str()
        .and_then(|t| FieldRecordType::parse(t).ok())
    else {
        return;
    };
    if let Some(data) = event.get_mut("data") {
        for key in ["object", "previous"] {
            if let Some(Value::Object(map)) = data.get_mut(key) {
                mask.hide(t, map);
            }
        }
    }
}

/// The fields a list's query parameters filter or sort on, beyond a parameter named as a
/// field itself.
fn query_fields(
    t: FieldRecordType,
    name: &str,
    value: &str,
) -> Vec<(FieldRecordType, &'static str)> {
    use FieldRecordType::*;
    let mut fields: Vec<(FieldRecordType, &'static str)> = match (t, name) {
        (Company, "q") => vec![(Company, "name"), (Company, "domain"), (Company, "email")],
        (Contact, "q") => vec![
            (Contact, "first_name"),
            (Contact, "last_name"),
            (Contact, "email"),
        ],
        (Project, "q") => vec![(Project, "name")],
        (_, "tag") => vec![(t, "tags")],
        // A contact list's `industry` is its company's.
        (Contact, "industry") => vec![(Company, "industry")],
        (Project, "expected_finish_before" | "expected_finish_after") => {
            vec![(Project, "expected_finish_date")]
        }
        (Project, "value_min" | "value_max" | "currency") => vec![(Project, "value")],
        (_, "sort") => match (t, value.trim_start_matches('-')) {
            (Contact, "name") => vec![(Contact, "first_name"), (Contact, "last_name")],
            (_, key) => domain::roles::builtin_fields(t)
                .iter()
                .filter(|f| **f == key)
                .map(|f| (t, *f))
                .collect(),
        },
        _ => Vec::new(),
    };
    fields.extend(
        domain::roles::builtin_fields(t)
            .iter()
            .filter(|f| **f == name)
            .map(|f| (t, *f)),
    );
    fields
}

/// Refuses a list query that filters or sorts on a field hidden from the caller, naming the
/// parameter.
fn check_query(mask: &FieldMask, t: FieldRecordType, query: &str) -> Result<(), ApiError> {
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        for (record_type, field) in query_fields(t, &name, &value) {
            if mask.access(record_type, field) == Access::Hidden {
                let message = format!(
                    "filters or sorts on the {} field `{field}`, which your role may not see",
                    record_type.as_str()
                );
                return Err(ApiError::BadRequest(
                    format!("query parameter `{name}` {message}"),
                    vec![FieldError::new(name.as_ref(), "hidden_field", message)],
                ));
            }
        }
    }
    Ok(())
}

fn refuse(errors: Vec<FieldError>) -> Result<(), ApiError> {
    if errors.is_empty() {
        Ok(())
    } else {
        Err(ApiError::FieldForbidden(errors))
    }
}

/// Refuses a create or update body that writes a field the caller may not write. A body
/// that is not a JSON object is left to the handler to refuse.
fn check_write(mask: &FieldMask, t: FieldRecordType, bytes: &[u8]) -> Result<(), ApiError> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(body)) => refuse(mask.refused_writes(t, &body)),
        _ => Ok(()),
    }
}

/// Refuses an enquiry's conversion whose new company, contact or project writes a field the
/// caller may not write, naming it under its key (`company.industry`).
fn check_conversion(mask: &FieldMask, bytes: &[u8]) -> Result<(), ApiError> {
    let Ok(Value::Object(body)) = serde_json::from_slice::<Value>(bytes) else {
        return Ok(());
    };
    let mut errors = Vec::new();
    for (key, t) in [
        ("company", FieldRecordType::Company),
        ("contact", FieldRecordType::Contact),
        ("project", FieldRecordType::Project),
    ] {
        if let Some(Value::Object(record)) = body.get(key) {
            errors.extend(
                mask.refused_writes(t, record)
                    .into_iter()
                    .map(|e| FieldError::new(format!("{key}.{}", e.field), e.code, e.message)),
            );
        }
    }
    refuse(errors)
}

/// Refuses an import whose rows (a JSON array) or CSV columns write a field the caller may
/// not write, naming the first row or the column.
fn check_import(mask: &FieldMask, t: FieldRecordType, bytes: &[u8]) -> Result<(), ApiError> {
    if let Ok(Value::Array(rows)) = serde_json::from_slice::<Value>(bytes) {
        for (i, row) in rows.iter().enumerate() {
            if let Value::Object(row) = row {
                let errors = mask.refused_writes(t, row);
                if !errors.is_empty() {
                    return refuse(
                        errors
                            .into_iter()
                            .map(|e| {
                                FieldError::new(format!("[{i}].{}", e.field), e.code, e.message)
                            })
                            .collect(),
                    );
                }
            }
        }
        return Ok(());
    }
    // CSV: the header line names the fields (`custom_fields.<key>`, `value.amount`).
    let text = String::from_utf8_lossy(bytes);
    let Some(header) = text.lines().next() else {
        return Ok(());
    };
    let mut columns = Map::new();
    let mut custom = Map::new();
    for column in header.split(',') {
        let column = column.trim().trim_matches('"');
        match column.strip_prefix(domain::roles::CUSTOM_PREFIX) {
            Some(key) => {
                custom.insert(key.to_owned(), Value::Null);
            }
            None => {
                let field = column.split('.').next().unwrap_or(column);
                columns.insert(field.to_owned(), Value::Null);
            }
        }
    }
    if !custom.is_empty() {
        columns.insert("custom_fields".to_owned(), Value::Object(custom));
    }
    refuse(mask.refused_writes(t, &columns))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_are_classified_by_method_and_path() {
        use FieldRecordType::*;
        assert_eq!(
            classify(&Method::GET, "/v1/companies"),
            Some(Route::List(Company))
        );
        assert_eq!(
            classify(&Method::POST, "/v1/contacts"),
            Some(Route::Write(Contact))
        );
        assert_eq!(
            classify(&Method::PATCH, "/v1/projects/3"),
            Some(Route::Write(Project))
        );
        assert_eq!(
            classify(&Method::GET, "/v1/projects/3"),
            Some(Route::Record(Project))
        );
        assert_eq!(classify(&Method::DELETE, "/v1/projects/3"), None);
        assert_eq!(
            classify(&Method::GET, "/v1/companies/3/projects"),
            Some(Route::List(Project))
        );
        assert_eq!(
            classify(&Method::GET, "/v1/tasks/3/timeline"),
            Some(Route::Events)
        );
        assert_eq!(
            classify(&Method::POST, "/v1/companies/import"),
            Some(Route::Import(Company))
        );
        assert_eq!(
            classify(&Method::POST, "/v1/enquiries/3/convert"),
            Some(Route::Convert)
        );
        assert_eq!(classify(&Method::GET, "/v1/tasks"), None);
    }
}
