//! `/v1/posts` and `/v1/posts/{id}/comments`: the news feed's posts and their comments.
//! Anyone who may write posts writes their own; authors change and delete what they wrote,
//! admins anything.

use actix_web::{HttpResponse, web};
use domain::access::{Resource, Scope};
use domain::listing::SortField;
use domain::post::may_edit;
use persistence::posts::{self, PostFilter};

use super::tasks::user_filter;
use super::{bad_query, check_times, created, paging, path_id, record, sorted_paging};
use crate::error::{ApiError, Problem};
use crate::extract::{Body, Caller, IfMatch, Query, encode_cursor};
use crate::state::AppState;
use crate::wire::links::linked_filter;
use crate::wire::posts::{
    CommentBody, CommentList, CommentOut, PostCreate, PostList, PostListQuery, PostOut, PostUpdate,
};
use crate::wire::users::PageQuery;

const READ: Scope = Scope::Read(Resource::Posts);
const WRITE: Scope = Scope::Write(Resource::Posts);

/// Refuses a change by anyone but the author or an admin.
fn require_author(caller: &Caller, author: Option<i64>) -> Result<(), ApiError> {
    // Custom roles never hold `admin`: their members edit what they wrote.
    let editor = caller
        .0
        .user()
        .map(|u| (u.id, u.role.builtin.unwrap_or(domain::access::Role::Member)));
    if may_edit(author, editor) {
        Ok(())
    } else {
        Err(ApiError::NotAuthor)
    }
}

/// List posts
///
/// Newest first unless `sort` says otherwise; keyset-paginated with `cursor`.
#[utoipa::path(
    operation_id = "listPosts", get, path = "/v1/posts", tag = "posts",
    params(PostListQuery),
    responses(
        (status = 200, description = "A page of posts", body = PostList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["posts:read"]))
)]
pub async fn list(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<PostListQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let q = query.0;
    check_times(&[("updated_since", q.updated_since)])?;
    let (size, sort, after) = sorted_paging(
        q.limit,
        q.sort.as_deref(),
        q.cursor.as_deref(),
        &SortField::POST,
    )?;
    let filter = PostFilter {
        author_id: user_filter(&caller, "author", q.author.as_deref())?,
        mentions: user_filter(&caller, "mentions", q.mentions.as_deref())?,
        pinned: q.pinned,
        linked: linked_filter(q.linked.as_deref()).map_err(|e| bad_query("linked", e))?,
        updated_since: q.updated_since,
    };
    let account = caller.account_id();
    let page = state
        .run(move |conn| posts::list(conn, account, &filter, sort, size, after.as_ref()))
        .await?;
    Ok(HttpResponse::Ok().json(PostList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page.items.into_iter().map(PostOut::from).collect(),
    }))
}

/// Create a post
///
/// The caller is its author. `@<email>` of an active team member is a mention
/// (`mention_ids`); the body is kept exactly as written.
#[utoipa::path(
    operation_id = "createPost", post, path = "/v1/posts", tag = "posts",
    request_body = PostCreate,
    responses(
        (status = 201, description = "The post was created", body = PostOut,
         headers(("ETag" = String, description = "The version as an entity tag"), ("Location" = String))),
    ),
    security(("bearer" = ["posts:write"]))
)]
pub async fn create(
    state: web::Data<AppState>,
    caller: Caller,
    body: Body<PostCreate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let fields = body.0.into_fields()?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let post = state
        .run(move |conn| posts::create(conn, account, &fields, &outbox))
        .await?;
    Ok(created(
        format!("/v1/posts/{}", post.id),
        post.version,
        PostOut::from(post),
    ))
}

/// Get a post
#[utoipa::path(
    operation_id = "getPost", get, path = "/v1/posts/{id}", tag = "posts",
    params(("id" = i64, Path, description = "The post's id")),
    responses(
        (status = 200, description = "The post", body = PostOut, headers(("ETag" = String))),
    ),
    security(("bearer" = ["posts:read"]))
)]
pub async fn show(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let id = path_id(&id)?;
    let account = caller.account_id();
    let post = state.run(move |conn| posts::get(conn, account, id)).await?;
    Ok(record(post.version, PostOut::from(post)))
}

/// Update a post
///
/// Its author's, or any for an admin (403 `not_author` otherwise). Send `If-Match` to make
/// sure nobody changed it since you read it.
#[utoipa::path(
    operation_id = "updatePost", patch, path = "/v1/posts/{id}", tag = "posts",
    params(
        ("id" = i64, Path, description = "The post's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the post has changed since"),
    ),
    request_body = PostUpdate,
    responses(
        (status = 200, description = "The updated post", body = PostOut, headers(("ETag" = String))),
        (status = 412, description = "The post changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["posts:write"]))
)]
pub async fn update(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
    body: Body<PostUpdate>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let patch = body.0.into_patch()?;
    let account = caller.account_id();
    let post = state.run(move |conn| posts::get(conn, account, id)).await?;
    require_author(&caller, post.author_id)?;
    let outbox = caller.outbox();
    let post = state
        .run(move |conn| posts::update(conn, account, id, if_match.0, patch, &outbox))
        .await?;
    Ok(record(post.version, PostOut::from(post)))
}

/// Delete a post
///
/// With its comments. Its author's, or any for an admin (403 `not_author` otherwise).
#[utoipa::path(
    operation_id = "deletePost", delete, path = "/v1/posts/{id}", tag = "posts",
    params(
        ("id" = i64, Path, description = "The post's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the post has changed since"),
    ),
    responses(
        (status = 204, description = "The post was deleted"),
        (status = 412, description = "The post changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["posts:write"]))
)]
pub async fn delete(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let id = path_id(&id)?;
    let account = caller.account_id();
    let post = state.run(move |conn| posts::get(conn, account, id)).await?;
    require_author(&caller, post.author_id)?;
    let outbox = caller.outbox();
    state
        .run(move |conn| posts::delete(conn, account, id, if_match.0, &outbox))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// List a post's comments
///
/// Oldest first; keyset-paginated with `cursor`.
#[utoipa::path(
    operation_id = "listComments", get, path = "/v1/posts/{id}/comments", tag = "posts",
    params(("id" = i64, Path, description = "The post's id"), PageQuery),
    responses(
        (status = 200, description = "A page of comments", body = CommentList),
        (status = 400, description = "A query parameter is invalid", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["posts:read"]))
)]
pub async fn list_comments(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    query: Query<PageQuery>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let id = path_id(&id)?;
    let (size, _, after) = paging(query.0.limit, None, query.0.cursor.as_deref())?;
    let account = caller.account_id();
    let after = after.map(|p| p.id);
    let page = state
        .run(move |conn| posts::list_comments(conn, account, id, size, after))
        .await?;
    Ok(HttpResponse::Ok().json(CommentList {
        next_cursor: page.next.as_ref().map(encode_cursor),
        data: page.items.into_iter().map(CommentOut::from).collect(),
    }))
}

/// Comment on a post
#[utoipa::path(
    operation_id = "createComment", post, path = "/v1/posts/{id}/comments", tag = "posts",
    params(("id" = i64, Path, description = "The post's id")),
    request_body = CommentBody,
    responses(
        (status = 201, description = "The comment was added", body = CommentOut,
         headers(("ETag" = String, description = "The version as an entity tag"), ("Location" = String))),
    ),
    security(("bearer" = ["posts:write"]))
)]
pub async fn create_comment(
    state: web::Data<AppState>,
    caller: Caller,
    id: web::Path<String>,
    body: Body<CommentBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let post_id = path_id(&id)?;
    let body = body.0.into_body()?;
    let (account, outbox) = (caller.account_id(), caller.outbox());
    let comment = state
        .run(move |conn| posts::create_comment(conn, account, post_id, &body, &outbox))
        .await?;
    Ok(created(
        format!("/v1/posts/{post_id}/comments/{}", comment.id),
        comment.version,
        CommentOut::from(comment),
    ))
}

/// Get a comment
#[utoipa::path(
    operation_id = "getComment", get, path = "/v1/posts/{id}/comments/{comment_id}", tag = "posts",
    params(
        ("id" = i64, Path, description = "The post's id"),
        ("comment_id" = i64, Path, description = "The comment's id"),
    ),
    responses(
        (status = 200, description = "The comment", body = CommentOut, headers(("ETag" = String))),
    ),
    security(("bearer" = ["posts:read"]))
)]
pub async fn show_comment(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, ApiError> {
    caller.require(READ)?;
    let (post_id, id) = (path_id(&path.0)?, path_id(&path.1)?);
    let account = caller.account_id();
    let comment = state
        .run(move |conn| posts::get_comment(conn, account, post_id, id))
        .await?;
    Ok(record(comment.version, CommentOut::from(comment)))
}

/// Edit a comment
///
/// Its author's, or any for an admin (403 `not_author` otherwise).
#[utoipa::path(
    operation_id = "updateComment", patch, path = "/v1/posts/{id}/comments/{comment_id}", tag = "posts",
    params(
        ("id" = i64, Path, description = "The post's id"),
        ("comment_id" = i64, Path, description = "The comment's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the comment has changed since"),
    ),
    request_body = CommentBody,
    responses(
        (status = 200, description = "The edited comment", body = CommentOut, headers(("ETag" = String))),
        (status = 412, description = "The comment changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["posts:write"]))
)]
pub async fn update_comment(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
    body: Body<CommentBody>,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let (post_id, id) = (path_id(&path.0)?, path_id(&path.1)?);
    let body = body.0.into_body()?;
    let account = caller.account_id();
    let comment = state
        .run(move |conn| posts::get_comment(conn, account, post_id, id))
        .await?;
    require_author(&caller, comment.author_id)?;
    let outbox = caller.outbox();
    let comment = state
        .run(move |conn| posts::update_comment(conn, account, id, if_match.0, body, &outbox))
        .await?;
    Ok(record(comment.version, CommentOut::from(comment)))
}

/// Delete a comment
///
/// Its author's, or any for an admin (403 `not_author` otherwise).
#[utoipa::path(
    operation_id = "deleteComment", delete, path = "/v1/posts/{id}/comments/{comment_id}", tag = "posts",
    params(
        ("id" = i64, Path, description = "The post's id"),
        ("comment_id" = i64, Path, description = "The comment's id"),
        ("If-Match" = Option<String>, Header, description = "The ETag you last read; 412 when the comment has changed since"),
    ),
    responses(
        (status = 204, description = "The comment was deleted"),
        (status = 412, description = "The comment changed since the ETag in If-Match", body = Problem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["posts:write"]))
)]
pub async fn delete_comment(
    state: web::Data<AppState>,
    caller: Caller,
    path: web::Path<(String, String)>,
    if_match: IfMatch,
) -> Result<HttpResponse, ApiError> {
    caller.require(WRITE)?;
    let (post_id, id) = (path_id(&path.0)?, path_id(&path.1)?);
    let account = caller.account_id();
    let comment = state
        .run(move |conn| posts::get_comment(conn, account, post_id, id))
        .await?;
    require_author(&caller, comment.author_id)?;
    let outbox = caller.outbox();
    state
        .run(move |conn| posts::delete_comment(conn, account, id, if_match.0, &outbox))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
