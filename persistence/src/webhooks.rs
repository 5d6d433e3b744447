//! Webhook subscriptions and their delivery queue. (The queue is filled by `events::record`.)

use crate::events::Recorded;
use crate::{DbConnection, StoreError};

/// Queues `recorded` for every active subscription of the account that wants them.
pub(crate) fn enqueue(
    _conn: &mut DbConnection,
    _account_id: i64,
    _recorded: &[Recorded],
) -> Result<(), StoreError> {
    Ok(())
}

/// Drops the queue's rows for events about to be purged.
pub(crate) fn forget_events(_conn: &mut DbConnection, _ids: &[i64]) -> Result<(), StoreError> {
    Ok(())
}
