//! The application: builds the one shared [`AppState`] from a [`Config`],
//! prepares the store in the background, serves until shutdown, then flushes.
//!
//! This is the only place that wires modules together; it holds no request
//! logic of its own.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use hyper::header::HeaderValue;
use jiff::Timestamp;
use tokio::net::TcpListener;

use crate::availability::Availability;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, Dedup, SiteConfig, StoreConfig};
use crate::count::bots::Agents;
use crate::count::probe::Prober;
use crate::count::proxied::ProxiedGate;
use crate::count::recorder::{Recorder, RecorderHandle};
use crate::count::registry::Registry;
use crate::count::shared::{self, SharedWindows};
use crate::count::traits::agent::PatternError;
use crate::count::traits::Describer;
use crate::count::visitors::Visitors;
use crate::count::{Counter, Site};
use crate::link::Links;
use crate::metrics::Metrics;
use crate::notify::{sender, Notifier};
use crate::owner::auth::Tokens;
use crate::owner::retention::{self, CallsKept};
use crate::read::Reads;
use crate::state::AppState;
use crate::store::{PostgresStore, SqliteStore, Store, StoreError};

/// After a shutdown signal, requests being answered get this long (idle and
/// half-sent connections are closed at once)...
const DRAIN_TIMEOUT: Duration = Duration::from_secs(4);
/// ...queued hits this long to be committed...
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);
/// ...and store calls still on blocking threads this long before the process
/// exits without them (a SQLite write waiting for another process's lock
/// cannot be cancelled; it holds no lock, and its batch was never
/// acknowledged). 6.5 s in all: the promise is 8 s, inside the 10 s a
/// container runtime waits before it kills.
pub const TEARDOWN_TIMEOUT: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data directory {0}")]
    DataDir(String, #[source] std::io::Error),
    #[error("cannot open the store")]
    Store(#[from] StoreError),
    #[error("cannot build the HTTP client for probing")]
    Prober(#[from] reqwest::Error),
    #[error("the user-agent patterns do not compile")]
    Agents(#[from] regex::Error),
    #[error("cannot listen on metrics_address {0}")]
    MetricsAddress(std::net::SocketAddr, #[source] std::io::Error),
    #[error(transparent)]
    Browsers(#[from] PatternError),
}

/// Opens the store named by the config (connecting lazily for PostgreSQL).
///
/// # Errors
/// When the SQLite file or its directory cannot be created or opened.
pub fn open_store(config: &Config) -> Result<Arc<dyn Store>, StartError> {
    Ok(match &config.store {
        StoreConfig::Sqlite { file } => {
            if let Some(dir) = file.parent() {
                std::fs::create_dir_all(dir).map_err(|e| StartError::DataDir(dir.display().to_string(), e))?;
            }
            Arc::new(SqliteStore::open(file)?)
        }
        StoreConfig::Postgres(db) => Arc::new(PostgresStore::new(db)?),
    })
}

/// The running application's parts that outlive a request.
pub struct App {
    pub state: Arc<AppState>,
    store: Arc<dyn Store>,
    recorder: RecorderHandle,
    /// Closes ended shared-dedup windows (a no-op task without them).
    closer: tokio::task::JoinHandle<()>,
}

impl App {
    /// Builds the state on `clock`; the store is prepared by [`App::prepare`].
    ///
    /// # Errors
    /// A [`StartError`] when the store or the probe client cannot be set up.
    pub fn build(config: Config, clock: Arc<dyn Clock>) -> Result<Self, StartError> {
        let store = open_store(&config)?;
        let metrics = Arc::new(Metrics::new());
        let sites = config
            .sites
            .iter()
            .map(|site| build_site(site, &config, &store, &metrics, clock.now()))
            .collect::<Result<Vec<_>, _>>()?;
        let agents = Agents::shared()?;
        let availability = Arc::new(Availability::default());
        let (recorder, handle) = Recorder::spawn(
            Arc::clone(&store),
            Arc::clone(&availability),
            Arc::clone(&metrics),
            config.notify.milestones.clone(),
            config.dimensions.max_values,
        );
        let describer = Describer::new(config.dimensions.geoip.clone())?;
        let closer = tokio::spawn(shared::run_closer(
            Arc::clone(&store),
            Arc::clone(&clock),
            Arc::clone(&availability),
        ));
        let state = Arc::new(AppState {
            sites,
            image_cache_control: HeaderValue::from_str(&format!("private, max-age={}", config.cache_max_age_seconds))
                .unwrap_or_else(|_| HeaderValue::from_static("private")),
            reads: Reads::new(Arc::clone(&store), Arc::clone(&availability)),
            counter: Counter {
                availability: Arc::clone(&availability),
                recorder,
                agents,
                metrics: Arc::clone(&metrics),
                describer,
            },
            metrics,
            tokens: Tokens::new(&config),
            links: Links::new(&config),
            notifier: Notifier::new(&config),
            store: Arc::clone(&store),
            calls_kept: CallsKept::default(),
            availability,
            clock,
            config,
        });
        Ok(Self {
            state,
            store,
            recorder: handle,
            closer,
        })
    }

    /// Migrates the store and loads the known paths, retrying until it
    /// works: a database that starts after Footfall (or restarts) is waited
    /// for, and /readyz says 503 meanwhile.
    pub fn prepare(&self) -> impl Future<Output = ()> + Send + 'static {
        let (store, state) = (Arc::clone(&self.store), Arc::clone(&self.state));
        async move {
            let mut delay = Duration::from_millis(200);
            loop {
                let attempt = async {
                    store.migrate().await?;
                    let mut paths = 0;
                    let mut site_ids = Vec::new();
                    for site in &state.sites {
                        paths += site.registry.load(&site.config.slug).await?;
                        if let Ok(id) = site.registry.site_id() {
                            site_ids.push((site.config.slug.clone(), id));
                        }
                    }
                    let links = state.links.load(store.as_ref(), &site_ids).await?;
                    state.notifier.ensure_cursors(store.as_ref()).await?;
                    Ok((paths, links))
                };
                match state.availability.observe(attempt.await) {
                    Ok((paths, links)) => {
                        state.availability.set_ready();
                        tracing::info!(paths, links, "store ready");
                        return;
                    }
                    Err(StoreError::SchemaTooNew { .. }) => return, // logged by observe; retrying cannot help
                    Err(_) => {
                        tokio::time::sleep(delay).await;
                        delay = (delay * 2).min(Duration::from_secs(5));
                    }
                }
            }
        }
    }

    /// Commits every queued hit, waiting at most `FLUSH_TIMEOUT`.
    pub async fn shut_down(self) {
        self.closer.abort();
        self.recorder.shut_down(FLUSH_TIMEOUT).await;
    }
}

/// A site's run-time parts: its registry (with a prober for its own origin
/// and budget) and its visitor set (windows in its own zone).
fn build_site(
    site: &SiteConfig,
    config: &Config,
    store: &Arc<dyn Store>,
    metrics: &Arc<Metrics>,
    now: Timestamp,
) -> Result<Site, StartError> {
    let prober = site
        .tracked_base_url
        .clone()
        .map(|base| Prober::new(base, site.probe))
        .transpose()?;
    let (hours, max) = (config.dedup_window_hours, config.max_visitors);
    let (visitors, shared) = match &config.dedup {
        Dedup::Local => (Visitors::new(site.zone.clone(), hours, max, now), None),
        Dedup::Shared { secret } => (
            Visitors::shared(site.zone.clone(), hours, max),
            Some(SharedWindows::new(secret.clone(), Arc::clone(store))),
        ),
    };
    Ok(Site {
        registry: Registry::new(Arc::clone(store), prober, site.max_paths, Arc::clone(metrics)),
        visitors,
        proxied: ProxiedGate::new(config.proxied_min_interval),
        shared,
        config: site.clone(),
    })
}

/// Serves `listener` until `shutdown` resolves, then drains connections and
/// commits every queued hit.
///
/// # Errors
/// A [`StartError`] when the store or the probe client cannot be set up.
pub async fn run(config: Config, listener: TcpListener, shutdown: impl Future<Output = ()>) -> Result<(), StartError> {
    log_start(&config, &listener);
    let metrics_listener = match config.metrics_address {
        Some(address) => Some(
            TcpListener::bind(address)
                .await
                .map_err(|e| StartError::MetricsAddress(address, e))?,
        ),
        None => None,
    };
    let app = App::build(config, Arc::new(SystemClock))?;
    let serving_metrics = metrics_listener.map(|listener| {
        tracing::info!(address = %listener.local_addr().map_or_else(|_| String::new(), |a| a.to_string()), "serving /metrics");
        tokio::spawn(crate::server::metrics::serve(listener, Arc::clone(&app.state)))
    });
    let preparing = tokio::spawn(app.prepare());
    let retaining = tokio::spawn(retention::run(Arc::clone(&app.state)));
    let notifying = tokio::spawn(sender::run(Arc::clone(&app.state)));
    let checking = tokio::spawn({
        let state = Arc::clone(&app.state);
        async move {
            for site in &state.sites {
                if let Some(check) = site.registry.check_site().await {
                    check.log();
                }
            }
        }
    });
    let connections = app.state.config.connections;
    crate::server::serve(listener, Arc::clone(&app.state), connections, DRAIN_TIMEOUT, shutdown).await;
    preparing.abort();
    checking.abort();
    retaining.abort();
    if let Some(task) = serving_metrics {
        task.abort();
    }
    notifying.abort();
    app.shut_down().await;
    tracing::info!("stopped");
    Ok(())
}

fn log_start(config: &Config, listener: &TcpListener) {
    let address = listener
        .local_addr()
        .map_or_else(|_| config.socket_address.to_string(), |a| a.to_string());
    let store = match &config.store {
        StoreConfig::Sqlite { file } => format!("sqlite {}", file.display()),
        StoreConfig::Postgres(db) => format!("postgresql {}:{}/{}", db.host, db.port, db.database),
    };
    let config_file = config.config_file.as_ref().map_or_else(
        || "none found (defaults and environment)".to_owned(),
        |f| f.display().to_string(),
    );
    tracing::info!(
        %address,
        %store,
        %config_file,
        sites = config.sites.len(),
        default_site = %config.default_site().slug,
        "footfall started"
    );
    crate::owner::log_policy(config);
    for site in &config.sites {
        let tracked = site.tracked_base_url.as_ref().map_or("none", |u| u.as_str());
        let access = match (site.access.public, site.access.public_badge) {
            (true, _) => "public",
            (false, true) => "private (badge shows the count)",
            (false, false) => "private",
        };
        tracing::info!(site = %site.slug, tracked_site = tracked, zone = %site.zone.describe(), access, "counting a site");
        if site.tracked_base_url.is_none() {
            tracing::warn!(
                site = %site.slug,
                "no tracked_base_url: every valid path is accepted (up to max_paths) without a check"
            );
        }
    }
}
