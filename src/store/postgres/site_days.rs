//! Keeps `site_days` (each site's counted calls per day: the sum of its
//! pages' `day_counts`, see `open_days`) equal to what it sums, explicitly,
//! in the transaction of every writer of per-day counts: a batch (what it counted,
//! so only the claimed hits under shared dedup), removing a page, sweeping
//! a removed page's late rows into another, imports (OxiTraffic adoption is
//! one) and rebuild-daily. Merging pages of a site moves counts between
//! its pages and leaves its days alone; retention never touches days.
//!
//! Rows of a page without a `paths` row (late hits of a removed page, until
//! swept) belong to no site and are not in `site_days`: a batch takes each
//! page's site from the `paths` row it updated (`ADD_BATCH`).
//!
//! Lock order: `site_days` rows are the last rows a transaction locks, after
//! every other kind (digests, pages by id, tallies, links, dimension rows,
//! the site's dimension rows, call history, per-day counts by (page, day)),
//! and each statement locks them in (site, day) order. A
//! transaction holding `site_days` rows then waits for nothing but its
//! commit, so two replicas, or a replica and an owner's change, cannot wait
//! on each other in a cycle through them. The owner's changes read what
//! they move first and write `site_days` at their end for that reason.
//! The owner's changes also add one to their sites' `days_changed` (see
//! `DaysToken`), just before `site_days`: batches never lock `sites` rows.
//! Holds SQL and its parameters only; the callers own the transactions.

use deadpool_postgres::Transaction;

use super::super::{PathId, SiteId, StoreError};
use crate::zone::DayNumber;

/// A batch's part of `batch::WRITE_HITS` that adds its per-day counts to
/// its pages' sites, after `daily` and, like [`ADD`], grouped by (site,
/// day) and in that order. Each page's latest day takes its site from the
/// row `updated` wrote. A page's row as the statement's snapshot shows it
/// may be gone: a page removed while the batch waited for it is still
/// there, and its late hits would count in its site's days. The pages'
/// earlier days (`$14`..`$16`, a batch across midnight) look their pages
/// up, which is right when `updated` took every page of the batch (a
/// page's site never changes); only when it did not is each checked
/// against `updated` (measured: joining `updated` itself is a nested loop,
/// 0.7 s for 2,048 pages across midnight, the lookup 0.02 s).
pub(super) const ADD_BATCH: &str = "INSERT INTO site_days (site_id, day, count) \
     SELECT x.site, DATE '1970-01-01' + x.d, sum(x.n)::bigint FROM ( \
     SELECT site_id, d, dn FROM updated \
     UNION ALL SELECT p.site_id, t.d, t.n FROM unnest($14::bigint[], $15::int[], $16::bigint[]) AS t(id, d, n) \
     JOIN paths p ON p.id = t.id WHERE (SELECT count(*) FROM updated) = cardinality($9::bigint[]) \
     OR t.id IN (SELECT id FROM updated)) AS x(site, d, n) \
     WHERE (SELECT count(*) FROM daily) >= 0 GROUP BY 1, 2 ORDER BY 1, 2 \
     ON CONFLICT (site_id, day) DO UPDATE SET count = site_days.count + excluded.count";

/// Adds `($1[i], $2[i], $3[i])` = (page, day, calls) to the pages' sites,
/// grouped by (site, day) and in that order: one row lock per (site, day)
/// however many pages it names. The owner's changes and imports run it.
const ADD: &str = "INSERT INTO site_days (site_id, day, count) \
     SELECT p.site_id, DATE '1970-01-01' + t.d, sum(t.n)::bigint \
     FROM unnest($1::bigint[], $2::int[], $3::bigint[]) AS t(id, d, n) JOIN paths p ON p.id = t.id \
     GROUP BY 1, 2 ORDER BY 1, 2 \
     ON CONFLICT (site_id, day) DO UPDATE SET count = site_days.count + excluded.count";

/// A page's per-day counts, as (days, counts).
const PAGE_DAYS: &str = "SELECT day - DATE '1970-01-01', count FROM day_counts WHERE path_id = $1 ORDER BY day";

/// A site's days again from its per-day counts, after rebuild-daily wrote
/// them: `FORGET_SITE`, then `RECOMPUTE`.
const FORGET_SITE: &str = "DELETE FROM site_days WHERE site_id = $1";
const RECOMPUTE: &str = "INSERT INTO site_days (site_id, day, count) \
     SELECT $1, d.day, sum(d.count)::bigint FROM day_counts d JOIN paths p ON p.id = d.path_id \
     WHERE p.site_id = $1 GROUP BY d.day ORDER BY d.day";

/// One page's per-day counts, read before a change moves or deletes them.
#[derive(Debug, Default)]
pub(super) struct PageDays {
    days: Vec<DayNumber>,
    counts: Vec<i64>,
}

/// Reads page `id`'s per-day counts. The caller holds its `paths` row, so a
/// batch adding to them committed before (and is read here) or counts
/// after, as late rows of no site.
pub(super) async fn page_days(tx: &Transaction<'_>, id: PathId) -> Result<PageDays, StoreError> {
    let mut days = PageDays::default();
    for row in tx.query(PAGE_DAYS, &[&id]).await? {
        days.days.push(row.try_get(0)?);
        days.counts.push(row.try_get(1)?);
    }
    Ok(days)
}

/// Adds `days` to the site of page `to` (`sign` -1 takes them away); `to`
/// must still have its `paths` row.
pub(super) async fn add_page_days(
    tx: &Transaction<'_>,
    to: PathId,
    days: &PageDays,
    sign: i64,
) -> Result<(), StoreError> {
    if days.days.is_empty() {
        return Ok(());
    }
    let ids = vec![to; days.days.len()];
    let counts: Vec<i64> = days.counts.iter().map(|n| n.saturating_mul(sign)).collect();
    add(tx, &ids, &days.days, &counts).await
}

/// Adds (page, day, calls) rows to their pages' sites.
pub(super) async fn add(
    tx: &Transaction<'_>,
    paths: &[PathId],
    days: &[DayNumber],
    counts: &[i64],
) -> Result<(), StoreError> {
    if !paths.is_empty() {
        tx.execute(ADD, &[&paths, &days, &counts]).await?;
    }
    Ok(())
}

/// Recomputes a site's days from its per-day counts.
pub(super) async fn recompute(tx: &Transaction<'_>, site: SiteId) -> Result<(), StoreError> {
    tx.execute(FORGET_SITE, &[&site]).await?;
    tx.execute(RECOMPUTE, &[&site]).await?;
    Ok(())
}

/// Adds one to the `days_changed` of the sites of pages `ids`.
const CHANGED: &str = "UPDATE sites SET days_changed = days_changed + 1 \
     WHERE id IN (SELECT site_id FROM paths WHERE id = ANY($1::bigint[]))";

/// Marks the per-page per-day counts of the sites of pages `ids` changed
/// (the pages must still have their `paths` rows).
pub(super) async fn changed(tx: &Transaction<'_>, ids: &[PathId]) -> Result<(), StoreError> {
    if !ids.is_empty() {
        tx.execute(CHANGED, &[&ids]).await?;
    }
    Ok(())
}
