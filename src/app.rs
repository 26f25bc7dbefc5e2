//! The application: builds the one shared [`AppState`] from a [`Config`],
//! prepares the store in the background, serves until shutdown, then flushes.
//!
//! This is the only place that wires modules together; it holds no request
//! logic of its own.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hyper::header::HeaderValue;
use jiff::Timestamp;
use tokio::net::TcpListener;

use crate::config::{Config, StoreConfig};
use crate::error::HttpError;
use crate::probe::Prober;
use crate::recorder::{Recorder, StoreHealth};
use crate::registry::Registry;
use crate::store::{PostgresStore, SqliteStore, Store, StoreError};
use crate::visitors::Visitors;
use crate::zone::{date_of_day, day_number, DayNumber};

/// In-flight requests get this long after a shutdown signal...
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// ...and queued hits this long to be committed: together well inside the
/// 10 s a container runtime waits before it kills.
const FLUSH_TIMEOUT: Duration = Duration::from_secs(2);

/// Everything a request handler needs, built once.
pub struct AppState {
    pub config: Config,
    pub store: Arc<dyn Store>,
    pub health: Arc<StoreHealth>,
    pub registry: Registry,
    pub visitors: Visitors,
    pub recorder: Recorder,
    pub image_cache_control: HeaderValue,
    ready: AtomicBool,
}

impl AppState {
    /// Whether the store is migrated and the known paths are loaded.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// # Errors
    /// [`HttpError::NotReady`] until the store is prepared.
    pub fn check_ready(&self) -> Result<(), HttpError> {
        if self.is_ready() {
            Ok(())
        } else {
            Err(HttpError::NotReady)
        }
    }

    /// Passes a store result through the outage log, as an HTTP error.
    ///
    /// # Errors
    /// [`HttpError::StoreUnavailable`] when the store failed.
    pub fn observe<T>(&self, result: Result<T, StoreError>) -> Result<T, HttpError> {
        self.health.observe(result).map_err(|_| HttpError::StoreUnavailable)
    }

    /// Today's date in the configured zone.
    pub fn today(&self) -> jiff::civil::Date {
        self.config.zone.date_of(Timestamp::now())
    }

    pub fn today_number(&self) -> DayNumber {
        day_number(self.today())
    }

    /// The first instant of a day in the configured zone.
    pub fn start_of_day(&self, day: DayNumber) -> Timestamp {
        self.config.zone.start_of(date_of_day(day))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot create the data directory {0}: {1}")]
    DataDir(String, std::io::Error),
    #[error("cannot open the store: {0}")]
    Store(#[from] StoreError),
    #[error("cannot build the HTTP client for probing: {0}")]
    Prober(#[from] reqwest::Error),
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

/// Serves `listener` until `shutdown` resolves, then drains connections and
/// commits every queued hit.
///
/// # Errors
/// A [`StartError`] when the store or the probe client cannot be set up.
pub async fn run(config: Config, listener: TcpListener, shutdown: impl Future<Output = ()>) -> Result<(), StartError> {
    let store = open_store(&config)?;
    let prober = config
        .tracked_base_url
        .clone()
        .map(|base| Prober::new(base, config.probe))
        .transpose()?;
    let health = Arc::new(StoreHealth::default());
    let (recorder, recorder_handle) = Recorder::spawn(Arc::clone(&store), Arc::clone(&health));
    log_start(&config, &listener);
    let state = Arc::new(AppState {
        registry: Registry::new(Arc::clone(&store), prober, config.max_paths),
        visitors: Visitors::new(
            config.zone.clone(),
            config.dedup_window_hours,
            config.max_visitors,
            Timestamp::now(),
        ),
        image_cache_control: HeaderValue::from_str(&format!("private, max-age={}", config.cache_max_age_seconds))
            .unwrap_or_else(|_| HeaderValue::from_static("private")),
        store,
        health,
        recorder,
        ready: AtomicBool::new(false),
        config,
    });

    let preparing = tokio::spawn(prepare_store(Arc::clone(&state)));
    let connections = state.config.connections;
    crate::server::serve(listener, Arc::clone(&state), connections, DRAIN_TIMEOUT, shutdown).await;
    preparing.abort();
    recorder_handle.shut_down(FLUSH_TIMEOUT).await;
    tracing::info!("stopped");
    Ok(())
}

/// Migrates the store and loads the known paths, retrying until it works: a
/// database that starts after Footfall (or restarts) is waited for, and
/// /readyz says 503 meanwhile.
async fn prepare_store(state: Arc<AppState>) {
    let mut delay = Duration::from_millis(200);
    loop {
        let attempt = async {
            state.store.migrate().await?;
            state.registry.load().await
        };
        match state.health.observe(attempt.await) {
            Ok(paths) => {
                state.ready.store(true, Ordering::Release);
                tracing::info!(paths, "store ready");
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

fn log_start(config: &Config, listener: &TcpListener) {
    let address = listener
        .local_addr()
        .map_or_else(|_| config.socket_address.to_string(), |a| a.to_string());
    let store = match &config.store {
        StoreConfig::Sqlite { file } => format!("sqlite {}", file.display()),
        StoreConfig::Postgres(db) => format!("postgresql {}:{}/{}", db.host, db.port, db.database),
    };
    let tracked = config.tracked_base_url.as_ref().map_or("none", |u| u.as_str());
    tracing::info!(%address, %store, tracked_site = tracked, "footfall started");
    if config.tracked_base_url.is_none() {
        tracing::warn!("no tracked_base_url: every valid path is accepted (up to max_paths) without a check");
    }
}
