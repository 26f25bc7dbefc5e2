//! The PostgreSQL side of dimensions: the statements that add a batch's
//! dimension counts inside its pipelined transaction (agent rows as plain
//! sums, country and referrer rows under the bound on values per page, kind
//! and day); the range read; and carrying the rows along when a page is
//! removed or merged.

use deadpool_postgres::Transaction;
use tokio_postgres::types::ToSql;
use tokio_postgres::Statement;

use super::super::dimensions::fold;
use super::super::rules::count_from_db;
use super::super::{DimensionCount, Dimensions, Kind, PathId, Scope, StoreError, ValueCount};
use super::pool::Checkout;
use super::PostgresStore;
use crate::zone::DayNumber;

/// Adds a batch's agent rows: plain sums, as their values are a closed
/// set (no bound to check).
pub(super) const ADD_AGENTS: &str = "INSERT INTO daily_dimensions (path_id, dimension, day, value, count) \
     SELECT p, k, DATE '1970-01-01' + d, v, n \
     FROM unnest($1::bigint[], $2::smallint[], $3::int[], $4::text[], $5::bigint[]) AS t(p, k, d, v, n) \
     ON CONFLICT (path_id, dimension, day, value) DO UPDATE SET count = daily_dimensions.count + excluded.count";

/// Adds a batch's country and referrer rows. A value the (page, kind, day)
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
/// (`BEGIN_BATCH`), is one index probe per row, and the day's values are
/// counted only for a value that is new.
pub(super) const ADD_BOUNDED: &str = "WITH input AS (\
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

/// Rows of one statement as the columns it binds.
#[derive(Default)]
struct Rows {
    paths: Vec<PathId>,
    kinds: Vec<i16>,
    days: Vec<DayNumber>,
    values: Vec<String>,
    counts: Vec<i64>,
}

impl Rows {
    fn push(&mut self, row: &DimensionCount) {
        self.paths.push(row.path);
        self.kinds.push(row.kind.code());
        self.days.push(row.day);
        self.values.push(row.value.clone());
        self.counts.push(i64::try_from(row.count).unwrap_or(i64::MAX));
    }
}

/// A batch's dimension counts, split between [`ADD_AGENTS`] and [`ADD_BOUNDED`].
pub(super) struct Columns {
    agents: Rows,
    bounded: Rows,
    max_values: i64,
}

impl Columns {
    pub(super) fn of(dimensions: Dimensions<'_>) -> Self {
        let (mut agents, mut bounded) = (Rows::default(), Rows::default());
        for row in dimensions.rows {
            if row.kind.bounded() {
                bounded.push(row);
            } else {
                agents.push(row);
            }
        }
        Self {
            agents,
            bounded,
            max_values: i64::from(dimensions.max_values),
        }
    }

    /// Sends [`ADD_AGENTS`] (prepared as `statement`) when there are agent
    /// rows; sent when first polled, like the batch's other statements.
    pub(super) async fn add_agents(
        &self,
        client: &Checkout,
        statement: &Statement,
    ) -> Result<u64, tokio_postgres::Error> {
        let rows = &self.agents;
        if rows.paths.is_empty() {
            return Ok(0);
        }
        let params: [&(dyn ToSql + Sync); 5] = [&rows.paths, &rows.kinds, &rows.days, &rows.values, &rows.counts];
        client.execute(statement, &params).await
    }

    /// Sends [`ADD_BOUNDED`] (prepared as `statement`) when there are
    /// country or referrer rows.
    pub(super) async fn add_bounded(
        &self,
        client: &Checkout,
        statement: &Statement,
    ) -> Result<u64, tokio_postgres::Error> {
        let rows = &self.bounded;
        if rows.paths.is_empty() {
            return Ok(0);
        }
        let params: [&(dyn ToSql + Sync); 6] = [
            &rows.paths,
            &rows.kinds,
            &rows.days,
            &rows.values,
            &rows.counts,
            &self.max_values,
        ];
        client.execute(statement, &params).await
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
        kind: Kind,
        from: DayNumber,
        to: DayNumber,
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
            .query(&sql, &[&owner, &kind.code(), &from, &to])
            .await?
            .iter()
            .map(|r| {
                Ok(ValueCount {
                    value: r.try_get(0)?,
                    count: count_from_db(r.try_get(1)?),
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        Ok(fold(values, |_| true, usize::MAX))
    }
}
