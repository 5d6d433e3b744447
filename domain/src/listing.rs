//! Listing records: sort orders, page sizes and the keyset position a cursor carries.

use chrono::{DateTime, Utc};

use crate::validation::ValueError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortField {
    CreatedAt,
    UpdatedAt,
    Name,
    /// Companies only: when they entered their phase; companies in no phase are left out.
    PhaseEnteredAt,
    /// Companies only: when their follow-up falls due; companies without one are left out.
    FollowUpDueAt,
    /// Projects only: by value (the amount, whatever the currency); those without are left
    /// out.
    Value,
    /// Projects only: by expected finish date; those without are left out.
    ExpectedFinishDate,
    /// Tasks only: by when they are due; those without are left out.
    DueAt,
    /// Meetings only: by when they start.
    StartsAt,
    /// Enquiries only: by when they were received.
    ReceivedAt,
    /// Companies, contacts and projects: by their last activity; those without are left out.
    LastActivityAt,
    /// Companies, contacts and projects: by their next activity; those without are left out.
    NextActivityAt,
}

impl SortField {
    /// The orders every record list takes.
    pub const COMMON: [SortField; 5] = [
        SortField::CreatedAt,
        SortField::UpdatedAt,
        SortField::Name,
        SortField::LastActivityAt,
        SortField::NextActivityAt,
    ];
    /// The orders a company list takes: the common ones and its place in a pipeline.
    pub const COMPANY: [SortField; 7] = [
        SortField::CreatedAt,
        SortField::UpdatedAt,
        SortField::Name,
        SortField::LastActivityAt,
        SortField::NextActivityAt,
        SortField::PhaseEnteredAt,
        SortField::FollowUpDueAt,
    ];

    /// The orders a project list takes.
    pub const PROJECT: [SortField; 8] = [
        SortField::CreatedAt,
        SortField::UpdatedAt,
        SortField::Name,
        SortField::LastActivityAt,
        SortField::NextActivityAt,
        SortField::PhaseEnteredAt,
        SortField::Value,
        SortField::ExpectedFinishDate,
    ];
    /// The orders a task list takes.
    pub const TASK: [SortField; 3] = [SortField::DueAt, SortField::CreatedAt, SortField::UpdatedAt];
    /// The orders a meeting list takes.
    pub const MEETING: [SortField; 3] = [
        SortField::StartsAt,
        SortField::CreatedAt,
        SortField::UpdatedAt,
    ];
    /// The orders a post list takes.
    pub const POST: [SortField; 2] = [SortField::CreatedAt, SortField::UpdatedAt];
    /// The orders an enquiry list takes.
    pub const ENQUIRY: [SortField; 3] = [
        SortField::ReceivedAt,
        SortField::CreatedAt,
        SortField::UpdatedAt,
    ];
    /// Every order, for parsing.
    const ALL: [SortField; 12] = [
        SortField::CreatedAt,
        SortField::UpdatedAt,
        SortField::Name,
        SortField::PhaseEnteredAt,
        SortField::FollowUpDueAt,
        SortField::Value,
        SortField::ExpectedFinishDate,
        SortField::DueAt,
        SortField::StartsAt,
        SortField::ReceivedAt,
        SortField::LastActivityAt,
        SortField::NextActivityAt,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SortField::CreatedAt => "created_at",
            SortField::UpdatedAt => "updated_at",
            SortField::Name => "name",
            SortField::PhaseEnteredAt => "phase_entered_at",
            SortField::FollowUpDueAt => "follow_up_due_at",
            SortField::Value => "value",
            SortField::ExpectedFinishDate => "expected_finish_date",
            SortField::DueAt => "due_at",
            SortField::StartsAt => "starts_at",
            SortField::ReceivedAt => "received_at",
            SortField::LastActivityAt => "last_activity_at",
            SortField::NextActivityAt => "next_activity_at",
        }
    }

    /// `fields` for a message: "created_at, updated_at or name".
    pub fn list(fields: &[SortField]) -> String {
        let names: Vec<&str> = fields.iter().map(|f| f.as_str()).collect();
        match names.split_last() {
            Some((last, [])) => (*last).to_owned(),
            Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
            None => String::new(),
        }
    }

    /// Every `sort` value over `fields`: each ascending, then each descending (`-name`).
    pub fn sort_keys(fields: &[SortField]) -> Vec<String> {
        let ascending = fields.iter().map(|f| f.as_str().to_owned());
        let descending = fields.iter().map(|f| format!("-{}", f.as_str()));
        ascending.chain(descending).collect()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

/// A sort order; every order ends with the id in the same direction, which makes it stable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub field: SortField,
    pub direction: Direction,
}

impl Default for Sort {
    /// Newest first, as integrators expect from Stripe and GitHub.
    fn default() -> Self {
        Sort {
            field: SortField::CreatedAt,
            direction: Direction::Desc,
        }
    }
}

impl Sort {
    /// A sort key (see [`SortField`]), with a leading `-` for descending order.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let (direction, name) = match raw.strip_prefix('-') {
            Some(rest) => (Direction::Desc, rest),
            None => (Direction::Asc, raw),
        };
        let field = SortField::ALL
            .into_iter()
            .find(|f| f.as_str() == name)
            .ok_or_else(|| {
                ValueError::new(
                    "invalid_sort",
                    format!(
                        "must be one of {}, with a leading - for descending order",
                        SortField::list(&SortField::ALL)
                    ),
                )
            })?;
        Ok(Sort { field, direction })
    }

    pub fn as_string(&self) -> String {
        let name = self.field.as_str();
        match self.direction {
            Direction::Asc => name.to_owned(),
            Direction::Desc => format!("-{name}"),
        }
    }
}

/// How many records a page holds: 1 to 200, 50 when not said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageSize(u16);

impl PageSize {
    pub const MAX: u16 = 200;
    pub const DEFAULT: u16 = 50;

    pub fn parse(raw: i64) -> Result<Self, ValueError> {
        if (1..=i64::from(Self::MAX)).contains(&raw) {
            Ok(Self(u16::try_from(raw).unwrap_or(Self::DEFAULT)))
        } else {
            Err(ValueError::new(
                "out_of_range",
                format!("must be between 1 and {}", Self::MAX),
            ))
        }
    }

    pub fn get(self) -> i64 {
        i64::from(self.0)
    }
}

impl Default for PageSize {
    fn default() -> Self {
        Self(Self::DEFAULT)
    }
}

/// The sort value of the last record of a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SortValue {
    Time(DateTime<Utc>),
    Text(String),
    Int(i64),
    Date(chrono::NaiveDate),
}

/// Where the next page starts: after the record with this sort value and id, in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub sort: Sort,
    pub value: SortValue,
    pub id: i64,
}

/// One page of records and, when more follow, where the next page starts.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Position>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sort_names_round_trip() {
        for raw in [
            "created_at",
            "-created_at",
            "updated_at",
            "-updated_at",
            "name",
            "-name",
        ] {
            assert_eq!(Sort::parse(raw).map(|s| s.as_string()), Ok(raw.to_owned()));
        }
        assert!(Sort::parse("email").is_err());
    }

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(PageSize::parse(200).map(PageSize::get), Ok(200));
        assert!(PageSize::parse(0).is_err());
        assert!(PageSize::parse(201).is_err());
    }
}
