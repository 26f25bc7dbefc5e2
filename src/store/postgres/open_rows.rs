//! Which row of a (page, slot) a batch appends to, remembered by the writer
//! from what its last append (`history::APPEND`) returned, so a steady
//! stream of batches sends the row's key and `call_times` is not searched
//! for the slot's newest row every time (measured: about a fifth of the
//! append's cost at the new-visitor bench load).
//!
//! Only a hint: the append is an upsert on the row's key either way, so a
//! stale entry (another replica appended meanwhile, the row was pruned,
//! moved or deleted) costs nothing but a row a little over `ROW_BYTES` or a
//! gap in the parts, both of which readers take as they are. A (page, slot)
//! not remembered is looked up by the statement itself. Bounded: it keeps
//! the slots batches write to now, not history.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use tokio_postgres::Row;

use super::super::packed::{Run, ROW_BYTES};
use super::super::PathId;

/// (page, slot) pairs remembered at most; beyond it the older slots go.
const MAX_ENTRIES: usize = 65_536;

/// The newest row (part, bytes) this writer appended to, per (page, slot).
#[derive(Default)]
pub(super) struct OpenRows {
    rows: Mutex<HashMap<(PathId, i64), (i32, i32)>>,
}

impl OpenRows {
    /// For each run, the part its piece 0 goes to, or -1 when not known.
    pub(super) fn parts_for(&self, runs: &[Run]) -> Vec<i32> {
        let rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        runs.iter()
            .map(|run| match rows.get(&(run.path, run.slot)) {
                Some(&(part, len)) if len.saturating_add(run.lead_bytes) <= ROW_BYTES as i32 => part,
                Some(&(part, _)) => part.saturating_add(1),
                None => -1,
            })
            .collect()
    }

    /// Takes what `history::APPEND` returned in a committed batch: per
    /// (page, slot), the highest part written and its length in bytes.
    pub(super) fn remember(&self, written: impl IntoIterator<Item = ((PathId, i64), (i32, i32))>) {
        let mut rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        for (key, open) in written {
            if rows.len() >= MAX_ENTRIES && !rows.contains_key(&key) {
                // Slots behind the one being written are done with.
                rows.retain(|&(_, slot), _| slot >= key.1);
                if rows.len() >= MAX_ENTRIES {
                    rows.clear();
                }
            }
            let entry = rows.entry(key).or_insert(open);
            if open.0 >= entry.0 {
                *entry = open;
            }
        }
    }
}

/// The (page, slot) and (part, bytes) of each row `history::APPEND`
/// returned; a row that does not read as one is left out (a hint only: its
/// batch is committed either way).
pub(super) fn written(returned: &[Row]) -> impl Iterator<Item = ((PathId, i64), (i32, i32))> + '_ {
    returned.iter().filter_map(|row| {
        Some((
            (row.try_get(0).ok()?, row.try_get(1).ok()?),
            (row.try_get(2).ok()?, row.try_get(3).ok()?),
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(path: PathId, slot: i64, piece: i32, lead_bytes: i32) -> Run {
        Run {
            path,
            slot,
            piece,
            lead_bytes,
            calls: 1,
            bytes: vec![1],
        }
    }

    #[test]
    fn a_run_goes_to_the_remembered_row_while_it_fits_and_to_the_next_after() {
        let open = OpenRows::default();
        open.remember([((1, 7), (0, 500)), ((2, 7), (3, 500))]);
        let room = ROW_BYTES as i32 - 500;
        let parts = open.parts_for(&[
            run(1, 7, 0, room),
            run(1, 8, 0, 1),
            run(2, 7, 0, room + 1),
            run(2, 7, 1, room + 1),
            run(3, 7, 0, 1),
        ]);
        // Pieces of one write share their piece 0's part (the statement adds k).
        assert_eq!(parts, vec![0, -1, 4, 4, -1]);
    }

    #[test]
    fn the_highest_part_written_is_kept_with_its_length() {
        let open = OpenRows::default();
        open.remember([((1, 7), (2, 40)), ((1, 7), (1, 500)), ((1, 7), (2, 60))]);
        assert_eq!(open.parts_for(&[run(1, 7, 0, ROW_BYTES as i32 - 60)]), vec![2]);
        assert_eq!(open.parts_for(&[run(1, 7, 0, ROW_BYTES as i32 - 59)]), vec![3]);
    }

    #[test]
    fn it_stays_bounded_keeping_the_slot_being_written() {
        let open = OpenRows::default();
        open.remember((0..MAX_ENTRIES as i64).map(|p| ((p, 7), (0, 10))));
        open.remember([((1, 8), (0, 10))]);
        let rows = open.rows.lock().unwrap_or_else(PoisonError::into_inner);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows.get(&(1, 8)), Some(&(0, 10)));
    }
}
