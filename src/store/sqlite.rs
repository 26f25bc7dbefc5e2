//! The embedded store: one SQLite file in the data directory, so Footfall runs
//! with zero setup.
//!
//! SQLite calls block, so each runs on tokio's blocking pool. One connection
//! writes (SQLite allows one writer anyway) and another reads, which WAL mode
//! lets proceed while a write commits. `synchronous=FULL`: a committed batch
//! survives power loss, which is what a 200 promises.
//!
//! A full disk heals without a restart: the WAL is checkpointed at 16 MiB
//! (at 1 MiB on a disk with less than 1 GiB free) and kept to that size,
//! and a write that fails for lack of space (or an I/O error) checkpoints
//! and truncates it and keeps it to 1 MiB from then on, so the space a
//! later write needs is there as soon as the disk has a little room again.

mod dimensions;
mod tallies;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use rusqlite::{params, Connection, OpenFlags, TransactionBehavior};

use super::packed::OpenRows;
use super::rules::{count_from_db, days_from_slots, slot, sort_counts, time_from_micros};
use super::{
    migrations, within, BadgeFigures, Batch, DaysToken, Kind, PageRow, PageTallies, PathCount, PathId, Recorded,
    RenameOutcome, Scope, SharedDedup, SiteId, SlotCount, Store, StoreError, StoreFuture, Summary, Tallies, ValueCount,
    MIGRATE_DEADLINE, PATHS_DEADLINE, REBUILD_DEADLINE, REGISTER_DEADLINE,
};
use crate::count::path::PagePath;
use crate::zone::{DayNumber, Zone};

/// How long a connection waits for another process's write lock: well under
/// the recorder's 2 s deadline, so a write stuck behind a lock mostly fails,
/// certainly uncommitted, before its outcome would become unknown.
const BUSY_TIMEOUT: Duration = Duration::from_secs(1);
/// The database's clock, for metadata columns (Footfall's own clock is for
/// counted calls only): microseconds since the Unix epoch.
macro_rules! now_micros {
    () => {
        "CAST(unixepoch('subsec') * 1000000 AS INTEGER)"
    };
}

// After the macro, which they use too.
mod backup;
mod convert;
mod events;
mod history;
mod links;
mod owner;
mod reader;
mod site;
mod site_days;
mod site_dimensions;
mod transfer;
mod wal;
mod writes;

use reader::{Abandon, Lane, OnDrop, Reader};
use wal::WalSize;
use writes::{migrate, record, rename_site, OwnedBatch};

/// Every row lies inside its slot, so per-slot counts need no call times.
const SITE_SLOTS: &str = "SELECT c.path_id, c.slot, sum(c.calls) \
     FROM call_times c JOIN paths p ON p.id = c.path_id WHERE p.site_id = ?1 GROUP BY 1, 2";

pub struct SqliteStore {
    writer: Arc<Mutex<Connection>>,
    reader: Reader,
    /// The writer's open `call_times` rows (see `packed::OpenRows`).
    open_rows: Arc<OpenRows>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file.
    ///
    /// # Errors
    /// When the file cannot be opened or configured.
    pub fn open(file: &Path) -> Result<Self, StoreError> {
        let wal = WalSize::for_disk_of(file);
        let open = || -> Result<Connection, rusqlite::Error> {
            let conn = Connection::open_with_flags(
                file,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )?;
            conn.busy_timeout(BUSY_TIMEOUT)?;
            conn.pragma_update(None, "journal_mode", "WAL")?;
            wal.apply(&conn)?;
            conn.pragma_update(None, "synchronous", "FULL")?;
            conn.pragma_update(None, "foreign_keys", "ON")?;
            Ok(conn)
        };
        Ok(Self {
            writer: Arc::new(Mutex::new(open()?)),
            reader: Reader(Arc::new(Mutex::new(open()?))),
            open_rows: Arc::default(),
        })
    }

    /// Runs `f` with a connection on the blocking pool; on the reader, a
    /// read its caller stopped waiting for is given up (see `reader`).
    fn with<T: Send + 'static>(
        lane: &impl Lane,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> StoreFuture<'static, T> {
        let conn = Arc::clone(lane.connection());
        let abandonable = lane.abandonable();
        Box::pin(async move {
            let abandon = Abandon::default();
            let _on_drop = abandonable.then(|| OnDrop(abandon.clone()));
            tokio::task::spawn_blocking(move || {
                // A panic mid-statement rolls the transaction back when it is
                // dropped, so the connection is still sound to reuse.
                let mut conn = conn.lock().unwrap_or_else(|e| e.into_inner());
                if abandonable && !abandon.start(&conn) {
                    return Err(Abandon::skipped());
                }
                let result = f(&mut conn);
                abandon.finish();
                result
            })
            .await
            .map_err(|e| StoreError::Task(e.to_string()))?
        })
    }
}

impl Store for SqliteStore {
    fn migrate(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            within(MIGRATE_DEADLINE, Self::with(&self.writer, migrate)).await?;
            // Chunk by chunk, each its own short transaction: no deadline
            // for the whole, which grows with the calls to convert.
            Self::with(&self.writer, convert::convert_calls).await
        })
    }

    fn paths(&self, site: SiteId) -> StoreFuture<'_, Vec<(PathId, String)>> {
        Box::pin(within(
            PATHS_DEADLINE,
            Self::with(&self.reader, move |conn| {
                let mut statement = conn.prepare_cached("SELECT id, path FROM paths WHERE site_id = ?1")?;
                let rows = statement.query_map([site], |r| Ok((r.get(0)?, r.get(1)?)))?;
                Ok(rows.collect::<Result<_, _>>()?)
            }),
        ))
    }

    fn known_schema_version(&self) -> i64 {
        migrations::SQLITE.last().map_or(0, |m| m.version)
    }

    fn schema_version(&self) -> StoreFuture<'_, i64> {
        Box::pin(within(
            PATHS_DEADLINE,
            Self::with(&self.reader, |conn| {
                let exists: bool = conn.query_row(
                    "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
                    [],
                    |r| r.get(0),
                )?;
                if !exists {
                    return Ok(0);
                }
                Ok(
                    conn.query_row("SELECT coalesce(max(version), 0) FROM schema_migrations", [], |r| {
                        r.get(0)
                    })?,
                )
            }),
        ))
    }

    fn ensure_site<'a>(&'a self, slug: &'a str) -> StoreFuture<'a, SiteId> {
        let slug = slug.to_owned();
        Box::pin(within(
            REGISTER_DEADLINE,
            Self::with(&self.writer, move |conn| {
                let sql = "INSERT INTO sites (slug) VALUES (?1) \
                           ON CONFLICT (slug) DO UPDATE SET slug = excluded.slug RETURNING id";
                Ok(conn.prepare_cached(sql)?.query_row([&slug], |r| r.get(0))?)
            }),
        ))
    }

    fn rename_site<'a>(&'a self, from: &'a str, to: &'a str) -> StoreFuture<'a, RenameOutcome> {
        let (from, to) = (from.to_owned(), to.to_owned());
        Box::pin(within(
            REGISTER_DEADLINE,
            Self::with(&self.writer, move |conn| rename_site(conn, &from, &to)),
        ))
    }

    /// One process per file: its own visitor set is the whole truth.
    fn shared_dedup(&self) -> Option<&dyn SharedDedup> {
        None
    }

    /// Two connections, each behind its own lock: no pool to report.
    fn connections_in_use(&self) -> Option<(usize, usize)> {
        None
    }

    fn register_path<'a>(&'a self, site: SiteId, path: &'a PagePath) -> StoreFuture<'a, PathId> {
        let path = path.as_str().to_owned();
        Box::pin(within(
            REGISTER_DEADLINE,
            Self::with(&self.writer, move |conn| events::register_path(conn, site, &path)),
        ))
    }

    fn record<'a>(&'a self, batch: Batch<'a>) -> StoreFuture<'a, Recorded> {
        let batch = OwnedBatch {
            id: batch.id,
            hits: batch.hits.to_vec(),
            tallies: batch.tallies.to_vec(),
            dimensions: batch.dimensions.rows.to_vec(),
            max_values: batch.dimensions.max_values,
            settled: batch.settled.to_vec(),
            clicks: batch.clicks.to_vec(),
            milestones: batch.milestones.to_vec(),
        };
        let open_rows = Arc::clone(&self.open_rows);
        Self::with(&self.writer, move |conn| {
            record(conn, &batch, &open_rows).map(Recorded::from)
        })
    }

    fn counts(&self, site: SiteId) -> StoreFuture<'_, Vec<PathCount>> {
        Self::with(&self.reader, move |conn| {
            path_counts(
                conn,
                "SELECT path, total + start_count FROM paths WHERE site_id = ?1",
                [site],
            )
        })
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Self::with(&self.reader, |conn| {
            conn.query_row("SELECT 1", [], |_| Ok(()))?;
            Ok(())
        })
    }

    fn counts_between(&self, site: SiteId, from: DayNumber, to: DayNumber) -> StoreFuture<'_, Vec<PathCount>> {
        Self::with(&self.reader, move |conn| {
            path_counts(
                conn,
                "SELECT p.path, sum(d.count) FROM daily_counts d JOIN paths p ON p.id = d.path_id \
                 WHERE p.site_id = ?3 AND d.day BETWEEN ?1 AND ?2 GROUP BY p.path",
                [i64::from(from), i64::from(to), site],
            )
        })
    }

    fn page_rows(&self, site: SiteId) -> StoreFuture<'_, Vec<PageRow>> {
        Self::with(&self.reader, move |conn| site::page_rows(conn, site))
    }

    fn period_counts(&self, from: DayNumber, to: DayNumber) -> StoreFuture<'_, Vec<(PathId, u64)>> {
        Self::with(&self.reader, move |conn| site::period_counts(conn, from, to))
    }

    fn days_token(&self, site: SiteId, from: DayNumber, to: DayNumber) -> StoreFuture<'_, DaysToken> {
        Self::with(&self.reader, move |conn| site::days_token(conn, site, from, to))
    }

    fn site_daily(&self, site: SiteId, from: DayNumber, to: DayNumber) -> StoreFuture<'_, Vec<(DayNumber, u64)>> {
        Self::with(&self.reader, move |conn| site::site_daily(conn, site, from, to))
    }

    fn summary(&self, path: PathId) -> StoreFuture<'_, Summary> {
        Self::with(&self.reader, move |conn| {
            let (total, first, last) = conn
                .prepare_cached("SELECT total + start_count, first_call, last_call FROM paths WHERE id = ?1")?
                .query_row([path], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, Option<i64>>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                    ))
                })?;
            let time = |stored: Option<i64>, what| {
                stored
                    .map(|micros| time_from_micros(micros, &format!("paths.{what} of path {path}")))
                    .transpose()
            };
            Ok(Summary {
                total: count_from_db(total),
                first: time(first, "first_call")?,
                last: time(last, "last_call")?,
            })
        })
    }

    fn first_and_last(
        &self,
        path: PathId,
        from: Timestamp,
        until: Timestamp,
    ) -> StoreFuture<'_, Option<(Timestamp, Timestamp)>> {
        Self::with(&self.reader, move |conn| {
            history::first_and_last(conn, path, from, until)
        })
    }

    fn daily(&self, path: PathId) -> StoreFuture<'_, Vec<(DayNumber, u64)>> {
        Self::with(&self.reader, move |conn| {
            let mut statement =
                conn.prepare_cached("SELECT day, count FROM daily_counts WHERE path_id = ?1 ORDER BY day")?;
            let rows = statement.query_map([path], |r| Ok((r.get(0)?, count_from_db(r.get(1)?))))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
    }

    fn calls(&self, path: PathId, after: Timestamp, until: Timestamp, limit: usize) -> StoreFuture<'_, Vec<Timestamp>> {
        Self::with(&self.reader, move |conn| {
            history::calls(conn, path, after, until, limit)
        })
    }

    fn slots(&self, path: PathId, from: Timestamp, until: Timestamp) -> StoreFuture<'_, Vec<SlotCount>> {
        Self::with(&self.reader, move |conn| history::slots(conn, path, from, until))
    }

    fn tallies_between(&self, site: SiteId, from: DayNumber, to: DayNumber) -> StoreFuture<'_, Vec<PageTallies>> {
        Self::with(&self.reader, move |conn| tallies::between(conn, site, from, to))
    }

    fn path_tallies(&self, path: PathId, from: DayNumber, to: DayNumber) -> StoreFuture<'_, Tallies> {
        Self::with(&self.reader, move |conn| tallies::of_path(conn, path, from, to))
    }

    fn badge_figures(&self, path: PathId, today: DayNumber) -> StoreFuture<'_, BadgeFigures> {
        Self::with(&self.reader, move |conn| tallies::badge(conn, path, today))
    }

    fn rebuild_daily(&self, site: SiteId, zone: Zone) -> StoreFuture<'_, u64> {
        Box::pin(within(
            REBUILD_DEADLINE,
            Self::with(&self.writer, move |conn| {
                // IMMEDIATE holds every other writer back until the commit.
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let rows = tx
                    .prepare(SITE_SLOTS)?
                    .query_map([site], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                    .collect::<Result<Vec<_>, _>>()?;
                let slots = rows
                    .into_iter()
                    .map(|(path, index, calls)| slot(path, index, calls))
                    .collect::<Result<Vec<_>, _>>()?;
                let days = days_from_slots(slots, &zone);
                tx.execute(
                    "DELETE FROM daily_counts WHERE path_id IN (SELECT id FROM paths WHERE site_id = ?1)",
                    [site],
                )?;
                {
                    let mut insert =
                        tx.prepare("INSERT INTO daily_counts (path_id, day, count) VALUES (?1, ?2, ?3)")?;
                    for (path, day, count) in &days {
                        insert.execute(params![path, day, count])?;
                    }
                }
                site_days::recompute(&tx, site)?;
                tx.commit()?;
                Ok(days.len() as u64)
            }),
        ))
    }

    fn dimension_counts(
        &self,
        scope: Scope,
        kind: Kind,
        from: DayNumber,
        to: DayNumber,
    ) -> StoreFuture<'_, Vec<ValueCount>> {
        Self::with(&self.reader, move |conn| {
            dimensions::counts(conn, scope, kind, from, to)
        })
    }
}

/// Runs a `(path, count)` query and sorts the rows as the API promises.
fn path_counts(conn: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<Vec<PathCount>, StoreError> {
    let mut statement = conn.prepare_cached(sql)?;
    let rows = statement.query_map(params, |r| {
        Ok(PathCount {
            path: r.get(0)?,
            count: count_from_db(r.get(1)?),
        })
    })?;
    let mut counts = rows.collect::<Result<Vec<_>, _>>()?;
    sort_counts(&mut counts);
    Ok(counts)
}
