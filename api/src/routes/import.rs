//! `POST /v1/{companies,contacts,projects}/import`: many records in one request,
//! from a JSON array or CSV, with a report on every row.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use domain::access::{Resource, Scope};
use domain::event::Outbox;
use persistence::import::{ImportMode, ImportRow, RowOutcome};
use persistence::{DbConnection, StoreError, companies, contacts, projects};

use crate::error::{ApiError, PROBLEM_JSON, Problem};
use crate::extract::{Caller, Query, body_limit, declared_length, read_limited};
use crate::state::AppState;
use crate::wire::import::{
    ImportProblem, ImportQuery, ImportReport, Kind, RawRow, company_rows, contact_rows, csv_rows,
    json_rows, project_rows,
};

/// Import companies
///
/// Up to 10,000 companies from a JSON array of company bodies (as `POST /v1/companies` takes
/// them), or from CSV (`Content-Type: text/csv`) whose header line names the fields (`tags`
/// comma-separated in one cell, `custom_fields.<key>` columns, empty cells absent). With
/// `mode=upsert`, a row whose `domain` names one existing company updates it; with
/// `atomic=true`, one bad row writes nothing. Every row is reported: created, updated, or the
/// problem that refused it. Each written row records its event, as a single create or update
/// would. For larger files, `clientline import companies FILE.csv` feeds the same code.
#[utoipa::path(
    operation_id = "importCompanies", post, path = "/v1/companies/import", tag = "companies",
    params(ImportQuery),
    request_body(description = "A JSON array of companies, or CSV whose header line names the fields", content(
        (Vec<crate::wire::companies::CompanyCreate> = "application/json"),
        (String = "text/csv", example = json!("name,domain,industry,tags\nAcme Ltd,acme.com,Engineering,\"vip,key account\"\n")),
    )),
    responses(
        (status = 200, description = "The report: every row's outcome in order", body = ImportReport),
        (status = 400, description = "The body is not JSON or CSV, or a query parameter is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body exceeds the import size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is neither JSON nor CSV", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an array, more than 10,000 rows, an unknown CSV column; or, with `atomic=true`, a bad row: nothing was written, and the report says why", body = ImportProblem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["companies:write"]))
)]
pub async fn companies(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<ImportQuery>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Write(Resource::Companies))?;
    let rows = Rows::read(&req, payload, &query.0, Kind::Companies).await?;
    rows.write(state, &caller, company_rows, companies::import)
        .await
}

/// Import contacts
///
/// Up to 10,000 contacts from a JSON array of contact bodies (as `POST /v1/contacts` takes
/// them), or from CSV (`Content-Type: text/csv`) whose header line names the fields. With
/// `mode=upsert`, a row whose `email` names one existing contact (ignoring case) updates it;
/// with `atomic=true`, one bad row writes nothing. Every row is reported. For larger files,
/// `clientline import contacts FILE.csv` feeds the same code.
#[utoipa::path(
    operation_id = "importContacts", post, path = "/v1/contacts/import", tag = "contacts",
    params(ImportQuery),
    request_body(description = "A JSON array of contacts, or CSV whose header line names the fields", content(
        (Vec<crate::wire::contacts::ContactCreate> = "application/json"),
        (String = "text/csv", example = json!("first_name,last_name,email,company_id\nAna,Lovelace,ana@acme.com,1\n")),
    )),
    responses(
        (status = 200, description = "The report: every row's outcome in order", body = ImportReport),
        (status = 400, description = "The body is not JSON or CSV, or a query parameter is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body exceeds the import size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is neither JSON nor CSV", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an array, more than 10,000 rows, an unknown CSV column; or, with `atomic=true`, a bad row: nothing was written, and the report says why", body = ImportProblem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["contacts:write"]))
)]
pub async fn contacts(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<ImportQuery>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Write(Resource::Contacts))?;
    let rows = Rows::read(&req, payload, &query.0, Kind::Contacts).await?;
    rows.write(state, &caller, contact_rows, contacts::import)
        .await
}

/// Import projects
///
/// Up to 10,000 projects from a JSON array of project bodies (as `POST /v1/projects` takes
/// them), or from CSV (`Content-Type: text/csv`) whose header line names the fields (the value
/// as `value.amount` and `value.currency` columns). With `mode=upsert`, a row whose
/// `external_id` names an existing project updates it (its `phase_id` is then ignored: moves
/// are transitions); without it, a row whose `external_id` is taken fails. Rows without a
/// `phase_id` start in the first phase of the default project pipeline. Every row is
/// reported. For larger files, `clientline import projects FILE.csv` feeds the same code.
#[utoipa::path(
    operation_id = "importProjects", post, path = "/v1/projects/import", tag = "projects",
    params(ImportQuery),
    request_body(description = "A JSON array of projects, or CSV whose header line names the fields", content(
        (Vec<crate::wire::projects::ProjectCreate> = "application/json"),
        (String = "text/csv", example = json!("name,external_id,company_id,value.amount,value.currency,expected_finish_date\nOffice move,ERP-14,1,12500,EUR,2027-03-31\n")),
    )),
    responses(
        (status = 200, description = "The report: every row's outcome in order", body = ImportReport),
        (status = 400, description = "The body is not JSON or CSV, or a query parameter is invalid", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "The body exceeds the import size limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is neither JSON nor CSV", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Not an array, more than 10,000 rows, an unknown CSV column; or, with `atomic=true`, a bad row: nothing was written, and the report says why", body = ImportProblem, content_type = "application/problem+json"),
    ),
    security(("bearer" = ["projects:write"]))
)]
pub async fn projects(
    state: web::Data<AppState>,
    caller: Caller,
    query: Query<ImportQuery>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    caller.require(Scope::Write(Resource::Projects))?;
    let rows = Rows::read(&req, payload, &query.0, Kind::Projects).await?;
    rows.write(state, &caller, project_rows, projects::import)
        .await
}

/// How one kind of record is imported: [`companies::import`] and the like.
type Importer<C, P> = fn(
    &mut DbConnection,
    i64,
    Vec<ImportRow<C, P>>,
    ImportMode,
    bool,
    &Outbox<'_>,
) -> Result<Vec<RowOutcome>, StoreError>;

/// An import request read: its options, its raw rows and their numbers.
struct Rows {
    mode: ImportMode,
    atomic: bool,
    raw: Vec<RawRow>,
    numbers: Vec<usize>,
}

impl Rows {
    /// Parses the rows as records (off the actix workers), writes them and answers the report.
    async fn write<C: Send + 'static, P: Send + 'static>(
        self,
        state: web::Data<AppState>,
        caller: &Caller,
        parse: fn(Vec<RawRow>, ImportMode) -> Vec<ImportRow<C, P>>,
        import: Importer<C, P>,
    ) -> Result<HttpResponse, ApiError> {
        let (mode, atomic) = (self.mode, self.atomic);
        let raw = self.raw;
        let parsed = actix_web::web::block(move || parse(raw, mode))
            .await
            .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?;
        let (account, outbox) = (caller.account_id(), caller.outbox());
        let outcomes = state
            .run(move |conn| import(conn, account, parsed, mode, atomic, &outbox))
            .await?;
        Ok(answer(ImportReport::new(
            mode,
            atomic,
            &self.numbers,
            outcomes,
        )))
    }

    async fn read(
        req: &HttpRequest,
        payload: web::Payload,
        query: &ImportQuery,
        kind: Kind,
    ) -> Result<Rows, ApiError> {
        let (mode, atomic) = (query.mode()?, query.atomic.unwrap_or(false));
        let raw = read_rows(req, payload, kind, mode).await?;
        let numbers = raw.iter().map(|(n, _)| *n).collect();
        Ok(Rows {
            mode,
            atomic,
            raw,
            numbers,
        })
    }
}

/// 200 with the report; for an atomic import that wrote nothing, 422 with the report inside
/// the problem.
fn answer(report: ImportReport) -> HttpResponse {
    if report.atomic && report.failed > 0 {
        let problem = ApiError::Invalid(domain::Invalid::one(
            "",
            "import_rejected",
            format!(
                "{} of {} rows are invalid, so nothing was written (atomic=true); see `rows`",
                report.failed,
                report.rows.len()
            ),
        ))
        .problem();
        return HttpResponse::build(StatusCode::UNPROCESSABLE_ENTITY)
            .content_type(PROBLEM_JSON)
            .json(ImportProblem::rejected(problem, report));
    }
    HttpResponse::Ok().json(report)
}

/// Reads the body (within the import size limit) and splits it into rows by its content type.
async fn read_rows(
    req: &HttpRequest,
    payload: web::Payload,
    kind: Kind,
    mode: ImportMode,
) -> Result<Vec<RawRow>, ApiError> {
    let essence = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let csv = match essence.as_str() {
        "text/csv" => true,
        "application/json" => false,
        _ => return Err(ApiError::UnsupportedMediaType),
    };
    let limit = body_limit(req);
    let bytes = read_limited(declared_length(req.headers()), payload, limit).await?;
    // Parsing 10,000 rows takes a while: off the actix workers, like database work.
    actix_web::web::block(move || {
        if csv {
            csv_rows(kind, mode, &bytes)
        } else {
            json_rows(&bytes)
        }
    })
    .await
    .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?
}
