//! Posts and their comments: rows, @mentions resolved to team members, filters. Links, the
//! versioned update and the delete are the shared plumbing's.

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::event::{EventType, NewEvent, Outbox, RecordType};
use domain::links::{Links, RecordRef};
use domain::listing::{Page, PageSize, Position, Sort, SortField, SortValue};
use domain::post::{Comment, Post, PostFields, PostPatch, mentioned_emails};
use domain::values::{Markdown, Tags};
use serde_json::Value;

use crate::keyset::{id_position, into_page, keyset_page, time_value, unsupported_sort};
use crate::links::Linked;
use crate::record::{self, Versioned};
use crate::schema::{comments, mentions, posts, users};
use crate::tags::{self, TagTable};
use crate::{DbConnection, StoreError, events, links, now, to_utc, write_transaction};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = posts)]
struct PostRow {
    id: i64,
    account_id: i64,
    author_id: Option<i64>,
    body: String,
    pinned: bool,
    links: String,
    mention_ids: String,
    comment_count: i64,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl From<PostRow> for Post {
    fn from(row: PostRow) -> Post {
        Post {
            id: row.id,
            account_id: row.account_id,
            body: row.body,
            author_id: row.author_id,
            pinned: row.pinned,
            links: links::links_from_stored(&row.links),
            mention_ids: serde_json::from_str(&row.mention_ids).unwrap_or_default(),
            comment_count: row.comment_count,
            version: row.version,
            created_at: to_utc(row.created_at),
            updated_at: to_utc(row.updated_at),
        }
    }
}

#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = posts, treat_none_as_null = true)]
struct PostValues {
    body: String,
    pinned: bool,
    links: String,
}

impl From<&PostFields> for PostValues {
    fn from(f: &PostFields) -> Self {
        PostValues {
            body: f.body.as_str().to_owned(),
            pinned: f.pinned,
            links: links::links_to_stored(&f.links),
        }
    }
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = comments)]
struct CommentRow {
    id: i64,
    account_id: i64,
    post_id: i64,
    author_id: Option<i64>,
    body: String,
    mention_ids: String,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
}

impl From<CommentRow> for Comment {
    fn from(row: CommentRow) -> Comment {
        Comment {
            id: row.id,
            account_id: row.account_id,
            post_id: row.post_id,
            body: row.body,
            author_id: row.author_id,
            mention_ids: serde_json::from_str(&row.mention_ids).unwrap_or_default(),
            version: row.version,
            created_at: to_utc(row.created_at),
            updated_at: to_utc(row.updated_at),
        }
    }
}

#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = comments)]
struct CommentValues {
    body: String,
}

impl From<&Markdown> for CommentValues {
    fn from(body: &Markdown) -> Self {
        CommentValues {
            body: body.as_str().to_owned(),
        }
    }
}

/// Filters of the post list; every one narrows, none is required.
#[derive(Debug, Clone, Default)]
pub struct PostFilter {
    pub author_id: Option<i64>,
    /// Mentions this team member, in the post or one of its comments.
    pub mentions: Option<i64>,
    pub pinned: Option<bool>,
    pub linked: Option<RecordRef>,
    pub updated_since: Option<DateTime<Utc>>,
}

pub fn create(
    conn: &mut DbConnection,
    account_id: i64,
    fields: &PostFields,
    outbox: &Outbox<'_>,
) -> Result<Post, StoreError> {
    write_transaction(conn, |conn| {
        links::check(conn, account_id, &fields.links)?;
        let at = now();
        let id: i64 = diesel::insert_into(posts::table)
            .values((
                &PostValues::from(fields),
                posts::account_id.eq(account_id),
                posts::author_id.eq(outbox.actor.user_id),
                posts::mention_ids.eq("[]"),
                posts::version.eq(1),
                posts::created_at.eq(at),
                posts::updated_at.eq(at),
            ))
            .returning(posts::id)
            .get_result(conn)?;
        Posts::write_beside(conn, account_id, id, None, fields)?;
        let post = find_post(conn, account_id, id)?;
        let data = outbox.render.post(&post);
        events::record_one(
            conn,
            account_id,
            outbox,
            NewEvent::new(EventType::PostCreated, id, data),
        )?;
        Ok(post)
    })
}

pub fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Post, StoreError> {
    find_post(conn, account_id, id)
}

pub fn update(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    patch: PostPatch,
    outbox: &Outbox<'_>,
) -> Result<Post, StoreError> {
    record::update::<Posts>(conn, account_id, id, expected_version, patch, outbox)
}

/// Deletes a post with its comments.
pub fn delete(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<(), StoreError> {
    record::delete::<Posts>(conn, account_id, id, expected_version, outbox)
}

pub fn list(
    conn: &mut DbConnection,
    account_id: i64,
    filter: &PostFilter,
    sort: Sort,
    size: PageSize,
    after: Option<&Position>,
) -> Result<Page<Post>, StoreError> {
    let mut query = posts::table
        .filter(posts::account_id.eq(account_id))
        .select(PostRow::as_select())
        .into_boxed();
    if let Some(author) = filter.author_id {
        query = query.filter(posts::author_id.eq(author));
    }
    if let Some(user) = filter.mentions {
        let mentioned = mentions::table
            .filter(mentions::account_id.eq(account_id))
            .filter(mentions::user_id.eq(user));
        query = query.filter(
            posts::id
                .eq_any(
                    mentioned
                        .filter(mentions::owner_type.eq(RecordType::Post.as_str()))
                        .select(mentions::owner_id),
                )
                .or(posts::id.eq_any(
                    comments::table
                        .filter(
                            comments::id.eq_any(
                                mentioned
                                    .filter(mentions::owner_type.eq(RecordType::Comment.as_str()))
                                    .select(mentions::owner_id),
                            ),
                        )
                        .select(comments::post_id),
                )),
        );
    }
    if let Some(pinned) = filter.pinned {
        query = query.filter(posts::pinned.eq(pinned));
    }
    if let Some(record) = filter.linked {
        query = query.filter(posts::id.eq_any(links::linked(account_id, RecordType::Post, record)));
    }
    if let Some(since) = filter.updated_since {
        query = query.filter(posts::updated_at.ge(since.naive_utc()));
    }
    let query = match sort.field {
        SortField::CreatedAt => {
            keyset_page!(query, sort, after, posts::created_at, posts::id, time_value)
        }
        SortField::UpdatedAt => {
            keyset_page!(query, sort, after, posts::updated_at, posts::id, time_value)
        }
        _ => return Err(unsupported_sort()),
    };
    let rows: Vec<PostRow> = query.limit(size.get() + 1).load(conn)?;
    Ok(into_page(rows, size, |last| Position {
        sort,
        value: SortValue::Time(to_utc(if sort.field == SortField::UpdatedAt {
            last.updated_at
        } else {
            last.created_at
        })),
        id: last.id,
    }))
}

/// Adds a comment to a post of the account, with its `comment.created`.
pub fn create_comment(
    conn: &mut DbConnection,
    account_id: i64,
    post_id: i64,
    body: &Markdown,
    outbox: &Outbox<'_>,
) -> Result<Comment, StoreError> {
    write_transaction(conn, |conn| {
        Posts::lock(conn, account_id, post_id)?;
        let at = now();
        let id: i64 = diesel::insert_into(comments::table)
            .values((
                &CommentValues::from(body),
                comments::account_id.eq(account_id),
                comments::post_id.eq(post_id),
                comments::author_id.eq(outbox.actor.user_id),
                comments::mention_ids.eq("[]"),
                comments::version.eq(1),
                comments::created_at.eq(at),
                comments::updated_at.eq(at),
            ))
            .returning(comments::id)
            .get_result(conn)?;
        count_comments(conn, post_id, 1)?;
        Comments::write_beside(conn, account_id, id, None, body)?;
        let comment = find_comment(conn, account_id, id)?;
        let data = outbox.render.comment(&comment);
        events::record_one(
            conn,
            account_id,
            outbox,
            NewEvent::new(EventType::CommentCreated, id, data),
        )?;
        Ok(comment)
    })
}

/// A post's comment, or `NotFound` when the post has no such comment.
pub fn get_comment(
    conn: &mut DbConnection,
    account_id: i64,
    post_id: i64,
    id: i64,
) -> Result<Comment, StoreError> {
    find_comment(conn, account_id, id).and_then(|c| {
        if c.post_id == post_id {
            Ok(c)
        } else {
            Err(StoreError::NotFound)
        }
    })
}

pub fn update_comment(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    body: Markdown,
    outbox: &Outbox<'_>,
) -> Result<Comment, StoreError> {
    record::update::<Comments>(conn, account_id, id, expected_version, body, outbox)
}

pub fn delete_comment(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<(), StoreError> {
    record::delete::<Comments>(conn, account_id, id, expected_version, outbox)
}

/// A post's comments, oldest first (by id), keyset-paginated.
pub fn list_comments(
    conn: &mut DbConnection,
    account_id: i64,
    post_id: i64,
    size: PageSize,
    after: Option<i64>,
) -> Result<Page<Comment>, StoreError> {
    find_post(conn, account_id, post_id)?;
    let rows: Vec<CommentRow> = comments::table
        .filter(comments::post_id.eq(post_id))
        .filter(comments::account_id.eq(account_id))
        .filter(comments::id.gt(after.unwrap_or(0)))
        .order(comments::id.asc())
        .select(CommentRow::as_select())
        .limit(size.get() + 1)
        .load(conn)?;
    Ok(into_page(rows, size, |last| id_position(last.id)))
}

fn count_comments(conn: &mut DbConnection, post_id: i64, by: i64) -> Result<(), StoreError> {
    diesel::update(posts::table.filter(posts::id.eq(post_id)))
        .set(posts::comment_count.eq(posts::comment_count + by))
        .execute(conn)?;
    Ok(())
}

/// The active team members of the account whose addresses `body` @mentions, in id order;
/// addresses of nobody stay text.
fn resolve_mentions(
    conn: &mut DbConnection,
    account_id: i64,
    body: &str,
) -> Result<Vec<i64>, StoreError> {
    let emails = mentioned_emails(body);
    if emails.is_empty() {
        return Ok(Vec::new());
    }
    Ok(users::table
        .filter(users::account_id.eq(account_id))
        .filter(users::active.eq(true))
        .filter(users::email_normalized.eq_any(&emails))
        .select(users::id)
        .order(users::id.asc())
        .load(conn)?)
}

/// Records whom a post or comment mentions, beside its row and in `mentions`.
fn write_mentions(
    conn: &mut DbConnection,
    account_id: i64,
    owner: RecordType,
    id: i64,
    body: &str,
) -> Result<(), StoreError> {
    let mentioned = resolve_mentions(conn, account_id, body)?;
    remove_mentions(conn, owner, &[id])?;
    let rows: Vec<_> = mentioned
        .iter()
        .map(|user| {
            (
                mentions::account_id.eq(account_id),
                mentions::owner_type.eq(owner.as_str()),
                mentions::owner_id.eq(id),
                mentions::user_id.eq(*user),
            )
        })
        .collect();
    crate::bulk::insert_all!(&mut *conn, mentions::table, &rows, 1000);
    let stored = Value::from(mentioned).to_string();
    match owner {
        RecordType::Comment => {
            diesel::update(comments::table.filter(comments::id.eq(id)))
                .set(comments::mention_ids.eq(stored))
                .execute(conn)?;
        }
        _ => {
            diesel::update(posts::table.filter(posts::id.eq(id)))
                .set(posts::mention_ids.eq(stored))
                .execute(conn)?;
        }
    }
    Ok(())
}

fn remove_mentions(
    conn: &mut DbConnection,
    owner: RecordType,
    ids: &[i64],
) -> Result<(), StoreError> {
    for chunk in ids.chunks(1000) {
        diesel::delete(
            mentions::table
                .filter(mentions::owner_type.eq(owner.as_str()))
                .filter(mentions::owner_id.eq_any(chunk)),
        )
        .execute(conn)?;
    }
    Ok(())
}

/// Posts in the shared record plumbing.
pub(crate) struct Posts;

impl Versioned for Posts {
    type Record = Post;
    type Fields = PostFields;
    type Patch = PostPatch;
    const UPDATED: EventType = EventType::PostUpdated;
    const DELETED: EventType = EventType::PostDeleted;
    const TAGS: TagTable = tags::NONE;

    fn lock(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Post, StoreError> {
        match conn {
            DbConnection::Postgresql(pg) => posts::table
                .filter(posts::id.eq(id))
                .filter(posts::account_id.eq(account_id))
                .select(PostRow::as_select())
                .for_update()
                .first(pg)
                .optional()?
                .map(Post::from)
                .ok_or(StoreError::NotFound),
            // SQLite's write transaction already holds the database.
            DbConnection::Sqlite(_) => find_post(conn, account_id, id),
        }
    }

    fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Post, StoreError> {
        find_post(conn, account_id, id)
    }

    fn version(post: &Post) -> i64 {
        post.version
    }

    fn render(outbox: &Outbox<'_>, post: &Post) -> Value {
        outbox.render.post(post)
    }

    fn patched(
        conn: &mut DbConnection,
        account_id: i64,
        _id: i64,
        current: &Post,
        patch: PostPatch,
    ) -> Result<PostFields, StoreError> {
        let new_links = patch.links.is_some();
        let fields = patch.apply(current);
        if new_links {
            links::check(conn, account_id, &fields.links)?;
        }
        Ok(fields)
    }

    fn unchanged(current: &Post, fields: &PostFields) -> bool {
        &PostPatch::default().apply(current) == fields
    }

    fn sets_tags(_patch: &PostPatch) -> bool {
        false
    }

    fn tags(_fields: &PostFields) -> &Tags {
        tags::EMPTY
    }

    /// Its links, and whom its body mentions.
    fn write_beside(
        conn: &mut DbConnection,
        account_id: i64,
        id: i64,
        current: Option<&Post>,
        fields: &PostFields,
    ) -> Result<(), StoreError> {
        if current.is_none_or(|c| c.links != fields.links.to_vec()) {
            links::replace(conn, account_id, RecordType::Post, id, &fields.links)?;
        }
        if current.is_none_or(|c| c.body != fields.body.as_str()) {
            write_mentions(conn, account_id, RecordType::Post, id, fields.body.as_str())?;
        }
        Ok(())
    }

    /// Its comments go with it (`ON DELETE CASCADE`), and whom they mention.
    fn unlink(
        conn: &mut DbConnection,
        account_id: i64,
        id: i64,
        _outbox: &Outbox<'_>,
    ) -> Result<Vec<NewEvent>, StoreError> {
        links::remove(conn, account_id, RecordType::Post, id)?;
        remove_mentions(conn, RecordType::Post, &[id])?;
        let comment_ids: Vec<i64> = comments::table
            .filter(comments::post_id.eq(id))
            .select(comments::id)
            .load(conn)?;
        remove_mentions(conn, RecordType::Comment, &comment_ids)?;
        Ok(Vec::new())
    }

    record::row_writes!(posts, PostValues);
}

impl Linked for Posts {
    const OWNER: RecordType = RecordType::Post;

    fn links(post: &Post) -> Links {
        Links::from_stored(post.links.iter().copied())
    }

    fn relinked(links: Links) -> PostPatch {
        PostPatch {
            links: Some(links),
            ..PostPatch::default()
        }
    }
}

/// Comments in the shared record plumbing: their one writable field is the body.
pub(crate) struct Comments;

impl Versioned for Comments {
    type Record = Comment;
    type Fields = Markdown;
    type Patch = Markdown;
    const UPDATED: EventType = EventType::CommentUpdated;
    const DELETED: EventType = EventType::CommentDeleted;
    const TAGS: TagTable = tags::NONE;

    fn lock(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Comment, StoreError> {
        match conn {
            DbConnection::Postgresql(pg) => comments::table
                .filter(comments::id.eq(id))
                .filter(comments::account_id.eq(account_id))
                .select(CommentRow::as_select())
                .for_update()
                .first(pg)
                .optional()?
                .map(Comment::from)
                .ok_or(StoreError::NotFound),
            DbConnection::Sqlite(_) => find_comment(conn, account_id, id),
        }
    }

    fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Comment, StoreError> {
        find_comment(conn, account_id, id)
    }

    fn version(comment: &Comment) -> i64 {
        comment.version
    }

    fn render(outbox: &Outbox<'_>, comment: &Comment) -> Value {
        outbox.render.comment(comment)
    }

    fn patched(
        _conn: &mut DbConnection,
        _account_id: i64,
        _id: i64,
        _current: &Comment,
        body: Markdown,
    ) -> Result<Markdown, StoreError> {
        Ok(body)
    }

    fn unchanged(current: &Comment, body: &Markdown) -> bool {
        current.body == body.as_str()
    }

    fn sets_tags(_body: &Markdown) -> bool {
        false
    }

    fn tags(_body: &Markdown) -> &Tags {
        tags::EMPTY
    }

    fn write_beside(
        conn: &mut DbConnection,
        account_id: i64,
        id: i64,
        _current: Option<&Comment>,
        body: &Markdown,
    ) -> Result<(), StoreError> {
        write_mentions(conn, account_id, RecordType::Comment, id, body.as_str())
    }

    fn unlink(
        conn: &mut DbConnection,
        account_id: i64,
        id: i64,
        _outbox: &Outbox<'_>,
    ) -> Result<Vec<NewEvent>, StoreError> {
        remove_mentions(conn, RecordType::Comment, &[id])?;
        let comment = find_comment(conn, account_id, id)?;
        count_comments(conn, comment.post_id, -1)?;
        Ok(Vec::new())
    }

    record::row_writes!(comments, CommentValues);
}

fn find_post(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Post, StoreError> {
    posts::table
        .filter(posts::id.eq(id))
        .filter(posts::account_id.eq(account_id))
        .select(PostRow::as_select())
        .first(conn)
        .optional()?
        .map(Post::from)
        .ok_or(StoreError::NotFound)
}

fn find_comment(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Comment, StoreError> {
    comments::table
        .filter(comments::id.eq(id))
        .filter(comments::account_id.eq(account_id))
        .select(CommentRow::as_select())
        .first(conn)
        .optional()?
        .map(Comment::from)
        .ok_or(StoreError::NotFound)
}
