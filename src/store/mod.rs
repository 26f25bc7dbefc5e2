//! Storage: one [`Store`] trait, two backends — PostgreSQL and the embedded
//! SQLite default — with the same behaviour.
//!
//! Stores keep raw calls and, in the same transaction, per-page totals and
//! per-day counts. They know nothing of visitors: no address or anything
//! derived from one is ever passed in. Schemas live in `sql/<backend>/` as
//! numbered migrations applied at start.

mod postgres;
mod sqlite;

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

use jiff::Timestamp;

use crate::count::path::PagePath;
use crate::zone::{DayNumber, Zone};

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

pub type PathId = i64;

/// One counted call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub path: PathId,
    pub at: Timestamp,
    /// The calendar day of `at` in the configured zone.
    pub day: DayNumber,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct PathCount {
    pub path: String,
    pub count: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("PostgreSQL connection pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("the database schema is at version {found}, newer than this footfall knows ({known}); upgrade footfall")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("the store did not answer within {0:?}")]
    Timeout(std::time::Duration),
    #[error("a storage task failed: {0}")]
    Task(String),
}

pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// What every backend provides. Futures are boxed so the server can hold an
/// `Arc<dyn Store>`; each call is a database round trip, so the box is noise.
pub trait Store: Send + Sync {
    /// Applies missing migrations in one transaction; safe to run twice or
    /// from two processes at once.
    fn migrate(&self) -> StoreFuture<'_, ()>;

    /// Every registered path with its id.
    fn paths(&self) -> StoreFuture<'_, Vec<(PathId, String)>>;

    /// Registers a path (or finds it, if another process registered it first).
    fn register_path<'a>(&'a self, path: &'a PagePath) -> StoreFuture<'a, PathId>;

    /// Commits a batch of calls with the totals and per-day counts, all or nothing.
    fn record<'a>(&'a self, hits: &'a [Hit]) -> StoreFuture<'a, ()>;

    /// Total calls per path, count descending then path.
    fn counts(&self) -> StoreFuture<'_, Vec<PathCount>>;

    /// A trivial query, for readiness.
    fn ping(&self) -> StoreFuture<'_, ()>;

    /// Calls per path over an inclusive range of days (from per-day counts),
    /// count descending then path. Paths without calls in the range are left out.
    fn counts_between(&self, from: DayNumber, to: DayNumber) -> StoreFuture<'_, Vec<PathCount>>;

    /// One path's total and first and last call, from its `paths` row.
    fn summary(&self, path: PathId) -> StoreFuture<'_, Summary>;

    /// One path's first and last call in `[from, until)`, by the calls index.
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

    /// Calls per 15-minute slot (UTC-aligned) in `[from, until)`, or for all
    /// paths when `path` is `None`. Every real-world UTC offset is a multiple
    /// of 15 minutes, so slots map onto local hours and days of any zone.
    fn slots(&self, path: Option<PathId>, from: Timestamp, until: Timestamp) -> StoreFuture<'_, Vec<SlotCount>>;

    /// Recomputes every per-day count from the raw calls in `zone`, in one
    /// transaction that holds concurrent writers back, so no hit is lost or
    /// counted twice. Returns the rows written.
    fn rebuild_daily(&self, zone: Zone) -> StoreFuture<'_, u64>;
}

/// Sums slot counts into per-(path, day) rows of `zone`, ordered by key.
pub fn days_from_slots(slots: impl IntoIterator<Item = SlotCount>, zone: &Zone) -> Vec<(PathId, DayNumber, i64)> {
    let mut days: BTreeMap<(PathId, DayNumber), i64> = BTreeMap::new();
    for slot in slots {
        *days.entry((slot.path, zone.day_of(slot.slot_start))).or_default() += slot.calls as i64;
    }
    days.into_iter().map(|((p, d), n)| (p, d, n)).collect()
}

/// A path's running figures, kept with every committed batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub total: u64,
    pub first: Option<Timestamp>,
    pub last: Option<Timestamp>,
}

/// Calls of one path in one 15-minute slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlotCount {
    pub path: PathId,
    pub slot_start: Timestamp,
    pub calls: u64,
}

/// The width of a slot, in seconds.
pub const SLOT_SECONDS: i64 = 900;

/// A numbered migration from `sql/<backend>/`.
pub struct Migration {
    pub version: i64,
    pub sql: &'static str,
}

/// Per-(path, day) and per-path sums of a batch, ordered by key so that two
/// processes writing at once take row locks in the same order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BatchSums {
    pub per_day: Vec<(PathId, DayNumber, i64)>,
    pub per_path: Vec<PathSum>,
}

#[derive(Debug, PartialEq, Eq)]
pub struct PathSum {
    pub path: PathId,
    pub calls: i64,
    pub first: Timestamp,
    pub last: Timestamp,
}

pub fn sum_batch(hits: &[Hit]) -> BatchSums {
    let mut per_day: BTreeMap<(PathId, DayNumber), i64> = BTreeMap::new();
    let mut per_path: BTreeMap<PathId, PathSum> = BTreeMap::new();
    for hit in hits {
        *per_day.entry((hit.path, hit.day)).or_default() += 1;
        per_path
            .entry(hit.path)
            .and_modify(|s| {
                s.calls += 1;
                s.first = s.first.min(hit.at);
                s.last = s.last.max(hit.at);
            })
            .or_insert(PathSum {
                path: hit.path,
                calls: 1,
                first: hit.at,
                last: hit.at,
            });
    }
    BatchSums {
        per_day: per_day.into_iter().map(|((p, d), n)| (p, d, n)).collect(),
        per_path: per_path.into_values().collect(),
    }
}

/// Sorts counts as the API promises: count descending, then path by bytes
/// (not by a database collation, which differs between backends and locales).
pub fn sort_counts(counts: &mut [PathCount]) {
    counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.path.cmp(&b.path)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_are_summed_per_day_and_per_path_in_key_order() {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        let hits = [
            Hit {
                path: 2,
                at: t("2026-01-02T10:00:00Z"),
                day: 20455,
            },
            Hit {
                path: 1,
                at: t("2026-01-01T10:00:00Z"),
                day: 20454,
            },
            Hit {
                path: 2,
                at: t("2026-01-01T09:00:00Z"),
                day: 20454,
            },
            Hit {
                path: 2,
                at: t("2026-01-02T11:00:00Z"),
                day: 20455,
            },
        ];
        let sums = sum_batch(&hits);
        assert_eq!(sums.per_day, vec![(1, 20454, 1), (2, 20454, 1), (2, 20455, 2)]);
        assert_eq!(
            sums.per_path,
            vec![
                PathSum {
                    path: 1,
                    calls: 1,
                    first: t("2026-01-01T10:00:00Z"),
                    last: t("2026-01-01T10:00:00Z")
                },
                PathSum {
                    path: 2,
                    calls: 3,
                    first: t("2026-01-01T09:00:00Z"),
                    last: t("2026-01-02T11:00:00Z")
                },
            ]
        );
    }

    #[test]
    fn counts_sort_by_count_then_path() {
        let c = |p: &str, n| PathCount {
            path: p.into(),
            count: n,
        };
        let mut counts = vec![c("/b", 1), c("/a", 1), c("/z", 5), c("/B", 1)];
        sort_counts(&mut counts);
        assert_eq!(counts, vec![c("/z", 5), c("/B", 1), c("/a", 1), c("/b", 1)]);
    }
}
