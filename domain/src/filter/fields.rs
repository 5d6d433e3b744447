//! The built-in fields a filter may name, per record type, with their kinds: the fields of
//! each record's wire shape that are stored in its row (derived values such as
//! `days_in_phase` or `open_projects` are not filterable).

use super::{FieldKind, Target};
use crate::pipeline::{Outcome, RecordKind, Status};
use crate::values::SizeBand;

fn choice<'a>(values: impl IntoIterator<Item = &'a str>) -> FieldKind {
    FieldKind::Choice(Some(values.into_iter().map(str::to_owned).collect()))
}

fn outcome() -> FieldKind {
    choice(Outcome::ALL.iter().map(|o| o.as_str()))
}

/// Every built-in field of `target`, in the order the spec lists them.
pub fn builtin_fields(target: Target) -> Vec<(&'static str, FieldKind)> {
    use FieldKind::*;
    let mut fields = vec![("id", Id)];
    match target {
        Target::Company => fields.extend([
            ("name", Text),
            ("domain", Text),
            ("website", Text),
            ("email", Text),
            ("phone", Text),
            ("industry", Text),
            (
                "size_band",
                choice(SizeBand::ALL.iter().map(|b| b.as_str())),
            ),
            ("address", Text),
            ("description", Text),
            ("owner_id", Id),
            ("unit_id", Id),
            ("tags", Tags),
            ("show_in_pipeline", Boolean),
            ("pipeline_id", Id),
            ("phase_id", Id),
            (
                "relationship_status",
                choice(Status::RELATIONSHIP.iter().map(|s| s.as_str())),
            ),
            ("outcome", outcome()),
            ("outcome_reason", Text),
            ("phase_entered_at", DateTime),
            ("follow_up_due_at", DateTime),
        ]),
        Target::Contact => fields.extend([
            ("name", Text),
            ("first_name", Text),
            ("last_name", Text),
            ("email", Text),
            ("phone", Text),
            ("job_title", Text),
            ("company_id", Id),
            ("reports_to_id", Id),
            ("owner_id", Id),
            ("unit_id", Id),
            ("tags", Tags),
        ]),
        Target::Project => fields.extend([
            ("name", Text),
            ("description", Text),
            ("company_id", Id),
            ("owner_id", Id),
            ("unit_id", Id),
            ("external_id", Text),
            ("value", Number),
            ("value_currency", Text),
            ("probability", Number),
            ("expected_start_date", Date),
            ("expected_duration", Text),
            ("expected_finish_date", Date),
            ("proposal_received_date", Date),
            ("proposal_due_date", Date),
            ("start_date", Date),
            ("end_date", Date),
            ("won_at", DateTime),
            ("close_date", Date),
            ("completed_date", Date),
            ("tags", Tags),
            ("pipeline_id", Id),
            ("phase_id", Id),
            (
                "state",
                choice(
                    RecordKind::Project
                        .phase_states()
                        .iter()
                        .chain([&Status::NotSet])
                        .map(|s| s.as_str()),
                ),
            ),
            ("outcome", outcome()),
            ("outcome_reason", Text),
            ("phase_entered_at", DateTime),
        ]),
    }
    fields.extend([
        ("created_at", DateTime),
        ("updated_at", DateTime),
        ("last_activity_at", DateTime),
        ("next_activity_at", DateTime),
    ]);
    fields
}

/// The built-in field `name` of `target`, with its kind.
pub fn builtin_field(target: Target, name: &str) -> Option<(&'static str, FieldKind)> {
    builtin_fields(target).into_iter().find(|(n, _)| *n == name)
}
