//! Storage: one [`Store`] contract, two backends — PostgreSQL and the
//! embedded SQLite default — that behave the same (`tests/api/contract.rs`
//! runs one suite on both).
//!
//! Stores keep raw calls and, in the same transaction, per-page totals,
//! per-day counts and per-day tallies (proxied views, filtered hits); each
//! site's calls per day (`site_days`) follow the per-day counts in the
//! transaction of each of their writers. They
//! know nothing of visitors: no address or anything derived from one is
//! ever passed in. Schemas live in `sql/<backend>/` as numbered migrations
//! applied at start.
//!
//! - `error`: `StoreError`, with whole cause chains.
//! - `migrations`: the embedded migrations and which ones a database needs.
//! - `owner`: the owner's part of the contract (managing pages, export,
//!   import) and the one list of per-page per-day series.
//! - `transfer`: what exports and imports carry, and how imports are summed.
//! - `rules`: decoding, slots, batch sums and sorting, shared by both.
//! - `packed`: the packed layout of raw calls (a page's calls per slot,
//!   as varints), shared by both.
//! - `shared`: nonces and digests of shared dedup windows (PostgreSQL).
//! - `tallies`: per-day proxied views and filtered hits, as aggregates.
//! - `links`: clicks of `/go/` links per link and day, as aggregates.
//! - `events`: the outbox of events for webhooks and the feed.
//! - `dimensions`: per-day counts of browsers, systems, devices, countries
//!   and referrers, as aggregates, with the bound on their values.
//! - `postgres`, `sqlite`: the backends; SQL lives only there and in `sql/`.

mod dimensions;
mod error;
mod events;
mod links;
mod migrations;
mod owner;
mod packed;
mod postgres;
mod rules;
mod shared;
mod sqlite;
mod tallies;
mod transfer;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use jiff::Timestamp;

use crate::count::path::PagePath;
use crate::zone::{DayNumber, Zone};

#[cfg(test)]
pub(crate) use dimensions::counts;
pub use dimensions::{
    agent_value, fold, project, Dimension, DimensionCount, Dimensions, Kind, Scope, ValueCount, OTHER,
};
pub use error::{ConnectError, PgError, SqliteError, StoreError};
pub use events::{EventStore, FailedDelivery, StoredEvent};
pub use links::{Click, LinkRow, LinkStore};
pub use owner::{DaySeries, OwnerStore, PageMove, DAY_SERIES};
pub use postgres::{OxiRow, PostgresStore};
pub use rules::SLOT_SECONDS;
pub use shared::{Counted, DedupWindow, Digest, SharedDedup};
pub use sqlite::SqliteStore;
pub use tallies::{BadgeFigures, DayTallies, PageTallies, Tallies, Tally};
pub use transfer::{
    ExportFilter, ImportError, ImportReport, Imported, Item, Items, Record, Records, TRANSFER_DEADLINE,
};

pub type PathId = i64;
/// A site's id in the store; pages keep it.
pub type SiteId = i64;

/// Names one batch of hits in the store, so that a commit whose outcome was
/// not seen can be settled by committing it again under the same id.
pub type BatchId = i64;

/// One counted call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub path: PathId,
    pub at: Timestamp,
    /// The calendar day of `at` in the configured zone.
    pub day: DayNumber,
}

/// Hits committed together, all or nothing, under one id.
#[derive(Debug, Clone, Copy)]
pub struct Batch<'a> {
    pub id: BatchId,
    pub hits: &'a [Hit],
    /// Tallies added to the stored ones, in the same transaction.
    pub tallies: &'a [DayTallies],
    /// Dimension counts (of earlier batches' hits), in the same transaction.
    pub dimensions: Dimensions<'a>,
    /// Ids of earlier batches whose commit was seen confirmed: no second
    /// attempt of them exists, so their ids are no longer needed and are
    /// deleted in this batch's transaction.
    pub settled: &'a [BatchId],
    /// Hits that count only if their digest is new in its window (shared
    /// dedup): the others are left out of every sum. Empty otherwise; the
    /// SQLite store, which serves one process, counts every hit.
    pub digests: &'a [Digest],
    /// Clicks of `/go/` links, added to their links' totals and days.
    pub clicks: &'a [Click],
    /// The `milestones`: each a page's total crosses in this batch is an
    /// event, written in the batch's transaction.
    pub milestones: &'a [i64],
}

/// How a batch ended up committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// By this call.
    Now,
    /// By an earlier call with the same id; this one changed nothing.
    Earlier,
}

/// How a batch ended up committed, and which of its hits did not count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    pub committed: Committed,
    /// Indexes into the batch's `hits` of those left out of every sum,
    /// their digest being claimed already (shared dedup). Empty when
    /// [`Committed::Earlier`]: what the earlier call counted is not known.
    pub uncounted: Vec<usize>,
}

impl From<Committed> for Recorded {
    /// Every hit counted (a store without shared dedup), or, for
    /// [`Committed::Earlier`], nothing known to be left out.
    fn from(committed: Committed) -> Self {
        Self {
            committed,
            uncounted: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PathCount {
    pub path: String,
    pub count: u64,
}

/// One page of a site as the dashboard lists it: its total (with its start
/// count) and its last call, straight from its `paths` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRow {
    pub id: PathId,
    pub path: String,
    pub total: u64,
    pub last: Option<Timestamp>,
}

/// What a site's per-page per-day counts over some days can be told apart
/// by: `changes`, which every owner change that moves or removes per-day
/// counts adds one to (removing, merging, sweeping pages, imports,
/// rebuild-daily), and the site's calls on those days (`site_days`), which
/// every counted hit of one of them adds to. Equal tokens read at two times
/// mean equal per-page counts over those days, so they can be kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaysToken {
    pub changes: i64,
    pub calls: u64,
}

/// A path's running figures, kept with every committed batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    /// Calls counted plus the start count the owner carried over.
    pub total: u64,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

/// Calls of one path in one slot of [`SLOT_SECONDS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotCount {
    pub path: PathId,
    pub slot_start: Timestamp,
    pub calls: u64,
}

/// What `rename_site` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenameOutcome {
    /// Renamed; the number of pages that moved with it.
    Renamed { pages: u64 },
    /// Nothing changed: there is no site `from`.
    NoSuchSite,
    /// Nothing changed: the site `to` already has this many pages.
    TargetHasPages { pages: u64 },
}

pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// Migrations may build an index over a large table, so they get long.
pub const MIGRATE_DEADLINE: Duration = Duration::from_secs(60);
/// Loading known paths at start (at most `max_paths` short rows).
pub const PATHS_DEADLINE: Duration = Duration::from_secs(10);
/// Registering a path is part of a request, like a write.
pub const REGISTER_DEADLINE: Duration = Duration::from_secs(2);
/// A rebuild reads every call once; a hung database must still end it.
pub const REBUILD_DEADLINE: Duration = Duration::from_secs(30 * 60);

/// What every backend provides. Futures are boxed so the server can hold an
/// `Arc<dyn Store>`; each call is a database round trip, so the box is noise.
///
/// Calls that run outside a request bound their own wait (the `*_DEADLINE`
/// constants); reads and `record` are bounded by their callers (the read
/// facade and the recorder), which also decide what a timeout means.
/// Stored times that cannot be decoded are [`StoreError::Corrupt`].
pub trait Store: OwnerStore + LinkStore + EventStore + Send + Sync {
    /// Applies missing migrations in one transaction (bounded by
    /// [`MIGRATE_DEADLINE`]), then moves raw calls left in the one-row-per-call
    /// layout of earlier releases into the packed one, a chunk per
    /// transaction with progress in the log (each chunk bounded); safe to run
    /// twice, from two processes at once, or again after an interruption.
    fn migrate(&self) -> StoreFuture<'_, ()>;

    /// Every registered path of `site` with its id. Bounded by [`PATHS_DEADLINE`].
    fn paths(&self, site: SiteId) -> StoreFuture<'_, Vec<(PathId, String)>>;

    /// The newest migration applied to the database (0 for an empty one),
    /// without changing anything; for `footfall check`.
    fn schema_version(&self) -> StoreFuture<'_, i64>;

    /// The newest migration this footfall knows for this backend.
    fn known_schema_version(&self) -> i64;

    /// The id of the site `slug`, creating it if it is new.
    fn ensure_site<'a>(&'a self, slug: &'a str) -> StoreFuture<'a, SiteId>;

    /// Gives the site `from` the slug `to`, with all its pages, in one
    /// transaction. A site `to` without pages is replaced; one with pages
    /// is never touched.
    fn rename_site<'a>(&'a self, from: &'a str, to: &'a str) -> StoreFuture<'a, RenameOutcome>;

    /// The shared-dedup windows, on a store several processes can share.
    fn shared_dedup(&self) -> Option<&dyn SharedDedup>;

    /// A connection pool's connections checked out and callers waiting for
    /// one, for the metrics; `None` for a store without a pool.
    fn connections_in_use(&self) -> Option<(usize, usize)>;

    /// Registers a path, or finds it if it exists, even when another process
    /// registers it at the same moment; a new one with its `page_registered`
    /// event, in the same transaction. Bounded by [`REGISTER_DEADLINE`].
    fn register_path<'a>(&'a self, site: SiteId, path: &'a PagePath) -> StoreFuture<'a, PathId>;

    /// Commits a batch's calls with the totals and per-day counts, its
    /// tallies and its id, all or nothing. A batch whose id is already stored changes nothing
    /// and is [`Committed::Earlier`]. Says which hits did not count: with
    /// shared dedup, those whose digest another batch claimed first.
    fn record<'a>(&'a self, batch: Batch<'a>) -> StoreFuture<'a, Recorded>;

    /// Total calls per path of `site` plus its start count, count descending then path.
    fn counts(&self, site: SiteId) -> StoreFuture<'_, Vec<PathCount>>;

    /// A trivial query, for readiness.
    fn ping(&self) -> StoreFuture<'_, ()>;

    /// Calls per path of `site` over an inclusive range of days (from per-day counts),
    /// count descending then path. Paths without calls in the range are left out.
    fn counts_between(&self, site: SiteId, from: DayNumber, to: DayNumber) -> StoreFuture<'_, Vec<PathCount>>;

    /// Every page of `site` with its total and last call, from the `paths`
    /// rows alone (one row per page, no per-day rows), in no particular order.
    fn page_rows(&self, site: SiteId) -> StoreFuture<'_, Vec<PageRow>>;

    /// The calls of each page over an inclusive range of days, by page id,
    /// summed from the per-day counts by id (never grouped by path); pages
    /// without calls are left out. Every site's pages: the caller knows its
    /// own ids (filtering by site here would cost a join per per-day row).
    fn period_counts(&self, from: DayNumber, to: DayNumber) -> StoreFuture<'_, Vec<(PathId, u64)>>;

    /// The [`DaysToken`] of `site` over an inclusive range of days.
    fn days_token(&self, site: SiteId, from: DayNumber, to: DayNumber) -> StoreFuture<'_, DaysToken>;

    /// The calls of all of `site`'s pages per day over an inclusive range of
    /// days, oldest first; days without calls are left out. Read from
    /// `site_days`, which every writer of the per-day counts keeps equal to
    /// their sum over the site's pages (start counts have no day), so it costs a
    /// row per day whatever the number of pages.
    fn site_daily(&self, site: SiteId, from: DayNumber, to: DayNumber) -> StoreFuture<'_, Vec<(DayNumber, u64)>>;

    /// One path's total (with its start count) and first and last call, from its `paths` row.
    fn summary(&self, path: PathId) -> StoreFuture<'_, Summary>;

    /// One path's first and last call in `[from, until)`: reads the rows of
    /// the first and last slots with calls in range (two or three each way).
    fn first_and_last(
        &self,
        path: PathId,
        from: Timestamp,
        until: Timestamp,
    ) -> StoreFuture<'_, Option<(Timestamp, Timestamp)>>;

    /// One path's per-day counts (days with calls only), oldest first.
    fn daily(&self, path: PathId) -> StoreFuture<'_, Vec<(DayNumber, u64)>>;

    /// Up to `limit` call times of one path in `(after, until)` — `after`
    /// exclusive so it works as a paging cursor — oldest first.
    fn calls(&self, path: PathId, after: Timestamp, until: Timestamp, limit: usize) -> StoreFuture<'_, Vec<Timestamp>>;

    /// One path's calls per slot (UTC-aligned, [`SLOT_SECONDS`] wide) in
    /// `[from, until)`, in no particular order.
    fn slots(&self, path: PathId, from: Timestamp, until: Timestamp) -> StoreFuture<'_, Vec<SlotCount>>;

    /// Tallies per page of `site` over an inclusive range of days, by path;
    /// pages without any in the range are left out.
    fn tallies_between(&self, site: SiteId, from: DayNumber, to: DayNumber) -> StoreFuture<'_, Vec<PageTallies>>;

    /// One page's tallies over an inclusive range of days.
    fn path_tallies(&self, path: PathId, from: DayNumber, to: DayNumber) -> StoreFuture<'_, Tallies>;

    /// One page's calls and proxied views, in all and on `today`, in one query.
    fn badge_figures(&self, path: PathId, today: DayNumber) -> StoreFuture<'_, BadgeFigures>;

    /// Recomputes every per-day count of `site`'s pages from the raw calls in `zone`, in one
    /// transaction that holds concurrent writers back, so no hit is lost or
    /// counted twice. Returns the rows written. Bounded by [`REBUILD_DEADLINE`].
    fn rebuild_daily(&self, site: SiteId, zone: Zone) -> StoreFuture<'_, u64>;

    /// Each stored value of `kind` in `scope` over an inclusive range of
    /// days with its count, count descending then value (an agent value
    /// names browser, OS and device together: see [`project`]).
    fn dimension_counts(
        &self,
        scope: Scope,
        kind: Kind,
        from: DayNumber,
        to: DayNumber,
    ) -> StoreFuture<'_, Vec<ValueCount>>;
}

/// `call`, or [`StoreError::Timeout`] once `limit` has passed.
///
/// # Errors
/// The call's own error, or the timeout.
pub async fn within<T>(limit: Duration, call: impl Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
    tokio::time::timeout(limit, call)
        .await
        .unwrap_or(Err(StoreError::Timeout(limit)))
}
