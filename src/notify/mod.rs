//! Notifications: events (`event`) written to the store's outbox in the
//! transaction of the change that caused them, delivered to each site's
//! webhook receivers (`sender`), signed per Standard Webhooks (`signing`),
//! and shown as an Atom feed (`feed`).
//!
//! [`Notifier`] is built once from the config. Each receiver has a cursor
//! in the store and gets the events of its kinds one at a time, in the
//! order they were created; a failed delivery is retried with exponential
//! backoff until the event is 24 hours old, then recorded as failed and
//! skipped. A restart resumes at the cursor (an event whose answer was lost
//! is sent again with the same `webhook-id`, so receivers deduplicate by
//! it). Delivery runs in its own tasks and never holds counting back: one
//! event in flight per receiver, bounded queries, no queue in memory.

pub mod event;
pub mod feed;
pub(crate) mod sender;
pub mod signing;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

use jiff::Timestamp;

use crate::config::{Config, Webhook};
use crate::store::{SiteId, Store, StoreError};
use crate::sync::lock;

/// One webhook receiver of one site, and how its deliveries go.
pub struct Receiver {
    /// A digest of the site and URL: names its cursor in the store.
    pub id: String,
    pub slug: String,
    pub hook: Webhook,
    /// The kinds it gets, as stored.
    pub kinds: Vec<String>,
    /// Events waiting for it (as last counted).
    pub pending: AtomicU64,
    /// Whether its last delivery failed (an outage, logged once).
    pub failing: AtomicBool,
    /// The last error and when the next attempt is due, while failing.
    pub trouble: Mutex<Option<(String, Timestamp)>>,
}

/// Every receiver, and the deliveries given up since start.
pub struct Notifier {
    pub receivers: Vec<Receiver>,
    /// Deliveries given up (after 24 hours of retries) since start.
    pub failed: AtomicU64,
}

/// What is waiting and what failed, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DeliveryCounts {
    /// Events not yet delivered, over all receivers.
    pub pending: u64,
    /// Deliveries given up since start.
    pub failed: u64,
}

impl Notifier {
    pub fn new(config: &Config) -> Self {
        let receivers = config
            .sites
            .iter()
            .flat_map(|site| {
                site.webhooks.iter().map(|hook| {
                    let digest = blake3::Hasher::new_derive_key("footfall 2026 webhook receiver")
                        .update(site.slug.as_bytes())
                        .update(b"\n")
                        .update(hook.url.as_str().as_bytes())
                        .finalize();
                    Receiver {
                        id: digest.to_hex()[..32].to_owned(),
                        slug: site.slug.clone(),
                        kinds: hook.events.iter().map(|k| k.as_str().to_owned()).collect(),
                        hook: hook.clone(),
                        pending: AtomicU64::new(0),
                        failing: AtomicBool::new(false),
                        trouble: Mutex::new(None),
                    }
                })
            })
            .collect();
        Self {
            receivers,
            failed: AtomicU64::new(0),
        }
    }

    /// Pending and failed deliveries, cheaply (no store call), for `/metrics`.
    pub fn delivery_counts(&self) -> DeliveryCounts {
        DeliveryCounts {
            pending: self.receivers.iter().map(|r| r.pending.load(Ordering::Relaxed)).sum(),
            failed: self.failed.load(Ordering::Relaxed),
        }
    }

    /// Creates each receiver's cursor (at the newest event, for a new one)
    /// before counting starts, so a new receiver gets every event from its
    /// first start on.
    ///
    /// # Errors
    /// The store's error.
    pub async fn ensure_cursors(&self, store: &dyn Store) -> Result<(), StoreError> {
        for receiver in &self.receivers {
            store.ensure_cursor(&receiver.id).await?;
        }
        Ok(())
    }
}

impl Receiver {
    fn set_trouble(&self, trouble: Option<(String, Timestamp)>) {
        *lock(&self.trouble) = trouble;
    }
}

/// The site id of a receiver's site, once the store is prepared.
fn site_id_of(state: &crate::state::AppState, slug: &str) -> Option<SiteId> {
    state.site(slug).and_then(|site| site.registry.site_id().ok())
}
