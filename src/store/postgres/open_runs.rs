//! Each page's open run: its newest call-history row, kept in its `paths`
//! row next to the total and open day the batch's update writes anyway, so
//! a counted call writes one row, not two (the upsert into `call_times` was
//! a third to half of a batch's PostgreSQL time). Other rows are in
//! `call_times`; readers see both through the view `call_rows`, where an
//! open run is its slot's last part.
//!
//! The rule that keeps them apart: an open run is one more row of
//! (page, `open_slot`), written only by a batch's update ([`ROLL`]) and
//! moved whole into `call_times` (by a batch that rolls it, or [`close`]).
//! It has no part number until then, so no writer of `call_times` needs to
//! know of it. A batch's last run of a page (its latest slot, last piece)
//! goes in front of the open run while both fit in `ROW_BYTES` and are of
//! one slot; otherwise the open run rolls out to `call_times` (in the same
//! statement, [`ROLLED`] read from the update's `RETURNING`) and the run
//! opens in its place. The batch's other runs, and runs of pages without a
//! `paths` row (late hits of a removed page), go to `call_times` as rows of
//! their own ([`insert_rows`]). Parts there are taken after the slot's
//! highest, so no writer collides with another within a statement, and two
//! statements that meet append in `ON CONFLICT`. A writer that changes a
//! page's existing history (merging it away, retention) closes its run
//! first ([`close`], which locks the page's `paths` row), so it sees every
//! row in `call_times`; imports and conversions only add rows beside it.
//! Holds SQL and its parameters only; the callers own the transactions.

use std::sync::LazyLock;

use deadpool_postgres::Transaction;

use super::super::packed::{Run, ROW_BYTES};
use super::super::{PathId, StoreError};
use super::history;

/// Whether a batch's last run of a page (`t.s`, `t.b`) goes into the open
/// run: same slot, and room for both.
static FITS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "(paths.open_calls > 0 AND paths.open_slot = t.s \
         AND octet_length(paths.open_times) + octet_length(t.b) <= {ROW_BYTES})"
    )
});

/// The batch update's `SET` items for the open run: `t.s` is the slot of
/// the batch's last run of the page, `t.rn` its calls, `t.b` its bytes.
/// The `rolled_*` columns say what this update moved out of the row (see
/// [`ROLLED`]). New calls go in front: the old times are then an unchanged
/// tail of the row, which PostgreSQL leaves out of the update's WAL record.
/// `SET` reads the row as it was.
pub(super) static ROLL: LazyLock<String> = LazyLock::new(|| {
    let fits = &*FITS;
    let rolls = format!("NOT {fits} AND paths.open_calls > 0");
    format!(
        "open_slot = t.s, \
         open_calls = CASE WHEN {fits} THEN paths.open_calls + t.rn ELSE t.rn END, \
         open_times = CASE WHEN {fits} THEN t.b || paths.open_times ELSE t.b END, \
         rolled_slot = CASE WHEN {rolls} THEN paths.open_slot END, \
         rolled_calls = CASE WHEN {rolls} THEN paths.open_calls END, \
         rolled_times = CASE WHEN {rolls} THEN paths.open_times END"
    )
});

/// In the batch update's `RETURNING`: the run the update moved out
/// (slot, calls, bytes; null when none), for [`insert_rows`].
pub(super) const ROLLED: &str = "paths.rolled_slot, paths.rolled_calls, paths.rolled_times";

/// A batch's rows for `call_times`, from the update `updated` (its
/// `RETURNING` has `id` and [`ROLLED`]): the batch's runs other than each
/// page's last (`$1`..`$5`: page, slot, piece, calls, bytes), the runs
/// rolled out, and the last runs (`$6`..`$8`, `$22`: slot, calls, bytes,
/// piece; one per page of `$9`) of pages the update did not find, looked
/// up only when `updated` has fewer rows than the batch has pages. For
/// most batches that is nothing (`not_updated`: whether page `t.id` is one
/// of those). A rolled run takes the part after its
/// slot's highest, and piece `k` the part `k + 1` after that: unique within
/// the statement without numbering the rows (a part left free by a piece
/// that went to the open run is a gap, which readers take as it is).
/// Written in (page, slot, piece) order, which is the order every writer
/// locks rows in.
pub(super) fn insert_rows(only_if: &str, not_updated: &str) -> String {
    format!(
        "INSERT INTO call_times AS c (path_id, slot, part, calls, times) \
         SELECT x.p, x.s, {} + 1 + x.k, x.n, x.b FROM ( \
         SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::int[], $5::bytea[]) \
         UNION ALL SELECT id, rolled_slot, -1, rolled_calls, rolled_times FROM updated WHERE rolled_calls IS NOT NULL \
         UNION ALL SELECT t.id, t.s, t.k, t.n, t.b FROM unnest($9::bigint[], $6::bigint[], $22::int[], $7::int[], $8::bytea[]) \
         AS t(id, s, k, n, b) WHERE {not_updated}) AS x(p, s, k, n, b) \
         WHERE {only_if} ORDER BY x.p, x.s, x.k \
         ON CONFLICT (path_id, slot, part) DO UPDATE SET calls = c.calls + excluded.calls, times = excluded.times || c.times",
        history::next_part("x.p", "x.s")
    )
}

/// A batch's runs as the parameters of [`ROLL`] and [`insert_rows`]: each
/// page's last run (aligned with the batch's pages, which are sorted and
/// each have at least one run) and the others.
#[derive(Default)]
pub(super) struct BatchRuns {
    paths: Vec<PathId>,
    slots: Vec<i64>,
    pieces: Vec<i32>,
    calls: Vec<i32>,
    bytes: Vec<Vec<u8>>,
    last_slots: Vec<i64>,
    last_calls: Vec<i32>,
    last_bytes: Vec<Vec<u8>>,
    last_pieces: Vec<i32>,
}

impl BatchRuns {
    /// Splits `runs` (ordered by page, slot and piece, as `packed::pack`
    /// makes them) into each page's last run and the others.
    pub(super) fn of(runs: Vec<Run>) -> Self {
        let mut columns = Self::default();
        let mut runs = runs.into_iter().peekable();
        while let Some(run) = runs.next() {
            if runs.peek().is_some_and(|next| next.path == run.path) {
                columns.paths.push(run.path);
                columns.slots.push(run.slot);
                columns.pieces.push(run.piece);
                columns.calls.push(run.calls);
                columns.bytes.push(run.bytes);
            } else {
                columns.last_slots.push(run.slot);
                columns.last_calls.push(run.calls);
                columns.last_bytes.push(run.bytes);
                columns.last_pieces.push(run.piece);
            }
        }
        columns
    }

    /// `$1`..`$8` of the batch statement.
    pub(super) fn params(&self) -> [&(dyn tokio_postgres::types::ToSql + Sync); 8] {
        [
            &self.paths,
            &self.slots,
            &self.pieces,
            &self.calls,
            &self.bytes,
            &self.last_slots,
            &self.last_calls,
            &self.last_bytes,
        ]
    }

    /// `$22` of the batch statement.
    pub(super) fn last_pieces(&self) -> &Vec<i32> {
        &self.last_pieces
    }
}

/// Moves the open runs of the pages `which` selects (SQL over `paths`,
/// with `$1`) into `call_times`, each after its slot's highest part, where
/// the change that follows sees every row of them; locks the pages first,
/// in id order. What the last batch rolled out (already in `call_times`)
/// goes from the row too.
fn close_statement(which: &str) -> String {
    format!(
        "WITH open AS (SELECT id, open_slot, open_calls, open_times FROM paths \
         WHERE {which} AND open_calls > 0 ORDER BY id FOR NO KEY UPDATE), \
         closed AS (INSERT INTO call_times (path_id, slot, part, calls, times) \
         SELECT id, open_slot, {}, open_calls, open_times FROM open ORDER BY id) \
         UPDATE paths SET open_calls = 0, open_times = '', rolled_slot = NULL, rolled_calls = NULL, \
         rolled_times = NULL FROM open WHERE paths.id = open.id",
        history::next_part("open.id", "open.open_slot")
    )
}

static CLOSE_PAGES: LazyLock<String> = LazyLock::new(|| close_statement("id = ANY($1::bigint[])"));
static CLOSE_THROUGH: LazyLock<String> = LazyLock::new(|| close_statement("open_slot <= $1::bigint"));

/// Before a change to the call history of pages `ids`: their open runs
/// move into `call_times`.
pub(super) async fn close(tx: &Transaction<'_>, ids: &[PathId]) -> Result<(), StoreError> {
    if !ids.is_empty() {
        tx.execute(CLOSE_PAGES.as_str(), &[&ids]).await?;
    }
    Ok(())
}

/// Before retention deletes calls of slot `slot` and older: the open runs
/// of those slots move into `call_times`, where it finds every row.
pub(super) async fn close_through(tx: &Transaction<'_>, slot: i64) -> Result<(), StoreError> {
    tx.execute(CLOSE_THROUGH.as_str(), &[&slot]).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(path: PathId, slot: i64, piece: i32, bytes: &[u8]) -> Run {
        Run {
            path,
            slot,
            piece,
            lead_bytes: 0,
            calls: i32::try_from(bytes.len()).expect("short"),
            bytes: bytes.to_vec(),
        }
    }

    #[test]
    fn each_pages_last_run_is_its_open_run_and_the_others_go_to_call_times() {
        let runs = BatchRuns::of(vec![
            run(1, 7, 0, &[1]),
            run(1, 8, 0, &[2, 2]),
            run(2, 7, 0, &[3]),
            run(3, 7, 0, &[4; 3]),
            run(3, 7, 1, &[5; 4]),
        ]);
        // One last run per page, in the pages' order.
        assert_eq!(runs.last_slots, [8, 7, 7]);
        assert_eq!(runs.last_pieces, [0, 0, 1]);
        assert_eq!(runs.last_calls, [2, 1, 4]);
        assert_eq!(runs.last_bytes, [vec![2, 2], vec![3], vec![5; 4]]);
        // The rest keep their page, slot and piece.
        assert_eq!(runs.paths, [1, 3]);
        assert_eq!(runs.slots, [7, 7]);
        assert_eq!(runs.pieces, [0, 0]);
        assert_eq!(runs.bytes, [vec![1], vec![4; 3]]);
    }
}
