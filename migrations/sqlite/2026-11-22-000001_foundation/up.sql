-- Tenancy, people, personal tokens, companies and contacts.
-- Timestamps are UTC, written by the service with microsecond precision.

CREATE TABLE accounts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    email TEXT NOT NULL,
    email_normalized TEXT NOT NULL,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('admin', 'member', 'viewer')),
    active BOOLEAN NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    UNIQUE (account_id, email_normalized)
);
CREATE INDEX users_account_id ON users (account_id, id);

CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    kind TEXT NOT NULL CHECK (kind IN ('personal')),
    name TEXT NOT NULL,
    display_prefix TEXT NOT NULL,
    secret_digest TEXT NOT NULL UNIQUE,
    scopes TEXT NOT NULL,
    expires_at TIMESTAMP,
    last_used_at TIMESTAMP,
    revoked_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX api_tokens_user ON api_tokens (account_id, user_id, id);

CREATE TABLE companies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    name TEXT NOT NULL,
    domain TEXT,
    website TEXT,
    email TEXT,
    phone TEXT,
    industry TEXT,
    size_band TEXT,
    address TEXT,
    description TEXT,
    owner_id BIGINT REFERENCES users (id),
    tags TEXT NOT NULL,
    custom_fields TEXT NOT NULL,
    show_in_pipeline BOOLEAN NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX companies_created ON companies (account_id, created_at, id);
CREATE INDEX companies_updated ON companies (account_id, updated_at, id);
CREATE INDEX companies_name ON companies (account_id, name, id);
CREATE INDEX companies_owner ON companies (account_id, owner_id);
CREATE INDEX companies_industry ON companies (account_id, industry);

-- Tags are kept twice: as a JSON list on the record (read with it, no second query) and here,
-- where the `tag` filter finds them by index.
CREATE TABLE company_tags (
    company_id BIGINT NOT NULL REFERENCES companies (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (company_id, tag)
);
CREATE INDEX company_tags_tag ON company_tags (account_id, tag, company_id);

CREATE TABLE contacts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    first_name TEXT NOT NULL,
    last_name TEXT,
    -- "first last": what `sort=name` orders by and `q` searches.
    full_name TEXT NOT NULL,
    email TEXT,
    email_normalized TEXT,
    phone TEXT,
    job_title TEXT,
    company_id BIGINT REFERENCES companies (id),
    reports_to_id BIGINT REFERENCES contacts (id),
    owner_id BIGINT REFERENCES users (id),
    tags TEXT NOT NULL,
    custom_fields TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX contacts_created ON contacts (account_id, created_at, id);
CREATE INDEX contacts_updated ON contacts (account_id, updated_at, id);
CREATE INDEX contacts_name ON contacts (account_id, full_name, id);
CREATE INDEX contacts_company ON contacts (account_id, company_id);
CREATE INDEX contacts_email ON contacts (account_id, email_normalized);
CREATE INDEX contacts_owner ON contacts (account_id, owner_id);
CREATE INDEX contacts_reports_to ON contacts (reports_to_id);

CREATE TABLE contact_tags (
    contact_id BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    account_id BIGINT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (contact_id, tag)
);
CREATE INDEX contact_tags_tag ON contact_tags (account_id, tag, contact_id);
