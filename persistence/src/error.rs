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
    /// Only the owner of a shared view or list, or an admin, may change or delete it.
    #[error("only its owner or an admin may change it")]
    NotOwner,
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

impl StoreError {
    /// The failure as a log should tell it: for a database error, its kind and message and,
    /// where the database names them (PostgreSQL does; SQLite puts the table in the message),
    /// the table, column and constraint, with the server's detail and hint.
    pub fn log_detail(&self) -> String {
        let StoreError::Database(diesel::result::Error::DatabaseError(kind, info)) = self else {
            return format!("{self:?}");
        };
        let mut detail = format!("database error ({kind:?}): {}", info.message());
        let parts = [
            ("table", info.table_name()),
            ("column", info.column_name()),
            ("constraint", info.constraint_name()),
            ("detail", info.details()),
            ("hint", info.hint()),
        ];
        for (name, value) in parts {
            if let Some(value) = value {
                detail.push_str(&format!("; {name}: {value}"));
            }
        }
        detail
    }
}

#[cfg(test)]
mod tests {
    use diesel::result::{DatabaseErrorInformation, DatabaseErrorKind, Error};

    use super::*;

    struct Info;

    impl DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            "duplicate key value violates unique constraint \"projects_external_id\""
        }
        fn details(&self) -> Option<&str> {
            Some("Key (account_id, external_id)=(1, ERP-1) already exists.")
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            Some("projects")
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            Some("projects_external_id")
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    #[test]
    fn a_database_error_names_its_table_and_constraint_in_the_log() {
        let error = StoreError::Database(Error::DatabaseError(
            DatabaseErrorKind::UniqueViolation,
            Box::new(Info),
        ));
        let detail = error.log_detail();
        assert!(detail.starts_with("database error (UniqueViolation): duplicate key"));
        assert!(detail.contains("table: projects"), "{detail}");
        assert!(
            detail.contains("constraint: projects_external_id"),
            "{detail}"
        );
        assert!(detail.contains("(1, ERP-1) already exists"), "{detail}");
    }
}
