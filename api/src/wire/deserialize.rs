//! Deserializing JSON into the wire types, with every failure reported as a field error that
//! names the field at fault: request bodies (for the `Body` extractor) and the rows of an
//! import.

use domain::{FieldError, Invalid};
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Deserializes a body, telling syntax errors (400) from content errors (422, with the field).
pub(crate) fn parse<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // Every body of this API is an object; serde would also read a struct from an array, by
    // position, which no caller means.
    let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
    if first.is_some_and(|b| *b != b'{')
        && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
    {
        return Err(ApiError::Invalid(Invalid::one(
            "",
            "not_an_object",
            "the body must be a JSON object",
        )));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return ApiError::BadRequest(
                format!("the body is not valid JSON: {inner}"),
                Vec::new(),
            );
        }
        ApiError::Invalid(Invalid(vec![field_error(&path, &inner.to_string())]))
    })?;
    deserializer.end().map_err(|e| {
        ApiError::BadRequest(format!("the body is not valid JSON: {e}"), Vec::new())
    })?;
    Ok(value)
}

/// Deserializes a JSON value (a row of an import), naming the field at fault.
pub fn parse_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, ApiError> {
    if !value.is_object() {
        return Err(ApiError::Invalid(Invalid::one(
            "",
            "not_an_object",
            "must be a JSON object",
        )));
    }
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        ApiError::Invalid(Invalid(vec![field_error(
            &path,
            &error.into_inner().to_string(),
        )]))
    })
}

/// Turns serde's message into a field error: unknown and missing fields are named as such.
fn field_error(path: &str, message: &str) -> FieldError {
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(message)
        .to_owned();
    let join = |name: &str| {
        if path.is_empty() || path == "." {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let quoted = message.split('`').nth(1).unwrap_or_default().to_owned();
    if message.starts_with("unknown field") {
        FieldError::new(
            path.to_owned(),
            "unknown_field",
            format!("{message}; remove it"),
        )
    } else if message.starts_with("missing field") {
        FieldError::new(join(&quoted), "required", "is required")
    } else if message.starts_with("duplicate key") || message.starts_with("duplicate field") {
        FieldError::new(path.to_owned(), "duplicate_key", message)
    } else if message.starts_with("NUL characters") {
        FieldError::new(path.to_owned(), "control_character", message)
    } else if message.starts_with("invalid type: null") {
        FieldError::new(
            path.to_owned(),
            "null_not_allowed",
            "must not be null: send a value, or leave the field out to keep it",
        )
    } else {
        let field = if path == "." {
            String::new()
        } else {
            path.to_owned()
        };
        FieldError::new(field, "invalid_type", message)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Sample {
        name: String,
        size: Option<u32>,
    }

    fn fields(result: Result<Sample, ApiError>) -> Vec<(String, &'static str)> {
        match result {
            Err(ApiError::Invalid(invalid)) => {
                invalid.0.into_iter().map(|e| (e.field, e.code)).collect()
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }

    #[test]
    fn unknown_fields_are_named() {
        assert_eq!(
            fields(parse(br#"{"name":"a","account_id":2}"#)),
            vec![("account_id".to_owned(), "unknown_field")]
        );
    }

    #[test]
    fn missing_fields_are_named() {
        assert_eq!(
            fields(parse(br#"{}"#)),
            vec![("name".to_owned(), "required")]
        );
    }

    #[test]
    fn wrong_types_are_named() {
        assert_eq!(
            fields(parse(br#"{"name":"a","size":"big"}"#)),
            vec![("size".to_owned(), "invalid_type")]
        );
    }

    #[test]
    fn a_body_that_is_not_an_object_is_refused() {
        assert_eq!(
            fields(parse(br#"["a", 1]"#)),
            vec![(String::new(), "not_an_object")]
        );
    }

    #[test]
    fn broken_json_is_a_bad_request() {
        assert!(matches!(
            parse::<Sample>(b"{\"name\":"),
            Err(ApiError::BadRequest(..))
        ));
        assert!(matches!(
            parse::<Sample>(b"{\"name\":\"a\"} x"),
            Err(ApiError::BadRequest(..))
        ));
    }
}
