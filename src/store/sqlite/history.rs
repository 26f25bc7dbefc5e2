//! Raw call history on SQLite, in the packed layout of `store::packed`:
//! appending runs (a batch's calls, an import's, a conversion chunk's) and
//! the reads of the store contract that look at call times.

use jiff::Timestamp;
use rusqlite::{params, Connection, OptionalExtension};

use super::super::packed::{self, AppendedRow, OpenRows, Page, Run, SlotReader};
use super::super::rules::slot;
use super::super::{PathId, SlotCount, StoreError};

/// Appends to a row `?3` the writer knows (see `packed::OpenRows`), if it
/// is there; [`INSERT_AT`] starts it if not (it was deleted, or the run
/// starts the slot's next row). Two statements, not an upsert: the writer
/// learns which one it was without reading the row.
const APPEND_AT: &str = "UPDATE call_times SET calls = calls + ?4, times = CAST(times || ?5 AS BLOB) \
     WHERE path_id = ?1 AND slot = ?2 AND part = ?3";
const INSERT_AT: &str = "INSERT INTO call_times (path_id, slot, part, calls, times) VALUES (?1, ?2, ?3, ?4, ?5)";
/// A slot's newest row: its part and length.
const NEWEST: &str =
    "SELECT part, length(times) FROM call_times WHERE path_id = ?1 AND slot = ?2 ORDER BY part DESC LIMIT 1";

/// Appends a batch's runs (in the caller's transaction, which holds the
/// write lock), each piece `k` to its part `+ k` by the row's key: the part
/// `open` remembers for the slot, or, for a slot it does not, the one
/// [`NEWEST`] reads. Returns the rows appended to, with their lengths, for
/// `open` once the batch is committed.
pub(super) fn append_runs(conn: &Connection, runs: &[Run], open: &OpenRows) -> Result<Vec<AppendedRow>, StoreError> {
    let mut newest = conn.prepare_cached(NEWEST)?;
    let parts = open.parts_looking_up(runs, |path, slot| {
        newest
            .query_row(params![path, slot], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()
    })?;
    let mut at = conn.prepare_cached(APPEND_AT)?;
    let mut insert = conn.prepare_cached(INSERT_AT)?;
    let mut grew = Vec::with_capacity(runs.len());
    for (run, &part) in runs.iter().zip(&parts) {
        let key = params![run.path, run.slot, part + run.piece, run.calls, run.bytes];
        let updated = at.execute(key)? == 1;
        if !updated {
            insert.execute(key)?;
        }
        grew.push(updated);
    }
    Ok(open.appended(runs, &parts, &grew))
}

/// Appends `calls` (in the caller's transaction): an import's or a
/// conversion's, by the same statements as a batch's runs, each slot's
/// newest row looked up since no writer remembers it.
///
/// # Errors
/// SQLite's.
pub(super) fn append(
    conn: &Connection,
    calls: impl IntoIterator<Item = (PathId, Timestamp)>,
) -> Result<(), StoreError> {
    append_runs(conn, &packed::pack(calls), &OpenRows::default()).map(drop)
}

/// See `Store::calls`.
pub(super) fn calls(
    conn: &Connection,
    path: PathId,
    after: Timestamp,
    until: Timestamp,
    limit: usize,
) -> Result<Vec<Timestamp>, StoreError> {
    let mut page = Page::new(after, until, limit);
    if limit > 0 {
        let (first, last) = page.slots();
        let mut statement = conn.prepare_cached(
            "SELECT slot, times FROM call_times WHERE path_id = ?1 AND slot BETWEEN ?2 AND ?3 ORDER BY slot, part",
        )?;
        let mut rows = statement.query(params![path, first, last])?;
        let mut reader = SlotReader::new(path);
        let mut more = true;
        while let Some(row) = rows.next()? {
            let bytes = row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
            if let Some(times) = reader.push(row.get(0)?, bytes)? {
                more = page.take(&times);
                if !more {
                    break;
                }
            }
        }
        if more {
            if let Some(times) = reader.finish() {
                page.take(&times);
            }
        }
    }
    page.calls.into_iter().map(|m| packed::time(path, m)).collect()
}

/// See `Store::slots`: counts of slots wholly in range come from the rows'
/// `calls`; only the two edge slots are decoded.
pub(super) fn slots(
    conn: &Connection,
    path: PathId,
    from: Timestamp,
    until: Timestamp,
) -> Result<Vec<SlotCount>, StoreError> {
    let (first, last) = packed::slot_range(from, until);
    let mut statement = conn.prepare_cached(
        "SELECT slot, calls, CASE WHEN slot IN (?2, ?3) THEN times END FROM call_times \
         WHERE path_id = ?1 AND slot BETWEEN ?2 AND ?3 ORDER BY slot",
    )?;
    let mut rows = statement.query(params![path, first, last])?;
    let mut counts: Vec<(i64, i64)> = Vec::new();
    let mut edge = Vec::new();
    while let Some(row) = rows.next()? {
        let index: i64 = row.get(0)?;
        let calls = if packed::slot_inside(index, from, until) {
            row.get(1)?
        } else {
            edge.clear();
            let bytes = row
                .get_ref(2)?
                .as_blob_or_null()
                .map_err(rusqlite::Error::from)?
                .unwrap_or_default();
            packed::decode_into(path, index, bytes, &mut edge)?;
            let (from, until) = (from.as_microsecond(), until.as_microsecond());
            edge.iter().filter(|&&m| m >= from && m < until).count() as i64
        };
        match counts.last_mut() {
            Some((last, n)) if *last == index => *n += calls,
            _ => counts.push((index, calls)),
        }
    }
    counts
        .into_iter()
        .filter(|&(_, n)| n > 0)
        .map(|(index, n)| slot(path, index, n))
        .collect()
}

/// The sorted calls of one slot of a page.
fn slot_times(conn: &Connection, path: PathId, index: i64) -> Result<Vec<i64>, StoreError> {
    let mut statement = conn.prepare_cached("SELECT times FROM call_times WHERE path_id = ?1 AND slot = ?2")?;
    let rows = statement
        .query_map(params![path, index], |r| r.get::<_, Vec<u8>>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    packed::slot_times(path, index, rows.iter().map(Vec::as_slice))
}

/// See `Store::first_and_last`. Only an edge slot can hold rows without a
/// call in range, so each end takes at most two rounds.
pub(super) fn first_and_last(
    conn: &Connection,
    path: PathId,
    from: Timestamp,
    until: Timestamp,
) -> Result<Option<(Timestamp, Timestamp)>, StoreError> {
    let inside = |m: &i64| *m >= from.as_microsecond() && *m < until.as_microsecond();
    let (mut low, mut high) = packed::slot_range(from, until);
    let edge = |sql: &str, low: i64, high: i64| -> Result<Option<i64>, rusqlite::Error> {
        conn.prepare_cached(sql)?
            .query_row(params![path, low, high], |r| r.get(0))
    };
    let first = loop {
        let Some(index) = edge(
            "SELECT min(slot) FROM call_times WHERE path_id = ?1 AND slot BETWEEN ?2 AND ?3",
            low,
            high,
        )?
        else {
            return Ok(None);
        };
        if let Some(&m) = slot_times(conn, path, index)?.iter().find(|m| inside(m)) {
            break m;
        }
        low = index + 1;
    };
    let last = loop {
        let Some(index) = edge(
            "SELECT max(slot) FROM call_times WHERE path_id = ?1 AND slot BETWEEN ?2 AND ?3",
            low,
            high,
        )?
        else {
            return Ok(None);
        };
        if let Some(&m) = slot_times(conn, path, index)?.iter().rev().find(|m| inside(m)) {
            break m;
        }
        high = index - 1;
    };
    Ok(Some((packed::time(path, first)?, packed::time(path, last)?)))
}

/// The first and last call of page `path` (microseconds), for the few rows
/// a removed page gains after its removal.
pub(super) fn span_of(conn: &Connection, path: PathId) -> Result<(Option<i64>, Option<i64>), StoreError> {
    let mut statement = conn.prepare_cached("SELECT slot, times FROM call_times WHERE path_id = ?1")?;
    let mut rows = statement.query([path])?;
    let mut times = Vec::new();
    while let Some(row) = rows.next()? {
        packed::decode_into(
            path,
            row.get(0)?,
            row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?,
            &mut times,
        )?;
    }
    Ok((times.iter().min().copied(), times.iter().max().copied()))
}

/// Deletes calls made before `before`: up to `limit` whole rows older than
/// its slot, then, once those are gone, the older calls of rows in its
/// slot. Returns the calls deleted; fewer rows than `limit` were whole when
/// it is below `limit` (each row holds at least one call).
pub(super) fn prune(conn: &Connection, before: Timestamp, limit: i64) -> Result<u64, StoreError> {
    let cut = packed::slot_of(before);
    // CROSS JOIN keeps pages outside, so each page's key finds its old
    // rows: never a scan of every row.
    let gone = conn
        .prepare_cached(
            "DELETE FROM call_times WHERE (path_id, slot, part) IN (SELECT c.path_id, c.slot, c.part \
             FROM paths p CROSS JOIN call_times c ON c.path_id = p.id AND c.slot < ?1 LIMIT ?2) RETURNING calls",
        )?
        .query_map(params![cut, limit], |r| r.get::<_, i64>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let (rows, mut calls) = (gone.len() as i64, gone.iter().sum::<i64>());
    if rows < limit && packed::slot_start_micros(cut) < before.as_microsecond() {
        let straddling = conn
            .prepare_cached(
                "SELECT c.path_id, c.part, c.calls, c.times FROM paths p CROSS JOIN call_times c \
                 ON c.path_id = p.id AND c.slot = ?1",
            )?
            .query_map([cut], |r| {
                Ok((
                    r.get::<_, PathId>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, i64>(2)?,
                    r.get::<_, Vec<u8>>(3)?,
                ))
            })?
            .collect::<Result<Vec<_>, _>>()?;
        for (path, part, stored, bytes) in straddling {
            match packed::keep_from(path, cut, &bytes, before.as_microsecond())? {
                Some((_, kept)) if i64::from(kept) == stored => {}
                Some((bytes, kept)) => {
                    conn.execute(
                        "UPDATE call_times SET calls = ?4, times = ?5 WHERE path_id = ?1 AND slot = ?2 AND part = ?3",
                        params![path, cut, part, kept, bytes],
                    )?;
                    calls += stored - i64::from(kept);
                }
                None => {
                    conn.execute(
                        "DELETE FROM call_times WHERE path_id = ?1 AND slot = ?2 AND part = ?3",
                        params![path, cut, part],
                    )?;
                    calls += stored;
                }
            }
        }
    }
    Ok(u64::try_from(calls).unwrap_or(0))
}
