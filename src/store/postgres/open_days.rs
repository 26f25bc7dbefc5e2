//! Each page's open day: its latest day's count, kept in its `paths` row
//! next to the total the batch's update writes anyway, so a hit on a page's
//! current day writes two rows (page, call history), not three. Older days
//! are in `daily_counts`; readers see both through the view `day_counts`.
//!
//! The rule that keeps them apart: `daily_counts` never holds a page's open
//! day, and holds every day up to the page's `closed_through`. A batch
//! keeps it ([`ROLL`]): its hits on the open day add to the row; hits on a
//! later day (after `closed_through` too) open that day and move the
//! closed one into `daily_counts`; hits on an earlier day go to
//! `daily_counts`. Every other writer of `daily_counts` (the owner's
//! changes, imports, rebuild-daily) holds the page's `paths` row, calls
//! [`fold`] before its work (the open count moves into `daily_counts`, so
//! the change sees every day there) and [`seal`] after it (`closed_through`
//! moves up to the page's latest day in `daily_counts`, so no later batch
//! opens a day that is already there). A page without an open day has
//! `open_day` `-infinity`, so the index on `open_day` finds open days only.
//! Holds SQL and its parameters only; the callers own the transactions.

use std::sync::LazyLock;

use deadpool_postgres::Transaction;

use super::super::owner::DaySeries;
use super::super::{PathId, SiteId, StoreError};

/// Whether a batch's latest day of a page (`t.d`) opens in its row.
const OPENS: &str = "(DATE '1970-01-01' + t.d > paths.open_day AND DATE '1970-01-01' + t.d > paths.closed_through)";

/// The batch update's `SET` items for the open day: `t.d` is the batch's
/// latest day of the page (a day number), `t.dn` its calls that day. The
/// `rolled_*` columns say what this update moved out of the row, and hold
/// nothing once its `RETURNING` is read. `SET` reads the row as it was.
pub(super) static ROLL: LazyLock<String> = LazyLock::new(|| {
    format!(
        "open_day = CASE WHEN {OPENS} THEN DATE '1970-01-01' + t.d ELSE paths.open_day END, \
         open_count = CASE WHEN {OPENS} THEN t.dn \
         WHEN DATE '1970-01-01' + t.d = paths.open_day THEN paths.open_count + t.dn ELSE paths.open_count END, \
         rolled_day = CASE WHEN {OPENS} AND paths.open_count > 0 THEN paths.open_day END, \
         rolled_count = CASE WHEN {OPENS} AND paths.open_count > 0 THEN paths.open_count END"
    )
});

/// In the batch update's `RETURNING` (the row as written): whether the
/// page's row took the batch's calls of day `t.d`. When not, they go to
/// `daily_counts`.
pub(super) const KEPT: &str = "(paths.open_day = DATE '1970-01-01' + t.d)";

/// Moves the open days of pages `$1` into `daily_counts`, where the change
/// that follows sees every day of them. The day stays closed: its next
/// hits go to `daily_counts` too.
const FOLD: &str = "WITH open AS (SELECT id, open_day, open_count FROM paths \
     WHERE id = ANY($1::bigint[]) AND open_count > 0 ORDER BY id), \
     folded AS (INSERT INTO daily_counts AS c (path_id, day, count) SELECT id, open_day, open_count FROM open \
     ORDER BY id ON CONFLICT (path_id, day) DO UPDATE SET count = c.count + excluded.count) \
     UPDATE paths SET open_day = '-infinity', open_count = 0, \
     closed_through = GREATEST(paths.closed_through, open.open_day) FROM open WHERE paths.id = open.id";

/// Seals pages: no open day, and every day up to the page's latest in
/// `daily_counts` closed, so a batch opens only days after every day there.
const SEAL: &str = "UPDATE paths SET open_day = '-infinity', open_count = 0, closed_through = \
     GREATEST(paths.closed_through, (SELECT max(day) FROM daily_counts d WHERE d.path_id = paths.id))";

/// Before a change to the per-day counts of pages `ids`, whose `paths` rows
/// the caller holds: their open counts move into `daily_counts`.
pub(super) async fn fold(tx: &Transaction<'_>, ids: &[PathId]) -> Result<(), StoreError> {
    if !ids.is_empty() {
        tx.execute(FOLD, &[&ids]).await?;
    }
    Ok(())
}

/// After a change to the per-day counts of pages `ids` (see [`fold`]).
pub(super) async fn seal(tx: &Transaction<'_>, ids: &[PathId]) -> Result<(), StoreError> {
    if !ids.is_empty() {
        let sql = format!("{SEAL} WHERE id = ANY($1::bigint[])");
        tx.execute(&sql, &[&ids]).await?;
    }
    Ok(())
}

/// After rebuild-daily wrote every per-day count of `site`'s pages into
/// `daily_counts` from their call history: the open counts it replaced go.
pub(super) async fn seal_site(tx: &Transaction<'_>, site: SiteId) -> Result<(), StoreError> {
    let sql = format!("{SEAL} WHERE site_id = $1");
    tx.execute(&sql, &[&site]).await?;
    Ok(())
}

/// Where PostgreSQL reads a per-day series from: the visitors' are
/// `day_counts` (closed days and open days), the others their table.
pub(super) fn source(series: &DaySeries) -> &'static str {
    if series.in_total {
        "day_counts"
    } else {
        series.table
    }
}
