//! The SQLite side of links: adding a batch's clicks inside its
//! transaction, and the link reads. Days are numbers (day 0 is
//! 1970-01-01) and times microseconds, as for calls.

use rusqlite::{params, OptionalExtension, Transaction};

use super::super::links::{sum_clicks, LinkRow, LinkStore};
use super::super::rules::{count_from_db, time_from_micros};
use super::super::{within, Click, SiteId, StoreError, StoreFuture, PATHS_DEADLINE};
use super::SqliteStore;
use crate::zone::DayNumber;

const UPSERT_LINK: &str = "INSERT INTO links (site_id, link, name, host, total, first_click, last_click) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (site_id, link) DO UPDATE SET total = total + excluded.total, \
     first_click = min(coalesce(first_click, excluded.first_click), excluded.first_click), \
     last_click = max(coalesce(last_click, excluded.last_click), excluded.last_click)";
const ADD_DAY: &str = "INSERT INTO link_daily (link_id, day, count) \
     SELECT id, ?3, ?4 FROM links WHERE site_id = ?1 AND link = ?2 \
     ON CONFLICT (link_id, day) DO UPDATE SET count = count + excluded.count";

/// Adds a batch's clicks to their links (created by the first click) and days, in `tx`.
pub(super) fn add(tx: &Transaction<'_>, clicks: &[Click]) -> Result<(), StoreError> {
    if clicks.is_empty() {
        return Ok(());
    }
    let (links, days) = sum_clicks(clicks);
    let mut upsert = tx.prepare_cached(UPSERT_LINK)?;
    for l in &links {
        upsert.execute(params![
            l.site,
            l.link,
            l.name,
            l.host,
            l.clicks,
            l.first.as_microsecond(),
            l.last.as_microsecond()
        ])?;
    }
    let mut add_day = tx.prepare_cached(ADD_DAY)?;
    for (site, link, day, n) in days {
        add_day.execute(params![site, link, day, n])?;
    }
    Ok(())
}

impl LinkStore for SqliteStore {
    fn link_ids(&self, site: SiteId) -> StoreFuture<'_, Vec<String>> {
        Box::pin(within(
            PATHS_DEADLINE,
            Self::with(&self.reader, move |conn| {
                let mut statement = conn.prepare_cached("SELECT link FROM links WHERE site_id = ?1")?;
                let rows = statement.query_map([site], |r| r.get(0))?;
                Ok(rows.collect::<Result<_, _>>()?)
            }),
        ))
    }

    fn links(&self, site: SiteId) -> StoreFuture<'_, Vec<LinkRow>> {
        Self::with(&self.reader, move |conn| {
            let mut statement = conn.prepare_cached(
                "SELECT link, name, host, total, last_click FROM links WHERE site_id = ?1 ORDER BY total DESC, link",
            )?;
            let rows = statement.query_map([site], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<String>>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                    r.get::<_, Option<i64>>(4)?,
                ))
            })?;
            rows.map(|row| {
                let (link, name, host, total, last) = row?;
                Ok(LinkRow {
                    link,
                    name,
                    host,
                    total: count_from_db(total),
                    last_click: last.map(|t| time_from_micros(t, "a link's last click")).transpose()?,
                })
            })
            .collect()
        })
    }

    fn link_daily<'a>(&'a self, site: SiteId, link: &'a str) -> StoreFuture<'a, Option<Vec<(DayNumber, u64)>>> {
        let link = link.to_owned();
        Self::with(&self.reader, move |conn| {
            let id: Option<i64> = conn
                .prepare_cached("SELECT id FROM links WHERE site_id = ?1 AND link = ?2")?
                .query_row(params![site, link], |r| r.get(0))
                .optional()?;
            let Some(id) = id else { return Ok(None) };
            let mut statement =
                conn.prepare_cached("SELECT day, count FROM link_daily WHERE link_id = ?1 ORDER BY day")?;
            let rows = statement.query_map([id], |r| Ok((r.get(0)?, count_from_db(r.get(1)?))))?;
            Ok(Some(rows.collect::<Result<_, _>>()?))
        })
    }
}
