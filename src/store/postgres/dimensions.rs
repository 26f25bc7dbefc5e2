//! The PostgreSQL side of dimensions: the statements that add a batch's
//! dimension counts inside its pipelined transaction (agent rows as plain
//! sums, country and referrer rows under the bound on values per page, kind
//! and day, and the site's rows, `site_dimensions`, from the values as
//! placed); the range read (a site's from its rows); and carrying the rows
//! along when a page is removed or merged.

use deadpool_postgres::Transaction;
use tokio_postgres::types::ToSql;
use tokio_postgres::Statement;

use super::super::dimensions::{fold, site_max_values};
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

/// Adds a batch's country and referrer rows, then the whole batch's rows
/// (agents' too, `$7`..`$11`) to their sites' `site_dimensions`, in one
/// statement sent after [`ADD_AGENTS`], so the site rows are the last
/// dimension rows the batch locks (see `site_dimensions`). A value the
/// (page, kind, day) already has, or `Other`, adds to its row; a new value
/// gets a row while the day has fewer than `$6` values besides `Other` (the
/// batch's most frequent new values first) and its site's day has the
/// value or fewer than `$12` values besides it (likewise, ranked over the
/// site's pages in the batch), and adds to `Other` past that. A page with
/// no `paths` row (late rows of a removed page) has no site: only its own
/// bound applies, and its rows reach no site's. The site rows are summed
/// from the values as placed, so they stay the sums of their pages' rows.
/// Rows are summed per final value before each upsert (one statement may
/// not update a row twice) and written in key order, like the other
/// upserts of a batch; the site rows wait for the page rows (`written`,
/// counted in a one-time filter) so the locks are taken in that order. Two
/// processes on one database adding new values to the same day at the same
/// moment may each see room for one more: the bounds then hold per
/// process. Whether a value is known is a join on the key, not `EXISTS`:
/// the planner turned that into a hashed subplan, a scan of the whole
/// table per batch (measured: 5× the cost of the upsert alone, growing
/// with the table); the join, with the batch's hash and merge joins off
/// (`batch::BATCH_OPTIONS`), is one index probe per row, and the day's values are
/// counted only for a value that is new. The site's rank is a window over
/// the batch's rows, not a join to the site's new values, which without
/// hash joins would compare every row with every new value.
pub(super) const ADD_BOUNDED: &str = "WITH input AS (\
       SELECT t.p, t.k, DATE '1970-01-01' + t.d AS day, t.v, t.n, s.site_id AS s \
       FROM unnest($1::bigint[], $2::smallint[], $3::int[], $4::text[], $5::bigint[]) AS t(p, k, d, v, n) \
       LEFT JOIN paths s ON s.id = t.p), \
     marked AS (\
       SELECT i.*, (i.v = 'Other' OR x.value IS NOT NULL) AS known, \
         (i.v = 'Other' OR i.s IS NULL OR y.value IS NOT NULL) AS site_known, \
         sum(i.n) OVER (PARTITION BY i.s, i.k, i.day, i.v) AS site_n FROM input i \
       LEFT JOIN daily_dimensions x ON x.path_id = i.p AND x.dimension = i.k AND x.day = i.day AND x.value = i.v \
       LEFT JOIN site_dimensions y ON y.site_id = i.s AND y.dimension = i.k AND y.day = i.day AND y.value = i.v), \
     ranked AS (\
       SELECT m.*, row_number() OVER (PARTITION BY m.p, m.k, m.day, m.known ORDER BY m.n DESC, m.v) AS rank, \
         dense_rank() OVER (PARTITION BY m.s, m.k, m.day, m.site_known ORDER BY m.site_n DESC, m.v) AS site_rank \
       FROM marked m), \
     placed AS (\
       SELECT r.p, r.k, r.day, r.n, r.s, CASE WHEN r.known THEN r.v \
         WHEN r.rank + (SELECT count(*) FROM daily_dimensions x WHERE x.path_id = r.p AND x.dimension = r.k \
           AND x.day = r.day AND x.value <> 'Other') <= $6 \
         AND (r.site_known OR r.site_rank + (SELECT count(*) FROM site_dimensions y WHERE y.site_id = r.s \
           AND y.dimension = r.k AND y.day = r.day AND y.value <> 'Other') <= $12) THEN r.v ELSE 'Other' END AS v \
       FROM ranked r), \
     summed AS (SELECT p, k, day, v, s, sum(n)::bigint AS n FROM placed GROUP BY p, k, day, v, s), \
     written AS (\
       INSERT INTO daily_dimensions (path_id, dimension, day, value, count) \
       SELECT p, k, day, v, n FROM summed ORDER BY p, k, day, v \
       ON CONFLICT (path_id, dimension, day, value) DO UPDATE SET count = daily_dimensions.count + excluded.count \
       RETURNING 1), \
     agents AS (\
       SELECT s.site_id AS s, a.k, DATE '1970-01-01' + a.d AS day, a.v, a.n \
       FROM unnest($7::bigint[], $8::smallint[], $9::int[], $10::text[], $11::bigint[]) AS a(p, k, d, v, n) \
       JOIN paths s ON s.id = a.p) \
     INSERT INTO site_dimensions (site_id, dimension, day, value, count) \
     SELECT s, k, day, v, sum(n)::bigint FROM (\
       SELECT s, k, day, v, n FROM summed WHERE s IS NOT NULL UNION ALL SELECT s, k, day, v, n FROM agents) AS t \
     WHERE (SELECT count(*) FROM written) >= 0 \
     GROUP BY s, k, day, v ORDER BY s, k, day, v \
     ON CONFLICT (site_id, dimension, day, value) DO UPDATE SET count = site_dimensions.count + excluded.count";

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
    site_max_values: i64,
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
            site_max_values: i64::from(site_max_values(dimensions.max_values)),
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
    /// any rows: it adds the country and referrer rows and every row's
    /// site rows.
    pub(super) async fn add_bounded(
        &self,
        client: &Checkout,
        statement: &Statement,
    ) -> Result<u64, tokio_postgres::Error> {
        let (rows, agents) = (&self.bounded, &self.agents);
        if rows.paths.is_empty() && agents.paths.is_empty() {
            return Ok(0);
        }
        let params: [&(dyn ToSql + Sync); 12] = [
            &rows.paths,
            &rows.kinds,
            &rows.days,
            &rows.values,
            &rows.counts,
            &self.max_values,
            &agents.paths,
            &agents.kinds,
            &agents.days,
            &agents.values,
            &agents.counts,
            &self.site_max_values,
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
                    "SELECT d.value, sum(d.count)::bigint FROM site_dimensions d \
                     WHERE d.site_id = $1 AND d.dimension = $2 AND {DAYS} GROUP BY d.value"
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
