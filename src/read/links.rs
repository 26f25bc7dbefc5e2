//! The read use-cases of links and events: every link of a site, one
//! link's zero-filled per-day series (for its history and chart), a site's
//! recent events (the feed) and failed webhook deliveries. Reads go through
//! [`Reads`]; "today" is passed in.

use super::buckets::fill_days;
use super::series::DailySeries;
use super::Reads;
use crate::availability::Unavailable;
use crate::store::{FailedDelivery, LinkRow, SiteId, StoredEvent};
use crate::zone::DayNumber;

impl Reads {
    /// Every link of `site` with a click, total descending then id.
    ///
    /// # Errors
    /// [`Unavailable`] when the store is not ready or does not answer.
    pub async fn links(&self, site: SiteId) -> Result<Vec<LinkRow>, Unavailable> {
        self.run(self.store.links(site)).await
    }

    /// One link's per-day clicks from its first click to `today`, zero-filled;
    /// `None` when `site` has no such link.
    ///
    /// # Errors
    /// [`Unavailable`] when the store is not ready or does not answer.
    pub async fn link_series(
        &self,
        site: SiteId,
        link: &str,
        today: DayNumber,
    ) -> Result<Option<DailySeries>, Unavailable> {
        let Some(rows) = self.run(self.store.link_daily(site, link)).await? else {
            return Ok(None);
        };
        let first = rows.first().map_or(today, |&(d, _)| d.min(today));
        Ok(Some(DailySeries {
            days: fill_days(&rows, first, today.max(first)),
            total_before: 0,
        }))
    }
}

impl Reads {
    /// The newest `limit` events of `site`, newest first (the feed).
    ///
    /// # Errors
    /// [`Unavailable`] when the store is not ready or does not answer.
    pub async fn recent_events(&self, site: SiteId, limit: usize) -> Result<Vec<StoredEvent>, Unavailable> {
        self.run(self.store.recent_events(site, limit)).await
    }

    /// The newest deliveries given up of these receivers.
    ///
    /// # Errors
    /// [`Unavailable`] when the store is not ready or does not answer.
    pub async fn failed_deliveries(
        &self,
        receivers: &[String],
        limit: usize,
    ) -> Result<Vec<FailedDelivery>, Unavailable> {
        self.run(self.store.failures(receivers, limit)).await
    }
}
