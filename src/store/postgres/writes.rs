//! The PostgreSQL store's writes: migrations, a batch of hits in one
//! pipelined transaction (one round trip), rebuilding a site's per-day
//! counts, renaming a site; and the per-transaction statement timeout the
//! owner's longer changes raise. Methods of `PostgresStore`, kept apart from
//! its reads.

/// Serializes migrations across processes (any fixed number, unique to us).
use std::time::{Duration, SystemTime};

use tokio_postgres::types::ToSql;

use super::super::rules::{count_from_db, days_from_slots, slot, sum_batch, SLOT_SECONDS};
use super::super::{
    migrations, Batch, Committed, PathId, PgError, RenameOutcome, SiteId, StoreError, MIGRATE_DEADLINE,
    REBUILD_DEADLINE,
};
use super::{dimensions, schema, tallies, PostgresStore};
use crate::zone::{DayNumber, Zone};

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
const SITE_SLOTS: &str = "SELECT c.path_id, floor(extract(epoch FROM c.called_at) / $1::bigint)::bigint, count(*) \
     FROM calls c JOIN paths p ON p.id = c.path_id WHERE p.site_id = $2 GROUP BY 1, 2";
const DELETE_SITE_DAILY: &str = "DELETE FROM daily_counts WHERE path_id IN (SELECT id FROM paths WHERE site_id = $1)";
const INSERT_DAILY: &str = "INSERT INTO daily_counts (path_id, day, count) \
     SELECT p, DATE '1970-01-01' + d, n FROM unnest($1::bigint[], $2::int[], $3::bigint[]) AS t(p, d, n)";

impl PostgresStore {
    pub(super) async fn migrate_now(&self) -> Result<(), StoreError> {
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

    pub(super) async fn record_now(&self, batch: Batch<'_>) -> Result<Committed, StoreError> {
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
        let dims = dimensions::Columns::of(batch.dimensions.rows);
        let max_values = i64::from(batch.dimensions.max_values);

        let client = self.connections.checkout().await?;
        let (mark, insert, upsert, update, add, add_dims) = tokio::try_join!(
            client.prepare_cached(MARK_BATCH),
            client.prepare_cached(INSERT_CALLS),
            client.prepare_cached(UPSERT_DAILY),
            client.prepare_cached(UPDATE_TOTALS),
            client.prepare_cached(tallies::ADD),
            client.prepare_cached(dimensions::ADD),
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
        let dims_params: [&(dyn ToSql + Sync); 6] = [
            &dims.paths,
            &dims.dimensions,
            &dims.days,
            &dims.values,
            &dims.counts,
            &max_values,
        ];
        let add_dimensions = async {
            if dims.paths.is_empty() {
                Ok(0)
            } else {
                client.execute(&add_dims, &dims_params).await
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
            add_dimensions,
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

    pub(super) async fn rebuild_now(&self, site: SiteId, zone: Zone) -> Result<u64, StoreError> {
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

    pub(super) async fn rename_now(&self, from: &str, to: &str) -> Result<RenameOutcome, StoreError> {
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
pub(crate) async fn set_local_statement_timeout(
    tx: &deadpool_postgres::Transaction<'_>,
    limit: Duration,
) -> Result<(), StoreError> {
    let millis = limit.as_millis().to_string();
    tx.execute("SELECT set_config('statement_timeout', $1, true)", &[&millis])
        .await?;
    Ok(())
}
