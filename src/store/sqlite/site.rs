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

/// One seek per page on the `(path_id, day)` key of `daily_counts`: the
/// cost follows the site's pages times the days in the range.
pub(super) fn site_daily(
    conn: &Connection,
    site: SiteId,
    from: DayNumber,
    to: DayNumber,
) -> Result<Vec<(DayNumber, u64)>, StoreError> {
    let mut statement = conn.prepare_cached(
        "SELECT d.day, sum(d.count) FROM daily_counts d JOIN paths p ON p.id = d.path_id \
         WHERE p.site_id = ?1 AND d.day BETWEEN ?2 AND ?3 GROUP BY d.day ORDER BY d.day",
    )?;
    let rows = statement.query_map(params![site, from, to], |r| {
        Ok((r.get::<_, DayNumber>(0)?, count_from_db(r.get(1)?)))
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
