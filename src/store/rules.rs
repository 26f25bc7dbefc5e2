//! Rules both backends share, written once: how stored numbers and times are
//! decoded, what a 15-minute slot is, how a batch is summed, how counts are
//! sorted. Pure: no SQL and no I/O here.

use std::collections::BTreeMap;
use std::time::SystemTime;

use jiff::Timestamp;

use super::{Hit, PathCount, PathId, SlotCount, StoreError};
use crate::zone::{DayNumber, Zone};

/// The width of a slot, in seconds. Every real-world UTC offset is a
/// multiple of 15 minutes, so slots map onto local hours and days of any
/// zone. The backends bind it into their SQL as a parameter.
pub const SLOT_SECONDS: i64 = 900;
/// The same width in microseconds, the unit SQLite stores times in.
pub const SLOT_MICROS: i64 = SLOT_SECONDS * 1_000_000;

/// A count as stored (a signed integer in both databases) as the API shows
/// it. Counts only ever grow from zero; a negative one reads as zero rather
/// than wrapping to a huge number.
pub fn count_from_db(stored: i64) -> u64 {
    u64::try_from(stored).unwrap_or(0)
}

/// A time SQLite stores as microseconds since the Unix epoch.
///
/// # Errors
/// [`StoreError::Corrupt`] naming `what` when it is outside the range of
/// times Footfall handles (years -9999 to 9999); never a made-up time.
pub fn time_from_micros(stored: i64, what: &str) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(stored)
        .map_err(|_| StoreError::corrupt(format!("{what} is {stored} µs since 1970, outside years -9999..=9999")))
}

/// A time PostgreSQL stores as a `timestamptz` (which allows `infinity`
/// and years up to 294276).
///
/// # Errors
/// [`StoreError::Corrupt`] naming `what`, as for [`time_from_micros`].
pub fn time_from_system(stored: SystemTime, what: &str) -> Result<Timestamp, StoreError> {
    Timestamp::try_from(stored).map_err(|_| StoreError::corrupt(format!("{what} is outside years -9999..=9999")))
}

/// One slot's row: the slot's index (its start divided by [`SLOT_SECONDS`],
/// rounded down) and its calls.
///
/// # Errors
/// [`StoreError::Corrupt`] when the index names no representable time.
pub fn slot(path: PathId, index: i64, calls: i64) -> Result<SlotCount, StoreError> {
    let start = index
        .checked_mul(SLOT_SECONDS)
        .and_then(|second| Timestamp::from_second(second).ok())
        .ok_or_else(|| {
            StoreError::corrupt(format!(
                "a call of path {path} is in slot {index}, outside the time range"
            ))
        })?;
    Ok(SlotCount {
        path,
        slot_start: start,
        calls: count_from_db(calls),
    })
}

/// Sums slot counts into per-(path, day) rows of `zone`, ordered by key.
pub fn days_from_slots(slots: impl IntoIterator<Item = SlotCount>, zone: &Zone) -> Vec<(PathId, DayNumber, i64)> {
    let mut days: BTreeMap<(PathId, DayNumber), i64> = BTreeMap::new();
    for slot in slots {
        let calls = i64::try_from(slot.calls).unwrap_or(i64::MAX);
        let day = days.entry((slot.path, zone.day_of(slot.slot_start))).or_default();
        *day = day.saturating_add(calls);
    }
    days.into_iter().map(|((p, d), n)| (p, d, n)).collect()
}

/// One page's calls on one day: (page, day, calls).
pub type PageDayCalls = (PathId, DayNumber, i64);

/// Per-(path, day) and per-path sums of a batch, ordered by key so that two
/// processes writing at once take row locks in the same order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct BatchSums {
    pub per_day: Vec<PageDayCalls>,
    pub per_path: Vec<PathSum>,
}

impl BatchSums {
    /// Splits `per_day`: each page's latest day and its calls that day, in
    /// `per_path` order (what a PostgreSQL page row keeps as its open day),
    /// and the page's earlier days, in key order.
    pub fn latest_days(&self) -> (Vec<(DayNumber, i64)>, Vec<PageDayCalls>) {
        let mut latest = Vec::with_capacity(self.per_path.len());
        let mut earlier = Vec::new();
        for (i, &(path, day, calls)) in self.per_day.iter().enumerate() {
            match self.per_day.get(i + 1) {
                Some(&(next, _, _)) if next == path => earlier.push((path, day, calls)),
                _ => latest.push((day, calls)),
            }
        }
        (latest, earlier)
    }
}

#[derive(Debug, PartialEq, Eq)]
pub struct PathSum {
    pub path: PathId,
    pub calls: i64,
    pub first: Timestamp,
    pub last: Timestamp,
}

pub fn sum_batch(hits: &[Hit]) -> BatchSums {
    let mut per_day: BTreeMap<(PathId, DayNumber), i64> = BTreeMap::new();
    let mut per_path: BTreeMap<PathId, PathSum> = BTreeMap::new();
    for hit in hits {
        *per_day.entry((hit.path, hit.day)).or_default() += 1;
        per_path
            .entry(hit.path)
            .and_modify(|s| {
                s.calls += 1;
                s.first = s.first.min(hit.at);
                s.last = s.last.max(hit.at);
            })
            .or_insert(PathSum {
                path: hit.path,
                calls: 1,
                first: hit.at,
                last: hit.at,
            });
    }
    BatchSums {
        per_day: per_day.into_iter().map(|((p, d), n)| (p, d, n)).collect(),
        per_path: per_path.into_values().collect(),
    }
}

/// Sorts counts as the API promises: count descending, then path by bytes
/// (not by a database collation, which differs between backends and locales).
pub fn sort_counts(counts: &mut [PathCount]) {
    counts.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.path.cmp(&b.path)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn batches_are_summed_per_day_and_per_path_in_key_order() {
        let hit = |path, at: &str, day| Hit { path, at: t(at), day };
        let hits = [
            hit(2, "2026-01-02T10:00:00Z", 20455),
            hit(1, "2026-01-01T10:00:00Z", 20454),
            hit(2, "2026-01-01T09:00:00Z", 20454),
            hit(2, "2026-01-02T11:00:00Z", 20455),
        ];
        let sums = sum_batch(&hits);
        assert_eq!(sums.per_day, vec![(1, 20454, 1), (2, 20454, 1), (2, 20455, 2)]);
        let sum = |path, calls, first: &str, last: &str| PathSum {
            path,
            calls,
            first: t(first),
            last: t(last),
        };
        assert_eq!(
            sums.per_path,
            vec![
                sum(1, 1, "2026-01-01T10:00:00Z", "2026-01-01T10:00:00Z"),
                sum(2, 3, "2026-01-01T09:00:00Z", "2026-01-02T11:00:00Z"),
            ]
        );
        let (latest, earlier) = sums.latest_days();
        assert_eq!(latest, vec![(20454, 1), (20455, 2)]);
        assert_eq!(earlier, vec![(2, 20454, 1)]);
    }

    #[test]
    fn counts_sort_by_count_then_path() {
        let c = |p: &str, n| PathCount {
            path: p.into(),
            count: n,
        };
        let mut counts = vec![c("/b", 1), c("/a", 1), c("/z", 5), c("/B", 1)];
        sort_counts(&mut counts);
        assert_eq!(counts, vec![c("/z", 5), c("/B", 1), c("/a", 1), c("/b", 1)]);
    }

    #[test]
    fn negative_counts_read_as_zero() {
        assert_eq!(count_from_db(-3), 0);
        assert_eq!(count_from_db(7), 7);
    }

    #[test]
    fn slots_start_at_multiples_of_the_width_and_bad_indexes_are_corrupt() {
        let s = slot(4, 2, 3).unwrap();
        assert_eq!((s.path, s.slot_start, s.calls), (4, t("1970-01-01T00:30:00Z"), 3));
        assert_eq!(slot(4, -1, 1).unwrap().slot_start, t("1969-12-31T23:45:00Z"));
        assert!(matches!(slot(4, i64::MAX, 1), Err(StoreError::Corrupt { .. })));
        assert_eq!(SLOT_MICROS, 900_000_000);
    }

    #[test]
    fn an_undecodable_time_is_an_error_naming_it_not_1970() {
        let error = time_from_micros(i64::MAX, "calls.called_at").unwrap_err();
        assert!(error.to_string().contains("calls.called_at"), "{error}");
        let far = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(20_000 * 366 * 86_400);
        assert!(matches!(time_from_system(far, "x"), Err(StoreError::Corrupt { .. })));
        assert_eq!(time_from_micros(0, "x").unwrap(), Timestamp::UNIX_EPOCH);
    }

    #[test]
    fn slots_sum_into_days_of_the_zone() {
        let zone = Zone::named("Asia/Tokyo").unwrap();
        let slots = [slot(1, 0, 2).unwrap(), slot(1, 60, 1).unwrap(), slot(2, 0, 5).unwrap()];
        // Slot 0 is 09:00 in Tokyo on day 0; slot 60 (15:00 UTC) is 00:00 of day 1 there.
        assert_eq!(days_from_slots(slots, &zone), vec![(1, 0, 2), (1, 1, 1), (2, 0, 5)]);
    }
}
