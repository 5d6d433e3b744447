//! Query strings: a bad value named by its parameter (unknown names, bad encoding and
//! control characters are refused earlier, by `query_rules`).

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use domain::FieldError;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// Query parameters deserialized into `T` (which should deny unknown fields).
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned> FromRequest for Query<T> {
    type Error = ApiError;
    type Future = Ready<Result<Query<T>, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(parse(req.query_string()).map(Query))
    }
}

fn parse<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    // Encoding and control characters are refused before any handler runs, for every /v1
    // operation, by `query_rules::middleware`; here only the typed parse remains.
    let deserializer =
        serde_urlencoded::Deserializer::new(form_urlencoded::parse(query.as_bytes()));
    serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        let field = if path == "." {
            message.split('`').nth(1).unwrap_or_default().to_owned()
        } else {
            path
        };
        let code = if message.starts_with("unknown field") {
            "unknown_parameter"
        } else {
            "invalid_value"
        };
        ApiError::BadRequest(
            format!("query parameter `{field}`: {message}"),
            vec![FieldError::new(field, code, message)],
        )
    })
}
