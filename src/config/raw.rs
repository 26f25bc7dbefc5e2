//! The raw schema of `config.yaml` (after the environment overlay) with the
//! default of every key, and its validation into the typed [`Config`].
//!
//! Owns what each key means and which values are allowed. Must not read the
//! environment or the file itself (`mod.rs` and `env` do), and every error
//! goes through [`Sources::error`] so it names the key and its source.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;

use super::filters::FilterFallbacks;
use super::image::{load_response, ResponseImage};
use super::links::{validate_links, RawLinks};
use super::notify::{notify_config, RawWebhook};
use super::owner::{check_token, retention, RawAccess, RawRetention};
use super::replicas::{dedup, metrics_address, RawDedup};
use super::sites::{validate_sites, Fallbacks, RawSite};
use super::values::{at_least_one, check_counting_limits, check_log_level, socket_address, trusted_proxies};
use super::{
    Config, ConfigError, ConnectionLimits, DbConfig, DimensionSettings, ProbeLimits, Secret, Sources, StoreConfig,
};
use crate::count::traits::country::GeoIp;

/// Every key of `config.yaml`; a missing key takes its value from
/// [`RawConfig::default`], and an unknown key is an error, so a typo fails
/// at start instead of being ignored.
#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawConfig {
    socket_address: String,
    response_filename: Option<String>,
    tracked_base_url: Option<String>,
    db: Option<DbConfig>,
    utc_offset: Option<RawUtcOffset>,
    timezone: Option<String>,
    trusted_proxies: Vec<String>,
    dedup_window_hours: u32,
    max_paths: usize,
    max_visitors: usize,
    cache_max_age_seconds: u32,
    log_level: String,
    probe_rate_per_second: f64,
    probe_burst: u32,
    probe_concurrency: usize,
    probe_negative_ttl_seconds: u64,
    max_connections: usize,
    header_read_timeout_seconds: u64,
    max_connections_per_address: usize,
    header_read_timeout_under_load_seconds: u64,
    sites: Option<BTreeMap<String, Option<RawSite>>>,
    default_site: Option<String>,
    count_bots: bool,
    ignore_addresses: Vec<String>,
    check_referer: Option<bool>,
    also_accept_origins: Vec<String>,
    proxied_min_interval_seconds: u64,
    admin_token: Option<Secret>,
    public: Option<bool>,
    public_badge: Option<bool>,
    read_tokens: Option<Vec<Secret>>,
    retention: Option<RawRetention>,
    dedup: RawDedup,
    dedup_secret: Option<Secret>,
    metrics_address: Option<String>,
    link_secret: Option<Secret>,
    previous_link_secrets: Vec<Secret>,
    encrypt_links: bool,
    public_url: Option<String>,
    max_links: usize,
    webhooks: Option<Vec<RawWebhook>>,
    milestones: Vec<i64>,
    link_event_interval_seconds: u64,
    webhook_retry_seconds: f64,
    geoip_database: Option<String>,
    max_dimension_values: u32,
    min_dimension_count: u64,
}

impl Default for RawConfig {
    fn default() -> Self {
        Self {
            // Loopback: reachable only from this machine (or its reverse proxy).
            socket_address: "127.0.0.1:8080".into(),
            // None: the built-in transparent 1×1 GIF, invisible on the page.
            response_filename: None,
            // None: every valid path is accepted, up to `max_paths`.
            tracked_base_url: None,
            // None: the embedded SQLite store in the data directory.
            db: None,
            // Both None: days and windows follow UTC.
            utc_offset: None,
            timezone: None,
            // Nobody's `X-Forwarded-For` is believed: the peer is the visitor.
            trusted_proxies: Vec::new(),
            // A calendar day: a visitor counts once per page per day.
            dedup_window_hours: 24,
            // Bounds the registry and the store when random paths get through.
            max_paths: 100_000,
            // Bounds the visitor set at about 200 MB (see BENCHMARKS.md).
            max_visitors: 10_000_000,
            // A day, like the dedup window: a repeat within it would not count anyway.
            cache_max_age_seconds: 86_400,
            // Start-up and problems; `debug` is for investigating.
            log_level: "info".into(),
            // A tracked site answers a handful of new pages per second without
            // noticing; a flood of random paths gets 503s instead of reaching it.
            probe_rate_per_second: 5.0,
            // Lets a few new pages of a site update through back to back.
            probe_burst: 10,
            // A few at once, so one slow page does not hold up the others.
            probe_concurrency: 4,
            // A page published just after a rejected probe counts within minutes.
            probe_negative_ttl_seconds: 600,
            // Plenty for a counter; more wait in the kernel's backlog.
            max_connections: 4096,
            // Ample for real clients, short enough that slow heads cannot hold
            // connections (slowloris).
            header_read_timeout_seconds: 10,
            // Far more than a browser opens (6) or a small office behind one
            // NAT needs, and few enough that one slow client cannot hold the server.
            max_connections_per_address: 64,
            // A real client sends its head in one packet; under load, waiting
            // longer only helps slow clients hold connections.
            header_read_timeout_under_load_seconds: 2,
            // None: one site, `default`, from the top-level keys.
            sites: None,
            // None: the only site; required when there are several.
            default_site: None,
            // Crawlers, link previews and HTTP libraries are not readers.
            count_bots: false,
            // Nobody is ignored until the owner lists themselves.
            ignore_addresses: Vec::new(),
            // None: on for a site with a tracked_base_url (an origin to compare with).
            check_referer: None,
            // Only the tracked site's own pages embed its counter.
            also_accept_origins: Vec::new(),
            // A proxy asks on every view; more than one view per page every
            // 10 s is more likely a forged proxy user agent pumping a page.
            proxied_min_interval_seconds: 10,
            // None: no admin routes (they answer 404) and every site is read without a token.
            admin_token: None,
            // All None: the one site of a config without `sites:` is public, as before.
            public: None,
            public_badge: None,
            read_tokens: None,
            // None: raw calls are kept forever.
            retention: None,
            // Today's behaviour: each process keeps its own visitor set.
            dedup: RawDedup::Local,
            // Only `dedup: shared` needs one, and it must be the replicas' own.
            dedup_secret: None,
            // None: `/metrics` on the main listener.
            metrics_address: None,
            // None: links are off (`/go/` answers 400, minting is refused).
            link_secret: None,
            // Nothing rotated yet.
            previous_link_secrets: Vec::new(),
            // Signed only: the recipient can read the destination anyway.
            encrypt_links: false,
            // None: minted links are relative, `/go/<token>`.
            public_url: None,
            // Far more than an owner mints by hand; bounds the store's rows
            // and the in-memory set of known links per site.
            max_links: 10_000,
            // None: the one site of a config without `sites:` tells nobody.
            webhooks: None,
            // Round numbers an owner would celebrate, each a tenfold of the last.
            milestones: vec![100, 1_000, 10_000, 100_000, 1_000_000],
            // A busy link makes one event a minute, not one per click.
            link_event_interval_seconds: 60,
            // Quick enough for a blip; doubling to an hour keeps a dead receiver cheap.
            webhook_retry_seconds: 10.0,
            // None: no country dimension (Footfall never fetches a database).
            geoip_database: None,
            // Enough for every real browser, system and country, and the
            // referrers that matter; a flood of made-up ones adds to `Other`.
            max_dimension_values: 100,
            // A value seen once or twice could single a visitor out on a
            // public page (one visitor from a small country, one referrer).
            min_dimension_count: 3,
        }
    }
}

#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub(super) struct RawUtcOffset {
    #[serde(default)]
    pub(super) hours: i8,
    #[serde(default)]
    pub(super) minutes: i8,
}

impl RawConfig {
    /// Checks every key, in the order of the schema, and builds the typed
    /// [`Config`]; the first problem found is the error.
    pub(super) fn validate(self, data_dir: &Path, src: &Sources) -> Result<Config, ConfigError> {
        let socket_address = socket_address(&self.socket_address, src)?;
        let response = match &self.response_filename {
            Some(name) => load_response(data_dir, name).map_err(|m| src.error("response_filename", m))?,
            None => ResponseImage::transparent_pixel(),
        };
        let trusted_proxies = trusted_proxies(&self.trusted_proxies, src)?;
        check_counting_limits(self.dedup_window_hours, self.max_paths, self.max_visitors, src)?;
        check_log_level(&self.log_level).map_err(|m| src.error("log_level", m))?;
        let probe = self.probe_limits(src)?;
        let connections = self.connection_limits(src)?;
        at_least_one("proxied_min_interval_seconds", self.proxied_min_interval_seconds, src)?;
        let filters = FilterFallbacks::validate(
            self.count_bots,
            &self.ignore_addresses,
            self.check_referer,
            &self.also_accept_origins,
            src,
        )?;
        if let Some(token) = &self.admin_token {
            check_token("admin_token", token, src)?;
        }
        let retention = retention(self.retention.as_ref(), src)?;
        let (links, public_url) = validate_links(
            RawLinks {
                link_secret: self.link_secret.clone(),
                previous_link_secrets: self.previous_link_secrets.clone(),
                encrypt_links: self.encrypt_links,
                public_url: self.public_url.clone(),
                max_links: self.max_links,
            },
            src,
        )?;
        let dimensions = self.dimension_settings(data_dir, src)?;
        let access = RawAccess {
            public: self.public,
            public_badge: self.public_badge,
            read_tokens: self.read_tokens.clone(),
        };
        let notify = notify_config(
            &self.milestones,
            self.link_event_interval_seconds,
            self.webhook_retry_seconds,
            src,
        )?;
        let fallbacks = Fallbacks {
            webhooks: self.webhooks.clone(),
            access,
            tracked_base_url: self.tracked_base_url.as_deref(),
            timezone: self.timezone.as_deref(),
            utc_offset: self.utc_offset.as_ref(),
            max_paths: self.max_paths,
            probe,
            filters,
        };
        let dedup = dedup(self.dedup, self.dedup_secret.as_ref(), self.db.is_some(), src)?;
        let metrics_address = metrics_address(self.metrics_address.as_deref(), src)?;
        let (sites, default_site) = validate_sites(self.sites, self.default_site.as_deref(), fallbacks, src)?;
        // Last, as it takes `db` out of `self`; choosing a store cannot fail.
        let store = match self.db {
            Some(db) => StoreConfig::Postgres(db),
            None => StoreConfig::Sqlite {
                file: data_dir.join("footfall.sqlite3"),
            },
        };

        Ok(Config {
            config_file: None,
            socket_address,
            response,
            sites,
            default_site,
            store,
            trusted_proxies,
            dedup_window_hours: self.dedup_window_hours,
            max_visitors: self.max_visitors,
            cache_max_age_seconds: self.cache_max_age_seconds,
            log_level: self.log_level,
            connections,
            proxied_min_interval: Duration::from_secs(self.proxied_min_interval_seconds),
            admin_token: self.admin_token,
            retention,
            dedup,
            metrics_address,
            links,
            public_url,
            notify,
            dimensions,
        })
    }

    fn dimension_settings(&self, data_dir: &Path, src: &Sources) -> Result<DimensionSettings, ConfigError> {
        at_least_one("max_dimension_values", u64::from(self.max_dimension_values), src)?;
        at_least_one("min_dimension_count", self.min_dimension_count, src)?;
        let geoip = match &self.geoip_database {
            // Relative to the data directory, like response_filename.
            Some(file) => Some(Arc::new(
                GeoIp::open(&data_dir.join(file)).map_err(|m| src.error("geoip_database", m))?,
            )),
            None => None,
        };
        Ok(DimensionSettings {
            geoip,
            max_values: self.max_dimension_values,
            min_count: self.min_dimension_count,
        })
    }

    fn probe_limits(&self, src: &Sources) -> Result<ProbeLimits, ConfigError> {
        if !(self.probe_rate_per_second.is_finite() && self.probe_rate_per_second > 0.0) {
            return Err(src.error("probe_rate_per_second", "must be a positive number"));
        }
        at_least_one("probe_burst", u64::from(self.probe_burst), src)?;
        at_least_one("probe_concurrency", self.probe_concurrency as u64, src)?;
        Ok(ProbeLimits {
            rate_per_second: self.probe_rate_per_second,
            burst: self.probe_burst,
            concurrency: self.probe_concurrency,
            negative_ttl: Duration::from_secs(self.probe_negative_ttl_seconds),
        })
    }

    fn connection_limits(&self, src: &Sources) -> Result<ConnectionLimits, ConfigError> {
        at_least_one("max_connections", self.max_connections as u64, src)?;
        at_least_one("header_read_timeout_seconds", self.header_read_timeout_seconds, src)?;
        at_least_one(
            "max_connections_per_address",
            self.max_connections_per_address as u64,
            src,
        )?;
        at_least_one(
            "header_read_timeout_under_load_seconds",
            self.header_read_timeout_under_load_seconds,
            src,
        )?;
        let header_read_timeout = Duration::from_secs(self.header_read_timeout_seconds);
        Ok(ConnectionLimits {
            max_connections: self.max_connections,
            max_connections_per_address: self.max_connections_per_address,
            header_read_timeout,
            // Capped rather than refused: a short normal deadline (tests use 1 s)
            // must not make the default under-load one an error.
            header_read_timeout_under_load: Duration::from_secs(self.header_read_timeout_under_load_seconds)
                .min(header_read_timeout),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::{dir_with, env, load_err};

    #[test]
    fn an_empty_config_means_defaults_and_the_embedded_store() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::load(dir.path(), env(&[])).unwrap();
        assert_eq!(config.socket_address.to_string(), "127.0.0.1:8080");
        assert!(matches!(config.store, StoreConfig::Sqlite { .. }));
        assert_eq!(config.response.content_type, "image/gif");
        assert_eq!(config.dedup_window_hours, 24);
        assert_eq!(config.max_visitors, 10_000_000);
    }

    #[test]
    fn oxitraffic_style_keys_are_understood() {
        let dir = dir_with(
            "socket_address: 0.0.0.0:80\ntracked_base_url: https://example.com\nutc_offset:\n  hours: 2\n  minutes: 0\n\
             db:\n  host: db\n  port: 5433\n  username: u\n  password: p\n  database: d\n",
        );
        let config = Config::load(dir.path(), env(&[])).unwrap();
        assert_eq!(config.socket_address.port(), 80);
        assert_eq!(
            config.default_site().tracked_base_url.as_ref().unwrap().as_str(),
            "https://example.com/"
        );
        let StoreConfig::Postgres(db) = config.store else {
            panic!("db given")
        };
        assert_eq!((db.host.as_str(), db.port, db.password.expose()), ("db", 5433, "p"));
    }

    #[test]
    fn errors_name_the_key_and_the_file() {
        let e = load_err("socket_adress: 1\n", &[]);
        assert!(e.contains("config.yaml") && e.contains("socket_adress"), "{e}");
        let e = load_err("db:\n  username: u\n  database: d\n  port: high\n", &[]);
        assert!(e.contains("config.yaml") && e.contains("db.port"), "{e}");
        let e = load_err("socket_address: nowhere\n", &[]);
        assert!(e.contains("config.yaml: key `socket_address`"), "{e}");
        let e = load_err("tracked_base_url: ftp://x\n", &[]);
        assert!(e.contains("tracked_base_url"), "{e}");
        let e = load_err("response_filename: missing.png\n", &[]);
        assert!(e.contains("response_filename") && e.contains("missing.png"), "{e}");
        let e = load_err("trusted_proxies: [10.0.0.0/8, localhost]\n", &[]);
        assert!(e.contains("trusted_proxies[1]"), "{e}");
        let e = load_err("timezone: Nowhere/City\n", &[]);
        assert!(e.contains("timezone"), "{e}");
        let e = load_err("geoip_database: missing.mmdb\n", &[]);
        assert!(e.contains("key `geoip_database`") && e.contains("missing.mmdb"), "{e}");
        let e = load_err("max_dimension_values: 0\n", &[]);
        assert!(e.contains("max_dimension_values"), "{e}");
        let e = load_err("", &[("FOOTFALL_MIN_DIMENSION_COUNT", "0")]);
        assert!(e.contains("FOOTFALL_MIN_DIMENSION_COUNT"), "{e}");
    }

    #[test]
    fn dimensions_are_bounded_by_default_and_countries_need_a_local_file() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::load(dir.path(), env(&[])).unwrap();
        assert_eq!((config.dimensions.max_values, config.dimensions.min_count), (100, 3));
        assert!(config.dimensions.geoip.is_none());
        let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/geoip-test.mmdb");
        let yaml = format!("geoip_database: {}\nmax_dimension_values: 7\n", fixture.display());
        let config = Config::load(dir_with(&yaml).path(), env(&[])).unwrap();
        assert_eq!(config.dimensions.max_values, 7);
        assert!(config.dimensions.geoip.is_some());
    }
}
