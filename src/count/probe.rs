//! Probing the tracked site: "does `tracked_base_url` + path answer 200?"
//!
//! Owns everything that bounds traffic to the tracked site: a token-bucket
//! rate budget, a concurrency limit, and a bounded negative cache of rejected
//! paths. A probe URL is built so no path can change its scheme, host or port,
//! and that is checked before sending. This module never touches the store.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::{redirect, StatusCode, Url};
use tokio::sync::Semaphore;

use crate::config::ProbeLimits;
use crate::count::path::PagePath;
use crate::sync::lock;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_REDIRECTS: usize = 3;
/// Rejected paths remembered at most; a flood of random paths evicts the
/// oldest, which the rate budget still covers.
const NEGATIVE_CACHE_CAPACITY: usize = 10_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The tracked site answered 200: a real page.
    Page,
    /// Anything else: not a page (remembered for a while).
    NotAPage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    #[error("the probe budget for the tracked site is used up")]
    OverBudget,
}

pub struct Prober {
    client: reqwest::Client,
    base: Url,
    budget: Mutex<TokenBucket>,
    in_flight: Semaphore,
    rejected: Mutex<NegativeCache>,
}

impl Prober {
    /// # Errors
    /// When the HTTP client cannot be built (a TLS backend problem).
    pub fn new(base: Url, limits: ProbeLimits) -> Result<Self, reqwest::Error> {
        let origin = base.origin();
        let client = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            .user_agent(concat!("Footfall/", env!("CARGO_PKG_VERSION"), " (page check)"))
            .redirect(redirect::Policy::custom(move |attempt| {
                // `previous` holds the URLs requested so far, the first one included.
                if attempt.previous().len() > MAX_REDIRECTS || attempt.url().origin() != origin {
                    attempt.stop()
                } else {
                    attempt.follow()
                }
            }))
            .build()?;
        Ok(Self {
            client,
            base,
            budget: Mutex::new(TokenBucket::new(limits.rate_per_second, limits.burst, Instant::now())),
            in_flight: Semaphore::new(limits.concurrency),
            rejected: Mutex::new(NegativeCache::new(NEGATIVE_CACHE_CAPACITY, limits.negative_ttl)),
        })
    }

    /// Probes the tracked site for `path`, unless it rejected the path
    /// recently (then nothing is sent).
    ///
    /// # Errors
    /// [`ProbeError::OverBudget`] when the rate budget or the concurrency
    /// limit is exhausted; nothing was sent then.
    pub async fn probe(&self, path: &PagePath) -> Result<Verdict, ProbeError> {
        if lock(&self.rejected).contains(path.as_str(), Instant::now()) {
            return Ok(Verdict::NotAPage);
        }
        let Some(url) = probe_url(&self.base, path) else {
            return Ok(self.reject(path));
        };
        let _permit = self.in_flight.try_acquire().map_err(|_| ProbeError::OverBudget)?;
        if !lock(&self.budget).try_take(Instant::now()) {
            return Err(ProbeError::OverBudget);
        }
        let verdict = match self.client.get(url).send().await {
            Ok(response) if response.status() == StatusCode::OK => Verdict::Page,
            Ok(response) => {
                tracing::debug!(status = %response.status(), %path, "tracked site rejected a path");
                Verdict::NotAPage
            }
            Err(error) => {
                tracing::warn!(%path, error = %error.without_url(), "probing the tracked site failed");
                Verdict::NotAPage
            }
        };
        if verdict == Verdict::NotAPage {
            self.reject(path);
        }
        Ok(verdict)
    }

    fn reject(&self, path: &PagePath) -> Verdict {
        lock(&self.rejected).insert(path.as_str(), Instant::now());
        Verdict::NotAPage
    }
}

/// `base` + the encoded path, or `None` if the result would leave the base's
/// origin (which encoding makes impossible; this is the belt to its braces).
pub fn probe_url(base: &Url, path: &PagePath) -> Option<Url> {
    let prefix = base.as_str().trim_end_matches('/');
    let url = Url::parse(&format!("{prefix}{}", path.to_url_path())).ok()?;
    let same_origin = url.scheme() == base.scheme()
        && url.host() == base.host()
        && url.port_or_known_default() == base.port_or_known_default()
        && url.username() == base.username()
        && url.password() == base.password()
        && url.query().is_none()
        && url.fragment().is_none();
    same_origin.then_some(url)
}

/// A token bucket: `burst` probes at once, refilled at `rate` per second.
#[derive(Debug)]
pub struct TokenBucket {
    tokens: f64,
    capacity: f64,
    rate: f64,
    updated: Instant,
}

impl TokenBucket {
    pub fn new(rate: f64, burst: u32, now: Instant) -> Self {
        let capacity = f64::from(burst.max(1));
        Self {
            tokens: capacity,
            capacity,
            rate,
            updated: now,
        }
    }

    pub fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        self.updated = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Recently rejected paths, bounded in count and age. Entries share one TTL
/// and arrive in time order, so the queue's front is always the oldest.
#[derive(Debug)]
pub struct NegativeCache {
    order: VecDeque<(Box<str>, Instant)>,
    members: HashSet<Box<str>>,
    capacity: usize,
    ttl: Duration,
}

impl NegativeCache {
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            order: VecDeque::new(),
            members: HashSet::new(),
            capacity: capacity.max(1),
            ttl,
        }
    }

    pub fn contains(&mut self, path: &str, now: Instant) -> bool {
        self.expire(now);
        self.members.contains(path)
    }

    pub fn insert(&mut self, path: &str, now: Instant) {
        self.expire(now);
        if self.members.contains(path) {
            return;
        }
        while self.order.len() >= self.capacity {
            self.pop_oldest();
        }
        self.members.insert(path.into());
        self.order.push_back((path.into(), now));
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.order.len()
    }

    fn expire(&mut self, now: Instant) {
        while self
            .order
            .front()
            .is_some_and(|(_, at)| now.saturating_duration_since(*at) >= self.ttl)
        {
            self.pop_oldest();
        }
    }

    fn pop_oldest(&mut self) {
        if let Some((path, _)) = self.order.pop_front() {
            self.members.remove(&path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(p: &str) -> PagePath {
        PagePath::parse(p).unwrap()
    }

    #[test]
    fn probe_urls_stay_on_the_tracked_origin() {
        let base = Url::parse("https://example.com").unwrap();
        assert_eq!(
            probe_url(&base, &page("/blog/post-1")).unwrap().as_str(),
            "https://example.com/blog/post-1"
        );
        assert_eq!(probe_url(&base, &page("/")).unwrap().as_str(), "https://example.com/");
        for hostile in [
            "/@evil.com",
            "/%2F%2Fevil.com",
            "/a%3F@evil.com",
            "/a%23x",
            "/:8443",
            "/..%2F..%2Fx",
        ] {
            if let Ok(p) = PagePath::parse(hostile) {
                let url = probe_url(&base, &p).unwrap();
                assert_eq!(url.host_str(), Some("example.com"), "{hostile}");
                assert_eq!(url.port_or_known_default(), Some(443), "{hostile}");
                assert!(url.query().is_none() && url.fragment().is_none(), "{hostile}");
            }
        }
    }

    #[test]
    fn a_base_path_prefix_is_kept() {
        let base = Url::parse("http://127.0.0.1:8081/site/").unwrap();
        assert_eq!(
            probe_url(&base, &page("/caf%C3%A9 x")).unwrap().as_str(),
            "http://127.0.0.1:8081/site/caf%C3%A9%20x"
        );
    }

    #[test]
    fn the_bucket_allows_a_burst_then_the_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(2.0, 3, start);
        assert!((0..3).all(|_| bucket.try_take(start)));
        assert!(!bucket.try_take(start));
        assert!(bucket.try_take(start + Duration::from_millis(500)));
        assert!(!bucket.try_take(start + Duration::from_millis(500)));
        // Refill never exceeds the burst.
        let later = start + Duration::from_secs(60);
        assert_eq!((0..10).filter(|_| bucket.try_take(later)).count(), 3);
    }

    #[test]
    fn the_negative_cache_expires_and_stays_bounded() {
        let start = Instant::now();
        let mut cache = NegativeCache::new(2, Duration::from_secs(10));
        cache.insert("/a", start);
        assert!(cache.contains("/a", start + Duration::from_secs(9)));
        assert!(!cache.contains("/a", start + Duration::from_secs(10)));
        cache.insert("/a", start);
        cache.insert("/b", start);
        cache.insert("/c", start);
        assert_eq!(cache.len(), 2);
        assert!(!cache.contains("/a", start));
        assert!(cache.contains("/c", start));
    }
}
