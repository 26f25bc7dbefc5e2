//! The SQLite store's two connections as `SqliteStore::with` runs work on
//! them: the writer, and the one reader, whose reads are given up when
//! their caller stops waiting (a read deadline passed). Such a read is
//! interrupted if it runs, and skipped if it still waits for the reader:
//! otherwise it would hold the one reader until done, and every read queued
//! behind it would pass its deadline too. Writes are never interrupted: a
//! batch whose caller timed out may still commit, and its retry finds it.
//! Owns no SQL.

use std::ops::Deref;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, InterruptHandle};

use super::super::StoreError;
use crate::sync::lock;

/// A connection `with` runs work on.
pub(super) trait Lane {
    fn connection(&self) -> &Arc<Mutex<Connection>>;
    /// Whether work on it is given up with its caller.
    fn abandonable(&self) -> bool;
}

impl Lane for Arc<Mutex<Connection>> {
    fn connection(&self) -> &Arc<Mutex<Connection>> {
        self
    }
    fn abandonable(&self) -> bool {
        false
    }
}

/// The reader connection.
pub(super) struct Reader(pub(super) Arc<Mutex<Connection>>);

impl Deref for Reader {
    type Target = Arc<Mutex<Connection>>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl Lane for Reader {
    fn connection(&self) -> &Arc<Mutex<Connection>> {
        &self.0
    }
    fn abandonable(&self) -> bool {
        true
    }
}

#[derive(Default)]
struct State {
    abandoned: bool,
    running: Option<InterruptHandle>,
}

/// What a read and its caller share: the caller's side abandons it when
/// dropped, the read's side starts and finishes it.
#[derive(Clone, Default)]
pub(super) struct Abandon(Arc<Mutex<State>>);

impl Abandon {
    /// Marks the read as running on `conn`; `false` if its caller is gone.
    pub(super) fn start(&self, conn: &Connection) -> bool {
        let mut state = lock(&self.0);
        if state.abandoned {
            return false;
        }
        state.running = Some(conn.get_interrupt_handle());
        true
    }

    pub(super) fn finish(&self) {
        lock(&self.0).running = None;
    }

    /// The error of a read skipped because its caller was gone.
    pub(super) fn skipped() -> StoreError {
        StoreError::Task("a read whose caller stopped waiting was skipped".into())
    }
}

/// The caller's side: abandons the read when dropped before it finished.
pub(super) struct OnDrop(pub(super) Abandon);

impl Drop for OnDrop {
    fn drop(&mut self) {
        let mut state = lock(&(self.0).0);
        state.abandoned = true;
        // A read that already finished left nothing to interrupt; and an
        // interrupt with no statement running is a no-op in SQLite.
        if let Some(running) = state.running.take() {
            running.interrupt();
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::super::SqliteStore;

    /// Counts for far longer than the test waits (but ends, so that a
    /// failing test ends too), unless interrupted.
    const ENDLESS: &str =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 200000000) SELECT count(*) FROM c";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_read_given_up_is_interrupted_and_the_next_read_answers() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("f.sqlite3")).unwrap();
        let endless = SqliteStore::with(&store.reader, |conn| {
            Ok(conn.query_row(ENDLESS, [], |r| r.get::<_, i64>(0))?)
        });
        assert!(tokio::time::timeout(Duration::from_millis(200), endless).await.is_err());
        let started = Instant::now();
        let next = SqliteStore::with(&store.reader, |conn| {
            Ok(conn.query_row("SELECT 7", [], |r| r.get::<_, i64>(0))?)
        });
        let answer = tokio::time::timeout(Duration::from_secs(5), next).await;
        assert_eq!(answer.expect("the reader is free again").unwrap(), 7);
        assert!(started.elapsed() < Duration::from_secs(2), "{:?}", started.elapsed());
    }
}
