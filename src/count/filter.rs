//! Honest counts: which hits are not a visitor's view, and why.
//!
//! Owns the request [`Signals`] (the headers filtering reads, borrowed from
//! the request, read lazily) and the one decision [`classify`]: a hit of a
//! new (visitor, page) pair is counted, or filtered with exactly one
//! [`Reason`]. Header checks come first; the user-agent patterns run last,
//! only for a hit that would otherwise count. Image proxies are told apart
//! earlier (they skip visitor dedup, see `count_hit`).
//!
//! Pure: nothing here is stored, logged or returned to a client. A reason
//! becomes an aggregate count (page, day, reason) and nothing else.

use std::net::IpAddr;

use hyper::header::{HeaderMap, HeaderName, REFERER, USER_AGENT};
use ipnet::IpNet;

use super::bots::Agents;
use crate::store::Tally;

const SEC_PURPOSE: HeaderName = HeaderName::from_static("sec-purpose");
const PURPOSE: HeaderName = HeaderName::from_static("purpose");
const X_PURPOSE: HeaderName = HeaderName::from_static("x-purpose");
const X_MOZ: HeaderName = HeaderName::from_static("x-moz");

/// Why a hit was not counted as a visitor. A fixed set: stored counts per
/// page and day stay bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A browser fetching ahead of a view that may never happen.
    Prefetch,
    /// The client address is in `ignore_addresses` (the owner, their office).
    Ignored,
    /// The pixel is embedded on another origin's page (hot-linking).
    ForeignEmbed,
    /// An empty user agent, or one of a crawler, headless browser or HTTP library.
    Bot,
}

impl Reason {
    /// The stored series this reason is counted in.
    pub fn tally(self) -> Tally {
        match self {
            Self::Prefetch => Tally::Prefetch,
            Self::Ignored => Tally::Ignored,
            Self::ForeignEmbed => Tally::ForeignEmbed,
            Self::Bot => Tally::Bot,
        }
    }
}

/// What one request says about itself, as filtering needs it. Only the user
/// agent is read for every hit (to tell proxies apart); the other headers
/// only when [`classify`] runs. Deliberately not `Debug`: it holds the
/// user agent, which must never reach a log.
#[derive(Clone, Copy)]
pub struct Signals<'a> {
    headers: &'a HeaderMap,
    user_agent: &'a [u8],
    proxied: bool,
}

impl<'a> Signals<'a> {
    pub fn read(headers: &'a HeaderMap, agents: &Agents) -> Self {
        let user_agent = headers.get(USER_AGENT).map_or(&b""[..], |v| v.as_bytes());
        Self {
            headers,
            user_agent,
            proxied: agents.is_proxy(user_agent),
        }
    }

    /// Whether the request comes from a known image proxy. Depends on the
    /// user agent alone, which the client chose, so a response that differs
    /// by it tells the client nothing it did not know.
    pub fn is_proxied(&self) -> bool {
        self.proxied
    }

    /// `Sec-Purpose: prefetch` (also `prefetch;prerender`), `Purpose:
    /// prefetch`, `X-Purpose: preview`, `X-Moz: prefetch`.
    fn is_prefetch(&self) -> bool {
        let says = |name: &HeaderName, word: &str| {
            self.headers
                .get_all(name)
                .iter()
                .any(|v| contains_ignore_case(v.as_bytes(), word.as_bytes()))
        };
        says(&SEC_PURPOSE, "prefetch")
            || says(&PURPOSE, "prefetch")
            || says(&X_PURPOSE, "preview")
            || says(&X_MOZ, "prefetch")
    }

    /// The `User-Agent`, empty when there is none.
    pub(crate) fn user_agent(&self) -> &'a [u8] {
        self.user_agent
    }

    /// The `Referer`, unless missing or blank (both mean "unknown").
    pub(crate) fn referer(&self) -> Option<&'a [u8]> {
        self.headers
            .get(REFERER)
            .map(|v| v.as_bytes().trim_ascii())
            .filter(|v| !v.is_empty())
    }
}

/// One site's filter settings, from its config.
#[derive(Debug, Clone, Default)]
pub struct SiteFilter {
    /// Client addresses whose hits are `ignored`.
    pub ignore: Vec<IpNet>,
    /// When set, a `Referer` whose origin is not in this list is a
    /// `foreign_embed`. Origins in ASCII serialization (`https://example.com`,
    /// a port only when not the default).
    pub accept_origins: Option<Vec<String>>,
    /// Count bots as visitors (`count_bots`).
    pub count_bots: bool,
}

/// The one decision for a new (visitor, page) pair: `None` counts it, or
/// the reason it is filtered. Cheapest checks first; the user-agent
/// patterns last.
pub fn classify(signals: &Signals<'_>, client: IpAddr, filter: &SiteFilter, agents: &Agents) -> Option<Reason> {
    if signals.is_prefetch() {
        return Some(Reason::Prefetch);
    }
    let client = client.to_canonical();
    if filter.ignore.iter().any(|net| net.contains(&client)) {
        return Some(Reason::Ignored);
    }
    if let (Some(accepted), Some(referer)) = (&filter.accept_origins, signals.referer()) {
        let origin = origin_of(referer);
        if !accepted.contains(&origin) {
            return Some(Reason::ForeignEmbed);
        }
    }
    if !filter.count_bots && agents.is_bot(signals.user_agent) {
        return Some(Reason::Bot);
    }
    None
}

/// The ASCII serialization of a `Referer`'s origin; `"null"` (never an
/// accepted origin) for anything that is not a URL with one.
fn origin_of(referer: &[u8]) -> String {
    std::str::from_utf8(referer)
        .ok()
        .and_then(|text| reqwest::Url::parse(text).ok())
        .map_or_else(|| "null".to_owned(), |url| url.origin().ascii_serialization())
}

fn contains_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w.eq_ignore_ascii_case(needle))
}

#[cfg(test)]
mod tests {
    use hyper::header::HeaderValue;

    use super::*;

    const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, HeaderValue::from_str(value).unwrap());
        }
        map
    }

    fn site() -> SiteFilter {
        SiteFilter {
            ignore: vec!["192.0.2.0/24".parse().unwrap(), "2001:db8::/32".parse().unwrap()],
            accept_origins: Some(vec!["https://example.com".into(), "https://www.example.com".into()]),
            count_bots: false,
        }
    }

    fn verdict(pairs: &[(&'static str, &str)], client: &str, filter: &SiteFilter) -> Option<Reason> {
        let agents = Agents::shared().unwrap();
        let map = headers(pairs);
        classify(&Signals::read(&map, agents), client.parse().unwrap(), filter, agents)
    }

    #[test]
    fn a_browser_from_anywhere_without_a_referer_counts() {
        assert_eq!(verdict(&[("user-agent", FIREFOX)], "203.0.113.1", &site()), None);
    }

    #[test]
    fn each_prefetch_header_is_a_prefetch() {
        for (name, value) in [
            ("sec-purpose", "prefetch"),
            ("sec-purpose", "prefetch;prerender"),
            ("purpose", "prefetch"),
            ("x-purpose", "preview"),
            ("x-moz", "prefetch"),
            ("x-moz", "Prefetch"),
        ] {
            let pairs = [("user-agent", FIREFOX), (name, value)];
            assert_eq!(
                verdict(&pairs, "203.0.113.1", &site()),
                Some(Reason::Prefetch),
                "{name}: {value}"
            );
        }
        let other = [("user-agent", FIREFOX), ("sec-purpose", "preconnect")];
        assert_eq!(verdict(&other, "203.0.113.1", &site()), None);
    }

    #[test]
    fn ignored_addresses_match_by_network_also_when_mapped() {
        let ua = [("user-agent", FIREFOX)];
        assert_eq!(verdict(&ua, "192.0.2.77", &site()), Some(Reason::Ignored));
        assert_eq!(verdict(&ua, "::ffff:192.0.2.77", &site()), Some(Reason::Ignored));
        assert_eq!(verdict(&ua, "2001:db8:5::1", &site()), Some(Reason::Ignored));
        assert_eq!(verdict(&ua, "192.0.3.1", &site()), None);
    }

    #[test]
    fn only_a_referer_from_another_origin_is_a_foreign_embed() {
        for (referer, expected) in [
            ("https://example.com/blog/post-1", None),
            ("https://www.example.com/", None),
            ("https://EXAMPLE.com:443/x?y", None),
            ("", None),
            ("https://evil.example/page", Some(Reason::ForeignEmbed)),
            ("http://example.com/", Some(Reason::ForeignEmbed)),
            ("https://example.com:8443/", Some(Reason::ForeignEmbed)),
            ("android-app://com.example/", Some(Reason::ForeignEmbed)),
            ("not a url", Some(Reason::ForeignEmbed)),
        ] {
            let pairs = [("user-agent", FIREFOX), ("referer", referer)];
            assert_eq!(verdict(&pairs, "203.0.113.1", &site()), expected, "{referer:?}");
        }
        let unchecked = SiteFilter {
            accept_origins: None,
            ..site()
        };
        let pairs = [("user-agent", FIREFOX), ("referer", "https://evil.example/")];
        assert_eq!(verdict(&pairs, "203.0.113.1", &unchecked), None);
    }

    #[test]
    fn bots_are_filtered_unless_counted() {
        let curl = [("user-agent", "curl/8.5.0")];
        assert_eq!(verdict(&curl, "203.0.113.1", &site()), Some(Reason::Bot));
        assert_eq!(verdict(&[], "203.0.113.1", &site()), Some(Reason::Bot), "no user agent");
        let counting = SiteFilter {
            count_bots: true,
            ..site()
        };
        assert_eq!(verdict(&curl, "203.0.113.1", &counting), None);
    }

    #[test]
    fn one_reason_each_cheapest_first() {
        let all = [
            ("user-agent", "curl/8.5.0"),
            ("referer", "https://evil.example/"),
            ("purpose", "prefetch"),
        ];
        assert_eq!(verdict(&all, "192.0.2.1", &site()), Some(Reason::Prefetch));
        assert_eq!(verdict(&all[..2], "192.0.2.1", &site()), Some(Reason::Ignored));
        assert_eq!(verdict(&all[..2], "203.0.113.1", &site()), Some(Reason::ForeignEmbed));
    }

    #[test]
    fn proxies_are_known_from_the_user_agent_alone() {
        let agents = Agents::shared().unwrap();
        let camo = headers(&[("user-agent", "github-camo (876de43e)")]);
        assert!(Signals::read(&camo, agents).is_proxied());
        let browser = headers(&[("user-agent", FIREFOX), ("purpose", "prefetch")]);
        assert!(!Signals::read(&browser, agents).is_proxied());
    }
}
