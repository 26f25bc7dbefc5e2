//! The PostgreSQL side of the site-wide reads behind the dashboard: every
//! page's `paths` row, each page's calls in a period by id, the token that
//! tells whether those changed, and the site's calls per day. Days are bound as day
//! numbers from 1970-01-01, like the other reads.

use std::time::SystemTime;

use super::super::rules::{count_from_db, time_from_system};
use super::super::{DaysToken, PageRow, PathId, SiteId, StoreError};
use super::PostgresStore;
use crate::zone::DayNumber;

const PAGE_ROWS: &str = "SELECT id, path, total + start_count, last_call FROM paths WHERE site_id = $1";
/// The period's per-day counts (`daily_counts_day_path_id`, and the open
/// days by `paths_open_day`) summed by page id in one hash aggregate:
/// joining every per-day row to `paths` and grouping by path cost 3 times
/// as much (see bench/READ_RESULTS.md).
const PERIOD_COUNTS: &str = "SELECT path_id, sum(count)::bigint FROM day_counts \
     WHERE day BETWEEN DATE '1970-01-01' + $1::int AND DATE '1970-01-01' + $2::int GROUP BY path_id";
const DAYS_TOKEN: &str = "SELECT s.days_changed, (SELECT coalesce(sum(d.count), 0)::bigint FROM site_days d \
     WHERE d.site_id = s.id AND d.day BETWEEN DATE '1970-01-01' + $2::int AND DATE '1970-01-01' + $3::int) \
     FROM sites s WHERE s.id = $1";
/// One row per day from `site_days`, which the writers of per-day counts keep
/// (see its migration): the cost follows the days in the range, not the pages.
const SITE_DAILY: &str = "SELECT day - DATE '1970-01-01', count FROM site_days \
     WHERE site_id = $1 AND day BETWEEN DATE '1970-01-01' + $2::int AND DATE '1970-01-01' + $3::int \
     AND count <> 0 ORDER BY day";

impl PostgresStore {
    pub(super) async fn page_rows_now(&self, site: SiteId) -> Result<Vec<PageRow>, StoreError> {
        self.query(PAGE_ROWS, &[&site])
            .await?
            .iter()
            .map(|r| {
                let last = r
                    .try_get::<_, Option<SystemTime>>(3)?
                    .map(|t| time_from_system(t, "paths.last_call"))
                    .transpose()?;
                Ok(PageRow {
                    id: r.try_get(0)?,
                    path: r.try_get(1)?,
                    total: count_from_db(r.try_get(2)?),
                    last,
                })
            })
            .collect()
    }

    pub(super) async fn period_counts_now(
        &self,
        from: DayNumber,
        to: DayNumber,
    ) -> Result<Vec<(PathId, u64)>, StoreError> {
        Ok(self
            .query(PERIOD_COUNTS, &[&from, &to])
            .await?
            .iter()
            .map(|r| Ok((r.try_get(0)?, count_from_db(r.try_get(1)?))))
            .collect::<Result<_, tokio_postgres::Error>>()?)
    }

    pub(super) async fn days_token_now(
        &self,
        site: SiteId,
        from: DayNumber,
        to: DayNumber,
    ) -> Result<DaysToken, StoreError> {
        let rows = self.query(DAYS_TOKEN, &[&site, &from, &to]).await?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::corrupt(format!("no site {site}")))?;
        Ok(DaysToken {
            changes: row.try_get(0)?,
            calls: count_from_db(row.try_get(1)?),
        })
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
