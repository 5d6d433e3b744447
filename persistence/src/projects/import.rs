//! Project imports: upserts match on `external_id`, which is unique in the account. The
//! chunking, reference checks and per-row report are [`crate::import`]'s.

use std::collections::HashMap;

use diesel::prelude::*;
use domain::event::{EventType, Outbox};
use domain::fields::FieldRecordType;
use domain::pipeline::RecordKind;
use domain::project::{Project, ProjectFields, ProjectPatch};
use domain::values::CustomFields;

use super::{ProjectPlacement, ProjectValues, Projects, get_many};
use crate::import::{self, ImportMode, ImportRow, Ref, RowOutcome};
use crate::placement::{self, MoveKind, Pipelined};
use crate::pool::on_backend;
use crate::schema::projects;
use crate::{DbConnection, StoreError, now, tags};

/// A project row of an import: its fields, and the phase to place it in (default: the first
/// phase of the default project pipeline, as a single create).
#[derive(Debug, Clone)]
pub struct NewProject {
    pub fields: ProjectFields,
    pub phase_id: Option<i64>,
}

/// Imports projects; upserts match on `external_id`. See [`crate::import`].
pub fn import(
    conn: &mut DbConnection,
    account_id: i64,
    rows: Vec<ImportRow<NewProject, ProjectPatch>>,
    mode: ImportMode,
    atomic: bool,
    outbox: &Outbox<'_>,
) -> Result<Vec<RowOutcome>, StoreError> {
    import::run::<Projects>(conn, account_id, rows, mode, atomic, outbox)
}

impl import::Target for Projects {
    type Create = NewProject;
    const CREATED: EventType = EventType::ProjectCreated;

    fn id_of(project: &Project) -> i64 {
        project.id
    }
    const KEY_FIELD: &'static str = "external_id";
    const UNIQUE_KEY: bool = true;

    fn custom_fields(create: &mut NewProject) -> (FieldRecordType, &mut CustomFields) {
        (FieldRecordType::Project, &mut create.fields.custom_fields)
    }

    fn unit(create: &mut NewProject) -> (Option<i64>, &mut Option<i64>) {
        (create.fields.owner_id, &mut create.fields.unit_id)
    }

    fn refs_of_create(create: &NewProject) -> Vec<Ref> {
        let f = &create.fields;
        [
            f.owner_id.map(|id| Ref::User("owner_id", id)),
            f.company_id.map(|id| Ref::Company("company_id", id)),
            create
                .phase_id
                .map(|id| Ref::Phase("phase_id", id, RecordKind::Project)),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    fn refs_of_patch(patch: &ProjectPatch) -> Vec<Ref> {
        [
            patch.owner_id.flatten().map(|id| Ref::User("owner_id", id)),
            patch
                .company_id
                .flatten()
                .map(|id| Ref::Company("company_id", id)),
        ]
        .into_iter()
        .flatten()
        .collect()
    }

    fn existing(
        conn: &mut DbConnection,
        account_id: i64,
        keys: &[String],
    ) -> Result<HashMap<String, Vec<i64>>, StoreError> {
        let mut found: HashMap<String, Vec<i64>> = HashMap::new();
        for chunk in keys.chunks(1000) {
            let rows: Vec<(Option<String>, i64)> = projects::table
                .filter(projects::account_id.eq(account_id))
                .filter(projects::external_id.eq_any(chunk))
                .select((projects::external_id, projects::id))
                .load(conn)?;
            for (key, id) in rows {
                if let Some(key) = key {
                    found.entry(key).or_default().push(id);
                }
            }
        }
        Ok(found)
    }

    fn lock_all(conn: &mut DbConnection, account_id: i64, ids: &[i64]) -> Result<(), StoreError> {
        ProjectPlacement::lock_many(conn, account_id, ids)
    }

    fn insert(
        conn: &mut DbConnection,
        account_id: i64,
        rows: &[&NewProject],
        outbox: &Outbox<'_>,
    ) -> Result<Vec<Project>, StoreError> {
        let at = now();
        let values: Vec<_> = rows
            .iter()
            .map(|row| {
                (
                    ProjectValues::from(&row.fields),
                    projects::account_id.eq(account_id),
                    projects::version.eq(1),
                    projects::created_at.eq(at),
                    projects::updated_at.eq(at),
                )
            })
            .collect();
        let ids: Vec<i64> = on_backend!(conn, |c| diesel::insert_into(projects::table)
            .values(&values)
            .returning(projects::id)
            .get_results(c))?;
        let tagged: Vec<_> = ids
            .iter()
            .zip(rows)
            .map(|(id, r)| (*id, &r.fields.tags))
            .collect();
        tags::projects::write(conn, account_id, &tagged)?;
        let default_phase = if rows.iter().any(|row| row.phase_id.is_none()) {
            crate::pipelines::find_default(conn, account_id, RecordKind::Project)?
                .and_then(|p| p.phases.first().map(|phase| phase.id))
        } else {
            None
        };
        for (row, id) in rows.iter().zip(&ids) {
            if let Some(phase) = row.phase_id.or(default_phase) {
                placement::apply::<ProjectPlacement>(
                    conn,
                    account_id,
                    *id,
                    None,
                    MoveKind::Initial(phase),
                    outbox.actor,
                )?;
            }
        }
        // Read again: every project was placed (its phase, or the default pipeline's first).
        get_many(conn, account_id, &ids)
    }
}
