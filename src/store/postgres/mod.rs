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
mod tallies;
mod transfer;

use std::time::{Duration, SystemTime};

use jiff::Timestamp;
use tokio_postgres::types::ToSql;
use tokio_postgres::Row;

pub use self::oxitraffic::OxiRow;
use self::pool::Connections;

use super::rules::{count_from_db, days_from_slots, slot, sort_counts, sum_batch, time_from_system, SLOT_SECONDS};
use super::{
    migrations, within, BadgeFigures, Batch, Committed, PageTallies, PathCount, PathId, PgError, RenameOutcome, SiteId,
    SlotCount, Store, StoreError, StoreFuture, Summary, Tallies, MIGRATE_DEADLINE, PATHS_DEADLINE, REBUILD_DEADLINE,
    REGISTER_DEADLINE,
};
use crate::config::DbConfig;
use crate::count::path::PagePath;
use crate::zone::{DayNumber, Zone};

/// Serializes migrations across processes (any fixed number, unique to us).
const MIGRATION_LOCK: i64 = 0x466f_6f74_6661_6c6c; // "Footfall"

const MARK_BATCH: &str = "WITH settled AS (DELETE FROM recorded_batches WHERE id = ANY($2::bigint[])) \
     INSERT INTO recorded_batches (id) VALUES ($1)";
const INSERT_CALLS: &str =
    "INSERT INTO calls (path_id, called_at) SELECT * FROM unnest($1::bigint[], $2::timestamptz[])";
const UPSERT_DAILY: &str = "INSERT INTO daily_counts (path_id, day, count) \
     SELECT p, DATE '1970-01-01' + d, n FROM unnest($1::bigint[], $2::int[], $3::bigint[]) AS t(p, d, n) \
     ON CONFLICT (path_id, day) DO UPDATE SET count = daily_counts.count + excluded.count";
const UPDATE_TOTALS: &str = "UPDATE paths SET total = paths.total + t.n, \
     first_call = LEAST(paths.first_call, t.first), last_call = GREATEST(paths.last_call, t.last) \
     FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[]) AS t(id, n, first, last) \
     WHERE paths.id = t.id";
/// Starts a batch's transaction. A batch touches a few rows of `paths` and
/// `daily_counts` by key; left alone, the planner joins the small unnest
/// input against a full scan of `paths` (its row estimate for unnest is
/// generic), which makes every commit O(paths). Index lookups are O(batch).
const BEGIN_BATCH: &str = "BEGIN; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off";
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
const SITE_SLOTS: &str = "SELECT c.path_id, floor(extract(epoch FROM c.called_at) / $1::bigint)::bigint, count(*) \
     FROM calls c JOIN paths p ON p.id = c.path_id WHERE p.site_id = $2 GROUP BY 1, 2";
const DELETE_SITE_DAILY: &str = "DELETE FROM daily_counts WHERE path_id IN (SELECT id FROM paths WHERE site_id = $1)";
const INSERT_DAILY: &str = "INSERT INTO daily_counts (path_id, day, count) \
     SELECT p, DATE '1970-01-01' + d, n FROM unnest($1::bigint[], $2::int[], $3::bigint[]) AS t(p, d, n)";

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

    async fn migrate_now(&self) -> Result<(), StoreError> {
        let mut client = self.connections.checkout().await?;
        let tx = client.transaction().await?;
        // Building an index over a large table may take longer than a query may.
        set_local_statement_timeout(&tx, MIGRATE_DEADLINE).await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        schema::prepare(&tx).await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (\
             version bigint PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await?;
        let newest: i64 = tx
            .query_one("SELECT coalesce(max(version), 0) FROM schema_migrations", &[])
            .await?
            .try_get(0)?;
        for migration in migrations::plan(newest, migrations::POSTGRES)? {
            tx.batch_execute(migration.sql).await?;
            tx.execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)",
                &[&migration.version],
            )
            .await?;
        }
        tx.commit().await?;
        client.release();
        Ok(())
    }

    async fn record_now(&self, batch: Batch<'_>) -> Result<Committed, StoreError> {
        let sums = sum_batch(batch.hits);
        let call_paths: Vec<PathId> = batch.hits.iter().map(|h| h.path).collect();
        let call_times: Vec<SystemTime> = batch.hits.iter().map(|h| SystemTime::from(h.at)).collect();
        let (day_paths, days, day_counts) = sums.per_day.iter().fold(
            (Vec::new(), Vec::new(), Vec::new()),
            |(mut p, mut d, mut n), &(path, day, count)| {
                p.push(path);
                d.push(day);
                n.push(count);
                (p, d, n)
            },
        );
        let total_paths: Vec<PathId> = sums.per_path.iter().map(|s| s.path).collect();
        let totals: Vec<i64> = sums.per_path.iter().map(|s| s.calls).collect();
        let firsts: Vec<SystemTime> = sums.per_path.iter().map(|s| SystemTime::from(s.first)).collect();
        let lasts: Vec<SystemTime> = sums.per_path.iter().map(|s| SystemTime::from(s.last)).collect();
        let tally = tallies::Columns::of(batch.tallies);

        let client = self.connections.checkout().await?;
        let (mark, insert, upsert, update, add) = tokio::try_join!(
            client.prepare_cached(MARK_BATCH),
            client.prepare_cached(INSERT_CALLS),
            client.prepare_cached(UPSERT_DAILY),
            client.prepare_cached(UPDATE_TOTALS),
            client.prepare_cached(tallies::ADD),
        )?;
        let mark_params: [&(dyn ToSql + Sync); 2] = [&batch.id, &batch.settled];
        let insert_params: [&(dyn ToSql + Sync); 2] = [&call_paths, &call_times];
        let upsert_params: [&(dyn ToSql + Sync); 3] = [&day_paths, &days, &day_counts];
        let update_params: [&(dyn ToSql + Sync); 4] = [&total_paths, &totals, &firsts, &lasts];
        let [proxied, bot, prefetch, ignored, foreign_embed] = &tally.series;
        let tally_params: [&(dyn ToSql + Sync); 7] = [
            &tally.paths,
            &tally.days,
            proxied,
            bot,
            prefetch,
            ignored,
            foreign_embed,
        ];
        // Most batches carry no tallies: they send no statement for them.
        let add_tallies = async {
            if tally.paths.is_empty() {
                Ok(0)
            } else {
                client.execute(&add, &tally_params).await
            }
        };
        // The whole transaction goes out in one round trip: tokio-postgres
        // sends each request when first polled, and a biased try_join polls
        // them in order, every time. If a statement fails, PostgreSQL
        // rejects the rest and turns the COMMIT into a rollback, and the
        // first error comes back here: an unbiased try_join starts each poll
        // at another future, and could return a later statement's "current
        // transaction is aborted" instead of the batch id's conflict.
        let outcome = tokio::try_join!(
            biased;
            client.simple_query(BEGIN_BATCH),
            client.execute(&mark, &mark_params),
            client.execute(&insert, &insert_params),
            client.execute(&upsert, &upsert_params),
            client.execute(&update, &update_params),
            add_tallies,
            client.simple_query("COMMIT"),
        );
        match outcome {
            Ok(_) => {
                client.release();
                Ok(Committed::Now)
            }
            Err(e) => {
                let error = PgError(e);
                // The id is taken: an earlier attempt of this batch committed.
                if error.code() == Some("23505") && error.constraint() == Some("recorded_batches_pkey") {
                    client.release();
                    Ok(Committed::Earlier)
                } else {
                    Err(StoreError::Postgres(error))
                }
            }
        }
    }

    async fn rebuild_now(&self, site: SiteId, zone: Zone) -> Result<u64, StoreError> {
        let mut client = self.connections.checkout().await?;
        let tx = client.transaction().await?;
        // Writers block on this lock until we commit; their calls, inserted
        // before they blocked, are not yet visible to us and add their own
        // per-day counts after, so nothing is lost or doubled.
        set_local_statement_timeout(&tx, REBUILD_DEADLINE).await?;
        tx.batch_execute("LOCK TABLE daily_counts IN EXCLUSIVE MODE").await?;
        let slots = tx
            .query(SITE_SLOTS, &[&SLOT_SECONDS, &site])
            .await?
            .iter()
            .map(|r| slot(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let days = days_from_slots(slots, &zone);
        tx.execute(DELETE_SITE_DAILY, &[&site]).await?;
        let (paths, (day_numbers, counts)): (Vec<PathId>, (Vec<DayNumber>, Vec<i64>)) =
            days.iter().map(|&(p, d, n)| (p, (d, n))).unzip();
        tx.execute(INSERT_DAILY, &[&paths, &day_numbers, &counts]).await?;
        tx.commit().await?;
        client.release();
        Ok(days.len() as u64)
    }
}

impl PostgresStore {
    async fn rename_now(&self, from: &str, to: &str) -> Result<RenameOutcome, StoreError> {
        let mut client = self.connections.checkout().await?;
        let tx = client.transaction().await?;
        let site_of = |slug: &str| {
            let tx = &tx;
            let slug = slug.to_owned();
            async move {
                let row = tx
                    .query_opt(
                        "SELECT s.id, (SELECT count(*) FROM paths p WHERE p.site_id = s.id) \
                         FROM sites s WHERE s.slug = $1 FOR UPDATE",
                        &[&slug],
                    )
                    .await?;
                row.map(|r| Ok::<_, StoreError>((r.try_get::<_, SiteId>(0)?, count_from_db(r.try_get(1)?))))
                    .transpose()
            }
        };
        let Some((from_id, pages)) = site_of(from).await? else {
            return Ok(RenameOutcome::NoSuchSite);
        };
        if let Some((to_id, to_pages)) = site_of(to).await? {
            if to_pages > 0 {
                return Ok(RenameOutcome::TargetHasPages { pages: to_pages });
            }
            tx.execute("DELETE FROM sites WHERE id = $1", &[&to_id]).await?;
        }
        tx.execute("UPDATE sites SET slug = $2 WHERE id = $1", &[&from_id, &to])
            .await?;
        tx.commit().await?;
        client.release();
        Ok(RenameOutcome::Renamed { pages })
    }
}

/// Lets the rest of a transaction run for up to `limit` per statement.
async fn set_local_statement_timeout(
    tx: &deadpool_postgres::Transaction<'_>,
    limit: Duration,
) -> Result<(), StoreError> {
    let millis = limit.as_millis().to_string();
    tx.execute("SELECT set_config('statement_timeout', $1, true)", &[&millis])
        .await?;
    Ok(())
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
