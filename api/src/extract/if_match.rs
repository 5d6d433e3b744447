//! `If-Match` for optimistic concurrency: the version a write expects the record to be at.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};

use domain::FieldError;

use crate::error::ApiError;

/// The version named by `If-Match`, if the header was sent (and was not `*`). An entity tag
/// this API never issues (a weak one, or one that is not a version) matches no version.
#[derive(Debug, Clone, Copy, Default)]
pub struct IfMatch(pub Option<i64>);

/// A version no record is ever at.
const NO_VERSION: i64 = -1;

impl FromRequest for IfMatch {
    type Error = ApiError;
    type Future = Ready<Result<IfMatch, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(value) = req.headers().get(header::IF_MATCH) else {
            return ready(Ok(IfMatch(None)));
        };
        ready(parse(value.to_str().unwrap_or("\u{0}")).map(IfMatch))
    }
}

/// `*` (any version) or a list of entity tags, of which the first `"<version>"` counts; a
/// header that is neither is a 400, not a silent mismatch.
fn parse(value: &str) -> Result<Option<i64>, ApiError> {
    let value = value.trim();
    if value == "*" {
        return Ok(None);
    }
    let tags: Vec<&str> = value.split(',').map(str::trim).collect();
    let well_formed = !value.is_empty()
        && tags.iter().all(|tag| {
            let opaque = tag.strip_prefix("W/").unwrap_or(tag);
            opaque.len() >= 2
                && opaque.starts_with('"')
                && opaque.ends_with('"')
                && opaque[1..opaque.len() - 1]
                    .bytes()
                    .all(|b| b == 0x21 || (0x23..=0x7e).contains(&b) || b >= 0x80)
        });
    if !well_formed {
        return Err(ApiError::BadRequest(
            "the If-Match header must be `*` or a list of entity tags such as `\"3\"`, as the ETag header gives them".into(),
            vec![FieldError::new(
                "If-Match",
                "invalid_header",
                "must be `*` or a list of entity tags",
            )],
        ));
    }
    // Strong comparison (RFC 9110 §13.1.1): a weak tag never matches, and the repository
    // checks one version, so take the first strong tag that is a version.
    let version = tags
        .iter()
        .filter_map(|tag| {
            tag.strip_prefix('"')?
                .strip_suffix('"')?
                .parse::<i64>()
                .ok()
        })
        .next()
        .unwrap_or(NO_VERSION);
    Ok(Some(version))
}

/// The entity tag of a record at `version`.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_star_parse() {
        assert_eq!(parse("\"3\"").ok(), Some(Some(3)));
        assert_eq!(parse("W/\"1\", \"4\"").ok(), Some(Some(4)));
        assert_eq!(parse("*").ok(), Some(None));
        assert_eq!(parse("\"abc\"").ok(), Some(Some(NO_VERSION)));
    }

    #[test]
    fn malformed_headers_are_refused() {
        for value in ["", "3", "\"3", "\"3\",", "W/3", "\"a\"b\""] {
            assert!(parse(value).is_err(), "{value:?}");
        }
    }
}
