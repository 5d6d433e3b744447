//! What a repository call can fail with. The HTTP layer maps each to a status, once.

use domain::Invalid;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such record in the caller's account.
    #[error("not found")]
    NotFound,
    /// `If-Match` named a version other than the record's current one.
    #[error("the record is at version {current}")]
    Stale { current: i64 },
    /// Input that is well-formed but refers to something that does not fit (an owner of
    /// another account, a reporting cycle, ...).
    #[error("invalid input: {0}")]
    Invalid(#[from] Invalid),
    /// The write conflicts with existing data, such as a duplicate email.
    #[error("conflict: {0}")]
    Conflict(String),
    /// The change would leave the account without an active admin.
    #[error("the account must keep at least one active admin")]
    LastAdmin,
    /// PostgreSQL kept aborting the transaction for lock conflicts with concurrent writers
    /// (deadlocks, serialization failures), also when it was run again; a retry may pass.
    #[error("the change kept conflicting with concurrent changes")]
    LockConflict,
    #[error("database error")]
    Database(#[from] diesel::result::Error),
    #[error("no database connection available")]
    Pool(#[from] r2d2::Error),
    #[error("database task failed: {0}")]
    Task(String),
    /// A stored secret did not open (or could not be sealed) with the operator key.
    #[error(transparent)]
    Sealed(#[from] crate::vault::SealError),
}
