//! Contacts: the people at companies, and the org chart they form.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::links::ActivityDates;
use crate::validation::ValueError;
use crate::values::{CustomFields, Email, Label, Name, Phone, Tags};

/// A contact as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Contact {
    pub id: i64,
    pub account_id: i64,
    pub first_name: String,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub job_title: Option<String>,
    pub company_id: Option<i64>,
    pub reports_to_id: Option<i64>,
    pub owner_id: Option<i64>,
    /// The unit it belongs to (`/v1/units`): by default its owner's primary unit.
    pub unit_id: Option<i64>,
    pub tags: Vec<String>,
    pub custom_fields: Map<String, Value>,
    pub version: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// Its last and next activity: derived, not part of its version.
    pub activity: ActivityDates,
}

/// Everything a contact holds that a caller may write, already valid.
#[derive(Debug, Clone, PartialEq)]
pub struct ContactFields {
    pub first_name: Name,
    pub last_name: Option<Name>,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub job_title: Option<Label>,
    pub company_id: Option<i64>,
    pub reports_to_id: Option<i64>,
    pub owner_id: Option<i64>,
    /// `None` on create: the owner's primary unit, else the creator's.
    pub unit_id: Option<i64>,
    pub tags: Tags,
    pub custom_fields: CustomFields,
}

/// A partial update: `None` leaves a field alone, `Some(None)` clears it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ContactPatch {
    pub first_name: Option<Name>,
    pub last_name: Option<Option<Name>>,
    pub email: Option<Option<Email>>,
    pub phone: Option<Option<Phone>>,
    pub job_title: Option<Option<Label>>,
    pub company_id: Option<Option<i64>>,
    pub reports_to_id: Option<Option<i64>>,
    pub owner_id: Option<Option<i64>>,
    pub unit_id: Option<Option<i64>>,
    pub tags: Option<Tags>,
    /// A merge patch of the custom fields: `null` removes a key.
    pub custom_fields: Option<Map<String, Value>>,
}

impl ContactPatch {
    /// The contact's writable fields after the patch. Stored values are trusted as valid.
    pub fn apply(self, current: &Contact) -> Result<ContactFields, ValueError> {
        fn keep<T>(
            patch: Option<Option<T>>,
            stored: &Option<String>,
            from: fn(String) -> T,
        ) -> Option<T> {
            patch.unwrap_or_else(|| stored.clone().map(from))
        }
        Ok(ContactFields {
            first_name: self
                .first_name
                .unwrap_or_else(|| Name::from_stored(current.first_name.clone())),
            last_name: keep(self.last_name, &current.last_name, Name::from_stored),
            email: keep(self.email, &current.email, Email::from_stored),
            phone: keep(self.phone, &current.phone, Phone::from_stored),
            job_title: keep(self.job_title, &current.job_title, Label::from_stored),
            company_id: self.company_id.unwrap_or(current.company_id),
            reports_to_id: self.reports_to_id.unwrap_or(current.reports_to_id),
            owner_id: self.owner_id.unwrap_or(current.owner_id),
            unit_id: self.unit_id.unwrap_or(current.unit_id),
            tags: self
                .tags
                .unwrap_or_else(|| Tags::from_stored(current.tags.clone())),
            custom_fields: {
                let stored = CustomFields::from_stored(current.custom_fields.clone());
                match &self.custom_fields {
                    Some(patch) => stored.merge(patch)?,
                    None => stored,
                }
            },
        })
    }
}

/// Why a contact may not report to another.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReportingError {
    /// A contact cannot be their own manager.
    SelfReport,
    /// The proposed manager already reports, directly or not, to the contact.
    Cycle,
}

/// Checks that `contact` may report to a manager whose own chain of managers, nearest first,
/// is `managers_above`. `contact` is `None` for a contact not yet created, which cannot be
/// anyone's manager yet.
pub fn check_reporting_line(
    contact: Option<i64>,
    manager: i64,
    managers_above: &[i64],
) -> Result<(), ReportingError> {
    let Some(contact) = contact else {
        return Ok(());
    };
    if contact == manager {
        return Err(ReportingError::SelfReport);
    }
    if managers_above.contains(&contact) {
        return Err(ReportingError::Cycle);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nobody_reports_to_themselves() {
        assert_eq!(
            check_reporting_line(Some(1), 1, &[]),
            Err(ReportingError::SelfReport)
        );
    }

    #[test]
    fn a_manager_who_reports_to_the_contact_makes_a_cycle() {
        // 3 reports to 2, 2 reports to 1; 1 may not report to 3.
        assert_eq!(
            check_reporting_line(Some(1), 3, &[2, 1]),
            Err(ReportingError::Cycle)
        );
        assert_eq!(check_reporting_line(Some(4), 3, &[2, 1]), Ok(()));
        assert_eq!(check_reporting_line(None, 3, &[2, 1]), Ok(()));
    }
}
