-- Enquiries: an inbound request as the enquirer wrote it, and what a conversion made of it.
CREATE TABLE enquiries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id BIGINT NOT NULL REFERENCES accounts (id),
    name TEXT,
    email TEXT,
    email_normalized TEXT,
    phone TEXT,
    company_name TEXT,
    subject TEXT,
    message TEXT,
    source TEXT NOT NULL,
    received_at TIMESTAMP NOT NULL,
    assignee_id BIGINT REFERENCES users (id),
    status TEXT NOT NULL,
    close_reason TEXT,
    -- What a conversion made of it; no foreign keys: the records may go later.
    company_id BIGINT,
    contact_id BIGINT,
    project_id BIGINT,
    converted_at TIMESTAMP,
    version BIGINT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX enquiries_created ON enquiries (account_id, created_at, id);
CREATE INDEX enquiries_updated ON enquiries (account_id, updated_at, id);
CREATE INDEX enquiries_received ON enquiries (account_id, received_at, id);
CREATE INDEX enquiries_status ON enquiries (account_id, status, received_at, id);
CREATE INDEX enquiries_assignee ON enquiries (account_id, assignee_id, status, received_at, id);
-- A company's match by its domain, and a contact's by its email: their tables' indexes.
CREATE INDEX companies_domain ON companies (account_id, domain);
