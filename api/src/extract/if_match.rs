//! `If-Match` for optimistic concurrency: the version a write expects the record to be at.

use std::future::{Ready, ready};

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest};

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
        let value = value.to_str().unwrap_or_default().trim();
        if value == "*" {
            return ready(Ok(IfMatch(None)));
        }
        // Strong comparison (RFC 9110 §13.1.1): any listed tag `"<version>"` may match, but the
        // repository checks one version, so take the first that parses.
        let version = value
            .split(',')
            .filter_map(|tag| {
                tag.trim()
                    .strip_prefix('"')?
                    .strip_suffix('"')?
                    .parse::<i64>()
                    .ok()
            })
            .next()
            .unwrap_or(NO_VERSION);
        ready(Ok(IfMatch(Some(version))))
    }
}

/// The entity tag of a record at `version`.
pub fn etag(version: i64) -> String {
    format!("\"{version}\"")
}
