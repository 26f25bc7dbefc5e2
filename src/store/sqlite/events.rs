//! The SQLite side of events: a page's registration with its event, a
//! batch's milestones inside its transaction, and the outbox calls. Writes
//! take the writer connection (one IMMEDIATE transaction each), reads the
//! reader. Times are microseconds since 1970.

use rusqlite::{params, Connection, OptionalExtension, Transaction, TransactionBehavior};

use super::super::events::{EventStore, FailedDelivery, StoredEvent};
use super::super::rules::{count_from_db, time_from_micros, PathSum};
use super::super::{PathId, SiteId, StoreError, StoreFuture};
use super::SqliteStore;
use crate::notify::event::crossed;

const EVENT_COLUMNS: &str = "id, site_id, kind, at, data";

/// Registers a path, with its `page_registered` event when it is new, in one transaction.
pub(super) fn register_path(conn: &mut Connection, site: SiteId, path: &str) -> Result<PathId, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let inserted = tx
        .prepare_cached(concat!(
            "INSERT INTO paths (site_id, path, registered_at) VALUES (?1, ?2, ",
            now_micros!(),
            ") ON CONFLICT (site_id, path) DO NOTHING"
        ))?
        .execute(params![site, path])?;
    if inserted == 1 {
        tx.prepare_cached(concat!(
            "INSERT INTO events (site_id, kind, at, data) VALUES (?1, 'page_registered', ",
            now_micros!(),
            ", json_object('path', ?2))"
        ))?
        .execute(params![site, path])?;
    }
    let id = tx
        .prepare_cached("SELECT id FROM paths WHERE site_id = ?1 AND path = ?2")?
        .query_row(params![site, path], |r| r.get(0))?;
    tx.commit()?;
    Ok(id)
}

/// Writes a `milestone` event for each value of `milestones` a page's
/// total (with its start count) crossed in this batch, in `tx`, after the
/// totals were updated.
pub(super) fn add_milestones(tx: &Transaction<'_>, sums: &[PathSum], milestones: &[i64]) -> Result<(), StoreError> {
    if milestones.is_empty() {
        return Ok(());
    }
    let mut total = tx.prepare_cached("SELECT site_id, path, total + start_count FROM paths WHERE id = ?1")?;
    let mut insert = tx.prepare_cached(concat!(
        "INSERT INTO events (site_id, kind, at, data) VALUES (?1, 'milestone', ",
        now_micros!(),
        ", json_object('path', ?2, 'milestone', ?3, 'total', ?4))"
    ))?;
    for sum in sums {
        let Some((site, path, new)) = total
            .query_row([sum.path], |r| {
                Ok((r.get::<_, SiteId>(0)?, r.get::<_, String>(1)?, r.get::<_, i64>(2)?))
            })
            .optional()?
        else {
            continue;
        };
        for m in crossed(new - sum.calls, new, milestones) {
            insert.execute(params![site, path, m, new])?;
        }
    }
    Ok(())
}

/// Writes the due `link_clicked` events and marks those links reported, in one transaction.
fn report_due(conn: &mut Connection, interval_seconds: i64) -> Result<u64, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let now: i64 = tx.query_row(concat!("SELECT ", now_micros!()), [], |r| r.get(0))?;
    let due_before = now.saturating_sub(interval_seconds.saturating_mul(1_000_000));
    let written = tx.execute(
        "INSERT INTO events (site_id, kind, at, data) \
         SELECT site_id, 'link_clicked', ?1, json_object('link', link, 'name', name, 'host', host, \
         'clicks', total - reported_total, 'total', total) FROM links \
         WHERE total > reported_total AND (reported_at IS NULL OR reported_at <= ?2) ORDER BY site_id, link",
        params![now, due_before],
    )?;
    tx.execute(
        "UPDATE links SET reported_total = total, reported_at = ?1 \
         WHERE total > reported_total AND (reported_at IS NULL OR reported_at <= ?2)",
        params![now, due_before],
    )?;
    tx.commit()?;
    Ok(written as u64)
}

fn event_of(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, SiteId, String, i64, String)> {
    Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
}

fn to_event((id, site, kind, at, data): (i64, SiteId, String, i64, String)) -> Result<StoredEvent, StoreError> {
    Ok(StoredEvent {
        id,
        site,
        kind,
        at: time_from_micros(at, "an event's time")?,
        data,
    })
}

fn kinds_json(kinds: &[String]) -> String {
    serde_json::Value::from(kinds.to_vec()).to_string()
}

impl EventStore for SqliteStore {
    fn ensure_cursor<'a>(&'a self, receiver: &'a str) -> StoreFuture<'a, i64> {
        let receiver = receiver.to_owned();
        Self::with(&self.writer, move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "INSERT INTO webhook_cursors (receiver, last_event) \
                 SELECT ?1, coalesce(max(id), 0) FROM events WHERE true ON CONFLICT (receiver) DO NOTHING",
                [&receiver],
            )?;
            let last = tx.query_row(
                "SELECT last_event FROM webhook_cursors WHERE receiver = ?1",
                [&receiver],
                |r| r.get(0),
            )?;
            tx.commit()?;
            Ok(last)
        })
    }

    fn next_event<'a>(&'a self, site: SiteId, after: i64, kinds: &'a [String]) -> StoreFuture<'a, Option<StoredEvent>> {
        let kinds = kinds_json(kinds);
        Self::with(&self.reader, move |conn| {
            let sql = format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE site_id = ?1 AND id > ?2 \
                 AND kind IN (SELECT value FROM json_each(?3)) ORDER BY id LIMIT 1"
            );
            let row = conn
                .prepare_cached(&sql)?
                .query_row(params![site, after, kinds], event_of)
                .optional()?;
            row.map(to_event).transpose()
        })
    }

    fn count_events<'a>(&'a self, site: SiteId, after: i64, kinds: &'a [String]) -> StoreFuture<'a, u64> {
        let kinds = kinds_json(kinds);
        Self::with(&self.reader, move |conn| {
            let n: i64 = conn
                .prepare_cached(
                    "SELECT count(*) FROM events WHERE site_id = ?1 AND id > ?2 \
                     AND kind IN (SELECT value FROM json_each(?3))",
                )?
                .query_row(params![site, after, kinds], |r| r.get(0))?;
            Ok(count_from_db(n))
        })
    }

    fn advance_cursor<'a>(&'a self, receiver: &'a str, event: i64, failure: Option<&'a str>) -> StoreFuture<'a, ()> {
        let (receiver, failure) = (receiver.to_owned(), failure.map(str::to_owned));
        Self::with(&self.writer, move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            tx.execute(
                "UPDATE webhook_cursors SET last_event = max(last_event, ?2) WHERE receiver = ?1",
                params![receiver, event],
            )?;
            if let Some(error) = failure {
                tx.execute(
                    concat!(
                        "INSERT INTO webhook_failures (receiver, event_id, error, failed_at) VALUES (?1, ?2, ?3, ",
                        now_micros!(),
                        ")"
                    ),
                    params![receiver, event, error],
                )?;
            }
            tx.commit()?;
            Ok(())
        })
    }

    fn failures<'a>(&'a self, receivers: &'a [String], limit: usize) -> StoreFuture<'a, Vec<FailedDelivery>> {
        let receivers = kinds_json(receivers);
        Self::with(&self.reader, move |conn| {
            let mut statement = conn.prepare_cached(
                "SELECT receiver, event_id, error, failed_at FROM webhook_failures \
                 WHERE receiver IN (SELECT value FROM json_each(?1)) ORDER BY id DESC LIMIT ?2",
            )?;
            let rows = statement.query_map(params![receivers, i64::try_from(limit).unwrap_or(i64::MAX)], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })?;
            rows.map(|row| {
                let (receiver, event, error, at) = row?;
                Ok(FailedDelivery {
                    receiver,
                    event,
                    error,
                    at: time_from_micros(at, "a failed delivery's time")?,
                })
            })
            .collect()
        })
    }

    fn report_link_clicks(&self, interval_seconds: i64) -> StoreFuture<'_, u64> {
        let writer = std::sync::Arc::clone(&self.writer);
        // Asked every second: the reader says whether the writer is needed at all.
        let any_due = Self::with(&self.reader, |conn| {
            Ok(conn
                .prepare_cached("SELECT 1 FROM links WHERE total > reported_total LIMIT 1")?
                .query_row([], |_| Ok(()))
                .optional()?
                .is_some())
        });
        Box::pin(async move {
            if !any_due.await? {
                return Ok(0);
            }
            Self::with(&writer, move |conn| report_due(conn, interval_seconds)).await
        })
    }

    fn insert_event_once<'a>(
        &'a self,
        site: SiteId,
        kind: &'a str,
        once: &'a str,
        data: &'a str,
    ) -> StoreFuture<'a, bool> {
        let (kind, once, data) = (kind.to_owned(), once.to_owned(), data.to_owned());
        Self::with(&self.writer, move |conn| {
            let written = conn.execute(
                concat!(
                    "INSERT INTO events (site_id, kind, at, data, once) VALUES (?1, ?2, ",
                    now_micros!(),
                    ", ?3, ?4) ON CONFLICT (once) DO NOTHING"
                ),
                params![site, kind, data, once],
            )?;
            Ok(written == 1)
        })
    }

    fn recent_events(&self, site: SiteId, limit: usize) -> StoreFuture<'_, Vec<StoredEvent>> {
        Self::with(&self.reader, move |conn| {
            let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE site_id = ?1 ORDER BY id DESC LIMIT ?2");
            let mut statement = conn.prepare_cached(&sql)?;
            let rows = statement.query_map(params![site, i64::try_from(limit).unwrap_or(i64::MAX)], event_of)?;
            rows.map(|row| to_event(row?)).collect()
        })
    }

    fn prune_events(&self, before: jiff::Timestamp) -> StoreFuture<'_, u64> {
        Self::with(&self.writer, move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let mut rows = tx.execute("DELETE FROM events WHERE at < ?1", [before.as_microsecond()])?;
            rows += tx.execute(
                "DELETE FROM webhook_failures WHERE failed_at < ?1",
                [before.as_microsecond()],
            )?;
            tx.commit()?;
            Ok(rows as u64)
        })
    }
}
