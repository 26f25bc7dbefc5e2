//! The `FOOTFALL_*` environment overlay: each variable becomes a key of the
//! parsed `config.yaml` tree before it is deserialized, and `_FILE`
//! variables read their value from a file (container secrets).
//!
//! Owns the variable naming (`FOOTFALL_DB__PORT` → `db.port`) and records
//! which variable set which key, so errors can name it. Must not validate
//! values (the raw schema does) and must not put a variable's value in an
//! error, since it may be a secret (a `_FILE` variable's path is fine).

use std::collections::HashMap;

use serde_yaml::{Mapping, Value};

use super::{ConfigError, Sources};

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
    "default_site",
    "admin_token",
    "dedup_secret",
    "metrics_address",
    "link_secret",
    "public_url",
    "geoip_database",
    "db.host",
    "db.username",
    "db.password",
    "db.database",
];

/// Whether `key` takes text: one of [`TEXT_KEYS`], or a site's URL or zone.
fn is_text_key(key: &str) -> bool {
    TEXT_KEYS.contains(&key)
        || key
            .strip_prefix("sites.")
            .and_then(|rest| rest.split_once('.'))
            .is_some_and(|(_, site_key)| matches!(site_key, "tracked_base_url" | "timezone"))
}

/// Overlays the `FOOTFALL_*` variables of `env` onto `root`, in name order,
/// and records in `sources` which variable set each key.
pub(super) fn overlay_env(
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
        let parsed = if is_text_key(&key) {
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

#[cfg(test)]
mod tests {
    use crate::config::tests::{dir_with, env, load_err};
    use crate::config::{Config, StoreConfig};

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
    fn errors_name_the_variable_when_the_value_came_from_the_environment() {
        let e = load_err("", &[("FOOTFALL_MAX_PATHS", "many")]);
        assert!(e.starts_with("FOOTFALL_MAX_PATHS: key `max_paths`"), "{e}");
        let e = load_err("", &[("FOOTFALL_NO_SUCH_KEY", "1")]);
        assert!(e.contains("no_such_key"), "{e}");
        let e = load_err("", &[("FOOTFALL_DB__PASSWORD_FILE", "/nonexistent/secret")]);
        assert!(e.starts_with("FOOTFALL_DB__PASSWORD_FILE:"), "{e}");
    }
}
