//! Enquiries: an inbound request kept as the enquirer wrote it, assigned, closed or
//! converted into a company, contact and project.

use chrono::{DateTime, Utc};

use crate::validation::ValueError;
use crate::values::{Description, Email, Name, Phone, Title};

wire_enum! {
    /// Where an enquiry came from.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum Source {
        WebForm = "web_form",
        Email = "email",
        Phone = "phone",
        Referral = "referral",
        #[default]
        Other = "other",
    }
}
parse_choice!(Source);

wire_enum! {
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
    pub enum EnquiryStatus {
        #[default]
        Open = "open",
        Closed = "closed",
        Converted = "converted",
    }
}
parse_choice!(EnquiryStatus);

/// An enquiry as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Enquiry {
    pub id: i64,
    pub account_id: i64,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub company_name: Option<String>,
    pub subject: Option<String>,
    pub message: Option<String>,
    pub source: Source,
    pub received_at: DateTime<Utc>,
    pub assignee_id: Option<i64>,
    pub status: EnquiryStatus,
    pub close_reason: Option<String>,
    /// Set by a conversion: what it became.
    pub company_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub project_id: Option<i64>,
    pub converted_at: Option<DateTime<Utc>>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What the enquirer wrote: kept as they wrote it, but each part bounded.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Enquirer {
    pub name: Option<Name>,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub company_name: Option<Name>,
    pub subject: Option<Title>,
    pub message: Option<Description>,
}

impl Enquirer {
    /// An enquiry must say something: who, or what.
    pub fn check(&self) -> Result<(), ValueError> {
        if self.name.is_none()
            && self.email.is_none()
            && self.phone.is_none()
            && self.subject.is_none()
            && self.message.is_none()
        {
            return Err(ValueError::new(
                "empty_enquiry",
                "give at least one of name, email, phone, subject and message",
            ));
        }
        Ok(())
    }

    /// The domain of the enquirer's email, lower-cased: what a company match looks for.
    /// Addresses at free mail providers name no company.
    pub fn company_domain(&self) -> Option<String> {
        let email = self.email.as_ref()?.normalized();
        let domain = email.rsplit_once('@')?.1.to_owned();
        (!FREE_MAIL.contains(&domain.as_str())).then_some(domain)
    }
}

/// Mail providers whose addresses say nothing of the enquirer's company.
const FREE_MAIL: [&str; 12] = [
    "gmail.com",
    "googlemail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "yahoo.com",
    "icloud.com",
    "me.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.com",
];

/// Everything of an enquiry a caller may write, valid.
#[derive(Debug, Clone, PartialEq)]
pub struct EnquiryFields {
    pub enquirer: Enquirer,
    pub source: Source,
    pub received_at: DateTime<Utc>,
    pub assignee_id: Option<i64>,
}

/// A partial update of an open enquiry; its status changes by closing, reopening and
/// converting.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EnquiryPatch {
    pub name: Option<Option<Name>>,
    pub email: Option<Option<Email>>,
    pub phone: Option<Option<Phone>>,
    pub company_name: Option<Option<Name>>,
    pub subject: Option<Option<Title>>,
    pub message: Option<Option<Description>>,
    pub source: Option<Source>,
    pub assignee_id: Option<Option<i64>>,
}

impl EnquiryPatch {
    pub fn apply(self, current: &Enquiry) -> EnquiryFields {
        fn keep<T>(
            patch: Option<Option<T>>,
            stored: &Option<String>,
            from: fn(String) -> T,
        ) -> Option<T> {
            patch.unwrap_or_else(|| stored.clone().map(from))
        }
        EnquiryFields {
            enquirer: Enquirer {
                name: keep(self.name, &current.name, Name::from_stored),
                email: keep(self.email, &current.email, Email::from_stored),
                phone: keep(self.phone, &current.phone, Phone::from_stored),
                company_name: keep(self.company_name, &current.company_name, Name::from_stored),
                subject: keep(self.subject, &current.subject, Title::from_stored),
                message: keep(self.message, &current.message, Description::from_stored),
            },
            source: self.source.unwrap_or(current.source),
            received_at: current.received_at,
            assignee_id: self.assignee_id.unwrap_or(current.assignee_id),
        }
    }
}

/// Why an enquiry's status may not change so.
pub fn check_transition(current: EnquiryStatus, to: EnquiryStatus) -> Result<(), String> {
    use EnquiryStatus::*;
    match (current, to) {
        (Converted, _) => Err("the enquiry was converted already; it stays converted".into()),
        (Closed, Closed) => Err("the enquiry is closed already".into()),
        (Open, Open) => Err("the enquiry is open already".into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_company_is_matched_by_a_work_address_only() {
        let at = |raw: &str| Enquirer {
            email: Email::parse(raw).ok(),
            ..Enquirer::default()
        };
        assert_eq!(at("Ana@Acme.COM").company_domain(), Some("acme.com".into()));
        assert_eq!(at("ana@gmail.com").company_domain(), None);
        assert!(Enquirer::default().check().is_err());
        assert!(at("ana@gmail.com").check().is_ok());
    }

    #[test]
    fn a_converted_enquiry_stays_converted() {
        use EnquiryStatus::*;
        assert!(check_transition(Converted, Open).is_err());
        assert!(check_transition(Converted, Converted).is_err());
        assert!(check_transition(Open, Converted).is_ok());
        assert!(check_transition(Closed, Converted).is_ok());
        assert!(check_transition(Open, Closed).is_ok());
        assert!(check_transition(Closed, Open).is_ok());
    }
}
