//! Bounds the transport and the wire types already set, written into every schema that states
//! none, so that readers, generators and linters (Spectral's OWASP rules) see them:
//!
//! - an integer without a `format` is an `int64`, and is bounded by that type;
//! - a string in a response header is bounded by the header fields' limit (query parameters
//!   keep their own bounds: the request target's limit counts bytes after percent-encoding,
//!   which a `maxLength` in characters cannot state);
//! - a page's `data` holds at most the largest page;
//! - every `/v1` answer may carry `Access-Control-Allow-Origin`, which the CORS middleware sets
//!   for a JavaScript token called from one of its origins.
//!
//! Bounds the code states itself (a name's `maxLength`, `limit`'s maximum) are kept.

use serde_json::{Value, json};

use crate::middleware::MAX_HEADER_BYTES;

/// Adds the bounds to `document` (an OpenAPI 3.1 document as JSON).
pub fn add(document: &mut Value) {
    if let Some(schemas) = document
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for (name, schema) in schemas.iter_mut() {
            if name.ends_with("List")
                && let Some(data) = schema.pointer_mut("/properties/data")
            {
                bound_array(data, usize::from(domain::listing::PageSize::MAX));
            }
            walk(schema, &mut bound_integer);
        }
    }
    let Some(paths) = document.get_mut("paths").and_then(Value::as_object_mut) else {
        return;
    };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else {
            continue;
        };
        for operation in item.values_mut().filter_map(Value::as_object_mut) {
            for parameter in operation
                .get_mut("parameters")
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                if let Some(schema) = parameter.get_mut("schema") {
                    walk(schema, &mut bound_integer);
                }
            }
            for body in ["requestBody", "responses"] {
                if let Some(part) = operation.get_mut(body) {
                    walk_inline_schemas(part);
                }
            }
            let Some(responses) = operation
                .get_mut("responses")
                .and_then(Value::as_object_mut)
            else {
                continue;
            };
            for response in responses.values_mut() {
                let Some(response) = response.as_object_mut() else {
                    continue;
                };
                let headers = response.entry("headers").or_insert_with(|| json!({}));
                if path.starts_with("/v1/") {
                    headers["Access-Control-Allow-Origin"] = json!({
                        "description": "The page's origin, when a JavaScript token is used from one of its `allowed_origins`",
                        "schema": {"type": "string", "format": "uri"},
                    });
                }
                for header in headers
                    .as_object_mut()
                    .into_iter()
                    .flat_map(|h| h.values_mut())
                {
                    if let Some(schema) = header.get_mut("schema") {
                        bound_string(schema, MAX_HEADER_BYTES);
                        bound_integer(schema);
                    }
                }
                if headers.as_object().is_some_and(serde_json::Map::is_empty) {
                    response.remove("headers");
                }
            }
        }
    }
}

/// Integers in the bodies' inline schemas (the components are done once).
fn walk_inline_schemas(part: &mut Value) {
    if let Some(content) = part.get_mut("content").and_then(Value::as_object_mut) {
        for media in content.values_mut() {
            if let Some(schema) = media.get_mut("schema") {
                walk(schema, &mut bound_integer);
            }
        }
    }
    if let Some(responses) = part.as_object_mut() {
        for response in responses.values_mut() {
            if let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) {
                for media in content.values_mut() {
                    if let Some(schema) = media.get_mut("schema") {
                        walk(schema, &mut bound_integer);
                    }
                }
            }
        }
    }
}

/// Calls `f` on `schema` and on every schema inside it.
fn walk(schema: &mut Value, f: &mut impl FnMut(&mut Value)) {
    f(schema);
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    for key in ["items", "additionalProperties", "not"] {
        if let Some(inner) = object.get_mut(key).filter(|v| v.is_object()) {
            walk(inner, f);
        }
    }
    if let Some(properties) = object.get_mut("properties").and_then(Value::as_object_mut) {
        for inner in properties.values_mut() {
            walk(inner, f);
        }
    }
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(parts) = object.get_mut(key).and_then(Value::as_array_mut) {
            for inner in parts {
                walk(inner, f);
            }
        }
    }
}

fn has_type(schema: &Value, name: &str) -> bool {
    match schema.get("type") {
        Some(Value::String(t)) => t == name,
        Some(Value::Array(types)) => types.iter().any(|t| t == name),
        _ => false,
    }
}

fn bound_integer(schema: &mut Value) {
    if !has_type(schema, "integer") {
        return;
    }
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    object.entry("format").or_insert_with(|| json!("int64"));
    let int32 = object.get("format") == Some(&json!("int32"));
    let (min, max) = if int32 {
        (i64::from(i32::MIN), i64::from(i32::MAX))
    } else {
        (i64::MIN, i64::MAX)
    };
    if !object.contains_key("minimum") && !object.contains_key("exclusiveMinimum") {
        object.insert("minimum".into(), json!(min));
    }
    if !object.contains_key("maximum") && !object.contains_key("exclusiveMaximum") {
        object.insert("maximum".into(), json!(max));
    }
}

fn bound_string(schema: &mut Value, limit: usize) {
    if !has_type(schema, "string") {
        return;
    }
    let Some(object) = schema.as_object_mut() else {
        return;
    };
    if !["maxLength", "enum", "const"]
        .iter()
        .any(|k| object.contains_key(*k))
    {
        object.insert("maxLength".into(), json!(limit));
    }
}

fn bound_array(schema: &mut Value, limit: usize) {
    if has_type(schema, "array")
        && let Some(object) = schema.as_object_mut()
    {
        object.entry("maxItems").or_insert_with(|| json!(limit));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_get_their_format_and_its_bounds_unless_they_have_their_own() {
        let mut schema = json!({"type": "object", "properties": {
            "id": {"type": "integer"},
            "limit": {"type": "integer", "format": "int32", "minimum": 1, "maximum": 200},
            "maybe": {"type": ["integer", "null"]},
        }});
        walk(&mut schema, &mut bound_integer);
        assert_eq!(schema["properties"]["id"]["format"], "int64");
        assert_eq!(schema["properties"]["id"]["maximum"], i64::MAX);
        assert_eq!(schema["properties"]["limit"]["maximum"], 200);
        assert_eq!(schema["properties"]["maybe"]["minimum"], i64::MIN);
    }

    #[test]
    fn every_v1_answer_documents_its_headers_bounded() {
        let document = crate::openapi::document();
        let ok = &document["paths"]["/v1/companies"]["get"]["responses"]["200"]["headers"];
        assert_eq!(ok["Access-Control-Allow-Origin"]["schema"]["format"], "uri");
        assert_eq!(
            ok["RateLimit"]["schema"]["maxLength"],
            json!(MAX_HEADER_BYTES)
        );
        let list = &document["components"]["schemas"]["CompanyList"]["properties"]["data"];
        assert_eq!(list["maxItems"], 200);
        let health = &document["paths"]["/healthz"]["get"]["responses"]["200"];
        assert!(
            health
                .pointer("/headers/Access-Control-Allow-Origin")
                .is_none()
        );
    }
}
