//! The news feed, timelines and subscriptions on the wire. Entries have the envelope events
//! have ([`EventOut`]), with ids of their own.

use chrono::{DateTime, Utc};
use domain::feed::Subscription;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::events::EventOut;
use super::list_of;

list_of!(
    FeedList,
    EventOut,
    "news feed entries, newest first (an entry's `id` is its place in the news feed, not an \
     events feed id)"
);

/// The news feed's query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct FeedQuery {
    /// `true`: only what the caller follows: the records they follow (as owner, on a
    /// project's team, or by `PUT .../subscription`) and the tasks, meetings and posts
    /// linked to them.
    pub subscribed: Option<bool>,
    /// `me`: only posts and comments that @mention the caller.
    #[param(example = "me")]
    pub mentions: Option<String>,
    /// Only one record's timeline, as `<type>:<id>` (`company`, `contact` or `project`).
    #[param(example = "company:12")]
    pub record: Option<String>,
    /// Comma-separated kinds of change, e.g. `post.created,comment.created` (a form-style
    /// array).
    #[param(schema_with = super::schema::event_types, style = Form, explode = false)]
    pub types: Option<String>,
    /// Entries per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A record's timeline query.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct TimelineQuery {
    /// Comma-separated kinds of change, e.g. `company.phase_changed,task.completed` (a
    /// form-style array).
    #[param(schema_with = super::schema::event_types, style = Form, explode = false)]
    pub types: Option<String>,
    /// Entries per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Whether the caller follows a record, and since when and why.
#[derive(Debug, Serialize, ToSchema)]
pub struct SubscriptionOut {
    /// Whether the caller follows the record.
    pub subscribed: bool,
    #[schema(schema_with = super::schema::followable)]
    pub record_type: String,
    #[schema(example = 12)]
    pub record_id: i64,
    /// `manual` (they asked to), `owner` (they own it) or `team` (on the project's team);
    /// `null` when not following.
    #[schema(schema_with = super::schema::follow_reason_or_null)]
    pub reason: Option<String>,
    /// Since when; `null` when not following.
    pub created_at: Option<DateTime<Utc>>,
}

impl SubscriptionOut {
    pub fn new(kind: domain::feed::Followable, id: i64, found: Option<Subscription>) -> Self {
        SubscriptionOut {
            subscribed: found.is_some(),
            record_type: kind.as_str().to_owned(),
            record_id: id,
            reason: found.as_ref().map(|s| s.reason.as_str().to_owned()),
            created_at: found.map(|s| s.created_at),
        }
    }
}
