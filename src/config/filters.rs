//! The keys of honest counts: `count_bots`, `ignore_addresses`,
//! `check_referer` and `also_accept_origins`, validated into each site's
//! [`SiteFilter`].
//!
//! `ignore_addresses` of a site adds to the top-level list (an address the
//! owner ignores everywhere stays ignored on every site); `check_referer`
//! and `also_accept_origins` fall back to the top-level keys like the other
//! per-site keys. Must not read the environment or files; every error names
//! its key.

use ipnet::IpNet;

use super::values::parse_net;
use super::{ConfigError, Sources};
use crate::count::filter::SiteFilter;

/// The top-level filter keys, validated, that sites fall back to.
pub(super) struct FilterFallbacks {
    pub count_bots: bool,
    pub ignore: Vec<IpNet>,
    pub check_referer: Option<bool>,
    pub also_accept_origins: Vec<String>,
}

impl FilterFallbacks {
    pub(super) fn validate(
        count_bots: bool,
        ignore_addresses: &[String],
        check_referer: Option<bool>,
        also_accept_origins: &[String],
        src: &Sources,
    ) -> Result<Self, ConfigError> {
        Ok(Self {
            count_bots,
            ignore: networks("ignore_addresses", ignore_addresses, src)?,
            check_referer,
            also_accept_origins: origins("also_accept_origins", also_accept_origins, src)?,
        })
    }
}

/// A site's own filter keys, as written under `sites.{slug}`.
#[derive(Default)]
pub(super) struct RawSiteFilter {
    pub ignore_addresses: Option<Vec<String>>,
    pub check_referer: Option<bool>,
    pub also_accept_origins: Option<Vec<String>>,
}

/// The site's [`SiteFilter`]; `tracked_base_url` is the site's own.
///
/// # Errors
/// A [`ConfigError`] naming the key (under `prefix`, e.g. `sites.blog.`).
pub(super) fn site_filter(
    raw: &RawSiteFilter,
    tracked_base_url: Option<&reqwest::Url>,
    top: &FilterFallbacks,
    prefix: &str,
    src: &Sources,
) -> Result<SiteFilter, ConfigError> {
    let key = |name: &str| format!("{prefix}{name}");
    let mut ignore = top.ignore.clone();
    if let Some(own) = &raw.ignore_addresses {
        ignore.extend(networks(&key("ignore_addresses"), own, src)?);
    }
    // Checked even when unused, so a typo fails at start all the same.
    let also_accept_origins = match &raw.also_accept_origins {
        Some(own) => origins(&key("also_accept_origins"), own, src)?,
        None => top.also_accept_origins.clone(),
    };
    let check_referer = raw
        .check_referer
        .or(top.check_referer)
        .unwrap_or(tracked_base_url.is_some());
    let accept_origins = if check_referer {
        let mut accepted: Vec<String> = tracked_base_url
            .map(|url| url.origin().ascii_serialization())
            .into_iter()
            .collect();
        accepted.extend(also_accept_origins);
        if accepted.is_empty() {
            return Err(src.error(
                &key("check_referer"),
                "is on, but there is no tracked_base_url or also_accept_origins to compare a Referer with",
            ));
        }
        Some(accepted)
    } else {
        None
    };
    Ok(SiteFilter {
        ignore,
        accept_origins,
        count_bots: top.count_bots,
    })
}

fn networks(key: &str, entries: &[String], src: &Sources) -> Result<Vec<IpNet>, ConfigError> {
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| {
            parse_net(entry).ok_or_else(|| {
                src.error(
                    &format!("{key}[{i}]"),
                    format!("{entry:?} is not an IP address or CIDR"),
                )
            })
        })
        .collect()
}

/// Origins in ASCII serialization, as a `Referer`'s is compared.
fn origins(key: &str, entries: &[String], src: &Sources) -> Result<Vec<String>, ConfigError> {
    entries
        .iter()
        .enumerate()
        .map(|(i, entry)| origin(entry).map_err(|m| src.error(&format!("{key}[{i}]"), m)))
        .collect()
}

/// `https://example.com` or `http://host:8080`: a scheme, a host, maybe a
/// port, and nothing after (a trailing `/` is fine).
fn origin(text: &str) -> Result<String, String> {
    let bad = || format!("{text:?} is not an origin like https://www.example.com");
    let url = reqwest::Url::parse(text).map_err(|_| bad())?;
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    let plain = url.username().is_empty() && url.password().is_none();
    if !matches!(url.scheme(), "http" | "https") || url.host().is_none() || !bare || !plain {
        return Err(bad());
    }
    Ok(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use crate::config::tests::{dir_with, env, load_err};
    use crate::config::Config;

    fn load(yaml: &str) -> Config {
        let dir = dir_with(yaml);
        Config::load(dir.path(), env(&[])).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn by_default_bots_are_filtered_and_the_tracked_origin_is_checked() {
        let config = load("tracked_base_url: https://Example.com/blog/\n");
        let filter = &config.default_site().filter;
        assert!(!filter.count_bots);
        assert!(filter.ignore.is_empty());
        assert_eq!(filter.accept_origins, Some(vec!["https://example.com".to_owned()]));
        assert_eq!(config.proxied_min_interval, std::time::Duration::from_secs(10));
        let unchecked = load("");
        assert_eq!(
            unchecked.default_site().filter.accept_origins,
            None,
            "no origin to compare with"
        );
    }

    #[test]
    fn sites_add_ignored_addresses_and_fall_back_for_origins() {
        let config = load(
            "count_bots: true\nignore_addresses: [192.0.2.1]\nalso_accept_origins: ['https://web.example']\n\
             sites:\n  blog:\n    tracked_base_url: https://blog.example.com\n    ignore_addresses: ['2001:db8::/48']\n  \
             docs:\n    tracked_base_url: https://docs.example.com\n    check_referer: false\n  \
             wiki:\n    also_accept_origins: ['http://wiki.example:8080/']\n    check_referer: true\n\
             default_site: blog\n",
        );
        let [blog, docs, wiki] = [0, 1, 2].map(|i| &config.sites[i].filter);
        assert!(blog.count_bots && docs.count_bots);
        assert_eq!(blog.ignore.len(), 2);
        assert_eq!(docs.ignore.len(), 1);
        assert_eq!(
            blog.accept_origins,
            Some(vec!["https://blog.example.com".into(), "https://web.example".into()])
        );
        assert_eq!(docs.accept_origins, None);
        assert_eq!(wiki.accept_origins, Some(vec!["http://wiki.example:8080".into()]));
    }

    #[test]
    fn each_filter_mistake_names_its_key() {
        for (yaml, key) in [
            ("ignore_addresses: [me]\n", "ignore_addresses[0]"),
            (
                "also_accept_origins: ['https://a.example/path']\n",
                "also_accept_origins[0]",
            ),
            ("also_accept_origins: ['example.com']\n", "also_accept_origins[0]"),
            ("check_referer: true\n", "check_referer"),
            ("count_bots: maybe\n", "count_bots"),
            ("proxied_min_interval_seconds: 0\n", "proxied_min_interval_seconds"),
            (
                "sites:\n  blog:\n    ignore_addresses: [10.0.0.0/33]\n",
                "sites.blog.ignore_addresses[0]",
            ),
            (
                "sites:\n  blog:\n    also_accept_origins: ['ftp://x.example']\n",
                "sites.blog.also_accept_origins[0]",
            ),
        ] {
            let e = load_err(yaml, &[]);
            assert!(e.contains(key) && e.contains("config.yaml"), "{yaml:?}: {e}");
        }
    }
}
