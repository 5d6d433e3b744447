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

/// A fresh connection to the app's database (so with nothing prepared yet) that counts, and
/// keeps the text of every statement it runs.
pub struct CountingConnection {
    conn: DbConnection,
    seen: Arc<Mutex<Statements>>,
    sql: Arc<Mutex<Vec<String>>>,
}

impl CountingConnection {
    pub fn open(database_url: &str) -> CountingConnection {
        let mut conn = DbConnection::establish(database_url).unwrap_or_else(|e| panic!("{e}"));
        let seen = Arc::new(Mutex::new(Statements::default()));
        let sql = Arc::new(Mutex::new(Vec::new()));
        let (counter, texts) = (Arc::clone(&seen), Arc::clone(&sql));
        conn.set_instrumentation(move |event: InstrumentationEvent<'_>| {
            let mut seen = counter.lock().unwrap_or_else(|e| e.into_inner());
            match event {
                InstrumentationEvent::StartQuery { query, .. } => {
                    seen.run += 1;
                    // diesel shows a statement as its text, then ` -- binds: [..]`.
                    let shown = query.to_string();
                    let text = shown.split(" -- binds: ").next().unwrap_or_default();
                    texts
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .push(text.to_owned());
                }
                InstrumentationEvent::CacheQuery { .. } => seen.prepared += 1,
                _ => {}
            }
        });
        CountingConnection { conn, seen, sql }
    }

    /// The text of every statement run so far, in order.
    pub fn statements(&self) -> Vec<String> {
        self.sql.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Runs `read` and says what it ran.
    pub fn count<T>(&mut self, read: impl FnOnce(&mut DbConnection) -> T) -> (T, Statements) {
        *self.seen.lock().unwrap_or_else(|e| e.into_inner()) = Statements::default();
        let out = read(&mut self.conn);
        (out, *self.seen.lock().unwrap_or_else(|e| e.into_inner()))
    }
}
