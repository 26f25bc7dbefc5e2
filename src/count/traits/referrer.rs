//! Where a visitor came from, as `/count.js` reports it: `?r=<host>` on
//! the `/call` URL (the script reads `document.referrer`, which an `<img>`
//! request cannot see). Only a host is kept, lower-cased; the site's own
//! host is `(internal)` and an empty one `(direct)`. Pure.

use crate::count::path::percent_decode;

pub const DIRECT: &str = "(direct)";
pub const INTERNAL: &str = "(internal)";
/// The longest host name DNS allows.
const MAX_HOST_BYTES: usize = 253;

/// The referrer of a hit that came through the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Referrer {
    Direct,
    Internal,
    Host(Box<str>),
}

impl Referrer {
    pub fn as_str(&self) -> &str {
        match self {
            Self::Direct => DIRECT,
            Self::Internal => INTERNAL,
            Self::Host(host) => host,
        }
    }
}

/// The `r` parameter of `query`: `None` when there is none (the plain
/// `<img>` embed, which knows no referrer) or it is not a host name (a
/// path, a port, a scheme or spaces are never kept). `is_own` tells the
/// site's own hosts (given lower case), asked only when there is a host.
pub fn referrer_of(query: Option<&str>, is_own: impl FnOnce(&str) -> bool) -> Option<Referrer> {
    let raw = query?
        .split('&')
        .find_map(|pair| pair.strip_prefix("r=").or_else(|| (pair == "r").then_some("")))?;
    let decoded = String::from_utf8(percent_decode(raw.as_bytes()).ok()?).ok()?;
    let host = decoded.trim().trim_end_matches('.').to_ascii_lowercase();
    if host.is_empty() {
        return Some(Referrer::Direct);
    }
    let valid = host.len() <= MAX_HOST_BYTES
        && host.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'-' | b'_' | b':' | b'[' | b']')
        });
    if !valid {
        return None;
    }
    Some(if is_own(&host) {
        Referrer::Internal
    } else {
        Referrer::Host(host.into())
    })
}

/// The host of a URL's origin (`https://Example.com:8443/x` → `example.com`).
pub fn host_of(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = if host_port.starts_with('[') {
        host_port.split_inclusive(']').next()?
    } else {
        host_port.split(':').next()?
    };
    (!host.is_empty()).then(|| host.to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn of(query: &str) -> Option<String> {
        referrer_of(Some(query), |host| host == "blog.example.com").map(|r| r.as_str().to_owned())
    }

    #[test]
    fn only_a_lower_cased_host_is_kept() {
        assert_eq!(of("r=News.YCombinator.com").as_deref(), Some("news.ycombinator.com"));
        assert_eq!(of("v=2&r=www.google.com.").as_deref(), Some("www.google.com"));
        assert_eq!(of("r=xn--bcher-kva.example").as_deref(), Some("xn--bcher-kva.example"));
        assert_eq!(of("r=%5B2001%3Adb8%3A%3A1%5D").as_deref(), Some("[2001:db8::1]"));
    }

    #[test]
    fn the_sites_own_host_is_internal_and_none_is_direct() {
        assert_eq!(of("r=BLOG.example.com").as_deref(), Some(INTERNAL));
        assert_eq!(of("r=").as_deref(), Some(DIRECT));
        assert_eq!(of("r").as_deref(), Some(DIRECT));
    }

    #[test]
    fn no_parameter_or_not_a_host_is_no_referrer() {
        assert_eq!(of("v=2"), None);
        assert_eq!(referrer_of(None, |_| true), None);
        for bad in ["r=https://x.com/", "r=x.com/path", "r=a%20b", "r=%FF", "r=<script>"] {
            assert_eq!(of(bad), None, "{bad}");
        }
        assert_eq!(of(&format!("r={}", "a".repeat(254))), None);
    }

    #[test]
    fn hosts_of_urls() {
        assert_eq!(host_of("https://Example.com:8443/x").as_deref(), Some("example.com"));
        assert_eq!(host_of("http://[::1]:80/").as_deref(), Some("[::1]"));
        assert_eq!(host_of("https://u:p@h.example/").as_deref(), Some("h.example"));
        assert_eq!(host_of("nonsense"), None);
    }
}
