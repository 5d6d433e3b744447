-- Posts on the news feed and their comments: Markdown as written, who wrote it, links to
-- records (record_links, owner_type 'post'), and the team members their @mentions name.
CREATE TABLE posts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    author_id BIGINT REFERENCES users (id),
    body TEXT NOT NULL,
    pinned BOOLEAN NOT NULL,
    links TEXT NOT NULL,
    mention_ids TEXT NOT NULL,
    comment_count BIGINT NOT NULL DEFAULT 0,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX posts_created ON posts (account_id, created_at, id);
CREATE INDEX posts_updated ON posts (account_id, updated_at, id);
CREATE INDEX posts_author ON posts (account_id, author_id, created_at, id);
CREATE INDEX posts_pinned ON posts (account_id, pinned, created_at, id);

CREATE TABLE comments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    post_id BIGINT NOT NULL REFERENCES posts (id) ON DELETE CASCADE,
    author_id BIGINT REFERENCES users (id),
    body TEXT NOT NULL,
    mention_ids TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX comments_post ON comments (post_id, id);

-- Who a post or comment mentions, for `mentions=me`.
CREATE TABLE mentions (
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    owner_type TEXT NOT NULL,
    owner_id BIGINT NOT NULL,
    user_id BIGINT NOT NULL REFERENCES users (id),
    PRIMARY KEY (owner_type, owner_id, user_id)
);
CREATE INDEX mentions_user ON mentions (account_id, user_id, owner_type, owner_id);
