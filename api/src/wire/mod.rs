//! The shapes on the wire: request and response bodies and query strings. Only these derive
//! `ToSchema`; the domain never does.

pub mod agenda;
pub mod calendar;
pub mod companies;
pub mod contacts;
pub mod deserialize;
pub mod enquiries;
pub mod events;
pub mod feed;
pub mod fields;
mod ical;
pub mod import;
mod input;
pub mod links;
pub mod me;
pub mod meetings;
pub mod merges;
pub mod oauth_clients;
pub mod pipelines;
pub mod posts;
pub mod projects;
pub mod query;
pub mod roles;
mod schema;
pub mod search;
mod strict_json;
pub mod tasks;
pub mod tokens;
pub mod transitions;
pub mod units;
pub mod users;
pub mod views;
pub mod webhooks;

use serde::{Deserialize, Deserializer};

/// A parser that collects field errors, for handlers that assemble an input themselves.
pub(crate) fn input_parser() -> input::Parser {
    input::Parser::default()
}

/// Deserializes a field that may be absent (`None`), `null` (`Some(None)`) or a value.
pub(crate) fn double_option<'de, T, D>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Deserializes a field that may be absent (`None`) or a value, but never `null`: for fields
/// a record always has (a name), where `null` would mean "clear" and cannot.
pub(crate) fn not_null<'de, T, D>(deserializer: D) -> Result<Option<T>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    T::deserialize(deserializer).map(Some)
}

/// Declares a list response `{ "data": [...], "next_cursor": ... }` for one record type.
macro_rules! list_of {
    ($name:ident, $item:ty, $what:literal) => {
        #[doc = concat!("A page of ", $what, ".")]
        #[derive(Debug, serde::Serialize, utoipa::ToSchema)]
        pub struct $name {
            pub data: Vec<$item>,
            /// Pass as `cursor` to get the next page; `null` on the last page.
            pub next_cursor: Option<String>,
        }
    };
}
pub(crate) use list_of;
