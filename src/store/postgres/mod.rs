//! The PostgreSQL store: the store contract in SQL over a pool of
//! tokio-postgres connections ([`pool`] bounds every wait for one).
//!
//! Its tables live in the schema `footfall` ([`schema`]), apart from
//! anything else in the database.
//!
//! A batch goes out as one pipelined transaction that also writes its id,
//! so a commit whose answer was lost can be settled later. A restarted
//! server heals without a restart of Footfall. All SQL is parameterized;
//! handlers never see it.

mod batch;
mod convert;
mod digests;
mod dimensions;
mod events;
mod history;
mod links;
mod open_days;
mod open_runs;
mod owner;
mod oxitraffic;
mod pool;
mod schema;
mod site;
mod site_days;
mod site_dimensions;
mod tallies;
mod transfer;
mod writes;

pub(super) use writes::set_local_statement_timeout;

use std::time::SystemTime;

use jiff::Timestamp;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

pub use self::oxitraffic::OxiRow;
use self::pool::Connections;

use super::rules::{count_from_db, sort_counts, time_from_system};
use super::{
    migrations, within, BadgeFigures, Batch, DaysToken, PageRow, PageTallies, PathCount, PathId, RenameOutcome,
    SharedDedup, SiteId, SlotCount, Store, StoreError, StoreFuture, Summary, Tallies, MIGRATE_DEADLINE, PATHS_DEADLINE,
    REBUILD_DEADLINE, REGISTER_DEADLINE,
};
use super::{Kind, Recorded, Scope, ValueCount};
use crate::config::DbConfig;
use crate::count::path::PagePath;
use crate::zone::{DayNumber, Zone};

/// Always returns the id, also when another session inserts the same path at
/// the same moment: the conflict waits for that insert and then updates
/// (to the same value), where `DO NOTHING` would return no row at all. A
/// row that was inserted (`xmax = 0`, not updated) gets its
/// `page_registered` event in the same statement, so in the same transaction.
const REGISTER_PATH: &str = "WITH found AS (INSERT INTO paths (site_id, path) VALUES ($1, $2) \
     ON CONFLICT (site_id, path) DO UPDATE SET path = excluded.path RETURNING id, xmax = 0 AS new), \
     event AS (INSERT INTO events (site_id, kind, data) \
     SELECT $1, 'page_registered', json_build_object('path', $2::text)::text FROM found WHERE new) \
     SELECT id FROM found";
/// The same conflict rule: two processes starting with a new site at once
/// both get its id.
const ENSURE_SITE: &str =
    "INSERT INTO sites (slug) VALUES ($1) ON CONFLICT (slug) DO UPDATE SET slug = excluded.slug RETURNING id";
const COUNTS_BETWEEN: &str = "SELECT p.path, sum(d.count)::bigint FROM day_counts d JOIN paths p ON p.id = d.path_id \
     WHERE p.site_id = $3 AND d.day BETWEEN DATE '1970-01-01' + $1::int AND DATE '1970-01-01' + $2::int \
     GROUP BY p.path";
const SUMMARY: &str = "SELECT total + start_count, first_call, last_call FROM paths WHERE id = $1";
const DAILY: &str = "SELECT day - DATE '1970-01-01', count FROM day_counts WHERE path_id = $1 ORDER BY day";

pub struct PostgresStore {
    connections: Connections,
}

impl PostgresStore {
    /// Builds the pool; connects lazily, so a database that is not up yet is
    /// not an error here.
    ///
    /// # Errors
    /// Only when the pool itself cannot be built.
    pub fn new(db: &DbConfig) -> Result<Self, StoreError> {
        Ok(Self {
            connections: Connections::new(db, batch::BATCH_OPTIONS)?,
        })
    }

    /// Runs one query on a pooled connection.
    async fn query(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>, StoreError> {
        let client = self.connections.checkout().await?;
        let statement = client.prepare_cached(sql).await?;
        let rows = client.query(&statement, params).await?;
        client.release();
        Ok(rows)
    }

    /// Runs a `(path, count)` query and sorts the rows as the API promises.
    async fn path_counts(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<PathCount>, StoreError> {
        let mut counts = self
            .query(sql, params)
            .await?
            .iter()
            .map(|r| {
                Ok(PathCount {
                    path: r.try_get(0)?,
                    count: count_from_db(r.try_get(1)?),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        sort_counts(&mut counts);
        Ok(counts)
    }
}

impl Store for PostgresStore {
    fn migrate(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            within(MIGRATE_DEADLINE, self.migrate_now()).await?;
            self.convert_calls().await
        })
    }

    fn paths(&self, site: SiteId) -> StoreFuture<'_, Vec<(PathId, String)>> {
        Box::pin(within(PATHS_DEADLINE, async move {
            let rows = self
                .query("SELECT id, path FROM paths WHERE site_id = $1", &[&site])
                .await?;
            Ok(rows
                .iter()
                .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
                .collect::<Result<_, tokio_postgres::Error>>()?)
        }))
    }

    fn known_schema_version(&self) -> i64 {
        migrations::POSTGRES.last().map_or(0, |m| m.version)
    }

    fn schema_version(&self) -> StoreFuture<'_, i64> {
        Box::pin(within(PATHS_DEADLINE, self.applied_version()))
    }

    fn ensure_site<'a>(&'a self, slug: &'a str) -> StoreFuture<'a, SiteId> {
        Box::pin(within(REGISTER_DEADLINE, async move {
            let rows = self.query(ENSURE_SITE, &[&slug]).await?;
            let row = rows
                .first()
                .ok_or_else(|| StoreError::corrupt(format!("adding the site {slug} returned no id")))?;
            Ok(row.try_get(0)?)
        }))
    }

    fn rename_site<'a>(&'a self, from: &'a str, to: &'a str) -> StoreFuture<'a, RenameOutcome> {
        Box::pin(within(REGISTER_DEADLINE, self.rename_now(from, to)))
    }

    fn shared_dedup(&self) -> Option<&dyn SharedDedup> {
        Some(self)
    }

    fn connections_in_use(&self) -> Option<(usize, usize)> {
        Some(self.connections.usage())
    }

    fn register_path<'a>(&'a self, site: SiteId, path: &'a PagePath) -> StoreFuture<'a, PathId> {
        Box::pin(within(REGISTER_DEADLINE, async move {
            let rows = self.query(REGISTER_PATH, &[&site, &path.as_str()]).await?;
            let row = rows
                .first()
                .ok_or_else(|| StoreError::corrupt(format!("registering {path} returned no id")))?;
            Ok(row.try_get(0)?)
        }))
    }

    fn record<'a>(&'a self, batch: Batch<'a>) -> StoreFuture<'a, Recorded> {
        Box::pin(self.record_now(batch))
    }

    fn counts(&self, site: SiteId) -> StoreFuture<'_, Vec<PathCount>> {
        Box::pin(async move {
            self.path_counts(
                "SELECT path, total + start_count FROM paths WHERE site_id = $1",
                &[&site],
            )
            .await
        })
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            let client = self.connections.checkout().await?;
            client.simple_query("SELECT 1").await?;
            client.release();
            Ok(())
        })
    }

    fn counts_between(&self, site: SiteId, from: DayNumber, to: DayNumber) -> StoreFuture<'_, Vec<PathCount>> {
        Box::pin(async move { self.path_counts(COUNTS_BETWEEN, &[&from, &to, &site]).await })
    }

    fn page_rows(&self, site: SiteId) -> StoreFuture<'_, Vec<PageRow>> {
        Box::pin(self.page_rows_now(site))
    }

    fn period_counts(&self, from: DayNumber, to: DayNumber) -> StoreFuture<'_, Vec<(PathId, u64)>> {
        Box::pin(self.period_counts_now(from, to))
    }

    fn days_token(&self, site: SiteId, from: DayNumber, to: DayNumber) -> StoreFuture<'_, DaysToken> {
        Box::pin(self.days_token_now(site, from, to))
    }

    fn site_daily(&self, site: SiteId, from: DayNumber, to: DayNumber) -> StoreFuture<'_, Vec<(DayNumber, u64)>> {
        Box::pin(self.site_daily_now(site, from, to))
    }

    fn summary(&self, path: PathId) -> StoreFuture<'_, Summary> {
        Box::pin(async move {
            let rows = self.query(SUMMARY, &[&path]).await?;
            let row = rows
                .first()
                .ok_or_else(|| StoreError::corrupt(format!("path {path} has no row")))?;
            let time = |column, what| -> Result<Option<Timestamp>, StoreError> {
                row.try_get::<_, Option<SystemTime>>(column)?
                    .map(|t| time_from_system(t, &format!("paths.{what} of path {path}")))
                    .transpose()
            };
            Ok(Summary {
                total: count_from_db(row.try_get(0)?),
                first: time(1, "first_call")?,
                last: time(2, "last_call")?,
            })
        })
    }

    fn first_and_last(
        &self,
        path: PathId,
        from: Timestamp,
        until: Timestamp,
    ) -> StoreFuture<'_, Option<(Timestamp, Timestamp)>> {
        Box::pin(self.first_and_last_now(path, from, until))
    }

    fn daily(&self, path: PathId) -> StoreFuture<'_, Vec<(DayNumber, u64)>> {
        Box::pin(async move {
            let rows = self.query(DAILY, &[&path]).await?;
            Ok(rows
                .iter()
                .map(|r| Ok((r.try_get(0)?, count_from_db(r.try_get(1)?))))
                .collect::<Result<_, tokio_postgres::Error>>()?)
        })
    }

    fn calls(&self, path: PathId, after: Timestamp, until: Timestamp, limit: usize) -> StoreFuture<'_, Vec<Timestamp>> {
        Box::pin(self.calls_now(path, after, until, limit))
    }

    fn slots(&self, path: PathId, from: Timestamp, until: Timestamp) -> StoreFuture<'_, Vec<SlotCount>> {
        Box::pin(self.slots_now(path, from, until))
    }

    fn tallies_between(&self, site: SiteId, from: DayNumber, to: DayNumber) -> StoreFuture<'_, Vec<PageTallies>> {
        Box::pin(self.tallies_between_now(site, from, to))
    }

    fn path_tallies(&self, path: PathId, from: DayNumber, to: DayNumber) -> StoreFuture<'_, Tallies> {
        Box::pin(self.path_tallies_now(path, from, to))
    }

    fn badge_figures(&self, path: PathId, today: DayNumber) -> StoreFuture<'_, BadgeFigures> {
        Box::pin(self.badge_figures_now(path, today))
    }

    fn rebuild_daily(&self, site: SiteId, zone: Zone) -> StoreFuture<'_, u64> {
        Box::pin(within(REBUILD_DEADLINE, self.rebuild_now(site, zone)))
    }

    fn dimension_counts(
        &self,
        scope: Scope,
        kind: Kind,
        from: DayNumber,
        to: DayNumber,
    ) -> StoreFuture<'_, Vec<ValueCount>> {
        Box::pin(self.dimension_counts_now(scope, kind, from, to))
    }
}
