//! The one shared [`AppState`], built once by `app` and handed to every
//! request.
//!
//! Holds no request logic. Cheap to share: handlers get an `&AppState`.

use std::sync::Arc;

use hyper::header::HeaderValue;
use jiff::civil::Date;
use jiff::Timestamp;

use crate::availability::Availability;
use crate::clock::Clock;
use crate::config::Config;
use crate::count::{Counter, Site};
use crate::link::Links;
use crate::metrics::Metrics;
use crate::notify::Notifier;
use crate::owner::auth::Tokens;
use crate::owner::retention::CallsKept;
use crate::read::Reads;
use crate::store::Store;
use crate::zone::{day_number, DayNumber};

/// Everything a request handler needs.
pub struct AppState {
    pub config: Config,
    pub clock: Arc<dyn Clock>,
    pub availability: Arc<Availability>,
    /// One per configured site, in the config's order (by slug).
    pub sites: Vec<Site>,
    /// Counting: readiness and the group commit.
    pub counter: Counter,
    /// Every store read goes through here (readiness, outage log, errors).
    pub reads: Reads,
    /// `Cache-Control` of the `/call` image, built once from the config.
    pub image_cache_control: HeaderValue,
    /// The admin token and each private site's read tokens, as keyed hashes.
    pub tokens: Tokens,
    /// For the owner's use-cases (`owner`) only: request handlers read
    /// through `reads` and count through `recorder`.
    pub store: Arc<dyn Store>,
    /// Since when raw calls are complete (retention deletes older ones).
    pub calls_kept: CallsKept,
    /// What `/metrics` shows.
    pub metrics: Arc<Metrics>,
    /// The link keys and each site's bound on distinct links.
    pub links: Links,
    /// The webhook receivers and how their deliveries go.
    pub notifier: Notifier,
}

impl AppState {
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// The site with this slug, if it is configured.
    pub fn site(&self, slug: &str) -> Option<&Site> {
        self.sites.iter().find(|site| site.config.slug == slug)
    }

    /// The site the routes without `/s/{site}` mean.
    pub fn default_site(&self) -> &Site {
        &self.sites[self.config.default_site.min(self.sites.len() - 1)]
    }

    /// Today's date in `site`'s zone.
    pub fn today(&self, site: &Site) -> Date {
        site.config.zone.date_of(self.now())
    }

    pub fn today_number(&self, site: &Site) -> DayNumber {
        day_number(self.today(site))
    }
}
