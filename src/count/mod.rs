//! The write path: everything between "a request for `/call/{path}` arrived"
//! and "its hit is committed". [`count_hit`] is the use-case every counting
//! route calls; it needs no HTTP.
//!
//! - [`path`]: `PagePath`, the path rules (pure).
//! - [`client_ip`]: which address a request comes from (pure).
//! - [`visitors`]: keyed-hash dedup per window (pure + small state).
//! - [`probe`]: checking new paths against the tracked site, with limits.
//! - [`registry`]: known pages in memory; single-flight registration.
//! - [`recorder`]: group commit of counted hits.
//! - [`filter`]: honest counts — which hits are not a visitor's view, and why.
//! - [`bots`]: the user-agent lists (bots, image proxies).
//! - [`proxied`]: at most one proxied view per page per interval.
//! - [`click`]: counting a click of a `/go/` link, by the same rules.
//! - [`shared`]: shared dedup across replicas (window keys and life cycle).
//! - [`traits`]: a counted hit's browser, system, device, country and
//!   referrer, for the dimension aggregates.
//!
//! The client address goes into the visitor hash, the `ignore_addresses`
//! check and the in-memory GeoIP lookup, and nowhere else: it is never stored, logged or returned.

pub mod bots;
pub(crate) mod click;
pub(crate) mod client_ip;
pub mod filter;
pub mod path;
pub(crate) mod probe;
pub(crate) mod proxied;
pub(crate) mod recorder;
pub(crate) mod registry;
pub(crate) mod shared;
pub mod traits;
pub(crate) mod visitors;

use std::net::IpAddr;
use std::sync::Arc;

use jiff::Timestamp;

use self::bots::Agents;
use self::filter::{classify, Signals};
use self::path::PagePath;
use self::proxied::ProxiedGate;
use self::recorder::RecordError;
use self::recorder::Recorder;
use self::registry::RegisterError;
use self::registry::Registry;
use self::shared::{SharedWindows, WindowError};
use self::traits::Describer;
use self::visitors::Admission;
use self::visitors::Visitors;
use crate::availability::{Availability, Unavailable};
use crate::config::SiteConfig;
use crate::metrics::{HitOutcome, Metrics};
use crate::store::{Hit, PathId};

/// One counted site at run time: its pages and its visitors, in its zone.
/// Pages of different sites never share a registry entry or a visitor set,
/// so one visitor counts once on each site's `/`.
pub struct Site {
    pub config: SiteConfig,
    pub registry: Registry,
    pub visitors: Visitors,
    /// When each page last counted a proxied view.
    pub proxied: ProxiedGate,
    /// With `dedup: shared`: where the window keys come from.
    pub shared: Option<SharedWindows>,
}

/// What counting needs besides the site: whether the store is ready, and
/// the group commit.
pub struct Counter {
    pub availability: Arc<Availability>,
    pub recorder: Recorder,
    /// The bot and image-proxy user-agent lists, compiled once.
    pub agents: &'static Agents,
    /// What became of each hit, for `/metrics`.
    pub metrics: Arc<Metrics>,
    /// Labels counted hits for the dimension aggregates.
    pub describer: Describer,
}

/// Why a hit could not be counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CountError {
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
    #[error(transparent)]
    Register(#[from] RegisterError),
    /// Not stored, or not known to be (then the visitor stays remembered).
    #[error("the hit could not be committed")]
    NotCommitted,
}

/// Counts one view of `path` on `site` by `client` at `now`, unless this
/// visitor was counted on this page in the current window. Registers the
/// page first if it is new (probing the site's own origin). Returns the
/// page's id either way.
///
/// A view through an image proxy skips visitor dedup and counts in the
/// page's proxied series, at most once per `proxied_min_interval_seconds`.
/// A new (visitor, page) pair is then classified: counted, or filtered with
/// one reason (an aggregate count, not waited for). The pair is remembered
/// either way, so a repeat — also a bot's — costs only the dedup lookup.
/// Only a counted hit is described (browser, system, device, country, and
/// the referrer `/count.js` puts in `query`); its labels are written about
/// a second after it, if it counted.
///
/// # Errors
/// A [`CountError`]; the visitor is then not remembered, so a retry counts,
/// unless the hit may have been stored after all.
pub async fn count_hit(
    counter: &Counter,
    site: &Site,
    path: &PagePath,
    client: IpAddr,
    signals: &Signals<'_>,
    query: Option<&str>,
    now: Timestamp,
) -> Result<PathId, CountError> {
    counter.availability.check_ready()?;
    let id = site.registry.resolve(path).await?;
    let metrics = &counter.metrics;
    if signals.is_proxied() {
        let Some(admitted) = site.proxied.admit(id, now) else {
            metrics.hit(HitOutcome::ProxiedThrottled);
            return Ok(id);
        };
        let day = site.config.zone.day_of(now);
        if let Err(error) = counter.recorder.record_proxied(id, day).await {
            if error == RecordError::NotCommitted {
                site.proxied.undo(admitted);
            }
            metrics.hit(HitOutcome::Failed);
            return Err(CountError::NotCommitted);
        }
        metrics.hit(HitOutcome::Proxied);
        return Ok(id);
    }
    let mut admission = site.visitors.admit(now, client, path);
    if admission == Admission::Unkeyed {
        // The first hit of a window on this replica (shared dedup only).
        open_window(counter, site, now).await?;
        admission = site.visitors.admit(now, client, path);
    }
    let key = match admission {
        Admission::New(key) => key,
        Admission::Repeat => {
            metrics.hit(HitOutcome::Repeat);
            return Ok(id);
        }
        Admission::Full => {
            metrics.hit(HitOutcome::Full);
            return Ok(id);
        }
        // A later window was installed between this request's reading of
        // the clock and its admission: its own window's key is gone. Not
        // counted, and not remembered, so the retry counts.
        Admission::Unkeyed => {
            metrics.hit(HitOutcome::Failed);
            return Err(CountError::NotCommitted);
        }
    };
    let day = site.config.zone.day_of(now);
    if let Some(reason) = classify(signals, client, &site.config.filter, counter.agents) {
        counter.recorder.tally(id, day, reason.tally());
        metrics.filtered(reason);
        return Ok(id);
    }
    let hit = Hit { path: id, at: now, day };
    let traits = counter.describer.describe(signals, query, client, &site.config);
    let recorded = match key.shared_digest() {
        Some(digest) => counter.recorder.record_shared(hit, digest, traits).await,
        None => counter.recorder.record(hit, traits).await,
    };
    if let Err(error) = recorded {
        // Only a hit certainly not stored may count again on a retry.
        if error == RecordError::NotCommitted {
            site.visitors.forget(key);
        }
        metrics.hit(HitOutcome::Failed);
        return Err(CountError::NotCommitted);
    }
    metrics.hit(HitOutcome::Counted);
    Ok(id)
}

/// Installs the key of the window containing `now` (shared dedup). A store
/// failure goes through the write outage log (once per outage).
async fn open_window(counter: &Counter, site: &Site, now: Timestamp) -> Result<(), CountError> {
    let shared = site.shared.as_ref().ok_or(CountError::NotCommitted)?;
    match shared.open(&site.registry, &site.visitors, now).await {
        Ok(()) => Ok(()),
        Err(WindowError::Store(error)) => {
            let _ = counter.availability.observe::<()>(Err(error));
            Err(CountError::NotCommitted)
        }
        Err(error) => {
            tracing::error!(error = %crate::telemetry::chain(&error), "the dedup window could not be opened");
            Err(CountError::NotCommitted)
        }
    }
}
