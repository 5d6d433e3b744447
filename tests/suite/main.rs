//! Clientline's end-to-end suite: the real binary or the real actix app over HTTP, on a real
//! database (SQLite always, PostgreSQL when `CLIENTLINE_TEST_DATABASE_URL` is set). One test
//! crate with a module per area, so that the suite links once.

mod common;

mod activity_dates;
mod agenda;
mod auth;
mod binary;
mod calendar;
mod companies;
mod contacts;
mod contract;
mod enquiries;
mod events;
mod feed;
mod fields;
mod idempotency;
mod import;
mod import_command;
mod javascript_tokens;
mod lookups;
mod meetings;
mod merge;
mod moves;
mod oauth;
mod oauth_client_credentials;
mod oauth_clients;
mod passwords;
mod pipelines;
mod platform;
mod posts;
mod project_engine;
mod project_pipelines;
mod projects;
mod query;
mod reminders;
mod roles;
mod search;
mod secrets;
mod tasks;
mod totp;
mod units;
mod users;
mod views;
mod webhooks;
