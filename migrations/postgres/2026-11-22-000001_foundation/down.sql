DROP TABLE contact_tags;
DROP TABLE contacts;
DROP TABLE company_tags;
DROP TABLE companies;
DROP TABLE api_tokens;
DROP TABLE users;
DROP TABLE accounts;
