//! Parsing and checking single config values: addresses, networks, URLs,
//! zones, log levels and limits. Every error goes through
//! [`Sources::error`] so it names the key and where its value came from.
//! Pure: no files, no environment.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

use super::raw::RawUtcOffset;
use super::{ConfigError, Sources};
use crate::count::client_ip::TrustedProxies;
use crate::zone::Zone;

/// What `log_level` may name, alone or after `target=` in a directive.
const LOG_LEVELS: [&str; 6] = ["trace", "debug", "info", "warn", "error", "off"];

pub(super) fn at_least_one(key: &str, value: u64, src: &Sources) -> Result<(), ConfigError> {
    if value == 0 {
        return Err(src.error(key, "must be at least 1"));
    }
    Ok(())
}

pub(super) fn socket_address(text: &str, src: &Sources) -> Result<SocketAddr, ConfigError> {
    text.parse().map_err(|_| {
        src.error(
            "socket_address",
            format!("{text:?} is not an address like 127.0.0.1:8080"),
        )
    })
}

/// The zone of `timezone` or `utc_offset` (keys under `prefix`, e.g. `sites.blog.`).
pub(super) fn zone(
    timezone: Option<&str>,
    utc_offset: Option<&RawUtcOffset>,
    prefix: &str,
    src: &Sources,
) -> Result<Zone, ConfigError> {
    let key = |name: &str| format!("{prefix}{name}");
    match (timezone, utc_offset) {
        (Some(_), Some(_)) => Err(src.error(&key("timezone"), "set either `timezone` or `utc_offset`, not both")),
        (Some(name), None) => Zone::named(name).map_err(|e| src.error(&key("timezone"), e)),
        (None, Some(o)) => Zone::fixed(o.hours, o.minutes).map_err(|e| src.error(&key("utc_offset"), e)),
        (None, None) => Ok(Zone::utc()),
    }
}

pub(super) fn trusted_proxies(entries: &[String], src: &Sources) -> Result<TrustedProxies, ConfigError> {
    let nets = entries
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
    Ok(TrustedProxies::new(nets))
}

/// The limits of counting: the visitor window and the two caps on memory.
pub(super) fn check_counting_limits(
    dedup_window_hours: u32,
    max_paths: usize,
    max_visitors: usize,
    src: &Sources,
) -> Result<(), ConfigError> {
    if dedup_window_hours == 0 || dedup_window_hours > 24 * 366 {
        return Err(src.error("dedup_window_hours", "must be between 1 and 8784 (a year)"));
    }
    at_least_one("max_paths", max_paths as u64, src)?;
    at_least_one("max_visitors", max_visitors as u64, src)
}

/// Accepts a level (`info`, any case) or a list of `EnvFilter` directives
/// that each name a level (`footfall=debug,hyper=warn`). `EnvFilter` alone
/// would take `verbose` as a target name and start a server that logs
/// nothing, so every directive must end in one of [`LOG_LEVELS`].
pub(super) fn check_log_level(value: &str) -> Result<(), String> {
    let is_level = |text: &str| LOG_LEVELS.iter().any(|level| level.eq_ignore_ascii_case(text));
    let every_directive_has_a_level = value.split(',').all(|directive| match directive.rsplit_once('=') {
        Some((target, level)) => !target.is_empty() && is_level(level),
        None => is_level(directive),
    });
    if every_directive_has_a_level && tracing_subscriber::EnvFilter::try_new(value).is_ok() {
        return Ok(());
    }
    Err(format!(
        "{value:?} is not a level ({}) or a list of directives that each name one, like footfall=debug,hyper=warn",
        LOG_LEVELS.join(", ")
    ))
}

/// A tracked site's base URL. Errors never echo the value: it may carry a
/// password (`https://user:secret@host`), and errors are printed.
pub(super) fn parse_base_url(text: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(text).map_err(|e| format!("not a URL: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() {
        return Err("must be an http or https URL with a host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not carry credentials (user:password@)".into());
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err("must not have a query or fragment".into());
    }
    Ok(url)
}

pub(super) fn parse_net(entry: &str) -> Option<IpNet> {
    let entry = entry.trim();
    entry
        .parse::<IpNet>()
        .ok()
        .or_else(|| entry.parse::<IpAddr>().ok().map(IpNet::from))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tests::load_err;

    #[test]
    fn log_levels_and_directive_lists_with_levels_are_accepted() {
        for ok in [
            "info",
            "INFO",
            "Warn",
            "off",
            "trace",
            "footfall=debug",
            "footfall=debug,hyper=warn",
            "warn,footfall=TRACE",
            "footfall::http=info",
        ] {
            assert_eq!(check_log_level(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn a_log_level_that_names_no_level_is_rejected() {
        for bad in [
            "verbose",
            "inf",
            "",
            "footfall",
            "footfall=",
            "=debug",
            "footfall=verbose",
            "info,",
            "footfall=debug,hyper",
            "3",
            "footfall[span]",
        ] {
            assert!(check_log_level(bad).is_err(), "{bad:?} was accepted");
        }
    }

    #[test]
    fn an_unknown_log_level_names_the_key_and_the_levels() {
        let e = load_err("log_level: verbose\n", &[]);
        assert!(
            e.contains(
                "config.yaml: key `log_level`: \"verbose\" is not a level (trace, debug, info, warn, error, off)"
            ),
            "{e}"
        );
        let e = load_err("", &[("FOOTFALL_LOG_LEVEL", "inf")]);
        assert!(
            e.starts_with("FOOTFALL_LOG_LEVEL: key `log_level`: \"inf\" is not a level"),
            "{e}"
        );
    }

    #[test]
    fn a_base_url_error_never_echoes_its_credentials() {
        let e = load_err("tracked_base_url: https://user:hunter2@example.com\n", &[]);
        assert!(e.contains("tracked_base_url") && e.contains("credentials"), "{e}");
        assert!(!e.contains("hunter2"), "{e}");
    }
}
