//! The connection type, the pool, migrations and the write transaction.

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::StoreError;
use crate::vault::Vault;

#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    Postgresql(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

/// Runs the same diesel statement on the concrete connection inside a `DbConnection`, for the
/// statements the multi-backend cannot express (multi-row inserts).
macro_rules! on_backend {
    ($conn:expr, |$c:ident| $body:expr) => {
        match $conn {
            $crate::DbConnection::Postgresql($c) => $body,
            $crate::DbConnection::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_backend;

impl DbConnection {
    /// Which database this connection talks to.
    pub fn backend(&self) -> Backend {
        match self {
            DbConnection::Postgresql(_) => Backend::Postgres,
            DbConnection::Sqlite(_) => Backend::Sqlite,
        }
    }
}

pub type PooledConnection = r2d2::PooledConnection<Manager>;

const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");

/// Which database a URL names: `postgres://` or `postgresql://` is PostgreSQL, anything else
/// is a SQLite file name (with an optional `sqlite://` prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

impl Backend {
    pub fn of(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }
}

/// Opens connections of one backend, set up the way Clientline needs them.
#[derive(Debug)]
pub struct Manager {
    url: String,
    backend: Backend,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = ConnectError;

    fn connect(&self) -> Result<DbConnection, ConnectError> {
        match self.backend {
            Backend::Postgres => Ok(DbConnection::Postgresql(diesel::PgConnection::establish(
                &self.url,
            )?)),
            Backend::Sqlite => {
                let path = self.url.strip_prefix("sqlite://").unwrap_or(&self.url);
                let mut conn = diesel::SqliteConnection::establish(path)?;
                // The busy timeout comes first so that every later statement waits for a lock
                // instead of failing; foreign keys are off unless asked for; WAL (set once, in
                // `Db::connect`) makes NORMAL sync durable at every checkpoint.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                )?;
                // SQLite's own `lower` folds ASCII only, so `école` would not find `École`;
                // PostgreSQL's folds all of Unicode. This one does the same as PostgreSQL's
                // (and as the Rust side, which lowers search patterns and stored emails).
                // No index is built on `lower`, so replacing it changes no stored order.
                crate::keyset::lower_nullable_utils::register_impl(
                    &mut conn,
                    |text: Option<String>| text.map(|t| t.to_lowercase()),
                )?;
                // Search checks the title and text of each row its FTS5 index finds folded the
                // way the query is (case, diacritics, punctuation): PostgreSQL's is SQL.
                // Only statements call it, no index or trigger, so a connection without it
                // (the sqlite3 shell) can still write every table.
                crate::search::search_key_utils::register_impl(
                    &mut conn,
                    |text: Option<String>| text.map(|t| domain::search::fold(&t)),
                )?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), ConnectError> {
        conn.batch_execute("SELECT 1").map_err(Into::into)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        std::thread::panicking()
            || <DbConnection as Connection>::TransactionManager::is_broken_transaction_manager(conn)
    }
}

/// The pool of connections to one database, and the operator key its secrets are sealed with.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    backend: Backend,
    vault: Vault,
}

impl Db {
    /// Opens a pool of `size` connections to `url`, whose secrets `vault` seals and opens.
    /// SQLite files are created when missing.
    pub fn connect(url: &str, size: u32, vault: Vault) -> Result<Db, StoreError> {
        let backend = Backend::of(url);
        let manager = Manager {
            url: url.to_owned(),
            backend,
        };
        if backend == Backend::Sqlite {
            // WAL lets readers run beside the one writer. It is a property of the file, so set
            // it once here rather than racing to set it from every new pooled connection.
            let mut first = r2d2::ManageConnection::connect(&manager)
                .map_err(|e| StoreError::Task(format!("cannot open {url}: {e}")))?;
            first.batch_execute("PRAGMA journal_mode = WAL")?;
        }
        // No test query on every checkout: it would cost a round trip per request, and a
        // broken connection is found by `has_broken` and replaced anyway. Two idle
        // connections are kept open; the rest are opened under load and closed after
        // `idle_timeout`, which keeps an idle service small.
        let pool = r2d2::Pool::builder()
            .max_size(size)
            .min_idle(Some(size.min(2)))
            .idle_timeout(Some(Duration::from_secs(300)))
            .test_on_check_out(false)
            .connection_timeout(Duration::from_secs(10))
            .build(manager)?;
        Ok(Db {
            pool,
            backend,
            vault,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The operator key's vault: seals and opens the stored secrets.
    pub fn vault(&self) -> &Vault {
        &self.vault
    }

    /// The most connections the pool opens.
    pub fn max_size(&self) -> u32 {
        self.pool.max_size()
    }

    pub fn conn(&self) -> Result<PooledConnection, StoreError> {
        Ok(self.pool.get()?)
    }

    /// Applies the pending migrations of this backend and returns their names; then seals any
    /// secret still stored in plaintext (a database from before sealing), and checks that the
    /// stored secrets open with this operator key.
    pub fn migrate(&self) -> Result<Vec<String>, StoreError> {
        let mut conn = self.conn()?;
        let migrations = self.migrations();
        // SQLite changes a table's constraints by rebuilding it (create, copy, drop, rename),
        // which its documented procedure does with foreign keys off, checking them after; the
        // pragma has no effect inside a transaction, so it is set around the migrations.
        let sqlite = self.backend == Backend::Sqlite;
        if sqlite {
            conn.batch_execute("PRAGMA foreign_keys = OFF")?;
        }
        let applied: Result<Vec<String>, StoreError> = conn
            .run_pending_migrations(migrations)
            .map(|applied| applied.iter().map(ToString::to_string).collect())
            .map_err(|e| StoreError::Task(format!("migration failed: {e}")));
        if sqlite {
            conn.batch_execute("PRAGMA foreign_keys = ON")?;
        }
        let applied = applied?;
        if sqlite && !applied.is_empty() {
            let broken = diesel::sql_query("PRAGMA foreign_key_check")
                .load::<ForeignKeyViolation>(&mut conn)?;
            if let Some(first) = broken.first() {
                return Err(StoreError::Task(format!(
                    "migration left {} rows whose references are broken (first in `{}`)",
                    broken.len(),
                    first.table
                )));
            }
        }
        let sealed = crate::vault::stored::seal_plaintext(&mut conn, &self.vault)?;
        if sealed.total() > 0 {
            tracing::info!(
                webhook_secrets = sealed.webhook_secrets,
                totp_secrets = sealed.totp_secrets,
                signing_keys = sealed.signing_keys,
                key_id = self.vault.key_id(),
                "sealed the secrets stored in plaintext under the operator key"
            );
        }
        Ok(applied)
    }

    /// The migrations of this database's backend, as [`Db::migrate`] applies them.
    pub fn migrations(&self) -> EmbeddedMigrations {
        match self.backend {
            Backend::Postgres => POSTGRES_MIGRATIONS,
            Backend::Sqlite => SQLITE_MIGRATIONS,
        }
    }

    /// Whether the database answers.
    pub fn ping(&self) -> Result<(), StoreError> {
        self.conn()?.batch_execute("SELECT 1")?;
        Ok(())
    }
}

static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// How often a PostgreSQL write transaction that lost a lock conflict (a deadlock, a
/// serialization failure) is run again before the caller hears of it.
const LOCK_CONFLICT_ATTEMPTS: u32 = 4;

/// An error a write transaction can end with, which may say that PostgreSQL aborted it for
/// a lock conflict that running it again can win.
pub trait TransactionError: From<diesel::result::Error> + std::fmt::Debug {
    fn is_lock_conflict(&self) -> bool;
    /// What the caller gets when the conflict persisted through every attempt.
    fn lock_conflict() -> Self;
}

/// Whether PostgreSQL aborted the transaction for a deadlock (40P01) or a serialization
/// failure (40001).
pub(crate) fn is_lock_conflict(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => true,
        // diesel has no kind for 40P01; PostgreSQL's message for it is fixed.
        Error::DatabaseError(_, info) => info.message().contains("deadlock detected"),
        _ => false,
    }
}

impl TransactionError for StoreError {
    fn is_lock_conflict(&self) -> bool {
        matches!(self, StoreError::Database(e) if is_lock_conflict(e))
    }

    fn lock_conflict() -> Self {
        StoreError::LockConflict
    }
}

/// Runs `f` in a write transaction. On SQLite it begins `IMMEDIATE`, taking the write lock at
/// once: a deferred transaction that upgrades later gets SQLITE_BUSY without waiting. On
/// PostgreSQL a transaction aborted by a deadlock or a serialization failure is run again
/// (so `f` may run more than once), a few times with a short random pause; past that the
/// caller gets [`TransactionError::lock_conflict`] ([`StoreError::LockConflict`]), never the
/// database's error.
///
/// Inside another write transaction (a conversion creating a company, a contact and a
/// project) `f` runs in a savepoint of it, once: the outer transaction holds the lock, and a
/// conflict aborts it whole, to be run again by its own caller.
pub fn write_transaction<T, E: TransactionError>(
    conn: &mut DbConnection,
    mut f: impl FnMut(&mut DbConnection) -> Result<T, E>,
) -> Result<T, E> {
    let depth = match conn {
        DbConnection::Postgresql(pg) => {
            AnsiTransactionManager::transaction_manager_status_mut(pg).transaction_depth()
        }
        DbConnection::Sqlite(sqlite) => {
            AnsiTransactionManager::transaction_manager_status_mut(sqlite).transaction_depth()
        }
    }
    .map_err(E::from)?;
    if depth.is_some() {
        return conn.transaction(f);
    }
    match conn {
        DbConnection::Postgresql(_) => {
            let mut attempt = 1;
            loop {
                match conn.transaction(&mut f) {
                    Err(e) if e.is_lock_conflict() => {
                        if attempt == LOCK_CONFLICT_ATTEMPTS {
                            tracing::warn!(attempts = attempt, error = ?e, "lock conflict persisted");
                            return Err(E::lock_conflict());
                        }
                        tracing::info!(attempt, "lock conflict; running the transaction again");
                        let pause = rand::random_range(5..25u64) * u64::from(attempt);
                        std::thread::sleep(Duration::from_millis(pause));
                        attempt += 1;
                    }
                    other => return other,
                }
            }
        }
        DbConnection::Sqlite(sqlite) => {
            // SQLite has one writer at a time. Writers of this process queue here rather than
            // in SQLite's busy handler, which polls with sleeps of up to 100 ms and so turns
            // contention into latency (and, past the busy timeout, "database is locked").
            // One lock for every SQLite file of the process: a process serves one database
            // (tests, which open many, only queue a little longer).
            let _writer = SQLITE_WRITER
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            AnsiTransactionManager::begin_transaction_sql(sqlite, "BEGIN IMMEDIATE")?;
            type Manager = <DbConnection as Connection>::TransactionManager;
            match f(conn) {
                Ok(value) => match Manager::commit_transaction(conn) {
                    Ok(()) => Ok(value),
                    Err(commit) => {
                        // The commit failed, so the transaction is still open: undo it.
                        let _ = Manager::rollback_transaction(conn);
                        Err(commit.into())
                    }
                },
                Err(e) => {
                    Manager::rollback_transaction(conn)?;
                    Err(e)
                }
            }
        }
    }
}

/// A row of SQLite's `PRAGMA foreign_key_check`.
#[derive(diesel::QueryableByName)]
struct ForeignKeyViolation {
    #[diesel(sql_type = diesel::sql_types::Text)]
    table: String,
}
