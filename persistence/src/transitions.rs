//! Moving companies between phases: the company, its history row and its event are written
//! in one transaction, through the pipeline engine ([`crate::placement`]).

use domain::company::Company;
use domain::event::Outbox;
use domain::listing::{Page, PageSize, Position};
use domain::pipeline::{Move, Transition};

use crate::companies::CompanyPlacement;
use crate::placement;
use crate::{DbConnection, StoreError};

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
    placement::move_record::<CompanyPlacement>(
        conn,
        account_id,
        company_id,
        expected_version,
        request,
        outbox,
    )
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
