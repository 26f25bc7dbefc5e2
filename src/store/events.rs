//! The events' part of the storage contract: the outbox. Events are
//! written in the same transaction as the change that caused them — a
//! page's registration, a batch whose totals cross a milestone — or, for
//! aggregates (a link's clicks since its last event, a day's summary), in
//! one transaction that reads the committed counts and marks them reported,
//! so none is lost or written twice. Each webhook receiver has a cursor:
//! the last event it was sent (or given up on), moved in one transaction
//! with the record of a failure. No SQL here.

use jiff::Timestamp;

use super::{SiteId, StoreFuture};

/// One stored event. `data` is a JSON object (paths, links, counts, times).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub id: i64,
    pub site: SiteId,
    pub kind: String,
    pub at: Timestamp,
    pub data: String,
}

/// A delivery given up after its retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedDelivery {
    pub receiver: String,
    pub event: i64,
    pub error: String,
    pub at: Timestamp,
}

/// What both backends provide for events. Bounded by the caller.
pub trait EventStore {
    /// The receiver's cursor, created at the newest event if it is new: a
    /// receiver gets the events from when it was first configured on.
    fn ensure_cursor<'a>(&'a self, receiver: &'a str) -> StoreFuture<'a, i64>;

    /// The oldest event of `site` after `after` whose kind is one of `kinds`.
    fn next_event<'a>(&'a self, site: SiteId, after: i64, kinds: &'a [String]) -> StoreFuture<'a, Option<StoredEvent>>;

    /// How many events of `site` after `after` have a kind of `kinds`.
    fn count_events<'a>(&'a self, site: SiteId, after: i64, kinds: &'a [String]) -> StoreFuture<'a, u64>;

    /// Moves the receiver's cursor to `event`; with `failure`, records that
    /// it was given up, in the same transaction.
    fn advance_cursor<'a>(&'a self, receiver: &'a str, event: i64, failure: Option<&'a str>) -> StoreFuture<'a, ()>;

    /// The newest failed deliveries of these receivers, newest first.
    fn failures<'a>(&'a self, receivers: &'a [String], limit: usize) -> StoreFuture<'a, Vec<FailedDelivery>>;

    /// Writes a `link_clicked` event for each link with clicks not yet
    /// reported whose last event is at least `interval_seconds` old, and
    /// marks them reported, in one transaction. Returns the events written.
    fn report_link_clicks(&self, interval_seconds: i64) -> StoreFuture<'_, u64>;

    /// Writes the event unless one with the key `once` exists. Returns whether it was written.
    fn insert_event_once<'a>(
        &'a self,
        site: SiteId,
        kind: &'a str,
        once: &'a str,
        data: &'a str,
    ) -> StoreFuture<'a, bool>;

    /// The newest `limit` events of `site`, newest first (for the feed).
    fn recent_events(&self, site: SiteId, limit: usize) -> StoreFuture<'_, Vec<StoredEvent>>;

    /// Deletes events and failure records older than `before`.
    fn prune_events(&self, before: Timestamp) -> StoreFuture<'_, u64>;
}
