//! Configuration: `DIR/config.yaml` overlaid with `FOOTFALL_*` environment
//! variables, parsed into a typed [`Config`] and validated once at start.
//!
//! This module owns the typed result and the loading order: read the file,
//! overlay the environment (`env`), deserialize the raw schema and validate it
//! into [`Config`] (`raw`), loading the response image on the way (`image`).
//!
//! Key names match OxiTraffic's `config.yaml` where they overlap. Every error
//! names the key and where it came from (the file or the variable); this
//! module never logs, and never prints a secret.

mod env;
mod filters;
mod image;
mod links;
mod notify;
mod owner;
mod raw;
mod replicas;
mod sites;
mod values;

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use crate::count::client_ip::TrustedProxies;
pub use image::ResponseImage;
pub use links::LinkConfig;
pub use notify::{NotifyConfig, Webhook};
pub use owner::{Retention, SiteAccess, MIN_TOKEN_CHARS};
use raw::RawConfig;
pub use replicas::Dedup;
pub use sites::{check_slug, SiteConfig, DEFAULT_SLUG};

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The `config.yaml` that was read, or `None` when there was none (all
    /// keys then come from defaults and the environment).
    pub config_file: Option<PathBuf>,
    pub socket_address: SocketAddr,
    pub response: ResponseImage,
    pub store: StoreConfig,
    /// Every site counted, sorted by slug; at least one.
    pub sites: Vec<SiteConfig>,
    /// The index in `sites` of what the unprefixed routes mean.
    pub default_site: usize,
    pub trusted_proxies: TrustedProxies,
    pub dedup_window_hours: u32,
    pub max_visitors: usize,
    pub cache_max_age_seconds: u32,
    /// A level or a list of directives that each name a level; validated, so
    /// `EnvFilter` accepts it and it never silences everything by accident.
    pub log_level: String,
    pub connections: ConnectionLimits,
    /// At most one proxied view per page per this long.
    pub proxied_min_interval: Duration,
    /// `None`: the admin routes answer 404. At least [`MIN_TOKEN_CHARS`] characters.
    pub admin_token: Option<Secret>,
    pub retention: Retention,
    /// How replicas on one database agree on a visitor's first hit.
    pub dedup: Dedup,
    /// Where `/metrics` is served; `None`: on the main listener.
    pub metrics_address: Option<SocketAddr>,
    /// Signed `/go/` links; `None` when `link_secret` is unset.
    pub links: Option<LinkConfig>,
    /// Footfall's own public URL, no trailing slash: minted links and the
    /// feed's own link are absolute under it.
    pub public_url: Option<String>,
    /// Milestones, link event interval and delivery retries (`webhooks` are per site).
    pub notify: NotifyConfig,
    /// The dimension aggregates' keys.
    pub dimensions: DimensionSettings,
}

/// The dimension aggregates' keys (global: one bound for the store, one
/// rule for what public pages show).
#[derive(Debug, Clone)]
pub struct DimensionSettings {
    /// `geoip_database`, read into memory at start; `None`: no countries.
    pub geoip: Option<std::sync::Arc<crate::count::traits::country::GeoIp>>,
    /// `max_dimension_values`: values kept per page, dimension and day besides `Other`.
    pub max_values: u32,
    /// `min_dimension_count`: public reads add values seen fewer times in the range to `Other`.
    pub min_count: u64,
}

#[derive(Debug, Clone)]
pub enum StoreConfig {
    Sqlite { file: PathBuf },
    Postgres(DbConfig),
}

/// The `db` section, deserialized as is: it needs no further validation.
/// `username` and `database` are required, so its defaults are per field
/// (a struct-wide `#[serde(default)]` would make every field optional).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbConfig {
    #[serde(default = "DbConfig::default_host")]
    pub host: String,
    #[serde(default = "DbConfig::default_port")]
    pub port: u16,
    pub username: String,
    /// Empty when the server trusts the connection without one.
    #[serde(default)]
    pub password: Secret,
    pub database: String,
}

impl DbConfig {
    /// Like psql: a database on the same machine unless told otherwise.
    fn default_host() -> String {
        "localhost".into()
    }

    /// PostgreSQL's standard port.
    fn default_port() -> u16 {
        5432
    }
}

/// A value that must not appear in logs or error messages.
#[derive(Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[derive(Debug, Clone, Copy)]
pub struct ProbeLimits {
    /// Sustained probes per second to the tracked site.
    pub rate_per_second: f64,
    /// Probes allowed back to back before the rate applies.
    pub burst: u32,
    /// Probes in flight at once.
    pub concurrency: usize,
    /// How long a path the tracked site rejected is not probed again.
    pub negative_ttl: Duration,
}

#[derive(Debug, Clone, Copy)]
pub struct ConnectionLimits {
    /// Open connections at once. At the cap, the connection that has waited
    /// longest for a request head is closed to make room.
    pub max_connections: usize,
    /// Open connections from one peer address (IPv6: one /64); more are
    /// closed as soon as they are accepted. `trusted_proxies` are exempt.
    pub max_connections_per_address: usize,
    /// Time to send a request head, counted from the connection's start or
    /// the end of the previous response: also the idle keep-alive timeout.
    pub header_read_timeout: Duration,
    /// The same, once open connections reach three quarters of
    /// `max_connections` (until back down to half); never longer than
    /// `header_read_timeout`.
    pub header_read_timeout_under_load: Duration,
}

/// A configuration problem; its `Display` is the one line printed before exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{source_name}: {message}")]
pub struct ConfigError {
    source_name: String,
    message: String,
}

impl ConfigError {
    fn new(source_name: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            source_name: source_name.into(),
            message: message.into(),
        }
    }
}

/// Where each key's value came from, to name it in errors.
struct Sources {
    file: String,
    from_env: HashMap<String, String>,
}

impl Sources {
    fn of(&self, key: &str) -> &str {
        // An error inside `db` may come from `db.port` or from a whole `db` map.
        let mut probe = key;
        loop {
            if let Some(var) = self.from_env.get(probe) {
                return var;
            }
            match probe.rfind('.') {
                Some(dot) => probe = &probe[..dot],
                None => return &self.file,
            }
        }
    }

    fn error(&self, key: &str, message: impl fmt::Display) -> ConfigError {
        ConfigError::new(self.of(key), format!("key `{key}`: {message}"))
    }
}

impl Config {
    /// The site the unprefixed routes mean.
    pub fn default_site(&self) -> &SiteConfig {
        &self.sites[self.default_site.min(self.sites.len() - 1)]
    }

    /// Loads `data_dir/config.yaml` (optional) and overlays the given
    /// environment (`FOOTFALL_<KEY>`, nested keys joined by `__`,
    /// `FOOTFALL_<KEY>_FILE` to read a value from a file).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the key and the file or variable.
    pub fn load(data_dir: &Path, env: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let file = data_dir.join("config.yaml");
        let file_name = file.display().to_string();
        let mut found = true;
        let mut root = match std::fs::read_to_string(&file) {
            Ok(text) => match serde_yaml::from_str::<Value>(&text) {
                Ok(Value::Mapping(map)) => map,
                Ok(Value::Null) => Mapping::new(),
                Ok(_) => {
                    return Err(ConfigError::new(
                        &file_name,
                        "expected a mapping of keys at the top level",
                    ))
                }
                Err(e) => return Err(ConfigError::new(&file_name, format!("not valid YAML: {e}"))),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                found = false;
                Mapping::new()
            }
            Err(e) => return Err(ConfigError::new(&file_name, format!("cannot read: {e}"))),
        };
        let mut sources = Sources {
            file: file_name,
            from_env: HashMap::new(),
        };
        env::overlay_env(&mut root, env, &mut sources)?;

        let raw: RawConfig = serde_path_to_error::deserialize(Value::Mapping(root)).map_err(|e| {
            let key = e.path().to_string();
            if key == "." {
                ConfigError::new(&sources.file, e.inner().to_string())
            } else {
                sources.error(&key, e.inner())
            }
        })?;
        let mut config = raw.validate(data_dir, &sources)?;
        config.config_file = found.then_some(file);
        Ok(config)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn dir_with(yaml: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.yaml"), yaml).unwrap();
        dir
    }

    pub(super) fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    pub(crate) fn load_err(yaml: &str, vars: &[(&str, &str)]) -> String {
        let dir = dir_with(yaml);
        match Config::load(dir.path(), env(vars)) {
            Ok(_) => panic!("config should be rejected"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let dir = dir_with("db:\n  username: u\n  database: d\n  password: hunter2\n");
        let config = Config::load(dir.path(), env(&[])).unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
