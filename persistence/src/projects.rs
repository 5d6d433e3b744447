//! Projects: CRUD, filtered keyset lists and moves, always within one account. Placement,
//! moves and history are the pipeline engine's ([`crate::placement`]); what is here is the
//! projects' own: their columns, their references, and the dates their moves set.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use diesel::prelude::*;
use domain::Invalid;
use domain::company::CompanyPlace;
use domain::event::{EventType, NewEvent, Outbox};
use domain::listing::{Page, PageSize, Position, Sort, SortField, SortValue};
use domain::pipeline::{Move, Outcome, RecordKind, Status, Transition};
use domain::project::{DateDuration, Money, Project, ProjectFields, ProjectPatch};

use crate::keyset::{contains_pattern, into_page, keyset_page, lower, text_value, time_value};
use crate::placement::{self, MoveKind};
use crate::pool::on_backend;
use crate::schema::{project_tags, project_transitions, projects};
use crate::users::check_owner;
use crate::{DbConnection, StoreError, events, now, to_utc, write_transaction};

// Projects move through project pipelines, with their history in `project_transitions`.
placement::pipelined!(
    ProjectPlacement,
    RecordKind::Project,
    projects.state,
    project_transitions.project_id,
    Project,
    get
);

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = projects)]
struct ProjectRow {
    id: i64,
    account_id: i64,
    name: String,
    description: Option<String>,
    company_id: Option<i64>,
    owner_id: Option<i64>,
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
}

impl From<ProjectRow> for Project {
    fn from(row: ProjectRow) -> Project {
        Project {
            id: row.id,
            account_id: row.account_id,
            name: row.name,
            description: row.description,
            company_id: row.company_id,
            owner_id: row.owner_id,
            value: row
                .value_units
                .zip(row.value_currency)
                .map(|(units, currency)| Money::from_stored(units, currency)),
            probability: row.probability,
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
    pub tag: Option<String>,
    pub pipeline_id: Option<i64>,
    pub phase_id: Option<i64>,
    pub state: Option<Status>,
    pub outcome: Option<Outcome>,
    pub created_since: Option<DateTime<Utc>>,
    pub updated_since: Option<DateTime<Utc>>,
    pub expected_finish_before: Option<NaiveDate>,
    pub expected_finish_after: Option<NaiveDate>,
}

/// Refuses references outside the account (owner, company), naming the field.
fn check_references(
    conn: &mut DbConnection,
    account_id: i64,
    fields: &ProjectFields,
) -> Result<(), StoreError> {
    check_owner(conn, account_id, "owner_id", fields.owner_id)?;
    crate::contacts::check_company(conn, account_id, "company_id", fields.company_id)
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
        check_references(conn, account_id, fields)?;
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
            .get_result(conn)?;
        write_tags(conn, account_id, id, fields)?;
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
            // The first placement is the project's first version.
            diesel::update(projects::table.filter(projects::id.eq(id)))
                .set(projects::version.eq(1))
                .execute(conn)?;
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

/// A project with its time in each phase.
pub fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Project, StoreError> {
    let project = projects::table
        .filter(projects::id.eq(id))
        .filter(projects::account_id.eq(account_id))
        .select(ProjectRow::as_select())
        .first(conn)
        .optional()?
        .map(Project::from)
        .ok_or(StoreError::NotFound)?;
    let mut projects = [project];
    attach_times(conn, account_id, &mut projects)?;
    let [project] = projects;
    Ok(project)
}

fn get_many(
    conn: &mut DbConnection,
    account_id: i64,
    ids: &[i64],
) -> Result<Vec<Project>, StoreError> {
    let mut found = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let rows: Vec<ProjectRow> = projects::table
            .filter(projects::account_id.eq(account_id))
            .filter(projects::id.eq_any(chunk))
            .select(ProjectRow::as_select())
            .load(conn)?;
        let mut page: Vec<Project> = rows.into_iter().map(Project::from).collect();
        attach_times(conn, account_id, &mut page)?;
        found.extend(page);
    }
    found.sort_by_key(|p| p.id);
    Ok(found)
}

fn attach_times(
    conn: &mut DbConnection,
    account_id: i64,
    projects: &mut [Project],
) -> Result<(), StoreError> {
    let stays: Vec<_> = projects
        .iter()
        .map(|p| {
            (
                p.id,
                p.place.phase_id,
                p.place.phase_entered_at.map(|t| t.naive_utc()),
            )
        })
        .collect();
    let mut times = placement::times_in_phases::<ProjectPlacement>(conn, account_id, &stays)?;
    for project in projects.iter_mut() {
        project.time_in_phases = times.remove(&project.id).unwrap_or_default();
    }
    Ok(())
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
    write_transaction(conn, |conn| {
        placement::lock_record::<ProjectPlacement>(conn, account_id, id, expected_version)?;
        let current = get(conn, account_id, id)?;
        let fields = patch
            .clone()
            .apply(&current)
            .map_err(|(field, e)| StoreError::Invalid(Invalid::one(field, e.code, e.message)))?;
        if ProjectPatch::default().apply(&current).as_ref() == Ok(&fields) {
            return Ok(current);
        }
        check_references(conn, account_id, &fields)?;
        diesel::update(projects::table.filter(projects::id.eq(id)))
            .set((
                &ProjectValues::from(&fields),
                projects::version.eq(current.version + 1),
                projects::updated_at.eq(now()),
            ))
            .execute(conn)?;
        if patch.tags.is_some() {
            diesel::delete(project_tags::table.filter(project_tags::project_id.eq(id)))
                .execute(conn)?;
            write_tags(conn, account_id, id, &fields)?;
        }
        let project = get(conn, account_id, id)?;
        events::record_one(
            conn,
            account_id,
            outbox,
            NewEvent::changed(
                EventType::ProjectUpdated,
                id,
                &outbox.render.project(&current),
                outbox.render.project(&project),
            ),
        )?;
        Ok(project)
    })
}

/// Deletes a project with its history.
pub fn delete(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        placement::lock_record::<ProjectPlacement>(conn, account_id, id, expected_version)?;
        let data = outbox.render.project(&get(conn, account_id, id)?);
        diesel::delete(project_tags::table.filter(project_tags::project_id.eq(id)))
            .execute(conn)?;
        diesel::delete(project_transitions::table.filter(project_transitions::project_id.eq(id)))
            .execute(conn)?;
        diesel::delete(projects::table.filter(projects::id.eq(id))).execute(conn)?;
        events::record_one(
            conn,
            account_id,
            outbox,
            NewEvent::new(EventType::ProjectDeleted, id, data),
        )
    })
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
    write_transaction(conn, |conn| {
        let moved = placement::apply::<ProjectPlacement>(
            conn,
            account_id,
            id,
            expected_version,
            MoveKind::Requested(request.clone()),
            outbox.actor,
        )?;
        let Some((transition, before)) = moved else {
            return Ok((None, get(conn, account_id, id)?));
        };
        set_move_dates(conn, &before, &transition)?;
        let project = get(conn, account_id, id)?;
        let event_type = match transition.outcome {
            Some(Outcome::Won) => EventType::ProjectWon,
            Some(Outcome::Lost) => EventType::ProjectLost,
            None => EventType::ProjectPhaseChanged,
        };
        events::record_one(
            conn,
            account_id,
            outbox,
            NewEvent::changed(
                event_type,
                id,
                &outbox.render.project(&before),
                outbox.render.project(&project),
            ),
        )?;
        Ok((Some(transition), project))
    })
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

/// Unlinks the projects of a company about to be deleted; their `project.updated` events.
pub(crate) fn unlink_company(
    conn: &mut DbConnection,
    account_id: i64,
    company_id: i64,
    outbox: &Outbox<'_>,
) -> Result<Vec<NewEvent>, StoreError> {
    let linked: Vec<i64> = projects::table
        .filter(projects::account_id.eq(account_id))
        .filter(projects::company_id.eq(company_id))
        .select(projects::id)
        .order(projects::id.asc())
        .load(conn)?;
    if linked.is_empty() {
        return Ok(Vec::new());
    }
    let before = get_many(conn, account_id, &linked)?;
    diesel::update(
        projects::table
            .filter(projects::account_id.eq(account_id))
            .filter(projects::company_id.eq(company_id)),
    )
    .set((
        projects::company_id.eq(None::<i64>),
        projects::version.eq(projects::version + 1),
        projects::updated_at.eq(now()),
    ))
    .execute(conn)?;
    let after = get_many(conn, account_id, &linked)?;
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

fn write_tags(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    fields: &ProjectFields,
) -> Result<(), StoreError> {
    let rows: Vec<_> = fields
        .tags
        .iter()
        .map(|tag| {
            (
                project_tags::project_id.eq(id),
                project_tags::account_id.eq(account_id),
                project_tags::tag.eq(tag.to_owned()),
            )
        })
        .collect();
    if !rows.is_empty() {
        on_backend!(conn, |c| diesel::insert_into(project_tags::table)
            .values(&rows)
            .execute(c))?;
    }
    Ok(())
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
    let mut query = projects::table
        .filter(projects::account_id.eq(account_id))
        .select(ProjectRow::as_select())
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
    if let Some(tag) = &filter.tag {
        query = query.filter(
            projects::id.eq_any(
                project_tags::table
                    .filter(project_tags::account_id.eq(account_id))
                    .filter(project_tags::tag.eq(tag.clone()))
                    .select(project_tags::project_id),
            ),
        );
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
    };
    let rows: Vec<ProjectRow> = query.limit(size.get() + 1).load(conn)?;
    let mut page: Page<Project> = into_page(rows, size, |last| Position {
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
        },
        id: last.id,
    });
    attach_times(conn, account_id, &mut page.items)?;
    Ok(page)
}
