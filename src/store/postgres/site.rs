//! The PostgreSQL side of the site-wide reads behind the dashboard: every
//! page's `paths` row, and the site's calls per day. Days are bound as day
//! numbers from 1970-01-01, like the other reads.

use std::time::SystemTime;

use super::super::rules::{count_from_db, time_from_system};
use super::super::{PageRow, SiteId, StoreError};
use super::PostgresStore;
use crate::zone::DayNumber;

const PAGE_ROWS: &str = "SELECT path, total + start_count, last_call, 0::bigint FROM paths WHERE site_id = $1";
/// The period's per-day counts (`daily_counts_day_path_id`) summed by page
/// id in one hash aggregate, then joined to the site's pages: grouping by
/// path and joining every per-day row to `paths` first cost 3 times as much
/// (see bench/READ_RESULTS.md). Other sites' rows of the period are summed
/// too and dropped by the join.
const PAGE_ROWS_IN: &str = "SELECT p.path, p.total + p.start_count, p.last_call, coalesce(c.n, 0)::bigint \
     FROM paths p LEFT JOIN (SELECT path_id, sum(count) AS n FROM daily_counts \
     WHERE day BETWEEN DATE '1970-01-01' + $2::int AND DATE '1970-01-01' + $3::int GROUP BY path_id) c \
     ON c.path_id = p.id WHERE p.site_id = $1";
/// One row per day from `site_days`, which the writers of `daily_counts` keep
/// (see its migration): the cost follows the days in the range, not the pages.
const SITE_DAILY: &str = "SELECT day - DATE '1970-01-01', count FROM site_days \
     WHERE site_id = $1 AND day BETWEEN DATE '1970-01-01' + $2::int AND DATE '1970-01-01' + $3::int \
     AND count <> 0 ORDER BY day";

impl PostgresStore {
    pub(super) async fn page_rows_now(
        &self,
        site: SiteId,
        period: Option<(DayNumber, DayNumber)>,
    ) -> Result<Vec<PageRow>, StoreError> {
        let rows = match period {
            Some((from, to)) => self.query(PAGE_ROWS_IN, &[&site, &from, &to]).await?,
            None => self.query(PAGE_ROWS, &[&site]).await?,
        };
        rows.iter()
            .map(|r| {
                let last = r
                    .try_get::<_, Option<SystemTime>>(2)?
                    .map(|t| time_from_system(t, "paths.last_call"))
                    .transpose()?;
                Ok(PageRow {
                    path: r.try_get(0)?,
                    total: count_from_db(r.try_get(1)?),
                    last,
                    period: count_from_db(r.try_get(3)?),
                })
            })
            .collect()
    }

    pub(super) async fn site_daily_now(
        &self,
        site: SiteId,
        from: DayNumber,
        to: DayNumber,
    ) -> Result<Vec<(DayNumber, u64)>, StoreError> {
        Ok(self
            .query(SITE_DAILY, &[&site, &from, &to])
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, count_from_db(r.try_get(1)?))))
            .collect::<Result<_, tokio_postgres::Error>>()?)
    }
}
