//! Converting the raw calls of schema 6 (`calls`, one row per call) into
//! the packed `call_times`, after migration 7 has created it.
//!
//! A chunk of calls is moved per IMMEDIATE transaction: deleted from
//! `calls` and appended to `call_times` together, so a chunk is moved
//! exactly once whatever happens; an interrupted conversion resumes with
//! what is left at the next start. Chunks are taken in index order (page,
//! time), so rows fill well. Once `calls` is empty it is dropped. This runs
//! in `migrate`, before the store is ready: no hit is counted and no
//! history is read while calls are in both tables.

use rusqlite::{params, Connection, TransactionBehavior};

use super::super::rules::time_from_micros;
use super::super::{PathId, StoreError};
use super::history;

/// Calls moved per transaction.
const CHUNK: i64 = 100_000;

/// Moves every row of the old `calls` table into `call_times`, then drops
/// it; nothing to do (one query) once it is gone.
pub(super) fn convert_calls(conn: &mut Connection) -> Result<(), StoreError> {
    let exists: bool = conn.query_row(
        "SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' AND name = 'calls'",
        [],
        |r| r.get(0),
    )?;
    if !exists {
        return Ok(());
    }
    let total: i64 = conn.query_row("SELECT count(*) FROM calls", [], |r| r.get(0))?;
    if total == 0 {
        // A new database: migration 1 made the table, nothing to say.
        conn.execute_batch("DROP TABLE calls")?;
        return Ok(());
    }
    tracing::info!(calls = total, "converting call history to the packed layout");
    let mut moved = 0;
    loop {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let calls = tx
            .prepare(
                "DELETE FROM calls WHERE rowid IN \
                 (SELECT rowid FROM calls ORDER BY path_id, called_at LIMIT ?1) RETURNING path_id, called_at",
            )?
            .query_map(params![CHUNK], |r| Ok((r.get::<_, PathId>(0)?, r.get::<_, i64>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        if calls.is_empty() {
            tx.execute_batch("DROP TABLE calls")?;
            tx.commit()?;
            tracing::info!(moved, "call history converted; the old calls table is dropped");
            return Ok(());
        }
        let calls = calls
            .into_iter()
            .map(|(path, micros)| Ok((path, time_from_micros(micros, "calls.called_at")?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        moved += calls.len();
        history::append(&tx, calls)?;
        tx.commit()?;
        tracing::info!(moved, of = total, "converting call history");
    }
}
