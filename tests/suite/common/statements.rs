//! Counting the statements a read runs, on a connection of the test's own: every statement,
//! and those it prepares anew (a statement run again from diesel's cache prepares nothing).

use std::sync::{Arc, Mutex};

use diesel::Connection;
use diesel::connection::InstrumentationEvent;
use persistence::DbConnection;

/// What one read ran.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Statements {
    pub run: usize,
    pub prepared: usize,
}

/// A fresh connection to the app's database (so with nothing prepared yet) that counts.
pub struct CountingConnection {
    conn: DbConnection,
    seen: Arc<Mutex<Statements>>,
}

impl CountingConnection {
    pub fn open(database_url: &str) -> CountingConnection {
        let mut conn = DbConnection::establish(database_url).unwrap_or_else(|e| panic!("{e}"));
        let seen = Arc::new(Mutex::new(Statements::default()));
        let counter = Arc::clone(&seen);
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            let mut seen = counter.lock().unwrap_or_else(|e| e.into_inner());
            match event {
                InstrumentationEvent::StartQuery { .. } => seen.run += 1,
                InstrumentationEvent::CacheQuery { .. } => seen.prepared += 1,
                _ => {}
            }
        });
        CountingConnection { conn, seen }
    }

    /// Runs `read` and says what it ran.
    pub fn count<T>(&mut self, read: impl FnOnce(&mut DbConnection) -> T) -> (T, Statements) {
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = Statements::default();
        let out = read(&mut self.conn);
        (out, *self.seen.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
