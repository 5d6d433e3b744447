//! Request extractors: the caller behind the token, JSON bodies and query strings that name
//! each bad field, `If-Match`, and list cursors.

mod auth;
mod body;
mod cursor;
mod if_match;
mod query;

pub(crate) use auth::bearer_token;
pub use auth::{Caller, CorsOrigin};
pub use body::Body;
pub(crate) use body::{BodyLimit, body_limit, declared_length, read_limited};
pub use cursor::{decode_cursor, encode_cursor};
pub use if_match::{IfMatch, etag};
pub use query::Query;
