//! The PostgreSQL side of tallies: the statement that adds a batch's
//! tallies inside its pipelined transaction, and the three reads. Days are
//! `date`s, bound as day numbers from 1970-01-01 like `daily_counts`.

use tokio_postgres::Row;

use super::super::rules::count_from_db;
use super::super::tallies::to_db;
use super::super::{BadgeFigures, DayTallies, PageTallies, PathId, SiteId, StoreError, Tallies};
use super::PostgresStore;
use crate::zone::DayNumber;

/// Adds a batch's tallies; one row per (page, day), in key order like the
/// other upserts of a batch, so two writers lock rows in the same order.
pub(super) const ADD: &str =
    "INSERT INTO daily_tallies (path_id, day, proxied, bot, prefetch, ignored, foreign_embed) \
     SELECT p, DATE '1970-01-01' + d, a, b, c, e, f FROM unnest($1::bigint[], $2::int[], $3::bigint[], \
     $4::bigint[], $5::bigint[], $6::bigint[], $7::bigint[]) AS t(p, d, a, b, c, e, f) \
     ON CONFLICT (path_id, day) DO UPDATE SET proxied = daily_tallies.proxied + excluded.proxied, \
     bot = daily_tallies.bot + excluded.bot, prefetch = daily_tallies.prefetch + excluded.prefetch, \
     ignored = daily_tallies.ignored + excluded.ignored, \
     foreign_embed = daily_tallies.foreign_embed + excluded.foreign_embed";
const SUMS: &str = "sum(t.proxied)::bigint, sum(t.bot)::bigint, sum(t.prefetch)::bigint, sum(t.ignored)::bigint, \
     sum(t.foreign_embed)::bigint";
const DAYS: &str = "t.day BETWEEN DATE '1970-01-01' + $2::int AND DATE '1970-01-01' + $3::int";
const BADGE: &str = "SELECT p.total + p.start_count, \
     (SELECT count FROM day_counts WHERE path_id = p.id AND day = DATE '1970-01-01' + $2::int), \
     (SELECT sum(proxied)::bigint FROM daily_tallies WHERE path_id = p.id), \
     (SELECT proxied FROM daily_tallies WHERE path_id = p.id AND day = DATE '1970-01-01' + $2::int) \
     FROM paths p WHERE p.id = $1";

/// A batch's tallies as the columns [`ADD`] binds.
pub(super) struct Columns {
    pub paths: Vec<PathId>,
    pub days: Vec<DayNumber>,
    pub series: [Vec<i64>; 5],
}

impl Columns {
    pub(super) fn of(tallies: &[DayTallies]) -> Self {
        let mut columns = Self {
            paths: Vec::with_capacity(tallies.len()),
            days: Vec::with_capacity(tallies.len()),
            series: Default::default(),
        };
        for row in tallies {
            columns.paths.push(row.path);
            columns.days.push(row.day);
            for (column, (_, n)) in columns.series.iter_mut().zip(row.tallies.series()) {
                column.push(to_db(n));
            }
        }
        columns
    }
}

impl PostgresStore {
    pub(super) async fn tallies_between_now(
        &self,
        site: SiteId,
        from: DayNumber,
        to: DayNumber,
    ) -> Result<Vec<PageTallies>, StoreError> {
        let sql = format!(
            "SELECT p.path, {SUMS} FROM daily_tallies t JOIN paths p ON p.id = t.path_id \
             WHERE p.site_id = $1 AND {DAYS} GROUP BY p.path"
        );
        let mut pages = self
            .query(&sql, &[&site, &from, &to])
            .await?
            .iter()
            .map(|r| {
                Ok(PageTallies {
                    path: r.try_get(0)?,
                    tallies: tallies_from(r, 1)?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // By bytes, not by a collation, which differs between databases.
        pages.sort_by(|a, b| a.path.cmp(&b.path));
        pages.retain(|page| !page.tallies.is_empty());
        Ok(pages)
    }

    pub(super) async fn path_tallies_now(
        &self,
        path: PathId,
        from: DayNumber,
        to: DayNumber,
    ) -> Result<Tallies, StoreError> {
        let sql = format!("SELECT {SUMS} FROM daily_tallies t WHERE t.path_id = $1 AND {DAYS}");
        let rows = self.query(&sql, &[&path, &from, &to]).await?;
        rows.first().map_or(Ok(Tallies::default()), |r| tallies_from(r, 0))
    }

    pub(super) async fn badge_figures_now(&self, path: PathId, today: DayNumber) -> Result<BadgeFigures, StoreError> {
        let rows = self.query(BADGE, &[&path, &today]).await?;
        let row = rows
            .first()
            .ok_or_else(|| StoreError::corrupt(format!("path {path} has no row")))?;
        let n = |i| -> Result<u64, StoreError> { Ok(count_from_db(row.try_get::<_, Option<i64>>(i)?.unwrap_or(0))) };
        Ok(BadgeFigures {
            visitors_total: n(0)?,
            visitors_today: n(1)?,
            proxied_total: n(2)?,
            proxied_today: n(3)?,
        })
    }
}

/// Five sums from column `first` on; `NULL` (no rows) is zero.
fn tallies_from(row: &Row, first: usize) -> Result<Tallies, StoreError> {
    let n = |i: usize| -> Result<u64, StoreError> {
        Ok(count_from_db(row.try_get::<_, Option<i64>>(first + i)?.unwrap_or(0)))
    };
    Ok(Tallies {
        proxied: n(0)?,
        bot: n(1)?,
        prefetch: n(2)?,
        ignored: n(3)?,
        foreign_embed: n(4)?,
    })
}
