//! Links from the work around records (tasks, meetings, posts) to the records it is about:
//! one mechanism for every family, kept as `(record type, id)` pairs; and what a record's
//! links tell about it, its last and next activity.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};

use crate::validation::ValueError;

wire_enum! {
    /// The kinds of record an activity can be linked to.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
    pub enum LinkType {
        Company = "company",
        Contact = "contact",
        Project = "project",
        Enquiry = "enquiry",
    }
}

impl LinkType {
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == raw)
            .ok_or_else(|| {
                ValueError::new(
                    "invalid_choice",
                    format!(
                        "`{raw}` is not a record type that can be linked; it must be one of {}",
                        Self::ALL.map(LinkType::as_str).join(", ")
                    ),
                )
            })
    }
}

/// One record, by type and id: `company:12`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RecordRef {
    pub record_type: LinkType,
    pub id: i64,
}

impl RecordRef {
    pub fn new(record_type: LinkType, id: i64) -> Self {
        Self { record_type, id }
    }

    /// `<type>:<id>`, as the `linked=` filter takes it.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let bad = || {
            ValueError::new(
                "invalid_record",
                format!(
                    "must be <type>:<id>, such as company:12, the type one of {}",
                    LinkType::ALL.map(LinkType::as_str).join(", ")
                ),
            )
        };
        let (kind, id) = raw.split_once(':').ok_or_else(bad)?;
        let record_type = LinkType::parse(kind)?;
        let id: i64 = id.parse().map_err(|_| bad())?;
        Self::checked(record_type, id)
    }

    /// A reference whose id is positive.
    pub fn checked(record_type: LinkType, id: i64) -> Result<Self, ValueError> {
        if id < 1 {
            return Err(ValueError::new("invalid_id", "must be a positive id"));
        }
        Ok(Self { record_type, id })
    }
}

impl std::fmt::Display for RecordRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.record_type.as_str(), self.id)
    }
}

/// The records one activity is linked to: at most [`Links::MAX`], each once, in a stable order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Links(BTreeSet<RecordRef>);

impl Links {
    pub const MAX: usize = 50;

    pub fn parse(raw: Vec<RecordRef>) -> Result<Self, ValueError> {
        if raw.len() > Self::MAX {
            return Err(ValueError::new(
                "too_many",
                format!("must hold at most {} links (got {})", Self::MAX, raw.len()),
            ));
        }
        Ok(Self(raw.into_iter().collect()))
    }

    /// Links as stored: only valid ones were written.
    pub fn from_stored(raw: impl IntoIterator<Item = RecordRef>) -> Self {
        Self(raw.into_iter().collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = RecordRef> + '_ {
        self.0.iter().copied()
    }

    pub fn to_vec(&self) -> Vec<RecordRef> {
        self.iter().collect()
    }

    pub fn contains(&self, link: RecordRef) -> bool {
        self.0.contains(&link)
    }

    /// These links with `from` replaced by `to` (a merge), or without `from` (`to` none: a
    /// deletion).
    pub fn repointed(&self, from: RecordRef, to: Option<RecordRef>) -> Self {
        let mut links = self.0.clone();
        if links.remove(&from) {
            links.extend(to);
        }
        Self(links)
    }
}

/// A record's last and next activity, derived from the activities linked to it (companies,
/// contacts and projects keep them; they are not part of the record's version).
///
/// - `last_at`: the latest of a linked task's completion (`done_at`), a linked meeting's
///   start that has passed, and a linked post's creation: when somebody last did something
///   about the record ("days since last contacted").
/// - `next_at`: the earliest of a linked open task's due time, overdue ones included (an
///   overdue task is the next thing to do, as Pipedrive's next activity date shows it), and a
///   linked meeting's start still to come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ActivityDates {
    pub last_at: Option<DateTime<Utc>>,
    pub next_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_reads_as_type_colon_id() {
        assert_eq!(
            RecordRef::parse("company:12"),
            Ok(RecordRef::new(LinkType::Company, 12))
        );
        assert_eq!(
            RecordRef::new(LinkType::Project, 3).to_string(),
            "project:3"
        );
        for bad in [
            "company",
            "company:",
            "company:0",
            "ship:1",
            "company:1x",
            ":4",
        ] {
            assert!(RecordRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_merge_repoints_and_a_deletion_drops() {
        let a = RecordRef::new(LinkType::Company, 1);
        let b = RecordRef::new(LinkType::Company, 2);
        let links = Links::parse(vec![a, a]).unwrap_or_default();
        assert_eq!(links.to_vec(), vec![a]);
        assert_eq!(links.repointed(a, Some(b)).to_vec(), vec![b]);
        assert!(links.repointed(a, None).to_vec().is_empty());
        assert_eq!(links.repointed(b, None), links);
    }
}
