//! Shared dedup (`dedup: shared`): several replicas on one PostgreSQL agree
//! on a visitor's first hit per page per window through the database,
//! without an address or anything that reverses to one without the secret
//! ever reaching it.
//!
//! Each (site, window) has a random nonce in the database, made by the first
//! replica to reach the window and read by the others; the window key is
//! derived from the replicas' `dedup_secret` (never stored) and that nonce.
//! Visitor digests under that key are claimed with each batch (the store
//! does that); once a window has ended, [`close_ended_windows`] deletes its
//! nonce and digests. Owns the key derivation and the window life cycle;
//! holds no addresses and does no hashing of visitors (`visitors` does).

use std::sync::Arc;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use crate::availability::Availability;
use crate::clock::Clock;
use crate::config::Secret;
use crate::count::registry::Registry;
use crate::count::visitors::Visitors;
use crate::store::{SharedDedup, Store, StoreError};

/// A window is closed this long after its end, so hits admitted just before
/// it ended (each answered within the recorder's 2 s) still find its set.
/// Later retries of such hits find it gone and count nothing: never twice.
pub const CLOSE_GRACE: SignedDuration = SignedDuration::from_secs(10);
/// How often each replica looks for ended windows (all of them may: the
/// store makes that safe).
const CLOSE_EVERY: Duration = Duration::from_secs(1);

/// A hit's dedup window id and 64-bit visitor digest, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharedDigest {
    pub window: i64,
    pub value: i64,
}

/// Why a window's key could not be had.
#[derive(Debug, thiserror::Error)]
pub enum WindowError {
    #[error("the store does not support shared dedup")]
    Unsupported,
    #[error("the site is not loaded from the store yet")]
    NotReady,
    #[error("the OS random generator failed: {0}")]
    Random(getrandom::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// One site's side of shared dedup: the secret, and one opening of a
/// window at a time (concurrent first hits of a window wait for it).
pub struct SharedWindows {
    secret: Secret,
    store: Arc<dyn Store>,
    opening: tokio::sync::Mutex<()>,
}

impl SharedWindows {
    pub fn new(secret: Secret, store: Arc<dyn Store>) -> Self {
        Self {
            secret,
            store,
            opening: tokio::sync::Mutex::new(()),
        }
    }

    /// Installs the key of the window containing `now` into `visitors`:
    /// the nonce is read from the database, or made there first.
    ///
    /// # Errors
    /// When the store cannot be reached (the hit is then not counted, and
    /// the visitor is not remembered, so a retry counts).
    pub async fn open(&self, registry: &Registry, visitors: &Visitors, now: Timestamp) -> Result<(), WindowError> {
        let shared = self.store.shared_dedup().ok_or(WindowError::Unsupported)?;
        let _one_at_a_time = self.opening.lock().await;
        if visitors.is_keyed_at(now) {
            return Ok(()); // opened by the request this one waited for
        }
        let (start, end) = visitors.window_of(now);
        let site = registry.site_id().map_err(|_| WindowError::NotReady)?;
        let mut nonce = [0u8; 32];
        getrandom::fill(&mut nonce).map_err(WindowError::Random)?;
        let window = shared.open_window(site, start, end, &nonce).await?;
        let key = window_key(self.secret.expose().as_bytes(), &window.nonce);
        visitors.install(start, end, key, window.id);
        Ok(())
    }
}

/// The window key: derived from the secret (length-prefixed, so no two
/// (secret, nonce) pairs share an input) and the window's nonce.
pub fn window_key(secret: &[u8], nonce: &[u8]) -> [u8; 32] {
    let mut hasher = blake3::Hasher::new_derive_key("footfall shared dedup window key v1");
    hasher.update(&(secret.len() as u64).to_le_bytes());
    hasher.update(secret);
    hasher.update(nonce);
    *hasher.finalize().as_bytes()
}

/// Deletes the nonces and digests of windows that ended [`CLOSE_GRACE`]
/// before `now`; returns how many.
///
/// # Errors
/// When the store cannot be reached (the next round tries again).
pub async fn close_ended_windows(shared: &dyn SharedDedup, now: Timestamp) -> Result<u64, StoreError> {
    let ended_by = now.checked_sub(CLOSE_GRACE).unwrap_or(Timestamp::MIN);
    shared.close_windows(ended_by).await
}

/// Closes ended windows every [`CLOSE_EVERY`] until aborted, once the
/// store is ready. Runs on any store that has shared-dedup windows, also
/// with `dedup: local`, so windows left by an earlier shared deployment
/// are deleted too. A failure goes through the write outage log.
pub async fn run_closer(store: Arc<dyn Store>, clock: Arc<dyn Clock>, availability: Arc<Availability>) {
    let Some(shared) = store.shared_dedup() else { return };
    loop {
        tokio::time::sleep(CLOSE_EVERY).await;
        if !availability.is_ready() {
            continue;
        }
        if let Ok(closed @ 1..) = availability.observe(close_ended_windows(shared, clock.now()).await) {
            tracing::info!(
                closed,
                "closed ended dedup windows: their nonces and digests are deleted"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_depends_on_secret_and_nonce_and_nothing_else() {
        let a = window_key(b"secret-secret-secret-secret-0001", b"nonce-1");
        assert_eq!(a, window_key(b"secret-secret-secret-secret-0001", b"nonce-1"));
        assert_ne!(a, window_key(b"secret-secret-secret-secret-0002", b"nonce-1"));
        assert_ne!(a, window_key(b"secret-secret-secret-secret-0001", b"nonce-2"));
        // The length prefix keeps the boundary between secret and nonce.
        assert_ne!(window_key(b"ab", b"c"), window_key(b"a", b"bc"));
    }
}
