//! Synthetic data for benchmarks: many companies spread over a pipeline's phases, each with a
//! contact and the history row of its entry into its phase, generated inside the database by
//! set-based statements (no row crosses the connection). Not a way to load real data: it
//! records no events; `clientline import` is that.

use diesel::connection::SimpleConnection;
use diesel::prelude::*;

use crate::pool::write_transaction;
use crate::schema::{companies, phases, projects, tasks};
use crate::{DbConnection, StoreError};

/// What a seed made.
#[derive(Debug, Clone)]
pub struct Seeded {
    /// The ids of the records made: `first_id..=last_id`, with no gaps.
    pub first_id: i64,
    pub last_id: i64,
    /// The pipeline's phases in order; record `first_id + k` is in
    /// `phase_ids[k % phase_ids.len()]`.
    pub phase_ids: Vec<i64>,
}

/// Adds `count` companies to `pipeline_id` of `account_id`, round-robin over its phases in
/// order, each with one contact and one history row; then refreshes the planner's statistics.
/// Companies are named `Seed company <n>` with domain `seed<n>.example` and phone
/// `+44 20 <70000000 + n>`, in `Industry <n % 20>`; contacts `Person Seed<n>`, with email
/// `person<n>@seed<n>.example` and phone `+1 415 <5000000 + n>` (what search finds them by);
/// every tenth is owned by the account's first user and tagged `vip`, every twentieth has a
/// follow-up due, so that each list filter has something to find.
pub fn companies(
    conn: &mut DbConnection,
    account_id: i64,
    pipeline_id: i64,
    count: i64,
) -> Result<Seeded, StoreError> {
    let phase_ids: Vec<i64> = phases::table
        .filter(phases::account_id.eq(account_id))
        .filter(phases::pipeline_id.eq(pipeline_id))
        .order(phases::position)
        .select(phases::id)
        .load(conn)?;
    if phase_ids.is_empty() {
        return Err(StoreError::NotFound);
    }
    let before: Option<i64> = companies::table
        .select(diesel::dsl::max(companies::id))
        .first(conn)?;
    let sql = match conn {
        DbConnection::Postgresql(_) => postgres_sql(account_id, pipeline_id, count),
        DbConnection::Sqlite(_) => sqlite_sql(account_id, pipeline_id, count),
    };
    write_transaction(conn, |conn| Ok::<_, StoreError>(conn.batch_execute(&sql)?))?;
    let (first, last): (Option<i64>, Option<i64>) = companies::table
        .filter(companies::account_id.eq(account_id))
        .filter(companies::id.gt(before.unwrap_or(0)))
        .select((
            diesel::dsl::min(companies::id),
            diesel::dsl::max(companies::id),
        ))
        .first(conn)?;
    let (Some(first), Some(last)) = (first, last) else {
        return Err(StoreError::NotFound);
    };
    match conn {
        // One statement each: several in one string would run as one transaction, which
        // VACUUM refuses.
        DbConnection::Postgresql(_) => {
            for table in [
                "companies",
                "company_tags",
                "contacts",
                "company_transitions",
            ] {
                conn.batch_execute(&format!("VACUUM (ANALYZE) {table}"))?;
            }
        }
        DbConnection::Sqlite(_) => conn.batch_execute("ANALYZE;")?,
    }
    Ok(Seeded {
        first_id: first,
        last_id: last,
        phase_ids,
    })
}

/// Adds `count` projects to the project pipeline `pipeline_id`, round-robin over its phases,
/// each with one history row, a value (EUR and USD in turn) and the company
/// `companies.0 + n % (companies.1 - companies.0 + 1)` (the ids a company seed made).
pub fn projects(
    conn: &mut DbConnection,
    account_id: i64,
    pipeline_id: i64,
    count: i64,
    companies: (i64, i64),
) -> Result<Seeded, StoreError> {
    let phase_ids: Vec<i64> = phases::table
        .filter(phases::account_id.eq(account_id))
        .filter(phases::pipeline_id.eq(pipeline_id))
        .order(phases::position)
        .select(phases::id)
        .load(conn)?;
    if phase_ids.is_empty() {
        return Err(StoreError::NotFound);
    }
    let before: Option<i64> = projects::table
        .select(diesel::dsl::max(projects::id))
        .first(conn)?;
    let (first_company, last_company) = companies;
    let template = PROJECTS
        .replace("{first_company}", &first_company.to_string())
        .replace(
            "{companies}",
            &(last_company - first_company + 1).max(1).to_string(),
        );
    let sql = match conn {
        DbConnection::Postgresql(_) => {
            fill(
                &template,
                account_id,
                pipeline_id,
                &pg_numbers(count),
                PG_TS,
            ) + "SELECT setval(pg_get_serial_sequence('projects', 'id'), (SELECT MAX(id) FROM projects));"
        }
        DbConnection::Sqlite(_) => fill(
            &template,
            account_id,
            pipeline_id,
            &sqlite_numbers(count),
            SQLITE_TS,
        ),
    };
    write_transaction(conn, |conn| Ok::<_, StoreError>(conn.batch_execute(&sql)?))?;
    let (first, last): (Option<i64>, Option<i64>) = projects::table
        .filter(projects::account_id.eq(account_id))
        .filter(projects::id.gt(before.unwrap_or(0)))
        .select((
            diesel::dsl::min(projects::id),
            diesel::dsl::max(projects::id),
        ))
        .first(conn)?;
    let (Some(first), Some(last)) = (first, last) else {
        return Err(StoreError::NotFound);
    };
    match conn {
        DbConnection::Postgresql(_) => {
            for table in [
                "projects",
                "project_transitions",
                "phase_counts",
                "phase_values",
            ] {
                conn.batch_execute(&format!("VACUUM (ANALYZE) {table}"))?;
            }
        }
        DbConnection::Sqlite(_) => conn.batch_execute("ANALYZE;")?,
    }
    Ok(Seeded {
        first_id: first,
        last_id: last,
        phase_ids,
    })
}

/// Adds `count` tasks, each assigned to the account's first user and linked to the company
/// `companies.0 + n % (companies.1 - companies.0 + 1)`: all overdue (due in 2025) but every
/// thousandth, which is due at `now` (today's), so that an agenda has both to find. Every
/// thousandth is linked to the first company too, whose timeline is then a busy one; each
/// task's creation is in the news feed. Returns the ids made.
pub fn tasks(
    conn: &mut DbConnection,
    account_id: i64,
    count: i64,
    companies: (i64, i64),
    now: chrono::NaiveDateTime,
) -> Result<(i64, i64), StoreError> {
    let before: Option<i64> = tasks::table
        .select(diesel::dsl::max(tasks::id))
        .first(conn)?;
    let (first_company, last_company) = companies;
    let template = TASKS
        .replace("{first_company}", &first_company.to_string())
        .replace(
            "{companies}",
            &(last_company - first_company + 1).max(1).to_string(),
        )
        .replace("{now}", &now.format("%Y-%m-%d %H:%M:%S").to_string());
    let sql = match conn {
        DbConnection::Postgresql(_) => {
            fill(&template, account_id, 0, &pg_numbers(count), PG_TS)
                + "SELECT setval(pg_get_serial_sequence('tasks', 'id'), (SELECT MAX(id) FROM tasks));"
        }
        DbConnection::Sqlite(_) => {
            fill(&template, account_id, 0, &sqlite_numbers(count), SQLITE_TS)
        }
    };
    write_transaction(conn, |conn| Ok::<_, StoreError>(conn.batch_execute(&sql)?))?;
    let (first, last): (Option<i64>, Option<i64>) = tasks::table
        .filter(tasks::account_id.eq(account_id))
        .filter(tasks::id.gt(before.unwrap_or(0)))
        .select((diesel::dsl::min(tasks::id), diesel::dsl::max(tasks::id)))
        .first(conn)?;
    let (Some(first), Some(last)) = (first, last) else {
        return Err(StoreError::NotFound);
    };
    match conn {
        DbConnection::Postgresql(_) => {
            for table in ["tasks", "task_assignees", "record_links", "feed_items"] {
                conn.batch_execute(&format!("VACUUM (ANALYZE) {table}"))?;
            }
        }
        DbConnection::Sqlite(_) => conn.batch_execute("ANALYZE;")?,
    }
    Ok((first, last))
}

const TASKS: &str = "
CREATE TEMPORARY TABLE seed_numbers AS {numbers};
CREATE TEMPORARY TABLE seed_base AS SELECT COALESCE(MAX(id), 0) AS base,
    (SELECT MIN(id) FROM users WHERE account_id = {account}) AS owner FROM tasks;
INSERT INTO tasks (id, account_id, title, due_at, priority, status, assignee_ids, links, tags,
        created_by, version, created_at, updated_at, due_event_at)
    SELECT b.base + g.n, {account}, 'Seed task ' || g.n,
        CASE WHEN g.n % 1000 = 0 THEN '{now}' ELSE {ts} END, 'normal', 'open',
        '[' || b.owner || ']', '[\"company:' || ({first_company} + (g.n % {companies})) || '\"'
            || CASE WHEN g.n % 1000 = 0 AND g.n % {companies} <> 0
                THEN ',\"company:{first_company}\"' ELSE '' END || ']',
        '[]', b.owner, 1, {ts}, {ts}, {ts}
    FROM seed_numbers g CROSS JOIN seed_base b ORDER BY g.n;
INSERT INTO task_assignees (task_id, user_id, account_id, status, due_at)
    SELECT b.base + g.n, b.owner, {account}, 'open',
        CASE WHEN g.n % 1000 = 0 THEN '{now}' ELSE {ts} END
    FROM seed_numbers g CROSS JOIN seed_base b ORDER BY g.n;
INSERT INTO record_links (account_id, owner_type, owner_id, record_type, record_id)
    SELECT {account}, 'task', b.base + g.n, 'company', {first_company} + (g.n % {companies})
    FROM seed_numbers g CROSS JOIN seed_base b ORDER BY g.n;
INSERT INTO record_links (account_id, owner_type, owner_id, record_type, record_id)
    SELECT {account}, 'task', b.base + g.n, 'company', {first_company}
    FROM seed_numbers g CROSS JOIN seed_base b
    WHERE g.n % 1000 = 0 AND g.n % {companies} <> 0 ORDER BY g.n;
INSERT INTO feed_items (account_id, type, record_type, record_id, subject_type, subject_id,
        actor_user_id, data, occurred_at)
    SELECT {account}, 'task.created', 'task', b.base + g.n, 'task', b.base + g.n, b.owner,
        '{\"id\":' || (b.base + g.n) || ',\"title\":\"Seed task ' || g.n || '\"}', {ts}
    FROM seed_numbers g CROSS JOIN seed_base b ORDER BY g.n;
DROP TABLE seed_numbers;
DROP TABLE seed_base;
";

const PROJECTS: &str = "
CREATE TEMPORARY TABLE seed_phases AS
    SELECT id, name, status, ROW_NUMBER() OVER (ORDER BY position) - 1 AS k
    FROM phases WHERE account_id = {account} AND pipeline_id = {pipeline};
CREATE TEMPORARY TABLE seed_numbers AS {numbers};
CREATE TEMPORARY TABLE seed_base AS SELECT COALESCE(MAX(id), 0) AS base FROM projects;
INSERT INTO projects (id, account_id, name, company_id, value_units, value_currency,
        expected_finish_date, tags, custom_fields, version, created_at, updated_at,
        pipeline_id, phase_id, state, phase_entered_at)
    SELECT b.base + g.n, {account}, 'Seed project ' || g.n,
        {first_company} + (g.n % {companies}), (g.n % 1000 + 1) * 1000000,
        CASE WHEN g.n % 2 = 0 THEN 'EUR' ELSE 'USD' END, '2027-01-01', '[]', '{}', 1,
        {ts}, {ts}, {pipeline}, p.id, p.status, {ts}
    FROM seed_numbers g CROSS JOIN seed_base b
    JOIN seed_phases p ON p.k = (g.n - 1) % (SELECT COUNT(*) FROM seed_phases)
    ORDER BY g.n;
INSERT INTO project_transitions (account_id, project_id, from_pipeline_id, to_pipeline_id,
        from_phase_id, from_phase_name, to_phase_id, to_phase_name, from_status, to_status,
        created_at)
    SELECT {account}, b.base + g.n, NULL, {pipeline}, NULL, NULL, p.id, p.name, 'not_set',
        p.status, {ts}
    FROM seed_numbers g CROSS JOIN seed_base b
    JOIN seed_phases p ON p.k = (g.n - 1) % (SELECT COUNT(*) FROM seed_phases)
    ORDER BY g.n;
DROP TABLE seed_phases;
DROP TABLE seed_numbers;
DROP TABLE seed_base;
";

const PG_TS: &str = "(TIMESTAMP '2025-01-01 00:00:00' + g.n * INTERVAL '1 second')";
const SQLITE_TS: &str =
    "strftime('%Y-%m-%d %H:%M:%f', '2025-01-01 00:00:00', '+' || g.n || ' seconds')";

fn pg_numbers(count: i64) -> String {
    format!("SELECT n FROM generate_series(1, {count}) AS n")
}

fn sqlite_numbers(count: i64) -> String {
    format!(
        "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {count}) SELECT n FROM s"
    )
}

/// The statements of both backends differ only in how they count and write times; `{ts}` is
/// replaced by the backend's expression for "the start plus `g.n` seconds".
const TEMPLATE: &str = "
CREATE TEMPORARY TABLE seed_phases AS
    SELECT id, name, status, ROW_NUMBER() OVER (ORDER BY position) - 1 AS k
    FROM phases WHERE account_id = {account} AND pipeline_id = {pipeline};
CREATE TEMPORARY TABLE seed_numbers AS {numbers};
CREATE TEMPORARY TABLE seed_base AS SELECT COALESCE(MAX(id), 0) AS base FROM companies;
INSERT INTO companies (id, account_id, name, domain, phone, industry, size_band, tags,
        custom_fields, show_in_pipeline, version, created_at, updated_at, pipeline_id, phase_id,
        relationship_status, phase_entered_at, owner_id, follow_up_due_at)
    SELECT b.base + g.n, {account}, 'Seed company ' || g.n, 'seed' || g.n || '.example',
        '+44 20 ' || (70000000 + g.n),
        'Industry ' || (g.n % 20), '11-50',
        CASE WHEN g.n % 10 = 0 THEN '[\"vip\"]' ELSE '[]' END, '{}', TRUE, 1, {ts}, {ts},
        {pipeline}, p.id, p.status, {ts},
        CASE WHEN g.n % 10 = 0 THEN (SELECT MIN(id) FROM users WHERE account_id = {account}) END,
        CASE WHEN g.n % 20 = 0 THEN {ts} END
    FROM seed_numbers g CROSS JOIN seed_base b
    JOIN seed_phases p ON p.k = (g.n - 1) % (SELECT COUNT(*) FROM seed_phases)
    ORDER BY g.n;
INSERT INTO company_tags (company_id, account_id, tag)
    SELECT b.base + g.n, {account}, 'vip' FROM seed_numbers g CROSS JOIN seed_base b
    WHERE g.n % 10 = 0 ORDER BY g.n;
INSERT INTO contacts (account_id, first_name, last_name, full_name, email, email_normalized,
        phone, company_id, tags, custom_fields, version, created_at, updated_at)
    SELECT {account}, 'Person', 'Seed' || g.n, 'Person Seed' || g.n,
        'person' || g.n || '@seed' || g.n || '.example',
        'person' || g.n || '@seed' || g.n || '.example', '+1 415 ' || (5000000 + g.n),
        b.base + g.n, '[]', '{}', 1, {ts}, {ts}
    FROM seed_numbers g CROSS JOIN seed_base b ORDER BY g.n;
INSERT INTO company_transitions (account_id, company_id, from_pipeline_id, to_pipeline_id,
        from_phase_id, from_phase_name, to_phase_id, to_phase_name, from_status, to_status,
        created_at)
    SELECT {account}, b.base + g.n, NULL, {pipeline}, NULL, NULL, p.id, p.name, 'not_set',
        p.status, {ts}
    FROM seed_numbers g CROSS JOIN seed_base b
    JOIN seed_phases p ON p.k = (g.n - 1) % (SELECT COUNT(*) FROM seed_phases)
    ORDER BY g.n;
DROP TABLE seed_phases;
DROP TABLE seed_numbers;
DROP TABLE seed_base;
";

fn fill(template: &str, account_id: i64, pipeline_id: i64, numbers: &str, ts: &str) -> String {
    template
        .replace("{numbers}", numbers)
        .replace("{ts}", ts)
        .replace("{account}", &account_id.to_string())
        .replace("{pipeline}", &pipeline_id.to_string())
}

fn postgres_sql(account_id: i64, pipeline_id: i64, count: i64) -> String {
    let sql = fill(TEMPLATE, account_id, pipeline_id, &pg_numbers(count), PG_TS);
    // Identity columns do not advance when ids are given: move them past the seeded rows.
    sql + "SELECT setval(pg_get_serial_sequence('companies', 'id'), (SELECT MAX(id) FROM companies));"
}

fn sqlite_sql(account_id: i64, pipeline_id: i64, count: i64) -> String {
    fill(
        TEMPLATE,
        account_id,
        pipeline_id,
        &sqlite_numbers(count),
        SQLITE_TS,
    )
}
