//! The writer's loop: what wakes it (hits, settling and outage checks,
//! filtered counts or label sums due) and how it stops — the queue closed
//! and drained, unsettled batches settled, every waiting sum written. Part
//! of the recorder.

use std::sync::Arc;

use tokio::sync::{mpsc, Notify};

use super::labels;
use super::settle::Unsettled;
use super::{Pending, Writer, MAX_BATCH, SETTLE_EVERY};

pub(super) async fn run(mut receiver: mpsc::Receiver<Pending>, mut writer: Writer, stop: Arc<Notify>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let unsent = Arc::clone(&writer.unsent);
    loop {
        let received = tokio::select! {
            biased;
            () = stop.notified() => {
                // No new hits from now on; those already queued still get written.
                receiver.close();
                continue;
            }
            n = receiver.recv_many(&mut batch, MAX_BATCH) => n,
            () = tokio::time::sleep(SETTLE_EVERY), if writer.has_idle_work() => {
                writer.idle_work().await;
                continue;
            }
            () = unsent.due() => {
                // Filtered counts and no hits to ride along with.
                writer.commit(std::iter::empty()).await;
                continue;
            }
            () = tokio::time::sleep_until(writer.labels.due_at().unwrap_or_else(labels::far_off)), if writer.labels.len() > 0 => {
                // Label sums and no hits to ride along with.
                writer.commit(std::iter::empty()).await;
                continue;
            }
        };
        if received == 0 {
            // Closed and drained: one last chance for unsettled batches
            // (whose hits' labels join the rest), then the filtered counts
            // and every label sum, and that batch settled if need be.
            writer.stopping = true;
            writer.settle().await;
            writer.commit(std::iter::empty()).await;
            writer.settle().await;
            let unseen: usize = writer.unsettled.iter().map(Unsettled::size).sum();
            if unseen > 0 {
                tracing::error!(
                    unseen,
                    "stopping with hits or filtered counts whose commit was not seen: they may be missing"
                );
            }
            if writer.labels.len() > 0 {
                tracing::error!(
                    rows = writer.labels.len(),
                    "stopping with label sums the store did not take: those dimension counts are missing"
                );
            }
            return;
        }
        writer.commit(batch.drain(..)).await;
    }
}
