-- A list filtered by one of these columns, in its default order (newest first), reads one
-- index range in order: the filter's column, then created_at and id. Each replaces the index
-- on the filter's column alone (or with id), which it covers.
DROP INDEX companies_owner;
CREATE INDEX companies_owner ON companies (account_id, owner_id, created_at, id);
DROP INDEX companies_industry;
CREATE INDEX companies_industry ON companies (account_id, industry, created_at, id);
DROP INDEX companies_pipeline;
CREATE INDEX companies_pipeline ON companies (account_id, pipeline_id, created_at, id);
DROP INDEX companies_status;
CREATE INDEX companies_status ON companies (account_id, relationship_status, created_at, id);
DROP INDEX contacts_company;
CREATE INDEX contacts_company ON contacts (account_id, company_id, created_at, id);
DROP INDEX contacts_owner;
CREATE INDEX contacts_owner ON contacts (account_id, owner_id, created_at, id);
DROP INDEX projects_company;
CREATE INDEX projects_company ON projects (account_id, company_id, created_at, id);
DROP INDEX projects_owner;
CREATE INDEX projects_owner ON projects (account_id, owner_id, created_at, id);
DROP INDEX projects_pipeline;
CREATE INDEX projects_pipeline ON projects (account_id, pipeline_id, created_at, id);
DROP INDEX projects_state;
CREATE INDEX projects_state ON projects (account_id, state, created_at, id);
