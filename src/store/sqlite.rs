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

use super::{
    days_from_slots, sort_counts, sum_batch, Hit, Migration, PathCount, PathId, SlotCount, Store, StoreError,
    StoreFuture, Summary, SLOT_SECONDS,
};
use crate::count::path::PagePath;
use crate::zone::{DayNumber, Zone};
use jiff::Timestamp;

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
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
            params![migration.version, Timestamp::now().as_microsecond()],
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
                "INSERT INTO paths (path, registered_at) VALUES (?1, ?2) ON CONFLICT (path) DO NOTHING",
            )?
            .execute(params![path, Timestamp::now().as_microsecond()])?;
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
            path_counts(conn, "SELECT path, total FROM paths", [])
        })
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Self::with(&self.reader, |conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))?;
            Ok(())
        })
    }

    fn counts_between(&self, from: DayNumber, to: DayNumber) -> StoreFuture<'_, Vec<PathCount>> {
        Self::with(&self.reader, move |conn| {
            path_counts(
                conn,
                "SELECT p.path, sum(d.count) FROM daily_counts d JOIN paths p ON p.id = d.path_id \
                 WHERE d.day BETWEEN ?1 AND ?2 GROUP BY p.path",
                [from, to],
            )
        })
    }

    fn summary(&self, path: PathId) -> StoreFuture<'_, Summary> {
        Self::with(&self.reader, move |conn| {
            Ok(conn
                .prepare_cached("SELECT total, first_call, last_call FROM paths WHERE id = ?1")?
                .query_row([path], |r| {
                    Ok(Summary {
                        total: r.get::<_, i64>(0)?.max(0) as u64,
                        first: r.get::<_, Option<i64>>(1)?.map(micros),
                        last: r.get::<_, Option<i64>>(2)?.map(micros),
                    })
                })?)
        })
    }

    fn first_and_last(
        &self,
        path: PathId,
        from: Timestamp,
        until: Timestamp,
    ) -> StoreFuture<'_, Option<(Timestamp, Timestamp)>> {
        Self::with(&self.reader, move |conn| {
            // Two index lookups: SQLite's min/max shortcut needs one aggregate per query.
            let edge = |sql: &str| -> Result<Option<i64>, rusqlite::Error> {
                conn.prepare_cached(sql)?
                    .query_row(params![path, from.as_microsecond(), until.as_microsecond()], |r| {
                        r.get(0)
                    })
            };
            let first =
                edge("SELECT min(called_at) FROM calls WHERE path_id = ?1 AND called_at >= ?2 AND called_at < ?3")?;
            let last =
                edge("SELECT max(called_at) FROM calls WHERE path_id = ?1 AND called_at >= ?2 AND called_at < ?3")?;
            Ok(first.zip(last).map(|(f, l)| (micros(f), micros(l))))
        })
    }

    fn daily(&self, path: PathId) -> StoreFuture<'_, Vec<(DayNumber, u64)>> {
        Self::with(&self.reader, move |conn| {
            let mut statement =
                conn.prepare_cached("SELECT day, count FROM daily_counts WHERE path_id = ?1 ORDER BY day")?;
            let rows = statement.query_map([path], |r| Ok((r.get(0)?, r.get::<_, i64>(1)?.max(0) as u64)))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn calls(&self, path: PathId, after: Timestamp, until: Timestamp, limit: usize) -> StoreFuture<'_, Vec<Timestamp>> {
        Self::with(&self.reader, move |conn| {
            let mut statement = conn.prepare_cached(
                "SELECT called_at FROM calls WHERE path_id = ?1 AND called_at > ?2 AND called_at < ?3 \
                 ORDER BY called_at LIMIT ?4",
            )?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = statement.query_map(
                params![path, after.as_microsecond(), until.as_microsecond(), limit],
                |r| r.get::<_, i64>(0),
            )?;
            Ok(rows.map(|r| r.map(micros)).collect::<Result<_, _>>()?)
        })
    }

    fn slots(&self, path: Option<PathId>, from: Timestamp, until: Timestamp) -> StoreFuture<'_, Vec<SlotCount>> {
        Self::with(&self.reader, move |conn| {
            let (from, until) = (from.as_microsecond(), until.as_microsecond());
            let slots = match path {
                Some(path) => conn
                    .prepare_cached(
                        "SELECT path_id, called_at / 900000000, count(*) FROM calls \
                         WHERE path_id = ?1 AND called_at >= ?2 AND called_at < ?3 GROUP BY 1, 2",
                    )?
                    .query_map(params![path, from, until], slot_count)?
                    .collect::<Result<_, _>>()?,
                None => conn
                    .prepare_cached(
                        "SELECT path_id, called_at / 900000000, count(*) FROM calls \
                         WHERE called_at >= ?1 AND called_at < ?2 GROUP BY 1, 2",
                    )?
                    .query_map(params![from, until], slot_count)?
                    .collect::<Result<_, _>>()?,
            };
            Ok(slots)
        })
    }

    fn rebuild_daily(&self, zone: Zone) -> StoreFuture<'_, u64> {
        Self::with(&self.writer, move |conn| {
            // IMMEDIATE holds every other writer back until the commit.
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let slots = tx
                .prepare("SELECT path_id, called_at / 900000000, count(*) FROM calls GROUP BY 1, 2")?
                .query_map([], slot_count)?
                .collect::<Result<Vec<_>, _>>()?;
            let days = days_from_slots(slots, &zone);
            tx.execute("DELETE FROM daily_counts", [])?;
            {
                let mut insert = tx.prepare("INSERT INTO daily_counts (path_id, day, count) VALUES (?1, ?2, ?3)")?;
                for (path, day, count) in &days {
                    insert.execute(params![path, day, count])?;
                }
            }
            tx.commit()?;
            Ok(days.len() as u64)
        })
    }
}

/// Runs a `(path, count)` query and sorts the rows as the API promises.
fn path_counts(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<Vec<PathCount>, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    let rows = statement.query_map(params, |r| {
        Ok(PathCount {
            path: r.get(0)?,
            count: r.get::<_, i64>(1)?.max(0) as u64,
        })
    })?;
    let mut counts = rows.collect::<Result<Vec<_>, _>>()?;
    sort_counts(&mut counts);
    Ok(counts)
}

fn micros(at: i64) -> Timestamp {
    // Written by us from a Timestamp, so always in range.
    Timestamp::from_microsecond(at).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn slot_count(row: &rusqlite::Row<'_>) -> Result<SlotCount, rusqlite::Error> {
    Ok(SlotCount {
        path: row.get(0)?,
        slot_start: Timestamp::from_second(row.get::<_, i64>(1)? * SLOT_SECONDS).unwrap_or(Timestamp::UNIX_EPOCH),
        calls: row.get::<_, i64>(2)?.max(0) as u64,
    })
}
