//! Request extractors: the caller behind the token, JSON bodies and query strings that name
//! each bad field, `If-Match`, and list cursors.

mod auth;
mod body;
mod cursor;
mod if_match;
mod query;

pub use auth::{CALENDAR_FEED_PATH, Caller, CorsOrigin, FeedCaller};
pub(crate) use auth::{bearer_token, url_token};
pub use body::Body;
pub(crate) use body::{BodyLimit, body_limit, declared_length, read_limited};
pub use cursor::{decode_cursor, encode_cursor};
pub use if_match::{IfMatch, etag};
pub use query::Query;
