//! The PostgreSQL side of events: the batch's milestone statement (sent in
//! its pipelined transaction, after the totals are updated) and the outbox
//! calls. A page's registration writes its event in `REGISTER_PATH`.

use std::time::SystemTime;

use tokio_postgres::Row;

use super::super::events::{EventStore, FailedDelivery, StoredEvent};
use super::super::rules::{count_from_db, time_from_system};
use super::super::{SiteId, StoreError, StoreFuture};
use super::PostgresStore;

const EVENT_COLUMNS: &str = "id, site_id, kind, at, data";
const REPORT_LINK_CLICKS: &str = "WITH due AS (SELECT id, reported_total FROM links \
     WHERE total > reported_total AND (reported_at IS NULL OR reported_at <= now() - make_interval(secs => $1)) \
     FOR UPDATE), \
     reported AS (UPDATE links l SET reported_total = l.total, reported_at = now() FROM due WHERE l.id = due.id \
     RETURNING l.site_id, l.link, l.name, l.host, l.total, l.total - due.reported_total AS clicks) \
     INSERT INTO events (site_id, kind, data) SELECT site_id, 'link_clicked', json_build_object('link', link, \
     'name', name, 'host', host, 'clicks', clicks, 'total', total)::text FROM reported ORDER BY site_id, link";

fn event_of(row: &Row) -> Result<StoredEvent, StoreError> {
    Ok(StoredEvent {
        id: row.try_get(0)?,
        site: row.try_get(1)?,
        kind: row.try_get(2)?,
        at: time_from_system(row.try_get::<_, SystemTime>(3)?, "an event's time")?,
        data: row.try_get(4)?,
    })
}

impl EventStore for PostgresStore {
    fn ensure_cursor<'a>(&'a self, receiver: &'a str) -> StoreFuture<'a, i64> {
        Box::pin(async move {
            self.query(
                "INSERT INTO webhook_cursors (receiver, last_event) \
                 SELECT $1, coalesce(max(id), 0) FROM events ON CONFLICT (receiver) DO NOTHING",
                &[&receiver],
            )
            .await?;
            let rows = self
                .query(
                    "SELECT last_event FROM webhook_cursors WHERE receiver = $1",
                    &[&receiver],
                )
                .await?;
            let row = rows
                .first()
                .ok_or_else(|| StoreError::corrupt("a webhook cursor vanished"))?;
            Ok(row.try_get(0)?)
        })
    }

    fn next_event<'a>(&'a self, site: SiteId, after: i64, kinds: &'a [String]) -> StoreFuture<'a, Option<StoredEvent>> {
        Box::pin(async move {
            let sql = format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE site_id = $1 AND id > $2 AND kind = ANY($3) ORDER BY id LIMIT 1"
            );
            let rows = self.query(&sql, &[&site, &after, &kinds]).await?;
            rows.first().map(event_of).transpose()
        })
    }

    fn count_events<'a>(&'a self, site: SiteId, after: i64, kinds: &'a [String]) -> StoreFuture<'a, u64> {
        Box::pin(async move {
            let rows = self
                .query(
                    "SELECT count(*) FROM events WHERE site_id = $1 AND id > $2 AND kind = ANY($3)",
                    &[&site, &after, &kinds],
                )
                .await?;
            let row = rows
                .first()
                .ok_or_else(|| StoreError::corrupt("count(*) returned no row"))?;
            Ok(count_from_db(row.try_get(0)?))
        })
    }

    fn advance_cursor<'a>(&'a self, receiver: &'a str, event: i64, failure: Option<&'a str>) -> StoreFuture<'a, ()> {
        Box::pin(async move {
            let mut client = self.connections.checkout().await?;
            let tx = client.transaction().await?;
            tx.execute(
                "UPDATE webhook_cursors SET last_event = GREATEST(last_event, $2) WHERE receiver = $1",
                &[&receiver, &event],
            )
            .await?;
            if let Some(error) = failure {
                tx.execute(
                    "INSERT INTO webhook_failures (receiver, event_id, error) VALUES ($1, $2, $3)",
                    &[&receiver, &event, &error],
                )
                .await?;
            }
            tx.commit().await?;
            client.release();
            Ok(())
        })
    }

    fn failures<'a>(&'a self, receivers: &'a [String], limit: usize) -> StoreFuture<'a, Vec<FailedDelivery>> {
        Box::pin(async move {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let rows = self
                .query(
                    "SELECT receiver, event_id, error, failed_at FROM webhook_failures WHERE receiver = ANY($1) \
                     ORDER BY id DESC LIMIT $2",
                    &[&receivers, &limit],
                )
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(FailedDelivery {
                        receiver: r.try_get(0)?,
                        event: r.try_get(1)?,
                        error: r.try_get(2)?,
                        at: time_from_system(r.try_get(3)?, "a failed delivery's time")?,
                    })
                })
                .collect()
        })
    }

    fn report_link_clicks(&self, interval_seconds: i64) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let seconds = interval_seconds as f64;
            let client = self.connections.checkout().await?;
            let statement = client.prepare_cached(REPORT_LINK_CLICKS).await?;
            let written = client.execute(&statement, &[&seconds]).await?;
            client.release();
            Ok(written)
        })
    }

    fn insert_event_once<'a>(
        &'a self,
        site: SiteId,
        kind: &'a str,
        once: &'a str,
        data: &'a str,
    ) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let client = self.connections.checkout().await?;
            let statement = client
                .prepare_cached(
                    "INSERT INTO events (site_id, kind, data, once) VALUES ($1, $2, $3, $4) ON CONFLICT (once) DO NOTHING",
                )
                .await?;
            let written = client.execute(&statement, &[&site, &kind, &data, &once]).await?;
            client.release();
            Ok(written == 1)
        })
    }

    fn recent_events(&self, site: SiteId, limit: usize) -> StoreFuture<'_, Vec<StoredEvent>> {
        Box::pin(async move {
            let limit = i64::try_from(limit).unwrap_or(i64::MAX);
            let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE site_id = $1 ORDER BY id DESC LIMIT $2");
            let rows = self.query(&sql, &[&site, &limit]).await?;
            rows.iter().map(event_of).collect()
        })
    }

    fn prune_events(&self, before: jiff::Timestamp) -> StoreFuture<'_, u64> {
        Box::pin(async move {
            let before = SystemTime::from(before);
            let events = self
                .query("DELETE FROM events WHERE at < $1 RETURNING 1", &[&before])
                .await?;
            let failures = self
                .query(
                    "DELETE FROM webhook_failures WHERE failed_at < $1 RETURNING 1",
                    &[&before],
                )
                .await?;
            Ok((events.len() + failures.len()) as u64)
        })
    }
}
