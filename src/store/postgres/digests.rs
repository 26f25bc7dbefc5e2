//! The PostgreSQL side of shared dedup: opening a window (its nonce row and
//! its unlogged digest partition), claiming a batch's digests inside the
//! batch's transaction, and closing ended windows.
//!
//! Only 64-bit keyed digests and random nonces reach the database; the
//! secret the window keys are derived from never does. Holds no state.

use std::collections::HashMap;
use std::time::SystemTime;

use jiff::Timestamp;
use tokio_postgres::types::ToSql;

use super::batch::MARK_BATCH;
use super::pool::Checkout;
use super::PostgresStore;
use crate::store::{
    within, Batch, Click, Counted, DedupWindow, Hit, SharedDedup, SiteId, StoreError, StoreFuture, REGISTER_DEADLINE,
};

/// Claims digests in (window, digest) order — one global order, so two
/// batches inserting the same digests wait for each other and never
/// deadlock — and returns those that are new. A digest of a window already
/// closed is not inserted and not counted: its window's set is gone, so
/// whether another replica counted it cannot be known (never twice).
const CLAIM: &str = "INSERT INTO dedup_digests (window_id, digest) \
     SELECT w, d FROM unnest($1::bigint[], $2::bigint[]) AS t(w, d) \
     WHERE EXISTS (SELECT 1 FROM dedup_windows WHERE id = t.w) ORDER BY w, d \
     ON CONFLICT DO NOTHING RETURNING window_id, digest";
/// The first replica to reach a window inserts its nonce; the others wait
/// on the conflict until it commits (its partition with it), then read it.
const INSERT_WINDOW: &str = "INSERT INTO dedup_windows (site_id, starts_at, ends_at, nonce) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (site_id, starts_at) DO NOTHING RETURNING id";
const FIND_WINDOW: &str = "SELECT id, nonce FROM dedup_windows WHERE site_id = $1 AND starts_at = $2";
const ENDED_WINDOWS: &str = "SELECT id FROM dedup_windows WHERE ends_at <= $1 ORDER BY id";

/// The name of a window's digest partition; `id` comes from the database's
/// own identity column, never from input.
fn partition(id: i64) -> String {
    format!("dedup_digests_{id}")
}

/// What of a batch counts once its digests are claimed: hits and clicks
/// without a digest and those whose digest was new, in batch order.
pub(super) struct Claimed {
    pub hits: Vec<Hit>,
    pub clicks: Vec<Click>,
    /// Indexes into the batch's hits of those whose digest was not new.
    pub uncounted: Vec<usize>,
}

/// Begins the batch's transaction, writes its id and claims its digests, in
/// one round trip. `None` when the batch has no digests (nothing is sent);
/// otherwise what counts.
///
/// # Errors
/// The first failing statement's error; the transaction is then aborted.
pub(super) async fn claim(client: &Checkout, batch: &Batch<'_>) -> Result<Option<Claimed>, tokio_postgres::Error> {
    if batch.digests.is_empty() {
        return Ok(None);
    }
    let windows: Vec<i64> = batch.digests.iter().map(|d| d.window).collect();
    let values: Vec<i64> = batch.digests.iter().map(|d| d.value).collect();
    let (mark, claim) = tokio::try_join!(client.prepare_cached(MARK_BATCH), client.prepare_cached(CLAIM))?;
    let mark_params: [&(dyn ToSql + Sync); 2] = [&batch.id, &batch.settled];
    let claim_params: [&(dyn ToSql + Sync); 2] = [&windows, &values];
    // Biased, in order: the batch id's conflict must be the error seen
    // (see `batch::record_now`).
    let (_, _, rows) = tokio::try_join!(
        biased;
        client.simple_query("BEGIN"),
        client.execute(&mark, &mark_params),
        client.query(&claim, &claim_params),
    )?;
    let mut new: HashMap<(i64, i64), usize> = HashMap::with_capacity(rows.len());
    for row in &rows {
        *new.entry((row.try_get(0)?, row.try_get(1)?)).or_default() += 1;
    }
    let (mut hits, mut clicks) = (vec![true; batch.hits.len()], vec![true; batch.clicks.len()]);
    for digest in batch.digests {
        let claimed = new.get_mut(&(digest.window, digest.value)).filter(|n| **n > 0);
        let slot = match digest.of {
            Counted::Hit(i) => hits.get_mut(i),
            Counted::Click(i) => clicks.get_mut(i),
        };
        if let Some(slot) = slot {
            *slot = claimed.map(|n| *n -= 1).is_some();
        }
    }
    Ok(Some(Claimed {
        hits: kept(batch.hits, &hits),
        clicks: kept(batch.clicks, &clicks),
        uncounted: (0..hits.len()).filter(|&i| !hits[i]).collect(),
    }))
}

/// The items of `all` whose flag in `counts` is set, in order.
fn kept<T: Clone>(all: &[T], counts: &[bool]) -> Vec<T> {
    all.iter()
        .zip(counts)
        .filter(|(_, &counts)| counts)
        .map(|(item, _)| item.clone())
        .collect()
}

impl PostgresStore {
    async fn open_window_now(
        &self,
        site: SiteId,
        starts_at: Timestamp,
        ends_at: Timestamp,
        nonce: &[u8],
    ) -> Result<DedupWindow, StoreError> {
        let mut client = self.connections.checkout().await?;
        let tx = client.transaction().await?;
        let (start, end) = (SystemTime::from(starts_at), SystemTime::from(ends_at));
        let inserted = tx.query_opt(INSERT_WINDOW, &[&site, &start, &end, &nonce]).await?;
        let window = match inserted {
            Some(row) => {
                let id: i64 = row.try_get(0)?;
                let name = partition(id);
                tx.batch_execute(&format!(
                    "CREATE UNLOGGED TABLE {name} PARTITION OF dedup_digests FOR VALUES IN ({id})"
                ))
                .await?;
                DedupWindow {
                    id,
                    nonce: nonce.to_vec(),
                }
            }
            None => {
                let row = tx.query_opt(FIND_WINDOW, &[&site, &start]).await?.ok_or_else(|| {
                    StoreError::corrupt(format!("the dedup window of site {site} from {starts_at} vanished"))
                })?;
                DedupWindow {
                    id: row.try_get(0)?,
                    nonce: row.try_get(1)?,
                }
            }
        };
        tx.commit().await?;
        client.release();
        Ok(window)
    }

    async fn close_windows_now(&self, ended_by: Timestamp) -> Result<u64, StoreError> {
        let ended: Vec<i64> = self
            .query(ENDED_WINDOWS, &[&SystemTime::from(ended_by)])
            .await?
            .iter()
            .map(|r| r.try_get(0))
            .collect::<Result<_, _>>()?;
        let mut closed = 0;
        for id in ended {
            let mut client = self.connections.checkout().await?;
            let tx = client.transaction().await?;
            // Only the replica whose DELETE took the row drops the partition;
            // another one waits on the row and then finds nothing to do.
            if tx.execute("DELETE FROM dedup_windows WHERE id = $1", &[&id]).await? == 1 {
                tx.batch_execute(&format!("DROP TABLE IF EXISTS {}", partition(id)))
                    .await?;
                closed += 1;
            }
            tx.commit().await?;
            client.release();
        }
        Ok(closed)
    }
}

impl SharedDedup for PostgresStore {
    fn open_window<'a>(
        &'a self,
        site: SiteId,
        starts_at: Timestamp,
        ends_at: Timestamp,
        nonce: &'a [u8],
    ) -> StoreFuture<'a, DedupWindow> {
        Box::pin(within(
            REGISTER_DEADLINE,
            self.open_window_now(site, starts_at, ends_at, nonce),
        ))
    }

    fn close_windows(&self, ended_by: Timestamp) -> StoreFuture<'_, u64> {
        Box::pin(within(REGISTER_DEADLINE, self.close_windows_now(ended_by)))
    }
}
