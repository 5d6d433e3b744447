//! Merging duplicate records: which ids may be merged, and how the survivor's fields are
//! completed from its duplicates. Plain rules; storage moves the rows.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::company::{Company, CompanyFields};
use crate::contact::{Contact, ContactFields};
use crate::project::{Project, ProjectFields, Schedule};
use crate::validation::ValueError;
use crate::values::{
    Address, CustomFields, Description, DomainName, Email, ExternalId, Label, Name, Phone,
    SizeBand, Tags, WebAddress,
};
use crate::{FieldError, Invalid};

/// The duplicates of one merge: 1 to 50 distinct positive ids, none of them the survivor,
/// in the order the caller gave (which decides whose values fill the survivor first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateIds(Vec<i64>);

impl DuplicateIds {
    pub const MAX: usize = 50;

    /// Checks the list given for `survivor`; every bad entry is named, as `duplicate_ids[i]`.
    pub fn parse(survivor: i64, raw: &[i64]) -> Result<Self, Invalid> {
        const FIELD: &str = "duplicate_ids";
        if raw.is_empty() || raw.len() > Self::MAX {
            return Err(Invalid::one(
                FIELD,
                if raw.is_empty() { "empty" } else { "too_many" },
                format!(
                    "must list 1 to {} ids of the records to merge into this one (got {})",
                    Self::MAX,
                    raw.len()
                ),
            ));
        }
        let mut invalid = Invalid::default();
        let mut seen = BTreeSet::new();
        for (i, id) in raw.iter().copied().enumerate() {
            let field = format!("{FIELD}[{i}]");
            if id < 1 {
                invalid.push(FieldError::new(
                    field,
                    "invalid_id",
                    "must be a positive id",
                ));
            } else if id == survivor {
                invalid.push(FieldError::new(
                    field,
                    "is_survivor",
                    format!(
                        "{id} is the record the others are merged into; list only its duplicates"
                    ),
                ));
            } else if !seen.insert(id) {
                invalid.push(FieldError::new(
                    field,
                    "repeated",
                    format!("{id} is listed more than once"),
                ));
            }
        }
        invalid.into_result().map(|()| Self(raw.to_vec()))
    }

    pub fn as_slice(&self) -> &[i64] {
        &self.0
    }
}

/// The survivor's value, or else the first duplicate's that has one.
pub fn first_present<T: Clone>(survivor: &Option<T>, duplicates: &[&Option<T>]) -> Option<T> {
    survivor
        .iter()
        .chain(duplicates.iter().copied().flatten())
        .next()
        .cloned()
}

/// Every tag of the survivor and its duplicates, once. Refused rather than cut short when
/// together they hold more than one record may.
pub fn union_tags(survivor: &[String], duplicates: &[&[String]]) -> Result<Tags, ValueError> {
    let all: BTreeSet<&String> = survivor
        .iter()
        .chain(duplicates.iter().copied().flatten())
        .collect();
    if all.len() > Tags::MAX {
        return Err(ValueError::new(
            "too_many_tags",
            format!(
                "together the records hold {} different tags, more than the {} one record may hold; remove some tags first",
                all.len(),
                Tags::MAX
            ),
        ));
    }
    Ok(Tags::from_stored(all.into_iter().cloned().collect()))
}

/// The survivor's custom fields, plus each key it lacks from the first duplicate that has it.
/// Refused when the result is over the limits of one record.
pub fn fill_custom_fields(
    survivor: &Map<String, Value>,
    duplicates: &[&Map<String, Value>],
) -> Result<CustomFields, ValueError> {
    let mut merged = survivor.clone();
    for fields in duplicates {
        for (key, value) in fields.iter() {
            if !merged.contains_key(key) {
                merged.insert(key.clone(), value.clone());
            }
        }
    }
    CustomFields::parse(&Value::Object(merged)).map_err(|e| {
        ValueError::new(
            "too_many_custom_fields",
            format!(
                "together the records' custom fields are too large ({}); remove some first",
                e.message
            ),
        )
    })
}

/// The survivor's writable fields after merging `duplicates` into it (in their order): its
/// empty fields filled, tags united, missing custom fields added. Errors name
/// `duplicate_ids`, the field the caller can change.
pub fn merge_company(survivor: &Company, duplicates: &[Company]) -> Result<CompanyFields, Invalid> {
    fn fill<T>(
        survivor: &Option<String>,
        duplicates: &[Company],
        get: fn(&Company) -> &Option<String>,
        from: fn(String) -> T,
    ) -> Option<T> {
        let others: Vec<&Option<String>> = duplicates.iter().map(get).collect();
        first_present(survivor, &others).map(from)
    }
    let s = survivor;
    let d = duplicates;
    let tags: Vec<&[String]> = d.iter().map(|c| c.tags.as_slice()).collect();
    let custom: Vec<&Map<String, Value>> = d.iter().map(|c| &c.custom_fields).collect();
    let owners: Vec<&Option<i64>> = d.iter().map(|c| &c.owner_id).collect();
    let units: Vec<&Option<i64>> = d.iter().map(|c| &c.unit_id).collect();
    let mut invalid = Invalid::default();
    let tags = invalid.check("duplicate_ids", union_tags(&s.tags, &tags));
    let custom_fields = invalid.check(
        "duplicate_ids",
        fill_custom_fields(&s.custom_fields, &custom),
    );
    let (Some(tags), Some(custom_fields)) = (tags, custom_fields) else {
        return Err(invalid);
    };
    Ok(CompanyFields {
        name: Name::from_stored(s.name.clone()),
        domain: fill(&s.domain, d, |c| &c.domain, DomainName::from_stored),
        website: fill(&s.website, d, |c| &c.website, WebAddress::from_stored),
        email: fill(&s.email, d, |c| &c.email, Email::from_stored),
        phone: fill(&s.phone, d, |c| &c.phone, Phone::from_stored),
        industry: fill(&s.industry, d, |c| &c.industry, Label::from_stored),
        size_band: fill(&s.size_band, d, |c| &c.size_band, |v| v)
            .as_deref()
            .and_then(SizeBand::from_stored),
        address: fill(&s.address, d, |c| &c.address, Address::from_stored),
        description: fill(
            &s.description,
            d,
            |c| &c.description,
            Description::from_stored,
        ),
        owner_id: first_present(&s.owner_id, &owners),
        unit_id: first_present(&s.unit_id, &units),
        tags,
        custom_fields,
        show_in_pipeline: s.show_in_pipeline,
    })
}

/// The same for contacts. `reports_to_id` is decided apart, by [`merged_manager`] and the
/// org chart; here it is the survivor's own.
pub fn merge_contact(survivor: &Contact, duplicates: &[Contact]) -> Result<ContactFields, Invalid> {
    fn fill<T>(
        survivor: &Option<String>,
        duplicates: &[Contact],
        get: fn(&Contact) -> &Option<String>,
        from: fn(String) -> T,
    ) -> Option<T> {
        let others: Vec<&Option<String>> = duplicates.iter().map(get).collect();
        first_present(survivor, &others).map(from)
    }
    let s = survivor;
    let d = duplicates;
    let tags: Vec<&[String]> = d.iter().map(|c| c.tags.as_slice()).collect();
    let custom: Vec<&Map<String, Value>> = d.iter().map(|c| &c.custom_fields).collect();
    let owners: Vec<&Option<i64>> = d.iter().map(|c| &c.owner_id).collect();
    let units: Vec<&Option<i64>> = d.iter().map(|c| &c.unit_id).collect();
    let companies: Vec<&Option<i64>> = d.iter().map(|c| &c.company_id).collect();
    let mut invalid = Invalid::default();
    let tags = invalid.check("duplicate_ids", union_tags(&s.tags, &tags));
    let custom_fields = invalid.check(
        "duplicate_ids",
        fill_custom_fields(&s.custom_fields, &custom),
    );
    let (Some(tags), Some(custom_fields)) = (tags, custom_fields) else {
        return Err(invalid);
    };
    Ok(ContactFields {
        first_name: Name::from_stored(s.first_name.clone()),
        last_name: fill(&s.last_name, d, |c| &c.last_name, Name::from_stored),
        email: fill(&s.email, d, |c| &c.email, Email::from_stored),
        phone: fill(&s.phone, d, |c| &c.phone, Phone::from_stored),
        job_title: fill(&s.job_title, d, |c| &c.job_title, Label::from_stored),
        company_id: first_present(&s.company_id, &companies),
        reports_to_id: s.reports_to_id,
        owner_id: first_present(&s.owner_id, &owners),
        unit_id: first_present(&s.unit_id, &units),
        tags,
        custom_fields,
    })
}

/// The manager the survivor should report to once `duplicates` (id, their manager) are merged
/// into it: its own, or else the first duplicate's. A manager who is one of the duplicates
/// is replaced by that duplicate's own manager (the survivor takes its place), and one that
/// leads back to the survivor means none. Whether the result closes a longer loop through
/// the rest of the org chart is checked against the chart, with [`crate::contact::check_reporting_line`].
pub fn merged_manager(
    survivor: i64,
    own: Option<i64>,
    duplicates: &[(i64, Option<i64>)],
) -> Option<i64> {
    let manager_of = |id: i64| duplicates.iter().find(|(d, _)| *d == id).map(|(_, m)| *m);
    let resolve = |start: Option<i64>| {
        let mut current = start;
        let mut steps = 0;
        while let Some(id) = current {
            if id == survivor || steps > duplicates.len() {
                return None;
            }
            match manager_of(id) {
                Some(next) => current = next,
                None => return Some(id),
            }
            steps += 1;
        }
        None
    };
    match own {
        Some(_) => resolve(own),
        None => duplicates.iter().find_map(|(_, m)| resolve(*m)),
    }
}

/// The same for projects: the survivor keeps its own values and place; each field it lacks
/// (a company, an owner, a value, a date...) comes from the first duplicate that has it, in
/// the order given; tags are the union, custom fields filled key by key. Its dates plan stays
/// consistent because the three planned dates come together from one project.
pub fn merge_project(survivor: &Project, duplicates: &[Project]) -> Result<ProjectFields, Invalid> {
    fn fill<T: Clone>(
        survivor: &Project,
        duplicates: &[Project],
        get: fn(&Project) -> &Option<T>,
    ) -> Option<T> {
        let others: Vec<&Option<T>> = duplicates.iter().map(get).collect();
        first_present(get(survivor), &others)
    }
    let s = survivor;
    let d = duplicates;
    let tags: Vec<&[String]> = d.iter().map(|p| p.tags.as_slice()).collect();
    let custom: Vec<&Map<String, Value>> = d.iter().map(|p| &p.custom_fields).collect();
    let mut invalid = Invalid::default();
    let tags = invalid.check("duplicate_ids", union_tags(&s.tags, &tags));
    let custom_fields = invalid.check(
        "duplicate_ids",
        fill_custom_fields(&s.custom_fields, &custom),
    );
    let (Some(tags), Some(custom_fields)) = (tags, custom_fields) else {
        return Err(invalid);
    };
    // The plan (start, duration, finish) is one project's: the survivor's when it has any of
    // it, else the first duplicate's that has one.
    let planned = |p: &Project| {
        let sc = &p.schedule;
        sc.expected_start_date.is_some()
            || sc.expected_duration.is_some()
            || sc.expected_finish_date.is_some()
    };
    let plan = std::iter::once(s)
        .chain(d.iter())
        .find(|p| planned(p))
        .map(|p| &p.schedule);
    let was = &s.schedule;
    let schedule = Schedule {
        expected_start_date: plan.and_then(|p| p.expected_start_date),
        expected_duration: plan.and_then(|p| p.expected_duration),
        expected_finish_date: plan.and_then(|p| p.expected_finish_date),
        proposal_received_date: fill(s, d, |p| &p.schedule.proposal_received_date),
        proposal_due_date: fill(s, d, |p| &p.schedule.proposal_due_date),
        start_date: fill(s, d, |p| &p.schedule.start_date),
        end_date: fill(s, d, |p| &p.schedule.end_date),
        // Set by the survivor's own moves.
        won_at: was.won_at,
        close_date: was.close_date,
        completed_date: was.completed_date,
    };
    Ok(ProjectFields {
        name: Name::from_stored(s.name.clone()),
        description: fill(s, d, |p| &p.description).map(Description::from_stored),
        company_id: fill(s, d, |p| &p.company_id),
        owner_id: fill(s, d, |p| &p.owner_id),
        unit_id: fill(s, d, |p| &p.unit_id),
        external_id: fill(s, d, |p| &p.external_id).map(ExternalId::from_stored),
        value: fill(s, d, |p| &p.value),
        probability: fill(s, d, |p| &p.probability),
        schedule,
        tags,
        custom_fields,
    })
}

/// A 422 naming each listed id that is no record of the account: the caller fixes the list.
pub fn check_known(
    dups: &[i64],
    known: impl Fn(i64) -> bool,
    what: &'static str,
) -> Result<(), Invalid> {
    let mut invalid = Invalid::default();
    for (i, id) in dups.iter().copied().enumerate() {
        if !known(id) {
            invalid.push(FieldError::new(
                format!("duplicate_ids[{i}]"),
                match what {
                    "company" => "unknown_company",
                    "contact" => "unknown_contact",
                    _ => "unknown_project",
                },
                format!("there is no {what} {id} in this account"),
            ));
        }
    }
    invalid.into_result()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use serde_json::json;

    use crate::company::CompanyPlace;
    use crate::pipeline::Status;

    fn company(id: i64) -> Company {
        Company {
            id,
            account_id: 1,
            name: format!("Company {id}"),
            domain: None,
            website: None,
            email: None,
            phone: None,
            industry: None,
            size_band: None,
            address: None,
            description: None,
            owner_id: None,
            unit_id: None,
            tags: Vec::new(),
            custom_fields: Map::new(),
            show_in_pipeline: true,
            version: 1,
            created_at: Utc::now(),
            updated_at: Utc::now(),
            place: CompanyPlace {
                pipeline_id: None,
                phase_id: None,
                status: Status::NotSet,
                outcome: None,
                outcome_reason: None,
                phase_entered_at: None,
                follow_up_due_at: None,
            },
            time_in_phases: Vec::new(),
            projects: Default::default(),
            activity: Default::default(),
        }
    }

    fn strings(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn duplicate_ids_refuse_the_survivor_repeats_and_bad_ids_naming_each() {
        let Err(invalid) = DuplicateIds::parse(5, &[7, 5, 7, 0]) else {
            panic!("accepted a bad list");
        };
        let fields: Vec<(&str, &str)> = invalid
            .0
            .iter()
            .map(|e| (e.field.as_str(), e.code))
            .collect();
        assert_eq!(
            fields,
            [
                ("duplicate_ids[1]", "is_survivor"),
                ("duplicate_ids[2]", "repeated"),
                ("duplicate_ids[3]", "invalid_id"),
            ]
        );
    }

    #[test]
    fn duplicate_ids_hold_one_to_fifty_ids_in_the_order_given() {
        assert!(DuplicateIds::parse(1, &[]).is_err());
        let many: Vec<i64> = (2..=52).collect();
        assert!(DuplicateIds::parse(1, &many).is_err());
        assert_eq!(
            DuplicateIds::parse(1, &[9, 3]).map(|d| d.as_slice().to_vec()),
            Ok(vec![9, 3])
        );
    }

    #[test]
    fn the_survivors_values_win_and_empty_fields_fill_in_the_order_given() {
        assert_eq!(first_present(&Some(1), &[&Some(2), &Some(3)]), Some(1));
        assert_eq!(first_present(&None, &[&None, &Some(2), &Some(3)]), Some(2));
        assert_eq!(first_present::<i64>(&None, &[&None]), None);
    }

    #[test]
    fn tags_are_united_once_each() {
        let tags = union_tags(
            &strings(&["vip", "north"]),
            &[&strings(&["north", "solar"]), &strings(&["vip"])],
        );
        assert_eq!(
            tags.map(|t| t.to_vec()),
            Ok(strings(&["north", "solar", "vip"]))
        );
    }

    #[test]
    fn a_union_of_more_than_fifty_tags_is_refused_not_cut() {
        let survivor: Vec<String> = (0..30).map(|i| format!("a{i}")).collect();
        let duplicate: Vec<String> = (0..21).map(|i| format!("b{i}")).collect();
        let refused = union_tags(&survivor, &[&duplicate]);
        assert_eq!(refused.map_err(|e| e.code), Err("too_many_tags"));
    }

    #[test]
    fn custom_fields_keep_the_survivors_keys_and_add_the_missing_ones() {
        let survivor = json!({"tier": "gold"});
        let first = json!({"tier": "bronze", "region": "north"});
        let second = json!({"region": "south", "erp_id": 7});
        let (Value::Object(s), Value::Object(a), Value::Object(b)) = (survivor, first, second)
        else {
            panic!("not objects");
        };
        let merged = fill_custom_fields(&s, &[&a, &b]).map(|c| Value::Object(c.as_map().clone()));
        assert_eq!(
            merged,
            Ok(json!({"tier": "gold", "region": "north", "erp_id": 7}))
        );
    }

    #[test]
    fn a_merged_company_fills_only_what_the_survivor_lacks() {
        let mut survivor = company(1);
        survivor.industry = Some("Solar".into());
        survivor.tags = strings(&["vip"]);
        let mut a = company(2);
        a.industry = Some("Oil".into());
        a.phone = Some("+44 1".into());
        a.owner_id = Some(9);
        a.size_band = Some("11-50".into());
        let mut b = company(3);
        b.phone = Some("+44 2".into());
        b.website = Some("https://b.example".into());
        b.tags = strings(&["north"]);
        let Ok(fields) = merge_company(&survivor, &[a, b]) else {
            panic!("refused a merge");
        };
        assert_eq!(fields.name.as_str(), "Company 1");
        assert_eq!(fields.industry.as_ref().map(|v| v.as_str()), Some("Solar"));
        assert_eq!(fields.phone.as_ref().map(|v| v.as_str()), Some("+44 1"));
        assert_eq!(
            fields.website.as_ref().map(|v| v.as_str()),
            Some("https://b.example")
        );
        assert_eq!(fields.size_band.map(|v| v.as_str()), Some("11-50"));
        assert_eq!(fields.owner_id, Some(9));
        assert_eq!(fields.tags.to_vec(), strings(&["north", "vip"]));
    }

    #[test]
    fn a_survivor_reporting_to_a_duplicate_takes_that_duplicates_manager() {
        // 1 reports to 2 (a duplicate), who reports to 7.
        assert_eq!(merged_manager(1, Some(2), &[(2, Some(7))]), Some(7));
        // Through a chain of duplicates.
        assert_eq!(
            merged_manager(1, Some(2), &[(3, Some(8)), (2, Some(3))]),
            Some(8)
        );
    }

    #[test]
    fn a_survivor_never_ends_up_reporting_to_itself() {
        // 1 reports to 2, who reports to 1.
        assert_eq!(merged_manager(1, Some(2), &[(2, Some(1))]), None);
        // Duplicates that report to each other.
        assert_eq!(
            merged_manager(1, Some(2), &[(2, Some(3)), (3, Some(2))]),
            None
        );
    }

    #[test]
    fn a_survivor_without_a_manager_takes_the_first_duplicates() {
        assert_eq!(
            merged_manager(1, None, &[(2, None), (3, Some(1)), (4, Some(6))]),
            Some(6)
        );
        assert_eq!(merged_manager(1, Some(5), &[(2, Some(6))]), Some(5));
    }
}
