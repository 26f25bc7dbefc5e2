//! History in buckets: per-day counts filled with zeros and grouped into
//! weeks or months, and 15-minute slots grouped into local hours.
//!
//! Pure: no I/O, no clock. Sizes follow the requested range, never the
//! number of calls.

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

use crate::read::query::Bucket;
use crate::store::SlotCount;
use crate::zone::{date_of_day, DayNumber, Zone};

/// Every day from `from` to `to` (inclusive) with its count, zero where
/// `rows` (sorted or not) has none.
pub fn fill_days(rows: &[(DayNumber, u64)], from: DayNumber, to: DayNumber) -> Vec<(DayNumber, u64)> {
    let counts: BTreeMap<DayNumber, u64> = rows.iter().copied().filter(|(d, _)| (from..=to).contains(d)).collect();
    (from..=to)
        .map(|day| (day, counts.get(&day).copied().unwrap_or(0)))
        .collect()
}

/// Groups consecutive days into `bucket`s (weeks start on Monday; months on
/// the 1st). Each bucket is keyed by its first calendar day, which may lie
/// before the first filled day.
pub fn group_days(days: &[(DayNumber, u64)], bucket: Bucket) -> Vec<(Date, u64)> {
    let mut groups: Vec<(Date, u64)> = Vec::new();
    for &(day, count) in days {
        let date = date_of_day(day);
        let start = match bucket {
            Bucket::Hour | Bucket::Day => date,
            Bucket::Week => monday_of(date),
            Bucket::Month => date.first_of_month(),
        };
        match groups.last_mut() {
            Some((last, sum)) if *last == start => *sum += count,
            _ => groups.push((start, count)),
        }
    }
    groups
}

fn monday_of(date: Date) -> Date {
    let back = i64::from(date.weekday().to_monday_zero_offset());
    date.checked_sub(jiff::Span::new().days(back)).unwrap_or(date)
}

/// Every local hour that starts in `[from, until)` with its calls, zero
/// where there were none. Hours are real hours: a day with a daylight-saving
/// change has 23 or 25 of them.
pub fn group_hours(slots: &[SlotCount], zone: &Zone, from: Timestamp, until: Timestamp) -> Vec<(Timestamp, u64)> {
    let mut hours: BTreeMap<Timestamp, u64> = BTreeMap::new();
    let mut at = zone.hour_start(from);
    while at < until {
        hours.insert(at, 0);
        at = at.checked_add(SignedDuration::from_hours(1)).unwrap_or(Timestamp::MAX);
    }
    for slot in slots {
        if let Some(sum) = hours.get_mut(&zone.hour_start(slot.slot_start)) {
            *sum += slot.calls;
        }
    }
    hours.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zone::day_number;

    fn d(s: &str) -> DayNumber {
        day_number(s.parse().unwrap())
    }

    #[test]
    fn days_are_filled_with_zeros_inside_the_range_only() {
        let rows = [(d("2026-01-01"), 5), (d("2026-01-03"), 2), (d("2026-02-01"), 9)];
        assert_eq!(
            fill_days(&rows, d("2026-01-01"), d("2026-01-04")),
            vec![
                (d("2026-01-01"), 5),
                (d("2026-01-02"), 0),
                (d("2026-01-03"), 2),
                (d("2026-01-04"), 0)
            ]
        );
        assert_eq!(fill_days(&rows, d("2026-01-05"), d("2026-01-04")), vec![]);
    }

    #[test]
    fn weeks_start_on_monday_and_months_on_the_first() {
        // 2026-03-01 is a Sunday.
        let days = fill_days(
            &[(d("2026-03-01"), 1), (d("2026-03-02"), 2), (d("2026-03-09"), 4)],
            d("2026-03-01"),
            d("2026-03-09"),
        );
        let weeks = group_days(&days, Bucket::Week);
        let dates: Vec<String> = weeks.iter().map(|(w, n)| format!("{w}={n}")).collect();
        assert_eq!(dates, ["2026-02-23=1", "2026-03-02=2", "2026-03-09=4"]);
        let months = group_days(
            &fill_days(
                &[(d("2026-01-31"), 1), (d("2026-02-01"), 2)],
                d("2026-01-30"),
                d("2026-02-02"),
            ),
            Bucket::Month,
        );
        assert_eq!(
            months,
            vec![("2026-01-01".parse().unwrap(), 1), ("2026-02-01".parse().unwrap(), 2)]
        );
    }

    #[test]
    fn slots_land_in_local_hours_including_half_hour_zones() {
        let zone = Zone::fixed(5, 30).unwrap(); // India
        let from: Timestamp = "2026-01-01T00:30:00Z".parse().unwrap(); // 06:00 local
        let until: Timestamp = "2026-01-01T02:30:00Z".parse().unwrap();
        let slot = |s: &str, n| SlotCount {
            path: 1,
            slot_start: s.parse().unwrap(),
            calls: n,
        };
        let hours = group_hours(
            &[
                slot("2026-01-01T00:45:00Z", 2),
                slot("2026-01-01T01:15:00Z", 3),
                slot("2026-01-01T01:30:00Z", 4),
            ],
            &zone,
            from,
            until,
        );
        assert_eq!(
            hours,
            vec![
                ("2026-01-01T00:30:00Z".parse().unwrap(), 5),
                ("2026-01-01T01:30:00Z".parse().unwrap(), 4)
            ]
        );
    }

    #[test]
    fn a_daylight_saving_day_has_23_hours() {
        let berlin = Zone::named("Europe/Berlin").unwrap();
        let day: Date = "2026-03-29".parse().unwrap();
        let next: Date = "2026-03-30".parse().unwrap();
        assert_eq!(
            group_hours(&[], &berlin, berlin.start_of(day), berlin.start_of(next)).len(),
            23
        );
    }
}
