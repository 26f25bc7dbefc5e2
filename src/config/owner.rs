//! The owner's keys: `admin_token`, each site's access (`public`,
//! `read_tokens`, `public_badge`) and `retention`, validated into typed values.
//!
//! Owns the token rules (at least [`MIN_TOKEN_CHARS`] characters) and the
//! retention bounds. Must not read the environment or files, and no error
//! ever contains a token: it names the key and says what is wrong.

use serde::Deserialize;

use super::{ConfigError, Secret, Sources};

/// A token shorter than this is refused at start (exit 2): anything that
/// short can be guessed by someone who may ask as often as they like.
pub const MIN_TOKEN_CHARS: usize = 32;
/// The longest retention of raw calls: 100 years, the widest range a query may ask for.
const MAX_CALLS_DAYS: u32 = 36_600;

/// Who may read a site's counts.
#[derive(Debug, Clone)]
pub struct SiteAccess {
    /// `false`: the site's pages, charts and API answer 404 without a token.
    pub public: bool,
    /// On a private site, whether the badge still shows the number.
    pub public_badge: bool,
    /// Tokens that read this site (and only this site); the admin token reads every site.
    pub read_tokens: Vec<Secret>,
}

impl Default for SiteAccess {
    /// Public, as every site was before access existed.
    fn default() -> Self {
        Self {
            public: true,
            public_badge: false,
            read_tokens: Vec::new(),
        }
    }
}

/// The raw access keys of one site (or of the top level of a config without `sites:`).
#[derive(Default, Clone)]
pub(super) struct RawAccess {
    pub public: Option<bool>,
    pub public_badge: Option<bool>,
    pub read_tokens: Option<Vec<Secret>>,
}

impl RawAccess {
    pub fn is_set(&self) -> bool {
        self.public.is_some() || self.public_badge.is_some() || self.read_tokens.is_some()
    }

    /// Validates the keys found under `prefix` (e.g. `sites.blog.`).
    pub fn validate(&self, prefix: &str, src: &Sources) -> Result<SiteAccess, ConfigError> {
        let defaults = SiteAccess::default();
        let read_tokens = self.read_tokens.clone().unwrap_or_default();
        for (i, token) in read_tokens.iter().enumerate() {
            check_token(&format!("{prefix}read_tokens[{i}]"), token, src)?;
        }
        Ok(SiteAccess {
            public: self.public.unwrap_or(defaults.public),
            public_badge: self.public_badge.unwrap_or(defaults.public_badge),
            read_tokens,
        })
    }
}

/// How long raw calls are kept.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retention {
    /// `None`: forever. Per-day counts and totals are kept forever either way.
    pub calls_days: Option<u32>,
}

#[derive(Deserialize, Default, Clone)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawRetention {
    calls_days: Option<u32>,
}

/// # Errors
/// A [`ConfigError`] naming `retention.calls_days` when it is 0 or over 100 years.
pub(super) fn retention(raw: Option<&RawRetention>, src: &Sources) -> Result<Retention, ConfigError> {
    let calls_days = raw.and_then(|r| r.calls_days);
    if let Some(days) = calls_days {
        if days == 0 || days > MAX_CALLS_DAYS {
            return Err(src.error(
                "retention.calls_days",
                format!("must be between 1 and {MAX_CALLS_DAYS} days; leave it out to keep raw calls forever"),
            ));
        }
    }
    Ok(Retention { calls_days })
}

/// # Errors
/// A [`ConfigError`] naming `key` when the token is too short; never the token.
pub(super) fn check_token(key: &str, token: &Secret, src: &Sources) -> Result<(), ConfigError> {
    let chars = token.expose().chars().count();
    if chars < MIN_TOKEN_CHARS {
        return Err(src.error(
            key,
            format!(
                "a token needs at least {MIN_TOKEN_CHARS} characters (this one has {chars}); \
                 make one with `head -c 32 /dev/urandom | base64`"
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{dir_with, env, load_err};
    use crate::config::Config;

    const TOKEN: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn a_short_token_exits_naming_the_key_but_not_the_token() {
        let e = load_err("admin_token: short-secret\n", &[]);
        assert!(e.contains("admin_token") && e.contains("at least 32"), "{e}");
        assert!(!e.contains("short-secret"), "{e}");
        let e = load_err("", &[("FOOTFALL_ADMIN_TOKEN", "tiny")]);
        assert!(e.starts_with("FOOTFALL_ADMIN_TOKEN: key `admin_token`"), "{e}");
        let e = load_err("sites:\n  blog:\n    read_tokens: [abc]\n", &[]);
        assert!(e.contains("sites.blog.read_tokens[0]"), "{e}");
    }

    #[test]
    fn the_admin_token_is_read_from_a_file_and_kept_out_of_debug_output() {
        let dir = dir_with("");
        let file = dir.path().join("token");
        std::fs::write(&file, format!("{TOKEN}\n")).unwrap();
        let config = Config::load(
            dir.path(),
            env(&[("FOOTFALL_ADMIN_TOKEN_FILE", file.to_str().unwrap())]),
        )
        .unwrap();
        assert_eq!(config.admin_token.as_ref().map(|t| t.expose()), Some(TOKEN));
        assert!(!format!("{config:?}").contains(TOKEN));
    }

    #[test]
    fn sites_are_public_unless_told_and_access_keys_belong_to_one_place() {
        let config = Config::load(dir_with("").path(), env(&[])).unwrap();
        assert!(config.default_site().access.public);
        let yaml = format!("public: false\nread_tokens: ['{TOKEN}']\n");
        let config = Config::load(dir_with(&yaml).path(), env(&[])).unwrap();
        let access = &config.default_site().access;
        assert!(!access.public && !access.public_badge && access.read_tokens.len() == 1);
        let yaml = "sites:\n  blog:\n    public: false\n    public_badge: true\n  docs: {}\ndefault_site: blog\n";
        let config = Config::load(dir_with(yaml).path(), env(&[])).unwrap();
        assert!(!config.sites[0].access.public && config.sites[0].access.public_badge);
        assert!(config.sites[1].access.public);
        let e = load_err("public: false\nsites:\n  blog: {}\n", &[]);
        assert!(e.contains("key `public`") && e.contains("per site"), "{e}");
    }

    #[test]
    fn retention_is_a_number_of_days_or_forever() {
        let config = Config::load(dir_with("").path(), env(&[])).unwrap();
        assert_eq!(config.retention.calls_days, None);
        let config = Config::load(dir_with("retention: {calls_days: 90}\n").path(), env(&[])).unwrap();
        assert_eq!(config.retention.calls_days, Some(90));
        let e = load_err("retention: {calls_days: 0}\n", &[]);
        assert!(e.contains("retention.calls_days"), "{e}");
        let e = load_err("retention: {days: 3}\n", &[]);
        assert!(e.contains("days"), "{e}");
    }
}
