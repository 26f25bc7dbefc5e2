//! The PostgreSQL store: a deadpool pool of tokio-postgres connections.
//!
//! The pool's timeouts make an outage a fast error (turned into 503s above),
//! and connections are verified on reuse, so a PostgreSQL restart heals
//! without restarting Footfall. All SQL is parameterized; handlers never see it.

use std::time::{Duration, SystemTime};

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::types::ToSql;
use tokio_postgres::NoTls;

use super::{
    days_from_slots, sort_counts, sum_batch, Hit, Migration, PathCount, PathId, SlotCount, Store, StoreError,
    StoreFuture, Summary, SLOT_SECONDS,
};
use crate::config::DbConfig;
use crate::count::path::PagePath;
use crate::zone::{DayNumber, Zone};
use jiff::Timestamp;

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        sql: include_str!("../../sql/postgres/0001_init.sql"),
    },
    Migration {
        version: 2,
        sql: include_str!("../../sql/postgres/0002_daily_counts_by_day.sql"),
    },
];

/// Serializes migrations across processes (any fixed number, unique to us).
const MIGRATION_LOCK: i64 = 0x466f_6f74_6661_6c6c; // "Footfall"

const POOL_SIZE: usize = 16;
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const POOL_WAIT_TIMEOUT: Duration = Duration::from_secs(2);

const INSERT_CALLS: &str =
    "INSERT INTO calls (path_id, called_at) SELECT * FROM unnest($1::bigint[], $2::timestamptz[])";
const UPSERT_DAILY: &str = "INSERT INTO daily_counts (path_id, day, count) \
     SELECT p, DATE '1970-01-01' + d, n FROM unnest($1::bigint[], $2::int[], $3::bigint[]) AS t(p, d, n) \
     ON CONFLICT (path_id, day) DO UPDATE SET count = daily_counts.count + excluded.count";
const UPDATE_TOTALS: &str = "UPDATE paths SET total = paths.total + t.n, \
     first_call = LEAST(paths.first_call, t.first), last_call = GREATEST(paths.last_call, t.last) \
     FROM unnest($1::bigint[], $2::bigint[], $3::timestamptz[], $4::timestamptz[]) AS t(id, n, first, last) \
     WHERE paths.id = t.id";
const COUNTS_BETWEEN: &str =
    "SELECT p.path, sum(d.count)::bigint FROM daily_counts d JOIN paths p ON p.id = d.path_id \
     WHERE d.day BETWEEN DATE '1970-01-01' + $1::int AND DATE '1970-01-01' + $2::int GROUP BY p.path";
const PATH_SLOTS: &str = "SELECT path_id, floor(extract(epoch FROM called_at) / 900)::bigint, count(*) FROM calls \
     WHERE path_id = $1 AND called_at >= $2 AND called_at < $3 GROUP BY 1, 2";
const ALL_SLOTS: &str = "SELECT path_id, floor(extract(epoch FROM called_at) / 900)::bigint, count(*) FROM calls \
     WHERE called_at >= $1 AND called_at < $2 GROUP BY 1, 2";
const INSERT_DAILY: &str = "INSERT INTO daily_counts (path_id, day, count) \
     SELECT p, DATE '1970-01-01' + d, n FROM unnest($1::bigint[], $2::int[], $3::bigint[]) AS t(p, d, n)";
/// Starts a batch's transaction. A batch touches a few rows of `paths` and
/// `daily_counts` by key; left alone, the planner joins the small unnest
/// input against a full scan of `paths` (its row estimate for unnest is
/// generic), which makes every commit O(paths). Index lookups are O(batch).
const BEGIN_BATCH: &str = "BEGIN; SET LOCAL enable_hashjoin = off; SET LOCAL enable_mergejoin = off";
const REGISTER_PATH: &str =
    "WITH inserted AS (INSERT INTO paths (path) VALUES ($1) ON CONFLICT (path) DO NOTHING RETURNING id) \
     SELECT id FROM inserted UNION ALL SELECT id FROM paths WHERE path = $1 LIMIT 1";

pub struct PostgresStore {
    pool: Pool,
}

impl PostgresStore {
    /// Builds the pool; connects lazily, so a database that is not up yet is
    /// not an error here.
    ///
    /// # Errors
    /// Only when the pool itself cannot be built.
    pub fn new(db: &DbConfig) -> Result<Self, StoreError> {
        let mut pg = tokio_postgres::Config::new();
        pg.host(&db.host)
            .port(db.port)
            .user(&db.username)
            .password(db.password.expose())
            .dbname(&db.database)
            .application_name("footfall")
            .connect_timeout(CONNECT_TIMEOUT)
            .keepalives(true)
            .keepalives_idle(Duration::from_secs(30))
            // A statement stuck behind a lock must fail, not hold hits forever;
            // JIT compiles for longer than our short queries run.
            .options("-c statement_timeout=10000 -c jit=off");
        // Fast recycling checks that the connection is still open (a restarted
        // server closes it); keepalives notice a peer that vanished silently.
        // A test query per checkout would add a round trip to every batch.
        let manager = Manager::from_config(
            pg,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(POOL_WAIT_TIMEOUT))
            .create_timeout(Some(CONNECT_TIMEOUT))
            .recycle_timeout(Some(CONNECT_TIMEOUT))
            .build()
            .map_err(|e| StoreError::Task(format!("cannot build the PostgreSQL pool: {e}")))?;
        Ok(Self { pool })
    }

    async fn migrate_now(&self) -> Result<(), StoreError> {
        let mut client = self.pool.get().await?;
        let tx = client.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (\
             version bigint PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .await?;
        let newest: i64 = tx
            .query_one("SELECT coalesce(max(version), 0) FROM schema_migrations", &[])
            .await?
            .get(0);
        let known = MIGRATIONS.last().map_or(0, |m| m.version);
        if newest > known {
            return Err(StoreError::SchemaTooNew { found: newest, known });
        }
        for migration in MIGRATIONS.iter().filter(|m| m.version > newest) {
            tx.batch_execute(migration.sql).await?;
            tx.execute(
                "INSERT INTO schema_migrations (version) VALUES ($1)",
                &[&migration.version],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Runs a `(path, count)` query and sorts the rows as the API promises.
    async fn path_counts(&self, sql: &str, params: &[&(dyn ToSql + Sync)]) -> Result<Vec<PathCount>, StoreError> {
        let client = self.pool.get().await?;
        let statement = client.prepare_cached(sql).await?;
        let mut counts: Vec<PathCount> = client
            .query(&statement, params)
            .await?
            .iter()
            .map(|r| PathCount {
                path: r.get(0),
                count: r.get::<_, i64>(1).max(0) as u64,
            })
            .collect();
        sort_counts(&mut counts);
        Ok(counts)
    }

    async fn record_now(&self, hits: &[Hit]) -> Result<(), StoreError> {
        let sums = sum_batch(hits);
        let call_paths: Vec<PathId> = hits.iter().map(|h| h.path).collect();
        let call_times: Vec<SystemTime> = hits.iter().map(|h| SystemTime::from(h.at)).collect();
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

        let client = self.pool.get().await?;
        let (insert, upsert, update) = tokio::try_join!(
            client.prepare_cached(INSERT_CALLS),
            client.prepare_cached(UPSERT_DAILY),
            client.prepare_cached(UPDATE_TOTALS),
        )?;
        let insert_params: [&(dyn ToSql + Sync); 2] = [&call_paths, &call_times];
        let upsert_params: [&(dyn ToSql + Sync); 3] = [&day_paths, &days, &day_counts];
        let update_params: [&(dyn ToSql + Sync); 4] = [&total_paths, &totals, &firsts, &lasts];
        // The whole transaction goes out in one round trip: tokio-postgres
        // sends each request when first polled, and try_join polls them in
        // order. If a statement fails, PostgreSQL rejects the rest and turns
        // the COMMIT into a rollback; the error comes back here, so the batch
        // is reported failed and the connection is left outside a transaction.
        tokio::try_join!(
            client.simple_query(BEGIN_BATCH),
            client.execute(&insert, &insert_params),
            client.execute(&upsert, &upsert_params),
            client.execute(&update, &update_params),
            client.simple_query("COMMIT"),
        )?;
        Ok(())
    }
}

impl Store for PostgresStore {
    fn migrate(&self) -> StoreFuture<'_, ()> {
        Box::pin(self.migrate_now())
    }

    fn paths(&self) -> StoreFuture<'_, Vec<(PathId, String)>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            let rows = client.query("SELECT id, path FROM paths", &[]).await?;
            Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
        })
    }

    fn register_path<'a>(&'a self, path: &'a PagePath) -> StoreFuture<'a, PathId> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            let statement = client.prepare_cached(REGISTER_PATH).await?;
            Ok(client.query_one(&statement, &[&path.as_str()]).await?.get(0))
        })
    }

    fn record<'a>(&'a self, hits: &'a [Hit]) -> StoreFuture<'a, ()> {
        Box::pin(self.record_now(hits))
    }

    fn counts(&self) -> StoreFuture<'_, Vec<PathCount>> {
        Box::pin(self.path_counts("SELECT path, total FROM paths", &[]))
    }

    fn ping(&self) -> StoreFuture<'_, ()> {
        Box::pin(async move {
            self.pool.get().await?.simple_query("SELECT 1").await?;
            Ok(())
        })
    }

    fn counts_between(&self, from: DayNumber, to: DayNumber) -> StoreFuture<'_, Vec<PathCount>> {
        Box::pin(async move { self.path_counts(COUNTS_BETWEEN, &[&from, &to]).await })
    }

    fn summary(&self, path: PathId) -> StoreFuture<'_, Summary> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            let statement = client
                .prepare_cached("SELECT total, first_call, last_call FROM paths WHERE id = $1")
                .await?;
            let row = client.query_one(&statement, &[&path]).await?;
            Ok(Summary {
                total: row.get::<_, i64>(0).max(0) as u64,
                first: row.get::<_, Option<SystemTime>>(1).map(timestamp),
                last: row.get::<_, Option<SystemTime>>(2).map(timestamp),
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
            let client = self.pool.get().await?;
            let statement = client
                .prepare_cached(
                    "SELECT min(called_at), max(called_at) FROM calls \
                     WHERE path_id = $1 AND called_at >= $2 AND called_at < $3",
                )
                .await?;
            let row = client
                .query_one(&statement, &[&path, &SystemTime::from(from), &SystemTime::from(until)])
                .await?;
            let first: Option<SystemTime> = row.get(0);
            let last: Option<SystemTime> = row.get(1);
            Ok(first.zip(last).map(|(f, l)| (timestamp(f), timestamp(l))))
        })
    }

    fn daily(&self, path: PathId) -> StoreFuture<'_, Vec<(DayNumber, u64)>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            let statement = client
                .prepare_cached(
                    "SELECT day - DATE '1970-01-01', count FROM daily_counts WHERE path_id = $1 ORDER BY day",
                )
                .await?;
            let rows = client.query(&statement, &[&path]).await?;
            Ok(rows
                .iter()
                .map(|r| (r.get(0), r.get::<_, i64>(1).max(0) as u64))
                .collect())
        })
    }

    fn calls(&self, path: PathId, after: Timestamp, until: Timestamp, limit: usize) -> StoreFuture<'_, Vec<Timestamp>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            let statement = client
                .prepare_cached(
                    "SELECT called_at FROM calls WHERE path_id = $1 AND called_at > $2 AND called_at < $3 \
                     ORDER BY called_at LIMIT $4",
                )
                .await?;
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = client
                .query(
                    &statement,
                    &[&path, &SystemTime::from(after), &SystemTime::from(until), &limit],
                )
                .await?;
            Ok(rows.iter().map(|r| timestamp(r.get(0))).collect())
        })
    }

    fn slots(&self, path: Option<PathId>, from: Timestamp, until: Timestamp) -> StoreFuture<'_, Vec<SlotCount>> {
        Box::pin(async move {
            let client = self.pool.get().await?;
            let (from, until) = (SystemTime::from(from), SystemTime::from(until));
            let rows = match path {
                Some(path) => {
                    let statement = client.prepare_cached(PATH_SLOTS).await?;
                    client.query(&statement, &[&path, &from, &until]).await?
                }
                None => {
                    let statement = client.prepare_cached(ALL_SLOTS).await?;
                    client.query(&statement, &[&from, &until]).await?
                }
            };
            Ok(rows.iter().map(slot_count).collect())
        })
    }

    fn rebuild_daily(&self, zone: Zone) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let mut client = self.pool.get().await?;
            let tx = client.transaction().await?;
            // Writers block on this lock until we commit; their calls, inserted
            // before they blocked, are not yet visible to us and add their own
            // per-day counts after, so nothing is lost or doubled.
            tx.batch_execute("SET LOCAL statement_timeout = 0; LOCK TABLE daily_counts IN EXCLUSIVE MODE")
                .await?;
            let rows = tx
                .query(
                    "SELECT path_id, floor(extract(epoch FROM called_at) / 900)::bigint, count(*) FROM calls GROUP BY 1, 2",
                    &[],
                )
                .await?;
            let days = days_from_slots(rows.iter().map(slot_count), &zone);
            tx.batch_execute("DELETE FROM daily_counts").await?;
            let (paths, (day_numbers, counts)): (Vec<PathId>, (Vec<DayNumber>, Vec<i64>)) =
                days.iter().map(|&(p, d, n)| (p, (d, n))).unzip();
            tx.execute(INSERT_DAILY, &[&paths, &day_numbers, &counts]).await?;
            tx.commit().await?;
            Ok(days.len() as u64)
        })
    }
}

fn timestamp(at: SystemTime) -> Timestamp {
    // PostgreSQL's range fits jiff's except for dates no clock produces.
    Timestamp::try_from(at).unwrap_or(Timestamp::UNIX_EPOCH)
}

fn slot_count(row: &tokio_postgres::Row) -> SlotCount {
    SlotCount {
        path: row.get(0),
        slot_start: Timestamp::from_second(row.get::<_, i64>(1) * SLOT_SECONDS).unwrap_or(Timestamp::UNIX_EPOCH),
        calls: row.get::<_, i64>(2).max(0) as u64,
    }
}
