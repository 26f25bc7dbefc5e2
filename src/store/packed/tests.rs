//! Unit tests of the packed layout: packing and decoding round trips on
//! seeded random calls, bad bytes, paging, slot reading and retention cuts.

use super::*;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A small seeded generator (xorshift), so failures reproduce.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

fn unpack(runs: &[Run]) -> Vec<(PathId, i64)> {
    let mut out = Vec::new();
    for run in runs {
        let mut times = Vec::new();
        decode_into(run.path, run.slot, &run.bytes, &mut times).unwrap();
        assert_eq!(times.len(), run.calls as usize);
        assert!(times.iter().all(|&m| m.div_euclid(SLOT_MICROS) == run.slot));
        out.extend(times.into_iter().map(|m| (run.path, m)));
    }
    out.sort_unstable();
    out
}

#[test]
fn random_calls_pack_and_decode_to_the_same_times() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..200 {
        let n = (rng.next() % 3000) as usize;
        let spread = [1_000_000, 60_000_000, 86_400_000_000][round % 3];
        let calls: Vec<(PathId, Timestamp)> = (0..n)
            .map(|_| {
                let micros = 1_767_225_600_000_000 - 3_600_000_000 + (rng.next() % spread) as i64;
                ((rng.next() % 4) as PathId, Timestamp::from_microsecond(micros).unwrap())
            })
            .collect();
        let runs = pack(calls.iter().copied());
        for run in &runs {
            assert!(run.bytes.len() <= ROW_BYTES, "{}", run.bytes.len());
        }
        let keys: Vec<_> = runs.iter().map(|r| (r.path, r.slot, r.piece)).collect();
        assert!(keys.windows(2).all(|w| w[0] < w[1]), "ordered by key");
        let mut expected: Vec<(PathId, i64)> = calls.iter().map(|&(p, at)| (p, at.as_microsecond())).collect();
        expected.sort_unstable();
        assert_eq!(unpack(&runs), expected);
    }
}

#[test]
fn concatenated_runs_decode_as_one_row_and_a_slot_reads_sorted() {
    let a = pack([(1, t("2026-01-01T10:05:00Z")), (1, t("2026-01-01T10:01:00.000001Z"))]);
    let b = pack([(1, t("2026-01-01T10:03:00Z"))]);
    let row = [a[0].bytes.clone(), b[0].bytes.clone()].concat();
    let times = slot_times(1, a[0].slot, [row.as_slice()]).unwrap();
    let expected: Vec<i64> = [
        "2026-01-01T10:01:00.000001Z",
        "2026-01-01T10:03:00Z",
        "2026-01-01T10:05:00Z",
    ]
    .iter()
    .map(|s| t(s).as_microsecond())
    .collect();
    assert_eq!(times, expected);
}

#[test]
fn times_before_1970_are_in_the_slot_below() {
    let at = t("1969-12-31T23:59:59Z");
    let runs = pack([(1, at)]);
    assert_eq!(runs[0].slot, -1);
    assert_eq!(unpack(&runs), [(1, at.as_microsecond())]);
}

#[test]
fn a_busy_slot_is_cut_into_pieces_that_name_the_lead() {
    let base = t("2026-01-01T10:00:00Z").as_microsecond();
    let calls = (0..2000).map(|i| (7, Timestamp::from_microsecond(base + i * 1000).unwrap()));
    let runs = pack(calls);
    assert!(runs.len() > 1);
    assert!(runs.iter().enumerate().all(|(i, r)| r.piece == i as i32));
    assert!(runs.iter().all(|r| r.lead_bytes == runs[0].bytes.len() as i32));
    assert_eq!(runs.iter().map(|r| r.calls).sum::<i32>(), 2000);
    // One call a millisecond: two bytes per call after the first.
    assert!(runs[0].bytes.len() >= ROW_BYTES - 2);
}

#[test]
fn bad_bytes_are_corrupt_not_made_up_times() {
    let mut out = Vec::new();
    for bytes in [&[0x80][..], &[0x02], &[0xff; 12]] {
        assert!(matches!(
            decode_into(1, 0, bytes, &mut out),
            Err(StoreError::Corrupt { .. })
        ));
    }
    // An offset past the slot's end.
    let mut row = Vec::new();
    put_varint(&mut row, (SLOT_MICROS as u64) << 1 | 1);
    assert!(decode_into(1, 0, &row, &mut out).is_err());
}

#[test]
fn paging_takes_calls_strictly_between_up_to_the_limit() {
    let mut page = Page::new(
        Timestamp::from_microsecond(10).unwrap(),
        Timestamp::from_microsecond(50).unwrap(),
        3,
    );
    assert!(page.take(&[5, 10, 11, 12]));
    assert!(!page.take(&[20, 30, 40]));
    assert_eq!(page.calls, [11, 12, 20]);
}

#[test]
fn a_reader_hands_out_each_slot_sorted_once_complete() {
    let runs = pack([
        (1, t("2026-01-01T10:10:00Z")),
        (1, t("2026-01-01T10:01:00Z")),
        (1, t("2026-01-01T10:20:00Z")),
    ]);
    let mut reader = SlotReader::new(1);
    assert_eq!(reader.push(runs[0].slot, &runs[0].bytes).unwrap(), None);
    let first = reader.push(runs[1].slot, &runs[1].bytes).unwrap().unwrap();
    assert_eq!(
        first,
        [
            t("2026-01-01T10:01:00Z").as_microsecond(),
            t("2026-01-01T10:10:00Z").as_microsecond()
        ]
    );
    assert_eq!(reader.finish().unwrap(), [t("2026-01-01T10:20:00Z").as_microsecond()]);
    assert_eq!(reader.finish(), None);
}

#[test]
fn retention_keeps_the_times_at_or_after_the_cutoff() {
    let runs = pack([(1, t("2026-01-01T10:01:00Z")), (1, t("2026-01-01T10:09:00Z"))]);
    let cut = t("2026-01-01T10:05:00Z").as_microsecond();
    let (bytes, n) = keep_from(1, runs[0].slot, &runs[0].bytes, cut).unwrap().unwrap();
    assert_eq!(n, 1);
    assert_eq!(
        slot_times(1, runs[0].slot, [bytes.as_slice()]).unwrap(),
        [t("2026-01-01T10:09:00Z").as_microsecond()]
    );
    assert_eq!(keep_from(1, runs[0].slot, &runs[0].bytes, cut * 2).unwrap(), None);
}

#[test]
fn slot_ranges_cover_from_and_the_last_microsecond_before_until() {
    let (from, until) = (t("2026-01-01T10:05:00Z"), t("2026-01-01T11:00:00Z"));
    let (lo, hi) = slot_range(from, until);
    assert_eq!(hi - lo, 3);
    assert!(!slot_inside(lo, from, until));
    assert!(slot_inside(hi, from, until));
}
