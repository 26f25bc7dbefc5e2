//! The sites one Footfall counts: the `sites:` map and `default_site`, or —
//! without them — the one site `default` built from the top-level keys, so a
//! single-site config keeps working unchanged.
//!
//! Owns the slug rules and the per-site keys with their fallbacks to the
//! top-level ones. Must not read the environment or files.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::filters::{site_filter, FilterFallbacks, RawSiteFilter};
use super::notify::{webhooks, RawWebhook, Webhook};
use super::owner::{RawAccess, SiteAccess};
use super::raw::RawUtcOffset;
use super::values::{parse_base_url, zone};
use super::{ConfigError, ProbeLimits, Secret, Sources};
use crate::count::filter::SiteFilter;
use crate::zone::Zone;

/// The slug of the one site of a config without `sites:`.
pub const DEFAULT_SLUG: &str = "default";
const MAX_SLUG_CHARS: usize = 32;

/// One site under `sites:`; every key falls back to the top-level one.
#[derive(Deserialize, Default)]
#[serde(default, deny_unknown_fields)]
pub(super) struct RawSite {
    tracked_base_url: Option<String>,
    timezone: Option<String>,
    utc_offset: Option<RawUtcOffset>,
    max_paths: Option<usize>,
    probe_rate_per_second: Option<f64>,
    probe_burst: Option<u32>,
    ignore_addresses: Option<Vec<String>>,
    check_referer: Option<bool>,
    also_accept_origins: Option<Vec<String>>,
    public: Option<bool>,
    public_badge: Option<bool>,
    read_tokens: Option<Vec<Secret>>,
    webhooks: Option<Vec<RawWebhook>>,
}

/// One site, validated.
#[derive(Debug, Clone)]
pub struct SiteConfig {
    /// `[a-z0-9-]`, 1–32 characters; appears in URLs (`/s/{slug}/…`).
    pub slug: String,
    /// `None`: every valid path is accepted, up to `max_paths`.
    pub tracked_base_url: Option<reqwest::Url>,
    pub zone: Zone,
    pub max_paths: usize,
    pub probe: ProbeLimits,
    /// What is not counted as a visitor (bots, ignored addresses, foreign embeds).
    pub filter: SiteFilter,
    /// Who may read its counts.
    pub access: SiteAccess,
    /// Who is told of its events.
    pub webhooks: Vec<Webhook>,
}

/// The top-level values a site falls back to. `access` is the one site's
/// of a config without `sites:`; with `sites:`, each site sets its own.
pub(super) struct Fallbacks<'a> {
    pub access: RawAccess,
    pub tracked_base_url: Option<&'a str>,
    pub timezone: Option<&'a str>,
    pub utc_offset: Option<&'a RawUtcOffset>,
    pub max_paths: usize,
    pub probe: ProbeLimits,
    pub filters: FilterFallbacks,
    /// The one site's receivers of a config without `sites:`.
    pub webhooks: Option<Vec<RawWebhook>>,
}

/// The sites, sorted by slug, and the index of the default one.
///
/// # Errors
/// A [`ConfigError`] naming the key: a bad slug, top-level
/// `tracked_base_url` beside `sites:`, an unknown or missing `default_site`.
pub(super) fn validate_sites(
    sites: Option<BTreeMap<String, Option<RawSite>>>,
    default_site: Option<&str>,
    top: Fallbacks<'_>,
    src: &Sources,
) -> Result<(Vec<SiteConfig>, usize), ConfigError> {
    let Some(sites) = sites else {
        if default_site.is_some_and(|d| d != DEFAULT_SLUG) {
            return Err(src.error("default_site", "names a site, but there is no `sites:` map"));
        }
        let only = site(DEFAULT_SLUG, &RawSite::default(), &top, "", src)?;
        return Ok((vec![only], 0));
    };
    let per_site_only = [
        ("tracked_base_url", top.tracked_base_url.is_some()),
        ("public", top.access.public.is_some()),
        ("public_badge", top.access.public_badge.is_some()),
        ("read_tokens", top.access.read_tokens.is_some()),
        ("webhooks", top.webhooks.is_some()),
    ];
    if let Some((key, _)) = per_site_only.iter().find(|(_, set)| *set) {
        return Err(src.error(key, "set it per site under `sites:`, not at the top level as well"));
    }
    if sites.is_empty() {
        return Err(src.error("sites", "names no site; remove it or add one"));
    }
    let mut validated = Vec::with_capacity(sites.len());
    for (slug, raw) in &sites {
        let key = format!("sites.{slug}");
        check_slug(slug).map_err(|m| src.error(&key, m))?;
        let raw = raw.as_ref().map_or_else(RawSite::default, |r| RawSite {
            tracked_base_url: r.tracked_base_url.clone(),
            timezone: r.timezone.clone(),
            utc_offset: r.utc_offset.clone(),
            max_paths: r.max_paths,
            probe_rate_per_second: r.probe_rate_per_second,
            probe_burst: r.probe_burst,
            ignore_addresses: r.ignore_addresses.clone(),
            check_referer: r.check_referer,
            also_accept_origins: r.also_accept_origins.clone(),
            public: r.public,
            public_badge: r.public_badge,
            read_tokens: r.read_tokens.clone(),
            webhooks: r.webhooks.clone(),
        });
        validated.push(site(slug, &raw, &top, &format!("{key}."), src)?);
    }
    let default = match default_site {
        Some(slug) => validated
            .iter()
            .position(|s| s.slug == slug)
            .ok_or_else(|| src.error("default_site", format!("{slug:?} is not a key of `sites`")))?,
        None if validated.len() == 1 => 0,
        None => {
            return Err(src.error(
                "default_site",
                "is required with more than one site: it says what the routes without /s/{site} mean",
            ))
        }
    };
    Ok((validated, default))
}

fn site(
    slug: &str,
    raw: &RawSite,
    top: &Fallbacks<'_>,
    prefix: &str,
    src: &Sources,
) -> Result<SiteConfig, ConfigError> {
    let key = |name: &str| format!("{prefix}{name}");
    let tracked_base_url = raw
        .tracked_base_url
        .as_deref()
        .or(top.tracked_base_url)
        .map(|url| parse_base_url(url).map_err(|m| src.error(&key("tracked_base_url"), m)))
        .transpose()?;
    // A site's zone replaces the top-level one as a whole (timezone or offset).
    let zone = if raw.timezone.is_some() || raw.utc_offset.is_some() {
        zone(raw.timezone.as_deref(), raw.utc_offset.as_ref(), prefix, src)?
    } else {
        zone(top.timezone, top.utc_offset, "", src)?
    };
    let max_paths = raw.max_paths.unwrap_or(top.max_paths);
    if max_paths == 0 {
        return Err(src.error(&key("max_paths"), "must be at least 1"));
    }
    let rate_per_second = raw.probe_rate_per_second.unwrap_or(top.probe.rate_per_second);
    if !(rate_per_second.is_finite() && rate_per_second > 0.0) {
        return Err(src.error(&key("probe_rate_per_second"), "must be a positive number"));
    }
    let burst = raw.probe_burst.unwrap_or(top.probe.burst);
    if burst == 0 {
        return Err(src.error(&key("probe_burst"), "must be at least 1"));
    }
    let own_filter = RawSiteFilter {
        ignore_addresses: raw.ignore_addresses.clone(),
        check_referer: raw.check_referer,
        also_accept_origins: raw.also_accept_origins.clone(),
    };
    let filter = site_filter(&own_filter, tracked_base_url.as_ref(), &top.filters, prefix, src)?;
    let own = RawAccess {
        public: raw.public,
        public_badge: raw.public_badge,
        read_tokens: raw.read_tokens.clone(),
    };
    // Only the one site of a config without `sites:` takes the top-level keys.
    let access = if own.is_set() { own } else { top.access.clone() }.validate(prefix, src)?;
    let webhooks = webhooks(raw.webhooks.as_deref().or(top.webhooks.as_deref()), prefix, src)?;
    Ok(SiteConfig {
        slug: slug.to_owned(),
        tracked_base_url,
        zone,
        max_paths,
        probe: ProbeLimits {
            rate_per_second,
            burst,
            ..top.probe
        },
        filter,
        access,
        webhooks,
    })
}

/// A slug is `[a-z0-9-]`, 1–32 characters.
///
/// # Errors
/// Why it is not one.
pub fn check_slug(slug: &str) -> Result<(), String> {
    let valid = !slug.is_empty()
        && slug.len() <= MAX_SLUG_CHARS
        && slug
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if valid {
        Ok(())
    } else {
        Err(format!(
            "{slug:?} is not a site slug: 1-{MAX_SLUG_CHARS} characters of a-z, 0-9 and -"
        ))
    }
}

#[cfg(test)]
mod tests {

    use crate::config::tests::load_err;
    use crate::config::Config;

    fn load(yaml: &str, env: &[(&str, &str)]) -> Config {
        let dir = crate::config::tests::dir_with(yaml);
        Config::load(dir.path(), env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn without_sites_there_is_one_default_site_from_the_top_level_keys() {
        let config = load("tracked_base_url: https://example.com\ntimezone: Europe/Berlin\n", &[]);
        assert_eq!(config.sites.len(), 1);
        let site = config.default_site();
        assert_eq!(site.slug, "default");
        assert_eq!(site.tracked_base_url.as_ref().unwrap().as_str(), "https://example.com/");
        assert_eq!(site.zone.describe(), "Europe/Berlin");
    }

    #[test]
    fn sites_take_their_own_keys_and_fall_back_to_the_top_level() {
        let config = load(
            "timezone: Europe/Berlin\nmax_paths: 7\nsites:\n  blog:\n    tracked_base_url: https://blog.example.com\n  \
             docs:\n    tracked_base_url: https://docs.example.org\n    timezone: America/New_York\n    max_paths: 3\n\
             default_site: docs\n",
            &[("FOOTFALL_SITES__BLOG__PROBE_BURST", "2")],
        );
        let slugs: Vec<&str> = config.sites.iter().map(|s| s.slug.as_str()).collect();
        assert_eq!(slugs, ["blog", "docs"]);
        assert_eq!(config.default_site().slug, "docs");
        let (blog, docs) = (&config.sites[0], &config.sites[1]);
        assert_eq!(
            (blog.zone.describe(), blog.max_paths, blog.probe.burst),
            ("Europe/Berlin".into(), 7, 2)
        );
        assert_eq!((docs.zone.describe(), docs.max_paths), ("America/New_York".into(), 3));
    }

    #[test]
    fn the_environment_sets_a_sites_url_as_text() {
        let config = load(
            "sites:\n  blog: {}\n",
            &[("FOOTFALL_SITES__BLOG__TRACKED_BASE_URL", "https://blog.example.com")],
        );
        assert_eq!(
            config.sites[0].tracked_base_url.as_ref().unwrap().host_str(),
            Some("blog.example.com")
        );
    }

    #[test]
    fn each_sites_mistake_names_its_key() {
        for (yaml, key) in [
            (
                "tracked_base_url: https://a.example\nsites:\n  blog: {}\n",
                "tracked_base_url",
            ),
            ("sites:\n  blog: {}\n  docs: {}\ndefault_site: shop\n", "default_site"),
            ("sites:\n  blog: {}\n  docs: {}\n", "default_site"),
            ("sites:\n  Blog: {}\n", "sites.Blog"),
            ("sites:\n  my_blog: {}\n", "sites.my_blog"),
            (&format!("sites:\n  {}: {{}}\n", "a".repeat(33)), "sites.aaaa"),
            (
                "sites:\n  blog:\n    tracked_base_url: ftp://x\n",
                "sites.blog.tracked_base_url",
            ),
            ("sites:\n  blog:\n    timezone: Nowhere/City\n", "sites.blog.timezone"),
            ("sites:\n  blog:\n    max_paths: 0\n", "sites.blog.max_paths"),
            ("sites:\n  blog:\n    colour: red\n", "colour"),
            ("default_site: blog\n", "default_site"),
        ] {
            let e = load_err(yaml, &[]);
            assert!(e.contains(key) && e.contains("config.yaml"), "{yaml:?}: {e}");
        }
    }
}
