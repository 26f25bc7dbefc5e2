//! The SQLite side of the site-wide reads behind the dashboard: every
//! page's `paths` row, each page's calls in a period by id, the token that
//! tells whether those changed, and the site's calls per day. Days are numbers (day
//! 0 is 1970-01-01), as in `daily_counts`.

use std::collections::HashMap;

use rusqlite::{params, Connection};

use super::super::rules::{count_from_db, time_from_micros};
use super::super::{DaysToken, PageRow, PathId, SiteId, StoreError};
use crate::zone::DayNumber;

const PAGE_ROWS: &str = "SELECT id, path, total + start_count, last_call FROM paths WHERE site_id = ?1";
/// Every page's per-day counts in the period, one range of the index
/// `daily_counts_day_path_id` (each count then read from the table by its
/// key), summed by page here: a `GROUP BY` would sort them in a temporary
/// b-tree first.
const PERIOD_COUNTS: &str = "SELECT path_id, count FROM daily_counts WHERE day BETWEEN ?1 AND ?2";
const DAYS_TOKEN: &str = "SELECT s.days_changed, (SELECT coalesce(sum(d.count), 0) FROM site_days d \
     WHERE d.site_id = s.id AND d.day BETWEEN ?2 AND ?3) FROM sites s WHERE s.id = ?1";

pub(super) fn page_rows(conn: &Connection, site: SiteId) -> Result<Vec<PageRow>, StoreError> {
    let mut statement = conn.prepare_cached(PAGE_ROWS)?;
    let mut rows = statement.query([site])?;
    let mut pages = Vec::new();
    while let Some(row) = rows.next()? {
        pages.push(PageRow {
            id: row.get(0)?,
            path: row.get(1)?,
            total: count_from_db(row.get(2)?),
            last: row
                .get::<_, Option<i64>>(3)?
                .map(|micros| time_from_micros(micros, "paths.last_call"))
                .transpose()?,
        });
    }
    Ok(pages)
}

pub(super) fn period_counts(
    conn: &Connection,
    from: DayNumber,
    to: DayNumber,
) -> Result<Vec<(PathId, u64)>, StoreError> {
    let mut sums: HashMap<PathId, u64> = HashMap::new();
    let mut statement = conn.prepare_cached(PERIOD_COUNTS)?;
    let mut rows = statement.query(params![from, to])?;
    while let Some(row) = rows.next()? {
        *sums.entry(row.get(0)?).or_default() += count_from_db(row.get(1)?);
    }
    Ok(sums.into_iter().collect())
}

pub(super) fn days_token(
    conn: &Connection,
    site: SiteId,
    from: DayNumber,
    to: DayNumber,
) -> Result<DaysToken, StoreError> {
    let (changes, calls) = conn
        .prepare_cached(DAYS_TOKEN)?
        .query_row(params![site, from, to], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?))
        })?;
    Ok(DaysToken {
        changes,
        calls: count_from_db(calls),
    })
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
