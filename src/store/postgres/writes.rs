//! The PostgreSQL store's writes besides a batch (`batch`): migrations,
//! rebuilding a site's per-day counts, renaming a site; and the
//! per-transaction statement timeout the owner's longer changes raise.
//! Methods of `PostgresStore`, kept apart from its reads.

use std::time::Duration;

use super::super::rules::{count_from_db, days_from_slots, slot};
use super::super::{migrations, PathId, RenameOutcome, SiteId, StoreError, MIGRATE_DEADLINE, REBUILD_DEADLINE};
use super::{open_days, schema, site_days, PostgresStore};
use crate::zone::{DayNumber, Zone};

/// Serializes migrations across processes (any fixed number, unique to us).
const MIGRATION_LOCK: i64 = 0x466f_6f74_6661_6c6c; // "Footfall"
/// Every row lies inside its slot, so per-slot counts need no call times.
const SITE_SLOTS: &str = "SELECT c.path_id, c.slot, sum(c.calls)::bigint \
     FROM call_rows c JOIN paths p ON p.id = c.path_id WHERE p.site_id = $1 GROUP BY 1, 2";
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

    pub(super) async fn rebuild_now(&self, site: SiteId, zone: Zone) -> Result<u64, StoreError> {
        let mut client = self.connections.checkout().await?;
        let tx = client.transaction().await?;
        // Writers block on this lock until we commit; their calls, inserted
        // before they blocked, are not yet visible to us and add their own
        // per-day counts after, so nothing is lost or doubled.
        set_local_statement_timeout(&tx, REBUILD_DEADLINE).await?;
        // Pages first, as batches take them: a batch holding a page may
        // wait for `daily_counts`, never the other way round.
        tx.batch_execute("LOCK TABLE paths, daily_counts IN EXCLUSIVE MODE")
            .await?;
        let slots = tx
            .query(SITE_SLOTS, &[&site])
            .await?
            .iter()
            .map(|r| slot(r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let days = days_from_slots(slots, &zone);
        tx.execute(DELETE_SITE_DAILY, &[&site]).await?;
        let (paths, (day_numbers, counts)): (Vec<PathId>, (Vec<DayNumber>, Vec<i64>)) =
            days.iter().map(|&(p, d, n)| (p, (d, n))).unzip();
        tx.execute(INSERT_DAILY, &[&paths, &day_numbers, &counts]).await?;
        // The history holds the open days' calls too: those counts go.
        open_days::seal_site(&tx, site).await?;
        tx.execute(
            "UPDATE sites SET days_changed = days_changed + 1 WHERE id = $1",
            &[&site],
        )
        .await?;
        site_days::recompute(&tx, site).await?;
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
