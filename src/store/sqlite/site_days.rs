//! Keeps `site_days` (each site's counted calls per day: the sum of its
//! pages' `daily_counts`) equal to what it sums, explicitly, in the
//! transaction of every writer of `daily_counts`, as on PostgreSQL (see
//! `store::postgres::site_days`): a batch, removing a page, sweeping a
//! removed page's late rows into another, imports and rebuild-daily.
//! Merging pages of a site leaves its days alone.
//!
//! Rows of a page without a `paths` row (late hits of a removed page, until
//! swept) belong to no site: each statement finds the site through `paths`.
//! SQLite has one writer at a time, so there is no lock order to keep.
//! The owner's changes also add one to their sites' `days_changed` (see
//! `DaysToken`). Holds SQL only; the callers own the transactions.

use rusqlite::{params, Connection};

use super::super::{PathId, SiteId, StoreError};
use crate::zone::DayNumber;

/// Adds (page, day, calls) to the page's site. `WHERE` before `ON
/// CONFLICT`: SQLite needs it to parse an upsert from a SELECT.
const ADD: &str = "INSERT INTO site_days (site_id, day, count) SELECT site_id, ?2, ?3 FROM paths WHERE id = ?1 \
     ON CONFLICT (site_id, day) DO UPDATE SET count = count + excluded.count";

/// Adds page `?1`'s per-day counts, times `?3`, to the site of page `?2`.
const ADD_PAGE: &str = "INSERT INTO site_days (site_id, day, count) \
     SELECT p.site_id, d.day, d.count * ?3 FROM daily_counts d JOIN paths p ON p.id = ?2 WHERE d.path_id = ?1 \
     ON CONFLICT (site_id, day) DO UPDATE SET count = count + excluded.count";

const RECOMPUTE: &str = "INSERT INTO site_days (site_id, day, count) \
     SELECT ?1, d.day, sum(d.count) FROM daily_counts d JOIN paths p ON p.id = d.path_id \
     WHERE p.site_id = ?1 GROUP BY d.day";

/// Adds (page, day, calls) rows to their pages' sites.
pub(super) fn add<'a>(
    tx: &Connection,
    rows: impl IntoIterator<Item = &'a (PathId, DayNumber, i64)>,
) -> Result<(), StoreError> {
    let mut add = tx.prepare_cached(ADD)?;
    for (path, day, count) in rows {
        add.execute(params![path, day, count])?;
    }
    Ok(())
}

/// Takes page `id`'s per-day counts away from its site: before they are
/// deleted, while `paths` still names the site.
pub(super) fn forget_page(tx: &Connection, id: PathId) -> Result<(), StoreError> {
    tx.execute(ADD_PAGE, params![id, id, -1])?;
    Ok(())
}

/// Adds the late rows of removed page `from` to the site of `into`: before
/// they move there.
pub(super) fn move_in(tx: &Connection, from: PathId, into: PathId) -> Result<(), StoreError> {
    tx.execute(ADD_PAGE, params![from, into, 1])?;
    Ok(())
}

/// Recomputes a site's days from its per-day counts (and marks them changed).
pub(super) fn recompute(tx: &Connection, site: SiteId) -> Result<(), StoreError> {
    tx.execute("UPDATE sites SET days_changed = days_changed + 1 WHERE id = ?1", [site])?;
    tx.execute("DELETE FROM site_days WHERE site_id = ?1", [site])?;
    tx.execute(RECOMPUTE, [site])?;
    Ok(())
}

/// Marks the per-page per-day counts of the site of page `id` changed (the
/// page must still have its `paths` row).
pub(super) fn changed(tx: &Connection, id: PathId) -> Result<(), StoreError> {
    tx.prepare_cached(
        "UPDATE sites SET days_changed = days_changed + 1 WHERE id = (SELECT site_id FROM paths WHERE id = ?1)",
    )?
    .execute([id])?;
    Ok(())
}
