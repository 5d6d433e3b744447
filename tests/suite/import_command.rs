//! `clientline import`: a CSV file fed through the import code, with a report of bad rows.

use std::process::{Command, Output};

use crate::common::fresh_database;
use diesel::prelude::*;
use persistence::schema::{companies, events, projects};

fn clientline(database_url: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_clientline"))
        .env("DATABASE_URL", database_url)
        .env("RUST_LOG", "warn")
        .envs(crate::common::binary_env(database_url))
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run clientline: {e}"))
}

fn create_account(database_url: &str, name: &str, email: &str) -> i64 {
    let out = clientline(
        database_url,
        &[
            "account",
            "create",
            "--name",
            name,
            "--admin-email",
            email,
            "--json",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let created: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    created["account_id"].as_i64().unwrap_or_default()
}

fn count(database_url: &str) -> (i64, i64) {
    let db = persistence::Db::connect(database_url, 1, crate::common::binary_vault(database_url))
        .unwrap_or_else(|e| panic!("{e:?}"));
    let mut conn = db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    let companies: i64 = companies::table
        .count()
        .get_result(&mut *conn)
        .unwrap_or_else(|e| panic!("{e}"));
    let events: i64 = events::table
        .count()
        .get_result(&mut *conn)
        .unwrap_or_else(|e| panic!("{e}"));
    (companies, events)
}

fn csv_file(text: &str) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(file.path(), text).unwrap_or_else(|e| panic!("{e}"));
    file
}

#[test]
fn the_command_imports_good_rows_reports_bad_ones_and_fails() {
    let (url, _db) = fresh_database();
    create_account(&url, "Acme Consulting", "ana@acme.test");
    let file = csv_file("name,domain\nAcme Ltd,acme.com\n,blank.com\nGlobex,globex.com\n");
    let path = file.path().display().to_string();
    let out = clientline(&url, &["import", "companies", &path]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "a bad row makes the command fail");
    assert!(stdout.contains("row 2: name"), "{stdout}");
    assert!(
        stdout.contains("2 created, 0 updated, 1 failed"),
        "{stdout}"
    );
    assert_eq!(count(&url), (2, 2), "two companies, each with its event");
}

#[test]
fn an_atomic_command_import_with_a_bad_row_writes_nothing() {
    let (url, _db) = fresh_database();
    create_account(&url, "Acme Consulting", "ana@acme.test");
    let file = csv_file("name\nAcme Ltd\n\"\"\n");
    let path = file.path().display().to_string();
    let out = clientline(&url, &["import", "companies", &path, "--atomic"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing was written"));
    assert_eq!(count(&url), (0, 0));
}

#[test]
fn the_command_needs_an_account_when_there_are_several() {
    let (url, _db) = fresh_database();
    create_account(&url, "First", "a@first.test");
    let second = create_account(&url, "Second", "a@second.test");
    let file = csv_file("first_name,email\nAna,ana@acme.com\n");
    let path = file.path().display().to_string();
    let refused = clientline(&url, &["import", "contacts", &path]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--account"));
    let account = second.to_string();
    let out = clientline(&url, &["import", "contacts", &path, "--account", &account]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 created"));
}

#[test]
fn a_stray_quote_near_the_end_of_a_file_writes_no_batch() {
    let (url, _db) = fresh_database();
    create_account(&url, "Acme Consulting", "ana@acme.test");
    let mut text = String::from("name\n");
    for n in 0..30 {
        text.push_str(&format!("Company {n}\n"));
    }
    text.push_str("Bro\"ken\n");
    let file = csv_file(&text);
    let path = file.path().display().to_string();
    let out = clientline(&url, &["import", "companies", &path, "--batch", "10"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 32, column 1"), "{stderr}");
    assert_eq!(count(&url), (0, 0));
}

#[test]
fn the_command_upserts_projects_on_their_external_id_in_batches() {
    let (url, _db) = fresh_database();
    create_account(&url, "Acme Consulting", "ana@acme.test");
    let mut text = String::from("name,external_id,value.amount,value.currency\n");
    for n in 0..25 {
        text.push_str(&format!("Project {n},ERP-{n},{n}000,EUR\n"));
    }
    let file = csv_file(&text);
    let path = file.path().display().to_string();
    let out = clientline(&url, &["import", "projects", &path, "--batch", "10"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("25 created"));
    let again = csv_file("external_id,value.amount,value.currency\nERP-3,4500,EUR\nERP-99,1,EUR\n");
    let again_path = again.path().display().to_string();
    let out = clientline(
        &url,
        &["import", "projects", &again_path, "--mode", "upsert"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "a row that matches nothing and has no name fails"
    );
    assert!(stdout.contains("row 2: name"), "{stdout}");
    assert!(
        stdout.contains("0 created, 1 updated, 1 failed"),
        "{stdout}"
    );
    let db = persistence::Db::connect(&url, 1, crate::common::binary_vault(&url))
        .unwrap_or_else(|e| panic!("{e:?}"));
    let mut conn = db.conn().unwrap_or_else(|e| panic!("{e:?}"));
    let (total, units): (i64, Option<i64>) = (
        projects::table
            .count()
            .get_result(&mut *conn)
            .unwrap_or_else(|e| panic!("{e}")),
        projects::table
            .filter(projects::external_id.eq("ERP-3"))
            .select(projects::value_units)
            .first(&mut *conn)
            .unwrap_or_else(|e| panic!("{e}")),
    );
    assert_eq!(total, 25);
    assert_eq!(units, Some(45_000_000), "4500 EUR in ten-thousandths");
    let events: i64 = events::table
        .filter(events::event_type.eq("project.updated"))
        .count()
        .get_result(&mut *conn)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(events, 1);
}
