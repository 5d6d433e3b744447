//! Post and comment bodies and the post list's query string.

use chrono::{DateTime, Utc};
use domain::Invalid;
use domain::post::{Comment, Post, PostFields, PostPatch};
use domain::values::Markdown;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::input::Parser;
use super::links::{LinkOut, links_out};
use super::list_of;

/// A post on the news feed. `body` is Markdown exactly as written: render it yourself (and
/// sanitize what you render); the API never turns it into HTML.
#[derive(Debug, Serialize, ToSchema)]
pub struct PostOut {
    #[schema(example = 8)]
    pub id: i64,
    #[schema(example = "Signed the **Acme** renewal. Thanks @ana@example.com!")]
    pub body: String,
    /// The team member who wrote it (`null` for an app acting for the account).
    #[schema(required = true)]
    pub author_id: Option<i64>,
    pub pinned: bool,
    pub links: Vec<LinkOut>,
    /// The active team members its `@<email>` mentions name, in id order.
    pub mention_ids: Vec<i64>,
    pub comment_count: i64,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Post> for PostOut {
    fn from(p: Post) -> Self {
        PostOut {
            id: p.id,
            body: p.body,
            author_id: p.author_id,
            pinned: p.pinned,
            links: links_out(p.links),
            mention_ids: p.mention_ids,
            comment_count: p.comment_count,
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

list_of!(PostList, PostOut, "posts");

/// A comment on a post; `body` is Markdown as written.
#[derive(Debug, Serialize, ToSchema)]
pub struct CommentOut {
    #[schema(example = 21)]
    pub id: i64,
    pub post_id: i64,
    pub body: String,
    #[schema(required = true)]
    pub author_id: Option<i64>,
    pub mention_ids: Vec<i64>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Comment> for CommentOut {
    fn from(c: Comment) -> Self {
        CommentOut {
            id: c.id,
            post_id: c.post_id,
            body: c.body,
            author_id: c.author_id,
            mention_ids: c.mention_ids,
            version: c.version,
            created_at: c.created_at,
            updated_at: c.updated_at,
        }
    }
}

list_of!(CommentList, CommentOut, "comments");

/// A new post. Mention a team member by writing `@` and their email address
/// (`@ana@example.com`); mentions inside `code` are not mentions.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostCreate {
    /// Markdown, 1 to 20,000 characters.
    #[schema(
        max_length = 20000,
        example = "Signed the **Acme** renewal. Thanks @ana@example.com!"
    )]
    pub body: String,
    #[serde(default)]
    pub pinned: bool,
    #[schema(max_items = 50)]
    pub links: Option<Vec<LinkOut>>,
}

impl PostCreate {
    pub fn into_fields(self) -> Result<PostFields, Invalid> {
        let mut p = Parser::default();
        let body = p.required("body", &self.body, Markdown::parse);
        let links = p.links(self.links.as_deref());
        p.build(match (body, links) {
            (Some(body), Some(links)) => Some(PostFields {
                body,
                pinned: self.pinned,
                links,
            }),
            _ => None,
        })
    }
}

/// Changes to a post (its author's, or any for an admin): absent fields stay as they are.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PostUpdate {
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, max_length = 20000)]
    pub body: Option<String>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false)]
    pub pinned: Option<bool>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, max_items = 50)]
    pub links: Option<Vec<LinkOut>>,
}

impl PostUpdate {
    pub fn into_patch(self) -> Result<PostPatch, Invalid> {
        let mut p = Parser::default();
        let patch = PostPatch {
            body: p.patch_required("body", self.body.as_deref(), Markdown::parse),
            pinned: self.pinned,
            links: self.links.and_then(|links| p.links(Some(links.as_slice()))),
        };
        p.finish()?;
        Ok(patch)
    }
}

/// A new comment, or a comment's new body: Markdown, 1 to 20,000 characters.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CommentBody {
    #[schema(max_length = 20000, example = "Well done!")]
    pub body: String,
}

impl CommentBody {
    pub fn into_body(self) -> Result<Markdown, Invalid> {
        let mut p = Parser::default();
        let body = p.required("body", &self.body, Markdown::parse);
        p.build(body)
    }
}

/// Filters, order and page of the post list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PostListQuery {
    /// Records per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `created_at` or `updated_at`; prefix `-` for descending. Default `-created_at`.
    #[param(schema_with = super::schema::post_sort)]
    pub sort: Option<String>,
    /// Written by this team member; `me` for the caller.
    pub author: Option<String>,
    /// Mentioning this team member (in the post or a comment); `me` for the caller.
    #[param(example = "me")]
    pub mentions: Option<String>,
    pub pinned: Option<bool>,
    /// Linked to this record, as `<type>:<id>`.
    #[param(example = "company:12")]
    pub linked: Option<String>,
    /// Changed at or after this RFC 3339 time.
    pub updated_since: Option<DateTime<Utc>>,
}
