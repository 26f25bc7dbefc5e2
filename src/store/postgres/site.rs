//! The PostgreSQL side of the site-wide reads behind the dashboard: every
//! page's `paths` row, and the site's calls per day. Days are bound as day
//! numbers from 1970-01-01, like the other reads.

use std::time::SystemTime;

use super::super::rules::{count_from_db, time_from_system};
use super::super::{PageRow, SiteId, StoreError};
use super::PostgresStore;
use crate::zone::DayNumber;

const PAGE_ROWS: &str = "SELECT path, total + start_count, last_call FROM paths WHERE site_id = $1";
/// One row per day from `site_days`, which the writers of `daily_counts` keep
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
                let path: String = r.try_get(0)?;
                let last = r
                    .try_get::<_, Option<SystemTime>>(2)?
                    .map(|t| time_from_system(t, &format!("paths.last_call of {path}")))
                    .transpose()?;
                Ok(PageRow {
                    total: count_from_db(r.try_get(1)?),
                    last,
                    path,
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
