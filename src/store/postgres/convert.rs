//! Converting the raw calls of schema 7 (`calls`, one row per call) into
//! the packed `call_times`, after migration 8 has created it.
//!
//! A chunk of calls is moved per transaction: deleted from `calls` and
//! appended to `call_times` together, so a chunk is moved exactly once
//! whatever happens; an interrupted conversion resumes with what is left
//! at the next start. Chunks are taken in index order (page, time) from a
//! cursor, so rows fill well and no chunk rescans the ones before it; rows
//! another process is moving are skipped (`SKIP LOCKED`), so two replicas
//! starting at once share the work. Once `calls` is empty it is dropped.
//! This runs in `migrate`, before the store is ready: no hit is counted and
//! no history is read while calls are in both tables.

use std::time::{Duration, SystemTime};

use super::super::rules::time_from_system;
use super::super::{within, PathId, StoreError};
use super::{history, set_local_statement_timeout, PostgresStore};

/// Calls moved per transaction.
const CHUNK: i64 = 100_000;
/// One chunk's bound: a hung database must still end it.
const CHUNK_DEADLINE: Duration = Duration::from_secs(120);

/// The next chunk in index order, from the cursor `($1, $2)` on...
const MOVE_NEXT: &str = "WITH moved AS (DELETE FROM calls WHERE ctid = ANY(ARRAY(\
     SELECT ctid FROM calls WHERE (path_id, called_at) >= ($1, $2) ORDER BY path_id, called_at LIMIT $3 \
     FOR UPDATE SKIP LOCKED)) RETURNING path_id, called_at) SELECT path_id, called_at FROM moved";
/// ...or from the start.
const MOVE_FIRST: &str = "WITH moved AS (DELETE FROM calls WHERE ctid = ANY(ARRAY(\
     SELECT ctid FROM calls ORDER BY path_id, called_at LIMIT $1 \
     FOR UPDATE SKIP LOCKED)) RETURNING path_id, called_at) SELECT path_id, called_at FROM moved";

impl PostgresStore {
    /// Moves every row of the old `calls` table into `call_times`, then
    /// drops it; nothing to do (one query) once it is gone.
    pub(super) async fn convert_calls(&self) -> Result<(), StoreError> {
        let exists: bool = self
            .query("SELECT to_regclass('calls') IS NOT NULL", &[])
            .await?
            .first()
            .map(|r| r.try_get(0))
            .transpose()?
            .unwrap_or(false);
        if !exists {
            return Ok(());
        }
        let total: i64 = self
            .query("SELECT count(*) FROM calls", &[])
            .await?
            .first()
            .map(|r| r.try_get(0))
            .transpose()?
            .unwrap_or(0);
        if total == 0 {
            // A new database: migration 1 made the table, nothing to say.
            self.query("DROP TABLE IF EXISTS calls", &[]).await?;
            return Ok(());
        }
        tracing::info!(calls = total, "converting call history to the packed layout");
        let (mut moved, mut cursor) = (0i64, None::<(PathId, SystemTime)>);
        loop {
            let chunk = within(CHUNK_DEADLINE, self.move_chunk(cursor)).await?;
            match chunk {
                Some((count, last)) => {
                    moved += count;
                    cursor = Some(last);
                    tracing::info!(moved, of = total, "converting call history");
                }
                // Nothing at or after the cursor: start over once, for rows
                // another process still holds or wrote behind it.
                None if cursor.is_some() => cursor = None,
                None => {
                    let left: bool = self
                        .query("SELECT EXISTS (SELECT 1 FROM calls)", &[])
                        .await?
                        .first()
                        .map(|r| r.try_get(0))
                        .transpose()?
                        .unwrap_or(false);
                    if left {
                        // Another process is moving them: wait for it.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                    self.query("DROP TABLE IF EXISTS calls", &[]).await?;
                    tracing::info!(moved, "call history converted; the old calls table is dropped");
                    return Ok(());
                }
            }
        }
    }

    /// Moves one chunk from `cursor` on; its size and last (page, time), or
    /// `None` when nothing is left there.
    async fn move_chunk(
        &self,
        cursor: Option<(PathId, SystemTime)>,
    ) -> Result<Option<(i64, (PathId, SystemTime))>, StoreError> {
        let mut client = self.connections.checkout().await?;
        let tx = client.transaction().await?;
        set_local_statement_timeout(&tx, CHUNK_DEADLINE).await?;
        let rows = match &cursor {
            Some((path, at)) => tx.query(MOVE_NEXT, &[path, at, &CHUNK]).await?,
            None => tx.query(MOVE_FIRST, &[&CHUNK]).await?,
        };
        let mut calls = Vec::with_capacity(rows.len());
        let mut last = None;
        for row in &rows {
            let (path, at): (PathId, SystemTime) = (row.try_get(0)?, row.try_get(1)?);
            last = last.max(Some((path, at)));
            calls.push((path, time_from_system(at, "calls.called_at")?));
        }
        let Some(last) = last else {
            return Ok(None);
        };
        history::append(&tx, calls).await?;
        tx.commit().await?;
        client.release();
        Ok(Some((rows.len() as i64, last)))
    }
}
