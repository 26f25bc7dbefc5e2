//! Group commit: counted hits from all requests are written by one task, many
//! to a transaction, and each request learns when *its* hit is committed.
//!
//! While one batch commits, the next queues up, so the batch size follows the
//! load with no timer and no added latency when idle. One writer, not
//! several: measured on PostgreSQL, overlapping transactions made batches
//! smaller and cost more database time per hit than they hid in latency.
//! The queue is bounded (a full queue makes requests wait, not memory grow).
//! On shutdown the queue is closed and drained, so every accepted hit is
//! written or answered with an error. Knows nothing of visitors or HTTP.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;

use crate::state::Availability;
use crate::store::{Hit, Store, StoreError};

/// Hits waiting for the writer at most; beyond it requests wait their turn.
const QUEUE_CAPACITY: usize = 16_384;
/// Hits in one transaction at most: large enough to amortize a commit,
/// small enough that one statement stays fast.
const MAX_BATCH: usize = 4_096;
/// A batch that takes longer has failed, and its requests get 503.
const COMMIT_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the hit could not be committed")]
pub struct RecordError;

struct Pending {
    hit: Hit,
    committed: oneshot::Sender<Result<(), RecordError>>,
}

#[derive(Clone)]
pub struct Recorder {
    queue: mpsc::Sender<Pending>,
}

/// Stops the writer: closes the queue, drains it, and waits.
pub struct RecorderHandle {
    stop: Arc<Notify>,
    task: JoinHandle<()>,
}

impl Recorder {
    pub fn spawn(store: Arc<dyn Store>, availability: Arc<Availability>) -> (Self, RecorderHandle) {
        let (queue, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let stop = Arc::new(Notify::new());
        let task = tokio::spawn(run(receiver, store, availability, Arc::clone(&stop)));
        (Self { queue }, RecorderHandle { stop, task })
    }

    /// Resolves once the hit is committed.
    ///
    /// # Errors
    /// When the commit failed or the recorder is shutting down.
    pub async fn record(&self, hit: Hit) -> Result<(), RecordError> {
        let (committed, done) = oneshot::channel();
        self.queue
            .send(Pending { hit, committed })
            .await
            .map_err(|_| RecordError)?;
        done.await.unwrap_or(Err(RecordError))
    }
}

impl RecorderHandle {
    /// Closes the queue, commits what is in it, and waits up to `limit`.
    pub async fn shut_down(self, limit: Duration) {
        self.stop.notify_one();
        if tokio::time::timeout(limit, self.task).await.is_err() {
            tracing::error!("pending hits could not be flushed in time");
        }
    }
}

async fn run(
    mut receiver: mpsc::Receiver<Pending>,
    store: Arc<dyn Store>,
    availability: Arc<Availability>,
    stop: Arc<Notify>,
) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    loop {
        let received = tokio::select! {
            n = receiver.recv_many(&mut batch, MAX_BATCH) => n,
            () = stop.notified() => {
                // No new hits from now on; those already queued still get written.
                receiver.close();
                continue;
            }
        };
        if received == 0 {
            return; // closed and drained
        }
        commit(store.as_ref(), &availability, batch.drain(..)).await;
    }
}

async fn commit(store: &dyn Store, availability: &Availability, batch: std::vec::Drain<'_, Pending>) {
    let (hits, waiting): (Vec<Hit>, Vec<_>) = batch.map(|p| (p.hit, p.committed)).unzip();
    let started = std::time::Instant::now();
    let result = match tokio::time::timeout(COMMIT_TIMEOUT, store.record(&hits)).await {
        Ok(result) => result,
        Err(_) => Err(StoreError::Timeout(COMMIT_TIMEOUT)),
    };
    tracing::trace!(
        hits = hits.len(),
        micros = started.elapsed().as_micros() as u64,
        "batch committed"
    );
    let outcome = availability.observe(result).map_err(|_| RecordError);
    for committed in waiting {
        // The requester may have gone away; its hit is committed all the same.
        let _ = committed.send(outcome);
    }
}
