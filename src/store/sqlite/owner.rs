//! The owner's calls on SQLite (see `store::owner`): each change is one
//! IMMEDIATE transaction on the writer connection, so it waits for the
//! current batch of hits and holds the next one back until it commits.

use jiff::Timestamp;
use rusqlite::{params, OptionalExtension, Transaction, TransactionBehavior};

use super::super::owner::{day_tables, OwnerStore, PageMove, CHANGE_DEADLINE, DAY_SERIES};
use super::super::rules::time_from_micros;
use super::super::transfer::{ExportFilter, Imported, Items, Records};
use super::super::{within, PathId, SiteId, StoreError, StoreFuture};
use super::SqliteStore;
use crate::count::path::PagePath;

fn page_of(tx: &rusqlite::Connection, site: SiteId, path: &str) -> Result<Option<PathId>, StoreError> {
    Ok(tx
        .prepare_cached("SELECT id FROM paths WHERE site_id = ?1 AND path = ?2")?
        .query_row(params![site, path], |r| r.get(0))
        .optional()?)
}

/// Deletes every row keyed by page `id` outside `paths`.
fn delete_rows(tx: &Transaction<'_>, id: PathId) -> Result<u64, StoreError> {
    let mut rows = tx.execute("DELETE FROM call_times WHERE path_id = ?1", [id])?;
    for day in day_tables() {
        rows += tx.execute(&format!("DELETE FROM {} WHERE path_id = ?1", day.table), [id])?;
    }
    rows += super::dimensions::delete(tx, id)?;
    Ok(rows as u64)
}

/// Moves every row keyed by page `from` outside `paths` to `into`: per-day
/// counts add up, column by column, calls change hands.
fn move_rows(tx: &Transaction<'_>, from: PathId, into: PathId) -> Result<u64, StoreError> {
    let mut rows = 0;
    for day in day_tables() {
        let (table, columns) = (day.table, day.columns.join(", "));
        let add: Vec<String> = day
            .columns
            .iter()
            .map(|c| format!("{c} = {c} + excluded.{c}"))
            .collect();
        // `WHERE` before `ON CONFLICT`: SQLite needs it to parse an upsert from a SELECT.
        rows += tx.execute(
            &format!(
                "INSERT INTO {table} (path_id, day, {columns}) SELECT ?2, day, {columns} FROM {table} \
                 WHERE path_id = ?1 ON CONFLICT (path_id, day) DO UPDATE SET {}",
                add.join(", ")
            ),
            params![from, into],
        )?;
        tx.execute(&format!("DELETE FROM {table} WHERE path_id = ?1"), [from])?;
    }
    rows += super::dimensions::merge(tx, from, into)?;
    // A moved row takes the parts after `into`'s own in its slot. SQLite
    // computes the whole SELECT before inserting when it reads the table it
    // inserts into, so the subquery sees only `into`'s rows from before.
    rows += tx.execute(
        "INSERT INTO call_times (path_id, slot, part, calls, times) \
         SELECT ?2, c.slot, c.part + coalesce((SELECT max(part) + 1 FROM call_times \
         WHERE path_id = ?2 AND slot = c.slot), 0), c.calls, c.times FROM call_times c WHERE c.path_id = ?1",
        params![from, into],
    )?;
    tx.execute("DELETE FROM call_times WHERE path_id = ?1", [from])?;
    Ok(rows as u64)
}

/// The calls counted in `from`'s rows of the series that make up totals.
fn counted_in_rows(tx: &Transaction<'_>, from: PathId) -> Result<i64, StoreError> {
    let mut counted = 0;
    for series in DAY_SERIES.iter().filter(|s| s.in_total) {
        let sql = format!(
            "SELECT coalesce(sum({}), 0) FROM {} WHERE path_id = ?1",
            series.column, series.table
        );
        counted += tx.query_row(&sql, [from], |r| r.get::<_, i64>(0))?;
    }
    Ok(counted)
}

fn move_page(conn: &mut rusqlite::Connection, site: SiteId, from: &str, to: &str) -> Result<PageMove, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let Some(from_id) = page_of(&tx, site, from)? else {
        return Ok(PageMove::NoSuchPage);
    };
    let Some(into) = page_of(&tx, site, to)? else {
        tx.execute("UPDATE paths SET path = ?2 WHERE id = ?1", params![from_id, to])?;
        tx.commit()?;
        return Ok(PageMove::Renamed { id: from_id });
    };
    move_rows(&tx, from_id, into)?;
    // The site's days stay; its pages' counts of them moved.
    super::site_days::changed(&tx, into)?;
    tx.execute(
        "UPDATE paths SET total = paths.total + f.total, start_count = paths.start_count + f.start_count, \
         first_call = min(coalesce(paths.first_call, f.first_call), coalesce(f.first_call, paths.first_call)), \
         last_call = max(coalesce(paths.last_call, f.last_call), coalesce(f.last_call, paths.last_call)) \
         FROM (SELECT total, start_count, first_call, last_call FROM paths WHERE id = ?1) AS f WHERE paths.id = ?2",
        params![from_id, into],
    )?;
    tx.execute("DELETE FROM paths WHERE id = ?1", [from_id])?;
    tx.commit()?;
    Ok(PageMove::Merged { from: from_id, into })
}

fn sweep(conn: &mut rusqlite::Connection, removed: PathId, into: Option<PathId>) -> Result<u64, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let rows = match into {
        None => delete_rows(&tx, removed)?,
        Some(into) => {
            let counted = counted_in_rows(&tx, removed)?;
            let (first, last) = super::history::span_of(&tx, removed)?;
            tx.execute(
                "UPDATE paths SET total = total + ?2, \
                 first_call = min(coalesce(first_call, ?3), coalesce(?3, first_call)), \
                 last_call = max(coalesce(last_call, ?4), coalesce(?4, last_call)) WHERE id = ?1",
                params![into, counted, first, last],
            )?;
            // Late rows belong to no site until they land in `into`'s.
            super::site_days::changed(&tx, into)?;
            super::site_days::move_in(&tx, removed, into)?;
            super::site_dimensions::move_in(&tx, removed, into)?;
            move_rows(&tx, removed, into)?
        }
    };
    tx.commit()?;
    Ok(rows)
}

impl OwnerStore for SqliteStore {
    fn page_id<'a>(&'a self, site: SiteId, path: &'a PagePath) -> StoreFuture<'a, Option<PathId>> {
        let path = path.as_str().to_owned();
        Self::with(&self.reader, move |conn| page_of(conn, site, &path))
    }

    fn delete_page<'a>(&'a self, site: SiteId, path: &'a PagePath) -> StoreFuture<'a, Option<PathId>> {
        let path = path.as_str().to_owned();
        Box::pin(within(
            CHANGE_DEADLINE,
            Self::with(&self.writer, move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let Some(id) = page_of(&tx, site, &path)? else {
                    return Ok(None);
                };
                super::site_days::changed(&tx, id)?;
                super::site_days::forget_page(&tx, id)?;
                super::site_dimensions::forget_page(&tx, id)?;
                delete_rows(&tx, id)?;
                tx.execute("DELETE FROM paths WHERE id = ?1", [id])?;
                tx.commit()?;
                Ok(Some(id))
            }),
        ))
    }

    fn move_page<'a>(&'a self, site: SiteId, from: &'a PagePath, to: &'a PagePath) -> StoreFuture<'a, PageMove> {
        let (from, to) = (from.as_str().to_owned(), to.as_str().to_owned());
        Box::pin(within(
            CHANGE_DEADLINE,
            Self::with(&self.writer, move |conn| move_page(conn, site, &from, &to)),
        ))
    }

    fn sweep_page(&self, removed: PathId, into: Option<PathId>) -> StoreFuture<'_, u64> {
        Box::pin(within(
            CHANGE_DEADLINE,
            Self::with(&self.writer, move |conn| sweep(conn, removed, into)),
        ))
    }

    fn set_start_count<'a>(&'a self, site: SiteId, path: &'a PagePath, count: u64) -> StoreFuture<'a, Option<PathId>> {
        let path = path.as_str().to_owned();
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        Box::pin(within(
            CHANGE_DEADLINE,
            Self::with(&self.writer, move |conn| {
                let sql = "UPDATE paths SET start_count = ?3 WHERE site_id = ?1 AND path = ?2 RETURNING id";
                Ok(conn
                    .prepare_cached(sql)?
                    .query_row(params![site, path, count], |r| r.get(0))
                    .optional()?)
            }),
        ))
    }

    fn export(&self, filter: ExportFilter, records: Records) -> StoreFuture<'_, ()> {
        self.export_now(filter, records)
    }

    fn import(&self, items: Items) -> StoreFuture<'_, Imported> {
        self.import_now(items)
    }

    fn prune_calls(&self, before: Timestamp, limit: u64) -> StoreFuture<'_, u64> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        Box::pin(within(
            CHANGE_DEADLINE,
            Self::with(&self.writer, move |conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let deleted = super::history::prune(&tx, before, limit)?;
                if deleted > 0 {
                    tx.execute(
                        "INSERT INTO calls_pruned (id, before) VALUES (1, ?1) \
                         ON CONFLICT (id) DO UPDATE SET before = max(before, excluded.before)",
                        [before.as_microsecond()],
                    )?;
                }
                tx.commit()?;
                Ok(deleted)
            }),
        ))
    }

    fn pruned_before(&self) -> StoreFuture<'_, Option<Timestamp>> {
        Self::with(&self.reader, |conn| {
            let before: Option<i64> = conn
                .query_row("SELECT before FROM calls_pruned WHERE id = 1", [], |r| r.get(0))
                .optional()?;
            before.map(|b| time_from_micros(b, "calls_pruned.before")).transpose()
        })
    }
}
