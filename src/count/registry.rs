//! Known pages: the in-memory map from path to id that every counted hit
//! consults, and the registration of new paths (probe, then store).
//!
//! A known path never costs a database round trip. Concurrent first requests
//! for one path share a single registration (single-flight), so the tracked
//! site sees one probe and the store one row. A path this process does not
//! know is looked up in the store before it is probed, so a page another
//! replica registered is not probed again. Holds no visitor data.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use tokio::sync::OnceCell;

use crate::availability::Unavailable;
use crate::count::path::PagePath;
use crate::count::probe::{Admission, ProbeError, Prober, RootCheck, Verdict};
use crate::metrics::{Metrics, ProbeOutcome};
use crate::store::{within, PathId, SiteId, Store, StoreError, REGISTER_DEADLINE};
use crate::sync::{lock, read, write};

/// Why a path could not be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RegisterError {
    #[error("the tracked site does not have this page")]
    NotAPage,
    #[error("max_paths is reached; no new paths are accepted")]
    TooManyPaths,
    #[error(transparent)]
    Probe(#[from] ProbeError),
    #[error("the store is unavailable")]
    StoreUnavailable,
}

type Flight = Arc<OnceCell<Result<PathId, RegisterError>>>;

pub struct Registry {
    /// The site's id in the store, known once `load` has run.
    site: OnceLock<SiteId>,
    known: RwLock<HashMap<PagePath, PathId>>,
    in_flight: Mutex<HashMap<PagePath, Flight>>,
    max_paths: usize,
    prober: Option<Prober>,
    store: Arc<dyn Store>,
    warned_full: AtomicBool,
    /// Probe outcomes, for `/metrics`.
    metrics: Arc<Metrics>,
}

impl Registry {
    /// `prober` is `None` when no `tracked_base_url` is configured: then every
    /// valid path is accepted, up to `max_paths`.
    pub fn new(store: Arc<dyn Store>, prober: Option<Prober>, max_paths: usize, metrics: Arc<Metrics>) -> Self {
        Self {
            site: OnceLock::new(),
            known: RwLock::default(),
            in_flight: Mutex::default(),
            max_paths,
            prober,
            store,
            warned_full: AtomicBool::new(false),
            metrics,
        }
    }

    /// Finds (or creates) the site `slug` in the store and loads its paths.
    ///
    /// # Errors
    /// When the store cannot be read.
    pub async fn load(&self, slug: &str) -> Result<usize, StoreError> {
        let site = self.store.ensure_site(slug).await?;
        let rows = self.store.paths(site).await?;
        // Set once: a site's id never changes while the process runs.
        let _ = self.site.set(site);
        let mut known = write(&self.known);
        for (id, stored) in rows {
            match PagePath::from_stored(&stored) {
                Ok(path) => {
                    known.insert(path, id);
                }
                Err(e) => tracing::warn!(id, error = %e, "skipping a stored path that is not valid"),
            }
        }
        Ok(known.len())
    }

    /// Requests the tracked site's root, if there is one, and says what came back.
    pub async fn check_site(&self) -> Option<RootCheck> {
        match &self.prober {
            Some(prober) => Some(prober.check_root().await),
            None => None,
        }
    }

    /// The site's id in the store.
    ///
    /// # Errors
    /// [`Unavailable::NotReady`] before `load` has run.
    pub fn site_id(&self) -> Result<SiteId, Unavailable> {
        self.site.get().copied().ok_or(Unavailable::NotReady)
    }

    pub fn id_of(&self, path: &PagePath) -> Option<PathId> {
        read(&self.known).get(path).copied()
    }

    fn len(&self) -> usize {
        read(&self.known).len()
    }

    /// The id of `path`, registering it first if the tracked site confirms it.
    ///
    /// # Errors
    /// A [`RegisterError`]; nothing is stored then.
    pub async fn resolve(&self, path: &PagePath) -> Result<PathId, RegisterError> {
        if let Some(id) = self.id_of(path) {
            return Ok(id);
        }
        let flight = Arc::clone(lock(&self.in_flight).entry(path.clone()).or_default());
        let result = *flight
            .get_or_init(|| async {
                // Removes the entry however this ends, even if the requester
                // goes away mid-probe: abandoned flights must not pile up.
                let _landing = Landing {
                    registry: self,
                    path,
                    flight: &flight,
                };
                self.register(path).await
            })
            .await;
        result
    }

    async fn register(&self, path: &PagePath) -> Result<PathId, RegisterError> {
        // Checked again inside the flight: an earlier flight for this path
        // may have landed after this request's first look.
        if let Some(id) = self.id_of(path) {
            return Ok(id);
        }
        if self.len() >= self.max_paths {
            if !self.warned_full.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    max_paths = self.max_paths,
                    "max_paths is reached: new paths get 404 from now on"
                );
            }
            return Err(RegisterError::TooManyPaths);
        }
        let site = self.site_id().map_err(|_| RegisterError::StoreUnavailable)?;
        if let Some(prober) = &self.prober {
            let admitted = match prober.admit(path) {
                Ok(Admission::Admitted(admitted)) => admitted,
                Ok(Admission::RejectedLately) => return Err(self.probed(ProbeOutcome::RememberedRejection)),
                Ok(Admission::NoProbeUrl) => return Err(self.probed(ProbeOutcome::NotAPage)),
                Err(ProbeError::OverBudget) => {
                    self.probed(ProbeOutcome::OverBudget);
                    return Err(ProbeError::OverBudget.into());
                }
                Err(ProbeError::SiteUnavailable) => {
                    self.probed(ProbeOutcome::SiteUnavailable);
                    return Err(ProbeError::SiteUnavailable.into());
                }
            };
            // Another process on the same database may have registered it
            // since this one loaded its paths: a page is probed once, not
            // once per replica. The lookup waits for the probe's admission,
            // so a flood of unknown paths costs the store no more lookups
            // than the probe budget allows probes.
            let known = within(REGISTER_DEADLINE, self.store.page_id(site, path))
                .await
                .map_err(|e| {
                    tracing::warn!(error = %crate::telemetry::chain(&e), "looking up a path failed");
                    RegisterError::StoreUnavailable
                })?;
            if let Some(id) = known {
                write(&self.known).insert(path.clone(), id);
                self.metrics.probe(ProbeOutcome::KnownInStore);
                return Ok(id);
            }
            let verdict = admitted.send(path).await;
            self.metrics.probe(match verdict {
                Ok(Verdict::Page) => ProbeOutcome::Page,
                Ok(Verdict::NotAPage) => ProbeOutcome::NotAPage,
                Err(ProbeError::OverBudget) => ProbeOutcome::OverBudget,
                Err(ProbeError::SiteUnavailable) => ProbeOutcome::SiteUnavailable,
            });
            if verdict? == Verdict::NotAPage {
                return Err(RegisterError::NotAPage);
            }
        }
        let id = self.store.register_path(site, path).await.map_err(|e| {
            tracing::warn!(error = %crate::telemetry::chain(&e), "registering a path failed");
            RegisterError::StoreUnavailable
        })?;
        write(&self.known).insert(path.clone(), id);
        tracing::debug!(%path, id, "registered a new path");
        Ok(id)
    }
}

impl Registry {
    /// Counts a probe decision that ends registration as "not a page".
    fn probed(&self, outcome: ProbeOutcome) -> RegisterError {
        self.metrics.probe(outcome);
        RegisterError::NotAPage
    }

    /// Knows `path` as `id` from now on: a page the owner registered or renamed.
    pub fn remember(&self, path: PagePath, id: PathId) {
        write(&self.known).insert(path, id);
    }

    /// Forgets `path`: the owner removed it, or renamed or merged it away. A
    /// later hit for it registers it anew (probing first).
    pub fn forget(&self, path: &PagePath) {
        write(&self.known).remove(path);
    }
}

struct Landing<'a> {
    registry: &'a Registry,
    path: &'a PagePath,
    flight: &'a Flight,
}

impl Drop for Landing<'_> {
    fn drop(&mut self) {
        let mut in_flight = lock(&self.registry.in_flight);
        if in_flight.get(self.path).is_some_and(|f| Arc::ptr_eq(f, self.flight)) {
            in_flight.remove(self.path);
        }
    }
}
