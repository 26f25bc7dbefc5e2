//! Who is asking, by `User-Agent`: image proxies (GitHub's Camo, mail
//! providers), whose views count in their own series, and bots — crawlers,
//! headless browsers, HTTP libraries, link previews — which are not visitors.
//!
//! The bot patterns are the vendored list of the `crawler-user-agents`
//! project (MIT, `vendor/crawler-user-agents/`, refreshed by
//! `scripts/refresh-bot-patterns.sh`): maintained upstream, written for any
//! regex engine (no look-around), so they compile unchanged into one
//! linear-time [`regex::bytes::Regex`] at start. The proxy list is ours and
//! short, and lives here. Pure: no I/O, and a user agent is never stored,
//! logged or returned.

use std::sync::OnceLock;

use regex::bytes::{Regex, RegexBuilder};

/// The vendored upstream list: one pattern per line.
const BOT_PATTERNS: &str = include_str!("../../vendor/crawler-user-agents/patterns.txt");

/// Image proxies that fetch on behalf of many readers, one list: a view
/// through them is a proxied view, not a visitor (a proxy has no visitor
/// address to tell readers apart, and asks again on every view).
/// - `github-camo`: GitHub's Camo, which fetches every image in a README.
/// - `GoogleImageProxy`: Gmail (`... (via ggpht.com GoogleImageProxy)`).
/// - `YahooMailProxy`: Yahoo Mail.
/// - `Outlook-iOS/`, `Outlook-Android/`: Outlook's mobile apps, which load
///   mail images through Microsoft's servers. Outlook on the web sends an
///   ordinary browser user agent, so it cannot be told apart.
const PROXY_MARKERS: [&str; 5] = [
    "github-camo",
    "GoogleImageProxy",
    "YahooMailProxy",
    "Outlook-iOS/",
    "Outlook-Android/",
];

/// The compiled user-agent lists, built once at start.
pub struct Agents {
    bots: Regex,
    proxies: Regex,
}

impl std::fmt::Debug for Agents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Agents")
    }
}

/// The lists compiled once per process: they never change while it runs.
static SHARED: OnceLock<Agents> = OnceLock::new();

impl Agents {
    /// The compiled lists, compiled on first use.
    ///
    /// # Errors
    /// As [`Agents::compile`].
    pub fn shared() -> Result<&'static Self, regex::Error> {
        if let Some(agents) = SHARED.get() {
            return Ok(agents);
        }
        let compiled = Self::compile()?;
        Ok(SHARED.get_or_init(|| compiled))
    }

    /// Compiles both lists.
    ///
    /// # Errors
    /// When a pattern does not compile; the unit tests compile the vendored
    /// list, so a release never fails here.
    fn compile() -> Result<Self, regex::Error> {
        let bots = BOT_PATTERNS.lines().filter(|line| !line.is_empty()).collect::<Vec<_>>();
        // One alternation: the engine matches all patterns in one pass over
        // the user agent, with a literal prefilter where it can.
        let bots = RegexBuilder::new(&bots.join("|"))
            .size_limit(64 << 20)
            .dfa_size_limit(16 << 20)
            .build()?;
        let proxies = PROXY_MARKERS.map(regex::escape).join("|");
        Ok(Self {
            bots,
            proxies: Regex::new(&proxies)?,
        })
    }

    /// Whether the user agent is a known image proxy. Cheap (a search for a
    /// few literals), so it runs for every counting request.
    pub fn is_proxy(&self, user_agent: &[u8]) -> bool {
        !user_agent.is_empty() && self.proxies.is_match(user_agent)
    }

    /// Whether the user agent is a bot: empty (no browser sends none), or
    /// matching the list. Runs only for hits that would otherwise count.
    pub fn is_bot(&self, user_agent: &[u8]) -> bool {
        user_agent.iter().all(u8::is_ascii_whitespace) || self.bots.is_match(user_agent)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Browsers of 2024–2025 that must count as visitors.
    pub(crate) const BROWSERS: [&str; 11] = [
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0",
        "Mozilla/5.0 (Android 14; Mobile; rv:131.0) Gecko/131.0 Firefox/131.0",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
        "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15",
        "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/130.0.6723.90 Mobile/15E148 Safari/604.1",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36 Edg/130.0.0.0",
        "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36 OPR/114.0.0.0",
    ];

    fn agents() -> &'static Agents {
        Agents::shared().unwrap()
    }

    #[test]
    fn every_vendored_pattern_compiles_on_its_own() {
        for pattern in BOT_PATTERNS.lines() {
            assert!(Regex::new(pattern).is_ok(), "{pattern:?}");
        }
        assert!(BOT_PATTERNS.lines().count() > 1000, "the whole list is vendored");
    }

    #[test]
    fn crawlers_headless_browsers_and_http_libraries_are_bots() {
        let agents = agents();
        for bot in [
            "curl/8.5.0",
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/126.0.0.0 Safari/537.36",
            "python-requests/2.32.3",
            "Go-http-client/1.1",
            "Wget/1.21.4",
            "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)",
            "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
            "",
            "  ",
        ] {
            assert!(agents.is_bot(bot.as_bytes()), "{bot:?}");
        }
    }

    #[test]
    fn browsers_are_not_bots_or_proxies() {
        let agents = agents();
        for browser in BROWSERS {
            assert!(!agents.is_bot(browser.as_bytes()), "{browser}");
            assert!(!agents.is_proxy(browser.as_bytes()), "{browser}");
        }
    }

    #[test]
    fn camo_and_mail_image_proxies_are_proxies() {
        let agents = agents();
        for proxy in [
            "github-camo (876de43e)",
            "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)",
            "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html",
            "Outlook-iOS/709.2226530.prod.iphone (3.24.1)",
        ] {
            assert!(agents.is_proxy(proxy.as_bytes()), "{proxy}");
        }
        assert!(!agents.is_proxy(b""));
        assert!(!agents.is_proxy(b"curl/8.5.0"));
    }

    #[test]
    fn user_agents_that_are_not_utf8_are_matched_as_bytes() {
        let agents = agents();
        assert!(agents.is_bot(b"curl/8 \xff"));
        assert!(!agents.is_bot(b"Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 \xff"));
    }
}
