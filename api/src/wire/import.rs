//! Bulk import on the wire: rows from a JSON array or a CSV file, each parsed as the create
//! (and, for upserts, the update) body of its record, and the per-row report.
//!
//! CSV: the first line names the columns, which are the fields of the JSON body; `tags` is a
//! comma-separated list (quote the cell); `custom_fields.<key>` columns fill custom fields;
//! an empty cell is an absent field.

use domain::company::CompanyPatch;
use domain::contact::{ContactFields, ContactPatch};
use domain::project::ProjectPatch;
use domain::values::{DomainName, Email, ExternalId};
use domain::{FieldError, Invalid};
use persistence::companies::NewCompany;
use persistence::import::{ImportMode, ImportRow, MAX_ROWS, RowOutcome};
use persistence::projects::NewProject;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};

use super::companies::{CompanyCreate, CompanyUpdate};
use super::contacts::{ContactCreate, ContactUpdate};
use super::deserialize::parse_value;
use super::projects::{ProjectCreate, ProjectUpdate};
use crate::error::{ApiError, Problem};

/// A row of an import before it is parsed as a record: its number and its fields.
pub type RawRow = (usize, Result<Map<String, Value>, Invalid>);

/// The kind of record an import creates; it decides how CSV cells are typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Companies,
    Contacts,
    Projects,
}

impl Kind {
    /// The column every row of a CSV needs.
    fn required_column(self) -> &'static str {
        match self {
            Kind::Companies | Kind::Projects => "name",
            Kind::Contacts => "first_name",
        }
    }

    /// The column upserts match on.
    fn key_column(self) -> &'static str {
        match self {
            Kind::Companies => "domain",
            Kind::Contacts => "email",
            Kind::Projects => "external_id",
        }
    }

    fn integer_fields(self) -> &'static [&'static str] {
        match self {
            Kind::Companies => &["owner_id", "phase_id"],
            Kind::Contacts => &["owner_id", "company_id", "reports_to_id"],
            Kind::Projects => &["owner_id", "company_id", "phase_id", "probability"],
        }
    }

    fn bool_fields(self) -> &'static [&'static str] {
        match self {
            Kind::Companies => &["show_in_pipeline"],
            Kind::Contacts | Kind::Projects => &[],
        }
    }

    /// Columns `<object>.<key>` that fill one object field of the body, such as a project's
    /// `value.amount` and `value.currency`.
    fn object_columns(self) -> &'static [&'static str] {
        match self {
            Kind::Projects => &["value.amount", "value.currency"],
            Kind::Companies | Kind::Contacts => &[],
        }
    }
}

/// `mode` and `atomic` of an import request.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    /// `insert` (default): every row creates a record. `upsert`: a row whose key names an
    /// existing record (a company's `domain`, a contact's `email`, ignoring case) updates it
    /// with the row's non-empty fields, as a PATCH would; other rows create records.
    #[param(schema_with = super::schema::import_mode)]
    pub mode: Option<String>,
    /// `true`: all or nothing; one bad row writes no row and the answer is 422 with the
    /// report. Default `false`: good rows are written, bad ones reported.
    pub atomic: Option<bool>,
}

impl ImportQuery {
    pub fn mode(&self) -> Result<ImportMode, ApiError> {
        match self.mode.as_deref() {
            None | Some("insert") => Ok(ImportMode::Insert),
            Some("upsert") => Ok(ImportMode::Upsert),
            Some(_) => Err(ApiError::BadRequest(
                "query parameter `mode` must be `insert` or `upsert`".into(),
                vec![FieldError::new(
                    "mode",
                    "invalid_choice",
                    "must be insert or upsert",
                )],
            )),
        }
    }
}

/// The rows of a JSON array body. Anything but an array of at most [`MAX_ROWS`] is refused
/// whole; an element that is not an object fails as a row.
pub fn json_rows(bytes: &[u8]) -> Result<Vec<RawRow>, ApiError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        ApiError::BadRequest(format!("the body is not valid JSON: {e}"), Vec::new())
    })?;
    let Value::Array(items) = value else {
        return Err(ApiError::Invalid(Invalid::one(
            "",
            "not_an_array",
            "the body must be a JSON array of records, or CSV with `Content-Type: text/csv`",
        )));
    };
    check_count(items.len())?;
    Ok(items
        .into_iter()
        .enumerate()
        .map(|(i, item)| {
            let row = match item {
                Value::Object(map) => Ok(map),
                _ => Err(Invalid::one(
                    "",
                    "not_an_object",
                    "each row must be a JSON object",
                )),
            };
            (i + 1, row)
        })
        .collect())
}

/// The rows of a CSV body: at most [`MAX_ROWS`] rows below a header line.
pub fn csv_rows(kind: Kind, mode: ImportMode, bytes: &[u8]) -> Result<Vec<RawRow>, ApiError> {
    check_csv(bytes)?;
    let mut reader = CsvRows::new(kind, mode, bytes)?;
    let mut rows = Vec::new();
    while let Some(row) = reader.next_row()? {
        rows.push(row);
        check_count(rows.len())?;
    }
    Ok(rows)
}

fn check_count(count: usize) -> Result<(), ApiError> {
    if count > MAX_ROWS {
        return Err(ApiError::Invalid(Invalid::one(
            "",
            "too_many_rows",
            format!(
                "an import holds at most {MAX_ROWS} rows; split the file, or use `clientline import` for larger ones"
            ),
        )));
    }
    Ok(())
}

/// Where a CSV breaks its own quoting rules (RFC 4180): a quote inside a cell that does not
/// start with one, text after a closing quote, or a quote that is never closed. The csv
/// reader would keep such quotes as text; this refuses the whole file instead, naming the
/// line and column, before any row is written.
pub fn check_csv<R: std::io::Read>(mut source: R) -> Result<(), ApiError> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        FieldStart,
        Unquoted,
        Quoted,
        QuoteInQuoted,
    }
    let (mut state, mut line, mut column) = (State::FieldStart, 1usize, 1usize);
    // Where the quoted cell being read began.
    let mut opened = (1usize, 1usize);
    let mut first = true;
    let mut buffer = [0u8; 64 * 1024];
    let fault = |line: usize, column: usize, what: &str| {
        let at = format!("line {line}, column {column}");
        ApiError::Invalid(Invalid::one(at, "malformed_csv", what))
    };
    loop {
        let read = source.read(&mut buffer).map_err(|e| {
            ApiError::BadRequest(format!("the CSV cannot be read: {e}"), Vec::new())
        })?;
        if read == 0 {
            break;
        }
        let mut bytes = &buffer[..read];
        if first {
            bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
            first = false;
        }
        for &byte in bytes {
            state = match (state, byte) {
                (State::FieldStart, b'"') => {
                    opened = (line, column);
                    State::Quoted
                }
                (State::FieldStart | State::Unquoted | State::QuoteInQuoted, b',') => {
                    column += 1;
                    State::FieldStart
                }
                (State::FieldStart | State::Unquoted | State::QuoteInQuoted, b'\n') => {
                    line += 1;
                    column = 1;
                    State::FieldStart
                }
                (State::FieldStart | State::Unquoted | State::QuoteInQuoted, b'\r') => {
                    State::FieldStart
                }
                (State::FieldStart | State::Unquoted, _) if byte != b'"' => State::Unquoted,
                (State::Unquoted, _) => {
                    return Err(fault(
                        line,
                        column,
                        "a quote inside a cell that does not start with one; quote the whole cell and double each quote inside it",
                    ));
                }
                (State::Quoted, b'"') => State::QuoteInQuoted,
                (State::Quoted, b'\n') => {
                    line += 1;
                    State::Quoted
                }
                (State::Quoted, _) => State::Quoted,
                (State::QuoteInQuoted, b'"') => State::Quoted,
                (State::QuoteInQuoted, _) => {
                    return Err(fault(
                        line,
                        column,
                        "text after the closing quote of a cell; double each quote inside a quoted cell",
                    ));
                }
                (State::FieldStart, _) => State::Unquoted,
            };
        }
    }
    if state == State::Quoted {
        return Err(fault(
            opened.0,
            opened.1,
            "a quoted cell that is never closed",
        ));
    }
    Ok(())
}

/// Reads CSV rows one at a time, for requests and for the command line's large files alike.
pub struct CsvRows<R: std::io::Read> {
    kind: Kind,
    columns: Vec<Column>,
    reader: csv::Reader<R>,
    record: csv::StringRecord,
    row: usize,
}

enum Column {
    Field(String),
    Custom(String),
    /// A member of an object field: (field, member).
    Member(&'static str, &'static str),
}

impl<R: std::io::Read> CsvRows<R> {
    /// Reads the header line; unknown and repeated columns are refused whole, naming them, and
    /// so is a header without the column rows need (in upsert mode the key will do: matched
    /// rows need nothing else).
    pub fn new(kind: Kind, mode: ImportMode, source: R) -> Result<Self, ApiError> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(false)
            .trim(csv::Trim::All)
            .from_reader(source);
        let headers = reader
            .headers()
            .map_err(|e| {
                ApiError::BadRequest(format!("the CSV header cannot be read: {e}"), Vec::new())
            })?
            .clone();
        if headers.iter().all(str::is_empty) {
            return Err(ApiError::Invalid(Invalid::one(
                "line 1",
                "empty_csv",
                "the CSV is empty; send a header line naming the columns, then one line per row",
            )));
        }
        let known = known_columns(kind);
        let mut columns = Vec::with_capacity(headers.len());
        let mut invalid = Invalid::default();
        let mut seen: Vec<&str> = Vec::with_capacity(headers.len());
        for (index, name) in headers.iter().enumerate() {
            let name = name.trim_start_matches('\u{feff}');
            let at = format!("line 1, column {}", index + 1);
            if seen.contains(&name) {
                invalid.push(FieldError::new(
                    at,
                    "duplicate_column",
                    format!("`{name}` is named twice in the header; name each column once"),
                ));
                continue;
            }
            seen.push(name);
            if let Some(key) = name.strip_prefix("custom_fields.") {
                if key.trim().is_empty() {
                    invalid.push(FieldError::new(
                        at,
                        "invalid_column",
                        "`custom_fields.` needs a key after the dot, such as `custom_fields.tier`",
                    ));
                    continue;
                }
                columns.push(Column::Custom(key.to_owned()));
            } else if let Some(column) = kind.object_columns().iter().find(|c| **c == name) {
                let (field, member) = column.split_once('.').unwrap_or((column, ""));
                columns.push(Column::Member(field, member));
            } else if known.contains(&name) {
                columns.push(Column::Field(name.to_owned()));
            } else {
                invalid.push(FieldError::new(
                    name,
                    "unknown_column",
                    format!(
                        "{at}: `{name}` is not a column; columns are {} and custom_fields.<key>",
                        known
                            .iter()
                            .chain(kind.object_columns())
                            .copied()
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                ));
            }
        }
        let (required, key) = (kind.required_column(), kind.key_column());
        let upsert = mode == ImportMode::Upsert;
        let rows_can_be_read = seen.contains(&required) || (upsert && seen.contains(&key));
        if !rows_can_be_read {
            let needs = if upsert {
                format!("a `{required}` column (or `{key}`, to update matched records)")
            } else {
                format!("a `{required}` column, which every row needs")
            };
            invalid.push(FieldError::new(
                "line 1",
                "missing_column",
                format!("the header has no {needs}"),
            ));
        }
        invalid.into_result()?;
        Ok(CsvRows {
            kind,
            columns,
            reader,
            record: csv::StringRecord::new(),
            row: 0,
        })
    }

    /// How far into the source the reader is, in bytes.
    pub fn byte_position(&self) -> u64 {
        self.reader.position().byte()
    }

    /// The next row, or `None` at the end. A line that is not CSV is refused whole.
    pub fn next_row(&mut self) -> Result<Option<RawRow>, ApiError> {
        let more = self.reader.read_record(&mut self.record).map_err(|e| {
            ApiError::BadRequest(
                format!("the CSV cannot be read after row {}: {e}", self.row),
                Vec::new(),
            )
        })?;
        if !more {
            return Ok(None);
        }
        self.row += 1;
        Ok(Some((self.row, self.fields())))
    }

    fn fields(&self) -> Result<Map<String, Value>, Invalid> {
        let mut fields = Map::new();
        let mut custom = Map::new();
        let mut invalid = Invalid::default();
        for (column, cell) in self.columns.iter().zip(self.record.iter()) {
            if cell.is_empty() {
                continue;
            }
            match column {
                Column::Custom(key) => {
                    custom.insert(key.clone(), Value::String(cell.to_owned()));
                }
                Column::Member(field, member) => {
                    let object = fields
                        .entry(*field)
                        .or_insert_with(|| Value::Object(Map::new()));
                    if let Value::Object(object) = object {
                        object.insert((*member).to_owned(), Value::String(cell.to_owned()));
                    }
                }
                Column::Field(name) if name == "tags" => {
                    let tags = cell
                        .split(',')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(|t| Value::String(t.to_owned()))
                        .collect();
                    fields.insert(name.clone(), Value::Array(tags));
                }
                Column::Field(name) if self.kind.integer_fields().contains(&name.as_str()) => {
                    match cell.parse::<i64>() {
                        Ok(n) => {
                            fields.insert(name.clone(), Value::from(n));
                        }
                        Err(_) => invalid.push(FieldError::new(
                            name.as_str(),
                            "invalid_type",
                            "must be a whole number",
                        )),
                    }
                }
                Column::Field(name) if self.kind.bool_fields().contains(&name.as_str()) => {
                    match cell.to_ascii_lowercase().as_str() {
                        "true" | "yes" | "1" => {
                            fields.insert(name.clone(), Value::Bool(true));
                        }
                        "false" | "no" | "0" => {
                            fields.insert(name.clone(), Value::Bool(false));
                        }
                        _ => invalid.push(FieldError::new(
                            name.as_str(),
                            "invalid_type",
                            "must be true or false",
                        )),
                    }
                }
                Column::Field(name) => {
                    fields.insert(name.clone(), Value::String(cell.to_owned()));
                }
            }
        }
        if !custom.is_empty() {
            fields.insert("custom_fields".into(), Value::Object(custom));
        }
        invalid.into_result().map(|()| fields)
    }
}

fn known_columns(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Companies => &[
            "name",
            "domain",
            "website",
            "email",
            "phone",
            "industry",
            "size_band",
            "address",
            "description",
            "owner_id",
            "tags",
            "show_in_pipeline",
            "phase_id",
        ],
        Kind::Contacts => &[
            "first_name",
            "last_name",
            "email",
            "phone",
            "job_title",
            "company_id",
            "reports_to_id",
            "owner_id",
            "tags",
        ],
        Kind::Projects => &[
            "name",
            "description",
            "company_id",
            "owner_id",
            "external_id",
            "probability",
            "expected_start_date",
            "expected_duration",
            "expected_finish_date",
            "proposal_received_date",
            "proposal_due_date",
            "start_date",
            "end_date",
            "tags",
            "phase_id",
        ],
    }
}

fn invalid_of(error: ApiError) -> Invalid {
    match error {
        ApiError::Invalid(invalid) => invalid,
        other => Invalid::one("", "invalid", other.to_string()),
    }
}

/// Parses raw rows as companies: as new ones, and for upserts also as changes.
pub fn company_rows(
    rows: Vec<RawRow>,
    mode: ImportMode,
) -> Vec<ImportRow<NewCompany, CompanyPatch>> {
    let key = |f: &Map<String, Value>| {
        f.get("domain")
            .and_then(Value::as_str)
            .and_then(|d| DomainName::parse(d).ok())
            .map(|d| d.as_str().to_owned())
    };
    let create = |f: Map<String, Value>| {
        let body = parse_value::<CompanyCreate>(Value::Object(f)).map_err(invalid_of)?;
        let phase_id = body.phase_id;
        if phase_id.is_some_and(|p| p < 1) {
            return Err(Invalid::one(
                "phase_id",
                "invalid_id",
                "must be a positive id",
            ));
        }
        Ok(NewCompany {
            fields: body.into_fields()?,
            phase_id,
        })
    };
    let patch = |f: Map<String, Value>| {
        parse_value::<CompanyUpdate>(Value::Object(f))
            .map_err(invalid_of)?
            .into_patch()
    };
    parse_rows(rows, mode, key, create, patch)
}

/// Parses raw rows as contacts: as new ones, and for upserts also as changes.
pub fn contact_rows(
    rows: Vec<RawRow>,
    mode: ImportMode,
) -> Vec<ImportRow<ContactFields, ContactPatch>> {
    let key = |f: &Map<String, Value>| {
        f.get("email")
            .and_then(Value::as_str)
            .and_then(|e| Email::parse(e).ok())
            .map(|e| e.normalized())
    };
    let create = |f: Map<String, Value>| {
        parse_value::<ContactCreate>(Value::Object(f))
            .map_err(invalid_of)?
            .into_fields()
    };
    let patch = |f: Map<String, Value>| {
        parse_value::<ContactUpdate>(Value::Object(f))
            .map_err(invalid_of)?
            .into_patch()
    };
    parse_rows(rows, mode, key, create, patch)
}

/// Parses raw rows as projects: as new ones, and for upserts also as changes.
pub fn project_rows(
    rows: Vec<RawRow>,
    mode: ImportMode,
) -> Vec<ImportRow<NewProject, ProjectPatch>> {
    let key = |f: &Map<String, Value>| {
        f.get("external_id")
            .and_then(Value::as_str)
            .and_then(|e| ExternalId::parse(e).ok())
            .map(ExternalId::into_inner)
    };
    let create = |f: Map<String, Value>| {
        let (fields, phase_id) = parse_value::<ProjectCreate>(Value::Object(f))
            .map_err(invalid_of)?
            .into_fields()?;
        Ok(NewProject { fields, phase_id })
    };
    let patch = |f: Map<String, Value>| {
        parse_value::<ProjectUpdate>(Value::Object(f))
            .map_err(invalid_of)?
            .into_patch()
    };
    parse_rows(rows, mode, key, create, patch)
}

/// Parses each row as a new record and, for upserts, as a change, and finds its key.
fn parse_rows<C, P>(
    rows: Vec<RawRow>,
    mode: ImportMode,
    key: impl Fn(&Map<String, Value>) -> Option<String>,
    create: impl Fn(Map<String, Value>) -> Result<C, Invalid>,
    patch: impl Fn(Map<String, Value>) -> Result<P, Invalid>,
) -> Vec<ImportRow<C, P>> {
    // `phase_id` places a new record; a matched one keeps its place (moving it is a
    // transition).
    let as_change = |fields: &Result<Map<String, Value>, Invalid>| {
        let mut fields = fields.clone()?;
        fields.remove("phase_id");
        patch(fields)
    };
    rows.into_iter()
        .map(|(row, fields)| ImportRow {
            row,
            key: fields.as_ref().ok().and_then(&key),
            patch: (mode == ImportMode::Upsert).then(|| as_change(&fields)),
            create: fields.and_then(&create),
        })
        .collect()
}

/// What became of one row.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportRowOut {
    /// The row's number, counted from 1 (CSV: below the header line).
    #[schema(example = 3)]
    pub row: usize,
    /// `created`, `updated`, `failed`, or `skipped` (valid, but not written because an
    /// atomic import had a bad row).
    #[schema(example = "created")]
    #[schema(schema_with = super::schema::import_row_status)]
    pub status: &'static str,
    /// The record's id, when the row was written.
    #[schema(required = true)]
    pub id: Option<i64>,
    /// Why the row failed: the problem a single create or update would have answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<Problem>,
}

/// The report of an import: counts, and every row's outcome in order.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportReport {
    /// `insert` or `upsert`.
    #[schema(schema_with = super::schema::import_mode)]
    pub mode: &'static str,
    pub atomic: bool,
    pub created: usize,
    pub updated: usize,
    pub failed: usize,
    pub skipped: usize,
    pub rows: Vec<ImportRowOut>,
}

impl ImportReport {
    pub fn new(
        mode: ImportMode,
        atomic: bool,
        numbers: &[usize],
        outcomes: Vec<RowOutcome>,
    ) -> Self {
        let mut report = ImportReport {
            mode: match mode {
                ImportMode::Insert => "insert",
                ImportMode::Upsert => "upsert",
            },
            atomic,
            created: 0,
            updated: 0,
            failed: 0,
            skipped: 0,
            rows: Vec::with_capacity(outcomes.len()),
        };
        for (row, outcome) in numbers.iter().zip(outcomes) {
            let (status, id, error) = match outcome {
                RowOutcome::Created(id) => {
                    report.created += 1;
                    ("created", Some(id), None)
                }
                RowOutcome::Updated(id) => {
                    report.updated += 1;
                    ("updated", Some(id), None)
                }
                RowOutcome::Failed(invalid) => {
                    report.failed += 1;
                    ("failed", None, Some(ApiError::Invalid(invalid).problem()))
                }
                RowOutcome::Skipped => {
                    report.skipped += 1;
                    ("skipped", None, None)
                }
            };
            report.rows.push(ImportRowOut {
                row: *row,
                status,
                id,
                error,
            });
        }
        report
    }
}

/// A refused import. Every refusal is a problem; an atomic import with bad rows also carries
/// the report (its members are then all present), so that the caller learns every row's fate
/// from one answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ImportProblem {
    #[serde(flatten)]
    pub problem: Problem,
    /// `insert` or `upsert` (atomic imports with bad rows).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub atomic: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<usize>,
    /// Every row's outcome, in order: the failed ones with their problem, the rest `skipped`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<Vec<ImportRowOut>>,
}

impl ImportProblem {
    /// The problem of an atomic import that wrote nothing, with its report.
    pub fn rejected(problem: Problem, report: ImportReport) -> Self {
        ImportProblem {
            problem,
            mode: Some(report.mode),
            atomic: Some(report.atomic),
            created: Some(report.created),
            updated: Some(report.updated),
            failed: Some(report.failed),
            skipped: Some(report.skipped),
            rows: Some(report.rows),
        }
    }
}
