//! Enquiry bodies, the conversion request, the matches and the enquiry list's query string.

use chrono::{DateTime, Datelike, Utc};
use domain::enquiry::{Enquirer, Enquiry, EnquiryFields, EnquiryPatch, Source};
use domain::validation::ValueError;
use domain::values::{Description, Email, Name, Phone, Title};
use domain::{FieldError, Invalid};
use persistence::enquiries::{Match, Party};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::{IntoParams, ToSchema};

use super::companies::CompanyCreate;
use super::contacts::ContactCreate;
use super::input::Parser;
use super::projects::ProjectCreate;
use super::{double_option, list_of};

/// An enquiry: a request as the enquirer wrote it, and what became of it.
#[derive(Debug, Serialize, ToSchema)]
pub struct EnquiryOut {
    #[schema(example = 14)]
    pub id: i64,
    #[schema(required = true, example = "Ana Lima")]
    pub name: Option<String>,
    #[schema(required = true, example = "ana@acme.com")]
    pub email: Option<String>,
    #[schema(required = true)]
    pub phone: Option<String>,
    #[schema(required = true, example = "Acme Ltd")]
    pub company_name: Option<String>,
    #[schema(required = true, example = "Office move next spring")]
    pub subject: Option<String>,
    #[schema(required = true)]
    pub message: Option<String>,
    #[schema(schema_with = super::schema::enquiry_source)]
    pub source: String,
    pub received_at: DateTime<Utc>,
    #[schema(required = true)]
    pub assignee_id: Option<i64>,
    /// `open`, `closed` (with `close_reason`) or `converted`.
    #[schema(schema_with = super::schema::enquiry_status)]
    pub status: String,
    #[schema(required = true)]
    pub close_reason: Option<String>,
    /// What a conversion made of it.
    #[schema(required = true)]
    pub company_id: Option<i64>,
    #[schema(required = true)]
    pub contact_id: Option<i64>,
    #[schema(required = true)]
    pub project_id: Option<i64>,
    #[schema(required = true)]
    pub converted_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<Enquiry> for EnquiryOut {
    fn from(e: Enquiry) -> Self {
        EnquiryOut {
            id: e.id,
            name: e.name,
            email: e.email,
            phone: e.phone,
            company_name: e.company_name,
            subject: e.subject,
            message: e.message,
            source: e.source.as_str().to_owned(),
            received_at: e.received_at,
            assignee_id: e.assignee_id,
            status: e.status.as_str().to_owned(),
            close_reason: e.close_reason,
            company_id: e.company_id,
            contact_id: e.contact_id,
            project_id: e.project_id,
            converted_at: e.converted_at,
            version: e.version,
            created_at: e.created_at,
            updated_at: e.updated_at,
        }
    }
}

list_of!(EnquiryList, EnquiryOut, "enquiries");

/// A new enquiry, as the enquirer wrote it: at least one of `name`, `email`, `phone`,
/// `subject` and `message`. From a web form's intake token only these six fields are taken
/// (`source` is `web_form`, `received_at` now).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnquiryCreate {
    #[schema(max_length = 200, example = "Ana Lima")]
    pub name: Option<String>,
    #[schema(schema_with = super::schema::email_input)]
    pub email: Option<String>,
    #[schema(max_length = 50)]
    pub phone: Option<String>,
    #[schema(max_length = 200, example = "Acme Ltd")]
    pub company_name: Option<String>,
    #[schema(max_length = 500, example = "Office move next spring")]
    pub subject: Option<String>,
    #[schema(max_length = 10000)]
    pub message: Option<String>,
    /// Default `other`.
    #[schema(schema_with = super::schema::enquiry_source)]
    pub source: Option<String>,
    /// When it came in; default now.
    pub received_at: Option<DateTime<Utc>>,
    #[schema(minimum = 1)]
    pub assignee_id: Option<i64>,
}

impl Parser {
    fn enquirer(
        &mut self,
        name: Option<&str>,
        email: Option<&str>,
        phone: Option<&str>,
        company_name: Option<&str>,
        subject: Option<&str>,
        message: Option<&str>,
    ) -> Enquirer {
        Enquirer {
            name: self.optional("name", name, Name::parse),
            email: self.optional("email", email, Email::parse),
            phone: self.optional("phone", phone, Phone::parse),
            company_name: self.optional("company_name", company_name, Name::parse),
            subject: self.optional("subject", subject, Title::parse),
            message: self.optional("message", message, Description::parse),
        }
    }
}

impl EnquiryCreate {
    /// The enquiry's fields; `intake`: from a public web form, which gives only what the
    /// enquirer wrote.
    pub fn into_fields(self, intake: bool, now: DateTime<Utc>) -> Result<EnquiryFields, Invalid> {
        let mut p = Parser::default();
        if intake {
            for (field, given) in [
                ("source", self.source.is_some()),
                ("received_at", self.received_at.is_some()),
                ("assignee_id", self.assignee_id.is_some()),
            ] {
                if given {
                    p.check::<()>(
                        field,
                        Err(ValueError::new(
                            "not_allowed",
                            "a web form's intake token gives only name, email, phone, company_name, subject and message",
                        )),
                    );
                }
            }
        }
        let enquirer = p.enquirer(
            self.name.as_deref(),
            self.email.as_deref(),
            self.phone.as_deref(),
            self.company_name.as_deref(),
            self.subject.as_deref(),
            self.message.as_deref(),
        );
        if p.invalid.is_empty() {
            p.check("", enquirer.check());
        }
        let source = if intake {
            Some(Source::WebForm)
        } else {
            p.optional("source", self.source.as_deref(), Source::parse)
        };
        p.in_years("received_at", self.received_at.map(|t| t.year()));
        let assignee_id = p.id("assignee_id", self.assignee_id);
        p.build(Some(EnquiryFields {
            enquirer,
            source: source.unwrap_or_default(),
            received_at: self.received_at.unwrap_or(now),
            assignee_id,
        }))
    }
}

/// Changes to an enquiry: absent fields stay as they are, `null` clears a field. Its status
/// changes through `/close`, `/reopen` and `/convert`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnquiryUpdate {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(schema_with = super::schema::email_input)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 50)]
    pub phone: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 200)]
    pub company_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 500)]
    pub subject: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 10000)]
    pub message: Option<Option<String>>,
    #[serde(default, deserialize_with = "super::not_null")]
    #[schema(nullable = false, schema_with = super::schema::enquiry_source)]
    pub source: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub assignee_id: Option<Option<i64>>,
}

impl EnquiryUpdate {
    pub fn into_patch(self) -> Result<EnquiryPatch, Invalid> {
        let mut p = Parser::default();
        fn text(raw: &Option<Option<String>>) -> Option<Option<&str>> {
            raw.as_ref().map(Option::as_deref)
        }
        let patch = EnquiryPatch {
            name: p.patch("name", text(&self.name), Name::parse),
            email: p.patch("email", text(&self.email), Email::parse),
            phone: p.patch("phone", text(&self.phone), Phone::parse),
            company_name: p.patch("company_name", text(&self.company_name), Name::parse),
            subject: p.patch("subject", text(&self.subject), Title::parse),
            message: p.patch("message", text(&self.message), Description::parse),
            source: p.patch_required("source", self.source.as_deref(), Source::parse),
            assignee_id: self.assignee_id.map(|id| p.id("assignee_id", id)),
        };
        p.finish()?;
        Ok(patch)
    }
}

/// Why an enquiry is closed.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnquiryClose {
    /// Up to 500 characters, one line.
    #[schema(max_length = 500, example = "Outside our area")]
    pub reason: Option<String>,
}

impl EnquiryClose {
    pub fn into_reason(self) -> Result<Option<String>, Invalid> {
        let mut p = Parser::default();
        let reason = p.optional("reason", self.reason.as_deref(), Title::parse);
        p.finish()?;
        Ok(reason.map(Title::into_inner))
    }
}

/// What to make of an enquiry. Give `company_id` to attach it to an existing company, or
/// `company` to create one; with neither, a company is created from the enquiry's
/// `company_name` (and its email's domain) when it gave one. The same for the contact
/// (`contact_id` or `contact`; by default one is created from the enquirer's name, email and
/// phone, at the company). `project` creates a project for the company, in `phase_id` or its
/// pipeline's first phase. All of it happens in one transaction, or none of it.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EnquiryConversion {
    #[schema(minimum = 1)]
    pub company_id: Option<i64>,
    pub company: Option<CompanyCreate>,
    #[schema(minimum = 1)]
    pub contact_id: Option<i64>,
    pub contact: Option<ContactCreate>,
    pub project: Option<ProjectCreate>,
}

/// Field errors of a nested body, named under it (`company.name`).
fn nested(prefix: &str, invalid: Invalid) -> Invalid {
    Invalid(
        invalid
            .0
            .into_iter()
            .map(|e| FieldError::new(format!("{prefix}.{}", e.field), e.code, e.message))
            .collect(),
    )
}

impl EnquiryConversion {
    /// The conversion of `enquiry`, with its defaults.
    pub fn into_conversion(
        self,
        enquiry: &Enquiry,
    ) -> Result<persistence::enquiries::Conversion, Invalid> {
        let mut invalid = Invalid::default();
        let both = |field: &str| {
            FieldError::new(
                field,
                "conflicting",
                format!("give {field}_id (an existing one) or {field} (a new one), not both"),
            )
        };
        let company = match (self.company_id, self.company) {
            (Some(_), Some(_)) => {
                invalid.push(both("company"));
                Party::None
            }
            (Some(id), None) => Party::Existing(id),
            (None, given) => match given.or_else(|| default_company(enquiry)) {
                Some(body) => {
                    let phase = body.phase_id;
                    match body.into_fields() {
                        Ok(fields) => Party::New((fields, phase)),
                        Err(e) => {
                            invalid.0.extend(nested("company", e).0);
                            Party::None
                        }
                    }
                }
                None => Party::None,
            },
        };
        let contact = match (self.contact_id, self.contact) {
            (Some(_), Some(_)) => {
                invalid.push(both("contact"));
                Party::None
            }
            (Some(id), None) => Party::Existing(id),
            (None, given) => match given.or_else(|| default_contact(enquiry)) {
                Some(body) => match body.into_fields() {
                    Ok(fields) => Party::New(fields),
                    Err(e) => {
                        invalid.0.extend(nested("contact", e).0);
                        Party::None
                    }
                },
                None => Party::None,
            },
        };
        let project = match self.project.map(ProjectCreate::into_fields) {
            Some(Ok(made)) => Some(made),
            Some(Err(e)) => {
                invalid.0.extend(nested("project", e).0);
                None
            }
            None => None,
        };
        invalid.into_result()?;
        Ok(persistence::enquiries::Conversion {
            company,
            contact,
            project,
        })
    }
}

/// A company from the enquiry's company name and its email's domain.
fn default_company(enquiry: &Enquiry) -> Option<CompanyCreate> {
    let name = enquiry.company_name.as_ref()?;
    let domain = Enquirer {
        email: enquiry.email.clone().map(Email::from_stored),
        ..Enquirer::default()
    }
    .company_domain();
    serde_json::from_value(json!({"name": name, "domain": domain})).ok()
}

/// A contact from the enquirer's name (or their email's local part), email and phone.
fn default_contact(enquiry: &Enquiry) -> Option<ContactCreate> {
    let name = enquiry.name.clone().or_else(|| {
        enquiry
            .email
            .as_deref()
            .and_then(|e| e.split('@').next())
            .map(str::to_owned)
    })?;
    let (first, last) = match name.trim().split_once(' ') {
        Some((first, last)) => (first.to_owned(), Some(last.trim().to_owned())),
        None => (name.trim().to_owned(), None),
    };
    serde_json::from_value(json!({
        "first_name": first, "last_name": last, "email": enquiry.email, "phone": enquiry.phone
    }))
    .ok()
}

/// A record an enquiry may belong to, and what matched.
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchOut {
    pub id: i64,
    pub name: String,
    /// `domain` (the company's domain is the enquirer's email domain), `name` (the company's
    /// name is the one they gave) or `email` (the contact's email is theirs).
    #[schema(example = "domain")]
    pub matched_on: String,
}

impl From<Match> for MatchOut {
    fn from(m: Match) -> Self {
        MatchOut {
            id: m.id,
            name: m.name,
            matched_on: m.on.to_owned(),
        }
    }
}

/// The existing companies and contacts an enquiry may belong to (at most 20 of each).
#[derive(Debug, Serialize, ToSchema)]
pub struct MatchesOut {
    pub companies: Vec<MatchOut>,
    pub contacts: Vec<MatchOut>,
}

/// Filters, order and page of the enquiry list.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EnquiryListQuery {
    /// Records per page, 1 to 200 (default 50).
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// `received_at`, `created_at` or `updated_at`; prefix `-` for descending. Default
    /// `-created_at`.
    #[param(schema_with = super::schema::enquiry_sort)]
    pub sort: Option<String>,
    #[param(schema_with = super::schema::enquiry_status)]
    pub status: Option<String>,
    /// Assigned to this team member; `me` for the caller.
    #[param(example = "me")]
    pub assignee: Option<String>,
    #[param(schema_with = super::schema::enquiry_source)]
    pub source: Option<String>,
    /// Received at or after this RFC 3339 time.
    pub received_since: Option<DateTime<Utc>>,
    /// Changed at or after this RFC 3339 time.
    pub updated_since: Option<DateTime<Utc>>,
}
