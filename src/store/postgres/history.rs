//! Raw call history on PostgreSQL, in the packed layout of
//! `store::packed`: appending runs (a batch's calls, an import's, a
//! conversion chunk's) and the reads of the store contract that look at
//! call times. Methods of `PostgresStore` and statements its writers share.

use std::sync::LazyLock;
use std::time::SystemTime;

use deadpool_postgres::Transaction;
use jiff::Timestamp;
use tokio_postgres::types::ToSql;

use super::super::packed::{self, Page, Run, SlotReader, ROW_BYTES};
use super::super::rules::slot;
use super::super::{PathId, SlotCount, StoreError};
use super::{open_runs, PostgresStore};

/// Appends each run to its slot's newest row in `call_times` if the run's
/// piece 0 fits there, else to the next; a write's further pieces (`k` >
/// 0) take the rows after that. For writers other than a batch (imports,
/// conversion): they add rows beside a page's open run, which has no part
/// number (`open_runs`). Within one statement the parts of a (page, slot) never
/// collide; two writers that pick the same part meet in `ON CONFLICT`,
/// which appends (a row may then pass ROW_BYTES a little). New calls go in
/// front of the row's bytes (runs decode in any order): the old bytes are
/// then the new row version's unchanged tail, which PostgreSQL leaves out
/// of the update's WAL record, so an append logs its own few bytes, not
/// the whole row.
static APPEND: LazyLock<String> = LazyLock::new(|| {
    format!(
        "INSERT INTO call_times AS c (path_id, slot, part, calls, times) \
         SELECT t.p, t.s, t.k + coalesce((SELECT CASE WHEN octet_length(o.times) + t.lead <= {ROW_BYTES} THEN o.part \
         ELSE o.part + 1 END FROM call_times o WHERE o.path_id = t.p AND o.slot = t.s ORDER BY o.part DESC LIMIT 1), 0), \
         t.n, t.b FROM unnest($1::bigint[], $2::bigint[], $3::int[], $4::int[], $5::int[], $6::bytea[]) \
         AS t(p, s, k, lead, n, b) \
         ON CONFLICT (path_id, slot, part) DO UPDATE SET calls = c.calls + excluded.calls, times = excluded.times || c.times"
    )
});

/// The part after the highest of page `path`'s slot `slot` in `call_times`
/// (0 for a slot without rows), as SQL over the two expressions given: where
/// a writer adds whole rows (a rolled or closed open run, a merged page's
/// rows), so they collide with none there.
pub(super) fn next_part(path: &str, slot: &str) -> String {
    format!("coalesce((SELECT max(o.part) + 1 FROM call_times o WHERE o.path_id = {path} AND o.slot = {slot}), 0)")
}

/// Rows fetched per round trip when paging through history.
const FETCH_ROWS: i64 = 256;
const ROWS_AFTER: &str = "SELECT slot, part, times FROM call_rows \
     WHERE path_id = $1 AND (slot, part) > ($2, $3) AND slot <= $4 ORDER BY slot, part LIMIT $5";
const SLOT_COUNTS: &str = "SELECT slot, calls, CASE WHEN slot IN ($2, $3) THEN times END FROM call_rows \
     WHERE path_id = $1 AND slot BETWEEN $2 AND $3";
const SLOT_ROWS: &str = "SELECT times FROM call_rows WHERE path_id = $1 AND slot = $2";
const LAST_SLOT: &str = "SELECT times, slot FROM call_rows WHERE path_id = $1 AND slot = \
     (SELECT max(slot) FROM call_rows WHERE path_id = $1 AND slot BETWEEN $2 AND $3)";
const SLOT_OF_FIRST: &str = "SELECT min(slot) FROM call_rows WHERE path_id = $1 AND slot BETWEEN $2 AND $3";

/// Runs as the array parameters of [`APPEND`].
pub(super) struct Columns {
    paths: Vec<PathId>,
    slots: Vec<i64>,
    pieces: Vec<i32>,
    leads: Vec<i32>,
    calls: Vec<i32>,
    bytes: Vec<Vec<u8>>,
}

impl Columns {
    pub(super) fn of(runs: Vec<Run>) -> Self {
        let mut columns = Self {
            paths: Vec::with_capacity(runs.len()),
            slots: Vec::with_capacity(runs.len()),
            pieces: Vec::with_capacity(runs.len()),
            leads: Vec::with_capacity(runs.len()),
            calls: Vec::with_capacity(runs.len()),
            bytes: Vec::with_capacity(runs.len()),
        };
        for run in runs {
            columns.paths.push(run.path);
            columns.slots.push(run.slot);
            columns.pieces.push(run.piece);
            columns.leads.push(run.lead_bytes);
            columns.calls.push(run.calls);
            columns.bytes.push(run.bytes);
        }
        columns
    }

    pub(super) fn params(&self) -> [&(dyn ToSql + Sync); 6] {
        [
            &self.paths,
            &self.slots,
            &self.pieces,
            &self.leads,
            &self.calls,
            &self.bytes,
        ]
    }

    pub(super) fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }
}

/// Appends `calls` in a transaction.
pub(super) async fn append(
    tx: &Transaction<'_>,
    calls: impl IntoIterator<Item = (PathId, Timestamp)>,
) -> Result<(), StoreError> {
    let columns = Columns::of(packed::pack(calls));
    if !columns.is_empty() {
        let statement = tx.prepare_cached(&APPEND).await?;
        tx.execute(&statement, &columns.params()).await?;
    }
    Ok(())
}

/// The first and last call of every row of page `path`, for the few rows a
/// removed page gains after its removal.
pub(super) async fn span_of(
    tx: &Transaction<'_>,
    path: PathId,
) -> Result<(Option<SystemTime>, Option<SystemTime>), StoreError> {
    let mut times = Vec::new();
    for row in tx
        .query("SELECT slot, times FROM call_times WHERE path_id = $1", &[&path])
        .await?
    {
        packed::decode_into(path, row.try_get(0)?, row.try_get(1)?, &mut times)?;
    }
    let time = |micros: Option<&i64>| micros.map(|&m| packed::time(path, m).map(SystemTime::from)).transpose();
    Ok((time(times.iter().min())?, time(times.iter().max())?))
}

impl PostgresStore {
    pub(super) async fn calls_now(
        &self,
        path: PathId,
        after: Timestamp,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<Timestamp>, StoreError> {
        let mut page = Page::new(after, until, limit);
        let (first, last) = page.slots();
        let (mut reader, mut cursor) = (SlotReader::new(path), (first, -1i32));
        if limit == 0 {
            return Ok(Vec::new());
        }
        'fetch: loop {
            let rows = self
                .query(ROWS_AFTER, &[&path, &cursor.0, &cursor.1, &last, &FETCH_ROWS])
                .await?;
            for row in &rows {
                cursor = (row.try_get(0)?, row.try_get(1)?);
                if let Some(times) = reader.push(cursor.0, row.try_get(2)?)? {
                    if !page.take(&times) {
                        break 'fetch;
                    }
                }
            }
            if rows.len() < FETCH_ROWS as usize {
                if let Some(times) = reader.finish() {
                    page.take(&times);
                }
                break;
            }
        }
        page.calls.into_iter().map(|m| packed::time(path, m)).collect()
    }

    pub(super) async fn slots_now(
        &self,
        path: PathId,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Vec<SlotCount>, StoreError> {
        let (first, last) = packed::slot_range(from, until);
        let mut counts: std::collections::BTreeMap<i64, i64> = std::collections::BTreeMap::new();
        let mut edge = Vec::new();
        for row in self.query(SLOT_COUNTS, &[&path, &first, &last]).await? {
            let index: i64 = row.try_get(0)?;
            let calls = if packed::slot_inside(index, from, until) {
                i64::from(row.try_get::<_, i32>(1)?)
            } else {
                edge.clear();
                let bytes: Option<&[u8]> = row.try_get(2)?;
                packed::decode_into(path, index, bytes.unwrap_or_default(), &mut edge)?;
                let inside = |&&m: &&i64| m >= from.as_microsecond() && m < until.as_microsecond();
                edge.iter().filter(inside).count() as i64
            };
            *counts.entry(index).or_default() += calls;
        }
        counts
            .into_iter()
            .filter(|&(_, n)| n > 0)
            .map(|(index, n)| slot(path, index, n))
            .collect()
    }

    pub(super) async fn first_and_last_now(
        &self,
        path: PathId,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Option<(Timestamp, Timestamp)>, StoreError> {
        let inside = |m: &i64| *m >= from.as_microsecond() && *m < until.as_microsecond();
        let (mut low, mut high) = packed::slot_range(from, until);
        // Only an edge slot can hold rows without a call in range: at most
        // two rounds each way.
        let first = loop {
            let Some(index) = self
                .query(SLOT_OF_FIRST, &[&path, &low, &high])
                .await?
                .first()
                .map(|r| r.try_get::<_, Option<i64>>(0))
                .transpose()?
                .flatten()
            else {
                return Ok(None);
            };
            let rows = self.query(SLOT_ROWS, &[&path, &index]).await?;
            let bytes = rows.iter().map(|r| r.try_get(0)).collect::<Result<Vec<&[u8]>, _>>()?;
            let times = packed::slot_times(path, index, bytes)?;
            if let Some(&m) = times.iter().find(|m| inside(m)) {
                break m;
            }
            low = index + 1;
        };
        let last = loop {
            let rows = self.query(LAST_SLOT, &[&path, &low, &high]).await?;
            let Some(index) = rows.first().map(|r| r.try_get::<_, i64>(1)).transpose()? else {
                return Ok(None);
            };
            let bytes = rows.iter().map(|r| r.try_get(0)).collect::<Result<Vec<&[u8]>, _>>()?;
            let times = packed::slot_times(path, index, bytes)?;
            if let Some(&m) = times.iter().rev().find(|m| inside(m)) {
                break m;
            }
            high = index - 1;
        };
        Ok(Some((packed::time(path, first)?, packed::time(path, last)?)))
    }
}

/// Up to `$2` whole rows, of every page, in slots before `$1`: through each
/// page's key, never a scan of every row; pages in id order (the order of
/// `paths` rows on disk changes with every update of a page).
const PRUNE_WHOLE: &str = "WITH doomed AS (SELECT c.path_id, c.slot, c.part FROM (SELECT id FROM paths ORDER BY id) p \
     CROSS JOIN LATERAL \
     (SELECT path_id, slot, part FROM call_times WHERE path_id = p.id AND slot < $1 ORDER BY slot, part LIMIT $2) c \
     LIMIT $2), gone AS (DELETE FROM call_times t USING doomed d \
     WHERE t.path_id = d.path_id AND t.slot = d.slot AND t.part = d.part RETURNING t.calls) \
     SELECT count(*), coalesce(sum(calls), 0)::bigint FROM gone";
const STRADDLING: &str = "SELECT c.path_id, c.part, c.calls, c.times FROM paths p CROSS JOIN LATERAL \
     (SELECT path_id, part, calls, times FROM call_times WHERE path_id = p.id AND slot = $1) c";

/// Deletes calls made before `before`: open runs of its slot and older move
/// to `call_times` first, then up to `limit` whole rows older than its
/// slot go, then, once those are gone, the older calls of rows in its
/// slot. Returns the calls deleted; fewer rows than `limit` were whole when
/// it is below `limit` (each row holds at least one call).
pub(super) async fn prune(tx: &Transaction<'_>, before: Timestamp, limit: i64) -> Result<u64, StoreError> {
    let cut = packed::slot_of(before);
    open_runs::close_through(tx, cut).await?;
    let row = tx.query_one(PRUNE_WHOLE, &[&cut, &limit]).await?;
    let (rows, mut calls): (i64, i64) = (row.try_get(0)?, row.try_get(1)?);
    if rows < limit && packed::slot_start_micros(cut) < before.as_microsecond() {
        for row in tx.query(STRADDLING, &[&cut]).await? {
            let (path, part, stored): (PathId, i32, i32) = (row.try_get(0)?, row.try_get(1)?, row.try_get(2)?);
            match packed::keep_from(path, cut, row.try_get(3)?, before.as_microsecond())? {
                Some((_, kept)) if kept == stored => {}
                Some((bytes, kept)) => {
                    tx.execute(
                        "UPDATE call_times SET calls = $4, times = $5 WHERE path_id = $1 AND slot = $2 AND part = $3",
                        &[&path, &cut, &part, &kept, &bytes],
                    )
                    .await?;
                    calls += i64::from(stored - kept);
                }
                None => {
                    tx.execute(
                        "DELETE FROM call_times WHERE path_id = $1 AND slot = $2 AND part = $3",
                        &[&path, &cut, &part],
                    )
                    .await?;
                    calls += i64::from(stored);
                }
            }
        }
    }
    Ok(u64::try_from(calls).unwrap_or(0))
}
