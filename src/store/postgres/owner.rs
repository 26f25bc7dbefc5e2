//! The owner's calls on PostgreSQL (see `store::owner`): each change is one
//! transaction that locks the pages it touches (`FOR UPDATE`) before any
//! of their rows, two pages in id order, as a batch locks them
//! (`batch::LOCK_PATHS`): a batch of hits for them waits for the change,
//! or the change for the batch, rather than interleaving or deadlocking.

use std::sync::LazyLock;
use std::time::SystemTime;

use deadpool_postgres::Transaction;
use jiff::Timestamp;

use super::super::owner::{day_tables, OwnerStore, PageMove, CHANGE_DEADLINE, DAY_SERIES};
use super::super::rules::{count_from_db, time_from_system};
use super::super::transfer::{ExportFilter, Imported, Items, Records};
use super::super::{within, PathId, SiteId, StoreError, StoreFuture};
use super::{history, open_days, open_runs, set_local_statement_timeout, site_days, site_dimensions, PostgresStore};
use crate::count::path::PagePath;

/// Moves page `$1`'s call-history rows to page `$2`: a moved row takes the
/// parts after `$2`'s own in its slot (the subquery sees `$2`'s rows as
/// they were before this statement).
static MOVE_HISTORY: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH moved AS (DELETE FROM call_times WHERE path_id = $1 RETURNING slot, part, calls, times) \
         INSERT INTO call_times (path_id, slot, part, calls, times) \
         SELECT $2, m.slot, m.part + {}, m.calls, m.times FROM moved m",
        history::next_part("$2", "m.slot")
    )
});
const PAGE_OF: &str = "SELECT id FROM paths WHERE site_id = $1 AND path = $2 FOR UPDATE";

async fn page_of(tx: &Transaction<'_>, site: SiteId, path: &str) -> Result<Option<PathId>, StoreError> {
    Ok(tx
        .query_opt(PAGE_OF, &[&site, &path])
        .await?
        .map(|r| r.try_get(0))
        .transpose()?)
}

/// Pages `from` and `to` of `site` (each when it exists), locked in id order
/// as batches lock pages (see `batch::LOCK_PATHS`), whichever way the move
/// goes.
async fn pages_of(
    tx: &Transaction<'_>,
    site: SiteId,
    from: &str,
    to: &str,
) -> Result<(Option<PathId>, Option<PathId>), StoreError> {
    let rows = tx
        .query(
            "SELECT id, path FROM paths WHERE site_id = $1 AND path IN ($2, $3) ORDER BY id FOR UPDATE",
            &[&site, &from, &to],
        )
        .await?;
    let (mut from_id, mut to_id) = (None, None);
    for row in rows {
        let (id, path): (PathId, String) = (row.try_get(0)?, row.try_get(1)?);
        if path == from {
            from_id = Some(id);
        }
        if path == to {
            to_id = Some(id);
        }
    }
    Ok((from_id, to_id))
}

/// Deletes every row keyed by page `id` outside `paths`.
async fn delete_rows(tx: &Transaction<'_>, id: PathId) -> Result<u64, StoreError> {
    let mut rows = tx.execute("DELETE FROM call_times WHERE path_id = $1", &[&id]).await?;
    for day in day_tables() {
        let sql = format!("DELETE FROM {} WHERE path_id = $1", day.table);
        rows += tx.execute(&sql, &[&id]).await?;
    }
    rows += super::dimensions::delete(tx, id).await?;
    Ok(rows)
}

/// Moves every row keyed by page `from` outside `paths` to `into`: per-day
/// counts add up, column by column, calls change hands.
async fn move_rows(tx: &Transaction<'_>, from: PathId, into: PathId) -> Result<u64, StoreError> {
    let mut rows = 0;
    for day in day_tables() {
        let (table, columns) = (day.table, day.columns.join(", "));
        let add: Vec<String> = day
            .columns
            .iter()
            .map(|c| format!("{c} = {table}.{c} + excluded.{c}"))
            .collect();
        let sql = format!(
            "WITH moved AS (DELETE FROM {table} WHERE path_id = $1 RETURNING day, {columns}) \
             INSERT INTO {table} (path_id, day, {columns}) SELECT $2, day, {columns} FROM moved \
             ON CONFLICT (path_id, day) DO UPDATE SET {}",
            add.join(", ")
        );
        rows += tx.execute(&sql, &[&from, &into]).await?;
    }
    rows += super::dimensions::merge(tx, from, into).await?;
    rows += tx.execute(MOVE_HISTORY.as_str(), &[&from, &into]).await?;
    Ok(rows)
}

impl PostgresStore {
    async fn change<T>(
        &self,
        work: impl for<'t> FnOnce(&'t Transaction<'t>) -> super::super::StoreFuture<'t, T>,
    ) -> Result<T, StoreError> {
        let mut client = self.connections.checkout().await?;
        let tx = client.transaction().await?;
        set_local_statement_timeout(&tx, CHANGE_DEADLINE).await?;
        let value = work(&tx).await?;
        tx.commit().await?;
        client.release();
        Ok(value)
    }
}

impl OwnerStore for PostgresStore {
    fn page_id<'a>(&'a self, site: SiteId, path: &'a PagePath) -> StoreFuture<'a, Option<PathId>> {
        Box::pin(async move {
            let rows = self
                .query(
                    "SELECT id FROM paths WHERE site_id = $1 AND path = $2",
                    &[&site, &path.as_str()],
                )
                .await?;
            Ok(rows.first().map(|r| r.try_get(0)).transpose()?)
        })
    }

    fn delete_page<'a>(&'a self, site: SiteId, path: &'a PagePath) -> StoreFuture<'a, Option<PathId>> {
        let path = path.as_str().to_owned();
        Box::pin(within(
            CHANGE_DEADLINE,
            self.change(move |tx| {
                Box::pin(async move {
                    let Some(id) = page_of(tx, site, &path).await? else {
                        return Ok(None);
                    };
                    // Read before, taken from the site's dimensions and
                    // days after the rows go (site rows last), while
                    // `paths` still names the page's site.
                    let days = site_days::page_days(tx, id).await?;
                    let dimensions = site_dimensions::page_rows(tx, id).await?;
                    delete_rows(tx, id).await?;
                    site_dimensions::add_page_rows(tx, id, &dimensions, -1).await?;
                    site_days::changed(tx, &[id]).await?;
                    site_days::add_page_days(tx, id, &days, -1).await?;
                    tx.execute("DELETE FROM paths WHERE id = $1", &[&id]).await?;
                    Ok(Some(id))
                })
            }),
        ))
    }

    fn move_page<'a>(&'a self, site: SiteId, from: &'a PagePath, to: &'a PagePath) -> StoreFuture<'a, PageMove> {
        let (from, to) = (from.as_str().to_owned(), to.as_str().to_owned());
        Box::pin(within(
            CHANGE_DEADLINE,
            self.change(move |tx| {
                Box::pin(async move {
                    let (from_id, into) = pages_of(tx, site, &from, &to).await?;
                    let Some(from_id) = from_id else {
                        return Ok(PageMove::NoSuchPage);
                    };
                    let Some(into) = into else {
                        tx.execute("UPDATE paths SET path = $2 WHERE id = $1", &[&from_id, &to])
                            .await?;
                        return Ok(PageMove::Renamed { id: from_id });
                    };
                    open_days::fold(tx, &[from_id, into]).await?;
                    open_runs::close(tx, &[from_id]).await?;
                    move_rows(tx, from_id, into).await?;
                    open_days::seal(tx, &[into]).await?;
                    tx.execute(
                        "UPDATE paths SET total = paths.total + f.total, start_count = paths.start_count + f.start_count, \
                         first_call = LEAST(paths.first_call, f.first_call), last_call = GREATEST(paths.last_call, f.last_call) \
                         FROM (SELECT total, start_count, first_call, last_call FROM paths WHERE id = $1) AS f \
                         WHERE paths.id = $2",
                        &[&from_id, &into],
                    )
                    .await?;
                    tx.execute("DELETE FROM paths WHERE id = $1", &[&from_id]).await?;
                    // The site's days stay; its pages' counts of them moved.
                    site_days::changed(tx, &[into]).await?;
                    Ok(PageMove::Merged { from: from_id, into })
                })
            }),
        ))
    }

    fn sweep_page(&self, removed: PathId, into: Option<PathId>) -> StoreFuture<'_, u64> {
        Box::pin(within(
            CHANGE_DEADLINE,
            self.change(move |tx| {
                Box::pin(async move {
                    let Some(into) = into else {
                        return delete_rows(tx, removed).await;
                    };
                    let mut counted = 0;
                    for series in DAY_SERIES.iter().filter(|s| s.in_total) {
                        let sql = format!(
                            "SELECT coalesce(sum({}), 0)::bigint FROM {} WHERE path_id = $1",
                            series.column,
                            open_days::source(series)
                        );
                        counted += count_from_db(tx.query_one(&sql, &[&removed]).await?.try_get(0)?);
                    }
                    let counted = i64::try_from(counted).unwrap_or(i64::MAX);
                    let (first, last) = history::span_of(tx, removed).await?;
                    tx.execute(
                        "UPDATE paths SET total = paths.total + $2, \
                         first_call = LEAST(paths.first_call, $3), last_call = GREATEST(paths.last_call, $4) \
                         WHERE paths.id = $1",
                        &[&into, &counted, &first, &last],
                    )
                    .await?;
                    // Late rows belong to no site until they land in `into`'s.
                    let days = site_days::page_days(tx, removed).await?;
                    let dimensions = site_dimensions::page_rows(tx, removed).await?;
                    open_days::fold(tx, &[into]).await?;
                    let rows = move_rows(tx, removed, into).await?;
                    open_days::seal(tx, &[into]).await?;
                    site_dimensions::add_page_rows(tx, into, &dimensions, 1).await?;
                    site_days::changed(tx, &[into]).await?;
                    site_days::add_page_days(tx, into, &days, 1).await?;
                    Ok(rows)
                })
            }),
        ))
    }

    fn set_start_count<'a>(&'a self, site: SiteId, path: &'a PagePath, count: u64) -> StoreFuture<'a, Option<PathId>> {
        let count = i64::try_from(count).unwrap_or(i64::MAX);
        Box::pin(within(CHANGE_DEADLINE, async move {
            let rows = self
                .query(
                    "UPDATE paths SET start_count = $3 WHERE site_id = $1 AND path = $2 RETURNING id",
                    &[&site, &path.as_str(), &count],
                )
                .await?;
            Ok(rows.first().map(|r| r.try_get(0)).transpose()?)
        }))
    }

    fn export(&self, filter: ExportFilter, records: Records) -> StoreFuture<'_, ()> {
        self.export_within(filter, records)
    }

    fn import(&self, items: Items) -> StoreFuture<'_, Imported> {
        self.import_within(items)
    }

    fn prune_calls(&self, before: Timestamp, limit: u64) -> StoreFuture<'_, u64> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        Box::pin(within(
            CHANGE_DEADLINE,
            self.change(move |tx| {
                Box::pin(async move {
                    let deleted = history::prune(tx, before, limit).await?;
                    if deleted > 0 {
                        tx.execute(
                            "INSERT INTO calls_pruned (id, before) VALUES (1, $1) \
                             ON CONFLICT (id) DO UPDATE SET before = GREATEST(calls_pruned.before, excluded.before)",
                            &[&SystemTime::from(before)],
                        )
                        .await?;
                    }
                    Ok(deleted)
                })
            }),
        ))
    }

    fn pruned_before(&self) -> StoreFuture<'_, Option<Timestamp>> {
        Box::pin(async move {
            let rows = self.query("SELECT before FROM calls_pruned WHERE id = 1", &[]).await?;
            rows.first()
                .map(|r| time_from_system(r.try_get(0)?, "calls_pruned.before"))
                .transpose()
        })
    }
}
