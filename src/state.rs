//! The one shared [`AppState`], built once by `app` and handed to every
//! request; and [`Availability`], which says whether the store can be used.
//!
//! Holds no request logic. Cheap to share: handlers get an `&AppState`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use hyper::header::HeaderValue;
use jiff::civil::Date;
use jiff::Timestamp;

use crate::clock::Clock;
use crate::config::Config;
use crate::count::recorder::Recorder;
use crate::count::registry::Registry;
use crate::count::visitors::Visitors;
use crate::read::Reads;
use crate::store::StoreError;
use crate::zone::{day_number, DayNumber};

/// Everything a request handler needs.
pub struct AppState {
    pub config: Config,
    pub clock: Arc<dyn Clock>,
    pub availability: Arc<Availability>,
    pub registry: Registry,
    pub visitors: Visitors,
    pub recorder: Recorder,
    /// Every store read goes through here (readiness, outage log, errors).
    pub reads: Reads,
    /// `Cache-Control` of the `/call` image, built once from the config.
    pub image_cache_control: HeaderValue,
}

impl AppState {
    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// Today's date in the configured zone.
    pub fn today(&self) -> Date {
        self.config.zone.date_of(self.now())
    }

    pub fn today_number(&self) -> DayNumber {
        day_number(self.today())
    }
}

/// Whether the store is prepared (migrated, known paths loaded) and
/// reachable. An outage is logged once when it starts and once when it
/// ends, not once per request.
#[derive(Default)]
pub struct Availability {
    ready: AtomicBool,
    down: AtomicBool,
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

    /// Passes `result` through, logging a change between up and down with
    /// the whole error chain.
    ///
    /// # Errors
    /// The given error.
    pub fn observe<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        match &result {
            Ok(_) => {
                if self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("the store is available again");
                }
            }
            Err(error) => {
                if !self.down.swap(true, Ordering::Relaxed) {
                    tracing::error!(
                        error = %crate::telemetry::chain(error),
                        "the store is unavailable; requests that need it get 503 until it is back"
                    );
                }
            }
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_is_a_state_change_not_a_stream_of_events() {
        let health = Availability::default();
        let failure = || Err::<(), _>(StoreError::Task("down".into()));
        assert!(health.observe(failure()).is_err());
        assert!(
            health.down.load(Ordering::Relaxed),
            "the first failure starts the outage"
        );
        // Further failures change nothing, so nothing more is logged.
        assert!(health.observe(failure()).is_err());
        assert!(health.down.load(Ordering::Relaxed));
        assert_eq!(health.observe(Ok(7)).ok(), Some(7));
        assert!(!health.down.load(Ordering::Relaxed), "a success ends it");
    }

    #[test]
    fn readiness_starts_false() {
        let availability = Availability::default();
        assert_eq!(availability.check_ready(), Err(Unavailable::NotReady));
        availability.set_ready();
        assert_eq!(availability.check_ready(), Ok(()));
    }
}
