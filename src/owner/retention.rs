//! Retention of raw calls: with `retention.calls_days: N`, calls older than
//! N days are deleted in the background, a few thousand per short
//! transaction with pauses between, so counting is never held back for
//! long. Per-day counts, totals and charts are kept forever.
//!
//! [`CallsKept`] remembers since when raw calls are complete, so history
//! read from raw calls can say that older ones are gone. The loop around
//! [`run_once`] is trivial; the app aborts it on shutdown.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::state::AppState;
use crate::store::{Store, StoreError};
use crate::sync::lock;
use crate::telemetry::chain;

/// Rows of calls deleted per transaction (a row holds a page's calls of one
/// 15-minute slot, up to a few hundred): each takes milliseconds.
pub const BATCH: u64 = 1_000;
/// Between two batches, so batches of hits commit in between.
const PAUSE: Duration = Duration::from_millis(100);
/// How often old calls are looked for.
const EVERY: Duration = Duration::from_secs(3600);

/// Since when raw calls are complete, as far as this process knows: the
/// newest time before which retention deleted calls.
#[derive(Debug, Default)]
pub struct CallsKept(Mutex<Option<Timestamp>>);

impl CallsKept {
    /// `None` when no call was ever deleted.
    pub fn since(&self) -> Option<Timestamp> {
        *lock(&self.0)
    }

    fn advance(&self, to: Timestamp) {
        let mut since = lock(&self.0);
        *since = Some(since.map_or(to, |s| s.max(to)));
    }
}

/// Deletes every call made before `before`, batch by batch.
///
/// # Errors
/// The store's error; batches already deleted stay deleted (and recorded).
pub async fn run_once(store: &dyn Store, kept: &CallsKept, before: Timestamp) -> Result<u64, StoreError> {
    let mut deleted = 0;
    loop {
        let batch = store.prune_calls(before, BATCH).await?;
        deleted += batch;
        if batch > 0 {
            kept.advance(before);
        }
        if batch < BATCH {
            return Ok(deleted);
        }
        tokio::time::sleep(PAUSE).await;
    }
}

/// Learns since when calls are complete, then — with a retention policy —
/// deletes old calls at start and every hour.
pub async fn run(state: Arc<AppState>) {
    while !state.availability.is_ready() {
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    match state.store.pruned_before().await {
        Ok(Some(before)) => state.calls_kept.advance(before),
        Ok(None) => {}
        Err(error) => tracing::warn!(error = %chain(&error), "reading the retention mark failed"),
    }
    let Some(days) = state.config.retention.calls_days else {
        return;
    };
    loop {
        let age = SignedDuration::from_hours(24 * i64::from(days));
        let before = state.now().checked_sub(age).unwrap_or(Timestamp::MIN);
        match run_once(&*state.store, &state.calls_kept, before).await {
            Ok(0) => {}
            Ok(calls) => tracing::info!(calls, %before, "retention deleted raw calls made before this time"),
            Err(error) => tracing::warn!(error = %chain(&error), "deleting old raw calls failed; trying again later"),
        }
        tokio::time::sleep(EVERY).await;
    }
}
