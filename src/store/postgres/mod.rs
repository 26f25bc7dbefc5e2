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

mod owner;
mod oxitraffic;
mod pool;
mod schema;
mod site;
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

use super::rules::{count_from_db, slot, sort_counts, time_from_system, SLOT_SECONDS};
use super::{
    migrations, within, BadgeFigures, Batch, Committed, PageRow, PageTallies, PathCount, PathId, RenameOutcome, SiteId,
    SlotCount, Store, StoreError, StoreFuture, Summary, Tallies, MIGRATE_DEADLINE, PATHS_DEADLINE, REBUILD_DEADLINE,
    REGISTER_DEADLINE,
};
use crate::config::DbConfig;
use crate::count::path::PagePath;
use crate::zone::{DayNumber, Zone};

/// Always returns the id, also when another session inserts the same path at
/// the same moment: the conflict waits for that insert and then updates
/// (to the same value), where `DO NOTHING` would return no row at all.
const REGISTER_PATH: &str = "INSERT INTO paths (site_id, path) VALUES ($1, $2) \
     ON CONFLICT (site_id, path) DO UPDATE SET path = excluded.path RETURNING id";
/// The same conflict rule: two processes starting with a new site at once
/// both get its id.
const ENSURE_SITE: &str =
    "INSERT INTO sites (slug) VALUES ($1) ON CONFLICT (slug) DO UPDATE SET slug = excluded.slug RETURNING id";
const COUNTS_BETWEEN: &str =
    "SELECT p.path, sum(d.count)::bigint FROM daily_counts d JOIN paths p ON p.id = d.path_id \
     WHERE p.site_id = $3 AND d.day BETWEEN DATE '1970-01-01' + $1::int AND DATE '1970-01-01' + $2::int \
     GROUP BY p.path";
const SUMMARY: &str = "SELECT total + start_count, first_call, last_call FROM paths WHERE id = $1";
const FIRST_AND_LAST: &str =
    "SELECT min(called_at), max(called_at) FROM calls WHERE path_id = $1 AND called_at >= $2 AND called_at < $3";
const DAILY: &str = "SELECT day - DATE '1970-01-01', count FROM daily_counts WHERE path_id = $1 ORDER BY day";
const CALLS: &str = "SELECT called_at FROM calls WHERE path_id = $1 AND called_at > $2 AND called_at < $3 \
     ORDER BY called_at LIMIT $4";
const SLOTS: &str = "SELECT floor(extract(epoch FROM called_at) / $4::bigint)::bigint, count(*) FROM calls \
     WHERE path_id = $1 AND called_at >= $2 AND called_at < $3 GROUP BY 1";

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
            connections: Connections::new(db)?,
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
        Box::pin(within(MIGRATE_DEADLINE, self.migrate_now()))
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

    fn register_path<'a>(&'a self, site: SiteId, path: &'a PagePath) -> StoreFuture<'a, PathId> {
        Box::pin(within(REGISTER_DEADLINE, async move {
            let rows = self.query(REGISTER_PATH, &[&site, &path.as_str()]).await?;
            let row = rows
                .first()
                .ok_or_else(|| StoreError::corrupt(format!("registering {path} returned no id")))?;
            Ok(row.try_get(0)?)
        }))
    }

    fn record<'a>(&'a self, batch: Batch<'a>) -> StoreFuture<'a, Committed> {
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
        Box::pin(async move {
            let (from, until) = (SystemTime::from(from), SystemTime::from(until));
            let rows = self.query(FIRST_AND_LAST, &[&path, &from, &until]).await?;
            let Some(row) = rows.first() else { return Ok(None) };
            let what = format!("calls.called_at of path {path}");
            let first: Option<SystemTime> = row.try_get(0)?;
            let last: Option<SystemTime> = row.try_get(1)?;
            first
                .zip(last)
                .map(|(f, l)| Ok((time_from_system(f, &what)?, time_from_system(l, &what)?)))
                .transpose()
        })
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
        Box::pin(async move {
            let (after, until) = (SystemTime::from(after), SystemTime::from(until));
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = self.query(CALLS, &[&path, &after, &until, &limit]).await?;
            let what = format!("calls.called_at of path {path}");
            rows.iter().map(|r| time_from_system(r.try_get(0)?, &what)).collect()
        })
    }

    fn slots(&self, path: PathId, from: Timestamp, until: Timestamp) -> StoreFuture<'_, Vec<SlotCount>> {
        Box::pin(async move {
            let (from, until) = (SystemTime::from(from), SystemTime::from(until));
            let rows = self.query(SLOTS, &[&path, &from, &until, &SLOT_SECONDS]).await?;
            rows.iter().map(|r| slot(path, r.try_get(0)?, r.try_get(1)?)).collect()
        })
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
}
