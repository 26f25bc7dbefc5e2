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

use crate::path::PagePath;
use crate::zone::DayNumber;

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
}

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
