//! The PostgreSQL side of links: the two statements that add a batch's
//! clicks inside its pipelined transaction (links first, created by their
//! first click, then their days, which look the links up by key), and the
//! link reads. Days are `date`s bound as day numbers from 1970-01-01.

use std::time::SystemTime;

use super::super::links::{sum_clicks, LinkRow, LinkStore};
use super::super::rules::{count_from_db, time_from_system};
use super::super::{within, Click, SiteId, StoreError, StoreFuture, PATHS_DEADLINE};
use super::PostgresStore;
use crate::zone::DayNumber;

/// In key order, like the other upserts of a batch, so two writers lock rows in the same order.
pub(super) const UPSERT_LINKS: &str = "INSERT INTO links (site_id, link, name, host, total, first_click, last_click) \
     SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::timestamptz[], \
     $7::timestamptz[]) ON CONFLICT (site_id, link) DO UPDATE SET total = links.total + excluded.total, \
     first_click = LEAST(links.first_click, excluded.first_click), \
     last_click = GREATEST(links.last_click, excluded.last_click)";
pub(super) const ADD_DAYS: &str = "INSERT INTO link_daily (link_id, day, count) \
     SELECT l.id, DATE '1970-01-01' + t.d, t.n FROM unnest($1::bigint[], $2::text[], $3::int[], $4::bigint[]) \
     AS t(s, k, d, n) JOIN links l ON l.site_id = t.s AND l.link = t.k \
     ON CONFLICT (link_id, day) DO UPDATE SET count = link_daily.count + excluded.count";

/// A batch's clicks as the columns of [`UPSERT_LINKS`] and [`ADD_DAYS`].
#[derive(Default)]
pub(super) struct Columns {
    pub sites: Vec<SiteId>,
    pub links: Vec<String>,
    pub names: Vec<Option<String>>,
    pub hosts: Vec<String>,
    pub totals: Vec<i64>,
    pub firsts: Vec<SystemTime>,
    pub lasts: Vec<SystemTime>,
    pub day_sites: Vec<SiteId>,
    pub day_links: Vec<String>,
    pub days: Vec<DayNumber>,
    pub counts: Vec<i64>,
}

impl Columns {
    pub(super) fn of(clicks: &[Click]) -> Self {
        let mut c = Self::default();
        let (links, days) = sum_clicks(clicks);
        for l in links {
            c.sites.push(l.site);
            c.links.push(l.link.to_owned());
            c.names.push(l.name.map(str::to_owned));
            c.hosts.push(l.host.to_owned());
            c.totals.push(l.clicks);
            c.firsts.push(SystemTime::from(l.first));
            c.lasts.push(SystemTime::from(l.last));
        }
        for (site, link, day, n) in days {
            c.day_sites.push(site);
            c.day_links.push(link.to_owned());
            c.days.push(day);
            c.counts.push(n);
        }
        c
    }

    pub(super) fn is_empty(&self) -> bool {
        self.sites.is_empty()
    }
}

impl LinkStore for PostgresStore {
    fn link_ids(&self, site: SiteId) -> StoreFuture<'_, Vec<String>> {
        Box::pin(within(PATHS_DEADLINE, async move {
            let rows = self
                .query("SELECT link FROM links WHERE site_id = $1", &[&site])
                .await?;
            Ok(rows
                .iter()
                .map(|r| r.try_get(0))
                .collect::<Result<_, tokio_postgres::Error>>()?)
        }))
    }

    fn links(&self, site: SiteId) -> StoreFuture<'_, Vec<LinkRow>> {
        Box::pin(async move {
            let rows = self
                .query(
                    "SELECT link, name, host, total, last_click FROM links WHERE site_id = $1 \
                     ORDER BY total DESC, link COLLATE \"C\"",
                    &[&site],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(LinkRow {
                        link: r.try_get(0)?,
                        name: r.try_get(1)?,
                        host: r.try_get(2)?,
                        total: count_from_db(r.try_get(3)?),
                        last_click: r
                            .try_get::<_, Option<SystemTime>>(4)?
                            .map(|t| time_from_system(t, "a link's last click"))
                            .transpose()?,
                    })
                })
                .collect::<Result<_, StoreError>>()
        })
    }

    fn link_daily<'a>(&'a self, site: SiteId, link: &'a str) -> StoreFuture<'a, Option<Vec<(DayNumber, u64)>>> {
        Box::pin(async move {
            let found = self
                .query("SELECT id FROM links WHERE site_id = $1 AND link = $2", &[&site, &link])
                .await?;
            let Some(row) = found.first() else { return Ok(None) };
            let id: i64 = row.try_get(0)?;
            let rows = self
                .query(
                    "SELECT day - DATE '1970-01-01', count FROM link_daily WHERE link_id = $1 ORDER BY day",
                    &[&id],
                )
                .await?;
            Ok(Some(
                rows.iter()
                    .map(|r| Ok((r.try_get(0)?, count_from_db(r.try_get(1)?))))
                    .collect::<Result<_, tokio_postgres::Error>>()?,
            ))
        })
    }
}
