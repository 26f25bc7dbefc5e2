//! The owner's part of the store contract: managing pages (look up,
//! remove, rename or merge, start counts), export and import, retention of
//! raw calls. Both backends implement it in
//! their own `owner` module, with the same behaviour; the contract suite
//! runs it on both.
//!
//! [`DAY_SERIES`] is the one list of per-page per-day series (visitors,
//! proxied views and filtered hits by reason): removing, merging, sweeping,
//! exporting and importing a page cover exactly these and the raw calls.
//! Holds no SQL that runs by itself and no I/O.

use std::time::Duration;

use jiff::Timestamp;

use super::transfer::{ExportFilter, Imported, Items, Records};
use super::{PathId, SiteId, StoreFuture};
use crate::count::path::PagePath;

/// An owner's change may move every call of a page (a merge): it gets longer
/// than a request's write, and holds counting back meanwhile on SQLite.
pub const CHANGE_DEADLINE: Duration = Duration::from_secs(60);

/// One per-page per-day series: one count column of a table keyed by
/// `(path_id, day)` (its PRIMARY KEY). A table may hold several series, one
/// column each, e.g. `daily_tallies`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaySeries {
    /// Its name in exports.
    pub name: &'static str,
    /// Its table, the same on both backends.
    pub table: &'static str,
    /// Its count column in `table`.
    pub column: &'static str,
    /// Whether its counts are the page's counted calls (`paths.total`).
    pub in_total: bool,
}

/// Every per-page per-day series, in export order: visitors, then the
/// tallies in [`Tallies::series`](super::Tallies::series) order. A new
/// series is one more entry here (and its table or column in a migration of
/// each backend): removing, merging, sweeping, exporting and importing
/// pages then cover it. Series of one table are next to each other.
pub const DAY_SERIES: &[DaySeries] = &[
    DaySeries {
        name: "visitors",
        table: "daily_counts",
        column: "count",
        in_total: true,
    },
    tally("proxied"),
    tally("bot"),
    tally("prefetch"),
    tally("ignored"),
    tally("foreign_embed"),
];

/// A series of `daily_tallies`, named as its column: views that are not
/// counted calls, so never in a page's total.
const fn tally(column: &'static str) -> DaySeries {
    DaySeries {
        name: column,
        table: "daily_tallies",
        column,
        in_total: false,
    }
}

/// One table of [`DAY_SERIES`] with the columns of its series, in order:
/// what removing and merging a page go through, a table at a time, so a
/// merged row adds every column at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayTable {
    pub table: &'static str,
    pub columns: Vec<&'static str>,
}

/// The tables of [`DAY_SERIES`], each once, in order of first appearance.
pub fn day_tables() -> Vec<DayTable> {
    let mut tables: Vec<DayTable> = Vec::new();
    for series in DAY_SERIES {
        match tables.iter_mut().find(|t| t.table == series.table) {
            Some(table) => table.columns.push(series.column),
            None => tables.push(DayTable {
                table: series.table,
                columns: vec![series.column],
            }),
        }
    }
    tables
}

/// What `move_page` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageMove {
    /// Nothing changed: there is no page `from`.
    NoSuchPage,
    /// `from` now has the path `to`, under the same id.
    Renamed { id: PathId },
    /// `to` existed: everything of `from` was added to it and `from` removed.
    Merged { from: PathId, into: PathId },
}

/// The owner's calls. Each change is one transaction; a page is `(site, path)`.
pub trait OwnerStore {
    /// The id of a page, if it exists.
    fn page_id<'a>(&'a self, site: SiteId, path: &'a PagePath) -> StoreFuture<'a, Option<PathId>>;

    /// Removes a page with its calls and every per-day series; its id is
    /// never given to another page. `None` when there is no such page.
    fn delete_page<'a>(&'a self, site: SiteId, path: &'a PagePath) -> StoreFuture<'a, Option<PathId>>;

    /// Renames `from` to `to`; when `to` exists, merges `from` into it: calls,
    /// every per-day series, totals and start counts add up, first and last
    /// calls widen, and `from` is removed.
    fn move_page<'a>(&'a self, site: SiteId, from: &'a PagePath, to: &'a PagePath) -> StoreFuture<'a, PageMove>;

    /// Rows a removed page id gained after its removal — hits that were on
    /// their way — moved into `into` (adding to its total) or, without one,
    /// deleted. Returns the rows touched.
    fn sweep_page(&self, removed: PathId, into: Option<PathId>) -> StoreFuture<'_, u64>;

    /// Sets a page's start count. `None` when there is no such page.
    fn set_start_count<'a>(&'a self, site: SiteId, path: &'a PagePath, count: u64) -> StoreFuture<'a, Option<PathId>>;

    /// Sends every record `filter` covers, from one snapshot, in export
    /// order (see `store::transfer`); stops early, without an error, when
    /// the receiver is gone. Bounded by `TRANSFER_DEADLINE`.
    fn export(&self, filter: ExportFilter, records: Records) -> StoreFuture<'_, ()>;

    /// Adds every item received, in one transaction; the first error
    /// received rolls everything back and is [`Imported::Refused`]. Bounded
    /// by `TRANSFER_DEADLINE`.
    fn import(&self, items: Items) -> StoreFuture<'_, Imported>;

    /// Deletes raw calls (of existing pages) made before `before`, in one
    /// short transaction that also records `before` as the time before which
    /// calls may be missing: up to `limit` whole rows of calls (a page's
    /// calls in one slot) older than `before`'s slot and, once there are no
    /// more, the older calls of the rows in its slot. Per-day counts and
    /// totals are untouched. Returns the calls deleted; below `limit`, none
    /// are left (a row holds at least one call).
    fn prune_calls(&self, before: Timestamp, limit: u64) -> StoreFuture<'_, u64>;

    /// The time before which raw calls were deleted by retention, if ever.
    fn pruned_before(&self) -> StoreFuture<'_, Option<Timestamp>>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Tallies;

    #[test]
    fn series_are_visitors_then_every_tally_in_its_order_grouped_by_table() {
        let names: Vec<&str> = DAY_SERIES.iter().map(|s| s.name).collect();
        assert_eq!(
            names,
            ["visitors", "proxied", "bot", "prefetch", "ignored", "foreign_embed"]
        );
        assert_eq!(Tallies::default().series().len() + 1, DAY_SERIES.len());
        assert_eq!(DAY_SERIES.iter().filter(|s| s.in_total).count(), 1);
        assert_eq!(
            day_tables(),
            [
                DayTable {
                    table: "daily_counts",
                    columns: vec!["count"],
                },
                DayTable {
                    table: "daily_tallies",
                    columns: vec!["proxied", "bot", "prefetch", "ignored", "foreign_embed"],
                },
            ]
        );
    }
}
