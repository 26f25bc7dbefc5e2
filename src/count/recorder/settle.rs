//! Batches whose commit was not seen (the outcome is unknown): kept, with a
//! bound on what they hold, and committed again under their own ids until
//! the store answers, so each is stored exactly once. Part of the writer;
//! no I/O besides the store calls it makes.

use super::{Writer, MAX_UNSETTLED_HITS, SETTLE_DEADLINE};
use crate::count::traits::HitTraits;
use crate::store::{
    within, Batch, BatchId, Click, Committed, DayTallies, Digest, DimensionCount, Dimensions, Hit, Recorded,
};

/// A batch whose commit was not seen.
pub(super) struct Unsettled {
    pub(super) id: BatchId,
    pub(super) hits: Vec<Hit>,
    pub(super) tallies: Vec<DayTallies>,
    pub(super) digests: Vec<Digest>,
    pub(super) clicks: Vec<Click>,
    /// Label sums it carries, from earlier batches.
    pub(super) dimensions: Vec<DimensionCount>,
    /// Its hits' labels, added to the sums once it is settled.
    pub(super) traits: Vec<HitTraits>,
}

impl Unsettled {
    /// What it holds, for the bound on what is kept.
    pub(super) fn size(&self) -> usize {
        self.hits.len() + self.tallies.len() + self.clicks.len() + self.dimensions.len()
    }
}

impl Writer {
    pub(super) fn keep_unsettled(&mut self, batch: Unsettled) {
        self.unsettled.push_back(batch);
        let mut kept: usize = self.unsettled.iter().map(Unsettled::size).sum();
        while kept > MAX_UNSETTLED_HITS {
            let Some(given_up) = self.unsettled.pop_front() else {
                break;
            };
            kept -= given_up.size();
            tracing::error!(
                hits = given_up.hits.len(),
                "too many hits wait to be settled: giving up the oldest batch, which may be missing"
            );
        }
    }

    /// Commits unsettled batches again under their ids, oldest first, until
    /// one gets no answer. Their ids stay stored: a first attempt may still
    /// be on its way to the database, and must fail there when it arrives.
    pub(super) async fn settle(&mut self) {
        while let Some(batch) = self.unsettled.front() {
            let again = Batch {
                id: batch.id,
                hits: &batch.hits,
                tallies: &batch.tallies,
                settled: &[],
                digests: &batch.digests,
                clicks: &batch.clicks,
                milestones: &self.milestones,
                dimensions: Dimensions {
                    rows: &batch.dimensions,
                    max_values: self.max_dimension_values,
                },
            };
            let hits = batch.hits.len();
            let uncounted = match self
                .availability
                .observe(within(SETTLE_DEADLINE, self.store.record(again)).await)
            {
                Ok(Recorded {
                    committed: Committed::Now,
                    uncounted,
                }) => {
                    tracing::info!(hits, "a batch whose commit was not seen is committed now");
                    Some(uncounted)
                }
                Ok(Recorded {
                    committed: Committed::Earlier,
                    ..
                }) => {
                    tracing::info!(hits, "a batch whose commit was not seen had been committed");
                    None
                }
                Err(_) => return,
            };
            if let Some(batch) = self.unsettled.pop_front() {
                self.add_labels(&batch.hits, &batch.traits, uncounted.as_deref(), &batch.digests);
            }
        }
    }
}
