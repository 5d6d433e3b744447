DROP INDEX companies_domain;
DROP TABLE enquiries;
