//! Reading an OxiTraffic 0.1.x database: its `paths(id, path)` and
//! `calls(id, path_id, timestamp)` in the schema `public`, beside Footfall's
//! own schema. Read only, from one snapshot: OxiTraffic's tables are never
//! changed, so going back to OxiTraffic stays possible.

use std::time::SystemTime;

use jiff::Timestamp;
use tokio::sync::mpsc;
use tokio_postgres::IsolationLevel;

use super::super::rules::time_from_system;
use super::super::transfer::TRANSFER_DEADLINE;
use super::super::{within, StoreError};
use super::{set_local_statement_timeout, PostgresStore};

/// Rows fetched per round trip.
const FETCH: i32 = 1000;

/// One row of OxiTraffic's tables, as it stored it (paths without their
/// leading `/`, percent-decoded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OxiRow {
    Path(String),
    Call { path: String, at: Timestamp },
}

impl PostgresStore {
    /// Whether the database holds OxiTraffic 0.1's tables.
    ///
    /// # Errors
    /// The server's error.
    pub async fn has_oxitraffic(&self) -> Result<bool, StoreError> {
        let rows = self
            .query(
                "SELECT count(*) = 4 FROM information_schema.columns WHERE table_schema = 'public' \
                 AND (table_name, column_name) IN (('paths', 'id'), ('paths', 'path'), ('calls', 'path_id'), ('calls', 'timestamp'))",
                &[],
            )
            .await?;
        Ok(rows.first().map(|r| r.try_get(0)).transpose()?.unwrap_or(false))
    }

    /// Sends every OxiTraffic path (those without calls too), then every
    /// call; stops early when the receiver is gone.
    ///
    /// # Errors
    /// The server's error, or [`StoreError::Corrupt`] for a time out of range.
    pub async fn read_oxitraffic(&self, rows: mpsc::Sender<OxiRow>) -> Result<(), StoreError> {
        within(TRANSFER_DEADLINE, async {
            let mut client = self.connections.checkout().await?;
            let tx = client
                .build_transaction()
                .isolation_level(IsolationLevel::RepeatableRead)
                .read_only(true)
                .start()
                .await?;
            set_local_statement_timeout(&tx, TRANSFER_DEADLINE).await?;
            let paths = tx.bind("SELECT path FROM public.paths ORDER BY id", &[]).await?;
            loop {
                let batch = tx.query_portal(&paths, FETCH).await?;
                if batch.is_empty() {
                    break;
                }
                for row in &batch {
                    if rows.send(OxiRow::Path(row.try_get(0)?)).await.is_err() {
                        return Ok(());
                    }
                }
            }
            let calls = tx
                .bind(
                    "SELECT p.path, c.timestamp FROM public.calls c JOIN public.paths p ON p.id = c.path_id ORDER BY c.id",
                    &[],
                )
                .await?;
            loop {
                let batch = tx.query_portal(&calls, FETCH).await?;
                if batch.is_empty() {
                    break;
                }
                for row in &batch {
                    let at: SystemTime = row.try_get(1)?;
                    let call = OxiRow::Call {
                        path: row.try_get(0)?,
                        at: time_from_system(at, "OxiTraffic's calls.timestamp")?,
                    };
                    if rows.send(call).await.is_err() {
                        return Ok(());
                    }
                }
            }
            tx.commit().await?;
            client.release();
            Ok(())
        })
        .await
    }
}
