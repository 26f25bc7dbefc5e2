//! Group commit: counted hits from all requests are written by one task, many
//! to a transaction, and each request learns what became of *its* hit. A
//! proxied view is written the same way (into its per-day series); filtered
//! hits are added up in memory (`unsent`) and ride along with the next
//! batch, or go out on their own shortly after, without anyone waiting.
//! A counted hit's labels (browser, country, referrer, ...) are summed per
//! page, kind, day and value here, in the writer, once its batch is
//! committed and only if it counted (`labels`), and written with a later
//! batch: the request path only hands them over.
//!
//! While one batch commits, the next queues up, so the batch size follows the
//! load with no timer and no added latency when idle. One writer, not
//! several: measured on PostgreSQL, overlapping transactions made batches
//! smaller and cost more database time per hit than they hid in latency.
//! The queue is bounded (a full queue makes requests wait, not memory grow).
//! On shutdown the queue is closed and drained, so every accepted hit is
//! written or answered with an error. Knows nothing of visitors or HTTP.
//!
//! Never two counts for one visit: each hit is answered within [`DEADLINE`]
//! of being handed over, with one of three outcomes — committed; certainly
//! not committed (the caller may let the visitor retry and count); or not
//! known (the deadline passed or the connection broke mid-commit: the
//! caller must keep the visitor, as the hit may be stored). A batch whose
//! outcome is not known is kept and settled once the store answers again,
//! by committing it again under the same batch id: the store turns that
//! into a no-op if the first attempt did commit, and a first attempt still
//! on its way afterwards fails on the id. So such a hit is stored exactly
//! once, unless Footfall stops before settling it (then it may be missing,
//! never doubled).

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, Notify};
use tokio::task::JoinHandle;
use tokio::time::Instant;

mod labels;
mod parts;
mod run;
mod settle;
mod unsent;

use super::traits::HitTraits;
use crate::availability::Availability;
use crate::count::shared::SharedDigest;
use crate::metrics::{BatchOutcome, Metrics};
use crate::store::{
    within, Batch, BatchId, Click, Committed, Counted, Digest, Dimensions, Hit, PathId, Recorded, Store, Tally,
};
use crate::zone::DayNumber;
use labels::Labels;
use parts::{first_batch_id, with_proxied};
use run::run;
use settle::Unsettled;
use unsent::Unsent;

/// Hits waiting for the writer at most; beyond it requests wait their turn.
const QUEUE_CAPACITY: usize = 16_384;
/// Hits in one transaction at most: large enough to amortize a commit,
/// small enough that one statement stays fast.
const MAX_BATCH: usize = 4_096;
/// Every hit is answered within this of being handed over, waiting in the
/// queue included: a hung database costs a request 2 s, not more.
pub const DEADLINE: Duration = Duration::from_secs(2);
/// A hit with less time left than this when its batch starts is not sent:
/// its commit could not be seen in time, and unsent it is certainly not stored.
const MIN_TIME_LEFT: Duration = Duration::from_millis(250);
/// Each attempt to settle an earlier batch gets this long; new hits wait meanwhile.
const SETTLE_DEADLINE: Duration = Duration::from_secs(1);
/// While batches are unsettled and no hits arrive, settling is tried this often.
const SETTLE_EVERY: Duration = Duration::from_secs(1);
/// Hits kept for settling at most; beyond it the oldest batch is given up.
const MAX_UNSETTLED_HITS: usize = QUEUE_CAPACITY;

/// Why a hit is not known to be committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// Nothing of it is stored, now or later.
    #[error("the hit was not committed")]
    NotCommitted,
    /// It may be stored; if not, it will be once the store answers again.
    #[error("whether the hit was committed is not known yet")]
    Unknown,
}

/// What a request waits to see committed.
#[derive(Debug, Clone)]
enum Entry {
    /// A counted hit, with its labels for the dimension aggregates; with
    /// shared dedup, the visitor's window and digest: the hit counts only
    /// if the digest is new in the database.
    Call(Hit, HitTraits, Option<SharedDigest>),
    /// One view through an image proxy, counted in its page's per-day series.
    Proxied { path: PathId, day: DayNumber },
    /// One counted click of a `/go/` link; with shared dedup, like a call,
    /// it counts only if its digest is new in the database.
    Click(Click, Option<SharedDigest>),
}

struct Pending {
    entry: Entry,
    deadline: Instant,
    answer: oneshot::Sender<Result<(), RecordError>>,
}

#[derive(Clone)]
pub struct Recorder {
    queue: mpsc::Sender<Pending>,
    unsent: Arc<Unsent>,
}

/// Stops the writer: closes the queue, drains it, and waits.
pub struct RecorderHandle {
    stop: Arc<Notify>,
    task: JoinHandle<()>,
}

impl Recorder {
    /// `milestones`: the page totals that are events when a batch crosses them;
    /// `max_dimension_values` bounds the values stored per page, dimension and day.
    pub fn spawn(
        store: Arc<dyn Store>,
        availability: Arc<Availability>,
        metrics: Arc<Metrics>,
        milestones: Vec<i64>,
        max_dimension_values: u32,
    ) -> (Self, RecorderHandle) {
        let (queue, receiver) = mpsc::channel(QUEUE_CAPACITY);
        let stop = Arc::new(Notify::new());
        let unsent = Arc::new(Unsent::default());
        let writer = Writer {
            store,
            availability,
            metrics,
            unsent: Arc::clone(&unsent),
            labels: Labels::default(),
            max_dimension_values,
            stopping: false,
            next_id: first_batch_id(),
            settled: Vec::new(),
            unsettled: VecDeque::new(),
            milestones,
        };
        let task = tokio::spawn(run(receiver, writer, Arc::clone(&stop)));
        (Self { queue, unsent }, RecorderHandle { stop, task })
    }

    /// Resolves once the hit is committed, within [`DEADLINE`].
    ///
    /// # Errors
    /// [`RecordError::NotCommitted`] when it certainly was not (also when the
    /// recorder is shutting down), [`RecordError::Unknown`] when that is not known.
    pub async fn record(&self, hit: Hit, traits: HitTraits) -> Result<(), RecordError> {
        self.send(Entry::Call(hit, traits, None)).await
    }

    /// Like [`Recorder::record`], for a hit that counts only if `digest` is
    /// new in its window (shared dedup). Resolves `Ok` either way: a
    /// visitor another replica counted first gets the answer a counted hit
    /// gets, and counts nothing.
    ///
    /// # Errors
    /// As [`Recorder::record`].
    pub async fn record_shared(&self, hit: Hit, digest: SharedDigest, traits: HitTraits) -> Result<(), RecordError> {
        self.send(Entry::Call(hit, traits, Some(digest))).await
    }

    /// Resolves once one proxied view of `path` on `day` is committed, like [`Recorder::record`].
    ///
    /// # Errors
    /// As [`Recorder::record`].
    pub async fn record_proxied(&self, path: PathId, day: DayNumber) -> Result<(), RecordError> {
        self.send(Entry::Proxied { path, day }).await
    }

    /// Resolves once one click of a link is committed, like [`Recorder::record`];
    /// with shared dedup (`digest`), it counts only if the digest is new.
    ///
    /// # Errors
    /// As [`Recorder::record`].
    pub async fn record_click(&self, click: Click, digest: Option<SharedDigest>) -> Result<(), RecordError> {
        self.send(Entry::Click(click, digest)).await
    }

    /// Counts one filtered hit of `path` on `day` in the `tally` series.
    /// Never waits: it is written with a later batch.
    pub fn tally(&self, path: PathId, day: DayNumber, tally: Tally) {
        self.unsent.add(path, day, tally);
    }

    async fn send(&self, entry: Entry) -> Result<(), RecordError> {
        let deadline = Instant::now() + DEADLINE;
        let (answer, answered) = oneshot::channel();
        let pending = Pending {
            entry,
            deadline,
            answer,
        };
        match tokio::time::timeout_at(deadline, self.queue.send(pending)).await {
            Ok(Ok(())) => {}
            // Never queued, so never written.
            Ok(Err(_)) | Err(_) => return Err(RecordError::NotCommitted),
        }
        // The writer answers every hit it took; no answer means it stopped mid-commit.
        answered.await.unwrap_or(Err(RecordError::Unknown))
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

struct Writer {
    store: Arc<dyn Store>,
    availability: Arc<Availability>,
    /// Batch sizes, commit times and outcomes, for `/metrics`.
    metrics: Arc<Metrics>,
    unsent: Arc<Unsent>,
    /// Label sums of counted hits, waiting for a batch to ride with.
    labels: Labels,
    max_dimension_values: u32,
    /// Set once the queue is drained: every label sum goes with the next batch.
    stopping: bool,
    next_id: BatchId,
    /// Ids of batches seen committed, deleted with the next batch.
    settled: Vec<BatchId>,
    /// Oldest first.
    unsettled: VecDeque<Unsettled>,
    milestones: Vec<i64>,
}

impl Writer {
    /// Commits the hits and proxied views of `batch` with every filtered
    /// count waiting; answers each request.
    async fn commit(&mut self, batch: impl Iterator<Item = Pending>) {
        let now = Instant::now();
        let (mut hits, mut waiting, mut proxied) = (Vec::new(), Vec::new(), Vec::new());
        let mut digests = Vec::new();
        let mut clicks = Vec::new();
        let mut traits = Vec::new();
        let mut deadline = None::<Instant>;
        for pending in batch {
            if pending.deadline.saturating_duration_since(now) < MIN_TIME_LEFT {
                let _ = pending.answer.send(Err(RecordError::NotCommitted));
                continue;
            }
            deadline = Some(deadline.map_or(pending.deadline, |d| d.min(pending.deadline)));
            match pending.entry {
                Entry::Call(hit, described, digest) => {
                    if let Some(SharedDigest { window, value }) = digest {
                        let of = Counted::Hit(hits.len());
                        digests.push(Digest { of, window, value });
                    }
                    hits.push(hit);
                    traits.push(described);
                }
                Entry::Proxied { path, day } => proxied.push((path, day)),
                Entry::Click(click, digest) => {
                    if let Some(SharedDigest { window, value }) = digest {
                        let of = Counted::Click(clicks.len());
                        digests.push(Digest { of, window, value });
                    }
                    clicks.push(click);
                }
            }
            waiting.push(pending.answer);
        }
        let filtered = self.unsent.take();
        let dimensions = self.labels.take_due(now, self.stopping);
        if waiting.is_empty() && filtered.is_empty() && dimensions.is_empty() {
            return;
        }
        // Nobody waits for filtered counts alone: they get the usual time.
        let deadline = deadline.unwrap_or(now + DEADLINE);
        let tallies = with_proxied(&filtered, &proxied);
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let started = std::time::Instant::now();
        let batch = Batch {
            id,
            hits: &hits,
            tallies: &tallies,
            dimensions: Dimensions {
                rows: &dimensions,
                max_values: self.max_dimension_values,
            },
            settled: &self.settled,
            digests: &digests,
            clicks: &clicks,
            milestones: &self.milestones,
        };
        let result = within(deadline.saturating_duration_since(now), self.store.record(batch)).await;
        tracing::trace!(
            hits = hits.len(),
            tallies = tallies.len(),
            micros = started.elapsed().as_micros() as u64,
            "batch done"
        );
        let outcome = match self.availability.observe(result) {
            Ok(Recorded {
                committed: Committed::Now,
                uncounted,
            }) => {
                self.settled.clear();
                self.settled.push(id);
                self.add_labels(&hits, &traits, Some(&uncounted), &digests);
                Ok(())
            }
            Ok(Recorded {
                committed: Committed::Earlier,
                ..
            }) => {
                // A fresh id that is taken (a leftover of an earlier run): nothing was written.
                tracing::warn!(id, "a new batch id was taken; the batch was not written");
                Err(RecordError::NotCommitted)
            }
            Err(error) if error.rolled_back() => Err(RecordError::NotCommitted),
            Err(_) => Err(RecordError::Unknown),
        };
        let seen = match outcome {
            Ok(()) => BatchOutcome::Committed,
            Err(RecordError::NotCommitted) => BatchOutcome::NotCommitted,
            Err(RecordError::Unknown) => BatchOutcome::Unknown,
        };
        self.metrics.batch(waiting.len(), started.elapsed(), seen);
        for answer in waiting {
            // The requester may have gone away; its hit's fate is the same.
            let _ = answer.send(outcome);
        }
        match outcome {
            Ok(()) => self.settle().await,
            Err(RecordError::Unknown) => self.keep_unsettled(Unsettled {
                id,
                hits,
                tallies,
                digests,
                clicks,
                dimensions,
                traits,
            }),
            // Proxied views were answered (their requests may retry);
            // filtered counts and label sums wait for the next batch.
            Err(RecordError::NotCommitted) => {
                self.unsent.put_back(&filtered);
                self.labels.put_back(dimensions, Instant::now());
            }
        }
    }

    /// Whether there is something to retry while no hits arrive.
    fn has_idle_work(&self) -> bool {
        !self.unsettled.is_empty() || self.availability.write_outage().is_some()
    }

    /// Settles earlier batches; or, while writes fail, commits an empty batch
    /// (its id is a real write) so that readiness recovers when the store
    /// does, even if no hits arrive — a balancer that took this instance out
    /// of rotation on `/readyz` sends none.
    async fn idle_work(&mut self) {
        if !self.unsettled.is_empty() {
            return self.settle().await;
        }
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let check = Batch {
            id,
            hits: &[],
            tallies: &[],
            dimensions: Dimensions::NONE,
            settled: &self.settled,
            digests: &[],
            clicks: &[],
            milestones: &[],
        };
        if let Ok(Recorded {
            committed: Committed::Now,
            ..
        }) = self
            .availability
            .observe(within(SETTLE_DEADLINE, self.store.record(check)).await)
        {
            self.settled.clear();
            self.settled.push(id);
        }
    }
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_labels;
