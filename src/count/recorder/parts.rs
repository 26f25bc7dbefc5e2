//! Small pure parts of the recorder: how proxied views join a batch's
//! tallies, and where batch ids start.

use crate::store::{BatchId, DayTallies, PathId, Tallies, Tally};
use crate::zone::DayNumber;

/// The filtered counts with one proxied view added per entry, in key order.
pub(super) fn with_proxied(filtered: &[DayTallies], proxied: &[(PathId, DayNumber)]) -> Vec<DayTallies> {
    if proxied.is_empty() {
        return filtered.to_vec();
    }
    let mut rows: std::collections::BTreeMap<(PathId, DayNumber), Tallies> =
        filtered.iter().map(|r| ((r.path, r.day), r.tallies)).collect();
    for &key in proxied {
        rows.entry(key).or_default().add(Tally::Proxied, 1);
    }
    rows.into_iter()
        .map(|((path, day), tallies)| DayTallies { path, day, tallies })
        .collect()
}

/// Batch ids start at a random point, so that two processes (or a process
/// and the leftovers of an earlier one) practically never share one.
pub(super) fn first_batch_id() -> BatchId {
    let seed = getrandom::u64().unwrap_or_else(|_| {
        tracing::error!("the OS random generator failed; deriving the first batch id instead");
        // Entropy, not a reading of "now": any differing value will do.
        let nanos = std::time::SystemTime::UNIX_EPOCH.elapsed().map_or(0, |d| d.as_nanos());
        (nanos as u64) ^ u64::from(std::process::id()).rotate_left(32)
    });
    seed as BatchId
}
