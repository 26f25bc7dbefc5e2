//! The shared-dedup part of the store contract: per-window nonces and
//! per-window digest sets, for replicas that agree on "first in this
//! window" through the database (`dedup: shared`, PostgreSQL only).
//!
//! A digest is already a keyed hash of (visitor, page) under a key the
//! database never sees; nothing here can take or return an address.

use jiff::Timestamp;

use super::{SiteId, StoreFuture};

/// A dedup window's row: its id (which names its digest partition) and the
/// random nonce its key is derived from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DedupWindow {
    pub id: i64,
    pub nonce: Vec<u8>,
}

/// A hit or click of a batch that counts only if its digest is new in its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Digest {
    /// What counts if the digest is new.
    pub of: Counted,
    /// The window's id ([`DedupWindow::id`]).
    pub window: i64,
    /// The 64-bit visitor hash, as stored.
    pub value: i64,
}

/// What a [`Digest`] decides on: an index into the batch's `hits` or `clicks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counted {
    Hit(usize),
    Click(usize),
}

/// Nonces and digest sets of dedup windows.
pub trait SharedDedup: Send + Sync {
    /// The window of `site` starting at `starts_at`: created with `nonce`
    /// (and its empty digest set) by the first replica to ask, read by the
    /// others, so all of them derive the same key.
    fn open_window<'a>(
        &'a self,
        site: SiteId,
        starts_at: Timestamp,
        ends_at: Timestamp,
        nonce: &'a [u8],
    ) -> StoreFuture<'a, DedupWindow>;

    /// Deletes every window that ended at or before `ended_by`, with its
    /// digests; returns how many. Safe to run from several replicas at once.
    fn close_windows(&self, ended_by: Timestamp) -> StoreFuture<'_, u64>;
}
