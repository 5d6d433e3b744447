//! Moving companies between phases: the company, its history row and its event are written
//! in one transaction, through the pipeline engine ([`crate::placement`]).

use domain::company::Company;
use domain::event::{EventType, NewEvent, Outbox};
use domain::listing::{Page, PageSize, Position};
use domain::pipeline::{Move, Outcome, Transition};

use crate::companies::{self, CompanyPlacement};
use crate::placement;
pub use crate::placement::MoveKind;
use crate::{DbConnection, StoreError, events, write_transaction};

/// Moves a company in its own transaction, with its history row and its event; `None` when
/// it is already where the move leads.
pub fn move_company(
    conn: &mut DbConnection,
    account_id: i64,
    company_id: i64,
    expected_version: Option<i64>,
    request: Move,
    outbox: &Outbox<'_>,
) -> Result<(Option<Transition>, Company), StoreError> {
    write_transaction(conn, |conn| {
        let moved = placement::apply::<CompanyPlacement>(
            conn,
            account_id,
            company_id,
            expected_version,
            MoveKind::Requested(request.clone()),
            outbox.actor,
        )?;
        let company = companies::get(conn, account_id, company_id)?;
        let Some((transition, before)) = moved else {
            return Ok((None, company));
        };
        let event = NewEvent::changed(
            move_event_type(&transition),
            company_id,
            &outbox.render.company(&before),
            outbox.render.company(&company),
        );
        events::record_one(conn, account_id, outbox, event)?;
        Ok((Some(transition), company))
    })
}

/// `company.won` and `company.lost` for the moves that win or lose; every other move is
/// `company.phase_changed`.
pub(crate) fn move_event_type(transition: &Transition) -> EventType {
    match transition.outcome {
        Some(Outcome::Won) => EventType::CompanyWon,
        Some(Outcome::Lost) => EventType::CompanyLost,
        None => EventType::CompanyPhaseChanged,
    }
}

/// A company's history, newest first.
pub fn history(
    conn: &mut DbConnection,
    account_id: i64,
    company_id: i64,
    size: PageSize,
    after: Option<&Position>,
) -> Result<Page<Transition>, StoreError> {
    placement::history::<CompanyPlacement>(conn, account_id, company_id, size, after)
}

/// Fills `time_in_phases` of some companies from their history, plus their current stay:
/// one query for all of them.
pub(crate) fn attach_times(
    conn: &mut DbConnection,
    account_id: i64,
    companies: &mut [Company],
) -> Result<(), StoreError> {
    let stays: Vec<_> = companies
        .iter()
        .map(|c| {
            (
                c.id,
                c.place.phase_id,
                c.place.phase_entered_at.map(|t| t.naive_utc()),
            )
        })
        .collect();
    let mut times = placement::times_in_phases::<CompanyPlacement>(conn, account_id, &stays)?;
    for company in companies.iter_mut() {
        company.time_in_phases = times.remove(&company.id).unwrap_or_default();
    }
    Ok(())
}

/// Moves a company inside the caller's transaction (see [`placement::apply`]).
pub(crate) fn apply(
    conn: &mut DbConnection,
    account_id: i64,
    company_id: i64,
    expected_version: Option<i64>,
    kind: MoveKind,
    actor: domain::token::ActorRef,
) -> Result<Option<(Transition, Company)>, StoreError> {
    placement::apply::<CompanyPlacement>(
        conn,
        account_id,
        company_id,
        expected_version,
        kind,
        actor,
    )
}
