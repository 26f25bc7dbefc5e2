//! The PostgreSQL side of dimensions: the statement that adds a batch's
//! dimension counts inside its pipelined transaction, under the bound on
//! values per (page, dimension, day); the range read; and carrying the rows
//! along when a page is removed or merged.

use deadpool_postgres::Transaction;

use super::super::dimensions::fold;
use super::super::rules::count_from_db;
use super::super::{Dimension, DimensionCount, PathId, Scope, StoreError, ValueCount};
use super::PostgresStore;
use crate::zone::DayNumber;

/// Adds a batch's dimension counts. A value the (page, dimension, day)
/// already has, or `Other`, adds to its row; a new value gets a row while
/// the day has fewer than `$6` values besides `Other` (the batch's most
/// frequent new values first), and adds to `Other` past that. Rows are
/// summed per final value before the upsert (one statement may not update a
/// row twice) and written in key order, like the other upserts of a batch.
/// Two processes on one database adding new values to the same day at the
/// same moment may each see room for one more: the bound then holds per
/// process. Whether a value is known is a join on the key, not `EXISTS`:
/// the planner turned that into a hashed subplan, a scan of the whole
/// table per batch (measured: 5× the cost of the upsert alone, growing
/// with the table); the join, with the batch's hash and merge joins off
/// (`BEGIN_BATCH`), is one index probe per row (1.4×).
pub(super) const ADD: &str = "WITH input AS (\
       SELECT p, k, DATE '1970-01-01' + d AS day, v, n \
       FROM unnest($1::bigint[], $2::smallint[], $3::int[], $4::text[], $5::bigint[]) AS t(p, k, d, v, n)), \
     marked AS (\
       SELECT i.*, (i.v = 'Other' OR x.value IS NOT NULL) AS known FROM input i \
       LEFT JOIN daily_dimensions x ON x.path_id = i.p AND x.dimension = i.k AND x.day = i.day AND x.value = i.v), \
     ranked AS (\
       SELECT m.*, row_number() OVER (PARTITION BY m.p, m.k, m.day, m.known ORDER BY m.n DESC, m.v) AS rank \
       FROM marked m), \
     placed AS (\
       SELECT r.p, r.k, r.day, r.n, CASE WHEN r.known THEN r.v \
         WHEN r.rank + (SELECT count(*) FROM daily_dimensions x WHERE x.path_id = r.p AND x.dimension = r.k \
           AND x.day = r.day AND x.value <> 'Other') <= $6 THEN r.v ELSE 'Other' END AS v \
       FROM ranked r) \
     INSERT INTO daily_dimensions (path_id, dimension, day, value, count) \
     SELECT p, k, day, v, sum(n)::bigint FROM placed GROUP BY p, k, day, v ORDER BY p, k, day, v \
     ON CONFLICT (path_id, dimension, day, value) DO UPDATE SET count = daily_dimensions.count + excluded.count";

/// A batch's dimension counts as the columns [`ADD`] binds.
#[derive(Default)]
pub(super) struct Columns {
    pub paths: Vec<PathId>,
    pub dimensions: Vec<i16>,
    pub days: Vec<DayNumber>,
    pub values: Vec<String>,
    pub counts: Vec<i64>,
}

impl Columns {
    pub(super) fn of(rows: &[DimensionCount]) -> Self {
        let mut columns = Self::default();
        for row in rows {
            columns.paths.push(row.path);
            columns.dimensions.push(row.dimension.code());
            columns.days.push(row.day);
            columns.values.push(row.value.clone());
            columns.counts.push(i64::try_from(row.count).unwrap_or(i64::MAX));
        }
        columns
    }
}

/// Deletes page `id`'s dimension counts.
pub(super) async fn delete(tx: &Transaction<'_>, id: PathId) -> Result<u64, StoreError> {
    Ok(tx
        .execute("DELETE FROM daily_dimensions WHERE path_id = $1", &[&id])
        .await?)
}

/// Moves page `from`'s dimension counts to `into`, adding up per value. A
/// merged day may then hold more values than the bound: both pages' values
/// are kept, since folding them would lose what was counted exactly.
pub(super) async fn merge(tx: &Transaction<'_>, from: PathId, into: PathId) -> Result<u64, StoreError> {
    Ok(tx
        .execute(
            "WITH moved AS (DELETE FROM daily_dimensions WHERE path_id = $1 RETURNING dimension, day, value, count) \
             INSERT INTO daily_dimensions (path_id, dimension, day, value, count) \
             SELECT $2, dimension, day, value, count FROM moved \
             ON CONFLICT (path_id, dimension, day, value) DO UPDATE SET count = daily_dimensions.count + excluded.count",
            &[&from, &into],
        )
        .await?)
}

impl PostgresStore {
    pub(super) async fn dimension_counts_now(
        &self,
        scope: Scope,
        dimension: Dimension,
        from: DayNumber,
        to: DayNumber,
        limit: usize,
    ) -> Result<Vec<ValueCount>, StoreError> {
        const DAYS: &str = "d.day BETWEEN DATE '1970-01-01' + $3::int AND DATE '1970-01-01' + $4::int";
        let (sql, owner) = match scope {
            Scope::Page(path) => (
                format!(
                    "SELECT d.value, sum(d.count)::bigint FROM daily_dimensions d \
                     WHERE d.path_id = $1 AND d.dimension = $2 AND {DAYS} GROUP BY d.value"
                ),
                path,
            ),
            Scope::Site(site) => (
                format!(
                    "SELECT d.value, sum(d.count)::bigint FROM daily_dimensions d JOIN paths p ON p.id = d.path_id \
                     WHERE p.site_id = $1 AND d.dimension = $2 AND {DAYS} GROUP BY d.value"
                ),
                site,
            ),
        };
        let values = self
            .query(&sql, &[&owner, &dimension.code(), &from, &to])
            .await?
            .iter()
            .map(|r| {
                Ok(ValueCount {
                    value: r.try_get(0)?,
                    count: count_from_db(r.try_get(1)?),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(fold(values, |_| true, limit))
    }
}
