//! Which row of a (page, slot) a SQLite batch appends to, remembered by the
//! writer from what it last wrote, so a steady stream of batches names the
//! row's key and `call_times` is not searched for the slot's newest row
//! every time (measured on PostgreSQL, when its batches appended to
//! `call_times` too: about a fifth of the append's cost at the new-visitor
//! bench load). PostgreSQL keeps that row in the page's own row instead
//! (`postgres::open_runs`).
//!
//! Only a hint: the append is an upsert on the row's key either way, so a
//! stale entry (another replica or process appended meanwhile, the row was
//! pruned, moved or deleted) costs nothing but a row a little over
//! `ROW_BYTES` or a gap in the parts, both of which readers take as they
//! are. A (page, slot) not remembered is looked up by the store. Bounded:
//! it keeps the slots batches write to now, not history. Pure: no I/O of
//! its own (a store's look-up is handed in).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::super::PathId;
use super::{Run, ROW_BYTES};

/// A row appended to: its (page, slot) and its (part, length in bytes).
pub type AppendedRow = ((PathId, i64), (i32, i32));

/// (page, slot) pairs remembered at most; beyond it the older slots go.
const MAX_ENTRIES: usize = 65_536;

/// The newest row (part, bytes) this writer appended to, per (page, slot).
#[derive(Default)]
pub struct OpenRows {
    rows: Mutex<HashMap<(PathId, i64), (i32, i32)>>,
}

impl OpenRows {
    /// For each run, the part its piece 0 goes to (piece `k` goes to that
    /// part `+ k`): a (page, slot) not remembered is asked of `newest` (that
    /// row's part and length, `None` when the slot has none yet) and
    /// remembered, so every run gets a part.
    ///
    /// # Errors
    /// The first error of `newest`.
    pub fn parts_looking_up<E>(
        &self,
        runs: &[Run],
        mut newest: impl FnMut(PathId, i64) -> Result<Option<(i32, i32)>, E>,
    ) -> Result<Vec<i32>, E> {
        let mut rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        runs.iter()
            .map(|run| {
                let key = (run.path, run.slot);
                let open = match rows.get(&key) {
                    Some(&open) => open,
                    None => {
                        let open = newest(run.path, run.slot)?.unwrap_or((0, 0));
                        put(&mut rows, key, open);
                        open
                    }
                };
                Ok(part_for(open, run))
            })
            .collect()
    }

    /// The rows `runs` were appended to at `parts` (from
    /// [`OpenRows::parts_looking_up`]; piece `k` of a run goes to
    /// `parts[i] + k`), with their lengths after: a row that `grew` (it was
    /// there already) and that this remembers grows by the run's bytes; a
    /// row that was not there starts with them. For a store whose append
    /// does not return its rows; a guess is a hint like any.
    pub fn appended(&self, runs: &[Run], parts: &[i32], grew: &[bool]) -> Vec<AppendedRow> {
        let rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        runs.iter()
            .zip(parts)
            .zip(grew)
            .map(|((run, &part), &grew)| {
                let key = (run.path, run.slot);
                let at = part.saturating_add(run.piece);
                let bytes = i32::try_from(run.bytes.len()).unwrap_or(i32::MAX);
                let len = match rows.get(&key) {
                    Some(&(open, len)) if grew && open == at => len.saturating_add(bytes),
                    _ => bytes,
                };
                (key, (at, len))
            })
            .collect()
    }

    /// Takes what a committed batch appended: per (page, slot), the
    /// highest part written and its length in bytes.
    pub fn remember(&self, written: impl IntoIterator<Item = AppendedRow>) {
        let mut rows = self.rows.lock().unwrap_or_else(PoisonError::into_inner);
        for (key, open) in written {
            put(&mut rows, key, open);
        }
    }
}

/// The part a run's piece 0 goes to, given its slot's newest row (part,
/// length): that row while the run's piece 0 fits, else the next.
fn part_for((part, len): (i32, i32), run: &Run) -> i32 {
    if len.saturating_add(run.lead_bytes) <= ROW_BYTES as i32 {
        part
    } else {
        part.saturating_add(1)
    }
}

/// Remembers `open` for `key` unless a higher part is known, within
/// [`MAX_ENTRIES`].
fn put(rows: &mut HashMap<(PathId, i64), (i32, i32)>, key: (PathId, i64), open: (i32, i32)) {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The parts of `runs`, a slot not remembered having no row yet.
    fn parts_for(open: &OpenRows, runs: &[Run]) -> Vec<i32> {
        open.parts_looking_up(runs, |_, _| Ok::<_, ()>(None))
            .expect("no look-up fails")
    }

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

    /// A run of `bytes`, for what an append makes of it.
    fn run_of(path: PathId, slot: i64, piece: i32, bytes: Vec<u8>) -> Run {
        let lead_bytes = i32::try_from(bytes.len()).expect("a short run");
        Run {
            bytes,
            ..run(path, slot, piece, lead_bytes)
        }
    }

    #[test]
    fn a_run_goes_to_the_remembered_row_while_it_fits_and_to_the_next_after() {
        let open = OpenRows::default();
        open.remember([((1, 7), (0, 500)), ((2, 7), (3, 500))]);
        let room = ROW_BYTES as i32 - 500;
        let parts = parts_for(
            &open,
            &[
                run(1, 7, 0, room),
                run(1, 8, 0, 1),
                run(2, 7, 0, room + 1),
                run(2, 7, 1, room + 1),
                run(3, 7, 0, 1),
            ],
        );
        // Pieces of one write share their piece 0's part (the store adds k).
        assert_eq!(parts, vec![0, 0, 4, 4, 0]);
    }

    #[test]
    fn the_highest_part_written_is_kept_with_its_length() {
        let open = OpenRows::default();
        open.remember([((1, 7), (2, 40)), ((1, 7), (1, 500)), ((1, 7), (2, 60))]);
        assert_eq!(parts_for(&open, &[run(1, 7, 0, ROW_BYTES as i32 - 60)]), vec![2]);
        assert_eq!(parts_for(&open, &[run(1, 7, 0, ROW_BYTES as i32 - 59)]), vec![3]);
    }

    #[test]
    fn an_append_grows_the_remembered_row_and_starts_any_other() {
        let open = OpenRows::default();
        open.remember([((1, 7), (2, 100))]);
        let appended = open.appended(
            &[
                run_of(1, 7, 0, vec![1, 2, 3]),
                run_of(1, 7, 1, vec![4, 5]),
                run_of(2, 7, 0, vec![1; 4]),
                run_of(1, 7, 0, vec![1, 2, 3]),
            ],
            &[2, 2, 5, 2],
            &[true, false, false, false],
        );
        // Piece 1 of page 1 starts part 3; page 2's row is not remembered;
        // a remembered row that was gone (deleted behind the writer's back)
        // starts again with the run alone.
        assert_eq!(
            appended,
            vec![((1, 7), (2, 103)), ((1, 7), (3, 2)), ((2, 7), (5, 4)), ((1, 7), (2, 3))]
        );
        open.remember(vec![appended[0], appended[1]]);
        assert_eq!(parts_for(&open, &[run(1, 7, 0, ROW_BYTES as i32 - 2)]), vec![3]);
        assert_eq!(parts_for(&open, &[run(1, 7, 0, ROW_BYTES as i32 - 1)]), vec![4]);
    }

    #[test]
    fn a_slot_not_remembered_is_looked_up_once_and_then_remembered() {
        let open = OpenRows::default();
        open.remember([((1, 7), (0, 10))]);
        let mut asked = Vec::new();
        let parts = open
            .parts_looking_up(
                &[run(1, 7, 0, 1), run(2, 7, 0, 20), run(2, 7, 1, 20), run(3, 7, 0, 1)],
                |path, slot| {
                    asked.push((path, slot));
                    Ok::<_, ()>(if path == 2 {
                        Some((3, ROW_BYTES as i32 - 10))
                    } else {
                        None
                    })
                },
            )
            .expect("no look-up fails");
        // Page 2's newest row is too full for 20 bytes: part 4 for both its
        // pieces (the store adds k); page 3's slot has no row yet: part 0.
        assert_eq!(parts, vec![0, 4, 4, 0]);
        assert_eq!(asked, vec![(2, 7), (3, 7)]);
        assert_eq!(parts_for(&open, &[run(2, 7, 0, 10), run(3, 7, 0, 1)]), vec![3, 0]);
        let failed = open.parts_looking_up(&[run(4, 7, 0, 1)], |_, _| Err("down"));
        assert_eq!(failed, Err("down"));
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
