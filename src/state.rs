//! The one shared [`AppState`], built once by `app` and handed to every
//! request; and [`Availability`], which says whether the store can be used.
//!
//! Holds no request logic. Cheap to share: handlers get an `&AppState`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use hyper::header::HeaderValue;
use jiff::civil::Date;
use jiff::Timestamp;

use crate::clock::Clock;
use crate::config::{Config, SiteConfig};
use crate::count::recorder::Recorder;
use crate::count::registry::Registry;
use crate::count::visitors::Visitors;
use crate::owner::auth::Tokens;
use crate::owner::retention::CallsKept;
use crate::read::Reads;
use crate::store::{Store, StoreError};
use crate::sync::lock;
use crate::zone::{day_number, DayNumber};

/// Everything a request handler needs.
pub struct AppState {
    pub config: Config,
    pub clock: Arc<dyn Clock>,
    pub availability: Arc<Availability>,
    /// One per configured site, in the config's order (by slug).
    pub sites: Vec<Site>,
    pub recorder: Recorder,
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

/// One counted site at run time: its pages and its visitors, in its zone.
/// Pages of different sites never share a registry entry or a visitor set,
/// so one visitor counts once on each site's `/`.
pub struct Site {
    pub config: SiteConfig,
    pub registry: Registry,
    pub visitors: Visitors,
}

/// Whether the store is prepared (migrated, known paths loaded) and working.
/// Writes decide readiness: a store that answers reads but cannot commit
/// is not ready. Each outage (of writes, of reads) is logged once when it
/// starts, with its cause, and once when it ends — not once per request.
pub struct Availability {
    ready: AtomicBool,
    writes: Outage,
    reads: Outage,
}

impl Default for Availability {
    fn default() -> Self {
        Self {
            ready: AtomicBool::new(false),
            writes: Outage::new("writes to the store"),
            reads: Outage::new("reads from the store"),
        }
    }
}

/// Why the store cannot be used right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Unavailable {
    #[error("starting up; try again shortly")]
    NotReady,
    #[error("the store is unavailable; try again shortly")]
    StoreDown,
}

impl Availability {
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::Release);
    }

    /// # Errors
    /// [`Unavailable::NotReady`] until the store is prepared.
    pub fn check_ready(&self) -> Result<(), Unavailable> {
        if self.is_ready() {
            Ok(())
        } else {
            Err(Unavailable::NotReady)
        }
    }

    /// Passes the result of a write (a batch, a migration) through the
    /// write outage log.
    ///
    /// # Errors
    /// The given error.
    pub fn observe<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        self.writes.observe(result)
    }

    /// Passes the result of a read through the read outage log; reads never
    /// end a write outage.
    ///
    /// # Errors
    /// The given error.
    pub fn observe_read<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        self.reads.observe(result)
    }

    /// The cause of the current write outage, if writes are failing.
    pub fn write_outage(&self) -> Option<String> {
        self.writes.cause()
    }

    /// The cause of the current read outage, if reads are failing.
    pub fn read_outage(&self) -> Option<String> {
        self.reads.cause()
    }
}

/// One kind of store use that can be failing, with the cause of its first
/// failure (the whole error chain; never a secret or a client address).
struct Outage {
    what: &'static str,
    cause: Mutex<Option<String>>,
}

impl Outage {
    fn new(what: &'static str) -> Self {
        Self {
            what,
            cause: Mutex::new(None),
        }
    }

    fn cause(&self) -> Option<String> {
        lock(&self.cause).clone()
    }

    fn observe<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        let mut cause = lock(&self.cause);
        match (&result, cause.is_some()) {
            (Ok(_), true) => {
                *cause = None;
                tracing::info!("{} work again", self.what);
            }
            (Err(error), false) => {
                let text = crate::telemetry::chain(error);
                tracing::error!(
                    error = %text,
                    "{} fail; requests that need them get 503 until they work again",
                    self.what
                );
                *cause = Some(text);
            }
            _ => {}
        }
        drop(cause);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_a_state_change_not_a_stream_of_events() {
        let health = Availability::default();
        let failure = |cause: &str| Err::<(), _>(StoreError::Task(cause.into()));
        assert!(health.observe(failure("down")).is_err());
        assert_eq!(
            health.write_outage().as_deref(),
            Some("a storage task failed: down"),
            "the first failure starts the outage, with its cause"
        );
        // Further failures change nothing, so nothing more is logged.
        assert!(health.observe(failure("other")).is_err());
        assert_eq!(health.write_outage().as_deref(), Some("a storage task failed: down"));
        assert_eq!(health.observe(Ok(7)).ok(), Some(7));
        assert_eq!(health.write_outage(), None, "a success ends it");
    }

    #[test]
    fn working_reads_do_not_end_a_write_outage() {
        let health = Availability::default();
        let _ = health.observe(Err::<(), _>(StoreError::Task("disk full".into())));
        assert_eq!(health.observe_read(Ok(1)).ok(), Some(1));
        assert!(health.write_outage().is_some(), "reads work, writes still fail");
        let _ = health.observe_read(Err::<(), _>(StoreError::Task("gone".into())));
        assert!(health.read_outage().is_some());
    }

    #[test]
    fn readiness_starts_false() {
        let availability = Availability::default();
        assert_eq!(availability.check_ready(), Err(Unavailable::NotReady));
        availability.set_ready();
        assert_eq!(availability.check_ready(), Ok(()));
    }
}
