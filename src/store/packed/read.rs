//! Reading packed rows: a page's history slot by slot, a page of calls
//! from a cursor, an export's call records, which slots a range touches.
//! Pure: no SQL and no I/O here.

use jiff::Timestamp;

use super::super::{PathId, Record, StoreError};
use super::{decode_into, slot_of, slot_start_micros, time, SLOT_MICROS};

/// Reads a page's history slot by slot, from rows that arrive ordered by
/// slot: collects a slot's rows, and hands out its times, sorted, once the
/// next slot begins or the rows end.
#[derive(Debug)]
pub struct SlotReader {
    path: PathId,
    slot: Option<i64>,
    times: Vec<i64>,
}

impl SlotReader {
    pub fn new(path: PathId) -> Self {
        Self {
            path,
            slot: None,
            times: Vec::new(),
        }
    }

    /// Adds one row; returns the previous slot's sorted times when `slot`
    /// starts a new one.
    ///
    /// # Errors
    /// As [`decode_into`].
    pub fn push(&mut self, slot: i64, bytes: &[u8]) -> Result<Option<Vec<i64>>, StoreError> {
        let done = match self.slot {
            Some(current) if current != slot => self.finish(),
            _ => None,
        };
        self.slot = Some(slot);
        decode_into(self.path, slot, bytes, &mut self.times)?;
        Ok(done)
    }

    /// The last slot's sorted times, if any.
    pub fn finish(&mut self) -> Option<Vec<i64>> {
        self.slot.take()?;
        let mut times = std::mem::take(&mut self.times);
        times.sort_unstable();
        Some(times)
    }
}

/// An export's call records from rows ordered by page (then slot and part):
/// each page's calls in time order.
#[derive(Debug, Default)]
pub struct CallRecords {
    page: Option<(PathId, String, String)>,
    reader: Option<SlotReader>,
}

impl CallRecords {
    /// Adds one row of page `id` (`site`, `path`); returns the records of
    /// every slot this row completes.
    ///
    /// # Errors
    /// As [`decode_into`].
    pub fn push(
        &mut self,
        id: PathId,
        site: &str,
        path: &str,
        slot: i64,
        bytes: &[u8],
    ) -> Result<Vec<Record>, StoreError> {
        let mut out = Vec::new();
        if self.page.as_ref().map(|p| p.0) != Some(id) {
            out = self.finish()?;
            self.page = Some((id, site.to_owned(), path.to_owned()));
            self.reader = Some(SlotReader::new(id));
        }
        let reader = self.reader.get_or_insert_with(|| SlotReader::new(id));
        if let Some(times) = reader.push(slot, bytes)? {
            self.records(&times, &mut out)?;
        }
        Ok(out)
    }

    /// The records of the last slot read.
    ///
    /// # Errors
    /// As [`decode_into`].
    pub fn finish(&mut self) -> Result<Vec<Record>, StoreError> {
        let mut out = Vec::new();
        if let Some(times) = self.reader.as_mut().and_then(SlotReader::finish) {
            self.records(&times, &mut out)?;
        }
        Ok(out)
    }

    fn records(&self, times: &[i64], out: &mut Vec<Record>) -> Result<(), StoreError> {
        let Some((id, site, path)) = &self.page else {
            return Ok(());
        };
        for &micros in times {
            out.push(Record::Call {
                site: site.clone(),
                path: path.clone(),
                at: time(*id, micros)?,
            });
        }
        Ok(())
    }
}

/// Takes calls in `(after, until)`, oldest first, from slots' sorted times,
/// until `limit`.
#[derive(Debug)]
pub struct Page {
    after: i64,
    until: i64,
    limit: usize,
    pub calls: Vec<i64>,
}

impl Page {
    pub fn new(after: Timestamp, until: Timestamp, limit: usize) -> Self {
        Self {
            after: after.as_microsecond(),
            until: until.as_microsecond(),
            limit,
            calls: Vec::new(),
        }
    }

    /// Adds one slot's sorted times; `false` once the page is full.
    pub fn take(&mut self, times: &[i64]) -> bool {
        let room = self.limit.saturating_sub(self.calls.len());
        self.calls.extend(
            times
                .iter()
                .copied()
                .filter(|&t| t > self.after && t < self.until)
                .take(room),
        );
        self.calls.len() < self.limit
    }

    /// The slots to read: from `after`'s to `until`'s.
    pub fn slots(&self) -> (i64, i64) {
        (self.after.div_euclid(SLOT_MICROS), self.until.div_euclid(SLOT_MICROS))
    }
}

/// The slots whose rows may hold calls in `[from, until)`, and whether a
/// slot lies wholly inside it (so its rows' counts can be summed without
/// reading their times).
pub fn slot_range(from: Timestamp, until: Timestamp) -> (i64, i64) {
    (
        slot_of(from),
        until.as_microsecond().saturating_sub(1).div_euclid(SLOT_MICROS),
    )
}

/// Whether every time of slot `slot` is in `[from, until)`.
pub fn slot_inside(slot: i64, from: Timestamp, until: Timestamp) -> bool {
    let start = slot_start_micros(slot);
    start >= from.as_microsecond() && start.saturating_add(SLOT_MICROS) <= until.as_microsecond()
}
