//! The embedded store: one SQLite file in the data directory, so Footfall runs
//! with zero setup.
//!
//! SQLite calls block, so each runs on tokio's blocking pool. One connection
//! writes (SQLite allows one writer anyway) and another reads, which WAL mode
//! lets proceed while a write commits. `synchronous=FULL`: a committed batch
//! survives power loss, which is what a 200 promises.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rusqlite::{params, Connection, OpenFlags, TransactionBehavior};

use super::{sort_counts, sum_batch, Hit, Migration, PathCount, PathId, Store, StoreError, StoreFuture};
use crate::path::PagePath;

const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    sql: include_str!("../../sql/sqlite/0001_init.sql"),
}];

/// How long a connection waits for another process's write lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

pub struct SqliteStore {
    writer: Arc<Mutex<Connection>>,
    reader: Arc<Mutex<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file.
    ///
    /// # Errors
    /// When the file cannot be opened or configured.
    pub fn open(file: &Path) -> Result<Self, StoreError> {
        let open = || -> Result<Connection, rusqlite::Error> {
            let conn = Connection::open_with_flags(
                file,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            Ok(conn)
        };
        Ok(Self {
            writer: Arc::new(Mutex::new(open()?)),
            reader: Arc::new(Mutex::new(open()?)),
        })
    }

    /// Runs `f` with a connection on the blocking pool.
    fn with<T: Send + 'static>(
        conn: &Arc<Mutex<Connection>>,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> StoreFuture<'static, T> {
        let conn = Arc::clone(conn);
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                // A panic mid-statement rolls the transaction back when it is
                // dropped, so the connection is still sound to reuse.
                let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
                f(&mut conn)
            })
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
        })
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    // IMMEDIATE takes the write lock first, so two processes migrate one after the other.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT",
    )?;
    let newest: i64 = tx.query_row("SELECT coalesce(max(version), 0) FROM schema_migrations", [], |r| {
        r.get(0)
    })?;
    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    if newest > known {
        return Err(StoreError::SchemaTooNew { found: newest, known });
    }
    for migration in MIGRATIONS.iter().filter(|m| m.version > newest) {
        tx.execute_batch(migration.sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, unixepoch())",
            [migration.version],
        )?;
    }
    tx.commit()?;
    Ok(())
}

fn record(conn: &mut Connection, hits: &[Hit]) -> Result<(), StoreError> {
    let sums = sum_batch(hits);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    {
        let mut insert = tx.prepare_cached("INSERT INTO calls (path_id, called_at) VALUES (?1, ?2)")?;
        for hit in hits {
            insert.execute(params![hit.path, hit.at.as_microsecond()])?;
        }
        let mut upsert = tx.prepare_cached(
            "INSERT INTO daily_counts (path_id, day, count) VALUES (?1, ?2, ?3) \
             ON CONFLICT (path_id, day) DO UPDATE SET count = count + excluded.count",
        )?;
        for (path, day, count) in &sums.per_day {
            upsert.execute(params![path, day, count])?;
        }
        let mut update = tx.prepare_cached(
            "UPDATE paths SET total = total + ?2, first_call = min(coalesce(first_call, ?3), ?3), \
             last_call = max(coalesce(last_call, ?4), ?4) WHERE id = ?1",
        )?;
        for sum in &sums.per_path {
            update.execute(params![
                sum.path,
                sum.calls,
                sum.first.as_microsecond(),
                sum.last.as_microsecond()
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

impl Store for SqliteStore {
    fn migrate(&self) -> StoreFuture<'_, ()> {
        Self::with(&self.writer, migrate)
    }

    fn paths(&self) -> StoreFuture<'_, Vec<(PathId, String)>> {
        Self::with(&self.reader, |conn| {
            let mut statement = conn.prepare_cached("SELECT id, path FROM paths")?;
            let rows = statement.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn register_path<'a>(&'a self, path: &'a PagePath) -> StoreFuture<'a, PathId> {
        let path = path.as_str().to_owned();
        Self::with(&self.writer, move |conn| {
            conn.prepare_cached(
                "INSERT INTO paths (path, registered_at) VALUES (?1, unixepoch()) ON CONFLICT (path) DO NOTHING",
            )?
            .execute([&path])?;
            Ok(conn
                .prepare_cached("SELECT id FROM paths WHERE path = ?1")?
                .query_row([&path], |r| r.get(0))?)
        })
    }

    fn record<'a>(&'a self, hits: &'a [Hit]) -> StoreFuture<'a, ()> {
        let hits = hits.to_vec();
        Self::with(&self.writer, move |conn| record(conn, &hits))
    }

    fn counts(&self) -> StoreFuture<'_, Vec<PathCount>> {
        Self::with(&self.reader, |conn| {
            let mut statement = conn.prepare_cached("SELECT path, total FROM paths")?;
            let rows = statement.query_map([], |r| {
                Ok(PathCount {
                    path: r.get(0)?,
                    count: r.get::<_, i64>(1)?.max(0) as u64,
                })
            })?;
            let mut counts = rows.collect::<Result<Vec<_>, _>>()?;
            sort_counts(&mut counts);
            Ok(counts)
        })
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Self::with(&self.reader, |conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))?;
            Ok(())
        })
    }
}
