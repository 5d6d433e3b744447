//! Projects: CRUD, filtered keyset lists and moves, always within one account. Placement,
//! moves and history are the pipeline engine's ([`crate::placement`]); what is here is the
//! projects' own: their columns, their references, and the dates their moves set.

mod import;
pub mod people;

pub use import::{NewProject, import};

use crate::activities;
use domain::fields::FieldRecordType;
use domain::links::{LinkType, RecordRef};
use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Date, Nullable, Text};
use domain::Invalid;
use domain::company::{CompanyPlace, ProjectTotals};
use domain::event::{EventType, NewEvent, Outbox};
use domain::filter::Target;
use domain::listing::{Page, PageSize, Position, Sort, SortField, SortValue};
use domain::pipeline::{Move, Outcome, Pipeline, RecordKind, Status, Transition};
use domain::project::{DateDuration, Money, Project, ProjectFields, ProjectPatch};

use crate::activity_dates::{self, ActivityFilter, filter_activity};
use crate::filter::{Column, Columns, Storage, column_name, compile};
use crate::keyset::{
    contains_pattern, date_value, int_value, keyset_page, lower, read_page, text_value, time_value,
    unsupported_sort,
};
use crate::placement::{
    self, BoardFilter, BoardSql, CardDetail, Cell, CellRow, ForecastMonth, MoveKind, Pipelined,
    RecordEvents, ValueBucket, ValueStats,
};
use crate::prepared::{FixedSql, JsonColumn, json_rows, parse_json_rows};
use crate::record::{self, Versioned};
use crate::references::{check_company, check_owner};
use crate::schema::{phases, project_transitions, projects};
use crate::tags::{self, TagTable};
use crate::{Backend, DbConnection, StoreError, events, now, to_utc, write_transaction};

/// Projects move through project pipelines, with their history in `project_transitions`.
pub(crate) struct ProjectPlacement;

/// A row of the board's statement over projects.
#[derive(Debug, QueryableByName)]
pub(crate) struct ProjectCardRow {
    #[diesel(embed)]
    cell: CellRow,
    #[diesel(sql_type = Nullable<BigInt>)]
    company_id: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    company_name: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    value_units: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    value_currency: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    probability: Option<i64>,
    #[diesel(sql_type = Nullable<Date>)]
    expected_finish_date: Option<NaiveDate>,
}

impl Pipelined for ProjectPlacement {
    const KIND: RecordKind = RecordKind::Project;
    const EVENTS: RecordEvents = RecordEvents {
        updated: EventType::ProjectUpdated,
        phase_changed: EventType::ProjectPhaseChanged,
        won: EventType::ProjectWon,
        lost: EventType::ProjectLost,
    };
    const SHOWS_PROBABILITY: bool = true;
    type Record = Project;

    placement::record_access!(Project, get, get_many, project);

    fn after_move(
        conn: &mut DbConnection,
        before: &Project,
        transition: &Transition,
    ) -> Result<(), StoreError> {
        set_move_dates(conn, before, transition)
    }

    const BOARD: BoardSql = BoardSql {
        table: "projects",
        tags: ("project_tags", "project_id"),
        on_board: "",
        columns: "c.company_id AS company_id, k.name AS company_name, \
                  c.value_units AS value_units, c.value_currency AS value_currency, \
                  c.probability AS probability, c.expected_finish_date AS expected_finish_date",
        joins: "LEFT JOIN companies k ON k.id = c.company_id",
        view_from: "projects LEFT JOIN phases ON phases.id = projects.phase_id",
    };
    const FILTER_COLUMNS: crate::filter::Columns = FILTER_COLUMNS;
    type CardRow = ProjectCardRow;

    fn cell(row: ProjectCardRow, pipeline: &Pipeline) -> Cell {
        let phase_probability = pipeline
            .phase(row.cell.phase_id())
            .and_then(|phase| phase.probability);
        row.cell.into_cell(CardDetail::Project {
            company_id: row.company_id,
            company_name: row.company_name,
            value: row
                .value_units
                .zip(row.value_currency)
                .map(|(units, currency)| Money::from_stored(units, currency)),
            probability: row.probability.or(phase_probability),
            expected_finish_date: row.expected_finish_date,
        })
    }

    fn column_values(
        conn: &mut DbConnection,
        account_id: i64,
        pipeline: &Pipeline,
        filter: &BoardFilter,
    ) -> Result<HashMap<i64, Vec<ValueBucket>>, StoreError> {
        if filter.is_empty() {
            return placement::kept_values(conn, account_id, pipeline);
        }
        // Filtered: summed from the projects themselves, in 128 bits.
        // Phases joined for a view's filter on `probability` (the project's, else its
        // phase's), as the list does.
        let mut query = projects::table
            .left_join(phases::table.on(phases::id.nullable().eq(projects::phase_id)))
            .filter(projects::account_id.eq(account_id))
            .filter(projects::pipeline_id.eq(pipeline.id))
            .filter(projects::phase_id.is_not_null())
            .filter(projects::value_units.is_not_null())
            .select((
                projects::phase_id.assume_not_null(),
                projects::value_currency.assume_not_null(),
                projects::probability,
                projects::value_units.assume_not_null(),
            ))
            .into_boxed();
        if let Some(owner) = filter.owner_id {
            query = query.filter(projects::owner_id.eq(owner));
        }
        if let Some(tag) = &filter.tag {
            query = query.filter(projects::id.eq_any(tags::projects::tagged(account_id, tag)));
        }
        let query = crate::units::filter_reach!(query, &filter.reach, projects);
        let query = match &filter.matching {
            Some(m) => query.filter(compile(m, account_id, &FILTER_COLUMNS)?),
            None => query,
        };
        let rows: Vec<(i64, String, Option<i64>, i64)> = query.load(conn)?;
        Ok(placement::fold_values(
            pipeline,
            rows.into_iter().map(|(phase, currency, p, units)| {
                (phase, Some(phase), currency, p, i128::from(units))
            }),
        ))
    }

    fn value_stats(
        conn: &mut DbConnection,
        account_id: i64,
        pipeline: &Pipeline,
        from: NaiveDateTime,
        to: NaiveDateTime,
        reach: &crate::units::Reach,
    ) -> Result<Option<ValueStats>, StoreError> {
        value_stats(conn, account_id, pipeline, from, to, reach).map(Some)
    }

    placement::storage!(projects.state, project_transitions.project_id);
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = projects)]
struct ProjectRow {
    id: i64,
    account_id: i64,
    name: String,
    description: Option<String>,
    company_id: Option<i64>,
    owner_id: Option<i64>,
    unit_id: Option<i64>,
    external_id: Option<String>,
    value_units: Option<i64>,
    value_currency: Option<String>,
    probability: Option<i64>,
    expected_start_date: Option<NaiveDate>,
    expected_duration: Option<String>,
    expected_finish_date: Option<NaiveDate>,
    proposal_received_date: Option<NaiveDate>,
    proposal_due_date: Option<NaiveDate>,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    won_at: Option<NaiveDateTime>,
    close_date: Option<NaiveDate>,
    completed_date: Option<NaiveDate>,
    tags: String,
    custom_fields: String,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    pipeline_id: Option<i64>,
    phase_id: Option<i64>,
    state: String,
    outcome: Option<String>,
    outcome_reason: Option<String>,
    phase_entered_at: Option<NaiveDateTime>,
    follow_up_due_at: Option<NaiveDateTime>,
    last_activity_at: Option<NaiveDateTime>,
    next_activity_at: Option<NaiveDateTime>,
}

/// A project row with its phase's probability.
/// A project as its reads select it: its row, its phase's probability and, from the same
/// statement, the stays in its history that ended and its people.
type ProjectRead = (
    ProjectRow,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<String>,
);

/// The columns a project's read takes besides its row and its phase's probability (see
/// [`ProjectRead`]).
fn read_columns(backend: Backend) -> (JsonColumn, JsonColumn, JsonColumn) {
    let (contacts, team) = people::columns(backend);
    (
        FixedSql::new(placement::times_column::<ProjectPlacement>(backend)),
        FixedSql::new(contacts),
        FixedSql::new(team),
    )
}

fn from_read(
    (row, phase_probability, ended, contacts, team): ProjectRead,
) -> Result<Project, StoreError> {
    let mut project = from_row(row, phase_probability);
    placement::set_times::<ProjectPlacement>(&mut project, ended.as_deref())?;
    (project.contacts, project.team) = people::read(contacts.as_deref(), team.as_deref())?;
    Ok(project)
}

fn from_row(row: ProjectRow, phase_probability: Option<i64>) -> Project {
    {
        Project {
            id: row.id,
            account_id: row.account_id,
            name: row.name,
            description: row.description,
            company_id: row.company_id,
            owner_id: row.owner_id,
            unit_id: row.unit_id,
            external_id: row.external_id,
            value: row
                .value_units
                .zip(row.value_currency)
                .map(|(units, currency)| Money::from_stored(units, currency)),
            probability: row.probability,
            phase_probability,
            schedule: domain::project::Schedule {
                expected_start_date: row.expected_start_date,
                expected_duration: row
                    .expected_duration
                    .as_deref()
                    .and_then(DateDuration::from_stored),
                expected_finish_date: row.expected_finish_date,
                proposal_received_date: row.proposal_received_date,
                proposal_due_date: row.proposal_due_date,
                start_date: row.start_date,
                end_date: row.end_date,
                won_at: row.won_at.map(to_utc),
                close_date: row.close_date,
                completed_date: row.completed_date,
            },
            tags: serde_json::from_str(&row.tags).unwrap_or_default(),
            custom_fields: serde_json::from_str(&row.custom_fields).unwrap_or_default(),
            version: row.version,
            created_at: to_utc(row.created_at),
            updated_at: to_utc(row.updated_at),
            place: CompanyPlace {
                pipeline_id: row.pipeline_id,
                phase_id: row.phase_id,
                status: Status::from_stored(&row.state),
                outcome: Outcome::from_stored(row.outcome.as_deref()),
                outcome_reason: row.outcome_reason,
                phase_entered_at: row.phase_entered_at.map(to_utc),
                follow_up_due_at: row.follow_up_due_at.map(to_utc),
            },
            time_in_phases: Vec::new(),
            contacts: Vec::new(),
            team: Vec::new(),
            activity: activity_dates::read(row.last_activity_at, row.next_activity_at),
        }
    }
}

/// The writable columns of a project, as create and update write them alike.
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = projects, treat_none_as_null = true)]
struct ProjectValues {
    name: String,
    description: Option<String>,
    company_id: Option<i64>,
    owner_id: Option<i64>,
    unit_id: Option<i64>,
    external_id: Option<String>,
    value_units: Option<i64>,
    value_currency: Option<String>,
    probability: Option<i64>,
    expected_start_date: Option<NaiveDate>,
    expected_duration: Option<String>,
    expected_finish_date: Option<NaiveDate>,
    proposal_received_date: Option<NaiveDate>,
    proposal_due_date: Option<NaiveDate>,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    won_at: Option<NaiveDateTime>,
    close_date: Option<NaiveDate>,
    completed_date: Option<NaiveDate>,
    tags: String,
    custom_fields: String,
}

impl From<&ProjectFields> for ProjectValues {
    fn from(f: &ProjectFields) -> Self {
        let s = &f.schedule;
        ProjectValues {
            name: f.name.as_str().to_owned(),
            description: f.description.as_ref().map(|d| d.as_str().to_owned()),
            company_id: f.company_id,
            owner_id: f.owner_id,
            unit_id: f.unit_id,
            external_id: f.external_id.as_ref().map(|e| e.as_str().to_owned()),
            value_units: f.value.as_ref().map(|v| v.units),
            value_currency: f.value.as_ref().map(|v| v.currency.clone()),
            probability: f.probability,
            expected_start_date: s.expected_start_date,
            expected_duration: s.expected_duration.map(DateDuration::to_iso),
            expected_finish_date: s.expected_finish_date,
            proposal_received_date: s.proposal_received_date,
            proposal_due_date: s.proposal_due_date,
            start_date: s.start_date,
            end_date: s.end_date,
            won_at: s.won_at.map(|t| t.naive_utc()),
            close_date: s.close_date,
            completed_date: s.completed_date,
            tags: serde_json::Value::from(f.tags.to_vec()).to_string(),
            custom_fields: f.custom_fields.to_json_string(),
        }
    }
}

/// Filters of the project list; every one narrows, none is required.
#[derive(Debug, Clone, Default)]
pub struct ProjectFilter {
    /// The name contains this, ignoring case.
    pub q: Option<String>,
    pub company_id: Option<i64>,
    pub owner_id: Option<i64>,
    /// Exactly this external id.
    pub external_id: Option<String>,
    pub tag: Option<String>,
    pub pipeline_id: Option<i64>,
    pub phase_id: Option<i64>,
    pub state: Option<Status>,
    pub outcome: Option<Outcome>,
    pub created_since: Option<DateTime<Utc>>,
    pub updated_since: Option<DateTime<Utc>>,
    pub expected_finish_before: Option<NaiveDate>,
    pub expected_finish_after: Option<NaiveDate>,
    /// The value is at least / at most this many ten-thousandths.
    pub value_min: Option<i64>,
    pub value_max: Option<i64>,
    /// The value is in this currency.
    pub currency: Option<String>,
    pub activity: ActivityFilter,
    /// A filter of the filter language (`POST /v1/projects/query`).
    pub matching: Option<domain::filter::Filter>,
    /// The records the caller sees, and the unit filter.
    pub reach: crate::units::Reach,
}

/// Where a filter finds each field of a project. Its list joins the project's phase, whose
/// probability is the project's when it has none of its own.
pub(crate) const FILTER_COLUMNS: Columns = Columns {
    table: "projects",
    target: Target::Project,
    tags: ("project_tags", column_name!(project_tags.project_id)),
    column: |field| {
        use Storage::*;
        let plain = |column, storage| Some(Column::Plain(column, storage));
        match field {
            "id" => plain(column_name!(projects.id), Int { scale: 0 }),
            "name" => plain(column_name!(projects.name), Text),
            "description" => plain(column_name!(projects.description), Text),
            "company_id" => plain(column_name!(projects.company_id), Int { scale: 0 }),
            "owner_id" => plain(column_name!(projects.owner_id), Int { scale: 0 }),
            "unit_id" => plain(column_name!(projects.unit_id), Int { scale: 0 }),
            "external_id" => plain(column_name!(projects.external_id), Text),
            // Ten-thousandths of the currency (`domain::project::Money`).
            "value" => plain(column_name!(projects.value_units), Int { scale: 4 }),
            "value_currency" => plain(column_name!(projects.value_currency), Text),
            "probability" => Some(Column::Expr(
                "COALESCE(projects.probability, phases.probability)",
                Int { scale: 0 },
            )),
            "expected_start_date" => plain(column_name!(projects.expected_start_date), Date),
            "expected_duration" => plain(column_name!(projects.expected_duration), Text),
            "expected_finish_date" => plain(column_name!(projects.expected_finish_date), Date),
            "proposal_received_date" => plain(column_name!(projects.proposal_received_date), Date),
            "proposal_due_date" => plain(column_name!(projects.proposal_due_date), Date),
            "start_date" => plain(column_name!(projects.start_date), Date),
            "end_date" => plain(column_name!(projects.end_date), Date),
            "won_at" => plain(column_name!(projects.won_at), Timestamp),
            "close_date" => plain(column_name!(projects.close_date), Date),
            "completed_date" => plain(column_name!(projects.completed_date), Date),
            "tags" => Some(Column::Tags),
            "pipeline_id" => plain(column_name!(projects.pipeline_id), Int { scale: 0 }),
            "phase_id" => plain(column_name!(projects.phase_id), Int { scale: 0 }),
            "state" => plain(column_name!(projects.state), Text),
            "outcome" => plain(column_name!(projects.outcome), Text),
            "outcome_reason" => plain(column_name!(projects.outcome_reason), Text),
            "phase_entered_at" => plain(column_name!(projects.phase_entered_at), Timestamp),
            "created_at" => plain(column_name!(projects.created_at), Timestamp),
            "updated_at" => plain(column_name!(projects.updated_at), Timestamp),
            "last_activity_at" => plain(column_name!(projects.last_activity_at), Timestamp),
            "next_activity_at" => plain(column_name!(projects.next_activity_at), Timestamp),
            _ => None,
        }
    },
};

/// Refuses references outside the account (owner, company), naming the field, and an
/// `external_id` another project of the account has (409).
fn check_references(
    conn: &mut DbConnection,
    account_id: i64,
    fields: &ProjectFields,
    this: Option<i64>,
) -> Result<(), StoreError> {
    check_owner(conn, account_id, "owner_id", fields.owner_id)?;
    check_company(conn, account_id, "company_id", fields.company_id)?;
    check_external_id(conn, account_id, fields, this)
}

/// Refuses an `external_id` that another project of the account has (409).
fn check_external_id(
    conn: &mut DbConnection,
    account_id: i64,
    fields: &ProjectFields,
    this: Option<i64>,
) -> Result<(), StoreError> {
    let Some(external_id) = &fields.external_id else {
        return Ok(());
    };
    let holder = projects::table
        .filter(projects::account_id.eq(account_id))
        .filter(projects::external_id.eq(external_id.as_str()))
        .filter(projects::id.ne(this.unwrap_or(0)))
        .select(projects::id)
        .first::<i64>(conn)
        .optional()?;
    match holder {
        Some(holder) => Err(external_id_taken(holder, external_id.as_str())),
        None => Ok(()),
    }
}

fn external_id_taken(holder: i64, external_id: &str) -> StoreError {
    StoreError::Conflict(format!(
        "project {holder} already has external_id {external_id:?}; external ids are unique in the account"
    ))
}

/// A write that lost a race for an `external_id` to a concurrent one answers as if it had
/// seen the winner (409), not as a database failure.
fn unless_external_id_raced(e: diesel::result::Error, fields: &ProjectFields) -> StoreError {
    use diesel::result::{DatabaseErrorKind, Error};
    match (&e, &fields.external_id) {
        (Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _), Some(external_id)) => {
            StoreError::Conflict(format!(
                "another project already has external_id {:?}; external ids are unique in the account",
                external_id.as_str()
            ))
        }
        _ => e.into(),
    }
}

/// Creates a project in `phase_id`, or in the first phase of the default project pipeline:
/// its first history row.
pub fn create(
    conn: &mut DbConnection,
    account_id: i64,
    fields: &ProjectFields,
    phase_id: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<Project, StoreError> {
    write_transaction(conn, |conn| {
        check_references(conn, account_id, fields, None)?;
        let mut fields = fields.clone();
        fields.unit_id = crate::units::place_new(
            conn,
            account_id,
            fields.unit_id,
            fields.owner_id,
            outbox.actor,
        )?;
        fields.custom_fields = crate::fields::check(
            conn,
            account_id,
            FieldRecordType::Project,
            &[],
            &fields.custom_fields,
            None,
        )?;
        let fields = &fields;
        let at = now();
        let id: i64 = diesel::insert_into(projects::table)
            .values((
                &ProjectValues::from(fields),
                projects::account_id.eq(account_id),
                projects::version.eq(1),
                projects::created_at.eq(at),
                projects::updated_at.eq(at),
            ))
            .returning(projects::id)
            .get_result(conn)
            .map_err(|e| unless_external_id_raced(e, fields))?;
        tags::projects::write(conn, account_id, &[(id, &fields.tags)])?;
        let phase = match phase_id {
            Some(phase) => Some(phase),
            None => crate::pipelines::find_default(conn, account_id, RecordKind::Project)?
                .and_then(|p| p.phases.first().map(|phase| phase.id)),
        };
        if let Some(phase) = phase {
            placement::apply::<ProjectPlacement>(
                conn,
                account_id,
                id,
                None,
                MoveKind::Initial(phase),
                outbox.actor,
            )?;
        }
        let project = get(conn, account_id, id)?;
        events::record_one(
            conn,
            account_id,
            outbox,
            NewEvent::new(
                EventType::ProjectCreated,
                id,
                outbox.render.project(&project),
            ),
        )?;
        Ok(project)
    })
}

/// A project with its time in each phase and its people: one statement.
pub fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Project, StoreError> {
    let (times, contacts, team) = read_columns(conn.backend());
    projects::table
        .left_join(phases::table.on(phases::id.nullable().eq(projects::phase_id)))
        .filter(projects::id.eq(id))
        .filter(projects::account_id.eq(account_id))
        .select((
            ProjectRow::as_select(),
            phases::probability.nullable(),
            times,
            contacts,
            team,
        ))
        .first::<ProjectRead>(conn)
        .optional()?
        .map(from_read)
        .ok_or(StoreError::NotFound)?
}

pub(crate) fn get_many(
    conn: &mut DbConnection,
    account_id: i64,
    ids: &[i64],
) -> Result<Vec<Project>, StoreError> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let (times, contacts, team) = read_columns(conn.backend());
        let rows: Vec<ProjectRead> = projects::table
            .filter(projects::account_id.eq(account_id))
            .filter(projects::id.eq_any(chunk))
            .left_join(phases::table.on(phases::id.nullable().eq(projects::phase_id)))
            .select((
                ProjectRow::as_select(),
                phases::probability.nullable(),
                times,
                contacts,
                team,
            ))
            .load(conn)?;
        for row in rows {
            found.push(from_read(row)?);
        }
    }
    found.sort_by_key(|p| p.id);
    Ok(found)
}

/// Applies `patch` when the project is at `expected_version` (if one is given). A patch that
/// changes nothing answers the project as it is: no new version, no event.
pub fn update(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    patch: ProjectPatch,
    outbox: &Outbox<'_>,
) -> Result<Project, StoreError> {
    record::update::<Projects>(conn, account_id, id, expected_version, patch, outbox)
}

/// Deletes a project with its history and its people.
pub fn delete(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<(), StoreError> {
    record::delete::<Projects>(conn, account_id, id, expected_version, outbox)
}

/// Merges duplicates into a survivor (their rows locked): their history and people move to it,
/// they go, and it takes `fields` as its next version. See [`crate::merges::merge_projects`].
pub(crate) fn absorb(
    conn: &mut DbConnection,
    account_id: i64,
    survivor: &Project,
    duplicates: &[i64],
    fields: &ProjectFields,
) -> Result<(), StoreError> {
    // Before the duplicates go: their history rows would go with them (ON DELETE CASCADE).
    diesel::update(
        project_transitions::table
            .filter(project_transitions::account_id.eq(account_id))
            .filter(project_transitions::project_id.eq_any(duplicates)),
    )
    .set(project_transitions::project_id.eq(survivor.id))
    .execute(conn)?;
    people::absorb(conn, survivor.id, duplicates)?;
    tags::projects::remove(conn, duplicates)?;
    // They go before the survivor takes their values: an external id moves with them.
    diesel::delete(
        projects::table
            .filter(projects::account_id.eq(account_id))
            .filter(projects::id.eq_any(duplicates)),
    )
    .execute(conn)?;
    Projects::write(conn, survivor.id, fields, survivor.version + 1)?;
    tags::projects::replace(conn, account_id, survivor.id, &fields.tags)
}

/// Projects in the shared record plumbing ([`crate::record`]) and imports.
pub(crate) struct Projects;

impl Versioned for Projects {
    type Record = Project;
    type Fields = ProjectFields;
    type Patch = ProjectPatch;
    const UPDATED: EventType = EventType::ProjectUpdated;
    const DELETED: EventType = EventType::ProjectDeleted;
    const TAGS: TagTable = tags::projects::TABLE;

    fn lock(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Project, StoreError> {
        placement::lock_record::<ProjectPlacement>(conn, account_id, id, None)?;
        get(conn, account_id, id)
    }

    fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Project, StoreError> {
        get(conn, account_id, id)
    }

    fn version(project: &Project) -> i64 {
        project.version
    }

    fn render(outbox: &Outbox<'_>, project: &Project) -> serde_json::Value {
        outbox.render.project(project)
    }

    fn patched(
        conn: &mut DbConnection,
        account_id: i64,
        id: i64,
        current: &Project,
        patch: ProjectPatch,
    ) -> Result<ProjectFields, StoreError> {
        if let Some(unit) = patch.unit_id {
            crate::units::check_unit(conn, account_id, unit)?;
        }
        let changes = (
            patch.owner_id.is_some(),
            patch.company_id.is_some(),
            patch.external_id.is_some(),
        );
        let mut fields = patch
            .apply(current)
            .map_err(|(field, e)| StoreError::Invalid(Invalid::one(field, e.code, e.message)))?;
        fields.custom_fields = crate::fields::check(
            conn,
            account_id,
            FieldRecordType::Project,
            &[id],
            &fields.custom_fields,
            Some(&current.custom_fields),
        )?;
        let (owner, company, external_id) = changes;
        if owner {
            check_owner(conn, account_id, "owner_id", fields.owner_id)?;
        }
        if company {
            check_company(conn, account_id, "company_id", fields.company_id)?;
        }
        if external_id {
            check_external_id(conn, account_id, &fields, Some(id))?;
        }
        Ok(fields)
    }

    fn unchanged(current: &Project, fields: &ProjectFields) -> bool {
        ProjectPatch::default().apply(current).as_ref() == Ok(fields)
    }

    fn sets_tags(patch: &ProjectPatch) -> bool {
        patch.tags.is_some()
    }

    fn tags(fields: &ProjectFields) -> &domain::values::Tags {
        &fields.tags
    }

    /// Its people and history are its own; activities linked to it lose the link.
    fn unlink(
        conn: &mut DbConnection,
        account_id: i64,
        id: i64,
        outbox: &Outbox<'_>,
    ) -> Result<Vec<NewEvent>, StoreError> {
        let record = RecordRef::new(LinkType::Project, id);
        activities::relink_all(conn, account_id, record, None, outbox)
    }

    fn write_failed(e: diesel::result::Error, fields: &ProjectFields) -> StoreError {
        unless_external_id_raced(e, fields)
    }

    record::row_writes!(projects, ProjectValues);
}

/// Moves a project in its own transaction, with its history row, the dates the move sets
/// and its event; `None` when it already is where the move leads.
pub fn move_project(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    request: Move,
    outbox: &Outbox<'_>,
) -> Result<(Option<Transition>, Project), StoreError> {
    placement::move_record::<ProjectPlacement>(
        conn,
        account_id,
        id,
        expected_version,
        request,
        outbox,
    )
}

/// The dates a move sets: winning sets `won_at` and `close_date`; losing and cancelling set
/// `close_date`; completing sets `completed_date`. A date already set is kept (it may have
/// been corrected by hand), and reopening clears none.
fn set_move_dates(
    conn: &mut DbConnection,
    before: &Project,
    transition: &Transition,
) -> Result<(), StoreError> {
    let at = transition.created_at;
    let today = at.date_naive();
    let s = &before.schedule;
    let won = transition.outcome == Some(Outcome::Won) || transition.to_status == Status::Won;
    let closes = won
        || transition.outcome == Some(Outcome::Lost)
        || matches!(transition.to_status, Status::Lost | Status::Cancelled);
    let completes = transition.to_status == Status::Completed;
    let won_at = s.won_at.or(won.then_some(at));
    let close_date = s.close_date.or(closes.then_some(today));
    let completed_date = s.completed_date.or(completes.then_some(today));
    if (won_at, close_date, completed_date) != (s.won_at, s.close_date, s.completed_date) {
        diesel::update(projects::table.filter(projects::id.eq(before.id)))
            .set((
                projects::won_at.eq(won_at.map(|t| t.naive_utc())),
                projects::close_date.eq(close_date),
                projects::completed_date.eq(completed_date),
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A project's history, newest first.
pub fn history(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    size: PageSize,
    after: Option<&Position>,
) -> Result<Page<Transition>, StoreError> {
    placement::history::<ProjectPlacement>(conn, account_id, id, size, after)
}

/// Points the projects of some companies at another (a merge's survivor), or at none (a
/// deleted company); their `project.updated` events, for the caller to record.
pub(crate) fn relink_companies(
    conn: &mut DbConnection,
    account_id: i64,
    from: &[i64],
    to: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<Vec<NewEvent>, StoreError> {
    let linked: Vec<i64> = projects::table
        .filter(projects::account_id.eq(account_id))
        .filter(projects::company_id.eq_any(from))
        .select(projects::id)
        .order(projects::id.asc())
        .load(conn)?;
    changing(conn, account_id, &linked, outbox, |conn| {
        diesel::update(
            projects::table
                .filter(projects::account_id.eq(account_id))
                .filter(projects::id.eq_any(&linked)),
        )
        .set(projects::company_id.eq(to))
        .execute(conn)?;
        Ok(())
    })
}

/// Runs `change` on some projects (their company, their people) and makes each its next
/// version, with the `project.updated` events that say what changed.
pub(super) fn changing(
    conn: &mut DbConnection,
    account_id: i64,
    ids: &[i64],
    outbox: &Outbox<'_>,
    change: impl FnOnce(&mut DbConnection) -> Result<(), StoreError>,
) -> Result<Vec<NewEvent>, StoreError> {
    if ids.is_empty() {
        return change(conn).map(|()| Vec::new());
    }
    let before = get_many(conn, account_id, ids)?;
    change(conn)?;
    diesel::update(
        projects::table
            .filter(projects::account_id.eq(account_id))
            .filter(projects::id.eq_any(ids)),
    )
    .set((
        projects::version.eq(projects::version + 1),
        projects::updated_at.eq(now()),
    ))
    .execute(conn)?;
    let after = get_many(conn, account_id, ids)?;
    Ok(before
        .iter()
        .zip(&after)
        .map(|(was, is)| {
            NewEvent::changed(
                EventType::ProjectUpdated,
                is.id,
                &outbox.render.project(was),
                outbox.render.project(is),
            )
        })
        .collect())
}

/// A page of the account's projects.
pub fn list(
    conn: &mut DbConnection,
    account_id: i64,
    filter: &ProjectFilter,
    sort: Sort,
    size: PageSize,
    after: Option<&Position>,
) -> Result<Page<Project>, StoreError> {
    let (times, contacts, team) = read_columns(conn.backend());
    let mut query = projects::table
        .left_join(phases::table.on(phases::id.nullable().eq(projects::phase_id)))
        .filter(projects::account_id.eq(account_id))
        .select((
            ProjectRow::as_select(),
            phases::probability.nullable(),
            times,
            contacts,
            team,
        ))
        .into_boxed();
    if let Some(q) = &filter.q {
        query = query.filter(lower(projects::name).like(contains_pattern(q)).escape('\\'));
    }
    if let Some(company) = filter.company_id {
        query = query.filter(projects::company_id.eq(company));
    }
    if let Some(owner) = filter.owner_id {
        query = query.filter(projects::owner_id.eq(owner));
    }
    if let Some(external_id) = &filter.external_id {
        query = query.filter(projects::external_id.eq(external_id));
    }
    if let Some(tag) = &filter.tag {
        query = query.filter(projects::id.eq_any(tags::projects::tagged(account_id, tag)));
    }
    if let Some(pipeline) = filter.pipeline_id {
        query = query.filter(projects::pipeline_id.eq(pipeline));
    }
    if let Some(phase) = filter.phase_id {
        query = query.filter(projects::phase_id.eq(phase));
    }
    if let Some(state) = filter.state {
        query = query.filter(projects::state.eq(state.as_str()));
    }
    if let Some(outcome) = filter.outcome {
        query = query.filter(projects::outcome.eq(outcome.as_str()));
    }
    if let Some(since) = filter.created_since {
        query = query.filter(projects::created_at.ge(since.naive_utc()));
    }
    if let Some(since) = filter.updated_since {
        query = query.filter(projects::updated_at.ge(since.naive_utc()));
    }
    if let Some(before) = filter.expected_finish_before {
        query = query.filter(projects::expected_finish_date.lt(before));
    }
    if let Some(after) = filter.expected_finish_after {
        query = query.filter(projects::expected_finish_date.gt(after));
    }
    if let Some(min) = filter.value_min {
        query = query.filter(projects::value_units.ge(min));
    }
    if let Some(max) = filter.value_max {
        query = query.filter(projects::value_units.le(max));
    }
    if let Some(currency) = &filter.currency {
        query = query.filter(projects::value_currency.eq(currency.clone()));
    }
    if let Some(matching) = &filter.matching {
        query = query.filter(compile(matching, account_id, &FILTER_COLUMNS)?);
    }
    let query = filter_activity!(query, &filter.activity, projects);
    let query = crate::units::filter_reach!(query, &filter.reach, projects);
    let query = match sort.field {
        SortField::CreatedAt => keyset_page!(
            query,
            sort,
            after,
            projects::created_at,
            projects::id,
            time_value
        ),
        SortField::UpdatedAt => keyset_page!(
            query,
            sort,
            after,
            projects::updated_at,
            projects::id,
            time_value
        ),
        SortField::Name => {
            keyset_page!(query, sort, after, projects::name, projects::id, text_value)
        }
        SortField::PhaseEnteredAt => keyset_page!(
            query.filter(projects::phase_entered_at.is_not_null()),
            sort,
            after,
            projects::phase_entered_at.assume_not_null(),
            projects::id,
            time_value
        ),
        SortField::FollowUpDueAt => keyset_page!(
            query.filter(projects::follow_up_due_at.is_not_null()),
            sort,
            after,
            projects::follow_up_due_at.assume_not_null(),
            projects::id,
            time_value
        ),
        SortField::Value => keyset_page!(
            query.filter(projects::value_units.is_not_null()),
            sort,
            after,
            projects::value_units.assume_not_null(),
            projects::id,
            int_value
        ),
        SortField::ExpectedFinishDate => keyset_page!(
            query.filter(projects::expected_finish_date.is_not_null()),
            sort,
            after,
            projects::expected_finish_date.assume_not_null(),
            projects::id,
            date_value
        ),
        SortField::LastActivityAt => keyset_page!(
            query.filter(projects::last_activity_at.is_not_null()),
            sort,
            after,
            projects::last_activity_at.assume_not_null(),
            projects::id,
            time_value
        ),
        SortField::NextActivityAt => keyset_page!(
            query.filter(projects::next_activity_at.is_not_null()),
            sort,
            after,
            projects::next_activity_at.assume_not_null(),
            projects::id,
            time_value
        ),
        SortField::DueAt | SortField::StartsAt | SortField::ReceivedAt => {
            return Err(unsupported_sort());
        }
    };
    let rows: Vec<ProjectRead> = query.limit(size.get() + 1).load(conn)?;
    read_page(
        rows,
        size,
        |(last, ..)| Position {
            sort,
            value: match sort.field {
                SortField::CreatedAt => SortValue::Time(to_utc(last.created_at)),
                SortField::UpdatedAt => SortValue::Time(to_utc(last.updated_at)),
                SortField::Name => SortValue::Text(last.name.clone()),
                SortField::PhaseEnteredAt => {
                    SortValue::Time(to_utc(last.phase_entered_at.unwrap_or_default()))
                }
                SortField::FollowUpDueAt => {
                    SortValue::Time(to_utc(last.follow_up_due_at.unwrap_or_default()))
                }
                SortField::Value => SortValue::Int(last.value_units.unwrap_or_default()),
                SortField::ExpectedFinishDate => {
                    SortValue::Date(last.expected_finish_date.unwrap_or_default())
                }
                SortField::LastActivityAt => {
                    SortValue::Time(to_utc(last.last_activity_at.unwrap_or_default()))
                }
                SortField::NextActivityAt => {
                    SortValue::Time(to_utc(last.next_activity_at.unwrap_or_default()))
                }
                SortField::DueAt | SortField::StartsAt | SortField::ReceivedAt => SortValue::Int(0),
            },
            id: last.id,
        },
        from_read,
    )
}

/// The figures about values of a project pipeline for `[from, to)`: value won and lost in the
/// period (by the projects' current values), the mean days from a project's first entry into
/// the pipeline to its win, and the forecast of open (proposed, not won or lost) value,
/// weighted, by month of expected finish.
fn value_stats(
    conn: &mut DbConnection,
    account_id: i64,
    pipeline: &Pipeline,
    from: NaiveDateTime,
    to: NaiveDateTime,
    reach: &crate::units::Reach,
) -> Result<ValueStats, StoreError> {
    // The wins and losses of the period: project, outcome, when.
    // Of a caller who sees only some projects, the closes of those (each by its key).
    let query = project_transitions::table
        .inner_join(projects::table.on(projects::id.eq(project_transitions::project_id)))
        .filter(project_transitions::account_id.eq(account_id))
        .filter(project_transitions::to_pipeline_id.eq(pipeline.id))
        .filter(project_transitions::created_at.ge(from))
        .filter(project_transitions::created_at.lt(to))
        .filter(project_transitions::outcome.is_not_null())
        .select((
            project_transitions::project_id,
            project_transitions::outcome,
            project_transitions::created_at,
        ))
        .into_boxed();
    let closes: Vec<(i64, Option<String>, NaiveDateTime)> =
        crate::units::filter_reach!(query, reach, projects).load(conn)?;
    let ids: Vec<i64> = closes.iter().map(|(id, ..)| *id).collect();
    let mut values: HashMap<i64, (String, i64)> = HashMap::new();
    let mut first_entry: HashMap<i64, NaiveDateTime> = HashMap::new();
    for chunk in ids.chunks(1000) {
        let rows: Vec<(i64, Option<i64>, Option<String>)> = projects::table
            .filter(projects::account_id.eq(account_id))
            .filter(projects::id.eq_any(chunk))
            .select((
                projects::id,
                projects::value_units,
                projects::value_currency,
            ))
            .load(conn)?;
        for (id, units, currency) in rows {
            if let (Some(units), Some(currency)) = (units, currency) {
                values.insert(id, (currency, units));
            }
        }
        let entries: Vec<(i64, Option<NaiveDateTime>)> = project_transitions::table
            .filter(project_transitions::account_id.eq(account_id))
            .filter(project_transitions::project_id.eq_any(chunk))
            .filter(project_transitions::to_pipeline_id.eq(pipeline.id))
            .group_by(project_transitions::project_id)
            .select((
                project_transitions::project_id,
                diesel::dsl::min(project_transitions::created_at),
            ))
            .load(conn)?;
        first_entry.extend(entries.into_iter().filter_map(|(id, t)| t.map(|t| (id, t))));
    }
    let mut won: HashMap<String, i128> = HashMap::new();
    let mut lost: HashMap<String, i128> = HashMap::new();
    let mut days_to_won = Vec::new();
    for (id, outcome, at) in &closes {
        let sums = match outcome.as_deref() {
            Some("won") => {
                if let Some(first) = first_entry.get(id) {
                    days_to_won.push((*at - *first).num_seconds().max(0) as f64 / 86_400.0);
                }
                &mut won
            }
            Some("lost") => &mut lost,
            _ => continue,
        };
        if let Some((currency, units)) = values.get(id) {
            *sums.entry(currency.clone()).or_insert(0) += i128::from(*units);
        }
    }
    let buckets = |sums: HashMap<String, i128>| {
        let mut out: Vec<ValueBucket> = sums
            .into_iter()
            .map(|(currency, units)| ValueBucket {
                currency,
                units,
                weighted_units: 0,
            })
            .collect();
        out.sort_by(|a, b| a.currency.cmp(&b.currency));
        out
    };
    // The open projects' weighted value by month of expected finish.
    // Expected finish, currency, probability, phase, value.
    type Open = (NaiveDate, String, Option<i64>, Option<i64>, i64);
    let open: Vec<Open> = projects::table
        .filter(projects::account_id.eq(account_id))
        .filter(projects::pipeline_id.eq(pipeline.id))
        .filter(projects::state.eq(Status::Proposed.as_str()))
        .filter(projects::outcome.is_null())
        .filter(projects::expected_finish_date.is_not_null())
        .filter(projects::value_units.is_not_null())
        .select((
            projects::expected_finish_date.assume_not_null(),
            projects::value_currency.assume_not_null(),
            projects::probability,
            projects::phase_id,
            projects::value_units.assume_not_null(),
        ))
        .load(conn)?;
    let by_month = placement::fold_values(
        pipeline,
        open.into_iter()
            .map(|(finish, currency, probability, phase, units)| {
                let month = finish.format("%Y-%m").to_string();
                (month, phase, currency, probability, i128::from(units))
            }),
    );
    let mut forecast: Vec<ForecastMonth> = by_month
        .into_iter()
        .map(|(month, values)| ForecastMonth { month, values })
        .collect();
    forecast.sort_by(|a, b| a.month.cmp(&b.month));
    Ok(ValueStats {
        won: buckets(won),
        lost: buckets(lost),
        mean_days_to_won: (!days_to_won.is_empty())
            .then(|| days_to_won.iter().sum::<f64>() / days_to_won.len() as f64),
        forecast,
    })
}

/// A column for a company's read that gives its projects' states and values, as
/// [`json_rows`], for [`read_totals`]. It names the company by its table, so the read selects
/// from `companies` itself.
pub(crate) fn totals_column(backend: Backend) -> String {
    json_rows(
        backend,
        "p.state, p.value_currency, p.value_units",
        "projects p WHERE p.account_id = companies.account_id AND p.company_id = companies.id",
        None,
    )
}

/// What a company's projects add up to, from a [`totals_column`]: open projects, and won
/// value per currency in code order (summed wide: no sum overflows).
pub(crate) fn read_totals(column: Option<&str>) -> Result<ProjectTotals, StoreError> {
    type Row = (String, Option<String>, Option<i64>);
    let mut totals = ProjectTotals::default();
    let mut won: Vec<(String, i128)> = Vec::new();
    for (state, currency, units) in parse_json_rows::<Row>(column)? {
        let state = Status::from_stored(&state);
        if !matches!(state, Status::Completed | Status::Lost | Status::Cancelled) {
            totals.open += 1;
        }
        let won_state = matches!(state, Status::Won | Status::Active | Status::Completed);
        if let (true, Some(currency), Some(units)) = (won_state, currency, units) {
            match won.iter_mut().find(|(c, _)| *c == currency) {
                Some((_, sum)) => *sum += i128::from(units),
                None => won.push((currency, i128::from(units))),
            }
        }
    }
    won.sort();
    totals.won_value = won;
    Ok(totals)
}

#[cfg(test)]
mod filter_columns {
    #[test]
    fn every_filterable_field_has_a_column() {
        crate::filter::assert_complete(&super::FILTER_COLUMNS);
    }
}
