//! The owner's part of the store contract: managing pages (look up,
//! remove, rename or merge, start counts), export and import, retention of
//! raw calls. Both backends implement it in
//! their own `owner` module, with the same behaviour; the contract suite
//! runs it on both.
//!
//! [`DAY_SERIES`] is the one list of per-page per-day tables: removing,
//! merging and exporting a page cover exactly these and the raw calls.
//! Holds no SQL that runs by itself and no I/O.

use std::time::Duration;

use jiff::Timestamp;

use super::transfer::{ExportFilter, Imported, Items, Records};
use super::{PathId, SiteId, StoreFuture};
use crate::count::path::PagePath;

/// An owner's change may move every call of a page (a merge): it gets longer
/// than a request's write, and holds counting back meanwhile on SQLite.
pub const CHANGE_DEADLINE: Duration = Duration::from_secs(60);

/// One per-page per-day series: a table of `(path_id, day, count)` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaySeries {
    /// Its name in exports.
    pub name: &'static str,
    /// Its table, the same on both backends.
    pub table: &'static str,
    /// Whether its counts are the page's counted calls (`paths.total`).
    pub in_total: bool,
}

/// Every per-page per-day series. A new series is one more entry here (and
/// its table in a migration of each backend): removing, merging and
/// exporting pages then cover it.
pub const DAY_SERIES: &[DaySeries] = &[DaySeries {
    name: "visitors",
    table: "daily_counts",
    in_total: true,
}];

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

    /// Deletes up to `limit` raw calls (of existing pages) made before
    /// `before`, in one short transaction that also records `before` as the
    /// time before which calls may be missing. Per-day counts and totals are
    /// untouched. Returns the calls deleted.
    fn prune_calls(&self, before: Timestamp, limit: u64) -> StoreFuture<'_, u64>;

    /// The time before which raw calls were deleted by retention, if ever.
    fn pruned_before(&self) -> StoreFuture<'_, Option<Timestamp>>;
}
