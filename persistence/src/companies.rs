//! Companies: CRUD and filtered keyset lists, always within one account.

use crate::activities;
use domain::fields::FieldRecordType;
use domain::links::{LinkType, RecordRef};
use std::collections::HashMap;

use chrono::{DateTime, NaiveDateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use domain::Invalid;
use domain::company::{Company, CompanyFields, CompanyPatch, CompanyPlace};
use domain::event::{EventType, NewEvent, Outbox};
use domain::filter::Target;
use domain::listing::{Page, PageSize, Position, Sort, SortField, SortValue};
use domain::pipeline::{Outcome, Pipeline, RecordKind, Status};

use crate::activity_dates::{self, ActivityFilter, filter_activity};
use crate::filter::{Column, Columns, Storage, column_name, compile};
use crate::import::{self, ImportMode, ImportRow, Ref, RowOutcome};
use crate::keyset::{
    contains_pattern, keyset_page, lower, lower_nullable, read_page, text_value, time_value,
    unsupported_sort,
};
use crate::placement::{
    self, BoardSql, CardDetail, Cell, CellRow, MoveKind, Pipelined, RecordEvents,
};
use crate::pool::on_backend;
use crate::prepared::{FixedSql, JsonColumn};
use crate::record::{self, Versioned};
use crate::references::check_owner;
use crate::schema::{companies, company_transitions};
use crate::tags::{self, TagTable};
use crate::{Backend, DbConnection, StoreError, events, now, to_utc, write_transaction};

/// Companies move through company pipelines, with their history in `company_transitions`.
pub(crate) struct CompanyPlacement;

impl Pipelined for CompanyPlacement {
    const KIND: RecordKind = RecordKind::Company;
    const EVENTS: RecordEvents = RecordEvents {
        updated: EventType::CompanyUpdated,
        phase_changed: EventType::CompanyPhaseChanged,
        won: EventType::CompanyWon,
        lost: EventType::CompanyLost,
    };
    type Record = Company;

    placement::record_access!(Company, get, get_many, company);

    const BOARD: BoardSql = BoardSql {
        table: "companies",
        tags: ("company_tags", "company_id"),
        on_board: " AND r.show_in_pipeline",
        columns: "c.industry AS industry, c.size_band AS size_band",
        joins: "",
        view_from: "companies",
    };
    const FILTER_COLUMNS: crate::filter::Columns = FILTER_COLUMNS;
    type CardRow = CompanyCardRow;

    fn cell(row: CompanyCardRow, _pipeline: &Pipeline) -> Cell {
        row.cell.into_cell(CardDetail::Company {
            industry: row.industry,
            size_band: row.size_band,
        })
    }

    placement::storage!(
        companies.relationship_status,
        company_transitions.company_id
    );
}

/// A row of the board's statement over companies.
#[derive(Debug, QueryableByName)]
pub(crate) struct CompanyCardRow {
    #[diesel(embed)]
    cell: CellRow,
    #[diesel(sql_type = Nullable<Text>)]
    industry: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    size_band: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = companies)]
pub(crate) struct CompanyRow {
    id: i64,
    account_id: i64,
    name: String,
    domain: Option<String>,
    website: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    industry: Option<String>,
    size_band: Option<String>,
    address: Option<String>,
    description: Option<String>,
    owner_id: Option<i64>,
    unit_id: Option<i64>,
    tags: String,
    custom_fields: String,
    show_in_pipeline: bool,
    version: i64,
    created_at: NaiveDateTime,
    updated_at: NaiveDateTime,
    pipeline_id: Option<i64>,
    phase_id: Option<i64>,
    relationship_status: String,
    outcome: Option<String>,
    outcome_reason: Option<String>,
    phase_entered_at: Option<NaiveDateTime>,
    follow_up_due_at: Option<NaiveDateTime>,
    last_activity_at: Option<NaiveDateTime>,
    next_activity_at: Option<NaiveDateTime>,
}

impl From<CompanyRow> for Company {
    fn from(row: CompanyRow) -> Company {
        Company {
            id: row.id,
            account_id: row.account_id,
            name: row.name,
            domain: row.domain,
            website: row.website,
            email: row.email,
            phone: row.phone,
            industry: row.industry,
            size_band: row.size_band,
            address: row.address,
            description: row.description,
            owner_id: row.owner_id,
            unit_id: row.unit_id,
            tags: serde_json::from_str(&row.tags).unwrap_or_default(),
            custom_fields: serde_json::from_str(&row.custom_fields).unwrap_or_default(),
            show_in_pipeline: row.show_in_pipeline,
            version: row.version,
            created_at: to_utc(row.created_at),
            updated_at: to_utc(row.updated_at),
            place: CompanyPlace {
                pipeline_id: row.pipeline_id,
                phase_id: row.phase_id,
                status: Status::from_stored(&row.relationship_status),
                outcome: Outcome::from_stored(row.outcome.as_deref()),
                outcome_reason: row.outcome_reason,
                phase_entered_at: row.phase_entered_at.map(to_utc),
                follow_up_due_at: row.follow_up_due_at.map(to_utc),
            },
            time_in_phases: Vec::new(),
            projects: Default::default(),
            activity: activity_dates::read(row.last_activity_at, row.next_activity_at),
        }
    }
}

/// The writable columns of a company, as written by create and update alike.
#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = companies, treat_none_as_null = true)]
pub(crate) struct CompanyValues {
    name: String,
    domain: Option<String>,
    website: Option<String>,
    email: Option<String>,
    phone: Option<String>,
    industry: Option<String>,
    size_band: Option<String>,
    address: Option<String>,
    description: Option<String>,
    owner_id: Option<i64>,
    unit_id: Option<i64>,
    tags: String,
    custom_fields: String,
    show_in_pipeline: bool,
}

impl From<&CompanyFields> for CompanyValues {
    fn from(f: &CompanyFields) -> Self {
        CompanyValues {
            name: f.name.as_str().to_owned(),
            domain: f.domain.as_ref().map(|v| v.as_str().to_owned()),
            website: f.website.as_ref().map(|v| v.as_str().to_owned()),
            email: f.email.as_ref().map(|v| v.as_str().to_owned()),
            phone: f.phone.as_ref().map(|v| v.as_str().to_owned()),
            industry: f.industry.as_ref().map(|v| v.as_str().to_owned()),
            size_band: f.size_band.map(|v| v.as_str().to_owned()),
            address: f.address.as_ref().map(|v| v.as_str().to_owned()),
            description: f.description.as_ref().map(|v| v.as_str().to_owned()),
            owner_id: f.owner_id,
            unit_id: f.unit_id,
            tags: serde_json::Value::from(f.tags.to_vec()).to_string(),
            custom_fields: f.custom_fields.to_json_string(),
            show_in_pipeline: f.show_in_pipeline,
        }
    }
}

/// Filters of the company list; every one narrows, none is required.
#[derive(Debug, Clone, Default)]
pub struct CompanyFilter {
    /// Name, domain or email contains this, ignoring case.
    pub q: Option<String>,
    pub owner_id: Option<i64>,
    pub tag: Option<String>,
    pub industry: Option<String>,
    pub created_since: Option<DateTime<Utc>>,
    pub updated_since: Option<DateTime<Utc>>,
    pub pipeline_id: Option<i64>,
    pub phase_id: Option<i64>,
    pub relationship_status: Option<Status>,
    pub outcome: Option<Outcome>,
    /// `true`: only companies due for follow-up now; `false`: only those not due.
    pub follow_up_due: Option<bool>,
    pub show_in_pipeline: Option<bool>,
    pub activity: ActivityFilter,
    /// A filter of the filter language (`POST /v1/companies/query`).
    pub matching: Option<domain::filter::Filter>,
    /// The records the caller sees, and the unit filter.
    pub reach: crate::units::Reach,
}

/// Where a filter finds each field of a company.
pub(crate) const FILTER_COLUMNS: Columns = Columns {
    table: "companies",
    target: Target::Company,
    tags: ("company_tags", column_name!(company_tags.company_id)),
    column: |field| {
        use Storage::*;
        let plain = |column, storage| Some(Column::Plain(column, storage));
        match field {
            "id" => plain(column_name!(companies.id), Int { scale: 0 }),
            "name" => plain(column_name!(companies.name), Text),
            "domain" => plain(column_name!(companies.domain), Text),
            "website" => plain(column_name!(companies.website), Text),
            "email" => plain(column_name!(companies.email), Text),
            "phone" => plain(column_name!(companies.phone), Text),
            "industry" => plain(column_name!(companies.industry), Text),
            "size_band" => plain(column_name!(companies.size_band), Text),
            "address" => plain(column_name!(companies.address), Text),
            "description" => plain(column_name!(companies.description), Text),
            "owner_id" => plain(column_name!(companies.owner_id), Int { scale: 0 }),
            "unit_id" => plain(column_name!(companies.unit_id), Int { scale: 0 }),
            "tags" => Some(Column::Tags),
            "show_in_pipeline" => plain(column_name!(companies.show_in_pipeline), Bool),
            "pipeline_id" => plain(column_name!(companies.pipeline_id), Int { scale: 0 }),
            "phase_id" => plain(column_name!(companies.phase_id), Int { scale: 0 }),
            "relationship_status" => plain(column_name!(companies.relationship_status), Text),
            "outcome" => plain(column_name!(companies.outcome), Text),
            "outcome_reason" => plain(column_name!(companies.outcome_reason), Text),
            "phase_entered_at" => plain(column_name!(companies.phase_entered_at), Timestamp),
            "follow_up_due_at" => plain(column_name!(companies.follow_up_due_at), Timestamp),
            "created_at" => plain(column_name!(companies.created_at), Timestamp),
            "updated_at" => plain(column_name!(companies.updated_at), Timestamp),
            "last_activity_at" => plain(column_name!(companies.last_activity_at), Timestamp),
            "next_activity_at" => plain(column_name!(companies.next_activity_at), Timestamp),
            _ => None,
        }
    },
};

/// Creates a company, placed straight into `phase_id` when given (its first history row).
pub fn create(
    conn: &mut DbConnection,
    account_id: i64,
    fields: &CompanyFields,
    phase_id: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<Company, StoreError> {
    write_transaction(conn, |conn| {
        check_owner(conn, account_id, "owner_id", fields.owner_id)?;
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
            FieldRecordType::Company,
            &[],
            &fields.custom_fields,
            None,
        )?;
        let fields = &fields;
        let at = now();
        let values = CompanyValues::from(fields);
        let id: i64 = diesel::insert_into(companies::table)
            .values((
                &values,
                companies::account_id.eq(account_id),
                companies::version.eq(1),
                companies::created_at.eq(at),
                companies::updated_at.eq(at),
            ))
            .returning(companies::id)
            .get_result(conn)?;
        tags::companies::write(conn, account_id, &[(id, &fields.tags)])?;
        if let Some(phase) = phase_id {
            placement::apply::<CompanyPlacement>(
                conn,
                account_id,
                id,
                None,
                MoveKind::Initial(phase),
                outbox.actor,
            )?;
        }
        let company = get(conn, account_id, id)?;
        let data = outbox.render.company(&company);
        events::record_one(
            conn,
            account_id,
            outbox,
            NewEvent::new(EventType::CompanyCreated, id, data),
        )?;
        Ok(company)
    })
}

/// A company with its time in each phase and its projects' totals: one statement.
pub fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Company, StoreError> {
    let (times, totals) = read_columns(conn.backend());
    companies::table
        .filter(companies::id.eq(id))
        .filter(companies::account_id.eq(account_id))
        .select((CompanyRow::as_select(), times, totals))
        .first::<CompanyRead>(conn)
        .optional()?
        .map(from_read)
        .ok_or(StoreError::NotFound)?
}

/// A company as its reads select it: its row and, from the same statement, the stays in its
/// history that ended and its projects' totals.
type CompanyRead = (CompanyRow, Option<String>, Option<String>);

/// The columns a company's read takes besides its row (see [`CompanyRead`]).
fn read_columns(backend: Backend) -> (JsonColumn, JsonColumn) {
    (
        FixedSql::new(placement::times_column::<CompanyPlacement>(backend)),
        FixedSql::new(crate::projects::totals_column(backend)),
    )
}

fn from_read((row, ended, totals): CompanyRead) -> Result<Company, StoreError> {
    let mut company = Company::from(row);
    placement::set_times::<CompanyPlacement>(&mut company, ended.as_deref())?;
    company.projects = crate::projects::read_totals(totals.as_deref())?;
    Ok(company)
}

/// Companies by id, in id order, with their time in each phase; ids of other accounts are
/// left out.
pub(crate) fn get_many(
    conn: &mut DbConnection,
    account_id: i64,
    ids: &[i64],
) -> Result<Vec<Company>, StoreError> {
    let mut found = Vec::with_capacity(ids.len());
    // Bounded chunks keep each statement under SQLite's limit on bound variables.
    for chunk in ids.chunks(1000) {
        let (times, totals) = read_columns(conn.backend());
        let rows: Vec<CompanyRead> = companies::table
            .filter(companies::account_id.eq(account_id))
            .filter(companies::id.eq_any(chunk))
            .select((CompanyRow::as_select(), times, totals))
            .load(conn)?;
        for row in rows {
            found.push(from_read(row)?);
        }
    }
    found.sort_by_key(|c| c.id);
    Ok(found)
}

/// Applies `patch` when the company is at `expected_version` (if one is given). A patch that
/// changes nothing writes nothing: no new version, no event.
pub fn update(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    patch: CompanyPatch,
    outbox: &Outbox<'_>,
) -> Result<Company, StoreError> {
    record::update::<Companies>(conn, account_id, id, expected_version, patch, outbox)
}

/// Companies in the shared record plumbing ([`crate::record`]) and imports.
pub(crate) struct Companies;

impl Versioned for Companies {
    type Record = Company;
    type Fields = CompanyFields;
    type Patch = CompanyPatch;
    const UPDATED: EventType = EventType::CompanyUpdated;
    const DELETED: EventType = EventType::CompanyDeleted;
    const TAGS: TagTable = tags::companies::TABLE;

    fn lock(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Company, StoreError> {
        find_for_update(conn, account_id, id)
    }

    fn get(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Company, StoreError> {
        get(conn, account_id, id)
    }

    fn version(company: &Company) -> i64 {
        company.version
    }

    fn render(outbox: &Outbox<'_>, company: &Company) -> serde_json::Value {
        outbox.render.company(company)
    }

    fn patched(
        conn: &mut DbConnection,
        account_id: i64,
        id: i64,
        current: &Company,
        patch: CompanyPatch,
    ) -> Result<CompanyFields, StoreError> {
        if patch.owner_id.is_some() {
            check_owner(conn, account_id, "owner_id", patch.new_owner())?;
        }
        if let Some(unit) = patch.unit_id {
            crate::units::check_unit(conn, account_id, unit)?;
        }
        let mut fields = patch
            .apply(current)
            .map_err(|e| Invalid::default().with("custom_fields", e))?;
        fields.custom_fields = crate::fields::check(
            conn,
            account_id,
            FieldRecordType::Company,
            &[id],
            &fields.custom_fields,
            Some(&current.custom_fields),
        )?;
        Ok(fields)
    }

    fn unchanged(current: &Company, fields: &CompanyFields) -> bool {
        CompanyPatch::default().apply(current).as_ref() == Ok(fields)
    }

    fn sets_tags(patch: &CompanyPatch) -> bool {
        patch.tags.is_some()
    }

    fn tags(fields: &CompanyFields) -> &domain::values::Tags {
        &fields.tags
    }

    /// Its contacts and projects stay, unlinked from it, each with its event.
    fn unlink(
        conn: &mut DbConnection,
        account_id: i64,
        id: i64,
        outbox: &Outbox<'_>,
    ) -> Result<Vec<NewEvent>, StoreError> {
        let mut unlinked = crate::contacts::unlink_company(conn, account_id, id, outbox)?;
        unlinked.extend(crate::projects::relink_companies(
            conn,
            account_id,
            &[id],
            None,
            outbox,
        )?);
        let record = RecordRef::new(LinkType::Company, id);
        unlinked.extend(activities::relink_all(
            conn, account_id, record, None, outbox,
        )?);
        Ok(unlinked)
    }

    record::row_writes!(companies, CompanyValues);
}

/// A company row of an import: its fields, and the phase to place it in.
#[derive(Debug, Clone)]
pub struct NewCompany {
    pub fields: CompanyFields,
    pub phase_id: Option<i64>,
}

/// Imports companies; upserts match on the domain. See [`crate::import`].
pub fn import(
    conn: &mut DbConnection,
    account_id: i64,
    rows: Vec<ImportRow<NewCompany, CompanyPatch>>,
    mode: ImportMode,
    atomic: bool,
    outbox: &Outbox<'_>,
) -> Result<Vec<RowOutcome>, StoreError> {
    import::run::<Companies>(conn, account_id, rows, mode, atomic, outbox)
}

impl import::Target for Companies {
    type Create = NewCompany;
    const KEY_FIELD: &'static str = "domain";
    const CREATED: EventType = EventType::CompanyCreated;

    fn id_of(company: &Company) -> i64 {
        company.id
    }

    fn custom_fields(
        create: &mut NewCompany,
    ) -> (FieldRecordType, &mut domain::values::CustomFields) {
        (FieldRecordType::Company, &mut create.fields.custom_fields)
    }

    fn unit(create: &mut NewCompany) -> (Option<i64>, &mut Option<i64>) {
        (create.fields.owner_id, &mut create.fields.unit_id)
    }

    fn refs_of_create(create: &NewCompany) -> Vec<Ref> {
        let owner = create.fields.owner_id.map(|id| Ref::User("owner_id", id));
        let phase = create
            .phase_id
            .map(|id| Ref::Phase("phase_id", id, RecordKind::Company));
        owner.into_iter().chain(phase).collect()
    }

    fn refs_of_patch(patch: &CompanyPatch) -> Vec<Ref> {
        patch
            .new_owner()
            .map(|id| Ref::User("owner_id", id))
            .into_iter()
            .collect()
    }

    fn existing(
        conn: &mut DbConnection,
        account_id: i64,
        keys: &[String],
    ) -> Result<HashMap<String, Vec<i64>>, StoreError> {
        let mut found: HashMap<String, Vec<i64>> = HashMap::new();
        if keys.is_empty() {
            return Ok(found);
        }
        let rows: Vec<(Option<String>, i64)> = companies::table
            .filter(companies::account_id.eq(account_id))
            .filter(companies::domain.eq_any(keys))
            .select((companies::domain, companies::id))
            .order(companies::id.asc())
            .load(conn)?;
        for (domain, id) in rows {
            if let Some(domain) = domain {
                found.entry(domain).or_default().push(id);
            }
        }
        Ok(found)
    }

    fn lock_all(conn: &mut DbConnection, account_id: i64, ids: &[i64]) -> Result<(), StoreError> {
        CompanyPlacement::lock_many(conn, account_id, ids)
    }

    fn insert(
        conn: &mut DbConnection,
        account_id: i64,
        rows: &[&NewCompany],
        outbox: &Outbox<'_>,
    ) -> Result<Vec<Company>, StoreError> {
        let at = now();
        let values: Vec<_> = rows
            .iter()
            .map(|row| {
                (
                    CompanyValues::from(&row.fields),
                    companies::account_id.eq(account_id),
                    companies::version.eq(1),
                    companies::created_at.eq(at),
                    companies::updated_at.eq(at),
                )
            })
            .collect();
        let written: Vec<CompanyRow> =
            on_backend!(conn, |c| diesel::insert_into(companies::table)
                .values(&values)
                .returning(CompanyRow::as_returning())
                .get_results(c))?;
        let mut companies: Vec<Company> = written.into_iter().map(Company::from).collect();
        let tagged: Vec<_> = companies
            .iter()
            .zip(rows)
            .map(|(c, r)| (c.id, &r.fields.tags))
            .collect();
        tags::companies::write(conn, account_id, &tagged)?;
        // A company placed in a phase is read again once placed; the others are as written
        // (a new company has no history and no projects).
        let mut placed = Vec::new();
        for (row, company) in rows.iter().zip(&companies) {
            if let Some(phase) = row.phase_id {
                placement::apply::<CompanyPlacement>(
                    conn,
                    account_id,
                    company.id,
                    None,
                    MoveKind::Initial(phase),
                    outbox.actor,
                )?;
                placed.push(company.id);
            }
        }
        let mut reread: HashMap<i64, Company> = get_many(conn, account_id, &placed)?
            .into_iter()
            .map(|c| (c.id, c))
            .collect();
        for company in &mut companies {
            if let Some(now_placed) = reread.remove(&company.id) {
                *company = now_placed;
            }
        }
        Ok(companies)
    }
}

/// Deletes a company; its contacts and projects stay, unlinked from it.
pub fn delete(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
    expected_version: Option<i64>,
    outbox: &Outbox<'_>,
) -> Result<(), StoreError> {
    record::delete::<Companies>(conn, account_id, id, expected_version, outbox)
}

pub fn list(
    conn: &mut DbConnection,
    account_id: i64,
    filter: &CompanyFilter,
    sort: Sort,
    size: PageSize,
    after: Option<&Position>,
) -> Result<Page<Company>, StoreError> {
    let (times, totals) = read_columns(conn.backend());
    let mut query = companies::table
        .filter(companies::account_id.eq(account_id))
        .select((CompanyRow::as_select(), times, totals))
        .into_boxed();
    if let Some(q) = &filter.q {
        let pattern = contains_pattern(q);
        query = query.filter(
            lower(companies::name)
                .like(pattern.clone())
                .escape('\\')
                .or(lower_nullable(companies::domain)
                    .like(pattern.clone())
                    .escape('\\')
                    .assume_not_null())
                .or(lower_nullable(companies::email)
                    .like(pattern)
                    .escape('\\')
                    .assume_not_null()),
        );
    }
    if let Some(owner) = filter.owner_id {
        query = query.filter(companies::owner_id.eq(owner));
    }
    if let Some(tag) = &filter.tag {
        query = query.filter(companies::id.eq_any(tags::companies::tagged(account_id, tag)));
    }
    if let Some(industry) = &filter.industry {
        query = query.filter(companies::industry.eq(industry.clone()));
    }
    if let Some(since) = filter.created_since {
        query = query.filter(companies::created_at.ge(since.naive_utc()));
    }
    if let Some(since) = filter.updated_since {
        query = query.filter(companies::updated_at.ge(since.naive_utc()));
    }
    if let Some(pipeline) = filter.pipeline_id {
        query = query.filter(companies::pipeline_id.eq(pipeline));
    }
    if let Some(phase) = filter.phase_id {
        query = query.filter(companies::phase_id.eq(phase));
    }
    if let Some(status) = filter.relationship_status {
        query = query.filter(companies::relationship_status.eq(status.as_str()));
    }
    if let Some(outcome) = filter.outcome {
        query = query.filter(companies::outcome.eq(outcome.as_str()));
    }
    if let Some(due) = filter.follow_up_due {
        let at = now();
        query = if due {
            query.filter(companies::follow_up_due_at.le(at))
        } else {
            query.filter(
                companies::follow_up_due_at
                    .is_null()
                    .or(companies::follow_up_due_at.gt(at)),
            )
        };
    }
    if let Some(shown) = filter.show_in_pipeline {
        query = query.filter(companies::show_in_pipeline.eq(shown));
    }
    if let Some(matching) = &filter.matching {
        query = query.filter(compile(matching, account_id, &FILTER_COLUMNS)?);
    }
    let query = filter_activity!(query, &filter.activity, companies);
    let query = crate::units::filter_reach!(query, &filter.reach, companies);
    let query = match sort.field {
        SortField::CreatedAt => keyset_page!(
            query,
            sort,
            after,
            companies::created_at,
            companies::id,
            time_value
        ),
        SortField::UpdatedAt => keyset_page!(
            query,
            sort,
            after,
            companies::updated_at,
            companies::id,
            time_value
        ),
        SortField::Name => keyset_page!(
            query,
            sort,
            after,
            companies::name,
            companies::id,
            text_value
        ),
        SortField::PhaseEnteredAt => keyset_page!(
            query.filter(companies::phase_entered_at.is_not_null()),
            sort,
            after,
            companies::phase_entered_at.assume_not_null(),
            companies::id,
            time_value
        ),
        SortField::FollowUpDueAt => keyset_page!(
            query.filter(companies::follow_up_due_at.is_not_null()),
            sort,
            after,
            companies::follow_up_due_at.assume_not_null(),
            companies::id,
            time_value
        ),
        SortField::LastActivityAt => keyset_page!(
            query.filter(companies::last_activity_at.is_not_null()),
            sort,
            after,
            companies::last_activity_at.assume_not_null(),
            companies::id,
            time_value
        ),
        SortField::NextActivityAt => keyset_page!(
            query.filter(companies::next_activity_at.is_not_null()),
            sort,
            after,
            companies::next_activity_at.assume_not_null(),
            companies::id,
            time_value
        ),
        SortField::Value
        | SortField::ExpectedFinishDate
        | SortField::DueAt
        | SortField::StartsAt
        | SortField::ReceivedAt => {
            return Err(unsupported_sort());
        }
    };
    let rows: Vec<CompanyRead> = query.limit(size.get() + 1).load(conn)?;
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
                SortField::LastActivityAt => {
                    SortValue::Time(to_utc(last.last_activity_at.unwrap_or_default()))
                }
                SortField::NextActivityAt => {
                    SortValue::Time(to_utc(last.next_activity_at.unwrap_or_default()))
                }
                SortField::Value
                | SortField::ExpectedFinishDate
                | SortField::DueAt
                | SortField::StartsAt
                | SortField::ReceivedAt => SortValue::Int(0),
            },
            id: last.id,
        },
        from_read,
    )
}

/// Reads the record for a write: on PostgreSQL the row stays locked until the transaction
/// ends, so concurrent writers queue instead of failing the version check; SQLite's immediate
/// transaction already holds the database's write lock.
pub(crate) fn find_for_update(
    conn: &mut DbConnection,
    account_id: i64,
    id: i64,
) -> Result<Company, StoreError> {
    match conn {
        DbConnection::Postgresql(pg) => companies::table
            .filter(companies::id.eq(id))
            .filter(companies::account_id.eq(account_id))
            .select(CompanyRow::as_select())
            .for_update()
            .first(pg)
            .optional()?
            .map(Company::from)
            .ok_or(StoreError::NotFound),
        DbConnection::Sqlite(_) => find_row(conn, account_id, id),
    }
}

fn find_row(conn: &mut DbConnection, account_id: i64, id: i64) -> Result<Company, StoreError> {
    companies::table
        .filter(companies::id.eq(id))
        .filter(companies::account_id.eq(account_id))
        .select(CompanyRow::as_select())
        .first(conn)
        .optional()?
        .map(Company::from)
        .ok_or(StoreError::NotFound)
}

#[cfg(test)]
mod filter_columns {
    #[test]
    fn every_filterable_field_has_a_column() {
        crate::filter::assert_complete(&super::FILTER_COLUMNS);
    }
}
