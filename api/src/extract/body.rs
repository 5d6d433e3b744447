//! JSON request bodies: size-limited, `application/json` only, unknown fields refused, and
//! every failure reported with the path of the field at fault.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, web};
use domain::{FieldError, Invalid};
use futures_util::StreamExt;
use serde::de::DeserializeOwned;

use crate::error::ApiError;
use crate::state::AppState;

/// A JSON body deserialized into `T` (which should deny unknown fields).
#[derive(Debug)]
pub struct Body<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Body<T> {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Body<T>, ApiError>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let limit = body_limit(req);
        let content_type_ok = is_json(req);
        let declared = declared_length(req.headers());
        let payload = payload.take();
        Box::pin(async move {
            if !content_type_ok {
                return Err(ApiError::UnsupportedMediaType);
            }
            let bytes = read_limited(declared, payload, limit).await?;
            parse(&bytes).map(Body)
        })
    }
}

/// The body's length as the request declares it in `Content-Length`.
pub(crate) fn declared_length(headers: &header::HeaderMap) -> Option<usize> {
    headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}

/// How much of a body a request may send, and how long it may take to send it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct BodyLimit {
    pub bytes: usize,
    pub time: Duration,
}

/// Reads a whole body within `limit`: one that declares more bytes is refused before a byte
/// is read, and one that has not arrived whole in time is answered 408 (the connection is
/// closed, since the rest of the body may still be on its way). The one reader of bodies, for
/// this extractor, the idempotency layer and the imports.
pub(crate) async fn read_limited<S, E>(
    declared: Option<usize>,
    mut payload: S,
    limit: BodyLimit,
) -> Result<web::Bytes, ApiError>
where
    S: futures_util::Stream<Item = Result<web::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    let BodyLimit { bytes: limit, time } = limit;
    if declared.is_some_and(|n| n > limit) {
        return Err(ApiError::PayloadTooLarge { limit });
    }
    let deadline = tokio::time::Instant::now() + time;
    let mut bytes = web::BytesMut::new();
    loop {
        let next = tokio::time::timeout_at(deadline, payload.next())
            .await
            .map_err(|_| ApiError::BodyTimeout {
                seconds: time.as_secs(),
            })?;
        let Some(chunk) = next else { break };
        let chunk = chunk.map_err(|e| {
            ApiError::BadRequest(format!("the body could not be read: {e}"), Vec::new())
        })?;
        if bytes.len() + chunk.len() > limit {
            return Err(ApiError::PayloadTooLarge { limit });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes.freeze())
}

/// The largest body `req` may send, and how long it may take: the one place that says it,
/// for this extractor and for the idempotency layer that buffers bodies before the handler
/// runs.
pub(crate) fn body_limit(req: &HttpRequest) -> BodyLimit {
    let Some(settings) = req.app_data::<web::Data<AppState>>().map(|s| &s.settings) else {
        return BodyLimit {
            bytes: 256 * 1024,
            time: Duration::from_secs(30),
        };
    };
    // Imports carry up to 10,000 rows: they have a limit of their own.
    let import = req.method() == actix_web::http::Method::POST && req.path().ends_with("/import");
    BodyLimit {
        bytes: if import {
            settings.import_body_limit
        } else {
            settings.body_limit
        },
        time: settings.body_timeout,
    }
}

fn is_json(req: &HttpRequest) -> bool {
    let Some(value) = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

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
