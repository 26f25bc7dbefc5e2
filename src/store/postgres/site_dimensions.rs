//! Keeps `site_dimensions` (each site's dimension counts per kind of row,
//! day and value: the sums of its pages' `daily_dimensions`) equal to what
//! it sums, in the transaction of every writer of `daily_dimensions`: a
//! batch (`dimensions::ADD_BOUNDED` adds every row it placed), removing a
//! page (takes the page's rows away), sweeping a removed page's late rows
//! into another (adds them). Merging pages of a site moves rows between its
//! pages and leaves the site's alone; retention, imports, exports and
//! rebuild-daily do not touch dimension rows.
//!
//! Rows of a page without a `paths` row (late rows of a removed page, until
//! swept) belong to no site and are not here, as in `site_days`. A batch
//! locks the `paths` rows of the pages it adds label sums to, also those
//! without hits in it (`batch::LOCK_PATHS`), and removing or merging a
//! page locks its row first: a batch's rows reach the site either before
//! the change (which takes them along) or after it (none: they are late).
//!
//! Lock order: a transaction locks `site_dimensions` rows after its
//! `daily_dimensions` rows and before `site_days` (see `site_days`), each
//! statement in key order. The owner's changes read the page's rows first
//! and write the site's at their end for that reason. Holds SQL and its
//! parameters only; the callers own the transactions.

use deadpool_postgres::Transaction;

use super::super::{PathId, StoreError};
use crate::zone::DayNumber;

/// A page's dimension rows, as (kinds, days, values, counts).
const PAGE_ROWS: &str = "SELECT dimension, day - DATE '1970-01-01', value, count FROM daily_dimensions \
     WHERE path_id = $1 ORDER BY dimension, day, value";

/// Adds `($2[i], $3[i], $4[i], $5[i])` = (kind, day, value, count), times
/// `$6`, to the site of page `$1`, in key order.
const ADD_PAGE: &str = "INSERT INTO site_dimensions (site_id, dimension, day, value, count) \
     SELECT p.site_id, t.k, DATE '1970-01-01' + t.d, t.v, t.n * $6 \
     FROM unnest($2::smallint[], $3::int[], $4::text[], $5::bigint[]) AS t(k, d, v, n) JOIN paths p ON p.id = $1 \
     ORDER BY 1, 2, 3, 4 \
     ON CONFLICT (site_id, dimension, day, value) DO UPDATE SET count = site_dimensions.count + excluded.count";

/// Deletes the rows of page `$1`'s site that fell to 0.
const DROP_EMPTY: &str = "DELETE FROM site_dimensions \
     WHERE site_id = (SELECT site_id FROM paths WHERE id = $1) AND count <= 0";

/// One page's dimension rows, read before a change moves or deletes them.
#[derive(Debug, Default)]
pub(super) struct PageRows {
    kinds: Vec<i16>,
    days: Vec<DayNumber>,
    values: Vec<String>,
    counts: Vec<i64>,
}

/// Reads page `id`'s dimension rows.
pub(super) async fn page_rows(tx: &Transaction<'_>, id: PathId) -> Result<PageRows, StoreError> {
    let mut rows = PageRows::default();
    for row in tx.query(PAGE_ROWS, &[&id]).await? {
        rows.kinds.push(row.try_get(0)?);
        rows.days.push(row.try_get(1)?);
        rows.values.push(row.try_get(2)?);
        rows.counts.push(row.try_get(3)?);
    }
    Ok(rows)
}

/// Adds `rows` to the site of page `to` (`sign` -1 takes them away, and
/// deletes the site's rows that fall to 0); `to` must still have its
/// `paths` row.
pub(super) async fn add_page_rows(
    tx: &Transaction<'_>,
    to: PathId,
    rows: &PageRows,
    sign: i64,
) -> Result<(), StoreError> {
    if rows.kinds.is_empty() {
        return Ok(());
    }
    tx.execute(
        ADD_PAGE,
        &[&to, &rows.kinds, &rows.days, &rows.values, &rows.counts, &sign],
    )
    .await?;
    if sign < 0 {
        tx.execute(DROP_EMPTY, &[&to]).await?;
    }
    Ok(())
}
