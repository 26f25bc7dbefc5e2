//! The SQLite store's writes: migrations, a batch of hits (with its id and
//! tallies) in one IMMEDIATE transaction, the WAL reclaimed after a write
//! that failed for lack of space, and renaming a site. Runs on the blocking
//! pool, called by `SqliteStore`; holds no connection of its own.

use rusqlite::{params, Connection, ErrorCode, OptionalExtension, TransactionBehavior};

use super::super::packed::{pack_hits, OpenRows};
use super::super::rules::{count_from_db, sum_batch};
use super::super::{migrations, Committed, DayTallies, DimensionCount, RenameOutcome, SiteId, StoreError};
use super::wal::reclaim_wal;

pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    // IMMEDIATE takes the write lock first, so two processes migrate one after the other.
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT",
    )?;
    let newest: i64 = tx.query_row("SELECT coalesce(max(version), 0) FROM schema_migrations", [], |r| {
        r.get(0)
    })?;
    for migration in migrations::plan(newest, migrations::SQLITE)? {
        tx.execute_batch(migration.sql)?;
        tx.execute(
            concat!(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ",
                now_micros!(),
                ")"
            ),
            [migration.version],
        )?;
    }
    tx.commit()?;
    Ok(())
}

/// Commits a batch; on a full disk or an I/O error, frees what the WAL
/// holds and keeps it small from then on, so that the next attempt can
/// succeed.
pub(super) fn record(conn: &mut Connection, batch: &OwnedBatch, open_rows: &OpenRows) -> Result<Committed, StoreError> {
    let result = write_batch(conn, batch, open_rows);
    if let Err(StoreError::Sqlite(error)) = &result {
        if matches!(error.code(), Some(ErrorCode::DiskFull | ErrorCode::SystemIoFailure)) {
            reclaim_wal(conn);
        }
    }
    result
}

fn write_batch(conn: &mut Connection, batch: &OwnedBatch, open_rows: &OpenRows) -> Result<Committed, StoreError> {
    let sums = sum_batch(&batch.hits);
    let runs = pack_hits(&batch.hits);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    match tx.execute("INSERT INTO recorded_batches (id) VALUES (?1)", [batch.id]) {
        // The id is taken: an earlier attempt of this batch committed.
        Err(e)
            if e.sqlite_error()
                .is_some_and(|e| e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY) =>
        {
            return Ok(Committed::Earlier)
        }
        other => other?,
    };
    let appended = super::history::append_runs(&tx, &runs, open_rows)?;
    {
        let mut settle = tx.prepare_cached("DELETE FROM recorded_batches WHERE id = ?1")?;
        for id in &batch.settled {
            settle.execute([id])?;
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
    super::events::add_milestones(&tx, &sums.per_path, &batch.milestones)?;
    super::tallies::add(&tx, &batch.tallies)?;
    super::links::add(&tx, &batch.clicks)?;
    super::dimensions::add(&tx, &batch.dimensions, batch.max_values)?;
    super::site_days::add(&tx, &sums.per_day)?;
    tx.commit()?;
    open_rows.remember(appended);
    Ok(Committed::Now)
}

/// A [`Batch`] the blocking pool can own.
pub(super) struct OwnedBatch {
    pub(super) id: i64,
    pub(super) hits: Vec<super::super::Hit>,
    pub(super) tallies: Vec<DayTallies>,
    pub(super) dimensions: Vec<DimensionCount>,
    pub(super) max_values: u32,
    pub(super) settled: Vec<i64>,
    pub(super) clicks: Vec<super::super::Click>,
    pub(super) milestones: Vec<i64>,
}

/// Renames a site in one IMMEDIATE transaction (see [`Store::rename_site`]).
pub(super) fn rename_site(conn: &mut Connection, from: &str, to: &str) -> Result<RenameOutcome, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let site_of = |slug: &str| -> Result<Option<(SiteId, u64)>, StoreError> {
        Ok(tx
            .query_row(
                "SELECT s.id, (SELECT count(*) FROM paths p WHERE p.site_id = s.id) FROM sites s WHERE s.slug = ?1",
                [slug],
                |r| Ok((r.get(0)?, r.get::<_, i64>(1)?)),
            )
            .optional()?
            .map(|(id, pages)| (id, count_from_db(pages))))
    };
    let Some((from_id, pages)) = site_of(from)? else {
        return Ok(RenameOutcome::NoSuchSite);
    };
    if let Some((to_id, to_pages)) = site_of(to)? {
        if to_pages > 0 {
            return Ok(RenameOutcome::TargetHasPages { pages: to_pages });
        }
        tx.execute("DELETE FROM sites WHERE id = ?1", [to_id])?;
    }
    tx.execute("UPDATE sites SET slug = ?2 WHERE id = ?1", params![from_id, to])?;
    tx.commit()?;
    Ok(RenameOutcome::Renamed { pages })
}
