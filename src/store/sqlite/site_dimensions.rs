//! Keeps `site_dimensions` (each site's dimension counts per kind of row,
//! day and value: the sums of its pages' `daily_dimensions`) equal to what
//! it sums, in the transaction of every writer of `daily_dimensions`, as on
//! PostgreSQL (see `store::postgres::site_dimensions`): a batch adds each
//! row as placed (`dimensions::add`, with the site's bound), removing a
//! page takes its rows away, sweeping a removed page's late rows into
//! another adds them; merging pages of a site leaves the site's rows alone.
//!
//! Rows of a page without a `paths` row (late rows of a removed page, until
//! swept) belong to no site: each statement finds the site through `paths`.
//! SQLite has one writer at a time, so there is no lock order to keep.
//! Holds SQL only; the callers own the transactions.

use rusqlite::{params, CachedStatement, Connection};

use super::super::{PathId, StoreError, OTHER};
use crate::zone::DayNumber;

/// Adds (kind, day, value, count) of page `?1` to the page's site. `WHERE`
/// before `ON CONFLICT`: SQLite needs it to parse an upsert from a SELECT.
const ADD: &str = "INSERT INTO site_dimensions (site_id, dimension, day, value, count) \
     SELECT site_id, ?2, ?3, ?4, ?5 FROM paths WHERE id = ?1 \
     ON CONFLICT (site_id, dimension, day, value) DO UPDATE SET count = count + excluded.count";

/// Whether the site of page `?1` has value `?4` on (kind, day), and how
/// many values besides `Other` it has there.
const KNOWN: &str = "SELECT EXISTS (SELECT 1 FROM site_dimensions \
     WHERE site_id = (SELECT site_id FROM paths WHERE id = ?1) AND dimension = ?2 AND day = ?3 AND value = ?4)";
const HELD: &str = "SELECT count(*) FROM site_dimensions \
     WHERE site_id = (SELECT site_id FROM paths WHERE id = ?1) AND dimension = ?2 AND day = ?3 AND value <> 'Other'";

/// Adds page `?1`'s dimension rows, times `?3`, to the site of page `?2`.
const ADD_PAGE: &str = "INSERT INTO site_dimensions (site_id, dimension, day, value, count) \
     SELECT p.site_id, d.dimension, d.day, d.value, d.count * ?3 FROM daily_dimensions d JOIN paths p ON p.id = ?2 \
     WHERE d.path_id = ?1 \
     ON CONFLICT (site_id, dimension, day, value) DO UPDATE SET count = count + excluded.count";

/// Deletes the rows of page `?1`'s site that fell to 0.
const DROP_EMPTY: &str = "DELETE FROM site_dimensions \
     WHERE site_id = (SELECT site_id FROM paths WHERE id = ?1) AND count <= 0";

/// A batch's writes to its sites' rows.
pub(super) struct Site<'c> {
    add: CachedStatement<'c>,
    known: CachedStatement<'c>,
    held: CachedStatement<'c>,
    max_values: i64,
}

impl<'c> Site<'c> {
    /// `max_values`: the site's bound on values per bounded kind and day.
    pub(super) fn new(tx: &'c Connection, max_values: u32) -> Result<Self, StoreError> {
        Ok(Self {
            add: tx.prepare_cached(ADD)?,
            known: tx.prepare_cached(KNOWN)?,
            held: tx.prepare_cached(HELD)?,
            max_values: i64::from(max_values),
        })
    }

    /// Adds `count` of `value` to the site of `path` (none for a page
    /// without a `paths` row).
    pub(super) fn add(
        &mut self,
        path: PathId,
        kind: i16,
        day: DayNumber,
        value: &str,
        count: i64,
    ) -> Result<(), StoreError> {
        self.add.execute(params![path, kind, day, value, count])?;
        Ok(())
    }

    /// Whether a page's new `value` may have its row as far as its site is
    /// concerned: the site's day has it, or room for one more. A page
    /// without a site has room.
    pub(super) fn has_room(
        &mut self,
        path: PathId,
        kind: i16,
        day: DayNumber,
        value: &str,
    ) -> Result<bool, StoreError> {
        if value == OTHER
            || self
                .known
                .query_row(params![path, kind, day, value], |r| r.get::<_, bool>(0))?
        {
            return Ok(true);
        }
        Ok(self.held.query_row(params![path, kind, day], |r| r.get::<_, i64>(0))? < self.max_values)
    }
}

/// Takes page `id`'s dimension rows away from its site: before they are
/// deleted, while `paths` still names the site.
pub(super) fn forget_page(tx: &Connection, id: PathId) -> Result<(), StoreError> {
    tx.execute(ADD_PAGE, params![id, id, -1])?;
    tx.execute(DROP_EMPTY, [id])?;
    Ok(())
}

/// Adds the late rows of removed page `from` to the site of `into`: before
/// they move there.
pub(super) fn move_in(tx: &Connection, from: PathId, into: PathId) -> Result<(), StoreError> {
    tx.execute(ADD_PAGE, params![from, into, 1])?;
    Ok(())
}
