//! What every handler shares: the database pool and the settings, and the one way to run
//! blocking database work off the actix workers.

use persistence::{Db, DbConnection, StoreError};

use crate::error::ApiError;

/// Settings the HTTP layer needs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// The largest request body accepted, in bytes.
    pub body_limit: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            body_limit: 256 * 1024,
        }
    }
}

#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Settings,
}

impl AppState {
    pub fn new(db: Db, settings: Settings) -> Self {
        AppState { db, settings }
    }

    /// Runs `f` with a pooled connection on the blocking thread pool, so that no actix worker
    /// ever waits on the database.
    pub async fn run<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&mut DbConnection) -> Result<T, StoreError> + Send + 'static,
    {
        let db = self.db.clone();
        actix_web::web::block(move || {
            let mut conn = db.conn()?;
            f(&mut conn)
        })
        .await
        .map_err(|e| ApiError::Internal(format!("blocking task failed: {e}")))?
        .map_err(ApiError::from)
    }
}
