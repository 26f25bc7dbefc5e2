//! The SQLite side of the site-wide reads behind the dashboard: every
//! page's `paths` row, and the site's calls per day. Days are numbers (day
//! 0 is 1970-01-01), as in `daily_counts`.

use rusqlite::{params, Connection};

use super::super::rules::{count_from_db, time_from_micros};
use super::super::{PageRow, SiteId, StoreError};
use crate::zone::DayNumber;

pub(super) fn page_rows(conn: &Connection, site: SiteId) -> Result<Vec<PageRow>, StoreError> {
    let mut statement =
        conn.prepare_cached("SELECT path, total + start_count, last_call FROM paths WHERE site_id = ?1")?;
    let rows = statement.query_map([site], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, Option<i64>>(2)?))
    })?;
    rows.map(|row| {
        let (path, total, last) = row?;
        let last = last
            .map(|micros| time_from_micros(micros, &format!("paths.last_call of {path}")))
            .transpose()?;
        Ok(PageRow {
            total: count_from_db(total),
            last,
            path,
        })
    })
    .collect()
}

/// One row per day from `site_days`, which the writers of `daily_counts` keep
/// (see its migration): the cost follows the days in the range, not the pages.
pub(super) fn site_daily(
    conn: &Connection,
    site: SiteId,
    from: DayNumber,
    to: DayNumber,
) -> Result<Vec<(DayNumber, u64)>, StoreError> {
    let mut statement = conn.prepare_cached(
        "SELECT day, count FROM site_days WHERE site_id = ?1 AND day BETWEEN ?2 AND ?3 AND count <> 0 ORDER BY day",
    )?;
    let rows = statement.query_map(params![site, from, to], |r| {
        Ok((r.get::<_, DayNumber>(0)?, count_from_db(r.get(1)?)))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
