//! The packed layout of raw call history, shared by both backends: calls
//! are stored per page and per [`SLOT_SECONDS`] slot, a row (`call_times`)
//! holding up to about [`ROW_BYTES`] of call times packed as varints, and a
//! slot holding as many rows (`part` 0, 1, …) as it needs.
//!
//! A row is a concatenation of runs, one per write (a batch, an import
//! chunk, a conversion chunk); a run is its times sorted, the first as its
//! offset from the slot's start, each next one as the distance from the one
//! before. Appending a run to a row is therefore plain byte concatenation,
//! which both databases do in SQL (`times || new`), and a row never needs
//! to be read to be written. Each varint's lowest bit says which of the two
//! it is (1: an offset, 0: a distance).
//!
//! Times of one slot are sorted only when read (runs of two writers may
//! interleave), so readers take every row of a slot before using any of its
//! times; slots do not overlap, so slot order is time order.
//!
//! Pure: no SQL and no I/O here.

use jiff::Timestamp;

use super::rules::SLOT_MICROS;
use super::{Hit, PathId, StoreError};

mod open_rows;
mod read;

pub use open_rows::{AppendedRow, OpenRows};
pub use read::{slot_inside, slot_range, CallRecords, Page, SlotReader};

/// A row takes runs until its times would pass this many bytes, then the
/// slot gets a new row. Small enough that rewriting a row on every append is
/// cheap and that it stays inline (PostgreSQL moves values over ~2 KB out of
/// line; SQLite's pages are 4 KB); large enough that a row's own cost
/// (about 60 bytes with its index entry) is spread over a hundred calls.
pub const ROW_BYTES: usize = 512;

/// The slot a time is in: its microseconds divided by the slot width,
/// rounded down.
pub fn slot_of(at: Timestamp) -> i64 {
    at.as_microsecond().div_euclid(SLOT_MICROS)
}

/// The first microsecond of slot `slot`, saturating at the ends of `i64`.
pub fn slot_start_micros(slot: i64) -> i64 {
    slot.saturating_mul(SLOT_MICROS)
}

/// One write to a page's slot: what goes into one row (a new one, or the
/// slot's newest one when it has room).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub path: PathId,
    pub slot: i64,
    /// Which of this write's runs for the slot it is (0, 1, …): a write
    /// carrying more than [`ROW_BYTES`] for one slot is split into runs
    /// that go into rows of their own.
    pub piece: i32,
    /// The length of the write's piece 0 for this slot, which decides
    /// whether it fits into the slot's newest row.
    pub lead_bytes: i32,
    pub calls: i32,
    pub bytes: Vec<u8>,
}

/// `value` as an unsigned LEB128 varint: its bytes and their number.
fn varint(mut value: u64) -> ([u8; 10], usize) {
    let (mut out, mut len) = ([0u8; 10], 0);
    while value >= 0x80 {
        out[len] = (value as u8 & 0x7f) | 0x80;
        value >>= 7;
        len += 1;
    }
    out[len] = value as u8;
    (out, len + 1)
}

/// Appends `value` as an unsigned LEB128 varint.
fn put_varint(out: &mut Vec<u8>, value: u64) {
    let (bytes, len) = varint(value);
    out.extend_from_slice(&bytes[..len]);
}

/// Packs sorted offsets (microseconds from their slot's start) as one run.
fn encode_run(offsets: &[i64], out: &mut Vec<u8>) {
    let mut previous = None;
    for &offset in offsets {
        let word = match previous {
            None => (offset as u64) << 1 | 1,
            Some(p) => ((offset - p) as u64) << 1,
        };
        put_varint(out, word);
        previous = Some(offset);
    }
}

/// Groups `calls` (page, time) into runs, ordered by (page, slot, piece) so
/// that two writers take row locks in the same order.
pub fn pack(calls: impl IntoIterator<Item = (PathId, Timestamp)>) -> Vec<Run> {
    let mut keyed: Vec<(PathId, i64, i64)> = calls
        .into_iter()
        .map(|(path, at)| {
            let micros = at.as_microsecond();
            (path, micros.div_euclid(SLOT_MICROS), micros.rem_euclid(SLOT_MICROS))
        })
        .collect();
    keyed.sort_unstable();
    let mut runs: Vec<Run> = Vec::new();
    let mut start = 0;
    while start < keyed.len() {
        let (path, slot, _) = keyed[start];
        let end = start + keyed[start..].partition_point(|&(p, s, _)| (p, s) == (path, slot));
        let first = runs.len();
        // A run is cut where it would pass ROW_BYTES; each piece starts
        // again with an offset, so it decodes on its own.
        let (mut bytes, mut calls, mut previous) = (Vec::new(), 0i32, None::<i64>);
        for &(_, _, offset) in &keyed[start..end] {
            let (mut word, mut len) = match previous {
                Some(p) => varint(((offset - p) as u64) << 1),
                None => varint((offset as u64) << 1 | 1),
            };
            if previous.is_some() && bytes.len() + len > ROW_BYTES {
                push_piece(&mut runs, first, path, slot, std::mem::take(&mut bytes), calls);
                (word, len) = varint((offset as u64) << 1 | 1);
                calls = 0;
            }
            bytes.extend_from_slice(&word[..len]);
            calls += 1;
            previous = Some(offset);
        }
        push_piece(&mut runs, first, path, slot, bytes, calls);
        let lead = i32::try_from(runs[first].bytes.len()).unwrap_or(i32::MAX);
        for run in &mut runs[first..] {
            run.lead_bytes = lead;
        }
        start = end;
    }
    runs
}

fn push_piece(runs: &mut Vec<Run>, first: usize, path: PathId, slot: i64, bytes: Vec<u8>, calls: i32) {
    runs.push(Run {
        path,
        slot,
        piece: i32::try_from(runs.len() - first).unwrap_or(i32::MAX),
        lead_bytes: 0,
        calls,
        bytes,
    });
}

/// [`pack`] for a batch's hits.
pub fn pack_hits(hits: &[Hit]) -> Vec<Run> {
    pack(hits.iter().map(|h| (h.path, h.at)))
}

/// Decodes one row of slot `slot` into microseconds since the epoch,
/// appended to `out` in stored order (sorted within each run only).
///
/// # Errors
/// [`StoreError::Corrupt`] naming the page when the bytes are not a row.
pub fn decode_into(path: PathId, slot: i64, bytes: &[u8], out: &mut Vec<i64>) -> Result<(), StoreError> {
    let corrupt = || StoreError::corrupt(format!("call_times of path {path}, slot {slot}, is not a packed row"));
    let base = slot_start_micros(slot);
    let (mut word, mut shift, mut current) = (0u64, 0u32, None::<i64>);
    for &byte in bytes {
        if shift > 56 {
            return Err(corrupt());
        }
        word |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 != 0 {
            shift += 7;
            continue;
        }
        let value = i64::try_from(word >> 1).map_err(|_| corrupt())?;
        let offset = match (word & 1, current) {
            (1, _) => value,
            (_, Some(previous)) => previous.checked_add(value).ok_or_else(corrupt)?,
            (_, None) => return Err(corrupt()),
        };
        if offset >= SLOT_MICROS {
            return Err(corrupt());
        }
        current = Some(offset);
        out.push(base + offset);
        (word, shift) = (0, 0);
    }
    if shift != 0 {
        return Err(corrupt());
    }
    Ok(())
}

/// The calls of one slot, from all its rows, sorted.
///
/// # Errors
/// As [`decode_into`].
pub fn slot_times<'a>(
    path: PathId,
    slot: i64,
    rows: impl IntoIterator<Item = &'a [u8]>,
) -> Result<Vec<i64>, StoreError> {
    let mut times = Vec::new();
    for row in rows {
        decode_into(path, slot, row, &mut times)?;
    }
    times.sort_unstable();
    Ok(times)
}

/// A time as stored (microseconds) as a timestamp.
///
/// # Errors
/// [`StoreError::Corrupt`] when out of range.
pub fn time(path: PathId, micros: i64) -> Result<Timestamp, StoreError> {
    super::rules::time_from_micros(micros, &format!("call_times of path {path}"))
}

/// Keeps the times of a row at or after `before`: the part of a row that
/// retention keeps when the cutoff falls inside its slot. `None` when
/// nothing is left; otherwise the kept times, repacked, and their number.
///
/// # Errors
/// As [`decode_into`].
pub fn keep_from(path: PathId, slot: i64, bytes: &[u8], before: i64) -> Result<Option<(Vec<u8>, i32)>, StoreError> {
    let mut times = Vec::new();
    decode_into(path, slot, bytes, &mut times)?;
    times.sort_unstable();
    let base = slot_start_micros(slot);
    let kept: Vec<i64> = times.into_iter().filter(|&t| t >= before).map(|t| t - base).collect();
    if kept.is_empty() {
        return Ok(None);
    }
    let mut out = Vec::new();
    encode_run(&kept, &mut out);
    Ok(Some((out, i32::try_from(kept.len()).unwrap_or(i32::MAX))))
}

#[cfg(test)]
mod tests;
