//! Probing the tracked site: "does `tracked_base_url` + path answer 200?"
//!
//! Owns everything that bounds traffic to the tracked site: a token-bucket
//! rate budget, a concurrency limit, a bounded negative cache of rejected
//! paths, and a short back-off while the site is unreachable. A probe URL is
//! built so no path can change its scheme, host or port, and that is checked
//! before sending. Redirects are followed within the origin and from http to
//! https on the same host; any other target is refused (and named in a
//! warning, once). Only a definite answer from the site means "not a page":
//! a 5xx, a timeout or a network error is the site's problem, not the page's.
//! This module never touches the store.

mod limits;

use std::collections::HashSet;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::{redirect, StatusCode, Url};
use tokio::sync::Semaphore;

use self::limits::{NegativeCache, TokenBucket};
use crate::config::ProbeLimits;
use crate::count::path::PagePath;
use crate::sync::lock;
use crate::telemetry::chain;

const SITE_CHECK_USER_AGENT: &str = concat!("Footfall/", env!("CARGO_PKG_VERSION"), " (site check)");
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const TOTAL_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_REDIRECTS: usize = 3;
/// Rejected paths remembered at most; a flood of random paths evicts the
/// oldest, which the rate budget still covers.
const NEGATIVE_CACHE_CAPACITY: usize = 10_000;
/// After the site failed to answer, new paths get 503 without a probe for
/// this long, so a down site is not hammered; then a request probes again.
const UNREACHABLE_BACKOFF: Duration = Duration::from_secs(5);
/// Refused redirect targets warned about at most (one line each).
const MAX_WARNED_TARGETS: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The tracked site answered 200: a real page.
    Page,
    /// A definite other answer (4xx, or a final non-200 after redirects):
    /// not a page, remembered for a while.
    NotAPage,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    #[error("the probe budget for the tracked site is used up")]
    OverBudget,
    #[error("the tracked site did not answer")]
    SiteUnavailable,
}

pub struct Prober {
    client: reqwest::Client,
    base: Url,
    budget: Mutex<TokenBucket>,
    in_flight: Semaphore,
    rejected: Mutex<NegativeCache>,
    /// Until when new paths are not probed because the site did not answer;
    /// `Some` during an outage (logged once when it starts and ends).
    unreachable_until: Mutex<Option<Instant>>,
}

impl Prober {
    /// # Errors
    /// When the HTTP client cannot be built (a TLS backend problem).
    pub fn new(base: Url, limits: ProbeLimits) -> Result<Self, reqwest::Error> {
        let warned: Mutex<HashSet<String>> = Mutex::default();
        let policy_base = base.clone();
        let client = reqwest::Client::builder()
            .no_proxy()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(TOTAL_TIMEOUT)
            .user_agent(concat!("Footfall/", env!("CARGO_PKG_VERSION"), " (page check)"))
            .redirect(redirect::Policy::custom(move |attempt| {
                // `previous` holds the URLs requested so far, the first one included.
                if attempt.previous().len() > MAX_REDIRECTS {
                    attempt.stop()
                } else if may_follow(&policy_base, attempt.url()) {
                    attempt.follow()
                } else {
                    warn_refused_redirect(&warned, attempt.url());
                    attempt.stop()
                }
            }))
            .build()?;
        Ok(Self {
            client,
            base,
            budget: Mutex::new(TokenBucket::new(limits.rate_per_second, limits.burst, Instant::now())),
            in_flight: Semaphore::new(limits.concurrency),
            rejected: Mutex::new(NegativeCache::new(NEGATIVE_CACHE_CAPACITY, limits.negative_ttl)),
            unreachable_until: Mutex::new(None),
        })
    }

    /// Decides whether `path` may be probed now, before anything is sent:
    /// a path rejected lately, or one that makes no probe URL, is not a page;
    /// during an outage, or past the rate budget or the concurrency limit,
    /// there is no probe. An admitted probe holds its slot until it is sent
    /// ([`Admitted::send`]) or dropped, so whatever the caller does in
    /// between (the registry's store lookup) is bounded by the same budget.
    ///
    /// # Errors
    /// [`ProbeError::OverBudget`] or [`ProbeError::SiteUnavailable`]; nothing
    /// was sent then.
    pub fn admit(&self, path: &PagePath) -> Result<Admission<'_>, ProbeError> {
        let now = Instant::now();
        if lock(&self.rejected).contains(path.as_str(), now) {
            return Ok(Admission::RejectedLately);
        }
        if lock(&self.unreachable_until).is_some_and(|until| now < until) {
            return Err(ProbeError::SiteUnavailable);
        }
        let Some(url) = probe_url(&self.base, path) else {
            self.reject(path);
            return Ok(Admission::NoProbeUrl);
        };
        let permit = self.in_flight.try_acquire().map_err(|_| ProbeError::OverBudget)?;
        if !lock(&self.budget).try_take(now) {
            return Err(ProbeError::OverBudget);
        }
        Ok(Admission::Admitted(Admitted {
            prober: self,
            url,
            _permit: permit,
        }))
    }

    /// Starts (or continues) an outage of the tracked site.
    fn site_failed(&self, cause: &str) {
        let mut until = lock(&self.unreachable_until);
        if until.is_none() {
            tracing::warn!(
                site = %self.base,
                cause,
                "the tracked site does not answer; new pages get 503 until it does (known pages keep counting)"
            );
        }
        *until = Some(Instant::now() + UNREACHABLE_BACKOFF);
    }

    fn site_answered(&self) {
        if lock(&self.unreachable_until).take().is_some() {
            tracing::info!(site = %self.base, "the tracked site answers again");
        }
    }

    /// Requests the site's root once (no budget: called at start and by
    /// `footfall check`), and says what came back.
    pub async fn check_root(&self) -> RootCheck {
        let started = Instant::now();
        // Its own user agent, so the site's logs (and the tests' stub) can
        // tell this one check from the probes of new pages.
        let answer = self
            .client
            .get(self.base.clone())
            .header(reqwest::header::USER_AGENT, SITE_CHECK_USER_AGENT)
            .send()
            .await;
        RootCheck {
            url: self.base.clone(),
            outcome: match answer {
                Ok(response) => {
                    let refused = response
                        .status()
                        .is_redirection()
                        .then(|| response.headers().get(reqwest::header::LOCATION))
                        .flatten()
                        .and_then(|location| location.to_str().ok())
                        .and_then(|location| self.base.join(location).ok());
                    let final_url = response.url().clone();
                    Ok((
                        response.status(),
                        (final_url != self.base).then_some(final_url),
                        refused,
                    ))
                }
                Err(error) => Err(chain(&error.without_url())),
            },
            elapsed: started.elapsed(),
        }
    }

    fn reject(&self, path: &PagePath) -> Verdict {
        lock(&self.rejected).insert(path.as_str(), Instant::now());
        Verdict::NotAPage
    }
}

/// What [`Prober::admit`] decided for a path.
pub enum Admission<'a> {
    /// The tracked site rejected it lately: not a page, nothing to send.
    RejectedLately,
    /// No probe URL stays on the tracked origin for it: not a page.
    NoProbeUrl,
    /// A probe may be sent.
    Admitted(Admitted<'a>),
}

/// A probe within the budget, holding its concurrency slot.
pub struct Admitted<'a> {
    prober: &'a Prober,
    url: Url,
    _permit: tokio::sync::SemaphorePermit<'a>,
}

impl Admitted<'_> {
    /// Asks the tracked site whether `path` (the admitted one) is a page.
    ///
    /// # Errors
    /// [`ProbeError::SiteUnavailable`] for a 5xx, a timeout or a network error.
    pub async fn send(self, path: &PagePath) -> Result<Verdict, ProbeError> {
        let prober = self.prober;
        let answer = prober
            .client
            .get(self.url)
            .send()
            .await
            .map(|response| response.status());
        let verdict = match answer {
            Ok(StatusCode::OK) => Verdict::Page,
            Ok(status) if status.is_server_error() => {
                prober.site_failed(&format!("it answered {status}"));
                return Err(ProbeError::SiteUnavailable);
            }
            Ok(status) => {
                tracing::debug!(%status, %path, "the tracked site rejected a path");
                prober.reject(path)
            }
            Err(error) => {
                prober.site_failed(&chain(&error.without_url()));
                return Err(ProbeError::SiteUnavailable);
            }
        };
        prober.site_answered();
        Ok(verdict)
    }
}

/// What the tracked site's root answered.
#[derive(Debug)]
pub struct RootCheck {
    pub url: Url,
    /// The final status, the URL it came from when redirects were followed,
    /// and the target of a redirect that was refused; or the network error.
    pub outcome: Result<(StatusCode, Option<Url>, Option<Url>), String>,
    pub elapsed: Duration,
}

impl RootCheck {
    /// Logs the outcome at start: a warning for anything but a plain 200.
    pub fn log(&self) {
        let site = self.url.as_str();
        let millis = self.elapsed.as_millis() as u64;
        match &self.outcome {
            Ok((StatusCode::OK, None, _)) => tracing::info!(site, millis, "the tracked site answers"),
            Ok((StatusCode::OK, Some(to), _)) => {
                tracing::info!(site, redirected_to = %to, millis, "the tracked site answers after a redirect");
            }
            Ok((status, _, Some(refused))) => tracing::warn!(
                site,
                %status,
                "your site redirects to {}; set tracked_base_url to that origin, or every new page is rejected",
                refused.origin().ascii_serialization()
            ),
            Ok((status, _, None)) => tracing::warn!(site, %status, "the tracked site's root does not answer 200"),
            Err(cause) => tracing::warn!(
                site,
                cause,
                "the tracked site is unreachable; new pages get 503 until it answers"
            ),
        }
    }
}

/// Whether a redirect to `to` stays on the tracked site: the same origin, or
/// the same host moving from http to https (default ports).
fn may_follow(base: &Url, to: &Url) -> bool {
    if to.origin() == base.origin() {
        return true;
    }
    base.scheme() == "http"
        && to.scheme() == "https"
        && to.host() == base.host()
        && base.port().is_none()
        && to.port().is_none()
}

/// One warning per refused redirect target (its origin), bounded.
fn warn_refused_redirect(warned: &Mutex<HashSet<String>>, to: &Url) {
    let origin = to.origin().ascii_serialization();
    let mut warned = lock(warned);
    if warned.len() < MAX_WARNED_TARGETS && warned.insert(origin.clone()) {
        tracing::warn!(
            target_origin = %origin,
            "your site redirects to {origin}/…; set tracked_base_url to that origin (redirects off the tracked origin are not followed, so such pages are rejected)"
        );
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
    fn redirects_stay_on_the_site_or_upgrade_to_https_on_the_same_host() {
        let base = Url::parse("http://example.com/blog").unwrap();
        let follows = |to: &str| may_follow(&base, &Url::parse(to).unwrap());
        assert!(follows("http://example.com/blog/a/"));
        assert!(follows("https://example.com/blog/a"));
        assert!(!follows("https://www.example.com/blog/a"), "another host");
        assert!(!follows("https://example.com:8443/a"), "another port");
        assert!(!follows("http://evil.example/a"));
        let https = Url::parse("https://example.com").unwrap();
        assert!(
            !may_follow(&https, &Url::parse("http://example.com/a").unwrap()),
            "no downgrade"
        );
    }
}
