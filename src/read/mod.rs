//! The read path: everything the charts, pages, badge and JSON API show.
//!
//! [`Reads`] is the one door to the store for reads: it checks readiness,
//! puts a deadline on every call, logs an outage once and maps store errors,
//! so no handler touches the store. The rest is pure:
//! - [`query`]: query parameters → typed values.
//! - [`series`]: zero-filled per-day series of a page (the use-case behind
//!   charts and bucketed history).
//! - [`buckets`]: day/week/month/hour buckets.
//! - [`chart`]: per-day counts → history chart SVG (no fonts needed); its
//!   pure layout decisions (`layout`) apart from the plotters drawing (`draw`).
//! - [`badge`]: the shields.io-style count badge; [`badge_options`]: its
//!   lenient options.
//! - [`overview`]: the site's calls per day with the period before, and
//!   the dashboard's page list (search, sort, pages).
//! - [`tallies`]: proxied views and filtered hits per page, by reason.
//! - [`dimensions`]: browsers, systems, devices, countries and referrers
//!   of a page or a site, as the public or the owner may see them.
//! - [`panels`]: ranked (label, count) lists as a self-contained HTML fragment.
//! - [`format`]: how numbers are written for people.
//! - [`links`]: every link of a site, one link's per-day series; events.

pub mod badge;
pub mod badge_options;
pub mod buckets;
pub mod chart;
pub mod dimensions;
pub mod format;
pub mod links;
pub mod overview;
pub mod panels;
pub mod period;
pub mod query;
pub mod series;
pub mod tallies;

use std::sync::Arc;
use std::time::Duration;

use jiff::Timestamp;

use crate::availability::{Availability, Unavailable};
use crate::store::{PageRow, PathCount, PathId, SiteId, SlotCount, Store, StoreError, StoreFuture, Summary};
use crate::zone::DayNumber;

/// A read that takes longer has failed: the page answers 503 rather than
/// hang with a database that does.
const READ_DEADLINE: Duration = Duration::from_secs(2);
/// Load balancers poll readiness with short timeouts of their own.
const READINESS_DEADLINE: Duration = Duration::from_secs(1);

/// Store reads with readiness, a deadline and the outage log.
pub struct Reads {
    store: Arc<dyn Store>,
    availability: Arc<Availability>,
    /// Per-page sums of past days, for the dashboard (see `period`).
    past_days: period::PastDays,
}

impl Reads {
    pub fn new(store: Arc<dyn Store>, availability: Arc<Availability>) -> Self {
        Self {
            store,
            availability,
            past_days: period::PastDays::default(),
        }
    }

    async fn run<T>(&self, call: StoreFuture<'_, T>) -> Result<T, Unavailable> {
        self.run_within(READ_DEADLINE, call).await
    }

    async fn run_within<T>(&self, deadline: Duration, call: StoreFuture<'_, T>) -> Result<T, Unavailable> {
        self.availability.check_ready()?;
        let result = match tokio::time::timeout(deadline, call).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::Timeout(deadline)),
        };
        self.availability
            .observe_read(result)
            .map_err(|_| Unavailable::StoreDown)
    }

    /// Whether the store serves: ready, writes not failing, a trivial query
    /// answered within a second. The error is the reason, for `/readyz`.
    ///
    /// # Errors
    /// The reason, without secrets: "starting up", or the store's error.
    pub async fn readiness(&self) -> Result<(), String> {
        let outage = self.availability.write_outage();
        if let Err(starting) = self.availability.check_ready() {
            // Preparing the store (connecting, migrating) failed: say why,
            // not "starting up" forever.
            return Err(outage.map_or_else(
                || starting.to_string(),
                |cause| format!("the store cannot be prepared: {cause}"),
            ));
        }
        if let Some(cause) = outage {
            return Err(format!("writes fail: {cause}"));
        }
        match self.run_within(READINESS_DEADLINE, self.store.ping()).await {
            Ok(()) => Ok(()),
            Err(_) => Err(format!(
                "reads fail: {}",
                self.availability
                    .read_outage()
                    .unwrap_or_else(|| "the store did not answer".to_owned())
            )),
        }
    }

    /// Every page's total on `site`, or its calls in `[from, to]` when a range is given.
    ///
    /// # Errors
    /// [`Unavailable`] when the store is not ready or does not answer.
    pub async fn counts(
        &self,
        site: SiteId,
        days: Option<(DayNumber, DayNumber)>,
    ) -> Result<Vec<PathCount>, Unavailable> {
        match days {
            Some((from, to)) => self.run(self.store.counts_between(site, from, to)).await,
            None => self.run(self.store.counts(site)).await,
        }
    }

    /// Every page of `site` with its total and last call.
    ///
    /// # Errors
    /// [`Unavailable`] when the store is not ready or does not answer.
    pub async fn page_rows(&self, site: SiteId) -> Result<Vec<PageRow>, Unavailable> {
        self.run(self.store.page_rows(site)).await
    }

    /// `site`'s calls per day in `[from, to]`, days with calls only, oldest first.
    ///
    /// # Errors
    /// [`Unavailable`] when the store is not ready or does not answer.
    pub async fn site_daily(
        &self,
        site: SiteId,
        from: DayNumber,
        to: DayNumber,
    ) -> Result<Vec<(DayNumber, u64)>, Unavailable> {
        self.run(self.store.site_daily(site, from, to)).await
    }

    /// # Errors
    /// [`Unavailable`] when the store is not ready or does not answer.
    pub async fn summary(&self, path: PathId) -> Result<Summary, Unavailable> {
        self.run(self.store.summary(path)).await
    }

    /// # Errors
    /// [`Unavailable`] when the store is not ready or does not answer.
    pub async fn first_and_last(
        &self,
        path: PathId,
        from: Timestamp,
        until: Timestamp,
    ) -> Result<Option<(Timestamp, Timestamp)>, Unavailable> {
        self.run(self.store.first_and_last(path, from, until)).await
    }

    /// # Errors
    /// [`Unavailable`] when the store is not ready or does not answer.
    pub async fn daily(&self, path: PathId) -> Result<Vec<(DayNumber, u64)>, Unavailable> {
        self.run(self.store.daily(path)).await
    }

    /// # Errors
    /// [`Unavailable`] when the store is not ready or does not answer.
    pub async fn calls(
        &self,
        path: PathId,
        after: Timestamp,
        until: Timestamp,
        limit: usize,
    ) -> Result<Vec<Timestamp>, Unavailable> {
        self.run(self.store.calls(path, after, until, limit)).await
    }

    /// # Errors
    /// [`Unavailable`] when the store is not ready or does not answer.
    pub async fn slots(&self, path: PathId, from: Timestamp, until: Timestamp) -> Result<Vec<SlotCount>, Unavailable> {
        self.run(self.store.slots(path, from, until)).await
    }
}
