//! Configuration: `DIR/config.yaml` overlaid with `FOOTFALL_*` environment
//! variables, parsed into a typed [`Config`] and validated once at start.
//!
//! Key names match OxiTraffic's `config.yaml` where they overlap. Every error
//! names the key and where it came from (the file or the variable); this
//! module never logs, and never prints a secret.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use ipnet::IpNet;
use serde::Deserialize;
use serde_yaml::{Mapping, Value};

use crate::count::client_ip::TrustedProxies;
use crate::zone::Zone;

const ENV_PREFIX: &str = "FOOTFALL_";

/// Variables with the prefix that are not config keys.
const NOT_KEYS: &[&str] = &["FOOTFALL_DATA_DIR"];

/// Keys whose environment values are taken as text, never as YAML, so a
/// password like `0123` or `yes` stays a string.
const TEXT_KEYS: &[&str] = &[
    "socket_address",
    "response_filename",
    "tracked_base_url",
    "timezone",
    "log_level",
    "db.host",
    "db.username",
    "db.password",
    "db.database",
];

/// The validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub socket_address: SocketAddr,
    pub response: ResponseImage,
    pub tracked_base_url: Option<reqwest::Url>,
    pub store: StoreConfig,
    pub zone: Zone,
    pub trusted_proxies: TrustedProxies,
    pub dedup_window_hours: u32,
    pub max_paths: usize,
    pub max_visitors: usize,
    pub cache_max_age_seconds: u32,
    pub log_level: String,
    pub probe: ProbeLimits,
    pub connections: ConnectionLimits,
}

/// The image `/call` answers with.
#[derive(Debug, Clone)]
pub struct ResponseImage {
    pub bytes: Bytes,
    pub content_type: &'static str,
}

#[derive(Debug, Clone)]
pub enum StoreConfig {
    Sqlite { file: PathBuf },
    Postgres(DbConfig),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DbConfig {
    #[serde(default = "default_db_host")]
    pub host: String,
    #[serde(default = "default_db_port")]
    pub port: u16,
    pub username: String,
    #[serde(default)]
    pub password: Secret,
    pub database: String,
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

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default = "default_socket_address")]
    socket_address: String,
    response_filename: Option<String>,
    tracked_base_url: Option<String>,
    db: Option<DbConfig>,
    utc_offset: Option<RawUtcOffset>,
    timezone: Option<String>,
    #[serde(default)]
    trusted_proxies: Vec<String>,
    #[serde(default = "default_dedup_window_hours")]
    dedup_window_hours: u32,
    #[serde(default = "default_max_paths")]
    max_paths: usize,
    #[serde(default = "default_max_visitors")]
    max_visitors: usize,
    #[serde(default = "default_cache_max_age")]
    cache_max_age_seconds: u32,
    #[serde(default = "default_log_level")]
    log_level: String,
    #[serde(default = "default_probe_rate")]
    probe_rate_per_second: f64,
    #[serde(default = "default_probe_burst")]
    probe_burst: u32,
    #[serde(default = "default_probe_concurrency")]
    probe_concurrency: usize,
    #[serde(default = "default_probe_negative_ttl")]
    probe_negative_ttl_seconds: u64,
    #[serde(default = "default_max_connections")]
    max_connections: usize,
    #[serde(default = "default_header_read_timeout")]
    header_read_timeout_seconds: u64,
    #[serde(default = "default_max_connections_per_address")]
    max_connections_per_address: usize,
    #[serde(default = "default_header_read_timeout_under_load")]
    header_read_timeout_under_load_seconds: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawUtcOffset {
    #[serde(default)]
    hours: i8,
    #[serde(default)]
    minutes: i8,
}

fn default_socket_address() -> String {
    "127.0.0.1:8080".into()
}
fn default_db_host() -> String {
    "localhost".into()
}
fn default_db_port() -> u16 {
    5432
}
fn default_dedup_window_hours() -> u32 {
    24
}
fn default_max_paths() -> usize {
    100_000
}
fn default_max_visitors() -> usize {
    10_000_000
}
fn default_cache_max_age() -> u32 {
    86_400
}
fn default_log_level() -> String {
    "info".into()
}
// A tracked site answers a handful of new pages per second without noticing;
// a flood of random paths gets 503s instead of reaching it.
fn default_probe_rate() -> f64 {
    5.0
}
fn default_probe_burst() -> u32 {
    10
}
fn default_probe_concurrency() -> usize {
    4
}
fn default_probe_negative_ttl() -> u64 {
    600
}
fn default_max_connections() -> usize {
    4096
}
fn default_header_read_timeout() -> u64 {
    10
}
// Far more than a browser opens (6) or a small office behind one NAT needs,
// and few enough that one slow client cannot hold the server.
fn default_max_connections_per_address() -> usize {
    64
}
// A real client sends its head in one packet; under load, waiting longer only
// helps slow clients hold connections.
fn default_header_read_timeout_under_load() -> u64 {
    2
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
    /// Loads `data_dir/config.yaml` (optional) and overlays the given
    /// environment (`FOOTFALL_<KEY>`, nested keys joined by `__`,
    /// `FOOTFALL_<KEY>_FILE` to read a value from a file).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the key and the file or variable.
    pub fn load(data_dir: &Path, env: impl IntoIterator<Item = (String, String)>) -> Result<Self, ConfigError> {
        let file = data_dir.join("config.yaml");
        let file_name = file.display().to_string();
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
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Mapping::new(),
            Err(e) => return Err(ConfigError::new(&file_name, format!("cannot read: {e}"))),
        };
        let mut sources = Sources {
            file: file_name,
            from_env: HashMap::new(),
        };
        overlay_env(&mut root, env, &mut sources)?;

        let raw: RawConfig = serde_path_to_error::deserialize(Value::Mapping(root)).map_err(|e| {
            let key = e.path().to_string();
            if key == "." {
                ConfigError::new(&sources.file, e.inner().to_string())
            } else {
                sources.error(&key, e.inner())
            }
        })?;
        raw.validate(data_dir, &sources)
    }
}

fn overlay_env(
    root: &mut Mapping,
    env: impl IntoIterator<Item = (String, String)>,
    sources: &mut Sources,
) -> Result<(), ConfigError> {
    let mut direct = HashMap::new();
    let mut vars: Vec<(String, String)> = env
        .into_iter()
        .filter(|(name, _)| name.starts_with(ENV_PREFIX) && !NOT_KEYS.contains(&name.as_str()))
        .collect();
    vars.sort();
    for (name, value) in vars {
        let (key_part, value) = match name[ENV_PREFIX.len()..].strip_suffix("_FILE") {
            Some(key_part) => {
                let text = std::fs::read_to_string(&value)
                    .map_err(|e| ConfigError::new(&name, format!("cannot read {value}: {e}")))?;
                // Secret files usually end with a newline that is not part of the value.
                (key_part, text.trim_end_matches(['\n', '\r']).to_owned())
            }
            None => (&name[ENV_PREFIX.len()..], value),
        };
        let key = key_part.to_ascii_lowercase().replace("__", ".");
        if let Some(other) = direct.insert(key.clone(), name.clone()) {
            return Err(ConfigError::new(
                &name,
                format!("key `{key}` is also set by {other}; set only one"),
            ));
        }
        let parsed = if TEXT_KEYS.contains(&key.as_str()) {
            Value::String(value)
        } else {
            serde_yaml::from_str(&value)
                .map_err(|e| ConfigError::new(&name, format!("key `{key}`: not a valid value: {e}")))?
        };
        insert_nested(root, &key, parsed).map_err(|m| ConfigError::new(&name, m))?;
        sources.from_env.insert(key, name);
    }
    Ok(())
}

fn insert_nested(root: &mut Mapping, key: &str, value: Value) -> Result<(), String> {
    let mut parts = key.split('.').peekable();
    let mut map = root;
    while let Some(part) = parts.next() {
        let part_key = Value::String(part.to_owned());
        if parts.peek().is_none() {
            map.insert(part_key, value);
            return Ok(());
        }
        let entry = map.entry(part_key).or_insert_with(|| Value::Mapping(Mapping::new()));
        map = match entry {
            Value::Mapping(m) => m,
            _ => return Err(format!("key `{key}`: `{part}` is not a mapping")),
        };
    }
    Err("empty key".into())
}

impl RawConfig {
    fn validate(self, data_dir: &Path, src: &Sources) -> Result<Config, ConfigError> {
        let socket_address = self.socket_address.parse().map_err(|_| {
            src.error(
                "socket_address",
                format!("{:?} is not an address like 127.0.0.1:8080", self.socket_address),
            )
        })?;

        let response = match &self.response_filename {
            Some(name) => load_response(data_dir, name).map_err(|m| src.error("response_filename", m))?,
            None => ResponseImage {
                bytes: Bytes::from_static(TRANSPARENT_GIF),
                content_type: "image/gif",
            },
        };

        let tracked_base_url = self
            .tracked_base_url
            .as_deref()
            .map(|url| parse_base_url(url).map_err(|m| src.error("tracked_base_url", m)))
            .transpose()?;

        let store = match self.db {
            Some(db) => StoreConfig::Postgres(db),
            None => StoreConfig::Sqlite {
                file: data_dir.join("footfall.sqlite3"),
            },
        };

        let zone = match (&self.timezone, &self.utc_offset) {
            (Some(_), Some(_)) => {
                return Err(src.error("timezone", "set either `timezone` or `utc_offset`, not both"));
            }
            (Some(name), None) => Zone::named(name).map_err(|e| src.error("timezone", e))?,
            (None, Some(o)) => Zone::fixed(o.hours, o.minutes).map_err(|e| src.error("utc_offset", e))?,
            (None, None) => Zone::utc(),
        };

        let trusted_proxies = self
            .trusted_proxies
            .iter()
            .enumerate()
            .map(|(i, entry)| {
                parse_net(entry).ok_or_else(|| {
                    src.error(
                        &format!("trusted_proxies[{i}]"),
                        format!("{entry:?} is not an IP address or CIDR"),
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;

        if self.dedup_window_hours == 0 || self.dedup_window_hours > 24 * 366 {
            return Err(src.error("dedup_window_hours", "must be between 1 and 8784 (a year)"));
        }
        if self.max_paths == 0 {
            return Err(src.error("max_paths", "must be at least 1"));
        }
        if self.max_visitors == 0 {
            return Err(src.error("max_visitors", "must be at least 1"));
        }
        if tracing_subscriber::EnvFilter::try_new(&self.log_level).is_err() {
            return Err(src.error(
                "log_level",
                format!("{:?} is not a level like info or debug", self.log_level),
            ));
        }
        if !(self.probe_rate_per_second.is_finite() && self.probe_rate_per_second > 0.0) {
            return Err(src.error("probe_rate_per_second", "must be a positive number"));
        }
        for (key, value) in [
            ("probe_burst", self.probe_burst as u64),
            ("probe_concurrency", self.probe_concurrency as u64),
            ("max_connections", self.max_connections as u64),
            ("header_read_timeout_seconds", self.header_read_timeout_seconds),
            ("max_connections_per_address", self.max_connections_per_address as u64),
            (
                "header_read_timeout_under_load_seconds",
                self.header_read_timeout_under_load_seconds,
            ),
        ] {
            if value == 0 {
                return Err(src.error(key, "must be at least 1"));
            }
        }

        Ok(Config {
            data_dir: data_dir.to_owned(),
            socket_address,
            response,
            tracked_base_url,
            store,
            zone,
            trusted_proxies: TrustedProxies::new(trusted_proxies),
            dedup_window_hours: self.dedup_window_hours,
            max_paths: self.max_paths,
            max_visitors: self.max_visitors,
            cache_max_age_seconds: self.cache_max_age_seconds,
            log_level: self.log_level,
            probe: ProbeLimits {
                rate_per_second: self.probe_rate_per_second,
                burst: self.probe_burst,
                concurrency: self.probe_concurrency,
                negative_ttl: Duration::from_secs(self.probe_negative_ttl_seconds),
            },
            connections: ConnectionLimits {
                max_connections: self.max_connections,
                max_connections_per_address: self.max_connections_per_address,
                header_read_timeout: Duration::from_secs(self.header_read_timeout_seconds),
                header_read_timeout_under_load: Duration::from_secs(self.header_read_timeout_under_load_seconds),
            },
        })
    }
}

/// The smallest valid GIF: one transparent pixel.
pub const TRANSPARENT_GIF: &[u8] = &[
    0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
    0x21, 0xf9, 0x04, 0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x02,
    0x02, 0x44, 0x01, 0x00, 0x3b,
];

fn load_response(data_dir: &Path, name: &str) -> Result<ResponseImage, String> {
    let content_type = content_type_for(name)
        .ok_or_else(|| format!("{name:?} has no image extension (svg, png, gif, webp, ico, jpg, jpeg)"))?;
    let file = data_dir.join(name);
    let bytes = std::fs::read(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    Ok(ResponseImage {
        bytes: Bytes::from(bytes),
        content_type,
    })
}

pub fn content_type_for(file_name: &str) -> Option<&'static str> {
    let ext = Path::new(file_name).extension()?.to_str()?.to_ascii_lowercase();
    Some(match ext.as_str() {
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "ico" => "image/x-icon",
        "jpg" | "jpeg" => "image/jpeg",
        _ => return None,
    })
}

fn parse_base_url(text: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err(format!("{text:?} must be an http or https URL with a host"));
    }
    if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() || url.password().is_some() {
        return Err(format!("{text:?} must not have a query, fragment or credentials"));
    }
    Ok(url)
}

fn parse_net(entry: &str) -> Option<IpNet> {
    let entry = entry.trim();
    entry
        .parse::<IpNet>()
        .ok()
        .or_else(|| entry.parse::<IpAddr>().ok().map(IpNet::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir_with(yaml: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.yaml"), yaml).unwrap();
        dir
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn load_err(yaml: &str, vars: &[(&str, &str)]) -> String {
        let dir = dir_with(yaml);
        match Config::load(dir.path(), env(vars)) {
            Ok(_) => panic!("config should be rejected"),
            Err(e) => e.to_string(),
        }
    }

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
        assert_eq!(config.tracked_base_url.unwrap().as_str(), "https://example.com/");
        let StoreConfig::Postgres(db) = config.store else {
            panic!("db given")
        };
        assert_eq!((db.host.as_str(), db.port, db.password.expose()), ("db", 5433, "p"));
    }

    #[test]
    fn environment_overrides_the_file_and_nests_with_double_underscores() {
        let dir = dir_with("socket_address: 127.0.0.1:1\ndb:\n  username: u\n  database: d\n  password: file\n");
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "0123\n").unwrap();
        let config = Config::load(
            dir.path(),
            env(&[
                ("FOOTFALL_SOCKET_ADDRESS", "127.0.0.1:2"),
                ("FOOTFALL_DB__PASSWORD_FILE", secret.to_str().unwrap()),
                ("FOOTFALL_DB__PORT", "6000"),
                ("FOOTFALL_TRUSTED_PROXIES", "[127.0.0.1, 10.0.0.0/8]"),
                ("FOOTFALL_DATA_DIR", "/ignored"),
            ]),
        )
        .unwrap();
        assert_eq!(config.socket_address.port(), 2);
        let StoreConfig::Postgres(db) = config.store else {
            panic!("db given")
        };
        assert_eq!((db.port, db.password.expose()), (6000, "0123"));
        assert!(!config.trusted_proxies.is_empty());
    }

    #[test]
    fn a_config_of_only_environment_variables_works() {
        let dir = tempfile::tempdir().unwrap();
        let config = Config::load(
            dir.path(),
            env(&[
                ("FOOTFALL_DB__USERNAME", "u"),
                ("FOOTFALL_DB__DATABASE", "d"),
                ("FOOTFALL_DB__HOST", "postgres"),
            ]),
        )
        .unwrap();
        assert!(matches!(config.store, StoreConfig::Postgres(_)));
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
    }

    #[test]
    fn errors_name_the_variable_when_the_value_came_from_the_environment() {
        let e = load_err("", &[("FOOTFALL_MAX_PATHS", "many")]);
        assert!(e.starts_with("FOOTFALL_MAX_PATHS: key `max_paths`"), "{e}");
        let e = load_err("", &[("FOOTFALL_NO_SUCH_KEY", "1")]);
        assert!(e.contains("no_such_key"), "{e}");
        let e = load_err("", &[("FOOTFALL_DB__PASSWORD_FILE", "/nonexistent/secret")]);
        assert!(e.starts_with("FOOTFALL_DB__PASSWORD_FILE:"), "{e}");
    }

    #[test]
    fn secrets_do_not_show_in_debug_output() {
        let dir = dir_with("db:\n  username: u\n  database: d\n  password: hunter2\n");
        let config = Config::load(dir.path(), env(&[])).unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
    }

    #[test]
    fn content_types_follow_the_extension() {
        assert_eq!(content_type_for("a.SVG"), Some("image/svg+xml"));
        assert_eq!(content_type_for("a.jpeg"), Some("image/jpeg"));
        assert_eq!(content_type_for("a.txt"), None);
    }
}
