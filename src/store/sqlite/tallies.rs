//! The SQLite side of tallies: adding a batch's tallies inside its
//! transaction, and the three reads. Days are numbers (day 0 is
//! 1970-01-01), as in `daily_counts`.

use rusqlite::{params, Connection, OptionalExtension, Transaction};

use super::super::rules::count_from_db;
use super::super::tallies::to_db;
use super::super::{BadgeFigures, DayTallies, PageTallies, PathId, SiteId, StoreError, Tallies};
use crate::zone::DayNumber;

const ADD: &str = "INSERT INTO daily_tallies (path_id, day, proxied, bot, prefetch, ignored, foreign_embed) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (path_id, day) DO UPDATE SET \
     proxied = proxied + excluded.proxied, bot = bot + excluded.bot, prefetch = prefetch + excluded.prefetch, \
     ignored = ignored + excluded.ignored, foreign_embed = foreign_embed + excluded.foreign_embed";
const SUMS: &str = "sum(t.proxied), sum(t.bot), sum(t.prefetch), sum(t.ignored), sum(t.foreign_embed)";

/// Adds `tallies` (ordered by key) to the stored ones, in `tx`.
pub(super) fn add(tx: &Transaction<'_>, tallies: &[DayTallies]) -> Result<(), StoreError> {
    if tallies.is_empty() {
        return Ok(());
    }
    let mut add = tx.prepare_cached(ADD)?;
    for row in tallies {
        let t = &row.tallies;
        add.execute(params![
            row.path,
            row.day,
            to_db(t.proxied),
            to_db(t.bot),
            to_db(t.prefetch),
            to_db(t.ignored),
            to_db(t.foreign_embed)
        ])?;
    }
    Ok(())
}

pub(super) fn between(
    conn: &Connection,
    site: SiteId,
    from: DayNumber,
    to: DayNumber,
) -> Result<Vec<PageTallies>, StoreError> {
    let sql = format!(
        "SELECT p.path, {SUMS} FROM daily_tallies t JOIN paths p ON p.id = t.path_id \
         WHERE p.site_id = ?1 AND t.day BETWEEN ?2 AND ?3 GROUP BY p.path"
    );
    let mut statement = conn.prepare_cached(&sql)?;
    let rows = statement.query_map(params![site, from, to], |r| {
        Ok(PageTallies {
            path: r.get(0)?,
            tallies: tallies_from(r, 1)?,
        })
    })?;
    let mut pages = rows.collect::<Result<Vec<_>, _>>()?;
    // By bytes, not by a collation, as `sort_counts` does.
    pages.sort_by(|a, b| a.path.cmp(&b.path));
    pages.retain(|page| !page.tallies.is_empty());
    Ok(pages)
}

pub(super) fn of_path(conn: &Connection, path: PathId, from: DayNumber, to: DayNumber) -> Result<Tallies, StoreError> {
    let sql = format!("SELECT {SUMS} FROM daily_tallies t WHERE t.path_id = ?1 AND t.day BETWEEN ?2 AND ?3");
    Ok(conn
        .prepare_cached(&sql)?
        .query_row(params![path, from, to], |r| tallies_from(r, 0))?)
}

pub(super) fn badge(conn: &Connection, path: PathId, today: DayNumber) -> Result<BadgeFigures, StoreError> {
    let row = conn
        .prepare_cached(
            "SELECT p.total + p.start_count, \
             (SELECT count FROM daily_counts WHERE path_id = p.id AND day = ?2), \
             (SELECT sum(proxied) FROM daily_tallies WHERE path_id = p.id), \
             (SELECT proxied FROM daily_tallies WHERE path_id = p.id AND day = ?2) \
             FROM paths p WHERE p.id = ?1",
        )?
        .query_row(params![path, today], |r| {
            let n = |i| r.get::<_, Option<i64>>(i).map(|v| count_from_db(v.unwrap_or(0)));
            Ok(BadgeFigures {
                visitors_total: n(0)?,
                visitors_today: n(1)?,
                proxied_total: n(2)?,
                proxied_today: n(3)?,
            })
        })
        .optional()?;
    row.ok_or_else(|| StoreError::corrupt(format!("path {path} has no row")))
}

/// Five sums from column `first` on; `NULL` (no rows) is zero.
fn tallies_from(r: &rusqlite::Row<'_>, first: usize) -> rusqlite::Result<Tallies> {
    let n = |i: usize| {
        r.get::<_, Option<i64>>(first + i)
            .map(|v| count_from_db(v.unwrap_or(0)))
    };
    Ok(Tallies {
        proxied: n(0)?,
        bot: n(1)?,
        prefetch: n(2)?,
        ignored: n(3)?,
        foreign_embed: n(4)?,
    })
}
