//! The SQLite side of dimensions: adding a batch's dimension counts inside
//! its transaction, under the bound on values per (page, dimension, day)
//! and per (site, dimension, day), with the site's rows; the range read (a
//! site's from its rows, `site_dimensions`); and carrying the rows along
//! when a page is removed or merged. Days are numbers (day 0 is
//! 1970-01-01), as in `daily_counts`.

use rusqlite::{params, Connection, Transaction};

use super::super::dimensions::{fold, site_max_values};
use super::super::rules::count_from_db;
use super::super::{DimensionCount, Kind, PathId, Scope, StoreError, ValueCount, OTHER};
use crate::zone::DayNumber;

/// Adds `rows` (in key order) in `tx`, and each row as placed to its
/// site's `site_dimensions`. An agent row is a plain sum (its values are a
/// closed set). A country or referrer value the (page, kind, day) already
/// has, or `Other`, adds to its row; a new one gets a row while the day has
/// fewer than `max_values` values besides `Other` and the site's day has
/// the value or fewer than [`site_max_values`] besides it, and adds to
/// `Other` past that, so the site's rows stay the sums of its pages'. One
/// writer holds the database, so the bounds are exact.
pub(super) fn add(tx: &Transaction<'_>, rows: &[DimensionCount], max_values: u32) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    // A known value is one statement; only a new one checks the bound.
    let mut add = tx.prepare_cached(
        "UPDATE daily_dimensions SET count = count + ?5 WHERE path_id = ?1 AND dimension = ?2 AND day = ?3 AND value = ?4",
    )?;
    let mut held = tx.prepare_cached(
        "SELECT count(*) FROM daily_dimensions WHERE path_id = ?1 AND dimension = ?2 AND day = ?3 AND value <> 'Other'",
    )?;
    let mut upsert = tx.prepare_cached(
        "INSERT INTO daily_dimensions (path_id, dimension, day, value, count) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (path_id, dimension, day, value) DO UPDATE SET count = count + excluded.count",
    )?;
    let mut site = super::site_dimensions::Site::new(tx, site_max_values(max_values))?;
    for row in rows {
        let (kind, count) = (row.kind.code(), i64::try_from(row.count).unwrap_or(i64::MAX));
        if add.execute(params![row.path, kind, row.day, row.value, count])? > 0 {
            site.add(row.path, kind, row.day, &row.value, count)?;
            continue;
        }
        let room = !row.kind.bounded()
            || row.value == OTHER
            || (held.query_row(params![row.path, kind, row.day], |r| r.get::<_, i64>(0))? < i64::from(max_values)
                && site.has_room(row.path, kind, row.day, &row.value)?);
        let value = if room { row.value.as_str() } else { OTHER };
        upsert.execute(params![row.path, kind, row.day, value, count])?;
        site.add(row.path, kind, row.day, value, count)?;
    }
    Ok(())
}

/// Deletes page `id`'s dimension counts.
pub(super) fn delete(tx: &Transaction<'_>, id: PathId) -> Result<usize, StoreError> {
    Ok(tx.execute("DELETE FROM daily_dimensions WHERE path_id = ?1", [id])?)
}

/// Moves page `from`'s dimension counts to `into`, adding up per value (a
/// merged day may then hold more values than the bound; nothing counted is
/// folded away).
pub(super) fn merge(tx: &Transaction<'_>, from: PathId, into: PathId) -> Result<usize, StoreError> {
    // `WHERE` before `ON CONFLICT`: SQLite needs it to parse an upsert from a SELECT.
    let rows = tx.execute(
        "INSERT INTO daily_dimensions (path_id, dimension, day, value, count) \
         SELECT ?2, dimension, day, value, count FROM daily_dimensions WHERE path_id = ?1 \
         ON CONFLICT (path_id, dimension, day, value) DO UPDATE SET count = count + excluded.count",
        params![from, into],
    )?;
    tx.execute("DELETE FROM daily_dimensions WHERE path_id = ?1", [from])?;
    Ok(rows)
}

pub(super) fn counts(
    conn: &Connection,
    scope: Scope,
    kind: Kind,
    from: DayNumber,
    to: DayNumber,
) -> Result<Vec<ValueCount>, StoreError> {
    let (sql, owner) = match scope {
        Scope::Page(path) => (
            "SELECT d.value, sum(d.count) FROM daily_dimensions d \
             WHERE d.path_id = ?1 AND d.dimension = ?2 AND d.day BETWEEN ?3 AND ?4 GROUP BY d.value",
            path,
        ),
        Scope::Site(site) => (
            "SELECT d.value, sum(d.count) FROM site_dimensions d \
             WHERE d.site_id = ?1 AND d.dimension = ?2 AND d.day BETWEEN ?3 AND ?4 GROUP BY d.value",
            site,
        ),
    };
    let mut statement = conn.prepare_cached(sql)?;
    let rows = statement.query_map(params![owner, kind.code(), from, to], |r| {
        Ok(ValueCount {
            value: r.get(0)?,
            count: count_from_db(r.get(1)?),
        })
    })?;
    let values = rows.collect::<Result<Vec<_>, _>>()?;
    Ok(fold(values, |_| true, usize::MAX))
}
