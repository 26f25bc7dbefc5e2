//! Tallies of filtered hits waiting for the writer, added up in memory per
//! (page, day), so a filtered request never waits for a commit and never
//! becomes a row of its own.
//!
//! They go out with the next batch of hits, or on their own within
//! [`FLUSH_DELAY`] when no hits come; a batch that certainly failed puts
//! them back. Bounded: keys are (page, day) of registered pages, and at most
//! [`MAX_ROWS`] of them wait (beyond, new keys are dropped and that is
//! logged once). Knows nothing of clients.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;

use crate::store::{DayTallies, PathId, Tallies, Tally};
use crate::sync::lock;
use crate::zone::DayNumber;

/// How long tallies wait for a batch of hits to ride along with before they
/// are written on their own: also the retry pace while the store is down.
pub const FLUSH_DELAY: Duration = Duration::from_secs(1);
/// (page, day) rows waiting at most: about 20 MB, far beyond one day of
/// `max_paths` pages unless the store has been down for long.
const MAX_ROWS: usize = 262_144;

#[derive(Default)]
pub struct Unsent {
    /// Ordered by key, so a batch locks rows in the same order as others.
    rows: Mutex<BTreeMap<(PathId, DayNumber), Tallies>>,
    arrived: Notify,
    warned_full: AtomicBool,
}

impl Unsent {
    /// Adds one to `tally` of `path` on `day`. Never waits.
    pub fn add(&self, path: PathId, day: DayNumber, tally: Tally) {
        let mut one = Tallies::default();
        one.add(tally, 1);
        self.merge(&[DayTallies {
            path,
            day,
            tallies: one,
        }]);
    }

    /// Takes every waiting row, ordered by (page, day).
    pub fn take(&self) -> Vec<DayTallies> {
        std::mem::take(&mut *lock(&self.rows))
            .into_iter()
            .map(|((path, day), tallies)| DayTallies { path, day, tallies })
            .collect()
    }

    /// Puts back rows whose batch certainly was not committed.
    pub fn put_back(&self, rows: &[DayTallies]) {
        self.merge(rows);
    }

    /// Resolves once rows have waited [`FLUSH_DELAY`] (counted from when
    /// this is called, or from the first row after it).
    pub async fn due(&self) {
        loop {
            if !lock(&self.rows).is_empty() {
                tokio::time::sleep(FLUSH_DELAY).await;
                return;
            }
            self.arrived.notified().await;
        }
    }

    fn merge(&self, rows: &[DayTallies]) {
        let mut waiting = lock(&self.rows);
        let was_empty = waiting.is_empty();
        for row in rows {
            let key = (row.path, row.day);
            if let Some(tallies) = waiting.get_mut(&key) {
                tallies.merge(&row.tallies);
            } else if waiting.len() < MAX_ROWS {
                waiting.insert(key, row.tallies);
            } else if !self.warned_full.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    rows = MAX_ROWS,
                    "too many filtered counts wait for the store: further pages' are dropped until it answers"
                );
            }
        }
        let arrived = was_empty && !waiting.is_empty();
        drop(waiting);
        if arrived {
            self.arrived.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_add_up_per_page_and_day_in_key_order() {
        let unsent = Unsent::default();
        unsent.add(2, 10, Tally::Bot);
        unsent.add(1, 11, Tally::Prefetch);
        unsent.add(2, 10, Tally::Bot);
        unsent.add(1, 10, Tally::Ignored);
        let rows = unsent.take();
        let keys: Vec<_> = rows.iter().map(|r| (r.path, r.day)).collect();
        assert_eq!(keys, [(1, 10), (1, 11), (2, 10)]);
        assert_eq!(rows[2].tallies.bot, 2);
        assert!(unsent.take().is_empty(), "taken means gone");
        unsent.put_back(&rows);
        unsent.put_back(&rows[..1]);
        assert_eq!(unsent.take()[0].tallies.ignored, 2);
    }

    #[tokio::test]
    async fn due_waits_for_a_row_then_the_delay() {
        let unsent = std::sync::Arc::new(Unsent::default());
        let waiter = tokio::spawn({
            let unsent = std::sync::Arc::clone(&unsent);
            async move { unsent.due().await }
        });
        tokio::time::sleep(FLUSH_DELAY / 4).await;
        assert!(!waiter.is_finished(), "nothing waits, so nothing is due");
        unsent.add(1, 1, Tally::Bot);
        tokio::time::sleep(FLUSH_DELAY / 2).await;
        assert!(!waiter.is_finished(), "due only after the delay");
        tokio::time::sleep(FLUSH_DELAY).await;
        assert!(waiter.is_finished());
    }
}
