//! Browser family, operating-system family and device class from a
//! `User-Agent`, by the `ua-parser` crate (the ua-parser project's Rust
//! implementation) over the vendored uap-core patterns
//! (`vendor/uap-core/`, Apache-2.0, refreshed by
//! `scripts/refresh-ua-patterns.sh`), folded into the few families the
//! pages show. Each distinct user agent is parsed once: the answer is kept
//! in a bounded cache. A user agent is never stored, logged or returned.

use std::sync::OnceLock;

use quick_cache::sync::Cache;
use ua_parser::{os, user_agent};

/// The vendored uap-core browser and OS patterns.
const PATTERNS: &str = include_str!("../../../vendor/uap-core/regexes.yaml");
/// Distinct user agents remembered at most. Real traffic has a few
/// thousand; a flood of made-up ones evicts entries, never grows memory.
const CACHE_SIZE: usize = 8_192;
/// Longer user agents are not parsed (nor cached): no browser sends one,
/// and a bound keeps the cache's memory bounded too.
const MAX_AGENT_BYTES: usize = 512;

/// What the pages show of a user agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Agent {
    pub browser: &'static str,
    pub os: &'static str,
    pub device: &'static str,
}

impl Agent {
    const UNKNOWN: Self = Self {
        browser: "Other",
        os: "Other",
        device: "desktop",
    };
}

#[derive(serde::Deserialize)]
struct Patterns<'a> {
    #[serde(borrow)]
    user_agent_parsers: Vec<user_agent::Parser<'a>>,
    #[serde(borrow)]
    os_parsers: Vec<os::Parser<'a>>,
}

struct Extractors {
    browsers: user_agent::Extractor<'static>,
    systems: os::Extractor<'static>,
}

/// Why the patterns could not be compiled (never with the vendored ones:
/// a unit test compiles them).
#[derive(Debug, thiserror::Error)]
#[error("the vendored user-agent patterns do not compile: {0}")]
pub struct PatternError(String);

static EXTRACTORS: OnceLock<Extractors> = OnceLock::new();

fn extractors() -> Result<&'static Extractors, PatternError> {
    if let Some(compiled) = EXTRACTORS.get() {
        return Ok(compiled);
    }
    let patterns: Patterns<'static> = serde_yaml::from_str(PATTERNS).map_err(|e| PatternError(e.to_string()))?;
    let browsers = user_agent::Builder::new()
        .push_all(patterns.user_agent_parsers)
        .map_err(|e| PatternError(e.to_string()))?
        .build()
        .map_err(|e| PatternError(e.to_string()))?;
    let systems = os::Builder::new()
        .push_all(patterns.os_parsers)
        .map_err(|e| PatternError(e.to_string()))?
        .build()
        .map_err(|e| PatternError(e.to_string()))?;
    Ok(EXTRACTORS.get_or_init(|| Extractors { browsers, systems }))
}

/// Parses user agents, each distinct one once.
pub struct AgentParser {
    compiled: &'static Extractors,
    cache: Cache<Box<str>, Agent>,
}

impl AgentParser {
    /// Compiles the patterns (once per process) and starts an empty cache.
    ///
    /// # Errors
    /// [`PatternError`] if the vendored patterns do not compile.
    pub fn new() -> Result<Self, PatternError> {
        Ok(Self {
            compiled: extractors()?,
            cache: Cache::new(CACHE_SIZE),
        })
    }

    /// The families of `user_agent` (`Other` for what is not recognized).
    pub fn agent(&self, user_agent: &str) -> Agent {
        if user_agent.len() > MAX_AGENT_BYTES {
            return self.parse(user_agent);
        }
        if let Some(agent) = self.cache.get(user_agent) {
            return agent;
        }
        let agent = self.parse(user_agent);
        self.cache.insert(user_agent.into(), agent);
        agent
    }

    fn parse(&self, user_agent: &str) -> Agent {
        let Some(browser) = self.compiled.browsers.extract(user_agent) else {
            return Agent::UNKNOWN;
        };
        let system = self.compiled.systems.extract(user_agent);
        let os = os_family(system.as_ref().map_or("", |s| &s.os));
        Agent {
            browser: browser_family(&browser.family),
            os,
            device: device_class(user_agent, os),
        }
    }
}

/// uap-core's browser family, folded into the ones the pages name.
fn browser_family(family: &str) -> &'static str {
    match family {
        "Firefox" | "Firefox Mobile" | "Firefox iOS" | "Firefox Beta" | "Firefox Alpha" => "Firefox",
        "Chrome" | "Chrome Mobile" | "Chrome Mobile iOS" | "Chrome Mobile WebView" | "Chromium" => "Chrome",
        "Safari" | "Mobile Safari" | "Mobile Safari UI/WKWebView" => "Safari",
        "Edge" | "Edge Mobile" => "Edge",
        "Opera" | "Opera Mobile" | "Opera Mini" | "Opera Touch" | "Opera GX" => "Opera",
        "Samsung Internet" => "Samsung Internet",
        _ => "Other",
    }
}

/// uap-core's OS family, folded into the ones the pages name.
fn os_family(family: &str) -> &'static str {
    match family {
        "Windows" => "Windows",
        "Mac OS X" | "macOS" => "macOS",
        "iOS" | "iPadOS" => "iOS",
        "Android" => "Android",
        "Linux" | "Ubuntu" | "Fedora" | "Debian" | "Arch Linux" | "Gentoo" | "Mint" | "Red Hat" | "SUSE" => "Linux",
        _ => "Other",
    }
}

/// The device class, from the tokens browsers agree on: an iPad or an
/// Android device without `Mobile` is a tablet (Google's own rule for
/// Android), a phone says `Mobile` (or `iPhone`); the rest is a desktop.
/// An iPad in desktop mode sends a Mac user agent and counts as a desktop:
/// nothing in the request tells them apart.
fn device_class(user_agent: &str, os: &str) -> &'static str {
    let says = |token: &str| user_agent.contains(token);
    if says("iPad") || says("Tablet") || (os == "Android" && !says("Mobile")) {
        "tablet"
    } else if says("Mobile") || says("iPhone") || says("iPod") {
        "mobile"
    } else {
        "desktop"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn agent(ua: &str) -> (&'static str, &'static str, &'static str) {
        let agent = AgentParser::new().unwrap().agent(ua);
        (agent.browser, agent.os, agent.device)
    }

    #[test]
    fn the_vendored_patterns_compile() {
        AgentParser::new().unwrap();
    }

    #[test]
    fn real_browsers_are_told_apart() {
        let cases = [
            ("Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0", ("Firefox", "Linux", "desktop")),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", ("Chrome", "Windows", "desktop")),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", ("Safari", "macOS", "desktop")),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", ("Edge", "Windows", "desktop")),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36 OPR/115.0.0.0", ("Opera", "Windows", "desktop")),
            ("Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", ("Samsung Internet", "Android", "mobile")),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", ("Safari", "iOS", "mobile")),
            ("Mozilla/5.0 (iPad; CPU OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.7 Mobile/15E148 Safari/604.1", ("Safari", "iOS", "tablet")),
            ("Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", ("Chrome", "Android", "mobile")),
            ("Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", ("Chrome", "Android", "tablet")),
            ("Mozilla/5.0 (Android 14; Mobile; rv:132.0) Gecko/132.0 Firefox/132.0", ("Firefox", "Android", "mobile")),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", ("Chrome", "iOS", "mobile")),
            ("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", ("Chrome", "Other", "desktop")),
            ("Lynx/2.9.0dev.12 libwww-FM/2.14 SSL-MM/1.4.1 GNUTLS/3.7.8", ("Other", "Other", "desktop")),
            ("", ("Other", "Other", "desktop")),
        ];
        for (ua, expected) in cases {
            assert_eq!(agent(ua), expected, "{ua}");
        }
    }

    #[test]
    fn a_user_agent_is_parsed_once_and_an_overlong_one_is_not_cached() {
        let parser = AgentParser::new().unwrap();
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        parser.agent(firefox);
        assert_eq!(parser.cache.len(), 1);
        parser.agent(firefox);
        assert_eq!(parser.cache.len(), 1);
        let long = format!("{firefox} {}", "x".repeat(MAX_AGENT_BYTES));
        assert_eq!(parser.agent(&long).browser, "Firefox");
        assert_eq!(parser.cache.len(), 1);
    }
}
