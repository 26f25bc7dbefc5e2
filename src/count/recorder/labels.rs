//! Labels of counted hits waiting to be written, summed in memory per
//! (page, kind, day, value) by the writer — from the hits of committed
//! batches that counted, never from one another replica counted first —
//! and written with a later batch once they have waited [`DELAY`], or
//! sooner past [`SOON_ROWS`]. A busy page's labels thus cost one row update
//! per value and interval, not one per hit; a counted hit's 200 does not
//! wait for them.
//!
//! Exactly once: the rows a batch carries stay with that batch until its
//! fate is known — put back here when it certainly failed, retried with it
//! under its id when unknown. What waits here is lost if the process is
//! killed (at most about [`DELAY`] of labels); the counts never are.

use std::collections::BTreeMap;
use std::time::Duration;

use tokio::time::Instant;

use super::Writer;
use crate::count::traits::HitTraits;
use crate::store::{Counted, Digest, DimensionCount, Hit, Kind, PathId};
use crate::zone::DayNumber;

/// How long label sums wait before they ride with a batch: also the retry
/// pace while the store fails.
pub(super) const DELAY: Duration = Duration::from_secs(1);
/// Rows past which the sums go with the next batch without waiting, which
/// bounds the memory held (a row is a page, a day and a short value).
pub(super) const SOON_ROWS: usize = 16_384;

#[derive(Default)]
pub(super) struct Labels {
    /// Ordered by key, so a batch locks rows in the same order as others.
    rows: BTreeMap<(PathId, Kind, DayNumber, String), u64>,
    /// When the oldest waiting sum (or the last retry) began to wait.
    since: Option<Instant>,
    /// Put back after a failed batch: wait [`DELAY`] whatever their number,
    /// so a failing store is not retried in a loop.
    retrying: bool,
}

impl Labels {
    /// Adds one counted hit's labels.
    pub(super) fn add(&mut self, hit: &Hit, traits: &HitTraits, now: Instant) {
        for (kind, value) in traits.labels() {
            let sum = self.rows.entry((hit.path, kind, hit.day, value)).or_default();
            *sum = sum.saturating_add(1);
        }
        self.since.get_or_insert(now);
    }

    /// Puts back the rows of a batch that certainly was not committed; they
    /// are tried again after [`DELAY`].
    pub(super) fn put_back(&mut self, rows: Vec<DimensionCount>, now: Instant) {
        if rows.is_empty() {
            return;
        }
        for row in rows {
            let sum = self.rows.entry((row.path, row.kind, row.day, row.value)).or_default();
            *sum = sum.saturating_add(row.count);
        }
        self.since = Some(now);
        self.retrying = true;
    }

    /// When the waiting sums are due, if any wait.
    pub(super) fn due_at(&self) -> Option<Instant> {
        let since = self.since?;
        let soon = self.rows.len() >= SOON_ROWS && !self.retrying;
        Some(if soon { since } else { since + DELAY })
    }

    /// Every waiting sum in key order if they are due at `now` (or `all`),
    /// else none.
    pub(super) fn take_due(&mut self, now: Instant, all: bool) -> Vec<DimensionCount> {
        if !(all || self.due_at().is_some_and(|due| due <= now)) {
            return Vec::new();
        }
        self.since = None;
        self.retrying = false;
        std::mem::take(&mut self.rows)
            .into_iter()
            .map(|((path, kind, day, value), count)| DimensionCount {
                path,
                kind,
                day,
                value,
                count,
            })
            .collect()
    }

    /// Rows waiting.
    pub(super) fn len(&self) -> usize {
        self.rows.len()
    }
}

/// A time no label sum waits for: the branch that waits for it is off.
pub(super) fn far_off() -> Instant {
    Instant::now() + Duration::from_secs(3_600)
}

impl Writer {
    /// Adds the labels of a committed batch's hits that counted: all but
    /// those in `uncounted`; when that is not known (`None`: the batch was
    /// committed by an earlier attempt), those without a shared-dedup
    /// digest, which counted for certain — a hit with one may have been
    /// counted by another replica, so its labels are left out (never twice).
    pub(super) fn add_labels(
        &mut self,
        hits: &[Hit],
        traits: &[HitTraits],
        uncounted: Option<&[usize]>,
        digests: &[Digest],
    ) {
        let now = Instant::now();
        let left_out: std::collections::HashSet<usize> = match uncounted {
            Some(indexes) => indexes.iter().copied().collect(),
            None => digests
                .iter()
                .filter_map(|d| match d.of {
                    Counted::Hit(i) => Some(i),
                    Counted::Click(_) => None,
                })
                .collect(),
        };
        for (i, (hit, described)) in hits.iter().zip(traits).enumerate() {
            if !left_out.contains(&i) {
                self.labels.add(hit, described, now);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::count::recorder::tests::{hit as any_hit, traits as any_traits};
    use crate::count::traits::referrer::Referrer;

    fn hit(path: PathId) -> Hit {
        Hit { path, ..any_hit() }
    }

    fn traits(referrer: &str) -> HitTraits {
        HitTraits {
            referrer: Some(Referrer::Host(referrer.into())),
            ..any_traits()
        }
    }

    #[test]
    fn sums_are_due_after_the_delay_or_at_once_past_the_row_bound() {
        let start = Instant::now();
        let mut labels = Labels::default();
        assert_eq!(labels.due_at(), None, "nothing waits");
        labels.add(&hit(1), &traits("a.example"), start);
        labels.add(&hit(1), &traits("a.example"), start + DELAY / 2);
        assert_eq!(labels.due_at(), Some(start + DELAY), "from the first sum");
        assert!(labels.take_due(start + DELAY / 2, false).is_empty(), "not yet");
        let rows = labels.take_due(start + DELAY, false);
        assert_eq!(rows.len(), 2, "the agent and the referrer: {rows:?}");
        assert!(rows.iter().all(|r| r.count == 2));
        assert_eq!((labels.len(), labels.due_at()), (0, None), "taken means gone");
        // Past the bound on rows, they go with the next batch.
        for path in 0..SOON_ROWS as PathId {
            labels.add(&hit(path), &traits("b.example"), start);
        }
        assert_eq!(labels.due_at(), Some(start), "due at once");
        let rows = labels.take_due(start, false);
        assert_eq!(rows.len(), 2 * SOON_ROWS);
        // Put back after a failure: due a delay later even past the bound
        // (a failing store is not retried in a loop), counted once more.
        labels.put_back(rows, start);
        assert_eq!(labels.due_at(), Some(start + DELAY), "paced");
        let again = labels.take_due(start + DELAY, false);
        assert_eq!(again.iter().map(|r| r.count).sum::<u64>(), 2 * SOON_ROWS as u64);
        labels.put_back(again[..1].to_vec(), start);
        assert_eq!(labels.due_at(), Some(start + DELAY), "retried after the delay");
    }
}
