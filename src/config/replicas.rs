//! The keys for running several Footfall processes on one database:
//! `dedup` (`local` or `shared`), the `dedup_secret` every replica of a
//! shared deployment holds, and `metrics_address`.
//!
//! Owns the rules: shared dedup needs PostgreSQL and a secret of at least
//! [`MIN_SECRET_BYTES`] bytes; a secret without shared dedup is refused as a
//! mistake. Must not read the environment or files, and no error ever
//! contains the secret.

use std::net::SocketAddr;

use serde::Deserialize;

use super::{ConfigError, Secret, Sources};

/// A shorter secret could be guessed; with it and a window's nonce, the
/// window's digests could be tested against candidate addresses.
pub const MIN_SECRET_BYTES: usize = 32;

/// How replicas agree on "first in this window".
#[derive(Debug, Clone)]
pub enum Dedup {
    /// Each process keeps its own visitor set (one Footfall per database).
    Local,
    /// Replicas on one PostgreSQL agree through per-window digests in it.
    Shared { secret: Secret },
}

/// The raw value of `dedup`.
#[derive(Deserialize, Clone, Copy, Default, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(super) enum RawDedup {
    #[default]
    Local,
    Shared,
}

/// Validates `dedup` with `dedup_secret`; `postgres` says whether `db` is set.
pub(super) fn dedup(
    mode: RawDedup,
    secret: Option<&Secret>,
    postgres: bool,
    src: &Sources,
) -> Result<Dedup, ConfigError> {
    match (mode, secret) {
        (RawDedup::Local, None) => Ok(Dedup::Local),
        (RawDedup::Local, Some(_)) => Err(src.error(
            "dedup_secret",
            "is set but `dedup` is `local`; set `dedup: shared` or remove the secret",
        )),
        (RawDedup::Shared, _) if !postgres => Err(src.error(
            "dedup",
            "`shared` needs PostgreSQL (`db`): the embedded SQLite store serves one process",
        )),
        (RawDedup::Shared, None) => Err(src.error(
            "dedup_secret",
            "is required with `dedup: shared` (the same on every replica; FOOTFALL_DEDUP_SECRET_FILE)",
        )),
        (RawDedup::Shared, Some(secret)) if secret.expose().len() < MIN_SECRET_BYTES => Err(src.error(
            "dedup_secret",
            format!("must be at least {MIN_SECRET_BYTES} bytes (make one with `head -c 32 /dev/urandom | base64`)"),
        )),
        (RawDedup::Shared, Some(secret)) => Ok(Dedup::Shared { secret: secret.clone() }),
    }
}

/// Validates `metrics_address`: `None` serves `/metrics` on the main listener.
pub(super) fn metrics_address(text: Option<&str>, src: &Sources) -> Result<Option<SocketAddr>, ConfigError> {
    text.map(|text| {
        text.parse().map_err(|_| {
            src.error(
                "metrics_address",
                format!("{text:?} is not an address like 127.0.0.1:9090"),
            )
        })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{dir_with, load_err};
    use crate::config::{Config, Dedup};

    const DB: &str = "db:\n  username: u\n  database: d\n";

    #[test]
    fn shared_dedup_needs_postgresql_and_a_long_secret() {
        let secret = "a".repeat(32);
        let e = load_err(&format!("dedup: shared\ndedup_secret: {secret}\n"), &[]);
        assert!(e.contains("key `dedup`") && e.contains("PostgreSQL"), "{e}");
        let e = load_err(&format!("{DB}dedup: shared\n"), &[]);
        assert!(e.contains("key `dedup_secret`"), "{e}");
        let e = load_err(&format!("{DB}dedup: shared\ndedup_secret: short-secret-value\n"), &[]);
        assert!(e.contains("dedup_secret") && !e.contains("short-secret-value"), "{e}");
        let e = load_err(&format!("dedup_secret: {secret}\n"), &[]);
        assert!(e.contains("dedup_secret") && e.contains("local"), "{e}");
        let e = load_err("dedup: everywhere\n", &[]);
        assert!(e.contains("dedup"), "{e}");
        let dir = dir_with(&format!("{DB}dedup: shared\ndedup_secret: {secret}\n"));
        let config = Config::load(dir.path(), Vec::new()).unwrap();
        assert!(matches!(config.dedup, Dedup::Shared { .. }));
        assert!(!format!("{config:?}").contains(&secret));
    }

    #[test]
    fn the_secret_may_come_from_a_file() {
        let dir = dir_with(DB);
        let file = dir.path().join("secret");
        std::fs::write(&file, "s".repeat(40)).unwrap();
        let env = vec![
            ("FOOTFALL_DEDUP".to_owned(), "shared".to_owned()),
            ("FOOTFALL_DEDUP_SECRET_FILE".to_owned(), file.display().to_string()),
        ];
        let config = Config::load(dir.path(), env).unwrap();
        let Dedup::Shared { secret } = config.dedup else {
            panic!("shared dedup")
        };
        assert_eq!(secret.expose(), "s".repeat(40));
    }

    #[test]
    fn the_metrics_address_is_checked() {
        let e = load_err("metrics_address: here\n", &[]);
        assert!(e.contains("key `metrics_address`"), "{e}");
        let dir = dir_with("metrics_address: 127.0.0.1:9091\n");
        let config = Config::load(dir.path(), Vec::new()).unwrap();
        assert_eq!(config.metrics_address.map(|a| a.port()), Some(9091));
        assert!(matches!(config.dedup, Dedup::Local));
    }
}
